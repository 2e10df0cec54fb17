//! The task that owns one peer's [`Session`]: it feeds the state machine with
//! socket events, commands and the time, and carries out what it asks.
//!
//! ```text
//!  commands (start, end, incoming connection, ──────────┐
//!    messages to send from the routing task)            │
//!  connection tasks (frames, closed, flushed) ──────────┼─► peer task ─► Session (sans-IO)
//!  connect attempts (stream or error) ──────────────────┤       │
//!  sleep_until(session.poll_timeout()) ─────────────────┘       ├─► connection tasks (bytes to write)
//!                                                               └─► routing task (PeerEvent), status (watch)
//! ```
//!
//! Nothing here waits for its owner: commands are fire-and-forget, status is
//! published (a `watch` and counters the handle reads), and ending a task is
//! a command followed, later, by [`SessionEvent::Stopped`]. The task itself
//! waits only for room in the routing task's inbox, and while it waits it
//! reads no more frames (TCP pushes back on the peer) but still takes
//! commands and runs its timers.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bgp_fsm::{ConnectionId, Direction, DownReason, Input, Negotiated, Output, Session, StateKind};
use bgp_rib::PeerId;
use bgp_wire::{
    AttributeValue, CodecContext, EncodeError, Family, Frames, Message, MpNlri, MpUnreach,
    PathAttribute, Update, UpdateBatch,
};
use bytes::{Bytes, BytesMut};
use hashbrown::HashMap;
use ipnet::IpNet;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{info, warn, Instrument};

use crate::connection::{self, ConnectionEvent};
use crate::net::{self, SocketOptions};

mod reading;

/// Runs of whole frames read from a connection and not yet decoded, per
/// peer: with at most [`crate::frames::CHUNK_OCTETS`] in each, this bounds
/// the frames a peer can make us hold before TCP pushes back to 1 MiB (and
/// the run being decoded). The runs share their read buffers, which each
/// hold up to twice that while a frame of theirs is alive.
const CHUNKS_QUEUED: usize = 16;

/// Most frames the peer task decodes in one turn of its loop before it looks
/// at its commands and timers again, and most events it then holds for the
/// routing task.
const FRAMES_PER_TURN: usize = 32;

/// How long a task that ends may spend writing its last messages (the
/// Cease) to a peer that does not read them.
const FAREWELL_TIME: Duration = Duration::from_secs(1);

/// The most output one connection may hold unwritten: a whole table in
/// one go (a million routes in UPDATEs of one prefix each is about 100 MB)
/// fits; a peer that takes less than it is sent for longer is cut with
/// Cease / Out of Resources (RFC 4486 §4) before its send hold timer
/// (RFC 9687) would, so that it costs bounded memory.
const MAX_QUEUED_OUTPUT: usize = 256 << 20;

/// How long a connection the session closed may spend writing what was
/// queued for it (its NOTIFICATION last) before the socket is cut. A peer
/// that stopped reading (RFC 9687: the send hold timer expired) would
/// otherwise keep the connection, and everything queued on it, forever.
const CLOSING_FLUSH_TIME: Duration = Duration::from_secs(5);

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
    /// Where the session's routing events go, and under which peer id.
    pub routes: RouteLink,
}

/// The link from a peer task to the routing task that owns the RIB.
#[derive(Debug, Clone)]
pub struct RouteLink {
    /// The id the routing task knows this peer by; a new id for each spawned
    /// task, so that events of a replaced session are never mistaken for its
    /// successor's.
    pub peer: PeerId,
    /// The routing task's inbox. Bounded: a peer that sends faster than the
    /// RIB takes routes in is not read until it catches up (TCP pushes back).
    pub events: mpsc::Sender<PeerEvent>,
}

/// A routing event of one peer.
#[derive(Debug)]
pub struct PeerEvent {
    /// The peer's id ([`RouteLink::peer`]).
    pub peer: PeerId,
    /// What happened.
    pub event: SessionEvent,
}

