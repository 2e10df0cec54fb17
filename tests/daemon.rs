//! `nodebgp run` as an operator runs it: bgpPeer resources applied to the
//! embedded datastore with `nodebgp apply`, the daemon started with flags,
//! its state read with `nodebgp status -o json`, and real FRR routers as peers.

use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use lab::{Kind, NeighborSpec, PeerState, Router, RouterSpec};
use nodebgp_interop::daemon::{
    address, global_peer, nodebgp, resources, resources_in, scratch, store_url, Daemon, UP,
};
use serde_json::Value;

#[test]
fn the_daemon_peers_with_frr_from_a_bgp_peer_in_the_embedded_store() {
    lab::require(Kind::Frr);
    let (ours, theirs) = (address(), address());
    let directory = scratch("frr");
    let router = Router::start(
        RouterSpec::new(Kind::Frr, "daemon-frr", theirs, 4_200_000_001)
            .neighbor(
                NeighborSpec::new(ours, 64512)
                    .with_connect_retry(1)
                    .with_hold_time(9),
            )
            .route("10.61.0.0/24"),
    )
    .unwrap();
    // The peer's AS in asdot, as Calico accepts it.
    let applied = resources("apply", &directory, &global_peer(theirs, "\"64086.59905\""));
    assert!(applied.status.success(), "{applied:?}");
    let daemon = Daemon::start(
        &directory,
        "node-1",
        ours,
        "64512",
        &["--advertise", "10.60.0.0/24"],
    );
    let peer = daemon.wait_for(theirs, "Established");
    assert_eq!(peer["peer_as"], 4_200_000_001u64);
    assert_eq!(peer["hold_time"], 9);
    router
        .wait_for_state(ours, PeerState::Established, UP)
        .unwrap();
    router
        .wait_for_prefixes(ours, &["10.60.0.0/24"], UP)
        .expect("FRR learns the node's prefix");
    let deadline = Instant::now() + UP;
    while daemon.peer(theirs).unwrap()["prefixes"]["received"] != 1 {
        assert!(
            Instant::now() < deadline,
            "FRR's prefix never arrived: {:?}",
            daemon.peer(theirs)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn peers_are_added_and_removed_live_and_other_nodes_peers_are_ignored() {
    lab::require(Kind::Frr);
    let (ours, first, second) = (address(), address(), address());
    let directory = scratch("live");
    let frr_one = Router::start(
        RouterSpec::new(Kind::Frr, "live-one", first, 65101)
            .neighbor(NeighborSpec::new(ours, 64512).with_connect_retry(1)),
    )
    .unwrap();
    let frr_two = Router::start(
        RouterSpec::new(Kind::Frr, "live-two", second, 65102)
            .neighbor(NeighborSpec::new(ours, 64512).with_connect_retry(1)),
    )
    .unwrap();
    let daemon = Daemon::start(&directory, "node-1", ours, "64512", &[]);
    assert_eq!(daemon.try_status().unwrap()["peers"], serde_json::json!([]));

    assert!(resources("apply", &directory, &global_peer(first, "65101"))
        .status
        .success());
    daemon.wait_for(first, "Established");

    // A node peer for another node is not this node's business.
    let other = format!(
        "apiVersion: v1\nkind: bgpPeer\nmetadata:\n  scope: node\n  node: node-2\n  peerIP: {second}\nspec:\n  asNumber: 65102\n"
    );
    assert!(resources("apply", &directory, &other).status.success());
    // The same peer for this node is.
    let mine = other.replace("node-2", "node-1");
    assert!(resources("apply", &directory, &mine).status.success());
    daemon.wait_for(second, "Established");
    assert_eq!(
        daemon.try_status().unwrap()["peers"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    assert!(
        resources("delete", &directory, &global_peer(first, "65101"))
            .status
            .success()
    );
    let deadline = Instant::now() + UP;
    while daemon.peer(first).is_some() {
        assert!(
            Instant::now() < deadline,
            "the deleted peer is still running"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    frr_one
        .wait_for_state_where(first, "leave Established", UP, |state| {
            state != PeerState::Established
        })
        .unwrap();
    let reason = frr_one.last_error(ours).unwrap().unwrap_or_default();
    assert!(reason.contains("De-configured"), "FRR saw: {reason}");
    // The other session was not disturbed.
    assert_eq!(daemon.peer(second).unwrap()["state"], "Established");
    frr_two
        .wait_for_state(ours, PeerState::Established, UP)
        .unwrap();
}

#[test]
fn a_terminated_daemon_says_goodbye_with_an_administrative_shutdown() {
    lab::require(Kind::Frr);
    let (ours, theirs) = (address(), address());
    let directory = scratch("term");
    let router = Router::start(
        RouterSpec::new(Kind::Frr, "term-frr", theirs, 65110)
            .neighbor(NeighborSpec::new(ours, 64512).with_connect_retry(1)),
    )
    .unwrap();
    assert!(
        resources("apply", &directory, &global_peer(theirs, "65110"))
            .status
            .success()
    );
    // Without graceful restart, SIGTERM is a full stop (with it, a restart
    // that leaves without a word: tests/routes.rs).
    let mut daemon = Daemon::start(
        &directory,
        "node-1",
        ours,
        "64512",
        &["--no-graceful-restart"],
    );
    daemon.wait_for(theirs, "Established");
    daemon.terminate();
    router
        .wait_for_state_where(ours, "leave Established", UP, |state| {
            state != PeerState::Established
        })
        .unwrap();
    let reason = router.last_error(ours).unwrap().unwrap_or_default();
    assert!(
        reason.contains("Administrative Shutdown"),
        "FRR saw: {reason}"
    );
}

#[test]
fn bad_resources_are_refused_and_leave_the_store_as_it_was() {
    let directory = scratch("invalid");
    let good = global_peer("192.0.2.10".parse().unwrap(), "65010");
    assert!(resources("apply", &directory, &good).status.success());
    let bad = format!(
        "{good}---\n{}",
        global_peer("192.0.2.11".parse().unwrap(), "\"65536.1\"")
    );
    let refused = resources("apply", &directory, &bad);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("asNumber") && message.contains("65536.1"),
        "{message}"
    );
    let listed = Command::new(nodebgp())
        .args([
            "get",
            "bgppeers",
            "-o",
            "json",
            "--datastore",
            &store_url(&directory),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("192.0.2.10") && !text.contains("192.0.2.11"),
        "{text}"
    );
}

#[test]
fn the_daemon_takes_its_peers_from_etcd_live() {
    lab::require(Kind::Frr);
    let etcd = lab::Etcd::start("daemon").unwrap_or_else(|error| panic!("{error}"));
    let datastore = format!("etcdv3:{}", etcd.endpoint());
    let (ours, theirs) = (address(), address());
    let directory = scratch("etcd");
    let router = Router::start(
        RouterSpec::new(Kind::Frr, "etcd-frr", theirs, 65120)
            .neighbor(NeighborSpec::new(ours, 64512).with_connect_retry(1)),
    )
    .unwrap();
    let daemon = Daemon::start_with(&directory, &datastore, "node-1", ours, "64512", &[]);
    assert_eq!(daemon.try_status().unwrap()["peers"], serde_json::json!([]));
    // Written to etcd after the daemon started: picked up without a restart.
    let applied = resources_in("apply", &datastore, &global_peer(theirs, "65120"));
    assert!(applied.status.success(), "{applied:?}");
    daemon.wait_for(theirs, "Established");
    router
        .wait_for_state(ours, PeerState::Established, UP)
        .unwrap();
    let deleted = resources_in("delete", &datastore, &global_peer(theirs, "65120"));
    assert!(deleted.status.success(), "{deleted:?}");
    let deadline = Instant::now() + UP;
    while daemon.peer(theirs).is_some() {
        assert!(
            Instant::now() < deadline,
            "the deleted peer is still running"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_daemon_reads_a_calico_v1_datastore_through_the_etcd_v2_api() {
    lab::require(Kind::Frr);
    let etcd = lab::Etcd::start_with_v2("daemon-v2").unwrap_or_else(|error| panic!("{error}"));
    let datastore = format!("etcdv2:{}", etcd.endpoint());
    let (ours, theirs) = (address(), address());
    let directory = scratch("etcdv2");
    let router = Router::start(
        RouterSpec::new(Kind::Frr, "etcdv2-frr", theirs, 65130)
            .neighbor(NeighborSpec::new(ours, 64512).with_connect_retry(1)),
    )
    .unwrap();
    // A node peer in Calico v1's layout, /calico/bgp/v1/host/node-1/peer_v4/<ip>.
    let peer = format!(
        "apiVersion: v1\nkind: bgpPeer\nmetadata:\n  scope: node\n  node: node-1\n  peerIP: {theirs}\nspec:\n  asNumber: 65130\n"
    );
    let applied = resources_in("apply", &datastore, &peer);
    assert!(applied.status.success(), "{applied:?}");
    let daemon = Daemon::start_with(&directory, &datastore, "node-1", ours, "64512", &[]);
    daemon.wait_for(theirs, "Established");
    router
        .wait_for_state(ours, PeerState::Established, UP)
        .unwrap();
}

#[test]
fn changing_one_peers_as_restarts_that_session_only() {
    lab::require(Kind::Frr);
    let (ours, first, second) = (address(), address(), address());
    let directory = scratch("as-change");
    let _one = Router::start(
        RouterSpec::new(Kind::Frr, "as-one", first, 65141)
            .neighbor(NeighborSpec::new(ours, 64512).with_connect_retry(1)),
    )
    .unwrap();
    let two = Router::start(
        RouterSpec::new(Kind::Frr, "as-two", second, 65142)
            .neighbor(NeighborSpec::new(ours, 64512).with_connect_retry(1)),
    )
    .unwrap();
    let both = format!(
        "{}---\n{}",
        global_peer(first, "65141"),
        global_peer(second, "65142")
    );
    assert!(resources("apply", &directory, &both).status.success());
    let daemon = Daemon::start(&directory, "node-1", ours, "64512", &[]);
    daemon.wait_for(first, "Established");
    let untouched = daemon.wait_for(second, "Established");
    // The first peer's AS changes (to one FRR does not have): its session
    // restarts and fails with Bad Peer AS; the second one is left alone.
    assert!(resources("apply", &directory, &global_peer(first, "65199"))
        .status
        .success());
    let deadline = Instant::now() + UP;
    loop {
        let peer = daemon.peer(first).unwrap();
        if peer["peer_as"] == 65199
            && peer["last_error"]
                .as_str()
                .is_some_and(|error| error.contains("Bad Peer AS"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the changed peer did not restart: {peer}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let second_now = daemon.peer(second).unwrap();
    assert_eq!(second_now["state"], "Established");
    assert!(second_now["since_seconds"].as_u64() >= untouched["since_seconds"].as_u64());
    // FRR counts the sessions it has seen come up with us: still one.
    assert_eq!(
        connections_established(&two, ours),
        1,
        "the untouched session was restarted"
    );
}

/// How many times FRR saw its session with `peer` reach Established.
fn connections_established(router: &Router, peer: IpAddr) -> u64 {
    let text = router
        .cli(&[&format!("show bgp neighbors {peer} json")])
        .expect("vtysh answers");
    let json: Value = serde_json::from_str(&text).expect("vtysh prints JSON");
    json[peer.to_string()]["connectionsEstablished"]
        .as_u64()
        .unwrap_or_else(|| panic!("no connectionsEstablished in {json}"))
}

#[test]
fn an_unreachable_etcd_leaves_running_sessions_up() {
    lab::require(Kind::Frr);
    let etcd = lab::Etcd::start("unreachable").unwrap_or_else(|error| panic!("{error}"));
    let datastore = format!("etcdv3:{}", etcd.endpoint());
    let (ours, theirs) = (address(), address());
    let directory = scratch("unreachable");
    let router = Router::start(
        RouterSpec::new(Kind::Frr, "unreachable-frr", theirs, 65150)
            .neighbor(NeighborSpec::new(ours, 64512).with_connect_retry(1)),
    )
    .unwrap();
    assert!(
        resources_in("apply", &datastore, &global_peer(theirs, "65150"))
            .status
            .success()
    );
    let daemon = Daemon::start_with(&directory, &datastore, "node-1", ours, "64512", &[]);
    let before = daemon.wait_for(theirs, "Established");
    drop(etcd);
    // Several failed reads (1 s, 2 s, 4 s apart), seen in the log: the
    // session must not notice.
    let log = directory.join("nodebgp.log");
    let failed_reads = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("cannot read peers; sessions left as they are")
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while failed_reads() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon never failed three reads: {} in the log",
            failed_reads()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let after = daemon.peer(theirs).expect("the peer is still configured");
    assert_eq!(after["state"], "Established");
    assert!(after["since_seconds"].as_u64() > before["since_seconds"].as_u64());
    // No flap hidden between two looks: FRR saw the session come up once.
    assert_eq!(
        connections_established(&router, ours),
        1,
        "the session went down and up while etcd was away"
    );
}
