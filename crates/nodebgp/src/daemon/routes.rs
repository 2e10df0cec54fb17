//! `nodebgp routes`: the Loc-RIB, or one peer's Adj-RIB-In or Adj-RIB-Out,
//! read through the control socket. The daemon side ([`answer`]) renders
//! the RIB into a [`RoutesReport`]; the client side prints it as JSON or a
//! table like `birdc show route` / `vtysh show bgp ipv4`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{bail, Result};
use bgp_rib::{PeerId, Rib, RouteView};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::control::protocol::{Request, Response, RibView, RoutesQuery, Selection};
use crate::decode::json::attributes_object;

/// Flags of `nodebgp routes`.
#[derive(Debug, clap::Args)]
pub(crate) struct RoutesArgs {
    /// Only this prefix (exact), or the routes covering this address
    /// (longest match).
    #[arg(value_name = "PREFIX|ADDRESS")]
    prefix: Option<Selection>,
    /// Only routes of this peer.
    #[arg(long, value_name = "ADDRESS")]
    peer: Option<IpAddr>,
    /// The peer's Adj-RIB-In: what it sent us, after the import checks.
    #[arg(long, requires = "peer", conflicts_with = "advertised")]
    received: bool,
    /// The peer's Adj-RIB-Out: what we sent it.
    #[arg(long, requires = "peer")]
    advertised: bool,
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

/// Flags of `nodebgp refresh`.
#[derive(Debug, clap::Args)]
pub(crate) struct RefreshArgs {
    /// The peer to ask.
    #[arg(value_name = "PEER")]
    peer: IpAddr,
    /// The daemon's control socket.
    #[arg(long, value_name = "PATH", default_value = "/run/nodebgp/nodebgp.ctl")]
    control_socket: PathBuf,
}

/// Asks a peer to send its routes again (ROUTE-REFRESH, RFC 2918), as
/// `clear bgp PEER soft in` does on a router.
pub(crate) fn request_refresh(arguments: &RefreshArgs) -> Result<()> {
    let request = Request::Refresh {
        peer: arguments.peer,
    };
    match super::request(&arguments.control_socket, &request)? {
        Response::Refreshed => {}
        Response::Error { message } => bail!("{message}"),
        other => bail!("the daemon answered {} to refresh", other.kind()),
    }
    println!("asked {} for its routes again", arguments.peer);
    Ok(())
}

/// Asks the daemon and prints its answer.
pub(crate) fn print_routes(arguments: &RoutesArgs) -> Result<()> {
    let view = match (arguments.received, arguments.advertised) {
        (true, _) => RibView::Received,
        (_, true) => RibView::Advertised,
        _ => RibView::LocRib,
    };
    let request = Request::Routes(RoutesQuery {
        view,
        peer: arguments.peer,
        prefix: arguments.prefix,
    });
    let report = match super::request(&arguments.control_socket, &request)? {
        Response::Routes(report) => report,
        Response::Error { message } => bail!("{message}"),
        other => bail!("the daemon answered {} to routes", other.kind()),
    };
    match arguments.output {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Table => print_table(&report),
    }
    Ok(())
}

fn print_table(report: &RoutesReport) {
    println!(
        "{:<2} {:<20} {:<18} {:<24} {:>6} {:>6}  AS path",
        "", "Prefix", "Peer", "Next hop", "LPref", "MED"
    );
    for route in &report.routes {
        let marks = route.marks.unwrap_or_default();
        let marks = format!(
            "{}{}",
            if marks.best {
                ">"
            } else if marks.multipath {
                "="
            } else {
                "*"
            },
            // L: long-lived stale (RFC 9494), least preferred; S: stale.
            if marks.long_lived_stale {
                "L"
            } else if marks.stale {
                "S"
            } else {
                ""
            }
        );
        let attribute = |name: &str| match route.attributes.get(name) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
        };
        // Communities of every kind, after the origin: `65000:100 65000:1:2`.
        let communities: Vec<String> = ["communities", "large_communities", "extended_communities"]
            .iter()
            .filter_map(|name| route.attributes.get(*name))
            .filter_map(Value::as_array)
            .flatten()
            .map(|value| {
                value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned)
            })
            .collect();
        println!(
            "{:<2} {:<20} {:<18} {:<24} {:>6} {:>6}  {} {}{}",
            marks,
            route.prefix.to_string(),
            route
                .peer
                .map_or_else(|| "local".to_owned(), |peer| peer.to_string()),
            route
                .next_hop
                .map(|address| address.to_string())
                .unwrap_or_default(),
            attribute("local_pref"),
            attribute("med"),
            attribute("as_path"),
            attribute("origin"),
            if communities.is_empty() {
                String::new()
            } else {
                format!("  [{}]", communities.join(" "))
            },
        );
    }
    println!(
        "{} route{}{}",
        report.routes.len(),
        if report.routes.len() == 1 { "" } else { "s" },
        if report.truncated { " (truncated)" } else { "" }
    );
}

