//! The manager's answers to control requests (`status`, `routes`, route
//! counts, refresh): read from the state the manager owns, at once, never
//! waiting for a peer task.

use std::collections::HashMap;
use std::time::Duration;

use bgp_rib::PeerId;
use bgp_wire::Family;
use tokio::time::Instant;

use super::control::protocol::{Request, Response};
use super::{routes, status, Manager};

impl Manager {
    /// Answers one control request.
    pub(super) fn control(&mut self, request: Request) -> Response {
        match request {
            // The control socket's thread answers it (see `logging`).
            Request::LogLevel { .. } => Response::error("the log filter is the control socket's"),
            Request::Refresh { peer } => {
                let Some(id) = self.peers.get(&peer).map(|running| running.id) else {
                    return Response::error(format!("{peer} is not a peer of this node"));
                };
                match self.routing.request_refresh(id) {
                    Ok(effects) => {
                        self.carry_out(effects);
                        Response::Refreshed
                    }
                    Err(error) => Response::error(error),
                }
            }
            Request::Routes(query) => routes::answer(self.routing.rib(), &self.numbers, &query),
            Request::RouteCount => {
                let count = |family| {
                    let (networks, routes) = self.routing.rib().family_counts(family);
                    status::TableCount {
                        networks: networks as u64,
                        routes: routes as u64,
                    }
                };
                Response::RouteCount(status::RouteCountReport {
                    ipv4: count(Family::IPV4_UNICAST),
                    ipv6: count(Family::IPV6_UNICAST),
                })
            }
            Request::Status => {
                let counts: HashMap<PeerId, (usize, usize, Option<u32>)> = self
                    .routing
                    .rib()
                    .peer_statistics()
                    .iter()
                    .map(|peer| {
                        (
                            peer.peer,
                            (peer.accepted, peer.advertised, peer.update_group),
                        )
                    })
                    .collect();
                let node_as = self.routing.local_as().0;
                // What each peer task last published: nothing here waits for it.
                let mut peers: Vec<status::PeerReport> = self
                    .peers
                    .values()
                    .map(|running| {
                        let (received, sent, update_group) =
                            counts.get(&running.id).copied().unwrap_or_default();
                        status::PeerReport::new(&running.handle.status())
                            .with_prefix_counts(received, sent)
                            .with_update_group(update_group)
                            .with_desired(&running.desired, node_as)
                    })
                    .collect();
                // Desired peers that could not be started (fail closed), with why.
                peers.extend(self.refused_peers.values().map(|(peer, reason)| {
                    status::PeerReport::new(&bgp_session::PeerStatus {
                        address: peer.address,
                        peer_as: peer.asn,
                        state: bgp_fsm::StateKind::Idle,
                        in_state: Duration::ZERO,
                        last_error: Some(format!("not started: {reason}")),
                        configured_hold_time: self.settings.hold_time.seconds(),
                        configured_keepalive: peer.settings.keepalive,
                        negotiated: None,
                        local_address: None,
                        messages_received: 0,
                        messages_sent: 0,
                        updates_received: 0,
                        updates_sent: 0,
                        prefixes_unsendable: 0,
                    })
                    .with_desired(peer, node_as)
                    .not_started()
                }));
                peers.sort_by_key(status::PeerReport::address);
                Response::Status(Box::new(status::StatusReport {
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    uptime_seconds: self.started.elapsed().as_secs(),
                    node: self.settings.node.clone(),
                    asn: self.routing.local_as().0,
                    router_id: self.settings.router_id.to_string(),
                    peers,
                    ignored: self.ignored.clone(),
                    tasks: tokio::runtime::Handle::current()
                        .metrics()
                        .num_alive_tasks(),
                    pod_networks: status::PodNetworksReport::new(&self.advertisements.pod_networks),
                    restart_wait: self.synchronise_by.map(|deadline| {
                        Box::new(status::RestartWait {
                            remaining_seconds: deadline
                                .saturating_duration_since(Instant::now())
                                .as_secs(),
                            total_seconds: u64::from(self.settings.routing.restart_time),
                        })
                    }),
                }))
            }
        }
    }
}
