//! Receiving: import checks, treat-as-withdraw, multiprotocol, ADD-PATH,
//! max-prefix and graceful restart.

mod common;

use bgp_rib::{Family, MaxPrefix, PeerId, PeerInfo, Receipt, Rib, RibConfig};
use bgp_wire::{AttributeError, Treatment, UpdateSubcode};
use bytes::Bytes;
use common::*;

fn paths(rib: &Rib, prefix: &str) -> usize {
    rib.lookup(net(prefix)).count()
}

fn error(treatment: Treatment) -> AttributeError {
    AttributeError {
        subcode: UpdateSubcode::AttributeLengthError,
        treatment,
        attribute: None,
        family: None,
        data: Bytes::new(),
        detail: "test",
    }
}

#[test]
fn a_route_with_our_as_in_its_path_is_a_loop() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    let receipt = receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[65001, LOCAL_AS])
            .build(),
    );
    assert_eq!(
        receipt,
        Receipt::Accepted {
            announced: 0,
            withdrawn: 0
        }
    );
    assert_eq!(paths(&rib, "10.1.0.0/16"), 0);
}

#[test]
fn allow_own_as_accepts_that_many_occurrences() {
    let mut rib = Rib::new(config());
    up(
        &mut rib,
        1,
        PeerInfo {
            allow_own_as: 1,
            ..ebgp("192.0.2.1", 65001, "1.1.1.1")
        },
    );
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[65001, LOCAL_AS])
            .build(),
    );
    assert_eq!(paths(&rib, "10.1.0.0/16"), 1);
    // Twice is too many, and the new announcement replaces (withdraws) the old.
    let receipt = receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[65001, LOCAL_AS, 7, LOCAL_AS])
            .build(),
    );
    assert_eq!(
        receipt,
        Receipt::Accepted {
            announced: 0,
            withdrawn: 1
        }
    );
    assert_eq!(paths(&rib, "10.1.0.0/16"), 0);
}

#[test]
fn our_own_originator_id_from_ibgp_is_a_loop() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ibgp("192.0.2.1", "1.1.1.1"));
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .originator("10.0.0.1")
            .build(),
    );
    assert_eq!(paths(&rib, "10.1.0.0/16"), 0);
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .originator("10.0.0.2")
            .build(),
    );
    assert_eq!(paths(&rib, "10.1.0.0/16"), 1);
}

#[test]
fn our_cluster_id_in_the_cluster_list_is_a_loop_for_a_reflector() {
    let reflector = RibConfig {
        cluster_id: Some(v4("10.255.0.1")),
        ..config()
    };
    let mut rib = Rib::new(reflector);
    up(&mut rib, 1, ibgp("192.0.2.1", "1.1.1.1"));
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .cluster_list(&["10.9.9.9", "10.255.0.1"])
            .build(),
    );
    assert_eq!(paths(&rib, "10.1.0.0/16"), 0);
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .cluster_list(&["10.9.9.9"])
            .build(),
    );
    assert_eq!(paths(&rib, "10.1.0.0/16"), 1);
}

#[test]
fn treat_as_withdraw_removes_what_was_announced() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16", "10.2.0.0/16"], "192.0.2.1")
            .path(&[65001])
            .build(),
    );
    let update = route(&["10.1.0.0/16"], "192.0.2.1").path(&[65001]).build();
    // Attribute-discard alone leaves the announcement standing.
    let receipt = rib.receive(PeerId(1), &update, &[error(Treatment::AttributeDiscard)]);
    assert_eq!(
        receipt,
        Receipt::Accepted {
            announced: 1,
            withdrawn: 0
        }
    );
    assert_eq!(paths(&rib, "10.1.0.0/16"), 1);
    let receipt = rib.receive(
        PeerId(1),
        &update,
        &[
            error(Treatment::AttributeDiscard),
            error(Treatment::TreatAsWithdraw),
        ],
    );
    assert_eq!(
        receipt,
        Receipt::Accepted {
            announced: 0,
            withdrawn: 1
        }
    );
    assert_eq!(paths(&rib, "10.1.0.0/16"), 0);
    assert_eq!(paths(&rib, "10.2.0.0/16"), 1);
    // AFI/SAFI disable handles the message the same way.
    let update = route(&["10.2.0.0/16"], "192.0.2.1").path(&[65001]).build();
    rib.receive(PeerId(1), &update, &[error(Treatment::AfiSafiDisable)]);
    assert_eq!(paths(&rib, "10.2.0.0/16"), 0);
}

