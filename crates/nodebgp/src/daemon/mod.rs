//! `nodebgp run`: the daemon for one node. One manager task owns the peer
//! table; listeners, the control socket and the datastore poller talk to it
//! by message.
//!
//! ```text
//!  listeners ──accepted──┐
//!  control socket ───────┼─► manager (peer table) ──► one task per peer (bgp-session)
//!  datastore poll ───────┤
//!  SIGTERM / ctrl-c ─────┘
//! ```

mod control;
mod fib;
mod routes;
mod routing;
mod settings;
mod sources;
mod status;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use bgp_fsm::{Config, IdleHoldPolicy};
use bgp_session::net::{self, SocketOptions};
use bgp_session::{reject, spawn_listener, spawn_peer, Accepted, PeerConfig, PeerHandle};
use bgp_wire::Family;
use peer_manager::Action;
use peer_store::PeerStore;
use serde_json::json;
use tokio::sync::mpsc;
use tracing::{info, warn};

pub(crate) use control::request;
pub(crate) use routes::{print_routes, request_refresh, RefreshArgs, RoutesArgs};
pub(crate) use settings::{Datastore, RunArgs, Settings};
pub(crate) use sources::DesiredPeer;
pub(crate) use status::{print_status, StatusArgs};

use control::ControlRequest;

/// How often the datastore is read for changes.
const RECONCILE_INTERVAL: Duration = Duration::from_secs(1);

pub(crate) fn run(arguments: &RunArgs) -> Result<()> {
    let settings = Settings::from_args(arguments)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&settings.log_level).context("--log-level")?,
        )
        .with_target(false)
        .init();
    // One thread runs every session: a node holds tens of sessions, and one
    // thread keeps both the memory (one allocator arena, one stack) and the
    // idle wake-ups down.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Opened before the runtime starts: the etcd store runs its own.
    let store: Arc<dyn PeerStore> = Arc::from(settings.datastore.open()?);
    runtime.block_on(async move {
        // Bounded: a peer sending a table faster than the RIB takes it in
        // waits, and so does its TCP connection.
        let (route_sender, route_events) = mpsc::channel(1024);
        Manager::new(settings, store, route_sender)
            .run(route_events)
            .await
    })
}

struct RunningPeer {
    desired: DesiredPeer,
    handle: PeerHandle,
    /// The number the routing side knows this peer task by.
    number: u32,
}

struct Manager {
    settings: Settings,
    store: Arc<dyn PeerStore>,
    /// The store file's identity and size when it was last read: reading and
    /// parsing it every second would cost more than every idle session.
    store_seen: Option<(std::time::SystemTime, u64, u64)>,
    /// Consecutive failed reads of the datastore, and when to try again:
    /// an unreachable store is retried with a doubling wait, up to a minute.
    store_failures: u32,
    retry_at: Option<tokio::time::Instant>,
    peers: HashMap<IpAddr, RunningPeer>,
    listeners: Vec<Arc<tokio::net::TcpListener>>,
    /// The RIB and what hangs on it.
    routing: routing::Routing,
    /// Where peer tasks send their routing events.
    route_events: mpsc::Sender<bgp_session::PeerEvent>,
    /// The number of the next peer task.
    next_number: u32,
    /// Running peers by number: the routing side names peers by number,
    /// once per message it sends.
    numbers: HashMap<u32, IpAddr>,
    /// The kernel FIB task, where nodebgp may change the routing table.
    fib: Option<fib::FibHandle>,
    /// What the BGPConfiguration adds to the node's own prefixes.
    advertisements: sources::Advertisements,
    /// Until when the previous run's kernel routes wait for the peers to
    /// resend their tables (graceful restart), if they are waiting.
    synchronise_by: Option<tokio::time::Instant>,
}

impl Manager {
    fn new(
        settings: Settings,
        store: Arc<dyn PeerStore>,
        route_events: mpsc::Sender<bgp_session::PeerEvent>,
    ) -> Self {
        let routing = Self::routing_for(&settings, settings.local_as);
        Manager {
            settings,
            store,
            store_seen: None,
            store_failures: 0,
            retry_at: None,
            peers: HashMap::new(),
            listeners: Vec::new(),
            routing,
            route_events,
            next_number: 1,
            numbers: HashMap::new(),
            fib: None,
            synchronise_by: None,
            advertisements: sources::Advertisements::default(),
        }
    }

