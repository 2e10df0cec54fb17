//! The pure heart of nodebgp's peer manager: which BGP sessions a Calico node
//! should run ([`desired_peers`]) and what to do to get there from the sessions it
//! runs now ([`reconcile`]); and the node's pod networks from Calico IPAM with
//! the route policy around them ([`pod_networks`]).
//!
//! Nothing here does I/O, reads a clock or depends on the order of its inputs:
//! the same inputs always give the same output, sorted by peer address.
//!
//! # Contract
//!
//! [`desired_peers`] follows Calico's confd rendering (`calico.md` §1–§3):
//!
//! * every **global** bgpPeer applies to every node, a **node-scoped** one only to
//!   its node (§1 "Identity is (scope, node, peerIP)"; §2 "With neither `node` nor
//!   `nodeSelector` set, the peer is global");
//! * there is **one session per peer IP address**. A node-scoped peer overrides a
//!   global peer at the same address (as nodebgp's daemon always did; note that
//!   confd does the opposite, §3 "first emit wins"). Ties within one scope (the
//!   same address with several ports) go to the lowest port, then the lowest AS;
//! * an explicit peer without a port uses [`BGP_PORT`];
//! * with `node_to_node_mesh` on (§1 "`nodeToNodeMesh` default on", §2
//!   `nodeToNodeMeshEnabled`), one session to every other node's IPv4 address when
//!   both nodes have one, and to its IPv6 address when both have one, with that
//!   node's AS or else the global AS (§3 "Mesh": `neighbor ip [port listen_port] as
//!   <their AS>`), on the cluster's `listen_port`;
//! * a mesh session is **passive** when the peer's address *string* is greater than
//!   this node's address string of the same family (§3 "`passive on` when the peer
//!   IP **string** is greater than our own"): the node with the lower address
//!   waits, the one with the higher address connects, so only one side connects;
//! * route reflectors (nodes with a `route_reflector_cluster_id`) are not in the
//!   mesh, and a route reflector runs no mesh at all (§3 "only if mesh is enabled
//!   and this node is not an RR"; "Self and RR nodes are skipped");
//! * a node never peers with itself: neither a mesh entry for its own name or own
//!   address, nor an explicit peer at one of its own addresses (§3 "a peer whose IP
//!   is our own is skipped");
//! * an explicit (global or node) peer wins over a mesh entry at the same address.
//!
//! If `this_node` is not among `nodes`, its addresses are unknown: it gets no mesh,
//! and only the self-peering check by address is skipped.
//!
//! [`desired_peer_set`] adds Calico v3 `BGPPeer`s ([`PeerV3`]), §2:
//!
//! * one with neither `node` nor `nodeSelector` is global; one with `node` applies
//!   to that node; one with `nodeSelector` to the nodes whose labels it matches
//!   (both count as node peers for the override rule above);
//! * a `peerIP` peer is an explicit peer like a v1 one, carrying its per-peer
//!   settings ([`SessionSettings`]: port, password, source address, keepalive,
//!   GTSM hops, restart time, allowed own-AS count, keep next hop);
//! * a `peerSelector` peer becomes one session to every other node it selects, at
//!   that node's BGP address of each family this node also has, with that node's
//!   AS (or the cluster's) on the cluster `listen_port`, passive by the mesh's
//!   address-string rule (§3 "`passive on` if the peer is a Calico node with a
//!   higher IP");
//! * every session's local AS ([`DesiredPeer::local_as`]) is this node's
//!   `spec.bgp.asNumber`, else the AS the cluster configuration sets explicitly
//!   ([`BgpConfiguration::configured_as_number`]), else the daemon's own.
//!
//! [`reconcile`] identifies sessions by peer IP address. It returns at most one
//! [`Action`] per address, sorted by address: [`Action::Start`] for a new address,
//! [`Action::Stop`] for an address no longer desired, [`Action::Restart`] when the
//! port, either AS, the passive flag or any [`SessionSettings`] (the password
//! among them) changed, and nothing for an unchanged session. A change
//! of [`PeerSource`] alone does not touch the session and yields no action.

mod desired;
pub mod pod_networks;

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

