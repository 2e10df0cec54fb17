//! What the FIB task remembers per prefix, kept small. A node's routes
//! share a handful of next-hop lists (one per peer, or per ECMP set) and
//! fewer kernel route shapes still, so each is stored once, interned, and
//! the table holds two pointers per prefix, in a map per family (an IPv4
//! key is 5 octets, an [`IpNet`] 18): a million learned and installed
//! routes cost one 24-octet hash-map entry each and no allocation of their
//! own.

use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use kernel_fib::{FibRoute, RouteKind};

/// What the task knows of one prefix.
#[derive(Debug, Clone, Default)]
struct Entry {
    /// The next hops the RIB selected.
    learned: Option<Arc<Vec<IpAddr>>>,
    /// What the kernel holds with our protocol number.
    installed: Option<Arc<Installed>>,
}

impl Entry {
    fn is_empty(&self) -> bool {
        self.learned.is_none() && self.installed.is_none()
    }
}

/// The learned and installed routes of every prefix.
#[derive(Debug, Default)]
pub(super) struct Table {
    ipv4: HashMap<Ipv4Net, Entry>,
    ipv6: HashMap<Ipv6Net, Entry>,
    shared: Shared,
    /// Prefixes with an installed route.
    installed: usize,
}

impl Table {
    fn entry(&self, prefix: IpNet) -> Option<&Entry> {
        match prefix {
            IpNet::V4(net) => self.ipv4.get(&net),
            IpNet::V6(net) => self.ipv6.get(&net),
        }
    }

    /// Changes the entry of `prefix` with `change`, dropping it when empty.
    fn update(&mut self, prefix: IpNet, change: impl FnOnce(&mut Entry, &mut Shared)) {
        let shared = &mut self.shared;
        let (had, has) = match prefix {
            IpNet::V4(net) => update_in(&mut self.ipv4, net, shared, change),
            IpNet::V6(net) => update_in(&mut self.ipv6, net, shared, change),
        };
        self.installed = self.installed + usize::from(has) - usize::from(had);
    }

    /// The next hops the RIB selected for `prefix`.
    pub(super) fn learned(&self, prefix: IpNet) -> Option<&[IpAddr]> {
        self.entry(prefix)?.learned.as_deref().map(Vec::as_slice)
    }

    /// Records the RIB's next hops for `prefix` (none: not learned).
    pub(super) fn set_learned(&mut self, prefix: IpNet, next_hops: &Vec<IpAddr>) {
        self.update(prefix, |entry, shared| {
            entry.learned = (!next_hops.is_empty()).then(|| shared.next_hops(next_hops));
        });
    }

    /// Every prefix with a learned route.
    pub(super) fn learned_prefixes(&self) -> impl Iterator<Item = IpNet> + '_ {
        let ipv4 = self
            .ipv4
            .iter()
            .map(|(net, entry)| (IpNet::V4(*net), entry));
        let ipv6 = self
            .ipv6
            .iter()
            .map(|(net, entry)| (IpNet::V6(*net), entry));
        ipv4.chain(ipv6)
            .filter(|(_, entry)| entry.learned.is_some())
            .map(|(prefix, _)| prefix)
    }

    /// Our route of `prefix` in the kernel.
    pub(super) fn installed(&self, prefix: IpNet) -> Option<&Installed> {
        self.entry(prefix)?.installed.as_deref()
    }

    /// Records that the kernel holds `route` for its prefix.
    pub(super) fn set_installed(&mut self, route: &FibRoute) {
        self.update(route.prefix, |entry, shared| {
            entry.installed = Some(shared.installed(route));
        });
    }

    /// Records that the kernel holds nothing of ours for `prefix`.
    pub(super) fn remove_installed(&mut self, prefix: IpNet) {
        self.update(prefix, |entry, _| entry.installed = None);
    }

    /// Every prefix with an installed route.
    pub(super) fn installed_prefixes(&self) -> impl Iterator<Item = IpNet> + '_ {
        let ipv4 = self
            .ipv4
            .iter()
            .map(|(net, entry)| (IpNet::V4(*net), entry));
        let ipv6 = self
            .ipv6
            .iter()
            .map(|(net, entry)| (IpNet::V6(*net), entry));
        ipv4.chain(ipv6)
            .filter(|(_, entry)| entry.installed.is_some())
            .map(|(prefix, _)| prefix)
    }

    /// How many prefixes have an installed route.
    pub(super) fn installed_count(&self) -> usize {
        self.installed
    }

    /// Forgets shared values no prefix uses any more.
    pub(super) fn prune(&mut self) {
        self.shared.prune();
    }
}

