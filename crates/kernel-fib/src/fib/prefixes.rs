//! The prefixes a [`Fib`](super::Fib) knows hold our route: a set per
//! family, so that an IPv4 prefix costs its 5 octets in the set rather than
//! an [`IpNet`]'s 18 (a full table is a million of them).

use hashbrown::HashSet;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A set of prefixes of both families.
#[derive(Debug, Default)]
pub(super) struct PrefixSet {
    ipv4: HashSet<Ipv4Net>,
    ipv6: HashSet<Ipv6Net>,
}

impl PrefixSet {
    pub(super) fn contains(&self, prefix: &IpNet) -> bool {
        match prefix {
            IpNet::V4(net) => self.ipv4.contains(net),
            IpNet::V6(net) => self.ipv6.contains(net),
        }
    }

    pub(super) fn insert(&mut self, prefix: IpNet) {
        match prefix {
            IpNet::V4(net) => self.ipv4.insert(net),
            IpNet::V6(net) => self.ipv6.insert(net),
        };
    }

    pub(super) fn remove(&mut self, prefix: &IpNet) {
        match prefix {
            IpNet::V4(net) => self.ipv4.remove(net),
            IpNet::V6(net) => self.ipv6.remove(net),
        };
    }

    pub(super) fn clear(&mut self) {
        // Dropped, not cleared: a full table's sets are large.
        *self = PrefixSet::default();
    }
}

impl Extend<IpNet> for PrefixSet {
    fn extend<I: IntoIterator<Item = IpNet>>(&mut self, prefixes: I) {
        for prefix in prefixes {
            self.insert(prefix);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_families_are_kept_apart_and_found() {
        let mut set = PrefixSet::default();
        let ipv4: IpNet = "10.0.0.0/24".parse().unwrap();
        let ipv6: IpNet = "2001:db8::/32".parse().unwrap();
        set.extend([ipv4, ipv6]);
        assert!(set.contains(&ipv4) && set.contains(&ipv6));
        set.remove(&ipv4);
        assert!(!set.contains(&ipv4) && set.contains(&ipv6));
        set.clear();
        assert!(!set.contains(&ipv6));
    }
}
