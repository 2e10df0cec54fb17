//! Routes as nodebgp wants them, and the pure difference between two sets of them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

/// What the kernel does with packets to a route's prefix: the route's type
/// (`rtm_type`), of the three nodebgp installs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RouteKind {
    /// Forwarded to the route's next hops (RTN_UNICAST).
    #[default]
    Unicast,
    /// Dropped without a word (RTN_BLACKHOLE, `ip route add blackhole`).
    /// calico-node renders one per IPAM block affine to the node, so traffic
    /// to the block's unallocated addresses dies here instead of following
    /// the default route out again.
    Blackhole,
    /// Dropped with an ICMP "unreachable" to the sender (RTN_UNREACHABLE,
    /// `ip route add unreachable`); Calico's alternative to the blackhole.
    Unreachable,
}

/// A route as nodebgp wants it: a prefix, what to do with its packets, and
/// for a [`RouteKind::Unicast`] route its next hops and, optionally, the
/// interface they are reached through.
///
/// - **Unicast** (the default): several next hops make an ECMP multipath
///   route (one `RTA_MULTIPATH` attribute, each next hop of weight 1); one
///   next hop is a plain gateway route; none means "this prefix must not be
///   in the table" when given to [`Fib::apply`](crate::Fib::apply) or
///   returned by [`diff`] (see [`FibRoute::is_removal`]).
/// - **Blackhole and unreachable** routes have neither next hops nor a
///   device; [`Fib::apply`](crate::Fib::apply) refuses one that has
///   ([`FibError::InvalidRoute`](crate::FibError::InvalidRoute)).
///
/// Without a [`device`](FibRoute::device), next hops are gateways only and
/// the kernel picks the outgoing interface from its connected routes. With
/// one, every next hop goes out of that interface and is marked on-link
/// (RTNH_F_ONLINK), as Calico's IPIP mode has BIRD install them
/// (`10.65.1.0/26 via 192.0.2.12 dev tunl0 onlink`): the gateway need not
/// be on any connected network. The device is ignored in a removal.
///
/// Next hops' order does not matter; the constructors and every route the
/// crate returns keep them sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FibRoute {
    /// The destination prefix.
    pub prefix: IpNet,
    /// The gateways; of the prefix's address family. Empty for a removal,
    /// a blackhole or an unreachable route.
    pub next_hops: Vec<IpAddr>,
    /// What the kernel does with the prefix's packets.
    pub kind: RouteKind,
    /// The name of the interface every next hop is reached through, on-link;
    /// `None` lets the kernel pick it. Resolved in the [`Fib`](crate::Fib)'s
    /// own network namespace, which is where the interface must exist.
    pub device: Option<String>,
}

impl FibRoute {
    /// A unicast route with its prefix truncated to the network address
    /// (`10.0.0.1/8` becomes `10.0.0.0/8`) and its next hops sorted and
    /// deduplicated; the kernel picks the interface. No next hops make a removal.
    #[must_use]
    pub fn new(prefix: IpNet, next_hops: impl IntoIterator<Item = IpAddr>) -> Self {
        Self::normalized_from(prefix, next_hops, RouteKind::Unicast, None)
    }

    /// A unicast route whose next hops are all reached on-link through
    /// `device` (an interface name such as `tunl0`), as [`FibRoute::new`]
    /// otherwise.
    #[must_use]
    pub fn through_device(
        prefix: IpNet,
        next_hops: impl IntoIterator<Item = IpAddr>,
        device: impl Into<String>,
    ) -> Self {
        Self::normalized_from(prefix, next_hops, RouteKind::Unicast, Some(device.into()))
    }

    /// A blackhole route for `prefix` (truncated): its packets are dropped.
    #[must_use]
    pub fn blackhole(prefix: IpNet) -> Self {
        Self::normalized_from(prefix, [], RouteKind::Blackhole, None)
    }

