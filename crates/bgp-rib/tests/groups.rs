//! Update groups: peers sent the same thing share one resolution and one
//! Adj-RIB-Out, each still gets exactly what it would have got alone.

mod common;

use std::sync::Arc;

use bgp_rib::{Batch, PeerId, PeerInfo, Rib, RibConfig};
use bgp_wire::Update;
use common::*;
use ipnet::IpNet;

const SMALL: Batch = Batch {
    prefixes: 4,
    messages: 2,
};

/// eBGP peer 1 (the source) and iBGP peers 2..=1+clients, all up with
/// nothing sent yet.
fn rib_with_clients(clients: u32) -> Rib {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("198.51.100.1", 65001, "1.1.1.1"));
    for client in 2..2 + clients {
        up(
            &mut rib,
            client,
            ibgp(&format!("192.0.2.{client}"), &format!("2.2.2.{client}")),
        );
    }
    rib
}

/// Peer 1 announces `count` /24s under 10.x.y.0, each ten under its own path.
fn announce(rib: &mut Rib, count: u32) -> Vec<IpNet> {
    let mut all = Vec::new();
    for set in 0..count.div_ceil(10) {
        let prefixes: Vec<String> = (0..10.min(count - set * 10))
            .map(|index| format!("10.{set}.{index}.0/24"))
            .collect();
        all.extend(prefixes.iter().map(|prefix| net(prefix)));
        let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        let update = route(&prefixes, "198.51.100.1")
            .path(&[65001, 64000 + set])
            .build();
        receive(rib, 1, update);
    }
    all.sort();
    all
}

/// Every batch `peer` has to take, in order.
fn drain(rib: &mut Rib, peer: u32, batch: Batch) -> Vec<Update> {
    let mut updates = Vec::new();
    while let Some(shared) = rib.poll_shared_within(PeerId(peer), batch) {
        updates.extend(shared.updates().iter().cloned());
        assert!(updates.len() < 100_000, "no end to the batches");
    }
    assert!(!rib.has_output(PeerId(peer)));
    updates
}

/// Peer 1 announces `prefix` with AS_PATH 65001 `last`.
fn announce_one(rib: &mut Rib, prefix: &str, last: u32) {
    let update = route(&[prefix], "198.51.100.1")
        .path(&[65001, last])
        .build();
    receive(rib, 1, update);
}

#[test]
fn peers_sent_the_same_share_each_batch() {
    let mut rib = rib_with_clients(3);
    let prefixes = announce(&mut rib, 50);
    let first = rib
        .poll_shared_within(PeerId(2), Batch::UNLIMITED)
        .expect("the table is pending");
    for peer in [3, 4] {
        let same = rib
            .poll_shared_within(PeerId(peer), Batch::UNLIMITED)
            .expect("the table is pending");
        // Resolved once: the very same batch, not an equal copy.
        assert!(Arc::ptr_eq(&first, &same), "peer {peer} got its own batch");
    }
    assert_eq!(announced(first.updates()), prefixes);
    for peer in [2, 3, 4] {
        assert!(!rib.has_output(PeerId(peer)));
        assert_eq!(rib.advertised(PeerId(peer)).count(), 50);
    }
    // The source is not one of them: it is sent nothing of its own.
    assert!(rib.poll_updates(PeerId(1)).is_empty());
}

#[test]
fn a_member_far_behind_gets_every_batch_in_order_and_the_rest_go_on() {
    let mut rib = rib_with_clients(2);
    let prefixes = announce(&mut rib, 400);
    // Peer 2 takes everything (100 batches of 4) while peer 3 takes none.
    let fast = drain(&mut rib, 2, SMALL);
    assert_eq!(announced(&fast), prefixes);
    // Later changes reach both.
    receive(&mut rib, 1, withdraw(&["10.0.0.0/24"]));
    let fast_after = drain(&mut rib, 2, SMALL);
    assert_eq!(withdrawn(&fast_after), vec![net("10.0.0.0/24")]);
    // Peer 3 fell behind by more than the group keeps and went on alone:
    // whether it heard of 10.0.0.0/24 before its withdrawal depends on where
    // the split fell, but it ends with exactly the table, each prefix
    // announced once.
    let slow = drain(&mut rib, 3, SMALL);
    let mut sent = announced(&slow);
    let count = sent.len();
    sent.dedup();
    assert_eq!(sent.len(), count, "a prefix announced twice");
    let remaining: Vec<IpNet> = prefixes[1..].to_vec();
    for peer in [2, 3] {
        let mut held: Vec<IpNet> = rib
            .advertised(PeerId(peer))
            .map(|(prefix, _)| prefix)
            .collect();
        held.sort();
        assert_eq!(held, remaining, "peer {peer}");
    }
    let mut net_sent = sent;
    net_sent.retain(|prefix| !withdrawn(&slow).contains(prefix));
    assert_eq!(net_sent, remaining);
}

