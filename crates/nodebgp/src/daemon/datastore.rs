//! The datastore reader: a task of its own that reads what the store says
//! this node should run and publishes it, so that a slow or unreachable
//! datastore (etcd across a partition, a file on a stalled disk) never holds
//! the manager's loop. The manager takes the newest reading when it likes;
//! this task never waits for it (a `watch` keeps only the last value).
//!
//! The reader keeps a copy of the store ([`StoreCache`]): every resource and
//! every entry that does not read, at the store revision the copy reflects.
//! It lists everything only at start, when the store's history no longer
//! reaches back to the copy (etcd compacted it, or the store was reset) and
//! after any error; otherwise it asks for what changed since the copy's
//! revision. The node's desired set is computed from the copy, only when the
//! copy changed or the password files it read may have (every 10 s).
//!
//! ```text
//!  etcd v3, every 1 s ───► changes since the copy's revision ──┐ (one count-only read when none)
//!  etcd v2, every 1 s ───► list everything, compare ───────────┤ (v2 keeps no history)
//!  file, every 0.25 s ───► file changed? ─► list everything ───┤ (hand edits are in no history)
//!                                                              ▼
//!        copy changed, or password files read ≥ 10 s ago? ─► compute ─► watch<Desired> ─► manager
//!  start, compaction, store reset, any error ─► list everything
//!  error ─► retry after 2, 4 … 64 s, sessions untouched
//! ```
//!
//! The store's calls block (file I/O, or etcd on a runtime of its own): the
//! copy goes to the blocking pool with each refresh and comes back with it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use peer_store::{
    ListingChange, ListingChangeSet, PeerStore, ResourceChange, ResourceFilter, ResourceKey,
    Revision, StoreError, StoredResource, UnreadableResource,
};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{info, warn};

use super::settings::Datastore;
use super::sources::{self, Desired};

/// How often etcd is asked for changes.
const READ_INTERVAL: Duration = Duration::from_secs(1);

/// How often the file store's file is looked at (a `stat`): a deleted peer
/// is gone well within a second.
const FILE_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// The desired set is computed again at least this often when it read
/// password files (`password: {file: …}`), which rotate on their own, and
/// handed to the manager again at least this often in any case (it tries
/// again the peers it could not start).
const REREAD_INTERVAL: Duration = Duration::from_secs(10);

/// How often Felix's endpoint status files are read while a BGPPeer of this
/// node peers with local workloads (confd is told of changes by inotify and
/// polls every 30 s; a directory listing each second is cheap).
const STATUS_INTERVAL: Duration = Duration::from_secs(1);

/// The longest wait between two tries of a datastore that cannot be read.
const MAXIMUM_RETRY: Duration = Duration::from_secs(64);

/// How the reader learns what changed in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Follow {
    /// Ask for the changes since the copy's revision (etcd v3 replays its
    /// history with a watch).
    Changes,
    /// List everything again and compare with the copy: etcd v2 keeps no
    /// history, and the file store's history has no hand edits of its file,
    /// which is read whole for changes as for a listing anyway.
    Listing,
}

/// Starts the reader; the receiver sees `None` until the first good read.
pub(crate) fn spawn(
    store: Arc<dyn PeerStore>,
    datastore: &Datastore,
    node: String,
    endpoint_status: std::path::PathBuf,
) -> watch::Receiver<Option<Desired>> {
    let (sender, receiver) = watch::channel(None);
    let (follow, file) = match datastore {
        Datastore::File(directory) => (
            Follow::Listing,
            Some(directory.join(peer_store::STORE_FILE_NAME)),
        ),
        Datastore::EtcdV3(_) => (Follow::Changes, None),
        Datastore::EtcdV2(_) => (Follow::Listing, None),
    };
    tokio::spawn(read_loop(
        store,
        follow,
        file,
        node,
        endpoint_status,
        sender,
    ));
    receiver
}

/// A copy of everything in a store (what a listing of everything gives),
/// kept up to date with [`StoreCache::refresh`].
#[derive(Debug, Default)]
pub(crate) struct StoreCache {
    /// The store revision the copy reflects; `None` before the first
    /// listing and after an error: the next refresh lists everything.
    revision: Option<Revision>,
    resources: BTreeMap<ResourceKey, StoredResource>,
    /// Entries that do not read, by where they are.
    unreadable: BTreeMap<String, UnreadableResource>,
    /// The workloads Felix selected for local BGP peering, as last read
    /// from its endpoint status files (not the store's; kept here because
    /// the desired set is computed from both).
    workloads: Vec<peer_manager::LocalWorkload>,
}

impl StoreCache {
    /// Brings the copy up to date with `store`; whether it changed. Lists
    /// everything when the copy has no revision (at start, after an error)
    /// or the store cannot tell the changes since it (history compacted,
    /// store reset); otherwise, with [`Follow::Changes`], applies the
    /// changes since its revision. On an error the copy is kept but the
    /// next refresh lists everything.
    pub(crate) fn refresh(
        &mut self,
        store: &dyn PeerStore,
        follow: Follow,
    ) -> Result<bool, StoreError> {
        let refreshed = match (self.revision, follow) {
            (Some(revision), Follow::Changes) => match store.listing_changes_since(revision) {
                Ok(changes) => Ok(self.apply(changes)),
                Err(error @ (StoreError::Compacted { .. } | StoreError::FutureRevision { .. })) => {
                    info!(%error, "listing the datastore again");
                    self.list(store)
                }
                Err(error) => Err(error),
            },
            _ => self.list(store),
        };
        if refreshed.is_err() {
            self.revision = None;
        }
        refreshed
    }

    /// The store revision the copy reflects, once it has one.
    pub(crate) fn revision(&self) -> Option<Revision> {
        self.revision
    }

