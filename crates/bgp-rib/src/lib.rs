//! # bgp-rib: the routing core of nodebgp, without I/O
//!
//! Sans-IO: no tokio, no sockets, no clock. The session driver hands it the
//! UPDATEs each peer sent, already decoded by `bgp-wire` (a
//! [`bgp_wire::Update`] plus the RFC 7606 [`bgp_wire::AttributeError`]s that
//! came with it), and session events; it hands back values: the UPDATEs to
//! send to each peer, and the changes to make to the forwarding table.
//!
//! ```text
//!  peer_up / peer_down / refresh                          originate / withdraw_origin
//!  flush_stale / enter_long_lived_stale                            │
//!           │                                                      │
//!  receive(peer, Update, errors) ──► import checks ──► Adj-RIB-In ─┤
//!   (RFC 7606 treat-as-withdraw,     (AS loop, RFC 4456 loops,     │
//!    End-of-RIB, max-prefix)          next hop, ADD-PATH id)       ▼
//!                                                    Loc-RIB: RFC 4271 §9.1.2 decision
//!                                                    process, bounded ECMP, GR and
//!                                                    long-lived (RFC 9494) stale marks
//!                                                        │                    │
//!                            best changed: prefix dirty per group     selected next hops
//!                                                        ▼                    ▼
//!      poll_updates(peer) ◄── export rules, interned Adj-RIB-Out       poll_fib() ──► FibChange
//!        (grouped by attribute set, End-of-RIB after the initial table;
//!         one resolution and one Adj-RIB-Out per update group)
//! ```
//!
//! ## Contract
//! - Per-peer state is keyed by the caller's [`PeerId`]. [`Rib::receive`],
//!   [`Rib::poll_updates`] and [`Rib::refresh`] for an unknown or down peer do
//!   nothing.
//! - A peer stays known after [`Rib::peer_down`] (its stale paths need it);
//!   [`Rib::remove_peer`] forgets it for good: its paths go (withdrawals and
//!   FIB changes follow as for `peer_down` without stale paths) and its slot
//!   is reused by the next new peer. A long-running caller that numbers peers
//!   anew must call it for every peer it drops, or the peer table grows with
//!   every number ever used (at most 65535 peers are known at once).
//! - The Adj-RIB-In holds routes after the import checks: AS_PATH loops beyond
//!   `allow_own_as` (RFC 4271 §9.1.2), ORIGINATOR_ID / CLUSTER_LIST loops from
//!   iBGP (RFC 4456 §8), confederation segments (RFC 5065 §5: we are in no
//!   confederation), the first AS of an eBGP path (RFC 4271 §6.3, with
//!   [`PeerInfo::enforce_first_as`]), the next hop (RFC 4271 §6.3: not one of
//!   our own session addresses, nor unspecified, multicast or broadcast),
//!   families the session did not negotiate (RFC 4760 §8, ignored), and
//!   treat-as-withdraw (RFC 7606 §2). It and the Loc-RIB are one store: every
//!   path of a prefix, the best and ECMP ones marked.
//! - The decision process (RFC 4271 §9.1.2.2, RFC 4456 §9) is a sequence of
//!   eliminations over the whole set, so its result never depends on the order
//!   in which paths arrived.
//! - Output is computed when asked for: a prefix whose best path changed is
//!   only marked dirty for the peers that may be sent it, and resolved at poll
//!   time against what that peer was last sent, so that a flap between two
//!   polls sends only the final state. FIB changes are likewise net changes
//!   since the last [`Rib::poll_fib`].
//! - Peers that would be sent the same UPDATEs (same kind, next-hop
//!   handling, families, message size, export filter; never route-reflector clients or
//!   eBGP peers of a transit node, whose split horizon is their own) form an
//!   update group once each has its initial table: a change is resolved once
//!   for the group, its Adj-RIB-Out is one map, and every member is handed
//!   the same [`SharedUpdates`] batch, which the driver encodes once. Each
//!   member still gets exactly what it would have got alone; one that falls
//!   behind, asks for a refresh or gets another filter goes on alone.
//! - Attribute sets are interned ([`Attributes`]): one allocation per distinct
//!   set, shared by every path and every Adj-RIB-Out entry that carries it.
//! - Only IPv4 and IPv6 unicast are routed, and only when the session
//!   negotiated them; other families are ignored on receipt, though
//!   End-of-RIB is sent for every negotiated family.
//!
//! ## Storage
//! One hash map per family keyed by `Ipv4Net` / `Ipv6Net`; a prefix with one
//! path keeps it inline (16 bytes: an `Arc` to the interned set, the ADD-PATH
//! id, a peer index and flags), so an IPv4 prefix costs its map slot and a
//! share of its attribute set. An Adj-RIB-Out entry is a key and an `Arc`.
//! Measured on the synthetic 1M-prefix table of `benches/` (~101k attribute
//! sets): about 78 heap bytes per prefix for the Loc-RIB, 58 more per prefix
//! for each update group the whole table is sent to (`cargo bench -p bgp-rib --bench
//! memory`; timings: `--bench rib`, or `cargo run --release -p bgp-rib
//! --example full_table`).
//!
//! ## Not done here
//! - No routing policy beyond the fixed rules above, one prefix-based
//!   export policy for every peer ([`ExportPolicy`], [`Rib::set_export_policy`]:
//!   calico-node's export filter) and per-peer prefix filters ([`PeerFilter`],
//!   [`Rib::set_peer_filter`]: Calico's BGPFilter); no route maps; IGP
//!   cost (RFC 4271 §9.1.2.2 e) counts as equal.
//! - ADD-PATH is understood on receipt only: each peer is sent the best path,
//!   without path identifiers.
//! - No confederations (a route whose AS_PATH holds confederation segments
//!   is malformed, RFC 5065 §5, and none are ever sent; NO_EXPORT_SUBCONFED
//!   acts as NO_EXPORT), no RFC 8950 negotiation check when a reflected
//!   IPv4 route with an IPv6 next hop is sent on.
//! - Long-lived graceful restart (RFC 9494) is the RIB's part only: the
//!   driver decides when a peer's stale paths turn long-lived stale and when
//!   they go, and does not use §4.6's optional partial deployment procedure
//!   (long-lived stale routes go only to peers with the LLGR capability).
//! - Max-prefix limits count each family separately.

