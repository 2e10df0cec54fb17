//! The v3 `BlockAffinity` (Calico `api/pkg/apis/projectcalico/v3/blockaffinity.go`):
//! a claim by one node on an IPAM block, which that node advertises.
//!
//! - `node` and `cidr` (a masked block CIDR) are required; `type` is `host`
//!   (the default) or `virtual` (Calico 3.31's KubeVirt affinities).
//! - `state` is `confirmed`, `pending` or `pendingDeletion`; empty or absent is
//!   `confirmed`, as libcalico-go's IPAM treats affinities of older releases
//!   (`lib/ipam/ipam.go`, "Treat empty string as confirmed").
//! - `deleted` is a bool in the v3 API and the string `"true"`/`"false"` in
//!   Calico's stored form (`internalapi.BlockAffinity`, converted by
//!   `etcdv3.go` `prepForWrite`/`prepForReturn`): both are read, the v3 API's
//!   bool is written.
//! - The name is free (a DNS-1123 subdomain); Calico names affinities
//!   `<node>-<cidr>` ([`BlockAffinityResource::name_for`]), and the etcd store,
//!   which keeps them in Calico's IPAM keys, only takes that name.

use std::fmt;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::cidr_name::cidr_to_name;
use super::unmodelled::{Strictness, Unmodelled};
use super::{finish, Labels, ObjectMetadata, ResourceName, RESOURCE_NAME_MAX_LENGTH};
use crate::error::{DocumentError, DocumentLabel, FieldError, Problem};

/// The `kind` of a v3 block affinity.
pub const BLOCK_AFFINITY_KIND: &str = "BlockAffinity";

/// `spec.state`: where the claim is in libcalico-go's claim and release
/// sequence (`lib/ipam/ipam_block_reader_writer.go`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AffinityState {
    /// The node holds the block (also an empty state, from older releases).
    #[default]
    Confirmed,
    /// Claimed, the block not yet created or confirmed: confd ignores it.
    Pending,
    /// Being released: confd still blackholes the block but stops aggregating it.
    PendingDeletion,
}

impl AffinityState {
    /// The name Calico writes.
    pub fn as_str(self) -> &'static str {
        match self {
            AffinityState::Confirmed => "confirmed",
            AffinityState::Pending => "pending",
            AffinityState::PendingDeletion => "pendingDeletion",
        }
    }

    /// Reads a state; empty is `confirmed`.
    pub(crate) fn parse(text: &str) -> Option<AffinityState> {
        match text {
            "" | "confirmed" => Some(AffinityState::Confirmed),
            "pending" => Some(AffinityState::Pending),
            "pendingDeletion" => Some(AffinityState::PendingDeletion),
            _ => None,
        }
    }
}

impl fmt::Display for AffinityState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// `spec.type`: what holds the block (`model.IPAMAffinityTypeHost`, `…Virtual`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AffinityType {
    /// A node (the default).
    #[default]
    Host,
    /// A virtual machine's addresses kept across live migration (Calico 3.31).
    Virtual,
}

impl AffinityType {
    /// The name Calico writes, also the segment of its etcd key.
    pub fn as_str(self) -> &'static str {
        match self {
            AffinityType::Host => "host",
            AffinityType::Virtual => "virtual",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<AffinityType> {
        match text {
            "" | "host" => Some(AffinityType::Host),
            "virtual" => Some(AffinityType::Virtual),
            _ => None,
        }
    }
}

/// A validated v3 `BlockAffinity`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlockAffinityResource {
    /// `metadata.name`.
    pub name: ResourceName,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `spec.node`: the node (or, for a virtual affinity, the owner) holding
    /// the block.
    pub node: String,
    /// `spec.type`.
    pub affinity_type: AffinityType,
    /// `spec.cidr`: the block.
    pub cidr: IpNet,
    /// `spec.state`.
    pub state: AffinityState,
    /// `spec.deleted`: Calico's tombstone; a deleted affinity counts as absent.
    pub deleted: bool,
    /// The rest of the document, kept verbatim.
    pub unmodelled: Unmodelled,
}

