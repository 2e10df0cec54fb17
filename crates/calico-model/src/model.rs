//! The validated bgpPeer resource and its identity.
//!
//! Everything here has already passed validation: a [`NodeName`] matches Calico's
//! name rule, an address is a real IP address, and the AS number fits in 32 bits.
//! The loosely typed form that mirrors the YAML lives in `document`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use bgp_wire::Asn;

/// The longest node name Calico accepts (libcalico-go v1 `nameRegex`).
pub const NODE_NAME_MAX_LENGTH: usize = 128;

/// A Calico node (host) name: `^[a-zA-Z0-9_.-]{1,128}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeName(String);

/// A text that is not a valid node name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid node name '{0}': must match ^[a-zA-Z0-9_.-]{{1,128}}$")]
pub struct InvalidNodeName(pub String);

impl NodeName {
    /// Checks `name` against Calico's node-name rule.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidNodeName> {
        let name = name.into();
        let allowed = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-');
        if name.is_empty() || name.len() > NODE_NAME_MAX_LENGTH || !name.bytes().all(allowed) {
            return Err(InvalidNodeName(name));
        }
        Ok(NodeName(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for NodeName {
    type Err = InvalidNodeName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        NodeName::new(text)
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl AsRef<str> for NodeName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Which nodes peer with a BGP peer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Every node in the cluster peers with it.
    Global,
    /// Only the named node peers with it.
    Node(NodeName),
}

impl Scope {
    /// The scope without its node name.
    pub fn kind(&self) -> ScopeKind {
        match self {
            Scope::Global => ScopeKind::Global,
            Scope::Node(_) => ScopeKind::Node,
        }
    }

    /// The node, for a node-scoped peer.
    pub fn node(&self) -> Option<&NodeName> {
        match self {
            Scope::Global => None,
            Scope::Node(node) => Some(node),
        }
    }
}

/// The two scope keywords, as written in `metadata.scope` and `--scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScopeKind {
    /// `global`.
    Global,
    /// `node`.
    Node,
}

impl ScopeKind {
    /// The keyword as written in resources.
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Global => "global",
            ScopeKind::Node => "node",
        }
    }
}

/// A scope keyword that is neither `global` nor `node` (calicoctl's `--scope` message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unrecognized scope '{0}', must be one of: global, node")]
pub struct UnrecognizedScope(pub String);

impl FromStr for ScopeKind {
    type Err = UnrecognizedScope;

    /// Exact, lower-case match, as Calico compares it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "global" => Ok(ScopeKind::Global),
            "node" => Ok(ScopeKind::Node),
            other => Err(UnrecognizedScope(other.to_owned())),
        }
    }
}

impl fmt::Display for ScopeKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Why a `peerIP` text is not a peer address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPeerIp {
    /// Neither `address`, `v4:port` nor `[v6]:port`.
    #[error("invalid IP address")]
    Address,
    /// Port 0 cannot be connected to.
    #[error("port must be between 1 and 65535")]
    Port,
    /// Link-local zones are not supported (Calico #10844).
    #[error("IPv6 zone is not allowed")]
    Zone,
}

/// Parses a `peerIP`: an IPv4 or IPv6 address, or the Calico v3.16 `a.b.c.d:port` /
/// `[v6]:port` form.
///
/// IPv4-mapped IPv6 addresses become IPv4, because Calico (Go's `net.IP.To4`) treats
/// them as IPv4 and an identity must not have two spellings.
pub fn parse_peer_ip(text: &str) -> Result<(IpAddr, Option<u16>), InvalidPeerIp> {
    if let Ok(address) = text.parse::<IpAddr>() {
        return Ok((address.to_canonical(), None));
    }
    let socket = text
        .parse::<SocketAddr>()
        .map_err(|_| InvalidPeerIp::Address)?;
    if let SocketAddr::V6(v6) = socket {
        if v6.scope_id() != 0 {
            return Err(InvalidPeerIp::Zone);
        }
    }
    if socket.port() == 0 {
        return Err(InvalidPeerIp::Port);
    }
    Ok((socket.ip().to_canonical(), Some(socket.port())))
}

/// Writes a `peerIP` back: the bare address, or `a.b.c.d:port` / `[v6]:port`.
pub fn format_peer_ip(address: IpAddr, port: Option<u16>) -> String {
    match port {
        None => address.to_string(),
        Some(port) => SocketAddr::new(address, port).to_string(),
    }
}

/// The identity of a bgpPeer: scope (with node) and `peerIP` (with its port, if any).
///
/// Two documents with the same key describe the same resource; the AS number is
/// the only thing that is not part of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKey {
    /// Global, or the node that peers.
    pub scope: Scope,
    /// The peer's address.
    pub peer_address: IpAddr,
    /// The peer's TCP port, when not the default.
    pub peer_port: Option<u16>,
}

