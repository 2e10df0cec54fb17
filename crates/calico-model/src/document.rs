//! The bgpPeer document exactly as written (serde structs), and its validation into
//! a [`BgpPeer`].
//!
//! The structs accept anything of the right shape so that validation, not serde,
//! decides what is wrong, and can say so in Calico's words with the value the user
//! wrote. Unknown fields are still refused here, by serde, with their name.

use std::fmt;

use bgp_wire::Asn;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{DocumentError, DocumentLabel, FieldError, Problem};
use crate::model::{parse_peer_ip, BgpPeer, NodeName, PeerKey, Scope, ScopeKind};

/// The only `apiVersion` accepted.
pub const API_VERSION: &str = "v1";
/// The `kind` of one peer.
pub const KIND: &str = "bgpPeer";
/// The `kind` of a list of peers (`items`).
pub const LIST_KIND: &str = "bgpPeerList";

const AS_NUMBER_FORMAT: &str = "invalid AS Number format";

/// A Calico v1 `bgpPeer` document, unvalidated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BgpPeerDocument {
    /// Must be `v1`.
    pub api_version: String,
    /// Must be `bgpPeer`.
    pub kind: String,
    /// The identity.
    #[serde(default)]
    pub metadata: BgpPeerMetadata,
    /// The peering parameters.
    #[serde(default)]
    pub spec: BgpPeerSpec,
}

/// `metadata` of a bgpPeer document, unvalidated. Empty strings count as absent,
/// as Go's zero values do in Calico.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BgpPeerMetadata {
    /// `global` or `node`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The node name, for `scope: node` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The peer address, optionally with a port.
    #[serde(rename = "peerIP", default, skip_serializing_if = "Option::is_none")]
    pub peer_ip: Option<String>,
}

/// `spec` of a bgpPeer document, unvalidated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BgpPeerSpec {
    /// The peer's AS number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumberValue>,
}

/// An `asNumber` as written: any scalar, so that a wrong one is reported as an
/// invalid AS number with its text rather than as a serde type error.
#[derive(Debug, Clone, PartialEq)]
pub enum AsNumberValue {
    /// A non-negative integer (may still exceed 32 bits).
    Integer(u64),
    /// A negative integer.
    Negative(i64),
    /// A float; YAML reads an unquoted asdot `1.10` as the float 1.1.
    Float(f64),
    /// A string: decimal or asdot `X.Y`.
    Text(String),
    /// `true`/`false`.
    Boolean(bool),
}

impl AsNumberValue {
    /// The AS number, if the value is a decimal integer in 0..=4294967295 or an asdot
    /// string with both halves in 0..=65535 (libcalico-go `numorstring.ASNumber`).
    pub fn to_asn(&self) -> Option<Asn> {
        match self {
            AsNumberValue::Integer(value) => u32::try_from(*value).ok().map(Asn),
            AsNumberValue::Text(text) => text.parse().ok(),
            AsNumberValue::Negative(_) | AsNumberValue::Float(_) | AsNumberValue::Boolean(_) => {
                None
            }
        }
    }
}

impl fmt::Display for AsNumberValue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AsNumberValue::Integer(value) => write!(formatter, "{value}"),
            AsNumberValue::Negative(value) => write!(formatter, "{value}"),
            AsNumberValue::Float(value) => write!(formatter, "{value}"),
            AsNumberValue::Text(text) => formatter.write_str(text),
            AsNumberValue::Boolean(value) => write!(formatter, "{value}"),
        }
    }
}

impl Serialize for AsNumberValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            AsNumberValue::Integer(value) => serializer.serialize_u64(*value),
            AsNumberValue::Negative(value) => serializer.serialize_i64(*value),
            AsNumberValue::Float(value) => serializer.serialize_f64(*value),
            AsNumberValue::Text(text) => serializer.serialize_str(text),
            AsNumberValue::Boolean(value) => serializer.serialize_bool(*value),
        }
    }
}

impl<'de> Deserialize<'de> for AsNumberValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;

        impl Visitor<'_> for ScalarVisitor {
            type Value = AsNumberValue;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an AS number (integer, decimal string or asdot \"X.Y\")")
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
                Ok(AsNumberValue::Integer(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
                Ok(match u64::try_from(value) {
                    Ok(value) => AsNumberValue::Integer(value),
                    Err(_) => AsNumberValue::Negative(value),
                })
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
                Ok(AsNumberValue::Float(value))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(AsNumberValue::Text(value.to_owned()))
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
                Ok(AsNumberValue::Boolean(value))
            }
        }

        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// Whether the spec matters: deleting by file needs only the identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// create / replace / apply: the whole resource must be valid.
    Write,
    /// delete: the identity must be valid; an absent `asNumber` is fine (a present
    /// but invalid one is still refused, as Calico validates the whole document).
    Identify,
}

fn present(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|text| !text.is_empty())
}

impl BgpPeerDocument {
    /// Validates the document into a peer. `document` is the 1-based position used
    /// to name the document when its identity is unreadable.
    pub fn validate(&self, document: usize) -> Result<BgpPeer, DocumentError> {
        let (key, as_number) = self.check(document, Purpose::Write)?;
        let as_number = as_number.ok_or_else(|| self.fail(document, missing_as_number()))?;
        Ok(BgpPeer {
            scope: key.scope,
            peer_address: key.peer_address,
            peer_port: key.peer_port,
            as_number,
        })
    }

