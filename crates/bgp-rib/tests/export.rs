//! Sending: who gets what (route reflection, transit, split horizon), how the
//! attributes change, and how pending output is grouped and collapsed.

mod common;

use bgp_rib::{Asn, Batch, Family, PeerId, PeerInfo, Rib, RibConfig};
use bgp_wire::{AttributeValue, Community, LargeCommunity, Update};
use common::*;
use ipnet::IpNet;

/// What `peer` would be sent now for `prefix`: the attributes of the
/// announcement carrying it.
fn sent_to(rib: &mut Rib, peer: u32) -> Vec<Update> {
    rib.poll_updates(PeerId(peer))
}

/// A RIB with two peers up: 1, eBGP (198.51.100.1 in AS 65001), and 2, iBGP
/// (192.0.2.2).
fn external_and_internal_peer() -> Rib {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("198.51.100.1", 65001, "1.1.1.1"));
    up(&mut rib, 2, ibgp("192.0.2.2", "2.2.2.2"));
    rib
}

/// The eBGP peer 1's announcement of `prefixes`: next hop 198.51.100.1,
/// AS_PATH 65001.
fn from_external_peer(prefixes: &[&str]) -> Update {
    route(prefixes, "198.51.100.1").path(&[65001]).build()
}

/// How many of `updates` are End-of-RIB markers.
fn end_of_rib_markers(updates: &[Update]) -> usize {
    updates
        .iter()
        .filter(|update| update.end_of_rib().is_some())
        .count()
}

fn attribute(update: &Update, pick: impl Fn(&AttributeValue) -> bool) -> Option<&AttributeValue> {
    update
        .attributes
        .iter()
        .map(|attribute| &attribute.value)
        .find(|value| pick(value))
}

/// A reflector with clients 1 and 2, non-clients 3 and 4, eBGP peer 5.
fn reflector() -> Rib {
    let mut rib = Rib::new(RibConfig {
        cluster_id: Some(v4("10.255.0.1")),
        ..config()
    });
    up(&mut rib, 1, client("192.0.2.1", "1.1.1.1"));
    up(&mut rib, 2, client("192.0.2.2", "2.2.2.2"));
    up(&mut rib, 3, ibgp("192.0.2.3", "3.3.3.3"));
    up(&mut rib, 4, ibgp("192.0.2.4", "4.4.4.4"));
    up(&mut rib, 5, ebgp("198.51.100.5", 65005, "5.5.5.5"));
    rib
}

fn receivers(rib: &mut Rib, prefix: &str) -> Vec<u32> {
    (1..=5)
        .filter(|peer| announced(&sent_to(rib, *peer)).contains(&net(prefix)))
        .collect()
}

#[test]
fn a_reflector_sends_client_routes_to_everyone_else() {
    let mut rib = reflector();
    receive(&mut rib, 1, route(&["10.1.0.0/16"], "192.0.2.1").build());
    assert_eq!(
        rib.peers_with_output(),
        vec![PeerId(2), PeerId(3), PeerId(4), PeerId(5)]
    );
    assert_eq!(receivers(&mut rib, "10.1.0.0/16"), vec![2, 3, 4, 5]);
}

#[test]
fn a_reflector_sends_non_client_routes_to_clients_and_ebgp_only() {
    let mut rib = reflector();
    receive(&mut rib, 3, route(&["10.3.0.0/16"], "192.0.2.3").build());
    assert_eq!(receivers(&mut rib, "10.3.0.0/16"), vec![1, 2, 5]);
}

#[test]
fn a_reflector_sends_ebgp_routes_to_every_ibgp_peer() {
    let mut rib = reflector();
    receive(
        &mut rib,
        5,
        route(&["10.5.0.0/16"], "198.51.100.5")
            .path(&[65005])
            .build(),
    );
    assert_eq!(receivers(&mut rib, "10.5.0.0/16"), vec![1, 2, 3, 4]);
}

