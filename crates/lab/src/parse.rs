//! Parsers for what the daemons' CLIs print. Kept free of I/O so they can be
//! unit-tested on captured output.

use crate::{LabError, PeerState};
use ipnet::IpNet;
use serde_json::Value;
use std::net::IpAddr;

fn json(what: &str, text: &str) -> Result<Value, LabError> {
    serde_json::from_str(text.trim()).map_err(|e| LabError::Parse {
        what: what.into(),
        detail: format!("{e}; output: {}", excerpt(text)),
    })
}

pub(crate) fn excerpt(text: &str) -> String {
    let t = text.trim();
    if t.len() <= 400 {
        t.to_string()
    } else {
        let mut end = 400;
        while !t.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &t[..end])
    }
}

/// Normalises a prefix string to its canonical form (RFC 5952 for IPv6).
fn canonical(prefix: &str) -> String {
    prefix
        .parse::<IpNet>()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| prefix.to_string())
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

// ---------------------------------------------------------------- FRR

/// The neighbor object of `show bgp neighbors X json`, or None if FRR says
/// there is no such neighbor.
fn frr_neighbor(text: &str) -> Result<Option<Value>, LabError> {
    let v = json("FRR `show bgp neighbors X json`", text)?;
    if v.get("bgpNoSuchNeighbor").is_some() {
        return Ok(None);
    }
    let obj = v
        .as_object()
        .and_then(|o| o.values().find(|n| n.get("bgpState").is_some()));
    match obj {
        Some(n) => Ok(Some(n.clone())),
        None => Err(LabError::Parse {
            what: "FRR neighbor".into(),
            detail: format!("no bgpState in {}", excerpt(text)),
        }),
    }
}

/// `bgpState` of `show bgp neighbors X json`.
pub(crate) fn frr_state(text: &str) -> Result<PeerState, LabError> {
    Ok(match frr_neighbor(text)? {
        None => PeerState::NotConfigured,
        Some(n) => PeerState::from_word(n["bgpState"].as_str().unwrap_or("")),
    })
}

/// Last NOTIFICATION (sent or received) or reset reason. FRR fills
/// `lastResetDueTo` even before any session existed (e.g. while the config
/// is loaded), so it only counts once a connection was dropped.
pub(crate) fn frr_last_error(text: &str) -> Result<Option<String>, LabError> {
    let Some(n) = frr_neighbor(text)? else {
        return Ok(None);
    };
    let reset = n.get("lastResetDueTo").and_then(Value::as_str);
    let dropped = n
        .get("connectionsDropped")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if let Some(reason) = n.get("lastNotificationReason").and_then(Value::as_str) {
        let code = n
            .get("lastErrorCodeSubcode")
            .and_then(Value::as_str)
            .unwrap_or("");
        let mut s = reason.to_string();
        if !code.is_empty() {
            s.push_str(&format!(" (code/subcode {code})"));
        }
        if let Some(r) = reset {
            s.push_str(&format!("; reset due to: {r}"));
        }
        return Ok(Some(s));
    }
    Ok(if dropped > 0 {
        reset.map(str::to_string)
    } else {
        None
    })
}

/// Sum of `acceptedPrefixCounter` over the families in `show bgp neighbors
/// X json` (0 for an unknown neighbor).
pub(crate) fn frr_accepted_count(text: &str) -> Result<u64, LabError> {
    let Some(n) = frr_neighbor(text)? else {
        return Ok(0);
    };
    Ok(n.get("addressFamilyInfo")
        .and_then(Value::as_object)
        .map(|afs| {
            afs.values()
                .filter_map(|af| af.get("acceptedPrefixCounter").and_then(Value::as_u64))
                .sum()
        })
        .unwrap_or(0))
}

/// Sum of `pfxRcd` over the peers of `show bgp ipv4 unicast summary json`
/// (the accepted count, as `acceptedPrefixCounter`); 0 without peers.
pub(crate) fn frr_summary_received_total(text: &str) -> Result<u64, LabError> {
    let v = json("FRR `summary json`", text)?;
    Ok(v.get("peers")
        .and_then(Value::as_object)
        .map(|peers| {
            peers
                .values()
                .filter_map(|peer| peer.get("pfxRcd").and_then(Value::as_u64))
                .sum()
        })
        .unwrap_or(0))
}

