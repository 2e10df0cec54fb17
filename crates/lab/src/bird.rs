//! BIRD 2 (`bird -f -c bird.conf -s DIR/bird.ctl -P DIR/bird.pid`), in the
//! foreground, queried with `birdc -s DIR/bird.ctl`.
//!
//! Config notes for loopback sessions:
//! - BGP protocols are named `p1`, `p2`, … in neighbor order.
//! - `lo` is an "Ignored" interface for BIRD, so a direct eBGP session to a
//!   127.x neighbor fails with "Invalid remote address": eBGP gets `multihop`.
//! - Multihop means recursive next-hop resolution, which fails without an
//!   IGP route (routes would be "unreachable"). A private table `igp4`/`igp6`
//!   with a blackhole default route, used as `igp table` and never exported,
//!   resolves them.
//! - `strict bind yes`, else BIRD listens on the wildcard address.
//! - `connect delay time` defaults to 5 s: set to 1.
//! - There is no `protocol kernel` (nothing reaches the kernel FIB) unless
//!   [`RouterSpec::kernel`] asks for one; then `protocol direct` also puts
//!   the connected networks in `igp4`/`igp6`, so that a next hop on one of
//!   them resolves to itself on that interface rather than to the blackhole.
//! - BIRD only listens while at least one BGP protocol is configured.
//! - Originated prefixes are static blackhole routes in `static4.conf` /
//!   `static6.conf`, pulled in with `include` (which must start a line).

use crate::router::Paths;
use crate::spec::{Family, RouterSpec};
use crate::LabError;
use std::fmt::Write;
use std::net::Ipv4Addr;

pub(crate) const BIRD: &str = "/usr/sbin/bird";
pub(crate) const BIRDC: &str = "/usr/sbin/birdc";

pub(crate) fn protocol_name(index: usize) -> String {
    format!("p{}", index + 1)
}

/// Contents of `static4.conf` or `static6.conf`.
pub(crate) fn static_routes(spec: &RouterSpec, fam: Family) -> String {
    let mut s = String::new();
    for r in spec.routes_of(fam) {
        let _ = writeln!(s, "route {r} blackhole;");
    }
    s
}

pub(crate) fn static_file(paths: &Paths, fam: Family) -> std::path::PathBuf {
    paths.dir.join(format!("static{}.conf", &fam.name()[3..]))
}

