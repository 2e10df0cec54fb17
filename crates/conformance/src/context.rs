//! What a scenario works with: the runner's configuration, the main
//! session (kept while it survives, so that scenarios which expect no reset
//! share one), the observer session, and the grading steps scenarios share.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::peer::{Event, Peer, Reply};
use crate::wire::{self, kind, Prefix, ReceivedUpdate, Route};

/// How the runner reaches the speaker and how patient it is.
#[derive(Debug, Clone)]
pub struct Config {
    /// The speaker under test.
    pub target: SocketAddr,
    /// Its AS.
    pub target_as: u32,
    /// The runner's AS on the main session.
    pub local_as: u32,
    /// The address the main session comes from (the speaker's configured
    /// neighbour).
    pub source: IpAddr,
    /// A second, well-behaved peer (address and AS) through which the runner
    /// sees which routes the speaker keeps. Without it, scenarios that judge
    /// a route's fate are not applicable.
    pub observer: Option<(IpAddr, u32)>,
    /// An internal (iBGP) neighbour of the speaker that the speaker connects
    /// to itself: the runner listens on its port 179 for the scenarios that
    /// need the speaker to open the connection (collisions, RFC 4271 §6.8)
    /// or an iBGP session (RFC 6286 identifiers).
    pub internal: Option<IpAddr>,
    /// The speaker checks GTSM (RFC 5082) on the runner's session: the
    /// runner sends with TTL 255, and grades a session from TTL 254.
    pub gtsm: bool,
    /// The speaker requires this TCP MD5 key (RFC 2385) on the runner's
    /// session: the runner signs with it, and grades sessions without.
    pub md5_password: Option<String>,
    /// The speaker's configured prefix limit for the runner (RFC 4486):
    /// the runner sends one prefix more.
    pub max_prefix: Option<u32>,
    /// The speaker's send hold time (RFC 9687) for the observer: the runner
    /// stops reading for that long and expects the session closed.
    pub send_hold: Option<Duration>,
    /// The runner's BGP Identifier.
    pub identifier: Ipv4Addr,
    /// The next hop the runner's routes carry: not in 127/8, which some
    /// speakers refuse.
    pub next_hop: Ipv4Addr,
    /// A shell command run before each new connection after a session ended
    /// (to restart the speaker or clear its back-off), instead of waiting.
    pub between: Option<String>,
    /// How long to wait for the speaker to accept a connection again.
    pub accept_timeout: Duration,
    /// How long to wait for a reply the RFC requires.
    pub reply_window: Duration,
    /// How long a silence must last to count as "the session stayed up"
    /// where no positive sign can be had.
    pub settle: Duration,
}

impl Config {
    /// The defaults for a target and its AS, from `source`.
    pub fn new(target: SocketAddr, target_as: u32, source: IpAddr) -> Config {
        let identifier = match source {
            IpAddr::V4(address) if !address.is_unspecified() => address,
            _ => Ipv4Addr::new(192, 0, 2, 1),
        };
        Config {
            target,
            target_as,
            local_as: 65001,
            source,
            observer: None,
            internal: None,
            gtsm: false,
            md5_password: None,
            max_prefix: None,
            send_hold: None,
            identifier,
            next_hop: Ipv4Addr::new(198, 51, 100, 1),
            between: None,
            accept_timeout: Duration::from_secs(60),
            reply_window: Duration::from_secs(5),
            settle: Duration::from_secs(2),
        }
    }
}

/// A scenario's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The speaker did what the RFC says.
    Pass(String),
    /// It did not; what it did instead.
    Fail(String),
    /// The scenario does not apply (a capability the speaker lacks, an
    /// observer not given); why.
    NotApplicable(String),
    /// The runner could not carry the scenario out (the speaker never
    /// accepted a connection); what happened.
    Error(String),
}

impl Outcome {
    /// The observation text.
    pub fn observed(&self) -> &str {
        match self {
            Outcome::Pass(text)
            | Outcome::Fail(text)
            | Outcome::NotApplicable(text)
            | Outcome::Error(text) => text,
        }
    }

    /// The verdict's name in reports.
    pub fn verdict(&self) -> &'static str {
        match self {
            Outcome::Pass(_) => "pass",
            Outcome::Fail(_) => "fail",
            Outcome::NotApplicable(_) => "n/a",
            Outcome::Error(_) => "error",
        }
    }
}

/// The hold time the runner offers.
pub const HOLD_TIME: u16 = 90;

/// The second session, and the routes the speaker sent on it.
#[derive(Debug)]
struct Observer {
    peer: Peer,
    routes: HashMap<Route, ReceivedUpdate>,
}

