//! Octets on the wire, built and read by hand: the runner must be able to
//! send anything, malformed included, and must not share the decoder of the
//! speaker it grades (RFC 4271 §4 for the formats).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Message types (RFC 4271 §4.1, RFC 2918 §3).
pub mod kind {
    /// OPEN.
    pub const OPEN: u8 = 1;
    /// UPDATE.
    pub const UPDATE: u8 = 2;
    /// NOTIFICATION.
    pub const NOTIFICATION: u8 = 3;
    /// KEEPALIVE.
    pub const KEEPALIVE: u8 = 4;
    /// ROUTE-REFRESH.
    pub const ROUTE_REFRESH: u8 = 5;
}

/// Path attribute type codes used by the scenarios.
pub mod attribute {
    /// ORIGIN (RFC 4271 §5.1.1).
    pub const ORIGIN: u8 = 1;
    /// AS_PATH (§5.1.2).
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP (§5.1.3).
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC (§5.1.4).
    pub const MED: u8 = 4;
    /// LOCAL_PREF (§5.1.5).
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE (§5.1.6).
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR (§5.1.7).
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997).
    pub const COMMUNITIES: u8 = 8;
    /// ORIGINATOR_ID (RFC 4456).
    pub const ORIGINATOR_ID: u8 = 9;
    /// CLUSTER_LIST (RFC 4456).
    pub const CLUSTER_LIST: u8 = 10;
    /// MP_REACH_NLRI (RFC 4760).
    pub const MP_REACH: u8 = 14;
    /// MP_UNREACH_NLRI (RFC 4760).
    pub const MP_UNREACH: u8 = 15;
    /// AS4_PATH (RFC 6793).
    pub const AS4_PATH: u8 = 17;
}

/// Attribute flag bits (RFC 4271 §4.3).
pub mod flag {
    /// Optional.
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial.
    pub const PARTIAL: u8 = 0x20;
    /// Extended Length: a two-octet length field.
    pub const EXTENDED_LENGTH: u8 = 0x10;
    /// What a well-known attribute carries.
    pub const WELL_KNOWN: u8 = TRANSITIVE;
}

/// A whole message: marker, length, type, body.
pub fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let length = u16::try_from(19 + body.len()).unwrap_or(u16::MAX);
    header([0xff; 16], length, kind, body)
}

/// A message with every header field given, however wrong.
pub fn header(marker: [u8; 16], length: u16, kind: u8, body: &[u8]) -> Vec<u8> {
    let mut octets = Vec::with_capacity(19 + body.len());
    octets.extend_from_slice(&marker);
    octets.extend_from_slice(&length.to_be_bytes());
    octets.push(kind);
    octets.extend_from_slice(body);
    octets
}

/// A KEEPALIVE.
pub fn keepalive() -> Vec<u8> {
    message(kind::KEEPALIVE, &[])
}

/// A NOTIFICATION.
pub fn notification(code: u8, subcode: u8, data: &[u8]) -> Vec<u8> {
    let mut body = vec![code, subcode];
    body.extend_from_slice(data);
    message(kind::NOTIFICATION, &body)
}

/// The fields of an OPEN (RFC 4271 §4.2); `parameters` are the optional
/// parameters as octets, so that they can be anything.
#[derive(Debug, Clone)]
pub struct Open {
    /// Version (4).
    pub version: u8,
    /// My Autonomous System: AS_TRANS (23456) for a four-octet AS.
    pub my_as: u16,
    /// Hold Time.
    pub hold_time: u16,
    /// BGP Identifier.
    pub identifier: Ipv4Addr,
    /// Optional parameters, encoded.
    pub parameters: Vec<u8>,
}

impl Open {
    /// The OPEN body with a one-octet parameters length.
    pub fn body(&self) -> Vec<u8> {
        let mut body = vec![self.version];
        body.extend_from_slice(&self.my_as.to_be_bytes());
        body.extend_from_slice(&self.hold_time.to_be_bytes());
        body.extend_from_slice(&self.identifier.octets());
        body.push(u8::try_from(self.parameters.len()).unwrap_or(u8::MAX));
        body.extend_from_slice(&self.parameters);
        body
    }

    /// The whole message.
    pub fn message(&self) -> Vec<u8> {
        message(kind::OPEN, &self.body())
    }
}

/// The AS_TRANS placeholder (RFC 6793 §9).
pub const AS_TRANS: u16 = 23456;

/// The two-octet field for `asn`: itself, or AS_TRANS.
pub fn two_octet_as(asn: u32) -> u16 {
    u16::try_from(asn).unwrap_or(AS_TRANS)
}

