//! Two nodebgp sessions talking to each other over real loopback sockets.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bgp_fsm::{Config, IdleHoldPolicy, StateKind};
use bgp_session::net::{self, SocketOptions};
use bgp_session::{spawn_listener, spawn_peer, PeerConfig, PeerHandle};
use bgp_wire::{Asn, Community, HoldTime, RouterId};
use tokio::sync::mpsc;

#[path = "support/routes.rs"]
mod routes;

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
    link: bgp_session::RouteLink,
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
        routes: link,
    }
}

/// Hands every accepted connection to the one peer this speaker has.
fn serve(listener: tokio::net::TcpListener, peer: Arc<PeerHandle>) {
    let (sender, mut accepted) = mpsc::channel(8);
    spawn_listener(Arc::new(listener), sender);
    tokio::spawn(async move {
        while let Some(connection) = accepted.recv().await {
            peer.incoming(connection.stream);
        }
    });
}

/// A session and what its routing side holds.
struct Side {
    peer: Arc<PeerHandle>,
    routes: Arc<routes::RouteCounts>,
}

/// One side: its session, served by a RIB that originates 10.(AS mod 200).0.0/24
/// and `more`.
fn side(
    local: &Speaker,
    remote: &Speaker,
    (local_as, remote_as): (u32, u32),
    passive: bool,
    more: Vec<(ipnet::IpNet, Vec<Community>)>,
) -> Side {
    let (link, inbox) = routes::link();
    let peer = Arc::new(spawn_peer(peer_config(
        local, remote, local_as, remote_as, passive, link,
    )));
    let router_id = match local.address.ip() {
        IpAddr::V4(address) => RouterId(address),
        IpAddr::V6(_) => unreachable!(),
    };
    let mut originated = vec![(
        format!("10.{}.0.0/24", local_as % 200).parse().unwrap(),
        Vec::new(),
    )];
    originated.extend(more);
    let routes = routes::serve(&peer, inbox, Asn(local_as), router_id, originated);
    Side { peer, routes }
}

async fn pair(a_passive: bool, b_passive: bool) -> (Side, Side) {
    pair_originating(a_passive, b_passive, Vec::new()).await
}

/// A pair whose side a also originates `a_more`.
async fn pair_originating(
    a_passive: bool,
    b_passive: bool,
    a_more: Vec<(ipnet::IpNet, Vec<Community>)>,
) -> (Side, Side) {
    let a = speaker(1);
    let b = speaker(2);
    let a_side = side(&a, &b, (65001, 4_200_000_002), a_passive, a_more);
    let b_side = side(&b, &a, (4_200_000_002, 65001), b_passive, Vec::new());
    serve(a.listener, a_side.peer.clone());
    serve(b.listener, b_side.peer.clone());
    a_side.peer.start();
    b_side.peer.start();
    (a_side, b_side)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_and_a_passive_speaker_establish_and_exchange_prefixes() {
    let (a_side, b_side) = pair(false, true).await;
    let (a, b) = (&a_side.peer, &b_side.peer);
    a.wait_for(StateKind::Established, WAIT)
        .await
        .expect("a established");
    b.wait_for(StateKind::Established, WAIT)
        .await
        .expect("b established");
    let status = b.status();
    let negotiated = status.negotiated.unwrap();
    assert_eq!(negotiated.peer_as, Asn(65001));
    assert_eq!(negotiated.hold_time, Duration::from_secs(9));
    assert!(negotiated.four_octet_asn);
    // a originates 10.1.0.0/24 and b 10.2.0.0/24 (AS mod 200); each learns the other's.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (a_routes, b_routes) = (&a_side.routes, &b_side.routes);
        if a_routes.received() == 1 && b_routes.received() == 1 {
            assert_eq!(a_routes.sent(), 1);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "prefixes not exchanged: {a_routes:?} {b_routes:?}"
        );
        let mut state = b.state();
        let _ = tokio::time::timeout(Duration::from_millis(100), state.changed()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_connections_resolve_to_one_established_session() {
    let (a_side, b_side) = pair(false, false).await;
    let (a, b) = (&a_side.peer, &b_side.peer);
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
    assert!(changed.is_err(), "a left Established: {:?}", a.status());
    assert_eq!(a.status().state, StateKind::Established);
    assert_eq!(b.status().state, StateKind::Established);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_reaches_the_peer_as_an_administrative_shutdown_with_its_text() {
    let (a_side, b_side) = pair(false, true).await;
    let (a, b) = (&a_side.peer, &b_side.peer);
    b.wait_for(StateKind::Established, WAIT)
        .await
        .expect("b established");
    a.stop(Some("node drained".into()));
    let mut state = b.state();
    tokio::time::timeout(
        WAIT,
        state.wait_for(|state| *state != StateKind::Established),
    )
    .await
    .expect("b leaves Established")
    .unwrap();
    let error = b.status().last_error.unwrap();
    assert!(error.contains("Administrative Shutdown"), "{error}");
    assert!(error.contains("node drained"), "{error}");
}

/// RFC 8654 §4: a route whose attributes do not fit the peer's messages (here
/// 16,380 communities, 65,520 octets: with the other attributes more than even
/// an extended message holds) is withdrawn from it and counted; the
/// Adj-RIB-Out does not claim it was sent, and the other routes flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_too_large_for_the_peer_is_withdrawn_and_counted() {
    let communities: Vec<Community> = (0..16_380)
        .map(|value| Community(0xfde8_0000 + value))
        .collect();
    let huge = ("10.250.0.0/24".parse().unwrap(), communities);
    let (a_side, b_side) = pair_originating(false, true, vec![huge]).await;
    let (a, b) = (&a_side.peer, &b_side.peer);
    a.wait_for(StateKind::Established, WAIT)
        .await
        .expect("a established");
    b.wait_for(StateKind::Established, WAIT)
        .await
        .expect("b established");
    let deadline = tokio::time::Instant::now() + WAIT;
    while a.status().prefixes_unsendable == 0 || b_side.routes.received() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?} {:?}",
            a.status(),
            b_side.routes
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(a.status().prefixes_unsendable, 1);
    assert_eq!(
        b_side.routes.received(),
        1,
        "only the route that fits arrives"
    );
    assert_eq!(
        a_side.routes.sent(),
        1,
        "the Adj-RIB-Out lists what was sent"
    );
    assert!(a.status().state == StateKind::Established);
}
