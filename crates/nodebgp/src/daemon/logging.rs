//! The daemon's log: `tracing` events as text (plain, no colour codes
//! unless standard output is a terminal, so log files stay readable) or as
//! one JSON object per line (`--log-format json`), through a filter that
//! `nodebgp log-level FILTER` replaces while the daemon runs. The control
//! socket's thread changes it directly: a busy manager never delays it.

use std::io::IsTerminal as _;
use std::sync::OnceLock;

use anyhow::{Context as _, Result};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{fmt, reload, EnvFilter, Registry};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per event, for log collectors.
    Json,
}

/// Where the running filter can be replaced.
static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Installs the process's subscriber with `filter` (an `EnvFilter`
/// directive such as `info` or `nodebgp=debug,warn`).
pub(crate) fn init(filter: &str, format: LogFormat) -> Result<()> {
    let filter = EnvFilter::try_new(filter).context("--log-level")?;
    let (filter, handle) = reload::Layer::new(filter);
    let ansi = std::io::stdout().is_terminal();
    let (text, json) = match format {
        LogFormat::Text => (Some(fmt::layer().with_target(false).with_ansi(ansi)), None),
        LogFormat::Json => (None, Some(fmt::layer().json().with_ansi(false))),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .try_init()
        .context("cannot install the log subscriber")?;
    let _ = FILTER.set(handle);
    Ok(())
}

/// Replaces the running filter; the error says why `filter` was refused.
pub(crate) fn set_filter(filter: &str) -> Result<(), String> {
    let parsed =
        EnvFilter::try_new(filter).map_err(|error| format!("bad filter '{filter}': {error}"))?;
    let handle = FILTER
        .get()
        .ok_or_else(|| "this process has no log to change".to_owned())?;
    handle
        .reload(parsed)
        .map_err(|error| format!("cannot change the log filter: {error}"))?;
    tracing::info!(filter, "log filter changed");
    Ok(())
}

/// `nodebgp log-level FILTER`: asks the daemon on `control_socket`.
pub(crate) fn set_log_level(control_socket: &std::path::Path, filter: String) -> Result<()> {
    use super::control::protocol::{Request, Response};
    match super::request(control_socket, &Request::LogLevel { filter })? {
        Response::LogLevel { filter } => {
            println!("log filter is now '{filter}'");
            Ok(())
        }
        Response::Error { message } => anyhow::bail!("{message}"),
        other => anyhow::bail!("the daemon answered {} to log-level", other.kind()),
    }
}
