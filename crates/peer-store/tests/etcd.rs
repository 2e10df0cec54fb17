//! EtcdStore against a real etcd server (Debian's `etcd-server`, /usr/bin/etcd),
//! started per test on free 127.0.0.1 ports and killed when the test ends.

mod common;

use common::etcd::EtcdServer;
use common::peer;
use std::collections::BTreeMap;

use peer_store::{
    Action, BgpPeer, Change, EtcdStore, ListFilter, ListingChange, NodeName, Operation, PeerStore,
    Resource, ResourceChange, ResourceFilter, ResourceKey, Revision, ScopeKind, StoreError,
    UnreadableResource,
};

fn node(name: &str) -> NodeName {
    NodeName::new(name).unwrap()
}

#[test]
fn create_twice_is_already_exists() {
    let server = EtcdServer::start("create-twice");
    let store = server.store("/test-create/calico/bgp/v1");
    let first = common::contract::create_twice_is_already_exists(&store);
    assert!(first.revision > Revision(0));
}

#[test]
fn stale_revision_is_conflict() {
    let server = EtcdServer::start("conflict");
    let store = server.store("/test-conflict");
    let (first, second) = common::contract::stale_revisions_are_conflicts(&store);
    store
        .delete(&first.peer.key(), Some(second.revision))
        .unwrap();
    assert_eq!(store.get(&first.peer.key()).unwrap(), None);
}

#[test]
fn failing_batch_writes_nothing() {
    let server = EtcdServer::start("batch");
    let store = server.store("/test-batch");
    let existing = store
        .create(peer("global", None, "10.0.0.9", "64512"))
        .unwrap();
    let before = store.list(&ListFilter::all()).unwrap();

    let error = store
        .write_batch(&[
            Operation::Create {
                peer: peer("global", None, "10.0.0.1", "64512"),
                skip_if_exists: false,
            },
            Operation::Apply {
                peer: peer("node", Some("host1"), "10.0.0.2", "64512"),
            },
            Operation::Replace {
                peer: peer("global", None, "10.0.0.9", "65000"),
                expected_revision: Some(Revision(existing.revision.0 + 100)),
            },
        ])
        .unwrap_err();
    assert_eq!(error.index, Some(2));
    assert_eq!(error.committed, 0);
    assert!(matches!(error.error, StoreError::Conflict { .. }));
    let after = store.list(&ListFilter::all()).unwrap();
    assert_eq!(after.peers, before.peers);
    assert_eq!(server.raw("/test-batch/").len(), 1);

    // The same batch with a good revision commits at one etcd revision.
    let outcomes = store
        .write_batch(&[
            Operation::Create {
                peer: peer("global", None, "10.0.0.1", "64512"),
                skip_if_exists: false,
            },
            Operation::Apply {
                peer: peer("node", Some("host1"), "10.0.0.2", "64512"),
            },
            Operation::Replace {
                peer: peer("global", None, "10.0.0.9", "64512"),
                expected_revision: Some(existing.revision),
            },
        ])
        .unwrap();
    let actions: Vec<Action> = outcomes.iter().map(|outcome| outcome.action).collect();
    assert_eq!(
        actions,
        [Action::Created, Action::Created, Action::Unchanged]
    );
    assert_eq!(outcomes[0].revision, outcomes[1].revision);
    assert_eq!(outcomes[2].revision, existing.revision);
    assert_eq!(store.list(&ListFilter::all()).unwrap().peers.len(), 3);
}

