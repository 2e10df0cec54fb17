//! What the FIB task remembers per prefix, kept small. A node's routes
//! share a handful of next-hop lists (one per peer, or per ECMP set) and
//! fewer kernel route shapes still, so each is stored once, numbered and
//! counted, and the table holds two 4-octet numbers per prefix, in a map per
//! family (an IPv4 key is 5 octets, nearly every IPv6 one 9, an [`IpNet`]
//! 18): a million learned and installed routes cost one 13-octet hash-map
//! entry each (numbers stored unaligned, see [`Slot`]) and no allocation of
//! their own.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use bgp_rib::ShardedMap;
use hashbrown::{Equivalent, HashMap};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use kernel_fib::{FibRoute, RouteKind};

/// The number of a value in an [`Interner`]; never 0, so that an optional
/// one takes no more room.
type Id = NonZeroU32;

/// What the task knows of one prefix.
#[derive(Debug, Clone, Default)]
struct Entry {
    /// The next hops the RIB selected.
    learned: Slot,
    /// What the kernel holds with our protocol number.
    installed: Slot,
}

/// An optional [`Id`] kept in four octets of alignment 1: with an IPv4
/// key of five, an entry takes 13 octets and a hash-map bucket 14, where an
/// aligned number would pad it to 16 and 17 (6 MiB of a full table's 34).
#[derive(Debug, Clone, Copy, Default)]
struct Slot([u8; 4]);

impl Slot {
    fn get(self) -> Option<Id> {
        Id::new(u32::from_ne_bytes(self.0))
    }

    fn is_some(self) -> bool {
        self.0 != [0; 4]
    }

    /// Holds `id` now; what it held before.
    fn replace(&mut self, id: Option<Id>) -> Option<Id> {
        let before = self.get();
        self.0 = id.map_or(0, Id::get).to_ne_bytes();
        before
    }

    fn take(&mut self) -> Option<Id> {
        self.replace(None)
    }
}

impl Entry {
    fn is_empty(&self) -> bool {
        !self.learned.is_some() && !self.installed.is_some()
    }
}

/// The learned and installed routes of every prefix.
#[derive(Debug, Default)]
pub(super) struct Table {
    /// Sharded: a full table's map grows a sixteenth at a time, so that the
    /// old and the new copy of it are never both whole (the peak of a
    /// restart, which lists a million kernel routes into it).
    ipv4: ShardedMap<Ipv4Net, Entry>,
    /// IPv6 prefixes of 64 bits or fewer (nearly all a BGP table holds), by
    /// their upper half: a 9-octet key where an [`Ipv6Net`] takes 17, a
    /// third less a bucket.
    ipv6: ShardedMap<Ipv6Upper, Entry>,
    /// The longer ones (Calico's /122 blocks, /128 hosts).
    ipv6_long: ShardedMap<Ipv6Net, Entry>,
    shared: Shared,
    /// Prefixes with an installed route.
    installed: usize,
}

impl Table {
    fn entry(&self, prefix: IpNet) -> Option<&Entry> {
        match prefix {
            IpNet::V4(net) => self.ipv4.get(&net),
            IpNet::V6(net) => match Ipv6Upper::of(net) {
                Some(upper) => self.ipv6.get(&upper),
                None => self.ipv6_long.get(&net),
            },
        }
    }

