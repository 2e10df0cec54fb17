//! # nodebgp
//!
//! The node routing daemon and its operator CLI. Each subcommand lives in its
//! own module; this file only parses the command line and reports errors.
//!
//! - `nodebgp run`: the daemon for one node.
//! - `nodebgp status`: the live state of its sessions; `nodebgp node status`
//!   the same as `calicoctl node status` prints it.
//! - `nodebgp log-level FILTER`: the running daemon's log filter.
//! - `nodebgp version`: this client's version, and the daemon's when one answers.
//! - `nodebgp completion SHELL`: shell completions.
//! - `nodebgp routes`: its RIBs.
//! - `nodebgp apply|create|replace|delete|get`: bgpPeer, BGPPeer, Node and
//!   BGPConfiguration resources in the datastore.
//! - `nodebgp decode`: decode BGP messages from hex, pcap or MRT input to JSON.

mod conformance;
mod daemon;
mod decode;
mod go_template;
mod resources;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

/// A native BGP speaker for Kubernetes nodes.
#[derive(Debug, Parser)]
#[command(name = "nodebgp", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const RUN_ABOUT: &str = "Run the BGP daemon for this node";
const RUN_EXAMPLES: &str = "Examples:
  nodebgp run --node rack1-host1 --as 64512 --router-id 10.0.0.1 --listen 10.0.0.1
  nodebgp run --config /etc/nodebgp/nodebgp.yaml --bird-socket /var/run/calico/bird.ctl
  DATASTORE_TYPE=etcdv3 ETCD_ENDPOINTS=https://10.0.0.5:2379 nodebgp run --node rack1-host1";

