//! Storage: the paths of each prefix, and the per-family maps that hold them.
//!
//! Memory is the constraint here (a million prefixes from one peer must fit
//! in less than BIRD's ~126 bytes a route), so a path is 16 bytes and a
//! prefix with one path — nearly all of them — keeps it inline in the map
//! entry, which is then 24 bytes plus the key.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use bgp_wire::{Family, Nlri};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::advertised::Advertised;
use crate::attributes::Attributes;
use crate::changed::Changed;

mod prefixes;

pub(crate) use prefixes::{Ipv6Compact, Place, PrefixTable};

/// Index of a peer in the RIB's peer list (the caller's [`crate::PeerId`] is
/// mapped to it once, to keep paths small).
pub(crate) type PeerSlot = u16;

/// Whether the decision process picked a path (RFC 4271 §9.1.2), and how.
/// An enum, not flag bits: its spare values give [`Paths`] a niche for its
/// tag, so that a one-path prefix costs 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection {
    /// Not used for forwarding.
    None,
    /// The best path.
    Best,
    /// Used beside the best for ECMP.
    Multipath,
}

/// A path: one announcement of a prefix by one source.
#[derive(Debug, Clone)]
pub(crate) struct Path {
    pub(crate) attributes: Arc<Attributes>,
    /// ADD-PATH path identifier (RFC 7911), meaningful with `HAS_PATH_ID`.
    pub(crate) path_id: u32,
    /// The peer it came from; unused for local routes.
    pub(crate) peer: PeerSlot,
    pub(crate) selection: Selection,
    pub(crate) flags: u8,
}

impl Path {
    /// Kept after its peer went down, for graceful restart (RFC 4724 §4.2).
    pub(crate) const STALE: u8 = 1;
    /// `path_id` is set.
    pub(crate) const HAS_PATH_ID: u8 = 2;
    /// Originated by this node.
    pub(crate) const LOCAL: u8 = 4;
    /// Kept past its peer's restart time as long-lived stale (RFC 9494 §4.2),
    /// with LLGR_STALE attached; always set together with `STALE`, so that
    /// End-of-RIB, re-learning and [`crate::Rib::flush_stale`] treat it as
    /// any stale path.
    pub(crate) const LONG_LIVED: u8 = 8;

    pub(crate) fn is_local(&self) -> bool {
        self.flags & Path::LOCAL != 0
    }

    pub(crate) fn is_stale(&self) -> bool {
        self.flags & Path::STALE != 0
    }

    pub(crate) fn is_long_lived(&self) -> bool {
        self.flags & Path::LONG_LIVED != 0
    }

    pub(crate) fn path_id(&self) -> Option<u32> {
        (self.flags & Path::HAS_PATH_ID != 0).then_some(self.path_id)
    }

    /// Whether this path is `source`'s announcement with `path_id`.
    pub(crate) fn is_from(&self, source: Option<PeerSlot>, path_id: Option<u32>) -> bool {
        match source {
            None => self.is_local(),
            Some(peer) => !self.is_local() && self.peer == peer && self.path_id() == path_id,
        }
    }
}

/// The paths of one prefix: never empty (a prefix without paths is removed).
#[derive(Debug, Clone)]
pub(crate) enum Paths {
    /// The common case, inline.
    One(Path),
    /// Several sources (or ADD-PATH paths). A boxed `Vec` on purpose: one
    /// pointer leaves room for the enum's tag in `Path`'s niche, where a
    /// `Vec` (24 bytes) or a boxed slice (16) would make every prefix pay 8
    /// more bytes.
    #[allow(clippy::box_collection)]
    Many(Box<Vec<Path>>),
}

