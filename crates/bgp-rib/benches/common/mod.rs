//! Input and set-up shared by the RIB benchmarks.

// Each bench and the example use part of this module.
#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, Ipv4Addr};

use bgp_rib::{Asn, Family, PeerId, PeerInfo, Rib, RibConfig, RouterId};
use bgp_wire::{AttributeError, CodecContext, Message, Update};
use nodebgp_benches::{synthetic_full_table, TABLE_PREFIXES, TABLE_SEED};

/// The peer that sends the table (AS 64700, as the synthetic table's paths start).
pub const SOURCE: PeerId = PeerId(1);
/// An iBGP peer the table is exported to.
pub const INTERNAL: PeerId = PeerId(2);
/// How many UPDATEs the driver is assumed to apply between two `poll_fib` calls.
pub const FIB_BATCH: usize = 1_000;

/// The synthetic full table as encoded frames.
pub fn frames() -> Vec<bytes::Bytes> {
    synthetic_full_table(TABLE_PREFIXES, TABLE_SEED)
}

/// The frames decoded, as the session driver would hand them over.
pub fn decoded(frames: &[bytes::Bytes]) -> Vec<(Update, Vec<AttributeError>)> {
    let context = CodecContext::default();
    frames
        .iter()
        .map(|frame| match Message::decode(frame, &context) {
            Ok(received) => match received.message {
                Message::Update(update) => (update, received.errors),
                other => panic!("not an UPDATE: {other:?}"),
            },
            Err(error) => panic!("synthetic frame does not decode: {error}"),
        })
        .collect()
}

/// A RIB with a node's usual settings (AS 64512, no reflection, no ECMP).
pub fn rib() -> Rib {
    Rib::new(RibConfig::new(
        Asn(64512),
        RouterId(Ipv4Addr::new(10, 0, 0, 1)),
    ))
}

/// The eBGP peer that sends the table.
pub fn source() -> PeerInfo {
    PeerInfo {
        address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        asn: Asn(64700),
        router_id: RouterId(Ipv4Addr::new(192, 0, 2, 1)),
        internal: false,
        route_reflector_client: false,
        next_hop_v4: Some(Ipv4Addr::new(192, 0, 2, 100)),
        next_hop_v6: None,
        families: vec![Family::IPV4_UNICAST],
        four_octet_asn: true,
        allow_own_as: 0,
        max_prefix: None,
        keep_next_hop: false,
        next_hop_self: false,
        local_as: None,
        long_lived: false,
        enforce_first_as: true,
        extended_message: false,
    }
}

/// An iBGP peer that gets the table.
pub fn internal() -> PeerInfo {
    PeerInfo {
        address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        asn: Asn(64512),
        router_id: RouterId(Ipv4Addr::new(10, 0, 0, 2)),
        internal: true,
        next_hop_v4: Some(Ipv4Addr::new(10, 0, 0, 1)),
        ..source()
    }
}

/// Applies every UPDATE from [`SOURCE`], draining FIB changes every
/// [`FIB_BATCH`] UPDATEs as the driver would; returns the FIB changes seen.
pub fn receive_all(rib: &mut Rib, updates: &[(Update, Vec<AttributeError>)]) -> usize {
    let mut fib = 0;
    for batch in updates.chunks(FIB_BATCH) {
        for (update, errors) in batch {
            rib.receive(SOURCE, update, errors);
        }
        fib += rib.poll_fib().len();
    }
    fib
}

/// Resident set size of this process in bytes, from /proc (Linux).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024)
}

/// CPU time this thread has run, in nanoseconds (Linux schedstat): unlike
/// wall time, not inflated by other processes on a busy machine.
pub fn cpu_nanoseconds() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}