    async fn run(mut self, mut route_events: mpsc::Receiver<bgp_session::PeerEvent>) -> Result<()> {
        if self.settings.routing.fib {
            let routing = &self.settings.routing;
            self.fib = fib::start(routing.fib_table, routing.fib_netns.as_deref()).await;
            if self.fib.as_ref().is_some_and(|fib| fib.restarted) {
                self.synchronise_by = Some(
                    tokio::time::Instant::now()
                        + Duration::from_secs(u64::from(self.settings.routing.restart_time)),
                );
                // RFC 4724 §4.1: a restarted speaker selects and sends once
                // its peers have resent their tables.
                self.routing.defer_updates(true);
            }
        }
        let (accepted_sender, mut accepted) = mpsc::channel::<Accepted>(64);
        for address in self.settings.listen.clone() {
            let listener = Arc::new(
                net::listener(address).with_context(|| format!("cannot listen on {address}"))?,
            );
            spawn_listener(listener.clone(), accepted_sender.clone());
            self.listeners.push(listener);
            info!(%address, "listening");
        }
        let (control_sender, mut control) = mpsc::channel::<ControlRequest>(16);
        control::serve(&self.settings.control_socket, control_sender)?;
        info!(
            node = %self.settings.node,
            asn = self.settings.local_as.0,
            router_id = %self.settings.router_id,
            control_socket = %self.settings.control_socket.display(),
            "nodebgp started"
        );
        let mut tick = tokio::time::interval(RECONCILE_INTERVAL);
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        // SIGTERM (a restart or an upgrade, as Kubernetes sends it) leaves
        // gracefully when graceful restart is on; SIGINT always stops fully.
        let graceful = loop {
            let deadline = self.routing.next_deadline();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break false,
                _ = terminate.recv() => break self.settings.routing.graceful_restart,
                Some(event) = route_events.recv() => {
                    let effects = self.routing.event(event);
                    self.carry_out(effects).await;
                    // Drain what is already queued before looking elsewhere:
                    // a table arriving is handled in large strides.
                    while let Ok(event) = route_events.try_recv() {
                        let effects = self.routing.event(event);
                        self.carry_out(effects).await;
                    }
                    self.check_synchronised().await;
                }
                () = sleep_until(deadline) => {
                    let effects = self.routing.expire(tokio::time::Instant::now());
                    self.carry_out(effects).await;
                }
                Some(connection) = accepted.recv() => self.accept(connection).await,
                Some(request) = control.recv() => {
                    let answer = self.control(&request.command, &request.request).await;
                    let _ = request.reply.send(answer);
                }
                _ = tick.tick() => {
                    self.reconcile().await;
                    self.check_synchronised().await;
                }
            }
        };
        if graceful {
            info!("leaving for a graceful restart: sessions closed without NOTIFICATION, kernel routes kept");
            for (_, peer) in self.peers.drain() {
                peer.handle.detach().await;
            }
        } else {
            info!("shutting down");
            for (_, peer) in self.peers.drain() {
                peer.handle
                    .shut_down(Some("nodebgp is shutting down".into()))
                    .await;
            }
        }
        if let Some(fib) = self.fib.take() {
            let (done, finished) = tokio::sync::oneshot::channel();
            let _ = fib.commands.send(fib::FibCommand::Stop {
                remove: !graceful,
                done,
            });
            let _ = finished.await;
        }
        let _ = std::fs::remove_file(&self.settings.control_socket);
        Ok(())
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

