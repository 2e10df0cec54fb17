//! FRR `bgpd` on its own (no zebra), one instance per run directory.
//!
//! Command line: `bgpd -S -Z -l ADDR -p PORT -P 0 -f bgpd.conf -i bgpd.pid
//! --vty_socket DIR --log file:DIR/bgpd.log --log-level info`, in the
//! foreground (no `-d`) so the harness owns the process.
//! - `-S`: as root, bgpd otherwise aborts in `privs_init` because root is
//!   not in the `frrvty` group.
//! - `-Z`: no zebra, so nothing is installed in the kernel FIB and every
//!   next hop is just an attribute.
//! - `-l`/`-p`: listen address/port; `-P 0`: no TCP vty;
//!   `--vty_socket DIR`: `DIR/bgpd.vty`, used by `vtysh --vty_socket DIR`.
//!
//! bgpd sets SO_REUSEPORT, so a second bgpd on the same address and port
//! would start "fine" and steal half the connections: the harness refuses to
//! start on a port something already listens on.

use crate::router::Paths;
use crate::spec::{Family, RouterSpec};
use crate::LabError;
use std::fmt::Write;
use std::net::Ipv4Addr;

pub(crate) const BGPD: &str = "/usr/lib/frr/bgpd";
pub(crate) const VTYSH: &str = "/usr/bin/vtysh";

/// The generated `bgpd.conf`.
pub(crate) fn config(spec: &RouterSpec, router_id: Ipv4Addr) -> String {
    let mut c = String::new();
    let w = &mut c;
    // "traditional" keeps the old defaults; timers below override the slow ones
    // (connect-retry would be 120 s).
    let _ = writeln!(w, "frr defaults traditional");
    let _ = writeln!(w, "hostname {}", spec.name);
    let _ = writeln!(w, "log timestamp precision 3");
    let _ = writeln!(w, "!");
    let rewrite =
        spec.export && (spec.next_hop.is_some() || spec.next_hop6.is_some() || spec.prepend > 0);
    if !spec.export {
        let _ = writeln!(w, "route-map LAB-NONE deny 10");
        let _ = writeln!(w, "!");
    }
    if rewrite {
        let _ = writeln!(w, "route-map LAB-OUT permit 10");
        if spec.prepend > 0 {
            let path = vec![spec.asn.to_string(); usize::from(spec.prepend)].join(" ");
            let _ = writeln!(w, " set as-path prepend {path}");
        }
        if let Some(nh) = spec.next_hop {
            let _ = writeln!(w, " set ip next-hop {nh}");
        }
        if let Some(nh) = spec.next_hop6 {
            let _ = writeln!(w, " set ipv6 next-hop global {nh}");
        }
        let _ = writeln!(w, "!");
    }
    let _ = writeln!(w, "router bgp {}", spec.asn);
    let _ = writeln!(w, " bgp router-id {router_id}");
    let _ = writeln!(w, " bgp log-neighbor-changes");
    // FRR >= 7.5 drops eBGP routes unless a policy exists.
    let _ = writeln!(w, " no bgp ebgp-requires-policy");
    // No zebra, so no RIB to check `network` statements against.
    let _ = writeln!(w, " no bgp network import-check");
    let _ = writeln!(w, " no bgp default ipv4-unicast");
    // 127/8 next hops are martians: without this, NOTIFICATION 3/8 and a reset loop.
    let _ = writeln!(w, " bgp allow-martian-nexthop");
    if spec.graceful_restart {
        let _ = writeln!(w, " bgp graceful-restart");
    }
    if let Some((restart_time, stale_time)) = spec.long_lived {
        let _ = writeln!(w, " bgp graceful-restart restart-time {restart_time}");
        let _ = writeln!(
            w,
            " bgp long-lived-graceful-restart stale-time {stale_time}"
        );
    }
    for n in &spec.neighbors {
        let p = n.address;
        let _ = writeln!(w, " neighbor {p} remote-as {}", n.asn);
        // -l only sets the listen address; connections would leave from 127.0.0.1.
        let _ = writeln!(w, " neighbor {p} update-source {}", spec.address);
        if n.port != 179 {
            let _ = writeln!(w, " neighbor {p} port {}", n.port);
        }
        let _ = writeln!(w, " neighbor {p} timers {} {}", n.keepalive(), n.hold_time);
        let _ = writeln!(w, " neighbor {p} timers connect {}", n.connect_retry);
        if let Some(pw) = &n.password {
            let _ = writeln!(w, " neighbor {p} password {pw}");
        }
        if n.passive {
            let _ = writeln!(w, " neighbor {p} passive");
        }
        if let Some(ttl) = n.ebgp_multihop {
            let _ = writeln!(w, " neighbor {p} ebgp-multihop {ttl}");
        }
        if let Some(hops) = n.ttl_security {
            let _ = writeln!(w, " neighbor {p} ttl-security hops {hops}");
        }
    }
    for fam in [Family::Ipv4, Family::Ipv6] {
        let _ = writeln!(w, " address-family {} unicast", fam.name());
        for n in spec
            .neighbors
            .iter()
            .filter(|n| n.effective_families().contains(&fam))
        {
            let _ = writeln!(w, "  neighbor {} activate", n.address);
            if !spec.export {
                let _ = writeln!(w, "  neighbor {} route-map LAB-NONE out", n.address);
            } else if rewrite {
                let _ = writeln!(w, "  neighbor {} route-map LAB-OUT out", n.address);
            }
        }
        for r in spec.routes_of(fam) {
            let _ = writeln!(w, "  network {r}");
        }
        let _ = writeln!(w, " exit-address-family");
    }
    let _ = writeln!(w, "!");
    c
}