/// `nodebgp run` parsed on its own. The daemon lives on, and what it ran at
/// start stays in its memory: building the whole command tree would keep
/// every other command's argument code there too (benches/RESULTS.md 6.18).
/// The same options, help, version and errors as [`Command::Run`]: a test
/// compares the two.
#[derive(Debug, Parser)]
#[command(
    name = "run",
    bin_name = "nodebgp run",
    display_name = "nodebgp-run",
    version,
    about = RUN_ABOUT,
    after_help = RUN_EXAMPLES
)]
struct RunCommand {
    #[command(flatten)]
    arguments: daemon::RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(about = RUN_ABOUT, after_help = RUN_EXAMPLES)]
    Run(Box<daemon::RunArgs>),
    /// Show the live state of every session of a running daemon.
    #[command(after_help = "Examples:
  nodebgp status
  nodebgp status -o json | jq -r '.peers[] | \"\\(.peer) \\(.state)\"'
  nodebgp status --watch 5")]
    Status(daemon::StatusArgs),
    /// Node commands as calicoctl and calico-node have them: `node status`,
    /// and the probes `node ready` and `node live`.
    Node {
        #[command(subcommand)]
        command: NodeCommand,
    },
    /// Change the running daemon's log filter (e.g. debug, nodebgp=debug,info).
    #[command(after_help = "Examples:
  nodebgp log-level debug
  nodebgp log-level 'nodebgp=debug,warn'")]
    LogLevel {
        /// The new filter.
        filter: String,
        /// The daemon's control socket.
        #[arg(long, value_name = "PATH", default_value = "/run/nodebgp/nodebgp.ctl")]
        control_socket: std::path::PathBuf,
    },
    /// Print the client's version, and the running daemon's.
    #[command(after_help = "Example:
  nodebgp version")]
    Version(VersionArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Examples:
  nodebgp completion bash > /etc/bash_completion.d/nodebgp
  nodebgp completion zsh > \"${fpath[1]}/_nodebgp\"")]
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Show routes: the Loc-RIB, or one peer's received or advertised routes.
    #[command(after_help = "Examples:
  nodebgp routes
  nodebgp routes 10.65.1.7
  nodebgp routes --peer 10.0.0.254 --advertised -o json")]
    Routes(daemon::RoutesArgs),
    /// Ask a peer to send its routes again (ROUTE-REFRESH).
    #[command(after_help = "Example:
  nodebgp refresh 10.0.0.254")]
    Refresh(daemon::RefreshArgs),
    /// Create or update resources from a file (`-` for standard input).
    #[command(after_help = "Examples:
  nodebgp apply -f config/bgppeers.yaml
  nodebgp get bgppeer -o yaml --datastore file:/var/lib/nodebgp | nodebgp apply -f - --datastore etcdv3:http://10.0.0.5:2379")]
    Apply(resources::FileArgs),
    /// Create resources from a file; fails if one exists.
    #[command(after_help = "Examples:
  nodebgp create -f peer.yaml
  nodebgp create -f peers.yaml --skip-exists")]
    Create(resources::FileArgs),
    /// Replace resources from a file; fails if one does not exist.
    #[command(after_help = "Example:
  nodebgp get bgppeer rack1-tor -o yaml > tor.yaml && vi tor.yaml && nodebgp replace -f tor.yaml")]
    Replace(resources::FileArgs),
    /// Delete resources: those a file names, or one by type and name.
    #[command(after_help = "Examples:
  nodebgp delete bgppeer rack1-tor
  nodebgp delete bgppeer 192.168.1.1 --scope node --node rack1-host1
  nodebgp delete -f old-peers.yaml --skip-not-exists")]
    Delete(resources::FileArgs),
    /// List resources: bgppeer (bgppeers bgpp bgpps bp bps), node (nodes no),
    /// bgpconfiguration (bgpconfigurations bgpconfig bgpconfigs), ippool,
    /// blockaffinity, ipamblock.
    #[command(after_help = "Examples:
  nodebgp get bgppeer
  nodebgp get bgppeer rack1-tor -o yaml
  nodebgp get node -o wide
  nodebgp get bgppeer -o go-template='{{range .}}{{range .Items}}{{.Metadata.Name}} {{end}}{{end}}'")]
    Get(resources::GetArgs),
    /// Decode BGP messages (hex lines, a pcap capture or an MRT dump) into JSON,
    /// one object per message.
    #[command(after_help = "Examples:
  nodebgp decode --pcap bgp.pcap | jq 'select(.type == \"NOTIFICATION\")'
  nodebgp decode --summary --mrt updates.20240101.0000.gz
  echo ffffffffffffffffffffffffffffffff001304 | nodebgp decode")]
    Decode(decode::DecodeArgs),
    /// Grade a BGP speaker (this one or any other) against the RFCs: scripted
    /// peers send it valid and malformed messages over TCP and check what it
    /// does, citing the section.
    #[command(after_help = "Examples:
  nodebgp conformance --list
  nodebgp conformance --target 127.0.0.2 --target-as 65000 --print-config frr
  nodebgp conformance --target 127.0.0.2 --target-as 65000 --source 127.0.0.3 --observer 127.0.0.4
  nodebgp conformance --target 10.0.0.1:179 --target-as 65000 --source 10.0.0.9 --only 'update.*' -o junit")]
    Conformance(conformance::ConformanceArgs),
}

#[derive(Debug, Subcommand)]
enum NodeCommand {
    /// The sessions as `calicoctl node status` prints them.
    #[command(after_help = "Example:
  nodebgp node status")]
    Status(daemon::NodeStatusArgs),
    /// Readiness probe, as `calico-node -bird-ready`: exits 0 when ready.
    #[command(after_help = "Examples:
  nodebgp node ready
  nodebgp node ready --family ipv6 --threshold-time 60")]
    Ready(daemon::NodeReadyArgs),
    /// Liveness probe, as `calico-node -bird-live`: exits 0 when the daemon
    /// answers.
    #[command(after_help = "Example:
  nodebgp node live")]
    Live(daemon::NodeLiveArgs),
}

/// Flags of `nodebgp version`.
#[derive(Debug, clap::Args)]
struct VersionArgs {
    /// The daemon's control socket.
    #[arg(long, value_name = "PATH", default_value = "/run/nodebgp/nodebgp.ctl")]
    control_socket: std::path::PathBuf,
}

/// calicoctl's `version` layout: the client, then the daemon when one
/// answers on the control socket (its status report names its node).
fn print_version(arguments: &VersionArgs) -> anyhow::Result<()> {
    println!("Client Version:    v{}", env!("CARGO_PKG_VERSION"));
    match daemon::daemon_version(&arguments.control_socket) {
        Ok(version) => println!("Daemon Version:    v{version}"),
        Err(_) => println!(
            "Daemon Version:    (no daemon answers on {})",
            arguments.control_socket.display()
        ),
    }
    Ok(())
}

