//! The datastore contract every backend (file, etcd v3/v2, Kubernetes API) fulfils.
//!
//! The trait is synchronous: backends do blocking I/O and the daemon calls them
//! from `spawn_blocking`. Watching is polling: read a [`ResourceListing`], then ask
//! for [`PeerStore::resource_changes_since`] its revision, again and again.
//!
//! Every kind ([`Resource`]) goes through the same four backend methods; the v1
//! bgpPeer methods ([`PeerStore::get`], [`PeerStore::list`],
//! [`PeerStore::write_batch`], …) are views of them restricted to v1 peers.
//!
//! **Bad data never hides good data.** A stored entry that does not read as a
//! resource (bad JSON, an invalid field, a kind nodebgp does not know) is left
//! out of [`ResourceListing::resources`] and reported in
//! [`ResourceListing::unreadable`] with where it is and why; everything else is
//! listed. Such an entry is never rewritten or dropped by a write of other
//! resources.
//!
//! **Identity.** Creating a v3 resource gives it `metadata.uid` (a random UUID)
//! and `metadata.creationTimestamp` unless it has them, as Calico's `Create`
//! does (not Calico IPAM's records, `BlockAffinity` and `IPAMBlock`, which
//! Calico keeps without metadata in etcd); an update keeps the stored ones (and every other metadata field but
//! `labels` and `annotations`), as calicoctl does. A resource's revision is
//! its `resourceVersion`.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::kind::ResourceKind;
use crate::model::{BgpPeer, NodeName, PeerKey, ScopeKind};
use crate::resource::{Resource, ResourceKey};
pub(crate) use crate::stored::{Revision, StoredPeer, StoredResource};
use crate::v3::bgp_peer::PeerTarget;

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
    /// The resource's identity.
    pub key: ResourceKey,
    /// What happened.
    pub action: Action,
    /// The peer's revision afterwards (for a delete, the revision of the delete; for
    /// a skipped missing peer, the store revision).
    pub revision: Revision,
    /// The resource as stored afterwards, with what the store added (`uid`,
    /// `creationTimestamp`): for creates, replaces, applies and unchanged
    /// writes; `None` for deletes and skips.
    pub stored: Option<Resource>,
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
    /// Create of a resource that exists.
    #[error("resource already exists: {0}")]
    AlreadyExists(ResourceKey),
    /// Replace or delete of a resource that does not exist.
    #[error("resource does not exist: {0}")]
    NotFound(ResourceKey),
    /// Replace or delete with a revision that is no longer the resource's:
    /// libcalico-go's `ErrorResourceUpdateConflict` (`update conflict: <id>`),
    /// with the revisions calicoctl explains it with.
    #[error("update conflict: {key} (read at revision {expected}, now at revision {actual})")]
    Conflict {
        /// The resource.
        key: ResourceKey,
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
    /// The key a resource is kept at holds another resource: a v1 bgpPeer
    /// and the v3 BGPPeer named as its conversion, on etcd v3.
    #[error("{key} is kept at {location}, which holds {occupant}: delete or rename that first")]
    Occupied {
        /// The resource written.
        key: Box<ResourceKey>,
        /// The datastore key both would be at.
        location: String,
        /// The resource there now.
        occupant: Box<ResourceKey>,
    },
    /// The stored data cannot be read back.
    #[error("datastore {path} is corrupt: {message}")]
    Corrupt {
        /// The file or key.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// This backend cannot hold this kind of resource.
    #[error("{store} cannot store {key}: {reason}")]
    Unsupported {
        /// Which backend.
        store: &'static str,
        /// The resource.
        key: ResourceKey,
        /// Why, and what to use instead.
        reason: &'static str,
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

/// A datastore of bgpPeer, BGPPeer, Node, BGPConfiguration, IPPool,
/// BlockAffinity and IPAMBlock resources.
///
/// Backends implement [`get_resource`](PeerStore::get_resource),
/// [`list_resources`](PeerStore::list_resources),
/// [`resource_changes_since`](PeerStore::resource_changes_since) and
/// [`write_resources`](PeerStore::write_resources); everything else is provided
/// on top of them and may be overridden.
pub trait PeerStore: Send + Sync {
    /// The resource with this key, if any.
    fn get_resource(&self, key: &ResourceKey) -> Result<Option<StoredResource>, StoreError>;

    /// The resources matching `filter`, with the store revision they reflect,
    /// ordered by key (v1 peers first, then v3 BGPPeers, Nodes,
    /// BGPConfigurations, IPPools, BlockAffinities, IPAMBlocks).
    fn list_resources(&self, filter: &ResourceFilter) -> Result<ResourceListing, StoreError>;

    /// The changes after `since`, for polling. Fails with [`StoreError::Compacted`]
    /// or [`StoreError::FutureRevision`] when the caller must list again.
    fn resource_changes_since(&self, since: Revision) -> Result<ResourceChangeSet, StoreError>;

    /// Applies `operations` in order, all or nothing where the backend can (see
    /// [`BatchError::committed`]). Operations see the effects of earlier ones.
    fn write_resources(&self, operations: &[ResourceOperation])
        -> Result<Vec<Outcome>, BatchError>;

    /// The changes after `since` to a listing of everything
    /// ([`ResourceFilter::all`]), unreadable entries included: for a reader
    /// that keeps a copy of that listing up to date. The same errors as
    /// [`resource_changes_since`](PeerStore::resource_changes_since).
    ///
    /// Provided: the resource changes alone, for backends whose history has no
    /// unreadable entries (the file store's appear only by editing its file,
    /// which is not in its history either: follow that file, not this).
    /// [`EtcdStore`](crate::EtcdStore) reports them.
    fn listing_changes_since(&self, since: Revision) -> Result<ListingChangeSet, StoreError> {
        let changes = self.resource_changes_since(since)?;
        Ok(ListingChangeSet {
            revision: changes.revision,
            changes: changes
                .changes
                .into_iter()
                .map(ListingChange::Resource)
                .collect(),
        })
    }

    /// The v1 peer with this key, if any.
    fn get(&self, key: &PeerKey) -> Result<Option<StoredPeer>, StoreError> {
        Ok(self
            .get_resource(&ResourceKey::BgpPeer(key.clone()))?
            .and_then(StoredResource::into_peer))
    }

    /// The v1 peers matching `filter`, with the store revision they reflect.
    fn list(&self, filter: &ListFilter) -> Result<Listing, StoreError> {
        let listing = self.list_resources(&ResourceFilter {
            kind: Some(ResourceKind::BgpPeer),
            name: None,
            peers: filter.clone(),
        })?;
        Ok(Listing {
            revision: listing.revision,
            peers: listing
                .resources
                .into_iter()
                .filter_map(StoredResource::into_peer)
                .collect(),
        })
    }

    /// The v1 peer changes after `since` (see
    /// [`resource_changes_since`](PeerStore::resource_changes_since)).
    fn changes_since(&self, since: Revision) -> Result<ChangeSet, StoreError> {
        let changes = self.resource_changes_since(since)?;
        Ok(ChangeSet {
            revision: changes.revision,
            changes: changes
                .changes
                .into_iter()
                .filter_map(ResourceChange::into_peer_change)
                .collect(),
        })
    }

    /// Applies v1 peer `operations` (see [`write_resources`](PeerStore::write_resources)).
    fn write_batch(&self, operations: &[Operation]) -> Result<Vec<Outcome>, BatchError> {
        let operations: Vec<ResourceOperation> = operations
            .iter()
            .cloned()
            .map(ResourceOperation::from)
            .collect();
        self.write_resources(&operations)
    }

    /// Adds a resource of any kind; [`StoreError::AlreadyExists`] if its key is taken.
    fn create_resource(&self, resource: Resource) -> Result<StoredResource, StoreError> {
        write_one_resource(
            self,
            ResourceOperation::Create {
                resource,
                skip_if_exists: false,
            },
        )
    }

    /// Changes an existing resource; [`StoreError::NotFound`] if absent,
    /// [`StoreError::Conflict`] if `expected_revision` is given and stale.
    fn replace_resource(
        &self,
        resource: Resource,
        expected_revision: Option<Revision>,
    ) -> Result<StoredResource, StoreError> {
        write_one_resource(
            self,
            ResourceOperation::Replace {
                resource,
                expected_revision,
            },
        )
    }

    /// Creates or replaces a resource.
    fn apply_resource(&self, resource: Resource) -> Result<StoredResource, StoreError> {
        write_one_resource(
            self,
            ResourceOperation::Apply {
                resource,
                expected_revision: None,
            },
        )
    }

    /// Removes a resource, returning the revision of the delete.
    fn delete_resource(
        &self,
        key: &ResourceKey,
        expected_revision: Option<Revision>,
    ) -> Result<Revision, StoreError> {
        let operation = ResourceOperation::Delete {
            key: key.clone(),
            expected_revision,
            skip_if_missing: false,
        };
        let mut outcomes = self
            .write_resources(std::slice::from_ref(&operation))
            .map_err(|failure| failure.error)?;
        outcomes
            .pop()
            .map(|outcome| outcome.revision)
            .ok_or_else(|| StoreError::Corrupt {
                path: PathBuf::new(),
                message: format!("no outcome returned for {key}"),
            })
    }

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

fn write_one_resource<S: PeerStore + ?Sized>(
    store: &S,
    operation: ResourceOperation,
) -> Result<StoredResource, StoreError> {
    let mut outcomes = store
        .write_resources(std::slice::from_ref(&operation))
        .map_err(|failure| failure.error)?;
    let resource = match operation {
        ResourceOperation::Create { resource, .. }
        | ResourceOperation::Replace { resource, .. }
        | ResourceOperation::Apply { resource, .. } => resource,
        ResourceOperation::Delete { key, .. } => {
            return Err(StoreError::Corrupt {
                path: PathBuf::new(),
                message: format!("delete of {key} has no resource to return"),
            })
        }
    };
    match outcomes.pop() {
        Some(outcome) => Ok(StoredResource {
            resource: outcome.stored.unwrap_or(resource),
            revision: outcome.revision,
        }),
        None => Err(StoreError::Corrupt {
            path: PathBuf::new(),
            message: format!("no outcome returned for {}", resource.key()),
        }),
    }
}

/// The result of [`PeerStore::list_resources`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceListing {
    /// The store revision the listing reflects.
    pub revision: Revision,
    /// The matching resources, ordered by key.
    pub resources: Vec<StoredResource>,
    /// Stored entries in the listed range that are not valid resources: left
    /// out of `resources`, everything else is listed.
    pub unreadable: Vec<UnreadableResource>,
}

/// A stored entry that does not read as a resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnreadableResource {
    /// The kind its key or document names (`BGPPeer`, `Node`, …), when it
    /// names one nodebgp knows.
    pub kind: Option<&'static str>,
    /// Its name, when known (`metadata.name`, or a key's last segment).
    pub name: Option<String>,
    /// Where it is: the etcd key, or its place in the file store.
    pub location: String,
    /// Why it cannot be read.
    pub reason: String,
}

impl fmt::Display for UnreadableResource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.location, self.reason)
    }
}

