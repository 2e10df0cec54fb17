//! Every validation rule, with the exact error text a user sees.

use peer_store::{parse_documents, parse_keys, Asn, BgpPeer, NodeName, ParseError, Scope};

/// One bgpPeer document in flow style; `metadata` and `spec` are the mapping bodies.
fn document(metadata: &str, spec: &str) -> String {
    format!("apiVersion: v1\nkind: bgpPeer\nmetadata: {{{metadata}}}\nspec: {{{spec}}}\n")
}

fn global_peer_with_asn(as_number: &str) -> String {
    document(
        "scope: global, peerIP: 10.0.0.1",
        &format!("asNumber: {as_number}"),
    )
}

fn error_text(text: &str) -> String {
    match parse_documents(text) {
        Ok(peers) => panic!("expected an error for {text:?}, parsed {peers:?}"),
        Err(error) => error.to_string(),
    }
}

fn single_peer(text: &str) -> BgpPeer {
    let mut peers = parse_documents(text).unwrap_or_else(|error| panic!("{text:?}: {error}"));
    assert_eq!(peers.len(), 1, "{text:?}");
    peers.remove(0)
}

#[test]
fn as_numbers_accepted_in_every_notation() {
    let cases: &[(&str, u32)] = &[
        ("64512", 64512),
        ("0", 0),
        ("4294967295", u32::MAX),
        ("'64512'", 64512),
        ("\"4200000001\"", 4_200_000_001),
        ("'1.10'", 65546),
        ("'1.0'", 65536),
        ("'0.0'", 0),
        ("'00.01'", 1),
        ("'65535.65535'", u32::MAX),
        ("'64086.59905'", 4_200_000_001),
    ];
    for (written, expected) in cases {
        let peer = single_peer(&global_peer_with_asn(written));
        assert_eq!(peer.as_number, Asn(*expected), "asNumber: {written}");
    }
}

#[test]
fn as_numbers_refused_with_the_value_as_written() {
    let cases: &[(&str, &str)] = &[
        ("'65536.1'", "65536.1"),
        ("'65536.65535'", "65536.65535"),
        ("'1.1.1'", "1.1.1"),
        ("'0.-1'", "0.-1"),
        ("-1", "-1"),
        ("4294967296", "4294967296"),
        ("'4294967296'", "4294967296"),
        ("'-1'", "-1"),
        ("'+5'", "+5"),
        ("'.5'", ".5"),
        ("'1.'", "1."),
        ("'AS64512'", "AS64512"),
        ("''", ""),
        ("' 64512'", " 64512"),
        // Unquoted asdot is a YAML float: refused, as Calico refuses it.
        ("1.10", "1.1"),
        ("true", "true"),
    ];
    for (written, shown) in cases {
        assert_eq!(
            error_text(&global_peer_with_asn(written)),
            format!(
                "bgpPeer(peerIP=10.0.0.1): error with field asNumber = '{shown}' (invalid AS Number format)"
            ),
            "asNumber: {written}"
        );
    }
}

#[test]
fn node_scoped_asdot_error_names_node_and_peer() {
    assert_eq!(
        error_text(&document(
            "scope: node, node: rack1-host1, peerIP: 10.0.0.1",
            "asNumber: '65536.1'"
        )),
        "bgpPeer(node=rack1-host1, peerIP=10.0.0.1): error with field asNumber = '65536.1' (invalid AS Number format)"
    );
}