#[test]
fn reflected_routes_carry_originator_id_and_our_cluster_id() {
    let mut rib = reflector();
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .cluster_list(&["10.9.9.9"])
            .build(),
    );
    let updates = sent_to(&mut rib, 3);
    assert_eq!(updates.len(), 1);
    assert_eq!(
        attribute(&updates[0], |value| matches!(
            value,
            AttributeValue::OriginatorId(_)
        )),
        Some(&AttributeValue::OriginatorId(v4("1.1.1.1")))
    );
    let Some(AttributeValue::ClusterList(list)) = attribute(&updates[0], |value| {
        matches!(value, AttributeValue::ClusterList(_))
    }) else {
        panic!("no CLUSTER_LIST");
    };
    let ids: Vec<String> = list.iter().map(|id| id.to_string()).collect();
    assert_eq!(ids, vec!["10.255.0.1", "10.9.9.9"]);
    // The next hop is the client's own, not ours.
    assert_eq!(updates[0].next_hop(), Some(v4("192.0.2.1")));
    // Towards eBGP neither attribute leaves the AS.
    let updates = sent_to(&mut rib, 5);
    assert!(attribute(&updates[0], |value| matches!(
        value,
        AttributeValue::OriginatorId(_) | AttributeValue::ClusterList(_)
    ))
    .is_none());
}

#[test]
fn without_reflection_ibgp_routes_do_not_go_to_ibgp_peers() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, client("192.0.2.1", "1.1.1.1"));
    up(&mut rib, 2, ibgp("192.0.2.2", "2.2.2.2"));
    up(&mut rib, 3, ebgp("198.51.100.3", 65003, "3.3.3.3"));
    receive(&mut rib, 1, route(&["10.1.0.0/16"], "192.0.2.1").build());
    assert!(sent_to(&mut rib, 2).is_empty());
    assert_eq!(announced(&sent_to(&mut rib, 3)), vec![net("10.1.0.0/16")]);
}

#[test]
fn ebgp_routes_go_to_other_ebgp_peers_only_with_transit() {
    for transit in [false, true] {
        let mut rib = Rib::new(RibConfig {
            transit,
            ..config()
        });
        up(&mut rib, 1, ebgp("198.51.100.1", 65001, "1.1.1.1"));
        up(&mut rib, 2, ebgp("198.51.100.2", 65002, "2.2.2.2"));
        up(&mut rib, 3, ibgp("192.0.2.3", "3.3.3.3"));
        receive(&mut rib, 1, from_external_peer(&["10.1.0.0/16"]));
        let expected = if transit {
            vec![net("10.1.0.0/16")]
        } else {
            vec![]
        };
        assert_eq!(
            announced(&sent_to(&mut rib, 2)),
            expected,
            "transit {transit}"
        );
        assert_eq!(announced(&sent_to(&mut rib, 3)), vec![net("10.1.0.0/16")]);
    }
}

#[test]
fn routes_never_go_back_to_their_peer() {
    let mut rib = Rib::new(RibConfig {
        transit: true,
        cluster_id: Some(v4("10.255.0.1")),
        ..config()
    });
    up(&mut rib, 1, ebgp("198.51.100.1", 65001, "1.1.1.1"));
    up(&mut rib, 2, client("192.0.2.2", "2.2.2.2"));
    receive(&mut rib, 1, from_external_peer(&["10.1.0.0/16"]));
    receive(&mut rib, 2, route(&["10.2.0.0/16"], "192.0.2.2").build());
    assert_eq!(announced(&sent_to(&mut rib, 1)), vec![net("10.2.0.0/16")]);
    assert_eq!(announced(&sent_to(&mut rib, 2)), vec![net("10.1.0.0/16")]);
}

#[test]
fn ebgp_peers_get_our_as_next_hop_self_and_no_med_or_local_pref() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ibgp("192.0.2.1", "1.1.1.1"));
    up(&mut rib, 2, ebgp("198.51.100.2", 65002, "2.2.2.2"));
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1")
            .path(&[65009])
            .med(7)
            .local_pref(300)
            .originator("9.9.9.9")
            .build(),
    );
    let updates = sent_to(&mut rib, 2);
    assert_eq!(updates.len(), 1);
    let update = &updates[0];
    assert_eq!(update.next_hop(), Some(v4("10.0.0.1")));
    assert_eq!(
        update.as_path().unwrap().to_string(),
        format!("{LOCAL_AS} 65009")
    );
    assert!(attribute(update, |value| matches!(
        value,
        AttributeValue::MultiExitDisc(_)
    ))
    .is_none());
    assert!(attribute(update, |value| matches!(
        value,
        AttributeValue::LocalPref(_)
    ))
    .is_none());
    assert!(attribute(update, |value| matches!(
        value,
        AttributeValue::OriginatorId(_)
    ))
    .is_none());
}