mod advertised;
mod attributes;
mod changed;
mod decision;
mod export;
mod filter;
mod peer;
mod policy;
mod rib;
mod sharded;
mod table;
mod view;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use attributes::{Attributes, UnknownAttribute, DEFAULT_LOCAL_PREF};
pub use bgp_wire::{Asn, Family, RouterId};
pub use filter::{
    FamilyRules, FilterRule, InterfaceCondition, PeerFilter, PrefixCondition, PrefixMatch,
    RouteSource,
};
use ipnet::IpNet;
pub use policy::{ExportPolicy, ExportRule, Extent, Origin, Verdict};
pub use rib::{Batch, FilterChange, Rib, SharedUpdates};
pub use sharded::ShardedMap;
pub use view::{PeerStatistics, RouteView, Statistics};

/// A peer, as the caller numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u32);

/// Settings of the whole RIB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RibConfig {
    /// Our AS.
    pub local_as: Asn,
    /// Our BGP Identifier.
    pub router_id: RouterId,
    /// `Some` makes us a route reflector (RFC 4456) with this cluster id.
    pub cluster_id: Option<Ipv4Addr>,
    /// ECMP bound: at most this many paths per prefix go to the FIB (at least
    /// 1; 1 means no multipath).
    pub max_paths: usize,
    /// Re-export eBGP-learned routes to other eBGP peers. Off by default: a
    /// node is not a transit router.
    pub transit: bool,
    /// Track changes for a forwarding table ([`Rib::poll_fib`]); off when
    /// nothing installs routes, which saves a map entry per changed prefix.
    pub forwarding: bool,
}

impl RibConfig {
    /// A node's usual settings: no reflection, no multipath, no transit.
    pub fn new(local_as: Asn, router_id: RouterId) -> Self {
        RibConfig {
            local_as,
            router_id,
            cluster_id: None,
            max_paths: 1,
            transit: false,
            forwarding: true,
        }
    }
}

/// A limit on the prefixes one peer may announce (per family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPrefix {
    /// How many prefixes are allowed.
    pub limit: usize,
    /// Past the limit, end the session (Cease subcode 1, RFC 4486) and keep
    /// none of the excess; `false` only warns.
    pub tear_down: bool,
}

