//! A [`PeerStore`] on an etcd server, through the etcd v3 API, in Calico's own
//! layout, so that calico-node and nodebgp, pointed at the same etcd, see the
//! same resources.
//!
//! v1 peers are written as the v3 BGPPeer Calico's v1→v3 upgrade makes of them
//! ([`converted_peer`]: `bgppeers/10-0-0-1`, `bgppeers/node1.10-0-0-1`, spec
//! `node`, `peerIP`, `asNumber`), because no Calico v3 component reads v1 keys
//! from etcd v3; an annotation tells nodebgp to show it as the v1 peer it was
//! written as. A peer whose converted name would be too long stays in the v1
//! layout. Peers in Calico's v1 layout (a v1 datastore moved to the etcd v3
//! API) are read, and moved to their v3 key when written:
//!
//! - `<prefix>/global/peer_v4/<ip>` and `<prefix>/global/peer_v6/<ip>`
//! - `<prefix>/host/<node>/peer_v4/<ip>` and `<prefix>/host/<node>/peer_v6/<ip>`
//! - value: `{"ip":"10.0.0.1","as_num":"64512"}`, the AS number a decimal string.
//!
//! A peer with a port (Calico v3.16 `peerIP: a.b.c.d:port`) is in that layout
//! the way confd flattens v3 peers into v1 keys: `<ip>-<port>` as the last key
//! segment and an extra `"port": <number>` in the value. Other keys under the
//! prefix (Calico's `global/as_num`, `host/<node>/ip_addr_v4`, …) are not peers
//! and are ignored.
//!
//! v3 resources are kept where Calico's etcd v3 backend keeps them, as the JSON
//! documents Calico writes (`libcalico-go/lib/backend/model/resource.go`):
//!
//! - `<root>/resources/v3/projectcalico.org/bgppeers/<name>`
//! - `<root>/resources/v3/projectcalico.org/nodes/<name>`
//! - `<root>/resources/v3/projectcalico.org/bgpconfigurations/<name>`
//!
//! - `<root>/resources/v3/projectcalico.org/ippools/<name>`
//!
//! where `<root>` is the prefix without its `/bgp/v1` (`/calico` by default), or
//! the prefix itself when it does not end so.
//!
//! Block affinities and IPAM blocks are kept where Calico's IPAM keeps them in
//! etcd, as its records ([`calico_ipam`](crate::calico_ipam)), so that a
//! calico-node cluster's claims are read, and followed live by the watch:
//!
//! - `<root>/ipam/v2/host/<node>/ipv4/block/<cidr>` (and `virtual`, `ipv6`),
//!   value `{"state":"confirmed","deleted":false}`, named `<node>-<cidr>`
//! - `<root>/ipam/v2/assignment/ipv4/block/<cidr>` (and `ipv6`), value the
//!   `model.AllocationBlock` JSON, named after the CIDR
//!
//! with `<cidr>` the masked CIDR, its `/` written `-` (`10.244.3.0-26`). These
//! records hold no metadata: a block affinity or block is written without its
//! labels and annotations, and a block affinity must have Calico's name for it
//! (the key is made from its node and CIDR, and read back under that name).
//!
//! Revisions are etcd's: a resource's revision is its key's `mod_revision` (what
//! Calico reports as `resourceVersion`), a listing's the response header's
//! revision.
//!
//! A key whose value does not decode (bad JSON, an invalid field, a value naming
//! another resource than its key) is left out of listings and reported in
//! [`ResourceListing::unreadable`] with the key and the reason; the rest is
//! listed. Only a write of that same resource overwrites it. A watch reports
//! such a value as the deletion of what the key held before
//! ([`PeerStore::resource_changes_since`]), and as that and the new unreadable
//! entry ([`PeerStore::listing_changes_since`]).
//!
//! The store may be dropped anywhere, also on an async runtime's thread: its
//! private runtime is shut down without waiting for it.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use etcd_client::{
    Client, Compare, CompareOp, EventType, GetOptions, KeyValue, Txn, TxnOp, TxnOpResponse,
    WatchOptions,
};
use tokio::runtime::Runtime;

use crate::calico_ipam::{self, IpamKey};
use crate::calico_v1;
use crate::etcd_access::EtcdAccess;
use crate::kind::ResourceKind;
use crate::model::{PeerKey, ScopeKind};
use crate::resource::{AnyDocument, NamedKind, Resource, ResourceKey};
use crate::store::{
    BatchError, ListingChange, ListingChangeSet, Outcome, PeerStore, ResourceChange,
    ResourceChangeSet, ResourceFilter, ResourceListing, ResourceOperation, Revision, StoreError,
    StoredResource, UnreadableResource,
};
use crate::table::ResourceTable;
use crate::v3::block_affinity::BlockAffinityResource;
use crate::v3::converted_peer;
use crate::v3::{ResourceName, RESOURCE_NAME_MAX_LENGTH};

/// Calico's etcd prefix for v1 BGP data.
pub const DEFAULT_PREFIX: &str = "/calico/bgp/v1";

/// Where Calico keeps v3 resources, below the root (`/calico`).
pub const V3_RESOURCES_PATH: &str = "/resources/v3/projectcalico.org";

