//! Session: a whole nodebgp session, the RFC 4271 state machine (`bgp-fsm`)
//! and the RIB (`bgp-rib`), behind an in-memory transport, driven by what a
//! peer sent on the TCP connection. Time is virtual: it advances by one
//! second before each message, so that hold, keepalive and idle-hold timers
//! fire as the input's length decides.
//!
//! The first octet chooses the session: bit 0 iBGP (else eBGP), bit 1 our
//! IPv6 unicast family too, bit 2 graceful restart. The rest is the peer's
//! byte stream: framed with `split_frame`, decoded with `Message::decode` in
//! the context the session negotiated, handed to the session; its UPDATEs go
//! to the RIB, whose output is polled for the peer as a daemon would.
//!
//! Oracles: no panic anywhere; an input that does not decode ends the
//! session (a NOTIFICATION is sent and the state is Idle); the RIB never
//! offers the peer a route it sent (split horizon); once the session is
//! down and the peer's routes dropped, the RIB holds none of them.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bgp_fsm::{Config, ConnectionId, Direction, Input, Output, Session, StateKind};
use bgp_rib::{PeerId, PeerInfo, Rib, RibConfig};
use bgp_wire::{
    split_frame, Asn, CodecContext, Family, GracefulRestart, Message, RouterId,
    MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH,
};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

const PEER: PeerId = PeerId(1);
const CONNECTION: ConnectionId = ConnectionId(1);

struct Harness {
    session: Session,
    rib: Rib,
    context: CodecContext,
    max_length: usize,
    peer_up: bool,
    notifications_sent: usize,
}

impl Harness {
    /// Carries out the session's outputs: the transport swallows what is
    /// sent, the RIB gets what was received.
    fn drain(&mut self) {
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Send { message, .. } => {
                    if matches!(message, Message::Notification(_)) {
                        self.notifications_sent += 1;
                    }
                }
                Output::Established(negotiated) => {
                    self.context.four_octet_asn = negotiated.four_octet_asn;
                    self.context.add_path = negotiated.add_path_receive.clone();
                    self.context.extended_message = negotiated.extended_message;
                    self.context.external_peer = negotiated.peer_as != Asn(65000);
                    if negotiated.extended_message {
                        self.max_length = MAX_EXTENDED_MESSAGE_LENGTH;
                    }
                    self.rib.peer_up(
                        PEER,
                        PeerInfo {
                            address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
                            asn: negotiated.peer_as,
                            router_id: negotiated.peer_router_id,
                            internal: negotiated.peer_as == Asn(65000),
                            route_reflector_client: false,
                            next_hop_v4: Some(Ipv4Addr::new(192, 0, 2, 1)),
                            next_hop_v6: None,
                            families: negotiated.families.clone(),
                            four_octet_asn: negotiated.four_octet_asn,
                            allow_own_as: 0,
                            max_prefix: None,
                            keep_next_hop: false,
                            next_hop_self: false,
                            local_as: None,
                            long_lived: false,
                            enforce_first_as: true,
                            extended_message: negotiated.extended_message,
                        },
                    );
                    self.peer_up = true;
                }
                Output::Update { update, errors } => {
                    if self.peer_up {
                        let _ = self.rib.receive(PEER, &update, &errors);
                        // Split horizon: the peer is never offered its own routes.
                        for sent in self.rib.poll_updates(PEER) {
                            assert!(
                                sent.announced.is_empty(),
                                "the RIB offered a peer routes: {sent:?}"
                            );
                        }
                        let _ = self.rib.poll_fib();
                    }
                }
                Output::RouteRefresh(_) => {
                    if self.peer_up {
                        for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
                            self.rib.refresh(PEER, family);
                        }
                        let _ = self.rib.poll_updates(PEER);
                    }
                }
                Output::Down(_) => {
                    if self.peer_up {
                        self.rib.peer_down(PEER, false);
                        let _ = self.rib.poll_fib();
                        self.peer_up = false;
                    }
                }
                Output::Connect
                | Output::Close { .. }
                | Output::StateChanged { .. }
                | Output::SendFrames { .. } => {}
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, stream)) = data.split_first() else {
        return;
    };
    let local = Asn(65000);
    let peer_as = if flags & 1 != 0 { local } else { Asn(65001) };
    let mut config = Config::new(local, peer_as, RouterId(Ipv4Addr::new(192, 0, 2, 1)));
    if flags & 2 != 0 {
        config.families.push(Family::IPV6_UNICAST);
    }
    if flags & 4 != 0 {
        config.graceful_restart = Some(GracefulRestart {
            flags: 0,
            restart_time: 120,
            families: Vec::new(),
        });
    }
    let mut now = Instant::now();
    let mut harness = Harness {
        session: Session::new(config, now),
        rib: Rib::new(RibConfig::new(local, RouterId(Ipv4Addr::new(192, 0, 2, 1)))),
        context: CodecContext {
            four_octet_asn: false,
            ..CodecContext::default()
        },
        max_length: MAX_MESSAGE_LENGTH,
        peer_up: false,
        notifications_sent: 0,
    };
    harness.session.handle(now, Input::Start);
    harness.session.handle(
        now,
        Input::Connected {
            connection: CONNECTION,
            direction: Direction::Outgoing,
        },
    );
    harness.drain();

    let mut buffer = BytesMut::from(stream);
    loop {
        now += Duration::from_secs(1);
        harness.session.handle_timeout(now);
        harness.drain();
        if harness.session.state() == StateKind::Idle {
            break;
        }
        let frame = match split_frame(&mut buffer, harness.max_length) {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(_) => break,
        };
        let before = harness.notifications_sent;
        match Message::decode(&frame, &harness.context) {
            Ok(received) => harness.session.handle(
                now,
                Input::Received {
                    connection: CONNECTION,
                    received,
                },
            ),
            Err(error) => {
                harness.session.handle(
                    now,
                    Input::Malformed {
                        connection: CONNECTION,
                        error,
                    },
                );
                harness.drain();
                assert!(
                    harness.notifications_sent > before,
                    "a malformed message ended without a NOTIFICATION"
                );
                assert_eq!(harness.session.state(), StateKind::Idle);
                break;
            }
        }
        harness.drain();
    }
    // The connection ends; whatever the session held goes.
    harness.session.handle(
        now,
        Input::Closed {
            connection: CONNECTION,
        },
    );
    harness.drain();
    if harness.peer_up {
        harness.rib.peer_down(PEER, false);
    }
    harness.rib.remove_peer(PEER);
    let _ = harness.rib.poll_fib();
});