/// One capability TLV (RFC 5492 §4).
pub fn capability(code: u8, value: &[u8]) -> Vec<u8> {
    let mut octets = vec![code, u8::try_from(value.len()).unwrap_or(u8::MAX)];
    octets.extend_from_slice(value);
    octets
}

/// Capabilities wrapped in one optional parameter of type 2.
pub fn capabilities_parameter(capabilities: &[Vec<u8>]) -> Vec<u8> {
    let inner: Vec<u8> = capabilities.concat();
    let mut octets = vec![2, u8::try_from(inner.len()).unwrap_or(u8::MAX)];
    octets.extend_from_slice(&inner);
    octets
}

/// Capability codes (IANA).
pub mod capability_code {
    /// Multiprotocol (RFC 4760).
    pub const MULTIPROTOCOL: u8 = 1;
    /// Route refresh (RFC 2918).
    pub const ROUTE_REFRESH: u8 = 2;
    /// Extended message (RFC 8654).
    pub const EXTENDED_MESSAGE: u8 = 6;
    /// Graceful restart (RFC 4724).
    pub const GRACEFUL_RESTART: u8 = 64;
    /// Four-octet AS (RFC 6793).
    pub const FOUR_OCTET_AS: u8 = 65;
    /// Enhanced route refresh (RFC 7313).
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
}

/// Multiprotocol IPv4 unicast.
pub fn ipv4_unicast() -> Vec<u8> {
    capability(capability_code::MULTIPROTOCOL, &[0, 1, 0, 1])
}

/// Multiprotocol IPv6 unicast.
pub fn ipv6_unicast() -> Vec<u8> {
    capability(capability_code::MULTIPROTOCOL, &[0, 2, 0, 1])
}

/// Four-octet AS.
pub fn four_octet_as(asn: u32) -> Vec<u8> {
    capability(capability_code::FOUR_OCTET_AS, &asn.to_be_bytes())
}

/// Graceful restart for IPv4 unicast, forwarding state preserved.
pub fn graceful_restart(restart_time: u16, restarting: bool) -> Vec<u8> {
    let flags_and_time = (restart_time & 0x0fff) | if restarting { 0x8000 } else { 0 };
    let mut value = flags_and_time.to_be_bytes().to_vec();
    value.extend_from_slice(&[0, 1, 1, 0x80]);
    capability(capability_code::GRACEFUL_RESTART, &value)
}

/// One path attribute; the length field is two octets when `flags` says so.
pub fn path_attribute(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut octets = vec![flags, code];
    if flags & flag::EXTENDED_LENGTH != 0 {
        octets.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
    } else {
        octets.push(u8::try_from(value.len()).unwrap_or(u8::MAX));
    }
    octets.extend_from_slice(value);
    octets
}

/// ORIGIN IGP.
pub fn origin_igp() -> Vec<u8> {
    path_attribute(flag::WELL_KNOWN, attribute::ORIGIN, &[0])
}

/// AS_PATH of one AS_SEQUENCE of four-octet numbers.
pub fn as_path(path: &[u32]) -> Vec<u8> {
    path_attribute(flag::WELL_KNOWN, attribute::AS_PATH, &as_sequence(path))
}

/// One AS_SEQUENCE segment of four-octet numbers.
pub fn as_sequence(path: &[u32]) -> Vec<u8> {
    let mut value = vec![2, u8::try_from(path.len()).unwrap_or(u8::MAX)];
    for asn in path {
        value.extend_from_slice(&asn.to_be_bytes());
    }
    value
}

/// NEXT_HOP.
pub fn next_hop(address: Ipv4Addr) -> Vec<u8> {
    path_attribute(flag::WELL_KNOWN, attribute::NEXT_HOP, &address.octets())
}

/// An IPv4 prefix as NLRI octets (RFC 4271 §4.3).
pub fn prefix(address: Ipv4Addr, length: u8) -> Vec<u8> {
    let octets = usize::from(length.min(32)).div_ceil(8);
    let mut encoded = vec![length];
    encoded.extend_from_slice(&address.octets()[..octets]);
    encoded
}

/// An IPv6 prefix as NLRI octets (RFC 4760 §5); a length past 128 is
/// written as given, with 16 octets.
pub fn prefix6(address: Ipv6Addr, length: u8) -> Vec<u8> {
    let octets = usize::from(length.min(128)).div_ceil(8);
    let mut encoded = vec![length];
    encoded.extend_from_slice(&address.octets()[..octets]);
    encoded
}