/// etcd's default `--max-txn-ops`: a batch touching more distinct peers than this
/// is refused by the server as a whole (nothing is written).
pub const ETCD_MAX_TRANSACTION_OPERATIONS: usize = 128;

/// How often a batch is re-evaluated when another writer changed one of its keys
/// between our read and our transaction, before giving up.
const WRITE_ATTEMPTS: usize = 8;

/// How long to wait for the server on each request, and for a watch to catch up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`PeerStore`] kept in etcd (v3 API) in Calico's layout (module docs).
///
/// The store owns a small current-thread tokio runtime and blocks on it for every
/// call: the [`PeerStore`] trait is synchronous because the daemon calls stores
/// from blocking context (`spawn_blocking`), and one private runtime is simpler
/// than threading a handle through every caller. Consequently its methods must not
/// be called from inside an async task (tokio refuses nested `block_on`). Dropping
/// it is safe anywhere, including inside an async task.
///
/// [`PeerStore::write_batch`] is one etcd transaction: all or nothing, limited to
/// [`ETCD_MAX_TRANSACTION_OPERATIONS`] distinct peers by etcd's default.
pub struct EtcdStore {
    /// `None` only while dropping.
    runtime: Option<Runtime>,
    /// How to reach etcd: endpoints, user, TLS.
    access: EtcdAccess,
    /// The client, once made. Made at once without a user; with one, at the
    /// first request, because etcd-client trades the password for a token
    /// while connecting and a node may start before etcd answers.
    client: Mutex<Option<Client>>,
    /// v1 peers, `/calico/bgp/v1`.
    prefix: String,
    /// Everything this store reads lives below it (`/calico`).
    root: String,
    /// v3 resources, `/calico/resources/v3/projectcalico.org`.
    resource_prefix: String,
}

impl std::fmt::Debug for EtcdStore {
    // The client has no Debug; the prefix is what tells stores apart.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EtcdStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl EtcdStore {
    /// Connects to etcd at `endpoints` (`http://host:port`) and checks that it
    /// answers; `prefix` defaults to [`DEFAULT_PREFIX`].
    pub fn connect(endpoints: &[String], prefix: Option<&str>) -> Result<EtcdStore, StoreError> {
        EtcdStore::connect_with(&EtcdAccess::new(endpoints), prefix)
    }

    /// Like [`EtcdStore::connect`], with etcd's authentication and TLS.
    pub fn connect_with(
        access: &EtcdAccess,
        prefix: Option<&str>,
    ) -> Result<EtcdStore, StoreError> {
        let store = EtcdStore::connect_lazily_with(access, prefix)?;
        // The client connects lazily; a count-only read makes an unreachable server
        // an error here rather than at the first real request.
        store.current_revision()?;
        Ok(store)
    }

    /// Like [`EtcdStore::connect`], without waiting for etcd to answer: while
    /// it does not, every call fails (after at most the request timeout, 10 s),
    /// and the first call after it does succeeds. For a daemon that starts
    /// before its datastore. Fails only for endpoints that are not URLs.
    pub fn connect_lazily(
        endpoints: &[String],
        prefix: Option<&str>,
    ) -> Result<EtcdStore, StoreError> {
        EtcdStore::connect_lazily_with(&EtcdAccess::new(endpoints), prefix)
    }