/// Calico's keepOriginalNextHop: a learned route keeps its next hop towards
/// that eBGP peer; the node's own prefixes still carry next hop self.
#[test]
fn keep_next_hop_keeps_the_learned_next_hop_towards_that_ebgp_peer_only() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ibgp("192.0.2.1", "1.1.1.1"));
    up(
        &mut rib,
        2,
        PeerInfo {
            keep_next_hop: true,
            ..ebgp("198.51.100.2", 65002, "2.2.2.2")
        },
    );
    up(&mut rib, 3, ebgp("198.51.100.3", 65003, "3.3.3.3"));
    rib.originate(net("10.9.0.0/24"), Vec::new(), Vec::new());
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "192.0.2.1").path(&[65009]).build(),
    );
    let next_hop_of = |updates: &[Update], prefix: &str| {
        updates
            .iter()
            .find(|update| {
                update
                    .announced
                    .iter()
                    .any(|nlri| nlri.prefix == net(prefix))
            })
            .and_then(Update::next_hop)
    };
    let kept = sent_to(&mut rib, 2);
    assert_eq!(next_hop_of(&kept, "10.1.0.0/16"), Some(v4("192.0.2.1")));
    assert_eq!(next_hop_of(&kept, "10.9.0.0/24"), Some(v4("10.0.0.1")));
    let changed = sent_to(&mut rib, 3);
    assert_eq!(next_hop_of(&changed, "10.1.0.0/16"), Some(v4("10.0.0.1")));
}

/// Calico's `nextHopMode: Self` (BIRD's `next hop self`): our next hop on
/// every route towards that peer, eBGP-learned ones sent over iBGP too, and
/// over eBGP even where `keepOriginalNextHop` would keep it.
#[test]
fn next_hop_self_sets_our_next_hop_on_every_route_towards_that_peer() {
    // Transit: eBGP-learned routes go to the other eBGP peer too.
    let mut rib = Rib::new(RibConfig {
        transit: true,
        ..config()
    });
    up(&mut rib, 1, ebgp("198.51.100.1", 65001, "1.1.1.1"));
    up(&mut rib, 2, ibgp("192.0.2.2", "2.2.2.2"));
    up(
        &mut rib,
        3,
        PeerInfo {
            next_hop_self: true,
            ..ibgp("192.0.2.3", "3.3.3.3")
        },
    );
    up(
        &mut rib,
        4,
        PeerInfo {
            next_hop_self: true,
            keep_next_hop: true,
            ..ebgp("198.51.100.4", 65004, "4.4.4.4")
        },
    );
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "198.51.100.1")
            .path(&[65001])
            .build(),
    );
    let next_hop = |rib: &mut Rib, peer: u32| sent_to(rib, peer)[0].next_hop();
    assert_eq!(
        next_hop(&mut rib, 2),
        Some(v4("198.51.100.1")),
        "Auto keeps it over iBGP"
    );
    assert_eq!(next_hop(&mut rib, 3), Some(v4("10.0.0.1")));
    assert_eq!(next_hop(&mut rib, 4), Some(v4("10.0.0.1")));
}

/// Calico's `localASNumber` (BIRD's per-protocol `local as`): towards that
/// peer the session's AS is prepended, not the node's.
#[test]
fn a_session_with_its_own_local_as_prepends_that_as() {
    let mut rib = Rib::new(config());
    up(
        &mut rib,
        2,
        PeerInfo {
            local_as: Some(Asn(64999)),
            ..ebgp("198.51.100.2", 65002, "2.2.2.2")
        },
    );
    up(&mut rib, 3, ebgp("198.51.100.3", 65003, "3.3.3.3"));
    rib.originate(net("10.9.0.0/24"), Vec::new(), Vec::new());
    let path_to = |rib: &mut Rib, peer: u32| sent_to(rib, peer)[0].as_path().unwrap().to_string();
    assert_eq!(path_to(&mut rib, 2), "64999");
    assert_eq!(path_to(&mut rib, 3), LOCAL_AS.to_string());
}

#[test]
fn ibgp_peers_get_local_pref_and_the_learned_next_hop() {
    let mut rib = external_and_internal_peer();
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "198.51.100.1")
            .path(&[65001])
            .med(7)
            .build(),
    );
    let updates = sent_to(&mut rib, 2);
    let update = &updates[0];
    assert_eq!(update.next_hop(), Some(v4("198.51.100.1")));
    assert_eq!(update.as_path().unwrap().to_string(), "65001");
    assert_eq!(
        attribute(update, |value| matches!(
            value,
            AttributeValue::LocalPref(_)
        )),
        Some(&AttributeValue::LocalPref(100))
    );
    // A MED from the neighbouring AS is kept inside our AS.
    assert_eq!(
        attribute(update, |value| matches!(
            value,
            AttributeValue::MultiExitDisc(_)
        )),
        Some(&AttributeValue::MultiExitDisc(7))
    );
}

