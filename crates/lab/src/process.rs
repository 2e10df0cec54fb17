//! Process plumbing: spawning daemons so they die with the test process,
//! signals, CLI calls with deadlines, and /proc readers.

use crate::LabError;
use std::collections::HashSet;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

const SETPRIV: &str = "/usr/bin/setpriv";

struct SpawnRequest {
    cmd: Command,
    reply: mpsc::Sender<std::io::Result<Child>>,
}

/// Spawns `program args` as a direct child that receives SIGKILL when this
/// process dies.
///
/// `setpriv --pdeathsig KILL` sets the parent-death signal and then execs the
/// daemon in place, so the pid stays the daemon's. The parent-death signal
/// fires when the *thread* that forked exits, so all daemons are forked from
/// one helper thread that lives as long as the process.
pub(crate) fn spawn_daemon(
    program: &str,
    args: &[String],
    console: &Path,
    dir: &Path,
) -> Result<Child, LabError> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(console)
        .map_err(|e| LabError::io(format!("open {}", console.display()), e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| LabError::io("dup console log", e))?;
    let mut cmd = if Path::new(SETPRIV).exists() {
        let mut c = Command::new(SETPRIV);
        c.args(["--pdeathsig", "KILL", "--", program]);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);

    static SPAWNER: OnceLock<mpsc::Sender<SpawnRequest>> = OnceLock::new();
    let tx = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("lab-spawner".into())
            .spawn(move || {
                for mut req in rx {
                    let _ = req.reply.send(req.cmd.spawn());
                }
            })
            .expect("spawn lab-spawner thread");
        tx
    });
    let (rtx, rrx) = mpsc::channel();
    tx.send(SpawnRequest { cmd, reply: rtx })
        .map_err(|_| LabError::io("lab-spawner thread", std::io::Error::other("gone")))?;
    rrx.recv()
        .map_err(|_| LabError::io("lab-spawner thread", std::io::Error::other("no reply")))?
        .map_err(|e| LabError::io(format!("spawn {program}"), e))
}

/// Signals one of *our* children. The caller guarantees it has not been
/// reaped yet (a zombie's pid cannot be reused), so this never hits a
/// stranger.
pub(crate) fn signal(child: &Child, sig: rustix::process::Signal) -> bool {
    match rustix::process::Pid::from_raw(child.id() as i32) {
        Some(pid) => rustix::process::kill_process(pid, sig).is_ok(),
        None => false,
    }
}

/// TERM (plus CONT so a paused daemon can act on it), wait up to `grace`,
/// then KILL; always reaps. Returns true if KILL was needed.
pub(crate) fn stop_child(child: &mut Child, grace: Duration) -> bool {
    if let Ok(Some(_)) = child.try_wait() {
        return false;
    }
    signal(child, rustix::process::Signal::TERM);
    signal(child, rustix::process::Signal::CONT);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) => return false,
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    true
}

/// Output of a finished CLI command.
pub(crate) struct CliOutput {
    pub(crate) success: bool,
    pub(crate) status: String,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs a short-lived command with a deadline (a CLI talking to a paused
/// daemon would otherwise block forever). On timeout the command (our own
/// child) is killed.
pub(crate) fn run(
    program: &str,
    args: &[String],
    timeout: Duration,
) -> Result<CliOutput, LabError> {
    let line = command_line(program, args);
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| LabError::io(format!("spawn `{line}`"), e))?;
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let t_out = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let t_err = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(LabError::Cli {
                    command: line,
                    detail: format!("no answer within {timeout:?} (is the daemon paused or hung?)"),
                });
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(LabError::io(format!("wait for `{line}`"), e)),
        }
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    Ok(CliOutput {
        success: status.success(),
        status: status.to_string(),
        stdout,
        stderr,
    })
}