/// The answer to a routes request, as `nodebgp routes -o json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RoutesReport {
    /// How many routes follow.
    pub(crate) count: usize,
    /// More matched than [`MOST_ROUTES`].
    pub(crate) truncated: bool,
    pub(crate) routes: Vec<RouteReport>,
}

/// One route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RouteReport {
    prefix: IpNet,
    /// `None` for the node's own routes.
    peer: Option<IpAddr>,
    /// Absent from advertised routes: they are not selected among others.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    marks: Option<Marks>,
    next_hop: Option<IpAddr>,
    /// In the shape `nodebgp decode` prints.
    attributes: Map<String, Value>,
}

/// How a received route stands in the decision process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Marks {
    path_id: Option<u32>,
    best: bool,
    multipath: bool,
    stale: bool,
    long_lived_stale: bool,
}

/// At most this many routes in one answer: a full table is inspected
/// prefix by prefix, not printed whole over the control socket.
const MOST_ROUTES: usize = 100_000;

/// The daemon's answer to a routes request.
pub(crate) fn answer(rib: &Rib, peers: &HashMap<PeerId, IpAddr>, query: &RoutesQuery) -> Response {
    match render(rib, peers, query) {
        Ok(report) => Response::Routes(report),
        Err(error) => Response::error(format!("{error:#}")),
    }
}

fn render(rib: &Rib, peers: &HashMap<PeerId, IpAddr>, query: &RoutesQuery) -> Result<RoutesReport> {
    let peer = match query.peer {
        Some(address) => {
            let Some(id) = peers
                .iter()
                .find(|(_, peer)| **peer == address)
                .map(|(id, _)| *id)
            else {
                bail!("{address} is not a peer of this node");
            };
            Some(id)
        }
        None => None,
    };
    let name = |peer: Option<PeerId>| peer.and_then(|id| peers.get(&id).copied());
    let mut routes = Vec::new();
    let mut truncated = false;
    // Whether to go on: past the limit the walk stops (the answer says it
    // was cut), so that no request holds the manager for a whole table.
    let mut push = |route: RouteReport| {
        if routes.len() < MOST_ROUTES {
            routes.push(route);
            true
        } else {
            truncated = true;
            false
        }
    };
    // One prefix is found by lookups, never by walking the table: the
    // manager answers while it holds a full table (RFC 4632 longest match
    // for an address: each prefix length from the longest down).
    let wanted = match query.prefix {
        None => None,
        Some(Selection::Exact(prefix)) => Some(Some(prefix.trunc())),
        Some(Selection::Covering(address)) => Some(longest_match(rib, address)),
    };
    match (query.view, peer, wanted) {
        (RibView::Received | RibView::Advertised, None, _) => {
            bail!("the received and advertised views need a peer")
        }
        (_, _, Some(None)) => {}
        (RibView::Advertised, Some(peer), Some(Some(prefix))) => {
            if let Some(attributes) = rib.advertised_prefix(peer, prefix) {
                push(advertised_report(prefix, name(Some(peer)), attributes));
            }
        }
        (RibView::Advertised, Some(peer), None) => {
            for (prefix, attributes) in rib.advertised(peer) {
                if !push(advertised_report(prefix, name(Some(peer)), attributes)) {
                    break;
                }
            }
        }
        (RibView::Received | RibView::LocRib, _, Some(Some(prefix))) => {
            for view in rib.lookup(prefix) {
                if peer.is_none() || view.peer == peer {
                    push(route_report(&view, name(view.peer)));
                }
            }
        }
        (RibView::Received, Some(peer), None) => {
            for view in rib.received(peer) {
                if !push(route_report(&view, name(view.peer))) {
                    break;
                }
            }
        }
        (RibView::LocRib, _, None) => {
            for view in rib.loc_rib() {
                if (peer.is_none() || view.peer == peer)
                    && !push(route_report(&view, name(view.peer)))
                {
                    break;
                }
            }
        }
    }
    routes.sort_by(|left, right| {
        let key = |route: &RouteReport| {
            (
                route.prefix,
                !route.marks.is_some_and(|marks| marks.best),
                route.peer,
            )
        };
        key(left).cmp(&key(right))
    });
    Ok(RoutesReport {
        count: routes.len(),
        truncated,
        routes,
    })
}

