//! # conformance: grade any BGP speaker against the RFCs
//!
//! The runner plays scripted BGP peers over real TCP against the speaker
//! under test and grades each scenario by what the RFC says the speaker
//! must send or do, citing the section (`nodebgp conformance` is its
//! command line).
//!
//! ```text
//!   runner (source address, local AS) ──── main session ────► speaker under test
//!   runner (observer address, AS) ◄─── observer session ────┘  (passive peers)
//!   runner (internal address, its AS) ◄── speaker connects ──┘ (iBGP, active)
//! ```
//!
//! - The **main session** carries the stimulus: a malformed OPEN on a new
//!   connection, a bad header, an UPDATE with a broken attribute. It is
//!   kept across scenarios while it survives.
//! - The **internal neighbour** is an iBGP peer the speaker connects to:
//!   connection collisions (RFC 4271 §6.8) and the iBGP identifier rule
//!   (RFC 6286) need the speaker to open connections too.
//! - The **observer session** is a second, well-behaved peer: what the
//!   speaker passes on to it shows whether a route was withdrawn
//!   (treat-as-withdraw, RFC 7606), kept (attribute discard), or passed on
//!   with the Partial bit. A fresh route sent after the stimulus reaching
//!   the observer proves that the session survived and that the speaker
//!   read past the stimulus: no grading waits on a silence where a sign can
//!   be awaited.
//!
//! ## Contract
//! - Every wait is bounded ([`Config::reply_window`], [`Config::accept_timeout`]);
//!   a speaker that stops answering costs the runner time, never a hang.
//! - The runner connects only to [`Config::target`], from [`Config::source`],
//!   the observer's and the internal neighbour's addresses; it listens only
//!   on the internal neighbour's port 179, takes only the speaker's
//!   connection there, and never sends anywhere else.
//! - The runner's octets are built and read here, not by `bgp-wire`: the
//!   codec under test is never the judge of itself.
//! - A speaker's back-off after an error is its own policy: the runner
//!   retries for up to `accept_timeout` and notes how long it waited, or
//!   runs [`Config::between`] before connecting again.
//!
//! ## Not done here
//! - The RFC 9687 send hold timer: the speaker would need enough to send
//!   the runner to fill a socket buffer while the runner stops reading.
//! - IPv6 and the MP_REACH path for routes are exercised only as malformed
//!   input; routes are judged in IPv4 unicast.

pub mod context;
pub mod peer;
pub mod report;
pub mod scenarios;
pub mod speaker_config;
pub mod wire;

use std::time::Instant;

pub use context::{Config, Context, Outcome};
pub use report::{Record, Summary};
pub use scenarios::Scenario;

/// Whether scenario `id` matches `pattern`: a comma-separated list of ids
/// or prefixes, each optionally ending in `*` (`open.*,header.type.0`).
pub fn matches(pattern: &str, id: &str) -> bool {
    pattern
        .split(',')
        .map(str::trim)
        .any(|each| match each.strip_suffix('*') {
            Some(prefix) => id.starts_with(prefix),
            None => id == each || id.starts_with(&format!("{each}.")),
        })
}

/// Which scenarios run: those `only` names (all when `None`) but those
/// `skip` names, both patterns as for [`fn@matches`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Selection<'a> {
    /// Run only these.
    pub only: Option<&'a str>,
    /// Never these (a scenario known to crash the speaker, so that the
    /// rest can be graded).
    pub skip: Option<&'a str>,
}

impl Selection<'_> {
    /// Whether scenario `id` runs.
    pub fn includes(&self, id: &str) -> bool {
        self.only.is_none_or(|pattern| matches(pattern, id))
            && !self.skip.is_some_and(|pattern| matches(pattern, id))
    }
}

/// Runs the scenarios `selection` picks, in order, calling `progress`
/// after each.
pub fn run(
    config: Config,
    selection: Selection<'_>,
    mut progress: impl FnMut(&Record),
) -> Vec<Record> {
    let mut context = Context::new(config);
    let mut records: Vec<Record> = Vec::new();
    // The scenario after which the speaker stopped listening, if it did.
    let mut gone_after: Option<&'static str> = None;
    for (index, scenario) in scenarios::all().into_iter().enumerate() {
        if !selection.includes(scenario.id) {
            continue;
        }
        context.index = index;
        context.begin();
        let started = Instant::now();
        let outcome = match gone_after {
            Some(last) => Outcome::Error(format!(
                "not run: the speaker stopped accepting connections after {last}"
            )),
            None => scenario.run(&mut context),
        };
        if context.gone && gone_after.is_none() {
            // The last scenario the speaker answered at all.
            gone_after = Some(
                records
                    .iter()
                    .rev()
                    .find(|record| !matches!(record.outcome, Outcome::Error(_)))
                    .map_or("the start", |record| record.id),
            );
        }
        let record = Record {
            id: scenario.id,
            rfc: scenario.rfc,
            expected: scenario.expected.clone(),
            outcome,
            notes: context.notes.clone(),
            sent: context.sent.clone(),
            duration: started.elapsed(),
        };
        progress(&record);
        records.push(record);
    }
    context.end_session();
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_select_by_id_prefix_and_list() {
        assert!(matches("open.*", "open.version.3"));
        assert!(matches("open", "open.version.3"));
        assert!(!matches("open", "opening"));
        assert!(matches("header.type.0,fsm.*", "fsm.hold-time-zero"));
        assert!(!matches("header.type.0", "header.type.99"));
    }

    #[test]
    fn there_are_at_least_sixty_scenarios_with_unique_ids_and_an_rfc() {
        let all = scenarios::all();
        assert!(all.len() >= 60, "{} scenarios", all.len());
        let mut ids: Vec<&str> = all.iter().map(|scenario| scenario.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "duplicate scenario ids");
        assert!(all.iter().all(|scenario| scenario.rfc.starts_with("RFC ")));
    }

    #[test]
    fn a_speaker_that_is_not_there_is_reported_not_hung_on() {
        // Nothing listens on port 9 of 127.0.0.1: every scenario must end
        // as "not run" within the accept timeout.
        let mut config = Config::new(
            "127.0.0.1:9".parse().unwrap(),
            65000,
            "127.0.0.1".parse().unwrap(),
        );
        config.accept_timeout = std::time::Duration::from_millis(300);
        let started = Instant::now();
        let selection = Selection {
            only: Some("open.version.3,header.type.0,header.type.99"),
            skip: Some("header.type.99"),
        };
        let records = run(config, selection, |_| {});
        assert_eq!(records.len(), 2);
        assert!(
            records
                .iter()
                .all(|record| matches!(record.outcome, Outcome::Error(_))),
            "{records:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
