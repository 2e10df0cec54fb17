//! # route-load: one full table into BIRD, FRR, GoBGP and nodebgp
//!
//! The benchmark of issue 5: how long each receiver takes to receive, select and
//! hold `--prefixes` IPv4 prefixes (default 1,000,000) from one peer, and how much
//! memory it then uses. Every receiver gets the same byte stream from the same
//! sender in the same run:
//!
//! ```text
//!   shaped_table(shape, N, TABLE_SEED)       built once, before any connection (not timed)
//!        │
//!   sender (this process, own 127.x address, AS 64700, hold time 0)
//!        │  OPEN / KEEPALIVE, then every UPDATE and End-of-RIB
//!        ▼
//!   receiver (fresh per run, own 127.x address and port, AS 65000, imports all,
//!             exports nothing, no kernel FIB)  ◀── its own CLI polled every 20-50 ms
//! ```
//!
//! The clock runs from the first UPDATE byte written until the receiver's CLI
//! reports all N prefixes accepted (the end of that query; for FRR, also an
//! empty best-path work queue, see [`Running::settled`]). Memory is read from
//! `/proc/PID/status` of the receiver process: `VmRSS` once the session is up
//! and idle (baseline), `VmHWM` (peak) and `VmRSS` (held) when it has them all;
//! bytes per route divide the growth over the baseline by N.
//!
//! Receivers run `--runs` times each, interleaved (round-robin, the order rotated
//! each round), and the report gives the median and the minimum.
//!
//! ```text
//! route-load [--prefixes N] [--sessions P] [--runs R] [--seed S] [--nodebgp PATH]
//!            [--shape natural|PER_UPDATE/SETS]
//!            [--only bird,frr,gobgp,nodebgp,null] [--timeout SECONDS] [--linger SECONDS]
//!            [--churn] [--clients C] [--flap N] [--cpus LIST] [--ipv6] [--fib] [--restart]
//!            [--mrt FILE [--mrt-peer ADDRESS]]
//! ```
//!
//! `--shape` packs the table differently ([`nodebgp_benches::TableShape`]): `natural` (the
//! default: one UPDATE per Pareto-sized attribute set, ~10 prefixes per
//! UPDATE), or `PER_UPDATE/SETS`, e.g. `4/100k`: exactly 4 prefixes per
//! UPDATE and 100,000 distinct attribute sets drawn at random, so that a set
//! comes back in UPDATEs far apart.
//!
//! ```text
//! ```
//!
//! `--mrt FILE` replays an MRT dump instead of a synthetic table
//! ([`nodebgp_benches::replay_mrt`]): from a RIB dump (TABLE_DUMP_V2) one
//! peer's table, packed by attribute set; from an updates dump (BGP4MP) one
//! peer's UPDATEs as recorded, withdrawals included, the clock then running
//! until the receiver holds what the stream leaves announced. The peer is
//! `--mrt-peer`, or the one with the most routes of the family (IPv4, or
//! IPv6 with `--ipv6`); every route is passed on as the sender's (its AS
//! prepended, a next hop of its own). `--prefixes` and `--shape` do not
//! apply; with `--sessions P` a table is dealt out as a synthetic one is.
//!
//! `--sessions P` (default 1) makes it P sessions from P senders, each on its
//! own 127.x address, carrying N prefixes each (distinct: one table of P × N
//! dealt out), all written at once; the clock then runs from the first byte of
//! any until the receiver's summed count (one query for all peers) reaches
//! P × N.
//!
//! `--churn` then withdraws every prefix (the table's UPDATEs turned into
//! withdrawals, the same packing) and announces it all again, and reports
//! both times: first byte to a count of 0, first byte to all back.
//!
//! `--clients C` makes it a fan-out: C iBGP clients (the receiver's own AS,
//! each on its own 127.x address, route-load's reader threads) connect to
//! the receiver before the table, and the clock runs until every one of them
//! has been sent all P × N prefixes (counted from the UPDATEs' bytes): the
//! egress a route reflector does for its clients. The receiver exports to
//! them what it learned from the senders.
//!
//! `--flap N` adds a neighbor that flaps while the table loads: up, the
//! table's first N prefixes announced, down a second later, again and again
//! ([`flap`]); the clock is the load's, as without it.
//!
//! `--cpus LIST` pins each receiver process, every thread of it, to those
//! CPUs once it has started (`taskset -a -p -c LIST`, e.g. `0` or `0,1`), to
//! show what a second core does for it; the harness itself is not pinned,
//! nor is the null receiver, which is the harness.
//!
//! `--ipv6` makes the table IPv6 unicast: prefixes of today's IPv6 lengths
//! (mostly /48, /32, /44; see [`nodebgp_benches::synthetic_table`]) in
//! MP_REACH_NLRI with a 2001:db8:: next hop, packed in the same shapes, on
//! the same IPv4 sessions, which then negotiate both unicast families (RFC
//! 4760), and the IPv6 End-of-RIB. `--prefixes 200000 --ipv6` is a full
//! IPv6 table of today.
//!
//! `--fib` has the receivers install what they select into the kernel
//! (BIRD's kernel protocol, nodebgp's FIB; FRR and GoBGP run without zebra
//! here and are skipped), in a network namespace route-load makes for
//! itself ([`fib`]), and the clock runs on until the kernel holds every
//! route (with `--churn`, until it holds none of them again).
//!
//! `--restart` (with `--fib`) then restarts the receiver gracefully, its
//! routes kept in the kernel, and clocks it until forwarding is complete
//! again: the senders' table, changed a little while it was down, accepted,
//! and the kernel holding exactly that ([`restart`]).
//!
//! `--linger` keeps each receiver (and its session) up that long after it was
//! measured, with its run directory printed, to inspect it by hand.

