//! The node's pod networks from Calico IPAM, through real daemons: a block
//! affinity written while `nodebgp run` works is announced to a real FRR and
//! withdrawn when it goes; pools that are disabled or kept from BGP stay off
//! the wire; two daemons sharing a real etcd learn each other's blocks over
//! the mesh and install them, with the blackholes of their own blocks and
//! the IPIP pool's routes through `tunl0`, into network namespaces the test
//! makes.

use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use lab::{Kind, NeighborSpec, Router, RouterSpec};
use nodebgp_interop::daemon::{
    address, apply, eventually, global_peer, resources, resources_in, scratch, Daemon,
};
use nodebgp_interop::netns::Namespace;
use serde_json::Value;

fn pool(name: &str, cidr: &str, extra: &str) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {{name: {name}}}\nspec: {{cidr: {cidr}{extra}}}\n---\n"
    )
}

/// A confirmed block affinity, named as Calico names it.
fn affinity(node: &str, cidr: &str) -> String {
    let name = format!("{node}-{}", cidr.replace(['.', '/'], "-"));
    format!(
        "apiVersion: projectcalico.org/v3\nkind: BlockAffinity\nmetadata: {{name: {name}}}\nspec: {{node: {node}, cidr: {cidr}, state: confirmed, deleted: \"false\"}}\n---\n"
    )
}

fn frr_peering_with(ours: IpAddr, theirs: IpAddr, name: &str) -> Router {
    Router::start(
        RouterSpec::new(Kind::Frr, name, theirs, 65100).neighbor(
            NeighborSpec::new(ours, 64512)
                .with_connect_retry(1)
                .with_hold_time(9),
        ),
    )
    .unwrap()
}

fn received(router: &Router, from: IpAddr) -> Vec<String> {
    router.received_prefixes(from).unwrap_or_default()
}

/// Announced within a second of the write (the bound here is looser, for
/// loaded machines; the time is printed), withdrawn when the affinity goes.
#[test]
fn a_block_affinity_written_while_running_is_announced_and_withdrawn_with_it() {
    lab::require(Kind::Frr);
    let (ours, theirs) = (address(), address());
    let directory = scratch("pods-frr");
    let router = frr_peering_with(ours, theirs, "pods-frr");
    apply(&directory, &global_peer(theirs, "65100"));
    let daemon = Daemon::start(&directory, "node-1", ours, "64512", &[]);
    daemon.wait_for(theirs, "Established");
    apply(&directory, &pool("pods", "10.65.0.0/16", ""));

    let written = Instant::now();
    apply(&directory, &affinity("node-1", "10.65.1.0/26"));
    eventually("FRR has the block", || {
        received(&router, ours).contains(&"10.65.1.0/26".to_owned())
    });
    let announced = written.elapsed();
    eprintln!(
        "block announced {} ms after the write",
        announced.as_millis()
    );
    assert!(announced < Duration::from_secs(3), "{announced:?}");
    // Only the block: nothing of another node, nothing more specific.
    assert_eq!(received(&router, ours), ["10.65.1.0/26"]);
    // `status` says what the node originates from IPAM, and that the
    // cluster's export filter is on.
    let status = daemon.try_status().unwrap();
    assert_eq!(
        status["pod_networks"]["originated"],
        serde_json::json!(["10.65.1.0/26"])
    );
    assert_eq!(
        status["pod_networks"]["blackholes"],
        serde_json::json!(["10.65.1.0/26"])
    );
    assert_eq!(status["pod_networks"]["export_filter"], true);

    let deleted = resources("delete", &directory, &affinity("node-1", "10.65.1.0/26"));
    assert!(deleted.status.success(), "{deleted:?}");
    let written = Instant::now();
    eventually("FRR no longer has the block", || {
        received(&router, ours).is_empty()
    });
    eprintln!(
        "block withdrawn {} ms after the deletion",
        written.elapsed().as_millis()
    );
}

