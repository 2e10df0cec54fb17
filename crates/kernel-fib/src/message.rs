//! Translation between [`FibRoute`] and rtnetlink route messages; no I/O.

use std::collections::HashMap;
use std::net::IpAddr;
#[cfg(test)]
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
#[cfg(test)]
use rtnetlink::packet_route::route::RouteVia;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteNextHop,
    RouteNextHopFlags, RouteProtocol, RouteScope, RouteType,
};
use rtnetlink::packet_route::AddressFamily;

use crate::encode::NextHopObject;
use crate::{FibConfig, FibError, FibRoute, RouteKind};

fn family_of(prefix: &IpNet) -> AddressFamily {
    match prefix {
        IpNet::V4(_) => AddressFamily::Inet,
        IpNet::V6(_) => AddressFamily::Inet6,
    }
}

/// A message for `family` in our table, with our protocol, and nothing else.
///
/// The table goes in the header when it fits in 8 bits and always in
/// `RTA_TABLE` too, as iproute2 does; the kernel reads `RTA_TABLE` first.
fn base_message(config: &FibConfig, family: AddressFamily) -> RouteMessage {
    let mut message = RouteMessage::default();
    message.header.address_family = family;
    message.header.table = u8::try_from(config.table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
    message.header.protocol = RouteProtocol::from(config.protocol);
    message.attributes.push(RouteAttribute::Table(config.table));
    message
}

/// The `RTM_GETROUTE` dump request for our table and protocol in `family`.
///
/// With `NETLINK_GET_STRICT_CHK` on, the kernel filters on the header's
/// table and protocol itself; the header's other fields must stay zero and
/// `RTA_TABLE` is the only attribute allowed. What
/// [`crate::encode::append_dump_request`] writes is tested against it.
#[cfg(test)]
pub(crate) fn dump_request(config: &FibConfig, family: AddressFamily) -> RouteMessage {
    let mut message = base_message(config, family);
    message.header.scope = RouteScope::Universe;
    message.header.kind = RouteType::Unspec;
    message
}

/// The `RTM_NEWROUTE` message that installs `route` (not a removal).
///
/// `output_interface` is the index of `route.device`, which the caller
/// resolved through the same socket (interface indexes are per network
/// namespace); given exactly when the route has a device. A single gateway
/// gets `RTA_OIF` and RTNH_F_ONLINK in `rtm_flags`; a multipath route gets
/// `RTA_OIF` too, and each `rtnexthop` the interface index (the kernel takes
/// a multipath route's interfaces from there, checking `RTA_OIF` against the
/// first) and RTNH_F_ONLINK in its own flags, as iproute2's `nexthop via A
/// dev D onlink` does.
pub(crate) fn install_request(
    config: &FibConfig,
    route: &FibRoute,
    output_interface: Option<u32>,
) -> Result<RouteMessage, FibError> {
    check_shape(route, output_interface)?;
    let mut message = destination_message(config, &route.prefix);
    // Universe for all three kinds, as iproute2 gives them: a gateway route
    // reaches beyond the link, and blackhole/unreachable are not link routes.
    message.header.scope = RouteScope::Universe;
    message.header.kind = match route.kind {
        RouteKind::Unicast => RouteType::Unicast,
        RouteKind::Blackhole => RouteType::BlackHole,
        RouteKind::Unreachable => RouteType::Unreachable,
    };
    if let Some(metric) = config.metric {
        message.attributes.push(RouteAttribute::Priority(metric));
    }
    if let Some(index) = output_interface {
        message.attributes.push(RouteAttribute::Oif(index));
    }
    match route.next_hops.as_slice() {
        // A blackhole or unreachable route: check_shape let nothing else through.
        [] => {}
        [gateway] => {
            message
                .attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(*gateway)));
            if output_interface.is_some() {
                message.header.flags.insert(RouteFlags::Onlink);
            }
        }
        gateways => {
            let next_hops = gateways
                .iter()
                .map(|gateway| {
                    let mut next_hop = RouteNextHop::default();
                    if let Some(index) = output_interface {
                        next_hop.interface_index = index;
                        next_hop.flags.insert(RouteNextHopFlags::Onlink);
                    }
                    next_hop
                        .attributes
                        .push(RouteAttribute::Gateway(RouteAddress::from(*gateway)));
                    next_hop
                })
                .collect();
            message
                .attributes
                .push(RouteAttribute::MultiPath(next_hops));
        }
    }
    Ok(message)
}

