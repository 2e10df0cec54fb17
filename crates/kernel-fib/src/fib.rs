//! The netlink side: the sockets a [`Fib`] owns (an rtnetlink connection,
//! the dump socket of [`reader`], the write socket of [`writer`]) and the
//! requests nodebgp makes on them.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use ipnet::IpNet;
use tracing::debug;

use crate::encode::NextHopObject;
use crate::error::{errno, errno_of};
use crate::kernel_abi::{AF_INET, AF_INET6};
use crate::link;
use crate::message::{self, KernelRoute};
use crate::route::ApplySummary;
use crate::{FibError, FibRoute};

mod ledger;
mod next_hops;
mod pipeline;
mod reader;
mod writer;

pub use ledger::Ownership;
use ledger::{HoldsOurs, Ledger};
use reader::{DumpError, RouteReader};
use writer::RouteWriter;

/// Interface indexes by name, looked up once per [`Fib::apply_all`] batch
/// (a batch of Calico routes names `tunl0` hundreds of times) and forgotten
/// after it, so a device made again with a new index is found again.
type DeviceIndexes = HashMap<String, u32>;

/// The protocol number nodebgp marks its kernel routes with (`proto 244`).
///
/// The kernel does not interpret the number; it only stores it, filters on
/// it and hands it back. Having a number of its own is what lets nodebgp
/// find, replace and remove exactly its own routes and nothing else. Taken
/// already: 0 to 4 (the kernel's and the administrator's, `static`), 12
/// (`bird`, so Calico's BIRD), 186 to 197 (FRR's daemons in its
/// `rt_protos.d/frr.conf`: 186 `bgp` for zebra's BGP routes, 196 FRR's
/// `static`). 244 is in none of iproute2's or FRR's tables, so a node
/// migrating from BIRD, or running FRR beside nodebgp, never has one daemon
/// flush or overwrite the other's routes. `ip route show proto 244` lists
/// them; `echo '244 nodebgp' > /etc/iproute2/rt_protos.d/nodebgp.conf` names them.
pub const DEFAULT_PROTOCOL: u8 = 244;

/// The rtnetlink connection, the dump socket and the write socket, all
/// opened now.
struct Sockets {
    connection: rtnetlink::proto::Connection<rtnetlink::packet_route::RouteNetlinkMessage>,
    handle: rtnetlink::Handle,
    reader: RouteReader,
    writer: RouteWriter,
}

/// A netlink route connection and a write socket in the calling thread's
/// network namespace (the write socket registers with the current runtime).
fn connect() -> Result<Sockets, FibError> {
    let (connection, handle, _) = match rtnetlink::new_connection_with_strict_check() {
        Ok(connection) => connection,
        // Kernels before 4.20 lack NETLINK_GET_STRICT_CHK: dump everything, filter here.
        Err(error) => {
            debug!(%error, "no strict netlink checking; filtering dumps in user space");
            rtnetlink::new_connection().map_err(FibError::Connect)?
        }
    };
    let reader = RouteReader::open().map_err(FibError::Connect)?;
    let writer = RouteWriter::open().map_err(FibError::Connect)?;
    Ok(Sockets {
        connection,
        handle,
        reader,
        writer,
    })
}

/// The table routes go into by default: `main` (254).
pub const DEFAULT_TABLE: u32 = 254;

/// The metric (`RTA_PRIORITY`) routes get by default.
///
/// Not 0: the metric is part of a kernel route's identity, so an
/// administrator's static route of the same prefix (metric 0 by default)
/// neither collides with ours nor loses to it. 20 is what FRR gives BGP
/// routes (eBGP's administrative distance).
pub const DEFAULT_METRIC: u32 = 20;

