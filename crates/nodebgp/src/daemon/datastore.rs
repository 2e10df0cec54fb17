//! The datastore reader: a task of its own that reads what the store says
//! this node should run and publishes it, so that a slow or unreachable
//! datastore (etcd across a partition, a file on a stalled disk) never holds
//! the manager's loop. The manager takes the newest reading when it likes;
//! this task never waits for it (a `watch` keeps only the last value).
//!
//! ```text
//!  every 0.25 s / 1 s ──► store changed? ──► read (blocking pool) ──► watch<Desired> ──► manager
//!                        │                     └─ error: retry after 2, 4 … 64 s, sessions untouched
//!                        └─ file store: its file's identity, size and time (and every 10 s)
//! ```

use std::sync::Arc;
use std::time::Duration;

use peer_store::PeerStore;
use tokio::sync::watch;
use tracing::warn;

use super::settings::Datastore;
use super::sources::{self, Desired};

/// How often etcd is read for changes.
const READ_INTERVAL: Duration = Duration::from_secs(1);

/// How often the file store's file is looked at (a `stat`): a deleted peer
/// is gone well within a second.
const FILE_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// The file store is read at least this often even when its file did not
/// change: password files (`password: {file: …}`) rotate on their own.
const REREAD_INTERVAL: Duration = Duration::from_secs(10);

/// The longest wait between two tries of a datastore that cannot be read.
const MAXIMUM_RETRY: Duration = Duration::from_secs(64);

/// Starts the reader; the receiver sees `None` until the first good read.
pub(crate) fn spawn(
    store: Arc<dyn PeerStore>,
    datastore: &Datastore,
    node: String,
) -> watch::Receiver<Option<Desired>> {
    let (sender, receiver) = watch::channel(None);
    let file = match datastore {
        Datastore::File(directory) => Some(directory.join(peer_store::STORE_FILE_NAME)),
        _ => None,
    };
    tokio::spawn(read_loop(store, file, node, sender));
    receiver
}

async fn read_loop(
    store: Arc<dyn PeerStore>,
    file: Option<std::path::PathBuf>,
    node: String,
    published: watch::Sender<Option<Desired>>,
) {
    let mut seen = None;
    let mut read_at = tokio::time::Instant::now();
    let mut failures: u32 = 0;
    let mut tick = tokio::time::interval(if file.is_some() {
        FILE_CHECK_INTERVAL
    } else {
        READ_INTERVAL
    });
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if published.is_closed() {
            return;
        }
        // Reading and parsing the file every second would cost more than
        // every idle session: only when it changed. etcd is always asked.
        if let Some(file) = &file {
            let now_seen = file_identity(file);
            if now_seen.is_some() && now_seen == seen && read_at.elapsed() < REREAD_INTERVAL {
                continue;
            }
            seen = now_seen;
        }
        // Stores block (file I/O, or etcd on a runtime of its own): off the
        // runtime's thread.
        read_at = tokio::time::Instant::now();
        let (reader, node_name) = (store.clone(), node.clone());
        let read =
            tokio::task::spawn_blocking(move || sources::desired(reader.as_ref(), &node_name))
                .await;
        match read.map_err(anyhow::Error::from).and_then(|result| result) {
            Ok(desired) => {
                failures = 0;
                published.send_replace(Some(desired));
            }
            Err(error) => {
                // An unreachable or broken datastore leaves running sessions
                // alone; the next try waits longer each time.
                failures += 1;
                seen = None;
                let wait = Duration::from_secs(1 << failures.min(6)).min(MAXIMUM_RETRY);
                warn!(
                    error = %format!("{error:#}"),
                    retry_in = wait.as_secs(),
                    "cannot read peers; sessions left as they are"
                );
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// The store file's modification time, size and inode, when it exists.
fn file_identity(file: &std::path::Path) -> Option<(std::time::SystemTime, u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(file).ok().map(|metadata| {
        (
            metadata.modified().unwrap_or(std::time::UNIX_EPOCH),
            metadata.len(),
            metadata.ino(),
        )
    })
}
