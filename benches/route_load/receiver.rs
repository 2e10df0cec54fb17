//! The receiving side: each implementation started fresh on its own loopback
//! address and port, with the senders as its neighbors (AS 64700), importing
//! everything, exporting nothing, and no kernel FIB (with `--fib`, BIRD's
//! kernel protocol or nodebgp's FIB installs what it selects). With fan-out clients
//! (`--clients`) it also has those as iBGP neighbors (its own AS 65000) and
//! exports what it learned to them, as a route reflector does to its clients.
//!
//! BIRD, FRR and GoBGP run through the lab harness ([`lab::Router`]); nodebgp
//! is the release binary, given one bgpPeer resource in an embedded store.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use bgp_wire::Family;
use lab::{Kind, NeighborSpec, PeerState, Router, RouterSpec};

use crate::sender::SENDER_AS;

/// The receivers' AS.
pub(crate) const RECEIVER_AS: u32 = 65000;

/// The fan-out clients' hold time (they send KEEPALIVEs): GoBGP 3.10 takes a
/// negotiated 0 as a write deadline of now, and fails every write.
pub(crate) const CLIENT_HOLD_TIME: u16 = 90;

/// How long a receiver may take to start and configure its neighbor.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What every receiver of a run is set up for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    /// The table's family; every session carries it, and IPv4 unicast (the
    /// transport's).
    pub(crate) family: Family,
    /// Install the best routes into the kernel (`--fib`; route-load runs in
    /// a namespace of its own, see [`crate::fib`]).
    pub(crate) kernel: bool,
    /// The receiver will be restarted gracefully (`--restart`): BIRD gets
    /// graceful restart on its sessions and kernel protocol (nodebgp has it
    /// by default).
    pub(crate) restart: bool,
}

/// One implementation under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Implementation {
    /// A daemon of the lab harness.
    Lab(Kind),
    /// nodebgp, from this binary.
    Nodebgp(PathBuf),
    /// The null receiver ([`crate::null`]): reads and counts, nothing more.
    Null,
}

impl Implementation {
    /// The name in the report.
    pub(crate) fn name(&self) -> String {
        match self {
            Implementation::Lab(kind) => kind.to_string(),
            Implementation::Nodebgp(_) => "nodebgp".to_owned(),
            Implementation::Null => "null".to_owned(),
        }
    }

    /// Why it cannot run here, or not in this scenario, if it cannot.
    pub(crate) fn missing(&self, options: &Options) -> Option<String> {
        match self {
            Implementation::Lab(kind @ (Kind::Frr | Kind::Gobgp)) if options.kernel => Some(
                format!("{kind} has no kernel FIB here (the lab runs it without zebra)"),
            ),
            Implementation::Null if options.kernel => {
                Some("the null receiver installs nothing".to_owned())
            }
            Implementation::Lab(kind) if !lab::available(*kind) => Some(format!(
                "package {} is not installed (apt-get install -y {})",
                kind.package(),
                kind.package()
            )),
            Implementation::Lab(_) => None,
            Implementation::Nodebgp(binary) if !binary.is_file() => Some(format!(
                "{} does not exist (cargo build --release -p nodebgp)",
                binary.display()
            )),
            Implementation::Nodebgp(_) | Implementation::Null => None,
        }
    }

    /// The version line the implementation prints about itself.
    pub(crate) fn version(&self) -> String {
        let (program, flag) = match self {
            Implementation::Lab(Kind::Bird) => ("/usr/sbin/bird".into(), "--version"),
            Implementation::Lab(Kind::Frr) => ("/usr/lib/frr/bgpd".into(), "--version"),
            Implementation::Lab(Kind::Gobgp) => ("/usr/bin/gobgpd".into(), "--version"),
            Implementation::Nodebgp(binary) => (binary.clone(), "--version"),
            Implementation::Null => {
                return "route-load's own reader (the harness's process)".to_owned()
            }
        };
        let output = Command::new(&program).arg(flag).output();
        let text = match output {
            Ok(output) => format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => format!("({}: {error})", program.display()),
        };
        text.lines()
            .find(|line| line.to_ascii_lowercase().contains("version") || line.contains("nodebgp"))
            .unwrap_or("?")
            .trim()
            .to_owned()
    }

