//! The decision process (RFC 4271 §9.1.2.2) one step at a time, MED, ECMP,
//! and independence from arrival order.

mod common;

use bgp_rib::{PeerId, Rib, RibConfig};
use bgp_wire::Origin;
use common::*;
use proptest::prelude::*;

/// Two iBGP peers (1 at 192.0.2.1 / router id 1.1.1.1, 2 at 192.0.2.2 / 2.2.2.2).
fn two_internal() -> Rib {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ibgp("192.0.2.1", "1.1.1.1"));
    up(&mut rib, 2, ibgp("192.0.2.2", "2.2.2.2"));
    rib
}

#[test]
fn highest_local_pref_wins_over_a_shorter_path() {
    let mut rib = two_internal();
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[1])
            .local_pref(100)
            .build(),
    );
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2")
            .path(&[1, 2, 3])
            .local_pref(200)
            .build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(2)));
}

#[test]
fn missing_local_pref_counts_as_100() {
    let mut rib = two_internal();
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[1])
            .local_pref(99)
            .build(),
    );
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2").path(&[1, 2]).build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(2)));
}

#[test]
fn shortest_as_path_wins_and_a_set_counts_one() {
    let mut rib = two_internal();
    // Peer 2 has the higher router id, so only the path length can make it win.
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[1, 2, 3])
            .build(),
    );
    let set_path = bgp_wire::AsPath::from_segments([
        (bgp_wire::SegmentKind::Sequence, &[bgp_rib::Asn(7)][..]),
        (
            bgp_wire::SegmentKind::Set,
            &[bgp_rib::Asn(8), bgp_rib::Asn(9), bgp_rib::Asn(10)][..],
        ),
    ]);
    let mut update = route(&["10.1.0.0/16"], "192.0.2.2").build();
    update.attributes[1] = bgp_wire::PathAttribute::new(bgp_wire::AttributeValue::AsPath(set_path));
    receive(&mut rib, 2, update);
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(2)));
}

#[test]
fn lowest_origin_wins() {
    let mut rib = two_internal();
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[1])
            .origin(Origin::Incomplete)
            .build(),
    );
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2")
            .path(&[1])
            .origin(Origin::Egp)
            .build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(2)));
}

#[test]
fn lower_med_wins_among_paths_from_the_same_neighbor_as() {
    let mut rib = two_internal();
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[65001])
            .med(20)
            .build(),
    );
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2")
            .path(&[65001])
            .med(10)
            .build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(2)));
}

#[test]
fn missing_med_counts_as_zero() {
    let mut rib = two_internal();
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[65001])
            .med(1)
            .build(),
    );
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2").path(&[65001]).build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(2)));
}

#[test]
fn med_is_not_compared_across_neighbor_ases() {
    let mut rib = two_internal();
    // Peer 1 has the higher MED but the lower router id: with different
    // neighbour ASes MED does not decide, the router id does.
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[65001])
            .med(50)
            .build(),
    );
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2")
            .path(&[65002])
            .med(10)
            .build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(1)));
}

/// The classic case where a pairwise comparison depends on arrival order:
/// A (AS 100, MED 10, router id 3), B (AS 200, MED 20, router id 2),
/// C (AS 100, MED 30, router id 1). C loses to A on MED, so B wins on router
/// id; comparing pairwise in some orders would pick C.
#[test]
fn med_elimination_does_not_depend_on_arrival_order() {
    let paths = [
        (1u32, "192.0.2.1", "3.3.3.3", 100u32, 10u32),
        (2, "192.0.2.2", "2.2.2.2", 200, 20),
        (3, "192.0.2.3", "1.1.1.1", 100, 30),
    ];
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for order in orders {
        let mut rib = Rib::new(config());
        for (peer, address, router_id, _, _) in paths {
            up(&mut rib, peer, ibgp(address, router_id));
        }
        for index in order {
            let (peer, address, _, asn, med) = paths[index];
            receive(
                &mut rib,
                peer,
                route(&["10.1.0.0/16"], address)
                    .path(&[asn])
                    .med(med)
                    .build(),
            );
        }
        assert_eq!(
            best_peer(&rib, "10.1.0.0/16"),
            Some(PeerId(2)),
            "order {order:?}"
        );
    }
}