impl Paths {
    pub(crate) fn as_slice(&self) -> &[Path] {
        match self {
            Paths::One(path) => std::slice::from_ref(path),
            Paths::Many(paths) => paths,
        }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [Path] {
        match self {
            Paths::One(path) => std::slice::from_mut(path),
            Paths::Many(paths) => paths,
        }
    }

    pub(crate) fn push(&mut self, path: Path) {
        match self {
            Paths::Many(paths) => paths.push(path),
            Paths::One(_) => {
                let Paths::One(first) = std::mem::replace(self, Paths::Many(Box::default())) else {
                    unreachable!("matched One just above")
                };
                *self = Paths::Many(Box::new(vec![first, path]));
            }
        }
    }

    /// Removes the path at `index` from a list of two or more.
    pub(crate) fn remove(&mut self, index: usize) -> Path {
        let Paths::Many(paths) = self else {
            unreachable!("the caller removes a one-path prefix from the map")
        };
        let removed = paths.remove(index);
        if paths.len() == 1 {
            let last = paths.pop().expect("one path left");
            *self = Paths::One(last);
        }
        removed
    }

    pub(crate) fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// The best path, when the decision process picked one.
    pub(crate) fn best(&self) -> Option<&Path> {
        self.as_slice()
            .iter()
            .find(|path| path.selection == Selection::Best)
    }
}

/// What one update group has been sent, and what is to be looked at again,
/// for one family (the Adj-RIB-Out of RFC 4271 §3.2).
#[derive(Debug, Clone)]
pub(crate) struct Outbox<K> {
    /// What was last sent for each prefix.
    pub(crate) advertised: Advertised<K>,
    /// Prefixes whose best path changed since the last poll: resolved at poll
    /// time, so a flap in between sends only the final state.
    pub(crate) dirty: Changed<K>,
    /// The whole table is to be compared (initial table after session up).
    pub(crate) full: bool,
    /// The whole table is to be sent again even where unchanged (RFC 2918).
    pub(crate) resend: bool,
    /// Prefixes still to be resolved, taken a batch at a time: a whole-table
    /// pass (after `full` or `resend`), or a dirty set larger than one batch.
    pub(crate) pending: Vec<K>,
    /// The pass under way sends unchanged prefixes too (`resend`).
    pub(crate) pending_resend: bool,
}

impl<K> Default for Outbox<K> {
    fn default() -> Self {
        Outbox {
            advertised: Advertised::default(),
            dirty: Changed::default(),
            full: false,
            resend: false,
            pending: Vec::new(),
            pending_resend: false,
        }
    }
}

impl<K> Outbox<K> {
    pub(crate) fn has_work(&self) -> bool {
        self.full || self.resend || !self.dirty.is_empty() || !self.pending.is_empty()
    }
}

/// The Loc-RIB tables (RFC 4271 §3.2), one per family: keys of the family's
/// own size rather than an `IpNet` for both, 24 octets an entry for IPv4
/// and nearly every IPv6 prefix ([`PrefixTable`]).
#[derive(Debug, Default)]
pub(crate) struct Tables {
    pub(crate) ipv4: PrefixTable<Ipv4Net>,
    pub(crate) ipv6: PrefixTable<Ipv6Net>,
}

impl Tables {
    /// Looks `prefixes` up once, in a loop that does nothing else, before an
    /// UPDATE's prefixes are worked on one at a time. In a table of a million
    /// prefixes every lookup is a cache miss or two (the control group, then
    /// the slot); here the processor has several of them in flight at once,
    /// where the long work of each prefix would wait for them one by one.
    pub(crate) fn warm<'a>(&self, prefixes: impl Iterator<Item = &'a Nlri>) {
        let mut found = 0usize;
        for nlri in prefixes {
            found += usize::from(match nlri.prefix {
                IpNet::V4(net) => self.ipv4.contains_key(net.trunc()),
                IpNet::V6(net) => self.ipv6.contains_key(net.trunc()),
            });
        }
        std::hint::black_box(found);
    }
}

/// What the per-family code needs to know of a key type.
pub(crate) trait PrefixKey: Copy + Eq + Hash + Ord + Debug + Into<IpNet> + 'static {
    /// The unicast family of this address type.
    const FAMILY: Family;
    /// The form most keys of the family take in a table.
    type Compact: Copy + Eq + Hash + Debug + 'static;
    /// The key's compact form, when it has one.
    fn compact(self) -> Option<Self::Compact>;
    /// The key a compact form stands for.
    fn expand(compact: Self::Compact) -> Self;
    /// The key's place in `Ord`'s order as integers: compared in a few
    /// instructions, where `Ord` compares an IPv6 address segment by segment
    /// (and an `Nlri`'s first its path identifier and family). Output is
    /// sorted by it, a batch of thousands of prefixes at a time.
    fn order(self) -> (u128, u8);
    fn table(tables: &Tables) -> &PrefixTable<Self>;
    fn table_mut(tables: &mut Tables) -> &mut PrefixTable<Self>;
    fn outbox_mut(outboxes: &mut Outboxes) -> &mut Outbox<Self>;
}

