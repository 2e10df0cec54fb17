//! The daemon's settings: a YAML file, overridden flag by flag from the
//! command line, so that a node starts without writing one.

// The flags' doc comments are clap's --help text, where `[::]:179` and
// `[V6]:PORT` mean addresses, not links: rustdoc must not read them as links.
#![allow(rustdoc::broken_intra_doc_links)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use bgp_wire::{Asn, Community, HoldTime, LargeCommunity, RouterId};
use ipnet::IpNet;
use peer_store::EtcdAccess;
use serde::Deserialize;

/// The BGP port (RFC 4271 §8.2.1).
pub(crate) const BGP_PORT: u16 = 179;
/// Calico's default AS for nodes.
const DEFAULT_AS: Asn = Asn(64512);

/// Flags of `nodebgp run`; each overrides the same setting of the file.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct RunArgs {
    /// YAML settings file (see config/nodebgp.yaml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// This node's name, as bgpPeer resources refer to it (default: the host name).
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
    /// The local AS, plain or asdot (default 64512).
    #[arg(long = "as", value_name = "ASN")]
    asn: Option<String>,
    /// The BGP Identifier (default: the first IPv4 listen address).
    #[arg(long, value_name = "ID")]
    router_id: Option<Ipv4Addr>,
    /// Address to listen on, ADDR or ADDR:PORT ([V6]:PORT); repeatable
    /// (default 0.0.0.0:179 and [::]:179). A specific address is also the
    /// source address of outgoing sessions of its family.
    #[arg(long, value_name = "ADDR[:PORT]")]
    listen: Vec<String>,
    /// Where bgpPeer resources are read: file:DIR (the embedded store),
    /// etcdv3:URL[,URL...], or etcdv2:URL[,URL...] (a Calico v1 datastore).
    /// Takes precedence over --calico-config and the environment.
    #[arg(long, value_name = "URL")]
    datastore: Option<String>,
    /// calicoctl's client configuration file (apiVersion
    /// projectcalico.org/v3, kind CalicoAPIConfig) naming the datastore,
    /// when --datastore is not given. Without either, the datastore comes
    /// from the environment as calico-node reads it (DATASTORE_TYPE,
    /// ETCD_ENDPOINTS, ETCD_USERNAME, ETCD_PASSWORD, ETCD_CA_CERT_FILE,
    /// ETCD_CERT_FILE, ETCD_KEY_FILE), else the embedded store in
    /// /var/lib/nodebgp.
    #[arg(long, value_name = "FILE")]
    calico_config: Option<PathBuf>,
    /// Unix socket that `nodebgp status`, `routes` and `refresh` talk to
    /// (default /run/nodebgp/nodebgp.ctl); mode 0600: root and nodebgp's
    /// own user only.
    #[arg(long, value_name = "PATH")]
    control_socket: Option<PathBuf>,
    /// Also let this group (a name or a GID) use the control socket: it is
    /// then owned by the group, mode 0660. A client is let in by its
    /// primary group: run it as `sg GROUP -c 'nodebgp status'` otherwise.
    #[arg(long, value_name = "GROUP")]
    control_socket_group: Option<String>,
    /// Where Felix writes the node's workload endpoint status files, read for
    /// BGPPeers with a `localWorkloadSelector` (default: calico-node's,
    /// $CALICO_ENDPOINT_STATUS_PATH_PREFIX/endpoint-status, else
    /// /var/run/calico/endpoint-status).
    #[arg(long, value_name = "DIRECTORY")]
    endpoint_status_dir: Option<PathBuf>,
    /// Also serve BIRD's control socket here for the IPv4 sessions, as
    /// calico-node's tools expect (e.g. /var/run/calico/bird.ctl): `show
    /// protocols [all NAME]`, `show status`, `show route count`. Off unless given.
    #[arg(long, value_name = "PATH")]
    bird_socket: Option<PathBuf>,
    /// The same for the IPv6 sessions (e.g. /var/run/calico/bird6.ctl).
    #[arg(long, value_name = "PATH")]
    bird6_socket: Option<PathBuf>,
    /// Serve Prometheus metrics over HTTP at http://ADDR:PORT/metrics (e.g.
    /// 127.0.0.1:9091 or [::]:9091). Off unless given; unauthenticated, so
    /// bind it where only the scraper reaches.
    #[arg(long, value_name = "ADDR:PORT")]
    metrics: Option<SocketAddr>,
    /// A prefix this node originates to all its peers, optionally followed by
    /// communities to attach, standard `A:B` or large `G:L1:L2`
    /// (e.g. "10.244.1.0/24 65000:100 64512:1:2"); repeatable.
    #[arg(long, value_name = "PREFIX [COMMUNITY...]")]
    advertise: Vec<String>,
    /// Hold time to propose, in seconds (default 90).
    #[arg(long, value_name = "SECONDS")]
    hold_time: Option<u16>,
    /// ConnectRetry time in seconds (default 5, like Calico's BIRD).
    #[arg(long, value_name = "SECONDS")]
    connect_retry: Option<u64>,
    /// Send hold time in seconds (RFC 9687): a peer that takes nothing we
    /// write for this long loses its session. Default: twice the negotiated
    /// hold time, at least 8 minutes, as the RFC suggests.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    send_hold_time: Option<u64>,
    /// Wait before restarting a session after an error, MIN,MAX seconds
    /// (BIRD's `error wait time`): MIN after the first error, doubling on
    /// each further one until a session is established, at most MAX
    /// (default 5,300).
    #[arg(long, value_name = "MIN,MAX")]
    error_wait: Option<String>,
    /// Negotiate IPv4 and IPv6 unicast on every session (MP-BGP, RFC 4760);
    /// by default a session carries the family of its peer's address.
    #[arg(long)]
    all_families: bool,
    /// Log filter, e.g. info or nodebgp=debug (default: $RUST_LOG or info).
    #[arg(long, value_name = "FILTER")]
    log_level: Option<String>,
    /// Log lines as text (default) or one JSON object each.
    #[arg(long, value_enum, value_name = "FORMAT")]
    log_format: Option<super::logging::LogFormat>,
    /// Do not install learned routes into the kernel (by default they are,
    /// where nodebgp has CAP_NET_ADMIN).
    #[arg(long)]
    no_fib: bool,
    /// Install kernel routes in this network namespace (a name under
    /// /run/netns, as `ip netns add` makes) instead of nodebgp's own.
    #[arg(long, value_name = "NAME")]
    fib_netns: Option<String>,
    /// The node's IPv4 address as next hop of what it advertises (default:
    /// the session's own address, or the IPv4 listen address).
    #[arg(long, value_name = "ADDRESS")]
    ipv4_next_hop: Option<Ipv4Addr>,
    /// The node's IPv6 address as next hop of the IPv6 routes it advertises
    /// over IPv4 sessions (default: the session's or the IPv6 listen address).
    #[arg(long, value_name = "ADDRESS")]
    ipv6_next_hop: Option<Ipv6Addr>,
    /// Kernel routing table for learned routes (default 254, main).
    #[arg(long, value_name = "TABLE")]
    fib_table: Option<u32>,
    /// Give every kernel route its own next hop, not a shared next-hop
    /// object (`ip nexthop`), for tools that cannot handle those.
    #[arg(long)]
    no_fib_next_hop_objects: bool,
    /// Most equal-cost paths installed per prefix (default 8; 1 disables ECMP).
    #[arg(long, value_name = "N")]
    max_paths: Option<usize>,
    /// Leave without graceful restart: SIGTERM then sends a Cease to every
    /// peer and removes nodebgp's kernel routes (RFC 4724 is on by default).
    #[arg(long)]
    no_graceful_restart: bool,
    /// Restart Time announced in the Graceful Restart capability, seconds
    /// (default 120).
    #[arg(long, value_name = "SECONDS")]
    restart_time: Option<u16>,
    /// Long-lived graceful restart (RFC 9494): announce it with this
    /// Long-lived Stale Time, and keep a peer's routes, least preferred, up to
    /// this long after its restart time when it announced it too (default
    /// off; at most 16777215 seconds).
    #[arg(long, value_name = "SECONDS")]
    long_lived_stale_time: Option<u32>,
    /// Act as a route reflector with this cluster id (RFC 4456); iBGP peers
    /// are then its clients.
    #[arg(long, value_name = "ID")]
    cluster_id: Option<Ipv4Addr>,
    /// Re-advertise routes learned over eBGP to other eBGP peers (a node is
    /// not a transit router by default).
    #[arg(long)]
    transit: bool,
    /// Most prefixes accepted from one peer; more tear the session down with
    /// Cease / Maximum Number of Prefixes Reached (RFC 4486) unless
    /// --max-prefix-warn-only.
    #[arg(long, value_name = "N")]
    max_prefix: Option<usize>,
    /// Only log when a peer exceeds --max-prefix.
    #[arg(long)]
    max_prefix_warn_only: bool,
    /// Seconds before a session torn down for too many prefixes starts again
    /// (default 60).
    #[arg(long, value_name = "SECONDS")]
    max_prefix_restart: Option<u64>,
}

