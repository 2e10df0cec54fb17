//! Calico v3 resources driving real daemons: two `nodebgp run` daemons (two node
//! names, two loopback addresses) sharing one datastore with Node resources and
//! the node-to-node mesh on peer with each other; a v3 BGPPeer whose
//! `nodeSelector` matches one node's labels makes only that daemon peer with a lab
//! FRR (with a TCP MD5 password read from a file). Once with a real etcd (v3 API,
//! Calico's v3 key layout), once with the embedded file store.

use std::net::IpAddr;
use std::path::Path;
use std::time::Instant;

use lab::{Kind, NeighborSpec, PeerState, Router, RouterSpec};
use nodebgp_interop::daemon::{address, nodebgp, resources_in, scratch, store_url, Daemon, UP};

/// The cluster: mesh on, AS 64512; two nodes in racks a and b; a top-of-rack
/// peer for rack a only, its password in `password_file`.
fn cluster(a: IpAddr, b: IpAddr, tor: IpAddr, password_file: &Path) -> String {
    format!(
        "\
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
spec:
  nodeToNodeMeshEnabled: true
  asNumber: 64512
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-a
  labels: {{rack: a}}
spec:
  bgp:
    ipv4Address: {a}/32
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-b
  labels: {{rack: b}}
spec:
  bgp:
    ipv4Address: {b}/32
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: rack-a-tor
spec:
  nodeSelector: rack == 'a'
  peerIP: {tor}
  asNumber: 65200
  password:
    file: {}
  keepaliveTime: 3s
",
        password_file.display()
    )
}

