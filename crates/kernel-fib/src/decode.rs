//! The kernel's answers to a route dump, read straight from the datagram;
//! no I/O.
//!
//! A restarted daemon reads a full table of its own routes back before it
//! listens (see `Fib::for_each_installed`). Through rtnetlink each of a
//! million routes became a `RouteMessage` with a vector of attributes,
//! queued on the connection task's unbounded channel until read: most of a
//! second of the restart and, when the reader fell behind, a second copy of
//! the table in memory. Here a datagram's routes are read where they lie
//! into [`KernelRoute`]s, the same ones [`crate::message::parse`] makes of
//! rtnetlink's messages (the tests compare the two), and the next datagram
//! is not asked for before these are taken.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::encode::NextHopObject;
use crate::kernel_abi::{
    AF_INET, AF_INET6, NETLINK_HEADER, NEXT_HOP_OBJECT_HEADER, NHA_BLACKHOLE, NHA_GATEWAY,
    NHA_GROUP, NHA_ID, NHA_OIF, ROUTE_HEADER, RTA_DST, RTA_GATEWAY, RTA_MULTIPATH, RTA_NH_ID,
    RTA_OIF, RTA_PRIORITY, RTA_TABLE, RTA_VIA, RTNH_F_ONLINK, RTN_BLACKHOLE, RTN_UNICAST,
    RTN_UNREACHABLE,
};
use crate::message::KernelRoute;
use crate::RouteKind;

/// An attribute type's flag bits (NLA_F_NESTED, NLA_F_NET_BYTEORDER) are not
/// part of the type.
const ATTRIBUTE_TYPE_MASK: u16 = 0x3FFF;

/// `rtnexthop`: length, flags, hop count, interface index.
const NEXT_HOP_HEADER: usize = 8;

/// One netlink message of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Message<'a> {
    /// `nlmsg_type`.
    pub(crate) kind: u16,
    /// `nlmsg_flags`.
    pub(crate) flags: u16,
    /// `nlmsg_seq`.
    pub(crate) sequence: u32,
    /// What follows the netlink header.
    pub(crate) payload: &'a [u8],
}

impl Message<'_> {
    /// The code of an NLMSG_ERROR (negative errno, 0 for an acknowledgement).
    pub(crate) fn error_code(&self) -> Option<i32> {
        let code = self.payload.get(..4)?;
        Some(i32::from_ne_bytes(code.try_into().ok()?))
    }
}

/// The datagram's messages in order; stops at the first that does not add up
/// (a length shorter than its header or past the datagram's end).
pub(crate) fn messages(mut datagram: &[u8]) -> impl Iterator<Item = Message<'_>> {
    std::iter::from_fn(move || {
        let length = u32::from_ne_bytes(datagram.get(..4)?.try_into().ok()?) as usize;
        if length < NETLINK_HEADER || length > datagram.len() {
            return None;
        }
        let kind = u16::from_ne_bytes(datagram[4..6].try_into().ok()?);
        let flags = u16::from_ne_bytes(datagram[6..8].try_into().ok()?);
        let sequence = u32::from_ne_bytes(datagram[8..12].try_into().ok()?);
        let payload = &datagram[NETLINK_HEADER..length];
        // Messages are aligned to 4 octets (NLMSG_ALIGN).
        datagram = &datagram[length.next_multiple_of(4).min(datagram.len())..];
        Some(Message {
            kind,
            flags,
            sequence,
            payload,
        })
    })
}

/// The attributes in `octets`, as `(type, value)`; stops at the first that
/// does not add up.
fn attributes(mut octets: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let length = usize::from(u16::from_ne_bytes(octets.get(..2)?.try_into().ok()?));
        if length < 4 || length > octets.len() {
            return None;
        }
        let kind = u16::from_ne_bytes(octets[2..4].try_into().ok()?) & ATTRIBUTE_TYPE_MASK;
        let value = &octets[4..length];
        octets = &octets[length.next_multiple_of(4).min(octets.len())..];
        Some((kind, value))
    })
}

fn u32_of(value: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(value.get(..4)?.try_into().ok()?))
}

/// An address of the route's family, as rtnetlink reads `RTA_DST` and
/// `RTA_GATEWAY`: exactly 4 or 16 octets.
fn address_of(family: u8, value: &[u8]) -> Option<IpAddr> {
    match family {
        AF_INET => {
            let octets: [u8; 4] = value.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(octets)))
        }
        _ => {
            let octets: [u8; 16] = value.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
    }
}

/// `RTA_VIA`: an address family (2 octets) and an address of that family.
fn via_of(value: &[u8]) -> Option<IpAddr> {
    let family = u16::from_ne_bytes(value.get(..2)?.try_into().ok()?);
    let address = &value[2..];
    match family {
        family if family == u16::from(AF_INET) => Some(IpAddr::V4(Ipv4Addr::from(
            <[u8; 4]>::try_from(address.get(..4)?).ok()?,
        ))),
        family if family == u16::from(AF_INET6) => Some(IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(address.get(..16)?).ok()?,
        ))),
        _ => None,
    }
}

