//! The daemon's own resource use, read from `/proc/self` (Linux only, as the
//! daemon is): resident memory, open file descriptors and CPU time.

use std::time::Duration;

/// The kernel's clock tick for `/proc/*/stat` times. It is the ABI constant
/// USER_HZ, 100 on every Linux architecture; asking `sysconf(_SC_CLK_TCK)`
/// would need `libc` and its `unsafe`, which the workspace keeps to
/// `bgp-session`'s `net` module (Prometheus's own procfs reader hardcodes
/// it the same way).
const TICKS_PER_SECOND: u64 = 100;

/// One reading of the process's resource use; a field is `None` when its
/// file could not be read or parsed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ProcessSample {
    pub(crate) resident_memory_bytes: Option<u64>,
    pub(crate) open_fds: Option<u64>,
    /// User plus system time.
    pub(crate) cpu_time: Option<Duration>,
}

impl ProcessSample {
    /// Reads `/proc/self/status`, `/proc/self/fd` and `/proc/self/stat`.
    pub(crate) fn read() -> ProcessSample {
        ProcessSample {
            resident_memory_bytes: std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|text| resident_memory_bytes(&text)),
            // The directory's own descriptor, open while it is listed, is
            // counted too, as Prometheus's process collector counts it.
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|entries| entries.count() as u64),
            cpu_time: std::fs::read_to_string("/proc/self/stat")
                .ok()
                .and_then(|text| cpu_time(&text)),
        }
    }
}

/// `VmRSS:    1234 kB` of `/proc/self/status` (kB is KiB there); `statm`
/// counts pages, whose size would need `sysconf` again.
pub(crate) fn resident_memory_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let kibibytes: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => Some(kibibytes * 1024),
        _ => None,
    }
}

/// utime plus stime, fields 14 and 15 of `/proc/self/stat` (proc(5)). The
/// fields are counted after the command name's closing parenthesis: the
/// name itself may hold spaces and parentheses.
pub(crate) fn cpu_time(stat: &str) -> Option<Duration> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // after_name starts at field 3 (state).
    let mut fields = after_name.split_whitespace().skip(14 - 3);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    let ticks = user + system;
    Some(
        Duration::from_secs(ticks / TICKS_PER_SECOND)
            + Duration::from_millis((ticks % TICKS_PER_SECOND) * 1000 / TICKS_PER_SECOND),
    )
}
