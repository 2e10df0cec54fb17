//! The decision process of RFC 4271 §9.1.2.2 among the paths of one prefix
//! (with RFC 9494 §4.4's long-lived stale paths least preferred), and the
//! choice of ECMP paths beside the best.
//!
//! Every step is an elimination over the whole set of candidates, as the RFC
//! words it, and the last step compares values that no two paths share (peer
//! and path identifier), so the result does not depend on the order in which
//! the paths arrived. MED in particular is not a total order (paths from
//! different neighbour ASes do not compare): a pairwise "better than" would
//! make the winner depend on arrival order.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr};

use bgp_wire::{Asn, Origin};
use smallvec::SmallVec;

use crate::attributes::DEFAULT_LOCAL_PREF;
use crate::peer::PeerState;
use crate::table::{Path, Selection};
use crate::{PeerId, RibConfig};

/// What the decision process looks at in one path.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    index: usize,
    /// Long-lived stale (RFC 9494 §4.4): ours past the restart time, or
    /// received with LLGR_STALE.
    long_lived_stale: bool,
    local_pref: u32,
    path_length: u32,
    origin: Origin,
    /// Missing MED counts as 0 (RFC 4271 §9.1.2.2 c).
    med: u32,
    neighbor_as: Asn,
    external: bool,
    router_id: Ipv4Addr,
    cluster_length: usize,
    address: IpAddr,
    peer: PeerId,
    path_id: u32,
    next_hop: Option<IpAddr>,
}

impl Candidate {
    fn new(index: usize, path: &Path, peers: &[PeerState], config: &RibConfig) -> Self {
        let attributes = &path.attributes;
        let peer = &peers[usize::from(path.peer)];
        Candidate {
            index,
            long_lived_stale: path.is_long_lived() || attributes.is_long_lived_stale(),
            local_pref: attributes.local_pref.unwrap_or(DEFAULT_LOCAL_PREF),
            path_length: attributes.path_length,
            origin: attributes.origin,
            med: attributes.med.unwrap_or(0),
            // RFC 4271 §9.1.2.2 c: a route an iBGP peer originated (empty path,
            // or one starting with an AS_SET) has our own AS as neighbour AS.
            neighbor_as: attributes.as_path.first_asn().unwrap_or(config.local_as),
            external: !peer.info.internal,
            // RFC 4456 §9: ORIGINATOR_ID stands in for the BGP Identifier.
            router_id: attributes.originator_id().unwrap_or(peer.info.router_id.0),
            cluster_length: attributes.cluster_list_length(),
            address: peer.info.address,
            peer: peer.id,
            path_id: path.path_id,
            next_hop: attributes.next_hop,
        }
    }

    /// The tie-breaks after IGP cost (RFC 4271 §9.1.2.2 f, g; RFC 4456 §9),
    /// then peer and path identifier, which always differ.
    fn tie_break(&self, other: &Candidate) -> Ordering {
        self.router_id
            .cmp(&other.router_id)
            .then(self.cluster_length.cmp(&other.cluster_length))
            .then(self.address.cmp(&other.address))
            .then(self.peer.cmp(&other.peer))
            .then(self.path_id.cmp(&other.path_id))
    }
}

/// Keeps the candidates whose `key` is the smallest.
fn keep_lowest<K: Ord + Copy>(
    candidates: &mut SmallVec<[Candidate; 8]>,
    key: impl Fn(&Candidate) -> K,
) {
    if let Some(lowest) = candidates.iter().map(&key).min() {
        candidates.retain(|candidate| key(candidate) == lowest);
    }
}

/// Marks the best path and the ECMP paths of one prefix (and clears the
/// marks of the others). Paths are never reordered.
pub(crate) fn select(paths: &mut [Path], peers: &[PeerState], config: &RibConfig) {
    for path in paths.iter_mut() {
        path.selection = Selection::None;
    }
    if let [only] = paths {
        only.selection = Selection::Best;
        return;
    }
    // Locally originated routes beat everything learned (as a router's own
    // networks do in every implementation; there is at most one).
    if let Some(local) = paths.iter_mut().find(|path| path.is_local()) {
        local.selection = Selection::Best;
        return;
    }
    let mut candidates: SmallVec<[Candidate; 8]> = paths
        .iter()
        .enumerate()
        .map(|(index, path)| Candidate::new(index, path, peers, config))
        .collect();
    // RFC 9494 §4.4: a long-lived stale path is least preferred: any other
    // path wins over it, before LOCAL_PREF is even looked at.
    if candidates
        .iter()
        .any(|candidate| !candidate.long_lived_stale)
    {
        candidates.retain(|candidate| !candidate.long_lived_stale);
    }
    // RFC 4271 §9.1.2.1: the degree of preference is LOCAL_PREF, highest wins.
    keep_lowest(&mut candidates, |candidate| {
        std::cmp::Reverse(candidate.local_pref)
    });
    // §9.1.2.2 a: shortest AS_PATH (a set counts 1, confederation segments 0).
    keep_lowest(&mut candidates, |candidate| candidate.path_length);
    // §9.1.2.2 b: lowest ORIGIN.
    keep_lowest(&mut candidates, |candidate| candidate.origin);
    // §9.1.2.2 c: remove a path when another from the same neighbour AS has a
    // lower MED; paths from different neighbour ASes are not compared.
    let lowest_med = |neighbor_as: Asn, candidates: &[Candidate]| {
        candidates
            .iter()
            .filter(|other| other.neighbor_as == neighbor_as)
            .map(|other| other.med)
            .min()
            .unwrap_or(0)
    };
    let snapshot = candidates.clone();
    candidates.retain(|candidate| candidate.med <= lowest_med(candidate.neighbor_as, &snapshot));
    // §9.1.2.2 d: eBGP-learned over iBGP-learned.
    if candidates.iter().any(|candidate| candidate.external) {
        candidates.retain(|candidate| candidate.external);
    }
    // §9.1.2.2 e: IGP cost to the next hop is unknown here: all equal.
    // §9.1.2.2 f, g and RFC 4456 §9: router id, cluster list, peer address.
    candidates.sort_by(Candidate::tie_break);
    let best = candidates[0];
    paths[best.index].selection = Selection::Best;

    // ECMP: paths equal to the best through the eBGP/iBGP step, each with a
    // next hop of its own. The survivors already share LOCAL_PREF, AS_PATH
    // length, ORIGIN and kind; the neighbour AS must match too, for iBGP as
    // for eBGP paths, and then MED: RFC 4271 §9.1.2.2 c compares MED only
    // between paths from the same neighbour AS, so paths from different ones
    // are not equal however their MEDs read (multipath across ASes needs an
    // explicit knob elsewhere, FRR's `as-path multipath-relax`, and is not
    // offered).
    if config.max_paths <= 1 {
        return;
    }
    let mut next_hops: SmallVec<[IpAddr; 4]> = best.next_hop.into_iter().collect();
    let mut extra = 0;
    for candidate in &candidates[1..] {
        if extra + 1 >= config.max_paths {
            break;
        }
        let equal = candidate.neighbor_as == best.neighbor_as
            && candidate.med == best.med
            && candidate.external == best.external;
        let Some(next_hop) = candidate.next_hop else {
            continue;
        };
        if equal && !next_hops.contains(&next_hop) {
            next_hops.push(next_hop);
            paths[candidate.index].selection = Selection::Multipath;
            extra += 1;
        }
    }
}
