//! The finite state machine and timers (RFC 4271 §4.4, §8, RFC 6608),
//! NOTIFICATION handling (RFC 9003), route refresh (RFC 2918, RFC 7313)
//! and graceful restart (RFC 4724).

use std::time::{Duration, Instant};

use super::{notification_text, on_new_connection, scenario_prefix, Scenario};
use crate::context::{show, Outcome};
use crate::peer::{Event, Peer, Reply};
use crate::wire::{self, capability_code, kind, ReceivedUpdate};

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "fsm.keepalive-in-opensent",
            "RFC 4271 §8.2.2 (OpenSent), RFC 6608 §4",
            notification_text(5, &[1]),
            |context| on_new_connection(context, wire::keepalive(), 5, &[1]),
        ),
        Scenario::new(
            "fsm.update-in-opensent",
            "RFC 4271 §8.2.2 (OpenSent), RFC 6608 §4",
            notification_text(5, &[1]),
            |context| {
                let update = context.announcement(scenario_prefix(context.index));
                on_new_connection(context, update, 5, &[1])
            },
        ),
        Scenario::new(
            "fsm.update-in-openconfirm",
            "RFC 4271 §8.2.2 (OpenConfirm), RFC 6608 §4",
            notification_text(5, &[2]),
            |context| {
                let open = context.open_with(&[]);
                let mut peer = context.connect()?;
                peer.send(&open.message())
                    .map_err(|error| Outcome::Error(error.to_string()))?;
                // Wait for the speaker's OPEN: it is in OpenConfirm once it
                // has ours and has sent its own.
                if peer.open.is_none() {
                    peer.await_message(kind::OPEN, context.config.reply_window)
                        .map_err(|reply| {
                            Outcome::Error(format!("no OPEN from the speaker: {reply}"))
                        })?;
                }
                let update = context.announcement(scenario_prefix(context.index));
                context.sent = update.clone();
                let _ = peer.send(&update);
                let reply = peer.await_reply(context.config.reply_window);
                peer.abort();
                context.session_ended();
                Ok(super::expect_notification(reply, 5, &[2]))
            },
        ),
        Scenario::new(
            "fsm.notification-in-opensent",
            "RFC 4271 §8.2.2, §6.4, RFC 6608 §3",
            "connection closed, with no NOTIFICATION or with 5/1 (§8.2.2 lists a NOTIFICATION \
             among OpenSent's unexpected events), a new session accepted after",
            |context| notification_then_reconnect(context, 0),
        ),
        Scenario::new(
            "fsm.notification-in-openconfirm",
            "RFC 4271 §8.2.2, §6.4",
            "connection closed, no NOTIFICATION in reply, a new session accepted after",
            |context| notification_then_reconnect(context, 1),
        ),
        Scenario::new(
            "fsm.notification-in-established",
            "RFC 4271 §8.2.2, §6.4",
            "connection closed, no NOTIFICATION in reply, the runner's routes withdrawn",
            |context| {
                let prefix = scenario_prefix(context.index);
                let mut peer = context.take_session()?;
                context.announce(&mut peer, prefix)?;
                let notification = wire::notification(6, 2, &[]);
                context.sent = notification.clone();
                let _ = peer.send(&notification);
                let reply = peer.await_reply(context.config.reply_window);
                peer.abort();
                context.session_ended();
                if let Reply::Notification(notification) = reply {
                    return Ok(Outcome::Fail(format!("replied with {notification}")));
                }
                if reply == Reply::StillUp {
                    return Ok(Outcome::Fail("the connection stayed open".into()));
                }
                if context.has_observer() {
                    context.observe(prefix, false)?;
                }
                Ok(Outcome::Pass(format!("{reply}; routes withdrawn")))
            },
        ),
        Scenario::new(
            "fsm.shutdown-communication.valid",
            "RFC 9003 §2",
            "connection closed, no NOTIFICATION in reply, a new session accepted after",
            |context| {
                let mut data = vec![22];
                data.extend_from_slice("conformance: maintenance ✓".as_bytes());
                data[0] = (data.len() - 1) as u8;
                shutdown(context, data)
            },
        ),
        Scenario::new(
            "fsm.shutdown-communication.bad-utf8",
            "RFC 9003 §3",
            "connection closed, no NOTIFICATION in reply, a new session accepted after",
            |context| shutdown(context, vec![4, b'a', 0xff, 0xfe, b'b']),
        ),
        Scenario::new(
            "fsm.shutdown-communication.length-overrun",
            "RFC 9003 §3",
            "connection closed, no NOTIFICATION in reply, a new session accepted after",
            |context| shutdown(context, vec![200, b'a', b'b']),
        ),
        Scenario::new(
            "fsm.hold-timer-expiry",
            "RFC 4271 §6.5, §8.2.2",
            "NOTIFICATION 4/0 within the hold time (3 s) when the runner goes silent",
            |context| {
                let mut open = context.open_with(&[]);
                open.hold_time = 3;
                let mut peer = context.establish_with(&open)?;
                peer.stop_keepalives();
                context.sent = open.message();
                let started = Instant::now();
                // The runner sends nothing more, but reads.
                let reply = peer.await_reply(Duration::from_secs(10));
                let elapsed = started.elapsed();
                peer.abort();
                context.session_ended();
                Ok(match &reply {
                    Reply::Notification(notification)
                        if notification.code == 4 && elapsed <= Duration::from_millis(4500) =>
                    {
                        Outcome::Pass(format!("{reply} after {:.1} s", elapsed.as_secs_f64()))
                    }
                    _ => Outcome::Fail(format!("{reply} after {:.1} s", elapsed.as_secs_f64())),
                })
            },
        ),
        Scenario::new(
            "fsm.send-hold-timer",
            "RFC 9687 §4",
            "the speaker closes the observer's session when the observer reads nothing for the send hold time (--send-hold-time)",
            send_hold_timer,
        ),
        Scenario::new(
            "fsm.keepalive-interval",
            "RFC 4271 §4.4, §10",
            "KEEPALIVEs at least every hold time (9 s) and not more than one a second",
            |context| {
                let mut open = context.open_with(&[]);
                open.hold_time = 9;
                let mut peer = context.establish_with(&open)?;
                let mut arrivals = Vec::new();
                let deadline = Instant::now() + Duration::from_secs(12);
                let mut last = Instant::now();
                let mut longest = Duration::ZERO;
                let mut shortest = Duration::MAX;
                loop {
                    match peer.next_event(deadline.min(Instant::now() + Duration::from_secs(1))) {
                        Event::Message(kind::KEEPALIVE, _) => {
                            let now = Instant::now();
                            if !arrivals.is_empty() {
                                shortest = shortest.min(now - last);
                            }
                            longest = longest.max(now - last);
                            last = now;
                            arrivals.push(now);
                        }
                        Event::Message(..) => {}
                        Event::Closed(how) => {
                            context.session_ended();
                            return Ok(Outcome::Fail(how));
                        }
                        Event::Timeout if Instant::now() >= deadline => break,
                        Event::Timeout => {}
                    }
                }
                longest = longest.max(last.elapsed());
                peer.close();
                context.session_ended();
                let text = format!(
                    "{} KEEPALIVEs in 12 s, gaps {:.1}–{:.1} s",
                    arrivals.len(),
                    if shortest == Duration::MAX {
                        0.0
                    } else {
                        shortest.as_secs_f64()
                    },
                    longest.as_secs_f64()
                );
                Ok(
                    if longest < Duration::from_secs(9) && shortest >= Duration::from_millis(900) {
                        Outcome::Pass(text)
                    } else {
                        Outcome::Fail(text)
                    },
                )
            },
        ),
        Scenario::new(
            "fsm.hold-time-zero",
            "RFC 4271 §4.4",
            "session established with hold time 0 and no KEEPALIVE after the first",
            |context| {
                let mut open = context.open_with(&[]);
                open.hold_time = 0;
                let mut peer = context.establish_with(&open)?;
                let deadline = Instant::now() + Duration::from_secs(5);
                let mut keepalives = 0;
                let outcome = loop {
                    match peer.next_event(deadline) {
                        Event::Message(kind::KEEPALIVE, _) => keepalives += 1,
                        Event::Message(kind::NOTIFICATION, body) => {
                            break Outcome::Fail(
                                wire::Notification::parse(&body)
                                    .map(|notification| notification.to_string())
                                    .unwrap_or_default(),
                            )
                        }
                        Event::Message(..) => {}
                        Event::Closed(how) => break Outcome::Fail(how),
                        Event::Timeout if keepalives == 0 => {
                            break Outcome::Pass("no KEEPALIVE in 5 s, session up".into())
                        }
                        Event::Timeout => {
                            break Outcome::Fail(format!("{keepalives} KEEPALIVE(s) in 5 s"))
                        }
                    }
                };
                peer.close();
                context.session_ended();
                Ok(outcome)
            },
        ),
        Scenario::new(
            "fsm.route-refresh",
            "RFC 2918 §4",
            "after a ROUTE-REFRESH the speaker sends its routes for the family again",
            |context| {
                if !context.has_observer() {
                    return Ok(Outcome::NotApplicable(
                        "needs --observer to give the speaker a route to send".into(),
                    ));
                }
                let prefix = scenario_prefix(context.index);
                if !context
                    .session()?
                    .open
                    .clone()
                    .unwrap_or_default()
                    .has(capability_code::ROUTE_REFRESH)
                {
                    return Ok(Outcome::NotApplicable(
                        "the speaker did not advertise route refresh".into(),
                    ));
                }
                context.observer_announce(prefix)?;
                let mut peer = context.take_session()?;
                if let Err(outcome) = await_route(&mut peer, prefix, context.config.reply_window) {
                    context.keep_session(peer);
                    return Err(outcome);
                }
                let request = wire::route_refresh(0);
                context.sent = request.clone();
                let _ = peer.send(&request);
                let again = await_route(&mut peer, prefix, refresh_window(context));
                context.observer_withdraw(prefix)?;
                context.keep_session(peer);
                again?;
                Ok(Outcome::Pass(format!("{} sent again", show(prefix))))
            },
        ),
        Scenario::new(
            "fsm.enhanced-route-refresh.markers",
            "RFC 7313 §4",
            "after a ROUTE-REFRESH: a BoRR, the routes, then an EoRR",
            |context| {
                let peer = context.session()?;
                if !peer
                    .open
                    .clone()
                    .unwrap_or_default()
                    .has(capability_code::ENHANCED_ROUTE_REFRESH)
                {
                    return Ok(Outcome::NotApplicable(
                        "the speaker did not advertise enhanced route refresh".into(),
                    ));
                }
                let request = wire::route_refresh(0);
                context.sent = request.clone();
                let window = refresh_window(context);
                let mut peer = context.take_session()?;
                let _ = peer.send(&request);
                let mut subtypes = Vec::new();
                let deadline = Instant::now() + window;
                while subtypes.last() != Some(&2) {
                    match peer.next_event(deadline) {
                        // An EoRR before any BoRR closes an earlier refresh
                        // (one a previous scenario asked for): not this one.
                        Event::Message(kind::ROUTE_REFRESH, body) if body.len() >= 3 => {
                            if !(subtypes.is_empty() && body[2] == 2) {
                                subtypes.push(body[2]);
                            }
                        }
                        Event::Message(..) => {}
                        Event::Closed(how) => {
                            context.session_ended();
                            return Ok(Outcome::Fail(how));
                        }
                        Event::Timeout => break,
                    }
                }
                context.keep_session(peer);
                Ok(if subtypes == [1, 2] {
                    Outcome::Pass("BoRR then EoRR".into())
                } else {
                    Outcome::Fail(format!("ROUTE-REFRESH subtypes received: {subtypes:?}"))
                })
            },
        ),
        Scenario::new(
            "fsm.enhanced-route-refresh.bad-length",
            "RFC 7313 §5",
            notification_text(7, &[1]),
            |context| {
                let peer = context.session()?;
                if !peer
                    .open
                    .clone()
                    .unwrap_or_default()
                    .has(capability_code::ENHANCED_ROUTE_REFRESH)
                {
                    return Ok(Outcome::NotApplicable(
                        "the speaker did not advertise enhanced route refresh".into(),
                    ));
                }
                // A BoRR (subtype 1) one octet too long: §5 fixes the length
                // of subtypes 1 and 2.
                let message = wire::message(kind::ROUTE_REFRESH, &[0, 1, 1, 1, 0]);
                super::on_session(context, message, 7, &[1])
            },
        ),
        Scenario::new(
            "fsm.end-of-rib",
            "RFC 4724 §2",
            "an End-of-RIB for IPv4 unicast after the initial routes",
            |context| {
                let open = context.open_with(&[wire::graceful_restart(30, false)]);
                let mut peer = context.establish_with(&open)?;
                if !peer
                    .open
                    .clone()
                    .unwrap_or_default()
                    .has(capability_code::GRACEFUL_RESTART)
                {
                    peer.close();
                    context.session_ended();
                    return Ok(Outcome::NotApplicable(
                        "the speaker did not advertise graceful restart".into(),
                    ));
                }
                let deadline = Instant::now() + context.config.reply_window;
                let outcome = loop {
                    match peer.next_event(deadline) {
                        Event::Message(kind::UPDATE, body) => {
                            if ReceivedUpdate::parse(&body)
                                .is_some_and(|update| update.is_end_of_rib())
                            {
                                break Outcome::Pass("End-of-RIB received".into());
                            }
                        }
                        Event::Message(..) => {}
                        Event::Closed(how) => break Outcome::Fail(how),
                        Event::Timeout => break Outcome::Fail("no End-of-RIB".into()),
                    }
                };
                peer.close();
                context.session_ended();
                Ok(outcome)
            },
        ),
        Scenario::new(
            "fsm.graceful-restart.helper-keeps-and-flushes",
            "RFC 4724 §4.2",
            "routes kept while the runner restarts, stale ones flushed at its End-of-RIB",
            |context| graceful_restart(context, true),
        ),
        Scenario::new(
            "fsm.graceful-restart.restart-time-expiry",
            "RFC 4724 §4.2",
            "routes kept while the runner restarts, flushed when its restart time (4 s) ends",
            |context| graceful_restart(context, false),
        ),
    ]
}

