//! The sessions a node should run: [`desired_peers`] (v1 bgpPeers) and
//! [`desired_peer_set`] (v1 and v3), following the rules in the crate documentation.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use calico_model::{BgpPeer, BgpPeerV3, Labels, PeerTarget, Scope};

use crate::{
    Asn, BgpConfiguration, DesiredPeer, LocalWorkload, Node, PeerSource, SessionSettings,
    SourceAddress, BGP_PORT,
};

/// A v3 BGPPeer with its password already read (reading is I/O, which this crate
/// does not do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerV3 {
    /// The resource.
    pub resource: BgpPeerV3,
    /// The content of its `password` file or variable, if it has one.
    pub password: Option<String>,
}

/// One way to reach an address; the best one per address becomes the session.
struct Candidate {
    address: IpAddr,
    /// The port as written (`None` sorts first, as the default port).
    port: Option<u16>,
    /// The port connected to when none is written.
    default_port: u16,
    asn: Asn,
    /// 0 for global peers, 1 for this node's own: node peers override global ones.
    rank: u8,
    passive: bool,
    source: PeerSource,
    settings: SessionSettings,
    /// The peer resource's BGPFilter names.
    filters: Vec<String>,
    /// The peer resource's `reachableBy` gateway.
    reachable_by: Option<IpAddr>,
    /// The last tie-breaker, so the input order never matters: v1 peers (empty)
    /// before v3 ones, then by resource and node name.
    tie: String,
}

impl Candidate {
    /// Whether `self` beats `current` for the same address: higher rank, then
    /// lower port, then lower AS, then the tie-breaker.
    fn beats(&self, current: &Candidate) -> bool {
        self.rank
            .cmp(&current.rank)
            .then_with(|| current.port.cmp(&self.port))
            .then_with(|| current.asn.cmp(&self.asn))
            .then_with(|| current.tie.cmp(&self.tie))
            == Ordering::Greater
    }
}

/// The candidate that [`Candidate::beats`] the others at each address.
fn best_per_address(candidates: impl IntoIterator<Item = Candidate>) -> HashMap<IpAddr, Candidate> {
    let mut best: HashMap<IpAddr, Candidate> = HashMap::new();
    for candidate in candidates {
        match best.get(&candidate.address) {
            Some(current) if !candidate.beats(current) => {}
            _ => {
                best.insert(candidate.address, candidate);
            }
        }
    }
    best
}

/// Whether a session to a Calico node at `peer` is passive given our address text
/// `own` (same family): Calico compares the address strings, not the numbers.
fn mesh_passive(peer: IpAddr, own: &str) -> bool {
    peer.to_string().as_str() > own
}

/// A v3 BGPPeer's per-session settings, `own` being this node's address of
/// the session's family.
fn session_settings(peer: &PeerV3, own: Option<IpAddr>) -> SessionSettings {
    let resource = &peer.resource;
    SessionSettings {
        password: peer.password.clone(),
        source_address: match resource.source_address {
            calico_model::SourceAddress::UseNodeIp => {
                own.map_or(SourceAddress::Daemon, SourceAddress::Node)
            }
            calico_model::SourceAddress::None => SourceAddress::Unbound,
        },
        keepalive: resource.keepalive_time,
        ttl_security_hops: resource.ttl_security,
        max_restart_time: resource.max_restart_time,
        allowed_local_as: resource.num_allowed_local_as_numbers,
        keep_original_next_hop: resource.keep_original_next_hop
            || resource.next_hop_mode() == calico_model::NextHopMode::Keep,
        next_hop_self: resource.next_hop_mode() == calico_model::NextHopMode::SelfAlways,
        local_as_number: resource.local_as_number(),
    }
}

