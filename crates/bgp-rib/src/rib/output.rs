//! What each peer is to be sent: the Adj-RIB-Out resolved at poll time,
//! whole or a batch at a time.

use std::sync::Arc;

use bgp_wire::{Nlri, Update};
use hashbrown::HashMap;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::groups::{GroupId, SharedUpdates};
use super::Rib;
use crate::advertised::{Advertising, Pinned};
use crate::attributes::Attributes;
use crate::export::{self, Source};
use crate::table::{Paths, PeerSlot, PrefixKey};
use crate::{ExportPolicy, PeerId, Verdict};

/// How much one [`Rib::poll_updates_within`] may return: prefixes resolved
/// (announced or withdrawn) and messages (one per distinct attribute set, and
/// one for the withdrawals), whichever runs out first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// Prefixes resolved at most.
    pub prefixes: usize,
    /// UPDATE messages at most (before the wire encoder splits them to fit).
    pub messages: usize,
}

impl Batch {
    /// No limit: everything pending.
    pub const UNLIMITED: Batch = Batch {
        prefixes: usize::MAX,
        messages: usize::MAX,
    };

    fn is_spent(&self) -> bool {
        self.prefixes == 0 || self.messages == 0
    }

    fn spend(&mut self, prefixes: usize, messages: usize) {
        self.prefixes = self.prefixes.saturating_sub(prefixes);
        self.messages = self.messages.saturating_sub(messages);
    }
}

/// What one (source set, source) pair is sent as in a poll.
#[derive(Debug)]
struct Outgoing {
    /// The outgoing set (interned).
    attributes: Arc<Attributes>,
    /// The set held in the Adj-RIB-Out for the poll, once a prefix went
    /// there: the prefixes after it are recorded by its number.
    pinned: Option<Pinned>,
    /// Its message among the poll's announcements, once a prefix went there.
    message: Option<usize>,
}

/// The largest capacity of a group's list of changed prefixes (of one
/// family) kept across polls. A poll with more changes than its batch (the
/// daemon's is 8,192 prefixes) spills them into `pending`, so under the
/// daemon's batch every list is kept.
const KEPT_DIRTY: usize = 16_384;

/// The maps a poll builds, kept emptied from one poll to the next. Made
/// anew for each poll, they grew through every size on the way: 3,828
/// times for a 200k table sent to one monitor, 3 % of the daemon's
/// instructions (benches/RESULTS.md 6.24). Each poll drains them; their
/// keys are the addresses of sets held only during the poll.
#[derive(Debug, Default)]
pub(super) struct PollScratch {
    /// What a (source set, source) pair is sent as, worked out once per
    /// poll: a full table costs one transform per distinct set. Beside it,
    /// found for the first prefix sent it, the set's number in the
    /// Adj-RIB-Out and its message, so that the prefixes after it look up
    /// neither again.
    transformed: HashMap<(usize, u32), Option<Outgoing>>,
    /// The message of each outgoing set (two sources may be sent the same
    /// interned set), looked at once per pair in `transformed`.
    message_of_set: HashMap<usize, usize>,
}

/// The room a poll first gives an outgoing set's prefixes: about as many as
/// a routing table has a set (ten on average, six or fewer for most).
const PREFIXES_A_SET: usize = 8;

/// The room for entries a [`PollScratch`] map keeps across polls (a batch
/// of the daemon's, 8,192 prefixes, holds a few hundred sets at most in a
/// routing table); one that grew past it, in a pass over many sets, is
/// shrunk back.
const KEPT_SETS: usize = 1_024;

impl Rib {
    /// UPDATE messages to send to `peer` now: withdrawals, then announcements
    /// grouped so that prefixes with the same (interned) outgoing attributes
    /// share one [`Update`] (the wire encoder splits it to fit), then
    /// End-of-RIB after the initial table. Empty when nothing is pending, and
    /// for an unknown or down peer.
    pub fn poll_updates(&mut self, peer: PeerId) -> Vec<Update> {
        self.poll_updates_within(peer, Batch::UNLIMITED)
    }

