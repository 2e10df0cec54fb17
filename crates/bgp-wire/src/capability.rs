//! Capabilities advertised in OPEN (RFC 5492) and the families they name.
//!
//! ```text
//! +------------------------------+
//! | Capability Code (1 octet)    |
//! +------------------------------+
//! | Capability Length (1 octet)  |
//! +------------------------------+
//! | Capability Value (variable)  |
//! +------------------------------+
//! ```
//!
//! Known capabilities are decoded into values; any other code is kept as bytes
//! so that it round-trips and can be shown.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::OpenError;
use crate::reader::Reader;
use crate::types::{code_point, Afi, Asn, Family, Safi};

code_point! {
    /// Capability codes ([IANA capability-codes]).
    CapabilityCode(u8) {
        /// RFC 4760
        MULTIPROTOCOL = 1 => "multiprotocol",
        /// RFC 2918
        ROUTE_REFRESH = 2 => "route-refresh",
        /// RFC 5291
        OUTBOUND_ROUTE_FILTERING = 3 => "outbound-route-filtering",
        /// RFC 8950
        EXTENDED_NEXT_HOP = 5 => "extended-next-hop",
        /// RFC 8654
        EXTENDED_MESSAGE = 6 => "extended-message",
        /// RFC 9234
        ROLE = 9 => "role",
        /// RFC 4724
        GRACEFUL_RESTART = 64 => "graceful-restart",
        /// RFC 6793
        FOUR_OCTET_AS = 65 => "four-octet-as",
        /// draft-ietf-idr-dynamic-cap
        DYNAMIC = 67 => "dynamic",
        /// RFC 7911
        ADD_PATH = 69 => "add-path",
        /// RFC 7313
        ENHANCED_ROUTE_REFRESH = 70 => "enhanced-route-refresh",
        /// RFC 9494
        LONG_LIVED_GRACEFUL_RESTART = 71 => "long-lived-graceful-restart",
        /// draft-walton-bgp-hostname-capability
        FQDN = 73 => "fqdn",
        /// RFC 8810: the pre-standard route refresh some vendors still send
        ROUTE_REFRESH_CISCO = 128 => "route-refresh-cisco",
    }
}

/// ADD-PATH direction for one family (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddPathDirection(pub u8);

impl AddPathDirection {
    /// The sender can receive multiple paths.
    pub const RECEIVE: AddPathDirection = AddPathDirection(1);
    /// The sender can send multiple paths.
    pub const SEND: AddPathDirection = AddPathDirection(2);
    /// Both.
    pub const BOTH: AddPathDirection = AddPathDirection(3);

    /// Whether the advertiser will receive path identifiers.
    pub fn receives(self) -> bool {
        self.0 & 1 != 0
    }

    /// Whether the advertiser will send path identifiers.
    pub fn sends(self) -> bool {
        self.0 & 2 != 0
    }
}

/// One family in a Graceful Restart capability (RFC 4724 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulRestartFamily {
    /// The family.
    pub family: Family,
    /// Flags octet; [`GracefulRestartFamily::FORWARDING_PRESERVED`].
    pub flags: u8,
}

impl GracefulRestartFamily {
    /// The F bit: the sender kept forwarding the family's routes across its
    /// restart (RFC 4724 §3; the same bit in RFC 9494's LLGR entries).
    pub const FORWARDING_PRESERVED: u8 = 0x80;
}

/// The Graceful Restart capability (RFC 4724 §3, N bit from RFC 8538).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracefulRestart {
    /// The four flag bits: [`GracefulRestart::RESTART_STATE`],
    /// [`GracefulRestart::NOTIFICATION`].
    pub flags: u8,
    /// Restart Time in seconds (12 bits).
    pub restart_time: u16,
    /// The families whose state is preserved.
    pub families: Vec<GracefulRestartFamily>,
}

impl GracefulRestart {
    /// The R bit: the sender has restarted (RFC 4724 §3).
    pub const RESTART_STATE: u8 = 0x8;
    /// The N bit: graceful restart also covers NOTIFICATIONs (RFC 8538 §2).
    pub const NOTIFICATION: u8 = 0x4;
}

/// One family in a Long-Lived Graceful Restart capability (RFC 9494 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongLivedFamily {
    /// The family.
    pub family: Family,
    /// Flags octet; 0x80 is Forwarding State preserved.
    pub flags: u8,
    /// Long-lived stale time in seconds (24 bits).
    pub stale_time: u32,
}

/// One entry of the Extended Next Hop capability (RFC 8950 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtendedNextHop {
    /// The NLRI family.
    pub afi: Afi,
    /// The NLRI SAFI (two octets here, unlike elsewhere).
    pub safi: u16,
    /// The address family of the next hop.
    pub next_hop_afi: Afi,
}

