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
    runtime.block_on(Manager::new(settings, store).run())
}

struct RunningPeer {
    desired: DesiredPeer,
    handle: PeerHandle,
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
}

impl Manager {
    fn new(settings: Settings, store: Arc<dyn PeerStore>) -> Self {
        Manager {
            settings,
            store,
            store_seen: None,
            store_failures: 0,
            retry_at: None,
            peers: HashMap::new(),
            listeners: Vec::new(),
        }
    }

    async fn run(mut self) -> Result<()> {
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
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = terminate.recv() => break,
                Some(connection) = accepted.recv() => self.accept(connection).await,
                Some(request) = control.recv() => {
                    let answer = self.control(&request.command).await;
                    let _ = request.reply.send(answer);
                }
                _ = tick.tick() => self.reconcile().await,
            }
        }
        info!("shutting down");
        for (_, peer) in self.peers.drain() {
            peer.handle
                .shut_down(Some("nodebgp is shutting down".into()))
                .await;
        }
        let _ = std::fs::remove_file(&self.settings.control_socket);
        Ok(())
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
            tokio::task::spawn_blocking(move || sources::desired_peers(store.as_ref(), &node))
                .await;
        let desired = match read.map_err(anyhow::Error::from).and_then(|result| result) {
            Ok(desired) => desired,
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
        // v1 bgpPeer resources carry no password; the listeners get none.
        self.install_password(peer.address.ip(), None);
        let handle = spawn_peer(self.peer_config(&peer));
        handle.start().await;
        self.peers.insert(
            peer.address.ip(),
            RunningPeer {
                desired: peer,
                handle,
            },
        );
    }

    /// Ends a session with Cease / Peer De-configured.
    async fn stop_peer(&mut self, address: IpAddr) {
        if let Some(running) = self.peers.remove(&address) {
            info!(peer = %address, "peer removed; ending its session");
            self.install_password(address, None);
            running.handle.deconfigure().await;
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
        let mut session = Config::new(settings.local_as, peer.asn, settings.router_id);
        session.hold_time = settings.hold_time;
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
                local_address: settings.source_address(peer.address.ip()),
                md5_password: None,
                ttl_security: false,
                ttl: None,
            },
            connect_timeout: Duration::from_secs(5),
            advertise: settings.advertise.clone(),
        }
    }

    async fn control(&self, command: &str) -> String {
        match command {
            "status" => {
                let mut peers = Vec::with_capacity(self.peers.len());
                for running in self.peers.values() {
                    if let Some(status) = running.handle.status().await {
                        peers.push(status::PeerReport::new(&status));
                    }
                }
                peers.sort_by_key(|peer| peer.address);
                let report = status::StatusReport {
                    node: self.settings.node.clone(),
                    asn: self.settings.local_as.0,
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

/// A per-peer seed for the RFC 4271 §10 jitter, so that peers started
/// together do not retry in step.
fn jitter_seed(address: SocketAddr) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write(address.to_string().as_bytes());
    hasher.finish()
}
