//! Typed decode errors and how each maps onto a NOTIFICATION (RFC 4271 §6) or
//! an RFC 7606 treatment.
//!
//! Errors that must reset the session are `Err` values of [`crate::Message::decode`];
//! each knows its NOTIFICATION code, subcode and data field through
//! [`DecodeError::notification`]. UPDATE attribute errors that RFC 7606 lets a
//! speaker survive are not `Err`: they come back beside the decoded UPDATE as
//! [`AttributeError`]s, and the most severe [`Treatment`] among them wins.

use bytes::Bytes;

use crate::attribute::AttributeType;
use crate::notification::{ErrorCode, Notification};
use crate::types::Family;

/// Errors in the 19-octet message header (RFC 4271 §6.1), found while framing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The marker is not sixteen 0xFF octets.
    #[error("connection not synchronized: the marker is not all ones")]
    ConnectionNotSynchronized,
    /// The length field is out of range for the message, or for its type.
    #[error("bad message length {length}")]
    BadLength {
        /// The length field as received.
        length: u16,
    },
    /// The type octet names no message this speaker understands.
    #[error("bad message type {message_type}")]
    BadType {
        /// The type octet as received.
        message_type: u8,
    },
}

/// Errors in an OPEN message (RFC 4271 §6.2, RFC 5492, RFC 9072).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Version is not 4.
    #[error("unsupported BGP version {version}")]
    UnsupportedVersion {
        /// The version field as received.
        version: u8,
    },
    /// The peer's AS is not the one configured (raised by the session, not the codec).
    #[error("bad peer AS {asn}")]
    BadPeerAs {
        /// The AS the peer announced (the 4-octet AS capability value when present).
        asn: u32,
    },
    /// The BGP Identifier is zero (RFC 6286 §2.2) or clashes with ours (raised by the session).
    #[error("bad BGP identifier {identifier}")]
    BadBgpIdentifier {
        /// The identifier as received.
        identifier: std::net::Ipv4Addr,
    },
    /// An optional parameter other than Capabilities (RFC 5492 §4).
    #[error("unsupported optional parameter type {parameter_type}")]
    UnsupportedOptionalParameter {
        /// Its type octet.
        parameter_type: u8,
    },
    /// Hold time of 1 or 2 seconds (RFC 4271 §6.2), or one the session refuses.
    #[error("unacceptable hold time {seconds}")]
    UnacceptableHoldTime {
        /// The hold time as received.
        seconds: u16,
    },
    /// Capabilities the session requires but the peer lacks, or the reverse (RFC 5492 §5).
    #[error("unsupported capability")]
    UnsupportedCapability {
        /// The capability TLVs to report in the data field.
        capabilities: Bytes,
    },
    /// The optional parameters or a capability do not parse: lengths that
    /// overrun, or a capability value of the wrong length. RFC 4271 §4.5 has
    /// subcode 0 (Unspecific) for errors with no subcode of their own.
    #[error("malformed optional parameters: {detail}")]
    Malformed {
        /// What did not fit.
        detail: &'static str,
    },
}

/// UPDATE Message Error subcodes (RFC 4271 §6.3; IANA "BGP Error Subcodes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UpdateSubcode {
    /// 1: lengths that do not add up, or a repeated MP attribute.
    MalformedAttributeList = 1,
    /// 2: a well-known attribute type this speaker does not know.
    UnrecognizedWellKnownAttribute = 2,
    /// 3: ORIGIN, AS_PATH or NEXT_HOP missing where NLRI are present.
    MissingWellKnownAttribute = 3,
    /// 4: flags that contradict the attribute type.
    AttributeFlagsError = 4,
    /// 5: a length the attribute type does not allow.
    AttributeLengthError = 5,
    /// 6: ORIGIN value other than 0, 1 or 2.
    InvalidOrigin = 6,
    /// 8: NEXT_HOP that is not a usable address.
    InvalidNextHop = 8,
    /// 9: an optional attribute whose value does not parse.
    OptionalAttributeError = 9,
    /// 10: an NLRI prefix that does not parse.
    InvalidNetworkField = 10,
    /// 11: AS_PATH segments that do not parse.
    MalformedAsPath = 11,
}

