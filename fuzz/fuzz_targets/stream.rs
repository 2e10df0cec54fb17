//! Stream: the whole input is what a peer sent on the TCP connection. Like a
//! session's reader, frame with `split_frame`, decode with `Message::decode`,
//! and stop at the first error (it would send a NOTIFICATION and close) or when
//! the rest is an incomplete message.
//!
//! The context starts as before the OPEN exchange (2-octet AS numbers, no
//! ADD-PATH, 4096-octet messages) and is learned from each OPEN decoded,
//! assuming this side supports everything the peer offers:
//! FourOctetAs sets four_octet_asn, ExtendedMessage raises the frame limit,
//! AddPath families the peer can send carry path identifiers, and Extended Next
//! Hop entries for IPv6 families allow an IPv4 next hop.
//!
//! Oracles: no panic; an UPDATE that decodes carries no `Treatment::SessionReset`
//! error; every error maps onto a NOTIFICATION.
#![no_main]

use bgp_wire::{split_frame, Afi, Capability, CodecContext, Family, Message, Safi, Treatment};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fn learn(context: &mut CodecContext, message: &Message) {
    let Message::Open(open) = message else {
        return;
    };
    context.four_octet_asn = false;
    context.extended_message = false;
    context.add_path.clear();
    context.extended_next_hop.clear();
    for capability in open.capabilities() {
        match capability {
            Capability::FourOctetAs(_) => context.four_octet_asn = true,
            Capability::ExtendedMessage => context.extended_message = true,
            Capability::AddPath(families) => {
                for (family, direction) in families {
                    if direction.sends() && !context.add_path.contains(family) {
                        context.add_path.push(*family);
                    }
                }
            }
            Capability::ExtendedNextHop(entries) => {
                for entry in entries {
                    if entry.afi == Afi::IPV6 && entry.next_hop_afi == Afi::IPV4 {
                        if let Ok(safi) = u8::try_from(entry.safi) {
                            let family = Family::new(Afi::IPV6, Safi(safi));
                            if !context.extended_next_hop.contains(&family) {
                                context.extended_next_hop.push(family);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut context = CodecContext {
        four_octet_asn: false,
        ..CodecContext::default()
    };
    let mut buffer = BytesMut::from(data);
    loop {
        let frame = match split_frame(&mut buffer, context.max_message_length()) {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(error) => {
                let _ = bgp_wire::DecodeError::from(error).notification();
                break;
            }
        };
        match Message::decode(&frame, &context) {
            Ok(received) => {
                assert!(
                    received
                        .errors
                        .iter()
                        .all(|error| error.treatment != Treatment::SessionReset),
                    "a session reset returned as Ok: {:?}",
                    received.errors
                );
                let _ = received.treatment();
                learn(&mut context, &received.message);
            }
            Err(error) => {
                // The session would send this NOTIFICATION and close.
                let notification = error.notification();
                let _ = Message::Notification(notification).to_bytes(&context);
                break;
            }
        }
    }
});
