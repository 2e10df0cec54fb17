//! `--fib`: the receivers install what they learn into the kernel, and the
//! clock runs until the kernel holds it all.
//!
//! route-load first moves itself into a network namespace of its own
//! (unshare(2), before any thread or receiver starts, so that all of them
//! live there and the namespace goes away with the process): its loopback
//! up, and a veth pair whose end `v0` holds 192.0.2.254/24 and
//! 2001:db8::fe/64, the networks of the synthetic table's next hops
//! (192.0.2.1-4, 2001:db8::1-4), so that every route resolves directly.
//! The host's tables are never touched.
//!
//! The kernel's count of routes is read from `/proc/net/fib_triestat` (IPv4:
//! the prefixes of the main trie, which also holds the local table's until
//! policy rules split them) and `/proc/net/rt6_stats` (IPv6: route entries),
//! counters the kernel keeps, so polling them does not dump a million routes;
//! a run compares them with their value before the load.

use std::process::Command;

use bgp_wire::Family;

/// Moves this process into a new network namespace with the next hops'
/// networks on a veth pair. Must run before any other thread starts: a
/// namespace is per thread, and threads and children inherit the one of
/// their creator.
pub(crate) fn enter_namespace() -> Result<(), String> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(|error| {
        format!("--fib needs its own network namespace (unshare: {error}); run as root")
    })?;
    // No IPv6 link-local addresses: the kernel would add them (and their
    // routes) a moment after the links come up, in the middle of a count.
    let steps: [&[&str]; 8] = [
        &["link", "set", "lo", "up"],
        &["link", "add", "v0", "type", "veth", "peer", "name", "v1"],
        &["link", "set", "v0", "addrgenmode", "none"],
        &["link", "set", "v1", "addrgenmode", "none"],
        &["address", "add", "192.0.2.254/24", "dev", "v0"],
        &["address", "add", "2001:db8::fe/64", "dev", "v0", "nodad"],
        &["link", "set", "v1", "up"],
        &["link", "set", "v0", "up"],
    ];
    for step in steps {
        let output = Command::new("ip")
            .args(step)
            .output()
            .map_err(|error| format!("ip: {error} (package iproute2)"))?;
        if !output.status.success() {
            return Err(format!(
                "ip {}: {}",
                step.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
    }
    Ok(())
}

/// Routing protocol numbers of the receivers' kernel routes: BIRD's (12,
/// `proto bird`) and nodebgp's (244).
const RECEIVER_PROTOCOLS: [&str; 2] = ["12", "244"];

/// Removes every receiver's routes from this namespace's kernel: a receiver
/// stopped by the harness (killed, as a crash would) leaves its routes
/// behind, and the next would find them there (nodebgp keeps what a previous
/// run left, as after a restart, and installs nothing new).
pub(crate) fn flush_receiver_routes() -> Result<(), String> {
    for family in ["-4", "-6"] {
        for protocol in RECEIVER_PROTOCOLS {
            let output = Command::new("ip")
                .args([family, "route", "flush", "table", "all", "proto", protocol])
                .output()
                .map_err(|error| format!("ip: {error}"))?;
            if !output.status.success() {
                return Err(format!(
                    "ip {family} route flush proto {protocol}: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
            }
        }
    }
    Ok(())
}

/// The routes the kernel of this namespace holds for `family`, every table
/// and type together (compare with a count taken before the load).
pub(crate) fn kernel_routes(family: Family) -> Result<u64, String> {
    if family == Family::IPV6_UNICAST {
        let text = read("/proc/net/rt6_stats")?;
        ipv6_route_entries(&text).ok_or_else(|| format!("unreadable /proc/net/rt6_stats: {text}"))
    } else {
        let text = read("/proc/net/fib_triestat")?;
        main_trie_prefixes(&text)
            .ok_or_else(|| "no Main: Prefixes in /proc/net/fib_triestat".to_owned())
    }
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|error| format!("{path}: {error}"))
}

/// `Prefixes:` of the `Main:` section of `/proc/net/fib_triestat`.
fn main_trie_prefixes(text: &str) -> Option<u64> {
    let main = text.split("Main:").nth(1)?;
    let line = main
        .lines()
        .find(|line| line.trim_start().starts_with("Prefixes:"))?;
    line.trim_start()
        .strip_prefix("Prefixes:")?
        .trim()
        .parse()
        .ok()
}

/// The fourth field of `/proc/net/rt6_stats` (hexadecimal): route entries in
/// the FIB (fib6 nodes, route nodes, allocated, entries, cached, dst
/// entries, discarded).
fn ipv6_route_entries(text: &str) -> Option<u64> {
    let field = text.split_whitespace().nth(3)?;
    u64::from_str_radix(field, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_from_the_kernel_formats() {
        let trie = "Basic info: size of leaf: 48 bytes, size of tnode: 40 bytes.\n\
                    Main:\n\tAver depth:     2.42\n\tMax depth:      3\n\tLeaves:         7\n\
                    \tPrefixes:       1000012\n\tInternal nodes: 5\nLocal:\n\tPrefixes:       9\n";
        assert_eq!(main_trie_prefixes(trie), Some(1_000_012));
        assert_eq!(main_trie_prefixes("Local:\n\tPrefixes: 9\n"), None);
        assert_eq!(
            ipv6_route_entries("0009 0006 000a 30d47 0000 0000 0000\n"),
            Some(0x30d47)
        );
        assert_eq!(ipv6_route_entries("0009 0006\n"), None);
    }
}
