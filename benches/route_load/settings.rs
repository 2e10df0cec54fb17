//! route-load's command line: what to measure, and the MRT dump to replay
//! when one is given instead of a synthetic table.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use bgp_wire::Family;
use lab::Kind;
use nodebgp_benches::{TableShape, TABLE_SEED};

use crate::receiver::{self, Implementation};

/// Settings from the command line.
#[derive(Debug)]
pub(crate) struct Settings {
    /// Prefixes per session.
    pub(crate) prefixes: usize,
    /// Sessions, each from a sender of its own with its own prefixes.
    pub(crate) sessions: usize,
    /// Prefixes the receivers hold once the table is in: P × N, or what the
    /// replayed dump leaves announced.
    pub(crate) total: usize,
    /// The replayed stream withdraws or announces a prefix again, so that
    /// counting announcements does not give what a receiver holds.
    pub(crate) changes_routes: bool,
    pub(crate) runs: usize,
    pub(crate) seed: u64,
    pub(crate) implementations: Vec<Implementation>,
    pub(crate) timeout: Duration,
    /// How the table is packed into UPDATEs.
    pub(crate) shape: TableShape,
    /// An MRT dump to replay instead, and whose routes in it.
    pub(crate) mrt: Option<(PathBuf, Option<IpAddr>)>,
    /// Keep each receiver running this long after its measurement, to look at it.
    pub(crate) linger: Duration,
    /// After the load, withdraw everything and announce it again, timing both.
    pub(crate) churn: bool,
    /// iBGP clients the receiver advertises the table to (0: none).
    pub(crate) clients: usize,
    /// Prefixes the flapping neighbor announces each time it comes up (0:
    /// no flapping neighbor).
    pub(crate) flap: usize,
    /// CPUs each receiver is pinned to (`taskset`'s list), if any.
    pub(crate) cpus: Option<String>,
    /// The table's family (IPv4 unicast, or IPv6 unicast with `--ipv6`) and
    /// whether the receivers install routes in the kernel (`--fib`).
    pub(crate) options: receiver::Options,
}