    /// Starts it with `senders` (eBGP) and `clients` (iBGP) as its
    /// neighbors. Returns once it listens.
    pub(crate) fn start(
        &self,
        senders: &[Ipv4Addr],
        clients: &[Ipv4Addr],
        options: &Options,
        run: usize,
    ) -> Result<Running, String> {
        let families: &[lab::Family] = if options.family == Family::IPV6_UNICAST {
            &[lab::Family::Ipv4, lab::Family::Ipv6]
        } else {
            &[lab::Family::Ipv4]
        };
        let address = lab::free_loopback_address().map_err(|error| error.to_string())?;
        let port = lab::free_port(address.into()).map_err(|error| error.to_string())?;
        match self {
            Implementation::Lab(kind) => {
                let name = format!("route-load-{}-{run}", kind.package());
                let mut spec = RouterSpec::new(*kind, name, address, RECEIVER_AS)
                    .with_port(port)
                    .with_export(!clients.is_empty())
                    .with_kernel(options.kernel);
                if options.restart {
                    spec = spec.with_graceful_restart();
                }
                let neighbors = senders.iter().map(|sender| (sender, SENDER_AS, 0)).chain(
                    clients
                        .iter()
                        .map(|client| (client, RECEIVER_AS, CLIENT_HOLD_TIME)),
                );
                for (neighbor, asn, hold_time) in neighbors {
                    spec = spec.neighbor(
                        NeighborSpec::new(*neighbor, asn)
                            .with_families(families)
                            .with_passive(true)
                            .with_hold_time(hold_time),
                    );
                }
                let router = Router::start(spec).map_err(|error| error.to_string())?;
                Ok(Running::Lab {
                    router,
                    listen: SocketAddr::new(address.into(), port),
                })
            }
            Implementation::Nodebgp(binary) => {
                Nodebgp::start(binary, address, port, senders, clients, options, run)
                    .map(Running::Nodebgp)
            }
            Implementation::Null => crate::null::NullReceiver::start().map(Running::Null),
        }
    }
}

/// A receiver that runs.
#[derive(Debug)]
pub(crate) enum Running {
    /// Through the lab harness.
    Lab {
        /// The daemon.
        router: Router,
        /// Where it listens.
        listen: SocketAddr,
    },
    /// nodebgp.
    Nodebgp(Nodebgp),
    /// The null receiver.
    Null(crate::null::NullReceiver),
}

impl Running {
    /// Where the sender connects to.
    pub(crate) fn listen(&self) -> SocketAddr {
        match self {
            Running::Lab { listen, .. } => *listen,
            Running::Nodebgp(daemon) => daemon.listen,
            Running::Null(null) => null.listen(),
        }
    }

    /// The process whose memory is measured.
    pub(crate) fn pid(&self) -> u32 {
        match self {
            Running::Lab { router, .. } => router.pid(),
            Running::Nodebgp(daemon) => daemon.child.id(),
            // The harness itself.
            Running::Null(_) => std::process::id(),
        }
    }

    /// Prefixes from `sender` that the receiver reports as accepted, from its
    /// own CLI: FRR `acceptedPrefixCounter`, GoBGP `accepted`, BIRD `Routes: N
    /// imported`, nodebgp `status` `prefixes.received`.
    pub(crate) fn count(&self, sender: Ipv4Addr) -> Result<u64, String> {
        match self {
            Running::Lab { router, .. } => router
                .received_count(sender.into())
                .map_err(|error| error.to_string()),
            Running::Nodebgp(daemon) => daemon.count(sender),
            Running::Null(null) => Ok(null.count(sender)),
        }
    }

