//! This node's desired peers, from the resources in the datastore, computed by
//! the peer manager: v1 bgpPeers and v3 BGPPeers (global, this node's, and those
//! whose `nodeSelector` matches its labels; `peerSelector` peers towards the
//! selected nodes), and the node-to-node mesh when this node has a Node resource
//! and the `default` BGPConfiguration does not turn it off. A node peer
//! overrides a global one at the same address.
//!
//! The computation ([`desired_from`]) works on resources in memory: the
//! datastore reader's copy of the store (see `datastore.rs`), which it keeps
//! up to date and hands here whenever it changed. Passwords of v3 peers
//! (`password: {file: …}` / `{env: …}`) are read here, at every computation,
//! for the peers this node runs; a peer whose password cannot be read is left
//! out, so that it never runs without its key.
//!
//! Bad data never freezes the configuration: what the daemon does not act on
//! is left out and listed in [`Desired::ignored`] with the reason, and the rest
//! applies. That is a stored entry that does not read (bad JSON, an invalid
//! field, a kind nodebgp does not know: the datastore reports it), a BGPPeer
//! for this node asking for what nodebgp cannot do (a local AS of its own, a
//! BGPFilter rule on interfaces, … — never run with another policy), a
//! BGPFilter a peer names that does not exist, a peer whose password cannot be
//! read, and the `default` BGPConfiguration's settings nodebgp does not carry out.
//! Each is logged once while it lasts, not at every computation.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use peer_manager::pod_networks::PodNetworks;
use peer_manager::{BgpConfiguration, Node, PeerV3, DEFAULT_AS_NUMBER};
use peer_store::{Labels, PasswordSource, Resource, UnreadableResource};
use tracing::warn;

pub(crate) use peer_manager::DesiredPeer;

/// What the `default` BGPConfiguration asks the node to advertise, Calico's
/// way: service prefixes every node originates, and communities to attach to
/// what falls inside a CIDR.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Advertisements {
    /// `serviceClusterIPs`, `serviceExternalIPs`, `serviceLoadBalancerIPs`.
    pub(crate) service_prefixes: Vec<ipnet::IpNet>,
    /// `prefixAdvertisements`: a CIDR and the community values (names
    /// resolved through `communities`) for the originated prefixes inside it.
    pub(crate) communities: Vec<(ipnet::IpNet, Vec<String>)>,
    /// The node's IPAM blocks and borrowed addresses, and the IP pools'
    /// export and kernel rules.
    pub(crate) pod_networks: PodNetworks,
}

/// Everything the store says this node should do.
#[derive(Debug, Clone, Default)]
pub(crate) struct Desired {
    pub(crate) peers: Vec<DesiredPeer>,
    /// The compiled BGPFilters of the peers that name some, by address.
    pub(crate) filters: HashMap<IpAddr, bgp_rib::PeerFilter>,
    /// `bindMode: NodeIP` in the cluster's BGPConfiguration: the node's own
    /// BGP addresses to listen on (empty when its Node has none).
    pub(crate) bind_addresses: Option<Vec<IpAddr>>,
    pub(crate) advertisements: Advertisements,
    /// What the daemon does not act on, and why, sorted; for `nodebgp status`.
    pub(crate) ignored: Vec<IgnoredResource>,
}

/// A stored resource (or one setting of it) the daemon does not act on.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub(crate) struct IgnoredResource {
    /// `BGPPeer`, `Node`, `BGPConfiguration`, `bgpPeer`, or `unknown` for an
    /// entry that names no kind nodebgp knows.
    pub(crate) kind: String,
    /// The resource's name, or where the entry is (an etcd key) if it has none.
    pub(crate) name: String,
    /// Why, in words.
    pub(crate) reason: String,
}

/// This node's desired set, computed from the store's resources and the
/// entries that did not read (a listing of everything, or the datastore
/// reader's copy of one), with whether that read password files.
pub(crate) struct Computed {
    pub(crate) desired: Desired,
    /// Whether a password file was read (or failed to read) for one of this
    /// node's peers: such files change on their own, so compute again now
    /// and then even when the store did not change.
    pub(crate) reads_password_files: bool,
    /// Whether one of this node's BGPPeers peers with local workloads: then
    /// Felix's endpoint status files are to be followed.
    pub(crate) reads_endpoint_status: bool,
}

