//! # nodebgp
//!
//! The node routing daemon and its operator CLI. Each subcommand lives in its
//! own module; this file only parses the command line and reports errors.
//!
//! - `nodebgp decode`: decode BGP messages from hex, pcap or MRT input to JSON.

mod decode;

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
    /// Decode BGP messages (hex lines, a pcap capture or an MRT dump) into JSON,
    /// one object per message.
    Decode(decode::DecodeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
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