/// How long a refresh may take: the speaker may hold the routes it sends
/// again until its advertisement interval ends (RFC 4271 §9.2.1.1, 30 s for
/// eBGP by default in some implementations).
fn refresh_window(context: &crate::context::Context) -> Duration {
    context.config.reply_window.max(Duration::from_secs(35))
}

/// Sends a NOTIFICATION in OpenSent (`stage` 0) or OpenConfirm (1).
fn notification_then_reconnect(
    context: &mut crate::context::Context,
    stage: u8,
) -> Result<Outcome, Outcome> {
    let open = context.open_with(&[]);
    let mut peer = context.connect()?;
    if stage == 1 {
        peer.send(&open.message())
            .map_err(|error| Outcome::Error(error.to_string()))?;
        if peer.open.is_none() {
            peer.await_message(kind::OPEN, context.config.reply_window)
                .map_err(|reply| Outcome::Error(format!("no OPEN from the speaker: {reply}")))?;
        }
    }
    let notification = wire::notification(6, 3, &[]);
    context.sent = notification.clone();
    let _ = peer.send(&notification);
    // RFC 4271 §8.2.2: in OpenSent a NOTIFICATION is one of the events
    // answered with an FSM error (RFC 6608 subcode 1); in OpenConfirm it
    // just closes.
    let allowed = (stage == 0).then_some((5, 1));
    closed_then_reconnect(context, peer, allowed)
}

