//! `nodebgp run` driven as an operator drives it: resources applied with
//! `nodebgp apply`, the daemon started with flags, its state read with
//! `nodebgp status -o json` and `nodebgp routes -o json`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a session or a route may take to show up on loopback.
pub const UP: Duration = Duration::from_secs(30);

/// The `nodebgp` binary next to this test's executable (cargo builds the
/// workspace's binaries before its tests).
pub fn nodebgp() -> PathBuf {
    let executable = std::env::current_exe().unwrap();
    let binary = executable
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("nodebgp");
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo build -p nodebgp`",
        binary.display()
    );
    binary
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> Scratch {
    let directory =
        std::env::temp_dir().join(format!("nodebgp-daemon-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    Scratch(directory)
}

/// A test's scratch directory: removed when the test passes, kept when it
/// fails, so that the daemon's log and store can be read afterwards. Each
/// run of the suite made about fifty of them, and a machine that runs it
/// often would fill its temporary directory.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// The directory, left for the caller to remove (or keep).
    pub fn keep(mut self) -> PathBuf {
        // An empty path is what `Drop` leaves alone.
        std::mem::take(&mut self.0)
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.0.as_os_str().is_empty() {
            // Kept (`Scratch::keep`).
        } else if std::thread::panicking() {
            eprintln!("kept for a look: {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The embedded store under `directory`, as a `--datastore` URL.
pub fn store_url(directory: &Path) -> String {
    format!("file:{}", directory.join("store").display())
}

/// Runs a resource command (`apply`, `delete`, ...) with `yaml` on standard input,
/// against the embedded store in `directory`.
pub fn resources(verb: &str, directory: &Path, yaml: &str) -> std::process::Output {
    resources_in(verb, &store_url(directory), yaml)
}

/// `nodebgp apply -f -` of `yaml` to the embedded store in `directory`,
/// which must succeed.
pub fn apply(directory: &Path, yaml: &str) {
    let output = resources("apply", directory, yaml);
    assert!(output.status.success(), "nodebgp apply: {output:?}");
}

/// The same against any datastore URL.
pub fn resources_in(verb: &str, datastore: &str, yaml: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(nodebgp())
        .args([verb, "-f", "-", "--datastore", datastore])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(yaml.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A v1 global bgpPeer document.
pub fn global_peer(address: IpAddr, asn: &str) -> String {
    format!("apiVersion: v1\nkind: bgpPeer\nmetadata:\n  scope: global\n  peerIP: {address}\nspec:\n  asNumber: {asn}\n")
}

/// A running `nodebgp run`, killed on drop.
pub struct Daemon {
    /// The daemon process.
    pub child: Child,
    /// Its control socket.
    pub control: PathBuf,
}

impl Daemon {
    /// Starts `nodebgp run` on the embedded store in `directory`.
    pub fn start(
        directory: &Path,
        node: &str,
        address: IpAddr,
        asn: &str,
        extra: &[&str],
    ) -> Daemon {
        Daemon::start_with(directory, &store_url(directory), node, address, asn, extra)
    }

    /// Starts `nodebgp run` on any datastore and waits for its control socket.
    pub fn start_with(
        directory: &Path,
        datastore: &str,
        node: &str,
        address: IpAddr,
        asn: &str,
        extra: &[&str],
    ) -> Daemon {
        let control = directory.join("nodebgp.ctl");
        let log = std::fs::File::create(directory.join("nodebgp.log")).unwrap();
        let child = Command::new(nodebgp())
            .args([
                "run",
                "--node",
                node,
                "--as",
                asn,
                "--listen",
                &address.to_string(),
            ])
            .args(["--datastore", datastore, "--control-socket"])
            .arg(&control)
            .args(["--connect-retry", "1", "--hold-time", "9"])
            // Quick restarts after errors, as the lab shortens its daemons'
            // own back-offs (a test may give its own).
            .args(if extra.contains(&"--error-wait") {
                &[][..]
            } else {
                &["--error-wait", "1,4"][..]
            })
            .args(["--log-level", "debug"])
            // Tests never touch the host's routing table: the kernel FIB is
            // only on where a test gives it a namespace of its own.
            .args(if extra.contains(&"--fib-netns") {
                &[][..]
            } else {
                &["--no-fib"][..]
            })
            .args(extra)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let daemon = Daemon { child, control };
        let deadline = Instant::now() + UP;
        while daemon.try_status().is_none() {
            assert!(
                Instant::now() < deadline,
                "the daemon's control socket never answered"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        daemon
    }

    /// `nodebgp status -o json`, if the daemon answers.
    pub fn try_status(&self) -> Option<Value> {
        status_at(&self.control)
    }

    /// One peer of the status report.
    pub fn peer(&self, address: IpAddr) -> Option<Value> {
        let status = self.try_status()?;
        status["peers"]
            .as_array()?
            .iter()
            .find(|peer| peer["peer"] == address.to_string())
            .cloned()
    }

    /// Our end of the session with `address` (`local_address` in the status
    /// report): a session that restarted has a new one.
    pub fn session_connection(&self, address: IpAddr) -> String {
        self.peer(address)
            .expect("the peer is in the status report")["local_address"]
            .as_str()
            .expect("an Established session has a local address")
            .to_owned()
    }

    /// Waits until the daemon reports the peer in `state`.
    pub fn wait_for(&self, address: IpAddr, state: &str) -> Value {
        let deadline = Instant::now() + UP;
        loop {
            if let Some(peer) = self.peer(address).filter(|peer| peer["state"] == state) {
                return peer;
            }
            assert!(
                Instant::now() < deadline,
                "{address} never reached {state}: {:?}",
                self.peer(address)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `nodebgp routes -o json` with `arguments` (e.g. `--peer`, a prefix).
    pub fn routes(&self, arguments: &[&str]) -> Value {
        let output = Command::new(nodebgp())
            .args(["routes", "-o", "json", "--control-socket"])
            .arg(&self.control)
            .args(arguments)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "nodebgp routes {arguments:?}: {output:?}"
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// Waits until `nodebgp routes` with `arguments` satisfies `done`;
    /// returns the last answer.
    pub fn wait_for_routes(
        &self,
        arguments: &[&str],
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + UP;
        loop {
            let answer = self.routes(arguments);
            if done(&answer) {
                return answer;
            }
            assert!(Instant::now() < deadline, "never {what}: {answer:#}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Sends a signal (`-TERM`, `-INT`) and waits for the process to end.
    pub fn signal(&mut self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// SIGTERM, and waits for the process to end.
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nodebgp status -o json` against the daemon on `control`, if it answers.
pub fn status_at(control: &Path) -> Option<Value> {
    let output = Command::new(nodebgp())
        .args(["status", "-o", "json", "--control-socket"])
        .arg(control)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| serde_json::from_slice(&output.stdout).ok())
        .flatten()
}

/// A free loopback address.
pub fn address() -> IpAddr {
    IpAddr::V4(lab::free_loopback_address().unwrap())
}

/// Our neighbor entry in a lab router's configuration: `address` in `asn`,
/// with a short connect retry and hold time so that tests move quickly.
pub fn neighbor(address: IpAddr, asn: u32) -> lab::NeighborSpec {
    lab::NeighborSpec::new(address, asn)
        .with_connect_retry(1)
        .with_hold_time(9)
}

/// A lab router of `kind` on `address` in `asn`, with us (`ours`, `our_asn`)
/// as its one neighbor.
pub fn peering_with_us(
    kind: lab::Kind,
    name: &str,
    address: IpAddr,
    asn: u32,
    ours: IpAddr,
    our_asn: u32,
) -> lab::RouterSpec {
    lab::RouterSpec::new(kind, name, address, asn).neighbor(neighbor(ours, our_asn))
}

/// Polls `check` until it holds, for at most [`UP`].
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + UP;
    while !check() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
