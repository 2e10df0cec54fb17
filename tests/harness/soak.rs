//! The soak-and-faults run: one `nodebgp run` on an etcd datastore, peered
//! with real FRR routers and with a BGP speaker of the test's own, taken
//! through rounds of faults. Afterwards nothing may have leaked (sockets,
//! tasks, memory) and every route that should be there must be.
//!
//! ```text
//!   etcd ◄──────────── stopped, restarted; the late peer re-added once it is back
//!    │ bgpPeers (etcdv3)
//!    ▼
//!   nodebgp run ◄───── FRR flap-0..F  `clear bgp` (the flaps, spread over them)
//!    │  ▲  ▲  ▲ ◄───── FRR killed     SIGKILL, then started again
//!    │  │  │  └─────── FRR frozen     SIGSTOP past the 3 s hold time, SIGCONT
//!    │  │  └────────── FRR late       removed, and re-added after an etcd outage
//!    │  └───────────── resetter       whole UPDATEs, half of one, then FIN or RST
//!    ▼
//!   /proc/PID/fd sockets, status "tasks", VmRSS; routes -o json; get -o yaml
//! ```
//!
//! The flaps, kills, freezes and resets of a round run side by side, each on
//! its own peer; the etcd outages follow, alone, so that "every other session
//! stayed up" means something. A warm-up round of every fault comes first:
//! allocator arenas, connection pools and the like grow once. The footprint
//! is measured when the daemon has settled after it, and again after the main
//! round; the second may not exceed the first (memory: by more than 5%).
//!
//! The same code runs at CI size (`tests/soak.rs`) and at full size
//! (`benches/soak.sh`, through the `NODEBGP_SOAK_*` environment variables).

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lab::{Etcd, Kind, NeighborSpec, Router, RouterSpec};
use nodebgp_interop::daemon::{self, global_peer, resources_in, Daemon, UP};

use super::faults::{self, HalfLoad};

/// Our AS.
pub(crate) const OUR_AS: u32 = 64512;

/// The prefix the node originates.
pub(crate) const OUR_PREFIX: &str = "10.99.0.0/24";

/// The AS of the test's own speakers (the synthetic table's paths start with it).
pub(crate) const SENDER_AS: u32 = 64700;

/// How big a run is: how many of each fault, and how many routes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    /// Session flaps (`clear bgp` on FRR), spread over the flapping routers.
    pub(crate) flaps: usize,
    /// FRR routers that are flapped.
    pub(crate) flap_routers: usize,
    /// Times an FRR router is killed (SIGKILL) and started again.
    pub(crate) kills: usize,
    /// Times an FRR router is frozen (SIGSTOP) past its hold time.
    pub(crate) freezes: usize,
    /// Sessions reset in the middle of an UPDATE (FIN and RST in turn).
    pub(crate) resets: usize,
    /// Times etcd is stopped and started again under the running daemon.
    pub(crate) etcd_outages: usize,
    /// Prefixes each FRR router originates (at most 1024).
    pub(crate) routes: usize,
    /// `nodebgp apply` processes killed while writing the file store.
    pub(crate) store_kills: usize,
    /// Prefixes of the table loads the daemon is killed in the middle of.
    pub(crate) load_prefixes: usize,
    /// Times the daemon is killed mid-load, and killed with kernel routes.
    pub(crate) daemon_kills: usize,
}

impl Scale {
    /// The size CI runs: well under 90 s on two cores.
    pub(crate) const CI: Scale = Scale {
        flaps: 50,
        flap_routers: 5,
        kills: 3,
        freezes: 2,
        resets: 6,
        etcd_outages: 1,
        routes: 200,
        store_kills: 16,
        load_prefixes: 50_000,
        daemon_kills: 1,
    };

