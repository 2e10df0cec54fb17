//! Counting an UPDATE's prefixes from its bytes, without decoding it: what a
//! harness reader does at line rate (the null receiver, the fan-out clients).

/// The prefixes an UPDATE body (the octets after the 19-octet header)
/// withdraws and announces in its IPv4 fields (RFC 4271 §4.3): the Withdrawn
/// Routes field's and the NLRI field's, each prefix a length in bits and that
/// many bits rounded up to whole octets. A body that does not add up counts
/// what can be read of it.
pub fn update_prefix_counts(body: &[u8]) -> (u64, u64) {
    let withdrawn_length = body.get(..2).map_or(0, |length| {
        usize::from(u16::from_be_bytes([length[0], length[1]]))
    });
    let withdrawn = body.get(2..2 + withdrawn_length).map_or(0, count_prefixes);
    (withdrawn, nlri_prefixes(body))
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
}
