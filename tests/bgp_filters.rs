//! Calico BGPFilters through `nodebgp run` against real FRR and BIRD: a v3 BGPPeer
//! naming a filter keeps out what its import rules reject (never in the
//! Loc-RIB) and holds back what its export rules reject (never at FRR), per
//! family; a filter changed while the session runs applies live, by a route
//! refresh and a re-export, on the same TCP connection. An `interface` rule
//! matches the routes whose next hop is on an interface its glob names, in a
//! network namespace of the test's own, and follows the interfaces as they
//! change.

use std::net::IpAddr;

use lab::{Family, Kind, NeighborSpec, Router, RouterSpec};
use nodebgp_interop::daemon::{address, apply, scratch, Daemon, UP};
use nodebgp_interop::netns::Namespace;
use serde_json::Value;

fn prefixes(answer: &Value) -> Vec<String> {
    let mut prefixes: Vec<String> = answer["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|route| route["prefix"].as_str().unwrap().to_owned())
        .collect();
    prefixes.sort();
    prefixes.dedup();
    prefixes
}

/// The v3 BGPPeer for FRR, with its filters.
fn peer(theirs: IpAddr) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {{name: frr}}\nspec: {{peerIP: {theirs}, asNumber: 65100, filters: [edge]}}\n"
    )
}

fn filter(rules: &str) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {{name: edge}}\nspec:\n{rules}"
    )
}

#[test]
fn import_and_export_rules_apply_per_family_and_a_change_applies_without_a_reset() {
    rules_apply_per_family_and_change_live(Kind::Frr, "bgp-filters");
}

/// The same against BIRD 2: what it receives and what nodebgp keeps from it.
#[test]
fn import_and_export_rules_apply_against_bird_and_a_change_applies_without_a_reset() {
    rules_apply_per_family_and_change_live(Kind::Bird, "bgp-filters-bird");
}

fn rules_apply_per_family_and_change_live(kind: Kind, name: &str) {
    lab::require(kind);
    let (ours, theirs) = (address(), address());
    let directory = scratch(name);
    let router = Router::start(
        RouterSpec::new(kind, name, theirs, 65100)
            .neighbor(
                NeighborSpec::new(ours, 64512)
                    .with_connect_retry(1)
                    .with_hold_time(9)
                    .with_families(&[Family::Ipv4, Family::Ipv6]),
            )
            .routes([
                "10.80.1.0/24",
                "10.80.2.0/24",
                "10.81.0.0/16",
                "2001:db8:80::/48",
                "2001:db8:81::/48",
            ])
            .next_hop("198.51.100.80".parse().unwrap())
            .next_hop("2001:db8:ffff::80".parse().unwrap()),
    )
    .unwrap();
    // The first rule that matches decides: 10.80.1.0/24 is accepted before
    // the set 10.80.0.0/16{17,32} rejects 10.80.2.0/24; 10.81.0.0/16 is in
    // no rule's set.
    apply(
        &directory,
        &filter(
            "  importV4:\n  - {action: Accept, matchOperator: Equal, cidr: 10.80.1.0/24}\n  - {action: Reject, matchOperator: In, cidr: 10.80.0.0/16, prefixLength: {min: 17}}\n\
             \x20 importV6:\n  - {action: Reject, matchOperator: Equal, cidr: '2001:db8:81::/48'}\n\
             \x20 exportV4:\n  - {action: Reject, matchOperator: Equal, cidr: 10.90.2.0/24}\n",
        ),
    );
    apply(&directory, &peer(theirs));
    let daemon = Daemon::start(
        &directory,
        "node-1",
        ours,
        "64512",
        &[
            "--all-families",
            "--advertise",
            "10.90.1.0/24",
            "--advertise",
            "10.90.2.0/24",
            "--ipv6-next-hop",
            "2001:db8:ffff::90",
        ],
    );
    daemon.wait_for(theirs, "Established");
    router
        .wait_for_prefixes(ours, &["10.90.1.0/24"], UP)
        .expect("the router learns what the export rules let through");
    // What the import rules reject never reaches the Loc-RIB.
    daemon.wait_for_routes(&[], "FRR's routes the filter lets in", |answer| {
        prefixes(answer)
            == [
                "10.80.1.0/24",
                "10.81.0.0/16",
                "10.90.1.0/24",
                "10.90.2.0/24",
                "2001:db8:80::/48",
            ]
    });
    assert_eq!(router.received_prefixes(ours).unwrap(), ["10.90.1.0/24"]);

    // Changed live: the /16 goes, 10.80.2.0/24 comes back by a route
    // refresh, and 10.90.2.0/24 is sent.
    let connection_before = daemon.session_connection(theirs);
    apply(
        &directory,
        &filter("  importV4:\n  - {action: Reject, matchOperator: Equal, cidr: 10.81.0.0/16}\n"),
    );
    daemon.wait_for_routes(&[], "the new import rules", |answer| {
        prefixes(answer)
            == [
                "10.80.1.0/24",
                "10.80.2.0/24",
                "10.90.1.0/24",
                "10.90.2.0/24",
                "2001:db8:80::/48",
                "2001:db8:81::/48",
            ]
    });
    router
        .wait_for_prefixes(ours, &["10.90.1.0/24", "10.90.2.0/24"], UP)
        .expect("the router learns what the export rules no longer hold back");
    assert_eq!(
        daemon.session_connection(theirs),
        connection_before,
        "the session was not reset"
    );
}

