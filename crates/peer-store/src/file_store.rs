//! The embedded datastore: the whole store in one YAML file, rewritten atomically.
//!
//! Layout under the store directory:
//!
//! - `store.yaml`: format version, store revision, every resource with its
//!   revision (v1 bgpPeers under `peers`, every v3 kind, IPPools,
//!   BlockAffinities and IPAMBlocks included, under `resources`, each as its
//!   Calico document) and the recent change history for
//!   [`PeerStore::resource_changes_since`].
//! - `store.lock`: empty; an advisory lock on it serializes writers, across threads
//!   and processes (`flock` semantics: every operation opens its own handle).
//! - `.store.yaml.tmp.<pid>.<n>`: a new state being written; renamed over
//!   `store.yaml` once complete and synced. Left behind only by a crash, and removed
//!   by the next [`FileStore::open`].
//!
//! One file makes a multi-peer batch atomic for free: a reader sees the state
//! before the rename or after it, never a mix and never a torn file. At the scale
//! of BGP peers (tens, not millions) rewriting the file per batch costs nothing.
//!
//! A record that does not read as a resource (edited by hand, or written by a
//! nodebgp that knew more) is reported in listings and written back untouched
//! by every rewrite, until a write of the same resource replaces it. A history
//! entry that does not read is dropped, and the history counts as compacted
//! through it, so pollers that needed it list again.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::resource::{describe_value, AnyDocument, Resource, ResourceKey};
use crate::store::{
    BatchError, Outcome, PeerStore, ResourceChange, ResourceChangeSet, ResourceFilter,
    ResourceListing, ResourceOperation, Revision, StoreError, StoredResource, UnreadableResource,
};
use crate::table::ResourceTable;
use crate::v3::unmodelled::Strictness;

/// The state file's name inside the store directory.
pub const STORE_FILE_NAME: &str = "store.yaml";
/// The lock file's name inside the store directory.
pub const LOCK_FILE_NAME: &str = "store.lock";
const TEMPORARY_PREFIX: &str = ".store.yaml.tmp.";
const FORMAT_VERSION: u32 = 1;
/// How many changes the history keeps; a poller further behind gets
/// [`StoreError::Compacted`] and lists again.
pub const CHANGE_HISTORY_LIMIT: usize = 1000;
const HEADER: &str = "# nodebgp peer store. Rewritten atomically on every change: edit it with\n\
                      # the CLI (create/replace/apply/delete), not by hand, while daemons run.\n";

/// Makes temporary names unique between threads of one process (the pid covers
/// processes; `create_new` catches anything else).
static TEMPORARY_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A [`PeerStore`] (every resource kind) kept in one file in a directory. Cheap to clone or open many
/// times: it holds no handles, and every operation reads the file afresh.
#[derive(Debug, Clone)]
pub struct FileStore {
    directory: PathBuf,
}

impl FileStore {
    /// Opens (creating if needed) the store in `directory`, removes temporary files a
    /// crashed writer left, and checks that the state file reads back.
    pub fn open(directory: impl AsRef<Path>) -> Result<Self, StoreError> {
        let directory = directory.as_ref().to_path_buf();
        fs::create_dir_all(&directory).map_err(io_error(&directory))?;
        let store = FileStore { directory };
        store.locked(|| {
            // Holding the lock, no writer is between creating and renaming its
            // temporary file: any temporary file left is a dead writer's.
            store.remove_stale_temporaries()?;
            store.read_state().map(drop)
        })??;
        Ok(store)
    }

    /// The store in `directory` for reading only: nothing is created (a
    /// directory that does not exist is an empty store, as a missing state
    /// file is) and nothing is cleaned up; the state file must read back.
    /// For commands that only look (`get`): they leave no trace behind.
    pub fn open_read_only(directory: impl AsRef<Path>) -> Result<Self, StoreError> {
        let store = FileStore {
            directory: directory.as_ref().to_path_buf(),
        };
        store.read_state()?;
        Ok(store)
    }

    /// The store directory.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// The state file, `<directory>/store.yaml`.
    pub fn store_path(&self) -> PathBuf {
        self.directory.join(STORE_FILE_NAME)
    }

    fn lock_path(&self) -> PathBuf {
        self.directory.join(LOCK_FILE_NAME)
    }

