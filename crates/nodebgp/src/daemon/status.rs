//! `nodebgp status`: the live state of every session, read through the
//! control socket, as JSON or as a table like `calicoctl node status`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::{bail, Result};
use bgp_session::PeerStatus;
use serde::{Deserialize, Serialize};

use super::control::protocol::{Request, Response};

/// Flags of `nodebgp status`.
#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    output: Format,
    /// Print the status again every SECONDS (2 if not given) until
    /// interrupted: the table redrawn on a terminal, one compact JSON
    /// document per line with `-o json`. A daemon that stops answering is
    /// reported and asked again.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "2",
          value_parser = clap::value_parser!(u64).range(1..))]
    watch: Option<u64>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Both {
    pub(crate) received: u64,
    pub(crate) sent: u64,
}

/// One peer as `nodebgp status -o json` shows it. Serialised straight to
/// text: building a JSON tree per peer cost more memory than the session.
/// The client reads it back into the same type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PeerReport {
    pub(crate) peer: IpAddr,
    pub(crate) port: u16,
    pub(crate) peer_as: u32,
    pub(crate) state: String,
    pub(crate) since_seconds: u64,
    pub(crate) last_error: Option<String>,
    pub(crate) local_address: Option<String>,
    /// Negotiated once the session is up; until then what this side
    /// proposes (the keepalive: configured, or a third of the hold time).
    #[serde(default)]
    pub(crate) hold_time: u64,
    #[serde(default)]
    pub(crate) keepalive: u64,
    messages: Both,
    updates: Both,
    pub(crate) prefixes: Both,
    /// Why the session exists (BIRD's `Global_`, `Node_`, `Mesh_` names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kind: Option<PeerKind>,
    /// Our AS on this session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) local_as: Option<u32>,
    /// A desired peer the daemon refused to start (BIRD's state `down`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) not_started: bool,
    /// Prefixes withdrawn from the peer instead of sent: their attributes
    /// did not fit its messages (RFC 8654 §4).
    #[serde(default, skip_serializing_if = "is_zero")]
    prefixes_unsendable: u64,
    /// Its update group while the session is up: peers with the same
    /// number are sent the same UPDATEs, resolved and encoded once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) update_group: Option<u32>,
    #[serde(flatten)]
    pub(crate) negotiated: Option<NegotiatedReport>,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

fn is_false(flag: &bool) -> bool {
    !*flag
}

/// Why a node has a session, as Calico's BIRD protocol names tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum PeerKind {
    /// A global BGPPeer (`Global_<ip>`).
    Global,
    /// A BGPPeer for this node (`Node_<ip>`); also a `peerSelector` peer,
    /// which confd files under the node unless the resource is global.
    Node,
    /// The node-to-node mesh (`Mesh_<ip>`).
    Mesh,
    /// A workload on this node, selected by a BGPPeer's
    /// `localWorkloadSelector` (`Local_Workload_<ip>`).
    LocalWorkload,
}

impl From<&peer_manager::PeerSource> for PeerKind {
    fn from(source: &peer_manager::PeerSource) -> Self {
        match source {
            peer_manager::PeerSource::Global => PeerKind::Global,
            peer_manager::PeerSource::NodeScoped
            | peer_manager::PeerSource::PeerSelector(_)
            | peer_manager::PeerSource::Reverse(_) => PeerKind::Node,
            peer_manager::PeerSource::Mesh(_) => PeerKind::Mesh,
            peer_manager::PeerSource::LocalWorkload(_) => PeerKind::LocalWorkload,
        }
    }
}