impl PeerKey {
    /// The `peerIP` text of this key.
    pub fn peer_ip(&self) -> String {
        format_peer_ip(self.peer_address, self.peer_port)
    }
}

impl fmt::Display for PeerKey {
    /// Calico's backend key form, as in `resource already exists: BGPPeer(…)`:
    /// `BGPPeer(global, ip=10.0.0.1)` or `BGPPeer(node=rack1-host1, ip=10.0.0.1)`,
    /// with `, port=N` appended when a port is set (Calico v3 key form).
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            Scope::Global => write!(formatter, "BGPPeer(global, ip={}", self.peer_address)?,
            Scope::Node(node) => {
                write!(formatter, "BGPPeer(node={node}, ip={}", self.peer_address)?
            }
        }
        if let Some(port) = self.peer_port {
            write!(formatter, ", port={port}")?;
        }
        formatter.write_str(")")
    }
}

/// A validated Calico v1 `bgpPeer` resource.
///
/// It serializes to, and deserializes from, the Calico document form (so it can be
/// embedded in other serde structures); deserializing runs the full validation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(
    try_from = "crate::document::BgpPeerDocument",
    into = "crate::document::BgpPeerDocument"
)]
pub struct BgpPeer {
    /// Global, or the node that peers.
    pub scope: Scope,
    /// The peer's address.
    pub peer_address: IpAddr,
    /// The peer's TCP port, when not the default (Calico v3 `peerIP: "a.b.c.d:port"`).
    pub peer_port: Option<u16>,
    /// The peer's AS number.
    pub as_number: Asn,
}

impl BgpPeer {
    /// The identity of this peer.
    pub fn key(&self) -> PeerKey {
        PeerKey {
            scope: self.scope.clone(),
            peer_address: self.peer_address,
            peer_port: self.peer_port,
        }
    }

    /// The `peerIP` text of this peer.
    pub fn peer_ip(&self) -> String {
        format_peer_ip(self.peer_address, self.peer_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_follow_the_calico_rule() {
        assert!(NodeName::new("rack1-host1.example_com").is_ok());
        assert!(NodeName::new("a".repeat(NODE_NAME_MAX_LENGTH)).is_ok());
        assert!(NodeName::new("a".repeat(NODE_NAME_MAX_LENGTH + 1)).is_err());
        assert!(NodeName::new("").is_err());
        assert!(NodeName::new("has space").is_err());
        assert!(NodeName::new("slash/name").is_err());
        assert!(NodeName::new("ünicode").is_err());
    }

    #[test]
    fn peer_ip_forms() {
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(parse_peer_ip("10.0.0.1"), Ok((v4, None)));
        assert_eq!(parse_peer_ip("10.0.0.1:1790"), Ok((v4, Some(1790))));
        assert_eq!(parse_peer_ip("2001:db8::1"), Ok((v6, None)));
        assert_eq!(parse_peer_ip("2001:DB8:0::1"), Ok((v6, None)));
        assert_eq!(parse_peer_ip("[2001:db8::1]:179"), Ok((v6, Some(179))));
        assert_eq!(parse_peer_ip("::ffff:10.0.0.1"), Ok((v4, None)));
        assert_eq!(parse_peer_ip("10.0.0.1:0"), Err(InvalidPeerIp::Port));
        assert_eq!(parse_peer_ip("[fe80::1%2]:179"), Err(InvalidPeerIp::Zone));
        for bad in [
            "",
            "10.0.0",
            "10.0.0.256",
            "010.0.0.1",
            "fe80::1%eth0",
            "10.0.0.1:65536",
        ] {
            assert_eq!(parse_peer_ip(bad), Err(InvalidPeerIp::Address), "{bad}");
        }
    }

    #[test]
    fn keys_print_like_calico_backend_keys() {
        let global = PeerKey {
            scope: Scope::Global,
            peer_address: "10.0.0.1".parse().unwrap(),
            peer_port: None,
        };
        assert_eq!(global.to_string(), "BGPPeer(global, ip=10.0.0.1)");
        let node = PeerKey {
            scope: Scope::Node(NodeName::new("rack1-host1").unwrap()),
            peer_address: "2001:db8::1".parse().unwrap(),
            peer_port: Some(1790),
        };
        assert_eq!(
            node.to_string(),
            "BGPPeer(node=rack1-host1, ip=2001:db8::1, port=1790)"
        );
        assert_eq!(node.peer_ip(), "[2001:db8::1]:1790");
    }

    #[test]
    fn scope_keywords_are_exact() {
        assert_eq!("global".parse(), Ok(ScopeKind::Global));
        assert_eq!("node".parse(), Ok(ScopeKind::Node));
        assert_eq!(
            "Global".parse::<ScopeKind>().unwrap_err().to_string(),
            "Unrecognized scope 'Global', must be one of: global, node"
        );
    }
}
