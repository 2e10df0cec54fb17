//! This node's desired peers, from the resources in the datastore, computed by
//! the peer manager: v1 bgpPeers and v3 BGPPeers (global, this node's, and those
//! whose `nodeSelector` matches its labels; `peerSelector` peers towards the
//! selected nodes), and the node-to-node mesh when this node has a Node resource
//! and the `default` BGPConfiguration does not turn it off. A node peer
//! overrides a global one at the same address.
//!
//! Passwords of v3 peers (`password: {file: …}` / `{env: …}`) are read here, on
//! every read of the store; a peer whose password cannot be read is left out
//! (and logged), so that it never runs without its key.

use anyhow::{Context as _, Result};
use peer_manager::{BgpConfiguration, Node, PeerV3, DEFAULT_AS_NUMBER};
use peer_store::{PeerStore, Resource, ResourceFilter};
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
}

/// Everything the store says this node should do.
#[derive(Debug, Clone, Default)]
pub(crate) struct Desired {
    pub(crate) peers: Vec<DesiredPeer>,
    pub(crate) advertisements: Advertisements,
}

/// The node's peers and advertisements.
pub(crate) fn desired(store: &dyn PeerStore, node: &str) -> Result<Desired> {
    let (peers, configuration) = read(store, node)?;
    let advertisements = configuration
        .as_ref()
        .map(advertisements)
        .unwrap_or_default();
    Ok(Desired {
        peers,
        advertisements,
    })
}

fn advertisements(configuration: &peer_store::BgpConfigurationResource) -> Advertisements {
    let service_prefixes = configuration
        .service_cluster_ips
        .iter()
        .chain(&configuration.service_external_ips)
        .chain(&configuration.service_load_balancer_ips)
        .map(ipnet::IpNet::trunc)
        .collect();
    // A community in a prefix advertisement is a name from `communities`
    // or a value written out (Calico's rule).
    let resolve = |word: &String| {
        configuration
            .communities
            .iter()
            .find(|community| &community.name == word)
            .map_or_else(|| word.clone(), |community| community.value.clone())
    };
    let communities = configuration
        .prefix_advertisements
        .iter()
        .map(|advertisement| {
            (
                advertisement.cidr.trunc(),
                advertisement.communities.iter().map(resolve).collect(),
            )
        })
        .collect();
    Advertisements {
        service_prefixes,
        communities,
    }
}

/// The peers this node should have, in the order of their addresses. Without
/// Node resources there is no mesh (this node's addresses are unknown); without
/// a `default` BGPConfiguration, Calico's defaults apply and the local AS is the
/// daemon's own (`--as`).
#[cfg(test)]
fn desired_peers(store: &dyn PeerStore, node: &str) -> Result<Vec<DesiredPeer>> {
    read(store, node).map(|(peers, _)| peers)
}

fn read(
    store: &dyn PeerStore,
    node: &str,
) -> Result<(
    Vec<DesiredPeer>,
    Option<peer_store::BgpConfigurationResource>,
)> {
    let listing = store
        .list_resources(&ResourceFilter::all())
        .context("cannot list resources")?;
    let mut peers = Vec::new();
    let mut v3_peers = Vec::new();
    let mut nodes = Vec::new();
    let mut configuration = None;
    for stored in listing.resources {
        match stored.resource {
            Resource::BgpPeer(peer) => peers.push(peer),
            Resource::BgpPeerV3(peer) => {
                let password = match &peer.password {
                    None => None,
                    Some(source) => match source.read() {
                        Ok(password) => Some(password),
                        Err(error) => {
                            warn!(peer = %peer.name, %error, "BGPPeer left out: its password cannot be read");
                            continue;
                        }
                    },
                };
                v3_peers.push(PeerV3 {
                    resource: peer,
                    password,
                });
            }
            Resource::Node(resource) => nodes.push(Node::from(&resource)),
            Resource::BgpConfiguration(resource) if resource.is_default() => {
                configuration = Some(resource)
            }
            // Per-node `node.<name>` configurations carry only listenPort, log
            // severity and prefix advertisements, which nodebgp does not take
            // from them.
            Resource::BgpConfiguration(_) => {}
        }
    }
    // Remote nodes without an AS of their own are in the cluster's AS: the
    // configured one, else Calico's default.
    let config = BgpConfiguration::from_resource(configuration.as_ref(), DEFAULT_AS_NUMBER);
    let desired = peer_manager::desired_peer_set(node, &nodes, &config, &peers, &v3_peers);
    Ok((desired, configuration))
}

#[cfg(test)]
mod tests {
    use super::*;

    use peer_store::FileStore;

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
}
