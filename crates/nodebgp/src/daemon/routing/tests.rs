//! The routing side's graceful-restart rules on a virtual clock.
use std::sync::Arc;

use bgp_wire::{
    AsPath, AttributeValue, GracefulRestart, GracefulRestartFamily, LongLivedFamily, Nlri,
    NlriList, Origin, PathAttribute, RouterId, Update,
};

use super::*;

const PEER: PeerId = PeerId(1);

/// Hands `event` to the routing side at the virtual clock's zero, and
/// lets whatever it leaves for later (removals) finish.
fn event(routing: &mut Routing, event: PeerEvent) -> Vec<Effect> {
    let mut effects = routing.event(event, start());
    while routing.has_background_work() {
        effects.extend(routing.continue_background_work());
    }
    effects
}

/// The virtual clock's zero: every event happens then, and the tests
/// move time by giving later instants to `expire`.
fn start() -> Instant {
    thread_local!(static START: Instant = Instant::now());
    START.with(|start| *start)
}

fn settings() -> RoutingSettings {
    RoutingSettings {
        fib: false,
        fib_netns: None,
        fib_table: 254,
        fib_next_hop_objects: true,
        ipv4_next_hop: None,
        ipv6_next_hop: None,
        max_paths: 1,
        graceful_restart: true,
        restart_time: 120,
        long_lived_stale_time: Some(Duration::from_secs(300)),
        cluster_id: None,
        transit: false,
        max_prefix: None,
        max_prefix_tear_down: true,
        max_prefix_restart: Duration::from_secs(60),
    }
}

/// A peer with these capabilities, up, that sent 10.1.0.0/16.
fn routing(restart_time: u16, long_lived_stale_time: Option<u32>) -> Routing {
    let mut routing = Routing::new(
        &settings(),
        bgp_wire::Asn(65001),
        RouterId(Ipv4Addr::new(192, 0, 2, 1)),
        None,
        None,
        &[],
    );
    let desired = DesiredPeer {
        address: "192.0.2.2:179".parse().unwrap(),
        asn: bgp_wire::Asn(65002),
        local_as: None,
        passive: false,
        source: peer_manager::PeerSource::Global,
        settings: peer_manager::SessionSettings::default(),
        filters: Vec::new(),
        reachable_by: None,
    };
    routing.add_peer(PEER, &desired);
    let negotiated = negotiated(
        Some(GracefulRestart {
            flags: 0,
            restart_time,
            families: vec![GracefulRestartFamily {
                family: Family::IPV4_UNICAST,
                flags: 0x80,
            }],
        }),
        long_lived_stale_time
            .map(|stale_time| {
                Capability::LongLivedGracefulRestart(vec![LongLivedFamily {
                    family: Family::IPV4_UNICAST,
                    flags: 0,
                    stale_time,
                }])
            })
            .into_iter()
            .collect(),
    );
    event(
        &mut routing,
        PeerEvent {
            peer: PEER,
            event: SessionEvent::Established {
                negotiated: Arc::new(negotiated),
                local_address: Some("192.0.2.1:179".parse().unwrap()),
            },
        },
    );
    announce(&mut routing);
    routing
}

/// What an IPv4 session with the peer negotiates.
fn negotiated(restart: Option<GracefulRestart>, peer_capabilities: Vec<Capability>) -> Negotiated {
    Negotiated {
        peer_as: bgp_wire::Asn(65002),
        peer_router_id: RouterId(Ipv4Addr::new(192, 0, 2, 2)),
        hold_time: Duration::from_secs(90),
        keepalive: Duration::from_secs(30),
        families: vec![Family::IPV4_UNICAST],
        four_octet_asn: true,
        route_refresh: true,
        enhanced_route_refresh: false,
        extended_message: false,
        add_path_receive: Vec::new(),
        add_path_send: Vec::new(),
        peer_graceful_restart: restart,
        peer_hostname: None,
        peer_capabilities,
    }
}

