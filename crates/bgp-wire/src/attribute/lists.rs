//! Attributes that are lists of fixed-size items: COMMUNITIES (RFC 1997),
//! CLUSTER_LIST (RFC 4456), EXTENDED_COMMUNITIES (RFC 4360) and
//! LARGE_COMMUNITY (RFC 8092). Each keeps its received octets and reads items
//! on demand, so decoding one costs no allocation.

use std::fmt;
use std::marker::PhantomData;
use std::net::Ipv4Addr;

use bytes::{Bytes, BytesMut};

/// An item of a fixed-size list attribute.
pub trait ListItem: Sized {
    /// Octets per item.
    const SIZE: usize;
    /// Reads one item from exactly `SIZE` octets.
    fn read(octets: &[u8]) -> Self;
    /// Writes one item.
    fn write(&self, destination: &mut Vec<u8>);
}

/// A list attribute value: a non-empty whole number of items.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ItemList<T> {
    octets: Bytes,
    item: PhantomData<T>,
}

impl<T: ListItem> ItemList<T> {
    /// Whether a received value of `length` octets is a non-empty whole
    /// number of items, the rule RFC 7606 §7.8, §7.10, §7.14 and RFC 8092 §6
    /// state. Checked on the length alone, so that the octets are only
    /// sliced out of the message (an atomic increment) once they are kept.
    #[inline]
    pub(crate) fn fits(length: usize) -> bool {
        length != 0 && length.is_multiple_of(T::SIZE)
    }

    /// Keeps received octets that [`ItemList::fits`] accepted.
    #[inline]
    pub(crate) fn from_checked(octets: Bytes) -> Self {
        debug_assert!(Self::fits(octets.len()));
        ItemList {
            octets,
            item: PhantomData,
        }
    }

    /// The items, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = T> + '_ {
        self.octets.chunks_exact(T::SIZE).map(T::read)
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.octets.len() / T::SIZE
    }

    /// Whether the list is empty (never true for a received value).
    pub fn is_empty(&self) -> bool {
        self.octets.is_empty()
    }

    /// The value octets.
    pub fn as_bytes(&self) -> &Bytes {
        &self.octets
    }

    /// A copy with octets of its own, so that keeping it keeps no received
    /// message alive: the octets appended to `store` and split off it, as
    /// [`crate::attribute::AsPath::detached_in`] does (an empty list, never a
    /// received one, takes nothing from the store).
    pub fn detached_in(&self, store: &mut BytesMut) -> Self {
        if self.octets.is_empty() {
            return ItemList {
                octets: Bytes::new(),
                item: PhantomData,
            };
        }
        store.extend_from_slice(&self.octets);
        ItemList {
            octets: store.split().freeze(),
            item: PhantomData,
        }
    }
}

impl<T: ListItem> FromIterator<T> for ItemList<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut octets = Vec::new();
        items.into_iter().for_each(|item| item.write(&mut octets));
        ItemList {
            octets: Bytes::from(octets),
            item: PhantomData,
        }
    }
}

impl<T: ListItem + fmt::Display> fmt::Debug for ItemList<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_list()
            .entries(self.iter().map(|item| item.to_string()))
            .finish()
    }
}

/// A standard community (RFC 1997), printed `ASN:VALUE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// NO_EXPORT (RFC 1997).
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997).
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// GRACEFUL_SHUTDOWN (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// LLGR_STALE (RFC 9494).
    pub const LLGR_STALE: Community = Community(0xFFFF_0006);
    /// NO_LLGR (RFC 9494).
    pub const NO_LLGR: Community = Community(0xFFFF_0007);
}

impl ListItem for Community {
    const SIZE: usize = 4;
    fn read(octets: &[u8]) -> Self {
        Community(u32::from_be_bytes([
            octets[0], octets[1], octets[2], octets[3],
        ]))
    }
    fn write(&self, destination: &mut Vec<u8>) {
        destination.extend_from_slice(&self.0.to_be_bytes());
    }
}

impl fmt::Display for Community {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}", self.0 >> 16, self.0 & 0xffff)
    }
}

/// A cluster id in CLUSTER_LIST (RFC 4456 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClusterId(pub Ipv4Addr);

impl ListItem for ClusterId {
    const SIZE: usize = 4;
    fn read(octets: &[u8]) -> Self {
        ClusterId(Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]))
    }
    fn write(&self, destination: &mut Vec<u8>) {
        destination.extend_from_slice(&self.0.octets());
    }
}

impl fmt::Display for ClusterId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

