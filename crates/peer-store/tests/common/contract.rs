//! Behaviour every `PeerStore` must share, run against each store by its
//! own test file.

use peer_store::{PeerStore, StoreError, StoredPeer};

use super::peer;

/// A second create of the same peer is refused with Calico's message and
/// changes nothing; returns what the first create stored.
pub(crate) fn create_twice_is_already_exists(store: &dyn PeerStore) -> StoredPeer {
    let first = store
        .create(peer("global", None, "10.0.0.1", "64512"))
        .unwrap();
    let error = store
        .create(peer("global", None, "10.0.0.1", "65000"))
        .unwrap_err();
    assert!(matches!(error, StoreError::AlreadyExists(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "resource already exists: BGPPeer(global, ip=10.0.0.1)"
    );
    assert_eq!(store.get(&first.peer.key()).unwrap(), Some(first.clone()));
    first
}

/// A replace or a delete naming a revision that is no longer current is a
/// conflict that reports both revisions and changes nothing; returns the
/// first and the current version of the peer.
pub(crate) fn stale_revisions_are_conflicts(store: &dyn PeerStore) -> (StoredPeer, StoredPeer) {
    let first = store
        .create(peer("node", Some("host1"), "10.0.0.2", "64512"))
        .unwrap();
    let second = store
        .replace(
            peer("node", Some("host1"), "10.0.0.2", "64513"),
            Some(first.revision),
        )
        .unwrap();
    assert!(second.revision > first.revision);
    let error = store
        .replace(
            peer("node", Some("host1"), "10.0.0.2", "64514"),
            Some(first.revision),
        )
        .unwrap_err();
    match error {
        StoreError::Conflict {
            expected, actual, ..
        } => {
            assert_eq!(expected, first.revision);
            assert_eq!(actual, second.revision);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let error = store
        .delete(&first.peer.key(), Some(first.revision))
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict { .. }), "{error:?}");
    assert_eq!(store.get(&first.peer.key()).unwrap(), Some(second.clone()));
    (first, second)
}
