//! # calico-model: Calico's BGP resources, without I/O
//!
//! The v1 `bgpPeer` and the `projectcalico.org/v3` `BGPPeer`, `Node` and
//! `BGPConfiguration`, and Calico IPAM's `IPPool`, `BlockAffinity` and
//! `IPAMBlock`: their documents (the user-facing schema, every field read,
//! what is not modelled kept verbatim), validation with Calico's messages,
//! label selectors, and the tables and formats calicoctl prints.
//!
//! ## Contract
//! - No datastore, no network, no runtime: this crate depends on no etcd or
//!   HTTP client and spawns nothing. The datastores that keep these
//!   resources are in `peer-store`; the daemon's reconcile (`peer-manager`)
//!   needs only this crate. Two reads of local files remain, both on the
//!   caller's call: [`PasswordSource::read`] (a BGPPeer's password file) and
//!   the random `uid` given to a new v3 resource.
//! - Input is validated whole before anything is returned, every invalid
//!   document reported by its identity ([`parse_resources`]).
//! - A resource as a store returns it carries its [`Revision`]
//!   ([`StoredResource`]), its `resourceVersion`.
//!
//! The rest of the contract (formats, identities, validation rules) is
//! described where `peer-store` re-exports it for its callers.

pub mod columns;
pub mod document;
pub mod error;
pub mod input;
pub mod kind;
pub mod model;
pub mod resource;
pub mod selector;
pub mod stored;
pub mod v3;

pub use columns::resources_to_table;
pub use document::{
    AsNumberValue, BgpPeerDocument, BgpPeerMetadata, BgpPeerSpec, API_VERSION, KIND, LIST_KIND,
};
pub use error::{DocumentError, DocumentLabel, FieldError, ParseError, Problem};
pub use input::{
    parse_documents, parse_keys, parse_resource_keys, parse_resources, resources_to_json,
    resources_to_yaml, stored_resources_to_json, stored_resources_to_yaml, to_json, to_yaml,
};
pub use kind::{resource_kind, ResourceKind, UnsupportedResourceType};
pub use model::{
    format_peer_ip, parse_peer_ip, BgpPeer, InvalidNodeName, InvalidPeerIp, NodeName, PeerKey,
    Scope, ScopeKind, UnrecognizedScope, NODE_NAME_MAX_LENGTH,
};
pub use resource::{NamedKind, Resource, ResourceKey};
pub use selector::{Selector, SelectorError};
pub use stored::{Revision, StoredPeer, StoredResource};
pub use v3::bgp_configuration::{
    BgpConfigurationDocument, BgpConfigurationResource, Community, PrefixAdvertisement,
    BGP_CONFIGURATION_KIND, DEFAULT_CONFIGURATION_NAME,
};
pub use v3::bgp_filter::{
    BgpFilterDocument, BgpFilterResource, BgpFilterRule, FilterAction, MatchOperator, PrefixLength,
    BGP_FILTER_KIND,
};
pub use v3::bgp_peer::{
    BgpPeerV3, BgpPeerV3Document, NextHopMode, PasswordSource, PeerTarget, SourceAddress,
    BGP_PEER_KIND,
};
pub use v3::block_affinity::{
    AffinityState, AffinityType, BlockAffinityDocument, BlockAffinityResource, BLOCK_AFFINITY_KIND,
};
pub use v3::ip_pool::{
    AllowedUse, EncapsulationMode, IpPoolDocument, IpPoolResource, IP_POOL_KIND,
};
pub use v3::ipam_block::{
    AllocationAttribute, IpamBlockDocument, IpamBlockResource, IPAM_BLOCK_KIND,
    IPAM_BLOCK_MAX_ADDRESSES,
};
pub use v3::node::{NodeBgp, NodeDocument, NodeResource, NODE_KIND};
pub use v3::peer_policy::UnsupportedBgpPeer;
pub use v3::unmodelled::Unmodelled;
pub use v3::{
    format_duration, parse_duration, InvalidResourceName, Labels, ResourceName, API_VERSION_V3,
    RESOURCE_NAME_MAX_LENGTH,
};

/// Re-exported so callers can name the AS number type without depending on bgp-wire.
pub use bgp_wire::Asn;