/// Which resources to list. Absent fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceFilter {
    /// Only this type (v1 and v3 peers are both [`ResourceKind::BgpPeer`]).
    pub kind: Option<ResourceKind>,
    /// Only this name: a v3 `metadata.name`, or a v1 peer's address.
    pub name: Option<String>,
    /// For peers (v1 and v3): scope, node and address. A v3 peer is node-scoped
    /// when it has a `node` or a `nodeSelector`; `node` matches its `node` only.
    pub peers: ListFilter,
}

impl ResourceFilter {
    /// Matches every resource.
    pub fn all() -> Self {
        ResourceFilter::default()
    }

    /// Only resources of this type.
    pub fn of_kind(kind: ResourceKind) -> Self {
        ResourceFilter {
            kind: Some(kind),
            ..ResourceFilter::default()
        }
    }

    /// Whether `resource` is selected.
    pub fn matches(&self, resource: &Resource) -> bool {
        if self.kind.is_some_and(|kind| kind != resource.kind()) {
            return false;
        }
        match resource {
            Resource::BgpPeer(peer) => {
                self.name
                    .as_ref()
                    .is_none_or(|name| *name == peer.peer_address.to_string())
                    && self.peers.matches(&peer.key())
            }
            Resource::BgpPeerV3(peer) => {
                let address = match &peer.target {
                    PeerTarget::Address { address, .. } => Some(*address),
                    PeerTarget::Selector(_) | PeerTarget::LocalWorkloads { .. } => None,
                };
                self.matches_v3_peer(
                    peer.name.as_str(),
                    peer.is_global(),
                    peer.node.as_ref().map(|own| own.as_str()),
                    address,
                )
            }
            Resource::Node(node) => self
                .name
                .as_ref()
                .is_none_or(|name| name == node.name.as_str()),
            Resource::BgpConfiguration(_)
            | Resource::IpPool(_)
            | Resource::BgpFilter(_)
            | Resource::BlockAffinity(_)
            | Resource::IpamBlock(_) => match resource.key() {
                ResourceKey::Named { name, .. } => self
                    .name
                    .as_ref()
                    .is_none_or(|wanted| *wanted == name.as_str()),
                ResourceKey::BgpPeer(_) => false,
            },
            Resource::UnsupportedBgpPeer(peer) => self.matches_v3_peer(
                peer.name.as_str(),
                peer.is_global(),
                peer.node.as_ref().map(|own| own.as_str()),
                peer.peer_address,
            ),
        }
    }

