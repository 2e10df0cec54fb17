//! Path attributes (RFC 4271 §4.3, §5) and their receive-side checks, with the
//! revised error handling of RFC 7606.
//!
//! ```text
//! +---------------------------+--------------+------------------------+-------------+
//! | Flags (1): O T P E 0 0 0 0 | Type code (1) | Length (1, or 2 if E) | Value       |
//! +---------------------------+--------------+------------------------+-------------+
//! ```

mod as_path;
mod lists;
mod multiprotocol;

use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};

pub use as_path::{AsPath, AsPathError, Segment, SegmentKind};
pub use lists::{
    ClusterId, ClusterList, Communities, Community, ExtendedCommunities, ExtendedCommunity,
    ItemList, LargeCommunities, LargeCommunity, ListItem,
};
pub use multiprotocol::{MpNlri, MpReach, MpUnreach};

use crate::error::{AttributeError, Treatment, UpdateSubcode};
use crate::types::{code_point, Asn};
use crate::CodecContext;
use multiprotocol::MpError;

code_point! {
    /// Path attribute type codes ([IANA bgp-parameters-2]).
    AttributeType(u8) {
        /// RFC 4271
        ORIGIN = 1 => "ORIGIN",
        /// RFC 4271
        AS_PATH = 2 => "AS_PATH",
        /// RFC 4271
        NEXT_HOP = 3 => "NEXT_HOP",
        /// RFC 4271
        MULTI_EXIT_DISC = 4 => "MULTI_EXIT_DISC",
        /// RFC 4271
        LOCAL_PREF = 5 => "LOCAL_PREF",
        /// RFC 4271
        ATOMIC_AGGREGATE = 6 => "ATOMIC_AGGREGATE",
        /// RFC 4271
        AGGREGATOR = 7 => "AGGREGATOR",
        /// RFC 1997
        COMMUNITIES = 8 => "COMMUNITIES",
        /// RFC 4456
        ORIGINATOR_ID = 9 => "ORIGINATOR_ID",
        /// RFC 4456
        CLUSTER_LIST = 10 => "CLUSTER_LIST",
        /// RFC 4760
        MP_REACH_NLRI = 14 => "MP_REACH_NLRI",
        /// RFC 4760
        MP_UNREACH_NLRI = 15 => "MP_UNREACH_NLRI",
        /// RFC 4360
        EXTENDED_COMMUNITIES = 16 => "EXTENDED_COMMUNITIES",
        /// RFC 6793
        AS4_PATH = 17 => "AS4_PATH",
        /// RFC 6793
        AS4_AGGREGATOR = 18 => "AS4_AGGREGATOR",
        /// RFC 6514
        PMSI_TUNNEL = 22 => "PMSI_TUNNEL",
        /// RFC 9012
        TUNNEL_ENCAPSULATION = 23 => "TUNNEL_ENCAPSULATION",
        /// RFC 5701
        IPV6_EXTENDED_COMMUNITIES = 25 => "IPV6_EXTENDED_COMMUNITIES",
        /// RFC 7311
        AIGP = 26 => "AIGP",
        /// RFC 7752
        BGP_LS = 29 => "BGP_LS",
        /// RFC 8092
        LARGE_COMMUNITY = 32 => "LARGE_COMMUNITY",
        /// RFC 8205
        BGPSEC_PATH = 33 => "BGPSEC_PATH",
        /// RFC 9234
        ONLY_TO_CUSTOMER = 35 => "OTC",
        /// RFC 8669
        PREFIX_SID = 40 => "PREFIX_SID",
        /// RFC 6368
        ATTR_SET = 128 => "ATTR_SET",
    }
}

/// The attribute flags octet (RFC 4271 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttributeFlags(pub u8);

impl AttributeFlags {
    /// Optional (else well-known).
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial: an optional transitive attribute some router did not recognise.
    pub const PARTIAL: u8 = 0x20;
    /// The length field takes two octets.
    pub const EXTENDED_LENGTH: u8 = 0x10;

    /// Well-known, hence transitive.
    pub const WELL_KNOWN: AttributeFlags = AttributeFlags(Self::TRANSITIVE);
    /// Optional transitive.
    pub const OPTIONAL_TRANSITIVE: AttributeFlags =
        AttributeFlags(Self::OPTIONAL | Self::TRANSITIVE);
    /// Optional non-transitive.
    pub const OPTIONAL_NON_TRANSITIVE: AttributeFlags = AttributeFlags(Self::OPTIONAL);

