//! Calico `projectcalico.org/v3` resources: `BGPPeer`, `Node`,
//! `BGPConfiguration`, `BGPFilter`, and Calico IPAM's `IPPool`, `BlockAffinity` and
//! `IPAMBlock` (Calico API `api/pkg/apis/projectcalico/v3`), as documents
//! (serde structs accepting anything of the right shape) and as validated models.
//!
//! Validation follows libcalico-go's v3 validator (`lib/validator/v3/validator.go`)
//! and words its errors like the v1 ones: `BGPPeer(rack1-tor): error with field
//! nodeSelector = 'rack ==' (invalid selector at position 7: …)`.
//!
//! Every document keeps what its model does not hold ([`unmodelled`]) and writes
//! it back; BGPPeers nodebgp cannot run are [`peer_policy::UnsupportedBgpPeer`]s;
//! stores stamp created resources with [`stamp`]'s `uid` and `creationTimestamp`.

pub mod bgp_configuration;
pub mod bgp_filter;
pub mod bgp_peer;
pub mod block_affinity;
pub mod cidr_name;
pub mod converted_peer;
pub mod ip_pool;
pub mod ipam_block;
pub mod node;
pub mod peer_policy;
pub mod stamp;
pub mod unmodelled;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{DocumentError, DocumentLabel, FieldError, Problem};
use crate::stored::Revision;
use unmodelled::Strictness;

/// The `apiVersion` of Calico v3 resources.
pub const API_VERSION_V3: &str = "projectcalico.org/v3";

/// The longest resource name Kubernetes (and so Calico v3) accepts: a DNS-1123
/// subdomain.
pub const RESOURCE_NAME_MAX_LENGTH: usize = 253;

/// A v3 resource name (`metadata.name`, and the `node` of a BGPPeer): a DNS-1123
/// subdomain, lower-case letters, digits, `-` and `.`, starting and ending each
/// dot-separated part with a letter or digit, at most 253 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceName(String);

/// A text that is not a valid v3 resource name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid name '{0}': must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253 characters)")]
pub struct InvalidResourceName(pub String);

