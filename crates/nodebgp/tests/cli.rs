//! The resource verbs as an operator types them, end to end against the
//! embedded file store: calicoctl's aliases, output formats, messages and
//! exit codes, including the mistakes (an existing resource, a bad field, a
//! typo, a missing file, an unknown kind, a bad template).

use std::path::PathBuf;
use std::process::{Command, Output};

const TWO_PEERS: &str = "\
apiVersion: v1
kind: bgpPeer
metadata: {scope: global, peerIP: 192.168.1.1}
spec: {asNumber: 64567}
---
apiVersion: v1
kind: bgpPeer
metadata: {scope: node, node: rack1-host1, peerIP: 192.168.1.2}
spec: {asNumber: \"1.10\"}
";

/// A fresh directory for one test's store and files, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let directory =
            std::env::temp_dir().join(format!("nodebgp-cli-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        Scratch(directory)
    }

    /// Writes `text` to `name` in the directory and returns its path.
    fn file(&self, name: &str, text: &str) -> String {
        let file = self.0.join(name);
        std::fs::write(&file, text).unwrap();
        file.display().to_string()
    }

    /// Runs `nodebgp ARGS --datastore file:DIR/store`.
    fn run(&self, arguments: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_nodebgp"))
            .args(arguments)
            .arg("--datastore")
            .arg(format!("file:{}", self.0.join("store").display()))
            .output()
            .unwrap()
    }

    /// Standard output of a command that must succeed.
    fn ok(&self, arguments: &[&str]) -> String {
        let output = self.run(arguments);
        assert!(output.status.success(), "{arguments:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    }

    /// Standard error of a command that must fail (exit code 1).
    fn fails(&self, arguments: &[&str]) -> String {
        let output = self.run(arguments);
        assert_eq!(output.status.code(), Some(1), "{arguments:?}: {output:?}");
        String::from_utf8(output.stderr).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn create_skip_exists_and_an_all_or_nothing_file() {
    let scratch = Scratch::new("create");
    let peers = scratch.file("peers.yaml", TWO_PEERS);
    assert_eq!(
        scratch.ok(&["create", "-f", &peers]),
        "Successfully created 2 'bgpPeer' resource(s)\n"
    );
    assert_eq!(
        scratch.fails(&["create", "-f", &peers]),
        "nodebgp: error: Failed to create any 'bgpPeer' resources: resource already exists: BGPPeer(global, ip=192.168.1.1)\n"
    );
    assert_eq!(
        scratch.ok(&["create", "-f", &peers, "--skip-exists"]),
        "Successfully created 2 'bgpPeer' resource(s)\n"
    );
    // The second of three exists: nothing of the file is written (the store
    // is transactional; calicoctl would have left the first one created).
    let three = scratch.file(
        "three.yaml",
        &TWO_PEERS.replace("192.168.1.2", "192.168.1.3").replacen(
            "apiVersion",
            "apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIP: 192.168.1.4}\nspec: {asNumber: 1}\n---\napiVersion",
            1,
        ),
    );
    let failure = scratch.fails(&["create", "-f", &three]);
    assert!(
        failure.contains("resource already exists: BGPPeer(global, ip=192.168.1.1)"),
        "{failure}"
    );
    let listed = scratch.ok(&["get", "bgppeer"]);
    assert!(
        !listed.contains("192.168.1.4") && !listed.contains("192.168.1.3"),
        "{listed}"
    );
    assert_eq!(
        scratch.ok(&["apply", "-f", &three]),
        "Successfully applied 3 'bgpPeer' resource(s)\n"
    );
}

#[test]
fn get_speaks_calicoctls_aliases_and_formats() {
    let scratch = Scratch::new("get");
    let peers = scratch.file("peers.yaml", TWO_PEERS);
    scratch.ok(&["create", "-f", &peers]);
    let table = "SCOPE    PEERIP        NODE          ASN     \n\
                 global   192.168.1.1                 64567   \n\
                 node     192.168.1.2   rack1-host1   65546   \n\n";
    // Every alias, in any case.
    for alias in ["bgppeer", "BGPPeers", "bgpp", "BGPPS", "bp", "bps"] {
        assert_eq!(scratch.ok(&["get", alias]), table, "{alias}");
    }
    assert_eq!(
        scratch.ok(&["get", "bgppeer", "--scope", "node"]),
        "SCOPE   PEERIP        NODE          ASN     \n\
         node    192.168.1.2   rack1-host1   65546   \n\n"
    );
    let one: serde_json::Value =
        serde_json::from_str(&scratch.ok(&["get", "bgppeer", "192.168.1.1", "-o", "json"]))
            .unwrap();
    assert_eq!(one["kind"], "bgpPeer");
    assert_eq!(one["spec"]["asNumber"], 64567);
    let yaml = scratch.ok(&["get", "bgppeer", "-o", "yaml"]);
    assert!(yaml.contains("peerIP: 192.168.1.2"), "{yaml}");
    assert_eq!(
        scratch.ok(&[
            "get",
            "bp",
            "-o",
            "go-template={{range .}}{{.Kind}}:{{range .Items}} {{.Metadata.PeerIP}}/{{.Spec.ASNumber}}{{end}}{{end}}",
        ]),
        "bgpPeerList: 192.168.1.1/64567 192.168.1.2/65546"
    );
    let template = scratch.file("peers.tmpl", "{{range .}}{{len .Items}}{{end}}\n");
    assert_eq!(
        scratch.ok(&["get", "bp", "-o", &format!("go-template-file={template}")]),
        "2\n"
    );
    assert_eq!(
        scratch.fails(&["get", "bp", "-o", "go-template={{range .}}"]),
        "nodebgp: error: template: get: unexpected EOF\n"
    );
    assert_eq!(
        scratch.fails(&["get", "routers"]),
        "nodebgp: error: Resource type 'routers' is not supported\n"
    );
    // A usage error exits 2, before anything is read.
    let refused = scratch.run(&["get", "bp", "-o", "table"]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let refused = String::from_utf8_lossy(&refused.stderr);
    assert!(
        refused.contains("unrecognized output format 'table'"),
        "{refused}"
    );
}

#[test]
fn mistakes_name_the_resource_and_field() {
    let scratch = Scratch::new("mistakes");
    let bad = scratch.file(
        "bad.yaml",
        "apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIP: 10.0.0.300}\nspec: {asNumber: 1}\n",
    );
    assert_eq!(
        scratch.fails(&["create", "-f", &bad]),
        "nodebgp: error: Error processing input file: bgpPeer(peerIP=10.0.0.300): error with field peerIP = '10.0.0.300' (invalid IP address)\n"
    );
    let typo = scratch.file(
        "typo.yaml",
        "apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIp: 10.0.0.3}\nspec: {asNumber: 1}\n",
    );
    let failure = scratch.fails(&["apply", "-f", &typo]);
    assert!(failure.contains("unknown field `peerIp`"), "{failure}");
    let missing = scratch.0.join("nosuch.yaml").display().to_string();
    assert_eq!(
        scratch.fails(&["replace", "-f", &missing]),
        format!("nodebgp: error: cannot read {missing}: No such file or directory (os error 2)\n")
    );
    // Nothing was stored by any of them.
    assert_eq!(
        scratch.ok(&["get", "bgppeer"]),
        "NAME   PEERIP   NODE   ASN   \n\n"
    );
}

#[test]
fn version_and_completions_need_no_daemon() {
    let scratch = Scratch::new("version");
    let socket = scratch.0.join("none.ctl");
    let output = Command::new(env!("CARGO_BIN_EXE_nodebgp"))
        .args(["version", "--control-socket"])
        .arg(&socket)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!(
            "Client Version:    v{}\nDaemon Version:    (no daemon answers on {})\n",
            env!("CARGO_PKG_VERSION"),
            socket.display()
        )
    );
    for shell in ["bash", "zsh", "fish"] {
        let output = Command::new(env!("CARGO_BIN_EXE_nodebgp"))
            .args(["completion", shell])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let script = String::from_utf8(output.stdout).unwrap();
        assert!(
            script.contains("bgppeer") || script.contains("node"),
            "{shell}"
        );
        assert!(
            script.contains("go-template") || script.contains("ready"),
            "{shell}"
        );
    }
}

#[test]
fn a_missing_name_fails_and_lists_always_have_items() {
    let scratch = Scratch::new("shapes");
    assert_eq!(
        scratch.fails(&["get", "bgppeer", "nosuch"]),
        "nodebgp: error: resource does not exist: BGPPeer(nosuch)\n"
    );
    assert_eq!(
        scratch.fails(&["get", "node", "nosuch"]),
        "nodebgp: error: resource does not exist: Node(nosuch)\n"
    );
    assert_eq!(
        scratch.fails(&["get", "bgppeer", "10.9.9.9"]),
        "nodebgp: error: resource does not exist: bgpPeer(10.9.9.9)\n"
    );
    // Looking created nothing: no store directory, no lock file.
    assert!(!scratch.0.join("store").exists());

    let peers = scratch.file("peers.yaml", TWO_PEERS);
    scratch.ok(&["create", "-f", &peers]);
    let v1: serde_json::Value =
        serde_json::from_str(&scratch.ok(&["get", "bgppeer", "-o", "json"])).unwrap();
    assert_eq!(
        (v1["apiVersion"].as_str(), v1["kind"].as_str()),
        (Some("v1"), Some("bgpPeerList"))
    );
    assert_eq!(v1["items"].as_array().map(Vec::len), Some(2));
    let v3 = scratch.file(
        "v3.yaml",
        "apiVersion: projectcalico.org/v3\nkind: BgpPeer\nmetadata: {name: rack-a}\nspec: {peerIP: 10.0.0.9, asNumber: 65009, nodeSelector: rack == 'a'}\n",
    );
    assert_eq!(
        scratch.ok(&["create", "-f", &v3]),
        "Successfully created 1 'BGPPeer' resource(s)\n"
    );
    let mixed: serde_json::Value =
        serde_json::from_str(&scratch.ok(&["get", "bgppeer", "-o", "json"])).unwrap();
    assert_eq!(mixed["kind"], "BGPPeerList");
    assert_eq!(mixed["items"].as_array().map(Vec::len), Some(3));
    // The list reads back.
    let listed = scratch.file("listed.json", &serde_json::to_string(&mixed).unwrap());
    assert_eq!(
        scratch.ok(&["apply", "-f", &listed]),
        "Successfully applied 3 resource(s)\n"
    );

    // --node: the peers this node has, the selected v3 one included once
    // the node carries the label.
    let names = |node: &str| {
        scratch.ok(&[
            "get",
            "bgppeer",
            "--node",
            node,
            "-o",
            "go-template={{range .}}{{range .Items}}{{or .Metadata.Name .Metadata.PeerIP}} {{end}}{{end}}",
        ])
    };
    assert_eq!(names("rack1-host1"), "192.168.1.1 192.168.1.2 ");
    assert_eq!(names("rack2-host1"), "192.168.1.1 ");
    let node = scratch.file(
        "node.yaml",
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: rack2-host1, labels: {rack: a}}\nspec: {}\n",
    );
    scratch.ok(&["create", "-f", &node]);
    assert_eq!(names("rack2-host1"), "192.168.1.1 rack-a ");
}

#[test]
fn a_misspelt_field_is_named_with_its_resource_and_a_suggestion() {
    let scratch = Scratch::new("typo");
    let typo = scratch.file(
        "typo.yaml",
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: tor}\nspec: {peerIp: 10.0.0.1, asNumber: 1}\n",
    );
    let failure = scratch.fails(&["create", "-f", &typo]);
    assert!(
        failure.starts_with("nodebgp: error: Error processing input file: BGPPeer(tor): spec: unknown field `peerIp`"),
        "{failure}"
    );
    assert!(failure.ends_with("(did you mean `peerIP`?)\n"), "{failure}");
}
