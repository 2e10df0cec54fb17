//! Interned path attribute sets.
//!
//! Most routes share their attributes with many others (a peer announces a
//! whole block of prefixes behind one AS path), so an attribute set is stored
//! once and every path that carries it holds an [`Arc`] to it: hash-consing.
//! The sets we send are interned too, so that a full table exported to a peer
//! costs one set per distinct outgoing attribute combination, not per prefix.
//!
//! A set never points into a received message: values decoded by `bgp-wire`
//! are slices of the message buffer (and that buffer may be a whole socket
//! read), so a new set copies what it keeps ([`Attributes::detached`]).

use std::borrow::Borrow;
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bgp_wire::{
    Aggregator, AsPath, AttributeFlags, AttributeType, AttributeValue, ClusterId, ClusterList,
    Communities, Community, ExtendedCommunities, ItemList, LargeCommunities, Origin, PathAttribute,
};
use bytes::{Bytes, BytesMut};
use hashbrown::hash_table::{self, HashTable};
use hashbrown::DefaultHashBuilder;

/// LOCAL_PREF assumed when a route carries none (eBGP routes, local routes):
/// the usual default of BGP implementations (RFC 4271 §9.1.1 leaves it to policy).
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// An optional attribute this crate does not model, kept byte for byte so it
/// can be passed on (RFC 4271 §5: optional transitive attributes travel on).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownAttribute {
    /// The flags as received (Partial may be set).
    pub flags: AttributeFlags,
    /// The type code.
    pub type_code: AttributeType,
    /// The value octets.
    pub value: Bytes,
}

/// An interned, immutable attribute set shared by every path that carries it.
///
/// The next hop is part of the set: routes received with different next hops
/// are different sets, and so are the sets sent to peers with different
/// next-hop-self addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attributes {
    pub(crate) origin: Origin,
    pub(crate) as_path: AsPath,
    pub(crate) next_hop: Option<IpAddr>,
    pub(crate) med: Option<u32>,
    pub(crate) local_pref: Option<u32>,
    pub(crate) communities: Option<Communities>,
    /// The attributes most routes do without, boxed so that a set without
    /// them is about half the size; `None` when all are absent (never an
    /// empty box, so that equal sets compare equal).
    pub(crate) rare: Option<Box<Rare>>,
    /// Cached for the decision process, derived from `as_path` (RFC 4271
    /// §9.1.2.2 a): computed once per set rather than once per comparison.
    pub(crate) path_length: u32,
    /// The interner's hash of the set, written when the set is interned.
    pub(crate) interned_hash: InternedHash,
}

/// An interned set's hash, kept in the set so that the interner, as its
/// table grows, moves each set without hashing it again: a set's hash walks
/// every attribute, and growing the table was 2 % of the instructions of a
/// 200k table taken in and sent on (benches/RESULTS.md 6.25). The set's own
/// size does not change where it lives: 112 octets became 120, and with the
/// `Arc`'s counts glibc gives both the same 144-octet chunk.
///
/// Not part of the set: every two compare equal and it adds nothing to a
/// hash, so that sets compare and hash as their attributes do.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct InternedHash(u64);

impl PartialEq for InternedHash {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for InternedHash {}

impl std::hash::Hash for InternedHash {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

/// The less common attributes of a set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Rare {
    pub(crate) atomic_aggregate: bool,
    pub(crate) aggregator: Option<Aggregator>,
    pub(crate) extended_communities: Option<ExtendedCommunities>,
    pub(crate) large_communities: Option<LargeCommunities>,
    pub(crate) originator_id: Option<Ipv4Addr>,
    pub(crate) cluster_list: Option<ClusterList>,
    pub(crate) unknown: Box<[UnknownAttribute]>,
}

impl Rare {
    fn is_empty(&self) -> bool {
        *self == Rare::default()
    }
}

impl Attributes {
    /// A set with only the mandatory attributes.
    pub(crate) fn new(origin: Origin, as_path: AsPath, next_hop: Option<IpAddr>) -> Self {
        let path_length = as_path.length() as u32;
        Attributes {
            origin,
            as_path,
            next_hop,
            med: None,
            local_pref: None,
            communities: None,
            rare: None,
            path_length,
            interned_hash: InternedHash::default(),
        }
    }