    /// Whether the optional bit is set.
    pub fn is_optional(self) -> bool {
        self.0 & Self::OPTIONAL != 0
    }
    /// Whether the transitive bit is set.
    pub fn is_transitive(self) -> bool {
        self.0 & Self::TRANSITIVE != 0
    }
    /// Whether the partial bit is set.
    pub fn is_partial(self) -> bool {
        self.0 & Self::PARTIAL != 0
    }
    /// Whether the extended length bit is set.
    pub fn is_extended_length(self) -> bool {
        self.0 & Self::EXTENDED_LENGTH != 0
    }
}

/// ORIGIN values (RFC 4271 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// 0: learned from an interior protocol.
    Igp = 0,
    /// 1: learned through EGP.
    Egp = 1,
    /// 2: learned some other way.
    Incomplete = 2,
}

impl Origin {
    /// The lower-case name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Igp => "igp",
            Origin::Egp => "egp",
            Origin::Incomplete => "incomplete",
        }
    }
}

/// AGGREGATOR and AS4_AGGREGATOR values (RFC 4271 §5.1.7, RFC 6793 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aggregator {
    /// The AS that formed the aggregate.
    pub asn: Asn,
    /// The BGP speaker that formed it.
    pub address: Ipv4Addr,
}

/// A path attribute's value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttributeValue {
    /// ORIGIN.
    Origin(Origin),
    /// AS_PATH (numbers widened to four octets).
    AsPath(AsPath),
    /// NEXT_HOP.
    NextHop(Ipv4Addr),
    /// MULTI_EXIT_DISC.
    MultiExitDisc(u32),
    /// LOCAL_PREF.
    LocalPref(u32),
    /// ATOMIC_AGGREGATE.
    AtomicAggregate,
    /// AGGREGATOR.
    Aggregator(Aggregator),
    /// COMMUNITIES.
    Communities(Communities),
    /// ORIGINATOR_ID.
    OriginatorId(Ipv4Addr),
    /// CLUSTER_LIST.
    ClusterList(ClusterList),
    /// MP_REACH_NLRI. Not boxed, though it makes every attribute 40 octets
    /// larger: a decoded UPDATE lives only until the RIB has taken it in, and
    /// the allocation a box costs every IPv6 UPDATE was 1.4 % of decoding the
    /// RIS input (benches/RESULTS.md 6.21).
    MpReach(MpReach),
    /// MP_UNREACH_NLRI.
    MpUnreach(MpUnreach),
    /// EXTENDED_COMMUNITIES.
    ExtendedCommunities(ExtendedCommunities),
    /// AS4_PATH.
    As4Path(AsPath),
    /// AS4_AGGREGATOR.
    As4Aggregator(Aggregator),
    /// LARGE_COMMUNITY.
    LargeCommunities(LargeCommunities),
    /// Any attribute not modelled here, value kept byte for byte.
    Other {
        /// Its type code.
        type_code: AttributeType,
        /// Its value.
        value: Bytes,
    },
}

impl AttributeValue {
    /// The attribute's type code.
    pub fn type_code(&self) -> AttributeType {
        match self {
            AttributeValue::Origin(_) => AttributeType::ORIGIN,
            AttributeValue::AsPath(_) => AttributeType::AS_PATH,
            AttributeValue::NextHop(_) => AttributeType::NEXT_HOP,
            AttributeValue::MultiExitDisc(_) => AttributeType::MULTI_EXIT_DISC,
            AttributeValue::LocalPref(_) => AttributeType::LOCAL_PREF,
            AttributeValue::AtomicAggregate => AttributeType::ATOMIC_AGGREGATE,
            AttributeValue::Aggregator(_) => AttributeType::AGGREGATOR,
            AttributeValue::Communities(_) => AttributeType::COMMUNITIES,
            AttributeValue::OriginatorId(_) => AttributeType::ORIGINATOR_ID,
            AttributeValue::ClusterList(_) => AttributeType::CLUSTER_LIST,
            AttributeValue::MpReach(_) => AttributeType::MP_REACH_NLRI,
            AttributeValue::MpUnreach(_) => AttributeType::MP_UNREACH_NLRI,
            AttributeValue::ExtendedCommunities(_) => AttributeType::EXTENDED_COMMUNITIES,
            AttributeValue::As4Path(_) => AttributeType::AS4_PATH,
            AttributeValue::As4Aggregator(_) => AttributeType::AS4_AGGREGATOR,
            AttributeValue::LargeCommunities(_) => AttributeType::LARGE_COMMUNITY,
            AttributeValue::Other { type_code, .. } => *type_code,
        }
    }