#[test]
fn a_refresh_is_sent_to_the_peer_that_asked_alone() {
    let mut rib = rib_with_clients(2);
    let prefixes = announce(&mut rib, 20);
    drain(&mut rib, 2, Batch::UNLIMITED);
    drain(&mut rib, 3, Batch::UNLIMITED);
    rib.refresh(PeerId(3), bgp_rib::Family::IPV4_UNICAST);
    assert!(!rib.has_output(PeerId(2)));
    assert_eq!(announced(&drain(&mut rib, 3, Batch::UNLIMITED)), prefixes);
    // Both are sent a later change, and it is still one resolution once
    // they are back in step.
    receive(&mut rib, 1, withdraw(&["10.0.0.0/24"]));
    let two = rib.poll_shared_within(PeerId(2), Batch::UNLIMITED).unwrap();
    let three = rib.poll_shared_within(PeerId(3), Batch::UNLIMITED).unwrap();
    assert!(Arc::ptr_eq(&two, &three));
    assert_eq!(withdrawn(two.updates()), vec![net("10.0.0.0/24")]);
}

#[test]
fn a_peer_that_comes_up_later_gets_the_whole_table_then_joins() {
    let mut rib = rib_with_clients(1);
    let prefixes = announce(&mut rib, 30);
    drain(&mut rib, 2, Batch::UNLIMITED);
    rib.peer_up(PeerId(3), ibgp("192.0.2.3", "2.2.2.3"));
    assert!(!rib.has_output(PeerId(2)));
    let initial = drain(&mut rib, 3, Batch::UNLIMITED);
    assert_eq!(announced(&initial), prefixes);
    assert!(initial.iter().any(|update| update.end_of_rib().is_some()));
    announce_one(&mut rib, "10.9.0.0/24", 64999);
    let two = rib.poll_shared_within(PeerId(2), Batch::UNLIMITED).unwrap();
    let three = rib.poll_shared_within(PeerId(3), Batch::UNLIMITED).unwrap();
    assert!(Arc::ptr_eq(&two, &three), "not joined after catching up");
    // A member going down leaves the others their group.
    rib.peer_down(PeerId(2), false);
    receive(&mut rib, 1, withdraw(&["10.9.0.0/24"]));
    assert!(!rib.has_output(PeerId(2)));
    assert_eq!(
        withdrawn(&drain(&mut rib, 3, Batch::UNLIMITED)),
        vec![net("10.9.0.0/24")]
    );
}

#[test]
fn peers_sent_different_attributes_are_not_grouped() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("198.51.100.1", 65001, "1.1.1.1"));
    let other_next_hop = PeerInfo {
        next_hop_v4: Some(v4("10.0.0.2")),
        ..ebgp("203.0.113.3", 65003, "3.3.3.3")
    };
    up(&mut rib, 2, ibgp("192.0.2.2", "2.2.2.2"));
    up(&mut rib, 3, other_next_hop);
    up(&mut rib, 4, ebgp("203.0.113.4", 65004, "4.4.4.4"));
    originate(&mut rib, &["10.200.0.0/24"]);
    let next_hops: Vec<_> = [2, 3, 4]
        .into_iter()
        .map(|peer| {
            let updates = rib.poll_updates(PeerId(peer));
            assert_eq!(announced(&updates), vec![net("10.200.0.0/24")]);
            rib.advertised_prefix(PeerId(peer), net("10.200.0.0/24"))
                .and_then(|attributes| attributes.next_hop())
        })
        .collect();
    assert_eq!(
        next_hops,
        vec![
            Some(ip("10.0.0.1")),
            Some(ip("10.0.0.2")),
            Some(ip("10.0.0.1"))
        ]
    );
}

#[test]
fn route_reflector_clients_are_never_sent_their_own_routes() {
    let mut rib = Rib::new(RibConfig {
        cluster_id: Some(v4("10.0.0.1")),
        ..config()
    });
    for peer in 2..=4 {
        up(
            &mut rib,
            peer,
            client(&format!("192.0.2.{peer}"), &format!("2.2.2.{peer}")),
        );
    }
    let from_two = route(&["10.2.0.0/24"], "192.0.2.2").build();
    receive(&mut rib, 2, from_two);
    assert!(rib.poll_updates(PeerId(2)).is_empty());
    for peer in [3, 4] {
        assert_eq!(
            announced(&rib.poll_updates(PeerId(peer))),
            vec![net("10.2.0.0/24")]
        );
    }
}

