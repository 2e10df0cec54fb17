//! MRT routing information export format (RFC 6396), with the ADD-PATH extensions of RFC 8050.
//!
//! ```text
//!  common header (RFC 6396 §2)             BGP4MP_MESSAGE body (§4.4.2)
//!  0   timestamp (seconds)                 0   peer AS (2, or 4 for *_AS4)
//!  4   type          | subtype             .   local AS (2, or 4 for *_AS4)
//!  8   length (of the body)                .   interface index (2) | address family (2)
//!  12  body; for the _ET types (§3) it     .   peer IP (4 or 16) | local IP (4 or 16)
//!      starts with 4 octets of             .   BGP message, marker included
//!      microseconds, counted in length
//! ```
//!
//! Supported: BGP4MP (16) and BGP4MP_ET (17) messages and state changes, TABLE_DUMP_V2 (13)
//! peer index tables and RIB records, legacy TABLE_DUMP (12). Every other type or subtype is
//! returned as [`MrtRecord::Other`] so it can be counted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::cursor::{array_at, be16_at, be32_at, slice_at, u8_at};
use crate::{CapturedMessage, MrtHeaderInfo, Origin};

pub(crate) const COMMON_HEADER_LENGTH: usize = 12;

const TABLE_DUMP: u16 = 12;
const TABLE_DUMP_V2: u16 = 13;
const BGP4MP: u16 = 16;
const BGP4MP_ET: u16 = 17;

/// Address family numbers used by MRT (the IANA AFI values).
const AFI_IPV4: u16 = 1;
const AFI_IPV6: u16 = 2;

/// One MRT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MrtRecord {
    /// BGP4MP / BGP4MP_ET MESSAGE, MESSAGE_AS4, MESSAGE_LOCAL, MESSAGE_AS4_LOCAL and the RFC 8050
    /// ADDPATH variants (subtypes 1, 4, 6, 7, 8, 9, 10, 11). The bytes are the BGP message as
    /// recorded; a record cut short leaves a message for which
    /// [`CapturedMessage::is_whole`] is false.
    Message(CapturedMessage),
    /// BGP4MP STATE_CHANGE (0) and STATE_CHANGE_AS4 (5), RFC 6396 §4.4.1: BGP FSM states
    /// 1 Idle, 2 Connect, 3 Active, 4 OpenSent, 5 OpenConfirm, 6 Established.
    StateChange {
        /// Common header and peer fields of the record.
        header: MrtHeaderInfo,
        /// State before the change.
        old_state: u16,
        /// State after the change.
        new_state: u16,
    },
    /// TABLE_DUMP_V2 PEER_INDEX_TABLE (13/1), RFC 6396 §4.3.1: the peers that the RIB records
    /// of the dump refer to by index.
    PeerIndexTable {
        /// 1-based number of the record.
        record: u64,
        /// BGP identifier of the collector.
        collector_id: Ipv4Addr,
        /// View name (UTF-8 per RFC 6396; invalid sequences are replaced).
        view_name: String,
        /// Peers, in index order.
        peers: Vec<MrtPeer>,
    },
    /// TABLE_DUMP_V2 RIB_IPV4_UNICAST/MULTICAST, RIB_IPV6_UNICAST/MULTICAST (2, 3, 4, 5), their
    /// RFC 8050 ADDPATH forms (8, 9, 10, 11), and RIB_GENERIC (6), RFC 6396 §4.3.2–§4.3.3.
    ///
    /// `prefix` is the NLRI exactly as encoded (length octet, then the prefix octets); for
    /// RIB_GENERIC the same length-octet rule is assumed, which holds for the prefix-based
    /// SAFIs. Each entry carries its raw path-attribute block. Note that in RIB entries
    /// MP_REACH_NLRI is abbreviated to next-hop length and next hop (RFC 6396 §4.3.4): AFI,
    /// SAFI and NLRI are left out, so a decoder for UPDATE attributes must be told.
    RibEntries {
        /// 1-based number of the record.
        record: u64,
        /// Seconds since the Unix epoch, from the common header.
        timestamp: u32,
        /// TABLE_DUMP_V2 subtype.
        subtype: u16,
        /// Sequence number of the RIB record within the dump.
        sequence: u32,
        /// Address family (1 IPv4, 2 IPv6), implied by the subtype or read for RIB_GENERIC.
        afi: u16,
        /// Subsequent address family (1 unicast, 2 multicast), implied or read.
        safi: u8,
        /// Length octet followed by the prefix octets.
        prefix: Vec<u8>,
        /// One entry per peer that has a path to the prefix.
        entries: Vec<RibEntry>,
    },
    /// Legacy TABLE_DUMP (type 12), AFI_IPv4/IPv6 (subtypes 1 and 2), RFC 6396 §4.2: one entry
    /// with the prefix and attributes (2-octet AS numbers in attributes).
    TableDump {
        /// 1-based number of the record.
        record: u64,
        /// Seconds since the Unix epoch, from the common header.
        timestamp: u32,
        /// Address family, from the subtype.
        afi: u16,
        /// The prefix.
        prefix: IpAddr,
        /// Prefix length in bits.
        prefix_length: u8,
        /// Address of the peer the route came from.
        peer_address: IpAddr,
        /// AS number of that peer.
        peer_as: u16,
        /// Raw path-attribute block.
        attributes: Vec<u8>,
    },
    /// Any other type/subtype: skipped but counted.
    Other {
        /// 1-based number of the record.
        record: u64,
        /// MRT type.
        mrt_type: u16,
        /// MRT subtype.
        subtype: u16,
        /// Body length from the common header.
        length: u32,
    },
}

