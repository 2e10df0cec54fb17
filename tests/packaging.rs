//! The packaging files kept honest against the binary: `config/nodebgp.service`
//! verified by `systemd-analyze verify` (where systemd's tools are installed)
//! with its ExecStart pointed at the built `nodebgp`, `config/daemonset.yaml`
//! parsed and its container arguments and probes checked, and
//! `config/Containerfile` read for the binary it builds and runs. Every flag
//! any of them passes must be one `nodebgp run --help` (or `status --help`)
//! lists, so the manifests never drift from the CLI. Nothing is built or
//! started here: no container engine and no systemd as init are needed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use nodebgp_interop::daemon::{nodebgp, scratch};
use serde_yaml::Value;

/// Where the binary lands in the image (Containerfile's COPY and ENTRYPOINT,
/// the unit's ExecStart, the DaemonSet's probes).
const INSTALLED: &str = "/usr/local/bin/nodebgp";

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The long flags `nodebgp <subcommand...> --help` lists as options.
fn flags(subcommand: &[&str]) -> BTreeSet<String> {
    let output = Command::new(nodebgp())
        .args(subcommand)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "nodebgp {subcommand:?} --help failed"
    );
    let help = String::from_utf8(output.stdout).unwrap();
    let flags: BTreeSet<String> = help
        .lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with('-'))
        .flat_map(|line| line.split([' ', ',']))
        .filter(|word| word.starts_with("--"))
        .map(str::to_owned)
        .collect();
    assert!(
        flags.contains("--help"),
        "no options read from `nodebgp {subcommand:?} --help`:\n{help}"
    );
    flags
}

/// Asserts that every `--flag` (or `--flag=value`) among `arguments` is a flag
/// of `nodebgp <subcommand...>`.
fn assert_known_flags<S: AsRef<str>>(arguments: &[S], subcommand: &[&str], what: &str) {
    let known = flags(subcommand);
    for argument in arguments {
        let argument = argument.as_ref();
        if let Some(flag) = argument.strip_prefix("--") {
            let flag = format!("--{}", flag.split('=').next().unwrap());
            assert!(
                known.contains(&flag),
                "{what} passes {flag}, which `nodebgp {} --help` does not list: {known:?}",
                subcommand.join(" ")
            );
        }
    }
}

/// The value after `flag` in `arguments`.
fn value_of<'a, S: AsRef<str>>(arguments: &'a [S], flag: &str) -> Option<&'a str> {
    arguments
        .iter()
        .position(|argument| argument.as_ref() == flag)
        .and_then(|at| arguments.get(at + 1))
        .map(AsRef::as_ref)
}

/// The unit's `Key=value` lines (comments and sections left out).
fn unit_entries(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with(['#', ';', '[']))
        .map(|line| {
            let (key, value) = line.split_once('=').expect("a Key=value line");
            (key.trim().to_owned(), value.trim().to_owned())
        })
        .collect()
}

fn unit_value<'a>(entries: &'a [(String, String)], key: &str) -> &'a str {
    let values: Vec<&str> = entries
        .iter()
        .filter(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(
        values.len(),
        1,
        "config/nodebgp.service: one {key}= expected"
    );
    values[0]
}

