//! Update groups: peers that are sent the same thing share one Adj-RIB-Out.
//!
//! A prefix sent to a hundred route-reflector clients is resolved once (best
//! path, export filter, attribute transform, comparison with what was sent)
//! and its UPDATEs are built once, not a hundred times: FRR's update groups,
//! without its subgroup timers. What a peer is sent depends only on its
//! [`ExportSignature`]; peers with the same one are sent the same UPDATEs in
//! the same order, so their Adj-RIB-Outs are the same map.
//!
//! - **Joining.** Every peer comes up alone in a group of its own and is sent
//!   its initial table alone. Two groups of the same signature merge once both
//!   have nothing left to resolve and every member has taken every batch: at
//!   that moment each Adj-RIB-Out is the export of the same Loc-RIB, so one
//!   of them can go.
//! - **Members at their own pace.** The member that polls first resolves the
//!   group's next batch; the others take the same batch (an `Arc`, not a
//!   copy) when they poll. A batch stays queued until every member has it.
//! - **Leaving.** A member that falls [`MAX_QUEUED_BATCHES`] behind, asks for
//!   a refresh, has its export filter changed or cannot be sent some routes
//!   ([`crate::Rib::not_sent`]) leaves with a copy of the group's state and
//!   the batches it has not taken yet: from then on it is sent what it alone
//!   needs, as before it joined.
//! - **Split horizon.** A route is never sent back to the peer it came from
//!   (RFC 4271 §9.2 for iBGP, no transit for eBGP). Peers whose routes could
//!   go to peers of their own signature (route-reflector clients, eBGP peers
//!   of a transit node) would each need their own exception, so they are
//!   never grouped: each stays alone, with the rule applied to it exactly.

use std::collections::VecDeque;
use std::sync::Arc;

use bgp_wire::{AsPath, Family, Origin, UpdateBatch};
use hashbrown::HashSet;
use ipnet::IpNet;

use super::{BestPath, Rib};
use crate::attributes::Attributes;
use crate::export::{self, Source};
use crate::peer::PeerState;
use crate::table::{Outboxes, PeerSlot, PrefixKey};
use crate::RibConfig;

/// UPDATEs resolved once for every member of a group, in order (and
/// encoded once, by the first session that writes them).
pub type SharedUpdates = Arc<UpdateBatch>;

/// How far the fastest member of a group may be ahead of the slowest, in
/// batches. Further, and the slowest leave with their own copy: a peer that
/// stops reading must neither hold the others back nor make the group keep
/// every batch since.
pub(crate) const MAX_QUEUED_BATCHES: usize = 32;

/// A group's index in [`Groups`].
pub(crate) type GroupId = u32;

/// Whether the set an UPDATE carries may go to each update group, asked of
/// [`export::eligible`] once per group for the UPDATE rather than once per
/// prefix and group: all the prefixes of one family in an UPDATE carry the
/// same set from the same peer, and nothing `eligible` reads (the peers, the
/// groups' first members, the settings) changes while the UPDATE is taken
/// in. In use only between [`Eligibility::begin`] and [`Eligibility::end`],
/// which [`Rib::receive`] puts around its announcements.
#[derive(Debug, Default)]
pub(crate) struct Eligibility {
    /// The set, the peer it came from and the family; `None` outside an
    /// UPDATE. The set is held, so that no other can take its address while
    /// a verdict may be kept for it, whatever path leads out of `receive`.
    source: Option<(Arc<Attributes>, PeerSlot, Family)>,
    /// Per group slot, the verdict once asked.
    verdicts: Vec<Option<bool>>,
}

impl Eligibility {
    /// The prefixes that follow carry `attributes` of `family` from `peer`.
    pub(crate) fn begin(&mut self, attributes: &Arc<Attributes>, peer: PeerSlot, family: Family) {
        self.source = Some((Arc::clone(attributes), peer, family));
        self.verdicts.clear();
    }

    /// The UPDATE is taken in: nothing is remembered past it.
    pub(crate) fn end(&mut self) {
        self.source = None;
    }

