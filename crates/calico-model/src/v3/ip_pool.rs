//! The v3 `IPPool` (Calico `api/pkg/apis/projectcalico/v3/ippool.go`): the
//! address ranges pods are given addresses from, which a node advertises.
//!
//! Defaults, as libcalico-go sets them on write and on read
//! (`libcalico-go/lib/clientv3/ippool.go`, `validateAndSetDefaults` and
//! `convertIpPoolFromStorage`): `blockSize` 26 (IPv4) or 122 (IPv6), `ipipMode`
//! and `vxlanMode` `Never`, `nodeSelector` `all()`, `allowedUses`
//! `[Workload, Tunnel]`. The model holds them applied, and a document is
//! written with them, as Calico stores it.
//!
//! Rules (`validateAndSetDefaults`, `lib/validator/v3/validator.go`
//! `validateIPPoolSpec`, and the CEL rules on `IPPoolSpec`), with Calico's
//! messages:
//!
//! - `cidr` is required, a valid subnet, strictly masked (no host bits), and
//!   does not overlap the link-local ranges `169.254.0.0/16` and `fe80::/10`.
//! - `blockSize` is 20–32 for IPv4 and 116–128 for IPv6, and unless the pool is
//!   disabled the pool is at least one block (its prefix no longer than
//!   `blockSize`).
//! - `ipipMode`/`vxlanMode` are `Never`, `Always` or `CrossSubnet`; not both
//!   enabled; no IP-in-IP on IPv6.
//! - `allowedUses` are `Workload`, `Tunnel`, `LoadBalancer`; a `LoadBalancer`
//!   pool has no other use, no encapsulation, BGP export on and `nodeSelector`
//!   `all()`; a `Tunnel` pool has no `namespaceSelector`.
//! - `nodeSelector` is a selector (not `global()`), at most 1024 characters.
//! - The APIv1 compatibility fields `ipip` and `nat-outgoing` may not be set
//!   (Calico's `mustBeNil`, `mustBeFalse`), `assignmentMode` is `Automatic` or
//!   `Manual`; they, `namespaceSelector` and `status` are kept verbatim.
//!
//! Not checked: overlap with other pools and unchanged `cidr`/`blockSize` on
//! update, which need the other stored pools (Calico checks them in its client).

use std::fmt;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::unmodelled::{Strictness, Unmodelled};
use super::{finish, Labels, ObjectMetadata, ResourceName};
use crate::error::{DocumentError, DocumentLabel, FieldError, Problem};
use crate::selector::Selector;

/// The `kind` of a v3 IP pool.
pub const IP_POOL_KIND: &str = "IPPool";

/// The longest `nodeSelector` Calico accepts.
const SELECTOR_MAX_LENGTH: usize = 1024;

/// `ipipMode` / `vxlanMode`: when packets to the pool's addresses are encapsulated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum EncapsulationMode {
    /// No encapsulation (the default).
    #[default]
    Never,
    /// Always encapsulated.
    Always,
    /// Encapsulated only towards nodes in another subnet.
    CrossSubnet,
}

impl EncapsulationMode {
    /// The name Calico writes (`Never`, `Always`, `CrossSubnet`).
    pub fn as_str(self) -> &'static str {
        match self {
            EncapsulationMode::Never => "Never",
            EncapsulationMode::Always => "Always",
            EncapsulationMode::CrossSubnet => "CrossSubnet",
        }
    }

    /// Whether packets are ever encapsulated.
    pub fn is_enabled(self) -> bool {
        self != EncapsulationMode::Never
    }

    /// Reads a v3 mode; the empty text is `Never`, as Calico defaults it.
    fn parse(text: &str) -> Option<EncapsulationMode> {
        match text {
            "" | "Never" => Some(EncapsulationMode::Never),
            "Always" => Some(EncapsulationMode::Always),
            "CrossSubnet" => Some(EncapsulationMode::CrossSubnet),
            _ => None,
        }
    }
}