/// Calico 3.31's automatic reverse peering (confd `updatePeersV1`): a BGPPeer
/// whose `peerSelector` selects `me`, or whose `peerIP` is `me`'s address of
/// that family with `me`'s AS (and, with a port, the cluster's listen port),
/// reaches `me` from each node it is for (its `node`, `nodeSelector`, or every
/// node): `me` peers back with each of them, at that node's address of the
/// family (both families for a selector), in that node's AS, actively, with
/// the BGPPeer's password, timers, GTSM, next-hop mode and filters, but
/// neither its `localASNumber` nor its `numAllowedLocalASNumbers`. Not for
/// `reversePeering: Manual`.
fn reverse_candidates(
    me: &Node,
    nodes: &[Node],
    config: &BgpConfiguration,
    v3_peers: &[PeerV3],
) -> Vec<Candidate> {
    let my_as = me.as_number.unwrap_or(config.as_number);
    let own_v4 = me.ipv4.map(IpAddr::V4);
    let own_v6 = me.ipv6.map(IpAddr::V6);
    let mut candidates = Vec::new();
    for peer in v3_peers {
        let resource = &peer.resource;
        if !resource.reverse_peering() {
            continue;
        }
        let (ipv4, ipv6) = match &resource.target {
            PeerTarget::Selector(selector) if selector.matches(&me.labels) => (true, true),
            PeerTarget::Selector(_) | PeerTarget::LocalWorkloads { .. } => continue,
            PeerTarget::Address {
                address,
                port,
                as_number,
            } => {
                let mine = Some(*address) == own_v4 || Some(*address) == own_v6;
                let port_matches = port.map_or(true, |port| port == me.listen_port(config));
                if !(mine && *as_number == my_as && port_matches) {
                    continue;
                }
                (address.is_ipv4(), address.is_ipv6())
            }
        };
        let filters: Vec<String> = resource
            .filters()
            .iter()
            .map(|name| name.as_str().to_owned())
            .collect();
        for node in nodes {
            if node.name == me.name || !resource.applies_to(&node.name, &node.labels) {
                continue;
            }
            let v4 = own_v4.filter(|_| ipv4).and(node.ipv4.map(IpAddr::V4));
            let v6 = own_v6.filter(|_| ipv6).and(node.ipv6.map(IpAddr::V6));
            for (address, own) in [(v4, own_v4), (v6, own_v6)] {
                let Some(address) = address else { continue };
                let settings = SessionSettings {
                    allowed_local_as: None,
                    local_as_number: None,
                    ..session_settings(peer, own)
                };
                candidates.push(Candidate {
                    address,
                    port: None,
                    default_port: node.listen_port(config),
                    asn: node.as_number.unwrap_or(config.as_number),
                    rank: 1,
                    passive: false,
                    source: PeerSource::Reverse(node.name.clone()),
                    settings,
                    filters: filters.clone(),
                    // The gateway is the other node's way to the peer, not ours.
                    reachable_by: None,
                    tie: format!("{}/{}", resource.name, node.name),
                });
            }
        }
    }
    candidates
}

/// The sessions `this_node` should run from v1 bgpPeers alone (see the crate
/// documentation), sorted by address, one per peer IP address.
///
/// Linear in `nodes.len() + peers.len()`, plus sorting the result.
pub fn desired_peers(
    this_node: &str,
    nodes: &[Node],
    config: &BgpConfiguration,
    peers: &[BgpPeer],
) -> Vec<DesiredPeer> {
    desired_peer_set(this_node, nodes, config, peers, &[])
}

/// The sessions `this_node` should run from v1 bgpPeers, v3 BGPPeers, the nodes
/// and the cluster configuration (see the crate documentation), sorted by
/// address, one per peer IP address.
///
/// Linear in the number of nodes and peers, times the number of nodes for each
/// `peerSelector` peer, plus sorting the result.
pub fn desired_peer_set(
    this_node: &str,
    nodes: &[Node],
    config: &BgpConfiguration,
    peers: &[BgpPeer],
    v3_peers: &[PeerV3],
) -> Vec<DesiredPeer> {
    desired_peer_set_with_workloads(this_node, nodes, config, peers, v3_peers, &[])
}

