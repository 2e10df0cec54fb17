//! The RIB: receiving (import), the per-prefix bookkeeping that follows a
//! change, and the polls that hand back UPDATEs and FIB changes.

use std::net::IpAddr;
use std::sync::Arc;

use bgp_wire::{
    AsPath, AttributeError, AttributeValue, Community, Family, LargeCommunity, Nlri, Origin,
    Treatment, Update,
};
use hashbrown::hash_map::Entry;
use hashbrown::HashMap;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::attributes::{Attributes, Interner, UnknownAttribute};
use crate::decision;
use crate::peer::PeerState;
use crate::table::{Path, Paths, PeerSlot, Place, PrefixKey, Selection, Tables};
use crate::{FibChange, LongLivedStale, NextHops, PeerId, PeerInfo, Receipt, RibConfig};

mod filtering;
mod groups;
mod output;
mod removal;
mod selection;

pub use filtering::FilterChange;
pub(crate) use groups::GroupId;
pub use groups::SharedUpdates;
pub use output::Batch;
use selection::{selected, selected_single, BestPath, Selected};

/// Prefixes [`Rib::poll_fib`]'s map keeps room for between batches: what
/// the changes of a quiet moment need. While a table arrives the map grows
/// again to a batch's size each time (a driver applying the changes on
/// another thread takes thousands at a time), a few small rehashes; kept,
/// that room would be held for good, about a hundred octets a prefix.
const FIB_PENDING_KEPT: usize = 1024;

/// What happened to one announced path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Added,
    Replaced,
    Unchanged,
    /// Not taken: the peer is at its prefix limit and is to be torn down.
    Refused,
}

/// Counts kept while one UPDATE is applied.
#[derive(Debug, Default)]
struct Tally {
    announced: usize,
    withdrawn: usize,
    exceeded: Option<Receipt>,
    refused: usize,
}

/// The routing information base: Adj-RIB-In, Loc-RIB and Adj-RIB-Out of every
/// peer (see the crate documentation).
#[derive(Debug)]
pub struct Rib {
    pub(crate) config: RibConfig,
    pub(crate) interner: Interner,
    pub(crate) peers: Vec<PeerState>,
    pub(crate) slots: HashMap<PeerId, PeerSlot>,
    /// Slots of removed peers below the last used one, for reuse
    /// ([`Rib::remove_peer`]).
    free: Vec<PeerSlot>,
    /// The update groups of the peers that are up: the targets a change may
    /// have to be sent to, so that marking a changed prefix walks neither
    /// down nor removed peers, and a hundred peers sent the same thing are
    /// one target.
    pub(crate) groups: groups::Groups,
    /// While an UPDATE's announcements are taken in: which groups its set
    /// may go to.
    eligibility: groups::Eligibility,
    pub(crate) tables: Tables,
    /// Prefixes whose FIB entry changed since the last [`Rib::poll_fib`]: the
    /// next hops reported then, and the current ones (kept here so that the
    /// poll does not look every prefix up again in the big tables).
    fib_pending: HashMap<IpNet, (NextHops, NextHops)>,
    /// Peers whose paths are being removed a step at a time
    /// ([`Rib::retire_peer`], [`Rib::peer_down_in_steps`]).
    removals: removal::Removals,
    /// Which prefixes may be sent at all ([`Rib::set_export_policy`]).
    pub(crate) export_policy: crate::ExportPolicy,
    /// The maps each poll for output builds, kept for the next.
    poll_scratch: output::PollScratch,
}