    /// Runs `work` holding the exclusive advisory lock.
    fn locked<T>(&self, work: impl FnOnce() -> T) -> Result<T, StoreError> {
        let path = self.lock_path();
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error(&path))?;
        lock.lock().map_err(io_error(&path))?;
        let result = work();
        // Closing the handle would release the lock too; unlocking first just makes
        // the release independent of when the handle is dropped.
        let _ = lock.unlock();
        Ok(result)
    }

    fn remove_stale_temporaries(&self) -> Result<(), StoreError> {
        let entries = fs::read_dir(&self.directory).map_err(io_error(&self.directory))?;
        for entry in entries {
            let entry = entry.map_err(io_error(&self.directory))?;
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(TEMPORARY_PREFIX)
            {
                let path = entry.path();
                fs::remove_file(&path).map_err(io_error(&path))?;
            }
        }
        Ok(())
    }

    /// Reads the state file; a missing file is the empty store. Needs no lock: the
    /// file is only ever replaced by rename, so any read sees one whole state.
    fn read_state(&self) -> Result<State, StoreError> {
        let path = self.store_path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(State::default()),
            Err(error) => return Err(io_error(&path)(error)),
        };
        let corrupt = |message: String| StoreError::Corrupt {
            path: path.clone(),
            message,
        };
        let file: StoreFile =
            serde_yaml::from_str(&text).map_err(|error| corrupt(error.to_string()))?;
        State::from_file(file, &path).map_err(corrupt)
    }

    /// Replaces the state file: temporary file in the same directory, fsync, rename
    /// over, fsync the directory (so the rename itself survives a power cut).
    fn write_state(&self, state: &State) -> Result<(), StoreError> {
        let text = format!("{HEADER}{}", state.to_text());
        let temporary = self.directory.join(format!(
            "{TEMPORARY_PREFIX}{}.{}",
            std::process::id(),
            TEMPORARY_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temporary)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })();
        if let Err(error) = written {
            let _ = fs::remove_file(&temporary);
            return Err(io_error(&temporary)(error));
        }
        let store_path = self.store_path();
        if let Err(error) = fs::rename(&temporary, &store_path) {
            let _ = fs::remove_file(&temporary);
            return Err(io_error(&store_path)(error));
        }
        File::open(&self.directory)
            .and_then(|directory| directory.sync_all())
            .map_err(io_error(&self.directory))
    }
}

impl PeerStore for FileStore {
    fn get_resource(&self, key: &ResourceKey) -> Result<Option<StoredResource>, StoreError> {
        Ok(self.read_state()?.table.resources.get(key).cloned())
    }

    fn list_resources(&self, filter: &ResourceFilter) -> Result<ResourceListing, StoreError> {
        let state = self.read_state()?;
        let mut listing = state.table.list(filter);
        listing.unreadable = state
            .unreadable
            .into_iter()
            .map(|record| record.report)
            .filter(|report| filter.may_match(report))
            .collect();
        Ok(listing)
    }

    fn resource_changes_since(&self, since: Revision) -> Result<ResourceChangeSet, StoreError> {
        let state = self.read_state()?;
        let current = state.table.revision;
        if since > current {
            return Err(StoreError::FutureRevision {
                requested: since,
                current,
            });
        }
        if since < state.compacted_through {
            return Err(StoreError::Compacted {
                requested: since,
                compacted_through: state.compacted_through,
            });
        }
        Ok(ResourceChangeSet {
            revision: current,
            changes: state
                .changes
                .iter()
                .filter(|change| change.revision() > since)
                .cloned()
                .collect(),
        })
    }

    fn write_resources(
        &self,
        operations: &[ResourceOperation],
    ) -> Result<Vec<Outcome>, BatchError> {
        let whole_batch = |error| BatchError {
            index: None,
            committed: 0,
            error,
        };
        self.locked(|| {
            let mut state = self.read_state().map_err(whole_batch)?;
            let (table, outcomes, changes) = state.table.apply(operations, SystemTime::now())?;
            if !changes.is_empty() {
                // A write of a resource replaces a record of it that did not read.
                let written: Vec<ResourceKey> = changes
                    .iter()
                    .map(|change| change.resource().key())
                    .collect();
                state
                    .unreadable
                    .retain(|record| record.key.as_ref().is_none_or(|key| !written.contains(key)));
                state.table = table;
                state.record(changes);
                self.write_state(&state).map_err(whole_batch)?;
            }
            Ok(outcomes)
        })
        .map_err(whole_batch)?
    }
}