#[test]
fn list_filters_by_scope_and_node() {
    let server = EtcdServer::start("list");
    let store = server.store("/test-list");
    for (scope, node, address) in [
        ("global", None, "10.0.0.1"),
        ("node", Some("host1"), "10.0.0.2"),
        ("node", Some("host1"), "2001:db8::2"),
        ("node", Some("host2"), "10.0.0.3"),
    ] {
        store.create(peer(scope, node, address, "64512")).unwrap();
    }
    // Calico v1 keeps other BGP settings beside the peers; they are not peers.
    server.put_raw("/test-list/global/as_num", "64512");
    server.put_raw("/test-list/host/host1/ip_addr_v4", "192.168.0.1");

    let addresses = |filter: ListFilter| -> Vec<String> {
        let listing = store.list(&filter).unwrap();
        listing
            .peers
            .iter()
            .map(|stored| stored.peer.key().to_string())
            .collect()
    };
    assert_eq!(
        addresses(ListFilter::all()),
        [
            "BGPPeer(global, ip=10.0.0.1)",
            "BGPPeer(node=host1, ip=10.0.0.2)",
            "BGPPeer(node=host1, ip=2001:db8::2)",
            "BGPPeer(node=host2, ip=10.0.0.3)",
        ]
    );
    let global = ListFilter {
        scope: Some(ScopeKind::Global),
        ..ListFilter::default()
    };
    assert_eq!(addresses(global), ["BGPPeer(global, ip=10.0.0.1)"]);
    let node_scoped = ListFilter {
        scope: Some(ScopeKind::Node),
        ..ListFilter::default()
    };
    assert_eq!(addresses(node_scoped).len(), 3);
    let host1 = ListFilter {
        node: Some(node("host1")),
        ..ListFilter::default()
    };
    assert_eq!(
        addresses(host1),
        [
            "BGPPeer(node=host1, ip=10.0.0.2)",
            "BGPPeer(node=host1, ip=2001:db8::2)",
        ]
    );
    let by_address = ListFilter {
        peer_address: Some("10.0.0.3".parse().unwrap()),
        ..ListFilter::default()
    };
    assert_eq!(addresses(by_address), ["BGPPeer(node=host2, ip=10.0.0.3)"]);
}

