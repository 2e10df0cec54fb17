//! Calico IPAM's etcd layout (libcalico-go `lib/backend/model`), shared by the
//! etcd v3 and v2 stores, mapped to and from the v3 resources. Sans-IO: keys
//! and values in, resources out.
//!
//! Under the root (`/calico`), a CIDR written masked with its `/` as `-`
//! (`10.244.3.0-26`, `fd00:10:244::-122`):
//!
//! - `<root>/ipam/v2/<host|virtual>/<node>/ipv<4|6>/block/<cidr>` — a
//!   `BlockAffinity` (`block_affinity.go`), value `{"state":"confirmed",
//!   "deleted":false}`; an empty value (Calico before 3.0 wrote one) reads as
//!   `{}`, state `confirmed`. The name is Calico's `<node>-<cidr>`.
//! - `<root>/ipam/v2/assignment/ipv<4|6>/block/<cidr>` — an `IPAMBlock`
//!   (`block.go`), value the `model.AllocationBlock` JSON: the v3 spec's fields
//!   under the same names but `affinity_claim_time`. The name is the CIDR's.
//! - `<root>/v1/ipam/v<4|6>/pool/<cidr>` — a Calico v1 `IPPool` (`ippool.go`),
//!   value `{"cidr","ipip":"tunl0","ipip_mode":"always"|"cross-subnet"|"",
//!   "vxlan_mode","masquerade","ipam","disabled","disableBGPExport",…}`: IP-in-IP
//!   is on when `ipip` names an interface (libcalico-go v1 `converter/ippool.go`).
//!   Read by the etcd v2 store only (Calico v3 keeps pools as v3 documents).
//!
//! These records hold no metadata: what a resource's `metadata` says beyond
//! its name is not kept ([`without_metadata`]).

use ipnet::IpNet;
use serde::Serialize;
use serde_json::{json, Value};

use crate::resource::{NamedKind, Resource, ResourceKey};
use crate::v3::block_affinity::{AffinityType, BlockAffinityResource};
use crate::v3::cidr_name::{
    cidr_from_key_segment, cidr_from_name, cidr_to_key_segment, cidr_to_name,
};
use crate::v3::ipam_block::{IpamBlockDocument, IpamBlockResource};
use crate::v3::{ResourceName, API_VERSION_V3};

/// Where block affinities and blocks live below the root.
pub(crate) const IPAM_PATH: &str = "/ipam/v2";

/// Where Calico v1 kept pools below the root.
pub(crate) const POOL_V1_PATH: &str = "/v1/ipam";

/// One IPAM record's key, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IpamKey {
    /// A block affinity.
    Affinity {
        affinity_type: AffinityType,
        node: String,
        cidr: IpNet,
    },
    /// A block.
    Block { cidr: IpNet },
    /// A Calico v1 pool.
    PoolV1 { cidr: IpNet },
}

/// A key in the IPAM layout that cannot be read as the record it looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadIpamKey {
    pub(crate) kind: NamedKind,
    /// The key's last segment.
    pub(crate) name: String,
    pub(crate) reason: String,
}

fn family(cidr: IpNet) -> u8 {
    match cidr {
        IpNet::V4(_) => 4,
        IpNet::V6(_) => 6,
    }
}

/// The CIDR of a key's last segment, of the family the key says.
fn key_cidr(kind: NamedKind, segment: &str, version: &str) -> Result<IpNet, BadIpamKey> {
    let bad = |reason: String| BadIpamKey {
        kind,
        name: segment.to_owned(),
        reason,
    };
    let cidr = cidr_from_key_segment(segment).ok_or_else(|| {
        bad(format!(
            "the key's last segment '{segment}' is not a masked CIDR written as Calico does (10.244.3.0-26)"
        ))
    })?;
    if version != format!("{}", family(cidr)) {
        return Err(bad(format!(
            "the key says IPv{version}, its CIDR {cidr} is IPv{}",
            family(cidr)
        )));
    }
    Ok(cidr)
}

