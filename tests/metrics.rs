//! `nodebgp run --metrics`: the Prometheus endpoint scraped over plain HTTP
//! while a session with a real FRR router comes up and after FRR stops, and
//! its text checked by `promtool check metrics` where Prometheus's tools are
//! installed.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lab::{Kind, NeighborSpec, Router, RouterSpec};
use nodebgp_interop::daemon::{address, global_peer, resources, scratch, Daemon, UP};

/// A port nobody listens on now (the kernel's pick, released at once).
fn free_port(at: IpAddr) -> u16 {
    TcpListener::bind((at, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` over HTTP/1.1: the status code and the body.
fn get(server: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&server, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    (status, body.to_owned())
}

/// Scrapes until `line` is among the sample lines, or panics after `UP`.
fn scrape_until(server: SocketAddr, line: &str) -> String {
    let deadline = Instant::now() + UP;
    loop {
        let (status, body) = get(server, "/metrics");
        assert_eq!(status, 200, "{body}");
        if body.lines().any(|each| each == line) {
            return body;
        }
        assert!(Instant::now() < deadline, "never saw {line} in\n{body}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// `promtool check metrics` on `text`, when promtool is installed.
fn promtool_accepts(text: &str) {
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        lab::skip("promtool is not installed (Debian package prometheus)");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    // Its findings come on standard error, one `SERIES PROBLEM` a line.
    let problems = String::from_utf8_lossy(&output.stderr);
    // promtool (2.42 in Debian 12) lints the classic text format, where a
    // counter's HELP and TYPE name its `_total` series; OpenMetrics, which
    // Prometheus negotiates and the endpoint serves, names the family
    // without `_total`. That one finding is the formats' difference; any
    // other, or a parse error, fails.
    let counter = |series: &str| {
        series.strip_suffix("_total").is_some_and(|family| {
            text.lines()
                .any(|line| line == format!("# TYPE {family} counter"))
        })
    };
    let real: Vec<&str> = problems
        .lines()
        .filter(|line| {
            !matches!(line.split_once(' '), Some((series, "no help text")) if counter(series))
        })
        .collect();
    assert!(
        output.status.success() || real.is_empty(),
        "promtool check metrics refused the exposition: {}\n{text}",
        real.join("\n"),
    );
    println!("promtool check metrics: accepted (OpenMetrics counter help aside)");
}

#[test]
fn the_metrics_endpoint_follows_a_session_with_frr_up_and_down() {
    lab::require(Kind::Frr);
    let (ours, theirs) = (address(), address());
    let directory = scratch("metrics");
    let mut router = Router::start(
        RouterSpec::new(Kind::Frr, "metrics-frr", theirs, 65201).neighbor(
            NeighborSpec::new(ours, 64512)
                .with_connect_retry(1)
                .with_hold_time(9),
        ),
    )
    .unwrap();
    let applied = resources("apply", &directory, &global_peer(theirs, "65201"));
    assert!(applied.status.success(), "{applied:?}");
    let server = SocketAddr::new(ours, free_port(ours));
    let metrics = server.to_string();
    let daemon = Daemon::start(
        &directory,
        "node-1",
        ours,
        "64512",
        &["--metrics", &metrics],
    );

    let labels = format!(r#"peer="{theirs}",peer_as="65201",peer_type="global""#);
    let up = scrape_until(
        server,
        &format!(r#"nodebgp_peer_state{{{labels},state="Established"}} 1"#),
    );
    daemon.wait_for(theirs, "Established");
    for line in [
        "nodebgp_manager_up 1",
        r#"nodebgp_peers{state="Established"} 1"#,
    ] {
        assert!(up.lines().any(|each| each == line), "no {line} in\n{up}");
    }
    for prefix in [
        format!("nodebgp_peer_messages_received_total{{{labels}}} "),
        format!("nodebgp_peer_established_seconds{{{labels}}} "),
        "nodebgp_process_resident_memory_bytes ".to_owned(),
        "nodebgp_process_open_fds ".to_owned(),
        "nodebgp_process_cpu_seconds_total ".to_owned(),
    ] {
        assert!(
            up.lines().any(|line| line.starts_with(&prefix)),
            "no {prefix} in\n{up}"
        );
    }
    promtool_accepts(&up);

    router.stop();
    let down = scrape_until(
        server,
        &format!(r#"nodebgp_peer_state{{{labels},state="Established"}} 0"#),
    );
    assert!(
        down.lines()
            .any(|line| line.starts_with("nodebgp_peer_state{")
                && line.contains(&labels)
                && line.ends_with(" 1")),
        "the peer is in no state:\n{down}"
    );
    promtool_accepts(&down);

    let (status, _) = get(server, "/other");
    assert_eq!(status, 404);
}
