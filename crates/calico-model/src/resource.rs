//! Every resource kind the stores hold, behind one type: Calico v1 `bgpPeer`,
//! the v3 `BGPPeer`, `Node`, `BGPConfiguration` and `BGPFilter`, and Calico IPAM's
//! `IPPool`, `BlockAffinity` and `IPAMBlock`.
//!
//! A document's `apiVersion` and `kind` decide how it is read (exact match, as
//! calicoctl does): `v1`/`bgpPeer`, or `projectcalico.org/v3` with `BGPPeer`,
//! `Node`, `BGPConfiguration`, `BGPFilter`, `IPPool`, `BlockAffinity` or
//! `IPAMBlock`.
//!
//! Deserializing a [`Resource`] reads it as a datastore holds it
//! ([`Strictness::Store`]: every field kept); files go through
//! [`parse_resources`](crate::parse_resources), which refuses unknown names.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::document::{BgpPeerDocument, Purpose, API_VERSION, KIND};
use crate::error::{DocumentError, Problem};
use crate::kind::ResourceKind;
use crate::model::{BgpPeer, PeerKey};
use crate::v3::bgp_configuration::{
    BgpConfigurationDocument, BgpConfigurationResource, BgpConfigurationSpec,
    BGP_CONFIGURATION_KIND,
};
use crate::v3::bgp_filter::{BgpFilterDocument, BgpFilterResource, BgpFilterSpec, BGP_FILTER_KIND};
use crate::v3::bgp_peer::{BgpPeerV3, BgpPeerV3Document, BgpPeerV3Spec, BGP_PEER_KIND};
use crate::v3::block_affinity::{
    BlockAffinityDocument, BlockAffinityResource, BlockAffinitySpec, BLOCK_AFFINITY_KIND,
};
use crate::v3::ip_pool::{IpPoolDocument, IpPoolResource, IpPoolSpec, IP_POOL_KIND};
use crate::v3::ipam_block::{IpamBlockDocument, IpamBlockResource, IpamBlockSpec, IPAM_BLOCK_KIND};
use crate::v3::node::{NodeDocument, NodeResource, NodeSpec, NODE_KIND};
use crate::v3::peer_policy::UnsupportedBgpPeer;
use crate::v3::unmodelled::{self, Strictness};
use crate::v3::{ObjectMetadata, ResourceName, API_VERSION_V3};

/// The v3 kinds, identified by `metadata.name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NamedKind {
    /// `BGPPeer`.
    BgpPeer,
    /// `Node`.
    Node,
    /// `BGPConfiguration`.
    BgpConfiguration,
    /// `IPPool`.
    IpPool,
    /// `BlockAffinity`.
    BlockAffinity,
    /// `IPAMBlock`.
    IpamBlock,
    /// `BGPFilter`.
    BgpFilter,
}

impl NamedKind {
    /// Every v3 kind, in listing order.
    pub const ALL: [NamedKind; 7] = [
        NamedKind::BgpPeer,
        NamedKind::Node,
        NamedKind::BgpConfiguration,
        NamedKind::BgpFilter,
        NamedKind::IpPool,
        NamedKind::BlockAffinity,
        NamedKind::IpamBlock,
    ];

