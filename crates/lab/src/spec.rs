//! What to run: router and neighbor descriptions, with validation.

use crate::{Kind, LabError};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address family (unicast only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 unicast.
    Ipv4,
    /// IPv6 unicast.
    Ipv6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// `"ipv4"` or `"ipv6"`.
    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

/// One configured BGP neighbor of a [`RouterSpec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborSpec {
    /// The neighbor's address (same family as the router's address).
    pub address: IpAddr,
    /// The neighbor's listen port (default 179).
    pub port: u16,
    /// The neighbor's AS number (4-octet allowed).
    pub asn: u32,
    /// Never initiate the connection, only accept it.
    pub passive: bool,
    /// TCP-MD5 password (RFC 2385). No quotes, backslashes or whitespace.
    pub password: Option<String>,
    /// Hold time in seconds, 0 or at least 3 (default 30); keepalive is a third of it.
    /// GoBGP takes a configured 0 as its default of 90 s (a peer's 0 still wins
    /// the negotiation).
    pub hold_time: u16,
    /// Seconds between connection attempts (default 1, so tests are fast).
    pub connect_retry: u16,
    /// Families to negotiate; empty means the family of `address`.
    pub families: Vec<Family>,
    /// eBGP multihop TTL. BIRD always uses multihop for eBGP (required on
    /// `lo`); FRR and GoBGP only when this is set.
    pub ebgp_multihop: Option<u8>,
    /// GTSM (RFC 5082) with this many hops: send TTL 255, accept 256 − hops
    /// and up. FRR only (validated).
    pub ttl_security: Option<u8>,
}

impl NeighborSpec {
    /// A neighbor at `address`:179 in `asn`, active, no password, hold 30 s,
    /// connect-retry 1 s, family of its address.
    pub fn new(address: impl Into<IpAddr>, asn: u32) -> NeighborSpec {
        NeighborSpec {
            address: address.into(),
            port: 179,
            asn,
            passive: false,
            password: None,
            hold_time: 30,
            connect_retry: 1,
            families: Vec::new(),
            ebgp_multihop: None,
            ttl_security: None,
        }
    }

    /// Sets the neighbor's port.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Makes the session passive on our side.
    pub fn with_passive(mut self, passive: bool) -> Self {
        self.passive = passive;
        self
    }

    /// Sets a TCP-MD5 password.
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Sets the hold time (keepalive = hold / 3).
    pub fn with_hold_time(mut self, seconds: u16) -> Self {
        self.hold_time = seconds;
        self
    }

    /// Sets the connect-retry interval.
    pub fn with_connect_retry(mut self, seconds: u16) -> Self {
        self.connect_retry = seconds;
        self
    }

    /// Sets the families to negotiate.
    pub fn with_families(mut self, families: &[Family]) -> Self {
        self.families = families.to_vec();
        self
    }

    /// Sets an eBGP multihop TTL.
    pub fn with_ebgp_multihop(mut self, ttl: u8) -> Self {
        self.ebgp_multihop = Some(ttl);
        self
    }

    /// Turns GTSM on with `hops` (FRR's `ttl-security hops`, BIRD's `ttl
    /// security` with `multihop hops`, GoBGP's `ttl-min` of 256 - hops).
    pub fn with_ttl_security(mut self, hops: u8) -> Self {
        self.ttl_security = Some(hops);
        self
    }

    /// The families this neighbor negotiates (never empty).
    pub fn effective_families(&self) -> Vec<Family> {
        if self.families.is_empty() {
            vec![Family::of(self.address)]
        } else {
            let mut f = self.families.clone();
            f.dedup();
            f
        }
    }

    /// Keepalive interval derived from the hold time.
    pub fn keepalive(&self) -> u16 {
        self.hold_time / 3
    }
}