/// An MP_REACH_NLRI attribute for IPv6 unicast (RFC 4760 §3) with the next
/// hop and NLRI given as octets, however wrong.
pub fn mp_reach_ipv6(next_hop: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut value = vec![0, 2, 1, u8::try_from(next_hop.len()).unwrap_or(u8::MAX)];
    value.extend_from_slice(next_hop);
    value.push(0);
    value.extend_from_slice(nlri);
    mp_attribute(attribute::MP_REACH, &value)
}

/// An MP_UNREACH_NLRI attribute for IPv6 unicast (RFC 4760 §4).
pub fn mp_unreach_ipv6(withdrawn: &[u8]) -> Vec<u8> {
    let mut value = vec![0, 2, 1];
    value.extend_from_slice(withdrawn);
    mp_attribute(attribute::MP_UNREACH, &value)
}

/// An optional non-transitive attribute, with an extended length when the
/// value needs it.
fn mp_attribute(code: u8, value: &[u8]) -> Vec<u8> {
    let flags = if value.len() > 255 {
        flag::OPTIONAL | flag::EXTENDED_LENGTH
    } else {
        flag::OPTIONAL
    };
    path_attribute(flags, code, value)
}

/// An UPDATE from its three fields (withdrawn routes, path attributes,
/// NLRI), the two length fields computed.
pub fn update(withdrawn: &[u8], attributes: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(
        &u16::try_from(withdrawn.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    body.extend_from_slice(withdrawn);
    body.extend_from_slice(
        &u16::try_from(attributes.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    body.extend_from_slice(attributes);
    body.extend_from_slice(nlri);
    message(kind::UPDATE, &body)
}

/// A ROUTE-REFRESH for IPv4 unicast with the given subtype (RFC 7313 §3:
/// 0 request, 1 BoRR, 2 EoRR).
pub fn route_refresh(subtype: u8) -> Vec<u8> {
    message(kind::ROUTE_REFRESH, &[0, 1, subtype, 1])
}

/// A NOTIFICATION as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data.
    pub data: Vec<u8>,
}

impl Notification {
    /// Reads a NOTIFICATION body; `None` when it is shorter than the two
    /// code octets.
    pub fn parse(body: &[u8]) -> Option<Notification> {
        match body {
            [code, subcode, data @ ..] => Some(Notification {
                code: *code,
                subcode: *subcode,
                data: data.to_vec(),
            }),
            _ => None,
        }
    }
}

impl std::fmt::Display for Notification {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "NOTIFICATION {}/{}", self.code, self.subcode)?;
        if !self.data.is_empty() {
            write!(formatter, " data {}", hex(&self.data))?;
        }
        Ok(())
    }
}

/// What the runner needs of the speaker's OPEN.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceivedOpen {
    /// BGP Identifier.
    pub identifier: Option<Ipv4Addr>,
    /// Hold Time.
    pub hold_time: u16,
    /// Capability codes advertised, with their values.
    pub capabilities: Vec<(u8, Vec<u8>)>,
}

impl ReceivedOpen {
    /// Reads an OPEN body, leniently: the speaker's own OPEN is not what
    /// is graded.
    pub fn parse(body: &[u8]) -> ReceivedOpen {
        let mut open = ReceivedOpen::default();
        if body.len() < 10 {
            return open;
        }
        open.hold_time = u16::from_be_bytes([body[3], body[4]]);
        open.identifier = Some(Ipv4Addr::new(body[5], body[6], body[7], body[8]));
        let mut parameters = &body[10..body.len().min(10 + usize::from(body[9]))];
        while let [kind, length, rest @ ..] = parameters {
            let length = usize::from(*length).min(rest.len());
            if *kind == 2 {
                let mut capabilities = &rest[..length];
                while let [code, size, value @ ..] = capabilities {
                    let size = usize::from(*size).min(value.len());
                    open.capabilities.push((*code, value[..size].to_vec()));
                    capabilities = &value[size..];
                }
            }
            parameters = &rest[length..];
        }
        open
    }

    /// Whether a capability was advertised.
    pub fn has(&self, code: u8) -> bool {
        self.capabilities.iter().any(|(each, _)| *each == code)
    }

    /// Whether the multiprotocol capability for IPv6 unicast was advertised
    /// (RFC 4760 §8).
    pub fn offers_ipv6_unicast(&self) -> bool {
        self.capabilities.iter().any(|(code, value)| {
            *code == capability_code::MULTIPROTOCOL && value.as_slice() == [0, 2, 0, 1]
        })
    }
}

/// An IPv4 prefix, as the runner tracks routes.
pub type Prefix = (Ipv4Addr, u8);

