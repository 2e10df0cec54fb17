//! A peer's BGPFilters (Calico v3), compiled once per datastore reading into
//! the RIB's [`PeerFilter`]: the rules of the filters the BGPPeer names, in
//! the order it names them, per direction and family. The RIB evaluates
//! them per route with no text matching.
//!
//! As calico-node renders them: the first rule that matches, across all the
//! peer's filters, decides; a route none matches is taken in on import and
//! left to the node's export policy on export. A filter name that matches no
//! BGPFilter is skipped (calico-node's template finds nothing to call) and
//! reported. A filter with a rule nodebgp cannot evaluate (a newer Calico's
//! field) keeps the peer from running at all: a session without one of its
//! rejections would send or take routes it was told not to.
//!
//! An `interface` rule compiles into an [`InterfaceCondition`] with its glob;
//! [`resolve`] fills it with the networks of the node's interfaces the glob
//! names (BIRD's `ifname ~ "…"` on the interface the route's next hop is
//! reached by), again whenever the node's interfaces change.

use std::collections::HashMap;

use bgp_rib::{
    FilterRule, InterfaceCondition, PeerFilter, PrefixCondition, PrefixMatch, RouteSource, Verdict,
};
use peer_store::{BgpFilterResource, BgpFilterRule, FilterAction, MatchOperator};

/// A peer's filters, compiled, and the names that matched no BGPFilter.
#[derive(Debug, Default)]
pub(crate) struct Compiled {
    pub(crate) filter: PeerFilter,
    pub(crate) missing: Vec<String>,
}

/// Compiles the filters named `names` from the cluster's `filters` (by
/// name); an error says why a peer using them must not run.
pub(crate) fn compile(
    names: &[String],
    filters: &HashMap<&str, &BgpFilterResource>,
) -> Result<Compiled, String> {
    let mut compiled = Compiled::default();
    for name in names {
        let Some(resource) = filters.get(name.as_str()) else {
            compiled.missing.push(name.clone());
            continue;
        };
        if let Some(reason) = resource.unsupported() {
            return Err(reason);
        }
        let filter = &mut compiled.filter;
        extend(&mut filter.export.ipv4, &resource.export_v4);
        extend(&mut filter.import.ipv4, &resource.import_v4);
        extend(&mut filter.export.ipv6, &resource.export_v6);
        extend(&mut filter.import.ipv6, &resource.import_v6);
    }
    Ok(compiled)
}

/// `filter` with its interface rules resolved against the node's
/// interfaces (`(name, network)`, as the kernel lists them).
pub(crate) fn resolve(mut filter: PeerFilter, interfaces: &[(String, ipnet::IpNet)]) -> PeerFilter {
    filter.resolve_interfaces(interfaces, super::bird_socket::format::glob_matches);
    filter
}

fn extend(rules: &mut Vec<FilterRule>, from: &[BgpFilterRule]) {
    rules.extend(from.iter().map(rule));
}

fn rule(rule: &BgpFilterRule) -> FilterRule {
    FilterRule {
        prefix: rule.cidr.map(|(cidr, operator)| PrefixCondition {
            cidr,
            lengths: rule.length_range(),
            operator: match operator {
                MatchOperator::Equal => PrefixMatch::Equal,
                MatchOperator::NotEqual => PrefixMatch::NotEqual,
                MatchOperator::In => PrefixMatch::In,
                MatchOperator::NotIn => PrefixMatch::NotIn,
            },
        }),
        source: if rule.remote_peers_only {
            RouteSource::RemotePeers
        } else {
            RouteSource::Any
        },
        interface: rule.interface.as_ref().map(|pattern| InterfaceCondition {
            pattern: pattern.clone(),
            networks: Vec::new(),
        }),
        verdict: match rule.action {
            FilterAction::Accept => Verdict::Accept,
            FilterAction::Reject => Verdict::Reject,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(yaml: &str) -> BgpFilterResource {
        match peer_store::parse_resources(yaml).unwrap().remove(0) {
            peer_store::Resource::BgpFilter(filter) => filter,
            other => panic!("not a filter: {other:?}"),
        }
    }

    fn net(text: &str) -> ipnet::IpNet {
        text.parse().unwrap()
    }

    #[test]
    fn the_filters_of_a_peer_run_in_its_order_and_missing_names_are_reported() {
        let first = filter(
            "apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: first}\nspec:\n  importV4:\n  - {action: Accept, matchOperator: Equal, cidr: 10.1.0.0/16}\n",
        );
        let second = filter(
            "apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: second}\nspec:\n  importV4:\n  - {action: Reject, matchOperator: In, cidr: 10.0.0.0/8, prefixLength: {min: 16}}\n  exportV6:\n  - {action: Reject}\n",
        );
        let filters = HashMap::from([("first", &first), ("second", &second)]);
        let names = ["first", "gone", "second"].map(str::to_owned);
        let compiled = compile(&names, &filters).unwrap();
        assert_eq!(compiled.missing, ["gone"]);
        let peer = compiled.filter;
        assert!(
            peer.imports(net("10.1.0.0/16"), None),
            "the first filter accepts it"
        );
        assert!(
            !peer.imports(net("10.2.0.0/16"), None),
            "the second rejects it"
        );
        assert!(
            peer.imports(net("10.0.0.0/8"), None),
            "shorter than min: no rule"
        );
        assert_eq!(
            peer.export_verdict(net("2001:db8::/32"), true, None),
            Some(Verdict::Reject)
        );
        assert_eq!(peer.export_verdict(net("192.0.2.0/24"), true, None), None);
    }

    #[test]
    fn an_interface_rule_matches_routes_leaving_by_the_interfaces_its_glob_names() {
        let on_interface = filter(
            "apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: uplinks}\nspec:\n  importV4:\n  - {action: Reject, interface: 'eth*'}\n",
        );
        let filters = HashMap::from([("uplinks", &on_interface)]);
        let compiled = compile(&["uplinks".to_owned()], &filters).unwrap();
        let interfaces = [
            ("eth0".to_owned(), net("198.51.100.1/24")),
            ("eth1".to_owned(), net("203.0.113.1/28")),
            ("cali12".to_owned(), net("192.0.2.1/32")),
        ];
        let peer = resolve(compiled.filter.clone(), &interfaces);
        let via = |address: &str| Some(address.parse().unwrap());
        assert!(!peer.imports(net("10.0.0.0/24"), via("198.51.100.9")));
        assert!(!peer.imports(net("10.0.0.0/24"), via("203.0.113.9")));
        assert!(peer.imports(net("10.0.0.0/24"), via("192.0.2.1")));
        assert!(
            peer.imports(net("10.0.0.0/24"), via("192.0.2.77")),
            "on no interface"
        );
        // The interfaces changed: the filter is a different one.
        assert_ne!(resolve(compiled.filter, &interfaces[1..]), peer);
    }

    #[test]
    fn a_filter_with_a_newer_calicos_rule_field_keeps_the_peer_from_running() {
        let newer = filter(
            "apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: newer}\nspec:\n  exportV4:\n  - {action: Reject, peerType: eBGP}\n",
        );
        let filters = HashMap::from([("newer", &newer)]);
        let error = compile(&["newer".to_owned()], &filters).unwrap_err();
        assert!(error.contains("exportV4[0].peerType"), "{error}");
    }
}