#[test]
fn unit_runs_known_flags_with_bounded_capabilities() {
    let unit = read("config/nodebgp.service");
    let entries = unit_entries(&unit);
    let exec: Vec<&str> = unit_value(&entries, "ExecStart")
        .split_whitespace()
        .collect();
    assert_eq!(exec[0], INSTALLED);
    assert_eq!(exec[1], "run");
    assert_known_flags(&exec[2..], &["run"], "config/nodebgp.service's ExecStart");
    let config = value_of(&exec, "--config").expect("ExecStart names a --config file");
    assert!(
        config.ends_with("/nodebgp.yaml"),
        "--config {config}: install config/nodebgp.yaml there"
    );
    // What the settings file's defaults expect systemd to provide.
    let settings = read("config/nodebgp.yaml");
    assert!(settings.contains("datastore: file:/var/lib/nodebgp"));
    assert!(settings.contains("controlSocket: /run/nodebgp/nodebgp.ctl"));
    assert_eq!(unit_value(&entries, "StateDirectory"), "nodebgp");
    assert_eq!(unit_value(&entries, "RuntimeDirectory"), "nodebgp");

    assert_eq!(unit_value(&entries, "Type"), "simple");
    assert_eq!(unit_value(&entries, "KillSignal"), "SIGTERM");
    assert_eq!(unit_value(&entries, "Restart"), "on-failure");
    for key in ["CapabilityBoundingSet", "AmbientCapabilities"] {
        let capabilities: BTreeSet<&str> = unit_value(&entries, key).split_whitespace().collect();
        assert_eq!(
            capabilities,
            BTreeSet::from(["CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE"]),
            "{key}"
        );
    }
    for (key, value) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        (
            "RestrictAddressFamilies",
            "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        ),
        ("RestrictNamespaces", "yes"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("SystemCallArchitectures", "native"),
    ] {
        assert_eq!(unit_value(&entries, key), value, "{key}");
    }
}

#[test]
fn unit_passes_systemd_analyze_verify() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        lab::skip("systemd-analyze is not installed (Debian package systemd)");
        return;
    }
    let binary = nodebgp();
    let unit = read("config/nodebgp.service");
    let rewritten = unit.replace(
        &format!("ExecStart={INSTALLED} "),
        &format!("ExecStart={} ", binary.display()),
    );
    assert_ne!(rewritten, unit, "ExecStart does not start with {INSTALLED}");
    let directory = scratch("packaging-unit");
    let path = directory.join("nodebgp.service");
    std::fs::write(&path, rewritten).unwrap();
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "systemd-analyze verify failed:\n{stderr}"
    );
    // Unknown keys and bad values are only warnings; none may name the unit.
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("nodebgp.service"))
        .collect();
    assert!(
        complaints.is_empty(),
        "systemd-analyze verify complains:\n{}",
        complaints.join("\n")
    );
}

/// The DaemonSet among the manifest's documents.
fn daemonset() -> Value {
    let text = read("config/daemonset.yaml");
    let documents: Vec<Value> = text
        .split("\n---")
        .map(|document| serde_yaml::from_str(document).unwrap())
        .filter(|document: &Value| !document.is_null())
        .collect();
    let mut sets = documents
        .into_iter()
        .filter(|document| document["kind"].as_str() == Some("DaemonSet"));
    let set = sets.next().expect("config/daemonset.yaml has a DaemonSet");
    assert!(sets.next().is_none(), "one DaemonSet");
    assert_eq!(set["apiVersion"].as_str(), Some("apps/v1"));
    set
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("a list expected: {value:?}"))
        .iter()
        .map(|item| {
            item.as_str()
                .unwrap_or_else(|| panic!("a string expected: {item:?}"))
                .to_owned()
        })
        .collect()
}

