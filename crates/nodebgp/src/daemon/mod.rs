//! `nodebgp run`: the daemon for one node. One manager task owns the peer
//! table and the RIB; listeners, the control socket, the datastore reader
//! and the peer tasks talk to it by message.
//!
//! ```text
//!  SIGINT / SIGTERM ─────┐
//!  control socket ───────┤
//!  listeners ──accepted──┼─► manager (peer table, RIB) ──commands, UPDATEs──► one task per peer
//!  datastore reader ─────┤        ▲                                              │
//!  peer tasks ──events───┘        └────────── routes, Drained, Stopped ◄─────────┘
//! ```
//!
//! The manager never waits for a task that may be waiting for it: it tells
//! peers what to do with messages that cannot block, reads their status from
//! what they publish, learns that a peer has ended from its last event, and
//! hands its UPDATEs out a batch at a time (the next when the peer says the
//! last was written). Signals and the control socket come first in its loop,
//! so they are served whatever the load.

mod answers;
mod bird_socket;
pub(crate) mod calico_config;
mod control;
mod datastore;
mod endpoint_status;
mod fib;
mod filters;
mod interfaces;
mod listeners;
pub(crate) mod logging;
mod metrics;
mod node_status;
mod peer_setup;
mod pod_networks;
mod probes;
mod routes;
mod routing;
mod settings;
mod sources;
mod status;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use bgp_rib::PeerId;
use bgp_session::{reject, spawn_peer, Accepted, Ending, PeerEvent, PeerHandle, SessionEvent};
use peer_manager::Action;
use peer_store::PeerStore;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;
use tracing::{debug, info, warn};

pub(crate) use control::request;
pub(crate) use logging::set_log_level;
pub(crate) use node_status::{daemon_version, print_node_status, NodeStatusArgs};
pub(crate) use probes::{check_live, check_ready, NodeLiveArgs, NodeReadyArgs};
pub(crate) use routes::{print_routes, request_refresh, RefreshArgs, RoutesArgs};
pub(crate) use settings::{Datastore, RunArgs, Settings};
pub(crate) use sources::DesiredPeer;
pub(crate) use status::{print_status, StatusArgs};

use control::protocol::Request;
use control::ControlCall;

/// Route events handled in one turn of the manager's loop before it looks
/// at signals, the control socket and the rest again.
const EVENTS_PER_TURN: usize = 64;

/// Task polls between two looks at sockets and timers (see `run`).
const EVENT_INTERVAL: u32 = 8;

/// A turn of the manager's loop this long is logged (debug).
const SLOW_TURN: Duration = Duration::from_millis(20);

/// How long peers get, on the way out, to say goodbye (their Cease written)
/// before the process ends without them.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// The longest the kernel routes' removal (or hand-over) may take on the way out.
const FIB_STOP_TIME: Duration = Duration::from_secs(30);

pub(crate) fn run(arguments: &RunArgs) -> Result<()> {
    with_allocator_tunables();
    let settings = Settings::from_args(arguments)?;
    logging::init(&settings.log_level, settings.log_format)?;
    // One thread runs every session: a node holds tens of sessions, and one
    // thread keeps both the memory (one allocator arena, one stack) and the
    // idle wake-ups down.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // Under load the run queue is never empty, and the runtime looks at
        // sockets and timers only every this many task polls (61 by
        // default): with polls of milliseconds while tables arrive, a control
        // client or a peer's KEEPALIVE would wait a good part of a second.
        .event_interval(EVENT_INTERVAL)
        .build()?;
    // Opened before the runtime starts: the etcd store runs its own.
    let store: Arc<dyn PeerStore> = Arc::from(settings.datastore.open()?);
    runtime.block_on(async move {
        // Bounded: a peer sending a table faster than the RIB takes it in
        // waits, and so does its TCP connection. Peers wait for room in turn
        // (the channel is fair), so a flooding peer cannot starve the others.
        // 256 decoded UPDATEs keep the RIB busy while the sessions decode
        // (tables from 1, 10 and 100 peers load as fast as with 1,024) and
        // hold a quarter of the memory: a 100k table's peak is 0.3-1.3 MiB
        // lower (benches/RESULTS.md 6.18).
        let (route_sender, route_events) = mpsc::channel(256);
        Manager::new(settings, store, route_sender)
            .run(route_events)
            .await
    })
}

/// How much of the RIB's kernel changes [`Manager::send_fib_changes`] hands
/// the FIB task.
#[derive(Clone, Copy)]
enum KernelHandOver {
    /// Everything, now: a command that follows must find every change
    /// applied.
    All,
    /// What waits, if the task has room for a batch.
    Batch,
    /// What waits, if the task has room and at least
    /// [`fib::BATCH_PREFIXES`] wait: after each event's work, so that a
    /// table arriving goes over in large batches, not in one per UPDATE,
    /// each a wake-up of the FIB thread. (How large a batch gets is bounded by
    /// [`fib::WAITING_AT_MOST`], past which no UPDATE is taken in.)
    FullBatch,
}