/// A gateway attribute's next hop; `Err` for a malformed one, which makes
/// the whole message unreadable, as it does to rtnetlink.
fn gateway_of(family: u8, kind: u16, value: &[u8]) -> Result<Option<IpAddr>, ()> {
    match kind {
        RTA_GATEWAY => address_of(family, value).map(Some).ok_or(()),
        RTA_VIA => Ok(via_of(value)),
        _ => Ok(None),
    }
}

/// Reads the route of an `RTM_NEWROUTE` message's payload; `None` for a
/// family other than IPv4 and IPv6, or a message that does not add up.
/// What it makes of a route is what [`crate::message::parse`] makes of
/// rtnetlink's reading of it.
pub(crate) fn route(payload: &[u8]) -> Option<KernelRoute> {
    let header: &[u8; ROUTE_HEADER] = payload.get(..ROUTE_HEADER)?.try_into().ok()?;
    let [family, prefix_length, _, _, header_table, protocol, _, route_type, ..] = *header;
    let route_flags = u32::from_ne_bytes(header[8..12].try_into().ok()?);
    let mut destination = match family {
        AF_INET => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AF_INET6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let kind = match route_type {
        RTN_UNICAST => Some(RouteKind::Unicast),
        RTN_BLACKHOLE => Some(RouteKind::Blackhole),
        RTN_UNREACHABLE => Some(RouteKind::Unreachable),
        _ => None,
    };
    let mut table = u32::from(header_table);
    let mut metric = None;
    let mut next_hops = Vec::new();
    // Each next hop's on-link interface, `None` for one the kernel resolved.
    let mut on_link: Vec<Option<u32>> = Vec::new();
    let mut single_interface = None;
    let mut next_hop_object = None;
    for (attribute, value) in attributes(&payload[ROUTE_HEADER..]) {
        match attribute {
            RTA_DST => destination = address_of(family, value)?,
            RTA_TABLE => table = u32_of(value)?,
            RTA_PRIORITY => metric = Some(u32_of(value)?),
            RTA_OIF => single_interface = Some(u32_of(value)?),
            RTA_NH_ID => next_hop_object = Some(u32_of(value)?),
            RTA_MULTIPATH => {
                let mut hops = value;
                while hops.len() >= NEXT_HOP_HEADER {
                    let length = usize::from(u16::from_ne_bytes(hops[..2].try_into().ok()?));
                    if length < NEXT_HOP_HEADER || length > hops.len() {
                        return None;
                    }
                    let interface = (hops[2] & RTNH_F_ONLINK != 0)
                        .then(|| u32_of(&hops[4..8]))
                        .flatten();
                    for (kind, value) in attributes(&hops[NEXT_HOP_HEADER..length]) {
                        if let Some(gateway) = gateway_of(family, kind, value).ok()? {
                            next_hops.push(gateway);
                            on_link.push(interface);
                        }
                    }
                    hops = &hops[length.next_multiple_of(4).min(hops.len())..];
                }
            }
            other => {
                if let Some(gateway) = gateway_of(family, other, value).ok()? {
                    next_hops.push(gateway);
                    on_link.push(None);
                }
            }
        }
    }
    // A single gateway's on-link flag is in the header, its interface in RTA_OIF.
    if let (true, Some(index)) = (
        route_flags & u32::from(RTNH_F_ONLINK) != 0,
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
        protocol,
        metric,
        next_hop_object,
    })
}

/// The interface of a route lookup's answer (`RTA_OIF` of the
/// `RTM_NEWROUTE` that `ip route get` prints); `None` without one.
pub(crate) fn route_interface(payload: &[u8]) -> Option<u32> {
    attributes(payload.get(ROUTE_HEADER..)?)
        .find(|(kind, _)| *kind == RTA_OIF)
        .and_then(|(_, value)| u32_of(value))
}

/// A next-hop object as an `RTM_NEWNEXTHOP` of a dump lists it: its id,
/// its protocol number and, for an object of one gateway through one
/// interface (not a group, not a blackhole), what it holds.
pub(crate) fn next_hop_object(payload: &[u8]) -> Option<(u32, u8, Option<NextHopObject>)> {
    let header = payload.get(..NEXT_HOP_OBJECT_HEADER)?;
    let [family, _, protocol, _] = [header[0], header[1], header[2], header[3]];
    let flags = u32::from_ne_bytes(header[4..8].try_into().ok()?);
    let mut id = None;
    let mut gateway = None;
    let mut interface = None;
    let mut other = false;
    for (kind, value) in attributes(&payload[NEXT_HOP_OBJECT_HEADER..]) {
        match kind {
            NHA_ID => id = Some(u32_of(value)?),
            NHA_OIF => interface = Some(u32_of(value)?),
            NHA_GATEWAY => gateway = Some(address_of(family, value)?),
            NHA_GROUP | NHA_BLACKHOLE => other = true,
            _ => {}
        }
    }
    let next_hop = match (gateway, interface, other) {
        (Some(gateway), Some(interface), false) => Some(NextHopObject {
            gateway,
            interface,
            on_link: flags & u32::from(RTNH_F_ONLINK) != 0,
        }),
        _ => None,
    };
    Some((id?, protocol, next_hop))
}

#[cfg(test)]
mod tests;
