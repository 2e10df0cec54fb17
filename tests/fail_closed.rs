//! Security fails closed: a peer whose TCP MD5 key cannot be installed, or
//! whose password is empty, is not started, says why in `nodebgp status`, and
//! a real FRR configured with a key gets no session; a password file rotated
//! to the right key applies with no other change in the store.

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use lab::{Kind, NeighborSpec, PeerState, Router, RouterSpec};
use nodebgp_interop::daemon::{address, resources, scratch, Daemon, UP};

/// A v3 BGPPeer whose password is the content of `file`.
fn peer_with_password_file(name: &str, address: IpAddr, asn: u32, file: &Path) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: {name}\nspec:\n  peerIP: {address}\n  asNumber: {asn}\n  password:\n    file: {}\n",
        file.display()
    )
}

fn last_error(daemon: &Daemon, peer: IpAddr) -> String {
    daemon
        .peer(peer)
        .and_then(|report| report["last_error"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[test]
fn peers_whose_md5_key_cannot_be_set_stay_down_until_the_key_is_right() {
    lab::require(Kind::Frr);
    let (ours, long_key_router, empty_key_router) = (address(), address(), address());
    let directory = scratch("fail-closed");
    let password = "s3cret-shared-with-frr";
    let frr = |name: &str, at: IpAddr, asn: u32| {
        Router::start(
            RouterSpec::new(Kind::Frr, name, at, asn).neighbor(
                NeighborSpec::new(ours, 64512)
                    .with_connect_retry(1)
                    .with_hold_time(9)
                    .with_password(password),
            ),
        )
        .unwrap()
    };
    let long_router = frr("closed-long", long_key_router, 65301);
    let empty_router = frr("closed-empty", empty_key_router, 65302);
    // TCP MD5 keys are at most 80 octets (RFC 2385 leaves the length to the
    // implementation; Linux's TCP_MD5SIG_MAXKEYLEN).
    let long_file = directory.join("long.password");
    std::fs::write(&long_file, "k".repeat(100)).unwrap();
    let empty_file = directory.join("empty.password");
    std::fs::write(&empty_file, "\n").unwrap();
    let applied = resources(
        "apply",
        &directory,
        &format!(
            "{}---\n{}",
            peer_with_password_file("long-key", long_key_router, 65301, &long_file),
            peer_with_password_file("empty-key", empty_key_router, 65302, &empty_file)
        ),
    );
    assert!(applied.status.success(), "{applied:?}");
    let daemon = Daemon::start(&directory, "node-1", ours, "64512", &[]);

    // The empty password is refused where the resource is read, naming it;
    // the key the kernel refuses, where the session would start.
    let deadline = Instant::now() + UP;
    let empty_reported = |status: &serde_json::Value| {
        status["ignored"].as_array().is_some_and(|ignored| {
            ignored.iter().any(|entry| {
                entry["name"] == "empty-key"
                    && entry["reason"]
                        .as_str()
                        .is_some_and(|reason| reason.contains("empty"))
            })
        })
    };
    while !(last_error(&daemon, long_key_router).contains("not started")
        && daemon
            .try_status()
            .is_some_and(|status| empty_reported(&status)))
    {
        assert!(
            Instant::now() < deadline,
            "status does not say why: {:?}",
            daemon.try_status()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        last_error(&daemon, long_key_router).contains("TCP MD5"),
        "{}",
        last_error(&daemon, long_key_router)
    );
    assert!(
        daemon.peer(empty_key_router).is_none(),
        "a peer with an empty password must not run"
    );
    assert_eq!(daemon.peer(long_key_router).unwrap()["state"], "Idle");
    // FRR keeps trying (connect retry 1 s) and never gets a session.
    assert!(
        long_router
            .wait_for_state(ours, PeerState::Established, Duration::from_secs(4))
            .is_err(),
        "FRR got a session with a peer that has no key"
    );
    assert!(empty_router
        .wait_for_state(ours, PeerState::Established, Duration::from_secs(1))
        .is_err());

    // The operator rotates the file to the right key: nothing else changes
    // in the store, and the session comes up signed.
    std::fs::write(&long_file, format!("{password}\n")).unwrap();
    daemon.wait_for(long_key_router, "Established");
    long_router
        .wait_for_state(ours, PeerState::Established, UP)
        .unwrap();
    assert!(daemon
        .try_status()
        .is_some_and(|status| empty_reported(&status)));
}

/// A v3 BGPPeer with GTSM (`ttlSecurity`, RFC 5082) of `hops`.
fn peer_with_ttl_security(name: &str, address: IpAddr, asn: u32, hops: u8) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: {name}\nspec:\n  peerIP: {address}\n  asNumber: {asn}\n  ttlSecurity: {hops}\n"
    )
}

/// GTSM fails closed: a peer that does not send with TTL 255 (FRR without
/// `ttl-security` sends eBGP with TTL 1) never gets a session with a node
/// that asks for GTSM, in either direction; with GTSM on both sides it comes
/// up (RFC 5082 §3).
#[test]
fn gtsm_refuses_a_peer_without_it_and_peers_with_one_that_has_it() {
    lab::require(Kind::Frr);
    let (ours, plain, secured) = (address(), address(), address());
    let directory = scratch("gtsm");
    let router = |name: &str, at: IpAddr, asn: u32, gtsm: bool| {
        let neighbor = NeighborSpec::new(ours, 64512)
            .with_connect_retry(1)
            .with_hold_time(9);
        let neighbor = if gtsm {
            neighbor.with_ttl_security(1)
        } else {
            neighbor
        };
        Router::start(RouterSpec::new(Kind::Frr, name, at, asn).neighbor(neighbor)).unwrap()
    };
    let plain_router = router("gtsm-plain", plain, 65401, false);
    let secured_router = router("gtsm-secured", secured, 65402, true);
    let applied = resources(
        "apply",
        &directory,
        &format!(
            "{}---\n{}",
            peer_with_ttl_security("plain", plain, 65401, 1),
            peer_with_ttl_security("secured", secured, 65402, 1)
        ),
    );
    assert!(applied.status.success(), "{applied:?}");
    let daemon = Daemon::start(&directory, "node-1", ours, "64512", &[]);
    daemon.wait_for(secured, "Established");
    secured_router
        .wait_for_state(ours, PeerState::Established, UP)
        .unwrap();
    // Meanwhile both sides have tried the unsecured one many times over.
    assert!(
        plain_router
            .wait_for_state(ours, PeerState::Established, Duration::from_secs(4))
            .is_err(),
        "FRR without GTSM got a session with a node that requires it"
    );
    assert_ne!(daemon.peer(plain).unwrap()["state"], "Established");
}
