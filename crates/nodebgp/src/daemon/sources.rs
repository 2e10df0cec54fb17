//! This node's desired peers, from the bgpPeer resources in the datastore,
//! computed by the peer manager: every global peer, and the node-scoped peers
//! naming this node; a node peer overrides a global one at the same address.

use anyhow::{Context as _, Result};
use peer_manager::BgpConfiguration;
use peer_store::{ListFilter, PeerStore};

pub(crate) use peer_manager::DesiredPeer;

/// The peers this node should have, in the order of their addresses. Node
/// and BGPConfiguration resources are not stored yet, so there is no
/// node-to-node mesh: the peer manager gets no nodes and the mesh off.
pub(crate) fn desired_peers(store: &dyn PeerStore, node: &str) -> Result<Vec<DesiredPeer>> {
    let listing = store
        .list(&ListFilter::all())
        .context("cannot list bgpPeer resources")?;
    let peers: Vec<_> = listing
        .peers
        .into_iter()
        .map(|stored| stored.peer)
        .collect();
    let config = BgpConfiguration {
        node_to_node_mesh: false,
        ..BgpConfiguration::default()
    };
    Ok(peer_manager::desired_peers(node, &[], &config, &peers))
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
