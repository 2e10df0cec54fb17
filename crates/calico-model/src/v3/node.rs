//! The v3 `Node` (Calico `libcalico-go/lib/apis/internalapi/node.go`), reduced to
//! what BGP needs: name, labels and `spec.bgp`. The rest of what calico-node
//! writes (tunnel addresses, `orchRefs`, `addresses`, `wireguard`, `interfaces`,
//! `spec.bgp.ipv4IPIPTunnelAddr`, the `status` block) is kept verbatim and
//! ignored.
//!
//! `spec.bgp.ipv4Address` / `ipv6Address` are written in CIDR form, as calico-node
//! writes them (`10.0.0.1/24`); a bare address is read as a host prefix.
//! `routeReflectorClusterID` is an IPv4 address (Calico validates it as one) and
//! makes the node a route reflector.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp_wire::Asn;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use super::unmodelled::{self, Strictness, Unmodelled};
use super::{finish, Labels, ObjectMetadata, ResourceName};
use crate::document::AsNumberValue;
use crate::error::{DocumentError, DocumentLabel, FieldError, Problem};

/// The `kind` of a v3 node.
pub const NODE_KIND: &str = "Node";

/// A validated v3 `Node`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeResource {
    /// `metadata.name`, the node name daemons are started with (`--node`).
    pub name: ResourceName,
    /// `metadata.labels`, what `nodeSelector` and `peerSelector` match.
    pub labels: Labels,
    /// `spec.bgp`; a node without it does not run BGP.
    pub bgp: Option<NodeBgp>,
    /// The rest of the document, kept verbatim: `uid`, `orchRefs`, `status`, …
    pub unmodelled: Unmodelled,
}

/// `spec.bgp` of a node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct NodeBgp {
    /// `ipv4Address`: the node's IPv4 BGP address and its subnet.
    pub ipv4_address: Option<Ipv4Net>,
    /// `ipv6Address`: the node's IPv6 BGP address and its subnet.
    pub ipv6_address: Option<Ipv6Net>,
    /// `asNumber`: the node's own AS, overriding the cluster's.
    pub as_number: Option<Asn>,
    /// `routeReflectorClusterID`.
    pub route_reflector_cluster_id: Option<Ipv4Addr>,
}

impl NodeResource {
    /// The node's IPv4 BGP address.
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        self.bgp.as_ref()?.ipv4_address.map(|net| net.addr())
    }

    /// The node's IPv6 BGP address.
    pub fn ipv6(&self) -> Option<Ipv6Addr> {
        self.bgp.as_ref()?.ipv6_address.map(|net| net.addr())
    }

    /// The node's own AS, if it sets one.
    pub fn as_number(&self) -> Option<Asn> {
        self.bgp.as_ref()?.as_number
    }

    /// The route-reflector cluster id, if the node is a route reflector.
    pub fn route_reflector_cluster_id(&self) -> Option<Ipv4Addr> {
        self.bgp.as_ref()?.route_reflector_cluster_id
    }
}

/// A v3 `Node` document, unvalidated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeDocument {
    /// `projectcalico.org/v3`.
    pub api_version: String,
    /// `Node`.
    pub kind: String,
    /// Name and labels.
    #[serde(default)]
    pub metadata: ObjectMetadata,
    /// The node's BGP settings.
    #[serde(default)]
    pub spec: NodeSpec,
    /// Other top-level fields: what calico-node reports (`status`).
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// `spec` of a node document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSpec {
    /// `spec.bgp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bgp: Option<NodeBgpSpec>,
    /// The other spec fields (`KNOWN_SPEC`), kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// The other spec fields Calico defines and calico-node writes into every Node.
const KNOWN_SPEC: &[&str] = &[
    "ipv4VXLANTunnelAddr",
    "vxlanTunnelMACAddr",
    "ipv6VXLANTunnelAddr",
    "vxlanTunnelMACAddrV6",
    "orchRefs",
    "wireguard",
    "addresses",
    "interfaces",
];

/// `spec.bgp` fields Calico defines beside the modelled ones: written by
/// calico-node for IP-in-IP.
const KNOWN_BGP: &[&str] = &["ipv4IPIPTunnelAddr"];

/// `spec.bgp` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)] // Each field is the Calico field of the same name.
pub struct NodeBgpSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumberValue>,
    #[serde(
        rename = "routeReflectorClusterID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub route_reflector_cluster_id: Option<String>,
    /// `KNOWN_BGP`, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// `10.0.0.1/24` or `10.0.0.1` (a host prefix), of the family `v4` says.
fn parse_interface_address(text: &str, v4: bool) -> Result<IpNet, String> {
    let family = if v4 { "IPv4" } else { "IPv6" };
    let parsed = text.parse::<IpNet>().or_else(|_| {
        text.parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| format!("invalid {family} address: expected e.g. {}", example(v4)))
    })?;
    if parsed.addr().is_ipv4() != v4 {
        return Err(format!("must be an {family} address"));
    }
    Ok(parsed)
}