fn shutdown(context: &mut crate::context::Context, data: Vec<u8>) -> Result<Outcome, Outcome> {
    let peer = context.take_session()?;
    let mut peer = peer;
    let notification = wire::notification(6, 2, &data);
    context.sent = notification.clone();
    let _ = peer.send(&notification);
    closed_then_reconnect(context, peer, None)
}

/// The speaker must close without a NOTIFICATION and take a new session
/// afterwards (it did not fall over the message).
fn closed_then_reconnect(
    context: &mut crate::context::Context,
    mut peer: crate::peer::Peer,
    allowed_reply: Option<(u8, u8)>,
) -> Result<Outcome, Outcome> {
    let reply = peer.await_reply(context.config.reply_window);
    peer.abort();
    context.session_ended();
    match &reply {
        Reply::Notification(notification)
            if Some((notification.code, notification.subcode)) == allowed_reply => {}
        Reply::Notification(notification) => {
            return Ok(Outcome::Fail(format!("replied with {notification}")))
        }
        Reply::StillUp => return Ok(Outcome::Fail("the connection stayed open".into())),
        Reply::Closed(_) => {}
    }
    context.session()?;
    Ok(Outcome::Pass(format!("{reply}; a new session came up")))
}

/// Reads the main session until `prefix` is announced on it.
fn await_route(
    peer: &mut crate::peer::Peer,
    prefix: wire::Prefix,
    window: Duration,
) -> Result<(), Outcome> {
    let deadline = Instant::now() + window;
    loop {
        match peer.next_event(deadline) {
            Event::Message(kind::UPDATE, body) => {
                if ReceivedUpdate::parse(&body)
                    .is_some_and(|update| update.announced.contains(&prefix))
                {
                    return Ok(());
                }
            }
            Event::Message(..) => {}
            Event::Closed(how) => return Err(Outcome::Fail(how)),
            Event::Timeout => {
                return Err(Outcome::Fail(format!(
                    "{} not sent to the runner",
                    show(prefix)
                )))
            }
        }
    }
}

