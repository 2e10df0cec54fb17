//! Calico's own documents (every field of BGPPeer, Node and BGPConfiguration, as
//! libcalico-go writes them) in the file store and a real etcd: they are read,
//! a read-modify-write keeps every field verbatim, peers nodebgp cannot run are
//! kept with the reasons, a corrupt entry is skipped while the rest is listed,
//! and a stale `resourceVersion` is refused.

mod common;

use std::fs;

use common::calico::{self, V3};
use common::etcd::EtcdServer;
use common::TemporaryDirectory;
use peer_store::{
    apply_documents, delete_documents, parse_resources, replace_documents,
    stored_resources_to_json, Action, BatchOptions, FileStore, PeerStore, Resource, ResourceFilter,
    ResourceKind, StoredResource, STORE_FILE_NAME,
};
use serde_json::Value;

/// The fixture whose `metadata.name` is `name`.
fn fixture(name: &str) -> &'static str {
    calico::all()
        .into_iter()
        .map(|(_, document)| document)
        .find(|document| calico::value(document)["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no fixture named {name}"))
}

/// What `nodebgp get` prints for each stored resource, as JSON values.
fn printed(resources: &[StoredResource]) -> Vec<Value> {
    serde_json::from_str(&stored_resources_to_json(resources)).unwrap()
}

/// Every resource is listed and prints back as the fixture it was read from,
/// with `resourceVersion` its revision; a label edited in the printed form and
/// applied again changes that label and nothing else, as `stored` then shows.
fn read_modify_write_keeps_every_field(
    store: &dyn PeerStore,
    stored: impl Fn() -> Vec<(String, Value)>,
) {
    let listing = store.list_resources(&ResourceFilter::all()).unwrap();
    assert!(listing.unreadable.is_empty(), "{:?}", listing.unreadable);
    assert_eq!(listing.resources.len(), 6);
    for (mut document, stored) in printed(&listing.resources)
        .into_iter()
        .zip(&listing.resources)
    {
        let metadata = document["metadata"].as_object_mut().unwrap();
        let version = metadata.remove("resourceVersion").unwrap();
        assert_eq!(version, stored.revision.to_string().as_str());
        let name = metadata["name"].as_str().unwrap().to_owned();
        assert_eq!(document, calico::value(fixture(&name)), "{name}");
    }

    for mut document in printed(&listing.resources) {
        let name = document["metadata"]["name"].as_str().unwrap().to_owned();
        document["metadata"]["labels"]["touched"] = Value::from("yes");
        let report = apply_documents(store, &document.to_string()).unwrap();
        assert_eq!(report.outcomes[0].action, Action::Replaced, "{name}");
        let written = stored()
            .into_iter()
            .find(|(stored_name, _)| *stored_name == name)
            .unwrap()
            .1;
        assert_eq!(
            written,
            calico::relabelled(fixture(&name), "touched", "yes"),
            "{name}"
        );
    }
}

#[test]
fn calico_documents_in_etcd_round_trip_verbatim() {
    let server = EtcdServer::start("calico-documents");
    for (key, value) in calico::all() {
        server.put_raw(&key, value);
    }
    let store = server.store("/calico/bgp/v1");
    read_modify_write_keeps_every_field(&store, || {
        server
            .raw(V3)
            .into_iter()
            .map(|(key, value)| {
                let name = key.rsplit('/').next().unwrap().to_owned();
                (name, serde_json::from_str(&value).unwrap())
            })
            .collect()
    });
}

