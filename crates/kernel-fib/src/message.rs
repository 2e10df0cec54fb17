//! Translation between [`FibRoute`] and rtnetlink route messages; no I/O.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteNextHop, RouteProtocol,
    RouteScope, RouteType, RouteVia,
};
use rtnetlink::packet_route::AddressFamily;

use crate::{FibConfig, FibError, FibRoute};

/// The address families nodebgp routes.
pub(crate) const FAMILIES: [AddressFamily; 2] = [AddressFamily::Inet, AddressFamily::Inet6];

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
/// `RTA_TABLE` is the only attribute allowed.
pub(crate) fn dump_request(config: &FibConfig, family: AddressFamily) -> RouteMessage {
    let mut message = base_message(config, family);
    message.header.scope = RouteScope::Universe;
    message.header.kind = RouteType::Unspec;
    message
}

/// The `RTM_NEWROUTE` message that installs `route` (which has next hops).
pub(crate) fn install_request(
    config: &FibConfig,
    route: &FibRoute,
) -> Result<RouteMessage, FibError> {
    check_families(route)?;
    let mut message = destination_message(config, &route.prefix);
    message.header.scope = RouteScope::Universe;
    message.header.kind = RouteType::Unicast;
    if let Some(metric) = config.metric {
        message.attributes.push(RouteAttribute::Priority(metric));
    }
    match route.next_hops.as_slice() {
        [] => {
            return Err(FibError::InvalidRoute {
                prefix: route.prefix,
                reason: "a route to install needs at least one next hop",
            })
        }
        [gateway] => message
            .attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(*gateway))),
        gateways => {
            let next_hops = gateways
                .iter()
                .map(|gateway| {
                    let mut next_hop = RouteNextHop::default();
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
/// and IPv6 alike; scope "nowhere" and type "unspecified" match any.
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

fn check_families(route: &FibRoute) -> Result<(), FibError> {
    let same_family = route
        .next_hops
        .iter()
        .all(|gateway| gateway.is_ipv4() == route.prefix.addr().is_ipv4());
    if same_family {
        Ok(())
    } else {
        Err(FibError::InvalidRoute {
            prefix: route.prefix,
            reason: "every next hop must be of the prefix's address family",
        })
    }
}

/// A route read back from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelRoute {
    /// Prefix and gateways (normalised).
    pub(crate) route: FibRoute,
    /// The table, from `RTA_TABLE` or else the header.
    pub(crate) table: u32,
    /// The route's protocol number.
    pub(crate) protocol: u8,
    /// The route's metric (`RTA_PRIORITY`), absent for IPv4 metric 0.
    pub(crate) metric: Option<u32>,
}

/// Reads an IPv4 or IPv6 route out of a dump message; `None` for other families.
pub(crate) fn parse(message: &RouteMessage) -> Option<KernelRoute> {
    let prefix_length = message.header.destination_prefix_length;
    let mut destination = match message.header.address_family {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let mut table = u32::from(message.header.table);
    let mut metric = None;
    let mut next_hops = Vec::new();
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Destination(address) => destination = ip_of(address)?,
            RouteAttribute::Table(id) => table = *id,
            RouteAttribute::Priority(priority) => metric = Some(*priority),
            RouteAttribute::MultiPath(hops) => {
                next_hops.extend(
                    hops.iter()
                        .flat_map(|hop| hop.attributes.iter().filter_map(gateway_of)),
                );
            }
            other => next_hops.extend(gateway_of(other)),
        }
    }
    let prefix = IpNet::new(destination, prefix_length).ok()?;
    Some(KernelRoute {
        route: FibRoute::new(prefix, next_hops),
        table,
        protocol: u8::from(message.header.protocol),
        metric,
    })
}

fn gateway_of(attribute: &RouteAttribute) -> Option<IpAddr> {
    match attribute {
        RouteAttribute::Gateway(address) => ip_of(address),
        RouteAttribute::Via(RouteVia::Inet(address)) => Some(IpAddr::V4(*address)),
        RouteAttribute::Via(RouteVia::Inet6(address)) => Some(IpAddr::V6(*address)),
        _ => None,
    }
}

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
        }
    }

    fn route(prefix: &str, next_hops: &[&str]) -> FibRoute {
        FibRoute::new(
            prefix.parse().unwrap(),
            next_hops.iter().map(|hop| hop.parse().unwrap()),
        )
    }

    #[test]
    fn an_install_request_parses_back_to_the_same_route() {
        for wanted in [
            route("10.0.0.0/24", &["192.0.2.2"]),
            route("10.0.0.0/24", &["192.0.2.2", "192.0.2.3"]),
            route("0.0.0.0/0", &["192.0.2.2"]),
            route("2001:db8:1::/48", &["2001:db8::2", "2001:db8::3"]),
        ] {
            let message = install_request(&config(1000), &wanted).unwrap();
            let read = parse(&message).unwrap();
            assert_eq!(read.route, wanted);
            assert_eq!(read.table, 1000);
            assert_eq!(read.protocol, 244);
            assert_eq!(read.metric, Some(20));
        }
    }

    #[test]
    fn a_small_table_goes_in_the_header_too() {
        let message = install_request(&config(100), &route("10.0.0.0/24", &["192.0.2.2"])).unwrap();
        assert_eq!(message.header.table, 100);
        let message =
            install_request(&config(1000), &route("10.0.0.0/24", &["192.0.2.2"])).unwrap();
        assert_eq!(message.header.table, RouteHeader::RT_TABLE_UNSPEC);
        assert!(message.attributes.contains(&RouteAttribute::Table(1000)));
    }

    #[test]
    fn a_next_hop_of_the_other_family_is_refused() {
        let mixed = FibRoute {
            prefix: "10.0.0.0/24".parse().unwrap(),
            next_hops: vec!["2001:db8::2".parse().unwrap()],
        };
        assert!(matches!(
            install_request(&config(254), &mixed),
            Err(FibError::InvalidRoute { .. })
        ));
    }

    #[test]
    fn a_route_without_next_hops_is_not_an_install() {
        let empty = FibRoute::removal("10.0.0.0/24".parse().unwrap());
        assert!(matches!(
            install_request(&config(254), &empty),
            Err(FibError::InvalidRoute { .. })
        ));
    }

    #[test]
    fn a_removal_carries_our_protocol_and_no_gateway() {
        let message = removal_request(&config(254), &"10.0.0.0/24".parse().unwrap(), None);
        assert_eq!(u8::from(message.header.protocol), 244);
        assert_eq!(message.header.scope, RouteScope::NoWhere);
        assert!(parse(&message).unwrap().route.next_hops.is_empty());
    }

    #[test]
    fn a_dump_request_has_only_the_table_attribute() {
        let message = dump_request(&config(254), AddressFamily::Inet6);
        assert_eq!(message.attributes, vec![RouteAttribute::Table(254)]);
        assert_eq!(message.header.destination_prefix_length, 0);
    }
}