    /// As [`Rib::poll_updates`], but at most `batch` worth: the rest stays
    /// pending in the RIB (still coalescing changes) for the next call, so
    /// that what is queued towards a slow peer stays bounded. End-of-RIB
    /// comes with the batch that ends the initial table.
    pub fn poll_updates_within(&mut self, peer: PeerId, batch: Batch) -> Vec<Update> {
        self.poll_shared_within(peer, batch)
            .map(|updates| updates.updates().to_vec())
            .unwrap_or_default()
    }

    /// As [`Rib::poll_updates_within`], the UPDATEs shared: peers sent the
    /// same thing (an update group, see `rib::groups`) are handed the same
    /// batch, resolved once for all of them. `None` when nothing is pending.
    pub fn poll_shared_within(&mut self, peer: PeerId, batch: Batch) -> Option<SharedUpdates> {
        let slot = self.up_slot(peer)?;
        let group = self.peers[usize::from(slot)].group?;
        self.next_batch(slot, group, batch)
    }

    /// Resolves group `id`'s next batch: withdrawals, announcements, then
    /// End-of-RIB once the initial table is out.
    pub(super) fn resolve_group(&mut self, id: GroupId, batch: Batch) -> Vec<Update> {
        let mut updates = Vec::new();
        let mut budget = batch;
        self.export_family::<Ipv4Net>(id, &mut updates, &mut budget);
        self.export_family::<Ipv6Net>(id, &mut updates, &mut budget);
        if let Some(group) = self.groups.get_mut(id) {
            if !group.outboxes.has_work() {
                let end_of_rib = std::mem::take(&mut group.end_of_rib_pending);
                updates.extend(end_of_rib.into_iter().map(export::end_of_rib));
            }
        }
        updates
    }

    /// The driver could not send these prefixes to `peer` (their attributes
    /// do not fit its messages, RFC 8654 §4) and withdrew them instead: the
    /// Adj-RIB-Out stops listing them, so that what it says was sent is what
    /// the peer has. A later change of their best path tries again. The
    /// peer's Adj-RIB-Out is its own from now on (its group's members with
    /// larger messages did get the routes).
    pub fn not_sent(&mut self, peer: PeerId, prefixes: &[IpNet]) {
        let Some(slot) = self.slot(peer) else {
            return;
        };
        let Some(id) = self.isolate(slot) else {
            return;
        };
        // A prefix that a batch the peer has still to take mentions again
        // is settled by that batch (and reported again if it fails too):
        // the Adj-RIB-Out already says what that batch does.
        let queued = self.queued_prefixes(id);
        let Some(group) = self.groups.get_mut(id) else {
            return;
        };
        group.open = false;
        let outboxes = &mut group.outboxes;
        let mut released = 0;
        for prefix in prefixes
            .iter()
            .filter(|prefix| !queued.contains(&prefix.trunc()))
        {
            let removed = match prefix {
                IpNet::V4(net) => outboxes.ipv4.advertised.remove(&net.trunc()),
                IpNet::V6(net) => outboxes.ipv6.advertised.remove(&net.trunc()),
            };
            released += usize::from(removed);
        }
        self.interner.released(released);
    }

    /// Replaces the export policy. When it changed, every peer that is up
    /// gets a whole-table pass: what the new policy refuses is withdrawn,
    /// what it now lets through is announced, the rest is left alone.
    pub fn set_export_policy(&mut self, policy: ExportPolicy) {
        if policy == self.export_policy {
            return;
        }
        self.export_policy = policy;
        for group in self.groups.iter_mut() {
            group.outboxes.ipv4.full = true;
            group.outboxes.ipv6.full = true;
        }
    }

    /// The export policy in force.
    pub fn export_policy(&self) -> &ExportPolicy {
        &self.export_policy
    }

    /// Whether `peer` has anything pending (see [`Rib::poll_updates_within`]).
    pub fn has_output(&self, peer: PeerId) -> bool {
        self.slot(peer)
            .is_some_and(|slot| self.member_has_output(slot))
    }

