//! The BIRD control-socket protocol, without I/O: commands parsed from a
//! line, replies formatted from the daemon's status report and the time.
//!
//! ```text
//!  client                                 nodebgp (as BIRD)
//!                                    ◄──  0001 BIRD 2.0.12 ready.
//!  show protocols                    ──►
//!                                    ◄──  2002-name       proto      table      state  since         info
//!                                         1002-Mesh_10_0_0_2 BGP        ---        up     20:41:03      Established
//!                                          Global_10_0_0_9 BGP        ---        start  20:41:03      Active        connection refused
//!                                         0000
//! ```
//!
//! A reply is lines `CODE-text`; a line continuing the previous line's code
//! starts with a space instead; the last line is `CODE text` (`0000` when
//! the reply has nothing more to say). What the reader needs is set by
//! Calico's Go parsers (`calicoctl node status`, the readiness probe,
//! CalicoNodeStatus), which split rows on white space:
//! - the header's words must be exactly `name proto table state since info`,
//!   lower case as Calico's BIRD prints it (BIRD 2 capitalises them, which
//!   Calico's parser would refuse);
//! - `since` must be one word: `HH:MM:SS` within 20 hours, else
//!   `YYYY-MM-DD` (BIRD's default protocol time format);
//! - names are confd's: `Global_`, `Node_` or `Mesh_` and the address with
//!   `.` or `:` turned into `_`, plus `_port_N` for a peer on another port
//!   than 179 (not for the mesh, whose port confd writes elsewhere).

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::daemon::status::{PeerKind, PeerReport, RouteCountReport, StatusReport};

/// The version this socket reports; Calico's liveness check wants the
/// `show status` reply to start with `BIRD`.
pub(crate) const VERSION: &str = "BIRD 2.0.12";

/// BIRD's reply codes (`doc/reply_codes` in BIRD's sources).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Code(pub(crate) u16);

impl Code {
    /// The end of a reply.
    pub(crate) const OK: Code = Code(0);
    /// The greeting.
    pub(crate) const WELCOME: Code = Code(1);
    /// `show status`: the daemon is up.
    pub(crate) const STATUS_UP: Code = Code(13);
    /// `show route count`: the totals.
    pub(crate) const ROUTE_COUNT: Code = Code(14);
    /// `show status`: graceful restart recovery in progress.
    pub(crate) const GRACEFUL_RESTART: Code = Code(24);
    /// `show status`: the version line.
    pub(crate) const VERSION: Code = Code(1000);
    /// A row of `show protocols`.
    pub(crate) const PROTOCOL: Code = Code(1002);
    /// The detail of `show protocols all`.
    pub(crate) const PROTOCOL_DETAIL: Code = Code(1006);
    /// `show status`: the router id and times.
    pub(crate) const STATUS_DETAIL: Code = Code(1011);
    /// The header of `show protocols`.
    pub(crate) const PROTOCOL_HEADING: Code = Code(2002);
    /// No protocol has the name asked for.
    pub(crate) const NO_PROTOCOLS: Code = Code(8003);
    /// The daemon could not answer (BIRD: "Internal error").
    pub(crate) const RUNTIME_ERROR: Code = Code(8001);
    /// The command was not understood.
    pub(crate) const SYNTAX_ERROR: Code = Code(9001);
}

/// A reply under construction: BIRD's numbering of lines.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    text: String,
    last: Option<Code>,
}

impl Reply {
    /// The greeting a client gets on connecting.
    pub(crate) fn greeting() -> String {
        format!("{:04} {VERSION} ready.\n", Code::WELCOME.0)
    }

    /// One reply of a single final line.
    pub(crate) fn single(code: Code, text: &str) -> String {
        let mut reply = Reply::default();
        reply.finish(code, text);
        reply.text
    }

    /// A line to be followed by more: a space continues the last code.
    fn line(&mut self, code: Code, text: &str) {
        if self.last == Some(code) {
            let _ = writeln!(self.text, " {text}");
        } else {
            let _ = writeln!(self.text, "{:04}-{text}", code.0);
            self.last = Some(code);
        }
    }

