//! The task that owns one peer's [`Session`]: it feeds the state machine with
//! socket events, commands and the time, and carries out what it asks.
//!
//! ```text
//!  commands (start, stop, incoming connection, status) ─┐
//!  connection tasks (frames, closed, flushed) ──────────┼─► peer task ─► Session (sans-IO)
//!  connect attempts (stream or error) ──────────────────┤       │
//!  sleep_until(session.poll_timeout()) ─────────────────┘       └─► connection tasks (bytes to write)
//! ```

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bgp_fsm::{ConnectionId, Direction, DownReason, Input, Negotiated, Output, Session, StateKind};
use bgp_wire::{
    AsPath, AttributeValue, CodecContext, DecodeError, Family, Message, MpNlri, MpReach, MpUnreach,
    Nlri, Origin, PathAttribute, Treatment, Update,
};
use bytes::{Bytes, BytesMut};
use ipnet::IpNet;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn, Instrument};

use crate::connection::{self, ConnectionEvent};
use crate::net::{self, SocketOptions};

/// One peer's settings.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// The peer's address and port.
    pub address: SocketAddr,
    /// The session settings.
    pub session: bgp_fsm::Config,
    /// Socket options: source address, MD5, GTSM.
    pub socket: SocketOptions,
    /// How long one outgoing connection attempt may take.
    pub connect_timeout: Duration,
    /// Prefixes this speaker originates to the peer, next hop self, when the
    /// session stands alone (no `routes` link).
    pub advertise: Vec<IpNet>,
    /// Where the session's routing events go, and under which peer number.
    /// With it, UPDATEs are passed up and what to send comes from
    /// [`PeerHandle::send_updates`]; without it, the session keeps its own
    /// received-prefix set and announces `advertise` (tests, tools).
    pub routes: Option<RouteLink>,
}

/// The link from a peer task to the routing task that owns the RIB.
#[derive(Debug, Clone)]
pub struct RouteLink {
    /// The number the routing task knows this peer by; a new number for each
    /// spawned task, so that events of a replaced session are never mistaken
    /// for its successor's.
    pub peer: u32,
    /// The routing task's inbox. Bounded: a peer that sends faster than the
    /// RIB takes routes in is not read until it catches up (TCP pushes back).
    pub events: mpsc::Sender<PeerEvent>,
}

/// A routing event of one peer.
#[derive(Debug)]
pub struct PeerEvent {
    /// The peer's number ([`RouteLink::peer`]).
    pub peer: u32,
    /// What happened.
    pub event: SessionEvent,
}

/// What a session tells the routing task.
#[derive(Debug)]
pub enum SessionEvent {
    /// The session reached Established.
    Established {
        /// What was negotiated.
        negotiated: Box<Negotiated>,
        /// Our address on the connection: next hop self.
        local_address: Option<SocketAddr>,
    },
    /// An UPDATE arrived, with its RFC 7606 attribute errors.
    Update {
        /// The message.
        update: Update,
        /// Errors that did not reset the session.
        errors: Vec<bgp_wire::AttributeError>,
    },
    /// The peer asked for our routes again (RFC 2918).
    RouteRefresh(bgp_wire::RouteRefresh),
    /// The session left Established (or failed before it).
    Down(DownReason),
}

/// A snapshot of one peer, for `nodebgp status`.
#[derive(Debug, Clone)]
pub struct PeerStatus {
    /// The peer's address and port.
    pub address: SocketAddr,
    /// The configured peer AS.
    pub peer_as: bgp_wire::Asn,
    /// The session state.
    pub state: StateKind,
    /// How long it has been in that state.
    pub in_state: Duration,
    /// The last reason the session went down or failed, in words.
    pub last_error: Option<String>,
    /// What was negotiated, in OpenConfirm and Established.
    pub negotiated: Option<Negotiated>,
    /// Our address on the established connection.
    pub local_address: Option<SocketAddr>,
    /// Messages received and sent.
    pub messages_received: u64,
    /// Messages sent.
    pub messages_sent: u64,
    /// UPDATE messages received.
    pub updates_received: u64,
    /// UPDATE messages sent.
    pub updates_sent: u64,
    /// Prefixes the peer currently announces to us.
    pub prefixes_received: usize,
    /// Prefixes we announce to the peer.
    pub prefixes_sent: usize,
}