impl IpamKey {
    /// The record a key below `root` names: `None` for keys outside the
    /// layout (handles, IPAM configuration, other data), `Some(Err)` for a key
    /// shaped like a record whose CIDR does not read.
    pub(crate) fn parse(root: &str, key: &str) -> Option<Result<IpamKey, BadIpamKey>> {
        if let Some(rest) = key
            .strip_prefix(root)
            .and_then(|rest| rest.strip_prefix(IPAM_PATH))
            .and_then(|rest| rest.strip_prefix('/'))
        {
            let segments: Vec<&str> = rest.split('/').collect();
            return match segments.as_slice() {
                ["assignment", version, "block", segment] => {
                    let version = version.strip_prefix("ipv")?;
                    Some(
                        key_cidr(NamedKind::IpamBlock, segment, version)
                            .map(|cidr| IpamKey::Block { cidr }),
                    )
                }
                [affinity_type, node, version, "block", segment] if !node.is_empty() => {
                    let affinity_type = match *affinity_type {
                        "host" => AffinityType::Host,
                        "virtual" => AffinityType::Virtual,
                        _ => return None,
                    };
                    let version = version.strip_prefix("ipv")?;
                    Some(
                        key_cidr(NamedKind::BlockAffinity, segment, version).map(|cidr| {
                            IpamKey::Affinity {
                                affinity_type,
                                node: (*node).to_owned(),
                                cidr,
                            }
                        }),
                    )
                }
                _ => None,
            };
        }
        let rest = key
            .strip_prefix(root)?
            .strip_prefix(POOL_V1_PATH)?
            .strip_prefix("/v")?;
        match rest.split('/').collect::<Vec<_>>().as_slice() {
            [version, "pool", segment] => Some(
                key_cidr(NamedKind::IpPool, segment, version).map(|cidr| IpamKey::PoolV1 { cidr }),
            ),
            _ => None,
        }
    }

    /// The key below `root`.
    pub(crate) fn path(&self, root: &str) -> String {
        match self {
            IpamKey::Affinity {
                affinity_type,
                node,
                cidr,
            } => format!(
                "{root}{IPAM_PATH}/{}/{node}/ipv{}/block/{}",
                affinity_type.as_str(),
                family(*cidr),
                cidr_to_key_segment(*cidr)
            ),
            IpamKey::Block { cidr } => format!(
                "{root}{IPAM_PATH}/assignment/ipv{}/block/{}",
                family(*cidr),
                cidr_to_key_segment(*cidr)
            ),
            IpamKey::PoolV1 { cidr } => format!(
                "{root}{POOL_V1_PATH}/v{}/pool/{}",
                family(*cidr),
                cidr_to_key_segment(*cidr)
            ),
        }
    }

    /// The kind of the record.
    pub(crate) fn kind(&self) -> NamedKind {
        match self {
            IpamKey::Affinity { .. } => NamedKind::BlockAffinity,
            IpamKey::Block { .. } => NamedKind::IpamBlock,
            IpamKey::PoolV1 { .. } => NamedKind::IpPool,
        }
    }

    /// The name Calico derives from the key.
    pub(crate) fn name(&self) -> String {
        match self {
            IpamKey::Affinity { node, cidr, .. } => BlockAffinityResource::name_for(node, *cidr),
            IpamKey::Block { cidr } => IpamBlockResource::name_for(*cidr),
            IpamKey::PoolV1 { cidr } => cidr_to_name(*cidr),
        }
    }

    /// The identity of the record; an error when the derived name is not a
    /// valid resource name (a node name with capitals, say).
    pub(crate) fn resource_key(&self) -> Result<ResourceKey, BadIpamKey> {
        let name = self.name();
        match ResourceName::new(name.as_str()) {
            Ok(valid) => Ok(ResourceKey::Named {
                kind: self.kind(),
                name: valid,
            }),
            Err(error) => Err(BadIpamKey {
                kind: self.kind(),
                name,
                reason: format!("the name Calico derives from the key: {error}"),
            }),
        }
    }

