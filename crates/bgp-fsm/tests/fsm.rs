//! The session state machine driven by a virtual clock: one rule of RFC 4271
//! §8.2.2 (or of the RFCs that amend it) per test.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bgp_fsm::{
    Config, ConnectionId, Direction, DownReason, IdleHoldPolicy, Input, Output, Session, StateKind,
    Timer,
};
use bgp_wire::{
    Asn, Capability, ErrorCode, Family, HoldTime, Message, Notification, Open, Received,
    RouteRefresh, RouteRefreshSubtype, RouterId, Update,
};
use bytes::Bytes;

const OUT: ConnectionId = ConnectionId(1);
const IN: ConnectionId = ConnectionId(2);

fn config() -> Config {
    let mut config = Config::new(Asn(65000), Asn(65001), RouterId(Ipv4Addr::new(10, 0, 0, 1)));
    config.connect_retry = Duration::from_secs(10);
    config.idle_hold = IdleHoldPolicy {
        initial: Duration::from_secs(5),
        maximum: Duration::from_secs(60),
    };
    config
}

fn drain(session: &mut Session) -> Vec<Output> {
    std::iter::from_fn(|| session.poll_output()).collect()
}

fn sent(outputs: &[Output]) -> Vec<(ConnectionId, Message)> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Send {
                connection,
                message,
            } => Some((*connection, message.clone())),
            _ => None,
        })
        .collect()
}

fn notification_sent(outputs: &[Output]) -> Option<(u8, u8)> {
    sent(outputs)
        .into_iter()
        .find_map(|(_, message)| match message {
            Message::Notification(notification) => {
                Some((notification.code.0, notification.subcode))
            }
            _ => None,
        })
}

fn closed(outputs: &[Output], connection: ConnectionId) -> bool {
    outputs.contains(&Output::Close { connection })
}

fn open_from(asn: u32, router_id: [u8; 4], hold: u16) -> Open {
    Open::new(
        Asn(asn),
        hold,
        RouterId(Ipv4Addr::from(router_id)),
        vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::FourOctetAs(Asn(asn)),
        ],
    )
}

fn message(message: Message) -> Received {
    Received {
        message,
        errors: Vec::new(),
    }
}

fn receive(session: &mut Session, now: Instant, connection: ConnectionId, value: Message) {
    session.handle(
        now,
        Input::Received {
            connection,
            received: message(value),
        },
    );
}

/// Start → Connect → connected → OpenSent.
fn open_sent(config: Config, now: Instant) -> Session {
    let mut session = Session::new(config, now);
    session.handle(now, Input::Start);
    session.handle(
        now,
        Input::Connected {
            connection: OUT,
            direction: Direction::Outgoing,
        },
    );
    drain(&mut session);
    session
}

/// A session with a 5-second DelayOpen that has just been connected: by us
/// (Connect), or by the peer to a passive session (Active).
fn with_delay_open(now: Instant, passive: bool) -> Session {
    let config = Config {
        passive,
        delay_open: Some(Duration::from_secs(5)),
        ..config()
    };
    let mut session = Session::new(config, now);
    session.handle(now, Input::Start);
    let (connection, direction) = if passive {
        (IN, Direction::Incoming)
    } else {
        (OUT, Direction::Outgoing)
    };
    session.handle(
        now,
        Input::Connected {
            connection,
            direction,
        },
    );
    session
}

fn established(now: Instant) -> Session {
    let mut session = open_sent(config(), now);
    receive(
        &mut session,
        now,
        OUT,
        Message::Open(open_from(65001, [10, 0, 0, 2], 90)),
    );
    receive(&mut session, now, OUT, Message::Keepalive);
    assert_eq!(session.state(), StateKind::Established);
    drain(&mut session);
    session
}

#[test]
fn start_in_idle_connects_and_arms_connect_retry() {
    let now = Instant::now();
    let mut session = Session::new(config(), now);
    session.handle(now, Input::Start);
    let outputs = drain(&mut session);
    assert!(outputs.contains(&Output::Connect));
    assert!(outputs.contains(&Output::StateChanged {
        from: StateKind::Idle,
        to: StateKind::Connect
    }));
    assert_eq!(
        session.deadline(Timer::ConnectRetry),
        Some(now + Duration::from_secs(10))
    );
}

#[test]
fn start_outside_idle_is_ignored() {
    let now = Instant::now();
    let mut session = open_sent(config(), now);
    session.handle(now, Input::Start);
    assert!(drain(&mut session).is_empty());
    assert_eq!(session.state(), StateKind::OpenSent);
}

#[test]
fn a_passive_session_waits_in_active_without_connecting() {
    let now = Instant::now();
    let mut session = Session::new(
        Config {
            passive: true,
            ..config()
        },
        now,
    );
    session.handle(now, Input::Start);
    let outputs = drain(&mut session);
    assert!(!outputs.contains(&Output::Connect));
    assert_eq!(session.state(), StateKind::Active);
    session.handle_timeout(now + Duration::from_secs(3600));
    assert!(!drain(&mut session).contains(&Output::Connect));
}