/// What a session tells the routing task.
#[derive(Debug)]
pub enum SessionEvent {
    /// The session reached Established.
    Established {
        /// What was negotiated.
        negotiated: Arc<Negotiated>,
        /// Our address on the connection: next hop self.
        local_address: Option<SocketAddr>,
    },
    /// An UPDATE arrived, with its RFC 7606 attribute errors.
    Update {
        /// The message.
        update: Update,
        /// Errors that did not reset the session. A boxed slice, not a
        /// `Vec`: it keeps the event, which every UPDATE is moved in several
        /// times on its way to the RIB, within 128 octets, which the release
        /// build copies inline on x86-64 (SSE2 moves), where a larger event
        /// was copied by calls to `memcpy` (benches/RESULTS.md 6.25).
        errors: Box<[bgp_wire::AttributeError]>,
    },
    /// The peer asked for our routes again (RFC 2918).
    RouteRefresh(bgp_wire::RouteRefresh),
    /// Everything handed to the session so far has been written to the
    /// socket: the routing task may send more. What waits to be sent stays
    /// in the RIB until then, so a peer that stops reading holds a bounded
    /// amount of our memory.
    Drained,
    /// These prefixes could not be sent: their attributes do not fit the
    /// peer's maximum message size. They were withdrawn from the peer
    /// instead (RFC 8654 §4), so its Adj-RIB-Out must not list them.
    Unsendable(Vec<IpNet>),
    /// The session left Established (or failed before it).
    Down(DownReason),
    /// The task has ended (after [`PeerHandle::end`]); the last event.
    Stopped,
}

/// How a peer task ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Cease / Administrative Shutdown with an optional shutdown
    /// communication (RFC 9003).
    Shutdown(Option<String>),
    /// Cease / Peer De-configured: the peer was removed from the configuration.
    Deconfigured,
    /// Leaving for a graceful restart (RFC 4724 §4.1): the connections close
    /// without a NOTIFICATION, so a helper peer keeps our routes.
    Detach,
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
    /// Why the session is not Established, in words: the last connection
    /// attempt's failure (`connection refused`, no answer) or the last
    /// reason it went down. `None` once Established.
    pub last_error: Option<String>,
    /// The hold time this side proposes (RFC 4271 §4.2), in seconds.
    pub configured_hold_time: u16,
    /// The keepalive interval configured, if set (else a third of the
    /// negotiated hold time, RFC 4271 §10).
    pub configured_keepalive: Option<Duration>,
    /// What was negotiated, in OpenConfirm and Established.
    pub negotiated: Option<Arc<Negotiated>>,
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
    /// Prefixes withdrawn from the peer instead of sent, their attributes
    /// being too large for its messages.
    pub prefixes_unsendable: u64,
}

/// What the task publishes when the session changes state.
#[derive(Debug, Clone)]
struct Snapshot {
    state: StateKind,
    since: std::time::Instant,
    last_error: Option<String>,
    negotiated: Option<Arc<Negotiated>>,
    local_address: Option<SocketAddr>,
}

/// Message counters the task bumps and the handle reads: per message, a
/// relaxed add is all they cost.
#[derive(Debug, Default)]
struct Counters {
    messages_received: AtomicU64,
    messages_sent: AtomicU64,
    updates_received: AtomicU64,
    updates_sent: AtomicU64,
    prefixes_unsendable: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, count: u64) {
        counter.fetch_add(count, Ordering::Relaxed);
    }
}

/// Requests to a peer task.
#[derive(Debug)]
enum Command {
    Start,
    Stop {
        communication: Option<String>,
    },
    Incoming(TcpStream),
    MaximumPrefixes {
        family: Family,
        limit: u32,
        restart_after: Option<Duration>,
    },
    End(Ending),
    /// What to send, in this order. On the commands' channel, not one of its
    /// own: a channel costs about 1.4 KB a session idle (its state and first
    /// block of 32 slots), and the `Vec` fits in a command's 40 octets.
    /// Queued with the commands, messages go before a later Stop or End
    /// (before, a Stop overtook them and they were dropped).
    Send(Vec<Outgoing>),
}