    /// Prefixes from every sender together that the receiver reports as
    /// accepted, in one query (many sessions: one query per sender would
    /// cost more than the load).
    pub(crate) fn total(&self) -> Result<u64, String> {
        match self {
            Running::Lab { router, .. } => router
                .received_count_total()
                .map_err(|error| error.to_string()),
            Running::Nodebgp(daemon) => daemon.total(),
            Running::Null(null) => Ok(null.total()),
        }
    }

    /// Whether the receiver has nothing left to select. FRR counts a prefix
    /// accepted when it enters the table and runs best-path selection from a
    /// work queue afterwards, so its `process_queue` must be empty too; BIRD,
    /// GoBGP and nodebgp select as they accept.
    pub(crate) fn settled(&self) -> Result<bool, String> {
        match self {
            Running::Lab { router, .. } if router.kind() == Kind::Frr => {
                let queues = router
                    .cli(&["show work-queues"])
                    .map_err(|error| error.to_string())?;
                frr_process_queue_items(&queues)
                    .map(|items| items == 0)
                    .ok_or_else(|| format!("no process_queue in `show work-queues`:\n{queues}"))
            }
            _ => Ok(true),
        }
    }

    /// Whether the receiver sees the session to `sender` as Established.
    pub(crate) fn established(&self, sender: Ipv4Addr) -> bool {
        match self {
            Running::Lab { router, .. } => {
                router.neighbor_state(sender.into()).ok() == Some(PeerState::Established)
            }
            Running::Nodebgp(daemon) => daemon
                .peer(sender)
                .ok()
                .flatten()
                .is_some_and(|peer| peer["state"] == "Established"),
            Running::Null(null) => null.established(sender),
        }
    }

    /// Restarts the receiver as an operator upgrading it would, keeping
    /// what it installed in the kernel: BIRD `graceful restart` and `bird
    /// -R`, nodebgp SIGTERM (with graceful restart on, it leaves its kernel
    /// routes) and the same command again. Returns once the new process
    /// listens, with how long the old process took to leave; the sessions
    /// are gone, the senders connect again.
    pub(crate) fn restart_gracefully(&mut self) -> Result<Duration, String> {
        match self {
            Running::Lab { router, .. } => router
                .restart_gracefully(START_TIMEOUT)
                .map_err(|error| error.to_string()),
            Running::Nodebgp(daemon) => daemon.restart_gracefully(),
            Running::Null(_) => Err("the null receiver does not restart".to_owned()),
        }
    }

    /// Where it listens and where its files are.
    pub(crate) fn describe(&self) -> String {
        match self {
            Running::Lab { router, listen } => {
                format!(
                    "{} on {listen}, run directory {}",
                    router.kind(),
                    router.run_dir().display()
                )
            }
            Running::Nodebgp(daemon) => format!(
                "nodebgp on {}, control socket {}",
                daemon.listen,
                daemon.socket.display()
            ),
            Running::Null(null) => format!("the null receiver on {}", null.listen()),
        }
    }

    /// The last lines of the receiver's log.
    pub(crate) fn log_tail(&self) -> String {
        match self {
            Running::Lab { router, .. } => router.log_tail(15),
            Running::Nodebgp(daemon) => daemon.log_tail(),
            Running::Null(_) => String::new(),
        }
    }
}

/// A nodebgp daemon in a directory of its own.
#[derive(Debug)]
pub(crate) struct Nodebgp {
    binary: PathBuf,
    /// What it runs with (`nodebgp run …`), to run it again the same way.
    arguments: Vec<String>,
    /// Its bgpPeers: ready once it lists them all.
    peers: usize,
    child: Child,
    dir: PathBuf,
    socket: PathBuf,
    listen: SocketAddr,
}

