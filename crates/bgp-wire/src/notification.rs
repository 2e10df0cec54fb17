//! NOTIFICATION messages (RFC 4271 §4.5) and the shutdown communication that
//! RFC 9003 carries in Cease / Administrative Shutdown and Reset.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code    | Error subcode |   Data (variable)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use crate::types::code_point;

code_point! {
    /// NOTIFICATION error codes ([IANA bgp-parameters-3]).
    ErrorCode(u8) {
        /// 1 (RFC 4271)
        MESSAGE_HEADER = 1 => "Message Header Error",
        /// 2 (RFC 4271)
        OPEN_MESSAGE = 2 => "OPEN Message Error",
        /// 3 (RFC 4271)
        UPDATE_MESSAGE = 3 => "UPDATE Message Error",
        /// 4 (RFC 4271)
        HOLD_TIMER_EXPIRED = 4 => "Hold Timer Expired",
        /// 5 (RFC 6608)
        FINITE_STATE_MACHINE = 5 => "Finite State Machine Error",
        /// 6 (RFC 4271, subcodes RFC 4486)
        CEASE = 6 => "Cease",
        /// 7 (RFC 7313)
        ROUTE_REFRESH_MESSAGE = 7 => "ROUTE-REFRESH Message Error",
        /// 8 (RFC 9687)
        SEND_HOLD_TIMER_EXPIRED = 8 => "Send Hold Timer Expired",
    }
}

/// Cease subcodes (RFC 4486 §4, RFC 8538).
pub mod cease {
    /// 1
    pub const MAXIMUM_PREFIXES_REACHED: u8 = 1;
    /// 2, may carry a shutdown communication (RFC 9003)
    pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    /// 3
    pub const PEER_DECONFIGURED: u8 = 3;
    /// 4, may carry a shutdown communication (RFC 9003)
    pub const ADMINISTRATIVE_RESET: u8 = 4;
    /// 5
    pub const CONNECTION_REJECTED: u8 = 5;
    /// 6
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    /// 7
    pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
    /// 8
    pub const OUT_OF_RESOURCES: u8 = 8;
    /// 9 (RFC 8538)
    pub const HARD_RESET: u8 = 9;
    /// 10 (RFC 9384)
    pub const BFD_DOWN: u8 = 10;
}

/// The longest shutdown communication, in octets of UTF-8 (RFC 9003 §2).
pub const MAX_SHUTDOWN_COMMUNICATION: usize = 255;

/// A NOTIFICATION message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The error code.
    pub code: ErrorCode,
    /// The error subcode; 0 is Unspecific (RFC 4271 §4.5).
    pub subcode: u8,
    /// The data field, whose meaning depends on code and subcode.
    pub data: Bytes,
}

impl Notification {
    /// A NOTIFICATION from its three fields.
    pub fn new(code: ErrorCode, subcode: u8, data: Bytes) -> Self {
        Notification {
            code,
            subcode,
            data,
        }
    }

    /// Cease / Administrative Shutdown or Reset with a shutdown communication
    /// (RFC 9003 §2), cut at a character boundary to fit 255 octets.
    pub fn with_shutdown_communication(subcode: u8, text: &str) -> Self {
        let mut end = text.len().min(MAX_SHUTDOWN_COMMUNICATION);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut data = BytesMut::with_capacity(end + 1);
        data.put_u8(end as u8);
        data.put_slice(&text.as_bytes()[..end]);
        Notification::new(ErrorCode::CEASE, subcode, data.freeze())
    }

    /// The shutdown communication in a Cease / Administrative Shutdown or Reset,
    /// if the data field holds a well-formed one (RFC 9003 §2: length octet, then
    /// that many octets of UTF-8).
    pub fn shutdown_communication(&self) -> Option<&str> {
        let is_admin = self.code == ErrorCode::CEASE
            && matches!(
                self.subcode,
                cease::ADMINISTRATIVE_SHUTDOWN | cease::ADMINISTRATIVE_RESET
            );
        let (&length, text) = self.data.split_first()?;
        if !is_admin || text.len() < usize::from(length) {
            return None;
        }
        std::str::from_utf8(&text[..usize::from(length)]).ok()
    }

