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
    AF_INET, AF_INET6, DUMP_FLAGS, NETLINK_HEADER, ROUTE_HEADER, RTA_DST, RTA_GATEWAY,
    RTA_MULTIPATH, RTA_OIF, RTA_PRIORITY, RTA_TABLE, RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE,
    RTNH_F_ONLINK, RTN_BLACKHOLE, RTN_UNICAST, RTN_UNREACHABLE, RTN_UNSPEC, RT_SCOPE_NOWHERE,
    RT_SCOPE_UNIVERSE,
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
    /// `RTM_DELROUTE` of our route for `prefix` at `metric`.
    Remove { prefix: IpNet, metric: Option<u32> },
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
        Request::Install { route, .. } => (RTM_NEWROUTE, route.prefix),
        Request::Remove { prefix, .. } => (RTM_DELROUTE, *prefix),
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
        Request::Remove { .. } => (RT_SCOPE_NOWHERE, RTN_UNSPEC, 0),
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
        Request::Remove { metric, .. } => {
            if let Some(metric) = metric {
                attribute(datagram, RTA_PRIORITY, &metric.to_ne_bytes());
            }
        }
    }
    let length = u32::try_from(datagram.len() - start).unwrap_or(u32::MAX);
    datagram[start..start + 4].copy_from_slice(&length.to_ne_bytes());
    debug_assert!(datagram.len() - start >= HEADERS);
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
