//! Counting an UPDATE's prefixes from its bytes, without decoding it: what a
//! harness reader does at line rate (the null receiver, the fan-out clients).

/// BGP path attribute type codes of MP_REACH_NLRI and MP_UNREACH_NLRI
/// (RFC 4760 §3, §4).
const MP_REACH_NLRI: u8 = 14;
const MP_UNREACH_NLRI: u8 = 15;

/// The Extended Length bit of the attribute flags (RFC 4271 §4.3).
const EXTENDED_LENGTH: u8 = 0x10;

/// The prefixes an UPDATE body (the octets after the 19-octet header)
/// withdraws and announces: in its IPv4 fields (RFC 4271 §4.3), the
/// Withdrawn Routes field's and the NLRI field's, and in MP_UNREACH_NLRI and
/// MP_REACH_NLRI (RFC 4760: an IPv6 table), each prefix a length in bits and
/// that many bits rounded up to whole octets. A body that does not add up
/// counts what can be read of it.
pub fn update_prefix_counts(body: &[u8]) -> (u64, u64) {
    let withdrawn_length = body.get(..2).map_or(0, |length| {
        usize::from(u16::from_be_bytes([length[0], length[1]]))
    });
    let withdrawn = body.get(2..2 + withdrawn_length).map_or(0, count_prefixes);
    let (mp_withdrawn, mp_announced) = multiprotocol_prefixes(body, withdrawn_length);
    (withdrawn + mp_withdrawn, nlri_prefixes(body) + mp_announced)
}

/// The prefixes MP_UNREACH_NLRI withdraws and MP_REACH_NLRI announces in the
/// path attributes of `body`, whose Withdrawn Routes field is
/// `withdrawn_length` octets long.
fn multiprotocol_prefixes(body: &[u8], withdrawn_length: usize) -> (u64, u64) {
    let at = 2 + withdrawn_length;
    let Some(length) = body.get(at..at + 2) else {
        return (0, 0);
    };
    let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
    let Some(mut attributes) = body.get(at + 2..at + 2 + length) else {
        return (0, 0);
    };
    let (mut withdrawn, mut announced) = (0, 0);
    while let [flags, type_code, rest @ ..] = attributes {
        let (value_length, rest) = if flags & EXTENDED_LENGTH != 0 {
            match rest {
                [high, low, rest @ ..] => (usize::from(u16::from_be_bytes([*high, *low])), rest),
                _ => break,
            }
        } else {
            match rest {
                [length, rest @ ..] => (usize::from(*length), rest),
                _ => break,
            }
        };
        let Some(value) = rest.get(..value_length) else {
            break;
        };
        match *type_code {
            // AFI, SAFI, next hop length, next hop, reserved octet, NLRI.
            MP_REACH_NLRI => {
                if let Some(next_hop) = value.get(3) {
                    let nlri_at = 4 + usize::from(*next_hop) + 1;
                    announced += value.get(nlri_at..).map_or(0, count_prefixes);
                }
            }
            // AFI, SAFI, withdrawn routes.
            MP_UNREACH_NLRI => withdrawn += value.get(3..).map_or(0, count_prefixes),
            _ => {}
        }
        attributes = &rest[value_length..];
    }
    (withdrawn, announced)
}

/// The prefixes packed in `field`.
fn count_prefixes(field: &[u8]) -> u64 {
    let mut at = 0;
    let mut count = 0;
    while let Some(bits) = field.get(at) {
        at += 1 + usize::from(*bits).div_ceil(8);
        count += 1;
    }
    count
}

/// The prefixes in an UPDATE body's NLRI field: what follows the withdrawn
/// routes and the path attributes. 0 for a body that does not add up.
fn nlri_prefixes(body: &[u8]) -> u64 {
    let length_at = |at: usize| -> Option<usize> {
        Some(usize::from(u16::from_be_bytes([
            *body.get(at)?,
            *body.get(at + 1)?,
        ])))
    };
    let Some(withdrawn) = length_at(0) else {
        return 0;
    };
    let Some(attributes) = length_at(2 + withdrawn) else {
        return 0;
    };
    body.get(4 + withdrawn + attributes..)
        .map_or(0, count_prefixes)
}

/// The three fields of one of the harness's own well-formed UPDATEs, the
/// 19-octet header included in `update` (RFC 4271 §4.3): Withdrawn Routes,
/// Path Attributes, NLRI.
///
/// # Panics
/// On an UPDATE whose lengths do not add up: the harness only splits the
/// messages it encoded itself.
pub fn update_fields(update: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let body = &update[19..];
    let withdrawn = usize::from(u16::from_be_bytes([body[0], body[1]]));
    let attributes = usize::from(u16::from_be_bytes([
        body[2 + withdrawn],
        body[3 + withdrawn],
    ]));
    (
        &body[2..2 + withdrawn],
        &body[4 + withdrawn..4 + withdrawn + attributes],
        &body[4 + withdrawn + attributes..],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_counted_from_the_nlri_field() {
        // No withdrawn routes, 3 octets of attributes, then 10.0.0.0/8 and
        // 192.0.2.0/24.
        let body = [0, 0, 0, 3, 0x40, 1, 0, 8, 10, 24, 192, 0, 2];
        assert_eq!(update_prefix_counts(&body), (0, 2));
        assert_eq!(update_prefix_counts(&[0, 0, 0, 0]), (0, 0), "End-of-RIB");
        assert_eq!(update_prefix_counts(&[0]), (0, 0), "truncated");
        // Withdrawing 10.0.0.0/8 and 192.0.2.0/24, announcing nothing.
        let withdrawal = [0, 6, 8, 10, 24, 192, 0, 2, 0, 0];
        assert_eq!(update_prefix_counts(&withdrawal), (2, 0));
    }

    #[test]
    fn prefixes_are_counted_from_the_multiprotocol_attributes() {
        // ORIGIN, then MP_REACH_NLRI (IPv6 unicast, next hop 2001:db8::1)
        // announcing 2001:db8::/32 and 2001:db8:1::/48.
        let mut reach = vec![0, 2, 1, 16, 0x20, 0x01, 0x0d, 0xb8];
        reach.extend_from_slice(&[0; 11]);
        reach.push(1); // the next hop's last octet
        reach.push(0); // reserved
        reach.extend_from_slice(&[32, 0x20, 0x01, 0x0d, 0xb8]);
        reach.extend_from_slice(&[48, 0x20, 0x01, 0x0d, 0xb8, 0, 1]);
        let mut attributes = vec![0x40, 1, 1, 0, 0x80, 14, reach.len() as u8];
        attributes.extend_from_slice(&reach);
        let mut body = vec![0, 0, 0, attributes.len() as u8];
        body.extend_from_slice(&attributes);
        assert_eq!(update_prefix_counts(&body), (0, 2));
        // MP_UNREACH_NLRI with the extended length bit withdrawing one /32.
        let body = [
            0, 0, 0, 12, 0x90, 15, 0, 8, 0, 2, 1, 32, 0x20, 0x01, 0x0d, 0xb8,
        ];
        assert_eq!(update_prefix_counts(&body), (1, 0));
        // The IPv6 End-of-RIB: an empty MP_UNREACH_NLRI (RFC 4724 §2).
        let body = [0, 0, 0, 6, 0x80, 15, 3, 0, 2, 1];
        assert_eq!(update_prefix_counts(&body), (0, 0));
        // An attribute longer than what is left counts nothing.
        let body = [0, 0, 0, 4, 0x80, 14, 40, 0];
        assert_eq!(update_prefix_counts(&body), (0, 0));
    }
}
