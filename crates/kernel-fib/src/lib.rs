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
//!   changed or removed. Adding never overwrites a foreign route of the same
//!   prefix and metric either: see [`Fib::apply`] and [`FibError::ForeignRoute`].
//! - **Routes.** A [`FibRoute`] is a prefix and its gateways; two or more
//!   gateways make an ECMP route (`RTA_MULTIPATH`, IPv4 and IPv6 alike), none
//!   means "remove". The kernel resolves each gateway's interface from its
//!   connected routes; a gateway on no connected network is
//!   [`FibError::NextHopUnreachable`], never a panic.
//! - **I/O.** [`Fib`] owns one netlink route socket, whose connection runs as
//!   a task on the caller's tokio runtime (current-thread runtimes work). The
//!   socket works in the network namespace of the thread that opened it.
//!   Opening needs no privilege; writing needs CAP_NET_ADMIN
//!   ([`Fib::check_permission`] finds out without changing anything).
//! - **Restart.** [`diff`] is pure: from the routes a previous run left
//!   (graceful restart keeps them) and the routes now wanted, it gives the
//!   minimal changes, which [`Fib::apply_all`] carries out.
//!
//! ```text
//!   best paths ──► diff(installed, desired) ──► Vec<FibRoute> ──► Fib::apply_all
//!                        ▲                                         │ RTM_NEWROUTE (EXCL / REPLACE)
//!                        │                                         │ RTM_DELROUTE (our protocol)
//!                 Fib::installed ◄── RTM_GETROUTE dump ◄─── kernel table N, proto 244
//!                                  (filtered by table and protocol)
//! ```
//!
//! # Checking by hand
//!
//! ```sh
//! ip route show table all proto 244        # nodebgp's IPv4 routes, every table
//! ip -6 route show table all proto 244     # and IPv6
//! ip -j route show table all proto 244     # as JSON, as the tests read them
//! ```
//!
//! `cargo run -p kernel-fib --example fib -- show` prints what [`Fib::installed`]
//! returns; the example's doc shows how to try it in a throw-away network namespace.

mod error;
mod fib;
mod message;
mod route;

pub use error::{FibError, NetlinkError};
pub use fib::{Fib, FibConfig, DEFAULT_METRIC, DEFAULT_PROTOCOL, DEFAULT_TABLE};
pub use route::{diff, ApplySummary, FibRoute};