/// One update group's Adj-RIB-Out, per family.
#[derive(Debug, Default, Clone)]
pub(crate) struct Outboxes {
    pub(crate) ipv4: Outbox<Ipv4Net>,
    pub(crate) ipv6: Outbox<Ipv6Net>,
}

impl Outboxes {
    pub(crate) fn has_work(&self) -> bool {
        self.ipv4.has_work() || self.ipv6.has_work()
    }

    pub(crate) fn for_family(&mut self, family: Family) -> Option<(&mut bool, &mut bool)> {
        match family {
            Family::IPV4_UNICAST => Some((&mut self.ipv4.full, &mut self.ipv4.resend)),
            Family::IPV6_UNICAST => Some((&mut self.ipv6.full, &mut self.ipv6.resend)),
            _ => None,
        }
    }
}

impl PrefixKey for Ipv4Net {
    const FAMILY: Family = Family::IPV4_UNICAST;
    /// Five octets already.
    type Compact = Ipv4Net;
    fn compact(self) -> Option<Ipv4Net> {
        Some(self)
    }
    fn expand(compact: Ipv4Net) -> Self {
        compact
    }
    fn order(self) -> (u128, u8) {
        (u128::from(self.addr().to_bits()), self.prefix_len())
    }
    fn table(tables: &Tables) -> &PrefixTable<Self> {
        &tables.ipv4
    }
    fn table_mut(tables: &mut Tables) -> &mut PrefixTable<Self> {
        &mut tables.ipv4
    }
    fn outbox_mut(outboxes: &mut Outboxes) -> &mut Outbox<Self> {
        &mut outboxes.ipv4
    }
}

impl PrefixKey for Ipv6Net {
    const FAMILY: Family = Family::IPV6_UNICAST;
    type Compact = Ipv6Compact;
    fn compact(self) -> Option<Ipv6Compact> {
        Ipv6Compact::of(self)
    }
    fn expand(compact: Ipv6Compact) -> Self {
        compact.net()
    }
    fn order(self) -> (u128, u8) {
        (self.addr().to_bits(), self.prefix_len())
    }
    fn table(tables: &Tables) -> &PrefixTable<Self> {
        &tables.ipv6
    }
    fn table_mut(tables: &mut Tables) -> &mut PrefixTable<Self> {
        &mut tables.ipv6
    }
    fn outbox_mut(outboxes: &mut Outboxes) -> &mut Outbox<Self> {
        &mut outboxes.ipv6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_sixteen_bytes_and_a_one_path_prefix_needs_no_more() {
        assert_eq!(std::mem::size_of::<Path>(), 16);
        assert_eq!(std::mem::size_of::<Paths>(), 16);
    }

    /// Sorting by `order` must give what sorting by `Ord` gives, or the
    /// prefixes of an UPDATE would change places with the speed-up.
    fn sorts_as_ord<K: PrefixKey>(keys: &[K]) {
        for a in keys {
            for b in keys {
                assert_eq!(a.order().cmp(&b.order()), a.cmp(b), "{a:?} against {b:?}");
            }
        }
        let mut by_ord = keys.to_vec();
        by_ord.sort_unstable();
        let mut by_order = keys.to_vec();
        by_order.sort_unstable_by_key(|key| key.order());
        assert_eq!(by_order, by_ord);
    }

    #[test]
    fn the_integer_order_of_a_key_is_its_ord() {
        let ipv4: Vec<Ipv4Net> = [
            "10.0.0.0/8",
            "10.0.0.0/24",
            "10.0.0.0/16",
            "9.255.255.255/32",
            "10.0.1.0/24",
            "0.0.0.0/0",
            "255.255.255.255/32",
            "128.0.0.0/1",
            "10.0.0.0/9",
        ]
        .iter()
        .map(|text| text.parse().unwrap())
        .collect();
        sorts_as_ord(&ipv4);
        let ipv6: Vec<Ipv6Net> = [
            "2001:db8::/32",
            "2001:db8::/48",
            "2001:db8:0:1::/64",
            "2001:db7:ffff:ffff::/64",
            "::/0",
            "ffff::/16",
            "2001:db8::1/128",
            "fe80::/10",
            "2001:db8::/33",
            "::1/128",
        ]
        .iter()
        .map(|text| text.parse().unwrap())
        .collect();
        sorts_as_ord(&ipv6);
    }
}
