//! The file datastore: operation semantics, revisions and history, crash safety,
//! and concurrent writers.

mod common;

use std::fs;
use std::sync::Arc;
use std::thread;

use common::{peer, TemporaryDirectory};
use peer_store::{
    Action, Change, FileStore, ListFilter, NodeName, Operation, PeerStore, ResourceFilter,
    Revision, ScopeKind, StoreError, CHANGE_HISTORY_LIMIT, STORE_FILE_NAME,
};

fn open(directory: &TemporaryDirectory) -> FileStore {
    FileStore::open(directory.path()).unwrap()
}

#[test]
fn create_twice_is_already_exists() {
    let directory = TemporaryDirectory::new("create-twice");
    let store = open(&directory);
    let first = common::contract::create_twice_is_already_exists(&store);
    assert_eq!(first.revision, Revision(1));
}

#[test]
fn same_address_in_other_scopes_or_ports_is_another_peer() {
    let directory = TemporaryDirectory::new("identity");
    let store = open(&directory);
    store.create(peer("global", None, "10.0.0.1", "1")).unwrap();
    store
        .create(peer("node", Some("a"), "10.0.0.1", "2"))
        .unwrap();
    store
        .create(peer("node", Some("b"), "10.0.0.1", "3"))
        .unwrap();
    store
        .create(peer("global", None, "10.0.0.1:1790", "4"))
        .unwrap();
    assert_eq!(store.list(&ListFilter::all()).unwrap().peers.len(), 4);
}

#[test]
fn replace_absent_is_not_found() {
    let directory = TemporaryDirectory::new("replace-absent");
    let store = open(&directory);
    let error = store
        .replace(peer("node", Some("rack1-host1"), "10.0.0.1", "1"), None)
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "resource does not exist: BGPPeer(node=rack1-host1, ip=10.0.0.1)"
    );
    assert!(store.list(&ListFilter::all()).unwrap().peers.is_empty());
}

#[test]
fn replace_checks_the_revision_the_caller_read() {
    let directory = TemporaryDirectory::new("conflict");
    let store = open(&directory);
    let read = store.create(peer("global", None, "10.0.0.1", "1")).unwrap();

    // Another writer changes the peer after we read it.
    let other_writer = open(&directory);
    let changed = other_writer
        .replace(peer("global", None, "10.0.0.1", "2"), Some(read.revision))
        .unwrap();
    assert_eq!(changed.revision, Revision(2));

    let error = store
        .replace(peer("global", None, "10.0.0.1", "3"), Some(read.revision))
        .unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Conflict {
                expected: Revision(1),
                actual: Revision(2),
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "update conflict: BGPPeer(global, ip=10.0.0.1) (read at revision 1, now at revision 2)"
    );
    assert_eq!(store.get(&read.peer.key()).unwrap().unwrap(), changed);

    // With the current revision it goes through, and without one it always does.
    let replaced = store
        .replace(
            peer("global", None, "10.0.0.1", "3"),
            Some(changed.revision),
        )
        .unwrap();
    assert_eq!(replaced.revision, Revision(3));
    let unconditional = store
        .replace(peer("global", None, "10.0.0.1", "4"), None)
        .unwrap();
    assert_eq!(unconditional.revision, Revision(4));
}

#[test]
fn delete_removes_and_checks_revision() {
    let directory = TemporaryDirectory::new("delete");
    let store = open(&directory);
    let stored = store
        .create(peer("node", Some("n1"), "2001:db8::1", "1"))
        .unwrap();
    let key = stored.peer.key();

    let stale = store.delete(&key, Some(Revision(99))).unwrap_err();
    assert!(matches!(stale, StoreError::Conflict { .. }), "{stale:?}");
    assert!(store.get(&key).unwrap().is_some());

    assert_eq!(
        store.delete(&key, Some(stored.revision)).unwrap(),
        Revision(2)
    );
    assert_eq!(store.get(&key).unwrap(), None);

    let again = store.delete(&key, None).unwrap_err();
    assert_eq!(
        again.to_string(),
        "resource does not exist: BGPPeer(node=n1, ip=2001:db8::1)"
    );
}

