//! A Calico v1 cluster's IPAM through etcd's v2 API: its pools, block
//! affinities and blocks, written as libcalico-go v1 and calico (Python) did,
//! are read as IPPool, BlockAffinity and IPAMBlock resources; writing them is
//! refused, Calico's IPAM owning them.

mod common;

use common::calico_ipam;
use peer_store::{
    AffinityState, EncapsulationMode, EtcdV2Store, NamedKind, PeerStore, Resource, ResourceFilter,
    ResourceKey, ResourceKind, ResourceName, StoreError,
};

/// A running etcd serving v2; killed (and its data removed) on drop.
struct EtcdServer {
    etcd: lab::Etcd,
}

impl EtcdServer {
    fn start(test: &str) -> EtcdServer {
        EtcdServer {
            etcd: lab::Etcd::start_with_v2(test).unwrap_or_else(|error| panic!("{error}")),
        }
    }

    fn store(&self) -> EtcdV2Store {
        EtcdV2Store::connect(&[self.etcd.endpoint().to_owned()], Some("/calico/bgp/v1")).unwrap()
    }

    /// Writes a key directly, as Calico v1 did.
    fn raw_put(&self, key: &str, value: &str) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}/v2/keys{key}", self.etcd.endpoint());
        let response = agent.put(&url).send_form([("value", value)]).unwrap();
        assert!(response.status().is_success(), "{response:?}");
    }
}

fn key(kind: NamedKind, name: &str) -> ResourceKey {
    ResourceKey::Named {
        kind,
        name: ResourceName::new(name).unwrap(),
    }
}

#[test]
fn a_calico_v1_clusters_ipam_is_read() {
    let server = EtcdServer::start("v2-ipam");
    server.raw_put(calico_ipam::V1_POOL_KEY, calico_ipam::V1_POOL);
    server.raw_put(calico_ipam::V1_POOL_V6_KEY, calico_ipam::V1_POOL_V6);
    // Go wrote `{}`, Python an empty value.
    server.raw_put(
        "/calico/ipam/v2/host/rack1-host1/ipv4/block/10.244.4.0-30",
        "{}",
    );
    server.raw_put(
        "/calico/ipam/v2/host/rack1-host2/ipv4/block/10.244.5.0-30",
        "",
    );
    server.raw_put(calico_ipam::V1_BLOCK_KEY, calico_ipam::V1_BLOCK);
    // Neither is a resource: a handle, IPAM's configuration.
    server.raw_put(
        "/calico/ipam/v2/handle/k8s-pod-network.c0ffee",
        r#"{"block":{"10.244.4.0/30":1}}"#,
    );
    server.raw_put(
        "/calico/ipam/v2/config",
        r#"{"strict_affinity":false,"auto_allocate_blocks":true}"#,
    );
    let store = server.store();

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
            "IPPool(10-244-0-0-16)",
            "IPPool(fd00-10-244---48)",
            "BlockAffinity(rack1-host1-10-244-4-0-30)",
            "BlockAffinity(rack1-host2-10-244-5-0-30)",
            "IPAMBlock(10-244-4-0-30)",
        ]
    );
    let Resource::IpPool(pool) = &listing.resources[0].resource else {
        panic!("not a pool");
    };
    assert_eq!(pool.ipip_mode, EncapsulationMode::CrossSubnet);
    assert!(pool.nat_outgoing && !pool.disabled);
    assert_eq!(pool.block_size, 26);
    let Resource::IpPool(v6) = &listing.resources[1].resource else {
        panic!("not a pool");
    };
    assert_eq!(v6.ipip_mode, EncapsulationMode::Never);
    assert!(v6.disabled && !v6.nat_outgoing);
    for affinity in &listing.resources[2..4] {
        let Resource::BlockAffinity(affinity) = &affinity.resource else {
            panic!("not an affinity");
        };
        assert_eq!(affinity.state, AffinityState::Confirmed);
    }
    let Resource::IpamBlock(block) = &listing.resources[4].resource else {
        panic!("not a block");
    };
    assert_eq!(block.affine_node(), Some("rack1-host1"));
    assert_eq!(
        block.unmodelled.spec_field("strictAffinity"),
        Some(&serde_yaml::Value::Bool(false))
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
            ResourceKind::Node
        ]
        .map(only),
        [2, 2, 1, 0]
    );
    for (kind, name) in [
        (NamedKind::IpPool, "fd00-10-244---48"),
        (NamedKind::BlockAffinity, "rack1-host2-10-244-5-0-30"),
        (NamedKind::IpamBlock, "10-244-4-0-30"),
    ] {
        let got = store.get_resource(&key(kind, name)).unwrap().unwrap();
        assert_eq!(got.resource.key(), key(kind, name));
    }
    assert_eq!(
        store
            .get_resource(&key(NamedKind::IpamBlock, "10-244-8-0-30"))
            .unwrap(),
        None
    );

    // Calico's IPAM owns them: no writes.
    let error = store
        .create_resource(listing.resources[4].resource.clone())
        .unwrap_err();
    assert!(matches!(error, StoreError::Unsupported { .. }), "{error}");
    assert!(
        error.to_string().contains("Calico's IPAM owns them"),
        "{error}"
    );

    // A record that does not read is reported; the rest is listed.
    server.raw_put(
        calico_ipam::V1_BLOCK_KEY,
        r#"{"cidr":"10.244.4.0/30","allocations":[3],"attributes":[]}"#,
    );
    let listing = store.list_resources(&ResourceFilter::all()).unwrap();
    assert_eq!(listing.resources.len(), 4);
    assert_eq!(listing.unreadable.len(), 1);
    assert_eq!(listing.unreadable[0].location, calico_ipam::V1_BLOCK_KEY);
}