    /// The node's prefixes: `--advertise` and the BGPConfiguration's service
    /// prefixes, with the communities of every prefix advertisement whose
    /// CIDR holds them (Calico's `prefixAdvertisements`).
    fn originations(&self) -> Vec<settings::Origination> {
        let mut originations = self.settings.advertise.clone();
        for prefix in &self.advertisements.service_prefixes {
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
    async fn carry_out(&mut self, effects: Vec<routing::Effect>) {
        for effect in effects {
            match effect {
                routing::Effect::Send(number, messages) => {
                    if let Some(peer) = self.peer_by_number(number) {
                        peer.handle.send_messages(messages);
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
                            .maximum_prefixes(family, limit, Some(restart_after))
                            .await;
                    }
                }
            }
        }
        let changes = self.routing.take_fib_changes();
        if let (Some(fib), false) = (&self.fib, changes.is_empty()) {
            let _ = fib.commands.send(fib::FibCommand::Changes(changes));
        }
    }

    fn peer_by_number(&self, number: u32) -> Option<&RunningPeer> {
        self.numbers
            .get(&number)
            .and_then(|address| self.peers.get(address))
    }

    /// After a restart, the previous run's kernel routes that no peer
    /// re-announced go once every peer resent its table, or the restart
    /// time is over (RFC 4724 §4.1).
    async fn check_synchronised(&mut self) {
        let Some(deadline) = self.synchronise_by else {
            return;
        };
        let all = !self.peers.is_empty() && self.routing.all_synchronised();
        if all || tokio::time::Instant::now() >= deadline {
            self.synchronise_by = None;
            if let Some(fib) = &self.fib {
                let _ = fib.commands.send(fib::FibCommand::Synchronised);
            }
            info!("peers resent their tables: routes selected and sent");
            let effects = self.routing.defer_updates(false);
            self.carry_out(effects).await;
        }
    }

    async fn accept(&mut self, connection: Accepted) {
        let address = connection.peer.ip().to_canonical();
        match self.peers.get(&address) {
            Some(peer) => peer.handle.incoming(connection.stream).await,
            None => {
                warn!(peer = %connection.peer, "connection from an address that is not a peer, refused");
                reject(connection.stream).await;
            }
        }
    }

    /// Whether the store may have changed since it was last read: for the
    /// embedded store, whether its file did; an etcd store is always read.
    fn store_changed(&mut self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Datastore::File(directory) = &self.settings.datastore else {
            return true;
        };
        let seen = std::fs::metadata(directory.join(peer_store::STORE_FILE_NAME))
            .ok()
            .map(|metadata| {
                (
                    metadata.modified().unwrap_or(std::time::UNIX_EPOCH),
                    metadata.len(),
                    metadata.ino(),
                )
            });
        if seen.is_some() && seen == self.store_seen {
            return false;
        }
        self.store_seen = seen;
        true
    }

    async fn reconcile(&mut self) {
        if self
            .retry_at
            .is_some_and(|at| tokio::time::Instant::now() < at)
        {
            return;
        }
        if !self.store_changed() {
            return;
        }
        // Stores block (file I/O, or etcd on a runtime of its own): off the runtime.
        let (store, node) = (self.store.clone(), self.settings.node.clone());
        let read =
            tokio::task::spawn_blocking(move || sources::desired(store.as_ref(), &node)).await;
        let (desired, advertisements) =
            match read.map_err(anyhow::Error::from).and_then(|result| result) {
                Ok(desired) => (desired.peers, desired.advertisements),
                Err(error) => {
                    // An unreachable or broken datastore leaves running sessions alone.
                    self.store_failures += 1;
                    let wait = Duration::from_secs(1 << self.store_failures.min(6))
                        .min(Duration::from_secs(60));
                    self.retry_at = Some(tokio::time::Instant::now() + wait);
                    self.store_seen = None;
                    warn!(
                        error = %format!("{error:#}"),
                        retry_in = wait.as_secs(),
                        "cannot read peers; sessions left as they are"
                    );
                    return;
                }
            };
        self.store_failures = 0;
        self.retry_at = None;
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
                self.stop_peer(address).await;
            }
            self.routing = self.new_routing(node_as);
            if self.synchronise_by.is_some() {
                self.routing.defer_updates(true);
            }
            let originations = self.originations();
            let effects = self.routing.set_originations(&originations);
            self.carry_out(effects).await;
        }
        if advertisements != self.advertisements {
            self.advertisements = advertisements;
            let originations = self.originations();
            let effects = self.routing.set_originations(&originations);
            self.carry_out(effects).await;
        }
        let running: Vec<DesiredPeer> = self
            .peers
            .values()
            .map(|peer| peer.desired.clone())
            .collect();
        // The peer manager's pure diff: only what changed is touched.
        for action in peer_manager::reconcile(&desired, &running) {
            match action {
                Action::Start(peer) => self.start_peer(peer).await,
                Action::Stop { address, .. } => self.stop_peer(address.ip()).await,
                Action::Restart { old, new } => {
                    info!(peer = %new.address, "peer changed; restarting its session");
                    self.stop_peer(old.address.ip()).await;
                    self.start_peer(new).await;
                }
            }
        }
    }

