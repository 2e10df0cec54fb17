//! Per-direction TCP reassembly (RFC 9293 §3.4 sequence numbers) and BGP framing
//! (RFC 4271 §4.1 header length).
//!
//! Each direction keeps the sequence number of the next octet it expects. A segment is placed
//! relative to it using serial-number arithmetic (RFC 1982), so streams that wrap past 2^32
//! reassemble like any other:
//!
//! ```text
//!   already delivered  │ next expected
//!   ───────────────────┼──────────────────────────────►
//!   [dup][dup]     [overlap│new]     [future] [future]   ← buffered until the hole fills
//! ```
//!
//! * octets before `next` are retransmissions and are dropped;
//! * a segment reaching past `next` delivers its new part, then any buffered segments that
//!   have become contiguous;
//! * a segment starting after `next` waits in a buffer bounded by [`MAXIMUM_PENDING_OCTETS`] and
//!   [`MAXIMUM_PENDING_SEGMENTS`]; when either bound is passed, or the capture ends, the hole is
//!   declared a gap and delivery resumes at the earliest buffered segment.
//!
//! The first segment seen in a direction sets where its stream starts; a SYN counts as one
//! octet, as RFC 9293 §3.4 has it. Data carried in a SYN is placed by the segment that follows
//! it, because some capture generators number such data from the SYN itself.
//!
//! Delivered octets go to a framer that cuts a message whenever it holds as many octets as the
//! header's length field says. After a gap the octets in between belong to no known message, so
//! the framer skips to the next marker (a run of 16 or more 0xFF octets followed by another
//! octet; the last 16 are taken as the marker). A length field below 19 stops framing for good.

use std::collections::{BTreeMap, HashMap};

use crate::packet::Segment;
use crate::{CaptureMessages, CapturedMessage, Flow, Origin, StreamProblem, BGP_HEADER_LENGTH};

/// Out-of-order octets buffered per direction before the missing ones are given up on. Far
/// above any TCP window a BGP speaker uses, and small enough that hostile input cannot make a
/// direction hold more than this.
pub(crate) const MAXIMUM_PENDING_OCTETS: usize = 4 << 20;
/// Out-of-order segments buffered per direction, bounding the map as well as its octets.
pub(crate) const MAXIMUM_PENDING_SEGMENTS: usize = 4096;

const MARKER_LENGTH: usize = 16;

/// The capture frame an octet arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameStamp {
    pub(crate) number: u64,
    pub(crate) timestamp_micros: u64,
}

/// Reassembles every direction seen and frames its stream into messages.
#[derive(Debug, Default)]
pub(crate) struct Reassembler {
    index: HashMap<Flow, usize>,
    /// Directions in order of first appearance, so that results do not depend on hashing.
    directions: Vec<Direction>,
}

impl Reassembler {
    /// Takes one segment of a direction.
    pub(crate) fn handle(
        &mut self,
        stamp: FrameStamp,
        segment: &Segment<'_>,
        output: &mut CaptureMessages,
    ) {
        let next_index = self.directions.len();
        let index = *self.index.entry(segment.flow).or_insert(next_index);
        if index == next_index {
            self.directions.push(Direction::new(segment.flow));
        }
        self.directions[index].handle(stamp, segment, output);
    }

    /// Ends every direction: buffered segments are delivered across their gaps, and left-over
    /// octets are reported.
    pub(crate) fn finish(self, output: &mut CaptureMessages) {
        for mut direction in self.directions {
            direction.finish(output);
        }
    }
}

#[derive(Debug)]
struct PendingSegment {
    data: Vec<u8>,
    stamp: FrameStamp,
}

#[derive(Debug)]
struct Direction {
    flow: Flow,
    /// Sequence number of the next octet expected; `None` until a SYN or a segment with data.
    next_sequence: Option<u32>,
    /// Initial sequence number from the SYN, to tell a retransmitted SYN from a new connection.
    syn_sequence: Option<u32>,
    /// Octets delivered so far; the key space of `pending`, which unlike sequence numbers
    /// never wraps.
    delivered: u64,
    pending: BTreeMap<u64, PendingSegment>,
    pending_octets: usize,
    /// Data carried by the SYN, until the next segment shows where it belongs.
    held_syn_data: Option<PendingSegment>,
    framer: Framer,
}

impl Direction {
    fn new(flow: Flow) -> Self {
        Self {
            flow,
            next_sequence: None,
            syn_sequence: None,
            delivered: 0,
            pending: BTreeMap::new(),
            pending_octets: 0,
            held_syn_data: None,
            framer: Framer::default(),
        }
    }

