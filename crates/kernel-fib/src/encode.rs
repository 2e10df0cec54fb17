//! The route requests [`Fib::apply_all`](crate::Fib::apply_all) writes by the
//! hundred, and the dump request that lists our routes, encoded straight
//! into the datagram; no I/O.
//!
//! [`crate::message`] builds the same requests as rtnetlink's
//! `RouteMessage`s, a vector of attributes each, measured twice and then
//! serialized: for a table of a million routes that was a fifth of a CPU
//! second on the FIB thread, which is the one the kernel's inserts keep busy.
//! What is written here is byte for byte what `message` serializes to (the
//! tests compare the two for every shape nodebgp installs), in the same
//! attribute order: `RTA_TABLE`, `RTA_DST`, `RTA_PRIORITY`, `RTA_OIF`, then
//! `RTA_GATEWAY` or `RTA_MULTIPATH` (rtnetlink(7), linux/rtnetlink.h).

use std::net::IpAddr;

use ipnet::IpNet;

use crate::kernel_abi::{
    AF_INET, AF_INET6, DUMP_FLAGS, NETLINK_HEADER, NEXT_HOP_OBJECT_HEADER, NHA_GATEWAY, NHA_ID,
    NHA_OIF, REQUEST_FLAGS, ROUTE_HEADER, RTA_DST, RTA_GATEWAY, RTA_MULTIPATH, RTA_NH_ID, RTA_OIF,
    RTA_PRIORITY, RTA_TABLE, RTM_DELROUTE, RTM_GETNEXTHOP, RTM_GETROUTE, RTM_NEWNEXTHOP,
    RTM_NEWROUTE, RTNH_F_ONLINK, RTN_BLACKHOLE, RTN_UNICAST, RTN_UNREACHABLE, RTN_UNSPEC,
    RT_SCOPE_NOWHERE, RT_SCOPE_UNIVERSE,
};
use crate::{FibConfig, FibRoute, RouteKind};

/// One request of a batch.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Request<'a> {
    /// `RTM_NEWROUTE` for `route` (normalized, of a shape
    /// [`crate::message::check_shape`] let through), through the interface
    /// of index `output_interface` when it names a device.
    Install {
        route: &'a FibRoute,
        output_interface: Option<u32>,
    },
    /// `RTM_NEWROUTE` for `route` (normalized, unicast, one gateway) through
    /// the next-hop object `object`, which holds its gateway and interface.
    InstallThrough { route: &'a FibRoute, object: u32 },
    /// `RTM_DELROUTE` of our route for `prefix` at `metric`.
    Remove { prefix: IpNet, metric: Option<u32> },
    /// `RTM_NEWNEXTHOP`: the next-hop object `id` of our protocol.
    NewNextHop { id: u32, next_hop: NextHopObject },
}

/// What a next-hop object holds: one gateway through one interface,
/// on-link (RTNH_F_ONLINK) for a route through a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct NextHopObject {
    pub(crate) gateway: IpAddr,
    pub(crate) interface: u32,
    pub(crate) on_link: bool,
}

/// The netlink header and `rtmsg` before the attributes.
const HEADERS: usize = NETLINK_HEADER + ROUTE_HEADER;

