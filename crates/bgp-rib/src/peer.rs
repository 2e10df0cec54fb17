//! What the RIB keeps per peer: its session facts, counters, and where it
//! stands in its update group (whose Adj-RIB-Out it shares).

use bgp_wire::Family;

use crate::rib::GroupId;
use crate::{PeerId, PeerInfo};

/// One peer, up or down. A down peer stays known: its stale paths (graceful
/// restart) still need its router id and address for the decision process.
/// A removed peer's state stays in its slot, `removed`, until a new peer
/// takes the slot.
#[derive(Debug)]
pub(crate) struct PeerState {
    pub(crate) id: PeerId,
    pub(crate) info: PeerInfo,
    pub(crate) up: bool,
    /// Its update group while it is up (see `rib::groups`).
    pub(crate) group: Option<GroupId>,
    /// The sequence number of the next of its group's batches it takes.
    pub(crate) cursor: u64,
    /// Paths held from this peer (Adj-RIB-In after import checks), IPv4 unicast.
    pub(crate) accepted_ipv4: usize,
    /// The same for IPv6 unicast.
    pub(crate) accepted_ipv6: usize,
    /// Prefixes announced by the peer since its session came up, accepted or not.
    pub(crate) received: u64,
    /// Of the accepted paths, those marked stale (graceful restart), IPv4
    /// unicast: End-of-RIB of a peer without stale paths costs no table scan.
    pub(crate) stale_ipv4: usize,
    /// The same for IPv6 unicast.
    pub(crate) stale_ipv6: usize,
    /// Forgotten ([`crate::Rib::remove_peer`]): the slot is free for reuse.
    pub(crate) removed: bool,
    /// Its import and export filters ([`crate::Rib::set_peer_filter`]).
    pub(crate) filter: crate::PeerFilter,
}

impl PeerState {
    pub(crate) fn new(id: PeerId, info: PeerInfo) -> Self {
        PeerState {
            id,
            info,
            up: false,
            group: None,
            cursor: 0,
            accepted_ipv4: 0,
            accepted_ipv6: 0,
            received: 0,
            stale_ipv4: 0,
            stale_ipv6: 0,
            removed: false,
            filter: crate::PeerFilter::default(),
        }
    }

    pub(crate) fn accepted_mut(&mut self, family: Family) -> &mut usize {
        if family == Family::IPV6_UNICAST {
            &mut self.accepted_ipv6
        } else {
            &mut self.accepted_ipv4
        }
    }

    pub(crate) fn stale_mut(&mut self, family: Family) -> &mut usize {
        if family == Family::IPV6_UNICAST {
            &mut self.stale_ipv6
        } else {
            &mut self.stale_ipv4
        }
    }

    pub(crate) fn negotiated(&self, family: Family) -> bool {
        self.info.families.contains(&family)
    }
}