/// What was negotiated, once the peer's OPEN was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NegotiatedReport {
    pub(crate) router_id: String,
    families: Vec<String>,
    four_octet_asn: bool,
    route_refresh: bool,
    enhanced_route_refresh: bool,
    extended_message: bool,
    graceful_restart: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

    /// Names the update group the peer is in ([`bgp_rib::PeerStatistics`]).
    pub(crate) fn with_update_group(mut self, update_group: Option<u32>) -> Self {
        self.update_group = update_group;
        self
    }

    /// Names why the session exists and our AS on it.
    pub(crate) fn with_desired(mut self, desired: &super::DesiredPeer, node_as: u32) -> Self {
        self.kind = Some(PeerKind::from(&desired.source));
        self.local_as = Some(
            desired
                .settings
                .local_as_number
                .or(desired.local_as)
                .map_or(node_as, |asn| asn.0),
        );
        self
    }

    /// Marks a desired peer the daemon refused to start.
    pub(crate) fn not_started(mut self) -> Self {
        self.not_started = true;
        self
    }

    /// The peer's address and port, for ordering the report.
    pub(crate) fn address(&self) -> SocketAddr {
        SocketAddr::new(self.peer, self.port)
    }

    pub(crate) fn new(status: &PeerStatus) -> Self {
        PeerReport {
            peer: status.address.ip(),
            port: status.address.port(),
            peer_as: status.peer_as.0,
            state: status.state.as_str().to_owned(),
            since_seconds: status.in_state.as_secs(),
            last_error: status.last_error.clone(),
            local_address: status.local_address.map(|address| address.to_string()),
            hold_time: status
                .negotiated
                .as_ref()
                .map_or(u64::from(status.configured_hold_time), |negotiated| {
                    negotiated.hold_time.as_secs()
                }),
            keepalive: status.negotiated.as_ref().map_or_else(
                || {
                    status
                        .configured_keepalive
                        .map_or(u64::from(status.configured_hold_time) / 3, |keepalive| {
                            keepalive.as_secs()
                        })
                },
                |negotiated| negotiated.keepalive.as_secs(),
            ),
            messages: Both {
                received: status.messages_received,
                sent: status.messages_sent,
            },
            updates: Both {
                received: status.updates_received,
                sent: status.updates_sent,
            },
            // The RIB's counts (`with_prefix_counts`).
            prefixes: Both {
                received: 0,
                sent: 0,
            },
            prefixes_unsendable: status.prefixes_unsendable,
            // The RIB's (`with_update_group`).
            update_group: None,
            kind: None,
            local_as: None,
            not_started: false,
            negotiated: status
                .negotiated
                .as_ref()
                .map(|negotiated| NegotiatedReport {
                    router_id: negotiated.peer_router_id.to_string(),
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StatusReport {
    /// The daemon's version (`nodebgp version` prints it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) version: String,
    /// Seconds since the daemon started (`node ready` is strict at first).
    #[serde(default)]
    pub(crate) uptime_seconds: u64,
    pub(crate) node: String,
    #[serde(rename = "as")]
    pub(crate) asn: u32,
    pub(crate) router_id: String,
    pub(crate) peers: Vec<PeerReport>,
    /// Stored resources the daemon does not act on, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) ignored: Vec<super::sources::IgnoredResource>,
    /// Tasks alive on the daemon's runtime: a count that grows without end
    /// is a leak (the soak test watches it).
    #[serde(default)]
    pub(crate) tasks: usize,
    /// The node's pod networks from Calico IPAM; absent without any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pod_networks: Option<Box<PodNetworksReport>>,
    /// While a restarted daemon waits for its peers' tables (RFC 4724 §4.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) restart_wait: Option<Box<RestartWait>>,
}

/// The restart deferral's timer, as BIRD's `show status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RestartWait {
    /// Seconds left before routes are selected regardless.
    pub(crate) remaining_seconds: u64,
    /// The whole wait.
    pub(crate) total_seconds: u64,
}

/// Routes in one family's table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TableCount {
    /// Prefixes with at least one path.
    pub(crate) networks: u64,
    /// Paths over all of them.
    pub(crate) routes: u64,
}

/// The answer to `route-count`: BIRD's `show route count`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RouteCountReport {
    pub(crate) ipv4: TableCount,
    pub(crate) ipv6: TableCount,
}

/// What `status` says of the node's pod networks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PodNetworksReport {
    /// Prefixes originated from IPAM: exported blocks and borrowed addresses.
    pub(crate) originated: Vec<String>,
    /// Blocks with a blackhole route in the kernel.
    pub(crate) blackholes: Vec<String>,
    /// Whether Calico's export filter applies (the cluster has IP pools).
    pub(crate) export_filter: bool,
}

impl PodNetworksReport {
    /// The report of `networks`, `None` when there is nothing to say.
    pub(crate) fn new(networks: &peer_manager::pod_networks::PodNetworks) -> Option<Box<Self>> {
        let strings =
            |prefixes: &[ipnet::IpNet]| prefixes.iter().map(ToString::to_string).collect();
        let report = PodNetworksReport {
            originated: strings(&networks.originated),
            blackholes: strings(&networks.blackholes),
            export_filter: networks.export_policy != bgp_rib::ExportPolicy::default(),
        };
        let empty =
            report.originated.is_empty() && report.blackholes.is_empty() && !report.export_filter;
        (!empty).then(|| Box::new(report))
    }
}

pub(crate) fn print_status(arguments: &StatusArgs) -> Result<()> {
    let Some(interval) = arguments.watch else {
        let report = fetch(arguments)?;
        match arguments.output {
            Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            Format::Table => print!("{}", table_text(&report)),
        }
        return Ok(());
    };
    use std::io::{IsTerminal as _, Write as _};
    let terminal = std::io::stdout().is_terminal();
    loop {
        let text = match fetch(arguments) {
            Ok(report) => match arguments.output {
                Format::Json => serde_json::to_string(&report)? + "\n",
                // Home and clear on a terminal: the table is redrawn in place.
                Format::Table if terminal => format!("\x1b[H\x1b[2J{}", table_text(&report)),
                Format::Table => table_text(&report) + "\n",
            },
            Err(error) => {
                eprintln!("nodebgp: {error:#} (asking again in {interval} s)");
                String::new()
            }
        };
        // A closed pipe (`status --watch | head`) ends the watch.
        let mut stdout = std::io::stdout().lock();
        if stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return Ok(());
        }
        drop(stdout);
        std::thread::sleep(std::time::Duration::from_secs(interval));
    }
}

