//! A [`PeerStore`] on etcd's **v2** HTTP API, in Calico's v1 key layout, so a node
//! can be pointed at the datastore of an existing Calico v1 cluster (which kept
//! its data through the v2 API; etcd 3.x serves it with `--enable-v2`, apart from
//! the v3 data).
//!
//! Keys and values are those of [`EtcdStore`](crate::EtcdStore):
//! `<prefix>/global|host/<node>/peer_v4|peer_v6/<ip>` holding
//! `{"ip":"10.0.0.1","as_num":"64512"}`. Other keys under the prefix are ignored.
//!
//! Revisions are etcd v2 indexes: a peer's revision is its node's `modifiedIndex`,
//! a listing's the `X-Etcd-Index` of the response. Note that this index is global
//! to the etcd v2 store: writes anywhere in it advance it.
//!
//! # Limitations
//!
//! - **No multi-key transactions.** [`PeerStore::write_batch`] first reads every
//!   key the batch touches and validates the whole batch on that state (so a batch
//!   that is invalid from the start writes nothing), then applies the operations
//!   one by one, each a compare-and-swap on the key (`prevExist=false` to create,
//!   `prevIndex` to replace or delete). If another writer changes a key in between,
//!   that operation fails and the batch stops there: the [`BatchError`] reports
//!   in `committed` how many operations were already applied (calicoctl's
//!   "Partial success" message).
//! - **No change history.** [`PeerStore::changes_since`] answers an empty change
//!   set while the store index has not moved, and [`StoreError::Compacted`] ("list
//!   again") as soon as it has; callers re-list. The v2 watch
//!   (`?wait=true&waitIndex=`) is not used.
//! - **v1 bgpPeers, and Calico v1's IPAM read-only.** The IP pools, block
//!   affinities and IPAM blocks of a Calico v1 cluster are read as `IPPool`,
//!   `BlockAffinity` and `IPAMBlock` resources
//!   ([`calico_ipam`](crate::calico_ipam)): `<root>/v1/ipam/v4|v6/pool/<cidr>`,
//!   `<root>/ipam/v2/host/<node>/ipv4|ipv6/block/<cidr>` and
//!   `<root>/ipam/v2/assignment/ipv4|ipv6/block/<cidr>`, `<root>` being the
//!   prefix without its `/bgp/v1`. Calico's IPAM owns them: writing them is
//!   refused with [`StoreError::Unsupported`], as are v3 `BGPPeer`, `Node` and
//!   `BGPConfiguration` resources (Calico v1 clusters kept no such thing here);
//!   listing one of those kinds alone lists nothing. An IPAM record that does
//!   not read is listed as unreadable, the rest is listed.
//! - `http://` or `https://` endpoints, with a CA, a client certificate and
//!   HTTP Basic authentication as [`EtcdAccess`] gives them; the first
//!   endpoint answering at connect time is used for every request.

use std::collections::btree_map::{BTreeMap, Entry};
use std::io;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::calico_ipam::{self, IpamKey};
use crate::calico_v1;
use crate::etcd_access::EtcdAccess;
use crate::etcd_store::DEFAULT_PREFIX;
use crate::kind::ResourceKind;
use crate::model::{BgpPeer, PeerKey, ScopeKind};
use crate::resource::{NamedKind, Resource, ResourceKey};
use crate::store::{
    Action, BatchError, ChangeSet, ListFilter, Listing, Operation, Outcome, PeerStore,
    ResourceChange, ResourceChangeSet, ResourceFilter, ResourceListing, ResourceOperation,
    Revision, StoreError, StoredPeer, StoredResource, UnreadableResource,
};
use crate::table::ResourceTable;

/// Why v3 kinds are refused here.
const V3_UNSUPPORTED: &str = "the etcd v2 store holds Calico v1 bgpPeers only (the layout of \
Calico v1 clusters); keep BGPPeer, Node and BGPConfiguration resources in the etcdv3 or file store";

/// Why Calico v1's IPAM records are not written here.
const IPAM_READ_ONLY: &str = "the etcd v2 store reads a Calico v1 cluster's IP pools, block \
affinities and IPAM blocks but does not write them: Calico's IPAM owns them";

/// How long to wait for the server on each request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// etcd v2 error codes we act on.
const KEY_NOT_FOUND: u64 = 100;
const COMPARE_FAILED: u64 = 101;
const NODE_EXISTS: u64 = 105;

