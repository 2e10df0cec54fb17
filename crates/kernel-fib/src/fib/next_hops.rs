//! Next-hop objects (Linux 5.3, `ip nexthop`): a route of one gateway goes
//! in naming a shared object that holds the gateway and its interface
//! (`RTA_NH_ID`), rather than with a next hop of its own.
//!
//! For each route with its own next hop, the kernel builds a `fib_info` and
//! a next hop with per-CPU caches, then frees them again (through RCU) when
//! an equal `fib_info` exists: most of its work on a route. Through an
//! object it skips the next hop; measured on this project's machine, 500,000
//! IPv4 routes written 128 to a datagram took 0.57-0.59 s of the kernel's
//! time through one object against 0.80-0.86 s each with its own gateway.
//! FRR's zebra installs routes the same way.
//!
//! The objects carry our protocol number. One is made per distinct gateway
//! and interface the first time a route needs it, and kept (a node has a few
//! dozen next hops): also past [`Fib::remove_all`], because removing an
//! object removes every route through it, and a `Fib` of another table with
//! our protocol number shares them. A `Fib` that starts finds the objects of
//! ours a previous run left and takes them over, so the routes it left keep
//! theirs.
//! Where there are no objects (an older kernel), or one cannot be made (a
//! gateway on no connected network), routes go in with their own next hop,
//! as without objects, and fail the same way.
//!
//! The kernel lists a route through an object with its gateway and
//! interface as well (`net.ipv4.nexthop_compat_mode`, on by default); with
//! that off, `Fib::for_each_installed` reads the gateway from the objects.

use std::collections::HashMap;
use std::net::IpAddr;

use tracing::debug;

use super::writer::Action;
use super::Fib;
use crate::encode::{NextHopObject, Request};
use crate::error::errno;
use crate::{FibError, FibRoute, RouteKind};

/// Whether objects are used, and which exist.
#[derive(Debug)]
pub(super) struct NextHopObjects {
    state: State,
    /// Ours, by what they hold.
    ids: HashMap<NextHopObject, u32>,
    /// The id the next object is given.
    next_id: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not yet looked at: the kernel's objects are listed before the first
    /// is made.
    Unlisted,
    Listed,
    /// Switched off, or the kernel has none.
    Unused,
}

/// Objects made at most: routes of a gateway beyond them keep their own
/// next hops. Objects stay when their routes go, so without a bound a peer
/// announcing through ever new gateways (a connected IPv6 /64 has plenty)
/// would grow the kernel's memory for good; a node has a few dozen.
const MOST_OBJECTS: usize = 4096;

/// Why an object could not be made for a route.
const NO_OBJECTS: [i32; 3] = [
    errno::EOPNOTSUPP,
    errno::EAFNOSUPPORT,
    errno::EPROTONOSUPPORT,
];

impl NextHopObjects {
    pub(super) fn new(enabled: bool, protocol: u8) -> Self {
        NextHopObjects {
            state: if enabled {
                State::Unlisted
            } else {
                State::Unused
            },
            ids: HashMap::new(),
            next_id: first_id(protocol),
        }
    }

    /// Takes over the listed objects of `protocol` that hold one gateway
    /// through one interface, and gives new objects ids above every listed
    /// one of ours.
    fn adopt(&mut self, protocol: u8, listed: &[super::reader::ListedObject]) {
        for (id, object_protocol, next_hop) in listed {
            if *object_protocol != protocol {
                continue;
            }
            if let Some(next_hop) = next_hop {
                self.ids.entry(*next_hop).or_insert(*id);
            }
            if *id >= self.next_id {
                self.next_id = id.wrapping_add(1).max(first_id(protocol));
            }
        }
        self.state = State::Listed;
    }

    fn allocate(&mut self, protocol: u8) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(first_id(protocol));
        id
    }

    pub(super) fn forget(&mut self, next_hop: &NextHopObject) {
        self.ids.remove(next_hop);
    }
}

