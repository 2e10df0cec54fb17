//! Processes killed with SIGKILL where it hurts most, and what must hold
//! after a restart:
//!
//! - the daemon in the middle of a table load: on the same store it comes
//!   back, its sessions return and the table is learned again, whole;
//! - the daemon with kernel routes installed (in a namespace of the test's
//!   own): the next run keeps the routes the peers still send and removes
//!   the ones they stopped sending while it was away;
//! - `nodebgp apply` in the middle of a store write, while another apply
//!   loop writes too: the file store stays whole, every batch in or out
//!   entirely, and every write that succeeded is there.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bgp_wire::{CodecContext, Message};
use lab::{Kind, NeighborSpec, Router, RouterSpec};
use nodebgp_benches::SplitMix64;
use nodebgp_interop::daemon::{self, global_peer, Daemon, UP};
use nodebgp_interop::netns::Namespace;
use serde_json::Value;

use super::faults::wait_established;
use super::sender;
use super::soak::{
    assert_no_panic, clean_up, kill_daemon, poll, start_daemon, stop_daemon, wait_for_loc_rib,
    Scale, OUR_AS, SENDER_AS,
};

/// The Loc-RIB is read whole (routes -o json) up to this many routes; the
/// daemon answers at most 100,000.
const WHOLE_LOC_RIB: usize = 100_000;

/// What the mid-load kills measured.
#[derive(Debug, Default)]
pub(crate) struct LoadFigures {
    /// Prefixes the daemon held from the table at each kill (the next
    /// tenth was on its way in).
    pub(crate) held_at_kill: Vec<u64>,
    /// From the restart to the whole table held again.
    pub(crate) relearned: Vec<Duration>,
}

/// `prefixes` received from `peer`, as `nodebgp status` counts them.
fn received(daemon: &Daemon, peer: IpAddr) -> Result<u64, String> {
    let status = daemon.peer(peer).ok_or("not listed, or no answer")?;
    status["prefixes"]["received"]
        .as_u64()
        .ok_or_else(|| format!("no prefix count: {status}"))
}