/// A [`PeerStore`] kept in etcd through the v2 HTTP API, in Calico's v1 layout.
/// v2 has no multi-key transactions: [`PeerStore::write_batch`] validates the
/// whole batch, then applies it one compare-and-swap at a time, and may stop part
/// way ([`BatchError::committed`]). [`PeerStore::changes_since`] has no history
/// replay: it asks the caller to list again ([`StoreError::Compacted`]) whenever
/// the store index moved. `http://` or `https://` endpoints
/// ([`EtcdV2Store::connect_with`]).
pub struct EtcdV2Store {
    agent: ureq::Agent,
    /// `Basic …` for etcd's v2 users, when one is configured.
    authorization: Option<String>,
    endpoint: String,
    prefix: String,
    /// Where Calico v1's IPAM lives below: the prefix without `/bgp/v1`.
    root: String,
}

/// Adds the `Authorization` header when there is one.
fn with_authorization<Body>(
    request: ureq::RequestBuilder<Body>,
    authorization: Option<&str>,
) -> ureq::RequestBuilder<Body> {
    match authorization {
        Some(value) => request.header("Authorization", value),
        None => request,
    }
}

impl std::fmt::Debug for EtcdV2Store {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EtcdV2Store")
            .field("endpoint", &self.endpoint)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A node of a v2 response.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    key: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    dir: bool,
    #[serde(default)]
    nodes: Vec<Node>,
    #[serde(default)]
    modified_index: u64,
}

/// A v2 response body: a node on success, an error code otherwise.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    #[serde(default)]
    node: Option<Node>,
    #[serde(default)]
    error_code: Option<u64>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    cause: String,
}

/// A decoded HTTP answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    /// `X-Etcd-Index`: the store index when the request was served.
    index: Option<u64>,
    body: Body,
}

impl Reply {
    fn error_code(&self) -> Option<u64> {
        self.body.error_code
    }
}

/// What one operation writes, decided on the state it saw.
enum Write {
    Put {
        value: String,
        previous: Option<u64>,
    },
    Delete {
        previous: u64,
    },
}

impl EtcdV2Store {
    /// Connects to the first of `endpoints` (`http://host:port`) that answers on
    /// the v2 API; `prefix` defaults to [`DEFAULT_PREFIX`]. An etcd that does not
    /// serve v2 (started without `--enable-v2`) is an error saying so.
    pub fn connect(endpoints: &[String], prefix: Option<&str>) -> Result<EtcdV2Store, StoreError> {
        EtcdV2Store::connect_with(&EtcdAccess::new(endpoints), prefix)
    }

