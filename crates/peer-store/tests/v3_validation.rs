//! Every rule of the v3 `BGPPeer`, `Node` and `BGPConfiguration` validation, one
//! table row each: the document (its spec), and the exact error, or success.

use peer_store::{
    parse_resource_keys, parse_resources, resources_to_json, resources_to_yaml, NamedKind,
    PasswordSource, PeerTarget, Resource, ResourceKey, SourceAddress,
};

fn bgp_peer(spec: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: rack1-tor\nspec:\n{spec}")
}

fn node(spec: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: rack1-host1\n  labels:\n    rack: a\nspec:\n{spec}")
}

fn configuration(spec: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n{spec}")
}

/// Each text must fail with exactly this message.
fn assert_errors(cases: &[(String, &str)]) {
    for (text, expected) in cases {
        match parse_resources(text) {
            Ok(resources) => panic!("accepted {text}\n=> {resources:?}"),
            Err(error) => assert_eq!(error.to_string(), *expected, "{text}"),
        }
    }
}

fn one(text: &str) -> Resource {
    let mut resources = parse_resources(text).unwrap_or_else(|error| panic!("{text}\n{error}"));
    assert_eq!(resources.len(), 1);
    resources.remove(0)
}

#[test]
fn bgp_peer_rules() {
    let peer_ip = "  peerIP: 10.0.0.1\n  asNumber: 65001\n";
    let cases = [
        (
            bgp_peer("  node: rack1-host1\n  nodeSelector: rack == 'a'\n  peerIP: 10.0.0.1\n  asNumber: 65001\n"),
            "BGPPeer(rack1-tor): error with field node = 'rack1-host1' (Node field must be empty when NodeSelector is specified)",
        ),
        (
            bgp_peer("  peerIP: 10.0.0.1\n  peerSelector: has(rack)\n"),
            "BGPPeer(rack1-tor): error with field peerIP = '10.0.0.1' (PeerIP field must be empty when PeerSelector is specified)",
        ),
        (
            bgp_peer("  peerSelector: has(rack)\n  asNumber: 65001\n"),
            "BGPPeer(rack1-tor): error with field asNumber = '65001' (ASNumber field must be empty when PeerSelector is specified)",
        ),
        (
            bgp_peer("  node: rack1-host1\n"),
            "BGPPeer(rack1-tor): error with field peerIP (one of peerIP and peerSelector is required)",
        ),
        (
            bgp_peer("  peerIP: 10.0.0.1\n"),
            "BGPPeer(rack1-tor): error with field asNumber (required when peerIP is specified)",
        ),
        (
            bgp_peer("  peerIP: 10.0.0.1:0\n  asNumber: 65001\n"),
            "BGPPeer(rack1-tor): error with field peerIP = '10.0.0.1:0' (port must be between 1 and 65535)",
        ),
        (
            bgp_peer("  peerIP: '[fe80::1%2]:179'\n  asNumber: 65001\n"),
            "BGPPeer(rack1-tor): error with field peerIP = '[fe80::1%2]:179' (IPv6 zone is not allowed)",
        ),
        (
            bgp_peer("  peerIP: 10.0.0.1\n  asNumber: '65536.1'\n"),
            "BGPPeer(rack1-tor): error with field asNumber = '65536.1' (invalid AS Number format)",
        ),
        (
            bgp_peer("  node: Rack_1\n  peerIP: 10.0.0.1\n  asNumber: 65001\n"),
            "BGPPeer(rack1-tor): error with field node = 'Rack_1' (invalid node name: must be a DNS-1123 subdomain)",
        ),
        (
            bgp_peer(&format!("{peer_ip}  nodeSelector: rack ==\n")),
            "BGPPeer(rack1-tor): error with field nodeSelector = 'rack ==' (invalid selector at position 7: expected a quoted value ('…' or \"…\"))",
        ),
        (
            bgp_peer("  peerSelector: rack in {'a'\n"),
            "BGPPeer(rack1-tor): error with field peerSelector = 'rack in {'a'' (invalid selector at position 12: expected ',' or '}' in the set)",
        ),
        (
            bgp_peer(&format!("{peer_ip}  password:\n    file: /etc/a\n    env: B\n")),
            "BGPPeer(rack1-tor): error with field password (exactly one of file and env is required)",
        ),
        (
            bgp_peer(&format!("{peer_ip}  password: {{}}\n")),
            "BGPPeer(rack1-tor): error with field password (exactly one of file and env is required)",
        ),
        (
            bgp_peer(&format!("{peer_ip}  sourceAddress: Auto\n")),
            "BGPPeer(rack1-tor): error with field sourceAddress = 'Auto' (must be one of: UseNodeIP, None)",
        ),
        (
            bgp_peer(&format!("{peer_ip}  keepaliveTime: '20'\n")),
            "BGPPeer(rack1-tor): error with field keepaliveTime = '20' (invalid duration: expected e.g. 120s, 2m or 1m30s)",
        ),
        (
            bgp_peer(&format!("{peer_ip}  keepaliveTime: 1500ms\n")),
            "BGPPeer(rack1-tor): error with field keepaliveTime = '1500ms' (must be a whole number of seconds)",
        ),
        (
            bgp_peer(&format!("{peer_ip}  keepaliveTime: 0s\n")),
            "BGPPeer(rack1-tor): error with field keepaliveTime = '0s' (must be between 1s and 65535s)",
        ),
        (
            bgp_peer(&format!("{peer_ip}  maxRestartTime: 2h\n")),
            "BGPPeer(rack1-tor): error with field maxRestartTime = '2h' (must be between 1s and 4095s)",
        ),
        (
            bgp_peer(&format!("{peer_ip}  ttlSecurity: 0\n")),
            "BGPPeer(rack1-tor): error with field ttlSecurity = '0' (must be a hop count between 1 and 255)",
        ),
        (
            bgp_peer(&format!("{peer_ip}  ttlSecurity: 256\n")),
            "BGPPeer(rack1-tor): error with field ttlSecurity = '256' (must be a hop count between 1 and 255)",
        ),
        (
            bgp_peer(&format!("{peer_ip}  numAllowedLocalASNumbers: 11\n")),
            "BGPPeer(rack1-tor): error with field numAllowedLocalASNumbers = '11' (must be between 1 and 10)",
        ),
        (
            // A value of the wrong type is named by its field.
            bgp_peer(&format!("{peer_ip}  keepaliveTime: 20\n")),
            "BGPPeer(rack1-tor): spec.keepaliveTime: invalid type: integer `20`, expected a string",
        ),
        (
            bgp_peer(&format!("{peer_ip}  reachabelBy: 10.0.0.254\n")),
            "BGPPeer(rack1-tor): spec: unknown field `reachabelBy`, expected one of `node`, `peerIP`, `asNumber`, `nodeSelector`, `peerSelector`, `password`, `sourceAddress`, `keepaliveTime`, `maxRestartTime`, `ttlSecurity`, `numAllowedLocalASNumbers`, `keepOriginalNextHop`, `localASNumber`, `nextHopMode`, `reachableBy`, `filters`, `localWorkloadSelector`, `reversePeering` (did you mean `reachableBy`?)",
        ),
        (
            bgp_peer(peer_ip).replace("rack1-tor", "Rack1"),
            "BGPPeer(Rack1): error with field metadata.name = 'Rack1' (invalid name: must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253 characters))",
        ),
        (
            bgp_peer(peer_ip).replace("  name: rack1-tor\n", "  labels: {a: b}\n"),
            "document 1: insufficient identifiers, missing 'name'",
        ),
        (
            // A kind in another case is fine (below); another version is not.
            bgp_peer(peer_ip).replace("projectcalico.org/v3", "projectcalico.org/v2"),
            "BGPPeer(rack1-tor): Unknown resource type (BGPPeer) and/or version (projectcalico.org/v2)",
        ),
        (
            bgp_peer("  peerIP: 10.0.0.1:0\n  asNumber: -1\n"),
            "BGPPeer(rack1-tor): error with the following fields:\n-  peerIP = '10.0.0.1:0' (port must be between 1 and 65535)\n-  asNumber = '-1' (invalid AS Number format)",
        ),
    ];
    assert_errors(&cases);
}