#[test]
fn valid_identities() {
    let rack = Scope::Node(NodeName::new("rack1-host1").unwrap());
    let cases: &[(&str, Scope, &str, Option<u16>)] = &[
        (
            "scope: global, peerIP: 10.0.0.1",
            Scope::Global,
            "10.0.0.1",
            None,
        ),
        (
            "scope: global, node: '', peerIP: 10.0.0.1",
            Scope::Global,
            "10.0.0.1",
            None,
        ),
        (
            "scope: node, node: rack1-host1, peerIP: 10.0.0.1",
            rack.clone(),
            "10.0.0.1",
            None,
        ),
        (
            "scope: node, node: rack1-host1, peerIP: '2001:db8::1'",
            rack.clone(),
            "2001:db8::1",
            None,
        ),
        (
            "scope: global, peerIP: '2001:DB8:0:0::1'",
            Scope::Global,
            "2001:db8::1",
            None,
        ),
        (
            "scope: global, peerIP: '10.0.0.1:1790'",
            Scope::Global,
            "10.0.0.1",
            Some(1790),
        ),
        (
            "scope: global, peerIP: '[2001:db8::1]:179'",
            Scope::Global,
            "2001:db8::1",
            Some(179),
        ),
        (
            "scope: global, peerIP: '::ffff:10.0.0.1'",
            Scope::Global,
            "10.0.0.1",
            None,
        ),
        (
            "scope: node, node: A_b.c-9, peerIP: 10.0.0.1",
            Scope::Node(NodeName::new("A_b.c-9").unwrap()),
            "10.0.0.1",
            None,
        ),
    ];
    for (metadata, scope, address, port) in cases {
        let peer = single_peer(&document(metadata, "asNumber: 64512"));
        assert_eq!(&peer.scope, scope, "{metadata}");
        assert_eq!(
            peer.peer_address,
            address.parse::<std::net::IpAddr>().unwrap(),
            "{metadata}"
        );
        assert_eq!(peer.peer_port, *port, "{metadata}");
    }
}

#[test]
fn longest_node_name_is_accepted_and_one_more_is_refused() {
    let longest = "n".repeat(128);
    let peer = single_peer(&document(
        &format!("scope: node, node: {longest}, peerIP: 10.0.0.1"),
        "asNumber: 1",
    ));
    assert_eq!(
        peer.scope.node().map(NodeName::as_str),
        Some(longest.as_str())
    );

    let too_long = "n".repeat(129);
    assert_eq!(
        error_text(&document(&format!("scope: node, node: {too_long}, peerIP: 10.0.0.1"), "asNumber: 1")),
        format!(
            "bgpPeer(node={too_long}, peerIP=10.0.0.1): error with field node = '{too_long}' (invalid node name: must match ^[a-zA-Z0-9_.-]{{1,128}}$)"
        )
    );
}