    /// The rare attributes, to change them (see [`Attributes::tidy`]).
    pub(crate) fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Drops an empty rare part, the form interning expects.
    pub(crate) fn tidy(&mut self) {
        if self.rare.as_deref().is_some_and(Rare::is_empty) {
            self.rare = None;
        }
    }

    fn rare(&self) -> Option<&Rare> {
        self.rare.as_deref()
    }

    /// Replaces the AS path, keeping the cached length right.
    pub(crate) fn set_as_path(&mut self, as_path: AsPath) {
        self.path_length = as_path.length() as u32;
        self.as_path = as_path;
    }

    /// ORIGIN (RFC 4271 §5.1.1).
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// AS_PATH, four-octet numbers, AS4_PATH already merged in (RFC 6793 §4.2.3).
    pub fn as_path(&self) -> &AsPath {
        &self.as_path
    }

    /// The next hop: NEXT_HOP, or the global address of an MP_REACH_NLRI next
    /// hop; `None` for locally originated routes.
    pub fn next_hop(&self) -> Option<IpAddr> {
        self.next_hop
    }

    /// MULTI_EXIT_DISC (RFC 4271 §5.1.4).
    pub fn med(&self) -> Option<u32> {
        self.med
    }

    /// LOCAL_PREF (RFC 4271 §5.1.5), as carried; see [`DEFAULT_LOCAL_PREF`].
    pub fn local_pref(&self) -> Option<u32> {
        self.local_pref
    }

    /// ATOMIC_AGGREGATE (RFC 4271 §5.1.6).
    pub fn atomic_aggregate(&self) -> bool {
        self.rare().is_some_and(|rare| rare.atomic_aggregate)
    }

    /// AGGREGATOR (RFC 4271 §5.1.7), four-octet AS (AS4_AGGREGATOR merged in).
    pub fn aggregator(&self) -> Option<Aggregator> {
        self.rare()?.aggregator
    }

    /// COMMUNITIES (RFC 1997).
    pub fn communities(&self) -> Option<&Communities> {
        self.communities.as_ref()
    }

    /// EXTENDED_COMMUNITIES (RFC 4360).
    pub fn extended_communities(&self) -> Option<&ExtendedCommunities> {
        self.rare()?.extended_communities.as_ref()
    }

    /// LARGE_COMMUNITY (RFC 8092).
    pub fn large_communities(&self) -> Option<&LargeCommunities> {
        self.rare()?.large_communities.as_ref()
    }

    /// ORIGINATOR_ID (RFC 4456 §8).
    pub fn originator_id(&self) -> Option<Ipv4Addr> {
        self.rare()?.originator_id
    }

    /// CLUSTER_LIST (RFC 4456 §8).
    pub fn cluster_list(&self) -> Option<&ClusterList> {
        self.rare()?.cluster_list.as_ref()
    }

    /// Attributes this crate does not model, in type-code order.
    pub fn unknown(&self) -> &[UnknownAttribute] {
        self.rare().map_or(&[], |rare| &rare.unknown)
    }

    /// The attributes as `bgp-wire` values in type-code order, for display and
    /// for building UPDATEs. An IPv4 next hop is a NEXT_HOP attribute; an IPv6
    /// one is only in [`Attributes::next_hop`], as MP_REACH_NLRI also carries
    /// the routes and is built with them.
    pub fn to_path_attributes(&self) -> Vec<PathAttribute> {
        let mut list = Vec::with_capacity(8 + self.unknown().len());
        list.push(PathAttribute::new(AttributeValue::Origin(self.origin)));
        list.push(PathAttribute::new(AttributeValue::AsPath(
            self.as_path.clone(),
        )));
        if let Some(IpAddr::V4(address)) = self.next_hop {
            list.push(PathAttribute::new(AttributeValue::NextHop(address)));
        }
        if let Some(med) = self.med {
            list.push(PathAttribute::new(AttributeValue::MultiExitDisc(med)));
        }
        if let Some(local_pref) = self.local_pref {
            list.push(PathAttribute::new(AttributeValue::LocalPref(local_pref)));
        }
        // Pushed in type-code order, so that only attributes this crate does
        // not model (which may have any code) need a sort.
        let rare = self.rare();
        if let Some(rare) = rare {
            if rare.atomic_aggregate {
                list.push(PathAttribute::new(AttributeValue::AtomicAggregate));
            }
            if let Some(aggregator) = rare.aggregator {
                list.push(PathAttribute::new(AttributeValue::Aggregator(aggregator)));
            }
        }
        if let Some(communities) = &self.communities {
            list.push(PathAttribute::new(AttributeValue::Communities(
                communities.clone(),
            )));
        }
        if let Some(rare) = rare {
            if let Some(originator_id) = rare.originator_id {
                list.push(PathAttribute::new(AttributeValue::OriginatorId(
                    originator_id,
                )));
            }
            if let Some(cluster_list) = &rare.cluster_list {
                list.push(PathAttribute::new(AttributeValue::ClusterList(
                    cluster_list.clone(),
                )));
            }
            if let Some(extended) = &rare.extended_communities {
                list.push(PathAttribute::new(AttributeValue::ExtendedCommunities(
                    extended.clone(),
                )));
            }
            if let Some(large) = &rare.large_communities {
                list.push(PathAttribute::new(AttributeValue::LargeCommunities(
                    large.clone(),
                )));
            }
            if !rare.unknown.is_empty() {
                for unknown in rare.unknown.iter() {
                    list.push(PathAttribute {
                        flags: unknown.flags,
                        value: AttributeValue::Other {
                            type_code: unknown.type_code,
                            value: unknown.value.clone(),
                        },
                    });
                }
                list.sort_by_key(|attribute| attribute.value.type_code());
            }
        }
        debug_assert!(list.is_sorted_by_key(|attribute| attribute.value.type_code()));
        list
    }