/// The settings file; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettingsFile {
    node: Option<String>,
    as_number: Option<serde_yaml::Value>,
    router_id: Option<Ipv4Addr>,
    listen: Option<Vec<String>>,
    datastore: Option<String>,
    control_socket: Option<PathBuf>,
    control_socket_group: Option<String>,
    endpoint_status_dir: Option<PathBuf>,
    bird_socket: Option<PathBuf>,
    bird6_socket: Option<PathBuf>,
    metrics: Option<SocketAddr>,
    advertise: Option<Vec<String>>,
    hold_time: Option<u16>,
    connect_retry: Option<u64>,
    send_hold_time: Option<u64>,
    /// `[MIN, MAX]` or `"MIN,MAX"`.
    error_wait: Option<serde_yaml::Value>,
    all_families: Option<bool>,
    log_level: Option<String>,
    log_format: Option<super::logging::LogFormat>,
    fib: Option<bool>,
    fib_netns: Option<String>,
    ipv4_next_hop: Option<Ipv4Addr>,
    ipv6_next_hop: Option<Ipv6Addr>,
    fib_table: Option<u32>,
    fib_next_hop_objects: Option<bool>,
    max_paths: Option<usize>,
    graceful_restart: Option<bool>,
    restart_time: Option<u16>,
    long_lived_stale_time: Option<u32>,
    cluster_id: Option<Ipv4Addr>,
    transit: Option<bool>,
    max_prefix: Option<usize>,
    max_prefix_warn_only: Option<bool>,
    max_prefix_restart: Option<u64>,
}