/// Where and how nodebgp's routes go in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FibConfig {
    /// The routing table (`main` is 254); any table but 0.
    pub table: u32,
    /// The protocol number marking our routes; above 4 (0 to 4 are the
    /// kernel's and the administrator's). See [`DEFAULT_PROTOCOL`].
    pub protocol: u8,
    /// The metric of our routes; `None` leaves it to the kernel (0 for IPv4,
    /// 1024 for IPv6). See [`DEFAULT_METRIC`].
    pub metric: Option<u32>,
    /// Who keeps the record of which prefixes hold our route.
    pub ownership: Ownership,
    /// Routes of one gateway go through shared next-hop objects where the
    /// kernel has them (Linux 5.3; see `fib/next_hops.rs`): a third less of
    /// the kernel's work a route. On by default.
    pub next_hop_objects: bool,
}

impl Default for FibConfig {
    fn default() -> Self {
        Self {
            table: DEFAULT_TABLE,
            protocol: DEFAULT_PROTOCOL,
            metric: Some(DEFAULT_METRIC),
            ownership: Ownership::Recorded,
            next_hop_objects: true,
        }
    }
}

impl FibConfig {
    fn validate(&self) -> Result<(), FibError> {
        if self.table == 0 {
            return Err(FibError::InvalidConfig {
                reason: "table 0 is RT_TABLE_UNSPEC, not a routing table",
            });
        }
        if self.protocol <= 4 {
            return Err(FibError::InvalidConfig {
                reason: "protocols 0 to 4 (unspec, redirect, kernel, boot, static) are not a routing daemon's",
            });
        }
        Ok(())
    }

    fn owns(&self, route: &KernelRoute) -> bool {
        route.table == self.table && route.protocol == self.protocol
    }

    /// Whether a route of ours sits at the metric we install with.
    fn at_our_metric(&self, route: &KernelRoute) -> bool {
        match self.metric {
            Some(metric) => route.metric.unwrap_or(0) == metric,
            None => true,
        }
    }
}

/// nodebgp's handle on one kernel routing table.
///
/// Owns a netlink route socket whose connection task runs on the tokio
/// runtime that called [`Fib::open`] (a current-thread runtime works); the
/// task ends when the `Fib` is dropped. The socket belongs to the network
/// namespace of the thread that opened it.
#[derive(Debug)]
pub struct Fib {
    config: FibConfig,
    handle: rtnetlink::Handle,
    connection: tokio::task::JoinHandle<()>,
    /// Where our routes are listed from, a datagram at a time ([`reader`]);
    /// behind a lock because listing takes `&self` and awaits.
    reader: tokio::sync::Mutex<RouteReader>,
    /// Where routes are written, in batches ([`writer`]).
    writer: RouteWriter,
    /// What tells the prefixes known to hold our route at our metric
    /// (installed through this `Fib` or read by [`Fib::installed`]) from the
    /// rest ([`Ownership`]). Those are replaced in place (NLM_F_REPLACE); any
    /// other prefix is added with NLM_F_EXCL first, because the kernel's
    /// replace takes the first route of the same prefix and metric whatever
    /// its protocol, and would overwrite another daemon's or the
    /// administrator's route. (Left open: someone deleting our route behind
    /// our back and adding theirs at our metric before our next replace.)
    ledger: Mutex<Ledger>,
    /// The next-hop objects routes go through ([`next_hops`]).
    next_hops: next_hops::NextHopObjects,
}

impl Drop for Fib {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

impl Fib {
    /// Opens a netlink route socket (with `NETLINK_GET_STRICT_CHK`, so dumps
    /// are filtered by table and protocol in the kernel) and spawns its
    /// connection task on the current tokio runtime.
    ///
    /// Needs no privilege: without CAP_NET_ADMIN, reads work and writes fail
    /// with [`FibError::PermissionDenied`]; [`Fib::check_permission`] tells
    /// in advance.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub async fn open(config: FibConfig) -> Result<Fib, FibError> {
        config.validate()?;
        Ok(Fib::with_sockets(config, connect()?))
    }