    /// Like [`EtcdV2Store::connect`], with TLS (`https://` endpoints, a CA,
    /// a client certificate) and HTTP Basic authentication for etcd's v2
    /// users.
    pub fn connect_with(
        access: &EtcdAccess,
        prefix: Option<&str>,
    ) -> Result<EtcdV2Store, StoreError> {
        let prefix = prefix
            .unwrap_or(DEFAULT_PREFIX)
            .trim_end_matches('/')
            .to_owned();
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT));
        if let Some(tls) = access
            .http_tls()
            .map_err(|reason| io_error(&prefix, reason))?
        {
            config = config.tls_config(tls);
        }
        let agent: ureq::Agent = config.build().into();
        let authorization = access.basic_authorization();
        let mut failures = Vec::new();
        for endpoint in &access.endpoints {
            let store = EtcdV2Store {
                authorization: authorization.clone(),
                agent: agent.clone(),
                endpoint: endpoint.trim_end_matches('/').to_owned(),
                prefix: prefix.clone(),
                root: prefix.strip_suffix("/bgp/v1").unwrap_or(&prefix).to_owned(),
            };
            match store.send("GET", "/", &[], None) {
                Ok(reply) if reply.index.is_some() => return Ok(store),
                Ok(reply) => failures.push(format!(
                    "{endpoint}: HTTP {} without X-Etcd-Index: the v2 API is not served (start etcd with --enable-v2)",
                    reply.status
                )),
                Err(error) => failures.push(format!("{endpoint}: {error}")),
            }
        }
        if failures.is_empty() {
            failures.push("no endpoint given".to_owned());
        }
        Err(io_error(&prefix, failures.join("; ")))
    }

    /// The key prefix, without a trailing slash.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The endpoint in use.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The etcd key of a peer in Calico's v1 layout.
    pub fn key_of(&self, key: &PeerKey) -> String {
        calico_v1::key_of(&self.prefix, key)
    }

    /// One request to `/v2/keys{key}` with `query` in the URL and, for PUT, the
    /// form body `form`.
    fn send(
        &self,
        method: &str,
        key: &str,
        query: &[(&str, String)],
        form: Option<&[(&str, String)]>,
    ) -> Result<Reply, StoreError> {
        let mut url = format!("{}/v2/keys{key}", self.endpoint);
        for (position, (name, value)) in query.iter().enumerate() {
            url.push(if position == 0 { '?' } else { '&' });
            url.push_str(&format!("{name}={value}"));
        }
        let transport = |error: ureq::Error| io_error(key, format!("{method} {url}: {error}"));
        let authorization = self.authorization.as_deref();
        let response = match (method, form) {
            ("PUT", Some(form)) => with_authorization(self.agent.put(&url), authorization)
                .send_form(form.iter().map(|(name, value)| (*name, value.as_str()))),
            ("DELETE", _) => with_authorization(self.agent.delete(&url), authorization).call(),
            _ => with_authorization(self.agent.get(&url), authorization).call(),
        };
        let mut response = response.map_err(transport)?;
        let status = response.status().as_u16();
        let index = response
            .headers()
            .get("X-Etcd-Index")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        let text = response.body_mut().read_to_string().map_err(transport)?;
        // Non-JSON bodies (a 404 page from an etcd without v2) read as empty.
        let body = serde_json::from_str(&text).unwrap_or(Body {
            node: None,
            error_code: None,
            message: text,
            cause: String::new(),
        });
        Ok(Reply {
            status,
            index,
            body,
        })
    }

    /// A reply that is neither success nor an error we expect.
    fn unexpected(&self, key: &str, reply: &Reply) -> StoreError {
        io_error(
            key,
            format!(
                "etcd v2 answered HTTP {} (error code {:?}: {} {})",
                reply.status,
                reply.body.error_code,
                reply.body.message.trim(),
                reply.body.cause
            ),
        )
    }

    /// The peer a leaf node holds, `None` for nodes outside the peer layout.
    fn decode(&self, node: &Node) -> Result<Option<StoredPeer>, StoreError> {
        if node.dir {
            return Ok(None);
        }
        let Some(peer_key) = calico_v1::parse_key(&self.prefix, &node.key) else {
            return Ok(None);
        };
        let value = node.value.as_deref().unwrap_or_default();
        calico_v1::decode_value(
            &node.key,
            peer_key,
            value.as_bytes(),
            Revision(node.modified_index),
        )
        .map(Some)
    }

    /// Every peer under the directory `key`, recursively, and the store index.
    fn read_tree(&self, key: &str) -> Result<(Revision, Vec<StoredPeer>), StoreError> {
        let (revision, leaves) = self.read_leaves(key)?;
        let mut peers = Vec::new();
        for node in &leaves {
            peers.extend(self.decode(node)?);
        }
        Ok((revision, peers))
    }

    /// Every key (not directory) under the directory `key`, recursively, and
    /// the store index.
    fn read_leaves(&self, key: &str) -> Result<(Revision, Vec<Node>), StoreError> {
        let reply = self.send(
            "GET",
            key,
            &[
                ("recursive", "true".to_owned()),
                ("quorum", "true".to_owned()),
            ],
            None,
        )?;
        let revision = Revision(reply.index.unwrap_or_default());
        if reply.error_code() == Some(KEY_NOT_FOUND) {
            return Ok((revision, Vec::new()));
        }
        if reply.status != 200 {
            return Err(self.unexpected(key, &reply));
        }
        let Some(node) = reply.body.node else {
            return Err(io_error(key, "etcd v2 answered without a node".to_owned()));
        };
        let mut leaves = Vec::new();
        let mut pending = vec![node];
        while let Some(mut node) = pending.pop() {
            pending.append(&mut node.nodes);
            if !node.dir {
                leaves.push(node);
            }
        }
        Ok((revision, leaves))
    }

    /// Calico v1's IPAM records of `kind` (pools, affinities or blocks), the
    /// store index, and the records that do not read.
    fn read_ipam(
        &self,
        kind: NamedKind,
    ) -> Result<(Revision, Vec<StoredResource>, Vec<UnreadableResource>), StoreError> {
        let directories = match kind {
            NamedKind::IpPool => vec![format!("{}{}", self.root, calico_ipam::POOL_V1_PATH)],
            NamedKind::BlockAffinity => ["host", "virtual"]
                .map(|kind| format!("{}{}/{kind}", self.root, calico_ipam::IPAM_PATH))
                .to_vec(),
            NamedKind::IpamBlock => {
                vec![format!(
                    "{}{}/assignment",
                    self.root,
                    calico_ipam::IPAM_PATH
                )]
            }
            _ => Vec::new(),
        };
        let mut revision: Option<Revision> = None;
        let mut resources = Vec::new();
        let mut unreadable = Vec::new();
        for directory in directories {
            let (index, leaves) = self.read_leaves(&directory)?;
            // The oldest index: a write after it, to what was read first, is
            // seen as a change by `changes_since`.
            revision = Some(revision.map_or(index, |revision| revision.min(index)));
            for node in leaves {
                match self.decode_ipam(&node) {
                    Some(Ok(stored)) if stored.resource.key().kind() == kind.resource_kind() => {
                        resources.push(stored)
                    }
                    Some(Ok(_)) | None => {}
                    Some(Err(entry)) => unreadable.push(entry),
                }
            }
        }
        Ok((revision.unwrap_or_default(), resources, unreadable))
    }

    /// The IPAM record a leaf holds: `None` outside the layout, an
    /// unreadable entry when its key or value does not read.
    fn decode_ipam(&self, node: &Node) -> Option<Result<StoredResource, UnreadableResource>> {
        let unreadable = |kind: NamedKind, name: String, reason: String| UnreadableResource {
            kind: Some(kind.kind_name()),
            name: Some(name),
            location: node.key.clone(),
            reason,
        };
        let ipam_key = match IpamKey::parse(&self.root, &node.key)? {
            Ok(ipam_key) => ipam_key,
            Err(bad) => return Some(Err(unreadable(bad.kind, bad.name, bad.reason))),
        };
        if let Err(bad) = ipam_key.resource_key() {
            return Some(Err(unreadable(bad.kind, bad.name, bad.reason)));
        }
        let value = node.value.as_deref().unwrap_or_default();
        Some(
            ipam_key
                .decode(value.as_bytes())
                .map(|resource| StoredResource {
                    resource,
                    revision: Revision(node.modified_index),
                })
                .map_err(|reason| unreadable(ipam_key.kind(), ipam_key.name(), reason)),
        )
    }

    /// The IPAM record with this identity, if any.
    fn get_ipam(&self, key: &ResourceKey) -> Result<Option<StoredResource>, StoreError> {
        for candidate in IpamKey::candidates(key) {
            let path = candidate.path(&self.root);
            let reply = self.send("GET", &path, &[("quorum", "true".to_owned())], None)?;
            if reply.error_code() == Some(KEY_NOT_FOUND) {
                continue;
            }
            let Some(node) = reply.body.node.as_ref().filter(|_| reply.status == 200) else {
                return Err(self.unexpected(&path, &reply));
            };
            return match self.decode_ipam(node) {
                Some(Ok(stored)) => Ok(Some(stored)),
                Some(Err(entry)) => Err(StoreError::Corrupt {
                    path: PathBuf::from(entry.location),
                    message: entry.reason,
                }),
                None => Ok(None),
            };
        }
        // A block affinity name Calico shortened with a hash: search.
        match key {
            ResourceKey::Named {
                kind: kind @ NamedKind::BlockAffinity,
                ..
            } => Ok(self
                .read_ipam(*kind)?
                .1
                .into_iter()
                .find(|stored| stored.resource.key() == *key)),
            _ => Ok(None),
        }
    }

    /// The peer at `key` (read through the quorum) and the store index.
    fn read_one(&self, key: &PeerKey) -> Result<(Revision, Option<StoredPeer>), StoreError> {
        let etcd_key = self.key_of(key);
        let reply = self.send("GET", &etcd_key, &[("quorum", "true".to_owned())], None)?;
        let revision = Revision(reply.index.unwrap_or_default());
        if reply.error_code() == Some(KEY_NOT_FOUND) {
            return Ok((revision, None));
        }
        match reply.body.node.as_ref().filter(|_| reply.status == 200) {
            Some(node) => Ok((revision, self.decode(node)?)),
            None => Err(self.unexpected(&etcd_key, &reply)),
        }
    }

    /// Carries out one write; `Ok(None)` when the compare-and-swap lost to
    /// another writer, otherwise the index of the write.
    fn execute(&self, key: &PeerKey, write: &Write) -> Result<Option<Revision>, StoreError> {
        let etcd_key = self.key_of(key);
        let reply = match write {
            Write::Put { value, previous } => {
                let condition = match previous {
                    None => ("prevExist", "false".to_owned()),
                    Some(index) => ("prevIndex", index.to_string()),
                };
                self.send(
                    "PUT",
                    &etcd_key,
                    &[],
                    Some(&[("value", value.clone()), condition]),
                )?
            }
            Write::Delete { previous } => self.send(
                "DELETE",
                &etcd_key,
                &[("prevIndex", previous.to_string())],
                None,
            )?,
        };
        match reply.error_code() {
            Some(COMPARE_FAILED | NODE_EXISTS | KEY_NOT_FOUND) => return Ok(None),
            Some(_) => return Err(self.unexpected(&etcd_key, &reply)),
            None => {}
        }
        let written = reply
            .body
            .node
            .as_ref()
            .map(|node| node.modified_index)
            .filter(|index| *index > 0)
            .or(reply.index);
        match written {
            Some(index) if (200..300).contains(&reply.status) => Ok(Some(Revision(index))),
            _ => Err(self.unexpected(&etcd_key, &reply)),
        }
    }

    /// Applies one operation on the current state of its key: `Ok(None)` when a
    /// concurrent writer changed the key after it was read.
    fn apply_one(
        &self,
        operation: &Operation,
        store_revision: Revision,
        current: Option<&StoredPeer>,
    ) -> Result<Option<Outcome>, StoreError> {
        let key = operation.key();
        let resource_key = ResourceKey::BgpPeer(key.clone());
        let table = ResourceTable {
            revision: store_revision,
            resources: current
                .map(|stored| (resource_key.clone(), stored.clone().into()))
                .into_iter()
                .collect(),
        };
        let (after, mut outcomes, _changes) = table
            .apply(
                &[ResourceOperation::from(operation.clone())],
                SystemTime::now(),
            )
            .map_err(|failure| failure.error)?;
        let Some(mut outcome) = outcomes.pop() else {
            return Err(io_error(&self.prefix, format!("no outcome for {key}")));
        };
        let write = match outcome.action {
            Action::Created | Action::Replaced => match after
                .resources
                .get(&resource_key)
                .and_then(|stored| stored.resource.as_bgp_peer())
            {
                Some(peer) => Write::Put {
                    value: calico_v1::encode_value(peer),
                    previous: current.map(|stored| stored.revision.0),
                },
                None => return Err(io_error(&self.prefix, format!("lost {key}"))),
            },
            Action::Deleted => match current {
                Some(stored) => Write::Delete {
                    previous: stored.revision.0,
                },
                None => return Err(io_error(&self.prefix, format!("lost {key}"))),
            },
            Action::Unchanged | Action::SkippedExisting | Action::SkippedMissing => {
                return Ok(Some(outcome));
            }
        };
        Ok(self.execute(&key, &write)?.map(|revision| {
            outcome.revision = revision;
            outcome
        }))
    }
}

