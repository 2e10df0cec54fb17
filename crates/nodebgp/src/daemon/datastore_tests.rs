//! The datastore reader's copy of the store, against an in-memory store that
//! keeps a history (and can compact it, fail, and hold unreadable entries),
//! and the reader against a real etcd.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use peer_store::{
    BatchError, ListingChange, ListingChangeSet, Outcome, PeerStore, Resource, ResourceChange,
    ResourceChangeSet, ResourceFilter, ResourceKey, ResourceListing, ResourceOperation, Revision,
    StoreError, StoredResource, UnreadableResource,
};
use tokio::sync::watch;

use super::*;

/// A global v1 peer: every node runs it.
fn peer(address: &str, asn: u32) -> Resource {
    let text = format!(
        "apiVersion: v1\nkind: bgpPeer\nmetadata: {{scope: global, peerIP: {address}}}\nspec: {{asNumber: {asn}}}\n"
    );
    peer_store::parse_resources(&text).unwrap().remove(0)
}

fn unreadable(location: &str, name: &str) -> UnreadableResource {
    UnreadableResource {
        kind: Some("BGPPeer"),
        name: Some(name.to_owned()),
        location: location.to_owned(),
        reason: "value is not a Calico v3 resource".to_owned(),
    }
}

/// What the store holds, kept as etcd would: a revision per write, the
/// history of writes since the last compaction.
#[derive(Default)]
struct Memory {
    revision: Revision,
    resources: BTreeMap<ResourceKey, StoredResource>,
    unreadable: BTreeMap<String, UnreadableResource>,
    history: Vec<ListingChange>,
    compacted_through: Revision,
    failing: bool,
    lists: usize,
}

/// An in-memory [`PeerStore`] for the reader: it lists, tells changes, and
/// counts its calls; writes go through its own methods.
struct MemoryStore {
    memory: Mutex<Memory>,
    /// Calls that read (lists and changes), for tests to await.
    reads: watch::Sender<usize>,
}

impl MemoryStore {
    fn new() -> MemoryStore {
        MemoryStore {
            memory: Mutex::new(Memory::default()),
            reads: watch::Sender::new(0),
        }
    }

    fn memory(&self) -> MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One write of a batch of changes at the next revision.
    fn write(&self, changes: impl FnOnce(Revision) -> Vec<ListingChange>) {
        let mut memory = self.memory();
        memory.revision = Revision(memory.revision.0 + 1);
        for change in changes(memory.revision) {
            match &change {
                ListingChange::Resource(ResourceChange::Put { resource, revision }) => {
                    let stored = StoredResource {
                        resource: resource.clone(),
                        revision: *revision,
                    };
                    memory.resources.insert(resource.key(), stored);
                }
                ListingChange::Resource(ResourceChange::Deleted { resource, .. }) => {
                    memory.resources.remove(&resource.key());
                }
                ListingChange::Unreadable { entry, .. } => {
                    memory
                        .unreadable
                        .insert(entry.location.clone(), entry.clone());
                }
                ListingChange::Cleared { location, .. } => {
                    memory.unreadable.remove(location);
                }
            }
            memory.history.push(change);
        }
    }

    fn put(&self, resource: Resource) {
        self.write(|revision| {
            vec![ListingChange::Resource(ResourceChange::Put {
                resource,
                revision,
            })]
        });
    }

    fn delete(&self, resource: Resource) {
        self.write(|revision| {
            vec![ListingChange::Resource(ResourceChange::Deleted {
                resource,
                revision,
            })]
        });
    }

    fn put_unreadable(&self, entry: UnreadableResource) {
        self.write(|revision| vec![ListingChange::Unreadable { entry, revision }]);
    }

    /// The unreadable entry at `location` overwritten with `resource`.
    fn fix(&self, location: &str, resource: Resource) {
        self.write(|revision| {
            vec![
                ListingChange::Cleared {
                    location: location.to_owned(),
                    revision,
                },
                ListingChange::Resource(ResourceChange::Put { resource, revision }),
            ]
        });
    }

