//! `--restart`: the receiver restarts gracefully with the table installed,
//! and the clock runs until forwarding is complete again.
//!
//! ```text
//!   the load (and --churn) as always; the kernel holds the N routes
//!   stop ──▶ the receiver leaves, keeping its kernel routes (RFC 4724 §4.1: the
//!   │        forwarding state is preserved; BIRD `graceful restart`, nodebgp SIGTERM)
//!   │        and starts again (BIRD `-R`, nodebgp finds its routes in the kernel)
//!   ├──▶ listening again
//!   ├──▶ every sender's session up again (each offers graceful restart, so the
//!   │    receiver waits for its End-of-RIB)
//!   └──▶ complete: the senders' table as it is now (one UPDATE in
//!        DROPPED_EVERY fewer than before: what changed while the receiver was
//!        down) accepted, and the kernel holding exactly its routes, the ones
//!        nobody announces any more removed
//! ```
//!
//! All along, `ip monitor route` counts the routes the kernel removes: with
//! forwarding kept through the restart, those are exactly the dropped
//! routes; any more had a gap. A watcher thread also reads the kernel's
//! route count, whose fewest shows how deep a gap went.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bgp_wire::Family;
use bytes::Bytes;
use nodebgp_benches::update_prefix_counts;

use crate::receiver::Running;
use crate::{fib, sender, write_and_wait, Rig, Settings};

/// One UPDATE in this many of the table is not sent again after the
/// restart.
pub(crate) const DROPPED_EVERY: usize = 100;

/// How often the watcher reads the kernel's count, at most. Reading
/// `/proc/net/fib_triestat` walks the trie, a few milliseconds to over
/// 100 ms with a million routes depending on the machine: the watcher
/// waits at least as long as its last reading took (see
/// [`fib::fewest_routes`]).
const WATCH_EVERY: Duration = Duration::from_millis(20);

/// The table the senders hold after the restart, as streams (one per
/// session, from the same UPDATE ranges as the load) and its prefix count.
pub(crate) fn resent_table(
    updates: &[Bytes],
    ranges: &[std::ops::Range<usize>],
    family: Family,
) -> (Vec<Arc<Vec<u8>>>, u64) {
    let mut prefixes = 0;
    let streams = ranges
        .iter()
        .map(|range| {
            let kept: Vec<Bytes> = updates[range.clone()]
                .iter()
                .enumerate()
                .filter(|(index, _)| index % DROPPED_EVERY != DROPPED_EVERY - 1)
                .map(|(_, update)| update.clone())
                .collect();
            prefixes += kept
                .iter()
                .map(|update| update_prefix_counts(&update[19..]).1)
                .sum::<u64>();
            Arc::new(sender::stream_of(&kept, family))
        })
        .collect();
    (streams, prefixes)
}

/// What one restart took.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Restart {
    /// From the stop to the old process gone, seconds.
    pub(crate) gone: f64,
    /// From the stop to the new process listening.
    pub(crate) listening: f64,
    /// From the stop to every sender's session up again.
    pub(crate) sessions: f64,
    /// From the stop to forwarding complete again: the resent table
    /// accepted and the kernel holding exactly its routes.
    pub(crate) complete: f64,
    /// The table's routes in the kernel before the stop.
    pub(crate) before: u64,
    /// The resent table's routes.
    pub(crate) after: u64,
    /// The fewest of the table's routes the kernel held in between.
    pub(crate) fewest: u64,
    /// The routes the kernel removed in between (`ip monitor route`): the
    /// ones nobody announces any more, and any other that had a gap.
    pub(crate) removed: u64,
    /// CPU seconds of the new process, from its start to complete.
    pub(crate) cpu_seconds: f64,
    /// Peak RSS of the new process, KiB.
    pub(crate) peak_kib: u64,
}

/// Restarts `receiver`, connects `senders` again and sends them `resent`
/// (`resent_prefixes` in all); returns the new sessions with the
/// measurement (they must outlive the receiver's use of them).
pub(crate) fn restart_and_recover(
    receiver: &mut Running,
    senders: &[Ipv4Addr],
    settings: &Settings,
    resent: &[Arc<Vec<u8>>],
    resent_prefixes: u64,
    kernel_baseline: u64,
) -> Result<(Restart, Vec<sender::Session>), String> {
    let family = settings.options.family;
    let before = fib::kernel_routes(family)?.saturating_sub(kernel_baseline);
    let removals = fib::count_removals()?;
    let fewest = fib::fewest_routes(family, WATCH_EVERY);
    let stopped = Instant::now();
    let gone = receiver.restart_gracefully()?;
    let listening = stopped.elapsed();
    let mut sessions = Vec::with_capacity(senders.len());
    for sender in senders {
        sessions.push(sender::connect_gracefully(
            *sender,
            receiver.listen(),
            Instant::now() + Duration::from_secs(30),
        )?);
    }
    for (sender, session) in senders.iter().zip(&sessions) {
        while !receiver.established(*sender) {
            if let Some(why) = session.ended() {
                return Err(format!(
                    "session from {sender} ended after the restart: {why}"
                ));
            }
            if stopped.elapsed() > settings.timeout {
                return Err(format!(
                    "the receiver never reported the session from {sender} Established after its restart"
                ));
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
    let sessions_up = stopped.elapsed();
    let pid = receiver.pid();
    let rig = Rig {
        receiver,
        senders,
        sessions: &sessions,
        clients: &[],
        settings,
        kernel_baseline: Some(kernel_baseline),
    };
    let phase = write_and_wait(&rig, resent, resent_prefixes, || {
        Ok((
            crate::cpu_seconds(pid)?,
            crate::proc_status_kib(pid, "VmHWM")?,
        ))
    })?;
    let (cpu_seconds, peak_kib) = phase.reading;
    Ok((
        Restart {
            gone: gone.as_secs_f64(),
            listening: listening.as_secs_f64(),
            sessions: sessions_up.as_secs_f64(),
            complete: phase.done.duration_since(stopped).as_secs_f64(),
            before,
            after: resent_prefixes,
            fewest: fewest.stop()?.saturating_sub(kernel_baseline),
            removed: removals.stop()?,
            cpu_seconds,
            peak_kib,
        },
        sessions,
    ))
}
