//! Calico IPAM's resources, IPPool, BlockAffinity and IPAMBlock: Calico's own
//! documents read with every field, defaults and validation as libcalico-go's,
//! the models' answers (affine node, borrowed addresses), broken blocks
//! refused without a panic, the file store keeping all three, and
//! calicoctl's tables.

mod common;

use std::net::IpAddr;

use common::calico_ipam;
use common::TemporaryDirectory;
use peer_store::{
    create_documents, delete_documents, parse_resources, resources_to_json, resources_to_table,
    AffinityState, AffinityType, AllowedUse, Asn, BatchOptions, EncapsulationMode, FileStore,
    IpamBlockResource, PeerStore, Resource, ResourceFilter, ResourceKind, Revision, StoredResource,
};
use serde_json::{json, Value};

fn one(text: &str) -> Resource {
    parse_resources(text).unwrap().remove(0)
}

/// The error `parse_resources` gives `text`.
fn refused(text: &str) -> String {
    parse_resources(text).unwrap_err().to_string()
}

fn pool(spec: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {{name: p}}\nspec: {spec}\n")
}

/// A v3 document of an IPAM record, as the etcd store presents Calico's
/// model value under `name`.
fn v3_document(kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "projectcalico.org/v3", "kind": kind, "metadata": {"name": name}, "spec": spec})
}

fn printed(resources: &[Resource]) -> Vec<Value> {
    serde_json::from_str(&resources_to_json(resources)).unwrap()
}

#[test]
fn calicos_pools_are_read_with_every_field_and_print_back_verbatim() {
    for document in [calico_ipam::POOL, calico_ipam::POOL_V6] {
        let resource = one(document);
        assert_eq!(
            printed(std::slice::from_ref(&resource))[0],
            serde_json::from_str::<Value>(document).unwrap()
        );
    }
    let Resource::IpPool(pool) = one(calico_ipam::POOL) else {
        panic!("not a pool");
    };
    assert_eq!(pool.cidr, "10.244.0.0/16".parse().unwrap());
    assert_eq!(pool.block_size, 26);
    assert_eq!(pool.ipip_mode, EncapsulationMode::Always);
    assert_eq!(pool.vxlan_mode, EncapsulationMode::Never);
    assert!(pool.nat_outgoing && !pool.disabled && !pool.disable_bgp_export);
    assert_eq!(pool.node_selector, None);
    assert_eq!(
        pool.allowed_uses,
        [AllowedUse::Workload, AllowedUse::Tunnel]
    );
    assert_eq!(
        pool.unmodelled
            .spec_field("assignmentMode")
            .and_then(|mode| mode.as_str()),
        Some("Automatic")
    );
    let Resource::IpPool(v6) = one(calico_ipam::POOL_V6) else {
        panic!("not a pool");
    };
    assert!(v6.disabled && v6.disable_bgp_export);
    assert_eq!(v6.vxlan_mode, EncapsulationMode::CrossSubnet);
    let rack: peer_store::Labels = [("rack".to_owned(), "1".to_owned())].into();
    assert!(v6.selects_node(&rack) && !v6.selects_node(&Default::default()));
    assert!(!v6.allows(AllowedUse::Tunnel));
    assert!(v6.unmodelled.top.contains_key("status"));
}

#[test]
fn a_minimal_pool_gets_calicos_defaults_written_out() {
    let resource = one(&pool("{cidr: 'fd00:0:0:1::/64'}"));
    assert_eq!(
        printed(&[resource])[0]["spec"],
        json!({
            "cidr": "fd00:0:0:1::/64",
            "vxlanMode": "Never",
            "ipipMode": "Never",
            "blockSize": 122,
            "nodeSelector": "all()",
            "allowedUses": ["Workload", "Tunnel"],
        })
    );
}

