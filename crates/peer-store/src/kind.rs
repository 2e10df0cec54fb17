//! Resource-type names as typed on the command line (`calicoctl get bgppeers`).

use std::fmt;
use std::str::FromStr;

/// A resource type this crate manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// `bgpPeer`.
    BgpPeer,
}

impl ResourceKind {
    /// The `kind` written in documents and messages (`'bgpPeer' resource(s)`).
    pub fn kind_name(self) -> &'static str {
        match self {
            ResourceKind::BgpPeer => crate::document::KIND,
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.kind_name())
    }
}

/// The resource type named on a command line, case-insensitively, with calicoctl v1's
/// aliases: `bgppeer bgppeers bgpp bgpps bp bps`.
pub fn resource_kind(name: &str) -> Option<ResourceKind> {
    const BGP_PEER_ALIASES: [&str; 6] = ["bgppeer", "bgppeers", "bgpp", "bgpps", "bp", "bps"];
    BGP_PEER_ALIASES
        .iter()
        .any(|alias| alias.eq_ignore_ascii_case(name))
        .then_some(ResourceKind::BgpPeer)
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
    fn other_names_are_refused() {
        for name in [
            "",
            "bgp",
            "peer",
            "bgppeerlist",
            "bgp-peer",
            "ippool",
            "bpss",
            " bp",
        ] {
            assert_eq!(resource_kind(name), None, "{name}");
        }
        assert_eq!(
            "ippool".parse::<ResourceKind>().unwrap_err().to_string(),
            "Resource type 'ippool' is not supported"
        );
    }
}
