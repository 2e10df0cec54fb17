//! Prefixes in NLRI fields (RFC 4271 §4.3, RFC 4760 §5) with ADD-PATH path
//! identifiers (RFC 7911 §3).
//!
//! ```text
//! +---------------------------+
//! | Path Identifier (4 octets)|   only when ADD-PATH is negotiated for the family
//! +---------------------------+
//! |   Length (1 octet, bits)  |
//! +---------------------------+
//! |   Prefix (variable)       |   ceil(length / 8) octets
//! +---------------------------+
//! ```

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use smallvec::SmallVec;

/// The prefixes of an UPDATE's Withdrawn Routes or NLRI field. Of the RIS
/// dumps' 2,922 non-empty IPv4 prefix fields, 1,990 hold exactly one prefix:
/// it is held inline, and only more take an allocation (benches/RESULTS.md
/// 6.22).
pub type NlriList = SmallVec<[Nlri; 1]>;

/// One route's destination: a prefix and, with ADD-PATH, its path identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nlri {
    /// The ADD-PATH path identifier, present exactly when negotiated.
    pub path_id: Option<u32>,
    /// The prefix, as received: bits past the prefix length are kept, so that
    /// the encoding round-trips; routing code uses [`IpNet::trunc`].
    pub prefix: IpNet,
}

impl Nlri {
    /// A prefix without a path identifier.
    pub fn new(prefix: IpNet) -> Self {
        Nlri {
            path_id: None,
            prefix,
        }
    }

    /// Octets this entry takes on the wire.
    pub fn encoded_length(&self) -> usize {
        let id = if self.path_id.is_some() { 4 } else { 0 };
        id + 1 + usize::from(self.prefix.prefix_len()).div_ceil(8)
    }

    /// Appends the entry.
    pub fn encode(&self, destination: &mut BytesMut) {
        if let Some(path_id) = self.path_id {
            destination.put_u32(path_id);
        }
        let length = self.prefix.prefix_len();
        let unused = |address_octets: usize| address_octets - usize::from(length).div_ceil(8);
        // The length octet and the whole address go in, then the octets the
        // prefix does not use come off again: a copy of a fixed size is a
        // store or two, where a copy of the prefix's own size was a call to
        // `memcpy` (this function's instructions halved on a table sent to
        // a monitor, benches/RESULTS.md 6.25).
        match self.prefix {
            IpNet::V4(net) => {
                let mut entry = [length; 5];
                entry[1..].copy_from_slice(&net.addr().octets());
                destination.put_slice(&entry);
                destination.truncate(destination.len() - unused(4));
            }
            IpNet::V6(net) => {
                let mut entry = [length; 17];
                entry[1..].copy_from_slice(&net.addr().octets());
                destination.put_slice(&entry);
                destination.truncate(destination.len() - unused(16));
            }
        }
    }
}

impl fmt::Display for Nlri {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path_id {
            Some(path_id) => write!(formatter, "{} path-id {}", self.prefix, path_id),
            None => write!(formatter, "{}", self.prefix),
        }
    }
}

/// Why an NLRI field does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NlriError {
    /// A prefix or path identifier runs past the end of the field.
    Overrun,
    /// A prefix length beyond the address size.
    BadLength,
}

/// Which address family a prefix field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressKind {
    V4,
    V6,
}

/// How many prefixes a field holds, counted without decoding them, so that
/// the output is allocated once at the right size; a field that does not
/// parse counts what fits.
fn count_prefixes(field: &[u8], add_path: bool) -> usize {
    let skip = if add_path { 4 } else { 0 };
    let mut at = skip;
    let mut count = 0;
    while let Some(&length) = field.get(at) {
        at += 1 + usize::from(length).div_ceil(8) + skip;
        count += 1;
    }
    count
}

