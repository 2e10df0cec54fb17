//! The v3 `BGPPeer` (Calico `api/pkg/apis/projectcalico/v3/bgppeer.go`).
//!
//! Rules (libcalico-go `lib/validator/v3/validator.go`, `validateBGPPeerSpec`, and
//! the field documentation on the Calico "BGP peer" resource page):
//!
//! - `node` and `nodeSelector` exclude each other; with neither the peer is global.
//! - exactly one of `peerIP` and `peerSelector`; `asNumber` is required with
//!   `peerIP` and forbidden with `peerSelector` (the selected nodes' own AS is used).
//! - `peerIP` is `a.b.c.d`, `a.b.c.d:port` or `[v6]:port` (Calico v3.16), no zone.
//! - `password` is `{file: PATH}` or `{env: NAME}`. Calico's `secretKeyRef` needs
//!   the Kubernetes API, which nodebgp does not use: such a peer is kept but
//!   unsupported (not run).
//! - `sourceAddress` is `UseNodeIP` (the default) or `None`.
//! - `keepaliveTime` is whole seconds, 1 s to 65535 s (RFC 4271 §4.4: a 2-octet
//!   count of seconds); `maxRestartTime` whole seconds up to 4095 (RFC 4724 §3: the
//!   Restart Time is 12 bits).
//! - `ttlSecurity` is a hop count 1..=255 (RFC 5082: the peer is at most that many
//!   hops away, so packets must arrive with TTL ≥ 256 − hops).
//! - `numAllowedLocalASNumbers` is 1..=10 (BIRD `allow local as`, as Calico renders it).
//! - Calico's other fields (`filters`, `reachableBy`, `localWorkloadSelector`,
//!   `nextHopMode`, `localASNumber`, `reversePeering`) are checked by Calico's
//!   rules and kept verbatim (accessors read them: [`BgpPeerV3::filters`],
//!   [`BgpPeerV3::reachable_by`], …); a peer that sets one nodebgp cannot carry out is
//!   read as an [`UnsupportedBgpPeer`] (see [`super::peer_policy`]), never as a
//!   [`BgpPeerV3`], so that it cannot be run with the wrong policy.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use bgp_wire::Asn;
use serde::{Deserialize, Serialize};

use super::peer_policy::{self, UnsupportedBgpPeer};
use super::unmodelled::{Strictness, Unmodelled};
use super::{finish, format_duration, parse_duration, Labels, ObjectMetadata, ResourceName};
use crate::document::AsNumberValue;
use crate::error::{DocumentError, DocumentLabel, FieldError, Problem};
use crate::model::{format_peer_ip, parse_peer_ip};
use crate::resource::Resource;
use crate::selector::Selector;

/// The `kind` of a v3 BGP peer.
pub const BGP_PEER_KIND: &str = "BGPPeer";

/// Where the session's TCP MD5 password comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PasswordSource {
    /// The content of a file on the node (trailing newline removed).
    File(PathBuf),
    /// The value of an environment variable of the daemon.
    Env(String),
}

impl PasswordSource {
    /// The most a password file may hold: TCP MD5 keys are at most 80 octets,
    /// and a path pointing at something else (a log, a device) must not make
    /// the daemon read without end.
    pub const MAX_FILE_LENGTH: u64 = 4096;

    /// Reads the password now.
    pub fn read(&self) -> Result<String, String> {
        match self {
            PasswordSource::File(path) => {
                use std::io::Read as _;
                let shown = path.display();
                let mut text = String::new();
                std::fs::File::open(path)
                    .and_then(|file| {
                        file.take(Self::MAX_FILE_LENGTH + 1)
                            .read_to_string(&mut text)
                    })
                    .map_err(|error| format!("cannot read password file {shown}: {error}"))?;
                if text.len() as u64 > Self::MAX_FILE_LENGTH {
                    return Err(format!(
                        "password file {shown} holds more than {} bytes",
                        Self::MAX_FILE_LENGTH
                    ));
                }
                Ok(text.trim_end_matches(['\n', '\r']).to_owned())
            }
            PasswordSource::Env(name) => std::env::var(name)
                .map_err(|error| format!("cannot read password variable {name}: {error}")),
        }
    }
}

/// `sourceAddress`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SourceAddress {
    /// Connect from the node's own BGP address (Calico's default).
    #[default]
    UseNodeIp,
    /// Let the kernel choose.
    None,
}