    /// The subcode's registry name, where code and subcode are known.
    pub fn subcode_name(&self) -> Option<&'static str> {
        let name = match (self.code.0, self.subcode) {
            (_, 0) => "Unspecific",
            (1, 1) => "Connection Not Synchronized",
            (1, 2) => "Bad Message Length",
            (1, 3) => "Bad Message Type",
            (2, 1) => "Unsupported Version Number",
            (2, 2) => "Bad Peer AS",
            (2, 3) => "Bad BGP Identifier",
            (2, 4) => "Unsupported Optional Parameter",
            (2, 6) => "Unacceptable Hold Time",
            (2, 7) => "Unsupported Capability",
            (2, 11) => "Role Mismatch",
            (3, 1) => "Malformed Attribute List",
            (3, 2) => "Unrecognized Well-known Attribute",
            (3, 3) => "Missing Well-known Attribute",
            (3, 4) => "Attribute Flags Error",
            (3, 5) => "Attribute Length Error",
            (3, 6) => "Invalid ORIGIN Attribute",
            (3, 8) => "Invalid NEXT_HOP Attribute",
            (3, 9) => "Optional Attribute Error",
            (3, 10) => "Invalid Network Field",
            (3, 11) => "Malformed AS_PATH",
            (5, 1) => "Receive Unexpected Message in OpenSent State",
            (5, 2) => "Receive Unexpected Message in OpenConfirm State",
            (5, 3) => "Receive Unexpected Message in Established State",
            (6, 1) => "Maximum Number of Prefixes Reached",
            (6, 2) => "Administrative Shutdown",
            (6, 3) => "Peer De-configured",
            (6, 4) => "Administrative Reset",
            (6, 5) => "Connection Rejected",
            (6, 6) => "Other Configuration Change",
            (6, 7) => "Connection Collision Resolution",
            (6, 8) => "Out of Resources",
            (6, 9) => "Hard Reset",
            (6, 10) => "BFD Down",
            (7, 1) => "Invalid Message Length",
            _ => return None,
        };
        Some(name)
    }

    /// Code and subcode in words, e.g. `Cease / Peer De-configured`, with the
    /// shutdown communication when there is one.
    pub fn describe(&self) -> String {
        let mut text = match self.subcode_name() {
            Some(subcode) => format!("{} / {}", self.code, subcode),
            None => format!("{} / subcode {}", self.code, self.subcode),
        };
        if let Some(communication) = self.shutdown_communication() {
            text.push_str(&format!(": \"{}\"", communication.escape_debug()));
        }
        text
    }

    /// Decodes the body (everything after the header); the framer has ensured at
    /// least two octets. Unknown codes and subcodes are kept: there is no reply
    /// to a NOTIFICATION, the session closes either way.
    pub(crate) fn decode_body(body: &Bytes) -> Notification {
        Notification {
            code: ErrorCode(body[0]),
            subcode: body[1],
            data: body.slice(2..),
        }
    }

    pub(crate) fn body_length(&self) -> usize {
        2 + self.data.len()
    }

    pub(crate) fn encode_body(&self, destination: &mut BytesMut) {
        destination.put_u8(self.code.0);
        destination.put_u8(self.subcode);
        destination.put_slice(&self.data);
    }
}

impl std::fmt::Display for Notification {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_communication_round_trips_and_is_cut_at_a_character_boundary() {
        let notification = Notification::with_shutdown_communication(
            cease::ADMINISTRATIVE_SHUTDOWN,
            "maintenance window",
        );
        assert_eq!(
            notification.shutdown_communication(),
            Some("maintenance window")
        );
        assert_eq!(
            notification.describe(),
            "Cease / Administrative Shutdown: \"maintenance window\""
        );
        let long = "é".repeat(200);
        let cut = Notification::with_shutdown_communication(cease::ADMINISTRATIVE_RESET, &long);
        assert_eq!(cut.data[0], 254);
        assert_eq!(cut.shutdown_communication().map(str::len), Some(254));
    }

    #[test]
    fn a_shutdown_communication_longer_than_its_data_is_not_read() {
        let notification =
            Notification::new(ErrorCode::CEASE, 2, Bytes::from_static(&[10, b'a', b'b']));
        assert_eq!(notification.shutdown_communication(), None);
    }

    #[test]
    fn unknown_codes_are_described_by_number() {
        let notification = Notification::new(ErrorCode(255), 9, Bytes::new());
        assert_eq!(notification.describe(), "255 / subcode 9");
    }
}