/// One thing the routing task hands a peer task to send.
#[derive(Debug)]
pub enum Outgoing {
    /// A message of this session's own.
    Message(Message),
    /// UPDATEs several sessions are sent alike (an update group): encoded
    /// by the first session that writes them, the octets shared.
    Batch(Arc<UpdateBatch>),
}

/// The handle the owner keeps for a running peer task. Every method returns
/// at once: the owner never waits for a peer task. Dropping the handle ends
/// the task as [`Ending::Shutdown`] would.
#[derive(Debug)]
pub struct PeerHandle {
    /// Commands, and messages from the routing task. Unbounded as a channel,
    /// bounded in use: the routing task sends a peer more only after its
    /// [`SessionEvent::Drained`], and then a bounded batch.
    commands: mpsc::UnboundedSender<Command>,
    address: SocketAddr,
    peer_as: bgp_wire::Asn,
    hold_time: u16,
    keepalive: Option<Duration>,
    snapshot: watch::Receiver<Snapshot>,
    state: watch::Receiver<StateKind>,
    counters: Arc<Counters>,
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
    pub fn start(&self) {
        let _ = self.commands.send(Command::Start);
    }

    /// Stops the session with Cease / Administrative Shutdown and an
    /// optional shutdown communication (RFC 9003); the task stays, idle,
    /// until started again or ended.
    pub fn stop(&self, communication: Option<String>) {
        let _ = self.commands.send(Command::Stop { communication });
    }

    /// Hands over a connection the listener accepted from this peer.
    pub fn incoming(&self, stream: TcpStream) {
        let _ = self.commands.send(Command::Incoming(stream));
    }

    /// The peer's current status, as the task last published it.
    pub fn status(&self) -> PeerStatus {
        let snapshot = self.snapshot.borrow();
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        PeerStatus {
            address: self.address,
            peer_as: self.peer_as,
            state: snapshot.state,
            in_state: std::time::Instant::now().saturating_duration_since(snapshot.since),
            last_error: snapshot.last_error.clone(),
            configured_hold_time: self.hold_time,
            configured_keepalive: self.keepalive,
            negotiated: snapshot.negotiated.clone(),
            local_address: snapshot.local_address,
            messages_received: count(&self.counters.messages_received),
            messages_sent: count(&self.counters.messages_sent),
            updates_received: count(&self.counters.updates_received),
            updates_sent: count(&self.counters.updates_sent),
            prefixes_unsendable: count(&self.counters.prefixes_unsendable),
        }
    }

    /// Queues messages to send in this order (UPDATEs, and the RFC 7313
    /// BoRR/EoRR markers around a refreshed table, or a ROUTE-REFRESH
    /// request); dropped unless the session is Established.
    pub fn send_messages(&self, messages: Vec<Message>) {
        self.send(messages.into_iter().map(Outgoing::Message).collect());
    }

    /// Queues what to send, in this order, as [`PeerHandle::send_messages`].
    pub fn send(&self, outgoing: Vec<Outgoing>) {
        let _ = self.commands.send(Command::Send(outgoing));
    }

    /// Ends the session because the peer exceeded its prefix limit
    /// (RFC 4486 §4), restarting it after `restart_after` if given.
    pub fn maximum_prefixes(&self, family: Family, limit: u32, restart_after: Option<Duration>) {
        let _ = self.commands.send(Command::MaximumPrefixes {
            family,
            limit,
            restart_after,
        });
    }

    /// Ends the session and the task, as `ending` says. The task reports
    /// [`SessionEvent::Stopped`] when it is gone; nothing here waits for it.
    pub fn end(self, ending: Ending) {
        let _ = self.commands.send(Command::End(ending));
    }
}