#[test]
fn local_routes_go_to_everyone_with_next_hop_self_and_their_communities() {
    let mut rib = external_and_internal_peer();
    let large = LargeCommunity {
        global: LOCAL_AS,
        local1: 1,
        local2: 2,
    };
    rib.originate(
        net("10.244.1.0/24"),
        vec![Community(LOCAL_AS << 16 | 100)],
        vec![large],
    );
    let to_ebgp = sent_to(&mut rib, 1);
    assert_eq!(
        to_ebgp[0].as_path().unwrap().to_string(),
        LOCAL_AS.to_string()
    );
    assert_eq!(to_ebgp[0].next_hop(), Some(v4("10.0.0.1")));
    assert_eq!(to_ebgp[0].origin(), Some(bgp_wire::Origin::Igp));
    assert!(
        matches!(attribute(&to_ebgp[0], |value| matches!(value, AttributeValue::Communities(_))), Some(AttributeValue::Communities(list)) if list.iter().eq([Community(LOCAL_AS << 16 | 100)]))
    );
    assert!(
        matches!(attribute(&to_ebgp[0], |value| matches!(value, AttributeValue::LargeCommunities(_))), Some(AttributeValue::LargeCommunities(list)) if list.iter().eq([large]))
    );
    let to_ibgp = sent_to(&mut rib, 2);
    assert!(to_ibgp[0].as_path().unwrap().is_empty());
    assert_eq!(to_ibgp[0].next_hop(), Some(v4("10.0.0.1")));
    assert_eq!(
        attribute(&to_ibgp[0], |value| matches!(
            value,
            AttributeValue::LocalPref(_)
        )),
        Some(&AttributeValue::LocalPref(100))
    );
    // Never in the FIB.
    assert!(rib.poll_fib().is_empty());
}

#[test]
fn no_ipv6_next_hop_means_no_ipv6_routes() {
    let mut rib = Rib::new(config());
    up(
        &mut rib,
        1,
        PeerInfo {
            next_hop_v6: None,
            ..ibgp("192.0.2.1", "1.1.1.1")
        },
    );
    up(&mut rib, 2, ibgp("192.0.2.2", "2.2.2.2"));
    originate(&mut rib, &["2001:db8:5::/48", "10.5.0.0/16"]);
    assert_eq!(announced(&sent_to(&mut rib, 1)), vec![net("10.5.0.0/16")]);
    let updates = sent_to(&mut rib, 2);
    assert_eq!(
        announced(&updates),
        vec![net("10.5.0.0/16"), net("2001:db8:5::/48")]
    );
    let reach = updates.iter().find_map(Update::mp_reach).unwrap();
    assert_eq!(reach.family, Family::IPV6_UNICAST);
    assert_eq!(reach.next_hop_addresses(), vec![ip("2001:db8::1")]);
}

#[test]
fn only_negotiated_families_are_sent() {
    let mut rib = Rib::new(config());
    originate(&mut rib, &["2001:db8:5::/48", "10.5.0.0/16"]);
    rib.peer_up(
        PeerId(1),
        PeerInfo {
            families: vec![Family::IPV6_UNICAST],
            ..ibgp("192.0.2.1", "1.1.1.1")
        },
    );
    let updates = sent_to(&mut rib, 1);
    assert_eq!(announced(&updates), vec![net("2001:db8:5::/48")]);
    // End-of-RIB for IPv6 only: an MP_UNREACH_NLRI with no prefixes.
    assert_eq!(
        updates.last().unwrap().end_of_rib(),
        Some(Family::IPV6_UNICAST)
    );
    assert_eq!(end_of_rib_markers(&updates), 1);
}

#[test]
fn unknown_transitive_attributes_pass_on_as_partial_and_non_transitive_ones_stop() {
    let mut rib = external_and_internal_peer();
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "198.51.100.1")
            .path(&[65001])
            .unknown(0xC0, 99, b"ab")
            .unknown(0x80, 98, b"cd")
            .build(),
    );
    let updates = sent_to(&mut rib, 2);
    let unknown: Vec<(u8, u8)> = updates[0]
        .attributes
        .iter()
        .filter_map(|attribute| match &attribute.value {
            AttributeValue::Other { type_code, .. } => Some((attribute.flags.0, type_code.0)),
            _ => None,
        })
        .collect();
    assert_eq!(unknown, vec![(0xE0, 99)]);
}

