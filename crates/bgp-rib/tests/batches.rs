//! Output a batch at a time (`poll_updates_within`): what a slow peer is
//! queued stays bounded, and the batches together say exactly what one poll
//! would have.

mod common;

use bgp_rib::{Batch, PeerId, Rib};
use common::*;
use ipnet::IpNet;

/// A RIB with 1,000 prefixes from eBGP peer 1 (ten attribute sets) and
/// iBGP peer 2 up, whose initial table is pending.
fn table_pending_for_peer_2() -> Rib {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("198.51.100.1", 65001, "1.1.1.1"));
    for set in 0..10_u32 {
        let prefixes: Vec<String> = (0..100)
            .map(|index| format!("10.{set}.{index}.0/24"))
            .collect();
        let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        let update = route(&prefixes, "198.51.100.1")
            .path(&[65001, 64000 + set])
            .build();
        receive(&mut rib, 1, update);
    }
    rib.peer_up(PeerId(2), ibgp("192.0.2.2", "2.2.2.2"));
    rib
}

const SMALL: Batch = Batch {
    prefixes: 64,
    messages: 4,
};

/// Polls peer 2 a batch at a time until nothing is left; every batch.
fn drain(rib: &mut Rib, batch: Batch) -> Vec<Vec<bgp_wire::Update>> {
    let mut batches = Vec::new();
    while rib.has_output(PeerId(2)) {
        let updates = rib.poll_updates_within(PeerId(2), batch);
        assert!(!updates.is_empty(), "output pending but none returned");
        batches.push(updates);
        assert!(batches.len() < 10_000, "no end to the batches");
    }
    batches
}

#[test]
fn batches_send_the_whole_table_once_and_end_of_rib_last() {
    let mut rib = table_pending_for_peer_2();
    let batches = drain(&mut rib, SMALL);
    assert!(batches.len() >= 1000 / 64, "{} batches", batches.len());
    for (index, batch) in batches.iter().enumerate() {
        let prefixes = announced(batch).len() + withdrawn(batch).len();
        assert!(
            prefixes <= SMALL.prefixes,
            "batch {index}: {prefixes} prefixes"
        );
        let last = index + 1 == batches.len();
        let markers = batch
            .iter()
            .filter(|update| update.end_of_rib().is_some())
            .count();
        // One End-of-RIB per family of the session, all in the last batch.
        assert_eq!(
            markers > 0,
            last,
            "batch {index}: {markers} End-of-RIB markers"
        );
    }
    let all: Vec<bgp_wire::Update> = batches.into_iter().flatten().collect();
    let mut sent = announced(&all);
    let count = sent.len();
    sent.dedup();
    assert_eq!(sent.len(), count, "a prefix sent twice");
    assert_eq!(count, 1000);
}

#[test]
fn the_batches_equal_one_unlimited_poll() {
    let mut batched = table_pending_for_peer_2();
    let mut whole = table_pending_for_peer_2();
    let in_batches: Vec<bgp_wire::Update> =
        drain(&mut batched, SMALL).into_iter().flatten().collect();
    let at_once = whole.poll_updates(PeerId(2));
    assert_eq!(announced(&in_batches), announced(&at_once));
    let advertised = |rib: &Rib| {
        let mut prefixes: Vec<IpNet> = rib
            .advertised(PeerId(2))
            .map(|(prefix, _)| prefix)
            .collect();
        prefixes.sort();
        prefixes
    };
    assert_eq!(advertised(&batched), advertised(&whole));
}

#[test]
fn changes_during_a_pass_are_sent_and_withdrawals_are_not_lost() {
    let mut rib = table_pending_for_peer_2();
    let first = rib.poll_updates_within(PeerId(2), SMALL);
    let early: Vec<IpNet> = announced(&first);
    assert!(!early.is_empty());
    // One prefix already sent is withdrawn, one not yet sent too.
    let sent_prefix = early[0].to_string();
    let unsent_prefix = "10.9.99.0/24";
    assert!(
        !early.contains(&net(unsent_prefix)),
        "sent in the first batch"
    );
    receive(&mut rib, 1, withdraw(&[&sent_prefix, unsent_prefix]));
    let rest: Vec<bgp_wire::Update> = drain(&mut rib, SMALL).into_iter().flatten().collect();
    assert!(
        withdrawn(&rest).contains(&net(&sent_prefix)),
        "the sent prefix withdrawn"
    );
    assert!(
        !announced(&rest).contains(&net(unsent_prefix)),
        "a withdrawn prefix announced"
    );
    let mut advertised: Vec<IpNet> = rib
        .advertised(PeerId(2))
        .map(|(prefix, _)| prefix)
        .collect();
    advertised.sort();
    assert_eq!(advertised.len(), 998);
    assert!(!advertised.contains(&net(&sent_prefix)));
}

#[test]
fn a_batch_holds_at_most_its_messages() {
    let mut rib = table_pending_for_peer_2();
    let batch = Batch {
        prefixes: 10_000,
        messages: 3,
    };
    let first = rib.poll_updates_within(PeerId(2), batch);
    assert_eq!(first.len(), 3, "three attribute sets, three messages");
    assert!(rib.has_output(PeerId(2)));
}