#[test]
fn v1_peers_are_stored_as_the_v3_bgppeers_calicos_upgrade_makes() {
    let server = EtcdServer::start("layout");
    // The default prefix, as Calico's components expect it.
    let store = EtcdStore::connect(&server.endpoints(), None).unwrap();
    assert_eq!(store.prefix(), "/calico/bgp/v1");
    let global = peer("global", None, "10.0.0.1", "64512");
    let v6 = peer("node", Some("Rack1_Host1"), "2001:db8::1", "1.10");
    let with_port = peer("node", Some("rack1-host1"), "10.0.0.5:1790", "4294967295");
    for created in [&global, &v6, &with_port] {
        store.create(created.clone()).unwrap();
    }

    // calico-node reads these keys; the values are what it decodes, and the
    // annotation is the only thing that is nodebgp's.
    let raw: BTreeMap<String, serde_json::Value> = server
        .raw("/calico/")
        .into_iter()
        .map(|(key, value)| (key, serde_json::from_str(&value).unwrap()))
        .collect();
    let bgppeers = "/calico/resources/v3/projectcalico.org/bgppeers";
    assert_eq!(
        raw,
        BTreeMap::from([
            (
                format!("{bgppeers}/10-0-0-1"),
                serde_json::json!({
                    "kind": "BGPPeer", "apiVersion": "projectcalico.org/v3",
                    "metadata": {"name": "10-0-0-1", "annotations": {"nodebgp.io/v1-bgppeer": "global"}},
                    "spec": {"peerIP": "10.0.0.1", "asNumber": 64512},
                })
            ),
            (
                format!("{bgppeers}/rack1-host1.10-0-0-5-port-1790"),
                serde_json::json!({
                    "kind": "BGPPeer", "apiVersion": "projectcalico.org/v3",
                    "metadata": {"name": "rack1-host1.10-0-0-5-port-1790",
                                 "annotations": {"nodebgp.io/v1-bgppeer": "node/rack1-host1"}},
                    "spec": {"node": "rack1-host1", "peerIP": "10.0.0.5:1790", "asNumber": 4294967295u32},
                })
            ),
            (
                format!("{bgppeers}/rack1-host1.2001-0db8-0000-0000-0000-0000-0000-0001"),
                serde_json::json!({
                    "kind": "BGPPeer", "apiVersion": "projectcalico.org/v3",
                    "metadata": {"name": "rack1-host1.2001-0db8-0000-0000-0000-0000-0000-0001",
                                 "annotations": {"nodebgp.io/v1-bgppeer": "node/Rack1_Host1"}},
                    "spec": {"node": "rack1-host1", "peerIP": "2001:db8::1", "asNumber": 65546},
                })
            ),
        ])
    );
    // As v1 peers they read back as they were written (the node name as
    // given), and they are not also v3 BGPPeers.
    let listing = store.list(&ListFilter::all()).unwrap();
    let mut peers: Vec<BgpPeer> = listing
        .peers
        .iter()
        .map(|stored| stored.peer.clone())
        .collect();
    peers.sort_by_key(BgpPeer::key);
    let mut expected = vec![global.clone(), v6.clone(), with_port.clone()];
    expected.sort_by_key(BgpPeer::key);
    assert_eq!(peers, expected);
    assert_eq!(store.get(&v6.key()).unwrap().unwrap().peer, v6);
    let named = |name: &str| ResourceKey::Named {
        kind: peer_store::NamedKind::BgpPeer,
        name: peer_store::ResourceName::new(name).unwrap(),
    };
    assert_eq!(store.get_resource(&named("10-0-0-1")).unwrap(), None);

    // A peer written by Calico v1 itself, in its v1 keys, reads back; an
    // update moves it to its v3 key.
    let legacy_key = "/calico/bgp/v1/host/node2/peer_v4/192.0.2.7";
    server.put_raw(legacy_key, r#"{"ip":"192.0.2.7","as_num":"63400"}"#);
    let legacy = peer("node", Some("node2"), "192.0.2.7", "63400");
    assert_eq!(store.get(&legacy.key()).unwrap().unwrap().peer, legacy);
    let updated = peer("node", Some("node2"), "192.0.2.7", "63401");
    store.apply(updated.clone()).unwrap();
    assert!(server.raw(legacy_key).is_empty());
    assert_eq!(
        server.raw(&format!("{bgppeers}/node2.192-0-2-7")).len(),
        1,
        "moved to its v3 key"
    );
    assert_eq!(store.get(&updated.key()).unwrap().unwrap().peer, updated);

    // Edited as a v3 BGPPeer (a field v1 has not): from then on a v3 peer,
    // and the v1 peer is gone, for listings and for the watch alike.
    let before_edit = store
        .list_resources(&ResourceFilter::all())
        .unwrap()
        .revision;
    let mut edited = raw[&format!("{bgppeers}/10-0-0-1")].clone();
    edited["spec"]["keepaliveTime"] = serde_json::json!("10s");
    server.put_raw(&format!("{bgppeers}/10-0-0-1"), &edited.to_string());
    assert_eq!(store.get(&global.key()).unwrap(), None);
    assert!(store.get_resource(&named("10-0-0-1")).unwrap().is_some());
    let changes = store.listing_changes_since(before_edit).unwrap();
    assert!(
        matches!(
            changes.changes.as_slice(),
            [
                ListingChange::Resource(ResourceChange::Deleted { resource: Resource::BgpPeer(gone), .. }),
                ListingChange::Resource(ResourceChange::Put { resource: Resource::BgpPeerV3(_), .. }),
            ] if *gone == global
        ),
        "{changes:?}"
    );

    // Now the v1 peer and the v3 BGPPeer would share a key: refused, not
    // overwritten, whichever is written.
    let error = store.create(global.clone()).unwrap_err();
    assert!(
        matches!(error, StoreError::Occupied { ref occupant, .. } if **occupant == named("10-0-0-1")),
        "{error}"
    );
    assert!(error.to_string().contains("bgppeers/10-0-0-1"), "{error}");
    let v3_over_v1 = peer_store::parse_resources(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: node2.192-0-2-7}\nspec: {peerIP: 192.0.2.9, asNumber: 65001}\n",
    )
    .unwrap()
    .remove(0);
    let error = store.create_resource(v3_over_v1).unwrap_err();
    assert!(
        matches!(error, StoreError::Occupied { ref occupant, .. } if **occupant == ResourceKey::BgpPeer(updated.key())),
        "{error}"
    );
    assert_eq!(store.get(&updated.key()).unwrap().unwrap().peer, updated);

    // Deleting the v1 peer deletes its document.
    store.delete(&updated.key(), None).unwrap();
    assert!(server.raw(&format!("{bgppeers}/node2.")).is_empty());
}

