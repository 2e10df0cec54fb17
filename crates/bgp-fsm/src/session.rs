//! The RFC 4271 §8 state machine for one peer, with connection collision
//! resolution (§6.8) and the send hold timer of RFC 9687.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bgp_wire::{cease, DecodeError, ErrorCode, Frames, Message, Notification, Received, Treatment};
use bytes::Bytes;

use crate::config::Config;
use crate::event::{ConnectionId, Direction, DownReason, Input, Output, StateKind};
use crate::negotiate::{accept_open, local_open, Negotiated};
use crate::timer::{Jitter, Timer, TimerTable};

/// RFC 4271 §8.2.2: the hold timer while waiting for the peer's OPEN is set to
/// "a large value", 4 minutes suggested.
const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);
/// RFC 9687 §3: the send hold time is at least 8 minutes.
const MINIMUM_SEND_HOLD: Duration = Duration::from_secs(480);

/// A TCP connection the session uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Link {
    id: ConnectionId,
    direction: Direction,
}

/// Each state with the data that exists only in it.
#[derive(Debug, Clone)]
enum State {
    Idle,
    /// Waiting for our outgoing connection; `link` is a connection made while
    /// DelayOpen runs.
    Connect {
        link: Option<Link>,
    },
    /// Waiting for the peer to connect; `link` as in Connect.
    Active {
        link: Option<Link>,
    },
    OpenSent {
        link: Link,
    },
    OpenConfirm {
        link: Link,
        negotiated: Arc<Negotiated>,
    },
    Established {
        link: Link,
        negotiated: Arc<Negotiated>,
        since: Instant,
    },
}

impl State {
    fn kind(&self) -> StateKind {
        match self {
            State::Idle => StateKind::Idle,
            State::Connect { .. } => StateKind::Connect,
            State::Active { .. } => StateKind::Active,
            State::OpenSent { .. } => StateKind::OpenSent,
            State::OpenConfirm { .. } => StateKind::OpenConfirm,
            State::Established { .. } => StateKind::Established,
        }
    }

    fn link(&self) -> Option<Link> {
        match self {
            State::Idle => None,
            State::Connect { link } | State::Active { link } => *link,
            State::OpenSent { link }
            | State::OpenConfirm { link, .. }
            | State::Established { link, .. } => Some(*link),
        }
    }
}

/// A second connection while the first is still opening: the collision of
/// RFC 4271 §6.8, resolved when the peer's OPEN on it arrives.
#[derive(Debug, Clone, Copy)]
struct Contender {
    link: Link,
}

/// One peer's BGP session, without I/O: the driver feeds [`Input`]s and the
/// time, and carries out the [`Output`]s.
#[derive(Debug)]
pub struct Session {
    config: Config,
    state: State,
    contender: Option<Contender>,
    since: Instant,
    timers: TimerTable,
    jitter: Jitter,
    outputs: VecDeque<Output>,
    /// Whether the operator started the session (so that it restarts by itself).
    started: bool,
    /// The next IdleHold wait.
    idle_hold: Duration,
    last_down: Option<DownReason>,
}