    /// Where the etcd v3 store keeps `resource`: block affinities and blocks
    /// (pools are v3 documents there).
    pub(crate) fn of_resource(resource: &Resource) -> Option<IpamKey> {
        match resource {
            Resource::BlockAffinity(affinity) => Some(IpamKey::Affinity {
                affinity_type: affinity.affinity_type,
                node: affinity.node.clone(),
                cidr: affinity.cidr,
            }),
            Resource::IpamBlock(block) => Some(IpamKey::Block { cidr: block.cidr }),
            _ => None,
        }
    }

    /// The keys a resource with this identity may be at: one for a block or
    /// a pool (the name gives the CIDR); for a block affinity, each split of
    /// `<node>-<cidr>` that reads back to the name, of both types. A name
    /// Calico shortened (252 characters, ending in a hash) gives none: the
    /// caller searches the affinities.
    pub(crate) fn candidates(key: &ResourceKey) -> Vec<IpamKey> {
        let ResourceKey::Named { kind, name } = key else {
            return Vec::new();
        };
        let name = name.as_str();
        match kind {
            NamedKind::IpamBlock => cidr_from_name(name)
                .map(|cidr| IpamKey::Block { cidr })
                .into_iter()
                .collect(),
            NamedKind::IpPool => cidr_from_name(name)
                .map(|cidr| IpamKey::PoolV1 { cidr })
                .into_iter()
                .collect(),
            NamedKind::BlockAffinity => name
                .match_indices('-')
                .filter_map(|(at, _)| {
                    let node = &name[..at];
                    let cidr = cidr_from_name(&name[at + 1..])?;
                    (!node.is_empty() && BlockAffinityResource::name_for(node, cidr) == name)
                        .then_some((node, cidr))
                })
                .flat_map(|(node, cidr)| {
                    [AffinityType::Host, AffinityType::Virtual].map(|affinity_type| {
                        IpamKey::Affinity {
                            affinity_type,
                            node: node.to_owned(),
                            cidr,
                        }
                    })
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The resource this key holds with `value`; the reason when it does not read.
    pub(crate) fn decode(&self, value: &[u8]) -> Result<Resource, String> {
        let name = self.name();
        let spec = match self {
            IpamKey::Affinity {
                affinity_type,
                node,
                cidr,
            } => {
                let mut spec = read_object(value, true, "a Calico block affinity")?;
                spec.insert("node".to_owned(), json!(node));
                spec.insert("type".to_owned(), json!(affinity_type.as_str()));
                spec.insert("cidr".to_owned(), json!(cidr.to_string()));
                spec
            }
            IpamKey::Block { cidr } => {
                let mut spec = read_object(value, false, "a Calico allocation block")?;
                let written = spec.get("cidr").and_then(Value::as_str).unwrap_or_default();
                if written.parse::<IpNet>().ok() != Some(*cidr) {
                    return Err(format!("value names block '{written}', the key {cidr}"));
                }
                spec.insert("cidr".to_owned(), json!(cidr.to_string()));
                if let Some(time) = spec.remove("affinity_claim_time") {
                    spec.insert("affinityClaimTime".to_owned(), time);
                }
                spec
            }
            IpamKey::PoolV1 { cidr } => pool_v1_spec(*cidr, value)?,
        };
        let document = json!({
            "apiVersion": API_VERSION_V3,
            "kind": self.kind().kind_name(),
            "metadata": {"name": name},
            "spec": spec,
        });
        serde_json::from_value::<Resource>(document).map_err(|error| error.to_string())
    }
}

/// A JSON object value; an empty value is `{}` where Calico allows it.
fn read_object(
    value: &[u8],
    empty_allowed: bool,
    what: &str,
) -> Result<serde_json::Map<String, Value>, String> {
    if value.is_empty() && empty_allowed {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(value) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(format!("value is not {what}: not a JSON object")),
        Err(error) => Err(format!("value is not {what}: {error}")),
    }
}

/// A Calico v1 pool's value as a v3 spec.
fn pool_v1_spec(cidr: IpNet, value: &[u8]) -> Result<serde_json::Map<String, Value>, String> {
    let pool = read_object(value, false, "a Calico v1 IP pool")?;
    let written = pool.get("cidr").and_then(Value::as_str).unwrap_or_default();
    if written.parse::<IpNet>().ok() != Some(cidr) {
        return Err(format!("value names pool '{written}', the key {cidr}"));
    }
    let text = |name: &str| pool.get(name).and_then(Value::as_str).unwrap_or_default();
    let flag = |name: &str| pool.get(name).and_then(Value::as_bool).unwrap_or(false);
    let mode = |name: &str| match text(name) {
        "" => Ok("Never"),
        "always" => Ok("Always"),
        "cross-subnet" => Ok("CrossSubnet"),
        other => Err(format!(
            "{name} '{other}' is not always, cross-subnet or empty"
        )),
    };
    // IP-in-IP is on when an interface is named; its mode is then `always`
    // unless it says `cross-subnet` (encap.DefaultMode).
    let ipip_mode = match (text("ipip"), mode("ipip_mode")?) {
        ("", _) => "Never",
        (_, "Never") => "Always",
        (_, mode) => mode,
    };
    let mut spec = serde_json::Map::new();
    spec.insert("cidr".to_owned(), json!(cidr.to_string()));
    spec.insert("vxlanMode".to_owned(), json!(mode("vxlan_mode")?));
    spec.insert("ipipMode".to_owned(), json!(ipip_mode));
    for (v1, v3) in [
        ("masquerade", "natOutgoing"),
        ("disabled", "disabled"),
        ("disableBGPExport", "disableBGPExport"),
    ] {
        if flag(v1) {
            spec.insert(v3.to_owned(), json!(true));
        }
    }
    if let Some(uses) = pool.get("allowed_uses").filter(|uses| !uses.is_null()) {
        spec.insert("allowedUses".to_owned(), uses.clone());
    }
    if let Some(mode) = pool
        .get("assignment_mode")
        .filter(|mode| mode != &&json!(""))
    {
        spec.insert("assignmentMode".to_owned(), mode.clone());
    }
    Ok(spec)
}

/// `model.BlockAffinity`: the state and the tombstone, then any other field
/// the resource kept.
#[derive(Serialize)]
struct AffinityValue<'affinity> {
    state: &'static str,
    deleted: bool,
    #[serde(flatten)]
    extra: &'affinity serde_yaml::Mapping,
}

/// The value Calico writes for a block affinity.
pub(crate) fn encode_affinity(affinity: &BlockAffinityResource) -> Result<String, String> {
    serde_json::to_string(&AffinityValue {
        state: affinity.state.as_str(),
        deleted: affinity.deleted,
        extra: &affinity.unmodelled.spec,
    })
    .map_err(|error| error.to_string())
}

/// The value Calico writes for a block: `model.AllocationBlock`'s fields in
/// its order (`affinity` written, null when none), then any others kept.
pub(crate) fn encode_block(block: &IpamBlockResource) -> Result<String, String> {
    let document = serde_yaml::to_value(IpamBlockDocument::from(block).spec)
        .map_err(|error| error.to_string())?;
    let mut spec = match document {
        serde_yaml::Value::Mapping(spec) => spec,
        _ => return Err("the block's spec is not a mapping".to_owned()),
    };
    let mut value = serde_yaml::Mapping::new();
    for (model, v3) in [
        ("cidr", "cidr"),
        ("affinity", "affinity"),
        ("affinity_claim_time", "affinityClaimTime"),
        ("allocations", "allocations"),
        ("unallocated", "unallocated"),
        ("attributes", "attributes"),
        ("sequenceNumber", "sequenceNumber"),
        ("sequenceNumberForAllocation", "sequenceNumberForAllocation"),
        ("deleted", "deleted"),
    ] {
        match spec.remove(v3) {
            Some(field) => {
                value.insert(model.into(), field);
            }
            None if model == "affinity" => {
                value.insert(model.into(), serde_yaml::Value::Null);
            }
            None => {}
        }
    }
    value.extend(spec);
    serde_json::to_string(&value).map_err(|error| error.to_string())
}

/// `resource` as Calico's IPAM records hold it: a block affinity or block
/// without labels or other metadata (the name is derived from the key).
pub(crate) fn without_metadata(resource: &Resource) -> Resource {
    let mut resource = resource.clone();
    let unmodelled = match &mut resource {
        Resource::BlockAffinity(affinity) => {
            affinity.labels.clear();
            &mut affinity.unmodelled
        }
        Resource::IpamBlock(block) => {
            block.labels.clear();
            &mut block.unmodelled
        }
        _ => return resource,
    };
    unmodelled.metadata.clear();
    unmodelled.top.clear();
    resource
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    #[test]
    fn keys_read_back() {
        let keys = [
            (
                "/calico/ipam/v2/host/n1/ipv4/block/10.244.3.0-26",
                IpamKey::Affinity {
                    affinity_type: AffinityType::Host,
                    node: "n1".to_owned(),
                    cidr: cidr("10.244.3.0/26"),
                },
            ),
            (
                "/calico/ipam/v2/virtual/vm-1/ipv6/block/fd00:10:244::-122",
                IpamKey::Affinity {
                    affinity_type: AffinityType::Virtual,
                    node: "vm-1".to_owned(),
                    cidr: cidr("fd00:10:244::/122"),
                },
            ),
            (
                "/calico/ipam/v2/assignment/ipv4/block/10.244.3.0-26",
                IpamKey::Block {
                    cidr: cidr("10.244.3.0/26"),
                },
            ),
            (
                "/calico/v1/ipam/v6/pool/fd00:10:244::-48",
                IpamKey::PoolV1 {
                    cidr: cidr("fd00:10:244::/48"),
                },
            ),
        ];
        for (text, key) in keys {
            assert_eq!(
                IpamKey::parse("/calico", text),
                Some(Ok(key.clone())),
                "{text}"
            );
            assert_eq!(key.path("/calico"), text);
        }
        for other in [
            "/calico/ipam/v2/handle/k8s-pod-network.1",
            "/calico/ipam/v2/config",
            "/calico/ipam/v2/host/n1",
            "/calico/ipam/v2/other/n1/ipv4/block/10.0.0.0-26",
            "/calico/bgp/v1/global/as_num",
        ] {
            assert_eq!(IpamKey::parse("/calico", other), None, "{other}");
        }
        for bad in [
            "/calico/ipam/v2/assignment/ipv4/block/10.244.3.1-26",
            "/calico/ipam/v2/host/n1/ipv6/block/10.244.3.0-26",
            "/calico/ipam/v2/host/n1/ipv4/block/nonsense",
        ] {
            assert!(
                matches!(IpamKey::parse("/calico", bad), Some(Err(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn affinity_names_give_their_keys() {
        let name = ResourceName::new("rack-1-n1-fd00-10-244---122").unwrap();
        let candidates = IpamKey::candidates(&ResourceKey::Named {
            kind: NamedKind::BlockAffinity,
            name: name.clone(),
        });
        let paths: Vec<String> = candidates.iter().map(|key| key.path("/calico")).collect();
        // Node names hold '-' and IPv6 names hex digits: `rack-1-n1-fd00` with
        // `10:244::/122` is named alike, so both are looked at.
        for expected in [
            "/calico/ipam/v2/host/rack-1-n1/ipv6/block/fd00:10:244::-122",
            "/calico/ipam/v2/virtual/rack-1-n1/ipv6/block/fd00:10:244::-122",
            "/calico/ipam/v2/host/rack-1-n1-fd00/ipv6/block/10:244::-122",
        ] {
            assert!(paths.iter().any(|path| path == expected), "{paths:?}");
        }
        assert!(candidates.iter().all(|key| key.name() == name.as_str()));
        let v4 = IpamKey::candidates(&ResourceKey::Named {
            kind: NamedKind::BlockAffinity,
            name: ResourceName::new("n1-10-244-3-0-26").unwrap(),
        });
        assert_eq!(v4.len(), 2);
        assert_eq!(
            v4[0].path("/calico"),
            "/calico/ipam/v2/host/n1/ipv4/block/10.244.3.0-26"
        );
    }
}