    fn handle(&mut self, stamp: FrameStamp, segment: &Segment<'_>, output: &mut CaptureMessages) {
        let mut data_sequence = segment.sequence;
        if segment.syn {
            if self.syn_sequence == Some(segment.sequence) {
                // A retransmitted SYN brings nothing new.
                return;
            }
            if self.next_sequence.is_some() || self.held_syn_data.is_some() {
                // Same addresses and ports, new initial sequence number: a new connection.
                self.finish(output);
                *self = Self::new(self.flow);
            }
            // The SYN occupies one sequence number; data, if any, follows it.
            data_sequence = segment.sequence.wrapping_add(1);
            self.syn_sequence = Some(segment.sequence);
            self.next_sequence = Some(data_sequence);
            if !segment.payload.is_empty() {
                // Some capture generators (the pmacct test captures among them) put data in a
                // SYN at the SYN's own sequence number. Which numbering the sender used shows
                // only in the next segment, so the data waits for it.
                self.held_syn_data = Some(PendingSegment {
                    data: segment.payload.to_vec(),
                    stamp,
                });
                return;
            }
        }
        if segment.payload.is_empty() {
            return;
        }
        if let Some(held) = self.held_syn_data.take() {
            self.release_syn_data(held, Some(data_sequence), output);
        }
        self.accept(data_sequence, segment.payload, stamp, output);
    }

    /// Places data that came with the SYN: right after the SYN's sequence number as RFC 9293
    /// §3.4 has it, or at that number itself when the segment that follows starts exactly
    /// where such numbering would put it.
    fn release_syn_data(
        &mut self,
        held: PendingSegment,
        following_sequence: Option<u32>,
        output: &mut CaptureMessages,
    ) {
        if let Some(syn) = self.syn_sequence {
            let length = held.data.len() as u32;
            if following_sequence == Some(syn.wrapping_add(length)) {
                self.next_sequence = Some(syn);
            }
        }
        let start = self.next_sequence.unwrap_or_default();
        self.accept(start, &held.data, held.stamp, output);
    }

    fn accept(
        &mut self,
        data_sequence: u32,
        payload: &[u8],
        stamp: FrameStamp,
        output: &mut CaptureMessages,
    ) {
        let next = *self.next_sequence.get_or_insert(data_sequence);
        // Serial-number comparison: the distance from `next`, as a signed 32-bit number.
        let relative = i64::from(data_sequence.wrapping_sub(next) as i32);
        let length = payload.len() as i64;
        if relative + length <= 0 {
            return;
        }
        if relative <= 0 {
            // `-relative` is below `length` here, so the slice is in range.
            let fresh = &payload[usize::try_from(-relative).unwrap_or_default()..];
            self.deliver(fresh, stamp, output);
            self.deliver_pending(Some(stamp), output);
            return;
        }
        let key = self.delivered + relative.unsigned_abs();
        let keep_longer = self
            .pending
            .get(&key)
            .is_none_or(|existing| existing.data.len() < payload.len());
        if keep_longer {
            let replaced = self.pending.insert(
                key,
                PendingSegment {
                    data: payload.to_vec(),
                    stamp,
                },
            );
            self.pending_octets += payload.len();
            if let Some(replaced) = replaced {
                self.pending_octets -= replaced.data.len();
            }
        }
        while self.pending_octets > MAXIMUM_PENDING_OCTETS
            || self.pending.len() > MAXIMUM_PENDING_SEGMENTS
        {
            self.skip_gap(Some(stamp), output);
        }
    }

    fn deliver(&mut self, data: &[u8], stamp: FrameStamp, output: &mut CaptureMessages) {
        self.delivered += data.len() as u64;
        if let Some(next) = &mut self.next_sequence {
            *next = next.wrapping_add(data.len() as u32);
        }
        self.framer.push(self.flow, data, stamp, output);
    }

    /// Delivers buffered segments that have become contiguous. `completing` is the frame that
    /// filled the hole (it completes any message the buffered octets finish); `None` at the end
    /// of the capture, when each segment counts as arriving in its own frame.
    fn deliver_pending(&mut self, completing: Option<FrameStamp>, output: &mut CaptureMessages) {
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() > self.delivered {
                break;
            }
            let overlap = self.delivered - *entry.key();
            let segment = entry.remove();
            self.pending_octets -= segment.data.len();
            if let Some(fresh) = usize::try_from(overlap)
                .ok()
                .and_then(|overlap| segment.data.get(overlap..))
                .filter(|fresh| !fresh.is_empty())
            {
                self.deliver(fresh, completing.unwrap_or(segment.stamp), output);
            }
        }
    }

    /// Gives up on the octets missing before the earliest buffered segment.
    fn skip_gap(&mut self, completing: Option<FrameStamp>, output: &mut CaptureMessages) {
        let Some((&key, first)) = self.pending.first_key_value() else {
            return;
        };
        // Buffered keys always lie past `delivered` and a buffered segment implies a known
        // `next_sequence`; the defaults only keep a broken invariant from looping or panicking.
        let next = self.next_sequence.unwrap_or_default();
        let missing = key.saturating_sub(self.delivered);
        let resumed = next.wrapping_add(missing as u32);
        output.problems.push(StreamProblem::Gap {
            flow: self.flow,
            frame: first.stamp.number,
            expected_sequence: next,
            resumed_sequence: resumed,
        });
        self.framer.gap(self.flow, output);
        self.delivered = key;
        self.next_sequence = Some(resumed);
        self.deliver_pending(completing, output);
    }

    fn finish(&mut self, output: &mut CaptureMessages) {
        if let Some(held) = self.held_syn_data.take() {
            self.release_syn_data(held, None, output);
        }
        while !self.pending.is_empty() {
            self.skip_gap(None, output);
        }
        self.framer.finish(self.flow, output);
    }
}