    /// Drops the history up to now, as etcd's compaction does.
    fn compact(&self) {
        let mut memory = self.memory();
        memory.compacted_through = memory.revision;
        memory.history.clear();
    }

    fn set_failing(&self, failing: bool) {
        self.memory().failing = failing;
    }

    fn lists(&self) -> usize {
        self.memory().lists
    }

    /// Whether `cache` holds exactly what the store does.
    fn matches(&self, cache: &StoreCache) -> bool {
        let memory = self.memory();
        cache.revision == Some(memory.revision)
            && cache.resources == memory.resources
            && cache.unreadable == memory.unreadable
    }

    fn read(&self, memory: &Memory) -> Result<(), StoreError> {
        self.reads.send_modify(|reads| *reads += 1);
        if memory.failing {
            return Err(StoreError::Io {
                path: "memory".into(),
                source: std::io::Error::other("unreachable"),
            });
        }
        Ok(())
    }
}

impl PeerStore for MemoryStore {
    fn get_resource(&self, key: &ResourceKey) -> Result<Option<StoredResource>, StoreError> {
        Ok(self.memory().resources.get(key).cloned())
    }

    fn list_resources(&self, filter: &ResourceFilter) -> Result<ResourceListing, StoreError> {
        let mut memory = self.memory();
        self.read(&memory)?;
        memory.lists += 1;
        Ok(ResourceListing {
            revision: memory.revision,
            resources: memory
                .resources
                .values()
                .filter(|stored| filter.matches(&stored.resource))
                .cloned()
                .collect(),
            unreadable: memory.unreadable.values().cloned().collect(),
        })
    }

    fn resource_changes_since(&self, since: Revision) -> Result<ResourceChangeSet, StoreError> {
        let changes = self.listing_changes_since(since)?;
        Ok(ResourceChangeSet {
            revision: changes.revision,
            changes: changes
                .changes
                .into_iter()
                .filter_map(|change| match change {
                    ListingChange::Resource(change) => Some(change),
                    _ => None,
                })
                .collect(),
        })
    }

    fn listing_changes_since(&self, since: Revision) -> Result<ListingChangeSet, StoreError> {
        let memory = self.memory();
        self.read(&memory)?;
        if since > memory.revision {
            return Err(StoreError::FutureRevision {
                requested: since,
                current: memory.revision,
            });
        }
        if since < memory.compacted_through {
            return Err(StoreError::Compacted {
                requested: since,
                compacted_through: memory.compacted_through,
            });
        }
        Ok(ListingChangeSet {
            revision: memory.revision,
            changes: memory
                .history
                .iter()
                .filter(|change| change.revision() > since)
                .cloned()
                .collect(),
        })
    }

    fn write_resources(
        &self,
        _operations: &[ResourceOperation],
    ) -> Result<Vec<Outcome>, BatchError> {
        panic!("the reader never writes")
    }
}

fn addresses(desired: &Desired) -> Vec<String> {
    desired
        .peers
        .iter()
        .map(|peer| peer.address.ip().to_string())
        .collect()
}

#[test]
fn the_copy_is_listed_once_then_follows_the_changes_in_their_order() {
    let store = MemoryStore::new();
    store.put(peer("10.0.0.1", 65001));
    store.put(peer("10.0.0.2", 65002));
    let mut cache = StoreCache::default();
    assert!(cache.refresh(&store, Follow::Changes).unwrap());
    assert!(store.matches(&cache));
    assert_eq!(store.lists(), 1);

    // A peer added, changed twice (the last write wins), one deleted.
    store.put(peer("10.0.0.3", 65003));
    store.put(peer("10.0.0.1", 65011));
    store.put(peer("10.0.0.1", 65021));
    store.delete(peer("10.0.0.2", 65002));
    assert!(cache.refresh(&store, Follow::Changes).unwrap());
    assert!(store.matches(&cache));
    assert_eq!(store.lists(), 1, "changes, not a listing");
    let desired = cache.compute("n1").desired;
    assert_eq!(addresses(&desired), ["10.0.0.1", "10.0.0.3"]);
    assert_eq!(desired.peers[0].asn.0, 65021);

    // Nothing new: nothing to compute.
    assert!(!cache.refresh(&store, Follow::Changes).unwrap());
    // Deleted and created again between two refreshes.
    store.delete(peer("10.0.0.3", 65003));
    store.put(peer("10.0.0.3", 65003));
    assert!(cache.refresh(&store, Follow::Changes).unwrap());
    assert!(store.matches(&cache));
    assert_eq!(store.lists(), 1);
}

