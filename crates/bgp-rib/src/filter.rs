//! One peer's import and export filters: ordered prefix rules per family and
//! direction, the first that matches deciding, as Calico's BGPFilter
//! resources render into BIRD filter functions (calico-node runs each of a
//! BGPPeer's filters in order; an `accept` or `reject` ends the filter).
//!
//! A rule may also ask for the route's outgoing interface (Calico's
//! `interface`, BIRD's `ifname ~ "pattern"`): the caller, who knows the
//! node's interfaces, resolves the pattern into the networks connected to
//! the interfaces it names ([`InterfaceCondition`]), and the rule matches a
//! route whose next hop lies in one of them: the interface the route leaves
//! by. The node's own routes have no next hop, so no interface.
//!
//! A route no rule matches is left to what follows: on import the RIB's
//! fixed checks, on export the [`crate::ExportPolicy`] shared by every
//! peer. A rule can therefore send a route that export policy would hold
//! back (calico-node's filters run before its own export filter), but never
//! one the fixed rules of [`crate::export`] forbid.

use std::net::IpAddr;
use std::ops::RangeInclusive;

use ipnet::IpNet;

use crate::policy::Verdict;

/// How a rule's CIDR is compared with a route's prefix (Calico's
/// `matchOperator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrefixMatch {
    /// The prefix is the CIDR (BIRD's `net = P`).
    Equal,
    /// The prefix is anything but the CIDR.
    NotEqual,
    /// The prefix is the CIDR or more specific (BIRD's `net ~ P`).
    In,
    /// The prefix is not within the CIDR.
    NotIn,
}

/// Which routes a rule applies to, by where they came from (Calico's
/// `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RouteSource {
    /// Every route.
    #[default]
    Any,
    /// Routes learned from BGP peers (Calico's `RemotePeers`), not the
    /// node's own.
    RemotePeers,
}

/// A rule's condition on the prefix: Calico's `cidr` with its
/// `matchOperator` and `prefixLength`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrefixCondition {
    /// The network compared with.
    pub cidr: IpNet,
    /// With `prefixLength`, the lengths within `cidr` that count: the CIDR
    /// becomes the prefix set `cidr{low,high}` (BIRD's `[ P{a,b} ]`), and
    /// `In` means "in that set", `NotIn` "not in it", `Equal` "the CIDR
    /// itself, if its own length is in the range".
    pub lengths: Option<RangeInclusive<u8>>,
    /// How the prefix is compared with the CIDR.
    pub operator: PrefixMatch,
}

impl PrefixCondition {
    fn matches(&self, prefix: IpNet) -> bool {
        // A CIDR of the other family never matches, whatever the operator:
        // rules are per family.
        if self.cidr.addr().is_ipv4() != prefix.addr().is_ipv4() {
            return false;
        }
        let length_counts = self
            .lengths
            .as_ref()
            .is_none_or(|lengths| lengths.contains(&prefix.prefix_len()));
        let within = self.cidr.contains(&prefix) && length_counts;
        let equal = self.cidr == prefix && length_counts;
        match self.operator {
            PrefixMatch::Equal => equal,
            PrefixMatch::NotEqual => !equal,
            PrefixMatch::In => within,
            PrefixMatch::NotIn => !within,
        }
    }
}

/// A rule's condition on the route's outgoing interface: Calico's
/// `interface` glob, and the networks connected to the interfaces it names
/// now (filled in by [`PeerFilter::resolve_interfaces`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InterfaceCondition {
    /// The glob over interface names, as written (`*` and `?`).
    pub pattern: String,
    /// The networks of the interfaces the glob matches; a next hop within
    /// one leaves by such an interface. Empty: no route matches.
    pub networks: Vec<IpNet>,
}

impl InterfaceCondition {
    fn matches(&self, next_hop: Option<IpAddr>) -> bool {
        next_hop.is_some_and(|next_hop| {
            self.networks
                .iter()
                .any(|network| network.contains(&next_hop))
        })
    }
}

