//! The v3 rules of `desired_peer_set`, one test each, named as sentences.

use calico_model::{parse_resources, Resource};
use peer_manager::{
    desired_peer_set, desired_peer_set_with_workloads, reconcile, Action, Asn, BgpConfiguration,
    BgpPeerV3, DesiredPeer, LocalWorkload, Node, PeerSource, PeerV3, SourceAddress,
};

fn node(name: &str, ipv4: &str, labels: &[(&str, &str)]) -> Node {
    Node {
        name: name.to_owned(),
        ipv4: Some(ipv4.parse().unwrap()),
        ipv6: None,
        as_number: None,
        route_reflector_cluster_id: None,
        listen_port: None,
        labels: labels
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect(),
    }
}

fn nodes() -> Vec<Node> {
    vec![
        node("n1", "10.0.0.1", &[("rack", "a")]),
        node("n2", "10.0.0.2", &[("rack", "b")]),
        node("rr", "10.0.0.9", &[("route-reflector", "true")]),
    ]
}

fn v3(spec: &str) -> BgpPeerV3 {
    let text = format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {{name: p}}\nspec: {spec}\n"
    );
    match parse_resources(&text).unwrap().remove(0) {
        Resource::BgpPeerV3(peer) => peer,
        other => panic!("not a v3 peer: {other:?}"),
    }
}

fn input(spec: &str) -> PeerV3 {
    PeerV3 {
        resource: v3(spec),
        password: None,
    }
}

fn no_mesh() -> BgpConfiguration {
    BgpConfiguration {
        node_to_node_mesh: false,
        ..BgpConfiguration::default()
    }
}

fn addresses(peers: &[DesiredPeer]) -> Vec<String> {
    peers.iter().map(|peer| peer.address.to_string()).collect()
}

#[test]
fn a_node_selector_peer_applies_only_to_the_nodes_it_selects() {
    let peers = [input(
        "{nodeSelector: \"rack == 'a'\", peerIP: 192.0.2.1, asNumber: 65001}",
    )];
    let mine = desired_peer_set("n1", &nodes(), &no_mesh(), &[], &peers);
    assert_eq!(addresses(&mine), ["192.0.2.1:179"]);
    assert_eq!(mine[0].source, PeerSource::NodeScoped);
    assert!(desired_peer_set("n2", &nodes(), &no_mesh(), &[], &peers).is_empty());
}

#[test]
fn a_v3_peer_naming_a_node_applies_only_to_it_and_one_naming_none_to_all() {
    let peers = [
        input("{node: n2, peerIP: 192.0.2.2, asNumber: 65002}"),
        input("{peerIP: 192.0.2.3, asNumber: 65003}"),
    ];
    assert_eq!(
        addresses(&desired_peer_set("n1", &nodes(), &no_mesh(), &[], &peers)),
        ["192.0.2.3:179"]
    );
    let other = desired_peer_set("n2", &nodes(), &no_mesh(), &[], &peers);
    assert_eq!(addresses(&other), ["192.0.2.2:179", "192.0.2.3:179"]);
    assert_eq!(other[1].source, PeerSource::Global);
}

#[test]
fn a_node_peer_overrides_a_global_peer_across_v1_and_v3() {
    let global_v1 = calico_model::parse_documents(
        "apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIP: 192.0.2.1}\nspec: {asNumber: 65001}\n",
    )
    .unwrap();
    let node_v3 = [input("{node: n1, peerIP: 192.0.2.1, asNumber: 65009}")];
    let desired = desired_peer_set("n1", &nodes(), &no_mesh(), &global_v1, &node_v3);
    assert_eq!((desired.len(), desired[0].asn), (1, Asn(65009)));
    let other = desired_peer_set("n2", &nodes(), &no_mesh(), &global_v1, &node_v3);
    assert_eq!(other[0].asn, Asn(65001));
}

#[test]
fn a_peer_selector_peers_with_every_selected_node_at_its_address_and_as() {
    let mut all = nodes();
    all[2].as_number = Some(Asn(65099));
    let peers = [input("{peerSelector: has(route-reflector)}")];
    let desired = desired_peer_set("n1", &all, &no_mesh(), &[], &peers);
    assert_eq!(addresses(&desired), ["10.0.0.9:179"]);
    assert_eq!(desired[0].asn, Asn(65099));
    assert_eq!(desired[0].source, PeerSource::PeerSelector("rr".into()));
    // "10.0.0.9" > "10.0.0.1": the selected node connects, this one waits.
    assert!(desired[0].passive);
    // A node never peers with itself through its own selector; the node
    // selected peers back with every node the BGPPeer is for (Calico 3.31's
    // automatic reverse peering), in their AS, connecting itself.
    let reverse = desired_peer_set("rr", &all, &no_mesh(), &[], &peers);
    assert_eq!(addresses(&reverse), ["10.0.0.1:179", "10.0.0.2:179"]);
    assert_eq!(reverse[0].source, PeerSource::Reverse("n1".into()));
    assert_eq!(reverse[0].asn, Asn(64512));
    assert!(!reverse[0].passive);
    let manual = [input(
        "{peerSelector: has(route-reflector), reversePeering: Manual}",
    )];
    assert!(desired_peer_set("rr", &all, &no_mesh(), &[], &manual).is_empty());
}