#[test]
fn metadata_rules_and_their_messages() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "scope: cluster, peerIP: 10.0.0.1",
            "asNumber: 1",
            "bgpPeer(peerIP=10.0.0.1): error with field scope = 'cluster' (must be one of: global, node)",
        ),
        (
            "scope: Global, peerIP: 10.0.0.1",
            "asNumber: 1",
            "bgpPeer(peerIP=10.0.0.1): error with field scope = 'Global' (must be one of: global, node)",
        ),
        (
            "scope: global, node: rack1-host1, peerIP: 10.0.0.1",
            "asNumber: 1",
            "bgpPeer(node=rack1-host1, peerIP=10.0.0.1): error with field node = 'rack1-host1' (no BGP Peer node name should be specified when scope is global)",
        ),
        (
            "scope: node, peerIP: 10.0.0.1",
            "asNumber: 1",
            "bgpPeer(peerIP=10.0.0.1): insufficient identifiers, missing 'node'",
        ),
        (
            "scope: node, node: '', peerIP: 10.0.0.1",
            "asNumber: 1",
            "bgpPeer(peerIP=10.0.0.1): insufficient identifiers, missing 'node'",
        ),
        (
            "peerIP: 10.0.0.1",
            "asNumber: 1",
            "bgpPeer(peerIP=10.0.0.1): insufficient identifiers, missing 'node'",
        ),
        (
            "node: rack1-host1, peerIP: 10.0.0.1",
            "asNumber: 1",
            "bgpPeer(node=rack1-host1, peerIP=10.0.0.1): insufficient identifiers, missing 'node'",
        ),
        (
            "scope: node, node: 'rack 1', peerIP: 10.0.0.1",
            "asNumber: 1",
            "bgpPeer(node=rack 1, peerIP=10.0.0.1): error with field node = 'rack 1' (invalid node name: must match ^[a-zA-Z0-9_.-]{1,128}$)",
        ),
        (
            "scope: node, node: rack/1, peerIP: 10.0.0.1",
            "asNumber: 1",
            "bgpPeer(node=rack/1, peerIP=10.0.0.1): error with field node = 'rack/1' (invalid node name: must match ^[a-zA-Z0-9_.-]{1,128}$)",
        ),
        (
            "scope: global",
            "asNumber: 1",
            "document 1: insufficient identifiers, missing 'peerIP'",
        ),
        (
            "scope: global, peerIP: ''",
            "asNumber: 1",
            "document 1: insufficient identifiers, missing 'peerIP'",
        ),
        (
            "scope: global, peerIP: 10.0.0",
            "asNumber: 1",
            "bgpPeer(peerIP=10.0.0): error with field peerIP = '10.0.0' (invalid IP address)",
        ),
        (
            "scope: global, peerIP: 10.0.0.0/24",
            "asNumber: 1",
            "bgpPeer(peerIP=10.0.0.0/24): error with field peerIP = '10.0.0.0/24' (invalid IP address)",
        ),
        (
            "scope: global, peerIP: rack1-host1",
            "asNumber: 1",
            "bgpPeer(peerIP=rack1-host1): error with field peerIP = 'rack1-host1' (invalid IP address)",
        ),
        (
            "scope: global, peerIP: '10.0.0.1:0'",
            "asNumber: 1",
            "bgpPeer(peerIP=10.0.0.1:0): error with field peerIP = '10.0.0.1:0' (port must be between 1 and 65535)",
        ),
        (
            "scope: global, peerIP: '10.0.0.1:65536'",
            "asNumber: 1",
            "bgpPeer(peerIP=10.0.0.1:65536): error with field peerIP = '10.0.0.1:65536' (invalid IP address)",
        ),
        (
            "scope: global, peerIP: '[fe80::1%2]:179'",
            "asNumber: 1",
            "bgpPeer(peerIP=[fe80::1%2]:179): error with field peerIP = '[fe80::1%2]:179' (IPv6 zone is not allowed)",
        ),
        (
            "scope: global, peerIP: 'fe80::1%eth0'",
            "asNumber: 1",
            "bgpPeer(peerIP=fe80::1%eth0): error with field peerIP = 'fe80::1%eth0' (invalid IP address)",
        ),
        (
            "scope: global, peerIP: 10.0.0.1",
            "",
            "bgpPeer(peerIP=10.0.0.1): error with field asNumber (required)",
        ),
        (
            "scope: global, peerIP: 10.0.0.1",
            "asNumber: ~",
            "bgpPeer(peerIP=10.0.0.1): error with field asNumber (required)",
        ),
    ];
    for (metadata, spec, expected) in cases {
        assert_eq!(
            &error_text(&document(metadata, spec)),
            expected,
            "{metadata} / {spec}"
        );
    }
}

#[test]
fn several_bad_fields_are_reported_together() {
    assert_eq!(
        error_text(&document(
            "scope: cluster, node: 'a b', peerIP: 300.1.1.1",
            "asNumber: '1.1.1'"
        )),
        "bgpPeer(node=a b, peerIP=300.1.1.1): error with the following fields:\n\
         -  scope = 'cluster' (must be one of: global, node)\n\
         -  node = 'a b' (invalid node name: must match ^[a-zA-Z0-9_.-]{1,128}$)\n\
         -  peerIP = '300.1.1.1' (invalid IP address)\n\
         -  asNumber = '1.1.1' (invalid AS Number format)"
    );
}

#[test]
fn kinds_are_case_insensitive_and_the_version_must_match() {
    // As on the command line, a kind in any case is the kind its apiVersion
    // defines.
    for kind in ["bgpPeer", "BGPPeer", "bgppeer", "BgpPeer"] {
        let text = format!(
            "apiVersion: v1\nkind: {kind}\nmetadata: {{scope: global, peerIP: 10.0.0.1}}\nspec: {{asNumber: 1}}\n"
        );
        assert_eq!(
            single_peer(&text).peer_address.to_string(),
            "10.0.0.1",
            "{kind}"
        );
    }
    let cases: &[(&str, &str, &str)] = &[
        (
            "projectcalico.org/v3",
            "bgpPeer",
            "document 1: Unknown resource type (BGPPeer) and/or version (projectcalico.org/v3)",
        ),
        (
            "v1",
            "ipPool",
            "document 1: Unknown resource type (ipPool) and/or version (v1)",
        ),
        (
            "v2",
            "bgpPeer",
            "document 1: Unknown resource type (bgpPeer) and/or version (v2)",
        ),
    ];
    for (api_version, kind, expected) in cases {
        let text = format!(
            "apiVersion: {api_version}\nkind: {kind}\nmetadata: {{scope: global, peerIP: 10.0.0.1}}\nspec: {{asNumber: 1}}\n"
        );
        assert_eq!(&error_text(&text), expected);
    }
}

