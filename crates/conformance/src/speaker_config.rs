//! The configuration a speaker under test needs so that the runner can
//! reach it: a passive eBGP neighbour for the runner and one for the
//! observer, an active iBGP one for the internal scenarios, short back-offs
//! after errors (the runner resets sessions on purpose, dozens of times),
//! and on the runner's neighbour whatever security and limits the runner
//! was told to grade (GTSM, MD5, a prefix limit).

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::context::Config;

/// Implementations whose configuration `--print-config` writes.
pub const KINDS: [&str; 4] = ["bird", "frr", "gobgp", "nodebgp"];

/// One neighbour of the speaker.
struct Neighbor {
    address: IpAddr,
    asn: u32,
    name: &'static str,
    /// The speaker waits for the connection (the runner's and observer's).
    passive: bool,
    /// The runner's own neighbour, which carries GTSM, MD5 and the limit.
    runner: bool,
}

/// The configuration for `kind`, or `None` for an unknown kind.
pub fn print(kind: &str, config: &Config) -> Option<String> {
    let mut neighbors = vec![Neighbor {
        address: config.source,
        asn: config.local_as,
        name: "runner",
        passive: true,
        runner: true,
    }];
    if let Some((address, asn)) = config.observer {
        neighbors.push(Neighbor {
            address,
            asn,
            name: "observer",
            passive: true,
            runner: false,
        });
    }
    if let Some(address) = config.internal {
        neighbors.push(Neighbor {
            address,
            asn: config.target_as,
            name: "internal",
            passive: false,
            runner: false,
        });
    }
    Some(match kind.to_ascii_lowercase().as_str() {
        "bird" => bird(config, &neighbors),
        "frr" => frr(config, &neighbors),
        "gobgp" => gobgp(config, &neighbors),
        "nodebgp" => nodebgp(config, &neighbors),
        _ => return None,
    })
}

fn bird(config: &Config, neighbors: &[Neighbor]) -> String {
    let target = config.target.ip();
    let mut text = format!(
        "# BIRD 2: a protocol per neighbour; short error waits, all routes exported.\nrouter id {};\n",
        router_id(target)
    );
    for neighbor in neighbors {
        let Neighbor {
            address, asn, name, ..
        } = neighbor;
        let _ = write!(
            text,
            "protocol bgp conformance_{name} {{\n  local {target} as {};\n  neighbor {address} as {asn};\n  passive {};\n  connect retry time 1;\n  multihop;\n  hold time 90;\n  error wait time 1, 5;\n  graceful restart on;\n  enable route refresh on;\n",
            config.target_as,
            if neighbor.passive { "on" } else { "off" },
        );
        let mut limit = String::new();
        if neighbor.runner {
            if config.gtsm {
                text.push_str("  ttl security on;\n");
            }
            if let Some(password) = &config.md5_password {
                let _ = writeln!(text, "  password \"{password}\";");
            }
            if let Some(maximum) = config.max_prefix {
                limit = format!(" import limit {maximum} action restart;");
            }
        }
        let _ = writeln!(
            text,
            "  ipv4 {{ import all;{limit} export all; next hop self; }};"
        );
        if !neighbor.passive {
            text.push_str("}\n");
            continue;
        }
        // IPv6 unicast on the IPv4 session, with an IPv6 next hop to
        // give (the session has none of its own).
        let _ = writeln!(
            text,
            "  ipv6 {{ import all; export all; next hop address {IPV6_NEXT_HOP}; }};\n}}"
        );
    }
    text
}

/// The next hop of the IPv6 routes a speaker passes on over the IPv4
/// sessions (RFC 3849's documentation range: nothing is sent to it).
pub const IPV6_NEXT_HOP: &str = "2001:db8::2";

fn frr(config: &Config, neighbors: &[Neighbor]) -> String {
    let target = config.target.ip();
    let mut text = format!(
        "! FRR: eBGP without policy, next hops not checked (no zebra).\nrouter bgp {}\n bgp router-id {}\n no bgp ebgp-requires-policy\n no bgp network import-check\n bgp graceful-restart\n",
        config.target_as,
        router_id(target)
    );
    for neighbor in neighbors {
        let address = neighbor.address;
        let _ = writeln!(text, " neighbor {address} remote-as {}", neighbor.asn);
        if neighbor.passive {
            let _ = writeln!(text, " neighbor {address} passive");
        }
        if neighbor.runner && config.gtsm {
            let _ = writeln!(text, " neighbor {address} ttl-security hops 1");
        } else if neighbor.asn != config.target_as {
            let _ = writeln!(text, " neighbor {address} ebgp-multihop 2");
        }
        if let (true, Some(password)) = (neighbor.runner, &config.md5_password) {
            let _ = writeln!(text, " neighbor {address} password {password}");
        }
        let _ = writeln!(
            text,
            " neighbor {address} update-source {target}\n neighbor {address} timers connect 1"
        );
    }
    text.push_str(" address-family ipv4 unicast\n");
    for neighbor in neighbors {
        let _ = writeln!(text, "  neighbor {} activate", neighbor.address);
        if let (true, Some(maximum)) = (neighbor.runner, config.max_prefix) {
            let _ = writeln!(
                text,
                "  neighbor {} maximum-prefix {maximum} restart 1",
                neighbor.address
            );
        }
    }
    text.push_str(" exit-address-family\n address-family ipv6 unicast\n");
    for neighbor in neighbors.iter().filter(|neighbor| neighbor.passive) {
        let _ = writeln!(
            text,
            "  neighbor {0} activate\n  neighbor {0} route-map ipv6-next-hop out",
            neighbor.address
        );
    }
    let _ = write!(
        text,
        " exit-address-family\n!\n! An IPv4 session has no IPv6 next hop of its own.\nroute-map ipv6-next-hop permit 10\n set ipv6 next-hop global {IPV6_NEXT_HOP}\n"
    );
    text
}

