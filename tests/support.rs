//! Shared pieces of the interop tests: a nodebgp speaker (the session driver,
//! or the `nodebgp` binary) set up against lab routers on loopback.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bgp_fsm::{Config, IdleHoldPolicy};
use bgp_session::net::{self, SocketOptions};
use bgp_session::{spawn_listener, spawn_peer, PeerConfig, PeerHandle};
use bgp_wire::{Asn, HoldTime, RouterId};
use tokio::sync::mpsc;

#[path = "harness/daemon.rs"]
pub mod daemon;
#[path = "harness/netns.rs"]
pub mod netns;
#[path = "../crates/bgp-session/tests/support/routes.rs"]
pub mod routes;

/// How long a session may take to come up on loopback.
pub const UP: Duration = Duration::from_secs(30);

/// One nodebgp session to one lab router, with a listener for the router's
/// own connection attempts.
pub struct Speaker {
    /// The session.
    pub peer: Arc<PeerHandle>,
    /// What its routing task holds: prefixes received and sent.
    pub routes: Arc<routes::RouteCounts>,
    /// Our address.
    pub address: SocketAddr,
}

/// Settings of a test speaker.
#[derive(Debug, Clone)]
pub struct SpeakerSpec {
    /// Our address (a free loopback address, or ::1).
    pub local: IpAddr,
    /// Our listen port.
    pub port: u16,
    /// Our AS.
    pub local_as: u32,
    /// The router's address and port.
    pub remote: SocketAddr,
    /// The router's AS.
    pub remote_as: u32,
    /// Wait for the router to connect.
    pub passive: bool,
    /// TCP MD5 password.
    pub password: Option<String>,
    /// Prefixes to originate.
    pub advertise: Vec<&'static str>,
    /// Hold time to propose.
    pub hold_time: u16,
}

impl SpeakerSpec {
    /// An active eBGP speaker with a 9-second hold time.
    pub fn new(
        local: IpAddr,
        port: u16,
        local_as: u32,
        remote: SocketAddr,
        remote_as: u32,
    ) -> Self {
        SpeakerSpec {
            local,
            port,
            local_as,
            remote,
            remote_as,
            passive: false,
            password: None,
            advertise: Vec::new(),
            hold_time: 9,
        }
    }
}

/// A router id for a speaker: its address if IPv4, else a fixed test value.
fn router_id(address: IpAddr) -> RouterId {
    match address {
        IpAddr::V4(v4) => RouterId(v4),
        IpAddr::V6(_) => RouterId("192.0.2.250".parse().unwrap()),
    }
}

/// Starts the speaker: a listener on `local:port` and one session.
pub fn start(spec: &SpeakerSpec) -> Speaker {
    let address = SocketAddr::new(spec.local, spec.port);
    let listener = Arc::new(net::listener(address).expect("listen on loopback"));
    if let Some(password) = &spec.password {
        net::apply_to_listener(&listener, spec.remote.ip(), Some(password))
            .expect("MD5 key on the listener");
    }
    let mut session = Config::new(
        Asn(spec.local_as),
        Asn(spec.remote_as),
        router_id(spec.local),
    );
    session.passive = spec.passive;
    session.connect_retry = Duration::from_secs(2);
    session.hold_time = HoldTime::new(spec.hold_time).unwrap();
    session.idle_hold = IdleHoldPolicy {
        initial: Duration::from_secs(1),
        maximum: Duration::from_secs(8),
    };
    session.families = match spec.remote {
        SocketAddr::V4(_) => vec![bgp_wire::Family::IPV4_UNICAST],
        SocketAddr::V6(_) => vec![bgp_wire::Family::IPV6_UNICAST],
    };
    let (link, inbox) = routes::link();
    let peer = Arc::new(spawn_peer(PeerConfig {
        address: spec.remote,
        session,
        socket: SocketOptions {
            local_address: Some(spec.local),
            md5_password: spec.password.clone(),
            ..SocketOptions::default()
        },
        connect_timeout: Duration::from_secs(3),
        routes: link,
    }));
    let routes = routes::serve(
        &peer,
        inbox,
        Asn(spec.local_as),
        router_id(spec.local),
        spec.advertise
            .iter()
            .map(|prefix| (prefix.parse().unwrap(), Vec::new()))
            .collect(),
    );
    let (sender, mut accepted) = mpsc::channel(8);
    spawn_listener(listener, sender);
    let handle = peer.clone();
    let remote = spec.remote.ip();
    tokio::spawn(async move {
        while let Some(connection) = accepted.recv().await {
            if connection.peer.ip().to_canonical() == remote {
                handle.incoming(connection.stream);
            } else {
                bgp_session::reject(connection.stream).await;
            }
        }
    });
    Speaker {
        peer,
        routes,
        address,
    }
}
