//! Runs every `nodebgp conformance` scenario against nodebgp, FRR, GoBGP and
//! BIRD (the lab harness's daemons, each on loopback with the runner and an
//! observer as passive eBGP neighbours) in one run on one machine, and
//! writes the side-by-side table to `conformance/RESULTS.md` (or the path
//! given as the first argument):
//!
//! ```text
//! cargo build -p nodebgp && cargo run -p nodebgp-interop --example conformance_table
//! ```
//!
//! Each speaker's raw JSON report is kept next to the table
//! (`conformance/reports/<speaker>.json`), with the failures' octets.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;

use lab::{Family, Kind, NeighborSpec, Router, RouterSpec};
use nodebgp_interop::daemon::{self, Daemon};
use serde_json::Value;

const TARGET_AS: u32 = 65000;

fn version(program: &str, flag: &str) -> String {
    let output = Command::new(program).arg(flag).output();
    let text = match output {
        Ok(output) => format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => return format!("({program}: {error})"),
    };
    text.lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("?")
        .trim()
        .to_owned()
}

/// `--source`, `--observer` and `--internal`.
fn peer_flags([source, observer, internal]: [IpAddr; 3]) -> Vec<String> {
    let mut flags = Vec::new();
    for (flag, address) in [
        ("--source", source),
        ("--observer", observer),
        ("--internal", internal),
    ] {
        flags.push(flag.to_owned());
        flags.push(address.to_string());
    }
    flags
}

/// The MD5 key every speaker is configured with for the runner (GTSM is on
/// for it too).
const PASSWORD: &str = "conformance-key";

