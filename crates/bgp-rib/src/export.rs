//! What each peer is sent: who may receive a route (RFC 4271 §9.1.3, RFC 4456
//! §6), how its attributes change on the way out (RFC 4271 §5.1), and the
//! UPDATE messages that carry it.

use std::net::IpAddr;

use bgp_wire::{
    Aggregator, AsPath, AttributeFlags, AttributeValue, ClusterId, Community, Family, MpNlri,
    MpReach, MpUnreach, Nlri, NlriList, PathAttribute, SegmentKind, Update,
};
use bytes::Bytes;

use crate::attributes::{Attributes, UnknownAttribute, DEFAULT_LOCAL_PREF};
use crate::peer::PeerState;
use crate::RibConfig;

/// Where a best path came from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'a> {
    /// Originated by this node.
    Local,
    /// Learned from a peer.
    Peer(&'a PeerState),
}

/// Our own address to put in NEXT_HOP / MP_REACH_NLRI towards `target` for
/// routes of `family`.
fn next_hop_self(target: &PeerState, family: Family) -> Option<IpAddr> {
    match family {
        Family::IPV4_UNICAST => target.info.next_hop_v4.map(IpAddr::V4),
        Family::IPV6_UNICAST => target.info.next_hop_v6.map(IpAddr::V6),
        _ => None,
    }
}

/// Whether a route from `source` with `attributes` goes to `target` at all.
pub(crate) fn eligible(
    config: &RibConfig,
    source: Source<'_>,
    attributes: &Attributes,
    target: &PeerState,
    family: Family,
) -> bool {
    let source = match source {
        Source::Local => None,
        Source::Peer(source) => Some(source),
    };
    // Never back to the peer it came from (split horizon). First, as the
    // cheapest test and the one that settles a lone peer's own routes.
    if source.is_some_and(|source| source.id == target.id) {
        return false;
    }
    // Only families the session negotiated (RFC 4760 §6), and only when we
    // have an address of that family to give as next hop: without one, the
    // peer gets nothing of the family (a reflected route would be usable, but
    // a peer we cannot even name ourselves to in that family is misconfigured).
    if !target.up || !target.negotiated(family) || next_hop_self(target, family).is_none() {
        return false;
    }
    // RFC 1997: NO_ADVERTISE goes to no peer, NO_EXPORT stays inside the AS,
    // and so does NO_EXPORT_SUBCONFED without confederations.
    //
    // RFC 9494 §4.3: a long-lived stale route (ours, or received with
    // LLGR_STALE) goes only to peers that announced the LLGR capability.
    // §4.6 would allow sending it to iBGP peers without the capability (with
    // NO_EXPORT attached and LOCAL_PREF lowered to 0), but only as an
    // optional procedure: we do not, because such a peer cannot tell the
    // route is stale, and a node has no inner iBGP mesh that needs it to
    // keep forwarding. A withdrawal is the safe default the RFC names.
    //
    // One pass over the communities for both: this runs for every update
    // group and every prefix that changes (once an UPDATE for an UPDATE's
    // own prefixes, `rib::groups::Eligibility`).
    let target_internal = target.info.internal;
    let target_long_lived = target.info.long_lived;
    if let Some(communities) = &attributes.communities {
        let stays = |community: Community| {
            community == Community::NO_ADVERTISE
                || (!target_internal
                    && (community == Community::NO_EXPORT
                        || community == Community::NO_EXPORT_SUBCONFED))
                || (!target_long_lived && community == Community::LLGR_STALE)
        };
        if communities.iter().any(stays) {
            return false;
        }
    }
    let Some(source) = source else {
        return true;
    };
    match (source.info.internal, target_internal) {
        // A node is not a transit router unless configured to be.
        (false, false) => config.transit,
        (false, true) | (true, false) => true,
        // RFC 4271 §9.2: iBGP-learned routes are not sent to iBGP peers, except
        // by a route reflector (RFC 4456 §6): from a client to every other
        // iBGP peer, from a non-client to clients only.
        (true, true) => {
            config.cluster_id.is_some()
                && (source.info.route_reflector_client || target.info.route_reflector_client)
        }
    }
}