/// The peer sends 10.1.0.0/16.
fn announce(routing: &mut Routing) {
    let update = Update {
        withdrawn: NlriList::new(),
        attributes: vec![
            PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
            PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(&[bgp_wire::Asn(
                65002,
            )]))),
            PathAttribute::new(AttributeValue::NextHop(Ipv4Addr::new(192, 0, 2, 2))),
        ],
        announced: vec![Nlri::new("10.1.0.0/16".parse().unwrap())].into(),
    };
    event(
        routing,
        PeerEvent {
            peer: PEER,
            event: SessionEvent::Update {
                update,
                errors: Box::default(),
            },
        },
    );
}

/// The route's (stale, long-lived stale) marks; `None` when it is gone.
fn marks(routing: &Routing) -> Option<(bool, bool)> {
    routing
        .rib()
        .lookup("10.1.0.0/16".parse().unwrap())
        .next()
        .map(|view| (view.stale, view.long_lived_stale))
}

/// RFC 9494 §4.2 as the daemon drives it: stale for the restart time,
/// then long-lived stale for the smaller of both stale times (ours is
/// 300 s), then gone; at once when the restart time is zero; plain
/// graceful restart without the peer's LLGR; nothing kept after a stop.
#[test]
fn a_peer_with_llgr_is_kept_stale_then_long_lived_stale_then_flushed() {
    const GONE: Option<(bool, bool)> = None;
    const STALE: Option<(bool, bool)> = Some((true, false));
    const LONG_LIVED: Option<(bool, bool)> = Some((true, true));
    // (restart time, peer's long-lived stale time, down reason,
    //  marks after down, at +3 s, at +3 s + 299 s, at +3 s + 301 s)
    let cases = [
        (
            2,
            Some(600),
            DownReason::ConnectionClosed,
            [STALE, LONG_LIVED, LONG_LIVED, GONE],
        ),
        (
            2,
            Some(100),
            DownReason::ConnectionClosed,
            [STALE, LONG_LIVED, GONE, GONE],
        ),
        (
            0,
            Some(600),
            DownReason::ConnectionClosed,
            [LONG_LIVED, LONG_LIVED, GONE, GONE],
        ),
        (
            2,
            None,
            DownReason::ConnectionClosed,
            [STALE, GONE, GONE, GONE],
        ),
        (2, Some(600), DownReason::Stopped, [GONE, GONE, GONE, GONE]),
    ];
    for (restart_time, stale_time, reason, expected) in cases {
        let label = format!("restart {restart_time} s, stale {stale_time:?}, {reason}");
        let mut routing = routing(restart_time, stale_time);
        assert_eq!(marks(&routing), Some((false, false)), "{label}");
        let down = start();
        event(
            &mut routing,
            PeerEvent {
                peer: PEER,
                event: SessionEvent::Down(reason),
            },
        );
        let mut seen = vec![marks(&routing)];
        // The restart time ends (2 s, or at once), then the long-lived
        // stale time (counted from the end of the restart time).
        let restart_over = down + Duration::from_secs(3);
        for at in [
            restart_over,
            restart_over + Duration::from_secs(299),
            restart_over + Duration::from_secs(301),
        ] {
            routing.expire(at);
            seen.push(marks(&routing));
        }
        assert_eq!(seen, expected, "{label}");
        assert_eq!(routing.next_deadline(), None, "{label}");
    }
}

/// The peer comes back with this Graceful Restart capability.
fn re_establish(routing: &mut Routing, restart: Option<GracefulRestart>) {
    let negotiated = negotiated(restart, Vec::new());
    event(
        routing,
        PeerEvent {
            peer: PEER,
            event: SessionEvent::Established {
                negotiated: Arc::new(negotiated),
                local_address: Some("192.0.2.1:179".parse().unwrap()),
            },
        },
    );
}

