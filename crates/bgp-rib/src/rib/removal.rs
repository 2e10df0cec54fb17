//! Removing a peer's paths a step at a time, so that a driver taking in
//! other work meanwhile never stops for the whole of a full table: a million
//! paths are a second of work, and status, signals and other peers should not
//! wait for it.
//!
//! [`Rib::retire_peer`] and [`Rib::peer_down_in_steps`] take the peer down at
//! once (nothing more is received from it or sent to it) and list its paths;
//! [`Rib::continue_removals`] removes them, a budget at a time, each with the
//! decision process and the output it causes, exactly as
//! [`Rib::remove_peer`] and [`Rib::peer_down`] would all at once. Until then
//! its paths are still selectable, as a restarting peer's stale paths are.

use std::collections::VecDeque;

use ipnet::{Ipv4Net, Ipv6Net};
use smallvec::SmallVec;

use super::Rib;
use crate::table::{PeerSlot, PrefixKey, PrefixTable};
use crate::PeerId;

/// The table's prefixes, when the peer has paths in it.
fn keys_if<K: PrefixKey>(any: bool, table: &PrefixTable<K>) -> Vec<K> {
    if any {
        table.keys().collect()
    } else {
        Vec::new()
    }
}

/// The peers whose paths are going.
#[derive(Debug, Default)]
pub(super) struct Removals {
    queue: VecDeque<Removal>,
}

/// One peer's paths still to remove: the prefixes still to look at. Taking
/// the table's keys is one sequential pass over its buckets; looking at each
/// prefix's paths (a pointer away) is left to the steps.
#[derive(Debug)]
struct Removal {
    slot: PeerSlot,
    /// The peer is forgotten when its last path is gone (its slot freed).
    forget: bool,
    ipv4: Vec<Ipv4Net>,
    ipv6: Vec<Ipv6Net>,
}

impl Rib {
    /// [`Rib::remove_peer`] in steps: the peer is gone at once for sending,
    /// receiving and its id; its paths go in [`Rib::continue_removals`].
    pub fn retire_peer(&mut self, peer: PeerId) {
        let Some(slot) = self.slot(peer) else {
            return;
        };
        self.finish_removals_of(slot);
        self.take_down(slot);
        self.slots.remove(&peer);
        self.queue_removal(slot, true);
    }

    /// [`Rib::peer_down`] in steps: with `keep_stale` the same as it (the
    /// paths are only marked); without, the paths go in
    /// [`Rib::continue_removals`] (or at once when the peer comes up again).
    pub fn peer_down_in_steps(&mut self, peer: PeerId, keep_stale: bool) {
        let Some(slot) = self.slot(peer) else {
            return;
        };
        if keep_stale {
            self.peer_down(peer, true);
            return;
        }
        self.finish_removals_of(slot);
        self.take_down(slot);
        self.queue_removal(slot, false);
    }

    /// Looks at up to `budget` prefixes for paths of peers retired or taken
    /// down in steps, removing them; whether any are left.
    pub fn continue_removals(&mut self, budget: usize) -> bool {
        let mut left = budget;
        while left > 0 {
            let Some(mut removal) = self.removals.queue.pop_front() else {
                break;
            };
            left -= self.remove_some(&mut removal, left);
            if removal.ipv4.is_empty() && removal.ipv6.is_empty() {
                if removal.forget {
                    self.free_slot(removal.slot);
                }
            } else {
                self.removals.queue.push_front(removal);
            }
        }
        self.has_removals()
    }

    /// Whether paths are waiting to be removed.
    pub fn has_removals(&self) -> bool {
        !self.removals.queue.is_empty()
    }

    /// Removes at once what is left of the slot's paths.
    pub(super) fn finish_removals_of(&mut self, slot: PeerSlot) {
        while let Some(index) = self
            .removals
            .queue
            .iter()
            .position(|removal| removal.slot == slot)
        {
            if let Some(mut removal) = self.removals.queue.remove(index) {
                self.remove_some(&mut removal, usize::MAX);
                if removal.forget {
                    self.free_slot(removal.slot);
                }
            }
        }
    }

    /// Queues the slot's paths for removal. A peer that holds none (the
    /// counts say) costs nothing; otherwise the prefixes of the tables it
    /// has paths in are listed (prefixes added later cannot be its: it is
    /// down).
    fn queue_removal(&mut self, slot: PeerSlot, forget: bool) {
        let state = &self.peers[usize::from(slot)];
        let (has_ipv4, has_ipv6) = (state.accepted_ipv4 > 0, state.accepted_ipv6 > 0);
        let removal = Removal {
            slot,
            forget,
            ipv4: keys_if(has_ipv4, &self.tables.ipv4),
            ipv6: keys_if(has_ipv6, &self.tables.ipv6),
        };
        if removal.ipv4.is_empty() && removal.ipv6.is_empty() {
            if forget {
                self.free_slot(slot);
            }
        } else {
            self.removals.queue.push_back(removal);
        }
    }

    /// Looks at up to `budget` of `removal`'s prefixes, removing the
    /// slot's paths there; how many it looked at.
    fn remove_some(&mut self, removal: &mut Removal, budget: usize) -> usize {
        let mut taken = 0;
        while taken < budget {
            if let Some(key) = removal.ipv4.pop() {
                self.remove_at(removal.slot, key);
            } else if let Some(key) = removal.ipv6.pop() {
                self.remove_at(removal.slot, key);
            } else {
                break;
            }
            taken += 1;
        }
        taken
    }

    /// Removes the slot's paths of one prefix (several with ADD-PATH).
    fn remove_at<K: PrefixKey>(&mut self, slot: PeerSlot, key: K) {
        let path_ids: SmallVec<[Option<u32>; 2]> = K::table(&self.tables)
            .get(key)
            .map(|paths| {
                paths
                    .as_slice()
                    .iter()
                    .filter(|path| !path.is_local() && path.peer == slot)
                    .map(|path| path.path_id())
                    .collect()
            })
            .unwrap_or_default();
        for path_id in path_ids {
            if self.remove(key, Some(slot), path_id) {
                *self.peers[usize::from(slot)].accepted_mut(K::FAMILY) -= 1;
            }
        }
    }
}
