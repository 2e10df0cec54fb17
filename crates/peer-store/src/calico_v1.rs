//! Calico's v1 etcd layout for BGP peers, shared by the etcd v3 and v2 stores.
//!
//! - `<prefix>/global/peer_v4/<ip>` and `<prefix>/global/peer_v6/<ip>`
//! - `<prefix>/host/<node>/peer_v4/<ip>` and `<prefix>/host/<node>/peer_v6/<ip>`
//! - value: `{"ip":"10.0.0.1","as_num":"64512"}`, the AS number a decimal string.
//!
//! A peer with a port is written the way confd flattens v3 peers into v1 keys:
//! `<ip>-<port>` as the last key segment and an extra `"port": <number>` in the value.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::model::{BgpPeer, NodeName, PeerKey, Scope};
use crate::store::{Revision, StoreError, StoredPeer};
use bgp_wire::Asn;

/// The JSON value of a peer key, as libcalico-go v1 and confd write it.
#[derive(Debug, Serialize, Deserialize)]
struct PeerValue {
    ip: String,
    /// A string: confd printed large integers in e-notation.
    as_num: String,
    /// Only for peers with a port, as confd writes flattened v3 peers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
}

/// The key of a peer under `prefix` (no trailing slash).
pub(crate) fn key_of(prefix: &str, key: &PeerKey) -> String {
    let family = if key.peer_address.is_ipv4() {
        "peer_v4"
    } else {
        "peer_v6"
    };
    let address = match key.peer_port {
        None => key.peer_address.to_string(),
        Some(port) => format!("{}-{port}", key.peer_address),
    };
    match &key.scope {
        Scope::Global => format!("{prefix}/global/{family}/{address}"),
        Scope::Node(node) => format!("{prefix}/host/{node}/{family}/{address}"),
    }
}

/// The identity a key names, `None` when it is not a peer key under `prefix`.
pub(crate) fn parse_key(prefix: &str, key: &str) -> Option<PeerKey> {
    let rest = key.strip_prefix(prefix)?.strip_prefix('/')?;
    let segments: Vec<&str> = rest.split('/').collect();
    let (scope, family, address) = match segments.as_slice() {
        ["global", family, address] => (Scope::Global, *family, *address),
        ["host", node, family, address] => {
            (Scope::Node(NodeName::new(*node).ok()?), *family, *address)
        }
        _ => return None,
    };
    let (address, port) = match address.rsplit_once('-') {
        Some((address, port)) => (address, Some(port.parse::<u16>().ok()?)),
        None => (address, None),
    };
    let peer_address = address.parse::<IpAddr>().ok()?.to_canonical();
    let family_matches = match family {
        "peer_v4" => peer_address.is_ipv4(),
        "peer_v6" => peer_address.is_ipv6(),
        _ => false,
    };
    (family_matches && port != Some(0)).then_some(PeerKey {
        scope,
        peer_address,
        peer_port: port,
    })
}

/// The peer stored at `key` (already parsed into `peer_key`) with this value.
pub(crate) fn decode_value(
    key: &str,
    peer_key: PeerKey,
    value: &[u8],
    revision: Revision,
) -> Result<StoredPeer, StoreError> {
    let corrupt = |message: String| StoreError::Corrupt {
        path: PathBuf::from(key),
        message,
    };
    let value: PeerValue = serde_json::from_slice(value)
        .map_err(|error| corrupt(format!("value is not a Calico v1 peer: {error}")))?;
    let as_number = value
        .as_num
        .parse::<u32>()
        .map_err(|_| corrupt(format!("invalid as_num '{}'", value.as_num)))?;
    // The key is the identity; a value naming another peer means someone wrote
    // it by hand, and guessing which one is right would hide that.
    let value_address = value
        .ip
        .parse::<IpAddr>()
        .map(|address| address.to_canonical());
    if value_address != Ok(peer_key.peer_address) || value.port != peer_key.peer_port {
        return Err(corrupt(format!(
            "value names ip {} port {:?}, the key another peer",
            value.ip, value.port
        )));
    }
    Ok(StoredPeer {
        peer: BgpPeer {
            scope: peer_key.scope,
            peer_address: peer_key.peer_address,
            peer_port: peer_key.peer_port,
            as_number: Asn(as_number),
        },
        revision,
    })
}

/// The value Calico v1 writes for `peer`.
pub(crate) fn encode_value(peer: &BgpPeer) -> String {
    let value = PeerValue {
        ip: peer.peer_address.to_string(),
        as_num: peer.as_number.0.to_string(),
        port: peer.peer_port,
    };
    // Serializing three plain fields cannot fail.
    serde_json::to_string(&value).unwrap_or_default()
}