impl Rib {
    /// An empty RIB.
    pub fn new(config: RibConfig) -> Rib {
        Rib {
            config: RibConfig {
                max_paths: config.max_paths.max(1),
                ..config
            },
            interner: Interner::default(),
            peers: Vec::new(),
            slots: HashMap::default(),
            free: Vec::new(),
            groups: groups::Groups::default(),
            eligibility: groups::Eligibility::default(),
            tables: Tables::default(),
            fib_pending: HashMap::default(),
            removals: removal::Removals::default(),
            export_policy: crate::ExportPolicy::default(),
            poll_scratch: output::PollScratch::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &RibConfig {
        &self.config
    }

    pub(crate) fn slot(&self, peer: PeerId) -> Option<PeerSlot> {
        self.slots.get(&peer).copied()
    }

    fn up_slot(&self, peer: PeerId) -> Option<PeerSlot> {
        self.slot(peer)
            .filter(|slot| self.peers[usize::from(*slot)].up)
    }

    /// Session established: the peer's full export is queued, followed by
    /// End-of-RIB per family (RFC 4724 §2). If the peer had stale paths
    /// (graceful restart helper), they stay until [`Rib::receive`] sees its
    /// End-of-RIB or [`Rib::flush_stale`] is called.
    ///
    /// # Panics
    /// With more than 65535 peers known at once (a peer is known from its
    /// first `peer_up` until [`Rib::remove_peer`]).
    pub fn peer_up(&mut self, peer: PeerId, info: PeerInfo) {
        let slot = match self.slot(peer) {
            Some(slot) => {
                // Paths of its last session still going would be taken for
                // the new session's.
                self.finish_removals_of(slot);
                slot
            }
            None => {
                let slot = match self.free.pop() {
                    Some(slot) => {
                        self.peers[usize::from(slot)] = PeerState::new(peer, info.clone());
                        slot
                    }
                    None => {
                        let slot = PeerSlot::try_from(self.peers.len())
                            .expect("at most 65535 peers known at once");
                        self.peers.push(PeerState::new(peer, info.clone()));
                        slot
                    }
                };
                self.slots.insert(peer, slot);
                slot
            }
        };
        let state = &mut self.peers[usize::from(slot)];
        state.info = info;
        state.up = true;
        state.received = 0;
        // Alone with its whole table to send; it joins peers sent the same
        // once it has caught up with them.
        self.found_group(slot);
    }

    /// Session went down. `keep_stale` makes us a graceful restart helper (RFC
    /// 4724 §4.2): the peer's paths stay, marked stale, still used for
    /// forwarding; otherwise they are removed now. Its Adj-RIB-Out is dropped
    /// either way.
    pub fn peer_down(&mut self, peer: PeerId, keep_stale: bool) {
        let Some(slot) = self.slot(peer) else {
            return;
        };
        self.take_down(slot);
        if keep_stale {
            // The selection does not change: stale paths still forward.
            let mark = |paths: &mut Paths| {
                let mut marked = 0;
                for path in paths.as_mut_slice() {
                    if !path.is_local() && path.peer == slot && !path.is_stale() {
                        path.flags |= Path::STALE;
                        marked += 1;
                    }
                }
                marked
            };
            let ipv4: usize = self.tables.ipv4.values_mut().map(mark).sum();
            let ipv6: usize = self.tables.ipv6.values_mut().map(mark).sum();
            let state = &mut self.peers[usize::from(slot)];
            state.stale_ipv4 += ipv4;
            state.stale_ipv6 += ipv6;
        } else {
            self.remove_where::<Ipv4Net>(slot, false);
            self.remove_where::<Ipv6Net>(slot, false);
        }
    }

    /// The session part of going down: no more output, no longer a target.
    fn take_down(&mut self, slot: PeerSlot) {
        self.leave_group(slot);
        self.peers[usize::from(slot)].up = false;
    }

    /// The peer, still up, is about to send its whole table of `family`
    /// again (RFC 7313 §4.2, Beginning of Route Refresh): its paths of that
    /// family are marked stale, still used for forwarding; what it sends
    /// again is fresh, and [`Rib::flush_stale`] at its End of Route Refresh
    /// removes the rest. Nothing for an unknown or down peer, or a family
    /// that is not routed.
    pub fn mark_stale(&mut self, peer: PeerId, family: Family) {
        let Some(slot) = self.slot(peer) else {
            return;
        };
        if !self.peers[usize::from(slot)].up {
            return;
        }
        let mark = |paths: &mut Paths| {
            let mut marked = 0;
            for path in paths.as_mut_slice() {
                if !path.is_local() && path.peer == slot && !path.is_stale() {
                    path.flags |= Path::STALE;
                    marked += 1;
                }
            }
            marked
        };
        let marked: usize = match family {
            Family::IPV4_UNICAST => self.tables.ipv4.values_mut().map(mark).sum(),
            Family::IPV6_UNICAST => self.tables.ipv6.values_mut().map(mark).sum(),
            _ => return,
        };
        let state = &mut self.peers[usize::from(slot)];
        match family {
            Family::IPV4_UNICAST => state.stale_ipv4 += marked,
            _ => state.stale_ipv6 += marked,
        }
    }

    /// The peer is gone for good (deconfigured, or replaced by a session
    /// under another [`PeerId`]): as [`Rib::peer_down`] without stale paths
    /// (its paths, stale ones included, are removed, the prefixes decided
    /// again, withdrawals and FIB changes queued), then the peer is
    /// forgotten and its slot reused by the next new peer. Nothing for an
    /// unknown peer; the same `PeerId` may come up again later as a new peer.
    pub fn remove_peer(&mut self, peer: PeerId) {
        let Some(slot) = self.slot(peer) else {
            return;
        };
        self.finish_removals_of(slot);
        self.peer_down(peer, false);
        self.slots.remove(&peer);
        self.free_slot(slot);
    }

    /// Frees the slot of a forgotten peer none of whose paths is left.
    fn free_slot(&mut self, slot: PeerSlot) {
        let state = &mut self.peers[usize::from(slot)];
        debug_assert_eq!(state.accepted_ipv4 + state.accepted_ipv6, 0);
        debug_assert_eq!(state.stale_ipv4 + state.stale_ipv6, 0);
        state.removed = true;
        // No path refers to the slot any more: it is free. Trailing free
        // slots are dropped, so the list only ever holds as many peers as
        // were known at once.
        self.free.push(slot);
        while self.peers.last().is_some_and(|state| state.removed) {
            self.peers.pop();
        }
        let len = self.peers.len();
        self.free.retain(|free| usize::from(*free) < len);
    }

    /// Removes the peer's stale paths of `family` (all families when `None`):
    /// the restart timer expired, or its End-of-RIB came (RFC 4724 §4.2).
    pub fn flush_stale(&mut self, peer: PeerId, family: Option<Family>) {
        let Some(slot) = self.slot(peer) else {
            return;
        };
        // Without stale paths (the usual End-of-RIB after a fresh start) the
        // family table need not be scanned.
        let state = &self.peers[usize::from(slot)];
        let (stale_ipv4, stale_ipv6) = (state.stale_ipv4, state.stale_ipv6);
        if stale_ipv4 > 0 && family.is_none_or(|family| family == Family::IPV4_UNICAST) {
            self.remove_where::<Ipv4Net>(slot, true);
        }
        if stale_ipv6 > 0 && family.is_none_or(|family| family == Family::IPV6_UNICAST) {
            self.remove_where::<Ipv6Net>(slot, true);
        }
    }

    /// The peer's restart time is over (or it announced none) and it
    /// announced long-lived graceful restart for `families` (RFC 9494 §4.2):
    /// its stale paths of those families that carry NO_LLGR are removed; the
    /// others stay, marked long-lived stale, with LLGR_STALE attached (a new
    /// interned set), least preferred in the decision process (§4.4) and sent
    /// only to peers with the capability (§4.3). Its End-of-RIB, re-learning
    /// a path, or [`Rib::flush_stale`] at the end of the long-lived stale
    /// time ends them as it ends any stale path. Fresh paths (learned since
    /// the peer came back) and paths already long-lived stale are left alone;
    /// stale paths of other families are the caller's to flush.
    pub fn enter_long_lived_stale(&mut self, peer: PeerId, families: &[Family]) -> LongLivedStale {
        let Some(slot) = self.slot(peer) else {
            return LongLivedStale::default();
        };
        let mut outcome = LongLivedStale::default();
        if families.contains(&Family::IPV4_UNICAST) {
            self.long_lived_family::<Ipv4Net>(slot, &mut outcome);
        }
        if families.contains(&Family::IPV6_UNICAST) {
            self.long_lived_family::<Ipv6Net>(slot, &mut outcome);
        }
        outcome
    }

    /// [`Rib::enter_long_lived_stale`] for one family.
    fn long_lived_family<K: PrefixKey>(&mut self, slot: PeerSlot, outcome: &mut LongLivedStale) {
        if *self.peers[usize::from(slot)].stale_mut(K::FAMILY) == 0 {
            return;
        }
        let entering = |path: &Path| {
            !path.is_local() && path.peer == slot && path.is_stale() && !path.is_long_lived()
        };
        let mut doomed: Vec<(K, Option<u32>)> = Vec::new();
        let mut kept: Vec<K> = Vec::new();
        for (key, paths) in K::table(&self.tables).iter() {
            let mut keeps = false;
            for path in paths.as_slice().iter().filter(|path| entering(path)) {
                // RFC 9494 §4.2: NO_LLGR routes are not retained as long-lived stale.
                if path.attributes.has_community(Community::NO_LLGR) {
                    doomed.push((key, path.path_id()));
                } else {
                    keeps = true;
                }
            }
            if keeps {
                kept.push(key);
            }
        }
        for (key, path_id) in doomed {
            if self.remove(key, Some(slot), path_id) {
                *self.peers[usize::from(slot)].accepted_mut(K::FAMILY) -= 1;
                outcome.removed += 1;
            }
        }
        // One new set per distinct old set, not one per prefix.
        let mut marked: HashMap<usize, Arc<Attributes>> = HashMap::default();
        let mut released = 0;
        for key in kept {
            let Rib {
                config,
                interner,
                peers,
                tables,
                ..
            } = self;
            let Some(paths) = K::table_mut(tables).get_mut(key) else {
                continue;
            };
            let before = selected(paths, config.forwarding);
            for path in paths.as_mut_slice() {
                if !entering(path) {
                    continue;
                }
                let attributes = marked
                    .entry(Arc::as_ptr(&path.attributes) as usize)
                    .or_insert_with(|| {
                        interner.intern_derived(path.attributes.with_long_lived_stale())
                    });
                path.attributes = Arc::clone(attributes);
                path.flags |= Path::LONG_LIVED;
                released += 1;
                outcome.kept += 1;
            }
            decision::select(paths.as_mut_slice(), peers, config);
            let after = selected(paths, config.forwarding);
            self.note_change(key, before, after);
        }
        drop(marked);
        self.interner.released(released);
    }

    /// Removes the paths of peer `slot` (only the stale ones with `stale_only`).
    fn remove_where<K: PrefixKey>(&mut self, slot: PeerSlot, stale_only: bool) {
        let doomed: Vec<(K, Option<u32>)> = K::table(&self.tables)
            .iter()
            .flat_map(|(key, paths)| {
                paths
                    .as_slice()
                    .iter()
                    .filter(|path| {
                        !path.is_local() && path.peer == slot && (!stale_only || path.is_stale())
                    })
                    .map(move |path| (key, path.path_id()))
            })
            .collect();
        for (key, path_id) in doomed {
            if self.remove(key, Some(slot), path_id) {
                *self.peers[usize::from(slot)].accepted_mut(K::FAMILY) -= 1;
            }
        }
    }

    /// Applies one received UPDATE (RFC 4271 §9). Any error whose treatment
    /// is treat-as-withdraw or more severe (RFC 7606 §2; AFI/SAFI disable and
    /// session reset included, for the message at hand) turns its
    /// announcements into withdrawals, as do the import checks (see the
    /// crate documentation). Routes of a family the session did not
    /// negotiate are ignored (RFC 4760 §8). End-of-RIB (RFC 4724 §2) flushes
    /// the peer's stale paths of that family.
    pub fn receive(&mut self, peer: PeerId, update: &Update, errors: &[AttributeError]) -> Receipt {
        let Some(slot) = self.up_slot(peer) else {
            return Receipt::Accepted {
                announced: 0,
                withdrawn: 0,
            };
        };
        if let Some(family) = update.end_of_rib() {
            self.flush_stale(peer, Some(family));
            return Receipt::EndOfRib(family);
        }
        // RFC 4760 §8: routes of a family are exchanged only when both sides
        // advertised it. Those of any other family, in MP_REACH_NLRI,
        // MP_UNREACH_NLRI or (IPv4 unicast) the NLRI fields, are ignored.
        let state = &self.peers[usize::from(slot)];
        let ipv4 = state.negotiated(Family::IPV4_UNICAST);
        let ipv6 = state.negotiated(Family::IPV6_UNICAST);
        let accepts = |family: Family| {
            (family == Family::IPV4_UNICAST && ipv4) || (family == Family::IPV6_UNICAST && ipv6)
        };
        let mut tally = Tally::default();
        let unreach = update.mp_unreach();
        // Withdrawals only: for announced prefixes the lookups waited on are
        // cheaper (an absent key's control group), and measured no faster.
        let unreached = unreach.map_or(&[][..], |unreach| unreach.nlri.prefixes());
        if update.withdrawn.len() + unreached.len() > 1 {
            self.tables.warm(update.withdrawn.iter().chain(unreached));
        }
        if ipv4 {
            for nlri in update
                .withdrawn
                .iter()
                .filter(|nlri| nlri.prefix.addr().is_ipv4())
            {
                tally.withdrawn += usize::from(self.withdraw_nlri(slot, nlri));
            }
        }
        if let Some(unreach) = unreach {
            if accepts(unreach.family) {
                let matches_family = |nlri: &&Nlri| family_of(nlri.prefix) == unreach.family;
                for nlri in unreach.nlri.prefixes().iter().filter(matches_family) {
                    tally.withdrawn += usize::from(self.withdraw_nlri(slot, nlri));
                }
            }
        }
        let reach = update
            .mp_reach()
            .filter(|reach| accepts(reach.family) && !reach.nlri.is_empty());
        let announced = if ipv4 { &update.announced[..] } else { &[] };
        if announced.is_empty() && reach.is_none() {
            return tally.receipt();
        }
        let treat_as_withdraw = errors
            .iter()
            .any(|error| error.treatment >= Treatment::TreatAsWithdraw);
        let mut base = if treat_as_withdraw {
            None
        } else {
            self.import_attributes(slot, update)
        };
        if !announced.is_empty() {
            // RFC 4271 §5.1.3: NEXT_HOP for the routes of the NLRI field.
            let info = &self.peers[usize::from(slot)].info;
            let next_hop = update
                .next_hop()
                .map(IpAddr::V4)
                .filter(|next_hop| usable_next_hop(info, *next_hop));
            let attributes = match (base.as_mut(), next_hop) {
                (Some(base), Some(next_hop)) => Some(self.intern_with_next_hop(base, next_hop)),
                _ => None,
            };
            // A lone prefix asks each group once anyway: nothing to remember.
            if let Some(attributes) = attributes.as_ref().filter(|_| announced.len() > 1) {
                self.eligibility
                    .begin(attributes, slot, Family::IPV4_UNICAST);
            }
            // The NLRI field holds IPv4 prefixes only (RFC 4271 §4.3).
            for nlri in announced.iter().filter(|nlri| nlri.prefix.addr().is_ipv4()) {
                self.announce_nlri(slot, nlri, attributes.as_ref(), &mut tally);
            }
            self.eligibility.end();
        }
        if let Some(reach) = reach {
            // RFC 2545 §3: of a global and a link-local IPv6 next hop, the
            // global one is used (unless it is left unspecified, as some
            // speakers do on unnumbered links).
            let info = &self.peers[usize::from(slot)].info;
            let next_hop = reach
                .next_hop_addresses()
                .iter()
                .copied()
                .find(|address| !address.is_unspecified())
                .filter(|next_hop| usable_next_hop(info, *next_hop));
            let attributes = match (base.as_mut(), next_hop) {
                (Some(base), Some(next_hop)) => Some(self.intern_with_next_hop(base, next_hop)),
                _ => None,
            };
            let several = reach.nlri.prefixes().len() > 1;
            if let Some(attributes) = attributes.as_ref().filter(|_| several) {
                self.eligibility.begin(attributes, slot, reach.family);
            }
            let matches_family = |nlri: &&Nlri| family_of(nlri.prefix) == reach.family;
            for nlri in reach.nlri.prefixes().iter().filter(matches_family) {
                self.announce_nlri(slot, nlri, attributes.as_ref(), &mut tally);
            }
            self.eligibility.end();
        }
        tally.receipt()
    }

    /// The interned set of `base` with `next_hop` (one UPDATE may carry routes
    /// of two families, each with its own next hop).
    fn intern_with_next_hop(&mut self, base: &mut Attributes, next_hop: IpAddr) -> Arc<Attributes> {
        base.next_hop = Some(next_hop);
        self.interner.intern(base)
    }

    /// The attributes of a received UPDATE as kept (next hop aside), or
    /// `None` when the import checks reject its routes.
    fn import_attributes(&self, slot: PeerSlot, update: &Update) -> Option<Attributes> {
        let info = &self.peers[usize::from(slot)].info;
        // RFC 6793 §4.2.3: the path a two-octet speaker's route really took.
        let as_path = update.effective_as_path(info.four_octet_asn)?;
        // RFC 5065 §5: AS_CONFED_SEQUENCE / AS_CONFED_SET segments from a
        // neighbour outside our confederation make the AS_PATH malformed, and
        // we are in no confederation, so every neighbour is outside one
        // (Appendix B: the check is for every speaker); a malformed AS_PATH is
        // treat-as-withdraw (RFC 7606 §7.2). Counting 0 towards the path
        // length, such segments would otherwise win the decision.
        if update
            .as_path()
            .is_some_and(AsPath::has_confederation_segments)
            || as_path.has_confederation_segments()
        {
            return None;
        }
        // RFC 4271 §6.3 (optional check) and RFC 7606 §7.2: an eBGP peer's
        // AS_PATH starts with the peer's AS (every speaker prepends its own,
        // RFC 4271 §5.1.2), as an AS_SEQUENCE; otherwise treat-as-withdraw.
        // Without it an empty AS_PATH (length 0) would beat every honest path.
        if !info.internal && info.enforce_first_as && as_path.first_asn() != Some(info.asn) {
            return None;
        }
        // RFC 4271 §9.1.2: a route whose AS_PATH holds our AS is a loop,
        // unless configured to allow it a number of times.
        let own_as = info.local_as.unwrap_or(self.config.local_as);
        if as_path.count(own_as) > usize::from(info.allow_own_as) {
            return None;
        }
        let mut attributes = Attributes::new(update.origin()?, as_path, None);
        let mut as4_aggregator = None;
        let mut unknown = Vec::new();
        for attribute in &update.attributes {
            match &attribute.value {
                AttributeValue::MultiExitDisc(med) => attributes.med = Some(*med),
                // RFC 4271 §5.1.5: LOCAL_PREF from an external peer is ignored.
                AttributeValue::LocalPref(local_pref) if info.internal => {
                    attributes.local_pref = Some(*local_pref)
                }
                AttributeValue::AtomicAggregate => attributes.rare_mut().atomic_aggregate = true,
                AttributeValue::Aggregator(aggregator) => {
                    attributes.rare_mut().aggregator = Some(*aggregator)
                }
                AttributeValue::As4Aggregator(aggregator) => as4_aggregator = Some(*aggregator),
                AttributeValue::Communities(list) => attributes.communities = Some(list.clone()),
                AttributeValue::ExtendedCommunities(list) => {
                    attributes.rare_mut().extended_communities = Some(list.clone())
                }
                AttributeValue::LargeCommunities(list) => {
                    attributes.rare_mut().large_communities = Some(list.clone())
                }
                // RFC 4456 §8: these only mean something inside the AS.
                AttributeValue::OriginatorId(id) if info.internal => {
                    attributes.rare_mut().originator_id = Some(*id)
                }
                AttributeValue::ClusterList(list) if info.internal => {
                    attributes.rare_mut().cluster_list = Some(list.clone())
                }
                AttributeValue::Other { type_code, value } => unknown.push(UnknownAttribute {
                    flags: attribute.flags,
                    type_code: *type_code,
                    value: value.clone(),
                }),
                // ORIGIN and AS_PATH are read above, next hops per family,
                // AS4_PATH is merged, MP attributes carry the routes.
                _ => {}
            }
        }
        // RFC 6793 §4.2.3: AS4_AGGREGATOR replaces an AGGREGATOR naming AS_TRANS.
        if !info.four_octet_asn {
            if let (Some(aggregator), Some(as4)) = (attributes.aggregator(), as4_aggregator) {
                if aggregator.asn == bgp_wire::Asn::TRANS {
                    attributes.rare_mut().aggregator = Some(as4);
                }
            }
        }
        unknown.sort_by_key(|attribute| attribute.type_code);
        if !unknown.is_empty() {
            attributes.rare_mut().unknown = unknown.into_boxed_slice();
        }
        attributes.tidy();
        if info.internal {
            // RFC 4456 §8: our own route reflected back, or one that has
            // already been through our cluster.
            if attributes.originator_id() == Some(self.config.router_id.0) {
                return None;
            }
            if let Some(cluster_id) = self.config.cluster_id {
                if attributes.cluster_list_contains(cluster_id) {
                    return None;
                }
            }
        }
        Some(attributes)
    }

    /// Removes the peer's path for `nlri`; whether there was one.
    fn withdraw_nlri(&mut self, slot: PeerSlot, nlri: &Nlri) -> bool {
        let removed = match nlri.prefix {
            IpNet::V4(net) => self.remove(net.trunc(), Some(slot), nlri.path_id),
            IpNet::V6(net) => self.remove(net.trunc(), Some(slot), nlri.path_id),
        };
        if removed {
            let family = family_of(nlri.prefix);
            *self.peers[usize::from(slot)].accepted_mut(family) -= 1;
        }
        removed
    }

    /// Takes in one announced prefix; `None` attributes mean it failed the
    /// import checks and is handled as a withdrawal.
    fn announce_nlri(
        &mut self,
        slot: PeerSlot,
        nlri: &Nlri,
        attributes: Option<&Arc<Attributes>>,
        tally: &mut Tally,
    ) {
        self.peers[usize::from(slot)].received += 1;
        // The peer's import filter (Calico's BGPFilter) rejects like an
        // import check: a path held for the prefix goes.
        let attributes = attributes.filter(|attributes| {
            self.peers[usize::from(slot)]
                .filter
                .imports(nlri.prefix.trunc(), attributes.next_hop())
        });
        let Some(attributes) = attributes else {
            tally.withdrawn += usize::from(self.withdraw_nlri(slot, nlri));
            return;
        };
        let family = family_of(nlri.prefix);
        let state = &mut self.peers[usize::from(slot)];
        let count = *state.accepted_mut(family);
        let limit = state.info.max_prefix;
        // RFC 4486: past the limit a tearing-down peer gets none of the excess.
        let may_add = limit.is_none_or(|limit| !limit.tear_down || count < limit.limit);
        let path = Path {
            attributes: Arc::clone(attributes),
            path_id: nlri.path_id.unwrap_or(0),
            peer: slot,
            selection: Selection::None,
            flags: if nlri.path_id.is_some() {
                Path::HAS_PATH_ID
            } else {
                0
            },
        };
        let outcome = match nlri.prefix {
            IpNet::V4(net) => self.upsert(net.trunc(), Some(slot), path, may_add),
            IpNet::V6(net) => self.upsert(net.trunc(), Some(slot), path, may_add),
        };
        match outcome {
            Outcome::Added => {
                let count = self.peers[usize::from(slot)].accepted_mut(family);
                *count += 1;
                tally.announced += 1;
                if let Some(limit) = limit {
                    if *count == limit.limit + 1 {
                        tally.exceeded = Some(Receipt::MaxPrefixExceeded {
                            family,
                            limit: limit.limit,
                            count: *count,
                            tear_down: false,
                        });
                    }
                }
            }
            Outcome::Replaced | Outcome::Unchanged => tally.announced += 1,
            Outcome::Refused => {
                tally.refused += 1;
                if let Some(limit) = limit {
                    tally.exceeded = Some(Receipt::MaxPrefixExceeded {
                        family,
                        limit: limit.limit,
                        count: count + tally.refused,
                        tear_down: true,
                    });
                }
            }
        }
    }

    /// Adds or replaces the path of `source` (`None`: local) for `key`.
    fn upsert<K: PrefixKey>(
        &mut self,
        key: K,
        source: Option<PeerSlot>,
        mut path: Path,
        may_add: bool,
    ) -> Outcome {
        let table = K::table_mut(&mut self.tables);
        let (before, after, outcome) = match table.entry(key) {
            Place::Vacant(entry) => {
                if !may_add {
                    return Outcome::Refused;
                }
                path.selection = Selection::Best;
                let after = selected_single(&path, self.config.forwarding);
                entry.insert(Paths::One(path));
                (Selected::default(), after, Outcome::Added)
            }
            Place::Occupied(mut entry) => {
                let paths = entry.get_mut();
                let path_id = path.path_id();
                let position = paths
                    .as_slice()
                    .iter()
                    .position(|existing| existing.is_from(source, path_id));
                let before = selected(paths, self.config.forwarding);
                let outcome = match position {
                    Some(index) => {
                        let existing = &mut paths.as_mut_slice()[index];
                        if existing.is_stale() {
                            if let Some(slot) = source {
                                *self.peers[usize::from(slot)].stale_mut(K::FAMILY) -= 1;
                            }
                        }
                        if Arc::ptr_eq(&existing.attributes, &path.attributes) {
                            // Re-learned as it was (graceful restart, RFC 4724
                            // §4.2): fresh again, and no longer kept by us as
                            // long-lived stale either (RFC 9494 §4.2: a stale
                            // route is kept until the peer sends it again).
                            // The set is the one the peer sent, so if it
                            // carries LLGR_STALE the route stays least
                            // preferred for that (§4.4): the selection does
                            // not change.
                            existing.flags &= !(Path::STALE | Path::LONG_LIVED);
                            return Outcome::Unchanged;
                        }
                        existing.attributes = path.attributes;
                        existing.flags = path.flags;
                        self.interner.released(1);
                        Outcome::Replaced
                    }
                    None if !may_add => return Outcome::Refused,
                    None => {
                        paths.push(path);
                        Outcome::Added
                    }
                };
                decision::select(paths.as_mut_slice(), &self.peers, &self.config);
                (before, selected(paths, self.config.forwarding), outcome)
            }
        };
        self.note_change(key, before, after);
        outcome
    }

    /// Removes the path of `source` (`None`: local) with `path_id` from `key`;
    /// whether there was one.
    fn remove<K: PrefixKey>(
        &mut self,
        key: K,
        source: Option<PeerSlot>,
        path_id: Option<u32>,
    ) -> bool {
        let table = K::table_mut(&mut self.tables);
        let Place::Occupied(mut entry) = table.entry(key) else {
            return false;
        };
        let Some(index) = entry
            .get()
            .as_slice()
            .iter()
            .position(|path| path.is_from(source, path_id))
        else {
            return false;
        };
        if entry.get().as_slice()[index].is_stale() {
            if let Some(slot) = source {
                *self.peers[usize::from(slot)].stale_mut(K::FAMILY) -= 1;
            }
        }
        let before = selected(entry.get(), self.config.forwarding);
        let after = if entry.get().len() == 1 {
            entry.remove();
            Selected::default()
        } else {
            let paths = entry.get_mut();
            paths.remove(index);
            decision::select(paths.as_mut_slice(), &self.peers, &self.config);
            selected(paths, self.config.forwarding)
        };
        self.interner.released(1);
        self.note_change(key, before, after);
        true
    }

    /// After a prefix changed: marks it dirty for the peers that may have to
    /// hear of it, and remembers its FIB state as of the last poll.
    fn note_change<K: PrefixKey>(&mut self, key: K, before: Selected, after: Selected) {
        // Without a forwarding table to feed, nobody polls: nothing is kept.
        if self.config.forwarding && before.fib != after.fib {
            match self.fib_pending.entry(key.into()) {
                Entry::Occupied(mut entry) => entry.get_mut().1 = after.fib,
                Entry::Vacant(entry) => {
                    entry.insert((before.fib, after.fib));
                }
            }
        }
        if !BestPath::same(&before.best, &after.best) {
            self.mark_groups(key, &before.best, &after.best);
        }
    }

    /// A locally originated prefix (the node's blocks, service prefixes),
    /// with optional communities. Announcing it again replaces it.
    pub fn originate(
        &mut self,
        prefix: IpNet,
        communities: Vec<Community>,
        large_communities: Vec<LargeCommunity>,
    ) {
        let mut attributes = Attributes::new(Origin::Igp, AsPath::empty(), None);
        if !communities.is_empty() {
            attributes.communities = Some(communities.into_iter().collect());
        }
        if !large_communities.is_empty() {
            attributes.rare_mut().large_communities = Some(large_communities.into_iter().collect());
        }
        let path = Path {
            attributes: self.interner.intern(&attributes),
            path_id: 0,
            peer: 0,
            selection: Selection::None,
            flags: Path::LOCAL,
        };
        match prefix {
            IpNet::V4(net) => self.upsert(net.trunc(), None, path, true),
            IpNet::V6(net) => self.upsert(net.trunc(), None, path, true),
        };
    }

    /// Stops originating `prefix`.
    pub fn withdraw_origin(&mut self, prefix: IpNet) {
        match prefix {
            IpNet::V4(net) => self.remove(net.trunc(), None, None),
            IpNet::V6(net) => self.remove(net.trunc(), None, None),
        };
    }

    /// The peer sent ROUTE-REFRESH for `family` (RFC 2918): its whole
    /// Adj-RIB-Out for the family is queued again. The RFC 7313 BoRR/EoRR
    /// markers around it are the caller's.
    pub fn refresh(&mut self, peer: PeerId, family: Family) {
        let Some(slot) = self.up_slot(peer) else {
            return;
        };
        if !self.peers[usize::from(slot)].negotiated(family) {
            return;
        }
        // What it is sent again, the others were not asked for.
        let Some(id) = self.isolate(slot) else {
            return;
        };
        if let Some((_, resend)) = self
            .groups
            .get_mut(id)
            .and_then(|group| group.outboxes.for_family(family))
        {
            *resend = true;
        }
    }

    /// Whether [`Rib::poll_fib`] may have changes to give: the forwarding
    /// table's changes wait here, one entry per prefix however often it
    /// changed, until the driver takes them.
    pub fn has_fib_changes(&self) -> bool {
        !self.fib_pending.is_empty()
    }

    /// How many prefixes have forwarding changes waiting for
    /// [`Rib::poll_fib`]: a driver whose forwarding table lags takes fewer
    /// UPDATEs in while this is high, so that what waits stays bounded.
    pub fn fib_changes_waiting(&self) -> usize {
        self.fib_pending.len()
    }

    /// Changes to the forwarding table since the last call: per prefix, the
    /// next hops of the selected (best and ECMP) paths learned from peers; an
    /// empty list means remove. A prefix whose best path is locally originated
    /// has no FIB route (so one only ever originated never appears). In no
    /// particular order (each prefix appears once).
    pub fn poll_fib(&mut self) -> Vec<FibChange> {
        if self.fib_pending.is_empty() {
            return Vec::new();
        }
        // Room for all of them at once: collected through the filter, the
        // list would grow by doubling, up to twice the room (a batch of a
        // table load is thousands of changes, the slack half a megabyte at
        // the load's peak). Drained, not replaced: the map keeps its capacity
        // for the next batch.
        let mut changes = Vec::with_capacity(self.fib_pending.len());
        changes.extend(
            self.fib_pending
                .drain()
                .filter(|(_, (before, now))| before != now)
                .map(|(prefix, (_, now))| FibChange {
                    prefix,
                    next_hops: now,
                }),
        );
        // Unless a whole table waited in it (the kernel lagged behind a full
        // load): that much room, over a hundred octets a prefix, would stay
        // taken for good.
        if self.fib_pending.capacity() > FIB_PENDING_KEPT {
            self.fib_pending.shrink_to(FIB_PENDING_KEPT);
        }
        changes
    }
}

impl Tally {
    fn receipt(self) -> Receipt {
        self.exceeded.unwrap_or(Receipt::Accepted {
            announced: self.announced,
            withdrawn: self.withdrawn,
        })
    }
}

/// Whether `next_hop`, received from the peer of `info`, may be used. RFC
/// 4271 §6.3: a NEXT_HOP that is an address of the receiving speaker is
/// semantically incorrect and the route is ignored (§5.1.3: a speaker never
/// gives a peer the peer's own address as next hop); one that is no host
/// address at all (unspecified, multicast, broadcast) is not a valid next
/// hop either. Our addresses known here are those of the session (what we
/// give the peer as next hop self).
fn usable_next_hop(info: &PeerInfo, next_hop: IpAddr) -> bool {
    match next_hop {
        IpAddr::V4(address) => {
            !(address.is_unspecified()
                || address.is_multicast()
                || address.is_broadcast()
                || info.next_hop_v4 == Some(address))
        }
        IpAddr::V6(address) => {
            !(address.is_unspecified()
                || address.is_multicast()
                || info.next_hop_v6 == Some(address))
        }
    }
}

fn family_of(prefix: IpNet) -> Family {
    match prefix {
        IpNet::V4(_) => Family::IPV4_UNICAST,
        IpNet::V6(_) => Family::IPV6_UNICAST,
    }
}