#[derive(Debug, Default)]
enum FramerState {
    #[default]
    Framing,
    /// After a gap: octets are dropped until a run of at least 16 0xFF octets followed by
    /// another octet, taken as the marker of the next header.
    Resynchronizing { skipped: u64, run: usize },
    /// A header had a length below 19; everything from it on is kept as one damaged message.
    Stopped,
}

#[derive(Debug, Default)]
struct Framer {
    /// Octets of the message in progress (or, once stopped, of the damaged remainder).
    buffer: Vec<u8>,
    state: FramerState,
    last_stamp: Option<FrameStamp>,
}

impl Framer {
    fn push(&mut self, flow: Flow, data: &[u8], stamp: FrameStamp, output: &mut CaptureMessages) {
        self.last_stamp = Some(stamp);
        match &mut self.state {
            FramerState::Stopped => {
                self.buffer.extend_from_slice(data);
                return;
            }
            FramerState::Resynchronizing { skipped, run } => {
                let Some(marker_end) = find_marker_end(data, run) else {
                    *skipped += data.len() as u64;
                    return;
                };
                let skipped_octets =
                    *skipped + (marker_end as u64).saturating_sub(MARKER_LENGTH as u64);
                if skipped_octets > 0 {
                    output.problems.push(StreamProblem::SkippedAfterGap {
                        flow,
                        frame: stamp.number,
                        skipped_octets,
                        marker_found: true,
                    });
                }
                self.state = FramerState::Framing;
                // The marker may have begun in an earlier segment; its octets are all 0xFF.
                self.buffer.clear();
                self.buffer.extend_from_slice(&[0xff; MARKER_LENGTH]);
                self.buffer.extend_from_slice(&data[marker_end..]);
            }
            FramerState::Framing => self.buffer.extend_from_slice(data),
        }
        self.frame_messages(flow, stamp, output);
    }

    fn frame_messages(&mut self, flow: Flow, stamp: FrameStamp, output: &mut CaptureMessages) {
        let mut start = 0;
        while let Some(&[high, low]) = self.buffer.get(start + 16..start + 18) {
            let length = usize::from(u16::from_be_bytes([high, low]));
            if length < BGP_HEADER_LENGTH {
                output.problems.push(StreamProblem::BadMessageLength {
                    flow,
                    frame: stamp.number,
                    declared_length: u16::from_be_bytes([high, low]),
                });
                self.state = FramerState::Stopped;
                break;
            }
            let Some(message) = self.buffer.get(start..start + length) else {
                break;
            };
            output.messages.push(CapturedMessage {
                bytes: message.to_vec(),
                origin: Origin::Pcap {
                    flow,
                    frame: stamp.number,
                    timestamp_micros: stamp.timestamp_micros,
                },
            });
            start += length;
        }
        // The buffer held no whole message before this push, so everything drained here arrived
        // in this push: the cost stays linear in the stream length.
        self.buffer.drain(..start);
    }

    fn report_incomplete(&mut self, flow: Flow, output: &mut CaptureMessages) {
        if self.buffer.is_empty() {
            return;
        }
        output.problems.push(StreamProblem::IncompleteMessage {
            flow,
            frame: self.last_stamp.map_or(0, |stamp| stamp.number),
            available_octets: self.buffer.len(),
            declared_length: self
                .buffer
                .get(16..18)
                .map(|octets| u16::from_be_bytes([octets[0], octets[1]])),
            message_type: self.buffer.get(18).copied(),
        });
        self.buffer.clear();
    }

    fn gap(&mut self, flow: Flow, output: &mut CaptureMessages) {
        match self.state {
            // A stopped flow keeps collecting its damaged remainder, gap or not.
            FramerState::Stopped | FramerState::Resynchronizing { .. } => {}
            FramerState::Framing => {
                self.report_incomplete(flow, output);
                self.state = FramerState::Resynchronizing { skipped: 0, run: 0 };
            }
        }
    }

