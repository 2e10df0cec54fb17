//! The classic libpcap file format (draft-ietf-opsawg-pcap, "PCAP Capture File Format").
//!
//! ```text
//!  file header (24 octets)                     record header (16 octets)
//!  0      magic number                         0   timestamp, seconds
//!  4      major version | minor version        4   timestamp, micro- or nanoseconds
//!  8      reserved (thiszone)                  8   captured length
//!  12     reserved (sigfigs)                   12  original length
//!  16     snap length                          16  packet data (captured length octets)
//!  20     link type and FCS bits
//! ```
//!
//! All fields are in the byte order of the host that wrote the file; the magic number tells
//! which, and whether the second timestamp field counts microseconds (0xA1B2C3D4) or
//! nanoseconds (0xA1B23C4D).

use crate::capture::Frame;
use crate::cursor::{u32_at, ByteOrder};
use crate::{CaptureError, StreamProblem};

const FILE_HEADER_LENGTH: usize = 24;
const RECORD_HEADER_LENGTH: usize = 16;

/// How a pcap file's magic number says to read the rest of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PcapFlavor {
    pub(crate) order: ByteOrder,
    pub(crate) nanoseconds: bool,
}

/// Recognises the four pcap magic numbers (two resolutions, two byte orders).
pub(crate) fn pcap_flavor(magic: [u8; 4]) -> Option<PcapFlavor> {
    let (order, nanoseconds) = match magic {
        [0xa1, 0xb2, 0xc3, 0xd4] => (ByteOrder::Big, false),
        [0xd4, 0xc3, 0xb2, 0xa1] => (ByteOrder::Little, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (ByteOrder::Big, true),
        [0x4d, 0x3c, 0xb2, 0xa1] => (ByteOrder::Little, true),
        _ => return None,
    };
    Some(PcapFlavor { order, nanoseconds })
}

/// Calls `visit` for every record of a pcap file, in file order.
pub(crate) fn read_pcap<'a>(
    data: &'a [u8],
    flavor: PcapFlavor,
    problems: &mut Vec<StreamProblem>,
    mut visit: impl FnMut(Frame<'a>),
) -> Result<(), CaptureError> {
    let order = flavor.order;
    let Some(link_field) = u32_at(data, 20, order) else {
        return Err(CaptureError::TruncatedFileHeader {
            what: "pcap file header",
            needed: FILE_HEADER_LENGTH,
            available: data.len(),
        });
    };
    // The upper 16 bits carry FCS information (draft-ietf-opsawg-pcap §4, "LinkType and
    // additional information"); the link type proper is the lower 16.
    let link_type = link_field & 0xffff;
    let mut offset = FILE_HEADER_LENGTH;
    let mut number: u64 = 0;
    while offset < data.len() {
        number += 1;
        let available = data.len() - offset;
        let header = (
            u32_at(data, offset, order),
            u32_at(data, offset + 4, order),
            u32_at(data, offset + 8, order),
            u32_at(data, offset + 12, order),
        );
        let (Some(seconds), Some(fraction), Some(captured_length), Some(original_length)) = header
        else {
            problems.push(StreamProblem::CaptureTruncated {
                offset,
                needed: RECORD_HEADER_LENGTH,
                available,
            });
            break;
        };
        let body_start = offset + RECORD_HEADER_LENGTH;
        let needed = RECORD_HEADER_LENGTH.saturating_add(captured_length as usize);
        let Some(packet) = data.get(body_start..offset.saturating_add(needed)) else {
            problems.push(StreamProblem::CaptureTruncated {
                offset,
                needed,
                available,
            });
            break;
        };
        let micros = if flavor.nanoseconds {
            fraction / 1000
        } else {
            fraction
        };
        visit(Frame {
            number,
            timestamp_micros: u64::from(seconds) * 1_000_000 + u64::from(micros),
            link_type,
            data: packet,
            original_length,
        });
        offset += needed;
    }
    Ok(())
}