/// Decodes a whole prefix field; a field that does not parse to its last
/// octet is an error (RFC 7606 §5.3). For MP_REACH_NLRI and MP_UNREACH_NLRI
/// (inlined, so that an empty one costs its caller no call) and MRT records;
/// an UPDATE's own fields go through [`decode_update_prefixes`].
#[inline]
pub(crate) fn decode_prefixes(
    field: &[u8],
    kind: AddressKind,
    add_path: bool,
) -> Result<Vec<Nlri>, NlriError> {
    // An empty field, common in both halves of an UPDATE, costs no allocation.
    if field.is_empty() {
        return Ok(Vec::new());
    }
    match (kind, add_path) {
        (AddressKind::V4, false) => decode_ipv4_prefixes(field),
        (AddressKind::V6, false) => decode_ipv6_prefixes(field),
        _ => decode_prefixes_general(field, kind, add_path),
    }
}

/// An UPDATE's own IPv4 field (Withdrawn Routes or NLRI), as
/// [`decode_prefixes`] decodes it. A field that is one prefix, as in most
/// UPDATEs, is held inline: no allocation.
#[inline]
pub(crate) fn decode_update_prefixes(field: &[u8], add_path: bool) -> Result<NlriList, NlriError> {
    if field.is_empty() {
        return Ok(NlriList::new());
    }
    if add_path {
        return decode_prefixes_general(field, AddressKind::V4, true).map(NlriList::from_vec);
    }
    let (first, rest) = read_ipv4_prefix(field)?;
    let first = Nlri {
        path_id: None,
        prefix: IpNet::V4(first),
    };
    if rest.is_empty() {
        return Ok(NlriList::from_buf([first]));
    }
    let mut output = Vec::with_capacity(field.len() / 3 + 1);
    output.push(first);
    read_ipv4_prefixes(rest, &mut output)?;
    Ok(NlriList::from_vec(output))
}

/// IPv4 without path identifiers into a vector (IPv4 in MP_REACH_NLRI, MRT
/// records): the loop an UPDATE's own fields share with it
/// ([`read_ipv4_prefixes`]), the address size and the absent path
/// identifier constants.
#[inline]
fn decode_ipv4_prefixes(field: &[u8]) -> Result<Vec<Nlri>, NlriError> {
    // An estimate from the field's length (prefixes up to /16 take three
    // octets or fewer, so it seldom falls short) spares a counting pass; the
    // vector is allocated at that size at once rather than grown from empty.
    let mut output = Vec::with_capacity(field.len() / 3 + 1);
    read_ipv4_prefixes(field, &mut output)?;
    Ok(output)
}

/// Appends the prefixes of `field` to `output`.
#[inline(always)]
fn read_ipv4_prefixes(field: &[u8], output: &mut Vec<Nlri>) -> Result<(), NlriError> {
    let mut rest = field;
    while !rest.is_empty() {
        let (net, after) = read_ipv4_prefix(rest)?;
        output.push(Nlri {
            path_id: None,
            prefix: IpNet::V4(net),
        });
        rest = after;
    }
    Ok(())
}

/// The IPv4 prefix at the start of `field` (not empty), and what follows it.
#[inline(always)]
fn read_ipv4_prefix(field: &[u8]) -> Result<(Ipv4Net, &[u8]), NlriError> {
    let [length, tail @ ..] = field else {
        return Err(NlriError::Overrun);
    };
    let length = *length;
    if length > 32 {
        return Err(NlriError::BadLength);
    }
    let count = usize::from(length).div_ceil(8);
    let (octets, after) = tail.split_at_checked(count).ok_or(NlriError::Overrun)?;
    let bits = match tail.first_chunk::<4>() {
        // Four octets at hand (the usual case inside a field): one load,
        // the octets past the prefix masked off (a shift in 64 bits, so
        // that a zero-octet prefix needs no branch).
        Some(word) => u32::from_be_bytes(*word) & (u64::from(u32::MAX) << (32 - 8 * count)) as u32,
        // Near the end of the message (where the only prefix of most
        // UPDATEs is): the octets there are, by their count.
        None => match *octets {
            [first, second, third, fourth] => u32::from_be_bytes([first, second, third, fourth]),
            [first, second, third] => u32::from_be_bytes([first, second, third, 0]),
            [first, second] => u32::from_be_bytes([first, second, 0, 0]),
            [first] => u32::from_be_bytes([first, 0, 0, 0]),
            _ => 0,
        },
    };
    let net = Ipv4Net::new(Ipv4Addr::from(bits), length).map_err(|_| NlriError::BadLength)?;
    Ok((net, after))
}

