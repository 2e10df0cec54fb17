//! Long-lived graceful restart (RFC 9494): what the RIB does with a peer's
//! stale paths once its restart time is over, and with routes received
//! carrying LLGR_STALE.

mod common;

use bgp_rib::{FibChange, LongLivedStale, PeerId, PeerInfo, Rib, RibConfig};
use bgp_wire::{AttributeValue, Community, Family, Update};
use common::*;

/// The restarting peer: eBGP, LLGR capability.
const RESTARTING: u32 = 2;

/// Transit on, so that eBGP-learned routes reach the other eBGP peers.
fn transit() -> RibConfig {
    RibConfig {
        transit: true,
        ..config()
    }
}

fn long_lived(info: PeerInfo) -> PeerInfo {
    PeerInfo {
        long_lived: true,
        ..info
    }
}

fn restarting() -> PeerInfo {
    long_lived(ebgp("192.0.2.2", 65002, "2.2.2.2"))
}

/// A transit RIB with the restarting peer up.
fn with_restarting_peer() -> Rib {
    let mut rib = Rib::new(transit());
    up(&mut rib, RESTARTING, restarting());
    rib
}

/// A transit RIB with the restarting peer up, its path for 10.1.0.0/16
/// (next hop 192.0.2.2, AS_PATH 65002) received.
fn restarting_peer_with_a_route() -> Rib {
    let mut rib = with_restarting_peer();
    receive(
        &mut rib,
        RESTARTING,
        from_restarting(&["10.1.0.0/16"]).build(),
    );
    rib
}

/// The restarting peer's announcement of `prefixes`, to build on: next hop
/// 192.0.2.2, AS_PATH 65002.
fn from_restarting(prefixes: &[&str]) -> Route {
    route(prefixes, "192.0.2.2").path(&[65002])
}

fn communities_of(rib: &Rib, prefix: &str, peer: u32) -> Vec<Community> {
    rib.lookup(net(prefix))
        .find(|view| view.peer == Some(PeerId(peer)))
        .and_then(|view| {
            view.attributes
                .communities()
                .map(|list| list.iter().collect())
        })
        .unwrap_or_default()
}

/// (stale, long-lived stale) marks of `peer`'s path for `prefix`, `None`
/// when it has none.
fn marks(rib: &Rib, prefix: &str, peer: u32) -> Option<(bool, bool)> {
    rib.lookup(net(prefix))
        .find(|view| view.peer == Some(PeerId(peer)))
        .map(|view| (view.stale, view.long_lived_stale))
}