/// The daemon killed `scale.daemon_kills` times while a sender pours a
/// `scale.load_prefixes`-prefix table into it (at a random point of the
/// load), and restarted on the same store each time: FRR's session comes
/// back, and the sender's table is learned again, whole.
pub(crate) fn killed_mid_load(scale: Scale, seed: u64) -> LoadFigures {
    lab::require(Kind::Frr);
    let directory = daemon::scratch("soak-load").keep();
    let store = daemon::store_url(&directory);
    let ours = daemon::address();
    let sending = lab::free_loopback_address().unwrap();
    let frr_routes: Vec<String> = (0..50).map(|k| format!("10.120.{k}.0/24")).collect();
    let router = Router::start(
        RouterSpec::new(Kind::Frr, "soak-load", daemon::address(), 65401)
            .neighbor(
                NeighborSpec::new(ours, OUR_AS)
                    .with_connect_retry(1)
                    .with_hold_time(9),
            )
            .routes(frr_routes.clone()),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    daemon::apply(
        &directory,
        &format!(
            "{}---\n{}",
            global_peer(router.address(), "65401"),
            global_peer(IpAddr::V4(sending), &SENDER_AS.to_string())
        ),
    );
    let updates = nodebgp_benches::synthetic_full_table(scale.load_prefixes, seed);
    let per_update: Vec<Vec<String>> = updates.iter().map(prefixes_of).collect();
    let total: u64 = per_update
        .iter()
        .map(|prefixes| prefixes.len() as u64)
        .sum();
    let table = Arc::new(sender::stream_of(&updates, bgp_wire::Family::IPV4_UNICAST));
    // The whole Loc-RIB, where the daemon answers with all of it.
    let expected: Option<BTreeSet<(String, Option<String>)>> =
        (total as usize + frr_routes.len() < WHOLE_LOC_RIB).then(|| {
            let from_sender = Some(sending.to_string());
            let from_frr = Some(router.address().to_string());
            per_update
                .iter()
                .flatten()
                .map(|prefix| (prefix.clone(), from_sender.clone()))
                .chain(
                    frr_routes
                        .iter()
                        .map(|prefix| (prefix.clone(), from_frr.clone())),
                )
                .collect()
        });
    let counts: Vec<u64> = per_update
        .into_iter()
        .map(|prefixes| prefixes.len() as u64)
        .collect();
    // A generous time for a whole load: debug builds take ~20 µs a prefix.
    let load_time = UP + Duration::from_micros(100) * scale.load_prefixes as u32;
    let remote = SocketAddr::new(ours, 179);
    let mut random = SplitMix64::new(seed);
    let mut figures = LoadFigures::default();
    let mut running = start_daemon(&directory, &store, ours, &[]);
    wait_established(&running, &router, ours);
    for _ in 0..scale.daemon_kills {
        // The table up to a random share of it (10% to 70%) goes first and
        // is held; the kill comes the moment the next tenth has been handed
        // to the kernel, on its way in, the rest of the table yet to come.
        let upto = |share: u64| {
            let (mut end, mut held) = (0, 0);
            while held < share && end < counts.len() {
                held += counts[end];
                end += 1;
            }
            (end, held)
        };
        let (split, first) = upto(total * (10 + random.below(60)) / 100);
        let (next, _) = upto(first + total / 10);
        let session = sender::connect(sending, remote, Instant::now() + UP)
            .unwrap_or_else(|error| panic!("{error}"));
        let write = |updates: &[bytes::Bytes]| {
            let bytes: Vec<u8> = updates.concat();
            session
                .write_all(Arc::new(bytes))
                .unwrap()
                .join()
                .unwrap()
                .unwrap_or_else(|error| panic!("{error}"));
        };
        write(&updates[..split]);
        poll(
            "the first part of the table held",
            load_time,
            || match received(&running, IpAddr::V4(sending))? {
                held if held == first => Ok(()),
                held => Err(format!("{held} of {first} prefixes")),
            },
        );
        write(&updates[split..next]);
        kill_daemon(&mut running);
        figures.held_at_kill.push(first);
        drop(session);

        let restarted = Instant::now();
        running = start_daemon(&directory, &store, ours, &[]);
        wait_established(&running, &router, ours);
        let session = sender::connect(sending, remote, Instant::now() + UP)
            .unwrap_or_else(|error| panic!("{error}"));
        let writer = session.write_all(Arc::clone(&table)).unwrap();
        poll(
            "the whole table learned again",
            load_time,
            || match received(&running, IpAddr::V4(sending))? {
                held if held == total => Ok(()),
                held => Err(format!("{held} of {total} prefixes")),
            },
        );
        figures.relearned.push(restarted.elapsed());
        writer
            .join()
            .unwrap()
            .unwrap_or_else(|error| panic!("{error}"));
        match &expected {
            Some(expected) => wait_for_loc_rib(&running, expected),
            None => {
                // Too big to list whole: FRR's routes (the table's count
                // is the status's, above).
                let frr = router.address().to_string();
                poll("FRR's routes in the Loc-RIB", UP, || {
                    let answer = running.routes(&["--peer", &frr]);
                    let held: BTreeSet<&str> = answer["routes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|route| route["prefix"].as_str())
                        .collect();
                    let wanted: BTreeSet<&str> = frr_routes.iter().map(String::as_str).collect();
                    if held == wanted {
                        Ok(())
                    } else {
                        Err(format!("{} of {} routes", held.len(), wanted.len()))
                    }
                });
            }
        }
        // The session ends; the next round's load starts on a new one.
        drop(session);
    }
    assert_no_panic(&directory);
    stop_daemon(&mut running);
    assert_no_panic(&directory);
    clean_up(&directory);
    figures
}

/// The prefixes an UPDATE announces, as text.
fn prefixes_of(update: &bytes::Bytes) -> Vec<String> {
    let Message::Update(update) = Message::decode(update, &CodecContext::default())
        .unwrap()
        .message
    else {
        panic!("the synthetic table holds UPDATEs only");
    };
    update
        .announced
        .iter()
        .map(|nlri| nlri.prefix.trunc().to_string())
        .collect()
}

/// nodebgp's kernel routes in `namespace` (protocol 244), IPv4: prefix to
/// gateways.
fn kernel_routes(namespace: &str) -> BTreeMap<String, BTreeSet<String>> {
    let output = Command::new("ip")
        .args(["-j", "-4", "-n", namespace, "route", "show", "proto", "244"])
        .output()
        .unwrap();
    assert!(output.status.success(), "ip route: {output:?}");
    let routes: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    routes
        .as_array()
        .into_iter()
        .flatten()
        .map(|route| {
            let mut gateways = BTreeSet::new();
            if let Some(gateway) = route["gateway"].as_str() {
                gateways.insert(gateway.to_owned());
            }
            for hop in route["nexthops"].as_array().into_iter().flatten() {
                if let Some(gateway) = hop["gateway"].as_str() {
                    gateways.insert(gateway.to_owned());
                }
            }
            (route["dst"].as_str().unwrap_or("?").to_owned(), gateways)
        })
        .collect()
}

/// What the kernel should hold: each router's prefixes via its next hop,
/// shared ones via both.
fn kernel_expected(routers: &[(&[String], &str)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (prefixes, gateway) in routers {
        for prefix in *prefixes {
            expected
                .entry(prefix.clone())
                .or_default()
                .insert((*gateway).to_owned());
        }
    }
    expected
}

/// The daemon, with kernel routes from two FRRs installed in a namespace of
/// the test's own, killed `scale.daemon_kills` times; while it is away the
/// routers stop sending some prefixes and start sending others. After each
/// restart the kernel holds exactly what they send (stale routes gone), a
/// route they kept sending was never absent, and a route of another
/// protocol was never touched. `None` where namespaces cannot be made.
pub(crate) fn killed_with_kernel_routes(scale: Scale) -> Option<usize> {
    lab::require(Kind::Frr);
    let namespace = Namespace::create("soak-fib")?;
    namespace.add_network("198.51.100.1/24");
    namespace.run(&[
        "route",
        "add",
        "203.0.113.0/24",
        "via",
        "198.51.100.9",
        "proto",
        "static",
    ]);
    let directory = daemon::scratch("soak-fib").keep();
    let store = daemon::store_url(&directory);
    let ours = daemon::address();
    let (first_hop, second_hop) = ("198.51.100.21", "198.51.100.22");
    // The first router sends its own prefixes and the shared one; the
    // second its own, and the shared one while `shared_by_both`.
    let shared = "10.142.0.0/24".to_owned();
    let mut first_own: Vec<String> = (0..20).map(|k| format!("10.140.{k}.0/24")).collect();
    let second_own: Vec<String> = (0..20).map(|k| format!("10.141.{k}.0/24")).collect();
    let mut shared_by_both = true;
    let expected = |first_own: &[String], shared_by_both: bool| {
        let mut first: Vec<String> = first_own.to_vec();
        first.push(shared.clone());
        let mut second = second_own.clone();
        if shared_by_both {
            second.push(shared.clone());
        }
        kernel_expected(&[(&first, first_hop), (&second, second_hop)])
    };
    let frr = |name: &str, routes: Vec<String>, next_hop: &str| {
        Router::start(
            RouterSpec::new(Kind::Frr, name, daemon::address(), 65411)
                .neighbor(
                    NeighborSpec::new(ours, OUR_AS)
                        .with_connect_retry(1)
                        .with_hold_time(9),
                )
                .routes(routes)
                .next_hop(next_hop.parse().unwrap())
                .with_graceful_restart(),
        )
        .unwrap_or_else(|error| panic!("{error}"))
    };
    let mut first = frr(
        "soak-fib-a",
        first_own.iter().chain([&shared]).cloned().collect(),
        first_hop,
    );
    let mut second = frr(
        "soak-fib-b",
        second_own.iter().chain([&shared]).cloned().collect(),
        second_hop,
    );
    daemon::apply(
        &directory,
        &format!(
            "{}---\n{}",
            global_peer(first.address(), "65411"),
            global_peer(second.address(), "65411")
        ),
    );
    // The restart time bounds how long a restarted daemon waits for its
    // peers' End-of-RIB before it removes stale routes.
    let arguments = ["--fib-netns", namespace.name(), "--restart-time", "30"];
    let mut running = start_daemon(&directory, &store, ours, &arguments);
    let in_kernel = |expected: &BTreeMap<String, BTreeSet<String>>, within: Duration| {
        poll(
            "the kernel to hold exactly what the peers send",
            within,
            || {
                let now = kernel_routes(namespace.name());
                if &now == expected {
                    Ok(())
                } else {
                    Err(format!("{now:?}, expected {expected:?}"))
                }
            },
        );
    };
    in_kernel(&expected(&first_own, shared_by_both), UP);
    // Sent all along, so never to leave the kernel.
    let kept = first_own[0].clone();
    for round in 0..scale.daemon_kills {
        let watcher = namespace.watch_route(&kept);
        kill_daemon(&mut running);
        // While it is away: the first router stops sending one of its
        // prefixes and sends a new one; the second stops sending the shared
        // one (or sends it again, every other round).
        if first_own.len() > 1 {
            let gone = first_own.pop().unwrap();
            first.remove_routes(&[&gone]).unwrap();
        }
        let new = format!("10.{}.{}.0/24", 143 + round / 256 % 100, round % 256);
        first.add_routes(&[&new]).unwrap();
        first_own.push(new);
        if shared_by_both {
            second.remove_routes(&[&shared]).unwrap();
        } else {
            second.add_routes(&[&shared]).unwrap();
        }
        shared_by_both = !shared_by_both;
        running = start_daemon(&directory, &store, ours, &arguments);
        in_kernel(
            &expected(&first_own, shared_by_both),
            UP + Duration::from_secs(30),
        );
        let samples = watcher.stop();
        assert!(samples.taken > 10, "{samples:?}");
        assert_eq!(
            samples.missing, 0,
            "{kept}, sent all along, was missing from the kernel in {} of {} samples",
            samples.missing, samples.taken
        );
        assert_eq!(
            namespace.next_hops("203.0.113.0/24"),
            ["198.51.100.9"],
            "a route of another protocol was touched"
        );
    }
    assert_no_panic(&directory);
    stop_daemon(&mut running);
    assert_eq!(
        kernel_routes(namespace.name()),
        BTreeMap::new(),
        "SIGINT leaves no kernel routes"
    );
    assert_no_panic(&directory);
    clean_up(&directory);
    Some(scale.daemon_kills)
}

/// What the killed applies left.
#[derive(Debug, Default)]
pub(crate) struct StoreFigures {
    /// Killed applies whose batch was in the store after (written before
    /// the kill, or finished before it).
    pub(crate) committed: usize,
    /// Killed applies whose batch was not.
    pub(crate) lost: usize,
    /// Killed applies caught in the middle of writing the new state: its
    /// temporary file was there after the kill.
    pub(crate) torn: usize,
    /// Applies of the concurrent loop, all of which succeeded.
    pub(crate) concurrent: usize,
}

/// Victims of the killed applies: always the same resources, so the store
/// keeps its size; each batch gives them all one new AS number.
const VICTIMS: usize = 100;

fn victims(generation: u32) -> String {
    (0..VICTIMS)
        .map(|k| {
            format!(
                "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: victim-{k}\nspec:\n  peerIP: 10.200.{}.{}\n  asNumber: {}\n",
                k / 250,
                k % 250 + 1,
                65000 + generation
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

/// `nodebgp apply -f -` of `yaml` against `store`, which must end within
/// `within` (a writer that died holding the lock must not stall it).
fn apply_within(store: &str, yaml: &str, within: Duration) -> Output {
    let mut child = Command::new(daemon::nodebgp())
        .args(["apply", "-f", "-", "--datastore", store])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(yaml.as_bytes())
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > within {
            let _ = child.kill();
            panic!("nodebgp apply did not end within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// `nodebgp get bgppeers -o FORMAT` of `store`, which must succeed.
fn get(store: &str, format: &str) -> String {
    let output = Command::new(daemon::nodebgp())
        .args(["get", "bgppeers", "-o", format, "--datastore", store])
        .output()
        .unwrap();
    assert!(output.status.success(), "get: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// The v1 peers' addresses and the v3 peers' AS numbers by name, of a
/// `get bgppeers -o json` answer.
fn read_store(store: &str) -> (BTreeSet<String>, BTreeMap<String, u64>) {
    let listed: Value = serde_json::from_str(&get(store, "json")).unwrap();
    let mut addresses = BTreeSet::new();
    let mut named = BTreeMap::new();
    // One shape whatever the mix: a list kind with `items`.
    for document in listed["items"].as_array().unwrap() {
        match document["kind"].as_str() {
            Some("bgpPeer") => {
                addresses.insert(document["metadata"]["peerIP"].as_str().unwrap().to_owned());
            }
            _ => {
                named.insert(
                    document["metadata"]["name"].as_str().unwrap().to_owned(),
                    document["spec"]["asNumber"].as_u64().unwrap(),
                );
            }
        }
    }
    (addresses, named)
}

/// `scale.store_kills` applies of a 100-resource batch killed (SIGKILL) at
/// a random point of their write, while another loop applies one peer at a
/// time. After each kill the store reads: every victim has the AS number of
/// one batch (never a mix), and every peer the loop applied is there.
pub(crate) fn killed_applies(scale: Scale, seed: u64) -> StoreFigures {
    let directory = daemon::scratch("soak-store").keep();
    let store = daemon::store_url(&directory);
    let base: Vec<String> = (1..=20).map(|k| format!("192.0.2.{k}")).collect();
    let yaml: Vec<String> = base
        .iter()
        .map(|address| global_peer(address.parse().unwrap(), "65010"))
        .collect();
    let output = apply_within(&store, &yaml.join("---\n"), UP);
    assert!(output.status.success(), "{output:?}");
    let output = apply_within(&store, &victims(0), UP);
    assert!(output.status.success(), "{output:?}");
    // How long an apply took to start writing, the last time one was
    // watched: kills at a random moment fall up to half as long again.
    let mut writing_after = Duration::from_millis(100);
    let mut random = SplitMix64::new(seed);
    let mut figures = StoreFigures::default();
    let mut generation = 0;
    let stop = AtomicBool::new(false);
    let applied: Mutex<Vec<String>> = Mutex::new(base);
    std::thread::scope(|scope| {
        let concurrent = scope.spawn(|| {
            let mut count = 0;
            while !stop.load(Ordering::Relaxed) {
                let address = format!("10.201.{}.{}", count / 250, count % 250 + 1);
                let output =
                    apply_within(&store, &global_peer(address.parse().unwrap(), "65020"), UP);
                assert!(output.status.success(), "the concurrent apply: {output:?}");
                applied.lock().unwrap().push(address);
                count += 1;
            }
            count
        });
        let killing = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for kill in 1..=scale.store_kills as u32 {
                let mut child = Command::new(daemon::nodebgp())
                    .args(["apply", "-f", "-", "--datastore", &store])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let mut input = child.stdin.take().unwrap();
                input.write_all(victims(kill).as_bytes()).unwrap();
                drop(input);
                let spawned = Instant::now();
                let temporary = format!(".store.yaml.tmp.{}.", child.id());
                if kill % 2 == 1 {
                    // Every other kill the moment its new state is being
                    // written: as soon as its temporary file shows.
                    let deadline = Instant::now() + UP;
                    while !temporary_files(&directory.join("store"))
                        .iter()
                        .any(|name| name.starts_with(&temporary))
                        && child.try_wait().unwrap().is_none()
                    {
                        assert!(Instant::now() < deadline, "apply {kill} never wrote");
                        std::thread::sleep(Duration::from_micros(50));
                    }
                    writing_after = spawned.elapsed();
                } else {
                    // The others at a moment drawn at random: the fault's
                    // moment, not a synchronisation.
                    let spread = writing_after.as_micros() as u64 * 3 / 2;
                    std::thread::sleep(Duration::from_micros(random.below(spread.max(1))));
                }
                let _ = child.kill();
                let finished = child.wait().unwrap().success();
                let torn = temporary_files(&directory.join("store"))
                    .iter()
                    .any(|name| name.starts_with(&temporary));
                figures.torn += usize::from(torn);
                let expected_before: Vec<String> = applied.lock().unwrap().clone();
                let (addresses, named) = read_store(&store);
                let missing: Vec<&String> = expected_before
                    .iter()
                    .filter(|address| !addresses.contains(*address))
                    .collect();
                assert!(
                    missing.is_empty(),
                    "peers applied before kill {kill} are missing: {missing:?}"
                );
                let numbers: BTreeSet<u64> = named.values().copied().collect();
                assert_eq!(named.len(), VICTIMS, "victims: {named:?}");
                let now = match numbers.iter().collect::<Vec<_>>()[..] {
                    [&number] => number as u32 - 65000,
                    _ => panic!("kill {kill} left a mix of batches: {numbers:?}"),
                };
                if now == kill {
                    figures.committed += 1;
                } else {
                    assert_eq!(now, generation, "victims of neither batch");
                    assert!(!finished, "a finished apply's batch is missing");
                    figures.lost += 1;
                }
                generation = now;
            }
        }));
        stop.store(true, Ordering::Relaxed);
        figures.concurrent = concurrent
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        if let Err(panic) = killing {
            std::panic::resume_unwind(panic);
        }
    });
    // Everything reads back, as the operator sees it.
    let text = get(&store, "yaml");
    for address in applied.lock().unwrap().iter() {
        assert!(
            text.contains(&format!("peerIP: {address}\n")),
            "{address} missing"
        );
    }
    assert_eq!(text.matches("name: victim-").count(), VICTIMS, "{text}");
    let leftovers = temporary_files(&directory.join("store"));
    assert!(
        leftovers.is_empty(),
        "killed writers' temporary files outlive the next open: {leftovers:?}"
    );
    clean_up(&directory);
    figures
}

/// Files a writer leaves while it writes (`.store.yaml.tmp.*`).
fn temporary_files(store: &Path) -> Vec<String> {
    std::fs::read_dir(store)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".store.yaml.tmp."))
        .collect()
}
