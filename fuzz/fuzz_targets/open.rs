//! OPEN: the input is an OPEN body; a valid 19-octet header (type 1) is put in
//! front of it and the frame is decoded with the default context.
//!
//! Oracle (round trip): when the frame decodes, `Message::to_bytes` must succeed
//! and decoding its output must give the same `Received` again.
#![no_main]

use bgp_wire::{CodecContext, Message, HEADER_LENGTH};
use bytes::{BufMut, Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;

fn frame(message_type: u8, body: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(HEADER_LENGTH + body.len());
    frame.put_bytes(0xff, 16);
    frame.put_u16((HEADER_LENGTH + body.len()) as u16);
    frame.put_u8(message_type);
    frame.put_slice(body);
    frame.freeze()
}

fuzz_target!(|data: &[u8]| {
    let context = CodecContext::default();
    let body = &data[..data.len().min(context.max_message_length() - HEADER_LENGTH)];
    let frame = frame(1, body);
    let Ok(first) = Message::decode(&frame, &context) else {
        return;
    };
    assert!(
        matches!(first.message, Message::Open(_)),
        "type 1 decoded as {:?}",
        first.message
    );
    assert!(
        first.errors.is_empty(),
        "an OPEN with UPDATE errors: {first:?}"
    );
    let encoded = match first.message.to_bytes(&context) {
        Ok(encoded) => encoded,
        Err(error) => panic!("a decoded OPEN does not encode: {error}\n{first:?}"),
    };
    let second = match Message::decode(&encoded, &context) {
        Ok(second) => second,
        Err(error) => panic!(
            "a re-encoded OPEN does not decode: {error:?}\nfirst: {first:?}\nencoded: {encoded:02x?}"
        ),
    };
    assert_eq!(
        first, second,
        "OPEN round trip changed the message\nencoded: {encoded:02x?}"
    );
});
