//! The reader against rtnetlink's: every message is serialized by rtnetlink,
//! then read both ways.

use rtnetlink::packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteNextHop, RouteNextHopFlags,
    RoutePreference, RouteProtocol, RouteScope, RouteType, RouteVia,
};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};

use super::*;
use crate::kernel_abi::{NLMSG_DONE, NLMSG_ERROR, RTM_NEWROUTE};
use crate::{message, FibConfig, FibRoute};

/// `message` as a netlink datagram of one message, as the kernel sends it.
fn serialized(message: RouteMessage, sequence: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.sequence_number = sequence;
    header.message_type = RTM_NEWROUTE;
    let mut message = NetlinkMessage::new(
        header,
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(message)),
    );
    message.finalize();
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    bytes
}

/// Reads `message` both ways and checks they agree; returns ours.
fn both_ways(message: RouteMessage) -> Option<KernelRoute> {
    let expected = message::parse(&message);
    let bytes = serialized(message, 9);
    let read: Vec<Message<'_>> = messages(&bytes).collect();
    assert_eq!(read.len(), 1);
    assert_eq!((read[0].kind, read[0].sequence), (RTM_NEWROUTE, 9));
    let ours = route(read[0].payload);
    assert_eq!(ours, expected);
    ours
}

fn hop(flags: RouteNextHopFlags, interface: u32, attributes: Vec<RouteAttribute>) -> RouteNextHop {
    let mut hop = RouteNextHop::default();
    hop.flags = flags;
    hop.interface_index = interface;
    hop.attributes = attributes;
    hop
}

fn gateway(text: &str) -> RouteAttribute {
    RouteAttribute::Gateway(RouteAddress::from(text.parse::<IpAddr>().unwrap()))
}

/// A route message as the kernel lists it: header, then `attributes`.
fn kernel_message(
    family: AddressFamily,
    prefix_length: u8,
    kind: RouteType,
    flags: RouteFlags,
    attributes: Vec<RouteAttribute>,
) -> RouteMessage {
    let mut message = RouteMessage::default();
    message.header.address_family = family;
    message.header.destination_prefix_length = prefix_length;
    message.header.table = 254;
    message.header.protocol = RouteProtocol::from(244);
    message.header.scope = RouteScope::Universe;
    message.header.kind = kind;
    message.header.flags = flags;
    message.attributes = attributes;
    message
}

#[test]
fn every_shape_nodebgp_installs_reads_as_rtnetlink_reads_it() {
    let routes = [
        ("10.1.0.0/16", vec!["192.0.2.1"], RouteKind::Unicast, false),
        (
            "10.1.2.0/24",
            vec!["192.0.2.9", "192.0.2.1"],
            RouteKind::Unicast,
            false,
        ),
        ("10.1.3.0/24", vec!["192.0.2.1"], RouteKind::Unicast, true),
        (
            "10.1.4.0/24",
            vec!["192.0.2.1", "192.0.2.2", "192.0.2.3"],
            RouteKind::Unicast,
            true,
        ),
        ("0.0.0.0/0", vec!["192.0.2.1"], RouteKind::Unicast, false),
        ("10.9.0.0/26", vec![], RouteKind::Blackhole, false),
        ("10.9.1.0/26", vec![], RouteKind::Unreachable, false),
        ("10.1.5.7/32", vec!["192.0.2.1"], RouteKind::Unicast, false),
        (
            "2001:db8:1::/48",
            vec!["2001:db8::1"],
            RouteKind::Unicast,
            false,
        ),
        (
            "2001:db8:2::/48",
            vec!["2001:db8::2", "2001:db8::1"],
            RouteKind::Unicast,
            false,
        ),
        ("2001:db8:3::/48", vec!["fe80::1"], RouteKind::Unicast, true),
        ("::/0", vec!["2001:db8::1"], RouteKind::Unicast, false),
        ("2001:db8:9::/64", vec![], RouteKind::Blackhole, false),
    ];
    let mut read = 0;
    for table in [254, 100, 70_000] {
        for metric in [Some(20), None] {
            let config = FibConfig {
                table,
                metric,
                ..FibConfig::default()
            };
            for (prefix, next_hops, kind, through_device) in &routes {
                let mut route = FibRoute {
                    prefix: prefix.parse().unwrap(),
                    next_hops: next_hops.iter().map(|text| text.parse().unwrap()).collect(),
                    kind: *kind,
                    device: through_device.then(|| "tunl0".to_owned()),
                };
                route.normalize();
                let output_interface = through_device.then_some(7);
                let message = message::install_request(&config, &route, output_interface).unwrap();
                let ours = both_ways(message).expect("a route");
                assert_eq!(ours.prefix, route.prefix);
                assert_eq!(ours.table, table);
                assert_eq!(ours.metric, metric);
                assert_eq!(ours.output_interface, output_interface);
                read += 1;
            }
        }
    }
    assert_eq!(read, 3 * 2 * 13);
}

