//! Changing a peer's filters while its session runs.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::Rib;
use crate::table::{PeerSlot, PrefixKey};
use crate::{PeerFilter, PeerId};

/// What a filter change asks of the caller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterChange {
    /// The import rules changed: paths they now reject are gone already;
    /// routes they now let in were never kept, so the peer should be asked
    /// to send its routes again (ROUTE-REFRESH, RFC 2918).
    pub import: bool,
    /// The export rules changed: the peer's output is being redone (the
    /// next polls withdraw what they now hold back and send what they let
    /// through).
    pub export: bool,
}

impl Rib {
    /// Sets the filters of `peer` (see [`PeerFilter`]): kept across its
    /// sessions until set again; nothing for a peer the RIB does not know
    /// (set them after [`Rib::peer_up`]).
    pub fn set_peer_filter(&mut self, peer: PeerId, filter: PeerFilter) -> FilterChange {
        let Some(slot) = self.slot(peer) else {
            return FilterChange::default();
        };
        let state = &mut self.peers[usize::from(slot)];
        let change = FilterChange {
            import: state.filter.import != filter.import,
            export: state.filter.export != filter.export,
        };
        state.filter = filter;
        if change.export && state.up {
            // Its output is its own now (it may join others later), and
            // nothing resolved under the old filter reaches it.
            if let Some(id) = self.isolate(slot) {
                self.forget_untaken(id);
            }
        }
        if change.import {
            self.remove_rejected::<Ipv4Net>(slot);
            self.remove_rejected::<Ipv6Net>(slot);
        }
        change
    }

    /// The filters of `peer`, if the RIB knows it.
    pub fn peer_filter(&self, peer: PeerId) -> Option<&PeerFilter> {
        self.slot(peer)
            .map(|slot| &self.peers[usize::from(slot)].filter)
    }

    /// Removes the paths from `slot` its import filter now rejects.
    fn remove_rejected<K: PrefixKey + Into<IpNet>>(&mut self, slot: PeerSlot) {
        let filter = &self.peers[usize::from(slot)].filter;
        let doomed: Vec<(K, Option<u32>)> = K::table(&self.tables)
            .iter()
            .flat_map(|(key, paths)| {
                paths
                    .as_slice()
                    .iter()
                    .filter(move |path| {
                        !path.is_local()
                            && path.peer == slot
                            && !filter.imports(key.into(), path.attributes.next_hop())
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
}