/// Keys of `"routes"` in `show bgp <afi> unicast neighbors X routes json`;
/// a `"warning"` (family not active for that neighbor) means none.
pub(crate) fn frr_routes(text: &str) -> Result<Vec<String>, LabError> {
    let v = json("FRR `neighbors X routes json`", text)?;
    if v.get("warning").is_some() {
        return Ok(Vec::new());
    }
    let routes = v
        .get("routes")
        .and_then(Value::as_object)
        .ok_or_else(|| LabError::Parse {
            what: "FRR routes".into(),
            detail: format!("no \"routes\" object in {}", excerpt(text)),
        })?;
    Ok(sorted(routes.keys().map(|k| canonical(k)).collect()))
}

// ---------------------------------------------------------------- GoBGP

/// `session_state` of the neighbor in `gobgp neighbor -j` (a number; zero
/// values are omitted from the JSON).
pub(crate) fn gobgp_state(text: &str, peer: IpAddr) -> Result<PeerState, LabError> {
    let v = json("`gobgp neighbor -j`", text)?;
    let list = v.as_array().cloned().unwrap_or_default();
    for n in list {
        let addr = n
            .pointer("/state/neighbor_address")
            .or_else(|| n.pointer("/conf/neighbor_address"))
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<IpAddr>().ok());
        if addr != Some(peer) {
            continue;
        }
        let s = n
            .pointer("/state/session_state")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        return Ok(match s {
            2 => PeerState::Connect,
            3 => PeerState::Active,
            4 => PeerState::OpenSent,
            5 => PeerState::OpenConfirm,
            6 => PeerState::Established,
            _ => PeerState::Idle,
        });
    }
    Ok(PeerState::NotConfigured)
}

/// Sum of `afi_safis[].state.accepted` of the neighbor in `gobgp neighbor
/// -j` (omitted while zero).
pub(crate) fn gobgp_accepted_count(text: &str, peer: IpAddr) -> Result<u64, LabError> {
    let v = json("`gobgp neighbor -j`", text)?;
    for n in v.as_array().map(Vec::as_slice).unwrap_or_default() {
        let addr = n
            .pointer("/state/neighbor_address")
            .or_else(|| n.pointer("/conf/neighbor_address"))
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<IpAddr>().ok());
        if addr == Some(peer) {
            return Ok(n
                .get("afi_safis")
                .and_then(Value::as_array)
                .map(|afs| {
                    afs.iter()
                        .filter_map(|af| af.pointer("/state/accepted").and_then(Value::as_u64))
                        .sum()
                })
                .unwrap_or(0));
        }
    }
    Ok(0)
}

/// Sum of `afi_safis[].state.accepted` over every neighbor of `gobgp
/// neighbor -j`.
pub(crate) fn gobgp_accepted_total(text: &str) -> Result<u64, LabError> {
    let v = json("`gobgp neighbor -j`", text)?;
    Ok(v.as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.get("afi_safis").and_then(Value::as_array))
        .flatten()
        .filter_map(|af| af.pointer("/state/accepted").and_then(Value::as_u64))
        .sum())
}

/// Prefixes of `gobgp global rib -a AFI -j` with a path learned from
/// `peer` (`"neighbor-ip"`). The Loc-RIB, not `adj-in`: adj-in also keeps
/// paths GoBGP rejected, e.g. its own prefix reflected back with its AS in
/// the path (and answers `{"error": "... not established"}` without a session).
pub(crate) fn gobgp_rib_from(text: &str, peer: IpAddr) -> Result<Vec<String>, LabError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let v = json("`gobgp global rib -j`", text)?;
    let Some(o) = v.as_object() else {
        return Err(LabError::Parse {
            what: "gobgp global rib".into(),
            detail: excerpt(text),
        });
    };
    let from_peer = |paths: &Value| {
        paths.as_array().is_some_and(|ps| {
            ps.iter().any(|p| {
                p.get("neighbor-ip")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<IpAddr>().ok())
                    == Some(peer)
            })
        })
    };
    Ok(sorted(
        o.iter()
            .filter(|(_, paths)| from_peer(paths))
            .map(|(k, _)| canonical(k))
            .collect(),
    ))
}

/// Value of a logrus `key=value` or `key="quoted value"` field.
fn logrus_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!(" {key}=");
    let start = line.find(&pat)? + pat.len();
    let rest = &line[start..];
    if let Some(q) = rest.strip_prefix('"') {
        let mut end = 0;
        let bytes = q.as_bytes();
        while end < bytes.len() {
            if bytes[end] == b'\\' {
                end += 2;
                continue;
            }
            if bytes[end] == b'"' {
                break;
            }
            end += 1;
        }
        Some(&q[..end.min(q.len())])
    } else {
        Some(rest.split_whitespace().next().unwrap_or(""))
    }
}

