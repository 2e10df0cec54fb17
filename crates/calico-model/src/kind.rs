//! Resource-type names as typed on the command line (`calicoctl get bgppeers`).

use std::fmt;
use std::str::FromStr;

/// A resource type this crate manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// `bgpPeer` (v1) and `BGPPeer` (v3).
    BgpPeer,
    /// `Node` (v3).
    Node,
    /// `BGPConfiguration` (v3).
    BgpConfiguration,
    /// `IPPool` (v3).
    IpPool,
    /// `BlockAffinity` (v3).
    BlockAffinity,
    /// `IPAMBlock`.
    IpamBlock,
    /// `BGPFilter` (v3).
    BgpFilter,
}

impl ResourceKind {
    /// The `kind` written in documents and messages (`'bgpPeer' resource(s)`); v3
    /// BGPPeers share the v1 type's name on the command line.
    pub fn kind_name(self) -> &'static str {
        match self {
            ResourceKind::BgpPeer => crate::document::KIND,
            ResourceKind::Node => crate::v3::node::NODE_KIND,
            ResourceKind::BgpConfiguration => crate::v3::bgp_configuration::BGP_CONFIGURATION_KIND,
            ResourceKind::IpPool => crate::v3::ip_pool::IP_POOL_KIND,
            ResourceKind::BlockAffinity => crate::v3::block_affinity::BLOCK_AFFINITY_KIND,
            ResourceKind::IpamBlock => crate::v3::ipam_block::IPAM_BLOCK_KIND,
            ResourceKind::BgpFilter => crate::v3::bgp_filter::BGP_FILTER_KIND,
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.kind_name())
    }
}

/// The resource type named on a command line, case-insensitively, with calicoctl's
/// aliases (`calicoctl/calicoctl/resourcemgr`): `bgppeer bgppeers bgpp bgpps bp
/// bps`, `node nodes no nos`, `bgpconfiguration bgpconfigurations bgpconfig
/// bgpconfigs`, `ippool ippools ipp ipps pool pools`, `bgpfilter bgpfilters`. calicoctl has no
/// BlockAffinity or IPAMBlock type: those take Kubernetes' names for Calico's
/// CRDs, singular, plural and short names (`blockaffinity blockaffinities
/// affinity affinities`, `ipamblock ipamblocks`).
pub fn resource_kind(name: &str) -> Option<ResourceKind> {
    const ALIASES: [(ResourceKind, &[&str]); 7] = [
        (
            ResourceKind::BgpPeer,
            &["bgppeer", "bgppeers", "bgpp", "bgpps", "bp", "bps"],
        ),
        (ResourceKind::Node, &["node", "nodes", "no", "nos"]),
        (
            ResourceKind::BgpConfiguration,
            &[
                "bgpconfiguration",
                "bgpconfigurations",
                "bgpconfig",
                "bgpconfigs",
            ],
        ),
        (
            ResourceKind::IpPool,
            &["ippool", "ippools", "ipp", "ipps", "pool", "pools"],
        ),
        (
            ResourceKind::BlockAffinity,
            &["blockaffinity", "blockaffinities", "affinity", "affinities"],
        ),
        (ResourceKind::IpamBlock, &["ipamblock", "ipamblocks"]),
        (ResourceKind::BgpFilter, &["bgpfilter", "bgpfilters"]),
    ];
    ALIASES.iter().find_map(|(kind, aliases)| {
        aliases
            .iter()
            .any(|alias| alias.eq_ignore_ascii_case(name))
            .then_some(*kind)
    })
}

/// A resource-type name no alias matches (calicoctl's message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Resource type '{0}' is not supported")]
pub struct UnsupportedResourceType(pub String);

impl FromStr for ResourceKind {
    type Err = UnsupportedResourceType;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        resource_kind(name).ok_or_else(|| UnsupportedResourceType(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_match_case_insensitively() {
        for name in [
            "bgppeer", "bgppeers", "bgpp", "bgpps", "bp", "bps", "BGPPeer", "bgpPeers", "BP", "Bps",
        ] {
            assert_eq!(resource_kind(name), Some(ResourceKind::BgpPeer), "{name}");
        }
    }

    #[test]
    fn node_and_configuration_aliases_match_case_insensitively() {
        for name in ["node", "nodes", "no", "Node", "NODES", "No"] {
            assert_eq!(resource_kind(name), Some(ResourceKind::Node), "{name}");
        }
        for name in [
            "bgpconfiguration",
            "bgpconfigurations",
            "bgpconfig",
            "bgpconfigs",
            "BGPConfiguration",
            "BgpConfigs",
        ] {
            assert_eq!(
                resource_kind(name),
                Some(ResourceKind::BgpConfiguration),
                "{name}"
            );
        }
    }

    #[test]
    fn ipam_aliases_match_case_insensitively() {
        for (kind, names) in [
            (
                ResourceKind::IpPool,
                &["ippool", "IPPools", "ipp", "ipps", "Pool", "pools"][..],
            ),
            (
                ResourceKind::BlockAffinity,
                &["blockaffinity", "BlockAffinities", "affinity", "affinities"],
            ),
            (ResourceKind::IpamBlock, &["ipamblock", "IPAMBlocks"]),
            (ResourceKind::Node, &["nos"]),
        ] {
            for name in names {
                assert_eq!(resource_kind(name), Some(kind), "{name}");
            }
        }
    }

    #[test]
    fn other_names_are_refused() {
        for name in [
            "",
            "bgp",
            "peer",
            "bgppeerlist",
            "bgp-peer",
            "ippoolss",
            "ipreservation",
            "bpss",
            " bp",
            "nod",
            "bgpconf",
            "bgpconfigurationss",
        ] {
            assert_eq!(resource_kind(name), None, "{name}");
        }
        assert_eq!(
            "hostendpoint"
                .parse::<ResourceKind>()
                .unwrap_err()
                .to_string(),
            "Resource type 'hostendpoint' is not supported"
        );
    }
}
