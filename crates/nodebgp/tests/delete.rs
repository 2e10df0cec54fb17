//! `nodebgp delete TYPE NAME` and `delete -f FILE` end to end, against the
//! embedded file store: calicoctl's messages, `--skip-not-exists`, and a
//! non-zero exit on failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const RESOURCES: &str = "\
apiVersion: v1
kind: bgpPeer
metadata: {scope: node, node: rack1-host1, peerIP: 192.168.1.1}
spec: {asNumber: 64512}
---
apiVersion: v1
kind: bgpPeer
metadata: {scope: global, peerIP: 192.168.1.2}
spec: {asNumber: 64512}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: rack1-tor}
spec: {peerIP: 10.0.0.1, asNumber: 64513}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pools-1}
spec: {cidr: 10.244.0.0/16}
";

/// A fresh directory for one test's store and files, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let directory =
            std::env::temp_dir().join(format!("nodebgp-delete-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        Scratch(directory)
    }

    fn datastore(&self) -> String {
        format!("file:{}", self.0.join("store").display())
    }

    /// Runs `nodebgp ARGS --datastore file:DIR`.
    fn run(&self, arguments: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_nodebgp"))
            .args(arguments)
            .arg("--datastore")
            .arg(self.datastore())
            .output()
            .unwrap()
    }

    /// Stores [`RESOURCES`] and returns the file holding them.
    fn with_resources(&self) -> PathBuf {
        let file = self.0.join("resources.yaml");
        std::fs::write(&file, RESOURCES).unwrap();
        let created = self.run(&["create", "-f", path(&file)]);
        assert_success(&created, "Successfully created 4 resource(s)");
        file
    }

    /// What `get TYPE -o yaml` lists.
    fn get(&self, kind: &str) -> String {
        let output = self.run(&["get", kind, "-o", "yaml"]);
        assert!(output.status.success(), "get failed: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn path(file: &Path) -> &str {
    file.to_str().unwrap()
}

fn assert_success(output: &Output, stdout: &str) {
    assert!(output.status.success(), "failed: {output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim_end(), stdout);
}

fn assert_failure(output: &Output, stderr: &str) {
    assert!(!output.status.success(), "succeeded: {output:?}");
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains(stderr), "stderr {text:?} lacks {stderr:?}");
}

#[test]
fn a_node_scoped_v1_peer_is_deleted_by_peer_ip_scope_and_node() {
    let scratch = Scratch::new("v1-node");
    scratch.with_resources();
    let deleted = scratch.run(&[
        "delete",
        "bgppeer",
        "192.168.1.1",
        "--scope",
        "node",
        "--node",
        "rack1-host1",
    ]);
    assert_success(&deleted, "Successfully deleted 1 'bgpPeer' resource(s)");
    let peers = scratch.get("bgppeers");
    assert!(!peers.contains("192.168.1.1"), "{peers}");
    assert!(peers.contains("192.168.1.2"), "{peers}");
    assert!(peers.contains("rack1-tor"), "{peers}");
}

#[test]
fn a_global_v1_peer_is_deleted_by_peer_ip_alone() {
    let scratch = Scratch::new("v1-global");
    scratch.with_resources();
    let deleted = scratch.run(&["delete", "BP", "192.168.1.2"]);
    assert_success(&deleted, "Successfully deleted 1 'bgpPeer' resource(s)");
    let peers = scratch.get("bgppeer");
    assert!(!peers.contains("192.168.1.2"), "{peers}");
    assert!(peers.contains("192.168.1.1"), "{peers}");
}

#[test]
fn a_v3_bgp_peer_and_an_ip_pool_are_deleted_by_name() {
    let scratch = Scratch::new("v3");
    scratch.with_resources();
    let deleted = scratch.run(&["delete", "bgppeer", "rack1-tor"]);
    assert_success(&deleted, "Successfully deleted 1 'BGPPeer' resource(s)");
    assert!(!scratch.get("bgppeer").contains("rack1-tor"));
    let deleted = scratch.run(&["delete", "pools", "pools-1"]);
    assert_success(&deleted, "Successfully deleted 1 'IPPool' resource(s)");
    assert!(!scratch.get("ippool").contains("pools-1"));
}

#[test]
fn a_missing_resource_fails_unless_skipped() {
    let scratch = Scratch::new("missing");
    scratch.with_resources();
    // The peer exists globally, not for this node.
    let missing = ["delete", "bgppeer", "192.168.1.2", "--node", "rack1-host1"];
    assert_failure(
        &scratch.run(&missing),
        "Failed to delete 'bgpPeer' resource: resource does not exist: BGPPeer(node=rack1-host1, ip=192.168.1.2)",
    );
    let mut skipped = missing.to_vec();
    skipped.push("--skip-not-exists");
    assert_success(
        &scratch.run(&skipped),
        "Successfully deleted 1 'bgpPeer' resource(s)",
    );
    assert_failure(
        &scratch.run(&["delete", "node", "x"]),
        "resource does not exist: Node(x)",
    );
    assert_success(
        &scratch.run(&["delete", "node", "x", "--skip-not-exists"]),
        "Successfully deleted 1 'Node' resource(s)",
    );
    // Nothing else was touched.
    assert!(scratch.get("bgppeer").contains("192.168.1.2"));
}

#[test]
fn delete_from_a_file_still_works() {
    let scratch = Scratch::new("file");
    let file = scratch.with_resources();
    assert_success(
        &scratch.run(&["delete", "-f", path(&file)]),
        "Successfully deleted 4 resource(s)",
    );
    assert!(scratch.get("bgppeer").ends_with("items: []\n"));
}

#[test]
fn delete_needs_exactly_one_of_a_file_or_a_type_and_name() {
    let scratch = Scratch::new("usage");
    let file = scratch.with_resources();
    assert_failure(
        &scratch.run(&["delete"]),
        "delete needs -f FILE or TYPE NAME",
    );
    assert_failure(
        &scratch.run(&["delete", "-f", path(&file), "bgppeer", "rack1-tor"]),
        "not both",
    );
    assert_failure(
        &scratch.run(&["delete", "ippool"]),
        "delete ippool: missing NAME",
    );
    assert_failure(
        &scratch.run(&["delete", "hostendpoint", "x"]),
        "Resource type 'hostendpoint' is not supported",
    );
    assert_failure(
        &scratch.run(&["delete", "bgppeer", "192.168.1.2", "--scope", "bogus"]),
        "Unrecognized scope 'bogus', must be one of: global, node",
    );
    assert_failure(
        &scratch.run(&["delete", "bgppeer", "192.168.1.2", "--scope", "node"]),
        "insufficient identifiers, missing 'node'",
    );
    assert_failure(
        &scratch.run(&[
            "delete",
            "bgppeer",
            "192.168.1.2",
            "--scope",
            "global",
            "--node",
            "n",
        ]),
        "no BGP Peer node name should be specified when scope is global",
    );
    assert_failure(
        &scratch.run(&["delete", "ippool", "pools-1", "--node", "n"]),
        "--scope and --node only apply to a v1 bgpPeer",
    );
    // The other verbs still take only a file.
    assert_failure(&scratch.run(&["apply"]), "apply needs -f FILE");
    assert_failure(
        &scratch.run(&["create", "bgppeer", "rack1-tor"]),
        "create takes only -f FILE",
    );
    // Nothing was deleted.
    assert!(scratch.get("ippool").contains("pools-1"));
}
