//! A throw-away network namespace per test, so the tests never touch the
//! host's routing tables.
//!
//! The namespace is made and configured with iproute2 (`ip netns add`, a veth
//! pair `d0`/`d1` with 192.0.2.1/24 and 2001:db8::1/64 on `d0`, so gateways
//! 192.0.2.2-254 and 2001:db8::2.. are on a connected network) and removed
//! when the guard drops. [`Namespace::run`] runs a future in a thread of its
//! own that has entered the namespace with setns(2) (only that thread moves),
//! on a current-thread tokio runtime built there, so the netlink socket the
//! code under test opens belongs to the namespace.
//! [`Namespace::add_tunnel_device`] adds a device to route through on-link.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::future::Future;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value;

/// A configured namespace for the test, or the test returns (skipped, as
/// [`Namespace::create`] said) where none can be made.
macro_rules! namespace {
    () => {
        match $crate::support::Namespace::create() {
            Some(namespace) => namespace,
            None => return,
        }
    };
}

static NEXT: AtomicUsize = AtomicUsize::new(0);
/// `ip netns add` mounts /run/netns on first use; creating one at a time avoids racing on that.
static CREATE: Mutex<()> = Mutex::new(());

pub struct Namespace {
    name: String,
}

impl Namespace {
    /// A configured namespace, or `None` (after `lab::skip`) where
    /// namespaces cannot be created, e.g. without root.
    pub fn create() -> Option<Namespace> {
        let name = format!(
            "nodebgp-fib-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        {
            let _one_at_a_time = CREATE
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let added = Command::new("ip").args(["netns", "add", &name]).output();
            match added {
                Ok(output) if output.status.success() => {}
                Ok(output) => {
                    lab::skip(&format!(
                        "`ip netns add` not permitted ({}); these tests need root",
                        String::from_utf8_lossy(&output.stderr).trim()
                    ));
                    return None;
                }
                Err(error) => {
                    lab::skip(&format!("cannot run `ip` (iproute2): {error}"));
                    return None;
                }
            }
        }
        let namespace = Namespace { name };
        for args in [
            "link set lo up",
            "link add d0 type veth peer name d1",
            "addr add 192.0.2.1/24 dev d0",
            "addr add 2001:db8::1/64 dev d0 nodad",
            "link set d0 up",
            "link set d1 up",
        ] {
            namespace.ip(args);
        }
        Some(namespace)
    }

    /// Runs `ip -n NAME ARGS...`, panicking with its stderr if it fails.
    pub fn ip(&self, args: &str) -> String {
        self.try_ip(args)
            .unwrap_or_else(|stderr| panic!("ip -n {} {args}: {stderr}", self.name))
    }

    /// The routes of protocol `protocol` in every table, IPv4 then IPv6, as
    /// iproute2 reads them (`ip -j -4/-6 route show table all proto N`).
    pub fn routes(&self, protocol: &str) -> Vec<KernelRoute> {
        let mut routes = Vec::new();
        for family in ["-4", "-6"] {
            let json = self.ip(&format!(
                "-j {family} route show table all proto {protocol}"
            ));
            let parsed: Value = serde_json::from_str(&json).expect("ip -j prints JSON");
            for route in parsed.as_array().expect("a JSON array") {
                routes.push(KernelRoute::from_json(route));
            }
        }
        routes
    }

    /// The namespace's next-hop objects, every protocol's
    /// (`ip -j nexthop show`), sorted by id.
    pub fn next_hop_objects(&self) -> Vec<NextHopObject> {
        let json = self.ip("-j nexthop show");
        let parsed: Value = serde_json::from_str(&json).expect("ip -j prints JSON");
        let text =
            |object: &Value, key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
        let mut objects: Vec<NextHopObject> = parsed
            .as_array()
            .expect("a JSON array")
            .iter()
            .map(|object| NextHopObject {
                id: object["id"].as_u64().expect("id"),
                gateway: text(object, "gateway"),
                device: text(object, "dev"),
                protocol: text(object, "protocol").unwrap_or_default(),
                onlink: object
                    .get("flags")
                    .and_then(Value::as_array)
                    .is_some_and(|flags| flags.iter().any(|flag| flag == "onlink")),
            })
            .collect();
        objects.sort_by_key(|object| object.id);
        objects
    }

