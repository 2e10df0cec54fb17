//! Routes through `nodebgp run` against real FRR, GoBGP and BIRD: both
//! directions, IPv4 and IPv6, withdrawals, best-path choices on crafted
//! alternatives, ECMP, prefix limits, and the kernel FIB in a network
//! namespace each test makes for itself.

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use lab::{Family, Kind, PeerState, Router, RouterSpec};
use nodebgp_interop::daemon::{
    address, apply, eventually, global_peer, neighbor, peering_with_us, resources, scratch, Daemon,
    UP,
};
use nodebgp_interop::netns::Namespace;
use serde_json::Value;

/// The prefixes of a `nodebgp routes -o json` answer, with their marks.
fn prefixes(answer: &Value) -> Vec<String> {
    answer["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|route| route["prefix"].as_str().unwrap().to_owned())
        .collect()
}

fn has_prefix(answer: &Value, prefix: &str) -> bool {
    prefixes(answer).iter().any(|known| known == prefix)
}

/// A lab router on `address` in `asn` peering with us (`ours`, `our_asn`)
/// over IPv4 with both unicast families, originating 10.`octet`.0.0/24 and
/// 2001:db8:`octet`::/48 with next hops in the documentation ranges (no lab
/// daemon takes a loopback next hop in every case).
fn dual_stack(
    kind: Kind,
    name: &str,
    address: IpAddr,
    asn: u32,
    ours: IpAddr,
    our_asn: u32,
    octet: u8,
) -> RouterSpec {
    RouterSpec::new(kind, name, address, asn)
        .neighbor(neighbor(ours, our_asn).with_families(&[Family::Ipv4, Family::Ipv6]))
        .routes([
            format!("10.{octet}.0.0/24"),
            format!("2001:db8:{octet}::/48"),
        ])
        .next_hop(format!("198.51.100.{octet}").parse().unwrap())
        .next_hop(format!("2001:db8:ffff::{octet}").parse().unwrap())
}

/// The global v1 bgpPeer documents of `peers` (address, AS number), as one
/// multi-document YAML.
fn global_peers(peers: &[(IpAddr, &str)]) -> String {
    peers
        .iter()
        .map(|&(address, asn)| global_peer(address, asn))
        .collect::<Vec<_>>()
        .join("---\n")
}

/// Applies `theirs` (in `their_asn`) as a global peer in `directory`'s store,
/// starts `nodebgp run` there as node-1 on `ours` in `our_asn` with
/// `arguments`, and waits for the session with `theirs` to be Established.
fn start_peered(
    directory: &Path,
    theirs: IpAddr,
    their_asn: &str,
    ours: IpAddr,
    our_asn: &str,
    arguments: &[&str],
) -> Daemon {
    apply(directory, &global_peer(theirs, their_asn));
    let daemon = Daemon::start(directory, "node-1", ours, our_asn, arguments);
    daemon.wait_for(theirs, "Established");
    daemon
}

/// Whether `answer` holds one route, whose `stale` mark is `stale`.
fn only_route_stale(answer: &Value, stale: bool) -> bool {
    answer["count"] == 1 && answer["routes"][0]["stale"] == stale
}

/// A network namespace of the test's own for the kernel FIB, with
/// 198.51.100.1/24 on it so that the lab routers' 198.51.100.x next hops are
/// reachable; `None` where namespaces cannot be made.
fn fib_namespace(purpose: &str) -> Option<Namespace> {
    let namespace = Namespace::create(purpose)?;
    namespace.add_network("198.51.100.1/24");
    Some(namespace)
}

#[test]
fn routes_flow_both_ways_with_frr_over_ipv4_and_ipv6_and_withdrawals_propagate() {
    lab::require(Kind::Frr);
    let (ours, theirs) = (address(), address());
    let directory = scratch("routes-frr");
    let mut router = Router::start(
        dual_stack(
            Kind::Frr,
            "routes-frr",
            theirs,
            4_200_000_001,
            ours,
            4_200_000_002,
            71,
        )
        .route("10.71.1.0/24"),
    )
    .unwrap();
    let daemon = start_peered(
        &directory,
        theirs,
        "4200000001",
        ours,
        "4200000002",
        &[
            "--all-families",
            "--advertise",
            "10.70.0.0/24 65000:70 4200000002:7:0",
            "--advertise",
            "2001:db8:70::/48",
            "--ipv6-next-hop",
            "2001:db8:ffff::70",
        ],
    );
    // Ours at FRR, IPv4 and IPv6 (MP-BGP), with the communities we attach.
    router
        .wait_for_prefixes(ours, &["10.70.0.0/24", "2001:db8:70::/48"], UP)
        .expect("FRR learns both of the node's prefixes");
    assert_eq!(
        router.received_prefixes(ours).unwrap(),
        ["10.70.0.0/24", "2001:db8:70::/48"],
        "exactly the node's prefixes: none of FRR's own sent back"
    );
    let detail = router
        .cli(&["show bgp ipv4 unicast 10.70.0.0/24 json"])
        .unwrap();
    assert!(detail.contains("65000:70"), "{detail}");
    assert!(detail.contains("4200000002:7:0"), "{detail}");
    // Theirs in our Loc-RIB, best, with FRR's next hops and 4-octet AS path.
    let answer = daemon.wait_for_routes(&[], "FRR's three prefixes", |answer| {
        ["10.71.0.0/24", "10.71.1.0/24", "2001:db8:71::/48"]
            .iter()
            .all(|prefix| has_prefix(answer, prefix))
    });
    for route in answer["routes"].as_array().unwrap() {
        if route["prefix"] == "10.71.0.0/24" {
            assert_eq!(route["best"], true);
            assert_eq!(route["peer"], theirs.to_string());
            assert_eq!(route["next_hop"], "198.51.100.71");
            assert_eq!(route["attributes"]["as_path"], "4200000001");
        }
        if route["prefix"] == "2001:db8:71::/48" {
            assert_eq!(route["next_hop"], "2001:db8:ffff::71");
        }
    }
    let received = daemon.routes(&["--peer", &theirs.to_string(), "--received"]);
    assert_eq!(received["count"], 3, "{received:#}");
    let advertised = daemon.routes(&["--peer", &theirs.to_string(), "--advertised"]);
    assert_eq!(
        prefixes(&advertised),
        vec!["10.70.0.0/24".to_owned(), "2001:db8:70::/48".to_owned()]
    );
    // A withdrawal at FRR leaves our Loc-RIB.
    router.remove_routes(&["10.71.1.0/24"]).unwrap();
    daemon.wait_for_routes(&[], "10.71.1.0/24 withdrawn", |answer| {
        !has_prefix(answer, "10.71.1.0/24") && has_prefix(answer, "10.71.0.0/24")
    });
    let status = daemon.peer(theirs).unwrap();
    assert_eq!(status["prefixes"]["received"], 2, "{status:#}");
}

#[test]
fn routes_flow_both_ways_with_gobgp_over_ipv4_and_ipv6_with_four_octet_asns() {
    lab::require(Kind::Gobgp);
    let (ours, theirs) = (address(), address());
    let directory = scratch("routes-gobgp");
    let mut router = Router::start(dual_stack(
        Kind::Gobgp,
        "routes-gobgp",
        theirs,
        4_200_000_011,
        ours,
        4_200_000_012,
        73,
    ))
    .unwrap();
    // GoBGP 3.10 takes a 127/8 next hop as a withdrawal: the node's address
    // is given as a TEST-NET-2 one, as a real node's would be.
    let daemon = start_peered(
        &directory,
        theirs,
        "\"64086.59915\"",
        ours,
        "4200000012",
        &[
            "--all-families",
            "--advertise",
            "10.72.0.0/24",
            "--advertise",
            "2001:db8:72::/48",
            "--ipv4-next-hop",
            "198.51.100.72",
            "--ipv6-next-hop",
            "2001:db8:ffff::72",
        ],
    );
    router
        .wait_for_prefixes(ours, &["10.72.0.0/24", "2001:db8:72::/48"], UP)
        .expect("GoBGP accepts both of the node's prefixes");
    assert_eq!(
        router.received_prefixes(ours).unwrap(),
        ["10.72.0.0/24", "2001:db8:72::/48"],
        "exactly the node's prefixes: none of GoBGP's own sent back"
    );
    let answer = daemon.wait_for_routes(&[], "GoBGP's two prefixes", |answer| {
        has_prefix(answer, "10.73.0.0/24") && has_prefix(answer, "2001:db8:73::/48")
    });
    let route = |prefix: &str| {
        answer["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|route| route["prefix"] == prefix)
            .unwrap()
            .clone()
    };
    let ipv4 = route("10.73.0.0/24");
    assert_eq!(ipv4["peer"], theirs.to_string());
    assert_eq!(ipv4["attributes"]["as_path"], "4200000011");
    assert_eq!(ipv4["next_hop"], "198.51.100.73");
    assert_eq!(route("2001:db8:73::/48")["next_hop"], "2001:db8:ffff::73");
    // GoBGP withdraws one: it leaves our Loc-RIB.
    router.remove_routes(&["2001:db8:73::/48"]).unwrap();
    daemon.wait_for_routes(&[], "2001:db8:73::/48 withdrawn", |answer| {
        !has_prefix(answer, "2001:db8:73::/48") && has_prefix(answer, "10.73.0.0/24")
    });
}

#[test]
fn routes_flow_both_ways_with_bird_over_ipv4_and_ipv6() {
    lab::require(Kind::Bird);
    let (ours, theirs) = (address(), address());
    let directory = scratch("routes-bird");
    let mut router = Router::start(
        dual_stack(Kind::Bird, "routes-bird", theirs, 65031, ours, 65032, 75).route("10.75.1.0/24"),
    )
    .unwrap();
    let daemon = start_peered(
        &directory,
        theirs,
        "65031",
        ours,
        "65032",
        &[
            "--all-families",
            "--advertise",
            "10.74.0.0/24",
            "--advertise",
            "2001:db8:74::/48",
            "--ipv6-next-hop",
            "2001:db8:ffff::74",
        ],
    );
    router
        .wait_for_prefixes(ours, &["10.74.0.0/24", "2001:db8:74::/48"], UP)
        .expect("BIRD learns both of the node's prefixes");
    let answer = daemon.wait_for_routes(&[], "BIRD's three prefixes", |answer| {
        ["10.75.0.0/24", "10.75.1.0/24", "2001:db8:75::/48"]
            .iter()
            .all(|prefix| has_prefix(answer, prefix))
    });
    // Exactly BIRD's prefixes and our own, nothing else.
    assert_eq!(
        prefixes(&answer),
        [
            "10.74.0.0/24",
            "10.75.0.0/24",
            "10.75.1.0/24",
            "2001:db8:74::/48",
            "2001:db8:75::/48"
        ]
    );
    for route in answer["routes"].as_array().unwrap() {
        let prefix = route["prefix"].as_str().unwrap();
        if !prefix.contains("75") {
            continue;
        }
        assert_eq!(route["best"], true, "{route}");
        assert_eq!(route["peer"], theirs.to_string(), "{route}");
        assert_eq!(route["attributes"]["as_path"], "65031", "{route}");
        let next_hop = if prefix.contains(':') {
            "2001:db8:ffff::75"
        } else {
            "198.51.100.75"
        };
        assert_eq!(route["next_hop"], next_hop, "{route}");
    }
    // What we sent BIRD: our two prefixes, not BIRD's own back.
    let advertised = daemon.routes(&["--peer", &theirs.to_string(), "--advertised"]);
    assert_eq!(prefixes(&advertised), ["10.74.0.0/24", "2001:db8:74::/48"]);
    // A withdrawal at BIRD leaves our Loc-RIB; the rest stays.
    router.remove_routes(&["10.75.1.0/24"]).unwrap();
    daemon.wait_for_routes(&[], "10.75.1.0/24 withdrawn", |answer| {
        !has_prefix(answer, "10.75.1.0/24") && has_prefix(answer, "10.75.0.0/24")
    });
    let status = daemon.peer(theirs).unwrap();
    assert_eq!(status["prefixes"]["received"], 2, "{status:#}");
}

/// RFC 4271 §9.1.2.2: two FRRs announce the same prefix; the shorter AS path
/// wins, and when the paths are equal (same neighbor AS) both are used.
#[test]
fn the_shorter_as_path_wins_and_equal_paths_are_multipath() {
    lab::require(Kind::Frr);
    let (ours, long, short) = (address(), address(), address());
    let directory = scratch("best-path");
    let _long = Router::start(
        peering_with_us(Kind::Frr, "best-long", long, 65041, ours, 65040)
            .routes(["10.76.0.0/24"])
            .next_hop("198.51.100.41".parse().unwrap())
            .with_prepend(2),
    )
    .unwrap();
    let _short = Router::start(
        peering_with_us(Kind::Frr, "best-short", short, 65041, ours, 65040)
            .routes(["10.76.0.0/24"])
            .next_hop("198.51.100.42".parse().unwrap()),
    )
    .unwrap();
    let peers = global_peers(&[(long, "65041"), (short, "65041")]);
    apply(&directory, &peers);
    let daemon = Daemon::start(&directory, "node-1", ours, "65040", &[]);
    let answer = daemon.wait_for_routes(&["10.76.0.0/24"], "two paths", |answer| {
        answer["count"] == 2
    });
    let routes = answer["routes"].as_array().unwrap();
    let best: Vec<&Value> = routes
        .iter()
        .filter(|route| route["best"] == true)
        .collect();
    assert_eq!(best.len(), 1, "{answer:#}");
    assert_eq!(best[0]["peer"], short.to_string(), "{answer:#}");
    assert_eq!(best[0]["attributes"]["as_path"], "65041");
    let other = routes.iter().find(|route| route["best"] != true).unwrap();
    assert_eq!(other["multipath"], false, "a longer path is no multipath");
    assert_eq!(other["attributes"]["as_path"], "65041 65041 65041");
}

/// Too many prefixes end the session with Cease / Maximum Number of
/// Prefixes Reached (RFC 4486 §4).
#[test]
fn a_peer_over_its_prefix_limit_is_sent_cease_maximum_prefixes() {
    lab::require(Kind::Frr);
    let (ours, theirs) = (address(), address());
    let directory = scratch("max-prefix");
    let router = Router::start(
        peering_with_us(Kind::Frr, "max-prefix", theirs, 65051, ours, 65050).routes([
            "10.77.0.0/24",
            "10.77.1.0/24",
            "10.77.2.0/24",
        ]),
    )
    .unwrap();
    apply(&directory, &global_peer(theirs, "65051"));
    let daemon = Daemon::start(
        &directory,
        "node-1",
        ours,
        "65050",
        &["--max-prefix", "2", "--max-prefix-restart", "300"],
    );
    eventually("FRR is told the limit was reached", || {
        router
            .last_error(ours)
            .ok()
            .flatten()
            .is_some_and(|reason| reason.contains("Maximum Number of Prefixes"))
    });
    let status = daemon.peer(theirs).unwrap();
    assert_ne!(status["state"], "Established", "{status:#}");
    assert!(
        status["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("Maximum"),
        "{status:#}"
    );
}

/// The kernel FIB, in a namespace of the test's own: two FRRs with equal
/// paths give one multipath route; a withdrawal leaves one next hop; a stop
/// without graceful restart removes nodebgp's routes and nothing else.
#[test]
fn selected_routes_reach_the_kernel_as_multipath_and_leave_it_on_stop() {
    lab::require(Kind::Frr);
    let Some(namespace) = fib_namespace("fib") else {
        return;
    };
    namespace.run(&[
        "route",
        "add",
        "203.0.113.0/24",
        "via",
        "198.51.100.9",
        "proto",
        "static",
    ]);
    let (ours, first, second) = (address(), address(), address());
    let directory = scratch("fib");
    let _first = Router::start(
        peering_with_us(Kind::Frr, "fib-one", first, 65061, ours, 65060)
            .routes(["10.78.0.0/24"])
            .next_hop("198.51.100.21".parse().unwrap()),
    )
    .unwrap();
    let mut second_router = Router::start(
        peering_with_us(Kind::Frr, "fib-two", second, 65061, ours, 65060)
            .routes(["10.78.0.0/24", "10.78.1.0/24"])
            .next_hop("198.51.100.22".parse().unwrap()),
    )
    .unwrap();
    let peers = global_peers(&[(first, "65061"), (second, "65061")]);
    apply(&directory, &peers);
    let mut daemon = Daemon::start(
        &directory,
        "node-1",
        ours,
        "65060",
        &["--fib-netns", namespace.name(), "--no-graceful-restart"],
    );
    eventually("a multipath kernel route via both FRRs", || {
        let mut hops = namespace.next_hops("10.78.0.0/24");
        hops.sort();
        hops == ["198.51.100.21", "198.51.100.22"]
    });
    eventually("the single-path route", || {
        namespace.next_hops("10.78.1.0/24") == ["198.51.100.22"]
    });
    second_router.remove_routes(&["10.78.0.0/24"]).unwrap();
    eventually("one next hop left after the withdrawal", || {
        namespace.next_hops("10.78.0.0/24") == ["198.51.100.21"]
    });
    daemon.signal("-INT");
    assert!(namespace.next_hops("10.78.0.0/24").is_empty());
    assert!(namespace.next_hops("10.78.1.0/24").is_empty());
    assert_eq!(
        namespace.next_hops("203.0.113.0/24"),
        ["198.51.100.9"],
        "a route that is not nodebgp's stays"
    );
}

/// Graceful restart, both roles. nodebgp restarts (SIGTERM): FRR, as helper,
/// keeps nodebgp's prefix, and the kernel route nodebgp installed is never
/// absent while it is away. Then FRR restarts: nodebgp, as helper, keeps
/// FRR's route as stale and refreshes it when FRR is back.
#[test]
fn graceful_restart_keeps_routes_on_both_sides_across_restarts() {
    lab::require(Kind::Frr);
    let Some(namespace) = fib_namespace("gr") else {
        return;
    };
    let (ours, theirs) = (address(), address());
    let directory = scratch("graceful");
    let mut router = Router::start(
        peering_with_us(Kind::Frr, "gr-frr", theirs, 65071, ours, 65070)
            .routes(["10.79.0.0/24"])
            .next_hop("198.51.100.31".parse().unwrap())
            .with_graceful_restart(),
    )
    .unwrap();
    let arguments = [
        "--fib-netns",
        namespace.name(),
        "--advertise",
        "10.80.0.0/24",
        "--restart-time",
        "60",
    ];
    let mut daemon = start_peered(&directory, theirs, "65071", ours, "65070", &arguments);
    router
        .wait_for_prefixes(ours, &["10.80.0.0/24"], UP)
        .unwrap();
    eventually("the kernel route", || {
        namespace.next_hops("10.79.0.0/24") == ["198.51.100.31"]
    });

    // nodebgp leaves for a restart: no NOTIFICATION, routes kept everywhere.
    let watcher = namespace.watch_route("10.79.0.0/24");
    daemon.terminate();
    router
        .wait_for_state_where(ours, "leave Established", UP, |state| {
            state != PeerState::Established
        })
        .unwrap();
    let kept = router
        .cli(&["show bgp ipv4 unicast 10.80.0.0/24 json"])
        .unwrap();
    assert!(
        kept.contains("\"stale\":true"),
        "FRR keeps it as stale: {kept}"
    );
    let daemon = Daemon::start(&directory, "node-1", ours, "65070", &arguments);
    daemon.wait_for(theirs, "Established");
    eventually("FRR's copy of our prefix is fresh again", || {
        router
            .cli(&["show bgp ipv4 unicast 10.80.0.0/24 json"])
            .is_ok_and(|text| text.contains("10.80.0.0/24") && !text.contains("\"stale\":true"))
    });
    daemon.wait_for_routes(&["10.79.0.0/24"], "FRR's route relearned", |answer| {
        only_route_stale(answer, false)
    });
    let samples = watcher.stop();
    assert!(
        samples.taken > 10,
        "the watcher sampled {} times",
        samples.taken
    );
    assert_eq!(
        samples.missing, 0,
        "the kernel route was absent in {} of {} samples",
        samples.missing, samples.taken
    );

    // FRR goes away without a word (killed): nodebgp keeps its route, stale.
    router.kill();
    daemon.wait_for_routes(&["10.79.0.0/24"], "FRR's route kept as stale", |answer| {
        only_route_stale(answer, true)
    });
    assert_eq!(namespace.next_hops("10.79.0.0/24"), ["198.51.100.31"]);
    router.restart().unwrap();
    daemon.wait_for_routes(&["10.79.0.0/24"], "FRR's route refreshed", |answer| {
        only_route_stale(answer, false)
    });
}

/// nodebgp as helper for a restarting GoBGP (RFC 4724 §4.2): its routes stay,
/// marked stale, while it is away, and are refreshed when it returns.
#[test]
fn a_restarting_gobgp_keeps_its_routes_as_stale_until_it_returns() {
    lab::require(Kind::Gobgp);
    let (ours, theirs) = (address(), address());
    let directory = scratch("gr-gobgp");
    let mut router = Router::start(
        peering_with_us(Kind::Gobgp, "gr-gobgp", theirs, 65081, ours, 65080)
            .routes(["10.81.0.0/24"])
            .next_hop("198.51.100.81".parse().unwrap())
            .with_graceful_restart(),
    )
    .unwrap();
    let daemon = start_peered(&directory, theirs, "65081", ours, "65080", &[]);
    daemon.wait_for_routes(&["10.81.0.0/24"], "GoBGP's route", |answer| {
        only_route_stale(answer, false)
    });
    router.kill();
    daemon.wait_for_routes(&["10.81.0.0/24"], "GoBGP's route kept as stale", |answer| {
        only_route_stale(answer, true)
    });
    router.restart().unwrap();
    daemon.wait_for(theirs, "Established");
    daemon.wait_for_routes(&["10.81.0.0/24"], "GoBGP's route refreshed", |answer| {
        only_route_stale(answer, false)
    });
}

/// FRR's message counters towards `peer`.
fn frr_message_stats(router: &Router, peer: IpAddr) -> Value {
    let text = router
        .cli(&[&format!("show bgp neighbors {peer} json")])
        .unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    json[peer.to_string()]["messageStats"].clone()
}

/// ROUTE-REFRESH both ways (RFC 2918, RFC 7313): `nodebgp refresh` asks FRR
/// for its routes, and FRR's `clear bgp soft in` is answered with ours.
#[test]
fn route_refresh_is_sent_and_answered() {
    lab::require(Kind::Frr);
    let (ours, theirs) = (address(), address());
    let directory = scratch("refresh");
    let router = Router::start(
        peering_with_us(Kind::Frr, "refresh-frr", theirs, 65091, ours, 65090)
            .routes(["10.82.0.0/24"]),
    )
    .unwrap();
    let daemon = start_peered(
        &directory,
        theirs,
        "65091",
        ours,
        "65090",
        &["--advertise", "10.83.0.0/24"],
    );
    router
        .wait_for_prefixes(ours, &["10.83.0.0/24"], UP)
        .unwrap();
    let before = frr_message_stats(&router, ours);
    let refresh = std::process::Command::new(nodebgp_interop::daemon::nodebgp())
        .args(["refresh", &theirs.to_string(), "--control-socket"])
        .arg(&daemon.control)
        .output()
        .unwrap();
    assert!(refresh.status.success(), "{refresh:?}");
    // FRR answers with BoRR, its table and EoRR (RFC 7313): its route is
    // marked stale in between and fresh again after.
    eventually("FRR answers our ROUTE-REFRESH with BoRR and EoRR", || {
        let now = frr_message_stats(&router, ours);
        now["routeRefreshRecv"].as_u64() > before["routeRefreshRecv"].as_u64()
            && now["routeRefreshSent"].as_u64().unwrap_or(0)
                >= before["routeRefreshSent"].as_u64().unwrap_or(0) + 2
    });
    daemon.wait_for_routes(&["10.82.0.0/24"], "FRR's route kept, fresh", |answer| {
        answer["count"] == 1 && answer["routes"][0]["stale"] == false
    });
    let before = frr_message_stats(&router, ours);
    router.cli(&[&format!("clear bgp {ours} soft in")]).unwrap();
    eventually("FRR gets our table again", || {
        let now = frr_message_stats(&router, ours);
        now["routeRefreshSent"].as_u64() > before["routeRefreshSent"].as_u64()
            && now["updatesRecv"].as_u64() > before["updatesRecv"].as_u64()
    });
    router
        .wait_for_prefixes(ours, &["10.83.0.0/24"], UP)
        .unwrap();
}

/// Calico's BGPConfiguration, live: service prefixes are originated by the
/// node, with the communities of the prefix advertisement covering them,
/// and withdrawn when the configuration drops them.
#[test]
fn the_bgp_configuration_advertises_service_prefixes_with_communities() {
    lab::require(Kind::Frr);
    let (ours, theirs) = (address(), address());
    let directory = scratch("services");
    let router = Router::start(peering_with_us(
        Kind::Frr,
        "services-frr",
        theirs,
        65101,
        ours,
        64512,
    ))
    .unwrap();
    let _daemon = start_peered(&directory, theirs, "65101", ours, "64512", &[]);
    let configuration = "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  communities:\n  - name: services\n    value: '64512:300'\n  prefixAdvertisements:\n  - cidr: 10.96.0.0/12\n    communities: [services, '64512:7:8']\n  serviceClusterIPs:\n  - cidr: 10.96.0.0/12\n  serviceExternalIPs:\n  - cidr: 10.84.0.0/24\n";
    let applied = resources("apply", &directory, configuration);
    assert!(applied.status.success(), "{applied:?}");
    router
        .wait_for_prefixes(ours, &["10.96.0.0/12", "10.84.0.0/24"], UP)
        .expect("FRR learns the service prefixes");
    let detail = router
        .cli(&["show bgp ipv4 unicast 10.96.0.0/12 json"])
        .unwrap();
    assert!(detail.contains("64512:300"), "{detail}");
    assert!(detail.contains("64512:7:8"), "{detail}");
    let other = router
        .cli(&["show bgp ipv4 unicast 10.84.0.0/24 json"])
        .unwrap();
    assert!(!other.contains("64512:300"), "outside the CIDR: {other}");
    let without = configuration.replace("  serviceExternalIPs:\n  - cidr: 10.84.0.0/24\n", "");
    apply(&directory, &without);
    eventually("FRR sees 10.84.0.0/24 withdrawn", || {
        router
            .received_prefixes(ours)
            .is_ok_and(|prefixes| prefixes == ["10.96.0.0/12"])
    });
}

/// RFC 4456: nodebgp as a route reflector between two iBGP FRRs (its
/// clients) passes a route from one to the other with ORIGINATOR_ID and its
/// cluster id in CLUSTER_LIST.
#[test]
fn a_route_reflector_reflects_between_ibgp_clients() {
    lab::require(Kind::Frr);
    let (ours, first, second) = (address(), address(), address());
    let directory = scratch("reflector");
    let _first = Router::start(
        peering_with_us(Kind::Frr, "rr-one", first, 65110, ours, 65110).routes(["10.85.0.0/24"]),
    )
    .unwrap();
    let second_router = Router::start(peering_with_us(
        Kind::Frr,
        "rr-two",
        second,
        65110,
        ours,
        65110,
    ))
    .unwrap();
    apply(
        &directory,
        &global_peers(&[(first, "65110"), (second, "65110")]),
    );
    let _daemon = Daemon::start(
        &directory,
        "node-1",
        ours,
        "65110",
        &["--cluster-id", "10.255.0.1"],
    );
    second_router
        .wait_for_prefixes(ours, &["10.85.0.0/24"], UP)
        .expect("the second client gets the first client's route");
    let detail = second_router
        .cli(&["show bgp ipv4 unicast 10.85.0.0/24 json"])
        .unwrap();
    assert!(
        detail.contains(&format!("\"originatorId\":\"{first}\"")),
        "ORIGINATOR_ID is the first client: {detail}"
    );
    assert!(detail.contains("10.255.0.1"), "our cluster id: {detail}");
}

/// Whether the only route of `answer` is in the given state: `stale`,
/// `long_lived_stale`, and whether it carries LLGR_STALE (65535:6).
fn route_state(answer: &Value, stale: bool, long_lived_stale: bool) -> bool {
    let route = &answer["routes"][0];
    let llgr_stale = route["attributes"]["communities"]
        .to_string()
        .contains("65535:6");
    answer["count"] == 1
        && route["stale"] == stale
        && route["long_lived_stale"] == long_lived_stale
        && llgr_stale == long_lived_stale
}

/// Long-lived graceful restart (RFC 9494) as FRR's helper: FRR, killed, has
/// its route kept as stale for its 2 s restart time, then as long-lived
/// stale (least preferred, LLGR_STALE attached) for the smaller of FRR's
/// long-lived stale time (600 s) and ours (3 s), then removed; FRR back,
/// the route is fresh again.
#[test]
fn a_killed_frr_with_long_lived_graceful_restart_has_its_route_kept_long_lived_stale() {
    lab::require(Kind::Frr);
    let (ours, theirs) = (address(), address());
    let directory = scratch("llgr-frr");
    let mut router = Router::start(
        peering_with_us(Kind::Frr, "llgr-frr", theirs, 65091, ours, 65090)
            .routes(["10.91.0.0/24"])
            .next_hop("198.51.100.91".parse().unwrap())
            .with_long_lived_stale_time(2, 600),
    )
    .unwrap();
    let daemon = start_peered(
        &directory,
        theirs,
        "65091",
        ours,
        "65090",
        &["--long-lived-stale-time", "3"],
    );
    daemon.wait_for_routes(&["10.91.0.0/24"], "FRR's route", |answer| {
        route_state(answer, false, false)
    });
    // FRR saw our LLGR capability too.
    let neighbor_text = router
        .cli(&[&format!("show bgp neighbors {ours}")])
        .unwrap();
    assert!(
        neighbor_text.contains("Long-lived Graceful Restart: advertised and received"),
        "{neighbor_text}"
    );

    router.kill();
    let started = Instant::now();
    daemon.wait_for_routes(&["10.91.0.0/24"], "FRR's route kept as stale", |answer| {
        route_state(answer, true, false)
    });
    daemon.wait_for_routes(
        &["10.91.0.0/24"],
        "FRR's route kept as long-lived stale",
        |answer| route_state(answer, true, true),
    );
    let long_lived_after = started.elapsed();
    assert!(
        long_lived_after >= Duration::from_millis(1500),
        "long-lived stale after {long_lived_after:?}, before the restart time"
    );
    daemon.wait_for_routes(
        &["10.91.0.0/24"],
        "FRR's route removed at the end of our long-lived stale time",
        |answer| answer["count"] == 0,
    );
    assert!(
        started.elapsed() >= long_lived_after + Duration::from_secs(2),
        "removed after {:?}, long-lived stale after {long_lived_after:?}",
        started.elapsed()
    );
    router.restart().unwrap();
    daemon.wait_for(theirs, "Established");
    daemon.wait_for_routes(&["10.91.0.0/24"], "FRR's route fresh again", |answer| {
        route_state(answer, false, false)
    });
}

/// The kernel refuses a route whose gateway is on no connected network;
/// nodebgp keeps it and tries again (every 10 s), so that once the network
/// is there the route goes in without any new UPDATE.
#[test]
fn a_route_the_kernel_refused_goes_in_once_its_gateway_is_reachable() {
    lab::require(Kind::Frr);
    // No 198.51.100.0/24 yet: the next hop is unreachable.
    let Some(namespace) = Namespace::create("fib-retry") else {
        return;
    };
    let (ours, theirs) = (address(), address());
    let directory = scratch("fib-retry");
    let _router = Router::start(
        peering_with_us(Kind::Frr, "fib-retry", theirs, 65091, ours, 65090)
            .routes(["10.91.0.0/24"])
            .next_hop("198.51.100.41".parse().unwrap()),
    )
    .unwrap();
    let arguments = ["--fib-netns", namespace.name(), "--no-graceful-restart"];
    let daemon = start_peered(&directory, theirs, "65091", ours, "65090", &arguments);
    eventually("the route in nodebgp's RIB", || {
        daemon.routes(&["10.91.0.0/24"])["count"] == 1
    });
    // The kernel refused it: nothing installed while the gateway is unknown.
    let log = directory.join("nodebgp.log");
    eventually("the refusal logged", || {
        std::fs::read_to_string(&log).is_ok_and(|text| text.contains("retried every"))
    });
    assert!(namespace.next_hops("10.91.0.0/24").is_empty());
    namespace.add_network("198.51.100.1/24");
    eventually("the route installed on a retry", || {
        namespace.next_hops("10.91.0.0/24") == ["198.51.100.41"]
    });
}

/// After a restart (graceful: the kernel routes stay while nodebgp is
/// away), only the kernel routes that no peer sends any more are removed:
/// the peer withdrew one while nodebgp was down.
#[test]
fn after_a_restart_only_the_kernel_routes_no_peer_sends_are_removed() {
    lab::require(Kind::Frr);
    let Some(namespace) = fib_namespace("fib-restart") else {
        return;
    };
    let (ours, theirs) = (address(), address());
    let directory = scratch("fib-restart");
    let mut router = Router::start(
        peering_with_us(Kind::Frr, "fib-restart", theirs, 65093, ours, 65092)
            .routes(["10.93.0.0/24", "10.93.1.0/24"])
            .next_hop("198.51.100.43".parse().unwrap())
            .with_graceful_restart(),
    )
    .unwrap();
    let arguments = ["--fib-netns", namespace.name(), "--restart-time", "60"];
    let mut daemon = start_peered(&directory, theirs, "65093", ours, "65092", &arguments);
    eventually("both kernel routes", || {
        namespace.next_hops("10.93.0.0/24") == ["198.51.100.43"]
            && namespace.next_hops("10.93.1.0/24") == ["198.51.100.43"]
    });
    let kept = namespace.watch_route("10.93.0.0/24");
    daemon.terminate();
    assert_eq!(
        namespace.next_hops("10.93.1.0/24"),
        ["198.51.100.43"],
        "a graceful stop leaves the kernel routes"
    );
    router.remove_routes(&["10.93.1.0/24"]).unwrap();
    let daemon = Daemon::start(&directory, "node-1", ours, "65092", &arguments);
    daemon.wait_for(theirs, "Established");
    eventually("the withdrawn route gone from the kernel", || {
        namespace.next_hops("10.93.1.0/24").is_empty()
    });
    assert_eq!(namespace.next_hops("10.93.0.0/24"), ["198.51.100.43"]);
    let samples = kept.stop();
    assert!(samples.taken > 0);
    assert_eq!(
        samples.missing, 0,
        "the route the peer still sends was never missing from the kernel: {samples:?}"
    );
}

/// When the node's AS changes, every session starts again on a new RIB;
/// the routes the old one put in the kernel go with it unless a peer
/// announces them again. Here the peer refuses the new AS (it expects the
/// old one), so nothing comes back and the kernel route must go.
#[test]
fn a_new_node_as_takes_the_old_sessions_routes_out_of_the_kernel() {
    lab::require(Kind::Frr);
    let Some(namespace) = fib_namespace("fib-as-change") else {
        return;
    };
    let (ours, theirs) = (address(), address());
    let directory = scratch("fib-as-change");
    let _router = Router::start(
        peering_with_us(Kind::Frr, "fib-as-change", theirs, 65095, ours, 65094)
            .routes(["10.95.0.0/24"])
            .next_hop("198.51.100.45".parse().unwrap()),
    )
    .unwrap();
    let arguments = ["--fib-netns", namespace.name()];
    let daemon = start_peered(&directory, theirs, "65095", ours, "65094", &arguments);
    eventually("the kernel route", || {
        namespace.next_hops("10.95.0.0/24") == ["198.51.100.45"]
    });
    apply(
        &directory,
        "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: 65096}\n",
    );
    eventually("the old session's route gone from the kernel", || {
        namespace.next_hops("10.95.0.0/24").is_empty()
    });
    let peer = daemon.peer(theirs).expect("the peer is still configured");
    assert_ne!(
        peer["state"], "Established",
        "the peer refuses AS 65096: {peer}"
    );
}

/// A node is no transit router: a route learned from one eBGP peer is not
/// sent to another (in another AS, so that no AS-path loop would hide a
/// leak). The other peer's received set is exactly the node's own
/// prefixes, checked after an UPDATE the node sent once it held the first
/// peer's route (one TCP stream keeps order: a leak would have come first).
/// With `--transit` the same check sees the leak.
#[test]
fn an_ebgp_route_is_not_passed_on_to_another_ebgp_peer() {
    lab::require(Kind::Frr);
    let (ours, first, second) = (address(), address(), address());
    let directory = scratch("no-transit");
    let _first = Router::start(
        peering_with_us(Kind::Frr, "transit-one", first, 65121, ours, 65120)
            .routes(["10.86.0.0/24"])
            .next_hop("198.51.100.86".parse().unwrap()),
    )
    .unwrap();
    let second_router = Router::start(peering_with_us(
        Kind::Frr,
        "transit-two",
        second,
        65122,
        ours,
        65120,
    ))
    .unwrap();
    apply(
        &directory,
        &global_peers(&[(first, "65121"), (second, "65122")]),
    );
    let daemon = Daemon::start(
        &directory,
        "node-1",
        ours,
        "65120",
        &["--advertise", "10.87.0.0/24"],
    );
    daemon.wait_for(second, "Established");
    daemon.wait_for_routes(&["10.86.0.0/24"], "the first peer's route", |answer| {
        answer["count"] == 1
    });
    // Sent after the node held the first peer's route.
    let configuration = "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  serviceClusterIPs:\n  - cidr: 10.88.0.0/24\n";
    apply(&directory, configuration);
    second_router
        .wait_for_prefixes(ours, &["10.88.0.0/24"], UP)
        .expect("the second peer gets the node's new prefix");
    assert_eq!(
        second_router.received_prefixes(ours).unwrap(),
        ["10.87.0.0/24", "10.88.0.0/24"],
        "exactly the node's own prefixes"
    );
}