pub(crate) fn daemon_args(spec: &RouterSpec, paths: &Paths) -> Vec<String> {
    vec![
        "-S".into(),
        "-Z".into(),
        "-l".into(),
        spec.address.to_string(),
        "-p".into(),
        spec.port.to_string(),
        "-P".into(),
        "0".into(),
        "-f".into(),
        paths.config.display().to_string(),
        "-i".into(),
        paths.dir.join("bgpd.pid").display().to_string(),
        "--vty_socket".into(),
        paths.dir.display().to_string(),
        "--log".into(),
        format!("file:{}", paths.log.display()),
        "--log-level".into(),
        "info".into(),
    ]
}

/// `bgpd -C` (dry run). It exits 0 even on bad lines, so its output is
/// checked for the complaints it prints.
pub(crate) fn check_config(paths: &Paths) -> Result<(), LabError> {
    let args: Vec<String> = vec![
        "-C".into(),
        "-S".into(),
        "-Z".into(),
        "-P".into(),
        "0".into(),
        "-p".into(),
        "0".into(),
        "-f".into(),
        paths.config.display().to_string(),
        "--log".into(),
        "stdout".into(),
    ];
    let out = crate::process::run(BGPD, &args, std::time::Duration::from_secs(20))?;
    let text = format!("{}{}", out.stdout, out.stderr);
    let bad: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("No such command") || l.contains("Unknown command") || l.contains("% ")
        })
        .collect();
    if !out.success || !bad.is_empty() {
        return Err(LabError::InvalidSpec(format!(
            "bgpd rejects the generated {}: {} {}",
            paths.config.display(),
            out.status,
            bad.join("; ")
        )));
    }
    Ok(())
}

