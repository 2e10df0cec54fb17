//! Calico IPAM's records in a real etcd, written as calico-node writes them:
//! pools as v3 documents, block affinities and blocks in IPAM's own keys. They
//! are listed, got by name, written back byte for byte, created, replaced and
//! deleted where Calico keeps them, and the watch replay tells an affinity
//! coming and going.

mod common;

use std::collections::BTreeMap;

use common::calico_ipam;
use common::etcd::EtcdServer;
use peer_store::{
    apply_documents, parse_resources, stored_resources_to_json, Action, AffinityState,
    ListingChange, NamedKind, PeerStore, Resource, ResourceChange, ResourceFilter, ResourceKey,
    ResourceKind, ResourceName, StoreError,
};
use serde_json::Value;

fn key(kind: NamedKind, name: &str) -> ResourceKey {
    ResourceKey::Named {
        kind,
        name: ResourceName::new(name).unwrap(),
    }
}

fn seeded(test: &str) -> EtcdServer {
    let server = EtcdServer::start(test);
    for (key, value) in calico_ipam::all() {
        server.put_raw(&key, &value);
    }
    server
}

#[test]
fn calico_nodes_ipam_records_are_listed_by_kind_and_name() {
    let server = seeded("ipam-list");
    let store = server.store("/calico/bgp/v1");
    let listing = store.list_resources(&ResourceFilter::all()).unwrap();
    assert!(listing.unreadable.is_empty(), "{:?}", listing.unreadable);
    let names: Vec<String> = listing
        .resources
        .iter()
        .map(|stored| stored.resource.key().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "IPPool(default-ipv4-ippool)",
            "IPPool(pods-v6)",
            "BlockAffinity(rack1-host1-10-244-3-0-26)",
            "BlockAffinity(rack1-host1-10-244-9-0-26)",
            "BlockAffinity(rack1-host2-fd00-10-244---122)",
            "IPAMBlock(10-244-10-0-30)",
            "IPAMBlock(10-244-3-0-26)",
        ]
    );
    let only = |kind| {
        store
            .list_resources(&ResourceFilter::of_kind(kind))
            .unwrap()
            .resources
            .len()
    };
    assert_eq!(
        [
            ResourceKind::IpPool,
            ResourceKind::BlockAffinity,
            ResourceKind::IpamBlock,
            ResourceKind::BgpPeer
        ]
        .map(only),
        [2, 3, 2, 0]
    );
    // The empty value of an old release is a confirmed affinity.
    let legacy = store
        .get_resource(&key(NamedKind::BlockAffinity, "rack1-host1-10-244-9-0-26"))
        .unwrap()
        .unwrap();
    let Resource::BlockAffinity(legacy) = legacy.resource else {
        panic!("not an affinity");
    };
    assert!(legacy.is_confirmed());
    let releasing = store
        .get_resource(&key(
            NamedKind::BlockAffinity,
            "rack1-host2-fd00-10-244---122",
        ))
        .unwrap()
        .unwrap();
    let Resource::BlockAffinity(releasing) = releasing.resource else {
        panic!("not an affinity");
    };
    assert_eq!(releasing.state, AffinityState::PendingDeletion);
    assert_eq!(releasing.node, "rack1-host2");
    let block = store
        .get_resource(&key(NamedKind::IpamBlock, "10-244-3-0-26"))
        .unwrap()
        .unwrap();
    let Resource::IpamBlock(block) = block.resource else {
        panic!("not a block");
    };
    assert_eq!(block.affine_node(), Some("rack1-host1"));
    assert_eq!(
        block.addresses_allocated_to_node("rack1-host2"),
        ["10.244.3.2".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(
        store
            .get_resource(&key(NamedKind::BlockAffinity, "rack1-host9-10-244-3-0-26"))
            .unwrap(),
        None
    );
}

#[test]
fn printed_records_applied_back_change_nothing_and_relabelled_pools_keep_every_field() {
    let server = seeded("ipam-round-trip");
    let store = server.store("/calico/bgp/v1");
    let before: BTreeMap<String, String> = server.raw("/calico/").into_iter().collect();
    let listing = store.list_resources(&ResourceFilter::all()).unwrap();
    let printed: Vec<Value> =
        serde_json::from_str(&stored_resources_to_json(&listing.resources)).unwrap();
    for document in &printed {
        let report = apply_documents(&store, &document.to_string()).unwrap();
        assert_eq!(report.outcomes[0].action, Action::Unchanged, "{document}");
    }
    // The empty legacy value is still empty: nothing was written.
    assert_eq!(
        server
            .raw("/calico/")
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        before
    );

    let mut pool = printed[0].clone();
    pool["metadata"]["labels"]["touched"] = Value::from("yes");
    apply_documents(&store, &pool.to_string()).unwrap();
    let written: Value = serde_json::from_str(&server.raw(calico_ipam::POOL_KEY)[0].1).unwrap();
    let mut expected: Value = serde_json::from_str(calico_ipam::POOL).unwrap();
    expected["metadata"]["labels"]["touched"] = Value::from("yes");
    assert_eq!(written, expected);
}

#[test]
fn records_created_through_the_store_are_byte_for_byte_calicos() {
    let source = seeded("ipam-source");
    let printed: Vec<Value> = serde_json::from_str(&stored_resources_to_json(
        &source
            .store("/calico/bgp/v1")
            .list_resources(&ResourceFilter::all())
            .unwrap()
            .resources,
    ))
    .unwrap();
    let server = EtcdServer::start("ipam-create");
    let store = server.store("/calico/bgp/v1");
    for document in &printed {
        let resources = parse_resources(&document.to_string()).unwrap();
        store.create_resource(resources[0].clone()).unwrap();
    }
    let raw: BTreeMap<String, String> = server.raw("/calico/").into_iter().collect();
    assert_eq!(raw[calico_ipam::AFFINITY_KEY], calico_ipam::AFFINITY);
    assert_eq!(
        raw[calico_ipam::RELEASING_AFFINITY_KEY],
        calico_ipam::RELEASING_AFFINITY
    );
    // The legacy empty value is written as Calico writes it today.
    assert_eq!(raw[calico_ipam::LEGACY_AFFINITY_KEY], calico_ipam::AFFINITY);
    assert_eq!(raw[calico_ipam::BLOCK_KEY], calico_ipam::block());
    assert_eq!(raw[calico_ipam::FREE_BLOCK_KEY], calico_ipam::FREE_BLOCK);
    // Pools are created as Calico's client creates them: a new uid and time.
    let pool: Value = serde_json::from_str(&raw[calico_ipam::POOL_KEY]).unwrap();
    assert_eq!(
        pool["spec"],
        serde_json::from_str::<Value>(calico_ipam::POOL).unwrap()["spec"]
    );
}

#[test]
fn affinities_are_replaced_and_deleted_in_calicos_keys() {
    let server = seeded("ipam-write");
    let store = server.store("/calico/bgp/v1");
    let affinity = key(NamedKind::BlockAffinity, "rack1-host1-10-244-3-0-26");
    let stored = store.get_resource(&affinity).unwrap().unwrap();
    let Resource::BlockAffinity(mut changed) = stored.resource.clone() else {
        panic!("not an affinity");
    };
    changed.state = AffinityState::PendingDeletion;
    // Labels cannot be kept in IPAM's keys: left out.
    changed
        .labels
        .insert("ignored".to_owned(), "yes".to_owned());
    let replaced = store
        .replace_resource(Resource::BlockAffinity(changed), Some(stored.revision))
        .unwrap();
    assert!(replaced.revision > stored.revision);
    assert_eq!(
        server.raw(calico_ipam::AFFINITY_KEY)[0].1,
        r#"{"state":"pendingDeletion","deleted":false}"#
    );
    // A stale revision is a conflict, as for every kind.
    let error = store
        .delete_resource(&affinity, Some(stored.revision))
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict { .. }), "{error}");
    store.delete_resource(&affinity, None).unwrap();
    assert!(server.raw(calico_ipam::AFFINITY_KEY).is_empty());

    // A block affinity named otherwise cannot be kept in Calico's keys.
    let named_otherwise = parse_resources(
        "apiVersion: projectcalico.org/v3\nkind: BlockAffinity\nmetadata: {name: mine}\nspec: {node: n1, cidr: 10.244.5.0/26}\n",
    )
    .unwrap()
    .remove(0);
    let error = store.create_resource(named_otherwise).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("the etcd v3 store cannot store BlockAffinity(mine)"),
        "{error}"
    );
    // A block is deleted by name.
    store
        .delete_resource(&key(NamedKind::IpamBlock, "10-244-10-0-30"), None)
        .unwrap();
    assert!(server.raw(calico_ipam::FREE_BLOCK_KEY).is_empty());
}