#[test]
fn changes_since_reports_puts_and_deletes() {
    let server = EtcdServer::start("changes");
    let store = server.store("/test-changes");
    let start = store.list(&ListFilter::all()).unwrap().revision;
    assert!(store.changes_since(start).unwrap().changes.is_empty());

    let first = peer("global", None, "10.0.0.1", "64512");
    let created = store.create(first.clone()).unwrap();
    // Writes outside the prefix move etcd's revision without being our changes.
    server.put_raw("/elsewhere/key", "value");
    let deleted_at = store.delete(&first.key(), None).unwrap();

    let changes = store.changes_since(start).unwrap();
    assert_eq!(
        changes.changes,
        [
            Change::Put {
                peer: first.clone(),
                revision: created.revision
            },
            Change::Deleted {
                peer: first.clone(),
                revision: deleted_at
            },
        ]
    );
    assert!(changes.revision >= deleted_at);

    // Only what came after the given revision, and nothing once caught up.
    let later = store.changes_since(created.revision).unwrap();
    assert_eq!(later.changes.len(), 1);
    // The last write is not ours: the replay still knows it has caught up.
    server.put_raw("/elsewhere/key", "again");
    let quiet = store.changes_since(created.revision).unwrap();
    assert_eq!(quiet.changes, later.changes);
    assert!(quiet.revision > later.revision);
    assert!(store
        .changes_since(changes.revision)
        .unwrap()
        .changes
        .is_empty());

    let error = store
        .changes_since(Revision(changes.revision.0 + 10))
        .unwrap_err();
    assert!(
        matches!(error, StoreError::FutureRevision { .. }),
        "{error:?}"
    );
}

#[test]
fn compacted_history_means_list_again() {
    let server = EtcdServer::start("compacted");
    let store = server.store("/test-compacted");
    let start = store.list(&ListFilter::all()).unwrap().revision;
    store
        .create(peer("global", None, "10.0.0.1", "64512"))
        .unwrap();
    let latest = store
        .apply(peer("global", None, "10.0.0.1", "64513"))
        .unwrap();
    server.compact(latest.revision);

    let error = store.changes_since(start).unwrap_err();
    match error {
        StoreError::Compacted {
            requested,
            compacted_through,
        } => {
            assert_eq!(requested, start);
            assert_eq!(compacted_through, latest.revision);
        }
        other => panic!("expected compaction, got {other:?}"),
    }
    // From the compaction point on, history is there.
    assert!(store
        .changes_since(latest.revision)
        .unwrap()
        .changes
        .is_empty());
}

#[test]
fn two_nodes_share_one_etcd() {
    let server = EtcdServer::start("two-nodes");
    let node_a = server.store("/test-shared");
    let node_b = server.store("/test-shared");
    let written: BgpPeer = peer("node", Some("host-b"), "10.0.0.7", "65001");
    let stored = node_a.create(written.clone()).unwrap();

    assert_eq!(node_b.get(&written.key()).unwrap(), Some(stored.clone()));
    let host_b = ListFilter {
        node: Some(node("host-b")),
        ..ListFilter::default()
    };
    assert_eq!(
        node_b.list(&host_b).unwrap().peers,
        std::slice::from_ref(&stored)
    );

    // Node B's write after reading wins; node A's stale replace is refused.
    node_b
        .replace(
            peer("node", Some("host-b"), "10.0.0.7", "65002"),
            Some(stored.revision),
        )
        .unwrap();
    let error = node_a
        .replace(
            peer("node", Some("host-b"), "10.0.0.7", "65003"),
            Some(stored.revision),
        )
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict { .. }), "{error:?}");
}