/// What woke the manager's loop.
enum Work {
    Control(ControlCall),
    Datastore,
    Accepted(Accepted),
    Timers,
    /// Route events, in `arrived`.
    PeerEvents,
    Synchronise,
    Background,
    Interfaces,
    /// The FIB task took a batch and the RIB holds more changes.
    KernelReady,
}

struct RunningPeer {
    desired: DesiredPeer,
    handle: PeerHandle,
    /// The id the routing side knows this peer task by.
    id: PeerId,
}

struct Manager {
    settings: Settings,
    store: Arc<dyn PeerStore>,
    /// Boxed, as the routing side's peers: a table of 1,000 peers has 2,048
    /// slots, and each empty one would cost a whole record.
    peers: HashMap<IpAddr, Box<RunningPeer>>,
    /// Peer tasks told to end whose [`SessionEvent::Stopped`] has not come.
    stopping: HashSet<PeerId>,
    /// The BGP listening sockets (opened in `run`).
    listeners: Option<listeners::Listeners>,
    /// The RIB and what hangs on it.
    routing: routing::Routing,
    /// The effects of the event at hand ([`Manager::route_event`]), emptied
    /// after each: kept, so that an event without effects walks and drops
    /// no list of its own.
    event_effects: Vec<routing::Effect>,
    /// Where peer tasks send their routing events.
    route_events: mpsc::Sender<PeerEvent>,
    /// The number of the next peer task.
    next_number: u32,
    /// Running peers by id: the routing side names peers by id, once per
    /// message it sends.
    numbers: HashMap<PeerId, IpAddr>,
    /// The kernel FIB task, where nodebgp may change the routing table.
    fib: Option<fib::FibHandle>,
    /// What the BGPConfiguration adds to the node's own prefixes.
    advertisements: sources::Advertisements,
    /// Until when the previous run's kernel routes wait for the peers to
    /// resend their tables (graceful restart), if they are waiting.
    synchronise_by: Option<Instant>,
    /// Connections refused from addresses that are not peers since the last
    /// log line about them: logged at most once a minute.
    refused: (u64, Option<Instant>),
    /// Desired peers that could not be started, and why (shown by `status`;
    /// tried again at each reading of the datastore).
    refused_peers: HashMap<IpAddr, (DesiredPeer, String)>,
    /// Stored resources the datastore reader left out, and why (`status`).
    ignored: Vec<sources::IgnoredResource>,
    /// The compiled BGPFilters of the peers that name some, by address, as
    /// last read: applied to running sessions live, and to new ones.
    peer_filters: HashMap<IpAddr, bgp_rib::PeerFilter>,
    /// The host routes to peers through their BGPPeer's `reachableBy`
    /// gateway, as last handed to the FIB task.
    peer_routes: BTreeMap<IpAddr, IpAddr>,
    /// The node's interfaces as last listed, for BGPFilter `interface`
    /// rules; listed only while [`Manager::interfaces_wanted`] says so.
    interfaces: interfaces::Interfaces,
    interfaces_wanted: tokio::sync::watch::Sender<bool>,
    /// When the manager started: `node ready` is strict for a while after.
    started: Instant,
    /// How many peers the last datastore reading gave this node, to say so
    /// when it changes to or from none.
    peers_read: Option<usize>,
}

impl Manager {
    fn new(
        settings: Settings,
        store: Arc<dyn PeerStore>,
        route_events: mpsc::Sender<PeerEvent>,
    ) -> Self {
        let routing = Self::routing_for(&settings, settings.local_as);
        Manager {
            settings,
            store,
            peers: HashMap::new(),
            stopping: HashSet::new(),
            listeners: None,
            routing,
            event_effects: Vec::new(),
            route_events,
            next_number: 1,
            numbers: HashMap::new(),
            fib: None,
            synchronise_by: None,
            advertisements: sources::Advertisements::default(),
            refused: (0, None),
            refused_peers: HashMap::new(),
            ignored: Vec::new(),
            peer_filters: HashMap::new(),
            peer_routes: BTreeMap::new(),
            interfaces: Vec::new(),
            interfaces_wanted: tokio::sync::watch::Sender::new(false),
            started: Instant::now(),
            peers_read: None,
        }
    }