    /// Opens a connection to the routing tables of another network
    /// namespace (`/run/netns/NAME`, as `ip netns add` makes): the netlink
    /// socket is made by a short-lived thread that entered the namespace
    /// with setns(2), and a socket stays in the namespace it was made in,
    /// so the daemon itself, its sessions included, stays where it is.
    pub async fn open_in_namespace(
        config: FibConfig,
        namespace: &std::path::Path,
    ) -> Result<Fib, FibError> {
        config.validate()?;
        let namespace = namespace.to_owned();
        // The socket registers with the caller's reactor as it is made.
        let runtime = tokio::runtime::Handle::current();
        let made = std::thread::spawn(move || {
            let _context = runtime.enter();
            let file = std::fs::File::open(&namespace).map_err(FibError::Connect)?;
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|error| FibError::Connect(std::io::Error::from(error)))?;
            connect()
        })
        .join()
        .map_err(|_| FibError::Connect(std::io::Error::other("the namespace thread panicked")))?;
        Ok(Fib::with_sockets(config, made?))
    }

    fn with_sockets(config: FibConfig, sockets: Sockets) -> Fib {
        let Sockets {
            connection,
            handle,
            reader,
            writer,
        } = sockets;
        let connection = tokio::spawn(connection);
        debug!(
            table = config.table,
            protocol = config.protocol,
            "netlink route socket open"
        );
        Fib {
            ledger: Mutex::new(Ledger::new(config.ownership)),
            next_hops: next_hops::NextHopObjects::new(config.next_hop_objects, config.protocol),
            config,
            handle,
            connection,
            reader: tokio::sync::Mutex::new(reader),
            writer,
        }
    }

    /// The networks the namespace's interfaces connect, as `(interface name,
    /// network)`, sorted: every address with its prefix length (for a
    /// point-to-point link, the far end's). What an outgoing interface is
    /// found from: a next hop within one leaves by that interface. Needs no
    /// privilege.
    pub async fn connected_networks(&self) -> Result<Vec<(String, IpNet)>, FibError> {
        crate::link::connected_networks(&self.handle)
            .await
            .map_err(|error| FibError::from_netlink(error, None))
    }

    /// The configuration this `Fib` was opened with.
    #[must_use]
    pub fn config(&self) -> &FibConfig {
        &self.config
    }

    /// Whether we may change routes, by a write that changes nothing: an
    /// `RTM_DELROUTE` for the unspecified address family, which the kernel
    /// refuses with EPERM without CAP_NET_ADMIN in the socket's network
    /// namespace and with EOPNOTSUPP otherwise. For "on by default where we
    /// have the privilege".
    pub async fn check_permission(&self) -> Result<(), FibError> {
        let probe = message::permission_probe(&self.config);
        match self.handle.route().del(probe).execute().await {
            Ok(()) => Ok(()),
            Err(error) => match errno_of(&error) {
                Some(errno::EPERM | errno::EACCES) => Err(FibError::PermissionDenied),
                Some(errno::EOPNOTSUPP) => Ok(()),
                Some(other) => {
                    debug!(
                        errno = other,
                        "unexpected answer to the permission probe, past the capability check"
                    );
                    Ok(())
                }
                None => Err(FibError::from_netlink(error, None)),
            },
        }
    }

    /// Routes already in our table with our protocol, IPv4 then IPv6, each
    /// sorted by prefix: those of a previous run, kept by graceful restart.
    ///
    /// Routes of another protocol, or in another table, are never listed;
    /// neither are ours of a type nodebgp does not install (prohibit, throw,
    /// ...), which [`Fib::remove_all`] removes all the same. A prefix can
    /// appear twice when ours sit at two metrics (after the configured
    /// metric changed). Blackhole and unreachable routes come with their
    /// [`RouteKind`](crate::RouteKind); a route whose next hops are all on-link through one
    /// interface comes with that interface's name as its
    /// [`device`](FibRoute::device) (one `RTM_GETLINK` per distinct
    /// interface), so that [`diff`](crate::diff) finds a route installed
    /// through a device unchanged. Also makes later [`Fib::apply`] calls
    /// replace these routes in place.
    pub async fn installed(&self) -> Result<Vec<FibRoute>, FibError> {
        let mut listed = Vec::new();
        self.for_each_installed(|route| listed.push(route)).await?;
        // Stable: a prefix at two metrics keeps the kernel's order of them.
        listed.sort_by_key(|route| (route.prefix.addr().is_ipv6(), route.prefix));
        Ok(listed)
    }

    /// [`Fib::installed`] one route at a time as the kernel lists them,
    /// without a list: after a restart with a full table that list would be
    /// a second copy of the table at the daemon's busiest moment. The
    /// entries of one multipath route that older kernels list one next hop
    /// at a time (IPv6) come one after the other and are merged. On an
    /// error `visit` has seen some of the routes, not all.
    pub async fn for_each_installed(
        &self,
        mut visit: impl FnMut(FibRoute),
    ) -> Result<(), FibError> {
        let mut names: HashMap<u32, Option<String>> = HashMap::new();
        let mut coalescing = Coalescing::default();
        // For routes listed with only their object (`nexthop_compat_mode`
        // 0): what the objects of ours hold. A kernel without objects, or
        // one that will not list them, has no such routes either.
        let objects: HashMap<u32, NextHopObject> =
            match self.reader.lock().await.next_hop_objects().await {
                Ok(listed) => listed
                    .into_iter()
                    .filter(|(_, protocol, _)| *protocol == self.config.protocol)
                    .filter_map(|(id, _, object)| Some((id, object?)))
                    .collect(),
                Err(_) => HashMap::new(),
            };
        let mut listing = self.listing().await;
        while let Some(routes) = listing.next().await? {
            for mut kernel in routes.drain(..) {
                kernel.through(&objects);
                self.ledger
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .listed(kernel.prefix, self.config.at_our_metric(&kernel));
                if let Some(done) = coalescing.push(kernel) {
                    self.list(done, &mut names, &mut visit).await?;
                }
            }
        }
        if let Some(done) = coalescing.finish() {
            self.list(done, &mut names, &mut visit).await?;
        }
        Ok(())
    }

    /// Hands `kernel` to `visit` as a [`FibRoute`], with the name of the
    /// interface it goes through (looked up once per interface); a kind
    /// nodebgp does not install is not listed.
    async fn list(
        &self,
        kernel: KernelRoute,
        names: &mut HashMap<u32, Option<String>>,
        visit: &mut impl FnMut(FibRoute),
    ) -> Result<(), FibError> {
        if kernel.kind.is_none() {
            debug!(prefix = %kernel.prefix, "not listing our route of a type nodebgp does not install");
            return Ok(());
        }
        let device = match kernel.output_interface {
            None => None,
            Some(index) => {
                let name = match names.get(&index) {
                    Some(name) => name.clone(),
                    None => {
                        let name = link::name_of(&self.handle, index)
                            .await
                            .map_err(|error| FibError::from_netlink(error, None))?;
                        names.insert(index, name.clone());
                        name
                    }
                };
                match name {
                    Some(name) => Some(name),
                    // The interface went away since the dump, and the
                    // kernel removed its routes with it.
                    None => return Ok(()),
                }
            }
        };
        if let Some(route) = kernel.into_fib_route(device) {
            visit(route);
        }
        Ok(())
    }

    /// Installs or replaces one route; a removal ([`FibRoute::is_removal`])
    /// removes our route for that prefix, whatever its kind (and is not an
    /// error if there is none).
    ///
    /// A prefix this `Fib` knows as ours is replaced atomically
    /// (NLM_F_REPLACE), also from one [`RouteKind`](crate::RouteKind) to another. Any other is
    /// added with NLM_F_EXCL; if a route already holds the prefix at our
    /// metric, it is replaced only if it is ours (from a previous run), else
    /// [`FibError::ForeignRoute`]: a blackhole never covers someone else's route.
    ///
    /// A route with a [`device`](FibRoute::device) first looks the
    /// interface up on this `Fib`'s socket, so in its network namespace.
    ///
    /// Errors: [`FibError::NextHopUnreachable`] when a gateway is on no
    /// connected network, [`FibError::DeviceNotFound`],
    /// [`FibError::DeviceDown`], [`FibError::PermissionDenied`],
    /// [`FibError::InvalidRoute`].
    pub async fn apply(&mut self, route: &FibRoute) -> Result<(), FibError> {
        let mut summary = ApplySummary::default();
        self.apply_batch(std::slice::from_ref(route), None, &mut summary)
            .await?;
        match summary.errors.pop() {
            Some((_, error)) => Err(error),
            None => Ok(()),
        }
    }

    /// The index of `device` in our socket's namespace, from `devices` or
    /// else from the kernel (and then kept in `devices`).
    async fn device_index(
        &self,
        device: &str,
        route: &FibRoute,
        devices: &mut DeviceIndexes,
    ) -> Result<u32, FibError> {
        if let Some(index) = devices.get(device) {
            return Ok(*index);
        }
        match link::index_of(&self.handle, device).await {
            Ok(Some(index)) => {
                devices.insert(device.to_owned(), index);
                Ok(index)
            }
            Ok(None) => Err(FibError::DeviceNotFound {
                device: device.to_owned(),
                prefix: route.prefix,
            }),
            Err(error) => Err(FibError::from_netlink(error, Some(route.prefix))),
        }
    }

    /// Applies every route, in order, going on past routes that fail (each is
    /// in [`ApplySummary::errors`]). Stops with an error only when no later
    /// route could succeed either: permission denied or the connection gone.
    ///
    /// The requests are pipelined (up to 64 sent before the first answer is
    /// awaited, see `pipeline.rs`); two for one prefix are never in flight
    /// together, so the table ends as if they had gone one at a time.
    pub async fn apply_all(&mut self, routes: &[FibRoute]) -> Result<ApplySummary, FibError> {
        self.apply_all_with(routes, None).await
    }

    /// [`Fib::apply_all`] for a caller that keeps its own table of what it
    /// installed ([`Ownership::Caller`]): `holds_ours` says whether a prefix
    /// holds a route of ours, installed through this `Fib` and not removed
    /// since or listed by [`Fib::for_each_installed`]; such a prefix is
    /// replaced in place (unless it was listed at another metric only), any
    /// other is added as [`Fib::apply`] says. With [`Ownership::Recorded`] a
    /// prefix is replaced if either knows it as ours.
    pub async fn apply_all_known(
        &mut self,
        routes: &[FibRoute],
        holds_ours: &(dyn Fn(&IpNet) -> bool + Sync),
    ) -> Result<ApplySummary, FibError> {
        self.apply_all_with(routes, Some(holds_ours)).await
    }

    async fn apply_all_with(
        &mut self,
        routes: &[FibRoute],
        holds_ours: Option<HoldsOurs<'_>>,
    ) -> Result<ApplySummary, FibError> {
        let mut summary = ApplySummary::default();
        self.apply_batch(routes, holds_ours, &mut summary).await?;
        summary.applied = summary.installed + summary.removed;
        summary.failed = summary.errors.len();
        Ok(summary)
    }

    /// Removes every route with our protocol in our table, IPv4 and IPv6,
    /// at any metric (daemon stop without graceful restart), and returns how
    /// many it removed. Routes of other protocols stay.
    ///
    /// Goes on past a route that fails to go and then returns the first such
    /// error; stops at once on permission denied or a lost connection.
    pub async fn remove_all(&mut self) -> Result<usize, FibError> {
        let routes = self.dump().await?;
        let mut removed = 0;
        let mut first_error = None;
        for kernel in routes {
            let prefix = kernel.prefix;
            let request = message::removal_request(&self.config, &prefix, kernel.metric);
            match self.handle.route().del(request).execute().await {
                Ok(()) => removed += 1,
                // Gone already, e.g. with its IPv6 siblings (older kernels list them apart).
                Err(error) if errno_of(&error) == Some(errno::ESRCH) => {}
                Err(error) => {
                    let error = FibError::from_netlink(error, Some(prefix));
                    if error.is_fatal() {
                        return Err(error);
                    }
                    first_error.get_or_insert(error);
                }
            }
        }
        self.ledger_mut().clear();
        debug!(removed, "removed all our routes");
        match first_error {
            Some(error) => Err(error),
            None => Ok(removed),
        }
    }

    fn ledger_mut(&mut self) -> &mut Ledger {
        self.ledger
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `prefix` may be replaced in place ([`Ledger::holds_ours`]).
    fn holds_ours(&self, prefix: &IpNet, caller: Option<HoldsOurs<'_>>) -> bool {
        self.ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .holds_ours(prefix, caller)
    }

    async fn replace(
        &self,
        request: rtnetlink::packet_route::route::RouteMessage,
        route: &FibRoute,
    ) -> Result<(), FibError> {
        self.handle
            .route()
            .add(request)
            .replace()
            .execute()
            .await
            .map_err(|error| FibError::from_route_netlink(error, route))
    }

    /// Our routes (our table, our protocol), as the kernel has them.
    async fn dump(&self) -> Result<Vec<KernelRoute>, FibError> {
        let mut all = Vec::new();
        let mut listing = self.listing().await;
        while let Some(routes) = listing.next().await? {
            all.append(routes);
        }
        Ok(all)
    }

    /// Our routes as the kernel lists them, once the dump socket is ours.
    async fn listing(&self) -> Listing<'_> {
        Listing {
            config: &self.config,
            reader: self.reader.lock().await,
            families: [AF_INET, AF_INET6].into_iter(),
            dump: None,
            routes: Vec::new(),
        }
    }
}

