//! Update groups against real FRR: iBGP peers sent the same thing share one
//! resolution and one encoded batch in nodebgp, and each must still end up
//! with exactly the routes it would have been sent alone, through new
//! routes, withdrawals, and a ROUTE-REFRESH one of them asks for alone.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use lab::{Kind, Router};
use nodebgp_interop::daemon::{
    address, apply, eventually, global_peer, peering_with_us, scratch, Daemon, UP,
};

/// Waits until `router` holds exactly `expected` from `ours`.
fn holds_exactly(router: &Router, ours: IpAddr, expected: &[&str]) {
    let deadline = Instant::now() + UP;
    loop {
        let held = router.received_prefixes(ours).unwrap_or_default();
        if held == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} holds {held:?}, not {expected:?}",
            router.name()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn ibgp_clients_sent_the_same_get_every_change_and_a_refresh_alone() {
    lab::require(Kind::Frr);
    let (ours, source, first, second) = (address(), address(), address(), address());
    let directory = scratch("update-groups");
    let mut source_router = Router::start(
        peering_with_us(Kind::Frr, "groups-source", source, 65131, ours, 65130)
            .routes(["10.89.0.0/24"]),
    )
    .unwrap();
    let clients = [
        Router::start(peering_with_us(
            Kind::Frr,
            "groups-one",
            first,
            65130,
            ours,
            65130,
        ))
        .unwrap(),
        Router::start(peering_with_us(
            Kind::Frr,
            "groups-two",
            second,
            65130,
            ours,
            65130,
        ))
        .unwrap(),
    ];
    let peers = [(source, "65131"), (first, "65130"), (second, "65130")]
        .map(|(address, asn)| global_peer(address, asn))
        .join("---\n");
    apply(&directory, &peers);
    let daemon = Daemon::start(&directory, "node-1", ours, "65130", &[]);
    for client in &clients {
        daemon.wait_for(client.address(), "Established");
        holds_exactly(client, ours, &["10.89.0.0/24"]);
    }
    // Both clients have their initial table: they are one update group from
    // here, the eBGP source another, as `nodebgp status` tells.
    let group = |address: IpAddr| {
        daemon
            .peer(address)
            .and_then(|peer| peer["update_group"].as_u64())
    };
    let shared = || group(first).is_some() && group(first) == group(second);
    eventually("the two clients share an update group", shared);
    assert_ne!(
        group(source),
        group(first),
        "the source is sent other things"
    );
    source_router
        .add_routes(&["10.89.1.0/24", "10.89.2.0/24"])
        .unwrap();
    for client in &clients {
        holds_exactly(
            client,
            ours,
            &["10.89.0.0/24", "10.89.1.0/24", "10.89.2.0/24"],
        );
    }
    source_router.remove_routes(&["10.89.0.0/24"]).unwrap();
    for client in &clients {
        holds_exactly(client, ours, &["10.89.1.0/24", "10.89.2.0/24"]);
    }
    // The first client asks for our routes again: it is sent them, and both
    // still get what changes after.
    clients[0]
        .cli(&[&format!("clear bgp {ours} soft in")])
        .unwrap();
    source_router.add_routes(&["10.89.3.0/24"]).unwrap();
    source_router.remove_routes(&["10.89.1.0/24"]).unwrap();
    for client in &clients {
        holds_exactly(client, ours, &["10.89.2.0/24", "10.89.3.0/24"]);
    }
    // Caught up after the refresh, the first client is back with the other.
    eventually("the clients share an update group again", shared);
    // The source goes: everything it sent is withdrawn from both.
    drop(source_router);
    for client in &clients {
        holds_exactly(client, ours, &[]);
    }
}
