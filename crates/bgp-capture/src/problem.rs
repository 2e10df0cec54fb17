//! What went wrong while reading a capture, reported next to the messages instead of failing.

use std::fmt;
use std::net::IpAddr;

use crate::Flow;

/// Something in a capture that lost or damaged BGP data. Reading goes on after each of these;
/// the [`fmt::Display`] form is a one-line warning meant for people.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamProblem {
    /// The capture file ends inside a record or block header or body: nothing from `offset` on
    /// could be read (typical of a capture copied while still being written).
    CaptureTruncated {
        /// Offset of the record or block in the file.
        offset: usize,
        /// Octets the record or block needs.
        needed: usize,
        /// Octets left in the file.
        available: usize,
    },
    /// A pcapng block could not be used. When its length was readable the reader went on with
    /// the next block; see [`BlockDefect`] for which defects end the file.
    DamagedBlock {
        /// Offset of the block in the file.
        offset: usize,
        /// Block type (pcapng §4).
        block_type: u32,
        /// What is wrong with it.
        defect: BlockDefect,
    },
    /// Frames of this link type cannot be decoded; reported once per link type.
    UnsupportedLinkType {
        /// First frame with that link type.
        frame: u64,
        /// The LINKTYPE_ value.
        link_type: u32,
    },
    /// The capture kept fewer octets of a frame than were on the wire (snap length), so the
    /// TCP payload is cut short; the missing octets later show up as a [`StreamProblem::Gap`].
    TruncatedFrame {
        /// Frame number.
        frame: u64,
        /// Octets kept in the capture.
        captured_length: u32,
        /// Octets on the wire.
        original_length: u32,
        /// The TCP direction, or `None` when the cut falls inside the IP or TCP header.
        flow: Option<Flow>,
    },
    /// An IP fragment of a TCP packet. Later fragments carry no TCP header and are skipped;
    /// a first fragment's payload is used, but the rest of that segment is missing.
    Fragment {
        /// Frame number.
        frame: u64,
        /// IP source address.
        source: IpAddr,
        /// IP destination address.
        destination: IpAddr,
        /// True for the fragment at offset 0.
        first_fragment: bool,
    },
    /// Octets of a TCP direction never arrived: either the out-of-order buffer filled up or the
    /// capture ended while later segments were waiting. The message in progress is dropped
    /// (reported as [`StreamProblem::IncompleteMessage`]) and framing restarts at the next
    /// marker after the gap.
    Gap {
        /// The TCP direction.
        flow: Flow,
        /// Frame carrying the first octets after the gap.
        frame: u64,
        /// Sequence number of the first missing octet.
        expected_sequence: u32,
        /// Sequence number at which data resumes.
        resumed_sequence: u32,
    },
    /// After a gap the stream was scanned for the next 16-octet marker; these octets were
    /// skipped on the way (or, when no marker was found, until the capture ended).
    SkippedAfterGap {
        /// The TCP direction.
        flow: Flow,
        /// Frame in which the marker was found, or the last frame of the direction.
        frame: u64,
        /// Octets skipped.
        skipped_octets: u64,
        /// Whether a marker was found.
        marker_found: bool,
    },
    /// A direction ended (end of capture, new connection on the same ports, or a gap) holding
    /// part of a message.
    IncompleteMessage {
        /// The TCP direction.
        flow: Flow,
        /// Last frame that added octets to the message.
        frame: u64,
        /// Octets of the message that arrived.
        available_octets: usize,
        /// The header's length field, when at least 18 octets arrived.
        declared_length: Option<u16>,
        /// The header's type octet, when at least 19 octets arrived.
        message_type: Option<u8>,
    },
    /// A header's length field is below 19, so the stream cannot be framed any more. The rest of
    /// the direction's octets are returned as one damaged [`crate::CapturedMessage`] so that a
    /// decoder can report the header error.
    BadMessageLength {
        /// The TCP direction.
        flow: Flow,
        /// Frame that completed the bad header.
        frame: u64,
        /// The length field found.
        declared_length: u16,
    },
}

impl StreamProblem {
    /// The TCP direction the problem belongs to, when there is one.
    #[must_use]
    pub fn flow(&self) -> Option<Flow> {
        match self {
            Self::Gap { flow, .. }
            | Self::SkippedAfterGap { flow, .. }
            | Self::IncompleteMessage { flow, .. }
            | Self::BadMessageLength { flow, .. } => Some(*flow),
            Self::TruncatedFrame { flow, .. } => *flow,
            Self::CaptureTruncated { .. }
            | Self::DamagedBlock { .. }
            | Self::UnsupportedLinkType { .. }
            | Self::Fragment { .. } => None,
        }
    }
}