#[test]
fn v3_kinds_follow_the_same_contract() {
    let server = EtcdServer::start("v3-contract");
    let store = server.store("/test-v3/calico/bgp/v1");
    common::contract::v3_kinds_round_trip(&store);
}

#[test]
fn mixed_batches_are_all_or_nothing() {
    let server = EtcdServer::start("v3-mixed");
    let store = server.store("/test-mixed/calico/bgp/v1");
    common::contract::mixed_batches_are_all_or_nothing(&store);
}

#[test]
fn v3_kinds_live_in_calicos_v3_keys_as_calico_json() {
    let server = EtcdServer::start("v3-layout");
    let store = server.store("/calico/bgp/v1");
    assert_eq!(
        store.resource_prefix(),
        "/calico/resources/v3/projectcalico.org"
    );
    for resource in common::contract::v3_resources() {
        store.create_resource(resource).unwrap();
    }
    store
        .create(peer("global", None, "10.0.0.1", "64512"))
        .unwrap();
    let raw = server.raw("/calico/");
    let keys: Vec<&str> = raw.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "/calico/resources/v3/projectcalico.org/bgpconfigurations/default",
            // The v1 peer, as the v3 BGPPeer Calico's upgrade names so.
            "/calico/resources/v3/projectcalico.org/bgppeers/10-0-0-1",
            "/calico/resources/v3/projectcalico.org/bgppeers/rack-a-tor",
            "/calico/resources/v3/projectcalico.org/nodes/host-a",
        ]
    );
    let mut node: serde_json::Value = serde_json::from_str(&raw[3].1).unwrap();
    // Created as Calico creates: with a uid and a creation time.
    let metadata = node["metadata"].as_object_mut().unwrap();
    assert_eq!(metadata.remove("uid").unwrap().as_str().unwrap().len(), 36);
    assert!(metadata
        .remove("creationTimestamp")
        .unwrap()
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(
        node,
        serde_json::json!({
            "apiVersion": "projectcalico.org/v3",
            "kind": "Node",
            "metadata": {"name": "host-a", "labels": {"rack": "a"}},
            "spec": {"bgp": {"ipv4Address": "10.0.0.1/24", "ipv6Address": "fd00::1/64", "asNumber": 64513}}
        })
    );
    // A value as calico-node writes it (with uid and creationTimestamp) is read.
    let written = r#"{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{"name":"host-b","uid":"1b2c","creationTimestamp":"2026-01-01T00:00:00Z","labels":{"rack":"b"}},"spec":{"bgp":{"ipv4Address":"10.0.0.2/24","ipv4IPIPTunnelAddr":"192.168.1.1"},"orchRefs":[{"nodeName":"host-b","orchestrator":"k8s"}],"addresses":[{"address":"10.0.0.2/24","type":"CalicoNodeIP"}]},"status":{}}"#;
    server.put_raw(
        "/calico/resources/v3/projectcalico.org/nodes/host-b",
        written,
    );
    let nodes = store
        .list_resources(&peer_store::ResourceFilter::of_kind(
            peer_store::ResourceKind::Node,
        ))
        .unwrap();
    assert_eq!(nodes.resources.len(), 2);
}

#[test]
fn the_store_can_be_dropped_inside_an_async_task() {
    let server = EtcdServer::start("drop");
    let store: std::sync::Arc<dyn PeerStore> = std::sync::Arc::new(server.store("/test-drop"));
    store
        .create(peer("global", None, "10.0.0.1", "64512"))
        .unwrap();
    // As the daemon does on SIGTERM: the last handle goes away in an async task.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        tokio::spawn(async move { drop(store) })
            .await
            .expect("dropping the store does not panic");
    });
    // And on a plain thread, after use, as the CLI does.
    let store = server.store("/test-drop");
    assert_eq!(store.list(&ListFilter::all()).unwrap().peers.len(), 1);
    drop(store);
}