    /// nodebgp's routes (protocol 244), as iproute2 reads them.
    pub fn our_routes(&self) -> Vec<KernelRoute> {
        self.routes("244")
    }

    /// `(destination, gateways)` of each of nodebgp's routes, in table order.
    pub fn our_summaries(&self) -> Vec<(String, Vec<String>)> {
        self.our_routes().iter().map(KernelRoute::summary).collect()
    }

    /// `summary` of each of `protocol`'s routes, in `ip route` order.
    pub fn summaries(&self, protocol: &str) -> Vec<(String, Vec<String>)> {
        self.routes(protocol)
            .iter()
            .map(KernelRoute::summary)
            .collect()
    }

    /// The namespace's bind mount, as `Fib::open_in_namespace` takes it.
    pub fn path(&self) -> std::path::PathBuf {
        format!("/var/run/netns/{}", self.name).into()
    }

    /// Makes and brings up a device to route through on-link, and returns
    /// it: `tunl0` of kind `ipip`, as Calico's IPIP mode uses, where the
    /// kernel has the ipip module (built in, or loadable: `ip link add` asks
    /// the kernel to load it); else a `dummy` named `tun-test`; else, where
    /// neither kind exists (kernels built without them), one end of a veth
    /// pair named `tun-test`. Which one is printed, for the test's log.
    /// Only the device counts for the routes: on-link, the kernel neither
    /// resolves the gateway through a connected network nor cares what the
    /// device is.
    pub fn add_tunnel_device(&self) -> TunnelDevice {
        // With the ipip module loaded, every new namespace gets its fallback
        // device tunl0 already (unless net.core.fb_tunnels_only_for_init_net
        // says otherwise), and adding another of that name would fail.
        if self.try_ip("link show tunl0").is_ok() {
            self.ip("link set tunl0 up");
            eprintln!("tunnel device for this test: tunl0 of kind ipip (the namespace's own)");
            return TunnelDevice {
                name: "tunl0".to_owned(),
                kind: "ipip",
            };
        }
        let candidates = [
            ("tunl0", "link add tunl0 type ipip", "ipip"),
            ("tun-test", "link add tun-test type dummy", "dummy"),
            (
                "tun-test",
                "link add tun-test type veth peer name tun-peer",
                "veth",
            ),
        ];
        for (name, command, kind) in candidates {
            if self.try_ip(command).is_ok() {
                self.ip(&format!("link set {name} up"));
                if kind == "veth" {
                    self.ip("link set tun-peer up");
                }
                eprintln!("tunnel device for this test: {name} of kind {kind}");
                return TunnelDevice {
                    name: name.to_owned(),
                    kind,
                };
            }
        }
        panic!("could make none of an ipip, a dummy or a veth device");
    }

