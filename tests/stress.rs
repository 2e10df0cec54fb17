//! The reliability stress test at CI size: three peers load 200,000-prefix
//! tables into one daemon over real TCP while status is polled, a peer is
//! deleted and re-added and another's AS changes; each of two rounds ends
//! with a signal (SIGINT, then SIGTERM) at a random point. It fails on any
//! hang: a status answer, a deletion or an exit slower than ten seconds.
//! `benches/stress.sh` runs the same with full tables and records the figures.

use nodebgp_interop::daemon;

#[path = "harness/stress.rs"]
mod stress;

#[path = "harness/stress_bird.rs"]
mod stress_bird;

#[path = "../benches/route_load/sender.rs"]
#[allow(dead_code)]
mod sender;

#[test]
fn loaded_peers_deleted_changed_and_signalled_never_wedge_the_daemon() {
    let _ = daemon::nodebgp();
    let scale = stress::Scale::from_environment(3, 200_000, 2);
    // benches/stress.sh measures BIRD 2 under the same load, in turns.
    let bird = std::env::var("NODEBGP_STRESS_BIRD").is_ok_and(|value| value == "1");
    let (measured, bird_measured) = stress::run_beside("stress", scale, bird);
    let summary = |samples: &[std::time::Duration]| {
        format!(
            "{} samples, p50 {:?}, p99 {:?}, max {:?}",
            samples.len(),
            stress::quantile(samples, 0.5),
            stress::quantile(samples, 0.99),
            stress::quantile(samples, 1.0)
        )
    };
    println!(
        "status on the control socket: {}",
        summary(&measured.status_socket)
    );
    println!("nodebgp status -o json: {}", summary(&measured.status));
    println!(
        "probe UPDATE to Loc-RIB (3 s hold time peer): {}",
        summary(&measured.probe_updates)
    );
    println!("deleted peer gone after: {:?}", measured.deletions);
    println!(
        "exits: {:?} (prefixes held at the signal: {:?})",
        measured.exits, measured.held_at_signal
    );
    assert_eq!(measured.exits.len(), scale.rounds);
    if bird {
        println!(
            "BIRD: birdc show protocols: {}",
            summary(&bird_measured.status)
        );
        println!(
            "BIRD: probe UPDATE to its table (polled with birdc show route): {}",
            summary(&bird_measured.probe_updates)
        );
        println!(
            "BIRD: exits: {:?} (prefixes from the first sender at the signal: {:?})",
            bird_measured.exits, bird_measured.held_at_signal
        );
        assert_eq!(bird_measured.exits.len(), scale.rounds);
    }
}
