//! `nodebgp conformance`: the command line of the `conformance` crate's
//! runner, which grades any BGP speaker (this one, BIRD, FRR, GoBGP, a
//! hardware router) against the RFCs.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Context as _};
use bgp_wire::Asn;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One line per scenario, then the failures' octets and a summary.
    Table,
    /// One JSON document: summary and scenarios.
    Json,
    /// JUnit XML, for CI systems.
    Junit,
}

/// Flags of `nodebgp conformance`.
#[derive(Debug, clap::Args)]
pub(crate) struct ConformanceArgs {
    /// The speaker under test: ADDRESS or ADDRESS:PORT (port 179 by default).
    #[arg(long, value_name = "ADDR[:PORT]", required_unless_present = "list")]
    target: Option<String>,
    /// The speaker's AS (integer or asdot).
    #[arg(long, value_name = "N", required_unless_present = "list")]
    target_as: Option<Asn>,
    /// The runner's AS on the main session.
    #[arg(long, value_name = "N", default_value = "65001")]
    local_as: Asn,
    /// The address the runner connects from: the speaker's configured
    /// neighbour. Defaults to 127.0.0.1 for a loopback target.
    #[arg(long, value_name = "ADDR")]
    source: Option<IpAddr>,
    /// A second neighbour of the speaker, from which the runner watches which
    /// routes the speaker keeps (scenarios that judge a route need it).
    #[arg(long, value_name = "ADDR")]
    observer: Option<IpAddr>,
    /// An iBGP neighbour of the speaker (in its AS) that the speaker connects
    /// to: the runner listens on its port 179 for the collision and iBGP
    /// identifier scenarios.
    #[arg(long, value_name = "ADDR")]
    internal: Option<IpAddr>,
    /// GTSM (RFC 5082) is configured on the speaker for the runner: the
    /// runner sends with TTL 255 and checks that TTL 254 is refused.
    #[arg(long)]
    gtsm: bool,
    /// The TCP MD5 key (RFC 2385) the speaker requires from the runner; the
    /// runner signs with it and checks that unsigned and wrongly signed
    /// sessions are refused.
    #[arg(long, value_name = "PASSWORD")]
    md5_password: Option<String>,
    /// The prefix limit configured on the speaker for the runner (RFC 4486):
    /// the runner sends one more prefix and expects Cease/1.
    #[arg(long, value_name = "N")]
    max_prefix: Option<u32>,
    /// The send hold time configured on the speaker (RFC 9687), in seconds:
    /// the observer stops reading for that long and expects its session
    /// closed. The scenario lasts that long (the RFC suggests 8 minutes).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    send_hold_time: Option<u64>,
    /// The observer's AS.
    #[arg(long, value_name = "N", default_value = "65002")]
    observer_as: Asn,
    /// Run only these scenarios: comma-separated ids or prefixes, `*` allowed
    /// at the end (`open.*,fsm.hold-timer-expiry`).
    #[arg(long, value_name = "PATTERN")]
    only: Option<String>,
    /// Never run these scenarios (same patterns as --only): one known to
    /// crash the speaker, so that the rest can be graded.
    #[arg(long, value_name = "PATTERN")]
    skip: Option<String>,
    /// List the scenarios (id, RFC section, expectation) and exit.
    #[arg(long)]
    list: bool,
    /// Print the configuration KIND (bird, frr, gobgp, nodebgp) needs to be
    /// tested by this runner, and exit.
    #[arg(long, value_name = "KIND")]
    print_config: Option<String>,
    /// A shell command run before each new connection once a session has
    /// ended (restart the speaker, clear its back-off), instead of waiting.
    #[arg(long, value_name = "COMMAND")]
    between: Option<String>,
    /// How long to wait for the speaker to accept a connection again after
    /// an error, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "60")]
    accept_timeout: u64,
    /// How long to wait for a reply the RFC requires, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "5")]
    reply_window: u64,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    format: Format,
}

/// Runs the command. Fails (exit 1) when any scenario failed or could not
/// be run, so that CI can use it as a gate.
pub(crate) fn run(arguments: &ConformanceArgs) -> anyhow::Result<()> {
    let selection = conformance::Selection {
        only: arguments.only.as_deref(),
        skip: arguments.skip.as_deref(),
    };
    if arguments.list {
        for scenario in conformance::scenarios::all() {
            if !selection.includes(scenario.id) {
                continue;
            }
            println!(
                "{:<48} {:<36} {}",
                scenario.id, scenario.rfc, scenario.expected
            );
        }
        return Ok(());
    }
    let config = config(arguments)?;
    if let Some(kind) = &arguments.print_config {
        let Some(text) = conformance::speaker_config::print(kind, &config) else {
            bail!(
                "--print-config: unknown kind {kind:?} (one of {})",
                conformance::speaker_config::KINDS.join(", ")
            );
        };
        print!("{text}");
        return Ok(());
    }
    let interactive = arguments.format == Format::Table;
    let records = conformance::run(config, selection, |record| {
        if interactive {
            eprintln!(
                "{:<6} {}",
                record.outcome.verdict().to_uppercase(),
                record.id
            );
        }
    });
    let mut out = std::io::stdout().lock();
    match arguments.format {
        Format::Table => write!(out, "{}", conformance::report::table(&records))?,
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&conformance::report::json(&records))?
        )?,
        Format::Junit => write!(out, "{}", conformance::report::junit(&records))?,
    }
    let summary = conformance::Summary::of(&records);
    if summary.fail + summary.error > 0 {
        bail!("{summary}");
    }
    Ok(())
}

fn config(arguments: &ConformanceArgs) -> anyhow::Result<conformance::Config> {
    let target_text = arguments
        .target
        .as_deref()
        .context("--target is required")?;
    let target: SocketAddr = match target_text.parse::<SocketAddr>() {
        Ok(address) => address,
        Err(_) => SocketAddr::new(
            target_text.parse().with_context(|| {
                format!("--target {target_text:?}: not ADDRESS or ADDRESS:PORT")
            })?,
            179,
        ),
    };
    let target_as = arguments.target_as.context("--target-as is required")?;
    let source = arguments.source.unwrap_or(match target.ip() {
        IpAddr::V4(address) if address.is_loopback() => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        IpAddr::V6(address) if address.is_loopback() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        _ => bail!("--source is required for a target that is not on loopback"),
    });
    let mut config = conformance::Config::new(target, target_as.0, source);
    config.local_as = arguments.local_as.0;
    config.observer = arguments
        .observer
        .map(|address| (address, arguments.observer_as.0));
    config.internal = arguments.internal;
    config.gtsm = arguments.gtsm;
    config.md5_password = arguments.md5_password.clone();
    config.max_prefix = arguments.max_prefix;
    config.send_hold = arguments.send_hold_time.map(Duration::from_secs);
    config.between = arguments.between.clone();
    config.accept_timeout = Duration::from_secs(arguments.accept_timeout);
    config.reply_window = Duration::from_secs(arguments.reply_window);
    Ok(config)
}
