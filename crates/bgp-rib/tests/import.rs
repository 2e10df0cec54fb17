//! Receiving: import checks (loops, malformed and hostile AS_PATHs, next
//! hops, unnegotiated families), treat-as-withdraw, multiprotocol, ADD-PATH,
//! max-prefix, graceful restart, and odd inputs handled without harm.

mod common;

use bgp_rib::{Family, MaxPrefix, PeerId, PeerInfo, Receipt, Rib, RibConfig};
use bgp_wire::{
    Afi, AsPath, Asn, AttributeError, AttributeValue, MpNlri, MpReach, MpUnreach, Nlri, NlriList,
    Origin, PathAttribute, Safi, SegmentKind, Treatment, Update, UpdateSubcode,
};
use bytes::Bytes;
use common::*;

fn paths(rib: &Rib, prefix: &str) -> usize {
    rib.lookup(net(prefix)).count()
}

/// The next hops `prefix` was last reported with by [`Rib::poll_fib`], if
/// it was (drains the other changes).
fn in_fib(rib: &mut Rib, prefix: &str) -> Option<Vec<std::net::IpAddr>> {
    rib.poll_fib()
        .into_iter()
        .find(|change| change.prefix == net(prefix))
        .map(|change| change.next_hops.into_vec())
}

/// `update` with its AS_PATH replaced by `segments`.
fn with_as_path(mut update: Update, segments: &[(SegmentKind, &[Asn])]) -> Update {
    let as_path = AsPath::from_segments(segments.iter().copied());
    for attribute in &mut update.attributes {
        if let AttributeValue::AsPath(path) = &mut attribute.value {
            *path = as_path.clone();
        }
    }
    update
}

/// The AS_PATH an UPDATE carries, as sent.
fn as_path_sent(updates: &[Update]) -> Option<AsPath> {
    updates.iter().find_map(|update| {
        update
            .attributes
            .iter()
            .find_map(|attribute| match &attribute.value {
                AttributeValue::AsPath(path) => Some(path.clone()),
                _ => None,
            })
    })
}

/// Appends `link_local` to the global next hop of `update`'s MP_REACH_NLRI
/// (RFC 2545 §3: a global and a link-local next hop).
fn add_link_local_next_hop(update: &mut Update, link_local: &str) {
    if let Some(AttributeValue::MpReach(reach)) = update
        .attributes
        .iter_mut()
        .map(|attribute| &mut attribute.value)
        .find(|value| matches!(value, AttributeValue::MpReach(_)))
    {
        let mut octets = reach.next_hop.to_vec();
        octets.extend_from_slice(&link_local.parse::<std::net::Ipv6Addr>().unwrap().octets());
        reach.next_hop = Bytes::from(octets);
    }
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
    let mut rib = rib_with_ebgp_peer();
    let receipt = receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[65001, LOCAL_AS])
            .build(),
    );
    assert_eq!(receipt, accepted(0, 0));
    assert_eq!(paths(&rib, "10.1.0.0/16"), 0);
}

/// Calico's `localASNumber`: the session's own AS is the one a route from
/// that peer must not hold.
#[test]
fn a_session_with_its_own_local_as_checks_loops_against_that_as() {
    let mut rib = Rib::new(config());
    up(
        &mut rib,
        1,
        PeerInfo {
            local_as: Some(Asn(64999)),
            ..ebgp("192.0.2.1", 65001, "1.1.1.1")
        },
    );
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[65001, 64999])
            .build(),
    );
    assert_eq!(
        paths(&rib, "10.1.0.0/16"),
        0,
        "a loop through the session's AS"
    );
    receive(
        &mut rib,
        1,
        route(&["10.2.0.0/16"], "192.0.2.1").path(&[65001]).build(),
    );
    assert_eq!(paths(&rib, "10.2.0.0/16"), 1);
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
    assert_eq!(receipt, accepted(0, 1));
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
    let mut rib = rib_with_ebgp_peer();
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16", "10.2.0.0/16"]));
    let update = from_ebgp_peer(&["10.1.0.0/16"]);
    // Attribute-discard alone leaves the announcement standing.
    let receipt = rib.receive(PeerId(1), &update, &[error(Treatment::AttributeDiscard)]);
    assert_eq!(receipt, accepted(1, 0));
    assert_eq!(paths(&rib, "10.1.0.0/16"), 1);
    let receipt = rib.receive(
        PeerId(1),
        &update,
        &[
            error(Treatment::AttributeDiscard),
            error(Treatment::TreatAsWithdraw),
        ],
    );
    assert_eq!(receipt, accepted(0, 1));
    assert_eq!(paths(&rib, "10.1.0.0/16"), 0);
    assert_eq!(paths(&rib, "10.2.0.0/16"), 1);
    // AFI/SAFI disable handles the message the same way.
    let update = from_ebgp_peer(&["10.2.0.0/16"]);
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
    add_link_local_next_hop(&mut update, "fe80::1");
    receive(&mut rib, 1, update);
    let view = rib.lookup(net("2001:db8:100::/48")).next().unwrap();
    assert_eq!(view.attributes.next_hop(), Some(ip("2001:db8:1::1")));
    assert_eq!(
        rib.poll_fib()[0].next_hops.as_slice(),
        [ip("2001:db8:1::1")]
    );
    let receipt = receive(&mut rib, 1, withdraw(&["2001:db8:100::/48"]));
    assert_eq!(receipt, accepted(0, 1));
    assert_eq!(paths(&rib, "2001:db8:100::/48"), 0);
}

