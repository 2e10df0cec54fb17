//! The pcapng file format (draft-ietf-opsawg-pcapng, "PCAP Now Generic (pcapng) Capture File
//! Format").
//!
//! ```text
//!  every block (§3.1)                      Enhanced Packet Block body (§4.3)
//!  0   block type                          0   interface id
//!  4   block total length                  4   timestamp, upper 32 bits
//!  8   body (total length - 12 octets)     8   timestamp, lower 32 bits
//!  ... block total length (again)          12  captured length
//!                                          16  original length
//!                                          20  packet data, padded to 32 bits; options
//! ```
//!
//! A file is a sequence of sections; each begins with a Section Header Block (§4.1) whose
//! byte-order magic fixes the byte order of every block up to the next section, and whose
//! Interface Description Blocks (§4.2) are numbered from 0 within that section. Packets come in
//! Enhanced Packet Blocks, Simple Packet Blocks (§4.4, interface 0, no timestamp) and the obsolete
//! Packet Block (Appendix A). Other blocks (name resolution, statistics, custom) are skipped.

use crate::capture::Frame;
use crate::cursor::{array_at, slice_at, u16_at, u32_at, ByteOrder};
use crate::{BlockDefect, CaptureError, StreamProblem};

pub(crate) const SECTION_HEADER_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

const INTERFACE_DESCRIPTION: u32 = 1;
const OBSOLETE_PACKET: u32 = 2;
const SIMPLE_PACKET: u32 = 3;
const ENHANCED_PACKET: u32 = 6;
const SECTION_HEADER: u32 = 0x0a0d_0d0a;

/// The smallest block: type, total length, trailing total length.
const MINIMUM_BLOCK_LENGTH: usize = 12;

/// Option codes of the Interface Description Block (§4.2).
const OPTION_END: u16 = 0;
const OPTION_TIMESTAMP_RESOLUTION: u16 = 9;
const OPTION_TIMESTAMP_OFFSET: u16 = 14;

/// How to turn an interface's timestamps into microseconds (`if_tsresol` and `if_tsoffset`).
#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: u32,
    resolution: Resolution,
    offset_seconds: i64,
}

/// Units of a timestamp: 10^-exponent or 2^-exponent seconds (`if_tsresol`, §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolution {
    Decimal(u8),
    Binary(u8),
}

impl Resolution {
    fn from_option(value: u8) -> Self {
        // The most significant bit selects base 2; the other seven bits are the exponent.
        if value & 0x80 == 0 {
            Self::Decimal(value)
        } else {
            Self::Binary(value & 0x7f)
        }
    }

    fn to_micros(self, units: u64) -> u64 {
        match self {
            Self::Decimal(exponent) if exponent <= 6 => {
                units.saturating_mul(10u64.pow(u32::from(6 - exponent)))
            }
            Self::Decimal(exponent) => match 10u64.checked_pow(u32::from(exponent - 6)) {
                Some(divisor) => units / divisor,
                None => 0,
            },
            Self::Binary(exponent) => {
                let micros = (u128::from(units) * 1_000_000) >> exponent;
                u64::try_from(micros).unwrap_or(u64::MAX)
            }
        }
    }
}

impl Interface {
    fn timestamp_micros(&self, high: u32, low: u32) -> u64 {
        let units = (u64::from(high) << 32) | u64::from(low);
        let micros = i128::from(self.resolution.to_micros(units))
            + i128::from(self.offset_seconds) * 1_000_000;
        u64::try_from(micros.max(0)).unwrap_or(u64::MAX)
    }
}