/// BIRD's `ifname ~ "…"` under calico-node: a route whose next hop the node
/// reaches by a matching interface. Two FRRs, one with a next hop on the
/// namespace's `v0` (198.51.100.0/24), one with a next hop on no interface;
/// the filter rejects what leaves by `v*`. Taking the address off `v0`
/// changes the interfaces: the rejected route comes back (a route refresh)
/// without a reset.
#[test]
fn an_interface_rule_rejects_routes_leaving_by_a_named_interface_and_follows_the_interfaces() {
    lab::require(Kind::Frr);
    let Some(namespace) = Namespace::create("filter-interface") else {
        return;
    };
    namespace.add_network("198.51.100.1/24");
    let (ours, on_v0, elsewhere) = (address(), address(), address());
    let directory = scratch("bgp-filter-interface");
    let frr = |name: &str, address: IpAddr, route: &str, next_hop: &str| {
        Router::start(
            RouterSpec::new(Kind::Frr, name, address, 65100)
                .neighbor(
                    NeighborSpec::new(ours, 64512)
                        .with_connect_retry(1)
                        .with_hold_time(9),
                )
                .route(route)
                .next_hop(next_hop.parse().unwrap()),
        )
        .unwrap()
    };
    let _on_v0 = frr("filter-if-v0", on_v0, "10.82.1.0/24", "198.51.100.82");
    let _elsewhere = frr("filter-if-else", elsewhere, "10.82.2.0/24", "203.0.113.82");
    apply(
        &directory,
        &filter("  importV4:\n  - {action: Reject, interface: 'v*'}\n"),
    );
    for (name, address) in [("v0-peer", on_v0), ("other-peer", elsewhere)] {
        apply(
            &directory,
            &format!(
                "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {{name: {name}}}\nspec: {{peerIP: {address}, asNumber: 65100, filters: [edge]}}\n"
            ),
        );
    }
    let daemon = Daemon::start(
        &directory,
        "node-1",
        ours,
        "64512",
        &["--fib-netns", namespace.name(), "--no-graceful-restart"],
    );
    daemon.wait_for(on_v0, "Established");
    daemon.wait_for(elsewhere, "Established");
    daemon.wait_for_routes(&[], "only the route on no matching interface", |answer| {
        prefixes(answer) == ["10.82.2.0/24"]
    });
    let connection_before = daemon.session_connection(on_v0);

    namespace.run(&["address", "del", "198.51.100.1/24", "dev", "v0"]);
    daemon.wait_for_routes(&[], "the route back once v0 has no network", |answer| {
        prefixes(answer) == ["10.82.1.0/24", "10.82.2.0/24"]
    });
    assert_eq!(
        daemon.session_connection(on_v0),
        connection_before,
        "no reset"
    );
}