    async fn run(mut self, mut route_events: mpsc::Receiver<PeerEvent>) -> Result<()> {
        if self.settings.routing.fib {
            let routing = &self.settings.routing;
            self.fib = fib::start(
                routing.fib_table,
                routing.fib_netns.as_deref(),
                routing.fib_next_hop_objects,
            )
            .await;
            if self.fib.as_ref().is_some_and(|fib| fib.restarted) {
                self.synchronise_by = Some(
                    Instant::now()
                        + Duration::from_secs(u64::from(self.settings.routing.restart_time)),
                );
                // RFC 4724 §4.1: a restarted speaker selects and sends once
                // its peers have resent their tables.
                self.routing.defer_updates(true);
            }
        }
        let (accepted_sender, mut accepted) = mpsc::channel::<Accepted>(64);
        let mut listening = listeners::Listeners::new(accepted_sender.clone());
        listening.listen_on(&self.settings.listen, &[]).await?;
        self.listeners = Some(listening);
        let (control_sender, mut control) = mpsc::channel::<ControlCall>(16);
        control::serve_on_own_thread(
            &self.settings.control_socket,
            self.settings.control_socket_group.as_deref(),
            control::Limits::default(),
            control_sender.clone(),
        )
        .await?;
        // After the control socket: both bind through a directory per process.
        bird_socket::serve_on_own_thread(
            self.bird_sockets(),
            self.settings.control_socket_group.as_deref(),
            control_sender.clone(),
        )
        .await?;
        if let Some(address) = self.settings.metrics {
            metrics::serve_on_own_thread(address, control_sender.clone()).await?;
        }
        let mut interface_changes = interfaces::spawn(
            self.settings.routing.fib_netns.clone(),
            self.interfaces_wanted.subscribe(),
        );
        let mut desired = datastore::spawn(
            self.store.clone(),
            &self.settings.datastore,
            self.settings.node.clone(),
            self.settings.endpoint_status_dir.clone(),
        );
        let advertised: Vec<String> = self
            .settings
            .advertise
            .iter()
            .map(|origination| origination.prefix.to_string())
            .collect();
        info!(
            node = %self.settings.node,
            asn = self.settings.local_as.0,
            router_id = %self.settings.router_id,
            control_socket = %self.settings.control_socket.display(),
            datastore = %self.settings.datastore.describe(),
            datastore_from = %self.settings.datastore_origin,
            advertised = %if advertised.is_empty() { "nothing yet (no --advertise; IPAM blocks and BGPConfiguration add to it)".to_owned() } else { advertised.join(" ") },
            "nodebgp started"
        );
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let mut synchronising = tokio::time::interval(Duration::from_secs(1));
        // SIGTERM (a restart or an upgrade, as Kubernetes sends it) leaves
        // gracefully when graceful restart is on; SIGINT always stops fully.
        let mut background_first = false;
        // A turn's route events, taken from their channel at once: its
        // semaphore is given back their permits once, not once an event.
        let mut arrived = Vec::with_capacity(EVENTS_PER_TURN);
        let fib_applied = self.fib.as_ref().map(fib::FibHandle::applied);
        let graceful = loop {
            let deadline = self.routing.next_deadline();
            // Changes held back while the FIB task was busy go when it has
            // taken the last batch, or when the manager has nothing else
            // to do and the task has room. Past a bound, the peers' UPDATEs
            // wait (in their channel, then in TCP) until the kernel catches up.
            let kernel_waiting = match self.fib {
                Some(_) => self.routing.fib_changes_waiting(),
                None => 0,
            };
            let kernel_behind = kernel_waiting > 0;
            let kernel_room =
                kernel_behind && self.fib.as_ref().is_some_and(fib::FibHandle::has_room);
            let kernel_full = kernel_waiting >= fib::WAITING_AT_MOST;
            let work = tokio::select! {
                // In this order: a loaded daemon still stops at once and
                // still answers its operator.
                biased;
                _ = interrupt.recv() => break false,
                _ = terminate.recv() => break self.settings.routing.graceful_restart,
                Some(call) = control.recv() => Work::Control(call),
                Ok(()) = desired.changed() => Work::Datastore,
                Ok(()) = interface_changes.changed() => Work::Interfaces,
                Some(connection) = accepted.recv() => Work::Accepted(connection),
                () = sleep_until(deadline) => Work::Timers,
                // Removals of big tables go a step at a time, taking turns
                // with the peers' events (before them every other turn,
                // after them otherwise, and whenever there are none). Each
                // step first lets every other task of the runtime run: work
                // that is always ready would otherwise never give them a turn.
                () = tokio::task::yield_now(), if background_first && !kernel_full && self.routing.has_background_work() => Work::Background,
                1.. = route_events.recv_many(&mut arrived, EVENTS_PER_TURN), if !kernel_full => Work::PeerEvents,
                () = tokio::task::yield_now(), if !kernel_full && self.routing.has_background_work() => Work::Background,
                () = std::future::ready(()), if kernel_room => Work::KernelReady,
                _ = synchronising.tick(), if self.synchronise_by.is_some() => Work::Synchronise,
                () = notified(fib_applied.as_deref()), if kernel_behind => Work::KernelReady,
            };
            let started = std::time::Instant::now();
            let what = match work {
                Work::Control(call) => {
                    let what = match call.request {
                        Request::Status => "a status request",
                        Request::RouteCount => "a route count request",
                        Request::Routes(_) => "a routes request",
                        Request::Refresh { .. } => "a refresh request",
                        Request::LogLevel { .. } => "a log level request",
                    };
                    let answer = self.control(call.request);
                    // The client may have stopped waiting (control::Limits).
                    let _ = call.reply.send(answer);
                    what
                }
                Work::Datastore => {
                    let reading = desired.borrow_and_update().clone();
                    if let Some(reading) = reading {
                        self.apply(reading).await;
                    }
                    "a datastore change"
                }
                Work::Interfaces => {
                    self.interfaces = interface_changes.borrow_and_update().clone();
                    self.apply_peer_filters();
                    "an interface change"
                }
                Work::Accepted(connection) => {
                    self.accept(connection);
                    "an accepted connection"
                }
                Work::Timers => {
                    let effects = self.routing.expire(Instant::now());
                    self.carry_out(effects);
                    "graceful-restart timers"
                }
                Work::PeerEvents => {
                    // One reading of the clock for the turn: its events are
                    // microseconds apart, and a reading each was a few per
                    // cent of the daemon's time taking in a table.
                    let now = Instant::now();
                    for event in arrived.drain(..) {
                        self.route_event(event, now);
                    }
                    // What the turn's events made due goes out once.
                    let effects = self.routing.output();
                    self.carry_out(effects);
                    self.check_synchronised();
                    "peer events"
                }
                Work::Synchronise => {
                    self.check_synchronised();
                    "the restart deferral"
                }
                Work::Background => {
                    let effects = self.routing.continue_background_work();
                    self.carry_out(effects);
                    "removing a peer's paths"
                }
                Work::KernelReady => {
                    self.send_fib_changes(KernelHandOver::Batch);
                    "kernel route changes"
                }
            };
            background_first = !background_first;
            // Whatever one turn holds up waits for it: worth knowing.
            let took = started.elapsed();
            if took >= SLOW_TURN {
                debug!(took_ms = took.as_millis() as u64, what, "slow manager turn");
            }
        };
        self.leave(graceful, &mut route_events).await;
        let _ = std::fs::remove_file(&self.settings.control_socket);
        for socket in self.bird_sockets() {
            let _ = std::fs::remove_file(&socket.path);
        }
        // The process ends next: freeing a full table's millions of
        // allocations one by one would only delay the exit (about half a
        // second per million paths); the kernel takes the memory back at once.
        std::mem::forget(self);
        Ok(())
    }

