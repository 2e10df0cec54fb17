//! GoBGP 3.10 `gobgpd` with a generated TOML config.
//!
//! Command line: `gobgpd -f gobgpd.toml -t toml --api-hosts unix://DIR/api.sock
//! --pprof-disable -p -l info`.
//! - `--api-hosts unix://…`: the gRPC API would otherwise listen on `:50051`
//!   on every address, clashing between instances.
//! - `--pprof-disable`: pprof would otherwise bind localhost:6060.
//! - `-p`: plain (logrus text) log lines, parsed for [`Router::last_error`](crate::Router::last_error).
//!
//! Queried with `gobgp --target unix://DIR/api.sock neighbor -j` (the
//! `session_state` number: 1 Idle … 6 Established) and `neighbor X adj-in -a
//! AFI -j`. GoBGP 3.10 treats an UPDATE whose IPv4 next hop is in 127/8 as
//! withdraw (the session stays up, the route never appears), so senders must
//! rewrite next hops towards it; this crate's GoBGP does the same with an
//! export policy when [`RouterSpec::next_hop`] is set.
//!
//! GoBGP has no static routes in its config: [`RouterSpec::routes`] are added
//! through the API (`gobgp global rib add -a AFI PREFIX`) right after start,
//! about 80 prefixes per second.

use crate::router::Paths;
use crate::spec::{Family, RouterSpec};
use crate::LabError;
use std::fmt::Write;
use std::net::Ipv4Addr;

pub(crate) const GOBGPD: &str = "/usr/bin/gobgpd";
pub(crate) const GOBGP: &str = "/usr/bin/gobgp";