    /// Every prefix's entry.
    fn entries(&self) -> impl Iterator<Item = (IpNet, &Entry)> + '_ {
        let ipv4 = self
            .ipv4
            .iter()
            .map(|(net, entry)| (IpNet::V4(*net), entry));
        let ipv6 = self
            .ipv6
            .iter()
            .map(|(upper, entry)| (IpNet::V6(upper.net()), entry));
        let ipv6_long = self
            .ipv6_long
            .iter()
            .map(|(net, entry)| (IpNet::V6(*net), entry));
        ipv4.chain(ipv6).chain(ipv6_long)
    }

    /// Changes the entry of `prefix` with `change`, dropping it when empty.
    fn update(&mut self, prefix: IpNet, change: impl FnOnce(&mut Entry, &mut Shared)) {
        let shared = &mut self.shared;
        let (had, has) = match prefix {
            IpNet::V4(net) => update_in(&mut self.ipv4, net, shared, change),
            IpNet::V6(net) => match Ipv6Upper::of(net) {
                Some(upper) => update_in(&mut self.ipv6, upper, shared, change),
                None => update_in(&mut self.ipv6_long, net, shared, change),
            },
        };
        self.installed = self.installed + usize::from(has) - usize::from(had);
    }

    /// The next hops the RIB selected for `prefix`.
    pub(super) fn learned(&self, prefix: IpNet) -> Option<&[IpAddr]> {
        let id = self.entry(prefix)?.learned.get()?;
        Some(self.shared.next_hops.get(id))
    }

    /// Records the RIB's next hops for `prefix` (none: not learned).
    pub(super) fn set_learned(&mut self, prefix: IpNet, next_hops: &[IpAddr]) {
        self.update(prefix, |entry, shared| {
            // The new value is taken before the old is let go: the same
            // value stays where it is. Looked up by the borrowed list: most
            // are in use already, and a copy to look up by would be an
            // allocation a route on this thread, the kernel's critical path.
            let new = (!next_hops.is_empty()).then(|| {
                shared
                    .next_hops
                    .acquire_as(&NextHopsKey(next_hops), |key| key.0.to_vec())
            });
            if let Some(old) = entry.learned.replace(new) {
                shared.next_hops.release(old);
            }
        });
    }

    /// Every prefix with a learned route.
    pub(super) fn learned_prefixes(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.entries()
            .filter(|(_, entry)| entry.learned.is_some())
            .map(|(prefix, _)| prefix)
    }

    /// Our route of `prefix` in the kernel.
    pub(super) fn installed(&self, prefix: IpNet) -> Option<&Installed> {
        let id = self.entry(prefix)?.installed.get()?;
        Some(self.shared.installed.get(id))
    }

    /// Records that the kernel holds `route` for its prefix.
    pub(super) fn set_installed(&mut self, route: &FibRoute) {
        self.update(route.prefix, |entry, shared| {
            let new = shared
                .installed
                .acquire_as(&InstalledKey::of(route), |_| Installed::of(route));
            if let Some(old) = entry.installed.replace(Some(new)) {
                shared.installed.release(old);
            }
        });
    }

    /// Records that the kernel holds nothing of ours for `prefix`.
    pub(super) fn remove_installed(&mut self, prefix: IpNet) {
        self.update(prefix, |entry, shared| {
            if let Some(old) = entry.installed.take() {
                shared.installed.release(old);
            }
        });
    }

    /// Every prefix with an installed route.
    pub(super) fn installed_prefixes(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.entries()
            .filter(|(_, entry)| entry.installed.is_some())
            .map(|(prefix, _)| prefix)
    }

    /// How many prefixes have an installed route.
    pub(super) fn installed_count(&self) -> usize {
        self.installed
    }
}

/// An IPv6 prefix of at most 64 bits whose address has no bit set past the
/// 64th, kept as those 8 octets and the length (see [`Table::ipv6`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Ipv6Upper([u8; 9]);

impl Ipv6Upper {
    /// `net` in 9 octets, when nothing of it is lost.
    fn of(net: Ipv6Net) -> Option<Ipv6Upper> {
        let octets = net.addr().octets();
        if net.prefix_len() > 64 || octets[8..] != [0; 8] {
            return None;
        }
        let mut key = [0; 9];
        key[..8].copy_from_slice(&octets[..8]);
        key[8] = net.prefix_len();
        Some(Ipv6Upper(key))
    }

    fn net(self) -> Ipv6Net {
        let mut octets = [0; 16];
        octets[..8].copy_from_slice(&self.0[..8]);
        Ipv6Net::new(octets.into(), self.0[8]).expect("a length of at most 64")
    }
}

