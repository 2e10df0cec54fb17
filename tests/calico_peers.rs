//! Calico's per-peer BGPPeer settings through `nodebgp run` against real
//! FRR: `nextHopMode` decides the next hop an iBGP peer sees on a route
//! learned over eBGP; `localASNumber` is the AS FRR sees in the OPEN and in
//! the AS_PATH; `reachableBy` routes the peer through its gateway in the
//! kernel (a namespace of the test's own). And the cluster's `bindMode:
//! NodeIP`: the daemon's listener moves to the node's own address, and back.
//! `localWorkloadSelector`: the node waits for each workload Felix's endpoint
//! status files say the selector picked.

use std::net::IpAddr;

use lab::{Kind, NeighborSpec, Router, RouterSpec};
use nodebgp_interop::daemon::{
    address, apply, eventually, nodebgp, scratch, store_url, Daemon, UP,
};
use nodebgp_interop::netns::Namespace;

fn v3_peer(name: &str, address: IpAddr, asn: u32, extra: &str) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {{name: {name}}}\nspec: {{peerIP: {address}, asNumber: {asn}{extra}}}\n---\n"
    )
}

fn frr(name: &str, address: IpAddr, asn: u32, ours: IpAddr) -> RouterSpec {
    frr_expecting(name, address, asn, ours, 64512)
}

/// FRR configured for us in `our_as`.
fn frr_expecting(name: &str, address: IpAddr, asn: u32, ours: IpAddr, our_as: u32) -> RouterSpec {
    RouterSpec::new(Kind::Frr, name, address, asn).neighbor(
        NeighborSpec::new(ours, our_as)
            .with_connect_retry(1)
            .with_hold_time(9),
    )
}

/// The next hop FRR holds for `prefix`, once it has the route.
fn next_hop_at(router: &Router, prefix: &str) -> Option<String> {
    let text = router
        .cli(&[&format!("show bgp ipv4 unicast {prefix} json")])
        .ok()?;
    let detail: serde_json::Value = serde_json::from_str(&text).ok()?;
    detail["paths"][0]["nexthops"][0]["ip"]
        .as_str()
        .map(str::to_owned)
}

fn wait_for_next_hop(router: &Router, prefix: &str, expected: &str) {
    let deadline = std::time::Instant::now() + UP;
    loop {
        let seen = next_hop_at(router, prefix);
        if seen.as_deref() == Some(expected) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "FRR's next hop for {prefix}: {seen:?}, expected {expected}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn next_hop_mode_self_gives_an_ibgp_peer_our_next_hop_and_auto_the_learned_one() {
    lab::require(Kind::Frr);
    let (ours, external, internal) = (address(), address(), address());
    let directory = scratch("next-hop-mode");
    let _external = Router::start(
        frr("nhm-external", external, 65100, ours)
            .route("10.85.0.0/24")
            .next_hop("198.51.100.85".parse().unwrap()),
    )
    .unwrap();
    let internal_router = Router::start(frr("nhm-internal", internal, 64512, ours)).unwrap();
    apply(
        &directory,
        &(v3_peer("external", external, 65100, "")
            + &v3_peer("internal", internal, 64512, ", nextHopMode: Self")),
    );
    let daemon = Daemon::start(&directory, "node-1", ours, "64512", &[]);
    daemon.wait_for(external, "Established");
    daemon.wait_for(internal, "Established");
    wait_for_next_hop(&internal_router, "10.85.0.0/24", &ours.to_string());

    // Auto: over iBGP an eBGP-learned route keeps its next hop (RFC 4271
    // §5.1.3); the changed setting restarts that session.
    apply(
        &directory,
        &v3_peer("internal", internal, 64512, ", nextHopMode: Auto"),
    );
    wait_for_next_hop(&internal_router, "10.85.0.0/24", "198.51.100.85");
}

#[test]
fn local_as_number_is_the_as_frr_sees_and_the_first_in_the_path() {
    lab::require(Kind::Frr);
    let (ours, theirs) = (address(), address());
    let directory = scratch("local-as-number");
    let router = Router::start(frr_expecting("las", theirs, 65200, ours, 64999)).unwrap();
    apply(
        &directory,
        &v3_peer("las", theirs, 65200, ", localASNumber: 64999"),
    );
    let daemon = Daemon::start(
        &directory,
        "node-1",
        ours,
        "64512",
        &["--advertise", "10.86.0.0/24"],
    );
    // FRR takes the session only from AS 64999 (else: Bad Peer AS).
    daemon.wait_for(theirs, "Established");
    assert_eq!(daemon.peer(theirs).unwrap()["local_as"], 64999);
    router
        .wait_for_prefixes(ours, &["10.86.0.0/24"], UP)
        .expect("FRR learns the node's prefix");
    let text = router
        .cli(&["show bgp ipv4 unicast 10.86.0.0/24 json"])
        .unwrap();
    let detail: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        detail["paths"][0]["aspath"]["string"], "64999",
        "{detail:#}"
    );
}

/// Whether a TCP connection to `address` is accepted (the daemon closes it
/// at once: no peer there; what counts is that something listens).
fn accepts(address: std::net::SocketAddr) -> bool {
    std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(1)).is_ok()
}

