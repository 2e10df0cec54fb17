//! Removing a peer's paths in steps (`retire_peer`, `peer_down_in_steps`,
//! `continue_removals`) ends where removing them at once does.

mod common;

use bgp_rib::{PeerId, Rib};
use common::*;
use ipnet::IpNet;

/// Peers 1 and 2 (eBGP) both announce 10.0.0.0/16's 256 /24s; peer 1's
/// paths are better (shorter AS_PATH). Peer 3 is an iBGP peer that gets
/// the best paths.
fn two_peers_one_table() -> Rib {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("198.51.100.1", 65001, "1.1.1.1"));
    up(&mut rib, 2, ebgp("198.51.100.2", 65002, "2.2.2.2"));
    up(&mut rib, 3, ibgp("192.0.2.3", "3.3.3.3"));
    let prefixes: Vec<String> = (0..256).map(|index| format!("10.0.{index}.0/24")).collect();
    let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    receive(
        &mut rib,
        1,
        route(&prefixes, "198.51.100.1").path(&[65001]).build(),
    );
    receive(
        &mut rib,
        2,
        route(&prefixes, "198.51.100.2")
            .path(&[65002, 64999])
            .build(),
    );
    rib.poll_updates(PeerId(3));
    rib
}

fn best_peers(rib: &Rib) -> Vec<(IpNet, Option<PeerId>)> {
    let mut best: Vec<(IpNet, Option<PeerId>)> = rib
        .loc_rib()
        .filter(|view| view.best)
        .map(|view| (view.prefix, view.peer))
        .collect();
    best.sort();
    best
}

#[test]
fn a_retired_peer_goes_in_steps_and_ends_as_a_removed_one() {
    let mut stepped = two_peers_one_table();
    let mut at_once = two_peers_one_table();
    at_once.remove_peer(PeerId(1));
    stepped.retire_peer(PeerId(1));
    // Its paths are still there, and still best, until removed.
    assert_eq!(best_peer(&stepped, "10.0.7.0/24"), Some(PeerId(1)));
    assert!(stepped.has_removals());
    let mut steps = 0;
    while stepped.continue_removals(50) {
        steps += 1;
        assert!(steps < 100, "no end to the removal");
    }
    assert!(steps >= 256 / 50, "{steps} steps");
    assert_eq!(best_peers(&stepped), best_peers(&at_once));
    assert_eq!(best_peer(&stepped, "10.0.7.0/24"), Some(PeerId(2)));
    // What peer 3 hears is the same too: the new best paths.
    assert_eq!(
        announced(&stepped.poll_updates(PeerId(3))),
        announced(&at_once.poll_updates(PeerId(3)))
    );
    // The retired peer is forgotten: its statistics are gone.
    assert!(stepped
        .peer_statistics()
        .iter()
        .all(|statistics| statistics.peer != PeerId(1)));
}

#[test]
fn a_peer_back_before_its_old_paths_are_gone_keeps_only_its_new_ones() {
    let mut rib = two_peers_one_table();
    rib.peer_down_in_steps(PeerId(1), false);
    assert!(rib.continue_removals(10), "more than ten paths to go");
    up(&mut rib, 1, ebgp("198.51.100.1", 65001, "1.1.1.1"));
    assert!(
        !rib.has_removals(),
        "the old session's paths all went first"
    );
    assert_eq!(best_peer(&rib, "10.0.7.0/24"), Some(PeerId(2)));
    receive(
        &mut rib,
        1,
        route(&["10.0.7.0/24"], "198.51.100.1")
            .path(&[65001])
            .build(),
    );
    assert_eq!(best_peer(&rib, "10.0.7.0/24"), Some(PeerId(1)));
    assert_eq!(best_peer(&rib, "10.0.8.0/24"), Some(PeerId(2)));
    let statistics = rib.peer_statistics();
    let peer_1 = statistics
        .iter()
        .find(|statistics| statistics.peer == PeerId(1))
        .unwrap();
    assert_eq!(peer_1.accepted, 1);
}
