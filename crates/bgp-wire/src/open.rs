//! OPEN messages (RFC 4271 §4.2) with optional parameters in the classic form
//! or the extended form of RFC 9072.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+
//! |    Version    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     My Autonomous System      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Hold Time           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         BGP Identifier                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Opt Parm Len  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |             Optional Parameters (variable)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};

use crate::capability::Capability;
use crate::error::OpenError;
use crate::reader::Reader;
use crate::types::{Asn, RouterId};

/// The Capabilities optional parameter type (RFC 5492 §4).
pub const CAPABILITIES_PARAMETER: u8 = 2;
/// RFC 9072 §2: this value in both Opt Parm Len and the first parameter type
/// announces the extended (two-octet length) encoding.
const EXTENDED_PARAMETERS_MARK: u8 = 255;

/// One optional parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionalParameter {
    /// Type 2: a list of capabilities.
    Capabilities(Vec<Capability>),
}

/// An OPEN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// "My Autonomous System": the 2-octet AS, AS_TRANS when the real one is
    /// larger (RFC 6793 §4.1).
    pub my_as: u16,
    /// Proposed hold time in seconds; 0, or 3 and above.
    pub hold_time: u16,
    /// The BGP Identifier.
    pub router_id: RouterId,
    /// Optional parameters in the order received.
    pub parameters: Vec<OptionalParameter>,
    /// Whether the parameters use the RFC 9072 extended encoding. Encoding
    /// switches to it by itself when the parameters exceed 255 octets.
    pub extended_parameters: bool,
}

impl Open {
    /// An OPEN for `asn` with these capabilities, all in one parameter.
    pub fn new(
        asn: Asn,
        hold_time: u16,
        router_id: RouterId,
        capabilities: Vec<Capability>,
    ) -> Self {
        Open {
            my_as: asn.to_two_octet(),
            hold_time,
            router_id,
            parameters: vec![OptionalParameter::Capabilities(capabilities)],
            extended_parameters: false,
        }
    }

    /// Every capability, across all Capabilities parameters, in order.
    pub fn capabilities(&self) -> impl Iterator<Item = &Capability> {
        self.parameters
            .iter()
            .flat_map(|parameter| match parameter {
                OptionalParameter::Capabilities(capabilities) => capabilities.iter(),
            })
    }

    /// The sender's AS: the 4-octet AS capability when present (RFC 6793 §4.1),
    /// else the 2-octet field.
    pub fn asn(&self) -> Asn {
        self.capabilities()
            .find_map(|capability| match capability {
                Capability::FourOctetAs(asn) => Some(*asn),
                _ => None,
            })
            .unwrap_or(Asn(u32::from(self.my_as)))
    }

    /// Decodes the body (everything after the header). The framer guarantees
    /// at least the 10 fixed octets.
    pub(crate) fn decode_body(body: &Bytes) -> Result<Open, OpenError> {
        let mut reader = Reader::new(body);
        let cut = |_| OpenError::Malformed {
            detail: "fixed fields cut short",
        };
        let version = reader.u8().map_err(cut)?;
        if version != 4 {
            return Err(OpenError::UnsupportedVersion { version });
        }
        let my_as = reader.u16().map_err(cut)?;
        let hold_time = reader.u16().map_err(cut)?;
        // RFC 4271 §6.2: hold times of one or two seconds MUST be rejected.
        if hold_time == 1 || hold_time == 2 {
            return Err(OpenError::UnacceptableHoldTime { seconds: hold_time });
        }
        let router_id = Ipv4Addr::from(reader.u32().map_err(cut)?);
        // RFC 6286 §2.2: any non-zero value is a valid identifier.
        if router_id.is_unspecified() {
            return Err(OpenError::BadBgpIdentifier {
                identifier: router_id,
            });
        }
        let short_length = reader.u8().map_err(cut)?;
        let offset = body.len() - reader.remaining();
        let extended = short_length == EXTENDED_PARAMETERS_MARK
            && reader.rest().first() == Some(&EXTENDED_PARAMETERS_MARK);
        let (parameters_start, parameters_length) = if extended {
            let _mark = reader.u8().map_err(cut)?;
            let length = reader.u16().map_err(|_| OpenError::Malformed {
                detail: "extended optional parameters length cut short",
            })?;
            (offset + 3, usize::from(length))
        } else {
            (offset, usize::from(short_length))
        };
        // RFC 4271 §4.2 / RFC 9072 §2: the parameters fill the rest of the message exactly.
        if reader.remaining() != parameters_length {
            return Err(OpenError::Malformed {
                detail: "optional parameters length disagrees with the message length",
            });
        }
        let block = body.slice(parameters_start..);
        let parameters = decode_parameters(&block, extended)?;
        Ok(Open {
            my_as,
            hold_time,
            router_id: RouterId(router_id),
            parameters,
            extended_parameters: extended,
        })
    }

    pub(crate) fn encode_body(&self, destination: &mut BytesMut) {
        destination.put_u8(4);
        destination.put_u16(self.my_as);
        destination.put_u16(self.hold_time);
        destination.put_u32(u32::from(self.router_id.0));
        let values: Vec<BytesMut> = self
            .parameters
            .iter()
            .map(|parameter| {
                let OptionalParameter::Capabilities(capabilities) = parameter;
                let mut value = BytesMut::new();
                for capability in capabilities {
                    capability.encode(&mut value);
                }
                value
            })
            .collect();
        let classic_length: usize = values.iter().map(|value| 2 + value.len()).sum();
        // RFC 9072 §2: switch to two-octet lengths when one octet cannot express them.
        let extended = self.extended_parameters
            || classic_length > 255
            || values.iter().any(|value| value.len() > 255);
        if extended {
            let extended_length: usize = values.iter().map(|value| 3 + value.len()).sum();
            destination.put_u8(EXTENDED_PARAMETERS_MARK);
            destination.put_u8(EXTENDED_PARAMETERS_MARK);
            destination.put_u16(extended_length as u16);
        } else {
            destination.put_u8(classic_length as u8);
        }
        for value in values {
            destination.put_u8(CAPABILITIES_PARAMETER);
            if extended {
                destination.put_u16(value.len() as u16);
            } else {
                destination.put_u8(value.len() as u8);
            }
            destination.put_slice(&value);
        }
    }
}

/// Decodes an Optional Parameters block (RFC 4271 §4.2, RFC 5492 §4, RFC 9072 §2).
pub fn decode_parameters(
    block: &Bytes,
    extended: bool,
) -> Result<Vec<OptionalParameter>, OpenError> {
    let mut reader = Reader::new(block);
    let mut parameters = Vec::new();
    let cut = |_| OpenError::Malformed {
        detail: "optional parameter overruns the parameters block",
    };
    while !reader.is_empty() {
        let parameter_type = reader.u8().map_err(cut)?;
        let length = if extended {
            usize::from(reader.u16().map_err(cut)?)
        } else {
            usize::from(reader.u8().map_err(cut)?)
        };
        let start = block.len() - reader.remaining();
        reader.take(length).map_err(cut)?;
        if parameter_type != CAPABILITIES_PARAMETER {
            // RFC 5492 §4 leaves Capabilities as the one parameter in use; type 1
            // (authentication) was deprecated by RFC 5492.
            return Err(OpenError::UnsupportedOptionalParameter { parameter_type });
        }
        let capabilities = Capability::decode_list(&block.slice(start..start + length))?;
        parameters.push(OptionalParameter::Capabilities(capabilities));
    }
    Ok(parameters)
}
