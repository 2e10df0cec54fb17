//! Calico IPAM's records exactly as Calico writes them to etcd
//! (`libcalico-go/lib/backend/model`: Go's `encoding/json` of the model
//! structs, fields in struct order), and the v3 IPPool document its client
//! stores, with the keys they are kept under. Between them they set every
//! field of IPPool, BlockAffinity and AllocationBlock.

/// The default IPv4 pool as Calico 3.30 stores it (defaults written out).
pub(crate) const POOL_KEY: &str =
    "/calico/resources/v3/projectcalico.org/ippools/default-ipv4-ippool";
pub(crate) const POOL: &str = r#"{"kind":"IPPool","apiVersion":"projectcalico.org/v3","metadata":{"name":"default-ipv4-ippool","uid":"6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f","creationTimestamp":"2026-03-01T09:00:00Z"},"spec":{"cidr":"10.244.0.0/16","vxlanMode":"Never","ipipMode":"Always","natOutgoing":true,"blockSize":26,"nodeSelector":"all()","allowedUses":["Workload","Tunnel"],"assignmentMode":"Automatic"}}"#;

/// An IPv6 pool setting every other field, with the status Calico reports.
pub(crate) const POOL_V6_KEY: &str = "/calico/resources/v3/projectcalico.org/ippools/pods-v6";
pub(crate) const POOL_V6: &str = r#"{"kind":"IPPool","apiVersion":"projectcalico.org/v3","metadata":{"name":"pods-v6","uid":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","creationTimestamp":"2026-03-01T09:01:00Z","labels":{"family":"v6"},"annotations":{"owner":"netops"}},"spec":{"cidr":"fd00:10:244::/48","vxlanMode":"CrossSubnet","ipipMode":"Never","disabled":true,"disableBGPExport":true,"blockSize":122,"nodeSelector":"rack == '1'","namespaceSelector":"team == 'a'","allowedUses":["Workload"],"assignmentMode":"Manual"},"status":{"conditions":[{"type":"Allocatable","status":"False","lastTransitionTime":"2026-03-01T09:01:00Z","reason":"PoolDisabled","message":"the pool is disabled"}]}}"#;

/// A confirmed affinity (`model.BlockAffinity`).
pub(crate) const AFFINITY_KEY: &str = "/calico/ipam/v2/host/rack1-host1/ipv4/block/10.244.3.0-26";
pub(crate) const AFFINITY: &str = r#"{"state":"confirmed","deleted":false}"#;

/// An affinity written before affinities had a state: an empty value.
pub(crate) const LEGACY_AFFINITY_KEY: &str =
    "/calico/ipam/v2/host/rack1-host1/ipv4/block/10.244.9.0-26";

/// An IPv6 affinity being released.
pub(crate) const RELEASING_AFFINITY_KEY: &str =
    "/calico/ipam/v2/host/rack1-host2/ipv6/block/fd00:10:244::-122";
pub(crate) const RELEASING_AFFINITY: &str = r#"{"state":"pendingDeletion","deleted":false}"#;

/// The block of [`AFFINITY_KEY`]'s affinity.
pub(crate) const BLOCK_KEY: &str = "/calico/ipam/v2/assignment/ipv4/block/10.244.3.0-26";

