//! Documents exactly as Calico writes them to etcd: libcalico-go's v3 client
//! marshals the resource with Go's `encoding/json` (`kind` and `apiVersion`
//! first, `ObjectMeta` in its field order, `omitempty` fields left out,
//! `metav1.Duration` as Go prints it, `resourceVersion` cleared before storing,
//! `uid` and `creationTimestamp` set by `Create`), under
//! `/calico/resources/v3/projectcalico.org/<plural>/<name>`.
//!
//! Between them they set every field of BGPPeer, Node and BGPConfiguration.

/// Where Calico keeps v3 resources under the default prefix.
pub(crate) const V3: &str = "/calico/resources/v3/projectcalico.org";

/// A peer nodebgp runs: every modelled field, and Calico's newer fields at
/// their defaults (`nextHopMode: Auto`, `reversePeering: Auto`).
pub(crate) const TOR_PEER: &str = r#"{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{"name":"rack1-tor","uid":"5f1b8c3e-8d2a-4c61-9a8e-3b2f0c9d7e41","creationTimestamp":"2026-03-01T09:30:00Z","labels":{"rack":"1"},"annotations":{"owner":"netops"}},"spec":{"nodeSelector":"rack == '1'","peerIP":"192.0.2.1:1790","asNumber":65001,"nextHopMode":"Auto","sourceAddress":"UseNodeIP","maxRestartTime":"2m0s","keepaliveTime":"20s","numAllowedLocalASNumbers":1,"ttlSecurity":2,"reversePeering":"Auto"}}"#;

/// A peer asking for what nodebgp cannot do (its BGP filters it can): a
/// static route to the peer, its own local AS, manual reverse peering and a
/// Kubernetes Secret password.
pub(crate) const EDGE_PEER: &str = r#"{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{"name":"edge-policy","uid":"9a0d4b1e-2c3f-4e5a-8b6c-7d8e9f0a1b2c","creationTimestamp":"2026-03-02T10:00:00Z"},"spec":{"node":"rack1-host1","peerIP":"10.0.0.254","asNumber":65002,"localASNumber":64999,"nextHopMode":"Self","password":{"secretKeyRef":{"name":"bgp-secrets","key":"edge"}},"reachableBy":"10.0.0.1","filters":["export-pods-only","import-default"],"reversePeering":"Manual"}}"#;

/// A peer with the pods of its node (Calico 3.30): no peerIP, no peerSelector.
pub(crate) const WORKLOAD_PEER: &str = r#"{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{"name":"local-speakers","uid":"c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f","creationTimestamp":"2026-03-03T11:00:00Z"},"spec":{"nodeSelector":"all()","asNumber":65010,"localWorkloadSelector":"app == 'bgp-speaker'"}}"#;

/// A Node as calico-node writes it, with its `status`.
pub(crate) const NODE: &str = r#"{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{"name":"rack1-host1","uid":"0e1f2a3b-4c5d-4e6f-9a0b-1c2d3e4f5a6b","creationTimestamp":"2026-03-01T09:00:00Z","labels":{"beta.kubernetes.io/arch":"amd64","beta.kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","kubernetes.io/hostname":"rack1-host1","kubernetes.io/os":"linux","rack":"1"},"annotations":{"projectcalico.org/kube-labels":"{\"kubernetes.io/hostname\":\"rack1-host1\",\"rack\":\"1\"}"}},"spec":{"bgp":{"asNumber":64513,"ipv4Address":"10.0.0.11/24","ipv6Address":"fd00::11/64","ipv4IPIPTunnelAddr":"192.168.28.0","routeReflectorClusterID":"224.0.0.1"},"ipv4VXLANTunnelAddr":"192.168.28.1","vxlanTunnelMACAddr":"66:7e:1a:2b:3c:4d","ipv6VXLANTunnelAddr":"fd00:192:168:28::1","vxlanTunnelMACAddrV6":"66:7e:1a:2b:3c:4e","orchRefs":[{"nodeName":"rack1-host1","orchestrator":"k8s"}],"wireguard":{"interfaceIPv4Address":"192.168.28.2","interfaceIPv6Address":"fd00:192:168:28::2"},"addresses":[{"address":"10.0.0.11/24","type":"CalicoNodeIP"},{"address":"10.0.0.11","type":"InternalIP"}],"interfaces":[{"name":"eth0","addresses":["10.0.0.11","fd00::11"]}]},"status":{"wireguardPublicKey":"jlkVyQYooZYzI2wFfNhSZez5eWh44yfq1wKVjLvSXgY=","wireguardPublicKeyV6":"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=","podCIDRs":["10.244.1.0/24","fd00:244:1::/64"]}}"#;