#[test]
fn a_full_bgp_peer_is_read_with_every_field() {
    // Kinds are case-insensitive in files as on the command line.
    assert!(matches!(
        one(&bgp_peer("  peerIP: 10.0.0.1\n  asNumber: 1\n").replace("BGPPeer", "BgpPeer")),
        Resource::BgpPeerV3(_)
    ));
    let resource = one(&bgp_peer(
        "  nodeSelector: rack == 'a' && !has(route-reflector)\n  peerIP: '[2001:db8::1]:1790'\n  asNumber: '1.10'\n  password:\n    file: /etc/nodebgp/tor.password\n  sourceAddress: None\n  keepaliveTime: 20s\n  maxRestartTime: 2m\n  ttlSecurity: 2\n  numAllowedLocalASNumbers: 1\n  keepOriginalNextHop: true\n",
    ));
    let Resource::BgpPeerV3(peer) = resource else {
        panic!("not a v3 peer: {resource:?}")
    };
    assert_eq!(peer.name.as_str(), "rack1-tor");
    assert!(peer.node.is_none() && !peer.is_global());
    assert_eq!(
        peer.target,
        PeerTarget::Address {
            address: "2001:db8::1".parse().unwrap(),
            port: Some(1790),
            as_number: peer_store::Asn(65546),
        }
    );
    assert_eq!(
        peer.password,
        Some(PasswordSource::File("/etc/nodebgp/tor.password".into()))
    );
    assert_eq!(peer.source_address, SourceAddress::None);
    assert_eq!(peer.keepalive_time.unwrap().as_secs(), 20);
    assert_eq!(peer.max_restart_time.unwrap().as_secs(), 120);
    assert_eq!(peer.ttl_security, Some(2));
    assert_eq!(peer.num_allowed_local_as_numbers, Some(1));
    assert!(peer.keep_original_next_hop);
    let labels = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    };
    assert!(peer.applies_to("any", &labels(&[("rack", "a")])));
    assert!(!peer.applies_to("any", &labels(&[("rack", "a"), ("route-reflector", "")])));
    assert!(!peer.applies_to("any", &labels(&[("rack", "b")])));
}