/// The block rack1-host1 holds: its tunnel address (ordinal 0), a pod of its
/// own (1), and a pod of rack1-host2 given an address here (2, borrowed,
/// being migrated and released: every attribute field set); the other 61
/// addresses free.
pub(crate) fn block() -> String {
    let mut allocations = vec!["0".to_owned(), "1".to_owned(), "2".to_owned()];
    allocations.extend((3..64).map(|_| "null".to_owned()));
    let unallocated: Vec<String> = (3..64).map(|ordinal| ordinal.to_string()).collect();
    format!(
        concat!(
            r#"{{"cidr":"10.244.3.0/26","affinity":"host:rack1-host1","affinity_claim_time":"2026-03-01T09:05:00Z","#,
            r#""allocations":[{}],"unallocated":[{}],"#,
            r#""attributes":[{{"handle_id":"ipip-tunnel-addr-rack1-host1","secondary":{{"node":"rack1-host1","type":"ipipTunnelAddress"}}}},"#,
            r#"{{"handle_id":"k8s-pod-network.3f2a","secondary":{{"namespace":"default","node":"rack1-host1","pod":"web-0","timestamp":"2026-03-01 09:06:00.123456789 +0000 UTC"}}}},"#,
            r#"{{"handle_id":"k8s-pod-network.9c1b","secondary":{{"namespace":"default","node":"rack1-host2","pod":"web-1","timestamp":"2026-03-01 09:07:00.5 +0000 UTC"}},"alternateOwnerAttrs":{{"namespace":"default","node":"rack1-host3","pod":"web-1-target"}},"releasedAt":"2026-03-01T10:00:00Z"}}],"#,
            r#""sequenceNumber":1772355900000000000,"sequenceNumberForAllocation":{{"0":1772355900000000000,"1":1772355900000000001,"2":1772355900000000002}},"deleted":false}}"#
        ),
        allocations.join(","),
        unallocated.join(",")
    )
}

/// A block no node holds, as Calico writes it (`affinity` null).
pub(crate) const FREE_BLOCK_KEY: &str = "/calico/ipam/v2/assignment/ipv4/block/10.244.10.0-30";
pub(crate) const FREE_BLOCK: &str = r#"{"cidr":"10.244.10.0/30","affinity":null,"allocations":[null,0,null,null],"unallocated":[0,2,3],"attributes":[{"handle_id":"k8s-pod-network.77aa","secondary":{"namespace":"kube-system","node":"rack1-host2","pod":"dns-0"}}],"sequenceNumber":5,"sequenceNumberForAllocation":{"1":4},"deleted":false}"#;

/// Every record with its key (the empty-valued affinity included).
pub(crate) fn all() -> Vec<(String, String)> {
    [
        (POOL_KEY, POOL.to_owned()),
        (POOL_V6_KEY, POOL_V6.to_owned()),
        (AFFINITY_KEY, AFFINITY.to_owned()),
        (LEGACY_AFFINITY_KEY, String::new()),
        (RELEASING_AFFINITY_KEY, RELEASING_AFFINITY.to_owned()),
        (BLOCK_KEY, block()),
        (FREE_BLOCK_KEY, FREE_BLOCK.to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

/// Calico v1 (etcd v2) records: libcalico-go v1's pool and a block of its
/// era (`strictAffinity`, no sequence numbers or tombstone).
pub(crate) const V1_POOL_KEY: &str = "/calico/v1/ipam/v4/pool/10.244.0.0-16";
pub(crate) const V1_POOL: &str = r#"{"cidr":"10.244.0.0/16","ipip":"tunl0","ipip_mode":"cross-subnet","masquerade":true,"ipam":true,"disabled":false}"#;
pub(crate) const V1_POOL_V6_KEY: &str = "/calico/v1/ipam/v6/pool/fd00:10:244::-48";
pub(crate) const V1_POOL_V6: &str = r#"{"cidr":"fd00:10:244::/48","ipip":"","ipip_mode":"","masquerade":false,"ipam":false,"disabled":true}"#;
pub(crate) const V1_BLOCK_KEY: &str = "/calico/ipam/v2/assignment/ipv4/block/10.244.4.0-30";
pub(crate) const V1_BLOCK: &str = r#"{"cidr":"10.244.4.0/30","affinity":"host:rack1-host1","strictAffinity":false,"allocations":[0,null,null,null],"unallocated":[1,2,3],"attributes":[{"handle_id":"k8s-pod-network.c0ffee","secondary":{"namespace":"default","node":"rack1-host1","pod":"old-0"}}]}"#;