#[test]
fn unknown_fields_are_refused_by_name() {
    let cases: &[(&str, &str)] = &[
        (
            "apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIP: 10.0.0.1, name: x}\nspec: {asNumber: 1}\n",
            "bgpPeer(peerIP=10.0.0.1): metadata: unknown field `name`, expected one of `scope`, `node`, `peerIP`",
        ),
        (
            // v1's old spelling of the node field.
            "apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: node, hostname: h, peerIP: 10.0.0.1}\nspec: {asNumber: 1}\n",
            "bgpPeer(peerIP=10.0.0.1): metadata: unknown field `hostname`, expected one of `scope`, `node`, `peerIP`",
        ),
        (
            "apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIP: 10.0.0.1}\nspec: {asNumber: 1, password: s}\n",
            "bgpPeer(peerIP=10.0.0.1): spec: unknown field `password`, expected `asNumber`",
        ),
        (
            "apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIP: 10.0.0.1}\nspec: {asNumber: 1}\nstatus: {}\n",
            "bgpPeer(peerIP=10.0.0.1): unknown field `status`, expected one of `apiVersion`, `kind`, `metadata`, `spec`",
        ),
        (
            "apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIP: [10.0.0.1]}\nspec: {asNumber: 1}\n",
            "document 1: metadata.peerIP: invalid type: sequence, expected a string",
        ),
        (
            "apiVersion: v1\nmetadata: {scope: global, peerIP: 10.0.0.1}\nspec: {asNumber: 1}\n",
            "document 1: missing field `kind`",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(&error_text(text), expected);
    }
}

#[test]
fn syntax_errors_are_not_document_errors() {
    let error = parse_documents("apiVersion: v1\nkind: [bgpPeer\n").unwrap_err();
    assert!(matches!(error, ParseError::Syntax(_)), "{error:?}");
    assert!(error.to_string().contains("line"), "{error}");
}

#[test]
fn deleting_by_file_needs_only_the_identity() {
    let without_asn = document("scope: node, node: rack1-host1, peerIP: 10.0.0.1", "");
    let keys = parse_keys(&without_asn).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        keys[0].to_string(),
        "BGPPeer(node=rack1-host1, ip=10.0.0.1)"
    );
    // ...but what is there must still be valid.
    assert_eq!(
        parse_keys(&global_peer_with_asn("'65536.1'")).unwrap_err().to_string(),
        "bgpPeer(peerIP=10.0.0.1): error with field asNumber = '65536.1' (invalid AS Number format)"
    );
    assert_eq!(
        parse_keys(&document("scope: node, peerIP: 10.0.0.1", ""))
            .unwrap_err()
            .to_string(),
        "bgpPeer(peerIP=10.0.0.1): insufficient identifiers, missing 'node'"
    );
}

#[test]
fn bgp_peer_deserializes_only_when_valid() {
    let peer: BgpPeer = serde_json::from_str(
        r#"{"apiVersion":"v1","kind":"bgpPeer","metadata":{"scope":"global","peerIP":"10.0.0.1"},"spec":{"asNumber":"1.10"}}"#,
    )
    .unwrap();
    assert_eq!(peer.as_number, Asn(65546));
    let error = serde_json::from_str::<BgpPeer>(
        r#"{"apiVersion":"v1","kind":"bgpPeer","metadata":{"scope":"global","peerIP":"10.0.0.1"},"spec":{"asNumber":-1}}"#,
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("error with field asNumber = '-1' (invalid AS Number format)"),
        "{error}"
    );
}
