//! `create|replace|apply|delete -f`: calicoctl's messages and all-or-nothing files.

mod common;

use std::fs;

use common::{peer, TemporaryDirectory};
use peer_store::{
    apply_documents, create_documents, delete_documents, replace_documents, Action, BatchError,
    BatchOptions, CommandError, FileStore, ListFilter, PeerStore, Revision, StoreError, Verb,
    STORE_FILE_NAME,
};

const TWO_PEERS: &str = "\
apiVersion: v1
kind: bgpPeer
metadata: {scope: global, peerIP: 10.0.0.1}
spec: {asNumber: 64512}
---
apiVersion: v1
kind: bgpPeer
metadata: {scope: node, node: rack1-host1, peerIP: 192.168.1.1}
spec: {asNumber: '1.10'}
";

const RACK_PEER: &str = "\
apiVersion: v1
kind: bgpPeer
metadata: {scope: node, node: rack1-host1, peerIP: 192.168.1.1}
spec: {asNumber: 65000}
";

fn store_in(directory: &TemporaryDirectory) -> FileStore {
    FileStore::open(directory.path()).unwrap()
}

fn peer_count(store: &FileStore) -> usize {
    store.list(&ListFilter::all()).unwrap().peers.len()
}

#[test]
fn create_reports_like_calicoctl() {
    let directory = TemporaryDirectory::new("batch-create");
    let store = store_in(&directory);
    let report = create_documents(&store, TWO_PEERS, BatchOptions::default()).unwrap();
    assert_eq!(
        report.to_string(),
        "Successfully created 2 'bgpPeer' resource(s)"
    );
    assert_eq!(
        report
            .outcomes
            .iter()
            .map(|outcome| outcome.action)
            .collect::<Vec<_>>(),
        [Action::Created, Action::Created]
    );
    assert_eq!(
        report.outcomes[1].to_string(),
        "BGPPeer(node=rack1-host1, ip=192.168.1.1): created at revision 1"
    );

    let again = create_documents(&store, TWO_PEERS, BatchOptions::default()).unwrap_err();
    assert_eq!(
        again.to_string(),
        "Failed to create any 'bgpPeer' resources: resource already exists: BGPPeer(global, ip=10.0.0.1)"
    );
    let one = create_documents(&store, RACK_PEER, BatchOptions::default()).unwrap_err();
    assert_eq!(
        one.to_string(),
        "Failed to create 'bgpPeer' resource: resource already exists: BGPPeer(node=rack1-host1, ip=192.168.1.1)"
    );

    let skipping = BatchOptions {
        skip_exists: true,
        ..BatchOptions::default()
    };
    let skipped = create_documents(&store, TWO_PEERS, skipping).unwrap();
    assert_eq!(
        skipped.to_string(),
        "Successfully created 2 'bgpPeer' resource(s)"
    );
    assert!(skipped
        .outcomes
        .iter()
        .all(|outcome| outcome.action == Action::SkippedExisting));
    assert_eq!(
        store.list(&ListFilter::all()).unwrap().revision,
        Revision(1)
    );
}

#[test]
fn apply_and_replace_report_like_calicoctl() {
    let directory = TemporaryDirectory::new("batch-apply");
    let store = store_in(&directory);
    let missing = replace_documents(&store, RACK_PEER).unwrap_err();
    assert_eq!(
        missing.to_string(),
        "Failed to replace 'bgpPeer' resource: resource does not exist: BGPPeer(node=rack1-host1, ip=192.168.1.1)"
    );

    let applied = apply_documents(&store, TWO_PEERS).unwrap();
    assert_eq!(
        applied.to_string(),
        "Successfully applied 2 'bgpPeer' resource(s)"
    );

    let replaced = replace_documents(&store, RACK_PEER).unwrap();
    assert_eq!(
        replaced.to_string(),
        "Successfully replaced 1 'bgpPeer' resource(s)"
    );
    assert_eq!(replaced.outcomes[0].action, Action::Replaced);
    let rack = peer("node", Some("rack1-host1"), "192.168.1.1", "65000");
    assert_eq!(store.get(&rack.key()).unwrap().unwrap().peer, rack);
}