#[test]
fn connect_retry_expiry_in_connect_tries_again() {
    let now = Instant::now();
    let mut session = Session::new(config(), now);
    session.handle(now, Input::Start);
    drain(&mut session);
    let later = now + Duration::from_secs(10);
    session.handle_timeout(later);
    assert!(drain(&mut session).contains(&Output::Connect));
    assert_eq!(session.state(), StateKind::Connect);
    assert_eq!(
        session.deadline(Timer::ConnectRetry),
        Some(later + Duration::from_secs(10))
    );
}

#[test]
fn a_failed_connection_in_connect_waits_in_active_then_retries() {
    let now = Instant::now();
    let mut session = Session::new(config(), now);
    session.handle(now, Input::Start);
    session.handle(now + Duration::from_secs(1), Input::ConnectFailed);
    assert_eq!(session.state(), StateKind::Active);
    drain(&mut session);
    session.handle_timeout(now + Duration::from_secs(11));
    assert!(drain(&mut session).contains(&Output::Connect));
    assert_eq!(session.state(), StateKind::Connect);
}

#[test]
fn a_connection_sends_open_and_waits_four_minutes_for_the_peers() {
    let now = Instant::now();
    let mut session = Session::new(config(), now);
    session.handle(now, Input::Start);
    session.handle(
        now,
        Input::Connected {
            connection: OUT,
            direction: Direction::Outgoing,
        },
    );
    let outputs = drain(&mut session);
    let opens: Vec<_> = sent(&outputs)
        .into_iter()
        .filter(|(_, message)| matches!(message, Message::Open(_)))
        .collect();
    assert_eq!(opens.len(), 1);
    let Message::Open(open) = &opens[0].1 else {
        unreachable!()
    };
    assert_eq!(open.asn(), Asn(65000));
    assert_eq!(open.hold_time, 90);
    assert_eq!(session.state(), StateKind::OpenSent);
    assert_eq!(
        session.deadline(Timer::Hold),
        Some(now + Duration::from_secs(240))
    );
    assert_eq!(session.deadline(Timer::ConnectRetry), None);
}

#[test]
fn delay_open_holds_our_open_until_its_timer_expires() {
    let now = Instant::now();
    let mut session = with_delay_open(now, false);
    assert!(sent(&drain(&mut session)).is_empty());
    assert_eq!(session.state(), StateKind::Connect);
    session.handle_timeout(now + Duration::from_secs(5));
    let outputs = drain(&mut session);
    assert!(matches!(sent(&outputs)[0].1, Message::Open(_)));
    assert_eq!(session.state(), StateKind::OpenSent);
}

#[test]
fn an_open_during_delay_open_is_answered_with_open_and_keepalive() {
    let now = Instant::now();
    let mut session = with_delay_open(now, false);
    drain(&mut session);
    receive(
        &mut session,
        now,
        OUT,
        Message::Open(open_from(65001, [10, 0, 0, 2], 90)),
    );
    let messages: Vec<Message> = sent(&drain(&mut session))
        .into_iter()
        .map(|(_, message)| message)
        .collect();
    assert!(matches!(messages[0], Message::Open(_)));
    assert_eq!(messages[1], Message::Keepalive);
    assert_eq!(session.state(), StateKind::OpenConfirm);
    assert_eq!(session.deadline(Timer::DelayOpen), None);
}

#[test]
fn a_valid_open_in_open_sent_is_confirmed_with_a_keepalive() {
    let now = Instant::now();
    let mut session = open_sent(config(), now);
    receive(
        &mut session,
        now,
        OUT,
        Message::Open(open_from(65001, [10, 0, 0, 2], 90)),
    );
    let outputs = drain(&mut session);
    assert_eq!(sent(&outputs), vec![(OUT, Message::Keepalive)]);
    assert_eq!(session.state(), StateKind::OpenConfirm);
    let negotiated = session.negotiated().unwrap();
    assert_eq!(negotiated.peer_as, Asn(65001));
    assert!(negotiated.four_octet_asn);
}

#[test]
fn the_hold_time_is_the_smaller_proposal_and_keepalive_a_third_of_it() {
    let now = Instant::now();
    let mut session = open_sent(config(), now);
    receive(
        &mut session,
        now,
        OUT,
        Message::Open(open_from(65001, [10, 0, 0, 2], 30)),
    );
    let negotiated = session.negotiated().unwrap();
    assert_eq!(negotiated.hold_time, Duration::from_secs(30));
    assert_eq!(negotiated.keepalive, Duration::from_secs(10));
    assert_eq!(
        session.deadline(Timer::Hold),
        Some(now + Duration::from_secs(30))
    );
    assert_eq!(
        session.deadline(Timer::Keepalive),
        Some(now + Duration::from_secs(10))
    );
}

#[test]
fn a_zero_hold_time_runs_neither_hold_nor_keepalive_timers() {
    let now = Instant::now();
    let mut session = open_sent(
        Config {
            hold_time: HoldTime::new(0).unwrap(),
            ..config()
        },
        now,
    );
    receive(
        &mut session,
        now,
        OUT,
        Message::Open(open_from(65001, [10, 0, 0, 2], 90)),
    );
    assert_eq!(session.deadline(Timer::Hold), None);
    assert_eq!(session.deadline(Timer::Keepalive), None);
}

