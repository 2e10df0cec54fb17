//! The capture entry point: format detection, frame decoding, reassembly, ordering.

use std::collections::HashSet;

use crate::cursor::array_at;
use crate::packet::{decode_frame, Decoded};
use crate::pcap::{pcap_flavor, read_pcap};
use crate::pcapng::{is_pcapng, read_pcapng};
use crate::tcp::{FrameStamp, Reassembler};
use crate::{CaptureError, CapturedMessage, Origin, StreamProblem};

/// One packet record of a capture file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame<'a> {
    /// 1-based position among the file's packet records.
    pub(crate) number: u64,
    pub(crate) timestamp_micros: u64,
    pub(crate) link_type: u32,
    /// The captured octets (possibly fewer than were on the wire).
    pub(crate) data: &'a [u8],
    /// Octets the packet had on the wire.
    pub(crate) original_length: u32,
}

/// The BGP messages of a capture and what got in the way of reading them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureMessages {
    /// Messages in the order their last octet arrived (by frame number; messages completed by
    /// the same frame keep stream order).
    pub messages: Vec<CapturedMessage>,
    /// Problems of frames and streams in the order they were noticed, followed by problems of
    /// the capture file itself ([`StreamProblem::CaptureTruncated`],
    /// [`StreamProblem::DamagedBlock`]).
    pub problems: Vec<StreamProblem>,
}

/// Reads a pcap (both byte orders, microsecond and nanosecond magic) or pcapng file (SHB of
/// either byte order, IDB, EPB, SPB, OPB; unknown blocks skipped) and returns the BGP messages
/// carried on TCP port `port` (either side), in the order their last octet arrived.
///
/// Each TCP direction is reassembled by sequence number: retransmitted and duplicate segments
/// are ignored, out-of-order segments are buffered up to a bound, and gaps are reported. The
/// first segment seen in a direction sets its starting sequence number (a SYN counts as one
/// octet). A message is complete when the stream holds as many octets as its header's length
/// field (octets 16..18) says; the marker is left for the decoder to check. After a gap, framing
/// resumes at the next run of 16 0xFF octets, the only way back into a byte stream whose
/// message boundaries were lost.
///
/// Returns `Err` only when `data` is not a capture (unknown magic number, file header cut
/// short); everything else is reported in [`CaptureMessages::problems`]. Gzip-compressed
/// captures must be unwrapped first with [`crate::decompress_if_gzip`].
pub fn messages_from_capture(data: &[u8], port: u16) -> Result<CaptureMessages, CaptureError> {
    let mut output = CaptureMessages::default();
    let mut problems = Vec::new();
    let mut reassembler = Reassembler::default();
    let mut unsupported_link_types = HashSet::new();
    let mut visit = |frame: Frame<'_>| {
        handle_frame(
            frame,
            port,
            &mut reassembler,
            &mut unsupported_link_types,
            &mut output,
        );
    };
    // Both readers report file-level damage into `problems`, which is merged after the frames'
    // own problems: the closure above already borrows `output` mutably.
    if is_pcapng(data) {
        read_pcapng(data, &mut problems, &mut visit)?;
    } else {
        let magic = array_at::<4>(data, 0);
        match magic.and_then(pcap_flavor) {
            Some(flavor) => read_pcap(data, flavor, &mut problems, &mut visit)?,
            None => {
                return Err(CaptureError::UnknownFormat {
                    magic: data.iter().take(4).copied().collect(),
                })
            }
        }
    }
    reassembler.finish(&mut output);
    output.problems.append(&mut problems);
    // Messages completed at the end of the capture (across gaps, or the damaged remainder of a
    // stopped flow) carry the frame of their last octet; a stable sort puts them in place.
    output.messages.sort_by_key(|message| match message.origin {
        Origin::Pcap { frame, .. } => frame,
        Origin::Mrt(_) => 0,
    });
    Ok(output)
}

fn handle_frame(
    frame: Frame<'_>,
    port: u16,
    reassembler: &mut Reassembler,
    unsupported_link_types: &mut HashSet<u32>,
    output: &mut CaptureMessages,
) {
    let truncated = (frame.data.len() as u64) < u64::from(frame.original_length);
    let report_truncated = |flow, output: &mut CaptureMessages| {
        output.problems.push(StreamProblem::TruncatedFrame {
            frame: frame.number,
            captured_length: u32::try_from(frame.data.len()).unwrap_or(u32::MAX),
            original_length: frame.original_length,
            flow,
        });
    };
    match decode_frame(frame.link_type, frame.data) {
        Decoded::Ignored => {}
        Decoded::UnsupportedLinkType => {
            if unsupported_link_types.insert(frame.link_type) {
                output.problems.push(StreamProblem::UnsupportedLinkType {
                    frame: frame.number,
                    link_type: frame.link_type,
                });
            }
        }
        Decoded::TcpHeaderCut => {
            if truncated {
                report_truncated(None, output);
            }
        }
        Decoded::LaterFragment {
            source,
            destination,
        } => output.problems.push(StreamProblem::Fragment {
            frame: frame.number,
            source,
            destination,
            first_fragment: false,
        }),
        Decoded::Segment {
            segment,
            first_fragment,
        } => {
            if segment.flow.source.port() != port && segment.flow.destination.port() != port {
                return;
            }
            if first_fragment {
                output.problems.push(StreamProblem::Fragment {
                    frame: frame.number,
                    source: segment.flow.source.ip(),
                    destination: segment.flow.destination.ip(),
                    first_fragment: true,
                });
            }
            if truncated && !segment.payload.is_empty() {
                report_truncated(Some(segment.flow), output);
            }
            let stamp = FrameStamp {
                number: frame.number,
                timestamp_micros: frame.timestamp_micros,
            };
            reassembler.handle(stamp, &segment, output);
        }
    }
}
