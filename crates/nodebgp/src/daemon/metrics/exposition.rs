//! The metric families, built afresh for each scrape from one status
//! snapshot and one process sample, and written in the OpenMetrics text
//! format by `prometheus-client`. No I/O here.
//!
//! The peers are read through the JSON of the status report, the contract
//! `nodebgp status -o json` keeps (tested in `status`), into [`PeerView`]:
//! a few of `PeerReport`'s counters are private to its module, and this
//! keeps the exposition from depending on more than that published shape.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI64, AtomicU64};

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use serde::Deserialize;

use super::process::ProcessSample;
use crate::daemon::settings::BGP_PORT;
use crate::daemon::status::{PeerKind, StatusReport};

/// What the endpoint answers with (OpenMetrics 1.0, which Prometheus
/// negotiates and `prometheus-client` writes).
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A session's state, RFC 4271 §8.2.2's six, as the status report names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, EncodeLabelValue)]
pub(crate) enum SessionState {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

impl SessionState {
    /// Every state: each gets a series, 0 or 1, so that a query for one
    /// state finds a value rather than an absent series.
    const ALL: [SessionState; 6] = [
        SessionState::Idle,
        SessionState::Connect,
        SessionState::Active,
        SessionState::OpenSent,
        SessionState::OpenConfirm,
        SessionState::Established,
    ];
}

/// Why the session exists, as a label (`Global_`, `Node_`, `Mesh_` in BIRD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum PeerType {
    Global,
    Node,
    Mesh,
    LocalWorkload,
    /// A report without the kind (a session the manager did not name).
    Unknown,
}

impl EncodeLabelValue for PeerType {
    // By hand: the derive writes variant names as they are, and the status
    // report's kinds are lower case.
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        encoder.write_str(match self {
            PeerType::Global => "global",
            PeerType::Node => "node",
            PeerType::Mesh => "mesh",
            PeerType::LocalWorkload => "local-workload",
            PeerType::Unknown => "unknown",
        })
    }
}

impl From<Option<PeerKind>> for PeerType {
    fn from(kind: Option<PeerKind>) -> Self {
        match kind {
            Some(PeerKind::Global) => PeerType::Global,
            Some(PeerKind::Node) => PeerType::Node,
            Some(PeerKind::Mesh) => PeerType::Mesh,
            Some(PeerKind::LocalWorkload) => PeerType::LocalWorkload,
            None => PeerType::Unknown,
        }
    }
}

/// Counts in each direction, as the report writes them.
#[derive(Debug, Clone, Copy, Deserialize)]
struct Directions {
    received: u64,
    sent: u64,
}

/// The part of one peer's report the metrics use.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PeerView {
    peer: IpAddr,
    port: u16,
    peer_as: u32,
    state: SessionState,
    since_seconds: u64,
    messages: Directions,
    updates: Directions,
    prefixes: Directions,
    #[serde(default)]
    kind: Option<PeerKind>,
}

#[derive(Debug, Deserialize)]
struct ReportView {
    peers: Vec<PeerView>,
}

/// The peers of a status report, through its JSON shape.
pub(crate) fn peers(report: &StatusReport) -> serde_json::Result<Vec<PeerView>> {
    let json = serde_json::to_value(report)?;
    Ok(serde_json::from_value::<ReportView>(json)?.peers)
}

/// The labels naming one peer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PeerLabels {
    /// The address, with the port when it is not BGP's: two sessions to one
    /// address on different ports stay two series.
    peer: String,
    peer_as: String,
    peer_type: PeerType,
}