impl fmt::Display for EncapsulationMode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// `allowedUses[]`: what Calico IPAM may give the pool's addresses to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AllowedUse {
    /// Pod (workload) addresses.
    Workload,
    /// A node's tunnel address (IP-in-IP, VXLAN, WireGuard).
    Tunnel,
    /// Service load-balancer addresses (Calico 3.30).
    LoadBalancer,
}

impl AllowedUse {
    /// The name Calico writes.
    pub fn as_str(self) -> &'static str {
        match self {
            AllowedUse::Workload => "Workload",
            AllowedUse::Tunnel => "Tunnel",
            AllowedUse::LoadBalancer => "LoadBalancer",
        }
    }

    fn parse(text: &str) -> Option<AllowedUse> {
        [
            AllowedUse::Workload,
            AllowedUse::Tunnel,
            AllowedUse::LoadBalancer,
        ]
        .into_iter()
        .find(|allowed| allowed.as_str() == text)
    }
}

impl fmt::Display for AllowedUse {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A validated v3 `IPPool`, Calico's defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IpPoolResource {
    /// `metadata.name`.
    pub name: ResourceName,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `spec.cidr`, masked.
    pub cidr: IpNet,
    /// `spec.blockSize`: the prefix length of the pool's IPAM blocks.
    pub block_size: u8,
    /// `spec.ipipMode`.
    pub ipip_mode: EncapsulationMode,
    /// `spec.vxlanMode`.
    pub vxlan_mode: EncapsulationMode,
    /// `spec.natOutgoing`.
    pub nat_outgoing: bool,
    /// `spec.disabled`: IPAM gives out no new addresses from the pool (its
    /// routes are still advertised, as confd does).
    pub disabled: bool,
    /// `spec.disableBGPExport`: the pool's routes are not advertised.
    pub disable_bgp_export: bool,
    /// `spec.nodeSelector`; `None` is `all()`.
    pub node_selector: Option<Selector>,
    /// `spec.allowedUses`, never empty.
    pub allowed_uses: Vec<AllowedUse>,
    /// The rest of the document, kept verbatim: `uid`, `assignmentMode`,
    /// `namespaceSelector`, `status`, …
    pub unmodelled: Unmodelled,
}

impl IpPoolResource {
    /// The default block size of a pool of this family (26 or 122).
    pub fn default_block_size(cidr: IpNet) -> u8 {
        match cidr {
            IpNet::V4(_) => 26,
            IpNet::V6(_) => 122,
        }
    }

    /// Whether the pool serves the node with these labels.
    pub fn selects_node(&self, labels: &Labels) -> bool {
        self.node_selector
            .as_ref()
            .is_none_or(|selector| selector.matches(labels))
    }

    /// Whether addresses may be given out for this use.
    pub fn allows(&self, allowed: AllowedUse) -> bool {
        self.allowed_uses.contains(&allowed)
    }
}

/// A v3 `IPPool` document, unvalidated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpPoolDocument {
    /// `projectcalico.org/v3`.
    pub api_version: String,
    /// `IPPool`.
    pub kind: String,
    /// Name and labels.
    #[serde(default)]
    pub metadata: ObjectMetadata,
    /// The pool.
    #[serde(default)]
    pub spec: IpPoolSpec,
    /// Other top-level fields (`status`): kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// `spec` of an IP pool, unvalidated, in Calico's field order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)] // Each field is the Calico field of the same name.
pub struct IpPoolSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vxlan_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipip_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_outgoing: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(
        rename = "disableBGPExport",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_bgp_export: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_uses: Option<Vec<String>>,
    /// Calico's other fields (`KNOWN_SPEC`), and in a datastore any other:
    /// kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// The spec fields the model holds.
const MODELLED_SPEC: &[&str] = &[
    "cidr",
    "vxlanMode",
    "ipipMode",
    "natOutgoing",
    "disabled",
    "disableBGPExport",
    "blockSize",
    "nodeSelector",
    "allowedUses",
];

/// Calico's other IPPool spec fields, kept verbatim: `namespaceSelector` and
/// `assignmentMode` (3.30), and the APIv1 compatibility fields Calico refuses
/// set (`ipip`, `nat-outgoing`, until 3.31).
const KNOWN_SPEC: &[&str] = &[
    "namespaceSelector",
    "assignmentMode",
    "ipip",
    "nat-outgoing",
];

fn field(field: &'static str, value: impl ToString, reason: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        value: Some(value.to_string()),
        reason: reason.into(),
    }
}