#[test]
fn what_the_kernel_adds_reads_as_rtnetlink_reads_it() {
    use AddressFamily::{Inet, Inet6};
    let onlink = RouteNextHopFlags::Onlink;
    let no_flags = RouteNextHopFlags::empty();
    let cases = [
        // A gateway the kernel resolved: RTA_OIF without on-link.
        kernel_message(
            Inet,
            24,
            RouteType::Unicast,
            RouteFlags::empty(),
            vec![
                RouteAttribute::Table(254),
                RouteAttribute::Destination(RouteAddress::Inet("10.2.0.0".parse().unwrap())),
                RouteAttribute::Priority(20),
                gateway("192.0.2.1"),
                RouteAttribute::Oif(3),
            ],
        ),
        // A single on-link gateway: the flag in the header.
        kernel_message(
            Inet,
            24,
            RouteType::Unicast,
            RouteFlags::Onlink,
            vec![
                RouteAttribute::Table(254),
                RouteAttribute::Destination(RouteAddress::Inet("10.2.1.0".parse().unwrap())),
                gateway("192.0.2.1"),
                RouteAttribute::Oif(5),
            ],
        ),
        // Multipath through two interfaces, one hop on-link.
        kernel_message(
            Inet,
            24,
            RouteType::Unicast,
            RouteFlags::empty(),
            vec![
                RouteAttribute::Table(1000),
                RouteAttribute::Destination(RouteAddress::Inet("10.2.2.0".parse().unwrap())),
                RouteAttribute::MultiPath(vec![
                    hop(onlink, 5, vec![gateway("192.0.2.2")]),
                    hop(no_flags, 6, vec![gateway("192.0.2.1")]),
                ]),
            ],
        ),
        // Multipath, every hop on-link through one interface; a duplicate.
        kernel_message(
            Inet,
            24,
            RouteType::Unicast,
            RouteFlags::empty(),
            vec![
                RouteAttribute::Destination(RouteAddress::Inet("10.2.3.0".parse().unwrap())),
                RouteAttribute::MultiPath(vec![
                    hop(onlink, 5, vec![gateway("192.0.2.2")]),
                    hop(onlink, 5, vec![gateway("192.0.2.1")]),
                    hop(onlink, 5, vec![gateway("192.0.2.2")]),
                ]),
            ],
        ),
        // An IPv4 route through an IPv6 gateway (RTA_VIA, RFC 8950).
        kernel_message(
            Inet,
            32,
            RouteType::Unicast,
            RouteFlags::empty(),
            vec![
                RouteAttribute::Destination(RouteAddress::Inet("10.2.4.1".parse().unwrap())),
                RouteAttribute::Via(RouteVia::Inet6("fe80::7".parse().unwrap())),
                RouteAttribute::Oif(2),
            ],
        ),
        // Multipath with RTA_VIA hops.
        kernel_message(
            Inet,
            24,
            RouteType::Unicast,
            RouteFlags::empty(),
            vec![
                RouteAttribute::Destination(RouteAddress::Inet("10.2.5.0".parse().unwrap())),
                RouteAttribute::MultiPath(vec![
                    hop(
                        no_flags,
                        2,
                        vec![RouteAttribute::Via(RouteVia::Inet6(
                            "fe80::8".parse().unwrap(),
                        ))],
                    ),
                    hop(
                        no_flags,
                        2,
                        vec![RouteAttribute::Via(RouteVia::Inet(
                            "192.0.2.8".parse().unwrap(),
                        ))],
                    ),
                ]),
            ],
        ),
        // An IPv6 route as the kernel lists it: preference, metric 1024.
        kernel_message(
            Inet6,
            48,
            RouteType::Unicast,
            RouteFlags::empty(),
            vec![
                RouteAttribute::Table(254),
                RouteAttribute::Destination(RouteAddress::Inet6("2001:db8:5::".parse().unwrap())),
                RouteAttribute::Priority(1024),
                gateway("2001:db8::1"),
                RouteAttribute::Oif(4),
                RouteAttribute::Preference(RoutePreference::Medium),
            ],
        ),
        // An IPv6 blackhole, through `lo` as the kernel says: no device.
        kernel_message(
            Inet6,
            64,
            RouteType::BlackHole,
            RouteFlags::empty(),
            vec![
                RouteAttribute::Destination(RouteAddress::Inet6("2001:db8:9::".parse().unwrap())),
                RouteAttribute::Oif(1),
            ],
        ),
        // Host bits set in the destination: truncated, as rtnetlink's reading is.
        kernel_message(
            Inet,
            8,
            RouteType::Unicast,
            RouteFlags::empty(),
            vec![
                RouteAttribute::Destination(RouteAddress::Inet("10.9.9.9".parse().unwrap())),
                gateway("192.0.2.1"),
            ],
        ),
        // A kind nodebgp does not install.
        kernel_message(
            Inet,
            24,
            RouteType::Prohibit,
            RouteFlags::empty(),
            vec![RouteAttribute::Destination(RouteAddress::Inet(
                "10.3.0.0".parse().unwrap(),
            ))],
        ),
    ];
    let expected_devices = [
        None,
        Some(5),
        None,
        Some(5),
        None,
        None,
        None,
        None,
        None,
        None,
    ];
    for (message, device) in cases.into_iter().zip(expected_devices) {
        let ours = both_ways(message).expect("a route");
        assert_eq!(ours.output_interface, device, "{ours:?}");
    }
}