impl PeerLabels {
    fn new(view: &PeerView) -> Self {
        PeerLabels {
            peer: if view.port == BGP_PORT {
                view.peer.to_string()
            } else {
                SocketAddr::new(view.peer, view.port).to_string()
            },
            peer_as: view.peer_as.to_string(),
            peer_type: PeerType::from(view.kind),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PeerStateLabels {
    peer: String,
    peer_as: String,
    peer_type: PeerType,
    state: SessionState,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StateLabels {
    state: SessionState,
}

type IntegerGauge = Gauge<i64, AtomicI64>;
type FloatCounter = Counter<f64, AtomicU64>;

fn gauge_value(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// The exposition: the peers' families when the manager answered (`peers`
/// is `Some`), the process's always, and `nodebgp_manager_up`.
pub(crate) fn render(peers: Option<&[PeerView]>, process: &ProcessSample) -> String {
    let mut registry = Registry::with_prefix("nodebgp");

    let manager_up = IntegerGauge::default();
    manager_up.set(i64::from(peers.is_some()));
    registry.register(
        "manager_up",
        "Whether the daemon's manager answered this scrape's status request in time",
        manager_up,
    );
    if let Some(peers) = peers {
        register_peers(&mut registry, peers);
    }
    register_process(&mut registry, process);

    let mut text = String::new();
    // Writing into a String cannot fail.
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .expect("encoding metrics into a String");
    text
}

fn register_peers(registry: &mut Registry, peers: &[PeerView]) {
    let state = Family::<PeerStateLabels, IntegerGauge>::default();
    let established = Family::<PeerLabels, IntegerGauge>::default();
    let messages_received = Family::<PeerLabels, Counter>::default();
    let messages_sent = Family::<PeerLabels, Counter>::default();
    let updates_received = Family::<PeerLabels, Counter>::default();
    let updates_sent = Family::<PeerLabels, Counter>::default();
    let prefixes_received = Family::<PeerLabels, IntegerGauge>::default();
    let prefixes_advertised = Family::<PeerLabels, IntegerGauge>::default();
    let by_state = Family::<StateLabels, IntegerGauge>::default();
    for each in SessionState::ALL {
        by_state.get_or_create(&StateLabels { state: each }).set(0);
    }
    for view in peers {
        let labels = PeerLabels::new(view);
        for each in SessionState::ALL {
            let series = PeerStateLabels {
                peer: labels.peer.clone(),
                peer_as: labels.peer_as.clone(),
                peer_type: labels.peer_type,
                state: each,
            };
            state
                .get_or_create(&series)
                .set(i64::from(each == view.state));
        }
        by_state
            .get_or_create(&StateLabels { state: view.state })
            .inc();
        let seconds = if view.state == SessionState::Established {
            view.since_seconds
        } else {
            0
        };
        established.get_or_create(&labels).set(gauge_value(seconds));
        messages_received
            .get_or_create(&labels)
            .inc_by(view.messages.received);
        messages_sent
            .get_or_create(&labels)
            .inc_by(view.messages.sent);
        updates_received
            .get_or_create(&labels)
            .inc_by(view.updates.received);
        updates_sent
            .get_or_create(&labels)
            .inc_by(view.updates.sent);
        prefixes_received
            .get_or_create(&labels)
            .set(gauge_value(view.prefixes.received));
        prefixes_advertised
            .get_or_create(&labels)
            .set(gauge_value(view.prefixes.sent));
    }
    registry.register(
        "peer_state",
        "The session's BGP state (RFC 4271): 1 for the current one, 0 for the others",
        state,
    );
    registry.register_with_unit(
        "peer_established",
        "How long the session has been Established; 0 when it is not",
        Unit::Seconds,
        established,
    );
    registry.register(
        "peer_messages_received",
        "BGP messages received on the session",
        messages_received,
    );
    registry.register(
        "peer_messages_sent",
        "BGP messages sent on the session",
        messages_sent,
    );
    registry.register(
        "peer_updates_received",
        "UPDATE messages received on the session",
        updates_received,
    );
    registry.register(
        "peer_updates_sent",
        "UPDATE messages sent on the session",
        updates_sent,
    );
    registry.register(
        "peer_prefixes_received",
        "Prefixes accepted from the peer into its Adj-RIB-In",
        prefixes_received,
    );
    registry.register(
        "peer_prefixes_advertised",
        "Prefixes in the peer's Adj-RIB-Out",
        prefixes_advertised,
    );
    registry.register("peers", "Sessions in each BGP state", by_state);
}

fn register_process(registry: &mut Registry, process: &ProcessSample) {
    if let Some(bytes) = process.resident_memory_bytes {
        let gauge = IntegerGauge::default();
        gauge.set(gauge_value(bytes));
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory of the daemon",
            Unit::Bytes,
            gauge,
        );
    }
    if let Some(count) = process.open_fds {
        let gauge = IntegerGauge::default();
        gauge.set(gauge_value(count));
        registry.register("process_open_fds", "Open file descriptors", gauge);
    }
    if let Some(time) = process.cpu_time {
        let counter = FloatCounter::default();
        counter.inc_by(time.as_secs_f64());
        registry.register_with_unit(
            "process_cpu",
            "User and system CPU time of the daemon",
            Unit::Seconds,
            counter,
        );
    }
}