/// Peers 2 and 3 grouped, both sent 10.1.0.0/24 in one batch; then the
/// route changes and peer 2 alone takes the next batch.
fn group_one_batch_apart() -> Rib {
    let mut rib = rib_with_clients(2);
    announce_one(&mut rib, "10.1.0.0/24", 1);
    let two = rib.poll_shared_within(PeerId(2), Batch::UNLIMITED).unwrap();
    let three = rib.poll_shared_within(PeerId(3), Batch::UNLIMITED).unwrap();
    assert!(Arc::ptr_eq(&two, &three));
    announce_one(&mut rib, "10.1.0.0/24", 2);
    let next = rib.poll_shared_within(PeerId(2), Batch::UNLIMITED).unwrap();
    assert_eq!(announced(next.updates()), vec![net("10.1.0.0/24")]);
    rib
}

#[test]
fn a_route_reported_unsendable_that_a_later_batch_sends_again_is_still_withdrawn() {
    let mut rib = group_one_batch_apart();
    // Peer 3's session could not send the first batch's version.
    rib.not_sent(PeerId(3), &[net("10.1.0.0/24")]);
    let later = drain(&mut rib, 3, Batch::UNLIMITED);
    assert_eq!(announced(&later), vec![net("10.1.0.0/24")]);
    assert!(rib
        .advertised_prefix(PeerId(3), net("10.1.0.0/24"))
        .is_some());
    receive(&mut rib, 1, withdraw(&["10.1.0.0/24"]));
    assert_eq!(
        withdrawn(&drain(&mut rib, 3, Batch::UNLIMITED)),
        vec![net("10.1.0.0/24")]
    );
}

#[test]
fn a_new_export_filter_holds_back_what_the_group_resolved_before_it() {
    use bgp_rib::{FamilyRules, FilterRule, PeerFilter, PrefixCondition, PrefixMatch, RouteSource};
    let mut rib = group_one_batch_apart();
    let reject_ten = PeerFilter {
        export: FamilyRules {
            ipv4: vec![FilterRule {
                prefix: Some(PrefixCondition {
                    cidr: net("10.0.0.0/8"),
                    lengths: None,
                    operator: PrefixMatch::In,
                }),
                source: RouteSource::Any,
                interface: None,
                verdict: bgp_rib::Verdict::Reject,
            }],
            ipv6: Vec::new(),
        },
        ..PeerFilter::default()
    };
    assert!(rib.set_peer_filter(PeerId(3), reject_ten).export);
    // The batch the group resolved under the old filter is not sent; what
    // peer 3 holds from before the filter is withdrawn.
    let sent = drain(&mut rib, 3, Batch::UNLIMITED);
    assert!(announced(&sent).is_empty(), "{sent:?}");
    assert_eq!(withdrawn(&sent), vec![net("10.1.0.0/24")]);
    assert!(rib
        .advertised_prefix(PeerId(3), net("10.1.0.0/24"))
        .is_none());
    // Peer 2 goes on as before.
    assert!(!rib.has_output(PeerId(2)));
}

#[test]
fn peers_with_different_message_sizes_are_not_grouped() {
    let mut rib = Rib::new(config());
    up(&mut rib, 1, ebgp("198.51.100.1", 65001, "1.1.1.1"));
    up(&mut rib, 2, ibgp("192.0.2.2", "2.2.2.2"));
    let extended = PeerInfo {
        extended_message: true,
        ..ibgp("192.0.2.3", "2.2.2.3")
    };
    up(&mut rib, 3, extended);
    announce(&mut rib, 10);
    let two = rib.poll_shared_within(PeerId(2), Batch::UNLIMITED).unwrap();
    let three = rib.poll_shared_within(PeerId(3), Batch::UNLIMITED).unwrap();
    assert!(!Arc::ptr_eq(&two, &three));
    assert_eq!(announced(two.updates()), announced(three.updates()));
}

#[test]
fn a_group_settled_by_its_slowest_member_leaving_joins_its_like() {
    let mut rib = rib_with_clients(2);
    announce_one(&mut rib, "10.1.0.0/24", 1);
    // Peer 2 takes the batch, peer 3 does not: the group keeps it queued.
    rib.poll_shared_within(PeerId(2), Batch::UNLIMITED).unwrap();
    // Peer 4 comes up and catches up alone; the group it would join is not
    // settled (peer 3 has a batch to take), so it stays apart.
    rib.peer_up(PeerId(4), ibgp("192.0.2.4", "2.2.2.4"));
    drain(&mut rib, 4, Batch::UNLIMITED);
    // Peer 3 goes: peer 2's group has nothing queued any more, and joins 4's.
    rib.peer_down(PeerId(3), false);
    announce_one(&mut rib, "10.2.0.0/24", 2);
    let two = rib.poll_shared_within(PeerId(2), Batch::UNLIMITED).unwrap();
    let four = rib.poll_shared_within(PeerId(4), Batch::UNLIMITED).unwrap();
    assert!(Arc::ptr_eq(&two, &four), "still resolved apart");
    assert_eq!(announced(two.updates()), vec![net("10.2.0.0/24")]);
}