/// The node's peers and advertisements, and what was left out, from the
/// store's resources (in the order of their keys, as a listing gives them),
/// the entries that did not read and the workloads Felix selected for local
/// peering. Reads password files, nothing else.
pub(crate) fn desired_from<'a, R, U>(
    resources: R,
    unreadable: U,
    workloads: &[peer_manager::LocalWorkload],
    node: &str,
) -> Computed
where
    R: IntoIterator<Item = &'a Resource>,
    R::IntoIter: Clone,
    U: IntoIterator<Item = &'a UnreadableResource>,
{
    let resources = resources.into_iter();
    let reading = compute(resources.clone(), unreadable, workloads, node);
    let mut advertisements = reading
        .configuration
        .as_ref()
        .map(advertisements)
        .unwrap_or_default();
    // The node's own prefixAdvertisements replace the cluster's (confd reads
    // the node's key first), their names resolved in its own communities.
    if let Some(own) = reading
        .own_configuration
        .as_ref()
        .filter(|own| !own.prefix_advertisements.is_empty())
    {
        advertisements.communities = prefix_communities(own);
    }
    advertisements.pod_networks = super::pod_networks::pod_networks_from(resources, node);
    if reading.route_reflector {
        if let Some(configuration) = &reading.configuration {
            reflect_service_routes(
                &mut advertisements.pod_networks.export_policy,
                configuration,
            );
        }
    }
    log_newly_ignored(&reading.ignored);
    Computed {
        desired: Desired {
            peers: reading.peers,
            filters: reading.filters,
            bind_addresses: reading.bind_addresses,
            advertisements,
            ignored: reading.ignored,
        },
        reads_password_files: reading.reads_password_files,
        reads_endpoint_status: reading.reads_endpoint_status,
    }
}

/// What was reported at the last computation: each entry is logged when it
/// appears, not at every computation. Process-wide, as the daemon reads one
/// store; tests share it harmlessly (it only gates logging).
static REPORTED: Mutex<BTreeSet<IgnoredResource>> = Mutex::new(BTreeSet::new());

fn log_newly_ignored(ignored: &[IgnoredResource]) {
    let mut reported = REPORTED.lock().unwrap_or_else(PoisonError::into_inner);
    for entry in ignored {
        if !reported.contains(entry) {
            warn!(kind = %entry.kind, name = %entry.name, reason = %entry.reason, "resource ignored");
        }
    }
    *reported = ignored.iter().cloned().collect();
}

fn advertisements(configuration: &peer_store::BgpConfigurationResource) -> Advertisements {
    let service_prefixes = configuration
        .service_cluster_ips
        .iter()
        .chain(&configuration.service_external_ips)
        .chain(&configuration.service_load_balancer_ips)
        .map(ipnet::IpNet::trunc)
        .collect();
    Advertisements {
        service_prefixes,
        communities: prefix_communities(configuration),
        pod_networks: PodNetworks::default(),
    }
}

/// On a route reflector, calico-node's export filter also passes learned
/// routes within the cluster's `serviceLoadBalancerIPs` and
/// `serviceExternalIPs` (`bird_ipam.cfg`: "Configured as a RR - accept any
/// routes within configured LB service IP ranges"), so that the per-Service
/// routes other nodes announce reach its clients; placed where confd puts
/// them, after the node's own routes and before the pools.
fn reflect_service_routes(
    policy: &mut bgp_rib::ExportPolicy,
    configuration: &peer_store::BgpConfigurationResource,
) {
    // No pools, no policy: everything is sent already.
    if policy.rules.is_empty() {
        return;
    }
    let position = policy
        .rules
        .iter()
        .rposition(|rule| rule.origin == bgp_rib::Origin::Local)
        .map_or(0, |index| index + 1);
    let accepts = configuration
        .service_load_balancer_ips
        .iter()
        .chain(&configuration.service_external_ips)
        .map(|cidr| bgp_rib::ExportRule {
            prefix: cidr.trunc(),
            extent: bgp_rib::Extent::OrLonger,
            origin: bgp_rib::Origin::Any,
            verdict: bgp_rib::Verdict::Accept,
        });
    policy
        .rules
        .splice(position..position, accepts.collect::<Vec<_>>());
}

