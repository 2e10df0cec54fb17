//! Whole messages: decoding a framed message and encoding any message.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{AttributeError, DecodeError, HeaderError, Treatment};
use crate::header::{check_header, MessageType, HEADER_LENGTH};
use crate::notification::Notification;
use crate::open::Open;
use crate::route_refresh::RouteRefresh;
use crate::update::{most_severe, EncodeError, Update};
use crate::CodecContext;

/// A BGP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OPEN (RFC 4271 §4.2).
    Open(Open),
    /// UPDATE (RFC 4271 §4.3).
    Update(Update),
    /// NOTIFICATION (RFC 4271 §4.5).
    Notification(Notification),
    /// KEEPALIVE (RFC 4271 §4.4).
    Keepalive,
    /// ROUTE-REFRESH (RFC 2918, RFC 7313).
    RouteRefresh(RouteRefresh),
}

/// A message as received, with the UPDATE errors that RFC 7606 lets the
/// session survive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The message.
    pub message: Message,
    /// Errors found in an UPDATE whose treatment is less than a session reset;
    /// empty for every other message.
    pub errors: Vec<AttributeError>,
}

impl Received {
    /// The treatment the UPDATE needs (RFC 7606 §3: the most severe wins), or
    /// `None` when it is clean.
    pub fn treatment(&self) -> Option<Treatment> {
        self.governing_error().map(|error| error.treatment)
    }

    /// The error that decides the treatment.
    pub fn governing_error(&self) -> Option<&AttributeError> {
        most_severe(&self.errors)
    }
}

impl Message {
    /// The message's type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::Open,
            Message::Update(_) => MessageType::Update,
            Message::Notification(_) => MessageType::Notification,
            Message::Keepalive => MessageType::Keepalive,
            Message::RouteRefresh(_) => MessageType::RouteRefresh,
        }
    }

    /// Decodes one whole message, header included, as [`crate::split_frame`]
    /// delivers it. A header whose length field disagrees with the frame is a
    /// Bad Message Length.
    pub fn decode(frame: &Bytes, context: &CodecContext) -> Result<Received, DecodeError> {
        let header = frame.get(..HEADER_LENGTH).unwrap_or(frame);
        let (message_type, length) = check_header(header, context.max_message_length())?;
        if length != frame.len() || frame.len() < HEADER_LENGTH {
            return Err(HeaderError::BadLength {
                length: length as u16,
            }
            .into());
        }
        if message_type == MessageType::Update {
            return Update::decode_body(frame, HEADER_LENGTH, context);
        }
        let body = || frame.slice(HEADER_LENGTH..);
        let errors = Vec::new();
        let message = match message_type {
            MessageType::Open => Message::Open(Open::decode_body(&body())?),
            MessageType::Update => unreachable!("decoded above"),
            MessageType::Notification => Message::Notification(Notification::decode_body(&body())),
            MessageType::Keepalive => Message::Keepalive,
            MessageType::RouteRefresh => {
                Message::RouteRefresh(RouteRefresh::decode_body(&body(), frame)?)
            }
        };
        Ok(Received { message, errors })
    }

    /// Appends the message; returns how many messages were written (more than
    /// one only for an UPDATE too large for one message).
    pub fn encode(
        &self,
        context: &CodecContext,
        destination: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        let start = destination.len();
        match self {
            Message::Update(update) => return update.encode(context, destination),
            Message::Open(open) => {
                put_header(destination, MessageType::Open);
                open.encode_body(destination);
            }
            Message::Notification(notification) => {
                put_header(destination, MessageType::Notification);
                notification.encode_body(destination);
                debug_assert_eq!(
                    destination.len() - start,
                    HEADER_LENGTH + notification.body_length()
                );
            }
            Message::Keepalive => put_header(destination, MessageType::Keepalive),
            Message::RouteRefresh(refresh) => {
                put_header(destination, MessageType::RouteRefresh);
                refresh.encode_body(destination);
                debug_assert_eq!(
                    destination.len() - start,
                    HEADER_LENGTH + refresh.body_length()
                );
            }
        }
        let length = destination.len() - start;
        if length > context.max_message_length() {
            destination.truncate(start);
            return Err(EncodeError::MessageTooLong { length });
        }
        destination[start + 16..start + 18].copy_from_slice(&(length as u16).to_be_bytes());
        Ok(1)
    }

    /// The message encoded on its own, as one `Bytes`.
    pub fn to_bytes(&self, context: &CodecContext) -> Result<Bytes, EncodeError> {
        let mut buffer = BytesMut::new();
        self.encode(context, &mut buffer)?;
        Ok(buffer.freeze())
    }
}

fn put_header(destination: &mut BytesMut, message_type: MessageType) {
    destination.put_bytes(0xff, 16);
    destination.put_u16(0);
    destination.put_u8(message_type as u8);
}