/// One rule of a filter: it matches a route when every condition it sets
/// holds (a rule with none matches every route).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FilterRule {
    /// The condition on the prefix; `None` for any prefix.
    pub prefix: Option<PrefixCondition>,
    /// Whose routes the rule applies to.
    pub source: RouteSource,
    /// The condition on the outgoing interface; `None` for any route.
    pub interface: Option<InterfaceCondition>,
    /// What happens to a route the rule matches.
    pub verdict: Verdict,
}

impl FilterRule {
    fn matches(&self, prefix: IpNet, local: bool, next_hop: Option<IpAddr>) -> bool {
        if self.source == RouteSource::RemotePeers && local {
            return false;
        }
        self.prefix
            .as_ref()
            .is_none_or(|condition| condition.matches(prefix))
            && self
                .interface
                .as_ref()
                .is_none_or(|condition| condition.matches(next_hop))
    }
}

/// The rules of one direction, per family, in order: the rules of the
/// peer's first filter, then its second's, and so on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FamilyRules {
    /// For IPv4 routes.
    pub ipv4: Vec<FilterRule>,
    /// For IPv6 routes.
    pub ipv6: Vec<FilterRule>,
}

impl FamilyRules {
    /// The verdict of the first rule that matches, if any.
    fn decide(&self, prefix: IpNet, local: bool, next_hop: Option<IpAddr>) -> Option<Verdict> {
        let rules = match prefix {
            IpNet::V4(_) => &self.ipv4,
            IpNet::V6(_) => &self.ipv6,
        };
        rules
            .iter()
            .find(|rule| rule.matches(prefix, local, next_hop))
            .map(|rule| rule.verdict)
    }

    fn rules_mut(&mut self) -> impl Iterator<Item = &mut FilterRule> {
        self.ipv4.iter_mut().chain(self.ipv6.iter_mut())
    }

    /// Whether there are no rules at all.
    pub fn is_empty(&self) -> bool {
        self.ipv4.is_empty() && self.ipv6.is_empty()
    }
}

/// A peer's filters, compiled (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PeerFilter {
    /// Applied to the routes the peer sends.
    pub import: FamilyRules,
    /// Applied to the routes sent to the peer.
    pub export: FamilyRules,
}

impl PeerFilter {
    /// Whether a route for `prefix` through `next_hop` from the peer is
    /// taken in (as far as the filter decides; the fixed checks still apply).
    ///
    /// Asked for every prefix received: a peer without rules, the common
    /// case, is answered inline without a call.
    #[inline]
    pub fn imports(&self, prefix: IpNet, next_hop: Option<IpAddr>) -> bool {
        self.import.is_empty()
            || self.import.decide(prefix, false, next_hop) != Some(Verdict::Reject)
    }

    /// The filter's verdict on sending the route for `prefix` (the node's
    /// own when `local`) through `next_hop` (its next hop as learned) to the
    /// peer; `None` when no rule matched (or there are none: inline, as for
    /// [`PeerFilter::imports`]).
    #[inline]
    pub fn export_verdict(
        &self,
        prefix: IpNet,
        local: bool,
        next_hop: Option<IpAddr>,
    ) -> Option<Verdict> {
        if self.export.is_empty() {
            return None;
        }
        self.export.decide(prefix, local, next_hop)
    }

    /// Fills every interface condition with the networks connected to the
    /// interfaces its glob names, given the node's interfaces as `(name,
    /// network)` pairs and the glob matcher. A changed result is a changed
    /// filter: set it again, and the RIB re-evaluates.
    pub fn resolve_interfaces(
        &mut self,
        interfaces: &[(String, IpNet)],
        glob_matches: impl Fn(&str, &str) -> bool,
    ) {
        let rules = self.import.rules_mut().chain(self.export.rules_mut());
        for rule in rules {
            if let Some(condition) = rule.interface.as_mut() {
                condition.networks = interfaces
                    .iter()
                    .filter(|(name, _)| glob_matches(&condition.pattern, name))
                    .map(|(_, network)| network.trunc())
                    .collect();
                condition.networks.sort_unstable();
                condition.networks.dedup();
            }
        }
    }

    /// Whether a rule asks for the outgoing interface.
    pub fn has_interface_rules(&self) -> bool {
        let rules = |family: &FamilyRules| {
            family
                .ipv4
                .iter()
                .chain(&family.ipv6)
                .any(|rule| rule.interface.is_some())
        };
        rules(&self.import) || rules(&self.export)
    }

