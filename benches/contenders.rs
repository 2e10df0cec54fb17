//! The three other Rust BGP parsers, called the way a user decodes a whole BGP message
//! (header included) from bytes, and visited like our side: every prefix (IPv4 NLRI
//! fields and MP_REACH/MP_UNREACH), every AS number of AS_PATH/AS4_PATH, every standard
//! and large community. Shared by both bench targets through `#[path]`.

use bgpkit_parser::models::{
    AsPath as BgpkitAsPath, AsnLength, AttributeValue as BgpkitValue, BgpMessage as BgpkitMessage,
    Community as BgpkitCommunity, NetworkPrefix,
};
use std::net::IpAddr;

use bytes::Bytes;
use ipnet::IpNet;
use netgauze_bgp_pkt::path_attribute::{
    As4PathSegment, AsPath as NetgauzeAsPath, MpReach, MpUnreach, PathAttributeValue,
};
use netgauze_bgp_pkt::wire::deserializer::BgpParsingContext;
use netgauze_bgp_pkt::BgpMessage as NetgauzeMessage;
use netgauze_parse_utils::reader::SliceReader;
use netgauze_parse_utils::traits::ParseFromWithOneInput;
use nodebgp_benches::{decode_all_nodebgp, NodebgpContexts, Visit};
use rustbgpd_wire::attribute::{AsPathSegment, PathAttribute as RustbgpdAttribute};
use rustbgpd_wire::nlri::Prefix as RustbgpdPrefix;
use rustbgpd_wire::{Message as RustbgpdMessage, MAX_MESSAGE_LEN};

/// Every decoder in the benches, ours first, by the name each result line shows.
pub(crate) const CONTENDERS: [&str; 4] = [
    "bgp-wire",
    "bgpkit-parser",
    "netgauze-bgp-pkt",
    "rustbgpd-wire",
];

/// What the decoders keep between passes (parsing contexts built once).
pub(crate) struct Decoders {
    ours: NodebgpContexts,
    netgauze: NetgauzeContexts,
}

impl Decoders {
    pub(crate) fn new() -> Self {
        Decoders {
            ours: NodebgpContexts::default(),
            netgauze: NetgauzeContexts::new(),
        }
    }

    /// One pass of `CONTENDERS[contender]` over `frames`.
    pub(crate) fn decode(&mut self, contender: usize, frames: &[(Bytes, bool)]) -> Visit {
        match contender {
            0 => decode_all_nodebgp(frames, &self.ours),
            1 => decode_all_bgpkit(frames),
            2 => decode_all_netgauze(frames, &mut self.netgauze),
            _ => decode_all_rustbgpd(frames),
        }
    }
}

/// bgpkit-parser: `parse_bgp_message(&mut Bytes, add_path, &AsnLength)` on a clone of
/// each frame (a reference-count increment), as its MRT reader does.
pub(crate) fn decode_all_bgpkit(frames: &[(Bytes, bool)]) -> Visit {
    let mut visit = Visit::default();
    for (frame, four_octet) in frames {
        let asn_length = if *four_octet {
            AsnLength::Bits32
        } else {
            AsnLength::Bits16
        };
        let mut data = frame.clone();
        match bgpkit_parser::parser::bgp::messages::parse_bgp_message(&mut data, false, &asn_length)
        {
            Ok(BgpkitMessage::Update(update)) => {
                visit.messages += 1;
                for prefix in update
                    .withdrawn_prefixes
                    .iter()
                    .chain(&update.announced_prefixes)
                {
                    visit_bgpkit_prefix(&mut visit, prefix);
                }
                for value in &update.attributes {
                    visit.attributes += 1;
                    match value {
                        BgpkitValue::AsPath(path) | BgpkitValue::As4Path(path) => {
                            visit_bgpkit_path(&mut visit, path)
                        }
                        BgpkitValue::Communities(list) => {
                            for community in list {
                                visit.community(u64::from(bgpkit_community(community)));
                            }
                        }
                        BgpkitValue::LargeCommunities(list) => {
                            for large in list {
                                visit.community(
                                    u64::from(large.global_admin)
                                        ^ u64::from(large.local_data[0]) << 16
                                        ^ u64::from(large.local_data[1]) << 32,
                                );
                            }
                        }
                        BgpkitValue::MpReachNlri(nlri) | BgpkitValue::MpUnreachNlri(nlri) => {
                            for prefix in &nlri.prefixes {
                                visit_bgpkit_prefix(&mut visit, prefix);
                            }
                        }
                        BgpkitValue::Origin(origin) => visit.scalar(*origin as u64),
                        BgpkitValue::NextHop(IpAddr::V4(address)) => {
                            visit.scalar(u64::from(u32::from(*address)))
                        }
                        BgpkitValue::MultiExitDiscriminator(value)
                        | BgpkitValue::LocalPreference(value) => visit.scalar(u64::from(*value)),
                        _ => {}
                    }
                }
            }
            Ok(_) => visit.messages += 1,
            Err(_) => visit.errors += 1,
        }
    }
    visit
}

