//! The rules of `reconcile`, one test each, named as sentences.

use std::net::SocketAddr;

use peer_manager::{reconcile, Action, Asn, DesiredPeer, PeerSource, StopReason};

fn peer(address: &str, asn: u32) -> DesiredPeer {
    DesiredPeer {
        address: address.parse().unwrap(),
        asn: Asn(asn),
        local_as: None,
        passive: false,
        source: PeerSource::Global,
        settings: Default::default(),
        filters: Vec::new(),
        reachable_by: None,
    }
}

fn running() -> Vec<DesiredPeer> {
    vec![
        peer("10.0.0.1:179", 65001),
        peer("10.0.0.2:179", 65002),
        peer("[fd00::1]:179", 65003),
    ]
}

#[test]
fn no_change_yields_no_action() {
    assert!(reconcile(&running(), &running()).is_empty());
    assert!(reconcile(&[], &[]).is_empty());
}

#[test]
fn adding_one_peer_yields_one_start() {
    let mut desired = running();
    desired.push(peer("10.0.0.3:179", 65004));
    assert_eq!(
        reconcile(&desired, &running()),
        [Action::Start(peer("10.0.0.3:179", 65004))]
    );
}

#[test]
fn removing_one_peer_yields_one_stop() {
    let mut desired = running();
    desired.remove(1);
    assert_eq!(
        reconcile(&desired, &running()),
        [Action::Stop {
            address: "10.0.0.2:179".parse::<SocketAddr>().unwrap(),
            reason: StopReason::Deconfigured,
        }]
    );
}

#[test]
fn a_changed_as_port_or_passive_flag_yields_one_restart_for_that_peer_only() {
    type Edit = fn(&mut DesiredPeer);
    let table: [(&str, Edit); 3] = [
        ("AS", |peer| peer.asn = Asn(64999)),
        ("port", |peer| peer.address.set_port(1790)),
        ("passive", |peer| peer.passive = true),
    ];
    for (what, edit) in table {
        let mut desired = running();
        edit(&mut desired[1]);
        assert_eq!(
            reconcile(&desired, &running()),
            [Action::Restart {
                old: running()[1].clone(),
                new: desired[1].clone(),
            }],
            "{what}"
        );
    }
}

#[test]
fn a_changed_source_alone_yields_no_action() {
    let mut desired = running();
    desired[0].source = PeerSource::NodeScoped;
    assert!(reconcile(&desired, &running()).is_empty());
}

#[test]
fn actions_are_sorted_by_address_whatever_the_input_order() {
    let running = vec![
        peer("10.0.0.9:179", 1),
        peer("10.0.0.5:179", 1),
        peer("10.0.0.1:179", 1),
    ];
    let desired = vec![
        peer("10.0.0.8:179", 1),
        peer("10.0.0.5:179", 2),
        peer("10.0.0.2:179", 1),
    ];
    let expected: Vec<String> = ["10.0.0.1", "10.0.0.2", "10.0.0.5", "10.0.0.8", "10.0.0.9"]
        .map(String::from)
        .to_vec();
    for flip in [false, true] {
        let (mut want, mut have) = (desired.clone(), running.clone());
        if flip {
            want.reverse();
            have.reverse();
        }
        let actions = reconcile(&want, &have);
        let order: Vec<String> = actions
            .iter()
            .map(|action| action.ip().to_string())
            .collect();
        assert_eq!(order, expected);
        assert!(matches!(actions[0], Action::Stop { .. }));
        assert!(matches!(actions[1], Action::Start(_)));
        assert!(matches!(actions[2], Action::Restart { .. }));
    }
}

#[test]
fn applying_the_actions_gives_the_desired_set() {
    let running = running();
    let mut desired = running.clone();
    desired.remove(0);
    desired[0].asn = Asn(1);
    desired.push(peer("10.0.0.7:179", 7));
    let mut state = running.clone();
    for action in reconcile(&desired, &running) {
        match action {
            Action::Start(new) => state.push(new),
            Action::Stop { address, .. } => state.retain(|peer| peer.address != address),
            Action::Restart { old, new } => {
                state.retain(|peer| *peer != old);
                state.push(new);
            }
        }
    }
    state.sort_by_key(|peer| peer.address.ip());
    desired.sort_by_key(|peer| peer.address.ip());
    assert_eq!(state, desired);
    assert!(reconcile(&desired, &state).is_empty());
}
