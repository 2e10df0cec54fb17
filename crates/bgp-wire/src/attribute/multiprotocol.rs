//! MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4).
//!
//! ```text
//! MP_REACH_NLRI                             MP_UNREACH_NLRI
//! +-------------------------------------+   +-----------------------------+
//! | AFI (2) | SAFI (1)                  |   | AFI (2) | SAFI (1)          |
//! | Length of Next Hop (1)              |   | Withdrawn Routes (variable) |
//! | Next Hop (variable)                 |   +-----------------------------+
//! | Reserved (1)                        |
//! | NLRI (variable)                     |
//! +-------------------------------------+
//! ```
//!
//! IPv4 and IPv6 unicast and multicast NLRI are decoded into prefixes; other
//! families are carried as opaque octets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, Bytes, BytesMut};

use crate::nlri::{decode_prefixes, AddressKind, Nlri, NlriError};
use crate::types::{Afi, Family, Safi};
use crate::CodecContext;

/// The NLRI of a multiprotocol attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MpNlri {
    /// Prefixes of an IPv4 or IPv6 unicast or multicast family.
    Prefixes(Vec<Nlri>),
    /// Any other family's NLRI, as received.
    Opaque(Bytes),
}

impl MpNlri {
    /// The prefixes, or none for an opaque family.
    pub fn prefixes(&self) -> &[Nlri] {
        match self {
            MpNlri::Prefixes(prefixes) => prefixes,
            MpNlri::Opaque(_) => &[],
        }
    }

    /// Whether there is no NLRI at all.
    pub fn is_empty(&self) -> bool {
        match self {
            MpNlri::Prefixes(prefixes) => prefixes.is_empty(),
            MpNlri::Opaque(octets) => octets.is_empty(),
        }
    }

    pub(crate) fn encoded_length(&self) -> usize {
        match self {
            MpNlri::Prefixes(prefixes) => prefixes.iter().map(Nlri::encoded_length).sum(),
            MpNlri::Opaque(octets) => octets.len(),
        }
    }

    pub(crate) fn encode(&self, destination: &mut BytesMut) {
        match self {
            MpNlri::Prefixes(prefixes) => prefixes.iter().for_each(|nlri| nlri.encode(destination)),
            MpNlri::Opaque(octets) => destination.put_slice(octets),
        }
    }
}

/// MP_REACH_NLRI: routes of one family and their next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpReach {
    /// The family.
    pub family: Family,
    /// The next hop field as received: 4 octets (IPv4), 16 (IPv6 global) or 32
    /// (global and link-local, RFC 2545 §3); other families other forms.
    pub next_hop: Bytes,
    /// The reserved octet (formerly the SNPA count), zero when sent.
    pub reserved: u8,
    /// The announced routes.
    pub nlri: MpNlri,
}

/// MP_UNREACH_NLRI: withdrawals for one family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpUnreach {
    /// The family.
    pub family: Family,
    /// The withdrawn routes.
    pub nlri: MpNlri,
}

/// Why a multiprotocol attribute does not parse; `family` is `None` when even
/// the AFI and SAFI could not be read, which leaves only a session reset
/// (RFC 7606 §7.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MpError {
    pub(crate) family: Option<Family>,
    pub(crate) detail: &'static str,
}

fn address_kind(family: Family) -> Option<AddressKind> {
    if !family.has_prefix_nlri() {
        return None;
    }
    match family.afi {
        Afi::IPV4 => Some(AddressKind::V4),
        Afi::IPV6 => Some(AddressKind::V6),
        _ => None,
    }
}

/// The NLRI at `value[start..]`; only an opaque family's NLRI is sliced out
/// as `Bytes`, since every slice costs an atomic increment.
fn decode_nlri(
    family: Family,
    value: &Bytes,
    start: usize,
    context: &CodecContext,
) -> Result<MpNlri, MpError> {
    let Some(kind) = address_kind(family) else {
        return Ok(MpNlri::Opaque(value.slice(start..)));
    };
    let prefixes = decode_prefixes(&value[start..], kind, context.add_path_receive(family))
        .map_err(|error| MpError {
            family: Some(family),
            detail: match error {
                NlriError::Overrun => "a prefix runs past the end of the attribute",
                NlriError::BadLength => "a prefix length exceeds the address size",
            },
        })?;
    Ok(MpNlri::Prefixes(prefixes))
}

