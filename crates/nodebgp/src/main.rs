//! # nodebgp
//!
//! The node routing daemon and its operator CLI. Each subcommand lives in its
//! own module; this file only parses the command line and reports errors.
//!
//! - `nodebgp run`: the daemon for one node.
//! - `nodebgp status`: the live state of its sessions.
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(arguments) => daemon::run(&arguments),
        Command::Status(arguments) => daemon::print_status(&arguments),
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
