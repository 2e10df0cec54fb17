//! `nodebgp run`'s control socket end to end: the binary started on a
//! scratch directory (no peers, no kernel routes, an ephemeral BGP port), and
//! `nodebgp status|routes|refresh` against it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn nodebgp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nodebgp"))
}

fn scratch(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("nodebgp-ctl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

fn run(directory: &Path, socket: &Path) -> Command {
    let mut command = nodebgp();
    command
        .args(["run", "--node", "control-test", "--listen", "127.0.0.1:0"])
        .arg("--datastore")
        .arg(format!("file:{}", directory.join("store").display()))
        .arg("--control-socket")
        .arg(socket)
        .args(["--no-fib", "--log-level", "info"]);
    command
}

/// A daemon killed on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn client(socket: &Path, arguments: &[&str]) -> Output {
    nodebgp()
        .args(arguments)
        .arg("--control-socket")
        .arg(socket)
        .output()
        .unwrap()
}

fn json_of(output: &Output) -> Value {
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

fn start(directory: &Path, socket: &Path) -> Daemon {
    let log = std::fs::File::create(directory.join("nodebgp.log")).unwrap();
    let daemon = Daemon(
        run(directory, socket)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !client(socket, &["status", "-o", "json"]).status.success() {
        assert!(
            Instant::now() < deadline,
            "the control socket never answered: {}",
            std::fs::read_to_string(directory.join("nodebgp.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    daemon
}

#[test]
fn the_control_socket_is_owner_only_answers_in_its_documented_shape_and_is_never_stolen() {
    let directory = scratch("live");
    let socket = directory.join("nodebgp.ctl");
    let daemon = start(&directory, &socket);
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");

    let mut status = json_of(&client(&socket, &["status", "-o", "json"]));
    // The live task count varies with the runtime; there are some.
    let tasks = status
        .as_object_mut()
        .and_then(|fields| fields.remove("tasks"))
        .and_then(|tasks| tasks.as_u64());
    assert!(tasks.is_some_and(|tasks| tasks > 0), "{tasks:?}");
    // The daemon was started just now.
    let uptime = status
        .as_object_mut()
        .and_then(|fields| fields.remove("uptime_seconds"))
        .and_then(|uptime| uptime.as_u64());
    assert!(uptime.is_some_and(|uptime| uptime < 60), "{uptime:?}");
    assert_eq!(
        status,
        json!({"version": env!("CARGO_PKG_VERSION"), "node": "control-test", "as": 64512,
               "router_id": "127.0.0.1", "peers": []})
    );
    let routes = json_of(&client(&socket, &["routes", "-o", "json"]));
    assert_eq!(
        routes,
        json!({"count": 0, "truncated": false, "routes": []})
    );
    let table = client(&socket, &["status"]);
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("node control-test (AS 64512"),
        "{table:?}"
    );

    for arguments in [
        &["refresh", "10.9.9.9"][..],
        &["routes", "--peer", "10.9.9.9", "--received"],
    ] {
        let refused = client(&socket, arguments);
        assert!(!refused.status.success());
        let error = String::from_utf8_lossy(&refused.stderr);
        assert!(
            error.contains("10.9.9.9 is not a peer of this node"),
            "{error}"
        );
    }

    // A second daemon on the same path stops, and leaves the first alone.
    let second = run(&directory.join("second"), &socket)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!second.status.success());
    let error = String::from_utf8_lossy(&second.stderr);
    assert!(
        error.contains(&format!(
            "another nodebgp is running at {}",
            socket.display()
        )),
        "{error}"
    );
    assert!(client(&socket, &["status"]).status.success());
    drop(daemon);
    std::fs::remove_dir_all(directory).unwrap();
}

#[test]
fn a_file_at_the_control_socket_path_is_neither_deleted_nor_replaced() {
    let directory = scratch("file");
    let socket = directory.join("nodebgp.ctl");
    std::fs::write(&socket, "not a socket").unwrap();
    let output = run(&directory, &socket).output().unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("is a regular file"), "{error}");
    assert_eq!(std::fs::read_to_string(&socket).unwrap(), "not a socket");
    std::fs::remove_dir_all(directory).unwrap();
}

/// `--log-format json` writes one JSON object per line, without colour
/// codes in a file; `nodebgp log-level` changes the filter while the daemon
/// runs (debug lines appear only after it), and a bad filter is refused.
#[test]
fn json_logs_and_a_log_filter_changed_at_run_time() {
    let directory = scratch("logs");
    let socket = directory.join("nodebgp.ctl");
    let log_path = directory.join("nodebgp.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut command = run(&directory, &socket);
    command.args(["--log-format", "json"]);
    let daemon = Daemon(
        command
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !client(&socket, &["status", "-o", "json"]).status.success() {
        assert!(
            Instant::now() < deadline,
            "the control socket never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let lines = || -> Vec<Value> {
        std::fs::read_to_string(&log_path)
            .unwrap()
            .lines()
            .map(|line| {
                assert!(!line.contains('\u{1b}'), "a colour code in {line:?}");
                serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line:?}"))
            })
            .collect()
    };
    assert!(!lines().is_empty());
    assert!(lines().iter().all(|line| line["level"] != "DEBUG"));

    let refused = client(&socket, &["log-level", "nodebgp=nonsense"]);
    assert!(!refused.status.success(), "{refused:?}");
    // The change is logged at info level, under the new filter: not seen
    // after "warn", seen after "info". The line is written before the
    // answer, so no waiting is needed.
    let changes = |filter: &str| {
        lines()
            .iter()
            .filter(|line| {
                line["fields"]["message"] == "log filter changed"
                    && line["fields"]["filter"] == filter
            })
            .count()
    };
    let changed = client(&socket, &["log-level", "warn"]);
    assert!(changed.status.success(), "{changed:?}");
    assert!(String::from_utf8_lossy(&changed.stdout).contains("'warn'"));
    assert_eq!(changes("warn"), 0, "an info line under a warn filter");
    let changed = client(&socket, &["log-level", "info"]);
    assert!(changed.status.success(), "{changed:?}");
    assert_eq!(changes("info"), 1);
    drop(daemon);
    let _ = std::fs::remove_dir_all(directory);
}

/// Polls `status -o json` until `done` holds for the first peer.
fn wait_for_peer(socket: &Path, log: &Path, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = json_of(&client(socket, &["status", "-o", "json"]));
        if let Some(peer) = status["peers"].get(0) {
            if done(peer) {
                return peer.clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "{status}\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn status_says_why_a_peer_is_down_and_the_log_says_where_peers_come_from() {
    let directory = scratch("why");
    let socket = directory.join("nodebgp.ctl");
    let log = directory.join("nodebgp.log");
    let _daemon = start(&directory, &socket);
    // An empty datastore is said so, with where it is.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("no BGP peers for this node in the datastore") {
            assert!(
                text.contains(&format!(
                    "datastore=file:{}",
                    directory.join("store").display()
                )),
                "{text}"
            );
            assert!(text.contains("datastore_from=--datastore"), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A port nothing listens on: every attempt is refused.
    let port = std::net::TcpListener::bind("127.0.9.17:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let peer = directory.join("peer.yaml");
    std::fs::write(
        &peer,
        format!("apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {{name: nobody}}\nspec: {{peerIP: '127.0.9.17:{port}', asNumber: 65009}}\n"),
    )
    .unwrap();
    let applied = nodebgp()
        .args(["apply", "-f"])
        .arg(&peer)
        .arg("--datastore")
        .arg(format!("file:{}", directory.join("store").display()))
        .output()
        .unwrap();
    assert!(applied.status.success(), "{applied:?}");
    let refused = wait_for_peer(&socket, &log, |peer| peer["last_error"].as_str().is_some());
    assert_eq!(
        refused["last_error"],
        format!("connect to 127.0.9.17:{port}: connection refused"),
        "{refused}"
    );
    assert_ne!(refused["state"], "Established");
    // The timers it proposes, though nothing was negotiated.
    assert_eq!(
        (refused["hold_time"].as_u64(), refused["keepalive"].as_u64()),
        (Some(90), Some(30))
    );
    let table = client(&socket, &["status"]);
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("connection refused"),
        "{table:?}"
    );
    let _ = std::fs::remove_dir_all(directory);
}

#[test]
fn a_connection_from_a_non_peer_gets_cease_connection_rejected() {
    use std::io::Read as _;
    let directory = scratch("reject");
    let socket = directory.join("nodebgp.ctl");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(directory.join("nodebgp.log")).unwrap();
    let _daemon = Daemon(
        run(&directory, &socket)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stream = loop {
        if let Ok(stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            break stream;
        }
        assert!(
            Instant::now() < deadline,
            "nodebgp never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // No peer is configured: RFC 4486 §4's answer, then the close.
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let mut expected = vec![0xff; 16];
    expected.extend_from_slice(&[0, 21, 3, 6, 5]);
    assert_eq!(answer, expected);
    let _ = std::fs::remove_dir_all(directory);
}

#[test]
fn routes_finds_one_prefix_exactly_and_an_address_by_longest_match() {
    let directory = scratch("lookup");
    let socket = directory.join("nodebgp.ctl");
    let log = std::fs::File::create(directory.join("nodebgp.log")).unwrap();
    let _daemon = Daemon(
        run(&directory, &socket)
            .args([
                "--advertise",
                "10.244.0.0/16",
                "--advertise",
                "10.244.1.0/24 65000:7",
            ])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let prefixes = |query: &[&str]| -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut arguments = vec!["routes", "-o", "json"];
            arguments.extend_from_slice(query);
            let output = client(&socket, &arguments);
            if output.status.success() {
                let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
                return answer["routes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|route| route["prefix"].as_str().unwrap().to_owned())
                    .collect();
            }
            assert!(Instant::now() < deadline, "{output:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // Both originations are in the Loc-RIB once the daemon answers.
    let deadline = Instant::now() + Duration::from_secs(30);
    while prefixes(&[]).len() < 2 {
        assert!(Instant::now() < deadline, "{:?}", prefixes(&[]));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(prefixes(&[]), ["10.244.0.0/16", "10.244.1.0/24"]);
    // An address: the longest prefix holding it.
    assert_eq!(prefixes(&["10.244.1.7"]), ["10.244.1.0/24"]);
    assert_eq!(prefixes(&["10.244.2.7"]), ["10.244.0.0/16"]);
    assert!(prefixes(&["192.0.2.1"]).is_empty());
    // A prefix: that prefix only, not what it covers or what covers it.
    assert_eq!(prefixes(&["10.244.0.0/16"]), ["10.244.0.0/16"]);
    assert!(prefixes(&["10.244.1.0/25"]).is_empty());
    // The table shows the communities, and counts in words.
    let table = String::from_utf8(client(&socket, &["routes", "10.244.1.7"]).stdout).unwrap();
    assert!(table.contains("[65000:7]"), "{table}");
    assert!(table.ends_with("1 route\n"), "{table}");
    let _ = std::fs::remove_dir_all(directory);
}