/// An extended community (RFC 4360 §2): type, subtype and value, kept whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtendedCommunity(pub [u8; 8]);

impl ListItem for ExtendedCommunity {
    const SIZE: usize = 8;
    fn read(octets: &[u8]) -> Self {
        let mut value = [0u8; 8];
        value.copy_from_slice(octets);
        ExtendedCommunity(value)
    }
    fn write(&self, destination: &mut Vec<u8>) {
        destination.extend_from_slice(&self.0);
    }
}

impl fmt::Display for ExtendedCommunity {
    /// Route targets and origins in the usual `rt:ASN:N` / `soo:IP:N` form
    /// (RFC 4360 §4, RFC 5668), anything else as hex.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [kind, subtype, rest @ ..] = self.0;
        let label = match subtype {
            0x02 => "rt",
            0x03 => "soo",
            _ => "",
        };
        let two = |high: u8, low: u8| u16::from_be_bytes([high, low]);
        let four = |octets: &[u8]| u32::from_be_bytes([octets[0], octets[1], octets[2], octets[3]]);
        match (kind & 0x3f, label.is_empty()) {
            (0x00, false) => write!(
                formatter,
                "{label}:{}:{}",
                two(rest[0], rest[1]),
                four(&rest[2..])
            ),
            (0x01, false) => write!(
                formatter,
                "{label}:{}:{}",
                Ipv4Addr::new(rest[0], rest[1], rest[2], rest[3]),
                two(rest[4], rest[5])
            ),
            (0x02, false) => write!(
                formatter,
                "{label}:{}:{}",
                four(&rest[..4]),
                two(rest[4], rest[5])
            ),
            _ => {
                formatter.write_str("0x")?;
                self.0
                    .iter()
                    .try_for_each(|octet| write!(formatter, "{octet:02x}"))
            }
        }
    }
}

/// A large community (RFC 8092 §3), printed `GLOBAL:LOCAL1:LOCAL2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    /// Global administrator: the AS that defines the community.
    pub global: u32,
    /// First local data part.
    pub local1: u32,
    /// Second local data part.
    pub local2: u32,
}

impl ListItem for LargeCommunity {
    const SIZE: usize = 12;
    fn read(octets: &[u8]) -> Self {
        let word = |at: usize| {
            u32::from_be_bytes([octets[at], octets[at + 1], octets[at + 2], octets[at + 3]])
        };
        LargeCommunity {
            global: word(0),
            local1: word(4),
            local2: word(8),
        }
    }
    fn write(&self, destination: &mut Vec<u8>) {
        for word in [self.global, self.local1, self.local2] {
            destination.extend_from_slice(&word.to_be_bytes());
        }
    }
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

/// COMMUNITIES.
pub type Communities = ItemList<Community>;
/// CLUSTER_LIST.
pub type ClusterList = ItemList<ClusterId>;
/// EXTENDED_COMMUNITIES.
pub type ExtendedCommunities = ItemList<ExtendedCommunity>;
/// LARGE_COMMUNITY.
pub type LargeCommunities = ItemList<LargeCommunity>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detached_list_is_equal_and_owns_its_octets() {
        let message = Bytes::from_static(&[0xff, 0, 1, 0, 2, 0, 3, 0, 4, 0xff]);
        let received = Communities::from_checked(message.slice(1..9));
        let detached = received.detached_in(&mut BytesMut::new());
        assert_eq!(detached, received);
        assert_eq!(detached.len(), 2);
        assert_ne!(detached.as_bytes().as_ptr(), received.as_bytes().as_ptr());
    }

    #[test]
    fn lists_accept_only_whole_non_empty_item_counts() {
        assert!(Communities::fits(4));
        assert!(!Communities::fits(0));
        assert!(!Communities::fits(3));
        assert!(LargeCommunities::fits(24));
        assert!(!LargeCommunities::fits(16));
    }

    #[test]
    fn items_print_in_their_usual_notation() {
        let communities: Communities = [Community(65000 << 16 | 100)].into_iter().collect();
        assert_eq!(communities.iter().next().unwrap().to_string(), "65000:100");
        let large = LargeCommunity {
            global: 4_200_000_001,
            local1: 1,
            local2: 2,
        };
        assert_eq!(large.to_string(), "4200000001:1:2");
        let target = ExtendedCommunity([0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, 7]);
        assert_eq!(target.to_string(), "rt:65000:7");
        let opaque = ExtendedCommunity([0x43, 0x0c, 0, 0, 0, 0, 0, 8]);
        assert_eq!(opaque.to_string(), "0x430c000000000008");
    }
}