#[inline]
fn visit_bgpkit_prefix(visit: &mut Visit, prefix: &NetworkPrefix) {
    visit.prefix(&prefix.prefix);
}

fn visit_bgpkit_path(visit: &mut Visit, path: &BgpkitAsPath) {
    for segment in path.iter_segments() {
        for asn in segment.iter() {
            visit.asn(asn.to_u32());
        }
    }
}

fn bgpkit_community(community: &BgpkitCommunity) -> u32 {
    match community {
        BgpkitCommunity::NoExport => 0xFFFF_FF01,
        BgpkitCommunity::NoAdvertise => 0xFFFF_FF02,
        BgpkitCommunity::NoExportSubConfed => 0xFFFF_FF03,
        BgpkitCommunity::Custom(asn, value) => asn.to_u32() << 16 | u32::from(*value),
    }
}

/// The parsing contexts NetGauze needs for the two AS number widths, built once.
pub(crate) struct NetgauzeContexts {
    four_octet: BgpParsingContext,
    two_octet: BgpParsingContext,
}

impl NetgauzeContexts {
    pub(crate) fn new() -> Self {
        NetgauzeContexts {
            four_octet: BgpParsingContext::default(),
            two_octet: BgpParsingContext::asn2_default(),
        }
    }
}

/// NetGauze: `BgpMessage::parse(&mut SliceReader, &mut BgpParsingContext)` on each frame,
/// the way its own example decodes a message.
pub(crate) fn decode_all_netgauze(
    frames: &[(Bytes, bool)],
    contexts: &mut NetgauzeContexts,
) -> Visit {
    let mut visit = Visit::default();
    for (frame, four_octet) in frames {
        let context = if *four_octet {
            &mut contexts.four_octet
        } else {
            &mut contexts.two_octet
        };
        match NetgauzeMessage::parse(&mut SliceReader::new(frame), context) {
            Ok(NetgauzeMessage::Update(update)) => {
                visit.messages += 1;
                for address in update.withdraw_routes().iter().chain(update.nlri()) {
                    visit.prefix(&IpNet::V4(address.network().address()));
                }
                for attribute in update.path_attributes() {
                    visit.attributes += 1;
                    match attribute.value() {
                        PathAttributeValue::AsPath(NetgauzeAsPath::As2PathSegments(segments)) => {
                            for segment in segments.iter() {
                                for asn in segment.as_numbers() {
                                    visit.asn(u32::from(*asn));
                                }
                            }
                        }
                        PathAttributeValue::AsPath(NetgauzeAsPath::As4PathSegments(segments)) => {
                            visit_netgauze_segments(&mut visit, segments)
                        }
                        PathAttributeValue::As4Path(path) => {
                            visit_netgauze_segments(&mut visit, path.segments())
                        }
                        PathAttributeValue::Communities(list) => {
                            for community in list.communities() {
                                visit.community(u64::from(community.value()));
                            }
                        }
                        PathAttributeValue::LargeCommunities(list) => {
                            for large in list.communities() {
                                visit.community(
                                    u64::from(large.global_admin())
                                        ^ u64::from(large.local_data1()) << 16
                                        ^ u64::from(large.local_data2()) << 32,
                                );
                            }
                        }
                        PathAttributeValue::Origin(origin) => visit.scalar(*origin as u64),
                        PathAttributeValue::NextHop(next_hop) => {
                            visit.scalar(u64::from(u32::from(next_hop.next_hop())))
                        }
                        PathAttributeValue::MultiExitDiscriminator(med) => {
                            visit.scalar(u64::from(med.metric()))
                        }
                        PathAttributeValue::LocalPreference(preference) => {
                            visit.scalar(u64::from(preference.metric()))
                        }
                        PathAttributeValue::MpReach(reach) => {
                            visit_netgauze_reach(&mut visit, reach)
                        }
                        PathAttributeValue::MpUnreach(unreach) => {
                            visit_netgauze_unreach(&mut visit, unreach)
                        }
                        _ => {}
                    }
                }
            }
            Ok(_) => visit.messages += 1,
            Err(_) => visit.errors += 1,
        }
    }
    visit
}

fn visit_netgauze_segments(visit: &mut Visit, segments: &[As4PathSegment]) {
    for segment in segments {
        for asn in segment.as_numbers() {
            visit.asn(*asn);
        }
    }
}