#[test]
fn daemonset_matches_the_cli() {
    let set = daemonset();
    let spec = &set["spec"]["template"]["spec"];
    assert_eq!(spec["hostNetwork"].as_bool(), Some(true));
    assert_eq!(
        spec["priorityClassName"].as_str(),
        Some("system-node-critical")
    );
    assert!(
        spec["tolerations"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(
                |toleration| toleration["operator"].as_str() == Some("Exists")
                    && toleration.get("key").is_none()
            ),
        "every taint tolerated"
    );
    let containers = spec["containers"].as_sequence().unwrap();
    let container = containers
        .iter()
        .find(|container| container["name"].as_str() == Some("nodebgp"))
        .expect("a nodebgp container");

    let arguments = strings(&container["args"]);
    assert_eq!(arguments[0], "run");
    assert_known_flags(&arguments[1..], &["run"], "config/daemonset.yaml's args");
    assert_eq!(value_of(&arguments, "--node"), Some("$(NODENAME)"));
    assert_eq!(
        value_of(&arguments, "--bird-socket"),
        Some("/var/run/calico/bird.ctl")
    );
    assert_eq!(
        value_of(&arguments, "--bird6-socket"),
        Some("/var/run/calico/bird6.ctl")
    );
    // The datastore from the environment, as calico-node reads it.
    assert_eq!(value_of(&arguments, "--datastore"), None);
    let control = value_of(&arguments, "--control-socket").expect("--control-socket");
    assert!(value_of(&arguments, "--metrics")
        .expect("--metrics")
        .starts_with("127.0.0.1:"));

    // Every $(NAME) the arguments use is set in env; NODENAME from the node.
    let env = container["env"].as_sequence().unwrap();
    let names: BTreeSet<&str> = env
        .iter()
        .map(|variable| variable["name"].as_str().unwrap())
        .collect();
    for variable in [
        "DATASTORE_TYPE",
        "ETCD_ENDPOINTS",
        "ETCD_CA_CERT_FILE",
        "ETCD_CERT_FILE",
        "ETCD_KEY_FILE",
    ] {
        assert!(names.contains(variable), "{variable} is not in env");
    }
    for argument in &arguments {
        let mut rest = argument.as_str();
        while let Some(start) = rest.find("$(") {
            let (name, after) = rest[start + 2..].split_once(')').unwrap();
            assert!(names.contains(name), "$({name}) is not in env");
            rest = after;
        }
    }
    let nodename = env
        .iter()
        .find(|variable| variable["name"].as_str() == Some("NODENAME"))
        .unwrap();
    assert_eq!(
        nodename["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
        Some("spec.nodeName")
    );

    // The sockets' and the store's directories are the host's.
    let mounts: BTreeSet<String> = container["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|mount| mount["mountPath"].as_str().unwrap().to_owned())
        .collect();
    for directory in ["/var/run/calico", "/var/lib/nodebgp", "/run/nodebgp"] {
        assert!(mounts.contains(directory), "{directory} is not mounted");
    }
    for socket in [
        control,
        "/var/run/calico/bird.ctl",
        "/var/run/calico/bird6.ctl",
    ] {
        let parent = Path::new(socket).parent().unwrap().to_str().unwrap();
        assert!(mounts.contains(parent), "{socket}: {parent} is not mounted");
    }

    let capabilities = &container["securityContext"]["capabilities"];
    assert_eq!(
        strings(&capabilities["add"])
            .into_iter()
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["NET_ADMIN".to_owned(), "NET_BIND_SERVICE".to_owned()])
    );

    // Probes: nodebgp's own commands, at the image's path, with known flags.
    // calico-node's -bird-live and -bird-ready, as nodebgp's own probes.
    for (probe, verb) in [("livenessProbe", "live"), ("readinessProbe", "ready")] {
        let command = strings(&container[probe]["exec"]["command"]);
        assert_eq!(command[0], INSTALLED, "{probe}");
        assert_eq!(
            command[1..3],
            ["node".to_owned(), verb.to_owned()],
            "{probe}"
        );
        assert_known_flags(&command[3..], &["node", verb], probe);
        assert_eq!(
            value_of(&command, "--control-socket"),
            Some(control),
            "{probe}"
        );
    }
}

/// The Containerfile's instructions, continuation lines joined, comments
/// left out: (INSTRUCTION, arguments).
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            joined.push(std::mem::take(&mut current));
        }
    }
    assert!(
        current.is_empty(),
        "the Containerfile ends in a continuation"
    );
    joined
        .into_iter()
        .map(|line| {
            let (instruction, arguments) = line.split_once(' ').expect("INSTRUCTION arguments");
            (instruction.to_uppercase(), arguments.trim().to_owned())
        })
        .collect()
}