pub(crate) fn cli_args(paths: &Paths, commands: &[&str]) -> Vec<String> {
    let mut a = vec![
        "--vty_socket".to_string(),
        paths.dir.display().to_string(),
        "-d".into(),
        "bgpd".into(),
    ];
    for c in commands {
        a.push("-c".into());
        a.push((*c).to_string());
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kind, NeighborSpec};

    #[test]
    fn config_has_the_loopback_essentials() {
        let spec = RouterSpec::new(
            Kind::Frr,
            "r1",
            "127.20.0.2".parse::<std::net::IpAddr>().unwrap(),
            4_200_000_001,
        )
        .neighbor(
            NeighborSpec::new("127.20.0.3".parse::<std::net::IpAddr>().unwrap(), 65003)
                .with_password("s3cret")
                .with_port(1179)
                .with_passive(true),
        )
        .route("10.2.0.0/24")
        .next_hop("198.51.100.2".parse().unwrap());
        let c = config(&spec, "127.20.0.2".parse().unwrap());
        for needle in [
            "router bgp 4200000001",
            "bgp allow-martian-nexthop",
            "no bgp ebgp-requires-policy",
            "no bgp network import-check",
            " neighbor 127.20.0.3 update-source 127.20.0.2",
            " neighbor 127.20.0.3 port 1179",
            " neighbor 127.20.0.3 timers 10 30",
            " neighbor 127.20.0.3 timers connect 1",
            " neighbor 127.20.0.3 password s3cret",
            " neighbor 127.20.0.3 passive",
            "  neighbor 127.20.0.3 route-map LAB-OUT out",
            " set ip next-hop 198.51.100.2",
            "  network 10.2.0.0/24",
        ] {
            assert!(c.contains(needle), "missing {needle:?} in\n{c}");
        }
        assert!(!c.contains("ipv6 next-hop"));
    }

    #[test]
    fn graceful_restart_and_prepend_reach_the_config() {
        let spec = RouterSpec::new(
            Kind::Frr,
            "r2",
            "127.20.0.2".parse::<std::net::IpAddr>().unwrap(),
            65020,
        )
        .neighbor(NeighborSpec::new(
            "127.20.0.3".parse::<std::net::IpAddr>().unwrap(),
            65003,
        ))
        .with_graceful_restart()
        .with_prepend(2);
        let c = config(&spec, "127.20.0.2".parse().unwrap());
        for needle in [
            " bgp graceful-restart",
            " set as-path prepend 65020 65020",
            "  neighbor 127.20.0.3 route-map LAB-OUT out",
        ] {
            assert!(c.contains(needle), "missing {needle:?} in\n{c}");
        }
    }

    #[test]
    fn long_lived_graceful_restart_reaches_the_config() {
        let spec = RouterSpec::new(
            Kind::Frr,
            "r3",
            "127.20.0.2".parse::<std::net::IpAddr>().unwrap(),
            65020,
        )
        .with_long_lived_stale_time(1, 30);
        let c = config(&spec, "127.20.0.2".parse().unwrap());
        for needle in [
            " bgp graceful-restart\n",
            " bgp graceful-restart restart-time 1",
            " bgp long-lived-graceful-restart stale-time 30",
        ] {
            assert!(c.contains(needle), "missing {needle:?} in\n{c}");
        }
    }

    #[test]
    fn a_receiver_exports_nothing() {
        let spec = RouterSpec::new(
            Kind::Frr,
            "r1",
            "127.20.0.2".parse::<std::net::IpAddr>().unwrap(),
            65000,
        )
        .neighbor(
            NeighborSpec::new("127.20.0.3".parse::<std::net::IpAddr>().unwrap(), 64700)
                .with_hold_time(0),
        )
        .next_hop("198.51.100.2".parse().unwrap())
        .with_export(false);
        let c = config(&spec, "127.20.0.2".parse().unwrap());
        for needle in [
            "route-map LAB-NONE deny 10",
            "  neighbor 127.20.0.3 route-map LAB-NONE out",
            " neighbor 127.20.0.3 timers 0 0",
        ] {
            assert!(c.contains(needle), "missing {needle:?} in\n{c}");
        }
        assert!(!c.contains("LAB-OUT"), "{c}");
    }
}
