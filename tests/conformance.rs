//! `nodebgp conformance` against real speakers: every scenario against a
//! nodebgp daemon (all must pass: nodebgp passes what it claims), and a fast
//! subset against FRR, to keep the runner honest about a speaker it did not
//! grow up with.

use std::net::IpAddr;
use std::process::Command;

use lab::{Kind, NeighborSpec, Router, RouterSpec};
use nodebgp_interop::daemon::{self, Daemon};
use serde_json::Value;

/// The runner's three neighbours of the speaker: the main session's
/// source, the observer, the internal (iBGP) neighbour.
fn peers() -> [IpAddr; 3] {
    [daemon::address(), daemon::address(), daemon::address()]
}

/// `--source`, `--observer` and `--internal` for `peers`.
fn peer_flags([source, observer, internal]: [IpAddr; 3]) -> Vec<String> {
    [
        "--source".to_owned(),
        source.to_string(),
        "--observer".to_owned(),
        observer.to_string(),
        "--internal".to_owned(),
        internal.to_string(),
    ]
    .to_vec()
}

/// What the nodebgp under test is configured with for the runner, and
/// the runner told so: GTSM, an MD5 key, a prefix limit, a send hold time
/// short enough for a test (RFC 9687 suggests 8 minutes).
const SECURITY: [&str; 7] = [
    "--gtsm",
    "--md5-password",
    "conformance-key",
    "--max-prefix",
    "500",
    "--send-hold-time",
    "5",
];

/// Runs `nodebgp conformance` and returns its JSON report.
fn conformance(
    target: &str,
    target_as: u32,
    peers: [IpAddr; 3],
    extra: &[&str],
    only: Option<&str>,
) -> Value {
    let mut command = Command::new(daemon::nodebgp());
    command
        .args(["conformance", "--target", target, "--target-as"])
        .arg(target_as.to_string())
        .args(peer_flags(peers))
        .args(extra)
        .args(["--accept-timeout", "30", "-o", "json"]);
    if let Some(only) = only {
        command.args(["--only", only]);
    }
    let output = command.output().unwrap();
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("no JSON report ({error}): {output:?}"))
}

/// The scenarios that did not pass, with what was seen.
fn not_passed(report: &Value) -> Vec<String> {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|scenario| scenario["result"] != "pass")
        .map(|scenario| {
            format!(
                "{} [{}]: expected {}; observed {}; sent {}",
                scenario["id"],
                scenario["result"],
                scenario["expected"],
                scenario["observed"],
                scenario["sent"]
            )
        })
        .collect()
}

#[test]
fn nodebgp_passes_every_scenario() {
    let directory = daemon::scratch("conformance");
    let target = daemon::address();
    let peers = peers();
    let print = Command::new(daemon::nodebgp())
        .args([
            "conformance",
            "--target",
            &target.to_string(),
            "--target-as",
            "65000",
        ])
        .args(peer_flags(peers))
        .args(SECURITY)
        .args(["--print-config", "nodebgp"])
        .output()
        .unwrap();
    assert!(print.status.success(), "{print:?}");
    daemon::apply(&directory, &String::from_utf8(print.stdout).unwrap());
    // The BGPPeer reads its MD5 key from the daemon's environment, as the
    // printed configuration says.
    std::env::set_var("NODEBGP_CONFORMANCE_PASSWORD", SECURITY[2]);
    let _daemon = Daemon::start(
        &directory,
        "conformance",
        target,
        "65000",
        &[
            "--transit",
            "--all-families",
            "--ipv6-next-hop",
            "2001:db8::2",
            "--error-wait",
            "1,1",
            "--max-prefix",
            SECURITY[4],
            "--max-prefix-restart",
            "1",
            "--send-hold-time",
            SECURITY[6],
        ],
    );
    let report = conformance(&target.to_string(), 65000, peers, &SECURITY, None);
    let not_applicable = report["summary"]["not_applicable"].as_u64().unwrap();
    assert_eq!(not_applicable, 0, "every scenario applies to nodebgp here");
    let failures = not_passed(&report);
    assert!(
        failures.is_empty(),
        "{} scenario(s) not passed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        report["summary"]["pass"].as_u64().unwrap() >= 60,
        "{}",
        report["summary"]
    );
}

#[test]
fn frr_passes_the_fast_subset() {
    lab::require(Kind::Frr);
    let target = lab::free_loopback_address().unwrap();
    let peers = peers();
    let [source, observer, internal] = peers;
    let frr = Router::start(
        RouterSpec::new(Kind::Frr, "conformance", target, 65000)
            .neighbor(NeighborSpec::new(source, 65001).with_passive(true))
            .neighbor(NeighborSpec::new(observer, 65002).with_passive(true))
            .neighbor(NeighborSpec::new(internal, 65000).with_connect_retry(1)),
    )
    .unwrap();
    let only = "open.version.3,header.type.0,update.next-hop.length-5,\
                update.unknown.optional-transitive,fsm.end-of-rib,\
                fsm.collision.runner-identifier-higher";
    let report = conformance(
        &format!("{target}:{}", frr.port()),
        65000,
        peers,
        &[],
        Some(only),
    );
    assert_eq!(report["scenarios"].as_array().unwrap().len(), 6, "{report}");
    let failures = not_passed(&report);
    assert!(
        failures.is_empty(),
        "FRR: {}\n{}",
        failures.join("\n"),
        frr.log_tail(30)
    );
}

/// What `--print-config` writes for BIRD, FRR and GoBGP is read without
/// complaint by each daemon's own configuration check: users paste it.
#[test]
fn printed_configurations_are_read_by_each_daemon() {
    for kind in [Kind::Bird, Kind::Frr, Kind::Gobgp] {
        lab::require(kind);
    }
    let directory = daemon::scratch("conformance-print-config");
    let [source, observer, internal] = peers();
    let target = daemon::address();
    for (name, program, check) in [
        ("bird", "/usr/sbin/bird", &["-p", "-c"][..]),
        // -p 0: no listener; -n: no kernel. FRR reports errors, with
        // status 0, as "No such command" or "[EC ...]" lines.
        (
            "frr",
            "/usr/lib/frr/bgpd",
            &["-C", "-p", "0", "-n", "-f"][..],
        ),
        ("gobgp", "/usr/bin/gobgpd", &["-d", "-f"][..]),
    ] {
        let print = Command::new(daemon::nodebgp())
            .args(["conformance", "--target", &target.to_string()])
            .args(["--target-as", "65000", "--print-config", name])
            .args(peer_flags([source, observer, internal]))
            .args(SECURITY)
            .output()
            .unwrap();
        assert!(print.status.success(), "{name}: {print:?}");
        let file = directory.join(format!("{name}.conf"));
        std::fs::write(&file, &print.stdout).unwrap();
        let checked = Command::new(program)
            .args(check)
            .arg(&file)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&checked.stdout),
            String::from_utf8_lossy(&checked.stderr)
        );
        assert!(
            checked.status.success()
                && !said.contains("No such command")
                && !said.contains("[EC ")
                && !said.contains("\"level\":\"fatal\""),
            "{name} refused the printed configuration:\n{said}\n{}",
            String::from_utf8_lossy(&print.stdout)
        );
    }
}