#[test]
fn an_invalid_document_means_nothing_is_written() {
    let directory = TemporaryDirectory::new("batch-invalid");
    let store = store_in(&directory);
    let text = format!(
        "{TWO_PEERS}---\napiVersion: v1\nkind: bgpPeer\nmetadata: {{scope: global, peerIP: 10.0.0.3}}\nspec: {{asNumber: '65536.1'}}\n"
    );
    let error = apply_documents(&store, &text).unwrap_err();
    assert!(matches!(error, CommandError::Input(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "Error processing input file: bgpPeer(peerIP=10.0.0.3): error with field asNumber = '65536.1' (invalid AS Number format)"
    );
    assert_eq!(peer_count(&store), 0);
    assert!(
        !directory.path().join(STORE_FILE_NAME).exists(),
        "nothing may be written"
    );
}

#[test]
fn a_refused_operation_rolls_back_the_whole_file() {
    let directory = TemporaryDirectory::new("batch-refused");
    let store = store_in(&directory);
    create_documents(&store, RACK_PEER, BatchOptions::default()).unwrap();
    let store_file = directory.path().join(STORE_FILE_NAME);
    let before = fs::read(&store_file).unwrap();

    // The first peer is new, the second exists: neither may be written.
    let error = create_documents(&store, TWO_PEERS, BatchOptions::default()).unwrap_err();
    match &error {
        CommandError::Failed {
            verb: Verb::Create,
            kind: Some("bgpPeer"),
            total: 2,
            failure,
        } => {
            assert_eq!((failure.index, failure.committed), (Some(1), 0));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(peer_count(&store), 1);
    assert_eq!(fs::read(&store_file).unwrap(), before);
}

#[test]
fn delete_by_file_needs_only_identities() {
    let directory = TemporaryDirectory::new("batch-delete");
    let store = store_in(&directory);
    apply_documents(&store, TWO_PEERS).unwrap();
    let identity_only =
        "apiVersion: v1\nkind: bgpPeer\nmetadata: {scope: global, peerIP: 10.0.0.1}\n";
    let deleted = delete_documents(&store, identity_only, BatchOptions::default()).unwrap();
    assert_eq!(
        deleted.to_string(),
        "Successfully deleted 1 'bgpPeer' resource(s)"
    );
    assert_eq!(peer_count(&store), 1);

    let gone = delete_documents(&store, TWO_PEERS, BatchOptions::default()).unwrap_err();
    assert_eq!(
        gone.to_string(),
        "Failed to delete any 'bgpPeer' resources: resource does not exist: BGPPeer(global, ip=10.0.0.1)"
    );
    assert_eq!(
        peer_count(&store),
        1,
        "the existing peer must survive the failed file"
    );

    let skipping = BatchOptions {
        skip_not_exists: true,
        ..BatchOptions::default()
    };
    let report = delete_documents(&store, TWO_PEERS, skipping).unwrap();
    assert_eq!(
        report
            .outcomes
            .iter()
            .map(|outcome| outcome.action)
            .collect::<Vec<_>>(),
        [Action::SkippedMissing, Action::Deleted]
    );
    assert_eq!(peer_count(&store), 0);
}

#[test]
fn empty_and_unreadable_files() {
    let directory = TemporaryDirectory::new("batch-empty");
    let store = store_in(&directory);
    for text in ["", "---\n", "[]"] {
        assert_eq!(
            apply_documents(&store, text).unwrap_err().to_string(),
            "No resources specified in file"
        );
    }
    let syntax = apply_documents(&store, "kind: [\n").unwrap_err();
    assert!(
        syntax
            .to_string()
            .starts_with("Error processing input file: "),
        "{syntax}"
    );
}

#[test]
fn partial_success_wording_for_stores_without_transactions() {
    let failure = |committed| CommandError::Failed {
        verb: Verb::Apply,
        kind: Some("bgpPeer"),
        total: 3,
        failure: Box::new(BatchError {
            index: Some(committed),
            committed,
            error: StoreError::NotFound(peer("global", None, "10.0.0.3", "1").key().into()),
        }),
    };
    assert_eq!(
        failure(2).to_string(),
        "Partial success: applied the first 2 out of 3 'bgpPeer' resources:\n\
         Hit error: resource does not exist: BGPPeer(global, ip=10.0.0.3)"
    );
    assert_eq!(
        failure(0).to_string(),
        "Failed to apply any 'bgpPeer' resources: resource does not exist: BGPPeer(global, ip=10.0.0.3)"
    );
}

#[test]
fn helpers_accept_a_trait_object() {
    let directory = TemporaryDirectory::new("batch-dyn");
    let store: Box<dyn PeerStore> = Box::new(store_in(&directory));
    let report = apply_documents(store.as_ref(), TWO_PEERS).unwrap();
    assert_eq!(report.outcomes.len(), 2);
}
