//! The node's interfaces and the networks they connect, for BGPFilter
//! `interface` rules: a task of its own that lists them (an `RTM_GETADDR`
//! dump, in the namespace whose routes nodebgp programs) every
//! [`SCAN_INTERVAL`] while some peer's filter has such a rule, as BIRD's
//! `device` protocol scans every 2 s under calico-node, and publishes the
//! list when it changes. The manager re-resolves the filters then; it never
//! waits for this task (a `watch` keeps only the last list).

use std::time::Duration;

use ipnet::IpNet;
use kernel_fib::{Fib, FibConfig};
use tokio::sync::watch;
use tracing::warn;

/// How often the interfaces are listed while they are needed.
const SCAN_INTERVAL: Duration = Duration::from_secs(2);

/// The interfaces as `(name, network)` pairs, sorted.
pub(crate) type Interfaces = Vec<(String, IpNet)>;

/// Starts the scanner; it lists while `wanted` says so, in the network
/// namespace `namespace` (a name under /run/netns) or the daemon's own.
pub(crate) fn spawn(
    namespace: Option<String>,
    wanted: watch::Receiver<bool>,
) -> watch::Receiver<Interfaces> {
    let (sender, receiver) = watch::channel(Vec::new());
    tokio::spawn(scan(namespace, wanted, sender));
    receiver
}

async fn scan(
    namespace: Option<String>,
    mut wanted: watch::Receiver<bool>,
    published: watch::Sender<Interfaces>,
) {
    let mut fib: Option<Fib> = None;
    let mut warned = false;
    let mut tick = tokio::time::interval(SCAN_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if !*wanted.borrow_and_update() {
            // Idle until a filter asks for interfaces (or the daemon stops).
            if wanted.changed().await.is_err() {
                return;
            }
            continue;
        }
        tick.tick().await;
        if published.is_closed() {
            return;
        }
        if fib.is_none() {
            let opened = match &namespace {
                Some(name) => {
                    Fib::open_in_namespace(
                        FibConfig::default(),
                        &std::path::Path::new("/run/netns").join(name),
                    )
                    .await
                }
                None => Fib::open(FibConfig::default()).await,
            };
            match opened {
                Ok(opened) => fib = Some(opened),
                Err(error) => {
                    if !warned {
                        warn!(%error, "cannot list the node's interfaces; BGPFilter interface rules match no route until it can");
                        warned = true;
                    }
                    continue;
                }
            }
        }
        let Some(open) = fib.as_ref() else { continue };
        match open.connected_networks().await {
            Ok(interfaces) => {
                warned = false;
                published.send_if_modified(|current| {
                    let changed = *current != interfaces;
                    if changed {
                        *current = interfaces;
                    }
                    changed
                });
            }
            Err(error) => {
                if !warned {
                    warn!(%error, "cannot list the node's interfaces; the last list stays in use");
                    warned = true;
                }
                // A new socket next time.
                fib = None;
            }
        }
    }
}