#[test]
fn pools_are_validated_as_libcalico_go_does() {
    let cases = [
        ("{}", "cidr (IPPool CIDR must be specified)"),
        ("{cidr: 10.0.0.0/33}", "cidr = '10.0.0.0/33' (IPPool CIDR must be a valid subnet)"),
        ("{cidr: 10.0.0.1/16}", "cidr = '10.0.0.1/16' (IPPool CIDR is not strictly masked)"),
        (
            "{cidr: 10.0.0.0/16, blockSize: 19}",
            "blockSize = '19' (blockSize must be between 20 and 32 for IPv4 pools, and between 116 and 128 for IPv6 pools)",
        ),
        (
            "{cidr: 'fd00::/64', blockSize: 26}",
            "blockSize = '26' (blockSize must be between 20 and 32 for IPv4 pools, and between 116 and 128 for IPv6 pools)",
        ),
        (
            "{cidr: 10.0.0.0/28}",
            "cidr = '10.0.0.0/28' (IP pool size is too small for use with Calico IPAM. It must be equal to or greater than the block size.)",
        ),
        (
            "{cidr: 169.254.0.0/20}",
            "cidr = '169.254.0.0/20' (IPPool CIDR overlaps with IPv4 link local range 169.254.0.0/16)",
        ),
        (
            "{cidr: 'fe80::/64'}",
            "cidr = 'fe80::/64' (IPPool CIDR overlaps with IPv6 link local range fe80::/10)",
        ),
        (
            "{cidr: 'fd00::/64', ipipMode: Always}",
            "ipipMode = 'Always' (IPIP is not supported on IPv6 pools)",
        ),
        (
            "{cidr: 10.0.0.0/16, ipipMode: Always, vxlanMode: CrossSubnet}",
            "vxlanMode = 'CrossSubnet' (ipipMode and vxlanMode cannot both be enabled)",
        ),
        (
            "{cidr: 10.0.0.0/16, ipipMode: always}",
            "ipipMode = 'always' (must be one of: Never, Always, CrossSubnet)",
        ),
        (
            "{cidr: 10.0.0.0/16, allowedUses: [Workload, Pods]}",
            "allowedUses = 'Pods' (unknown use: Pods)",
        ),
        (
            "{cidr: 10.0.0.0/16, allowedUses: [LoadBalancer, Workload]}",
            "allowedUses = 'LoadBalancer, Workload' (LoadBalancer cannot be combined with Workload or Tunnel allowed uses)",
        ),
        (
            "{cidr: 10.0.0.0/16, allowedUses: [LoadBalancer], disableBGPExport: true}",
            "disableBGPExport = 'true' (LoadBalancer IP pools cannot disable BGP export)",
        ),
        (
            "{cidr: 10.0.0.0/16, allowedUses: [LoadBalancer], nodeSelector: \"rack == '1'\"}",
            "nodeSelector = 'rack == '1'' (IP Pool with AllowedUse LoadBalancer must have nodeSelector set to all())",
        ),
        (
            "{cidr: 10.0.0.0/16, allowedUses: [Tunnel], namespaceSelector: all()}",
            "namespaceSelector = 'all()' (IP Pool with AllowedUse Tunnel cannot have namespaceSelector)",
        ),
        (
            "{cidr: 10.0.0.0/16, nodeSelector: global()}",
            "nodeSelector = 'global()' (global() selector is not valid for IPPool nodeSelector)",
        ),
        (
            "{cidr: 10.0.0.0/16, ipip: {enabled: true}}",
            "ipip = 'enabled: true' (must not be set: an APIv1 compatibility field, use ipipMode)",
        ),
        (
            "{cidr: 10.0.0.0/16, nat-outgoing: true}",
            "nat-outgoing = 'true' (must not be set: an APIv1 compatibility field, use natOutgoing)",
        ),
        (
            "{cidr: 10.0.0.0/16, assignmentMode: Sometimes}",
            "assignmentMode = 'Sometimes' (must be one of: Automatic, Manual)",
        ),
    ];
    for (spec, field) in cases {
        assert_eq!(
            refused(&pool(spec)),
            format!("IPPool(p): error with field {field}"),
            "{spec}"
        );
    }
    // A disabled pool may be smaller than a block; APIv1's fields unset pass.
    assert!(parse_resources(&pool(
        "{cidr: 10.0.0.0/28, disabled: true, nat-outgoing: false}"
    ))
    .is_ok());
    assert!(refused(&pool("{cidr: 10.0.0.0/16, natOutgoin: true}"))
        .contains("unknown field `natOutgoin`"));
}