#[test]
fn ebgp_wins_over_ibgp() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ibgp("192.0.2.1", "1.1.1.1"));
    up(&mut rib, 2, ebgp("192.0.2.2", 65002, "2.2.2.2"));
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1").path(&[65009]).build(),
    );
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2").path(&[65002]).build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(2)));
}

#[test]
fn lowest_router_id_wins_and_originator_id_stands_in_for_it() {
    let mut rib = two_internal();
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1").path(&[1]).build(),
    );
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2").path(&[1]).build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(1)));
    // Peer 1 reflects a route originated by 9.9.9.9: now peer 2's 2.2.2.2 is lower.
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[1])
            .originator("9.9.9.9")
            .build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(2)));
}

#[test]
fn shortest_cluster_list_wins() {
    let mut rib = two_internal();
    // Same originator, so the router id step ties.
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[1])
            .originator("5.5.5.5")
            .cluster_list(&["7.7.7.7", "8.8.8.8"])
            .build(),
    );
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2")
            .path(&[1])
            .originator("5.5.5.5")
            .cluster_list(&["7.7.7.7"])
            .build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(2)));
}

#[test]
fn lowest_peer_address_wins_last() {
    let mut rib = Rib::new(config());
    // Peer 1 has the higher address, and every earlier step ties.
    up(&mut rib, 1, ibgp("192.0.2.9", "1.1.1.1"));
    up(&mut rib, 2, ibgp("192.0.2.2", "2.2.2.2"));
    for (peer, address) in [(1, "192.0.2.9"), (2, "192.0.2.2")] {
        receive(
            &mut rib,
            peer,
            route(&["10.1.0.0/16"], address)
                .path(&[1])
                .originator("5.5.5.5")
                .build(),
        );
    }
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(2)));
}

#[test]
fn local_origination_beats_everything_learned() {
    let mut rib = two_internal();
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .local_pref(1000)
            .build(),
    );
    originate(&mut rib, &["10.1.0.0/16"]);
    let best = rib
        .lookup(net("10.1.0.0/16"))
        .find(|view| view.best)
        .unwrap();
    assert_eq!(best.peer, None);
    rib.withdraw_origin(net("10.1.0.0/16"));
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(1)));
}

/// Three eBGP peers in one AS with equal paths, and a fourth in another AS.
fn ecmp_rib(max_paths: usize) -> Rib {
    let mut rib = Rib::new(RibConfig {
        max_paths,
        ..config()
    });
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    up(&mut rib, 2, ebgp("192.0.2.2", 65001, "2.2.2.2"));
    up(&mut rib, 3, ebgp("192.0.2.3", 65001, "3.3.3.3"));
    up(&mut rib, 4, ebgp("192.0.2.4", 65004, "4.4.4.4"));
    rib
}

fn multipath_peers(rib: &Rib, prefix: &str) -> Vec<PeerId> {
    let mut peers: Vec<PeerId> = rib
        .lookup(net(prefix))
        .filter(|view| view.multipath)
        .filter_map(|view| view.peer)
        .collect();
    peers.sort();
    peers
}

