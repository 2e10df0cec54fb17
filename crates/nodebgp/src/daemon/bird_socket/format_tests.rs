use super::*;
use crate::daemon::status::RestartWait;

/// 2026-12-04 20:41:03 UTC.
const NOW: UnixTime = UnixTime(1_796_416_863);

fn clock() -> Clock {
    Clock {
        now: NOW,
        started: UnixTime(NOW.0 - 3600),
    }
}

/// One mesh peer established 60 s ago, one global peer refused, one
/// node peer on another port, one IPv6 mesh peer, one not started.
fn report() -> StatusReport {
    serde_json::from_value(serde_json::json!({
        "node": "node-1", "as": 64512, "router_id": "10.0.0.1",
        "peers": [
            {"peer": "10.0.0.2", "port": 179, "peer_as": 64512, "state": "Established",
             "since_seconds": 60, "last_error": null, "local_address": "10.0.0.1:40000",
             "messages": {"received": 5, "sent": 6}, "updates": {"received": 1, "sent": 2},
             "prefixes": {"received": 3, "sent": 4}, "kind": "mesh", "local_as": 64512,
             "router_id": "10.0.0.2", "hold_time": 90, "keepalive": 30,
             "families": ["ipv4-unicast"], "four_octet_asn": true, "route_refresh": true,
             "enhanced_route_refresh": false, "extended_message": false,
             "graceful_restart": true, "capabilities": ["1", "2", "65"]},
            {"peer": "10.0.0.9", "port": 179, "peer_as": 64600, "state": "Active",
             "since_seconds": 100_000, "last_error": "connection refused\n(os error 111)",
             "local_address": null,
             "messages": {"received": 0, "sent": 0}, "updates": {"received": 0, "sent": 0},
             "prefixes": {"received": 0, "sent": 0}, "kind": "global"},
            {"peer": "10.0.0.7", "port": 1179, "peer_as": 64601, "state": "Connect",
             "since_seconds": 5, "last_error": null, "local_address": null,
             "messages": {"received": 0, "sent": 0}, "updates": {"received": 0, "sent": 0},
             "prefixes": {"received": 0, "sent": 0}, "kind": "node"},
            {"peer": "10.0.0.8", "port": 179, "peer_as": 64602, "state": "Idle",
             "since_seconds": 0, "last_error": "not started: no password", "local_address": null,
             "messages": {"received": 0, "sent": 0}, "updates": {"received": 0, "sent": 0},
             "prefixes": {"received": 0, "sent": 0}, "kind": "global", "not_started": true},
            {"peer": "fd00::2", "port": 179, "peer_as": 64512, "state": "OpenSent",
             "since_seconds": 1, "last_error": null, "local_address": null,
             "messages": {"received": 0, "sent": 0}, "updates": {"received": 0, "sent": 0},
             "prefixes": {"received": 0, "sent": 0}, "kind": "mesh"}
        ]
    }))
    .unwrap()
}

/// The rows Calico's Go parser keeps: (name, state, since, info).
fn parse_like_calico(reply: &str) -> Vec<(String, String, String, String)> {
    let mut rows = Vec::new();
    for line in reply.lines() {
        if let Some(header) = line.strip_prefix("2002-") {
            let words: Vec<&str> = header.split_whitespace().collect();
            assert_eq!(words, ["name", "proto", "table", "state", "since", "info"]);
            continue;
        }
        let Some(row) = line
            .strip_prefix("1002-")
            .or_else(|| line.strip_prefix(' '))
        else {
            assert!(line == "0000 " || line.starts_with("1006-"), "{line}");
            continue;
        };
        let columns: Vec<&str> = row.split_whitespace().collect();
        if columns.len() < 6 || columns[1] != "BGP" {
            continue;
        }
        let name = columns[0];
        let known = ["Global_", "Node_", "Mesh_"]
            .iter()
            .any(|prefix| name.starts_with(prefix) && name.len() > prefix.len());
        if known {
            rows.push((
                name.to_owned(),
                columns[3].to_owned(),
                columns[4].to_owned(),
                columns[5..].join(" "),
            ));
        }
    }
    rows
}

#[test]
fn show_protocols_lists_the_family_s_sessions_as_calico_reads_them() {
    let reply = show_protocols(&report(), Family::Ipv4, false, None, clock());
    let row = |name: &str, state: &str, since: &str, info: &str| {
        (
            name.to_owned(),
            state.to_owned(),
            since.to_owned(),
            info.to_owned(),
        )
    };
    assert_eq!(
        parse_like_calico(&reply),
        [
            row(
                "Global_10_0_0_8",
                "down",
                "20:41:03",
                "Idle not started: no password"
            ),
            row(
                "Global_10_0_0_9",
                "start",
                "2026-12-03",
                "Active connection refused (os error 111)"
            ),
            row("Mesh_10_0_0_2", "up", "20:40:03", "Established"),
            row("Node_10_0_0_7_port_1179", "start", "20:40:58", "Connect"),
        ]
    );
    assert!(reply.ends_with("\n0000 \n"), "{reply}");
    assert!(reply.starts_with("2002-name "), "{reply}");
}

#[test]
fn the_ipv6_socket_lists_the_ipv6_sessions_only() {
    let reply = show_protocols(&report(), Family::Ipv6, false, None, clock());
    let rows = parse_like_calico(&reply);
    assert_eq!(rows.len(), 1, "{reply}");
    assert_eq!(rows[0].0, "Mesh_fd00__2");
    assert_eq!(rows[0].3, "OpenSent");
}