#[test]
fn ipv6_routes_come_in_mp_reach_and_leave_in_mp_unreach() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("2001:db8:1::1", 65001, "1.1.1.1"));
    let mut update = route(&["2001:db8:100::/48"], "2001:db8:1::1")
        .path(&[65001])
        .build();
    // A global and a link-local next hop (RFC 2545 §3): the global one is used.
    if let Some(bgp_wire::AttributeValue::MpReach(reach)) = update
        .attributes
        .iter_mut()
        .map(|attribute| &mut attribute.value)
        .find(|value| matches!(value, bgp_wire::AttributeValue::MpReach(_)))
    {
        let mut octets = reach.next_hop.to_vec();
        octets.extend_from_slice(&"fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        reach.next_hop = Bytes::from(octets);
    }
    receive(&mut rib, 1, update);
    let view = rib.lookup(net("2001:db8:100::/48")).next().unwrap();
    assert_eq!(view.attributes.next_hop(), Some(ip("2001:db8:1::1")));
    assert_eq!(rib.poll_fib()[0].next_hops, vec![ip("2001:db8:1::1")]);
    let receipt = receive(&mut rib, 1, withdraw(&["2001:db8:100::/48"]));
    assert_eq!(
        receipt,
        Receipt::Accepted {
            announced: 0,
            withdrawn: 1
        }
    );
    assert_eq!(paths(&rib, "2001:db8:100::/48"), 0);
}

#[test]
fn ipv4_routes_may_come_in_mp_reach_too() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    // route() puts IPv4 prefixes with an IPv6 next hop in MP_REACH_NLRI.
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "2001:db8:1::1")
            .path(&[65001])
            .build(),
    );
    let view = rib.lookup(net("10.1.0.0/16")).next().unwrap();
    assert_eq!(view.attributes.next_hop(), Some(ip("2001:db8:1::1")));
}

#[test]
fn add_path_identifiers_make_distinct_paths() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[65001])
            .path_id(1)
            .build(),
    );
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.11")
            .path(&[65001])
            .path_id(2)
            .build(),
    );
    let mut ids: Vec<Option<u32>> = rib
        .lookup(net("10.1.0.0/16"))
        .map(|view| view.path_id)
        .collect();
    ids.sort();
    assert_eq!(ids, vec![Some(1), Some(2)]);
    // The same id again replaces, it does not add.
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.12")
            .path(&[65001])
            .path_id(2)
            .build(),
    );
    assert_eq!(paths(&rib, "10.1.0.0/16"), 2);
    let mut withdrawal = withdraw(&["10.1.0.0/16"]);
    withdrawal.withdrawn[0].path_id = Some(1);
    receive(&mut rib, 1, withdrawal);
    let remaining: Vec<Option<u32>> = rib
        .lookup(net("10.1.0.0/16"))
        .map(|view| view.path_id)
        .collect();
    assert_eq!(remaining, vec![Some(2)]);
}

fn limited(tear_down: bool) -> Rib {
    let mut rib = Rib::new(config());
    let info = PeerInfo {
        max_prefix: Some(MaxPrefix {
            limit: 2,
            tear_down,
        }),
        ..ebgp("192.0.2.1", 65001, "1.1.1.1")
    };
    up(&mut rib, 1, info);
    rib
}