/// [`Table::update`] in one family's map: whether the prefix had an
/// installed route before, and has one after.
fn update_in<K: Eq + Hash>(
    map: &mut ShardedMap<K, Entry>,
    key: K,
    shared: &mut Shared,
    change: impl FnOnce(&mut Entry, &mut Shared),
) -> (bool, bool) {
    match map.entry(key) {
        hashbrown::hash_map::Entry::Occupied(mut occupied) => {
            let had = occupied.get().installed.is_some();
            change(occupied.get_mut(), shared);
            let has = occupied.get().installed.is_some();
            if occupied.get().is_empty() {
                occupied.remove();
            }
            (had, has)
        }
        hashbrown::hash_map::Entry::Vacant(vacant) => {
            let mut entry = Entry::default();
            change(&mut entry, shared);
            let has = entry.installed.is_some();
            if !entry.is_empty() {
                vacant.insert(entry);
            }
            (false, has)
        }
    }
}

/// One copy of each distinct value in use, numbered, with a count of the
/// entries that hold it; a value goes when the last lets go of it, and its
/// number is given to the next new one.
#[derive(Debug)]
struct Interner<T: Eq + Hash> {
    /// By number (less one): the value and its holders; `None` when free.
    slots: Vec<Option<(Arc<T>, u32)>>,
    /// The number of each value in use.
    numbers: HashMap<Arc<T>, Id>,
    /// Numbers free for new values.
    free: Vec<Id>,
}

impl<T: Eq + Hash> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            slots: Vec::new(),
            numbers: HashMap::new(),
            free: Vec::new(),
        }
    }
}

impl<T: Eq + Hash> Interner<T> {
    /// The number of `value`, now held once more.
    #[cfg(test)]
    fn acquire(&mut self, value: &T) -> Id
    where
        T: Clone,
    {
        self.acquire_as(value, T::clone)
    }

    /// The number of the value `key` stands for, now held once more;
    /// `make` builds the value from the key when it is new.
    fn acquire_as<Q>(&mut self, key: &Q, make: impl FnOnce(&Q) -> T) -> Id
    where
        Q: Hash + Equivalent<Arc<T>> + ?Sized,
    {
        if let Some(&id) = self.numbers.get(key) {
            if let Some((_, holders)) = &mut self.slots[slot(id)] {
                *holders += 1;
            }
            return id;
        }
        let shared = Arc::new(make(key));
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[slot(id)] = Some((Arc::clone(&shared), 1));
                id
            }
            None => {
                self.slots.push(Some((Arc::clone(&shared), 1)));
                // More distinct values than u32 numbers would need more
                // memory than a node has.
                Id::new(u32::try_from(self.slots.len()).expect("fewer than 2^32 values"))
                    .expect("at least one slot")
            }
        };
        self.numbers.insert(shared, id);
        id
    }

    /// One holder of `id` fewer; the value goes with the last.
    fn release(&mut self, id: Id) {
        let Some((value, holders)) = &mut self.slots[slot(id)] else {
            return;
        };
        *holders -= 1;
        if *holders == 0 {
            self.numbers.remove(value.as_ref());
            self.slots[slot(id)] = None;
            self.free.push(id);
        }
    }

    /// The value numbered `id`, which is held.
    fn get(&self, id: Id) -> &T {
        match &self.slots[slot(id)] {
            Some((value, _)) => value,
            None => unreachable!("a number in the table is held"),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.numbers.len()
    }
}

/// Where `id` is in an interner's slots.
fn slot(id: Id) -> usize {
    id.get() as usize - 1
}

/// Our route of a prefix as the kernel holds it, the prefix left out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Installed {
    kind: RouteKind,
    next_hops: Box<[IpAddr]>,
    device: Option<Box<str>>,
}

impl Installed {
    /// `route` without its prefix.
    pub(super) fn of(route: &FibRoute) -> Installed {
        Installed {
            kind: route.kind,
            next_hops: route.next_hops.clone().into_boxed_slice(),
            device: route.device.as_deref().map(Box::from),
        }
    }

    /// Whether `route` is this one (for its prefix).
    pub(super) fn is(&self, route: &FibRoute) -> bool {
        self.kind == route.kind
            && *self.next_hops == *route.next_hops
            && self.device.as_deref() == route.device.as_deref()
    }
}

/// A list of next hops to look [`Shared::next_hops`] up by, without a copy.
/// Hashes as the `Vec<IpAddr>` it stands for does (a slice's hash).
#[derive(Hash)]
struct NextHopsKey<'a>(&'a [IpAddr]);