/// A router to start: daemon kind, identity, neighbors and originated routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterSpec {
    /// Which daemon.
    pub kind: Kind,
    /// Instance name (letters, digits, `-`, `_`, `.`), used for the run directory.
    pub name: String,
    /// Listen and update-source address (127.x.y.z or ::1).
    pub address: IpAddr,
    /// Listen port (default 179).
    pub port: u16,
    /// Local AS number (4-octet allowed).
    pub asn: u32,
    /// BGP identifier; default: `address` if IPv4, else a freshly allocated
    /// loopback address (unique, so two v6 speakers on ::1 never share one).
    pub router_id: Option<Ipv4Addr>,
    /// Neighbors.
    pub neighbors: Vec<NeighborSpec>,
    /// Prefixes originated at start-up, e.g. `"10.2.0.0/24"` or `"2001:db8:2::/48"`.
    pub routes: Vec<String>,
    /// Rewrite the IPv4 next hop of everything advertised. Needed towards
    /// GoBGP 3.10, which treats 127/8 next hops as withdraw; use TEST-NET-2
    /// (198.51.100.0/24).
    pub next_hop: Option<Ipv4Addr>,
    /// Rewrite the IPv6 next hop of everything advertised. Needed on ::1:
    /// FRR silently drops a ::1 next hop and BIRD will not send a next hop
    /// equal to the neighbor's address; use 2001:db8:ffff::/48.
    pub next_hop6: Option<Ipv6Addr>,
    /// Announce graceful restart (RFC 4724) and act as its helper: FRR
    /// `bgp graceful-restart`, GoBGP `graceful-restart` per neighbor and
    /// family, BIRD `graceful restart on`.
    pub graceful_restart: bool,
    /// Long-lived graceful restart (RFC 9494), FRR only: `(restart time,
    /// long-lived stale time)` in seconds, FRR `bgp graceful-restart
    /// restart-time` and `bgp long-lived-graceful-restart stale-time`.
    /// Implies [`RouterSpec::graceful_restart`].
    pub long_lived: Option<(u16, u32)>,
    /// Prepend the router's own AS this many extra times to everything it
    /// advertises (FRR only), to make its paths longer than another's.
    pub prepend: u8,
    /// Advertise routes to neighbors (default true). `false` makes the router
    /// a pure receiver that sends no UPDATE at all, e.g. for benchmarks that
    /// feed it a table: nothing learned or originated is exported.
    pub export: bool,
    /// Install the best routes into the kernel's main table of the network
    /// namespace the daemon runs in (BIRD only: `protocol kernel`, with the
    /// connected networks in the next-hop resolution table so that next hops
    /// on them resolve directly). Run it in a namespace of its own.
    pub kernel: bool,
}

impl RouterSpec {
    /// A router of `kind` named `name`, listening on `address`:179 in `asn`,
    /// with no neighbors or routes yet.
    pub fn new(kind: Kind, name: impl Into<String>, address: impl Into<IpAddr>, asn: u32) -> Self {
        RouterSpec {
            kind,
            name: name.into(),
            address: address.into(),
            port: 179,
            asn,
            router_id: None,
            neighbors: Vec::new(),
            routes: Vec::new(),
            next_hop: None,
            next_hop6: None,
            graceful_restart: false,
            long_lived: None,
            prepend: 0,
            export: true,
            kernel: false,
        }
    }

    /// Turns on graceful restart (see [`RouterSpec::graceful_restart`]).
    pub fn with_graceful_restart(mut self) -> Self {
        self.graceful_restart = true;
        self
    }

    /// Turns on graceful restart with a `restart_time` and long-lived
    /// graceful restart with a `stale_time` (see [`RouterSpec::long_lived`]).
    pub fn with_long_lived_stale_time(mut self, restart_time: u16, stale_time: u32) -> Self {
        self.graceful_restart = true;
        self.long_lived = Some((restart_time, stale_time));
        self
    }

    /// Prepends the own AS `times` more times on export (FRR only).
    pub fn with_prepend(mut self, times: u8) -> Self {
        self.prepend = times;
        self
    }

    /// Adds a neighbor.
    pub fn neighbor(mut self, neighbor: NeighborSpec) -> Self {
        self.neighbors.push(neighbor);
        self
    }

    /// Adds a prefix to originate.
    pub fn route(mut self, prefix: impl Into<String>) -> Self {
        self.routes.push(prefix.into());
        self
    }

    /// Adds prefixes to originate.
    pub fn routes<I, S>(mut self, prefixes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.routes.extend(prefixes.into_iter().map(Into::into));
        self
    }

    /// Sets the listen port.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets the BGP identifier.
    pub fn with_router_id(mut self, id: Ipv4Addr) -> Self {
        self.router_id = Some(id);
        self
    }

    /// Rewrites the advertised next hop of the address's family
    /// (sets [`RouterSpec::next_hop`] or [`RouterSpec::next_hop6`]).
    pub fn next_hop(mut self, next_hop: IpAddr) -> Self {
        match next_hop {
            IpAddr::V4(a) => self.next_hop = Some(a),
            IpAddr::V6(a) => self.next_hop6 = Some(a),
        }
        self
    }

    /// Sets whether anything is advertised to neighbors (see [`RouterSpec::export`]).
    pub fn with_export(mut self, export: bool) -> Self {
        self.export = export;
        self
    }

    /// Sets whether the best routes go into the kernel (see
    /// [`RouterSpec::kernel`]).
    pub fn with_kernel(mut self, kernel: bool) -> Self {
        self.kernel = kernel;
        self
    }

    /// Index of the first neighbor with this address.
    pub(crate) fn neighbor_index(&self, peer: IpAddr) -> Option<usize> {
        self.neighbors.iter().position(|n| n.address == peer)
    }

