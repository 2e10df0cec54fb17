//! Real-socket tests of `bgp_session::net` on loopback (127.0.0.0/8 and ::1).
//!
//! Connections the kernel must reject (bad MD5 signature, TTL below the
//! GTSM minimum) are dropped silently, so those tests assert that `connect`
//! times out after a short deadline.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bgp_session::net::{self, SocketOptions};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const V4_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const V4_SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
const V6_LOOPBACK: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);
/// Long enough for loopback, short enough that the negative tests stay quick.
const TIMEOUT: Duration = Duration::from_secs(2);

fn opts(local: IpAddr) -> SocketOptions {
    SocketOptions {
        local_address: Some(local),
        ..SocketOptions::default()
    }
}

fn md5_opts(local: IpAddr, password: &str) -> SocketOptions {
    SocketOptions {
        md5_password: Some(password.to_owned()),
        ..opts(local)
    }
}

fn gtsm_opts(local: IpAddr) -> SocketOptions {
    SocketOptions {
        ttl_security: true,
        ..opts(local)
    }
}

fn listen_on(ip: IpAddr) -> (TcpListener, SocketAddr) {
    let listener = net::listener(SocketAddr::new(ip, 0)).expect("listener");
    let addr = listener.local_addr().expect("local_addr");
    (listener, addr)
}

/// Skips (returns false) when the kernel lacks CONFIG_TCP_MD5SIG.
fn md5_supported() -> bool {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    match net::set_md5_password(&socket, V4_CLIENT, Some("probe")) {
        Ok(()) => true,
        Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => {
            eprintln!("kernel without TCP_MD5SIG support, skipping: {e}");
            false
        }
        Err(e) => panic!("unexpected TCP_MD5SIG error: {e}"),
    }
}

/// Connects, accepts, and exchanges bytes both ways; returns the accepted
/// side's view of the client address.
async fn connect_and_exchange(
    listener: &TcpListener,
    server: SocketAddr,
    options: &SocketOptions,
) -> SocketAddr {
    let (client, accepted) = tokio::join!(net::connect(server, options, TIMEOUT), async {
        tokio::time::timeout(TIMEOUT, listener.accept()).await
    });
    let mut client = client.expect("connect");
    let (mut accepted, peer) = accepted.expect("accept timed out").expect("accept");
    client.write_all(b"OPEN").await.unwrap();
    let mut buf = [0u8; 4];
    accepted.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"OPEN");
    accepted.write_all(b"KEEP").await.unwrap();
    client.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"KEEP");
    assert_eq!(client.local_addr().unwrap().ip(), peer.ip().to_canonical());
    peer
}

/// Asserts that the connection attempt fails (normally by timing out because
/// the kernel drops the SYN or SYN-ACK) and that nothing gets accepted.
async fn assert_connect_fails(listener: &TcpListener, server: SocketAddr, options: &SocketOptions) {
    let result: io::Result<TcpStream> = net::connect(server, options, TIMEOUT).await;
    let err = result.expect_err("connection should have been rejected");
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
    assert!(accepted.is_err(), "listener accepted a connection");
}

#[tokio::test]
async fn connect_binds_source_address_v4() {
    let (listener, server) = listen_on(V4_SERVER);
    let peer = connect_and_exchange(&listener, server, &opts(V4_CLIENT)).await;
    assert_eq!(peer.ip(), V4_CLIENT);
}

#[tokio::test]
async fn connect_binds_source_address_v6() {
    let (listener, server) = listen_on(V6_LOOPBACK);
    let peer = connect_and_exchange(&listener, server, &opts(V6_LOOPBACK)).await;
    assert_eq!(peer.ip(), V6_LOOPBACK);
}

#[tokio::test]
async fn connect_to_v4_mapped_peer_uses_ipv4() {
    let (listener, server) = listen_on(V4_SERVER);
    let IpAddr::V4(server_v4) = server.ip() else {
        unreachable!()
    };
    let mapped = SocketAddr::new(IpAddr::V6(server_v4.to_ipv6_mapped()), server.port());
    let peer = connect_and_exchange(&listener, mapped, &opts(V4_CLIENT)).await;
    assert_eq!(peer.ip(), V4_CLIENT);
}

