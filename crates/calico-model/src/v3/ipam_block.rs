//! The v3 `IPAMBlock` (Calico `api/pkg/apis/projectcalico/v3/ipamblocks.go`,
//! stored in etcd as libcalico-go's `model.AllocationBlock`): one block of a
//! pool, which addresses in it are given out, and to whom.
//!
//! - `cidr` is a masked CIDR of at most 4096 addresses (Calico's block sizes
//!   go down to IPv4 /20 and IPv6 /116); the name is Calico's for it,
//!   `names.CIDRToName` (`10-244-3-0-26`), as every Calico backend derives it.
//! - `affinity` is `host:<node>` (or `virtual:<owner>`, Calico 3.31), or absent
//!   for a block no node holds.
//! - `allocations[i]` is the index in `attributes` of the owner of the block's
//!   i-th address, or null when it is free: at most one entry per address,
//!   each index within `attributes`. A block breaking this is refused whole
//!   (listed as unreadable) rather than read in part: its owners are unknown.
//! - An attribute is `{handle_id, secondary: {node, namespace, pod, …}}`;
//!   Calico's newer `alternateOwnerAttrs` and `releasedAt` are kept verbatim.
//! - `unallocated`, `sequenceNumber`, `sequenceNumberForAllocation`,
//!   `affinityClaimTime`, `strictAffinity` and any other field are kept
//!   verbatim: nodebgp reads blocks, Calico's IPAM writes them.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::block_affinity::check_block_cidr;
use super::cidr_name::cidr_to_name;
use super::unmodelled::{Strictness, Unmodelled};
use super::{finish, Labels, ObjectMetadata, ResourceName};
use crate::error::{DocumentError, DocumentLabel, FieldError, Problem};

/// The `kind` of an IPAM block.
pub const IPAM_BLOCK_KIND: &str = "IPAMBlock";

/// The most addresses a block may hold: Calico's largest blocks, IPv4 /20 and
/// IPv6 /116 (`blockSize` 20–32 and 116–128).
pub const IPAM_BLOCK_MAX_ADDRESSES: usize = 4096;

/// The `secondary` attribute naming the node an address was given to.
const NODE_ATTRIBUTE: &str = "node";

/// Who an allocated address belongs to (`model.AllocationAttribute`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AllocationAttribute {
    /// `handle_id`: the allocation's handle (`k8s-pod-network.<container>`,
    /// `ipip-tunnel-addr-<node>`, …).
    pub handle_id: Option<String>,
    /// `secondary`: the active owner's attributes (`node`, `namespace`, `pod`,
    /// `type`, `timestamp`, …).
    pub active_owner: BTreeMap<String, String>,
    /// Other fields (`alternateOwnerAttrs`, `releasedAt`), kept verbatim.
    pub unmodelled: serde_yaml::Mapping,
}

impl AllocationAttribute {
    /// The node the address was given to (`secondary.node`).
    pub fn node(&self) -> Option<&str> {
        self.active_owner.get(NODE_ATTRIBUTE).map(String::as_str)
    }
}

/// A validated `IPAMBlock`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IpamBlockResource {
    /// `metadata.name`: [`IpamBlockResource::name_for`] the CIDR.
    pub name: ResourceName,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `spec.cidr`.
    pub cidr: IpNet,
    /// `spec.affinity`: `host:<node>`, or `None` for a block no node holds.
    pub affinity: Option<String>,
    /// `spec.allocations`: per address of the block (by ordinal), the index in
    /// `attributes` of its owner, `None` when free. Never longer than the block.
    pub allocations: Vec<Option<usize>>,
    /// `spec.attributes`; every index in `allocations` is within it.
    pub attributes: Vec<AllocationAttribute>,
    /// `spec.deleted`: Calico's tombstone; a deleted block counts as absent.
    pub deleted: bool,
    /// The rest of the document, kept verbatim (`unallocated`,
    /// `sequenceNumber`, …).
    pub unmodelled: Unmodelled,
}

impl IpamBlockResource {
    /// The name Calico gives the block of `cidr` (`names.CIDRToName`).
    pub fn name_for(cidr: IpNet) -> String {
        cidr_to_name(cidr)
    }

