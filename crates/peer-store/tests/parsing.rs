//! File layouts (multi-document, list, bgpPeerList, JSON) and printing round trips.

use peer_store::{parse_documents, to_json, to_yaml, Asn, BgpPeer, ParseError};

fn peer_ips(peers: &[BgpPeer]) -> Vec<String> {
    peers.iter().map(BgpPeer::peer_ip).collect()
}

const THREE_DOCUMENTS: &str = "\
---
apiVersion: v1
kind: bgpPeer
metadata:
  scope: global
  peerIP: 10.0.0.1
spec:
  asNumber: 64512
---
# a comment between documents
apiVersion: v1
kind: bgpPeer
metadata:
  scope: node
  node: rack1-host1
  peerIP: 2001:db8::1
spec:
  asNumber: '1.10'
---
apiVersion: v1
kind: bgpPeer
metadata: {scope: global, peerIP: '10.0.0.3:1790'}
spec: {asNumber: \"4200000001\"}
---
";

#[test]
fn several_documents_in_order() {
    let peers = parse_documents(THREE_DOCUMENTS).unwrap();
    assert_eq!(
        peer_ips(&peers),
        ["10.0.0.1", "2001:db8::1", "10.0.0.3:1790"]
    );
    assert_eq!(
        peers.iter().map(|peer| peer.as_number).collect::<Vec<_>>(),
        [Asn(64512), Asn(65546), Asn(4_200_000_001)]
    );
}

#[test]
fn yaml_list_of_resources() {
    let text = "\
- apiVersion: v1
  kind: bgpPeer
  metadata: {scope: global, peerIP: 10.0.0.1}
  spec: {asNumber: 1}
- apiVersion: v1
  kind: bgpPeer
  metadata: {scope: global, peerIP: 10.0.0.2}
  spec: {asNumber: 2}
";
    assert_eq!(
        peer_ips(&parse_documents(text).unwrap()),
        ["10.0.0.1", "10.0.0.2"]
    );
}

#[test]
fn bgp_peer_list_items() {
    let text = "\
apiVersion: v1
kind: bgpPeerList
metadata: {}
items:
- apiVersion: v1
  kind: bgpPeer
  metadata: {scope: global, peerIP: 10.0.0.1}
  spec: {asNumber: 1}
- apiVersion: v1
  kind: bgpPeer
  metadata: {scope: node, node: n1, peerIP: 10.0.0.2}
  spec: {asNumber: 2}
";
    assert_eq!(
        peer_ips(&parse_documents(text).unwrap()),
        ["10.0.0.1", "10.0.0.2"]
    );
}

#[test]
fn bgp_peer_list_must_be_v1_and_well_formed() {
    assert_eq!(
        parse_documents("apiVersion: v3\nkind: bgpPeerList\nitems: []\n")
            .unwrap_err()
            .to_string(),
        "document 1: Unknown resource type (bgpPeerList) and/or version (v3)"
    );
    assert_eq!(
        parse_documents("apiVersion: v1\nkind: bgpPeerList\nitem: []\n")
            .unwrap_err()
            .to_string(),
        "document 1: bgpPeerList: unknown field `item`, expected one of `apiVersion`, `kind`, `metadata`, `items`"
    );
}

#[test]
fn layouts_mix_and_errors_count_resources_in_file_order() {
    // Document 1 is one resource; document 2 is a list of two (resources 2 and 3);
    // document 3 is a bgpPeerList of one (resource 4). Resources 3 and 4 are bad.
    let text = "\
apiVersion: v1
kind: bgpPeer
metadata: {scope: global, peerIP: 10.0.0.1}
spec: {asNumber: 1}
---
- apiVersion: v1
  kind: bgpPeer
  metadata: {scope: global, peerIP: 10.0.0.2}
  spec: {asNumber: 2}
- apiVersion: v1
  kind: bgpPeer
  metadata: {scope: global}
  spec: {asNumber: 3}
---
apiVersion: v1
kind: bgpPeerList
items:
- apiVersion: v1
  kind: bgpPeer
  metadata: {scope: node, node: n1, peerIP: 10.0.0.4}
  spec: {asNumber: '65536.1'}
";
    assert_eq!(
        parse_documents(text).unwrap_err().to_string(),
        "document 3: insufficient identifiers, missing 'peerIP'\n\
         bgpPeer(node=n1, peerIP=10.0.0.4): error with field asNumber = '65536.1' (invalid AS Number format)"
    );
}

#[test]
fn json_inputs() {
    let object = r#"{"apiVersion": "v1", "kind": "bgpPeer",
        "metadata": {"scope": "global", "peerIP": "10.0.0.1"}, "spec": {"asNumber": 64512}}"#;
    assert_eq!(peer_ips(&parse_documents(object).unwrap()), ["10.0.0.1"]);

    let with_tabs = "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"bgpPeer\",\n\t\"metadata\": {\"scope\": \"global\", \"peerIP\": \"10.0.0.1\"},\n\t\"spec\": {\"asNumber\": \"1.10\"}\n}\n";
    assert_eq!(parse_documents(with_tabs).unwrap()[0].as_number, Asn(65546));

    let array = format!("[{object}, {}]", object.replace("10.0.0.1", "10.0.0.2"));
    assert_eq!(
        peer_ips(&parse_documents(&array).unwrap()),
        ["10.0.0.1", "10.0.0.2"]
    );

    let concatenated = format!("{object}\n{}", object.replace("10.0.0.1", "10.0.0.3"));
    assert_eq!(
        peer_ips(&parse_documents(&concatenated).unwrap()),
        ["10.0.0.1", "10.0.0.3"]
    );

    let list = format!(r#"{{"apiVersion": "v1", "kind": "bgpPeerList", "items": [{object}]}}"#);
    assert_eq!(peer_ips(&parse_documents(&list).unwrap()), ["10.0.0.1"]);

    let unknown_field = object.replace("\"asNumber\"", "\"asNum\"");
    assert_eq!(
        parse_documents(&unknown_field).unwrap_err().to_string(),
        "bgpPeer(peerIP=10.0.0.1): spec: unknown field `asNum`, expected `asNumber`"
    );

    let broken = r#"{"apiVersion": "v1", "kind": "bgpPeer""#;
    assert!(matches!(
        parse_documents(broken),
        Err(ParseError::Syntax(_))
    ));
}

#[test]
fn yaml_flow_sequence_is_not_mistaken_for_json() {
    let text = "[{apiVersion: v1, kind: bgpPeer, metadata: {scope: global, peerIP: 10.0.0.1}, spec: {asNumber: 7}}]";
    assert_eq!(parse_documents(text).unwrap()[0].as_number, Asn(7));
}

#[test]
fn empty_inputs_hold_no_resources() {
    for text in [
        "",
        "\n",
        "---\n",
        "# only a comment\n",
        "---\n---\n",
        "[]",
        "[]\n",
    ] {
        assert_eq!(parse_documents(text).unwrap(), Vec::new(), "{text:?}");
    }
}

#[test]
fn shapes_that_are_not_resources() {
    assert_eq!(
        parse_documents("just a string\n").unwrap_err().to_string(),
        "document 1: expected a resource, a list of them, or a list kind with items"
    );
    assert_eq!(
        parse_documents("- - apiVersion: v1\n")
            .unwrap_err()
            .to_string(),
        "document 1: a list item must be a resource, not another list"
    );
    assert!(matches!(
        parse_documents("apiVersion: v1\napiVersion: v1\n"),
        Err(ParseError::Syntax(_))
    ));
}

fn sample_peers() -> Vec<BgpPeer> {
    parse_documents(&format!(
        "{THREE_DOCUMENTS}\
apiVersion: v1
kind: bgpPeer
metadata: {{scope: node, node: '0123', peerIP: '[2001:db8::2]:179'}}
spec: {{asNumber: 0}}
---
apiVersion: v1
kind: bgpPeer
metadata: {{scope: node, node: 'true', peerIP: 192.168.1.1}}
spec: {{asNumber: '65535.65535'}}
"
    ))
    .unwrap()
}

#[test]
fn yaml_round_trip() {
    let peers = sample_peers();
    assert_eq!(peers.len(), 5);
    let printed = to_yaml(&peers);
    assert_eq!(parse_documents(&printed).unwrap(), peers, "{printed}");
    // asdot and decimal strings come out as plain integers.
    assert!(printed.contains("asNumber: 65546\n"), "{printed}");
    assert!(printed.contains("asNumber: 4294967295\n"), "{printed}");
    assert!(!printed.contains("1.10"), "{printed}");
}

#[test]
fn json_round_trip() {
    let peers = sample_peers();
    let printed = to_json(&peers);
    assert_eq!(parse_documents(&printed).unwrap(), peers, "{printed}");
    assert!(printed.contains("\"asNumber\": 65546"), "{printed}");
    assert!(printed.trim_start().starts_with('['), "{printed}");
}

#[test]
fn yaml_output_is_a_calicoctl_style_sequence() {
    let peers = parse_documents(
        "apiVersion: v1\nkind: bgpPeer\nmetadata: {node: rack1-host1, peerIP: '192.168.1.1', scope: node}\nspec: {asNumber: '1.10'}\n",
    )
    .unwrap();
    assert_eq!(
        to_yaml(&peers),
        "\
- apiVersion: v1
  kind: bgpPeer
  metadata:
    scope: node
    node: rack1-host1
    peerIP: 192.168.1.1
  spec:
    asNumber: 65546
"
    );
    assert_eq!(to_yaml(&[]), "[]\n");
    assert_eq!(parse_documents(&to_yaml(&[])).unwrap(), Vec::new());
}