/// A capability.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Capability {
    /// Multiprotocol extensions for one family (RFC 4760 §8).
    Multiprotocol(Family),
    /// Route refresh (RFC 2918).
    RouteRefresh,
    /// Enhanced route refresh (RFC 7313).
    EnhancedRouteRefresh,
    /// Extended messages up to 65535 octets (RFC 8654).
    ExtendedMessage,
    /// The speaker's 4-octet AS number (RFC 6793).
    FourOctetAs(Asn),
    /// Graceful restart (RFC 4724).
    GracefulRestart(GracefulRestart),
    /// Long-lived graceful restart (RFC 9494).
    LongLivedGracefulRestart(Vec<LongLivedFamily>),
    /// ADD-PATH per family (RFC 7911).
    AddPath(Vec<(Family, AddPathDirection)>),
    /// IPv4 NLRI with IPv6 next hops and similar (RFC 8950).
    ExtendedNextHop(Vec<ExtendedNextHop>),
    /// The BGP role (RFC 9234 §4.1): 0 provider, 1 route server, 2 route
    /// server client, 3 customer, 4 peer.
    Role(u8),
    /// Host and domain name (draft-walton-bgp-hostname-capability); kept as
    /// octets because nothing guarantees UTF-8.
    Fqdn {
        /// Host name.
        hostname: Bytes,
        /// Domain name.
        domain: Bytes,
    },
    /// Any other capability, value kept as received.
    Unknown {
        /// Its code.
        code: CapabilityCode,
        /// Its value.
        value: Bytes,
    },
}

fn malformed(detail: &'static str) -> OpenError {
    OpenError::Malformed { detail }
}

fn read_family(reader: &mut Reader<'_>) -> Result<Family, crate::reader::Truncated> {
    let afi = Afi(reader.u16()?);
    let safi = Safi(reader.u8()?);
    Ok(Family::new(afi, safi))
}

