//! Pulls raw BGP messages out of packet captures and MRT dumps.
//!
//! # Contract
//!
//! * **Input is a byte slice or a reader the caller opened.** Every entry point takes `&[u8]`
//!   that the caller has already read (from a file, a socket, a fuzzer), except [`mrt_stream`],
//!   which reads records one at a time from any `std::io::Read` in memory bounded by the largest
//!   record. Nothing here opens files, reads the clock or touches the network.
//! * **Only the BGP header is understood.** The readers know the 19-octet header of RFC 4271 §4.1
//!   (16-octet marker, 2-octet length, 1-octet type) and use it only to split a TCP byte stream
//!   into messages. The marker is not checked and message bodies are not parsed: the returned
//!   bytes go to a decoder (such as `bgp-wire`) that reports what is wrong with them.
//! * **Hostile input is expected.** No input makes these functions panic; every allocation whose
//!   size comes from the input is capped by the number of input octets that remain; work is
//!   linear in the input size.
//!
//! ```text
//!  pcap / pcapng bytes ──► frames ──► link layer ──► IPv4/IPv6 ──► TCP segments
//!                                                                      │
//!                           per-direction reassembly by sequence number ◄┘
//!                                          │
//!                      framing by the BGP header length ──► CapturedMessage (Origin::Pcap)
//!
//!  MRT bytes (decompress_if_gzip first) ──► mrt_records ──► MrtRecord::Message (Origin::Mrt), …
//! ```
//!
//! # Formats
//!
//! * **pcap** (both byte orders, microsecond and nanosecond magic) and **pcapng** (Section Header
//!   Blocks of either byte order, Interface Description, Enhanced Packet, Simple Packet and the
//!   obsolete Packet Block; every other block is skipped). The format is recognised by its magic
//!   number, never by a file name.
//! * Link types: BSD loopback/null (0) and OpenBSD loopback (108), Ethernet (1) with any number
//!   of 802.1Q/802.1ad VLAN tags, raw IP (101, 228, 229), Linux cooked capture SLL (113) and
//!   SLL2 (276).
//! * IPv4 with options, IPv6 with hop-by-hop, routing, destination-options and authentication
//!   extension headers, TCP with options.
//! * **MRT** (RFC 6396, with the RFC 8050 ADD-PATH subtypes): BGP4MP and BGP4MP_ET messages and
//!   state changes, TABLE_DUMP_V2 peer index tables and RIB records, legacy TABLE_DUMP. Gzip input
//!   is unwrapped by [`decompress_if_gzip`] with a caller-chosen output limit.
//!
//! # Damaged input
//!
//! * [`messages_from_capture`] returns `Err` only when the input is not a capture at all (unknown
//!   magic, file header cut short). Everything else — a file cut mid-record, truncated frames,
//!   IP fragments, gaps in a TCP stream, a message cut off at the end, a header whose length field
//!   is below 19 — is reported as a [`StreamProblem`] next to the messages that could be
//!   recovered. After a length below 19 the flow cannot be framed any more: the rest of its bytes
//!   are returned as one [`CapturedMessage`] for which [`CapturedMessage::is_whole`] is false.
//! * [`mrt_records`] yields `Err(MrtError)` for a record whose body is shorter than its fields
//!   say, and then carries on with the next record; only when a common header or a body is cut
//!   off by the end of the input does the iterator stop.

mod capture;
mod cursor;
mod mrt;
mod mrt_stream;
mod packet;
mod pcap;
mod pcapng;
mod problem;
mod tcp;

use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};

pub use capture::{messages_from_capture, CaptureMessages};
pub use mrt::{mrt_records, MrtError, MrtPeer, MrtRecord, MrtRecords, RibEntry};
pub use mrt_stream::{inflate_if_gzip, mrt_stream, MrtStream, MAX_RECORD_BODY};
pub use problem::{BlockDefect, StreamProblem};

/// Octets in a BGP message header (RFC 4271 §4.1): marker (16), length (2), type (1).
pub const BGP_HEADER_LENGTH: usize = 19;

/// One direction of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Address and port the segments come from.
    pub source: SocketAddr,
    /// Address and port the segments go to.
    pub destination: SocketAddr,
}

impl fmt::Display for Flow {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} -> {}", self.source, self.destination)
    }
}

/// A BGP message (whole, header included, exactly `length` octets as its header says) or a
/// damaged tail (see [`CapturedMessage::is_whole`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedMessage {
    /// The message octets, starting with the 16-octet marker.
    pub bytes: Vec<u8>,
    /// Where the message was found.
    pub origin: Origin,
}

impl CapturedMessage {
    /// The length field of the header (octets 16..18), if there are enough octets to hold it.
    #[must_use]
    pub fn declared_length(&self) -> Option<u16> {
        match self.bytes.get(16..18) {
            Some(&[high, low]) => Some(u16::from_be_bytes([high, low])),
            _ => None,
        }
    }