#[test]
fn max_prefix_warns_and_keeps_everything_without_tear_down() {
    let mut rib = limited(false);
    assert!(matches!(
        receive(
            &mut rib,
            1,
            route(&["10.1.0.0/16", "10.2.0.0/16"], "192.0.2.1")
                .path(&[65001])
                .build()
        ),
        Receipt::Accepted { announced: 2, .. }
    ));
    let receipt = receive(
        &mut rib,
        1,
        route(&["10.3.0.0/16"], "192.0.2.1").path(&[65001]).build(),
    );
    assert_eq!(
        receipt,
        Receipt::MaxPrefixExceeded {
            family: Family::IPV4_UNICAST,
            limit: 2,
            count: 3,
            tear_down: false
        }
    );
    assert_eq!(rib.statistics().paths, 3);
    // Re-announcing a known prefix adds nothing and warns no more.
    let receipt = receive(
        &mut rib,
        1,
        route(&["10.3.0.0/16"], "192.0.2.1")
            .path(&[65001, 1])
            .build(),
    );
    assert!(matches!(receipt, Receipt::Accepted { .. }));
}

#[test]
fn max_prefix_with_tear_down_keeps_none_of_the_excess() {
    let mut rib = limited(true);
    let receipt = receive(
        &mut rib,
        1,
        route(
            &["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16"],
            "192.0.2.1",
        )
        .path(&[65001])
        .build(),
    );
    assert_eq!(
        receipt,
        Receipt::MaxPrefixExceeded {
            family: Family::IPV4_UNICAST,
            limit: 2,
            count: 4,
            tear_down: true
        }
    );
    assert_eq!(rib.statistics().paths, 2);
    // Replacing one of the accepted prefixes is still fine.
    let receipt = receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[65001, 5])
            .build(),
    );
    assert!(matches!(receipt, Receipt::Accepted { announced: 1, .. }));
}

#[test]
fn updates_from_unknown_or_down_peers_are_ignored() {
    let mut rib = Rib::new(config());
    receive(&mut rib, 7, route(&["10.1.0.0/16"], "192.0.2.1").build());
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    rib.peer_down(PeerId(1), false);
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1").path(&[65001]).build(),
    );
    assert_eq!(rib.statistics().paths, 0);
    assert!(rib.poll_updates(PeerId(1)).is_empty());
}

/// Peer 1 with two prefixes, peer 2 (down the test) with two others.
fn graceful_restart() -> Rib {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    up(&mut rib, 2, ebgp("192.0.2.2", 65002, "2.2.2.2"));
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16", "10.2.0.0/16"], "192.0.2.2")
            .path(&[65002])
            .build(),
    );
    receive(
        &mut rib,
        2,
        route(&["2001:db8:1::/48"], "2001:db8::2")
            .path(&[65002])
            .build(),
    );
    rib.poll_fib();
    rib
}

fn stale(rib: &Rib, prefix: &str) -> Option<bool> {
    rib.lookup(net(prefix))
        .find(|view| view.peer == Some(PeerId(2)))
        .map(|view| view.stale)
}

#[test]
fn graceful_restart_keeps_stale_paths_and_the_fib() {
    let mut rib = graceful_restart();
    rib.peer_down(PeerId(2), true);
    assert_eq!(stale(&rib, "10.1.0.0/16"), Some(true));
    assert!(rib.lookup(net("10.1.0.0/16")).next().unwrap().best);
    assert!(rib.poll_fib().is_empty());
    // Without keep_stale the paths go at once.
    let mut rib = graceful_restart();
    rib.peer_down(PeerId(2), false);
    assert_eq!(stale(&rib, "10.1.0.0/16"), None);
    assert_eq!(rib.poll_fib().len(), 3);
}