    fn finish(&mut self, flow: Flow, output: &mut CaptureMessages) {
        let frame = self.last_stamp.map_or(0, |stamp| stamp.number);
        match std::mem::take(&mut self.state) {
            FramerState::Framing => self.report_incomplete(flow, output),
            FramerState::Resynchronizing { skipped, run } => {
                let skipped_octets = skipped + run as u64;
                if skipped_octets > 0 {
                    output.problems.push(StreamProblem::SkippedAfterGap {
                        flow,
                        frame,
                        skipped_octets,
                        marker_found: false,
                    });
                }
            }
            FramerState::Stopped => {
                let stamp = self.last_stamp.unwrap_or(FrameStamp {
                    number: 0,
                    timestamp_micros: 0,
                });
                output.messages.push(CapturedMessage {
                    bytes: std::mem::take(&mut self.buffer),
                    origin: Origin::Pcap {
                        flow,
                        frame: stamp.number,
                        timestamp_micros: stamp.timestamp_micros,
                    },
                });
            }
        }
        self.last_stamp = None;
    }
}

/// Scans for a run of at least 16 0xFF octets followed by a different octet; `run` carries the
/// length of the run that ended the previous segment. Returns the index in `data` just past
/// the marker (where the length field starts).
fn find_marker_end(data: &[u8], run: &mut usize) -> Option<usize> {
    for (index, &octet) in data.iter().enumerate() {
        if octet == 0xff {
            *run = run.saturating_add(1);
            continue;
        }
        if *run >= MARKER_LENGTH {
            *run = 0;
            return Some(index);
        }
        *run = 0;
    }
    None
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};

    use super::*;

    fn flow() -> Flow {
        Flow {
            source: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 179),
            destination: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 50000),
        }
    }

    fn keepalive() -> Vec<u8> {
        let mut message = vec![0xff; 16];
        message.extend_from_slice(&[0, 19, 4]);
        message
    }

    fn feed(
        reassembler: &mut Reassembler,
        output: &mut CaptureMessages,
        frame: u64,
        sequence: u32,
        payload: &[u8],
    ) {
        let stamp = FrameStamp {
            number: frame,
            timestamp_micros: frame * 10,
        };
        let segment = Segment {
            flow: flow(),
            sequence,
            syn: false,
            payload,
        };
        reassembler.handle(stamp, &segment, output);
    }

    #[test]
    fn sequence_numbers_wrap_around() {
        let mut reassembler = Reassembler::default();
        let mut output = CaptureMessages::default();
        let message = keepalive();
        let start = u32::MAX - 9;
        feed(&mut reassembler, &mut output, 1, start, &message[..12]);
        feed(
            &mut reassembler,
            &mut output,
            2,
            start.wrapping_add(12),
            &message[12..],
        );
        feed(
            &mut reassembler,
            &mut output,
            3,
            start.wrapping_add(19),
            &message,
        );
        reassembler.finish(&mut output);
        assert_eq!(output.messages.len(), 2);
        assert!(output.problems.is_empty(), "{:?}", output.problems);
    }

    #[test]
    fn marker_search_spans_segments_and_needs_a_terminating_octet() {
        let mut run = 0;
        assert_eq!(find_marker_end(&[1, 2, 0xff, 0xff], &mut run), None);
        assert_eq!(run, 2);
        assert_eq!(find_marker_end(&[0xff; 14], &mut run), None);
        assert_eq!(run, 16);
        assert_eq!(find_marker_end(&[0xff, 0, 19], &mut run), Some(1));
    }

    #[test]
    fn pending_buffer_overflow_declares_a_gap() {
        let mut reassembler = Reassembler::default();
        let mut output = CaptureMessages::default();
        feed(&mut reassembler, &mut output, 1, 0, &keepalive());
        // Leave a 19-octet hole, then more single-octet segments than the buffer may hold.
        let keepalives: Vec<u8> = (0..=MAXIMUM_PENDING_SEGMENTS)
            .flat_map(|_| keepalive())
            .collect();
        for (index, octet) in keepalives.iter().enumerate() {
            let sequence = 38 + u32::try_from(index).expect("small");
            feed(
                &mut reassembler,
                &mut output,
                2,
                sequence,
                std::slice::from_ref(octet),
            );
        }
        let gaps = output
            .problems
            .iter()
            .filter(|problem| matches!(problem, StreamProblem::Gap { .. }))
            .count();
        assert_eq!(gaps, 1, "{:?}", output.problems);
        reassembler.finish(&mut output);
        assert_eq!(output.messages.len(), 1 + MAXIMUM_PENDING_SEGMENTS + 1);
    }
}