impl Equivalent<Arc<Vec<IpAddr>>> for NextHopsKey<'_> {
    fn equivalent(&self, key: &Arc<Vec<IpAddr>>) -> bool {
        self.0 == key.as_slice()
    }
}

/// A route as [`Installed`], borrowed from it, to look [`Shared::installed`]
/// up by without a copy. Its fields and their order are `Installed`'s, so
/// both hash alike (a boxed slice or string hashes as the borrowed one).
#[derive(Hash)]
struct InstalledKey<'a> {
    kind: RouteKind,
    next_hops: &'a [IpAddr],
    device: Option<&'a str>,
}

impl<'a> InstalledKey<'a> {
    fn of(route: &'a FibRoute) -> Self {
        InstalledKey {
            kind: route.kind,
            next_hops: &route.next_hops,
            device: route.device.as_deref(),
        }
    }
}

impl Equivalent<Arc<Installed>> for InstalledKey<'_> {
    fn equivalent(&self, key: &Arc<Installed>) -> bool {
        self.kind == key.kind
            && self.next_hops == &*key.next_hops
            && self.device == key.device.as_deref()
    }
}

/// The interners of the table's two numbers.
#[derive(Debug, Default)]
struct Shared {
    next_hops: Interner<Vec<IpAddr>>,
    installed: Interner<Installed>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn equal_values_share_one_number_until_nobody_holds_it() {
        let mut shared = Shared::default();
        let first = shared.next_hops.acquire(&vec![address("192.0.2.1")]);
        let second = shared.next_hops.acquire(&vec![address("192.0.2.1")]);
        assert_eq!(first, second);
        let route = FibRoute::new("10.0.0.0/24".parse().unwrap(), [address("192.0.2.1")]);
        let other = FibRoute::new("10.0.1.0/24".parse().unwrap(), [address("192.0.2.1")]);
        let installed = shared.installed.acquire(&Installed::of(&route));
        assert_eq!(installed, shared.installed.acquire(&Installed::of(&other)));
        assert!(shared.installed.get(installed).is(&other));
        assert!(!shared
            .installed
            .get(installed)
            .is(&FibRoute::blackhole("10.0.0.0/24".parse().unwrap())));
        // Many short-lived values: each goes with its last holder, and its
        // number is used again.
        let held: Vec<Id> = (0..200_u8)
            .map(|index| {
                shared
                    .next_hops
                    .acquire(&vec![IpAddr::from([198, 51, 100, index])])
            })
            .collect();
        assert_eq!(shared.next_hops.len(), 201);
        for id in held {
            shared.next_hops.release(id);
        }
        assert_eq!(shared.next_hops.len(), 1, "only 192.0.2.1 is still held");
        shared.next_hops.release(first);
        assert_eq!(shared.next_hops.get(second), &[address("192.0.2.1")]);
        let reused = shared.next_hops.acquire(&vec![address("198.51.100.7")]);
        assert!(reused.get() <= 201, "a freed number is given again");
        shared.next_hops.release(second);
        shared.next_hops.release(reused);
        assert_eq!(shared.next_hops.len(), 0);
    }

    #[test]
    fn a_borrowed_key_finds_the_value_it_stands_for_and_no_other() {
        let mut shared = Shared::default();
        let tunnel = |next_hops: &[&str], device: Option<&str>| FibRoute {
            prefix: "10.2.0.0/24".parse().unwrap(),
            next_hops: next_hops.iter().map(|text| address(text)).collect(),
            kind: RouteKind::Unicast,
            device: device.map(str::to_owned),
        };
        let routes = [
            tunnel(&["192.0.2.1"], None),
            tunnel(&["192.0.2.1"], Some("tunl0")),
            tunnel(&["192.0.2.1", "192.0.2.2"], Some("tunl0")),
            tunnel(&["192.0.2.1", "192.0.2.2"], None),
            tunnel(&["2001:db8::1"], Some("eth0")),
            FibRoute::blackhole("10.3.0.0/26".parse().unwrap()),
            FibRoute::unreachable("10.3.1.0/26".parse().unwrap()),
        ];
        for route in &routes {
            let by_value = shared.installed.acquire(&Installed::of(route));
            let by_key = shared
                .installed
                .acquire_as(&InstalledKey::of(route), |_| Installed::of(route));
            assert_eq!(by_value, by_key, "{route:?}");
            let hops = shared.next_hops.acquire(&route.next_hops);
            let hops_by_key = shared
                .next_hops
                .acquire_as(&NextHopsKey(&route.next_hops), |key| key.0.to_vec());
            assert_eq!(hops, hops_by_key, "{route:?}");
        }
        // One value per distinct route (the blackhole and the unreachable
        // route differ by kind), one per distinct list of next hops.
        assert_eq!(shared.installed.len(), routes.len());
        assert_eq!(shared.next_hops.len(), 4);
    }