impl ResourceName {
    /// Checks `name` against the DNS-1123 subdomain rule (RFC 1123 §2.1, as
    /// Kubernetes' `IsDNS1123Subdomain` applies it).
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidResourceName> {
        let name = name.into();
        let label_ok = |label: &str| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes
                    .iter()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'-')
                && bytes[0] != b'-'
                && bytes[bytes.len() - 1] != b'-'
        };
        if name.len() > RESOURCE_NAME_MAX_LENGTH || !name.split('.').all(label_ok) {
            return Err(InvalidResourceName(name));
        }
        Ok(ResourceName(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Labels of a resource (`metadata.labels`), what selectors match on.
pub type Labels = BTreeMap<String, String>;

/// `metadata` of a v3 document, unvalidated. `name` and `labels` are modelled;
/// `resourceVersion` is what the reader saw (checked on replace, never stored);
/// every other field (`uid`, `creationTimestamp`, `annotations`, …) is kept
/// verbatim in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMetadata {
    /// The resource's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Labels; selectors match Node labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The revision the resource was read at (`nodebgp get` prints it): a
    /// replace carrying it is refused if the resource changed since.
    #[serde(default, skip_serializing)]
    pub resource_version: Option<serde_yaml::Value>,
    /// The other metadata fields, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// The metadata fields the model holds.
const MODELLED_METADATA: &[&str] = &["name", "labels"];

impl ObjectMetadata {
    pub(crate) fn from_model(
        name: &ResourceName,
        labels: &Labels,
        extra: &serde_yaml::Mapping,
    ) -> Self {
        ObjectMetadata {
            name: Some(name.as_str().to_owned()),
            labels: labels.clone(),
            resource_version: None,
            extra: extra.clone(),
        }
    }

    /// What every kind checks first, in `File` mode: the document's top level
    /// (`apiVersion`, `kind`, `metadata`, `spec`, and `also_known` there),
    /// then this metadata, then the spec's level against its modelled and
    /// known names.
    pub(crate) fn check_document_names(
        &self,
        strictness: Strictness,
        top: (&serde_yaml::Mapping, &[&str]),
        spec: (&serde_yaml::Mapping, &[&str], &[&str]),
    ) -> Result<(), String> {
        let (top_extra, also_known) = top;
        let (spec_extra, modelled, known) = spec;
        unmodelled::check_level(
            strictness,
            "",
            top_extra,
            &["apiVersion", "kind", "metadata", "spec"],
            also_known,
        )?;
        self.check_names(strictness)?;
        unmodelled::check_level(strictness, "spec", spec_extra, modelled, known)
    }

    /// Refuses names Kubernetes' `ObjectMeta` does not have, in `File` mode.
    pub(crate) fn check_names(&self, strictness: Strictness) -> Result<(), String> {
        unmodelled::check_level(
            strictness,
            "metadata",
            &self.extra,
            MODELLED_METADATA,
            unmodelled::KNOWN_METADATA,
        )
    }

    /// `resourceVersion` as a revision: the decimal number `get` printed
    /// (Calico's etcd backend uses the key's mod revision the same way).
    pub(crate) fn revision(&self) -> Result<Option<Revision>, FieldError> {
        let text = match &self.resource_version {
            None | Some(serde_yaml::Value::Null) => return Ok(None),
            Some(serde_yaml::Value::String(text)) if text.is_empty() => return Ok(None),
            Some(serde_yaml::Value::String(text)) => text.clone(),
            Some(serde_yaml::Value::Number(number)) => number.to_string(),
            Some(other) => format!("{other:?}"),
        };
        text.parse::<u64>()
            .map(|revision| Some(Revision(revision)))
            .map_err(|_| FieldError {
                field: "metadata.resourceVersion".into(),
                value: Some(text),
                reason: "must be the revision nodebgp get printed".to_owned(),
            })
    }

    /// The label naming a document of `kind` in errors: `BGPPeer(name)` when it
    /// has a name, else its position.
    pub(crate) fn label(&self, kind: &'static str, document: usize) -> DocumentLabel {
        match self.name.as_deref().filter(|name| !name.is_empty()) {
            Some(name) => DocumentLabel::Named {
                kind,
                name: name.to_owned(),
            },
            None => DocumentLabel::Index(document),
        }
    }

    /// The name alone, checked with the labels, of the document labelled
    /// `label` (for deleting by file).
    pub(crate) fn checked_name(&self, label: DocumentLabel) -> Result<ResourceName, DocumentError> {
        let mut fields = Vec::new();
        let name = self.check(&mut fields);
        finish(label, fields, name, |name| name)
    }

    /// Checks the labels into `fields`; returns the name when valid.
    pub(crate) fn check(&self, fields: &mut Vec<FieldError>) -> Option<ResourceName> {
        for (key, value) in &self.labels {
            if let Err(reason) = check_label(key, value) {
                fields.push(FieldError {
                    field: "metadata.labels".into(),
                    value: Some(format!("{key}: {value}")),
                    reason,
                });
            }
        }
        match self.name.as_deref().filter(|name| !name.is_empty()) {
            Some(name) => match ResourceName::new(name) {
                Ok(name) => Some(name),
                Err(error) => {
                    fields.push(FieldError {
                        field: "metadata.name".into(),
                        value: Some(name.to_owned()),
                        reason: error.to_string().replacen(&format!(" '{name}'"), "", 1),
                    });
                    None
                }
            },
            None => None,
        }
    }
}

/// A label key is what a selector can name; a value is a Kubernetes label value
/// (at most 63 of `[A-Za-z0-9_.-]`).
fn check_label(key: &str, value: &str) -> Result<(), String> {
    let key_ok = !key.is_empty()
        && key
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "_./-".contains(character));
    if !key_ok {
        return Err("invalid label key: must be letters, digits, '_', '.', '/' or '-'".to_owned());
    }
    let value_ok = value.len() <= 63
        && value
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "_.-".contains(character));
    if !value_ok {
        return Err("invalid label value: at most 63 letters, digits, '_', '.' or '-'".to_owned());
    }
    Ok(())
}