/// Whom a v3 peer peers with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PeerTarget {
    /// One address, with its AS.
    Address {
        /// The peer's address.
        address: IpAddr,
        /// The peer's port, when not the default.
        port: Option<u16>,
        /// The peer's AS.
        as_number: Asn,
    },
    /// Every Calico node these labels select, at its BGP address and with its AS.
    Selector(Selector),
    /// The workloads on the node that `spec.localWorkloadSelector` selects
    /// (Calico 3.30): Felix evaluates the selector and names the BGPPeer in
    /// each selected workload's endpoint status file; the node peers with
    /// each, passively, in this AS.
    LocalWorkloads {
        /// The workloads' AS.
        as_number: Asn,
    },
}

/// A validated v3 `BGPPeer`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BgpPeerV3 {
    /// `metadata.name`, the identity.
    pub name: ResourceName,
    /// `metadata.labels`.
    pub labels: Labels,
    /// The only node that peers (`spec.node`).
    pub node: Option<ResourceName>,
    /// The nodes that peer (`spec.nodeSelector`).
    pub node_selector: Option<Selector>,
    /// `spec.peerIP` + `spec.asNumber`, or `spec.peerSelector`.
    pub target: PeerTarget,
    /// `spec.password`.
    pub password: Option<PasswordSource>,
    /// `spec.sourceAddress`.
    pub source_address: SourceAddress,
    /// `spec.keepaliveTime`.
    pub keepalive_time: Option<Duration>,
    /// `spec.maxRestartTime`.
    pub max_restart_time: Option<Duration>,
    /// `spec.ttlSecurity`: GTSM with this many hops.
    pub ttl_security: Option<u8>,
    /// `spec.numAllowedLocalASNumbers`.
    pub num_allowed_local_as_numbers: Option<u32>,
    /// `spec.keepOriginalNextHop`.
    pub keep_original_next_hop: bool,
    /// What the document holds beyond the above (metadata such as `uid`, and
    /// Calico fields set to their defaults, e.g. `nextHopMode: Auto`).
    pub unmodelled: Unmodelled,
}

impl BgpPeerV3 {
    /// Whether every node peers (neither `node` nor `nodeSelector`).
    pub fn is_global(&self) -> bool {
        self.node.is_none() && self.node_selector.is_none()
    }

    /// `spec.nextHopMode` (Calico 3.31; kept verbatim in
    /// [`Unmodelled::spec`]); `Auto` when absent.
    pub fn next_hop_mode(&self) -> NextHopMode {
        match self
            .unmodelled
            .spec
            .get("nextHopMode")
            .and_then(serde_yaml::Value::as_str)
        {
            Some("Self") => NextHopMode::SelfAlways,
            Some("Keep") => NextHopMode::Keep,
            _ => NextHopMode::Auto,
        }
    }

    /// `spec.localASNumber` (Calico 3.31; kept verbatim in
    /// [`Unmodelled::spec`]): our AS on this session instead of the node's.
    pub fn local_as_number(&self) -> Option<bgp_wire::Asn> {
        let value = self.unmodelled.spec.get("localASNumber")?;
        serde_yaml::from_value::<crate::document::AsNumberValue>(value.clone())
            .ok()?
            .to_asn()
    }

    /// `spec.reversePeering` (Calico 3.31; kept verbatim in
    /// [`Unmodelled::spec`]): whether the nodes this peering reaches peer
    /// back automatically (`Auto`, the default) or only through BGPPeers of
    /// their own (`Manual`).
    pub fn reverse_peering(&self) -> bool {
        self.unmodelled
            .spec
            .get("reversePeering")
            .and_then(serde_yaml::Value::as_str)
            != Some("Manual")
    }

    /// `spec.reachableBy` (Calico 3.25; kept verbatim in
    /// [`Unmodelled::spec`]): the gateway the peer is reached through, for
    /// which the node installs the host route `<peerIP>/32 via <gateway>`
    /// (confd's static route in `bird_aggr.cfg`). Validation has checked it
    /// is an address of the peer's family.
    pub fn reachable_by(&self) -> Option<std::net::IpAddr> {
        self.unmodelled
            .spec
            .get("reachableBy")
            .and_then(serde_yaml::Value::as_str)
            .filter(|text| !text.is_empty())
            .and_then(|text| text.parse().ok())
    }