#[test]
fn communities_no_export_and_no_advertise_are_honoured() {
    let mut rib = external_and_internal_peer();
    rib.originate(net("10.1.0.0/16"), vec![Community::NO_EXPORT], vec![]);
    rib.originate(net("10.2.0.0/16"), vec![Community::NO_ADVERTISE], vec![]);
    assert!(announced(&sent_to(&mut rib, 1)).is_empty());
    assert_eq!(announced(&sent_to(&mut rib, 2)), vec![net("10.1.0.0/16")]);
}

#[test]
fn prefixes_with_the_same_attributes_share_one_update() {
    let mut rib = external_and_internal_peer();
    let prefixes: Vec<String> = (0..50).map(|index| format!("10.{index}.0.0/16")).collect();
    let texts: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    // Two UPDATEs with equal attributes, and one prefix with a different path.
    receive(
        &mut rib,
        1,
        route(&texts[..25], "198.51.100.1").path(&[65001]).build(),
    );
    receive(
        &mut rib,
        1,
        route(&texts[25..], "198.51.100.1").path(&[65001]).build(),
    );
    receive(
        &mut rib,
        1,
        route(&["192.168.0.0/16"], "198.51.100.1")
            .path(&[65001, 2])
            .build(),
    );
    let updates = sent_to(&mut rib, 2);
    assert_eq!(updates.len(), 2);
    let sizes: Vec<usize> = updates
        .iter()
        .map(|update| update.announced.len())
        .collect();
    assert_eq!(sizes, vec![50, 1]);
    assert_eq!(rib.advertised(PeerId(2)).count(), 51);
    assert!(sent_to(&mut rib, 2).is_empty());
    assert!(rib.peers_with_output().is_empty());
}

#[test]
fn a_withdrawal_follows_an_announcement() {
    let mut rib = external_and_internal_peer();
    receive(&mut rib, 1, from_external_peer(&["10.1.0.0/16"]));
    receive(
        &mut rib,
        1,
        route(&["2001:db8:1::/48"], "2001:db8::100")
            .path(&[65001])
            .build(),
    );
    assert_eq!(announced(&sent_to(&mut rib, 2)).len(), 2);
    receive(&mut rib, 1, withdraw(&["10.1.0.0/16"]));
    receive(&mut rib, 1, withdraw(&["2001:db8:1::/48"]));
    let updates = sent_to(&mut rib, 2);
    assert_eq!(
        withdrawn(&updates),
        vec![net("10.1.0.0/16"), net("2001:db8:1::/48")]
    );
    assert!(announced(&updates).is_empty());
    assert_eq!(rib.advertised(PeerId(2)).count(), 0);
}

#[test]
fn a_flap_between_polls_sends_only_the_final_state() {
    let mut rib = external_and_internal_peer();
    // Announced and withdrawn before any poll: nothing at all.
    receive(&mut rib, 1, from_external_peer(&["10.1.0.0/16"]));
    receive(&mut rib, 1, withdraw(&["10.1.0.0/16"]));
    assert!(sent_to(&mut rib, 2).is_empty());
    // Sent, then changed twice: only the last attributes.
    receive(&mut rib, 1, from_external_peer(&["10.1.0.0/16"]));
    sent_to(&mut rib, 2);
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "198.51.100.1")
            .path(&[65001, 1])
            .build(),
    );
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "198.51.100.1")
            .path(&[65001, 2])
            .build(),
    );
    let updates = sent_to(&mut rib, 2);
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].as_path().unwrap().to_string(), "65001 2");
    // Withdrawn and back as it was sent: nothing to say.
    receive(&mut rib, 1, withdraw(&["10.1.0.0/16"]));
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16"], "198.51.100.1")
            .path(&[65001, 2])
            .build(),
    );
    assert!(sent_to(&mut rib, 2).is_empty());
}

