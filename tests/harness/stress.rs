//! The reliability stress run: peers loading full tables into one `nodebgp
//! run` over real TCP, while the operator asks for status, deletes and
//! re-adds peers and changes a peer's AS, then a signal at a random moment.
//! Any hang is a failure; what it measured comes back for `benches/RESULTS.md`.
//!
//! The same code runs at CI size (`tests/stress.rs`) and at full size
//! (`benches/stress.sh`, through the environment variables below).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nodebgp_benches::SplitMix64;

use super::daemon::{self, global_peer, Daemon};
use super::sender;

/// The senders' AS (the synthetic table's paths start with it).
const SENDER_AS: &str = "64700";

/// How big a run is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    /// Peers loading a table each.
    pub(crate) peers: usize,
    /// Prefixes in each table.
    pub(crate) prefixes: usize,
    /// Rounds: each ends with SIGINT or SIGTERM (alternately).
    pub(crate) rounds: usize,
    /// Longest acceptable wait for a status answer, a deleted peer to be
    /// gone, or the process to end after a signal: past it, the run fails.
    pub(crate) limit: Duration,
}

impl Scale {
    /// The given defaults, overridden by `NODEBGP_STRESS_PEERS`,
    /// `NODEBGP_STRESS_PREFIXES` and `NODEBGP_STRESS_ROUNDS`.
    pub(crate) fn from_environment(peers: usize, prefixes: usize, rounds: usize) -> Scale {
        let read = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|value| value.parse().ok())
                .unwrap_or(default)
        };
        Scale {
            peers: read("NODEBGP_STRESS_PEERS", peers),
            prefixes: read("NODEBGP_STRESS_PREFIXES", prefixes),
            rounds: read("NODEBGP_STRESS_ROUNDS", rounds),
            limit: Duration::from_secs(10),
        }
    }
}

/// What one run measured.
#[derive(Debug, Default)]
pub(crate) struct Measured {
    /// Every status round trip (`nodebgp status -o json`, process included).
    pub(crate) status: Vec<Duration>,
    /// The same request straight on the control socket: the daemon's part.
    pub(crate) status_socket: Vec<Duration>,
    /// From the deletion's write to the peer gone from status.
    pub(crate) deletions: Vec<Duration>,
    /// From the signal to the process gone, with the signal's name.
    pub(crate) exits: Vec<(&'static str, Duration)>,
    /// Prefixes the daemon held when each signal was sent.
    pub(crate) held_at_signal: Vec<u64>,
    /// From a small peer's UPDATE (a 3 s hold time, sent while the others
    /// pour their tables) to its prefix in the Loc-RIB.
    pub(crate) probe_updates: Vec<Duration>,
}

/// The `fraction` quantile of `samples`.
pub(crate) fn quantile(samples: &[Duration], fraction: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

/// Runs the whole scenario; panics (with the daemon's log tail) on a hang.
/// With `bird`, the same load against BIRD 2 too, in rounds taking turns
/// with nodebgp's (see `stress_bird.rs`): nodebgp's figures and BIRD's.
pub(crate) fn run_beside(name: &str, scale: Scale, bird: bool) -> (Measured, Measured) {
    let seed = std::env::var("NODEBGP_STRESS_SEED")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |time| time.as_nanos() as u64)
        });
    println!("stress {name}: {scale:?}, seed {seed} (NODEBGP_STRESS_SEED repeats it)");
    let mut random = SplitMix64::new(seed);
    let table = Arc::new(sender::stream_of(
        &nodebgp_benches::synthetic_full_table(scale.prefixes, seed),
        bgp_wire::Family::IPV4_UNICAST,
    ));
    let (mut measured, mut bird_measured) = (Measured::default(), Measured::default());
    for round in 0..scale.rounds {
        let signal = if round % 2 == 0 { "-INT" } else { "-TERM" };
        one_round(
            &format!("{name}-{round}"),
            scale,
            &table,
            signal,
            &mut random,
            &mut measured,
        );
        if bird {
            super::stress_bird::bird_round(
                &format!("{name}-bird-{round}"),
                scale,
                &table,
                signal,
                &mut random,
                &mut bird_measured,
            );
        }
    }
    (measured, bird_measured)
}