    /// The last line.
    fn finish(&mut self, code: Code, text: &str) {
        let _ = writeln!(self.text, "{:04} {text}", code.0);
    }

    fn into_text(self) -> String {
        self.text
    }
}

/// Which of BIRD's two daemons a socket stands for (Calico runs `bird` and
/// `bird6`): it lists the sessions with peers of its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    fn holds(self, address: IpAddr) -> bool {
        matches!(
            (self, address),
            (Family::Ipv4, IpAddr::V4(_)) | (Family::Ipv6, IpAddr::V6(_))
        )
    }

    /// BIRD 2's name of the family's main table.
    fn table(self) -> &'static str {
        match self {
            Family::Ipv4 => "master4",
            Family::Ipv6 => "master6",
        }
    }
}

/// A command this socket answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// `show protocols [all] [NAME | "PATTERN"]`.
    Protocols {
        /// With the detail block (`all`).
        all: bool,
        /// Only protocols with this name, or matching this `*`/`?` pattern.
        pattern: Option<String>,
    },
    /// `show status`.
    Status,
    /// `show route count`.
    RouteCount,
}

impl Command {
    /// What the daemon must be asked to answer this command.
    pub(crate) fn needs_route_count(&self) -> bool {
        matches!(self, Command::RouteCount)
    }

    /// Reads one command line; an unknown one becomes its error reply.
    /// Keywords are matched whole, as BIRD's server does (`birdc` expands
    /// abbreviations before sending).
    pub(crate) fn parse(line: &str) -> Result<Command, String> {
        let syntax_error = || Reply::single(Code::SYNTAX_ERROR, "syntax error");
        let words: Vec<&str> = line.split_whitespace().collect();
        let lower: Vec<String> = words.iter().map(|word| word.to_lowercase()).collect();
        let keywords: Vec<&str> = lower.iter().map(String::as_str).collect();
        match keywords.as_slice() {
            ["show", "status"] => Ok(Command::Status),
            ["show", "route", "count"]
            | ["show", "route", "table", "master4" | "master6", "count"] => Ok(Command::RouteCount),
            ["show", "protocols" | "protocol", rest @ ..] => {
                let (all, names) = match rest {
                    ["all", names @ ..] => (true, names.len()),
                    names => (false, names.len()),
                };
                let pattern = match names {
                    0 => None,
                    // The original spelling: names are case-sensitive.
                    1 => Some(words[words.len() - 1].trim_matches('"').to_owned()),
                    _ => return Err(syntax_error()),
                };
                Ok(Command::Protocols { all, pattern })
            }
            _ => Err(syntax_error()),
        }
    }
}

/// Whether `name` matches BIRD's shell-like `pattern` (`*` any run, `?` any
/// one character), as BIRD's `~` compares strings (`ifname ~ "cali*"`).
pub(crate) fn glob_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    matches_pattern(&pattern, &name)
}

/// BIRD's shell-like pattern: `*` any run, `?` any one character.
fn matches_pattern(pattern: &[char], name: &[char]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some('*'), _) => {
            matches_pattern(&pattern[1..], name)
                || (!name.is_empty() && matches_pattern(pattern, &name[1..]))
        }
        (Some('?'), Some(_)) => matches_pattern(&pattern[1..], &name[1..]),
        (Some(expected), Some(found)) if expected == found => {
            matches_pattern(&pattern[1..], &name[1..])
        }
        _ => false,
    }
}

/// The BIRD protocol name confd gives the session with `peer`.
pub(crate) fn protocol_name(peer: &PeerReport) -> String {
    let prefix = match peer.kind {
        Some(PeerKind::Mesh) => "Mesh",
        Some(PeerKind::Node) => "Node",
        Some(PeerKind::LocalWorkload) => "Local_Workload",
        // A report without a kind predates kinds: every peer then was
        // configured globally.
        Some(PeerKind::Global) | None => "Global",
    };
    let address = peer.peer.to_string().replace(['.', ':'], "_");
    if peer.port != 179 && peer.kind != Some(PeerKind::Mesh) {
        format!("{prefix}_{address}_port_{}", peer.port)
    } else {
        format!("{prefix}_{address}")
    }
}