    async fn start_peer(&mut self, peer: DesiredPeer) {
        info!(peer = %peer.address, asn = peer.asn.0, "starting session");
        // The listeners need the peer's MD5 key too (v3 `password`), or none.
        self.install_password(peer.address.ip(), peer.settings.password.as_deref());
        let number = self.next_number;
        self.next_number += 1;
        let mut config = self.peer_config(&peer);
        self.attach_routing(&mut config, number, &peer);
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
        let handle = spawn_peer(config);
        handle.start().await;
        self.numbers.insert(number, peer.address.ip());
        self.peers.insert(
            peer.address.ip(),
            RunningPeer {
                desired: peer,
                handle,
                number,
            },
        );
    }

    /// Ends a session with Cease / Peer De-configured.
    async fn stop_peer(&mut self, address: IpAddr) {
        if let Some(running) = self.peers.remove(&address) {
            self.numbers.remove(&running.number);
            info!(peer = %address, "peer removed; ending its session");
            self.install_password(address, None);
            running.handle.deconfigure().await;
            let effects = self.routing.remove_peer(running.number);
            self.carry_out(effects).await;
        }
    }

    /// Links a new peer task to the RIB, and announces graceful restart
    /// (RFC 4724 §3): the Restart State bit after a restart that kept kernel
    /// routes, and Forwarding State for every family while the FIB is kept;
    /// with a long-lived stale time, long-lived graceful restart too (RFC 9494).
    fn attach_routing(&self, config: &mut PeerConfig, number: u32, peer: &DesiredPeer) {
        config.routes = Some(bgp_session::RouteLink {
            peer: number,
            events: self.route_events.clone(),
        });
        config.advertise = Vec::new();
        let routing = &self.settings.routing;
        if routing.graceful_restart {
            let forwarding = self.fib.is_some();
            config.session.graceful_restart = Some(bgp_wire::GracefulRestart {
                flags: if self.synchronise_by.is_some() {
                    0x8
                } else {
                    0
                },
                // The BGPPeer's maxRestartTime, else the daemon's setting;
                // the capability has 12 bits for it (RFC 4724 §3).
                restart_time: peer
                    .settings
                    .max_restart_time
                    .map_or(routing.restart_time, |time| {
                        u16::try_from(time.as_secs().min(4095)).unwrap_or(4095)
                    }),
                families: config
                    .session
                    .families
                    .iter()
                    .map(|family| bgp_wire::GracefulRestartFamily {
                        family: *family,
                        flags: if forwarding { 0x80 } else { 0 },
                    })
                    .collect(),
            });
            // RFC 9494 §3: the LLGR capability beside GR (§4.1), for every
            // family of the session, F bit as for GR; the stale time is 24 bits
            // (checked with the settings).
            if let Some(stale_time) = routing.long_lived_stale_time {
                let stale_time = u32::try_from(stale_time.as_secs())
                    .unwrap_or(u32::MAX)
                    .min(0x00ff_ffff);
                config.session.long_lived_graceful_restart = config
                    .session
                    .families
                    .iter()
                    .map(|family| bgp_wire::LongLivedFamily {
                        family: *family,
                        flags: if forwarding { 0x80 } else { 0 },
                        stale_time,
                    })
                    .collect();
            }
        }
    }

    /// TCP MD5 keys live on the listening sockets too, so that the peer's own
    /// connection attempts are accepted (RFC 2385).
    fn install_password(&self, peer: IpAddr, password: Option<&str>) {
        for listener in &self.listeners {
            if let Err(error) = net::apply_to_listener(listener, peer, password) {
                warn!(%peer, %error, "cannot set the TCP MD5 key on a listener");
            }
        }
    }