    /// A v3 BGPPeer (run or not) against the name and the peer filters.
    fn matches_v3_peer(
        &self,
        name: &str,
        global: bool,
        node: Option<&str>,
        address: Option<IpAddr>,
    ) -> bool {
        let scope = if global {
            ScopeKind::Global
        } else {
            ScopeKind::Node
        };
        self.name.as_ref().is_none_or(|wanted| wanted == name)
            && self.peers.scope.is_none_or(|wanted| wanted == scope)
            && self
                .peers
                .node
                .as_ref()
                .is_none_or(|wanted| node == Some(wanted.as_str()))
            && self
                .peers
                .peer_address
                .is_none_or(|wanted| address == Some(wanted))
    }

    /// Whether an unreadable entry belongs in the listing: when what is known
    /// of its kind and name does not rule it out.
    pub fn may_match(&self, unreadable: &UnreadableResource) -> bool {
        let kind_matches = match (self.kind, unreadable.kind) {
            (Some(kind), Some(found)) => kind.kind_name().eq_ignore_ascii_case(found),
            _ => true,
        };
        let name_matches = match (&self.name, &unreadable.name) {
            (Some(name), Some(found)) => name == found,
            _ => true,
        };
        kind_matches && name_matches
    }
}

/// One entry of the store's history, for any kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceChange {
    /// The resource was created or changed.
    Put {
        /// The resource as it now is.
        resource: Resource,
        /// The revision of the write.
        revision: Revision,
    },
    /// The resource was deleted.
    Deleted {
        /// The resource as it was.
        resource: Resource,
        /// The revision of the delete.
        revision: Revision,
    },
}

