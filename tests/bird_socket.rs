//! BIRD's control socket as calico-node's tools read it: Debian's `birdc`
//! against `nodebgp run --bird-socket`, its output parsed the way Calico's
//! Go code parses it (`calicoctl node status`, CalicoNodeStatus, the
//! liveness probe), with one session established to FRR and one down.

use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lab::{Kind, NeighborSpec, PeerState, Router, RouterSpec};
use nodebgp_interop::daemon::{address, apply, global_peer, scratch, Daemon, UP};

/// `birdc -s SOCKET COMMAND`: whether it succeeded (it fails on BIRD's
/// error codes), and its standard output.
fn birdc_answer(socket: &Path, command: &str) -> (bool, String) {
    let birdc = Kind::Bird.binaries()[1];
    let output = Command::new(birdc)
        .arg("-s")
        .arg(socket)
        .args(command.split_whitespace())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// `birdc -s SOCKET COMMAND`'s standard output; it must succeed.
fn birdc(socket: &Path, command: &str) -> String {
    let (succeeded, output) = birdc_answer(socket, command);
    assert!(succeeded, "birdc {command}: {output}");
    eprintln!("birdc {command}:\n{output}");
    output
}

/// What the raw protocol says, as Calico's tools read the socket itself:
/// the greeting, then the reply to `command` up to its last line.
fn raw(socket: &Path, command: &str) -> Vec<String> {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(format!("{command}\n").as_bytes()).unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(stream).lines() {
        let line = line.unwrap();
        let last = line.len() >= 5
            && line.as_bytes()[..4].iter().all(u8::is_ascii_digit)
            && line.as_bytes()[4] == b' '
            && !line.starts_with("0001");
        lines.push(line);
        if last {
            break;
        }
    }
    lines
}

/// One row `calicoctl node status` shows.
#[derive(Debug, PartialEq, Eq)]
struct CalicoPeer {
    address: String,
    kind: String,
    state: String,
    info: String,
}

/// Calico's `getBIRDPeers`: the `2002-` header must read exactly
/// `name proto table state since info`; `1002-` and space-led lines are
/// rows of at least six columns, with proto `BGP` and a name
/// `^(Global|Node|Mesh)_(.+)$`, the address coming back by `_` → `.`.
fn parse_like_calico(lines: &[String]) -> Vec<CalicoPeer> {
    let mut peers = Vec::new();
    for line in lines {
        if line.starts_with("0001") {
            continue;
        }
        if line.starts_with("0000") {
            break;
        }
        if let Some(header) = line.strip_prefix("2002-") {
            let words: Vec<&str> = header.split_whitespace().collect();
            assert_eq!(words, ["name", "proto", "table", "state", "since", "info"]);
            continue;
        }
        let row = line
            .strip_prefix("1002-")
            .or_else(|| line.strip_prefix(' '))
            .unwrap_or_else(|| panic!("unexpected output line from BIRD: '{line}'"));
        let columns: Vec<&str> = row.split_whitespace().collect();
        if columns.len() < 6 || columns[1] != "BGP" {
            continue;
        }
        let Some((kind, rest)) = columns[0].split_once('_') else {
            continue;
        };
        let kind = match kind {
            "Global" => "global",
            "Node" => "node specific",
            "Mesh" => "node-to-node mesh",
            _ => continue,
        };
        peers.push(CalicoPeer {
            address: rest.replace('_', "."),
            kind: kind.to_owned(),
            state: columns[3].to_owned(),
            info: columns[5..].join(" "),
        });
    }
    peers
}

#[test]
fn birdc_and_calico_s_parser_read_the_sessions_from_the_bird_socket() {
    lab::require(Kind::Frr);
    lab::require(Kind::Bird);
    let (ours, theirs, nobody) = (address(), address(), address());
    let directory = scratch("bird-socket");
    let _router = Router::start(
        RouterSpec::new(Kind::Frr, "bird-socket-frr", theirs, 65201)
            .neighbor(NeighborSpec::new(ours, 64512).with_connect_retry(1)),
    )
    .unwrap();
    apply(&directory, &global_peer(theirs, "65201"));
    apply(&directory, &global_peer(nobody, "65202"));
    let (bird, bird6) = (directory.join("bird.ctl"), directory.join("bird6.ctl"));
    let (bird_text, bird6_text) = (bird.display().to_string(), bird6.display().to_string());
    let mut daemon = Daemon::start(
        &directory,
        "node-1",
        ours,
        "64512",
        &["--bird-socket", &bird_text, "--bird6-socket", &bird6_text],
    );
    daemon.wait_for(theirs, "Established");
    _router
        .wait_for_state(ours, PeerState::Established, UP)
        .unwrap();

    // What calicoctl shows, read off the raw socket as Calico's code does.
    let name = |address: IpAddr| format!("Global_{}", address.to_string().replace('.', "_"));
    let deadline = Instant::now() + UP;
    let peers = loop {
        let peers = parse_like_calico(&raw(&bird, "show protocols"));
        let down = peers
            .iter()
            .any(|peer| peer.address == nobody.to_string() && peer.info.starts_with("Active"));
        if down || Instant::now() > deadline {
            break peers;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let established = peers
        .iter()
        .find(|peer| peer.address == theirs.to_string())
        .unwrap_or_else(|| panic!("no row for {theirs}: {peers:?}"));
    assert_eq!(established.kind, "global");
    assert_eq!(established.state, "up");
    assert_eq!(established.info, "Established");
    let down = peers
        .iter()
        .find(|peer| peer.address == nobody.to_string())
        .unwrap_or_else(|| panic!("no row for {nobody}: {peers:?}"));
    assert_eq!(down.state, "start", "{down:?}");
    assert!(
        ["Active", "Connect", "Idle"]
            .iter()
            .any(|state| down.info.starts_with(state)),
        "{down:?}"
    );
    assert_eq!(peers.len(), 2, "{peers:?}");

    // Debian's birdc speaks to it like to BIRD.
    let shown = birdc(&bird, "show protocols");
    assert!(shown.contains(&name(theirs)), "{shown}");
    assert!(shown.contains(&name(nobody)), "{shown}");
    let detail = birdc(&bird, &format!("show protocols all {}", name(theirs)));
    for expected in [
        "  BGP state:          Established".to_owned(),
        format!("    Neighbor address: {theirs}"),
        "    Neighbor AS:      65201".to_owned(),
        "    Local AS:         64512".to_owned(),
    ] {
        assert!(detail.contains(&expected), "{expected:?} in:\n{detail}");
    }
    let detail = birdc(&bird, &format!("show protocols all {}", name(nobody)));
    assert!(detail.contains("    Neighbor AS:      65202"), "{detail}");
    assert!(!detail.contains("Established"), "{detail}");
    let (succeeded, missing) = birdc_answer(&bird, "show protocols all Mesh_10_99_99_99");
    assert!(
        !succeeded && missing.contains("No protocols match"),
        "{missing}"
    );

    // The liveness probe: `show status` starts with BIRD.
    let status = raw(&bird, "show status");
    assert!(status[1].starts_with("1000-BIRD "), "{status:?}");
    assert_eq!(status.last().unwrap(), "0013 Daemon is up and running");
    let status = birdc(&bird, "show status");
    assert!(status.contains("Daemon is up and running"), "{status}");
    let count = raw(&bird, "show route count");
    assert!(
        count.last().unwrap().ends_with("networks in table master4"),
        "{count:?}"
    );
    let unknown = raw(&bird, "configure");
    assert_eq!(unknown.last().unwrap(), "9001 syntax error");

    // bird6.ctl lists the IPv6 sessions: none here.
    let peers6 = parse_like_calico(&raw(&bird6, "show protocols"));
    assert_eq!(peers6, []);

    // `nodebgp node status` prints calicoctl's table for the same sessions.
    let output = std::process::Command::new(nodebgp_interop::daemon::nodebgp())
        .args(["node", "status", "--control-socket"])
        .arg(&daemon.control)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("nodebgp process is running.\n"), "{text}");
    let headings: Vec<&str> = text
        .lines()
        .nth(4)
        .unwrap_or_default()
        .split('|')
        .map(str::trim)
        .collect();
    assert_eq!(
        headings,
        [
            "",
            "PEER ADDRESS",
            "PEER TYPE",
            "STATE",
            "SINCE",
            "INFO",
            ""
        ],
        "{text}"
    );
    let row = |address: IpAddr| {
        text.lines()
            .find(|line| line.starts_with(&format!("| {address} ")))
            .unwrap_or_else(|| panic!("no row for {address}:\n{text}"))
            .split('|')
            .map(str::trim)
            .collect::<Vec<_>>()
    };
    assert_eq!(row(theirs)[2..4], ["global", "up"], "{text}");
    assert_eq!(row(theirs)[5], "Established", "{text}");
    assert_eq!(row(nobody)[3], "start", "{text}");
    assert!(
        text.contains("IPv6 BGP status\nNo IPv6 peers found."),
        "{text}"
    );
    // `nodebgp version` names the client and the running daemon.
    let output = std::process::Command::new(nodebgp_interop::daemon::nodebgp())
        .args(["version", "--control-socket"])
        .arg(&daemon.control)
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        text.contains(&format!("Client Version:    v{version}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("Daemon Version:    v{version}")),
        "{text}"
    );

    // The probes, with calico-node's verdicts: young, every peer must be up;
    // past the threshold one Established session is enough.
    let probe = |arguments: &[&str]| {
        std::process::Command::new(nodebgp_interop::daemon::nodebgp())
            .args(arguments)
            .arg("--control-socket")
            .arg(&daemon.control)
            .output()
            .unwrap()
    };
    let young = probe(&["node", "ready", "--threshold-time", "3600"]);
    assert_eq!(young.status.code(), Some(1), "{young:?}");
    assert_eq!(
        String::from_utf8_lossy(&young.stderr),
        format!("nodebgp: error: nodebgp is not ready: BGP not established with {nobody}\n")
    );
    let ready = probe(&["node", "ready", "--threshold-time", "0"]);
    assert!(ready.status.success(), "{ready:?}");
    assert_eq!(
        String::from_utf8_lossy(&ready.stdout),
        "nodebgp is ready: 1 BGP session(s) established.\n"
    );
    let ipv6 = probe(&[
        "node",
        "ready",
        "--family",
        "ipv6",
        "--threshold-time",
        "3600",
    ]);
    assert!(ipv6.status.success(), "no IPv6 peers is ready: {ipv6:?}");
    let live = probe(&["node", "live"]);
    assert!(live.status.success(), "{live:?}");

    // `status --watch -o json` prints one document per interval.
    let mut watch = std::process::Command::new(nodebgp_interop::daemon::nodebgp())
        .args(["status", "--watch", "1", "-o", "json", "--control-socket"])
        .arg(&daemon.control)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(watch.stdout.take().unwrap()));
    let mut uptimes = Vec::new();
    for _ in 0..2 {
        let line = lines.next().unwrap().unwrap();
        let report: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(report["peers"].as_array().map(Vec::len), Some(2), "{line}");
        uptimes.push(report["uptime_seconds"].as_u64().unwrap());
    }
    assert!(uptimes[1] >= uptimes[0], "{uptimes:?}");
    watch.kill().unwrap();
    watch.wait().unwrap();

    // The sockets are gone once the daemon is.
    daemon.terminate();
    assert!(!bird.exists() && !bird6.exists());
}