    /// Whether `best` may go to the group in slot `index`: `ask`ed, and
    /// remembered when `best` is the UPDATE's own path.
    fn verdict(
        &mut self,
        index: usize,
        best: &BestPath,
        family: Family,
        ask: impl FnOnce() -> bool,
    ) -> bool {
        let own = self
            .source
            .as_ref()
            .is_some_and(|(set, peer, source_family)| {
                !best.local
                    && best.peer == *peer
                    && family == *source_family
                    && Arc::ptr_eq(&best.attributes, set)
            });
        if !own {
            return ask();
        }
        if let Some(Some(verdict)) = self.verdicts.get(index) {
            return *verdict;
        }
        let verdict = ask();
        if self.verdicts.len() <= index {
            self.verdicts.resize(index + 1, None);
        }
        self.verdicts[index] = Some(verdict);
        verdict
    }
}

/// Peers sent the same UPDATEs, and what they were sent.
#[derive(Debug)]
pub(crate) struct ExportGroup {
    /// The Adj-RIB-Out every member shares, with what is left to resolve.
    pub(crate) outboxes: Outboxes,
    /// Families whose End-of-RIB is still to follow the initial table (RFC
    /// 4724 §2): the founder's, sent before anyone may join.
    pub(crate) end_of_rib_pending: Vec<Family>,
    /// The members, all up; the first stands for all when resolving.
    pub(crate) members: Vec<PeerSlot>,
    /// Whether the members are iBGP peers (all of them, or none).
    pub(crate) internal: bool,
    /// Whether others may join. Not once a member could not be sent some
    /// routes ([`crate::Rib::not_sent`]): its Adj-RIB-Out then lacks routes
    /// the others' has, until it comes up again.
    pub(crate) open: bool,
    /// Batches not yet taken by every member, oldest first.
    queue: VecDeque<SharedUpdates>,
    /// The sequence number of `queue`'s first batch; a member's
    /// [`PeerState::cursor`] is the number of the next batch it takes.
    first: u64,
}

impl ExportGroup {
    /// A group of one peer that has just come up.
    fn founded_by(slot: PeerSlot, state: &PeerState) -> Self {
        let mut outboxes = Outboxes::default();
        outboxes.ipv4.full = state.negotiated(Family::IPV4_UNICAST);
        outboxes.ipv6.full = state.negotiated(Family::IPV6_UNICAST);
        ExportGroup {
            outboxes,
            end_of_rib_pending: state.info.families.clone(),
            members: vec![slot],
            internal: state.info.internal,
            open: true,
            queue: VecDeque::new(),
            first: 0,
        }
    }

    /// A group of `members` (taken from this one) in this one's state: what
    /// was sent, what is left to resolve, the batches not taken by all.
    fn copy_for(&self, members: Vec<PeerSlot>) -> Self {
        ExportGroup {
            outboxes: self.outboxes.clone(),
            end_of_rib_pending: self.end_of_rib_pending.clone(),
            members,
            internal: self.internal,
            open: self.open,
            queue: self.queue.clone(),
            first: self.first,
        }
    }

    /// Something is left to resolve.
    pub(crate) fn has_work(&self) -> bool {
        self.outboxes.has_work() || !self.end_of_rib_pending.is_empty()
    }

    /// The sequence number the next resolved batch gets.
    fn head(&self) -> u64 {
        self.first + self.queue.len() as u64
    }

    /// Prefixes in the shared Adj-RIB-Out.
    pub(crate) fn advertised(&self) -> usize {
        self.outboxes.ipv4.advertised.len() + self.outboxes.ipv6.advertised.len()
    }
}

/// Every group, by [`GroupId`]; ids of dissolved groups are reused.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    slots: Vec<Option<ExportGroup>>,
    free: Vec<GroupId>,
}

