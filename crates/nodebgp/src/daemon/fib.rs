//! The task that owns the kernel routing table's netlink connection: it
//! installs the RIB's selected routes with nodebgp's own protocol number, and
//! after a restart keeps the routes the previous run left (graceful restart:
//! the forwarding plane sees no gap) until the peers have resent their tables.
//!
//! It also routes each peer with a `reachableBy` gateway through it (a host
//! route, as confd's static route does for BIRD), and carries the node's pod
//! networks: a blackhole route for each IPAM
//! block of the node (which wins over a learned route for the same prefix,
//! as calico-node's static route wins over BGP), and the kernel-programming
//! rules of the IP pools ([`KernelPolicy`]: through `tunl0` for IPIP pools,
//! not at all for VXLAN ones), applied to every learned route.
//!
//! It runs on a thread of its own (see [`start`]): the kernel's work for a
//! route happens in the thread that sends it, and there it overlaps with
//! the manager's. Its contract with the manager: at most
//! [`BATCHES_IN_FLIGHT`] batches of changes queued, the manager woken after
//! each is applied, and nothing on the thread ever waits for the manager.

mod table;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bgp_rib::FibChange;
use hashbrown::{HashMap, HashSet};
use ipnet::IpNet;
use kernel_fib::{Fib, FibConfig, FibRoute, Ownership};
use peer_manager::pod_networks::{KernelPolicy, KernelRoute};
use tokio::sync::{mpsc, oneshot, Notify};
use tracing::{info, warn};

use table::Table;

/// Requests to the FIB task.
#[derive(Debug)]
pub(crate) enum FibCommand {
    /// Selected routes changed.
    Changes(Vec<FibChange>),
    /// Every peer has resent its table: routes left by the previous run
    /// that nothing re-learned are removed.
    Synchronised,
    /// The RIB was replaced (the node's AS changed): no route is learned
    /// any more; what the kernel holds of them goes unless the new RIB
    /// selects it again.
    ForgetLearned,
    /// The host routes to peers through their `reachableBy` gateways
    /// changed: peer address → gateway.
    PeerRoutes(BTreeMap<IpAddr, IpAddr>),
    /// The node's blocks to blackhole and the pools' kernel rules changed.
    PodNetworks {
        blackholes: Vec<IpNet>,
        kernel: KernelPolicy,
    },
    /// The daemon stops; `remove` takes every nodebgp route out (a stop
    /// without graceful restart).
    Stop {
        remove: bool,
        done: oneshot::Sender<()>,
    },
}

/// Batches of route changes handed to the FIB task and not yet applied, at
/// most. Past that the changes wait in the RIB, one per prefix however often
/// it changed (see [`FibHandle::has_room`]): while the kernel lags, what is
/// queued for it stays bounded by the table, not by how much changed.
const BATCHES_IN_FLIGHT: usize = 2;

/// The FIB task's handle.
#[derive(Debug)]
pub(crate) struct FibHandle {
    /// Every command but [`FibCommand::Changes`], which goes through
    /// [`FibHandle::send_changes`]: these are few and small.
    pub(crate) commands: mpsc::UnboundedSender<FibCommand>,
    /// Whether the previous run left routes: nodebgp restarted.
    pub(crate) restarted: bool,
    /// Change batches sent and not yet applied, shared with the task.
    backlog: Arc<Backlog>,
}

impl FibHandle {
    /// Whether the task takes another batch of changes now (a task that is
    /// gone takes nothing, and must not hold the manager's changes back).
    pub(crate) fn has_room(&self) -> bool {
        self.backlog.has_room() || self.commands.is_closed()
    }

    /// Hands the task a batch of changes (the caller checked
    /// [`FibHandle::has_room`], or must flush before a command that has to
    /// follow them).
    pub(crate) fn send_changes(&self, changes: Vec<FibChange>) {
        if changes.is_empty() {
            return;
        }
        self.backlog.sent();
        if self.commands.send(FibCommand::Changes(changes)).is_err() {
            // The task is gone: nothing is in flight.
            self.backlog.applied();
        }
    }

    /// What wakes the manager when the task has room again.
    pub(crate) fn applied(&self) -> Arc<Notify> {
        Arc::clone(&self.backlog.applied)
    }
}

/// The count of change batches between the manager and the FIB task.
#[derive(Debug, Default)]
struct Backlog {
    in_flight: AtomicUsize,
    /// Woken each time the task has applied a batch (shared with the
    /// manager's loop, which waits on it).
    applied: Arc<Notify>,
}

impl Backlog {
    fn has_room(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) < BATCHES_IN_FLIGHT
    }

    fn sent(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    fn applied(&self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.applied.notify_one();
    }
}