    /// `spec.filters`: the BGPFilters applied to the session's routes, in
    /// order (checked names; the field itself is kept verbatim in
    /// [`Unmodelled::spec`]).
    pub fn filters(&self) -> Vec<ResourceName> {
        match self.unmodelled.spec.get("filters") {
            Some(serde_yaml::Value::Sequence(items)) => items
                .iter()
                .filter_map(|item| item.as_str().and_then(|text| ResourceName::new(text).ok()))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the node `name` with `labels` runs this peering.
    pub fn applies_to(&self, name: &str, labels: &Labels) -> bool {
        match (&self.node, &self.node_selector) {
            (Some(node), _) => node.as_str() == name,
            (None, Some(selector)) => selector.matches(labels),
            (None, None) => true,
        }
    }
}

/// `nextHopMode`: the next hop of the routes sent to the peer (BIRD's
/// `next hop self` / `next hop keep`, as calico-node renders them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NextHopMode {
    /// BGP's own rules (RFC 4271 §5.1.3): our address towards eBGP peers,
    /// unchanged towards iBGP peers except for the node's own routes.
    #[default]
    Auto,
    /// `Self`: our address on every route, reflected ones too.
    SelfAlways,
    /// `Keep`: learned routes keep their next hop, towards eBGP peers too.
    Keep,
}

/// A v3 `BGPPeer` document, unvalidated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpPeerV3Document {
    /// `projectcalico.org/v3`.
    pub api_version: String,
    /// `BGPPeer`.
    pub kind: String,
    /// Name and labels.
    #[serde(default)]
    pub metadata: ObjectMetadata,
    /// The peering.
    #[serde(default)]
    pub spec: BgpPeerV3Spec,
    /// Other top-level fields (Calico defines none): kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// `password` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordDocument {
    /// A file holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// An environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Calico's Kubernetes Secret reference: refused with an explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<serde_yaml::Value>,
}

/// `spec` of a v3 BGPPeer, unvalidated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)] // Each field is the Calico field of the same name.
pub struct BgpPeerV3Spec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(rename = "peerIP", default, skip_serializing_if = "Option::is_none")]
    pub peer_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumberValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordDocument>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_restart_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_security: Option<i64>,
    #[serde(
        rename = "numAllowedLocalASNumbers",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub num_allowed_local_as_numbers: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_original_next_hop: Option<bool>,
    /// The fields Calico defines and nodebgp does not model
    /// ([`super::peer_policy`]), and in a datastore any other: kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// The spec fields [`BgpPeerV3`] holds.
const MODELLED_SPEC: &[&str] = &[
    "node",
    "peerIP",
    "asNumber",
    "nodeSelector",
    "peerSelector",
    "password",
    "sourceAddress",
    "keepaliveTime",
    "maxRestartTime",
    "ttlSecurity",
    "numAllowedLocalASNumbers",
    "keepOriginalNextHop",
];

fn present(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|text| !text.is_empty())
}

fn field(field: &'static str, value: impl ToString, reason: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        value: Some(value.to_string()),
        reason: reason.into(),
    }
}

fn whole_seconds(
    name: &'static str,
    text: &str,
    maximum: u64,
    fields: &mut Vec<FieldError>,
) -> Option<Duration> {
    match parse_duration(text) {
        Ok(duration) if duration.subsec_nanos() != 0 => {
            fields.push(field(name, text, "must be a whole number of seconds"));
            None
        }
        Ok(duration) if duration.as_secs() == 0 || duration.as_secs() > maximum => {
            fields.push(field(
                name,
                text,
                format!("must be between 1s and {maximum}s"),
            ));
            None
        }
        Ok(duration) => Some(duration),
        Err(reason) => {
            fields.push(field(name, text, reason));
            None
        }
    }
}

