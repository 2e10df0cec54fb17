//! AS_PATH and AS4_PATH values (RFC 4271 §4.3, RFC 5065 §3, RFC 6793 §4).
//!
//! ```text
//! +------------------+------------------+-----------------------------+
//! | segment type (1) | AS count (1)     | AS numbers (2 or 4 each)    |  repeated
//! +------------------+------------------+-----------------------------+
//! ```
//!
//! A path is kept in its wire form, always with four-octet AS numbers: a path
//! from a four-octet session is a slice of the received message (no copy), a
//! two-octet one is widened once. Segments and numbers are read on demand.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::types::Asn;

/// An AS_PATH segment type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentKind {
    /// 1: unordered set, from aggregation.
    Set = 1,
    /// 2: ordered sequence.
    Sequence = 2,
    /// 3: confederation sequence (RFC 5065).
    ConfedSequence = 3,
    /// 4: confederation set (RFC 5065).
    ConfedSet = 4,
}

impl SegmentKind {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => SegmentKind::Set,
            2 => SegmentKind::Sequence,
            3 => SegmentKind::ConfedSequence,
            4 => SegmentKind::ConfedSet,
            _ => return None,
        })
    }

    /// Whether the segment is a confederation segment.
    pub fn is_confederation(self) -> bool {
        matches!(self, SegmentKind::ConfedSequence | SegmentKind::ConfedSet)
    }
}

/// Why an AS path value does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsPathError {
    /// Segment type other than 1 to 4 (RFC 7606 §7.2).
    BadSegmentType,
    /// A segment with no AS numbers (RFC 7606 §7.2).
    EmptySegment,
    /// A segment that runs past the end of the attribute.
    Overrun,
}

impl std::fmt::Display for AsPathError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            AsPathError::BadSegmentType => "segment type is not 1 to 4",
            AsPathError::EmptySegment => "segment holds no AS numbers",
            AsPathError::Overrun => "segment runs past the end of the value",
        })
    }
}

impl std::error::Error for AsPathError {}

/// What checking a received value's segments found.
#[derive(Debug, Clone, Copy)]
struct Numbers {
    /// How many AS numbers the segments hold.
    total: usize,
    /// Whether one of them is 0 (RFC 7607).
    has_zero: bool,
}

/// Checks the segments of a received value whose AS numbers are `width`
/// octets wide (RFC 4271 §4.3, RFC 7606 §7.2), counts the numbers and looks
/// for AS 0 among them in the same pass. Works on the borrowed octets:
/// nothing is sliced or copied until they are known to be good.
#[inline]
fn count_numbers(value: &[u8], width: usize) -> Result<Numbers, AsPathError> {
    let mut rest = value;
    let mut found = Numbers {
        total: 0,
        has_zero: false,
    };
    loop {
        match rest {
            [] => return Ok(found),
            [kind, count, tail @ ..] => {
                SegmentKind::from_code(*kind).ok_or(AsPathError::BadSegmentType)?;
                if *count == 0 {
                    return Err(AsPathError::EmptySegment);
                }
                let (numbers, after) = tail
                    .split_at_checked(usize::from(*count) * width)
                    .ok_or(AsPathError::Overrun)?;
                found.has_zero |= numbers
                    .chunks_exact(width)
                    .any(|number| number.iter().all(|octet| *octet == 0));
                found.total += usize::from(*count);
                rest = after;
            }
            [_] => return Err(AsPathError::Overrun),
        }
    }
}

/// A received path and whether it holds AS 0, found while checking it.
#[derive(Debug, Clone)]
pub(crate) struct ReceivedPath {
    /// The path.
    pub(crate) path: AsPath,
    /// Whether an AS number in it is 0 (RFC 7607: reserved, never in a path).
    pub(crate) has_zero_asn: bool,
}

/// One segment, borrowed from a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// The segment's type.
    pub kind: SegmentKind,
    numbers: &'a [u8],
}

impl<'a> Segment<'a> {
    /// The AS numbers, in order. Inlined: it is read in every route's
    /// path, often from other crates.
    #[inline]
    pub fn asns(&self) -> impl ExactSizeIterator<Item = Asn> + 'a {
        self.numbers
            .chunks_exact(4)
            .map(|chunk| Asn(u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])))
    }

    /// How many AS numbers the segment holds.
    #[inline]
    pub fn len(&self) -> usize {
        self.numbers.len() / 4
    }

    /// Whether the segment holds none (never true for a decoded path).
    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }
}