#[test]
fn the_wrong_peer_as_is_refused_with_bad_peer_as() {
    let now = Instant::now();
    let mut session = open_sent(config(), now);
    receive(
        &mut session,
        now,
        OUT,
        Message::Open(open_from(65099, [10, 0, 0, 2], 90)),
    );
    let outputs = drain(&mut session);
    assert_eq!(notification_sent(&outputs), Some((2, 2)));
    assert!(closed(&outputs, OUT));
    assert_eq!(session.state(), StateKind::Idle);
    assert!(matches!(session.last_down(), Some(DownReason::NotificationSent(n)) if n.subcode == 2));
}

#[test]
fn the_four_octet_capability_not_my_as_names_the_peer_as() {
    let now = Instant::now();
    let mut session = open_sent(
        Config {
            peer_as: Asn(4_200_000_001),
            ..config()
        },
        now,
    );
    let open = open_from(4_200_000_001, [10, 0, 0, 2], 90);
    assert_eq!(open.my_as, 23456);
    receive(&mut session, now, OUT, Message::Open(open));
    assert_eq!(session.state(), StateKind::OpenConfirm);
}

#[test]
fn an_internal_peer_with_our_router_id_is_a_bad_bgp_identifier() {
    let now = Instant::now();
    let mut session = open_sent(
        Config {
            peer_as: Asn(65000),
            ..config()
        },
        now,
    );
    receive(
        &mut session,
        now,
        OUT,
        Message::Open(open_from(65000, [10, 0, 0, 1], 90)),
    );
    assert_eq!(notification_sent(&drain(&mut session)), Some((2, 3)));
}

#[test]
fn a_keepalive_in_open_confirm_establishes_the_session() {
    let now = Instant::now();
    let mut session = open_sent(config(), now);
    receive(
        &mut session,
        now,
        OUT,
        Message::Open(open_from(65001, [10, 0, 0, 2], 90)),
    );
    drain(&mut session);
    receive(&mut session, now, OUT, Message::Keepalive);
    let outputs = drain(&mut session);
    assert!(outputs
        .iter()
        .any(|output| matches!(output, Output::Established(_))));
    assert_eq!(session.state(), StateKind::Established);
    assert_eq!(session.established_connection(), Some(OUT));
}

#[test]
fn an_update_in_open_sent_is_a_finite_state_machine_error() {
    let now = Instant::now();
    let mut session = open_sent(config(), now);
    receive(&mut session, now, OUT, Message::Update(Update::default()));
    assert_eq!(notification_sent(&drain(&mut session)), Some((5, 1)));
    assert_eq!(session.state(), StateKind::Idle);
}

#[test]
fn an_update_in_open_confirm_is_a_finite_state_machine_error() {
    let now = Instant::now();
    let mut session = open_sent(config(), now);
    receive(
        &mut session,
        now,
        OUT,
        Message::Open(open_from(65001, [10, 0, 0, 2], 90)),
    );
    drain(&mut session);
    receive(&mut session, now, OUT, Message::Update(Update::default()));
    assert_eq!(notification_sent(&drain(&mut session)), Some((5, 2)));
}

#[test]
fn an_open_in_established_is_a_finite_state_machine_error() {
    let now = Instant::now();
    let mut session = established(now);
    receive(
        &mut session,
        now,
        OUT,
        Message::Open(open_from(65001, [10, 0, 0, 2], 90)),
    );
    let outputs = drain(&mut session);
    assert_eq!(notification_sent(&outputs), Some((5, 3)));
    assert!(outputs
        .iter()
        .any(|output| matches!(output, Output::Down(_))));
}

#[test]
fn hold_timer_expiry_in_established_sends_hold_timer_expired() {
    let now = Instant::now();
    let mut session = established(now);
    session.handle_timeout(now + Duration::from_secs(90));
    let outputs = drain(&mut session);
    assert_eq!(notification_sent(&outputs), Some((4, 0)));
    assert!(closed(&outputs, OUT));
    assert_eq!(session.state(), StateKind::Idle);
}

#[test]
fn hold_timer_expiry_in_open_sent_sends_hold_timer_expired() {
    let now = Instant::now();
    let mut session = open_sent(config(), now);
    session.handle_timeout(now + Duration::from_secs(240));
    assert_eq!(notification_sent(&drain(&mut session)), Some((4, 0)));
}

#[test]
fn keepalives_are_sent_every_third_of_the_hold_time() {
    let now = Instant::now();
    let mut session = established(now);
    session.handle_timeout(now + Duration::from_secs(30));
    assert_eq!(sent(&drain(&mut session)), vec![(OUT, Message::Keepalive)]);
    assert_eq!(
        session.deadline(Timer::Keepalive),
        Some(now + Duration::from_secs(60))
    );
}

