//! Value types that carry meaning: AS numbers, hold times, router ids, and
//! open newtypes for IANA code points (unknown values survive a round trip).

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// Declares an open newtype over an IANA code point: named constants for the
/// values we know, any other value still representable and printed as a number.
macro_rules! code_point {
    (
        $(#[$meta:meta])*
        $name:ident($repr:ty) {
            $( $(#[$const_meta:meta])* $constant:ident = $value:literal => $label:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $repr);

        impl $name {
            $( $(#[$const_meta])* pub const $constant: Self = Self($value); )*

            /// The registry name of this code point, or `None` when it is not one we know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($label), )*
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, formatter: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.name() {
                    Some(label) => write!(formatter, "{}({})", label, self.0),
                    None => write!(formatter, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.name() {
                    Some(label) => formatter.write_str(label),
                    None => write!(formatter, "{}", self.0),
                }
            }
        }
    };
}
pub(crate) use code_point;

/// An autonomous system number (RFC 6793: four octets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Asn(pub u32);

impl Asn {
    /// AS_TRANS (RFC 6793 §9): stands in for a 4-octet AS towards a 2-octet speaker.
    pub const TRANS: Asn = Asn(23456);

    /// The value to put in a 2-octet field: itself when it fits, else AS_TRANS (RFC 6793 §4.2.2).
    pub fn to_two_octet(self) -> u16 {
        u16::try_from(self.0).unwrap_or(Asn::TRANS.0 as u16)
    }

    /// Whether the number needs four octets on the wire.
    pub fn is_four_octet(self) -> bool {
        self.0 > u32::from(u16::MAX)
    }
}

impl fmt::Display for Asn {
    /// Plain notation (RFC 5396 "asplain"), as FRR, BIRD and GoBGP print it.
    fn fmt(&self, formatter: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

/// Why a text is not an AS number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AsnParseError {
    /// Neither a decimal number nor `X.Y`.
    #[error("invalid AS Number format")]
    Format,
    /// A decimal number beyond 4294967295, or an asdot half beyond 65535.
    #[error("AS Number out of range")]
    Range,
}

impl FromStr for Asn {
    type Err = AsnParseError;

    /// Parses asplain (`4200000001`) and asdot (`64086.59905`, RFC 5396 §1), each
    /// half of asdot being 0..=65535.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        fn decimal(part: &str) -> Result<u64, AsnParseError> {
            if part.is_empty() || part.len() > 10 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(AsnParseError::Format);
            }
            part.parse::<u64>().map_err(|_| AsnParseError::Format)
        }
        match text.split_once('.') {
            None => {
                let value = decimal(text)?;
                u32::try_from(value)
                    .map(Asn)
                    .map_err(|_| AsnParseError::Range)
            }
            Some((high, low)) => {
                let (high, low) = (decimal(high)?, decimal(low)?);
                if high > 0xffff || low > 0xffff {
                    return Err(AsnParseError::Range);
                }
                Ok(Asn(((high as u32) << 16) | low as u32))
            }
        }
    }
}

/// A BGP hold time in seconds: 0 (no keepalives) or at least 3 (RFC 4271 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HoldTime(u16);

impl HoldTime {
    /// The hold time RFC 4271 §10 suggests.
    pub const DEFAULT: HoldTime = HoldTime(90);

    /// `None` for 1 and 2 seconds, which RFC 4271 §6.2 says MUST be rejected.
    pub fn new(seconds: u16) -> Option<Self> {
        (seconds == 0 || seconds >= 3).then_some(HoldTime(seconds))
    }

    /// The value in seconds.
    pub fn seconds(self) -> u16 {
        self.0
    }
}

/// A BGP Identifier (RFC 4271 §4.2; RFC 6286 widens what is accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouterId(pub Ipv4Addr);

impl fmt::Display for RouterId {
    fn fmt(&self, formatter: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        self.0.fmt(formatter)
    }
}

code_point! {
    /// Address Family Identifier ([IANA address-family-numbers]).
    Afi(u16) {
        /// IP version 4.
        IPV4 = 1 => "ipv4",
        /// IP version 6.
        IPV6 = 2 => "ipv6",
        /// Layer-2 VPN (RFC 4761).
        L2VPN = 25 => "l2vpn",
        /// BGP-LS (RFC 7752).
        LINK_STATE = 16388 => "link-state",
    }
}

code_point! {
    /// Subsequent Address Family Identifier ([IANA safi-namespace]).
    Safi(u8) {
        /// Unicast forwarding.
        UNICAST = 1 => "unicast",
        /// Multicast forwarding.
        MULTICAST = 2 => "multicast",
        /// Labeled unicast (RFC 8277).
        LABELED_UNICAST = 4 => "labeled-unicast",
        /// Multicast VPN (RFC 6514).
        MCAST_VPN = 5 => "mcast-vpn",
        /// EVPN (RFC 7432).
        EVPN = 70 => "evpn",
        /// BGP-LS (RFC 7752).
        LINK_STATE = 71 => "link-state",
        /// MPLS-labeled VPN (RFC 4364).
        MPLS_VPN = 128 => "mpls-vpn",
        /// Route target constraint (RFC 4684).
        ROUTE_TARGET = 132 => "route-target",
        /// Flow specification (RFC 8955).
        FLOWSPEC = 133 => "flowspec",
        /// Flow specification for VPNs (RFC 8955).
        FLOWSPEC_VPN = 134 => "flowspec-vpn",
    }
}

/// An address family: AFI and SAFI together (RFC 4760 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Family {
    /// The AFI.
    pub afi: Afi,
    /// The SAFI.
    pub safi: Safi,
}

impl Family {
    /// IPv4 unicast, the family of the UPDATE's own NLRI fields.
    pub const IPV4_UNICAST: Family = Family::new(Afi::IPV4, Safi::UNICAST);
    /// IPv6 unicast, carried in MP_REACH_NLRI / MP_UNREACH_NLRI.
    pub const IPV6_UNICAST: Family = Family::new(Afi::IPV6, Safi::UNICAST);

    /// A family from its two code points.
    pub const fn new(afi: Afi, safi: Safi) -> Self {
        Family { afi, safi }
    }

    /// Whether this codec decodes the NLRI of this family into prefixes; other
    /// families are carried as opaque bytes.
    pub fn has_prefix_nlri(self) -> bool {
        self.safi == Safi::UNICAST || self.safi == Safi::MULTICAST
    }
}

impl fmt::Display for Family {
    fn fmt(&self, formatter: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        write!(formatter, "{} {}", self.afi, self.safi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asn_parses_asplain_and_asdot() {
        assert_eq!("65000".parse(), Ok(Asn(65000)));
        assert_eq!("4294967295".parse(), Ok(Asn(u32::MAX)));
        assert_eq!("64086.59905".parse(), Ok(Asn(4_200_000_001)));
        assert_eq!("0.0".parse(), Ok(Asn(0)));
        assert_eq!("1.0".parse(), Ok(Asn(65536)));
        assert_eq!("4294967296".parse::<Asn>(), Err(AsnParseError::Range));
        assert_eq!("65536.1".parse::<Asn>(), Err(AsnParseError::Range));
        assert_eq!("1.1.1".parse::<Asn>(), Err(AsnParseError::Format));
        assert_eq!("-1".parse::<Asn>(), Err(AsnParseError::Format));
        assert_eq!("".parse::<Asn>(), Err(AsnParseError::Format));
        assert_eq!(".5".parse::<Asn>(), Err(AsnParseError::Format));
        assert_eq!("+5".parse::<Asn>(), Err(AsnParseError::Format));
    }

    #[test]
    fn four_octet_asn_becomes_as_trans_in_two_octets() {
        assert_eq!(Asn(65001).to_two_octet(), 65001);
        assert_eq!(Asn(4_200_000_001).to_two_octet(), 23456);
    }

    #[test]
    fn hold_time_rejects_one_and_two_seconds() {
        assert!(HoldTime::new(0).is_some());
        assert!(HoldTime::new(1).is_none());
        assert!(HoldTime::new(2).is_none());
        assert_eq!(HoldTime::new(3).map(HoldTime::seconds), Some(3));
    }

    #[test]
    fn unknown_code_points_print_as_numbers() {
        assert_eq!(Afi(1).to_string(), "ipv4");
        assert_eq!(Afi(9999).to_string(), "9999");
        assert_eq!(Family::new(Afi::IPV6, Safi(77)).to_string(), "ipv6 77");
    }
}
