//! Read-only views for inspection (`nodebgp routes`) and counters.

use bgp_wire::Family;
use ipnet::IpNet;

use crate::attributes::Attributes;
use crate::table::{Path, Paths, PrefixKey, Selection};
use crate::{PeerId, Rib};

/// One path as seen from outside.
#[derive(Debug, Clone, Copy)]
pub struct RouteView<'a> {
    /// The prefix.
    pub prefix: IpNet,
    /// The peer it was learned from; `None` for a locally originated route.
    pub peer: Option<PeerId>,
    /// Its ADD-PATH path identifier (RFC 7911), when it came with one.
    pub path_id: Option<u32>,
    /// Its attributes.
    pub attributes: &'a Attributes,
    /// Chosen by the decision process.
    pub best: bool,
    /// Used for ECMP beside the best.
    pub multipath: bool,
    /// Kept after its peer went down (graceful restart, RFC 4724 §4.2).
    pub stale: bool,
    /// Treated as long-lived stale (RFC 9494): kept past its peer's restart
    /// time with LLGR_STALE attached ([`Rib::enter_long_lived_stale`]), or
    /// received carrying LLGR_STALE; least preferred either way.
    pub long_lived_stale: bool,
}

/// Counts of one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerStatistics {
    /// The peer.
    pub peer: PeerId,
    /// Whether its session is up.
    pub up: bool,
    /// Prefixes it announced since its session came up, accepted or not.
    pub received: u64,
    /// Paths held from it (its Adj-RIB-In after import checks), stale ones included.
    pub accepted: usize,
    /// Prefixes in its Adj-RIB-Out.
    pub advertised: usize,
    /// Its update group while it is up: peers with the same number are
    /// sent the same UPDATEs, resolved and encoded once (see
    /// [`crate::Rib::poll_shared_within`]). A number is reused once its
    /// group is gone.
    pub update_group: Option<u32>,
}

/// Counts of the whole RIB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statistics {
    /// Prefixes with at least one path.
    pub prefixes: usize,
    /// Paths, over all prefixes.
    pub paths: usize,
    /// Distinct attribute sets in use (received and sent).
    pub attribute_sets: usize,
    /// Per known peer (removed ones are not), in the order of their slots:
    /// the order peers were first seen, except that a new peer takes the place
    /// of a removed one ([`Rib::remove_peer`]).
    pub peers: Vec<PeerStatistics>,
}

impl Rib {
    fn view<'a>(&'a self, prefix: IpNet, path: &'a Path) -> RouteView<'a> {
        RouteView {
            prefix,
            peer: (!path.is_local()).then(|| self.peers[usize::from(path.peer)].id),
            path_id: path.path_id(),
            attributes: &path.attributes,
            best: path.selection == Selection::Best,
            multipath: path.selection == Selection::Multipath,
            stale: path.is_stale(),
            long_lived_stale: path.is_long_lived() || path.attributes.is_long_lived_stale(),
        }
    }

