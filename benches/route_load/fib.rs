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

use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

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
        ip(step)?;
    }
    Ok(())
}

/// Routing protocol numbers of the receivers' kernel routes: BIRD's (12,
/// `proto bird`) and nodebgp's (244).
const RECEIVER_PROTOCOLS: [u8; 2] = [12, 244];

/// Removes every receiver's routes from this namespace's kernel: a receiver
/// stopped by the harness (killed, as a crash would) leaves its routes
/// behind, and the next would find them there (nodebgp keeps what a previous
/// run left, as after a restart, and installs nothing new).
pub(crate) fn flush_receiver_routes() -> Result<(), String> {
    // Next-hop objects first, which takes the routes through them along:
    // iproute2 (6.1) cannot flush those itself, echoing each route back with
    // both its object and its gateway, which the kernel refuses (EINVAL).
    for protocol in RECEIVER_PROTOCOLS {
        ip(&["nexthop", "flush", "proto", &protocol.to_string()])?;
    }
    for family in ["-4", "-6"] {
        for protocol in RECEIVER_PROTOCOLS {
            let protocol = protocol.to_string();
            ip(&[family, "route", "flush", "table", "all", "proto", &protocol])?;
        }
    }
    Ok(())
}

/// Runs `ip ARGUMENTS`; its stderr is the error when it fails.
fn ip(arguments: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(arguments)
        .output()
        .map_err(|error| format!("ip: {error} (package iproute2)"))?;
    if !output.status.success() {
        return Err(format!(
            "ip {}: {}",
            arguments.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(())
}

/// rtnetlink multicast groups of route changes (`RTMGRP_IPV4_ROUTE`,
/// `RTMGRP_IPV6_ROUTE`, linux/rtnetlink.h).
const ROUTE_GROUPS: u32 = 0x40 | 0x400;

/// `RTM_DELROUTE`: a route left the kernel.
const ROUTE_REMOVED: u16 = 25;

/// A thread that watches the kernel until stopped, then gives what it saw.
/// Dropped without [`Watch::stop`] (its run failed), it ends all the same.
pub(crate) struct Watch {
    running: Arc<AtomicBool>,
    /// `None` once stopped.
    reader: Option<JoinHandle<Result<u64, String>>>,
    what: &'static str,
}

impl Watch {
    /// Runs `watch` on a thread of its own; it returns once the flag it is
    /// given turns false.
    fn spawn(
        what: &'static str,
        watch: impl FnOnce(&AtomicBool) -> Result<u64, String> + Send + 'static,
    ) -> Watch {
        let running = Arc::new(AtomicBool::new(true));
        let reader = {
            let running = Arc::clone(&running);
            thread::spawn(move || watch(&running))
        };
        Watch {
            running,
            reader: Some(reader),
            what,
        }
    }

    /// Stops watching: what the thread saw.
    pub(crate) fn stop(mut self) -> Result<u64, String> {
        self.running.store(false, Ordering::Release);
        let what = self.what;
        self.reader
            .take()
            .ok_or_else(|| format!("the {what} was stopped before"))?
            .join()
            .map_err(|_| format!("the {what} panicked"))?
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.running.store(false, Ordering::Release);
    }
}

/// Reads the kernel's count of `family` routes every `every` until stopped:
/// the fewest it saw.
pub(crate) fn fewest_routes(family: Family, every: std::time::Duration) -> Watch {
    Watch::spawn("kernel route count watcher", move |running| {
        let mut fewest = u64::MAX;
        loop {
            let reading = std::time::Instant::now();
            fewest = fewest.min(kernel_routes(family)?);
            if !running.load(Ordering::Acquire) {
                return Ok(fewest);
            }
            // A reading walks the kernel's table (over 100 ms with a
            // million routes here): paced by its cost, the watcher takes at
            // most half a core from the receiver.
            thread::sleep(every.max(reading.elapsed()));
        }
    })
}

/// Counts the receivers' routes (protocols 12 and 244) the kernel of this
/// namespace removes, from its own rtnetlink notifications: each removal is
/// a moment its prefix had no route. (A route replaced in place,
/// NLM_F_REPLACE, never leaves and is no removal.) The socket's buffer is
/// large enough for a table's worth of notifications; if the kernel still
/// drops some (ENOBUFS), stopping says so instead of giving a count. Every
/// removal from its return on is counted.
pub(crate) fn count_removals() -> Result<Watch, String> {
    use nix::sys::socket::{
        self, sockopt, AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType,
    };
    let fd = socket::socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )
    .map_err(|error| format!("netlink socket: {error}"))?;
    socket::setsockopt(&fd, sockopt::RcvBufForce, &(256 << 20))
        .map_err(|error| format!("netlink receive buffer: {error}"))?;
    socket::setsockopt(
        &fd,
        sockopt::ReceiveTimeout,
        &nix::sys::time::TimeVal::new(0, 100_000),
    )
    .map_err(|error| format!("netlink receive timeout: {error}"))?;
    socket::bind(fd.as_raw_fd(), &NetlinkAddr::new(0, ROUTE_GROUPS))
        .map_err(|error| format!("netlink bind: {error}"))?;
    Ok(Watch::spawn("route removal counter", move |running| {
        let mut buffer = vec![0_u8; 256 * 1024];
        let mut removed = 0;
        while running.load(Ordering::Acquire) {
            match socket::recv(fd.as_raw_fd(), &mut buffer, socket::MsgFlags::empty()) {
                Ok(length) => removed += receiver_routes_removed(&buffer[..length]),
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {}
                Err(nix::errno::Errno::ENOBUFS) => {
                    return Err("route notifications were lost (ENOBUFS)".to_owned())
                }
                Err(error) => return Err(format!("netlink recv: {error}")),
            }
        }
        Ok(removed)
    }))
}

/// The `RTM_DELROUTE` messages of protocol 12 or 244 in one datagram of
/// netlink messages (each a 16-octet header, its length first, then for a
/// route an `rtmsg` whose sixth octet is the protocol).
fn receiver_routes_removed(datagram: &[u8]) -> u64 {
    let mut removed = 0;
    let mut rest = datagram;
    while rest.len() >= 16 {
        let length = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = u16::from_ne_bytes([rest[4], rest[5]]);
        if length < 16 || length > rest.len() {
            break;
        }
        let protocol = rest.get(16 + 5).copied();
        if kind == ROUTE_REMOVED
            && protocol.is_some_and(|protocol| RECEIVER_PROTOCOLS.contains(&protocol))
        {
            removed += 1;
        }
        // Each message starts on a 4-octet boundary.
        rest = rest.get(length.next_multiple_of(4)..).unwrap_or_default();
    }
    removed
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

    /// A netlink message header and an `rtmsg` of `protocol`.
    fn route_message(kind: u16, protocol: u8) -> Vec<u8> {
        let mut message = Vec::new();
        message.extend_from_slice(&28_u32.to_ne_bytes());
        message.extend_from_slice(&kind.to_ne_bytes());
        message.extend_from_slice(&[0; 10]);
        message.extend_from_slice(&[2, 24, 0, 0, 254, protocol, 0, 1]);
        message.extend_from_slice(&[0; 4]);
        message
    }

    #[test]
    fn only_the_receivers_removed_routes_are_counted() {
        let mut datagram = route_message(ROUTE_REMOVED, 244);
        datagram.extend(route_message(ROUTE_REMOVED, 12));
        datagram.extend(route_message(24, 244)); // a new route
        datagram.extend(route_message(ROUTE_REMOVED, 2)); // the kernel's own
        datagram.extend(&[1, 2, 3]); // a cut-off tail
        assert_eq!(receiver_routes_removed(&datagram), 2);
        assert_eq!(receiver_routes_removed(&[]), 0);
    }

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
