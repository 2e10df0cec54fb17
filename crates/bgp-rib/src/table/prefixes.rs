//! The Loc-RIB's map of one family: each prefix in the compact form most
//! prefixes of the family fit, the others as they are.
//!
//! An IPv6 prefix as an `Ipv6Net` takes 17 octets, and with its 16-octet
//! [`Paths`] and their alignment a map entry takes 40. Nearly every prefix
//! of an IPv6 routing table is a /48 or shorter (what the registries
//! allocate; operators filter longer ones at their borders), so nothing of
//! its address is past the 56th bit, and address and length fit one `u64`:
//! 24 octets an entry, the size of an IPv4 one. Longer prefixes (/64 links,
//! Calico's /122 blocks, /128 hosts) and any key with an address bit set
//! past the 56th keep a map of their own, so a key is found again exactly as
//! it was stored.

use hashbrown::hash_map::{self, Entry};
use hashbrown::DefaultHashBuilder;
use ipnet::Ipv6Net;

use super::{Paths, PrefixKey};
use crate::sharded::ShardedMap;

/// An IPv6 prefix of at most 56 bits whose address has nothing past them:
/// the address's upper 64 bits with the length in their last octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Ipv6Compact(u64);

impl Ipv6Compact {
    /// The longest prefix that leaves the last octet of the upper half free.
    const LONGEST: u8 = 56;

    /// `net` in compact form, when nothing of its address is past the 56th
    /// bit and it is at most that long.
    pub(crate) fn of(net: Ipv6Net) -> Option<Ipv6Compact> {
        let address = u128::from(net.addr());
        // The length's octet and the lower half must be zero in the address.
        let free = (1u128 << (128 - u32::from(Self::LONGEST))) - 1;
        (net.prefix_len() <= Self::LONGEST && address & free == 0)
            .then(|| Ipv6Compact((address >> 64) as u64 | u64::from(net.prefix_len())))
    }

    /// The prefix this stands for.
    pub(crate) fn net(self) -> Ipv6Net {
        let address = u128::from(self.0 & !0xff) << 64;
        Ipv6Net::new(address.into(), self.0 as u8).expect("stored from a valid length")
    }
}

/// The prefixes of one family and their paths.
#[derive(Debug)]
pub(crate) struct PrefixTable<K: PrefixKey> {
    compact: ShardedMap<K::Compact, Paths>,
    /// Keys without a compact form (none for IPv4, whose every key is).
    other: ShardedMap<K, Paths>,
}

impl<K: PrefixKey> Default for PrefixTable<K> {
    fn default() -> Self {
        PrefixTable {
            compact: ShardedMap::default(),
            other: ShardedMap::default(),
        }
    }
}