#[test]
fn the_initial_table_ends_with_end_of_rib_once() {
    let mut rib = Rib::new(config());
    originate(&mut rib, &["10.1.0.0/16", "2001:db8:1::/48"]);
    rib.peer_up(PeerId(1), ibgp("192.0.2.1", "1.1.1.1"));
    assert_eq!(rib.peers_with_output(), vec![PeerId(1)]);
    let updates = sent_to(&mut rib, 1);
    assert_eq!(updates.len(), 4);
    assert_eq!(
        announced(&updates[..2]),
        vec![net("10.1.0.0/16"), net("2001:db8:1::/48")]
    );
    assert_eq!(updates[2].end_of_rib(), Some(Family::IPV4_UNICAST));
    assert_eq!(updates[3].end_of_rib(), Some(Family::IPV6_UNICAST));
    originate(&mut rib, &["10.2.0.0/16"]);
    let updates = sent_to(&mut rib, 1);
    assert_eq!(announced(&updates), vec![net("10.2.0.0/16")]);
    assert!(updates.iter().all(|update| update.end_of_rib().is_none()));
    // A new session starts over: full table and End-of-RIB again.
    rib.peer_down(PeerId(1), false);
    rib.peer_up(PeerId(1), ibgp("192.0.2.1", "1.1.1.1"));
    let updates = sent_to(&mut rib, 1);
    assert_eq!(announced(&updates).len(), 3);
    assert_eq!(end_of_rib_markers(&updates), 2);
}

#[test]
fn route_refresh_sends_the_family_again() {
    let mut rib = Rib::new(config());
    originate(&mut rib, &["10.1.0.0/16", "2001:db8:1::/48"]);
    up(&mut rib, 1, ibgp("192.0.2.1", "1.1.1.1"));
    assert!(sent_to(&mut rib, 1).is_empty());
    rib.refresh(PeerId(1), Family::IPV4_UNICAST);
    let updates = sent_to(&mut rib, 1);
    assert_eq!(announced(&updates), vec![net("10.1.0.0/16")]);
    assert!(updates.iter().all(|update| update.end_of_rib().is_none()));
}

/// A prefix that changes while a refresh is sent a batch at a time is both
/// still to be sent again and changed: one poll resolves it twice, and it
/// must be announced once.
#[test]
fn a_prefix_changed_during_a_refresh_is_announced_once() {
    let mut rib = Rib::new(config());
    originate(&mut rib, &["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"]);
    up(&mut rib, 1, ibgp("192.0.2.1", "1.1.1.1"));
    rib.refresh(PeerId(1), Family::IPV4_UNICAST);
    let one = Batch {
        prefixes: 1,
        messages: 1,
    };
    let first = announced(&rib.poll_updates_within(PeerId(1), one));
    assert_eq!(first.len(), 1);
    let rest: Vec<IpNet> = ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"]
        .into_iter()
        .map(net)
        .filter(|prefix| !first.contains(prefix))
        .collect();
    // Changed twice before the next poll, and still due to be sent again.
    for community in [1, 2] {
        rib.originate(rest[0], vec![Community(community)], vec![]);
    }
    assert_eq!(announced(&sent_to(&mut rib, 1)), rest);
}

/// A prefix that changes twice between two polls is announced once, with
/// what it has at the poll; one that changes and changes back is not sent
/// again, since the peer has what it would be sent.
#[test]
fn a_prefix_changed_between_polls_is_sent_as_it_is_at_the_poll() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ibgp("192.0.2.1", "1.1.1.1"));
    for community in [1, 2, 3] {
        rib.originate(net("10.1.0.0/16"), vec![Community(community)], vec![]);
    }
    let updates = sent_to(&mut rib, 1);
    assert_eq!(announced(&updates), vec![net("10.1.0.0/16")]);
    let Some(AttributeValue::Communities(communities)) = attribute(&updates[0], |value| {
        matches!(value, AttributeValue::Communities(_))
    }) else {
        panic!("no COMMUNITIES");
    };
    assert_eq!(communities.iter().collect::<Vec<_>>(), [Community(3)]);
    for community in [4, 3] {
        rib.originate(net("10.1.0.0/16"), vec![Community(community)], vec![]);
    }
    assert!(
        sent_to(&mut rib, 1).is_empty(),
        "changed back: nothing to send"
    );
}

/// What the Adj-RIB-Out holds for a poll (each outgoing set, pinned) is let
/// go after it: once every route is withdrawn, no attribute set is left.
#[test]
fn no_attribute_set_outlives_the_routes_sent_with_it() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ibgp("192.0.2.1", "1.1.1.1"));
    for (index, prefix) in ["10.1.0.0/16", "10.2.0.0/16", "2001:db8:1::/48"]
        .into_iter()
        .enumerate()
    {
        rib.originate(net(prefix), vec![Community(index as u32)], vec![]);
    }
    assert_eq!(announced(&sent_to(&mut rib, 1)).len(), 3);
    assert!(rib.statistics().attribute_sets >= 3);
    for prefix in ["10.1.0.0/16", "10.2.0.0/16", "2001:db8:1::/48"] {
        rib.withdraw_origin(net(prefix));
    }
    assert_eq!(withdrawn(&sent_to(&mut rib, 1)).len(), 3);
    assert_eq!(rib.statistics().attribute_sets, 0);
}

