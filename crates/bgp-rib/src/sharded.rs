//! A hash map that grows a sixteenth at a time.
//!
//! A SwissTable doubles when it is seven eighths full, and while it moves
//! its entries both the old table and the new one are allocated. For the
//! tables of a full routing table that moment is the process's peak: the
//! IPv4 Loc-RIB of a million prefixes goes from 2^20 slots to 2^21, 24 MB
//! and 48 MB side by side, 22 MB above what is held once it is done (route-load,
//! peak against held RSS). Split into sixteen maps by a hash of the key,
//! each part grows on its own, so the doubling in flight is a sixteenth of
//! the table. Lookups pay one more hash of the key (a few nanoseconds).
//! Public for the daemon's FIB task, whose table of a million prefixes
//! grows the same way.

use std::hash::{BuildHasher, Hash};

use hashbrown::hash_map::Entry;
use hashbrown::{DefaultHashBuilder, HashMap};

/// How many maps a [`ShardedMap`] is made of.
pub(crate) const SHARDS: usize = 16;

/// The top bits of the selecting hash pick the shard.
const SHARD_BITS: u32 = SHARDS.trailing_zeros();

/// A hash map of sixteen parts; see the module documentation.
#[derive(Debug, Clone)]
pub struct ShardedMap<K, V> {
    shards: Vec<HashMap<K, V>>,
    /// Picks a key's shard; seeded per process, as each shard's own hasher
    /// is (a peer cannot aim its prefixes at one shard).
    selector: DefaultHashBuilder,
}

impl<K, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        ShardedMap {
            shards: (0..SHARDS).map(|_| HashMap::default()).collect(),
            selector: DefaultHashBuilder::default(),
        }
    }
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    fn shard(&self, key: &K) -> usize {
        (self.selector.hash_one(key) >> (u64::BITS - SHARD_BITS)) as usize
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.shards[self.shard(key)].get(key)
    }

    /// The value of `key`, to change.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let shard = self.shard(key);
        self.shards[shard].get_mut(key)
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &K) -> bool {
        self.shards[self.shard(key)].contains_key(key)
    }

    /// The place of `key`, occupied or not.
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V, DefaultHashBuilder> {
        let shard = self.shard(&key);
        self.shards[shard].entry(key)
    }

    /// Sets the value of `key`; the one it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let shard = self.shard(&key);
        self.shards[shard].insert(key, value)
    }

    /// Takes the value of `key` out.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let shard = self.shard(key);
        self.shards[shard].remove(key)
    }
}

impl<K, V> ShardedMap<K, V> {
    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(HashMap::is_empty)
    }

    /// Every entry, shard after shard (in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.shards.iter().flat_map(HashMap::iter)
    }

    /// Every key.
    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.shards.iter().flat_map(HashMap::keys)
    }

    /// Every value.
    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.shards.iter().flat_map(HashMap::values)
    }

    /// Every value, to change.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.shards.iter_mut().flat_map(HashMap::values_mut)
    }
}

impl<'a, K, V> IntoIterator for &'a ShardedMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Box<dyn Iterator<Item = (&'a K, &'a V)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_over_every_shard_and_are_found_again() {
        let mut map = ShardedMap::default();
        for key in 0..10_000u32 {
            assert_eq!(map.insert(key, key * 2), None);
        }
        assert_eq!(map.len(), 10_000);
        // Each shard holds about a sixteenth: none is empty or holds most.
        for shard in &map.shards {
            assert!((300..1_000).contains(&shard.len()), "{}", shard.len());
        }
        for key in 0..10_000u32 {
            assert_eq!(map.get(&key), Some(&(key * 2)));
        }
        assert_eq!(map.get(&10_000), None);
        *map.get_mut(&7).unwrap() += 1;
        assert_eq!(map.remove(&7), Some(15));
        assert!(!map.contains_key(&7));
        assert_eq!(map.len(), 9_999);
        assert_eq!(map.iter().count(), 9_999);
        assert_eq!(map.keys().filter(|key| **key == 7).count(), 0);
        match map.entry(8) {
            Entry::Occupied(entry) => assert_eq!(*entry.get(), 16),
            Entry::Vacant(_) => panic!("8 is there"),
        }
        match map.entry(7) {
            Entry::Occupied(_) => panic!("7 was removed"),
            Entry::Vacant(entry) => {
                entry.insert(1);
            }
        }
        assert_eq!(map.values().filter(|value| **value == 1).count(), 1);
    }
}