    /// Whether the filter has no rules.
    pub fn is_empty(&self) -> bool {
        self.import.is_empty() && self.export.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(cidr: &str, operator: PrefixMatch, verdict: Verdict) -> FilterRule {
        FilterRule {
            prefix: Some(PrefixCondition {
                cidr: cidr.parse().unwrap(),
                lengths: None,
                operator,
            }),
            source: RouteSource::Any,
            interface: None,
            verdict,
        }
    }

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    impl FilterRule {
        fn matches_at(&self, prefix: IpNet, local: bool) -> bool {
            self.matches(prefix, local, None)
        }
    }

    #[test]
    fn an_interface_rule_matches_routes_whose_next_hop_is_on_a_named_interface() {
        let mut filter = PeerFilter {
            import: FamilyRules {
                ipv4: vec![FilterRule {
                    prefix: None,
                    source: RouteSource::Any,
                    interface: Some(InterfaceCondition {
                        pattern: "eth*".to_owned(),
                        networks: Vec::new(),
                    }),
                    verdict: Verdict::Reject,
                }],
                ipv6: Vec::new(),
            },
            export: FamilyRules::default(),
        };
        assert!(filter.has_interface_rules());
        let on_eth = Some("198.51.100.7".parse().unwrap());
        // Resolved against nothing yet: no interface, no match.
        assert!(filter.imports(net("10.0.0.0/24"), on_eth));
        let glob = |pattern: &str, name: &str| {
            pattern == name
                || (pattern.ends_with('*') && name.starts_with(&pattern[..pattern.len() - 1]))
        };
        filter.resolve_interfaces(
            &[
                ("eth0".to_owned(), net("198.51.100.1/24")),
                ("cali1".to_owned(), net("203.0.113.1/32")),
            ],
            glob,
        );
        assert!(!filter.imports(net("10.0.0.0/24"), on_eth));
        assert!(filter.imports(net("10.0.0.0/24"), Some("203.0.113.1".parse().unwrap())));
        assert!(
            filter.imports(net("10.0.0.0/24"), None),
            "no next hop: no interface"
        );
        assert!(!PeerFilter::default().has_interface_rules());
    }

    #[test]
    fn operators_compare_the_prefix_with_the_cidr() {
        let equal = rule("10.0.0.0/16", PrefixMatch::Equal, Verdict::Accept);
        assert!(equal.matches_at(net("10.0.0.0/16"), false));
        assert!(!equal.matches_at(net("10.0.1.0/24"), false));
        let not_equal = rule("10.0.0.0/16", PrefixMatch::NotEqual, Verdict::Accept);
        assert!(!not_equal.matches_at(net("10.0.0.0/16"), false));
        assert!(not_equal.matches_at(net("10.0.1.0/24"), false));
        let within = rule("10.0.0.0/16", PrefixMatch::In, Verdict::Accept);
        assert!(within.matches_at(net("10.0.0.0/16"), false));
        assert!(within.matches_at(net("10.0.1.0/24"), false));
        assert!(!within.matches_at(net("10.0.0.0/8"), false));
        let outside = rule("10.0.0.0/16", PrefixMatch::NotIn, Verdict::Accept);
        assert!(outside.matches_at(net("10.1.0.0/24"), false));
        assert!(!outside.matches_at(net("10.0.9.0/24"), false));
        assert!(
            !outside.matches_at(net("2001:db8::/32"), false),
            "a CIDR of the other family matches nothing"
        );
    }

    #[test]
    fn prefix_length_and_source_narrow_a_rule() {
        let mut narrowed = rule("10.0.0.0/8", PrefixMatch::In, Verdict::Reject);
        if let Some(condition) = narrowed.prefix.as_mut() {
            condition.lengths = Some(24..=32);
        }
        assert!(narrowed.matches_at(net("10.1.2.0/24"), false));
        assert!(!narrowed.matches_at(net("10.1.0.0/16"), false));
        narrowed.source = RouteSource::RemotePeers;
        assert!(
            !narrowed.matches_at(net("10.1.2.0/24"), true),
            "the node's own"
        );
        assert!(narrowed.matches_at(net("10.1.2.0/24"), false));
    }

    #[test]
    fn the_first_matching_rule_decides_and_no_match_leaves_it_open() {
        let filter = PeerFilter {
            import: FamilyRules {
                ipv4: vec![
                    rule("10.0.1.0/24", PrefixMatch::Equal, Verdict::Accept),
                    rule("10.0.0.0/16", PrefixMatch::In, Verdict::Reject),
                ],
                ipv6: vec![rule("2001:db8::/32", PrefixMatch::In, Verdict::Reject)],
            },
            export: FamilyRules {
                ipv4: vec![rule("192.0.2.0/24", PrefixMatch::Equal, Verdict::Accept)],
                ipv6: Vec::new(),
            },
        };
        assert!(filter.imports(net("10.0.1.0/24"), None));
        assert!(!filter.imports(net("10.0.2.0/24"), None));
        assert!(
            filter.imports(net("172.16.0.0/12"), None),
            "no rule: taken in"
        );
        assert!(!filter.imports(net("2001:db8:1::/48"), None));
        assert_eq!(
            filter.export_verdict(net("192.0.2.0/24"), true, None),
            Some(Verdict::Accept)
        );
        assert_eq!(
            filter.export_verdict(net("198.51.100.0/24"), true, None),
            None
        );
        assert!(!filter.is_empty());
        assert!(PeerFilter::default().is_empty());
    }
}

#[cfg(test)]
mod prefix_set_tests {
    use super::*;

