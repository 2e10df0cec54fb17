//! Behaviour every `PeerStore` must share, run against each store by its
//! own test file.

use peer_store::{
    apply_documents, create_documents, delete_documents, parse_resources, BatchOptions, ListFilter,
    PeerStore, Resource, ResourceChange, ResourceFilter, ResourceKind, StoreError, StoredPeer,
};

use super::peer;

/// A second create of the same peer is refused with Calico's message and
/// changes nothing; returns what the first create stored.
pub(crate) fn create_twice_is_already_exists(store: &dyn PeerStore) -> StoredPeer {
    let first = store
        .create(peer("global", None, "10.0.0.1", "64512"))
        .unwrap();
    let error = store
        .create(peer("global", None, "10.0.0.1", "65000"))
        .unwrap_err();
    assert!(matches!(error, StoreError::AlreadyExists(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "resource already exists: BGPPeer(global, ip=10.0.0.1)"
    );
    assert_eq!(store.get(&first.peer.key()).unwrap(), Some(first.clone()));
    first
}

/// A replace or a delete naming a revision that is no longer current is a
/// conflict that reports both revisions and changes nothing; returns the
/// first and the current version of the peer.
pub(crate) fn stale_revisions_are_conflicts(store: &dyn PeerStore) -> (StoredPeer, StoredPeer) {
    let first = store
        .create(peer("node", Some("host1"), "10.0.0.2", "64512"))
        .unwrap();
    let second = store
        .replace(
            peer("node", Some("host1"), "10.0.0.2", "64513"),
            Some(first.revision),
        )
        .unwrap();
    assert!(second.revision > first.revision);
    let error = store
        .replace(
            peer("node", Some("host1"), "10.0.0.2", "64514"),
            Some(first.revision),
        )
        .unwrap_err();
    match error {
        StoreError::Conflict {
            expected, actual, ..
        } => {
            assert_eq!(expected, first.revision);
            assert_eq!(actual, second.revision);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let error = store
        .delete(&first.peer.key(), Some(first.revision))
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict { .. }), "{error:?}");
    assert_eq!(store.get(&first.peer.key()).unwrap(), Some(second.clone()));
    (first, second)
}

/// One resource of a v3 kind, parsed from its document.
pub(crate) fn v3(text: &str) -> Resource {
    let mut resources = parse_resources(text).unwrap();
    assert_eq!(resources.len(), 1, "{text}");
    resources.remove(0)
}

/// A v3 BGPPeer, a Node and the default BGPConfiguration.
pub(crate) fn v3_resources() -> Vec<Resource> {
    vec![
        v3("apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: rack-a-tor}\nspec: {nodeSelector: \"rack == 'a'\", peerIP: '192.0.2.1:1790', asNumber: 65001, keepaliveTime: 20s, password: {env: TOR_PASSWORD}}\n"),
        v3("apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: host-a, labels: {rack: a}}\nspec: {bgp: {ipv4Address: 10.0.0.1/24, ipv6Address: 'fd00::1/64', asNumber: 64513}}\n"),
        v3("apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {nodeToNodeMeshEnabled: true, asNumber: 64512, listenPort: 1179, serviceClusterIPs: [{cidr: 10.96.0.0/12}]}\n"),
    ]
}

/// Every v3 kind goes through the same contract as v1 peers: create (and a
/// second create refused), get, list by kind and name, replace with a revision
/// check, apply, delete, and the changes in between.
pub(crate) fn v3_kinds_round_trip(store: &dyn PeerStore) {
    let start = store
        .list_resources(&ResourceFilter::all())
        .unwrap()
        .revision;
    let resources = v3_resources();
    let mut stored = Vec::new();
    for resource in &resources {
        let created = store.create_resource(resource.clone()).unwrap();
        // As written, plus the identity the store gives it.
        assert_eq!(created.resource.key(), resource.key());
        assert_eq!(created.resource.uid().map(str::len), Some(36));
        assert!(created.resource.creation_timestamp().is_some());
        let error = store.create_resource(resource.clone()).unwrap_err();
        assert!(matches!(error, StoreError::AlreadyExists(_)), "{error:?}");
        assert_eq!(
            error.to_string(),
            format!("resource already exists: {}", resource.key())
        );
        // Read back exactly as written.
        assert_eq!(
            store.get_resource(&resource.key()).unwrap(),
            Some(created.clone())
        );
        stored.push(created);
    }
    assert_eq!(
        stored[1].resource.key().to_string(),
        "Node(host-a)",
        "v3 keys name the kind and the name"
    );
    // Listing by kind, and by name.
    for (resource, kind) in resources.iter().zip([
        ResourceKind::BgpPeer,
        ResourceKind::Node,
        ResourceKind::BgpConfiguration,
    ]) {
        let listing = store
            .list_resources(&ResourceFilter::of_kind(kind))
            .unwrap();
        let found: Vec<&Resource> = listing.resources.iter().map(|s| &s.resource).collect();
        assert!(
            found.iter().any(|found| found.key() == resource.key()),
            "{kind:?}: {found:?}"
        );
        assert!(found.iter().all(|found| found.kind() == kind), "{found:?}");
    }
    let by_name = store
        .list_resources(&ResourceFilter {
            name: Some("host-a".to_owned()),
            ..ResourceFilter::all()
        })
        .unwrap();
    assert_eq!(by_name.resources, [stored[1].clone()]);
    // The v1 view does not see v3 resources.
    assert!(store
        .list(&ListFilter::all())
        .unwrap()
        .peers
        .iter()
        .all(|peer| peer.peer.peer_address.to_string() != "192.0.2.1"));

    // Replace with a revision check: the current revision wins, a stale one is a conflict.
    let Resource::Node(mut node) = resources[1].clone() else {
        unreachable!("the second resource is a node")
    };
    node.labels.insert("rack".to_owned(), "b".to_owned());
    let replaced = store
        .replace_resource(Resource::Node(node.clone()), Some(stored[1].revision))
        .unwrap();
    assert!(replaced.revision > stored[1].revision);
    // An update keeps the identity the create gave.
    assert_eq!(replaced.resource.uid(), stored[1].resource.uid());
    assert_eq!(
        replaced.resource.creation_timestamp(),
        stored[1].resource.creation_timestamp()
    );
    node.labels.insert("rack".to_owned(), "c".to_owned());
    let error = store
        .replace_resource(Resource::Node(node.clone()), Some(stored[1].revision))
        .unwrap_err();
    match error {
        StoreError::Conflict {
            expected, actual, ..
        } => assert_eq!((expected, actual), (stored[1].revision, replaced.revision)),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Apply upserts; delete removes; a second delete finds nothing.
    let applied = store.apply_resource(Resource::Node(node.clone())).unwrap();
    assert_eq!(
        store.get_resource(&applied.resource.key()).unwrap(),
        Some(applied.clone())
    );
    let deleted_at = store.delete_resource(&resources[0].key(), None).unwrap();
    assert_eq!(store.get_resource(&resources[0].key()).unwrap(), None);
    let error = store
        .delete_resource(&resources[0].key(), None)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "resource does not exist: BGPPeer(rack-a-tor)"
    );

    // The history names every write, in order.
    let changes = store.resource_changes_since(start).unwrap();
    let summary: Vec<(bool, String)> = changes
        .changes
        .iter()
        .map(|change| {
            (
                matches!(change, ResourceChange::Put { .. }),
                change.resource().key().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (true, "BGPPeer(rack-a-tor)".to_owned()),
            (true, "Node(host-a)".to_owned()),
            (true, "BGPConfiguration(default)".to_owned()),
            (true, "Node(host-a)".to_owned()),
            (true, "Node(host-a)".to_owned()),
            (false, "BGPPeer(rack-a-tor)".to_owned()),
        ]
    );
    assert_eq!(changes.revision, deleted_at);
}

/// A file mixing v1 and v3 kinds is applied as one batch, and an invalid or
/// conflicting resource anywhere in it leaves the store as it was.
pub(crate) fn mixed_batches_are_all_or_nothing(store: &dyn PeerStore) {
    let mixed = format!(
        "{}---\n{}",
        "apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIP: 198.51.100.1}\nspec: {asNumber: 65100}\n",
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: mixed-node}\nspec: {bgp: {ipv4Address: 10.9.0.1/24}}\n",
    );
    let report = apply_documents(store, &mixed).unwrap();
    assert_eq!(report.to_string(), "Successfully applied 2 resource(s)");
    let before = store.list_resources(&ResourceFilter::all()).unwrap();
    // The second document conflicts (create of an existing node): nothing is written.
    let conflicting = format!(
        "{}---\n{}",
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: another-node}\n",
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: mixed-node}\n",
    );
    let error = create_documents(store, &conflicting, BatchOptions::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Failed to create any 'Node' resources: resource already exists: Node(mixed-node)"
    );
    // An invalid document: nothing is written either.
    let invalid = format!(
        "{}---\n{}",
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: third-node}\n",
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: broken}\nspec: {peerIP: 10.0.0.1}\n",
    );
    let error = apply_documents(store, &invalid).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Error processing input file: BGPPeer(broken): error with field asNumber (required when peerIP is specified)"
    );
    assert_eq!(
        store.list_resources(&ResourceFilter::all()).unwrap(),
        before
    );
    let report = delete_documents(store, &mixed, BatchOptions::default()).unwrap();
    assert_eq!(report.to_string(), "Successfully deleted 2 resource(s)");
}