#[test]
fn block_affinities_read_both_forms_of_deleted_and_calicos_names() {
    let affinity = |spec: &str| {
        format!("apiVersion: projectcalico.org/v3\nkind: BlockAffinity\nmetadata: {{name: a}}\nspec: {spec}\n")
    };
    // Calico's stored form: `deleted` a string; the v3 API's: a bool.
    let Resource::BlockAffinity(stored) = one(&affinity(
        "{state: confirmed, node: n1, type: host, cidr: 10.244.3.0/26, deleted: 'false'}",
    )) else {
        panic!("not an affinity");
    };
    assert!(stored.is_confirmed());
    assert_eq!(stored.affinity_type, AffinityType::Host);
    let Resource::BlockAffinity(deleted) = one(&affinity(
        "{state: pending, node: n1, cidr: 'fd00::/122', deleted: true}",
    )) else {
        panic!("not an affinity");
    };
    assert!(deleted.deleted && !deleted.is_confirmed());
    assert_eq!(deleted.state, AffinityState::Pending);
    // An empty state is confirmed, as Calico reads affinities of old releases;
    // printed with every field, `deleted` as the v3 API's bool.
    let legacy = one(&affinity("{node: n1, cidr: 10.244.9.0/26}"));
    assert_eq!(
        printed(&[legacy])[0]["spec"],
        json!({"state": "confirmed", "node": "n1", "type": "host", "cidr": "10.244.9.0/26", "deleted": false})
    );
    for (spec, field) in [
        ("{cidr: 10.244.3.0/26}", "node (required)"),
        ("{node: n1}", "cidr (required)"),
        (
            "{node: n1, cidr: 10.244.3.1/26}",
            "cidr = '10.244.3.1/26' (must be a block CIDR, its host bits zero)",
        ),
        (
            "{node: n1, cidr: 10.244.3.0/26, state: claimed}",
            "state = 'claimed' (must be one of: confirmed, pending, pendingDeletion)",
        ),
        (
            "{node: n1, cidr: 10.244.3.0/26, deleted: maybe}",
            "deleted = 'maybe' (must be true or false)",
        ),
        (
            "{node: n1, cidr: 10.244.3.0/26, type: vm}",
            "type = 'vm' (must be one of: host, virtual)",
        ),
        (
            "{node: a/b, cidr: 10.244.3.0/26}",
            "node = 'a/b' (must be a node name (no '/' or white space))",
        ),
    ] {
        assert_eq!(
            refused(&affinity(spec)),
            format!("BlockAffinity(a): error with field {field}"),
            "{spec}"
        );
    }
    assert_eq!(
        peer_store::BlockAffinityResource::name_for(
            "rack1-host1",
            "fd00:10:244::/122".parse().unwrap()
        ),
        "rack1-host1-fd00-10-244---122"
    );
}

/// The block of the fixture, as the etcd store reads it.
fn fixture_block() -> IpamBlockResource {
    let mut spec: Value = serde_json::from_str(&calico_ipam::block()).unwrap();
    let time = spec
        .as_object_mut()
        .unwrap()
        .remove("affinity_claim_time")
        .unwrap();
    spec["affinityClaimTime"] = time;
    let document = v3_document("IPAMBlock", "10-244-3-0-26", spec);
    match one(&document.to_string()) {
        Resource::IpamBlock(block) => block,
        other => panic!("not a block: {other:?}"),
    }
}

