//! `create|replace|apply|delete -f FILE`: run one verb over every resource in a
//! file (v1 bgpPeers and every v3 kind, mixed freely)
//! and describe the result in calicoctl's words.
//!
//! Every document is validated before anything is written, and the writes go to the
//! store as one batch, so with a transactional store a file is applied entirely or
//! not at all (calicoctl stops at the first error and may leave a prefix applied;
//! the partial-success message is kept for stores that cannot do better).
//!
//! As in calicoctl, a document's `metadata.resourceVersion` is checked on
//! replace, apply (of an existing resource) and delete: a resource changed since
//! it was read is an `update conflict`; `create` ignores it. Metadata the store
//! owns (`uid`, `creationTimestamp`, …) is taken from the store, not the file.

use std::fmt;

use crate::error::ParseError;
use crate::input::{parse_resource_keys_with_revisions, parse_resources_with_revisions};
use crate::resource::ResourceKey;
use crate::store::{BatchError, Outcome, PeerStore, ResourceOperation};

/// The resource-management verbs that take a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// Fails on an existing peer (unless `skip_exists`).
    Create,
    /// Fails on a missing peer.
    Replace,
    /// Upsert.
    Apply,
    /// Fails on a missing peer (unless `skip_not_exists`).
    Delete,
}

impl Verb {
    /// `create`, as in `Failed to create …`.
    pub fn infinitive(self) -> &'static str {
        match self {
            Verb::Create => "create",
            Verb::Replace => "replace",
            Verb::Apply => "apply",
            Verb::Delete => "delete",
        }
    }

    /// `created`, as in `Successfully created …`.
    pub fn past_tense(self) -> &'static str {
        match self {
            Verb::Create => "created",
            Verb::Replace => "replaced",
            Verb::Apply => "applied",
            Verb::Delete => "deleted",
        }
    }
}

/// calicoctl's `--skip-exists` / `--skip-not-exists`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOptions {
    /// `create`: an existing peer counts as created.
    pub skip_exists: bool,
    /// `delete`: a missing peer counts as deleted.
    pub skip_not_exists: bool,
}

/// A file that was fully handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport {
    /// What was done.
    pub verb: Verb,
    /// The `kind` of every resource in the file, or `None` when kinds were mixed.
    pub kind: Option<&'static str>,
    /// One outcome per resource, in file order.
    pub outcomes: Vec<Outcome>,
}

impl fmt::Display for BatchReport {
    /// `Successfully created 2 'bgpPeer' resource(s)`: skipped and unchanged peers
    /// count as handled, as in calicoctl.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "Successfully {} {} {}resource(s)",
            self.verb.past_tense(),
            self.outcomes.len(),
            quoted(self.kind)
        )
    }
}

/// Why a file was not (fully) handled. The Display is the line calicoctl prints.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The file is unreadable or holds an invalid document: nothing was written.
    #[error("Error processing input file: {0}")]
    Input(#[from] ParseError),
    /// The file holds no resources.
    #[error("No resources specified in file")]
    NoResources,
    /// The store refused an operation.
    #[error("{}", describe_failure(*.verb, *.kind, *.total, .failure))]
    Failed {
        /// What was being done.
        verb: Verb,
        /// The `kind` of every resource in the file, or `None` when kinds were mixed.
        kind: Option<&'static str>,
        /// How many resources the file holds.
        total: usize,
        /// Which one failed, why, and how many were committed before it (boxed:
        /// the error is large and this is the cold path).
        failure: Box<BatchError>,
    },
}

/// `'bgpPeer' ` for one kind, nothing for several.
fn quoted(kind: Option<&'static str>) -> String {
    kind.map(|kind| format!("'{kind}' ")).unwrap_or_default()
}

fn describe_failure(
    verb: Verb,
    kind: Option<&'static str>,
    total: usize,
    failure: &BatchError,
) -> String {
    let error = &failure.error;
    let kind = quoted(kind);
    match (failure.committed, total) {
        (0, 1) => format!("Failed to {} {kind}resource: {error}", verb.infinitive()),
        (0, _) => format!("Failed to {} any {kind}resources: {error}", verb.infinitive()),
        (committed, _) => format!(
            "Partial success: {} the first {committed} out of {total} {kind}resources:\nHit error: {error}",
            verb.past_tense()
        ),
    }
}

