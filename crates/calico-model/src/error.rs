//! Errors about input documents: what was wrong, in which document.
//!
//! The wording follows libcalico-go v1 (`lib/errors`): `error with field X = 'v'
//! (reason)`, `error with the following fields:` for several, and
//! `insufficient identifiers, missing 'peerIP'`. Calico does not say which
//! document failed; we prefix the document so a multi-document file can be fixed.

use std::fmt;

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field name as written in the document (`scope`, `node`, `peerIP`,
    /// `asNumber`), with its path inside lists (`importV4[1].cidr`).
    pub field: std::borrow::Cow<'static, str>,
    /// The value as written, or `None` when the field is absent.
    pub value: Option<String>,
    /// Why the value is refused.
    pub reason: String,
}

impl fmt::Display for FieldError {
    /// `asNumber = '65536.1' (invalid AS Number format)`, or `asNumber (required)`
    /// for an absent field (libcalico-go `ErroredField.String`).
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(formatter, "{} = '{}' ({})", self.field, value, self.reason),
            None => write!(formatter, "{} ({})", self.field, self.reason),
        }
    }
}

/// Which document an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentLabel {
    /// The identity could not be read; the 1-based position of the resource in the
    /// input, counting list items and `bgpPeerList` items one by one.
    Index(usize),
    /// The identity as written (not yet validated).
    Identity {
        /// `metadata.node`, when given.
        node: Option<String>,
        /// `metadata.peerIP`.
        peer_ip: String,
    },
    /// A v3 resource, by kind and `metadata.name` as written.
    Named {
        /// `BGPPeer`, `Node` or `BGPConfiguration`.
        kind: &'static str,
        /// `metadata.name`.
        name: String,
    },
}

impl fmt::Display for DocumentLabel {
    /// `document 3`, `bgpPeer(peerIP=10.0.0.1)` or
    /// `bgpPeer(node=rack1-host1, peerIP=10.0.0.1)`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocumentLabel::Index(index) => write!(formatter, "document {index}"),
            DocumentLabel::Identity {
                node: Some(node),
                peer_ip,
            } => write!(formatter, "bgpPeer(node={node}, peerIP={peer_ip})"),
            DocumentLabel::Identity {
                node: None,
                peer_ip,
            } => write!(formatter, "bgpPeer(peerIP={peer_ip})"),
            DocumentLabel::Named { kind, name } => write!(formatter, "{kind}({name})"),
        }
    }
}

/// What is wrong with a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// One or more fields hold refused values.
    #[error("{}", describe_fields(.0))]
    Fields(Vec<FieldError>),
    /// An identifying field is absent (`peerIP`, or `node` for a node-scoped or
    /// unscoped peer, exactly as libcalico-go's `ValidateMetadataIDsAssigned`;
    /// `name` for a v3 resource).
    #[error("insufficient identifiers, missing '{0}'")]
    InsufficientIdentifiers(&'static str),
    /// `kind`/`apiVersion` name no resource this crate knows.
    #[error("Unknown resource type ({kind}) and/or version ({api_version})")]
    UnknownResourceType {
        /// The `kind` as written (empty when absent).
        kind: String,
        /// The `apiVersion` as written (empty when absent).
        api_version: String,
    },
    /// The document does not have the resource's shape: an unknown field, a wrong
    /// type, a missing section. The text names the section and field.
    #[error("{0}")]
    Unreadable(String),
}