/// The generated `bird.conf`.
pub(crate) fn config(spec: &RouterSpec, router_id: Ipv4Addr, paths: &Paths) -> String {
    let mut c = String::new();
    let w = &mut c;
    let _ = writeln!(w, "log \"{}\" all;", paths.log.display());
    let _ = writeln!(w, "router id {router_id};");
    // State changes and session events in the log (for log_tail); not routes.
    let _ = writeln!(w, "debug protocols {{ states, events }};");
    let _ = writeln!(w, "protocol device {{ scan time 60; }}");
    for fam in [Family::Ipv4, Family::Ipv6] {
        let v = &fam.name()[3..];
        let _ = writeln!(w, "protocol static orig{v} {{ {};", fam.name());
        let _ = writeln!(w, "include \"{}\";", static_file(paths, fam).display());
        let _ = writeln!(w, "}}");
    }
    let _ = writeln!(w, "ipv4 table igp4;");
    let _ = writeln!(w, "ipv6 table igp6;");
    let _ = writeln!(
        w,
        "protocol static igp4s {{ ipv4 {{ table igp4; }}; route 0.0.0.0/0 blackhole; }}"
    );
    let _ = writeln!(
        w,
        "protocol static igp6s {{ ipv6 {{ table igp6; }}; route ::/0 blackhole; }}"
    );
    if spec.kernel {
        let _ = writeln!(
            w,
            "protocol direct {{ ipv4 {{ table igp4; }}; ipv6 {{ table igp6; }}; }}"
        );
        for fam in [Family::Ipv4, Family::Ipv6] {
            let v = &fam.name()[3..];
            // With graceful restart the kernel protocol keeps its routes
            // through `birdc graceful restart` and, started again with
            // `-R`, syncs the kernel only once BGP has recovered.
            let graceful = if spec.graceful_restart {
                " graceful restart on;"
            } else {
                ""
            };
            let _ = writeln!(
                w,
                "protocol kernel kernel{v} {{ {} {{ export all; }};{graceful} }}",
                fam.name()
            );
        }
    }
    let _ = writeln!(w, "filter lab_out {{");
    if let Some(nh) = spec.next_hop {
        let _ = writeln!(w, "  if net.type = NET_IP4 then bgp_next_hop = {nh};");
    }
    if let Some(nh) = spec.next_hop6 {
        let _ = writeln!(w, "  if net.type = NET_IP6 then bgp_next_hop = {nh};");
    }
    let _ = writeln!(w, "  if source ~ [RTS_BGP, RTS_STATIC] then accept;");
    let _ = writeln!(w, "  reject;");
    let _ = writeln!(w, "}}");
    for (i, n) in spec.neighbors.iter().enumerate() {
        let _ = writeln!(w, "protocol bgp {} {{", protocol_name(i));
        let _ = writeln!(w, "  description \"{}\";", n.address);
        let _ = writeln!(
            w,
            "  local {} port {} as {};",
            spec.address, spec.port, spec.asn
        );
        let _ = writeln!(w, "  neighbor {} port {} as {};", n.address, n.port, n.asn);
        let _ = writeln!(w, "  strict bind yes;");
        match (n.ttl_security, n.ebgp_multihop) {
            // GTSM (RFC 5082): BIRD sends with TTL 255 and accepts no less
            // than 256 minus the hop count.
            (Some(hops), _) => {
                let _ = writeln!(w, "  multihop {hops};");
                let _ = writeln!(w, "  ttl security on;");
            }
            (None, Some(ttl)) => {
                let _ = writeln!(w, "  multihop {ttl};");
            }
            (None, None) if n.asn != spec.asn => {
                let _ = writeln!(w, "  multihop;");
            }
            (None, None) => {}
        }
        // BIRD takes hold time 0 (no keepalives) but no keepalive time 0.
        if n.hold_time == 0 {
            let _ = writeln!(w, "  hold time 0;");
        } else {
            let _ = writeln!(
                w,
                "  hold time {}; keepalive time {};",
                n.hold_time,
                n.keepalive()
            );
        }
        let _ = writeln!(
            w,
            "  connect delay time 1; connect retry time {}; error wait time 1, 10;",
            n.connect_retry
        );
        if let Some(pw) = &n.password {
            let _ = writeln!(w, "  password \"{pw}\";");
        }
        if n.passive {
            let _ = writeln!(w, "  passive on;");
        }
        if spec.graceful_restart {
            let _ = writeln!(w, "  graceful restart on;");
        }
        for f in n.effective_families() {
            let v = &f.name()[3..];
            let export = if spec.export {
                "filter lab_out"
            } else {
                "none"
            };
            let _ = writeln!(
                w,
                "  {} {{ import all; export {export}; igp table igp{v}; }};",
                f.name()
            );
        }
        let _ = writeln!(w, "}}");
    }
    c
}

/// `recovering`: started after `birdc graceful restart`, BIRD runs graceful
/// restart recovery (`-R`): the routes it left in the kernel stay until its
/// peers have sent their tables again.
pub(crate) fn daemon_args(paths: &Paths, recovering: bool) -> Vec<String> {
    let mut args = vec![
        "-f".into(),
        "-c".into(),
        paths.config.display().to_string(),
        "-s".into(),
        paths.control.display().to_string(),
        "-P".into(),
        paths.dir.join("bird.pid").display().to_string(),
    ];
    if recovering {
        args.push("-R".into());
    }
    args
}

/// `bird -p` (parse only).
pub(crate) fn check_config(paths: &Paths) -> Result<(), LabError> {
    let args = vec!["-p".into(), "-c".into(), paths.config.display().to_string()];
    crate::process::check_config(BIRD, "bird", &args, &paths.config)
}