#[test]
fn the_watch_tells_an_affinity_coming_and_going() {
    let server = EtcdServer::start("ipam-watch");
    let store = server.store("/calico/bgp/v1");
    let start = store.list_resources(&ResourceFilter::all()).unwrap();
    server.put_raw(
        calico_ipam::AFFINITY_KEY,
        r#"{"state":"pending","deleted":false}"#,
    );
    server.put_raw(calico_ipam::AFFINITY_KEY, calico_ipam::AFFINITY);
    server.put_raw(calico_ipam::BLOCK_KEY, &calico_ipam::block());
    // IPAM's other keys are no resource.
    server.put_raw(
        "/calico/ipam/v2/handle/k8s-pod-network.3f2a",
        r#"{"block":{"10.244.3.0/26":1},"deleted":false}"#,
    );
    server.put_raw("/calico/ipam/v2/host/rack1-host1", "{}");
    server.delete_raw(calico_ipam::AFFINITY_KEY);
    let changes = store.resource_changes_since(start.revision).unwrap();
    let seen: Vec<(String, String)> = changes
        .changes
        .iter()
        .map(|change| {
            let what = match change {
                ResourceChange::Put {
                    resource: Resource::BlockAffinity(affinity),
                    ..
                } => {
                    format!("put {}", affinity.state)
                }
                ResourceChange::Put { .. } => "put".to_owned(),
                ResourceChange::Deleted { .. } => "deleted".to_owned(),
            };
            (change.resource().key().to_string(), what)
        })
        .collect();
    let affinity = "BlockAffinity(rack1-host1-10-244-3-0-26)".to_owned();
    assert_eq!(
        seen,
        [
            (affinity.clone(), "put pending".to_owned()),
            (affinity.clone(), "put confirmed".to_owned()),
            ("IPAMBlock(10-244-3-0-26)".to_owned(), "put".to_owned()),
            (affinity, "deleted".to_owned()),
        ]
    );
    // A block whose allocations point past its attributes is unreadable,
    // told by the listing replay and reported by a listing; the rest stays.
    let broken = calico_ipam::block().replacen("[0,1,2,", "[0,1,7,", 1);
    server.put_raw(calico_ipam::BLOCK_KEY, &broken);
    let replay = store.listing_changes_since(changes.revision).unwrap();
    assert!(
        matches!(
            replay.changes.as_slice(),
            [
                ListingChange::Resource(ResourceChange::Deleted { .. }),
                ListingChange::Unreadable { entry, .. },
            ] if entry.location == calico_ipam::BLOCK_KEY
        ),
        "{replay:?}"
    );
    let listing = store.list_resources(&ResourceFilter::all()).unwrap();
    assert_eq!(listing.unreadable.len(), 1);
    assert_eq!(listing.unreadable[0].kind, Some("IPAMBlock"));
    assert_eq!(listing.unreadable[0].name.as_deref(), Some("10-244-3-0-26"));
    assert!(
        listing.unreadable[0]
            .reason
            .contains("must be the index of one of the 3 attributes"),
        "{}",
        listing.unreadable[0].reason
    );
}