/// The generated `gobgpd.toml`.
pub(crate) fn config(spec: &RouterSpec, router_id: Ipv4Addr) -> String {
    let mut c = String::new();
    let w = &mut c;
    let _ = writeln!(w, "[global.config]");
    let _ = writeln!(w, "  as = {}", spec.asn);
    let _ = writeln!(w, "  router-id = \"{router_id}\"");
    let _ = writeln!(w, "  port = {}", spec.port);
    let _ = writeln!(w, "  local-address-list = [\"{}\"]", spec.address);
    let rewrites: Vec<(&str, &str, String)> = [
        spec.next_hop
            .map(|nh| ("any4", "0.0.0.0/0", nh.to_string())),
        spec.next_hop6.map(|nh| ("any6", "::/0", nh.to_string())),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !spec.export {
        // Every route is rejected on the way out, so there is nothing to rewrite.
        let _ = writeln!(w, "  [global.apply-policy.config]");
        let _ = writeln!(w, "    default-export-policy = \"reject-route\"");
    } else if !rewrites.is_empty() {
        let _ = writeln!(w, "  [global.apply-policy.config]");
        let _ = writeln!(w, "    export-policy-list = [\"lab-next-hop\"]");
        let _ = writeln!(w, "    default-export-policy = \"accept-route\"");
        for (set, prefix, _) in &rewrites {
            let max = if set == &"any4" { 32 } else { 128 };
            let _ = writeln!(w, "\n[[defined-sets.prefix-sets]]");
            let _ = writeln!(w, "  prefix-set-name = \"{set}\"");
            let _ = writeln!(w, "  [[defined-sets.prefix-sets.prefix-list]]");
            let _ = writeln!(w, "    ip-prefix = \"{prefix}\"");
            let _ = writeln!(w, "    masklength-range = \"0..{max}\"");
        }
        let _ = writeln!(w, "\n[[policy-definitions]]");
        let _ = writeln!(w, "  name = \"lab-next-hop\"");
        for (set, _, nh) in &rewrites {
            let _ = writeln!(w, "  [[policy-definitions.statements]]");
            let _ = writeln!(w, "    name = \"nh-{set}\"");
            let _ = writeln!(
                w,
                "    [policy-definitions.statements.conditions.match-prefix-set]"
            );
            let _ = writeln!(w, "      prefix-set = \"{set}\"");
            let _ = writeln!(w, "    [policy-definitions.statements.actions]");
            let _ = writeln!(w, "      route-disposition = \"accept-route\"");
            let _ = writeln!(w, "    [policy-definitions.statements.actions.bgp-actions]");
            let _ = writeln!(w, "      set-next-hop = \"{nh}\"");
        }
    }
    for n in &spec.neighbors {
        let _ = writeln!(w, "\n[[neighbors]]");
        let _ = writeln!(w, "  [neighbors.config]");
        let _ = writeln!(w, "    neighbor-address = \"{}\"", n.address);
        let _ = writeln!(w, "    peer-as = {}", n.asn);
        if let Some(pw) = &n.password {
            let _ = writeln!(w, "    auth-password = \"{pw}\"");
        }
        let _ = writeln!(w, "  [neighbors.transport.config]");
        let _ = writeln!(w, "    local-address = \"{}\"", spec.address);
        if n.port != 179 {
            let _ = writeln!(w, "    remote-port = {}", n.port);
        }
        if n.passive {
            let _ = writeln!(w, "    passive-mode = true");
        }
        let _ = writeln!(w, "  [neighbors.timers.config]");
        let _ = writeln!(w, "    connect-retry = {}", n.connect_retry);
        let _ = writeln!(w, "    hold-time = {}", n.hold_time);
        let _ = writeln!(w, "    keepalive-interval = {}", n.keepalive());
        // Default 30 s of Idle after every reset would slow down reconnect tests.
        let _ = writeln!(w, "    idle-hold-time-after-reset = {}", n.connect_retry);
        if let Some(ttl) = n.ebgp_multihop {
            let _ = writeln!(w, "  [neighbors.ebgp-multihop.config]");
            let _ = writeln!(w, "    enabled = true");
            let _ = writeln!(w, "    multihop-ttl = {ttl}");
        }
        if let Some(hops) = n.ttl_security {
            // GTSM (RFC 5082): the least TTL accepted, 256 minus the hops.
            let _ = writeln!(w, "  [neighbors.ttl-security.config]");
            let _ = writeln!(w, "    enabled = true");
            let _ = writeln!(w, "    ttl-min = {}", 256 - u16::from(hops));
        }
        if spec.graceful_restart {
            let _ = writeln!(w, "  [neighbors.graceful-restart.config]");
            let _ = writeln!(w, "    enabled = true");
            let _ = writeln!(w, "    restart-time = 120");
        }
        for f in n.effective_families() {
            let _ = writeln!(w, "  [[neighbors.afi-safis]]");
            let _ = writeln!(w, "    [neighbors.afi-safis.config]");
            let _ = writeln!(w, "      afi-safi-name = \"{}-unicast\"", f.name());
            if spec.graceful_restart {
                let _ = writeln!(w, "    [neighbors.afi-safis.mp-graceful-restart.config]");
                let _ = writeln!(w, "      enabled = true");
            }
        }
    }
    c
}

pub(crate) fn daemon_args(paths: &Paths) -> Vec<String> {
    vec![
        "-f".into(),
        paths.config.display().to_string(),
        "-t".into(),
        "toml".into(),
        "--api-hosts".into(),
        format!("unix://{}", paths.control.display()),
        "--pprof-disable".into(),
        "-p".into(),
        "-l".into(),
        "info".into(),
    ]
}

/// `gobgpd -d` (dry run: parse and validate the config).
pub(crate) fn check_config(paths: &Paths) -> Result<(), LabError> {
    let args = vec![
        "-d".into(),
        "-f".into(),
        paths.config.display().to_string(),
        "-t".into(),
        "toml".into(),
    ];
    crate::process::check_config(GOBGPD, "gobgpd", &args, &paths.config)
}

pub(crate) fn cli_args(paths: &Paths, args: &[&str]) -> Vec<String> {
    let mut a = vec![
        "--target".to_string(),
        format!("unix://{}", paths.control.display()),
    ];
    a.extend(args.iter().map(|s| (*s).to_string()));
    a
}

/// `global rib add` (or `del`) arguments for one prefix.
pub(crate) fn rib_add(prefix: &ipnet::IpNet) -> [String; 6] {
    rib_command("add", prefix)
}

/// `global rib VERB -a FAMILY PREFIX`.
pub(crate) fn rib_command(verb: &str, prefix: &ipnet::IpNet) -> [String; 6] {
    let fam = match prefix {
        ipnet::IpNet::V4(_) => Family::Ipv4,
        ipnet::IpNet::V6(_) => Family::Ipv6,
    };
    [
        "global".into(),
        "rib".into(),
        verb.into(),
        "-a".into(),
        fam.name().into(),
        prefix.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kind, NeighborSpec};

    #[test]
    fn config_mentions_every_knob() {
        let spec = RouterSpec::new(
            Kind::Gobgp,
            "g1",
            "127.20.0.3".parse::<std::net::IpAddr>().unwrap(),
            65003,
        )
        .neighbor(
            NeighborSpec::new(
                "127.20.0.2".parse::<std::net::IpAddr>().unwrap(),
                4_200_000_001,
            )
            .with_password("pw")
            .with_port(1179)
            .with_passive(true),
        )
        .next_hop("198.51.100.3".parse().unwrap());
        let c = config(&spec, "127.20.0.3".parse().unwrap());
        for needle in [
            "local-address-list = [\"127.20.0.3\"]",
            "peer-as = 4200000001",
            "auth-password = \"pw\"",
            "remote-port = 1179",
            "passive-mode = true",
            "connect-retry = 1",
            "set-next-hop = \"198.51.100.3\"",
            "afi-safi-name = \"ipv4-unicast\"",
        ] {
            assert!(c.contains(needle), "missing {needle:?} in\n{c}");
        }
    }

    #[test]
    fn graceful_restart_is_enabled_per_neighbor_and_family() {
        let spec = RouterSpec::new(
            Kind::Gobgp,
            "g2",
            "127.20.0.3".parse::<std::net::IpAddr>().unwrap(),
            65003,
        )
        .neighbor(NeighborSpec::new(
            "127.20.0.2".parse::<std::net::IpAddr>().unwrap(),
            65002,
        ))
        .with_graceful_restart();
        let c = config(&spec, "127.20.0.3".parse().unwrap());
        assert!(c.contains("[neighbors.graceful-restart.config]"), "{c}");
        assert!(c.contains("restart-time = 120"), "{c}");
        assert!(
            c.contains("[neighbors.afi-safis.mp-graceful-restart.config]"),
            "{c}"
        );
    }

    #[test]
    fn a_receiver_rejects_every_export() {
        let spec = RouterSpec::new(
            Kind::Gobgp,
            "g1",
            "127.20.0.3".parse::<std::net::IpAddr>().unwrap(),
            65000,
        )
        .neighbor(NeighborSpec::new(
            "127.20.0.2".parse::<std::net::IpAddr>().unwrap(),
            64700,
        ))
        .next_hop("198.51.100.3".parse().unwrap())
        .with_export(false);
        let c = config(&spec, "127.20.0.3".parse().unwrap());
        assert!(
            c.contains("default-export-policy = \"reject-route\""),
            "{c}"
        );
        assert_eq!(c.matches("[global.apply-policy.config]").count(), 1, "{c}");
        assert!(!c.contains("set-next-hop"), "{c}");
    }
}