impl ResourceChange {
    /// The revision of the batch that made this change.
    pub fn revision(&self) -> Revision {
        match self {
            ResourceChange::Put { revision, .. } | ResourceChange::Deleted { revision, .. } => {
                *revision
            }
        }
    }

    /// The resource written, or the one deleted.
    pub fn resource(&self) -> &Resource {
        match self {
            ResourceChange::Put { resource, .. } | ResourceChange::Deleted { resource, .. } => {
                resource
            }
        }
    }

    /// The v1 peer view, for a change of a v1 bgpPeer.
    pub fn into_peer_change(self) -> Option<Change> {
        match self {
            ResourceChange::Put {
                resource: Resource::BgpPeer(peer),
                revision,
            } => Some(Change::Put { peer, revision }),
            ResourceChange::Deleted {
                resource: Resource::BgpPeer(peer),
                revision,
            } => Some(Change::Deleted { peer, revision }),
            _ => None,
        }
    }
}

/// The result of [`PeerStore::resource_changes_since`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChangeSet {
    /// The store revision now: pass it to the next call.
    pub revision: Revision,
    /// Every change after the requested revision, oldest first.
    pub changes: Vec<ResourceChange>,
}

/// One entry of the store's history as a listing of everything sees it:
/// [`PeerStore::listing_changes_since`]. A location (an etcd key) holds a
/// resource, an unreadable entry or nothing; every change of what it holds is
/// told in order, so that applying them to a listing gives the later listing.
// As large as a `ResourceChange`, which most entries are: boxing it would
// allocate for each of them to save room in the rare unreadable ones.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListingChange {
    /// A resource was written or deleted, as
    /// [`PeerStore::resource_changes_since`] tells it (a resource whose
    /// location now holds an unreadable value is deleted).
    Resource(ResourceChange),
    /// The entry at `entry.location` was written with a value that does not
    /// read: it is in [`ResourceListing::unreadable`] from this revision on,
    /// in place of whatever that location held.
    Unreadable {
        /// The entry, as a listing reports it.
        entry: UnreadableResource,
        /// The revision of the write.
        revision: Revision,
    },
    /// The entry at `location`, which did not read, was deleted or
    /// overwritten with a resource (told by the change after this one): it
    /// is no longer in [`ResourceListing::unreadable`].
    Cleared {
        /// [`UnreadableResource::location`] of the entry.
        location: String,
        /// The revision of the delete or write.
        revision: Revision,
    },
}