impl BgpPeerV3Document {
    /// The label naming this document in errors.
    pub fn label(&self, document: usize) -> DocumentLabel {
        self.metadata.label(BGP_PEER_KIND, document)
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
                (&self.spec.extra, MODELLED_SPEC, peer_policy::KNOWN_SPEC),
            )
            .map_err(Problem::Unreadable)
    }

    /// Validates a document from a user's file (see the module documentation for
    /// the rules): a [`Resource::BgpPeerV3`], or a [`Resource::UnsupportedBgpPeer`]
    /// when it sets a Calico field nodebgp cannot carry out.
    pub fn validate(&self, document: usize) -> Result<Resource, DocumentError> {
        self.validate_as(document, Strictness::File)
    }

    /// As [`validate`](Self::validate); from a datastore, an unknown spec field
    /// makes the peer unsupported rather than invalid: a newer Calico may have
    /// written it, and nodebgp cannot tell what it changes.
    pub(crate) fn validate_as(
        &self,
        document: usize,
        strictness: Strictness,
    ) -> Result<Resource, DocumentError> {
        let spec = &self.spec;
        let mut fields = Vec::new();
        let name = self.metadata.check(&mut fields);
        let local_workload = peer_policy::local_workload_selector(spec);

        let node = present(&spec.node).and_then(|text| match ResourceName::new(text) {
            Ok(node) => Some(node),
            Err(_) => {
                fields.push(field(
                    "node",
                    text,
                    "invalid node name: must be a DNS-1123 subdomain",
                ));
                None
            }
        });
        let node_selector =
            present(&spec.node_selector).and_then(|text| match Selector::parse(text) {
                Ok(selector) => Some(selector),
                Err(error) => {
                    fields.push(field("nodeSelector", text, error.to_string()));
                    None
                }
            });
        if let (Some(text), Some(_)) = (present(&spec.node), present(&spec.node_selector)) {
            fields.push(field(
                "node",
                text,
                "Node field must be empty when NodeSelector is specified",
            ));
        }

        let peer = present(&spec.peer_ip).and_then(|text| match parse_peer_ip(text) {
            Ok(peer) => Some(peer),
            Err(error) => {
                fields.push(field("peerIP", text, error.to_string()));
                None
            }
        });
        let peer_selector =
            present(&spec.peer_selector).and_then(|text| match Selector::parse(text) {
                Ok(selector) => Some(selector),
                Err(error) => {
                    fields.push(field("peerSelector", text, error.to_string()));
                    None
                }
            });
        let as_number = spec
            .as_number
            .as_ref()
            .and_then(|value| match value.to_asn() {
                Some(asn) => Some(asn),
                None => {
                    fields.push(field("asNumber", value, "invalid AS Number format"));
                    None
                }
            });
        match (present(&spec.peer_ip), present(&spec.peer_selector)) {
            (Some(text), Some(_)) => fields.push(field(
                "peerIP",
                text,
                "PeerIP field must be empty when PeerSelector is specified",
            )),
            // A local-workload peer has neither (Calico refuses both with it).
            (None, None) if local_workload.is_some() => {}
            (None, None) => fields.push(FieldError {
                field: "peerIP".into(),
                value: None,
                reason: "one of peerIP and peerSelector is required".to_owned(),
            }),
            (None, Some(_)) => {
                if let Some(value) = &spec.as_number {
                    fields.push(field(
                        "asNumber",
                        value,
                        "ASNumber field must be empty when PeerSelector is specified",
                    ));
                }
            }
            (Some(_), None) => {
                if spec.as_number.is_none() {
                    fields.push(FieldError {
                        field: "asNumber".into(),
                        value: None,
                        reason: "required when peerIP is specified".to_owned(),
                    });
                }
            }
        }

        let mut reasons = peer_policy::check(spec, strictness, &mut fields);
        let password = spec.password.as_ref().and_then(|password| {
            match (
                present(&password.file),
                present(&password.env),
                &password.secret_key_ref,
            ) {
                // Valid for Calico, so kept; but the Secret needs the
                // Kubernetes API: the peer is not run (never run without it).
                (_, _, Some(_)) => {
                    reasons.push(peer_policy::SECRET_KEY_REF.to_owned());
                    None
                }
                (Some(file), None, None) => Some(PasswordSource::File(PathBuf::from(file))),
                (None, Some(env), None) => Some(PasswordSource::Env(env.to_owned())),
                _ => {
                    fields.push(FieldError {
                        field: "password".into(),
                        value: None,
                        reason: "exactly one of file and env is required".to_owned(),
                    });
                    None
                }
            }
        });
        let source_address = match present(&spec.source_address) {
            None | Some("UseNodeIP") => SourceAddress::UseNodeIp,
            Some("None") => SourceAddress::None,
            Some(other) => {
                fields.push(field(
                    "sourceAddress",
                    other,
                    "must be one of: UseNodeIP, None",
                ));
                SourceAddress::UseNodeIp
            }
        };
        let keepalive_time = present(&spec.keepalive_time)
            .and_then(|text| whole_seconds("keepaliveTime", text, 65535, &mut fields));
        let max_restart_time = present(&spec.max_restart_time)
            .and_then(|text| whole_seconds("maxRestartTime", text, 4095, &mut fields));
        let ttl_security = spec.ttl_security.and_then(|hops| match u8::try_from(hops) {
            Ok(hops) if hops >= 1 => Some(hops),
            _ => {
                fields.push(field(
                    "ttlSecurity",
                    hops,
                    "must be a hop count between 1 and 255",
                ));
                None
            }
        });
        let num_allowed_local_as_numbers =
            spec.num_allowed_local_as_numbers
                .and_then(|count| match count {
                    1..=10 => u32::try_from(count).ok(),
                    _ => {
                        fields.push(field(
                            "numAllowedLocalASNumbers",
                            count,
                            "must be between 1 and 10",
                        ));
                        None
                    }
                });

        let peer_address = peer.map(|(address, _)| address);
        let target = match (peer, peer_selector, as_number) {
            (Some((address, port)), None, Some(as_number)) => Some(PeerTarget::Address {
                address,
                port,
                as_number,
            }),
            (None, Some(selector), None) => Some(PeerTarget::Selector(selector)),
            // The rules above have checked that only localWorkloadSelector
            // comes without peerIP and peerSelector.
            (None, None, Some(as_number))
                if spec
                    .extra
                    .get("localWorkloadSelector")
                    .and_then(serde_yaml::Value::as_str)
                    .is_some_and(|text| !text.is_empty()) =>
            {
                Some(PeerTarget::LocalWorkloads { as_number })
            }
            _ => None,
        };
        let target = match target {
            Some(target) => Some(target),
            // A peer that sets something nodebgp cannot do goes without a
            // target; the rules above refuse every other way to get here.
            None if !reasons.is_empty() => None,
            None => {
                if fields.is_empty() {
                    fields.push(FieldError {
                        field: "peerIP".into(),
                        value: None,
                        reason: "one of peerIP and peerSelector is required".to_owned(),
                    });
                }
                None
            }
        };
        let mut unmodelled = Unmodelled {
            top: self.extra.clone(),
            metadata: self.metadata.extra.clone(),
            spec: spec.extra.clone(),
            bgp: serde_yaml::Mapping::new(),
        };
        // The model cannot tell `UseNodeIP` written out from the default left
        // out: keep the written one, so that it is written back.
        if present(&spec.source_address) == Some("UseNodeIP") {
            unmodelled
                .spec
                .insert("sourceAddress".into(), "UseNodeIP".into());
        }
        finish(self.label(document), fields, name, |name| match target {
            Some(target) if reasons.is_empty() => Resource::BgpPeerV3(BgpPeerV3 {
                name,
                labels: self.metadata.labels.clone(),
                node,
                node_selector,
                target,
                password,
                source_address,
                keepalive_time,
                max_restart_time,
                ttl_security,
                num_allowed_local_as_numbers,
                keep_original_next_hop: spec.keep_original_next_hop.unwrap_or(false),
                unmodelled,
            }),
            _ => Resource::UnsupportedBgpPeer(UnsupportedBgpPeer::new(
                name,
                self.metadata.labels.clone(),
                node,
                node_selector,
                peer_address,
                reasons,
                self,
            )),
        })
    }
}