/// An AS path, with four-octet AS numbers.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct AsPath {
    /// Segments in wire form with four-octet numbers; always well formed.
    encoded: Bytes,
}

impl AsPath {
    /// The empty path (locally originated routes).
    pub fn empty() -> Self {
        AsPath::default()
    }

    /// A path from segments; a segment longer than 255 numbers is split, as the
    /// count octet cannot say more (RFC 4271 §4.3).
    pub fn from_segments<'s>(segments: impl IntoIterator<Item = (SegmentKind, &'s [Asn])>) -> Self {
        let mut encoded = BytesMut::new();
        for (kind, asns) in segments {
            for chunk in asns.chunks(255) {
                encoded.put_u8(kind as u8);
                encoded.put_u8(chunk.len() as u8);
                chunk.iter().for_each(|asn| encoded.put_u32(asn.0));
            }
        }
        AsPath {
            encoded: encoded.freeze(),
        }
    }

    /// A copy with octets of its own, so that keeping it keeps no received
    /// message alive: the (well-formed) octets appended to `store` and split
    /// off it. Copies split off one store share its one allocation, and
    /// cloning them is a reference count from the start (octets copied into
    /// a buffer of their own are given a shared header, an allocation, at
    /// their first clone).
    pub fn detached_in(&self, store: &mut BytesMut) -> Self {
        // An empty path (iBGP, our own routes) takes nothing: split off the
        // store, it would be given a shared header all the same.
        if self.encoded.is_empty() {
            return AsPath::empty();
        }
        store.extend_from_slice(&self.encoded);
        AsPath {
            encoded: store.split().freeze(),
        }
    }

    /// A path that is one AS_SEQUENCE.
    pub fn sequence(asns: &[Asn]) -> Self {
        if asns.is_empty() {
            return AsPath::empty();
        }
        AsPath::from_segments([(SegmentKind::Sequence, asns)])
    }

    /// Checks and keeps a received value, and says whether an AS number in
    /// it is 0 (RFC 7607), found in the same pass; a value whose segments do
    /// not parse is an error whatever numbers it holds. `four_octet` says how
    /// wide the numbers are on the wire (RFC 6793 §4: AS4_PATH always four).
    /// `shared` gives the value as a `Bytes` (a slice of the message), asked
    /// for only when the value is kept as it is. Inlined into the attribute
    /// decoder, which writes the result straight into place.
    #[inline]
    pub(crate) fn decode(
        value: &[u8],
        four_octet: bool,
        shared: impl FnOnce() -> Bytes,
    ) -> Result<ReceivedPath, AsPathError> {
        if four_octet {
            let checked = count_numbers(value, 4)?;
            return Ok(ReceivedPath {
                path: AsPath { encoded: shared() },
                has_zero_asn: checked.has_zero,
            });
        }
        // Widen two-octet numbers once, so that everything after sees one
        // form. The vector is allocated at its exact final size, so that
        // `Bytes` takes it over without another allocation.
        let checked = count_numbers(value, 2)?;
        let mut wide = Vec::with_capacity(value.len() + checked.total * 2);
        let mut rest = value;
        while let [kind, count, tail @ ..] = rest {
            // Checked above; a miss would only end the loop, never panic.
            let Some((numbers, after)) = tail.split_at_checked(usize::from(*count) * 2) else {
                break;
            };
            wide.extend_from_slice(&[*kind, *count]);
            for number in numbers.chunks_exact(2) {
                wide.extend_from_slice(&[0, 0, number[0], number[1]]);
            }
            rest = after;
        }
        Ok(ReceivedPath {
            path: AsPath {
                encoded: Bytes::from(wide),
            },
            has_zero_asn: checked.has_zero,
        })
    }

    /// Reads an AS_PATH or AS4_PATH value on its own, without the attribute
    /// header: the segment syntax of RFC 4271 §4.3 and nothing more. Whether
    /// the UPDATE carrying it is acceptable (RFC 7607's AS 0 rule, for one)
    /// is decided by the attribute decoder, not here.
    pub fn from_value(value: &[u8], four_octet: bool) -> Result<AsPath, AsPathError> {
        AsPath::decode(value, four_octet, || Bytes::copy_from_slice(value))
            .map(|received| received.path)
    }

    /// Whether any AS number is 0 (RFC 7607: reserved, never in a path).
    pub fn has_zero_asn(&self) -> bool {
        self.segments()
            .any(|segment| segment.asns().any(|asn| asn.0 == 0))
    }

    /// Appends the value with numbers of the given width; in two octets a
    /// four-octet number becomes AS_TRANS (RFC 6793 §4.2.2).
    pub(crate) fn encode(&self, four_octet: bool, destination: &mut BytesMut) {
        if four_octet {
            destination.put_slice(&self.encoded);
            return;
        }
        for segment in self.segments() {
            destination.put_u8(segment.kind as u8);
            destination.put_u8(segment.len() as u8);
            segment
                .asns()
                .for_each(|asn| destination.put_u16(asn.to_two_octet()));
        }
    }

    /// Octets of the value in the given width (with four-octet AS numbers,
    /// the octets the path is kept in).
    pub fn encoded_length(&self, four_octet: bool) -> usize {
        if four_octet {
            return self.encoded.len();
        }
        self.segments().map(|segment| 2 + 2 * segment.len()).sum()
    }

    /// The segments, in order.
    #[inline]
    pub fn segments(&self) -> impl Iterator<Item = Segment<'_>> {
        let mut rest: &[u8] = &self.encoded;
        std::iter::from_fn(move || {
            let [code, count, tail @ ..] = rest else {
                return None;
            };
            // The encoding is always well formed; were it not, the
            // iteration would end rather than panic.
            let (numbers, tail) = tail.split_at_checked(usize::from(*count) * 4)?;
            rest = tail;
            Some(Segment {
                kind: SegmentKind::from_code(*code)?,
                numbers,
            })
        })
    }

    /// Whether the path has no segments.
    pub fn is_empty(&self) -> bool {
        self.encoded.is_empty()
    }

    /// The path length used by the decision process (RFC 4271 §9.1.2.2 a): each
    /// AS in a sequence counts one, a set counts one, confederation segments
    /// count nothing (RFC 5065 §5.3).
    pub fn length(&self) -> usize {
        self.segments()
            .map(|segment| match segment.kind {
                SegmentKind::Sequence => segment.len(),
                SegmentKind::Set => 1,
                SegmentKind::ConfedSequence | SegmentKind::ConfedSet => 0,
            })
            .sum()
    }

    /// The first AS of the path, the neighbour AS (RFC 4271 §9.1.2.2 c).
    pub fn first_asn(&self) -> Option<Asn> {
        let segment = self
            .segments()
            .find(|segment| !segment.kind.is_confederation())?;
        (segment.kind == SegmentKind::Sequence)
            .then(|| segment.asns().next())
            .flatten()
    }

    /// The AS that originated the route: the last AS of a trailing sequence.
    pub fn origin_asn(&self) -> Option<Asn> {
        let last = self.segments().last()?;
        (last.kind == SegmentKind::Sequence)
            .then(|| last.asns().last())
            .flatten()
    }

    /// How many times `asn` appears, for loop detection (RFC 4271 §9.1.2).
    pub fn count(&self, asn: Asn) -> usize {
        self.segments()
            .flat_map(|segment| segment.asns())
            .filter(|candidate| *candidate == asn)
            .count()
    }

    /// This path with `asn` put in front of it (RFC 4271 §5.1.2).
    pub fn prepend(&self, asn: Asn) -> AsPath {
        let mut segments: Vec<(SegmentKind, Vec<Asn>)> = self
            .segments()
            .map(|segment| (segment.kind, segment.asns().collect()))
            .collect();
        match segments.first_mut() {
            Some((SegmentKind::Sequence, asns)) if asns.len() < 255 => asns.insert(0, asn),
            _ => segments.insert(0, (SegmentKind::Sequence, vec![asn])),
        }
        AsPath::from_segments(segments.iter().map(|(kind, asns)| (*kind, asns.as_slice())))
    }

    /// Whether any segment is a confederation segment.
    pub fn has_confederation_segments(&self) -> bool {
        self.segments()
            .any(|segment| segment.kind.is_confederation())
    }

    /// The path a two-octet speaker's route really took (RFC 6793 §4.2.3): the
    /// leading numbers of AS_PATH that AS4_PATH does not cover, then AS4_PATH.
    /// When AS_PATH is the shorter, AS4_PATH is ignored.
    pub fn merge_as4(&self, as4_path: &AsPath) -> AsPath {
        // Counting follows RFC 6793 §4.2.3: a set counts one, confederation segments none.
        let path_count = self.length();
        let as4_count = as4_path.length();
        if path_count < as4_count {
            return self.clone();
        }
        let mut keep = path_count - as4_count;
        let mut segments: Vec<(SegmentKind, Vec<Asn>)> = Vec::new();
        for segment in self.segments() {
            if keep == 0 {
                break;
            }
            match segment.kind {
                SegmentKind::Sequence => {
                    let taken: Vec<Asn> = segment.asns().take(keep).collect();
                    keep -= taken.len();
                    segments.push((segment.kind, taken));
                }
                SegmentKind::Set => {
                    keep -= 1;
                    segments.push((segment.kind, segment.asns().collect()));
                }
                SegmentKind::ConfedSequence | SegmentKind::ConfedSet => {
                    segments.push((segment.kind, segment.asns().collect()));
                }
            }
        }
        let mut merged: Vec<(SegmentKind, Vec<Asn>)> = segments;
        for segment in as4_path.segments() {
            match (merged.last_mut(), segment.kind) {
                // Join a cut sequence with the AS4_PATH sequence that continues it.
                (Some((SegmentKind::Sequence, asns)), SegmentKind::Sequence)
                    if asns.len() + segment.len() <= 255 =>
                {
                    asns.extend(segment.asns())
                }
                _ => merged.push((segment.kind, segment.asns().collect())),
            }
        }
        AsPath::from_segments(merged.iter().map(|(kind, asns)| (*kind, asns.as_slice())))
    }
}