    /// One event of a peer task, for the routing side (and the peer table);
    /// the UPDATEs it makes due go at the end of the turn ([`routing::Routing::output`]).
    fn route_event(&mut self, event: PeerEvent, now: Instant) {
        if let SessionEvent::Stopped = event.event {
            self.stopping.remove(&event.peer);
            return;
        }
        self.routing
            .event_without_output(event, now, &mut self.event_effects);
        if self.event_effects.is_empty() {
            // What `carry_out` does after the effects, without a list to walk.
            self.send_fib_changes(KernelHandOver::FullBatch);
        } else {
            let effects = std::mem::take(&mut self.event_effects);
            self.carry_out(effects);
        }
    }

    /// The way out: every peer is told to end (with Cease, or without a word
    /// for a graceful restart), their events are drained until all have
    /// ended or [`SHUTDOWN_GRACE`] is over, then the kernel routes are
    /// removed (or kept, for a graceful restart).
    async fn leave(&mut self, graceful: bool, route_events: &mut mpsc::Receiver<PeerEvent>) {
        let ending = if graceful {
            info!("leaving for a graceful restart: sessions closed without NOTIFICATION, kernel routes kept");
            Ending::Detach
        } else {
            info!("shutting down");
            Ending::Shutdown(Some("nodebgp is shutting down".into()))
        };
        for (_, peer) in self.peers.drain() {
            self.stopping.insert(peer.id);
            peer.handle.end(ending.clone());
        }
        let everyone = async {
            while !self.stopping.is_empty() {
                match route_events.recv().await {
                    Some(PeerEvent {
                        peer,
                        event: SessionEvent::Stopped,
                    }) => {
                        self.stopping.remove(&peer);
                    }
                    Some(_) => {}
                    None => break,
                }
            }
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, everyone)
            .await
            .is_err()
        {
            warn!(
                peers = self.stopping.len(),
                "peers still ending; leaving without them"
            );
        }
        if graceful {
            // What the RIB still holds goes first: the kernel is left as
            // the table was.
            self.send_fib_changes(KernelHandOver::All);
        } else {
            // Everything of ours leaves the kernel: no use installing it.
            drop(self.routing.take_fib_changes());
        }
        if let Some(fib) = self.fib.take() {
            let (done, finished) = tokio::sync::oneshot::channel();
            let _ = fib.commands.send(fib::FibCommand::Stop {
                remove: !graceful,
                done,
            });
            if tokio::time::timeout(FIB_STOP_TIME, finished).await.is_err() {
                warn!("the kernel routes were not all handled in time");
            }
        }
    }

    /// A RIB for the node's AS, with the node's own prefixes.
    fn routing_for(settings: &Settings, local_as: bgp_wire::Asn) -> routing::Routing {
        let next_hop_v4 = match settings.source_address(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
        {
            Some(IpAddr::V4(address)) => address,
            _ => settings.router_id.0,
        };
        let next_hop_v6 = match settings.source_address(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED))
        {
            Some(IpAddr::V6(address)) => Some(address),
            _ => None,
        };
        routing::Routing::new(
            &settings.routing,
            local_as,
            settings.router_id,
            Some(next_hop_v4),
            next_hop_v6,
            &settings.advertise,
        )
    }

