//! The harness's error type.

use crate::Kind;
use std::net::IpAddr;
use std::time::Duration;

/// Everything that can go wrong while driving a lab daemon. Errors raised
/// after a daemon was spawned carry the tail of its log.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A daemon or CLI binary is missing.
    #[error("{kind} is not installed ({binary} missing): run `apt-get install -y {package}`")]
    NotInstalled {
        /// Which daemon.
        kind: Kind,
        /// The missing binary.
        binary: &'static str,
        /// The Debian package to install.
        package: &'static str,
    },
    /// The [`RouterSpec`](crate::RouterSpec) cannot be turned into a config.
    #[error("invalid lab spec: {0}")]
    InvalidSpec(String),
    /// Something already listens on the address and port.
    #[error("{addr} port {port} is already in use ({holder}); pick another address or port")]
    AddressInUse {
        /// Listen address.
        addr: IpAddr,
        /// Listen port.
        port: u16,
        /// Who holds it, as far as /proc tells.
        holder: String,
    },
    /// An I/O error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The daemon did not come up.
    #[error("{name} failed to start: {reason} (run directory {}, kept)\n--- log tail ---\n{log_tail}", run_dir.display())]
    StartFailed {
        /// Instance name.
        name: String,
        /// What went wrong.
        reason: String,
        /// The instance's run directory, kept for inspection.
        run_dir: std::path::PathBuf,
        /// The daemon's log tail.
        log_tail: String,
    },
    /// A CLI command failed or printed an error.
    #[error("`{command}` failed: {detail}")]
    Cli {
        /// The command line.
        command: String,
        /// Exit status and output.
        detail: String,
    },
    /// A wait did not see its condition before the deadline.
    #[error("timed out after {waited:?} waiting for {what}; last seen: {last}\n--- log tail ---\n{log_tail}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long we waited.
        waited: Duration,
        /// The last observed value.
        last: String,
        /// The daemon's log tail.
        log_tail: String,
    },
    /// A daemon's output had an unexpected shape.
    #[error("cannot parse {what}: {detail}")]
    Parse {
        /// What was being parsed.
        what: String,
        /// Why it failed (with an excerpt).
        detail: String,
    },
    /// The daemon is not running, so it cannot be queried.
    #[error("{name} is not running")]
    NotRunning {
        /// Instance name.
        name: String,
    },
}

impl LabError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> LabError {
        LabError::Io {
            context: context.into(),
            source,
        }
    }
}