fn example(v4: bool) -> &'static str {
    if v4 {
        "10.0.0.1/24"
    } else {
        "2001:db8::1/64"
    }
}

impl NodeDocument {
    /// The label naming this document in errors.
    pub fn label(&self, document: usize) -> DocumentLabel {
        self.metadata.label(NODE_KIND, document)
    }

    /// Only the identity, for deleting by file.
    pub(crate) fn name(&self, document: usize) -> Result<ResourceName, DocumentError> {
        self.metadata.checked_name(self.label(document))
    }

    /// Refuses, in `File` mode, names Calico does not define, naming the section.
    pub(crate) fn check_names(&self, strictness: Strictness) -> Result<(), Problem> {
        let empty = serde_yaml::Mapping::new();
        let bgp = self.spec.bgp.as_ref().map_or(&empty, |bgp| &bgp.extra);
        self.metadata
            .check_document_names(
                strictness,
                (&self.extra, &["status"]),
                (&self.spec.extra, &["bgp"], KNOWN_SPEC),
            )
            .and_then(|()| {
                unmodelled::check_level(
                    strictness,
                    "spec.bgp",
                    bgp,
                    &[
                        "ipv4Address",
                        "ipv6Address",
                        "asNumber",
                        "routeReflectorClusterID",
                    ],
                    KNOWN_BGP,
                )
            })
            .map_err(Problem::Unreadable)
    }

    /// Validates the document into a node.
    pub fn validate(&self, document: usize) -> Result<NodeResource, DocumentError> {
        let mut fields = Vec::new();
        let name = self.metadata.check(&mut fields);
        let bgp = self.spec.bgp.as_ref().map(|bgp| {
            let mut address = |field: &'static str, text: &Option<String>, v4: bool| {
                let text = text.as_deref().filter(|text| !text.is_empty())?;
                match parse_interface_address(text, v4) {
                    Ok(net) => Some(net),
                    Err(reason) => {
                        fields.push(FieldError {
                            field: field.into(),
                            value: Some(text.to_owned()),
                            reason,
                        });
                        None
                    }
                }
            };
            let ipv4_address =
                address("bgp.ipv4Address", &bgp.ipv4_address, true).and_then(|net| match net {
                    IpNet::V4(net) => Some(net),
                    IpNet::V6(_) => None,
                });
            let ipv6_address =
                address("bgp.ipv6Address", &bgp.ipv6_address, false).and_then(|net| match net {
                    IpNet::V6(net) => Some(net),
                    IpNet::V4(_) => None,
                });
            let as_number = bgp
                .as_number
                .as_ref()
                .and_then(|value| match value.to_asn() {
                    Some(asn) => Some(asn),
                    None => {
                        fields.push(FieldError {
                            field: "bgp.asNumber".into(),
                            value: Some(value.to_string()),
                            reason: "invalid AS Number format".to_owned(),
                        });
                        None
                    }
                });
            let route_reflector_cluster_id = bgp
                .route_reflector_cluster_id
                .as_deref()
                .filter(|text| !text.is_empty())
                .and_then(|text| match text.parse::<Ipv4Addr>() {
                    Ok(id) => Some(id),
                    Err(_) => {
                        fields.push(FieldError {
                            field: "bgp.routeReflectorClusterID".into(),
                            value: Some(text.to_owned()),
                            reason: "must be an IPv4 address".to_owned(),
                        });
                        None
                    }
                });
            NodeBgp {
                ipv4_address,
                ipv6_address,
                as_number,
                route_reflector_cluster_id,
            }
        });
        let unmodelled = Unmodelled {
            top: self.extra.clone(),
            metadata: self.metadata.extra.clone(),
            spec: self.spec.extra.clone(),
            bgp: self
                .spec
                .bgp
                .as_ref()
                .map(|bgp| bgp.extra.clone())
                .unwrap_or_default(),
        };
        finish(self.label(document), fields, name, |name| NodeResource {
            name,
            labels: self.metadata.labels.clone(),
            bgp,
            unmodelled,
        })
    }
}

impl From<&NodeResource> for NodeDocument {
    fn from(node: &NodeResource) -> Self {
        NodeDocument {
            api_version: super::API_VERSION_V3.to_owned(),
            kind: NODE_KIND.to_owned(),
            metadata: ObjectMetadata::from_model(
                &node.name,
                &node.labels,
                &node.unmodelled.metadata,
            ),
            extra: node.unmodelled.top.clone(),
            spec: NodeSpec {
                bgp: node.bgp.as_ref().map(|bgp| NodeBgpSpec {
                    ipv4_address: bgp.ipv4_address.map(|net| net.to_string()),
                    ipv6_address: bgp.ipv6_address.map(|net| net.to_string()),
                    as_number: bgp
                        .as_number
                        .map(|asn| AsNumberValue::Integer(u64::from(asn.0))),
                    route_reflector_cluster_id: bgp
                        .route_reflector_cluster_id
                        .map(|id| id.to_string()),
                    extra: node.unmodelled.bgp.clone(),
                }),
                extra: node.unmodelled.spec.clone(),
            },
        }
    }
}