/// A configuration's `prefixAdvertisements`: each CIDR with its community
/// values. A community in a prefix advertisement is a name from the same
/// configuration's `communities` or a value written out (Calico's rule).
fn prefix_communities(
    configuration: &peer_store::BgpConfigurationResource,
) -> Vec<(ipnet::IpNet, Vec<String>)> {
    let resolve = |word: &String| {
        configuration
            .communities
            .iter()
            .find(|community| &community.name == word)
            .map_or_else(|| word.clone(), |community| community.value.clone())
    };
    configuration
        .prefix_advertisements
        .iter()
        .map(|advertisement| {
            (
                advertisement.cidr.trunc(),
                advertisement.communities.iter().map(resolve).collect(),
            )
        })
        .collect()
}

/// One computation, for this node. The peers are those it should have, in
/// the order of their addresses. Without Node resources there is no mesh
/// (this node's addresses are unknown); without a `default`
/// BGPConfiguration, Calico's defaults apply and the local AS is the
/// daemon's own (`--as`).
struct Reading {
    peers: Vec<DesiredPeer>,
    filters: HashMap<IpAddr, bgp_rib::PeerFilter>,
    bind_addresses: Option<Vec<IpAddr>>,
    configuration: Option<peer_store::BgpConfigurationResource>,
    /// This node's own `node.<name>` configuration, if any.
    own_configuration: Option<peer_store::BgpConfigurationResource>,
    /// Whether this node is a route reflector (its Node's
    /// `routeReflectorClusterID`).
    route_reflector: bool,
    ignored: Vec<IgnoredResource>,
    reads_password_files: bool,
    reads_endpoint_status: bool,
}

fn ignored(kind: &str, name: &str, reason: impl Into<String>) -> IgnoredResource {
    IgnoredResource {
        kind: kind.to_owned(),
        name: name.to_owned(),
        reason: reason.into(),
    }
}