/// Whether `cidr` shares an address with `range`.
fn overlaps(cidr: IpNet, range: IpNet) -> bool {
    cidr.contains(&range.network()) || range.contains(&cidr.network())
}

impl IpPoolDocument {
    /// The label naming this document in errors.
    pub fn label(&self, document: usize) -> DocumentLabel {
        self.metadata.label(IP_POOL_KIND, document)
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
                (&self.extra, &["status"]),
                (&self.spec.extra, MODELLED_SPEC, KNOWN_SPEC),
            )
            .map_err(Problem::Unreadable)
    }

    /// Validates the document into a pool (see the module documentation).
    pub fn validate(&self, document: usize) -> Result<IpPoolResource, DocumentError> {
        let spec = &self.spec;
        let mut fields = Vec::new();
        let name = self.metadata.check(&mut fields);
        let cidr = match spec.cidr.as_deref().filter(|text| !text.is_empty()) {
            None => {
                fields.push(FieldError {
                    field: "cidr".into(),
                    value: None,
                    reason: "IPPool CIDR must be specified".to_owned(),
                });
                None
            }
            Some(text) => match text.parse::<IpNet>() {
                Err(_) => {
                    fields.push(field("cidr", text, "IPPool CIDR must be a valid subnet"));
                    None
                }
                Ok(cidr) if cidr != cidr.trunc() => {
                    fields.push(field("cidr", text, "IPPool CIDR is not strictly masked"));
                    None
                }
                Ok(cidr) => Some(cidr),
            },
        };
        let mode = |name: &'static str, text: &Option<String>, fields: &mut Vec<FieldError>| {
            let text = text.as_deref().unwrap_or_default();
            EncapsulationMode::parse(text).unwrap_or_else(|| {
                fields.push(field(
                    name,
                    text,
                    "must be one of: Never, Always, CrossSubnet",
                ));
                EncapsulationMode::Never
            })
        };
        let ipip_mode = mode("ipipMode", &spec.ipip_mode, &mut fields);
        let vxlan_mode = mode("vxlanMode", &spec.vxlan_mode, &mut fields);
        let disabled = spec.disabled.unwrap_or(false);
        let disable_bgp_export = spec.disable_bgp_export.unwrap_or(false);
        if ipip_mode.is_enabled() && vxlan_mode.is_enabled() {
            fields.push(field(
                "vxlanMode",
                vxlan_mode,
                "ipipMode and vxlanMode cannot both be enabled",
            ));
        }
        let block_size = cidr.and_then(|cidr| check_block_size(cidr, spec, disabled, &mut fields));
        if let Some(cidr) = cidr {
            check_cidr_ranges(cidr, ipip_mode, &mut fields);
        }

        let selector_text = spec.node_selector.as_deref().unwrap_or_default().trim();
        let node_selector = match selector_text {
            "" | "all()" => None,
            text if text.len() > SELECTOR_MAX_LENGTH => {
                fields.push(field(
                    "nodeSelector",
                    text,
                    format!("must be at most {SELECTOR_MAX_LENGTH} characters"),
                ));
                None
            }
            text if text.contains("global(") => {
                fields.push(field(
                    "nodeSelector",
                    text,
                    "global() selector is not valid for IPPool nodeSelector",
                ));
                None
            }
            text => match Selector::parse(text) {
                Ok(selector) => Some(selector),
                Err(error) => {
                    fields.push(field("nodeSelector", text, error.to_string()));
                    None
                }
            },
        };
        let allowed_uses = check_allowed_uses(spec, &mut fields);
        if allowed_uses.contains(&AllowedUse::LoadBalancer) {
            let uses = || {
                allowed_uses
                    .iter()
                    .map(|allowed| allowed.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if allowed_uses.len() > 1 {
                fields.push(field(
                    "allowedUses",
                    uses(),
                    "LoadBalancer cannot be combined with Workload or Tunnel allowed uses",
                ));
            }
            if ipip_mode.is_enabled() || vxlan_mode.is_enabled() {
                fields.push(field(
                    "allowedUses",
                    uses(),
                    "LoadBalancer IP pool cannot have IPIP or VXLAN enabled",
                ));
            }
            if disable_bgp_export {
                fields.push(field(
                    "disableBGPExport",
                    true,
                    "LoadBalancer IP pools cannot disable BGP export",
                ));
            }
            if !matches!(selector_text, "" | "all()") {
                fields.push(field(
                    "nodeSelector",
                    selector_text,
                    "IP Pool with AllowedUse LoadBalancer must have nodeSelector set to all()",
                ));
            }
        }
        check_known_fields(spec, &mut fields);
        let unmodelled = Unmodelled {
            top: self.extra.clone(),
            metadata: self.metadata.extra.clone(),
            spec: spec.extra.clone(),
            bgp: serde_yaml::Mapping::new(),
        };
        let (Some(cidr), Some(block_size)) = (cidr, block_size) else {
            // Neither is missing without a field error saying why.
            return Err(DocumentError {
                document: self.label(document),
                problem: Problem::Fields(fields),
            });
        };
        finish(self.label(document), fields, name, |name| IpPoolResource {
            name,
            labels: self.metadata.labels.clone(),
            cidr,
            block_size,
            ipip_mode,
            vxlan_mode,
            nat_outgoing: spec.nat_outgoing.unwrap_or(false),
            disabled,
            disable_bgp_export,
            node_selector,
            allowed_uses,
            unmodelled,
        })
    }
}

