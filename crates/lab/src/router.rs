//! A running daemon instance.

use crate::addr::{free_loopback_address, lab_root};
use crate::parse;
use crate::process::{self, CliOutput};
use crate::spec::{parse_prefix, Family, RouterSpec};
use crate::{bird, check_installed, frr, gobgp, Kind, LabError, PeerState};
use rustix::process::Signal;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long a daemon may take to listen after being spawned.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a CLI call may take before it is killed.
const CLI_TIMEOUT: Duration = Duration::from_secs(10);
/// SIGTERM grace period before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// Poll interval of the wait helpers.
const POLL: Duration = Duration::from_millis(100);
/// Log lines attached to errors.
const ERROR_LOG_LINES: usize = 25;

/// Files of one instance.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub(crate) dir: PathBuf,
    pub(crate) config: PathBuf,
    /// The daemon's own log.
    pub(crate) log: PathBuf,
    /// stdout + stderr of the daemon process.
    pub(crate) console: PathBuf,
    /// Control socket (vty socket, gRPC unix socket, BIRD control socket).
    pub(crate) control: PathBuf,
}

impl Paths {
    pub(crate) fn new(dir: PathBuf, kind: Kind) -> Paths {
        let (config, log, console, control) = match kind {
            Kind::Frr => ("bgpd.conf", "bgpd.log", "console.log", "bgpd.vty"),
            // gobgpd logs to stderr only, so the console is its log.
            Kind::Gobgp => ("gobgpd.toml", "gobgpd.log", "gobgpd.log", "api.sock"),
            Kind::Bird => ("bird.conf", "bird.log", "console.log", "bird.ctl"),
        };
        Paths {
            config: dir.join(config),
            log: dir.join(log),
            console: dir.join(console),
            control: dir.join(control),
            dir,
        }
    }
}

/// A running (or stopped, or killed) BGP daemon started by the harness.
///
/// Dropping it stops the daemon (SIGTERM, SIGKILL after 3 s, reaped) and
/// removes its run directory, unless the thread is panicking or
/// `NODEBGP_LAB_KEEP` is set, in which case the directory is kept and its
/// path printed to stderr.
#[derive(Debug)]
pub struct Router {
    spec: RouterSpec,
    router_id: Ipv4Addr,
    paths: Paths,
    child: Option<Child>,
    pid: u32,
    keep_dir: bool,
}

static NEXT_DIR: AtomicU32 = AtomicU32::new(0);

impl Router {
    /// Writes the config, starts the daemon and waits until it listens on
    /// `spec.address:spec.port` (and its control socket answers). On failure
    /// the error carries the daemon's log tail and nothing is left running.
    pub fn start(spec: RouterSpec) -> Result<Router, LabError> {
        check_installed(spec.kind)?;
        spec.validate()?;
        let router_id = match (spec.router_id, spec.address) {
            (Some(id), _) => id,
            (None, IpAddr::V4(a)) => a,
            (None, IpAddr::V6(_)) => free_loopback_address()?,
        };
        let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
        let dir = lab_root().join(format!("{}-{}-{n}", spec.name, std::process::id()));
        let paths = Paths::new(dir, spec.kind);
        // sun_path holds 108 bytes including the NUL.
        if paths.control.as_os_str().len() > 100 {
            return Err(LabError::InvalidSpec(format!(
                "control socket path {} is too long for a unix socket; set NODEBGP_LAB_DIR to a shorter directory",
                paths.control.display()
            )));
        }
        if paths.dir.exists() {
            std::fs::remove_dir_all(&paths.dir)
                .map_err(|e| LabError::io(format!("clear {}", paths.dir.display()), e))?;
        }
        std::fs::create_dir_all(&paths.dir)
            .map_err(|e| LabError::io(format!("create {}", paths.dir.display()), e))?;
        let mut router = Router {
            spec,
            router_id,
            paths,
            child: None,
            pid: 0,
            keep_dir: false,
        };
        if let Err(e) = router.write_config().and_then(|()| router.launch()) {
            // Nothing runs any more; keep the config and logs for a look.
            router.keep_dir = !matches!(e, LabError::AddressInUse { .. });
            return Err(e);
        }
        Ok(router)
    }