#[test]
fn ipv4_routes_may_come_in_mp_reach_too() {
    let mut rib = rib_with_ebgp_peer();
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
    let mut rib = rib_with_ebgp_peer();
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

/// The receipt of an IPv4 unicast UPDATE that took a [`limited`] peer to
/// `count` prefixes.
fn over_the_limit(count: usize, tear_down: bool) -> Receipt {
    Receipt::MaxPrefixExceeded {
        family: Family::IPV4_UNICAST,
        limit: 2,
        count,
        tear_down,
    }
}

#[test]
fn max_prefix_warns_and_keeps_everything_without_tear_down() {
    let mut rib = limited(false);
    assert!(matches!(
        receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16", "10.2.0.0/16"])),
        Receipt::Accepted { announced: 2, .. }
    ));
    let receipt = receive(&mut rib, 1, from_ebgp_peer(&["10.3.0.0/16"]));
    assert_eq!(receipt, over_the_limit(3, false));
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
        from_ebgp_peer(&["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16"]),
    );
    assert_eq!(receipt, over_the_limit(4, true));
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
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    assert_eq!(rib.statistics().paths, 0);
    assert!(rib.poll_updates(PeerId(1)).is_empty());
}

/// Peer 1 with two prefixes, peer 2 (down the test) with two others.
fn graceful_restart() -> Rib {
    let mut rib = rib_with_ebgp_peer();
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
    add_link_local_next_hop(&mut update, "fe80::1");
    receive(&mut rib, 1, update);
    let view = rib.lookup(net("2001:db8:100::/48")).next().unwrap();
    assert_eq!(view.attributes.next_hop(), Some(ip("fe80::1")));
}

/// RFC 5065 §5 (which, per its Appendix B, applies to every BGP speaker, not
/// only confederation members): AS_CONFED_SEQUENCE / AS_CONFED_SET segments
/// from a neighbour outside our confederation make the AS_PATH malformed
/// (RFC 7606 §7.2: treat-as-withdraw), and they are never sent to peers
/// outside the confederation. nodebgp is in no confederation: such a path
/// (which would count 0 towards the path length and win the decision) is
/// not taken, and what is sent on carries none.
#[test]
fn confederation_segments_from_outside_a_confederation_are_malformed() {
    let mut rib = Rib::new(RibConfig {
        transit: true,
        ..config()
    });
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    up(&mut rib, 2, ebgp("192.0.2.2", 65002, "2.2.2.2"));
    up(&mut rib, 3, ebgp("192.0.2.3", 65003, "3.3.3.3"));
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    let wrapped = [Asn(65002), Asn(65005), Asn(65006), Asn(65007)];
    let update = with_as_path(
        route(&["10.1.0.0/16"], "192.0.2.2").build(),
        &[(SegmentKind::ConfedSequence, &wrapped[..])],
    );
    assert_eq!(receive(&mut rib, 2, update), accepted(0, 0));
    let sent = rib.poll_updates(PeerId(3));
    let path = as_path_sent(&sent).expect("peer 3 is sent the prefix");
    assert!(
        !path.has_confederation_segments(),
        "sent to an eBGP peer: {path:?}"
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(1)));
    assert_eq!(paths(&rib, "10.1.0.0/16"), 1);
}

