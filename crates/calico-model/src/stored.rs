//! What a datastore hands back: resources with the revision that last wrote
//! them (a v3 resource's `resourceVersion`). Data only; the stores that
//! produce them are in `peer-store`.

use std::fmt;

use crate::model::BgpPeer;
use crate::resource::Resource;

/// A point in the store's history. Every committed write batch gets the next one;
/// a resource remembers the revision that last wrote it (etcd's `mod_revision`,
/// Kubernetes' `resourceVersion`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Revision(pub u64);

impl Revision {
    /// The revision of an empty, never written store.
    pub const INITIAL: Revision = Revision(0);

    /// The revision after this one.
    pub fn next(self) -> Revision {
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

/// A resource as stored, with the revision that last wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResource {
    /// The resource.
    pub resource: Resource,
    /// The revision of its last write.
    pub revision: Revision,
}

impl StoredResource {
    /// The v1 peer view, for a v1 bgpPeer.
    pub fn into_peer(self) -> Option<StoredPeer> {
        match self.resource {
            Resource::BgpPeer(peer) => Some(StoredPeer {
                peer,
                revision: self.revision,
            }),
            _ => None,
        }
    }
}

impl From<StoredPeer> for StoredResource {
    fn from(stored: StoredPeer) -> Self {
        StoredResource {
            resource: Resource::BgpPeer(stored.peer),
            revision: stored.revision,
        }
    }
}