/// Our objects' ids start at the protocol number times 2^24 (244 → 0xF4000000),
/// away from the low ids `ip nexthop` users and FRR's zebra pick.
fn first_id(protocol: u8) -> u32 {
    (u32::from(protocol) << 24).max(1)
}

/// What a route to install could go through: one gateway of the route's
/// family, unicast. A route to an IPv4 prefix through an IPv6 gateway (RFC
/// 5549) keeps its own next hop, and so does one through an IPv6 link-local
/// gateway without a device: which interface it is on, the route does not
/// say, and a lookup would pick one.
pub(super) fn single_gateway(route: &FibRoute) -> Option<IpAddr> {
    let gateway = match (route.kind, route.next_hops.as_slice()) {
        (RouteKind::Unicast, [gateway]) => *gateway,
        _ => return None,
    };
    let link_local = match gateway {
        // fe80::/10 (RFC 4291 §2.5.6).
        IpAddr::V6(address) => address.segments()[0] & 0xffc0 == 0xfe80,
        IpAddr::V4(_) => false,
    };
    let same_family = gateway.is_ipv4() == route.prefix.addr().is_ipv4();
    (same_family && !(link_local && route.device.is_none())).then_some(gateway)
}

impl Fib {
    /// For each route to install (`None` for the others), the object it goes
    /// through, made now if need be; `None` for a route that keeps its own
    /// next hop. `interfaces` keeps the gateways' interfaces for the batch.
    pub(super) async fn objects_for(
        &mut self,
        routes: &[(Option<&FibRoute>, Option<u32>)],
        interfaces: &mut HashMap<IpAddr, Option<u32>>,
    ) -> Result<Vec<Option<(NextHopObject, u32)>>, FibError> {
        let mut found = vec![None; routes.len()];
        if self.next_hops.state == State::Unused {
            return Ok(found);
        }
        if self.next_hops.state == State::Unlisted {
            let listed = self.reader.lock().await.next_hop_objects().await;
            match listed {
                Ok(listed) => self.next_hops.adopt(self.config.protocol, &listed),
                Err(error) => {
                    debug!(
                        ?error,
                        "no next-hop objects: routes keep their own next hops"
                    );
                    self.next_hops.state = State::Unused;
                    return Ok(found);
                }
            }
        }
        let mut keys: Vec<Option<NextHopObject>> = vec![None; routes.len()];
        let mut wanted: Vec<NextHopObject> = Vec::new();
        for (index, (route, output_interface)) in routes.iter().enumerate() {
            let Some(gateway) = route.and_then(single_gateway) else {
                continue;
            };
            let interface = match output_interface {
                Some(index) => Some(*index),
                None => match interfaces.get(&gateway) {
                    Some(known) => *known,
                    None => {
                        let looked_up = self
                            .reader
                            .lock()
                            .await
                            .interface_towards(gateway)
                            .await
                            .map_err(FibError::from)?;
                        interfaces.insert(gateway, looked_up);
                        looked_up
                    }
                },
            };
            let Some(interface) = interface else {
                continue; // the route's own next hop fails as it would have
            };
            let next_hop = NextHopObject {
                gateway,
                interface,
                on_link: output_interface.is_some(),
            };
            keys[index] = Some(next_hop);
            match self.next_hops.ids.get(&next_hop) {
                Some(id) => found[index] = Some((next_hop, *id)),
                None if self.next_hops.ids.len() + wanted.len() >= MOST_OBJECTS => {}
                None if !wanted.contains(&next_hop) => wanted.push(next_hop),
                None => {}
            }
        }
        if !wanted.is_empty() {
            self.make_objects(&wanted).await?;
            for (slot, key) in found.iter_mut().zip(&keys) {
                if let (None, Some(next_hop)) = (&slot, key) {
                    *slot = self.next_hops.ids.get(next_hop).map(|id| (*next_hop, *id));
                }
            }
        }
        Ok(found)
    }