    fn write_config(&self) -> Result<(), LabError> {
        let spec = &self.spec;
        let text = match spec.kind {
            Kind::Frr => frr::config(spec, self.router_id),
            Kind::Gobgp => gobgp::config(spec, self.router_id),
            Kind::Bird => {
                for fam in [Family::Ipv4, Family::Ipv6] {
                    write(
                        &bird::static_file(&self.paths, fam),
                        &bird::static_routes(spec, fam),
                    )?;
                }
                bird::config(spec, self.router_id, &self.paths)
            }
        };
        write(&self.paths.config, &text)?;
        match spec.kind {
            Kind::Frr => frr::check_config(&self.paths),
            Kind::Gobgp => gobgp::check_config(&self.paths),
            Kind::Bird => bird::check_config(&self.paths),
        }
    }

    /// Spawns the daemon on the existing config and waits until it is ready.
    fn launch(&mut self) -> Result<(), LabError> {
        self.launch_recovering(false)
    }

    /// [`Router::launch`]; `recovering`: after a graceful restart (BIRD `-R`).
    fn launch_recovering(&mut self, recovering: bool) -> Result<(), LabError> {
        ensure_port_free(self.spec.address, self.spec.port)?;
        // Leftovers of a killed instance: gobgpd refuses an existing socket path.
        let _ = std::fs::remove_file(&self.paths.control);
        let (program, args) = match self.spec.kind {
            Kind::Frr => (frr::BGPD, frr::daemon_args(&self.spec, &self.paths)),
            Kind::Gobgp => (gobgp::GOBGPD, gobgp::daemon_args(&self.paths)),
            Kind::Bird => (bird::BIRD, bird::daemon_args(&self.paths, recovering)),
        };
        let child = process::spawn_daemon(program, &args, &self.paths.console, &self.paths.dir)?;
        self.pid = child.id();
        self.child = Some(child);
        if let Err(e) = self.wait_ready() {
            if let Some(mut c) = self.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
            return Err(e);
        }
        if self.spec.kind == Kind::Gobgp {
            let routes: Vec<ipnet::IpNet> = self
                .spec
                .routes
                .iter()
                .filter_map(|r| parse_prefix(r).ok())
                .collect();
            if let Err(e) = self.gobgp_add(&routes) {
                self.stop();
                return Err(self.start_failed(format!("originating routes: {e}")));
            }
        }
        Ok(())
    }

    fn start_failed(&self, reason: String) -> LabError {
        LabError::StartFailed {
            name: self.spec.name.clone(),
            reason,
            run_dir: self.paths.dir.clone(),
            log_tail: self.log_tail(ERROR_LOG_LINES),
        }
    }

    fn wait_ready(&mut self) -> Result<(), LabError> {
        let deadline = Instant::now() + START_TIMEOUT;
        // BIRD only listens while a BGP protocol exists.
        let must_listen = !(self.spec.kind == Kind::Bird && self.spec.neighbors.is_empty());
        loop {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    return Err(
                        self.start_failed(format!("the daemon exited during start-up ({status})"))
                    );
                }
            }
            let control = self.paths.control.exists();
            let listening = !must_listen
                || process::pid_listens_on(self.pid, self.spec.address, self.spec.port);
            if control && listening {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.start_failed(format!(
                    "not ready after {START_TIMEOUT:?}: control socket {}: {}; listening on {}: {}",
                    self.paths.control.display(),
                    if control { "present" } else { "missing" },
                    socket_string(self.spec.address, self.spec.port),
                    if listening { "yes" } else { "no" },
                )));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn gobgp_add(&self, routes: &[ipnet::IpNet]) -> Result<(), LabError> {
        for r in routes {
            let args = gobgp::rib_add(r);
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            self.cli(&refs)?;
        }
        Ok(())
    }

    // ------------------------------------------------------------ accessors

    /// The spec this router runs (including routes added since start).
    pub fn spec(&self) -> &RouterSpec {
        &self.spec
    }

    /// Which daemon.
    pub fn kind(&self) -> Kind {
        self.spec.kind
    }

    /// Instance name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Listen address.
    pub fn address(&self) -> IpAddr {
        self.spec.address
    }

    /// Listen port.
    pub fn port(&self) -> u16 {
        self.spec.port
    }

    /// Local AS number.
    pub fn asn(&self) -> u32 {
        self.spec.asn
    }

    /// BGP identifier in use.
    pub fn router_id(&self) -> Ipv4Addr {
        self.router_id
    }