/// Appends `request` to `datagram` as one netlink message with `flags`
/// and `sequence` in its header.
pub(crate) fn append(
    datagram: &mut Vec<u8>,
    config: &FibConfig,
    request: &Request<'_>,
    flags: u16,
    sequence: u32,
) {
    let start = datagram.len();
    let (kind, prefix) = match request {
        Request::Install { route, .. } | Request::InstallThrough { route, .. } => {
            (RTM_NEWROUTE, route.prefix)
        }
        Request::Remove { prefix, .. } => (RTM_DELROUTE, *prefix),
        Request::NewNextHop { id, next_hop } => {
            return append_next_hop(datagram, config, *id, next_hop, flags, sequence);
        }
    };
    // The header's length is filled in at the end.
    datagram.extend_from_slice(&0_u32.to_ne_bytes());
    datagram.extend_from_slice(&kind.to_ne_bytes());
    datagram.extend_from_slice(&flags.to_ne_bytes());
    datagram.extend_from_slice(&sequence.to_ne_bytes());
    datagram.extend_from_slice(&0_u32.to_ne_bytes());
    let family = match prefix {
        IpNet::V4(_) => AF_INET,
        IpNet::V6(_) => AF_INET6,
    };
    let (scope, route_type, route_flags) = match request {
        Request::Install {
            route,
            output_interface,
        } => {
            let route_type = match route.kind {
                RouteKind::Unicast => RTN_UNICAST,
                RouteKind::Blackhole => RTN_BLACKHOLE,
                RouteKind::Unreachable => RTN_UNREACHABLE,
            };
            let onlink = route.next_hops.len() == 1 && output_interface.is_some();
            (
                RT_SCOPE_UNIVERSE,
                route_type,
                if onlink { RTNH_F_ONLINK } else { 0 },
            )
        }
        // The object holds the on-link flag.
        Request::InstallThrough { .. } => (RT_SCOPE_UNIVERSE, RTN_UNICAST, 0),
        Request::Remove { .. } => (RT_SCOPE_NOWHERE, RTN_UNSPEC, 0),
        Request::NewNextHop { .. } => unreachable!("encoded above"),
    };
    // The table in the header when it fits, else RT_TABLE_UNSPEC (0); in
    // RTA_TABLE always (see message::base_message).
    let header_table = u8::try_from(config.table).unwrap_or(0);
    datagram.extend_from_slice(&[
        family,
        prefix.prefix_len(),
        0, // source length
        0, // TOS
        header_table,
        config.protocol,
        scope,
        route_type,
    ]);
    datagram.extend_from_slice(&u32::from(route_flags).to_ne_bytes());
    attribute(datagram, RTA_TABLE, &config.table.to_ne_bytes());
    if prefix.prefix_len() > 0 {
        address(datagram, RTA_DST, prefix.network());
    }
    match request {
        Request::Install {
            route,
            output_interface,
        } => {
            if let Some(metric) = config.metric {
                attribute(datagram, RTA_PRIORITY, &metric.to_ne_bytes());
            }
            if let Some(index) = output_interface {
                attribute(datagram, RTA_OIF, &index.to_ne_bytes());
            }
            match route.next_hops.as_slice() {
                [] => {}
                [gateway] => address(datagram, RTA_GATEWAY, *gateway),
                gateways => multipath(datagram, gateways, *output_interface),
            }
        }
        Request::InstallThrough { object, .. } => {
            if let Some(metric) = config.metric {
                attribute(datagram, RTA_PRIORITY, &metric.to_ne_bytes());
            }
            attribute(datagram, RTA_NH_ID, &object.to_ne_bytes());
        }
        Request::Remove { metric, .. } => {
            if let Some(metric) = metric {
                attribute(datagram, RTA_PRIORITY, &metric.to_ne_bytes());
            }
        }
        Request::NewNextHop { .. } => {}
    }
    let length = u32::try_from(datagram.len() - start).unwrap_or(u32::MAX);
    datagram[start..start + 4].copy_from_slice(&length.to_ne_bytes());
    debug_assert!(datagram.len() - start >= HEADERS);
}

/// The netlink header of a message of `kind`, its length left to fill in.
fn header(datagram: &mut Vec<u8>, kind: u16, flags: u16, sequence: u32) {
    datagram.extend_from_slice(&0_u32.to_ne_bytes());
    datagram.extend_from_slice(&kind.to_ne_bytes());
    datagram.extend_from_slice(&flags.to_ne_bytes());
    datagram.extend_from_slice(&sequence.to_ne_bytes());
    datagram.extend_from_slice(&0_u32.to_ne_bytes());
}

/// Writes the length of the message that starts at `start`.
fn finish(datagram: &mut [u8], start: usize) {
    let length = u32::try_from(datagram.len() - start).unwrap_or(u32::MAX);
    datagram[start..start + 4].copy_from_slice(&length.to_ne_bytes());
}