    /// An unreachable route for `prefix` (truncated): its packets are
    /// dropped and their senders told so by ICMP.
    #[must_use]
    pub fn unreachable(prefix: IpNet) -> Self {
        Self::normalized_from(prefix, [], RouteKind::Unreachable, None)
    }

    /// The instruction that removes `prefix`: a unicast route without next hops.
    #[must_use]
    pub fn removal(prefix: IpNet) -> Self {
        Self::normalized_from(prefix, [], RouteKind::Unicast, None)
    }

    /// Whether this route is a removal: a unicast route without next hops
    /// (whatever its device). Blackhole and unreachable routes never are.
    #[must_use]
    pub fn is_removal(&self) -> bool {
        self.kind == RouteKind::Unicast && self.next_hops.is_empty()
    }

    fn normalized_from(
        prefix: IpNet,
        next_hops: impl IntoIterator<Item = IpAddr>,
        kind: RouteKind,
        device: Option<String>,
    ) -> Self {
        let mut route = Self {
            prefix,
            next_hops: next_hops.into_iter().collect(),
            kind,
            device,
        };
        route.normalize();
        route
    }

    pub(crate) fn normalize(&mut self) {
        self.prefix = self.prefix.trunc();
        self.next_hops.sort_unstable();
        self.next_hops.dedup();
    }

    /// Whether [`FibRoute::normalize`] would leave the route as it is.
    pub(crate) fn is_normalized(&self) -> bool {
        self.prefix == self.prefix.trunc()
            && self.next_hops.windows(2).all(|pair| pair[0] < pair[1])
    }