fn communities_sent(updates: &[Update]) -> Vec<Community> {
    updates
        .iter()
        .flat_map(|update| update.attributes.iter())
        .filter_map(|attribute| match &attribute.value {
            AttributeValue::Communities(list) => Some(list.iter().collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Which competitor the restarting peer's path for 10.1.0.0/16 meets.
#[derive(Debug, Clone, Copy)]
enum Competitor {
    /// iBGP, LOCAL_PREF 50 (the stale path has 200).
    LowerLocalPref,
    /// eBGP, a longer AS path than the stale path's.
    LongerPath,
    /// iBGP (the stale path is eBGP, otherwise equal).
    Internal,
    /// eBGP, better in every way, but received carrying LLGR_STALE.
    ReceivedLongLivedStale,
}

/// RFC 9494 §4.4: long-lived stale paths are least preferred, before any
/// other step; ordinary stale paths (RFC 4724) are not depreferred; two
/// long-lived stale paths compare as usual.
#[test]
fn long_lived_stale_paths_are_least_preferred() {
    use Competitor::*;
    // (competitor, enter long-lived stale?, expected best peer)
    let cases = [
        (LowerLocalPref, false, RESTARTING),
        (LowerLocalPref, true, 3),
        (LongerPath, false, RESTARTING),
        (LongerPath, true, 3),
        (Internal, false, RESTARTING),
        (Internal, true, 3),
        // A received LLGR_STALE route loses to a fresh worse one...
        (ReceivedLongLivedStale, false, RESTARTING),
        // ...and, both long-lived stale, the usual steps decide again.
        (ReceivedLongLivedStale, true, 3),
    ];
    for (competitor, enter, expected) in cases {
        let mut rib = Rib::new(transit());
        let internal_restarting = matches!(competitor, LowerLocalPref);
        let (restarting_info, stale_route) = if internal_restarting {
            (
                long_lived(ibgp("10.0.0.2", "2.2.2.2")),
                route(&["10.1.0.0/16"], "10.0.0.2").local_pref(200),
            )
        } else {
            (restarting(), from_restarting(&["10.1.0.0/16"]))
        };
        let (competitor_info, competitor_route) = match competitor {
            LowerLocalPref => (
                ibgp("10.0.0.3", "3.3.3.3"),
                route(&["10.1.0.0/16"], "10.0.0.3").local_pref(50),
            ),
            LongerPath => (
                ebgp("192.0.2.3", 65003, "3.3.3.3"),
                route(&["10.1.0.0/16"], "192.0.2.3").path(&[65003, 65010, 65020]),
            ),
            Internal => (
                ibgp("10.0.0.3", "3.3.3.3"),
                route(&["10.1.0.0/16"], "10.0.0.3").path(&[65002]),
            ),
            ReceivedLongLivedStale => (
                ebgp("192.0.2.3", 65003, "1.1.1.1"),
                route(&["10.1.0.0/16"], "192.0.2.3")
                    .path(&[65003])
                    .communities(&[Community::LLGR_STALE]),
            ),
        };
        let stale_route = if matches!(competitor, ReceivedLongLivedStale) {
            stale_route.path(&[65002, 65010])
        } else {
            stale_route
        };
        up(&mut rib, RESTARTING, restarting_info);
        up(&mut rib, 3, competitor_info);
        receive(&mut rib, RESTARTING, stale_route.build());
        receive(&mut rib, 3, competitor_route.build());
        rib.peer_down(PeerId(RESTARTING), true);
        if enter {
            rib.enter_long_lived_stale(PeerId(RESTARTING), &[Family::IPV4_UNICAST]);
        }
        assert_eq!(
            best_peer(&rib, "10.1.0.0/16"),
            Some(PeerId(expected)),
            "{competitor:?}, long-lived stale: {enter}"
        );
    }
}

/// A long-lived stale path, alone, is still the best and still forwards.
#[test]
fn a_lone_long_lived_stale_path_stays_best_and_in_the_fib() {
    let mut rib = restarting_peer_with_a_route();
    rib.poll_fib();
    rib.peer_down(PeerId(RESTARTING), true);
    rib.enter_long_lived_stale(PeerId(RESTARTING), &[Family::IPV4_UNICAST]);
    assert_eq!(best_peer(&rib, "10.1.0.0/16"), Some(PeerId(RESTARTING)));
    assert!(rib.poll_fib().is_empty());
}

/// RFC 9494 §4.2: entering long-lived stale removes the paths carrying
/// NO_LLGR and marks the others, LLGR_STALE attached; only stale paths of
/// the families named change.
#[test]
fn entering_long_lived_stale_removes_no_llgr_paths_and_marks_the_rest() {
    let mut rib = with_restarting_peer();
    receive(
        &mut rib,
        RESTARTING,
        from_restarting(&["10.1.0.0/16", "10.2.0.0/16"])
            .communities(&[Community(65002 << 16 | 7)])
            .build(),
    );
    receive(
        &mut rib,
        RESTARTING,
        from_restarting(&["10.3.0.0/16"])
            .communities(&[Community::NO_LLGR])
            .build(),
    );
    receive(
        &mut rib,
        RESTARTING,
        route(&["2001:db8:1::/48"], "2001:db8::2")
            .path(&[65002])
            .build(),
    );
    rib.poll_fib();
    rib.peer_down(PeerId(RESTARTING), true);
    // (prefix, marks after entering long-lived stale for IPv4 only)
    let expected = [
        ("10.1.0.0/16", Some((true, true))),
        ("10.2.0.0/16", Some((true, true))),
        ("10.3.0.0/16", None),
        ("2001:db8:1::/48", Some((true, false))),
    ];
    let outcome = rib.enter_long_lived_stale(PeerId(RESTARTING), &[Family::IPV4_UNICAST]);
    assert_eq!(
        outcome,
        LongLivedStale {
            kept: 2,
            removed: 1
        }
    );
    for (prefix, marks_expected) in expected {
        assert_eq!(marks(&rib, prefix, RESTARTING), marks_expected, "{prefix}");
    }
    // The communities received stay, LLGR_STALE is added once.
    assert_eq!(
        communities_of(&rib, "10.1.0.0/16", RESTARTING),
        [Community(65002 << 16 | 7), Community::LLGR_STALE]
    );
    // Both prefixes share one new interned set.
    let one = rib.lookup(net("10.1.0.0/16")).next().unwrap().attributes as *const _;
    let two = rib.lookup(net("10.2.0.0/16")).next().unwrap().attributes as *const _;
    assert_eq!(one, two);
    assert_eq!(rib.accepted(PeerId(RESTARTING), Family::IPV4_UNICAST), 2);
    assert_eq!(
        rib.poll_fib(),
        [FibChange {
            prefix: net("10.3.0.0/16"),
            next_hops: bgp_rib::NextHops::new()
        }]
    );
    // Entering again changes nothing; then IPv6 turns long-lived stale too.
    let again = rib.enter_long_lived_stale(PeerId(RESTARTING), &[Family::IPV4_UNICAST]);
    assert_eq!(again, LongLivedStale::default());
    rib.enter_long_lived_stale(
        PeerId(RESTARTING),
        &[Family::IPV4_UNICAST, Family::IPV6_UNICAST],
    );
    assert_eq!(
        marks(&rib, "2001:db8:1::/48", RESTARTING),
        Some((true, true))
    );
}

/// Paths learned again since the peer came back are fresh: they do not turn
/// long-lived stale.
#[test]
fn fresh_paths_do_not_turn_long_lived_stale() {
    let mut rib = with_restarting_peer();
    let update = from_restarting(&["10.1.0.0/16", "10.2.0.0/16"]).build();
    receive(&mut rib, RESTARTING, update);
    rib.peer_down(PeerId(RESTARTING), true);
    up(&mut rib, RESTARTING, restarting());
    receive(
        &mut rib,
        RESTARTING,
        from_restarting(&["10.1.0.0/16"]).build(),
    );
    rib.enter_long_lived_stale(PeerId(RESTARTING), &[Family::IPV4_UNICAST]);
    assert_eq!(marks(&rib, "10.1.0.0/16", RESTARTING), Some((false, false)));
    assert_eq!(marks(&rib, "10.2.0.0/16", RESTARTING), Some((true, true)));
}

/// RFC 9494 §4.3: long-lived stale routes go only to peers that announced
/// LLGR, LLGR_STALE attached; the others have them withdrawn. That holds for
/// iBGP peers too (§4.6's partial deployment procedure is not used), and for
/// routes received with LLGR_STALE.
#[test]
fn long_lived_stale_routes_go_only_to_peers_with_the_capability() {
    // (target, LLGR capability, announced with LLGR_STALE?)
    let cases = [
        (ebgp("192.0.2.3", 65003, "3.3.3.3"), false, false),
        (ebgp("192.0.2.3", 65003, "3.3.3.3"), true, true),
        (ibgp("10.0.0.3", "3.3.3.3"), false, false),
        (ibgp("10.0.0.3", "3.3.3.3"), true, true),
    ];
    for (target, capability, expected) in cases {
        let label = format!("internal {} llgr {capability}", target.internal);
        let target = PeerInfo {
            long_lived: capability,
            ..target
        };
        // Ours, kept past the restart time.
        let mut rib = with_restarting_peer();
        up(&mut rib, 3, target.clone());
        receive(
            &mut rib,
            RESTARTING,
            from_restarting(&["10.1.0.0/16"]).build(),
        );
        let first = rib.poll_updates(PeerId(3));
        assert_eq!(announced(&first), [net("10.1.0.0/16")], "{label}");
        assert!(communities_sent(&first).is_empty(), "{label}");
        rib.peer_down(PeerId(RESTARTING), true);
        // Ordinary stale routes are not sent again (nothing changed).
        assert!(rib.poll_updates(PeerId(3)).is_empty(), "{label}");
        rib.enter_long_lived_stale(PeerId(RESTARTING), &[Family::IPV4_UNICAST]);
        let updates = rib.poll_updates(PeerId(3));
        if expected {
            assert_eq!(announced(&updates), [net("10.1.0.0/16")], "{label}");
            assert!(withdrawn(&updates).is_empty(), "{label}");
            assert_eq!(
                communities_sent(&updates),
                [Community::LLGR_STALE],
                "{label}"
            );
        } else {
            assert!(announced(&updates).is_empty(), "{label}");
            assert_eq!(withdrawn(&updates), [net("10.1.0.0/16")], "{label}");
        }

        // Received with LLGR_STALE from a peer: the same rule.
        let mut rib = with_restarting_peer();
        up(&mut rib, 3, target);
        receive(
            &mut rib,
            RESTARTING,
            from_restarting(&["10.1.0.0/16"])
                .communities(&[Community::LLGR_STALE])
                .build(),
        );
        let updates = rib.poll_updates(PeerId(3));
        assert_eq!(
            announced(&updates) == [net("10.1.0.0/16")],
            expected,
            "received, {label}"
        );
    }
}

/// When the peer returns, a path it sends again is fresh (LLGR_STALE gone,
/// sent again to the peers that had it withdrawn), and its End-of-RIB
/// removes the long-lived stale paths it did not send again.
#[test]
fn relearning_and_end_of_rib_end_long_lived_stale_paths() {
    let mut rib = with_restarting_peer();
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    receive(
        &mut rib,
        RESTARTING,
        from_restarting(&["10.1.0.0/16", "10.2.0.0/16"]).build(),
    );
    rib.poll_updates(PeerId(1));
    rib.peer_down(PeerId(RESTARTING), true);
    rib.enter_long_lived_stale(PeerId(RESTARTING), &[Family::IPV4_UNICAST]);
    assert_eq!(
        withdrawn(&rib.poll_updates(PeerId(1))),
        [net("10.1.0.0/16"), net("10.2.0.0/16")]
    );
    rib.poll_fib();
    up(&mut rib, RESTARTING, restarting());
    receive(
        &mut rib,
        RESTARTING,
        from_restarting(&["10.1.0.0/16"]).build(),
    );
    assert_eq!(marks(&rib, "10.1.0.0/16", RESTARTING), Some((false, false)));
    assert!(communities_of(&rib, "10.1.0.0/16", RESTARTING).is_empty());
    let updates = rib.poll_updates(PeerId(1));
    assert_eq!(announced(&updates), [net("10.1.0.0/16")]);
    assert!(communities_sent(&updates).is_empty());
    receive(&mut rib, RESTARTING, Update::default());
    assert_eq!(marks(&rib, "10.2.0.0/16", RESTARTING), None);
    assert_eq!(
        rib.poll_fib(),
        [FibChange {
            prefix: net("10.2.0.0/16"),
            next_hops: bgp_rib::NextHops::new()
        }]
    );
}

/// The end of the long-lived stale time: [`Rib::flush_stale`] removes them,
/// and a session reset without graceful restart does too.
#[test]
fn flush_stale_and_peer_down_remove_long_lived_stale_paths() {
    for flush in [true, false] {
        let mut rib = restarting_peer_with_a_route();
        rib.peer_down(PeerId(RESTARTING), true);
        rib.enter_long_lived_stale(PeerId(RESTARTING), &[Family::IPV4_UNICAST]);
        if flush {
            rib.flush_stale(PeerId(RESTARTING), Some(Family::IPV4_UNICAST));
        } else {
            up(&mut rib, RESTARTING, restarting());
            rib.peer_down(PeerId(RESTARTING), false);
        }
        assert_eq!(rib.statistics().paths, 0, "flush: {flush}");
        assert_eq!(rib.accepted(PeerId(RESTARTING), Family::IPV4_UNICAST), 0);
    }
}

/// Unknown peers have nothing to enter long-lived stale.
#[test]
fn an_unknown_peer_has_nothing_to_keep() {
    let mut rib = Rib::new(transit());
    assert_eq!(
        rib.enter_long_lived_stale(PeerId(9), &[Family::IPV4_UNICAST]),
        LongLivedStale::default()
    );
}

/// A path kept as long-lived stale that the returning peer sends again as it
/// is now (carrying LLGR_STALE: the peer holds it long-lived stale itself) is
/// re-learned: no longer stale nor marked long-lived stale by us (it stays
/// least preferred for the LLGR_STALE it carries). So the next restart
/// treats it as any fresh path: stale, then long-lived stale again.
#[test]
fn a_path_relearned_with_llgr_stale_is_no_longer_ours_to_keep_long_lived() {
    let mut rib = restarting_peer_with_a_route();
    rib.peer_down(PeerId(RESTARTING), true);
    assert_eq!(
        rib.enter_long_lived_stale(PeerId(RESTARTING), &[Family::IPV4_UNICAST]),
        LongLivedStale {
            kept: 1,
            removed: 0
        }
    );
    up(&mut rib, RESTARTING, restarting());
    receive(
        &mut rib,
        RESTARTING,
        from_restarting(&["10.1.0.0/16"])
            .communities(&[Community::LLGR_STALE])
            .build(),
    );
    assert_eq!(marks(&rib, "10.1.0.0/16", RESTARTING), Some((false, true)));
    receive(&mut rib, RESTARTING, Update::default());
    assert_eq!(marks(&rib, "10.1.0.0/16", RESTARTING), Some((false, true)));
    rib.peer_down(PeerId(RESTARTING), true);
    assert_eq!(marks(&rib, "10.1.0.0/16", RESTARTING), Some((true, true)));
    assert_eq!(
        rib.enter_long_lived_stale(PeerId(RESTARTING), &[Family::IPV4_UNICAST]),
        LongLivedStale {
            kept: 1,
            removed: 0
        }
    );
    rib.flush_stale(PeerId(RESTARTING), None);
    assert_eq!(marks(&rib, "10.1.0.0/16", RESTARTING), None);
}