/// Builds the error for a document whose fields failed, or whose name is missing.
pub(crate) fn finish<T>(
    label: DocumentLabel,
    fields: Vec<FieldError>,
    name: Option<ResourceName>,
    build: impl FnOnce(ResourceName) -> T,
) -> Result<T, DocumentError> {
    if !fields.is_empty() {
        return Err(DocumentError {
            document: label,
            problem: Problem::Fields(fields),
        });
    }
    match name {
        Some(name) => Ok(build(name)),
        None => Err(DocumentError {
            document: label,
            problem: Problem::InsufficientIdentifiers("name"),
        }),
    }
}

/// Parses a Go duration (`time.ParseDuration`, which Calico's `metav1.Duration`
/// fields use): one or more `<number><unit>` with units `h`, `m`, `s`, `ms`, `us`,
/// `µs`, `ns`, e.g. `120s`, `2m`, `1m30s`, `1.5h`. Negative durations are refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    const INVALID: &str = "invalid duration: expected e.g. 120s, 2m or 1m30s";
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(INVALID.to_owned());
    }
    while !rest.is_empty() {
        let number_length = rest
            .find(|character: char| !(character.is_ascii_digit() || character == '.'))
            .ok_or(INVALID)?;
        let number: f64 = rest[..number_length].parse().map_err(|_| INVALID)?;
        rest = &rest[number_length..];
        let unit_length = rest
            .find(|character: char| character.is_ascii_digit() || character == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_length] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return Err(INVALID.to_owned()),
        };
        rest = &rest[unit_length..];
        total += number * seconds_per_unit;
    }
    Duration::try_from_secs_f64(total).map_err(|_| INVALID.to_owned())
}

/// Prints a duration the way Go's `time.Duration.String` does, which is how
/// Calico writes `metav1.Duration` fields: `20s`, `2m0s`, `1h0m0s`, `1m30s`,
/// `500ms`. [`parse_duration`] reads every form back.
pub fn format_duration(duration: Duration) -> String {
    let total = duration.as_secs();
    let nanos = duration.subsec_nanos();
    if total == 0 {
        return match nanos {
            0 => "0s".to_owned(),
            nanos if nanos % 1_000_000 == 0 => format!("{}ms", nanos / 1_000_000),
            nanos if nanos % 1_000 == 0 => format!("{}µs", nanos / 1_000),
            nanos => format!("{nanos}ns"),
        };
    }
    let seconds = if nanos == 0 {
        format!("{}s", total % 60)
    } else {
        let fraction = format!("{nanos:09}");
        format!("{}.{}s", total % 60, fraction.trim_end_matches('0'))
    };
    match (total / 3600, total / 60 % 60) {
        (0, 0) => seconds,
        (0, minutes) => format!("{minutes}m{seconds}"),
        (hours, minutes) => format!("{hours}h{minutes}m{seconds}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_subdomains() {
        for good in [
            "a",
            "rack1-host1",
            "node.example.com",
            "0",
            &"a".repeat(253),
        ] {
            assert!(ResourceName::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Upper",
            "under_score",
            "-a",
            "a-",
            "a..b",
            ".a",
            &"a".repeat(254),
        ] {
            assert!(ResourceName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn go_durations() {
        let cases = [
            ("120s", 120.0),
            ("2m", 120.0),
            ("1m30s", 90.0),
            ("1.5h", 5400.0),
            ("500ms", 0.5),
            ("0", 0.0),
        ];
        for (text, seconds) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs_f64(seconds)),
                "{text}"
            );
        }
        for bad in ["", "120", "s", "2 m", "-1s", "1d", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        for (seconds, go) in [
            (0.0, "0s"),
            (20.0, "20s"),
            (90.0, "1m30s"),
            (120.0, "2m0s"),
            (3600.0, "1h0m0s"),
            (1.5, "1.5s"),
            (0.5, "500ms"),
        ] {
            let duration = Duration::from_secs_f64(seconds);
            assert_eq!(format_duration(duration), go);
            assert_eq!(parse_duration(go), Ok(duration), "{go}");
        }
    }
}
