//! The datastores of Calico's BGP resources (the v1 `bgpPeer` and the
//! `projectcalico.org/v3` `BGPPeer`, `Node` and `BGPConfiguration`, and
//! Calico IPAM's `IPPool`, `BlockAffinity` and `IPAMBlock`): the embedded
//! file store, etcd v3 and etcd v2, and calicoctl's verbs over them. The
//! resources themselves (models, validation, selectors; no I/O) are the
//! `calico-model` crate, re-exported here whole so that callers of the
//! stores name one crate.
//!
//! - **v3 resources** ([`parse_resources`], [`Resource`]): `BGPPeer` (node /
//!   nodeSelector / global, peerIP+asNumber or peerSelector, password from a file
//!   or an environment variable, sourceAddress, keepaliveTime, maxRestartTime,
//!   ttlSecurity, numAllowedLocalASNumbers, keepOriginalNextHop), `Node` (labels,
//!   `spec.bgp` addresses, AS, route-reflector cluster id) and `BGPConfiguration`,
//!   with Calico's mutual exclusions; label selectors in [`Selector`].
//! - **IPAM resources**: `IPPool` ([`IpPoolResource`]: cidr, block size,
//!   encapsulation, NAT, export, node selector, allowed uses, Calico's defaults
//!   and rules), `BlockAffinity` ([`BlockAffinityResource`]: a node's claim on
//!   a block, its state) and `IPAMBlock` ([`IpamBlockResource`]: who holds each
//!   address, [`IpamBlockResource::addresses_allocated_to_node`] the addresses a
//!   node borrowed). Every store holds every kind (the etcd v2 store v1 peers,
//!   and Calico v1's IPAM read-only), identified by [`ResourceKey`].
//! - **Calico's documents whole**: every field of a Calico v3 document is read,
//!   whether modelled or not (metadata such as `uid`, `creationTimestamp`,
//!   `annotations`, `managedFields`; calico-node's Node fields and `status`;
//!   newer BGPPeer and BGPConfiguration settings), and what is not modelled is
//!   kept verbatim ([`Unmodelled`]) and written back, so a read-modify-write
//!   never drops a field. Files are strict about names (a typo is refused by
//!   name), stores are not. A BGPPeer setting a field nodebgp cannot carry out
//!   (`localWorkloadSelector`, a Kubernetes Secret password, a spec field of a
//!   newer Calico) is an [`UnsupportedBgpPeer`] with its reasons, never a
//!   [`BgpPeerV3`].
//!
//! # Contract
//!
//! - **Input** ([`parse_documents`], [`parse_keys`]): YAML or JSON holding bgpPeer
//!   documents (`apiVersion: v1`, `kind: bgpPeer`, `metadata: {scope, node, peerIP}`,
//!   `spec: {asNumber}`) as several `---` documents, a list, or a `kind: bgpPeerList`
//!   with `items`. Unknown fields are refused by name. Every document is validated
//!   before any is returned; every invalid one is reported, named by its identity
//!   (`bgpPeer(node=rack1-host1, peerIP=10.0.0.1): error with field asNumber =
//!   '65536.1' (invalid AS Number format)`) or, when that is unreadable, its 1-based
//!   position (`document 3: …`).
//! - **Validation** (libcalico-go v1): `scope` is `global` or `node`; `node` is
//!   required for node scope, forbidden for global scope, and matches
//!   `^[a-zA-Z0-9_.-]{1,128}$`; `peerIP` is an IPv4 or IPv6 address, or (Calico v3)
//!   `a.b.c.d:port` / `[v6]:port`; `asNumber` is required and is a 32-bit integer,
//!   a decimal string, or asdot `"X.Y"` with each half in 0..=65535.
//! - **Identity** is (scope, node, peerIP including any port): [`PeerKey`].
//! - **Output** ([`to_yaml`], [`to_json`]): a sequence/array of documents with
//!   `asNumber` as a plain integer; it parses back to the same peers.
//! - **Stores** implement [`PeerStore`]: synchronous (call from `spawn_blocking`),
//!   create / replace (with an optional revision check) / apply / delete / get /
//!   list, all-or-nothing batches, and polling changes instead of a push watch,
//!   for every kind ([`PeerStore::write_resources`],
//!   [`PeerStore::list_resources`], [`PeerStore::resource_changes_since`], …);
//!   the v1-only methods ([`PeerStore::write_batch`], [`PeerStore::list`],
//!   [`PeerStore::changes_since`]) are views of them. Errors read as
//!   libcalico-go's (`resource already exists: BGPPeer(global, ip=10.0.0.1)`).
//!   A stored entry that is not a valid resource is skipped and reported
//!   ([`ResourceListing::unreadable`]); the rest is listed. Creating a v3
//!   resource gives it a `uid` and a `creationTimestamp`; a resource's revision
//!   is its `resourceVersion`, printed by [`stored_resources_to_yaml`] and
//!   checked by replace, apply and delete.
//! - **[`FileStore`]** keeps everything in `<dir>/store.yaml`, replaced atomically
//!   (temporary file, fsync, rename, directory fsync) under an advisory lock on
//!   `<dir>/store.lock`: concurrent writers do not lose updates, and a crash leaves
//!   the old state or the new one.
//! - **[`EtcdStore`]** keeps v1 peers in etcd (v3 API) as the v3 BGPPeers
//!   Calico's upgrade makes of them (`bgppeers/10-0-0-1`, annotated so that they
//!   read back as v1 peers), reads those in Calico's v1 key layout
//!   (`/calico/bgp/v1/{global|host/<node>}/peer_v4|peer_v6/<ip>`, value
//!   `{"ip":…,"as_num":"…"}`), and keeps v3 resources in Calico's v3 layout
//!   (`/calico/resources/v3/projectcalico.org/<plural>/<name>`, the JSON
//!   document), block affinities and IPAM blocks in Calico IPAM's keys
//!   (`/calico/ipam/v2/host/<node>/ipv4/block/<cidr>`,
//!   `/calico/ipam/v2/assignment/ipv4/block/<cidr>`), with etcd revisions, one
//!   etcd transaction per batch and a watch replay for
//!   [`PeerStore::resource_changes_since`].
//! - **[`EtcdV2Store`]** keeps peers in the same layout through etcd's v2 HTTP API,
//!   as Calico v1 clusters did: batches are validated first, then applied one
//!   compare-and-swap at a time (not atomic), and [`PeerStore::changes_since`]
//!   asks the caller to list again whenever the store moved. It holds v1 peers
//!   and reads a Calico v1 cluster's pools, block affinities and blocks; it
//!   refuses to write those, and every other v3 kind
//!   ([`StoreError::Unsupported`]).
//! - **[`EtcdAccess`]**: how both etcd stores reach their cluster: endpoints,
//!   etcd's user authentication, TLS with client certificates (PEM bytes; the
//!   caller reads the files its configuration names).
//! - **CLI helpers** ([`execute_documents`] and friends, [`resource_kind`],
//!   [`resources_to_table`]) give calicoctl's verbs, aliases, messages
//!   (`Successfully created 2 'bgpPeer' resource(s)`) and tables (`-o ps`,
//!   `-o wide`).

mod batch;
mod calico_ipam;
mod calico_v1;
mod etcd_access;
mod etcd_store;
mod etcd_v2_store;
mod file_store;
mod store;
mod table;

// The resource model, re-exported whole for callers; its modules also give
// the stores' own paths (`crate::model::…`).
pub use calico_model::*;

pub use batch::{
    apply_documents, create_documents, delete_documents, execute_documents, replace_documents,
    BatchOptions, BatchReport, CommandError, Verb,
};
pub use etcd_access::{EtcdAccess, EtcdCredentials, EtcdTls};
pub use etcd_store::{
    EtcdStore, DEFAULT_PREFIX, ETCD_MAX_TRANSACTION_OPERATIONS, V3_RESOURCES_PATH,
};
pub use etcd_v2_store::EtcdV2Store;
pub use file_store::{FileStore, CHANGE_HISTORY_LIMIT, LOCK_FILE_NAME, STORE_FILE_NAME};
pub use store::{
    Action, BatchError, Change, ChangeSet, ListFilter, Listing, ListingChange, ListingChangeSet,
    Operation, Outcome, PeerStore, ResourceChange, ResourceChangeSet, ResourceFilter,
    ResourceListing, ResourceOperation, StoreError, UnreadableResource,
};