/// Prefixes' changes worth a batch of their own while a table arrives:
/// enough that the hand-over costs little per route, few enough that the
/// task starts on them while the RIB takes in the rest of the table.
pub(crate) const BATCH_PREFIXES: usize = 1024;

/// Prefixes whose kernel changes may wait in the RIB, at most, before the
/// manager stops taking in peers' UPDATEs until the FIB task has caught up
/// (their TCP connections wait meanwhile). The kernel takes a route in a few
/// microseconds, the RIB in a fraction of one: without a bound a full table's
/// changes would wait, a hundred octets each.
pub(crate) const WAITING_AT_MOST: usize = 2 * BATCH_PREFIXES;

/// Opens the kernel table; `None` (with a warning) where nodebgp may not
/// change it, so that an unprivileged daemon still routes BGP.
///
/// The task runs on a thread of its own, with its own runtime and netlink
/// sockets: the kernel's share of each route (the FIB insert, in the
/// sending thread's system time) then runs on the second core while the
/// manager takes the next UPDATEs in. Nothing on that thread waits for the
/// manager: commands come over an unbounded channel, and the manager is
/// woken through [`FibHandle::applied`].
pub(crate) async fn start(
    table: u32,
    namespace: Option<&str>,
    next_hop_objects: bool,
) -> Option<FibHandle> {
    let (commands, inbox) = mpsc::unbounded_channel();
    let backlog = Arc::new(Backlog::default());
    let (opened, ready) = oneshot::channel();
    let namespace = namespace.map(str::to_owned);
    let task_backlog = Arc::clone(&backlog);
    let thread = std::thread::Builder::new()
        .name("nodebgp-fib".to_owned())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    warn!(%error, "cannot start the kernel routes' thread; routes are not installed");
                    return;
                }
            };
            runtime.block_on(async move {
                let opened_task = open(table, namespace.as_deref(), next_hop_objects, task_backlog);
                let Some(task) = opened_task.await else {
                    let _ = opened.send(None);
                    return;
                };
                let _ = opened.send(Some(!task.synchronised));
                task.run(inbox).await;
            });
        });
    if let Err(error) = thread {
        warn!(%error, "cannot start the kernel routes' thread; routes are not installed");
        return None;
    }
    // `None`, or the thread gone without a word: no FIB, as warned there.
    let restarted = ready.await.ok().flatten()?;
    Some(FibHandle {
        commands,
        restarted,
        backlog,
    })
}

/// Opens the netlink sockets (on the calling thread's runtime) and reads
/// what the previous run left in the table.
async fn open(
    table: u32,
    namespace: Option<&str>,
    next_hop_objects: bool,
    backlog: Arc<Backlog>,
) -> Option<FibTask> {
    // The task's table records what is installed; a second record in the
    // Fib would be 12 MiB more for a full table.
    let config = FibConfig {
        table,
        ownership: Ownership::Caller,
        next_hop_objects,
        ..FibConfig::default()
    };
    let opened = match namespace {
        Some(name) => {
            Fib::open_in_namespace(config, &std::path::Path::new("/run/netns").join(name)).await
        }
        None => Fib::open(config).await,
    };
    let fib = match opened {
        Ok(fib) => fib,
        Err(error) => {
            warn!(%error, "cannot open the kernel routing table; routes are not installed");
            return None;
        }
    };
    if let Err(error) = fib.check_permission().await {
        warn!(%error, "no permission to change kernel routes (CAP_NET_ADMIN); routes are not installed");
        return None;
    }
    // The previous run's routes go straight into the table, one at a time:
    // a list of a full table first would double the memory at start.
    let mut table = Table::default();
    let mut leftovers = 0_usize;
    let listed = fib
        .for_each_installed(|route| {
            table.set_installed(&route);
            leftovers += 1;
        })
        .await;
    if let Err(error) = listed {
        warn!(%error, "cannot read the kernel routing table; routes are not installed");
        return None;
    }
    let restarted = leftovers > 0;
    if restarted {
        info!(
            routes = leftovers,
            "kernel routes of the previous run kept until the peers resend their tables"
        );
    }
    Some(FibTask {
        fib,
        table,
        backlog,
        blackholes: BTreeSet::new(),
        peer_routes: BTreeMap::new(),
        kernel: KernelPolicy::default(),
        failed: HashMap::new(),
        synchronised: !restarted,
    })
}

/// Changes of a batch applied together (see [`FibTask::apply`]).
const APPLIED_AT_ONCE: usize = 64;

/// How often routes the kernel refused are tried again (a gateway that was
/// not reachable may be now).
const RETRY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