pub(crate) fn cli_args(paths: &Paths, args: &[&str]) -> Vec<String> {
    let mut a = vec!["-s".to_string(), paths.control.display().to_string()];
    a.extend(args.iter().map(|s| (*s).to_string()));
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kind, NeighborSpec};
    use std::path::PathBuf;

    #[test]
    fn config_has_multihop_and_igp_table() {
        let spec = RouterSpec::new(
            Kind::Bird,
            "b1",
            "127.20.0.4".parse::<std::net::IpAddr>().unwrap(),
            4_200_000_004,
        )
        .neighbor(
            NeighborSpec::new(
                "127.20.0.2".parse::<std::net::IpAddr>().unwrap(),
                4_200_000_001,
            )
            .with_password("pw"),
        )
        .neighbor(
            NeighborSpec::new(
                "127.20.0.5".parse::<std::net::IpAddr>().unwrap(),
                4_200_000_004,
            )
            .with_passive(true),
        )
        .route("10.4.0.0/24")
        .next_hop("198.51.100.4".parse().unwrap());
        let paths = Paths::new(PathBuf::from("/x"), Kind::Bird);
        let c = config(&spec, "127.20.0.4".parse().unwrap(), &paths);
        for needle in [
            "protocol bgp p1 {",
            "local 127.20.0.4 port 179 as 4200000004;",
            "neighbor 127.20.0.2 port 179 as 4200000001;",
            "  multihop;",
            "strict bind yes;",
            "password \"pw\";",
            "passive on;",
            "igp table igp4;",
            "bgp_next_hop = 198.51.100.4;",
            "\ninclude \"/x/static4.conf\";",
        ] {
            assert!(c.contains(needle), "missing {needle:?} in\n{c}");
        }
        // iBGP (p2) gets no explicit multihop.
        let p2 = &c[c.find("protocol bgp p2").unwrap()..];
        assert!(!p2.contains("multihop"));
        assert_eq!(
            static_routes(&spec, Family::Ipv4),
            "route 10.4.0.0/24 blackhole;\n"
        );
    }

    #[test]
    fn a_receiver_exports_nothing_and_may_run_without_hold_timer() {
        let spec = RouterSpec::new(
            Kind::Bird,
            "b1",
            "127.20.0.4".parse::<std::net::IpAddr>().unwrap(),
            65000,
        )
        .neighbor(
            NeighborSpec::new("127.20.0.2".parse::<std::net::IpAddr>().unwrap(), 64700)
                .with_hold_time(0),
        )
        .with_export(false);
        let paths = Paths::new(PathBuf::from("/x"), Kind::Bird);
        let c = config(&spec, "127.20.0.4".parse().unwrap(), &paths);
        assert!(c.contains("  hold time 0;\n"), "{c}");
        // BIRD rejects `keepalive time 0`.
        assert!(!c.contains("keepalive time"), "{c}");
        assert!(
            c.contains("ipv4 { import all; export none; igp table igp4; };"),
            "{c}"
        );
        assert!(!c.contains("export filter"), "{c}");
        assert!(!c.contains("protocol kernel"), "{c}");
    }

    #[test]
    fn a_kernel_router_exports_to_the_kernel_and_resolves_over_connected_networks() {
        let spec = RouterSpec::new(
            Kind::Bird,
            "b1",
            "127.20.0.4".parse::<std::net::IpAddr>().unwrap(),
            65000,
        )
        .neighbor(NeighborSpec::new(
            "127.20.0.2".parse::<std::net::IpAddr>().unwrap(),
            64700,
        ))
        .with_export(false)
        .with_kernel(true);
        spec.validate().unwrap();
        let paths = Paths::new(PathBuf::from("/x"), Kind::Bird);
        let c = config(&spec, "127.20.0.4".parse().unwrap(), &paths);
        for needle in [
            "protocol direct { ipv4 { table igp4; }; ipv6 { table igp6; }; }",
            "protocol kernel kernel4 { ipv4 { export all; }; }",
            "protocol kernel kernel6 { ipv6 { export all; }; }",
        ] {
            assert!(c.contains(needle), "missing {needle:?} in\n{c}");
        }
        let graceful = config(
            &spec.clone().with_graceful_restart(),
            "127.20.0.4".parse().unwrap(),
            &paths,
        );
        assert!(
            graceful
                .contains("protocol kernel kernel4 { ipv4 { export all; }; graceful restart on; }"),
            "{graceful}"
        );
        let frr = RouterSpec::new(
            Kind::Frr,
            "f1",
            "127.20.0.4".parse::<std::net::IpAddr>().unwrap(),
            65000,
        )
        .with_kernel(true);
        assert!(frr.validate().is_err(), "FRR runs without zebra here");
    }
}