    /// Makes the objects of `wanted`; those the kernel refuses are left out
    /// (their routes keep their own next hops).
    async fn make_objects(&mut self, wanted: &[NextHopObject]) -> Result<(), FibError> {
        let protocol = self.config.protocol;
        let made: Vec<(NextHopObject, u32)> = wanted
            .iter()
            .map(|next_hop| (*next_hop, self.next_hops.allocate(protocol)))
            .collect();
        let requests: Vec<(Action, Request<'_>)> = made
            .iter()
            .map(|(next_hop, id)| {
                (
                    Action::Add,
                    Request::NewNextHop {
                        id: *id,
                        next_hop: *next_hop,
                    },
                )
            })
            .collect();
        let answers = self
            .writer
            .exchange(&self.config, &requests)
            .await
            .map_err(FibError::Connect)?;
        for ((next_hop, id), answer) in made.into_iter().zip(answers) {
            let code = answer.and_then(|error| error.code).map(|code| -code.get());
            match code {
                None => {
                    debug!(id, gateway = %next_hop.gateway, interface = next_hop.interface, "next-hop object made");
                    self.next_hops.ids.insert(next_hop, id);
                }
                Some(code) if NO_OBJECTS.contains(&code) => {
                    debug!(code, "the kernel makes no next-hop objects");
                    self.next_hops.state = State::Unused;
                }
                // An id taken by someone else's object, or a gateway the
                // kernel will not take (its routes then fail with their own
                // next hops, and say so): the id is passed over, and the
                // next route with this gateway asks again.
                Some(code) => {
                    debug!(id, gateway = %next_hop.gateway, code, "next-hop object not made; its routes keep their own next hops");
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_of_ours_are_taken_over_and_new_ones_numbered_above_them() {
        let mut objects = NextHopObjects::new(true, 244);
        let held = NextHopObject {
            gateway: "192.0.2.1".parse().unwrap(),
            interface: 3,
            on_link: false,
        };
        let theirs = NextHopObject {
            gateway: "192.0.2.9".parse().unwrap(),
            ..held
        };
        objects.adopt(
            244,
            &[
                (first_id(244) + 4, 244, Some(held)),
                (7, 186, Some(theirs)),
                (first_id(244) + 9, 244, None),
            ],
        );
        assert_eq!(objects.ids.get(&held), Some(&(first_id(244) + 4)));
        assert!(!objects.ids.contains_key(&theirs), "zebra's");
        assert_eq!(objects.allocate(244), first_id(244) + 10);
        assert_eq!(first_id(244), 0xF400_0000);
    }

    #[test]
    fn only_a_unicast_route_of_one_gateway_of_its_family_goes_through_one() {
        let route = |prefix: &str, next_hops: &[&str], kind| FibRoute {
            prefix: prefix.parse().unwrap(),
            next_hops: next_hops.iter().map(|text| text.parse().unwrap()).collect(),
            kind,
            device: None,
        };
        assert!(single_gateway(&route("10.0.0.0/8", &["192.0.2.1"], RouteKind::Unicast)).is_some());
        assert!(single_gateway(&route(
            "2001:db8::/32",
            &["2001:db8::1"],
            RouteKind::Unicast
        ))
        .is_some());
        assert!(
            single_gateway(&route("10.0.0.0/8", &["2001:db8::1"], RouteKind::Unicast)).is_none()
        );
        assert!(single_gateway(&route(
            "10.0.0.0/8",
            &["192.0.2.1", "192.0.2.2"],
            RouteKind::Unicast
        ))
        .is_none());
        assert!(single_gateway(&route("10.0.0.0/8", &[], RouteKind::Blackhole)).is_none());
        let link_local = route("2001:db8::/32", &["fe80::1"], RouteKind::Unicast);
        assert!(single_gateway(&link_local).is_none(), "on which interface?");
        let through_device = FibRoute {
            device: Some("eth0".to_owned()),
            ..link_local
        };
        assert!(single_gateway(&through_device).is_some());
    }
}
