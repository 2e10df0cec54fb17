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

mod daemon;
mod decode;
mod resources;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A native BGP speaker for Kubernetes nodes.
#[derive(Debug, Parser)]
#[command(name = "nodebgp", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the BGP daemon for this node.
    Run(Box<daemon::RunArgs>),
    /// Show the live state of every session of a running daemon.
    Status(daemon::StatusArgs),
    /// Node commands as calicoctl has them: `node status`.
    Node {
        #[command(subcommand)]
        command: NodeCommand,
    },
    /// Change the running daemon's log filter (e.g. debug, nodebgp=debug,info).
    LogLevel {
        /// The new filter.
        filter: String,
        /// The daemon's control socket.
        #[arg(long, value_name = "PATH", default_value = "/run/nodebgp/nodebgp.ctl")]
        control_socket: std::path::PathBuf,
    },
    /// Print the client's version, and the running daemon's.
    Version(VersionArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Show routes: the Loc-RIB, or one peer's received or advertised routes.
    Routes(daemon::RoutesArgs),
    /// Ask a peer to send its routes again (ROUTE-REFRESH).
    Refresh(daemon::RefreshArgs),
    /// Create or update resources from a file (`-` for standard input).
    Apply(resources::FileArgs),
    /// Create resources from a file; fails if one exists.
    Create(resources::FileArgs),
    /// Replace resources from a file; fails if one does not exist.
    Replace(resources::FileArgs),
    /// Delete the resources a file names.
    Delete(resources::FileArgs),
    /// List resources: bgppeer (bgppeers bgpp bgpps bp bps), node (nodes no),
    /// bgpconfiguration (bgpconfigurations bgpconfig bgpconfigs).
    Get(resources::GetArgs),
    /// Decode BGP messages (hex lines, a pcap capture or an MRT dump) into JSON,
    /// one object per message.
    Decode(decode::DecodeArgs),
}

#[derive(Debug, Subcommand)]
enum NodeCommand {
    /// The sessions as `calicoctl node status` prints them.
    Status(daemon::NodeStatusArgs),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(arguments) => daemon::run(&arguments),
        Command::Status(arguments) => daemon::print_status(&arguments),
        Command::Node {
            command: NodeCommand::Status(arguments),
        } => daemon::print_node_status(&arguments),
        Command::Version(arguments) => print_version(&arguments),
        Command::LogLevel {
            filter,
            control_socket,
        } => daemon::set_log_level(&control_socket, filter),
        Command::Completion { shell } => {
            use clap::CommandFactory as _;
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("nodebgp: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::Cli;

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