#[test]
fn an_unreadable_entry_is_ignored_until_it_is_fixed() {
    let store = MemoryStore::new();
    store.put(peer("10.0.0.1", 65001));
    let mut cache = StoreCache::default();
    cache.refresh(&store, Follow::Changes).unwrap();

    let location = "/calico/resources/v3/projectcalico.org/bgppeers/broken";
    store.put_unreadable(unreadable(location, "broken"));
    assert!(cache.refresh(&store, Follow::Changes).unwrap());
    assert!(store.matches(&cache));
    let desired = cache.compute("n1").desired;
    assert_eq!(addresses(&desired), ["10.0.0.1"]);
    assert_eq!(
        desired
            .ignored
            .iter()
            .map(|entry| entry.name.as_str())
            .collect::<Vec<_>>(),
        ["broken"]
    );

    store.fix(location, peer("10.0.0.9", 65009));
    assert!(cache.refresh(&store, Follow::Changes).unwrap());
    assert!(store.matches(&cache));
    let desired = cache.compute("n1").desired;
    assert_eq!(addresses(&desired), ["10.0.0.1", "10.0.0.9"]);
    assert!(desired.ignored.is_empty(), "{:?}", desired.ignored);
    assert_eq!(store.lists(), 1);
}

#[test]
fn a_compacted_history_means_a_full_listing() {
    let store = MemoryStore::new();
    store.put(peer("10.0.0.1", 65001));
    let mut cache = StoreCache::default();
    cache.refresh(&store, Follow::Changes).unwrap();

    // Changes the copy never saw, then gone from the history.
    store.put(peer("10.0.0.2", 65002));
    store.delete(peer("10.0.0.1", 65001));
    store.compact();
    assert!(cache.refresh(&store, Follow::Changes).unwrap());
    assert_eq!(store.lists(), 2);
    assert!(store.matches(&cache));
    assert_eq!(addresses(&cache.compute("n1").desired), ["10.0.0.2"]);

    // From there on, changes again.
    store.put(peer("10.0.0.3", 65003));
    assert!(cache.refresh(&store, Follow::Changes).unwrap());
    assert_eq!(store.lists(), 2);
    assert!(store.matches(&cache));

    // Listed again after a compaction that hid nothing: the same content.
    store.compact();
    store.put(peer("10.0.0.3", 65003));
    let before = cache.resources.clone();
    cache.refresh(&store, Follow::Changes).unwrap();
    assert_eq!(
        store.lists(),
        2,
        "the history after the copy's revision is there"
    );
    assert_ne!(before, cache.resources, "a new revision of 10.0.0.3");
}

#[test]
fn after_an_error_the_copy_is_listed_again() {
    let store = MemoryStore::new();
    store.put(peer("10.0.0.1", 65001));
    let mut cache = StoreCache::default();
    cache.refresh(&store, Follow::Changes).unwrap();

    store.set_failing(true);
    store.put(peer("10.0.0.2", 65002));
    assert!(cache.refresh(&store, Follow::Changes).is_err());
    assert_eq!(cache.revision(), None);
    store.set_failing(false);
    assert!(cache.refresh(&store, Follow::Changes).unwrap());
    assert_eq!(store.lists(), 2);
    assert!(store.matches(&cache));

    // A listing that finds what the copy holds changes nothing.
    store.set_failing(true);
    assert!(cache.refresh(&store, Follow::Changes).is_err());
    store.set_failing(false);
    assert!(!cache.refresh(&store, Follow::Changes).unwrap());
    assert_eq!(store.lists(), 3);
}