pub(crate) fn command_line(program: &str, args: &[String]) -> String {
    let mut s = program.to_string();
    for a in args {
        s.push(' ');
        if a.is_empty() || a.contains(char::is_whitespace) {
            s.push('\'');
            s.push_str(a);
            s.push('\'');
        } else {
            s.push_str(a);
        }
    }
    s
}

/// One listening TCP socket from /proc/net/tcp{,6}.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listener {
    pub(crate) addr: IpAddr,
    pub(crate) port: u16,
    pub(crate) inode: u64,
}

/// All TCP listeners in this network namespace.
pub(crate) fn listeners() -> Vec<Listener> {
    let mut v = Vec::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        if let Some(text) = read_proc_file(file) {
            v.extend(parse_proc_net_tcp(&text, v6));
        }
    }
    v
}

/// Reads a /proc file with few, large reads: each read(2) of /proc/net/tcp
/// walks the kernel's socket hash from the start, so the small reads of
/// `read_to_string` cost milliseconds.
fn read_proc_file(path: &str) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 1 << 18];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).ok()
}

/// Parses /proc/net/tcp or tcp6, keeping LISTEN (0A) sockets. Addresses are
/// the kernel's `%08X` prints of network-order 32-bit words, so each word's
/// bytes come back with `to_ne_bytes`.
pub(crate) fn parse_proc_net_tcp(text: &str, v6: bool) -> Vec<Listener> {
    let mut v = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 || f[3] != "0A" {
            continue;
        }
        let Some((a, p)) = f[1].split_once(':') else {
            continue;
        };
        let Ok(port) = u16::from_str_radix(p, 16) else {
            continue;
        };
        let Ok(inode) = f[9].parse::<u64>() else {
            continue;
        };
        let addr = if v6 {
            if a.len() != 32 {
                continue;
            }
            let mut bytes = [0u8; 16];
            let mut ok = true;
            for i in 0..4 {
                match u32::from_str_radix(&a[i * 8..i * 8 + 8], 16) {
                    Ok(w) => bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes()),
                    Err(_) => ok = false,
                }
            }
            if !ok {
                continue;
            }
            let a6 = Ipv6Addr::from(bytes);
            match a6.to_ipv4_mapped() {
                Some(a4) => IpAddr::V4(a4),
                None => IpAddr::V6(a6),
            }
        } else {
            match u32::from_str_radix(a, 16) {
                Ok(w) => IpAddr::V4(Ipv4Addr::from(w.to_ne_bytes())),
                Err(_) => continue,
            }
        };
        v.push(Listener { addr, port, inode });
    }
    v
}

/// Listeners that would take connections for `addr`:`port` (exact address,
/// or a wildcard; a `::` wildcard may also cover IPv4).
pub(crate) fn conflicting_listeners(addr: IpAddr, port: u16) -> Vec<Listener> {
    listeners()
        .into_iter()
        .filter(|l| {
            l.port == port
                && (l.addr == addr
                    || (l.addr.is_unspecified() && (l.addr.is_ipv6() || addr.is_ipv4())))
        })
        .collect()
}

/// Socket inodes held by `pid`.
pub(crate) fn socket_inodes(pid: u32) -> HashSet<u64> {
    let mut set = HashSet::new();
    if let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for e in rd.flatten() {
            if let Ok(t) = std::fs::read_link(e.path()) {
                let t = t.to_string_lossy();
                if let Some(n) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                    if let Ok(n) = n.parse() {
                        set.insert(n);
                    }
                }
            }
        }
    }
    set
}

/// Whether `pid` itself holds a listening socket on exactly `addr`:`port`.
pub(crate) fn pid_listens_on(pid: u32, addr: IpAddr, port: u16) -> bool {
    let mine: Vec<u64> = listeners()
        .into_iter()
        .filter(|l| l.addr == addr && l.port == port)
        .map(|l| l.inode)
        .collect();
    if mine.is_empty() {
        return false;
    }
    let inodes = socket_inodes(pid);
    mine.iter().any(|i| inodes.contains(i))
}