impl Groups {
    fn insert(&mut self, group: ExportGroup) -> GroupId {
        match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(group);
                id
            }
            None => {
                self.slots.push(Some(group));
                GroupId::try_from(self.slots.len() - 1).expect("fewer groups than peers")
            }
        }
    }

    fn remove(&mut self, id: GroupId) -> Option<ExportGroup> {
        let group = self.slots.get_mut(id as usize)?.take();
        if group.is_some() {
            self.free.push(id);
        }
        group
    }

    pub(crate) fn get(&self, id: GroupId) -> Option<&ExportGroup> {
        self.slots.get(id as usize)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, id: GroupId) -> Option<&mut ExportGroup> {
        self.slots.get_mut(id as usize)?.as_mut()
    }

    /// Every group, with its id.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (GroupId, &ExportGroup)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(id, group)| Some((id as GroupId, group.as_ref()?)))
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut ExportGroup> {
        self.slots.iter_mut().flatten()
    }
}

/// Everything about a peer that decides what it is sent: the inputs of
/// [`crate::export::eligible`] and [`crate::export::transform`] other than
/// the route, and its export filter. Peers that agree on all of it are sent
/// the same UPDATEs.
fn same_export(one: &PeerState, other: &PeerState) -> bool {
    let (a, b) = (&one.info, &other.info);
    a.internal == b.internal
        && a.route_reflector_client == b.route_reflector_client
        && a.next_hop_v4 == b.next_hop_v4
        && a.next_hop_v6 == b.next_hop_v6
        && a.families == b.families
        && a.four_octet_asn == b.four_octet_asn
        && a.keep_next_hop == b.keep_next_hop
        && a.next_hop_self == b.next_hop_self
        && a.local_as == b.local_as
        && a.long_lived == b.long_lived
        && a.extended_message == b.extended_message
        && one.filter.export == other.filter.export
}

/// Whether a peer may share its output with others: not when routes it sends
/// could be sent to peers like it, where split horizon makes each one's
/// output its own (see the module documentation).
fn groupable(config: &RibConfig, state: &PeerState) -> bool {
    if state.info.internal {
        // RFC 4456 §6: a reflector sends a client's routes to every other
        // iBGP peer, clients included.
        !(config.cluster_id.is_some() && state.info.route_reflector_client)
    } else {
        !config.transit
    }
}

impl Rib {
    /// The peer at `slot` came up: a group of its own, its whole table to
    /// send.
    pub(super) fn found_group(&mut self, slot: PeerSlot) {
        self.leave_group(slot);
        let group = ExportGroup::founded_by(slot, &self.peers[usize::from(slot)]);
        let id = self.groups.insert(group);
        let state = &mut self.peers[usize::from(slot)];
        state.group = Some(id);
        state.cursor = 0;
    }

    /// The peer at `slot` went down or left: no longer a member; the last
    /// member takes the group with it.
    pub(super) fn leave_group(&mut self, slot: PeerSlot) {
        let Some(id) = self.peers[usize::from(slot)].group.take() else {
            return;
        };
        let Some(group) = self.groups.get_mut(id) else {
            return;
        };
        group.members.retain(|member| *member != slot);
        if group.members.is_empty() {
            if let Some(group) = self.groups.remove(id) {
                self.interner.released(group.advertised());
            }
        } else {
            // The one that left may have been the last to take a batch: the
            // group may be settled now, and join another.
            self.trim(id);
            self.merge_if_settled(id);
        }
    }

    /// The group `slot` is in, alone: when it has company, it leaves with a
    /// copy of the group's state and of the batches it has not taken, so
    /// that what it alone is sent from now on starts from what it has.
    pub(super) fn isolate(&mut self, slot: PeerSlot) -> Option<GroupId> {
        let id = self.peers[usize::from(slot)].group?;
        let group = self.groups.get(id)?;
        if group.members.len() == 1 {
            return Some(id);
        }
        let copy = group.copy_for(vec![slot]);
        self.leave_group(slot);
        let copy = self.groups.insert(copy);
        self.peers[usize::from(slot)].group = Some(copy);
        self.trim(copy);
        Some(copy)
    }