#[test]
fn calico_documents_in_the_file_store_round_trip_verbatim() {
    let directory = TemporaryDirectory::new("calico-documents");
    fs::create_dir_all(directory.path()).unwrap();
    // A store holding Calico's documents, as a migration would write it.
    let records: Vec<Value> = calico::all()
        .into_iter()
        .enumerate()
        .map(|(index, (_, document))| {
            serde_json::json!({"revision": index + 1, "resource": calico::value(document)})
        })
        .collect();
    let file = serde_json::json!({"formatVersion": 1, "revision": 6, "resources": records});
    let store_file = directory.path().join(STORE_FILE_NAME);
    fs::write(&store_file, serde_yaml::to_string(&file).unwrap()).unwrap();
    let store = FileStore::open(directory.path()).unwrap();
    read_modify_write_keeps_every_field(&store, || {
        let file: serde_yaml::Value =
            serde_yaml::from_str(&fs::read_to_string(&store_file).unwrap()).unwrap();
        file["resources"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|record| {
                let document: Value = serde_json::to_value(&record["resource"]).unwrap();
                let name = document["metadata"]["name"].as_str().unwrap().to_owned();
                (name, document)
            })
            .collect()
    });
}

#[test]
fn every_calico_field_is_accepted_from_a_file_and_typos_are_named() {
    for (_, document) in calico::all() {
        parse_resources(document).unwrap_or_else(|error| panic!("{document}\n{error}"));
    }
    let cases = [
        (
            r#"{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{"name":"a","lables":{"x":"y"}}}"#,
            "Node(a): metadata: unknown field `lables`, expected one of `name`, `labels`, `namespace`, `generateName`, `selfLink`, `uid`, `resourceVersion`, `generation`, `creationTimestamp`, `deletionTimestamp`, `deletionGracePeriodSeconds`, `annotations`, `ownerReferences`, `finalizers`, `managedFields` (did you mean `labels`?)",
        ),
        (
            r#"{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{"name":"a"},"spec":{"interfaceName":"eth0"}}"#,
            "Node(a): spec: unknown field `interfaceName`, expected one of `bgp`, `ipv4VXLANTunnelAddr`, `vxlanTunnelMACAddr`, `ipv6VXLANTunnelAddr`, `vxlanTunnelMACAddrV6`, `orchRefs`, `wireguard`, `addresses`, `interfaces`",
        ),
        (
            r#"{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{"name":"a"},"spec":{"peerIP":"10.0.0.1","asNumber":1},"status":{}}"#,
            "BGPPeer(a): unknown field `status`, expected one of `apiVersion`, `kind`, `metadata`, `spec`",
        ),
        (
            r#"{"kind":"BGPConfiguration","apiVersion":"projectcalico.org/v3","metadata":{"name":"default"},"spec":{"bindmode":"NodeIP"}}"#,
            "BGPConfiguration(default): spec: unknown field `bindmode`, expected one of `logSeverityScreen`, `nodeToNodeMeshEnabled`, `asNumber`, `listenPort`, `communities`, `prefixAdvertisements`, `serviceClusterIPs`, `serviceExternalIPs`, `serviceLoadBalancerIPs`, `serviceLoadBalancerAggregation`, `nodeMeshPassword`, `nodeMeshMaxRestartTime`, `bindMode`, `ignoredInterfaces`, `localWorkloadPeeringIPV4`, `localWorkloadPeeringIPV6`, `programClusterRoutes`, `ipv4NormalRoutePriority`, `ipv6NormalRoutePriority` (did you mean `bindMode`?)",
        ),
    ];
    for (document, expected) in cases {
        assert_eq!(
            parse_resources(document).unwrap_err().to_string(),
            expected,
            "{document}"
        );
    }
}