pub use bgp_wire::Asn;
pub use calico_model::{BgpPeer, BgpPeerV3, Labels, NodeName, Scope};
pub use desired::{desired_peer_set, desired_peer_set_with_workloads, desired_peers, PeerV3};

/// The BGP port (RFC 4271 §8.2.1), used for explicit peers that name no port.
pub const BGP_PORT: u16 = 179;

/// Calico's default cluster AS (`asNumber`, confd `globalDefaults`).
pub const DEFAULT_AS_NUMBER: Asn = Asn(64512);

/// A Calico node as the peer manager needs it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Node {
    /// The node name (Calico `metadata.name`).
    pub name: String,
    /// The node's BGP IPv4 address (`spec.bgp.ipv4Address`, without the prefix length).
    pub ipv4: Option<Ipv4Addr>,
    /// The node's BGP IPv6 address (`spec.bgp.ipv6Address`, without the prefix length).
    pub ipv6: Option<Ipv6Addr>,
    /// The node's own AS; `None` means the cluster's [`BgpConfiguration::as_number`].
    pub as_number: Option<Asn>,
    /// Set when the node is a route reflector (`spec.bgp.routeReflectorClusterID`).
    pub route_reflector_cluster_id: Option<Ipv4Addr>,
    /// The node's labels (`metadata.labels`), what v3 selectors match.
    pub labels: Labels,
    /// The port the node listens on when its own `node.<name>`
    /// BGPConfiguration sets `listenPort`; `None`: the cluster's
    /// [`BgpConfiguration::listen_port`]. Sessions to the node dial it.
    pub listen_port: Option<u16>,
}

impl Node {
    /// The port sessions to this node connect to: its own `listenPort`,
    /// else the cluster's (confd's `nodeListenPorts`, then
    /// `globalListenPort`).
    pub fn listen_port(&self, config: &BgpConfiguration) -> u16 {
        self.listen_port.unwrap_or(config.listen_port)
    }
}

/// Cluster-wide BGP settings (Calico's BGPConfiguration `default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BgpConfiguration {
    /// The AS of nodes that set none (default 64512).
    pub as_number: Asn,
    /// Whether every node peers with every other node (default true).
    pub node_to_node_mesh: bool,
    /// The port every node listens on, and mesh sessions connect to (default 179).
    pub listen_port: u16,
    /// The AS the `default` BGPConfiguration sets explicitly, if any: the local AS
    /// of a node without one of its own. `None` leaves it to the daemon.
    pub configured_as_number: Option<Asn>,
    /// The graceful-restart time mesh sessions announce
    /// (`nodeMeshMaxRestartTime`); `None` for the daemon's own.
    pub mesh_max_restart_time: Option<Duration>,
}

impl BgpConfiguration {
    /// The settings from the `default` BGPConfiguration resource, if there is one;
    /// `fallback_as` is the cluster AS when the resource sets none (the daemon's
    /// own AS, which is Calico's 64512 unless configured otherwise).
    pub fn from_resource(
        resource: Option<&calico_model::BgpConfigurationResource>,
        fallback_as: Asn,
    ) -> Self {
        let configured_as_number = resource.and_then(|resource| resource.as_number);
        BgpConfiguration {
            as_number: configured_as_number.unwrap_or(fallback_as),
            node_to_node_mesh: resource.map_or(true, |resource| resource.mesh_enabled()),
            listen_port: resource.map_or(BGP_PORT, |resource| resource.listen_port_or_default()),
            configured_as_number,
            mesh_max_restart_time: resource
                .and_then(calico_model::BgpConfigurationResource::node_mesh_max_restart_time),
        }
    }
}

impl From<&calico_model::NodeResource> for Node {
    fn from(node: &calico_model::NodeResource) -> Self {
        Node {
            name: node.name.to_string(),
            ipv4: node.ipv4(),
            ipv6: node.ipv6(),
            as_number: node.as_number(),
            route_reflector_cluster_id: node.route_reflector_cluster_id(),
            labels: node.labels.clone(),
            listen_port: None,
        }
    }
}