impl BlockAffinityResource {
    /// The name Calico gives the affinity of `node` for `cidr`
    /// (`ipam_affinity_v1.go` `parseKey`): `<node>-<cidr with . : / as ->`; a
    /// name that would reach 253 characters keeps the start of the node name
    /// and ends with 11 hex digits of the SHA-256 of `<node>+<cidr name>`.
    pub fn name_for(node: &str, cidr: IpNet) -> String {
        let cidr_name = cidr_to_name(cidr);
        let name = format!("{node}-{cidr_name}");
        if name.len() < RESOURCE_NAME_MAX_LENGTH {
            return name;
        }
        let kept = (RESOURCE_NAME_MAX_LENGTH - 1)
            .saturating_sub(cidr_name.len())
            .saturating_sub(13);
        let mut end = kept.min(node.len());
        while !node.is_char_boundary(end) {
            end -= 1;
        }
        let hash = sha256_hex(format!("{node}+{cidr_name}").as_bytes());
        format!("{}-{cidr_name}-{}", &node[..end], &hash[..11])
    }

    /// Whether the node holds the block: confirmed and not deleted.
    pub fn is_confirmed(&self) -> bool {
        self.state == AffinityState::Confirmed && !self.deleted
    }
}

/// `spec.deleted`: a bool (v3 API) or Go's `strconv.ParseBool` text (stored form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DeletedValue {
    /// `true` / `false`.
    Bool(bool),
    /// `"true"` / `"false"` (and Go's other spellings, `"1"`, `"t"`, `"F"`, …).
    Text(String),
}

impl DeletedValue {
    fn to_bool(&self) -> Option<bool> {
        match self {
            DeletedValue::Bool(flag) => Some(*flag),
            DeletedValue::Text(text) => match text.as_str() {
                "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
                "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
                _ => None,
            },
        }
    }
}

impl fmt::Display for DeletedValue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeletedValue::Bool(flag) => write!(formatter, "{flag}"),
            DeletedValue::Text(text) => formatter.write_str(text),
        }
    }
}

/// A v3 `BlockAffinity` document, unvalidated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockAffinityDocument {
    /// `projectcalico.org/v3`.
    pub api_version: String,
    /// `BlockAffinity`.
    pub kind: String,
    /// Name and labels.
    #[serde(default)]
    pub metadata: ObjectMetadata,
    /// The claim.
    #[serde(default)]
    pub spec: BlockAffinitySpec,
    /// Other top-level fields (Calico defines none): kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// `spec` of a block affinity, unvalidated, in Calico's field order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // Each field is the Calico field of the same name.
pub struct BlockAffinitySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub affinity_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<DeletedValue>,
    /// In a datastore, any other field: kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// The spec fields the model holds (all Calico defines).
const MODELLED_SPEC: &[&str] = &["state", "node", "type", "cidr", "deleted"];

/// A node name as a key segment can hold it.
fn check_node(text: &str) -> Result<(), &'static str> {
    if text.contains('/') || text.chars().any(|character| character.is_whitespace()) {
        return Err("must be a node name (no '/' or white space)");
    }
    Ok(())
}

/// A masked CIDR (`field` names it in errors).
pub(crate) fn check_block_cidr(
    name: &'static str,
    text: Option<&str>,
    fields: &mut Vec<FieldError>,
) -> Option<IpNet> {
    let Some(text) = text.filter(|text| !text.is_empty()) else {
        fields.push(FieldError {
            field: name.into(),
            value: None,
            reason: "required".to_owned(),
        });
        return None;
    };
    match text.parse::<IpNet>() {
        Ok(cidr) if cidr == cidr.trunc() => Some(cidr),
        Ok(_) => {
            fields.push(FieldError {
                field: name.into(),
                value: Some(text.to_owned()),
                reason: "must be a block CIDR, its host bits zero".to_owned(),
            });
            None
        }
        Err(_) => {
            fields.push(FieldError {
                field: name.into(),
                value: Some(text.to_owned()),
                reason: "invalid CIDR: expected e.g. 10.244.3.0/26".to_owned(),
            });
            None
        }
    }
}

impl BlockAffinityDocument {
    /// The label naming this document in errors.
    pub fn label(&self, document: usize) -> DocumentLabel {
        self.metadata.label(BLOCK_AFFINITY_KIND, document)
    }

    /// Only the identity, for deleting by file.
    pub(crate) fn name(&self, document: usize) -> Result<ResourceName, DocumentError> {
        self.metadata.checked_name(self.label(document))
    }

    /// Refuses, in `File` mode, names Calico does not define, naming the section.
    pub(crate) fn check_names(&self, strictness: Strictness) -> Result<(), Problem> {
        self.metadata
            .check_document_names(
                strictness,
                (&self.extra, &[]),
                (&self.spec.extra, MODELLED_SPEC, &[]),
            )
            .map_err(Problem::Unreadable)
    }