    fn condition(
        cidr: &str,
        lengths: Option<RangeInclusive<u8>>,
        operator: PrefixMatch,
    ) -> PrefixCondition {
        PrefixCondition {
            cidr: cidr.parse().unwrap(),
            lengths,
            operator,
        }
    }

    fn matches(condition: &PrefixCondition, prefix: &str) -> bool {
        condition.matches(prefix.parse().unwrap())
    }

    #[test]
    fn in_and_not_in_without_lengths_are_within_and_outside_the_cidr() {
        let within = condition("10.0.0.0/8", None, PrefixMatch::In);
        let outside = condition("10.0.0.0/8", None, PrefixMatch::NotIn);
        for (prefix, inside) in [
            ("10.0.0.0/8", true),
            ("10.1.2.0/24", true),
            ("11.0.0.0/8", false),
            ("0.0.0.0/0", false),
        ] {
            assert_eq!(matches(&within, prefix), inside, "{prefix}");
            assert_eq!(matches(&outside, prefix), !inside, "{prefix}");
        }
    }

    #[test]
    fn lengths_make_the_cidr_a_prefix_set_that_not_in_negates_whole() {
        // BIRD's `net ~ [ 10.0.0.0/8{16,24} ]` and `net !~ [ … ]`.
        let within = condition("10.0.0.0/8", Some(16..=24), PrefixMatch::In);
        let outside = condition("10.0.0.0/8", Some(16..=24), PrefixMatch::NotIn);
        for (prefix, inside) in [
            ("10.0.0.0/8", false),
            ("10.1.0.0/16", true),
            ("10.1.2.0/24", true),
            ("10.1.2.0/25", false),
            ("11.1.0.0/16", false),
        ] {
            assert_eq!(matches(&within, prefix), inside, "{prefix}");
            assert_eq!(matches(&outside, prefix), !inside, "{prefix}");
        }
    }

    #[test]
    fn equal_and_not_equal_compare_the_prefix_itself() {
        let equal = condition("10.0.0.0/8", None, PrefixMatch::Equal);
        let not_equal = condition("10.0.0.0/8", None, PrefixMatch::NotEqual);
        assert!(matches(&equal, "10.0.0.0/8"));
        assert!(!matches(&equal, "10.0.0.0/9"));
        assert!(!matches(&not_equal, "10.0.0.0/8"));
        assert!(matches(&not_equal, "10.0.0.0/9"));
    }

    #[test]
    fn a_cidr_of_the_other_family_never_matches() {
        for operator in [
            PrefixMatch::Equal,
            PrefixMatch::NotEqual,
            PrefixMatch::In,
            PrefixMatch::NotIn,
        ] {
            assert!(!matches(
                &condition("10.0.0.0/8", None, operator),
                "2001:db8::/32"
            ));
        }
    }
}