#[test]
fn keepalives_and_updates_restart_the_hold_timer() {
    let now = Instant::now();
    let mut session = established(now);
    let later = now + Duration::from_secs(60);
    receive(&mut session, later, OUT, Message::Keepalive);
    assert_eq!(
        session.deadline(Timer::Hold),
        Some(later + Duration::from_secs(90))
    );
    let even_later = later + Duration::from_secs(60);
    receive(
        &mut session,
        even_later,
        OUT,
        Message::Update(Update::default()),
    );
    assert_eq!(
        session.deadline(Timer::Hold),
        Some(even_later + Duration::from_secs(90))
    );
    assert!(drain(&mut session)
        .iter()
        .any(|output| matches!(output, Output::Update { .. })));
}

#[test]
fn a_notification_ends_the_session_without_a_reply_and_is_reported() {
    let now = Instant::now();
    let mut session = established(now);
    let notification = Notification::with_shutdown_communication(2, "maintenance");
    receive(
        &mut session,
        now,
        OUT,
        Message::Notification(notification.clone()),
    );
    let outputs = drain(&mut session);
    assert_eq!(notification_sent(&outputs), None);
    assert!(closed(&outputs, OUT));
    assert!(
        outputs.contains(&Output::Down(DownReason::NotificationReceived(
            notification.clone()
        )))
    );
    assert_eq!(
        session.last_down(),
        Some(&DownReason::NotificationReceived(notification))
    );
    assert_eq!(session.state(), StateKind::Idle);
}

#[test]
fn a_closed_connection_in_open_sent_goes_back_to_active() {
    let now = Instant::now();
    let mut session = open_sent(config(), now);
    session.handle(now, Input::Closed { connection: OUT });
    assert_eq!(session.state(), StateKind::Active);
    assert_eq!(
        session.deadline(Timer::ConnectRetry),
        Some(now + Duration::from_secs(10))
    );
}

#[test]
fn a_closed_connection_in_established_goes_idle_and_restarts_after_the_idle_hold() {
    let now = Instant::now();
    let mut session = established(now);
    session.handle(now, Input::Closed { connection: OUT });
    assert_eq!(session.state(), StateKind::Idle);
    assert!(drain(&mut session).contains(&Output::Down(DownReason::ConnectionClosed)));
    session.handle_timeout(now + Duration::from_secs(5));
    assert!(drain(&mut session).contains(&Output::Connect));
}

#[test]
fn manual_stop_sends_a_cease_with_the_shutdown_communication() {
    let now = Instant::now();
    let mut session = established(now);
    session.handle(
        now,
        Input::Stop {
            communication: Some("draining node".into()),
        },
    );
    let outputs = drain(&mut session);
    let notification = sent(&outputs)
        .into_iter()
        .find_map(|(_, message)| match message {
            Message::Notification(notification) => Some(notification),
            _ => None,
        });
    let notification = notification.unwrap();
    assert_eq!(
        (notification.code, notification.subcode),
        (ErrorCode::CEASE, 2)
    );
    assert_eq!(notification.shutdown_communication(), Some("draining node"));
    assert_eq!(session.state(), StateKind::Idle);
    // A stopped session does not restart by itself.
    assert_eq!(session.poll_timeout(), None);
}

#[test]
fn removing_the_peer_sends_cease_peer_deconfigured() {
    let now = Instant::now();
    let mut session = established(now);
    session.handle(now, Input::Deconfigure);
    assert_eq!(notification_sent(&drain(&mut session)), Some((6, 3)));
    assert_eq!(session.poll_timeout(), None);
}

#[test]
fn manual_stop_before_any_open_sends_nothing() {
    let now = Instant::now();
    let mut session = Session::new(config(), now);
    session.handle(now, Input::Start);
    drain(&mut session);
    session.handle(
        now,
        Input::Stop {
            communication: None,
        },
    );
    assert_eq!(notification_sent(&drain(&mut session)), None);
    assert_eq!(session.state(), StateKind::Idle);
}

#[test]
fn repeated_failures_back_off_exponentially_up_to_the_maximum() {
    let mut now = Instant::now();
    let mut session = open_sent(config(), now);
    let mut waits = Vec::new();
    for _ in 0..6 {
        receive(
            &mut session,
            now,
            OUT,
            Message::Open(open_from(65099, [10, 0, 0, 2], 90)),
        );
        drain(&mut session);
        let restart = session.deadline(Timer::IdleHold).unwrap();
        waits.push(restart - now);
        now = restart;
        session.handle_timeout(now);
        session.handle(
            now,
            Input::Connected {
                connection: OUT,
                direction: Direction::Outgoing,
            },
        );
        drain(&mut session);
    }
    let seconds: Vec<u64> = waits.iter().map(Duration::as_secs).collect();
    assert_eq!(seconds, vec![5, 10, 20, 40, 60, 60]);
}

#[test]
fn connections_in_idle_are_refused() {
    let now = Instant::now();
    let mut session = Session::new(config(), now);
    session.handle(
        now,
        Input::Connected {
            connection: IN,
            direction: Direction::Incoming,
        },
    );
    let outputs = drain(&mut session);
    assert!(closed(&outputs, IN));
    assert!(sent(&outputs).is_empty());
}