    /// Like [`EtcdStore::connect_lazily`], with etcd's authentication and
    /// TLS. Wrong TLS material (not PEM, a certificate without its key) fails
    /// here; a certificate the server refuses, or a wrong password, at the
    /// first request.
    pub fn connect_lazily_with(
        access: &EtcdAccess,
        prefix: Option<&str>,
    ) -> Result<EtcdStore, StoreError> {
        let prefix = prefix
            .unwrap_or(DEFAULT_PREFIX)
            .trim_end_matches('/')
            .to_owned();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| StoreError::Io {
                path: PathBuf::from(&prefix),
                source: error,
            })?;
        // Wrong TLS material is an error now, not at the first request.
        access
            .connect_options(REQUEST_TIMEOUT)
            .map_err(|reason| StoreError::Io {
                path: PathBuf::from(&prefix),
                source: io::Error::other(reason),
            })?;
        let root = prefix.strip_suffix("/bgp/v1").unwrap_or(&prefix).to_owned();
        let resource_prefix = format!("{root}{V3_RESOURCES_PATH}");
        let store = EtcdStore {
            runtime: Some(runtime),
            access: access.clone(),
            client: Mutex::new(None),
            prefix,
            root,
            resource_prefix,
        };
        if store.access.credentials.is_none() {
            // Without a user the client connects lazily by itself; making it
            // now reports endpoints that are not URLs here.
            store.client()?;
        }
        Ok(store)
    }

    /// The client, made at the first call that needs it (see
    /// [`EtcdStore::client`]'s field). A failure is retried at the next call.
    /// Must not be called inside [`EtcdStore::block_on`].
    fn client(&self) -> Result<Client, StoreError> {
        let mut slot = self
            .client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = slot.as_ref() {
            return Ok(client.clone());
        }
        let options = self
            .access
            .connect_options(REQUEST_TIMEOUT)
            .map_err(|reason| StoreError::Io {
                path: PathBuf::from(&self.prefix),
                source: io::Error::other(reason),
            })?;
        let client = self
            .block_on(Client::connect(&self.access.endpoints, Some(options)))
            .map_err(etcd_error(&self.prefix))?;
        *slot = Some(client.clone());
        Ok(client)
    }

    /// The key prefix, without a trailing slash.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The etcd key this store writes a v1 peer at: the v3 BGPPeer Calico's
    /// upgrade would make of it ([`converted_peer`]), or, when the peer has
    /// no valid converted name, its key in Calico's v1 layout.
    pub fn key_of(&self, key: &PeerKey) -> String {
        match converted_peer::converted_name(key) {
            Some(name) => format!(
                "{}/{}/{name}",
                self.resource_prefix,
                NamedKind::BgpPeer.plural()
            ),
            None => self.legacy_key_of(key),
        }
    }

    /// The etcd key of a v1 peer in Calico's v1 layout, where v1 datastores
    /// migrated to the etcd v3 API keep their peers; read, and moved to
    /// [`EtcdStore::key_of`] when written.
    pub fn legacy_key_of(&self, key: &PeerKey) -> String {
        calico_v1::key_of(&self.prefix, key)
    }

    /// The prefix of v3 resources, without a trailing slash.
    pub fn resource_prefix(&self) -> &str {
        &self.resource_prefix
    }

    /// The etcd key this store keeps `resource` at: Calico's v1 layout for v1
    /// peers, its IPAM records for block affinities and blocks, its v3
    /// layout for the rest.
    pub fn key_of_resource(&self, resource: &Resource) -> String {
        match IpamKey::of_resource(resource) {
            Some(ipam_key) => ipam_key.path(&self.root),
            None => self.key_of_name(&resource.key()),
        }
    }

    /// The key of a v1 peer or a v3 document (not of IPAM's records).
    fn key_of_name(&self, key: &ResourceKey) -> String {
        match key {
            ResourceKey::BgpPeer(key) => self.key_of(key),
            ResourceKey::Named { kind, name } => {
                format!("{}/{}/{name}", self.resource_prefix, kind.plural())
            }
        }
    }

    /// Every key a resource with this identity may be at: one, but for a
    /// block affinity, whose name may split into node and CIDR in more than
    /// one way ([`IpamKey::candidates`]), and a 252-character name Calico
    /// shortened with a hash, which only a search of the affinities finds.
    fn locations(&self, key: &ResourceKey) -> Result<Vec<String>, StoreError> {
        let (kind, name) = match key {
            ResourceKey::Named { kind, name } => (kind, name),
            ResourceKey::BgpPeer(peer_key) => {
                let mut locations = vec![self.legacy_key_of(peer_key), self.key_of(peer_key)];
                locations.dedup();
                return Ok(locations);
            }
        };
        if !kind.is_ipam_record() {
            return Ok(vec![self.key_of_name(key)]);
        }
        let mut locations: Vec<String> = IpamKey::candidates(key)
            .iter()
            .map(|candidate| candidate.path(&self.root))
            .collect();
        if *kind == NamedKind::BlockAffinity && name.as_str().len() == RESOURCE_NAME_MAX_LENGTH - 1
        {
            for range in self.affinity_ranges() {
                let options = GetOptions::new().with_prefix().with_keys_only();
                let mut client = self.client()?;
                let response = self
                    .block_on(client.get(range, Some(options)))
                    .map_err(etcd_error(&self.prefix))?;
                locations.extend(
                    response
                        .kvs()
                        .iter()
                        .map(|key_value| String::from_utf8_lossy(key_value.key()).into_owned())
                        .filter(|found| {
                            matches!(self.classify(found), KeyClass::Ipam(_, ref found_key) if found_key == key)
                        }),
                );
            }
        }
        Ok(locations)
    }

    /// Where block affinities are: `<root>/ipam/v2/host/` and `…/virtual/`.
    fn affinity_ranges(&self) -> [String; 2] {
        ["host", "virtual"].map(|kind| format!("{}{}/{kind}/", self.root, calico_ipam::IPAM_PATH))
    }

    /// Runs `future` to completion on the store's runtime.
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime
            .as_ref()
            .expect("the runtime lives until the store is dropped")
            .block_on(future)
    }

    /// What a key under the store's prefixes is.
    fn classify(&self, key: &str) -> KeyClass {
        if let Some(peer_key) = self.parse_key(key) {
            return KeyClass::Resource(ResourceKey::BgpPeer(peer_key));
        }
        match IpamKey::parse(&self.root, key) {
            // Calico v3 keeps pools as documents; v1 pool keys are left alone.
            None | Some(Ok(IpamKey::PoolV1 { .. })) => {}
            Some(Ok(ipam_key)) => {
                return match ipam_key.resource_key() {
                    Ok(resource_key) => KeyClass::Ipam(ipam_key, resource_key),
                    Err(bad) => KeyClass::BadName {
                        kind: bad.kind,
                        name: bad.name,
                        reason: bad.reason,
                    },
                }
            }
            Some(Err(bad)) => {
                return KeyClass::BadName {
                    kind: bad.kind,
                    name: bad.name,
                    reason: bad.reason,
                }
            }
        }
        let Some(rest) = key
            .strip_prefix(&self.resource_prefix)
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            return KeyClass::Other;
        };
        let Some((kind, name)) = rest.split_once('/').and_then(|(plural, name)| {
            // Calico's IPAM keeps its records elsewhere (below).
            let kind = NamedKind::from_plural(plural).filter(|kind| !kind.is_ipam_record())?;
            Some((kind, name))
        }) else {
            return KeyClass::Other;
        };
        match ResourceName::new(name) {
            Ok(name) => KeyClass::Resource(ResourceKey::Named { kind, name }),
            Err(error) => KeyClass::BadName {
                kind,
                name: name.to_owned(),
                reason: error.to_string(),
            },
        }
    }

    /// etcd's revision now: the header of a count of one key (every answer
    /// carries it; counting a whole prefix would cost etcd a walk of it).
    fn current_revision(&self) -> Result<Revision, StoreError> {
        let options = GetOptions::new().with_count_only();
        let mut client = self.client()?;
        let response = self
            .block_on(client.get(format!("{}/", self.root), Some(options)))
            .map_err(etcd_error(&self.prefix))?;
        Ok(header_revision(response.header()))
    }

    /// Reads `keys` at one etcd revision.
    fn read_keys<'key>(
        &self,
        keys: impl Iterator<Item = &'key String>,
    ) -> Result<Read, StoreError> {
        let reads: Vec<TxnOp> = keys.map(|key| TxnOp::get(key.as_str(), None)).collect();
        self.read_table(reads)
    }

    /// Runs `reads` (gets) in one transaction, so at one etcd revision, and
    /// decodes every resource they return, remembering where each was; keys
    /// that do not decode, or hold a resource another key already holds (a
    /// block affinity of both types), are returned beside the table.
    fn read_table(&self, reads: Vec<TxnOp>) -> Result<Read, StoreError> {
        let mut client = self.client()?;
        let response = self
            .block_on(client.txn(Txn::new().and_then(reads)))
            .map_err(etcd_error(&self.prefix))?;
        let mut read = Read {
            table: ResourceTable {
                revision: header_revision(response.header()),
                resources: BTreeMap::new(),
            },
            locations: BTreeMap::new(),
            unreadable: Vec::new(),
        };
        for operation_response in response.op_responses() {
            if let TxnOpResponse::Get(get) = operation_response {
                for key_value in get.kvs() {
                    let location = String::from_utf8_lossy(key_value.key()).into_owned();
                    let decoded = self.decode(key_value).and_then(|stored| match stored {
                        Some(stored) => match read.locations.get(&stored.resource.key()) {
                            Some(first) if *first != location => Err(StoreError::Corrupt {
                                path: PathBuf::from(&location),
                                message: format!(
                                    "{} is stored twice; the one at {first} is used",
                                    stored.resource.key()
                                ),
                            }),
                            _ => Ok(Some(stored)),
                        },
                        None => Ok(None),
                    });
                    match decoded {
                        Ok(Some(stored)) => {
                            let key = stored.resource.key();
                            read.locations.insert(key.clone(), location);
                            read.table.resources.insert(key, stored);
                        }
                        Ok(None) => {}
                        Err(error) => read.unreadable.push(UnreadableKey {
                            key: location,
                            revision: to_revision(key_value.mod_revision()),
                            report: self.report(key_value, error),
                        }),
                    }
                }
            }
        }
        Ok(read)
    }

    /// Describes a key whose value did not decode.
    fn report(&self, key_value: &KeyValue, error: StoreError) -> UnreadableResource {
        let key = String::from_utf8_lossy(key_value.key()).into_owned();
        let (kind, name) = match self.classify(&key) {
            KeyClass::Resource(ResourceKey::BgpPeer(peer)) => {
                (Some(crate::document::KIND), Some(peer.peer_ip()))
            }
            KeyClass::Resource(ResourceKey::Named { kind, name })
            | KeyClass::Ipam(_, ResourceKey::Named { kind, name }) => {
                (Some(kind.kind_name()), Some(name.to_string()))
            }
            KeyClass::Ipam(_, ResourceKey::BgpPeer(peer)) => {
                (Some(crate::document::KIND), Some(peer.peer_ip()))
            }
            KeyClass::BadName { kind, name, .. } => (Some(kind.kind_name()), Some(name)),
            KeyClass::Other => (None, None),
        };
        let reason = match error {
            StoreError::Corrupt { message, .. } => message,
            other => other.to_string(),
        };
        UnreadableResource {
            kind,
            name,
            location: key,
            reason,
        }
    }

    /// The resource a key/value holds, `None` for keys outside both layouts.
    fn decode(&self, key_value: &KeyValue) -> Result<Option<StoredResource>, StoreError> {
        let key = String::from_utf8_lossy(key_value.key());
        let revision = to_revision(key_value.mod_revision());
        let corrupt = |message: String| StoreError::Corrupt {
            path: PathBuf::from(key.as_ref()),
            message,
        };
        match self.classify(&key) {
            KeyClass::Other => Ok(None),
            KeyClass::BadName { reason, .. } => Err(corrupt(format!("the key's {reason}"))),
            KeyClass::Resource(ResourceKey::BgpPeer(peer_key)) => {
                calico_v1::decode_value(&key, peer_key, key_value.value(), revision)
                    .map(|stored| Some(stored.into()))
            }
            KeyClass::Ipam(ipam_key, _) => ipam_key
                .decode(key_value.value())
                .map(|resource| Some(StoredResource { resource, revision }))
                .map_err(corrupt),
            KeyClass::Resource(resource_key) => {
                let value: serde_json::Value =
                    serde_json::from_slice(key_value.value()).map_err(|error| {
                        corrupt(format!("value is not a Calico v3 resource: {error}"))
                    })?;
                // A v1 peer this store wrote as the v3 BGPPeer Calico's
                // upgrade makes of it: the v1 peer again.
                if let ResourceKey::Named {
                    kind: NamedKind::BgpPeer,
                    name,
                } = &resource_key
                {
                    if let Some(peer) = converted_peer::from_v3_document(name.as_str(), &value) {
                        return Ok(Some(StoredResource {
                            resource: Resource::BgpPeer(peer),
                            revision,
                        }));
                    }
                }
                let resource: Resource = serde_json::from_value(value).map_err(|error| {
                    corrupt(format!("value is not a Calico v3 resource: {error}"))
                })?;
                // The key is the identity, as for v1 peers.
                if resource.key() != resource_key {
                    return Err(corrupt(format!(
                        "value names {}, the key {resource_key}",
                        resource.key()
                    )));
                }
                Ok(Some(StoredResource { resource, revision }))
            }
        }
    }

    /// The identity a key names, `None` when it is not a peer key under our prefix.
    fn parse_key(&self, key: &str) -> Option<PeerKey> {
        calico_v1::parse_key(&self.prefix, key)
    }

    /// The value Calico writes: v1's `{"ip","as_num"}` for v1 peers, IPAM's
    /// records for block affinities and blocks, the v3 document as JSON for
    /// the rest.
    fn encode(&self, resource: &Resource) -> Result<String, StoreError> {
        let encoded = match resource {
            Resource::BgpPeer(peer) => match converted_peer::to_v3_document(peer) {
                Some(document) => {
                    serde_json::to_string(&document).map_err(|error| error.to_string())
                }
                None => Ok(calico_v1::encode_value(peer)),
            },
            Resource::BlockAffinity(affinity) => calico_ipam::encode_affinity(affinity),
            Resource::IpamBlock(block) => calico_ipam::encode_block(block),
            // Documents JSON cannot hold are refused when read; say so rather
            // than write an empty value should one get here.
            other => {
                serde_json::to_string(&AnyDocument::from(other)).map_err(|error| error.to_string())
            }
        };
        encoded.map_err(|error| StoreError::Corrupt {
            path: PathBuf::from(self.key_of_resource(resource)),
            message: format!("cannot be written as JSON: {error}"),
        })
    }

    /// A block affinity must carry the name its key gives it back; the
    /// other kinds are stored as they are.
    fn check_storable(&self, resource: &Resource) -> Result<(), StoreError> {
        match resource {
            Resource::BlockAffinity(affinity)
                if affinity.name.as_str()
                    != BlockAffinityResource::name_for(&affinity.node, affinity.cidr) =>
            {
                Err(StoreError::Unsupported {
                    store: "the etcd v3 store",
                    key: resource.key(),
                    reason: "Calico's IPAM keys name a block affinity <node>-<cidr with '.', ':' and '/' as '-'> (e.g. n1-10-244-3-0-26); give it that name",
                })
            }
            _ => Ok(()),
        }
    }

    /// Evaluates the batch on the state read, then commits it if no key it read
    /// changed since. `Ok(None)` means another writer won the race: read again.
    fn try_write_batch(
        &self,
        operations: &[ResourceOperation],
    ) -> Result<Option<Vec<Outcome>>, BatchError> {
        let whole = |error| BatchError {
            index: None,
            committed: 0,
            error,
        };
        // What Calico's IPAM records can hold, so that an unchanged record
        // reads as unchanged.
        let mut storable = Vec::with_capacity(operations.len());
        for (index, operation) in operations.iter().enumerate() {
            let mut operation = operation.clone();
            if let ResourceOperation::Create { resource, .. }
            | ResourceOperation::Replace { resource, .. }
            | ResourceOperation::Apply { resource, .. } = &mut operation
            {
                self.check_storable(resource).map_err(|error| BatchError {
                    index: Some(index),
                    committed: 0,
                    error,
                })?;
                *resource = calico_ipam::without_metadata(resource);
            }
            storable.push(operation);
        }
        let operations = storable.as_slice();
        // Every key an operation may touch: where its resource goes, and
        // where one of that identity may be now.
        let mut keys: BTreeMap<String, ResourceKey> = BTreeMap::new();
        for operation in operations {
            let key = operation.key();
            if let Some(resource) = operation.resource() {
                keys.insert(self.key_of_resource(resource), key.clone());
            }
            for location in self.locations(&key).map_err(whole)? {
                keys.insert(location, key.clone());
            }
        }
        let read = self.read_keys(keys.keys()).map_err(whole)?;
        let before = &read.table;
        // The shared batch semantics (conflicts, skips, no-op writes) decide what to
        // write; etcd's transaction only guarantees nobody changed what we read.
        let (after, mut outcomes, _changes) = before.apply(operations, SystemTime::now())?;
        let planned_revision = Revision(before.revision.0 + 1);

        // Who is at each key now: a v1 peer and the v3 BGPPeer named as its
        // conversion share one, and neither may overwrite the other.
        let occupants: BTreeMap<&String, &ResourceKey> = read
            .locations
            .iter()
            .map(|(resource_key, location)| (location, resource_key))
            .collect();
        let mut compares = Vec::with_capacity(keys.len());
        let mut writes = Vec::new();
        for (etcd_key, resource_key) in &keys {
            // The resource as it was, if it was at this key.
            let current = before
                .resources
                .get(resource_key)
                .filter(|_| read.locations.get(resource_key) == Some(etcd_key));
            // A value that does not decode counts as absent, so that a write of
            // the resource replaces it, but only the value that was read.
            let unreadable_revision = read
                .unreadable
                .iter()
                .find(|entry| &entry.key == etcd_key)
                .map(|entry| entry.revision);
            compares.push(
                match current
                    .map(|stored| stored.revision)
                    .or(unreadable_revision)
                {
                    Some(revision) => Compare::mod_revision(
                        etcd_key.as_str(),
                        CompareOp::Equal,
                        to_etcd(revision),
                    ),
                    // Version 0 is etcd's "key absent": a create loses to any writer.
                    None => Compare::version(etcd_key.as_str(), CompareOp::Equal, 0),
                },
            );
            let target = after
                .resources
                .get(resource_key)
                .filter(|stored| self.key_of_resource(&stored.resource) == *etcd_key);
            match (current, target) {
                (_, Some(stored)) if stored.revision == planned_revision => {
                    if let Some(occupant) = occupants
                        .get(etcd_key)
                        .filter(|occupant| **occupant != resource_key)
                    {
                        return Err(BatchError {
                            index: operations
                                .iter()
                                .position(|operation| operation.key() == *resource_key),
                            committed: 0,
                            error: StoreError::Occupied {
                                key: Box::new(resource_key.clone()),
                                location: etcd_key.clone(),
                                occupant: Box::new((*occupant).clone()),
                            },
                        });
                    }
                    let value = self.encode(&stored.resource).map_err(whole)?;
                    writes.push(TxnOp::put(etcd_key.as_str(), value, None));
                }
                // Deleted, or moved to another key (a block affinity's type).
                (Some(_), None) => writes.push(TxnOp::delete(etcd_key.as_str(), None)),
                _ => {}
            }
        }
        if writes.is_empty() {
            return Ok(Some(outcomes));
        }
        let transaction = Txn::new().when(compares).and_then(writes);
        let mut client = self.client().map_err(whole)?;
        let response = self
            .block_on(client.txn(transaction))
            .map_err(etcd_error(&self.prefix))
            .map_err(whole)?;
        if !response.succeeded() {
            return Ok(None);
        }
        let committed = header_revision(response.header());
        for outcome in &mut outcomes {
            if outcome.revision == planned_revision {
                outcome.revision = committed;
            }
        }
        Ok(Some(outcomes))
    }

    /// Converts a watch event into the changes a listing of everything sees,
    /// none for keys that are not resources. A put of a value that does not
    /// decode is, as listings see it, the deletion of what the key held
    /// before (if that decoded) and a new unreadable entry; a delete or a
    /// readable put clears an unreadable entry the key held.
    fn changes_of(&self, event: &etcd_client::Event) -> Result<Vec<ListingChange>, StoreError> {
        let Some(key_value) = event.kv() else {
            return Ok(Vec::new());
        };
        let key = String::from_utf8_lossy(key_value.key()).into_owned();
        let class = self.classify(&key);
        if matches!(class, KeyClass::Other) {
            return Ok(Vec::new());
        }
        let revision = to_revision(key_value.mod_revision());
        // What the key held before, as a listing saw it: a resource, an
        // unreadable entry (an error) or nothing.
        let previous = event.prev_kv().map(|previous| self.decode(previous));
        let was_unreadable = matches!(previous, Some(Err(_)));
        let previous_resource = previous.and_then(|decoded| decoded.ok().flatten());
        let cleared = || ListingChange::Cleared {
            location: key.clone(),
            revision,
        };
        let deleted = |stored: StoredResource| {
            ListingChange::Resource(ResourceChange::Deleted {
                resource: stored.resource,
                revision,
            })
        };
        let mut changes = Vec::new();
        match event.event_type() {
            EventType::Put => match self.decode(key_value) {
                Ok(stored) => {
                    if was_unreadable {
                        changes.push(cleared());
                    }
                    // A v1 peer's document rewritten as a v3 BGPPeer (or the
                    // other way round): the resource it was is gone.
                    if let Some(previous) = previous_resource.filter(|previous| {
                        stored
                            .as_ref()
                            .is_none_or(|stored| stored.resource.key() != previous.resource.key())
                    }) {
                        changes.push(deleted(previous));
                    }
                    changes.extend(stored.map(|stored| {
                        ListingChange::Resource(ResourceChange::Put {
                            resource: stored.resource,
                            revision,
                        })
                    }));
                }
                Err(error) => {
                    changes.extend(previous_resource.map(deleted));
                    changes.push(ListingChange::Unreadable {
                        entry: self.report(key_value, error),
                        revision,
                    });
                }
            },
            EventType::Delete => {
                // A delete event carries only the key; the resource comes from the
                // previous value, which etcd keeps as long as the delete is in history.
                if event.prev_kv().is_none()
                    && matches!(class, KeyClass::Resource(_) | KeyClass::Ipam(..))
                {
                    return Err(StoreError::Corrupt {
                        path: PathBuf::from(&key),
                        message: "delete event without the previous value".to_owned(),
                    });
                }
                // A key that never read is never a resource; what it was, is
                // unknown: clear it in case.
                if was_unreadable || event.prev_kv().is_none() {
                    changes.push(cleared());
                }
                changes.extend(previous_resource.map(deleted));
            }
        }
        Ok(changes)
    }

    /// Replays etcd's history from `since + 1` through `until` with a watch
    /// of every key. Each revision is one write with at least one event
    /// somewhere in etcd, so the replay is complete exactly when an event of
    /// revision `until` (or later) arrives; events of other keys only mark
    /// the way. A watch of our keys alone would have to ask etcd whether it
    /// caught up, and etcd's answer to that (a progress request) cannot be
    /// trusted across versions: older ones (3.4.23, the lab's, among them)
    /// answer at once, before the replay (etcd-io/etcd#15220), and some later
    /// ones not at all when no event matched (etcd-io/etcd#17507).
    async fn watch_changes(
        &self,
        mut client: Client,
        since: Revision,
        until: Revision,
    ) -> Result<ListingChangeSet, StoreError> {
        let options = WatchOptions::new()
            .with_all_keys()
            .with_prev_key()
            .with_start_revision(to_etcd(since) + 1);
        let mut stream = client
            .watch("", Some(options))
            .await
            .map_err(etcd_error(&self.prefix))?;
        let watch_error =
            |reason: String| etcd_error(&self.prefix)(etcd_client::Error::WatchError(reason));
        let mut changes = Vec::new();
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        loop {
            let message = tokio::time::timeout_at(deadline, stream.message())
                .await
                .map_err(|_elapsed| watch_error("watch did not catch up in time".to_owned()))?
                .map_err(etcd_error(&self.prefix))?;
            let Some(response) = message else {
                return Err(watch_error("watch stream closed".to_owned()));
            };
            // etcd reports the revision it compacted at; a watch must start after it.
            if response.compact_revision() > 0 {
                return Err(StoreError::Compacted {
                    requested: since,
                    compacted_through: to_revision(response.compact_revision()),
                });
            }
            if response.canceled() {
                return Err(watch_error(format!(
                    "watch canceled: {}",
                    response.cancel_reason()
                )));
            }
            // All events of one revision come in one response.
            let mut caught_up = false;
            for event in response.events() {
                let revision = to_revision(event.kv().map_or(0, KeyValue::mod_revision));
                if revision > until {
                    caught_up = true;
                    break;
                }
                changes.extend(self.changes_of(event)?);
                caught_up |= revision == until;
            }
            if caught_up {
                let _ = stream.cancel(response.watch_id()).await;
                return Ok(ListingChangeSet {
                    revision: until,
                    changes,
                });
            }
        }
    }
}