#[test]
fn calicos_rules_for_its_other_bgp_peer_fields_apply() {
    let peer = |spec: &str| {
        format!(
            "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {{name: p}}\nspec: {spec}\n"
        )
    };
    let cases = [
        (
            "{peerSelector: all(), reachableBy: 10.0.0.1}",
            "BGPPeer(p): error with field reachableBy = '10.0.0.1' (reachableBy must be empty when peerIP is empty)",
        ),
        (
            "{peerIP: 10.0.0.2, asNumber: 1, reachableBy: 'fd00::1'}",
            "BGPPeer(p): error with field reachableBy = 'fd00::1' (ReachableBy and PeerIP address family mismatched)",
        ),
        (
            "{peerIP: 10.0.0.2, asNumber: 1, reachableBy: gateway}",
            "BGPPeer(p): error with field reachableBy = 'gateway' (must be an IP address)",
        ),
        (
            "{peerIP: 10.0.0.2, asNumber: 1, nextHopMode: Sometimes}",
            "BGPPeer(p): error with field nextHopMode = 'Sometimes' (must be one of: Auto, Self, Keep)",
        ),
        (
            "{peerIP: 10.0.0.2, asNumber: 1, nextHopMode: Keep, keepOriginalNextHop: true}",
            "BGPPeer(p): error with field nextHopMode = 'Keep' (keepOriginalNextHop and nextHopMode cannot both be set; keepOriginalNextHop is deprecated, use nextHopMode instead)",
        ),
        (
            "{peerIP: 10.0.0.2, asNumber: 1, localWorkloadSelector: all()}",
            "BGPPeer(p): error with field peerIP = '10.0.0.2' (peerIP must be empty when localWorkloadSelector is set)",
        ),
        (
            "{localWorkloadSelector: 'app =='}",
            "BGPPeer(p): error with the following fields:\n-  localWorkloadSelector = 'app ==' (invalid selector at position 6: expected a quoted value ('…' or \"…\"))\n-  asNumber (asNumber is required when localWorkloadSelector is set)",
        ),
        (
            "{peerIP: 10.0.0.2, asNumber: 1, localASNumber: 1.1.1}",
            "BGPPeer(p): error with field localASNumber = '1.1.1' (invalid AS Number format)",
        ),
        (
            "{peerIP: 10.0.0.2, asNumber: 1, reversePeering: Sometimes}",
            "BGPPeer(p): error with field reversePeering = 'Sometimes' (must be one of: Auto, Manual)",
        ),
        (
            "{peerIP: 10.0.0.2, asNumber: 1, filters: [Not_A_Name]}",
            "BGPPeer(p): error with field filters = 'Not_A_Name' (must be BGPFilter names (DNS-1123 subdomains))",
        ),
    ];
    for (spec, expected) in cases {
        let text = peer(spec);
        assert_eq!(
            parse_resources(&text).unwrap_err().to_string(),
            expected,
            "{text}"
        );
    }
}

#[test]
fn peers_nodebgp_cannot_run_are_kept_with_the_reasons() {
    // From a datastore and from a file alike.
    let from_store: Resource = serde_json::from_str(calico::EDGE_PEER).unwrap();
    let from_file = parse_resources(calico::EDGE_PEER).unwrap().remove(0);
    assert_eq!(from_store, from_file);
    let Resource::UnsupportedBgpPeer(edge) = from_store else {
        panic!("run with the wrong policy: {from_store:?}")
    };
    assert_eq!(
        edge.reasons,
        [
            "spec.password.secretKeyRef: Kubernetes Secrets are not supported (use password: {file: PATH} or {env: NAME})",
        ]
        .map(str::to_owned)
    );
    assert!(edge.applies_to("rack1-host1", &Default::default()));
    assert!(!edge.applies_to("rack1-host2", &Default::default()));
    assert_eq!(edge.peer_address, Some("10.0.0.254".parse().unwrap()));

    // A local-workload peer runs: with the workloads Felix selects.
    let Resource::BgpPeerV3(workloads) = parse_resources(calico::WORKLOAD_PEER).unwrap().remove(0)
    else {
        panic!("a local-workload peer is run")
    };
    assert_eq!(
        workloads.target,
        peer_store::PeerTarget::LocalWorkloads {
            as_number: peer_store::Asn(65010)
        }
    );
    assert_eq!(
        workloads
            .unmodelled
            .spec_field("localWorkloadSelector")
            .unwrap(),
        "app == 'bgp-speaker'"
    );

    // Calico's newer fields at their defaults change nothing: the peer runs.
    let Resource::BgpPeerV3(tor) = parse_resources(calico::TOR_PEER).unwrap().remove(0) else {
        panic!("the ToR peer is supported")
    };
    assert_eq!(tor.keepalive_time.map(|time| time.as_secs()), Some(20));
    assert_eq!(tor.max_restart_time.map(|time| time.as_secs()), Some(120));
    assert_eq!(tor.unmodelled.spec_field("nextHopMode").unwrap(), "Auto");
    assert_eq!(
        tor.unmodelled.uid(),
        Some("5f1b8c3e-8d2a-4c61-9a8e-3b2f0c9d7e41")
    );

    // A field no Calico nodebgp knows, found in a datastore: kept, not run.
    let newer = r#"{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{"name":"newer"},"spec":{"peerIP":"10.0.0.9","asNumber":65009,"bfdProfile":"fast"}}"#;
    let Resource::UnsupportedBgpPeer(newer) = serde_json::from_str::<Resource>(newer).unwrap()
    else {
        panic!("an unknown BGPPeer field must keep the peer from running")
    };
    assert_eq!(
        newer.reason(),
        "spec.bfdProfile: not a BGPPeer field nodebgp knows, so it cannot tell how the peer should run"
    );
}