/// A `peerIP` peering reaches a Calico node when the address is that node's
/// and the AS its AS: that node peers back with the peering's nodes, with
/// the peering's settings but not its local AS; a peering written for the
/// node itself wins over the reverse one.
#[test]
fn a_peer_ip_at_a_calico_node_is_peered_back_unless_a_peering_of_its_own_exists() {
    let all = nodes();
    let towards_rr = input(
        "{nodeSelector: \"rack == 'a'\", peerIP: 10.0.0.9, asNumber: 64512, keepaliveTime: 7s, localASNumber: 65111, filters: [edge]}",
    );
    let reverse = desired_peer_set(
        "rr",
        &all,
        &no_mesh(),
        &[],
        std::slice::from_ref(&towards_rr),
    );
    assert_eq!(addresses(&reverse), ["10.0.0.1:179"]);
    assert_eq!(reverse[0].source, PeerSource::Reverse("n1".into()));
    assert_eq!(reverse[0].settings.keepalive.unwrap().as_secs(), 7);
    assert_eq!(reverse[0].settings.local_as_number, None);
    assert_eq!(reverse[0].filters, ["edge"]);
    // Another AS at that address is not this node.
    let other_as = input("{peerIP: 10.0.0.9, asNumber: 65009}");
    assert!(desired_peer_set("rr", &all, &no_mesh(), &[], &[other_as]).is_empty());
    // The node's own peering to n1 wins.
    let own = input("{node: rr, peerIP: 10.0.0.1, asNumber: 64999}");
    let both = desired_peer_set("rr", &all, &no_mesh(), &[], &[towards_rr, own]);
    assert_eq!(addresses(&both), ["10.0.0.1:179"]);
    assert_eq!(both[0].asn, Asn(64999));
    assert_eq!(both[0].source, PeerSource::NodeScoped);
}

#[test]
fn per_peer_settings_reach_the_desired_peer() {
    let mut peer = input(
        "{peerIP: '192.0.2.1:1790', asNumber: 65001, keepaliveTime: 20s, maxRestartTime: 2m, ttlSecurity: 1, numAllowedLocalASNumbers: 2, keepOriginalNextHop: true}",
    );
    peer.password = Some("s3cret".into());
    let desired = desired_peer_set("n1", &nodes(), &no_mesh(), &[], &[peer]);
    let settings = &desired[0].settings;
    assert_eq!(desired[0].address.to_string(), "192.0.2.1:1790");
    assert_eq!(settings.password.as_deref(), Some("s3cret"));
    assert_eq!(settings.keepalive.unwrap().as_secs(), 20);
    assert_eq!(settings.max_restart_time.unwrap().as_secs(), 120);
    assert_eq!(settings.ttl_security_hops, Some(1));
    assert_eq!(settings.allowed_local_as, Some(2));
    assert!(settings.keep_original_next_hop);
    // UseNodeIP (the default) binds to this node's address of the family.
    assert_eq!(
        settings.source_address,
        SourceAddress::Node("10.0.0.1".parse().unwrap())
    );
    assert!(
        !format!("{settings:?}").contains("s3cret"),
        "passwords stay out of logs"
    );
    let unbound = desired_peer_set(
        "n1",
        &nodes(),
        &no_mesh(),
        &[],
        &[input(
            "{peerIP: 192.0.2.1, asNumber: 65001, sourceAddress: None}",
        )],
    );
    assert_eq!(unbound[0].settings.source_address, SourceAddress::Unbound);
}

#[test]
fn the_local_as_is_the_nodes_then_the_configured_one_then_the_daemons() {
    let peers = [input("{peerIP: 192.0.2.1, asNumber: 65001}")];
    let mut all = nodes();
    assert_eq!(
        desired_peer_set("n1", &all, &no_mesh(), &[], &peers)[0].local_as,
        None
    );
    let configured = BgpConfiguration {
        configured_as_number: Some(Asn(64600)),
        ..no_mesh()
    };
    assert_eq!(
        desired_peer_set("n1", &all, &configured, &[], &peers)[0].local_as,
        Some(Asn(64600))
    );
    all[0].as_number = Some(Asn(64601));
    assert_eq!(
        desired_peer_set("n1", &all, &configured, &[], &peers)[0].local_as,
        Some(Asn(64601))
    );
}