impl PeerStore for EtcdStore {
    fn get_resource(&self, key: &ResourceKey) -> Result<Option<StoredResource>, StoreError> {
        let locations = self.locations(key)?;
        if let [location] = locations.as_slice() {
            let mut client = self.client()?;
            let response = self
                .block_on(client.get(location.as_str(), None))
                .map_err(etcd_error(&self.prefix))?;
            // A v3 BGPPeer's key may hold a v1 peer (and the other way
            // round): only the resource asked for is an answer.
            return match response.kvs().first() {
                Some(key_value) => Ok(self
                    .decode(key_value)?
                    .filter(|stored| stored.resource.key() == *key)),
                None => Ok(None),
            };
        }
        let mut read = self.read_keys(locations.iter())?;
        Ok(read.table.resources.remove(key))
    }

    fn list_resources(&self, filter: &ResourceFilter) -> Result<ResourceListing, StoreError> {
        // Narrow the ranges where the filter allows; the filter itself decides.
        let peers = &filter.peers;
        let v1_range = match (&peers.node, peers.scope) {
            (Some(node), _) => format!("{}/host/{node}/", self.prefix),
            (None, Some(ScopeKind::Global)) => format!("{}/global/", self.prefix),
            (None, Some(ScopeKind::Node)) => format!("{}/host/", self.prefix),
            (None, None) => format!("{}/", self.prefix),
        };
        let named = |kind: NamedKind| format!("{}/{}/", self.resource_prefix, kind.plural());
        let blocks = format!("{}{}/assignment/", self.root, calico_ipam::IPAM_PATH);
        let ranges = match filter.kind {
            Some(ResourceKind::BgpPeer) => vec![v1_range, named(NamedKind::BgpPeer)],
            Some(ResourceKind::Node) => vec![named(NamedKind::Node)],
            Some(ResourceKind::BgpConfiguration) => vec![named(NamedKind::BgpConfiguration)],
            Some(ResourceKind::IpPool) => vec![named(NamedKind::IpPool)],
            Some(ResourceKind::BgpFilter) => vec![named(NamedKind::BgpFilter)],
            Some(ResourceKind::BlockAffinity) => self.affinity_ranges().to_vec(),
            Some(ResourceKind::IpamBlock) => vec![blocks],
            // Not all of `<root>/ipam/v2`: its handles (one per pod) are no
            // resource here.
            None => {
                let mut ranges = vec![v1_range, format!("{}/", self.resource_prefix), blocks];
                ranges.extend(self.affinity_ranges());
                ranges
            }
        };
        let reads = ranges
            .into_iter()
            .map(|range| TxnOp::get(range, Some(GetOptions::new().with_prefix())))
            .collect();
        let read = self.read_table(reads)?;
        let mut listing = read.table.list(filter);
        listing.unreadable = read
            .unreadable
            .into_iter()
            .map(|entry| entry.report)
            .filter(|report| filter.may_match(report))
            .collect();
        Ok(listing)
    }