fn compute<'a, R, U>(
    resources: R,
    unreadable: U,
    workloads: &[peer_manager::LocalWorkload],
    node: &str,
) -> Reading
where
    R: IntoIterator<Item = &'a Resource>,
    R::IntoIter: Clone,
    U: IntoIterator<Item = &'a UnreadableResource>,
{
    let resources = resources.into_iter();
    let mut ignored_resources: Vec<IgnoredResource> = unreadable
        .into_iter()
        .map(|entry| {
            ignored(
                entry.kind.unwrap_or("unknown"),
                entry.name.as_deref().unwrap_or(&entry.location),
                format!("cannot be read ({}): {}", entry.location, entry.reason),
            )
        })
        .collect();
    // Which v3 peers this node runs depends on its labels: the same as the
    // peer manager matches (none without a Node resource).
    let my_labels: Labels = resources
        .clone()
        .find_map(|resource| match resource {
            Resource::Node(resource) if resource.name.as_str() == node => {
                Some(resource.labels.clone())
            }
            _ => None,
        })
        .unwrap_or_default();
    let mut peers = Vec::new();
    let mut v3_peers = Vec::new();
    let mut nodes = Vec::new();
    let mut configuration = None;
    let mut reads_password_files = false;
    let mut bgp_filters = HashMap::new();
    let mut node_configurations: HashMap<String, &peer_store::BgpConfigurationResource> =
        HashMap::new();
    for resource in resources {
        match resource {
            Resource::BgpPeer(peer) => peers.push(peer.clone()),
            // Another node's peer does not need its password here.
            Resource::BgpPeerV3(peer) if !peer.applies_to(node, &my_labels) => {
                v3_peers.push(PeerV3 {
                    resource: peer.clone(),
                    password: None,
                });
            }
            Resource::BgpPeerV3(peer) => {
                reads_password_files |= matches!(peer.password, Some(PasswordSource::File(_)));
                let password = match &peer.password {
                    None => None,
                    Some(source) => match source.read() {
                        // Fail closed (RFC 2385): a peer meant to be signed
                        // never runs unsigned.
                        Ok(password) if password.is_empty() => {
                            ignored_resources.push(ignored(
                                "BGPPeer",
                                peer.name.as_str(),
                                "its password is empty".to_owned(),
                            ));
                            continue;
                        }
                        Ok(password) => Some(password),
                        Err(error) => {
                            ignored_resources.push(ignored(
                                "BGPPeer",
                                peer.name.as_str(),
                                format!("its password cannot be read: {error}"),
                            ));
                            continue;
                        }
                    },
                };
                v3_peers.push(PeerV3 {
                    resource: peer.clone(),
                    password,
                });
            }
            Resource::UnsupportedBgpPeer(peer) => {
                if peer.applies_to(node, &my_labels) {
                    ignored_resources.push(ignored("BGPPeer", peer.name.as_str(), peer.reason()));
                }
            }
            Resource::Node(resource) => nodes.push(Node::from(resource)),
            Resource::BgpConfiguration(resource) if resource.is_default() => {
                for setting in resource.unsupported_settings() {
                    ignored_resources.push(ignored(
                        "BGPConfiguration",
                        resource.name.as_str(),
                        setting,
                    ));
                }
                configuration = Some(resource.clone())
            }
            // Per-node `node.<name>` configurations: Calico takes only
            // listenPort, logSeverityScreen and prefixAdvertisements from
            // them (confd `perNodeConfigNamePrefix`).
            Resource::BgpConfiguration(resource) => {
                if let Some(name) = resource.node_name() {
                    node_configurations.insert(name.to_owned(), resource);
                }
            }
            // Read for the pod networks, below.
            Resource::IpPool(_) | Resource::BlockAffinity(_) | Resource::IpamBlock(_) => {}
            // Compiled into the peers that name them, below.
            Resource::BgpFilter(filter) => {
                bgp_filters.insert(filter.name.as_str(), filter);
            }
        }
    }
    // Remote nodes without an AS of their own are in the cluster's AS: the
    // configured one, else Calico's default.
    let mut config = BgpConfiguration::from_resource(configuration.as_ref(), DEFAULT_AS_NUMBER);
    // nodeMeshPassword: the mesh runs signed, or not at all (RFC 2385 keys
    // fail closed, as for a BGPPeer's).
    let mut mesh_password = None;
    if let Some(source) = configuration
        .as_ref()
        .and_then(peer_store::BgpConfigurationResource::node_mesh_password)
    {
        reads_password_files |= matches!(source, Ok(PasswordSource::File(_)));
        match source.and_then(|source| source.read()) {
            Ok(password) if !password.is_empty() => mesh_password = Some(password),
            outcome => {
                let reason = outcome.err().unwrap_or_else(|| "it is empty".to_owned());
                if config.node_to_node_mesh {
                    ignored_resources.push(ignored(
                        "BGPConfiguration",
                        "default",
                        format!("spec.nodeMeshPassword: {reason}; no mesh sessions run without it"),
                    ));
                }
                config.node_to_node_mesh = false;
            }
        }
    }
    // A node's own listenPort is where sessions to it connect.
    for peer_node in &mut nodes {
        peer_node.listen_port = node_configurations
            .get(&peer_node.name)
            .and_then(|configuration| configuration.listen_port);
    }
    let reads_endpoint_status = v3_peers.iter().any(|peer| {
        matches!(
            peer.resource.target,
            peer_store::PeerTarget::LocalWorkloads { .. }
        ) && peer.resource.applies_to(node, &my_labels)
    });
    let mut desired = peer_manager::desired_peer_set_with_workloads(
        node, &nodes, &config, &peers, &v3_peers, workloads,
    );
    if let Some(password) = mesh_password {
        for peer in &mut desired {
            if matches!(peer.source, peer_manager::PeerSource::Mesh(_)) {
                peer.settings.password = Some(password.clone());
            }
        }
    }
    let mut filters = HashMap::new();
    desired.retain(|peer| {
        if peer.filters.is_empty() {
            return true;
        }
        match super::filters::compile(&peer.filters, &bgp_filters) {
            Ok(compiled) => {
                for name in compiled.missing {
                    ignored_resources.push(ignored(
                        "BGPFilter",
                        &name,
                        format!(
                            "named by the peer {} but not in the datastore: skipped, as calico-node does",
                            peer.address.ip()
                        ),
                    ));
                }
                filters.insert(peer.address.ip(), compiled.filter);
                true
            }
            Err(reason) => {
                ignored_resources.push(ignored(
                    "BGPPeer",
                    &peer.address.ip().to_string(),
                    format!("not run: {reason}"),
                ));
                false
            }
        }
    });
    let bind_addresses = configuration
        .as_ref()
        .is_some_and(peer_store::BgpConfigurationResource::binds_to_node_ip)
        .then(|| {
            nodes
                .iter()
                .filter(|candidate| candidate.name == node)
                .flat_map(|own| {
                    [own.ipv4.map(IpAddr::V4), own.ipv6.map(IpAddr::V6)]
                        .into_iter()
                        .flatten()
                })
                .collect()
        });
    ignored_resources.sort();
    ignored_resources.dedup();
    Reading {
        peers: desired,
        filters,
        bind_addresses,
        configuration,
        own_configuration: node_configurations.get(node).map(|own| (*own).clone()),
        route_reflector: nodes.iter().any(|candidate| {
            candidate.name == node && candidate.route_reflector_cluster_id.is_some()
        }),
        ignored: ignored_resources,
        reads_password_files,
        reads_endpoint_status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use peer_store::{FileStore, PeerStore, ResourceFilter};

    /// A listing of everything, computed from: what the datastore reader does
    /// at start.
    fn desired(store: &dyn PeerStore, node: &str) -> anyhow::Result<Desired> {
        let listing = store.list_resources(&ResourceFilter::all())?;
        let resources = listing.resources.iter().map(|stored| &stored.resource);
        Ok(desired_from(resources, &listing.unreadable, &[], node).desired)
    }

    fn desired_peers(store: &dyn PeerStore, node: &str) -> anyhow::Result<Vec<DesiredPeer>> {
        desired(store, node).map(|desired| desired.peers)
    }

    fn store_with(yaml: &str) -> (FileStore, std::path::PathBuf) {
        let directory = std::env::temp_dir().join(format!(
            "nodebgp-sources-{}-{}",
            std::process::id(),
            yaml.len()
        ));
        let _ = std::fs::remove_dir_all(&directory);
        let store = FileStore::open(&directory).unwrap();
        peer_store::apply_documents(&store, yaml).unwrap();
        (store, directory)
    }

    #[test]
    fn global_and_own_node_peers_are_desired_and_the_node_peer_wins() {
        let (store, directory) = store_with(
            "apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIP: 10.0.0.1}\nspec: {asNumber: 65001}\n---\n\
             apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: node, node: n1, peerIP: 10.0.0.1}\nspec: {asNumber: 65009}\n---\n\
             apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: node, node: n2, peerIP: 10.0.0.2}\nspec: {asNumber: 65002}\n---\n\
             apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIP: \"10.0.0.3:1790\"}\nspec: {asNumber: \"1.10\"}\n",
        );
        let peers = desired_peers(&store, "n1").unwrap();
        let summary: Vec<(String, u32)> = peers
            .iter()
            .map(|peer| (peer.address.to_string(), peer.asn.0))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("10.0.0.1:179".to_owned(), 65009),
                ("10.0.0.3:1790".to_owned(), 65546)
            ]
        );
        let other = desired_peers(&store, "n2").unwrap();
        assert_eq!(other.len(), 3);
        assert_eq!(
            other
                .iter()
                .find(|peer| peer.address.port() == 179 && peer.asn.0 == 65001)
                .map(|peer| peer.address.ip().to_string()),
            Some("10.0.0.1".to_owned())
        );
        std::fs::remove_dir_all(directory).unwrap();
    }

    #[test]
    fn nodes_configuration_and_v3_peers_give_the_mesh_and_selector_peers() {
        let (store, directory) = store_with(
            "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: 64600}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1, labels: {rack: a}}\nspec: {bgp: {ipv4Address: 10.1.0.1/24}}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n2, labels: {rack: b}}\nspec: {bgp: {ipv4Address: 10.1.0.2/24, asNumber: 64602}}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: rack-a}\nspec: {nodeSelector: \"rack == 'a'\", peerIP: 192.0.2.1, asNumber: 65001}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: locked}\nspec: {peerIP: 192.0.2.9, asNumber: 65009, password: {file: /nonexistent/nodebgp-test}}\n",
        );
        let summary = |node: &str| -> Vec<(String, u32, Option<u32>)> {
            desired_peers(&store, node)
                .unwrap()
                .iter()
                .map(|peer| {
                    (
                        peer.address.to_string(),
                        peer.asn.0,
                        peer.local_as.map(|asn| asn.0),
                    )
                })
                .collect()
        };
        // The peer whose password file is missing is left out, not run without it.
        assert_eq!(
            summary("n1"),
            [
                ("10.1.0.2:179".to_owned(), 64602, Some(64600)),
                ("192.0.2.1:179".to_owned(), 65001, Some(64600)),
            ]
        );
        assert_eq!(
            summary("n2"),
            [("10.1.0.1:179".to_owned(), 64600, Some(64602))]
        );
        std::fs::remove_dir_all(directory).unwrap();
    }

    #[test]
    fn peers_nodebgp_cannot_run_are_left_out_and_reported_with_the_reason() {
        let (store, directory) = store_with(
            "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: plain}\nspec: {peerIP: 192.0.2.1, asNumber: 65001, nextHopMode: Auto}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: filtered}\nspec: {node: n1, peerIP: 192.0.2.2, asNumber: 65002, filters: [only-pods]}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: on-interface}\nspec: {node: n1, peerIP: 192.0.2.5, asNumber: 65005, filters: [pods]}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: pods}\nspec: {exportV4: [{action: Reject, peerType: eBGP}]}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: own-as}\nspec: {peerIP: 192.0.2.3, asNumber: 65003, localASNumber: 64999, nextHopMode: Self, reachableBy: 192.0.2.254}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: locked}\nspec: {node: n1, peerIP: 192.0.2.4, asNumber: 65004, password: {file: /nonexistent/nodebgp-test-key}}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: secret}\nspec: {peerIP: 192.0.2.6, asNumber: 65006, password: {secretKeyRef: {name: bgp, key: edge}}}\n",
        );
        let desired = desired(&store, "n1").unwrap();
        let addresses: Vec<String> = desired
            .peers
            .iter()
            .map(|peer| peer.address.to_string())
            .collect();
        // A missing filter is skipped, as calico-node does; a filter nodebgp
        // cannot evaluate keeps its peer from running.
        assert_eq!(
            addresses,
            ["192.0.2.1:179", "192.0.2.2:179", "192.0.2.3:179"]
        );
        // reachableBy is run: the gateway goes with the peer to the FIB.
        let gateways: Vec<Option<std::net::IpAddr>> =
            desired.peers.iter().map(|peer| peer.reachable_by).collect();
        assert_eq!(gateways, [None, None, Some("192.0.2.254".parse().unwrap())]);
        let ignored: Vec<(&str, &str, &str)> = desired
            .ignored
            .iter()
            .map(|entry| {
                (
                    entry.kind.as_str(),
                    entry.name.as_str(),
                    entry.reason.as_str(),
                )
            })
            .collect();
        assert_eq!(
            ignored,
            [
                ("BGPFilter", "only-pods", "named by the peer 192.0.2.2 but not in the datastore: skipped, as calico-node does"),
                ("BGPPeer", "192.0.2.5", "not run: BGPFilter(pods): exportV4[0].peerType: not evaluated by nodebgp"),
                ("BGPPeer", "locked", "its password cannot be read: cannot read password file /nonexistent/nodebgp-test-key: No such file or directory (os error 2)"),
                ("BGPPeer", "secret", "spec.password.secretKeyRef: Kubernetes Secrets are not supported (use password: {file: PATH} or {env: NAME})"),
            ]
        );
        // Another node's peers are not this node's concern.
        let other = desired_for(&store, "n2");
        assert_eq!(other.len(), 1, "{other:?}");
        assert_eq!(other[0].name, "secret");
        std::fs::remove_dir_all(directory).unwrap();
    }

    #[test]
    fn next_hop_modes_become_the_sessions_next_hop_settings() {
        let (store, directory) = store_with(
            "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: self}\nspec: {peerIP: 192.0.2.1, asNumber: 65001, nextHopMode: Self}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: keep}\nspec: {peerIP: 192.0.2.2, asNumber: 65002, nextHopMode: Keep}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: auto}\nspec: {peerIP: 192.0.2.3, asNumber: 65003, nextHopMode: Auto}\n",
        );
        let settings: Vec<(bool, bool)> = desired_peers(&store, "n1")
            .unwrap()
            .iter()
            .map(|peer| {
                (
                    peer.settings.next_hop_self,
                    peer.settings.keep_original_next_hop,
                )
            })
            .collect();
        assert_eq!(settings, [(true, false), (false, true), (false, false)]);
        std::fs::remove_dir_all(directory).unwrap();
    }

    #[test]
    fn the_mesh_runs_signed_with_the_mesh_password_or_not_at_all() {
        let key = std::env::temp_dir().join(format!("nodebgp-mesh-key-{}", std::process::id()));
        std::fs::write(&key, "mesh-key\n").unwrap();
        let nodes = "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1}\nspec: {bgp: {ipv4Address: 10.0.0.1/32}}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n2}\nspec: {bgp: {ipv4Address: 10.0.0.2/32}}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: tor}\nspec: {peerIP: 192.0.2.1, asNumber: 65001}\n---\n";
        let (store, directory) = store_with(&format!(
            "{nodes}apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {{name: default}}\nspec: {{nodeMeshPassword: {{file: {}}}}}\n",
            key.display()
        ));
        let signed = desired(&store, "n1").unwrap();
        let passwords: Vec<(String, Option<String>)> = signed
            .peers
            .iter()
            .map(|peer| (peer.address.to_string(), peer.settings.password.clone()))
            .collect();
        assert_eq!(
            passwords,
            [
                ("10.0.0.2:179".to_owned(), Some("mesh-key".to_owned())),
                ("192.0.2.1:179".to_owned(), None),
            ]
        );
        std::fs::remove_dir_all(directory).unwrap();
        std::fs::remove_file(&key).unwrap();

        // Unreadable (a Kubernetes Secret): no mesh, said why; the rest runs.
        let (store, directory) = store_with(&format!(
            "{nodes}apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {{name: default}}\nspec: {{nodeMeshPassword: {{secretKeyRef: {{name: bgp, key: mesh}}}}}}\n"
        ));
        let unsigned = desired(&store, "n1").unwrap();
        let addresses: Vec<String> = unsigned
            .peers
            .iter()
            .map(|peer| peer.address.to_string())
            .collect();
        assert_eq!(addresses, ["192.0.2.1:179"]);
        assert!(
            unsigned
                .ignored
                .iter()
                .any(|entry| entry.kind == "BGPConfiguration"
                    && entry.reason.starts_with(
                        "spec.nodeMeshPassword: Kubernetes Secrets are not supported"
                    )),
            "{:?}",
            unsigned.ignored
        );
        std::fs::remove_dir_all(directory).unwrap();
    }

    fn desired_for(store: &FileStore, node: &str) -> Vec<IgnoredResource> {
        desired(store, node).unwrap().ignored
    }

    #[test]
    fn an_unreadable_record_is_reported_and_the_rest_applies() {
        let (store, directory) = store_with(
            "apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIP: 10.0.0.1}\nspec: {asNumber: 65001}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: broken}\nspec: {peerIP: 10.0.0.2, asNumber: 65002}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: 64600, nodeMeshPassword: {secretKeyRef: {name: s, key: k}}}\n",
        );
        // Broken by hand (or by another tool): an address that is none.
        let file = directory.join(peer_store::STORE_FILE_NAME);
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(
            &file,
            text.replace("peerIP: 10.0.0.2", "peerIP: 10.0.0.300"),
        )
        .unwrap();

        let desired = desired(&store, "n1").unwrap();
        let summary: Vec<(String, Option<u32>)> = desired
            .peers
            .iter()
            .map(|peer| (peer.address.to_string(), peer.local_as.map(|asn| asn.0)))
            .collect();
        assert_eq!(summary, [("10.0.0.1:179".to_owned(), Some(64600))]);
        assert_eq!(desired.ignored.len(), 2, "{:?}", desired.ignored);
        assert_eq!(
            desired.ignored[0],
            IgnoredResource {
                kind: "BGPConfiguration".to_owned(),
                name: "default".to_owned(),
                reason:
                    "spec.nodeMeshPassword: Kubernetes Secrets are not supported (use nodeMeshPassword: {file: PATH} or {env: NAME}); no mesh sessions run without it"
                        .to_owned(),
            }
        );
        let broken = &desired.ignored[1];
        assert_eq!(
            (broken.kind.as_str(), broken.name.as_str()),
            ("BGPPeer", "broken")
        );
        assert!(
            broken.reason.contains("store.yaml (resources entry 2)")
                && broken
                    .reason
                    .contains("error with field peerIP = '10.0.0.300'"),
            "{broken:?}"
        );
        std::fs::remove_dir_all(directory).unwrap();
    }

    #[test]
    fn the_default_bgp_configuration_gives_service_prefixes_and_named_communities() {
        let (store, directory) = store_with(
            "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec:\n  \
             communities:\n  - {name: rack, value: '65001:10'}\n  \
             prefixAdvertisements:\n  - cidr: 10.96.0.0/12\n    communities: [rack, '64512:1:2']\n  \
             serviceClusterIPs:\n  - cidr: 10.96.0.0/12\n  serviceLoadBalancerIPs:\n  - cidr: 192.0.2.128/25\n",
        );
        let desired = desired(&store, "n1").unwrap();
        assert_eq!(
            desired.advertisements.service_prefixes,
            vec![
                "10.96.0.0/12".parse::<ipnet::IpNet>().unwrap(),
                "192.0.2.128/25".parse().unwrap()
            ]
        );
        assert_eq!(
            desired.advertisements.communities,
            vec![(
                "10.96.0.0/12".parse().unwrap(),
                vec!["65001:10".to_owned(), "64512:1:2".to_owned()]
            )]
        );
        std::fs::remove_dir_all(directory).unwrap();
    }

    #[test]
    fn per_node_configurations_give_a_nodes_listen_port_and_its_own_prefix_advertisements() {
        let (store, directory) = store_with(
            "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec:\n  \
             prefixAdvertisements:\n  - cidr: 10.96.0.0/12\n    communities: ['65001:10']\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: node.n1}\nspec:\n  \
             communities:\n  - {name: rack, value: '65001:20'}\n  \
             prefixAdvertisements:\n  - cidr: 10.244.0.0/16\n    communities: [rack]\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: node.n2}\nspec: {listenPort: 1790}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n2}\nspec: {bgp: {ipv4Address: 10.0.0.2/24}}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n3}\nspec: {bgp: {ipv4Address: 10.0.0.3/24}}\n",
        );
        let mine = desired(&store, "n1").unwrap();
        // n2 listens on its own port: the mesh dials it there; n3 on the
        // cluster's.
        let addresses: Vec<String> = mine
            .peers
            .iter()
            .map(|peer| peer.address.to_string())
            .collect();
        assert_eq!(addresses, ["10.0.0.2:1790", "10.0.0.3:179"]);
        // n1's own advertisements replace the cluster's, with its own names.
        assert_eq!(
            mine.advertisements.communities,
            vec![(
                "10.244.0.0/16".parse().unwrap(),
                vec!["65001:20".to_owned()]
            )]
        );
        // Another node keeps the cluster's.
        assert_eq!(
            desired(&store, "n3").unwrap().advertisements.communities,
            vec![("10.96.0.0/12".parse().unwrap(), vec!["65001:10".to_owned()])]
        );
        std::fs::remove_dir_all(directory).unwrap();
    }

    #[test]
    fn a_route_reflector_passes_on_learned_routes_within_service_lb_and_external_ranges() {
        let (store, directory) = store_with(
            "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec:\n  \
             serviceLoadBalancerIPs:\n  - cidr: 192.0.2.128/25\n  serviceExternalIPs:\n  - cidr: 198.51.100.0/24\n---\n\
             apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pods}\nspec: {cidr: 10.244.0.0/16}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: rr}\nspec: {bgp: {ipv4Address: 10.0.0.9/24, routeReflectorClusterID: 224.0.0.1}}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n",
        );
        let learned = |node: &str, prefix: &str| {
            desired(&store, node)
                .unwrap()
                .advertisements
                .pod_networks
                .export_policy
                .allows(prefix.parse().unwrap(), false)
        };
        // A Service's /32 another node announced: the reflector passes it on.
        assert!(learned("rr", "192.0.2.130/32"));
        assert!(learned("rr", "198.51.100.7/32"));
        assert!(!learned("rr", "203.0.113.0/24"), "outside every range");
        // Any other node keeps to calico-node's filter: pools only.
        assert!(!learned("n1", "192.0.2.130/32"));
        assert!(learned("n1", "10.244.3.0/26"));
        std::fs::remove_dir_all(directory).unwrap();
    }
}