    /// The node the block is affine to: the `<node>` of a `host:<node>`
    /// affinity (or `virtual:<owner>`, as Calico's `AllocationBlock.Host`
    /// reads both).
    pub fn affine_node(&self) -> Option<&str> {
        let affinity = self.affinity.as_deref()?;
        affinity
            .strip_prefix("host:")
            .or_else(|| affinity.strip_prefix("virtual:"))
            .filter(|node| !node.is_empty())
    }

    /// The block's `ordinal`-th address (`AllocationBlock.OrdinalToIP`).
    pub fn address(&self, ordinal: usize) -> Option<IpAddr> {
        match self.cidr {
            IpNet::V4(net) => {
                let offset = u32::try_from(ordinal).ok()?;
                let address = Ipv4Addr::from(u32::from(net.network()).checked_add(offset)?);
                net.contains(&address).then_some(IpAddr::V4(address))
            }
            IpNet::V6(net) => {
                let offset = u128::try_from(ordinal).ok()?;
                let address = Ipv6Addr::from(u128::from(net.network()).checked_add(offset)?);
                net.contains(&address).then_some(IpAddr::V6(address))
            }
        }
    }

    /// Every allocated address with its owner, in address order.
    pub fn allocated(&self) -> Vec<(IpAddr, &AllocationAttribute)> {
        self.allocations
            .iter()
            .enumerate()
            .filter_map(|(ordinal, index)| {
                Some((self.address(ordinal)?, self.attributes.get((*index)?)?))
            })
            .collect()
    }

    /// The addresses given to pods of `node` (their attribute's `secondary.node`
    /// is `node`): in a block affine to another node, or to none, these are
    /// the addresses `node` borrowed, which it advertises one by one (Calico's
    /// `AllocationBlock.NonAffineAllocations`).
    pub fn addresses_allocated_to_node(&self, node: &str) -> Vec<IpAddr> {
        self.allocated()
            .into_iter()
            .filter(|(_, attribute)| attribute.node() == Some(node))
            .map(|(address, _)| address)
            .collect()
    }
}

/// An `IPAMBlock` document, unvalidated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpamBlockDocument {
    /// `projectcalico.org/v3`.
    pub api_version: String,
    /// `IPAMBlock`.
    pub kind: String,
    /// Name and labels.
    #[serde(default)]
    pub metadata: ObjectMetadata,
    /// The block.
    #[serde(default)]
    pub spec: IpamBlockSpec,
    /// Other top-level fields (Calico defines none): kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// `attributes[]` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // Each field is the Calico field of the same name.
pub struct AllocationAttributeDocument {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary: Option<BTreeMap<String, String>>,
    /// `alternateOwnerAttrs`, `releasedAt` and any other field: kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// `spec` of an IPAM block, unvalidated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // Each field is the Calico field of the same name.
pub struct IpamBlockSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<String>,
    #[serde(default)]
    pub allocations: Option<Vec<Option<i64>>>,
    #[serde(default)]
    pub attributes: Option<Vec<AllocationAttributeDocument>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    /// Calico's other fields (`KNOWN_SPEC`), and in a datastore any other:
    /// kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// The spec fields the model holds.
const MODELLED_SPEC: &[&str] = &["cidr", "affinity", "allocations", "attributes", "deleted"];

/// Calico's other IPAMBlock spec fields, kept verbatim.
const KNOWN_SPEC: &[&str] = &[
    "affinityClaimTime",
    "unallocated",
    "sequenceNumber",
    "sequenceNumberForAllocation",
    "strictAffinity",
];

impl IpamBlockDocument {
    /// The label naming this document in errors.
    pub fn label(&self, document: usize) -> DocumentLabel {
        self.metadata.label(IPAM_BLOCK_KIND, document)
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
                (&self.spec.extra, MODELLED_SPEC, KNOWN_SPEC),
            )
            .map_err(Problem::Unreadable)
    }

