//! `create|replace|apply|delete -f FILE`: run one verb over every peer in a file and
//! describe the result in calicoctl v1's words.
//!
//! Every document is validated before anything is written, and the writes go to the
//! store as one batch, so with a transactional store a file is applied entirely or
//! not at all (calicoctl stops at the first error and may leave a prefix applied;
//! the partial-success message is kept for stores that cannot do better).

use std::fmt;

use crate::document::KIND;
use crate::error::ParseError;
use crate::input::{parse_documents, parse_keys};
use crate::store::{BatchError, Operation, Outcome, PeerStore};

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
    /// One outcome per resource, in file order.
    pub outcomes: Vec<Outcome>,
}

impl fmt::Display for BatchReport {
    /// `Successfully created 2 'bgpPeer' resource(s)`: skipped and unchanged peers
    /// count as handled, as in calicoctl.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "Successfully {} {} '{KIND}' resource(s)",
            self.verb.past_tense(),
            self.outcomes.len()
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
    #[error("{}", describe_failure(*.verb, *.total, .failure))]
    Failed {
        /// What was being done.
        verb: Verb,
        /// How many resources the file holds.
        total: usize,
        /// Which one failed, why, and how many were committed before it.
        failure: BatchError,
    },
}

fn describe_failure(verb: Verb, total: usize, failure: &BatchError) -> String {
    let error = &failure.error;
    match (failure.committed, total) {
        (0, 1) => format!("Failed to {} '{KIND}' resource: {error}", verb.infinitive()),
        (0, _) => format!(
            "Failed to {} any '{KIND}' resources: {error}",
            verb.infinitive()
        ),
        (committed, _) => format!(
            "Partial success: {} the first {committed} out of {total} '{KIND}' resources:\nHit error: {error}",
            verb.past_tense()
        ),
    }
}

/// Runs `verb` over every bgpPeer in `text` (YAML or JSON, any of the accepted
/// layouts). For [`Verb::Delete`] only identities are needed.
pub fn execute_documents<S: PeerStore + ?Sized>(
    store: &S,
    verb: Verb,
    text: &str,
    options: BatchOptions,
) -> Result<BatchReport, CommandError> {
    let operations: Vec<Operation> = match verb {
        Verb::Delete => parse_keys(text)?
            .into_iter()
            .map(|key| Operation::Delete {
                key,
                expected_revision: None,
                skip_if_missing: options.skip_not_exists,
            })
            .collect(),
        _ => parse_documents(text)?
            .into_iter()
            .map(|peer| match verb {
                Verb::Create => Operation::Create {
                    peer,
                    skip_if_exists: options.skip_exists,
                },
                Verb::Replace => Operation::Replace {
                    peer,
                    expected_revision: None,
                },
                _ => Operation::Apply { peer },
            })
            .collect(),
    };
    if operations.is_empty() {
        return Err(CommandError::NoResources);
    }
    let outcomes = store
        .write_batch(&operations)
        .map_err(|failure| CommandError::Failed {
            verb,
            total: operations.len(),
            failure,
        })?;
    Ok(BatchReport { verb, outcomes })
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