    /// The same as [`Attributes::to_path_attributes`], as an iterator.
    pub fn iter(&self) -> impl Iterator<Item = PathAttribute> {
        self.to_path_attributes().into_iter()
    }

    /// A copy that owns all its octets, so that interning it keeps no
    /// received message alive.
    pub(crate) fn detached(&self) -> Attributes {
        // Every list's octets copied whole into one buffer, each split off
        // it: one allocation for the set's octets and one shared header,
        // where rebuilding them item by item grew a buffer several times (a
        // twentieth of taking a table of new sets in, benches/RESULTS.md
        // 6.20), and a buffer each was given a header of its own when first
        // cloned (by the export transform: 6.22). A set derived from this
        // one (the export transform's) shares the buffer, and keeps all of
        // it while it lives: at most the octets of one set. Field by field,
        // so that nothing is cloned to be dropped.
        let list_length = |list: Option<&Bytes>| list.map_or(0, Bytes::len);
        let rare = self.rare();
        let octets = self.as_path.encoded_length(true)
            + list_length(self.communities.as_ref().map(ItemList::as_bytes))
            + rare.map_or(0, |rare| {
                list_length(rare.extended_communities.as_ref().map(ItemList::as_bytes))
                    + list_length(rare.large_communities.as_ref().map(ItemList::as_bytes))
                    + list_length(rare.cluster_list.as_ref().map(ItemList::as_bytes))
                    + rare
                        .unknown
                        .iter()
                        .map(|unknown| unknown.value.len())
                        .sum::<usize>()
            });
        let mut store = BytesMut::with_capacity(octets);
        let as_path = self.as_path.detached_in(&mut store);
        let communities = self
            .communities
            .as_ref()
            .map(|list| list.detached_in(&mut store));
        let rare = rare.map(|rare| {
            Box::new(Rare {
                atomic_aggregate: rare.atomic_aggregate,
                aggregator: rare.aggregator,
                extended_communities: rare
                    .extended_communities
                    .as_ref()
                    .map(|list| list.detached_in(&mut store)),
                large_communities: rare
                    .large_communities
                    .as_ref()
                    .map(|list| list.detached_in(&mut store)),
                originator_id: rare.originator_id,
                cluster_list: rare
                    .cluster_list
                    .as_ref()
                    .map(|list| list.detached_in(&mut store)),
                unknown: rare
                    .unknown
                    .iter()
                    .map(|unknown| {
                        store.extend_from_slice(&unknown.value);
                        UnknownAttribute {
                            value: store.split().freeze(),
                            ..unknown.clone()
                        }
                    })
                    .collect(),
            })
        });
        Attributes {
            origin: self.origin,
            as_path,
            next_hop: self.next_hop,
            med: self.med,
            local_pref: self.local_pref,
            communities,
            rare,
            path_length: self.path_length,
            interned_hash: self.interned_hash,
        }
    }

