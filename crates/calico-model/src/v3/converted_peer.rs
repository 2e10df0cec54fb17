//! A v1 `bgpPeer` as the Calico v3 `BGPPeer` Calico's own v1→v3 upgrade makes
//! of it, so that a v1 peer written into a cluster whose datastore is etcd v3
//! is a peer calico-node reads too.
//!
//! Calico's upgrade (libcalico-go's `upgrade/converters`, `calicoctl convert`)
//! names the v3 resource after the peer's address, with the node's name in
//! front for a node-scoped peer:
//!
//! - global `10.0.0.1` → `10-0-0-1`
//! - node `node1`, `aa:bb::ff` → `node1.00aa-00bb-0000-0000-0000-0000-0000-00ff`
//!   (an IPv6 address as its eight groups, each four hex digits)
//!
//! and a v1 node name becomes a v3 one as `ConvertNodeName` does: lower case,
//! `/` as `.`, other characters a DNS name cannot hold as `-`. The spec holds
//! `node` (node scope), `peerIP` and `asNumber`: nothing Calico would read
//! differently from what the v1 resource said.
//!
//! What marks the document as a v1 peer, for nodebgp's `get bgppeer` to show
//! it in the form it was written, is one annotation ([`V1_PEER_ANNOTATION`]:
//! Calico's components ignore annotations they do not know) whose value is
//! the v1 scope as written, so that a node name the conversion changed
//! (`Rack1_Host1` → `rack1-host1`) reads back unchanged. A document with
//! anything else in its spec is a v3 BGPPeer, annotation or not: someone
//! changed it as one.

use std::net::IpAddr;

use serde_json::{json, Map, Value};

use crate::model::{BgpPeer, NodeName, PeerKey, Scope};
use crate::v3::{ResourceName, API_VERSION_V3};
use bgp_wire::Asn;

/// The annotation nodebgp puts on a v1 peer it stores as a v3 BGPPeer: its
/// value is `global`, or `node/<the v1 node name as written>`.
pub const V1_PEER_ANNOTATION: &str = "nodebgp.io/v1-bgppeer";

/// The spec fields of a converted peer; a document with others is a v3 peer.
const CONVERTED_SPEC_FIELDS: &[&str] = &["node", "peerIP", "asNumber"];

/// A v1 node name as a v3 one, as Calico's upgrade converts it
/// (`ConvertNodeName`): lower case; `/` becomes `.`; each run of characters a
/// DNS-1123 name cannot hold becomes one `-`; a run of `.` and `-` that holds
/// a `.` becomes one `.`; no `.` or `-` at either end.
pub fn convert_node_name(name: &str) -> String {
    let lowered = name.to_ascii_lowercase().replace('/', ".");
    let mut replaced = String::with_capacity(lowered.len());
    let mut in_bad_run = false;
    for character in lowered.chars() {
        let allowed = character.is_ascii_lowercase()
            || character.is_ascii_digit()
            || character == '-'
            || character == '.';
        if allowed {
            replaced.push(character);
            in_bad_run = false;
        } else if !in_bad_run {
            replaced.push('-');
            in_bad_run = true;
        }
    }
    // Collapse runs of separators: a run with a dot is one dot (a label
    // boundary), a run of dashes stays as it is.
    let mut collapsed = String::with_capacity(replaced.len());
    let mut run = String::new();
    let flush = |run: &mut String, collapsed: &mut String| {
        if run.contains('.') {
            collapsed.push('.');
        } else {
            collapsed.push_str(run);
        }
        run.clear();
    };
    for character in replaced.chars() {
        if character == '.' || character == '-' {
            run.push(character);
        } else {
            flush(&mut run, &mut collapsed);
            collapsed.push(character);
        }
    }
    flush(&mut run, &mut collapsed);
    collapsed.trim_matches(|c| c == '.' || c == '-').to_owned()
}