    pub(crate) fn normalized(&self) -> Self {
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
/// 2. every desired route that is missing or differs from the installed one
///    in kind, next hops or device (to add or replace, which
///    [`Fib::apply`](crate::Fib::apply) does in one step, so a unicast route
///    turning into a blackhole never leaves the prefix uncovered), sorted by prefix.
///
/// Routes of the same kind and device whose next hops are the same set (in
/// any order) produce nothing. A desired removal ([`FibRoute::is_removal`])
/// removes the prefix if it is installed.
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

    fn tunnel_route(prefix: &str, next_hops: &[&str], device: &str) -> FibRoute {
        FibRoute::through_device(
            prefix.parse().unwrap(),
            next_hops.iter().map(|hop| hop.parse().unwrap()),
            device,
        )
    }

    fn blackhole(prefix: &str) -> FibRoute {
        FibRoute::blackhole(prefix.parse().unwrap())
    }

    fn unreachable(prefix: &str) -> FibRoute {
        FibRoute::unreachable(prefix.parse().unwrap())
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
    fn a_route_is_normalized_when_normalizing_would_not_change_it() {
        let raw = |prefix: &str, next_hops: &[&str]| FibRoute {
            prefix: prefix.parse().unwrap(),
            next_hops: next_hops.iter().map(|text| text.parse().unwrap()).collect(),
            kind: RouteKind::Unicast,
            device: None,
        };
        for (prefix, next_hops, normalized) in [
            ("10.1.0.0/16", &["192.0.2.2", "192.0.2.3"][..], true),
            ("10.1.0.0/16", &[][..], true),
            ("10.1.2.3/16", &["192.0.2.2"][..], false),
            ("10.1.0.0/16", &["192.0.2.3", "192.0.2.2"][..], false),
            ("10.1.0.0/16", &["192.0.2.2", "192.0.2.2"][..], false),
            ("2001:db8::1/48", &["2001:db8::2"][..], false),
        ] {
            let route = raw(prefix, next_hops);
            assert_eq!(route.is_normalized(), normalized, "{route:?}");
            assert!(route.normalized().is_normalized());
            assert_eq!(route.normalized() == route, normalized, "{route:?}");
        }
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
            kind: RouteKind::Unicast,
            device: None,
        }];
        let desired = [FibRoute {
            prefix: "10.0.0.0/24".parse().unwrap(),
            next_hops: vec!["192.0.2.2".parse().unwrap(), "192.0.2.3".parse().unwrap()],
            kind: RouteKind::Unicast,
            device: None,
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
            kind: RouteKind::Unicast,
            device: None,
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

    #[test]
    fn blackhole_and_unreachable_routes_have_no_next_hops_and_are_no_removals() {
        for (built, kind) in [
            (blackhole("10.65.0.7/26"), RouteKind::Blackhole),
            (unreachable("10.65.0.7/26"), RouteKind::Unreachable),
        ] {
            assert_eq!(built.prefix.to_string(), "10.65.0.0/26");
            assert_eq!(built.kind, kind);
            assert!(built.next_hops.is_empty() && built.device.is_none());
            assert!(!built.is_removal());
        }
        let removal = FibRoute::removal("10.65.0.0/26".parse().unwrap());
        assert_eq!(removal.kind, RouteKind::Unicast);
        assert!(removal.is_removal());
    }

    #[test]
    fn a_unicast_route_without_next_hops_is_a_removal_whatever_its_device() {
        assert!(tunnel_route("10.65.1.0/26", &[], "tunl0").is_removal());
        assert!(!tunnel_route("10.65.1.0/26", &["192.0.2.12"], "tunl0").is_removal());
    }

    #[test]
    fn identical_blackholes_unreachables_and_tunnel_routes_are_no_change() {
        let routes = [
            blackhole("10.65.0.0/26"),
            tunnel_route("10.65.1.0/26", &["192.0.2.12"], "tunl0"),
            tunnel_route("10.65.2.0/26", &["192.0.2.13", "192.0.2.12"], "tunl0"),
            unreachable("2001:db8:65::/122"),
        ];
        assert!(diff(&routes, &routes).is_empty());
    }

    #[test]
    fn a_missing_blackhole_is_added_and_a_stale_one_removed() {
        let desired = [blackhole("10.65.0.0/26")];
        assert_eq!(diff(&[], &desired), desired.to_vec());
        assert_eq!(
            diff(&desired, &[]),
            vec![FibRoute::removal("10.65.0.0/26".parse().unwrap())]
        );
    }

    #[test]
    fn a_change_of_kind_is_a_replace_in_both_directions() {
        let unicast = [route("10.65.0.0/26", &["192.0.2.2"])];
        let dropped = [blackhole("10.65.0.0/26")];
        let refused = [unreachable("10.65.0.0/26")];
        assert_eq!(diff(&unicast, &dropped), dropped.to_vec());
        assert_eq!(diff(&dropped, &unicast), unicast.to_vec());
        assert_eq!(diff(&dropped, &refused), refused.to_vec());
    }

    #[test]
    fn a_desired_removal_removes_an_installed_blackhole() {
        let installed = [blackhole("10.65.0.0/26")];
        let desired = [FibRoute::removal("10.65.0.0/26".parse().unwrap())];
        assert_eq!(diff(&installed, &desired), desired.to_vec());
    }

    #[test]
    fn gaining_losing_or_changing_the_device_is_a_replace() {
        let plain = [route("10.65.1.0/26", &["192.0.2.12"])];
        let tunnel = [tunnel_route("10.65.1.0/26", &["192.0.2.12"], "tunl0")];
        let other = [tunnel_route("10.65.1.0/26", &["192.0.2.12"], "eth1")];
        assert_eq!(diff(&plain, &tunnel), tunnel.to_vec());
        assert_eq!(diff(&tunnel, &plain), plain.to_vec());
        assert_eq!(diff(&tunnel, &other), other.to_vec());
    }

    #[test]
    fn changed_next_hops_through_the_same_device_are_a_replace() {
        let installed = [tunnel_route("10.65.1.0/26", &["192.0.2.12"], "tunl0")];
        let desired = [tunnel_route(
            "10.65.1.0/26",
            &["192.0.2.12", "192.0.2.13"],
            "tunl0",
        )];
        assert_eq!(diff(&installed, &desired), desired.to_vec());
    }
}
