//! The stress run's load against BIRD 2, for `benches/stress.sh` to measure
//! beside nodebgp in the same run (`NODEBGP_STRESS_BIRD=1`; never in CI).
//! The same senders and table, the same 3 s hold-time probe peer; status is
//! `birdc show protocols`, the probe's prefix is looked for with `birdc show
//! route`, and the process is timed until gone after SIGINT or SIGTERM. BIRD
//! takes its peers from its configuration file, not a datastore, so the
//! deletion and AS change of the nodebgp rounds have no counterpart here.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lab::{Kind, NeighborSpec, Router, RouterSpec};
use nodebgp_benches::SplitMix64;

use super::sender;
use super::stress::{probe_update, Measured, Scale};

/// One round against BIRD: load, status and probe for a random while, then
/// `signal`.
pub(crate) fn bird_round(
    name: &str,
    scale: Scale,
    table: &Arc<Vec<u8>>,
    signal: &'static str,
    random: &mut SplitMix64,
    measured: &mut Measured,
) {
    let free = || lab::free_loopback_address().expect("a free loopback address");
    let listen = free();
    let senders: Vec<Ipv4Addr> = (0..scale.peers).map(|_| free()).collect();
    let probe_address = free();
    let mut spec = RouterSpec::new(Kind::Bird, name, IpAddr::V4(listen), 64512).with_export(false);
    for address in &senders {
        spec = spec.neighbor(
            NeighborSpec::new(IpAddr::V4(*address), 64700)
                .with_passive(true)
                .with_hold_time(0),
        );
    }
    spec = spec.neighbor(
        NeighborSpec::new(IpAddr::V4(probe_address), 64700)
            .with_passive(true)
            .with_hold_time(9),
    );
    let router = Router::start(spec).expect("BIRD starts");
    let remote = SocketAddr::new(IpAddr::V4(listen), router.port());
    let deadline = || Instant::now() + Duration::from_secs(30);
    let probe = sender::connect_with_hold_time(probe_address, remote, deadline(), 3)
        .unwrap_or_else(|error| panic!("{error}\n{}", router.log_tail(20)));
    let keepalives = probe.keep_alive(Duration::from_secs(1)).unwrap();
    let sessions: Vec<sender::Session> = senders
        .iter()
        .map(|address| {
            sender::connect(*address, remote, deadline())
                .unwrap_or_else(|error| panic!("{error}\n{}", router.log_tail(20)))
        })
        .collect();
    let writers: Vec<_> = sessions
        .iter()
        .map(|session| session.write_all(Arc::clone(table)).unwrap())
        .collect();
    let mut probes = 0_u32;
    // About as long as a nodebgp round lasts before its signal.
    let until = Instant::now() + Duration::from_millis(1500 + random.below(2500));
    while Instant::now() < until {
        let asked = Instant::now();
        let answer = router.cli(&["show", "protocols"]);
        let took = asked.elapsed();
        assert!(
            answer.is_ok() && took < scale.limit,
            "birdc unanswered for {took:?}"
        );
        measured.status.push(took);
        probes += 1;
        let prefix: ipnet::IpNet = format!("198.18.{}.{}/32", probes / 250, probes % 250)
            .parse()
            .unwrap();
        let sent = Instant::now();
        probe
            .send(&probe_update(prefix, probe_address))
            .expect("the probe's UPDATE");
        let shown = prefix.to_string();
        while !router
            .cli(&["show", "route", &shown])
            .is_ok_and(|text| text.contains(&shown))
        {
            assert!(
                sent.elapsed() < scale.limit,
                "the probe's {prefix} never reached BIRD's table\n{}",
                router.log_tail(20)
            );
        }
        measured.probe_updates.push(sent.elapsed());
        std::thread::sleep(Duration::from_millis(200));
    }
    let held = router.received_count(IpAddr::V4(senders[0])).unwrap_or(0);
    measured.held_at_signal.push(held);
    let signalled = Instant::now();
    let _ = std::process::Command::new("kill")
        .args([signal, &router.pid().to_string()])
        .status();
    while router.is_running() {
        assert!(
            signalled.elapsed() < scale.limit,
            "BIRD still running {:?} after {signal}",
            signalled.elapsed()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    measured.exits.push((signal, signalled.elapsed()));
    drop(probe);
    drop(sessions);
    let _ = keepalives.join();
    for writer in writers {
        let _ = writer.join();
    }
}