/// Why a pcapng block was unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockDefect {
    /// The block total length is below the 12-octet minimum, so the next block cannot be found;
    /// reading stops.
    LengthTooSmall(u32),
    /// A Section Header Block whose byte-order magic is neither 0x1A2B3C4D nor its byte swap;
    /// no length after it can be read, so reading stops.
    UnknownByteOrder([u8; 4]),
    /// The block body is shorter than the fixed fields of its type.
    BodyTooShort,
    /// The packet's captured length runs past the end of the block.
    PacketPastBlock {
        /// The captured length field.
        captured_length: u32,
    },
    /// The packet names an interface that no Interface Description Block of the section defined.
    UndefinedInterface(u32),
}

impl fmt::Display for BlockDefect {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LengthTooSmall(length) => {
                write!(
                    formatter,
                    "total length {length} is below the minimum of 12"
                )
            }
            Self::UnknownByteOrder(magic) => {
                write!(formatter, "byte-order magic {magic:02x?} is not 1a2b3c4d")
            }
            Self::BodyTooShort => formatter.write_str("body is shorter than its fixed fields"),
            Self::PacketPastBlock { captured_length } => write!(
                formatter,
                "captured length {captured_length} runs past the end of the block"
            ),
            Self::UndefinedInterface(interface) => {
                write!(formatter, "interface {interface} was never described")
            }
        }
    }
}

impl fmt::Display for StreamProblem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CaptureTruncated {
                offset,
                needed,
                available,
            } => write!(
                formatter,
                "capture cut short at offset {offset}: the next record needs {needed} octets \
                 but only {available} remain; the rest of the file was not read"
            ),
            Self::DamagedBlock {
                offset,
                block_type,
                defect,
            } => write!(
                formatter,
                "pcapng block of type {block_type:#010x} at offset {offset} skipped: {defect}"
            ),
            Self::UnsupportedLinkType { frame, link_type } => write!(
                formatter,
                "frame {frame}: link type {link_type} is not supported; its frames were skipped"
            ),
            Self::TruncatedFrame {
                frame,
                captured_length,
                original_length,
                flow,
            } => {
                write!(
                    formatter,
                    "frame {frame}: only {captured_length} of {original_length} octets were captured"
                )?;
                match flow {
                    Some(flow) => write!(formatter, " ({flow}); its payload is cut short"),
                    None => formatter.write_str(" and the cut falls inside the TCP/IP headers"),
                }
            }
            Self::Fragment {
                frame,
                source,
                destination,
                first_fragment,
            } => {
                let which = if *first_fragment {
                    "first IP fragment; only its part of the TCP segment was used"
                } else {
                    "later IP fragment without a TCP header; skipped"
                };
                write!(
                    formatter,
                    "frame {frame}: {source} -> {destination}: {which}"
                )
            }
            Self::Gap {
                flow,
                frame,
                expected_sequence,
                resumed_sequence,
            } => write!(
                formatter,
                "{flow}: {} octets missing (sequence {expected_sequence} to {resumed_sequence}), \
                 data resumes in frame {frame}",
                resumed_sequence.wrapping_sub(*expected_sequence)
            ),
            Self::SkippedAfterGap {
                flow,
                frame,
                skipped_octets,
                marker_found,
            } => {
                if *marker_found {
                    write!(
                        formatter,
                        "{flow}: skipped {skipped_octets} octets after a gap; framing resumed \
                         at a marker in frame {frame}"
                    )
                } else {
                    write!(
                        formatter,
                        "{flow}: skipped {skipped_octets} octets after a gap without finding a \
                         marker (last frame {frame})"
                    )
                }
            }
            Self::IncompleteMessage {
                flow,
                frame,
                available_octets,
                declared_length,
                message_type,
            } => {
                write!(
                    formatter,
                    "{flow}: incomplete message ({available_octets} octets"
                )?;
                if let Some(length) = declared_length {
                    write!(formatter, " of {length}")?;
                }
                if let Some(kind) = message_type {
                    write!(formatter, ", type {kind}")?;
                }
                write!(formatter, ") left over, last octets in frame {frame}")
            }
            Self::BadMessageLength {
                flow,
                frame,
                declared_length,
            } => write!(
                formatter,
                "{flow}: frame {frame}: message header has length {declared_length} (< 19); \
                 framing of this direction stopped and its remaining octets are returned as \
                 one damaged message"
            ),
        }
    }
}
