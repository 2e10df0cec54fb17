//! # lab: real BGP daemons for nodebgp's interop tests and benchmarks
//!
//! This crate starts, configures, queries and stops FRR (`bgpd` + `vtysh`),
//! GoBGP (`gobgpd` + `gobgp`) and BIRD 2 (`bird` + `birdc`) from the Debian
//! packages `frr`, `gobgpd` and `bird2`. Each [`Router`] gets:
//!
//! - its own run directory (`$NODEBGP_LAB_DIR` or `<temp>/nodebgp-lab`, then
//!   `<name>-<pid>-<n>`) holding the generated config, logs and control socket;
//! - its own listen address and port (see [`free_loopback_address`] and
//!   [`free_port`] for collision-free allocation between parallel tests);
//! - a child process owned by the harness. The daemon runs in the foreground
//!   as a direct child, so its pid is exactly the one we signal; nothing else
//!   is ever signalled.
//!
//! Dropping a [`Router`] (also while a test panics) sends SIGTERM, waits a few
//! seconds, then SIGKILL, and reaps the process. Daemons are started through
//! `setpriv --pdeathsig KILL` from a long-lived helper thread, so they also die
//! when the test process itself is killed before it can run destructors.
//!
//! Besides routers: [`Etcd`] runs a real etcd for the datastore tests
//! ([`Etcd::stop`] and [`Etcd::restart`] make an outage), and
//! [`socket_count`] and [`rss_kib`] read `/proc` for leak checks on any
//! process (the soak test watches nodebgp with them).
//!
//! ```no_run
//! use lab::{Kind, NeighborSpec, PeerState, Router, RouterSpec};
//! use std::time::Duration;
//!
//! lab::require(Kind::Frr);
//! lab::require(Kind::Gobgp);
//! let a = lab::free_loopback_address().unwrap();
//! let b = lab::free_loopback_address().unwrap();
//! let frr = Router::start(
//!     RouterSpec::new(Kind::Frr, "r1", a, 4_200_000_001)
//!         .neighbor(NeighborSpec::new(b, 65003))
//!         .route("10.2.0.0/24")
//!         .next_hop("198.51.100.2".parse().unwrap()),
//! )
//! .unwrap();
//! let gobgp = Router::start(
//!     RouterSpec::new(Kind::Gobgp, "g1", b, 65003).neighbor(NeighborSpec::new(a, 4_200_000_001)),
//! )
//! .unwrap();
//! frr.wait_for_state(b.into(), PeerState::Established, Duration::from_secs(20)).unwrap();
//! gobgp.wait_for_prefixes(a.into(), &["10.2.0.0/24"], Duration::from_secs(10)).unwrap();
//! ```
//!
//! ## What the generated configs take care of
//! - FRR runs as root with `-S` (else `privs_init` aborts) and without zebra
//!   (`-Z`); it needs `no bgp ebgp-requires-policy`, `no bgp network
//!   import-check`, `bgp allow-martian-nexthop` (127/8 next hops would reset
//!   the session), `update-source` and `timers connect` (the default retry
//!   is 120 s).
//! - BIRD needs `multihop` for eBGP over `lo`, a private IGP table to resolve
//!   next hops, `strict bind yes` and `connect delay time 1`.
//! - GoBGP gets a unix-socket API and no pprof, so instances never clash, and
//!   `idle-hold-time-after-reset` equal to the connect-retry time.
//!
//! ## What tests must take care of
//! - GoBGP 3.10 treats an IPv4 next hop in 127/8 as withdraw: whoever sends
//!   to GoBGP on loopback must rewrite it ([`RouterSpec::next_hop`], e.g.
//!   198.51.100.x). nodebgp must do the same towards GoBGP.
//! - On ::1 every daemon needs its own port ([`free_port`]), a daemon can
//!   have only one ::1 neighbor, and IPv6 next hops must be rewritten (FRR
//!   drops a ::1 next hop, BIRD refuses to send one equal to the neighbor's
//!   address), e.g. to 2001:db8:ffff::x.
//! - TCP-MD5 mismatches are silent: segments are dropped by the kernel and
//!   the sessions stay in Connect/Active; no daemon reports an error.
//!
//! ## Environment
//! - `NODEBGP_LAB_DIR`: root of run directories and address claims (default
//!   `<temp dir>/nodebgp-lab`; must be short, unix socket paths live there).
//! - `NODEBGP_LAB_KEEP`: keep run directories after a successful drop.