/// `blockSize`, defaulted, in range, and no longer than the pool's prefix
/// unless the pool is disabled.
fn check_block_size(
    cidr: IpNet,
    spec: &IpPoolSpec,
    disabled: bool,
    fields: &mut Vec<FieldError>,
) -> Option<u8> {
    let range = match cidr {
        IpNet::V4(_) => 20..=32,
        IpNet::V6(_) => 116..=128,
    };
    let block_size = match spec.block_size {
        None | Some(0) => IpPoolResource::default_block_size(cidr),
        Some(size) => match u8::try_from(size) {
            Ok(size) if range.contains(&size) => size,
            _ => {
                fields.push(field(
                    "blockSize",
                    size,
                    "blockSize must be between 20 and 32 for IPv4 pools, and between 116 and 128 for IPv6 pools",
                ));
                return None;
            }
        },
    };
    if !disabled && cidr.prefix_len() > block_size {
        fields.push(field(
            "cidr",
            cidr,
            "IP pool size is too small for use with Calico IPAM. It must be equal to or greater than the block size.",
        ));
    }
    Some(block_size)
}

/// The link-local ranges, and IP-in-IP on IPv6.
fn check_cidr_ranges(cidr: IpNet, ipip_mode: EncapsulationMode, fields: &mut Vec<FieldError>) {
    let (link_local, family) = match cidr {
        IpNet::V4(_) => ("169.254.0.0/16", "IPv4"),
        IpNet::V6(_) => ("fe80::/10", "IPv6"),
    };
    // Constant text: parses.
    if let Ok(range) = link_local.parse::<IpNet>() {
        if overlaps(cidr, range) {
            fields.push(field(
                "cidr",
                cidr,
                format!("IPPool CIDR overlaps with {family} link local range {link_local}"),
            ));
        }
    }
    if matches!(cidr, IpNet::V6(_)) && ipip_mode.is_enabled() {
        fields.push(field(
            "ipipMode",
            ipip_mode,
            "IPIP is not supported on IPv6 pools",
        ));
    }
}

