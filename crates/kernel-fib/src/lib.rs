//! nodebgp's kernel FIB: installs the best routes learned from BGP peers into
//! a Linux routing table over rtnetlink, and only ever touches its own.
//!
//! # Contract
//!
//! - **Ownership.** Every route written carries one protocol number
//!   ([`FibConfig::protocol`], by default [`DEFAULT_PROTOCOL`] = 244) and
//!   goes in one table ([`FibConfig::table`], by default `main`). Reading
//!   ([`Fib::installed`]) and removing ([`Fib::remove_all`], removals through
//!   [`Fib::apply`]) match on both, so routes of the administrator, of the
//!   kernel, of Calico's Felix or of another routing daemon are never listed,
//!   changed or removed, whatever their type. Adding never overwrites a
//!   foreign route of the same prefix and metric either, a blackhole no more
//!   than a gateway route: see [`Fib::apply`] and [`FibError::ForeignRoute`].
//! - **Routes.** A [`FibRoute`] is a prefix, a [`RouteKind`] and, for a
//!   unicast route, its gateways; two or more gateways make an ECMP route
//!   (`RTA_MULTIPATH`, IPv4 and IPv6 alike), none means "remove"
//!   ([`FibRoute::is_removal`]). Blackhole and unreachable routes
//!   (RTN_BLACKHOLE, RTN_UNREACHABLE: `blackhole 10.65.0.0/26 proto 244`, as
//!   calico-node renders for each IPAM block affine to the node) have no
//!   gateway. Without a [`device`](FibRoute::device), the kernel resolves
//!   each gateway's interface from its connected routes, and a gateway on no
//!   connected network is [`FibError::NextHopUnreachable`], never a panic.
//!   With one (`10.65.1.0/26 via 192.0.2.12 dev tunl0 onlink`, Calico's IPIP
//!   mode), the route carries that interface's index (`RTA_OIF`, and each
//!   `rtnexthop`'s) and every next hop is on-link (RTNH_F_ONLINK), so the
//!   gateway need be on no connected network; a device that does not exist
//!   is [`FibError::DeviceNotFound`], one that is down [`FibError::DeviceDown`].
//! - **Next-hop objects.** Where the kernel has them (Linux 5.3), a unicast
//!   route of one gateway goes in through a shared next-hop object of our
//!   protocol (`RTA_NH_ID`, `ip nexthop show proto 244`), one per gateway
//!   and interface, made when a route first needs it and taken over by the
//!   next run: the kernel then builds no next hop of the route's own, a
//!   third of its work on a route. The interface of a gateway without a
//!   device is the one the kernel's own lookup gives (`ip route get`). ECMP
//!   routes, blackholes, an IPv4 route through an IPv6 gateway, and every
//!   route where an object cannot be made keep their own next hops, with
//!   the errors they had; [`FibConfig::next_hop_objects`] turns objects off.
//!   Objects stay when routes go ([`Fib::remove_all`] included): removing
//!   one would remove every route through it. A route the kernel lists with
//!   its object only (`net.ipv4.nexthop_compat_mode` 0; by default it lists
//!   the gateway beside it) is read back with the gateway the object holds.
//! - **Reading back.** [`Fib::installed`] returns our routes as
//!   [`FibRoute`]s again, kind and device included, so [`diff`] of what was
//!   applied against what was read is empty: a route counts as through a
//!   device when its next hops are all on-link through one interface (the
//!   interface the kernel picked for a plain gateway route does not count).
//! - **Interfaces** are named and looked up (`RTM_GETLINK`) on the
//!   [`Fib`]'s own socket, so in its network namespace, which need not be
//!   the process's ([`Fib::open_in_namespace`]); never through the
//!   process's `if_nametoindex`. Lookups are kept for one
//!   [`Fib::apply_all`] batch or one [`Fib::installed`] listing only: a
//!   device made again gets a new index.
//! - **I/O.** [`Fib`] owns three netlink route sockets: an rtnetlink
//!   connection for interface lookups and the permission probe, run as a
//!   task on the caller's tokio runtime (current-thread runtimes work); one
//!   that lists our routes (`RTM_GETROUTE` dumps), read a datagram at a time
//!   straight into routes, so a restarted daemon reading a full table back
//!   holds one datagram of it at a time (next-hop objects are listed and
//!   gateways looked up on it too); and one that writes routes, a batch
//!   of up to 128 requests per datagram with only the last asking for an
//!   acknowledgement (the kernel answers the others only when they fail), so
//!   a full table costs one system call per batch rather than a round trip
//!   per route. All work in the network namespace of the thread that opened
//!   them.
//!   Opening needs no privilege; writing needs CAP_NET_ADMIN
//!   ([`Fib::check_permission`] finds out without changing anything).
//! - **Restart.** [`diff`] is pure: from the routes a previous run left
//!   (graceful restart keeps them) and the routes now wanted, it gives the
//!   minimal changes, which [`Fib::apply_all`] carries out; a change of
//!   kind or device is one replace (NLM_F_REPLACE), not a removal and an add.
//!
//! ```text
//!   best paths ──► diff(installed, desired) ──► Vec<FibRoute> ──► Fib::apply_all
//!                        ▲                                         │ RTM_GETLINK (device → index)
//!                        │                                         │ RTM_NEWNEXTHOP (a gateway's first route)
//!                        │                                         │ RTM_NEWROUTE (EXCL / REPLACE), batched
//!                        │                                         │ RTM_DELROUTE (our protocol)
//!                 Fib::installed ◄── RTM_GETROUTE dump ◄─── kernel table N, proto 244
//!                        ▲         (filtered by table and protocol)
//!                        └── RTM_GETLINK (on-link interface index → device name)
//! ```
//!
//! # Checking by hand
//!
//! ```sh
//! ip route show table all proto 244        # nodebgp's IPv4 routes, every table
//! ip -6 route show table all proto 244     # and IPv6
//! ip -j route show table all proto 244     # as JSON, as the tests read them
//! ip route show table all proto 244 type blackhole   # only the blackholes
//! ip -d link show tunl0                    # the device an onlink route goes through
//! ip nexthop show proto 244                # the next-hop objects our routes go through
//! ```
//!
//! `cargo run -p kernel-fib --example fib -- show` prints what [`Fib::installed`]
//! returns; the example's doc shows how to try it in a throw-away network namespace.

mod decode;
mod encode;
mod error;
mod fib;
mod kernel_abi;
mod link;
mod message;
mod route;

pub use error::{FibError, NetlinkError};
pub use fib::{Fib, FibConfig, Ownership, DEFAULT_METRIC, DEFAULT_PROTOCOL, DEFAULT_TABLE};
pub use route::{diff, ApplySummary, FibRoute, RouteKind};
