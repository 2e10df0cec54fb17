//! `nodebgp status`: the live state of every session, read through the
//! control socket, as JSON or as a table like `calicoctl node status`.

use std::path::PathBuf;

use anyhow::Result;
use bgp_session::PeerStatus;
use serde_json::{json, Value};

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

/// One peer as `nodebgp status -o json` shows it.
pub(crate) fn peer_json(status: &PeerStatus) -> Value {
    let mut peer = json!({
        "peer": status.address.ip().to_string(),
        "port": status.address.port(),
        "peer_as": status.peer_as.0,
        "state": status.state.as_str(),
        "since_seconds": status.in_state.as_secs(),
        "last_error": status.last_error,
        "local_address": status.local_address.map(|address| address.to_string()),
        "messages": {"received": status.messages_received, "sent": status.messages_sent},
        "updates": {"received": status.updates_received, "sent": status.updates_sent},
        "prefixes": {"received": status.prefixes_received, "sent": status.prefixes_sent},
    });
    if let Some(negotiated) = &status.negotiated {
        peer["router_id"] = json!(negotiated.peer_router_id.to_string());
        peer["hold_time"] = json!(negotiated.hold_time.as_secs());
        peer["keepalive"] = json!(negotiated.keepalive.as_secs());
        peer["families"] = json!(negotiated
            .families
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>());
        peer["four_octet_asn"] = json!(negotiated.four_octet_asn);
        peer["route_refresh"] = json!(negotiated.route_refresh);
        peer["enhanced_route_refresh"] = json!(negotiated.enhanced_route_refresh);
        peer["extended_message"] = json!(negotiated.extended_message);
        peer["graceful_restart"] = json!(negotiated.peer_graceful_restart.is_some());
        if let Some(hostname) = &negotiated.peer_hostname {
            peer["hostname"] = json!(hostname);
        }
        peer["capabilities"] = json!(negotiated
            .peer_capabilities
            .iter()
            .map(|capability| capability.code().to_string())
            .collect::<Vec<_>>());
    }
    peer
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