/// The error wait's default, as BIRD's `error wait time` with a shorter
/// first wait: nodes restart often, and a peer is usually back soon.
const DEFAULT_ERROR_WAIT: (Duration, Duration) = (Duration::from_secs(5), Duration::from_secs(300));

/// `MIN,MAX` seconds: MIN at least 1, MAX at least MIN.
pub(crate) fn parse_error_wait(text: &str) -> Result<(Duration, Duration)> {
    let parse = |part: &str| {
        part.trim().parse::<u64>().with_context(|| {
            format!(
                "error wait '{text}': '{}' is not a number of seconds",
                part.trim()
            )
        })
    };
    let Some((minimum, maximum)) = text.split_once(',') else {
        bail!("error wait '{text}': expected MIN,MAX in seconds, e.g. 5,300");
    };
    error_wait(parse(minimum)?, parse(maximum)?)
}

/// `errorWait` in the settings file: `[MIN, MAX]` or `"MIN,MAX"`.
fn error_wait_value(value: &serde_yaml::Value) -> Result<(Duration, Duration)> {
    let pair = match value {
        serde_yaml::Value::String(text) => return parse_error_wait(text).context("errorWait"),
        serde_yaml::Value::Sequence(items) => match items.as_slice() {
            [minimum, maximum] => minimum.as_u64().zip(maximum.as_u64()),
            _ => None,
        },
        _ => None,
    };
    let Some((minimum, maximum)) = pair else {
        bail!("errorWait: expected [MIN, MAX] or \"MIN,MAX\" in seconds, got {value:?}");
    };
    error_wait(minimum, maximum).context("errorWait")
}

fn error_wait(minimum: u64, maximum: u64) -> Result<(Duration, Duration)> {
    if minimum == 0 {
        bail!("error wait {minimum},{maximum}: MIN must be at least 1 second");
    }
    if minimum > maximum {
        bail!("error wait {minimum},{maximum}: MIN must not exceed MAX");
    }
    Ok((Duration::from_secs(minimum), Duration::from_secs(maximum)))
}

/// A prefix the node originates, with the communities it carries (Calico's
/// `prefixAdvertisements`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origination {
    pub(crate) prefix: IpNet,
    pub(crate) communities: Vec<Community>,
    pub(crate) large_communities: Vec<LargeCommunity>,
}

impl Origination {
    /// `PREFIX [A:B | G:L1:L2]...`.
    pub(crate) fn parse(text: &str) -> Result<Origination> {
        let mut words = text.split_whitespace();
        let prefix_text = words.next().context("advertise: empty")?;
        let prefix: IpNet = prefix_text
            .parse()
            .with_context(|| format!("advertise '{text}': '{prefix_text}' is not a prefix"))?;
        let mut origination = Origination {
            prefix: prefix.trunc(),
            communities: Vec::new(),
            large_communities: Vec::new(),
        };
        for word in words {
            origination
                .add_community(word)
                .with_context(|| format!("advertise '{text}'"))?;
        }
        Ok(origination)
    }

    /// Attaches one community, `A:B` (standard, RFC 1997) or `G:L1:L2`
    /// (large, RFC 8092), unless it is attached already.
    pub(crate) fn add_community(&mut self, word: &str) -> Result<()> {
        let parts: Vec<&str> = word.split(':').collect();
        let bad = || {
            anyhow::anyhow!(
                "community '{word}' is neither A:B (16-bit each) nor G:L1:L2 (32-bit each)"
            )
        };
        match parts.as_slice() {
            [high, low] => {
                let high: u16 = high.parse().map_err(|_| bad())?;
                let low: u16 = low.parse().map_err(|_| bad())?;
                let community = Community((u32::from(high) << 16) | u32::from(low));
                if !self.communities.contains(&community) {
                    self.communities.push(community);
                }
            }
            [global, local1, local2] => {
                let community = LargeCommunity {
                    global: global.parse().map_err(|_| bad())?,
                    local1: local1.parse().map_err(|_| bad())?,
                    local2: local2.parse().map_err(|_| bad())?,
                };
                if !self.large_communities.contains(&community) {
                    self.large_communities.push(community);
                }
            }
            _ => return Err(bad()),
        }
        Ok(())
    }
}

/// Where resources live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Datastore {
    /// The embedded store: files under a directory.
    File(PathBuf),
    /// An etcd cluster through its v3 API: client URLs, user, TLS.
    EtcdV3(EtcdAccess),
    /// An etcd cluster through its v2 API, where Calico v1 kept its data.
    EtcdV2(EtcdAccess),
}