    /// Validates the document into a block (see the module documentation).
    pub fn validate(&self, document: usize) -> Result<IpamBlockResource, DocumentError> {
        let spec = &self.spec;
        let mut fields = Vec::new();
        let name = self.metadata.check(&mut fields);
        let cidr = check_block_cidr("cidr", spec.cidr.as_deref(), &mut fields).filter(|cidr| {
            let size = block_addresses(*cidr);
            if size > IPAM_BLOCK_MAX_ADDRESSES {
                fields.push(FieldError {
                    field: "cidr".into(),
                    value: Some(cidr.to_string()),
                    reason: format!(
                        "a block holds at most {IPAM_BLOCK_MAX_ADDRESSES} addresses (IPv4 /20, IPv6 /116)"
                    ),
                });
                return false;
            }
            true
        });
        if let (Some(cidr), Some(written)) = (cidr, &name) {
            let derived = IpamBlockResource::name_for(cidr);
            if written.as_str() != derived {
                fields.push(FieldError {
                    field: "metadata.name".into(),
                    value: Some(written.to_string()),
                    reason: format!("must be the block's CIDR with '.', ':' and '/' replaced by '-' ({derived})"),
                });
            }
        }
        let attributes: Vec<AllocationAttribute> = spec
            .attributes
            .iter()
            .flatten()
            .map(|attribute| AllocationAttribute {
                handle_id: attribute.handle_id.clone(),
                active_owner: attribute.secondary.clone().unwrap_or_default(),
                unmodelled: attribute.extra.clone(),
            })
            .collect();
        let allocations = cidr
            .map(|cidr| {
                check_allocations(spec, block_addresses(cidr), attributes.len(), &mut fields)
            })
            .unwrap_or_default();
        let Some(cidr) = cidr else {
            return Err(DocumentError {
                document: self.label(document),
                problem: Problem::Fields(fields),
            });
        };
        finish(self.label(document), fields, name, |name| {
            IpamBlockResource {
                name,
                labels: self.metadata.labels.clone(),
                cidr,
                affinity: spec.affinity.clone(),
                allocations,
                attributes,
                deleted: spec.deleted.unwrap_or(false),
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

/// How many addresses a block of this CIDR holds, at most one more than the cap.
fn block_addresses(cidr: IpNet) -> usize {
    let host_bits = u32::from(cidr.max_prefix_len() - cidr.prefix_len());
    1usize
        .checked_shl(host_bits)
        .filter(|size| *size <= IPAM_BLOCK_MAX_ADDRESSES)
        .unwrap_or(IPAM_BLOCK_MAX_ADDRESSES + 1)
}

/// `allocations`: no longer than the block, every index within `attributes`.
fn check_allocations(
    spec: &IpamBlockSpec,
    size: usize,
    attribute_count: usize,
    fields: &mut Vec<FieldError>,
) -> Vec<Option<usize>> {
    let written = spec.allocations.as_deref().unwrap_or_default();
    if written.len() > size {
        fields.push(FieldError {
            field: "allocations".into(),
            value: Some(format!("{} entries", written.len())),
            reason: format!("the block holds {size} addresses"),
        });
        return Vec::new();
    }
    let mut allocations = Vec::with_capacity(written.len());
    for (ordinal, index) in written.iter().enumerate() {
        let Some(index) = index else {
            allocations.push(None);
            continue;
        };
        match usize::try_from(*index) {
            Ok(index) if index < attribute_count => allocations.push(Some(index)),
            _ => {
                fields.push(FieldError {
                    field: "allocations".into(),
                    value: Some(format!("[{ordinal}] = {index}")),
                    reason: format!("must be the index of one of the {attribute_count} attributes"),
                });
                return Vec::new();
            }
        }
    }
    allocations
}

impl From<&IpamBlockResource> for IpamBlockDocument {
    fn from(block: &IpamBlockResource) -> Self {
        IpamBlockDocument {
            api_version: super::API_VERSION_V3.to_owned(),
            kind: IPAM_BLOCK_KIND.to_owned(),
            metadata: ObjectMetadata::from_model(
                &block.name,
                &block.labels,
                &block.unmodelled.metadata,
            ),
            extra: block.unmodelled.top.clone(),
            spec: IpamBlockSpec {
                cidr: Some(block.cidr.to_string()),
                affinity: block.affinity.clone(),
                allocations: Some(
                    block
                        .allocations
                        .iter()
                        .map(|index| index.and_then(|index| i64::try_from(index).ok()))
                        .collect(),
                ),
                attributes: Some(
                    block
                        .attributes
                        .iter()
                        .map(|attribute| AllocationAttributeDocument {
                            handle_id: attribute.handle_id.clone(),
                            secondary: (!attribute.active_owner.is_empty())
                                .then(|| attribute.active_owner.clone()),
                            extra: attribute.unmodelled.clone(),
                        })
                        .collect(),
                ),
                deleted: Some(block.deleted),
                extra: block.unmodelled.spec.clone(),
            },
        }
    }
}