    /// Replays etcd's history with a watch from `since + 1` until it has caught up
    /// with the revision current when the call started (see `watch_changes`).
    fn resource_changes_since(&self, since: Revision) -> Result<ResourceChangeSet, StoreError> {
        let changes = self.listing_changes_since(since)?;
        Ok(ResourceChangeSet {
            revision: changes.revision,
            changes: changes
                .changes
                .into_iter()
                .filter_map(|change| match change {
                    ListingChange::Resource(change) => Some(change),
                    ListingChange::Unreadable { .. } | ListingChange::Cleared { .. } => None,
                })
                .collect(),
        })
    }

    /// The same replay, with the keys whose values do not decode. When
    /// nothing was written since `since`, one count-only read.
    fn listing_changes_since(&self, since: Revision) -> Result<ListingChangeSet, StoreError> {
        let current = self.current_revision()?;
        if since > current {
            return Err(StoreError::FutureRevision {
                requested: since,
                current,
            });
        }
        if since == current {
            return Ok(ListingChangeSet {
                revision: current,
                changes: Vec::new(),
            });
        }
        let client = self.client()?;
        self.block_on(self.watch_changes(client, since, current))
    }

    fn write_resources(
        &self,
        operations: &[ResourceOperation],
    ) -> Result<Vec<Outcome>, BatchError> {
        if operations.is_empty() {
            return Ok(Vec::new());
        }
        for _ in 0..WRITE_ATTEMPTS {
            if let Some(outcomes) = self.try_write_batch(operations)? {
                return Ok(outcomes);
            }
        }
        Err(BatchError {
            index: None,
            committed: 0,
            error: etcd_error(&self.prefix)(etcd_client::Error::InvalidArgs(format!(
                "gave up after {WRITE_ATTEMPTS} attempts: other writers keep changing these resources"
            ))),
        })
    }
}

