//! From a captured frame to a TCP segment: link layer, IPv4/IPv6, TCP header.
//!
//! Link-layer header types are the LINKTYPE_ values of the tcpdump.org registry
//! (<https://www.tcpdump.org/linktypes.html>). Only what is needed to find the TCP payload and
//! the connection's addresses and ports is read; checksums are not verified, because captures
//! taken on the sending host routinely hold segments whose checksum the NIC fills in later.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::cursor::{array_at, be16_at, be32_at, u32_at, u8_at, ByteOrder};
use crate::Flow;

const LINKTYPE_NULL: u32 = 0;
const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_RAW: u32 = 101;
const LINKTYPE_LOOP: u32 = 108;
const LINKTYPE_LINUX_SLL: u32 = 113;
const LINKTYPE_IPV4: u32 = 228;
const LINKTYPE_IPV6: u32 = 229;
const LINKTYPE_LINUX_SLL2: u32 = 276;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// 802.1Q customer tag, 802.1ad service tag, and the pre-standard 0x9100 used for QinQ.
const ETHERTYPE_VLAN_TAGS: [u16; 3] = [0x8100, 0x88a8, 0x9100];

/// BSD `AF_INET`, and the values `AF_INET6` has on Linux, NetBSD/OpenBSD, FreeBSD and Darwin.
const FAMILY_IPV4: u32 = 2;
const FAMILIES_IPV6: [u32; 4] = [10, 24, 28, 30];

const PROTOCOL_TCP: u8 = 6;
/// IPv6 extension headers that are walked past (RFC 8200 §4): hop-by-hop, routing, fragment,
/// authentication (RFC 4302), destination options.
const IPV6_HOP_BY_HOP: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const IPV6_AUTHENTICATION: u8 = 51;
const IPV6_DESTINATION_OPTIONS: u8 = 60;

const TCP_SYN: u8 = 0x02;

/// A TCP segment found in a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment<'a> {
    pub(crate) flow: Flow,
    pub(crate) sequence: u32,
    pub(crate) syn: bool,
    pub(crate) payload: &'a [u8],
}

/// What a frame turned out to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decoded<'a> {
    /// Not TCP over IP, or headers too damaged to say which connection it belongs to.
    Ignored,
    /// A link type this crate does not decode.
    UnsupportedLinkType,
    /// IP says TCP, but the captured octets end inside the TCP header.
    TcpHeaderCut,
    /// A non-first IP fragment of a TCP packet: no TCP header, so no ports.
    LaterFragment { source: IpAddr, destination: IpAddr },
    Segment {
        segment: Segment<'a>,
        /// The segment is the first fragment of a fragmented IP packet, so its payload is partial.
        first_fragment: bool,
    },
}

/// Decodes a frame of the given link type down to its TCP segment.
pub(crate) fn decode_frame(link_type: u32, frame: &[u8]) -> Decoded<'_> {
    let network = match link_type {
        LINKTYPE_ETHERNET => be16_at(frame, 12).and_then(|ethertype| {
            frame
                .get(14..)
                .and_then(|payload| by_ethertype(ethertype, payload))
        }),
        LINKTYPE_NULL | LINKTYPE_LOOP => null_payload(frame),
        LINKTYPE_RAW => by_version(frame),
        LINKTYPE_IPV4 => Some(Network::Ipv4(frame)),
        LINKTYPE_IPV6 => Some(Network::Ipv6(frame)),
        // Linux cooked capture v1: the protocol (an EtherType) is the last field of a 16-octet
        // header (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html).
        LINKTYPE_LINUX_SLL => be16_at(frame, 14).and_then(|protocol| {
            frame
                .get(16..)
                .and_then(|payload| by_ethertype(protocol, payload))
        }),
        // Linux cooked capture v2: the protocol is the first field of a 20-octet header
        // (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html).
        LINKTYPE_LINUX_SLL2 => be16_at(frame, 0).and_then(|protocol| {
            frame
                .get(20..)
                .and_then(|payload| by_ethertype(protocol, payload))
        }),
        _ => return Decoded::UnsupportedLinkType,
    };
    let datagram = match network {
        Some(Network::Ipv4(packet)) => ipv4(packet),
        Some(Network::Ipv6(packet)) => ipv6(packet),
        None => None,
    };
    match datagram {
        Some(datagram) if datagram.protocol == PROTOCOL_TCP => tcp(datagram),
        _ => Decoded::Ignored,
    }
}

