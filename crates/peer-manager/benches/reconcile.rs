//! Benchmarks `desired_peers` and `reconcile` at cluster scale: 10,000 bgpPeer
//! resources (global and node-scoped) over 1,000 nodes, with the mesh on.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{criterion_group, criterion_main, Criterion};
use peer_manager::{
    desired_peers, reconcile, Asn, BgpConfiguration, BgpPeer, Node, NodeName, Scope,
};

const NODES: u32 = 1_000;
const PEERS: u32 = 10_000;

/// Nodes `node-0000` … with 10.x.y.z and fd00::N addresses; every 7th has its own AS.
fn nodes() -> Vec<Node> {
    (0..NODES)
        .map(|index| Node {
            name: format!("node-{index:04}"),
            ipv4: Some(Ipv4Addr::from(0x0a00_0000 + index + 1)),
            ipv6: (index % 2 == 0)
                .then(|| Ipv6Addr::from(0xfd00_u128 << 112 | u128::from(index + 1))),
            as_number: (index % 7 == 0).then_some(Asn(65_000 + index)),
            route_reflector_cluster_id: None,
            listen_port: None,
            labels: Default::default(),
        })
        .collect()
}

/// Every 10th peer is global, the rest are scoped to node `index % NODES`; the
/// addresses are external (172.16/12) and some repeat across scopes.
fn peers() -> Vec<BgpPeer> {
    (0..PEERS)
        .map(|index| BgpPeer {
            scope: if index % 10 == 0 {
                Scope::Global
            } else {
                Scope::Node(NodeName::new(format!("node-{:04}", index % NODES)).unwrap())
            },
            peer_address: IpAddr::V4(Ipv4Addr::from(0xac10_0000 + index % 4_000)),
            peer_port: (index % 13 == 0).then_some(1790),
            as_number: Asn(64_600 + index % 50),
        })
        .collect()
}

fn bench(criterion: &mut Criterion) {
    let nodes = nodes();
    let peers = peers();
    let config = BgpConfiguration::default();
    let this = "node-0421";

    criterion.bench_function("desired_peers 10k peers, 1k-node mesh", |bencher| {
        bencher.iter(|| {
            desired_peers(
                black_box(this),
                black_box(&nodes),
                &config,
                black_box(&peers),
            )
        })
    });

    let running = desired_peers(this, &nodes, &config, &peers);
    let mut changed = running.clone();
    let middle = changed.len() / 2;
    changed[middle].asn = Asn(changed[middle].asn.0 + 1);
    assert_eq!(reconcile(&changed, &running).len(), 1);
    println!("desired set size: {}", running.len());

    criterion.bench_function("reconcile one AS change", |bencher| {
        bencher.iter(|| reconcile(black_box(&changed), black_box(&running)))
    });

    criterion.bench_function(
        "desired_peers + reconcile after one peer change",
        |bencher| {
            let mut edited = peers.clone();
            edited[5_000].as_number = Asn(1);
            bencher.iter(|| {
                let desired = desired_peers(this, &nodes, &config, black_box(&edited));
                reconcile(&desired, &running)
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