#[test]
fn rows_after_the_first_continue_its_code_with_a_space() {
    let reply = show_protocols(&report(), Family::Ipv4, false, None, clock());
    let lines: Vec<&str> = reply.lines().collect();
    assert!(lines[1].starts_with("1002-Global_10_0_0_8 "), "{reply}");
    assert!(lines[2].starts_with(" Global_10_0_0_9 "), "{reply}");
}

#[test]
fn show_protocols_all_adds_bird_s_detail_block() {
    let reply = show_protocols(
        &report(),
        Family::Ipv4,
        true,
        Some("Mesh_10_0_0_2"),
        clock(),
    );
    let expected = "\
2002-name       proto      table      state  since         info
1002-Mesh_10_0_0_2 BGP        ---        up     20:40:03      Established
1006-  BGP state:          Established
     Neighbor address: 10.0.0.2
     Neighbor AS:      64512
     Local AS:         64512
     Neighbor ID:      10.0.0.2
     Session:          internal AS4
     Source address:   10.0.0.1
     Hold timer:       90
     Keepalive timer:  30
   Channel ipv4
     State:          UP
     Table:          master4
     Routes:         3 imported, 4 exported
 
0000 
";
    assert_eq!(reply, expected);
}

#[test]
fn a_down_session_s_detail_names_its_last_error() {
    let reply = show_protocols(&report(), Family::Ipv4, true, Some("Global_*_9"), clock());
    assert!(
        reply.contains("\n     Last error:       connection refused (os error 111)\n"),
        "{reply}"
    );
    assert!(!reply.contains("Channel"), "{reply}");
}

#[test]
fn an_unknown_protocol_name_gets_bird_s_no_match_error() {
    let reply = show_protocols(
        &report(),
        Family::Ipv4,
        true,
        Some("Mesh_10_9_9_9"),
        clock(),
    );
    assert_eq!(reply, "8003 No protocols match\n");
}

#[test]
fn no_sessions_still_give_the_header() {
    let mut empty = report();
    empty.peers.clear();
    let reply = show_protocols(&empty, Family::Ipv4, false, None, clock());
    assert_eq!(
        reply,
        "2002-name       proto      table      state  since         info\n0000 \n"
    );
}

#[test]
fn show_status_starts_with_bird_and_ends_up_and_running() {
    let reply = show_status(&report(), clock());
    assert_eq!(
        reply,
        "\
1000-BIRD 2.0.12
1011-Router ID is 10.0.0.1
 Current server time is 2026-12-04 20:41:03
 Last reboot on 2026-12-04 19:41:03
 Last reconfiguration on 2026-12-04 19:41:03
0013 Daemon is up and running
"
    );
}

#[test]
fn show_status_reports_a_restart_wait_with_code_0024() {
    let mut waiting = report();
    waiting.restart_wait = Some(Box::new(RestartWait {
        remaining_seconds: 215,
        total_seconds: 240,
    }));
    let reply = show_status(&waiting, clock());
    assert!(
        reply.contains(
            "\n0024-Graceful restart recovery in progress\n   Wait timer is 215/240\n0013 "
        ),
        "{reply}"
    );
}

#[test]
fn show_route_count_reports_the_family_s_table() {
    let counts = RouteCountReport {
        ipv4: crate::daemon::status::TableCount {
            networks: 3,
            routes: 5,
        },
        ipv6: Default::default(),
    };
    assert_eq!(
        show_route_count(&counts, Family::Ipv4),
        "0014 5 of 5 routes for 3 networks in table master4\n"
    );
    assert_eq!(
        show_route_count(&counts, Family::Ipv6),
        "0014 0 of 0 routes for 0 networks in table master6\n"
    );
}

#[test]
fn commands_parse_as_bird_spells_them() {
    let protocols = |all: bool, pattern: Option<&str>| Command::Protocols {
        all,
        pattern: pattern.map(str::to_owned),
    };
    for (line, command) in [
        ("show protocols", protocols(false, None)),
        ("show protocols\r", protocols(false, None)),
        ("SHOW Protocols all", protocols(true, None)),
        (
            "show protocols all Global_10_0_0_9",
            protocols(true, Some("Global_10_0_0_9")),
        ),
        (
            "show protocols \"Mesh_*\"",
            protocols(false, Some("Mesh_*")),
        ),
        ("show status", Command::Status),
        ("show route count", Command::RouteCount),
    ] {
        assert_eq!(Command::parse(line), Ok(command), "{line}");
    }
}

#[test]
fn other_commands_are_syntax_errors() {
    for line in [
        "",
        "show",
        "show route",
        "configure",
        "down",
        "show protocols all a b",
    ] {
        assert_eq!(
            Command::parse(line),
            Err("9001 syntax error\n".to_owned()),
            "{line}"
        );
    }
}

#[test]
fn protocol_names_follow_confd() {
    let names: Vec<String> = report().peers.iter().map(protocol_name).collect();
    assert_eq!(
        names,
        [
            "Mesh_10_0_0_2",
            "Global_10_0_0_9",
            "Node_10_0_0_7_port_1179",
            "Global_10_0_0_8",
            "Mesh_fd00__2"
        ]
    );
}

#[test]
fn dates_are_civil_utc() {
    assert_eq!(UnixTime(0).date_time(), "1970-01-01 00:00:00");
    assert_eq!(UnixTime(951_782_400).date_time(), "2000-02-29 00:00:00");
    assert_eq!(NOW.date_time(), "2026-12-04 20:41:03");
}
