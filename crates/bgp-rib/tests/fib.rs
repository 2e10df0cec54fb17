//! FIB changes and attribute interning.

mod common;

use bgp_rib::{FibChange, PeerId, Rib, RibConfig};
use common::*;

fn change(prefix: &str, next_hops: &[&str]) -> FibChange {
    FibChange {
        prefix: net(prefix),
        next_hops: next_hops.iter().map(|text| ip(text)).collect(),
    }
}

#[test]
fn fib_changes_add_replace_and_remove() {
    let mut rib = rib_with_ebgp_peer();
    up(&mut rib, 2, ebgp("192.0.2.2", 65002, "2.2.2.2"));
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2")
            .path(&[65002, 9])
            .build(),
    );
    assert_eq!(rib.poll_fib(), vec![change("10.1.0.0/16", &["192.0.2.2"])]);
    assert!(rib.poll_fib().is_empty());
    // A better path from peer 1 replaces it.
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    assert_eq!(rib.poll_fib(), vec![change("10.1.0.0/16", &["192.0.2.1"])]);
    // A change that leaves the next hop alone is no FIB change.
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[65001])
            .med(3)
            .build(),
    );
    assert!(rib.poll_fib().is_empty());
    receive(&mut rib, 1, withdraw(&["10.1.0.0/16"]));
    receive(&mut rib, 2, withdraw(&["10.1.0.0/16"]));
    assert_eq!(rib.poll_fib(), vec![change("10.1.0.0/16", &[])]);
}

#[test]
fn changes_that_cancel_out_between_polls_are_not_reported() {
    let mut rib = rib_with_ebgp_peer();
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    receive(&mut rib, 1, withdraw(&["10.1.0.0/16"]));
    assert!(rib.poll_fib().is_empty());
}

#[test]
fn fib_changes_waiting_counts_prefixes_not_changes() {
    let mut rib = rib_with_ebgp_peer();
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16", "10.2.0.0/16"]));
    // Announced and withdrawn again before any poll: waiting, but no change.
    receive(&mut rib, 1, from_ebgp_peer(&["10.99.0.0/16"]));
    receive(&mut rib, 1, withdraw(&["10.99.0.0/16"]));
    receive(&mut rib, 1, withdraw(&["10.2.0.0/16"]));
    assert_eq!(rib.fib_changes_waiting(), 3);
    assert_eq!(rib.poll_fib(), vec![change("10.1.0.0/16", &["192.0.2.1"])]);
    assert_eq!(rib.fib_changes_waiting(), 0);
}

#[test]
fn multipath_next_hops_go_to_the_fib_together() {
    let mut rib = Rib::new(RibConfig {
        max_paths: 4,
        ..config()
    });
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    up(&mut rib, 2, ebgp("192.0.2.2", 65001, "2.2.2.2"));
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2").path(&[65001]).build(),
    );
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    assert_eq!(
        rib.poll_fib(),
        vec![change("10.1.0.0/16", &["192.0.2.1", "192.0.2.2"])]
    );
    rib.peer_down(PeerId(2), false);
    assert_eq!(rib.poll_fib(), vec![change("10.1.0.0/16", &["192.0.2.1"])]);
}

#[test]
fn originating_a_learned_prefix_takes_it_out_of_the_fib() {
    let mut rib = rib_with_ebgp_peer();
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    rib.poll_fib();
    originate(&mut rib, &["10.1.0.0/16"]);
    assert_eq!(rib.poll_fib(), vec![change("10.1.0.0/16", &[])]);
    originate(&mut rib, &["10.2.0.0/16"]);
    rib.withdraw_origin(net("10.2.0.0/16"));
    assert!(rib.poll_fib().is_empty());
}

