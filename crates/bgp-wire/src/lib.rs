//! # bgp-wire: the BGP-4 wire codec of nodebgp
//!
//! Sans-IO: this crate reads and writes octets and nothing else. It opens no
//! socket, reads no clock, spawns nothing; the session driver above it owns the
//! TCP stream and hands complete frames down, and gets octets back.
//!
//! ```text
//!   TCP bytes ──► split_frame (header checks, RFC 4271 §6.1) ──► Bytes frame
//!                                                                   │
//!   CodecContext (4-octet AS, ADD-PATH, extended message) ──► Message::decode
//!                                                                   │
//!                    Ok(Received { message, errors })   ◄───────────┤
//!                    Err(DecodeError) ── .notification() ──► NOTIFICATION
//!
//!   Message ──► Message::encode(context, &mut BytesMut) ──► octets (UPDATEs split to fit)
//! ```
//!
//! ## Contract
//! - Any input is safe: no panic, allocation bounded by the input's size, time
//!   linear in it. Frames are at most 4096 octets, or 65535 once RFC 8654 is
//!   negotiated.
//! - An error that must end the session is a [`DecodeError`]; each knows the
//!   NOTIFICATION code, subcode and data field RFC 4271 §6 asks for.
//! - UPDATE attribute errors follow RFC 7606: the message still decodes, and
//!   [`Received::errors`] lists each error with its [`Treatment`]
//!   (attribute-discard, treat-as-withdraw, afi-safi-disable); the most severe
//!   wins. Only a session reset is an `Err`.
//! - What is not modelled is kept: unknown capabilities, attributes and
//!   families round-trip byte for byte.

mod attribute;
mod batch;
mod capability;
mod error;
mod header;
mod message;
mod nlri;
mod notification;
mod open;
mod reader;
mod route_refresh;
mod types;
mod update;

pub use attribute::{
    Aggregator, AsPath, AsPathError, AttributeFlags, AttributeType, AttributeValue, ClusterId,
    ClusterList, Communities, Community, ExtendedCommunities, ExtendedCommunity, ItemList,
    LargeCommunities, LargeCommunity, ListItem, MpNlri, MpReach, MpUnreach, Origin, PathAttribute,
    Segment, SegmentKind,
};
pub use batch::{Frames, UpdateBatch};
pub use capability::{
    AddPathDirection, Capability, CapabilityCode, ExtendedNextHop, GracefulRestart,
    GracefulRestartFamily, LongLivedFamily,
};
pub use error::{
    AttributeError, DecodeError, HeaderError, OpenError, RouteRefreshError, Treatment,
    UpdateSubcode,
};
pub use header::{
    frame_length, split_frame, MessageType, HEADER_LENGTH, MAX_EXTENDED_MESSAGE_LENGTH,
    MAX_MESSAGE_LENGTH,
};
pub use message::{Message, Received};
pub use nlri::{decode_nlri_field, Nlri, NlriList};
pub use notification::{cease, ErrorCode, Notification, MAX_SHUTDOWN_COMMUNICATION};
pub use open::{decode_parameters, Open, OptionalParameter, CAPABILITIES_PARAMETER};
pub use route_refresh::{RouteRefresh, RouteRefreshSubtype};
pub use types::{Afi, Asn, AsnParseError, Family, HoldTime, RouterId, Safi};
pub use update::{most_severe, EncodeError, Update};

/// What was negotiated for one direction of a session, which decides how
/// messages are read and written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecContext {
    /// Both sides sent the 4-octet AS capability (RFC 6793 §4): AS_PATH and
    /// AGGREGATOR carry four-octet numbers.
    pub four_octet_asn: bool,
    /// Families whose NLRI carry ADD-PATH path identifiers in this direction
    /// (RFC 7911 §3).
    pub add_path: Vec<Family>,
    /// Both sides sent the Extended Message capability (RFC 8654).
    pub extended_message: bool,
    /// IPv6 families for which the Extended Next Hop capability (RFC 8950 §3)
    /// allows an IPv4 next hop. IPv4 families always accept an IPv6 next hop:
    /// that is the one combination RFC 8950 defines, and reading it costs nothing.
    pub extended_next_hop: Vec<Family>,
    /// The peer is in another AS (eBGP, and not within one administrative
    /// domain), which changes a few RFC 7606 treatments (§7.5).
    pub external_peer: bool,
    /// Set only to read TABLE_DUMP_V2 RIB entries, whose MP_REACH_NLRI is cut
    /// down to the next hop (RFC 6396 §4.3.4); the family comes from the record.
    pub table_dump_family: Option<Family>,
}

impl Default for CodecContext {
    /// A modern session: 4-octet AS numbers, no ADD-PATH, 4096-octet messages.
    fn default() -> Self {
        CodecContext {
            four_octet_asn: true,
            add_path: Vec::new(),
            extended_message: false,
            extended_next_hop: Vec::new(),
            external_peer: false,
            table_dump_family: None,
        }
    }
}

impl CodecContext {
    /// Whether NLRI of `family` carry path identifiers.
    pub fn add_path_receive(&self, family: Family) -> bool {
        self.add_path.contains(&family)
    }

    /// The largest message allowed.
    pub fn max_message_length(&self) -> usize {
        if self.extended_message {
            MAX_EXTENDED_MESSAGE_LENGTH
        } else {
            MAX_MESSAGE_LENGTH
        }
    }
}

/// Reads a Path Attributes field on its own, as MRT RIB entries carry it
/// (RFC 6396 §4.3.4): the attributes kept, and the errors found.
pub fn decode_path_attributes(
    field: &bytes::Bytes,
    context: &CodecContext,
) -> (Vec<PathAttribute>, Vec<AttributeError>) {
    let mut attributes = Vec::with_capacity(8);
    let mut errors = Vec::new();
    attribute::decode_attributes(field, 0..field.len(), context, &mut attributes, &mut errors);
    (attributes, errors)
}
