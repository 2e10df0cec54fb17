//! What the session is told before it starts: who we are, who the peer must
//! be, and the timer settings (RFC 4271 §10 defaults, shortened where BGP
//! speakers in data centers usually shorten them).

use std::time::Duration;

use bgp_wire::{Asn, Family, GracefulRestart, HoldTime, LongLivedFamily, RouterId};

/// How long the session waits in Idle before it starts again after an error,
/// doubling on each failure that did not reach Established (like BIRD's
/// `error wait time`), so that a peer refusing us never causes a storm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleHoldPolicy {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub maximum: Duration,
}

impl Default for IdleHoldPolicy {
    fn default() -> Self {
        IdleHoldPolicy {
            initial: Duration::from_secs(5),
            maximum: Duration::from_secs(300),
        }
    }
}

/// One peer's session settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Our AS.
    pub local_as: Asn,
    /// The AS the peer must announce (RFC 4271 §6.2 Bad Peer AS otherwise).
    pub peer_as: Asn,
    /// Our BGP Identifier.
    pub router_id: RouterId,
    /// The hold time we propose (RFC 4271 §4.2).
    pub hold_time: HoldTime,
    /// Keepalive interval; `None` is a third of the negotiated hold time
    /// (RFC 4271 §10).
    pub keepalive: Option<Duration>,
    /// ConnectRetry time (RFC 4271 §10 suggests 120 s).
    pub connect_retry: Duration,
    /// Wait for the peer to connect instead of connecting out (RFC 4271 §8.1.1,
    /// PassiveTcpEstablishment).
    pub passive: bool,
    /// DelayOpen (RFC 4271 §8.1.1): wait this long after connecting for the
    /// peer's OPEN before sending ours.
    pub delay_open: Option<Duration>,
    /// Families to negotiate with the Multiprotocol capability (RFC 4760 §8).
    pub families: Vec<Family>,
    /// Offer RFC 8654 extended messages.
    pub extended_message: bool,
    /// Waits between automatic restarts.
    pub idle_hold: IdleHoldPolicy,
    /// Send hold time (RFC 9687 §3); `None` computes it as the larger of
    /// 8 minutes and twice the negotiated hold time.
    pub send_hold: Option<Duration>,
    /// Seed of the RFC 4271 §10 timer jitter; `None` disables jitter, which
    /// tests use to get exact times.
    pub jitter_seed: Option<u64>,
    /// Host name announced with the FQDN capability, as FRR shows it.
    pub hostname: Option<String>,
    /// The Graceful Restart capability we announce (RFC 4724 §3), if any:
    /// the driver sets the Restart State bit after a restart and the
    /// Forwarding State bit for families whose routes it kept in the kernel.
    pub graceful_restart: Option<GracefulRestart>,
    /// The Long-Lived Graceful Restart capability we announce (RFC 9494 §3),
    /// one entry per family; not announced when empty. RFC 9494 §4.1 wants
    /// it beside [`Config::graceful_restart`].
    pub long_lived_graceful_restart: Vec<LongLivedFamily>,
}

impl Config {
    /// Settings with the usual defaults for a session between two ASes.
    pub fn new(local_as: Asn, peer_as: Asn, router_id: RouterId) -> Self {
        Config {
            local_as,
            peer_as,
            router_id,
            hold_time: HoldTime::DEFAULT,
            keepalive: None,
            connect_retry: Duration::from_secs(120),
            passive: false,
            delay_open: None,
            families: vec![Family::IPV4_UNICAST],
            extended_message: true,
            idle_hold: IdleHoldPolicy::default(),
            send_hold: None,
            jitter_seed: None,
            hostname: None,
            graceful_restart: None,
            long_lived_graceful_restart: Vec::new(),
        }
    }

    /// Whether the peer is in our AS (iBGP).
    pub fn is_internal(&self) -> bool {
        self.local_as == self.peer_as
    }
}