/// Where a key is or would be in a [`PrefixTable`].
pub(crate) enum Place<'a, K: PrefixKey> {
    Vacant(VacantPlace<'a, K>),
    Occupied(OccupiedPlace<'a, K>),
}

/// A key not in the table, ready to be inserted.
pub(crate) enum VacantPlace<'a, K: PrefixKey> {
    Compact(hash_map::VacantEntry<'a, K::Compact, Paths, DefaultHashBuilder>),
    Other(hash_map::VacantEntry<'a, K, Paths, DefaultHashBuilder>),
}

/// A key in the table.
pub(crate) enum OccupiedPlace<'a, K: PrefixKey> {
    Compact(hash_map::OccupiedEntry<'a, K::Compact, Paths, DefaultHashBuilder>),
    Other(hash_map::OccupiedEntry<'a, K, Paths, DefaultHashBuilder>),
}

impl<'a, K: PrefixKey> VacantPlace<'a, K> {
    pub(crate) fn insert(self, paths: Paths) -> &'a mut Paths {
        match self {
            VacantPlace::Compact(entry) => entry.insert(paths),
            VacantPlace::Other(entry) => entry.insert(paths),
        }
    }
}

impl<K: PrefixKey> OccupiedPlace<'_, K> {
    pub(crate) fn get(&self) -> &Paths {
        match self {
            OccupiedPlace::Compact(entry) => entry.get(),
            OccupiedPlace::Other(entry) => entry.get(),
        }
    }

    pub(crate) fn get_mut(&mut self) -> &mut Paths {
        match self {
            OccupiedPlace::Compact(entry) => entry.get_mut(),
            OccupiedPlace::Other(entry) => entry.get_mut(),
        }
    }

    pub(crate) fn remove(self) -> Paths {
        match self {
            OccupiedPlace::Compact(entry) => entry.remove(),
            OccupiedPlace::Other(entry) => entry.remove(),
        }
    }
}

impl<K: PrefixKey> PrefixTable<K> {
    /// The paths of `key`.
    pub(crate) fn get(&self, key: K) -> Option<&Paths> {
        match key.compact() {
            Some(compact) => self.compact.get(&compact),
            None => self.other.get(&key),
        }
    }

    /// The paths of `key`, to change.
    pub(crate) fn get_mut(&mut self, key: K) -> Option<&mut Paths> {
        match key.compact() {
            Some(compact) => self.compact.get_mut(&compact),
            None => self.other.get_mut(&key),
        }
    }

    /// Whether `key` has paths.
    pub(crate) fn contains_key(&self, key: K) -> bool {
        match key.compact() {
            Some(compact) => self.compact.contains_key(&compact),
            None => self.other.contains_key(&key),
        }
    }

    /// The place of `key`, occupied or not.
    pub(crate) fn entry(&mut self, key: K) -> Place<'_, K> {
        match key.compact() {
            Some(compact) => match self.compact.entry(compact) {
                Entry::Vacant(entry) => Place::Vacant(VacantPlace::Compact(entry)),
                Entry::Occupied(entry) => Place::Occupied(OccupiedPlace::Compact(entry)),
            },
            None => match self.other.entry(key) {
                Entry::Vacant(entry) => Place::Vacant(VacantPlace::Other(entry)),
                Entry::Occupied(entry) => Place::Occupied(OccupiedPlace::Other(entry)),
            },
        }
    }

    /// How many prefixes there are.
    pub(crate) fn len(&self) -> usize {
        self.compact.len() + self.other.len()
    }

    /// Every prefix and its paths, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (K, &Paths)> + '_ {
        let compact = self.compact.iter();
        let other = self.other.iter();
        compact
            .map(|(key, paths)| (K::expand(*key), paths))
            .chain(other.map(|(key, paths)| (*key, paths)))
    }

    /// Every prefix.
    pub(crate) fn keys(&self) -> impl Iterator<Item = K> + '_ {
        let compact = self.compact.keys().map(|key| K::expand(*key));
        compact.chain(self.other.keys().copied())
    }

    /// Every prefix's paths.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Paths> + '_ {
        self.compact.values().chain(self.other.values())
    }

    /// Every prefix's paths, to change.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut Paths> + '_ {
        self.compact.values_mut().chain(self.other.values_mut())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bgp_wire::{AsPath, Origin};
    use ipnet::Ipv4Net;

    use super::*;
    use crate::attributes::Attributes;
    use crate::table::{Path, Selection};

    fn net(text: &str) -> Ipv6Net {
        text.parse().unwrap()
    }

    fn paths(path_id: u32) -> Paths {
        Paths::One(Path {
            attributes: Arc::new(Attributes::new(Origin::Igp, AsPath::default(), None)),
            path_id,
            peer: 0,
            selection: Selection::Best,
            flags: Path::HAS_PATH_ID,
        })
    }

    #[test]
    fn a_compact_entry_is_the_size_of_an_ipv4_one() {
        assert_eq!(std::mem::size_of::<(Ipv6Compact, Paths)>(), 24);
        assert_eq!(std::mem::size_of::<(Ipv4Net, Paths)>(), 24);
        assert_eq!(std::mem::size_of::<(Ipv6Net, Paths)>(), 40);
    }

    #[test]
    fn only_prefixes_with_nothing_past_their_56th_bit_are_compact() {
        for text in [
            "::/0",
            "2001:db8::/32",
            "2a00:1450:4001::/48",
            "2001:db8:0:ff00::/56",
        ] {
            let compact = Ipv6Compact::of(net(text)).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(compact.net(), net(text));
        }
        // Longer, or an address with host bits: kept as they are.
        for text in [
            "2001:db8::/57",
            "2001:db8::/64",
            "fd00::/122",
            "::1/128",
            "2001:db8::1/48",
        ] {
            assert_eq!(Ipv6Compact::of(net(text)), None, "{text}");
        }
        // A /48 and the /56 inside it with the same address are two keys.
        assert_ne!(
            Ipv6Compact::of(net("2001:db8::/48")),
            Ipv6Compact::of(net("2001:db8::/56"))
        );
    }

    #[test]
    fn every_key_is_found_again_whichever_map_holds_it() {
        let keys = [
            "2001:db8::/32",
            "2001:db8::/48",
            "2001:db8::/64",
            "2001:db8::1/48",
            "::/0",
        ];
        let mut table = PrefixTable::<Ipv6Net>::default();
        for (index, text) in keys.iter().enumerate() {
            match table.entry(net(text)) {
                Place::Vacant(place) => {
                    place.insert(paths(index as u32));
                }
                Place::Occupied(_) => panic!("{text} is new"),
            }
        }
        assert_eq!(table.len(), keys.len());
        assert_eq!((table.compact.len(), table.other.len()), (3, 2));
        for (index, text) in keys.iter().enumerate() {
            let found = table
                .get(net(text))
                .and_then(|paths| paths.as_slice()[0].path_id());
            assert_eq!(found, Some(index as u32), "{text}");
            assert!(table.contains_key(net(text)));
        }
        assert!(!table.contains_key(net("2001:db8::/56")));
        let mut listed: Vec<Ipv6Net> = table.keys().collect();
        listed.sort_unstable();
        let mut expected: Vec<Ipv6Net> = keys.iter().map(|text| net(text)).collect();
        expected.sort_unstable();
        assert_eq!(listed, expected);
        assert_eq!(table.iter().count(), keys.len());
        assert_eq!(table.values().count(), keys.len());

        for text in ["2001:db8::/48", "2001:db8::/64"] {
            let Place::Occupied(mut place) = table.entry(net(text)) else {
                panic!("{text} is there");
            };
            place.get_mut().as_mut_slice()[0].path_id = 99;
            assert_eq!(place.get().as_slice()[0].path_id, 99);
            place.remove();
            assert!(!table.contains_key(net(text)), "{text}");
        }
        assert_eq!(table.len(), keys.len() - 2);
        for paths in table.values_mut() {
            paths.as_mut_slice()[0].path_id = 7;
        }
        let mut changed = table.get_mut(net("::/0")).unwrap();
        assert_eq!(changed.as_mut_slice()[0].path_id, 7);
        changed = table.get_mut(net("2001:db8::1/48")).unwrap();
        assert_eq!(changed.as_slice()[0].path_id, 7);
    }
}