#[test]
fn containerfile_copies_what_cargo_builds() {
    let text = read("config/Containerfile");
    let instructions = instructions(&text);
    let known = [
        "FROM",
        "RUN",
        "COPY",
        "WORKDIR",
        "ENTRYPOINT",
        "CMD",
        "EXPOSE",
        "ENV",
        "ARG",
        "LABEL",
        "USER",
    ];
    for (instruction, _) in &instructions {
        assert!(
            known.contains(&instruction.as_str()),
            "unexpected instruction {instruction}"
        );
    }
    let stages: Vec<usize> = instructions
        .iter()
        .enumerate()
        .filter(|(_, (instruction, _))| instruction == "FROM")
        .map(|(at, _)| at)
        .collect();
    assert_eq!(stages.len(), 2, "a builder and a runtime stage");
    assert_eq!(stages[0], 0, "FROM comes first");
    let builder: Vec<&str> = instructions[0].1.split_whitespace().collect();
    // The builder's toolchain is the one the linker's function order was
    // made with (crates/nodebgp/build.rs): another one would leave it stale.
    let order = std::fs::read_to_string(root().join("crates/nodebgp/function-order.txt"))
        .expect("crates/nodebgp/function-order.txt");
    let rustc = order
        .lines()
        .find_map(|line| line.strip_prefix("# rustc: rustc "))
        .and_then(|version| version.split_whitespace().next())
        .expect("the list names its rustc");
    assert!(
        builder[0].ends_with(&format!("rust:{rustc}-bookworm")),
        "{builder:?} against the list's rustc {rustc}"
    );
    assert_eq!(&builder[1..], ["AS", "builder"]);
    let runtime = &instructions[stages[1]].1;
    assert!(runtime.ends_with("debian:bookworm-slim"), "{runtime}");

    // The builder's cargo output path: WORKDIR/target/release/<binary>.
    let (build, run) = instructions.split_at(stages[1]);
    let workdir = build
        .iter()
        .rev()
        .find(|(instruction, _)| instruction == "WORKDIR")
        .map(|(_, directory)| directory.as_str())
        .expect("the builder sets WORKDIR");
    assert!(build
        .iter()
        .any(|(instruction, command)| instruction == "RUN"
            && command.contains("cargo build --release")
            && command.contains("-p nodebgp")));
    let binary_name = nodebgp().file_name().unwrap().to_str().unwrap().to_owned();
    let output = format!("{workdir}/target/release/{binary_name}");

    let copy: Vec<&str> = run
        .iter()
        .find(|(instruction, arguments)| {
            instruction == "COPY" && arguments.starts_with("--from=builder ")
        })
        .expect("the runtime stage copies from the builder")
        .1
        .split_whitespace()
        .collect();
    assert_eq!(copy[1..], [output.as_str(), INSTALLED]);
    // Nothing but CA certificates besides the binary.
    for (instruction, command) in run {
        if instruction == "RUN" {
            if let Some((_, packages)) = command.split_once("apt-get install") {
                let packages: Vec<&str> = packages
                    .split("&&")
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .filter(|word| !word.starts_with('-'))
                    .collect();
                assert_eq!(packages, ["ca-certificates"]);
            }
        }
    }

    let entrypoint: Vec<String> = run
        .iter()
        .find(|(instruction, _)| instruction == "ENTRYPOINT")
        .map(|(_, arguments)| serde_json::from_str(arguments).expect("ENTRYPOINT in exec form"))
        .expect("an ENTRYPOINT");
    assert_eq!(entrypoint, [INSTALLED]);
    if let Some((_, arguments)) = run.iter().find(|(instruction, _)| instruction == "CMD") {
        let command: Vec<String> = serde_json::from_str(arguments).expect("CMD in exec form");
        if command.first().map(String::as_str) == Some("run") {
            assert_known_flags(&command[1..], &["run"], "the Containerfile's CMD");
        }
    }
}

/// The crate boundaries show the architecture (issue 14): the resource
/// model has no I/O dependency, and the daemon's reconcile needs only the
/// model, never the datastores.
#[test]
fn the_resource_model_has_no_io_dependencies_and_the_reconcile_needs_no_store() {
    let dependencies = |manifest: &str| toml_like::dependencies(&read(manifest));
    let model = dependencies("crates/calico-model/Cargo.toml");
    for forbidden in [
        "etcd-client",
        "ureq",
        "tokio",
        "hyper",
        "base64",
        "peer-store",
    ] {
        assert!(
            !model.iter().any(|name| name == forbidden),
            "calico-model depends on {forbidden}: {model:?}"
        );
    }
    let manager = dependencies("crates/peer-manager/Cargo.toml");
    assert!(
        manager.iter().any(|name| name == "calico-model"),
        "{manager:?}"
    );
    assert!(
        !manager.iter().any(|name| name == "peer-store"),
        "peer-manager depends on the datastores: {manager:?}"
    );
}

/// Just enough of Cargo.toml: the names under `[dependencies]`.
mod toml_like {
    pub(super) fn dependencies(text: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut inside = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                inside = line == "[dependencies]";
                continue;
            }
            if inside && !line.is_empty() && !line.starts_with('#') {
                if let Some((name, _)) = line.split_once('=') {
                    names.push(name.trim().trim_end_matches(".workspace").to_owned());
                }
            }
        }
        names
    }
}