#[test]
fn a_collision_keeps_our_connection_when_our_identifier_is_higher() {
    let now = Instant::now();
    // Our identifier 10.0.0.1 beats the peer's 10.0.0.0.
    let mut session = open_sent(config(), now);
    session.handle(
        now,
        Input::Connected {
            connection: IN,
            direction: Direction::Incoming,
        },
    );
    assert!(matches!(
        sent(&drain(&mut session))[0],
        (IN, Message::Open(_))
    ));
    receive(
        &mut session,
        now,
        IN,
        Message::Open(open_from(65001, [10, 0, 0, 0], 90)),
    );
    let outputs = drain(&mut session);
    assert_eq!(notification_sent(&outputs), Some((6, 7)));
    assert!(closed(&outputs, IN));
    assert!(!closed(&outputs, OUT));
    receive(
        &mut session,
        now,
        OUT,
        Message::Open(open_from(65001, [10, 0, 0, 0], 90)),
    );
    receive(&mut session, now, OUT, Message::Keepalive);
    assert_eq!(session.established_connection(), Some(OUT));
}

#[test]
fn a_collision_keeps_the_peers_connection_when_its_identifier_is_higher() {
    let now = Instant::now();
    let mut session = open_sent(config(), now);
    session.handle(
        now,
        Input::Connected {
            connection: IN,
            direction: Direction::Incoming,
        },
    );
    drain(&mut session);
    receive(
        &mut session,
        now,
        IN,
        Message::Open(open_from(65001, [10, 0, 0, 9], 90)),
    );
    let outputs = drain(&mut session);
    assert!(sent(&outputs).contains(&(
        OUT,
        Message::Notification(Notification::new(ErrorCode::CEASE, 7, Bytes::new()))
    )));
    assert!(closed(&outputs, OUT));
    assert!(sent(&outputs).contains(&(IN, Message::Keepalive)));
    assert_eq!(session.state(), StateKind::OpenConfirm);
    receive(&mut session, now, IN, Message::Keepalive);
    assert_eq!(session.established_connection(), Some(IN));
}

#[test]
fn a_new_connection_while_established_is_closed_with_a_collision_cease() {
    let now = Instant::now();
    let mut session = established(now);
    session.handle(
        now,
        Input::Connected {
            connection: IN,
            direction: Direction::Incoming,
        },
    );
    let outputs = drain(&mut session);
    assert_eq!(
        sent(&outputs),
        vec![(
            IN,
            Message::Notification(Notification::new(ErrorCode::CEASE, 7, Bytes::new()))
        )]
    );
    assert!(closed(&outputs, IN));
    assert_eq!(session.state(), StateKind::Established);
}

#[test]
fn a_malformed_message_sends_the_notification_its_error_names() {
    let now = Instant::now();
    let mut session = established(now);
    let frame = Bytes::from(vec![0u8; 19]);
    let error = Message::decode(&frame, &bgp_wire::CodecContext::default()).unwrap_err();
    session.handle(
        now,
        Input::Malformed {
            connection: OUT,
            error,
        },
    );
    assert_eq!(notification_sent(&drain(&mut session)), Some((1, 1)));
    assert_eq!(session.state(), StateKind::Idle);
}

#[test]
fn treat_as_withdraw_updates_are_passed_up_but_afi_safi_disable_resets() {
    let now = Instant::now();
    let mut session = established(now);
    let decode = |hex: &str| {
        Message::decode(
            &Bytes::from(hex_octets(hex)),
            &bgp_wire::CodecContext::default(),
        )
        .unwrap()
    };
    // ORIGIN with optional flags: treat-as-withdraw.
    session.handle(
        now,
        Input::Received {
            connection: OUT,
            received: decode(
                "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF0025020000000EC0010100400304C0A80164400200",
            ),
        },
    );
    let outputs = drain(&mut session);
    assert!(outputs
        .iter()
        .any(|output| matches!(output, Output::Update { errors, .. } if !errors.is_empty())));
    assert_eq!(session.state(), StateKind::Established);
    // MP_REACH_NLRI for IPv6 with a 3-octet next hop: afi-safi-disable.
    session.handle(
        now,
        Input::Received {
            connection: OUT,
            received: decode(
                "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF0022020000000B800E0800020103AABBCC00",
            ),
        },
    );
    let outputs = drain(&mut session);
    assert_eq!(notification_sent(&outputs), Some((3, 9)));
    assert_eq!(session.state(), StateKind::Idle);
}

fn hex_octets(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
        .collect()
}

#[test]
fn the_send_hold_timer_ends_a_session_that_cannot_write() {
    let now = Instant::now();
    // Without hold and keepalive timers, only the send hold timer can fire.
    let mut session = open_sent(
        Config {
            hold_time: HoldTime::new(0).unwrap(),
            ..config()
        },
        now,
    );
    receive(
        &mut session,
        now,
        OUT,
        Message::Open(open_from(65001, [10, 0, 0, 2], 0)),
    );
    receive(&mut session, now, OUT, Message::Keepalive);
    drain(&mut session);
    // Nothing flushed since the OPEN: RFC 9687 gives up after max(8 min, 2 × hold).
    let deadline = session.deadline(Timer::SendHold).unwrap();
    assert_eq!(deadline, now + Duration::from_secs(480));
    session.handle_timeout(deadline);
    assert_eq!(notification_sent(&drain(&mut session)), Some((8, 0)));
}