#[test]
fn a_store_without_history_is_listed_every_time_and_compared() {
    let store = MemoryStore::new();
    store.put(peer("10.0.0.1", 65001));
    let mut cache = StoreCache::default();
    assert!(cache.refresh(&store, Follow::Listing).unwrap());
    assert!(!cache.refresh(&store, Follow::Listing).unwrap());
    store.put_unreadable(unreadable("store.yaml (resources entry 2)", "broken"));
    assert!(cache.refresh(&store, Follow::Listing).unwrap());
    assert!(store.matches(&cache));
    assert_eq!(store.lists(), 3);
}

#[tokio::test(start_paused = true)]
async fn at_start_an_unreachable_store_is_tried_until_it_answers() {
    let store = Arc::new(MemoryStore::new());
    store.put(peer("10.0.0.1", 65001));
    store.set_failing(true);
    let mut reads = store.reads.subscribe();
    let started = Instant::now();
    let mut desired = spawn(
        store.clone(),
        &Datastore::EtcdV3(peer_store::EtcdAccess::default()),
        "n1".into(),
        no_endpoint_status(),
    );
    reads.wait_for(|reads| *reads >= 3).await.unwrap();
    assert!(desired.borrow().is_none());
    // Tried at once, after 2 s, after 4 more.
    assert!(started.elapsed() >= Duration::from_secs(6));

    store.set_failing(false);
    let reading = desired
        .wait_for(Option::is_some)
        .await
        .unwrap()
        .clone()
        .unwrap();
    assert_eq!(addresses(&reading), ["10.0.0.1"]);
    assert_eq!(store.lists(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_manager_hears_of_changes_only() {
    let store = Arc::new(MemoryStore::new());
    store.put(peer("10.0.0.1", 65001));
    let mut reads = store.reads.subscribe();
    let mut desired = spawn(
        store.clone(),
        &Datastore::EtcdV3(peer_store::EtcdAccess::default()),
        "n1".into(),
        no_endpoint_status(),
    );
    desired.wait_for(Option::is_some).await.unwrap();

    // Five quiet reads (seconds): no new reading.
    let now = *reads.borrow_and_update();
    reads.wait_for(|reads| *reads >= now + 5).await.unwrap();
    assert!(!desired.has_changed().unwrap());

    store.put(peer("10.0.0.2", 65002));
    let reading = desired
        .wait_for(|reading| {
            reading
                .as_ref()
                .is_some_and(|reading| reading.peers.len() == 2)
        })
        .await
        .unwrap()
        .clone()
        .unwrap();
    assert_eq!(addresses(&reading), ["10.0.0.1", "10.0.0.2"]);
    assert_eq!(store.lists(), 1);
}

mod etcd {
    //! The reader against a real etcd from the lab harness.

    use std::io;
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use peer_store::EtcdStore;

    use super::*;

    /// An [`EtcdStore`] that counts listings and change reads, tells failed
    /// calls, and lets a test hold calls back (`gate`) while it changes
    /// etcd behind the reader's back.
    struct Observed {
        inner: EtcdStore,
        gate: Mutex<()>,
        lists: AtomicUsize,
        change_reads: AtomicUsize,
        failures: watch::Sender<usize>,
    }

    impl Observed {
        fn new(inner: EtcdStore) -> Observed {
            Observed {
                inner,
                gate: Mutex::new(()),
                lists: AtomicUsize::new(0),
                change_reads: AtomicUsize::new(0),
                failures: watch::Sender::new(0),
            }
        }

        fn hold(&self) -> MutexGuard<'_, ()> {
            self.gate.lock().unwrap_or_else(PoisonError::into_inner)
        }

        fn observe<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
            if result.is_err() {
                self.failures.send_modify(|failures| *failures += 1);
            }
            result
        }
    }

    impl PeerStore for Observed {
        fn get_resource(&self, key: &ResourceKey) -> Result<Option<StoredResource>, StoreError> {
            self.inner.get_resource(key)
        }

        fn list_resources(&self, filter: &ResourceFilter) -> Result<ResourceListing, StoreError> {
            let _held = self.hold();
            self.lists.fetch_add(1, Ordering::SeqCst);
            self.observe(self.inner.list_resources(filter))
        }

        fn resource_changes_since(&self, since: Revision) -> Result<ResourceChangeSet, StoreError> {
            self.inner.resource_changes_since(since)
        }

        fn listing_changes_since(&self, since: Revision) -> Result<ListingChangeSet, StoreError> {
            let _held = self.hold();
            self.change_reads.fetch_add(1, Ordering::SeqCst);
            let result = self.inner.listing_changes_since(since);
            // Compaction is how etcd says "list again", not a failure.
            if !matches!(result, Err(StoreError::Compacted { .. })) {
                return self.observe(result);
            }
            result
        }

        fn write_resources(
            &self,
            operations: &[ResourceOperation],
        ) -> Result<Vec<Outcome>, BatchError> {
            self.inner.write_resources(operations)
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// Waits (at most 60 s) until the reader hands over a reading whose
    /// peers are at `expected`.
    fn await_peers(
        runtime: &tokio::runtime::Runtime,
        desired: &mut watch::Receiver<Option<Desired>>,
        expected: &[&str],
    ) {
        let wanted = |reading: &Option<Desired>| {
            reading
                .as_ref()
                .is_some_and(|reading| addresses(reading) == expected)
        };
        let waited = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), desired.wait_for(wanted))
                .await
                .is_ok_and(|reading| reading.is_ok())
        });
        assert!(
            waited,
            "no reading with peers {expected:?}: {:?}",
            desired.borrow()
        );
    }

    fn compact(endpoints: &[String], revision: Revision) {
        runtime().block_on(async {
            let mut client = etcd_client::Client::connect(endpoints, None).await.unwrap();
            client
                .compact(i64::try_from(revision.0).unwrap(), None)
                .await
                .unwrap();
        });
    }

    fn v1_peer(address: &str) -> peer_store::BgpPeer {
        match peer(address, 65000) {
            Resource::BgpPeer(peer) => peer,
            other => panic!("not a v1 peer: {other:?}"),
        }
    }

    #[test]
    fn the_reader_follows_etcd_by_its_changes_and_lists_again_after_a_compaction() {
        let server = lab::Etcd::start("nodebgp-reader").unwrap_or_else(|error| panic!("{error}"));
        let endpoints = vec![server.endpoint().to_owned()];
        let writer = EtcdStore::connect(&endpoints, None).unwrap();
        writer.create(v1_peer("10.0.0.1")).unwrap();
        let store = Arc::new(Observed::new(EtcdStore::connect(&endpoints, None).unwrap()));
        let runtime = runtime();
        let mut desired = runtime.block_on(async {
            spawn(
                store.clone(),
                &Datastore::EtcdV3(peer_store::EtcdAccess::new(&endpoints)),
                "n1".into(),
                no_endpoint_status(),
            )
        });
        await_peers(&runtime, &mut desired, &["10.0.0.1"]);
        assert_eq!(store.lists.load(Ordering::SeqCst), 1);

        // A change reaches the reader through etcd's history.
        writer.create(v1_peer("10.0.0.2")).unwrap();
        await_peers(&runtime, &mut desired, &["10.0.0.1", "10.0.0.2"]);
        assert_eq!(store.lists.load(Ordering::SeqCst), 1);
        assert!(store.change_reads.load(Ordering::SeqCst) >= 1);

        // While the reader waits, changes it has not seen, then compacted away.
        {
            let _held = store.hold();
            writer.create(v1_peer("10.0.0.3")).unwrap();
            let deleted = writer.delete(&v1_peer("10.0.0.1").key(), None).unwrap();
            compact(&endpoints, deleted);
        }
        await_peers(&runtime, &mut desired, &["10.0.0.2", "10.0.0.3"]);
        assert_eq!(store.lists.load(Ordering::SeqCst), 2, "listed again");

        // And back to following changes.
        writer.create(v1_peer("10.0.0.4")).unwrap();
        await_peers(
            &runtime,
            &mut desired,
            &["10.0.0.2", "10.0.0.3", "10.0.0.4"],
        );
        assert_eq!(store.lists.load(Ordering::SeqCst), 2);
        assert_eq!(*store.failures.borrow(), 0);
    }

    /// Forwards every connection to `listener` to `target`, for as long as
    /// the test process lives.
    fn forward(listener: TcpListener, target: SocketAddr) {
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let (Ok(client), Ok(server)) = (client, TcpStream::connect(target)) else {
                    continue;
                };
                let pipe = |mut from: TcpStream, mut to: TcpStream| {
                    std::thread::spawn(move || {
                        let _ = io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                };
                match (client.try_clone(), server.try_clone()) {
                    (Ok(client_copy), Ok(server_copy)) => {
                        pipe(client, server_copy);
                        pipe(server, client_copy);
                    }
                    _ => continue,
                }
            }
        });
    }

    #[test]
    fn started_before_etcd_answers_the_reader_retries_and_then_hands_the_peers_over() {
        let server = lab::Etcd::start("nodebgp-late").unwrap_or_else(|error| panic!("{error}"));
        let endpoints = vec![server.endpoint().to_owned()];
        EtcdStore::connect(&endpoints, None)
            .unwrap()
            .create(v1_peer("10.0.0.1"))
            .unwrap();
        let etcd_address: SocketAddr = server
            .endpoint()
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        // An address nothing listens on yet: etcd, as the daemon sees it,
        // is unreachable until the test forwards it there.
        let address = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let store = Arc::new(Observed::new(
            EtcdStore::connect_lazily(&[format!("http://{address}")], None).unwrap(),
        ));
        let runtime = runtime();
        let mut failures = store.failures.subscribe();
        let mut desired = runtime.block_on(async {
            spawn(
                store.clone(),
                &Datastore::EtcdV3(peer_store::EtcdAccess::default()),
                "n1".into(),
                no_endpoint_status(),
            )
        });
        runtime
            .block_on(failures.wait_for(|failures| *failures >= 1))
            .unwrap();
        assert!(desired.borrow().is_none());

        forward(TcpListener::bind(address).unwrap(), etcd_address);
        await_peers(&runtime, &mut desired, &["10.0.0.1"]);
    }
}