/// The same after an honest path: a confederation segment anywhere (here an
/// AS_CONFED_SET behind the peer's AS), from an eBGP or an iBGP peer,
/// withdraws the peer's earlier path for the prefix.
#[test]
fn a_confederation_segment_anywhere_withdraws_the_peers_path() {
    let mut rib = rib_with_ebgp_peer();
    up(&mut rib, 2, ibgp("192.0.2.2", "2.2.2.2"));
    let confed = [Asn(65100), Asn(65101)];
    for (peer, first, address) in [(1, Asn(65001), "192.0.2.1"), (2, Asn(65009), "192.0.2.2")] {
        let prefix = format!("10.{peer}.0.0/16");
        receive(
            &mut rib,
            peer,
            route(&[&prefix], address).path(&[first.0]).build(),
        );
        assert_eq!(paths(&rib, &prefix), 1);
        let update = with_as_path(
            route(&[&prefix], address).build(),
            &[
                (SegmentKind::Sequence, &[first][..]),
                (SegmentKind::ConfedSet, &confed[..]),
            ],
        );
        assert_eq!(
            receive(&mut rib, peer, update),
            accepted(0, 1),
            "peer {peer}"
        );
        assert_eq!(paths(&rib, &prefix), 0);
    }
}

/// RFC 4760 §8: routes of an <AFI, SAFI> are exchanged only when both sides
/// advertised the capability for it. A session that negotiated IPv4 unicast
/// only (the daemon's default for an IPv4 transport) cannot put IPv6 routes
/// into the Loc-RIB and the kernel with an MP_REACH_NLRI.
#[test]
fn routes_of_a_family_the_session_did_not_negotiate_are_ignored() {
    let mut rib = Rib::new(config());
    let info = PeerInfo {
        families: vec![Family::IPV4_UNICAST],
        ..ebgp("192.0.2.1", 65001, "1.1.1.1")
    };
    up(&mut rib, 1, info);
    rib.poll_fib();
    let receipt = receive(
        &mut rib,
        1,
        route(&["2001:db8:99::/48"], "2001:db8::99")
            .path(&[65001])
            .build(),
    );
    assert_eq!(receipt, accepted(0, 0));
    assert_eq!(paths(&rib, "2001:db8:99::/48"), 0);
    assert_eq!(in_fib(&mut rib, "2001:db8:99::/48"), None);
    assert_eq!(rib.accepted(PeerId(1), Family::IPV6_UNICAST), 0);
    // The negotiated family in the same session still works.
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    assert_eq!(paths(&rib, "10.1.0.0/16"), 1);
}

/// The other way round: a session that negotiated IPv6 unicast only (the
/// multiprotocol capability without IPv4 unicast) has its NLRI field and
/// withdrawn routes field ignored, and its MP_UNREACH_NLRI of IPv4 unicast
/// too; MP_REACH_NLRI of IPv6 unicast is taken.
#[test]
fn the_nlri_field_is_ignored_when_ipv4_unicast_was_not_negotiated() {
    let mut rib = rib_with_ebgp_peer();
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    // The session comes back with IPv6 unicast only (after a graceful
    // restart the old IPv4 path stays, stale, until the driver flushes it).
    rib.peer_down(PeerId(1), true);
    let info = PeerInfo {
        families: vec![Family::IPV6_UNICAST],
        ..ebgp("192.0.2.1", 65001, "1.1.1.1")
    };
    up(&mut rib, 1, info);
    let receipt = receive(&mut rib, 1, from_ebgp_peer(&["10.2.0.0/16"]));
    assert_eq!(receipt, accepted(0, 0));
    assert_eq!(paths(&rib, "10.2.0.0/16"), 0);
    // IPv4 unicast in MP_REACH_NLRI is no better.
    receive(
        &mut rib,
        1,
        route(&["10.3.0.0/16"], "2001:db8:1::1")
            .path(&[65001])
            .build(),
    );
    assert_eq!(paths(&rib, "10.3.0.0/16"), 0);
    // Withdrawals of the family are ignored as well, in either field.
    receive(&mut rib, 1, withdraw(&["10.1.0.0/16"]));
    let unreach = Update {
        attributes: vec![PathAttribute::new(AttributeValue::MpUnreach(MpUnreach {
            family: Family::IPV4_UNICAST,
            nlri: MpNlri::Prefixes(vec![Nlri::new(net("10.1.0.0/16"))]),
        }))],
        ..Update::default()
    };
    receive(&mut rib, 1, unreach);
    assert_eq!(paths(&rib, "10.1.0.0/16"), 1);
    receive(
        &mut rib,
        1,
        route(&["2001:db8:1::/48"], "2001:db8:1::1")
            .path(&[65001])
            .build(),
    );
    assert_eq!(paths(&rib, "2001:db8:1::/48"), 1);
}