impl Drop for EtcdStore {
    /// Dropping a runtime waits for its tasks, which tokio forbids on an async
    /// runtime's thread (it panics: "Cannot drop a runtime in a context where
    /// blocking is not allowed"); the daemon drops the store there on shutdown.
    /// Shutting down in the background waits for nothing; the client's tasks
    /// are dropped with the runtime.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// What a key under the store's prefixes is.
enum KeyClass {
    /// A v1 peer's or a v3 resource's key.
    Resource(ResourceKey),
    /// A block affinity's or block's key in Calico's IPAM layout, and the
    /// identity derived from it.
    Ipam(IpamKey, ResourceKey),
    /// A v3 key whose last segment is not a valid name, or an IPAM key whose
    /// CIDR does not read.
    BadName {
        kind: NamedKind,
        name: String,
        reason: String,
    },
    /// Anything else (Calico's other v1 BGP settings, other v3 kinds).
    Other,
}

/// Keys read at one revision: the resources, the key each was at, and the
/// keys that do not decode.
struct Read {
    table: ResourceTable,
    locations: BTreeMap<ResourceKey, String>,
    unreadable: Vec<UnreadableKey>,
}

/// A key whose value did not decode.
struct UnreadableKey {
    key: String,
    revision: Revision,
    report: UnreadableResource,
}

fn etcd_error(prefix: &str) -> impl Fn(etcd_client::Error) -> StoreError + '_ {
    move |error| StoreError::Io {
        path: PathBuf::from(prefix),
        source: io::Error::other(describe(&error)),
    }
}

/// etcd-client's own text of a gRPC status repeats the transport error's
/// debug form; the status code and etcd's message are what says why
/// (`Unavailable: invalid peer certificate: UnknownIssuer`, `InvalidArgument:
/// etcdserver: authentication failed, invalid user ID or password`).
fn describe(error: &etcd_client::Error) -> String {
    match error {
        etcd_client::Error::GRpcStatus(status) => {
            format!("etcd: {:?}: {}", status.code(), status.message())
        }
        other => format!("etcd: {other}"),
    }
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> Revision {
    to_revision(header.map_or(0, |header| header.revision()))
}

/// etcd revisions are positive `i64`s; a negative one never comes from a server.
fn to_revision(revision: i64) -> Revision {
    Revision(u64::try_from(revision).unwrap_or_default())
}

fn to_etcd(revision: Revision) -> i64 {
    i64::try_from(revision.0).unwrap_or(i64::MAX)
}
