//! The daemon's settings: a YAML file, overridden flag by flag from the
//! command line, so that a node starts without writing one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use bgp_wire::{Asn, HoldTime, RouterId};
use ipnet::IpNet;
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
    #[arg(long, value_name = "URL")]
    datastore: Option<String>,
    /// Unix socket that `nodebgp status` talks to.
    #[arg(long, value_name = "PATH")]
    control_socket: Option<PathBuf>,
    /// A prefix this node originates to all its peers; repeatable.
    #[arg(long, value_name = "PREFIX")]
    advertise: Vec<IpNet>,
    /// Hold time to propose, in seconds (default 90).
    #[arg(long, value_name = "SECONDS")]
    hold_time: Option<u16>,
    /// ConnectRetry time in seconds (default 5, like Calico's BIRD).
    #[arg(long, value_name = "SECONDS")]
    connect_retry: Option<u64>,
    /// Negotiate IPv4 and IPv6 unicast on every session (MP-BGP, RFC 4760);
    /// by default a session carries the family of its peer's address.
    #[arg(long)]
    all_families: bool,
    /// Log filter, e.g. info or nodebgp=debug (default: $RUST_LOG or info).
    #[arg(long, value_name = "FILTER")]
    log_level: Option<String>,
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
    advertise: Option<Vec<IpNet>>,
    hold_time: Option<u16>,
    connect_retry: Option<u64>,
    all_families: Option<bool>,
    log_level: Option<String>,
}

/// Where resources live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Datastore {
    /// The embedded store: files under a directory.
    File(PathBuf),
    /// An etcd cluster through its v3 API: client URLs.
    EtcdV3(Vec<String>),
    /// An etcd cluster through its v2 API, where Calico v1 kept its data.
    EtcdV2(Vec<String>),
}

impl Datastore {
    /// `file:DIR`, `etcdv3:URL[,URL...]` or `etcdv2:URL[,URL...]`.
    pub(crate) fn parse(text: &str) -> Result<Datastore> {
        match text.split_once(':') {
            Some(("file", path)) if !path.is_empty() => Ok(Datastore::File(PathBuf::from(path))),
            Some(("etcdv3", urls)) if !urls.is_empty() => Ok(Datastore::EtcdV3(
                urls.split(',').map(str::to_owned).collect(),
            )),
            // etcd 3.x keeps v2-API data apart from v3 data: a Calico v1
            // datastore is read through the v2 API it was written with.
            Some(("etcdv2", urls)) if !urls.is_empty() => Ok(Datastore::EtcdV2(
                urls.split(',').map(str::to_owned).collect(),
            )),
            _ => bail!(
                "datastore {text}: expected file:DIR, etcdv3:URL[,URL...] or etcdv2:URL[,URL...]"
            ),
        }
    }

    /// Opens the store.
    pub(crate) fn open(&self) -> Result<Box<dyn peer_store::PeerStore>> {
        Ok(match self {
            Datastore::File(directory) => {
                Box::new(peer_store::FileStore::open(directory).with_context(|| {
                    format!("cannot open the datastore in {}", directory.display())
                })?)
            }
            Datastore::EtcdV3(endpoints) => Box::new(
                peer_store::EtcdStore::connect(endpoints, None)
                    .with_context(|| format!("cannot reach etcd at {}", endpoints.join(",")))?,
            ),
            Datastore::EtcdV2(endpoints) => Box::new(
                peer_store::EtcdV2Store::connect(endpoints, None).with_context(|| {
                    format!("cannot reach etcd's v2 API at {}", endpoints.join(","))
                })?,
            ),
        })
    }
}

/// The merged settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) node: String,
    pub(crate) local_as: Asn,
    pub(crate) router_id: RouterId,
    pub(crate) listen: Vec<SocketAddr>,
    pub(crate) datastore: Datastore,
    pub(crate) control_socket: PathBuf,
    pub(crate) advertise: Vec<IpNet>,
    pub(crate) hold_time: HoldTime,
    pub(crate) connect_retry: Duration,
    pub(crate) all_families: bool,
    pub(crate) log_level: String,
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

fn parse_asn(value: &serde_yaml::Value) -> Result<Asn> {
    let text = match value {
        serde_yaml::Value::Number(number) => number.to_string(),
        serde_yaml::Value::String(text) => text.clone(),
        other => bail!("asNumber: expected a number or an asdot string, got {other:?}"),
    };
    text.parse::<Asn>()
        .map_err(|error| anyhow::anyhow!("error with field asNumber = '{text}' ({error})"))
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
            (Some(text), _) => parse_asn(&serde_yaml::Value::String(text.clone()))?,
            (None, Some(value)) => parse_asn(value)?,
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
        let datastore = match arguments.datastore.as_deref().or(file.datastore.as_deref()) {
            Some(text) => Datastore::parse(text)?,
            None => Datastore::File(PathBuf::from("/var/lib/nodebgp")),
        };
        let mut advertise = file.advertise.clone().unwrap_or_default();
        advertise.extend(arguments.advertise.iter().copied());
        Ok(Settings {
            node: arguments
                .node
                .clone()
                .or(file.node.clone())
                .unwrap_or_else(hostname),
            local_as,
            router_id: RouterId(router_id),
            listen,
            datastore,
            control_socket: arguments
                .control_socket
                .clone()
                .or(file.control_socket.clone())
                .unwrap_or_else(|| PathBuf::from("/run/nodebgp/nodebgp.ctl")),
            advertise,
            hold_time,
            connect_retry: Duration::from_secs(
                arguments.connect_retry.or(file.connect_retry).unwrap_or(5),
            ),
            all_families: arguments.all_families || file.all_families.unwrap_or(false),
            log_level: arguments
                .log_level
                .clone()
                .or(file.log_level.clone())
                .or_else(|| std::env::var("RUST_LOG").ok())
                .unwrap_or_else(|| "info".to_owned()),
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
            "node: from-file\nasNumber: \"64086.59905\"\nlisten: [\"127.0.0.9:1179\"]\n",
        )
        .unwrap();
        let arguments = RunArgs {
            config: Some(file),
            node: Some("from-flag".into()),
            ..RunArgs::default()
        };
        let settings = Settings::from_args(&arguments).unwrap();
        assert_eq!(settings.node, "from-flag");
        assert_eq!(settings.local_as, Asn(4_200_000_001));
        assert_eq!(settings.listen, vec!["127.0.0.9:1179".parse().unwrap()]);
        assert_eq!(settings.router_id.0, Ipv4Addr::new(127, 0, 0, 9));
        assert_eq!(settings.hold_time.seconds(), 90);
        assert_eq!(
            settings.source_address("10.0.0.1".parse().unwrap()),
            Some("127.0.0.9".parse().unwrap())
        );
        assert_eq!(settings.source_address("::1".parse().unwrap()), None);
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
        assert!(
            error.contains("asNumber") && error.contains("65536.1"),
            "{error}"
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
            parse_asn(settings.as_number.as_ref().unwrap()).unwrap(),
            Asn(64512)
        );
        let peers =
            peer_store::parse_documents(include_str!("../../../../config/bgppeers.yaml")).unwrap();
        assert_eq!(peers.len(), 2);
        assert_eq!(peers[1].as_number, Asn(4_200_000_001));
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