impl Default for BgpConfiguration {
    /// Calico's defaults: AS 64512, mesh on, port 179.
    fn default() -> Self {
        BgpConfiguration {
            as_number: DEFAULT_AS_NUMBER,
            node_to_node_mesh: true,
            listen_port: BGP_PORT,
            configured_as_number: None,
            mesh_max_restart_time: None,
        }
    }
}

/// Why a node has a session (BIRD's `Global_`, `Node_` and `Mesh_` protocols).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeerSource {
    /// A global bgpPeer resource.
    Global,
    /// A bgpPeer resource scoped to this node (v1 `scope: node`, v3 `node` or a
    /// matching `nodeSelector`).
    NodeScoped,
    /// A v3 BGPPeer's `peerSelector` selected this node (the named one).
    PeerSelector(String),
    /// The node-to-node mesh, towards the named node.
    Mesh(String),
    /// Calico's automatic reverse peering (3.31): a BGPPeer that reaches this
    /// node from the named one (by `peerSelector`, or `peerIP` at this
    /// node's address and AS) is peered back.
    Reverse(String),
    /// A workload on this node (the named endpoint status file) that
    /// Felix selected for a BGPPeer's `localWorkloadSelector`.
    LocalWorkload(String),
}

/// A workload on this node that Felix selected for local BGP peering: what
/// its endpoint status file (`/var/run/calico/endpoint-status/<name>`,
/// libcalico-go's `epstatusfile`) says, reduced to what peering needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalWorkload {
    /// The status file's name (the endpoint's).
    pub name: String,
    /// The BGPPeer whose `localWorkloadSelector` selected it (`bgpPeerName`).
    pub bgp_peer_name: String,
    /// The first of its `ipv4Nets`, as an address.
    pub ipv4: Option<std::net::Ipv4Addr>,
    /// The first of its `ipv6Nets`, as an address.
    pub ipv6: Option<std::net::Ipv6Addr>,
}

/// Where a session's connections come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SourceAddress {
    /// The daemon's own choice (its listen address of the family): v1 peers, and
    /// v3 `UseNodeIP` peers of a node whose address is unknown.
    #[default]
    Daemon,
    /// This node's BGP address (v3 `UseNodeIP`, the mesh).
    Node(IpAddr),
    /// No binding: the kernel chooses (v3 `sourceAddress: None`).
    Unbound,
}

/// The per-peer settings of a v3 BGPPeer; v1 peers and the mesh use the defaults.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct SessionSettings {
    /// TCP MD5 password (RFC 2385), already read from its file or variable.
    pub password: Option<String>,
    /// The source address of outgoing connections.
    pub source_address: SourceAddress,
    /// The keepalive interval (`keepaliveTime`).
    pub keepalive: Option<Duration>,
    /// GTSM (RFC 5082) with this many hops (`ttlSecurity`).
    pub ttl_security_hops: Option<u8>,
    /// The graceful-restart time to announce (`maxRestartTime`, RFC 4724 §3).
    pub max_restart_time: Option<Duration>,
    /// How often our own AS may appear in a received AS_PATH
    /// (`numAllowedLocalASNumbers`).
    pub allowed_local_as: Option<u32>,
    /// Keep the original next hop towards eBGP peers (`keepOriginalNextHop`,
    /// `nextHopMode: Keep`).
    pub keep_original_next_hop: bool,
    /// Our own next hop on every route sent (`nextHopMode: Self`).
    pub next_hop_self: bool,
    /// Our AS on this session instead of the node's (`localASNumber`).
    pub local_as_number: Option<Asn>,
}

impl std::fmt::Debug for SessionSettings {
    // The password stays out of logs.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SessionSettings")
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("source_address", &self.source_address)
            .field("keepalive", &self.keepalive)
            .field("ttl_security_hops", &self.ttl_security_hops)
            .field("max_restart_time", &self.max_restart_time)
            .field("allowed_local_as", &self.allowed_local_as)
            .field("keep_original_next_hop", &self.keep_original_next_hop)
            .field("next_hop_self", &self.next_hop_self)
            .field("local_as_number", &self.local_as_number)
            .finish()
    }
}