mod addr;
mod bird;
mod error;
mod etcd;
mod frr;
mod gobgp;
mod parse;
mod process;
mod router;
mod spec;
pub mod tls;

pub use addr::{free_loopback_address, free_port};
pub use error::LabError;
pub use etcd::{Etcd, ETCD_BINARY};
pub use process::{rss_kib, socket_count};
pub use router::Router;
pub use spec::{Family, NeighborSpec, RouterSpec};

use std::fmt;
use std::path::Path;

/// Which BGP implementation a [`Router`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// FRRouting `bgpd` (no zebra), queried with `vtysh`.
    Frr,
    /// GoBGP `gobgpd`, queried with the `gobgp` CLI over a unix-socket gRPC API.
    Gobgp,
    /// BIRD 2 `bird`, queried with `birdc`.
    Bird,
}

impl Kind {
    /// All kinds, in a fixed order.
    pub const ALL: [Kind; 3] = [Kind::Frr, Kind::Gobgp, Kind::Bird];

    /// The Debian package providing this daemon.
    pub fn package(self) -> &'static str {
        match self {
            Kind::Frr => "frr",
            Kind::Gobgp => "gobgpd",
            Kind::Bird => "bird2",
        }
    }

    /// Absolute paths of the daemon and its CLI.
    pub fn binaries(self) -> [&'static str; 2] {
        match self {
            Kind::Frr => [frr::BGPD, frr::VTYSH],
            Kind::Gobgp => [gobgp::GOBGPD, gobgp::GOBGP],
            Kind::Bird => [bird::BIRD, bird::BIRDC],
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Frr => "FRR",
            Kind::Gobgp => "GoBGP",
            Kind::Bird => "BIRD",
        })
    }
}

/// A BGP session state as reported by a daemon, normalised to RFC 4271 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerState {
    /// The daemon does not know this neighbor.
    NotConfigured,
    /// The daemon process is not running (exited, killed or stopped).
    NotRunning,
    /// Idle (also FRR's Clearing/Deleted and BIRD's Down).
    Idle,
    /// Connect.
    Connect,
    /// Active.
    Active,
    /// OpenSent.
    OpenSent,
    /// OpenConfirm.
    OpenConfirm,
    /// Established.
    Established,
}

impl PeerState {
    /// Parses a daemon's state word (case-insensitive); unknown words map to
    /// `Idle`.
    pub fn from_word(word: &str) -> PeerState {
        match word.trim().to_ascii_lowercase().as_str() {
            "connect" => PeerState::Connect,
            "active" => PeerState::Active,
            "opensent" => PeerState::OpenSent,
            "openconfirm" => PeerState::OpenConfirm,
            "established" => PeerState::Established,
            _ => PeerState::Idle,
        }
    }
}

impl fmt::Display for PeerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Whether every binary of `kind` is installed.
pub fn available(kind: Kind) -> bool {
    kind.binaries().iter().all(|b| is_executable(Path::new(b)))
}

/// The environment variable naming the file [`skip`] appends to.
pub const SKIP_LOG_VARIABLE: &str = "NODEBGP_SKIP_LOG";

/// For tests that cannot run here (no vectors, no network namespaces):
/// says so on stderr and, when `NODEBGP_SKIP_LOG` names a file, appends
/// `test: reason` to it (the test's name is its thread's, as the test
/// harnesses name them), so that the run's summary counts the skips a
/// passing test would otherwise hide (`scripts/test.sh` prints them, and
/// fails with `NODEBGP_NO_SKIPS=1`).
pub fn skip(reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    eprintln!("SKIP: {test}: {reason}");
    if let Some(path) = std::env::var_os(SKIP_LOG_VARIABLE) {
        use std::io::Write as _;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            // One short write per line: appends from parallel tests do not interleave.
            let _ = file.write_all(format!("{test}: {reason}\n").as_bytes());
        }
    }
}

/// For tests: panics, naming the package to install, unless `kind` is
/// installed. Tests must not skip silently when a daemon is missing.
pub fn require(kind: Kind) {
    if let Err(e) = check_installed(kind) {
        panic!("{e}");
    }
}

pub(crate) fn check_installed(kind: Kind) -> Result<(), LabError> {
    for b in kind.binaries() {
        if !is_executable(Path::new(b)) {
            return Err(LabError::NotInstalled {
                kind,
                binary: b,
                package: kind.package(),
            });
        }
    }
    Ok(())
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
