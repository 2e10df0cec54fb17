//! The datastore contract every backend (file, etcd v3/v2, Kubernetes API) fulfils.
//!
//! The trait is synchronous: backends do blocking I/O and the daemon calls them
//! from `spawn_blocking`. Watching is polling: read a [`Listing`], then ask for
//! [`PeerStore::changes_since`] its revision, again and again.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::model::{BgpPeer, NodeName, PeerKey, ScopeKind};

/// A point in the store's history. Every committed write batch gets the next one;
/// a resource remembers the revision that last wrote it (etcd's `mod_revision`,
/// Kubernetes' `resourceVersion`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Revision(pub u64);

impl Revision {
    /// The revision of an empty, never written store.
    pub const INITIAL: Revision = Revision(0);

    fn next(self) -> Revision {
        Revision(self.0 + 1)
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

/// A peer as stored, with the revision that last wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPeer {
    /// The peer.
    pub peer: BgpPeer,
    /// The revision of its last write; pass it back to replace or delete it safely.
    pub revision: Revision,
}

/// The result of [`PeerStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The store revision the listing reflects: start [`PeerStore::changes_since`] here.
    pub revision: Revision,
    /// The matching peers, ordered by key (global first, then by node, then address).
    pub peers: Vec<StoredPeer>,
}

/// Which peers to list. Absent fields match everything, as in calicoctl v1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only global or only node-scoped peers.
    pub scope: Option<ScopeKind>,
    /// Only this node's peers (never global ones).
    pub node: Option<NodeName>,
    /// Only peers at this address (any port).
    pub peer_address: Option<IpAddr>,
}

impl ListFilter {
    /// Matches every peer.
    pub fn all() -> Self {
        ListFilter::default()
    }

    /// Whether a peer with this key is selected.
    pub fn matches(&self, key: &PeerKey) -> bool {
        let scope_matches = self.scope.is_none_or(|scope| key.scope.kind() == scope);
        let node_matches = self
            .node
            .as_ref()
            .is_none_or(|node| key.scope.node() == Some(node));
        let address_matches = self
            .peer_address
            .is_none_or(|address| key.peer_address == address);
        scope_matches && node_matches && address_matches
    }
}

/// One entry of the store's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The peer was created or its AS number changed.
    Put {
        /// The peer as it now is.
        peer: BgpPeer,
        /// The revision of the write.
        revision: Revision,
    },
    /// The peer was deleted.
    Deleted {
        /// The peer as it was.
        peer: BgpPeer,
        /// The revision of the delete.
        revision: Revision,
    },
}

impl Change {
    /// The revision of the batch that made this change.
    pub fn revision(&self) -> Revision {
        match self {
            Change::Put { revision, .. } | Change::Deleted { revision, .. } => *revision,
        }
    }

    /// The peer written, or the one deleted.
    pub fn peer(&self) -> &BgpPeer {
        match self {
            Change::Put { peer, .. } | Change::Deleted { peer, .. } => peer,
        }
    }
}

/// The result of [`PeerStore::changes_since`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    /// The store revision now: pass it to the next call.
    pub revision: Revision,
    /// Every change after the requested revision, oldest first. All changes of one
    /// batch share a revision and are returned together.
    pub changes: Vec<Change>,
}

/// One write in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// Add a peer; fails with [`StoreError::AlreadyExists`] unless `skip_if_exists`.
    Create {
        /// The peer.
        peer: BgpPeer,
        /// Treat an existing peer as success (`--skip-exists`).
        skip_if_exists: bool,
    },
    /// Change an existing peer; fails with [`StoreError::NotFound`] when absent and
    /// with [`StoreError::Conflict`] when `expected_revision` is given and stale.
    Replace {
        /// The peer.
        peer: BgpPeer,
        /// The revision the caller read, or `None` to overwrite unconditionally.
        expected_revision: Option<Revision>,
    },
    /// Create or replace (upsert).
    Apply {
        /// The peer.
        peer: BgpPeer,
    },
    /// Remove a peer; fails with [`StoreError::NotFound`] unless `skip_if_missing`,
    /// and with [`StoreError::Conflict`] when `expected_revision` is stale.
    Delete {
        /// Which peer.
        key: PeerKey,
        /// The revision the caller read, or `None` to delete unconditionally.
        expected_revision: Option<Revision>,
        /// Treat an absent peer as success (`--skip-not-exists`).
        skip_if_missing: bool,
    },
}

impl Operation {
    /// The key the operation writes.
    pub fn key(&self) -> PeerKey {
        match self {
            Operation::Create { peer, .. }
            | Operation::Replace { peer, .. }
            | Operation::Apply { peer } => peer.key(),
            Operation::Delete { key, .. } => key.clone(),
        }
    }
}

/// What an operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The peer did not exist and now does.
    Created,
    /// The peer existed and its AS number changed.
    Replaced,
    /// The peer existed exactly as given; nothing was written (no new revision, no
    /// change event), as Kubernetes does for no-op updates.
    Unchanged,
    /// The peer was removed.
    Deleted,
    /// `Create` with `skip_if_exists` found the peer already there.
    SkippedExisting,
    /// `Delete` with `skip_if_missing` found no peer.
    SkippedMissing,
}