/// One session a node should run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DesiredPeer {
    /// The peer's address and TCP port.
    pub address: SocketAddr,
    /// The peer's AS.
    pub asn: Asn,
    /// Our AS on this session: this node's `spec.bgp.asNumber`, else
    /// [`BgpConfiguration::configured_as_number`]; `None` leaves it to the daemon
    /// (its `--as`), as before node and configuration resources existed.
    pub local_as: Option<Asn>,
    /// Wait for the peer to connect instead of connecting.
    pub passive: bool,
    /// Why the session exists.
    pub source: PeerSource,
    /// Per-peer settings (v3 BGPPeer fields).
    pub settings: SessionSettings,
    /// The BGPFilters the session's routes go through, in order (a v3
    /// BGPPeer's `filters`; none for v1 peers and the mesh, as in Calico).
    /// A change applies to the running session: it is no session setting.
    pub filters: Vec<String>,
    /// The gateway a v3 BGPPeer's `reachableBy` names: the node routes the
    /// peer's address through it (a host route in the kernel, as calico-node's
    /// static route). No session setting: a change moves the route only.
    pub reachable_by: Option<IpAddr>,
}

impl DesiredPeer {
    /// Whether the session itself (port, either AS, passive, settings) differs;
    /// the source does not count.
    fn session_differs(&self, other: &DesiredPeer) -> bool {
        self.address != other.address
            || self.asn != other.asn
            || self.local_as != other.local_as
            || self.passive != other.passive
            || self.settings != other.settings
    }
}

/// Why a session is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopReason {
    /// No resource and no mesh entry asks for it any more.
    Deconfigured,
}

/// One step of turning the running sessions into the desired ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
// A handful of actions live for one reconcile pass: boxing the peers would
// cost an allocation each to save bytes nobody keeps.
#[allow(clippy::large_enum_variant)]
pub enum Action {
    /// Start a session that is not running.
    Start(DesiredPeer),
    /// Stop a running session.
    Stop {
        /// The running session's address and port.
        address: SocketAddr,
        /// Why it stops.
        reason: StopReason,
    },
    /// Replace a running session whose port, AS, passive flag or settings changed.
    Restart {
        /// The session as it runs.
        old: DesiredPeer,
        /// The session as it should run.
        new: DesiredPeer,
    },
}

impl Action {
    /// The peer IP address the action is about.
    pub fn ip(&self) -> IpAddr {
        match self {
            Action::Start(peer) => peer.address.ip(),
            Action::Stop { address, .. } => address.ip(),
            Action::Restart { new, .. } => new.address.ip(),
        }
    }
}

/// Sorts a peer list by IP address, keeping the first entry for an address.
fn by_ip(peers: &[DesiredPeer]) -> Vec<&DesiredPeer> {
    let mut sorted: Vec<&DesiredPeer> = peers.iter().collect();
    // Stable, so that of several entries for one address the first one stays first.
    sorted.sort_by_key(|peer| peer.address.ip());
    sorted.dedup_by_key(|peer| peer.address.ip());
    sorted
}

/// The pure reconciliation: what to do to turn `running` into `desired`.
///
/// Sessions are matched by peer IP address (if a list holds an address twice, its
/// first entry counts). The actions are sorted by address, at most one per address.
/// `O(n log n)` in the total number of peers.
pub fn reconcile(desired: &[DesiredPeer], running: &[DesiredPeer]) -> Vec<Action> {
    let desired = by_ip(desired);
    let running = by_ip(running);
    let mut actions = Vec::new();
    let (mut d, mut r) = (0, 0);
    while d < desired.len() || r < running.len() {
        let order = match (desired.get(d), running.get(r)) {
            (Some(want), Some(have)) => want.address.ip().cmp(&have.address.ip()),
            (Some(_), None) => Ordering::Less,
            (None, _) => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                actions.push(Action::Start(desired[d].clone()));
                d += 1;
            }
            Ordering::Greater => {
                actions.push(Action::Stop {
                    address: running[r].address,
                    reason: StopReason::Deconfigured,
                });
                r += 1;
            }
            Ordering::Equal => {
                if desired[d].session_differs(running[r]) {
                    actions.push(Action::Restart {
                        old: running[r].clone(),
                        new: desired[d].clone(),
                    });
                }
                d += 1;
                r += 1;
            }
        }
    }
    actions
}
