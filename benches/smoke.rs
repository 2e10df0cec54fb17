//! The benchmark harness run small in the test suite, so that it never rots:
//! route-load sends a small table to BIRD and nodebgp and reports both, and
//! make-mrt's dump decodes with the counts it was made with. Speed is not
//! looked at here; benches/RESULTS.md has the measurements.

use std::path::PathBuf;
use std::process::Command;

/// The debug nodebgp the workspace build put beside this test.
fn nodebgp() -> PathBuf {
    let executable = std::env::current_exe().unwrap();
    let binary = executable
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("nodebgp");
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo build -p nodebgp`",
        binary.display()
    );
    binary
}

/// Runs route-load once with `arguments` on BIRD, nodebgp and `also`
/// (`""` or `",null"`), asserts it succeeded with one good run of each
/// receiver, and returns what it printed.
fn route_load(arguments: &[&str], also: &str) -> String {
    lab::require(lab::Kind::Bird);
    let output = Command::new(env!("CARGO_BIN_EXE_route-load"))
        .args(arguments)
        .args(["--runs", "1", "--timeout", "120"])
        .args(["--only", &format!("bird,nodebgp{also}"), "--nodebgp"])
        .arg(nodebgp())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{text}\n{output:?}");
    let mut receivers = vec!["| BIRD |", "| nodebgp |"];
    if also.contains("null") {
        receivers.push("| null |");
    }
    for receiver in receivers {
        let row = text
            .lines()
            .find(|line| line.starts_with(receiver))
            .unwrap_or_else(|| panic!("no {receiver} row:\n{text}"));
        assert!(row.contains("| 1/1 |"), "{row}");
    }
    text
}

#[test]
fn route_load_measures_bird_and_nodebgp_on_a_small_table() {
    let text = route_load(&["--prefixes", "5000", "--shape", "4/1k"], "");
    assert!(
        text.contains("table: shape 4/1000, 1 sessions × 5000 = 5000 prefixes in 1250 UPDATEs"),
        "{text}"
    );
}

#[test]
fn route_load_measures_several_sessions_at_once() {
    let text = route_load(
        &["--prefixes", "1000", "--sessions", "5", "--shape", "4/1k"],
        ",null",
    );
    assert!(text.contains("5 sessions × 1000 = 5000 prefixes"), "{text}");
    assert!(text.contains("5000 IPv4 prefixes from 5 peer(s)"), "{text}");
}

#[test]
fn route_load_measures_a_fan_out_to_ibgp_clients() {
    let text = route_load(
        &["--prefixes", "2000", "--clients", "3", "--shape", "4/1k"],
        ",null",
    );
    assert!(
        text.contains("2000 IPv4 prefixes from 1 peer(s), advertised to 3 iBGP clients"),
        "{text}"
    );
}

#[test]
fn route_load_measures_a_load_beside_a_flapping_neighbor() {
    let text = route_load(&["--prefixes", "2000", "--flap", "500"], ",null");
    assert!(
        text.contains("one more neighbor flapping 500 of them"),
        "{text}"
    );
    let flapper_reports = text
        .lines()
        .filter(|line| line.starts_with("flapping neighbor: ") && line.contains("sessions up"))
        .count();
    assert_eq!(flapper_reports, 3, "{text}");
}

#[test]
fn route_load_measures_an_ipv6_table() {
    let text = route_load(
        &["--prefixes", "2000", "--ipv6", "--shape", "4/1k"],
        ",null",
    );
    assert!(
        text.contains("2000 IPv6 prefixes from 1 peer(s), table shape 4/1000"),
        "{text}"
    );
}

#[test]
fn route_load_times_the_routes_into_the_kernel() {
    // route-load makes a network namespace of its own for the routes.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let root = status
        .lines()
        .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"));
    if !root {
        lab::skip("route-load --fib needs root for its network namespace");
        return;
    }
    let text = route_load(&["--prefixes", "2000", "--fib", "--restart"], "");
    let installed = text
        .lines()
        .filter(|line| line.contains("all accepted after") && line.contains("in the kernel"))
        .count();
    // The load and the table resent after the restart, for BIRD and nodebgp.
    assert_eq!(installed, 4, "two for each receiver:\n{text}");
    // Forwarding kept through each receiver's graceful restart: the kernel
    // never held fewer routes than the table resent after it (sampled every
    // 20 ms), and removed none but the routes nobody sends any more.
    let restarts: Vec<&str> = text
        .lines()
        .filter(|line| line.contains(" restart: "))
        .collect();
    assert_eq!(restarts.len(), 2, "one for each receiver:\n{text}");
    for line in restarts {
        let number_after = |marker: &str| -> u64 {
            let rest = &line[line
                .find(marker)
                .unwrap_or_else(|| panic!("{marker} in {line}"))
                + marker.len()..];
            rest.split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        let fewest = number_after("held at least ");
        let after = number_after("routes (");
        assert!(after < 2000, "one UPDATE in 100 is not sent again: {line}");
        assert_eq!(
            fewest, after,
            "forwarding dropped during the restart: {line}"
        );
        // Exactly: the kernel removed the routes nobody sends any more and
        // no other (counted from its own route notifications).
        let removed = number_after("and removed ");
        assert_eq!(removed, 2000 - after, "a route had a gap: {line}");
    }
}

#[test]
fn a_made_dump_decodes_to_the_table_it_was_made_from() {
    let directory = std::env::temp_dir().join(format!("nodebgp-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let dump = directory.join("table.mrt.gz");
    let made = Command::new(env!("CARGO_BIN_EXE_make-mrt"))
        .args(["--prefixes", "10000", "--shape", "10/1k"])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let decoded = Command::new(nodebgp())
        .args(["decode", "--summary", "--mrt"])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(decoded.status.success(), "{decoded:?}");
    let summary: serde_json::Value = serde_json::from_slice(&decoded.stdout).unwrap();
    assert_eq!(summary["by_type"]["UPDATE"], 1000, "{summary}");
    assert_eq!(
        summary["prefixes_announced"]["ipv4 unicast"], 10000,
        "{summary}"
    );
    assert_eq!(summary["errors"], serde_json::json!({}), "{summary}");
    let _ = std::fs::remove_dir_all(directory);
}