    /// Run directory (config, logs, control socket).
    pub fn run_dir(&self) -> &Path {
        &self.paths.dir
    }

    /// Path of the generated config file.
    pub fn config_path(&self) -> &Path {
        &self.paths.config
    }

    /// Pid of the daemon (the last one started, even if it has exited).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the daemon process exists and has not exited.
    pub fn is_running(&self) -> bool {
        self.child.is_some() && !matches!(process::proc_state(self.pid), None | Some('Z' | 'X'))
    }

    /// VmRSS of the daemon in KiB (for benchmarks).
    pub fn rss_kib(&self) -> Option<u64> {
        if self.is_running() {
            process::rss_kib(self.pid)
        } else {
            None
        }
    }

    /// The last `lines` lines of the daemon's log (and of its stdout/stderr
    /// if it wrote anything there).
    pub fn log_tail(&self, lines: usize) -> String {
        let mut s = process::tail_file(&self.paths.log, lines);
        if self.paths.console != self.paths.log {
            let c = process::tail_file(&self.paths.console, lines);
            if !c.trim().is_empty() {
                s.push_str(&format!("\n--- {} ---\n{c}", self.paths.console.display()));
            }
        }
        s
    }

    // ------------------------------------------------------------ process control

    /// SIGSTOP: the daemon freezes (sends nothing, answers nothing; CLI calls
    /// time out). Peers see their hold timer expire. Returns once the kernel
    /// reports the process stopped.
    pub fn pause(&self) -> Result<(), LabError> {
        self.send(Signal::STOP)?;
        self.wait_proc_state("stopped", |s| s == 'T')
    }

    /// SIGCONT after [`Router::pause`]; returns once the process runs again.
    pub fn resume(&self) -> Result<(), LabError> {
        self.send(Signal::CONT)?;
        self.wait_proc_state("running", |s| s != 'T')
    }

    /// Signal delivery is asynchronous: wait (briefly) until /proc agrees.
    fn wait_proc_state(&self, what: &str, ok: impl Fn(char) -> bool) -> Result<(), LabError> {
        let start = Instant::now();
        loop {
            match process::proc_state(self.pid) {
                Some(s) if ok(s) => return Ok(()),
                None | Some('Z' | 'X') => {
                    return Err(LabError::NotRunning {
                        name: self.spec.name.clone(),
                    })
                }
                Some(s) if start.elapsed() > Duration::from_secs(2) => {
                    return Err(self.timeout(
                        &format!("process to be {what}"),
                        start.elapsed(),
                        format!("state {s}"),
                    ));
                }
                Some(_) => thread::sleep(Duration::from_millis(2)),
            }
        }
    }

    fn send(&self, sig: Signal) -> Result<(), LabError> {
        match &self.child {
            Some(c) if self.is_running() && process::signal(c, sig) => Ok(()),
            _ => Err(LabError::NotRunning {
                name: self.spec.name.clone(),
            }),
        }
    }