/// Best-effort "pid (comm)" of whoever holds these sockets.
pub(crate) fn describe_holders(ls: &[Listener]) -> String {
    let wanted: HashSet<u64> = ls.iter().map(|l| l.inode).collect();
    let mut found = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if socket_inodes(pid).iter().any(|i| wanted.contains(i)) {
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                found.push(format!("pid {pid} ({})", comm.trim()));
            }
        }
    }
    let socks: Vec<String> = ls
        .iter()
        .map(|l| format!("{}:{}", l.addr, l.port))
        .collect();
    if found.is_empty() {
        format!("listener {}", socks.join(", "))
    } else {
        format!("listener {} held by {}", socks.join(", "), found.join(", "))
    }
}

/// The one-letter state from /proc/PID/stat (`R`, `S`, `T`, `Z`...), if the
/// process exists.
pub(crate) fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may contain spaces or parens: the state follows the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().next()?.chars().next()
}

/// Start time (clock ticks since boot) from /proc/PID/stat, to tell a pid
/// from a later process that reused it.
pub(crate) fn proc_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    // Fields after comm start at field 3 (state); starttime is field 22.
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// How many of `pid`'s open file descriptors are sockets (`/proc/PID/fd`
/// links to `socket:[…]`), for leak checks; `None` if the process is gone.
pub fn socket_count(pid: u32) -> Option<usize> {
    let entries = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(
        entries
            .flatten()
            .filter(|entry| {
                std::fs::read_link(entry.path())
                    .is_ok_and(|target| target.to_string_lossy().starts_with("socket:["))
            })
            .count(),
    )
}

/// VmRSS of `pid` in KiB (from `/proc/PID/status`); `None` if the process is
/// gone.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Last `lines` lines of a file ("" if missing).
pub(crate) fn tail_file(path: &Path, lines: usize) -> String {
    let Ok(bytes) = std::fs::read(path) else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs a daemon's own configuration check (`args`) on the generated file at
/// `config`; a refusal becomes an `InvalidSpec` error with the daemon's words.
pub(crate) fn check_config(
    binary: &str,
    name: &str,
    args: &[String],
    config: &std::path::Path,
) -> Result<(), LabError> {
    let out = run(binary, args, std::time::Duration::from_secs(20))?;
    if !out.success {
        return Err(LabError::InvalidSpec(format!(
            "{name} rejects the generated {}: {} {}{}",
            config.display(),
            out.status,
            out.stdout.trim(),
            out.stderr.trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_net_tcp() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0209007F:00B3 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n\
   1: 0209007F:9C3F 0309007F:00B3 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 100 0 0 10 0\n";
        let l = parse_proc_net_tcp(v4, false);
        assert_eq!(
            l,
            vec![Listener {
                addr: "127.0.9.2".parse().unwrap(),
                port: 179,
                inode: 4242
            }]
        );
        let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000000000000000000001000000:06FE 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0\n";
        let l = parse_proc_net_tcp(v6, true);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].addr, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(l[0].port, 1790);
    }

    #[test]
    fn reads_own_proc_entries() {
        let me = std::process::id();
        assert!(rss_kib(me).unwrap() > 0);
        assert!(proc_start_time(me).is_some());
        assert!(matches!(proc_state(me), Some('R' | 'S')));
    }

    #[test]
    fn counts_the_sockets_a_process_holds() {
        use std::os::fd::OwnedFd;
        let spawn = |stdin: Stdio| {
            Command::new("sleep")
                .arg("30")
                .stdin(stdin)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let mut without = spawn(Stdio::null());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut with = spawn(Stdio::from(OwnedFd::from(listener)));
        let counts = (socket_count(without.id()), socket_count(with.id()));
        for child in [&mut without, &mut with] {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert_eq!(counts, (Some(0), Some(1)));
        assert_eq!(socket_count(without.id()), None, "a reaped process");
    }
}
