//! Routes as nodebgp wants them, and the pure difference between two sets of them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

/// A route as nodebgp wants it: a prefix and its next hops.
///
/// Several next hops make an ECMP multipath route (one `RTA_MULTIPATH`
/// attribute, each next hop of weight 1); one next hop is a plain gateway
/// route; none means "this prefix must not be in the table" when given to
/// [`Fib::apply`](crate::Fib::apply) or returned by [`diff`].
///
/// Next hops are gateways only: the kernel picks the outgoing interface from
/// its connected routes. Their order does not matter; [`FibRoute::new`] and
/// every route the crate returns keep them sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FibRoute {
    /// The destination prefix.
    pub prefix: IpNet,
    /// The gateways; of the prefix's address family.
    pub next_hops: Vec<IpAddr>,
}

impl FibRoute {
    /// A route with its prefix truncated to the network address
    /// (`10.0.0.1/8` becomes `10.0.0.0/8`) and its next hops sorted and deduplicated.
    #[must_use]
    pub fn new(prefix: IpNet, next_hops: impl IntoIterator<Item = IpAddr>) -> Self {
        let mut route = Self {
            prefix,
            next_hops: next_hops.into_iter().collect(),
        };
        route.normalize();
        route
    }

    /// The instruction that removes `prefix`: a route without next hops.
    #[must_use]
    pub fn removal(prefix: IpNet) -> Self {
        Self {
            prefix: prefix.trunc(),
            next_hops: Vec::new(),
        }
    }

    /// Whether this route is a removal (it has no next hops).
    #[must_use]
    pub fn is_removal(&self) -> bool {
        self.next_hops.is_empty()
    }

    pub(crate) fn normalize(&mut self) {
        self.prefix = self.prefix.trunc();
        self.next_hops.sort_unstable();
        self.next_hops.dedup();
    }

    fn normalized(&self) -> Self {
        let mut route = self.clone();
        route.normalize();
        route
    }
}

/// What [`Fib::apply_all`](crate::Fib::apply_all) did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ApplySummary {
    /// Routes applied: `installed + removed`.
    pub applied: usize,
    /// Routes added or replaced.
    pub installed: usize,
    /// Routes removed (removals of routes already absent count too: the table is as asked).
    pub removed: usize,
    /// Routes that failed: `errors.len()`.
    pub failed: usize,
    /// Each failed route's prefix and error; the batch went on past them.
    pub errors: Vec<(IpNet, crate::FibError)>,
}

