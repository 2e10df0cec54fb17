//! nodebgp's session layer against real FRR and GoBGP daemons on loopback:
//! establishment in every direction and address family, 4-octet ASNs, TCP MD5,
//! collisions, and the failure cases an operator meets.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bgp_fsm::StateKind;
use lab::{Kind, NeighborSpec, PeerState, Router, RouterSpec};
use nodebgp_interop::{start, SpeakerSpec, UP};

fn address() -> IpAddr {
    IpAddr::V4(lab::free_loopback_address().expect("a free loopback address"))
}

/// Runs a blocking lab call without stalling the runtime's other tasks.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

fn frr(name: &str, at: IpAddr, asn: u32, neighbor: NeighborSpec) -> Router {
    lab::require(Kind::Frr);
    Router::start(RouterSpec::new(Kind::Frr, name, at, asn).neighbor(neighbor)).expect("FRR starts")
}

/// An eBGP session between a nodebgp speaker (AS `our_as`) and an FRR router
/// (AS `their_as`) that both connect, up: returns the router, the speaker and
/// our address.
async fn established_with_frr(
    name: &str,
    their_as: u32,
    our_as: u32,
) -> (Router, nodebgp_interop::Speaker, IpAddr) {
    let (ours, theirs) = (address(), address());
    let router = frr(
        name,
        theirs,
        their_as,
        NeighborSpec::new(ours, our_as)
            .with_connect_retry(1)
            .with_hold_time(9),
    );
    let speaker = start(&SpeakerSpec::new(
        ours,
        179,
        our_as,
        SocketAddr::new(theirs, 179),
        their_as,
    ));
    speaker.peer.start();
    speaker
        .peer
        .wait_for(StateKind::Established, UP)
        .await
        .expect("nodebgp reaches Established");
    (router, speaker, ours)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_ebgp_with_a_four_octet_asn_comes_up_and_routes_flow_both_ways() {
    let (ours, theirs) = (address(), address());
    lab::require(Kind::Frr);
    let router = Router::start(
        RouterSpec::new(Kind::Frr, "frr-4byte", theirs, 4_200_000_001)
            .neighbor(
                NeighborSpec::new(ours, 65010)
                    .with_hold_time(9)
                    .with_connect_retry(2),
            )
            .route("10.20.0.0/24"),
    )
    .unwrap();
    let mut spec = SpeakerSpec::new(
        ours,
        179,
        65010,
        SocketAddr::new(theirs, 179),
        4_200_000_001,
    );
    spec.advertise = vec!["10.30.0.0/24"];
    let speaker = start(&spec);
    speaker.peer.start();
    speaker
        .peer
        .wait_for(StateKind::Established, UP)
        .await
        .expect("nodebgp reaches Established");
    blocking(|| router.wait_for_state(ours, PeerState::Established, UP))
        .expect("FRR reaches Established");
    blocking(|| router.wait_for_prefixes(ours, &["10.30.0.0/24"], UP))
        .expect("FRR learns our prefix");
    let status = speaker.peer.status();
    let negotiated = status.negotiated.unwrap();
    assert_eq!(negotiated.peer_as.0, 4_200_000_001);
    assert!(negotiated.four_octet_asn);
    assert_eq!(negotiated.hold_time, Duration::from_secs(9));
    // FRR also reflects our own prefix back; AS_PATH loop detection drops it.
    wait_until(|| async { speaker.routes.received() == 1 }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_ibgp_connects_to_a_passive_nodebgp() {
    let (ours, theirs) = (address(), address());
    lab::require(Kind::Gobgp);
    let router = Router::start(
        RouterSpec::new(Kind::Gobgp, "gobgp-ibgp", theirs, 65020)
            .neighbor(
                NeighborSpec::new(ours, 65020)
                    .with_hold_time(9)
                    .with_connect_retry(1),
            )
            .route("10.21.0.0/24"),
    )
    .unwrap();
    let mut spec = SpeakerSpec::new(ours, 179, 65020, SocketAddr::new(theirs, 179), 65020);
    spec.passive = true;
    let speaker = start(&spec);
    speaker.peer.start();
    speaker
        .peer
        .wait_for(StateKind::Established, UP)
        .await
        .expect("nodebgp reaches Established");
    blocking(|| router.wait_for_state(ours, PeerState::Established, UP))
        .expect("GoBGP reaches Established");
    let status = speaker.peer.status();
    assert_eq!(status.negotiated.as_ref().unwrap().peer_as.0, 65020);
    wait_until(|| async { speaker.routes.received() == 1 }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_over_ipv6_on_non_default_ports() {
    let loopback = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let (our_port, their_port) = (
        lab::free_port(loopback).unwrap(),
        lab::free_port(loopback).unwrap(),
    );
    lab::require(Kind::Frr);
    let router = Router::start(
        RouterSpec::new(Kind::Frr, "frr-v6", loopback, 65030)
            .with_port(their_port)
            .neighbor(
                NeighborSpec::new(loopback, 65031)
                    .with_port(our_port)
                    .with_hold_time(9)
                    .with_connect_retry(2),
            ),
    )
    .unwrap();
    let speaker = start(&SpeakerSpec::new(
        loopback,
        our_port,
        65031,
        SocketAddr::new(loopback, their_port),
        65030,
    ));
    speaker.peer.start();
    speaker
        .peer
        .wait_for(StateKind::Established, UP)
        .await
        .expect("nodebgp reaches Established over ::1");
    blocking(|| router.wait_for_state(loopback, PeerState::Established, UP))
        .expect("FRR reaches Established");
    let families = speaker.peer.status().negotiated.unwrap().families.clone();
    assert_eq!(families, vec![bgp_wire::Family::IPV6_UNICAST]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matching_md5_password_comes_up_and_a_wrong_one_never_does() {
    let (ours, good, bad) = (address(), address(), address());
    let _right = frr(
        "frr-md5",
        good,
        65040,
        NeighborSpec::new(ours, 65041)
            .with_password("s3cret-key")
            .with_connect_retry(2),
    );
    let _wrong = frr(
        "frr-md5-wrong",
        bad,
        65042,
        NeighborSpec::new(ours, 65041)
            .with_password("other-key")
            .with_connect_retry(2),
    );
    let mut spec = SpeakerSpec::new(ours, 179, 65041, SocketAddr::new(good, 179), 65040);
    spec.password = Some("s3cret-key".into());
    let matching = start(&spec);
    matching.peer.start();
    matching
        .peer
        .wait_for(StateKind::Established, UP)
        .await
        .expect("matching passwords establish");

    let mut spec = SpeakerSpec::new(
        ours,
        lab::free_port(ours).unwrap(),
        65041,
        SocketAddr::new(bad, 179),
        65042,
    );
    spec.password = Some("s3cret-key".into());
    let mismatched = start(&spec);
    mismatched.peer.start();
    // Several connect-retry cycles: the kernel drops every wrongly signed segment.
    let outcome = mismatched
        .peer
        .wait_for(StateKind::OpenSent, Duration::from_secs(8))
        .await;
    assert!(
        outcome.is_err(),
        "a wrong MD5 password must not even reach OpenSent"
    );
    assert_ne!(mismatched.peer.status().state, StateKind::Established);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_connections_with_frr_resolve_to_one_session() {
    // Both sides connect every second: one session comes up and stays.
    // Whether the two connections actually cross here is up to timing; the
    // resolution itself (RFC 4271 §6.8, both ways, the right connection
    // closed with Cease/Connection Collision Resolution) is made to happen
    // and checked in tests/conformance.rs (scenarios fsm.collision.*).
    let (router, speaker, ours) = established_with_frr("frr-collision", 65050, 65051).await;
    blocking(|| router.wait_for_state(ours, PeerState::Established, UP)).unwrap();
    let mut state = speaker.peer.state();
    state.mark_unchanged();
    let changed = tokio::time::timeout(Duration::from_secs(4), state.changed()).await;
    assert!(
        changed.is_err(),
        "the session flapped after the collision: {:?}",
        speaker.peer.status()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_peer_is_retried_and_the_session_returns_with_it() {
    let (mut router, speaker, _) = established_with_frr("frr-killed", 65060, 65061).await;
    blocking(|| router.kill());
    let mut state = speaker.peer.state();
    tokio::time::timeout(UP, state.wait_for(|state| *state != StateKind::Established))
        .await
        .expect("the loss is detected")
        .unwrap();
    blocking(|| router.restart()).expect("FRR restarts");
    speaker
        .peer
        .wait_for(StateKind::Established, UP)
        .await
        .expect("the session comes back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_peer_is_dropped_when_the_hold_timer_expires() {
    let (router, speaker, _) = established_with_frr("frr-frozen", 65070, 65071).await;
    router.pause().unwrap();
    let mut state = speaker.peer.state();
    let left = tokio::time::timeout(
        Duration::from_secs(20),
        state.wait_for(|state| *state != StateKind::Established),
    )
    .await;
    router.resume().unwrap();
    left.expect("the hold timer (9 s) expires").unwrap();
    let error = speaker.peer.status().last_error.unwrap();
    assert!(error.contains("sent Hold Timer Expired"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_from_the_peer_is_shown_in_words() {
    let (router, speaker, ours) = established_with_frr("frr-shutdown", 65080, 65081).await;
    let command = format!("neighbor {ours} shutdown message maintenance-window");
    blocking(|| router.cli(&["configure terminal", "router bgp 65080", &command]))
        .expect("vtysh accepts the shutdown");
    let mut state = speaker.peer.state();
    tokio::time::timeout(UP, state.wait_for(|state| *state != StateKind::Established))
        .await
        .unwrap()
        .unwrap();
    let error = speaker.peer.status().last_error.unwrap();
    assert!(
        error.contains("received Cease / Administrative Shutdown"),
        "{error}"
    );
    assert!(error.contains("maintenance-window"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_peer_as_is_refused_with_bad_peer_as_without_a_storm() {
    let (ours, theirs) = (address(), address());
    let _router = frr(
        "frr-wrong-as",
        theirs,
        65090,
        NeighborSpec::new(ours, 65091).with_connect_retry(1),
    );
    // We expect AS 65099; the router is 65090.
    let speaker = start(&SpeakerSpec::new(
        ours,
        179,
        65091,
        SocketAddr::new(theirs, 179),
        65099,
    ));
    speaker.peer.start();
    wait_until(|| async {
        speaker
            .peer
            .status()
            .last_error
            .is_some_and(|error| error.contains("Bad Peer AS"))
    })
    .await;
    // The IdleHold back-off (1, 2, 4, 8 s here) keeps attempts rare.
    let before = speaker.peer.status().messages_sent;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after = speaker.peer.status().messages_sent;
    // Three or four attempts, each an OPEN and a NOTIFICATION (and as many
    // again when the peer's own connection races ours); without the back-off
    // the session would restart as fast as FRR answers, hundreds of times.
    assert!(
        after - before <= 16,
        "{} messages in 10 s: a flapping storm",
        after - before
    );
    assert_ne!(speaker.peer.status().state, StateKind::Established);
}

/// Waits up to [`UP`] for a condition on nodebgp's own state.
async fn wait_until<F, Fut>(condition: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + UP;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met in {UP:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One row of the interop matrix: each dimension the issue names (daemon,
/// eBGP/iBGP, 2- or 4-octet ASN on each side, who connects, address family,
/// port) is covered by at least one row for each daemon.
struct Row {
    kind: Kind,
    ours: u32,
    theirs: u32,
    passive: bool,
    ipv6: bool,
}

async fn establish(row: Row, name: &str) {
    lab::require(row.kind);
    let (ours, theirs, our_port, their_port) = if row.ipv6 {
        let loopback = IpAddr::V6(Ipv6Addr::LOCALHOST);
        (
            loopback,
            loopback,
            lab::free_port(loopback).unwrap(),
            lab::free_port(loopback).unwrap(),
        )
    } else {
        (address(), address(), 179, 179)
    };
    let router = Router::start(
        RouterSpec::new(row.kind, name, theirs, row.theirs)
            .with_port(their_port)
            .neighbor(
                NeighborSpec::new(ours, row.ours)
                    .with_port(our_port)
                    .with_hold_time(9)
                    .with_connect_retry(1),
            ),
    )
    .unwrap();
    let mut spec = SpeakerSpec::new(
        ours,
        our_port,
        row.ours,
        SocketAddr::new(theirs, their_port),
        row.theirs,
    );
    spec.passive = row.passive;
    let speaker = start(&spec);
    speaker.peer.start();
    if let Err(state) = speaker.peer.wait_for(StateKind::Established, UP).await {
        let status = speaker.peer.status();
        panic!(
            "{name}: nodebgp stayed in {state:?}: {status:?}\n{}",
            router.log_tail(20)
        );
    }
    blocking(|| router.wait_for_state(ours, PeerState::Established, UP)).unwrap();
    let negotiated = speaker.peer.status().negotiated.unwrap();
    assert_eq!(negotiated.peer_as.0, row.theirs);
    assert!(negotiated.four_octet_asn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_ebgp_with_a_four_octet_nodebgp_connecting_out() {
    establish(
        Row {
            kind: Kind::Gobgp,
            ours: 4_200_000_010,
            theirs: 65120,
            passive: false,
            ipv6: false,
        },
        "gobgp-ebgp",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_ebgp_over_ipv6_on_non_default_ports_with_a_passive_nodebgp() {
    establish(
        Row {
            kind: Kind::Gobgp,
            ours: 65121,
            theirs: 4_200_000_021,
            passive: true,
            ipv6: true,
        },
        "gobgp-v6",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_ibgp_with_four_octet_asns_on_both_sides_and_a_passive_nodebgp() {
    establish(
        Row {
            kind: Kind::Frr,
            ours: 4_200_000_030,
            theirs: 4_200_000_030,
            passive: true,
            ipv6: false,
        },
        "frr-ibgp",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_ebgp_with_two_octet_asns_and_nodebgp_connecting_out() {
    establish(
        Row {
            kind: Kind::Frr,
            ours: 65131,
            theirs: 65130,
            passive: false,
            ipv6: false,
        },
        "frr-2byte",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_ibgp_with_nodebgp_connecting_out() {
    establish(
        Row {
            kind: Kind::Gobgp,
            ours: 65140,
            theirs: 65140,
            passive: false,
            ipv6: false,
        },
        "gobgp-ibgp-out",
    )
    .await;
}