#[tokio::test(start_paused = true)]
async fn a_password_file_is_read_again_while_the_store_is_quiet() {
    let file = std::env::temp_dir().join(format!("nodebgp-reader-password-{}", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let text = format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {{name: locked}}\nspec: {{peerIP: 192.0.2.1, asNumber: 65001, password: {{file: {}}}}}\n",
        file.display()
    );
    let store = Arc::new(MemoryStore::new());
    store.put(peer_store::parse_resources(&text).unwrap().remove(0));
    let mut desired = spawn(
        store.clone(),
        &Datastore::EtcdV3(peer_store::EtcdAccess::default()),
        "n1".into(),
        no_endpoint_status(),
    );
    let first = desired
        .wait_for(Option::is_some)
        .await
        .unwrap()
        .clone()
        .unwrap();
    assert!(first.peers.is_empty(), "never without its key");
    assert_eq!(first.ignored.len(), 1, "{:?}", first.ignored);

    // The key arrives; the store does not change.
    std::fs::write(&file, "secret\n").unwrap();
    let started = Instant::now();
    let reading = desired
        .wait_for(|reading| {
            reading
                .as_ref()
                .is_some_and(|reading| !reading.peers.is_empty())
        })
        .await
        .unwrap()
        .clone()
        .unwrap();
    assert!(started.elapsed() <= REREAD_INTERVAL + READ_INTERVAL);
    assert_eq!(addresses(&reading), ["192.0.2.1"]);
    assert!(reading.ignored.is_empty());
    assert_eq!(store.lists(), 1);
    std::fs::remove_file(&file).unwrap();
}

/// No Felix here: no endpoint status files.
fn no_endpoint_status() -> std::path::PathBuf {
    std::path::PathBuf::from("/nonexistent/nodebgp-endpoint-status")
}
