//! `nodebgp status`: the live state of every session, read through the
//! control socket, as JSON or as a table like `calicoctl node status`.

use std::path::PathBuf;

use anyhow::Result;
use bgp_session::PeerStatus;
use serde::Serialize;
use serde_json::Value;

/// Flags of `nodebgp status`.
#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    output: Format,
    /// The daemon's control socket.
    #[arg(long, value_name = "PATH", default_value = "/run/nodebgp/nodebgp.ctl")]
    control_socket: PathBuf,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

/// Counts in each direction.
#[derive(Debug, Serialize)]
struct Both {
    received: u64,
    sent: u64,
}

/// One peer as `nodebgp status -o json` shows it. Serialised straight to
/// text: building a JSON tree per peer cost more memory than the session.
#[derive(Debug, Serialize)]
pub(crate) struct PeerReport {
    /// For ordering the report.
    #[serde(skip)]
    pub(crate) address: std::net::SocketAddr,
    peer: String,
    port: u16,
    peer_as: u32,
    state: &'static str,
    since_seconds: u64,
    last_error: Option<String>,
    local_address: Option<String>,
    messages: Both,
    updates: Both,
    prefixes: Both,
    #[serde(flatten)]
    negotiated: Option<NegotiatedReport>,
}

/// What was negotiated, once the peer's OPEN was accepted.
#[derive(Debug, Serialize)]
struct NegotiatedReport {
    router_id: String,
    hold_time: u64,
    keepalive: u64,
    families: Vec<String>,
    four_octet_asn: bool,
    route_refresh: bool,
    enhanced_route_refresh: bool,
    extended_message: bool,
    graceful_restart: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<String>,
    capabilities: Vec<String>,
}

impl PeerReport {
    /// Takes the prefix counts from the RIB, which holds the routes when the
    /// session is not standing alone: accepted into the Adj-RIB-In, and in
    /// the Adj-RIB-Out.
    pub(crate) fn with_prefix_counts(mut self, received: usize, sent: usize) -> Self {
        self.prefixes = Both {
            received: received as u64,
            sent: sent as u64,
        };
        self
    }

    pub(crate) fn new(status: &PeerStatus) -> Self {
        PeerReport {
            address: status.address,
            peer: status.address.ip().to_string(),
            port: status.address.port(),
            peer_as: status.peer_as.0,
            state: status.state.as_str(),
            since_seconds: status.in_state.as_secs(),
            last_error: status.last_error.clone(),
            local_address: status.local_address.map(|address| address.to_string()),
            messages: Both {
                received: status.messages_received,
                sent: status.messages_sent,
            },
            updates: Both {
                received: status.updates_received,
                sent: status.updates_sent,
            },
            prefixes: Both {
                received: status.prefixes_received as u64,
                sent: status.prefixes_sent as u64,
            },
            negotiated: status
                .negotiated
                .as_ref()
                .map(|negotiated| NegotiatedReport {
                    router_id: negotiated.peer_router_id.to_string(),
                    hold_time: negotiated.hold_time.as_secs(),
                    keepalive: negotiated.keepalive.as_secs(),
                    families: negotiated
                        .families
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                    four_octet_asn: negotiated.four_octet_asn,
                    route_refresh: negotiated.route_refresh,
                    enhanced_route_refresh: negotiated.enhanced_route_refresh,
                    extended_message: negotiated.extended_message,
                    graceful_restart: negotiated.peer_graceful_restart.is_some(),
                    hostname: negotiated.peer_hostname.clone(),
                    capabilities: negotiated
                        .peer_capabilities
                        .iter()
                        .map(|capability| capability.code().to_string())
                        .collect(),
                }),
        }
    }
}

/// The answer to `status`.
#[derive(Debug, Serialize)]
pub(crate) struct StatusReport {
    pub(crate) node: String,
    #[serde(rename = "as")]
    pub(crate) asn: u32,
    pub(crate) router_id: String,
    pub(crate) peers: Vec<PeerReport>,
}

pub(crate) fn print_status(arguments: &StatusArgs) -> Result<()> {
    let answer = super::request(&arguments.control_socket, "status")?;
    if let Some(error) = answer["error"].as_str() {
        anyhow::bail!("{error}");
    }
    match arguments.output {
        Format::Json => println!("{}", serde_json::to_string_pretty(&answer)?),
        Format::Table => print_table(&answer),
    }
    Ok(())
}

fn print_table(answer: &Value) {
    println!(
        "nodebgp is running on node {} (AS {}, router id {}).",
        answer["node"].as_str().unwrap_or_default(),
        answer["as"],
        answer["router_id"].as_str().unwrap_or_default()
    );
    let empty = Vec::new();
    let peers = answer["peers"].as_array().unwrap_or(&empty);
    let rows: Vec<[String; 5]> = peers
        .iter()
        .map(|peer| {
            let info = match peer["state"].as_str() {
                Some("Established") => format!(
                    "{} received, {} sent",
                    peer["prefixes"]["received"], peer["prefixes"]["sent"]
                ),
                _ => peer["last_error"].as_str().unwrap_or_default().to_owned(),
            };
            [
                peer["peer"].as_str().unwrap_or_default().to_owned(),
                peer["peer_as"].to_string(),
                peer["state"].as_str().unwrap_or_default().to_owned(),
                format!("{}s", peer["since_seconds"]),
                info,
            ]
        })
        .collect();
    let headers = ["PEER ADDRESS", "PEER AS", "STATE", "SINCE", "INFO"];
    let widths: Vec<usize> = (0..5)
        .map(|column| {
            rows.iter()
                .map(|row| row[column].len())
                .chain([headers[column].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let rule: String = widths
        .iter()
        .map(|width| format!("+{}", "-".repeat(width + 2)))
        .collect::<String>()
        + "+";
    println!("{rule}");
    let line = |cells: [&str; 5]| {
        let text: String = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("| {cell:<width$} "))
            .collect();
        println!("{text}|");
    };
    line(headers);
    println!("{rule}");
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
    }
    println!("{rule}");
}
