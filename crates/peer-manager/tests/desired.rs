//! The rules of `desired_peers`, one test each, named as sentences.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use peer_manager::{
    desired_peers, Asn, BgpConfiguration, BgpPeer, DesiredPeer, Node, NodeName, PeerSource, Scope,
};

fn node(name: &str, ipv4: Option<&str>, ipv6: Option<&str>) -> Node {
    Node {
        name: name.to_owned(),
        ipv4: ipv4.map(|text| text.parse().unwrap()),
        ipv6: ipv6.map(|text| text.parse().unwrap()),
        as_number: None,
        route_reflector_cluster_id: None,
        listen_port: None,
        labels: Default::default(),
    }
}

fn global(address: &str, asn: u32) -> BgpPeer {
    BgpPeer {
        scope: Scope::Global,
        peer_address: address.parse().unwrap(),
        peer_port: None,
        as_number: Asn(asn),
    }
}

fn scoped(node: &str, address: &str, asn: u32) -> BgpPeer {
    BgpPeer {
        scope: Scope::Node(NodeName::new(node).unwrap()),
        ..global(address, asn)
    }
}

fn no_mesh() -> BgpConfiguration {
    BgpConfiguration {
        node_to_node_mesh: false,
        ..BgpConfiguration::default()
    }
}

/// (address:port, AS, passive, source) of each desired peer, in order.
fn summary(peers: &[DesiredPeer]) -> Vec<(String, u32, bool, PeerSource)> {
    peers
        .iter()
        .map(|peer| {
            (
                peer.address.to_string(),
                peer.asn.0,
                peer.passive,
                peer.source.clone(),
            )
        })
        .collect()
}

fn two_nodes() -> Vec<Node> {
    vec![
        node("n1", Some("10.0.0.1"), None),
        node("n2", Some("10.0.0.2"), None),
    ]
}

#[test]
fn global_peers_apply_to_every_node() {
    let peers = [global("192.0.2.1", 65001)];
    for name in ["n1", "n2"] {
        let desired = desired_peers(name, &two_nodes(), &no_mesh(), &peers);
        assert_eq!(
            summary(&desired),
            vec![("192.0.2.1:179".into(), 65001, false, PeerSource::Global)],
            "{name}"
        );
    }
}

#[test]
fn node_scoped_peers_apply_only_to_their_node() {
    let peers = [scoped("n1", "192.0.2.1", 65001)];
    let mine = desired_peers("n1", &two_nodes(), &no_mesh(), &peers);
    assert_eq!(
        summary(&mine),
        vec![("192.0.2.1:179".into(), 65001, false, PeerSource::NodeScoped)]
    );
    assert!(desired_peers("n2", &two_nodes(), &no_mesh(), &peers).is_empty());
}

#[test]
fn a_node_peer_overrides_a_global_peer_at_the_same_address() {
    // Both orders of the input give the same answer.
    let forward = [global("192.0.2.1", 65001), scoped("n1", "192.0.2.1", 65009)];
    let backward = [scoped("n1", "192.0.2.1", 65009), global("192.0.2.1", 65001)];
    for peers in [&forward[..], &backward[..]] {
        let desired = desired_peers("n1", &two_nodes(), &no_mesh(), peers);
        assert_eq!(
            summary(&desired),
            vec![("192.0.2.1:179".into(), 65009, false, PeerSource::NodeScoped)]
        );
        // n2 still gets the global peer.
        let other = desired_peers("n2", &two_nodes(), &no_mesh(), peers);
        assert_eq!(other[0].asn, Asn(65001));
    }
}

#[test]
fn an_explicit_port_is_kept_and_a_missing_one_means_179() {
    let mut with_port = global("192.0.2.2", 65002);
    with_port.peer_port = Some(1790);
    let peers = [global("192.0.2.1", 65001), with_port];
    let desired = desired_peers("n1", &two_nodes(), &no_mesh(), &peers);
    let addresses: Vec<String> = desired
        .iter()
        .map(|peer| peer.address.to_string())
        .collect();
    assert_eq!(addresses, ["192.0.2.1:179", "192.0.2.2:1790"]);
}

#[test]
fn the_mesh_peers_with_every_other_node_using_its_as_or_the_global_as() {
    let mut nodes = vec![
        node("n1", Some("10.0.0.1"), None),
        node("n2", Some("10.0.0.2"), None),
        node("n3", Some("10.0.0.3"), None),
        node("n4", None, None), // no address: nothing to peer with
    ];
    nodes[2].as_number = Some(Asn(65003));
    let config = BgpConfiguration {
        as_number: Asn(64999),
        listen_port: 1179,
        ..BgpConfiguration::default()
    };
    let desired = desired_peers("n1", &nodes, &config, &[]);
    assert_eq!(
        summary(&desired),
        vec![
            (
                "10.0.0.2:1179".into(),
                64999,
                true,
                PeerSource::Mesh("n2".into())
            ),
            (
                "10.0.0.3:1179".into(),
                65003,
                true,
                PeerSource::Mesh("n3".into())
            ),
        ]
    );
}