#[test]
fn other_families_and_broken_messages_are_not_routes() {
    let mut message = kernel_message(
        AddressFamily::Inet,
        24,
        RouteType::Unicast,
        RouteFlags::empty(),
        vec![
            RouteAttribute::Destination(RouteAddress::Inet("10.2.0.0".parse().unwrap())),
            gateway("192.0.2.1"),
        ],
    );
    let bytes = serialized(message.clone(), 1);
    let payload = &bytes[NETLINK_HEADER..];
    assert!(route(payload).is_some());
    // Cut anywhere: never a panic.
    for end in 0..payload.len() {
        let _ = route(&payload[..end]);
    }
    assert_eq!(route(&payload[..ROUTE_HEADER - 1]), None);
    // An attribute claiming more than there is.
    let mut broken = payload.to_vec();
    broken[ROUTE_HEADER..ROUTE_HEADER + 2].copy_from_slice(&200_u16.to_ne_bytes());
    let listed = route(&broken).expect("the header still reads");
    assert!(listed.next_hops.is_empty());
    // MPLS and bridge families are not listed.
    message.header.address_family = AddressFamily::Mpls;
    let bytes = serialized(message, 1);
    assert_eq!(route(&bytes[NETLINK_HEADER..]), None);
}

#[test]
fn a_datagram_of_several_messages_reads_in_order_up_to_a_broken_one() {
    let first = kernel_message(
        AddressFamily::Inet,
        24,
        RouteType::Unicast,
        RouteFlags::empty(),
        vec![
            RouteAttribute::Destination(RouteAddress::Inet("10.4.0.0".parse().unwrap())),
            gateway("192.0.2.1"),
        ],
    );
    let second = kernel_message(
        AddressFamily::Inet6,
        48,
        RouteType::BlackHole,
        RouteFlags::empty(),
        vec![RouteAttribute::Destination(RouteAddress::Inet6(
            "2001:db8:4::".parse().unwrap(),
        ))],
    );
    let mut datagram = serialized(first, 1);
    datagram.extend(serialized(second, 2));
    let whole = datagram.len();
    // NLMSG_DONE with its 4-octet payload.
    datagram.extend_from_slice(&20_u32.to_ne_bytes());
    datagram.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
    datagram.extend_from_slice(&[0; 14]);
    let read: Vec<(u16, u32)> = messages(&datagram)
        .map(|message| (message.kind, message.sequence))
        .collect();
    assert_eq!(
        read,
        [(RTM_NEWROUTE, 1), (RTM_NEWROUTE, 2), (NLMSG_DONE, 0)]
    );
    let prefixes: Vec<String> = messages(&datagram)
        .filter_map(|message| route(message.payload))
        .map(|route| route.prefix.to_string())
        .collect();
    assert_eq!(prefixes, ["10.4.0.0/24", "2001:db8:4::/48"]);
    // A length past the end stops the reading there.
    datagram[whole..whole + 4].copy_from_slice(&400_u32.to_ne_bytes());
    assert_eq!(messages(&datagram).count(), 2);
}