/// An IPv6 prefix.
pub type Prefix6 = (Ipv6Addr, u8);

/// A route of either family, as the observer keys them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// The prefix's address.
    pub address: IpAddr,
    /// The prefix length.
    pub length: u8,
}

impl From<Prefix> for Route {
    fn from((address, length): Prefix) -> Route {
        Route {
            address: IpAddr::V4(address),
            length,
        }
    }
}

impl From<Prefix6> for Route {
    fn from((address, length): Prefix6) -> Route {
        Route {
            address: IpAddr::V6(address),
            length,
        }
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.length)
    }
}

/// What the runner needs of an UPDATE the speaker sent: IPv4 unicast, and
/// IPv6 unicast in the multiprotocol attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceivedUpdate {
    /// Withdrawn Routes.
    pub withdrawn: Vec<Prefix>,
    /// Path attributes: flags, type code, value.
    pub attributes: Vec<(u8, u8, Vec<u8>)>,
    /// NLRI.
    pub announced: Vec<Prefix>,
    /// IPv6 unicast prefixes of MP_REACH_NLRI (RFC 4760 §3).
    pub announced6: Vec<Prefix6>,
    /// IPv6 unicast prefixes of MP_UNREACH_NLRI (RFC 4760 §4).
    pub withdrawn6: Vec<Prefix6>,
}

impl ReceivedUpdate {
    /// Reads an UPDATE body; `None` if it does not hold together.
    pub fn parse(body: &[u8]) -> Option<ReceivedUpdate> {
        let withdrawn_length = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
        let withdrawn = body.get(2..2 + withdrawn_length)?;
        let rest = &body[2 + withdrawn_length..];
        let attributes_length = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
        let mut attributes = rest.get(2..2 + attributes_length)?;
        let nlri = &rest[2 + attributes_length..];
        let mut update = ReceivedUpdate {
            withdrawn: prefixes(withdrawn)?,
            announced: prefixes(nlri)?,
            ..ReceivedUpdate::default()
        };
        while !attributes.is_empty() {
            let flags = *attributes.first()?;
            let code = *attributes.get(1)?;
            let (length, header) = if flags & flag::EXTENDED_LENGTH != 0 {
                (
                    usize::from(u16::from_be_bytes([
                        *attributes.get(2)?,
                        *attributes.get(3)?,
                    ])),
                    4,
                )
            } else {
                (usize::from(*attributes.get(2)?), 3)
            };
            let value = attributes.get(header..header + length)?;
            match (code, value) {
                (attribute::MP_REACH, [0, 2, 1, hop_length, rest @ ..]) => {
                    // Next hop, a reserved octet, then the NLRI.
                    let nlri = rest.get(usize::from(*hop_length) + 1..)?;
                    update.announced6 = prefixes6(nlri)?;
                }
                (attribute::MP_UNREACH, [0, 2, 1, withdrawn @ ..]) => {
                    update.withdrawn6 = prefixes6(withdrawn)?;
                }
                _ => {}
            }
            update.attributes.push((flags, code, value.to_vec()));
            attributes = &attributes[header + length..];
        }
        Some(update)
    }

    /// The routes it announces, of both families.
    pub fn announced_routes(&self) -> impl Iterator<Item = Route> + '_ {
        let v4 = self.announced.iter().map(|prefix| Route::from(*prefix));
        v4.chain(self.announced6.iter().map(|prefix| Route::from(*prefix)))
    }

    /// The routes it withdraws, of both families.
    pub fn withdrawn_routes(&self) -> impl Iterator<Item = Route> + '_ {
        let v4 = self.withdrawn.iter().map(|prefix| Route::from(*prefix));
        v4.chain(self.withdrawn6.iter().map(|prefix| Route::from(*prefix)))
    }

    /// The attribute of a type, if present.
    pub fn attribute(&self, code: u8) -> Option<(u8, &[u8])> {
        self.attributes
            .iter()
            .find(|(_, each, _)| *each == code)
            .map(|(flags, _, value)| (*flags, value.as_slice()))
    }

    /// An UPDATE with nothing in it: End-of-RIB for IPv4 unicast (RFC 4724 §2).
    pub fn is_end_of_rib(&self) -> bool {
        self.withdrawn.is_empty() && self.attributes.is_empty() && self.announced.is_empty()
    }
}

fn prefixes(mut octets: &[u8]) -> Option<Vec<Prefix>> {
    let mut list = Vec::new();
    while let [length, rest @ ..] = octets {
        if *length > 32 {
            return None;
        }
        let size = usize::from(*length).div_ceil(8);
        let mut address = [0u8; 4];
        address[..size].copy_from_slice(rest.get(..size)?);
        list.push((Ipv4Addr::from(address), *length));
        octets = &rest[size..];
    }
    Some(list)
}