impl Observer {
    /// Reads until `done` holds of the table or `window` passes.
    fn wait_for(
        &mut self,
        window: Duration,
        done: impl Fn(&HashMap<Route, ReceivedUpdate>) -> bool,
    ) -> Result<bool, String> {
        let deadline = Instant::now() + window;
        loop {
            if done(&self.routes) {
                return Ok(true);
            }
            match self.peer.next_event(deadline) {
                Event::Message(kind::UPDATE, body) => {
                    if let Some(update) = ReceivedUpdate::parse(&body) {
                        for route in update.withdrawn_routes() {
                            self.routes.remove(&route);
                        }
                        for route in update.announced_routes() {
                            self.routes.insert(route, update.clone());
                        }
                    }
                }
                Event::Message(kind::NOTIFICATION, body) => {
                    return Err(format!(
                        "the observer session got {}",
                        wire::Notification::parse(&body)
                            .map(|notification| notification.to_string())
                            .unwrap_or_else(|| "a short NOTIFICATION".into())
                    ))
                }
                Event::Message(..) => {}
                Event::Closed(how) => return Err(format!("the observer session ended: {how}")),
                Event::Timeout => return Ok(done(&self.routes)),
            }
        }
    }
}

/// The receive buffer of an observer that stops reading: a few segments.
const SLOW_RECEIVE_BUFFER: usize = 4096;

/// The OPEN of the observer session: IPv4 unicast and four-octet AS.
fn observer_open(address: IpAddr, asn: u32) -> wire::Open {
    wire::Open {
        version: 4,
        my_as: wire::two_octet_as(asn),
        hold_time: HOLD_TIME,
        identifier: match address {
            IpAddr::V4(address) => address,
            IpAddr::V6(_) => Ipv4Addr::new(192, 0, 2, 2),
        },
        // IPv6 unicast too: speakers that carry it on this session show
        // the runner's IPv6 routes to the observer.
        parameters: wire::capabilities_parameter(&[
            wire::ipv4_unicast(),
            wire::ipv6_unicast(),
            wire::four_octet_as(asn),
        ]),
    }
}

/// The state scenarios share.
#[derive(Debug)]
pub struct Context {
    /// The configuration.
    pub config: Config,
    session: Option<Peer>,
    observer: Option<Observer>,
    /// The octets of the stimulus the current scenario sent (reported when
    /// it fails).
    pub sent: Vec<u8>,
    /// Notes on waits the current scenario needed (reported).
    pub notes: Vec<String>,
    /// The position of the current scenario (its routes use
    /// [`crate::scenarios::scenario_prefix`] of it).
    pub index: usize,
    /// No connection to the speaker could be made for a whole accept timeout:
    /// it no longer listens (it exited or crashed), and the remaining
    /// scenarios are not run.
    pub gone: bool,
    /// Whether [`Context::connect`] may run `--between` (not while the
    /// runner plays a graceful restart: restarting the speaker would end
    /// what is graded).
    pub allow_between: bool,
    beacons: u16,
    ended_at: Option<Instant>,
}

impl Context {
    /// A context with no session yet.
    pub fn new(config: Config) -> Context {
        Context {
            config,
            session: None,
            observer: None,
            sent: Vec::new(),
            notes: Vec::new(),
            index: 0,
            gone: false,
            allow_between: true,
            beacons: 0,
            ended_at: None,
        }
    }

    /// Called before each scenario: clears its record and reads what the
    /// observer was sent meanwhile (dropping it if its session ended).
    pub fn begin(&mut self) {
        self.sent.clear();
        self.notes.clear();
        if let Some(observer) = &mut self.observer {
            let healthy = observer.wait_for(Duration::ZERO, |_| false).is_ok();
            if !healthy {
                self.observer = None;
            }
        }
    }

    /// The OPEN the runner normally sends: IPv4 unicast, four-octet AS,
    /// route refresh and enhanced route refresh, and any `extra`
    /// capabilities.
    pub fn open_with(&self, extra: &[Vec<u8>]) -> wire::Open {
        let mut capabilities = vec![
            wire::ipv4_unicast(),
            wire::four_octet_as(self.config.local_as),
            wire::capability(wire::capability_code::ROUTE_REFRESH, &[]),
            wire::capability(wire::capability_code::ENHANCED_ROUTE_REFRESH, &[]),
        ];
        capabilities.extend(extra.iter().cloned());
        wire::Open {
            version: 4,
            my_as: wire::two_octet_as(self.config.local_as),
            hold_time: HOLD_TIME,
            identifier: self.config.identifier,
            parameters: wire::capabilities_parameter(&capabilities),
        }
    }