/// The attributes `target` is sent for a route, or `None` when it is not sent.
pub(crate) fn transform(
    config: &RibConfig,
    source: Source<'_>,
    attributes: &Attributes,
    target: &PeerState,
    family: Family,
) -> Option<Attributes> {
    if !eligible(config, source, attributes, target, family) {
        return None;
    }
    let own_next_hop = next_hop_self(target, family)?;
    let mut out = attributes.clone();
    // RFC 5065 §5: confederation segments are never sent to a peer outside
    // the confederation, and we are in none, so to no peer at all. Import
    // already refuses them (§5, RFC 7606 §7.2); this is a safeguard.
    if attributes.as_path.has_confederation_segments() {
        out.set_as_path(without_confederation_segments(&attributes.as_path));
    }
    // RFC 4271 §5: unrecognised optional transitive attributes are passed on
    // with Partial set; non-transitive ones are not passed on.
    if let Some(rare) = out.rare.as_deref_mut() {
        rare.unknown = rare
            .unknown
            .iter()
            .filter(|unknown| unknown.flags.is_transitive())
            .map(|unknown| UnknownAttribute {
                flags: AttributeFlags(unknown.flags.0 | AttributeFlags::PARTIAL),
                ..unknown.clone()
            })
            .collect();
    }
    if !target.info.internal {
        // RFC 4271 §5.1.2: prepend our AS; §5.1.3: next hop self.
        out.set_as_path(
            out.as_path
                .prepend(target.info.local_as.unwrap_or(config.local_as)),
        );
        let keep = target.info.keep_next_hop
            && !target.info.next_hop_self
            && matches!(source, Source::Peer(_))
            && attributes.next_hop.is_some();
        if !keep {
            out.next_hop = Some(own_next_hop);
        }
        // §5.1.5: LOCAL_PREF is not sent to external peers; §5.1.4: a MED
        // received from a neighbouring AS is not passed on to another.
        out.local_pref = None;
        if matches!(source, Source::Peer(_)) {
            out.med = None;
        }
        // RFC 4456 §8: ORIGINATOR_ID and CLUSTER_LIST stay inside the AS.
        if let Some(rare) = out.rare.as_deref_mut() {
            rare.originator_id = None;
            rare.cluster_list = None;
        }
        out.tidy();
        return Some(out);
    }
    // §5.1.5: iBGP peers always get a LOCAL_PREF.
    out.local_pref = Some(attributes.local_pref.unwrap_or(DEFAULT_LOCAL_PREF));
    if target.info.next_hop_self {
        out.next_hop = Some(own_next_hop);
    }
    match source {
        Source::Local => out.next_hop = Some(own_next_hop),
        // eBGP-learned routes keep the external next hop (RFC 4271 §5.1.3).
        Source::Peer(source) if !source.info.internal => {}
        Source::Peer(source) => {
            // Reflection (RFC 4456 §8): ORIGINATOR_ID names the route's
            // originator in the AS, CLUSTER_LIST gains our cluster id.
            out.rare_mut().originator_id = Some(
                attributes
                    .originator_id()
                    .unwrap_or(source.info.router_id.0),
            );
            if let Some(cluster_id) = config.cluster_id {
                let existing = attributes
                    .cluster_list()
                    .into_iter()
                    .flat_map(|list| list.iter());
                out.rare_mut().cluster_list = Some(
                    std::iter::once(ClusterId(cluster_id))
                        .chain(existing)
                        .collect(),
                );
            }
        }
    }
    out.tidy();
    Some(out)
}

/// `as_path` without its AS_CONFED_SEQUENCE and AS_CONFED_SET segments
/// (RFC 5065 §4.1 c, §5).
fn without_confederation_segments(as_path: &AsPath) -> AsPath {
    let segments: Vec<(SegmentKind, Vec<bgp_wire::Asn>)> = as_path
        .segments()
        .filter(|segment| !segment.kind.is_confederation())
        .map(|segment| (segment.kind, segment.asns().collect()))
        .collect();
    AsPath::from_segments(segments.iter().map(|(kind, asns)| (*kind, asns.as_slice())))
}