#[test]
fn connect_socket_options_read_back_v4() {
    let peer = SocketAddr::new(V4_SERVER, 179);
    let options = SocketOptions {
        ttl: Some(5),
        ..opts(V4_CLIENT)
    };
    let socket = net::connect_socket(peer, &options).unwrap();
    assert!(socket.nonblocking().unwrap());
    assert!(socket.tcp_nodelay().unwrap());
    assert!(!socket.freebind_v4().unwrap());
    assert_eq!(socket.ttl_v4().unwrap(), 5);
    assert_eq!(net::min_ttl(&socket, peer.ip()).unwrap(), 0);
    let local = socket.local_addr().unwrap().as_socket().unwrap();
    assert_eq!(local.ip(), V4_CLIENT);
    assert_ne!(local.port(), 0);
}

#[test]
fn connect_socket_options_read_back_v6() {
    let peer = SocketAddr::new(V6_LOOPBACK, 179);
    let options = SocketOptions {
        ttl: Some(7),
        ..opts(V6_LOOPBACK)
    };
    let socket = net::connect_socket(peer, &options).unwrap();
    assert!(socket.only_v6().unwrap());
    assert!(socket.tcp_nodelay().unwrap());
    assert_eq!(socket.unicast_hops_v6().unwrap(), 7);
    assert_eq!(
        socket.local_addr().unwrap().as_socket().unwrap().ip(),
        V6_LOOPBACK
    );
}

#[test]
fn ttl_security_read_back_and_overrides_ttl() {
    for (local, peer) in [(V4_CLIENT, V4_SERVER), (V6_LOOPBACK, V6_LOOPBACK)] {
        let options = SocketOptions {
            ttl: Some(3),
            ..gtsm_opts(local)
        };
        let socket = net::connect_socket(SocketAddr::new(peer, 179), &options).unwrap();
        let ttl = match peer {
            IpAddr::V4(_) => socket.ttl_v4().unwrap(),
            IpAddr::V6(_) => socket.unicast_hops_v6().unwrap(),
        };
        assert_eq!(ttl, 255, "{peer}");
        assert_eq!(net::min_ttl(&socket, peer).unwrap(), 255, "{peer}");
    }
}

/// RFC 5082 §3 for a peer several hops away: send 255, accept 256 - hops.
#[test]
fn ttl_security_for_a_peer_three_hops_away_accepts_253_and_up() {
    for (local, peer) in [(V4_CLIENT, V4_SERVER), (V6_LOOPBACK, V6_LOOPBACK)] {
        let options = SocketOptions {
            ttl_security_hops: 3,
            ..gtsm_opts(local)
        };
        let socket = net::connect_socket(SocketAddr::new(peer, 179), &options).unwrap();
        assert_eq!(net::min_ttl(&socket, peer).unwrap(), 253, "{peer}");
    }
}