enum Network<'a> {
    Ipv4(&'a [u8]),
    Ipv6(&'a [u8]),
}

fn by_ethertype(mut ethertype: u16, mut payload: &[u8]) -> Option<Network<'_>> {
    // Each VLAN tag is 2 octets of tag control information followed by the next EtherType;
    // stacked tags (QinQ) are peeled one at a time, and each pass consumes 4 octets.
    while ETHERTYPE_VLAN_TAGS.contains(&ethertype) {
        ethertype = be16_at(payload, 2)?;
        payload = payload.get(4..)?;
    }
    match ethertype {
        ETHERTYPE_IPV4 => Some(Network::Ipv4(payload)),
        ETHERTYPE_IPV6 => Some(Network::Ipv6(payload)),
        _ => None,
    }
}

fn by_version(packet: &[u8]) -> Option<Network<'_>> {
    match u8_at(packet, 0)? >> 4 {
        4 => Some(Network::Ipv4(packet)),
        6 => Some(Network::Ipv6(packet)),
        _ => None,
    }
}

/// BSD loopback: a 4-octet address family in the byte order of the capturing host for
/// LINKTYPE_NULL and in network order for LINKTYPE_LOOP. Both readings are tried, as the
/// family values cannot be confused with each other's byte swaps.
fn null_payload(frame: &[u8]) -> Option<Network<'_>> {
    let family_big = u32_at(frame, 0, ByteOrder::Big)?;
    let family_little = u32_at(frame, 0, ByteOrder::Little)?;
    let payload = frame.get(4..)?;
    let is = |family: u32| family_big == family || family_little == family;
    if is(FAMILY_IPV4) {
        Some(Network::Ipv4(payload))
    } else if FAMILIES_IPV6.into_iter().any(is) {
        Some(Network::Ipv6(payload))
    } else {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fragment {
    Whole,
    First,
    Later,
}

struct Datagram<'a> {
    source: IpAddr,
    destination: IpAddr,
    protocol: u8,
    fragment: Fragment,
    payload: &'a [u8],
}

/// Where an IP packet's payload ends: at its length field, not at the end of the frame, because
/// Ethernet pads short frames to 60 octets and may append a frame check sequence. A length of 0
/// (segmentation offload on the capturing host, or an IPv6 jumbogram) means "to the end".
fn payload_end(declared_end: usize, declared_length: u16, available: usize) -> usize {
    if declared_length == 0 {
        available
    } else {
        declared_end.min(available)
    }
}

/// RFC 791 §3.1.
fn ipv4(packet: &[u8]) -> Option<Datagram<'_>> {
    let first = u8_at(packet, 0)?;
    if first >> 4 != 4 {
        return None;
    }
    let header_length = usize::from(first & 0x0f) * 4;
    let total_length = be16_at(packet, 2)?;
    let fragment_field = be16_at(packet, 6)?;
    let protocol = u8_at(packet, 9)?;
    let source = Ipv4Addr::from(array_at::<4>(packet, 12)?);
    let destination = Ipv4Addr::from(array_at::<4>(packet, 16)?);
    if header_length < 20 || (total_length != 0 && usize::from(total_length) < header_length) {
        return None;
    }
    let end = payload_end(usize::from(total_length), total_length, packet.len());
    let more_fragments = fragment_field & 0x2000 != 0;
    let fragment_offset = fragment_field & 0x1fff;
    let fragment = match (fragment_offset, more_fragments) {
        (0, false) => Fragment::Whole,
        (0, true) => Fragment::First,
        _ => Fragment::Later,
    };
    Some(Datagram {
        source: IpAddr::V4(source),
        destination: IpAddr::V4(destination),
        protocol,
        fragment,
        // Options cut off by the capture leave an empty payload, which the TCP step reports.
        payload: packet.get(header_length..end).unwrap_or_default(),
    })
}