fn route_report(view: &RouteView<'_>, peer: Option<IpAddr>) -> RouteReport {
    RouteReport {
        prefix: view.prefix,
        peer,
        marks: Some(Marks {
            path_id: view.path_id,
            best: view.best,
            multipath: view.multipath,
            stale: view.stale,
            long_lived_stale: view.long_lived_stale,
        }),
        next_hop: view.attributes.next_hop(),
        attributes: attributes_object(&view.attributes.to_path_attributes()),
    }
}

/// The longest prefix of the Loc-RIB holding `address`, if any.
fn longest_match(rib: &Rib, address: IpAddr) -> Option<IpNet> {
    let longest = if address.is_ipv4() { 32 } else { 128 };
    (0..=longest)
        .rev()
        .filter_map(|length| IpNet::new(address, length).ok().map(|net| net.trunc()))
        .find(|prefix| rib.lookup(*prefix).next().is_some())
}

fn advertised_report(
    prefix: IpNet,
    peer: Option<IpAddr>,
    attributes: &bgp_rib::Attributes,
) -> RouteReport {
    RouteReport {
        prefix,
        peer,
        marks: None,
        next_hop: attributes.next_hop(),
        attributes: attributes_object(&attributes.to_path_attributes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `nodebgp routes -o json` printed before the protocol was typed:
    /// a received route (with its marks) and an advertised one (without).
    const REPORT: &str = r#"{"count":2,"truncated":false,"routes":[{"prefix":"10.0.0.0/24","peer":"10.0.0.2","path_id":null,"best":true,"multipath":false,"stale":false,"long_lived_stale":false,"next_hop":"10.0.0.2","attributes":{"origin":"IGP","as_path":"64513","local_pref":100}},{"prefix":"10.244.1.0/24","peer":null,"next_hop":null,"attributes":{"origin":"IGP","as_path":""}}]}"#;

    #[test]
    fn the_routes_report_keeps_its_json_shape_through_the_typed_protocol() {
        let report: RoutesReport = serde_json::from_str(REPORT).unwrap();
        assert!(report.routes[0].marks.is_some_and(|marks| marks.best));
        assert_eq!(report.routes[1].marks, None);
        let line = Response::Routes(report.clone()).to_line();
        let Response::Routes(received) = serde_json::from_slice(&line).unwrap() else {
            panic!("not a routes answer: {}", String::from_utf8_lossy(&line));
        };
        assert_eq!(received, report);
        // The same text, keys in the same order.
        assert_eq!(serde_json::to_string(&received).unwrap(), REPORT);
    }
}
