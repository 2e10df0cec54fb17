//! UPDATE messages (RFC 4271 §4.3): receive-side checks in the order RFC 4271
//! §6.3 and RFC 7606 give them, and encoding that splits a large UPDATE into
//! as many messages as it takes.
//!
//! ```text
//! +-----------------------------------------------------+
//! |   Withdrawn Routes Length (2 octets)                |
//! +-----------------------------------------------------+
//! |   Withdrawn Routes (variable)                       |
//! +-----------------------------------------------------+
//! |   Total Path Attribute Length (2 octets)            |
//! +-----------------------------------------------------+
//! |   Path Attributes (variable)                        |
//! +-----------------------------------------------------+
//! |   Network Layer Reachability Information (variable) |
//! +-----------------------------------------------------+
//! ```

use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};

use crate::attribute::{
    decode_attributes, AsPath, AttributeType, AttributeValue, MpNlri, MpReach, MpUnreach, Origin,
    PathAttribute,
};
use crate::error::{AttributeError, DecodeError, Treatment, UpdateSubcode};
use crate::header::HEADER_LENGTH;
use crate::message::{Message, Received};
use crate::nlri::{decode_update_prefixes, Nlri, NlriError, NlriList};
use crate::types::Family;
use crate::CodecContext;

/// An UPDATE message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// IPv4 unicast routes withdrawn in the Withdrawn Routes field.
    pub withdrawn: NlriList,
    /// Path attributes in the order received (or to be sent).
    pub attributes: Vec<PathAttribute>,
    /// IPv4 unicast routes announced in the NLRI field.
    pub announced: NlriList,
}

/// Why an UPDATE cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The path attributes alone do not fit one message.
    #[error("path attributes take {length} octets, more than one message can hold")]
    AttributesTooLarge {
        /// Their encoded length.
        length: usize,
    },
    /// NLRI of a family carried as opaque octets cannot be split.
    #[error("opaque NLRI of {family} does not fit one message")]
    OpaqueNlriTooLarge {
        /// The family.
        family: Family,
    },
    /// A message other than UPDATE exceeds the maximum length.
    #[error("message of {length} octets exceeds the maximum length")]
    MessageTooLong {
        /// Its length.
        length: usize,
    },
}

fn update_error(subcode: UpdateSubcode, data: Bytes, detail: &'static str) -> AttributeError {
    AttributeError {
        subcode,
        treatment: Treatment::SessionReset,
        attribute: None,
        family: None,
        data,
        detail,
    }
}

impl Update {
    /// The first attribute of a type.
    pub fn attribute(&self, type_code: AttributeType) -> Option<&AttributeValue> {
        self.attributes
            .iter()
            .map(|attribute| &attribute.value)
            .find(|value| value.type_code() == type_code)
    }

    /// ORIGIN.
    pub fn origin(&self) -> Option<Origin> {
        match self.attribute(AttributeType::ORIGIN)? {
            AttributeValue::Origin(origin) => Some(*origin),
            _ => None,
        }
    }

    /// AS_PATH as received.
    pub fn as_path(&self) -> Option<&AsPath> {
        match self.attribute(AttributeType::AS_PATH)? {
            AttributeValue::AsPath(path) => Some(path),
            _ => None,
        }
    }

    /// NEXT_HOP.
    pub fn next_hop(&self) -> Option<Ipv4Addr> {
        match self.attribute(AttributeType::NEXT_HOP)? {
            AttributeValue::NextHop(address) => Some(*address),
            _ => None,
        }
    }

    /// MP_REACH_NLRI.
    pub fn mp_reach(&self) -> Option<&MpReach> {
        match self.attribute(AttributeType::MP_REACH_NLRI)? {
            AttributeValue::MpReach(reach) => Some(reach),
            _ => None,
        }
    }

    /// MP_UNREACH_NLRI.
    pub fn mp_unreach(&self) -> Option<&MpUnreach> {
        match self.attribute(AttributeType::MP_UNREACH_NLRI)? {
            AttributeValue::MpUnreach(unreach) => Some(unreach),
            _ => None,
        }
    }