/// The minimal list of changes that turns `installed` into `desired`.
///
/// Pure, no I/O: used at start-up to re-synchronise the kernel with the
/// routes of a previous run kept by graceful restart. The result holds, each
/// once and in this order:
///
/// 1. a removal ([`FibRoute::removal`]) for every installed prefix that is
///    not desired any more (stale leftovers), sorted by prefix;
/// 2. every desired route that is missing or whose next hops differ
///    (to add or replace), sorted by prefix.
///
/// Routes whose next hops are the same set (in any order) produce nothing.
/// A desired route without next hops removes the prefix if it is installed.
/// When a prefix appears more than once in a list, its last entry counts.
#[must_use]
pub fn diff(installed: &[FibRoute], desired: &[FibRoute]) -> Vec<FibRoute> {
    let installed: BTreeMap<IpNet, FibRoute> = installed
        .iter()
        .map(|route| (route.prefix.trunc(), route.normalized()))
        .collect();
    let desired: BTreeMap<IpNet, FibRoute> = desired
        .iter()
        .map(|route| (route.prefix.trunc(), route.normalized()))
        .collect();

    let mut removals = Vec::new();
    let mut changes = Vec::new();
    for prefix in installed.keys() {
        let wanted = match desired.get(prefix) {
            Some(route) => !route.is_removal(),
            None => false,
        };
        if !wanted {
            removals.push(FibRoute::removal(*prefix));
        }
    }
    for (prefix, route) in &desired {
        if route.is_removal() {
            continue;
        }
        if installed.get(prefix) != Some(route) {
            changes.push(route.clone());
        }
    }
    removals.extend(changes);
    removals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(prefix: &str, next_hops: &[&str]) -> FibRoute {
        FibRoute::new(
            prefix.parse().unwrap(),
            next_hops.iter().map(|hop| hop.parse().unwrap()),
        )
    }

    #[test]
    fn new_truncates_the_prefix_and_sorts_next_hops() {
        let built = route("10.1.2.3/16", &["192.0.2.3", "192.0.2.2", "192.0.2.3"]);
        assert_eq!(built.prefix.to_string(), "10.1.0.0/16");
        assert_eq!(
            built.next_hops,
            vec![
                "192.0.2.2".parse::<IpAddr>().unwrap(),
                "192.0.2.3".parse().unwrap()
            ]
        );
    }

    #[test]
    fn nothing_to_do_when_installed_equals_desired() {
        let routes = [
            route("10.0.0.0/24", &["192.0.2.2"]),
            route("2001:db8:1::/48", &["2001:db8::2"]),
        ];
        assert!(diff(&routes, &routes).is_empty());
    }

    #[test]
    fn empty_on_both_sides_is_no_change() {
        assert!(diff(&[], &[]).is_empty());
    }

    #[test]
    fn missing_routes_are_added() {
        let desired = [route("10.0.0.0/24", &["192.0.2.2"])];
        assert_eq!(diff(&[], &desired), desired.to_vec());
    }

    #[test]
    fn stale_routes_are_removed() {
        let installed = [route("10.0.0.0/24", &["192.0.2.2"])];
        assert_eq!(
            diff(&installed, &[]),
            vec![FibRoute::removal("10.0.0.0/24".parse().unwrap())]
        );
    }

    #[test]
    fn changed_next_hops_are_replaced() {
        let installed = [route("10.0.0.0/24", &["192.0.2.2"])];
        let desired = [route("10.0.0.0/24", &["192.0.2.3"])];
        assert_eq!(diff(&installed, &desired), desired.to_vec());
    }

    #[test]
    fn next_hop_order_does_not_matter() {
        let installed = [FibRoute {
            prefix: "10.0.0.0/24".parse().unwrap(),
            next_hops: vec!["192.0.2.3".parse().unwrap(), "192.0.2.2".parse().unwrap()],
        }];
        let desired = [FibRoute {
            prefix: "10.0.0.0/24".parse().unwrap(),
            next_hops: vec!["192.0.2.2".parse().unwrap(), "192.0.2.3".parse().unwrap()],
        }];
        assert!(diff(&installed, &desired).is_empty());
    }

    #[test]
    fn growing_a_single_path_into_ecmp_is_a_replace() {
        let installed = [route("10.0.0.0/24", &["192.0.2.2"])];
        let desired = [route("10.0.0.0/24", &["192.0.2.2", "192.0.2.3"])];
        assert_eq!(diff(&installed, &desired), desired.to_vec());
    }

    #[test]
    fn a_desired_removal_removes_only_what_is_installed() {
        let installed = [route("10.0.0.0/24", &["192.0.2.2"])];
        let desired = [
            FibRoute::removal("10.0.0.0/24".parse().unwrap()),
            FibRoute::removal("10.9.0.0/24".parse().unwrap()),
        ];
        assert_eq!(
            diff(&installed, &desired),
            vec![FibRoute::removal("10.0.0.0/24".parse().unwrap())]
        );
    }

    #[test]
    fn removals_come_first_then_changes_each_sorted() {
        let installed = [
            route("10.2.0.0/24", &["192.0.2.2"]),
            route("10.1.0.0/24", &["192.0.2.2"]),
            route("10.5.0.0/24", &["192.0.2.2"]),
        ];
        let desired = [
            route("10.5.0.0/24", &["192.0.2.3"]),
            route("10.4.0.0/24", &["192.0.2.2"]),
            route("2001:db8::/32", &["2001:db8::2"]),
        ];
        let changes = diff(&installed, &desired);
        let summary: Vec<String> = changes
            .iter()
            .map(|change| format!("{} {}", change.prefix, change.next_hops.len()))
            .collect();
        assert_eq!(
            summary,
            [
                "10.1.0.0/24 0",
                "10.2.0.0/24 0",
                "10.4.0.0/24 1",
                "10.5.0.0/24 1",
                "2001:db8::/32 1"
            ]
        );
    }

    #[test]
    fn prefixes_are_compared_after_truncation() {
        let installed = [route("10.0.0.0/24", &["192.0.2.2"])];
        let desired = [FibRoute {
            prefix: "10.0.0.7/24".parse().unwrap(),
            next_hops: vec!["192.0.2.2".parse().unwrap()],
        }];
        assert!(diff(&installed, &desired).is_empty());
    }

    #[test]
    fn the_last_entry_of_a_repeated_prefix_counts() {
        let desired = [
            route("10.0.0.0/24", &["192.0.2.2"]),
            route("10.0.0.0/24", &["192.0.2.3"]),
        ];
        assert_eq!(
            diff(&[], &desired),
            vec![route("10.0.0.0/24", &["192.0.2.3"])]
        );
    }
}