#[test]
fn bind_mode_node_ip_moves_the_listener_to_the_node_address_and_back() {
    let (ours, elsewhere) = (address(), address());
    let port = lab::free_port(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)).unwrap();
    let directory = scratch("bind-mode");
    let node = format!(
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {{name: node-1}}\nspec: {{bgp: {{ipv4Address: {ours}/32}}}}\n---\n"
    );
    apply(&directory, &node);
    let control = directory.join("nodebgp.ctl");
    let log = std::fs::File::create(directory.join("nodebgp.log")).unwrap();
    // Every address (only a port): what bindMode may narrow.
    let mut child = std::process::Command::new(nodebgp())
        .args(["run", "--node", "node-1", "--as", "64512", "--no-fib"])
        .args(["--router-id", &ours.to_string()])
        .args(["--listen", &format!("0.0.0.0:{port}")])
        .args(["--datastore", &store_url(&directory), "--control-socket"])
        .arg(&control)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let at = |address: IpAddr| std::net::SocketAddr::new(address, port);
    eventually("listening on every address", || accepts(at(elsewhere)));

    let configuration = |mode: &str| {
        format!(
            "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {{name: default}}\nspec: {{bindMode: {mode}}}\n"
        )
    };
    apply(&directory, &configuration("NodeIP"));
    eventually("listening on the node's address only", || {
        !accepts(at(elsewhere)) && accepts(at(ours))
    });
    apply(&directory, &configuration("None"));
    eventually("listening on every address again", || {
        accepts(at(elsewhere))
    });
    let _ = child.kill();
    let _ = child.wait();
}

/// `reachableBy`: the peer's host route goes into the kernel through the
/// gateway while the peer is configured (calico-node's static
/// `route <peer>/32 via <gateway>`), follows a changed gateway without
/// touching the session, and leaves with the field.
#[test]
fn reachable_by_routes_the_peer_through_its_gateway_in_the_kernel() {
    lab::require(Kind::Frr);
    let Some(namespace) = Namespace::create("reachable-by") else {
        return;
    };
    // The gateways must be on a connected network for the kernel to take
    // the route.
    namespace.add_network("198.51.100.1/24");
    let (ours, theirs) = (address(), address());
    let directory = scratch("reachable-by");
    let _router = Router::start(frr("reachable-by", theirs, 65110, ours)).unwrap();
    let with_gateway =
        |gateway: &str| v3_peer("edge", theirs, 65110, &format!(", reachableBy: {gateway}"));
    apply(&directory, &with_gateway("198.51.100.254"));
    let daemon = Daemon::start(
        &directory,
        "node-1",
        ours,
        "64512",
        &["--fib-netns", namespace.name(), "--no-graceful-restart"],
    );
    daemon.wait_for(theirs, "Established");
    let host_route = theirs.to_string();
    eventually("the peer's host route through 198.51.100.254", || {
        namespace.next_hops(&host_route) == ["198.51.100.254"]
    });
    let before = daemon.session_connection(theirs);

    apply(&directory, &with_gateway("198.51.100.253"));
    eventually("the host route through the new gateway", || {
        namespace.next_hops(&host_route) == ["198.51.100.253"]
    });
    apply(&directory, &v3_peer("edge", theirs, 65110, ""));
    eventually("no host route once reachableBy is gone", || {
        namespace.next_hops(&host_route).is_empty()
    });
    daemon.wait_for(theirs, "Established");
    assert_eq!(
        daemon.session_connection(theirs),
        before,
        "a gateway change is no session change"
    );
}

/// `localWorkloadSelector`: Felix evaluates the selector and writes the
/// BGPPeer's name into the selected workload's endpoint status file; the node
/// then waits for that workload (FRR here) to connect, in the BGPPeer's AS,
/// and drops the session when the file goes.
#[test]
fn a_workload_felix_selects_for_local_peering_connects_and_leaves_with_its_status_file() {
    lab::require(Kind::Frr);
    let (ours, workload) = (address(), address());
    let directory = scratch("local-workloads");
    let status_directory = directory.join("endpoint-status");
    std::fs::create_dir_all(&status_directory).unwrap();
    // The workload connects: we are passive towards it.
    let _router = Router::start(frr("local-workload", workload, 65120, ours)).unwrap();
    apply(
        &directory,
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: speakers}\nspec: {localWorkloadSelector: \"app == 'bgp'\", asNumber: 65120}\n",
    );
    let daemon = Daemon::start(
        &directory,
        "node-1",
        ours,
        "64512",
        &["--endpoint-status-dir", status_directory.to_str().unwrap()],
    );
    // Felix writes a file for every workload; only the one the selector
    // picked names the BGPPeer. Both are read in the same pass.
    let unpicked = address();
    std::fs::write(
        status_directory.join("k8s-default-other-eth0"),
        format!(r#"{{"ifaceName":"cali2","ipv4Nets":["{unpicked}/32"]}}"#),
    )
    .unwrap();
    let status_file = status_directory.join("k8s-default-speaker-eth0");
    std::fs::write(
        &status_file,
        format!(r#"{{"ifaceName":"cali1","ipv4Nets":["{workload}/32"],"bgpPeerName":"speakers"}}"#),
    )
    .unwrap();
    let peer = daemon.wait_for(workload, "Established");
    assert_eq!(peer["kind"], "local-workload", "{peer}");
    assert_eq!(
        daemon.peer(unpicked),
        None,
        "not selected: nobody to peer with"
    );

    std::fs::remove_file(&status_file).unwrap();
    eventually("the session ends with the workload's status file", || {
        daemon.peer(workload).is_none()
    });
}
