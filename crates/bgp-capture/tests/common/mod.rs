//! Tiny builders for synthetic captures and MRT dumps, shared by the integration tests.
//!
//! Each integration test crate uses a different subset of these builders.
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};

/// BGP message of the given type with `body_length` octets of patterned body.
pub(crate) fn bgp_message(message_type: u8, body_length: usize) -> Vec<u8> {
    let mut message = vec![0xff; 16];
    let length = u16::try_from(19 + body_length).expect("message fits in 65535 octets");
    message.extend_from_slice(&length.to_be_bytes());
    message.push(message_type);
    message.extend((0..body_length).map(|index| (index % 251) as u8));
    message
}

pub(crate) fn keepalive() -> Vec<u8> {
    bgp_message(4, 0)
}

pub(crate) fn update(body_length: usize) -> Vec<u8> {
    bgp_message(2, body_length)
}

pub(crate) fn open() -> Vec<u8> {
    bgp_message(1, 10)
}

pub(crate) const SYN: u8 = 0x02;
pub(crate) const ACK: u8 = 0x10;
pub(crate) const PSH_ACK: u8 = 0x18;

pub(crate) fn socket(text: &str) -> SocketAddr {
    text.parse().expect("socket address literal")
}

/// A TCP segment with a 12-octet timestamp option, so the data offset is not the minimum.
pub(crate) fn tcp_segment(
    source: SocketAddr,
    destination: SocketAddr,
    sequence: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut segment = Vec::new();
    segment.extend_from_slice(&source.port().to_be_bytes());
    segment.extend_from_slice(&destination.port().to_be_bytes());
    segment.extend_from_slice(&sequence.to_be_bytes());
    segment.extend_from_slice(&0u32.to_be_bytes());
    segment.push(8 << 4); // data offset: 8 words = 20 + 12 octets of options
    segment.push(flags);
    segment.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    segment.extend_from_slice(&[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
    segment.extend_from_slice(payload);
    segment
}

/// IPv4 header with one 4-octet option (NOP padding), fragment fields as given.
pub(crate) fn ipv4_packet(
    source: [u8; 4],
    destination: [u8; 4],
    protocol: u8,
    fragment_field: u16,
    payload: &[u8],
) -> Vec<u8> {
    let total = u16::try_from(24 + payload.len()).expect("small packet");
    let mut packet = vec![0x46, 0];
    packet.extend_from_slice(&total.to_be_bytes());
    packet.extend_from_slice(&[0x12, 0x34]);
    packet.extend_from_slice(&fragment_field.to_be_bytes());
    packet.extend_from_slice(&[64, protocol, 0, 0]);
    packet.extend_from_slice(&source);
    packet.extend_from_slice(&destination);
    packet.extend_from_slice(&[1, 1, 1, 0]);
    packet.extend_from_slice(payload);
    packet
}

/// IPv6 header followed by a hop-by-hop options header (8 octets), then the payload.
pub(crate) fn ipv6_packet(
    source: [u8; 16],
    destination: [u8; 16],
    protocol: u8,
    payload: &[u8],
) -> Vec<u8> {
    let length = u16::try_from(8 + payload.len()).expect("small packet");
    let mut packet = vec![0x60, 0, 0, 0];
    packet.extend_from_slice(&length.to_be_bytes());
    packet.extend_from_slice(&[0, 64]); // next header: hop-by-hop
    packet.extend_from_slice(&source);
    packet.extend_from_slice(&destination);
    packet.extend_from_slice(&[protocol, 0, 1, 4, 0, 0, 0, 0]);
    packet.extend_from_slice(payload);
    packet
}

/// An IP packet (version chosen by the addresses) carrying a TCP segment.
pub(crate) fn ip_tcp(
    source: SocketAddr,
    destination: SocketAddr,
    sequence: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let segment = tcp_segment(source, destination, sequence, flags, payload);
    match (source.ip(), destination.ip()) {
        (IpAddr::V4(from), IpAddr::V4(to)) => {
            ipv4_packet(from.octets(), to.octets(), 6, 0, &segment)
        }
        (IpAddr::V6(from), IpAddr::V6(to)) => ipv6_packet(from.octets(), to.octets(), 6, &segment),
        _ => panic!("mixed address families"),
    }
}

pub(crate) fn ethertype_of(packet: &[u8]) -> u16 {
    if packet[0] >> 4 == 6 {
        0x86dd
    } else {
        0x0800
    }
}

/// Ethernet II frame with the given VLAN tags (outermost first), padded to 60 octets like a
/// real NIC would.
pub(crate) fn ethernet(packet: &[u8], vlan_tags: &[(u16, u16)]) -> Vec<u8> {
    let mut frame = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    for (tag_protocol, vlan) in vlan_tags {
        frame.extend_from_slice(&tag_protocol.to_be_bytes());
        frame.extend_from_slice(&vlan.to_be_bytes());
    }
    frame.extend_from_slice(&ethertype_of(packet).to_be_bytes());
    frame.extend_from_slice(packet);
    if frame.len() < 60 {
        frame.resize(60, 0);
    }
    frame
}

/// Linux cooked capture v1 header (16 octets) in front of an IP packet.
pub(crate) fn sll(packet: &[u8]) -> Vec<u8> {
    let mut frame = vec![0, 0, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 1, 0, 0];
    frame.extend_from_slice(&ethertype_of(packet).to_be_bytes());
    frame.extend_from_slice(packet);
    frame
}

/// Linux cooked capture v2 header (20 octets) in front of an IP packet.
pub(crate) fn sll2(packet: &[u8]) -> Vec<u8> {
    let mut frame = ethertype_of(packet).to_be_bytes().to_vec();
    frame.extend_from_slice(&[0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 1, 0, 0]);
    frame.extend_from_slice(packet);
    frame
}

/// BSD loopback header: address family in little-endian host order (2 = AF_INET, 30 = Darwin's
/// AF_INET6).
pub(crate) fn null_loopback(packet: &[u8]) -> Vec<u8> {
    let family: u32 = if packet[0] >> 4 == 6 { 30 } else { 2 };
    let mut frame = family.to_le_bytes().to_vec();
    frame.extend_from_slice(packet);
    frame
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    Big,
    Little,
}

impl Endian {
    pub(crate) fn u16(self, value: u16) -> [u8; 2] {
        match self {
            Self::Big => value.to_be_bytes(),
            Self::Little => value.to_le_bytes(),
        }
    }

    pub(crate) fn u32(self, value: u32) -> [u8; 4] {
        match self {
            Self::Big => value.to_be_bytes(),
            Self::Little => value.to_le_bytes(),
        }
    }
}

/// One captured frame: timestamp in microseconds, octets, and the original (wire) length.
#[derive(Debug, Clone)]
pub(crate) struct TestFrame {
    pub(crate) timestamp_micros: u64,
    pub(crate) data: Vec<u8>,
    pub(crate) original_length: usize,
}

impl TestFrame {
    pub(crate) fn new(timestamp_micros: u64, data: Vec<u8>) -> Self {
        let original_length = data.len();
        Self {
            timestamp_micros,
            data,
            original_length,
        }
    }
}

/// Frames stamped one millisecond apart starting at 1_700_000_000 s.
pub(crate) fn frames(datas: Vec<Vec<u8>>) -> Vec<TestFrame> {
    datas
        .into_iter()
        .enumerate()
        .map(|(index, data)| TestFrame::new(1_700_000_000_000_000 + index as u64 * 1000, data))
        .collect()
}

pub(crate) fn pcap_file(
    endian: Endian,
    nanoseconds: bool,
    link_type: u32,
    frames: &[TestFrame],
) -> Vec<u8> {
    let mut file = Vec::new();
    file.extend_from_slice(&endian.u32(if nanoseconds {
        0xa1b2_3c4d
    } else {
        0xa1b2_c3d4
    }));
    file.extend_from_slice(&endian.u16(2));
    file.extend_from_slice(&endian.u16(4));
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&endian.u32(65535));
    file.extend_from_slice(&endian.u32(link_type));
    for frame in frames {
        let seconds = u32::try_from(frame.timestamp_micros / 1_000_000).expect("fits");
        let micros = u32::try_from(frame.timestamp_micros % 1_000_000).expect("fits");
        file.extend_from_slice(&endian.u32(seconds));
        file.extend_from_slice(&endian.u32(if nanoseconds { micros * 1000 } else { micros }));
        file.extend_from_slice(&endian.u32(u32::try_from(frame.data.len()).expect("fits")));
        file.extend_from_slice(&endian.u32(u32::try_from(frame.original_length).expect("fits")));
        file.extend_from_slice(&frame.data);
    }
    file
}

/// A pcapng block: type, total length, body padded to 32 bits, total length.
pub(crate) fn pcapng_block(endian: Endian, block_type: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().next_multiple_of(4);
    let total = u32::try_from(12 + padded).expect("fits");
    let mut block = Vec::new();
    block.extend_from_slice(&endian.u32(block_type));
    block.extend_from_slice(&endian.u32(total));
    block.extend_from_slice(body);
    block.resize(8 + padded, 0);
    block.extend_from_slice(&endian.u32(total));
    block
}

pub(crate) fn section_header(endian: Endian) -> Vec<u8> {
    let mut body = endian.u32(0x1a2b_3c4d).to_vec();
    body.extend_from_slice(&endian.u16(1));
    body.extend_from_slice(&endian.u16(0));
    body.extend_from_slice(&[0xff; 8]); // section length unknown
    pcapng_block(endian, 0x0a0d_0d0a, &body)
}

/// Interface Description Block; with `nanoseconds`, an if_tsresol option of 9.
pub(crate) fn interface_description(endian: Endian, link_type: u16, nanoseconds: bool) -> Vec<u8> {
    let mut body = endian.u16(link_type).to_vec();
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&endian.u32(0));
    if nanoseconds {
        body.extend_from_slice(&endian.u16(9));
        body.extend_from_slice(&endian.u16(1));
        body.extend_from_slice(&[9, 0, 0, 0]);
        body.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
    }
    pcapng_block(endian, 1, &body)
}