impl fmt::Display for AsPath {
    /// The usual rendering: `65001 65002 {65003,65004} (65010)` with
    /// confederation sequences in parentheses and confederation sets in `[ ]`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for segment in self.segments() {
            if !first {
                formatter.write_str(" ")?;
            }
            first = false;
            let (open, close) = match segment.kind {
                SegmentKind::Sequence => ("", ""),
                SegmentKind::Set => ("{", "}"),
                SegmentKind::ConfedSequence => ("(", ")"),
                SegmentKind::ConfedSet => ("[", "]"),
            };
            formatter.write_str(open)?;
            // Sets are unordered (RFC 4271 §4.3), printed comma-separated as FRR does.
            let separator = if matches!(segment.kind, SegmentKind::Set | SegmentKind::ConfedSet) {
                ","
            } else {
                " "
            };
            for (index, asn) in segment.asns().enumerate() {
                if index > 0 {
                    formatter.write_str(separator)?;
                }
                write!(formatter, "{asn}")?;
            }
            formatter.write_str(close)?;
        }
        Ok(())
    }
}

impl fmt::Debug for AsPath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "AsPath({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(hex_value: &str, four_octet: bool) -> Result<AsPath, AsPathError> {
        let value = Bytes::from(hex::decode(hex_value).unwrap());
        AsPath::decode(&value, four_octet, || value.clone()).map(|received| received.path)
    }

    #[test]
    fn a_detached_path_is_equal_and_owns_its_octets() {
        let message = Bytes::from(hex::decode("ffff0202000000010000fde8ffff").unwrap());
        let value = message.slice(2..12);
        let received = AsPath::decode(&value, true, || value.clone()).unwrap().path;
        let detached = received.detached_in(&mut BytesMut::new());
        assert_eq!(detached, received);
        assert_eq!(detached.to_string(), "1 65000");
        assert_ne!(detached.encoded.as_ptr(), message[2..].as_ptr());
        assert_eq!(received.encoded.as_ptr(), message[2..].as_ptr());
    }

    #[test]
    fn paths_detached_into_one_store_sit_side_by_side_and_an_empty_one_takes_nothing() {
        let mut store = BytesMut::with_capacity(64);
        let empty = AsPath::empty().detached_in(&mut store);
        assert!(empty.is_empty());
        assert_eq!(store.capacity(), 64, "an empty path took room");
        let first = AsPath::sequence(&[Asn(1), Asn(2)]).detached_in(&mut store);
        let second = AsPath::sequence(&[Asn(3)]).detached_in(&mut store);
        assert_eq!(second.to_string(), "3");
        let gap = second.encoded.as_ptr() as usize - first.encoded.as_ptr() as usize;
        assert_eq!(gap, first.encoded_length(true));
    }

    #[test]
    fn as_zero_is_found_while_the_segments_are_checked() {
        // (hex value, four-octet numbers, AS 0 somewhere in it)
        let cases = [
            ("0202006400C80201012C", false, false),
            ("020200640000020100C8", false, true),
            ("0201000002010000", false, true),
            ("01010000", false, true),
            // Octets of zero that straddle two numbers are not AS 0 (256, 1).
            ("020201000001", false, false),
            ("0202000000010000fde8", true, false),
            ("0202000000010000fde8020100000000", true, true),
            ("020200000000000000fe", true, true),
            // Octets of zero that straddle two numbers are not AS 0.
            ("0202000100000000ff00", true, false),
        ];
        for (hex_value, four_octet, zero) in cases {
            let value = Bytes::from(hex::decode(hex_value).unwrap());
            let received = AsPath::decode(&value, four_octet, || value.clone()).unwrap();
            assert_eq!(received.has_zero_asn, zero, "{hex_value}");
            assert_eq!(received.path.has_zero_asn(), zero, "{hex_value}");
        }
    }

    #[test]
    fn a_path_that_does_not_parse_is_an_error_though_it_holds_as_zero() {
        // AS 0, then a segment of type 5; AS 0, then a segment cut short.
        for (hex_value, four_octet, error) in [
            ("020100000501", false, AsPathError::BadSegmentType),
            ("0201000000000501", true, AsPathError::BadSegmentType),
            ("020100000201", false, AsPathError::Overrun),
        ] {
            assert_eq!(path(hex_value, four_octet), Err(error), "{hex_value}");
        }
    }

    #[test]
    fn two_octet_paths_are_widened_and_narrowed_back() {
        let decoded = path("0202006400C80201012C", false).unwrap();
        assert_eq!(decoded.to_string(), "100 200 300");
        let mut encoded = BytesMut::new();
        decoded.encode(false, &mut encoded);
        assert_eq!(hex::encode_upper(&encoded), "0202006400C80201012C");
        assert_eq!(decoded.encoded_length(false), 10);
    }

    #[test]
    fn sets_and_confederations_render_and_count() {
        let decoded = path(
            "03010000FDE90201000000010102000000020000000304010000FDEA",
            true,
        )
        .unwrap();
        assert_eq!(decoded.to_string(), "(65001) 1 {2,3} [65002]");
        assert_eq!(decoded.length(), 2);
        assert_eq!(decoded.first_asn(), Some(Asn(1)));
    }

    #[test]
    fn malformed_paths_are_rejected() {
        assert_eq!(path("0500", false), Err(AsPathError::BadSegmentType));
        assert_eq!(path("0200", false), Err(AsPathError::EmptySegment));
        assert_eq!(path("020200C8", false), Err(AsPathError::Overrun));
        assert_eq!(path("02", false), Err(AsPathError::Overrun));
    }

    #[test]
    fn as4_path_replaces_the_as_trans_tail() {
        // RFC 6793 §4.2.3: AS_PATH 65001 23456 23456, AS4_PATH 4200000001 4200000002.
        let two = AsPath::sequence(&[Asn(65001), Asn::TRANS, Asn::TRANS]);
        let four = AsPath::sequence(&[Asn(4_200_000_001), Asn(4_200_000_002)]);
        assert_eq!(
            two.merge_as4(&four).to_string(),
            "65001 4200000001 4200000002"
        );
        // An AS4_PATH longer than AS_PATH is ignored.
        let short = AsPath::sequence(&[Asn::TRANS]);
        assert_eq!(short.merge_as4(&four), short);
    }

    #[test]
    fn prepend_extends_the_leading_sequence() {
        let original = AsPath::sequence(&[Asn(2)]);
        assert_eq!(original.prepend(Asn(1)).to_string(), "1 2");
        assert_eq!(AsPath::empty().prepend(Asn(7)).to_string(), "7");
    }
}