    /// Runs `ip -n NAME ARGS...` and returns its stdout, or its stderr if it fails.
    pub fn try_ip(&self, args: &str) -> Result<String, String> {
        let output = Command::new("ip")
            .args(["-n", &self.name])
            .args(args.split_whitespace())
            .output()
            .expect("run ip");
        if output.status.success() {
            Ok(String::from_utf8(output.stdout).expect("ip prints UTF-8"))
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// Runs `test` in a new thread inside the namespace, on a current-thread runtime.
    pub fn run<F, Fut, T>(&self, test: F) -> T
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T>,
        T: Send + 'static,
    {
        let path = self.path();
        let thread = std::thread::spawn(move || {
            let file = std::fs::File::open(&path).expect("open the namespace");
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(test())
        });
        match thread.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let deleted = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        if !matches!(&deleted, Ok(output) if output.status.success()) {
            eprintln!(
                "could not remove network namespace {}: {deleted:?}",
                self.name
            );
        }
    }
}

/// A device made by [`Namespace::add_tunnel_device`].
#[derive(Debug, Clone)]
pub struct TunnelDevice {
    /// Its name: `tunl0` or `tun-test`.
    pub name: String,
    /// Its link kind: `ipip`, `dummy` or `veth`.
    pub kind: &'static str,
}

impl TunnelDevice {
    /// Whether IPv6 routes can go through it too (not through an IPv4-in-IPv4 tunnel).
    pub fn carries_ipv6(&self) -> bool {
        self.kind != "ipip"
    }
}

/// One route of `ip -j route show`, reduced to what the tests check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelRoute {
    /// `dst` ("default" for /0 routes, else the prefix; iproute2 prints a host route without /32 or /128).
    pub destination: String,
    /// The gateways, sorted: `gateway`, or those of `nexthops`.
    pub gateways: Vec<String>,
    /// `table`, absent for main.
    pub table: Option<String>,
    /// `metric`, absent for 0.
    pub metric: Option<u64>,
    /// `type`: `unicast` (which iproute2 leaves out), `blackhole`, `unreachable`...
    pub kind: String,
    /// The `dev` of each next hop (or of the route, for one without
    /// `nexthops`), sorted; iproute2 prints `lo` for IPv6 blackholes.
    pub devices: Vec<String>,
    /// Whether the route has next hops and every one is flagged `onlink`.
    pub onlink: bool,
    /// `nhid`: the next-hop object the route goes through.
    pub next_hop_object: Option<u64>,
}

/// One object of `ip -j nexthop show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHopObject {
    pub id: u64,
    pub gateway: Option<String>,
    pub device: Option<String>,
    /// `protocol`, as iproute2 names it (244 by number).
    pub protocol: String,
    pub onlink: bool,
}

impl KernelRoute {
    fn from_json(route: &Value) -> Self {
        let mut gateways: Vec<String> = match (route.get("gateway"), route.get("nexthops")) {
            (Some(gateway), _) => vec![gateway.as_str().expect("gateway").to_owned()],
            (None, Some(next_hops)) => next_hops
                .as_array()
                .expect("nexthops")
                .iter()
                .map(|hop| hop["gateway"].as_str().expect("nexthop gateway").to_owned())
                .collect(),
            (None, None) => Vec::new(),
        };
        gateways.sort();
        let has_onlink = |value: &Value| {
            value
                .get("flags")
                .and_then(Value::as_array)
                .is_some_and(|flags| flags.iter().any(|flag| flag == "onlink"))
        };
        let device_of = |value: &Value| value.get("dev").and_then(Value::as_str).map(str::to_owned);
        let (mut devices, onlink) = match route.get("nexthops").and_then(Value::as_array) {
            Some(next_hops) => (
                next_hops.iter().filter_map(device_of).collect::<Vec<_>>(),
                next_hops.iter().all(has_onlink),
            ),
            None => (
                device_of(route).into_iter().collect(),
                route.get("gateway").is_some() && has_onlink(route),
            ),
        };
        devices.sort();
        KernelRoute {
            destination: route["dst"].as_str().expect("dst").to_owned(),
            gateways,
            table: route.get("table").map(|table| {
                table
                    .as_str()
                    .map_or_else(|| table.to_string(), str::to_owned)
            }),
            metric: route.get("metric").and_then(Value::as_u64),
            kind: route
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("unicast")
                .to_owned(),
            devices,
            onlink,
            next_hop_object: route.get("nhid").and_then(Value::as_u64),
        }
    }

    /// `(type, destination)`, for routes without gateways.
    pub fn kind_and_destination(&self) -> (String, String) {
        (self.kind.clone(), self.destination.clone())
    }

    /// `(destination, gateways)`, for compact assertions.
    pub fn summary(&self) -> (String, Vec<String>) {
        (self.destination.clone(), self.gateways.clone())
    }
}

/// A unicast route to `prefix` through `next_hops`.
pub fn route(prefix: &str, next_hops: &[&str]) -> kernel_fib::FibRoute {
    kernel_fib::FibRoute::new(
        prefix.parse().expect("prefix"),
        next_hops
            .iter()
            .map(|hop| hop.parse::<std::net::IpAddr>().expect("next hop")),
    )
}

/// `(destination, gateways)` of a route, built from string slices.
pub fn summary(destination: &str, gateways: &[&str]) -> (String, Vec<String>) {
    let mut gateways: Vec<String> = gateways
        .iter()
        .map(|gateway| (*gateway).to_owned())
        .collect();
    gateways.sort();
    (destination.to_owned(), gateways)
}