#[test]
fn a_peer_without_node_or_selector_is_global_and_env_passwords_are_read() {
    std::env::set_var("NODEBGP_TEST_V3_PASSWORD", "s3cret");
    let resource = one(&bgp_peer(
        "  peerIP: 10.0.0.1\n  asNumber: 65001\n  password: {env: NODEBGP_TEST_V3_PASSWORD}\n",
    ));
    let Resource::BgpPeerV3(peer) = resource else {
        panic!("not a v3 peer")
    };
    assert!(peer.is_global());
    assert!(peer.applies_to("whatever", &Default::default()));
    assert_eq!(peer.password.unwrap().read(), Ok("s3cret".to_owned()));
}

#[test]
fn node_rules() {
    let cases = [
        (
            node("  bgp:\n    ipv4Address: 10.0.0.300/24\n"),
            "Node(rack1-host1): error with field bgp.ipv4Address = '10.0.0.300/24' (invalid IPv4 address: expected e.g. 10.0.0.1/24)",
        ),
        (
            node("  bgp:\n    ipv4Address: 2001:db8::1/64\n"),
            "Node(rack1-host1): error with field bgp.ipv4Address = '2001:db8::1/64' (must be an IPv4 address)",
        ),
        (
            node("  bgp:\n    ipv6Address: 10.0.0.1/24\n"),
            "Node(rack1-host1): error with field bgp.ipv6Address = '10.0.0.1/24' (must be an IPv6 address)",
        ),
        (
            node("  bgp:\n    asNumber: 1.1.1\n"),
            "Node(rack1-host1): error with field bgp.asNumber = '1.1.1' (invalid AS Number format)",
        ),
        (
            node("  bgp:\n    routeReflectorClusterID: 2001:db8::1\n"),
            "Node(rack1-host1): error with field bgp.routeReflectorClusterID = '2001:db8::1' (must be an IPv4 address)",
        ),
        (
            node("  bgp: {}\n").replace("rack: a", "rack: 'a b'"),
            "Node(rack1-host1): error with field metadata.labels = 'rack: a b' (invalid label value: at most 63 letters, digits, '_', '.' or '-')",
        ),
        (
            node("  bgp: {}\n").replace("rack: a", "'a b': c"),
            "Node(rack1-host1): error with field metadata.labels = 'a b: c' (invalid label key: must be letters, digits, '_', '.', '/' or '-')",
        ),
        (
            node("  bgp:\n    ipv4Address: 10.0.0.1/24\n    bgpPassword: x\n"),
            "Node(rack1-host1): spec.bgp: unknown field `bgpPassword`, expected one of `ipv4Address`, `ipv6Address`, `asNumber`, `routeReflectorClusterID`, `ipv4IPIPTunnelAddr`",
        ),
    ];
    assert_errors(&cases);
    let Resource::Node(node) = one(&node(
        "  bgp:\n    ipv4Address: 10.0.0.1/24\n    ipv6Address: 2001:db8::1\n    asNumber: 64512\n    routeReflectorClusterID: 224.0.0.1\n",
    )) else {
        panic!("not a node")
    };
    assert_eq!(node.ipv4(), Some("10.0.0.1".parse().unwrap()));
    assert_eq!(node.ipv6(), Some("2001:db8::1".parse().unwrap()));
    assert_eq!(node.as_number(), Some(peer_store::Asn(64512)));
    assert_eq!(
        node.route_reflector_cluster_id(),
        Some("224.0.0.1".parse().unwrap())
    );
    assert_eq!(node.labels.get("rack").map(String::as_str), Some("a"));
}