#[test]
fn apply_creates_replaces_and_skips_no_ops() {
    let directory = TemporaryDirectory::new("apply");
    let store = open(&directory);
    let operations = |as_number: &str| {
        vec![Operation::Apply {
            peer: peer("global", None, "10.0.0.1", as_number),
        }]
    };
    let created = store.write_batch(&operations("1")).unwrap();
    assert_eq!(created[0].action, Action::Created);
    let replaced = store.write_batch(&operations("2")).unwrap();
    assert_eq!(replaced[0].action, Action::Replaced);
    assert_eq!(replaced[0].revision, Revision(2));

    let store_file = directory.path().join(STORE_FILE_NAME);
    let before = fs::read(&store_file).unwrap();
    let unchanged = store.write_batch(&operations("2")).unwrap();
    assert_eq!(unchanged[0].action, Action::Unchanged);
    assert_eq!(unchanged[0].revision, Revision(2));
    assert_eq!(
        fs::read(&store_file).unwrap(),
        before,
        "a no-op must not rewrite the file"
    );
    assert_eq!(
        store.changes_since(Revision(2)).unwrap().changes,
        Vec::new()
    );
}

#[test]
fn list_filters_by_scope_node_and_address() {
    let directory = TemporaryDirectory::new("list");
    let store = open(&directory);
    for (scope, node, address) in [
        ("node", Some("rack2"), "10.0.0.9"),
        ("global", None, "10.0.0.2"),
        ("node", Some("rack1"), "10.0.0.1"),
        ("global", None, "10.0.0.1"),
        ("node", Some("rack1"), "2001:db8::1"),
    ] {
        store.create(peer(scope, node, address, "64512")).unwrap();
    }
    let rack1 = NodeName::new("rack1").unwrap();
    let listed = |filter: ListFilter| -> Vec<String> {
        store
            .list(&filter)
            .unwrap()
            .peers
            .iter()
            .map(|stored| stored.peer.key().to_string())
            .collect()
    };
    let cases: Vec<(ListFilter, Vec<&str>)> = vec![
        (
            ListFilter::all(),
            vec![
                "BGPPeer(global, ip=10.0.0.1)",
                "BGPPeer(global, ip=10.0.0.2)",
                "BGPPeer(node=rack1, ip=10.0.0.1)",
                "BGPPeer(node=rack1, ip=2001:db8::1)",
                "BGPPeer(node=rack2, ip=10.0.0.9)",
            ],
        ),
        (
            ListFilter {
                scope: Some(ScopeKind::Global),
                ..ListFilter::all()
            },
            vec![
                "BGPPeer(global, ip=10.0.0.1)",
                "BGPPeer(global, ip=10.0.0.2)",
            ],
        ),
        (
            ListFilter {
                scope: Some(ScopeKind::Node),
                ..ListFilter::all()
            },
            vec![
                "BGPPeer(node=rack1, ip=10.0.0.1)",
                "BGPPeer(node=rack1, ip=2001:db8::1)",
                "BGPPeer(node=rack2, ip=10.0.0.9)",
            ],
        ),
        (
            ListFilter {
                node: Some(rack1.clone()),
                ..ListFilter::all()
            },
            vec![
                "BGPPeer(node=rack1, ip=10.0.0.1)",
                "BGPPeer(node=rack1, ip=2001:db8::1)",
            ],
        ),
        (
            ListFilter {
                scope: Some(ScopeKind::Global),
                node: Some(rack1.clone()),
                ..ListFilter::all()
            },
            vec![],
        ),
        (
            ListFilter {
                peer_address: Some("10.0.0.1".parse().unwrap()),
                ..ListFilter::all()
            },
            vec![
                "BGPPeer(global, ip=10.0.0.1)",
                "BGPPeer(node=rack1, ip=10.0.0.1)",
            ],
        ),
        (
            ListFilter {
                node: Some(NodeName::new("rack9").unwrap()),
                ..ListFilter::all()
            },
            vec![],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(listed(filter.clone()), expected, "{filter:?}");
    }
    assert_eq!(
        store.list(&ListFilter::all()).unwrap().revision,
        Revision(5)
    );
}

#[test]
fn changes_since_returns_later_batches_whole() {
    let directory = TemporaryDirectory::new("changes");
    let store = open(&directory);
    let start = store.list(&ListFilter::all()).unwrap().revision;
    assert_eq!(start, Revision::INITIAL);

    let a = peer("global", None, "10.0.0.1", "1");
    let b = peer("node", Some("n1"), "10.0.0.2", "2");
    store
        .write_batch(&[
            Operation::Create {
                peer: a.clone(),
                skip_if_exists: false,
            },
            Operation::Create {
                peer: b.clone(),
                skip_if_exists: false,
            },
        ])
        .unwrap();
    let after_batch = store.changes_since(start).unwrap();
    assert_eq!(after_batch.revision, Revision(1));
    assert_eq!(
        after_batch.changes,
        vec![
            Change::Put {
                peer: a.clone(),
                revision: Revision(1)
            },
            Change::Put {
                peer: b.clone(),
                revision: Revision(1)
            },
        ]
    );

    store.delete(&a.key(), None).unwrap();
    let a2 = peer("node", Some("n1"), "10.0.0.2", "3");
    store.apply(a2.clone()).unwrap();
    let later = store.changes_since(after_batch.revision).unwrap();
    assert_eq!(later.revision, Revision(3));
    assert_eq!(
        later.changes,
        vec![
            Change::Deleted {
                peer: a,
                revision: Revision(2)
            },
            Change::Put {
                peer: a2,
                revision: Revision(3)
            },
        ]
    );
    assert_eq!(
        store.changes_since(later.revision).unwrap().changes,
        Vec::new()
    );

    // History survives reopening, as a daemon polling another process's writes needs.
    assert_eq!(
        open(&directory)
            .changes_since(after_batch.revision)
            .unwrap(),
        later
    );

    let ahead = store.changes_since(Revision(10)).unwrap_err();
    assert!(
        matches!(ahead, StoreError::FutureRevision { .. }),
        "{ahead:?}"
    );
}

#[test]
fn history_beyond_the_limit_is_compacted() {
    let directory = TemporaryDirectory::new("compacted");
    let store = open(&directory);
    store
        .create(peer("global", None, "192.168.0.1", "1"))
        .unwrap();
    let many: Vec<Operation> = (0..=CHANGE_HISTORY_LIMIT)
        .map(|index| Operation::Apply {
            peer: peer(
                "global",
                None,
                &format!("10.0.{}.{}", index / 256, index % 256),
                "1",
            ),
        })
        .collect();
    store.write_batch(&many).unwrap();

    let error = store.changes_since(Revision(1)).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Compacted {
                requested: Revision(1),
                compacted_through: Revision(2)
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        store.changes_since(Revision(2)).unwrap().changes,
        Vec::new()
    );
    assert_eq!(
        store.list(&ListFilter::all()).unwrap().peers.len(),
        CHANGE_HISTORY_LIMIT + 2
    );
}

#[test]
fn batch_is_all_or_nothing() {
    let directory = TemporaryDirectory::new("batch-atomic");
    let store = open(&directory);
    store.create(peer("global", None, "10.0.0.3", "3")).unwrap();
    let store_file = directory.path().join(STORE_FILE_NAME);
    let before = fs::read(&store_file).unwrap();

    let failure = store
        .write_batch(&[
            Operation::Create {
                peer: peer("global", None, "10.0.0.1", "1"),
                skip_if_exists: false,
            },
            Operation::Create {
                peer: peer("global", None, "10.0.0.2", "2"),
                skip_if_exists: false,
            },
            Operation::Create {
                peer: peer("global", None, "10.0.0.3", "3"),
                skip_if_exists: false,
            },
        ])
        .unwrap_err();
    assert_eq!(failure.index, Some(2));
    assert_eq!(failure.committed, 0);
    assert!(matches!(failure.error, StoreError::AlreadyExists(_)));
    assert_eq!(fs::read(&store_file).unwrap(), before);
    assert_eq!(store.list(&ListFilter::all()).unwrap().peers.len(), 1);
}

#[test]
fn data_persists_across_opens() {
    let directory = TemporaryDirectory::new("persist");
    let created = open(&directory)
        .create(peer("node", Some("n1"), "[2001:db8::1]:179", "1.10"))
        .unwrap();
    let reopened = open(&directory);
    assert_eq!(reopened.get(&created.peer.key()).unwrap(), Some(created));
    assert_eq!(
        reopened.list(&ListFilter::all()).unwrap().revision,
        Revision(1)
    );
}

#[test]
fn crash_leftovers_do_not_hide_the_last_good_state() {
    let directory = TemporaryDirectory::new("crash");
    let store = open(&directory);
    let good = store
        .create(peer("global", None, "10.0.0.1", "64512"))
        .unwrap();
    let store_file = directory.path().join(STORE_FILE_NAME);
    let good_bytes = fs::read(&store_file).unwrap();

    // A writer that died after writing and syncing its new state, before the rename...
    let complete = String::from_utf8(good_bytes.clone())
        .unwrap()
        .replace("10.0.0.1", "10.9.9.9");
    fs::write(directory.path().join(".store.yaml.tmp.4242.0"), complete).unwrap();
    // ...and one that died half-way through writing it.
    fs::write(
        directory.path().join(".store.yaml.tmp.4243.7"),
        &good_bytes[..good_bytes.len() / 2],
    )
    .unwrap();

    let reopened = FileStore::open(directory.path()).unwrap();
    let listing = reopened.list(&ListFilter::all()).unwrap();
    assert_eq!(listing.peers, vec![good]);
    assert_eq!(fs::read(&store_file).unwrap(), good_bytes);
    let leftovers: Vec<_> = fs::read_dir(directory.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp."))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());

    // And the store keeps working from the good state.
    reopened
        .create(peer("global", None, "10.0.0.2", "1"))
        .unwrap();
    assert_eq!(
        reopened.list(&ListFilter::all()).unwrap().revision,
        Revision(2)
    );
}

#[test]
fn corrupt_state_is_reported_never_an_empty_store() {
    let directory = TemporaryDirectory::new("corrupt");
    let store = open(&directory);
    store.create(peer("global", None, "10.0.0.1", "1")).unwrap();
    store.create(peer("global", None, "10.0.0.2", "2")).unwrap();
    let store_file = directory.path().join(STORE_FILE_NAME);
    let text = fs::read_to_string(&store_file).unwrap();

    // Not YAML at all: the whole store is unreadable, which is an error.
    fs::write(&store_file, "formatVersion: [1\n").unwrap();
    let error = FileStore::open(directory.path()).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");

    // One bad record: the rest is listed, the bad one reported with its reason.
    fs::write(
        &store_file,
        text.replacen("asNumber: 1\n", "asNumber: '1.1.1'\n", 1),
    )
    .unwrap();
    let store = FileStore::open(directory.path()).unwrap();
    let listing = store.list_resources(&ResourceFilter::all()).unwrap();
    assert_eq!(listing.resources.len(), 1, "{listing:?}");
    assert_eq!(listing.unreadable.len(), 1, "{listing:?}");
    let bad = &listing.unreadable[0];
    assert_eq!(bad.kind, Some("bgpPeer"));
    assert_eq!(bad.name.as_deref(), Some("10.0.0.1"));
    assert!(
        bad.reason.contains("error with field asNumber = '1.1.1'"),
        "{bad:?}"
    );
    assert!(
        bad.location.contains("store.yaml (peers entry 1)"),
        "{bad:?}"
    );

    // Writing something else keeps the bad record as it was.
    store.create(peer("global", None, "10.0.0.3", "3")).unwrap();
    let rewritten = fs::read_to_string(&store_file).unwrap();
    assert!(rewritten.contains("asNumber: 1.1.1"), "{rewritten}");
    let listing = store.list_resources(&ResourceFilter::all()).unwrap();
    assert_eq!((listing.resources.len(), listing.unreadable.len()), (2, 1));

    // Writing the same peer replaces it.
    store.apply(peer("global", None, "10.0.0.1", "11")).unwrap();
    let listing = store.list_resources(&ResourceFilter::all()).unwrap();
    assert_eq!((listing.resources.len(), listing.unreadable.len()), (3, 0));
}

#[test]
fn concurrent_writers_lose_no_updates() {
    const PER_WRITER: usize = 25;
    let directory = TemporaryDirectory::new("concurrent");
    let path = directory.path().to_path_buf();
    FileStore::open(&path).unwrap();
    let writers: Vec<_> = (0..2)
        .map(|writer| {
            let path = path.clone();
            thread::spawn(move || {
                // Its own store handle, as a separate CLI process would have.
                let store = FileStore::open(&path).unwrap();
                for index in 0..PER_WRITER {
                    let address = format!("10.{writer}.0.{index}");
                    store
                        .apply(peer("global", None, &address, "64512"))
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let listing = FileStore::open(&path)
        .unwrap()
        .list(&ListFilter::all())
        .unwrap();
    assert_eq!(listing.peers.len(), 2 * PER_WRITER);
    assert_eq!(listing.revision, Revision(2 * PER_WRITER as u64));
}

#[test]
fn racing_creates_of_one_peer_have_one_winner() {
    let directory = TemporaryDirectory::new("race");
    let store = Arc::new(open(&directory));
    let racers: Vec<_> = (0..4)
        .map(|racer| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                store
                    .create(peer("global", None, "10.0.0.1", &racer.to_string()))
                    .is_ok()
            })
        })
        .collect();
    let winners = racers
        .into_iter()
        .map(|racer| racer.join().unwrap())
        .filter(|won| *won)
        .count();
    assert_eq!(winners, 1);
    assert_eq!(
        store.list(&ListFilter::all()).unwrap().revision,
        Revision(1)
    );
}

#[test]
fn v3_kinds_follow_the_same_contract() {
    let directory = TemporaryDirectory::new("v3-contract");
    let store = open(&directory);
    common::contract::v3_kinds_round_trip(&store);
    // What was written reads back from the file by a fresh store.
    let reopened = open(&directory);
    assert_eq!(
        reopened
            .list_resources(&peer_store::ResourceFilter::all())
            .unwrap(),
        store
            .list_resources(&peer_store::ResourceFilter::all())
            .unwrap()
    );
}

#[test]
fn mixed_batches_are_all_or_nothing() {
    let directory = TemporaryDirectory::new("v3-mixed");
    let store = open(&directory);
    common::contract::mixed_batches_are_all_or_nothing(&store);
}

#[test]
fn every_v3_kind_round_trips_through_the_file() {
    let directory = TemporaryDirectory::new("v3-round-trip");
    let store = open(&directory);
    for resource in common::contract::v3_resources() {
        store.create_resource(resource).unwrap();
    }
    let text = fs::read_to_string(directory.path().join(STORE_FILE_NAME)).unwrap();
    assert!(text.contains("resources:"), "{text}");
    assert!(text.contains("kind: BGPConfiguration"), "{text}");
    let listed: Vec<peer_store::Resource> = open(&directory)
        .list_resources(&peer_store::ResourceFilter::all())
        .unwrap()
        .resources
        .into_iter()
        .map(|stored| stored.resource)
        .collect();
    let mut expected = common::contract::v3_resources();
    expected.sort_by_key(|resource| resource.key());
    // As created, with the identity the store gave each.
    assert!(listed.iter().all(|resource| resource.uid().is_some()));
    let documents = |resources: &[peer_store::Resource]| -> Vec<serde_json::Value> {
        let mut documents: Vec<serde_json::Value> =
            serde_json::from_str(&peer_store::resources_to_json(resources)).unwrap();
        for document in &mut documents {
            let metadata = document["metadata"].as_object_mut().unwrap();
            metadata.remove("uid");
            metadata.remove("creationTimestamp");
        }
        documents
    };
    assert_eq!(documents(&listed), documents(&expected));
}