/// IPv6 without path identifiers (MP_REACH_NLRI and MP_UNREACH_NLRI of an
/// IPv6 table), as [`decode_ipv4_prefixes`]: one 16-octet load masked where
/// the field has the room, where the general loop shifted each octet into a
/// 128-bit word (half the time of decoding an IPv6 UPDATE's prefixes). A
/// twin of the IPv4 loop, not one generic loop for both: folded into one
/// (the read of a prefix a closure), the IPv4 loop compiled to 0.6 % more
/// instructions a pass over the RIS messages (benches/RESULTS.md 6.20).
fn decode_ipv6_prefixes(field: &[u8]) -> Result<Vec<Nlri>, NlriError> {
    // Most prefixes of an IPv6 table are /29 to /64: five to nine octets
    // with their length. Short of it, the vector grows.
    let mut output = Vec::with_capacity(field.len() / 5 + 1);
    let mut rest = field;
    while let [length, tail @ ..] = rest {
        let length = *length;
        if length > 128 {
            return Err(NlriError::BadLength);
        }
        let count = usize::from(length).div_ceil(8);
        let (octets, after) = tail.split_at_checked(count).ok_or(NlriError::Overrun)?;
        let bits = match tail.first_chunk::<16>() {
            // No octet past the prefix's is kept: a /0 masks all 128 bits.
            Some(word) => {
                let mask = u128::MAX.checked_shl(128 - 8 * count as u32).unwrap_or(0);
                u128::from_be_bytes(*word) & mask
            }
            None => {
                let mut padded = [0; 16];
                padded[..count].copy_from_slice(octets);
                u128::from_be_bytes(padded)
            }
        };
        let net = Ipv6Net::new(Ipv6Addr::from(bits), length).map_err(|_| NlriError::BadLength)?;
        output.push(Nlri {
            path_id: None,
            prefix: IpNet::V6(net),
        });
        rest = after;
    }
    Ok(output)
}

/// Any family and ADD-PATH setting.
#[inline(never)]
fn decode_prefixes_general(
    field: &[u8],
    kind: AddressKind,
    add_path: bool,
) -> Result<Vec<Nlri>, NlriError> {
    let maximum = match kind {
        AddressKind::V4 => 32,
        AddressKind::V6 => 128,
    };
    let mut output = Vec::with_capacity(count_prefixes(field, add_path));
    let mut at = 0;
    while at < field.len() {
        let path_id = if add_path {
            let octets = field.get(at..at + 4).ok_or(NlriError::Overrun)?;
            at += 4;
            Some(u32::from_be_bytes([
                octets[0], octets[1], octets[2], octets[3],
            ]))
        } else {
            None
        };
        let length = *field.get(at).ok_or(NlriError::Overrun)?;
        at += 1;
        if length > maximum {
            return Err(NlriError::BadLength);
        }
        let count = usize::from(length).div_ceil(8);
        let octets = field.get(at..at + count).ok_or(NlriError::Overrun)?;
        at += count;
        // Shifting the octets in avoids a memcpy call for a few bytes.
        let prefix = match kind {
            AddressKind::V4 => {
                let bits = octets
                    .iter()
                    .enumerate()
                    .fold(0u32, |bits, (index, octet)| {
                        bits | u32::from(*octet) << (24 - 8 * index)
                    });
                match Ipv4Net::new(Ipv4Addr::from(bits), length) {
                    Ok(net) => IpNet::V4(net),
                    Err(_) => return Err(NlriError::BadLength),
                }
            }
            AddressKind::V6 => {
                let bits = octets
                    .iter()
                    .enumerate()
                    .fold(0u128, |bits, (index, octet)| {
                        bits | u128::from(*octet) << (120 - 8 * index)
                    });
                match Ipv6Net::new(Ipv6Addr::from(bits), length) {
                    Ok(net) => IpNet::V6(net),
                    Err(_) => return Err(NlriError::BadLength),
                }
            }
        };
        output.push(Nlri { path_id, prefix });
    }
    Ok(output)
}