    /// The `kind` as written in documents.
    pub fn kind_name(self) -> &'static str {
        match self {
            NamedKind::BgpPeer => BGP_PEER_KIND,
            NamedKind::Node => NODE_KIND,
            NamedKind::BgpConfiguration => BGP_CONFIGURATION_KIND,
            NamedKind::IpPool => IP_POOL_KIND,
            NamedKind::BlockAffinity => BLOCK_AFFINITY_KIND,
            NamedKind::IpamBlock => IPAM_BLOCK_KIND,
            NamedKind::BgpFilter => BGP_FILTER_KIND,
        }
    }

    /// The lower-case plural Calico uses in its v3 etcd keys
    /// (`/calico/resources/v3/projectcalico.org/<plural>/<name>`) and
    /// Kubernetes in its resource names.
    pub fn plural(self) -> &'static str {
        match self {
            NamedKind::BgpPeer => "bgppeers",
            NamedKind::Node => "nodes",
            NamedKind::BgpConfiguration => "bgpconfigurations",
            NamedKind::IpPool => "ippools",
            NamedKind::BlockAffinity => "blockaffinities",
            NamedKind::IpamBlock => "ipamblocks",
            NamedKind::BgpFilter => "bgpfilters",
        }
    }

    /// The kind whose plural this is.
    pub fn from_plural(plural: &str) -> Option<NamedKind> {
        NamedKind::ALL
            .into_iter()
            .find(|kind| kind.plural() == plural)
    }

    /// Whether Calico keeps this kind in its IPAM records (`BlockAffinity`,
    /// `IPAMBlock`) rather than as a resource of its own: stores do not give
    /// them a `uid` or `creationTimestamp`, and the etcd store keeps them in
    /// Calico's IPAM keys, which hold no metadata.
    pub fn is_ipam_record(self) -> bool {
        matches!(self, NamedKind::BlockAffinity | NamedKind::IpamBlock)
    }

    /// The command-line resource type this kind is listed under.
    pub fn resource_kind(self) -> ResourceKind {
        match self {
            NamedKind::BgpPeer => ResourceKind::BgpPeer,
            NamedKind::Node => ResourceKind::Node,
            NamedKind::BgpConfiguration => ResourceKind::BgpConfiguration,
            NamedKind::IpPool => ResourceKind::IpPool,
            NamedKind::BlockAffinity => ResourceKind::BlockAffinity,
            NamedKind::IpamBlock => ResourceKind::IpamBlock,
            NamedKind::BgpFilter => ResourceKind::BgpFilter,
        }
    }
}

/// The identity of any stored resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKey {
    /// A Calico v1 bgpPeer: scope, node and peerIP.
    BgpPeer(PeerKey),
    /// A v3 resource: kind and name.
    Named {
        /// The kind.
        kind: NamedKind,
        /// `metadata.name`.
        name: ResourceName,
    },
}

impl ResourceKey {
    /// The command-line resource type.
    pub fn kind(&self) -> ResourceKind {
        match self {
            ResourceKey::BgpPeer(_) => ResourceKind::BgpPeer,
            ResourceKey::Named { kind, .. } => kind.resource_kind(),
        }
    }

    /// The v1 peer key, for a v1 bgpPeer.
    pub fn peer_key(&self) -> Option<&PeerKey> {
        match self {
            ResourceKey::BgpPeer(key) => Some(key),
            ResourceKey::Named { .. } => None,
        }
    }
}

impl From<PeerKey> for ResourceKey {
    fn from(key: PeerKey) -> Self {
        ResourceKey::BgpPeer(key)
    }
}

impl fmt::Display for ResourceKey {
    /// `BGPPeer(global, ip=10.0.0.1)` for v1 peers (libcalico-go's key form);
    /// `BGPPeer(rack1-tor)`, `Node(rack1-host1)`, `IPPool(default-ipv4-ippool)`,
    /// … for v3.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceKey::BgpPeer(key) => write!(formatter, "{key}"),
            ResourceKey::Named { kind, name } => write!(formatter, "{}({name})", kind.kind_name()),
        }
    }
}

/// Any validated resource.
///
/// It serializes to, and deserializes from, its Calico document (deserializing
/// validates), so it can be stored as YAML or JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// A Calico v1 `bgpPeer`.
    BgpPeer(BgpPeer),
    /// A v3 `BGPPeer`.
    BgpPeerV3(BgpPeerV3),
    /// A v3 `Node`.
    Node(NodeResource),
    /// A v3 `BGPConfiguration`.
    BgpConfiguration(BgpConfigurationResource),
    /// A v3 `BGPPeer` asking for what nodebgp cannot do (a static route, a
    /// local AS of its own, …): stored and printed as written, never run.
    UnsupportedBgpPeer(UnsupportedBgpPeer),
    /// A v3 `IPPool`.
    IpPool(IpPoolResource),
    /// A v3 `BlockAffinity`.
    BlockAffinity(BlockAffinityResource),
    /// An `IPAMBlock`.
    IpamBlock(IpamBlockResource),
    /// A v3 `BGPFilter`.
    BgpFilter(BgpFilterResource),
}

impl Resource {
    /// The identity.
    pub fn key(&self) -> ResourceKey {
        let named = |kind, name: &ResourceName| ResourceKey::Named {
            kind,
            name: name.clone(),
        };
        match self {
            Resource::BgpPeer(peer) => ResourceKey::BgpPeer(peer.key()),
            Resource::BgpPeerV3(peer) => named(NamedKind::BgpPeer, &peer.name),
            Resource::Node(node) => named(NamedKind::Node, &node.name),
            Resource::BgpConfiguration(config) => named(NamedKind::BgpConfiguration, &config.name),
            Resource::UnsupportedBgpPeer(peer) => named(NamedKind::BgpPeer, &peer.name),
            Resource::IpPool(pool) => named(NamedKind::IpPool, &pool.name),
            Resource::BlockAffinity(affinity) => named(NamedKind::BlockAffinity, &affinity.name),
            Resource::IpamBlock(block) => named(NamedKind::IpamBlock, &block.name),
            Resource::BgpFilter(filter) => named(NamedKind::BgpFilter, &filter.name),
        }
    }