#[test]
fn invalid_arguments_are_rejected() {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    for ttl in [0, 256] {
        let err = net::set_ttl(&socket, V4_SERVER, ttl).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
    let err = net::set_md5_password(&socket, V6_LOOPBACK, Some("x")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = net::connect_socket(SocketAddr::new(V6_LOOPBACK, 179), &opts(V4_CLIENT)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn listeners_on_both_families_share_a_port() {
    let v4 = net::listener("0.0.0.0:0".parse().unwrap()).unwrap();
    let port = v4.local_addr().unwrap().port();
    let v6 = net::listener(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port)).unwrap();
    assert!(SockRef::from(&v6).only_v6().unwrap());
    assert!(SockRef::from(&v4).reuse_address().unwrap());
    assert!(SockRef::from(&v4).nonblocking().unwrap());
}

#[tokio::test]
async fn md5_matching_keys_connect_v4() {
    if !md5_supported() {
        return;
    }
    let (listener, server) = listen_on(V4_SERVER);
    net::apply_to_listener(&listener, V4_CLIENT, Some("s3cret")).unwrap();
    let peer = connect_and_exchange(&listener, server, &md5_opts(V4_CLIENT, "s3cret")).await;
    assert_eq!(peer.ip(), V4_CLIENT);
}

#[tokio::test]
async fn md5_wrong_key_fails_v4() {
    if !md5_supported() {
        return;
    }
    let (listener, server) = listen_on(V4_SERVER);
    net::apply_to_listener(&listener, V4_CLIENT, Some("s3cret")).unwrap();
    assert_connect_fails(&listener, server, &md5_opts(V4_CLIENT, "wrong")).await;
}

#[tokio::test]
async fn md5_unsigned_connector_fails_v4() {
    if !md5_supported() {
        return;
    }
    let (listener, server) = listen_on(V4_SERVER);
    net::apply_to_listener(&listener, V4_CLIENT, Some("s3cret")).unwrap();
    assert_connect_fails(&listener, server, &opts(V4_CLIENT)).await;
}

#[tokio::test]
async fn md5_signed_connector_to_keyless_listener_fails_v4() {
    if !md5_supported() {
        return;
    }
    let (listener, server) = listen_on(V4_SERVER);
    assert_connect_fails(&listener, server, &md5_opts(V4_CLIENT, "s3cret")).await;
}

#[tokio::test]
async fn md5_key_for_other_peer_does_not_apply() {
    if !md5_supported() {
        return;
    }
    let (listener, server) = listen_on(V4_SERVER);
    net::apply_to_listener(&listener, Ipv4Addr::new(127, 0, 0, 9).into(), Some("other")).unwrap();
    connect_and_exchange(&listener, server, &opts(V4_CLIENT)).await;
}

#[tokio::test]
async fn md5_key_removal() {
    if !md5_supported() {
        return;
    }
    let (listener, server) = listen_on(V4_SERVER);
    // Removing a key that was never installed is not an error.
    net::apply_to_listener(&listener, V4_CLIENT, None).unwrap();
    net::apply_to_listener(&listener, V4_CLIENT, Some("s3cret")).unwrap();
    net::apply_to_listener(&listener, V4_CLIENT, Some("")).unwrap();
    connect_and_exchange(&listener, server, &opts(V4_CLIENT)).await;
}

#[test]
fn md5_key_length_limit() {
    if !md5_supported() {
        return;
    }
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    let max = "k".repeat(net::MD5_MAX_KEY_LEN);
    net::set_md5_password(&socket, V4_SERVER, Some(&max)).unwrap();
    let err = net::set_md5_password(&socket, V4_SERVER, Some(&format!("{max}k"))).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn md5_matching_keys_connect_v6() {
    if !md5_supported() {
        return;
    }
    let (listener, server) = listen_on(V6_LOOPBACK);
    net::apply_to_listener(&listener, V6_LOOPBACK, Some("s3cret-v6")).unwrap();
    let peer = connect_and_exchange(&listener, server, &md5_opts(V6_LOOPBACK, "s3cret-v6")).await;
    assert_eq!(peer.ip(), V6_LOOPBACK);
}

#[tokio::test]
async fn md5_wrong_key_fails_v6() {
    if !md5_supported() {
        return;
    }
    let (listener, server) = listen_on(V6_LOOPBACK);
    net::apply_to_listener(&listener, V6_LOOPBACK, Some("s3cret-v6")).unwrap();
    assert_connect_fails(&listener, server, &md5_opts(V6_LOOPBACK, "wrong")).await;
    assert_connect_fails(&listener, server, &opts(V6_LOOPBACK)).await;
}

/// An IPv4 peer reaching a dual-stack (`IPV6_V6ONLY` off) IPv6 listener is
/// keyed by its v4-mapped address.
#[tokio::test]
async fn md5_v4_peer_on_dual_stack_v6_listener() {
    if !md5_supported() {
        return;
    }
    let IpAddr::V4(server_v4) = V4_SERVER else {
        unreachable!()
    };
    let bind = SocketAddr::new(IpAddr::V6(server_v4.to_ipv6_mapped()), 0);
    let socket = Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP)).unwrap();
    socket.set_only_v6(false).unwrap();
    socket.set_nonblocking(true).unwrap();
    socket.bind(&bind.into()).unwrap();
    socket.listen(16).unwrap();
    let listener = TcpListener::from_std(socket.into()).unwrap();
    let server = SocketAddr::new(V4_SERVER, listener.local_addr().unwrap().port());
    net::apply_to_listener(&listener, V4_CLIENT, Some("mapped")).unwrap();

    assert_connect_fails(&listener, server, &md5_opts(V4_CLIENT, "wrong")).await;
    let peer = connect_and_exchange(&listener, server, &md5_opts(V4_CLIENT, "mapped")).await;
    assert_eq!(peer.ip().to_canonical(), V4_CLIENT);
}

fn gtsm_listener(ip: IpAddr) -> (TcpListener, SocketAddr) {
    let (listener, server) = listen_on(ip);
    net::set_ttl_security(&SockRef::from(&listener), ip).unwrap();
    (listener, server)
}

#[tokio::test]
async fn gtsm_both_ends_connect_v4() {
    let (listener, server) = gtsm_listener(V4_SERVER);
    connect_and_exchange(&listener, server, &gtsm_opts(V4_CLIENT)).await;
}

#[tokio::test]
async fn gtsm_receiver_rejects_ttl_64_sender_v4() {
    let (listener, server) = gtsm_listener(V4_SERVER);
    let sender = opts(V4_CLIENT);
    let probe = net::connect_socket(server, &sender).unwrap();
    // The default (net.ipv4.ip_default_ttl, normally 64) is below the GTSM minimum.
    assert!(probe.ttl_v4().unwrap() < 255);
    assert_connect_fails(&listener, server, &sender).await;
}

#[tokio::test]
async fn gtsm_sender_rejects_ttl_64_replies_v4() {
    // A plain listener, not ours (which answers with TTL 255): its SYN-ACK
    // leaves with the default TTL.
    let listener = TcpListener::bind(SocketAddr::new(V4_SERVER, 0))
        .await
        .expect("listener");
    let server = listener.local_addr().expect("local_addr");
    assert_connect_fails(&listener, server, &gtsm_opts(V4_CLIENT)).await;
}

/// Our listener answers with TTL 255, so a GTSM peer can connect to it
/// (RFC 5082 §3); the accepted connection then takes its peer's setting.
#[tokio::test]
async fn a_gtsm_peer_connects_to_our_listener_v4() {
    let (listener, server) = listen_on(V4_SERVER);
    connect_and_exchange(&listener, server, &gtsm_opts(V4_CLIENT)).await;
}

#[tokio::test]
async fn gtsm_both_ends_connect_v6() {
    let (listener, server) = gtsm_listener(V6_LOOPBACK);
    connect_and_exchange(&listener, server, &gtsm_opts(V6_LOOPBACK)).await;
}

#[tokio::test]
async fn gtsm_receiver_rejects_hop_limit_64_sender_v6() {
    let (listener, server) = gtsm_listener(V6_LOOPBACK);
    assert_connect_fails(&listener, server, &opts(V6_LOOPBACK)).await;
}

#[tokio::test]
async fn apply_to_accepted_sets_nodelay_and_ttl() {
    let (listener, server) = listen_on(V4_SERVER);
    // A GTSM client: its SYN leaves with TTL 255 (and our listener's
    // SYN-ACK does too).
    let client_options = gtsm_opts(V4_CLIENT);
    let (client, accepted) = tokio::join!(
        net::connect(server, &client_options, TIMEOUT),
        listener.accept()
    );
    let _client = client.unwrap();
    let (stream, _) = accepted.unwrap();
    let options = SocketOptions {
        ttl: Some(2),
        ..SocketOptions::default()
    };
    net::apply_to_accepted(&stream, &options).unwrap();
    let socket = SockRef::from(&stream);
    assert!(socket.tcp_nodelay().unwrap());
    assert_eq!(socket.ttl_v4().unwrap(), 2);
    net::apply_to_accepted(&stream, &gtsm_opts(V4_SERVER)).unwrap();
    assert_eq!(socket.ttl_v4().unwrap(), 255);
    assert_eq!(net::min_ttl(&socket, V4_CLIENT).unwrap(), 255);
}

/// RFC 5082 §3, failing closed: a connection opened with a SYN below the
/// GTSM minimum (here the default TTL of 64) is refused after accept, since
/// the shared listener could not filter it.
#[tokio::test]
async fn a_connection_opened_without_gtsm_is_refused_for_a_gtsm_peer() {
    let (listener, server) = listen_on(V4_SERVER);
    let client_options = opts(V4_CLIENT);
    let (client, accepted) = tokio::join!(
        net::connect(server, &client_options, TIMEOUT),
        listener.accept()
    );
    let _client = client.unwrap();
    let (stream, _) = accepted.unwrap();
    let error = net::apply_to_accepted(&stream, &gtsm_opts(V4_SERVER)).unwrap_err();
    assert_eq!(
        error.kind(),
        std::io::ErrorKind::PermissionDenied,
        "{error}"
    );
    assert!(error.to_string().contains("TTL 64"), "{error}");
}

#[test]
fn debug_redacts_password() {
    let shown = format!("{:?}", md5_opts(V4_CLIENT, "hunter2"));
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("redacted"), "{shown}");
}