/// The `RTM_DELROUTE` message that removes our route for `prefix` at `metric`
/// (`None`: at whatever metric), all its next hops at once.
///
/// Carrying our protocol makes the kernel match only our routes, for IPv4
/// and IPv6 alike; scope "nowhere" and type "unspecified" match any, so a
/// blackhole, an unreachable route and a route through a device go the same
/// way (no `RTA_OIF`: the kernel would then match only routes through it).
pub(crate) fn removal_request(
    config: &FibConfig,
    prefix: &IpNet,
    metric: Option<u32>,
) -> RouteMessage {
    let mut message = destination_message(config, prefix);
    message.header.scope = RouteScope::NoWhere;
    message.header.kind = RouteType::Unspec;
    if let Some(metric) = metric {
        message.attributes.push(RouteAttribute::Priority(metric));
    }
    message
}

/// The harmless write used to learn whether we may change routes: an
/// `RTM_DELROUTE` for the unspecified address family. The kernel checks
/// CAP_NET_ADMIN before anything else (EPERM) and, when allowed, finds no
/// handler for the family (EOPNOTSUPP); nothing is ever deleted.
pub(crate) fn permission_probe(config: &FibConfig) -> RouteMessage {
    let mut message = base_message(config, AddressFamily::Unspec);
    message.header.scope = RouteScope::NoWhere;
    message.header.kind = RouteType::Unspec;
    message
}

fn destination_message(config: &FibConfig, prefix: &IpNet) -> RouteMessage {
    let mut message = base_message(config, family_of(prefix));
    message.header.destination_prefix_length = prefix.prefix_len();
    if prefix.prefix_len() > 0 {
        message
            .attributes
            .push(RouteAttribute::Destination(RouteAddress::from(
                prefix.network(),
            )));
    }
    message
}

/// Refuses what cannot be installed, before the kernel sees it.
pub(crate) fn check_shape(route: &FibRoute, output_interface: Option<u32>) -> Result<(), FibError> {
    let invalid = |reason| {
        Err(FibError::InvalidRoute {
            prefix: route.prefix,
            reason,
        })
    };
    match route.kind {
        RouteKind::Unicast if route.next_hops.is_empty() => {
            return invalid("a route to install needs at least one next hop")
        }
        RouteKind::Unicast => {}
        RouteKind::Blackhole | RouteKind::Unreachable => {
            if !route.next_hops.is_empty() {
                return invalid("a blackhole or unreachable route has no next hops");
            }
            if route.device.is_some() {
                return invalid("a blackhole or unreachable route has no device");
            }
        }
    }
    // Caught by the caller's resolution; a mismatch here is a bug of ours.
    debug_assert_eq!(route.device.is_some(), output_interface.is_some());
    let same_family = route
        .next_hops
        .iter()
        .all(|gateway| gateway.is_ipv4() == route.prefix.addr().is_ipv4());
    if !same_family {
        return invalid("every next hop must be of the prefix's address family");
    }
    Ok(())
}

/// A route read back from the kernel, before its interface index becomes a
/// name (which takes another request: see [`KernelRoute::output_interface`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelRoute {
    /// The destination prefix.
    pub(crate) prefix: IpNet,
    /// The route's type; `None` for a type nodebgp never installs
    /// (prohibit, throw, local...), which is removed with the rest of ours
    /// but not listed as a [`FibRoute`].
    pub(crate) kind: Option<RouteKind>,
    /// The gateways, sorted and deduplicated; empty unless unicast.
    pub(crate) next_hops: Vec<IpAddr>,
    /// The interface index of a unicast route whose next hops are all
    /// on-link through the same interface: the shape nodebgp installs for a
    /// [`FibRoute::device`]. `None` otherwise, although the kernel names an
    /// interface (`RTA_OIF`) for every gateway route it resolved itself and
    /// `lo` for IPv6 blackholes: those are not routes through a device.
    pub(crate) output_interface: Option<u32>,
    /// The table, from `RTA_TABLE` or else the header.
    pub(crate) table: u32,
    /// The route's protocol number.
    pub(crate) protocol: u8,
    /// The route's metric (`RTA_PRIORITY`), absent for IPv4 metric 0.
    pub(crate) metric: Option<u32>,
    /// The next-hop object it goes through (`RTA_NH_ID`). The kernel lists
    /// the object's gateway and interface beside it unless
    /// `net.ipv4.nexthop_compat_mode` is 0 ([`KernelRoute::through`]).
    pub(crate) next_hop_object: Option<u32>,
}