#[test]
fn nodes_and_configurations_keep_what_they_do_not_model() {
    let Resource::Node(node) = parse_resources(calico::NODE).unwrap().remove(0) else {
        panic!("not a node")
    };
    assert_eq!(node.ipv4(), Some("10.0.0.11".parse().unwrap()));
    assert_eq!(node.as_number(), Some(peer_store::Asn(64513)));
    assert_eq!(
        node.unmodelled.bgp.get("ipv4IPIPTunnelAddr").unwrap(),
        "192.168.28.0"
    );
    assert!(node.unmodelled.top.contains_key("status"));

    let Resource::BgpConfiguration(configuration) =
        parse_resources(calico::CONFIGURATION).unwrap().remove(0)
    else {
        panic!("not a configuration")
    };
    assert_eq!(configuration.as_number, Some(peer_store::Asn(64512)));
    assert!(
        configuration.unsupported_settings().is_empty(),
        "{:?}",
        configuration.unsupported_settings()
    );
    let secret = configuration.node_mesh_password().unwrap().unwrap_err();
    assert!(
        secret.starts_with("Kubernetes Secrets are not supported"),
        "{secret}"
    );
    assert!(configuration.binds_to_node_ip());
    assert_eq!(
        configuration.node_mesh_max_restart_time(),
        Some(std::time::Duration::from_secs(120))
    );
    let bad = calico::CONFIGURATION.replace(
        r#""nodeMeshMaxRestartTime":"2m0s""#,
        r#""nodeMeshMaxRestartTime":"two minutes""#,
    );
    let message = parse_resources(&bad).unwrap_err().to_string();
    assert!(
        message.contains(
            "BGPConfiguration(default): error with field nodeMeshMaxRestartTime = 'two minutes'"
        ),
        "{message}"
    );
}