#[test]
fn bgp_configuration_rules() {
    let cases = [
        (
            configuration("  logSeverityScreen: Verbose\n"),
            "BGPConfiguration(default): error with field logSeverityScreen = 'Verbose' (must be one of: Debug, Info, Warning, Error, Fatal)",
        ),
        (
            configuration("  listenPort: 0\n"),
            "BGPConfiguration(default): error with field listenPort = '0' (must be between 1 and 65535)",
        ),
        (
            configuration("  listenPort: 65536\n"),
            "BGPConfiguration(default): error with field listenPort = '65536' (must be between 1 and 65535)",
        ),
        (
            configuration("  asNumber: 4294967296\n"),
            "BGPConfiguration(default): error with field asNumber = '4294967296' (invalid AS Number format)",
        ),
        (
            configuration("  communities:\n  - {name: big, value: '65536:1'}\n"),
            "BGPConfiguration(default): error with field communities.value = '65536:1' (must be aa:nn (16-bit parts) or aa:nn:mm (32-bit parts))",
        ),
        (
            configuration("  communities:\n  - {value: '1:1'}\n"),
            "BGPConfiguration(default): error with field communities.name = '1:1' (required)",
        ),
        (
            configuration("  prefixAdvertisements:\n  - {cidr: 10.0.0.0/33, communities: ['1:1']}\n"),
            "BGPConfiguration(default): error with field prefixAdvertisements.cidr = '10.0.0.0/33' (invalid CIDR: expected e.g. 10.96.0.0/12)",
        ),
        (
            configuration("  prefixAdvertisements:\n  - {cidr: 10.0.0.0/8, communities: [unknown]}\n"),
            "BGPConfiguration(default): error with field prefixAdvertisements.communities = 'unknown' (neither a community value nor a name defined in communities)",
        ),
        (
            configuration("  serviceClusterIPs:\n  - cidr: not-a-cidr\n"),
            "BGPConfiguration(default): error with field serviceClusterIPs = 'not-a-cidr' (invalid CIDR: expected e.g. 10.96.0.0/12)",
        ),
        (
            configuration("  serviceExternalIPs:\n  - cidr: 10.0.0.1\n"),
            "BGPConfiguration(default): error with field serviceExternalIPs = '10.0.0.1' (invalid CIDR: expected e.g. 10.96.0.0/12)",
        ),
        (
            configuration("  serviceLoadBalancerIPs:\n  - cidr: 300.0.0.0/8\n"),
            "BGPConfiguration(default): error with field serviceLoadBalancerIPs = '300.0.0.0/8' (invalid CIDR: expected e.g. 10.96.0.0/12)",
        ),
    ];
    assert_errors(&cases);

    let Resource::BgpConfiguration(defaults) = one(&configuration("  {}\n")) else {
        panic!("not a configuration")
    };
    assert!(defaults.is_default() && defaults.mesh_enabled());
    assert_eq!(defaults.listen_port_or_default(), 179);
    assert_eq!(defaults.as_number, None);
    let Resource::BgpConfiguration(full) = one(&configuration(
        "  logSeverityScreen: info\n  nodeToNodeMeshEnabled: false\n  asNumber: 63400\n  listenPort: 1179\n  communities:\n  - {name: bgp-large-community, value: '63400:300:100'}\n  prefixAdvertisements:\n  - {cidr: 172.218.4.0/26, communities: [bgp-large-community, '63400:120']}\n  serviceClusterIPs:\n  - cidr: 10.96.0.0/12\n  serviceExternalIPs:\n  - cidr: 104.244.42.129/32\n  serviceLoadBalancerIPs:\n  - cidr: fd00:10::/64\n",
    )) else {
        panic!("not a configuration")
    };
    assert_eq!(full.log_severity_screen.as_deref(), Some("Info"));
    assert!(!full.mesh_enabled());
    assert_eq!(full.listen_port_or_default(), 1179);
    assert_eq!(full.as_number, Some(peer_store::Asn(63400)));
    assert_eq!(full.prefix_advertisements[0].communities.len(), 2);
    assert_eq!(
        full.service_load_balancer_ips[0].to_string(),
        "fd00:10::/64"
    );
}

