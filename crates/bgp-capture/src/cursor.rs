//! Bounds-checked reading of fixed-size integers from a byte slice.
//!
//! Every read returns `None` instead of panicking when the slice is too short, which is what lets
//! the format readers treat hostile input as ordinary data.

/// Byte order of the multi-octet fields of a capture file. Packet headers and MRT are always
/// big-endian; pcap and pcapng files are written in the byte order of the capturing host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteOrder {
    Big,
    Little,
}

impl ByteOrder {
    pub(crate) fn u16(self, octets: [u8; 2]) -> u16 {
        match self {
            Self::Big => u16::from_be_bytes(octets),
            Self::Little => u16::from_le_bytes(octets),
        }
    }

    pub(crate) fn u32(self, octets: [u8; 4]) -> u32 {
        match self {
            Self::Big => u32::from_be_bytes(octets),
            Self::Little => u32::from_le_bytes(octets),
        }
    }
}

/// Reads the fixed-size array at `offset`, or `None` if the slice ends before it.
pub(crate) fn array_at<const N: usize>(data: &[u8], offset: usize) -> Option<[u8; N]> {
    let end = offset.checked_add(N)?;
    data.get(offset..end)?.try_into().ok()
}

pub(crate) fn u8_at(data: &[u8], offset: usize) -> Option<u8> {
    data.get(offset).copied()
}

pub(crate) fn u16_at(data: &[u8], offset: usize, order: ByteOrder) -> Option<u16> {
    array_at(data, offset).map(|octets| order.u16(octets))
}

pub(crate) fn u32_at(data: &[u8], offset: usize, order: ByteOrder) -> Option<u32> {
    array_at(data, offset).map(|octets| order.u32(octets))
}

pub(crate) fn be16_at(data: &[u8], offset: usize) -> Option<u16> {
    u16_at(data, offset, ByteOrder::Big)
}

pub(crate) fn be32_at(data: &[u8], offset: usize) -> Option<u32> {
    u32_at(data, offset, ByteOrder::Big)
}

/// The sub-slice `offset..offset + length`, or `None` if it does not fit.
pub(crate) fn slice_at(data: &[u8], offset: usize, length: usize) -> Option<&[u8]> {
    data.get(offset..offset.checked_add(length)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_byte_orders() {
        let data = [0x12, 0x34, 0x56, 0x78];
        assert_eq!(u32_at(&data, 0, ByteOrder::Big), Some(0x1234_5678));
        assert_eq!(u32_at(&data, 0, ByteOrder::Little), Some(0x7856_3412));
        assert_eq!(u16_at(&data, 2, ByteOrder::Little), Some(0x7856));
    }

    #[test]
    fn out_of_range_reads_are_none_not_panics() {
        let data = [1, 2, 3];
        assert_eq!(be32_at(&data, 0), None);
        assert_eq!(be16_at(&data, 2), None);
        assert_eq!(u8_at(&data, 3), None);
        assert_eq!(slice_at(&data, usize::MAX, 2), None);
        assert_eq!(array_at::<2>(&data, usize::MAX), None);
    }
}