    /// The prefixes the batches queued in group `id` announce or withdraw.
    pub(super) fn queued_prefixes(&self, id: GroupId) -> HashSet<IpNet> {
        let mut prefixes = HashSet::new();
        let Some(group) = self.groups.get(id) else {
            return prefixes;
        };
        for update in group.queue.iter().flat_map(|batch| batch.updates()) {
            let field = update.announced.iter().chain(&update.withdrawn);
            let reach = update
                .mp_reach()
                .into_iter()
                .flat_map(|reach| reach.nlri.prefixes());
            let unreach = update
                .mp_unreach()
                .into_iter()
                .flat_map(|unreach| unreach.nlri.prefixes());
            prefixes.extend(field.chain(reach).chain(unreach).map(|nlri| nlri.prefix));
        }
        prefixes
    }

    /// Group `id`, whose one member's export filter just changed, drops the
    /// batches that member has not taken (resolved under its old filter)
    /// and resolves the prefixes they mention again in the whole-table pass
    /// that follows, sent or withdrawn whatever the Adj-RIB-Out says: their
    /// entries are set to a placeholder no resolution equals.
    pub(super) fn forget_untaken(&mut self, id: GroupId) {
        let mentioned = self.queued_prefixes(id);
        let Some(group) = self.groups.get_mut(id) else {
            return;
        };
        group.first = group.head();
        group.queue.clear();
        for member in &group.members {
            self.peers[usize::from(*member)].cursor = group.first;
        }
        let placeholder = Arc::new(Attributes::new(Origin::Igp, AsPath::empty(), None));
        for prefix in mentioned {
            match prefix.trunc() {
                IpNet::V4(net) => group.outboxes.ipv4.advertised.insert(net, &placeholder),
                IpNet::V6(net) => group.outboxes.ipv6.advertised.insert(net, &placeholder),
            };
        }
        group.outboxes.ipv4.full = true;
        group.outboxes.ipv6.full = true;
    }

    /// The next batch for the peer at `slot` (a member of group `id`): one
    /// the group resolved already, or the group's next.
    pub(super) fn next_batch(
        &mut self,
        slot: PeerSlot,
        id: GroupId,
        budget: super::Batch,
    ) -> Option<SharedUpdates> {
        let cursor = self.peers[usize::from(slot)].cursor;
        let group = self.groups.get(id)?;
        if cursor < group.head() {
            let batch = Arc::clone(&group.queue[(cursor - group.first) as usize]);
            self.peers[usize::from(slot)].cursor += 1;
            self.trim(id);
            self.merge_if_settled(id);
            return Some(batch);
        }
        if !group.has_work() {
            return None;
        }
        if group.queue.len() >= MAX_QUEUED_BATCHES {
            self.leave_behind(id);
        }
        let updates = self.resolve_group(id, budget);
        let group = self.groups.get_mut(id)?;
        let batch = (!updates.is_empty()).then(|| Arc::new(UpdateBatch::new(updates)));
        if let Some(batch) = &batch {
            group.queue.push_back(Arc::clone(batch));
            self.peers[usize::from(slot)].cursor = group.head();
            self.trim(id);
        }
        self.merge_if_settled(id);
        batch
    }

    /// The members that have taken least of group `id`'s queue leave
    /// together, with a copy of its state and the batches they lack.
    fn leave_behind(&mut self, id: GroupId) {
        let Some(group) = self.groups.get(id) else {
            return;
        };
        let slowest: Vec<PeerSlot> = group
            .members
            .iter()
            .copied()
            .filter(|member| self.peers[usize::from(*member)].cursor == group.first)
            .collect();
        if slowest.len() == group.members.len() {
            return;
        }
        let copy = self.groups.insert(group.copy_for(slowest.clone()));
        if let Some(group) = self.groups.get_mut(id) {
            group.members.retain(|member| !slowest.contains(member));
        }
        for member in slowest {
            self.peers[usize::from(member)].group = Some(copy);
        }
        self.trim(id);
    }

    /// Drops the batches every member of group `id` has taken.
    fn trim(&mut self, id: GroupId) {
        let Rib { groups, peers, .. } = self;
        let Some(group) = groups.get_mut(id) else {
            return;
        };
        let slowest = group
            .members
            .iter()
            .map(|member| peers[usize::from(*member)].cursor)
            .min()
            .unwrap_or(group.head());
        while group.first < slowest && group.queue.pop_front().is_some() {
            group.first += 1;
        }
    }

