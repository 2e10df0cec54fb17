//! A connection's octets as runs of whole frames (RFC 4271 §4.1), without
//! I/O: the read buffer and how much room each read is offered, the count
//! of whole frames at its front, and the split of a run back into frames.
//!
//! A read's whole frames go to the peer task as one run, not one message a
//! frame: a message on a bounded channel (a permit taken, a push, a pop, the
//! permit given back under the semaphore's lock) cost about 400
//! instructions, two thirds of decoding a small UPDATE's attributes
//! (benches/RESULTS.md 6.23).

use bgp_wire::{frame_length, HeaderError, HEADER_LENGTH, MAX_EXTENDED_MESSAGE_LENGTH};
use bytes::{Bytes, BytesMut};

/// Most octets in one run of frames: what one read of a busy connection
/// brings. The largest frame there is (RFC 8654) fits.
pub(crate) const CHUNK_OCTETS: usize = 64 * 1024;
const _: () = assert!(CHUNK_OCTETS >= MAX_EXTENDED_MESSAGE_LENGTH);

/// The read buffer's room at first, and its least: an idle session only
/// ever reads KEEPALIVEs (19 octets), and a buffer is resident memory for
/// every session. A larger message arrives in more than one read while the
/// room doubles.
const FIRST_READ: usize = 256;

/// A connection's read buffer, and the room its next read is offered.
///
/// The room doubles, up to a chunk, while reads fill what they are offered:
/// a table arrives in reads of tens of kilobytes, not a system call for
/// every kilobyte. It halves, down to [`FIRST_READ`], after reads that take
/// less than a quarter of it, and a buffer left empty and far larger than
/// the room is let go: a session idle after a table holds a small buffer
/// again, not 64 KiB.
#[derive(Debug)]
pub(crate) struct ReadBuffer {
    buffer: BytesMut,
    room: usize,
    /// What the last read was offered.
    offered: usize,
}

impl ReadBuffer {
    pub(crate) fn new() -> ReadBuffer {
        ReadBuffer {
            buffer: BytesMut::with_capacity(FIRST_READ),
            room: FIRST_READ,
            offered: 0,
        }
    }

    /// The buffer to read into, with room made for the next read.
    pub(crate) fn room_for_a_read(&mut self) -> &mut BytesMut {
        if self.buffer.is_empty() && self.buffer.capacity() > 4 * self.room {
            // Its frames may still be alive elsewhere: the allocation goes
            // when the last of them does.
            self.buffer = BytesMut::with_capacity(self.room);
        }
        if self.buffer.capacity() - self.buffer.len() < self.room / 2 {
            self.buffer.reserve(self.room);
        }
        self.offered = self.buffer.capacity() - self.buffer.len();
        &mut self.buffer
    }

    /// A read put `count` octets into what [`Self::room_for_a_read`] offered.
    pub(crate) fn filled(&mut self, count: usize) {
        if count >= self.offered {
            self.room = (self.room * 2).min(CHUNK_OCTETS);
        } else if count < self.offered / 4 {
            self.room = (self.room / 2).max(FIRST_READ);
        }
    }

    /// The whole frames at the front of the buffer, at most a chunk of them
    /// (empty when there are none), and the header error right after them,
    /// if there is one.
    pub(crate) fn take_run(&mut self) -> (Bytes, Option<HeaderError>) {
        let (whole, error) = whole_frames(&self.buffer);
        (self.buffer.split_to(whole).freeze(), error)
    }
}

/// How many octets at the front of `buffer` are whole frames with good
/// headers, at most [`CHUNK_OCTETS`] of them; and the header error that
/// stopped the count, if one did.
fn whole_frames(buffer: &[u8]) -> (usize, Option<HeaderError>) {
    let mut whole = 0;
    loop {
        match frame_length(&buffer[whole..], MAX_EXTENDED_MESSAGE_LENGTH) {
            Ok(Some(length))
                if buffer.len() - whole >= length && whole + length <= CHUNK_OCTETS =>
            {
                whole += length;
            }
            Ok(_) => return (whole, None),
            Err(error) => return (whole, Some(error)),
        }
    }
}

