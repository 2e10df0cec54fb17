//! `nodebgp node status`: what `calicoctl node status` prints, from the
//! running daemon, so operators' habits and scripts carry over: a line
//! saying whether the daemon runs, then one table per address family with
//! calicoctl's columns (`PEER ADDRESS | PEER TYPE | STATE | SINCE | INFO`),
//! peer types `global`, `node specific` and `node-to-node mesh`, and BIRD's
//! state words (`up`, `start`, `down`), or `No IPv4 peers found.`.
//! Exits non-zero when no daemon answers, as calicoctl does when Calico is
//! not running.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Result};

use super::bird_socket::format::{calicoctl_columns, Clock, UnixTime};
use super::control::protocol::{Request, Response};
use super::status::{PeerKind, PeerReport, StatusReport};

/// Flags of `nodebgp node status`.
#[derive(Debug, clap::Args)]
pub(crate) struct NodeStatusArgs {
    /// The daemon's control socket.
    #[arg(long, value_name = "PATH", default_value = "/run/nodebgp/nodebgp.ctl")]
    control_socket: PathBuf,
}

pub(crate) fn print_node_status(arguments: &NodeStatusArgs) -> Result<()> {
    let report = match super::request(&arguments.control_socket, &Request::Status) {
        Ok(Response::Status(report)) => report,
        Ok(Response::Error { message }) => bail!("{message}"),
        Ok(other) => bail!("the daemon answered {} to status", other.kind()),
        Err(error) => {
            println!("nodebgp process is not running.");
            return Err(error);
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let clock = Clock {
        now: UnixTime(now),
        started: UnixTime(now),
    };
    print!("{}", render(&report, clock));
    Ok(())
}

/// The running daemon's version, from its status report.
pub(crate) fn daemon_version(control_socket: &std::path::Path) -> Result<String> {
    match super::request(control_socket, &Request::Status)? {
        Response::Status(report) if !report.version.is_empty() => Ok(report.version),
        Response::Status(_) => bail!("the daemon does not say its version"),
        other => bail!("the daemon answered {} to status", other.kind()),
    }
}

/// The whole text, pure.
pub(crate) fn render(report: &StatusReport, clock: Clock) -> String {
    let mut text = String::from("nodebgp process is running.\n");
    for (family, v4) in [("IPv4", true), ("IPv6", false)] {
        text.push_str(&format!("\n{family} BGP status\n"));
        let peers: Vec<&PeerReport> = report
            .peers
            .iter()
            .filter(|peer| peer.peer.is_ipv4() == v4)
            .collect();
        if peers.is_empty() {
            text.push_str(&format!("No {family} peers found.\n"));
            continue;
        }
        let rows: Vec<[String; 5]> = peers
            .iter()
            .map(|peer| {
                let [state, since, info] = calicoctl_columns(peer, clock);
                [
                    peer.peer.to_string(),
                    peer_type(peer).to_owned(),
                    state,
                    since,
                    info,
                ]
            })
            .collect();
        text.push_str(&table(
            ["PEER ADDRESS", "PEER TYPE", "STATE", "SINCE", "INFO"],
            &rows,
            true,
        ));
    }
    text.push('\n');
    text
}

/// calicoctl's words for why the session exists.
fn peer_type(peer: &PeerReport) -> &'static str {
    match peer.kind {
        Some(PeerKind::Mesh) => "node-to-node mesh",
        Some(PeerKind::Node) => "node specific",
        // calicoctl lists only Global_, Node_ and Mesh_ protocols; nodebgp
        // shows these too, by the name confd gives them.
        Some(PeerKind::LocalWorkload) => "local workload",
        Some(PeerKind::Global) | None => "global",
    }
}

/// A table the way calicoctl's tablewriter draws it: headings centred
/// (`centred`) or left-aligned, cells left-aligned, one space of padding.
pub(crate) fn table<const COLUMNS: usize>(
    headings: [&str; COLUMNS],
    rows: &[[String; COLUMNS]],
    centred: bool,
) -> String {
    let widths: Vec<usize> = (0..COLUMNS)
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .chain([headings[column].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let rule: String = widths
        .iter()
        .map(|width| format!("+{}", "-".repeat(width + 2)))
        .collect::<String>()
        + "+\n";
    let mut text = rule.clone();
    for (heading, width) in headings.iter().zip(&widths) {
        let spare = width - heading.chars().count();
        // Go's tablewriter: the odd space goes right.
        let left = if centred { spare / 2 } else { 0 };
        text.push_str(&format!(
            "| {}{heading}{} ",
            " ".repeat(left),
            " ".repeat(spare - left)
        ));
    }
    text.push_str("|\n");
    text.push_str(&rule);
    for row in rows {
        for (cell, width) in row.iter().zip(&widths) {
            let pad = width - cell.chars().count();
            text.push_str(&format!("| {cell}{} ", " ".repeat(pad)));
        }
        text.push_str("|\n");
    }
    text.push_str(&rule);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> StatusReport {
        serde_json::from_value(serde_json::json!({
            "node": "node-1", "as": 64512, "router_id": "10.0.0.1",
            "peers": [
                {"peer": "172.17.8.102", "port": 179, "peer_as": 64512, "state": "Established",
                 "since_seconds": 60, "last_error": null, "local_address": null,
                 "messages": {"received": 0, "sent": 0}, "updates": {"received": 0, "sent": 0},
                 "prefixes": {"received": 0, "sent": 0}, "kind": "mesh"},
                {"peer": "10.0.0.9", "port": 179, "peer_as": 65001, "state": "Active",
                 "since_seconds": 5, "last_error": "connection refused", "local_address": null,
                 "messages": {"received": 0, "sent": 0}, "updates": {"received": 0, "sent": 0},
                 "prefixes": {"received": 0, "sent": 0}, "kind": "global"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn the_tables_are_calicoctls() {
        // 2026-12-04 23:31:04 UTC.
        let now = UnixTime(1_796_427_064);
        let text = render(&report(), Clock { now, started: now });
        let expected = "\
nodebgp process is running.

IPv4 BGP status
+--------------+-------------------+-------+----------+---------------------------+
| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |           INFO            |
+--------------+-------------------+-------+----------+---------------------------+
| 172.17.8.102 | node-to-node mesh | up    | 23:30:04 | Established               |
| 10.0.0.9     | global            | start | 23:30:59 | Active connection refused |
+--------------+-------------------+-------+----------+---------------------------+

IPv6 BGP status
No IPv6 peers found.

";
        assert_eq!(text, expected, "{text}");
    }
}