/// RFC 8200 §3 and §4.
fn ipv6(packet: &[u8]) -> Option<Datagram<'_>> {
    if u8_at(packet, 0)? >> 4 != 6 {
        return None;
    }
    let payload_length = be16_at(packet, 4)?;
    let mut next_header = u8_at(packet, 6)?;
    let source = Ipv6Addr::from(array_at::<16>(packet, 8)?);
    let destination = Ipv6Addr::from(array_at::<16>(packet, 24)?);
    let end = payload_end(
        40 + usize::from(payload_length),
        payload_length,
        packet.len(),
    );
    let packet = packet.get(..end)?;
    let mut position = 40;
    let mut fragment = Fragment::Whole;
    // Every extension header is at least 8 octets long, so this loop runs at most
    // packet.len() / 8 times.
    loop {
        match next_header {
            IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_DESTINATION_OPTIONS => {
                let length = (usize::from(u8_at(packet, position + 1)?) + 1) * 8;
                next_header = u8_at(packet, position)?;
                position += length;
            }
            IPV6_AUTHENTICATION => {
                let length = (usize::from(u8_at(packet, position + 1)?) + 2) * 4;
                next_header = u8_at(packet, position)?;
                position += length;
            }
            IPV6_FRAGMENT => {
                let offset_field = be16_at(packet, position + 2)?;
                next_header = u8_at(packet, position)?;
                position += 8;
                let more_fragments = offset_field & 1 != 0;
                fragment = match (offset_field >> 3, more_fragments) {
                    (0, false) => Fragment::Whole,
                    (0, true) => Fragment::First,
                    // A later fragment's payload is the middle of some upper-layer packet;
                    // nothing past this header can be parsed.
                    _ => {
                        return Some(Datagram {
                            source: IpAddr::V6(source),
                            destination: IpAddr::V6(destination),
                            protocol: next_header,
                            fragment: Fragment::Later,
                            payload: &[],
                        })
                    }
                };
            }
            _ => break,
        }
    }
    Some(Datagram {
        source: IpAddr::V6(source),
        destination: IpAddr::V6(destination),
        protocol: next_header,
        fragment,
        payload: packet.get(position..).unwrap_or_default(),
    })
}