fn fetch(arguments: &StatusArgs) -> Result<Box<StatusReport>> {
    match super::request(&arguments.control_socket, &Request::Status)? {
        Response::Status(report) => Ok(report),
        Response::Error { message } => bail!("{message}"),
        other => bail!("the daemon answered {} to status", other.kind()),
    }
}

/// The table `status` prints.
fn table_text(report: &StatusReport) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "nodebgp is running on node {} (AS {}, router id {}).",
        report.node, report.asn, report.router_id
    );
    let rows: Vec<[String; 5]> = report
        .peers
        .iter()
        .map(|peer| {
            let info = match peer.state.as_str() {
                "Established" => format!(
                    "{} received, {} sent",
                    peer.prefixes.received, peer.prefixes.sent
                ),
                _ => peer.last_error.clone().unwrap_or_default(),
            };
            [
                peer.peer.to_string(),
                peer.peer_as.to_string(),
                peer.state.clone(),
                format!("{}s", peer.since_seconds),
                info,
            ]
        })
        .collect();
    let _ = write!(
        text,
        "{}",
        super::node_status::table(
            ["PEER ADDRESS", "PEER AS", "STATE", "SINCE", "INFO"],
            &rows,
            false
        )
    );
    if let Some(pods) = &report.pod_networks {
        let list = |prefixes: &[String]| match prefixes {
            [] => "none".to_owned(),
            _ => prefixes.join(", "),
        };
        let _ = writeln!(
            text,
            "Pod networks: originated {}; blackholed {}; Calico export filter {}.",
            list(&pods.originated),
            list(&pods.blackholes),
            if pods.export_filter {
                "on"
            } else {
                "off (no IP pool)"
            }
        );
    }
    if !report.ignored.is_empty() {
        let _ = writeln!(text, "Ignored (stored, but not acted on):");
        for ignored in &report.ignored {
            let _ = writeln!(
                text,
                "  {} {}: {}",
                ignored.kind, ignored.name, ignored.reason
            );
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `nodebgp status -o json` prints: one peer established (with the
    /// negotiated fields inline), one not (with the hold time and keepalive
    /// it proposes).
    const REPORT: &str = r#"{
        "uptime_seconds": 0, "node": "rack1-host1", "as": 64512, "router_id": "10.0.0.1",
        "peers": [
            {"peer": "10.0.0.2", "port": 179, "peer_as": 64513, "state": "Established",
             "since_seconds": 12, "last_error": null, "local_address": "10.0.0.1:40000",
             "messages": {"received": 5, "sent": 6}, "updates": {"received": 1, "sent": 2},
             "prefixes": {"received": 3, "sent": 4},
             "router_id": "10.0.0.2", "hold_time": 90, "keepalive": 30,
             "families": ["ipv4-unicast"], "four_octet_asn": true, "route_refresh": true,
             "enhanced_route_refresh": false, "extended_message": false,
             "graceful_restart": true, "capabilities": ["1", "2", "65"]},
            {"peer": "fd00::3", "port": 179, "peer_as": 64514, "state": "Active",
             "since_seconds": 3, "last_error": "connection refused", "local_address": null,
             "hold_time": 90, "keepalive": 30,
             "messages": {"received": 0, "sent": 0}, "updates": {"received": 0, "sent": 0},
             "prefixes": {"received": 0, "sent": 0}}
        ],
        "tasks": 0
    }"#;

    #[test]
    fn the_status_report_keeps_its_json_shape_through_the_typed_protocol() {
        let before: serde_json::Value = serde_json::from_str(REPORT).unwrap();
        let report: StatusReport = serde_json::from_str(REPORT).unwrap();
        assert!(report.peers[0].negotiated.is_some());
        assert!(report.peers[1].negotiated.is_none());
        assert_eq!(report.peers[1].address(), "[fd00::3]:179".parse().unwrap());
        // Through the socket and back, as the client reads it.
        let line = Response::Status(Box::new(report.clone())).to_line();
        let Response::Status(received) = serde_json::from_slice(&line).unwrap() else {
            panic!("not a status answer: {}", String::from_utf8_lossy(&line));
        };
        assert_eq!(*received, report);
        assert_eq!(serde_json::to_value(&received).unwrap(), before);
    }
}