    /// The node's prefixes: `--advertise`, the BGPConfiguration's service
    /// prefixes and the node's pod networks, with the communities of every prefix advertisement whose
    /// CIDR holds them (Calico's `prefixAdvertisements`).
    fn originations(&self) -> Vec<settings::Origination> {
        let mut originations = self.settings.advertise.clone();
        let pod_networks = &self.advertisements.pod_networks.originated;
        for prefix in self
            .advertisements
            .service_prefixes
            .iter()
            .chain(pod_networks)
        {
            if !originations.iter().any(|known| known.prefix == *prefix) {
                originations.push(settings::Origination {
                    prefix: *prefix,
                    communities: Vec::new(),
                    large_communities: Vec::new(),
                });
            }
        }
        for (cidr, values) in &self.advertisements.communities {
            for origination in originations
                .iter_mut()
                .filter(|origination| cidr.contains(&origination.prefix))
            {
                for value in values {
                    if let Err(error) = origination.add_community(value) {
                        warn!(%cidr, %error, "prefix advertisement community ignored");
                    }
                }
            }
        }
        originations
    }

    fn new_routing(&self, local_as: bgp_wire::Asn) -> routing::Routing {
        Self::routing_for(&self.settings, local_as)
    }

    /// Carries out what the routing side asked for.
    fn carry_out(&mut self, effects: Vec<routing::Effect>) {
        for effect in effects {
            match effect {
                routing::Effect::Send(number, outgoing) => {
                    if let Some(peer) = self.peer_by_number(number) {
                        peer.handle.send(outgoing);
                    }
                }
                routing::Effect::MaximumPrefixes {
                    peer,
                    family,
                    limit,
                    restart_after,
                } => {
                    if let Some(running) = self.peer_by_number(peer) {
                        running
                            .handle
                            .maximum_prefixes(family, limit, Some(restart_after));
                    }
                }
            }
        }
        self.send_fib_changes(KernelHandOver::FullBatch);
    }

    /// Hands the RIB's kernel changes to the FIB task as `how` says;
    /// what is not handed over waits in the RIB, coalescing, for
    /// [`Work::KernelReady`]. Without a FIB they are dropped.
    fn send_fib_changes(&mut self, how: KernelHandOver) {
        let Some(fib) = &self.fib else {
            // (Without a FIB the RIB keeps none: this runs after every
            // event, and polling an empty map costs a hundred instructions.)
            if self.routing.fib_changes_waiting() > 0 {
                drop(self.routing.take_fib_changes());
            }
            return;
        };
        match how {
            KernelHandOver::All => fib.send_changes(self.routing.take_fib_changes()),
            KernelHandOver::FullBatch
                if self.routing.fib_changes_waiting() < fib::BATCH_PREFIXES => {}
            KernelHandOver::Batch | KernelHandOver::FullBatch if fib.has_room() => {
                fib.send_changes(self.routing.take_fib_changes());
            }
            KernelHandOver::Batch | KernelHandOver::FullBatch => {}
        }
    }

    fn peer_by_number(&self, number: PeerId) -> Option<&RunningPeer> {
        self.numbers
            .get(&number)
            .and_then(|address| self.peers.get(address))
            .map(|running| &**running)
    }

    /// After a restart, the previous run's kernel routes that no peer
    /// re-announced go once every peer resent its table, or the restart
    /// time is over (RFC 4724 §4.1).
    fn check_synchronised(&mut self) {
        let Some(deadline) = self.synchronise_by else {
            return;
        };
        let all = !self.peers.is_empty() && self.routing.all_synchronised();
        if all || Instant::now() >= deadline {
            self.synchronise_by = None;
            // What is stale is judged on every change the RIB made so far.
            self.send_fib_changes(KernelHandOver::All);
            if let Some(fib) = &self.fib {
                let _ = fib.commands.send(fib::FibCommand::Synchronised);
            }
            info!("peers resent their tables: routes selected and sent");
            let effects = self.routing.defer_updates(false);
            self.carry_out(effects);
        }
    }