/// Calls `visit` for every packet block of a pcapng file, in file order.
pub(crate) fn read_pcapng<'a>(
    data: &'a [u8],
    problems: &mut Vec<StreamProblem>,
    mut visit: impl FnMut(Frame<'a>),
) -> Result<(), CaptureError> {
    let mut order = ByteOrder::Little;
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut offset = 0;
    let mut number: u64 = 0;
    while offset < data.len() {
        let available = data.len() - offset;
        let Some(type_octets) = array_at::<4>(data, offset) else {
            problems.push(StreamProblem::CaptureTruncated {
                offset,
                needed: MINIMUM_BLOCK_LENGTH,
                available,
            });
            break;
        };
        if type_octets == SECTION_HEADER_MAGIC {
            // The block type reads the same in both byte orders, so the section's byte order
            // can only be learned from the byte-order magic that follows the length.
            match array_at::<4>(data, offset + 8) {
                Some(magic) if u32::from_be_bytes(magic) == BYTE_ORDER_MAGIC => {
                    order = ByteOrder::Big;
                }
                Some(magic) if u32::from_le_bytes(magic) == BYTE_ORDER_MAGIC => {
                    order = ByteOrder::Little;
                }
                Some(magic) if offset == 0 => return Err(CaptureError::UnknownByteOrder { magic }),
                Some(magic) => {
                    problems.push(StreamProblem::DamagedBlock {
                        offset,
                        block_type: SECTION_HEADER,
                        defect: BlockDefect::UnknownByteOrder(magic),
                    });
                    break;
                }
                None if offset == 0 => {
                    return Err(CaptureError::TruncatedFileHeader {
                        what: "pcapng section header block",
                        needed: 28,
                        available,
                    })
                }
                None => {
                    problems.push(StreamProblem::CaptureTruncated {
                        offset,
                        needed: 28,
                        available,
                    });
                    break;
                }
            }
            interfaces.clear();
        }
        let block_type = order.u32(type_octets);
        let Some(total_length) = u32_at(data, offset + 4, order) else {
            problems.push(StreamProblem::CaptureTruncated {
                offset,
                needed: MINIMUM_BLOCK_LENGTH,
                available,
            });
            break;
        };
        let block_length = total_length as usize;
        if block_length < MINIMUM_BLOCK_LENGTH {
            problems.push(StreamProblem::DamagedBlock {
                offset,
                block_type,
                defect: BlockDefect::LengthTooSmall(total_length),
            });
            break;
        }
        if block_length > available {
            problems.push(StreamProblem::CaptureTruncated {
                offset,
                needed: block_length,
                available,
            });
            break;
        }
        let body = &data[offset + 8..offset + block_length - 4];
        let mut damaged = |defect| {
            problems.push(StreamProblem::DamagedBlock {
                offset,
                block_type,
                defect,
            });
        };
        match block_type {
            INTERFACE_DESCRIPTION => match interface_description(body, order) {
                Some(interface) => interfaces.push(interface),
                None => damaged(BlockDefect::BodyTooShort),
            },
            ENHANCED_PACKET | SIMPLE_PACKET | OBSOLETE_PACKET => {
                number += 1;
                match packet_block(block_type, body, order, &interfaces) {
                    Ok(packet) => visit(Frame {
                        number,
                        timestamp_micros: packet.timestamp_micros,
                        link_type: packet.link_type,
                        data: packet.data,
                        original_length: packet.original_length,
                    }),
                    Err(defect) => damaged(defect),
                }
            }
            _ => {}
        }
        offset += block_length;
    }
    Ok(())
}

fn interface_description(body: &[u8], order: ByteOrder) -> Option<Interface> {
    let link_type = u32::from(u16_at(body, 0, order)?);
    let mut interface = Interface {
        link_type,
        resolution: Resolution::Decimal(6),
        offset_seconds: 0,
    };
    // Options (§3.5): code, length, value padded to 32 bits; a damaged list just ends early.
    let mut position = 8;
    while let (Some(code), Some(length)) = (
        u16_at(body, position, order),
        u16_at(body, position + 2, order),
    ) {
        if code == OPTION_END {
            break;
        }
        let Some(value) = slice_at(body, position + 4, usize::from(length)) else {
            break;
        };
        match (code, value.len()) {
            (OPTION_TIMESTAMP_RESOLUTION, 1) => {
                interface.resolution = Resolution::from_option(value[0]);
            }
            (OPTION_TIMESTAMP_OFFSET, 8) => {
                if let Some(high) = u32_at(value, 0, order) {
                    let low = u32_at(value, 4, order).unwrap_or(0);
                    let combined = (u64::from(high) << 32) | u64::from(low);
                    // if_tsoffset is a signed 64-bit number of seconds.
                    interface.offset_seconds = combined as i64;
                }
            }
            _ => {}
        }
        position += 4 + usize::from(length).next_multiple_of(4);
    }
    Some(interface)
}

struct PacketBlock<'a> {
    timestamp_micros: u64,
    link_type: u32,
    data: &'a [u8],
    original_length: u32,
}