impl ListingChange {
    /// The revision of the batch that made this change.
    pub fn revision(&self) -> Revision {
        match self {
            ListingChange::Resource(change) => change.revision(),
            ListingChange::Unreadable { revision, .. }
            | ListingChange::Cleared { revision, .. } => *revision,
        }
    }
}

/// The result of [`PeerStore::listing_changes_since`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingChangeSet {
    /// The store revision now: pass it to the next call.
    pub revision: Revision,
    /// Every change after the requested revision, oldest first.
    pub changes: Vec<ListingChange>,
}

/// One write of any kind in a batch; the same rules as [`Operation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceOperation {
    /// Add a resource.
    Create {
        /// The resource.
        resource: Resource,
        /// Treat an existing resource as success.
        skip_if_exists: bool,
    },
    /// Change an existing resource.
    Replace {
        /// The resource.
        resource: Resource,
        /// The revision the caller read, or `None` to overwrite unconditionally.
        expected_revision: Option<Revision>,
    },
    /// Create or replace; when the resource exists and `expected_revision` is
    /// given and stale, a conflict (calicoctl's apply of a document carrying a
    /// `resourceVersion`).
    Apply {
        /// The resource.
        resource: Resource,
        /// The revision the caller read, checked only against an existing resource.
        expected_revision: Option<Revision>,
    },
    /// Remove a resource.
    Delete {
        /// Which resource.
        key: ResourceKey,
        /// The revision the caller read, or `None` to delete unconditionally.
        expected_revision: Option<Revision>,
        /// Treat an absent resource as success.
        skip_if_missing: bool,
    },
}

impl ResourceOperation {
    /// The key the operation writes.
    pub fn key(&self) -> ResourceKey {
        match self {
            ResourceOperation::Create { resource, .. }
            | ResourceOperation::Replace { resource, .. }
            | ResourceOperation::Apply { resource, .. } => resource.key(),
            ResourceOperation::Delete { key, .. } => key.clone(),
        }
    }

    /// The resource written, for every operation but a delete.
    pub fn resource(&self) -> Option<&Resource> {
        match self {
            ResourceOperation::Create { resource, .. }
            | ResourceOperation::Replace { resource, .. }
            | ResourceOperation::Apply { resource, .. } => Some(resource),
            ResourceOperation::Delete { .. } => None,
        }
    }
}

impl From<Operation> for ResourceOperation {
    fn from(operation: Operation) -> Self {
        match operation {
            Operation::Create {
                peer,
                skip_if_exists,
            } => ResourceOperation::Create {
                resource: Resource::BgpPeer(peer),
                skip_if_exists,
            },
            Operation::Replace {
                peer,
                expected_revision,
            } => ResourceOperation::Replace {
                resource: Resource::BgpPeer(peer),
                expected_revision,
            },
            Operation::Apply { peer } => ResourceOperation::Apply {
                resource: Resource::BgpPeer(peer),
                expected_revision: None,
            },
            Operation::Delete {
                key,
                expected_revision,
                skip_if_missing,
            } => ResourceOperation::Delete {
                key: ResourceKey::BgpPeer(key),
                expected_revision,
                skip_if_missing,
            },
        }
    }
}
