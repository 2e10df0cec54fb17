//! The routing side for tests of sessions: the real RIB (`bgp-rib`) behind
//! one peer task, driven as the daemon drives it (batches, `Drained`), so
//! that session tests exercise the one route path there is. Shared by
//! bgp-session's tests and the interop tests (`#[path]`).

// Public for the interop tests' library, private in bgp-session's tests.
#![allow(unreachable_pub)]

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use bgp_rib::{Batch, PeerId, PeerInfo, Receipt, Rib, RibConfig};
use bgp_session::{Outgoing, PeerEvent, PeerHandle, RouteLink, SessionEvent};
use bgp_wire::{Asn, Community, RouteRefreshSubtype, RouterId};
use ipnet::IpNet;
use tokio::sync::mpsc;

/// The id every test session has: one peer per routing task.
const PEER: PeerId = PeerId(1);

/// What the routing task has of its peer: prefixes accepted from it and
/// advertised to it, updated after every event.
#[derive(Debug, Default)]
pub struct RouteCounts {
    received: AtomicUsize,
    sent: AtomicUsize,
}

impl RouteCounts {
    /// Prefixes accepted from the peer (its Adj-RIB-In).
    pub fn received(&self) -> usize {
        self.received.load(Ordering::Relaxed)
    }

    /// Prefixes advertised to the peer (its Adj-RIB-Out).
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }
}

/// A link for a peer task's config, and the inbox it feeds.
pub fn link() -> (RouteLink, mpsc::Receiver<PeerEvent>) {
    let (events, inbox) = mpsc::channel(64);
    (RouteLink { peer: PEER, events }, inbox)
}

/// Runs the routing task: originates `originate` (next hop self, with the
/// communities given), takes in what the peer sends; ends when the peer
/// task does.
pub fn serve(
    peer: &Arc<PeerHandle>,
    mut inbox: mpsc::Receiver<PeerEvent>,
    local_as: Asn,
    router_id: RouterId,
    originate: Vec<(IpNet, Vec<Community>)>,
) -> Arc<RouteCounts> {
    let counts = Arc::new(RouteCounts::default());
    // Weak: the test owns the session; dropping its handle ends it.
    let peer: Weak<PeerHandle> = Arc::downgrade(peer);
    let address = peer.upgrade().map(|peer| peer.address().ip());
    let published = counts.clone();
    tokio::spawn(async move {
        let mut rib = Rib::new(RibConfig {
            local_as,
            router_id,
            cluster_id: None,
            max_paths: 1,
            transit: false,
            forwarding: false,
        });
        for (prefix, communities) in originate {
            rib.originate(prefix, communities, Vec::new());
        }
        let mut in_flight = false;
        while let Some(event) = inbox.recv().await {
            match event.event {
                SessionEvent::Established {
                    negotiated,
                    local_address,
                } => {
                    let local = local_address.map(|address| address.ip());
                    rib.peer_up(
                        PEER,
                        PeerInfo {
                            address: address.expect("the peer's address"),
                            asn: negotiated.peer_as,
                            router_id: negotiated.peer_router_id,
                            internal: negotiated.peer_as == local_as,
                            route_reflector_client: false,
                            next_hop_v4: match local {
                                Some(IpAddr::V4(address)) => Some(address),
                                _ => None,
                            },
                            next_hop_v6: match local {
                                Some(IpAddr::V6(address)) => Some(address),
                                _ => None,
                            },
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
                    in_flight = false;
                }
                SessionEvent::Update { update, errors } => {
                    if let Receipt::MaxPrefixExceeded { .. } = rib.receive(PEER, &update, &errors) {
                        unreachable!("no prefix limit is set");
                    }
                }
                SessionEvent::RouteRefresh(refresh) => {
                    if refresh.subtype == RouteRefreshSubtype::REQUEST {
                        rib.refresh(PEER, refresh.family);
                    }
                }
                SessionEvent::Drained => in_flight = false,
                SessionEvent::Unsendable(prefixes) => rib.not_sent(PEER, &prefixes),
                SessionEvent::Down(_) => rib.peer_down(PEER, false),
                SessionEvent::Stopped => break,
            }
            if !in_flight {
                // As the daemon sends them: a shared batch, encoded by the
                // session (one that does not fit goes one UPDATE at a time).
                let batch = rib.poll_shared_within(
                    PEER,
                    Batch {
                        prefixes: 1024,
                        messages: 64,
                    },
                );
                if let (Some(batch), Some(peer)) = (batch, peer.upgrade()) {
                    in_flight = true;
                    peer.send(vec![Outgoing::Batch(batch)]);
                }
            }
            if let Some(statistics) = rib
                .peer_statistics()
                .into_iter()
                .find(|statistics| statistics.peer == PEER)
            {
                published
                    .received
                    .store(statistics.accepted, Ordering::Relaxed);
                published
                    .sent
                    .store(statistics.advertised, Ordering::Relaxed);
            }
        }
    });
    counts
}
