//! EtcdV2Store against a real etcd server (Debian's `etcd-server`, /usr/bin/etcd)
//! started per test with the v2 API enabled, on free 127.0.0.1 ports.

mod common;

use common::peer;
use peer_store::{
    Action, EtcdV2Store, ListFilter, NodeName, Operation, PeerStore, Revision, ScopeKind,
    StoreError,
};

/// A running etcd serving v2; killed (and its data removed) on drop.
struct EtcdServer {
    etcd: lab::Etcd,
}

impl EtcdServer {
    /// A missing `etcd-server` package fails the test with the package's name.
    fn start(test: &str) -> EtcdServer {
        EtcdServer {
            etcd: lab::Etcd::start_with_v2(test).unwrap_or_else(|error| panic!("{error}")),
        }
    }

    fn store(&self, prefix: &str) -> EtcdV2Store {
        EtcdV2Store::connect(&[self.etcd.endpoint().to_owned()], Some(prefix)).unwrap()
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into()
    }

    /// The raw v2 JSON for `key` (recursive), as any Calico v1 reader would get it.
    fn raw_get(&self, key: &str) -> serde_json::Value {
        let url = format!("{}/v2/keys{key}?recursive=true", self.etcd.endpoint());
        let text = Self::agent()
            .get(&url)
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Writes a key directly, as Calico v1 (libcalico) did.
    fn raw_put(&self, key: &str, value: &str) {
        let url = format!("{}/v2/keys{key}", self.etcd.endpoint());
        let response = Self::agent()
            .put(&url)
            .send_form([("value", value)])
            .unwrap();
        assert!(response.status().is_success(), "{response:?}");
    }
}

fn node(name: &str) -> NodeName {
    NodeName::new(name).unwrap()
}

#[test]
fn writes_calico_v1_layout() {
    let server = EtcdServer::start("v2-layout");
    let store = server.store("/test-layout/calico/bgp/v1");
    let global = store
        .create(peer("global", None, "10.0.0.1", "64512"))
        .unwrap();
    store
        .create(peer("node", Some("rack1-host1"), "fd00::1", "4200000000"))
        .unwrap();

    let raw = server.raw_get("/test-layout/calico/bgp/v1/global/peer_v4/10.0.0.1");
    assert_eq!(
        raw["node"]["value"],
        r#"{"ip":"10.0.0.1","as_num":"64512"}"#
    );
    assert_eq!(
        raw["node"]["modifiedIndex"].as_u64(),
        Some(global.revision.0)
    );
    let raw = server.raw_get("/test-layout/calico/bgp/v1/host/rack1-host1/peer_v6/fd00::1");
    assert_eq!(
        raw["node"]["value"],
        r#"{"ip":"fd00::1","as_num":"4200000000"}"#
    );
    // Nothing else was written under the prefix.
    let tree = server.raw_get("/test-layout");
    let mut leaves = Vec::new();
    let mut pending = vec![&tree["node"]];
    while let Some(node) = pending.pop() {
        match node["nodes"].as_array() {
            Some(children) => pending.extend(children),
            None if node["dir"] != true => leaves.push(node["key"].as_str().unwrap().to_owned()),
            None => {}
        }
    }
    leaves.sort();
    assert_eq!(
        leaves,
        [
            "/test-layout/calico/bgp/v1/global/peer_v4/10.0.0.1",
            "/test-layout/calico/bgp/v1/host/rack1-host1/peer_v6/fd00::1",
        ]
    );
}

#[test]
fn reads_peers_written_by_calico_v1() {
    let server = EtcdServer::start("v2-raw");
    let prefix = "/test-raw/calico/bgp/v1";
    server.raw_put(
        &format!("{prefix}/host/node-1/peer_v4/10.0.0.9"),
        r#"{"ip":"10.0.0.9","as_num":"65009"}"#,
    );
    // Calico's other v1 keys are not peers and are ignored.
    server.raw_put(&format!("{prefix}/global/as_num"), "64512");
    server.raw_put(&format!("{prefix}/host/node-1/ip_addr_v4"), "192.0.2.1");

    let store = server.store(prefix);
    let listing = store.list(&ListFilter::all()).unwrap();
    assert_eq!(listing.peers.len(), 1, "{listing:?}");
    let stored = &listing.peers[0];
    assert_eq!(
        stored.peer,
        peer("node", Some("node-1"), "10.0.0.9", "65009")
    );
    assert!(stored.revision > Revision(0));
    assert!(listing.revision >= stored.revision);
    assert_eq!(
        store.get(&stored.peer.key()).unwrap().as_ref(),
        Some(stored)
    );

    // And it can be replaced with the revision read.
    let replaced = store
        .replace(
            peer("node", Some("node-1"), "10.0.0.9", "65010"),
            Some(stored.revision),
        )
        .unwrap();
    assert!(replaced.revision > stored.revision);
    let raw = server.raw_get(&format!("{prefix}/host/node-1/peer_v4/10.0.0.9"));
    assert_eq!(
        raw["node"]["value"],
        r#"{"ip":"10.0.0.9","as_num":"65010"}"#
    );
}

#[test]
fn create_twice_is_already_exists() {
    let server = EtcdServer::start("v2-create");
    let store = server.store("/test-create");
    common::contract::create_twice_is_already_exists(&store);
}

#[test]
fn stale_revision_is_conflict_and_delete_works() {
    let server = EtcdServer::start("v2-conflict");
    let store = server.store("/test-conflict");
    let (first, second) = common::contract::stale_revisions_are_conflicts(&store);
    let deleted_at = store
        .delete(&first.peer.key(), Some(second.revision))
        .unwrap();
    assert!(deleted_at > second.revision);
    assert_eq!(store.get(&first.peer.key()).unwrap(), None);
    assert_eq!(
        server.raw_get("/test-conflict/host/host1/peer_v4/10.0.0.2")["errorCode"],
        100
    );
    let error = store.delete(&first.peer.key(), None).unwrap_err();
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
    let error = store
        .replace(peer("node", Some("host1"), "10.0.0.2", "1"), None)
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
}

#[test]
fn list_filters() {
    let server = EtcdServer::start("v2-list");
    let store = server.store("/test-list");
    // An empty (never written) prefix lists as empty.
    assert!(store.list(&ListFilter::all()).unwrap().peers.is_empty());
    for (scope, node, address) in [
        ("global", None, "10.0.0.1"),
        ("global", None, "fd00::1"),
        ("node", Some("host1"), "10.0.0.1"),
        ("node", Some("host1"), "10.0.0.2"),
        ("node", Some("host2"), "10.0.0.1"),
    ] {
        store.create(peer(scope, node, address, "64512")).unwrap();
    }
    let addresses = |filter: ListFilter| -> Vec<String> {
        store
            .list(&filter)
            .unwrap()
            .peers
            .iter()
            .map(|stored| stored.peer.key().to_string())
            .collect()
    };
    assert_eq!(addresses(ListFilter::all()).len(), 5);
    assert_eq!(
        addresses(ListFilter {
            scope: Some(ScopeKind::Global),
            ..ListFilter::all()
        })
        .len(),
        2
    );
    assert_eq!(
        addresses(ListFilter {
            node: Some(node("host1")),
            ..ListFilter::all()
        })
        .len(),
        2
    );
    assert_eq!(
        addresses(ListFilter {
            scope: Some(ScopeKind::Node),
            peer_address: Some("10.0.0.1".parse().unwrap()),
            ..ListFilter::all()
        })
        .len(),
        2
    );
    assert!(addresses(ListFilter {
        node: Some(node("host9")),
        ..ListFilter::all()
    })
    .is_empty());
}

#[test]
fn batch_is_validated_before_anything_is_written() {
    let server = EtcdServer::start("v2-batch");
    let store = server.store("/test-batch");
    let existing = store
        .create(peer("global", None, "10.0.0.9", "64512"))
        .unwrap();
    let batch = |revision: Revision| {
        vec![
            Operation::Create {
                peer: peer("global", None, "10.0.0.1", "64512"),
                skip_if_exists: false,
            },
            Operation::Apply {
                peer: peer("node", Some("host1"), "10.0.0.2", "64512"),
            },
            Operation::Replace {
                peer: peer("global", None, "10.0.0.9", "65000"),
                expected_revision: Some(revision),
            },
            Operation::Delete {
                key: peer("global", None, "10.0.0.7", "1").key(),
                expected_revision: None,
                skip_if_missing: true,
            },
        ]
    };
    let error = store
        .write_batch(&batch(Revision(existing.revision.0 + 100)))
        .unwrap_err();
    assert_eq!(error.index, Some(2));
    assert_eq!(error.committed, 0);
    assert!(matches!(error.error, StoreError::Conflict { .. }));
    assert_eq!(
        store.list(&ListFilter::all()).unwrap().peers,
        vec![existing.clone()]
    );

    let outcomes = store.write_batch(&batch(existing.revision)).unwrap();
    let actions: Vec<Action> = outcomes.iter().map(|outcome| outcome.action).collect();
    assert_eq!(
        actions,
        [
            Action::Created,
            Action::Created,
            Action::Replaced,
            Action::SkippedMissing
        ]
    );
    let listing = store.list(&ListFilter::all()).unwrap();
    assert_eq!(listing.peers.len(), 3);
    for outcome in &outcomes[..3] {
        let stored = store.get(outcome.key.peer_key().unwrap()).unwrap().unwrap();
        assert_eq!(stored.revision, outcome.revision);
    }
}

#[test]
fn changes_since_asks_to_list_again() {
    let server = EtcdServer::start("v2-changes");
    let store = server.store("/test-changes");
    let listing = store.list(&ListFilter::all()).unwrap();
    let quiet = store.changes_since(listing.revision).unwrap();
    assert_eq!(quiet.revision, listing.revision);
    assert!(quiet.changes.is_empty());

    store
        .create(peer("global", None, "10.0.0.1", "64512"))
        .unwrap();
    let error = store.changes_since(listing.revision).unwrap_err();
    assert!(matches!(error, StoreError::Compacted { .. }), "{error:?}");
    let error = store
        .changes_since(Revision(listing.revision.0 + 1000))
        .unwrap_err();
    assert!(
        matches!(error, StoreError::FutureRevision { .. }),
        "{error:?}"
    );
    let relisted = store.list(&ListFilter::all()).unwrap();
    assert_eq!(relisted.peers.len(), 1);
    assert!(store
        .changes_since(relisted.revision)
        .unwrap()
        .changes
        .is_empty());
}

#[test]
fn refuses_an_etcd_without_v2() {
    let etcd = lab::Etcd::start("v2-disabled").unwrap_or_else(|error| panic!("{error}"));
    let error = EtcdV2Store::connect(&[etcd.endpoint().to_owned()], None).unwrap_err();
    assert!(error.to_string().contains("--enable-v2"), "{error}");
}

#[test]
fn v3_kinds_are_refused_with_a_reason_and_nothing_is_written() {
    let server = EtcdServer::start("v2-v3-kinds");
    let store = server.store("/test-v3");
    let mixed = "apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIP: 10.0.0.1}\nspec: {asNumber: 65001}\n---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: host-a}\n";
    let error = peer_store::apply_documents(&store, mixed).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Failed to apply any resources: the etcd v2 store cannot store Node(host-a): the etcd v2 store holds Calico v1 bgpPeers only (the layout of Calico v1 clusters); keep BGPPeer, Node and BGPConfiguration resources in the etcdv3 or file store"
    );
    assert!(store.list(&ListFilter::all()).unwrap().peers.is_empty());
    // Listing every kind is the v1 peers; a v3 kind alone is nothing.
    let node_listing = store
        .list_resources(&peer_store::ResourceFilter::of_kind(
            peer_store::ResourceKind::Node,
        ))
        .unwrap();
    assert!(node_listing.resources.is_empty());
}