    /// SIGKILL, for "peer died" tests: no NOTIFICATION is sent; the kernel
    /// closes the TCP connections.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Graceful stop: SIGTERM, SIGKILL after a few seconds. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            process::stop_child(&mut c, STOP_GRACE);
        }
    }

    /// Stops the daemon if it runs, then starts it again with the same spec
    /// (and the routes added since), in the same run directory.
    pub fn restart(&mut self) -> Result<(), LabError> {
        self.stop();
        self.write_config()?;
        self.launch()
    }

    /// A graceful restart of the daemon itself, as an operator upgrading it
    /// does: `birdc graceful restart` (BIRD closes its sessions and leaves,
    /// keeping its kernel routes), then BIRD started again with `-R`, which
    /// keeps those routes until its peers have resent their tables (RFC 4724
    /// §4.1). Returns once the new process listens, with how long the old
    /// one took to leave. BIRD only: the lab runs FRR and GoBGP without a FIB
    /// to preserve.
    pub fn restart_gracefully(&mut self, within: Duration) -> Result<Duration, LabError> {
        if self.spec.kind != Kind::Bird {
            return Err(LabError::InvalidSpec(format!(
                "{}: a graceful restart of the daemon is only done for BIRD",
                self.spec.name
            )));
        }
        let stopping = Instant::now();
        self.cli(&["graceful", "restart"])?;
        let deadline = stopping + within;
        while self.is_running() {
            if Instant::now() >= deadline {
                return Err(self.timeout(
                    "BIRD to leave after `graceful restart`",
                    within,
                    "still running".to_owned(),
                ));
            }
            thread::sleep(Duration::from_millis(5));
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
        let gone = stopping.elapsed();
        self.launch_recovering(true)?;
        Ok(gone)
    }

    // ------------------------------------------------------------ queries

    /// Runs the daemon's CLI and returns its stdout: for FRR each argument is
    /// one `vtysh -c` command; for GoBGP the arguments follow
    /// `gobgp --target unix://…`; for BIRD they follow `birdc -s …`.
    pub fn cli(&self, args: &[&str]) -> Result<String, LabError> {
        self.cli_within(args, CLI_TIMEOUT)
    }

    fn cli_within(&self, args: &[&str], timeout: Duration) -> Result<String, LabError> {
        let out = self.cli_raw(args, timeout)?;
        let failed = !out.success
            || (self.spec.kind == Kind::Frr
                && out
                    .stdout
                    .lines()
                    .any(|l| l.starts_with("% ") && !l.contains("Warning")));
        if failed {
            return Err(LabError::Cli {
                command: self.cli_line(args),
                detail: format!("{}: {}{}", out.status, out.stdout.trim(), out.stderr.trim()),
            });
        }
        Ok(out.stdout)
    }

    fn cli_program(&self) -> &'static str {
        match self.spec.kind {
            Kind::Frr => frr::VTYSH,
            Kind::Gobgp => gobgp::GOBGP,
            Kind::Bird => bird::BIRDC,
        }
    }

    fn cli_full_args(&self, args: &[&str]) -> Vec<String> {
        match self.spec.kind {
            Kind::Frr => frr::cli_args(&self.paths, args),
            Kind::Gobgp => gobgp::cli_args(&self.paths, args),
            Kind::Bird => bird::cli_args(&self.paths, args),
        }
    }

    fn cli_line(&self, args: &[&str]) -> String {
        process::command_line(self.cli_program(), &self.cli_full_args(args))
    }

    fn cli_raw(&self, args: &[&str], timeout: Duration) -> Result<CliOutput, LabError> {
        if !self.is_running() {
            return Err(LabError::NotRunning {
                name: self.spec.name.clone(),
            });
        }
        process::run(self.cli_program(), &self.cli_full_args(args), timeout)
    }

    fn bird_protocol(&self, peer: IpAddr) -> Option<String> {
        self.spec.neighbor_index(peer).map(bird::protocol_name)
    }

    fn families_of(&self, peer: IpAddr) -> Vec<Family> {
        match self.spec.neighbor_index(peer) {
            Some(i) => self.spec.neighbors[i].effective_families(),
            None => vec![Family::Ipv4, Family::Ipv6],
        }
    }

    /// The session state towards `peer`; [`PeerState::NotRunning`] if the
    /// daemon is not running, [`PeerState::NotConfigured`] if it does not
    /// know the peer.
    pub fn neighbor_state(&self, peer: IpAddr) -> Result<PeerState, LabError> {
        self.state_within(peer, CLI_TIMEOUT)
    }

    fn state_within(&self, peer: IpAddr, t: Duration) -> Result<PeerState, LabError> {
        if !self.is_running() {
            return Ok(PeerState::NotRunning);
        }
        match self.spec.kind {
            Kind::Frr => parse::frr_state(
                &self.cli_within(&[&format!("show bgp neighbors {peer} json")], t)?,
            ),
            Kind::Gobgp => parse::gobgp_state(&self.cli_within(&["neighbor", "-j"], t)?, peer),
            Kind::Bird => match self.bird_protocol(peer) {
                None => Ok(PeerState::NotConfigured),
                Some(p) => {
                    parse::bird_state(&self.cli_within(&["show", "protocols", "all", &p], t)?)
                }
            },
        }
    }

    /// Prefixes received from `peer` and accepted (loops, treat-as-withdraw
    /// and the like excluded), sorted, in canonical text form: FRR `show bgp
    /// AFI unicast neighbors X routes json`, GoBGP `global rib -a AFI -j`
    /// filtered on the path's `neighbor-ip`, BIRD `show route protocol pN`.
    pub fn received_prefixes(&self, peer: IpAddr) -> Result<Vec<String>, LabError> {
        let mut all = Vec::new();
        match self.spec.kind {
            Kind::Frr => {
                for fam in self.families_of(peer) {
                    let cmd = format!(
                        "show bgp {} unicast neighbors {peer} routes json",
                        fam.name()
                    );
                    all.extend(parse::frr_routes(&self.cli(&[&cmd])?)?);
                }
            }
            Kind::Gobgp => {
                for fam in self.families_of(peer) {
                    let out = self.cli(&["global", "rib", "-a", fam.name(), "-j"])?;
                    all.extend(parse::gobgp_rib_from(&out, peer)?);
                }
            }
            Kind::Bird => {
                let Some(p) = self.bird_protocol(peer) else {
                    return Ok(Vec::new());
                };
                all = parse::bird_routes(&self.cli(&["show", "route", "protocol", &p])?);
            }
        }
        all.sort();
        all.dedup();
        Ok(all)
    }

    /// How many prefixes `peer` sent that were accepted, from the daemon's
    /// counters (cheap, for benchmarks with large tables): FRR
    /// `acceptedPrefixCounter`, GoBGP `afi_safis[].state.accepted`, BIRD
    /// `Routes: N imported`.
    pub fn received_count(&self, peer: IpAddr) -> Result<u64, LabError> {
        match self.spec.kind {
            Kind::Frr => {
                parse::frr_accepted_count(&self.cli(&[&format!("show bgp neighbors {peer} json")])?)
            }
            Kind::Gobgp => parse::gobgp_accepted_count(&self.cli(&["neighbor", "-j"])?, peer),
            Kind::Bird => match self.bird_protocol(peer) {
                None => Ok(0),
                Some(p) => Ok(parse::bird_imported_count(&self.cli(&[
                    "show",
                    "protocols",
                    "all",
                    &p,
                ])?)),
            },
        }
    }

    /// How many prefixes all neighbors together sent that were accepted, in
    /// one query of the daemon (for benchmarks with many sessions): FRR's
    /// summary `pfxRcd`, GoBGP's `accepted`, BIRD's `Routes: N imported`,
    /// summed over every neighbor.
    pub fn received_count_total(&self) -> Result<u64, LabError> {
        match self.spec.kind {
            Kind::Frr => parse::frr_summary_received_total(
                &self.cli(&["show bgp ipv4 unicast summary json"])?,
            ),
            Kind::Gobgp => parse::gobgp_accepted_total(&self.cli(&["neighbor", "-j"])?),
            Kind::Bird => Ok(parse::bird_bgp_imported_total(&self.cli(&[
                "show",
                "protocols",
                "all",
            ])?)),
        }
    }

    /// Polls [`Router::received_count`] until it reaches `at_least`; returns
    /// the count and the time it took.
    pub fn wait_for_received_count(
        &self,
        peer: IpAddr,
        at_least: u64,
        timeout: Duration,
    ) -> Result<(u64, Duration), LabError> {
        let start = Instant::now();
        loop {
            if !self.is_running() {
                return Err(self.timeout(
                    "prefix count",
                    start.elapsed(),
                    "NotRunning (daemon exited)".into(),
                ));
            }
            let last = match self.received_count(peer) {
                Ok(n) if n >= at_least => return Ok((n, start.elapsed())),
                Ok(n) => n.to_string(),
                Err(e) => format!("error: {e}"),
            };
            if start.elapsed() >= timeout {
                return Err(self.timeout(
                    &format!("{at_least} prefixes from {peer}"),
                    start.elapsed(),
                    last,
                ));
            }
            thread::sleep(POLL);
        }
    }

    /// The last error the daemon reports for `peer` (NOTIFICATION sent or
    /// received, reset reason, socket error), in the daemon's words:
    /// FRR `lastNotificationReason`/`lastResetDueTo`, GoBGP's log ("Peer
    /// Down" reason, warnings), BIRD's `Last error:` or else the last error
    /// line its log has for the protocol (e.g. "Hold timer expired", which
    /// BIRD does not keep as `Last error` when it assumes a graceful restart).
    pub fn last_error(&self, peer: IpAddr) -> Result<Option<String>, LabError> {
        match self.spec.kind {
            Kind::Frr => {
                parse::frr_last_error(&self.cli(&[&format!("show bgp neighbors {peer} json")])?)
            }
            Kind::Gobgp => {
                let log = std::fs::read_to_string(&self.paths.log)
                    .map_err(|e| LabError::io(format!("read {}", self.paths.log.display()), e))?;
                Ok(parse::gobgp_last_error(&log, peer))
            }
            Kind::Bird => match self.bird_protocol(peer) {
                None => Ok(None),
                Some(p) => {
                    let shown =
                        parse::bird_last_error(&self.cli(&["show", "protocols", "all", &p])?);
                    Ok(shown.or_else(|| {
                        let log = std::fs::read_to_string(&self.paths.log).unwrap_or_default();
                        parse::bird_log_error(&log, &p)
                    }))
                }
            },
        }
    }

    // ------------------------------------------------------------ waiting

    /// Polls [`Router::neighbor_state`] until it equals `state`. On timeout
    /// the error has the last state seen and the log tail.
    pub fn wait_for_state(
        &self,
        peer: IpAddr,
        state: PeerState,
        timeout: Duration,
    ) -> Result<(), LabError> {
        self.wait_for_state_where(peer, &format!("{peer} to be {state}"), timeout, |s| {
            s == state
        })
        .map(|_| ())
    }

    /// Polls [`Router::neighbor_state`] until `pred` holds, returning that
    /// state. Query errors (e.g. a CLI timeout) count as "not yet". Gives up
    /// early if the daemon stopped running and `pred(NotRunning)` is false.
    pub fn wait_for_state_where(
        &self,
        peer: IpAddr,
        what: &str,
        timeout: Duration,
        pred: impl Fn(PeerState) -> bool,
    ) -> Result<PeerState, LabError> {
        let start = Instant::now();
        loop {
            // A paused daemon never answers: do not let one query overshoot
            // the deadline by the whole CLI timeout.
            let budget = timeout
                .saturating_sub(start.elapsed())
                .clamp(Duration::from_millis(500), CLI_TIMEOUT);
            let mut last = match self.state_within(peer, budget) {
                Ok(s) if pred(s) => return Ok(s),
                Ok(PeerState::NotRunning) => {
                    return Err(self.timeout(
                        what,
                        start.elapsed(),
                        "NotRunning (daemon exited)".into(),
                    ));
                }
                Ok(s) => s.to_string(),
                Err(e) => format!("error: {e}"),
            };
            if start.elapsed() >= timeout {
                let paused = process::proc_state(self.pid) == Some('T');
                if paused {
                    last.push_str(" (daemon is paused)");
                } else if let Ok(Some(err)) = self.last_error(peer) {
                    last.push_str(&format!(" (last error: {err})"));
                }
                return Err(self.timeout(what, start.elapsed(), last));
            }
            thread::sleep(POLL);
        }
    }

    /// Polls [`Router::received_prefixes`] until every prefix of `expected`
    /// is among them; returns everything received at that point.
    pub fn wait_for_prefixes(
        &self,
        peer: IpAddr,
        expected: &[&str],
        timeout: Duration,
    ) -> Result<Vec<String>, LabError> {
        let want: Vec<String> = expected
            .iter()
            .map(|p| {
                parse_prefix(p)
                    .map(|n| n.to_string())
                    .map_err(LabError::InvalidSpec)
            })
            .collect::<Result<_, _>>()?;
        let start = Instant::now();
        loop {
            if !self.is_running() {
                return Err(self.timeout(
                    "prefixes",
                    start.elapsed(),
                    "NotRunning (daemon exited)".into(),
                ));
            }
            let last = match self.received_prefixes(peer) {
                Ok(got) if want.iter().all(|w| got.contains(w)) => return Ok(got),
                Ok(got) => format!("{got:?}"),
                Err(e) => format!("error: {e}"),
            };
            if start.elapsed() >= timeout {
                return Err(self.timeout(&format!("{want:?} from {peer}"), start.elapsed(), last));
            }
            thread::sleep(POLL);
        }
    }

    fn timeout(&self, what: &str, waited: Duration, last: String) -> LabError {
        LabError::Timeout {
            what: format!(
                "{} ({} {}): {what}",
                self.spec.name,
                self.spec.kind,
                socket_string(self.spec.address, self.spec.port)
            ),
            waited,
            last,
            log_tail: self.log_tail(ERROR_LOG_LINES),
        }
    }

    // ------------------------------------------------------------ runtime changes

    /// Originates more prefixes now (and after a restart): FRR `network` via
    /// vtysh, GoBGP `global rib add`, BIRD rewrites its static include file
    /// and runs `birdc configure`.
    pub fn add_routes(&mut self, prefixes: &[&str]) -> Result<(), LabError> {
        let nets: Vec<ipnet::IpNet> = prefixes
            .iter()
            .map(|p| parse_prefix(p).map_err(LabError::InvalidSpec))
            .collect::<Result<_, _>>()?;
        self.spec.routes.extend(nets.iter().map(|n| n.to_string()));
        match self.spec.kind {
            Kind::Frr => {
                for fam in [Family::Ipv4, Family::Ipv6] {
                    let mine: Vec<&ipnet::IpNet> = nets
                        .iter()
                        .filter(|n| Family::of(n.addr()) == fam)
                        .collect();
                    if mine.is_empty() {
                        continue;
                    }
                    let router = format!("router bgp {}", self.spec.asn);
                    let af = format!("address-family {} unicast", fam.name());
                    let lines: Vec<String> = mine.iter().map(|n| format!("network {n}")).collect();
                    let mut cmds: Vec<&str> = vec!["configure terminal", &router, &af];
                    cmds.extend(lines.iter().map(String::as_str));
                    self.cli(&cmds)?;
                }
                Ok(())
            }
            Kind::Gobgp => self.gobgp_add(&nets),
            Kind::Bird => {
                for fam in [Family::Ipv4, Family::Ipv6] {
                    write(
                        &bird::static_file(&self.paths, fam),
                        &bird::static_routes(&self.spec, fam),
                    )?;
                }
                let out = self.cli(&["configure"])?;
                if !out.contains("Reconfigured") && !out.contains("Reconfiguration in progress") {
                    return Err(LabError::Cli {
                        command: self.cli_line(&["configure"]),
                        detail: out,
                    });
                }
                Ok(())
            }
        }
    }
}