#[test]
fn blocks_tell_their_node_and_the_addresses_other_nodes_borrowed() {
    let block = fixture_block();
    assert_eq!(block.affine_node(), Some("rack1-host1"));
    assert_eq!(block.allocations.len(), 64);
    assert_eq!(block.attributes[2].node(), Some("rack1-host2"));
    assert_eq!(
        block.addresses_allocated_to_node("rack1-host2"),
        ["10.244.3.2".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(
        block.addresses_allocated_to_node("rack1-host1"),
        [
            "10.244.3.0".parse::<IpAddr>().unwrap(),
            "10.244.3.1".parse().unwrap()
        ]
    );
    assert!(block.addresses_allocated_to_node("rack1-host3").is_empty());
    // Every field prints back; `alternateOwnerAttrs`, `releasedAt`,
    // `unallocated` and the sequence numbers verbatim.
    let document = &printed(&[Resource::IpamBlock(block.clone())])[0];
    assert_eq!(
        document["spec"]["attributes"][2]["releasedAt"],
        "2026-03-01T10:00:00Z"
    );
    assert_eq!(document["spec"]["sequenceNumber"], 1772355900000000000u64);
    assert_eq!(
        document["spec"]["unallocated"].as_array().unwrap().len(),
        61
    );
    assert_eq!(one(&document.to_string()), Resource::IpamBlock(block));

    let free: Value = serde_json::from_str(calico_ipam::FREE_BLOCK).unwrap();
    let Resource::IpamBlock(free) =
        one(&v3_document("IPAMBlock", "10-244-10-0-30", free).to_string())
    else {
        panic!("not a block");
    };
    assert_eq!(free.affine_node(), None);
    assert_eq!(
        free.addresses_allocated_to_node("rack1-host2"),
        ["10.244.10.1".parse::<IpAddr>().unwrap()]
    );
    let v6 = v3_document(
        "IPAMBlock",
        "fd00-10-244---122",
        json!({"cidr": "fd00:10:244::/122", "affinity": "virtual:vm-1", "allocations": [null, null, 0], "attributes": [{"secondary": {"node": "n2"}}]}),
    );
    let Resource::IpamBlock(v6) = one(&v6.to_string()) else {
        panic!("not a block");
    };
    assert_eq!(v6.affine_node(), Some("vm-1"));
    assert_eq!(
        v6.addresses_allocated_to_node("n2"),
        ["fd00:10:244::2".parse::<IpAddr>().unwrap()]
    );
}

#[test]
fn broken_blocks_are_refused_whole_never_half_read() {
    let block = |name: &str, spec: Value| v3_document("IPAMBlock", name, spec).to_string();
    let too_many: Vec<Value> = (0..5).map(|_| Value::Null).collect();
    let cases = [
        (
            block("10-0-0-0-30", json!({"cidr": "10.0.0.0/30", "allocations": too_many, "attributes": []})),
            "allocations = '5 entries' (the block holds 4 addresses)",
        ),
        (
            block("10-0-0-0-30", json!({"cidr": "10.0.0.0/30", "allocations": [null, 1], "attributes": [{}]})),
            "allocations = '[1] = 1' (must be the index of one of the 1 attributes)",
        ),
        (
            block("10-0-0-0-30", json!({"cidr": "10.0.0.0/30", "allocations": [-1], "attributes": [{}]})),
            "allocations = '[0] = -1' (must be the index of one of the 1 attributes)",
        ),
        (
            block("10-0-0-0-16", json!({"cidr": "10.0.0.0/16"})),
            "cidr = '10.0.0.0/16' (a block holds at most 4096 addresses (IPv4 /20, IPv6 /116))",
        ),
        (
            block("fd00---64", json!({"cidr": "fd00::/64"})),
            "cidr = 'fd00::/64' (a block holds at most 4096 addresses (IPv4 /20, IPv6 /116))",
        ),
        (
            block("block-a", json!({"cidr": "10.0.0.0/30"})),
            "metadata.name = 'block-a' (must be the block's CIDR with '.', ':' and '/' replaced by '-' (10-0-0-0-30))",
        ),
    ];
    for (document, field) in cases {
        let error = refused(&document);
        assert!(
            error.ends_with(&format!("error with field {field}")),
            "{error}"
        );
    }
    // The largest blocks read.
    let largest: Vec<Value> = (0..4096).map(|_| Value::Null).collect();
    assert!(parse_resources(&block(
        "10-0-0-0-20",
        json!({"cidr": "10.0.0.0/20", "allocations": largest})
    ))
    .is_ok());
}

#[test]
fn the_file_store_keeps_all_three_and_stamps_only_the_pool() {
    let directory = TemporaryDirectory::new("ipam-file");
    let store = FileStore::open(directory.path()).unwrap();
    let mut free: Value = serde_json::from_str(calico_ipam::FREE_BLOCK).unwrap();
    free.as_object_mut().unwrap().remove("affinity");
    let text = format!(
        "{}\n{}\n{}\n",
        pool("{cidr: 10.244.0.0/16, ipipMode: CrossSubnet}"),
        "---\napiVersion: projectcalico.org/v3\nkind: BlockAffinity\nmetadata: {name: mine}\nspec: {node: n1, cidr: 10.244.3.0/26}\n---",
        v3_document("IPAMBlock", "10-244-10-0-30", free)
    );
    let report = create_documents(&store, &text, BatchOptions::default()).unwrap();
    assert_eq!(report.to_string(), "Successfully created 3 resource(s)");

    let listing = store.list_resources(&ResourceFilter::all()).unwrap();
    let kinds: Vec<&str> = listing
        .resources
        .iter()
        .map(|stored| stored.resource.kind_name())
        .collect();
    assert_eq!(kinds, ["IPPool", "BlockAffinity", "IPAMBlock"]);
    let pool = &listing.resources[0].resource;
    assert!(pool.uid().is_some() && pool.creation_timestamp().is_some());
    for record in &listing.resources[1..] {
        assert_eq!(record.resource.uid(), None, "{:?}", record.resource);
    }
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
            ResourceKind::IpamBlock
        ]
        .map(only),
        [1, 1, 1]
    );
    let key = listing.resources[1].resource.key();
    assert_eq!(key.to_string(), "BlockAffinity(mine)");
    assert_eq!(
        store.get_resource(&key).unwrap().unwrap(),
        listing.resources[1]
    );

    // Creating the same again is unchanged for nothing: a conflict on create.
    let again = create_documents(&store, &text, BatchOptions::default()).unwrap_err();
    assert!(
        again
            .to_string()
            .contains("resource already exists: IPPool(p)"),
        "{again}"
    );
    let report = delete_documents(&store, &text, BatchOptions::default()).unwrap();
    assert_eq!(report.outcomes.len(), 3);
    assert!(store
        .list_resources(&ResourceFilter::all())
        .unwrap()
        .resources
        .is_empty());
}

