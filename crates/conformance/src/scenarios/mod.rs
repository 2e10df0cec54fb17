//! The scenarios, each with the RFC section it grades and what that section
//! says the speaker must do. Scenario ids are stable: `--only` and reports
//! use them.

mod collision;
mod fsm;
mod header;
mod ipv6;
mod open;
mod security;
mod update;

use crate::context::{Context, Outcome};
use crate::peer::Reply;
use crate::wire::Prefix;

/// A scenario's steps: `Err` ends it early with that outcome.
type Steps = Box<dyn Fn(&mut Context) -> Result<Outcome, Outcome>>;

/// One scenario.
pub struct Scenario {
    /// A stable dotted id, e.g. `open.version.3`.
    pub id: &'static str,
    /// The RFC and section graded.
    pub rfc: &'static str,
    /// What the speaker must do.
    pub expected: String,
    run: Steps,
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Scenario")
            .field("id", &self.id)
            .finish()
    }
}

impl Scenario {
    fn new(
        id: &'static str,
        rfc: &'static str,
        expected: impl Into<String>,
        run: impl Fn(&mut Context) -> Result<Outcome, Outcome> + 'static,
    ) -> Scenario {
        Scenario {
            id,
            rfc,
            expected: expected.into(),
            run: Box::new(run),
        }
    }

    /// Carries the scenario out.
    pub fn run(&self, context: &mut Context) -> Outcome {
        match (self.run)(context) {
            Ok(outcome) | Err(outcome) => outcome,
        }
    }
}

/// Every scenario, in the order they run.
pub fn all() -> Vec<Scenario> {
    let mut scenarios = Vec::new();
    scenarios.extend(open::scenarios());
    scenarios.extend(header::scenarios());
    scenarios.extend(update::scenarios());
    scenarios.extend(ipv6::scenarios());
    scenarios.extend(fsm::scenarios());
    scenarios.extend(collision::scenarios());
    // Last: the prefix limit may keep the runner's session down for the
    // speaker's restart time.
    scenarios.extend(security::scenarios());
    scenarios
}

/// The prefix a scenario's routes use: one /24 of 198.18.0.0/16 (RFC 2544's
/// benchmarking range) per scenario, so that scenarios never see each
/// other's routes.
pub fn scenario_prefix(index: usize) -> Prefix {
    (
        std::net::Ipv4Addr::new(198, 18, (index % 250 + 1) as u8, 0),
        24,
    )
}

/// Grades a reply that must be a NOTIFICATION of `code` and one of
/// `subcodes` (any subcode when empty).
fn expect_notification(reply: Reply, code: u8, subcodes: &[u8]) -> Outcome {
    match &reply {
        Reply::Notification(notification)
            if notification.code == code
                && (subcodes.is_empty() || subcodes.contains(&notification.subcode)) =>
        {
            Outcome::Pass(reply.to_string())
        }
        _ => Outcome::Fail(reply.to_string()),
    }
}

/// The text of an expectation of a NOTIFICATION.
fn notification_text(code: u8, subcodes: &[u8]) -> String {
    match subcodes {
        [] => format!("NOTIFICATION {code}/any"),
        [one] => format!("NOTIFICATION {code}/{one}"),
        several => format!(
            "NOTIFICATION {code}/{}",
            several
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    }
}

/// Sends `stimulus` on a new connection before any OPEN of the runner's and
/// grades the reply.
fn on_new_connection(
    context: &mut Context,
    stimulus: Vec<u8>,
    code: u8,
    subcodes: &[u8],
) -> Result<Outcome, Outcome> {
    let mut peer = context.connect()?;
    context.sent = stimulus.clone();
    peer.send(&stimulus)
        .map_err(|error| Outcome::Error(format!("sending: {error}")))?;
    let reply = peer.await_reply(context.config.reply_window);
    peer.abort();
    context.session_ended();
    Ok(expect_notification(reply, code, subcodes))
}

/// Sends `stimulus` on the established main session and grades the reply.
fn on_session(
    context: &mut Context,
    stimulus: Vec<u8>,
    code: u8,
    subcodes: &[u8],
) -> Result<Outcome, Outcome> {
    let mut peer = context.take_session()?;
    context.sent = stimulus.clone();
    peer.send(&stimulus)
        .map_err(|error| Outcome::Error(format!("sending: {error}")))?;
    let reply = peer.await_reply(context.config.reply_window);
    if reply == Reply::StillUp {
        peer.close();
    } else {
        peer.abort();
    }
    context.session_ended();
    Ok(expect_notification(reply, code, subcodes))
}