fn down(routing: &mut Routing) {
    event(
        routing,
        PeerEvent {
            peer: PEER,
            event: SessionEvent::Down(DownReason::ConnectionClosed),
        },
    );
}

/// RFC 4724 §4.2: back with the family's F bit clear, or without the
/// capability, the stale routes go at once; with it set they wait for
/// End-of-RIB.
#[test]
fn stale_routes_go_at_once_when_the_peer_returns_without_forwarding_state() {
    let with_flags = |flags| {
        Some(GracefulRestart {
            flags: 0,
            restart_time: 120,
            families: vec![GracefulRestartFamily {
                family: Family::IPV4_UNICAST,
                flags,
            }],
        })
    };
    for (label, restart, expected) in [
        ("F bit set", with_flags(0x80), Some((true, false))),
        ("F bit clear", with_flags(0), None),
        ("no capability", None, None),
    ] {
        let mut routing = routing(120, None);
        down(&mut routing);
        assert_eq!(marks(&routing), Some((true, false)), "{label}");
        re_establish(&mut routing, restart);
        assert_eq!(marks(&routing), expected, "{label}");
    }
}

/// RFC 4724 §4.2: only the families listed in the peer's capability are
/// kept.
#[test]
fn families_missing_from_the_capability_are_not_kept() {
    let mut routing = routing(120, None);
    // The session runs again, now with a capability that lists no family.
    down(&mut routing);
    re_establish(
        &mut routing,
        Some(GracefulRestart {
            flags: 0,
            restart_time: 120,
            families: Vec::new(),
        }),
    );
    assert_eq!(marks(&routing), None, "F bit not set for IPv4: flushed");
    // This session's capability lists no family: nothing is kept when it
    // drops.
    announce(&mut routing);
    assert_eq!(marks(&routing), Some((false, false)));
    down(&mut routing);
    assert_eq!(marks(&routing), None);
    assert_eq!(routing.next_deadline(), None);
}

/// A connection that fails before Established (here: a second Down)
/// leaves the restart timer of the session before it alone.
#[test]
fn a_failed_reconnection_does_not_move_the_restart_deadline() {
    let mut routing = routing(120, None);
    down(&mut routing);
    let deadline = routing.next_deadline();
    assert!(deadline.is_some());
    // A restarted timer would be later: the clock has moved on since.
    down(&mut routing);
    assert_eq!(routing.next_deadline(), deadline);
    assert_eq!(marks(&routing), Some((true, false)));
}

/// RFC 4724 §4.1: while deferred nothing is sent; the end of the
/// deferral sends what is pending, End-of-RIB last.
#[test]
fn deferred_selection_sends_nothing_until_it_ends() {
    let mut routing = routing(120, None);
    routing.defer_updates(true);
    routing.set_originations(&[Origination::parse("10.9.0.0/24").unwrap()]);
    down(&mut routing);
    re_establish(
        &mut routing,
        Some(GracefulRestart {
            flags: 0,
            restart_time: 120,
            families: vec![GracefulRestartFamily {
                family: Family::IPV4_UNICAST,
                flags: 0x80,
            }],
        }),
    );
    let effects = routing.defer_updates(false);
    let sent: Vec<Message> = effects
        .iter()
        .flat_map(|effect| match effect {
            Effect::Send(PEER, outgoing) => outgoing
                .iter()
                .flat_map(|item| match item {
                    Outgoing::Message(message) => vec![message.clone()],
                    Outgoing::Batch(batch) => batch
                        .updates()
                        .iter()
                        .cloned()
                        .map(Message::Update)
                        .collect(),
                })
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let announced = sent.iter().any(|message| {
        matches!(message, Message::Update(update)
            if update.announced.iter().any(|nlri| nlri.prefix.to_string() == "10.9.0.0/24"))
    });
    assert!(announced, "{sent:?}");
    assert!(
        matches!(sent.last(), Some(Message::Update(update)) if update.end_of_rib().is_some()),
        "End-of-RIB last: {sent:?}"
    );
}