    /// Whether CLUSTER_LIST holds `cluster_id` (RFC 4456 §8 loop check).
    pub(crate) fn cluster_list_contains(&self, cluster_id: Ipv4Addr) -> bool {
        self.cluster_list()
            .is_some_and(|list| list.iter().any(|item| item == ClusterId(cluster_id)))
    }

    /// Whether COMMUNITIES holds `community`.
    pub(crate) fn has_community(&self, community: Community) -> bool {
        self.communities
            .as_ref()
            .is_some_and(|list| list.iter().any(|item| item == community))
    }

    /// Whether the set marks a long-lived stale route (RFC 9494 §4.3): it
    /// carries LLGR_STALE, because we attached it or the peer sent it so.
    pub(crate) fn is_long_lived_stale(&self) -> bool {
        self.has_community(Community::LLGR_STALE)
    }

    /// The set with LLGR_STALE added to COMMUNITIES (RFC 9494 §4.2: a
    /// route kept as long-lived stale carries it from then on).
    pub(crate) fn with_long_lived_stale(&self) -> Attributes {
        let mut out = self.clone();
        if !self.is_long_lived_stale() {
            let existing = self.communities.iter().flat_map(|list| list.iter());
            out.communities = Some(
                existing
                    .chain(std::iter::once(Community::LLGR_STALE))
                    .collect(),
            );
        }
        out
    }

    /// Length of CLUSTER_LIST, for RFC 4456 §9's tie-break.
    pub(crate) fn cluster_list_length(&self) -> usize {
        self.cluster_list().map_or(0, |list| list.len())
    }
}

/// The hash-consing table: one [`Arc`] per distinct set.
///
/// A set is dead when the table holds its only reference. Dead sets are
/// swept in batches (amortised over the releases that can kill them), and
/// never counted: [`Interner::live`] skips them.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    /// Each set once. Looked up by a hash computed once a call: a set's
    /// hash walks all its attributes, and a lookup then an insert after a
    /// miss hashed it twice. As the table grows, each set is moved by the
    /// hash it keeps ([`InternedHash`]), not hashed again.
    sets: HashTable<Arc<Attributes>>,
    hasher: DefaultHashBuilder,
    /// References dropped since the last sweep: a bound on the dead sets.
    releases: usize,
}

impl Interner {
    /// The shared copy of `candidate`, made on first sight.
    pub(crate) fn intern(&mut self, candidate: &Attributes) -> Arc<Attributes> {
        self.intern_as(candidate, Attributes::detached)
    }

    /// [`Interner::intern`] for a set made from an interned one (an export
    /// transform, LLGR_STALE added): what it shares with that set are the
    /// interned set's own octets, not a slice of a received UPDATE, so it is
    /// kept as it is rather than copied. A route reflector's 100k exported
    /// sets then share their AS_PATH and COMMUNITIES with the received ones.
    /// Taken by value: a new set is moved in, not cloned.
    pub(crate) fn intern_derived(&mut self, candidate: Attributes) -> Arc<Attributes> {
        self.intern_as(candidate, |set| set)
    }

    /// The shared copy of `candidate`, made with `make` on first sight.
    fn intern_as<C: Borrow<Attributes>>(
        &mut self,
        candidate: C,
        make: impl FnOnce(C) -> Attributes,
    ) -> Arc<Attributes> {
        let set = candidate.borrow();
        debug_assert!(
            !set.rare.as_deref().is_some_and(Rare::is_empty),
            "tidy() the set before interning it"
        );
        let hash = self.hasher.hash_one(set);
        match self.sets.entry(
            hash,
            |interned| **interned == *set,
            |interned| interned.interned_hash.0,
        ) {
            hash_table::Entry::Occupied(entry) => Arc::clone(entry.get()),
            hash_table::Entry::Vacant(entry) => {
                let mut made = make(candidate);
                made.interned_hash = InternedHash(hash);
                let shared = Arc::new(made);
                entry.insert(Arc::clone(&shared));
                shared
            }
        }
    }

    /// Records that `count` references may have been dropped, and sweeps the
    /// dead sets once they may be many.
    pub(crate) fn released(&mut self, count: usize) {
        self.releases += count;
        if self.releases > self.sets.len().max(4096) {
            self.sweep();
        }
    }

    /// Drops every set that nothing but this table uses.
    pub(crate) fn sweep(&mut self) {
        self.sets.retain(|set| Arc::strong_count(set) > 1);
        self.releases = 0;
    }