/// The cluster's BGPConfiguration with every field, as migrated from a
/// Kubernetes datastore (`generation`, `managedFields`).
pub(crate) const CONFIGURATION: &str = r#"{"kind":"BGPConfiguration","apiVersion":"projectcalico.org/v3","metadata":{"name":"default","uid":"7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e","generation":2,"creationTimestamp":"2026-03-01T08:00:00Z","annotations":{"note":"cluster defaults"},"managedFields":[{"manager":"calicoctl","operation":"Update","apiVersion":"crd.projectcalico.org/v1","time":"2026-03-01T08:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:asNumber":{}}}}]},"spec":{"logSeverityScreen":"Info","nodeToNodeMeshEnabled":true,"asNumber":64512,"serviceLoadBalancerIPs":[{"cidr":"203.0.113.0/24"}],"serviceExternalIPs":[{"cidr":"198.51.100.0/24"}],"serviceClusterIPs":[{"cidr":"10.96.0.0/12"}],"serviceLoadBalancerAggregation":"Enabled","communities":[{"name":"rack","value":"65001:100"}],"prefixAdvertisements":[{"cidr":"203.0.113.0/24","communities":["rack","65001:200:300"]}],"listenPort":179,"nodeMeshPassword":{"secretKeyRef":{"name":"bgp-secrets","key":"mesh"}},"nodeMeshMaxRestartTime":"2m0s","bindMode":"NodeIP","ignoredInterfaces":["kube-ipvs0","docker*"],"localWorkloadPeeringIPV4":"169.254.0.179","localWorkloadPeeringIPV6":"fe80::179","programClusterRoutes":"Enabled","ipv4NormalRoutePriority":1024,"ipv6NormalRoutePriority":1024}}"#;

/// A BGPFilter with every rule field, as Calico writes it (3.26).
pub(crate) const FILTER: &str = r#"{"kind":"BGPFilter","apiVersion":"projectcalico.org/v3","metadata":{"name":"rack-edge","uid":"1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f","creationTimestamp":"2026-03-04T12:00:00Z"},"spec":{"exportV4":[{"cidr":"10.244.0.0/16","prefixLength":{"min":24,"max":26},"matchOperator":"In","action":"Accept"},{"source":"RemotePeers","action":"Reject"}],"importV4":[{"cidr":"0.0.0.0/0","matchOperator":"Equal","action":"Accept"},{"cidr":"10.0.0.0/8","matchOperator":"NotIn","action":"Reject"}],"exportV6":[{"cidr":"fd00:244::/48","matchOperator":"Equal","action":"Accept"}],"importV6":[{"cidr":"::/0","prefixLength":{"min":1},"matchOperator":"In","action":"Reject"}]}}"#;

/// Every fixture with the key Calico keeps it under.
pub(crate) fn all() -> Vec<(String, &'static str)> {
    [
        ("bgppeers/rack1-tor", TOR_PEER),
        ("bgppeers/edge-policy", EDGE_PEER),
        ("bgppeers/local-speakers", WORKLOAD_PEER),
        ("nodes/rack1-host1", NODE),
        ("bgpconfigurations/default", CONFIGURATION),
        ("bgpfilters/rack-edge", FILTER),
    ]
    .into_iter()
    .map(|(key, value)| (format!("{V3}/{key}"), value))
    .collect()
}

/// A fixture as a JSON value.
pub(crate) fn value(document: &str) -> serde_json::Value {
    serde_json::from_str(document).unwrap()
}

/// The fixture with `metadata.labels[label] = value`.
pub(crate) fn relabelled(document: &str, label: &str, text: &str) -> serde_json::Value {
    let mut document = value(document);
    document["metadata"]["labels"][label] = serde_json::Value::String(text.to_owned());
    document
}