#[test]
fn corrupt_keys_are_skipped_and_reported_while_the_rest_is_listed() {
    let server = EtcdServer::start("corrupt-keys");
    server.put_raw(&format!("{V3}/bgppeers/rack1-tor"), calico::TOR_PEER);
    server.put_raw(&format!("{V3}/nodes/rack1-host1"), calico::NODE);
    let bad_ip = calico::TOR_PEER
        .replace("rack1-tor", "bad-ip")
        .replace("192.0.2.1:1790", "192.0.2.300");
    let broken = [
        ("bgppeers/broken", r#"{"kind":"BGPPeer","apiVersion":"#.to_owned()),
        ("bgppeers/bad-ip", bad_ip.clone()),
        (
            "nodes/pool",
            r#"{"kind":"HostEndpoint","apiVersion":"projectcalico.org/v3","metadata":{"name":"pool"},"spec":{"node":"rack1-host1"}}"#.to_owned(),
        ),
        ("nodes/impostor", calico::NODE.to_owned()),
        ("bgppeers/Bad_Name", calico::TOR_PEER.to_owned()),
    ];
    for (key, value) in &broken {
        server.put_raw(&format!("{V3}/{key}"), value);
    }
    let store = server.store("/calico/bgp/v1");

    let listing = store.list_resources(&ResourceFilter::all()).unwrap();
    let names: Vec<String> = listing
        .resources
        .iter()
        .map(|stored| stored.resource.key().to_string())
        .collect();
    assert_eq!(names, ["BGPPeer(rack1-tor)", "Node(rack1-host1)"]);
    let reported: Vec<(String, Option<&str>, Option<&str>)> = listing
        .unreadable
        .iter()
        .map(|bad| (bad.location.clone(), bad.kind, bad.name.as_deref()))
        .collect();
    assert_eq!(
        reported,
        [
            (
                format!("{V3}/bgppeers/Bad_Name"),
                Some("BGPPeer"),
                Some("Bad_Name")
            ),
            (
                format!("{V3}/bgppeers/bad-ip"),
                Some("BGPPeer"),
                Some("bad-ip")
            ),
            (
                format!("{V3}/bgppeers/broken"),
                Some("BGPPeer"),
                Some("broken")
            ),
            (
                format!("{V3}/nodes/impostor"),
                Some("Node"),
                Some("impostor")
            ),
            (format!("{V3}/nodes/pool"), Some("Node"), Some("pool")),
        ]
    );
    let reason = |location: &str| {
        listing
            .unreadable
            .iter()
            .find(|bad| bad.location.ends_with(location))
            .unwrap()
            .reason
            .clone()
    };
    assert!(reason("Bad_Name").starts_with("the key's invalid name 'Bad_Name'"));
    assert!(reason("bad-ip").contains("error with field peerIP = '192.0.2.300'"));
    assert!(reason("broken").contains("value is not a Calico v3 resource"));
    assert!(reason("pool").contains("Unknown resource type (HostEndpoint)"));
    assert!(reason("impostor").contains("value names Node(rack1-host1), the key Node(impostor)"));

    // Listing one kind reports only what may be of that kind.
    let nodes = store
        .list_resources(&ResourceFilter::of_kind(ResourceKind::Node))
        .unwrap();
    assert_eq!(nodes.resources.len(), 1);
    assert_eq!(nodes.unreadable.len(), 2);

    // Applying the resource a bad key should hold replaces the bad value.
    let fixed = bad_ip.replace("192.0.2.300", "192.0.2.30");
    apply_documents(&store, &fixed).unwrap();
    let listing = store.list_resources(&ResourceFilter::all()).unwrap();
    assert_eq!((listing.resources.len(), listing.unreadable.len()), (3, 4));

    // A watch sees a value going bad as the resource going away.
    let before = listing.revision;
    server.put_raw(&format!("{V3}/bgppeers/bad-ip"), "not json");
    let changes = store.resource_changes_since(before).unwrap();
    assert_eq!(changes.changes.len(), 1);
    assert!(
        matches!(&changes.changes[0], peer_store::ResourceChange::Deleted { resource, .. } if resource.key().to_string() == "BGPPeer(bad-ip)"),
        "{changes:?}"
    );
}

/// A document printed by `get` and replaced after someone else changed the
/// resource is refused with Calico's conflict message; so are apply and delete
/// of it; the document read again goes through.
fn stale_resource_versions_are_refused(store: &dyn PeerStore) {
    apply_documents(store, calico::TOR_PEER).unwrap();
    let read = || {
        let listing = store
            .list_resources(&ResourceFilter {
                name: Some("rack1-tor".to_owned()),
                ..ResourceFilter::all()
            })
            .unwrap();
        let revision = listing.resources[0].revision;
        (printed(&listing.resources).remove(0), revision)
    };
    let (mut stale, read_at) = read();
    // Someone else changes the peer.
    apply_documents(
        store,
        &calico::relabelled(calico::TOR_PEER, "rack", "2").to_string(),
    )
    .unwrap();
    let (_, now_at) = read();
    assert!(now_at > read_at);

    stale["metadata"]["labels"]["rack"] = Value::from("3");
    let conflict = format!(
        "update conflict: BGPPeer(rack1-tor) (read at revision {read_at}, now at revision {now_at})"
    );
    let error = replace_documents(store, &stale.to_string()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("Failed to replace 'BGPPeer' resource: {conflict}")
    );
    let error = apply_documents(store, &stale.to_string()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("Failed to apply 'BGPPeer' resource: {conflict}")
    );
    let error = delete_documents(store, &stale.to_string(), BatchOptions::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("Failed to delete 'BGPPeer' resource: {conflict}")
    );
    assert_eq!(read().1, now_at, "nothing was written");

    // An unreadable resourceVersion is an error in the file, not a write.
    stale["metadata"]["resourceVersion"] = Value::from("yesterday");
    let error = replace_documents(store, &stale.to_string()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Error processing input file: BGPPeer(rack1-tor): error with field metadata.resourceVersion = 'yesterday' (must be the revision nodebgp get printed)"
    );

    // Read again, edit, replace: it goes through, and the identity stays.
    let (mut fresh, _) = read();
    let uid = fresh["metadata"]["uid"].clone();
    fresh["metadata"]["labels"]["rack"] = Value::from("3");
    replace_documents(store, &fresh.to_string()).unwrap();
    let (now, _) = read();
    assert_eq!(now["metadata"]["labels"]["rack"], "3");
    assert_eq!(now["metadata"]["uid"], uid);
}

#[test]
fn a_stale_resource_version_is_refused_by_etcd() {
    let server = EtcdServer::start("stale-version");
    stale_resource_versions_are_refused(&server.store("/calico/bgp/v1"));
}

#[test]
fn a_stale_resource_version_is_refused_by_the_file_store() {
    let directory = TemporaryDirectory::new("stale-version");
    stale_resource_versions_are_refused(&FileStore::open(directory.path()).unwrap());
}

#[test]
fn the_store_gives_each_created_resource_its_identity_and_keeps_it() {
    let directory = TemporaryDirectory::new("identity");
    let store = FileStore::open(directory.path()).unwrap();
    // A file's uid and creation time are the store's to set, as in calicoctl.
    apply_documents(&store, calico::NODE).unwrap();
    let created = printed(
        &store
            .list_resources(&ResourceFilter::all())
            .unwrap()
            .resources,
    )
    .remove(0);
    let uid = created["metadata"]["uid"].as_str().unwrap().to_owned();
    let timestamp = created["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(uid, calico::value(calico::NODE)["metadata"]["uid"]);
    assert_eq!(uid.len(), 36);
    assert_eq!(&uid[14..15], "4", "a version-4 UUID: {uid}");
    assert_eq!(timestamp.len(), "2026-12-04T16:00:00Z".len());
    assert!(timestamp.ends_with('Z') && &timestamp[10..11] == "T");
    // Everything else as written.
    assert_eq!(created["status"], calico::value(calico::NODE)["status"]);
    assert_eq!(
        created["metadata"]["annotations"],
        calico::value(calico::NODE)["metadata"]["annotations"]
    );

    let relabelled = calico::relabelled(calico::NODE, "rack", "2");
    apply_documents(&store, &relabelled.to_string()).unwrap();
    let updated = printed(
        &store
            .list_resources(&ResourceFilter::all())
            .unwrap()
            .resources,
    )
    .remove(0);
    assert_eq!(updated["metadata"]["uid"], uid.as_str());
    assert_eq!(updated["metadata"]["creationTimestamp"], timestamp.as_str());
    assert_eq!(updated["metadata"]["labels"]["rack"], "2");
}