#[test]
fn ecmp_takes_equal_paths_up_to_the_bound() {
    let mut rib = ecmp_rib(2);
    for (peer, address) in [(1, "192.0.2.1"), (2, "192.0.2.2"), (3, "192.0.2.3")] {
        receive(
            &mut rib,
            peer,
            route(&["10.1.0.0/16"], address).path(&[65001]).build(),
        );
    }
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(1)));
    assert_eq!(multipath_peers(&rib, "10.1.0.0/16"), vec![PeerId(2)]);
    let fib = rib.poll_fib();
    assert_eq!(fib.len(), 1);
    assert_eq!(
        fib[0].next_hops.as_slice(),
        [ip("192.0.2.1"), ip("192.0.2.2")]
    );

    let mut rib = ecmp_rib(8);
    for (peer, address) in [(1, "192.0.2.1"), (2, "192.0.2.2"), (3, "192.0.2.3")] {
        receive(
            &mut rib,
            peer,
            route(&["10.1.0.0/16"], address).path(&[65001]).build(),
        );
    }
    assert_eq!(
        multipath_peers(&rib, "10.1.0.0/16"),
        vec![PeerId(2), PeerId(3)]
    );
}

#[test]
fn no_multipath_with_max_paths_one() {
    let mut rib = ecmp_rib(1);
    for (peer, address) in [(1, "192.0.2.1"), (2, "192.0.2.2")] {
        receive(
            &mut rib,
            peer,
            route(&["10.1.0.0/16"], address).path(&[65001]).build(),
        );
    }
    assert!(multipath_peers(&rib, "10.1.0.0/16").is_empty());
}

#[test]
fn ecmp_needs_the_same_neighbor_as_med_and_a_distinct_next_hop() {
    let mut rib = ecmp_rib(8);
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    // Another neighbour AS: not a multipath partner (nor for iBGP, below).
    receive(
        &mut rib,
        4,
        route(&["10.1.0.0/16"], "192.0.2.4").path(&[65004]).build(),
    );
    // Same AS but a higher MED: eliminated.
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2")
            .path(&[65001])
            .med(5)
            .build(),
    );
    // Same AS, equal, but the same next hop as the best.
    receive(&mut rib, 3, from_ebgp_peer(&["10.1.0.0/16"]));
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(1)));
    assert!(multipath_peers(&rib, "10.1.0.0/16").is_empty());
    // Longer path: not equal either.
    receive(
        &mut rib,
        3,
        route(&["10.1.0.0/16"], "192.0.2.3")
            .path(&[65001, 7])
            .build(),
    );
    assert!(multipath_peers(&rib, "10.1.0.0/16").is_empty());
    receive(
        &mut rib,
        3,
        route(&["10.1.0.0/16"], "192.0.2.3").path(&[65001]).build(),
    );
    assert_eq!(multipath_peers(&rib, "10.1.0.0/16"), vec![PeerId(3)]);
}

#[test]
fn ecmp_does_not_mix_ebgp_and_ibgp() {
    let mut rib = Rib::new(RibConfig {
        max_paths: 4,
        ..config()
    });
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    up(&mut rib, 2, ibgp("192.0.2.2", "2.2.2.2"));
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2").path(&[65001]).build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(1)));
    assert!(multipath_peers(&rib, "10.1.0.0/16").is_empty());
}

/// README ("Routes"): ECMP uses "equal paths from the same neighbor AS", for
/// iBGP as for eBGP paths: two iBGP paths whose neighbour ASes differ (a node
/// learning the same prefix from two ToRs via a reflector) are not
/// multipath partners, since MED is not comparable across neighbour ASes
/// (RFC 4271 §9.1.2.2 c). BIRD (`merge paths`) and FRR (without `bestpath
/// as-path multipath-relax`) do the same.
#[test]
fn ibgp_multipath_needs_the_same_neighbor_as_too() {
    let mut rib = Rib::new(RibConfig {
        max_paths: 4,
        ..config()
    });
    up(&mut rib, 1, ibgp("192.0.2.1", "1.1.1.1"));
    up(&mut rib, 2, ibgp("192.0.2.2", "2.2.2.2"));
    up(&mut rib, 3, ibgp("192.0.2.3", "3.3.3.3"));
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2").path(&[65002]).build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(1)));
    assert!(multipath_peers(&rib, "10.1.0.0/16").is_empty());
    // An equal iBGP path from the best path's neighbour AS is a partner.
    receive(
        &mut rib,
        3,
        route(&["10.1.0.0/16"], "192.0.2.3").path(&[65001]).build(),
    );
    assert_eq!(multipath_peers(&rib, "10.1.0.0/16"), vec![PeerId(3)]);
    // So are iBGP paths originated in our AS (empty paths: our AS is their
    // neighbour AS).
    for (peer, address) in [(1, "192.0.2.1"), (2, "192.0.2.2")] {
        receive(&mut rib, peer, route(&["10.2.0.0/16"], address).build());
    }
    assert_eq!(best_peer(&rib, "10.2.0.0/16"), Some(PeerId(1)));
    assert_eq!(multipath_peers(&rib, "10.2.0.0/16"), vec![PeerId(2)]);
}