    #[test]
    fn an_ipv4_entry_with_its_key_takes_13_octets() {
        assert_eq!(std::mem::size_of::<(Ipv4Net, Entry)>(), 13);
        assert_eq!(std::mem::size_of::<(Ipv6Upper, Entry)>(), 17);
        assert_eq!(std::mem::size_of::<(Ipv6Net, Entry)>(), 25);
        let mut slot = Slot::default();
        assert_eq!(slot.get(), None);
        let id = Id::new(0x0102_0304).unwrap();
        assert_eq!(slot.replace(Some(id)), None);
        assert!(slot.is_some());
        assert_eq!(slot.take(), Some(id));
        assert!(!slot.is_some());
    }

    #[test]
    fn ipv6_prefixes_of_any_length_are_kept_and_listed_as_given() {
        let mut table = Table::default();
        let prefixes: Vec<IpNet> = [
            "2001:db8:1::/48",
            "::/0",
            "2001:db8:1:2::/64",
            // Longer than 64 bits, or with a bit set past the 64th.
            "fd00:10:244::1:0/122",
            "2001:db8::1/128",
            "2001:db8:1:2:0:0:0:1/64",
        ]
        .iter()
        .map(|text| text.parse().unwrap())
        .collect();
        for prefix in &prefixes {
            table.set_learned(*prefix, &[address("2001:db8::1")]);
        }
        assert_eq!(table.ipv6.len(), 3);
        assert_eq!(table.ipv6_long.len(), 3);
        for prefix in &prefixes {
            assert!(table.learned(*prefix).is_some(), "{prefix}");
        }
        let mut listed: Vec<IpNet> = table.learned_prefixes().collect();
        listed.sort();
        let mut expected = prefixes.clone();
        expected.sort();
        assert_eq!(listed, expected);
        for prefix in &prefixes {
            table.set_learned(*prefix, &[]);
        }
        assert!(table.ipv6.is_empty() && table.ipv6_long.is_empty());
    }

    #[test]
    fn the_table_keeps_a_prefix_while_it_is_learned_or_installed() {
        let mut table = Table::default();
        let prefix: IpNet = "10.0.0.0/24".parse().unwrap();
        let prefix6: IpNet = "2001:db8:1::/48".parse().unwrap();
        table.set_learned(prefix, &[address("192.0.2.1")]);
        table.set_learned(prefix6, &[address("2001:db8::1")]);
        assert_eq!(table.learned(prefix), Some(&[address("192.0.2.1")][..]));
        assert_eq!(table.learned_prefixes().count(), 2);
        assert_eq!(table.installed_count(), 0);
        let route = FibRoute::new(prefix, [address("192.0.2.1")]);
        table.set_installed(&route);
        table.set_installed(&route);
        assert_eq!(table.installed_count(), 1, "installed twice counts once");
        assert!(table.installed(prefix).unwrap().is(&route));
        // Withdrawn but still in the kernel: kept until removed from it.
        table.set_learned(prefix, &[]);
        assert_eq!(table.learned(prefix), None);
        assert_eq!(table.installed_prefixes().collect::<Vec<_>>(), [prefix]);
        table.remove_installed(prefix);
        assert_eq!(table.installed_count(), 0);
        assert!(table.ipv4.is_empty(), "nothing left of the prefix");
        table.remove_installed(prefix6);
        assert_eq!(table.learned_prefixes().collect::<Vec<_>>(), [prefix6]);
    }
}