    /// `defaults`, each overridden by its `NODEBGP_SOAK_*` variable
    /// (`NODEBGP_SOAK_FLAPS`, `…_FLAP_ROUTERS`, `…_KILLS`, `…_FREEZES`,
    /// `…_RESETS`, `…_ETCD_OUTAGES`, `…_ROUTES`, `…_STORE_KILLS`,
    /// `…_LOAD_PREFIXES`, `…_DAEMON_KILLS`).
    pub(crate) fn from_environment(defaults: Scale) -> Scale {
        let read = |name: &str, default: usize| {
            std::env::var(format!("NODEBGP_SOAK_{name}"))
                .ok()
                .and_then(|value| value.parse().ok())
                .unwrap_or(default)
        };
        let scale = Scale {
            flaps: read("FLAPS", defaults.flaps),
            flap_routers: read("FLAP_ROUTERS", defaults.flap_routers).max(1),
            kills: read("KILLS", defaults.kills),
            freezes: read("FREEZES", defaults.freezes),
            resets: read("RESETS", defaults.resets),
            etcd_outages: read("ETCD_OUTAGES", defaults.etcd_outages),
            routes: read("ROUTES", defaults.routes).min(1024),
            store_kills: read("STORE_KILLS", defaults.store_kills),
            load_prefixes: read("LOAD_PREFIXES", defaults.load_prefixes).max(1000),
            daemon_kills: read("DAEMON_KILLS", defaults.daemon_kills),
        };
        println!("soak scale: {scale:?}");
        scale
    }

    /// The warm-up round: one of each fault the run has (one flap per
    /// flapping router).
    fn warm_up(self) -> Scale {
        Scale {
            flaps: self.flaps.min(self.flap_routers),
            kills: self.kills.min(1),
            freezes: self.freezes.min(1),
            resets: self.resets.min(2),
            etcd_outages: self.etcd_outages.min(1),
            ..self
        }
    }
}

/// The seed of a run's random choices: `NODEBGP_SOAK_SEED`, else the clock.
pub(crate) fn seed() -> u64 {
    let seed = std::env::var("NODEBGP_SOAK_SEED")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |time| time.as_nanos() as u64)
        });
    println!("soak seed {seed} (NODEBGP_SOAK_SEED repeats it)");
    seed
}