/// The runner restarts with graceful restart (RFC 4724): the speaker must
/// keep its routes while it is away; they go at the runner's End-of-RIB
/// (`reconnect`) or when the restart time ends.
fn graceful_restart(
    context: &mut crate::context::Context,
    reconnect: bool,
) -> Result<Outcome, Outcome> {
    if !context.has_observer() {
        return Ok(Outcome::NotApplicable(
            "needs --observer to see the routes kept".into(),
        ));
    }
    let prefix = scenario_prefix(context.index);
    // Long enough for the speaker's own delay before it accepts the
    // runner's new connection when the runner comes back; short when the
    // runner stays away and the expiry is what is graded.
    let restart_time = if reconnect { 60 } else { 4 };
    let open = context.open_with(&[wire::graceful_restart(restart_time, false)]);
    let mut peer = context.establish_with(&open)?;
    if !peer
        .open
        .clone()
        .unwrap_or_default()
        .has(capability_code::GRACEFUL_RESTART)
    {
        peer.close();
        context.session_ended();
        return Ok(Outcome::NotApplicable(
            "the speaker did not advertise graceful restart".into(),
        ));
    }
    context.announce(&mut peer, prefix)?;
    let _ = peer.send(&wire::update(&[], &[], &[]));
    // The restart: the connection drops without a NOTIFICATION.
    peer.abort();
    context.session_ended();
    context.sent = Vec::new();
    context.observe_steady(prefix, true, Duration::from_secs(2))?;
    if reconnect {
        let open = context.open_with(&[wire::graceful_restart(restart_time, true)]);
        context.allow_between = false;
        let established = context.establish_with(&open);
        context.allow_between = true;
        let mut peer = established?;
        context.observe_steady(prefix, true, Duration::from_millis(500))?;
        let end_of_rib = wire::update(&[], &[], &[]);
        context.sent = end_of_rib.clone();
        let _ = peer.send(&end_of_rib);
        context.observe(prefix, false)?;
        context.keep_session(peer);
        Ok(Outcome::Pass(format!(
            "{} kept across the restart, flushed at End-of-RIB",
            show(prefix)
        )))
    } else {
        let started = Instant::now();
        context.observe_within(
            prefix,
            false,
            Duration::from_secs(u64::from(restart_time) + 8),
        )?;
        Ok(Outcome::Pass(format!(
            "{} kept, flushed {:.1} s after the drop",
            show(prefix),
            started.elapsed().as_secs_f64() + 2.0
        )))
    }
}