impl From<&BgpPeerV3> for BgpPeerV3Document {
    fn from(peer: &BgpPeerV3) -> Self {
        let (peer_ip, as_number, peer_selector) = match &peer.target {
            PeerTarget::Address {
                address,
                port,
                as_number,
            } => (
                Some(format_peer_ip(*address, *port)),
                Some(AsNumberValue::Integer(u64::from(as_number.0))),
                None,
            ),
            PeerTarget::Selector(selector) => (None, None, Some(selector.to_string())),
            PeerTarget::LocalWorkloads { as_number } => (
                None,
                Some(AsNumberValue::Integer(u64::from(as_number.0))),
                None,
            ),
        };
        let mut spec_extra = peer.unmodelled.spec.clone();
        if peer.source_address == SourceAddress::None {
            spec_extra.remove("sourceAddress");
        }
        BgpPeerV3Document {
            api_version: super::API_VERSION_V3.to_owned(),
            kind: BGP_PEER_KIND.to_owned(),
            metadata: ObjectMetadata::from_model(
                &peer.name,
                &peer.labels,
                &peer.unmodelled.metadata,
            ),
            extra: peer.unmodelled.top.clone(),
            spec: BgpPeerV3Spec {
                node: peer.node.as_ref().map(|node| node.as_str().to_owned()),
                peer_ip,
                as_number,
                node_selector: peer.node_selector.as_ref().map(ToString::to_string),
                peer_selector,
                password: peer.password.as_ref().map(|password| match password {
                    PasswordSource::File(path) => PasswordDocument {
                        file: Some(path.display().to_string()),
                        ..PasswordDocument::default()
                    },
                    PasswordSource::Env(name) => PasswordDocument {
                        env: Some(name.clone()),
                        ..PasswordDocument::default()
                    },
                }),
                source_address: match peer.source_address {
                    SourceAddress::UseNodeIp => None,
                    SourceAddress::None => Some("None".to_owned()),
                },
                keepalive_time: peer.keepalive_time.map(format_duration),
                max_restart_time: peer.max_restart_time.map(format_duration),
                ttl_security: peer.ttl_security.map(i64::from),
                num_allowed_local_as_numbers: peer.num_allowed_local_as_numbers.map(i64::from),
                keep_original_next_hop: peer.keep_original_next_hop.then_some(true),
                extra: spec_extra,
            },
        }
    }
}