impl Datastore {
    /// `file:DIR`, `etcdv3:URL[,URL...]` or `etcdv2:URL[,URL...]`.
    pub(crate) fn parse(text: &str) -> Result<Datastore> {
        match text.split_once(':') {
            Some(("file", path)) if !path.is_empty() => Ok(Datastore::File(PathBuf::from(path))),
            Some(("etcdv3", urls)) if !urls.is_empty() => {
                Ok(Datastore::EtcdV3(EtcdAccess::new(&split_urls(urls))))
            }
            // etcd 3.x keeps v2-API data apart from v3 data: a Calico v1
            // datastore is read through the v2 API it was written with.
            Some(("etcdv2", urls)) if !urls.is_empty() => {
                Ok(Datastore::EtcdV2(EtcdAccess::new(&split_urls(urls))))
            }
            _ => bail!(
                "datastore {text}: expected file:DIR, etcdv3:URL[,URL...] or etcdv2:URL[,URL...]"
            ),
        }
    }

    /// Where it is, in the form `--datastore` takes (no credentials).
    pub(crate) fn describe(&self) -> String {
        match self {
            Datastore::File(directory) => format!("file:{}", directory.display()),
            Datastore::EtcdV3(access) => format!("etcdv3:{}", access.endpoints_text()),
            Datastore::EtcdV2(access) => format!("etcdv2:{}", access.endpoints_text()),
        }
    }

    /// The store for commands that only read: the embedded store is not
    /// created when it does not exist (it reads as empty).
    pub(crate) fn open_read_only(&self) -> Result<Box<dyn peer_store::PeerStore>> {
        match self {
            Datastore::File(directory) => Ok(Box::new(
                peer_store::FileStore::open_read_only(directory).with_context(|| {
                    format!("cannot read the datastore in {}", directory.display())
                })?,
            )),
            _ => self.open(),
        }
    }

    pub(crate) fn open(&self) -> Result<Box<dyn peer_store::PeerStore>> {
        Ok(match self {
            Datastore::File(directory) => {
                Box::new(peer_store::FileStore::open(directory).with_context(|| {
                    format!("cannot open the datastore in {}", directory.display())
                })?)
            }
            // Not waiting for etcd: a node may start before its datastore
            // answers; the datastore reader tries until it does.
            Datastore::EtcdV3(access) => Box::new(
                peer_store::EtcdStore::connect_lazily_with(access, None)
                    .with_context(|| format!("cannot use etcd at {}", access.endpoints_text()))?,
            ),
            Datastore::EtcdV2(access) => Box::new(
                peer_store::EtcdV2Store::connect_with(access, None).with_context(|| {
                    format!("cannot reach etcd's v2 API at {}", access.endpoints_text())
                })?,
            ),
        })
    }
}

fn split_urls(urls: &str) -> Vec<String> {
    urls.split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The merged settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) node: String,
    pub(crate) local_as: Asn,
    pub(crate) router_id: RouterId,
    pub(crate) listen: Vec<SocketAddr>,
    /// Whether `--listen` (or `listen` in the file) named an address of its
    /// own (not `0.0.0.0` or `::`): then it wins over the cluster's
    /// `bindMode: NodeIP`.
    pub(crate) listen_given: bool,
    pub(crate) datastore: Datastore,
    /// What chose the datastore (`--datastore`, a calicoctl file, the
    /// environment, the default), for the start-up log line.
    pub(crate) datastore_origin: String,
    pub(crate) control_socket: PathBuf,
    /// A group whose members may use the control socket too (a name in
    /// /etc/group, or a GID); otherwise root and the daemon's user only.
    pub(crate) control_socket_group: Option<String>,
    /// BIRD's control socket for the IPv4 sessions (calico-node's bird.ctl).
    pub(crate) bird_socket: Option<PathBuf>,
    /// BIRD's control socket for the IPv6 sessions (bird6.ctl).
    pub(crate) bird6_socket: Option<PathBuf>,
    /// Felix's workload endpoint status files (local workload peering).
    pub(crate) endpoint_status_dir: PathBuf,
    /// Where Prometheus metrics are served over HTTP; off when `None`.
    pub(crate) metrics: Option<SocketAddr>,
    pub(crate) advertise: Vec<Origination>,
    pub(crate) hold_time: HoldTime,
    pub(crate) connect_retry: Duration,
    /// The RFC 9687 send hold time; `None` leaves the RFC's default.
    pub(crate) send_hold: Option<Duration>,
    /// The restart back-off after session errors (BIRD's `error wait
    /// time`): the first wait and the longest, doubling in between.
    pub(crate) error_wait: (Duration, Duration),
    pub(crate) all_families: bool,
    pub(crate) log_level: String,
    pub(crate) log_format: super::logging::LogFormat,
    pub(crate) routing: RoutingSettings,
}