struct FibTask {
    fib: Fib,
    /// The next hops the RIB selected, and what the kernel holds with our
    /// protocol number, by prefix.
    table: Table,
    /// The handle's count of change batches in flight, counted down here.
    backlog: Arc<Backlog>,
    /// The node's IPAM blocks: blackholed.
    blackholes: BTreeSet<IpNet>,
    /// Host routes to peers through their `reachableBy` gateways.
    peer_routes: BTreeMap<IpNet, IpAddr>,
    /// How learned routes go into the kernel.
    kernel: KernelPolicy,
    /// Routes the kernel refused, as they should be: tried again every
    /// [`RETRY_INTERVAL`] until they go in or what is wanted changes.
    failed: HashMap<IpNet, FibRoute>,
    /// Whether the peers have resent their tables since a restart (or
    /// there was none): until then the previous run's routes no one
    /// announced yet stay.
    synchronised: bool,
}

impl FibTask {
    async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<FibCommand>) {
        let mut retry = tokio::time::interval(RETRY_INTERVAL);
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let command = tokio::select! {
                command = inbox.recv() => match command {
                    Some(command) => command,
                    None => return,
                },
                _ = retry.tick(), if !self.failed.is_empty() => {
                    self.retry().await;
                    continue;
                }
            };
            match command {
                FibCommand::Changes(changes) => {
                    self.apply(changes).await;
                    self.backlog.applied();
                }
                FibCommand::Synchronised => self.synchronise().await,
                FibCommand::ForgetLearned => self.forget_learned().await,
                FibCommand::PeerRoutes(routes) => self.peer_routes(routes).await,
                FibCommand::PodNetworks { blackholes, kernel } => {
                    self.pod_networks(blackholes, kernel).await;
                }
                FibCommand::Stop { remove, done } => {
                    if remove {
                        match self.fib.remove_all().await {
                            Ok(count) => info!(routes = count, "kernel routes removed"),
                            Err(error) => warn!(%error, "cannot remove kernel routes"),
                        }
                    } else {
                        info!(
                            routes = self.table.installed_count(),
                            "kernel routes kept for the restart"
                        );
                    }
                    let _ = done.send(());
                    return;
                }
            }
        }
    }

    async fn apply(&mut self, changes: Vec<FibChange>) {
        // A part at a time: each prefix's entry is looked at three times
        // (learned, wanted, installed), and a part's entries are still in
        // the cache the second and third time; a batch of a whole table's
        // are not.
        for part in changes.chunks(APPLIED_AT_ONCE) {
            let mut prefixes = Vec::with_capacity(part.len());
            for change in part {
                self.table.set_learned(change.prefix, &change.next_hops);
                prefixes.push(change.prefix);
            }
            let routes = self.changes_for(prefixes);
            self.install(routes).await;
        }
    }

    async fn pod_networks(&mut self, blackholes: Vec<IpNet>, kernel: KernelPolicy) {
        let blackholes: BTreeSet<IpNet> = blackholes.into_iter().collect();
        let mut prefixes: BTreeSet<IpNet> = self
            .blackholes
            .symmetric_difference(&blackholes)
            .copied()
            .collect();
        if kernel != self.kernel {
            // New pool rules may change any learned route.
            prefixes.extend(self.table.learned_prefixes());
            self.kernel = kernel;
        }
        self.blackholes = blackholes;
        let routes = self.changes_for(prefixes);
        self.install(routes).await;
    }

    async fn peer_routes(&mut self, routes: BTreeMap<IpAddr, IpAddr>) {
        let routes: BTreeMap<IpNet, IpAddr> = routes
            .into_iter()
            .map(|(peer, gateway)| (IpNet::from(peer), gateway))
            .collect();
        let mut prefixes: BTreeSet<IpNet> = self.peer_routes.keys().copied().collect();
        prefixes.extend(routes.keys().copied());
        self.peer_routes = routes;
        let routes = self.changes_for(prefixes);
        self.install(routes).await;
    }

    /// The route `prefix` should have in the kernel, if any: the block's
    /// blackhole, else a peer's host route through its gateway, else the
    /// learned route as the pools' rules want it (BIRD's static routes,
    /// preference 200, win over BGP's 100 the same way).
    fn wanted(&self, prefix: IpNet) -> Option<FibRoute> {
        if self.blackholes.contains(&prefix) {
            return Some(FibRoute::blackhole(prefix));
        }
        if let Some(gateway) = self.peer_routes.get(&prefix) {
            return Some(FibRoute::new(prefix, [*gateway]));
        }
        let next_hops = self.table.learned(prefix)?;
        match self.kernel.route(prefix, next_hops) {
            KernelRoute::Skipped => None,
            KernelRoute::Direct => Some(FibRoute::new(prefix, next_hops.iter().copied())),
            KernelRoute::Through(device) => Some(FibRoute::through_device(
                prefix,
                next_hops.iter().copied(),
                device,
            )),
        }
    }

    /// What to hand the kernel so that `prefixes` are as wanted.
    fn changes_for(&mut self, prefixes: impl IntoIterator<Item = IpNet>) -> Vec<FibRoute> {
        let mut routes = Vec::new();
        for prefix in prefixes {
            // A newer wish replaces a failed one.
            let failed = self.failed.remove(&prefix).is_some();
            match self.wanted(prefix) {
                // The previous run's route, unchanged: no gap, no work.
                Some(route)
                    if self
                        .table
                        .installed(prefix)
                        .is_some_and(|installed| installed.is(&route)) => {}
                Some(route) => routes.push(route),
                // Before synchronisation, a withdrawn route the previous
                // run installed goes too: the peer has said so.
                None if self.table.installed(prefix).is_some() || failed => {
                    routes.push(FibRoute::removal(prefix));
                }
                None => {}
            }
        }
        routes
    }

    /// Hands routes to the kernel; what it takes is recorded as installed,
    /// what it refuses is kept for [`FibTask::retry`].
    async fn install(&mut self, routes: Vec<FibRoute>) {
        if routes.is_empty() {
            return;
        }
        let table = &self.table;
        let holds_ours = |prefix: &IpNet| table.installed(*prefix).is_some();
        let refused: HashSet<IpNet> = match self.fib.apply_all_known(&routes, &holds_ours).await {
            Ok(summary) => {
                if summary.failed > 0 {
                    warn!(
                        failed = summary.failed,
                        applied = summary.applied,
                        first = ?summary.errors.first(),
                        "some kernel routes could not be installed; retried every {} s",
                        RETRY_INTERVAL.as_secs()
                    );
                }
                summary.errors.iter().map(|(prefix, _)| *prefix).collect()
            }
            Err(error) => {
                warn!(%error, "cannot update kernel routes; retried every {} s", RETRY_INTERVAL.as_secs());
                routes.iter().map(|route| route.prefix).collect()
            }
        };
        for route in routes {
            if refused.contains(&route.prefix) {
                self.failed.insert(route.prefix, route);
            } else if route.is_removal() {
                self.table.remove_installed(route.prefix);
            } else {
                self.table.set_installed(&route);
            }
        }
    }

    async fn forget_learned(&mut self) {
        let prefixes: Vec<IpNet> = self.table.learned_prefixes().collect();
        for prefix in &prefixes {
            self.table.set_learned(*prefix, &[]);
        }
        let routes = self.changes_for(prefixes);
        self.install(routes).await;
    }

    async fn retry(&mut self) {
        let routes: Vec<FibRoute> = self.failed.drain().map(|(_, route)| route).collect();
        self.install(routes).await;
    }

    async fn synchronise(&mut self) {
        if self.synchronised {
            return;
        }
        self.synchronised = true;
        // Stale: what the previous run installed and this one does not want
        // (no peer announced it, it is no block's and no peer's route).
        // Whatever this run wants is in the kernel already or failed and
        // is retried.
        let stale: Vec<FibRoute> = self
            .table
            .installed_prefixes()
            .filter(|prefix| self.wanted(*prefix).is_none())
            .map(FibRoute::removal)
            .collect();
        for route in &stale {
            self.table.remove_installed(route.prefix);
        }
        info!(
            removed = stale.len(),
            "peers resent their tables; stale kernel routes of the previous run removed"
        );
        if let Err(error) = self.fib.apply_all(&stale).await {
            warn!(%error, "cannot remove stale kernel routes");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn past_the_batches_in_flight_changes_wait_until_the_task_applies_one() {
        let (commands, mut inbox) = mpsc::unbounded_channel();
        let handle = FibHandle {
            commands,
            restarted: false,
            backlog: Arc::new(Backlog::default()),
        };
        let batch = || {
            vec![FibChange {
                prefix: "10.0.0.0/24".parse().unwrap(),
                next_hops: ["192.0.2.1".parse().unwrap()].into_iter().collect(),
            }]
        };
        assert!(handle.has_room());
        handle.send_changes(Vec::new());
        assert!(handle.has_room(), "nothing to send is no batch");
        for _ in 0..BATCHES_IN_FLIGHT {
            handle.send_changes(batch());
        }
        assert!(!handle.has_room());
        // The task's side: one batch taken and applied.
        let applied = handle.applied();
        assert!(matches!(inbox.recv().await, Some(FibCommand::Changes(_))));
        handle.backlog.applied();
        applied.notified().await;
        assert!(handle.has_room());
        drop(inbox);
        handle.send_changes(batch());
        assert!(
            handle.has_room(),
            "a batch the task can no longer take is not in flight"
        );
    }
}