/// Reads a prefix field of an IPv4 or IPv6 family on its own, as MRT
/// TABLE_DUMP_V2 records carry a prefix (RFC 6396 §4.3.2); `None` when the
/// family has no prefixes or the field does not parse to its last octet.
pub fn decode_nlri_field(field: &[u8], family: crate::Family, add_path: bool) -> Option<Vec<Nlri>> {
    if !family.has_prefix_nlri() {
        return None;
    }
    let kind = match family.afi {
        crate::Afi::IPV4 => AddressKind::V4,
        crate::Afi::IPV6 => AddressKind::V6,
        _ => return None,
    };
    decode_prefixes(field, kind, add_path).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_field_of_one_prefix_is_held_inline() {
        // The reference is the general loop, which shares no code with the
        // IPv4 fast path.
        let reference =
            |field: &[u8], add_path| decode_prefixes_general(field, AddressKind::V4, add_path);
        for field in [&[24, 10, 1, 2][..], &[32, 192, 0, 2, 1], &[0]] {
            let list = decode_update_prefixes(field, false).unwrap();
            assert_eq!(list[..], reference(field, false).unwrap()[..]);
            assert!(!list.spilled(), "{field:?}");
        }
        assert!(decode_update_prefixes(&[], false).unwrap().is_empty());
        let fields: [&[u8]; 3] = [
            &[8, 10, 16, 10, 1],
            &[24, 10, 1, 2, 24, 10, 1, 3, 24, 10, 1, 4],
            &[0, 0, 0, 7, 24, 10, 1, 2],
        ];
        for (field, add_path) in fields.into_iter().zip([false, false, true]) {
            let list = decode_update_prefixes(field, add_path).unwrap();
            assert_eq!(list[..], reference(field, add_path).unwrap()[..]);
        }
        // The errors are the general loop's, in the first prefix or a later one.
        for field in [
            &[33, 1, 2, 3, 4, 5][..],
            &[24, 10, 1],
            &[24, 10, 1, 2, 24, 10],
            &[24, 10, 1, 2, 33],
        ] {
            assert_eq!(
                decode_update_prefixes(field, false).unwrap_err(),
                reference(field, false).unwrap_err(),
                "{field:?}"
            );
        }
        assert_eq!(
            decode_update_prefixes(&[24, 10, 1, 2, 33], false),
            Err(NlriError::BadLength)
        );
    }

    #[test]
    fn prefixes_decode_and_encode_back() {
        let field = [24, 10, 1, 2, 0, 32, 192, 0, 2, 1];
        let prefixes = decode_prefixes(&field, AddressKind::V4, false).unwrap();
        assert_eq!(prefixes[0].prefix.to_string(), "10.1.2.0/24");
        assert_eq!(prefixes[1].prefix.to_string(), "0.0.0.0/0");
        assert_eq!(prefixes[2].prefix.to_string(), "192.0.2.1/32");
        let mut encoded = BytesMut::new();
        prefixes.iter().for_each(|nlri| nlri.encode(&mut encoded));
        assert_eq!(&encoded[..], &field[..]);
    }

    #[test]
    fn every_prefix_length_encodes_to_its_own_octets_and_back() {
        // Each length of both families between two full entries (so that a
        // cut that took too much or too little shows in the one after it),
        // with and without a path identifier, and with host bits set where
        // the prefix ends inside an octet: they are kept, as received.
        for (kind, bits, address) in [
            (
                AddressKind::V4,
                32u8,
                "203.0.113.255".parse::<std::net::IpAddr>().unwrap(),
            ),
            (
                AddressKind::V6,
                128,
                "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
            ),
        ] {
            for length in 0..=bits {
                for path_id in [None, Some(7)] {
                    let full = Nlri {
                        prefix: IpNet::new(address, bits).unwrap(),
                        path_id,
                    };
                    // The address's bits past the last octet the prefix
                    // uses are not sent: what comes back has them cleared.
                    let sent_bits = (u32::from(length)).div_ceil(8) * 8;
                    let kept = IpNet::new(address, sent_bits as u8).unwrap().trunc().addr();
                    let nlri = Nlri {
                        prefix: IpNet::new(address, length).unwrap(),
                        path_id,
                    };
                    let expected = Nlri {
                        prefix: IpNet::new(kept, length).unwrap(),
                        path_id,
                    };
                    let mut encoded = BytesMut::new();
                    for entry in [&full, &nlri, &full] {
                        entry.encode(&mut encoded);
                    }
                    assert_eq!(
                        encoded.len(),
                        2 * full.encoded_length() + nlri.encoded_length(),
                        "{nlri}"
                    );
                    let decoded =
                        decode_prefixes_general(&encoded, kind, path_id.is_some()).unwrap();
                    assert_eq!(decoded[..], [full, expected, full], "{nlri}");
                }
            }
        }
    }

    #[test]
    fn ipv6_prefixes_decode_as_the_general_loop_decodes_them() {
        // Every length from /0 to /128, from addresses with every bit set
        // (so that a bit past the length left unmasked would show), each
        // at the end of the field and with other prefixes after it.
        for length in 0..=128u8 {
            let count = usize::from(length).div_ceil(8);
            let mut field = vec![length];
            field.extend(std::iter::repeat_n(0xff, count));
            let alone = decode_prefixes(&field, AddressKind::V6, false).unwrap();
            field.extend([128].iter().chain(&[0xab; 16]));
            field.extend([48, 0x20, 0x01, 0x0d, 0xb8, 0, 1]);
            let followed = decode_prefixes(&field, AddressKind::V6, false).unwrap();
            let general = decode_prefixes_general(&field, AddressKind::V6, false).unwrap();
            assert_eq!(followed, general, "/{length}");
            assert_eq!(alone[..], general[..1], "/{length}");
            assert_eq!(general[2].prefix.to_string(), "2001:db8:1::/48");
            let mut encoded = BytesMut::new();
            followed.iter().for_each(|nlri| nlri.encode(&mut encoded));
            assert_eq!(&encoded[..], &field[..], "/{length}");
        }
        assert_eq!(
            decode_prefixes(&[48, 0x20, 0x01], AddressKind::V6, false),
            Err(NlriError::Overrun)
        );
    }

    #[test]
    fn path_identifiers_are_read_when_negotiated() {
        let field = [0, 0, 0, 7, 8, 10];
        let prefixes = decode_prefixes(&field, AddressKind::V4, true).unwrap();
        assert_eq!(prefixes[0].path_id, Some(7));
        assert_eq!(prefixes[0].to_string(), "10.0.0.0/8 path-id 7");
    }

    #[test]
    fn bad_lengths_and_overruns_are_errors() {
        assert_eq!(
            decode_prefixes(&[33, 1, 2, 3, 4, 5], AddressKind::V4, false),
            Err(NlriError::BadLength)
        );
        assert_eq!(
            decode_prefixes(&[24, 10, 1], AddressKind::V4, false),
            Err(NlriError::Overrun)
        );
        assert_eq!(
            decode_prefixes(&[129], AddressKind::V6, false),
            Err(NlriError::BadLength)
        );
    }
}