/// An address as a resource name: IPv4's dots as dashes, IPv6 as its eight
/// groups of four hex digits joined by dashes (`ConvertIpToName`).
pub fn address_name(address: IpAddr) -> String {
    match address {
        IpAddr::V4(address) => address.to_string().replace('.', "-"),
        IpAddr::V6(address) => address
            .segments()
            .iter()
            .map(|segment| format!("{segment:04x}"))
            .collect::<Vec<_>>()
            .join("-"),
    }
}

/// The name Calico's upgrade gives the v3 BGPPeer of this v1 peer. A port
/// (which v1 peers in Calico never had; nodebgp's v1 form allows one, as
/// confd's flattened keys do) adds `-port-<n>`. `None` when the name would not
/// be a valid resource name, which a valid v1 node name (at most 128
/// characters) cannot make.
pub fn converted_name(key: &PeerKey) -> Option<ResourceName> {
    let mut address = address_name(key.peer_address);
    if let Some(port) = key.peer_port {
        address.push_str(&format!("-port-{port}"));
    }
    let name = match &key.scope {
        Scope::Global => address,
        Scope::Node(node) => {
            let node = convert_node_name(node.as_str());
            if node.is_empty() {
                address
            } else {
                format!("{node}.{address}")
            }
        }
    };
    ResourceName::new(name).ok()
}

/// The v3 BGPPeer document (Calico's JSON, as its etcd backend stores it) of
/// a v1 peer, `None` when the peer has no valid converted name.
pub fn to_v3_document(peer: &BgpPeer) -> Option<Value> {
    let name = converted_name(&peer.key())?;
    let scope = match &peer.scope {
        Scope::Global => "global".to_owned(),
        Scope::Node(node) => format!("node/{node}"),
    };
    let mut spec = Map::new();
    if let Scope::Node(node) = &peer.scope {
        spec.insert(
            "node".to_owned(),
            Value::String(convert_node_name(node.as_str())),
        );
    }
    spec.insert("peerIP".to_owned(), Value::String(peer.peer_ip()));
    spec.insert("asNumber".to_owned(), json!(peer.as_number.0));
    Some(json!({
        "kind": "BGPPeer",
        "apiVersion": API_VERSION_V3,
        "metadata": {
            "name": name.as_str(),
            "annotations": { V1_PEER_ANNOTATION: scope },
        },
        "spec": spec,
    }))
}