/// Requests to a peer task.
#[derive(Debug)]
enum Command {
    Start,
    Stop {
        communication: Option<String>,
    },
    Deconfigure,
    Incoming(TcpStream),
    Status(oneshot::Sender<PeerStatus>),
    MaximumPrefixes {
        family: Family,
        limit: u32,
        restart_after: Option<Duration>,
    },
    Detach,
}

/// The handle the daemon keeps for a running peer task. Dropping it stops
/// the session with a Cease and ends the task.
#[derive(Debug)]
pub struct PeerHandle {
    commands: mpsc::Sender<Command>,
    /// UPDATEs from the routing task. Unbounded, because the routing task
    /// must never wait on a peer that is itself waiting to hand it routes;
    /// what is queued is bounded by the RIB it comes from.
    updates: mpsc::UnboundedSender<Vec<Message>>,
    task: JoinHandle<()>,
    address: SocketAddr,
    state: watch::Receiver<StateKind>,
}

impl PeerHandle {
    /// The peer's address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The session state, updated on every change: a test or the daemon can
    /// await a state instead of polling for it.
    pub fn state(&self) -> watch::Receiver<StateKind> {
        self.state.clone()
    }

    /// Waits until the session is in `wanted`, or `timeout` passes; returns
    /// the state it was last in.
    pub async fn wait_for(&self, wanted: StateKind, timeout: Duration) -> Result<(), StateKind> {
        let mut state = self.state.clone();
        let reached =
            tokio::time::timeout(timeout, state.wait_for(|current| *current == wanted)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => Err(*self.state.borrow()),
        }
    }

    /// Starts the session (RFC 4271 ManualStart).
    pub async fn start(&self) {
        let _ = self.commands.send(Command::Start).await;
    }

    /// Stops the session with a Cease and an optional shutdown communication.
    pub async fn stop(&self, communication: Option<String>) {
        let _ = self.commands.send(Command::Stop { communication }).await;
    }

    /// Hands over a connection the listener accepted from this peer.
    pub async fn incoming(&self, stream: TcpStream) {
        let _ = self.commands.send(Command::Incoming(stream)).await;
    }

    /// The peer's current status; `None` once the task has ended.
    pub async fn status(&self) -> Option<PeerStatus> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::Status(reply)).await.ok()?;
        answer.await.ok()
    }

    /// Queues UPDATEs to send; dropped unless the session is Established.
    pub fn send_updates(&self, updates: Vec<Update>) {
        let _ = self
            .updates
            .send(updates.into_iter().map(Message::Update).collect());
    }

    /// Queues messages to send in this order (UPDATEs, and the RFC 7313
    /// BoRR/EoRR markers around a refreshed table, or a ROUTE-REFRESH
    /// request); dropped unless the session is Established.
    pub fn send_messages(&self, messages: Vec<Message>) {
        let _ = self.updates.send(messages);
    }

    /// Ends the session because the peer exceeded its prefix limit
    /// (RFC 4486 §4), restarting it after `restart_after` if given.
    pub async fn maximum_prefixes(
        &self,
        family: Family,
        limit: u32,
        restart_after: Option<Duration>,
    ) {
        let _ = self
            .commands
            .send(Command::MaximumPrefixes {
                family,
                limit,
                restart_after,
            })
            .await;
    }

    /// Leaves for a graceful restart (RFC 4724 §4.1): the connections are
    /// closed without a NOTIFICATION, so a helper peer keeps our routes;
    /// waits for the task to end.
    pub async fn detach(self) {
        let _ = self.commands.send(Command::Detach).await;
        drop(self.commands);
        let _ = self.task.await;
    }

    /// Stops the session with Cease / Administrative Shutdown and
    /// `communication`, and waits for the task to end.
    pub async fn shut_down(self, communication: Option<String>) {
        let _ = self.commands.send(Command::Stop { communication }).await;
        drop(self.commands);
        let _ = self.task.await;
    }

    /// Ends the session because the peer was removed from the configuration
    /// (Cease / Peer De-configured), and waits for the task to end.
    pub async fn deconfigure(self) {
        let _ = self.commands.send(Command::Deconfigure).await;
        drop(self.commands);
        let _ = self.task.await;
    }
}