/// The result of one operation in a committed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The peer's identity.
    pub key: PeerKey,
    /// What happened.
    pub action: Action,
    /// The peer's revision afterwards (for a delete, the revision of the delete; for
    /// a skipped missing peer, the store revision).
    pub revision: Revision,
}

impl fmt::Display for Outcome {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.action {
            Action::Created => "created",
            Action::Replaced => "replaced",
            Action::Unchanged => "unchanged",
            Action::Deleted => "deleted",
            Action::SkippedExisting => "skipped (already exists)",
            Action::SkippedMissing => "skipped (does not exist)",
        };
        write!(
            formatter,
            "{}: {action} at revision {}",
            self.key, self.revision
        )
    }
}

/// Why a store operation failed. The first three read as libcalico-go's errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Create of a peer that exists.
    #[error("resource already exists: {0}")]
    AlreadyExists(PeerKey),
    /// Replace or delete of a peer that does not exist.
    #[error("resource does not exist: {0}")]
    NotFound(PeerKey),
    /// Replace or delete with a revision that is no longer the peer's.
    #[error("update conflict: {key} (read at revision {expected}, now at revision {actual})")]
    Conflict {
        /// The peer.
        key: PeerKey,
        /// The revision the caller read.
        expected: Revision,
        /// The peer's revision now.
        actual: Revision,
    },
    /// The history before this revision has been dropped: list again.
    #[error("revision {requested} is compacted (history kept after revision {compacted_through}); list again")]
    Compacted {
        /// The revision asked for.
        requested: Revision,
        /// The last revision whose changes may be missing.
        compacted_through: Revision,
    },
    /// The revision is ahead of the store (the store was reset): list again.
    #[error("revision {requested} is ahead of the store's revision {current}; list again")]
    FutureRevision {
        /// The revision asked for.
        requested: Revision,
        /// The store's revision.
        current: Revision,
    },
    /// The stored data cannot be read back.
    #[error("datastore {path} is corrupt: {message}")]
    Corrupt {
        /// The file or key.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing the datastore failed.
    #[error("datastore I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// A batch that did not fully apply.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct BatchError {
    /// The 0-based position of the failing operation, or `None` when the batch
    /// failed as a whole (I/O, unreadable store).
    pub index: Option<usize>,
    /// How many operations before it were committed anyway: always 0 for
    /// transactional backends (file, etcd v3); backends without multi-key
    /// transactions apply in order and stop at the first error.
    pub committed: usize,
    /// Why it failed.
    pub error: StoreError,
}

/// A bgpPeer datastore.
///
/// Backends implement [`get`](PeerStore::get), [`list`](PeerStore::list),
/// [`changes_since`](PeerStore::changes_since) and
/// [`write_batch`](PeerStore::write_batch); the single-peer writes are provided on
/// top of `write_batch` and may be overridden.
pub trait PeerStore: Send + Sync {
    /// The peer with this key, if any.
    fn get(&self, key: &PeerKey) -> Result<Option<StoredPeer>, StoreError>;

    /// The peers matching `filter`, with the store revision they reflect.
    fn list(&self, filter: &ListFilter) -> Result<Listing, StoreError>;

    /// The changes after `since`, for polling. Fails with [`StoreError::Compacted`]
    /// or [`StoreError::FutureRevision`] when the caller must list again.
    fn changes_since(&self, since: Revision) -> Result<ChangeSet, StoreError>;

    /// Applies `operations` in order, all or nothing where the backend can (see
    /// [`BatchError::committed`]). Operations see the effects of earlier ones.
    fn write_batch(&self, operations: &[Operation]) -> Result<Vec<Outcome>, BatchError>;

    /// Adds a peer; [`StoreError::AlreadyExists`] if its key is taken.
    fn create(&self, peer: BgpPeer) -> Result<StoredPeer, StoreError> {
        let outcome = write_one(
            self,
            Operation::Create {
                peer: peer.clone(),
                skip_if_exists: false,
            },
        )?;
        Ok(StoredPeer {
            peer,
            revision: outcome.revision,
        })
    }

    /// Changes an existing peer (the update); [`StoreError::NotFound`] if absent,
    /// [`StoreError::Conflict`] if `expected_revision` is given and stale.
    fn replace(
        &self,
        peer: BgpPeer,
        expected_revision: Option<Revision>,
    ) -> Result<StoredPeer, StoreError> {
        let outcome = write_one(
            self,
            Operation::Replace {
                peer: peer.clone(),
                expected_revision,
            },
        )?;
        Ok(StoredPeer {
            peer,
            revision: outcome.revision,
        })
    }

    /// Creates or replaces a peer.
    fn apply(&self, peer: BgpPeer) -> Result<StoredPeer, StoreError> {
        let outcome = write_one(self, Operation::Apply { peer: peer.clone() })?;
        Ok(StoredPeer {
            peer,
            revision: outcome.revision,
        })
    }