/// RFC 4271 §6.3: a NEXT_HOP that is semantically incorrect, "an IP address
/// of the receiving speaker", makes the route ignored (and §5.1.3 says a
/// speaker never sends a peer its own address as next hop); otherwise it
/// would go to the kernel as a route via the node itself.
#[test]
fn a_next_hop_that_is_our_own_address_is_ignored() {
    let mut rib = Rib::new(config());
    // Our address on this session (next hop self) is 10.0.0.1.
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    rib.poll_fib();
    receive(
        &mut rib,
        1,
        route(&["10.9.0.0/16"], "10.0.0.1").path(&[65001]).build(),
    );
    assert_eq!(in_fib(&mut rib, "10.9.0.0/16"), None);
    assert_eq!(paths(&rib, "10.9.0.0/16"), 0);
}

/// The same for our IPv6 session address, and for next hops that are no
/// host address (unspecified, multicast, broadcast): the route is ignored,
/// and as it replaces the peer's earlier announcement of the prefix, that
/// path is withdrawn (treat-as-withdraw for this peer's path).
#[test]
fn an_unusable_next_hop_withdraws_the_peers_path() {
    let mut rib = rib_with_ebgp_peer();
    for (prefix, good, bad) in [
        ("10.1.0.0/16", "192.0.2.1", "0.0.0.0"),
        ("10.2.0.0/16", "192.0.2.1", "224.0.0.5"),
        ("10.3.0.0/16", "192.0.2.1", "255.255.255.255"),
        ("2001:db8:1::/48", "2001:db8:7::1", "2001:db8::1"),
        ("2001:db8:2::/48", "2001:db8:7::1", "ff02::5"),
    ] {
        receive(&mut rib, 1, route(&[prefix], good).path(&[65001]).build());
        assert_eq!(paths(&rib, prefix), 1, "{prefix}");
        assert_eq!(in_fib(&mut rib, prefix), Some(vec![ip(good)]));
        let receipt = receive(&mut rib, 1, route(&[prefix], bad).path(&[65001]).build());
        assert_eq!(receipt, accepted(0, 1), "next hop {bad}");
        assert_eq!(paths(&rib, prefix), 0, "next hop {bad}");
        assert_eq!(in_fib(&mut rib, prefix), Some(Vec::new()), "next hop {bad}");
    }
}

/// A next hop equal to the peer's own address is the ordinary case.
#[test]
fn a_next_hop_equal_to_the_peer_is_used() {
    let mut rib = rib_with_ebgp_peer();
    rib.poll_fib();
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    assert_eq!(in_fib(&mut rib, "10.1.0.0/16"), Some(vec![ip("192.0.2.1")]));
}

/// RFC 4271 §6.3 / RFC 7606 §7.2: an eBGP peer's AS_PATH must start with the
/// peer's AS (every eBGP speaker prepends, §5.1.2); an empty AS_PATH from an
/// external peer is treat-as-withdraw where the check is made (FRR's
/// `enforce-first-as`, on by default; GoBGP too). Without it, being the
/// shortest path possible (length 0), it would beat every honest path.
#[test]
fn an_empty_as_path_from_an_external_peer_is_not_preferred() {
    let mut rib = rib_with_ebgp_peer();
    up(&mut rib, 2, ebgp("192.0.2.2", 65002, "2.2.2.2"));
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    receive(&mut rib, 2, route(&["10.1.0.0/16"], "192.0.2.2").build());
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(1)));
    assert_eq!(paths(&rib, "10.1.0.0/16"), 1);
}

/// The first-AS check: a path led by another AS is refused too (and
/// withdraws the peer's path); with `enforce_first_as` off (a route server,
/// RFC 7947, does not prepend its AS) both are taken. iBGP paths are not
/// checked (an empty path is a route originated in our AS).
#[test]
fn the_first_as_of_an_ebgp_path_must_be_the_peers() {
    let mut rib = rib_with_ebgp_peer();
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[65001, 65010])
            .build(),
    );
    assert_eq!(paths(&rib, "10.1.0.0/16"), 1);
    let receipt = receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1").path(&[65010]).build(),
    );
    assert_eq!(receipt, accepted(0, 1));
    assert_eq!(paths(&rib, "10.1.0.0/16"), 0);

    let route_server = PeerInfo {
        enforce_first_as: false,
        extended_message: false,
        ..ebgp("192.0.2.2", 65002, "2.2.2.2")
    };
    up(&mut rib, 2, route_server);
    receive(
        &mut rib,
        2,
        route(&["10.2.0.0/16"], "192.0.2.20").path(&[65010]).build(),
    );
    receive(&mut rib, 2, route(&["10.3.0.0/16"], "192.0.2.20").build());
    assert_eq!(paths(&rib, "10.2.0.0/16"), 1);
    assert_eq!(paths(&rib, "10.3.0.0/16"), 1);

    up(&mut rib, 3, ibgp("192.0.2.3", "3.3.3.3"));
    receive(&mut rib, 3, route(&["10.4.0.0/16"], "192.0.2.3").build());
    assert_eq!(paths(&rib, "10.4.0.0/16"), 1);
}