    /// Validates everything, returning the identity and (for [`Purpose::Write`],
    /// always) the AS number.
    pub(crate) fn check(
        &self,
        document: usize,
        purpose: Purpose,
    ) -> Result<(PeerKey, Option<Asn>), DocumentError> {
        if self.api_version != API_VERSION || self.kind != KIND {
            // Not a bgpPeer, so not labelled as one.
            return Err(DocumentError {
                document: DocumentLabel::Index(document),
                problem: Problem::UnknownResourceType {
                    kind: self.kind.clone(),
                    api_version: self.api_version.clone(),
                },
            });
        }
        let metadata = &self.metadata;
        let mut fields = Vec::new();

        // Field rules first, then identifiers: libcalico-go runs the validator before
        // ValidateMetadataIDsAssigned, so a bad value is reported before a missing one.
        let scope = present(&metadata.scope).map(|text| match text.parse::<ScopeKind>() {
            Ok(kind) => Some(kind),
            Err(_) => {
                fields.push(FieldError {
                    field: "scope".into(),
                    value: Some(text.to_owned()),
                    reason: "must be one of: global, node".to_owned(),
                });
                None
            }
        });
        let node = present(&metadata.node).and_then(|text| match NodeName::new(text) {
            Ok(_) if scope == Some(Some(ScopeKind::Global)) => {
                fields.push(FieldError {
                    field: "node".into(),
                    value: Some(text.to_owned()),
                    reason: "no BGP Peer node name should be specified when scope is global"
                        .to_owned(),
                });
                None
            }
            Ok(node) => Some(node),
            Err(_) => {
                fields.push(FieldError {
                    field: "node".into(),
                    value: Some(text.to_owned()),
                    reason: "invalid node name: must match ^[a-zA-Z0-9_.-]{1,128}$".to_owned(),
                });
                None
            }
        });
        let peer = present(&metadata.peer_ip).and_then(|text| match parse_peer_ip(text) {
            Ok(peer) => Some(peer),
            Err(error) => {
                fields.push(FieldError {
                    field: "peerIP".into(),
                    value: Some(text.to_owned()),
                    reason: error.to_string(),
                });
                None
            }
        });
        let as_number = match &self.spec.as_number {
            Some(value) => match value.to_asn() {
                Some(asn) => Some(asn),
                None => {
                    fields.push(FieldError {
                        field: "asNumber".into(),
                        value: Some(value.to_string()),
                        reason: AS_NUMBER_FORMAT.to_owned(),
                    });
                    None
                }
            },
            None => {
                if purpose == Purpose::Write {
                    fields.push(missing_as_number_field());
                }
                None
            }
        };
        if !fields.is_empty() {
            return Err(self.fail(document, Problem::Fields(fields)));
        }

        let Some((peer_address, peer_port)) = peer else {
            return Err(self.fail(document, Problem::InsufficientIdentifiers("peerIP")));
        };
        let scope = match (scope.flatten(), node) {
            (Some(ScopeKind::Global), _) => Scope::Global,
            (Some(ScopeKind::Node), Some(node)) => Scope::Node(node),
            // Calico asks for the node both when the scope is missing and when a
            // node-scoped peer has no node: without a scope the node is what is missing.
            (Some(ScopeKind::Node), None) | (None, _) => {
                return Err(self.fail(document, Problem::InsufficientIdentifiers("node")));
            }
        };
        Ok((
            PeerKey {
                scope,
                peer_address,
                peer_port,
            },
            as_number,
        ))
    }

    /// The label naming this document in errors: its identity as written when there
    /// is a `peerIP`, else its position.
    pub fn label(&self, document: usize) -> DocumentLabel {
        match present(&self.metadata.peer_ip) {
            Some(peer_ip) => DocumentLabel::Identity {
                node: present(&self.metadata.node).map(str::to_owned),
                peer_ip: peer_ip.to_owned(),
            },
            None => DocumentLabel::Index(document),
        }
    }

    fn fail(&self, document: usize, problem: Problem) -> DocumentError {
        DocumentError {
            document: self.label(document),
            problem,
        }
    }
}

fn missing_as_number_field() -> FieldError {
    FieldError {
        field: "asNumber".into(),
        value: None,
        reason: "required".to_owned(),
    }
}

fn missing_as_number() -> Problem {
    Problem::Fields(vec![missing_as_number_field()])
}

impl From<&BgpPeer> for BgpPeerDocument {
    fn from(peer: &BgpPeer) -> Self {
        BgpPeerDocument {
            api_version: API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            metadata: BgpPeerMetadata {
                scope: Some(peer.scope.kind().as_str().to_owned()),
                node: peer.scope.node().map(|node| node.as_str().to_owned()),
                peer_ip: Some(peer.peer_ip()),
            },
            spec: BgpPeerSpec {
                // Always a plain integer on output, whatever notation came in.
                as_number: Some(AsNumberValue::Integer(u64::from(peer.as_number.0))),
            },
        }
    }
}

impl From<BgpPeer> for BgpPeerDocument {
    fn from(peer: BgpPeer) -> Self {
        BgpPeerDocument::from(&peer)
    }
}

impl TryFrom<BgpPeerDocument> for BgpPeer {
    type Error = DocumentError;

    fn try_from(document: BgpPeerDocument) -> Result<Self, Self::Error> {
        document.validate(1)
    }
}
