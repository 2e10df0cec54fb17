//! `nodebgp node ready` and `nodebgp node live`: the Kubernetes probes,
//! with the verdicts `calico-node -bird-ready` and `-bird-live` give, so a
//! DaemonSet's probes keep their meaning when nodebgp replaces BIRD.
//!
//! Live: the daemon answers its control socket (the manager serves `status`
//! itself, so a wedged manager is not live). Ready, as calico-node's health
//! check decides it: no peers is ready; while the daemon is young (less than
//! `--threshold-time`, 30 s as calico-node's default) every peer must be
//! Established, so a rolling update waits until BGP is back; afterwards one
//! Established peer is enough (a single unreachable peer must not take the
//! node out of service); and never while a graceful restart still waits for
//! the peers' tables. Peers nodebgp refused to start (a missing password)
//! count as BIRD's absent protocols do: not at all.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{bail, Result};

use super::control::protocol::{Request, Response};
use super::status::StatusReport;

/// Flags of `nodebgp node ready`.
#[derive(Debug, clap::Args)]
pub(crate) struct NodeReadyArgs {
    /// Seconds after the daemon's start during which every peer must be
    /// Established (calico-node's `-threshold-time`).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    threshold_time: u64,
    /// Only the peers of this address family (calico-node's `-bird-ready`
    /// is ipv4, `-bird6-ready` ipv6); both by default.
    #[arg(long, value_enum)]
    family: Option<ProbeFamily>,
    /// The daemon's control socket.
    #[arg(long, value_name = "PATH", default_value = "/run/nodebgp/nodebgp.ctl")]
    control_socket: PathBuf,
}

/// Flags of `nodebgp node live`.
#[derive(Debug, clap::Args)]
pub(crate) struct NodeLiveArgs {
    /// The daemon's control socket.
    #[arg(long, value_name = "PATH", default_value = "/run/nodebgp/nodebgp.ctl")]
    control_socket: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ProbeFamily {
    Ipv4,
    Ipv6,
}

fn status(control_socket: &std::path::Path) -> Result<StatusReport> {
    match super::request(control_socket, &Request::Status)? {
        Response::Status(report) => Ok(*report),
        Response::Error { message } => bail!("{message}"),
        other => bail!("the daemon answered {} to status", other.kind()),
    }
}

pub(crate) fn check_live(arguments: &NodeLiveArgs) -> Result<()> {
    let report = status(&arguments.control_socket)?;
    println!("nodebgp is live (up {} s).", report.uptime_seconds);
    Ok(())
}

pub(crate) fn check_ready(arguments: &NodeReadyArgs) -> Result<()> {
    let report = status(&arguments.control_socket)?;
    match readiness(&report, arguments.threshold_time, arguments.family) {
        Ok(established) => {
            println!("nodebgp is ready: {established} BGP session(s) established.");
            Ok(())
        }
        Err(reason) => bail!("nodebgp is not ready: {reason}"),
    }
}

/// The verdict, pure: the number of Established sessions, or why not ready.
pub(crate) fn readiness(
    report: &StatusReport,
    threshold_seconds: u64,
    family: Option<ProbeFamily>,
) -> std::result::Result<usize, String> {
    if report.restart_wait.is_some() {
        return Err("graceful restart in progress".to_owned());
    }
    let in_family = |address: &IpAddr| match family {
        None => true,
        Some(ProbeFamily::Ipv4) => address.is_ipv4(),
        Some(ProbeFamily::Ipv6) => address.is_ipv6(),
    };
    let peers: Vec<_> = report
        .peers
        .iter()
        .filter(|peer| !peer.not_started && in_family(&peer.peer))
        .collect();
    let established = peers
        .iter()
        .filter(|peer| peer.state == "Established")
        .count();
    let waiting: Vec<String> = peers
        .iter()
        .filter(|peer| peer.state != "Established")
        .map(|peer| peer.peer.to_string())
        .collect();
    let young = report.uptime_seconds < threshold_seconds;
    if !waiting.is_empty() && (young || established == 0) {
        return Err(format!("BGP not established with {}", waiting.join(",")));
    }
    Ok(established)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(uptime: u64, peers: &[(&str, &str, bool)]) -> StatusReport {
        let peers: Vec<serde_json::Value> = peers
            .iter()
            .map(|(address, state, not_started)| {
                serde_json::json!({
                    "peer": address, "port": 179, "peer_as": 65001, "state": state,
                    "since_seconds": 1, "last_error": null, "local_address": null,
                    "messages": {"received": 0, "sent": 0}, "updates": {"received": 0, "sent": 0},
                    "prefixes": {"received": 0, "sent": 0}, "not_started": not_started,
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "uptime_seconds": uptime, "node": "n1", "as": 64512, "router_id": "10.0.0.1",
            "peers": peers,
        }))
        .unwrap()
    }

    #[test]
    fn readiness_follows_calico_nodes_rules() {
        // No peers: ready.
        assert_eq!(readiness(&report(0, &[]), 30, None), Ok(0));
        let mixed = [
            ("10.0.0.1", "Established", false),
            ("10.0.0.9", "Active", false),
            ("fd00::9", "Connect", false),
        ];
        // Young: every peer must be up.
        assert_eq!(
            readiness(&report(5, &mixed), 30, None),
            Err("BGP not established with 10.0.0.9,fd00::9".to_owned())
        );
        // Past the threshold: one Established peer is enough...
        assert_eq!(readiness(&report(31, &mixed), 30, None), Ok(1));
        // ...per family, as -bird-ready and -bird6-ready ask.
        assert_eq!(
            readiness(&report(31, &mixed), 30, Some(ProbeFamily::Ipv6)),
            Err("BGP not established with fd00::9".to_owned())
        );
        assert_eq!(
            readiness(&report(5, &mixed[..1]), 30, Some(ProbeFamily::Ipv4)),
            Ok(1)
        );
        // A peer refused for its configuration does not count.
        assert_eq!(
            readiness(
                &report(
                    5,
                    &[
                        ("10.0.0.1", "Established", false),
                        ("10.0.0.7", "Idle", true)
                    ]
                ),
                30,
                None
            ),
            Ok(1)
        );
        // Never during a graceful restart.
        let mut restarting = report(100, &mixed[..1]);
        restarting.restart_wait = Some(Box::new(super::super::status::RestartWait {
            remaining_seconds: 10,
            total_seconds: 120,
        }));
        assert_eq!(
            readiness(&restarting, 30, None),
            Err("graceful restart in progress".to_owned())
        );
    }
}
