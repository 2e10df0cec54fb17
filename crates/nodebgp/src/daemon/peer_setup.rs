//! How the manager sets up a peer task: the session's configuration from
//! the desired peer and the daemon's settings, its socket options, its link
//! to the RIB, and what it announces of graceful restart.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bgp_fsm::{Config, IdleHoldPolicy};
use bgp_rib::PeerId;
use bgp_session::net::SocketOptions;
use bgp_session::PeerConfig;
use bgp_wire::Family;

use super::{DesiredPeer, Manager};

impl Manager {
    /// Links a new peer task to the RIB, and announces graceful restart
    /// (RFC 4724 §3): the Restart State bit after a restart that kept kernel
    /// routes, and Forwarding State for every family while the FIB is kept;
    /// with a long-lived stale time, long-lived graceful restart too (RFC 9494).
    pub(super) fn attach_routing(&self, config: &mut PeerConfig, peer: &DesiredPeer) {
        let routing = &self.settings.routing;
        if routing.graceful_restart {
            let forwarding = self.fib.is_some();
            config.session.graceful_restart = Some(bgp_wire::GracefulRestart {
                flags: if self.synchronise_by.is_some() {
                    bgp_wire::GracefulRestart::RESTART_STATE
                } else {
                    0
                },
                // The BGPPeer's maxRestartTime, else the daemon's setting;
                // the capability has 12 bits for it (RFC 4724 §3).
                restart_time: peer
                    .settings
                    .max_restart_time
                    .map_or(routing.restart_time, |time| {
                        u16::try_from(time.as_secs().min(4095)).unwrap_or(4095)
                    }),
                families: config
                    .session
                    .families
                    .iter()
                    .map(|family| bgp_wire::GracefulRestartFamily {
                        family: *family,
                        flags: if forwarding {
                            bgp_wire::GracefulRestartFamily::FORWARDING_PRESERVED
                        } else {
                            0
                        },
                    })
                    .collect(),
            });
            // RFC 9494 §3: the LLGR capability beside GR (§4.1), for every
            // family of the session, F bit as for GR; the stale time is 24 bits
            // (checked with the settings).
            if let Some(stale_time) = routing.long_lived_stale_time {
                let stale_time = u32::try_from(stale_time.as_secs())
                    .unwrap_or(u32::MAX)
                    .min(0x00ff_ffff);
                config.session.long_lived_graceful_restart = config
                    .session
                    .families
                    .iter()
                    .map(|family| bgp_wire::LongLivedFamily {
                        family: *family,
                        flags: if forwarding {
                            bgp_wire::GracefulRestartFamily::FORWARDING_PRESERVED
                        } else {
                            0
                        },
                        stale_time,
                    })
                    .collect();
            }
        }
    }

    /// The session, socket and routing link of a new peer task.
    pub(super) fn peer_config(&self, peer: &DesiredPeer, id: PeerId) -> PeerConfig {
        let settings = &self.settings;
        // The node's AS (Node `spec.bgp.asNumber`, else the BGPConfiguration's),
        // else --as.
        // localASNumber: this session's own AS; else the node's.
        let local_as = peer
            .settings
            .local_as_number
            .or(peer.local_as)
            .unwrap_or(settings.local_as);
        let mut session = Config::new(local_as, peer.asn, settings.router_id);
        session.hold_time = settings.hold_time;
        // v3 `keepaliveTime` (BIRD `keepalive time`); otherwise a third of the
        // negotiated hold time (RFC 4271 §10).
        if let Some(keepalive) = peer.settings.keepalive {
            session.keepalive = Some(keepalive);
        }
        // numAllowedLocalASNumbers and keepOriginalNextHop are route rules,
        // not session ones: the RIB applies them (routing.rs, PeerInfo).
        session.connect_retry = settings.connect_retry;
        session.send_hold = settings.send_hold;
        session.passive = peer.passive;
        // A session carries its transport's family, both with --all-families.
        session.families = match (peer.address.ip(), settings.all_families) {
            (IpAddr::V4(_), false) => vec![Family::IPV4_UNICAST],
            (IpAddr::V6(_), false) => vec![Family::IPV6_UNICAST],
            (IpAddr::V4(_), true) => vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
            (IpAddr::V6(_), true) => vec![Family::IPV6_UNICAST, Family::IPV4_UNICAST],
        };
        // BIRD's `error wait time`: the restart back-off after errors,
        // doubling from the first to the second (--error-wait).
        let (initial, maximum) = settings.error_wait;
        session.idle_hold = IdleHoldPolicy { initial, maximum };
        session.jitter_seed = Some(jitter_seed(peer.address));
        session.hostname = Some(settings.node.clone());
        PeerConfig {
            address: peer.address,
            session,
            socket: SocketOptions {
                local_address: match peer.settings.source_address {
                    peer_manager::SourceAddress::Daemon => {
                        settings.source_address(peer.address.ip())
                    }
                    peer_manager::SourceAddress::Node(address) => Some(address),
                    peer_manager::SourceAddress::Unbound => None,
                },
                md5_password: peer.settings.password.clone(),
                // GTSM (RFC 5082 §3): send 255, accept 256 - hops and up.
                ttl_security: peer.settings.ttl_security_hops.is_some(),
                ttl_security_hops: peer.settings.ttl_security_hops.unwrap_or(1),
                ttl: None,
            },
            connect_timeout: Duration::from_secs(5),
            routes: bgp_session::RouteLink {
                peer: id,
                events: self.route_events.clone(),
            },
        }
    }
}

/// A per-peer seed for the RFC 4271 §10 jitter, so that peers started
/// together do not retry in step.
fn jitter_seed(address: SocketAddr) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write(address.to_string().as_bytes());
    hasher.finish()
}