fn io_error(path: &Path) -> impl Fn(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The whole store in memory.
#[derive(Debug, Default)]
struct State {
    table: ResourceTable,
    /// Changes up to here may be missing from `changes`.
    compacted_through: Revision,
    changes: VecDeque<ResourceChange>,
    /// Records that do not read, kept to be written back as they were.
    unreadable: Vec<UnreadableRecord>,
}

#[derive(Debug)]
struct UnreadableRecord {
    /// Under `peers` (v1) rather than `resources`.
    v1: bool,
    record: PeerRecord,
    /// The resource it would be, when its kind and name say.
    key: Option<ResourceKey>,
    report: UnreadableResource,
}

/// Reads and validates one stored document, as a datastore holds it.
fn read_record(value: serde_yaml::Value, position: usize) -> Result<Resource, String> {
    let document = AnyDocument::read(value, Strictness::Store)
        .map_err(|problem| format!("document {position}: {problem}"))?;
    document
        .validate(position, Strictness::Store)
        .map_err(|error| error.to_string())
}

fn write_record(resource: &Resource) -> serde_yaml::Value {
    // Plain documents of strings, integers and booleans: conversion cannot fail.
    serde_yaml::to_value(AnyDocument::from(resource)).expect("resource documents always convert")
}

impl State {
    fn record(&mut self, changes: Vec<ResourceChange>) {
        self.changes.extend(changes);
        while self.changes.len() > CHANGE_HISTORY_LIMIT {
            if let Some(dropped) = self.changes.pop_front() {
                self.compacted_through = dropped.revision();
            }
        }
    }

    fn from_file(file: StoreFile, path: &Path) -> Result<State, String> {
        if file.format_version != FORMAT_VERSION {
            return Err(format!(
                "unsupported format version {} (this build reads {FORMAT_VERSION})",
                file.format_version
            ));
        }
        let mut table = ResourceTable {
            revision: Revision(file.revision),
            ..ResourceTable::default()
        };
        let mut unreadable = Vec::new();
        let peers = file.peers.into_iter().map(|record| (true, record));
        let resources = file.resources.into_iter().map(|record| (false, record));
        for (index, (v1, record)) in peers.chain(resources).enumerate() {
            let (kind, name, key) = describe_value(&record.resource);
            let section = if v1 { "peers" } else { "resources" };
            let location = format!("{} ({section} entry {})", path.display(), index + 1);
            let reason = match read_record(record.resource.clone(), index + 1) {
                Ok(resource) if table.resources.contains_key(&resource.key()) => {
                    format!("{} is stored twice; the first one is used", resource.key())
                }
                Ok(resource) => {
                    let stored = StoredResource {
                        resource,
                        revision: Revision(record.revision),
                    };
                    table.resources.insert(stored.resource.key(), stored);
                    continue;
                }
                Err(reason) => reason,
            };
            unreadable.push(UnreadableRecord {
                v1,
                record,
                key,
                report: UnreadableResource {
                    kind,
                    name,
                    location,
                    reason,
                },
            });
        }
        let mut compacted_through = Revision(file.compacted_through);
        let mut changes = VecDeque::with_capacity(file.changes.len());
        for (index, record) in file.changes.into_iter().enumerate() {
            let revision = Revision(record.revision);
            let Ok(resource) = read_record(record.resource, index + 1) else {
                compacted_through = compacted_through.max(revision);
                continue;
            };
            changes.push_back(match record.change_type {
                ChangeType::Put => ResourceChange::Put { resource, revision },
                ChangeType::Delete => ResourceChange::Deleted { resource, revision },
            });
        }
        // What came before a dropped entry is no use without it.
        changes.retain(|change| change.revision() > compacted_through);
        Ok(State {
            table,
            compacted_through,
            changes,
            unreadable,
        })
    }

    fn to_text(&self) -> String {
        let record = |stored: &StoredResource| PeerRecord {
            revision: stored.revision.0,
            resource: write_record(&stored.resource),
        };
        let (peers, resources): (Vec<&StoredResource>, Vec<&StoredResource>) = self
            .table
            .resources
            .values()
            .partition(|stored| matches!(stored.resource, Resource::BgpPeer(_)));
        let unreadable = |v1: bool| {
            self.unreadable
                .iter()
                .filter(move |unreadable| unreadable.v1 == v1)
                .map(|unreadable| PeerRecord {
                    revision: unreadable.record.revision,
                    resource: unreadable.record.resource.clone(),
                })
        };
        let file = StoreFile {
            format_version: FORMAT_VERSION,
            revision: self.table.revision.0,
            compacted_through: self.compacted_through.0,
            peers: peers
                .into_iter()
                .map(record)
                .chain(unreadable(true))
                .collect(),
            resources: resources
                .into_iter()
                .map(record)
                .chain(unreadable(false))
                .collect(),
            changes: self
                .changes
                .iter()
                .map(|change| ChangeRecord {
                    revision: change.revision().0,
                    change_type: match change {
                        ResourceChange::Put { .. } => ChangeType::Put,
                        ResourceChange::Deleted { .. } => ChangeType::Delete,
                    },
                    resource: write_record(change.resource()),
                })
                .collect(),
        };
        // Strings, integers and plain structs only: serialization cannot fail.
        serde_yaml::to_string(&file).expect("store state always serializes")
    }
}
/// `store.yaml` on disk.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StoreFile {
    format_version: u32,
    revision: u64,
    #[serde(default)]
    compacted_through: u64,
    #[serde(default)]
    peers: Vec<PeerRecord>,
    /// v3 resources; absent in stores written before they existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resources: Vec<PeerRecord>,
    #[serde(default)]
    changes: Vec<ChangeRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PeerRecord {
    revision: u64,
    resource: serde_yaml::Value,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChangeRecord {
    revision: u64,
    #[serde(rename = "type")]
    change_type: ChangeType,
    resource: serde_yaml::Value,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum ChangeType {
    Put,
    Delete,
}