/// An AS_PATH of a lone AS_SET (an aggregate): from an eBGP peer under the
/// first-AS check it does not start with the peer's AS and is refused (as
/// FRR's `enforce-first-as` does); from a peer without the check it counts
/// 1 (RFC 4271 §9.1.2.2 a), without a panic, and with a neighbour AS (our
/// own, as for a path that starts with a set) that does not break the MED
/// step.
#[test]
fn an_as_path_of_only_an_as_set_counts_one() {
    let set = [Asn(65001), Asn(65010), Asn(65011)];
    let aggregate = || {
        with_as_path(
            route(&["10.1.0.0/16"], "192.0.2.1").build(),
            &[(SegmentKind::Set, &set[..])],
        )
    };
    let mut rib = rib_with_ebgp_peer();
    receive(&mut rib, 1, aggregate());
    assert_eq!(paths(&rib, "10.1.0.0/16"), 0);

    let mut rib = Rib::new(config());
    let unchecked = PeerInfo {
        enforce_first_as: false,
        extended_message: false,
        ..ebgp("192.0.2.1", 65001, "1.1.1.1")
    };
    up(&mut rib, 1, unchecked);
    up(&mut rib, 2, ebgp("192.0.2.2", 65002, "2.2.2.2"));
    receive(&mut rib, 1, aggregate());
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2")
            .path(&[65002, 65003])
            .build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(1)));
    assert_eq!(paths(&rib, "10.1.0.0/16"), 2);
}

/// The same prefix twice in one UPDATE is one path, counted once.
#[test]
fn a_prefix_twice_in_one_update_is_one_path() {
    let mut rib = rib_with_ebgp_peer();
    receive(
        &mut rib,
        1,
        from_ebgp_peer(&["10.1.0.0/16", "10.1.0.0/16", "10.1.0.0/16"]),
    );
    assert_eq!(paths(&rib, "10.1.0.0/16"), 1);
    assert_eq!(rib.accepted(PeerId(1), Family::IPV4_UNICAST), 1);
    receive(&mut rib, 1, withdraw(&["10.1.0.0/16"]));
    assert_eq!(rib.accepted(PeerId(1), Family::IPV4_UNICAST), 0);
    assert_eq!(paths(&rib, "10.1.0.0/16"), 0);
}

/// RFC 7606 §5.3: a prefix both withdrawn and announced in one UPDATE is
/// announced. Withdrawals of prefixes never announced change nothing.
#[test]
fn withdrawn_and_announced_together_is_announced_and_unknown_withdrawals_are_harmless() {
    let mut rib = rib_with_ebgp_peer();
    let mut update = from_ebgp_peer(&["10.1.0.0/16"]);
    update.withdrawn = vec![
        Nlri::new(net("10.1.0.0/16")),
        Nlri::new(net("10.200.0.0/16")),
    ]
    .into();
    assert_eq!(receive(&mut rib, 1, update), accepted(1, 0));
    assert_eq!(paths(&rib, "10.1.0.0/16"), 1);
    assert_eq!(
        receive(&mut rib, 1, withdraw(&["10.99.0.0/16", "2001:db8:7::/48"])),
        accepted(0, 0)
    );
    assert_eq!(rib.accepted(PeerId(1), Family::IPV4_UNICAST), 1);
    assert_eq!(rib.accepted(PeerId(1), Family::IPV6_UNICAST), 0);
}