mod fib;
mod flap;
mod null;
mod receiver;
mod restart;
mod settings;
// The stress test (tests/stress.rs) shares this file and uses more of it.
#[allow(dead_code)]
mod sender;

use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bgp_wire::Family;
use nodebgp_benches::shaped_table;

use crate::receiver::{Implementation, Running};
use crate::settings::{parse_arguments, replay, Settings};

/// One measured run.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// First UPDATE byte written to all prefixes reported.
    seconds: f64,
    /// First UPDATE byte written to the last byte of the stream written.
    written: f64,
    /// VmRSS once the session was up and idle, KiB.
    baseline_kib: u64,
    /// VmHWM when done, KiB.
    peak_kib: u64,
    /// VmRSS when done, KiB.
    held_kib: u64,
    /// User + system CPU time of the receiver during the load.
    cpu_seconds: f64,
    /// With `--churn`: first withdrawal byte to no prefix left, then first
    /// byte of the table again to all prefixes back.
    churn: Option<(f64, f64)>,
    /// With `--restart`: the graceful restart after the load.
    restart: Option<restart::Restart>,
}

fn main() -> ExitCode {
    let mut settings = match parse_arguments() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("route-load: {error}");
            return ExitCode::from(2);
        }
    };
    // First, before any thread or receiver starts: they all inherit it.
    if settings.options.kernel {
        if let Err(error) = fib::enter_namespace() {
            eprintln!("route-load: {error}");
            return ExitCode::from(2);
        }
    }
    let built = Instant::now();
    // One table of every session's prefixes, its UPDATEs dealt out in equal
    // runs: the sessions carry distinct prefixes, P × N in all.
    let (updates, source) = match &settings.mrt {
        None => {
            let updates = shaped_table(
                settings.options.family,
                settings.shape,
                settings.total,
                settings.seed,
            );
            let source = format!(
                "shape {}, {} sessions × {} = {} prefixes",
                settings.shape, settings.sessions, settings.prefixes, settings.total
            );
            (updates, source)
        }
        Some((file, peer)) => match replay(&settings, file, *peer) {
            Ok((replay, source)) => {
                settings.total = replay.prefixes;
                settings.changes_routes = replay.changes_routes;
                (replay.updates, source)
            }
            Err(error) => {
                eprintln!("route-load: {error}");
                return ExitCode::from(2);
            }
        },
    };
    // Session i gets UPDATEs [i·U/P, (i+1)·U/P): exactly P streams, their
    // sizes differing by one UPDATE at most.
    let ranges: Vec<std::ops::Range<usize>> = (0..settings.sessions)
        .map(|session| {
            session * updates.len() / settings.sessions
                ..(session + 1) * updates.len() / settings.sessions
        })
        .collect();
    let streams: Vec<Arc<Vec<u8>>> = ranges
        .iter()
        .map(|range| {
            Arc::new(sender::stream_of(
                &updates[range.clone()],
                settings.options.family,
            ))
        })
        .collect();
    // The same prefixes withdrawn, UPDATE for UPDATE (`--churn`).
    let withdrawals: Vec<Arc<Vec<u8>>> = if settings.churn {
        ranges
            .iter()
            .map(|range| Arc::new(sender::withdrawals_of(&updates[range.clone()])))
            .collect()
    } else {
        Vec::new()
    };
    // The table as the senders hold it after the receiver restarted
    // (`--restart`).
    let (resent, resent_prefixes) = if settings.options.restart {
        restart::resent_table(&updates, &ranges, settings.options.family)
    } else {
        (Vec::new(), 0)
    };
    // The flapping neighbor's UPDATEs: the first of the table's, up to N
    // prefixes (the same prefixes and attributes the load brings).
    let flap_stream = (settings.flap > 0).then(|| {
        let mut prefixes = 0;
        let first = updates
            .iter()
            .take_while(|update| {
                let more = prefixes < settings.flap;
                if more {
                    prefixes += nodebgp_benches::update_prefix_counts(&update[19..]).1 as usize;
                }
                more
            })
            .count();
        println!(
            "flapping neighbor: {prefixes} prefixes in {first} UPDATEs, up for {:?} at a time",
            flap::UP_FOR
        );
        Arc::new(sender::stream_of(
            &updates[..first],
            settings.options.family,
        ))
    });
    println!(
        "table: {source} in {} UPDATEs, {} octets with End-of-RIB (seed {:#x}), built in {:.2} s",
        updates.len(),
        streams.iter().map(|stream| stream.len()).sum::<usize>(),
        settings.seed,
        built.elapsed().as_secs_f64()
    );
    drop(updates);

    let mut present = Vec::new();
    for implementation in &settings.implementations {
        let missing = match implementation {
            Implementation::Null if settings.changes_routes => Some(
                "it counts the prefixes UPDATEs carry, and this stream withdraws and announces again"
                    .to_owned(),
            ),
            _ => implementation.missing(&settings.options),
        };
        match missing {
            Some(why) => println!("skipped: {}: {why}", implementation.name()),
            None => present.push(implementation.clone()),
        }
    }
    let versions: Vec<String> = present.iter().map(Implementation::version).collect();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); present.len()];
    let mut failures: Vec<Vec<String>> = vec![Vec::new(); present.len()];
    for run in 0..settings.runs {
        for step in 0..present.len() {
            let index = (step + run) % present.len();
            let implementation = &present[index];
            let name = implementation.name();
            let streams = Streams {
                load: &streams,
                withdrawals: &withdrawals,
                flap: flap_stream.as_ref(),
                resent: &resent,
                resent_prefixes,
            };
            match measure(implementation, &settings, &streams, run) {
                Ok(sample) => {
                    if let Some(restart) = sample.restart {
                        println!(
                            "run {}/{} {name:<8} restart: gone after {:.3} s, listening again after {:.3} s, sessions up after {:.3} s, forwarding complete after {:.3} s; the kernel held at least {} of the table's {} routes ({} after) and removed {}; new process CPU {:.2} s, peak {:.1} MiB",
                            run + 1,
                            settings.runs,
                            restart.gone,
                            restart.listening,
                            restart.sessions,
                            restart.complete,
                            restart.fewest,
                            restart.before,
                            restart.after,
                            restart.removed,
                            restart.cpu_seconds,
                            mib(restart.peak_kib),
                        );
                    }
                    if let Some((withdrawn, back)) = sample.churn {
                        println!(
                            "run {}/{} {name:<8} churn: all withdrawn after {withdrawn:.3} s, all back after {back:.3} s",
                            run + 1,
                            settings.runs
                        );
                    }
                    println!(
                        "run {}/{} {name:<8} {:>8.3} s (all written after {:.3} s)  baseline {:>7.1} MiB  peak {:>7.1} MiB  held {:>7.1} MiB  CPU {:>7.2} s",
                        run + 1,
                        settings.runs,
                        sample.seconds,
                        sample.written,
                        mib(sample.baseline_kib),
                        mib(sample.peak_kib),
                        mib(sample.held_kib),
                        sample.cpu_seconds,
                    );
                    samples[index].push(sample);
                }
                Err(error) => {
                    println!(
                        "run {}/{} {name:<8} FAILED: {error}",
                        run + 1,
                        settings.runs
                    );
                    failures[index].push(error);
                }
            }
        }
    }

    println!();
    let mut fan_out = if settings.clients == 0 {
        String::new()
    } else {
        format!(", advertised to {} iBGP clients", settings.clients)
    };
    if let Some(cpus) = &settings.cpus {
        fan_out.push_str(&format!(", receivers pinned to CPUs {cpus}"));
    }
    if settings.flap > 0 {
        fan_out.push_str(&format!(
            ", one more neighbor flapping {} of them every {:?}",
            settings.flap,
            flap::UP_FOR
        ));
    }
    println!(
        "{} {} prefixes from {} peer(s){fan_out}, table {}; median and min over {} interleaved runs; memory: medians",
        settings.total,
        if settings.options.family == Family::IPV6_UNICAST { "IPv6" } else { "IPv4" },
        settings.sessions,
        match &settings.mrt {
            Some((file, _)) => format!("replayed from {}", file.display()),
            None => format!("shape {}", settings.shape),
        },
        settings.runs
    );
    println!(
        "| receiver | version | runs ok | median s | min s | prefixes/s (median) | peak RSS MiB | held RSS MiB | bytes/route (held − baseline) | bytes/route (peak − baseline) | CPU s |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut all_ok = true;
    for (index, implementation) in present.iter().enumerate() {
        let runs = &samples[index];
        all_ok &= failures[index].is_empty();
        if runs.is_empty() {
            println!(
                "| {} | {} | 0/{} | | | | | | | | |",
                implementation.name(),
                versions[index],
                settings.runs
            );
            continue;
        }
        let n = settings.total as f64;
        let seconds = median(runs.iter().map(|s| s.seconds).collect());
        let min = runs.iter().map(|s| s.seconds).fold(f64::INFINITY, f64::min);
        let peak = median(runs.iter().map(|s| s.peak_kib as f64).collect());
        let held = median(runs.iter().map(|s| s.held_kib as f64).collect());
        let held_per_route = median(
            runs.iter()
                .map(|s| (s.held_kib as f64 - s.baseline_kib as f64) * 1024.0 / n)
                .collect(),
        );
        let peak_per_route = median(
            runs.iter()
                .map(|s| (s.peak_kib as f64 - s.baseline_kib as f64) * 1024.0 / n)
                .collect(),
        );
        let cpu = median(runs.iter().map(|s| s.cpu_seconds).collect());
        println!(
            "| {} | {} | {}/{} | {seconds:.3} | {min:.3} | {:.0} | {:.1} | {:.1} | {held_per_route:.1} | {peak_per_route:.1} | {cpu:.2} |",
            implementation.name(),
            versions[index],
            runs.len(),
            settings.runs,
            n / seconds,
            peak / 1024.0,
            held / 1024.0,
        );
    }
    if settings.options.restart {
        println!();
        println!(
            "graceful restart after the load: the receiver stopped keeping its kernel routes and started again; the senders resent the table less one UPDATE in {} (medians)",
            restart::DROPPED_EVERY
        );
        println!(
            "| receiver | old process gone s | listening again s | sessions up s | forwarding complete s | min s | fewest kernel routes meanwhile | kernel routes removed meanwhile | routes before / after | new process CPU s | new process peak RSS MiB |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (index, implementation) in present.iter().enumerate() {
            let restarts: Vec<restart::Restart> = samples[index]
                .iter()
                .filter_map(|sample| sample.restart)
                .collect();
            let Some(first) = restarts.first() else {
                continue;
            };
            let of =
                |field: fn(&restart::Restart) -> f64| median(restarts.iter().map(field).collect());
            let removed = restarts
                .iter()
                .map(|restart| restart.removed)
                .max()
                .unwrap_or(0);
            let fewest = restarts
                .iter()
                .map(|restart| restart.fewest)
                .min()
                .unwrap_or(0);
            println!(
                "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {fewest} | {removed} | {} / {} | {:.2} | {:.1} |",
                implementation.name(),
                of(|restart| restart.gone),
                of(|restart| restart.listening),
                of(|restart| restart.sessions),
                of(|restart| restart.complete),
                restarts
                    .iter()
                    .map(|restart| restart.complete)
                    .fold(f64::INFINITY, f64::min),
                first.before,
                first.after,
                of(|restart| restart.cpu_seconds),
                of(|restart| restart.peak_kib as f64) / 1024.0,
            );
        }
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What the sessions write: the table (one stream per sender), its
/// withdrawal (`--churn`), the flapping neighbor's UPDATEs (`--flap`), the
/// table after the receiver's restart and its prefix count (`--restart`).
struct Streams<'a> {
    load: &'a [Arc<Vec<u8>>],
    withdrawals: &'a [Arc<Vec<u8>>],
    flap: Option<&'a Arc<Vec<u8>>>,
    resent: &'a [Arc<Vec<u8>>],
    resent_prefixes: u64,
}

/// Starts a fresh receiver, sends it the table, measures, stops it.
fn measure(
    implementation: &Implementation,
    settings: &Settings,
    streams: &Streams<'_>,
    run: usize,
) -> Result<Sample, String> {
    let addresses = |count: usize| {
        (0..count)
            .map(|_| lab::free_loopback_address().map_err(|error| error.to_string()))
            .collect::<Result<Vec<Ipv4Addr>, String>>()
    };
    let senders = addresses(streams.load.len())?;
    let clients = addresses(settings.clients)?;
    let flapper = addresses(usize::from(streams.flap.is_some()))?;
    // The flapping neighbor is one more eBGP neighbor to the receiver.
    let neighbors: Vec<Ipv4Addr> = senders.iter().chain(&flapper).copied().collect();
    if settings.options.kernel {
        fib::flush_receiver_routes()?;
    }
    let mut receiver = implementation.start(&neighbors, &clients, &settings.options, run)?;
    if let (Some(cpus), false) = (&settings.cpus, *implementation == Implementation::Null) {
        pin(receiver.pid(), cpus)?;
    }
    let flapping = flapper.first().copied().zip(streams.flap);
    let outcome = load(
        &mut receiver,
        &senders,
        &clients,
        flapping,
        settings,
        streams,
    );
    let outcome = outcome.map_err(|error| format!("{error}\n--- log ---\n{}", receiver.log_tail()));
    // Stop the receiver before the sessions close, so that it does not spend
    // the teardown flushing the table.
    drop(receiver);
    outcome
}

/// The receiver's count of accepted prefixes: from the one sender's session
/// itself, or summed over all of them in one query.
fn accepted(receiver: &Running, senders: &[Ipv4Addr]) -> Result<u64, String> {
    match senders {
        [sender] => receiver.count(*sender),
        _ => receiver.total(),
    }
}

fn load(
    receiver: &mut Running,
    senders: &[Ipv4Addr],
    clients: &[Ipv4Addr],
    flapping: Option<(Ipv4Addr, &Arc<Vec<u8>>)>,
    settings: &Settings,
    streams: &Streams<'_>,
) -> Result<Sample, String> {
    let withdrawals = streams.withdrawals;
    let pid = receiver.pid();
    // The clients first: the table must find them up.
    // Hold time 90 s, KEEPALIVEs every 30: GoBGP 3.10 takes a negotiated
    // hold time of 0 as a write deadline of now, and fails every write to
    // such a peer.
    let mut fan_out = Vec::with_capacity(clients.len());
    let mut keep_alives = Vec::with_capacity(clients.len()); // end with the sessions
    for client in clients {
        let session = sender::connect_as(
            *client,
            receiver.listen(),
            Instant::now() + Duration::from_secs(30),
            receiver::CLIENT_HOLD_TIME,
            receiver::RECEIVER_AS,
        )?;
        keep_alives.push(session.keep_alive(Duration::from_secs(
            u64::from(receiver::CLIENT_HOLD_TIME) / 3,
        ))?);
        fan_out.push(session);
    }
    let mut sessions = Vec::with_capacity(senders.len());
    for sender in senders {
        sessions.push(sender::connect(
            *sender,
            receiver.listen(),
            Instant::now() + Duration::from_secs(30),
        )?);
    }
    let up = Instant::now();
    let everyone = senders.iter().chain(clients);
    for (sender, session) in everyone.zip(sessions.iter().chain(&fan_out)) {
        while !receiver.established(*sender) {
            if let Some(why) = session.ended() {
                return Err(format!(
                    "session from {sender} ended before the table: {why}"
                ));
            }
            if up.elapsed() > Duration::from_secs(15 + (senders.len() + clients.len()) as u64 / 4) {
                return Err(format!(
                    "the receiver never reported the session from {sender} Established"
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
    // Let the receiver finish whatever follows the sessions' start.
    thread::sleep(Duration::from_secs(1));
    let baseline_kib = proc_status_kib(pid, "VmRSS")?;
    let cpu_before = cpu_seconds(pid)?;

    let target = settings.total as u64;
    // The flapping neighbor starts first and has flapped once before the
    // table comes (scenario timing, not synchronisation: it flaps on its own
    // clock throughout).
    let kernel_baseline = if settings.options.kernel {
        Some(fib::kernel_routes(settings.options.family)?)
    } else {
        None
    };
    let rig = Rig {
        receiver: &*receiver,
        senders,
        sessions: &sessions,
        clients: &fan_out,
        settings,
        kernel_baseline,
    };
    let flapper = flapping.map(|(address, stream)| {
        flap::Flapper::start(address, receiver.listen(), Arc::clone(stream))
    });
    if flapper.is_some() {
        thread::sleep(flap::UP_FOR + Duration::from_millis(500));
    }
    // Memory and CPU are read the moment the receiver has it all.
    let load = write_and_wait(&rig, streams.load, target, || {
        Ok((
            proc_status_kib(pid, "VmHWM")?,
            proc_status_kib(pid, "VmRSS")?,
            cpu_seconds(pid)?,
        ))
    })?;
    if let Some(flapper) = flapper {
        let flaps = flapper.stop();
        println!(
            "flapping neighbor: {} sessions up, {} attempts not taken, over the load and its wait",
            flaps.sessions, flaps.refused
        );
    }
    let (peak_kib, held_kib, cpu_after) = load.reading;
    let (first, last, done) = (load.first, load.last, load.done);
    let count = accepted(receiver, senders)?;
    if count != target {
        return Err(format!("{count} prefixes accepted, {target} sent"));
    }
    let churn = if withdrawals.is_empty() {
        None
    } else {
        // Everything withdrawn, then everything announced again: each timed
        // from its first byte to the receiver's count reaching 0, then the
        // table.
        let seconds = |phase: Phase<()>| phase.done.duration_since(phase.first).as_secs_f64();
        let withdrawn = write_and_wait(&rig, withdrawals, 0, || Ok(()))?;
        let back = write_and_wait(&rig, streams.load, target, || Ok(()))?;
        Some((seconds(withdrawn), seconds(back)))
    };
    // The old sessions end with the receiver's restart; the new ones live
    // until the run ends.
    let mut _resent_sessions = Vec::new();
    let restart = match kernel_baseline {
        Some(baseline) if settings.options.restart => {
            let (restart, sessions) = restart::restart_and_recover(
                receiver,
                senders,
                settings,
                streams.resent,
                streams.resent_prefixes,
                baseline,
            )?;
            _resent_sessions = sessions;
            let count = accepted(receiver, senders)?;
            if count != streams.resent_prefixes {
                return Err(format!(
                    "after the restart {count} prefixes accepted, {} sent",
                    streams.resent_prefixes
                ));
            }
            Some(restart)
        }
        _ => None,
    };
    if !settings.linger.is_zero() {
        println!(
            "lingering {:?}: {} (pid {pid}), senders {senders:?}",
            settings.linger,
            receiver.describe()
        );
        thread::sleep(settings.linger);
    }
    let updates_back: u64 = sessions.iter().map(|session| session.received().1).sum();
    if updates_back > sessions.len() as u64 {
        eprintln!("note: the receiver sent {updates_back} UPDATEs back to the senders");
    }
    if let Some(most) = fan_out.iter().map(sender::Session::prefixes).max() {
        if most > target {
            eprintln!("note: a client was sent {most} prefixes for {target} (some twice)");
        }
    }
    Ok(Sample {
        seconds: done.duration_since(first).as_secs_f64(),
        written: last.duration_since(first).as_secs_f64(),
        baseline_kib,
        peak_kib,
        held_kib,
        cpu_seconds: cpu_after - cpu_before,
        churn,
        restart,
    })
}

/// One write of the streams and the wait for the receiver: when the first
/// and the last byte were written, when the receiver was done, and what was
/// read at that moment.
struct Phase<T> {
    first: Instant,
    last: Instant,
    done: Instant,
    reading: T,
}

/// One receiver with its sessions up: what every phase of a run writes to
/// and waits on.
struct Rig<'a> {
    receiver: &'a Running,
    senders: &'a [Ipv4Addr],
    /// The senders' sessions, in the order of `senders`.
    sessions: &'a [sender::Session],
    /// The fan-out clients' sessions (`--clients`).
    clients: &'a [sender::Session],
    settings: &'a Settings,
    /// With `--fib`: the kernel's route count before the load, to which the
    /// table's routes add.
    kernel_baseline: Option<u64>,
}

/// Writes `streams` on the sessions and waits until the receiver's count is
/// `until` (and FRR has settled), or, with fan-out clients, until every
/// client has been sent `until` prefixes, then with `--fib` until the kernel
/// holds `until` routes more than before the load, then calls `at_done` at
/// once.
fn write_and_wait<T>(
    rig: &Rig<'_>,
    streams: &[Arc<Vec<u8>>],
    until: u64,
    at_done: impl FnOnce() -> Result<T, String>,
) -> Result<Phase<T>, String> {
    let Rig {
        receiver,
        senders,
        sessions,
        clients,
        settings,
        kernel_baseline,
    } = *rig;
    // Once the receiver has accepted them all, only the kernel is polled.
    let mut accepted_all: Option<Instant> = None;
    let writers = sessions
        .iter()
        .zip(streams)
        .map(|(session, stream)| session.write_all(Arc::clone(stream)))
        .collect::<Result<Vec<_>, String>>()?;
    let started = Instant::now();
    let done = loop {
        let elapsed = started.elapsed();
        if let Some(why) = sessions
            .iter()
            .chain(clients)
            .find_map(sender::Session::ended)
        {
            return Err(format!("a session ended while writing: {why}"));
        }
        if !clients.is_empty() {
            // The clients' counters are read without asking the receiver
            // anything, so they can be read often.
            let reached = |client: &sender::Session| match until {
                0 => client.prefixes() == 0,
                _ => client.prefixes() >= until,
            };
            if clients.iter().all(reached) {
                break Instant::now();
            }
            if elapsed > settings.timeout {
                let counts: Vec<u64> = clients.iter().map(sender::Session::prefixes).collect();
                return Err(format!(
                    "clients sent {counts:?} prefixes, not {until} each, after {elapsed:?}"
                ));
            }
            thread::sleep(Duration::from_millis(2));
            continue;
        }
        if let (Some(baseline), Some(_)) = (kernel_baseline, accepted_all) {
            let reading = Instant::now();
            let installed = fib::kernel_routes(settings.options.family)?.saturating_sub(baseline);
            if installed == until {
                break Instant::now();
            }
            if elapsed > settings.timeout {
                return Err(format!(
                    "the kernel holds {installed} of the routes, not {until}, after {elapsed:?}"
                ));
            }
            // A reading walks the kernel's whole table (over 100 ms with a
            // million routes here, on either core): paced by its own cost,
            // the harness takes at most half a core from a receiver whose
            // kernel work runs late. (Counting the kernel's notifications
            // instead would cost nothing to look at, but a listener makes
            // the kernel copy every change to it, at the receiver's expense:
            // a million-route load took a quarter longer.)
            thread::sleep(reading.elapsed().max(Duration::from_millis(5)));
            continue;
        }
        match accepted(receiver, senders) {
            Ok(count) if count == until && kernel_baseline.is_some() => {
                accepted_all = Some(Instant::now());
                continue;
            }
            Ok(count) if count == until && receiver.settled()? => break Instant::now(),
            Ok(count) if elapsed > settings.timeout => {
                return Err(format!("{count} prefixes, not {until}, after {elapsed:?}"))
            }
            Err(error) if elapsed > settings.timeout => {
                return Err(format!("no count after {elapsed:?}: {error}"))
            }
            _ => {}
        }
        // 20 ms at first, 50 ms from the first second on: the queries cost the
        // receiver (and this machine) some CPU too.
        thread::sleep((elapsed / 20).clamp(Duration::from_millis(20), Duration::from_millis(50)));
    };
    let reading = at_done()?;
    if let Some(accepted) = accepted_all {
        println!(
            "  all accepted after {:.3} s, in the kernel {:.3} s later",
            accepted.duration_since(started).as_secs_f64(),
            done.duration_since(accepted).as_secs_f64()
        );
    }
    let mut first_byte: Option<Instant> = None;
    let mut last_byte: Option<Instant> = None;
    for writer in writers {
        let (first, last) = writer
            .join()
            .map_err(|_| "a writer thread panicked".to_owned())??;
        first_byte = Some(first_byte.map_or(first, |known| known.min(first)));
        last_byte = Some(last_byte.map_or(last, |known| known.max(last)));
    }
    let (first, last) = first_byte.zip(last_byte).ok_or("no session wrote")?;
    Ok(Phase {
        first,
        last,
        done,
        reading,
    })
}

/// Pins every thread of process `pid` to `cpus` (a `taskset` CPU list).
fn pin(pid: u32, cpus: &str) -> Result<(), String> {
    let output = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid.to_string()])
        .output()
        .map_err(|error| format!("taskset: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "taskset -a -p -c {cpus} {pid}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// A `kB` line of `/proc/PID/status`.
fn proc_status_kib(pid: u32, field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|error| format!("/proc/{pid}/status: {error} (the receiver exited?)"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {field} in /proc/{pid}/status"))
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|error| format!("/proc/{pid}/stat: {error}"))?;
    // Fields after the command name, which ends at the last ')': state is the
    // first of them, utime the 12th and stime the 13th.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or("unreadable /proc/PID/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |index: usize| -> Result<f64, String> {
        fields
            .get(index)
            .and_then(|field| field.parse::<f64>().ok())
            .ok_or_else(|| "unreadable /proc/PID/stat".to_owned())
    };
    Ok((ticks(11)? + ticks(12)?) / clock_ticks())
}

/// `getconf CLK_TCK` (100 on Linux everywhere that matters).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