#[test]
fn updates_to_two_octet_peers_carry_as4_path() {
    let mut rib = Rib::new(RibConfig {
        local_as: Asn(4_200_000_001),
        ..config()
    });
    up(
        &mut rib,
        1,
        PeerInfo {
            four_octet_asn: false,
            ..ebgp("198.51.100.1", 65001, "1.1.1.1")
        },
    );
    originate(&mut rib, &["10.1.0.0/16"]);
    let updates = sent_to(&mut rib, 1);
    let Some(AttributeValue::As4Path(path)) = attribute(&updates[0], |value| {
        matches!(value, AttributeValue::As4Path(_))
    }) else {
        panic!("no AS4_PATH");
    };
    assert_eq!(path.to_string(), "4200000001");
    // And the whole thing encodes.
    let context = bgp_wire::CodecContext {
        four_octet_asn: false,
        ..Default::default()
    };
    let mut octets = bytes::BytesMut::new();
    assert_eq!(updates[0].encode(&context, &mut octets), Ok(1));
}

#[test]
fn a_peer_going_down_loses_its_adj_rib_out_and_withdraws_its_routes_elsewhere() {
    let mut rib = external_and_internal_peer();
    originate(&mut rib, &["10.9.0.0/16"]);
    receive(&mut rib, 1, from_external_peer(&["10.1.0.0/16"]));
    sent_to(&mut rib, 1);
    sent_to(&mut rib, 2);
    assert_eq!(rib.advertised(PeerId(1)).count(), 1);
    rib.peer_down(PeerId(1), false);
    assert_eq!(rib.advertised(PeerId(1)).count(), 0);
    assert_eq!(withdrawn(&sent_to(&mut rib, 2)), vec![net("10.1.0.0/16")]);
    let advertised: Vec<IpNet> = rib
        .advertised(PeerId(2))
        .map(|(prefix, _)| prefix)
        .collect();
    assert_eq!(advertised, vec![net("10.9.0.0/16")]);
}

/// Split horizon after a change of best path: a peer that was sent a route
/// and then itself announces the better path is sent a withdrawal.
#[test]
fn a_peer_whose_own_path_becomes_best_is_sent_a_withdrawal() {
    let mut rib = rib_with_ebgp_peer();
    up(&mut rib, 2, ibgp("192.0.2.2", "2.2.2.2"));
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    let sent = rib.poll_updates(PeerId(2));
    assert_eq!(announced(&sent), vec![net("10.1.0.0/16")]);
    receive(
        &mut rib,
        2,
        route(&["10.1.0.0/16"], "192.0.2.2")
            .path(&[65009])
            .local_pref(200)
            .build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(2)));
    let sent = rib.poll_updates(PeerId(2));
    assert_eq!(withdrawn(&sent), vec![net("10.1.0.0/16")]);
    assert_eq!(rib.advertised(PeerId(2)).count(), 0);
    // And peer 1 now gets peer 2's path (iBGP-learned to eBGP).
    let sent = rib.poll_updates(PeerId(1));
    assert_eq!(announced(&sent), vec![net("10.1.0.0/16")]);
}

/// Without transit, an eBGP peer that was sent our own prefix is sent a
/// withdrawal when we stop originating it, even though another eBGP peer's
/// path for it remains (and becomes best).
#[test]
fn withdrawing_an_origin_withdraws_it_from_ebgp_peers_that_may_not_get_the_learned_path() {
    let mut rib = rib_with_ebgp_peer();
    up(&mut rib, 2, ebgp("192.0.2.2", 65002, "2.2.2.2"));
    rib.originate(net("10.1.0.0/16"), Vec::new(), Vec::new());
    receive(&mut rib, 1, from_ebgp_peer(&["10.1.0.0/16"]));
    assert_eq!(
        announced(&rib.poll_updates(PeerId(2))),
        vec![net("10.1.0.0/16")]
    );
    rib.poll_fib();
    rib.withdraw_origin(net("10.1.0.0/16"));
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(1)));
    assert_eq!(
        withdrawn(&rib.poll_updates(PeerId(2))),
        vec![net("10.1.0.0/16")]
    );
    // The learned path goes into the FIB now that we no longer own the prefix.
    assert_eq!(
        rib.poll_fib(),
        vec![bgp_rib::FibChange {
            prefix: net("10.1.0.0/16"),
            next_hops: [ip("192.0.2.1")].into_iter().collect()
        }]
    );
}