/// One path to a prefix in a TABLE_DUMP_V2 RIB record (RFC 6396 §4.3.4, RFC 8050 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RibEntry {
    /// Index into the peer index table.
    pub peer_index: u16,
    /// Time the route was received, seconds since the Unix epoch.
    pub originated_time: u32,
    /// Path identifier, present in the ADDPATH subtypes only.
    pub path_id: Option<u32>,
    /// Raw path-attribute block (with MP_REACH_NLRI abbreviated, see [`MrtRecord::RibEntries`]).
    pub attributes: Vec<u8>,
}

/// One peer of a PEER_INDEX_TABLE (RFC 6396 §4.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrtPeer {
    /// BGP identifier of the peer.
    pub bgp_id: Ipv4Addr,
    /// Address of the peer.
    pub address: IpAddr,
    /// AS number of the peer.
    pub asn: u32,
}

/// A record that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MrtError {
    /// The input ends inside a 12-octet common header; the iterator stops.
    #[error("MRT record {record} at offset {offset}: input ends {available} octets into the 12-octet common header")]
    TruncatedHeader {
        /// 1-based number the record would have had.
        record: u64,
        /// Offset of the header in the input.
        offset: usize,
        /// Octets present.
        available: usize,
    },
    /// The input ends before the body the common header announces; the iterator stops.
    #[error("MRT record {record} (type {mrt_type}, subtype {subtype}) at offset {offset}: body of {declared} octets announced, {available} present")]
    TruncatedBody {
        /// 1-based record number.
        record: u64,
        /// MRT type.
        mrt_type: u16,
        /// MRT subtype.
        subtype: u16,
        /// Offset of the record in the input.
        offset: usize,
        /// Body length from the common header.
        declared: u32,
        /// Octets present after the header.
        available: usize,
    },
    /// The body is shorter than the fields its type and subtype call for; the iterator goes on
    /// with the next record.
    #[error("MRT record {record} (type {mrt_type}, subtype {subtype}): body too short for {field} ({needed} octets needed at body offset {offset}, {available} left)")]
    ShortField {
        /// 1-based record number.
        record: u64,
        /// MRT type.
        mrt_type: u16,
        /// MRT subtype.
        subtype: u16,
        /// The field that did not fit.
        field: &'static str,
        /// Offset of the field in the body.
        offset: usize,
        /// Octets the field needs.
        needed: usize,
        /// Octets left in the body.
        available: usize,
    },
    /// An address family field other than 1 (IPv4) or 2 (IPv6), so the addresses that follow
    /// have no known length. Old Zebra dumps contain BGP4MP records that leave out the interface
    /// index, address family and addresses, which typically show up this way.
    #[error(
        "MRT record {record} (type {mrt_type}, subtype {subtype}): unknown address family {afi}"
    )]
    UnknownAddressFamily {
        /// 1-based record number.
        record: u64,
        /// MRT type.
        mrt_type: u16,
        /// MRT subtype.
        subtype: u16,
        /// The value found.
        afi: u16,
    },
    /// The common header announces a body larger than
    /// [`crate::MAX_RECORD_BODY`] (streamed input only); the iterator stops.
    #[error("MRT record {record} (type {mrt_type}, subtype {subtype}): body of {declared} octets announced, more than the {limit} accepted")]
    RecordTooLarge {
        /// 1-based record number.
        record: u64,
        /// MRT type.
        mrt_type: u16,
        /// MRT subtype.
        subtype: u16,
        /// Body length from the common header.
        declared: u32,
        /// The limit.
        limit: usize,
    },
    /// Reading the input failed (streamed input only); the iterator stops.
    #[error("MRT record {record} at offset {offset}: read error: {message}")]
    Read {
        /// 1-based number of the record being read.
        record: u64,
        /// Offset in the (inflated) input.
        offset: usize,
        /// The I/O error's text.
        message: String,
    },
    /// A prefix length above the address size of the record's family.
    #[error("MRT record {record} (type {mrt_type}, subtype {subtype}): prefix length {prefix_length} exceeds {maximum}")]
    PrefixTooLong {
        /// 1-based record number.
        record: u64,
        /// MRT type.
        mrt_type: u16,
        /// MRT subtype.
        subtype: u16,
        /// The prefix length found.
        prefix_length: u8,
        /// The address size in bits.
        maximum: u8,
    },
}