    fn encoded_length(&self, context: &CodecContext) -> usize {
        match self {
            AttributeValue::Origin(_) => 1,
            AttributeValue::AsPath(path) => path.encoded_length(context.four_octet_asn),
            AttributeValue::NextHop(_)
            | AttributeValue::MultiExitDisc(_)
            | AttributeValue::LocalPref(_)
            | AttributeValue::OriginatorId(_) => 4,
            AttributeValue::AtomicAggregate => 0,
            AttributeValue::Aggregator(_) => {
                if context.four_octet_asn {
                    8
                } else {
                    6
                }
            }
            AttributeValue::As4Aggregator(_) => 8,
            AttributeValue::Communities(list) => list.as_bytes().len(),
            AttributeValue::ClusterList(list) => list.as_bytes().len(),
            AttributeValue::ExtendedCommunities(list) => list.as_bytes().len(),
            AttributeValue::LargeCommunities(list) => list.as_bytes().len(),
            AttributeValue::MpReach(reach) => reach.encoded_length(),
            AttributeValue::MpUnreach(unreach) => unreach.encoded_length(),
            AttributeValue::As4Path(path) => path.encoded_length(true),
            AttributeValue::Other { value, .. } => value.len(),
        }
    }

    fn encode(&self, context: &CodecContext, destination: &mut BytesMut) {
        match self {
            AttributeValue::Origin(origin) => destination.put_u8(*origin as u8),
            AttributeValue::AsPath(path) => path.encode(context.four_octet_asn, destination),
            AttributeValue::NextHop(address) | AttributeValue::OriginatorId(address) => {
                destination.put_slice(&address.octets())
            }
            AttributeValue::MultiExitDisc(value) | AttributeValue::LocalPref(value) => {
                destination.put_u32(*value)
            }
            AttributeValue::AtomicAggregate => {}
            AttributeValue::Aggregator(aggregator) => {
                if context.four_octet_asn {
                    destination.put_u32(aggregator.asn.0);
                } else {
                    destination.put_u16(aggregator.asn.to_two_octet());
                }
                destination.put_slice(&aggregator.address.octets());
            }
            AttributeValue::As4Aggregator(aggregator) => {
                destination.put_u32(aggregator.asn.0);
                destination.put_slice(&aggregator.address.octets());
            }
            AttributeValue::Communities(list) => destination.put_slice(list.as_bytes()),
            AttributeValue::ClusterList(list) => destination.put_slice(list.as_bytes()),
            AttributeValue::ExtendedCommunities(list) => destination.put_slice(list.as_bytes()),
            AttributeValue::LargeCommunities(list) => destination.put_slice(list.as_bytes()),
            AttributeValue::MpReach(reach) => reach.encode(destination),
            AttributeValue::MpUnreach(unreach) => unreach.encode(destination),
            AttributeValue::As4Path(path) => path.encode(true, destination),
            AttributeValue::Other { value, .. } => destination.put_slice(value),
        }
    }
}

/// A path attribute: flags as received (or chosen) and a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathAttribute {
    /// The flags octet. On encoding the extended-length bit is set when the
    /// value needs it and kept when it was already set.
    pub flags: AttributeFlags,
    /// The value.
    pub value: AttributeValue,
}

impl PathAttribute {
    /// An attribute with the flags its type prescribes (RFC 4271 §5, RFC 4760,
    /// RFC 4456, RFC 1997, RFC 4360, RFC 6793, RFC 8092).
    pub fn new(value: AttributeValue) -> Self {
        let flags =
            expected_flags(value.type_code()).unwrap_or(AttributeFlags::OPTIONAL_TRANSITIVE);
        PathAttribute { flags, value }
    }

    /// Octets of the whole attribute on the wire.
    pub fn encoded_length(&self, context: &CodecContext) -> usize {
        let length = self.value.encoded_length(context);
        let header = if length > 255 || self.flags.is_extended_length() {
            4
        } else {
            3
        };
        header + length
    }