    /// Checks everything a config generator relies on.
    pub(crate) fn validate(&self) -> Result<(), LabError> {
        let bad = |m: String| Err(LabError::InvalidSpec(format!("{}: {m}", self.name)));
        if self.prepend > 0 && self.kind != Kind::Frr {
            return bad("prepend is only implemented for FRR".into());
        }
        if self.kernel && self.kind != Kind::Bird {
            return bad("kernel is only implemented for BIRD".into());
        }
        if self.name.is_empty()
            || self.name.len() > 40
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return bad("name must be 1-40 chars of [A-Za-z0-9_.-]".into());
        }
        if self.asn == 0 {
            return bad("ASN 0 is reserved".into());
        }
        if self.port == 0 {
            return bad("port 0: give the daemon a real listen port".into());
        }
        if self.address.is_unspecified() {
            return bad("listen address must not be the wildcard address".into());
        }
        for (i, n) in self.neighbors.iter().enumerate() {
            if Family::of(n.address) != Family::of(self.address) {
                return bad(format!(
                    "neighbor {} is not in the family of the router address {} (sessions use it as source)",
                    n.address, self.address
                ));
            }
            if n.address == self.address && n.port == self.port {
                return bad(format!("neighbor {} is the router itself", n.address));
            }
            if self.neighbors[..i].iter().any(|o| o.address == n.address) {
                return bad(format!(
                    "neighbor {} configured twice (a daemon keys neighbors by address)",
                    n.address
                ));
            }
            if n.asn == 0 || n.port == 0 {
                return bad(format!(
                    "neighbor {}: ASN and port must be non-zero",
                    n.address
                ));
            }
            if n.hold_time != 0 && n.hold_time < 3 {
                return bad(format!(
                    "neighbor {}: hold time must be 0 or >= 3",
                    n.address
                ));
            }
            if n.connect_retry == 0 {
                return bad(format!(
                    "neighbor {}: connect retry must be >= 1",
                    n.address
                ));
            }
            if let Some(p) = &n.password {
                if p.is_empty()
                    || p.len() > 80
                    || p.chars().any(|c| {
                        c.is_whitespace() || c.is_control() || matches!(c, '"' | '\\' | '\'')
                    })
                {
                    return bad(format!(
                        "neighbor {}: password must be 1-80 printable chars without quotes, backslashes or spaces",
                        n.address
                    ));
                }
            }
        }
        for r in &self.routes {
            parse_prefix(r).map_err(|m| LabError::InvalidSpec(format!("{}: {m}", self.name)))?;
        }
        Ok(())
    }

    /// Routes split by family, validated.
    pub(crate) fn routes_of(&self, family: Family) -> Vec<IpNet> {
        self.routes
            .iter()
            .filter_map(|r| parse_prefix(r).ok())
            .filter(|p| match family {
                Family::Ipv4 => matches!(p, IpNet::V4(_)),
                Family::Ipv6 => matches!(p, IpNet::V6(_)),
            })
            .collect()
    }
}

/// Parses a prefix and insists on zero host bits (daemons disagree on what
/// to do with them).
pub(crate) fn parse_prefix(s: &str) -> Result<IpNet, String> {
    let net: IpNet = s
        .trim()
        .parse()
        .map_err(|e| format!("bad prefix {s:?}: {e}"))?;
    if net.trunc() != net {
        return Err(format!(
            "prefix {s:?} has host bits set (use {})",
            net.trunc()
        ));
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_bad_specs() {
        let a: IpAddr = "127.9.0.1".parse().unwrap();
        let ok = RouterSpec::new(Kind::Frr, "r1", a, 65001)
            .neighbor(NeighborSpec::new(
                "127.9.0.2".parse::<IpAddr>().unwrap(),
                65002,
            ))
            .route("10.0.0.0/24");
        assert!(ok.validate().is_ok());
        assert!(ok.clone().route("10.0.0.1/24").validate().is_err());
        assert!(ok.clone().route("10.0.0.0/33").validate().is_err());
        let mut s = ok.clone();
        s.name = "bad name".into();
        assert!(s.validate().is_err());
        let s = ok
            .clone()
            .neighbor(NeighborSpec::new("::1".parse::<IpAddr>().unwrap(), 1));
        assert!(s.validate().is_err(), "mixed families");
        let mut s = ok.clone();
        s.neighbors[0].password = Some("a b".into());
        assert!(s.validate().is_err());
        let mut s = ok;
        s.neighbors[0].hold_time = 2;
        assert!(s.validate().is_err());
    }

    #[test]
    fn families_default_to_address_family() {
        let n = NeighborSpec::new("::1".parse::<IpAddr>().unwrap(), 1);
        assert_eq!(n.effective_families(), vec![Family::Ipv6]);
        let n = n.with_families(&[Family::Ipv4, Family::Ipv6]);
        assert_eq!(n.effective_families(), vec![Family::Ipv4, Family::Ipv6]);
    }
}
