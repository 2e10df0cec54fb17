//! The workloads Felix selected for local BGP peering (Calico 3.30's
//! BGPPeer `localWorkloadSelector`), read from the endpoint status files
//! Felix writes for the node's workloads, as calico-node's confd reads them
//! (`LocalBGPPeerWatcher`): one JSON file per workload endpoint in
//! `$CALICO_ENDPOINT_STATUS_PATH_PREFIX/endpoint-status` (default
//! `/var/run/calico/endpoint-status`), libcalico-go's `epstatusfile`:
//!
//! ```json
//! {"ifaceName":"cali1234","mac":"…","ipv4Nets":["10.65.0.5/32"],"ipv6Nets":[],"bgpPeerName":"workloads"}
//! ```
//!
//! A file with a `bgpPeerName` is a workload to peer with, at the first
//! address of each family. Files that do not parse (Felix may be writing
//! one) or have no address are left out, as confd leaves them; the
//! directory's absence means no workloads. Reading is bounded: at most
//! [`MAXIMUM_FILES`] files of at most [`MAXIMUM_FILE_SIZE`] bytes each.

use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use peer_manager::LocalWorkload;
use serde::Deserialize;
use tracing::debug;

/// Where Calico keeps the status files below its prefix.
const DIRECTORY: &str = "endpoint-status";

/// calico-node's prefix when `CALICO_ENDPOINT_STATUS_PATH_PREFIX` is unset.
const DEFAULT_PREFIX: &str = "/var/run/calico";

/// More workloads than a node runs; the rest are left out (and logged).
pub(crate) const MAXIMUM_FILES: usize = 4096;

/// A status file is a few hundred bytes; more is not Felix's.
pub(crate) const MAXIMUM_FILE_SIZE: u64 = 64 * 1024;

/// The directory calico-node reads: `$CALICO_ENDPOINT_STATUS_PATH_PREFIX`
/// (or `/var/run/calico`) joined with `endpoint-status`.
pub(crate) fn default_directory() -> PathBuf {
    let prefix = std::env::var_os("CALICO_ENDPOINT_STATUS_PATH_PREFIX")
        .filter(|prefix| !prefix.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_PREFIX), PathBuf::from);
    prefix.join(DIRECTORY)
}

/// One status file's fields that peering needs (Felix's
/// `WorkloadEndpointStatus`; the others are ignored).
#[derive(Debug, Deserialize)]
struct WorkloadEndpointStatus {
    #[serde(default, rename = "ipv4Nets")]
    ipv4_nets: Vec<String>,
    #[serde(default, rename = "ipv6Nets")]
    ipv6_nets: Vec<String>,
    #[serde(default, rename = "bgpPeerName")]
    bgp_peer_name: String,
}

/// The address of a CIDR (`10.65.0.5/32`) or a bare address.
fn address_of<A: std::str::FromStr>(text: &str) -> Option<A> {
    text.split_once('/')
        .map_or(text, |(address, _)| address)
        .parse()
        .ok()
}

/// The workload a status file named `name` describes, `None` when it is not
/// selected for peering, does not parse, or has no address.
pub(crate) fn parse(name: &str, contents: &[u8]) -> Option<LocalWorkload> {
    let status: WorkloadEndpointStatus = serde_json::from_slice(contents).ok()?;
    if status.bgp_peer_name.is_empty() {
        return None;
    }
    // confd takes the first of each family and skips an endpoint whose
    // first address does not parse.
    let ipv4 = match status.ipv4_nets.first() {
        Some(text) => Some(address_of::<Ipv4Addr>(text)?),
        None => None,
    };
    let ipv6 = match status.ipv6_nets.first() {
        Some(text) => Some(address_of::<Ipv6Addr>(text)?),
        None => None,
    };
    if ipv4.is_none() && ipv6.is_none() {
        return None;
    }
    Some(LocalWorkload {
        name: name.to_owned(),
        bgp_peer_name: status.bgp_peer_name,
        ipv4,
        ipv6,
    })
}

/// The selected workloads in `directory`, sorted by file name; none when it
/// cannot be read (no Felix on this node, or not yet).
pub(crate) fn read(directory: &Path) -> Vec<LocalWorkload> {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut workloads = Vec::new();
    for (index, entry) in entries.flatten().enumerate() {
        if index >= MAXIMUM_FILES {
            debug!(directory = %directory.display(), "more endpoint status files than {MAXIMUM_FILES}; the rest are left out");
            break;
        }
        let Ok(file) = std::fs::File::open(entry.path()) else {
            continue;
        };
        if !file.metadata().is_ok_and(|metadata| metadata.is_file()) {
            continue;
        }
        let mut contents = Vec::new();
        if file
            .take(MAXIMUM_FILE_SIZE)
            .read_to_end(&mut contents)
            .is_err()
        {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        workloads.extend(parse(&name, &contents));
    }
    workloads.sort();
    workloads
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn felix_status_files_become_workloads_to_peer_with() {
        let workload = parse(
            "k8s-pod-a",
            br#"{"ifaceName":"cali1","mac":"ee:ee:ee:ee:ee:ee","ipv4Nets":["10.65.0.5/32","10.65.0.6/32"],"ipv6Nets":["fd00::5/128"],"bgpPeerName":"workloads"}"#,
        )
        .unwrap();
        assert_eq!(
            workload,
            LocalWorkload {
                name: "k8s-pod-a".to_owned(),
                bgp_peer_name: "workloads".to_owned(),
                ipv4: Some("10.65.0.5".parse().unwrap()),
                ipv6: Some("fd00::5".parse().unwrap()),
            }
        );
        // Not selected, half written, or without an address: nobody to peer with.
        assert_eq!(parse("b", br#"{"ipv4Nets":["10.65.0.7/32"]}"#), None);
        assert_eq!(parse("c", br#"{"ipv4Nets":["10.65"#), None);
        assert_eq!(parse("d", br#"{"bgpPeerName":"workloads"}"#), None);
        assert_eq!(
            parse("e", br#"{"ipv4Nets":["junk"],"bgpPeerName":"workloads"}"#),
            None
        );
    }

    #[test]
    fn a_directory_is_read_whole_and_bounded() {
        let directory =
            std::env::temp_dir().join(format!("nodebgp-endpoint-status-{}", std::process::id()));
        assert!(read(&directory).is_empty(), "no directory: no workloads");
        std::fs::create_dir_all(&directory).unwrap();
        std::fs::write(
            directory.join("b"),
            r#"{"ipv6Nets":["fd00::9/128"],"bgpPeerName":"p"}"#,
        )
        .unwrap();
        std::fs::write(
            directory.join("a"),
            r#"{"ipv4Nets":["10.65.0.9/32"],"bgpPeerName":"p"}"#,
        )
        .unwrap();
        // Larger than any status file: cut at the bound, so it does not parse.
        let mut huge = br#"{"bgpPeerName":"p","ipv4Nets":["10.65.0.10/32"],"x":""#.to_vec();
        huge.resize(usize::try_from(MAXIMUM_FILE_SIZE).unwrap() + 10, b'x');
        huge.extend_from_slice(br#""}"#);
        std::fs::write(directory.join("c"), huge).unwrap();
        std::fs::create_dir_all(directory.join("subdirectory")).unwrap();
        let names: Vec<String> = read(&directory)
            .into_iter()
            .map(|workload| workload.name)
            .collect();
        assert_eq!(names, ["a", "b"]);
        std::fs::remove_dir_all(directory).unwrap();
    }
}