/// One candidate path: peer, local pref, path (first AS, length), origin, MED, internal.
#[derive(Debug, Clone)]
struct Candidate {
    local_pref: u32,
    first_as: u32,
    length: usize,
    origin: u8,
    med: Option<u32>,
    internal: bool,
    router_id: u8,
}

fn candidate() -> impl Strategy<Value = Candidate> {
    (
        prop_oneof![Just(100u32), Just(200)],
        1u32..4,
        1usize..3,
        0u8..3,
        proptest::option::of(0u32..3),
        any::<bool>(),
        1u8..4,
    )
        .prop_map(
            |(local_pref, first_as, length, origin, med, internal, router_id)| Candidate {
                local_pref,
                first_as,
                length,
                origin,
                med,
                internal,
                router_id,
            },
        )
}

proptest! {
    #[test]
    fn the_best_path_does_not_depend_on_arrival_order(
        candidates in proptest::collection::vec(candidate(), 2..6),
        seed in any::<u64>(),
        max_paths in 1usize..4,
    ) {
        let run = |order: &[usize]| {
            let mut rib = Rib::new(RibConfig { max_paths, ..config() });
            for (index, candidate) in candidates.iter().enumerate() {
                let peer = index as u32 + 1;
                let address = format!("192.0.2.{peer}");
                let router_id = format!("{}.0.0.{peer}", candidate.router_id);
                let info = if candidate.internal {
                    ibgp(&address, &router_id)
                } else {
                    ebgp(&address, 65000 + candidate.first_as, &router_id)
                };
                up(&mut rib, peer, info);
            }
            for &index in order {
                let candidate = &candidates[index];
                let peer = index as u32 + 1;
                let mut path = vec![65000 + candidate.first_as];
                path.extend(std::iter::repeat_n(65100, candidate.length - 1));
                let origin = [Origin::Igp, Origin::Egp, Origin::Incomplete][candidate.origin as usize];
                let mut announcement = route(&["10.9.0.0/16"], &format!("192.0.2.{peer}"))
                    .path(&path)
                    .origin(origin)
                    .local_pref(candidate.local_pref);
                if let Some(med) = candidate.med {
                    announcement = announcement.med(med);
                }
                receive(&mut rib, peer, announcement.build());
            }
            let mut selected: Vec<(Option<PeerId>, bool, bool)> = rib
                .lookup(net("10.9.0.0/16"))
                .map(|view| (view.peer, view.best, view.multipath))
                .collect();
            selected.sort();
            selected
        };
        let forward: Vec<usize> = (0..candidates.len()).collect();
        // A permutation from the seed (Fisher-Yates with a small LCG).
        let mut shuffled = forward.clone();
        let mut state = seed | 1;
        for index in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let other = (state >> 33) as usize % (index + 1);
            shuffled.swap(index, other);
        }
        let mut reversed = forward.clone();
        reversed.reverse();
        let expected = run(&forward);
        prop_assert_eq!(run(&shuffled), expected.clone());
        prop_assert_eq!(run(&reversed), expected);
    }
}
