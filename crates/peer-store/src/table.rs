//! The resources of a store in memory, and the all-or-nothing application of a
//! batch to them: the transaction logic every backend that loads state shares.

use std::collections::BTreeMap;

use crate::resource::{Resource, ResourceKey};
use crate::store::{
    Action, BatchError, Outcome, ResourceChange, ResourceFilter, ResourceListing,
    ResourceOperation, Revision, StoreError, StoredResource,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ResourceTable {
    pub(crate) revision: Revision,
    pub(crate) resources: BTreeMap<ResourceKey, StoredResource>,
}

impl ResourceTable {
    /// Applies `operations` to a copy; on success returns the new table, the
    /// outcomes and the changes (all at one new revision, or none if nothing
    /// changed). On failure `self` is untouched.
    pub(crate) fn apply(
        &self,
        operations: &[ResourceOperation],
    ) -> Result<(ResourceTable, Vec<Outcome>, Vec<ResourceChange>), BatchError> {
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
            let (action, outcome_revision) = match (operation, existing) {
                (ResourceOperation::Create { skip_if_exists, .. }, Some(current)) => {
                    if !skip_if_exists {
                        return Err(fail(StoreError::AlreadyExists(key)));
                    }
                    (Action::SkippedExisting, current.revision)
                }
                (ResourceOperation::Replace { .. }, None) => {
                    return Err(fail(StoreError::NotFound(key)));
                }
                (
                    ResourceOperation::Replace {
                        resource,
                        expected_revision,
                    },
                    Some(current),
                ) => {
                    check_revision(*expected_revision, &current).map_err(fail)?;
                    put(
                        &mut resources,
                        &mut changes,
                        resource,
                        revision,
                        Some(&current),
                    )
                }
                (
                    ResourceOperation::Create { resource, .. }
                    | ResourceOperation::Apply { resource },
                    current,
                ) => put(
                    &mut resources,
                    &mut changes,
                    resource,
                    revision,
                    current.as_ref(),
                ),
                (
                    ResourceOperation::Delete {
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
                    ResourceOperation::Delete {
                        expected_revision, ..
                    },
                    Some(current),
                ) => {
                    check_revision(*expected_revision, &current).map_err(fail)?;
                    resources.remove(&key);
                    changes.push(ResourceChange::Deleted {
                        resource: current.resource,
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
        }
    }
}

/// Writes `resource` unless it is already stored exactly so.
fn put(
    resources: &mut BTreeMap<ResourceKey, StoredResource>,
    changes: &mut Vec<ResourceChange>,
    resource: &Resource,
    revision: Revision,
    current: Option<&StoredResource>,
) -> (Action, Revision) {
    match current {
        Some(current) if current.resource == *resource => (Action::Unchanged, current.revision),
        _ => {
            resources.insert(
                resource.key(),
                StoredResource {
                    resource: resource.clone(),
                    revision,
                },
            );
            changes.push(ResourceChange::Put {
                resource: resource.clone(),
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