/// What the RIB needs to know of an established session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's address.
    pub address: IpAddr,
    /// The peer's AS.
    pub asn: Asn,
    /// The peer's BGP Identifier.
    pub router_id: RouterId,
    /// iBGP: the peer is in our AS.
    pub internal: bool,
    /// The peer is a route reflector client of ours (RFC 4456).
    pub route_reflector_client: bool,
    /// Our address to use as next hop self for IPv4 routes to this peer.
    pub next_hop_v4: Option<Ipv4Addr>,
    /// Our address to use as next hop self for IPv6 routes (MP_REACH_NLRI).
    pub next_hop_v6: Option<Ipv6Addr>,
    /// The families both sides negotiated (RFC 4760 §8); IPv4 unicast must be
    /// listed when the session has no multiprotocol capability. Routes of
    /// other families are ignored on receipt and none are sent.
    pub families: Vec<Family>,
    /// The 4-octet AS capability was negotiated (RFC 6793): decides the
    /// AS4_PATH merge on receipt and AS4_PATH on sending.
    pub four_octet_asn: bool,
    /// How many times our own AS may appear in a received AS_PATH (0: any
    /// occurrence is a loop).
    pub allow_own_as: u8,
    /// The prefix limit, if any.
    pub max_prefix: Option<MaxPrefix>,
    /// Towards this eBGP peer, keep the next hop of learned routes instead of
    /// setting our own (Calico's `keepOriginalNextHop`, BIRD's `next hop
    /// keep`); our own prefixes still carry next hop self.
    pub keep_next_hop: bool,
    /// Towards this peer, eBGP or iBGP, every route carries our own next hop,
    /// reflected and eBGP-learned ones too (Calico's `nextHopMode: Self`,
    /// BIRD's `next hop self`); wins over `keep_next_hop`.
    pub next_hop_self: bool,
    /// Our AS on this session when it is not the RIB's (Calico's
    /// `localASNumber`, BIRD's per-protocol `local as`): prepended towards
    /// the peer, and the AS a route from it must not hold (RFC 4271 §9.1.2).
    pub local_as: Option<Asn>,
    /// The peer announced the Long-Lived Graceful Restart capability (RFC
    /// 9494 §3): only such peers are sent long-lived stale routes (§4.3).
    pub long_lived: bool,
    /// For an eBGP peer: a route whose AS_PATH does not start with the peer's
    /// AS (empty, or led by an AS_SET or another AS) is treated as withdrawn
    /// (RFC 4271 §6.3's optional check, RFC 7606 §7.2; FRR's
    /// `enforce-first-as`, on by default there). Turn it off for a route
    /// server (RFC 7947 §2.2.2.2), which does not prepend its AS. Ignored for
    /// iBGP peers.
    pub enforce_first_as: bool,
    /// Both sides announced Extended Messages (RFC 8654): UPDATEs to the
    /// peer may be up to 65,535 octets. Peers that differ are never sent the
    /// same UPDATEs (what fits one may not fit the other).
    pub extended_message: bool,
}

/// What [`Rib::enter_long_lived_stale`] did with a peer's stale paths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LongLivedStale {
    /// Paths kept as long-lived stale, LLGR_STALE attached.
    pub kept: usize,
    /// Paths removed because they carried NO_LLGR (RFC 9494 §4.2).
    pub removed: usize,
}

/// What [`Rib::receive`] did with an UPDATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// Applied: `announced` prefixes were taken into the Adj-RIB-In (import
    /// checks passed), `withdrawn` paths were removed (withdrawals, and
    /// announcements treated as withdrawals that removed a path).
    Accepted {
        /// Prefixes accepted.
        announced: usize,
        /// Paths removed.
        withdrawn: usize,
    },
    /// It was the End-of-RIB marker of this family (RFC 4724 §2); the peer's
    /// stale paths of the family were removed.
    EndOfRib(Family),
    /// The peer's prefix count in `family` went past its limit. With
    /// `tear_down`, the excess prefixes were not kept and the driver should
    /// end the session with Cease / Maximum Number of Prefixes Reached (RFC
    /// 4486); otherwise everything was accepted and this is a warning, given
    /// once each time the count crosses the limit.
    MaxPrefixExceeded {
        /// The family whose count went past the limit.
        family: Family,
        /// The limit.
        limit: usize,
        /// The count the peer reached (with `tear_down`: would have reached).
        count: usize,
        /// Whether the session is to be torn down.
        tear_down: bool,
    },
}

/// A change to the forwarding table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FibChange {
    /// The prefix.
    pub prefix: IpNet,
    /// The next hops of the selected paths (best and ECMP), sorted; empty means
    /// remove the route.
    pub next_hops: NextHops,
}

/// The next hops of a [`FibChange`]: up to two in place, so that a table's
/// worth of changes costs no allocation per prefix.
pub type NextHops = smallvec::SmallVec<[IpAddr; 2]>;