fn read_family(value: &Bytes) -> Result<Family, MpError> {
    match value.get(..3) {
        Some(head) => Ok(Family::new(
            Afi(u16::from_be_bytes([head[0], head[1]])),
            Safi(head[2]),
        )),
        None => Err(MpError {
            family: None,
            detail: "too short to hold AFI and SAFI",
        }),
    }
}

impl MpReach {
    pub(crate) fn decode(value: &Bytes, context: &CodecContext) -> Result<MpReach, MpError> {
        if let Some(family) = context.table_dump_family {
            return MpReach::decode_abbreviated(value, family);
        }
        let family = read_family(value)?;
        let error = |detail| MpError {
            family: Some(family),
            detail,
        };
        let next_hop_length = usize::from(*value.get(3).ok_or(error("next hop length missing"))?);
        let nlri_start = 4 + next_hop_length + 1;
        if value.len() < nlri_start {
            return Err(error("next hop runs past the end of the attribute"));
        }
        let next_hop = value.slice(4..4 + next_hop_length);
        // RFC 4760 §3, RFC 2545 §3, RFC 8950 §3: the lengths each family allows.
        let next_hop_fits = match address_kind(family) {
            Some(AddressKind::V4) => matches!(next_hop_length, 4 | 16 | 32),
            Some(AddressKind::V6) => {
                matches!(next_hop_length, 16 | 32)
                    || (next_hop_length == 4 && context.extended_next_hop.contains(&family))
            }
            None => true,
        };
        if !next_hop_fits {
            return Err(error("next hop length does not suit the family"));
        }
        Ok(MpReach {
            family,
            next_hop,
            reserved: value[4 + next_hop_length],
            nlri: decode_nlri(family, value, nlri_start, context)?,
        })
    }

    /// RFC 6396 §4.3.4: TABLE_DUMP_V2 RIB entries keep only the next hop
    /// length and the next hop; family and NLRI come from the record.
    fn decode_abbreviated(value: &Bytes, family: Family) -> Result<MpReach, MpError> {
        let length = usize::from(*value.first().ok_or(MpError {
            family: Some(family),
            detail: "next hop length missing",
        })?);
        let next_hop = value.get(1..1 + length).ok_or(MpError {
            family: Some(family),
            detail: "next hop runs past the end of the attribute",
        })?;
        Ok(MpReach {
            family,
            next_hop: Bytes::copy_from_slice(next_hop),
            reserved: 0,
            nlri: MpNlri::Prefixes(Vec::new()),
        })
    }

    /// The next hop addresses: one IPv4 or IPv6 address, or an IPv6 global
    /// address followed by its link-local one; empty for other forms.
    pub fn next_hop_addresses(&self) -> Vec<IpAddr> {
        let octets = &self.next_hop[..];
        match octets.len() {
            4 => vec![IpAddr::V4(Ipv4Addr::new(
                octets[0], octets[1], octets[2], octets[3],
            ))],
            16 | 32 => octets
                .chunks_exact(16)
                .map(|chunk| {
                    let mut address = [0u8; 16];
                    address.copy_from_slice(chunk);
                    IpAddr::V6(Ipv6Addr::from(address))
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    pub(crate) fn encoded_length(&self) -> usize {
        5 + self.next_hop.len() + self.nlri.encoded_length()
    }

    pub(crate) fn encode(&self, destination: &mut BytesMut) {
        destination.put_u16(self.family.afi.0);
        destination.put_u8(self.family.safi.0);
        destination.put_u8(self.next_hop.len() as u8);
        destination.put_slice(&self.next_hop);
        destination.put_u8(self.reserved);
        self.nlri.encode(destination);
    }
}

impl MpUnreach {
    pub(crate) fn decode(value: &Bytes, context: &CodecContext) -> Result<MpUnreach, MpError> {
        let family = read_family(value)?;
        Ok(MpUnreach {
            family,
            nlri: decode_nlri(family, value, 3, context)?,
        })
    }

    pub(crate) fn encoded_length(&self) -> usize {
        3 + self.nlri.encoded_length()
    }

    pub(crate) fn encode(&self, destination: &mut BytesMut) {
        destination.put_u16(self.family.afi.0);
        destination.put_u8(self.family.safi.0);
        self.nlri.encode(destination);
    }
}
