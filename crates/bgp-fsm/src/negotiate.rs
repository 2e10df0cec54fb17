//! Our OPEN, the checks on the peer's (RFC 4271 §6.2, RFC 6793, RFC 6286),
//! and what the two together let the session use (RFC 5492 §3).

use std::time::Duration;

use bgp_wire::{
    Asn, Capability, CodecContext, DecodeError, Family, GracefulRestart, HoldTime, Open, OpenError,
    RouterId,
};
use bytes::Bytes;

use crate::config::Config;

/// What was negotiated with the peer; exists only once its OPEN was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The peer's AS (its 4-octet AS capability when present).
    pub peer_as: Asn,
    /// The peer's BGP Identifier.
    pub peer_router_id: RouterId,
    /// The hold time in use: the smaller of both proposals (RFC 4271 §4.2).
    pub hold_time: Duration,
    /// The keepalive interval in use; zero when the hold time is zero.
    pub keepalive: Duration,
    /// Families both sides announced (RFC 4760 §8); IPv4 unicast when
    /// neither announced any (RFC 4760 §8 makes it the implicit default).
    pub families: Vec<Family>,
    /// Both sides sent the 4-octet AS capability (RFC 6793).
    pub four_octet_asn: bool,
    /// The peer accepts ROUTE-REFRESH (RFC 2918).
    pub route_refresh: bool,
    /// Both sides do enhanced route refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// Both sides accept extended messages (RFC 8654).
    pub extended_message: bool,
    /// Families where the peer sends us path identifiers (RFC 7911).
    pub add_path_receive: Vec<Family>,
    /// Families where we may send path identifiers.
    pub add_path_send: Vec<Family>,
    /// The peer's graceful restart capability, if it sent one (RFC 4724).
    pub peer_graceful_restart: Option<GracefulRestart>,
    /// The peer's host name (FQDN capability), for display.
    pub peer_hostname: Option<String>,
    /// Capabilities the peer sent, as received.
    pub peer_capabilities: Vec<Capability>,
}

impl Negotiated {
    /// How to read the peer's messages.
    pub fn receive_context(&self) -> CodecContext {
        CodecContext {
            four_octet_asn: self.four_octet_asn,
            add_path: self.add_path_receive.clone(),
            extended_message: self.extended_message,
            ..CodecContext::default()
        }
    }

    /// How to write messages to the peer.
    pub fn send_context(&self) -> CodecContext {
        CodecContext {
            four_octet_asn: self.four_octet_asn,
            add_path: self.add_path_send.clone(),
            extended_message: self.extended_message,
            ..CodecContext::default()
        }
    }
}

/// The OPEN we send.
pub(crate) fn local_open(config: &Config) -> Open {
    let mut capabilities: Vec<Capability> = config
        .families
        .iter()
        .map(|family| Capability::Multiprotocol(*family))
        .collect();
    capabilities.push(Capability::RouteRefresh);
    capabilities.push(Capability::EnhancedRouteRefresh);
    capabilities.push(Capability::FourOctetAs(config.local_as));
    if config.extended_message {
        capabilities.push(Capability::ExtendedMessage);
    }
    if let Some(restart) = &config.graceful_restart {
        capabilities.push(Capability::GracefulRestart(restart.clone()));
    }
    if !config.long_lived_graceful_restart.is_empty() {
        capabilities.push(Capability::LongLivedGracefulRestart(
            config.long_lived_graceful_restart.clone(),
        ));
    }
    if let Some(hostname) = &config.hostname {
        capabilities.push(Capability::Fqdn {
            hostname: Bytes::copy_from_slice(&hostname.as_bytes()[..hostname.len().min(255)]),
            domain: Bytes::new(),
        });
    }
    Open::new(
        config.local_as,
        config.hold_time.seconds(),
        config.router_id,
        capabilities,
    )
}

/// Checks the peer's OPEN against the configuration and works out what both
/// sides support.
pub(crate) fn accept_open(config: &Config, open: &Open) -> Result<Negotiated, DecodeError> {
    let peer_as = open.asn();
    let four_octet_asn = open
        .capabilities()
        .any(|capability| matches!(capability, Capability::FourOctetAs(_)));
    // RFC 6793 §4.2.1: a 4-octet capability with a 2-octet "My AS" other than
    // AS_TRANS for a large AS is inconsistent; RFC 4271 §6.2: the AS must be
    // the configured one.
    if peer_as != config.peer_as {
        return Err(OpenError::BadPeerAs { asn: peer_as.0 }.into());
    }
    // RFC 6286 §2.2: within an AS the identifiers must differ.
    if config.is_internal() && open.router_id == config.router_id {
        return Err(OpenError::BadBgpIdentifier {
            identifier: open.router_id.0,
        }
        .into());
    }
    // RFC 4271 §4.2: the smaller hold time wins; the codec already refused 1 and 2.
    let hold_seconds = open.hold_time.min(config.hold_time.seconds());
    let hold_time = HoldTime::new(hold_seconds).ok_or(OpenError::UnacceptableHoldTime {
        seconds: open.hold_time,
    })?;
    let hold_time = Duration::from_secs(u64::from(hold_time.seconds()));
    let keepalive = if hold_time.is_zero() {
        Duration::ZERO
    } else {
        config.keepalive.unwrap_or(hold_time / 3).min(hold_time)
    };

    let peer_families: Vec<Family> = open
        .capabilities()
        .filter_map(|capability| match capability {
            Capability::Multiprotocol(family) => Some(*family),
            _ => None,
        })
        .collect();
    let families = if peer_families.is_empty() {
        vec![Family::IPV4_UNICAST]
    } else {
        config
            .families
            .iter()
            .copied()
            .filter(|family| peer_families.contains(family))
            .collect()
    };
    let has = |wanted: fn(&Capability) -> bool| open.capabilities().any(wanted);
    let route_refresh = has(|capability| matches!(capability, Capability::RouteRefresh))
        || has(
            |capability| matches!(capability, Capability::Unknown { code, .. } if *code == bgp_wire::CapabilityCode::ROUTE_REFRESH_CISCO),
        );
    let peer_graceful_restart = open.capabilities().find_map(|capability| match capability {
        Capability::GracefulRestart(restart) => Some(restart.clone()),
        _ => None,
    });
    let peer_hostname = open.capabilities().find_map(|capability| match capability {
        Capability::Fqdn { hostname, .. } => Some(String::from_utf8_lossy(hostname).into_owned()),
        _ => None,
    });
    Ok(Negotiated {
        peer_as,
        peer_router_id: open.router_id,
        hold_time,
        keepalive,
        families,
        four_octet_asn,
        route_refresh,
        enhanced_route_refresh: has(|capability| {
            matches!(capability, Capability::EnhancedRouteRefresh)
        }),
        extended_message: config.extended_message
            && has(|capability| matches!(capability, Capability::ExtendedMessage)),
        // We do not announce ADD-PATH yet, so nothing flows either way (RFC 7911 §4).
        add_path_receive: Vec::new(),
        add_path_send: Vec::new(),
        peer_graceful_restart,
        peer_hostname,
        peer_capabilities: open.capabilities().cloned().collect(),
    })
}