/// Starts the task for one peer; it waits for [`PeerHandle::start`].
pub fn spawn_peer(config: PeerConfig) -> PeerHandle {
    let (commands, receiver) = mpsc::channel(64);
    let (updates, outbound_updates) = mpsc::unbounded_channel();
    let (events_sender, events) = mpsc::channel(1024);
    let address = config.address;
    let now = Instant::now().into_std();
    let (state_sender, state) = watch::channel(StateKind::Idle);
    let peer = Peer {
        state: state_sender,
        session: Session::new(config.session.clone(), now),
        config,
        commands: receiver,
        events,
        events_sender,
        connections: HashMap::new(),
        closing: Vec::new(),
        next_connection: 1,
        attempt: None,
        received: HashSet::new(),
        counters: Counters::default(),
        outbound_updates,
        outbox: Vec::new(),
    };
    let span = tracing::info_span!("peer", address = %address);
    let task = tokio::spawn(peer.run().instrument(span));
    PeerHandle {
        commands,
        updates,
        task,
        address,
        state,
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    messages_received: u64,
    messages_sent: u64,
    updates_received: u64,
    updates_sent: u64,
    prefixes_sent: usize,
}

#[derive(Debug)]
struct LiveConnection {
    outbound: mpsc::UnboundedSender<Bytes>,
    local_address: Option<SocketAddr>,
    task: JoinHandle<()>,
}

struct Peer {
    config: PeerConfig,
    state: watch::Sender<StateKind>,
    session: Session,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Receiver<ConnectionEvent>,
    events_sender: mpsc::Sender<ConnectionEvent>,
    connections: HashMap<ConnectionId, LiveConnection>,
    /// Connection tasks still writing their last messages.
    closing: Vec<JoinHandle<()>>,
    next_connection: u64,
    /// The outgoing attempt under way: its number and task.
    attempt: Option<(u64, JoinHandle<()>)>,
    /// Prefixes the peer announces (a count for status until the RIB owns them).
    received: HashSet<(Family, Nlri)>,
    counters: Counters,
    outbound_updates: mpsc::UnboundedReceiver<Vec<Message>>,
    /// Events for the routing task, sent (and waited for) between turns.
    outbox: Vec<SessionEvent>,
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

impl Peer {
    async fn run(mut self) {
        loop {
            self.carry_out();
            self.deliver().await;
            let deadline = self.session.poll_timeout().map(Instant::from_std);
            tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    Some(Command::Detach) => {
                        self.detach().await;
                        return;
                    }
                    Some(command) => self.command(command),
                    None => {
                        self.session.handle(now(), Input::Stop { communication: None });
                        self.carry_out();
                        self.finish_writing().await;
                        return;
                    }
                },
                Some(messages) = self.outbound_updates.recv() => self.send_messages(messages),
                Some(event) = self.events.recv() => self.event(event),
                () = sleep_until(deadline) => self.session.handle_timeout(now()),
            }
        }
    }

    /// Hands the routing task what happened, waiting while its inbox is full.
    async fn deliver(&mut self) {
        let Some(link) = &self.config.routes else {
            return;
        };
        for event in self.outbox.drain(..) {
            let event = PeerEvent {
                peer: link.peer,
                event,
            };
            if link.events.send(event).await.is_err() {
                break;
            }
        }
    }

    /// Closes every connection without a word (RFC 4724 §4.1: no
    /// NOTIFICATION, so the peer keeps our routes as stale).
    async fn detach(&mut self) {
        if let Some((_, task)) = self.attempt.take() {
            task.abort();
        }
        info!("leaving for a graceful restart; connections closed without NOTIFICATION");
        self.finish_writing().await;
    }

    fn send_messages(&mut self, messages: Vec<Message>) {
        if self.session.state() != StateKind::Established {
            return;
        }
        for message in messages {
            self.session.send(now(), message);
        }
    }

    /// Lets every connection task write what it was given (the Cease above
    /// all) before the task ends, so that a daemon shutting down says goodbye.
    async fn finish_writing(&mut self) {
        let mut tasks: Vec<JoinHandle<()>> = self.closing.drain(..).collect();
        tasks.extend(self.connections.drain().map(|(_, live)| live.task));
        let all = async {
            for task in tasks {
                let _ = task.await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(3), all).await;
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Start => self.session.handle(now(), Input::Start),
            Command::Stop { communication } => {
                self.session.handle(now(), Input::Stop { communication })
            }
            Command::Deconfigure => self.session.handle(now(), Input::Deconfigure),
            Command::Incoming(stream) => {
                if let Err(error) = net::apply_to_accepted(&stream, &self.config.socket) {
                    warn!(%error, "cannot set socket options on an accepted connection");
                }
                let id = self.adopt(stream);
                self.session.handle(
                    now(),
                    Input::Connected {
                        connection: id,
                        direction: Direction::Incoming,
                    },
                );
            }
            Command::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Command::MaximumPrefixes {
                family,
                limit,
                restart_after,
            } => self.session.handle(
                now(),
                Input::MaximumPrefixes {
                    family,
                    limit,
                    restart_after,
                },
            ),
            // Handled in the loop, which must end after it.
            Command::Detach => {}
        }
    }

    fn status(&self) -> PeerStatus {
        let local_address = self
            .session
            .established_connection()
            .and_then(|id| self.connections.get(&id))
            .and_then(|connection| connection.local_address);
        PeerStatus {
            address: self.config.address,
            peer_as: self.config.session.peer_as,
            state: self.session.state(),
            in_state: now().saturating_duration_since(self.session.since()),
            last_error: self.session.last_down().map(DownReason::to_string),
            negotiated: self.session.negotiated().cloned(),
            local_address,
            messages_received: self.counters.messages_received,
            messages_sent: self.counters.messages_sent,
            updates_received: self.counters.updates_received,
            updates_sent: self.counters.updates_sent,
            prefixes_received: self.received.len(),
            prefixes_sent: self.counters.prefixes_sent,
        }
    }

    /// Starts the task for a new connection and returns its id.
    fn adopt(&mut self, stream: TcpStream) -> ConnectionId {
        let id = ConnectionId(self.next_connection);
        self.next_connection += 1;
        let (outbound, receiver) = mpsc::unbounded_channel();
        let local_address = stream.local_addr().ok();
        let events = self.events_sender.clone();
        let task = tokio::spawn(connection::run(id, stream, receiver, events).in_current_span());
        self.connections.insert(
            id,
            LiveConnection {
                outbound,
                local_address,
                task,
            },
        );
        id
    }

    fn event(&mut self, event: ConnectionEvent) {
        match event {
            ConnectionEvent::Connected(attempt, result) => {
                if self.attempt.as_ref().map(|(number, _)| *number) != Some(attempt) {
                    return; // an attempt that was abandoned meanwhile
                }
                self.attempt = None;
                match result {
                    Ok(stream) => {
                        let id = self.adopt(stream);
                        self.session.handle(
                            now(),
                            Input::Connected {
                                connection: id,
                                direction: Direction::Outgoing,
                            },
                        );
                    }
                    Err(error) => {
                        debug!(%error, "connect failed");
                        self.session.handle(now(), Input::ConnectFailed);
                    }
                }
            }
            ConnectionEvent::Frame(id, frame) => {
                if !self.connections.contains_key(&id) {
                    return;
                }
                self.counters.messages_received += 1;
                let context = self.receive_context();
                let input = match Message::decode(&frame, &context) {
                    Ok(received) => {
                        if let Message::Update(_) = received.message {
                            self.counters.updates_received += 1;
                        }
                        Input::Received {
                            connection: id,
                            received,
                        }
                    }
                    Err(error) => Input::Malformed {
                        connection: id,
                        error,
                    },
                };
                self.session.handle(now(), input);
            }
            ConnectionEvent::BadHeader(id, error) => {
                let error = DecodeError::Header(error);
                self.session.handle(
                    now(),
                    Input::Malformed {
                        connection: id,
                        error,
                    },
                );
            }
            ConnectionEvent::Flushed(id) => {
                self.session
                    .handle(now(), Input::Flushed { connection: id });
            }
            ConnectionEvent::Closed(id) => {
                if self.connections.contains_key(&id) {
                    self.session.handle(now(), Input::Closed { connection: id });
                }
            }
        }
    }

    fn receive_context(&self) -> CodecContext {
        self.session
            .negotiated()
            .map(Negotiated::receive_context)
            .unwrap_or_default()
    }

    fn send_context(&self) -> CodecContext {
        self.session
            .negotiated()
            .map(Negotiated::send_context)
            .unwrap_or_default()
    }

    /// Carries out everything the session asked for.
    fn carry_out(&mut self) {
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Connect => self.connect(),
                Output::Send {
                    connection,
                    message,
                } => self.write(connection, &message),
                Output::Close { connection } => {
                    // Dropping the sender lets the connection task flush, then close.
                    if let Some(live) = self.connections.remove(&connection) {
                        self.closing.retain(|task| !task.is_finished());
                        self.closing.push(live.task);
                    }
                }
                Output::StateChanged { from, to } => {
                    info!(
                        from = from.as_str(),
                        to = to.as_str(),
                        "session state changed"
                    );
                    self.state.send_replace(to);
                }
                Output::Established(negotiated) => {
                    info!(
                        peer_as = negotiated.peer_as.0,
                        router_id = %negotiated.peer_router_id,
                        hold_time = negotiated.hold_time.as_secs(),
                        "session established"
                    );
                    if self.config.routes.is_some() {
                        let local_address = self
                            .connections
                            .get(&connection_of(&self.session))
                            .and_then(|live| live.local_address);
                        self.outbox.push(SessionEvent::Established {
                            negotiated,
                            local_address,
                        });
                    } else {
                        self.advertise();
                    }
                }
                Output::Update { update, errors } => {
                    if self.config.routes.is_some() {
                        self.outbox.push(SessionEvent::Update { update, errors });
                    } else {
                        self.learn(update, &errors);
                    }
                }
                Output::RouteRefresh(refresh) => {
                    if self.config.routes.is_some() {
                        self.outbox.push(SessionEvent::RouteRefresh(refresh));
                    } else if refresh.subtype == bgp_wire::RouteRefreshSubtype::REQUEST {
                        self.advertise();
                    }
                }
                Output::Down(reason) => {
                    warn!(reason = %reason, "session down");
                    self.received.clear();
                    self.counters.prefixes_sent = 0;
                    if self.config.routes.is_some() {
                        self.outbox.push(SessionEvent::Down(reason));
                    }
                }
            }
        }
    }

    fn connect(&mut self) {
        if let Some((_, task)) = self.attempt.take() {
            task.abort();
        }
        let number = self.next_connection;
        self.next_connection += 1;
        let events = self.events_sender.clone();
        let address = self.config.address;
        let options = self.config.socket.clone();
        let timeout = self.config.connect_timeout;
        let task = tokio::spawn(async move {
            let result = net::connect(address, &options, timeout).await;
            let _ = events
                .send(ConnectionEvent::Connected(number, result))
                .await;
        });
        self.attempt = Some((number, task));
    }

    fn write(&mut self, connection: ConnectionId, message: &Message) {
        let Some(live) = self.connections.get(&connection) else {
            return;
        };
        let context = self.send_context();
        let mut buffer = BytesMut::new();
        match message.encode(&context, &mut buffer) {
            Ok(count) => {
                self.counters.messages_sent += count as u64;
                if let Message::Update(_) = message {
                    self.counters.updates_sent += count as u64;
                }
                let _ = live.outbound.send(buffer.freeze());
            }
            Err(error) => warn!(%error, "cannot encode a message"),
        }
    }

    /// Applies an UPDATE to the set of received prefixes; RFC 7606
    /// treat-as-withdraw turns its announcements into withdrawals.
    fn learn(&mut self, update: Update, errors: &[bgp_wire::AttributeError]) {
        let four_octet = self
            .session
            .negotiated()
            .is_some_and(|negotiated| negotiated.four_octet_asn);
        // RFC 4271 §9.1.2: a route whose AS_PATH holds our own AS is a loop and
        // is not accepted.
        let looped = update
            .effective_as_path(four_octet)
            .is_some_and(|path| path.count(self.config.session.local_as) > 0);
        let withdraw_all = looped
            || errors
                .iter()
                .any(|error| error.treatment >= Treatment::TreatAsWithdraw);
        for nlri in &update.withdrawn {
            self.received.remove(&(Family::IPV4_UNICAST, *nlri));
        }
        if let Some(unreach) = update.mp_unreach() {
            for nlri in unreach.nlri.prefixes() {
                self.received.remove(&(unreach.family, *nlri));
            }
        }
        let mut announced: Vec<(Family, Nlri)> = update
            .announced
            .iter()
            .map(|nlri| (Family::IPV4_UNICAST, *nlri))
            .collect();
        if let Some(reach) = update.mp_reach() {
            announced.extend(
                reach
                    .nlri
                    .prefixes()
                    .iter()
                    .map(|nlri| (reach.family, *nlri)),
            );
        }
        for entry in announced {
            if withdraw_all {
                self.received.remove(&entry);
            } else {
                self.received.insert(entry);
            }
        }
    }

    /// Sends the originated prefixes with next hop self, then End-of-RIB for
    /// every negotiated family (RFC 4724 §2).
    fn advertise(&mut self) {
        let (Some(connection), Some(negotiated)) = (
            self.session.established_connection(),
            self.session.negotiated().cloned(),
        ) else {
            return;
        };
        let local = self
            .connections
            .get(&connection)
            .and_then(|live| live.local_address)
            .map(|address| address.ip());
        let internal = self.config.session.is_internal();
        let mut common = vec![
            PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
            PathAttribute::new(AttributeValue::AsPath(if internal {
                AsPath::empty()
            } else {
                AsPath::sequence(&[self.config.session.local_as])
            })),
        ];
        if internal {
            common.push(PathAttribute::new(AttributeValue::LocalPref(100)));
        }
        let ipv4 = self.prefixes(&negotiated, Family::IPV4_UNICAST);
        let ipv6 = self.prefixes(&negotiated, Family::IPV6_UNICAST);
        let mut sent = 0;
        if let (false, Some(IpAddr::V4(next_hop))) = (ipv4.is_empty(), local) {
            let mut attributes = common.clone();
            attributes.push(PathAttribute::new(AttributeValue::NextHop(next_hop)));
            sent += ipv4.len();
            self.session.send(
                now(),
                Message::Update(Update {
                    withdrawn: Vec::new(),
                    attributes,
                    announced: ipv4,
                }),
            );
        }
        if let (false, Some(IpAddr::V6(next_hop))) = (ipv6.is_empty(), local) {
            let mut attributes = common.clone();
            attributes.push(PathAttribute::new(AttributeValue::MpReach(Box::new(
                MpReach {
                    family: Family::IPV6_UNICAST,
                    next_hop: Bytes::copy_from_slice(&next_hop.octets()),
                    reserved: 0,
                    nlri: MpNlri::Prefixes(ipv6.clone()),
                },
            ))));
            sent += ipv6.len();
            self.session.send(
                now(),
                Message::Update(Update {
                    withdrawn: Vec::new(),
                    attributes,
                    announced: Vec::new(),
                }),
            );
        }
        self.counters.prefixes_sent = sent;
        for family in &negotiated.families {
            let end_of_rib = if *family == Family::IPV4_UNICAST {
                Update::default()
            } else {
                Update {
                    withdrawn: Vec::new(),
                    attributes: vec![PathAttribute::new(AttributeValue::MpUnreach(Box::new(
                        MpUnreach {
                            family: *family,
                            nlri: MpNlri::Prefixes(Vec::new()),
                        },
                    )))],
                    announced: Vec::new(),
                }
            };
            self.session.send(now(), Message::Update(end_of_rib));
        }
        self.carry_out();
    }

    /// The originated prefixes of one family, if the session carries it.
    fn prefixes(&self, negotiated: &Negotiated, family: Family) -> Vec<Nlri> {
        if !negotiated.families.contains(&family) {
            return Vec::new();
        }
        self.config
            .advertise
            .iter()
            .filter(|prefix| {
                matches!(
                    (prefix, family.afi),
                    (IpNet::V4(_), bgp_wire::Afi::IPV4) | (IpNet::V6(_), bgp_wire::Afi::IPV6)
                )
            })
            .map(|prefix| Nlri::new(prefix.trunc()))
            .collect()
    }
}

/// The established connection's id (`ConnectionId(0)`, which no connection
/// has, when there is none).
fn connection_of(session: &Session) -> ConnectionId {
    session.established_connection().unwrap_or(ConnectionId(0))
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