impl KernelRoute {
    /// Fills in the gateway (and the on-link interface) of a route listed
    /// with only its next-hop object, from `objects`.
    pub(crate) fn through(&mut self, objects: &HashMap<u32, NextHopObject>) {
        let listed_bare = self.kind == Some(RouteKind::Unicast) && self.next_hops.is_empty();
        if let (true, Some(id)) = (listed_bare, self.next_hop_object) {
            if let Some(object) = objects.get(&id) {
                self.next_hops = vec![object.gateway];
                self.output_interface = object.on_link.then_some(object.interface);
            }
        }
    }

    /// The route as a [`FibRoute`] through `device` (the name of
    /// [`KernelRoute::output_interface`]); `None` for a kind nodebgp does not install.
    pub(crate) fn into_fib_route(self, device: Option<String>) -> Option<FibRoute> {
        Some(FibRoute {
            prefix: self.prefix,
            next_hops: self.next_hops,
            kind: self.kind?,
            device,
        })
    }
}

/// Reads an IPv4 or IPv6 route out of rtnetlink's reading of a dump message;
/// `None` for other families. The daemon reads dumps with
/// [`crate::decode::route`]; this is what the tests hold it to.
#[cfg(test)]
pub(crate) fn parse(message: &RouteMessage) -> Option<KernelRoute> {
    let prefix_length = message.header.destination_prefix_length;
    let mut destination = match message.header.address_family {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let kind = match message.header.kind {
        RouteType::Unicast => Some(RouteKind::Unicast),
        RouteType::BlackHole => Some(RouteKind::Blackhole),
        RouteType::Unreachable => Some(RouteKind::Unreachable),
        _ => None,
    };
    let mut table = u32::from(message.header.table);
    let mut metric = None;
    let mut next_hops = Vec::new();
    // Each next hop's on-link interface, `None` for one the kernel resolved.
    let mut on_link = Vec::new();
    let mut single_interface = None;
    let mut next_hop_object = None;
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Destination(address) => destination = ip_of(address)?,
            RouteAttribute::Table(id) => table = *id,
            RouteAttribute::Priority(priority) => metric = Some(*priority),
            RouteAttribute::Oif(index) => single_interface = Some(*index),
            RouteAttribute::NhId(id) => next_hop_object = Some(*id),
            RouteAttribute::MultiPath(hops) => {
                for hop in hops {
                    let gateways: Vec<IpAddr> =
                        hop.attributes.iter().filter_map(gateway_of).collect();
                    let interface = hop
                        .flags
                        .contains(RouteNextHopFlags::Onlink)
                        .then_some(hop.interface_index);
                    on_link.extend(gateways.iter().map(|_| interface));
                    next_hops.extend(gateways);
                }
            }
            other => {
                if let Some(gateway) = gateway_of(other) {
                    next_hops.push(gateway);
                    on_link.push(None);
                }
            }
        }
    }
    // A single gateway's on-link flag is in the header, its interface in RTA_OIF.
    if let (true, Some(index)) = (
        message.header.flags.contains(RouteFlags::Onlink),
        single_interface,
    ) {
        for interface in &mut on_link {
            interface.get_or_insert(index);
        }
    }
    let output_interface = match (kind, on_link.split_first()) {
        (Some(RouteKind::Unicast), Some((Some(first), rest)))
            if rest.iter().all(|other| *other == Some(*first)) =>
        {
            Some(*first)
        }
        _ => None,
    };
    let prefix = IpNet::new(destination, prefix_length).ok()?.trunc();
    next_hops.sort_unstable();
    next_hops.dedup();
    Some(KernelRoute {
        prefix,
        kind,
        next_hops,
        output_interface,
        table,
        protocol: u8::from(message.header.protocol),
        metric,
        next_hop_object,
    })
}

#[cfg(test)]
fn gateway_of(attribute: &RouteAttribute) -> Option<IpAddr> {
    match attribute {
        RouteAttribute::Gateway(address) => ip_of(address),
        RouteAttribute::Via(RouteVia::Inet(address)) => Some(IpAddr::V4(*address)),
        RouteAttribute::Via(RouteVia::Inet6(address)) => Some(IpAddr::V6(*address)),
        _ => None,
    }
}