#[test]
fn a_changed_password_or_local_as_restarts_only_that_session() {
    let make = |password: &str| PeerV3 {
        resource: v3("{peerIP: 192.0.2.1, asNumber: 65001}"),
        password: Some(password.into()),
    };
    let other = input("{peerIP: 192.0.2.2, asNumber: 65002}");
    let running = desired_peer_set(
        "n1",
        &nodes(),
        &no_mesh(),
        &[],
        &[make("old"), other.clone()],
    );
    let desired = desired_peer_set(
        "n1",
        &nodes(),
        &no_mesh(),
        &[],
        &[make("new"), other.clone()],
    );
    let actions = reconcile(&desired, &running);
    assert_eq!(actions.len(), 1);
    assert!(
        matches!(&actions[0], Action::Restart { new, .. } if new.address.to_string() == "192.0.2.1:179")
    );

    let mut all = nodes();
    all[0].as_number = Some(Asn(64999));
    let renumbered = desired_peer_set("n1", &all, &no_mesh(), &[], &[make("new"), other]);
    assert_eq!(reconcile(&renumbered, &desired).len(), 2);
}

#[test]
fn configuration_and_nodes_come_from_their_resources() {
    let resources = parse_resources(
        "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {nodeToNodeMeshEnabled: false, listenPort: 1179}\n---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1, labels: {rack: a}}\nspec: {bgp: {ipv4Address: 10.0.0.1/24, asNumber: 64513}}\n",
    )
    .unwrap();
    let Resource::BgpConfiguration(configuration) = &resources[0] else {
        panic!("not a configuration")
    };
    let config = BgpConfiguration::from_resource(Some(configuration), Asn(64512));
    assert!(!config.node_to_node_mesh);
    assert_eq!((config.listen_port, config.as_number), (1179, Asn(64512)));
    assert_eq!(config.configured_as_number, None);
    let defaults = BgpConfiguration::from_resource(None, Asn(64512));
    assert_eq!(defaults, BgpConfiguration::default());
    let Resource::Node(resource) = &resources[1] else {
        panic!("not a node")
    };
    let node = Node::from(resource);
    assert_eq!(node.ipv4, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(node.as_number, Some(Asn(64513)));
    assert_eq!(node.labels.get("rack").map(String::as_str), Some("a"));
}

fn workload(name: &str, bgp_peer_name: &str, ipv4: &str, ipv6: Option<&str>) -> LocalWorkload {
    LocalWorkload {
        name: name.to_owned(),
        bgp_peer_name: bgp_peer_name.to_owned(),
        ipv4: Some(ipv4.parse().unwrap()),
        ipv6: ipv6.map(|address| address.parse().unwrap()),
    }
}

#[test]
fn a_local_workload_peer_waits_for_each_selected_workload_at_each_of_its_addresses() {
    let peers = [input(
        "{nodeSelector: \"rack == 'a'\", localWorkloadSelector: \"app == 'bgp'\", asNumber: 65301, filters: [f], localASNumber: 64999}",
    )];
    let workloads = [
        workload("pod-a", "p", "10.65.0.5", Some("fd00::5")),
        // Selected for another BGPPeer: not this one's.
        workload("pod-b", "other", "10.65.0.6", None),
    ];
    let mine = desired_peer_set_with_workloads("n1", &nodes(), &no_mesh(), &[], &peers, &workloads);
    assert_eq!(addresses(&mine), ["10.65.0.5:179", "[fd00::5]:179"]);
    for peer in &mine {
        assert!(peer.passive, "the workload connects");
        assert_eq!(peer.asn, Asn(65301));
        assert_eq!(peer.source, PeerSource::LocalWorkload("pod-a".to_owned()));
        assert_eq!(peer.settings.source_address, SourceAddress::Unbound);
        assert_eq!(peer.settings.local_as_number, Some(Asn(64999)));
        assert_eq!(peer.filters, ["f"]);
    }
    // A node the BGPPeer does not apply to has no such sessions, and
    // without status files there is nobody to peer with.
    assert!(
        desired_peer_set_with_workloads("n2", &nodes(), &no_mesh(), &[], &peers, &workloads)
            .is_empty()
    );
    assert!(desired_peer_set("n1", &nodes(), &no_mesh(), &[], &peers).is_empty());
}

#[test]
fn a_peering_written_for_an_address_wins_over_a_workload_there() {
    let peers = [
        input("{localWorkloadSelector: all(), asNumber: 65301}"),
        PeerV3 {
            resource: {
                let text = "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: explicit}\nspec: {peerIP: 10.65.0.5, asNumber: 65302}\n";
                match parse_resources(text).unwrap().remove(0) {
                    Resource::BgpPeerV3(peer) => peer,
                    other => panic!("not a v3 peer: {other:?}"),
                }
            },
            password: None,
        },
    ];
    let workloads = [workload("pod-a", "p", "10.65.0.5", None)];
    let mine = desired_peer_set_with_workloads("n1", &nodes(), &no_mesh(), &[], &peers, &workloads);
    assert_eq!(addresses(&mine), ["10.65.0.5:179"]);
    assert_eq!(mine[0].asn, Asn(65302));
    assert!(!mine[0].passive);
}