/// Polls `check` every 100 ms until it gives `Ok`, for at most `within`;
/// the last `Err` (what was seen) on timeout.
pub(crate) fn try_poll<T>(
    within: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let deadline = Instant::now() + within;
    loop {
        match check() {
            Ok(value) => return Ok(value),
            Err(last) if Instant::now() >= deadline => return Err(last),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// [`try_poll`], panicking with `what` and the last thing seen on timeout.
pub(crate) fn poll<T>(what: &str, within: Duration, check: impl FnMut() -> Result<T, String>) -> T {
    try_poll(within, check)
        .unwrap_or_else(|last| panic!("{what}: not within {within:?}; last seen: {last}"))
}

/// Starts `nodebgp run` as node `soak-node` in AS [`OUR_AS`] on `address`,
/// with quick restarts after errors (`--error-wait 1,2`), a 9 s hold time,
/// its log appended to `directory/nodebgp.log` (so that a restarted daemon
/// keeps its predecessor's lines) and its control socket in `directory`;
/// waits until the control socket answers. The kernel FIB is off unless
/// `extra` names a namespace (`--fib-netns`).
pub(crate) fn start_daemon(
    directory: &Path,
    datastore: &str,
    address: IpAddr,
    extra: &[&str],
) -> Daemon {
    let control = directory.join("nodebgp.ctl");
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(directory.join("nodebgp.log"))
        .unwrap();
    let child = Command::new(daemon::nodebgp())
        .args(["run", "--node", "soak-node", "--as", &OUR_AS.to_string()])
        .args(["--listen", &address.to_string(), "--datastore", datastore])
        .arg("--control-socket")
        .arg(&control)
        .args([
            "--connect-retry",
            "1",
            "--hold-time",
            "9",
            "--error-wait",
            "1,2",
        ])
        .args(["--log-level", "info"])
        .args(if extra.contains(&"--fib-netns") {
            &[][..]
        } else {
            &["--no-fib"][..]
        })
        .args(extra)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut daemon = Daemon { child, control };
    poll("the daemon's control socket to answer", UP, || {
        if let Ok(Some(status)) = daemon.child.try_wait() {
            panic!(
                "nodebgp exited at start ({status}):\n{}",
                log_tail(directory, 30)
            );
        }
        daemon.try_status().ok_or_else(|| "no answer".to_owned())
    });
    daemon
}

/// SIGINT to the daemon, which must end within 10 s (it is killed on drop
/// otherwise).
pub(crate) fn stop_daemon(daemon: &mut Daemon) {
    let _ = Command::new("kill")
        .args(["-INT", &daemon.child.id().to_string()])
        .status();
    poll(
        "the daemon to end after SIGINT",
        Duration::from_secs(10),
        || match daemon.child.try_wait() {
            Ok(Some(_)) => Ok(()),
            _ => Err("still running".to_owned()),
        },
    );
}

/// SIGKILL to the daemon, which is reaped.
pub(crate) fn kill_daemon(daemon: &mut Daemon) {
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();
}

/// The last `lines` lines of the daemon's log in `directory`.
pub(crate) fn log_tail(directory: &Path, lines: usize) -> String {
    let log = std::fs::read_to_string(directory.join("nodebgp.log")).unwrap_or_default();
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Panics with the lines around it if the daemon's log has a panic.
pub(crate) fn assert_no_panic(directory: &Path) {
    let log = std::fs::read_to_string(directory.join("nodebgp.log")).unwrap_or_default();
    if let Some(at) = log.find("panicked") {
        let from = log[..at].rfind('\n').map_or(0, |line| line + 1);
        let lines: Vec<&str> = log[from..].lines().take(20).collect();
        panic!(
            "nodebgp panicked ({}):\n{}",
            directory.display(),
            lines.join("\n")
        );
    }
}

/// Removes a passed run's scratch directory, unless `NODEBGP_SOAK_KEEP` is
/// set (a failed run's stays anyway, for its log).
pub(crate) fn clean_up(directory: &Path) {
    if std::env::var_os("NODEBGP_SOAK_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(directory);
    } else {
        println!("kept {}", directory.display());
    }
}

/// The state nodebgp reports for `peer`, `"-"` when it lists no such peer
/// and `"?"` when it does not answer.
pub(crate) fn state_of(daemon: &Daemon, peer: IpAddr) -> String {
    match daemon.try_status() {
        None => "?".to_owned(),
        Some(status) => status["peers"]
            .as_array()
            .and_then(|peers| {
                peers
                    .iter()
                    .find(|listed| listed["peer"] == peer.to_string())
            })
            .map_or_else(
                || "-".to_owned(),
                |listed| listed["state"].as_str().unwrap_or("?").to_owned(),
            ),
    }
}

/// What the daemon holds, as the leak checks count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Footprint {
    /// Open file descriptors that are sockets.
    pub(crate) sockets: usize,
    /// Live tasks of its runtime (`status -o json` "tasks").
    pub(crate) tasks: u64,
    /// VmRSS, KiB.
    pub(crate) rss_kib: u64,
}

impl Footprint {
    /// One sample. Sockets are counted after the status answer, whose own
    /// connection may still be open for an instant: callers sample until
    /// samples agree.
    pub(crate) fn of(daemon: &Daemon) -> Result<Footprint, String> {
        let pid = daemon.child.id();
        let tasks = daemon
            .try_status()
            .and_then(|status| status["tasks"].as_u64())
            .ok_or("no status answer with a task count")?;
        Ok(Footprint {
            sockets: lab::socket_count(pid).ok_or("the daemon is gone")?,
            tasks,
            rss_kib: lab::rss_kib(pid).ok_or("the daemon is gone")?,
        })
    }

    /// Whether `self` is no bigger than `settled`: as many sockets and tasks
    /// at most, and at most 5% more memory.
    pub(crate) fn within(&self, settled: &Footprint) -> bool {
        self.sockets <= settled.sockets
            && self.tasks <= settled.tasks
            && self.rss_kib * 100 <= settled.rss_kib * 105
    }
}

/// Samples the footprint once a second until two samples in a row have the
/// same sockets and tasks and memory within 1%: the daemon has settled.
pub(crate) fn settled_footprint(daemon: &Daemon) -> Footprint {
    let mut last = Footprint::of(daemon).unwrap();
    poll("the daemon's footprint to settle", UP, || {
        std::thread::sleep(Duration::from_secs(1));
        let now = Footprint::of(daemon)?;
        let steady = now.sockets == last.sockets
            && now.tasks == last.tasks
            && now.rss_kib.abs_diff(last.rss_kib) * 100 <= last.rss_kib;
        let previous = std::mem::replace(&mut last, now);
        if steady {
            Ok(now)
        } else {
            Err(format!("{previous:?} then {now:?}"))
        }
    })
}

/// The Loc-RIB as (prefix, peer) pairs; the peer is `None` for our own.
pub(crate) fn loc_rib(daemon: &Daemon) -> BTreeSet<(String, Option<String>)> {
    let answer = daemon.routes(&[]);
    assert_eq!(
        answer["truncated"], false,
        "the Loc-RIB answer was cut short"
    );
    answer["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|route| {
            (
                route["prefix"].as_str().unwrap().to_owned(),
                route["peer"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// Waits until the Loc-RIB is exactly `expected`.
pub(crate) fn wait_for_loc_rib(daemon: &Daemon, expected: &BTreeSet<(String, Option<String>)>) {
    poll("the Loc-RIB to hold every route, and no other", UP, || {
        let now = loc_rib(daemon);
        if &now == expected {
            return Ok(());
        }
        let missing: Vec<_> = expected.difference(&now).take(5).collect();
        let extra: Vec<_> = now.difference(expected).take(5).collect();
        Err(format!(
            "{} routes, {} expected; missing (first 5) {missing:?}; extra (first 5) {extra:?}",
            now.len(),
            expected.len()
        ))
    });
}

/// The `count` prefixes FRR router number `index` originates: /26s of
/// 10.(100 + index).0.0/16.
fn router_routes(index: usize, count: usize) -> Vec<String> {
    (0..count)
        .map(|k| format!("10.{}.{}.{}/26", 100 + index, k / 4, (k % 4) * 64))
        .collect()
}

/// What the faults were, and what the daemon held before and after.
#[derive(Debug)]
pub(crate) struct Figures {
    /// Flaps of the main round, as FRR counted them (sessions it saw come
    /// up again).
    pub(crate) flaps: u64,
    /// FRR routers killed in the main round.
    pub(crate) kills: usize,
    /// FRR routers frozen in the main round.
    pub(crate) freezes: usize,
    /// Sessions reset mid-UPDATE in the main round.
    pub(crate) resets: usize,
    /// How long etcd was away, each outage of the main round.
    pub(crate) etcd_outages: Vec<Duration>,
    /// Settled after the warm-up round.
    pub(crate) settled: Footprint,
    /// After the main round.
    pub(crate) after: Footprint,
    /// The main round's time.
    pub(crate) main_round: Duration,
    /// The whole run's time.
    pub(crate) took: Duration,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (settled, after) = (&self.settled, &self.after);
        writeln!(
            f,
            "main round: {} flaps (as FRR counted them), {} peers killed, {} frozen, {} reset mid-UPDATE, {} etcd outages (longest {:?})",
            self.flaps,
            self.kills,
            self.freezes,
            self.resets,
            self.etcd_outages.len(),
            self.etcd_outages.iter().max().copied().unwrap_or_default()
        )?;
        writeln!(
            f,
            "sockets {} settled, {} after; tasks {} settled, {} after; RSS {} KiB settled, {} KiB after ({:+.1}%)",
            settled.sockets,
            after.sockets,
            settled.tasks,
            after.tasks,
            settled.rss_kib,
            after.rss_kib,
            (after.rss_kib as f64 / settled.rss_kib as f64 - 1.0) * 100.0
        )?;
        write!(
            f,
            "main round {:.1?}, whole run {:.1?}",
            self.main_round, self.took
        )
    }
}

/// The routers and the daemon under soak.
struct Soak {
    daemon: Daemon,
    directory: std::path::PathBuf,
    etcd: Etcd,
    datastore: String,
    ours: IpAddr,
    resetter: Ipv4Addr,
    flappers: Vec<Router>,
    killed: Router,
    frozen: Router,
    late: Router,
    expected: BTreeSet<(String, Option<String>)>,
}

/// What one round did.
#[derive(Debug, Default)]
struct Tally {
    flaps: u64,
    outages: Vec<Duration>,
}

/// Runs the whole scenario; panics on a failed check, with what was seen.
pub(crate) fn run(scale: Scale, seed: u64) -> Figures {
    let started = Instant::now();
    lab::require(Kind::Frr);
    let etcd = Etcd::start("soak").unwrap_or_else(|error| panic!("{error}"));
    let datastore = format!("etcdv3:{}", etcd.endpoint());
    let ours = daemon::address();
    // Removed by `clean_up`, which NODEBGP_SOAK_KEEP stops.
    let directory = daemon::scratch("soak").keep();
    let resetter = lab::free_loopback_address().unwrap();
    // What the resetter sends: some 500 prefixes, then half an UPDATE.
    let load = HalfLoad::new(500, seed);

    // The routers, started side by side: F flapping, then the killed, the
    // frozen and the late one. The frozen one's 3 s hold time makes a
    // freeze short.
    let count = scale.flap_routers + 3;
    let specs: Vec<RouterSpec> = (0..count)
        .map(|index| {
            let name = match index.checked_sub(scale.flap_routers) {
                None => format!("soak-flap-{index}"),
                Some(0) => "soak-killed".to_owned(),
                Some(1) => "soak-frozen".to_owned(),
                Some(_) => "soak-late".to_owned(),
            };
            let hold = if name == "soak-frozen" { 3 } else { 9 };
            RouterSpec::new(Kind::Frr, name, daemon::address(), 65300 + index as u32)
                .neighbor(
                    NeighborSpec::new(ours, OUR_AS)
                        .with_connect_retry(1)
                        .with_hold_time(hold),
                )
                .routes(router_routes(index, scale.routes))
        })
        .collect();
    let mut routers: Vec<Router> = std::thread::scope(|scope| {
        let starting: Vec<_> = specs
            .into_iter()
            .map(|spec| scope.spawn(move || Router::start(spec)))
            .collect();
        starting
            .into_iter()
            .map(|start| {
                start
                    .join()
                    .unwrap()
                    .unwrap_or_else(|error| panic!("{error}"))
            })
            .collect()
    });
    let mut expected: BTreeSet<(String, Option<String>)> = routers
        .iter()
        .enumerate()
        .flat_map(|(index, router)| {
            router_routes(index, scale.routes)
                .into_iter()
                .map(move |prefix| (prefix, Some(router.address().to_string())))
        })
        .collect();
    expected.insert((OUR_PREFIX.to_owned(), None));
    let peers: Vec<String> = routers
        .iter()
        .map(|router| global_peer(router.address(), &router.asn().to_string()))
        .collect();
    let applied = resources_in("apply", &datastore, &peers.join("---\n"));
    assert!(applied.status.success(), "apply: {applied:?}");
    let daemon = start_daemon(&directory, &datastore, ours, &["--advertise", OUR_PREFIX]);
    let late = routers.pop().unwrap();
    let frozen = routers.pop().unwrap();
    let killed = routers.pop().unwrap();
    let mut soak = Soak {
        daemon,
        directory,
        etcd,
        datastore,
        ours,
        resetter,
        flappers: routers,
        killed,
        frozen,
        late,
        expected,
    };
    soak.settle();
    println!("soak: up after {:?}", started.elapsed());

    soak.round(scale.warm_up(), &load);
    soak.settle();
    let settled = settled_footprint(&soak.daemon);
    println!(
        "soak: settled after the warm-up at {:?}: {settled:?}",
        started.elapsed()
    );

    let main_started = Instant::now();
    let tally = soak.round(scale, &load);
    let main_round = main_started.elapsed();
    soak.settle();
    let after = poll(
        "the footprint back within the settled one (sockets, tasks; memory +5%)",
        UP,
        || {
            let now = Footprint::of(&soak.daemon)?;
            if now.within(&settled) {
                Ok(now)
            } else {
                Err(format!("{now:?}, settled {settled:?}"))
            }
        },
    );
    soak.check_store();
    assert!(
        matches!(soak.daemon.child.try_wait(), Ok(None)),
        "the daemon exited"
    );
    assert_no_panic(&soak.directory);
    stop_daemon(&mut soak.daemon);
    assert_no_panic(&soak.directory);
    clean_up(&soak.directory);
    Figures {
        flaps: tally.flaps,
        kills: scale.kills,
        freezes: scale.freezes,
        resets: scale.resets,
        etcd_outages: tally.outages,
        settled,
        after,
        main_round,
        took: started.elapsed(),
    }
}

impl Soak {
    fn routers(&self) -> impl Iterator<Item = &Router> {
        self.flappers
            .iter()
            .chain([&self.killed, &self.frozen, &self.late])
    }

    /// Every session up on both sides, every route in, ours at every router.
    fn settle(&self) {
        for router in self.routers() {
            faults::wait_established(&self.daemon, router, self.ours);
        }
        wait_for_loc_rib(&self.daemon, &self.expected);
        for router in self.routers() {
            router
                .wait_for_prefixes(self.ours, &[OUR_PREFIX], UP)
                .unwrap_or_else(|error| panic!("{error}"));
        }
    }

    /// One round: flaps, kills, freezes and resets side by side, each on its
    /// own peer; then the etcd outages, alone.
    fn round(&mut self, counts: Scale, load: &HalfLoad) -> Tally {
        let resetter_peer = global_peer(IpAddr::V4(self.resetter), &SENDER_AS.to_string());
        if counts.resets > 0 {
            let applied = resources_in("apply", &self.datastore, &resetter_peer);
            assert!(applied.status.success(), "apply: {applied:?}");
        }
        let Soak {
            daemon,
            ours,
            resetter,
            flappers,
            killed,
            frozen,
            ..
        } = self;
        let (daemon, ours, resetter) = (&*daemon, *ours, *resetter);
        let routers = flappers.len();
        let flaps = std::thread::scope(|scope| {
            let flapping: Vec<_> = flappers
                .iter()
                .enumerate()
                .map(|(index, router)| {
                    let times =
                        counts.flaps / routers + usize::from(index < counts.flaps % routers);
                    scope.spawn(move || faults::flap(router, daemon, ours, times))
                })
                .collect();
            let killing =
                scope.spawn(move || faults::kill_and_restart(killed, daemon, ours, counts.kills));
            let freezing =
                scope.spawn(move || faults::freeze(frozen, daemon, ours, counts.freezes));
            let remote = SocketAddr::new(ours, 179);
            let resetting = scope.spawn(move || {
                faults::reset_mid_update(resetter, remote, daemon, load, counts.resets)
            });
            let flaps: u64 = flapping.into_iter().map(joined).sum();
            joined(killing);
            joined(freezing);
            joined(resetting);
            flaps
        });
        if counts.resets > 0 {
            let deleted = resources_in("delete", &self.datastore, &resetter_peer);
            assert!(deleted.status.success(), "delete: {deleted:?}");
            let resetter = IpAddr::V4(self.resetter);
            poll("the resetter's peer to be gone", UP, || {
                match state_of(&self.daemon, resetter).as_str() {
                    "-" => Ok(()),
                    other => Err(other.to_owned()),
                }
            });
        }
        let outages = (0..counts.etcd_outages)
            .map(|_| self.etcd_outage())
            .collect();
        Tally { flaps, outages }
    }

    /// etcd goes away under the running daemon. Every session stays up
    /// (FRR sees none of them start again) while the daemon fails to read
    /// it twice; the late peer, removed before and added once etcd is
    /// back, is picked up.
    fn etcd_outage(&mut self) -> Duration {
        let late = self.late.address();
        let late_peer = global_peer(late, &self.late.asn().to_string());
        let deleted = resources_in("delete", &self.datastore, &late_peer);
        assert!(deleted.status.success(), "delete: {deleted:?}");
        poll("the late peer to be gone", UP, || {
            match state_of(&self.daemon, late).as_str() {
                "-" => Ok(()),
                other => Err(other.to_owned()),
            }
        });
        let others: Vec<&Router> = self
            .flappers
            .iter()
            .chain([&self.killed, &self.frozen])
            .collect();
        let sessions = |others: &[&Router]| -> Vec<u64> {
            others
                .iter()
                .map(|router| faults::frr_session(router, self.ours).unwrap().0)
                .collect()
        };
        let before = sessions(&others);
        let warned = failed_reads(&self.directory);
        let stopped = Instant::now();
        self.etcd.stop();
        poll("two failed reads of the stopped etcd", UP, || {
            let status = self
                .daemon
                .try_status()
                .ok_or("no status answer while etcd is down")?;
            for router in &others {
                let address = router.address().to_string();
                let state = status["peers"]
                    .as_array()
                    .and_then(|peers| peers.iter().find(|peer| peer["peer"] == address))
                    .map(|peer| peer["state"].clone());
                assert_eq!(
                    state,
                    Some("Established".into()),
                    "{address} left Established while etcd was down"
                );
            }
            let failed = failed_reads(&self.directory) - warned;
            if failed >= 2 {
                Ok(())
            } else {
                Err(format!("{failed} failed reads logged"))
            }
        });
        self.etcd
            .restart()
            .unwrap_or_else(|error| panic!("{error}"));
        let outage = stopped.elapsed();
        // Added once etcd is back: picked up at the daemon's next try.
        let applied = resources_in("apply", &self.datastore, &late_peer);
        assert!(applied.status.success(), "apply: {applied:?}");
        faults::wait_established(&self.daemon, &self.late, self.ours);
        assert_eq!(
            sessions(&others),
            before,
            "sessions FRR saw come up, per router: one restarted during the etcd outage"
        );
        outage
    }

    /// The datastore still holds every peer, as `nodebgp get -o yaml` prints it.
    fn check_store(&self) {
        let output = Command::new(daemon::nodebgp())
            .args([
                "get",
                "bgppeers",
                "-o",
                "yaml",
                "--datastore",
                &self.datastore,
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "get: {output:?}");
        let text = String::from_utf8_lossy(&output.stdout);
        for router in self.routers() {
            assert!(
                text.contains(&format!("peerIP: {}\n", router.address())),
                "{} is missing from the store:\n{text}",
                router.address()
            );
        }
        assert_eq!(
            text.matches("peerIP:").count(),
            self.routers().count(),
            "{text}"
        );
    }
}

/// A scoped thread's result; its panic goes on in this thread.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// How many failed datastore reads the daemon has logged.
fn failed_reads(directory: &Path) -> usize {
    std::fs::read_to_string(directory.join("nodebgp.log"))
        .unwrap_or_default()
        .matches("cannot read peers")
        .count()
}