#[cfg(test)]
fn ip_of(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(address) => Some(IpAddr::V4(*address)),
        RouteAddress::Inet6(address) => Some(IpAddr::V6(*address)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(table: u32) -> FibConfig {
        FibConfig {
            table,
            protocol: 244,
            metric: Some(20),
            ..FibConfig::default()
        }
    }

    fn route(prefix: &str, next_hops: &[&str]) -> FibRoute {
        FibRoute::new(
            prefix.parse().unwrap(),
            next_hops.iter().map(|hop| hop.parse().unwrap()),
        )
    }

    fn tunnel_route(prefix: &str, next_hops: &[&str]) -> FibRoute {
        FibRoute::through_device(
            prefix.parse().unwrap(),
            next_hops.iter().map(|hop| hop.parse().unwrap()),
            "tunl0",
        )
    }

    /// What `parse` reads back, named through `device` when it found an interface.
    fn read_back(message: &RouteMessage, device: &str) -> FibRoute {
        let read = parse(message).unwrap();
        let name = read.output_interface.map(|_| device.to_owned());
        read.into_fib_route(name).unwrap()
    }

    #[test]
    fn an_install_request_parses_back_to_the_same_route() {
        for wanted in [
            route("10.0.0.0/24", &["192.0.2.2"]),
            route("10.0.0.0/24", &["192.0.2.2", "192.0.2.3"]),
            route("0.0.0.0/0", &["192.0.2.2"]),
            route("2001:db8:1::/48", &["2001:db8::2", "2001:db8::3"]),
            FibRoute::blackhole("10.65.0.0/26".parse().unwrap()),
            FibRoute::unreachable("2001:db8:65::/122".parse().unwrap()),
        ] {
            let message = install_request(&config(1000), &wanted, None).unwrap();
            assert_eq!(read_back(&message, "unused"), wanted);
            let read = parse(&message).unwrap();
            assert_eq!(read.table, 1000);
            assert_eq!(read.protocol, 244);
            assert_eq!(read.metric, Some(20));
            assert_eq!(read.output_interface, None);
        }
    }

    #[test]
    fn a_tunnel_route_parses_back_with_its_interface() {
        for wanted in [
            tunnel_route("10.65.1.0/26", &["192.0.2.12"]),
            tunnel_route("10.65.2.0/26", &["192.0.2.12", "192.0.2.13"]),
            tunnel_route("2001:db8:65::/122", &["2001:db8:99::1"]),
        ] {
            let message = install_request(&config(254), &wanted, Some(7)).unwrap();
            assert!(message.attributes.contains(&RouteAttribute::Oif(7)));
            assert_eq!(parse(&message).unwrap().output_interface, Some(7));
            assert_eq!(read_back(&message, "tunl0"), wanted);
        }
    }

    #[test]
    fn a_single_gateway_through_a_device_is_onlink_in_the_header() {
        let message = install_request(
            &config(254),
            &tunnel_route("10.65.1.0/26", &["192.0.2.12"]),
            Some(7),
        )
        .unwrap();
        assert!(message.header.flags.contains(RouteFlags::Onlink));
        let plain =
            install_request(&config(254), &route("10.0.0.0/24", &["192.0.2.2"]), None).unwrap();
        assert!(!plain.header.flags.contains(RouteFlags::Onlink));
    }

    #[test]
    fn every_next_hop_of_a_multipath_route_through_a_device_is_onlink() {
        let message = install_request(
            &config(254),
            &tunnel_route("10.65.2.0/26", &["192.0.2.12", "192.0.2.13"]),
            Some(7),
        )
        .unwrap();
        let hops = message
            .attributes
            .iter()
            .find_map(|attribute| match attribute {
                RouteAttribute::MultiPath(hops) => Some(hops),
                _ => None,
            })
            .unwrap();
        assert_eq!(hops.len(), 2);
        assert!(hops
            .iter()
            .all(|hop| hop.interface_index == 7 && hop.flags.contains(RouteNextHopFlags::Onlink)));
    }

    #[test]
    fn an_interface_the_kernel_chose_is_no_device() {
        // What the kernel answers for `ip route add 10.0.0.0/24 via 192.0.2.2`:
        // RTA_OIF of the connected interface, no on-link flag.
        let mut message =
            install_request(&config(254), &route("10.0.0.0/24", &["192.0.2.2"]), None).unwrap();
        message.attributes.push(RouteAttribute::Oif(3));
        assert_eq!(parse(&message).unwrap().output_interface, None);
        // And for an IPv6 blackhole: `dev lo`.
        let mut message = install_request(
            &config(254),
            &FibRoute::blackhole("2001:db8:65::/122".parse().unwrap()),
            None,
        )
        .unwrap();
        message.attributes.push(RouteAttribute::Oif(1));
        assert_eq!(parse(&message).unwrap().output_interface, None);
    }

    #[test]
    fn blackhole_and_unreachable_requests_have_their_type_and_no_gateway() {
        for (wanted, kind) in [
            (
                FibRoute::blackhole("10.65.0.0/26".parse().unwrap()),
                RouteType::BlackHole,
            ),
            (
                FibRoute::unreachable("10.65.0.0/26".parse().unwrap()),
                RouteType::Unreachable,
            ),
        ] {
            let message = install_request(&config(254), &wanted, None).unwrap();
            assert_eq!(message.header.kind, kind);
            assert_eq!(message.header.scope, RouteScope::Universe);
            assert!(!message.attributes.iter().any(|attribute| matches!(
                attribute,
                RouteAttribute::Gateway(_) | RouteAttribute::MultiPath(_) | RouteAttribute::Oif(_)
            )));
        }
    }

    #[test]
    fn a_route_type_nodebgp_does_not_install_has_no_kind() {
        let mut message = install_request(
            &config(254),
            &FibRoute::blackhole("10.65.0.0/26".parse().unwrap()),
            None,
        )
        .unwrap();
        message.header.kind = RouteType::Prohibit;
        let read = parse(&message).unwrap();
        assert_eq!(read.kind, None);
        assert_eq!(read.into_fib_route(None), None);
    }

    #[test]
    fn a_blackhole_with_next_hops_or_a_device_is_refused() {
        let mut with_next_hop = FibRoute::blackhole("10.65.0.0/26".parse().unwrap());
        with_next_hop.next_hops.push("192.0.2.2".parse().unwrap());
        let mut with_device = FibRoute::unreachable("10.65.0.0/26".parse().unwrap());
        with_device.device = Some("tunl0".to_owned());
        for (wanted, index) in [(with_next_hop, None), (with_device, Some(7))] {
            assert!(matches!(
                install_request(&config(254), &wanted, index),
                Err(FibError::InvalidRoute { .. })
            ));
        }
    }

    #[test]
    fn a_small_table_goes_in_the_header_too() {
        let message =
            install_request(&config(100), &route("10.0.0.0/24", &["192.0.2.2"]), None).unwrap();
        assert_eq!(message.header.table, 100);
        let message =
            install_request(&config(1000), &route("10.0.0.0/24", &["192.0.2.2"]), None).unwrap();
        assert_eq!(message.header.table, RouteHeader::RT_TABLE_UNSPEC);
        assert!(message.attributes.contains(&RouteAttribute::Table(1000)));
    }

    #[test]
    fn a_next_hop_of_the_other_family_is_refused() {
        let mixed = FibRoute::new(
            "10.0.0.0/24".parse().unwrap(),
            ["2001:db8::2".parse().unwrap()],
        );
        assert!(matches!(
            install_request(&config(254), &mixed, None),
            Err(FibError::InvalidRoute { .. })
        ));
    }

    #[test]
    fn a_route_without_next_hops_is_not_an_install() {
        let empty = FibRoute::removal("10.0.0.0/24".parse().unwrap());
        assert!(matches!(
            install_request(&config(254), &empty, None),
            Err(FibError::InvalidRoute { .. })
        ));
    }

    #[test]
    fn a_removal_carries_our_protocol_and_no_gateway() {
        let message = removal_request(&config(254), &"10.0.0.0/24".parse().unwrap(), None);
        assert_eq!(u8::from(message.header.protocol), 244);
        assert_eq!(message.header.scope, RouteScope::NoWhere);
        assert_eq!(message.header.kind, RouteType::Unspec);
        assert!(parse(&message).unwrap().next_hops.is_empty());
    }

    #[test]
    fn a_dump_request_has_only_the_table_attribute() {
        let message = dump_request(&config(254), AddressFamily::Inet6);
        assert_eq!(message.attributes, vec![RouteAttribute::Table(254)]);
        assert_eq!(message.header.destination_prefix_length, 0);
    }
}
