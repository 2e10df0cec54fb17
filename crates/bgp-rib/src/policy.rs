//! Which prefixes may be sent to peers at all: an ordered list of prefix
//! rules, the first that matches deciding, as a BIRD export filter built from
//! `if net = P` / `if net ~ P` tests decides (calico-node's
//! `calico_export_to_bgp_peers` is one).
//!
//! The policy comes on top of the fixed rules of [`crate::export`] (split
//! horizon, iBGP and reflection rules, RFC 1997 communities): it can only
//! keep a route from a peer, never send one those rules hold back. It is the
//! same for every peer.

use ipnet::IpNet;

/// Whether a rule lets the route through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Sent (the fixed rules permitting).
    Accept,
    /// Not sent; withdrawn from peers that had it.
    Reject,
}

/// Which routes a rule's prefix covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Extent {
    /// The prefix itself only (BIRD's `net = P`).
    Exactly,
    /// The prefix and every more specific one (BIRD's `net ~ P`).
    OrLonger,
}

/// Which routes a rule applies to, by where the best path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Every route.
    Any,
    /// Routes this node originates.
    Local,
    /// Routes learned from a peer.
    Learned,
}

/// One test of the policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExportRule {
    /// The prefix the route is compared with.
    pub prefix: IpNet,
    /// How it is compared.
    pub extent: Extent,
    /// Whose routes the rule looks at.
    pub origin: Origin,
    /// What happens to a route the rule matches.
    pub verdict: Verdict,
}

impl ExportRule {
    fn matches(&self, prefix: IpNet, local: bool) -> bool {
        let origin = match self.origin {
            Origin::Any => true,
            Origin::Local => local,
            Origin::Learned => !local,
        };
        let covered = match self.extent {
            Extent::Exactly => self.prefix == prefix,
            Extent::OrLonger => self.prefix.contains(&prefix),
        };
        origin && covered
    }
}

/// The rules, first match deciding, and what happens to a route none
/// matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExportPolicy {
    /// Tried in order.
    pub rules: Vec<ExportRule>,
    /// The verdict when no rule matches.
    pub otherwise: Verdict,
}

impl Default for ExportPolicy {
    /// Everything may be sent: no policy.
    fn default() -> Self {
        ExportPolicy {
            rules: Vec::new(),
            otherwise: Verdict::Accept,
        }
    }
}

impl ExportPolicy {
    /// Whether a route for `prefix` (originated here when `local`) may be
    /// sent.
    pub fn allows(&self, prefix: IpNet, local: bool) -> bool {
        let verdict = self
            .rules
            .iter()
            .find(|rule| rule.matches(prefix, local))
            .map_or(self.otherwise, |rule| rule.verdict);
        verdict == Verdict::Accept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str, extent: Extent, origin: Origin, verdict: Verdict) -> ExportRule {
        ExportRule {
            prefix: prefix.parse().unwrap(),
            extent,
            origin,
            verdict,
        }
    }

    #[test]
    fn no_policy_sends_everything() {
        let policy = ExportPolicy::default();
        assert!(policy.allows("0.0.0.0/0".parse().unwrap(), false));
        assert!(policy.allows("2001:db8::/32".parse().unwrap(), true));
    }

    #[test]
    fn the_first_matching_rule_decides() {
        // A block accepted, what lies under it refused, the pool accepted,
        // the rest refused: the aggregation rule of calico-node.
        let policy = ExportPolicy {
            rules: vec![
                rule("10.0.1.0/26", Extent::Exactly, Origin::Any, Verdict::Accept),
                rule(
                    "10.0.1.0/26",
                    Extent::OrLonger,
                    Origin::Any,
                    Verdict::Reject,
                ),
                rule(
                    "10.0.0.0/16",
                    Extent::OrLonger,
                    Origin::Any,
                    Verdict::Accept,
                ),
            ],
            otherwise: Verdict::Reject,
        };
        let allows = |prefix: &str| policy.allows(prefix.parse().unwrap(), false);
        assert!(allows("10.0.1.0/26"));
        assert!(!allows("10.0.1.7/32"));
        assert!(allows("10.0.2.7/32"));
        assert!(allows("10.0.0.0/16"));
        assert!(!allows("10.0.0.0/8"), "shorter than the pool");
        assert!(!allows("192.0.2.0/24"));
        assert!(!allows("2001:db8::/32"), "another family matches nothing");
    }

    #[test]
    fn origin_limits_a_rule() {
        let policy = ExportPolicy {
            rules: vec![rule(
                "0.0.0.0/0",
                Extent::OrLonger,
                Origin::Local,
                Verdict::Accept,
            )],
            otherwise: Verdict::Reject,
        };
        assert!(policy.allows("192.0.2.0/24".parse().unwrap(), true));
        assert!(!policy.allows("192.0.2.0/24".parse().unwrap(), false));
    }
}