impl EtcdV2Store {
    fn get_peer(&self, key: &PeerKey) -> Result<Option<StoredPeer>, StoreError> {
        Ok(self.read_one(key)?.1)
    }

    fn list_peers(&self, filter: &ListFilter) -> Result<Listing, StoreError> {
        // Narrow the directory where the filter allows; the filter itself decides.
        let directory = match (&filter.node, filter.scope) {
            (Some(node), _) => format!("{}/host/{node}", self.prefix),
            (None, Some(ScopeKind::Global)) => format!("{}/global", self.prefix),
            (None, Some(ScopeKind::Node)) => format!("{}/host", self.prefix),
            (None, None) => self.prefix.clone(),
        };
        let (revision, mut peers) = self.read_tree(&directory)?;
        peers.retain(|stored| filter.matches(&stored.peer.key()));
        peers.sort_by_key(|stored| stored.peer.key());
        Ok(Listing { revision, peers })
    }

    /// No history replay over v2: an empty change set while the store index is
    /// still `since`, [`StoreError::Compacted`] (list again) once it has moved.
    fn peer_changes_since(&self, since: Revision) -> Result<ChangeSet, StoreError> {
        let (current, _) = self.read_tree(&self.prefix)?;
        if since > current {
            return Err(StoreError::FutureRevision {
                requested: since,
                current,
            });
        }
        if since < current {
            return Err(StoreError::Compacted {
                requested: since,
                compacted_through: current,
            });
        }
        Ok(ChangeSet {
            revision: current,
            changes: Vec::new(),
        })
    }