/// What decides how routes are selected, passed on and installed.
#[derive(Debug, Clone)]
pub(crate) struct RoutingSettings {
    /// Install learned routes in the kernel.
    pub(crate) fib: bool,
    pub(crate) fib_netns: Option<String>,
    pub(crate) fib_table: u32,
    /// Routes of one gateway through shared next-hop objects.
    pub(crate) fib_next_hop_objects: bool,
    /// Next hop self, when set: the node's addresses.
    pub(crate) ipv4_next_hop: Option<Ipv4Addr>,
    pub(crate) ipv6_next_hop: Option<Ipv6Addr>,
    pub(crate) max_paths: usize,
    /// Announce and honour RFC 4724 graceful restart.
    pub(crate) graceful_restart: bool,
    pub(crate) restart_time: u16,
    /// Long-lived graceful restart (RFC 9494) when set: the Long-lived Stale
    /// Time we announce, and the longest we keep a peer's routes past its
    /// restart time.
    pub(crate) long_lived_stale_time: Option<Duration>,
    pub(crate) cluster_id: Option<Ipv4Addr>,
    pub(crate) transit: bool,
    pub(crate) max_prefix: Option<usize>,
    pub(crate) max_prefix_tear_down: bool,
    pub(crate) max_prefix_restart: Duration,
}

/// `ADDR`, `ADDR:PORT` or `[V6]:PORT`; the port defaults to 179.
pub(crate) fn parse_socket_address(text: &str) -> Result<SocketAddr> {
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok(address);
    }
    if let Ok(address) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(address, BGP_PORT));
    }
    bail!("'{text}' is not an address or address:port")
}

