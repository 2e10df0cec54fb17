//! MRT records read one at a time from any [`Read`], in memory bounded by the
//! largest record rather than by the dump: RIB dumps and update files run to
//! gigabytes once inflated.

use std::io::{BufRead, Read};

use crate::mrt::{read_record, CommonHeader, MrtError, MrtRecord, COMMON_HEADER_LENGTH};

/// Largest record body [`MrtStream`] accepts. A BGP4MP record holds one message
/// (at most 65,535 octets, RFC 8654) and a TABLE_DUMP_V2 RIB record one prefix
/// with an entry per peer: a few hundred kilobytes for the largest collectors.
/// A header announcing more is treated as damage, not as a reason to allocate.
pub const MAX_RECORD_BODY: usize = 16 << 20;

/// Iterator over the records of an MRT dump read from `reader`; see
/// [`mrt_stream`].
#[derive(Debug)]
pub struct MrtStream<R> {
    reader: R,
    body: Vec<u8>,
    offset: usize,
    record: u64,
    finished: bool,
}

/// Reads the records of an uncompressed MRT dump (RFC 6396) from `reader`,
/// as [`crate::mrt_records`] does from a slice, with the same errors and the
/// same recovery: a record shorter than its fields yields `Err` and the
/// iteration goes on; a dump cut inside a header or body, a body larger than
/// [`MAX_RECORD_BODY`] or a read error yields `Err` and ends it. Wrap gzip
/// input with [`inflate_if_gzip`] first.
pub fn mrt_stream<R: Read>(reader: R) -> MrtStream<R> {
    MrtStream {
        reader,
        body: Vec::new(),
        offset: 0,
        record: 0,
        finished: false,
    }
}

/// `reader` inflated when its data starts with the gzip magic `1f 8b` (RFC 1952
/// §2.3.1; concatenated members one after the other, as `gzip -d` does),
/// otherwise `reader` itself.
///
/// # Errors
/// A read error while looking at the first octets.
pub fn inflate_if_gzip<'a, R: BufRead + 'a>(mut reader: R) -> std::io::Result<Box<dyn Read + 'a>> {
    let start = reader.fill_buf()?;
    if start.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}

/// Fills `buffer` as far as the input goes; the count read.
fn read_up_to(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

impl<R: Read> MrtStream<R> {
    fn fail(&mut self, error: MrtError) -> Option<Result<MrtRecord, MrtError>> {
        self.finished = true;
        Some(Err(error))
    }

    fn read_error(&mut self, error: &std::io::Error) -> Option<Result<MrtRecord, MrtError>> {
        let record = self.record;
        self.fail(MrtError::Read {
            record,
            offset: self.offset,
            message: error.to_string(),
        })
    }
}

impl<R: Read> Iterator for MrtStream<R> {
    type Item = Result<MrtRecord, MrtError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let mut header = [0u8; COMMON_HEADER_LENGTH];
        let available = match read_up_to(&mut self.reader, &mut header) {
            Ok(available) => available,
            Err(error) => return self.read_error(&error),
        };
        if available == 0 {
            self.finished = true;
            return None;
        }
        self.record += 1;
        let offset = self.offset;
        if available < COMMON_HEADER_LENGTH {
            return self.fail(MrtError::TruncatedHeader {
                record: self.record,
                offset,
                available,
            });
        }
        let field = |at: usize, width: usize| {
            header[at..at + width]
                .iter()
                .fold(0u32, |value, octet| value << 8 | u32::from(*octet))
        };
        let header = CommonHeader {
            record: self.record,
            timestamp: field(0, 4),
            mrt_type: field(4, 2) as u16,
            subtype: field(6, 2) as u16,
            length: field(8, 4),
        };
        let declared = header.length as usize;
        if declared > MAX_RECORD_BODY {
            return self.fail(MrtError::RecordTooLarge {
                record: self.record,
                mrt_type: header.mrt_type,
                subtype: header.subtype,
                declared: header.length,
                limit: MAX_RECORD_BODY,
            });
        }
        self.body.resize(declared, 0);
        let present = match read_up_to(&mut self.reader, &mut self.body) {
            Ok(present) => present,
            Err(error) => return self.read_error(&error),
        };
        if present < declared {
            return self.fail(MrtError::TruncatedBody {
                record: self.record,
                mrt_type: header.mrt_type,
                subtype: header.subtype,
                offset,
                declared: header.length,
                available: present,
            });
        }
        self.offset = offset + COMMON_HEADER_LENGTH + declared;
        Some(read_record(header, &self.body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BGP4MP_MESSAGE_AS4 record around a KEEPALIVE.
    fn keepalive_record() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&64700u32.to_be_bytes());
        body.extend_from_slice(&65000u32.to_be_bytes());
        body.extend_from_slice(&[0, 0, 0, 1, 192, 0, 2, 2, 192, 0, 2, 1]);
        body.extend_from_slice(&[0xff; 16]);
        body.extend_from_slice(&[0, 19, 4]);
        let mut record = Vec::new();
        record.extend_from_slice(&1u32.to_be_bytes());
        record.extend_from_slice(&16u16.to_be_bytes());
        record.extend_from_slice(&4u16.to_be_bytes());
        record.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
        record.extend_from_slice(&body);
        record
    }

    #[test]
    fn the_stream_reads_what_the_slice_reader_reads() {
        let mut dump = keepalive_record();
        dump.extend(keepalive_record());
        // The second record cut short: both readers say so and stop.
        dump.extend_from_slice(&keepalive_record()[..20]);
        let from_slice: Vec<_> = crate::mrt_records(&dump).collect();
        let streamed: Vec<_> = mrt_stream(&dump[..]).collect();
        assert_eq!(streamed, from_slice);
        assert_eq!(streamed.len(), 3);
        assert!(matches!(
            streamed[2],
            Err(MrtError::TruncatedBody { record: 3, .. })
        ));
    }

    #[test]
    fn gzip_is_inflated_and_a_huge_body_is_refused_without_allocating() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, &keepalive_record()).unwrap();
        let compressed = encoder.finish().unwrap();
        let reader = inflate_if_gzip(&compressed[..]).unwrap();
        let records: Vec<_> = mrt_stream(reader).collect();
        assert_eq!(records.len(), 1);
        assert!(matches!(records[0], Ok(MrtRecord::Message(_))));

        let mut huge = keepalive_record()[..12].to_vec();
        huge[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        let records: Vec<_> = mrt_stream(&huge[..]).collect();
        assert!(
            matches!(
                records[..],
                [Err(MrtError::RecordTooLarge {
                    declared: u32::MAX,
                    ..
                })]
            ),
            "{records:?}"
        );
    }
}