pub(crate) fn parse_arguments() -> Result<Settings, String> {
    let mut prefixes = 1_000_000;
    let mut sessions = 1;
    let mut runs = 3;
    let mut seed = TABLE_SEED;
    let mut timeout = Duration::from_secs(600);
    let mut linger = Duration::ZERO;
    let mut shape = TableShape::Natural;
    let mut churn = false;
    let mut clients = 0;
    let mut flap = 0;
    let mut cpus = None;
    let mut family = Family::IPV4_UNICAST;
    let mut kernel = false;
    let mut restart = false;
    let mut mrt = None;
    let mut mrt_peer = None;
    let mut table_given = false;
    let mut nodebgp = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/release/nodebgp"
    ));
    let mut only: Option<Vec<String>> = None;
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let mut value = || {
            arguments
                .next()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let number = |text: String| {
            text.replace('_', "")
                .parse::<u64>()
                .map_err(|error| format!("{flag} {text}: {error}"))
        };
        match flag.as_str() {
            "--prefixes" => {
                prefixes = number(value()?)? as usize;
                table_given = true;
            }
            "--sessions" => sessions = number(value()?)? as usize,
            "--runs" => runs = number(value()?)? as usize,
            "--seed" => seed = number(value()?)?,
            "--timeout" => timeout = Duration::from_secs(number(value()?)?),
            "--linger" => linger = Duration::from_secs(number(value()?)?),
            "--churn" => churn = true,
            "--clients" => clients = number(value()?)? as usize,
            "--flap" => flap = number(value()?)? as usize,
            "--cpus" => cpus = Some(value()?),
            "--ipv6" => family = Family::IPV6_UNICAST,
            "--fib" => kernel = true,
            "--restart" => restart = true,
            "--nodebgp" => nodebgp = PathBuf::from(value()?),
            "--shape" => {
                shape = TableShape::parse(&value()?)?;
                table_given = true;
            }
            "--mrt" => mrt = Some(PathBuf::from(value()?)),
            "--mrt-peer" => {
                let text = value()?;
                mrt_peer = Some(
                    text.parse::<IpAddr>()
                        .map_err(|error| format!("--mrt-peer {text}: {error}"))?,
                );
            }
            "--only" => {
                only = Some(
                    value()?
                        .split(',')
                        .map(|name| name.trim().to_ascii_lowercase())
                        .collect(),
                )
            }
            "-h" | "--help" => {
                println!(
                    "route-load [--prefixes N] [--sessions P] [--runs R] [--seed S] [--nodebgp PATH] \
                     [--shape natural|PER_UPDATE/SETS] \
                     [--only bird,frr,gobgp,nodebgp,null] [--timeout SECONDS] [--linger SECONDS] [--churn] [--clients C] [--flap N] [--cpus LIST] [--ipv6] [--fib] [--restart] [--mrt FILE [--mrt-peer ADDRESS]]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other} (see --help)")),
        }
    }
    if kernel && clients > 0 {
        return Err("--fib times the kernel, --clients the clients: one at a time".to_owned());
    }
    if restart && !kernel {
        return Err("--restart times forwarding back to complete: it needs --fib".to_owned());
    }
    if restart && flap > 0 {
        return Err("--restart and --flap: one at a time".to_owned());
    }
    if mrt.is_some() && table_given {
        return Err("--mrt replays a dump: --prefixes and --shape do not apply".to_owned());
    }
    if mrt_peer.is_some() && mrt.is_none() {
        return Err("--mrt-peer chooses a peer of the --mrt dump".to_owned());
    }
    if prefixes == 0 || runs == 0 || sessions == 0 {
        return Err("--prefixes, --sessions and --runs must be at least 1".to_owned());
    }
    let all = [
        Implementation::Lab(Kind::Bird),
        Implementation::Lab(Kind::Frr),
        Implementation::Lab(Kind::Gobgp),
        Implementation::Nodebgp(nodebgp),
        Implementation::Null,
    ];
    let implementations = match only {
        None => all.to_vec(),
        Some(names) => {
            for name in &names {
                if !all.iter().any(|i| i.name().eq_ignore_ascii_case(name)) {
                    return Err(format!("--only: no receiver named {name}"));
                }
            }
            all.into_iter()
                .filter(|i| names.iter().any(|name| i.name().eq_ignore_ascii_case(name)))
                .collect()
        }
    };
    Ok(Settings {
        prefixes,
        sessions,
        total: prefixes * sessions,
        changes_routes: false,
        runs,
        seed,
        implementations,
        timeout,
        shape,
        mrt: mrt.map(|file| (file, mrt_peer)),
        linger,
        churn,
        clients,
        flap,
        cpus,
        options: receiver::Options {
            family,
            kernel,
            restart,
        },
    })
}

/// The routes of `peer` (or the busiest peer) in the dump at `file`, and a
/// line saying what they are, checked against what the settings ask of them.
pub(crate) fn replay(
    settings: &Settings,
    file: &std::path::Path,
    peer: Option<IpAddr>,
) -> Result<(nodebgp_benches::Replay, String), String> {
    let replay = nodebgp_benches::replay_mrt(file, settings.options.family, peer)?;
    // A stream that withdraws or announces again cannot be dealt out (a
    // prefix's changes would cross sessions), cut by one UPDATE in 100 as
    // a restart does, nor counted on the clients' side by what they are sent.
    if replay.changes_routes
        && (settings.sessions > 1 || settings.options.restart || settings.clients > 0)
    {
        return Err(format!(
            "{}: the UPDATEs of {} withdraw or announce again; replay them on one session, without --restart or --clients",
            file.display(),
            replay.peer
        ));
    }
    if replay.prefixes < settings.sessions {
        return Err(format!(
            "{}: {} prefixes from {} for {} sessions",
            file.display(),
            replay.prefixes,
            replay.peer,
            settings.sessions
        ));
    }
    let source = format!(
        "{} replayed ({}, peer {}: {} routes read, {} skipped), {} sessions, {} prefixes held at the end",
        file.display(),
        match replay.kind {
            nodebgp_benches::DumpKind::Rib => "RIB dump",
            nodebgp_benches::DumpKind::Updates => "updates dump",
        },
        replay.peer,
        replay.routes,
        replay.skipped,
        settings.sessions,
        replay.prefixes
    );
    Ok((replay, source))
}