/// What RFC 7606 tells a receiver to do with an UPDATE that carries an error,
/// from the least to the most severe; the most severe error in a message wins
/// (RFC 7606 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Treatment {
    /// Drop the attribute and process the rest (RFC 7606 §2).
    AttributeDiscard,
    /// Process every announced prefix as withdrawn (RFC 7606 §2).
    TreatAsWithdraw,
    /// Disable the family of a malformed MP attribute (RFC 4760 §7, RFC 7606 §5.3).
    AfiSafiDisable,
    /// Send a NOTIFICATION and close the session (RFC 4271 §6.3).
    SessionReset,
}

impl Treatment {
    /// The name used in `nodebgp decode` output.
    pub fn as_str(self) -> &'static str {
        match self {
            Treatment::AttributeDiscard => "attribute-discard",
            Treatment::TreatAsWithdraw => "treat-as-withdraw",
            Treatment::AfiSafiDisable => "afi-safi-disable",
            Treatment::SessionReset => "session-reset",
        }
    }
}

/// An error in an UPDATE message, with its RFC 7606 treatment and the data
/// field RFC 4271 §6.3 asks for should it become a NOTIFICATION.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct AttributeError {
    /// The RFC 4271 §6.3 subcode.
    pub subcode: UpdateSubcode,
    /// What RFC 7606 asks the receiver to do.
    pub treatment: Treatment,
    /// The attribute involved, when one is.
    pub attribute: Option<AttributeType>,
    /// The family to disable, for [`Treatment::AfiSafiDisable`].
    pub family: Option<Family>,
    /// The NOTIFICATION data field: usually the whole erroneous attribute.
    pub data: Bytes,
    /// A short explanation for people.
    pub detail: &'static str,
}

/// Errors in a ROUTE-REFRESH message (RFC 7313 §5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteRefreshError {
    /// A BoRR/EoRR message whose length is not 23 octets.
    #[error("invalid ROUTE-REFRESH message length {length}")]
    InvalidLength {
        /// The message length.
        length: u16,
        /// The whole message, which RFC 7313 §5 puts in the data field.
        message: Bytes,
    },
}

/// Anything in a received message that must end the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A message header error (code 1).
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// An OPEN message error (code 2).
    #[error(transparent)]
    Open(#[from] OpenError),
    /// An UPDATE error whose treatment is a session reset (code 3).
    #[error(transparent)]
    Update(#[from] AttributeError),
    /// A ROUTE-REFRESH message error (code 7).
    #[error(transparent)]
    RouteRefresh(#[from] RouteRefreshError),
}

impl DecodeError {
    /// The NOTIFICATION to send for this error: code, subcode and data field as
    /// RFC 4271 §6 and the RFCs that added subcodes prescribe.
    pub fn notification(&self) -> Notification {
        match self {
            DecodeError::Header(error) => {
                let (subcode, data) = match error {
                    HeaderError::ConnectionNotSynchronized => (1, Bytes::new()),
                    HeaderError::BadLength { length } => {
                        (2, Bytes::copy_from_slice(&length.to_be_bytes()))
                    }
                    HeaderError::BadType { message_type } => {
                        (3, Bytes::copy_from_slice(&[*message_type]))
                    }
                };
                Notification::new(ErrorCode::MESSAGE_HEADER, subcode, data)
            }
            DecodeError::Open(error) => {
                let (subcode, data) = match error {
                    // RFC 4271 §6.2: the data field carries the largest supported version.
                    OpenError::UnsupportedVersion { .. } => (1, Bytes::from_static(&[0, 4])),
                    OpenError::BadPeerAs { .. } => (2, Bytes::new()),
                    OpenError::BadBgpIdentifier { .. } => (3, Bytes::new()),
                    OpenError::UnsupportedOptionalParameter { .. } => (4, Bytes::new()),
                    OpenError::UnacceptableHoldTime { .. } => (6, Bytes::new()),
                    OpenError::UnsupportedCapability { capabilities } => (7, capabilities.clone()),
                    OpenError::Malformed { .. } => (0, Bytes::new()),
                };
                Notification::new(ErrorCode::OPEN_MESSAGE, subcode, data)
            }
            DecodeError::Update(error) => Notification::new(
                ErrorCode::UPDATE_MESSAGE,
                error.subcode as u8,
                error.data.clone(),
            ),
            DecodeError::RouteRefresh(RouteRefreshError::InvalidLength { message, .. }) => {
                Notification::new(ErrorCode::ROUTE_REFRESH_MESSAGE, 1, message.clone())
            }
        }
    }
}