/// An AS number from the settings file's `asNumber`, or from `--as` when
/// `flag` is set: the message names what the user wrote.
fn parse_asn(value: &serde_yaml::Value, flag: bool) -> Result<Asn> {
    let text = match value {
        serde_yaml::Value::Number(number) => number.to_string(),
        serde_yaml::Value::String(text) => text.clone(),
        other => bail!("asNumber: expected a number or an asdot string, got {other:?}"),
    };
    text.parse::<Asn>().map_err(|error| {
        if flag {
            anyhow::anyhow!("--as {text}: {error} (a number up to 4294967295, or asdot X.Y)")
        } else {
            anyhow::anyhow!("error with field asNumber = '{text}' ({error})")
        }
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

fn read_file(path: &Path) -> Result<SettingsFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_yaml::from_str(&text).with_context(|| format!("settings file {}", path.display()))
}

impl Settings {
    pub(crate) fn from_args(arguments: &RunArgs) -> Result<Settings> {
        let file = match &arguments.config {
            Some(path) => read_file(path)?,
            None => SettingsFile::default(),
        };
        let local_as = match (&arguments.asn, &file.as_number) {
            (Some(text), _) => parse_asn(&serde_yaml::Value::String(text.clone()), true)?,
            (None, Some(value)) => parse_asn(value, false)?,
            (None, None) => DEFAULT_AS,
        };
        let listen_texts = if arguments.listen.is_empty() {
            file.listen.clone().unwrap_or_default()
        } else {
            arguments.listen.clone()
        };
        let listen = if listen_texts.is_empty() {
            vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), BGP_PORT),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), BGP_PORT),
            ]
        } else {
            listen_texts
                .iter()
                .map(|text| {
                    parse_socket_address(text).with_context(|| format!("listen address {text}"))
                })
                .collect::<Result<_>>()?
        };
        let router_id = match arguments.router_id.or(file.router_id) {
            Some(id) => id,
            None => listen
                .iter()
                .find_map(|address| match address.ip() {
                    IpAddr::V4(v4) if !v4.is_unspecified() => Some(v4),
                    _ => None,
                })
                .context("no router id: give --router-id (or routerId), or listen on a specific IPv4 address")?,
        };
        if router_id.is_unspecified() {
            bail!("router id 0.0.0.0 is not a valid BGP Identifier (RFC 6286 §2.2)");
        }
        let hold_seconds = arguments.hold_time.or(file.hold_time).unwrap_or(90);
        let hold_time = HoldTime::new(hold_seconds).with_context(|| {
            format!("hold time {hold_seconds}: must be 0 or at least 3 seconds (RFC 4271 §4.2)")
        })?;
        let (datastore, datastore_origin) = super::calico_config::resolve(
            arguments.datastore.as_deref().or(file.datastore.as_deref()),
            arguments.calico_config.as_deref(),
            super::calico_config::DefaultFile::Ignore,
            &super::calico_config::process_variable,
        )?;
        let advertise = file
            .advertise
            .iter()
            .flatten()
            .chain(&arguments.advertise)
            .map(|text| Origination::parse(text))
            .collect::<Result<Vec<_>>>()?;
        let restart_time = arguments.restart_time.or(file.restart_time).unwrap_or(120);
        if restart_time > 4095 {
            bail!("restart time {restart_time}: at most 4095 seconds (12 bits, RFC 4724 §3)");
        }
        let graceful_restart =
            !arguments.no_graceful_restart && file.graceful_restart.unwrap_or(true);
        // 0 is off, as in the capability (RFC 9494 §3: no long-lived stale time).
        let long_lived_stale_time = arguments
            .long_lived_stale_time
            .or(file.long_lived_stale_time)
            .filter(|seconds| *seconds > 0);
        if let Some(seconds) = long_lived_stale_time {
            if seconds > 0x00ff_ffff {
                bail!("long-lived stale time {seconds}: at most 16777215 seconds (24 bits, RFC 9494 §3)");
            }
            if !graceful_restart {
                bail!(
                    "long-lived stale time: needs graceful restart (RFC 9494 §4.1 announces both)"
                );
            }
        }
        let error_wait = match (&arguments.error_wait, &file.error_wait) {
            (Some(text), _) => parse_error_wait(text)?,
            (None, Some(value)) => error_wait_value(value)?,
            (None, None) => DEFAULT_ERROR_WAIT,
        };
        let control_socket_group = arguments
            .control_socket_group
            .clone()
            .or(file.control_socket_group.clone());
        if control_socket_group
            .as_deref()
            .is_some_and(|group| group.trim().is_empty() || group.contains(':'))
        {
            bail!("control socket group: give a group name or GID");
        }
        let max_paths = arguments.max_paths.or(file.max_paths).unwrap_or(8);
        if max_paths == 0 {
            bail!("max paths 0: at least 1");
        }
        let routing = RoutingSettings {
            fib: !arguments.no_fib && file.fib.unwrap_or(true),
            fib_table: arguments.fib_table.or(file.fib_table).unwrap_or(254),
            fib_next_hop_objects: !arguments.no_fib_next_hop_objects
                && file.fib_next_hop_objects.unwrap_or(true),
            fib_netns: arguments.fib_netns.clone().or(file.fib_netns.clone()),
            ipv4_next_hop: arguments.ipv4_next_hop.or(file.ipv4_next_hop),
            ipv6_next_hop: arguments.ipv6_next_hop.or(file.ipv6_next_hop),
            max_paths,
            graceful_restart,
            restart_time,
            long_lived_stale_time: long_lived_stale_time
                .map(|seconds| Duration::from_secs(u64::from(seconds))),
            cluster_id: arguments.cluster_id.or(file.cluster_id),
            transit: arguments.transit || file.transit.unwrap_or(false),
            max_prefix: arguments.max_prefix.or(file.max_prefix),
            max_prefix_tear_down: !(arguments.max_prefix_warn_only
                || file.max_prefix_warn_only.unwrap_or(false)),
            max_prefix_restart: Duration::from_secs(
                arguments
                    .max_prefix_restart
                    .or(file.max_prefix_restart)
                    .unwrap_or(60),
            ),
        };
        Ok(Settings {
            node: arguments
                .node
                .clone()
                .or(file.node.clone())
                .unwrap_or_else(hostname),
            local_as,
            router_id: RouterId(router_id),
            listen_given: listen.iter().any(|address| !address.ip().is_unspecified()),
            listen,
            datastore,
            datastore_origin: datastore_origin.to_string(),
            control_socket: arguments
                .control_socket
                .clone()
                .or(file.control_socket.clone())
                .unwrap_or_else(|| PathBuf::from("/run/nodebgp/nodebgp.ctl")),
            control_socket_group,
            bird_socket: arguments.bird_socket.clone().or(file.bird_socket.clone()),
            bird6_socket: arguments.bird6_socket.clone().or(file.bird6_socket.clone()),
            endpoint_status_dir: arguments
                .endpoint_status_dir
                .clone()
                .or(file.endpoint_status_dir.clone())
                .unwrap_or_else(super::endpoint_status::default_directory),
            metrics: arguments.metrics.or(file.metrics),
            advertise,
            hold_time,
            connect_retry: Duration::from_secs(
                arguments.connect_retry.or(file.connect_retry).unwrap_or(5),
            ),
            send_hold: match arguments.send_hold_time.or(file.send_hold_time) {
                Some(0) => bail!("sendHoldTime: must be at least 1 second"),
                seconds => seconds.map(Duration::from_secs),
            },
            error_wait,
            all_families: arguments.all_families || file.all_families.unwrap_or(false),
            log_level: arguments
                .log_level
                .clone()
                .or(file.log_level.clone())
                .or_else(|| std::env::var("RUST_LOG").ok())
                .unwrap_or_else(|| "info".to_owned()),
            log_format: arguments.log_format.or(file.log_format).unwrap_or_default(),
            routing,
        })
    }

    /// The address outgoing sessions to `peer` start from: a specific listen
    /// address of the same family, when there is one.
    pub(crate) fn source_address(&self, peer: IpAddr) -> Option<IpAddr> {
        self.listen
            .iter()
            .map(SocketAddr::ip)
            .find(|address| !address.is_unspecified() && address.is_ipv4() == peer.is_ipv4())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_defaults_fill_the_rest() {
        let directory =
            std::env::temp_dir().join(format!("nodebgp-settings-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let file = directory.join("nodebgp.yaml");
        std::fs::write(
            &file,
            "node: from-file\nasNumber: \"64086.59905\"\nlisten: [\"127.0.0.9:1179\"]\n\
             metrics: \"[::1]:9091\"\n",
        )
        .unwrap();
        let arguments = RunArgs {
            config: Some(file.clone()),
            node: Some("from-flag".into()),
            ..RunArgs::default()
        };
        let settings = Settings::from_args(&arguments).unwrap();
        assert_eq!(settings.node, "from-flag");
        assert_eq!(settings.local_as, Asn(4_200_000_001));
        assert_eq!(settings.listen, vec!["127.0.0.9:1179".parse().unwrap()]);
        assert_eq!(settings.router_id.0, Ipv4Addr::new(127, 0, 0, 9));
        assert_eq!(settings.hold_time.seconds(), 90);
        assert_eq!(settings.metrics, Some("[::1]:9091".parse().unwrap()));
        assert_eq!(
            settings.source_address("10.0.0.1".parse().unwrap()),
            Some("127.0.0.9".parse().unwrap())
        );
        assert_eq!(settings.source_address("::1".parse().unwrap()), None);
        assert!(settings.routing.fib_next_hop_objects, "on by default");
        // Off by the file or by the flag.
        std::fs::write(
            &file,
            "node: n\nasNumber: 64512\nrouterId: 10.0.0.1\nfibNextHopObjects: false\n",
        )
        .unwrap();
        let from_file = RunArgs {
            config: Some(file.clone()),
            ..RunArgs::default()
        };
        let settings = Settings::from_args(&from_file).unwrap();
        assert!(!settings.routing.fib_next_hop_objects);
        let by_flag = RunArgs {
            node: Some("n".into()),
            asn: Some("64512".into()),
            router_id: Some(Ipv4Addr::new(10, 0, 0, 1)),
            no_fib_next_hop_objects: true,
            ..RunArgs::default()
        };
        assert!(
            !Settings::from_args(&by_flag)
                .unwrap()
                .routing
                .fib_next_hop_objects
        );
        std::fs::remove_dir_all(directory).unwrap();
    }

    #[test]
    fn bad_settings_are_refused_with_the_field_named() {
        let arguments = RunArgs {
            asn: Some("65536.1".into()),
            router_id: Some(Ipv4Addr::new(1, 1, 1, 1)),
            ..RunArgs::default()
        };
        let error = Settings::from_args(&arguments).unwrap_err().to_string();
        // The flag the user typed is what the message names.
        assert_eq!(
            error,
            "--as 65536.1: AS Number out of range (a number up to 4294967295, or asdot X.Y)"
        );
        let arguments = RunArgs {
            hold_time: Some(2),
            router_id: Some(Ipv4Addr::new(1, 1, 1, 1)),
            ..RunArgs::default()
        };
        assert!(Settings::from_args(&arguments)
            .unwrap_err()
            .to_string()
            .contains("hold time"));
        let arguments = RunArgs::default();
        assert!(Settings::from_args(&arguments)
            .unwrap_err()
            .to_string()
            .contains("router id"));
    }

    #[test]
    fn the_example_files_in_config_are_valid() {
        let settings: SettingsFile =
            serde_yaml::from_str(include_str!("../../../../config/nodebgp.yaml")).unwrap();
        assert_eq!(settings.node.as_deref(), Some("rack1-host1"));
        assert_eq!(
            parse_asn(settings.as_number.as_ref().unwrap(), false).unwrap(),
            Asn(64512)
        );
        let peers =
            peer_store::parse_documents(include_str!("../../../../config/bgppeers.yaml")).unwrap();
        assert_eq!(peers.len(), 2);
        assert_eq!(peers[1].as_number, Asn(4_200_000_001));
    }

    #[test]
    fn advertised_prefixes_take_standard_and_large_communities() {
        let origination = Origination::parse("10.244.1.7/24 65000:100 64512:1:2").unwrap();
        assert_eq!(
            origination.prefix,
            "10.244.1.0/24".parse::<IpNet>().unwrap()
        );
        assert_eq!(origination.communities, vec![Community(65000 << 16 | 100)]);
        assert_eq!(
            origination.large_communities,
            vec![LargeCommunity {
                global: 64512,
                local1: 1,
                local2: 2
            }]
        );
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.0/8 70000:1",
            "10.0.0.0/8 1:2:3:4",
            "10.0.0.0/8 x:1",
        ] {
            assert!(Origination::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn long_lived_stale_time_is_off_by_default_and_needs_graceful_restart() {
        // (long-lived stale time, no graceful restart, expected)
        let cases = [
            (None, false, Ok(None)),
            (Some(0), false, Ok(None)),
            (Some(3600), false, Ok(Some(3600_u32))),
            (Some(0x00ff_ffff), false, Ok(Some(0x00ff_ffff))),
            (Some(0x0100_0000), false, Err("24 bits")),
            (Some(3600), true, Err("needs graceful restart")),
        ];
        for (seconds, no_graceful_restart, expected) in cases {
            let arguments = RunArgs {
                long_lived_stale_time: seconds,
                no_graceful_restart,
                router_id: Some(Ipv4Addr::new(1, 1, 1, 1)),
                ..RunArgs::default()
            };
            match (Settings::from_args(&arguments), expected) {
                (Ok(settings), Ok(expected)) => assert_eq!(
                    settings.routing.long_lived_stale_time,
                    expected.map(|seconds| Duration::from_secs(u64::from(seconds))),
                    "{seconds:?}"
                ),
                (Err(error), Err(words)) => {
                    assert!(error.to_string().contains(words), "{error}")
                }
                (result, expected) => panic!("{seconds:?}: {result:?}, expected {expected:?}"),
            }
        }
        let file: SettingsFile = serde_yaml::from_str("longLivedStaleTime: 86400\n").unwrap();
        assert_eq!(file.long_lived_stale_time, Some(86400));
    }

    #[test]
    fn error_wait_is_min_max_seconds_from_a_flag_or_the_file() {
        let seconds =
            |minimum, maximum| (Duration::from_secs(minimum), Duration::from_secs(maximum));
        let settings = |flag: Option<&str>, file: Option<&str>| {
            let directory = std::env::temp_dir().join(format!(
                "nodebgp-settings-error-wait-{}-{}",
                std::process::id(),
                flag.unwrap_or("-").replace(['/', ','], "_")
            ));
            std::fs::create_dir_all(&directory).unwrap();
            let path = directory.join("nodebgp.yaml");
            std::fs::write(&path, file.unwrap_or("{}")).unwrap();
            let arguments = RunArgs {
                config: Some(path),
                error_wait: flag.map(str::to_owned),
                router_id: Some(Ipv4Addr::new(1, 1, 1, 1)),
                ..RunArgs::default()
            };
            let settings = Settings::from_args(&arguments);
            std::fs::remove_dir_all(directory).unwrap();
            settings
        };
        assert_eq!(settings(None, None).unwrap().error_wait, seconds(5, 300));
        assert_eq!(
            settings(Some("1,1"), None).unwrap().error_wait,
            seconds(1, 1)
        );
        assert_eq!(
            settings(None, Some("errorWait: [10, 600]\n"))
                .unwrap()
                .error_wait,
            seconds(10, 600)
        );
        assert_eq!(
            settings(None, Some("errorWait: \"2, 60\"\n"))
                .unwrap()
                .error_wait,
            seconds(2, 60)
        );
        // The flag overrides the file.
        assert_eq!(
            settings(Some("3,30"), Some("errorWait: [10, 600]\n"))
                .unwrap()
                .error_wait,
            seconds(3, 30)
        );
        for (flag, file, words) in [
            (Some("0,300"), None, "at least 1"),
            (Some("60,5"), None, "must not exceed"),
            (Some("5"), None, "MIN,MAX"),
            (Some("5,x"), None, "'x' is not a number"),
            (Some("-1,5"), None, "'-1' is not a number"),
            (None, Some("errorWait: [0, 1]\n"), "at least 1"),
            (None, Some("errorWait: [9, 8]\n"), "must not exceed"),
            (
                None,
                Some("errorWait: [1, 2, 3]\n"),
                "errorWait: expected [MIN, MAX]",
            ),
            (
                None,
                Some("errorWait: [-1, 2]\n"),
                "errorWait: expected [MIN, MAX]",
            ),
            (None, Some("errorWait: \"5;300\"\n"), "errorWait"),
        ] {
            let error = format!("{:#}", settings(flag, file).unwrap_err());
            assert!(error.contains(words), "{flag:?} {file:?}: {error}");
        }
    }

    #[test]
    fn the_control_socket_group_comes_from_a_flag_or_the_file() {
        let base = || RunArgs {
            router_id: Some(Ipv4Addr::new(1, 1, 1, 1)),
            ..RunArgs::default()
        };
        assert_eq!(
            Settings::from_args(&base()).unwrap().control_socket_group,
            None
        );
        let arguments = RunArgs {
            control_socket_group: Some("nodebgp".into()),
            ..base()
        };
        assert_eq!(
            Settings::from_args(&arguments)
                .unwrap()
                .control_socket_group
                .as_deref(),
            Some("nodebgp")
        );
        let arguments = RunArgs {
            control_socket_group: Some(" ".into()),
            ..base()
        };
        assert!(Settings::from_args(&arguments).is_err());
        let file: SettingsFile = serde_yaml::from_str("controlSocketGroup: operators\n").unwrap();
        assert_eq!(file.control_socket_group.as_deref(), Some("operators"));
    }

    #[test]
    fn listen_addresses_take_an_optional_port() {
        assert_eq!(
            parse_socket_address("10.0.0.1").unwrap(),
            "10.0.0.1:179".parse().unwrap()
        );
        assert_eq!(
            parse_socket_address("[::1]:1790").unwrap(),
            "[::1]:1790".parse().unwrap()
        );
        assert_eq!(
            parse_socket_address("::1").unwrap(),
            "[::1]:179".parse().unwrap()
        );
        assert!(parse_socket_address("host:1").is_err());
    }
}