#[test]
fn blocks_of_disabled_or_unexported_pools_stay_off_the_wire() {
    lab::require(Kind::Frr);
    let (ours, theirs) = (address(), address());
    let directory = scratch("pods-export");
    let router = frr_peering_with(ours, theirs, "pods-export");
    apply(&directory, &global_peer(theirs, "65100"));
    let daemon = Daemon::start(&directory, "node-1", ours, "64512", &[]);
    daemon.wait_for(theirs, "Established");
    let cluster = [
        pool("kept", "10.66.0.0/16", ", disableBGPExport: true"),
        pool("off", "10.67.0.0/16", ", disabled: true"),
        pool("pods", "10.65.0.0/16", ""),
        affinity("node-1", "10.66.1.0/26"),
        affinity("node-1", "10.67.1.0/26"),
        affinity("node-1", "10.65.1.0/26"),
        // Another node's block is not ours to announce.
        affinity("node-2", "10.65.2.0/26"),
    ]
    .concat();
    apply(&directory, &cluster);
    // Written together: once the exported block is there, the others
    // would have come with it.
    eventually("FRR has the exported block", || {
        received(&router, ours).contains(&"10.65.1.0/26".to_owned())
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(received(&router, ours), ["10.65.1.0/26"]);
    // Exporting the pool again announces its block, live.
    apply(
        &directory,
        &pool("kept", "10.66.0.0/16", ", disableBGPExport: false"),
    );
    eventually("FRR has the block of the pool exported again", || {
        received(&router, ours).contains(&"10.66.1.0/26".to_owned())
    });
}

/// `ip -j route show <prefix>` in `namespace`: the route, if there is one.
fn kernel_route(namespace: &Namespace, prefix: &str) -> Option<Value> {
    let output = Command::new("ip")
        .args([
            "-n",
            namespace.name(),
            "-j",
            "route",
            "show",
            "exact",
            prefix,
        ])
        .output()
        .unwrap();
    let routes: Value = serde_json::from_slice(&output.stdout).ok()?;
    routes.as_array()?.first().cloned()
}

/// A namespace for one node's kernel routes: the 198.51.100.0/24 network
/// the nodes' next hops are on, and a `tunl0` device: the real IPIP one
/// where the kernel has it, else a veth end of that name (the route's
/// shape, `via … dev tunl0 onlink`, is the same).
fn node_namespace(purpose: &str) -> Option<(Namespace, &'static str)> {
    let namespace = Namespace::create(purpose)?;
    namespace.add_network("198.51.100.1/24");
    let ipip = Command::new("ip")
        .args([
            "-n",
            namespace.name(),
            "link",
            "add",
            "tunl0",
            "type",
            "ipip",
        ])
        .output()
        .is_ok_and(|output| output.status.success());
    let kind = if ipip {
        "ipip"
    } else {
        namespace.run(&[
            "link",
            "add",
            "tunl0",
            "type",
            "veth",
            "peer",
            "name",
            "tunl0-peer",
        ]);
        namespace.run(&["link", "set", "tunl0-peer", "up"]);
        "veth (no ipip module in this kernel)"
    };
    namespace.run(&["link", "set", "tunl0", "up"]);
    eprintln!("{purpose}: tunl0 is {kind}");
    Some((namespace, kind))
}

#[test]
fn two_nodes_sharing_etcd_learn_each_others_blocks_and_install_them() {
    let Some((namespace_a, _)) = node_namespace("pods-a") else {
        return;
    };
    let Some((namespace_b, _)) = node_namespace("pods-b") else {
        return;
    };
    let etcd = lab::Etcd::start("pods").unwrap_or_else(|error| panic!("{error}"));
    let datastore = format!("etcdv3:{}", etcd.endpoint());
    let (a, b) = (address(), address());
    let cluster = format!(
        "\
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {{name: default}}
spec: {{nodeToNodeMeshEnabled: true, asNumber: 64512}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {{name: node-a}}
spec: {{bgp: {{ipv4Address: {a}/32}}}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {{name: node-b}}
spec: {{bgp: {{ipv4Address: {b}/32}}}}
---
{}{}{}{}{}{}",
        pool("plain", "10.65.0.0/16", ""),
        pool("tunnelled", "10.66.0.0/16", ", ipipMode: Always"),
        affinity("node-a", "10.65.1.0/26"),
        affinity("node-a", "10.66.1.0/26"),
        affinity("node-b", "10.65.2.0/26"),
        affinity("node-b", "10.66.2.0/26"),
    );
    let created = resources_in("create", &datastore, &cluster);
    assert!(created.status.success(), "{created:?}");
    let start = |node: &str, address: IpAddr, next_hop: &str, namespace: &Namespace| {
        let directory = scratch(&format!("pods-{node}"));
        let daemon = Daemon::start_with(
            &directory,
            &datastore,
            node,
            address,
            "64512",
            &[
                "--fib-netns",
                namespace.name(),
                "--no-graceful-restart",
                "--ipv4-next-hop",
                next_hop,
            ],
        );
        // The directory lives as long as the daemon that uses it: bound
        // before it below, it is dropped (removed) after the daemon is.
        (directory, daemon)
    };
    let (_directory_a, daemon_a) = start("node-a", a, "198.51.100.11", &namespace_a);
    let (_directory_b, daemon_b) = start("node-b", b, "198.51.100.12", &namespace_b);
    daemon_a.wait_for(b, "Established");
    daemon_b.wait_for(a, "Established");

    for (namespace, own, other, gateway) in [
        (&namespace_a, "1", "2", "198.51.100.12"),
        (&namespace_b, "2", "1", "198.51.100.11"),
    ] {
        for pool in ["65", "66"] {
            let block = format!("10.{pool}.{own}.0/26");
            eventually(&format!("the blackhole of {block}"), || {
                kernel_route(namespace, &block).is_some_and(|route| route["type"] == "blackhole")
            });
        }
        let plain = format!("10.65.{other}.0/26");
        eventually(&format!("{plain} via {gateway}"), || {
            kernel_route(namespace, &plain).is_some_and(|route| route["gateway"] == gateway)
        });
        let route = kernel_route(namespace, &plain).unwrap();
        assert_eq!(route["dev"], "v0", "a plain pool's route: {route}");
        let tunnelled = format!("10.66.{other}.0/26");
        eventually(&format!("{tunnelled} through tunl0"), || {
            kernel_route(namespace, &tunnelled).is_some_and(|route| route["dev"] == "tunl0")
        });
        let route = kernel_route(namespace, &tunnelled).unwrap();
        assert_eq!(route["gateway"], gateway, "{route}");
        let flags = route["flags"].as_array().cloned().unwrap_or_default();
        assert!(flags.iter().any(|flag| flag == "onlink"), "{route}");
    }

    // IPAM gives node-b's plain block up: node-a's route to it goes, and
    // so does node-b's blackhole.
    let released = resources_in("delete", &datastore, &affinity("node-b", "10.65.2.0/26"));
    assert!(released.status.success(), "{released:?}");
    eventually("node-a's route to the released block gone", || {
        kernel_route(&namespace_a, "10.65.2.0/26").is_none()
    });
    eventually("node-b's blackhole of it gone", || {
        kernel_route(&namespace_b, "10.65.2.0/26").is_none()
    });
    assert!(kernel_route(&namespace_a, "10.66.2.0/26").is_some());
}