/// Starts the task for one peer; it waits for [`PeerHandle::start`].
pub fn spawn_peer(config: PeerConfig) -> PeerHandle {
    let (commands, receiver) = mpsc::unbounded_channel();
    let (events_sender, events) = mpsc::channel(CHUNKS_QUEUED);
    let address = config.address;
    let peer_as = config.session.peer_as;
    let (hold_time, keepalive) = (config.session.hold_time.seconds(), config.session.keepalive);
    let now = Instant::now().into_std();
    let (snapshot_sender, snapshot) = watch::channel(Snapshot {
        state: StateKind::Idle,
        since: now,
        last_error: None,
        negotiated: None,
        local_address: None,
    });
    let (state_sender, state) = watch::channel(StateKind::Idle);
    let counters = Arc::new(Counters::default());
    let peer = Peer {
        snapshot: snapshot_sender,
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
        connect_error: None,
        counters: counters.clone(),
        outbox: VecDeque::new(),
        frames: None,
    };
    let span = tracing::info_span!("peer", address = %address);
    tokio::spawn(peer.run().instrument(span));
    PeerHandle {
        commands,
        address,
        peer_as,
        hold_time,
        keepalive,
        snapshot,
        state,
        counters,
    }
}

#[derive(Debug)]
struct LiveConnection {
    outbound: mpsc::UnboundedSender<Bytes>,
    /// Octets in `outbound` not yet written.
    queued: Arc<connection::Queued>,
    local_address: Option<SocketAddr>,
    task: JoinHandle<()>,
}