/// [`Table::update`] in one family's map: whether the prefix had an
/// installed route before, and has one after.
fn update_in<K: Eq + Hash>(
    map: &mut HashMap<K, Entry>,
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

/// One copy of each distinct value in use.
#[derive(Debug)]
struct Interner<T: ?Sized + Eq + Hash> {
    values: HashSet<Arc<T>>,
    /// The size after the last prune: the next comes when it has doubled.
    pruned_at: usize,
}

impl<T: ?Sized + Eq + Hash> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            values: HashSet::new(),
            pruned_at: 0,
        }
    }
}

impl<T: ?Sized + Eq + Hash> Interner<T> {
    /// The shared copy of `value`, made with `make` the first time.
    fn intern(&mut self, value: &T, make: impl FnOnce(&T) -> Arc<T>) -> Arc<T> {
        if let Some(shared) = self.values.get(value) {
            return Arc::clone(shared);
        }
        let shared = make(value);
        self.values.insert(Arc::clone(&shared));
        shared
    }

    /// Forgets values nobody holds any more, once the set has doubled since
    /// it last did (so that the work stays proportional to what was added).
    fn prune(&mut self) {
        if self.values.len() > 2 * self.pruned_at + 64 {
            self.values.retain(|value| Arc::strong_count(value) > 1);
            self.pruned_at = self.values.len();
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.values.len()
    }
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

/// The interners of the table's two pointers.
#[derive(Debug, Default)]
struct Shared {
    next_hops: Interner<Vec<IpAddr>>,
    installed: Interner<Installed>,
}

impl Shared {
    /// The shared copy of a learned route's next hops.
    fn next_hops(&mut self, next_hops: &Vec<IpAddr>) -> Arc<Vec<IpAddr>> {
        self.next_hops
            .intern(next_hops, |value| Arc::new(value.clone()))
    }

    /// The shared copy of `route` as installed.
    fn installed(&mut self, route: &FibRoute) -> Arc<Installed> {
        self.installed
            .intern(&Installed::of(route), |value| Arc::new(value.clone()))
    }

    /// Forgets what no prefix uses any more.
    fn prune(&mut self) {
        self.next_hops.prune();
        self.installed.prune();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn equal_values_share_one_copy_until_nobody_holds_it() {
        let mut shared = Shared::default();
        let first = shared.next_hops(&vec![address("192.0.2.1")]);
        let second = shared.next_hops(&vec![address("192.0.2.1")]);
        assert!(Arc::ptr_eq(&first, &second));
        let route = FibRoute::new("10.0.0.0/24".parse().unwrap(), [address("192.0.2.1")]);
        let other = FibRoute::new("10.0.1.0/24".parse().unwrap(), [address("192.0.2.1")]);
        let installed = shared.installed(&route);
        assert!(Arc::ptr_eq(&installed, &shared.installed(&other)));
        assert!(installed.is(&other));
        assert!(!installed.is(&FibRoute::blackhole("10.0.0.0/24".parse().unwrap())));
        // Many short-lived values: pruning keeps only what is held.
        let held: Vec<Arc<Vec<IpAddr>>> = (0..200_u8)
            .map(|index| shared.next_hops(&vec![IpAddr::from([198, 51, 100, index])]))
            .collect();
        drop(held);
        shared.prune();
        assert_eq!(shared.next_hops.len(), 1, "only 192.0.2.1 is still held");
    }

    #[test]
    fn the_table_keeps_a_prefix_while_it_is_learned_or_installed() {
        let mut table = Table::default();
        let prefix: IpNet = "10.0.0.0/24".parse().unwrap();
        let prefix6: IpNet = "2001:db8:1::/48".parse().unwrap();
        table.set_learned(prefix, &vec![address("192.0.2.1")]);
        table.set_learned(prefix6, &vec![address("2001:db8::1")]);
        assert_eq!(table.learned(prefix), Some(&[address("192.0.2.1")][..]));
        assert_eq!(table.learned_prefixes().count(), 2);
        assert_eq!(table.installed_count(), 0);
        let route = FibRoute::new(prefix, [address("192.0.2.1")]);
        table.set_installed(&route);
        table.set_installed(&route);
        assert_eq!(table.installed_count(), 1, "installed twice counts once");
        assert!(table.installed(prefix).unwrap().is(&route));
        // Withdrawn but still in the kernel: kept until removed from it.
        table.set_learned(prefix, &Vec::new());
        assert_eq!(table.learned(prefix), None);
        assert_eq!(table.installed_prefixes().collect::<Vec<_>>(), [prefix]);
        table.remove_installed(prefix);
        assert_eq!(table.installed_count(), 0);
        assert!(table.ipv4.is_empty(), "nothing left of the prefix");
        table.remove_installed(prefix6);
        assert_eq!(table.learned_prefixes().collect::<Vec<_>>(), [prefix6]);
    }
}