#[test]
fn identical_sets_from_two_peers_share_one_allocation_until_withdrawn() {
    let mut rib = Rib::new(config());
    // Two routers of one neighbour AS send the very same route.
    up(&mut rib, 1, ebgp("192.0.2.1", 65009, "1.1.1.1"));
    up(&mut rib, 2, ebgp("192.0.2.2", 65009, "2.2.2.2"));
    let update = route(&["10.1.0.0/16", "10.2.0.0/16"], "192.0.2.9")
        .path(&[65009])
        .build();
    receive(&mut rib, 1, update.clone());
    receive(&mut rib, 2, update);
    let statistics = rib.statistics();
    assert_eq!(
        (
            statistics.prefixes,
            statistics.paths,
            statistics.attribute_sets
        ),
        (2, 4, 1)
    );
    let sets: Vec<*const bgp_rib::Attributes> = rib
        .loc_rib()
        .map(|view| view.attributes as *const _)
        .collect();
    assert!(sets.windows(2).all(|pair| pair[0] == pair[1]));
    receive(&mut rib, 1, withdraw(&["10.1.0.0/16", "10.2.0.0/16"]));
    assert_eq!(rib.statistics().attribute_sets, 1);
    receive(&mut rib, 2, withdraw(&["10.1.0.0/16", "10.2.0.0/16"]));
    assert_eq!(rib.statistics().attribute_sets, 0);
}

#[test]
fn outgoing_sets_are_interned_and_counted() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("198.51.100.1", 65001, "1.1.1.1"));
    up(&mut rib, 2, ibgp("192.0.2.2", "2.2.2.2"));
    up(&mut rib, 3, ibgp("192.0.2.3", "3.3.3.3"));
    let prefixes: Vec<String> = (0..100).map(|index| format!("10.{index}.0.0/16")).collect();
    let texts: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    receive(
        &mut rib,
        1,
        route(&texts, "198.51.100.1").path(&[65001]).build(),
    );
    rib.poll_updates(PeerId(2));
    rib.poll_updates(PeerId(3));
    // One received set, one sent set (LOCAL_PREF added) shared by both iBGP peers.
    assert_eq!(rib.statistics().attribute_sets, 2);
    let sent: Vec<*const bgp_rib::Attributes> = rib
        .advertised(PeerId(2))
        .chain(rib.advertised(PeerId(3)))
        .map(|(_, attributes)| attributes as *const _)
        .collect();
    assert_eq!(sent.len(), 200);
    assert!(sent.windows(2).all(|pair| pair[0] == pair[1]));
    let statistics = rib.statistics();
    assert_eq!(statistics.peers[0].received, 100);
    assert_eq!(statistics.peers[0].accepted, 100);
    assert_eq!(statistics.peers[1].advertised, 100);
}

#[test]
fn received_lists_one_peers_paths() {
    let mut rib = rib_with_ebgp_peer();
    up(&mut rib, 2, ebgp("192.0.2.2", 65002, "2.2.2.2"));
    originate(&mut rib, &["10.9.0.0/16"]);
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16", "10.2.0.0/16"], "192.0.2.2")
            .path(&[65002])
            .build(),
    );
    assert_eq!(rib.received(PeerId(2)).count(), 2);
    assert_eq!(rib.received(PeerId(1)).count(), 1);
    assert_eq!(rib.received(PeerId(9)).count(), 0);
    assert_eq!(rib.loc_rib().count(), 4);
    assert_eq!(rib.loc_rib().filter(|view| view.best).count(), 3);
    assert_eq!(rib.loc_rib().filter(|view| view.peer.is_none()).count(), 1);
}

#[test]
fn the_rib_can_move_between_threads() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Rib>();
    send_and_sync::<bgp_rib::Attributes>();
}

#[test]
fn without_a_forwarding_table_no_changes_are_kept() {
    let mut rib = Rib::new(RibConfig {
        forwarding: false,
        ..config()
    });
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    assert!(rib.poll_fib().is_empty());
    // The route is selected all the same.
    assert!(rib.loc_rib().any(|view| view.best));
}