/// `allowedUses`: known and distinct; empty is `[Workload, Tunnel]`.
fn check_allowed_uses(spec: &IpPoolSpec, fields: &mut Vec<FieldError>) -> Vec<AllowedUse> {
    let mut allowed_uses = Vec::new();
    for text in spec.allowed_uses.iter().flatten() {
        match AllowedUse::parse(text) {
            Some(allowed) if allowed_uses.contains(&allowed) => {
                fields.push(field("allowedUses", text, "listed twice"));
            }
            Some(allowed) => allowed_uses.push(allowed),
            None => fields.push(field("allowedUses", text, format!("unknown use: {text}"))),
        }
    }
    if allowed_uses.is_empty() {
        allowed_uses = vec![AllowedUse::Workload, AllowedUse::Tunnel];
    }
    allowed_uses
}

/// The verbatim fields Calico still checks.
fn check_known_fields(spec: &IpPoolSpec, fields: &mut Vec<FieldError>) {
    let extra = &spec.extra;
    let text = |name: &str| extra.get(name).and_then(serde_yaml::Value::as_str);
    let shown = |name: &str| {
        extra.get(name).map_or_else(String::new, |value| {
            serde_yaml::to_string(value)
                .map(|text| text.trim().to_owned())
                .unwrap_or_default()
        })
    };
    if !matches!(extra.get("ipip"), None | Some(serde_yaml::Value::Null)) {
        fields.push(field(
            "ipip",
            shown("ipip"),
            "must not be set: an APIv1 compatibility field, use ipipMode",
        ));
    }
    if !matches!(
        extra.get("nat-outgoing"),
        None | Some(serde_yaml::Value::Null) | Some(serde_yaml::Value::Bool(false))
    ) {
        fields.push(field(
            "nat-outgoing",
            shown("nat-outgoing"),
            "must not be set: an APIv1 compatibility field, use natOutgoing",
        ));
    }
    if let Some(mode) = extra.get("assignmentMode").filter(|value| !value.is_null()) {
        if !matches!(mode.as_str(), Some("Automatic" | "Manual")) {
            fields.push(field(
                "assignmentMode",
                shown("assignmentMode"),
                "must be one of: Automatic, Manual",
            ));
        }
    }
    if let Some(selector) = text("namespaceSelector").filter(|text| !text.is_empty()) {
        if selector.contains("global(") {
            fields.push(field(
                "namespaceSelector",
                selector,
                "global() selector is not valid for IPPool namespaceSelector",
            ));
        }
        let tunnel = spec
            .allowed_uses
            .iter()
            .flatten()
            .any(|use_| use_ == "Tunnel");
        if tunnel {
            fields.push(field(
                "namespaceSelector",
                selector,
                "IP Pool with AllowedUse Tunnel cannot have namespaceSelector",
            ));
        }
    }
}

impl From<&IpPoolResource> for IpPoolDocument {
    /// The document as Calico stores it: every defaulted field written,
    /// `natOutgoing`, `disabled` and `disableBGPExport` only when true
    /// (Go's `omitempty`).
    fn from(pool: &IpPoolResource) -> Self {
        let set = |flag: bool| flag.then_some(true);
        IpPoolDocument {
            api_version: super::API_VERSION_V3.to_owned(),
            kind: IP_POOL_KIND.to_owned(),
            metadata: ObjectMetadata::from_model(
                &pool.name,
                &pool.labels,
                &pool.unmodelled.metadata,
            ),
            extra: pool.unmodelled.top.clone(),
            spec: IpPoolSpec {
                cidr: Some(pool.cidr.to_string()),
                vxlan_mode: Some(pool.vxlan_mode.as_str().to_owned()),
                ipip_mode: Some(pool.ipip_mode.as_str().to_owned()),
                nat_outgoing: set(pool.nat_outgoing),
                disabled: set(pool.disabled),
                disable_bgp_export: set(pool.disable_bgp_export),
                block_size: Some(i64::from(pool.block_size)),
                node_selector: Some(
                    pool.node_selector
                        .as_ref()
                        .map_or("all()", Selector::as_str)
                        .to_owned(),
                ),
                allowed_uses: Some(
                    pool.allowed_uses
                        .iter()
                        .map(|allowed| allowed.as_str().to_owned())
                        .collect(),
                ),
                extra: pool.unmodelled.spec.clone(),
            },
        }
    }
}