    /// Sets in use.
    pub(crate) fn live(&self) -> usize {
        self.sets
            .iter()
            .filter(|set| Arc::strong_count(set) > 1)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_wire::Asn;
    use bgp_wire::LargeCommunity;

    #[test]
    fn a_set_without_rare_attributes_is_small() {
        assert!(std::mem::size_of::<Attributes>() <= 120);
    }

    #[test]
    fn an_interned_set_keeps_its_hash_and_the_hash_is_not_part_of_the_set() {
        let mut interner = Interner::default();
        let mut sets = Vec::new();
        // Enough sets that the table grows several times, each move using
        // the kept hash: every set must still be found afterwards.
        for asn in 0..2000 {
            let set = Attributes::new(Origin::Igp, AsPath::sequence(&[Asn(asn)]), None);
            sets.push(interner.intern(&set));
        }
        for (asn, interned) in (0..2000).zip(&sets) {
            let set = Attributes::new(Origin::Igp, AsPath::sequence(&[Asn(asn)]), None);
            assert_eq!(interned.interned_hash.0, interner.hasher.hash_one(&set));
            assert!(Arc::ptr_eq(interned, &interner.intern(&set)));
        }
        let mut other = (*sets[0]).clone();
        other.interned_hash = InternedHash(0);
        assert_eq!(other, *sets[0]);
        assert_eq!(
            interner.hasher.hash_one(&other),
            interner.hasher.hash_one(&*sets[0])
        );
    }

    #[test]
    fn a_derived_set_shares_the_octets_of_its_source_and_a_received_one_does_not() {
        let mut interner = Interner::default();
        let mut received = Attributes::new(Origin::Igp, AsPath::sequence(&[Asn(65001)]), None);
        received.communities = Some([Community(1), Community(2)].into_iter().collect());
        let source = interner.intern(&received);
        let octets = |set: &Attributes| set.communities().unwrap().as_bytes().as_ptr();
        assert_ne!(
            octets(&source),
            octets(&received),
            "a received set is copied"
        );
        let mut exported = (*source).clone();
        exported.med = Some(5);
        let derived = interner.intern_derived(exported.clone());
        assert_eq!(derived.med, Some(5));
        assert_eq!(
            octets(&derived),
            octets(&source),
            "a derived set shares them"
        );
        assert!(Arc::ptr_eq(&derived, &interner.intern_derived(exported)));
    }

    #[test]
    fn equal_sets_are_interned_once_and_swept_when_unused() {
        let mut interner = Interner::default();
        let set = Attributes::new(Origin::Igp, AsPath::sequence(&[Asn(65001)]), None);
        let first = interner.intern(&set);
        let second = interner.intern(&set.clone());
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(interner.live(), 1);
        drop((first, second));
        assert_eq!(interner.live(), 0);
        interner.sweep();
        assert_eq!(interner.sets.len(), 0);
    }

    #[test]
    fn detached_sets_are_equal_and_own_their_octets() {
        let message = Bytes::from(vec![0u8; 4096]);
        let mut set = Attributes::new(Origin::Igp, AsPath::sequence(&[Asn(1)]), None);
        set.rare_mut().unknown = vec![UnknownAttribute {
            flags: AttributeFlags::OPTIONAL_TRANSITIVE,
            type_code: AttributeType(99),
            value: message.slice(10..12),
        }]
        .into_boxed_slice();
        let detached = set.detached();
        assert_eq!(detached, set);
        assert_eq!(detached.unknown()[0].value.len(), 2);
        assert_ne!(detached.unknown()[0].value.as_ptr(), message[10..].as_ptr());
    }

    #[test]
    fn a_detached_set_keeps_its_lists_in_one_buffer() {
        let mut set = Attributes::new(Origin::Igp, AsPath::sequence(&[Asn(1), Asn(2)]), None);
        set.communities = Some([Community(1), Community(2)].into_iter().collect());
        set.rare_mut().large_communities = Some(
            [LargeCommunity {
                global: 1,
                local1: 2,
                local2: 3,
            }]
            .into_iter()
            .collect(),
        );
        let detached = set.detached();
        assert_eq!(detached, set);
        // Each list starts where the one before it ends: one allocation.
        let communities = detached.communities.as_ref().unwrap().as_bytes();
        let large = detached.large_communities().unwrap().as_bytes();
        assert_eq!(large.as_ptr() as usize - communities.as_ptr() as usize, 8);
    }
}