fn gobgp(config: &Config, neighbors: &[Neighbor]) -> String {
    let target = config.target.ip();
    let mut text = format!(
        "# GoBGP (TOML)\n[global.config]\n  as = {}\n  router-id = \"{}\"\n  local-address-list = [\"{target}\"]\n",
        config.target_as,
        router_id(target)
    );
    for neighbor in neighbors {
        let _ = write!(
            text,
            "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    peer-as = {}\n",
            neighbor.address, neighbor.asn
        );
        if let (true, Some(password)) = (neighbor.runner, &config.md5_password) {
            let _ = writeln!(text, "    auth-password = \"{password}\"");
        }
        let _ = write!(
            text,
            "  [neighbors.transport.config]\n    passive-mode = {}\n    local-address = \"{target}\"\n  [neighbors.timers.config]\n    idle-hold-time-after-reset = 1\n    connect-retry = 1\n  [neighbors.graceful-restart.config]\n    enabled = true\n",
            neighbor.passive
        );
        if neighbor.runner && config.gtsm {
            text.push_str(
                "  [neighbors.ttl-security.config]\n    enabled = true\n    ttl-min = 255\n",
            );
        }
        text.push_str("  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv4-unicast\"\n    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n");
        if let (true, Some(maximum)) = (neighbor.runner, config.max_prefix) {
            let _ = writeln!(
                text,
                "    [neighbors.afi-safis.prefix-limit.config]\n      max-prefixes = {maximum}"
            );
        }
        if neighbor.passive {
            text.push_str("  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv6-unicast\"\n");
        }
    }
    text
}

fn nodebgp(config: &Config, neighbors: &[Neighbor]) -> String {
    let mut text = format!(
        "# nodebgp: apply with `nodebgp apply -f FILE`, then\n#   nodebgp run --node conformance --as {} --listen {} --error-wait 1,4 --no-fib --transit --all-families --ipv6-next-hop {}",
        config.target_as,
        config.target.ip(),
        IPV6_NEXT_HOP
    );
    if let Some(maximum) = config.max_prefix {
        let _ = write!(text, " --max-prefix {maximum} --max-prefix-restart 1");
    }
    text.push('\n');
    if config.md5_password.is_some() {
        text.push_str("# with the MD5 key in NODEBGP_CONFORMANCE_PASSWORD.\n");
    }
    text.push_str("# --transit passes the runner's routes on to the observer (a node is no\n# transit router by default); the IP pools make the scenarios' prefixes\n# (198.18.0.0/15, 2001:2::/48) exportable, as calico-node's export filter does\n# for pool routes. --all-families carries IPv6 unicast on the IPv4 sessions,\n# with a documentation address as the next hop.\n");
    text.push_str("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: conformance\nspec:\n  cidr: 198.18.0.0/15\n  disabled: false\n");
    text.push_str("---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: conformance-v6\nspec:\n  cidr: 2001:2::/48\n  disabled: false\n");
    for neighbor in neighbors {
        let _ = write!(
            text,
            "---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: conformance-{}\nspec:\n  peerIP: {}\n  asNumber: {}\n",
            neighbor.name, neighbor.address, neighbor.asn
        );
        if neighbor.runner && config.gtsm {
            text.push_str("  ttlSecurity: 1\n");
        }
        if neighbor.runner && config.md5_password.is_some() {
            text.push_str("  password:\n    env: NODEBGP_CONFORMANCE_PASSWORD\n");
        }
    }
    text
}

fn router_id(address: IpAddr) -> String {
    match address {
        IpAddr::V4(address) => address.to_string(),
        IpAddr::V6(_) => "192.0.2.254".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let mut config = Config::new(
            "127.0.0.10:179".parse().unwrap(),
            65000,
            "127.0.0.11".parse().unwrap(),
        );
        config.observer = Some(("127.0.0.12".parse().unwrap(), 65002));
        config.internal = Some("127.0.0.13".parse().unwrap());
        config.gtsm = true;
        config.md5_password = Some("secret".into());
        config.max_prefix = Some(500);
        config
    }

    #[test]
    fn security_and_limits_go_on_the_runner_neighbour_only() {
        let frr = print("frr", &config()).unwrap();
        assert!(
            frr.contains(" neighbor 127.0.0.11 ttl-security hops 1\n"),
            "{frr}"
        );
        assert!(
            frr.contains(" neighbor 127.0.0.11 password secret\n"),
            "{frr}"
        );
        assert!(
            frr.contains("  neighbor 127.0.0.11 maximum-prefix 500"),
            "{frr}"
        );
        assert!(!frr.contains("127.0.0.12 password"), "{frr}");
        assert!(!frr.contains(" neighbor 127.0.0.13 passive"), "{frr}");
        let nodebgp = print("nodebgp", &config()).unwrap();
        assert_eq!(nodebgp.matches("ttlSecurity: 1").count(), 1, "{nodebgp}");
        assert!(nodebgp.contains("--max-prefix 500"), "{nodebgp}");
        assert!(
            nodebgp.contains("peerIP: 127.0.0.13\n  asNumber: 65000"),
            "{nodebgp}"
        );
        for kind in KINDS {
            assert!(
                print(kind, &config()).unwrap().contains("127.0.0.13"),
                "{kind}"
            );
        }
        assert!(print("junos", &config()).is_none());
    }
}
