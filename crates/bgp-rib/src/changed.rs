//! The prefixes whose best path changed since an update group's last poll,
//! in the order they were marked.
//!
//! A list, not a set. Marking a prefix is a push, where a set hashed it
//! (one of the seven hash-table probes a changed prefix made on its way
//! out, benches/RESULTS.md 6.19). And a poll takes the prefixes in the order
//! they arrived, which is the order the peer sent them in: a speaker packs
//! its table by attribute set with the prefixes sorted (BIRD, FRR, GoBGP and
//! nodebgp alike), so each outgoing message's prefixes come out of the poll
//! already sorted, and the sort that orders them only checks them. A set
//! handed them over in its hash order, which the sort had to undo.
//!
//! A prefix marked twice before a poll is there twice. Resolving it the
//! second time finds it sent already (or withdrawn already) and adds
//! nothing; where a pass sends unchanged prefixes too (a route refresh), the
//! output drops the repeat (see `rib::output`). The list cannot grow with
//! one flapping prefix: when it is full it is sorted and its repeats
//! dropped (from then on it is in prefix order, not marking order), and it
//! grows only when more than half of what it holds is distinct. Growing
//! that way, it has room for at most 1,024 marks or four for each distinct
//! prefix marked, whichever is more, besides the room a group keeps from
//! one poll to the next (at most 16,384, see `rib::output`). Each sort of n
//! marks comes at least n/2 pushes after the last: O(log n) comparisons a
//! push, amortised.

use crate::table::PrefixKey;

/// Below this length the list grows without looking for repeats: a poll
/// takes it long before a flap could matter.
const DEDUPLICATE_FROM: usize = 1024;

/// Prefixes marked since the last poll (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Changed<K> {
    keys: Vec<K>,
}

impl<K> Default for Changed<K> {
    fn default() -> Self {
        Changed { keys: Vec::new() }
    }
}

impl<K: PrefixKey> Changed<K> {
    /// Marks `key` changed.
    pub(crate) fn mark(&mut self, key: K) {
        if self.keys.len() == self.keys.capacity() && self.keys.len() >= DEDUPLICATE_FROM {
            // Full: drop the repeats before growing. Unless at least half
            // go, it grows anyway (to twice its size), so that the next
            // sort comes after at least half as many pushes as this one had
            // keys.
            self.deduplicate();
            if self.keys.len() > self.keys.capacity() / 2 {
                self.keys.reserve(self.keys.capacity());
            }
        }
        self.keys.push(key);
    }

    /// Drops the repeats, leaving the marks in prefix order.
    pub(crate) fn deduplicate(&mut self) {
        self.keys.sort_unstable_by_key(|key| key.order());
        self.keys.dedup();
    }
}

impl<K> Changed<K> {
    /// How many marks (repeats included) wait.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Forgets every mark.
    pub(crate) fn clear(&mut self) {
        self.keys.clear();
    }

    /// Takes every mark, in the list's order; its room stays for the next.
    pub(crate) fn drain(&mut self) -> std::vec::Drain<'_, K> {
        self.keys.drain(..)
    }

    /// How many marks the list has room for without growing.
    pub(crate) fn capacity(&self) -> usize {
        self.keys.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipnet::Ipv4Net;

    fn prefix(index: u32) -> Ipv4Net {
        Ipv4Net::new((0x0a00_0000 + (index << 8)).into(), 24).unwrap()
    }

    #[test]
    fn marks_come_out_in_the_order_they_were_made() {
        let mut changed = Changed::default();
        for index in [3, 1, 2, 1] {
            changed.mark(prefix(index));
        }
        let out: Vec<Ipv4Net> = changed.drain().collect();
        assert_eq!(out, [prefix(3), prefix(1), prefix(2), prefix(1)]);
        assert!(changed.is_empty());
    }

    #[test]
    fn one_flapping_prefix_cannot_grow_the_list() {
        let mut changed = Changed::default();
        for index in 0..100 {
            changed.mark(prefix(index));
        }
        for _ in 0..1_000_000 {
            changed.mark(prefix(7));
        }
        assert!(changed.len() <= 2 * DEDUPLICATE_FROM, "{}", changed.len());
        assert!(changed.capacity() <= 2 * DEDUPLICATE_FROM);
        let mut out: Vec<Ipv4Net> = changed.drain().collect();
        out.sort_unstable();
        out.dedup();
        assert_eq!(out.len(), 100, "every distinct mark kept");
    }

    #[test]
    fn deduplicating_leaves_each_prefix_once_in_order() {
        let mut changed = Changed::default();
        for index in [5, 3, 5, 1, 3] {
            changed.mark(prefix(index));
        }
        changed.deduplicate();
        let out: Vec<Ipv4Net> = changed.drain().collect();
        assert_eq!(out, [prefix(1), prefix(3), prefix(5)]);
    }

    #[test]
    fn distinct_marks_grow_it_as_a_list_grows() {
        let mut changed = Changed::default();
        for index in 0..10_000 {
            changed.mark(prefix(index));
        }
        assert_eq!(changed.len(), 10_000);
        assert!(changed.capacity() < 4 * 10_000);
    }
}