    /// Resolves one family's pending output for group `id` into `updates`,
    /// within `budget` (which it spends).
    fn export_family<K: PrefixKey>(
        &mut self,
        id: GroupId,
        updates: &mut Vec<Update>,
        budget: &mut Batch,
    ) {
        let Rib {
            config,
            interner,
            peers,
            tables,
            export_policy,
            groups,
            poll_scratch,
            ..
        } = self;
        let PollScratch {
            transformed,
            message_of_set,
        } = poll_scratch;
        debug_assert!(transformed.is_empty() && message_of_set.is_empty());
        let Some(group) = groups.get_mut(id) else {
            return;
        };
        let outbox = K::outbox_mut(&mut group.outboxes);
        if !outbox.has_work() || budget.is_spent() {
            return;
        }
        // Every member is sent the same: the first stands for all.
        let target = &peers[usize::from(group.members[0])];
        let table = K::table(tables);
        if outbox.full || outbox.resend {
            // A whole-table pass: every prefix of the table, and those sent
            // before and gone from it since (withdrawn). Later changes are
            // marked dirty again and resolved on their own.
            outbox.pending_resend |= std::mem::take(&mut outbox.resend);
            outbox.full = false;
            outbox.dirty.clear();
            outbox.pending.clear();
            outbox.pending.extend(table.keys());
            outbox.pending.extend(
                outbox
                    .advertised
                    .keys()
                    .filter(|key| !table.contains_key(**key))
                    .copied(),
            );
            // In the table's order: sorting a million keys would cost more
            // than the pass's first batches (each batch is sorted).
        }
        if outbox.dirty.len() > budget.prefixes {
            // Repeats first: a prefix flapping towards a group polled
            // seldom must not fill the batch with copies of itself.
            outbox.dirty.deduplicate();
        }
        if outbox.dirty.len() > budget.prefixes {
            // More than one batch changed: resolved in batches like a pass.
            outbox.pending.extend(outbox.dirty.drain());
            let bound = table.len() + outbox.advertised.len();
            if outbox.pending.len() > 2 * bound {
                outbox
                    .pending
                    .sort_unstable_by_key(|key| std::cmp::Reverse(key.order()));
                outbox.pending.dedup();
            }
        }
        let resend = outbox.pending_resend;
        let mut dirty = std::mem::take(&mut outbox.dirty);
        // `transformed` and `message_of_set` (the RIB's `PollScratch`) start
        // empty and are drained when the poll ends.
        // Keys, not `Nlri`s, until sorted: a key is 5 or 17 octets against an
        // `Nlri`'s 28, and compares as integers (`PrefixKey::order`).
        let mut announcements: Vec<(Arc<Attributes>, Vec<K>)> = Vec::new();
        let mut withdrawals = Vec::new();
        let mut released = 0;
        // Returns how many messages the batch holds so far.
        let mut resolve = |key: K, paths: Option<&Paths>| -> usize {
            let outgoing = paths
                .and_then(Paths::best)
                // The peer's own filter first (calico-node runs a BGPPeer's
                // filters before its export filter); what it leaves open,
                // the policy every peer shares.
                .filter(|best| {
                    match target.filter.export_verdict(
                        key.into(),
                        best.is_local(),
                        best.attributes.next_hop(),
                    ) {
                        Some(verdict) => verdict == Verdict::Accept,
                        None => export_policy.allows(key.into(), best.is_local()),
                    }
                })
                .and_then(|best| {
                    let source_code = if best.is_local() {
                        u32::MAX
                    } else {
                        u32::from(best.peer)
                    };
                    transformed
                        .entry((Arc::as_ptr(&best.attributes) as usize, source_code))
                        .or_insert_with(|| {
                            let source = if best.is_local() {
                                Source::Local
                            } else {
                                Source::Peer(&peers[usize::from(best.peer)])
                            };
                            export::transform(config, source, &best.attributes, target, K::FAMILY)
                                .map(|attributes| Outgoing {
                                    attributes: interner.intern_derived(attributes),
                                    pinned: None,
                                    message: None,
                                })
                        })
                        .as_mut()
                });
            let Some(outgoing) = outgoing else {
                if outbox.advertised.remove(&key) {
                    withdrawals.push(key);
                    released += 1;
                }
                return announcements.len() + usize::from(!withdrawals.is_empty());
            };
            let pinned = outgoing
                .pinned
                .get_or_insert_with(|| outbox.advertised.pin(&outgoing.attributes));
            match outbox.advertised.advertise(key, pinned, resend) {
                Advertising::Unchanged => {
                    return announcements.len() + usize::from(!withdrawals.is_empty());
                }
                Advertising::Replaced => released += 1,
                Advertising::New => {}
            }
            let message = *outgoing.message.get_or_insert_with(|| {
                *message_of_set
                    .entry(Arc::as_ptr(&outgoing.attributes) as usize)
                    .or_insert_with(|| {
                        // Room for a set's usual share of a batch. Grown one
                        // push at a time from nothing, the poll's lists grew
                        // 35,857 times for a 200k table sent to one monitor;
                        // 8,066 with this room (RESULTS.md 6.24).
                        let prefixes = Vec::with_capacity(PREFIXES_A_SET);
                        announcements.push((Arc::clone(&outgoing.attributes), prefixes));
                        announcements.len() - 1
                    })
            });
            announcements[message].1.push(key);
            announcements.len() + usize::from(!withdrawals.is_empty())
        };
        let (mut resolved, mut messages) = (0, 0);
        for key in dirty.drain() {
            messages = resolve(key, table.get(key));
            resolved += 1;
        }
        while resolved < budget.prefixes && messages < budget.messages {
            let Some(key) = outbox.pending.pop() else {
                break;
            };
            messages = resolve(key, table.get(key));
            resolved += 1;
        }
        // The list goes back emptied, its room kept: filled again from
        // nothing before every poll, it would grow through every size on the
        // way. At most 80 KiB for IPv4 and 272 KiB for IPv6 are kept per
        // group.
        if dirty.capacity() <= KEPT_DIRTY {
            debug_assert!(outbox.dirty.is_empty(), "nothing marks while it polls");
            outbox.dirty = dirty;
        }
        if outbox.pending.is_empty() {
            outbox.pending_resend = false;
            // A pass over a large table leaves a large buffer behind.
            outbox.pending = Vec::new();
        }
        budget.spend(resolved, messages);
        let nlri = |keys: Vec<K>| -> Vec<Nlri> {
            keys.into_iter().map(|key| Nlri::new(key.into())).collect()
        };
        if !withdrawals.is_empty() {
            withdrawals.sort_unstable_by_key(|key| key.order());
            updates.push(export::withdrawal(K::FAMILY, nlri(withdrawals)));
        }
        for (_, prefixes) in announcements.iter_mut() {
            // Mostly in order already (see `changed`): the sort checks them.
            prefixes.sort_unstable_by_key(|key| key.order());
            // A prefix resolved twice in one poll (marked twice, or both
            // marked and in a pass) is announced twice when the pass sends
            // unchanged prefixes too (`resend`); once is enough.
            prefixes.dedup();
        }
        announcements.sort_unstable_by_key(|(_, prefixes)| prefixes[0].order());
        let four_octet = target.info.four_octet_asn;
        for (attributes, prefixes) in announcements {
            updates.push(export::announcement(
                &attributes,
                K::FAMILY,
                nlri(prefixes),
                four_octet,
            ));
        }
        for pinned in transformed
            .drain()
            .filter_map(|(_, outgoing)| outgoing?.pinned)
        {
            outbox.advertised.unpin(pinned);
        }
        message_of_set.clear();
        transformed.shrink_to(KEPT_SETS);
        message_of_set.shrink_to(KEPT_SETS);
        interner.released(released);
    }

    /// Peers with pending output, so the driver knows whom to poll.
    pub fn peers_with_output(&self) -> Vec<PeerId> {
        (0..self.peers.len())
            .filter_map(|index| {
                let slot = PeerSlot::try_from(index).ok()?;
                self.member_has_output(slot).then(|| self.peers[index].id)
            })
            .collect()
    }
}
