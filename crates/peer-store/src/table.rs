//! The resources of a store in memory, and the all-or-nothing application of a
//! batch to them: the transaction logic every backend that loads state shares.
//!
//! Writes of v3 resources (but Calico IPAM's records, `BlockAffinity` and
//! `IPAMBlock`, which carry no identity of their own) also settle their
//! metadata here, so every backend does it alike: a created resource gets a `uid` and a `creationTimestamp`
//! unless it has them (Calico's `Create`); an updated one keeps the stored
//! metadata but for `labels` and `annotations` (calicoctl's
//! `mergeMetadataForUpdate`), so that an update never loses the identity.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::resource::{Resource, ResourceKey};
use crate::store::{
    Action, BatchError, Outcome, ResourceChange, ResourceFilter, ResourceListing,
    ResourceOperation, Revision, StoreError, StoredResource,
};
use crate::v3::{stamp, unmodelled};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ResourceTable {
    pub(crate) revision: Revision,
    pub(crate) resources: BTreeMap<ResourceKey, StoredResource>,
}

impl ResourceTable {
    /// Applies `operations` to a copy; on success returns the new table, the
    /// outcomes and the changes (all at one new revision, or none if nothing
    /// changed). On failure `self` is untouched. `now` is the creation time
    /// given to created resources.
    pub(crate) fn apply(
        &self,
        operations: &[ResourceOperation],
        now: SystemTime,
    ) -> Result<(ResourceTable, Vec<Outcome>, Vec<ResourceChange>), BatchError> {
        let created_at = stamp::timestamp(now);
        let revision = self.revision.next();
        let mut resources = self.resources.clone();
        let mut outcomes = Vec::with_capacity(operations.len());
        let mut changes = Vec::new();
        for (index, operation) in operations.iter().enumerate() {
            let fail = |error| BatchError {
                index: Some(index),
                committed: 0,
                error,
            };
            let key = operation.key();
            let existing = resources.get(&key).cloned();
            let check_revision =
                |expected: Option<Revision>, current: &StoredResource| match expected {
                    Some(expected) if expected != current.revision => Err(StoreError::Conflict {
                        key: key.clone(),
                        expected,
                        actual: current.revision,
                    }),
                    _ => Ok(()),
                };
            let mut write = Write {
                resources: &mut resources,
                changes: &mut changes,
                revision,
                created_at: &created_at,
            };
            let (action, outcome_revision, stored) = match (operation, existing) {
                (ResourceOperation::Create { skip_if_exists, .. }, Some(current)) => {
                    if !skip_if_exists {
                        return Err(fail(StoreError::AlreadyExists(key)));
                    }
                    (Action::SkippedExisting, current.revision, None)
                }
                (ResourceOperation::Replace { .. }, None) => {
                    return Err(fail(StoreError::NotFound(key)));
                }
                (
                    ResourceOperation::Replace {
                        resource,
                        expected_revision,
                    }
                    | ResourceOperation::Apply {
                        resource,
                        expected_revision,
                    },
                    Some(current),
                ) => {
                    check_revision(*expected_revision, &current).map_err(fail)?;
                    write.put(resource, Some(&current))
                }
                (
                    ResourceOperation::Create { resource, .. }
                    | ResourceOperation::Apply { resource, .. },
                    None,
                ) => write.put(resource, None),
                (
                    ResourceOperation::Delete {
                        skip_if_missing, ..
                    },
                    None,
                ) => {
                    if !skip_if_missing {
                        return Err(fail(StoreError::NotFound(key)));
                    }
                    (Action::SkippedMissing, self.revision, None)
                }
                (
                    ResourceOperation::Delete {
                        expected_revision, ..
                    },
                    Some(current),
                ) => {
                    check_revision(*expected_revision, &current).map_err(fail)?;
                    write.resources.remove(&key);
                    write.changes.push(ResourceChange::Deleted {
                        resource: current.resource,
                        revision,
                    });
                    (Action::Deleted, revision, None)
                }
            };
            outcomes.push(Outcome {
                key,
                action,
                revision: outcome_revision,
                stored,
            });
        }
        let table = ResourceTable {
            revision: if changes.is_empty() {
                self.revision
            } else {
                revision
            },
            resources,
        };
        Ok((table, outcomes, changes))
    }

    pub(crate) fn list(&self, filter: &ResourceFilter) -> ResourceListing {
        ResourceListing {
            revision: self.revision,
            resources: self
                .resources
                .values()
                .filter(|stored| filter.matches(&stored.resource))
                .cloned()
                .collect(),
            unreadable: Vec::new(),
        }
    }
}

/// Where one operation of a batch writes.
struct Write<'batch> {
    resources: &'batch mut BTreeMap<ResourceKey, StoredResource>,
    changes: &'batch mut Vec<ResourceChange>,
    revision: Revision,
    created_at: &'batch str,
}

impl Write<'_> {
    /// Writes `resource` (its metadata settled against `current`) unless it
    /// is already stored exactly so.
    fn put(
        &mut self,
        resource: &Resource,
        current: Option<&StoredResource>,
    ) -> (Action, Revision, Option<Resource>) {
        let mut resource = resource.clone();
        let sets_identity = resource.store_sets_identity();
        if let Some(metadata) = resource.stored_metadata_mut().filter(|_| sets_identity) {
            if let Some(stored) = current.and_then(|current| current.resource.stored_metadata()) {
                unmodelled::merge_for_update(metadata, stored);
            }
            // Also on update, for a resource stored before stores set them.
            let absent = |metadata: &serde_yaml::Mapping, field: &str| {
                metadata
                    .get(field)
                    .is_none_or(|value| value.is_null() || value.as_str() == Some(""))
            };
            if absent(metadata, "uid") {
                metadata.insert("uid".into(), stamp::new_uid().into());
            }
            if absent(metadata, "creationTimestamp") {
                metadata.insert("creationTimestamp".into(), self.created_at.into());
            }
        }
        match current {
            Some(current) if current.resource == resource => {
                (Action::Unchanged, current.revision, Some(resource))
            }
            _ => {
                self.resources.insert(
                    resource.key(),
                    StoredResource {
                        resource: resource.clone(),
                        revision: self.revision,
                    },
                );
                self.changes.push(ResourceChange::Put {
                    resource: resource.clone(),
                    revision: self.revision,
                });
                let action = if current.is_some() {
                    Action::Replaced
                } else {
                    Action::Created
                };
                (action, self.revision, Some(resource))
            }
        }
    }
}