/// BGPConfiguration `nodeMeshMaxRestartTime`: the mesh sessions' restart
/// time, not the explicit peers'.
#[test]
fn mesh_sessions_announce_the_mesh_restart_time() {
    let config = BgpConfiguration {
        mesh_max_restart_time: Some(std::time::Duration::from_secs(300)),
        ..BgpConfiguration::default()
    };
    let peers = [global("192.0.2.9", 65009)];
    let desired = desired_peers("n1", &two_nodes(), &config, &peers);
    let restart_times: Vec<(String, Option<u64>)> = desired
        .iter()
        .map(|peer| {
            (
                peer.address.to_string(),
                peer.settings.max_restart_time.map(|time| time.as_secs()),
            )
        })
        .collect();
    assert_eq!(
        restart_times,
        [
            ("10.0.0.2:179".to_owned(), Some(300)),
            ("192.0.2.9:179".to_owned(), None),
        ]
    );
}

#[test]
fn the_mesh_is_off_when_the_configuration_disables_it() {
    assert!(desired_peers("n1", &two_nodes(), &no_mesh(), &[]).is_empty());
}

#[test]
fn the_side_with_the_lower_address_string_is_passive_and_the_higher_one_connects() {
    // Calico: `passive on` when the peer's IP string is greater than our own.
    // Table: (our address, their address, we are passive). String order, not
    // numeric order: "10.0.0.10" < "10.0.0.9".
    let table = [
        ("10.0.0.1", "10.0.0.2", true),
        ("10.0.0.2", "10.0.0.1", false),
        ("10.0.0.10", "10.0.0.9", true),
        ("10.0.0.9", "10.0.0.10", false),
        ("9.0.0.1", "10.0.0.1", false),
        ("10.0.0.1", "9.0.0.1", true),
    ];
    for (ours, theirs, passive) in table {
        let nodes = [
            node("me", Some(ours), None),
            node("them", Some(theirs), None),
        ];
        let desired = desired_peers("me", &nodes, &BgpConfiguration::default(), &[]);
        assert_eq!(desired.len(), 1);
        assert_eq!(desired[0].passive, passive, "{ours} -> {theirs}");
        // The other side always decides the opposite: exactly one side connects.
        let reverse = desired_peers("them", &nodes, &BgpConfiguration::default(), &[]);
        assert_eq!(reverse[0].passive, !passive, "{theirs} -> {ours}");
    }
}

#[test]
fn the_ipv6_mesh_session_exists_only_when_both_nodes_have_ipv6() {
    // Table: (our IPv6, their IPv6, expected sessions).
    let table: [(Option<&str>, Option<&str>, &[&str]); 4] = [
        (
            Some("fd00::1"),
            Some("fd00::2"),
            &["10.0.0.2:179", "[fd00::2]:179"],
        ),
        (Some("fd00::1"), None, &["10.0.0.2:179"]),
        (None, Some("fd00::2"), &["10.0.0.2:179"]),
        (None, None, &["10.0.0.2:179"]),
    ];
    for (ours, theirs, expected) in table {
        let nodes = [
            node("n1", Some("10.0.0.1"), ours),
            node("n2", Some("10.0.0.2"), theirs),
        ];
        let desired = desired_peers("n1", &nodes, &BgpConfiguration::default(), &[]);
        let addresses: Vec<String> = desired
            .iter()
            .map(|peer| peer.address.to_string())
            .collect();
        assert_eq!(addresses, expected, "{ours:?} / {theirs:?}");
    }
}

#[test]
fn the_ipv6_mesh_session_is_passive_by_the_ipv6_address_strings() {
    let nodes = [
        node("n1", Some("10.0.0.2"), Some("fd00::1")),
        node("n2", Some("10.0.0.1"), Some("fd00::2")),
    ];
    let desired = desired_peers("n1", &nodes, &BgpConfiguration::default(), &[]);
    let passive: Vec<(String, bool)> = desired
        .iter()
        .map(|peer| (peer.address.to_string(), peer.passive))
        .collect();
    assert_eq!(
        passive,
        [
            ("10.0.0.1:179".to_owned(), false),
            ("[fd00::2]:179".to_owned(), true)
        ]
    );
}

#[test]
fn an_ipv6_only_cluster_has_an_ipv6_only_mesh() {
    let nodes = [
        node("n1", None, Some("fd00::1")),
        node("n2", None, Some("fd00::2")),
    ];
    let desired = desired_peers("n1", &nodes, &BgpConfiguration::default(), &[]);
    assert_eq!(
        desired.iter().map(|peer| peer.address).collect::<Vec<_>>(),
        [SocketAddr::new(
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)),
            179
        )]
    );
}