    /// The AS path a route really took. From a two-octet session it merges
    /// AS4_PATH (RFC 6793 §4.2.3), unless AGGREGATOR names a real two-octet AS,
    /// in which case AS4_PATH is ignored; from a four-octet session AS4_PATH
    /// is not looked at (RFC 6793 §4.1).
    pub fn effective_as_path(&self, four_octet_session: bool) -> Option<AsPath> {
        let path = self.as_path()?;
        if four_octet_session {
            return Some(path.clone());
        }
        let as4_path = match self.attribute(AttributeType::AS4_PATH) {
            Some(AttributeValue::As4Path(as4_path)) => as4_path,
            _ => return Some(path.clone()),
        };
        if let Some(AttributeValue::Aggregator(aggregator)) =
            self.attribute(AttributeType::AGGREGATOR)
        {
            if aggregator.asn != crate::types::Asn::TRANS {
                return Some(path.clone());
            }
        }
        Some(path.merge_as4(as4_path))
    }

    /// The family whose End-of-RIB marker this is (RFC 4724 §2): an empty
    /// UPDATE for IPv4 unicast, or one holding only an empty MP_UNREACH_NLRI.
    pub fn end_of_rib(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.announced.is_empty() {
            return None;
        }
        match self.attributes.as_slice() {
            [] => Some(Family::IPV4_UNICAST),
            [only] => match &only.value {
                AttributeValue::MpUnreach(unreach) if unreach.nlri.is_empty() => {
                    Some(unreach.family)
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Decodes the body and checks it. Errors that reset the session are
    /// `Err`; the others come back in the list beside the message.
    /// `frame` is the whole message and the body starts at `start`; the body
    /// is not sliced out, to spare an atomic increment per message.
    pub(crate) fn decode_body(
        frame: &Bytes,
        start: usize,
        context: &CodecContext,
    ) -> Result<Received, DecodeError> {
        let body: &[u8] = &frame[start.min(frame.len())..];
        let length_at = |at: usize| -> Option<usize> {
            body.get(at..at + 2)
                .map(|octets| usize::from(u16::from_be_bytes([octets[0], octets[1]])))
        };
        // RFC 4271 §6.3: lengths that do not fit the message are a Malformed
        // Attribute List, and RFC 7606 §4 keeps that a reset: without them the
        // NLRI cannot be found.
        let withdrawn_length = length_at(0).ok_or_else(|| {
            update_error(
                UpdateSubcode::MalformedAttributeList,
                Bytes::new(),
                "withdrawn routes length missing",
            )
        })?;
        let attributes_at = 2 + withdrawn_length;
        let attributes_length = length_at(attributes_at).ok_or_else(|| {
            update_error(
                UpdateSubcode::MalformedAttributeList,
                Bytes::new(),
                "withdrawn routes length exceeds the message",
            )
        })?;
        let nlri_at = attributes_at + 2 + attributes_length;
        if nlri_at > body.len() {
            return Err(update_error(
                UpdateSubcode::MalformedAttributeList,
                Bytes::new(),
                "total path attribute length exceeds the message",
            )
            .into());
        }
        let add_path = context.add_path_receive(Family::IPV4_UNICAST);
        let withdrawn = decode_update_prefixes(&body[2..attributes_at], add_path).map_err(
            |error| match error {
                NlriError::Overrun => update_error(
                    UpdateSubcode::MalformedAttributeList,
                    Bytes::new(),
                    "a withdrawn prefix runs past the withdrawn routes length",
                ),
                NlriError::BadLength => update_error(
                    UpdateSubcode::InvalidNetworkField,
                    Bytes::new(),
                    "a withdrawn prefix length exceeds 32",
                ),
            },
        )?;

        // RFC 4271 §6.3 / RFC 7606 §5.3: an NLRI field that does not parse is
        // an Invalid Network Field, and resets the session.
        let announced = decode_update_prefixes(&body[nlri_at..], add_path).map_err(|_| {
            update_error(
                UpdateSubcode::InvalidNetworkField,
                Bytes::new(),
                "the NLRI field does not parse",
            )
        })?;
        // An attribute takes at least three octets, and most UPDATEs carry
        // fewer than eight: allocated once at that size (none for an UPDATE
        // that only withdraws), rather than grown from empty.
        let mut attributes = Vec::with_capacity((attributes_length / 3).min(8));
        let mut errors = Vec::new();
        let present = decode_attributes(
            frame,
            start + attributes_at + 2..start + nlri_at,
            context,
            &mut attributes,
            &mut errors,
        );

        // RFC 4271 §6.3 and RFC 4760 §3: ORIGIN and AS_PATH are needed whenever
        // routes are announced, NEXT_HOP when they are in the NLRI field.
        // RFC 7606 §3 d: their absence is treat-as-withdraw. The set of types
        // seen answers first, so the list is only searched when MP_REACH_NLRI
        // was there.
        let announces_multiprotocol = present.contains(AttributeType::MP_REACH_NLRI)
            && attributes.iter().any(|attribute| {
                matches!(&attribute.value, AttributeValue::MpReach(reach) if !reach.nlri.is_empty())
            });
        if !announced.is_empty() || announces_multiprotocol {
            // NEXT_HOP only matters for the NLRI field (RFC 4760 §3).
            let next_hop_needed = !announced.is_empty();
            for type_code in [
                AttributeType::ORIGIN,
                AttributeType::AS_PATH,
                AttributeType::NEXT_HOP,
            ] {
                let needed = next_hop_needed || type_code != AttributeType::NEXT_HOP;
                if needed && !present.contains(type_code) {
                    push_missing(&mut errors, type_code);
                }
            }
        }
        if !errors.is_empty() {
            if let Some(reset) =
                most_severe(&errors).filter(|error| error.treatment == Treatment::SessionReset)
            {
                return Err(reset.clone().into());
            }
        }
        // Built straight into the caller's result: no copies through layers.
        Ok(Received {
            message: Message::Update(Update {
                withdrawn,
                attributes,
                announced,
            }),
            errors,
        })
    }

    /// Octets of the body as one message.
    fn body_length(&self, context: &CodecContext) -> usize {
        let nlri = |prefixes: &[Nlri]| prefixes.iter().map(Nlri::encoded_length).sum::<usize>();
        4 + nlri(&self.withdrawn)
            + self
                .attributes
                .iter()
                .map(|attribute| attribute.encoded_length(context))
                .sum::<usize>()
            + nlri(&self.announced)
    }

    /// Appends the UPDATE, split into several messages when it does not fit
    /// one; returns how many messages were written. Each piece repeats the
    /// path attributes its routes need, so every message stands alone.
    pub fn encode(
        &self,
        context: &CodecContext,
        destination: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        let maximum = context.max_message_length();
        if HEADER_LENGTH + self.body_length(context) <= maximum {
            write_message(
                destination,
                context,
                &self.withdrawn,
                self.attributes.iter(),
                &self.announced,
            );
            return Ok(1);
        }
        let room = maximum - HEADER_LENGTH - 4;
        let mut messages = 0;

        for chunk in chunks(&self.withdrawn, room) {
            write_message(destination, context, chunk, std::iter::empty(), &[]);
            messages += 1;
        }
        if let Some(unreach) = self.mp_unreach() {
            let header = PathAttribute::new(AttributeValue::MpUnreach(MpUnreach {
                family: unreach.family,
                nlri: MpNlri::Prefixes(Vec::new()),
            }))
            .encoded_length(context)
                + 1; // a long NLRI list may need the extended length octet
            let prefixes = match &unreach.nlri {
                MpNlri::Prefixes(prefixes) => prefixes,
                MpNlri::Opaque(_) => {
                    return Err(EncodeError::OpaqueNlriTooLarge {
                        family: unreach.family,
                    })
                }
            };
            for chunk in chunks(prefixes, room.saturating_sub(header)) {
                let piece = PathAttribute::new(AttributeValue::MpUnreach(MpUnreach {
                    family: unreach.family,
                    nlri: MpNlri::Prefixes(chunk.to_vec()),
                }));
                write_message(destination, context, &[], std::iter::once(&piece), &[]);
                messages += 1;
            }
        }

        let shared: Vec<&PathAttribute> = self
            .attributes
            .iter()
            .filter(|attribute| {
                !matches!(
                    attribute.value,
                    AttributeValue::MpReach(_) | AttributeValue::MpUnreach(_)
                )
            })
            .collect();
        let shared_length: usize = shared
            .iter()
            .map(|attribute| attribute.encoded_length(context))
            .sum();
        if shared_length >= room {
            return Err(EncodeError::AttributesTooLarge {
                length: shared_length,
            });
        }
        for chunk in chunks(&self.announced, room - shared_length) {
            write_message(destination, context, &[], shared.iter().copied(), chunk);
            messages += 1;
        }
        if let Some(reach) = self.mp_reach() {
            // Each piece is the attribute with some of the prefixes: built
            // field by field, as cloning `reach` would copy them all each time.
            let piece_of = |prefixes: Vec<Nlri>| {
                PathAttribute::new(AttributeValue::MpReach(MpReach {
                    family: reach.family,
                    next_hop: reach.next_hop.clone(),
                    reserved: reach.reserved,
                    nlri: MpNlri::Prefixes(prefixes),
                }))
            };
            let empty = piece_of(Vec::new());
            let header = empty.encoded_length(context) + 1;
            let prefixes = match &reach.nlri {
                MpNlri::Prefixes(prefixes) => prefixes,
                MpNlri::Opaque(_) => {
                    return Err(EncodeError::OpaqueNlriTooLarge {
                        family: reach.family,
                    })
                }
            };
            let space = room
                .checked_sub(shared_length + header)
                .filter(|space| *space > 0)
                .ok_or(EncodeError::AttributesTooLarge {
                    length: shared_length + header,
                })?;
            for chunk in chunks(prefixes, space) {
                let piece = piece_of(chunk.to_vec());
                write_message(
                    destination,
                    context,
                    &[],
                    shared.iter().copied().chain(std::iter::once(&piece)),
                    &[],
                );
                messages += 1;
            }
        }
        Ok(messages)
    }
}

/// Records a missing mandatory well-known attribute; out of line, since
/// well-formed UPDATEs never get here.
#[cold]
fn push_missing(errors: &mut Vec<AttributeError>, type_code: AttributeType) {
    errors.push(AttributeError {
        subcode: UpdateSubcode::MissingWellKnownAttribute,
        treatment: Treatment::TreatAsWithdraw,
        attribute: Some(type_code),
        family: None,
        // RFC 4271 §6.3: the data field holds the missing type code.
        data: Bytes::copy_from_slice(&[type_code.0]),
        detail: "a mandatory well-known attribute is missing",
    });
}

/// The error RFC 7606 §3 says governs a message: the most severe, the first
/// of equals.
pub fn most_severe(errors: &[AttributeError]) -> Option<&AttributeError> {
    errors
        .iter()
        .fold(None, |best: Option<&AttributeError>, error| match best {
            Some(best) if best.treatment >= error.treatment => Some(best),
            _ => Some(error),
        })
}

/// Splits prefixes into runs whose encoding fits `room` octets each.
fn chunks(prefixes: &[Nlri], room: usize) -> impl Iterator<Item = &[Nlri]> {
    let mut rest = prefixes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut used = 0;
        let mut count = 0;
        for nlri in rest {
            let length = nlri.encoded_length();
            if used + length > room && count > 0 {
                break;
            }
            used += length;
            count += 1;
        }
        let (chunk, tail) = rest.split_at(count);
        rest = tail;
        Some(chunk)
    })
}

fn write_message<'a>(
    destination: &mut BytesMut,
    context: &CodecContext,
    withdrawn: &[Nlri],
    attributes: impl Iterator<Item = &'a PathAttribute>,
    announced: &[Nlri],
) {
    let start = destination.len();
    destination.put_bytes(0xff, 16);
    destination.put_u16(0);
    destination.put_u8(crate::header::MessageType::Update as u8);
    let withdrawn_at = destination.len();
    destination.put_u16(0);
    withdrawn.iter().for_each(|nlri| nlri.encode(destination));
    let withdrawn_length = destination.len() - withdrawn_at - 2;
    destination[withdrawn_at..withdrawn_at + 2]
        .copy_from_slice(&(withdrawn_length as u16).to_be_bytes());
    let attributes_at = destination.len();
    destination.put_u16(0);
    attributes.for_each(|attribute| attribute.encode(context, destination));
    let attributes_length = destination.len() - attributes_at - 2;
    destination[attributes_at..attributes_at + 2]
        .copy_from_slice(&(attributes_length as u16).to_be_bytes());
    announced.iter().for_each(|nlri| nlri.encode(destination));
    let length = destination.len() - start;
    destination[start + 16..start + 18].copy_from_slice(&(length as u16).to_be_bytes());
}