/// Two daemons on `datastore` form the mesh, and only node-a peers with FRR.
fn mesh_and_node_selector(name: &str, datastore_of: impl Fn(&Path) -> String) {
    lab::require(Kind::Frr);
    let (a, b, tor) = (address(), address(), address());
    let directory = scratch(name);
    let datastore = datastore_of(&directory);
    let password_file = directory.join("tor.password");
    std::fs::write(&password_file, "mesh-s3cret\n").unwrap();
    let router = Router::start(
        RouterSpec::new(Kind::Frr, format!("{name}-tor"), tor, 65200).neighbor(
            NeighborSpec::new(a, 64512)
                .with_connect_retry(1)
                .with_hold_time(9)
                .with_password("mesh-s3cret"),
        ),
    )
    .unwrap();
    let applied = resources_in("apply", &datastore, &cluster(a, b, tor, &password_file));
    assert!(applied.status.success(), "{applied:?}");
    assert_eq!(
        String::from_utf8_lossy(&applied.stdout).trim(),
        "Successfully applied 4 resource(s)"
    );

    let (directory_a, directory_b) = (directory.join("a"), directory.join("b"));
    std::fs::create_dir_all(&directory_a).unwrap();
    std::fs::create_dir_all(&directory_b).unwrap();
    // Neither daemon is told about the other: the Node resources are the mesh.
    let daemon_a = Daemon::start_with(&directory_a, &datastore, "node-a", a, "64512", &[]);
    let daemon_b = Daemon::start_with(&directory_b, &datastore, "node-b", b, "64512", &[]);

    let b_seen_by_a = daemon_a.wait_for(b, "Established");
    let a_seen_by_b = daemon_b.wait_for(a, "Established");
    assert_eq!(b_seen_by_a["peer_as"], 64512);
    assert_eq!(a_seen_by_b["peer_as"], 64512);

    // The nodeSelector peer: node-a (rack a) peers with FRR over MD5 ...
    daemon_a.wait_for(tor, "Established");
    router
        .wait_for_state(a, PeerState::Established, UP)
        .unwrap();
    // ... and node-b, which read the same store to build its mesh, does not.
    assert!(
        daemon_b.peer(tor).is_none(),
        "node-b must not peer with rack a's switch: {:?}",
        daemon_b.try_status()
    );
    assert_eq!(
        daemon_b.try_status().unwrap()["peers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Turning the mesh off ends both mesh sessions, live, and leaves FRR's.
    let mesh_off = "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {nodeToNodeMeshEnabled: false, asNumber: 64512}\n";
    let replaced = resources_in("replace", &datastore, mesh_off);
    assert!(replaced.status.success(), "{replaced:?}");
    let deadline = Instant::now() + UP;
    while daemon_a.peer(b).is_some() || daemon_b.peer(a).is_some() {
        assert!(
            Instant::now() < deadline,
            "the mesh sessions are still running"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(daemon_a.peer(tor).unwrap()["state"], "Established");
}

#[test]
fn two_daemons_sharing_etcd_form_the_mesh_and_a_node_selector_picks_one() {
    let etcd = lab::Etcd::start("mesh").unwrap_or_else(|error| panic!("{error}"));
    let datastore = format!("etcdv3:{}", etcd.endpoint());
    mesh_and_node_selector("mesh-etcd", |_| datastore.clone());
}

#[test]
fn two_daemons_sharing_a_file_store_form_the_mesh_and_a_node_selector_picks_one() {
    mesh_and_node_selector("mesh-file", store_url);
}

/// Whether a connection from `from` to `to` without a TCP MD5 signature is
/// accepted within a second (a listener holding a key for `from` drops the
/// unsigned SYN: RFC 2385).
fn unsigned_connection_accepted(from: IpAddr, to: std::net::SocketAddr) -> bool {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .unwrap();
    socket
        .bind(&std::net::SocketAddr::new(from, 0).into())
        .unwrap();
    socket
        .connect_timeout(&to.into(), std::time::Duration::from_secs(1))
        .is_ok()
}

/// BGPConfiguration `nodeMeshPassword` (here `{file: PATH}`, nodebgp's form
/// beside Calico's Kubernetes Secret): the mesh sessions are signed.
#[test]
fn the_mesh_runs_signed_with_the_mesh_password() {
    let (a, b) = (address(), address());
    let directory = scratch("mesh-password");
    let datastore = store_url(&directory);
    let key = directory.join("mesh.key");
    std::fs::write(&key, "mesh-s3cret\n").unwrap();
    let cluster = format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {{name: default}}\nspec: {{asNumber: 64512, nodeMeshPassword: {{file: {}}}}}\n---\n\
         apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {{name: node-a}}\nspec: {{bgp: {{ipv4Address: {a}/32}}}}\n---\n\
         apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {{name: node-b}}\nspec: {{bgp: {{ipv4Address: {b}/32}}}}\n",
        key.display()
    );
    let applied = resources_in("apply", &datastore, &cluster);
    assert!(applied.status.success(), "{applied:?}");
    let (directory_a, directory_b) = (directory.join("a"), directory.join("b"));
    std::fs::create_dir_all(&directory_a).unwrap();
    std::fs::create_dir_all(&directory_b).unwrap();
    let daemon_a = Daemon::start_with(&directory_a, &datastore, "node-a", a, "64512", &[]);
    let daemon_b = Daemon::start_with(&directory_b, &datastore, "node-b", b, "64512", &[]);
    daemon_a.wait_for(b, "Established");
    daemon_b.wait_for(a, "Established");
    // Signed: the other node's address gets nowhere without the key.
    assert!(!unsigned_connection_accepted(
        b,
        std::net::SocketAddr::new(a, 179)
    ));
}

/// Calico 3.31's automatic reverse peering: one BGPPeer from the clients to
/// the route reflectors (`peerSelector`) makes the reflector peer back. The
/// client's own session is passive (its address string is the lower one,
/// Calico's rule), so only the reverse peering can bring the session up;
/// `reversePeering: Manual` takes it away again.
#[test]
fn a_peer_selector_peering_is_peered_back_by_the_node_it_selects() {
    let (first, second) = (address(), address());
    // The reflector gets the higher address string: the client waits.
    let (client, reflector) = if first.to_string() < second.to_string() {
        (first, second)
    } else {
        (second, first)
    };
    let directory = scratch("reverse-peering");
    let datastore = store_url(&directory);
    let peering = |mode: &str| {
        format!(
            "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {{name: to-reflectors}}\nspec: {{nodeSelector: '!has(route-reflector)', peerSelector: has(route-reflector), reversePeering: {mode}}}\n"
        )
    };
    let cluster = format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {{name: default}}\nspec: {{nodeToNodeMeshEnabled: false, asNumber: 64512}}\n---\n\
         apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {{name: client}}\nspec: {{bgp: {{ipv4Address: {client}/32}}}}\n---\n\
         apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {{name: reflector, labels: {{route-reflector: 'true'}}}}\nspec: {{bgp: {{ipv4Address: {reflector}/32, routeReflectorClusterID: 224.0.0.1}}}}\n---\n{}",
        peering("Auto")
    );
    let applied = resources_in("apply", &datastore, &cluster);
    assert!(applied.status.success(), "{applied:?}");
    let (directory_client, directory_reflector) = (directory.join("c"), directory.join("r"));
    std::fs::create_dir_all(&directory_client).unwrap();
    std::fs::create_dir_all(&directory_reflector).unwrap();
    let client_daemon = Daemon::start_with(
        &directory_client,
        &datastore,
        "client",
        client,
        "64512",
        &[],
    );
    let reflector_daemon = Daemon::start_with(
        &directory_reflector,
        &datastore,
        "reflector",
        reflector,
        "64512",
        &[],
    );
    client_daemon.wait_for(reflector, "Established");
    let back = reflector_daemon.wait_for(client, "Established");
    assert_eq!(back["kind"], "node", "{back:#}");

    let manual = resources_in("apply", &datastore, &peering("Manual"));
    assert!(manual.status.success(), "{manual:?}");
    let deadline = Instant::now() + UP;
    while reflector_daemon.peer(client).is_some() {
        assert!(
            Instant::now() < deadline,
            "the reflector still peers back under reversePeering: Manual"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn get_prints_every_kind_in_a_form_create_reads_back() {
    let directory = scratch("mesh-get");
    let datastore = store_url(&directory);
    let (a, b, tor) = (address(), address(), address());
    let applied = resources_in(
        "create",
        &datastore,
        &cluster(a, b, tor, &directory.join("password")),
    );
    assert!(applied.status.success(), "{applied:?}");
    for (kind, count) in [("nodes", 2), ("bgppeer", 1), ("BGPConfig", 1)] {
        for format in ["yaml", "json"] {
            let got = std::process::Command::new(nodebgp())
                .args(["get", kind, "-o", format, "--datastore", &datastore])
                .output()
                .unwrap();
            assert!(got.status.success(), "{got:?}");
            let text = String::from_utf8(got.stdout).unwrap();
            // Delete what was printed, then create it again from the same text.
            let deleted = resources_in("delete", &datastore, &text);
            assert_eq!(
                String::from_utf8_lossy(&deleted.stdout).trim(),
                format!(
                    "Successfully deleted {count} '{}' resource(s)",
                    match kind {
                        "nodes" => "Node",
                        "bgppeer" => "BGPPeer",
                        _ => "BGPConfiguration",
                    }
                ),
                "{kind} {format}: {deleted:?}\n{text}"
            );
            let created = resources_in("create", &datastore, &text);
            assert!(created.status.success(), "{kind} {format}: {created:?}");
        }
    }
    // One name, and an unknown type.
    let one = std::process::Command::new(nodebgp())
        .args([
            "get",
            "node",
            "node-b",
            "-o",
            "json",
            "--datastore",
            &datastore,
        ])
        .output()
        .unwrap();
    // calicoctl prints a named resource as one object, a listing as a
    // <Kind>List with items.
    let node: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(node["kind"], "Node");
    assert_eq!(node["metadata"]["name"], "node-b");
    let all = std::process::Command::new(nodebgp())
        .args(["get", "nodes", "-o", "json", "--datastore", &datastore])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    assert_eq!(list["kind"], "NodeList");
    assert_eq!(list["apiVersion"], "projectcalico.org/v3");
    assert!(list["items"].as_array().unwrap().len() >= 2, "{list:#}");
    let unknown = std::process::Command::new(nodebgp())
        .args(["get", "hostendpoint", "--datastore", &datastore])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr)
        .contains("Resource type 'hostendpoint' is not supported"));
    // An invalid document anywhere leaves the store as it was, and exits non-zero.
    let before = std::fs::read(directory.join("store").join("store.yaml")).unwrap();
    let invalid = "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: node-c}\n---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: both}\nspec: {node: node-a, nodeSelector: all(), peerIP: 10.0.0.1, asNumber: 1}\n";
    let refused = resources_in("apply", &datastore, invalid);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(
            "BGPPeer(both): error with field node = 'node-a' (Node field must be empty when NodeSelector is specified)"
        ),
        "{refused:?}"
    );
    assert_eq!(
        std::fs::read(directory.join("store").join("store.yaml")).unwrap(),
        before
    );
}