fn visit_netgauze_reach(visit: &mut Visit, reach: &MpReach) {
    match reach {
        MpReach::Ipv4Unicast { nlri, .. } => {
            for address in nlri.iter() {
                visit.prefix(&IpNet::V4(address.network().address()));
            }
        }
        MpReach::Ipv4Multicast { nlri, .. } => {
            for address in nlri.iter() {
                visit.prefix(&IpNet::V4(address.network().address()));
            }
        }
        MpReach::Ipv6Unicast { nlri, .. } => {
            for address in nlri.iter() {
                visit.prefix(&IpNet::V6(address.network().address()));
            }
        }
        MpReach::Ipv6Multicast { nlri, .. } => {
            for address in nlri.iter() {
                visit.prefix(&IpNet::V6(address.network().address()));
            }
        }
        _ => {}
    }
}

fn visit_netgauze_unreach(visit: &mut Visit, unreach: &MpUnreach) {
    match unreach {
        MpUnreach::Ipv4Unicast { nlri } => {
            for address in nlri.iter() {
                visit.prefix(&IpNet::V4(address.network().address()));
            }
        }
        MpUnreach::Ipv4Multicast { nlri } => {
            for address in nlri.iter() {
                visit.prefix(&IpNet::V4(address.network().address()));
            }
        }
        MpUnreach::Ipv6Unicast { nlri } => {
            for address in nlri.iter() {
                visit.prefix(&IpNet::V6(address.network().address()));
            }
        }
        MpUnreach::Ipv6Multicast { nlri } => {
            for address in nlri.iter() {
                visit.prefix(&IpNet::V6(address.network().address()));
            }
        }
        _ => {}
    }
}

/// rustbgpd-wire: `decode_message(&mut Bytes, MAX_MESSAGE_LEN)` on a clone of each frame,
/// then `UpdateMessage::parse(four_octet_as, add_path, &[])`, the two steps of its own
/// `decode_update` example. Its decoder folds an AS4_PATH into the AS_PATH of a 2-octet
/// session (RFC 6793 §4.2.3), so there it visits the merged path's AS numbers.
pub(crate) fn decode_all_rustbgpd(frames: &[(Bytes, bool)]) -> Visit {
    let mut visit = Visit::default();
    for (frame, four_octet) in frames {
        let mut data = frame.clone();
        let update = match rustbgpd_wire::decode_message(&mut data, MAX_MESSAGE_LEN) {
            Ok(RustbgpdMessage::Update(update)) => update,
            Ok(_) => {
                visit.messages += 1;
                continue;
            }
            Err(_) => {
                visit.errors += 1;
                continue;
            }
        };
        let Ok(parsed) = update.parse(*four_octet, false, &[]) else {
            visit.errors += 1;
            continue;
        };
        visit.messages += 1;
        for entry in parsed.withdrawn.iter().chain(&parsed.announced) {
            visit.prefix(&IpNet::V4(ipnet::Ipv4Net::new_assert(
                entry.prefix.addr,
                entry.prefix.len,
            )));
        }
        for attribute in &parsed.attributes {
            visit.attributes += 1;
            match attribute {
                RustbgpdAttribute::AsPath(path) => {
                    for segment in &path.segments {
                        let (AsPathSegment::AsSet(numbers) | AsPathSegment::AsSequence(numbers)) =
                            segment;
                        for asn in numbers {
                            visit.asn(*asn);
                        }
                    }
                }
                RustbgpdAttribute::Communities(list)
                | RustbgpdAttribute::CommunitiesPartial(list) => {
                    for community in list {
                        visit.community(u64::from(*community));
                    }
                }
                RustbgpdAttribute::LargeCommunities(list)
                | RustbgpdAttribute::LargeCommunitiesPartial(list) => {
                    for large in list {
                        visit.community(
                            u64::from(large.global_admin)
                                ^ u64::from(large.local_data1) << 16
                                ^ u64::from(large.local_data2) << 32,
                        );
                    }
                }
                RustbgpdAttribute::Origin(origin) => visit.scalar(*origin as u64),
                RustbgpdAttribute::NextHop(address) => visit.scalar(u64::from(u32::from(*address))),
                RustbgpdAttribute::Med(value) | RustbgpdAttribute::LocalPref(value) => {
                    visit.scalar(u64::from(*value))
                }
                RustbgpdAttribute::MpReachNlri(reach) => {
                    for entry in &reach.announced {
                        visit_rustbgpd_prefix(&mut visit, &entry.prefix);
                    }
                }
                RustbgpdAttribute::MpUnreachNlri(unreach) => {
                    for entry in &unreach.withdrawn {
                        visit_rustbgpd_prefix(&mut visit, &entry.prefix);
                    }
                }
                _ => {}
            }
        }
    }
    visit
}

#[inline]
fn visit_rustbgpd_prefix(visit: &mut Visit, prefix: &RustbgpdPrefix) {
    let net = match prefix {
        RustbgpdPrefix::V4(prefix) => {
            IpNet::V4(ipnet::Ipv4Net::new_assert(prefix.addr, prefix.len))
        }
        RustbgpdPrefix::V6(prefix) => {
            IpNet::V6(ipnet::Ipv6Net::new_assert(prefix.addr, prefix.len))
        }
    };
    visit.prefix(&net);
}