impl Nodebgp {
    fn start(
        binary: &Path,
        address: Ipv4Addr,
        port: u16,
        senders: &[Ipv4Addr],
        clients: &[Ipv4Addr],
        options: &Options,
        run: usize,
    ) -> Result<Nodebgp, String> {
        let dir =
            std::env::temp_dir().join(format!("nodebgp-route-load-{}-{run}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
        // The daemon also connects out to its peers. The peer's port is one on
        // which nothing listens, so those attempts are refused at once and the
        // sender's own connection is the session.
        let mut documents = Vec::with_capacity(senders.len() + clients.len());
        let neighbors = senders
            .iter()
            .map(|sender| (sender, SENDER_AS))
            .chain(clients.iter().map(|client| (client, RECEIVER_AS)));
        for (neighbor, asn) in neighbors {
            let dead_port =
                lab::free_port((*neighbor).into()).map_err(|error| error.to_string())?;
            documents.push(format!(
                "apiVersion: v1\nkind: bgpPeer\nmetadata:\n  scope: global\n  peerIP: {neighbor}:{dead_port}\nspec:\n  asNumber: {asn}\n"
            ));
        }
        let peers = dir.join("peers.yaml");
        std::fs::write(&peers, documents.join("---\n"))
            .map_err(|error| format!("{}: {error}", peers.display()))?;
        let store = format!("file:{}", dir.join("store").display());
        let applied = Command::new(binary)
            .args(["apply", "-f"])
            .arg(&peers)
            .args(["--datastore", &store])
            .output()
            .map_err(|error| format!("{}: {error}", binary.display()))?;
        if !applied.status.success() {
            return Err(format!(
                "nodebgp apply: {}",
                String::from_utf8_lossy(&applied.stderr)
            ));
        }
        let socket = dir.join("nodebgp.ctl");
        let listen = SocketAddr::new(address.into(), port);
        let mut arguments: Vec<String> = [
            "run",
            "--node",
            "bench",
            "--as",
            &RECEIVER_AS.to_string(),
            "--listen",
            &listen.to_string(),
            "--datastore",
            &store,
            "--control-socket",
            &socket.display().to_string(),
            "--log-level",
            "warn",
        ]
        .map(str::to_owned)
        .to_vec();
        if !options.kernel {
            arguments.push("--no-fib".to_owned());
        }
        if options.family != Family::IPV4_UNICAST {
            arguments.push("--all-families".to_owned());
            if !clients.is_empty() {
                // The sessions are IPv4: nodebgp advertises IPv6 routes over
                // one only when it has an IPv6 address to give as next hop
                // (crates/bgp-rib/src/export.rs). A documentation address: the
                // clients count prefixes and forward nothing.
                arguments.extend(["--ipv6-next-hop".to_owned(), "2001:db8:ffff::1".to_owned()]);
            }
        }
        let child = spawn(binary, &arguments, &dir)?;
        let mut daemon = Nodebgp {
            binary: binary.to_owned(),
            arguments,
            peers: senders.len() + clients.len(),
            child,
            dir,
            socket,
            listen,
        };
        daemon.wait_ready()?;
        Ok(daemon)
    }

    /// Until it answers and knows its peers.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "nodebgp exited during start-up ({status}):\n{}",
                    self.log_tail()
                ));
            }
            if matches!(self.peer_count(), Ok(count) if count == self.peers) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "nodebgp not ready after {START_TIMEOUT:?} (log {})",
                    self.dir.join("nodebgp.log").display()
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM (graceful restart is on by default: the daemon closes its
    /// sessions without a NOTIFICATION and leaves its kernel routes), then
    /// the same command again, which finds those routes and keeps them
    /// until its peers have resent their tables.
    fn restart_gracefully(&mut self) -> Result<Duration, String> {
        let stopping = Instant::now();
        // The daemon, not setpriv, which exec(2)s it and is gone.
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
            .map_err(|error| format!("SIGTERM to nodebgp: {error}"))?;
        // Its own bound on leaving: peers 1.5 s, the kernel routes 30 s.
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() > deadline => {
                    return Err(format!(
                        "nodebgp still runs 40 s after SIGTERM:\n{}",
                        self.log_tail()
                    ))
                }
                Ok(None) => thread::sleep(Duration::from_millis(5)),
                Err(error) => return Err(format!("waiting for nodebgp: {error}")),
            }
        }
        let gone = stopping.elapsed();
        self.child = spawn(&self.binary, &self.arguments, &self.dir)?;
        self.wait_ready()?;
        Ok(gone)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("nodebgp.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// The status report's peers.
    fn peers(&self) -> Result<Vec<serde_json::Value>, String> {
        let report = self.report()?;
        Ok(report["peers"].as_array().cloned().unwrap_or_default())
    }

    fn peer_count(&self) -> Result<usize, String> {
        self.peers().map(|peers| peers.len())
    }

    /// `prefixes.received` summed over every peer.
    fn total(&self) -> Result<u64, String> {
        Ok(self
            .peers()?
            .iter()
            .filter_map(|peer| peer["prefixes"]["received"].as_u64())
            .sum())
    }

    /// `nodebgp status -o json`.
    fn report(&self) -> Result<serde_json::Value, String> {
        let output = Command::new(&self.binary)
            .args(["status", "-o", "json", "--control-socket"])
            .arg(&self.socket)
            .output()
            .map_err(|error| format!("nodebgp status: {error}"))?;
        if !output.status.success() {
            return Err(format!(
                "nodebgp status: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        serde_json::from_slice(&output.stdout).map_err(|error| format!("nodebgp status: {error}"))
    }

    /// The status report's entry for `peer`.
    fn peer(&self, peer: Ipv4Addr) -> Result<Option<serde_json::Value>, String> {
        let report = self.report()?;
        let wanted = IpAddr::from(peer).to_string();
        Ok(report["peers"]
            .as_array()
            .and_then(|peers| peers.iter().find(|entry| entry["peer"] == wanted.as_str()))
            .cloned())
    }

    fn count(&self, peer: Ipv4Addr) -> Result<u64, String> {
        let entry = self
            .peer(peer)?
            .ok_or_else(|| format!("nodebgp status does not list {peer}"))?;
        entry["prefixes"]["received"]
            .as_u64()
            .ok_or_else(|| format!("no prefixes.received in {entry}"))
    }
}

impl Drop for Nodebgp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts `binary arguments` with its output appended to `dir`'s
/// nodebgp.log; it dies with this process, like the lab's daemons.
fn spawn(binary: &Path, arguments: &[String], dir: &Path) -> Result<Child, String> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("nodebgp.log"))
        .map_err(|error| format!("nodebgp.log: {error}"))?;
    let log2 = log
        .try_clone()
        .map_err(|error| format!("nodebgp.log: {error}"))?;
    let setpriv = Path::new("/usr/bin/setpriv");
    let mut command = if setpriv.exists() {
        let mut command = Command::new(setpriv);
        command.args(["--pdeathsig", "KILL", "--"]).arg(binary);
        command
    } else {
        Command::new(binary)
    };
    command
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|error| format!("{}: {error}", binary.display()))
}

/// Items waiting in bgpd's `process_queue`, from `show work-queues`:
///
/// ```text
///       List (ms)   Q. Runs   Yields       Cycle Counts
/// P    Items  Hold    Total    Total    Best  Gran.    Total   Avg. Name
///          1    50      131        0       2      1      133      1 process_queue (null)
/// ```
fn frr_process_queue_items(text: &str) -> Option<u64> {
    text.lines()
        .find(|line| line.contains("process_queue"))
        .and_then(|line| {
            line.split_whitespace()
                .find(|word| word.chars().all(|c| c.is_ascii_digit()))
        })
        .and_then(|items| items.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frr_process_queue_items_come_from_the_first_column() {
        let text = "Work queue statistics for bgpd:
      List (ms)   Q. Runs   Yields       Cycle Counts
P    Items  Hold    Total    Total    Best  Gran.    Total   Avg. Name
         0    50        0        0       0      1        0      0 label callbacks
         7    50      131        0       2      1      133      1 process_queue (null)
";
        assert_eq!(frr_process_queue_items(text), Some(7));
        assert_eq!(frr_process_queue_items("nothing"), None);
    }
}
