//! What an update group was last sent for each prefix of one family: its
//! Adj-RIB-Out (RFC 4271 §3.2).
//!
//! A group is sent a million prefixes and a few thousand distinct attribute
//! sets at most (one per exported set), so each set is kept once, numbered
//! and counted, and a prefix holds only its set's number, four octets of
//! alignment 1: an IPv4 entry takes 9 octets with its key and a hash-map
//! bucket 10, where the set's `Arc` made them 16 and 17 (a full table's map
//! 21 MiB instead of 36, for each group).

use std::hash::Hash;
use std::sync::Arc;

use hashbrown::hash_map::Entry;
use hashbrown::HashMap;

use crate::attributes::Attributes;
use crate::sharded::ShardedMap;

/// The number of a set in [`Sets`], stored unaligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SetNumber([u8; 4]);

impl SetNumber {
    fn new(index: usize) -> SetNumber {
        // A group is never sent 2^32 distinct sets: there is not the memory.
        SetNumber((index as u32).to_ne_bytes())
    }

    fn index(self) -> usize {
        u32::from_ne_bytes(self.0) as usize
    }
}

/// Each distinct set a group was sent, once, with how many prefixes it was
/// sent for; a set goes when the last prefix lets go of it, and its number
/// is given to the next new one.
#[derive(Debug, Clone, Default)]
struct Sets {
    /// By number: the set and its prefixes; `None` when free.
    slots: Vec<Option<(Arc<Attributes>, u32)>>,
    /// The number of each set in use, by the address of its shared copy
    /// (interned: equal sets are one `Arc`). The slot keeps that copy alive,
    /// so no other set can have the address meanwhile.
    numbers: HashMap<usize, SetNumber>,
    /// Numbers free for new sets.
    free: Vec<SetNumber>,
}

impl Sets {
    /// The number of `attributes`, now held by one prefix more.
    fn acquire(&mut self, attributes: &Arc<Attributes>) -> SetNumber {
        let address = Arc::as_ptr(attributes) as usize;
        if let Some(&number) = self.numbers.get(&address) {
            if let Some((_, prefixes)) = &mut self.slots[number.index()] {
                *prefixes += 1;
            }
            return number;
        }
        let slot = Some((Arc::clone(attributes), 1));
        let number = match self.free.pop() {
            Some(number) => {
                self.slots[number.index()] = slot;
                number
            }
            None => {
                self.slots.push(slot);
                SetNumber::new(self.slots.len() - 1)
            }
        };
        self.numbers.insert(address, number);
        number
    }

    /// One prefix more holds set `number`, which is in use (pinned).
    fn hold(&mut self, number: SetNumber) {
        let slot = &mut self.slots[number.index()];
        debug_assert!(slot.is_some(), "a pinned set is in use");
        if let Some((_, prefixes)) = slot {
            *prefixes += 1;
        }
    }

    /// One prefix fewer holds set `number`.
    fn release(&mut self, number: SetNumber) {
        let slot = &mut self.slots[number.index()];
        if let Some((attributes, prefixes)) = slot {
            *prefixes -= 1;
            if *prefixes == 0 {
                self.numbers.remove(&(Arc::as_ptr(attributes) as usize));
                *slot = None;
                self.free.push(number);
            }
        }
    }

    fn get(&self, number: SetNumber) -> Option<&Arc<Attributes>> {
        self.slots[number.index()]
            .as_ref()
            .map(|(attributes, _)| attributes)
    }
}

/// What [`Advertised::advertise`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Advertising {
    /// The prefix was sent these very attributes: nothing to send.
    Unchanged,
    /// The prefix was sent other attributes (or these, to be sent again).
    Replaced,
    /// The prefix was not sent.
    New,
}

/// One family's Adj-RIB-Out of an update group.
#[derive(Debug, Clone)]
pub(crate) struct Advertised<K> {
    routes: ShardedMap<K, SetNumber>,
    sets: Sets,
}

impl<K> Default for Advertised<K> {
    fn default() -> Self {
        Advertised {
            routes: ShardedMap::default(),
            sets: Sets::default(),
        }
    }
}

impl<K: Hash + Eq> Advertised<K> {
    /// What `key` was last sent.
    pub(crate) fn get(&self, key: &K) -> Option<&Arc<Attributes>> {
        self.sets.get(*self.routes.get(key)?)
    }

    /// Whether `key` was sent anything (and not withdrawn since).
    pub(crate) fn contains_key(&self, key: &K) -> bool {
        self.routes.contains_key(key)
    }

    /// Forgets `key` (withdrawn); whether it was sent anything.
    pub(crate) fn remove(&mut self, key: &K) -> bool {
        match self.routes.remove(key) {
            Some(number) => {
                self.sets.release(number);
                true
            }
            None => false,
        }
    }

    /// Records `attributes` as sent for `key`.
    pub(crate) fn insert(&mut self, key: K, attributes: &Arc<Attributes>) {
        let number = self.sets.acquire(attributes);
        if let Some(old) = self.routes.insert(key, number) {
            self.sets.release(old);
        }
    }
}

/// A set held in an [`Advertised`] for the length of a poll, so that its
/// prefixes are recorded by its number, without looking the set up for each
/// ([`Advertised::advertise`]). Given back with [`Advertised::unpin`].
#[derive(Debug)]
#[must_use = "a pinned set is held until unpinned"]
pub(crate) struct Pinned(SetNumber);