    fn accept(&mut self, connection: Accepted) {
        let address = connection.peer.ip().to_canonical();
        match self.peers.get(&address) {
            Some(peer) => peer.handle.incoming(connection.stream),
            None => {
                // A scan or a misconfigured router may knock many times a
                // second: one line a minute says how many.
                let now = Instant::now();
                self.refused.0 += 1;
                if self
                    .refused
                    .1
                    .is_none_or(|last| now.duration_since(last) >= Duration::from_secs(60))
                {
                    warn!(peer = %connection.peer, refused = self.refused.0, "connections from addresses that are not peers refused (logged once a minute)");
                    self.refused = (0, Some(now));
                }
                // Writing the NOTIFICATION may wait on the remote end: not here.
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(5), reject(connection.stream))
                        .await;
                });
            }
        }
    }

    /// Makes the running peers and advertisements what the datastore says.
    async fn apply(&mut self, reading: sources::Desired) {
        self.listen_where_configured(reading.bind_addresses.as_deref())
            .await;
        let (desired, advertisements) = (reading.peers, reading.advertisements);
        self.ignored = reading.ignored;
        self.peer_filters = reading.filters;
        // The node's AS (from its node resource or the BGP configuration)
        // is what the RIB prepends and checks loops against: when it
        // changes, every session starts again on a new RIB.
        let node_as = desired
            .iter()
            .find_map(|peer| peer.local_as)
            .unwrap_or(self.settings.local_as);
        if node_as != self.routing.local_as() {
            info!(
                from = self.routing.local_as().0,
                to = node_as.0,
                "the node's AS changed; restarting every session"
            );
            let addresses: Vec<IpAddr> = self.peers.keys().copied().collect();
            for address in addresses {
                self.stop_peer(address);
            }
            // The old RIB goes with what it still meant to tell the kernel,
            // its peers' paths among it: the FIB task forgets every learned
            // route, and the new sessions bring theirs.
            drop(self.routing.take_fib_changes());
            if let Some(fib) = &self.fib {
                let _ = fib.commands.send(fib::FibCommand::ForgetLearned);
            }
            self.routing = self.new_routing(node_as);
            if self.synchronise_by.is_some() {
                self.routing.defer_updates(true);
            }
            let originations = self.originations();
            let mut effects = self.routing.set_originations(&originations);
            let policy = self.advertisements.pod_networks.export_policy.clone();
            effects.extend(self.routing.set_export_policy(policy));
            self.carry_out(effects);
        }
        if advertisements != self.advertisements {
            let pods_changed = advertisements.pod_networks != self.advertisements.pod_networks;
            self.advertisements = advertisements;
            let originations = self.originations();
            let mut effects = self.routing.set_originations(&originations);
            if pods_changed {
                let pod_networks = &self.advertisements.pod_networks;
                effects.extend(
                    self.routing
                        .set_export_policy(pod_networks.export_policy.clone()),
                );
                if let Some(fib) = &self.fib {
                    let _ = fib.commands.send(fib::FibCommand::PodNetworks {
                        blackholes: pod_networks.blackholes.clone(),
                        kernel: pod_networks.kernel.clone(),
                    });
                }
            }
            self.carry_out(effects);
        }
        self.route_peers_through_their_gateways(&desired);
        self.note_peer_count(desired.len());
        self.refused_peers
            .retain(|address, _| desired.iter().any(|peer| peer.address.ip() == *address));
        let running: Vec<DesiredPeer> = self
            .peers
            .values()
            .map(|peer| peer.desired.clone())
            .collect();
        // The peer manager's pure diff: only what changed is touched.
        for action in peer_manager::reconcile(&desired, &running) {
            match action {
                Action::Start(peer) => self.start_peer(peer),
                Action::Stop { address, .. } => self.stop_peer(address.ip()),
                Action::Restart { old, new } => {
                    info!(peer = %new.address, "peer changed; restarting its session");
                    self.stop_peer(old.address.ip());
                    self.start_peer(new);
                }
            }
        }
        self.apply_peer_filters();
    }

    /// Listens on the node's own addresses when the cluster asks for
    /// `bindMode: NodeIP` (`node_addresses`, at the port `--listen` gives)
    /// and `--listen` named no address of its own (only `0.0.0.0`, `::`);
    /// else where `--listen` says.
    /// A failure is logged and the sockets stay as they were.
    async fn listen_where_configured(&mut self, node_addresses: Option<&[IpAddr]>) {
        let wanted: Vec<SocketAddr> = match node_addresses {
            Some(addresses) if !addresses.is_empty() && !self.settings.listen_given => {
                let port = self
                    .settings
                    .listen
                    .first()
                    .map_or(peer_manager::BGP_PORT, SocketAddr::port);
                addresses
                    .iter()
                    .map(|address| SocketAddr::new(*address, port))
                    .collect()
            }
            _ => self.settings.listen.clone(),
        };
        let keys: Vec<(IpAddr, String)> = self
            .peers
            .iter()
            .filter_map(|(address, peer)| {
                let password = peer.desired.settings.password.clone()?;
                Some((*address, password))
            })
            .collect();
        let Some(listeners) = self.listeners.as_mut() else {
            return;
        };
        if listeners.addresses() == wanted {
            return;
        }
        info!(from = ?listeners.addresses(), to = ?wanted, "moving the BGP listeners (bindMode)");
        if let Err(error) = listeners.listen_on(&wanted, &keys).await {
            warn!(
                error = format!("{error:#}"),
                "cannot move the BGP listeners; they stay where they were"
            );
        }
    }

    /// BGPPeer `reachableBy`: each such peer's address is routed through its
    /// gateway (`<peer>/32 via <gateway>`, as confd's static route), from
    /// when the peer is configured until it is not, so that the session can
    /// come up over that path.
    fn route_peers_through_their_gateways(&mut self, desired: &[DesiredPeer]) {
        let routes: BTreeMap<IpAddr, IpAddr> = desired
            .iter()
            .filter_map(|peer| Some((peer.address.ip(), peer.reachable_by?)))
            .collect();
        if routes == self.peer_routes {
            return;
        }
        match &self.fib {
            Some(fib) => {
                info!(
                    routes = routes.len(),
                    "host routes to peers through their gateways (reachableBy) changed"
                );
                let _ = fib
                    .commands
                    .send(fib::FibCommand::PeerRoutes(routes.clone()));
            }
            None if !routes.is_empty() => {
                warn!("BGPPeer reachableBy needs the kernel routing table, which nodebgp may not change here; the peers' host routes are not installed");
            }
            None => {}
        }
        self.peer_routes = routes;
    }

    /// Gives each running session the BGPFilters last read, live (a route
    /// refresh and a re-export, no reset), except for a peer that cannot
    /// refresh whose import rules changed: its session starts again.
    /// `interface` rules are resolved against the node's interfaces as last
    /// listed, and the interfaces are listed while some filter has one.
    fn apply_peer_filters(&mut self) {
        let wanted = self
            .peer_filters
            .values()
            .any(bgp_rib::PeerFilter::has_interface_rules);
        self.interfaces_wanted.send_if_modified(|current| {
            let changed = *current != wanted;
            *current = wanted;
            changed
        });
        let running: Vec<(IpAddr, PeerId)> = self
            .peers
            .iter()
            .map(|(address, peer)| (*address, peer.id))
            .collect();
        for (address, number) in running {
            let filter = filters::resolve(
                self.peer_filters.get(&address).cloned().unwrap_or_default(),
                &self.interfaces,
            );
            let applied = self.routing.set_peer_filter(number, filter);
            self.carry_out(applied.effects);
            if applied.restart {
                if let Some(desired) = self.peers.get(&address).map(|peer| peer.desired.clone()) {
                    info!(peer = %address, "import filter changed and the peer cannot refresh (RFC 2918); restarting its session");
                    self.stop_peer(address);
                    self.start_peer(desired);
                }
            }
        }
    }

    /// Says when the node has no peers at all (a first start against an
    /// empty or wrong datastore is otherwise silent), and when it has some
    /// again.
    fn note_peer_count(&mut self, count: usize) {
        let before = self.peers_read.replace(count);
        if count == 0 && before != Some(0) {
            warn!(
                node = %self.settings.node,
                datastore = %self.settings.datastore.describe(),
                "no BGP peers for this node in the datastore; waiting for a bgpPeer or BGPPeer \
                 that applies to it (nodebgp apply -f FILE)"
            );
        } else if count > 0 && before.is_none_or(|before| before == 0) {
            info!(peers = count, "peers for this node read from the datastore");
        }
    }

    fn start_peer(&mut self, peer: DesiredPeer) {
        // RFC 2385 keys fail closed: a peer meant to be signed never runs
        // unsigned, and its connections are refused meanwhile.
        if peer.settings.password.as_deref() == Some("") {
            self.refuse_peer(&peer, "its password is empty".into());
            return;
        }
        // The listeners need the peer's MD5 key too (v3 `password`), or none.
        if let Err(error) =
            self.install_password(peer.address.ip(), peer.settings.password.as_deref())
        {
            self.refuse_peer(&peer, format!("cannot set its TCP MD5 key: {error}"));
            return;
        }
        self.refused_peers.remove(&peer.address.ip());
        info!(peer = %peer.address, asn = peer.asn.0, "starting session");
        let number = PeerId(self.next_number);
        self.next_number = self.next_number.wrapping_add(1).max(1);
        let mut config = self.peer_config(&peer, number);
        self.attach_routing(&mut config, &peer);
        // v3 `maxRestartTime` (BIRD `graceful restart time`): the Restart Time we
        // announce (RFC 4724 §3). Set after the routing link, which announces the
        // daemon-wide time; without graceful restart configured we announce the
        // capability with no families, as a receiving speaker only.
        if let Some(time) = peer.settings.max_restart_time {
            let restart_time = u16::try_from(time.as_secs()).unwrap_or(u16::MAX).min(4095);
            match config.session.graceful_restart.as_mut() {
                Some(restart) => restart.restart_time = restart_time,
                None => {
                    config.session.graceful_restart = Some(bgp_wire::GracefulRestart {
                        flags: 0,
                        restart_time,
                        families: Vec::new(),
                    })
                }
            }
        }
        self.routing.add_peer(number, &peer);
        let filter = filters::resolve(
            self.peer_filters
                .get(&peer.address.ip())
                .cloned()
                .unwrap_or_default(),
            &self.interfaces,
        );
        // Not known to the RIB before the session is up: kept until then.
        let _ = self.routing.set_peer_filter(number, filter);
        let handle = spawn_peer(config);
        handle.start();
        self.numbers.insert(number, peer.address.ip());
        self.peers.insert(
            peer.address.ip(),
            Box::new(RunningPeer {
                desired: peer,
                handle,
                id: number,
            }),
        );
    }

    /// Ends a session with Cease / Peer De-configured. Its routes go now;
    /// the task ends in its own time and says so ([`SessionEvent::Stopped`]),
    /// and what it still sends meanwhile is dropped by the routing side.
    fn stop_peer(&mut self, address: IpAddr) {
        if let Some(running) = self.peers.remove(&address) {
            self.numbers.remove(&running.id);
            info!(peer = %address, "peer removed; ending its session");
            if let Err(error) = self.install_password(address, None) {
                warn!(peer = %address, %error, "cannot remove its TCP MD5 key from a listener");
            }
            self.stopping.insert(running.id);
            running.handle.end(Ending::Deconfigured);
            let effects = self.routing.remove_peer(running.id);
            self.carry_out(effects);
        }
    }

    /// TCP MD5 keys live on the listening sockets too, so that the peer's own
    /// connection attempts are accepted (RFC 2385).
    /// Fails closed: when the key cannot be set on every listener, it is
    /// taken off all of them again and the caller does not start the peer.
    fn install_password(&self, peer: IpAddr, password: Option<&str>) -> std::io::Result<()> {
        match &self.listeners {
            Some(listeners) => listeners.install_password(peer, password),
            None => Ok(()),
        }
    }

    /// Records why a desired peer was not started, logging it when the
    /// reason is new (the datastore is read again every few seconds).
    fn refuse_peer(&mut self, peer: &DesiredPeer, reason: String) {
        let address = peer.address.ip();
        if self.refused_peers.get(&address).map(|(_, known)| known) != Some(&reason) {
            warn!(peer = %peer.address, %reason, "peer not started");
        }
        self.refused_peers.insert(address, (peer.clone(), reason));
    }

    /// The BIRD sockets asked for, with the family each lists.
    fn bird_sockets(&self) -> Vec<bird_socket::BirdSocket> {
        [
            (
                &self.settings.bird_socket,
                bird_socket::format::Family::Ipv4,
            ),
            (
                &self.settings.bird6_socket,
                bird_socket::format::Family::Ipv6,
            ),
        ]
        .into_iter()
        .filter_map(|(path, family)| {
            path.clone()
                .map(|path| bird_socket::BirdSocket { path, family })
        })
        .collect()
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Four glibc malloc tunables, read at process start, so the daemon runs
/// itself again, once, with them added to GLIBC_TUNABLES (same pid, same
/// arguments); another libc ignores them, and if the exec fails the daemon
/// goes on as it is.
///
/// * `glibc.malloc.mxfast=0`: after a removed peer's millions of small frees,
///   glibc merges its fastbins inside some later allocation, a 100-150 ms
///   stall of the daemon's one thread (slow status answers in
///   `benches/stress.sh`; gone with fastbins off, and no memory lost: the
///   per-thread cache still serves small allocations).
/// * `glibc.malloc.tcache_count=64`: a peer task decodes up to 32 frames a
///   turn and the manager takes up to 64 events, so a message's allocations
///   are made and freed in runs longer than the per-thread cache's default 7
///   per size, and most went to the slower bins. callgrind, 100k one-prefix
///   UPDATEs: 676.5M instructions with the default, 628.8M with 64 (and with
///   256); held memory after a 1M table 1.5 MiB more.
/// * `glibc.malloc.mmap_threshold=131072`: the default, but set, so that
///   glibc no longer raises it (up to 32 MiB) each time a mapped block is
///   freed. Raised, the RIB's and the FIB task's tables come from the heap
///   as they grow, and each smaller copy they leave is a hole the heap keeps:
///   a 1M table into the kernel held 132-138 MiB, 125-126 MiB with the
///   threshold set, no slower (`route-load --fib`, alternated); the other
///   scenarios the same within noise.
/// * `glibc.malloc.arena_max=1`: the routing work is one thread's; the
///   others (control socket, datastore, etcd client) allocate little, but
///   each got an arena of its own whose freed chunks stayed resident. 1,000
///   idle sessions: anonymous memory 22.9 → 20.0 MB (BIRD 18.2); loads and
///   fan-out the same within noise.
const ALLOCATOR_TUNABLES: [(&str, &str); 4] = [
    ("glibc.malloc.mxfast", "0"),
    ("glibc.malloc.tcache_count", "64"),
    ("glibc.malloc.mmap_threshold", "131072"),
    ("glibc.malloc.arena_max", "1"),
];

fn with_allocator_tunables() {
    use std::os::unix::process::CommandExt;
    let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    let mut tunables: Vec<String> = current
        .split(':')
        .filter(|tunable| !tunable.is_empty())
        .map(str::to_owned)
        .collect();
    let before = tunables.len();
    for (name, value) in ALLOCATOR_TUNABLES {
        if !tunables
            .iter()
            .any(|tunable| tunable.starts_with(&format!("{name}=")))
        {
            tunables.push(format!("{name}={value}"));
        }
    }
    // Set already (by an operator, or by the exec below): no loop.
    if tunables.len() == before {
        return;
    }
    let mut arguments = std::env::args_os();
    let name = arguments.next().unwrap_or_else(|| "nodebgp".into());
    let error = std::process::Command::new("/proc/self/exe")
        .arg0(name)
        .args(arguments)
        .env("GLIBC_TUNABLES", tunables.join(":"))
        .exec();
    eprintln!("nodebgp: cannot run again with the malloc tunables ({error}); going on without");
}

/// Waits for `notify`, or forever without one (no FIB).
async fn notified(notify: Option<&Notify>) {
    match notify {
        Some(notify) => notify.notified().await,
        None => std::future::pending().await,
    }
}