impl Router {
    /// Stops originating prefixes (the reverse of [`Router::add_routes`]), so
    /// that the router withdraws them.
    pub fn remove_routes(&mut self, prefixes: &[&str]) -> Result<(), LabError> {
        let nets: Vec<ipnet::IpNet> = prefixes
            .iter()
            .map(|p| parse_prefix(p).map_err(LabError::InvalidSpec))
            .collect::<Result<_, _>>()?;
        let texts: Vec<String> = nets.iter().map(ToString::to_string).collect();
        self.spec.routes.retain(|route| {
            parse_prefix(route).map_or(true, |net| !texts.contains(&net.to_string()))
        });
        match self.spec.kind {
            Kind::Frr => {
                for net in &nets {
                    let router = format!("router bgp {}", self.spec.asn);
                    let af = format!("address-family {} unicast", Family::of(net.addr()).name());
                    let line = format!("no network {net}");
                    self.cli(&["configure terminal", &router, &af, &line])?;
                }
                Ok(())
            }
            Kind::Gobgp => {
                for net in &nets {
                    let args = gobgp::rib_command("del", net);
                    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                    self.cli(&refs)?;
                }
                Ok(())
            }
            Kind::Bird => {
                for fam in [Family::Ipv4, Family::Ipv6] {
                    write(
                        &bird::static_file(&self.paths, fam),
                        &bird::static_routes(&self.spec, fam),
                    )?;
                }
                self.cli(&["configure"]).map(|_| ())
            }
        }
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        self.stop();
        let keep =
            self.keep_dir || thread::panicking() || std::env::var_os("NODEBGP_LAB_KEEP").is_some();
        if keep {
            eprintln!(
                "lab: kept run directory of {} ({}) for inspection: {}",
                self.spec.name,
                self.spec.kind,
                self.paths.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.paths.dir);
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), LabError> {
    std::fs::write(path, text).map_err(|e| LabError::io(format!("write {}", path.display()), e))
}

fn socket_string(addr: IpAddr, port: u16) -> String {
    std::net::SocketAddr::new(addr, port).to_string()
}

fn ensure_port_free(addr: IpAddr, port: u16) -> Result<(), LabError> {
    let ls = process::conflicting_listeners(addr, port);
    if ls.is_empty() {
        Ok(())
    } else {
        Err(LabError::AddressInUse {
            addr,
            port,
            holder: process::describe_holders(&ls),
        })
    }
}