#[test]
fn a_node_never_peers_with_itself() {
    // Not through the mesh (by name, or another node sharing its address), and not
    // through an explicit peer at its own IPv4 or IPv6 address.
    let nodes = [
        node("n1", Some("10.0.0.1"), Some("fd00::1")),
        node("clone", Some("10.0.0.1"), None),
        node("n2", Some("10.0.0.2"), None),
    ];
    let peers = [
        global("10.0.0.1", 65001),
        scoped("n1", "fd00::1", 65001),
        global("192.0.2.1", 65002),
    ];
    let desired = desired_peers("n1", &nodes, &BgpConfiguration::default(), &peers);
    let addresses: Vec<String> = desired
        .iter()
        .map(|peer| peer.address.to_string())
        .collect();
    assert_eq!(addresses, ["10.0.0.2:179", "192.0.2.1:179"]);
    // n2 does peer with 10.0.0.1 explicitly: the global peer wins over the mesh.
    let other = desired_peers("n2", &nodes, &BgpConfiguration::default(), &peers);
    assert_eq!(other[0].source, PeerSource::Global);
}

#[test]
fn explicit_peers_win_over_mesh_entries_at_the_same_address() {
    let peers = [global("10.0.0.2", 65100), scoped("n1", "10.0.0.3", 65200)];
    let nodes = [
        node("n1", Some("10.0.0.1"), None),
        node("n2", Some("10.0.0.2"), None),
        node("n3", Some("10.0.0.3"), None),
        node("n4", Some("10.0.0.4"), None),
    ];
    let desired = desired_peers("n1", &nodes, &BgpConfiguration::default(), &peers);
    assert_eq!(
        summary(&desired),
        vec![
            ("10.0.0.2:179".into(), 65100, false, PeerSource::Global),
            ("10.0.0.3:179".into(), 65200, false, PeerSource::NodeScoped),
            (
                "10.0.0.4:179".into(),
                64512,
                true,
                PeerSource::Mesh("n4".into())
            ),
        ]
    );
}

#[test]
fn route_reflectors_are_left_out_of_the_mesh_and_run_none() {
    let mut nodes = vec![
        node("n1", Some("10.0.0.1"), None),
        node("rr", Some("10.0.0.2"), None),
        node("n3", Some("10.0.0.3"), None),
    ];
    nodes[1].route_reflector_cluster_id = Some(Ipv4Addr::new(1, 0, 0, 1));
    let desired = desired_peers("n1", &nodes, &BgpConfiguration::default(), &[]);
    assert_eq!(
        desired
            .iter()
            .map(|peer| peer.address.to_string())
            .collect::<Vec<_>>(),
        ["10.0.0.3:179"]
    );
    assert!(desired_peers("rr", &nodes, &BgpConfiguration::default(), &[]).is_empty());
}

#[test]
fn an_unknown_node_gets_explicit_peers_but_no_mesh() {
    let peers = [global("192.0.2.1", 65001)];
    let desired = desired_peers(
        "stranger",
        &two_nodes(),
        &BgpConfiguration::default(),
        &peers,
    );
    assert_eq!(
        summary(&desired),
        vec![("192.0.2.1:179".into(), 65001, false, PeerSource::Global)]
    );
}

#[test]
fn the_result_is_sorted_and_independent_of_input_order() {
    let mut nodes: Vec<Node> = (1..=20)
        .map(|index| node(&format!("n{index}"), Some(&format!("10.0.0.{index}")), None))
        .collect();
    nodes.push(node("twin", Some("10.0.0.7"), None)); // shares n7's address
    let mut peers: Vec<BgpPeer> = (1..=20)
        .flat_map(|index| {
            [
                global(&format!("192.0.2.{index}"), 65000 + index),
                scoped("n3", &format!("192.0.2.{}", index * 2), 65100 + index),
                scoped("n4", &format!("198.51.100.{index}"), 65200 + index),
            ]
        })
        .collect();
    let mut ported = global("192.0.2.1", 65999);
    ported.peer_port = Some(1790);
    peers.push(ported); // same address as another global peer: the lower port wins
    let config = BgpConfiguration::default();
    let expected = desired_peers("n3", &nodes, &config, &peers);
    assert!(expected
        .windows(2)
        .all(|pair| pair[0].address.ip() < pair[1].address.ip()));
    assert_eq!(
        expected
            .iter()
            .filter(|peer| peer.address.ip().to_string() == "10.0.0.7")
            .count(),
        1
    );
    for round in 0..5 {
        nodes.reverse();
        peers.reverse();
        let (node_count, peer_count) = (nodes.len(), peers.len());
        nodes.rotate_left(round * 3 % node_count);
        peers.rotate_left(round * 7 % peer_count);
        assert_eq!(
            desired_peers("n3", &nodes, &config, &peers),
            expected,
            "round {round}"
        );
    }
    let twin = expected
        .iter()
        .find(|peer| peer.address.ip().to_string() == "10.0.0.7")
        .unwrap();
    assert_eq!(twin.source, PeerSource::Mesh("n7".into()));
    let first = expected
        .iter()
        .find(|peer| peer.address.ip().to_string() == "192.0.2.1")
        .unwrap();
    assert_eq!((first.address.port(), first.asn), (179, Asn(65001)));
}
