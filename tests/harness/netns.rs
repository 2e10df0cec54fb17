//! Network namespaces a test makes for itself (`ip netns add`), so that
//! nodebgp's kernel routes are checked without touching the host's tables.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A namespace, deleted on drop.
pub struct Namespace {
    name: String,
}

impl Namespace {
    /// Makes `nodebgp-test-<purpose>-<pid>-<n>` with its loopback up; `None`
    /// (after a SKIP line) where namespaces cannot be made, e.g. without root.
    pub fn create(purpose: &str) -> Option<Namespace> {
        let name = format!(
            "nodebgp-{purpose}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let made = Command::new("ip").args(["netns", "add", &name]).output();
        match made {
            Ok(output) if output.status.success() => {}
            other => {
                lab::skip(&format!(
                    "cannot make a network namespace ({other:?}); run as root with iproute2"
                ));
                return None;
            }
        }
        let namespace = Namespace { name };
        namespace.run(&["link", "set", "lo", "up"]);
        Some(namespace)
    }

    /// Its name, for `--fib-netns`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NAME ARGS...`, which must succeed.
    pub fn run(&self, arguments: &[&str]) {
        let output = Command::new("ip")
            .args(["-n", &self.name])
            .args(arguments)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "ip -n {} {arguments:?}: {output:?}",
            self.name
        );
    }

    /// A network the routes' gateways are on: a veth pair inside the
    /// namespace (dummy interfaces are not in every kernel), with `address`
    /// on one end.
    pub fn add_network(&self, address: &str) {
        self.run(&["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
        self.run(&["address", "add", address, "dev", "v0"]);
        self.run(&["link", "set", "v1", "up"]);
        self.run(&["link", "set", "v0", "up"]);
    }

    /// The gateways of the route to exactly `prefix` in the main table, any
    /// protocol; empty when there is none.
    pub fn next_hops(&self, prefix: &str) -> Vec<String> {
        next_hops(&self.name, prefix)
    }

    /// Samples the route to `prefix` every 20 ms in the background, counting
    /// the samples where it was missing, until [`Watcher::stop`].
    pub fn watch_route(&self, prefix: &str) -> Watcher {
        let running = Arc::new(AtomicBool::new(true));
        let (name, prefix, flag) = (self.name.clone(), prefix.to_owned(), running.clone());
        let thread = std::thread::spawn(move || {
            let mut samples = Samples::default();
            while flag.load(Ordering::Relaxed) {
                samples.taken += 1;
                if next_hops(&name, &prefix).is_empty() {
                    samples.missing += 1;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            samples
        });
        Watcher { running, thread }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// What a [`Watcher`] saw.
#[derive(Debug, Default, Clone, Copy)]
pub struct Samples {
    /// Samples taken.
    pub taken: u32,
    /// Samples where the route was absent.
    pub missing: u32,
}

/// A background sampler of one route.
pub struct Watcher {
    running: Arc<AtomicBool>,
    thread: JoinHandle<Samples>,
}

impl Watcher {
    /// Stops sampling and returns the counts.
    pub fn stop(self) -> Samples {
        self.running.store(false, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

fn next_hops(namespace: &str, prefix: &str) -> Vec<String> {
    let family = if prefix.contains(':') { "-6" } else { "-4" };
    let Ok(output) = Command::new("ip")
        .args([
            "-j", family, "-n", namespace, "route", "show", "exact", prefix,
        ])
        .output()
    else {
        return Vec::new();
    };
    let routes: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    let mut hops = Vec::new();
    for route in routes.as_array().into_iter().flatten() {
        if let Some(gateway) = route["gateway"].as_str() {
            hops.push(gateway.to_owned());
        }
        for hop in route["nexthops"].as_array().into_iter().flatten() {
            if let Some(gateway) = hop["gateway"].as_str() {
                hops.push(gateway.to_owned());
            }
        }
    }
    hops
}