impl Session {
    /// A session in Idle, not started.
    pub fn new(config: Config, now: Instant) -> Self {
        let jitter = Jitter::new(config.jitter_seed);
        let idle_hold = config.idle_hold.initial;
        Session {
            config,
            state: State::Idle,
            contender: None,
            since: now,
            timers: TimerTable::default(),
            jitter,
            outputs: VecDeque::new(),
            started: false,
            idle_hold,
            last_down: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current state.
    pub fn state(&self) -> StateKind {
        self.state.kind()
    }

    /// When the current state was entered.
    pub fn since(&self) -> Instant {
        self.since
    }

    /// What was negotiated, in OpenConfirm and Established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated_shared().map(|negotiated| &**negotiated)
    }

    /// [`Session::negotiated`], shared: a status snapshot holds it without
    /// a copy of the capabilities of its own (about 0.9 KB a session).
    pub fn negotiated_shared(&self) -> Option<&Arc<Negotiated>> {
        match &self.state {
            State::OpenConfirm { negotiated, .. } | State::Established { negotiated, .. } => {
                Some(negotiated)
            }
            _ => None,
        }
    }

    /// The connection that carries the session, once Established.
    pub fn established_connection(&self) -> Option<ConnectionId> {
        match &self.state {
            State::Established { link, .. } => Some(link.id),
            _ => None,
        }
    }

    /// Why the session last went down or last failed to come up.
    pub fn last_down(&self) -> Option<&DownReason> {
        self.last_down.as_ref()
    }

    /// When a timer will expire, if it runs.
    pub fn deadline(&self, timer: Timer) -> Option<Instant> {
        self.timers.deadline(timer)
    }

    /// The next deadline; the driver calls [`Session::handle_timeout`] then.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The next thing to do.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Sends a message on the established connection (UPDATE, ROUTE-REFRESH);
    /// ignored in any other state.
    pub fn send(&mut self, now: Instant, message: Message) {
        if let State::Established { link, .. } = self.state {
            self.transmit(now, link, message);
        }
    }

    /// Sends UPDATEs encoded already, as [`Session::send`] does messages.
    pub fn send_frames(&mut self, now: Instant, frames: Frames) {
        if let State::Established { link, .. } = self.state {
            self.arm_send_hold(now);
            self.outputs.push_back(Output::SendFrames {
                connection: link.id,
                frames,
            });
        }
    }

    /// Processes one event.
    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Start => self.start(now),
            Input::Stop { communication } => {
                let notification = match &communication {
                    Some(text) => Notification::with_shutdown_communication(
                        cease::ADMINISTRATIVE_SHUTDOWN,
                        text,
                    ),
                    None => Notification::new(
                        ErrorCode::CEASE,
                        cease::ADMINISTRATIVE_SHUTDOWN,
                        Bytes::new(),
                    ),
                };
                self.stop(now, notification)
            }
            Input::Deconfigure => {
                let notification =
                    Notification::new(ErrorCode::CEASE, cease::PEER_DECONFIGURED, Bytes::new());
                self.stop(now, notification)
            }
            Input::MaximumPrefixes {
                family,
                limit,
                restart_after,
            } => self.maximum_prefixes(now, family, limit, restart_after),
            Input::Connected {
                connection,
                direction,
            } => self.connected(
                now,
                Link {
                    id: connection,
                    direction,
                },
            ),
            Input::ConnectFailed => self.connect_failed(now),
            Input::Closed { connection } => self.closed(now, connection),
            Input::Received {
                connection,
                received,
            } => self.received(now, connection, received),
            Input::Malformed { connection, error } => self.malformed(now, connection, &error),
            Input::Flushed { connection } => {
                if self.state.link().is_some_and(|link| link.id == connection) {
                    self.timers.stop(Timer::SendHold);
                }
            }
            Input::Progress { connection } => {
                if self.timers.is_running(Timer::SendHold)
                    && self.state.link().is_some_and(|link| link.id == connection)
                {
                    let deadline = now + self.send_hold_time();
                    self.timers.set(Timer::SendHold, deadline);
                }
            }
            Input::OutOfResources { connection } => {
                if self.state.link().is_some_and(|link| link.id == connection) {
                    let notification =
                        Notification::new(ErrorCode::CEASE, cease::OUT_OF_RESOURCES, Bytes::new());
                    self.tear_down(now, Some(notification), DownReason::ConnectionClosed);
                }
            }
        }
    }

    /// Processes every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.take_expired(now) {
            self.expired(now, timer);
        }
    }

    // ---- transitions -------------------------------------------------------

    fn enter(&mut self, now: Instant, state: State) {
        let from = self.state.kind();
        self.state = state;
        let to = self.state.kind();
        if from != to {
            self.since = now;
            self.outputs.push_back(Output::StateChanged { from, to });
        }
    }

    fn transmit(&mut self, now: Instant, link: Link, message: Message) {
        self.arm_send_hold(now);
        self.outputs.push_back(Output::Send {
            connection: link.id,
            message,
        });
    }

    /// RFC 9687 §4: the send hold timer runs while output waits to be written.
    fn arm_send_hold(&mut self, now: Instant) {
        if !self.timers.is_running(Timer::SendHold) {
            let deadline = now + self.send_hold_time();
            self.timers.set(Timer::SendHold, deadline);
        }
    }

    fn send_hold_time(&self) -> Duration {
        if let Some(configured) = self.config.send_hold {
            return configured;
        }
        let hold = self
            .negotiated()
            .map_or(OPEN_HOLD_TIME, |negotiated| negotiated.hold_time);
        MINIMUM_SEND_HOLD.max(hold * 2)
    }

    fn arm(&mut self, now: Instant, timer: Timer, duration: Duration) {
        self.timers.set(timer, now + duration);
    }

    fn arm_connect_retry(&mut self, now: Instant) {
        let duration = self.jitter.apply(self.config.connect_retry);
        self.arm(now, Timer::ConnectRetry, duration);
    }

    fn arm_keepalive(&mut self, now: Instant, negotiated: &Negotiated) {
        if !negotiated.keepalive.is_zero() {
            let duration = self.jitter.apply(negotiated.keepalive);
            self.arm(now, Timer::Keepalive, duration);
        }
    }

    fn restart_hold(&mut self, now: Instant) {
        let hold = self.negotiated().map(|negotiated| negotiated.hold_time);
        match hold {
            Some(hold) if hold.is_zero() => self.timers.stop(Timer::Hold),
            Some(hold) => self.arm(now, Timer::Hold, hold),
            None => self.arm(now, Timer::Hold, OPEN_HOLD_TIME),
        }
    }

    /// Goes to Connect (connecting out) or Active (waiting), as configured.
    fn begin(&mut self, now: Instant) {
        self.timers.stop_all();
        if self.config.passive {
            self.enter(now, State::Active { link: None });
        } else {
            self.outputs.push_back(Output::Connect);
            self.arm_connect_retry(now);
            self.enter(now, State::Connect { link: None });
        }
    }

    fn start(&mut self, now: Instant) {
        self.started = true;
        // RFC 4271 §8.2.2: ManualStart is ignored outside Idle.
        if let State::Idle = self.state {
            self.begin(now);
        }
    }

    /// RFC 4271 §8.2.2 event 2: a NOTIFICATION Cease where an OPEN was sent
    /// (RFC 9003 lets it carry a message for the peer's operators), then Idle
    /// without automatic restart.
    fn stop(&mut self, now: Instant, notification: Notification) {
        self.started = false;
        self.idle_hold = self.config.idle_hold.initial;
        let opened = matches!(
            self.state,
            State::OpenSent { .. } | State::OpenConfirm { .. } | State::Established { .. }
        );
        self.tear_down(now, opened.then_some(notification), DownReason::Stopped);
    }

    /// RFC 4486 §4: Cease / Maximum Number of Prefixes Reached, whose data is
    /// the AFI (2 octets), SAFI (1) and the limit (4); then Idle, restarting
    /// after the operator's interval when there is one.
    fn maximum_prefixes(
        &mut self,
        now: Instant,
        family: bgp_wire::Family,
        limit: u32,
        restart_after: Option<Duration>,
    ) {
        if !matches!(self.state, State::Established { .. }) {
            return;
        }
        let mut data = Vec::with_capacity(7);
        data.extend_from_slice(&family.afi.0.to_be_bytes());
        data.push(family.safi.0);
        data.extend_from_slice(&limit.to_be_bytes());
        let notification = Notification::new(
            ErrorCode::CEASE,
            cease::MAXIMUM_PREFIXES_REACHED,
            Bytes::from(data),
        );
        self.started = false;
        self.tear_down(now, Some(notification), DownReason::ConnectionClosed);
        if let Some(wait) = restart_after {
            // The operator's interval, not the back-off, decides this restart.
            self.started = true;
            self.arm(now, Timer::IdleHold, wait);
        }
    }

    /// Closes every connection (with a NOTIFICATION on the main one when
    /// given), reports why, and goes to Idle; restarts later when started.
    fn tear_down(&mut self, now: Instant, notification: Option<Notification>, reason: DownReason) {
        let reason = match notification {
            Some(notification) => {
                if let Some(link) = self.state.link() {
                    self.outputs.push_back(Output::Send {
                        connection: link.id,
                        message: Message::Notification(notification.clone()),
                    });
                }
                if matches!(reason, DownReason::Stopped) {
                    reason
                } else {
                    DownReason::NotificationSent(notification)
                }
            }
            None => reason,
        };
        if let Some(link) = self.state.link() {
            self.outputs.push_back(Output::Close {
                connection: link.id,
            });
        }
        if let Some(contender) = self.contender.take() {
            self.outputs.push_back(Output::Close {
                connection: contender.link.id,
            });
        }
        // Back off harder the less the session stayed up (the damping of RFC 4271 §8.1.1).
        let stable = match &self.state {
            State::Established { since, .. } => {
                now.saturating_duration_since(*since) >= self.config.idle_hold.maximum
            }
            _ => false,
        };
        let wait = if stable {
            self.config.idle_hold.initial
        } else {
            self.idle_hold
        };
        self.idle_hold = (wait * 2)
            .min(self.config.idle_hold.maximum)
            .max(self.config.idle_hold.initial);
        self.outputs.push_back(Output::Down(reason.clone()));
        self.last_down = Some(reason);
        self.timers.stop_all();
        self.enter(now, State::Idle);
        if self.started {
            let wait = self.jitter.apply(wait);
            self.arm(now, Timer::IdleHold, wait);
        }
    }

    fn fsm_error(&mut self, now: Instant) {
        // RFC 6608 §4: the subcode names the state the unexpected message came in.
        let subcode = match self.state {
            State::OpenSent { .. } => 1,
            State::OpenConfirm { .. } => 2,
            State::Established { .. } => 3,
            _ => 0,
        };
        let notification =
            Notification::new(ErrorCode::FINITE_STATE_MACHINE, subcode, Bytes::new());
        self.tear_down(now, Some(notification), DownReason::ConnectionClosed);
    }

    fn send_open(&mut self, now: Instant, link: Link) {
        let open = local_open(&self.config);
        self.transmit(now, link, Message::Open(open));
    }

    // ---- events ------------------------------------------------------------

    fn expired(&mut self, now: Instant, timer: Timer) {
        match (timer, &self.state) {
            (Timer::IdleHold, State::Idle) if self.started => self.begin(now),
            // RFC 4271 §8.2.2 Connect and Active, event 9: try again.
            (Timer::ConnectRetry, State::Connect { link: None } | State::Active { link: None }) => {
                if self.config.passive {
                    return;
                }
                self.outputs.push_back(Output::Connect);
                self.arm_connect_retry(now);
                self.enter(now, State::Connect { link: None });
            }
            (
                Timer::DelayOpen,
                State::Connect { link: Some(link) } | State::Active { link: Some(link) },
            ) => {
                let link = *link;
                self.send_open(now, link);
                self.arm(now, Timer::Hold, OPEN_HOLD_TIME);
                self.enter(now, State::OpenSent { link });
            }
            (
                Timer::Hold,
                State::OpenSent { .. } | State::OpenConfirm { .. } | State::Established { .. },
            ) => {
                let notification =
                    Notification::new(ErrorCode::HOLD_TIMER_EXPIRED, 0, Bytes::new());
                self.tear_down(now, Some(notification), DownReason::ConnectionClosed);
            }
            (
                Timer::Keepalive,
                State::OpenConfirm { link, negotiated }
                | State::Established {
                    link, negotiated, ..
                },
            ) => {
                let (link, negotiated) = (*link, negotiated.clone());
                self.transmit(now, link, Message::Keepalive);
                self.arm_keepalive(now, &negotiated);
            }
            (
                Timer::SendHold,
                State::OpenSent { .. } | State::OpenConfirm { .. } | State::Established { .. },
            ) => {
                // RFC 9687 §4: nothing could be written for the send hold time.
                let notification =
                    Notification::new(ErrorCode::SEND_HOLD_TIMER_EXPIRED, 0, Bytes::new());
                self.tear_down(now, Some(notification), DownReason::ConnectionClosed);
            }
            _ => {}
        }
    }

    fn connected(&mut self, now: Instant, new: Link) {
        match self.state.clone() {
            // RFC 4271 §8.2.2 Idle: connections are refused.
            State::Idle => self.outputs.push_back(Output::Close { connection: new.id }),
            State::Connect { link: None } | State::Active { link: None } => {
                self.timers.stop(Timer::ConnectRetry);
                if let Some(delay) = self.config.delay_open {
                    self.arm(now, Timer::DelayOpen, delay);
                    let state = match self.state {
                        State::Connect { .. } => State::Connect { link: Some(new) },
                        _ => State::Active { link: Some(new) },
                    };
                    self.state = state;
                } else {
                    self.send_open(now, new);
                    self.arm(now, Timer::Hold, OPEN_HOLD_TIME);
                    self.enter(now, State::OpenSent { link: new });
                }
            }
            State::OpenSent { .. } | State::OpenConfirm { .. } if self.contender.is_none() => {
                // RFC 4271 §6.8: both connections proceed until the peer's OPEN
                // on the new one lets the identifiers decide.
                self.send_open(now, new);
                self.contender = Some(Contender { link: new });
            }
            State::Established { .. } => {
                // RFC 4271 §6.8: a collision with an Established session closes the newcomer.
                self.outputs.push_back(Output::Send {
                    connection: new.id,
                    message: Message::Notification(Notification::new(
                        ErrorCode::CEASE,
                        cease::CONNECTION_COLLISION_RESOLUTION,
                        Bytes::new(),
                    )),
                });
                self.outputs.push_back(Output::Close { connection: new.id });
            }
            _ => self.outputs.push_back(Output::Close { connection: new.id }),
        }
    }

    fn connect_failed(&mut self, now: Instant) {
        // RFC 4271 §8.2.2 Connect, event 18: restart ConnectRetry and wait in Active.
        if let State::Connect { link: None } = self.state {
            self.arm_connect_retry(now);
            self.enter(now, State::Active { link: None });
        }
    }

    fn closed(&mut self, now: Instant, connection: ConnectionId) {
        if self
            .contender
            .is_some_and(|contender| contender.link.id == connection)
        {
            self.contender = None;
            return;
        }
        if self.state.link().is_none_or(|link| link.id != connection) {
            return;
        }
        match self.state {
            // RFC 4271 §8.2.2 OpenSent, event 18: back to Active and listen.
            State::OpenSent { .. } => {
                self.outputs.push_back(Output::Close { connection });
                self.timers.stop_all();
                self.last_down = Some(DownReason::ConnectionClosed);
                self.arm_connect_retry(now);
                self.enter(now, State::Active { link: None });
            }
            State::Connect { .. } | State::Active { .. } => {
                self.timers.stop(Timer::DelayOpen);
                self.arm_connect_retry(now);
                self.enter(now, State::Active { link: None });
            }
            _ => self.tear_down(now, None, DownReason::ConnectionClosed),
        }
    }

    fn malformed(&mut self, now: Instant, connection: ConnectionId, error: &DecodeError) {
        if self
            .contender
            .is_some_and(|contender| contender.link.id == connection)
        {
            self.reject_contender(Some(error.notification()));
            return;
        }
        if self.state.link().is_some_and(|link| link.id == connection) {
            self.tear_down(
                now,
                Some(error.notification()),
                DownReason::ConnectionClosed,
            );
        }
    }

    fn reject_contender(&mut self, notification: Option<Notification>) {
        if let Some(contender) = self.contender.take() {
            if let Some(notification) = notification {
                self.outputs.push_back(Output::Send {
                    connection: contender.link.id,
                    message: Message::Notification(notification),
                });
            }
            self.outputs.push_back(Output::Close {
                connection: contender.link.id,
            });
        }
    }

    fn received(&mut self, now: Instant, connection: ConnectionId, received: Received) {
        if self
            .contender
            .is_some_and(|contender| contender.link.id == connection)
        {
            self.contender_received(now, received);
            return;
        }
        let Some(link) = self.state.link().filter(|link| link.id == connection) else {
            return;
        };
        let Received { message, errors } = received;
        // The state's kind, not a clone of the state: every UPDATE comes
        // through here, and a clone would copy the negotiated capabilities.
        match (self.state.kind(), message) {
            (_, Message::Notification(notification)) => {
                // RFC 4271 §8.2.2: a NOTIFICATION ends the session; no reply.
                self.last_down = None;
                self.tear_down(now, None, DownReason::NotificationReceived(notification));
            }
            (StateKind::Connect | StateKind::Active, Message::Open(open)) => {
                // An OPEN while DelayOpen runs: answer with ours and a KEEPALIVE
                // (RFC 4271 §8.2.2 Connect, event 20).
                self.timers.stop(Timer::DelayOpen);
                self.send_open(now, link);
                self.open_received(now, link, &open);
            }
            (StateKind::OpenSent, Message::Open(open)) => self.open_received(now, link, &open),
            (StateKind::OpenConfirm, Message::Keepalive) => {
                if let State::OpenConfirm { negotiated, .. } = &self.state {
                    let negotiated = negotiated.clone();
                    self.enter(
                        now,
                        State::Established {
                            link,
                            negotiated: negotiated.clone(),
                            since: now,
                        },
                    );
                    self.restart_hold(now);
                    self.idle_hold = self.idle_hold.max(self.config.idle_hold.initial);
                    self.outputs.push_back(Output::Established(negotiated));
                }
            }
            (StateKind::Established, Message::Keepalive) => self.restart_hold(now),
            (StateKind::Established, Message::Update(update)) => {
                self.restart_hold(now);
                // RFC 7606 §2 allows a reset where a family cannot be disabled alone;
                // this speaker does not run families independently, so it resets.
                let disable = errors
                    .iter()
                    .find(|error| error.treatment == Treatment::AfiSafiDisable)
                    .cloned();
                if let Some(error) = disable {
                    let notification = DecodeError::Update(error).notification();
                    self.tear_down(now, Some(notification), DownReason::ConnectionClosed);
                    return;
                }
                self.outputs.push_back(Output::Update { update, errors });
            }
            (StateKind::Established, Message::RouteRefresh(refresh)) => {
                self.restart_hold(now);
                // RFC 7313 §5: unknown subtypes are ignored.
                if !refresh.is_ignorable() {
                    self.outputs.push_back(Output::RouteRefresh(refresh));
                }
            }
            (StateKind::Connect | StateKind::Active, _) => {
                // Anything but OPEN before our OPEN: RFC 4271 §8.2.2, FSM error.
                self.tear_down(
                    now,
                    Some(Notification::new(
                        ErrorCode::FINITE_STATE_MACHINE,
                        0,
                        Bytes::new(),
                    )),
                    DownReason::ConnectionClosed,
                );
            }
            _ => self.fsm_error(now),
        }
    }

    fn open_received(&mut self, now: Instant, link: Link, open: &bgp_wire::Open) {
        match accept_open(&self.config, open) {
            Ok(negotiated) => {
                self.transmit(now, link, Message::Keepalive);
                self.arm_keepalive(now, &negotiated);
                let hold = negotiated.hold_time;
                self.enter(
                    now,
                    State::OpenConfirm {
                        link,
                        negotiated: Arc::new(negotiated),
                    },
                );
                if hold.is_zero() {
                    self.timers.stop(Timer::Hold);
                } else {
                    self.arm(now, Timer::Hold, hold);
                }
            }
            Err(error) => self.tear_down(
                now,
                Some(error.notification()),
                DownReason::ConnectionClosed,
            ),
        }
    }

    /// The peer's OPEN on the second connection: RFC 4271 §6.8 keeps the
    /// connection opened by the speaker with the higher BGP Identifier.
    fn contender_received(&mut self, now: Instant, received: Received) {
        let Some(contender) = self.contender else {
            return;
        };
        let open = match received.message {
            Message::Open(open) => open,
            Message::Notification(_) => {
                self.reject_contender(None);
                return;
            }
            _ => {
                let notification =
                    Notification::new(ErrorCode::FINITE_STATE_MACHINE, 1, Bytes::new());
                self.reject_contender(Some(notification));
                return;
            }
        };
        let local = u32::from(self.config.router_id.0);
        let remote = u32::from(open.router_id.0);
        let keep_outgoing = local > remote;
        let contender_wins = (contender.link.direction == Direction::Outgoing) == keep_outgoing;
        let collision = Notification::new(
            ErrorCode::CEASE,
            cease::CONNECTION_COLLISION_RESOLUTION,
            Bytes::new(),
        );
        if !contender_wins {
            self.reject_contender(Some(collision));
            return;
        }
        // The contender wins: the first connection is closed with a Cease and
        // the contender carries on from its OPEN.
        self.contender = None;
        if let Some(old) = self.state.link() {
            self.outputs.push_back(Output::Send {
                connection: old.id,
                message: Message::Notification(collision),
            });
            self.outputs.push_back(Output::Close { connection: old.id });
        }
        self.timers.stop(Timer::Keepalive);
        self.state = State::OpenSent {
            link: contender.link,
        };
        self.open_received(now, contender.link, &open);
    }
}