fn run(name: &str, target: String, peers: [IpAddr; 3], extra: &[&str]) -> Value {
    eprintln!("== {name}: nodebgp conformance --target {target}");
    let output = Command::new(daemon::nodebgp())
        .args([
            "conformance",
            "--target",
            &target,
            "--target-as",
            &TARGET_AS.to_string(),
        ])
        .args(peer_flags(peers))
        .args(["--gtsm", "--md5-password", PASSWORD])
        .args(extra)
        .args(["--accept-timeout", "60", "-o", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{name}: no JSON report ({error}): {output:?}"))
}

fn print_config(kind: &str, target: IpAddr, peers: [IpAddr; 3]) -> String {
    let output = Command::new(daemon::nodebgp())
        .args([
            "conformance",
            "--target",
            &target.to_string(),
            "--target-as",
            &TARGET_AS.to_string(),
        ])
        .args(peer_flags(peers))
        .args(["--gtsm", "--md5-password", PASSWORD, "--max-prefix", "500"])
        .args(["--print-config", kind])
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap()
}

fn lab_router(kind: Kind, [source, observer, internal]: [IpAddr; 3]) -> Router {
    let target = lab::free_loopback_address().unwrap();
    // IPv6 unicast on the runner's and the observer's IPv4 sessions, as
    // nodebgp's --all-families does, so that the IPv6 scenarios apply.
    let both = [Family::Ipv4, Family::Ipv6];
    let mut spec = RouterSpec::new(
        kind,
        format!("conformance-{}", kind.package()),
        target,
        TARGET_AS,
    )
    .with_graceful_restart()
    .neighbor(
        NeighborSpec::new(source, 65001)
            .with_passive(true)
            .with_password(PASSWORD)
            .with_ttl_security(1)
            .with_families(&both),
    )
    .neighbor(
        NeighborSpec::new(observer, 65002)
            .with_passive(true)
            .with_families(&both),
    )
    .neighbor(NeighborSpec::new(internal, TARGET_AS).with_connect_retry(1));
    // An IPv4 session has no IPv6 address of the speaker's to use as the
    // next hop of the IPv6 routes it passes on.
    spec.next_hop6 = Some(IPV6_NEXT_HOP.parse().unwrap());
    Router::start(spec).unwrap()
}

/// The next hop of the IPv6 routes the speakers pass on over IPv4
/// sessions (RFC 3849's documentation range).
const IPV6_NEXT_HOP: &str = "2001:db8::2";

/// nodebgp's send hold time here (`--send-hold-time`): short, so the
/// scenario is.
const NODEBGP_SEND_HOLD: &str = "5";

/// What the runner waits for the other speakers' send hold timers: twice
/// the lab's hold time of 30 s, which is FRR's send hold time (it has no
/// knob; RFC 9687 §6 suggests the greater of 8 minutes and that). BIRD
/// 2.0.12 and GoBGP 3.10 have no send hold timer: this is how long they are
/// given to notice the stuck peer.
const LAB_SEND_HOLD: [&str; 2] = ["--send-hold-time", "60"];

/// The speakers, in the table's order.
const SPEAKERS: [&str; 7] = [
    "nodebgp",
    "frr",
    "frr-without-crash",
    "gobgpd",
    "gobgpd-without-crash",
    "bird2",
    "bird2-without-crash",
];

/// The scenario after which a speaker stopped answering, as the runner
/// names it in the first scenario it could not run.
fn crash_scenario(report: &Value) -> Option<String> {
    report["scenarios"].as_array()?.iter().find_map(|scenario| {
        let observed = scenario["observed"].as_str()?;
        observed
            .split_once("stopped accepting connections after ")
            .map(|(_, id)| id.trim().to_owned())
    })
}

/// How many times a crashed daemon is run again, each time without one more
/// scenario that took it down.
const MAX_CRASH_RERUNS: usize = 4;

/// The panic or fatal lines of a daemon's log.
fn crash_lines(log: &str) -> String {
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| {
            let lower = line.to_ascii_lowercase();
            lower.contains("panic") || lower.contains("fatal") || lower.contains("segv")
        })
        .take(3)
        .collect();
    lines.join(" | ")
}

/// Keeps a speaker's run beside the table as soon as it is done.
fn save(reports_directory: &std::path::Path, entry: &(String, String, Value, String)) {
    let (name, version, report, config) = entry;
    let mut kept = report.clone();
    kept["version"] = version.clone().into();
    kept["config"] = config.clone().into();
    std::fs::write(
        reports_directory.join(format!("{name}.json")),
        serde_json::to_string_pretty(&kept).unwrap(),
    )
    .unwrap();
}

/// A speaker's run kept beside the table, so that one speaker can be run
/// again alone (`conformance_table OUTPUT frr`) and the table rebuilt.
fn saved(
    reports_directory: &std::path::Path,
    name: &str,
) -> Option<(String, String, Value, String)> {
    let text = std::fs::read_to_string(reports_directory.join(format!("{name}.json"))).ok()?;
    let mut report: Value = serde_json::from_str(&text).ok()?;
    let version = report["version"].as_str()?.to_owned();
    let config = report["config"].as_str()?.to_owned();
    report.as_object_mut()?.remove("config");
    Some((name.to_owned(), version, report, config))
}

fn main() {
    let mut arguments = std::env::args().skip(1);
    let output = arguments.next().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/RESULTS.md")
    });
    // The speakers to run now (all when none is named); the others' last
    // reports are read back.
    let chosen: Vec<String> = arguments.collect();
    let run_now = |name: &str| chosen.is_empty() || chosen.iter().any(|each| each == name);
    let reports_directory = output.parent().unwrap().join("reports");
    std::fs::create_dir_all(&reports_directory).unwrap();
    let mut reports: Vec<(String, String, Value, String)> = Vec::new();

    // nodebgp, configured as --print-config nodebgp says.
    if run_now("nodebgp") {
        let directory = daemon::scratch("conformance-table");
        let target = daemon::address();
        let peers = [daemon::address(), daemon::address(), daemon::address()];
        let config = print_config("nodebgp", target, peers);
        daemon::apply(&directory, &config);
        std::env::set_var("NODEBGP_CONFORMANCE_PASSWORD", PASSWORD);
        let mut daemon = Daemon::start(
            &directory,
            "conformance",
            target,
            &TARGET_AS.to_string(),
            &[
                "--transit",
                "--all-families",
                "--ipv6-next-hop",
                IPV6_NEXT_HOP,
                "--max-prefix",
                "500",
                "--max-prefix-restart",
                "1",
                "--send-hold-time",
                NODEBGP_SEND_HOLD,
            ],
        );
        let mut report = run(
            "nodebgp",
            target.to_string(),
            peers,
            &["--max-prefix", "500", "--send-hold-time", NODEBGP_SEND_HOLD],
        );
        if let Ok(Some(status)) = daemon.child.try_wait() {
            let log = std::fs::read_to_string(directory.join("nodebgp.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            report["crash"] =
                format!("exited during the run ({status}): {}", tail.join(" | ")).into();
        }
        let version = version(daemon::nodebgp().to_str().unwrap(), "--version");
        let entry = ("nodebgp".into(), version, report, config);
        save(&reports_directory, &entry);
        reports.push(entry);
    } else if let Some(saved) = saved(&reports_directory, "nodebgp") {
        reports.push(saved);
    }
    for (kind, program, flag) in [
        (Kind::Frr, "/usr/lib/frr/bgpd", "--version"),
        (Kind::Gobgp, "/usr/bin/gobgpd", "--version"),
        (Kind::Bird, "/usr/sbin/bird", "--version"),
    ] {
        if !run_now(kind.package()) {
            for name in [
                kind.package().to_owned(),
                format!("{}-without-crash", kind.package()),
            ] {
                if let Some(saved) = saved(&reports_directory, &name) {
                    reports.push(saved);
                }
            }
            continue;
        }
        let peers = [daemon::address(), daemon::address(), daemon::address()];
        let router = lab_router(kind, peers);
        let target = format!("{}:{}", router.address(), router.port());
        // The lab sets no prefix limit: that scenario is n/a for them.
        let mut report = run(kind.package(), target, peers, &LAB_SEND_HOLD);
        let crashed = !router.is_running();
        if crashed {
            // What the daemon said as it went: the panic or fatal line.
            report["crash"] = format!(
                "the daemon exited during the run: {}",
                crash_lines(&router.log_tail(200))
            )
            .into();
        }
        let config = std::fs::read_to_string(router.config_path()).unwrap_or_default();
        let version = version(program, flag);
        // A daemon that crashed graded nothing after it: run it again,
        // fresh, without the scenario that took it down, so that the rest
        // of the table says something of it too.
        let culprit = crashed.then(|| crash_scenario(&report)).flatten();
        let entry = (kind.package().into(), version.clone(), report, config);
        save(&reports_directory, &entry);
        reports.push(entry);
        // Each run that crashes names one more scenario to skip; a few
        // rounds grade everything that does not take the daemon down.
        let mut skips: Vec<String> = Vec::new();
        let mut next_culprit = culprit;
        let mut router = Some(router);
        let mut last = None;
        while let Some(culprit) = next_culprit.take() {
            if skips.len() == MAX_CRASH_RERUNS || skips.contains(&culprit) {
                break;
            }
            skips.push(culprit);
            drop(router.take());
            let peers = [daemon::address(), daemon::address(), daemon::address()];
            let again_router = lab_router(kind, peers);
            let target = format!("{}:{}", again_router.address(), again_router.port());
            let name = format!("{}-without-crash", kind.package());
            let skip_list = skips.join(",");
            let mut again = run(
                &name,
                target,
                peers,
                &[&LAB_SEND_HOLD[..], &["--skip", &skip_list]].concat(),
            );
            again["skipped"] = skip_list.into();
            if !again_router.is_running() {
                again["crash"] = format!(
                    "the daemon exited again: {}",
                    crash_lines(&again_router.log_tail(200))
                )
                .into();
                next_culprit = crash_scenario(&again);
            }
            let config = std::fs::read_to_string(again_router.config_path()).unwrap_or_default();
            last = Some((name, version.clone(), again, config));
            router = Some(again_router);
        }
        if let Some(entry) = last {
            save(&reports_directory, &entry);
            reports.push(entry);
        }
    }

    reports.sort_by_key(|(name, ..)| SPEAKERS.iter().position(|each| each == name));
    std::fs::write(&output, render(&reports)).unwrap();
    eprintln!("wrote {}", output.display());
}

fn cell(scenario: &Value) -> String {
    match scenario["result"].as_str().unwrap_or("?") {
        "pass" => "pass".into(),
        "n/a" => "n/a".into(),
        other => format!("**{}**", other.to_uppercase()),
    }
}

fn render(reports: &[(String, String, Value, String)]) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "# Conformance: nodebgp, FRR, GoBGP and BIRD\n");
    let _ = writeln!(
        text,
        "Generated by `cargo build -p nodebgp && cargo run -p nodebgp-interop --example conformance_table`\n(every scenario of `nodebgp conformance`, the same machine, one run). Each speaker ran on\nloopback with the runner and an observer as passive eBGP neighbours and an active iBGP\nneighbour for the internal scenarios; GTSM and an MD5 key on the runner's neighbour; a prefix\nlimit of 500 on nodebgp only (the lab harness sets none on the others, so that scenario is n/a\nfor them). Raw reports with the octets of every failure are in `conformance/reports/`.\n"
    );
    let _ = writeln!(
        text,
        "| Speaker | Version | Pass | Fail | n/a | Not run | Survived |"
    );
    let _ = writeln!(text, "|---|---|---|---|---|---|---|");
    for (name, version, report, _) in reports {
        let summary = &report["summary"];
        let _ = writeln!(
            text,
            "| {name} | {version} | {} | {} | {} | {} | {} |",
            summary["pass"],
            summary["fail"],
            summary["not_applicable"],
            summary["error"],
            if report.get("crash").is_some() {
                "**no: crashed**"
            } else {
                "yes"
            }
        );
    }
    let _ = writeln!(text, "\n## Every scenario\n");
    let _ = write!(text, "| Scenario | RFC | Expected |");
    for (name, ..) in reports {
        let _ = write!(text, " {name} |");
    }
    let _ = writeln!(text);
    let _ = writeln!(text, "|---|---|---|{}", "---|".repeat(reports.len()));
    let by_id: Vec<BTreeMap<String, &Value>> = reports
        .iter()
        .map(|(_, _, report, _)| {
            report["scenarios"]
                .as_array()
                .unwrap()
                .iter()
                .map(|scenario| (scenario["id"].as_str().unwrap().to_owned(), scenario))
                .collect()
        })
        .collect();
    for scenario in reports[0].2["scenarios"].as_array().unwrap() {
        let id = scenario["id"].as_str().unwrap();
        let _ = write!(
            text,
            "| `{id}` | {} | {} |",
            scenario["rfc"].as_str().unwrap(),
            scenario["expected"].as_str().unwrap()
        );
        for map in &by_id {
            let _ = write!(
                text,
                " {} |",
                map.get(id).map_or("–".into(), |scenario| cell(scenario))
            );
        }
        let _ = writeln!(text);
    }
    let _ = writeln!(text, "\n## What each speaker did where it did not pass\n");
    for (name, _, report, _) in reports {
        let misses: Vec<&Value> = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|scenario| scenario["result"] != "pass")
            .collect();
        let _ = writeln!(text, "### {name}\n");
        if let Some(crash) = report.get("crash").and_then(Value::as_str) {
            let _ = writeln!(text, "**Crashed**: {crash}\n");
        }
        if let Some(skipped) = report.get("skipped").and_then(Value::as_str) {
            let _ = writeln!(
                text,
                "A fresh daemon, run again with `--skip {skipped}` (each the scenario after which a run crashed).\n"
            );
        }
        if misses.is_empty() {
            let _ = writeln!(text, "Every scenario passed.\n");
            continue;
        }
        for scenario in misses {
            let _ = writeln!(
                text,
                "- `{}` ({}): {} — observed: {}{}",
                scenario["id"].as_str().unwrap(),
                scenario["result"].as_str().unwrap(),
                scenario["expected"].as_str().unwrap(),
                scenario["observed"].as_str().unwrap(),
                match scenario["sent"].as_str() {
                    Some(sent) if !sent.is_empty() && scenario["result"] == "fail" =>
                        format!("; sent `{sent}`"),
                    _ => String::new(),
                }
            );
        }
        let _ = writeln!(text);
    }
    let _ = writeln!(text, "## The configurations\n");
    for (name, _, _, config) in reports {
        let _ = writeln!(text, "### {name}\n\n```\n{}\n```\n", config.trim_end());
    }
    text
}