pub(crate) fn enhanced_packet(
    endian: Endian,
    interface: u32,
    units: u64,
    frame: &TestFrame,
) -> Vec<u8> {
    let mut body = endian.u32(interface).to_vec();
    body.extend_from_slice(&endian.u32((units >> 32) as u32));
    body.extend_from_slice(&endian.u32(units as u32));
    body.extend_from_slice(&endian.u32(u32::try_from(frame.data.len()).expect("fits")));
    body.extend_from_slice(&endian.u32(u32::try_from(frame.original_length).expect("fits")));
    body.extend_from_slice(&frame.data);
    pcapng_block(endian, 6, &body)
}

/// A pcapng file of one section and one interface, every frame in an Enhanced Packet Block.
pub(crate) fn pcapng_file(
    endian: Endian,
    nanoseconds: bool,
    link_type: u16,
    frames: &[TestFrame],
) -> Vec<u8> {
    let mut file = section_header(endian);
    file.extend(interface_description(endian, link_type, nanoseconds));
    for frame in frames {
        let units = if nanoseconds {
            frame.timestamp_micros * 1000
        } else {
            frame.timestamp_micros
        };
        file.extend(enhanced_packet(endian, 0, units, frame));
    }
    file
}

/// MRT record: common header (RFC 6396 §2) and body.
pub(crate) fn mrt_record(timestamp: u32, mrt_type: u16, subtype: u16, body: &[u8]) -> Vec<u8> {
    let mut record = timestamp.to_be_bytes().to_vec();
    record.extend_from_slice(&mrt_type.to_be_bytes());
    record.extend_from_slice(&subtype.to_be_bytes());
    record.extend_from_slice(&u32::try_from(body.len()).expect("fits").to_be_bytes());
    record.extend_from_slice(body);
    record
}