/// Our routes as the kernel lists them (our table, our protocol), IPv4 then
/// IPv6, a datagram's worth at a time; the dump socket is held meanwhile.
struct Listing<'a> {
    config: &'a FibConfig,
    reader: tokio::sync::MutexGuard<'a, RouteReader>,
    families: std::array::IntoIter<u8, 2>,
    /// The family's dump under way.
    dump: Option<reader::Dump>,
    routes: Vec<KernelRoute>,
}

impl Listing<'_> {
    /// The routes of ours in the next datagram (possibly none); `None` once
    /// both families are listed. A table that does not exist (yet) lists
    /// nothing.
    async fn next(&mut self) -> Result<Option<&mut Vec<KernelRoute>>, FibError> {
        loop {
            if self.dump.is_none() {
                let Some(family) = self.families.next() else {
                    return Ok(None);
                };
                let started = self.reader.start(self.config, family).await;
                self.dump = Some(started.map_err(FibError::Connect)?);
            }
            let Some(dump) = self.dump.as_mut() else {
                continue;
            };
            self.routes.clear();
            match self.reader.next(dump, &mut self.routes).await {
                Ok(true) => {
                    // Without strict checking the kernel lists every table.
                    let config = self.config;
                    self.routes.retain(|route| config.owns(route));
                    return Ok(Some(&mut self.routes));
                }
                Ok(false) | Err(DumpError::Kernel(errno::ENOENT)) => self.dump = None,
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// One route per prefix and metric out of a dump: the next hops of
/// consecutive entries of one prefix and metric (a multipath route that
/// older kernels list one next hop at a time, IPv6) are merged. The merged
/// route goes through a device only if every part went through the same one.
#[derive(Debug, Default)]
struct Coalescing {
    pending: Option<KernelRoute>,
}

impl Coalescing {
    /// Takes the dump's next entry; returns the route before it once it is
    /// complete.
    fn push(&mut self, mut route: KernelRoute) -> Option<KernelRoute> {
        let key = |route: &KernelRoute| (route.prefix, route.metric);
        match &mut self.pending {
            Some(kept) if key(kept) == key(&route) => {
                kept.next_hops.append(&mut route.next_hops);
                kept.next_hops.sort_unstable();
                kept.next_hops.dedup();
                if kept.output_interface != route.output_interface {
                    kept.output_interface = None;
                }
                None
            }
            _ => self.pending.replace(route),
        }
    }

    /// The last route, at the dump's end.
    fn finish(self) -> Option<KernelRoute> {
        self.pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The daemon drives a `Fib` from tasks of a multi-threaded runtime too.
    #[allow(dead_code)]
    fn futures_are_send(fib: &mut Fib, route: &FibRoute) {
        fn send<T: Send>(_: T) {}
        send(fib.installed());
        send(fib.check_permission());
        send(fib.apply(route));
        send(fib.apply_all(std::slice::from_ref(route)));
        send(fib.remove_all());
    }

    #[test]
    fn fib_and_its_futures_are_send_and_sync() {
        fn send_and_sync<T: Send + Sync>() {}
        send_and_sync::<Fib>();
        let _checked: fn(&mut Fib, &FibRoute) = futures_are_send;
    }

    fn kernel_route(
        prefix: &str,
        metric: Option<u32>,
        next_hop: &str,
        interface: u32,
    ) -> KernelRoute {
        KernelRoute {
            prefix: prefix.parse().unwrap(),
            kind: Some(crate::RouteKind::Unicast),
            next_hops: vec![next_hop.parse().unwrap()],
            output_interface: Some(interface),
            table: 254,
            protocol: 244,
            metric,
            next_hop_object: None,
        }
    }

    #[test]
    fn coalescing_joins_the_next_hops_listed_one_at_a_time() {
        let mut coalescing = Coalescing::default();
        let mut merged: Vec<KernelRoute> = [
            kernel_route("10.0.0.0/16", None, "192.0.2.2", 3),
            kernel_route("10.1.0.0/16", None, "192.0.2.1", 3),
            kernel_route("2001:db8::/48", Some(20), "2001:db8::2", 3),
            kernel_route("2001:db8::/48", Some(20), "2001:db8::1", 4),
            kernel_route("2001:db8::/48", Some(20), "2001:db8::2", 4),
            kernel_route("2001:db8::/48", Some(30), "2001:db8::3", 4),
        ]
        .into_iter()
        .filter_map(|route| coalescing.push(route))
        .collect();
        merged.extend(coalescing.finish());
        let listed: Vec<String> = merged
            .iter()
            .map(|route| {
                let hops: Vec<String> = route.next_hops.iter().map(ToString::to_string).collect();
                format!(
                    "{} metric {:?} via {} dev {:?}",
                    route.prefix,
                    route.metric,
                    hops.join(","),
                    route.output_interface
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                "10.0.0.0/16 metric None via 192.0.2.2 dev Some(3)",
                "10.1.0.0/16 metric None via 192.0.2.1 dev Some(3)",
                // Through two interfaces: not a route through a device.
                "2001:db8::/48 metric Some(20) via 2001:db8::1,2001:db8::2 dev None",
                "2001:db8::/48 metric Some(30) via 2001:db8::3 dev Some(4)",
            ]
        );
    }

    #[test]
    fn the_default_configuration_is_main_protocol_244_metric_20_recorded() {
        assert_eq!(
            FibConfig::default(),
            FibConfig {
                table: 254,
                protocol: 244,
                metric: Some(20),
                ownership: Ownership::Recorded,
                next_hop_objects: true,
            }
        );
        assert!(FibConfig::default().validate().is_ok());
    }
}