/// A listing with `changes` applied in order, keyed as a reader keeps it.
fn follow(
    listing: peer_store::ResourceListing,
    changes: &[ListingChange],
) -> (
    BTreeMap<ResourceKey, Resource>,
    BTreeMap<String, UnreadableResource>,
) {
    let (mut resources, mut unreadable) = keyed(listing);
    for change in changes {
        match change {
            ListingChange::Resource(ResourceChange::Put { resource, .. }) => {
                resources.insert(resource.key(), resource.clone());
            }
            ListingChange::Resource(ResourceChange::Deleted { resource, .. }) => {
                resources.remove(&resource.key());
            }
            ListingChange::Unreadable { entry, .. } => {
                unreadable.insert(entry.location.clone(), entry.clone());
            }
            ListingChange::Cleared { location, .. } => {
                unreadable.remove(location);
            }
        }
    }
    (resources, unreadable)
}

fn keyed(
    listing: peer_store::ResourceListing,
) -> (
    BTreeMap<ResourceKey, Resource>,
    BTreeMap<String, UnreadableResource>,
) {
    (
        listing
            .resources
            .into_iter()
            .map(|stored| (stored.resource.key(), stored.resource))
            .collect(),
        listing
            .unreadable
            .into_iter()
            .map(|entry| (entry.location.clone(), entry))
            .collect(),
    )
}

#[test]
fn listing_changes_tell_unreadable_entries_as_they_come_and_go() {
    let server = EtcdServer::start("listing-changes");
    let store = server.store("/test-listing/calico/bgp/v1");
    let all = ResourceFilter::all;
    let start = store.list_resources(&all()).unwrap();
    let good = store
        .create(peer("global", None, "10.0.0.1", "64512"))
        .unwrap();
    let v1_key = store.key_of(&good.peer.key());
    let v3_key = format!("{}/bgppeers/rack-a", store.resource_prefix());

    // A v3 entry written broken, then fixed by a write of the resource.
    server.put_raw(&v3_key, "{not json");
    let changes = store.listing_changes_since(start.revision).unwrap();
    assert!(matches!(
        changes.changes.last(),
        Some(ListingChange::Unreadable { entry, .. }) if entry.location == v3_key
    ));
    assert_eq!(
        follow(start.clone(), &changes.changes),
        keyed(store.list_resources(&all()).unwrap())
    );
    let fixed = peer_store::parse_resources(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: rack-a}\nspec: {peerIP: 192.0.2.1, asNumber: 65001}\n",
    )
    .unwrap()
    .remove(0);
    store.create_resource(fixed).unwrap();
    let changes = store.listing_changes_since(changes.revision).unwrap();
    assert!(
        matches!(
            changes.changes.as_slice(),
            [ListingChange::Cleared { location, .. }, ListingChange::Resource(ResourceChange::Put { .. })]
                if *location == v3_key
        ),
        "{changes:?}"
    );

    // A readable v1 peer overwritten with junk: deleted, and unreadable;
    // then the junk deleted.
    server.put_raw(&v1_key, "junk");
    server.delete_raw(&v1_key);
    // A key of no resource is nothing.
    server.put_raw("/test-listing/calico/bgp/v1/global/as_num", "64512");
    let middle = store.listing_changes_since(start.revision).unwrap();
    let tail: Vec<&ListingChange> = middle
        .changes
        .iter()
        .filter(|change| change.revision() > changes.revision)
        .collect();
    assert!(
        matches!(
            tail.as_slice(),
            [
                ListingChange::Resource(ResourceChange::Deleted { .. }),
                ListingChange::Unreadable { .. },
                ListingChange::Cleared { .. },
            ]
        ),
        "{tail:?}"
    );
    // From the first listing, every change in order gives the last listing.
    let end = store.list_resources(&all()).unwrap();
    assert_eq!(end.revision, middle.revision);
    assert_eq!(follow(start, &middle.changes), keyed(end));
    // The resource view of the same history has no unreadable entries.
    let resource_changes = store.resource_changes_since(changes.revision).unwrap();
    assert_eq!(resource_changes.changes.len(), 1, "{resource_changes:?}");
}