    /// Appends the attribute.
    pub fn encode(&self, context: &CodecContext, destination: &mut BytesMut) {
        let length = self.value.encoded_length(context);
        let extended = length > 255 || self.flags.is_extended_length();
        let mut flags = self.flags.0 & 0xf0;
        if extended {
            flags |= AttributeFlags::EXTENDED_LENGTH;
        }
        destination.put_u8(flags);
        destination.put_u8(self.value.type_code().0);
        if extended {
            destination.put_u16(length as u16);
        } else {
            destination.put_u8(length as u8);
        }
        self.value.encode(context, destination);
    }

    /// The attribute as it should be passed on to another peer: RFC 4271 §5
    /// says an unrecognised optional transitive attribute is passed on with the
    /// Partial bit set; `None` for one that must not be passed on.
    pub fn for_propagation(&self) -> Option<PathAttribute> {
        match &self.value {
            AttributeValue::Other { .. } if !self.flags.is_transitive() => None,
            AttributeValue::Other { .. } => Some(PathAttribute {
                flags: AttributeFlags(self.flags.0 | AttributeFlags::PARTIAL),
                value: self.value.clone(),
            }),
            _ => Some(self.clone()),
        }
    }
}

/// The flags a known attribute must carry, ignoring Partial and Extended
/// Length; `None` for types this codec does not model.
const fn expected_flags(type_code: AttributeType) -> Option<AttributeFlags> {
    Some(match type_code {
        AttributeType::ORIGIN
        | AttributeType::AS_PATH
        | AttributeType::NEXT_HOP
        | AttributeType::LOCAL_PREF
        | AttributeType::ATOMIC_AGGREGATE => AttributeFlags::WELL_KNOWN,
        AttributeType::MULTI_EXIT_DISC
        | AttributeType::ORIGINATOR_ID
        | AttributeType::CLUSTER_LIST
        | AttributeType::MP_REACH_NLRI
        | AttributeType::MP_UNREACH_NLRI => AttributeFlags::OPTIONAL_NON_TRANSITIVE,
        AttributeType::AGGREGATOR
        | AttributeType::COMMUNITIES
        | AttributeType::EXTENDED_COMMUNITIES
        | AttributeType::AS4_PATH
        | AttributeType::AS4_AGGREGATOR
        | AttributeType::LARGE_COMMUNITY => AttributeFlags::OPTIONAL_TRANSITIVE,
        _ => return None,
    })
}

/// How the flags of a received attribute are checked, by type code: the
/// flags octet masked with `mask` must equal `expected` (RFC 4271 §4.3, §6.3).
/// Partial is only for optional transitive attributes, so it is in the mask
/// of every other type. `expected` is zero for types this codec does not
/// model (every known type has the optional or the transitive bit).
#[derive(Clone, Copy)]
struct FlagRule {
    expected: u8,
    mask: u8,
}

/// [`FlagRule`]s for every type code, worked out once at compile time so
/// that each attribute costs one load instead of two `match`es.
static FLAG_RULES: [FlagRule; 256] = {
    let mut rules = [FlagRule {
        expected: 0,
        mask: 0,
    }; 256];
    let mut code = 0;
    while code < rules.len() {
        if let Some(expected) = expected_flags(AttributeType(code as u8)) {
            let optional_transitive = AttributeFlags::OPTIONAL | AttributeFlags::TRANSITIVE;
            rules[code] = FlagRule {
                expected: expected.0,
                mask: if expected.0 == optional_transitive {
                    optional_transitive
                } else {
                    optional_transitive | AttributeFlags::PARTIAL
                },
            };
        }
        code += 1;
    }
    rules
};

/// What RFC 7606 §7 asks for when a known attribute is malformed.
fn malformed_treatment(type_code: AttributeType) -> Treatment {
    match type_code {
        // RFC 7606 §7.6, §7.7; RFC 6793 §6.
        AttributeType::ATOMIC_AGGREGATE
        | AttributeType::AGGREGATOR
        | AttributeType::AS4_PATH
        | AttributeType::AS4_AGGREGATOR => Treatment::AttributeDiscard,
        _ => Treatment::TreatAsWithdraw,
    }
}

/// A set of attribute type codes, one bit each.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TypeSet([u64; 4]);