fn stored(resource: Resource) -> StoredResource {
    StoredResource {
        resource,
        revision: Revision(7),
    }
}

#[test]
fn tables_have_calicoctls_columns() {
    let pools = [
        stored(one(calico_ipam::POOL)),
        stored(one(calico_ipam::POOL_V6)),
    ];
    assert_eq!(
        resources_to_table(ResourceKind::IpPool, &pools, false, None),
        "NAME                  CIDR               SELECTOR      \n\
         default-ipv4-ippool   10.244.0.0/16      all()         \n\
         pods-v6               fd00:10:244::/48   rack == '1'   \n\n"
    );
    assert_eq!(
        resources_to_table(ResourceKind::IpPool, &pools, true, None),
        "NAME                  CIDR               NAT     IPIPMODE   VXLANMODE     DISABLED   DISABLEBGPEXPORT   SELECTOR      ASSIGNMENTMODE   \n\
         default-ipv4-ippool   10.244.0.0/16      true    Always     Never         false      false              all()         Automatic        \n\
         pods-v6               fd00:10:244::/48   false   Never      CrossSubnet   true       true               rack == '1'   Manual           \n\n"
    );
    let affinity = stored(one(
        "apiVersion: projectcalico.org/v3\nkind: BlockAffinity\nmetadata: {name: n1-10-244-3-0-26}\nspec: {node: n1, cidr: 10.244.3.0/26, state: pendingDeletion}\n",
    ));
    assert_eq!(
        resources_to_table(
            ResourceKind::BlockAffinity,
            std::slice::from_ref(&affinity),
            true,
            None
        ),
        "NAME               CIDR            NODE   TYPE   STATE             DELETED   \n\
         n1-10-244-3-0-26   10.244.3.0/26   n1     host   pendingDeletion   false     \n\n"
    );
    let block = stored(Resource::IpamBlock(fixture_block()));
    assert_eq!(
        resources_to_table(
            ResourceKind::IpamBlock,
            std::slice::from_ref(&block),
            true,
            None
        ),
        "NAME            CIDR            AFFINITY           ALLOCATED   DELETED   \n\
         10-244-3-0-26   10.244.3.0/26   host:rack1-host1   3           false     \n\n"
    );
    assert_eq!(
        resources_to_table(ResourceKind::IpamBlock, &[], false, None),
        "NAME   CIDR   AFFINITY   \n\n"
    );
}

