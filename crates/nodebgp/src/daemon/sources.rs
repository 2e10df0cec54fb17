//! This node's desired peers, from the bgpPeer resources in the datastore:
//! every global peer, and the node-scoped peers naming this node; a node peer
//! overrides a global one at the same address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use anyhow::{Context as _, Result};
use bgp_wire::Asn;
use peer_store::{ListFilter, PeerStore, Scope};

use super::settings::BGP_PORT;

/// A session this node should run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DesiredPeer {
    /// The peer's address and port.
    pub(crate) address: SocketAddr,
    /// The peer's AS.
    pub(crate) asn: Asn,
    /// TCP MD5 password (not in v1 bgpPeer resources).
    pub(crate) password: Option<String>,
    /// Wait for the peer to connect.
    pub(crate) passive: bool,
    /// GTSM (RFC 5082).
    pub(crate) ttl_security: bool,
}

/// The peers this node should have, in the order of their addresses.
pub(crate) fn desired_peers(store: &dyn PeerStore, node: &str) -> Result<Vec<DesiredPeer>> {
    let listing = store
        .list(&ListFilter::all())
        .context("cannot list bgpPeer resources")?;
    let mut chosen: HashMap<IpAddr, (bool, DesiredPeer)> = HashMap::new();
    for peer in listing.peers.into_iter().map(|stored| stored.peer) {
        let node_scoped = match &peer.scope {
            Scope::Global => false,
            Scope::Node(name) if name.as_str() == node => true,
            Scope::Node(_) => continue,
        };
        let desired = DesiredPeer {
            address: SocketAddr::new(peer.peer_address, peer.peer_port.unwrap_or(BGP_PORT)),
            asn: peer.as_number,
            password: None,
            passive: false,
            ttl_security: false,
        };
        // One session per peer address; the node's own resource wins.
        match chosen.get(&peer.peer_address) {
            Some((true, _)) if !node_scoped => {}
            _ => {
                chosen.insert(peer.peer_address, (node_scoped, desired));
            }
        }
    }
    let mut peers: Vec<DesiredPeer> = chosen.into_values().map(|(_, peer)| peer).collect();
    peers.sort_by_key(|peer| peer.address);
    Ok(peers)
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
}