const MIXED: &str = "\
apiVersion: v1
kind: bgpPeer
metadata: {scope: global, peerIP: 192.0.2.1}
spec: {asNumber: 65001}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: rack-a-tor}
spec:
  nodeSelector: rack == 'a'
  peerIP: 192.0.2.2:1790
  asNumber: 65002
  password: {env: TOR_PASSWORD}
  keepaliveTime: 20s
  ttlSecurity: 1
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: to-route-reflectors}
spec:
  peerSelector: has(route-reflector)
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: rack1-host1
  labels: {rack: a}
spec:
  bgp: {ipv4Address: 10.0.0.1/24, ipv6Address: 'fd00::1/64', asNumber: 64512}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  nodeToNodeMeshEnabled: true
  asNumber: 64512
  listenPort: 179
  serviceClusterIPs: [{cidr: 10.96.0.0/12}]
";

#[test]
fn every_kind_prints_back_to_itself_in_yaml_and_json() {
    let resources = parse_resources(MIXED).unwrap();
    assert_eq!(resources.len(), 5);
    let yaml = resources_to_yaml(&resources);
    assert_eq!(parse_resources(&yaml).unwrap(), resources, "{yaml}");
    let json = resources_to_json(&resources);
    assert_eq!(parse_resources(&json).unwrap(), resources, "{json}");
    // v3 output is Calico's document form.
    assert!(
        yaml.contains("apiVersion: projectcalico.org/v3\n  kind: BGPPeer"),
        "{yaml}"
    );
    assert!(yaml.contains("ipv4Address: 10.0.0.1/24"), "{yaml}");
}

#[test]
fn v3_lists_and_deleting_by_name() {
    let list = "apiVersion: projectcalico.org/v3\nkind: NodeList\nitems:\n- apiVersion: projectcalico.org/v3\n  kind: Node\n  metadata: {name: a}\n- apiVersion: projectcalico.org/v3\n  kind: Node\n  metadata: {name: b}\n";
    assert_eq!(parse_resources(list).unwrap().len(), 2);
    // Deleting needs only the name: the spec may be absent.
    let keys = parse_resource_keys(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: rack-a-tor}\n",
    )
    .unwrap();
    assert_eq!(
        keys,
        [ResourceKey::Named {
            kind: NamedKind::BgpPeer,
            name: peer_store::ResourceName::new("rack-a-tor").unwrap(),
        }]
    );
    assert_eq!(keys[0].to_string(), "BGPPeer(rack-a-tor)");
}

#[test]
fn the_example_resources_in_config_are_valid() {
    let resources = parse_resources(include_str!("../../../config/resources.yaml")).unwrap();
    assert!(resources
        .iter()
        .any(|resource| matches!(resource, Resource::BgpConfiguration(_))));
    assert!(resources
        .iter()
        .any(|resource| matches!(resource, Resource::Node(_))));
    assert!(resources
        .iter()
        .any(|resource| matches!(resource, Resource::BgpPeerV3(_))));
    assert!(resources
        .iter()
        .any(|resource| matches!(resource, Resource::BgpFilter(_))));
}