    fn peer_config(&self, peer: &DesiredPeer) -> PeerConfig {
        let settings = &self.settings;
        // The node's AS (Node `spec.bgp.asNumber`, else the BGPConfiguration's),
        // else --as.
        let local_as = peer.local_as.unwrap_or(settings.local_as);
        let mut session = Config::new(local_as, peer.asn, settings.router_id);
        session.hold_time = settings.hold_time;
        // v3 `keepaliveTime` (BIRD `keepalive time`); otherwise a third of the
        // negotiated hold time (RFC 4271 §10).
        if let Some(keepalive) = peer.settings.keepalive {
            session.keepalive = Some(keepalive);
        }
        // numAllowedLocalASNumbers and keepOriginalNextHop are route rules,
        // not session ones: the RIB applies them (routing.rs, PeerInfo).
        session.connect_retry = settings.connect_retry;
        session.passive = peer.passive;
        // A session carries its transport's family, both with --all-families.
        session.families = match (peer.address.ip(), settings.all_families) {
            (IpAddr::V4(_), false) => vec![Family::IPV4_UNICAST],
            (IpAddr::V6(_), false) => vec![Family::IPV6_UNICAST],
            (IpAddr::V4(_), true) => vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
            (IpAddr::V6(_), true) => vec![Family::IPV6_UNICAST, Family::IPV4_UNICAST],
        };
        session.idle_hold = IdleHoldPolicy {
            initial: Duration::from_secs(2),
            maximum: Duration::from_secs(120),
        };
        session.jitter_seed = Some(jitter_seed(peer.address));
        session.hostname = Some(settings.node.clone());
        PeerConfig {
            address: peer.address,
            session,
            socket: SocketOptions {
                local_address: match peer.settings.source_address {
                    peer_manager::SourceAddress::Daemon => {
                        settings.source_address(peer.address.ip())
                    }
                    peer_manager::SourceAddress::Node(address) => Some(address),
                    peer_manager::SourceAddress::Unbound => None,
                },
                md5_password: peer.settings.password.clone(),
                // GTSM (RFC 5082 §3): send 255, accept 256 - hops and up.
                ttl_security: peer.settings.ttl_security_hops.is_some(),
                ttl_security_hops: peer.settings.ttl_security_hops.unwrap_or(1),
                ttl: None,
            },
            connect_timeout: Duration::from_secs(5),
            advertise: Vec::new(),
            routes: None,
        }
    }

    async fn control(&mut self, command: &str, request: &serde_json::Value) -> String {
        match command {
            "refresh" => {
                let wanted = request["peer"]
                    .as_str()
                    .and_then(|text| text.parse::<IpAddr>().ok());
                let Some(number) = wanted
                    .and_then(|address| self.peers.get(&address))
                    .map(|peer| peer.number)
                else {
                    return json!({"error": "refresh: give the address of a peer of this node"})
                        .to_string();
                };
                match self.routing.request_refresh(number) {
                    Ok(effects) => {
                        self.carry_out(effects).await;
                        json!({"requested": true}).to_string()
                    }
                    Err(error) => json!({"error": error}).to_string(),
                }
            }
            "routes" => routes::answer(self.routing.rib(), &self.numbers, request),
            "status" => {
                let mut peers = Vec::with_capacity(self.peers.len());
                let counts: HashMap<u32, (usize, usize)> = self
                    .routing
                    .rib()
                    .peer_statistics()
                    .iter()
                    .map(|peer| (peer.peer.0, (peer.accepted, peer.advertised)))
                    .collect();
                for running in self.peers.values() {
                    if let Some(status) = running.handle.status().await {
                        let (received, sent) =
                            counts.get(&running.number).copied().unwrap_or_default();
                        peers.push(
                            status::PeerReport::new(&status).with_prefix_counts(received, sent),
                        );
                    }
                }
                peers.sort_by_key(|peer| peer.address);
                let report = status::StatusReport {
                    node: self.settings.node.clone(),
                    asn: self.routing.local_as().0,
                    router_id: self.settings.router_id.to_string(),
                    peers,
                };
                serde_json::to_string(&report)
                    .unwrap_or_else(|error| json!({"error": error.to_string()}).to_string())
            }
            other => json!({"error": format!("unknown command '{other}'")}).to_string(),
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// A per-peer seed for the RFC 4271 §10 jitter, so that peers started
/// together do not retry in step.
fn jitter_seed(address: SocketAddr) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write(address.to_string().as_bytes());
    hasher.finish()
}