#[test]
fn a_flush_stops_the_send_hold_timer() {
    let now = Instant::now();
    let mut session = established(now);
    session.handle(now, Input::Flushed { connection: OUT });
    assert_eq!(session.deadline(Timer::SendHold), None);
}

#[test]
fn progress_restarts_the_send_hold_timer_and_only_a_running_one() {
    let now = Instant::now();
    let mut session = established(now);
    let first = session.deadline(Timer::SendHold).unwrap();
    let later = now + Duration::from_secs(60);
    session.handle(later, Input::Progress { connection: OUT });
    // RFC 9687 §4: the time without progress counts, not the time since
    // the first unwritten message.
    assert_eq!(
        session.deadline(Timer::SendHold),
        Some(first + Duration::from_secs(60))
    );
    session.handle(later, Input::Flushed { connection: OUT });
    session.handle(later, Input::Progress { connection: OUT });
    assert_eq!(session.deadline(Timer::SendHold), None);
}

#[test]
fn output_the_driver_cannot_hold_ends_the_session_with_out_of_resources() {
    let now = Instant::now();
    let mut session = established(now);
    drain(&mut session);
    // Another connection's overflow is not this session's.
    session.handle(
        now,
        Input::OutOfResources {
            connection: ConnectionId(99),
        },
    );
    assert_eq!(session.state(), StateKind::Established);
    session.handle(now, Input::OutOfResources { connection: OUT });
    // RFC 4486 §4: Cease / Out of Resources.
    assert_eq!(notification_sent(&drain(&mut session)), Some((6, 8)));
    assert_eq!(session.state(), StateKind::Idle);
}

#[test]
fn route_refresh_with_an_unknown_subtype_is_ignored() {
    let now = Instant::now();
    let mut session = established(now);
    let mut refresh = RouteRefresh::request(Family::IPV4_UNICAST);
    receive(
        &mut session,
        now,
        OUT,
        Message::RouteRefresh(refresh.clone()),
    );
    assert!(drain(&mut session).contains(&Output::RouteRefresh(refresh.clone())));
    refresh.subtype = RouteRefreshSubtype(9);
    receive(&mut session, now, OUT, Message::RouteRefresh(refresh));
    assert!(drain(&mut session).is_empty());
}

#[test]
fn messages_on_unknown_connections_are_ignored() {
    let now = Instant::now();
    let mut session = established(now);
    receive(
        &mut session,
        now,
        ConnectionId(99),
        Message::Open(open_from(65001, [10, 0, 0, 2], 90)),
    );
    session.handle(
        now,
        Input::Closed {
            connection: ConnectionId(99),
        },
    );
    assert!(drain(&mut session).is_empty());
    assert_eq!(session.state(), StateKind::Established);
}

/// OpenConfirm after a valid OPEN.
fn open_confirm(now: Instant) -> Session {
    let mut session = open_sent(config(), now);
    receive(
        &mut session,
        now,
        OUT,
        Message::Open(open_from(65001, [10, 0, 0, 2], 90)),
    );
    drain(&mut session);
    assert_eq!(session.state(), StateKind::OpenConfirm);
    session
}

#[test]
fn a_passive_session_answers_an_incoming_connection_with_its_open() {
    let now = Instant::now();
    let mut session = Session::new(
        Config {
            passive: true,
            ..config()
        },
        now,
    );
    session.handle(now, Input::Start);
    session.handle(
        now,
        Input::Connected {
            connection: IN,
            direction: Direction::Incoming,
        },
    );
    assert!(matches!(
        sent(&drain(&mut session))[..],
        [(IN, Message::Open(_))]
    ));
    assert_eq!(session.state(), StateKind::OpenSent);
}

#[test]
fn a_notification_in_open_sent_goes_idle_without_a_reply() {
    let now = Instant::now();
    let mut session = open_sent(config(), now);
    receive(
        &mut session,
        now,
        OUT,
        Message::Notification(Notification::new(ErrorCode::OPEN_MESSAGE, 2, Bytes::new())),
    );
    let outputs = drain(&mut session);
    assert_eq!(notification_sent(&outputs), None);
    assert!(closed(&outputs, OUT));
    assert_eq!(session.state(), StateKind::Idle);
}

#[test]
fn a_malformed_open_in_open_sent_sends_the_notification_it_names() {
    let now = Instant::now();
    let mut session = open_sent(config(), now);
    // Version 3 (RFC 4271 §6.2): Unsupported Version Number, data = 4.
    let frame = Bytes::from(hex_octets(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF001D0103FDE900B40A00000200",
    ));
    let error = Message::decode(&frame, &bgp_wire::CodecContext::default()).unwrap_err();
    session.handle(
        now,
        Input::Malformed {
            connection: OUT,
            error,
        },
    );
    let outputs = drain(&mut session);
    let data = sent(&outputs)
        .into_iter()
        .find_map(|(_, message)| match message {
            Message::Notification(notification) => {
                Some((notification.code.0, notification.subcode, notification.data))
            }
            _ => None,
        });
    assert_eq!(data, Some((2, 1, Bytes::from_static(&[0, 4]))));
    assert_eq!(session.state(), StateKind::Idle);
}