/// The v1 peer a stored v3 BGPPeer document holds, `None` when it is a v3
/// peer: no [`V1_PEER_ANNOTATION`], a spec with more than a converted peer
/// has, or a name or node that is not the conversion of the annotated v1
/// peer.
pub fn from_v3_document(name: &str, document: &Value) -> Option<BgpPeer> {
    let scope_text = document
        .get("metadata")?
        .get("annotations")?
        .get(V1_PEER_ANNOTATION)?
        .as_str()?;
    let spec = document.get("spec")?.as_object()?;
    if spec
        .keys()
        .any(|field| !CONVERTED_SPEC_FIELDS.contains(&field.as_str()))
    {
        return None;
    }
    let scope = match scope_text {
        "global" => Scope::Global,
        other => Scope::Node(NodeName::new(other.strip_prefix("node/")?).ok()?),
    };
    let spec_node = spec.get("node").and_then(Value::as_str);
    let expected_node = match &scope {
        Scope::Global => None,
        Scope::Node(node) => Some(convert_node_name(node.as_str())),
    };
    if spec_node != expected_node.as_deref() {
        return None;
    }
    let (peer_address, peer_port) =
        crate::model::parse_peer_ip(spec.get("peerIP")?.as_str()?).ok()?;
    let as_number = Asn(u32::try_from(spec.get("asNumber")?.as_u64()?).ok()?);
    let peer = BgpPeer {
        scope,
        peer_address,
        peer_port,
        as_number,
    };
    (converted_name(&peer.key())?.as_str() == name).then_some(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(scope: Scope, peer_ip: &str) -> PeerKey {
        let (peer_address, peer_port) = crate::model::parse_peer_ip(peer_ip).unwrap();
        PeerKey {
            scope,
            peer_address,
            peer_port,
        }
    }

    fn node(name: &str) -> Scope {
        Scope::Node(NodeName::new(name).unwrap())
    }

    #[test]
    fn names_follow_calicos_upgrade() {
        let name = |key: PeerKey| converted_name(&key).unwrap().as_str().to_owned();
        assert_eq!(name(key(Scope::Global, "10.0.0.1")), "10-0-0-1");
        // calicoctl convert's own documented example.
        assert_eq!(
            name(key(node("node1"), "aa:bb::ff")),
            "node1.00aa-00bb-0000-0000-0000-0000-0000-00ff"
        );
        assert_eq!(
            name(key(node("Rack1_Host1"), "192.0.2.7")),
            "rack1-host1.192-0-2-7"
        );
        assert_eq!(
            name(key(Scope::Global, "10.0.0.5:1790")),
            "10-0-0-5-port-1790"
        );
        // A v1 node name is at most 128 characters: every v1 peer has a name.
        let longest = "n".repeat(crate::model::NODE_NAME_MAX_LENGTH);
        assert!(converted_name(&key(
            node(&longest),
            "[ffff::ffff:ffff:ffff:ffff:ffff:ffff]:65535"
        ))
        .is_some());
    }

    #[test]
    fn node_names_convert_like_convert_node_name() {
        assert_eq!(convert_node_name("Node_A"), "node-a");
        assert_eq!(convert_node_name("rack/host"), "rack.host");
        assert_eq!(convert_node_name("a.-.b"), "a.b");
        assert_eq!(convert_node_name("a--b"), "a--b");
        assert_eq!(convert_node_name("-a_"), "a");
        assert_eq!(convert_node_name("a__!b"), "a-b");
    }

    #[test]
    fn documents_round_trip_and_v3_edits_stop_being_v1() {
        let peer = BgpPeer {
            scope: node("Rack1_Host1"),
            peer_address: "2001:db8::1".parse().unwrap(),
            peer_port: None,
            as_number: Asn(65546),
        };
        let document = to_v3_document(&peer).unwrap();
        assert_eq!(
            document,
            json!({
                "kind": "BGPPeer",
                "apiVersion": "projectcalico.org/v3",
                "metadata": {
                    "name": "rack1-host1.2001-0db8-0000-0000-0000-0000-0000-0001",
                    "annotations": {"nodebgp.io/v1-bgppeer": "node/Rack1_Host1"},
                },
                "spec": {"node": "rack1-host1", "peerIP": "2001:db8::1", "asNumber": 65546},
            })
        );
        let name = document["metadata"]["name"].as_str().unwrap().to_owned();
        let name = name.as_str();
        assert_eq!(from_v3_document(name, &document), Some(peer.clone()));
        // Read under another name: not this peer's conversion.
        assert_eq!(from_v3_document("other", &document), None);
        // A v3 field added (calicoctl edit): a v3 peer now.
        let mut edited = document.clone();
        edited["spec"]["keepaliveTime"] = json!("10s");
        assert_eq!(from_v3_document(name, &edited), None);
        // The node moved in v3 terms: no longer the annotated v1 peer.
        let mut moved = document.clone();
        moved["spec"]["node"] = json!("other-node");
        assert_eq!(from_v3_document(name, &moved), None);
        // No annotation: Calico's own peer.
        let mut plain = document;
        plain["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("annotations");
        assert_eq!(from_v3_document(name, &plain), None);
    }

    #[test]
    fn ports_and_global_peers_round_trip() {
        let peer = BgpPeer {
            scope: Scope::Global,
            peer_address: "10.0.0.5".parse().unwrap(),
            peer_port: Some(1790),
            as_number: Asn(4_294_967_295),
        };
        let document = to_v3_document(&peer).unwrap();
        assert_eq!(document["spec"]["peerIP"], "10.0.0.5:1790");
        assert!(document["spec"].get("node").is_none());
        assert_eq!(
            from_v3_document("10-0-0-5-port-1790", &document),
            Some(peer)
        );
    }
}