/// Host routes flapped to make the speaker write to the observer (fewer
/// when the speaker's prefix limit for the runner is lower).
const FLAPPED_ROUTES: u32 = 200;

/// Communities on each flapped route: each route its own, so that every
/// route is an UPDATE of its own of about a kilobyte to the observer.
const COMMUNITIES_PER_ROUTE: u32 = 200;

/// Rounds of flaps sent at once, then one round every [`FLAP_INTERVAL`]:
/// megabytes a second to the observer, past any socket buffer (Linux grows
/// a send buffer to 4 MiB).
const FLOOD_ROUNDS: u32 = 16;

/// Time between rounds after the first flood.
const FLAP_INTERVAL: Duration = Duration::from_millis(250);

/// The flapped route `host` in `round`: the AS_PATH and the last community
/// change every round, so that the speaker must send it on each time.
fn flapped_route(
    base: std::net::Ipv4Addr,
    host: u32,
    round: u32,
    local_as: u32,
    next_hop: std::net::Ipv4Addr,
) -> Vec<u8> {
    let [first, second, third, _] = base.octets();
    let address = std::net::Ipv4Addr::new(first, second, third, (host % 254 + 1) as u8);
    let communities: Vec<u8> = (0..COMMUNITIES_PER_ROUTE)
        .flat_map(|index| {
            let low = if index + 1 == COMMUNITIES_PER_ROUTE {
                round % 2
            } else {
                index
            };
            ((65000_u32 << 16) | (host << 8 & 0xff00) | (low & 0xff)).to_be_bytes()
        })
        .collect();
    let attributes = [
        wire::origin_igp(),
        wire::as_path(&[local_as, 64512 + round % 2]),
        wire::next_hop(next_hop),
        wire::path_attribute(
            wire::flag::OPTIONAL | wire::flag::TRANSITIVE | wire::flag::EXTENDED_LENGTH,
            wire::attribute::COMMUNITIES,
            &communities,
        ),
    ]
    .concat();
    wire::update(&[], &attributes, &wire::prefix(address, 32))
}