/// `RTM_NEWNEXTHOP` of object `id` holding `next_hop`, with our protocol
/// number: an `nhmsg`, then `NHA_ID`, `NHA_OIF` and `NHA_GATEWAY`
/// (linux/nexthop.h).
fn append_next_hop(
    datagram: &mut Vec<u8>,
    config: &FibConfig,
    id: u32,
    next_hop: &NextHopObject,
    flags: u16,
    sequence: u32,
) {
    let start = datagram.len();
    header(datagram, RTM_NEWNEXTHOP, flags, sequence);
    let family = match next_hop.gateway {
        IpAddr::V4(_) => AF_INET,
        IpAddr::V6(_) => AF_INET6,
    };
    datagram.extend_from_slice(&[family, RT_SCOPE_UNIVERSE, config.protocol, 0]);
    let object_flags = if next_hop.on_link {
        u32::from(RTNH_F_ONLINK)
    } else {
        0
    };
    datagram.extend_from_slice(&object_flags.to_ne_bytes());
    attribute(datagram, NHA_ID, &id.to_ne_bytes());
    attribute(datagram, NHA_OIF, &next_hop.interface.to_ne_bytes());
    address(datagram, NHA_GATEWAY, next_hop.gateway);
    finish(datagram, start);
}

/// The `RTM_GETNEXTHOP` dump request: every next-hop object of the
/// namespace (the kernel filters them by interface or group only; ours are
/// told by their protocol number).
pub(crate) fn append_next_hop_dump_request(datagram: &mut Vec<u8>, sequence: u32) {
    let start = datagram.len();
    header(datagram, RTM_GETNEXTHOP, DUMP_FLAGS, sequence);
    datagram.extend_from_slice(&[0; NEXT_HOP_OBJECT_HEADER]);
    finish(datagram, start);
}

/// The `RTM_GETROUTE` lookup of the route `gateway` would take (`ip route
/// get`): its answer names the interface.
pub(crate) fn append_route_lookup(datagram: &mut Vec<u8>, gateway: IpAddr, sequence: u32) {
    let start = datagram.len();
    header(datagram, RTM_GETROUTE, REQUEST_FLAGS, sequence);
    let (family, length) = match gateway {
        IpAddr::V4(_) => (AF_INET, 32),
        IpAddr::V6(_) => (AF_INET6, 128),
    };
    datagram.extend_from_slice(&[family, length, 0, 0, 0, 0, 0, 0]);
    datagram.extend_from_slice(&0_u32.to_ne_bytes());
    address(datagram, RTA_DST, gateway);
    finish(datagram, start);
}

/// Appends the `RTM_GETROUTE` dump request for our table and protocol in
/// `family` (`AF_INET` or `AF_INET6`), what [`crate::message::dump_request`] builds:
/// with `NETLINK_GET_STRICT_CHK` the kernel filters on the header's table
/// and protocol, and `RTA_TABLE` is the only attribute it allows.
pub(crate) fn append_dump_request(
    datagram: &mut Vec<u8>,
    config: &FibConfig,
    family: u8,
    sequence: u32,
) {
    let start = datagram.len();
    datagram.extend_from_slice(&0_u32.to_ne_bytes());
    datagram.extend_from_slice(&RTM_GETROUTE.to_ne_bytes());
    datagram.extend_from_slice(&DUMP_FLAGS.to_ne_bytes());
    datagram.extend_from_slice(&sequence.to_ne_bytes());
    datagram.extend_from_slice(&0_u32.to_ne_bytes());
    datagram.extend_from_slice(&[
        family,
        0, // destination length
        0, // source length
        0, // TOS
        u8::try_from(config.table).unwrap_or(0),
        config.protocol,
        RT_SCOPE_UNIVERSE,
        RTN_UNSPEC,
    ]);
    datagram.extend_from_slice(&0_u32.to_ne_bytes());
    attribute(datagram, RTA_TABLE, &config.table.to_ne_bytes());
    let length = u32::try_from(datagram.len() - start).unwrap_or(u32::MAX);
    datagram[start..start + 4].copy_from_slice(&length.to_ne_bytes());
}

/// One attribute: its 4-octet header, `value`, and padding to 4 octets.
fn attribute(datagram: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let length = u16::try_from(4 + value.len()).unwrap_or(u16::MAX);
    datagram.extend_from_slice(&length.to_ne_bytes());
    datagram.extend_from_slice(&kind.to_ne_bytes());
    datagram.extend_from_slice(value);
    // Padded by its own length: the message is right wherever it starts.
    let padding = value.len().next_multiple_of(4) - value.len();
    datagram.extend_from_slice(&[0; 3][..padding]);
}