fn prefixes6(mut octets: &[u8]) -> Option<Vec<Prefix6>> {
    let mut list = Vec::new();
    while let [length, rest @ ..] = octets {
        if *length > 128 {
            return None;
        }
        let size = usize::from(*length).div_ceil(8);
        let mut address = [0u8; 16];
        address[..size].copy_from_slice(rest.get(..size)?);
        list.push((Ipv6Addr::from(address), *length));
        octets = &rest[size..];
    }
    Some(list)
}

/// Octets as lower-case hex, for reports.
pub fn hex(octets: &[u8]) -> String {
    octets.iter().map(|octet| format!("{octet:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_built_here_reads_back() {
        let attributes = [
            origin_igp(),
            as_path(&[65001]),
            next_hop(Ipv4Addr::new(198, 51, 100, 1)),
        ]
        .concat();
        let nlri = prefix(Ipv4Addr::new(198, 18, 1, 0), 24);
        let octets = update(
            &prefix(Ipv4Addr::new(198, 18, 2, 0), 23),
            &attributes,
            &nlri,
        );
        assert_eq!(
            usize::from(u16::from_be_bytes([octets[16], octets[17]])),
            octets.len()
        );
        let update = ReceivedUpdate::parse(&octets[19..]).unwrap();
        assert_eq!(update.announced, vec![(Ipv4Addr::new(198, 18, 1, 0), 24)]);
        assert_eq!(update.withdrawn, vec![(Ipv4Addr::new(198, 18, 2, 0), 23)]);
        assert_eq!(
            update.attribute(attribute::ORIGIN),
            Some((0x40, &[0u8][..]))
        );
        assert_eq!(
            update.attribute(attribute::AS_PATH).unwrap().1,
            &[2, 1, 0, 0, 0xfd, 0xe9]
        );
    }

    #[test]
    fn an_update_that_does_not_hold_together_is_refused() {
        assert_eq!(ReceivedUpdate::parse(&[0, 5, 24]), None);
        assert_eq!(ReceivedUpdate::parse(&[0, 0, 0, 4, 0x40, 1, 9]), None);
        assert_eq!(
            ReceivedUpdate::parse(&[0, 0, 0, 0, 33, 1, 2, 3, 4, 5]),
            None
        );
    }

    #[test]
    fn ipv6_routes_in_the_multiprotocol_attributes_read_back() {
        let prefix: Prefix6 = ("2001:2:0:7::".parse().unwrap(), 64);
        let hop: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let attributes = [
            origin_igp(),
            mp_reach_ipv6(&hop.octets(), &prefix6(prefix.0, prefix.1)),
            mp_unreach_ipv6(&prefix6(prefix.0, 48)),
        ]
        .concat();
        let message = update(&[], &attributes, &[]);
        let update = ReceivedUpdate::parse(&message[19..]).unwrap();
        assert_eq!(update.announced6, vec![prefix]);
        assert_eq!(update.withdrawn6, vec![("2001:2::".parse().unwrap(), 48)]);
        let routes: Vec<Route> = update.announced_routes().collect();
        assert_eq!(routes, vec![Route::from(prefix)]);
        assert_eq!(routes[0].to_string(), "2001:2:0:7::/64");
        // A length past 128 does not read.
        let mut nlri = prefix6(prefix.0, 128);
        nlri[0] = 129;
        let message = super::update(&[], &mp_reach_ipv6(&hop.octets(), &nlri), &[]);
        assert_eq!(ReceivedUpdate::parse(&message[19..]), None);
    }

    #[test]
    fn capabilities_of_an_open_are_read() {
        let open = Open {
            version: 4,
            my_as: 65001,
            hold_time: 90,
            identifier: Ipv4Addr::new(192, 0, 2, 1),
            parameters: capabilities_parameter(&[ipv4_unicast(), four_octet_as(65001)]),
        };
        let read = ReceivedOpen::parse(&open.body());
        assert_eq!(read.hold_time, 90);
        assert!(read.has(capability_code::FOUR_OCTET_AS));
        assert!(!read.has(capability_code::ROUTE_REFRESH));
        assert!(!read.offers_ipv6_unicast());
        let open = Open {
            parameters: capabilities_parameter(&[ipv4_unicast(), ipv6_unicast()]),
            ..open
        };
        assert!(ReceivedOpen::parse(&open.body()).offers_ipv6_unicast());
    }
}