    /// Validates the document into an affinity (see the module documentation).
    pub fn validate(&self, document: usize) -> Result<BlockAffinityResource, DocumentError> {
        let spec = &self.spec;
        let mut fields = Vec::new();
        let name = self.metadata.check(&mut fields);
        let node = match spec.node.as_deref().filter(|node| !node.is_empty()) {
            None => {
                fields.push(FieldError {
                    field: "node".into(),
                    value: None,
                    reason: "required".to_owned(),
                });
                None
            }
            Some(node) => match check_node(node) {
                Ok(()) => Some(node.to_owned()),
                Err(reason) => {
                    fields.push(FieldError {
                        field: "node".into(),
                        value: Some(node.to_owned()),
                        reason: reason.to_owned(),
                    });
                    None
                }
            },
        };
        let cidr = check_block_cidr("cidr", spec.cidr.as_deref(), &mut fields);
        let mut invalid = |field: &'static str, value: String, reason: &str| {
            fields.push(FieldError {
                field: field.into(),
                value: Some(value),
                reason: reason.to_owned(),
            })
        };
        let state_text = spec.state.as_deref().unwrap_or_default();
        let state = AffinityState::parse(state_text).unwrap_or_else(|| {
            invalid(
                "state",
                state_text.to_owned(),
                "must be one of: confirmed, pending, pendingDeletion",
            );
            AffinityState::Confirmed
        });
        let type_text = spec.affinity_type.as_deref().unwrap_or_default();
        let affinity_type = AffinityType::parse(type_text).unwrap_or_else(|| {
            invalid(
                "type",
                type_text.to_owned(),
                "must be one of: host, virtual",
            );
            AffinityType::Host
        });
        let deleted = match &spec.deleted {
            None => false,
            Some(value) => value.to_bool().unwrap_or_else(|| {
                invalid("deleted", value.to_string(), "must be true or false");
                false
            }),
        };
        let (Some(node), Some(cidr)) = (node, cidr) else {
            return Err(DocumentError {
                document: self.label(document),
                problem: Problem::Fields(fields),
            });
        };
        finish(self.label(document), fields, name, |name| {
            BlockAffinityResource {
                name,
                labels: self.metadata.labels.clone(),
                node,
                affinity_type,
                cidr,
                state,
                deleted,
                unmodelled: Unmodelled {
                    top: self.extra.clone(),
                    metadata: self.metadata.extra.clone(),
                    spec: spec.extra.clone(),
                    bgp: serde_yaml::Mapping::new(),
                },
            }
        })
    }
}

impl From<&BlockAffinityResource> for BlockAffinityDocument {
    /// Every field written, `deleted` as the v3 API's bool.
    fn from(affinity: &BlockAffinityResource) -> Self {
        BlockAffinityDocument {
            api_version: super::API_VERSION_V3.to_owned(),
            kind: BLOCK_AFFINITY_KIND.to_owned(),
            metadata: ObjectMetadata::from_model(
                &affinity.name,
                &affinity.labels,
                &affinity.unmodelled.metadata,
            ),
            extra: affinity.unmodelled.top.clone(),
            spec: BlockAffinitySpec {
                state: Some(affinity.state.as_str().to_owned()),
                node: Some(affinity.node.clone()),
                affinity_type: Some(affinity.affinity_type.as_str().to_owned()),
                cidr: Some(affinity.cidr.to_string()),
                deleted: Some(DeletedValue::Bool(affinity.deleted)),
                extra: affinity.unmodelled.spec.clone(),
            },
        }
    }
}

/// The lower-case hex SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_calicos() {
        let cidr: IpNet = "10.244.3.0/26".parse().unwrap();
        assert_eq!(
            BlockAffinityResource::name_for("n1", cidr),
            "n1-10-244-3-0-26"
        );
        let v6: IpNet = "fd00:10:244::/122".parse().unwrap();
        assert_eq!(
            BlockAffinityResource::name_for("n1", v6),
            "n1-fd00-10-244---122"
        );
        // 240 + 1 + 13 characters reach the limit: shortened to 252 with a hash.
        let long = "a".repeat(240);
        let name = BlockAffinityResource::name_for(&long, cidr);
        assert_eq!(name.len(), 252);
        let hash = sha256_hex(format!("{long}+10-244-3-0-26").as_bytes());
        assert_eq!(
            name,
            format!("{}-10-244-3-0-26-{}", "a".repeat(226), &hash[..11])
        );
    }
}
