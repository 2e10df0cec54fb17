//! Peers over time: a peer removed for good ([`Rib::remove_peer`]) leaves
//! nothing behind, and its slot is reused, so that a long-running daemon that
//! numbers peers anew never runs out of slots.

mod common;

use bgp_rib::{FibChange, PeerId, Rib};
use bgp_wire::Family;
use common::*;

/// The daemon numbers every peer task anew (`Manager::next_number`), and
/// peers churn in a cluster (node-to-node mesh, BGPPeer edits, AS change).
/// Each `PeerId` that ever came up would keep its state (walked by every
/// change) and the 65536th would panic in `peer_up`, were peers never
/// removed: the daemon's `remove_peer` calls [`Rib::remove_peer`].
#[test]
fn peers_that_are_gone_for_good_do_not_use_up_slots() {
    let mut rib = Rib::new(config());
    up(&mut rib, 0, ibgp("10.0.0.2", "10.0.0.2"));
    for number in 1..=70_000u32 {
        rib.peer_up(PeerId(number), ebgp("192.0.2.1", 65001, "1.1.1.1"));
        if number % 1_000 == 0 {
            receive(&mut rib, number, from_ebgp_peer(&["10.1.0.0/16"]));
        }
        if number % 2 == 0 {
            // Down first, as a session that ends and is then deconfigured.
            rib.peer_down(PeerId(number), number % 4 == 0);
        }
        rib.remove_peer(PeerId(number));
    }
    let statistics = rib.statistics();
    assert_eq!(statistics.paths, 0);
    assert_eq!(statistics.peers.len(), 1);
    assert_eq!(statistics.peers[0].peer, PeerId(0));
    assert_eq!(rib.advertised(PeerId(0)).count(), 0);
}

/// Removing a peer is `peer_down` without stale paths: its routes are
/// withdrawn from the other peers and the FIB. Then it is unknown, and a new
/// peer (or the same id, as a new peer) takes its place.
#[test]
fn a_removed_peer_withdraws_its_routes_and_its_slot_is_reused() {
    let mut rib = rib_with_ebgp_peer();
    up(&mut rib, 2, ibgp("192.0.2.2", "2.2.2.2"));
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16", "10.2.0.0/16"]));
    assert_eq!(
        announced(&rib.poll_updates(PeerId(2))),
        vec![net("10.1.0.0/16"), net("10.2.0.0/16")]
    );
    rib.poll_fib();

    rib.remove_peer(PeerId(1));
    assert_eq!(
        withdrawn(&rib.poll_updates(PeerId(2))),
        vec![net("10.1.0.0/16"), net("10.2.0.0/16")]
    );
    let mut fib = rib.poll_fib();
    fib.sort_by_key(|change| change.prefix);
    assert_eq!(
        fib,
        vec![
            FibChange {
                prefix: net("10.1.0.0/16"),
                next_hops: bgp_rib::NextHops::new()
            },
            FibChange {
                prefix: net("10.2.0.0/16"),
                next_hops: bgp_rib::NextHops::new()
            },
        ]
    );
    assert_eq!(rib.statistics().paths, 0);
    let known: Vec<PeerId> = rib.peer_statistics().iter().map(|peer| peer.peer).collect();
    assert_eq!(known, vec![PeerId(2)]);
    // Unknown now: nothing from it is taken, nothing is sent to it.
    receive(&mut rib, 1, from_ebgp_peer(&["10.3.0.0/16"]));
    assert_eq!(rib.statistics().paths, 0);
    assert!(rib.poll_updates(PeerId(1)).is_empty());
    assert_eq!(rib.accepted(PeerId(1), Family::IPV4_UNICAST), 0);
    rib.remove_peer(PeerId(1));
    rib.remove_peer(PeerId(9));

    // A new peer takes the free slot; its paths are its own.
    up(&mut rib, 3, ebgp("192.0.2.3", 65003, "3.3.3.3"));
    receive(
        &mut rib,
        3,
        route(&["10.1.0.0/16"], "192.0.2.3").path(&[65003]).build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(3)));
    assert_eq!(
        announced(&rib.poll_updates(PeerId(2))),
        vec![net("10.1.0.0/16")]
    );
    assert_eq!(rib.peer_statistics().len(), 2);
    // The old id comes back as a new peer (now iBGP), with a full initial
    // table.
    rib.peer_up(PeerId(1), ibgp("192.0.2.1", "1.1.1.1"));
    assert_eq!(
        announced(&rib.poll_updates(PeerId(1))),
        vec![net("10.1.0.0/16")]
    );
    assert_eq!(rib.peer_statistics().len(), 3);
}

/// A peer that went down keeping stale paths (graceful restart) and is then
/// removed takes its stale paths with it; so does one removed while up.
#[test]
fn removing_a_peer_removes_its_stale_paths_too() {
    let mut rib = rib_with_ebgp_peer();
    up(&mut rib, 2, ebgp("192.0.2.2", 65002, "2.2.2.2"));
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    receive(
        &mut rib,
        1,
        route(&["2001:db8:1::/48"], "2001:db8:7::1")
            .path(&[65001])
            .build(),
    );
    receive(
        &mut rib,
        2,
        route(&["10.2.0.0/16"], "192.0.2.2").path(&[65002]).build(),
    );
    rib.peer_down(PeerId(1), true);
    rib.poll_fib();
    rib.remove_peer(PeerId(1));
    assert_eq!(rib.statistics().paths, 1);
    assert_eq!(rib.poll_fib().len(), 2);
    rib.remove_peer(PeerId(2));
    assert_eq!(rib.statistics().paths, 0);
    assert!(rib.peer_statistics().is_empty());
    assert!(rib.peers_with_output().is_empty());
    // Slots free again from the start: a new peer works as in a new RIB.
    up(&mut rib, 5, ebgp("192.0.2.5", 65005, "5.5.5.5"));
    receive(
        &mut rib,
        5,
        route(&["10.5.0.0/16"], "192.0.2.5").path(&[65005]).build(),
    );
    assert_eq!(best_peer(&rib, "10.5.0.0/16"), Some(PeerId(5)));
}

/// With a removed peer in the middle of the list, the others keep their
/// paths, and the next peer takes the hole.
#[test]
fn removing_a_peer_between_others_leaves_them_alone() {
    let mut rib = Rib::new(config());
    for (peer, address, asn) in [
        (1, "192.0.2.1", 65001),
        (2, "192.0.2.2", 65002),
        (3, "192.0.2.3", 65003),
    ] {
        up(&mut rib, peer, ebgp(address, asn, "1.1.1.1"));
        receive(
            &mut rib,
            peer,
            route(&["10.1.0.0/16"], address).path(&[asn]).build(),
        );
    }
    rib.remove_peer(PeerId(2));
    let mut peers: Vec<Option<PeerId>> = rib
        .lookup(net("10.1.0.0/16"))
        .map(|view| view.peer)
        .collect();
    peers.sort();
    assert_eq!(peers, vec![Some(PeerId(1)), Some(PeerId(3))]);
    up(&mut rib, 4, ebgp("192.0.2.4", 65004, "0.0.0.4"));
    receive(
        &mut rib,
        4,
        route(&["10.1.0.0/16"], "192.0.2.4").path(&[65004]).build(),
    );
    // Lowest router id wins among the equal paths.
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(4)));
    let known: Vec<PeerId> = rib.peer_statistics().iter().map(|peer| peer.peer).collect();
    assert_eq!(known, vec![PeerId(1), PeerId(4), PeerId(3)]);
}
