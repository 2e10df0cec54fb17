//! What the selection of one prefix looks like from outside the table: its
//! best path as export sees it, and its next hops as the FIB does. The RIB
//! compares the two views before and after a change to learn whom to tell.

use std::sync::Arc;

use crate::attributes::Attributes;
use crate::table::{Path, Paths, PeerSlot, Selection};
use crate::NextHops;

/// The best path of a prefix, as far as export cares: who it is from and
/// what it carries.
#[derive(Debug, Clone)]
pub(super) struct BestPath {
    pub(super) local: bool,
    pub(super) peer: PeerSlot,
    pub(super) attributes: Arc<Attributes>,
}

impl BestPath {
    fn of(path: &Path) -> Self {
        BestPath {
            local: path.is_local(),
            peer: path.peer,
            attributes: Arc::clone(&path.attributes),
        }
    }

    /// Whether two selections export the same thing.
    pub(super) fn same(one: &Option<BestPath>, other: &Option<BestPath>) -> bool {
        match (one, other) {
            (None, None) => true,
            (Some(one), Some(other)) => {
                one.local == other.local
                    && one.peer == other.peer
                    && Arc::ptr_eq(&one.attributes, &other.attributes)
            }
            _ => false,
        }
    }
}

/// What the selection of one prefix looks like from outside.
#[derive(Debug, Default)]
pub(super) struct Selected {
    pub(super) best: Option<BestPath>,
    pub(super) fib: NextHops,
}

pub(super) fn selected(paths: &Paths, forwarding: bool) -> Selected {
    let Some(best) = paths.best() else {
        return Selected::default();
    };
    // The FIB carries routes learned from peers; a locally originated best
    // path means the node itself owns the prefix. Without a forwarding
    // table to feed, the next hops are never compared: not gathered.
    let mut fib = NextHops::new();
    if forwarding && !best.is_local() {
        for path in paths.as_slice() {
            if path.selection != Selection::None {
                if let Some(next_hop) = path.attributes.next_hop {
                    fib.push(next_hop);
                }
            }
        }
        fib.sort_unstable();
        fib.dedup();
    }
    Selected {
        best: Some(BestPath::of(best)),
        fib,
    }
}

/// The selection of a prefix whose only path is `path`.
pub(super) fn selected_single(path: &Path, forwarding: bool) -> Selected {
    let fib = match (forwarding && !path.is_local(), path.attributes.next_hop) {
        (true, Some(next_hop)) => std::iter::once(next_hop).collect(),
        _ => NextHops::new(),
    };
    Selected {
        best: Some(BestPath::of(path)),
        fib,
    }
}
