//! The exposition from a status report as the control socket carries it,
//! and the `/proc` parsers on fixed text.

use std::time::Duration;

use super::exposition::{peers, render};
use super::process::{cpu_time, resident_memory_bytes, ProcessSample};
use crate::daemon::status::StatusReport;

const REPORT: &str = r#"{
    "node": "node-1", "as": 64512, "router_id": "10.0.0.1",
    "peers": [
        {"peer": "10.0.0.2", "port": 179, "peer_as": 64512, "state": "Established",
         "since_seconds": 12, "last_error": null, "local_address": "10.0.0.1:40000",
         "messages": {"received": 5, "sent": 6}, "updates": {"received": 1, "sent": 2},
         "prefixes": {"received": 3, "sent": 4}, "kind": "mesh",
         "router_id": "10.0.0.2", "hold_time": 90, "keepalive": 30,
         "families": ["ipv4-unicast"], "four_octet_asn": true, "route_refresh": true,
         "enhanced_route_refresh": false, "extended_message": false,
         "graceful_restart": true, "capabilities": ["1", "2", "65"]},
        {"peer": "fd00::3", "port": 1790, "peer_as": 64514, "state": "Active",
         "since_seconds": 3, "last_error": "connection refused", "local_address": null,
         "messages": {"received": 0, "sent": 0}, "updates": {"received": 0, "sent": 0},
         "prefixes": {"received": 0, "sent": 0}, "kind": "global"}
    ],
    "tasks": 0
}"#;

fn sample() -> ProcessSample {
    ProcessSample {
        resident_memory_bytes: Some(4096),
        open_fds: Some(7),
        cpu_time: Some(Duration::from_millis(1250)),
    }
}

fn rendered() -> String {
    let report: StatusReport = serde_json::from_str(REPORT).unwrap();
    render(Some(&peers(&report).unwrap()), &sample())
}

#[test]
fn each_peer_has_one_state_series_per_state_with_its_own_at_one() {
    let text = rendered();
    let established = r#"nodebgp_peer_state{peer="10.0.0.2",peer_as="64512",peer_type="mesh",state="Established"} 1"#;
    assert!(text.contains(established), "{text}");
    let idle =
        r#"nodebgp_peer_state{peer="10.0.0.2",peer_as="64512",peer_type="mesh",state="Idle"} 0"#;
    assert!(text.contains(idle), "{text}");
    // A port other than BGP's is part of the peer's name.
    let active = r#"nodebgp_peer_state{peer="[fd00::3]:1790",peer_as="64514",peer_type="global",state="Active"} 1"#;
    assert!(text.contains(active), "{text}");
    assert_eq!(text.matches("nodebgp_peer_state{").count(), 12, "{text}");
}

#[test]
fn counters_end_in_total_and_gauges_carry_their_units() {
    let text = rendered();
    for line in [
        r#"nodebgp_peer_established_seconds{peer="10.0.0.2",peer_as="64512",peer_type="mesh"} 12"#,
        r#"nodebgp_peer_established_seconds{peer="[fd00::3]:1790",peer_as="64514",peer_type="global"} 0"#,
        r#"nodebgp_peer_messages_received_total{peer="10.0.0.2",peer_as="64512",peer_type="mesh"} 5"#,
        r#"nodebgp_peer_messages_sent_total{peer="10.0.0.2",peer_as="64512",peer_type="mesh"} 6"#,
        r#"nodebgp_peer_updates_received_total{peer="10.0.0.2",peer_as="64512",peer_type="mesh"} 1"#,
        r#"nodebgp_peer_updates_sent_total{peer="10.0.0.2",peer_as="64512",peer_type="mesh"} 2"#,
        r#"nodebgp_peer_prefixes_received{peer="10.0.0.2",peer_as="64512",peer_type="mesh"} 3"#,
        r#"nodebgp_peer_prefixes_advertised{peer="10.0.0.2",peer_as="64512",peer_type="mesh"} 4"#,
        r#"nodebgp_peers{state="Established"} 1"#,
        r#"nodebgp_peers{state="Active"} 1"#,
        r#"nodebgp_peers{state="Idle"} 0"#,
        "nodebgp_process_resident_memory_bytes 4096",
        "nodebgp_process_open_fds 7",
        "nodebgp_process_cpu_seconds_total 1.25",
        "nodebgp_manager_up 1",
        "# TYPE nodebgp_peer_messages_received counter",
        "# UNIT nodebgp_peer_established_seconds seconds",
        "# EOF",
    ] {
        assert!(
            text.lines().any(|each| each == line),
            "no {line} in\n{text}"
        );
    }
}

#[test]
fn without_the_managers_answer_only_the_process_is_shown_and_the_manager_is_down() {
    let text = render(None, &sample());
    assert!(
        text.lines().any(|line| line == "nodebgp_manager_up 0"),
        "{text}"
    );
    assert!(text.contains("nodebgp_process_open_fds 7"), "{text}");
    assert!(!text.contains("nodebgp_peer"), "{text}");
}

#[test]
fn resident_memory_is_read_in_kibibytes_from_status() {
    let status = "Name:\tnodebgp\nVmPeak:\t  9000 kB\nVmRSS:\t    1234 kB\nThreads:\t4\n";
    assert_eq!(resident_memory_bytes(status), Some(1234 * 1024));
    assert_eq!(resident_memory_bytes("Name:\tkernel-thread\n"), None);
}

#[test]
fn cpu_time_counts_fields_after_a_command_name_with_spaces_and_parentheses() {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
    // majflt cmajflt utime stime ...
    let stat = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 250 125 0 0 20 0 4 0";
    assert_eq!(cpu_time(stat), Some(Duration::from_millis(3750)));
}

#[test]
fn this_process_can_be_sampled() {
    let sample = ProcessSample::read();
    assert!(sample.resident_memory_bytes.unwrap() > 0);
    assert!(sample.open_fds.unwrap() >= 3);
    assert!(sample.cpu_time.is_some());
}