/// RFC 9293 §3.1.
fn tcp(datagram: Datagram<'_>) -> Decoded<'_> {
    if datagram.fragment == Fragment::Later {
        return Decoded::LaterFragment {
            source: datagram.source,
            destination: datagram.destination,
        };
    }
    let segment = datagram.payload;
    let (
        Some(source_port),
        Some(destination_port),
        Some(sequence),
        Some(offset_octet),
        Some(flags),
    ) = (
        be16_at(segment, 0),
        be16_at(segment, 2),
        be32_at(segment, 4),
        u8_at(segment, 12),
        u8_at(segment, 13),
    )
    else {
        return Decoded::TcpHeaderCut;
    };
    let data_offset = usize::from(offset_octet >> 4) * 4;
    if data_offset < 20 {
        return Decoded::Ignored;
    }
    let Some(payload) = segment.get(data_offset..) else {
        return Decoded::TcpHeaderCut;
    };
    Decoded::Segment {
        segment: Segment {
            flow: Flow {
                source: SocketAddr::new(datagram.source, source_port),
                destination: SocketAddr::new(datagram.destination, destination_port),
            },
            sequence,
            syn: flags & TCP_SYN != 0,
            payload,
        },
        first_fragment: datagram.fragment == Fragment::First,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp_header(sequence: u32, flags: u8) -> Vec<u8> {
        let mut header = vec![0x30, 0x39, 0x00, 0xb3];
        header.extend_from_slice(&sequence.to_be_bytes());
        header.extend_from_slice(&[0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        header
    }

    fn ipv6_packet(extensions: &[u8], first_next_header: u8, upper: &[u8]) -> Vec<u8> {
        let mut packet = vec![0x60, 0, 0, 0];
        let length = u16::try_from(extensions.len() + upper.len()).expect("small test packet");
        packet.extend_from_slice(&length.to_be_bytes());
        packet.extend_from_slice(&[first_next_header, 64]);
        packet.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        packet.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        packet.extend_from_slice(extensions);
        packet.extend_from_slice(upper);
        packet
    }

    #[test]
    fn ipv6_extension_headers_are_walked_to_tcp() {
        let mut upper = tcp_header(7, 0x18);
        upper.extend_from_slice(b"data");
        // Hop-by-hop (8 octets) -> destination options (16 octets) -> TCP.
        let mut extensions = vec![IPV6_DESTINATION_OPTIONS, 0, 0, 0, 0, 0, 0, 0];
        extensions.extend_from_slice(&[PROTOCOL_TCP, 1]);
        extensions.extend_from_slice(&[0; 14]);
        let packet = ipv6_packet(&extensions, IPV6_HOP_BY_HOP, &upper);
        match decode_frame(LINKTYPE_IPV6, &packet) {
            Decoded::Segment {
                segment,
                first_fragment,
            } => {
                assert_eq!(segment.payload, b"data");
                assert_eq!(segment.sequence, 7);
                assert_eq!(segment.flow.destination.port(), 179);
                assert!(!first_fragment);
            }
            other => panic!("expected a segment, got {other:?}"),
        }
    }

    #[test]
    fn ipv6_later_fragment_is_reported_without_ports() {
        // Fragment header with offset 8 (in 8-octet units) and the M flag clear.
        let extensions = [PROTOCOL_TCP, 0, 0, 8 << 3, 0, 0, 0, 1];
        let packet = ipv6_packet(&extensions, IPV6_FRAGMENT, b"middle of a segment");
        assert!(matches!(
            decode_frame(LINKTYPE_RAW, &packet),
            Decoded::LaterFragment { .. }
        ));
    }

    #[test]
    fn ipv4_trailing_ethernet_padding_is_not_payload() {
        let upper = tcp_header(1, 0x10);
        let mut packet = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, PROTOCOL_TCP, 0, 0];
        packet[3] = u8::try_from(20 + upper.len()).expect("small");
        packet.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        packet.extend_from_slice(&upper);
        packet.extend_from_slice(&[0xee; 6]);
        match decode_frame(LINKTYPE_IPV4, &packet) {
            Decoded::Segment { segment, .. } => assert!(segment.payload.is_empty()),
            other => panic!("expected a segment, got {other:?}"),
        }
    }

    #[test]
    fn loopback_family_is_read_in_either_byte_order() {
        let mut frame = 2u32.to_le_bytes().to_vec();
        frame.push(0x45);
        assert!(matches!(null_payload(&frame), Some(Network::Ipv4(_))));
        let mut frame = 30u32.to_be_bytes().to_vec();
        frame.push(0x60);
        assert!(matches!(null_payload(&frame), Some(Network::Ipv6(_))));
        assert!(null_payload(&7u32.to_be_bytes()).is_none());
    }

    #[test]
    fn cut_tcp_header_and_unknown_link_type_are_distinguished() {
        let packet = [
            0x45,
            0,
            0,
            40,
            0,
            0,
            0,
            0,
            64,
            PROTOCOL_TCP,
            0,
            0,
            10,
            0,
            0,
            1,
            10,
            0,
            0,
            2,
            0x30,
        ];
        assert_eq!(decode_frame(LINKTYPE_IPV4, &packet), Decoded::TcpHeaderCut);
        assert_eq!(decode_frame(147, &packet), Decoded::UnsupportedLinkType);
        assert_eq!(decode_frame(LINKTYPE_ETHERNET, &[]), Decoded::Ignored);
    }
}
