//! `nodebgp routes`: the Loc-RIB, or one peer's Adj-RIB-In or Adj-RIB-Out,
//! read through the control socket. The daemon side ([`answer`]) renders
//! the RIB into one JSON line; the client side prints it as JSON or a table
//! like `birdc show route` / `vtysh show bgp ipv4`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use bgp_rib::{PeerId, Rib, RouteView};
use ipnet::IpNet;
use serde_json::{json, Map, Value};

use crate::decode::json::attributes_object;

/// Flags of `nodebgp routes`.
#[derive(Debug, clap::Args)]
pub(crate) struct RoutesArgs {
    /// Only this prefix (exact), or the routes covering this address
    /// (longest match).
    #[arg(value_name = "PREFIX|ADDRESS")]
    prefix: Option<String>,
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
    let request = json!({"command": "refresh", "peer": arguments.peer.to_string()});
    let answer = super::control::request_with(&arguments.control_socket, request)?;
    if let Some(error) = answer.get("error").and_then(Value::as_str) {
        bail!("{error}");
    }
    println!("asked {} for its routes again", arguments.peer);
    Ok(())
}

/// Asks the daemon and prints its answer.
pub(crate) fn print_routes(arguments: &RoutesArgs) -> Result<()> {
    let view = match (arguments.received, arguments.advertised) {
        (true, _) => "received",
        (_, true) => "advertised",
        _ => "loc-rib",
    };
    let request = json!({
        "command": "routes",
        "view": view,
        "peer": arguments.peer.map(|peer| peer.to_string()),
        "prefix": arguments.prefix,
    });
    let answer = super::control::request_with(&arguments.control_socket, request)?;
    if let Some(error) = answer.get("error").and_then(Value::as_str) {
        bail!("{error}");
    }
    match arguments.output {
        Format::Json => println!("{}", serde_json::to_string_pretty(&answer)?),
        Format::Table => print_table(&answer),
    }
    Ok(())
}

