//! The 19-octet message header and framing (RFC 4271 §4.1, §6.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           Marker (16 octets of 0xFF)          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The framer checks everything the header alone can tell before any body is
//! parsed, so a stream decoder never buffers more than one maximum-size message.

use bytes::{Bytes, BytesMut};

use crate::error::HeaderError;

/// Octets in the header.
pub const HEADER_LENGTH: usize = 19;
/// The largest message without the Extended Message capability (RFC 4271 §4.1).
pub const MAX_MESSAGE_LENGTH: usize = 4096;
/// The largest message once Extended Message is negotiated (RFC 8654 §3).
pub const MAX_EXTENDED_MESSAGE_LENGTH: usize = 65535;

/// The message types this codec understands (RFC 4271 §4.1, RFC 2918 §3).
/// Closed on purpose: any other type is a Bad Message Type error (RFC 4271 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 1
    Open = 1,
    /// 2
    Update = 2,
    /// 3
    Notification = 3,
    /// 4
    Keepalive = 4,
    /// 5 (RFC 2918)
    RouteRefresh = 5,
}

impl MessageType {
    /// The type for a header's type octet, if it is one we know.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => MessageType::Open,
            2 => MessageType::Update,
            3 => MessageType::Notification,
            4 => MessageType::Keepalive,
            5 => MessageType::RouteRefresh,
            _ => return None,
        })
    }

    /// The name used in logs and in `nodebgp decode` output.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Open => "OPEN",
            MessageType::Update => "UPDATE",
            MessageType::Notification => "NOTIFICATION",
            MessageType::Keepalive => "KEEPALIVE",
            MessageType::RouteRefresh => "ROUTE-REFRESH",
        }
    }

    /// The shortest valid message of this type, header included (RFC 4271 §4.2-4.5,
    /// RFC 2918 §3).
    fn minimum_length(self) -> usize {
        match self {
            MessageType::Open => 29,
            MessageType::Update => 23,
            MessageType::Notification => 21,
            MessageType::Keepalive => 19,
            MessageType::RouteRefresh => 23,
        }
    }
}

/// Checks the header at the start of `buffer` and returns the whole message
/// length, or `Ok(None)` while fewer than 19 octets have arrived.
///
/// `max_length` is [`MAX_MESSAGE_LENGTH`], or [`MAX_EXTENDED_MESSAGE_LENGTH`] once
/// RFC 8654 is negotiated. Checks run in the order RFC 4271 §6.1 lists them:
/// marker, length, type, then the length the type requires.
pub fn frame_length(buffer: &[u8], max_length: usize) -> Result<Option<usize>, HeaderError> {
    let Some(header) = buffer.get(..HEADER_LENGTH) else {
        // A marker already known to be wrong need not wait for the rest.
        if buffer.iter().take(16).any(|&octet| octet != 0xff) {
            return Err(HeaderError::ConnectionNotSynchronized);
        }
        return Ok(None);
    };
    check_header(header, max_length).map(|(_, length)| Some(length))
}

/// Checks a complete 19-octet header; returns the type and the length field.
pub(crate) fn check_header(
    header: &[u8],
    max_length: usize,
) -> Result<(MessageType, usize), HeaderError> {
    if header.len() < HEADER_LENGTH || header[..16] != [0xff; 16] {
        return Err(HeaderError::ConnectionNotSynchronized);
    }
    let length_field = u16::from_be_bytes([header[16], header[17]]);
    let length = usize::from(length_field);
    if !(HEADER_LENGTH..=max_length).contains(&length) {
        return Err(HeaderError::BadLength {
            length: length_field,
        });
    }
    let message_type = MessageType::from_code(header[18]).ok_or(HeaderError::BadType {
        message_type: header[18],
    })?;
    let too_short = length < message_type.minimum_length();
    // RFC 4271 §6.1: a KEEPALIVE is exactly the header.
    let keepalive_with_body = message_type == MessageType::Keepalive && length != HEADER_LENGTH;
    if too_short || keepalive_with_body {
        return Err(HeaderError::BadLength {
            length: length_field,
        });
    }
    Ok((message_type, length))
}

/// Splits the next whole message off the front of a stream buffer, leaving any
/// following octets in place; `Ok(None)` until the whole message has arrived.
pub fn split_frame(buffer: &mut BytesMut, max_length: usize) -> Result<Option<Bytes>, HeaderError> {
    match frame_length(buffer, max_length)? {
        Some(length) if buffer.len() >= length => Ok(Some(buffer.split_to(length).freeze())),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(length: u16, message_type: u8) -> Vec<u8> {
        let mut bytes = vec![0xff; 16];
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.push(message_type);
        bytes
    }

    #[test]
    fn waits_for_a_whole_header() {
        assert_eq!(frame_length(&[0xff; 18], MAX_MESSAGE_LENGTH), Ok(None));
    }

    #[test]
    fn a_bad_marker_is_seen_before_the_header_is_complete() {
        assert_eq!(
            frame_length(&[0xff, 0x00], MAX_MESSAGE_LENGTH),
            Err(HeaderError::ConnectionNotSynchronized)
        );
    }

    #[test]
    fn length_limits_follow_the_extended_message_capability() {
        let big = header(4097, 2);
        assert_eq!(
            frame_length(&big, MAX_MESSAGE_LENGTH),
            Err(HeaderError::BadLength { length: 4097 })
        );
        assert_eq!(
            frame_length(&big, MAX_EXTENDED_MESSAGE_LENGTH),
            Ok(Some(4097))
        );
    }

    #[test]
    fn type_specific_minimum_lengths_apply() {
        for (length, message_type) in [(28, 1), (22, 2), (20, 3), (20, 4), (22, 5)] {
            assert_eq!(
                frame_length(&header(length, message_type), MAX_MESSAGE_LENGTH),
                Err(HeaderError::BadLength { length }),
                "type {message_type}"
            );
        }
    }

    #[test]
    fn unknown_type_is_bad_message_type() {
        assert_eq!(
            frame_length(&header(19, 6), MAX_MESSAGE_LENGTH),
            Err(HeaderError::BadType { message_type: 6 })
        );
    }

    #[test]
    fn split_frame_takes_exactly_one_message() {
        let mut stream = BytesMut::new();
        stream.extend_from_slice(&header(19, 4));
        stream.extend_from_slice(&header(19, 4)[..10]);
        let first = split_frame(&mut stream, MAX_MESSAGE_LENGTH)
            .unwrap()
            .unwrap();
        assert_eq!(first.len(), 19);
        assert_eq!(split_frame(&mut stream, MAX_MESSAGE_LENGTH), Ok(None));
        assert_eq!(stream.len(), 10);
    }
}