/// `PROGRAM run …` parsed by [`RunCommand`]; `None` for every other command.
/// The usage line names the program as the tree's would (its file name).
fn parse_run(arguments: &[OsString]) -> Option<Result<RunCommand, clap::Error>> {
    if arguments.get(1)? != "run" {
        return None;
    }
    let program = arguments
        .first()
        .and_then(|path| Path::new(path).file_name())
        .and_then(|name| name.to_str())
        .unwrap_or("nodebgp");
    let mut command = RunCommand::command().bin_name(format!("{program} run"));
    let parsed = command
        .try_get_matches_from_mut(&arguments[1..])
        .and_then(|matches| RunCommand::from_arg_matches(&matches))
        .map_err(|error| error.format(&mut command));
    Some(parsed)
}

fn main() -> ExitCode {
    let arguments: Vec<OsString> = std::env::args_os().collect();
    if let Some(parsed) = parse_run(&arguments) {
        let run = parsed.unwrap_or_else(|error| error.exit());
        return exit_code(daemon::run(&run.arguments));
    }
    let cli = Cli::parse_from(arguments);
    let result = match cli.command {
        Command::Run(arguments) => daemon::run(&arguments),
        Command::Status(arguments) => daemon::print_status(&arguments),
        Command::Node {
            command: NodeCommand::Status(arguments),
        } => daemon::print_node_status(&arguments),
        Command::Node {
            command: NodeCommand::Ready(arguments),
        } => daemon::check_ready(&arguments),
        Command::Node {
            command: NodeCommand::Live(arguments),
        } => daemon::check_live(&arguments),
        Command::Version(arguments) => print_version(&arguments),
        Command::LogLevel {
            filter,
            control_socket,
        } => daemon::set_log_level(&control_socket, filter),
        Command::Completion { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "nodebgp",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Routes(arguments) => daemon::print_routes(&arguments),
        Command::Refresh(arguments) => daemon::request_refresh(&arguments),
        Command::Apply(arguments) => resources::apply(&arguments, resources::Verb::Apply),
        Command::Create(arguments) => resources::apply(&arguments, resources::Verb::Create),
        Command::Replace(arguments) => resources::apply(&arguments, resources::Verb::Replace),
        Command::Delete(arguments) => resources::apply(&arguments, resources::Verb::Delete),
        Command::Get(arguments) => resources::get(&arguments),
        Command::Decode(arguments) => decode::run(&arguments),
        Command::Conformance(arguments) => conformance::run(&arguments),
    };
    exit_code(result)
}

fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("nodebgp: error: {}", error_text(&error));
            // 1: the command failed; clap exits 2 for a usage error before
            // anything runs, so scripts can tell the two apart.
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each cause once: many errors
/// repeat their source's text in their own (an I/O error wrapping an etcd
/// error), which `{:#}` would print twice.
fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use clap::Parser as _;

    use super::Cli;

    /// `run` parsed on its own (what `main` does with `PROGRAM run …`) is
    /// the command tree's `run`: the same help, usage, version, arguments
    /// and errors, styles included, under whatever name the program has.
    #[test]
    fn run_parsed_alone_is_the_trees_run() {
        use std::ffi::OsString;

        let mut tree = Cli::command();
        tree.build();
        let in_tree = tree.find_subcommand_mut("run").expect("a run subcommand");
        let mut alone = super::RunCommand::command();
        alone.build();
        assert_eq!(
            alone.render_long_help().ansi().to_string(),
            in_tree.render_long_help().ansi().to_string()
        );
        assert_eq!(
            alone.render_help().ansi().to_string(),
            in_tree.render_help().ansi().to_string()
        );
        assert_eq!(alone.render_version(), in_tree.render_version());

        let line = |program: &str, rest: &[&str]| -> Vec<OsString> {
            [program, "run"]
                .iter()
                .chain(rest)
                .map(OsString::from)
                .collect()
        };
        let options = [
            "--node",
            "rack1-host1",
            "--as",
            "64512",
            "--listen",
            "127.0.0.1:1790",
        ];
        for program in ["nodebgp", "/usr/local/bin/calico-bgp"] {
            let arguments = line(program, &options);
            let Ok(super::Command::Run(from_tree)) =
                Cli::try_parse_from(&arguments).map(|cli| cli.command)
            else {
                panic!("the tree does not parse {arguments:?}");
            };
            let from_alone = super::parse_run(&arguments)
                .expect("a run command")
                .expect("run alone parses it")
                .arguments;
            assert_eq!(format!("{from_alone:?}"), format!("{from_tree:?}"));
            let wrong: [&[&str]; 6] = [
                &["--bogus"],
                &["--node"],
                &["--help"],
                &["-h"],
                &["--version"],
                &["-V"],
            ];
            for rest in wrong {
                let arguments = line(program, rest);
                let tree_error = Cli::try_parse_from(&arguments).expect_err("the tree refuses it");
                let alone_error = super::parse_run(&arguments)
                    .expect("a run command")
                    .expect_err("run alone refuses it");
                assert_eq!(alone_error.kind(), tree_error.kind(), "{arguments:?}");
                assert_eq!(
                    alone_error.render().ansi().to_string(),
                    tree_error.render().ansi().to_string(),
                    "{arguments:?}"
                );
            }
        }
        // Any other command, and `run` anywhere but first, go to the tree.
        for other in [
            &["nodebgp", "status"][..],
            &["nodebgp", "Run"],
            &["nodebgp", "--", "run"],
            &["nodebgp"],
        ] {
            let arguments: Vec<OsString> = other.iter().map(OsString::from).collect();
            assert!(super::parse_run(&arguments).is_none(), "{other:?}");
        }
    }

    #[test]
    fn an_error_prints_each_cause_once() {
        let inner = std::io::Error::other("etcd: Unavailable: connection refused");
        let middle = anyhow::Error::new(inner).context(
            "datastore I/O error on /calico/bgp/v1: etcd: Unavailable: connection refused",
        );
        let outer = middle.context("cannot use etcd at http://127.0.0.1:1");
        assert_eq!(
            super::error_text(&outer),
            "cannot use etcd at http://127.0.0.1:1: datastore I/O error on /calico/bgp/v1: etcd: Unavailable: connection refused"
        );
    }

    /// Every verb's `--help` ends with examples, and every example without
    /// shell syntax parses as the command line it shows.
    #[test]
    fn every_verb_shows_examples_that_parse() {
        fn visit(command: &clap::Command, path: &mut Vec<String>, checked: &mut usize) {
            let leaves: Vec<&clap::Command> = command.get_subcommands().collect();
            if leaves.is_empty() {
                let help = command
                    .get_after_help()
                    .map(|text| text.to_string())
                    .unwrap_or_default();
                assert!(
                    help.starts_with("Example"),
                    "`nodebgp {}` has no example",
                    path.join(" ")
                );
                for line in help.lines().skip(1) {
                    let line = line.trim();
                    let plain = !line.contains(['|', '>', '<', '\'', '"', '&', '$', '`'])
                        && line.starts_with("nodebgp ");
                    if plain {
                        let words: Vec<&str> = line.split_whitespace().collect();
                        if let Err(error) = Cli::try_parse_from(&words) {
                            panic!("example {line:?} does not parse: {error}");
                        }
                        *checked += 1;
                    }
                }
                return;
            }
            for leaf in leaves {
                if leaf.get_name() == "help" {
                    continue;
                }
                path.push(leaf.get_name().to_owned());
                visit(leaf, path, checked);
                path.pop();
            }
        }
        let mut checked = 0;
        visit(&Cli::command(), &mut Vec::new(), &mut checked);
        assert!(checked >= 20, "only {checked} examples parsed");
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn completions_name_every_subcommand() {
        let mut script = Vec::new();
        clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut Cli::command(),
            "nodebgp",
            &mut script,
        );
        let script = String::from_utf8(script).unwrap();
        for subcommand in ["run", "status", "node", "version", "completion", "get"] {
            assert!(script.contains(subcommand), "{subcommand}");
        }
    }
}