fn packet_block<'a>(
    block_type: u32,
    body: &'a [u8],
    order: ByteOrder,
    interfaces: &[Interface],
) -> Result<PacketBlock<'a>, BlockDefect> {
    let interface_for = |id: u32| {
        usize::try_from(id)
            .ok()
            .and_then(|index| interfaces.get(index))
            .copied()
            .ok_or(BlockDefect::UndefinedInterface(id))
    };
    let read = |offset| u32_at(body, offset, order).ok_or(BlockDefect::BodyTooShort);
    if block_type == SIMPLE_PACKET {
        // §4.4: no interface id (always 0), no timestamp, and the captured length is whatever
        // fits in the block.
        let original_length = read(0)?;
        let interface = interface_for(0)?;
        let room = body.len() - 4;
        let captured = room.min(original_length as usize);
        return Ok(PacketBlock {
            timestamp_micros: 0,
            link_type: interface.link_type,
            data: &body[4..4 + captured],
            original_length,
        });
    }
    // The obsolete Packet Block (Appendix A) has a 16-bit interface id and a 16-bit drop count
    // where the Enhanced Packet Block has a 32-bit interface id; the rest lines up.
    let interface_id = if block_type == OBSOLETE_PACKET {
        u32::from(u16_at(body, 0, order).ok_or(BlockDefect::BodyTooShort)?)
    } else {
        read(0)?
    };
    let timestamp_high = read(4)?;
    let timestamp_low = read(8)?;
    let captured_length = read(12)?;
    let original_length = read(16)?;
    let interface = interface_for(interface_id)?;
    let data = slice_at(body, 20, captured_length as usize)
        .ok_or(BlockDefect::PacketPastBlock { captured_length })?;
    Ok(PacketBlock {
        timestamp_micros: interface.timestamp_micros(timestamp_high, timestamp_low),
        link_type: interface.link_type,
        data,
        original_length,
    })
}

/// True when the data starts like a pcapng file.
pub(crate) fn is_pcapng(data: &[u8]) -> bool {
    array_at::<4>(data, 0) == Some(SECTION_HEADER_MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_and_binary_resolutions_convert_to_microseconds() {
        assert_eq!(Resolution::Decimal(6).to_micros(1_500_000), 1_500_000);
        assert_eq!(Resolution::Decimal(9).to_micros(1_500_000_000), 1_500_000);
        assert_eq!(Resolution::Decimal(3).to_micros(1_500), 1_500_000);
        assert_eq!(Resolution::Decimal(127).to_micros(u64::MAX), 0);
        assert_eq!(Resolution::Decimal(0).to_micros(u64::MAX), u64::MAX);
        assert_eq!(Resolution::Binary(10).to_micros(1024), 1_000_000);
        assert_eq!(Resolution::Binary(0).to_micros(u64::MAX), u64::MAX);
        assert_eq!(Resolution::from_option(0x8a), Resolution::Binary(10));
    }

    #[test]
    fn timestamp_offset_is_signed_seconds() {
        let interface = Interface {
            link_type: 1,
            resolution: Resolution::Decimal(6),
            offset_seconds: -2,
        };
        assert_eq!(interface.timestamp_micros(0, 3_000_000), 1_000_000);
        assert_eq!(interface.timestamp_micros(0, 1), 0);
    }

    #[test]
    fn section_with_one_simple_packet_is_read() {
        // SHB (little-endian, no options), IDB (raw IPv4), SPB with 5 octets of data.
        let mut file = Vec::new();
        file.extend_from_slice(&SECTION_HEADER_MAGIC);
        file.extend_from_slice(&28u32.to_le_bytes());
        file.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        file.extend_from_slice(&[1, 0, 0, 0]);
        file.extend_from_slice(&u64::MAX.to_le_bytes());
        file.extend_from_slice(&28u32.to_le_bytes());
        file.extend_from_slice(&1u32.to_le_bytes());
        file.extend_from_slice(&20u32.to_le_bytes());
        file.extend_from_slice(&228u16.to_le_bytes());
        file.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        file.extend_from_slice(&20u32.to_le_bytes());
        file.extend_from_slice(&3u32.to_le_bytes());
        file.extend_from_slice(&24u32.to_le_bytes());
        file.extend_from_slice(&5u32.to_le_bytes());
        file.extend_from_slice(&[1, 2, 3, 4, 5, 0, 0, 0]);
        file.extend_from_slice(&24u32.to_le_bytes());
        assert!(is_pcapng(&file));
        let mut frames = Vec::new();
        let mut problems = Vec::new();
        read_pcapng(&file, &mut problems, |frame| {
            frames.push((frame.number, frame.link_type, frame.data.to_vec()));
        })
        .expect("valid pcapng");
        assert_eq!(frames, vec![(1, 228, vec![1, 2, 3, 4, 5])]);
        assert!(problems.is_empty(), "{problems:?}");
    }
}