/// [`desired_peer_set`], with the node's workloads that Felix selected for
/// local BGP peering (Calico 3.30 `localWorkloadSelector`): each BGPPeer with
/// a selector that applies to this node peers with the workloads naming it,
/// at each of their addresses, passively (the workload connects), without a
/// source address, in the BGPPeer's `asNumber`, with its filters and
/// settings, as confd's `Local_Workload_` peers. A peering written for an
/// address wins over a workload at the same address.
pub fn desired_peer_set_with_workloads(
    this_node: &str,
    nodes: &[Node],
    config: &BgpConfiguration,
    peers: &[BgpPeer],
    v3_peers: &[PeerV3],
    workloads: &[LocalWorkload],
) -> Vec<DesiredPeer> {
    let me = nodes.iter().find(|node| node.name == this_node);
    let own_v4 = me.and_then(|node| node.ipv4).map(IpAddr::V4);
    let own_v6 = me.and_then(|node| node.ipv6).map(IpAddr::V6);
    let own_v4_text = own_v4.map(|address| address.to_string());
    let own_v6_text = own_v6.map(|address| address.to_string());
    let own_of_family = |address: IpAddr| if address.is_ipv4() { own_v4 } else { own_v6 };
    let own_text_of_family = |address: IpAddr| {
        if address.is_ipv4() {
            own_v4_text.as_deref()
        } else {
            own_v6_text.as_deref()
        }
    };
    let is_own = |address: IpAddr| Some(address) == own_v4 || Some(address) == own_v6;
    let no_labels = Labels::new();
    let my_labels = me.map_or(&no_labels, |node| &node.labels);
    let local_as = me
        .and_then(|node| node.as_number)
        .or(config.configured_as_number);

    let mut explicit: HashMap<IpAddr, Candidate> = HashMap::new();
    // Below any peering written for their address: added after those.
    let mut workload_candidates: Vec<Candidate> = Vec::new();
    let mut offer = |candidate: Candidate| {
        if is_own(candidate.address) {
            return;
        }
        match explicit.get(&candidate.address) {
            Some(current) if !candidate.beats(current) => {}
            _ => {
                explicit.insert(candidate.address, candidate);
            }
        }
    };

    for peer in peers {
        let rank = match &peer.scope {
            Scope::Global => 0,
            Scope::Node(name) if name.as_str() == this_node => 1,
            Scope::Node(_) => continue,
        };
        offer(Candidate {
            address: peer.peer_address,
            port: peer.peer_port,
            default_port: BGP_PORT,
            asn: peer.as_number,
            rank,
            passive: false,
            source: if rank == 0 {
                PeerSource::Global
            } else {
                PeerSource::NodeScoped
            },
            settings: SessionSettings::default(),
            filters: Vec::new(),
            reachable_by: None,
            tie: String::new(),
        });
    }

    for peer in v3_peers {
        let resource = &peer.resource;
        if !resource.applies_to(this_node, my_labels) {
            continue;
        }
        let rank = u8::from(!resource.is_global());
        let settings = |address: IpAddr| session_settings(peer, own_of_family(address));
        let source = if rank == 0 {
            PeerSource::Global
        } else {
            PeerSource::NodeScoped
        };
        let filters: Vec<String> = resource
            .filters()
            .iter()
            .map(|name| name.as_str().to_owned())
            .collect();
        match &resource.target {
            PeerTarget::Address {
                address,
                port,
                as_number,
            } => offer(Candidate {
                address: *address,
                port: *port,
                default_port: BGP_PORT,
                asn: *as_number,
                rank,
                passive: false,
                source,
                settings: settings(*address),
                filters: filters.clone(),
                // Calico validates it for peerIP peers only.
                reachable_by: resource.reachable_by(),
                tie: resource.name.to_string(),
            }),
            PeerTarget::LocalWorkloads { as_number } => {
                for workload in workloads {
                    if workload.bgp_peer_name != resource.name.as_str() {
                        continue;
                    }
                    let addresses = [workload.ipv4.map(IpAddr::V4), workload.ipv6.map(IpAddr::V6)];
                    for address in addresses.into_iter().flatten() {
                        workload_candidates.push(Candidate {
                            address,
                            port: None,
                            default_port: BGP_PORT,
                            asn: *as_number,
                            rank: 0,
                            passive: true,
                            source: PeerSource::LocalWorkload(workload.name.clone()),
                            settings: SessionSettings {
                                source_address: SourceAddress::Unbound,
                                ..settings(address)
                            },
                            filters: filters.clone(),
                            reachable_by: None,
                            tie: format!("~{}/{}", resource.name, workload.name),
                        });
                    }
                }
            }
            PeerTarget::Selector(selector) => {
                for node in nodes {
                    if node.name == this_node || !selector.matches(&node.labels) {
                        continue;
                    }
                    let v4 = own_v4.and(node.ipv4.map(IpAddr::V4));
                    let v6 = own_v6.and(node.ipv6.map(IpAddr::V6));
                    for address in [v4, v6].into_iter().flatten() {
                        offer(Candidate {
                            address,
                            port: None,
                            default_port: node.listen_port(config),
                            asn: node.as_number.unwrap_or(config.as_number),
                            rank,
                            passive: own_text_of_family(address)
                                .is_some_and(|own| mesh_passive(address, own)),
                            source: PeerSource::PeerSelector(node.name.clone()),
                            settings: settings(address),
                            filters: filters.clone(),
                            reachable_by: None,
                            tie: format!("{}/{}", resource.name, node.name),
                        });
                    }
                }
            }
        }
    }

    // Local workloads, then reverse peerings, each never displacing a
    // peering written for the address.
    let workloads = workload_candidates
        .into_iter()
        .filter(|candidate| !is_own(candidate.address));
    for (address, candidate) in best_per_address(workloads) {
        explicit.entry(address).or_insert(candidate);
    }
    if let Some(me) = me {
        let reverse = reverse_candidates(me, nodes, config, v3_peers);
        for (address, candidate) in best_per_address(reverse) {
            explicit.entry(address).or_insert(candidate);
        }
    }

    let mut desired: Vec<DesiredPeer> = Vec::with_capacity(explicit.len() + 2 * nodes.len());
    desired.extend(explicit.values().map(|candidate| DesiredPeer {
        address: SocketAddr::new(
            candidate.address,
            candidate.port.unwrap_or(candidate.default_port),
        ),
        asn: candidate.asn,
        local_as,
        passive: candidate.passive,
        source: candidate.source.clone(),
        settings: candidate.settings.clone(),
        filters: candidate.filters.clone(),
        reachable_by: candidate.reachable_by,
    }));

    let mesh_on = config.node_to_node_mesh
        && me.is_some_and(|node| node.route_reflector_cluster_id.is_none());
    if mesh_on {
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
        desired.extend(mesh.into_iter().map(|(address, node)| DesiredPeer {
            address: SocketAddr::new(address, node.listen_port(config)),
            asn: node.as_number.unwrap_or(config.as_number),
            local_as,
            passive: own_text_of_family(address).is_some_and(|own| mesh_passive(address, own)),
            source: PeerSource::Mesh(node.name.clone()),
            // Calico's mesh template: `source address <own IP>`.
            settings: SessionSettings {
                source_address:
                    own_of_family(address).map_or(SourceAddress::Daemon, SourceAddress::Node),
                // BGPConfiguration nodeMeshMaxRestartTime (confd: `graceful
                // restart time` on the Mesh_ protocols).
                max_restart_time: config.mesh_max_restart_time,
                ..SessionSettings::default()
            },
            filters: Vec::new(),
            reachable_by: None,
        }));
    }

    desired.sort_unstable_by_key(|peer| peer.address.ip());
    desired
}