impl TypeSet {
    /// Adds a type; returns whether it was already there.
    fn insert(&mut self, type_code: AttributeType) -> bool {
        let (word, bit) = (usize::from(type_code.0 / 64), type_code.0 % 64);
        let seen = self.0[word] & (1 << bit) != 0;
        self.0[word] |= 1 << bit;
        seen
    }

    pub(crate) fn contains(&self, type_code: AttributeType) -> bool {
        self.0[usize::from(type_code.0 / 64)] & (1 << (type_code.0 % 64)) != 0
    }
}

#[cold]
fn push_error(
    errors: &mut Vec<AttributeError>,
    subcode: UpdateSubcode,
    treatment: Treatment,
    attribute: Option<AttributeType>,
    data: Bytes,
    detail: &'static str,
) {
    errors.push(AttributeError {
        subcode,
        treatment,
        attribute,
        family: None,
        data,
        detail,
    });
}

/// Reads a whole Path Attributes field, checking every attribute (RFC 4271
/// §6.3 as revised by RFC 7606 §3-§7). Malformed and discarded attributes are
/// left out of the result and reported as errors.
///
/// The attributes are `field[range]`: the field is not sliced out of the
/// message first, since every `Bytes` slice costs an atomic increment.
///
/// Attributes and errors are appended to `attributes` and `errors`; the
/// result holds the types present on the wire, malformed ones included, so
/// that a malformed attribute is not also reported missing.
pub(crate) fn decode_attributes(
    field: &Bytes,
    range: std::ops::Range<usize>,
    context: &CodecContext,
    attributes: &mut Vec<PathAttribute>,
    errors: &mut Vec<AttributeError>,
) -> TypeSet {
    let mut present = TypeSet::default();
    let limit = range.end.min(field.len());
    // Borrowed once: indexing a local slice needs no reload of the `Bytes`
    // length after every write to the lists.
    let octets: &[u8] = &field[..limit];
    let mut offset = range.start;
    while offset < limit {
        let rest = &octets[offset..];
        // RFC 4271 §4.3: the four low-order flag bits are unused and MUST be
        // ignored on receipt (and are sent as zero).
        let flags = AttributeFlags(rest[0] & 0xf0);
        let header_length = if flags.is_extended_length() { 4 } else { 3 };
        if rest.len() < header_length {
            // RFC 7606 §4: too few octets left for an attribute header.
            push_error(
                errors,
                UpdateSubcode::MalformedAttributeList,
                Treatment::TreatAsWithdraw,
                None,
                field.slice(offset..limit),
                "path attribute header runs past the end of the attributes",
            );
            break;
        }
        let type_code = AttributeType(rest[1]);
        let length = if flags.is_extended_length() {
            usize::from(u16::from_be_bytes([rest[2], rest[3]]))
        } else {
            usize::from(rest[2])
        };
        let end = offset + header_length + length;
        if end > limit {
            // RFC 7606 §4: an overrun leaves the rest unreadable. NLRI of an MP
            // attribute lost this way cannot even be withdrawn: reset.
            let is_multiprotocol = matches!(
                type_code,
                AttributeType::MP_REACH_NLRI | AttributeType::MP_UNREACH_NLRI
            );
            // RFC 4271 §6.3: a length that conflicts with what is there is an
            // Attribute Length Error.
            push_error(
                errors,
                UpdateSubcode::AttributeLengthError,
                if is_multiprotocol {
                    Treatment::SessionReset
                } else {
                    Treatment::TreatAsWithdraw
                },
                Some(type_code),
                field.slice(offset..limit),
                "path attribute length runs past the end of the attributes",
            );
            break;
        }
        let start = offset;
        let value_range = offset + header_length..end;
        offset = end;
        // Slicing `Bytes` costs an atomic increment: the whole attribute is only
        // sliced for an error's data field.
        let whole = || field.slice(start..end);

        if present.insert(type_code) {
            // RFC 7606 §3 g: keep the first of a repeated attribute, except that a
            // repeated MP attribute resets the session.
            let (treatment, detail) = match type_code {
                AttributeType::MP_REACH_NLRI | AttributeType::MP_UNREACH_NLRI => (
                    Treatment::SessionReset,
                    "multiprotocol attribute appears more than once",
                ),
                _ => (
                    Treatment::AttributeDiscard,
                    "attribute appears more than once; the repeat is discarded",
                ),
            };
            push_error(
                errors,
                UpdateSubcode::MalformedAttributeList,
                treatment,
                Some(type_code),
                whole(),
                detail,
            );
            continue;
        }
        // The extended-length bit is kept only where it was a choice (a value
        // of 255 octets or less), so that the octets re-encode as received.
        let flags = if length > 255 {
            AttributeFlags(flags.0 & !AttributeFlags::EXTENDED_LENGTH)
        } else {
            flags
        };
        // The value is written straight into its place in the list: built on
        // the stack and pushed, every attribute cost a copy that stalled on
        // store forwarding. A placeholder holds the place meanwhile.
        // (A constant, so that it is not built on the stack either.)
        const PLACEHOLDER: PathAttribute = PathAttribute {
            flags: AttributeFlags(0),
            value: AttributeValue::AtomicAggregate,
        };
        attributes.push(PLACEHOLDER);
        let slot = match attributes.last_mut() {
            Some(attribute) => {
                attribute.flags = flags;
                &mut attribute.value
            }
            None => unreachable!("pushed just above"),
        };
        // In bounds: `end <= limit` was checked above.
        let value = &octets[value_range.clone()];
        let shared = || field.slice(value_range.clone());
        match decode_one(flags, type_code, value, shared, context, slot) {
            Ok(()) => {}
            Err(problem) => {
                attributes.pop();
                let error = AttributeError {
                    subcode: problem.subcode,
                    treatment: problem.treatment,
                    attribute: Some(type_code),
                    family: problem.family,
                    data: whole(),
                    detail: problem.detail,
                };
                if let Some(attribute) = problem.keep {
                    attributes.push(*attribute);
                }
                errors.push(error);
            }
        }
    }
    present
}