#[test]
fn an_error_message_carries_its_code() {
    let mut datagram = Vec::new();
    datagram.extend_from_slice(&36_u32.to_ne_bytes());
    datagram.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
    datagram.extend_from_slice(&[0; 2]);
    datagram.extend_from_slice(&5_u32.to_ne_bytes());
    datagram.extend_from_slice(&[0; 4]);
    datagram.extend_from_slice(&(-2_i32).to_ne_bytes());
    datagram.extend_from_slice(&[0; 16]);
    let message = messages(&datagram).next().unwrap();
    assert_eq!((message.kind, message.sequence), (NLMSG_ERROR, 5));
    assert_eq!(message.error_code(), Some(-2));
}

#[test]
fn a_route_through_a_next_hop_object_reads_with_or_without_its_gateway() {
    let destination =
        || RouteAttribute::Destination(RouteAddress::from("10.1.0.0".parse::<IpAddr>().unwrap()));
    // As listed with `nexthop_compat_mode` on: the object and its gateway.
    let listed = both_ways(kernel_message(
        AddressFamily::Inet,
        16,
        RouteType::Unicast,
        RouteFlags::empty(),
        vec![
            RouteAttribute::Table(254),
            destination(),
            RouteAttribute::NhId(0xF400_0002),
            RouteAttribute::Oif(3),
            gateway("192.0.2.1"),
        ],
    ))
    .unwrap();
    assert_eq!(listed.next_hop_object, Some(0xF400_0002));
    assert_eq!(listed.next_hops, ["192.0.2.1".parse::<IpAddr>().unwrap()]);
    // With it off: the object alone, whose gateway the objects tell.
    let mut bare = both_ways(kernel_message(
        AddressFamily::Inet,
        16,
        RouteType::Unicast,
        RouteFlags::empty(),
        vec![
            RouteAttribute::Table(254),
            destination(),
            RouteAttribute::NhId(0xF400_0002),
        ],
    ))
    .unwrap();
    assert!(bare.next_hops.is_empty());
    let object = crate::encode::NextHopObject {
        gateway: "192.0.2.1".parse().unwrap(),
        interface: 3,
        on_link: true,
    };
    let objects = [(0xF400_0002, object)].into_iter().collect();
    let mut unknown = bare.clone();
    unknown.next_hop_object = Some(7);
    unknown.through(&objects);
    assert!(unknown.next_hops.is_empty(), "not an object of ours");
    bare.through(&objects);
    assert_eq!(bare.next_hops, listed.next_hops);
    assert_eq!(bare.output_interface, Some(3), "on-link through it");
}