    /// Ends the main session, if any, the polite way.
    pub fn end_session(&mut self) {
        if let Some(session) = self.session.take() {
            session.close();
            self.ended_at = Some(Instant::now());
        }
    }

    /// Marks the main session as ended by the scenario (reset, dropped).
    pub fn session_ended(&mut self) {
        self.session = None;
        self.ended_at = Some(Instant::now());
    }

    /// A new TCP connection to the speaker, the main session ended first.
    /// After a session ended the speaker may refuse for a while (its
    /// back-off): the runner runs `--between`, or retries until
    /// `accept_timeout`, and notes which.
    pub fn connect(&mut self) -> Result<Peer, Outcome> {
        self.end_session();
        let mut ran_between = false;
        let between = self.config.between.as_ref().filter(|_| self.allow_between);
        if let (Some(command), Some(_)) = (between, self.ended_at) {
            let status = Command::new("sh").arg("-c").arg(command).status();
            if !matches!(status, Ok(status) if status.success()) {
                return Err(Outcome::Error(format!(
                    "--between command failed: {status:?}"
                )));
            }
            ran_between = true;
        }
        self.connect_from(self.config.source, ran_between)
    }

    /// A new connection to the speaker from `source`, retried while the
    /// speaker refuses or drops it at once (its back-off), up to
    /// `accept_timeout`.
    pub fn connect_from(&mut self, source: IpAddr, ran_between: bool) -> Result<Peer, Outcome> {
        let started = Instant::now();
        let deadline = started + self.config.accept_timeout;
        let mut last_error = String::new();
        // Whether no attempt got a TCP connection at all (refused, or no
        // answer: with an MD5 key the kernel drops the unsigned reset of a
        // closed port): nothing listens any more, which no back-off explains.
        let mut never_connected = true;
        while Instant::now() < deadline {
            let security = self.security_for(source);
            match Peer::connect_with(
                source,
                self.config.target,
                Duration::from_secs(3),
                &security,
            ) {
                Ok(mut peer) => {
                    never_connected = false;
                    // A speaker still in its back-off may accept and close at
                    // once: a connection counts once it stays open briefly or
                    // the speaker speaks first.
                    match peer.next_event(Instant::now() + Duration::from_millis(300)) {
                        Event::Closed(how) => last_error = how,
                        Event::Timeout => return Ok(self.note_wait(peer, started, ran_between)),
                        Event::Message(kind::OPEN, body) => {
                            peer.open = Some(wire::ReceivedOpen::parse(&body));
                            return Ok(self.note_wait(peer, started, ran_between));
                        }
                        Event::Message(kind, _) => {
                            last_error = format!("the speaker sent message type {kind} first")
                        }
                    }
                }
                Err(error) => last_error = error.to_string(),
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        if never_connected {
            self.gone = true;
        }
        Err(Outcome::Error(format!(
            "the speaker did not accept a connection within {:?}: {last_error}",
            self.config.accept_timeout
        )))
    }

    /// The socket options the speaker expects from `source`: GTSM and MD5
    /// are configured on the runner's own neighbour only.
    pub fn security_for(&self, source: IpAddr) -> crate::peer::Security {
        if source != self.config.source {
            return crate::peer::Security::default();
        }
        crate::peer::Security {
            ttl: self.config.gtsm.then_some(255),
            md5_password: self.config.md5_password.clone(),
        }
    }

    fn note_wait(&mut self, peer: Peer, started: Instant, ran_between: bool) -> Peer {
        let waited = started.elapsed();
        if ran_between {
            self.notes.push("ran --between before connecting".into());
        } else if waited > Duration::from_secs(1) {
            self.notes.push(format!(
                "waited {:.1} s for the speaker to accept again",
                waited.as_secs_f64()
            ));
        }
        peer
    }

    /// Brings up a session with `open` on a new connection.
    pub fn establish_with(&mut self, open: &wire::Open) -> Result<Peer, Outcome> {
        let mut peer = self.connect()?;
        match peer.establish(&open.message(), self.config.reply_window) {
            Ok(()) => Ok(peer),
            Err(reply) => Err(Outcome::Error(format!(
                "the speaker did not establish a session with the runner's usual OPEN: {reply}"
            ))),
        }
    }

    /// The main session, established with the usual OPEN (reused while up).
    pub fn session(&mut self) -> Result<&mut Peer, Outcome> {
        if self.session.is_none() {
            let open = self.open_with(&[]);
            let peer = self.establish_with(&open)?;
            self.session = Some(peer);
        }
        Ok(self.session.as_mut().expect("just set"))
    }

    /// Takes the main session out, establishing it if needed: for scenarios
    /// that will end it.
    pub fn take_session(&mut self) -> Result<Peer, Outcome> {
        self.session()?;
        Ok(self.session.take().expect("just established"))
    }

    /// Gives a session that is still up back for later scenarios.
    pub fn keep_session(&mut self, peer: Peer) {
        self.session = Some(peer);
    }

    /// Whether an observer was configured.
    pub fn has_observer(&self) -> bool {
        self.config.observer.is_some()
    }

    /// Whether the speaker carries IPv6 unicast to the observer: it offered
    /// the capability in its OPEN to it, as the observer did (RFC 4760 §8).
    pub fn observer_has_ipv6(&mut self) -> Result<bool, Outcome> {
        let observer = self.observer()?;
        Ok(observer
            .peer
            .open
            .as_ref()
            .is_some_and(wire::ReceivedOpen::offers_ipv6_unicast))
    }

    fn observer(&mut self) -> Result<&mut Observer, Outcome> {
        let Some((address, asn)) = self.config.observer else {
            return Err(Outcome::NotApplicable(
                "needs --observer to see which routes the speaker keeps".into(),
            ));
        };
        if self.observer.is_none() {
            let open = observer_open(address, asn);
            let started = Instant::now();
            let deadline = started + self.config.accept_timeout;
            let peer = loop {
                let attempt = Peer::connect(address, self.config.target, Duration::from_secs(3))
                    .map_err(|error| Reply::Closed(error.to_string()))
                    .and_then(|mut peer| {
                        peer.establish(&open.message(), self.config.reply_window)?;
                        Ok(peer)
                    });
                match attempt {
                    Ok(peer) => break peer,
                    Err(reply) if Instant::now() >= deadline => {
                        return Err(Outcome::Error(format!(
                            "the observer session from {address} did not come up: {reply}"
                        )))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(500)),
                }
            };
            self.observer = Some(Observer {
                peer,
                routes: HashMap::new(),
            });
        }
        Ok(self.observer.as_mut().expect("just set"))
    }

    /// A fresh observer session whose receive buffer is tiny, for the runner
    /// to stop reading (RFC 9687); the usual observer session is closed
    /// first, and comes back when next needed.
    pub fn slow_observer(&mut self) -> Result<Peer, Outcome> {
        let Some((address, asn)) = self.config.observer else {
            return Err(Outcome::NotApplicable(
                "needs --observer: the speaker sends to it while it does not read".into(),
            ));
        };
        if let Some(observer) = self.observer.take() {
            observer.peer.close();
        }
        let open = observer_open(address, asn);
        let deadline = Instant::now() + self.config.accept_timeout;
        loop {
            let attempt = Peer::connect_reading_slowly(
                address,
                self.config.target,
                Duration::from_secs(3),
                SLOW_RECEIVE_BUFFER,
            )
            .map_err(|error| Reply::Closed(error.to_string()))
            .and_then(|mut peer| {
                peer.establish(&open.message(), self.config.reply_window)?;
                Ok(peer)
            });
            match attempt {
                Ok(peer) => return Ok(peer),
                Err(reply) if Instant::now() >= deadline => {
                    return Err(Outcome::Error(format!(
                        "the observer session from {address} did not come up: {reply}"
                    )))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }

    /// Waits until the observer has `prefix` (`present`) or not, within the
    /// reply window; returns the route's UPDATE when present.
    pub fn observe(
        &mut self,
        prefix: impl Into<Route>,
        present: bool,
    ) -> Result<Option<ReceivedUpdate>, Outcome> {
        let prefix = prefix.into();
        let window = self.config.reply_window;
        let observer = self.observer()?;
        match observer.wait_for(window, |routes| routes.contains_key(&prefix) == present) {
            Ok(true) => Ok(observer.routes.get(&prefix).cloned()),
            Ok(false) => Err(Outcome::Fail(format!(
                "the observer {} {} within {:?}",
                if present {
                    "never received"
                } else {
                    "still has"
                },
                prefix,
                window
            ))),
            Err(why) => {
                self.observer = None;
                Err(Outcome::Error(why))
            }
        }
    }

    /// Like [`Context::observe`] with a window of its own.
    pub fn observe_within(
        &mut self,
        prefix: impl Into<Route>,
        present: bool,
        window: Duration,
    ) -> Result<(), Outcome> {
        let prefix = prefix.into();
        let observer = self.observer()?;
        match observer.wait_for(window, |routes| routes.contains_key(&prefix) == present) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Outcome::Fail(format!(
                "the observer {} {} within {:?}",
                if present {
                    "never received"
                } else {
                    "still has"
                },
                prefix,
                window
            ))),
            Err(why) => {
                self.observer = None;
                Err(Outcome::Error(why))
            }
        }
    }

    /// The observer announces `prefix` itself (for scenarios that need the
    /// speaker to send the runner a route).
    pub fn observer_announce(&mut self, prefix: Prefix) -> Result<(), Outcome> {
        let asn = self.config.observer.map(|(_, asn)| asn).unwrap_or_default();
        let attributes = [
            wire::origin_igp(),
            wire::as_path(&[asn]),
            wire::next_hop(Ipv4Addr::new(198, 51, 100, 2)),
        ]
        .concat();
        let update = wire::update(&[], &attributes, &wire::prefix(prefix.0, prefix.1));
        let observer = self.observer()?;
        observer
            .peer
            .send(&update)
            .map_err(|error| Outcome::Error(format!("the observer could not send: {error}")))
    }

    /// The observer withdraws a route it announced.
    pub fn observer_withdraw(&mut self, prefix: Prefix) -> Result<(), Outcome> {
        let update = wire::update(&wire::prefix(prefix.0, prefix.1), &[], &[]);
        let observer = self.observer()?;
        observer
            .peer
            .send(&update)
            .map_err(|error| Outcome::Error(format!("the observer could not send: {error}")))
    }

    /// Whether the observer has `prefix` now and stays so for `window`
    /// (for routes that must *not* change).
    pub fn observe_steady(
        &mut self,
        prefix: impl Into<Route>,
        present: bool,
        window: Duration,
    ) -> Result<(), Outcome> {
        let prefix = prefix.into();
        let observer = self.observer()?;
        match observer.wait_for(window, |routes| routes.contains_key(&prefix) != present) {
            Ok(false) => Ok(()),
            Ok(true) => Err(Outcome::Fail(format!(
                "the observer {} {}",
                if present { "lost" } else { "received" },
                prefix
            ))),
            Err(why) => {
                self.observer = None;
                Err(Outcome::Error(why))
            }
        }
    }

    /// The three well-known mandatory attributes of a valid eBGP route from
    /// the runner.
    pub fn valid_attributes(&self) -> Vec<u8> {
        [
            wire::origin_igp(),
            wire::as_path(&[self.config.local_as]),
            wire::next_hop(self.config.next_hop),
        ]
        .concat()
    }

    /// A valid UPDATE announcing `prefix`.
    pub fn announcement(&self, prefix: Prefix) -> Vec<u8> {
        wire::update(
            &[],
            &self.valid_attributes(),
            &wire::prefix(prefix.0, prefix.1),
        )
    }

    /// Announces `prefix` on `peer` and, with an observer, waits until the
    /// speaker passed it on.
    pub fn announce(&mut self, peer: &mut Peer, prefix: Prefix) -> Result<(), Outcome> {
        peer.send(&self.announcement(prefix))
            .map_err(|error| Outcome::Error(format!("sending an UPDATE: {error}")))?;
        if self.has_observer() {
            self.observe(prefix, true)
                .map_err(|outcome| match outcome {
                    Outcome::Fail(why) => {
                        Outcome::Error(format!("a valid route was not passed on: {why}"))
                    }
                    other => other,
                })?;
        }
        Ok(())
    }

    /// Proves that `peer`'s session is up and that the speaker processed
    /// everything sent before: a fresh route sent now reaches the observer
    /// (TCP keeps order). Without an observer, the session must stay
    /// silent for the settle time instead.
    pub fn still_up(&mut self, peer: &mut Peer) -> Result<(), Outcome> {
        if self.has_observer() {
            self.beacons += 1;
            let beacon = (
                Ipv4Addr::new(198, 19, (self.beacons >> 8) as u8, self.beacons as u8),
                32,
            );
            if let Err(error) = peer.send(&self.announcement(beacon)) {
                return Err(Outcome::Fail(format!("the session ended: {error}")));
            }
            if let Err(outcome) = self.observe(beacon, true) {
                return Err(match peer.await_reply(Duration::from_millis(200)) {
                    Reply::StillUp => outcome,
                    reply => Outcome::Fail(reply.to_string()),
                });
            }
        }
        match peer.await_reply(if self.has_observer() {
            Duration::from_millis(100)
        } else {
            self.config.settle
        }) {
            Reply::StillUp => Ok(()),
            reply => Err(Outcome::Fail(reply.to_string())),
        }
    }
}

/// A prefix as text.
pub fn show(prefix: Prefix) -> String {
    format!("{}/{}", prefix.0, prefix.1)
}