/// RFC 9687 §4: a speaker that cannot write to a peer for the send hold time
/// closes the session. The observer connects with a tiny receive buffer and
/// stops reading (it still sends KEEPALIVEs, so the speaker's hold timer
/// does not expire); the main session flaps routes so that the speaker
/// always has more to send it than any socket buffer takes. After the send
/// hold time and a margin the observer reads again: the connection must
/// end in a close.
fn send_hold_timer(context: &mut crate::context::Context) -> Result<Outcome, Outcome> {
    let Some(send_hold) = context.config.send_hold else {
        return Ok(Outcome::NotApplicable(
            "needs --send-hold-time: the speaker's send hold time (RFC 9687 suggests 8 minutes; \
             the scenario lasts that long)"
                .into(),
        ));
    };
    if !context.has_observer() {
        return Ok(Outcome::NotApplicable(
            "needs --observer: the speaker sends to it while it does not read".into(),
        ));
    }
    // A fresh main session: no earlier scenario's routes count against a
    // prefix limit.
    context.end_session();
    let mut observer = context.slow_observer()?;
    let (base, _) = scenario_prefix(context.index);
    let routes = context
        .config
        .max_prefix
        .map_or(FLAPPED_ROUTES, |limit| {
            FLAPPED_ROUTES.min(limit.saturating_sub(1))
        })
        .clamp(1, 254);
    let (local_as, next_hop) = (context.config.local_as, context.config.next_hop);
    // Two versions of every route, built once.
    let rounds: [Vec<Vec<u8>>; 2] = [0, 1].map(|round| {
        (0..routes)
            .map(|host| flapped_route(base, host, round, local_as, next_hop))
            .collect()
    });
    let peer = context.session()?;
    let send_round = |peer: &mut Peer, round: u32| -> Result<(), Outcome> {
        for update in &rounds[(round % 2) as usize] {
            peer.send(update).map_err(|error| {
                Outcome::Error(format!(
                    "the main session ended while the observer did not read: {error}"
                ))
            })?;
        }
        Ok(())
    };
    for round in 0..FLOOD_ROUNDS {
        send_round(peer, round)?;
    }
    let flooded = Instant::now();
    // Keep the speaker with something to send for the whole send hold
    // time and a margin.
    let margin = Duration::from_secs(10) + send_hold / 8;
    let deadline = flooded + send_hold + margin;
    let mut round = FLOOD_ROUNDS;
    while Instant::now() < deadline {
        // Read the main session meanwhile: a speaker that sends the
        // runner's routes back to it (FRR does) would otherwise find the
        // runner not reading too, and end that session by its own send
        // hold timer.
        let pause = Instant::now() + FLAP_INTERVAL.min(deadline - Instant::now());
        while let Event::Message(..) = peer.next_event(pause) {}
        round += 1;
        send_round(peer, round)?;
    }
    let nlri: Vec<u8> = (0..routes)
        .flat_map(|host| {
            let [first, second, third, _] = base.octets();
            wire::prefix(
                std::net::Ipv4Addr::new(first, second, third, (host % 254 + 1) as u8),
                32,
            )
        })
        .collect();
    let withdrawal = wire::update(&nlri, &[], &[]);
    let _ = peer.send(&withdrawal);
    context.sent = rounds[0].first().cloned().unwrap_or_default();
    // Read again: what was queued arrives, then the close, if the speaker
    // closed. A session still open is still sending after the drain.
    let waited = flooded.elapsed();
    let drain_deadline = Instant::now() + Duration::from_secs(10);
    let mut last_notification = None;
    let ended = loop {
        match observer.next_event(drain_deadline) {
            Event::Message(kind::NOTIFICATION, body) => {
                last_notification = wire::Notification::parse(&body);
            }
            Event::Message(..) => {}
            Event::Closed(how) => break Some(how),
            Event::Timeout => break None,
        }
    };
    observer.abort();
    let notified = match &last_notification {
        Some(notification) => format!(", after NOTIFICATION {notification}"),
        None => String::new(),
    };
    Ok(match ended {
        Some(_) if last_notification.as_ref().is_some_and(|notification| notification.code != 8) => {
            Outcome::Fail(format!(
                "the session ended for another reason{notified} (send hold time {} s)",
                send_hold.as_secs()
            ))
        }
        Some(how) => Outcome::Pass(format!(
            "the session was closed ({how}{notified}) within {:.0} s of the flood (send hold time {} s)",
            waited.as_secs_f64(),
            send_hold.as_secs()
        )),
        None => Outcome::Fail(format!(
            "the session was still open {:.0} s after the flood (send hold time {} s)",
            waited.as_secs_f64() + 10.0,
            send_hold.as_secs()
        )),
    })
}
