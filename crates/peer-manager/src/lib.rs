//! The pure heart of nodebgp's peer manager: which BGP sessions a Calico node
//! should run ([`desired_peers`]) and what to do to get there from the sessions it
//! runs now ([`reconcile`]).
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
//! [`reconcile`] identifies sessions by peer IP address. It returns at most one
//! [`Action`] per address, sorted by address: [`Action::Start`] for a new address,
//! [`Action::Stop`] for an address no longer desired, [`Action::Restart`] when the
//! port, AS or passive flag changed, and nothing for an unchanged session. A change
//! of [`PeerSource`] alone does not touch the session and yields no action.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub use bgp_wire::Asn;
pub use peer_store::{BgpPeer, NodeName, Scope};

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
}

impl Default for BgpConfiguration {
    /// Calico's defaults: AS 64512, mesh on, port 179.
    fn default() -> Self {
        BgpConfiguration {
            as_number: DEFAULT_AS_NUMBER,
            node_to_node_mesh: true,
            listen_port: BGP_PORT,
        }
    }
}

/// Why a node has a session (BIRD's `Global_`, `Node_` and `Mesh_` protocols).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeerSource {
    /// A global bgpPeer resource.
    Global,
    /// A bgpPeer resource scoped to this node.
    NodeScoped,
    /// The node-to-node mesh, towards the named node.
    Mesh(String),
}

/// One session a node should run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DesiredPeer {
    /// The peer's address and TCP port.
    pub address: SocketAddr,
    /// The peer's AS.
    pub asn: Asn,
    /// Wait for the peer to connect instead of connecting.
    pub passive: bool,
    /// Why the session exists.
    pub source: PeerSource,
}

impl DesiredPeer {
    /// Whether the session itself (port, AS, passive) differs; the source does not count.
    fn session_differs(&self, other: &DesiredPeer) -> bool {
        self.address != other.address || self.asn != other.asn || self.passive != other.passive
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
    /// Replace a running session whose port, AS or passive flag changed.
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

/// The precedence of an explicit peer: higher wins at the same address.
fn rank(peer: &BgpPeer) -> u8 {
    match peer.scope {
        Scope::Global => 0,
        Scope::Node(_) => 1,
    }
}

/// Whether `candidate` beats `current` for the same address.
fn explicit_beats(candidate: &BgpPeer, current: &BgpPeer) -> bool {
    rank(candidate)
        .cmp(&rank(current))
        .then_with(|| current.peer_port.cmp(&candidate.peer_port))
        .then_with(|| current.as_number.cmp(&candidate.as_number))
        == Ordering::Greater
}

/// Whether a mesh session to `peer` is passive given our address text `own` (same
/// family): Calico compares the address strings, not the numbers.
fn mesh_passive(peer: IpAddr, own: &str) -> bool {
    peer.to_string().as_str() > own
}

/// Everything a node's peer set depends on: the sessions `this_node` should run,
/// sorted by address, one per peer IP address (see the crate documentation).
///
/// Linear in `nodes.len() + peers.len()`, plus sorting the result.
pub fn desired_peers(
    this_node: &str,
    nodes: &[Node],
    config: &BgpConfiguration,
    peers: &[BgpPeer],
) -> Vec<DesiredPeer> {
    let me = nodes.iter().find(|node| node.name == this_node);
    let own_v4 = me.and_then(|node| node.ipv4).map(IpAddr::V4);
    let own_v6 = me.and_then(|node| node.ipv6).map(IpAddr::V6);
    let is_own = |address: IpAddr| Some(address) == own_v4 || Some(address) == own_v6;

    // Explicit peers: the winner per address.
    let mut explicit: HashMap<IpAddr, &BgpPeer> = HashMap::new();
    for peer in peers {
        match &peer.scope {
            Scope::Global => {}
            Scope::Node(name) if name.as_str() == this_node => {}
            Scope::Node(_) => continue,
        }
        if is_own(peer.peer_address) {
            continue;
        }
        explicit
            .entry(peer.peer_address)
            .and_modify(|current| {
                if explicit_beats(peer, current) {
                    *current = peer;
                }
            })
            .or_insert(peer);
    }

    let mut desired: Vec<DesiredPeer> = Vec::with_capacity(explicit.len() + 2 * nodes.len());
    desired.extend(explicit.values().map(|peer| DesiredPeer {
        address: SocketAddr::new(peer.peer_address, peer.peer_port.unwrap_or(BGP_PORT)),
        asn: peer.as_number,
        passive: false,
        source: match peer.scope {
            Scope::Global => PeerSource::Global,
            Scope::Node(_) => PeerSource::NodeScoped,
        },
    }));

    let mesh_on = config.node_to_node_mesh
        && me.is_some_and(|node| node.route_reflector_cluster_id.is_none());
    if mesh_on {
        let own_v4_text = own_v4.map(|address| address.to_string());
        let own_v6_text = own_v6.map(|address| address.to_string());
        // The mesh node per address: the lowest name, whatever the input order.
        let mut mesh: HashMap<IpAddr, &Node> = HashMap::new();
        for node in nodes {
            if node.name == this_node || node.route_reflector_cluster_id.is_some() {
                continue;
            }
            let v4 = own_v4.and(node.ipv4.map(IpAddr::V4));
            let v6 = own_v6.and(node.ipv6.map(IpAddr::V6));
            for address in [v4, v6].into_iter().flatten() {
                if is_own(address) || explicit.contains_key(&address) {
                    continue;
                }
                mesh.entry(address)
                    .and_modify(|current| {
                        if node.name < current.name {
                            *current = node;
                        }
                    })
                    .or_insert(node);
            }
        }
        desired.extend(mesh.into_iter().map(|(address, node)| {
            let own = if address.is_ipv4() {
                &own_v4_text
            } else {
                &own_v6_text
            };
            DesiredPeer {
                address: SocketAddr::new(address, config.listen_port),
                asn: node.as_number.unwrap_or(config.as_number),
                passive: own.as_deref().is_some_and(|own| mesh_passive(address, own)),
                source: PeerSource::Mesh(node.name.clone()),
            }
        }));
    }

    desired.sort_unstable_by_key(|peer| peer.address.ip());
    desired
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