    /// The command-line resource type.
    pub fn kind(&self) -> ResourceKind {
        self.key().kind()
    }

    /// The `kind` as written in documents (`bgpPeer`, `BGPPeer`, `Node`, …).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Resource::BgpPeer(_) => KIND,
            Resource::BgpPeerV3(_) | Resource::UnsupportedBgpPeer(_) => BGP_PEER_KIND,
            Resource::Node(_) => NODE_KIND,
            Resource::BgpConfiguration(_) => BGP_CONFIGURATION_KIND,
            Resource::IpPool(_) => IP_POOL_KIND,
            Resource::BlockAffinity(_) => BLOCK_AFFINITY_KIND,
            Resource::IpamBlock(_) => IPAM_BLOCK_KIND,
            Resource::BgpFilter(_) => BGP_FILTER_KIND,
        }
    }

    /// `metadata.uid`, which the store sets when it creates a v3 resource.
    pub fn uid(&self) -> Option<&str> {
        self.stored_metadata()?.get("uid")?.as_str()
    }

    /// `metadata.creationTimestamp`, which the store sets when it creates a v3
    /// resource (RFC 3339, UTC).
    pub fn creation_timestamp(&self) -> Option<&str> {
        self.stored_metadata()?.get("creationTimestamp")?.as_str()
    }

    /// The metadata kept verbatim (all but the modelled `name` and `labels`,
    /// except for an unsupported peer, whose whole `metadata` is kept); `None`
    /// for v1 peers, which have none.
    pub fn stored_metadata(&self) -> Option<&serde_yaml::Mapping> {
        match self {
            Resource::BgpPeer(_) => None,
            Resource::BgpPeerV3(peer) => Some(&peer.unmodelled.metadata),
            Resource::Node(node) => Some(&node.unmodelled.metadata),
            Resource::BgpConfiguration(config) => Some(&config.unmodelled.metadata),
            Resource::UnsupportedBgpPeer(peer) => peer.metadata(),
            Resource::IpPool(pool) => Some(&pool.unmodelled.metadata),
            Resource::BlockAffinity(affinity) => Some(&affinity.unmodelled.metadata),
            Resource::IpamBlock(block) => Some(&block.unmodelled.metadata),
            Resource::BgpFilter(filter) => Some(&filter.unmodelled.metadata),
        }
    }

    /// The stored metadata, to change (v3 kinds only).
    pub fn stored_metadata_mut(&mut self) -> Option<&mut serde_yaml::Mapping> {
        match self {
            Resource::BgpPeer(_) => None,
            Resource::BgpPeerV3(peer) => Some(&mut peer.unmodelled.metadata),
            Resource::Node(node) => Some(&mut node.unmodelled.metadata),
            Resource::BgpConfiguration(config) => Some(&mut config.unmodelled.metadata),
            Resource::UnsupportedBgpPeer(peer) => peer.metadata_mut(),
            Resource::IpPool(pool) => Some(&mut pool.unmodelled.metadata),
            Resource::BlockAffinity(affinity) => Some(&mut affinity.unmodelled.metadata),
            Resource::IpamBlock(block) => Some(&mut block.unmodelled.metadata),
            Resource::BgpFilter(filter) => Some(&mut filter.unmodelled.metadata),
        }
    }

    /// Drops the metadata the store owns (`uid`, `creationTimestamp`,
    /// `generation`, …), keeping what a user sets (`name`, `labels`,
    /// `annotations`), as calicoctl does before writing a resource from a file.
    pub fn keep_user_metadata(&mut self) {
        if let Some(metadata) = self.stored_metadata_mut() {
            unmodelled::user_metadata(metadata);
        }
    }

    /// Whether the store gives this resource a `uid` and a
    /// `creationTimestamp` on create ([`NamedKind::is_ipam_record`]: not IPAM's).
    pub fn store_sets_identity(&self) -> bool {
        match self.key() {
            ResourceKey::BgpPeer(_) => false,
            ResourceKey::Named { kind, .. } => !kind.is_ipam_record(),
        }
    }

    /// The v1 peer, for a v1 bgpPeer.
    pub fn as_bgp_peer(&self) -> Option<&BgpPeer> {
        match self {
            Resource::BgpPeer(peer) => Some(peer),
            _ => None,
        }
    }
}