/// The last problem gobgpd logged for `peer` (plain logrus format, `-p`):
/// the reason of the last "Peer Down", or the last warning/error line about
/// that peer (e.g. a received NOTIFICATION, a treated-as-withdraw UPDATE).
pub(crate) fn gobgp_last_error(log: &str, peer: IpAddr) -> Option<String> {
    let mut last = None;
    for line in log.lines() {
        let Some(key) = logrus_field(line, "Key") else {
            continue;
        };
        if key.parse::<IpAddr>().ok() != Some(peer) {
            continue;
        }
        let msg = logrus_field(line, "msg").unwrap_or("");
        let level = logrus_field(line, "level").unwrap_or("");
        if msg == "Peer Down" {
            last = Some(match logrus_field(line, "Reason") {
                Some(r) => format!("Peer Down: {r}"),
                None => "Peer Down".to_string(),
            });
        } else if matches!(level, "warning" | "error" | "fatal") {
            let mut s = msg.to_string();
            for f in ["Code", "Subcode", "Error", "Data"] {
                if let Some(v) = logrus_field(line, f) {
                    if !v.is_empty() && v != "[]" {
                        s.push_str(&format!(" {f}={v}"));
                    }
                }
            }
            last = Some(s);
        }
    }
    last
}

// ---------------------------------------------------------------- BIRD

/// Drops birdc's greeting line ("BIRD 2.0.12 ready.").
fn bird_body(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|l| !(l.starts_with("BIRD ") && l.trim_end().ends_with("ready.")))
}

/// `BGP state:` of `birdc show protocols all pN`.
pub(crate) fn bird_state(text: &str) -> Result<PeerState, LabError> {
    for l in bird_body(text) {
        if let Some(v) = l.trim().strip_prefix("BGP state:") {
            return Ok(PeerState::from_word(v));
        }
    }
    // A protocol shut down (e.g. after an error) prints no BGP state line;
    // the summary line then says "down".
    if bird_body(text).any(|l| l.split_whitespace().nth(3) == Some("down")) {
        return Ok(PeerState::Idle);
    }
    Err(LabError::Parse {
        what: "birdc show protocols all".into(),
        detail: format!("no 'BGP state:' line in {}", excerpt(text)),
    })
}

/// `Last error:` of `birdc show protocols all pN`.
pub(crate) fn bird_last_error(text: &str) -> Option<String> {
    bird_body(text).find_map(|l| {
        l.trim()
            .strip_prefix("Last error:")
            .map(|v| v.trim().to_string())
    })
}

/// The last error-like line BIRD logged for protocol `proto` (the config
/// turns on `debug protocols { states, events }`). BIRD leaves `Last error`
/// empty when it treats a failure as the neighbor's graceful restart, e.g.
/// on hold timer expiry with a GR-capable peer.
pub(crate) fn bird_log_error(log: &str, proto: &str) -> Option<String> {
    let tag = format!(" {proto}: ");
    log.lines()
        .rev()
        .filter_map(|l| l.find(&tag).map(|i| l[i + tag.len()..].trim()))
        .find(|m| {
            [
                "Error",
                "error",
                "expired",
                "Received:",
                "refused",
                "timed out",
                "Cannot",
            ]
            .iter()
            .any(|k| m.contains(k))
        })
        .map(str::to_string)
}