/// Wall-clock seconds since the Unix epoch, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct UnixTime(pub(crate) u64);

impl UnixTime {
    fn utc(self) -> chrono::DateTime<chrono::Utc> {
        i64::try_from(self.0)
            .ok()
            .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
            .unwrap_or_default()
    }

    /// `YYYY-MM-DD HH:MM:SS`, BIRD's `show status` format.
    fn date_time(self) -> String {
        self.utc().format("%Y-%m-%d %H:%M:%S").to_string()
    }

    /// One word, as in `show protocols`: the time of day within 20 hours
    /// of `now`, the date before that.
    fn since(self, now: UnixTime) -> String {
        let format = if now.0.saturating_sub(self.0) < 20 * 3600 {
            "%H:%M:%S"
        } else {
            "%Y-%m-%d"
        };
        self.utc().format(format).to_string()
    }
}

/// What the replies are made of besides the status report.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// Now.
    pub(crate) now: UnixTime,
    /// When the daemon started (BIRD's last reboot and reconfiguration).
    pub(crate) started: UnixTime,
}

/// BIRD's protocol state: `up` when established, `down` when the daemon
/// did not start the session, `start` while it tries.
fn protocol_state(peer: &PeerReport) -> &'static str {
    if peer.not_started {
        "down"
    } else if peer.state == "Established" {
        "up"
    } else {
        "start"
    }
}

/// The info column: the BGP state, padded as BIRD pads it, then the last
/// error while the session is not up.
fn protocol_info(peer: &PeerReport) -> String {
    let detail = match (&peer.last_error, peer.state.as_str()) {
        (Some(error), state) if state != "Established" => one_line(error),
        _ => String::new(),
    };
    format!("{:<14}{detail}", peer.state).trim_end().to_owned()
}

/// Text kept to one line: a newline would end the reply's line early.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn since(peer: &PeerReport, clock: Clock) -> UnixTime {
    UnixTime(clock.now.0.saturating_sub(peer.since_seconds))
}

/// The STATE, SINCE and INFO a session shows in `show protocols`, as
/// `calicoctl node status` splits them out of the row (whitespace runs are
/// one separator, so INFO reads `Active Socket: …`).
pub(crate) fn calicoctl_columns(peer: &PeerReport, clock: Clock) -> [String; 3] {
    [
        protocol_state(peer).to_owned(),
        since(peer, clock).since(clock.now),
        one_line(&protocol_info(peer)),
    ]
}

/// The reply to `show protocols [all] [NAME]`.
pub(crate) fn show_protocols(
    report: &StatusReport,
    family: Family,
    all: bool,
    pattern: Option<&str>,
    clock: Clock,
) -> String {
    let pattern: Option<Vec<char>> = pattern.map(|pattern| pattern.chars().collect());
    let mut rows: Vec<(String, &PeerReport)> = report
        .peers
        .iter()
        .filter(|peer| family.holds(peer.peer))
        .map(|peer| (protocol_name(peer), peer))
        .filter(|(name, _)| {
            pattern
                .as_ref()
                .is_none_or(|pattern| matches_pattern(pattern, &name.chars().collect::<Vec<_>>()))
        })
        .collect();
    rows.sort_by(|left, right| left.0.cmp(&right.0));
    if rows.is_empty() && pattern.is_some() {
        return Reply::single(Code::NO_PROTOCOLS, "No protocols match");
    }
    let mut reply = Reply::default();
    reply.line(
        Code::PROTOCOL_HEADING,
        &format!(
            "{:<10} {:<10} {:<10} {:<6} {:<12}  {}",
            "name", "proto", "table", "state", "since", "info"
        ),
    );
    for (name, peer) in rows {
        reply.line(
            Code::PROTOCOL,
            format!(
                "{:<10} {:<10} {:<10} {:<6} {:<12}  {}",
                name,
                "BGP",
                "---",
                protocol_state(peer),
                since(peer, clock).since(clock.now),
                protocol_info(peer)
            )
            .trim_end(),
        );
        if all {
            for line in detail(report, peer, family) {
                reply.line(Code::PROTOCOL_DETAIL, &line);
            }
        }
    }
    reply.finish(Code::OK, "");
    reply.into_text()
}