/// serde's `unknown field `peerIp`, expected one of `scope`, `node`,
/// `peerIP``, with the field meant appended when one of the expected names
/// is the same but for case or a letter or two: `(did you mean `peerIP`?)`.
pub(crate) fn with_suggestion(detail: String) -> String {
    let Some(start) = detail.find("unknown field `") else {
        return detail;
    };
    let rest = &detail[start + "unknown field `".len()..];
    let Some(end) = rest.find('`') else {
        return detail;
    };
    let unknown = &rest[..end];
    let expected: Vec<&str> = rest[end + 1..].split('`').skip(1).step_by(2).collect();
    let closest = expected
        .iter()
        .map(|candidate| {
            (
                edit_distance(&unknown.to_lowercase(), &candidate.to_lowercase()),
                candidate,
            )
        })
        .filter(|(distance, candidate)| {
            *distance <= 2 && *distance < candidate.len().max(unknown.len()) / 2
        })
        .min_by_key(|(distance, _)| *distance);
    match closest {
        Some((_, candidate)) => format!("{detail} (did you mean `{candidate}`?)"),
        None => detail,
    }
}

/// Levenshtein distance, for names of a few dozen characters.
fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (row, left_char) in left.chars().enumerate() {
        let mut current = vec![row + 1];
        for (column, right_char) in right.iter().enumerate() {
            let substitution = previous[column] + usize::from(left_char != *right_char);
            current.push(
                substitution
                    .min(previous[column + 1] + 1)
                    .min(current[column] + 1),
            );
        }
        previous = current;
    }
    previous[right.len()]
}

fn describe_fields(fields: &[FieldError]) -> String {
    match fields {
        [single] => format!("error with field {single}"),
        several => {
            let mut text = String::from("error with the following fields:");
            for field in several {
                text.push_str(&format!("\n-  {field}"));
            }
            text
        }
    }
}

/// A document that cannot become a bgpPeer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{document}: {problem}")]
pub struct DocumentError {
    /// Which document.
    pub document: DocumentLabel,
    /// What is wrong with it.
    pub problem: Problem,
}

/// Why an input text did not yield bgpPeers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The text is not YAML or JSON at all (the parser's message, with line and column).
    #[error("{0}")]
    Syntax(String),
    /// The text parsed, but these documents are not valid bgpPeers (every invalid
    /// document is listed, in input order, one per line).
    #[error("{}", describe_documents(.0))]
    Invalid(Vec<DocumentError>),
}

fn describe_documents(errors: &[DocumentError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_field_gets_a_suggestion() {
        let detail = "metadata: unknown field `peerIp`, expected one of `scope`, `node`, `peerIP`";
        assert_eq!(
            with_suggestion(detail.to_owned()),
            format!("{detail} (did you mean `peerIP`?)")
        );
        let detail = "spec: unknown field `asnumbr`, expected `asNumber` or `keepaliveTime`";
        assert_eq!(
            with_suggestion(detail.to_owned()),
            format!("{detail} (did you mean `asNumber`?)")
        );
        // Nothing close: no guess.
        let detail = "spec: unknown field `colour`, expected one of `peerIP`, `asNumber`";
        assert_eq!(with_suggestion(detail.to_owned()), detail);
    }

    fn asn_error(value: &str) -> FieldError {
        FieldError {
            field: "asNumber".into(),
            value: Some(value.to_owned()),
            reason: "invalid AS Number format".to_owned(),
        }
    }

    #[test]
    fn one_field_reads_like_calico() {
        let error = DocumentError {
            document: DocumentLabel::Identity {
                node: Some("rack1-host1".to_owned()),
                peer_ip: "10.0.0.1".to_owned(),
            },
            problem: Problem::Fields(vec![asn_error("65536.1")]),
        };
        assert_eq!(
            error.to_string(),
            "bgpPeer(node=rack1-host1, peerIP=10.0.0.1): error with field asNumber = '65536.1' (invalid AS Number format)"
        );
    }

    #[test]
    fn several_fields_are_listed() {
        let error = DocumentError {
            document: DocumentLabel::Index(2),
            problem: Problem::Fields(vec![
                asn_error("1.1.1"),
                FieldError {
                    field: "asNumber".into(),
                    value: None,
                    reason: "required".to_owned(),
                },
            ]),
        };
        assert_eq!(
            error.to_string(),
            "document 2: error with the following fields:\n-  asNumber = '1.1.1' (invalid AS Number format)\n-  asNumber (required)"
        );
    }
}
