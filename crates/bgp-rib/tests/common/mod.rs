//! Builders shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp_rib::{Asn, Family, PeerId, PeerInfo, Rib, RibConfig, RouterId};
use bgp_wire::{
    AsPath, AttributeFlags, AttributeType, AttributeValue, ClusterId, Community, MpNlri, MpReach,
    MpUnreach, Nlri, NlriList, Origin, PathAttribute, Update,
};
use bytes::Bytes;
use ipnet::IpNet;

pub const LOCAL_AS: u32 = 64512;

pub fn config() -> RibConfig {
    RibConfig::new(Asn(LOCAL_AS), RouterId(Ipv4Addr::new(10, 0, 0, 1)))
}

pub fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

pub fn v4(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

pub fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// An eBGP peer at `address` in `asn`, router id `router_id`, IPv4 and IPv6.
pub fn ebgp(address: &str, asn: u32, router_id: &str) -> PeerInfo {
    PeerInfo {
        address: ip(address),
        asn: Asn(asn),
        router_id: RouterId(v4(router_id)),
        internal: false,
        route_reflector_client: false,
        next_hop_v4: Some(v4("10.0.0.1")),
        next_hop_v6: Some("2001:db8::1".parse::<Ipv6Addr>().unwrap()),
        families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
        four_octet_asn: true,
        allow_own_as: 0,
        max_prefix: None,
        keep_next_hop: false,
        next_hop_self: false,
        local_as: None,
        long_lived: false,
        enforce_first_as: true,
        extended_message: false,
    }
}

/// An iBGP peer.
pub fn ibgp(address: &str, router_id: &str) -> PeerInfo {
    PeerInfo {
        internal: true,
        ..ebgp(address, LOCAL_AS, router_id)
    }
}

/// An iBGP route reflector client.
pub fn client(address: &str, router_id: &str) -> PeerInfo {
    PeerInfo {
        route_reflector_client: true,
        ..ibgp(address, router_id)
    }
}

/// An announcement under construction.
#[derive(Clone)]
pub struct Route {
    prefixes: Vec<Nlri>,
    origin: Origin,
    as_path: Vec<u32>,
    next_hop: Option<IpAddr>,
    extra: Vec<PathAttribute>,
}

/// An announcement of `prefixes` (IPv4 or IPv6) with origin IGP, an empty AS
/// path and next hop `next_hop`.
pub fn route(prefixes: &[&str], next_hop: &str) -> Route {
    Route {
        prefixes: prefixes.iter().map(|text| Nlri::new(net(text))).collect(),
        origin: Origin::Igp,
        as_path: Vec::new(),
        next_hop: Some(ip(next_hop)),
        extra: Vec::new(),
    }
}

impl Route {
    pub fn path(mut self, asns: &[u32]) -> Self {
        self.as_path = asns.to_vec();
        self
    }
    pub fn origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }
    pub fn path_id(mut self, path_id: u32) -> Self {
        for nlri in &mut self.prefixes {
            nlri.path_id = Some(path_id);
        }
        self
    }
    pub fn attribute(mut self, value: AttributeValue) -> Self {
        self.extra.push(PathAttribute::new(value));
        self
    }
    pub fn med(self, med: u32) -> Self {
        self.attribute(AttributeValue::MultiExitDisc(med))
    }
    pub fn local_pref(self, local_pref: u32) -> Self {
        self.attribute(AttributeValue::LocalPref(local_pref))
    }
    pub fn originator(self, id: &str) -> Self {
        self.attribute(AttributeValue::OriginatorId(v4(id)))
    }
    pub fn cluster_list(self, ids: &[&str]) -> Self {
        self.attribute(AttributeValue::ClusterList(
            ids.iter().map(|id| ClusterId(v4(id))).collect(),
        ))
    }
    pub fn communities(self, communities: &[Community]) -> Self {
        self.attribute(AttributeValue::Communities(
            communities.iter().copied().collect(),
        ))
    }
    pub fn unknown(mut self, flags: u8, type_code: u8, value: &'static [u8]) -> Self {
        self.extra.push(PathAttribute {
            flags: AttributeFlags(flags),
            value: AttributeValue::Other {
                type_code: AttributeType(type_code),
                value: Bytes::from_static(value),
            },
        });
        self
    }

    pub fn build(self) -> Update {
        let mut attributes = vec![
            PathAttribute::new(AttributeValue::Origin(self.origin)),
            PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(
                &self.as_path.iter().map(|asn| Asn(*asn)).collect::<Vec<_>>(),
            ))),
        ];
        attributes.extend(self.extra);
        let ipv4 = matches!(
            self.prefixes.first().map(|nlri| nlri.prefix),
            Some(IpNet::V4(_))
        );
        match (ipv4, self.next_hop) {
            (true, Some(IpAddr::V4(next_hop))) => {
                attributes.push(PathAttribute::new(AttributeValue::NextHop(next_hop)));
                Update {
                    withdrawn: NlriList::new(),
                    attributes,
                    announced: self.prefixes.into(),
                }
            }
            (ipv4, next_hop) => {
                let octets = match next_hop {
                    Some(IpAddr::V4(address)) => Bytes::copy_from_slice(&address.octets()),
                    Some(IpAddr::V6(address)) => Bytes::copy_from_slice(&address.octets()),
                    None => Bytes::new(),
                };
                attributes.push(PathAttribute::new(AttributeValue::MpReach(MpReach {
                    family: if ipv4 {
                        Family::IPV4_UNICAST
                    } else {
                        Family::IPV6_UNICAST
                    },
                    next_hop: octets,
                    reserved: 0,
                    nlri: MpNlri::Prefixes(self.prefixes),
                })));
                Update {
                    withdrawn: NlriList::new(),
                    attributes,
                    announced: NlriList::new(),
                }
            }
        }
    }
}