impl Capability {
    /// The capability's code.
    pub fn code(&self) -> CapabilityCode {
        match self {
            Capability::Multiprotocol(_) => CapabilityCode::MULTIPROTOCOL,
            Capability::RouteRefresh => CapabilityCode::ROUTE_REFRESH,
            Capability::EnhancedRouteRefresh => CapabilityCode::ENHANCED_ROUTE_REFRESH,
            Capability::ExtendedMessage => CapabilityCode::EXTENDED_MESSAGE,
            Capability::FourOctetAs(_) => CapabilityCode::FOUR_OCTET_AS,
            Capability::GracefulRestart(_) => CapabilityCode::GRACEFUL_RESTART,
            Capability::LongLivedGracefulRestart(_) => CapabilityCode::LONG_LIVED_GRACEFUL_RESTART,
            Capability::AddPath(_) => CapabilityCode::ADD_PATH,
            Capability::ExtendedNextHop(_) => CapabilityCode::EXTENDED_NEXT_HOP,
            Capability::Role(_) => CapabilityCode::ROLE,
            Capability::Fqdn { .. } => CapabilityCode::FQDN,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// Decodes the TLVs of one Capabilities optional parameter (RFC 5492 §4).
    pub fn decode_list(input: &Bytes) -> Result<Vec<Capability>, OpenError> {
        let mut reader = Reader::new(input);
        // Each capability takes at least two octets: never reserve more than that allows.
        let mut capabilities = Vec::with_capacity(input.len() / 2);
        while !reader.is_empty() {
            let offset = input.len() - reader.remaining();
            let code = reader
                .u8()
                .map_err(|_| malformed("capability header cut short"))?;
            let length = reader
                .u8()
                .map_err(|_| malformed("capability header cut short"))?;
            let start = offset + 2;
            reader
                .take(usize::from(length))
                .map_err(|_| malformed("capability length overruns the parameter"))?;
            let value = input.slice(start..start + usize::from(length));
            capabilities.push(Capability::decode_value(CapabilityCode(code), value)?);
        }
        Ok(capabilities)
    }

    fn decode_value(code: CapabilityCode, value: Bytes) -> Result<Capability, OpenError> {
        let length = value.len();
        let mut reader = Reader::new(&value);
        let cut = |_| malformed("capability value cut short");
        let capability = match code {
            CapabilityCode::MULTIPROTOCOL => {
                if length != 4 {
                    return Err(malformed("multiprotocol capability length is not 4"));
                }
                let afi = Afi(reader.u16().map_err(cut)?);
                let _reserved = reader.u8().map_err(cut)?;
                let safi = Safi(reader.u8().map_err(cut)?);
                Capability::Multiprotocol(Family::new(afi, safi))
            }
            CapabilityCode::ROUTE_REFRESH
            | CapabilityCode::ENHANCED_ROUTE_REFRESH
            | CapabilityCode::EXTENDED_MESSAGE => {
                if length != 0 {
                    return Err(malformed("capability that carries no value has a length"));
                }
                match code {
                    CapabilityCode::ROUTE_REFRESH => Capability::RouteRefresh,
                    CapabilityCode::ENHANCED_ROUTE_REFRESH => Capability::EnhancedRouteRefresh,
                    _ => Capability::ExtendedMessage,
                }
            }
            CapabilityCode::FOUR_OCTET_AS => {
                if length != 4 {
                    return Err(malformed("four-octet AS capability length is not 4"));
                }
                Capability::FourOctetAs(Asn(reader.u32().map_err(cut)?))
            }
            CapabilityCode::GRACEFUL_RESTART => {
                if length < 2 || !(length - 2).is_multiple_of(4) {
                    return Err(malformed(
                        "graceful restart capability length is not 2 + 4n",
                    ));
                }
                let head = reader.u16().map_err(cut)?;
                let mut families = Vec::with_capacity((length - 2) / 4);
                while !reader.is_empty() {
                    let family = read_family(&mut reader).map_err(cut)?;
                    let flags = reader.u8().map_err(cut)?;
                    families.push(GracefulRestartFamily { family, flags });
                }
                Capability::GracefulRestart(GracefulRestart {
                    flags: (head >> 12) as u8,
                    restart_time: head & 0x0fff,
                    families,
                })
            }
            CapabilityCode::LONG_LIVED_GRACEFUL_RESTART => {
                if !length.is_multiple_of(7) {
                    return Err(malformed("long-lived graceful restart length is not 7n"));
                }
                let mut families = Vec::with_capacity(length / 7);
                while !reader.is_empty() {
                    let family = read_family(&mut reader).map_err(cut)?;
                    let flags = reader.u8().map_err(cut)?;
                    let stale_time = reader.u24().map_err(cut)?;
                    families.push(LongLivedFamily {
                        family,
                        flags,
                        stale_time,
                    });
                }
                Capability::LongLivedGracefulRestart(families)
            }
            CapabilityCode::ADD_PATH => {
                if length == 0 || !length.is_multiple_of(4) {
                    return Err(malformed("ADD-PATH capability length is not 4n"));
                }
                let mut families = Vec::with_capacity(length / 4);
                while !reader.is_empty() {
                    let family = read_family(&mut reader).map_err(cut)?;
                    let direction = reader.u8().map_err(cut)?;
                    // RFC 7911 §4: only 1, 2 and 3 are defined.
                    if !(1..=3).contains(&direction) {
                        return Err(malformed("ADD-PATH send/receive value is not 1, 2 or 3"));
                    }
                    families.push((family, AddPathDirection(direction)));
                }
                Capability::AddPath(families)
            }
            CapabilityCode::EXTENDED_NEXT_HOP => {
                if length == 0 || !length.is_multiple_of(6) {
                    return Err(malformed("extended next hop capability length is not 6n"));
                }
                let mut entries = Vec::with_capacity(length / 6);
                while !reader.is_empty() {
                    entries.push(ExtendedNextHop {
                        afi: Afi(reader.u16().map_err(cut)?),
                        safi: reader.u16().map_err(cut)?,
                        next_hop_afi: Afi(reader.u16().map_err(cut)?),
                    });
                }
                Capability::ExtendedNextHop(entries)
            }
            CapabilityCode::FQDN => {
                let host_length = usize::from(reader.u8().map_err(cut)?);
                reader.take(host_length).map_err(cut)?;
                let domain_length = usize::from(reader.u8().map_err(cut)?);
                reader.take(domain_length).map_err(cut)?;
                if !reader.is_empty() {
                    return Err(malformed("FQDN capability has trailing octets"));
                }
                Capability::Fqdn {
                    hostname: value.slice(1..1 + host_length),
                    domain: value.slice(2 + host_length..2 + host_length + domain_length),
                }
            }
            CapabilityCode::ROLE => {
                // RFC 9234 §4.1: one octet.
                if length != 1 {
                    return Err(malformed("role capability length is not 1"));
                }
                Capability::Role(value[0])
            }
            CapabilityCode::OUTBOUND_ROUTE_FILTERING => {
                // RFC 5291 §5: one or more (AFI, reserved, SAFI, count, count ×
                // (type, direction)) tuples. Carried without being interpreted;
                // only the five-octet minimum of one tuple is checked, as FRR does.
                if length < 5 {
                    return Err(malformed(
                        "outbound route filtering capability shorter than one entry",
                    ));
                }
                Capability::Unknown { code, value }
            }
            _ => Capability::Unknown { code, value },
        };
        Ok(capability)
    }

    /// Appends this capability as a TLV.
    pub fn encode(&self, destination: &mut BytesMut) {
        destination.put_u8(self.code().0);
        let length_at = destination.len();
        destination.put_u8(0);
        match self {
            Capability::Multiprotocol(family) => {
                destination.put_u16(family.afi.0);
                destination.put_u8(0);
                destination.put_u8(family.safi.0);
            }
            Capability::RouteRefresh
            | Capability::EnhancedRouteRefresh
            | Capability::ExtendedMessage => {}
            Capability::FourOctetAs(asn) => destination.put_u32(asn.0),
            Capability::GracefulRestart(restart) => {
                destination
                    .put_u16(u16::from(restart.flags & 0x0f) << 12 | restart.restart_time & 0x0fff);
                for entry in &restart.families {
                    destination.put_u16(entry.family.afi.0);
                    destination.put_u8(entry.family.safi.0);
                    destination.put_u8(entry.flags);
                }
            }
            Capability::LongLivedGracefulRestart(families) => {
                for entry in families {
                    destination.put_u16(entry.family.afi.0);
                    destination.put_u8(entry.family.safi.0);
                    destination.put_u8(entry.flags);
                    destination.put_uint(u64::from(entry.stale_time & 0x00ff_ffff), 3);
                }
            }
            Capability::AddPath(families) => {
                for (family, direction) in families {
                    destination.put_u16(family.afi.0);
                    destination.put_u8(family.safi.0);
                    destination.put_u8(direction.0);
                }
            }
            Capability::ExtendedNextHop(entries) => {
                for entry in entries {
                    destination.put_u16(entry.afi.0);
                    destination.put_u16(entry.safi);
                    destination.put_u16(entry.next_hop_afi.0);
                }
            }
            Capability::Fqdn { hostname, domain } => {
                // One length octet each (draft-walton-bgp-hostname-capability
                // §3) inside a capability of at most 255 octets (RFC 5492
                // §4): a name too long is cut, never sent with a wrapped
                // length. The domain keeps what it needs first.
                let domain = &domain[..domain.len().min(253)];
                let hostname = &hostname[..hostname.len().min(253 - domain.len())];
                for name in [hostname, domain] {
                    destination.put_u8(name.len() as u8);
                    destination.put_slice(name);
                }
            }
            Capability::Role(role) => destination.put_u8(*role),
            Capability::Unknown { value, .. } => destination.put_slice(value),
        }
        // A value over 255 octets cannot be expressed; callers building
        // capabilities keep within that (the decoder never produces one).
        let length = destination.len() - length_at - 1;
        destination[length_at] = u8::try_from(length).unwrap_or(u8::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(hex_tlvs: &str) -> Vec<Capability> {
        let bytes = Bytes::from(hex::decode(hex_tlvs).unwrap());
        let capabilities = Capability::decode_list(&bytes).unwrap();
        let mut encoded = BytesMut::new();
        for capability in &capabilities {
            capability.encode(&mut encoded);
        }
        assert_eq!(hex::encode_upper(&encoded), hex_tlvs);
        capabilities
    }

    #[test]
    fn known_capabilities_decode_and_round_trip() {
        let capabilities = round_trip("010400010001020041040000FDE84006000A000101804600");
        assert_eq!(
            capabilities[0],
            Capability::Multiprotocol(Family::IPV4_UNICAST)
        );
        assert_eq!(capabilities[1], Capability::RouteRefresh);
        assert_eq!(capabilities[2], Capability::FourOctetAs(Asn(65000)));
        let Capability::GracefulRestart(restart) = &capabilities[3] else {
            panic!("expected graceful restart, got {:?}", capabilities[3]);
        };
        assert_eq!(restart.restart_time, 10);
        assert_eq!(restart.families[0].flags, 0x80);
        assert_eq!(capabilities[4], Capability::EnhancedRouteRefresh);
    }

    #[test]
    fn add_path_fqdn_and_unknown_capabilities_round_trip() {
        let capabilities = round_trip("4504000101034906047231303100FE03010203");
        assert_eq!(
            capabilities[0],
            Capability::AddPath(vec![(Family::IPV4_UNICAST, AddPathDirection::BOTH)])
        );
        assert!(
            matches!(&capabilities[1], Capability::Fqdn { hostname, .. } if &hostname[..] == b"r101")
        );
        assert_eq!(capabilities[2].code(), CapabilityCode(0xfe));
    }

    #[test]
    fn wrong_lengths_are_malformed() {
        for hex_tlvs in [
            "410000",
            "0103000101",
            "020100",
            "4503000101",
            "4505000101",
            "01",
            "0105000100",
        ] {
            let bytes = Bytes::from(hex::decode(hex_tlvs).unwrap());
            assert!(
                matches!(
                    Capability::decode_list(&bytes),
                    Err(OpenError::Malformed { .. })
                ),
                "{hex_tlvs}"
            );
        }
    }
}