    /// Validates the whole batch on the current state, then applies it one
    /// compare-and-swap at a time: not atomic (see the module documentation).
    fn write_peers(&self, operations: &[Operation]) -> Result<Vec<Outcome>, BatchError> {
        let whole = |error| BatchError {
            index: None,
            committed: 0,
            error,
        };
        let mut store_revision = Revision::INITIAL;
        let mut state: BTreeMap<PeerKey, Option<StoredPeer>> = BTreeMap::new();
        for operation in operations {
            if let Entry::Vacant(entry) = state.entry(operation.key()) {
                let (revision, stored) = self.read_one(entry.key()).map_err(whole)?;
                store_revision = store_revision.max(revision);
                entry.insert(stored);
            }
        }
        // Validation: the shared batch semantics on what was read; nothing is
        // written when any operation would fail.
        let table = ResourceTable {
            revision: store_revision,
            resources: state
                .iter()
                .filter_map(|(key, stored)| {
                    Some((ResourceKey::BgpPeer(key.clone()), stored.clone()?.into()))
                })
                .collect(),
        };
        let resource_operations: Vec<ResourceOperation> = operations
            .iter()
            .cloned()
            .map(ResourceOperation::from)
            .collect();
        table.apply(&resource_operations, SystemTime::now())?;

        let mut outcomes = Vec::with_capacity(operations.len());
        for (index, operation) in operations.iter().enumerate() {
            let fail = |error| BatchError {
                index: Some(index),
                committed: index,
                error,
            };
            let key = operation.key();
            let current = state.get(&key).cloned().flatten();
            let outcome = match self
                .apply_one(operation, store_revision, current.as_ref())
                .map_err(fail)?
            {
                Some(outcome) => outcome,
                None => {
                    // Another writer got in between: re-read and report what the
                    // operation now fails with (or apply it if it no longer does).
                    let (revision, current) = self.read_one(&key).map_err(fail)?;
                    store_revision = store_revision.max(revision);
                    self.apply_one(operation, store_revision, current.as_ref())
                        .map_err(fail)?
                        .ok_or_else(|| {
                            fail(io_error(
                                &self.key_of(&key),
                                "another writer keeps changing this peer".to_owned(),
                            ))
                        })?
                }
            };
            let after = match outcome.action {
                Action::Created | Action::Replaced => {
                    operation_peer(operation).map(|peer| StoredPeer {
                        peer: peer.clone(),
                        revision: outcome.revision,
                    })
                }
                Action::Deleted => None,
                _ => state.get(&key).cloned().flatten(),
            };
            store_revision = store_revision.max(outcome.revision);
            state.insert(key, after);
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}

impl PeerStore for EtcdV2Store {
    fn get_resource(&self, key: &ResourceKey) -> Result<Option<StoredResource>, StoreError> {
        match key {
            ResourceKey::BgpPeer(key) => Ok(self.get_peer(key)?.map(StoredResource::from)),
            ResourceKey::Named { kind, .. } if is_calico_v1_ipam(*kind) => self.get_ipam(key),
            ResourceKey::Named { .. } => Err(unsupported(key)),
        }
    }

    fn list_resources(&self, filter: &ResourceFilter) -> Result<ResourceListing, StoreError> {
        let mut revision: Option<Revision> = None;
        let mut resources = Vec::new();
        let mut unreadable = Vec::new();
        if matches!(filter.kind, None | Some(ResourceKind::BgpPeer)) {
            let listing = self.list_peers(&filter.peers)?;
            revision = Some(listing.revision);
            resources.extend(listing.peers.into_iter().map(StoredResource::from));
        }
        for kind in [
            NamedKind::IpPool,
            NamedKind::BlockAffinity,
            NamedKind::IpamBlock,
        ] {
            if filter
                .kind
                .is_none_or(|wanted| wanted == kind.resource_kind())
            {
                let (index, records, bad) = self.read_ipam(kind)?;
                revision = Some(revision.map_or(index, |revision| revision.min(index)));
                resources.extend(records);
                unreadable.extend(bad);
            }
        }
        // Nothing of the other kinds can be stored here.
        let revision = match revision {
            Some(revision) => revision,
            None => self.read_tree(&self.prefix)?.0,
        };
        resources.retain(|stored| filter.matches(&stored.resource));
        resources.sort_by_key(|stored| stored.resource.key());
        unreadable.retain(|entry| filter.may_match(entry));
        Ok(ResourceListing {
            revision,
            resources,
            unreadable,
        })
    }

    fn resource_changes_since(&self, since: Revision) -> Result<ResourceChangeSet, StoreError> {
        let changes = self.peer_changes_since(since)?;
        Ok(ResourceChangeSet {
            revision: changes.revision,
            changes: changes
                .changes
                .into_iter()
                .map(|change| match change {
                    crate::store::Change::Put { peer, revision } => ResourceChange::Put {
                        resource: Resource::BgpPeer(peer),
                        revision,
                    },
                    crate::store::Change::Deleted { peer, revision } => ResourceChange::Deleted {
                        resource: Resource::BgpPeer(peer),
                        revision,
                    },
                })
                .collect(),
        })
    }

    /// v1 peers only: a batch holding any v3 resource (Calico v1's IPAM
    /// records included) is refused before anything is written.
    fn write_resources(
        &self,
        operations: &[ResourceOperation],
    ) -> Result<Vec<Outcome>, BatchError> {
        let mut peer_operations = Vec::with_capacity(operations.len());
        for (index, operation) in operations.iter().enumerate() {
            let refuse = |key: &ResourceKey| BatchError {
                index: Some(index),
                committed: 0,
                error: unsupported(key),
            };
            peer_operations.push(match operation {
                ResourceOperation::Create {
                    resource: Resource::BgpPeer(peer),
                    skip_if_exists,
                } => Operation::Create {
                    peer: peer.clone(),
                    skip_if_exists: *skip_if_exists,
                },
                ResourceOperation::Replace {
                    resource: Resource::BgpPeer(peer),
                    expected_revision,
                } => Operation::Replace {
                    peer: peer.clone(),
                    expected_revision: *expected_revision,
                },
                // v1 documents carry no resourceVersion, so there is no
                // revision to check here.
                ResourceOperation::Apply {
                    resource: Resource::BgpPeer(peer),
                    ..
                } => Operation::Apply { peer: peer.clone() },
                ResourceOperation::Delete {
                    key: ResourceKey::BgpPeer(key),
                    expected_revision,
                    skip_if_missing,
                } => Operation::Delete {
                    key: key.clone(),
                    expected_revision: *expected_revision,
                    skip_if_missing: *skip_if_missing,
                },
                other => return Err(refuse(&other.key())),
            });
        }
        self.write_peers(&peer_operations)
    }

    fn get(&self, key: &PeerKey) -> Result<Option<StoredPeer>, StoreError> {
        self.get_peer(key)
    }

    fn list(&self, filter: &ListFilter) -> Result<Listing, StoreError> {
        self.list_peers(filter)
    }

    fn changes_since(&self, since: Revision) -> Result<ChangeSet, StoreError> {
        self.peer_changes_since(since)
    }

    fn write_batch(&self, operations: &[Operation]) -> Result<Vec<Outcome>, BatchError> {
        self.write_peers(operations)
    }
}

/// Whether the kind is one of Calico v1's IPAM records this store reads.
fn is_calico_v1_ipam(kind: NamedKind) -> bool {
    matches!(
        kind,
        NamedKind::IpPool | NamedKind::BlockAffinity | NamedKind::IpamBlock
    )
}

fn unsupported(key: &ResourceKey) -> StoreError {
    let reason = match key {
        ResourceKey::Named { kind, .. } if is_calico_v1_ipam(*kind) => IPAM_READ_ONLY,
        _ => V3_UNSUPPORTED,
    };
    StoreError::Unsupported {
        store: "the etcd v2 store",
        key: key.clone(),
        reason,
    }
}

fn operation_peer(operation: &Operation) -> Option<&BgpPeer> {
    match operation {
        Operation::Create { peer, .. }
        | Operation::Replace { peer, .. }
        | Operation::Apply { peer } => Some(peer),
        Operation::Delete { .. } => None,
    }
}

fn io_error(path: &str, message: String) -> StoreError {
    StoreError::Io {
        path: PathBuf::from(path),
        source: io::Error::other(message),
    }
}