/// A withdrawal of IPv4 `prefixes` (NLRI field) or IPv6 ones (MP_UNREACH_NLRI).
pub fn withdraw(prefixes: &[&str]) -> Update {
    let nlri: Vec<Nlri> = prefixes.iter().map(|text| Nlri::new(net(text))).collect();
    if matches!(nlri.first().map(|nlri| nlri.prefix), Some(IpNet::V6(_))) {
        return Update {
            attributes: vec![PathAttribute::new(AttributeValue::MpUnreach(MpUnreach {
                family: Family::IPV6_UNICAST,
                nlri: MpNlri::Prefixes(nlri),
            }))],
            ..Update::default()
        };
    }
    Update {
        withdrawn: nlri.into(),
        ..Update::default()
    }
}

/// A RIB with one eBGP peer up: peer 1, 192.0.2.1 in AS 65001, router id
/// 1.1.1.1.
pub fn rib_with_ebgp_peer() -> Rib {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("192.0.2.1", 65001, "1.1.1.1"));
    rib
}

/// That eBGP peer's announcement of `prefixes`: next hop 192.0.2.1, AS_PATH
/// 65001.
pub fn from_ebgp_peer(prefixes: &[&str]) -> Update {
    route(prefixes, "192.0.2.1").path(&[65001]).build()
}

/// The receipt of an UPDATE applied with `announced` prefixes taken and
/// `withdrawn` paths removed.
pub fn accepted(announced: usize, withdrawn: usize) -> bgp_rib::Receipt {
    bgp_rib::Receipt::Accepted {
        announced,
        withdrawn,
    }
}

/// Originates each of `prefixes`, in order, with no communities.
pub fn originate(rib: &mut Rib, prefixes: &[&str]) {
    for prefix in prefixes {
        rib.originate(net(prefix), vec![], vec![]);
    }
}

/// Receives `update` from `peer` with no errors.
pub fn receive(rib: &mut Rib, peer: u32, update: Update) -> bgp_rib::Receipt {
    rib.receive(PeerId(peer), &update, &[])
}

/// The peer whose path is best for `prefix`.
pub fn best_peer(rib: &Rib, prefix: &str) -> Option<PeerId> {
    rib.lookup(net(prefix))
        .find(|view| view.best)
        .and_then(|view| view.peer)
}

/// Prefixes announced in `updates` (IPv4 NLRI field and MP_REACH_NLRI).
pub fn announced(updates: &[Update]) -> Vec<IpNet> {
    let mut prefixes: Vec<IpNet> = updates
        .iter()
        .flat_map(|update| {
            let field = update.announced.iter().map(|nlri| nlri.prefix);
            let reach = update
                .mp_reach()
                .into_iter()
                .flat_map(|reach| reach.nlri.prefixes().iter().map(|nlri| nlri.prefix));
            field.chain(reach).collect::<Vec<_>>()
        })
        .collect();
    prefixes.sort();
    prefixes
}

/// Prefixes withdrawn in `updates`.
pub fn withdrawn(updates: &[Update]) -> Vec<IpNet> {
    let mut prefixes: Vec<IpNet> = updates
        .iter()
        .flat_map(|update| {
            let field = update.withdrawn.iter().map(|nlri| nlri.prefix);
            let unreach = update
                .mp_unreach()
                .into_iter()
                .flat_map(|unreach| unreach.nlri.prefixes().iter().map(|nlri| nlri.prefix));
            field.chain(unreach).collect::<Vec<_>>()
        })
        .collect();
    prefixes.sort();
    prefixes
}

/// Brings a peer up and discards its initial output (End-of-RIB markers).
pub fn up(rib: &mut Rib, peer: u32, info: PeerInfo) {
    rib.peer_up(PeerId(peer), info);
    rib.poll_updates(PeerId(peer));
}
