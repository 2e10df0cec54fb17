//! Two nodebgp sessions talking to each other over real loopback sockets.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bgp_fsm::{Config, IdleHoldPolicy, StateKind};
use bgp_session::net::{self, SocketOptions};
use bgp_session::{spawn_listener, spawn_peer, PeerConfig, PeerHandle};
use bgp_wire::{Asn, HoldTime, RouterId};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);

struct Speaker {
    address: SocketAddr,
    listener: tokio::net::TcpListener,
}

fn speaker(last_octet: u8) -> Speaker {
    // A distinct loopback address per test process keeps parallel tests apart.
    let address = IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        41 + (std::process::id() % 150) as u8,
        last_octet,
    ));
    let listener = net::listener(SocketAddr::new(address, 0)).expect("listener on loopback");
    let address = listener.local_addr().unwrap();
    Speaker { address, listener }
}

fn peer_config(
    local: &Speaker,
    remote: &Speaker,
    local_as: u32,
    remote_as: u32,
    passive: bool,
) -> PeerConfig {
    let router_id = match local.address.ip() {
        IpAddr::V4(address) => RouterId(address),
        IpAddr::V6(_) => unreachable!(),
    };
    let mut session = Config::new(Asn(local_as), Asn(remote_as), router_id);
    session.passive = passive;
    session.connect_retry = Duration::from_secs(1);
    session.hold_time = HoldTime::new(9).unwrap();
    session.idle_hold = IdleHoldPolicy {
        initial: Duration::from_millis(200),
        maximum: Duration::from_secs(2),
    };
    PeerConfig {
        address: remote.address,
        session,
        socket: SocketOptions {
            local_address: Some(local.address.ip()),
            ..SocketOptions::default()
        },
        connect_timeout: Duration::from_secs(2),
        advertise: vec![format!("10.{}.0.0/24", local_as % 200).parse().unwrap()],
        routes: None,
    }
}

/// Hands every accepted connection to the one peer this speaker has.
fn serve(listener: tokio::net::TcpListener, peer: Arc<PeerHandle>) {
    let (sender, mut accepted) = mpsc::channel(8);
    spawn_listener(Arc::new(listener), sender);
    tokio::spawn(async move {
        while let Some(connection) = accepted.recv().await {
            peer.incoming(connection.stream).await;
        }
    });
}

async fn pair(a_passive: bool, b_passive: bool) -> (Arc<PeerHandle>, Arc<PeerHandle>) {
    let a = speaker(1);
    let b = speaker(2);
    let a_peer = Arc::new(spawn_peer(peer_config(
        &a,
        &b,
        65001,
        4_200_000_002,
        a_passive,
    )));
    let b_peer = Arc::new(spawn_peer(peer_config(
        &b,
        &a,
        4_200_000_002,
        65001,
        b_passive,
    )));
    serve(a.listener, a_peer.clone());
    serve(b.listener, b_peer.clone());
    a_peer.start().await;
    b_peer.start().await;
    (a_peer, b_peer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_and_a_passive_speaker_establish_and_exchange_prefixes() {
    let (a, b) = pair(false, true).await;
    a.wait_for(StateKind::Established, WAIT)
        .await
        .expect("a established");
    b.wait_for(StateKind::Established, WAIT)
        .await
        .expect("b established");
    let status = b.status().await.unwrap();
    let negotiated = status.negotiated.unwrap();
    assert_eq!(negotiated.peer_as, Asn(65001));
    assert_eq!(negotiated.hold_time, Duration::from_secs(9));
    assert!(negotiated.four_octet_asn);
    // a originates 10.1.0.0/24 and b 10.2.0.0/24 (AS mod 200); each learns the other's.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (a_status, b_status) = (a.status().await.unwrap(), b.status().await.unwrap());
        if a_status.prefixes_received == 1 && b_status.prefixes_received == 1 {
            assert_eq!(a_status.prefixes_sent, 1);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "prefixes not exchanged: {a_status:?} {b_status:?}"
        );
        let mut state = b.state();
        let _ = tokio::time::timeout(Duration::from_millis(100), state.changed()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_connections_resolve_to_one_established_session() {
    let (a, b) = pair(false, false).await;
    a.wait_for(StateKind::Established, WAIT)
        .await
        .expect("a established");
    b.wait_for(StateKind::Established, WAIT)
        .await
        .expect("b established");
    // Both stay established: the losing connection was closed without taking
    // the session down, so no state change follows within a second.
    let mut a_state = a.state();
    a_state.mark_unchanged();
    let changed = tokio::time::timeout(Duration::from_secs(1), a_state.changed()).await;
    assert!(
        changed.is_err(),
        "a left Established: {:?}",
        a.status().await
    );
    assert_eq!(a.status().await.unwrap().state, StateKind::Established);
    assert_eq!(b.status().await.unwrap().state, StateKind::Established);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_reaches_the_peer_as_an_administrative_shutdown_with_its_text() {
    let (a, b) = pair(false, true).await;
    b.wait_for(StateKind::Established, WAIT)
        .await
        .expect("b established");
    a.stop(Some("node drained".into())).await;
    let mut state = b.state();
    tokio::time::timeout(
        WAIT,
        state.wait_for(|state| *state != StateKind::Established),
    )
    .await
    .expect("b leaves Established")
    .unwrap();
    let error = b.status().await.unwrap().last_error.unwrap();
    assert!(error.contains("Administrative Shutdown"), "{error}");
    assert!(error.contains("node drained"), "{error}");
}