    fn family_views<K: PrefixKey>(&self) -> impl Iterator<Item = (IpNet, &Path)> + '_ {
        K::table(&self.tables).iter().flat_map(|(key, paths)| {
            let prefix: IpNet = key.into();
            paths.as_slice().iter().map(move |path| (prefix, path))
        })
    }

    /// Every path of every prefix, with best, multipath and stale marks.
    pub fn loc_rib(&self) -> impl Iterator<Item = RouteView<'_>> {
        self.family_views::<ipnet::Ipv4Net>()
            .chain(self.family_views::<ipnet::Ipv6Net>())
            .map(|(prefix, path)| self.view(prefix, path))
    }

    /// The paths held from `peer` (its Adj-RIB-In after import checks).
    pub fn received(&self, peer: PeerId) -> impl Iterator<Item = RouteView<'_>> {
        let slot = self.slot(peer);
        self.family_views::<ipnet::Ipv4Net>()
            .chain(self.family_views::<ipnet::Ipv6Net>())
            .filter(move |(_, path)| !path.is_local() && Some(path.peer) == slot)
            .map(|(prefix, path)| self.view(prefix, path))
    }

    /// What `peer` was last sent, per prefix (its Adj-RIB-Out). For a member
    /// of an update group, what the group resolved: a batch or a few the
    /// peer has still to take are counted as sent.
    pub fn advertised(&self, peer: PeerId) -> impl Iterator<Item = (IpNet, &Attributes)> {
        self.slot(peer)
            .and_then(|slot| self.group_of(slot))
            .map(|group| &group.outboxes)
            .into_iter()
            .flat_map(|outboxes| {
                let ipv4 = outboxes
                    .ipv4
                    .advertised
                    .iter()
                    .map(|(key, attributes)| (IpNet::V4(*key), &**attributes));
                let ipv6 = outboxes
                    .ipv6
                    .advertised
                    .iter()
                    .map(|(key, attributes)| (IpNet::V6(*key), &**attributes));
                ipv4.chain(ipv6)
            })
    }

    /// What `peer` was last sent for exactly `prefix` (host bits ignored).
    pub fn advertised_prefix(&self, peer: PeerId, prefix: IpNet) -> Option<&Attributes> {
        let outboxes = &self.group_of(self.slot(peer)?)?.outboxes;
        match prefix.trunc() {
            IpNet::V4(net) => outboxes.ipv4.advertised.get(&net),
            IpNet::V6(net) => outboxes.ipv6.advertised.get(&net),
        }
        .map(|attributes| &**attributes)
    }

    /// The paths of exactly `prefix` (host bits ignored).
    pub fn lookup(&self, prefix: IpNet) -> impl Iterator<Item = RouteView<'_>> {
        let prefix = prefix.trunc();
        let paths: Option<&Paths> = match prefix {
            IpNet::V4(net) => self.tables.ipv4.get(net),
            IpNet::V6(net) => self.tables.ipv6.get(net),
        };
        paths
            .into_iter()
            .flat_map(|paths| paths.as_slice().iter())
            .map(move |path| self.view(prefix, path))
    }

    /// Counts: prefixes, paths, attribute sets in use, and per peer.
    pub fn statistics(&self) -> Statistics {
        let count_paths = |paths: &Paths| paths.len();
        Statistics {
            prefixes: self.tables.ipv4.len() + self.tables.ipv6.len(),
            paths: self.tables.ipv4.values().map(count_paths).sum::<usize>()
                + self.tables.ipv6.values().map(count_paths).sum::<usize>(),
            attribute_sets: self.interner.live(),
            peers: self.peer_statistics(),
        }
    }

    /// Networks (prefixes with a path) and paths of one family's table, as
    /// BIRD's `show route count` reports them; counts every prefix.
    pub fn family_counts(&self, family: Family) -> (usize, usize) {
        let count_paths = |paths: &Paths| paths.len();
        match family {
            Family::IPV4_UNICAST => (
                self.tables.ipv4.len(),
                self.tables.ipv4.values().map(count_paths).sum(),
            ),
            Family::IPV6_UNICAST => (
                self.tables.ipv6.len(),
                self.tables.ipv6.values().map(count_paths).sum(),
            ),
            _ => (0, 0),
        }
    }

    /// The per-peer counts alone: kept as counters, so this costs nothing
    /// per prefix (unlike [`Rib::statistics`], which counts every path), for
    /// status reports polled while a table arrives.
    pub fn peer_statistics(&self) -> Vec<PeerStatistics> {
        self.peers
            .iter()
            .filter(|peer| !peer.removed)
            .map(|peer| PeerStatistics {
                peer: peer.id,
                up: peer.up,
                received: peer.received,
                accepted: peer.accepted_ipv4 + peer.accepted_ipv6,
                advertised: peer
                    .group
                    .and_then(|id| self.groups.get(id))
                    .map_or(0, |group| group.advertised()),
                update_group: peer.group.filter(|_| peer.up),
            })
            .collect()
    }

    /// Paths held from `peer` in `family`.
    pub fn accepted(&self, peer: PeerId, family: Family) -> usize {
        self.slot(peer).map_or(0, |slot| {
            let state = &self.peers[usize::from(slot)];
            match family {
                Family::IPV4_UNICAST => state.accepted_ipv4,
                Family::IPV6_UNICAST => state.accepted_ipv6,
                _ => 0,
            }
        })
    }
}