/// Sum of `Routes: N imported` over the channels in `birdc show protocols
/// all pN`.
pub(crate) fn bird_imported_count(text: &str) -> u64 {
    bird_body(text)
        .filter_map(|l| l.trim().strip_prefix("Routes:"))
        .filter_map(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Sum of `Routes: N imported` over the BGP protocols of `birdc show
/// protocols all` (a protocol's block starts with an unindented line whose
/// second word is its type; `kernel`, `direct` and `static` ones import
/// routes that came from no neighbor).
pub(crate) fn bird_bgp_imported_total(text: &str) -> u64 {
    let mut in_bgp = false;
    let mut total = 0;
    for line in bird_body(text) {
        if !line.starts_with(char::is_whitespace) && !line.trim().is_empty() {
            in_bgp = line.split_whitespace().nth(1) == Some("BGP");
            continue;
        }
        if in_bgp {
            if let Some(value) = line.trim().strip_prefix("Routes:") {
                total += value
                    .split_whitespace()
                    .next()
                    .and_then(|count| count.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    total
}

/// Prefixes in `birdc show route protocol pN`: a route line starts with the
/// prefix in column 0; further paths of the same prefix are indented.
pub(crate) fn bird_routes(text: &str) -> Vec<String> {
    sorted(
        bird_body(text)
            .filter(|l| !l.starts_with(char::is_whitespace) && !l.starts_with("Table "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| w.parse::<IpNet>().is_ok())
            .map(canonical)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_sum_every_neighbor() {
        let frr = r#"{"routerId":"1.1.1.1","peers":{"127.0.0.2":{"pfxRcd":10},"127.0.0.3":{"pfxRcd":5,"state":"Established"}}}"#;
        assert_eq!(frr_summary_received_total(frr).unwrap(), 15);
        assert_eq!(frr_summary_received_total("{}").unwrap(), 0);
        let gobgp = r#"[{"afi_safis":[{"state":{"accepted":7}}]},{"afi_safis":[{"state":{}},{"state":{"accepted":2}}]}]"#;
        assert_eq!(gobgp_accepted_total(gobgp).unwrap(), 9);
        let bird = "BIRD 2.0.12 ready.\nName       Proto      Table      State  Since         Info\ndevice1    Device     ---        up     03:29:02.766\n\nkernel1    Kernel     master4    up     03:29:02.766\n  Channel ipv4\n    Routes:         2 imported, 0 exported, 2 preferred\n\np0         BGP        ---        up     03:29:03.001  Established\n  Channel ipv4\n    Routes:         10000 imported, 0 exported, 10000 preferred\n";
        assert_eq!(bird_bgp_imported_total(bird), 10000);
    }

    #[test]
    fn frr_neighbor_json() {
        let t = r#"{"127.0.9.3":{"remoteAs":65003,"bgpState":"Established","connectionsDropped":0,"lastResetDueTo":"No AFI/SAFI activated for peer"}}"#;
        assert_eq!(frr_state(t).unwrap(), PeerState::Established);
        assert_eq!(frr_last_error(t).unwrap(), None);
        let t = r#"{"127.0.9.3":{"bgpState":"Idle","connectionsDropped":1,"lastErrorCodeSubcode":"0603","lastNotificationReason":"Cease/Peer De-configured","lastResetDueTo":"BGP Notification received"}}"#;
        assert_eq!(frr_state(t).unwrap(), PeerState::Idle);
        let e = frr_last_error(t).unwrap().unwrap();
        assert!(
            e.contains("Cease/Peer De-configured") && e.contains("0603"),
            "{e}"
        );
        assert_eq!(
            frr_state("{\n  \"bgpNoSuchNeighbor\":true\n}").unwrap(),
            PeerState::NotConfigured
        );
        assert!(frr_state("% Unknown command").is_err());
        let t = r#"{"::1":{"bgpState":"Established","addressFamilyInfo":{"ipv4Unicast":{"acceptedPrefixCounter":2},"ipv6Unicast":{"acceptedPrefixCounter":3}}}}"#;
        assert_eq!(frr_accepted_count(t).unwrap(), 5);
    }

    #[test]
    fn frr_routes_json() {
        let t = r#"{ "vrfId": 0, "routes": { "10.3.0.0/24": [{"valid":true}], "2001:db8:0::/48": [] } }"#;
        assert_eq!(frr_routes(t).unwrap(), vec!["10.3.0.0/24", "2001:db8::/48"]);
        assert!(
            frr_routes(r#"{ "warning": "No such neighbor or address family" }"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn gobgp_json() {
        let t = r#"[{"conf":{"neighbor_address":"127.0.9.2","peer_asn":4200000001},"state":{"neighbor_address":"127.0.9.2","session_state":6}},
                   {"conf":{"neighbor_address":"127.0.9.5"},"state":{"neighbor_address":"127.0.9.5"}}]"#;
        assert_eq!(
            gobgp_state(t, "127.0.9.2".parse().unwrap()).unwrap(),
            PeerState::Established
        );
        assert_eq!(
            gobgp_state(t, "127.0.9.5".parse().unwrap()).unwrap(),
            PeerState::Idle
        );
        assert_eq!(
            gobgp_state(t, "127.0.9.9".parse().unwrap()).unwrap(),
            PeerState::NotConfigured
        );
        let t = r#"[{"state":{"neighbor_address":"127.0.9.2"},"afi_safis":[{"state":{"accepted":7,"received":8}},{"state":{}}]}]"#;
        assert_eq!(
            gobgp_accepted_count(t, "127.0.9.2".parse().unwrap()).unwrap(),
            7
        );
        assert_eq!(
            gobgp_accepted_count(t, "127.0.9.3".parse().unwrap()).unwrap(),
            0
        );
        let rib = r#"{"10.2.0.0/24":[{"nlri":{"prefix":"10.2.0.0/24"},"best":true,"source-id":"127.225.23.1","neighbor-ip":"127.225.23.1"}],
                      "10.3.0.0/24":[{"nlri":{"prefix":"10.3.0.0/24"},"best":true,"attrs":[{"type":3,"nexthop":"0.0.0.0"}]}],
                      "10.5.0.0/24":[{"best":true,"neighbor-ip":"127.225.23.9"},{"best":false,"neighbor-ip":"127.225.23.1"}]}"#;
        assert_eq!(
            gobgp_rib_from(rib, "127.225.23.1".parse().unwrap()).unwrap(),
            vec!["10.2.0.0/24", "10.5.0.0/24"]
        );
    }

    #[test]
    fn gobgp_log() {
        let log = r#"time="2026-11-28T15:11:18Z" level=info msg="Add a peer configuration" Key=127.0.9.2 Topic=Peer
time="2026-11-28T15:11:22Z" level=warning msg="received notification" Code=6 Data="[]" Key=127.0.9.2 Subcode=3 Topic=Peer
time="2026-11-28T15:11:22Z" level=info msg="Peer Down" Key=127.0.9.2 Reason="notification-received code 6(cease) subcode 3(peer deconfigured)" State=BGP_FSM_ESTABLISHED Topic=Peer
time="2026-11-28T15:11:23Z" level=warning msg="other peer" Key=127.0.9.22 Topic=Peer"#;
        let peer: IpAddr = "127.0.9.2".parse().unwrap();
        assert_eq!(
            gobgp_last_error(log, peer).unwrap(),
            "Peer Down: notification-received code 6(cease) subcode 3(peer deconfigured)"
        );
        let first_two: String = log.lines().take(2).collect::<Vec<_>>().join("\n");
        assert_eq!(
            gobgp_last_error(&first_two, peer).unwrap(),
            "received notification Code=6 Subcode=3"
        );
        assert_eq!(gobgp_last_error(log.lines().next().unwrap(), peer), None);
    }

    #[test]
    fn bird_text() {
        let t = "BIRD 2.0.12 ready.\nName       Proto      Table      State  Since         Info\n\
p1         BGP        ---        start  15:11:57.055  Active        Socket: Connection refused\n\
  Description:    127.0.9.2\n  BGP state:          Active\n    Neighbor address: 127.0.9.2\n\
    Last error:       Socket: Connection refused\n";
        assert_eq!(bird_state(t).unwrap(), PeerState::Active);
        assert_eq!(bird_last_error(t).unwrap(), "Socket: Connection refused");
        let log = "2026-11-28 15:25:02.853 <TRACE> p1: State changed to up\n\
2026-11-28 15:25:05.554 <TRACE> p1: Hold timer expired\n\
2026-11-28 15:25:05.554 <TRACE> p11: Error: other protocol\n\
2026-11-28 15:25:05.554 <TRACE> p1: State changed to start\n";
        assert_eq!(bird_log_error(log, "p1").unwrap(), "Hold timer expired");
        assert_eq!(bird_log_error(log, "p2"), None);
        let t = "  Channel ipv4\n    Routes:         3 imported, 2 exported, 1 preferred\n  Channel ipv6\n    Routes:         4 imported, 0 exported, 0 preferred\n";
        assert_eq!(bird_imported_count(t), 7);
        let r = "BIRD 2.0.12 ready.\nTable master4:\n\
10.2.0.0/24          blackhole [p1 15:11:52.409 from 127.0.9.2] * (100/?) [AS4200000001i]\n\
                     blackhole [p2 15:11:52.409 from 127.0.9.5] (100/?) [AS65005i]\n\
Table master6:\n2001:db8:2::/48      unicast [p1 15:11:52.409] * (100) [AS1i]\n";
        assert_eq!(bird_routes(r), vec!["10.2.0.0/24", "2001:db8:2::/48"]);
        assert!(bird_routes("BIRD 2.0.12 ready.\n").is_empty());
    }
}