#[test]
fn tables_of_the_bgp_kinds_have_calicoctls_columns() {
    let resources = parse_resources(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: tor}\nspec: {nodeSelector: rack == '1', peerIP: '192.0.2.1:1790', asNumber: 65001}\n\
         ---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: everyone}\nspec: {peerSelector: all()}\n\
         ---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: one}\nspec: {node: n1, peerIP: 10.0.0.9, asNumber: '1.10'}\n\
         ---\napiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIP: 10.0.0.1}\nspec: {asNumber: 64512}\n\
         ---\napiVersion: v1\nkind: bgpPeer\nmetadata: {scope: node, node: n2, peerIP: 'fd00::1'}\nspec: {asNumber: 65000}\n",
    )
    .unwrap();
    let peers: Vec<StoredResource> = resources.into_iter().map(stored).collect();
    assert_eq!(
        resources_to_table(ResourceKind::BgpPeer, &peers, false, None),
        "NAME       PEERIP           NODE          ASN     \n\
         tor        192.0.2.1:1790   rack == '1'   65001   \n\
         everyone                    (global)      0       \n\
         one        10.0.0.9         n1            65546   \n\n\
         SCOPE    PEERIP     NODE   ASN     \n\
         global   10.0.0.1          64512   \n\
         node     fd00::1    n2     65000   \n\n"
    );
    let nodes: Vec<StoredResource> = parse_resources(
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1}\nspec: {bgp: {ipv4Address: 10.0.0.11/24, asNumber: 65010}}\n\
         ---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n2}\nspec: {bgp: {ipv6Address: 'fd00::12/64'}}\n\
         ---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n3}\n",
    )
    .unwrap()
    .into_iter()
    .map(stored)
    .collect();
    assert_eq!(
        resources_to_table(ResourceKind::Node, &nodes, false, None),
        "NAME   \nn1     \nn2     \nn3     \n\n"
    );
    assert_eq!(
        resources_to_table(ResourceKind::Node, &nodes, true, Some(Asn(64600))),
        "NAME   ASN       IPV4           IPV6          \n\
         n1     65010     10.0.0.11/24                 \n\
         n2     (64600)                  fd00::12/64   \n\
         n3                                            \n\n"
    );
    let configurations: Vec<StoredResource> = parse_resources(
        "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {logSeverityScreen: Info, nodeToNodeMeshEnabled: false, asNumber: 64600}\n\
         ---\napiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: node.n1}\n",
    )
    .unwrap()
    .into_iter()
    .map(stored)
    .collect();
    assert_eq!(
        resources_to_table(ResourceKind::BgpConfiguration, &configurations, false, None),
        "NAME      LOGSEVERITY   MESHENABLED   ASNUMBER   \n\
         default   Info          false         64600      \n\
         node.n1                 -             -          \n\n"
    );
}