/// BIRD 2's `show protocols all` block of a BGP protocol
/// (`bgp_show_proto_info`, then one channel).
fn detail(report: &StatusReport, peer: &PeerReport, family: Family) -> Vec<String> {
    let mut lines = vec![format!("  BGP state:          {}", peer.state)];
    lines.push(format!("    Neighbor address: {}", peer.peer));
    lines.push(format!("    Neighbor AS:      {}", peer.peer_as));
    lines.push(format!(
        "    Local AS:         {}",
        peer.local_as.unwrap_or(report.asn)
    ));
    if let Some(negotiated) = &peer.negotiated {
        lines.push(format!("    Neighbor ID:      {}", negotiated.router_id));
        let session = if peer.local_as.unwrap_or(report.asn) == peer.peer_as {
            "internal"
        } else {
            "external"
        };
        lines.push(format!("    Session:          {session} AS4"));
        if let Some(local) = &peer.local_address {
            // `ADDRESS:PORT` or `[ADDRESS]:PORT`: BIRD shows the address.
            let address = local
                .parse::<std::net::SocketAddr>()
                .map_or_else(|_| local.clone(), |socket| socket.ip().to_string());
            lines.push(format!("    Source address:   {address}"));
        }
        lines.push(format!("    Hold timer:       {}", peer.hold_time));
        lines.push(format!("    Keepalive timer:  {}", peer.keepalive));
    }
    if let (Some(error), false) = (&peer.last_error, peer.state == "Established") {
        lines.push(format!("    Last error:       {}", one_line(error)));
    }
    if peer.state == "Established" {
        let channel = match family {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        };
        lines.push(format!("  Channel {channel}"));
        lines.push("    State:          UP".to_owned());
        lines.push(format!("    Table:          {}", family.table()));
        lines.push(format!(
            "    Routes:         {} imported, {} exported",
            peer.prefixes.received, peer.prefixes.sent
        ));
    }
    lines.push(String::new());
    lines
}

/// The reply to `show status`.
pub(crate) fn show_status(report: &StatusReport, clock: Clock) -> String {
    let mut reply = Reply::default();
    reply.line(Code::VERSION, VERSION);
    reply.line(
        Code::STATUS_DETAIL,
        &format!("Router ID is {}", report.router_id),
    );
    reply.line(
        Code::STATUS_DETAIL,
        &format!("Current server time is {}", clock.now.date_time()),
    );
    reply.line(
        Code::STATUS_DETAIL,
        &format!("Last reboot on {}", clock.started.date_time()),
    );
    reply.line(
        Code::STATUS_DETAIL,
        &format!("Last reconfiguration on {}", clock.started.date_time()),
    );
    if let Some(wait) = &report.restart_wait {
        // Calico's readiness probe reads 0024 as "not ready yet".
        reply.line(
            Code::GRACEFUL_RESTART,
            "Graceful restart recovery in progress",
        );
        reply.line(
            Code::GRACEFUL_RESTART,
            &format!(
                "  Wait timer is {}/{}",
                wait.remaining_seconds, wait.total_seconds
            ),
        );
    }
    reply.finish(Code::STATUS_UP, "Daemon is up and running");
    reply.into_text()
}

/// The reply to `show route count`.
pub(crate) fn show_route_count(counts: &RouteCountReport, family: Family) -> String {
    let table = match family {
        Family::Ipv4 => counts.ipv4,
        Family::Ipv6 => counts.ipv6,
    };
    Reply::single(
        Code::ROUTE_COUNT,
        &format!(
            "{} of {} routes for {} networks in table {}",
            table.routes,
            table.routes,
            table.networks,
            family.table()
        ),
    )
}

/// The reply when the daemon did not answer in time.
pub(crate) fn unavailable(why: &str) -> String {
    Reply::single(Code::RUNTIME_ERROR, &one_line(why))
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