#[test]
fn manual_stop_in_open_sent_sends_a_cease() {
    let now = Instant::now();
    let mut session = open_sent(config(), now);
    session.handle(
        now,
        Input::Stop {
            communication: None,
        },
    );
    assert_eq!(notification_sent(&drain(&mut session)), Some((6, 2)));
}

#[test]
fn the_keepalive_timer_runs_in_open_confirm() {
    let now = Instant::now();
    let mut session = open_confirm(now);
    session.handle_timeout(now + Duration::from_secs(30));
    assert_eq!(sent(&drain(&mut session)), vec![(OUT, Message::Keepalive)]);
    assert_eq!(session.state(), StateKind::OpenConfirm);
}

#[test]
fn hold_timer_expiry_in_open_confirm_sends_hold_timer_expired() {
    let now = Instant::now();
    let mut session = open_confirm(now);
    session.handle_timeout(now + Duration::from_secs(90));
    assert_eq!(notification_sent(&drain(&mut session)), Some((4, 0)));
    assert_eq!(session.state(), StateKind::Idle);
}

#[test]
fn a_closed_connection_in_open_confirm_goes_idle() {
    let now = Instant::now();
    let mut session = open_confirm(now);
    session.handle(now, Input::Closed { connection: OUT });
    let outputs = drain(&mut session);
    assert!(outputs.contains(&Output::Down(DownReason::ConnectionClosed)));
    assert_eq!(session.state(), StateKind::Idle);
}

#[test]
fn a_notification_in_open_confirm_goes_idle_and_is_reported() {
    let now = Instant::now();
    let mut session = open_confirm(now);
    let notification = Notification::new(ErrorCode::CEASE, 5, Bytes::new());
    receive(
        &mut session,
        now,
        OUT,
        Message::Notification(notification.clone()),
    );
    assert_eq!(
        session.last_down(),
        Some(&DownReason::NotificationReceived(notification))
    );
    assert_eq!(session.state(), StateKind::Idle);
}

#[test]
fn a_keepalive_before_any_open_is_a_finite_state_machine_error() {
    let now = Instant::now();
    let mut session = with_delay_open(now, false);
    drain(&mut session);
    receive(&mut session, now, OUT, Message::Keepalive);
    assert_eq!(notification_sent(&drain(&mut session)), Some((5, 0)));
    assert_eq!(session.state(), StateKind::Idle);
}

#[test]
fn delay_open_in_active_sends_our_open_when_it_expires() {
    let now = Instant::now();
    let mut session = with_delay_open(now, true);
    assert!(sent(&drain(&mut session)).is_empty());
    assert_eq!(session.state(), StateKind::Active);
    session.handle_timeout(now + Duration::from_secs(5));
    assert!(matches!(
        sent(&drain(&mut session))[..],
        [(IN, Message::Open(_))]
    ));
    assert_eq!(session.state(), StateKind::OpenSent);
}

#[test]
fn a_connection_lost_during_delay_open_returns_to_active() {
    let now = Instant::now();
    let mut session = with_delay_open(now, true);
    session.handle(now, Input::Closed { connection: IN });
    assert_eq!(session.deadline(Timer::DelayOpen), None);
    assert_eq!(session.state(), StateKind::Active);
    // A new connection is taken as the first one was.
    session.handle(
        now,
        Input::Connected {
            connection: ConnectionId(3),
            direction: Direction::Incoming,
        },
    );
    assert_eq!(
        session.deadline(Timer::DelayOpen),
        Some(now + Duration::from_secs(5))
    );
}

#[test]
fn manual_stop_in_active_goes_idle_without_restarting() {
    let now = Instant::now();
    let mut session = Session::new(
        Config {
            passive: true,
            ..config()
        },
        now,
    );
    session.handle(now, Input::Start);
    session.handle(
        now,
        Input::Stop {
            communication: None,
        },
    );
    assert_eq!(notification_sent(&drain(&mut session)), None);
    assert_eq!(session.state(), StateKind::Idle);
    assert_eq!(session.poll_timeout(), None);
}

#[test]
fn manual_stop_in_open_confirm_sends_a_cease() {
    let now = Instant::now();
    let mut session = open_confirm(now);
    session.handle(
        now,
        Input::Stop {
            communication: Some("bye".into()),
        },
    );
    assert_eq!(notification_sent(&drain(&mut session)), Some((6, 2)));
    assert_eq!(session.state(), StateKind::Idle);
}

/// Tells an IPv4 unicast session it went over its `limit` of prefixes, and
/// returns what it did about it.
fn exceed_maximum_prefixes(
    session: &mut Session,
    now: Instant,
    limit: u32,
    restart_after: Option<Duration>,
) -> Vec<Output> {
    session.handle(
        now,
        Input::MaximumPrefixes {
            family: Family::IPV4_UNICAST,
            limit,
            restart_after,
        },
    );
    drain(session)
}