    /// When group `id` has nothing left to resolve and no batch queued, it
    /// joins a group of the same signature in the same state: both
    /// Adj-RIB-Outs are then the export of the same Loc-RIB.
    fn merge_if_settled(&mut self, id: GroupId) {
        let settled =
            |group: &ExportGroup| group.open && !group.has_work() && group.queue.is_empty();
        let Some(group) = self.groups.get(id) else {
            return;
        };
        let founder = &self.peers[usize::from(group.members[0])];
        if !settled(group) || !groupable(&self.config, founder) {
            return;
        }
        let Some(into) = self
            .groups
            .iter()
            .find(|(other_id, other)| {
                *other_id != id
                    && settled(other)
                    && same_export(founder, &self.peers[usize::from(other.members[0])])
            })
            .map(|(other_id, _)| other_id)
        else {
            return;
        };
        let Some(merged) = self.groups.remove(id) else {
            return;
        };
        self.interner.released(merged.advertised());
        let Some(target) = self.groups.get_mut(into) else {
            return;
        };
        for member in &merged.members {
            let state = &mut self.peers[usize::from(*member)];
            state.group = Some(into);
            state.cursor = target.first;
        }
        target.members.extend(merged.members);
    }

    /// The best path of `key` changed from `before` to `after`: marks it
    /// dirty for the groups that may have to hear of it.
    pub(super) fn mark_groups<K: PrefixKey>(
        &mut self,
        key: K,
        before: &Option<BestPath>,
        after: &Option<BestPath>,
    ) {
        // Only groups that will be sent the new best path, or were sent the
        // old one, get the prefix marked: nothing per prefix for the others.
        // Groups of a kind neither path may go to are not even looked at: one
        // of them that still holds an older path of the prefix had it marked
        // when that path stopped being the best (from an eligible one), and
        // the mark stays until its next poll.
        let Rib {
            config,
            peers,
            groups,
            eligibility,
            ..
        } = self;
        let (internal, external) = {
            let kinds = |best: &Option<BestPath>| match best {
                None => (false, false),
                Some(best) if best.local => (true, true),
                Some(best) if peers[usize::from(best.peer)].info.internal => {
                    (config.cluster_id.is_some(), true)
                }
                Some(_) => (true, config.transit),
            };
            let (before_internal, before_external) = kinds(before);
            let (after_internal, after_external) = kinds(after);
            (
                before_internal || after_internal,
                before_external || after_external,
            )
        };
        for (index, group) in groups.slots.iter_mut().enumerate() {
            let Some(group) = group else {
                continue;
            };
            if !(if group.internal { internal } else { external }) {
                continue;
            }
            let outbox = K::outbox_mut(&mut group.outboxes);
            if outbox.full || outbox.resend {
                continue;
            }
            let sent = after.as_ref().is_some_and(|best| {
                eligibility.verdict(index, best, K::FAMILY, || {
                    // Every member is sent the same: the first stands for all.
                    let target = &peers[usize::from(group.members[0])];
                    let source = if best.local {
                        Source::Local
                    } else {
                        Source::Peer(&peers[usize::from(best.peer)])
                    };
                    export::eligible(config, source, &best.attributes, target, K::FAMILY)
                })
            });
            if sent || outbox.advertised.contains_key(&key) {
                outbox.dirty.mark(key);
            }
        }
    }

    /// The group of the peer at `slot`, if it is up.
    pub(crate) fn group_of(&self, slot: PeerSlot) -> Option<&ExportGroup> {
        self.groups.get(self.peers[usize::from(slot)].group?)
    }

    /// Whether the peer at `slot` has something to take: a batch its group
    /// resolved that it has not taken, or something left to resolve.
    pub(crate) fn member_has_output(&self, slot: PeerSlot) -> bool {
        let state = &self.peers[usize::from(slot)];
        state.up
            && self
                .group_of(slot)
                .is_some_and(|group| state.cursor < group.head() || group.has_work())
    }
}