/// MP_REACH_NLRI of a family the RIB does not route (here IPv4 multicast)
/// is ignored without a panic, and does not disturb the unicast table.
#[test]
fn mp_reach_of_an_unrouted_family_is_ignored() {
    let mut rib = rib_with_ebgp_peer();
    let update = Update {
        withdrawn: NlriList::new(),
        attributes: vec![
            PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
            PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(&[Asn(65001)]))),
            PathAttribute::new(AttributeValue::MpReach(MpReach {
                family: Family::new(Afi::IPV4, Safi::MULTICAST),
                next_hop: Bytes::from_static(&[192, 0, 2, 1]),
                reserved: 0,
                nlri: MpNlri::Prefixes(vec![Nlri::new(net("10.1.0.0/16"))]),
            })),
        ],
        announced: NlriList::new(),
    };
    assert_eq!(receive(&mut rib, 1, update), accepted(0, 0));
    assert_eq!(paths(&rib, "10.1.0.0/16"), 0);
}

/// Graceful restart round trip with End-of-RIB from another family first:
/// only that family's stale paths go.
#[test]
fn end_of_rib_flushes_only_its_own_family() {
    let mut rib = rib_with_ebgp_peer();
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    receive(
        &mut rib,
        1,
        route(&["2001:db8:1::/48"], "2001:db8::2")
            .path(&[65001])
            .build(),
    );
    rib.peer_down(PeerId(1), true);
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    receive(&mut rib, 1, withdraw(&[]));
    assert_eq!(paths(&rib, "10.1.0.0/16"), 0);
    assert_eq!(paths(&rib, "2001:db8:1::/48"), 1);
}

/// Stale paths are counted per peer and family, so that an End-of-RIB with
/// nothing stale scans no table; the counts stay right through two restarts
/// in a row, re-learned paths and withdrawals of stale ones.
#[test]
fn stale_paths_are_tracked_through_repeated_restarts() {
    let mut rib = rib_with_ebgp_peer();
    receive(
        &mut rib,
        1,
        from_ebgp_peer(&["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"]),
    );
    let stale = |rib: &Rib| rib.loc_rib().filter(|view| view.stale).count();
    rib.peer_down(PeerId(1), true);
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    // One re-learned as it was, one changed, none for the third yet.
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    receive(
        &mut rib,
        1,
        route(&["10.2.0.0/16"], "192.0.2.1")
            .path(&[65001, 7])
            .build(),
    );
    assert_eq!(stale(&rib), 1);
    // Down again before its End-of-RIB: all three stale, the third once.
    rib.peer_down(PeerId(1), true);
    assert_eq!(stale(&rib), 3);
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    receive(&mut rib, 1, withdraw(&["10.3.0.0/16"]));
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    assert_eq!(
        receive(&mut rib, 1, Update::default()),
        Receipt::EndOfRib(Family::IPV4_UNICAST)
    );
    assert_eq!(stale(&rib), 0);
    assert_eq!(paths(&rib, "10.1.0.0/16"), 1);
    assert_eq!(paths(&rib, "10.2.0.0/16"), 0);
    assert_eq!(paths(&rib, "10.3.0.0/16"), 0);
    assert_eq!(rib.accepted(PeerId(1), Family::IPV4_UNICAST), 1);
    // Nothing stale: End-of-RIB changes nothing.
    assert_eq!(
        receive(&mut rib, 1, Update::default()),
        Receipt::EndOfRib(Family::IPV4_UNICAST)
    );
    assert_eq!(paths(&rib, "10.1.0.0/16"), 1);
}

/// RFC 7313 §4.2: between BoRR and EoRR the peer resends its table; what
/// it did not resend goes at EoRR, what it did is fresh, and forwarding
/// never stops meanwhile.
#[test]
fn an_enhanced_route_refresh_keeps_what_is_resent_and_drops_the_rest() {
    let stale = |rib: &Rib, prefix: &str| {
        rib.lookup(net(prefix))
            .find(|view| view.peer == Some(PeerId(1)))
            .map(|view| view.stale)
    };
    let mut rib = rib_with_ebgp_peer();
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16", "10.2.0.0/16"]));
    rib.poll_fib();
    rib.mark_stale(PeerId(1), Family::IPV4_UNICAST);
    assert_eq!(stale(&rib, "10.1.0.0/16"), Some(true));
    assert_eq!(stale(&rib, "10.2.0.0/16"), Some(true));
    assert!(rib.poll_fib().is_empty(), "stale paths still forward");
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    assert_eq!(stale(&rib, "10.1.0.0/16"), Some(false));
    rib.flush_stale(PeerId(1), Some(Family::IPV4_UNICAST));
    assert_eq!(stale(&rib, "10.1.0.0/16"), Some(false));
    assert_eq!(stale(&rib, "10.2.0.0/16"), None);
    assert_eq!(rib.accepted(PeerId(1), Family::IPV4_UNICAST), 1);
}