/// RFC 4486 §4: too many prefixes ends the session with Cease subcode 1,
/// whose data carries the AFI, SAFI and the limit; the operator's restart
/// interval, not the back-off, decides when it comes back.
#[test]
fn maximum_prefixes_sends_cease_1_with_family_and_limit_then_restarts_after_the_interval() {
    let now = Instant::now();
    let mut session = established(now);
    let outputs = exceed_maximum_prefixes(&mut session, now, 1000, Some(Duration::from_secs(30)));
    let notification = sent(&outputs)
        .into_iter()
        .find_map(|(_, message)| match message {
            Message::Notification(notification) => Some(notification),
            _ => None,
        })
        .expect("a NOTIFICATION");
    assert_eq!(
        (notification.code, notification.subcode),
        (ErrorCode::CEASE, 1)
    );
    assert_eq!(&notification.data[..], &[0, 1, 1, 0, 0, 0x03, 0xe8]);
    assert!(closed(&outputs, OUT));
    assert_eq!(session.state(), StateKind::Idle);
    assert_eq!(
        session.deadline(Timer::IdleHold),
        Some(now + Duration::from_secs(30))
    );
}

/// Without a restart interval the session stays down until started again.
#[test]
fn maximum_prefixes_without_interval_stays_down() {
    let now = Instant::now();
    let mut session = established(now);
    let outputs = exceed_maximum_prefixes(&mut session, now, 10, None);
    assert_eq!(notification_sent(&outputs), Some((6, 1)));
    assert_eq!(session.state(), StateKind::Idle);
    assert_eq!(session.poll_timeout(), None);
}

/// The OPEN a session on `config` sends once started and connected.
fn our_open(config: Config, now: Instant) -> Open {
    let mut session = Session::new(config, now);
    session.handle(now, Input::Start);
    drain(&mut session);
    session.handle(
        now,
        Input::Connected {
            connection: OUT,
            direction: Direction::Outgoing,
        },
    );
    sent(&drain(&mut session))
        .into_iter()
        .find_map(|(_, message)| match message {
            Message::Open(open) => Some(open),
            _ => None,
        })
        .expect("an OPEN")
}

/// The Graceful Restart capability configured is announced in our OPEN
/// (RFC 4724 §3).
#[test]
fn graceful_restart_capability_is_announced_when_configured() {
    let now = Instant::now();
    let mut config = config();
    config.graceful_restart = Some(bgp_wire::GracefulRestart {
        flags: 0x8,
        restart_time: 120,
        families: vec![bgp_wire::GracefulRestartFamily {
            family: Family::IPV4_UNICAST,
            flags: 0x80,
        }],
    });
    let open = our_open(config, now);
    assert!(open.capabilities().any(|capability| matches!(
        capability,
        Capability::GracefulRestart(restart) if restart.restart_time == 120 && restart.flags == 0x8
    )));
    // No long-lived graceful restart unless configured.
    assert!(!open
        .capabilities()
        .any(|capability| matches!(capability, Capability::LongLivedGracefulRestart(_))));
}

/// The Long-Lived Graceful Restart capability configured is announced in
/// our OPEN, beside Graceful Restart (RFC 9494 §3, §4.1).
#[test]
fn long_lived_graceful_restart_capability_is_announced_when_configured() {
    let now = Instant::now();
    let mut config = config();
    config.graceful_restart = Some(bgp_wire::GracefulRestart {
        flags: 0,
        restart_time: 120,
        families: Vec::new(),
    });
    let llgr = vec![bgp_wire::LongLivedFamily {
        family: Family::IPV4_UNICAST,
        flags: 0x80,
        stale_time: 86_400,
    }];
    config.long_lived_graceful_restart = llgr.clone();
    let open = our_open(config, now);
    assert!(open.capabilities().any(|capability| matches!(
        capability,
        Capability::LongLivedGracefulRestart(families) if *families == llgr
    )));
}

/// Every way an Established session ends is reported once, also when the
/// driver reports the connection closed afterwards, as it does: the
/// operator reads one "session down" line per event (issue 15 saw it
/// twice).
#[test]
fn each_end_of_a_session_is_reported_once() {
    type Ending = fn(&mut Session, Instant);
    let endings: [(&str, Ending); 4] = [
        ("NOTIFICATION received", |session, now| {
            receive(
                session,
                now,
                OUT,
                Message::Notification(Notification::new(ErrorCode::CEASE, 2, Bytes::new())),
            )
        }),
        ("hold timer expired", |session, now| {
            session.handle_timeout(now + Duration::from_secs(91))
        }),
        ("connection closed", |session, now| {
            session.handle(now, Input::Closed { connection: OUT })
        }),
        ("manual stop", |session, now| {
            session.handle(
                now,
                Input::Stop {
                    communication: None,
                },
            )
        }),
    ];
    for (what, end) in endings {
        let now = Instant::now();
        let mut session = established(now);
        end(&mut session, now);
        let mut outputs = drain(&mut session);
        // What a driver does next: the connection it was told to close, or
        // that the peer closed, is reported closed.
        session.handle(now, Input::Closed { connection: OUT });
        outputs.extend(drain(&mut session));
        let downs = outputs
            .iter()
            .filter(|output| matches!(output, Output::Down(_)))
            .count();
        assert_eq!(downs, 1, "{what}: {outputs:?}");
    }
}
