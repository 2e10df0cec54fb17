// Shared by several test binaries; not every binary uses every helper.
#![allow(dead_code)]

//! Helpers shared by the store tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use peer_store::{parse_documents, BgpPeer};

pub(crate) mod calico;
pub(crate) mod calico_ipam;
pub(crate) mod contract;
pub(crate) mod etcd;

/// A directory under the system temp dir, unique per test, removed on drop.
pub(crate) struct TemporaryDirectory(PathBuf);

impl TemporaryDirectory {
    pub(crate) fn new(test: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "peer-store-{test}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        // The store creates it; the test only owns the name.
        TemporaryDirectory(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TemporaryDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A peer from its identity and AS, written as in a file:
/// `peer("global", None, "10.0.0.1", "64512")`.
pub(crate) fn peer(scope: &str, node: Option<&str>, peer_ip: &str, as_number: &str) -> BgpPeer {
    let node = node
        .map(|node| format!("node: {node}, "))
        .unwrap_or_default();
    let text = format!(
        "apiVersion: v1\nkind: bgpPeer\nmetadata: {{scope: {scope}, {node}peerIP: '{peer_ip}'}}\nspec: {{asNumber: '{as_number}'}}\n"
    );
    parse_documents(&text).unwrap().remove(0)
}