impl From<BgpPeer> for Resource {
    fn from(peer: BgpPeer) -> Self {
        Resource::BgpPeer(peer)
    }
}

/// What a stored value says it is, for reporting one that does not read: its
/// kind (when nodebgp knows it), its name (a v1 peer's `peerIP`), and for v3
/// kinds the key it would be stored under.
pub fn describe_value(
    value: &serde_yaml::Value,
) -> (Option<&'static str>, Option<String>, Option<ResourceKey>) {
    let kind_text = value.get("kind").and_then(serde_yaml::Value::as_str);
    let kind = std::iter::once(KIND)
        .chain(NamedKind::ALL.map(NamedKind::kind_name))
        .find(|kind| Some(*kind) == kind_text);
    let name = value.get("metadata").and_then(|metadata| {
        metadata
            .get("name")
            .or_else(|| metadata.get("peerIP"))
            .and_then(serde_yaml::Value::as_str)
            .map(str::to_owned)
    });
    let named_kind = NamedKind::ALL
        .into_iter()
        .find(|named| Some(named.kind_name()) == kind);
    let key = match (named_kind, &name) {
        (Some(kind), Some(name)) => ResourceName::new(name.as_str())
            .ok()
            .map(|name| ResourceKey::Named { kind, name }),
        // A v1 peer's identity is its metadata; its spec may be what is wrong.
        _ if kind == Some(KIND) => {
            let mut identity = value.clone();
            if let Some(mapping) = identity.as_mapping_mut() {
                mapping.remove("spec");
            }
            crate::input::read_document(identity)
                .ok()
                .and_then(|document| document.check(1, Purpose::Identify).ok())
                .map(|(key, _)| ResourceKey::BgpPeer(key))
        }
        _ => None,
    };
    (kind, name, key)
}

/// A document of any kind, unvalidated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AnyDocument {
    /// A v1 bgpPeer.
    BgpPeer(BgpPeerDocument),
    /// A v3 BGPPeer.
    BgpPeerV3(BgpPeerV3Document),
    /// A v3 Node. Boxed: calico-node's extra spec fields make it the
    /// largest by far.
    Node(Box<NodeDocument>),
    /// A v3 BGPConfiguration.
    BgpConfiguration(BgpConfigurationDocument),
    /// A v3 IPPool.
    IpPool(IpPoolDocument),
    /// A v3 BlockAffinity.
    BlockAffinity(BlockAffinityDocument),
    /// A v3 IPAMBlock.
    IpamBlock(IpamBlockDocument),
    /// A v3 BGPFilter.
    BgpFilter(BgpFilterDocument),
    /// A document kept whole (output of an unsupported peer).
    Verbatim(serde_yaml::Value),
}

fn text_field<'value>(mapping: &'value serde_yaml::Mapping, name: &str) -> &'value str {
    mapping
        .get(name)
        .and_then(serde_yaml::Value::as_str)
        .unwrap_or_default()
}

/// Reads a v3 document; on failure reads `metadata` and `spec` alone to say which
/// section holds the bad field (serde's message from a `Value` carries no path).
fn read_v3<Document, Spec>(value: serde_yaml::Value) -> Result<Document, Problem>
where
    Document: serde::de::DeserializeOwned,
    Spec: serde::de::DeserializeOwned,
{
    match serde_yaml::from_value::<Document>(value.clone()) {
        Ok(document) => Ok(document),
        Err(error) => {
            let mapping = value.as_mapping();
            let section = |name: &str| mapping.and_then(|mapping| mapping.get(name)).cloned();
            let detail = section("metadata")
                .and_then(|value| section_error::<ObjectMetadata>("metadata", value))
                .or_else(|| section("spec").and_then(|value| section_error::<Spec>("spec", value)))
                .unwrap_or_else(|| error.to_string());
            Err(Problem::Unreadable(crate::error::with_suggestion(detail)))
        }
    }
}