    /// Removes a peer, returning the revision of the delete; [`StoreError::NotFound`]
    /// if absent, [`StoreError::Conflict`] if `expected_revision` is given and stale.
    fn delete(
        &self,
        key: &PeerKey,
        expected_revision: Option<Revision>,
    ) -> Result<Revision, StoreError> {
        let outcome = write_one(
            self,
            Operation::Delete {
                key: key.clone(),
                expected_revision,
                skip_if_missing: false,
            },
        )?;
        Ok(outcome.revision)
    }
}

fn write_one<S: PeerStore + ?Sized>(
    store: &S,
    operation: Operation,
) -> Result<Outcome, StoreError> {
    let mut outcomes = store
        .write_batch(std::slice::from_ref(&operation))
        .map_err(|failure| failure.error)?;
    match outcomes.pop() {
        Some(outcome) => Ok(outcome),
        // A backend returning no outcome for one operation breaks the contract; say
        // which peer rather than panicking in the caller.
        None => Err(StoreError::Corrupt {
            path: PathBuf::new(),
            message: format!("no outcome returned for {}", operation.key()),
        }),
    }
}

/// The peers of a store in memory, and the all-or-nothing application of a batch
/// to them: the transaction logic every backend that loads state can share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PeerTable {
    pub(crate) revision: Revision,
    pub(crate) peers: BTreeMap<PeerKey, StoredPeer>,
}

impl PeerTable {
    /// Applies `operations` to a copy; on success returns the new table, the
    /// outcomes and the changes (all at one new revision, or none if nothing
    /// changed). On failure `self` is untouched.
    pub(crate) fn apply(
        &self,
        operations: &[Operation],
    ) -> Result<(PeerTable, Vec<Outcome>, Vec<Change>), BatchError> {
        let revision = self.revision.next();
        let mut peers = self.peers.clone();
        let mut outcomes = Vec::with_capacity(operations.len());
        let mut changes = Vec::new();
        for (index, operation) in operations.iter().enumerate() {
            let fail = |error| BatchError {
                index: Some(index),
                committed: 0,
                error,
            };
            let key = operation.key();
            let existing = peers.get(&key).cloned();
            let check_revision = |expected: Option<Revision>, current: &StoredPeer| match expected {
                Some(expected) if expected != current.revision => Err(StoreError::Conflict {
                    key: key.clone(),
                    expected,
                    actual: current.revision,
                }),
                _ => Ok(()),
            };
            let (action, outcome_revision) = match (operation, existing) {
                (Operation::Create { skip_if_exists, .. }, Some(current)) => {
                    if !skip_if_exists {
                        return Err(fail(StoreError::AlreadyExists(key)));
                    }
                    (Action::SkippedExisting, current.revision)
                }
                (Operation::Replace { .. }, None) => {
                    return Err(fail(StoreError::NotFound(key)));
                }
                (
                    Operation::Replace {
                        peer,
                        expected_revision,
                    },
                    Some(current),
                ) => {
                    check_revision(*expected_revision, &current).map_err(fail)?;
                    put(&mut peers, &mut changes, peer, revision, Some(&current))
                }
                (Operation::Create { peer, .. } | Operation::Apply { peer }, current) => {
                    put(&mut peers, &mut changes, peer, revision, current.as_ref())
                }
                (
                    Operation::Delete {
                        skip_if_missing, ..
                    },
                    None,
                ) => {
                    if !skip_if_missing {
                        return Err(fail(StoreError::NotFound(key)));
                    }
                    (Action::SkippedMissing, self.revision)
                }
                (
                    Operation::Delete {
                        expected_revision, ..
                    },
                    Some(current),
                ) => {
                    check_revision(*expected_revision, &current).map_err(fail)?;
                    peers.remove(&key);
                    changes.push(Change::Deleted {
                        peer: current.peer,
                        revision,
                    });
                    (Action::Deleted, revision)
                }
            };
            outcomes.push(Outcome {
                key,
                action,
                revision: outcome_revision,
            });
        }
        let table = PeerTable {
            revision: if changes.is_empty() {
                self.revision
            } else {
                revision
            },
            peers,
        };
        Ok((table, outcomes, changes))
    }

    pub(crate) fn list(&self, filter: &ListFilter) -> Listing {
        Listing {
            revision: self.revision,
            peers: self
                .peers
                .iter()
                .filter(|(key, _)| filter.matches(key))
                .map(|(_, stored)| stored.clone())
                .collect(),
        }
    }
}

/// Writes `peer` unless it is already stored exactly so.
fn put(
    peers: &mut BTreeMap<PeerKey, StoredPeer>,
    changes: &mut Vec<Change>,
    peer: &BgpPeer,
    revision: Revision,
    current: Option<&StoredPeer>,
) -> (Action, Revision) {
    match current {
        Some(current) if current.peer == *peer => (Action::Unchanged, current.revision),
        _ => {
            peers.insert(
                peer.key(),
                StoredPeer {
                    peer: peer.clone(),
                    revision,
                },
            );
            changes.push(Change::Put {
                peer: peer.clone(),
                revision,
            });
            let action = if current.is_some() {
                Action::Replaced
            } else {
                Action::Created
            };
            (action, revision)
        }
    }
}