    /// The node's desired set, from the copy.
    pub(crate) fn compute(&self, node: &str) -> sources::Computed {
        sources::desired_from(
            self.resources.values().map(|stored| &stored.resource),
            self.unreadable.values(),
            &self.workloads,
            node,
        )
    }

    fn list(&mut self, store: &dyn PeerStore) -> Result<bool, StoreError> {
        let listing = store.list_resources(&ResourceFilter::all())?;
        let resources: BTreeMap<_, _> = listing
            .resources
            .into_iter()
            .map(|stored| (stored.resource.key(), stored))
            .collect();
        let unreadable: BTreeMap<_, _> = listing
            .unreadable
            .into_iter()
            .map(|entry| (entry.location.clone(), entry))
            .collect();
        let changed = resources != self.resources || unreadable != self.unreadable;
        self.revision = Some(listing.revision);
        self.resources = resources;
        self.unreadable = unreadable;
        Ok(changed)
    }

    /// Applies changes in their order: each says what one location holds
    /// from then on.
    fn apply(&mut self, changes: ListingChangeSet) -> bool {
        let mut changed = false;
        for change in changes.changes {
            changed |= match change {
                ListingChange::Resource(ResourceChange::Put { resource, revision }) => {
                    let stored = StoredResource { resource, revision };
                    self.resources.insert(stored.resource.key(), stored.clone()) != Some(stored)
                }
                ListingChange::Resource(ResourceChange::Deleted { resource, .. }) => {
                    self.resources.remove(&resource.key()).is_some()
                }
                ListingChange::Unreadable { entry, .. } => {
                    self.unreadable
                        .insert(entry.location.clone(), entry.clone())
                        != Some(entry)
                }
                ListingChange::Cleared { location, .. } => {
                    self.unreadable.remove(&location).is_some()
                }
            };
        }
        self.revision = Some(changes.revision);
        changed
    }
}

/// What one turn of the blocking pool did.
struct Turn {
    cache: StoreCache,
    refreshed: Result<(), StoreError>,
    computed: Option<sources::Computed>,
}

async fn read_loop(
    store: Arc<dyn PeerStore>,
    follow: Follow,
    file: Option<std::path::PathBuf>,
    node: String,
    endpoint_status: std::path::PathBuf,
    published: watch::Sender<Option<Desired>>,
) {
    let mut cache = StoreCache::default();
    // The file's identity when the copy was last refreshed from it.
    let mut seen = None;
    // When the desired set was last computed (`None`: never) and handed over.
    let mut computed_at: Option<Instant> = None;
    let mut handed_at = Instant::now();
    let mut reads_password_files = false;
    // Whether a BGPPeer of this node peers with local workloads, and when
    // their status files were last read.
    let mut reads_endpoint_status = false;
    let mut status_read_at: Option<Instant> = None;
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
        // every idle session: only when it changed (or while it is missing,
        // or the copy is not good). etcd is always asked.
        let refresh = match &file {
            Some(file) => {
                let now_seen = file_identity(file);
                let stale = now_seen.is_none() || now_seen != seen || cache.revision().is_none();
                seen = now_seen;
                stale
            }
            None => true,
        };
        let passwords_due =
            reads_password_files && computed_at.is_none_or(|at| at.elapsed() >= REREAD_INTERVAL);
        // Nothing new for a while: the same reading again, for the manager
        // to try again the peers it could not start.
        let mut hand_over_again = || {
            if computed_at.is_some() && handed_at.elapsed() >= REREAD_INTERVAL {
                handed_at = Instant::now();
                published.send_modify(|_| {});
            }
        };
        let status_due = reads_endpoint_status
            && status_read_at.is_none_or(|at| at.elapsed() >= STATUS_INTERVAL);
        if status_due {
            status_read_at = Some(Instant::now());
        }
        if !refresh && !passwords_due && !status_due {
            hand_over_again();
            continue;
        }
        let (reader, node_name) = (store.clone(), node.clone());
        let status_directory = endpoint_status.clone();
        let mut must_compute = computed_at.is_none() || passwords_due;
        let turn = tokio::task::spawn_blocking(move || {
            if status_due {
                let workloads = super::endpoint_status::read(&status_directory);
                if workloads != cache.workloads {
                    cache.workloads = workloads;
                    must_compute = true;
                }
            }
            let changed = if refresh {
                cache.refresh(reader.as_ref(), follow)
            } else {
                Ok(false)
            };
            let computed = match &changed {
                Ok(changed) if *changed || must_compute => Some(cache.compute(&node_name)),
                _ => None,
            };
            Turn {
                cache,
                refreshed: changed.map(drop),
                computed,
            }
        })
        .await;
        let refreshed = match turn {
            Ok(turn) => {
                cache = turn.cache;
                match turn.computed {
                    Some(computed) => {
                        computed_at = Some(Instant::now());
                        handed_at = Instant::now();
                        reads_password_files = computed.reads_password_files;
                        // Read at once when a local-workload peer appears.
                        if computed.reads_endpoint_status && !reads_endpoint_status {
                            status_read_at = None;
                        }
                        reads_endpoint_status = computed.reads_endpoint_status;
                        published.send_replace(Some(computed.desired));
                    }
                    None => hand_over_again(),
                }
                turn.refreshed.map_err(anyhow::Error::from)
            }
            // The copy went with the task: start afresh.
            Err(error) => {
                cache = StoreCache::default();
                status_read_at = None;
                Err(anyhow::Error::from(error))
            }
        };
        match refreshed {
            Ok(()) => failures = 0,
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

#[cfg(test)]
#[path = "datastore_tests.rs"]
mod tests;