/// Why `value` is not a `T`, naming the field when the value of one is at
/// fault (`spec.keepaliveTime: invalid type: integer `20`, expected a
/// string`); an unknown field is named by serde's own message.
pub(crate) fn section_error<T: serde::de::DeserializeOwned>(
    section: &str,
    value: serde_yaml::Value,
) -> Option<String> {
    let error = serde_path_to_error::deserialize::<_, T>(value).err()?;
    let path = error.path().to_string();
    let inner = error.into_inner().to_string();
    Some(if path == "." || inner.starts_with("unknown field") {
        format!("{section}: {inner}")
    } else {
        format!("{section}.{path}: {inner}")
    })
}

impl AnyDocument {
    /// Reads one resource mapping by its `apiVersion` and `kind`; in `File` mode
    /// names Calico does not define are refused.
    pub fn read(value: serde_yaml::Value, strictness: Strictness) -> Result<AnyDocument, Problem> {
        let document = Self::read_shape(value)?;
        match &document {
            AnyDocument::BgpPeer(_) | AnyDocument::Verbatim(_) => Ok(()),
            AnyDocument::BgpPeerV3(peer) => peer.check_names(strictness),
            AnyDocument::Node(node) => node.check_names(strictness),
            AnyDocument::BgpConfiguration(config) => config.check_names(strictness),
            AnyDocument::IpPool(pool) => pool.check_names(strictness),
            AnyDocument::BlockAffinity(affinity) => affinity.check_names(strictness),
            AnyDocument::IpamBlock(block) => block.check_names(strictness),
            AnyDocument::BgpFilter(filter) => filter.check_names(strictness),
        }?;
        Ok(document)
    }

    fn read_shape(value: serde_yaml::Value) -> Result<AnyDocument, Problem> {
        // Calico's documents are JSON; what JSON cannot hold (a key that is not
        // text) could not be written to etcd or printed with `-o json`.
        if let Err(error) = serde_json::to_value(&value) {
            return Err(Problem::Unreadable(format!("not a JSON document: {error}")));
        }
        let Some(mapping) = value.as_mapping() else {
            return Err(Problem::Unreadable(
                "expected a resource mapping".to_owned(),
            ));
        };
        let api_version = text_field(mapping, "apiVersion").to_owned();
        let kind = text_field(mapping, "kind").to_owned();
        match (api_version.as_str(), kind.as_str()) {
            (API_VERSION, KIND) => crate::input::read_document(value).map(AnyDocument::BgpPeer),
            (API_VERSION_V3, BGP_PEER_KIND) => {
                read_v3::<_, BgpPeerV3Spec>(value).map(AnyDocument::BgpPeerV3)
            }
            (API_VERSION_V3, NODE_KIND) => read_v3::<NodeDocument, NodeSpec>(value)
                .map(|node| AnyDocument::Node(Box::new(node))),
            (API_VERSION_V3, BGP_CONFIGURATION_KIND) => {
                read_v3::<_, BgpConfigurationSpec>(value).map(AnyDocument::BgpConfiguration)
            }
            (API_VERSION_V3, IP_POOL_KIND) => {
                read_v3::<_, IpPoolSpec>(value).map(AnyDocument::IpPool)
            }
            (API_VERSION_V3, BLOCK_AFFINITY_KIND) => {
                read_v3::<_, BlockAffinitySpec>(value).map(AnyDocument::BlockAffinity)
            }
            (API_VERSION_V3, IPAM_BLOCK_KIND) => {
                read_v3::<_, IpamBlockSpec>(value).map(AnyDocument::IpamBlock)
            }
            (API_VERSION_V3, BGP_FILTER_KIND) => {
                read_v3::<_, BgpFilterSpec>(value).map(AnyDocument::BgpFilter)
            }
            _ => Err(Problem::UnknownResourceType { kind, api_version }),
        }
    }

    /// Validates the whole resource.
    pub fn validate(
        &self,
        document: usize,
        strictness: Strictness,
    ) -> Result<Resource, DocumentError> {
        match self {
            AnyDocument::BgpPeer(peer) => peer.validate(document).map(Resource::BgpPeer),
            AnyDocument::BgpPeerV3(peer) => peer.validate_as(document, strictness),
            AnyDocument::Node(node) => node.validate(document).map(Resource::Node),
            AnyDocument::BgpConfiguration(config) => {
                config.validate(document).map(Resource::BgpConfiguration)
            }
            AnyDocument::IpPool(pool) => pool.validate(document).map(Resource::IpPool),
            AnyDocument::BlockAffinity(affinity) => {
                affinity.validate(document).map(Resource::BlockAffinity)
            }
            AnyDocument::IpamBlock(block) => block.validate(document).map(Resource::IpamBlock),
            AnyDocument::BgpFilter(filter) => filter.validate(document).map(Resource::BgpFilter),
            AnyDocument::Verbatim(_) => Err(DocumentError {
                document: crate::error::DocumentLabel::Index(document),
                problem: Problem::Unreadable("not a resource document".to_owned()),
            }),
        }
    }

