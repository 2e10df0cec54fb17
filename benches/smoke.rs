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

/// A dump make-mrt writes into a fresh folder of its own, with `arguments`.
fn made_dump(name: &str, arguments: &[&str]) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("nodebgp-smoke-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let dump = directory.join(name);
    let made = Command::new(env!("CARGO_BIN_EXE_make-mrt"))
        .args(arguments)
        .arg(&dump)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    dump
}

/// Every UPDATE of `updates` decoded: each prefix it announces (NLRI field
/// or MP_REACH_NLRI) with the AS path and next hop it goes with.
fn routes_of(updates: &[bytes::Bytes]) -> Vec<(ipnet::IpNet, Vec<u32>, Vec<u8>)> {
    use bgp_wire::{AttributeValue, CodecContext, Message, MpNlri};
    let mut routes = Vec::new();
    for frame in updates {
        let Message::Update(update) = Message::decode(frame, &CodecContext::default())
            .unwrap()
            .message
        else {
            panic!("not an UPDATE")
        };
        assert!(
            !update
                .attributes
                .iter()
                .any(|attribute| matches!(attribute.value, AttributeValue::LocalPref(_))),
            "LOCAL_PREF sent to an external peer"
        );
        let path: Vec<u32> = update
            .as_path()
            .map(|path| {
                path.segments()
                    .flat_map(|segment| segment.asns().map(|asn| asn.0).collect::<Vec<_>>())
                    .collect()
            })
            .unwrap_or_default();
        let mut announced: Vec<_> = update.announced.iter().map(|nlri| nlri.prefix).collect();
        let mut next_hop = update
            .next_hop()
            .map(|address| address.octets().to_vec())
            .unwrap_or_default();
        if let Some(reach) = update.mp_reach() {
            let MpNlri::Prefixes(nlri) = &reach.nlri else {
                panic!("opaque NLRI")
            };
            announced.extend(nlri.iter().map(|nlri| nlri.prefix));
            next_hop = reach.next_hop.to_vec();
        }
        for prefix in announced {
            routes.push((prefix, path.clone(), next_hop.clone()));
        }
    }
    routes
}

#[test]
fn a_rib_dump_replays_its_busiest_peers_table_packed_by_attribute_set() {
    use bgp_wire::Family;
    use nodebgp_benches::{replay_mrt, shaped_table, DumpKind, TableShape, TABLE_SEED};
    use std::collections::HashMap;
    for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
        let mut arguments = vec!["--prefixes", "3000", "--shape", "4/100", "--rib"];
        if family == Family::IPV6_UNICAST {
            arguments.push("--ipv6");
        }
        let dump = made_dump("rib.mrt.gz", &arguments);
        let made = shaped_table(
            family,
            TableShape::parse("4/100").unwrap(),
            3000,
            TABLE_SEED,
        );
        let original: HashMap<_, _> = routes_of(&made)
            .into_iter()
            .map(|(prefix, path, _)| (prefix, path))
            .collect();
        assert_eq!(original.len(), 3000);

        let replay = replay_mrt(&dump, family, None).unwrap();
        assert_eq!(replay.kind, DumpKind::Rib);
        assert_eq!(
            replay.peer.to_string(),
            "192.0.2.2",
            "the peer with every prefix"
        );
        assert_eq!(
            (replay.prefixes, replay.routes, replay.skipped),
            (3000, 3000, 0)
        );
        assert!(!replay.changes_routes);
        // 750 UPDATEs of 4 went in; the 100 sets come out one UPDATE each
        // (30 prefixes of a set fit one message).
        assert_eq!(replay.updates.len(), 100, "{family}");
        let replayed = routes_of(&replay.updates);
        assert_eq!(replayed.len(), 3000);
        for (prefix, path, next_hop) in replayed {
            // The sender's AS in front of the path the dump recorded.
            assert_eq!(path[0], 64_700);
            assert_eq!(path[1..], original[&prefix][..], "{prefix}");
            let last = *next_hop.last().unwrap();
            assert!((1..=4).contains(&last), "{next_hop:?}");
        }

        let other = replay_mrt(&dump, family, Some("192.0.2.3".parse().unwrap())).unwrap();
        assert_eq!(other.prefixes, 1000, "every third prefix");
        let missing = replay_mrt(&dump, family, Some("192.0.2.9".parse().unwrap()));
        assert!(missing.unwrap_err().contains("no "), "a peer with no route");
        let _ = std::fs::remove_dir_all(dump.parent().unwrap());
    }
}

#[test]
fn an_updates_dump_replays_one_peers_changes_to_the_table_they_leave() {
    use bgp_wire::Family;
    use nodebgp_benches::{replay_mrt, ris_dir, DumpKind};
    use std::collections::{HashMap, HashSet};
    let folder = ris_dir().join("rrc15");
    let Some(dump) = std::fs::read_dir(&folder).ok().and_then(|entries| {
        entries
            .flatten()
            .flat_map(|month| {
                std::fs::read_dir(month.path())
                    .into_iter()
                    .flatten()
                    .flatten()
            })
            .map(|file| file.path())
            .next()
    }) else {
        lab::skip(&format!("no RIS dump under {}", folder.display()));
        return;
    };
    let replay = replay_mrt(&dump, Family::IPV4_UNICAST, None).unwrap();
    assert_eq!(replay.kind, DumpKind::Updates);

    // The same dump read by another implementation: bgpkit-parser's
    // announcements and withdrawals per peer, folded into what each peer
    // leaves announced.
    let mut changes: HashMap<std::net::IpAddr, usize> = HashMap::new();
    let mut held: HashMap<std::net::IpAddr, HashSet<ipnet::IpNet>> = HashMap::new();
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(
        std::fs::File::open(&dump).unwrap(),
    ));
    for element in bgpkit_parser::BgpkitParser::from_reader(reader).into_elem_iter() {
        let prefix = element.prefix.prefix;
        if !prefix.addr().is_ipv4() {
            continue;
        }
        *changes.entry(element.peer_ip).or_default() += 1;
        let table = held.entry(element.peer_ip).or_default();
        match element.elem_type {
            bgpkit_parser::models::ElemType::ANNOUNCE => table.insert(prefix),
            bgpkit_parser::models::ElemType::WITHDRAW => table.remove(&prefix),
        };
    }
    let busiest = changes.values().copied().max().unwrap();
    assert_eq!(changes[&replay.peer], busiest, "{changes:?}");
    assert_eq!(replay.routes, busiest);
    assert_eq!(replay.skipped, 0);
    assert_eq!(replay.prefixes, held[&replay.peer].len());
    assert!(
        replay.changes_routes,
        "an hour of a peer's UPDATEs withdraws"
    );

    // And a receiver ends up holding exactly that.
    let text = route_load(&["--mrt", dump.to_str().unwrap()], "");
    assert!(
        text.contains(&format!(
            "{} IPv4 prefixes from 1 peer(s), table replayed from",
            replay.prefixes
        )),
        "{text}"
    );
    assert!(text.contains("updates dump, peer "), "{text}");
}

#[test]
fn route_load_replays_a_rib_dump_on_several_sessions() {
    let dump = made_dump(
        "rib.mrt",
        &["--prefixes", "4000", "--shape", "10/1k", "--rib"],
    );
    let text = route_load(
        &["--mrt", dump.to_str().unwrap(), "--sessions", "2"],
        ",null",
    );
    assert!(
        text.contains("(RIB dump, peer 192.0.2.2: 4000 routes read, 0 skipped), 2 sessions, 4000 prefixes held at the end"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dump.parent().unwrap());
}