/// Splits the first frame off `frames`, a run of whole frames from
/// [`ReadBuffer::take_run`].
pub(crate) fn next_frame(frames: &mut Bytes) -> Bytes {
    // The run's headers were checked; a run somehow cut short still ends,
    // as one last frame, and the decoder reports what is wrong with it.
    let length = frames.get(16..HEADER_LENGTH - 1).map_or(0, |field| {
        usize::from(u16::from_be_bytes([field[0], field[1]]))
    });
    if length < HEADER_LENGTH || length >= frames.len() {
        return std::mem::take(frames);
    }
    frames.split_to(length)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A frame of `length` octets whose last four carry `number`.
    pub(crate) fn frame(length: usize, number: u32) -> Vec<u8> {
        let mut frame = vec![0xff_u8; 16];
        frame.extend_from_slice(&u16::try_from(length).unwrap().to_be_bytes());
        frame.push(2); // UPDATE: any length from 23 octets
        frame.resize(length - 4, 0);
        frame.extend_from_slice(&number.to_be_bytes());
        frame
    }

    #[test]
    fn whole_frames_stop_at_a_partial_frame_and_at_a_bad_header() {
        let mut stream = [frame(23, 1), frame(40, 2)].concat();
        let partial = frame(30, 3);
        stream.extend_from_slice(&partial[..25]);
        assert_eq!(whole_frames(&stream), (63, None));
        assert_eq!(whole_frames(&stream[..22]), (0, None));

        let mut bad = [frame(23, 1), frame(40, 2)].concat();
        bad.extend_from_slice(&[0xff, 0xff, 0x00]);
        assert_eq!(
            whole_frames(&bad),
            (63, Some(HeaderError::ConnectionNotSynchronized))
        );
    }

    #[test]
    fn a_run_of_frames_ends_before_it_passes_a_chunk() {
        // Frames of 4,096 octets: sixteen fill a chunk, the seventeenth
        // would take it past.
        let stream: Vec<u8> = (0..20).flat_map(|number| frame(4_096, number)).collect();
        assert_eq!(whole_frames(&stream), (16 * 4_096, None));
        // The largest frame there is goes alone, whatever follows it.
        let largest = [frame(65_535, 1), frame(23, 2)].concat();
        assert_eq!(whole_frames(&largest), (65_535, None));
    }

    #[test]
    fn next_frame_splits_a_run_in_order() {
        let mut frames = Bytes::from([frame(23, 1), frame(40, 2), frame(30, 3)].concat());
        let mut numbers = Vec::new();
        while !frames.is_empty() {
            let one = next_frame(&mut frames);
            numbers.push(u32::from_be_bytes(one[one.len() - 4..].try_into().unwrap()));
            assert_eq!(
                usize::from(u16::from_be_bytes([one[16], one[17]])),
                one.len()
            );
        }
        assert_eq!(numbers, [1, 2, 3]);
    }

    #[test]
    fn a_run_cut_short_ends_as_one_last_frame() {
        for mut cut in [
            Bytes::from_static(&[0xff; 10]),
            // A length field of 0, and one past the run's end.
            Bytes::from([frame(23, 1), vec![0xff; 16], vec![0, 0, 4]].concat()),
            Bytes::from([frame(23, 1), frame(40, 2)[..30].to_vec()].concat()),
        ] {
            let octets = cut.len();
            let mut taken = 0;
            let mut frames = 0;
            while !cut.is_empty() {
                taken += next_frame(&mut cut).len();
                frames += 1;
                assert!(frames <= 2, "a run must end");
            }
            assert_eq!(taken, octets);
        }
    }

    /// Reads of a table fill 64 KiB; reads of KEEPALIVEs afterwards bring
    /// the buffer back to its first size.
    #[test]
    fn the_read_room_grows_with_a_table_and_shrinks_when_idle() {
        let table: Vec<u8> = (0..200).flat_map(|number| frame(4_000, number)).collect();
        let mut buffer = ReadBuffer::new();
        let mut sent = 0;
        let mut largest_read = 0;
        let mut frames = Vec::new();
        while sent < table.len() {
            let into = buffer.room_for_a_read();
            let count = (into.capacity() - into.len()).min(table.len() - sent);
            into.extend_from_slice(&table[sent..sent + count]);
            sent += count;
            buffer.filled(count);
            largest_read = largest_read.max(count);
            loop {
                let (run, error) = buffer.take_run();
                assert_eq!(error, None);
                if run.is_empty() {
                    break;
                }
                assert!(run.len() <= CHUNK_OCTETS);
                // Held, as frames in the peer task's queue are.
                frames.push(run);
            }
        }
        assert_eq!(frames.concat(), table);
        assert!(largest_read >= CHUNK_OCTETS / 2, "{largest_read}");
        drop(frames);
        let mut keepalive = vec![0xff_u8; 16];
        keepalive.extend_from_slice(&[0, 19, 4]);
        for _ in 0..20 {
            let into = buffer.room_for_a_read();
            into.extend_from_slice(&keepalive);
            buffer.filled(keepalive.len());
            assert_eq!(buffer.take_run().0.len(), 19);
        }
        assert_eq!(buffer.room, FIRST_READ);
        assert!(
            buffer.buffer.capacity() <= 4 * FIRST_READ,
            "{}",
            buffer.buffer.capacity()
        );
    }
}