    /// `metadata.resourceVersion` as a revision (v3 documents only).
    pub(crate) fn revision(
        &self,
        document: usize,
    ) -> Result<Option<crate::stored::Revision>, DocumentError> {
        let (metadata, label) = match self {
            AnyDocument::BgpPeer(_) | AnyDocument::Verbatim(_) => return Ok(None),
            AnyDocument::BgpPeerV3(peer) => (&peer.metadata, peer.label(document)),
            AnyDocument::Node(node) => (&node.metadata, node.label(document)),
            AnyDocument::BgpConfiguration(config) => (&config.metadata, config.label(document)),
            AnyDocument::IpPool(pool) => (&pool.metadata, pool.label(document)),
            AnyDocument::BlockAffinity(affinity) => (&affinity.metadata, affinity.label(document)),
            AnyDocument::IpamBlock(block) => (&block.metadata, block.label(document)),
            AnyDocument::BgpFilter(filter) => (&filter.metadata, filter.label(document)),
        };
        metadata.revision().map_err(|field| DocumentError {
            document: label,
            problem: Problem::Fields(vec![field]),
        })
    }

    /// Only the identity, for deleting by file: a v1 peer's identity (its spec
    /// checked when present, as before), a v3 resource's name.
    pub(crate) fn identify(&self, document: usize) -> Result<ResourceKey, DocumentError> {
        let named = |kind, name| ResourceKey::Named { kind, name };
        match self {
            AnyDocument::BgpPeer(peer) => peer
                .check(document, Purpose::Identify)
                .map(|(key, _)| ResourceKey::BgpPeer(key)),
            AnyDocument::BgpPeerV3(peer) => peer
                .name(document)
                .map(|name| named(NamedKind::BgpPeer, name)),
            AnyDocument::Node(node) => node.name(document).map(|name| named(NamedKind::Node, name)),
            AnyDocument::BgpConfiguration(config) => config
                .name(document)
                .map(|name| named(NamedKind::BgpConfiguration, name)),
            AnyDocument::IpPool(pool) => pool
                .name(document)
                .map(|name| named(NamedKind::IpPool, name)),
            AnyDocument::BlockAffinity(affinity) => affinity
                .name(document)
                .map(|name| named(NamedKind::BlockAffinity, name)),
            AnyDocument::IpamBlock(block) => block
                .name(document)
                .map(|name| named(NamedKind::IpamBlock, name)),
            AnyDocument::BgpFilter(filter) => filter
                .name(document)
                .map(|name| named(NamedKind::BgpFilter, name)),
            AnyDocument::Verbatim(_) => Err(DocumentError {
                document: crate::error::DocumentLabel::Index(document),
                problem: Problem::Unreadable("not a resource document".to_owned()),
            }),
        }
    }
}

impl From<&Resource> for AnyDocument {
    fn from(resource: &Resource) -> Self {
        match resource {
            Resource::BgpPeer(peer) => AnyDocument::BgpPeer(peer.into()),
            Resource::BgpPeerV3(peer) => AnyDocument::BgpPeerV3(peer.into()),
            Resource::Node(node) => AnyDocument::Node(Box::new(node.into())),
            Resource::BgpConfiguration(config) => AnyDocument::BgpConfiguration(config.into()),
            Resource::UnsupportedBgpPeer(peer) => AnyDocument::Verbatim(peer.document().clone()),
            Resource::IpPool(pool) => AnyDocument::IpPool(pool.into()),
            Resource::BlockAffinity(affinity) => AnyDocument::BlockAffinity(affinity.into()),
            Resource::IpamBlock(block) => AnyDocument::IpamBlock(block.into()),
            Resource::BgpFilter(filter) => AnyDocument::BgpFilter(filter.into()),
        }
    }
}

impl Serialize for Resource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        AnyDocument::from(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_yaml::Value::deserialize(deserializer)?;
        let document =
            AnyDocument::read(value, Strictness::Store).map_err(serde::de::Error::custom)?;
        document
            .validate(1, Strictness::Store)
            .map_err(serde::de::Error::custom)
    }
}