struct Peer {
    config: PeerConfig,
    snapshot: watch::Sender<Snapshot>,
    state: watch::Sender<StateKind>,
    session: Session,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::Receiver<ConnectionEvent>,
    events_sender: mpsc::Sender<ConnectionEvent>,
    connections: HashMap<ConnectionId, LiveConnection>,
    /// Connection tasks still writing their last messages.
    closing: Vec<JoinHandle<()>>,
    next_connection: u64,
    /// The outgoing attempt under way: its number and task.
    attempt: Option<(u64, JoinHandle<()>)>,
    /// Why the last connection attempt failed, until one succeeds: shown
    /// by `status` while the session waits to retry.
    connect_error: Option<String>,
    counters: Arc<Counters>,
    /// Events for the routing task not yet taken: while there are any, no
    /// more frames are read, so this holds a few events at the most.
    outbox: VecDeque<SessionEvent>,
    /// The rest of the last run of frames a connection handed over, not yet
    /// decoded: taken before anything else the connections report, which
    /// came after it.
    frames: Option<(ConnectionId, Bytes)>,
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

impl Peer {
    async fn run(mut self) {
        let link = self.config.routes.clone();
        let ending = loop {
            self.carry_out();
            let deadline = self.session.poll_timeout().map(Instant::from_std);
            let delivering = !self.outbox.is_empty();
            tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    Some(Command::End(ending)) => break ending,
                    Some(command) => self.command(command),
                    // The handle was dropped without a word.
                    None => break Ending::Shutdown(None),
                },
                permit = link.events.reserve(), if delivering => match permit {
                    Ok(permit) => {
                        if let Some(event) = self.outbox.pop_front() {
                            permit.send(PeerEvent { peer: link.peer, event });
                        }
                        // Whatever else fits goes in the same turn: a turn
                        // of this loop per event cost more than the event.
                        if !self.deliver_without_waiting(&link) {
                            break Ending::Shutdown(None);
                        }
                    }
                    // The routing task is gone: so is the daemon.
                    Err(_) => break Ending::Shutdown(None),
                },
                // Frames left from the last run wait for a turn of the other
                // tasks first: the routing task takes in what this turn
                // handed it (and frees it) before more is decoded, rather
                // than after 256 events, past what malloc's per-thread cache
                // holds (RESULTS.md 6.23).
                () = tokio::task::yield_now(), if !delivering && self.frames.is_some() => {
                    self.decode_frames(now());
                }
                Some(event) = self.events.recv(), if !delivering && self.frames.is_none() => {
                    // One reading of the clock for the turn's frames, which
                    // are taken microseconds apart.
                    let now = now();
                    self.event(event, now);
                    self.decode_frames(now);
                }
                () = sleep_until(deadline) => self.session.handle_timeout(now()),
            }
        };
        self.end(&ending).await;
        // The last word; events still in the outbox no longer matter to a
        // routing task that let this peer go.
        let _ = link
            .events
            .send(PeerEvent {
                peer: link.peer,
                event: SessionEvent::Stopped,
            })
            .await;
    }

    /// Hands the routing task as many queued events as its channel takes now;
    /// false when the routing task is gone.
    fn deliver_without_waiting(&mut self, link: &RouteLink) -> bool {
        while !self.outbox.is_empty() {
            match link.events.try_reserve() {
                Ok(permit) => {
                    if let Some(event) = self.outbox.pop_front() {
                        permit.send(PeerEvent {
                            peer: link.peer,
                            event,
                        });
                    }
                }
                Err(mpsc::error::TrySendError::Full(())) => return true,
                Err(mpsc::error::TrySendError::Closed(())) => return false,
            }
        }
        true
    }

    /// Ends the session as asked and gives the connections a moment to
    /// write their last messages.
    async fn end(&mut self, ending: &Ending) {
        if let Some((_, task)) = self.attempt.take() {
            task.abort();
        }
        match ending {
            Ending::Shutdown(communication) => self.session.handle(
                now(),
                Input::Stop {
                    communication: communication.clone(),
                },
            ),
            Ending::Deconfigured => self.session.handle(now(), Input::Deconfigure),
            // RFC 4724 §4.1: no NOTIFICATION, so the peer keeps our routes
            // as stale.
            Ending::Detach => {
                info!("leaving for a graceful restart; connections closed without NOTIFICATION");
            }
        }
        if *ending != Ending::Detach {
            self.carry_out();
        }
        // Nothing more is read from the connections: their tasks, which may
        // be waiting to hand over a frame, stop waiting and end once they
        // have written what they hold.
        self.events.close();
        self.finish_writing().await;
    }

    fn send(&mut self, outgoing: Vec<Outgoing>) {
        if self.session.state() != StateKind::Established {
            return;
        }
        for item in outgoing {
            match item {
                Outgoing::Message(message) => self.session.send(now(), message),
                Outgoing::Batch(batch) => match batch.frames(&self.send_context()) {
                    Some(frames) => self.session.send_frames(now(), frames),
                    // An UPDATE that does not fit this session's messages:
                    // one at a time, so that it is withdrawn and reported.
                    None => {
                        for update in batch.updates() {
                            self.session.send(now(), Message::Update(update.clone()));
                        }
                    }
                },
            }
        }
    }

    /// Lets every connection task write what it was given (the Cease above
    /// all) before the task ends, so that a daemon shutting down says
    /// goodbye; a peer that does not read gets [`FAREWELL_TIME`], then its
    /// connections are cut.
    async fn finish_writing(&mut self) {
        let mut tasks: Vec<JoinHandle<()>> = self.closing.drain(..).collect();
        tasks.extend(self.connections.drain().map(|(_, live)| live.task));
        let aborts: Vec<_> = tasks.iter().map(JoinHandle::abort_handle).collect();
        let all = async {
            for task in tasks {
                let _ = task.await;
            }
        };
        if tokio::time::timeout(FAREWELL_TIME, all).await.is_err() {
            for abort in aborts {
                abort.abort();
            }
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Start => self.session.handle(now(), Input::Start),
            Command::Send(outgoing) => self.send(outgoing),
            Command::Stop { communication } => {
                self.session.handle(now(), Input::Stop { communication })
            }
            Command::Incoming(stream) => {
                if let Err(error) = net::apply_to_accepted(&stream, &self.config.socket) {
                    // Fail closed: a connection without the peer's MD5 key or
                    // GTSM check is not one to talk BGP on.
                    warn!(%error, "cannot set socket options on an accepted connection; refused");
                    return;
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
            // Handled in the loop, which ends after it.
            Command::End(_) => {}
        }
    }

    /// Publishes the session's state for [`PeerHandle::status`].
    fn publish(&self) {
        let local_address = self
            .session
            .established_connection()
            .and_then(|id| self.connections.get(&id))
            .and_then(|connection| connection.local_address);
        self.snapshot.send_replace(Snapshot {
            state: self.session.state(),
            since: self.session.since(),
            last_error: match self.session.state() {
                // Recovered: what went wrong before is history (the log has it).
                StateKind::Established => None,
                _ => self
                    .connect_error
                    .clone()
                    .or_else(|| self.session.last_down().map(DownReason::to_string)),
            },
            negotiated: self.session.negotiated_shared().cloned(),
            local_address,
        });
        self.state.send_replace(self.session.state());
    }

    /// Starts the task for a new connection and returns its id.
    fn adopt(&mut self, stream: TcpStream) -> ConnectionId {
        let id = ConnectionId(self.next_connection);
        self.next_connection += 1;
        let (outbound, receiver) = mpsc::unbounded_channel();
        let local_address = stream.local_addr().ok();
        let events = self.events_sender.clone();
        let queued = Arc::new(connection::Queued::default());
        let task = tokio::spawn(
            connection::run(id, stream, receiver, queued.clone(), events).in_current_span(),
        );
        self.connections.insert(
            id,
            LiveConnection {
                outbound,
                queued,
                local_address,
                task,
            },
        );
        id
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
        let mut changed = false;
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Connect => self.connect(),
                Output::Send {
                    connection,
                    message,
                } => self.write(connection, &message),
                Output::SendFrames { connection, frames } => {
                    self.queue_frames(connection, frames, true)
                }
                Output::Close { connection } => {
                    // Dropping the sender lets the connection task flush, then
                    // close; one that cannot flush is cut after CLOSING_FLUSH_TIME.
                    if let Some(live) = self.connections.remove(&connection) {
                        let cut = live.task.abort_handle();
                        tokio::spawn(async move {
                            tokio::time::sleep(CLOSING_FLUSH_TIME).await;
                            cut.abort();
                        });
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
                    changed = true;
                }
                Output::Established(negotiated) => {
                    info!(
                        peer_as = negotiated.peer_as.0,
                        router_id = %negotiated.peer_router_id,
                        hold_time = negotiated.hold_time.as_secs(),
                        "session established"
                    );
                    let local_address = self
                        .connections
                        .get(&connection_of(&self.session))
                        .and_then(|live| live.local_address);
                    self.outbox.push_back(SessionEvent::Established {
                        negotiated,
                        local_address,
                    });
                }
                Output::Update { update, errors } => {
                    self.outbox.push_back(SessionEvent::Update {
                        update,
                        errors: errors.into_boxed_slice(),
                    });
                }
                Output::RouteRefresh(refresh) => {
                    self.outbox.push_back(SessionEvent::RouteRefresh(refresh));
                }
                Output::Down(reason) => {
                    warn!(reason = %reason, "session down");
                    self.outbox.push_back(SessionEvent::Down(reason));
                }
            }
        }
        if changed {
            self.publish();
        }
    }

    fn connect(&mut self) {
        if let Some((_, task)) = self.attempt.take() {
            // ConnectRetry expired with the attempt still open: nothing
            // answered, not even a reset.
            self.connect_error = Some(
                "no answer to the connection attempt (the peer is unreachable, a firewall \
                 drops it, or it expects a TCP MD5 password this side does not send)"
                    .to_owned(),
            );
            self.publish();
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
        if !self.connections.contains_key(&connection) {
            return;
        }
        let context = self.send_context();
        let mut buffer = BytesMut::new();
        match message.encode(&context, &mut buffer) {
            Ok(messages) => {
                let frames = Frames {
                    octets: buffer.freeze(),
                    messages,
                };
                self.queue_frames(connection, frames, matches!(message, Message::Update(_)));
            }
            Err(EncodeError::AttributesTooLarge { length }) => {
                if let Message::Update(update) = message {
                    self.withdraw_unsendable(connection, update, length);
                }
            }
            Err(error) => warn!(%error, "cannot encode a message"),
        }
    }

    /// Hands encoded messages to the connection's writer, counted, unless
    /// the peer has left too much unread.
    fn queue_frames(&mut self, connection: ConnectionId, frames: Frames, updates: bool) {
        let Some(live) = self.connections.get(&connection) else {
            return;
        };
        Counters::add(&self.counters.messages_sent, frames.messages as u64);
        if updates {
            Counters::add(&self.counters.updates_sent, frames.messages as u64);
        }
        if live.queued.get() + frames.octets.len() > MAX_QUEUED_OUTPUT {
            warn!(
                queued = live.queued.get(),
                "the peer reads too slowly for what it is sent; session closed"
            );
            self.session
                .handle(now(), Input::OutOfResources { connection });
            return;
        }
        live.queued.add(frames.octets.len());
        let _ = live.outbound.send(frames.octets);
    }

    /// RFC 8654 §4: routes whose attributes do not fit the peer's maximum
    /// message size are withdrawn from it (it may hold an older version),
    /// counted, and reported to the routing task, never dropped in silence.
    fn withdraw_unsendable(&mut self, connection: ConnectionId, update: &Update, length: usize) {
        let mut prefixes: Vec<IpNet> = update.announced.iter().map(|nlri| nlri.prefix).collect();
        let mut withdrawal = Update {
            withdrawn: update.announced.clone(),
            ..Update::default()
        };
        if let Some(reach) = update.mp_reach() {
            prefixes.extend(reach.nlri.prefixes().iter().map(|nlri| nlri.prefix));
            withdrawal
                .attributes
                .push(PathAttribute::new(AttributeValue::MpUnreach(MpUnreach {
                    family: reach.family,
                    nlri: MpNlri::Prefixes(reach.nlri.prefixes().to_vec()),
                })));
        }
        if prefixes.is_empty() {
            return;
        }
        warn!(
            length,
            prefixes = prefixes.len(),
            "path attributes too large for the peer's messages; routes withdrawn from it"
        );
        Counters::add(&self.counters.prefixes_unsendable, prefixes.len() as u64);
        self.write(connection, &Message::Update(withdrawal));
        self.outbox.push_back(SessionEvent::Unsendable(prefixes));
    }
}

/// The established connection's id (`ConnectionId(0)`, which no connection
/// has, when there is none).
/// A failed connect in words, without the OS error number (`connect to
/// 10.0.0.9:179: connection refused`; BIRD says `Socket: Connection refused`).
fn connect_failure(error: &std::io::Error) -> String {
    let text = error.to_string();
    let text = match text.find(" (os error") {
        Some(at) => &text[..at],
        None => &text,
    };
    let text = text.to_lowercase();
    if text.starts_with("connect") {
        text
    } else {
        format!("connect: {text}")
    }
}

fn connection_of(session: &Session) -> ConnectionId {
    session.established_connection().unwrap_or(ConnectionId(0))
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::PeerEvent;

    #[test]
    fn an_event_fits_a_copy_without_memcpy() {
        // Every UPDATE crosses from the FSM to the RIB in one of these,
        // moved several times: within 128 octets the release build copies it
        // inline on x86-64, past it with calls to `memcpy` (see
        // `SessionEvent`).
        assert!(std::mem::size_of::<PeerEvent>() <= 128);
    }
}