/// The kind shared by every resource, `None` when there are several.
fn common_kind(kinds: impl Iterator<Item = &'static str>) -> Option<&'static str> {
    let mut kinds = kinds.peekable();
    let first = *kinds.peek()?;
    kinds.all(|kind| kind == first).then_some(first)
}

fn key_kind_name(key: &ResourceKey) -> &'static str {
    match key {
        ResourceKey::BgpPeer(_) => crate::document::KIND,
        ResourceKey::Named { kind, .. } => kind.kind_name(),
    }
}

/// Runs `verb` over every resource in `text` (YAML or JSON, any of the accepted
/// layouts, any mix of kinds). Every document is validated before anything is
/// written; the writes go to the store as one batch. For [`Verb::Delete`] only
/// identities are needed.
pub fn execute_documents<S: PeerStore + ?Sized>(
    store: &S,
    verb: Verb,
    text: &str,
    options: BatchOptions,
) -> Result<BatchReport, CommandError> {
    let (operations, kind): (Vec<ResourceOperation>, _) = match verb {
        Verb::Delete => {
            let keys = parse_resource_keys_with_revisions(text)?;
            let kind = common_kind(keys.iter().map(|(key, _)| key_kind_name(key)));
            let operations = keys
                .into_iter()
                .map(|(key, expected_revision)| ResourceOperation::Delete {
                    key,
                    expected_revision,
                    skip_if_missing: options.skip_not_exists,
                })
                .collect();
            (operations, kind)
        }
        _ => {
            let resources = parse_resources_with_revisions(text)?;
            let kind = common_kind(resources.iter().map(|(resource, _)| resource.kind_name()));
            let operations = resources
                .into_iter()
                .map(|(mut resource, expected_revision)| {
                    // The store owns uid, creationTimestamp and the like: set on
                    // create, kept on update, whatever the file says.
                    resource.keep_user_metadata();
                    match verb {
                        // Nothing to compare a create's resourceVersion with.
                        Verb::Create => ResourceOperation::Create {
                            resource,
                            skip_if_exists: options.skip_exists,
                        },
                        Verb::Replace => ResourceOperation::Replace {
                            resource,
                            expected_revision,
                        },
                        _ => ResourceOperation::Apply {
                            resource,
                            expected_revision,
                        },
                    }
                })
                .collect();
            (operations, kind)
        }
    };
    if operations.is_empty() {
        return Err(CommandError::NoResources);
    }
    let outcomes = store
        .write_resources(&operations)
        .map_err(|failure| CommandError::Failed {
            verb,
            kind,
            total: operations.len(),
            failure: Box::new(failure),
        })?;
    Ok(BatchReport {
        verb,
        kind,
        outcomes,
    })
}

/// `create -f`: see [`execute_documents`].
pub fn create_documents<S: PeerStore + ?Sized>(
    store: &S,
    text: &str,
    options: BatchOptions,
) -> Result<BatchReport, CommandError> {
    execute_documents(store, Verb::Create, text, options)
}

/// `replace -f`: see [`execute_documents`].
pub fn replace_documents<S: PeerStore + ?Sized>(
    store: &S,
    text: &str,
) -> Result<BatchReport, CommandError> {
    execute_documents(store, Verb::Replace, text, BatchOptions::default())
}

/// `apply -f`: see [`execute_documents`].
pub fn apply_documents<S: PeerStore + ?Sized>(
    store: &S,
    text: &str,
) -> Result<BatchReport, CommandError> {
    execute_documents(store, Verb::Apply, text, BatchOptions::default())
}

/// `delete -f`: see [`execute_documents`].
pub fn delete_documents<S: PeerStore + ?Sized>(
    store: &S,
    text: &str,
    options: BatchOptions,
) -> Result<BatchReport, CommandError> {
    execute_documents(store, Verb::Delete, text, options)
}