impl<K: Hash + Eq> Advertised<K> {
    /// Holds `attributes` until [`Advertised::unpin`], as if one more prefix
    /// had been sent them.
    pub(crate) fn pin(&mut self, attributes: &Arc<Attributes>) -> Pinned {
        Pinned(self.sets.acquire(attributes))
    }

    /// Lets go of a pinned set (it goes if no prefix holds it).
    pub(crate) fn unpin(&mut self, pinned: Pinned) {
        self.sets.release(pinned.0);
    }

    /// Records the pinned set as sent for `key` unless it is what `key` was
    /// sent already and `resend` is not asked. Its number is its identity
    /// while pinned, so the comparison and the update are one probe of the
    /// table and no lookup of the set.
    pub(crate) fn advertise(&mut self, key: K, pinned: &Pinned, resend: bool) -> Advertising {
        let Advertised { routes, sets } = self;
        match routes.entry(key) {
            Entry::Occupied(mut entry) => {
                let old = *entry.get();
                if old == pinned.0 && !resend {
                    return Advertising::Unchanged;
                }
                sets.hold(pinned.0);
                entry.insert(pinned.0);
                sets.release(old);
                Advertising::Replaced
            }
            Entry::Vacant(entry) => {
                sets.hold(pinned.0);
                entry.insert(pinned.0);
                Advertising::New
            }
        }
    }
}

impl<K> Advertised<K> {
    /// How many prefixes were sent something.
    pub(crate) fn len(&self) -> usize {
        self.routes.len()
    }

    /// Every prefix sent something.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.routes.keys()
    }

    /// Every prefix with what it was sent (in no particular order).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &Arc<Attributes>)> + '_ {
        self.routes
            .iter()
            .filter_map(|(key, number)| Some((key, self.sets.get(*number)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_wire::{AsPath, Asn, Origin};

    fn set(asn: u32) -> Arc<Attributes> {
        Arc::new(Attributes::new(
            Origin::Igp,
            AsPath::sequence(&[Asn(asn)]),
            None,
        ))
    }

    /// One prefix sent `set`, pinned for it alone.
    fn advertise(
        advertised: &mut Advertised<u32>,
        key: u32,
        set: &Arc<Attributes>,
        resend: bool,
    ) -> Advertising {
        let pinned = advertised.pin(set);
        let outcome = advertised.advertise(key, &pinned, resend);
        advertised.unpin(pinned);
        outcome
    }

    #[test]
    fn an_ipv4_entry_takes_9_octets_with_its_key() {
        assert_eq!(std::mem::size_of::<(ipnet::Ipv4Net, SetNumber)>(), 9);
    }

    #[test]
    fn each_set_is_kept_once_while_a_prefix_holds_it() {
        let (one, two) = (set(65001), set(65002));
        let mut advertised = Advertised::default();
        assert_eq!(
            advertise(&mut advertised, 1u32, &one, false),
            Advertising::New
        );
        assert_eq!(advertise(&mut advertised, 2, &one, false), Advertising::New);
        assert_eq!(
            advertise(&mut advertised, 1, &one, false),
            Advertising::Unchanged
        );
        assert_eq!(
            advertise(&mut advertised, 1, &one, true),
            Advertising::Replaced
        );
        assert_eq!(advertised.sets.numbers.len(), 1);
        assert_eq!(Arc::strong_count(&one), 2, "the test's and the group's");
        assert_eq!(
            advertise(&mut advertised, 1, &two, false),
            Advertising::Replaced
        );
        assert!(Arc::ptr_eq(advertised.get(&1).unwrap(), &two));
        assert!(advertised.remove(&2));
        assert!(!advertised.remove(&2));
        assert_eq!(Arc::strong_count(&one), 1, "no prefix holds it: let go");
        // Its number goes to the next new set.
        let three = set(65003);
        advertised.insert(3, &three);
        assert_eq!(advertised.sets.slots.len(), 2);
        assert_eq!(advertised.len(), 2);
        let mut sent: Vec<(u32, *const Attributes)> = advertised
            .iter()
            .map(|(key, attributes)| (*key, Arc::as_ptr(attributes)))
            .collect();
        sent.sort_unstable();
        assert_eq!(sent, [(1, Arc::as_ptr(&two)), (3, Arc::as_ptr(&three))]);
        // A pinned set is held by its number; what its prefixes are sent is
        // the same as through `advertise`.
        let pinned = advertised.pin(&two);
        assert_eq!(
            advertised.advertise(1, &pinned, false),
            Advertising::Unchanged
        );
        assert_eq!(advertised.advertise(4, &pinned, false), Advertising::New);
        assert_eq!(
            advertised.advertise(3, &pinned, false),
            Advertising::Replaced
        );
        advertised.unpin(pinned);
        assert_eq!(Arc::strong_count(&three), 1, "no prefix holds it: let go");
        assert_eq!(Arc::strong_count(&two), 2, "held once, by the group");
        assert!(advertised.remove(&4));
        assert!(advertised.remove(&3));
        let pinned = advertised.pin(&three);
        advertised.unpin(pinned);
        assert_eq!(Arc::strong_count(&three), 1, "pinned and unused: let go");
        advertised.insert(3, &three);
        let copy = advertised.clone();
        assert!(advertised.remove(&1) && advertised.remove(&3));
        assert_eq!(Arc::strong_count(&two), 2, "the copy still holds it");
        assert!(copy.contains_key(&1) && !advertised.contains_key(&1));
    }
}