fn print_table(answer: &Value) {
    let empty = Vec::new();
    let routes = answer["routes"].as_array().unwrap_or(&empty);
    println!(
        "{:<2} {:<20} {:<18} {:<24} {:>6} {:>6}  AS path",
        "", "Prefix", "Peer", "Next hop", "LPref", "MED"
    );
    for route in routes {
        let marks = format!(
            "{}{}",
            if route["best"] == true {
                ">"
            } else if route["multipath"] == true {
                "="
            } else {
                "*"
            },
            // L: long-lived stale (RFC 9494), least preferred; S: stale.
            if route["long_lived_stale"] == true {
                "L"
            } else if route["stale"] == true {
                "S"
            } else {
                ""
            }
        );
        let attributes = &route["attributes"];
        let text = |value: &Value| match value {
            Value::Null => String::new(),
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        println!(
            "{:<2} {:<20} {:<18} {:<24} {:>6} {:>6}  {} {}",
            marks,
            text(&route["prefix"]),
            route["peer"].as_str().unwrap_or("local"),
            text(&route["next_hop"]),
            text(&attributes["local_pref"]),
            text(&attributes["med"]),
            text(&attributes["as_path"]),
            text(&attributes["origin"]),
        );
    }
    println!(
        "{} routes{}",
        routes.len(),
        if answer["truncated"] == true {
            " (truncated)"
        } else {
            ""
        }
    );
}

/// At most this many routes in one answer: a full table is inspected
/// prefix by prefix, not printed whole over the control socket.
const MOST_ROUTES: usize = 100_000;

/// The daemon's answer to `{"command":"routes", "view", "peer", "prefix"}`.
pub(crate) fn answer(rib: &Rib, peers: &HashMap<u32, IpAddr>, request: &Value) -> String {
    match render(rib, peers, request) {
        Ok(value) => value.to_string(),
        Err(error) => json!({"error": format!("{error:#}")}).to_string(),
    }
}

fn render(rib: &Rib, peers: &HashMap<u32, IpAddr>, request: &Value) -> Result<Value> {
    let peer = match request["peer"].as_str() {
        Some(text) => {
            let address: IpAddr = text
                .parse()
                .with_context(|| format!("peer '{text}' is not an address"))?;
            let number = peers
                .iter()
                .find(|(_, peer)| **peer == address)
                .map(|(number, _)| PeerId(*number))
                .with_context(|| format!("{address} is not a peer of this node"))?;
            Some(number)
        }
        None => None,
    };
    let wanted = Selection::parse(request["prefix"].as_str())?;
    let name = |peer: Option<PeerId>| match peer {
        None => Value::Null,
        Some(id) => peers
            .get(&id.0)
            .map_or(Value::Null, |address| json!(address.to_string())),
    };
    let mut routes = Vec::new();
    let mut truncated = false;
    let mut push = |value: Value| {
        if routes.len() < MOST_ROUTES {
            routes.push(value);
        } else {
            truncated = true;
        }
    };
    match (request["view"].as_str().unwrap_or("loc-rib"), peer) {
        ("advertised", Some(peer)) => {
            let matching = wanted.filter(rib.advertised(peer).map(|(prefix, _)| prefix));
            for (prefix, attributes) in rib.advertised(peer) {
                if matching.contains(&prefix) {
                    push(json!({
                        "prefix": prefix.to_string(),
                        "peer": name(Some(peer)),
                        "next_hop": attributes.next_hop().map(|address| address.to_string()),
                        "attributes": Value::Object(attributes_object(&attributes.to_path_attributes())),
                    }));
                }
            }
        }
        ("received", Some(peer)) => {
            let matching = wanted.filter(rib.received(peer).map(|view| view.prefix));
            for view in rib.received(peer) {
                if matching.contains(&view.prefix) {
                    push(route_value(&view, name(view.peer)));
                }
            }
        }
        ("loc-rib", _) => {
            let matching = wanted.filter(rib.loc_rib().map(|view| view.prefix));
            for view in rib.loc_rib() {
                if matching.contains(&view.prefix) && (peer.is_none() || view.peer == peer) {
                    push(route_value(&view, name(view.peer)));
                }
            }
        }
        (other, _) => bail!("unknown view '{other}' (loc-rib, or received/advertised with a peer)"),
    }
    routes.sort_by(|left, right| {
        let key = |value: &Value| {
            (
                value["prefix"]
                    .as_str()
                    .and_then(|text| text.parse::<IpNet>().ok()),
                value["best"] != true,
                value["peer"].as_str().map(str::to_owned),
            )
        };
        key(left).cmp(&key(right))
    });
    let mut answer = Map::new();
    answer.insert("count".into(), json!(routes.len()));
    answer.insert("truncated".into(), json!(truncated));
    answer.insert("routes".into(), Value::Array(routes));
    Ok(Value::Object(answer))
}

fn route_value(view: &RouteView<'_>, peer: Value) -> Value {
    json!({
        "prefix": view.prefix.to_string(),
        "peer": peer,
        "path_id": view.path_id,
        "best": view.best,
        "multipath": view.multipath,
        "stale": view.stale,
        "long_lived_stale": view.long_lived_stale,
        "next_hop": view.attributes.next_hop().map(|address| address.to_string()),
        "attributes": Value::Object(attributes_object(&view.attributes.to_path_attributes())),
    })
}

/// Which prefixes a request asks for.
enum Selection {
    All,
    Exact(IpNet),
    /// The most specific prefixes covering an address.
    Covering(IpAddr),
}

impl Selection {
    fn parse(text: Option<&str>) -> Result<Selection> {
        let Some(text) = text else {
            return Ok(Selection::All);
        };
        if let Ok(prefix) = text.parse::<IpNet>() {
            return Ok(Selection::Exact(prefix.trunc()));
        }
        match text.parse::<IpAddr>() {
            Ok(address) => Ok(Selection::Covering(address)),
            Err(_) => bail!("'{text}' is neither a prefix nor an address"),
        }
    }

    /// The selected prefixes among `prefixes`.
    fn filter(&self, prefixes: impl Iterator<Item = IpNet>) -> PrefixSet {
        match self {
            Selection::All => PrefixSet::All,
            Selection::Exact(prefix) => PrefixSet::One(*prefix),
            Selection::Covering(address) => prefixes
                .filter(|prefix| prefix.contains(address))
                .max_by_key(IpNet::prefix_len)
                .map_or(PrefixSet::None, PrefixSet::One),
        }
    }
}

enum PrefixSet {
    All,
    One(IpNet),
    None,
}

impl PrefixSet {
    fn contains(&self, prefix: &IpNet) -> bool {
        match self {
            PrefixSet::All => true,
            PrefixSet::One(one) => one == prefix,
            PrefixSet::None => false,
        }
    }
}