/// One UPDATE announcing `prefixes` of `family` with `attributes` (the wire
/// encoder splits it when it does not fit one message).
pub(crate) fn announcement(
    attributes: &Attributes,
    family: Family,
    prefixes: Vec<Nlri>,
    four_octet_peer: bool,
) -> Update {
    let mut list = attributes.to_path_attributes();
    // RFC 6793 §4.2.2: towards a two-octet speaker, AS numbers that need four
    // octets go as AS_TRANS in AS_PATH and AGGREGATOR, with the real values in
    // AS4_PATH and AS4_AGGREGATOR.
    if !four_octet_peer {
        let as_path = &attributes.as_path;
        if as_path
            .segments()
            .flat_map(|segment| segment.asns())
            .any(|asn| asn.is_four_octet())
        {
            // RFC 6793 §3: AS4_PATH carries no confederation segments.
            let as4_path = without_confederation_segments(as_path);
            list.push(PathAttribute::new(AttributeValue::As4Path(as4_path)));
        }
        if let Some(aggregator @ Aggregator { asn, .. }) = attributes.aggregator() {
            if asn.is_four_octet() {
                list.push(PathAttribute::new(AttributeValue::As4Aggregator(
                    aggregator,
                )));
            }
        }
    }
    let announced = match (family, attributes.next_hop) {
        // The plain IPv4 form: NEXT_HOP and the NLRI field (RFC 4271 §4.3).
        (Family::IPV4_UNICAST, Some(IpAddr::V4(_))) => prefixes,
        (_, next_hop) => {
            list.retain(|attribute| !matches!(attribute.value, AttributeValue::NextHop(_)));
            // RFC 4760 §3 with RFC 2545 §3: a 16-octet global IPv6 next hop, or
            // 4 octets for an IPv4 one.
            let next_hop = match next_hop {
                Some(IpAddr::V4(address)) => Bytes::copy_from_slice(&address.octets()),
                Some(IpAddr::V6(address)) => Bytes::copy_from_slice(&address.octets()),
                None => Bytes::new(),
            };
            list.push(PathAttribute::new(AttributeValue::MpReach(MpReach {
                family,
                next_hop,
                reserved: 0,
                nlri: MpNlri::Prefixes(prefixes),
            })));
            Vec::new()
        }
    };
    // Type-code order, as most implementations send them: the set's list
    // is in that order already, and only what was added above may be out
    // of it.
    if !list.is_sorted_by_key(|attribute| attribute.value.type_code()) {
        list.sort_by_key(|attribute| attribute.value.type_code());
    }
    Update {
        withdrawn: NlriList::new(),
        attributes: list,
        announced: announced.into(),
    }
}

/// One UPDATE withdrawing `prefixes` of `family` (never empty: an empty one
/// would read as End-of-RIB).
pub(crate) fn withdrawal(family: Family, prefixes: Vec<Nlri>) -> Update {
    if family == Family::IPV4_UNICAST {
        return Update {
            withdrawn: prefixes.into(),
            ..Update::default()
        };
    }
    Update {
        attributes: vec![PathAttribute::new(AttributeValue::MpUnreach(MpUnreach {
            family,
            nlri: MpNlri::Prefixes(prefixes),
        }))],
        ..Update::default()
    }
}

/// The End-of-RIB marker of `family` (RFC 4724 §2).
pub(crate) fn end_of_rib(family: Family) -> Update {
    if family == Family::IPV4_UNICAST {
        return Update::default();
    }
    withdrawal(family, Vec::new())
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use bgp_wire::{Asn, Origin, RouterId};

    use super::*;
    use crate::{PeerId, PeerInfo};

    fn peer(id: u32, internal: bool) -> PeerState {
        let mut state = PeerState::new(
            PeerId(id),
            PeerInfo {
                address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, id as u8)),
                asn: Asn(if internal { 64512 } else { 65000 + id }),
                router_id: RouterId(Ipv4Addr::new(1, 1, 1, id as u8)),
                internal,
                route_reflector_client: false,
                next_hop_v4: Some(Ipv4Addr::new(10, 0, 0, 1)),
                next_hop_v6: None,
                families: vec![Family::IPV4_UNICAST],
                four_octet_asn: true,
                allow_own_as: 0,
                max_prefix: None,
                keep_next_hop: false,
                next_hop_self: false,
                local_as: None,
                long_lived: false,
                enforce_first_as: true,
                extended_message: false,
            },
        );
        state.up = true;
        state
    }

    /// RFC 5065 §5: whatever got into the table, no peer is sent
    /// confederation segments (import refuses them; this is the safeguard).
    #[test]
    fn confederation_segments_are_never_sent() {
        let config = RibConfig {
            transit: true,
            ..RibConfig::new(Asn(64512), RouterId(Ipv4Addr::new(10, 0, 0, 1)))
        };
        let confed = [Asn(65100), Asn(65101)];
        let rest = [Asn(65001), Asn(65002)];
        let as_path = AsPath::from_segments([
            (SegmentKind::ConfedSequence, &confed[..]),
            (SegmentKind::Sequence, &rest[..]),
            (SegmentKind::ConfedSet, &confed[..]),
        ]);
        let mut attributes = Attributes::new(
            Origin::Igp,
            as_path,
            Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
        );
        attributes.local_pref = Some(100);
        let source = peer(1, false);
        for (target, expected) in [
            (peer(2, false), "64512 65001 65002"),
            (peer(3, true), "65001 65002"),
        ] {
            let out = transform(
                &config,
                Source::Peer(&source),
                &attributes,
                &target,
                Family::IPV4_UNICAST,
            )
            .expect("sent");
            assert!(!out.as_path.has_confederation_segments());
            assert_eq!(out.as_path.to_string(), expected);
            assert_eq!(out.path_length, 2 + u32::from(!target.info.internal));
        }
    }
}