/// A problem with one attribute.
struct Problem {
    subcode: UpdateSubcode,
    treatment: Treatment,
    family: Option<crate::types::Family>,
    detail: &'static str,
    /// An attribute still worth keeping despite the error (an MP attribute
    /// with bad flags is kept so its routes can be withdrawn).
    keep: Option<Box<PathAttribute>>,
}

impl Problem {
    /// Boxed: problems are rare, and a small `Result` keeps the common path lean.
    #[cold]
    #[inline(never)]
    fn new(subcode: UpdateSubcode, treatment: Treatment, detail: &'static str) -> Box<Self> {
        Box::new(Problem {
            subcode,
            treatment,
            family: None,
            detail,
            keep: None,
        })
    }
}

/// Writes a value over the placeholder, which needs no drop: skipping the
/// drop keeps the write a plain store.
#[inline(always)]
fn fill(slot: &mut AttributeValue, value: AttributeValue) {
    debug_assert!(matches!(slot, AttributeValue::AtomicAggregate));
    std::mem::forget(std::mem::replace(slot, value));
}

/// Decodes one attribute's value into `slot`. `value` is the value's
/// octets; `shared` gives them as a `Bytes`, asked for only by the values
/// kept as octets, since every slice costs an atomic increment.
#[inline(always)]
fn decode_one(
    flags: AttributeFlags,
    type_code: AttributeType,
    value: &[u8],
    shared: impl Fn() -> Bytes + Copy,
    context: &CodecContext,
    slot: &mut AttributeValue,
) -> Result<(), Box<Problem>> {
    let rule = FLAG_RULES[usize::from(type_code.0)];
    if rule.expected == 0 {
        if !flags.is_optional() {
            // RFC 4271 §6.3: an unrecognised well-known attribute; RFC 7606 leaves this a reset.
            return Err(Problem::new(
                UpdateSubcode::UnrecognizedWellKnownAttribute,
                Treatment::SessionReset,
                "unrecognized well-known attribute",
            ));
        }
        *slot = AttributeValue::Other {
            type_code,
            value: shared(),
        };
        return Ok(());
    }
    let length_error = |detail| {
        Err(Problem::new(
            UpdateSubcode::AttributeLengthError,
            malformed_treatment(type_code),
            detail,
        ))
    };
    let four_octets = |value: &[u8]| u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
    match type_code {
        AttributeType::ORIGIN => {
            if value.len() != 1 {
                return length_error("ORIGIN length is not 1");
            }
            let origin = match value[0] {
                0 => Origin::Igp,
                1 => Origin::Egp,
                2 => Origin::Incomplete,
                _ => {
                    return Err(Problem::new(
                        UpdateSubcode::InvalidOrigin,
                        Treatment::TreatAsWithdraw,
                        "ORIGIN value is not IGP, EGP or INCOMPLETE",
                    ))
                }
            };
            fill(slot, AttributeValue::Origin(origin))
        }
        AttributeType::AS_PATH | AttributeType::AS4_PATH => {
            let is_as4 = type_code == AttributeType::AS4_PATH;
            let received = AsPath::decode(value, is_as4 || context.four_octet_asn, shared)
                .map_err(|_| {
                    Problem::new(
                        UpdateSubcode::MalformedAsPath,
                        malformed_treatment(type_code),
                        if is_as4 {
                            "AS4_PATH segments do not parse"
                        } else {
                            "AS_PATH segments do not parse"
                        },
                    )
                })?;
            // RFC 7607 §2: AS 0 in AS_PATH or AS4_PATH makes the attribute
            // malformed, handled as RFC 7606 says for each.
            let path = received.path;
            if received.has_zero_asn {
                return Err(Problem::new(
                    UpdateSubcode::MalformedAsPath,
                    malformed_treatment(type_code),
                    if is_as4 {
                        "AS4_PATH holds AS 0"
                    } else {
                        "AS_PATH holds AS 0"
                    },
                ));
            }
            if is_as4 {
                // RFC 6793 §6: confederation segments in AS4_PATH make it malformed.
                if path.has_confederation_segments() {
                    return Err(Problem::new(
                        UpdateSubcode::MalformedAsPath,
                        Treatment::AttributeDiscard,
                        "AS4_PATH carries confederation segments",
                    ));
                }
                fill(slot, AttributeValue::As4Path(path))
            } else {
                fill(slot, AttributeValue::AsPath(path))
            }
        }
        AttributeType::NEXT_HOP => {
            if value.len() != 4 {
                return length_error("NEXT_HOP length is not 4");
            }
            fill(
                slot,
                AttributeValue::NextHop(Ipv4Addr::from(four_octets(value))),
            )
        }
        AttributeType::MULTI_EXIT_DISC | AttributeType::LOCAL_PREF => {
            if value.len() != 4 {
                if type_code == AttributeType::LOCAL_PREF && context.external_peer {
                    // RFC 7606 §7.5: LOCAL_PREF from an external peer is discarded.
                    return Err(Problem::new(
                        UpdateSubcode::AttributeLengthError,
                        Treatment::AttributeDiscard,
                        "LOCAL_PREF from an external peer, malformed: discarded",
                    ));
                }
                return length_error("MULTI_EXIT_DISC or LOCAL_PREF length is not 4");
            }
            if type_code == AttributeType::LOCAL_PREF {
                fill(slot, AttributeValue::LocalPref(four_octets(value)))
            } else {
                fill(slot, AttributeValue::MultiExitDisc(four_octets(value)))
            }
        }
        AttributeType::ATOMIC_AGGREGATE => {
            if !value.is_empty() {
                return length_error("ATOMIC_AGGREGATE length is not 0");
            }
            fill(slot, AttributeValue::AtomicAggregate)
        }
        AttributeType::AGGREGATOR | AttributeType::AS4_AGGREGATOR => {
            let wide = type_code == AttributeType::AS4_AGGREGATOR || context.four_octet_asn;
            let aggregator = match (wide, value.len()) {
                (true, 8) => Aggregator {
                    asn: Asn(four_octets(value)),
                    address: Ipv4Addr::from(four_octets(&value[4..])),
                },
                (false, 6) => Aggregator {
                    asn: Asn(u32::from(u16::from_be_bytes([value[0], value[1]]))),
                    address: Ipv4Addr::from(four_octets(&value[2..])),
                },
                _ => return length_error("AGGREGATOR length does not match the AS number size"),
            };
            // RFC 7607 §2: an aggregator AS of 0 is malformed; the attribute
            // is discarded (RFC 7606 §7.7, RFC 6793 §6).
            if aggregator.asn.0 == 0 {
                return Err(Problem::new(
                    UpdateSubcode::OptionalAttributeError,
                    Treatment::AttributeDiscard,
                    "AGGREGATOR names AS 0",
                ));
            }
            if type_code == AttributeType::AS4_AGGREGATOR {
                fill(slot, AttributeValue::As4Aggregator(aggregator))
            } else {
                fill(slot, AttributeValue::Aggregator(aggregator))
            }
        }
        AttributeType::COMMUNITIES => {
            if !Communities::fits(value.len()) {
                return length_error("COMMUNITIES length is not a non-zero multiple of 4");
            }
            fill(
                slot,
                AttributeValue::Communities(Communities::from_checked(shared())),
            )
        }
        AttributeType::ORIGINATOR_ID => {
            if value.len() != 4 {
                return length_error("ORIGINATOR_ID length is not 4");
            }
            fill(
                slot,
                AttributeValue::OriginatorId(Ipv4Addr::from(four_octets(value))),
            )
        }
        AttributeType::CLUSTER_LIST => {
            if !ClusterList::fits(value.len()) {
                return length_error("CLUSTER_LIST length is not a non-zero multiple of 4");
            }
            fill(
                slot,
                AttributeValue::ClusterList(ClusterList::from_checked(shared())),
            )
        }
        AttributeType::EXTENDED_COMMUNITIES => {
            if !ExtendedCommunities::fits(value.len()) {
                return length_error("EXTENDED_COMMUNITIES length is not a non-zero multiple of 8");
            }
            fill(
                slot,
                AttributeValue::ExtendedCommunities(ExtendedCommunities::from_checked(shared())),
            )
        }
        AttributeType::LARGE_COMMUNITY => {
            if !LargeCommunities::fits(value.len()) {
                return length_error("LARGE_COMMUNITY length is not a non-zero multiple of 12");
            }
            fill(
                slot,
                AttributeValue::LargeCommunities(LargeCommunities::from_checked(shared())),
            )
        }
        AttributeType::MP_REACH_NLRI | AttributeType::MP_UNREACH_NLRI => {
            let decoded = if type_code == AttributeType::MP_REACH_NLRI {
                MpReach::decode(&shared(), context).map(AttributeValue::MpReach)
            } else {
                MpUnreach::decode(&shared(), context).map(AttributeValue::MpUnreach)
            };
            *slot = decoded.map_err(|MpError { family, detail }| {
                Box::new(Problem {
                    // RFC 4760 §7: Optional Attribute Error; RFC 7606 §7.11 lets the
                    // family alone be disabled when it can be told.
                    subcode: UpdateSubcode::OptionalAttributeError,
                    treatment: if family.is_some() {
                        Treatment::AfiSafiDisable
                    } else {
                        Treatment::SessionReset
                    },
                    family,
                    detail,
                    keep: None,
                })
            })?;
        }
        _ => unreachable!("expected_flags covers exactly the types matched above"),
    }
    // RFC 4271 §4.3: the optional and transitive bits must match the type,
    // and Partial is only for optional transitive attributes.
    if flags.0 & rule.mask != rule.expected {
        // RFC 7606 §3 c: flags that contradict the type make the attribute
        // malformed: treat-as-withdraw. The attribute is kept when it names
        // routes to withdraw.
        let keep = matches!(
            slot,
            AttributeValue::MpReach(_) | AttributeValue::MpUnreach(_)
        )
        .then(|| {
            Box::new(PathAttribute {
                flags,
                value: std::mem::replace(slot, AttributeValue::AtomicAggregate),
            })
        });
        let mut problem = Problem::new(
            UpdateSubcode::AttributeFlagsError,
            Treatment::TreatAsWithdraw,
            "attribute flags contradict the attribute type",
        );
        problem.keep = keep;
        return Err(problem);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table must give, for every type code and flags octet, the verdict
    /// of the rule it is built from (RFC 4271 §4.3): optional and transitive
    /// bits as the type prescribes, Partial only on optional transitive types.
    #[test]
    fn flag_rules_agree_with_the_rule_they_are_built_from() {
        for code in 0..=u8::MAX {
            let rule = FLAG_RULES[usize::from(code)];
            let Some(expected) = expected_flags(AttributeType(code)) else {
                assert_eq!(rule.expected, 0, "type {code} is not modelled");
                continue;
            };
            for high_bits in 0..16u8 {
                let flags = AttributeFlags(high_bits << 4);
                let partial_allowed = expected.is_optional() && expected.is_transitive();
                let conflict = flags.0 & (AttributeFlags::OPTIONAL | AttributeFlags::TRANSITIVE)
                    != expected.0
                    || (flags.is_partial() && !partial_allowed);
                assert_eq!(
                    flags.0 & rule.mask != rule.expected,
                    conflict,
                    "type {code}, flags {:#04x}",
                    flags.0
                );
            }
        }
    }
}