    /// The type octet of the header (octet 18), if present: 1 OPEN, 2 UPDATE, 3 NOTIFICATION,
    /// 4 KEEPALIVE, 5 ROUTE-REFRESH.
    #[must_use]
    pub fn message_type(&self) -> Option<u8> {
        self.bytes.get(18).copied()
    }

    /// True when the bytes hold a full header whose length field equals the number of bytes.
    ///
    /// False for the remainder of a flow whose framing stopped at a length below 19, and for an
    /// MRT record whose BGP message is cut short.
    #[must_use]
    pub fn is_whole(&self) -> bool {
        self.bytes.len() >= BGP_HEADER_LENGTH
            && self.declared_length().map(usize::from) == Some(self.bytes.len())
    }
}

/// Where a [`CapturedMessage`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Reassembled from TCP segments in a packet capture.
    Pcap {
        /// The TCP direction that carried the message.
        flow: Flow,
        /// 1-based number of the capture frame whose payload completed the message (as
        /// Wireshark numbers frames: every packet record counts, BGP or not).
        frame: u64,
        /// Capture timestamp of that frame, in microseconds since the Unix epoch.
        timestamp_micros: u64,
    },
    /// Read from a BGP4MP or BGP4MP_ET record of an MRT dump.
    Mrt(MrtHeaderInfo),
}

/// The MRT common header and BGP4MP fields of the record a message or state change came from
/// (RFC 6396 §2 and §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrtHeaderInfo {
    /// 1-based number of the record in the dump.
    pub record: u64,
    /// Seconds since the Unix epoch, from the MRT common header.
    pub timestamp: u32,
    /// The microsecond field of a BGP4MP_ET record (RFC 6396 §3); `None` for BGP4MP.
    pub microseconds: Option<u32>,
    /// MRT type: 16 BGP4MP or 17 BGP4MP_ET.
    pub mrt_type: u16,
    /// MRT subtype (RFC 6396 §4.4, RFC 8050 §3).
    pub subtype: u16,
    /// AS number of the peer.
    pub peer_as: u32,
    /// AS number of the collector.
    pub local_as: u32,
    /// Address of the peer.
    pub peer_address: IpAddr,
    /// Address of the collector.
    pub local_address: IpAddr,
    /// Interface index field (usually 0).
    pub interface_index: u16,
    /// true for the *_AS4 subtypes (RFC 6396 §4.4): AS numbers inside the BGP message are 4
    /// octets.
    pub four_octet_asn: bool,
    /// true for the RFC 8050 *_ADDPATH subtypes: NLRI carry path identifiers.
    pub add_path: bool,
}

/// Errors that make a whole input unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The first octets match neither pcap nor pcapng magic.
    #[error("not a pcap or pcapng capture: magic {magic:02x?}")]
    UnknownFormat {
        /// Up to four leading octets of the input.
        magic: Vec<u8>,
    },
    /// The input ends inside the file header.
    #[error("capture file header cut short: {what} needs {needed} octets, {available} present")]
    TruncatedFileHeader {
        /// Which header.
        what: &'static str,
        /// Octets the header needs.
        needed: usize,
        /// Octets present.
        available: usize,
    },
    /// The first pcapng block announces a byte-order magic that is neither 0x1A2B3C4D nor its
    /// byte swap, so no length in the file can be read.
    #[error("pcapng section header has byte-order magic {magic:02x?}")]
    UnknownByteOrder {
        /// The four octets found.
        magic: [u8; 4],
    },
    /// Gzip data could not be inflated.
    #[error("gzip input could not be decompressed: {0}")]
    Gzip(#[source] std::io::Error),
    /// Inflating gzip data would produce more than the caller's limit.
    #[error("gzip input inflates to more than the limit of {limit} octets")]
    DecompressedTooLarge {
        /// The caller's limit in octets.
        limit: usize,
    },
}

/// Returns the input inflated when it starts with the gzip magic `1f 8b` (RFC 1952 §2.3.1),
/// otherwise the input itself.
///
/// Concatenated gzip members are inflated one after the other, as `gzip -d` does. Inflating
/// stops with [`CaptureError::DecompressedTooLarge`] as soon as the output would exceed `limit`
/// octets, so a small hostile input cannot demand unbounded memory.
pub fn decompress_if_gzip(data: &[u8], limit: usize) -> Result<Cow<'_, [u8]>, CaptureError> {
    if !data.starts_with(&[0x1f, 0x8b]) {
        return Ok(Cow::Borrowed(data));
    }
    let decoder = flate2::read::MultiGzDecoder::new(data);
    // One octet over the limit is read to tell "exactly limit" from "more than limit".
    let read_limit = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut output = Vec::new();
    decoder
        .take(read_limit)
        .read_to_end(&mut output)
        .map_err(CaptureError::Gzip)?;
    if output.len() > limit {
        return Err(CaptureError::DecompressedTooLarge { limit });
    }
    Ok(Cow::Owned(output))
}