impl MrtError {
    /// The 1-based number of the record the error is about.
    #[must_use]
    pub fn record(&self) -> u64 {
        match self {
            Self::TruncatedHeader { record, .. }
            | Self::TruncatedBody { record, .. }
            | Self::ShortField { record, .. }
            | Self::UnknownAddressFamily { record, .. }
            | Self::PrefixTooLong { record, .. }
            | Self::RecordTooLarge { record, .. }
            | Self::Read { record, .. } => *record,
        }
    }

    /// The MRT type and subtype of the record, when its common header was readable.
    #[must_use]
    pub fn record_type(&self) -> Option<(u16, u16)> {
        match self {
            Self::TruncatedHeader { .. } | Self::Read { .. } => None,
            Self::TruncatedBody {
                mrt_type, subtype, ..
            }
            | Self::ShortField {
                mrt_type, subtype, ..
            }
            | Self::UnknownAddressFamily {
                mrt_type, subtype, ..
            }
            | Self::PrefixTooLong {
                mrt_type, subtype, ..
            }
            | Self::RecordTooLarge {
                mrt_type, subtype, ..
            } => Some((*mrt_type, *subtype)),
        }
    }
}

/// Iterator over the records of an MRT dump; see [`mrt_records`].
#[derive(Debug, Clone)]
pub struct MrtRecords<'a> {
    data: &'a [u8],
    offset: usize,
    record: u64,
    finished: bool,
}

/// Iterates over the records of an uncompressed MRT dump (RFC 6396). Gzip input must go
/// through [`crate::decompress_if_gzip`] first.
///
/// A record whose body is shorter than its fields yields `Err` and the iteration continues with
/// the next record. When the input ends inside a common header or before a body is complete,
/// an `Err` is yielded and the iteration ends.
#[must_use]
pub fn mrt_records(data: &[u8]) -> MrtRecords<'_> {
    MrtRecords {
        data,
        offset: 0,
        record: 0,
        finished: false,
    }
}

impl Iterator for MrtRecords<'_> {
    type Item = Result<MrtRecord, MrtError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished || self.offset >= self.data.len() {
            return None;
        }
        self.record += 1;
        let offset = self.offset;
        let rest = &self.data[offset..];
        let (Some(timestamp), Some(mrt_type), Some(subtype), Some(length)) = (
            be32_at(rest, 0),
            be16_at(rest, 4),
            be16_at(rest, 6),
            be32_at(rest, 8),
        ) else {
            self.finished = true;
            return Some(Err(MrtError::TruncatedHeader {
                record: self.record,
                offset,
                available: rest.len(),
            }));
        };
        let Some(body) = slice_at(rest, COMMON_HEADER_LENGTH, length as usize) else {
            self.finished = true;
            return Some(Err(MrtError::TruncatedBody {
                record: self.record,
                mrt_type,
                subtype,
                offset,
                declared: length,
                available: rest.len() - COMMON_HEADER_LENGTH,
            }));
        };
        self.offset = offset + COMMON_HEADER_LENGTH + body.len();
        let header = CommonHeader {
            record: self.record,
            timestamp,
            mrt_type,
            subtype,
            length,
        };
        Some(read_record(header, body))
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct CommonHeader {
    pub(crate) record: u64,
    pub(crate) timestamp: u32,
    pub(crate) mrt_type: u16,
    pub(crate) subtype: u16,
    pub(crate) length: u32,
}

