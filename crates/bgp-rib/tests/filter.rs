//! Per-peer filters (Calico's BGPFilter): what they keep out on import and
//! hold back on export, how they combine with the shared export policy, and
//! how a change applies to a running session.

mod common;

use bgp_rib::{
    ExportPolicy, FamilyRules, FilterRule, PeerFilter, PeerId, PrefixCondition, PrefixMatch,
    RouteSource, Verdict,
};
use common::*;

fn rule(cidr: &str, operator: PrefixMatch, verdict: Verdict) -> FilterRule {
    FilterRule {
        prefix: Some(PrefixCondition {
            cidr: net(cidr),
            lengths: None,
            operator,
        }),
        source: RouteSource::Any,
        interface: None,
        verdict,
    }
}

fn import_only(rules: Vec<FilterRule>) -> PeerFilter {
    PeerFilter {
        import: FamilyRules {
            ipv4: rules,
            ipv6: Vec::new(),
        },
        ..PeerFilter::default()
    }
}

fn export_only(rules: Vec<FilterRule>) -> PeerFilter {
    PeerFilter {
        export: FamilyRules {
            ipv4: rules,
            ipv6: Vec::new(),
        },
        ..PeerFilter::default()
    }
}

#[test]
fn an_import_filter_keeps_rejected_routes_out_of_the_rib() {
    let mut rib = rib_with_ebgp_peer();
    let change = rib.set_peer_filter(
        PeerId(1),
        import_only(vec![rule("10.0.0.0/8", PrefixMatch::In, Verdict::Reject)]),
    );
    assert!(change.import && !change.export);
    receive(
        &mut rib,
        1,
        from_ebgp_peer(&["10.1.0.0/16", "192.0.2.0/24"]),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), None);
    assert_eq!(best_peer(&rib, "192.0.2.0/24"), Some(PeerId(1)));
}

#[test]
fn a_stricter_import_filter_removes_held_routes_at_once() {
    let mut rib = rib_with_ebgp_peer();
    receive(
        &mut rib,
        1,
        from_ebgp_peer(&["10.1.0.0/16", "192.0.2.0/24"]),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(1)));
    let change = rib.set_peer_filter(
        PeerId(1),
        import_only(vec![rule(
            "10.1.0.0/16",
            PrefixMatch::Equal,
            Verdict::Reject,
        )]),
    );
    assert!(
        change.import,
        "the caller asks the peer for its routes again"
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), None);
    assert_eq!(best_peer(&rib, "192.0.2.0/24"), Some(PeerId(1)));
    // Loosened again, the routes the peer sends anew (route refresh) are in.
    assert!(rib.set_peer_filter(PeerId(1), PeerFilter::default()).import);
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(1)));
    assert_eq!(
        rib.set_peer_filter(PeerId(1), PeerFilter::default()),
        bgp_rib::FilterChange::default(),
        "the same filter again changes nothing"
    );
}

#[test]
fn an_export_filter_decides_before_the_shared_policy() {
    let mut rib = rib_with_ebgp_peer();
    up(&mut rib, 2, ebgp("198.51.100.2", 65002, "2.2.2.2"));
    // The shared policy sends only the node's pool (calico-node's export
    // filter); peer 2's filter also sends 203.0.113.0/24 and holds back
    // 10.0.1.0/24.
    rib.set_export_policy(ExportPolicy {
        rules: vec![bgp_rib::ExportRule {
            prefix: net("10.0.0.0/16"),
            extent: bgp_rib::Extent::OrLonger,
            origin: bgp_rib::Origin::Any,
            verdict: Verdict::Accept,
        }],
        otherwise: Verdict::Reject,
    });
    rib.set_peer_filter(
        PeerId(2),
        export_only(vec![
            rule("203.0.113.0/24", PrefixMatch::Equal, Verdict::Accept),
            rule("10.0.1.0/24", PrefixMatch::Equal, Verdict::Reject),
        ]),
    );
    rib.poll_updates(PeerId(1));
    rib.poll_updates(PeerId(2));
    originate(&mut rib, &["10.0.1.0/24", "10.0.2.0/24", "203.0.113.0/24"]);
    assert_eq!(
        announced(&rib.poll_updates(PeerId(1))),
        vec![net("10.0.1.0/24"), net("10.0.2.0/24")]
    );
    assert_eq!(
        announced(&rib.poll_updates(PeerId(2))),
        vec![net("10.0.2.0/24"), net("203.0.113.0/24")]
    );
}

#[test]
fn an_export_filter_change_applies_to_the_running_session() {
    let mut rib = rib_with_ebgp_peer();
    originate(&mut rib, &["10.0.1.0/24", "10.0.2.0/24"]);
    assert_eq!(
        announced(&rib.poll_updates(PeerId(1))),
        vec![net("10.0.1.0/24"), net("10.0.2.0/24")]
    );
    let change = rib.set_peer_filter(
        PeerId(1),
        export_only(vec![rule(
            "10.0.2.0/24",
            PrefixMatch::NotEqual,
            Verdict::Reject,
        )]),
    );
    assert!(change.export && !change.import);
    let updates = rib.poll_updates(PeerId(1));
    assert_eq!(withdrawn(&updates), vec![net("10.0.1.0/24")]);
    assert!(
        announced(&updates).is_empty(),
        "10.0.2.0/24 was sent already"
    );
    rib.set_peer_filter(PeerId(1), PeerFilter::default());
    assert_eq!(
        announced(&rib.poll_updates(PeerId(1))),
        vec![net("10.0.1.0/24")]
    );
}

#[test]
fn remote_peers_rules_leave_the_nodes_own_routes_alone() {
    let mut rib = rib_with_ebgp_peer();
    up(&mut rib, 2, ebgp("198.51.100.2", 65002, "2.2.2.2"));
    rib.set_peer_filter(
        PeerId(2),
        export_only(vec![FilterRule {
            source: RouteSource::RemotePeers,
            ..rule("0.0.0.0/0", PrefixMatch::In, Verdict::Reject)
        }]),
    );
    rib.poll_updates(PeerId(2));
    originate(&mut rib, &["10.0.1.0/24"]);
    receive(&mut rib, 1, from_ebgp_peer(&["192.0.2.0/24"]));
    assert_eq!(
        announced(&rib.poll_updates(PeerId(2))),
        vec![net("10.0.1.0/24")]
    );
}