/// BGP4MP body: AS numbers (2 or 4 octets), interface index, AFI, addresses, then `tail`
/// (a BGP message, or old and new state).
pub(crate) fn bgp4mp_body(
    four_octet_asn: bool,
    peer: IpAddr,
    local: IpAddr,
    tail: &[u8],
) -> Vec<u8> {
    let mut body = Vec::new();
    if four_octet_asn {
        body.extend_from_slice(&4_200_000_001u32.to_be_bytes());
        body.extend_from_slice(&4_200_000_002u32.to_be_bytes());
    } else {
        body.extend_from_slice(&64_501u16.to_be_bytes());
        body.extend_from_slice(&64_502u16.to_be_bytes());
    }
    body.extend_from_slice(&7u16.to_be_bytes());
    match (peer, local) {
        (IpAddr::V4(peer), IpAddr::V4(local)) => {
            body.extend_from_slice(&1u16.to_be_bytes());
            body.extend_from_slice(&peer.octets());
            body.extend_from_slice(&local.octets());
        }
        (IpAddr::V6(peer), IpAddr::V6(local)) => {
            body.extend_from_slice(&2u16.to_be_bytes());
            body.extend_from_slice(&peer.octets());
            body.extend_from_slice(&local.octets());
        }
        _ => panic!("mixed address families"),
    }
    body.extend_from_slice(tail);
    body
}

/// Gzip-compresses with flate2, as RIPE RIS does for its dumps.
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("in-memory write");
    encoder.finish().expect("in-memory write")
}

/// A small deterministic pseudo-random generator (xorshift64*) for mutation tests.
pub(crate) struct Random(u64);

impl Random {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}