/// Reads the fields of one record body in order, turning a short body into
/// [`MrtError::ShortField`] that names the field.
struct BodyReader<'a> {
    header: CommonHeader,
    body: &'a [u8],
    position: usize,
}

impl<'a> BodyReader<'a> {
    fn short(&self, field: &'static str, needed: usize) -> MrtError {
        MrtError::ShortField {
            record: self.header.record,
            mrt_type: self.header.mrt_type,
            subtype: self.header.subtype,
            field,
            offset: self.position,
            needed,
            available: self.body.len().saturating_sub(self.position),
        }
    }

    fn bytes(&mut self, length: usize, field: &'static str) -> Result<&'a [u8], MrtError> {
        let bytes =
            slice_at(self.body, self.position, length).ok_or_else(|| self.short(field, length))?;
        self.position += length;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], MrtError> {
        let array = array_at::<N>(self.body, self.position).ok_or_else(|| self.short(field, N))?;
        self.position += N;
        Ok(array)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, MrtError> {
        let value = u8_at(self.body, self.position).ok_or_else(|| self.short(field, 1))?;
        self.position += 1;
        Ok(value)
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, MrtError> {
        self.array(field).map(u16::from_be_bytes)
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, MrtError> {
        self.array(field).map(u32::from_be_bytes)
    }

    fn asn(&mut self, four_octets: bool, field: &'static str) -> Result<u32, MrtError> {
        if four_octets {
            self.u32(field)
        } else {
            self.u16(field).map(u32::from)
        }
    }

    fn address(&mut self, ipv6: bool, field: &'static str) -> Result<IpAddr, MrtError> {
        if ipv6 {
            self.array::<16>(field)
                .map(|octets| IpAddr::V6(Ipv6Addr::from(octets)))
        } else {
            self.array::<4>(field)
                .map(|octets| IpAddr::V4(Ipv4Addr::from(octets)))
        }
    }

    /// Address family 1 or 2 as "is IPv6", anything else as an error.
    fn address_family(&self, afi: u16) -> Result<bool, MrtError> {
        match afi {
            AFI_IPV4 => Ok(false),
            AFI_IPV6 => Ok(true),
            _ => Err(MrtError::UnknownAddressFamily {
                record: self.header.record,
                mrt_type: self.header.mrt_type,
                subtype: self.header.subtype,
                afi,
            }),
        }
    }

    fn rest(&mut self) -> &'a [u8] {
        let rest = self.body.get(self.position..).unwrap_or_default();
        self.position = self.body.len();
        rest
    }

    fn remaining(&self) -> usize {
        self.body.len().saturating_sub(self.position)
    }

    /// A prefix as encoded in NLRI: a length octet, then just enough octets for that many bits.
    fn prefix(&mut self, maximum_bits: Option<u8>) -> Result<(u8, &'a [u8]), MrtError> {
        let length = self.u8("prefix length")?;
        if let Some(maximum) = maximum_bits.filter(|maximum| length > *maximum) {
            return Err(MrtError::PrefixTooLong {
                record: self.header.record,
                mrt_type: self.header.mrt_type,
                subtype: self.header.subtype,
                prefix_length: length,
                maximum,
            });
        }
        let octets = self.bytes(usize::from(length).div_ceil(8), "prefix")?;
        Ok((length, octets))
    }

    fn other(&self) -> MrtRecord {
        MrtRecord::Other {
            record: self.header.record,
            mrt_type: self.header.mrt_type,
            subtype: self.header.subtype,
            length: self.header.length,
        }
    }
}

pub(crate) fn read_record(header: CommonHeader, body: &[u8]) -> Result<MrtRecord, MrtError> {
    let mut reader = BodyReader {
        header,
        body,
        position: 0,
    };
    match header.mrt_type {
        BGP4MP | BGP4MP_ET => bgp4mp(&mut reader),
        TABLE_DUMP_V2 => table_dump_v2(&mut reader),
        TABLE_DUMP => table_dump(&mut reader),
        _ => Ok(reader.other()),
    }
}

/// What a BGP4MP subtype holds (RFC 6396 §4.4, RFC 8050 §3).
struct Bgp4mpLayout {
    state_change: bool,
    four_octet_asn: bool,
    add_path: bool,
}

fn bgp4mp_layout(subtype: u16) -> Option<Bgp4mpLayout> {
    let (state_change, four_octet_asn, add_path) = match subtype {
        0 => (true, false, false),  // STATE_CHANGE
        5 => (true, true, false),   // STATE_CHANGE_AS4
        1 => (false, false, false), // MESSAGE
        4 => (false, true, false),  // MESSAGE_AS4
        6 => (false, false, false), // MESSAGE_LOCAL
        7 => (false, true, false),  // MESSAGE_AS4_LOCAL
        8 => (false, false, true),  // MESSAGE_ADDPATH
        9 => (false, true, true),   // MESSAGE_AS4_ADDPATH
        10 => (false, false, true), // MESSAGE_LOCAL_ADDPATH
        11 => (false, true, true),  // MESSAGE_AS4_LOCAL_ADDPATH
        _ => return None,
    };
    Some(Bgp4mpLayout {
        state_change,
        four_octet_asn,
        add_path,
    })
}

fn bgp4mp(reader: &mut BodyReader<'_>) -> Result<MrtRecord, MrtError> {
    let header = reader.header;
    let Some(layout) = bgp4mp_layout(header.subtype) else {
        return Ok(reader.other());
    };
    // RFC 6396 §3: the _ET types put a microsecond timestamp first, counted in the length.
    let microseconds = if header.mrt_type == BGP4MP_ET {
        Some(reader.u32("BGP4MP_ET microsecond timestamp")?)
    } else {
        None
    };
    let peer_as = reader.asn(layout.four_octet_asn, "peer AS")?;
    let local_as = reader.asn(layout.four_octet_asn, "local AS")?;
    let interface_index = reader.u16("interface index")?;
    let afi = reader.u16("address family")?;
    let ipv6 = reader.address_family(afi)?;
    let peer_address = reader.address(ipv6, "peer IP address")?;
    let local_address = reader.address(ipv6, "local IP address")?;
    let info = MrtHeaderInfo {
        record: header.record,
        timestamp: header.timestamp,
        microseconds,
        mrt_type: header.mrt_type,
        subtype: header.subtype,
        peer_as,
        local_as,
        peer_address,
        local_address,
        interface_index,
        four_octet_asn: layout.four_octet_asn,
        add_path: layout.add_path,
    };
    if layout.state_change {
        let old_state = reader.u16("old state")?;
        let new_state = reader.u16("new state")?;
        return Ok(MrtRecord::StateChange {
            header: info,
            old_state,
            new_state,
        });
    }
    Ok(MrtRecord::Message(CapturedMessage {
        bytes: reader.rest().to_vec(),
        origin: Origin::Mrt(info),
    }))
}

fn table_dump_v2(reader: &mut BodyReader<'_>) -> Result<MrtRecord, MrtError> {
    let header = reader.header;
    // (afi, safi, add_path) per RIB subtype, RFC 6396 §4.3.2 and RFC 8050 §4.1.
    let (afi, safi, add_path) = match header.subtype {
        1 => return peer_index_table(reader),
        2 => (AFI_IPV4, 1, false),
        3 => (AFI_IPV4, 2, false),
        4 => (AFI_IPV6, 1, false),
        5 => (AFI_IPV6, 2, false),
        8 => (AFI_IPV4, 1, true),
        9 => (AFI_IPV4, 2, true),
        10 => (AFI_IPV6, 1, true),
        11 => (AFI_IPV6, 2, true),
        6 => return rib_generic(reader),
        // GEO_PEER_TABLE (7, RFC 6397) carries no routes. RIB_GENERIC_ADDPATH (12) is left
        // alone: RFC 8050 puts its path identifier in a place that GoBGP and OpenBGPD do not,
        // so neither reading can be trusted.
        _ => return Ok(reader.other()),
    };
    let sequence = reader.u32("sequence number")?;
    let maximum = if afi == AFI_IPV4 { 32 } else { 128 };
    let (length, octets) = reader.prefix(Some(maximum))?;
    rib_entries(reader, sequence, afi, safi, length, octets, add_path)
}

/// RIB_GENERIC (RFC 6396 §4.3.3): the address family is read from the body.
fn rib_generic(reader: &mut BodyReader<'_>) -> Result<MrtRecord, MrtError> {
    let sequence = reader.u32("sequence number")?;
    let afi = reader.u16("address family")?;
    let safi = reader.u8("subsequent address family")?;
    let (length, octets) = reader.prefix(None)?;
    rib_entries(reader, sequence, afi, safi, length, octets, false)
}

fn rib_entries(
    reader: &mut BodyReader<'_>,
    sequence: u32,
    afi: u16,
    safi: u8,
    prefix_length: u8,
    prefix_octets: &[u8],
    add_path: bool,
) -> Result<MrtRecord, MrtError> {
    let count = reader.u16("entry count")?;
    // An entry takes at least 8 octets (12 with a path identifier), so the capacity is bounded
    // by the body even when the count is not.
    let mut entries = Vec::with_capacity(usize::from(count).min(reader.remaining() / 8));
    for _ in 0..count {
        let peer_index = reader.u16("RIB entry peer index")?;
        let originated_time = reader.u32("RIB entry originated time")?;
        let path_id = if add_path {
            Some(reader.u32("RIB entry path identifier")?)
        } else {
            None
        };
        let attribute_length = reader.u16("RIB entry attribute length")?;
        let attributes = reader
            .bytes(usize::from(attribute_length), "RIB entry attributes")?
            .to_vec();
        entries.push(RibEntry {
            peer_index,
            originated_time,
            path_id,
            attributes,
        });
    }
    let mut prefix = Vec::with_capacity(1 + prefix_octets.len());
    prefix.push(prefix_length);
    prefix.extend_from_slice(prefix_octets);
    Ok(MrtRecord::RibEntries {
        record: reader.header.record,
        timestamp: reader.header.timestamp,
        subtype: reader.header.subtype,
        sequence,
        afi,
        safi,
        prefix,
        entries,
    })
}

/// PEER_INDEX_TABLE, RFC 6396 §4.3.1.
fn peer_index_table(reader: &mut BodyReader<'_>) -> Result<MrtRecord, MrtError> {
    let collector_id = Ipv4Addr::from(reader.array::<4>("collector BGP ID")?);
    let name_length = reader.u16("view name length")?;
    let view_name =
        String::from_utf8_lossy(reader.bytes(usize::from(name_length), "view name")?).into_owned();
    let count = reader.u16("peer count")?;
    // A peer entry takes at least 1 + 4 + 4 + 2 octets.
    let mut peers = Vec::with_capacity(usize::from(count).min(reader.remaining() / 11));
    for _ in 0..count {
        let peer_type = reader.u8("peer type")?;
        // Peer type bit 0: IPv6 address; bit 1: 4-octet AS number.
        let ipv6 = peer_type & 0x01 != 0;
        let four_octet_asn = peer_type & 0x02 != 0;
        let bgp_id = Ipv4Addr::from(reader.array::<4>("peer BGP ID")?);
        let address = reader.address(ipv6, "peer IP address")?;
        let asn = reader.asn(four_octet_asn, "peer AS")?;
        peers.push(MrtPeer {
            bgp_id,
            address,
            asn,
        });
    }
    Ok(MrtRecord::PeerIndexTable {
        record: reader.header.record,
        collector_id,
        view_name,
        peers,
    })
}

/// Legacy TABLE_DUMP, RFC 6396 §4.2; the subtype is the address family.
fn table_dump(reader: &mut BodyReader<'_>) -> Result<MrtRecord, MrtError> {
    let header = reader.header;
    let ipv6 = reader.address_family(header.subtype)?;
    // View number and sequence number: bookkeeping of the dumping process.
    reader.bytes(4, "view and sequence numbers")?;
    let prefix = reader.address(ipv6, "prefix")?;
    let prefix_length = reader.u8("prefix length")?;
    let maximum = if ipv6 { 128 } else { 32 };
    if prefix_length > maximum {
        return Err(MrtError::PrefixTooLong {
            record: header.record,
            mrt_type: header.mrt_type,
            subtype: header.subtype,
            prefix_length,
            maximum,
        });
    }
    // Status (unused, RFC 6396 §4.2) and originated time.
    reader.bytes(5, "status and originated time")?;
    let peer_address = reader.address(ipv6, "peer IP address")?;
    let peer_as = reader.u16("peer AS")?;
    let attribute_length = reader.u16("attribute length")?;
    let attributes = reader
        .bytes(usize::from(attribute_length), "attributes")?
        .to_vec();
    Ok(MrtRecord::TableDump {
        record: header.record,
        timestamp: header.timestamp,
        afi: header.subtype,
        prefix,
        prefix_length,
        peer_address,
        peer_as,
        attributes,
    })
}