fn one_round(
    name: &str,
    scale: Scale,
    table: &Arc<Vec<u8>>,
    signal: &'static str,
    random: &mut SplitMix64,
    measured: &mut Measured,
) {
    let directory = daemon::scratch(name).keep();
    let listen = daemon::address();
    let senders: Vec<Ipv4Addr> = (0..scale.peers)
        .map(|_| lab::free_loopback_address().expect("a free loopback address"))
        .collect();
    // The probe: a small peer with a 3 s hold time, never deleted or changed.
    let probe_address = lab::free_loopback_address().expect("a free loopback address");
    let peers: String = senders
        .iter()
        .chain([&probe_address])
        .map(|address| global_peer(IpAddr::V4(*address), SENDER_AS))
        .collect::<Vec<_>>()
        .join("---\n");
    daemon::apply(&directory, &peers);
    let mut running = Daemon::start(&directory, "stress-node", listen, "64512", &[]);
    let log_tail = |directory: &std::path::Path| {
        let log = std::fs::read_to_string(directory.join("nodebgp.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    };
    let remote = SocketAddr::new(listen, 179);
    let probe =
        sender::connect_with_hold_time(probe_address, remote, Instant::now() + daemon::UP, 3)
            .unwrap_or_else(|error| panic!("{error}\n{}", log_tail(&directory)));
    let keepalives = probe.keep_alive(Duration::from_secs(1)).unwrap();
    let mut probes = 0_u32;
    let sessions: Vec<sender::Session> = senders
        .iter()
        .map(|address| {
            sender::connect(*address, remote, Instant::now() + daemon::UP)
                .unwrap_or_else(|error| panic!("{error}\n{}", log_tail(&directory)))
        })
        .collect();
    let writers: Vec<_> = sessions
        .iter()
        .map(|session| session.write_all(Arc::clone(table)).unwrap())
        .collect();
    // Status every 0.2 s from here on, while the tables load and the
    // operator changes things.
    let status = |measured: &mut Measured| {
        let asked = Instant::now();
        let answered = control_request(&directory, "{\"command\":\"status\"}")
            .is_some_and(|answer| answer["response"] == "status");
        let took = asked.elapsed();
        assert!(answered, "status unanswered on the socket after {took:?}");
        measured.status_socket.push(took);
        if took > Duration::from_millis(100) {
            println!(
                "slow status on the socket: {took:?}, sample {} of the run, asked at {:?}",
                measured.status_socket.len(),
                since_epoch(took)
            );
        }
        let asked = Instant::now();
        let answer = daemon::status_at(&directory.join("nodebgp.ctl"));
        let took = asked.elapsed();
        assert!(
            answer.is_some() && took < scale.limit,
            "status unanswered for {took:?}\n{}",
            log_tail(&directory)
        );
        measured.status.push(took);
        if took > Duration::from_millis(100) {
            println!(
                "slow nodebgp status: {took:?}, asked at {:?}",
                since_epoch(took)
            );
        }
        answer.unwrap_or_default()
    };
    // One UPDATE of the probe, and how long until its prefix is selected.
    let mut probe_once = |measured: &mut Measured| {
        probes += 1;
        let prefix: ipnet::IpNet = format!("198.18.{}.{}/32", probes / 250, probes % 250)
            .parse()
            .unwrap();
        let sent = Instant::now();
        probe
            .send(&probe_update(prefix, probe_address))
            .expect("the probe's UPDATE");
        while !selected(&directory, prefix) {
            assert!(
                sent.elapsed() < scale.limit,
                "the probe's {prefix} never reached the Loc-RIB\n{}",
                log_tail(&directory)
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        measured.probe_updates.push(sent.elapsed());
    };
    let mut poll_for = |measured: &mut Measured, how_long: Duration| {
        let until = Instant::now() + how_long;
        while Instant::now() < until {
            status(measured);
            probe_once(measured);
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    // Some load first, at a random point of it the operator acts.
    println!(
        "round {name}: load started, {} status samples so far",
        measured.status_socket.len()
    );
    poll_for(measured, Duration::from_millis(300 + random.below(1500)));
    let victim = IpAddr::V4(senders[random.below(senders.len() as u64) as usize]);
    let deleted = Instant::now();
    let output = daemon::resources("delete", &directory, &global_peer(victim, SENDER_AS));
    assert!(output.status.success(), "delete: {output:?}");
    loop {
        let report = status(measured);
        let listed = report["peers"]
            .as_array()
            .is_some_and(|peers| peers.iter().any(|peer| peer["peer"] == victim.to_string()));
        if !listed {
            measured.deletions.push(deleted.elapsed());
            break;
        }
        assert!(
            deleted.elapsed() < scale.limit,
            "the deleted peer {victim} stayed\n{}",
            log_tail(&directory)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    poll_for(measured, Duration::from_millis(random.below(500)));
    // Back again, then another peer's AS changes (its session restarts and
    // is refused with Bad Peer AS: the sender stays 64700), then back.
    daemon::apply(&directory, &global_peer(victim, SENDER_AS));
    poll_for(measured, Duration::from_millis(200 + random.below(800)));
    let changed = IpAddr::V4(senders[random.below(senders.len() as u64) as usize]);
    daemon::apply(&directory, &global_peer(changed, "64701"));
    poll_for(measured, Duration::from_millis(200 + random.below(800)));
    daemon::apply(&directory, &global_peer(changed, SENDER_AS));
    poll_for(measured, Duration::from_millis(random.below(1000)));
    // The signal, at whatever point the load is at.
    let report = status(measured);
    let held: u64 = report["peers"]
        .as_array()
        .map(|peers| {
            peers
                .iter()
                .filter_map(|peer| peer["prefixes"]["received"].as_u64())
                .sum()
        })
        .unwrap_or(0);
    measured.held_at_signal.push(held);
    let signalled = Instant::now();
    let _ = std::process::Command::new("kill")
        .args([signal, &running.child.id().to_string()])
        .status();
    loop {
        if let Ok(Some(_)) = running.child.try_wait() {
            measured.exits.push((signal, signalled.elapsed()));
            break;
        }
        assert!(
            signalled.elapsed() < scale.limit,
            "nodebgp still running {:?} after {signal}\n{}",
            signalled.elapsed(),
            log_tail(&directory)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let log = std::fs::read_to_string(directory.join("nodebgp.log")).unwrap_or_default();
    assert!(!log.contains("panicked"), "nodebgp panicked:\n{log}");
    // The probe's session (3 s hold time) lived through the load: it ended
    // only with the signal.
    let ended = probe.ended().unwrap_or_default();
    assert!(
        ended.is_empty() || ended.contains("Cease") || ended.contains("closed"),
        "the probe's session ended during the load: {ended}"
    );
    drop(probe);
    let _ = keepalives.join();
    drop(sessions);
    for writer in writers {
        let _ = writer.join();
    }
    // NODEBGP_STRESS_KEEP=1 keeps the daemon's log and store for a look.
    if std::env::var_os("NODEBGP_STRESS_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&directory);
    } else {
        println!("kept {}", directory.display());
    }
}

/// When something that took `took` started, as time since the epoch (to
/// find it in the daemon's log).
fn since_epoch(took: Duration) -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(took)
}

/// An UPDATE from the probe announcing `prefix`, next hop itself.
pub(crate) fn probe_update(prefix: ipnet::IpNet, next_hop: Ipv4Addr) -> bgp_wire::Message {
    use bgp_wire::{AsPath, Asn, AttributeValue, Nlri, NlriList, Origin, PathAttribute, Update};
    bgp_wire::Message::Update(Update {
        withdrawn: NlriList::new(),
        attributes: vec![
            PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
            PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(&[Asn(64700)]))),
            PathAttribute::new(AttributeValue::NextHop(next_hop)),
        ],
        announced: vec![Nlri::new(prefix)].into(),
    })
}

/// Whether the daemon's Loc-RIB holds `prefix`.
fn selected(directory: &std::path::Path, prefix: ipnet::IpNet) -> bool {
    control_request(
        directory,
        &format!("{{\"command\":\"routes\",\"prefix\":\"{prefix}\"}}"),
    )
    .and_then(|answer| answer["count"].as_u64())
    .is_some_and(|count| count > 0)
}

/// One request on the daemon's control socket, without a process in
/// between (milliseconds matter here); its answer.
fn control_request(directory: &std::path::Path, request: &str) -> Option<serde_json::Value> {
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(directory.join("nodebgp.ctl")).ok()?;
    stream.write_all(format!("{request}\n").as_bytes()).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(&stream).read_line(&mut line).ok()?;
    serde_json::from_str(&line).ok()
}