/// The groups an UPDATE's set may go to are asked once for the UPDATE
/// (`Eligibility`), but only for prefixes whose best path is that set's: a
/// prefix of the same UPDATE whose best path is now another peer's is asked
/// anew, and goes where that path may go.
#[test]
fn a_prefix_of_an_update_whose_best_path_is_another_peers_goes_where_that_path_may() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("198.51.100.1", 65001, "1.1.1.1"));
    up(&mut rib, 3, ibgp("192.0.2.3", "3.3.3.3"));
    // No transit: peers 1 and 4 share one update group, 1 standing for both.
    up(&mut rib, 4, ebgp("198.51.100.4", 65004, "4.4.4.4"));
    let from_internal = |prefix: &str, path: &[u32]| {
        route(&[prefix], "192.0.2.3")
            .path(path)
            .local_pref(100)
            .build()
    };
    receive(
        &mut rib,
        3,
        from_internal("10.1.0.0/16", &[65010, 65011, 65012, 65013]),
    );
    receive(&mut rib, 3, from_internal("10.2.0.0/16", &[65010]));
    // Peer 1's 10.2.0.0/16 wins (as long, and from eBGP: RFC 4271 §9.1.2.2 d).
    receive(
        &mut rib,
        1,
        route(&["10.2.0.0/16"], "198.51.100.1")
            .path(&[65001])
            .build(),
    );
    assert_eq!(best_peer(&rib, "10.2.0.0/16"), Some(PeerId(1)));
    assert_eq!(announced(&sent_to(&mut rib, 4)), vec![net("10.1.0.0/16")]);
    // One UPDATE: for the first prefix peer 1's path becomes the best, which
    // the group of peers 1 and 4 may not be sent; for the second, peer 3's
    // path becomes the best again, which it may.
    receive(
        &mut rib,
        1,
        route(&["10.1.0.0/16", "10.2.0.0/16"], "198.51.100.1")
            .path(&[65001, 65002])
            .build(),
    );
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(1)));
    assert_eq!(best_peer(&rib, "10.2.0.0/16"), Some(PeerId(3)));
    let updates = sent_to(&mut rib, 4);
    assert_eq!(announced(&updates), vec![net("10.2.0.0/16")]);
    assert_eq!(withdrawn(&updates), vec![net("10.1.0.0/16")]);
}

/// Two peers may send one set (same AS_PATH, same next hop): a verdict
/// kept for the set as one peer's is not the other's. Here the UPDATE's own
/// path makes the first prefix's verdict for the sender's group "no" (split
/// horizon), and the second prefix's best becomes the other peer's path with
/// the same set, which the sender may be sent.
#[test]
fn a_verdict_kept_for_a_set_from_one_peer_is_not_the_same_sets_from_another() {
    let mut rib = Rib::new(RibConfig {
        transit: true,
        ..config()
    });
    // Both in AS 65001; peer 3's lower router ID wins a tie (RFC 4271
    // §9.1.2.2 f).
    up(&mut rib, 2, ebgp("198.51.100.2", 65001, "9.9.9.9"));
    up(&mut rib, 3, ebgp("198.51.100.3", 65001, "3.3.3.3"));
    let shared = |prefixes: &[&str]| route(prefixes, "203.0.113.1").path(&[65001, 65100]).build();
    receive(&mut rib, 3, shared(&["10.2.0.0/16"]));
    // Peer 2's shorter path wins 10.2.0.0/16 for now.
    receive(
        &mut rib,
        2,
        route(&["10.2.0.0/16"], "203.0.113.1")
            .path(&[65001])
            .build(),
    );
    assert_eq!(best_peer(&rib, "10.2.0.0/16"), Some(PeerId(2)));
    let _ = sent_to(&mut rib, 2);
    let _ = sent_to(&mut rib, 3);
    // Peer 2 sends the shared set for a new prefix and for 10.2.0.0/16: the
    // tie goes to peer 3, whose route peer 2 may now be sent.
    receive(&mut rib, 2, shared(&["10.1.0.0/16", "10.2.0.0/16"]));
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(2)));
    assert_eq!(best_peer(&rib, "10.2.0.0/16"), Some(PeerId(3)));
    assert_eq!(announced(&sent_to(&mut rib, 2)), vec![net("10.2.0.0/16")]);
}
