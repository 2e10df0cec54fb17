//! ROUTE-REFRESH messages (RFC 2918 §3) with the subtypes of enhanced route
//! refresh (RFC 7313 §3).
//!
//! ```text
//!  0       7      15      23      31
//!  +-------+-------+-------+-------+
//!  |      AFI      | Subtype | SAFI |
//!  +-------+-------+-------+-------+
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::RouteRefreshError;
use crate::types::{code_point, Afi, Family, Safi};

code_point! {
    /// The octet RFC 2918 reserved and RFC 7313 §3 made a message subtype.
    RouteRefreshSubtype(u8) {
        /// A plain route refresh request.
        REQUEST = 0 => "request",
        /// Beginning of Route Refresh (BoRR).
        BEGIN = 1 => "begin",
        /// End of Route Refresh (EoRR).
        END = 2 => "end",
    }
}

/// A ROUTE-REFRESH message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRefresh {
    /// The family to refresh.
    pub family: Family,
    /// Request, BoRR or EoRR; any other value is to be ignored (RFC 7313 §5).
    pub subtype: RouteRefreshSubtype,
    /// Octets after the fixed fields of a request: Outbound Route Filtering
    /// entries (RFC 5291 §4), carried but not interpreted.
    pub outbound_route_filters: Bytes,
}

impl RouteRefresh {
    /// A plain request for one family.
    pub fn request(family: Family) -> Self {
        RouteRefresh {
            family,
            subtype: RouteRefreshSubtype::REQUEST,
            outbound_route_filters: Bytes::new(),
        }
    }

    /// RFC 7313 §5: a subtype other than 0, 1 or 2 MUST be ignored on receipt.
    pub fn is_ignorable(&self) -> bool {
        self.subtype.0 > 2
    }

    /// Decodes the body; the framer guarantees four octets. `message` is the
    /// whole message, for the error's data field.
    pub(crate) fn decode_body(body: &Bytes, message: &Bytes) -> Result<Self, RouteRefreshError> {
        let afi = Afi(u16::from_be_bytes([body[0], body[1]]));
        let subtype = RouteRefreshSubtype(body[2]);
        let safi = Safi(body[3]);
        let is_demarcation =
            subtype == RouteRefreshSubtype::BEGIN || subtype == RouteRefreshSubtype::END;
        // RFC 7313 §5: BoRR and EoRR are exactly four octets of body.
        if is_demarcation && body.len() != 4 {
            return Err(RouteRefreshError::InvalidLength {
                length: message.len() as u16,
                message: message.clone(),
            });
        }
        Ok(RouteRefresh {
            family: Family::new(afi, safi),
            subtype,
            outbound_route_filters: body.slice(4..),
        })
    }

    pub(crate) fn body_length(&self) -> usize {
        4 + self.outbound_route_filters.len()
    }

    pub(crate) fn encode_body(&self, destination: &mut BytesMut) {
        destination.put_u16(self.family.afi.0);
        destination.put_u8(self.subtype.0);
        destination.put_u8(self.family.safi.0);
        destination.put_slice(&self.outbound_route_filters);
    }
}
