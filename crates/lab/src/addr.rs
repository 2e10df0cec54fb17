//! Collision-free loopback addresses and ports for tests running in
//! parallel, in threads or in separate processes (cargo nextest).
//!
//! Each allocation is claimed by a file `<lab root>/claims/<key>` holding the
//! claimer's pid and start time, created under an exclusive `flock` on
//! `<lab root>/claims/.lock`. A claim whose process is gone is stale and may
//! be taken over. Claims live until the claiming process exits; nothing
//! needs to release them.

use crate::process::{conflicting_listeners, listeners, proc_start_time};
use crate::LabError;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Root of all lab state: `$NODEBGP_LAB_DIR`, else `<temp dir>/nodebgp-lab`.
pub(crate) fn lab_root() -> PathBuf {
    match std::env::var_os("NODEBGP_LAB_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => std::env::temp_dir().join("nodebgp-lab"),
    }
}

static NEXT_ADDR: AtomicU32 = AtomicU32::new(0);
static NEXT_PORT: AtomicU32 = AtomicU32::new(0);

/// First octet pairs 127.16.0.0 - 127.254.255.255 are handed out, in /24
/// blocks; 127.0.0.0/12 is left to hand-made setups (127.0.0.1 in particular).
const FIRST_SECOND_OCTET: u32 = 16;
const BLOCKS: u32 = (255 - FIRST_SECOND_OCTET) * 256;

/// A fresh 127.x.y.z address (never in 127.0.0.0/12) that no other test
/// thread or process of this lab holds and on which nothing listens.
///
/// The search starts in a /24 derived from the pid, so parallel processes
/// rarely even look at the same candidates; claim files settle the rest.
pub fn free_loopback_address() -> Result<Ipv4Addr, LabError> {
    let pid = std::process::id();
    let _guard = ClaimLock::take()?;
    let busy: Vec<IpAddr> = listeners().into_iter().map(|l| l.addr).collect();
    for _ in 0..(BLOCKS * 254).min(200_000) {
        let n = NEXT_ADDR.fetch_add(1, Ordering::Relaxed);
        let block = (pid.wrapping_mul(7919).wrapping_add(n / 254)) % BLOCKS;
        let host = n % 254 + 1;
        let a = Ipv4Addr::new(
            127,
            (FIRST_SECOND_OCTET + block / 256) as u8,
            (block % 256) as u8,
            host as u8,
        );
        if busy.contains(&IpAddr::V4(a)) {
            continue;
        }
        if claim(&format!("{a}"))? {
            return Ok(a);
        }
    }
    Err(LabError::InvalidSpec(
        "no free loopback address found (stale claims? remove <lab root>/claims)".into(),
    ))
}

/// A fresh TCP port in 20000-32767 (below Linux's ephemeral range) on which
/// nothing listens at `addr` or the wildcard, claimed for this process. Use it
/// to run several daemons on the single IPv6 loopback address `::1`.
pub fn free_port(addr: IpAddr) -> Result<u16, LabError> {
    const LO: u32 = 20000;
    const SPAN: u32 = 32768 - LO;
    let pid = std::process::id();
    let _guard = ClaimLock::take()?;
    for _ in 0..SPAN {
        let n = NEXT_PORT.fetch_add(1, Ordering::Relaxed);
        let port = (LO + (pid.wrapping_mul(104_729).wrapping_add(n)) % SPAN) as u16;
        if !conflicting_listeners(addr, port).is_empty() {
            continue;
        }
        if claim(&format!("port-{addr}-{port}"))? {
            return Ok(port);
        }
    }
    Err(LabError::InvalidSpec(format!("no free port on {addr}")))
}

fn claims_dir() -> PathBuf {
    lab_root().join("claims")
}

/// Serialises claims between processes (advisory flock).
struct ClaimLock(File);

impl ClaimLock {
    fn take() -> Result<ClaimLock, LabError> {
        let dir = claims_dir();
        std::fs::create_dir_all(&dir)
            .map_err(|e| LabError::io(format!("create {}", dir.display()), e))?;
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".lock"))
            .map_err(|e| LabError::io("open claims lock", e))?;
        rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| LabError::io("lock claims", e.into()))?;
        static SWEPT: AtomicBool = AtomicBool::new(false);
        if !SWEPT.swap(true, Ordering::Relaxed) {
            sweep_stale_claims(&dir);
        }
        Ok(ClaimLock(f))
    }
}

impl Drop for ClaimLock {
    fn drop(&mut self) {
        let _ = rustix::fs::flock(&self.0, rustix::fs::FlockOperation::Unlock);
    }
}

/// Removes claims of processes that are gone (once per process, under the
/// lock), so the directory does not grow without bound.
fn sweep_stale_claims(dir: &std::path::Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if let Ok(owner) = std::fs::read_to_string(e.path()) {
            if !alive(&owner) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn me() -> String {
    let pid = std::process::id();
    format!("{pid} {}", proc_start_time(pid).unwrap_or(0))
}

fn alive(owner: &str) -> bool {
    let mut it = owner.split_whitespace();
    let (Some(Ok(pid)), Some(Ok(start))) = (
        it.next().map(str::parse::<u32>),
        it.next().map(str::parse::<u64>),
    ) else {
        return false;
    };
    proc_start_time(pid) == Some(start)
}

/// Claims `key` for this process; false if a live process holds it. Must be
/// called under [`ClaimLock`].
fn claim(key: &str) -> Result<bool, LabError> {
    let path = claims_dir().join(key);
    if let Ok(owner) = std::fs::read_to_string(&path) {
        if alive(&owner) {
            return Ok(false);
        }
    }
    let mut f =
        File::create(&path).map_err(|e| LabError::io(format!("create {}", path.display()), e))?;
    f.write_all(me().as_bytes())
        .map_err(|e| LabError::io(format!("write {}", path.display()), e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn addresses_are_unique_loopback_and_not_low() {
        let mut seen = HashSet::new();
        for _ in 0..60 {
            let a = free_loopback_address().unwrap();
            assert!(a.is_loopback());
            assert!(a.octets()[1] >= 16, "{a}");
            assert_ne!(a.octets()[3], 0);
            assert_ne!(a.octets()[3], 255);
            assert!(seen.insert(a), "duplicate {a}");
        }
    }

    #[test]
    fn ports_are_unique() {
        let lo: IpAddr = "::1".parse().unwrap();
        let mut seen = HashSet::new();
        for _ in 0..50 {
            let p = free_port(lo).unwrap();
            assert!((20000..32768).contains(&p));
            assert!(seen.insert(p));
        }
    }

    #[test]
    fn a_live_claim_blocks_and_a_dead_one_does_not() {
        let _g = ClaimLock::take().unwrap();
        let key = format!("unit-{}", std::process::id());
        assert!(claim(&key).unwrap());
        assert!(!claim(&key).unwrap(), "our own live claim must block");
        std::fs::write(claims_dir().join(&key), "4000000 1").unwrap();
        assert!(claim(&key).unwrap(), "claim of a dead pid is stale");
        let _ = std::fs::remove_file(claims_dir().join(&key));
    }
}