#[test]
fn relearned_paths_are_fresh_and_end_of_rib_flushes_the_rest() {
    let mut rib = graceful_restart();
    rib.peer_down(PeerId(2), true);
    rib.peer_up(PeerId(2), ebgp("192.0.2.2", 65002, "2.2.2.2"));
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2").path(&[65002]).build(),
    );
    assert_eq!(stale(&rib, "10.1.0.0/16"), Some(false));
    assert_eq!(stale(&rib, "10.2.0.0/16"), Some(true));
    assert!(rib.poll_fib().is_empty());
    let receipt = receive(&mut rib, 2, bgp_wire::Update::default());
    assert_eq!(receipt, Receipt::EndOfRib(Family::IPV4_UNICAST));
    assert_eq!(stale(&rib, "10.2.0.0/16"), None);
    assert_eq!(stale(&rib, "10.1.0.0/16"), Some(false));
    // The IPv6 stale path waits for its own family's End-of-RIB.
    assert_eq!(stale(&rib, "2001:db8:1::/48"), Some(true));
    let fib = rib.poll_fib();
    assert_eq!(fib.len(), 1);
    assert_eq!(fib[0].prefix, net("10.2.0.0/16"));
    assert!(fib[0].next_hops.is_empty());
}

#[test]
fn flush_stale_removes_stale_paths_when_the_timer_expires() {
    let mut rib = graceful_restart();
    rib.peer_down(PeerId(2), true);
    rib.flush_stale(PeerId(2), Some(Family::IPV6_UNICAST));
    assert_eq!(stale(&rib, "2001:db8:1::/48"), None);
    assert_eq!(stale(&rib, "10.1.0.0/16"), Some(true));
    rib.flush_stale(PeerId(2), None);
    assert_eq!(rib.statistics().paths, 0);
    assert_eq!(rib.statistics().peers[1].accepted, 0);
}

#[test]
fn routes_from_two_octet_sessions_keep_the_as4_path() {
    let mut rib = Rib::new(config());
    up(
        &mut rib,
        1,
        PeerInfo {
            four_octet_asn: false,
            ..ebgp("192.0.2.1", 65001, "1.1.1.1")
        },
    );
    // RFC 6793 §4.2.3: AS_PATH 65001 23456, AS4_PATH 4200000001.
    let update = route(&["10.1.0.0/16"], "192.0.2.1")
        .path(&[65001, 23456])
        .attribute(bgp_wire::AttributeValue::As4Path(
            bgp_wire::AsPath::sequence(&[bgp_rib::Asn(4_200_000_001)]),
        ))
        .build();
    receive(&mut rib, 1, update);
    let view = rib.lookup(net("10.1.0.0/16")).next().unwrap();
    assert_eq!(view.attributes.as_path().to_string(), "65001 4200000001");
    // A loop hidden behind AS_TRANS is still a loop.
    let update = route(&["10.2.0.0/16"], "192.0.2.1")
        .path(&[65001, 23456])
        .attribute(bgp_wire::AttributeValue::As4Path(
            bgp_wire::AsPath::sequence(&[bgp_rib::Asn(LOCAL_AS)]),
        ))
        .build();
    receive(&mut rib, 1, update);
    assert_eq!(paths(&rib, "10.2.0.0/16"), 0);
}

#[test]
fn an_unspecified_global_ipv6_next_hop_gives_way_to_the_link_local_one() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("fe80::1", 65001, "1.1.1.1"));
    let mut update = route(&["2001:db8:100::/48"], "::").path(&[65001]).build();
    if let Some(bgp_wire::AttributeValue::MpReach(reach)) = update
        .attributes
        .iter_mut()
        .map(|attribute| &mut attribute.value)
        .find(|value| matches!(value, bgp_wire::AttributeValue::MpReach(_)))
    {
        let mut octets = reach.next_hop.to_vec();
        octets.extend_from_slice(&"fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        reach.next_hop = Bytes::from(octets);
    }
    receive(&mut rib, 1, update);
    let view = rib.lookup(net("2001:db8:100::/48")).next().unwrap();
    assert_eq!(view.attributes.next_hop(), Some(ip("fe80::1")));
}
