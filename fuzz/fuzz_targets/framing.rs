//! Framing: arbitrary octets arrive in chunks of fuzzer-chosen sizes and
//! `split_frame` is called after each chunk until it asks for more.
//!
//! Input layout:
//! - octet 0: bit 0 selects the maximum length (4096, or 65535 as after RFC 8654);
//! - octet 1: how many chunk-size octets follow (`k`);
//! - the next `k` octets: chunk sizes, used in turn and cycled (0 means 4096);
//! - the rest: the TCP byte stream.
//!
//! Oracles:
//! - every frame is as long as its header says, at most `max`, starts with the
//!   marker, and `frame_length` gives the same length for it (and for its header alone);
//! - after `Ok(None)` fewer than `max` octets are buffered;
//! - the frames (and the final error or leftover) are the same as when the whole
//!   stream is framed at once, and the frames are the stream's leading octets in order.
#![no_main]

use bgp_wire::{
    frame_length, split_frame, HeaderError, HEADER_LENGTH, MAX_EXTENDED_MESSAGE_LENGTH,
    MAX_MESSAGE_LENGTH,
};
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;

/// What a run of the framer produced.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    frames: Vec<Bytes>,
    error: Option<HeaderError>,
    /// Octets still buffered at the end (meaningless after an error).
    leftover: usize,
}

fn check_frame(frame: &Bytes, max: usize) {
    assert!(
        frame.len() >= HEADER_LENGTH,
        "frame shorter than a header: {frame:02x?}"
    );
    assert!(
        frame.len() <= max,
        "frame of {} octets exceeds max {max}",
        frame.len()
    );
    assert!(
        frame[..16].iter().all(|&octet| octet == 0xff),
        "frame without marker"
    );
    let header_length = usize::from(u16::from_be_bytes([frame[16], frame[17]]));
    assert_eq!(
        header_length,
        frame.len(),
        "frame length differs from its header"
    );
    assert_eq!(frame_length(frame, max), Ok(Some(frame.len())));
    assert_eq!(
        frame_length(&frame[..HEADER_LENGTH], max),
        Ok(Some(frame.len()))
    );
    // Fewer than 19 octets of a good marker: wait for more.
    assert_eq!(frame_length(&frame[..HEADER_LENGTH - 1], max), Ok(None));
}

/// Drains every whole frame; returns the error if one was found.
fn drain(buffer: &mut BytesMut, max: usize, frames: &mut Vec<Bytes>) -> Option<HeaderError> {
    loop {
        let before = buffer.len();
        match split_frame(buffer, max) {
            Ok(Some(frame)) => {
                check_frame(&frame, max);
                assert_eq!(
                    buffer.len() + frame.len(),
                    before,
                    "split_frame lost octets"
                );
                frames.push(frame);
            }
            Ok(None) => {
                assert_eq!(buffer.len(), before, "Ok(None) consumed octets");
                assert!(
                    buffer.len() < max,
                    "{} octets buffered, max {max}",
                    buffer.len()
                );
                // frame_length must agree that no whole frame is there.
                match frame_length(buffer, max) {
                    Ok(None) => {}
                    Ok(Some(length)) => assert!(length > buffer.len()),
                    Err(error) => panic!("split_frame said wait, frame_length said {error:?}"),
                }
                return None;
            }
            Err(error) => {
                assert_eq!(
                    frame_length(buffer, max),
                    Err(error.clone()),
                    "frame_length disagrees with split_frame"
                );
                return Some(error);
            }
        }
    }
}

fn run(stream: &[u8], sizes: &[u8], max: usize) -> Outcome {
    let mut buffer = BytesMut::new();
    let mut frames = Vec::new();
    let mut rest = stream;
    let mut turn = 0;
    while !rest.is_empty() {
        let size = match sizes.get(turn % sizes.len().max(1)) {
            None => rest.len(),
            Some(0) => 4096,
            Some(&size) => usize::from(size),
        }
        .min(rest.len());
        turn += 1;
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        buffer.extend_from_slice(chunk);
        if let Some(error) = drain(&mut buffer, max, &mut frames) {
            return Outcome {
                frames,
                error: Some(error),
                leftover: 0,
            };
        }
    }
    Outcome {
        frames,
        error: None,
        leftover: buffer.len(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, data)) = data.split_first() else {
        return;
    };
    let max = if flags & 1 == 0 {
        MAX_MESSAGE_LENGTH
    } else {
        MAX_EXTENDED_MESSAGE_LENGTH
    };
    let (sizes, stream) = match data.split_first() {
        Some((&count, rest)) => rest.split_at(usize::from(count).min(rest.len())),
        None => (&[][..], &[][..]),
    };

    let chunked = run(stream, sizes, max);
    let whole = run(stream, &[], max);
    assert_eq!(
        chunked, whole,
        "chunked framing differs from framing all at once"
    );

    // The frames are the stream's leading octets, in order, with nothing skipped.
    let mut offset = 0;
    for frame in &whole.frames {
        assert_eq!(&stream[offset..offset + frame.len()], &frame[..]);
        offset += frame.len();
    }
    if whole.error.is_none() {
        assert_eq!(offset + whole.leftover, stream.len());
    }
});