fn address(datagram: &mut Vec<u8>, kind: u16, address: IpAddr) {
    match address {
        IpAddr::V4(address) => attribute(datagram, kind, &address.octets()),
        IpAddr::V6(address) => attribute(datagram, kind, &address.octets()),
    }
}

/// `RTA_MULTIPATH`: an `rtnexthop` per gateway (its length, flags, hop
/// count 0 and interface index), each followed by its `RTA_GATEWAY`.
fn multipath(datagram: &mut Vec<u8>, gateways: &[IpAddr], output_interface: Option<u32>) {
    let start = datagram.len();
    datagram.extend_from_slice(&0_u16.to_ne_bytes());
    datagram.extend_from_slice(&RTA_MULTIPATH.to_ne_bytes());
    for gateway in gateways {
        let hop = datagram.len();
        datagram.extend_from_slice(&0_u16.to_ne_bytes());
        let flags = if output_interface.is_some() {
            RTNH_F_ONLINK
        } else {
            0
        };
        datagram.extend_from_slice(&[flags, 0]);
        datagram.extend_from_slice(&output_interface.unwrap_or(0).to_ne_bytes());
        address(datagram, RTA_GATEWAY, *gateway);
        let length = u16::try_from(datagram.len() - hop).unwrap_or(u16::MAX);
        datagram[hop..hop + 2].copy_from_slice(&length.to_ne_bytes());
    }
    let length = u16::try_from(datagram.len() - start).unwrap_or(u16::MAX);
    datagram[start..start + 2].copy_from_slice(&length.to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use rtnetlink::packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
    use rtnetlink::packet_route::route::{RouteAttribute, RouteFlags};
    use rtnetlink::packet_route::RouteNetlinkMessage;

    use super::*;
    use crate::message;

    fn config(table: u32, metric: Option<u32>) -> FibConfig {
        FibConfig {
            table,
            metric,
            ..FibConfig::default()
        }
    }

    fn route(prefix: &str, next_hops: &[&str], kind: RouteKind, device: Option<&str>) -> FibRoute {
        let mut route = FibRoute {
            prefix: prefix.parse().unwrap(),
            next_hops: next_hops.iter().map(|text| text.parse().unwrap()).collect(),
            kind,
            device: device.map(str::to_owned),
        };
        route.normalize();
        route
    }

    /// What rtnetlink serializes the same request to.
    fn serialized(config: &FibConfig, request: &Request<'_>, flags: u16, sequence: u32) -> Vec<u8> {
        let inner = match request {
            Request::Install {
                route,
                output_interface,
            } => RouteNetlinkMessage::NewRoute(
                message::install_request(config, route, *output_interface).unwrap(),
            ),
            Request::Remove { prefix, metric } => {
                RouteNetlinkMessage::DelRoute(message::removal_request(config, prefix, *metric))
            }
            Request::InstallThrough { route, object } => {
                // The route's own next hop and on-link flag give way to the object.
                let output_interface = route.device.as_ref().map(|_| 7);
                let mut built = message::install_request(config, route, output_interface).unwrap();
                built.attributes.retain(|attribute| {
                    !matches!(
                        attribute,
                        RouteAttribute::Oif(_)
                            | RouteAttribute::Gateway(_)
                            | RouteAttribute::MultiPath(_)
                    )
                });
                built.attributes.push(RouteAttribute::NhId(*object));
                built.header.flags = RouteFlags::empty();
                RouteNetlinkMessage::NewRoute(built)
            }
            Request::NewNextHop { .. } => unreachable!("rtnetlink has no next-hop objects"),
        };
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = sequence;
        let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(inner));
        message.finalize();
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        bytes
    }

    #[test]
    fn every_request_shape_encodes_as_rtnetlink_serializes_it() {
        let routes = [
            route("10.1.0.0/16", &["192.0.2.1"], RouteKind::Unicast, None),
            route(
                "10.1.2.0/24",
                &["192.0.2.9", "192.0.2.1"],
                RouteKind::Unicast,
                None,
            ),
            route(
                "10.1.3.0/24",
                &["192.0.2.1"],
                RouteKind::Unicast,
                Some("tunl0"),
            ),
            route(
                "10.1.4.0/24",
                &["192.0.2.1", "192.0.2.2", "192.0.2.3"],
                RouteKind::Unicast,
                Some("tunl0"),
            ),
            route("0.0.0.0/0", &["192.0.2.1"], RouteKind::Unicast, None),
            route("10.9.0.0/26", &[], RouteKind::Blackhole, None),
            route("10.9.1.0/26", &[], RouteKind::Unreachable, None),
            route("10.1.5.7/32", &["192.0.2.1"], RouteKind::Unicast, None),
            route(
                "2001:db8:1::/48",
                &["2001:db8::1"],
                RouteKind::Unicast,
                None,
            ),
            route(
                "2001:db8:2::/48",
                &["2001:db8::2", "2001:db8::1"],
                RouteKind::Unicast,
                None,
            ),
            route(
                "2001:db8:3::/48",
                &["fe80::1"],
                RouteKind::Unicast,
                Some("eth0"),
            ),
            route("::/0", &["2001:db8::1"], RouteKind::Unicast, None),
            route("2001:db8:9::/64", &[], RouteKind::Blackhole, None),
        ];
        let configs = [
            config(254, Some(1024)),
            config(254, None),
            config(100, Some(7)),
            config(1000, Some(1024)),
            config(70_000, None),
        ];
        let mut compared = 0;
        for config in &configs {
            for route in &routes {
                let output_interface = route.device.as_ref().map(|_| 7);
                let requests = [
                    Request::Install {
                        route,
                        output_interface,
                    },
                    Request::Remove {
                        prefix: route.prefix,
                        metric: config.metric,
                    },
                    Request::Remove {
                        prefix: route.prefix,
                        metric: None,
                    },
                ];
                for (index, request) in requests.iter().enumerate() {
                    let (flags, sequence) = (0x0501 + index as u16, 40_000 + compared);
                    let mut encoded = vec![0xAA; 3]; // appended, not written over
                    append(&mut encoded, config, request, flags, sequence);
                    assert_eq!(
                        encoded[3..],
                        serialized(config, request, flags, sequence)[..],
                        "{request:?} in table {}",
                        config.table
                    );
                    assert_eq!(encoded[..3], [0xAA; 3]);
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 5 * 13 * 3);
    }

    #[test]
    fn a_route_through_an_object_names_it_in_place_of_its_next_hop() {
        let mut compared = 0;
        for config in [config(254, Some(20)), config(70_000, None)] {
            for route in [
                route("10.1.0.0/16", &["192.0.2.1"], RouteKind::Unicast, None),
                route(
                    "10.1.3.0/24",
                    &["192.0.2.1"],
                    RouteKind::Unicast,
                    Some("tunl0"),
                ),
                route(
                    "2001:db8:1::/48",
                    &["2001:db8::1"],
                    RouteKind::Unicast,
                    None,
                ),
            ] {
                let request = Request::InstallThrough {
                    route: &route,
                    object: 0xF400_0007,
                };
                let mut encoded = Vec::new();
                append(&mut encoded, &config, &request, 0x0601, 9);
                assert_eq!(
                    encoded,
                    serialized(&config, &request, 0x0601, 9),
                    "{route:?}"
                );
                compared += 1;
            }
        }
        assert_eq!(compared, 6);
    }

    #[test]
    fn a_next_hop_object_is_encoded_and_read_back() {
        let next_hop = NextHopObject {
            gateway: "192.0.2.1".parse().unwrap(),
            interface: 7,
            on_link: true,
        };
        let mut encoded = Vec::new();
        let request = Request::NewNextHop {
            id: 0xF400_0001,
            next_hop,
        };
        append(&mut encoded, &config(254, Some(20)), &request, 0x0601, 3);
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &48_u32.to_ne_bytes()[..], &104_u16.to_ne_bytes(), &0x0601_u16.to_ne_bytes(),
            &3_u32.to_ne_bytes(), &0_u32.to_ne_bytes(),
            // nhmsg: AF_INET, universe, protocol 244, reserved, RTNH_F_ONLINK
            &[2, 0, 244, 0], &4_u32.to_ne_bytes(),
            &8_u16.to_ne_bytes(), &1_u16.to_ne_bytes(), &0xF400_0001_u32.to_ne_bytes(),
            &8_u16.to_ne_bytes(), &5_u16.to_ne_bytes(), &7_u32.to_ne_bytes(),
            &8_u16.to_ne_bytes(), &6_u16.to_ne_bytes(), &[192, 0, 2, 1],
        ]
        .concat();
        assert_eq!(encoded, expected);
        let read = crate::decode::next_hop_object(&encoded[NETLINK_HEADER..]);
        assert_eq!(read, Some((0xF400_0001, 244, Some(next_hop))));
        // An IPv6 one, not on-link.
        let next_hop = NextHopObject {
            gateway: "2001:db8::1".parse().unwrap(),
            interface: 3,
            on_link: false,
        };
        let mut encoded = Vec::new();
        append(
            &mut encoded,
            &config(254, Some(20)),
            &Request::NewNextHop { id: 9, next_hop },
            1,
            4,
        );
        let read = crate::decode::next_hop_object(&encoded[NETLINK_HEADER..]);
        assert_eq!(read, Some((9, 244, Some(next_hop))));
        // A group holds no one gateway: listed without one.
        let mut group = encoded[NETLINK_HEADER..NETLINK_HEADER + 16].to_vec();
        group.extend_from_slice(&12_u16.to_ne_bytes());
        group.extend_from_slice(&2_u16.to_ne_bytes());
        group.extend_from_slice(&[0; 8]);
        assert_eq!(crate::decode::next_hop_object(&group), Some((9, 244, None)));
        assert_eq!(crate::decode::next_hop_object(&group[..5]), None);
    }

    #[test]
    fn a_route_lookup_asks_for_the_gateway_as_ip_route_get_does() {
        let mut encoded = Vec::new();
        append_route_lookup(&mut encoded, "192.0.2.1".parse().unwrap(), 5);
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &36_u32.to_ne_bytes()[..], &26_u16.to_ne_bytes(), &1_u16.to_ne_bytes(),
            &5_u32.to_ne_bytes(), &0_u32.to_ne_bytes(),
            &[2, 32, 0, 0, 0, 0, 0, 0], &0_u32.to_ne_bytes(),
            &8_u16.to_ne_bytes(), &1_u16.to_ne_bytes(), &[192, 0, 2, 1],
        ]
        .concat();
        assert_eq!(encoded, expected);
        let mut dump = Vec::new();
        append_next_hop_dump_request(&mut dump, 6);
        assert_eq!(dump.len(), NETLINK_HEADER + NEXT_HOP_OBJECT_HEADER);
        assert_eq!(u16::from_ne_bytes([dump[4], dump[5]]), 106);
        assert_eq!(u16::from_ne_bytes([dump[6], dump[7]]), DUMP_FLAGS);
    }

    #[test]
    fn the_dump_request_encodes_as_rtnetlink_serializes_it() {
        use rtnetlink::packet_route::AddressFamily;
        for table in [254, 100, 1000, 70_000] {
            let config = config(table, Some(20));
            for (family, number) in [
                (AddressFamily::Inet, AF_INET),
                (AddressFamily::Inet6, AF_INET6),
            ] {
                let mut header = NetlinkHeader::default();
                header.flags = DUMP_FLAGS;
                header.sequence_number = 77;
                let inner = RouteNetlinkMessage::GetRoute(message::dump_request(&config, family));
                let mut expected = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(inner));
                expected.finalize();
                let mut bytes = vec![0; expected.buffer_len()];
                expected.serialize(&mut bytes);
                let mut encoded = Vec::new();
                append_dump_request(&mut encoded, &config, number, 77);
                assert_eq!(encoded, bytes, "table {table}, {family:?}");
            }
        }
    }

    #[test]
    fn messages_appended_one_after_another_each_start_on_four_octets() {
        let config = config(254, Some(1024));
        let route = route("10.1.0.0/16", &["192.0.2.1"], RouteKind::Unicast, None);
        let mut datagram = Vec::new();
        for sequence in 0..3 {
            append(
                &mut datagram,
                &config,
                &Request::Install {
                    route: &route,
                    output_interface: None,
                },
                1,
                sequence,
            );
            assert_eq!(datagram.len() % 4, 0);
        }
        let first = u32::from_ne_bytes(datagram[..4].try_into().unwrap()) as usize;
        assert_eq!(datagram.len(), 3 * first);
    }
}
