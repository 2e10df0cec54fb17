//! The export policy (`Rib::set_export_policy`): what it refuses never
//! leaves, and a change of policy withdraws and announces exactly the
//! difference.

mod common;

use bgp_rib::{ExportPolicy, ExportRule, Extent, Origin, PeerId, Rib, Verdict};
use common::*;

/// calico-node's shape: this node's block, nothing under it, the pool,
/// nothing else.
fn pool_policy() -> ExportPolicy {
    let rule = |prefix: &str, extent, verdict| ExportRule {
        prefix: net(prefix),
        extent,
        origin: Origin::Any,
        verdict,
    };
    ExportPolicy {
        rules: vec![
            rule("10.65.1.0/26", Extent::Exactly, Verdict::Accept),
            rule("10.65.1.0/26", Extent::OrLonger, Verdict::Reject),
            rule("10.65.0.0/16", Extent::OrLonger, Verdict::Accept),
        ],
        otherwise: Verdict::Reject,
    }
}

/// An eBGP peer 1 announcing a default route and another node's block; an
/// iBGP peer 2 that hears what we send; our own block and a /32 under it.
fn rib() -> Rib {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("198.51.100.1", 65001, "1.1.1.1"));
    up(&mut rib, 2, ibgp("192.0.2.2", "2.2.2.2"));
    receive(
        &mut rib,
        1,
        route(&["0.0.0.0/0", "10.65.2.0/26"], "198.51.100.1")
            .path(&[65001])
            .build(),
    );
    originate(&mut rib, &["10.65.1.0/26", "10.65.1.9/32"]);
    rib
}

fn sorted(mut prefixes: Vec<ipnet::IpNet>) -> Vec<String> {
    prefixes.sort();
    prefixes.iter().map(ToString::to_string).collect()
}

#[test]
fn a_policy_set_before_the_first_poll_keeps_refused_routes_off_the_wire() {
    let mut rib = rib();
    rib.set_export_policy(pool_policy());
    let updates = rib.poll_updates(PeerId(2));
    assert_eq!(
        sorted(announced(&updates)),
        ["10.65.1.0/26", "10.65.2.0/26"]
    );
    assert!(withdrawn(&updates).is_empty());
}

#[test]
fn changing_the_policy_withdraws_and_announces_only_the_difference() {
    let mut rib = rib();
    let everything = rib.poll_updates(PeerId(2));
    assert_eq!(
        sorted(announced(&everything)),
        ["0.0.0.0/0", "10.65.1.0/26", "10.65.1.9/32", "10.65.2.0/26"]
    );
    rib.set_export_policy(pool_policy());
    let updates = rib.poll_updates(PeerId(2));
    assert_eq!(sorted(withdrawn(&updates)), ["0.0.0.0/0", "10.65.1.9/32"]);
    assert!(announced(&updates).is_empty(), "nothing else changed");
    // The same policy again is no change at all.
    rib.set_export_policy(pool_policy());
    assert!(!rib.has_output(PeerId(2)));
    // Back to no policy: the two come back, and only they.
    rib.set_export_policy(ExportPolicy::default());
    let updates = rib.poll_updates(PeerId(2));
    assert_eq!(sorted(announced(&updates)), ["0.0.0.0/0", "10.65.1.9/32"]);
    assert!(withdrawn(&updates).is_empty());
}

#[test]
fn a_route_the_policy_refuses_is_still_selected_and_installed() {
    let mut rib = rib();
    rib.set_export_policy(pool_policy());
    assert_eq!(best_peer(&rib, "0.0.0.0/0"), Some(PeerId(1)));
    let fib = rib.poll_fib();
    assert!(fib.iter().any(|change| change.prefix == net("0.0.0.0/0")));
}
