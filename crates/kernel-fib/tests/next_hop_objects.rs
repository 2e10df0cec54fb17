//! Routes of one gateway through shared next-hop objects (Linux 5.3), each
//! test in a network namespace of its own (see `support`), checked with
//! `ip -j nexthop show` and `ip -j route show`.

#[macro_use]
mod support;

use std::net::IpAddr;

use kernel_fib::{diff, Fib, FibConfig, FibRoute};
use support::{route, Namespace};

/// The namespace's objects of protocol 244, as `(gateway, device, on-link)`.
fn ours(namespace: &Namespace) -> Vec<(Option<String>, Option<String>, bool)> {
    namespace
        .next_hop_objects()
        .into_iter()
        .filter(|object| object.protocol == "244")
        .map(|object| (object.gateway, object.device, object.onlink))
        .collect()
}

/// The object each of our routes goes through, by destination.
fn objects_of_routes(namespace: &Namespace) -> Vec<(String, Option<u64>)> {
    namespace
        .our_routes()
        .into_iter()
        .map(|route| (route.destination, route.next_hop_object))
        .collect()
}

fn object(gateway: &str, device: &str, onlink: bool) -> (Option<String>, Option<String>, bool) {
    (Some(gateway.to_owned()), Some(device.to_owned()), onlink)
}

#[test]
fn routes_of_one_gateway_share_an_object_of_ours_and_read_back_unchanged() {
    let namespace = namespace!();
    let wanted = vec![
        route("10.0.0.0/24", &["192.0.2.2"]),
        route("10.0.1.0/24", &["192.0.2.2"]),
        route("10.0.2.0/24", &["192.0.2.3"]),
        route("10.0.3.0/24", &["192.0.2.2", "192.0.2.3"]),
        FibRoute::blackhole("10.9.0.0/26".parse().unwrap()),
        route("2001:db8:1::/48", &["2001:db8::2"]),
        route("2001:db8:2::/48", &["2001:db8::2"]),
    ];
    let routes = wanted.clone();
    namespace.run(move || async move {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        let summary = fib.apply_all(&routes).await.unwrap();
        assert_eq!((summary.installed, summary.failed), (routes.len(), 0));
        // Read back as installed: the objects change nothing a caller sees.
        let installed = fib.installed().await.unwrap();
        assert!(diff(&installed, &routes).is_empty(), "{installed:?}");
    });
    assert_eq!(
        ours(&namespace),
        [
            object("192.0.2.2", "d0", false),
            object("192.0.2.3", "d0", false),
            object("2001:db8::2", "d0", false),
        ]
    );
    let through = objects_of_routes(&namespace);
    let of = |destination: &str| {
        through
            .iter()
            .find(|(listed, _)| listed == destination)
            .unwrap_or_else(|| panic!("{destination} in {through:?}"))
            .1
    };
    assert!(of("10.0.0.0/24").is_some());
    assert_eq!(
        of("10.0.0.0/24"),
        of("10.0.1.0/24"),
        "one object per gateway"
    );
    assert_ne!(of("10.0.0.0/24"), of("10.0.2.0/24"));
    assert_eq!(of("2001:db8:1::/48"), of("2001:db8:2::/48"));
    assert!(of("2001:db8:1::/48").is_some());
    // ECMP routes and blackholes keep their own shape.
    assert_eq!(of("10.0.3.0/24"), None);
    assert_eq!(of("10.9.0.0/26"), None);
}

#[test]
fn a_route_through_a_device_goes_through_an_onlink_object() {
    let namespace = namespace!();
    let device = namespace.add_tunnel_device();
    let name = device.name.clone();
    namespace.run(move || async move {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        let routes = [FibRoute::through_device(
            "10.65.1.0/26".parse().unwrap(),
            ["198.51.100.12".parse::<IpAddr>().unwrap()],
            &name,
        )];
        let summary = fib.apply_all(&routes).await.unwrap();
        assert_eq!(summary.failed, 0, "{:?}", summary.errors);
        let installed = fib.installed().await.unwrap();
        assert!(diff(&installed, &routes).is_empty(), "{installed:?}");
    });
    assert_eq!(
        ours(&namespace),
        [object("198.51.100.12", &device.name, true)]
    );
    let routes = namespace.our_routes();
    assert!(routes[0].onlink && routes[0].next_hop_object.is_some());
}

#[test]
fn a_second_fib_takes_over_the_objects_the_first_left() {
    let namespace = namespace!();
    namespace.run(|| async {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        fib.apply(&route("10.0.0.0/24", &["192.0.2.2"]))
            .await
            .unwrap();
    });
    let before = namespace.next_hop_objects();
    namespace.run(|| async {
        // A restarted daemon: a new `Fib`, the same gateway.
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        fib.apply(&route("10.0.1.0/24", &["192.0.2.2"]))
            .await
            .unwrap();
        fib.remove_all().await.unwrap();
        fib.apply(&route("10.0.2.0/24", &["192.0.2.2"]))
            .await
            .unwrap();
    });
    assert_eq!(namespace.next_hop_objects(), before, "no second object");
    let through = objects_of_routes(&namespace);
    assert_eq!(through, [("10.0.2.0/24".to_owned(), Some(before[0].id))]);
}

#[test]
fn a_route_whose_object_went_away_goes_in_with_its_own_next_hop() {
    let namespace = namespace!();
    let deleter = namespace.path();
    namespace.run(move || async move {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        fib.apply(&route("10.0.0.0/24", &["192.0.2.2"]))
            .await
            .unwrap();
        // Someone removes the object (the kernel does, with its interface),
        // and the route through it with it.
        let name = deleter.file_name().unwrap().to_str().unwrap().to_owned();
        let listed = std::process::Command::new("ip")
            .args(["-n", &name, "-j", "nexthop", "show"])
            .output()
            .unwrap();
        let objects: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
        let id = objects[0]["id"].as_u64().unwrap().to_string();
        let deleted = std::process::Command::new("ip")
            .args(["-n", &name, "nexthop", "del", "id", &id])
            .status()
            .unwrap();
        assert!(deleted.success());
        // The next route of that gateway still goes in: once with its own
        // next hop, then through a new object.
        fib.apply(&route("10.0.1.0/24", &["192.0.2.2"]))
            .await
            .unwrap();
        fib.apply(&route("10.0.2.0/24", &["192.0.2.2"]))
            .await
            .unwrap();
    });
    let through = objects_of_routes(&namespace);
    assert_eq!(through.len(), 2, "{through:?}");
    assert_eq!(through[0], ("10.0.1.0/24".to_owned(), None));
    assert!(through[1].1.is_some(), "{through:?}");
    assert_eq!(ours(&namespace), [object("192.0.2.2", "d0", false)]);
}

#[test]
fn with_objects_switched_off_every_route_keeps_its_own_next_hop() {
    let namespace = namespace!();
    namespace.run(|| async {
        let config = FibConfig {
            next_hop_objects: false,
            ..FibConfig::default()
        };
        let mut fib = Fib::open(config).await.unwrap();
        fib.apply(&route("10.0.0.0/24", &["192.0.2.2"]))
            .await
            .unwrap();
    });
    assert!(namespace.next_hop_objects().is_empty());
    assert_eq!(
        objects_of_routes(&namespace),
        [("10.0.0.0/24".to_owned(), None)]
    );
}

#[test]
fn routes_listed_with_only_their_object_read_back_through_it() {
    let namespace = namespace!();
    let name = namespace.path();
    let name = name.file_name().unwrap().to_str().unwrap();
    // The kernel lists a route's gateway beside its object unless told not to.
    let switched = std::process::Command::new("ip")
        .args(["netns", "exec", name, "sysctl", "-qw"])
        .arg("net.ipv4.nexthop_compat_mode=0")
        .status();
    if !switched.is_ok_and(|status| status.success()) {
        lab::skip("net.ipv4.nexthop_compat_mode cannot be set here");
        return;
    }
    let device = namespace.add_tunnel_device();
    let device_name = device.name.clone();
    namespace.run(move || async move {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        let routes = [
            route("10.0.0.0/24", &["192.0.2.2"]),
            route("2001:db8:1::/48", &["2001:db8::2"]),
            FibRoute::through_device(
                "10.65.1.0/26".parse().unwrap(),
                ["198.51.100.12".parse::<IpAddr>().unwrap()],
                &device_name,
            ),
        ];
        let summary = fib.apply_all(&routes).await.unwrap();
        assert_eq!(summary.failed, 0, "{:?}", summary.errors);
        let installed = fib.installed().await.unwrap();
        assert!(diff(&installed, &routes).is_empty(), "{installed:?}");
    });
    // iproute2 sees them without gateways: the listing really was bare.
    let listed = namespace.our_routes();
    assert!(
        listed
            .iter()
            .all(|route| route.gateways.is_empty() && route.next_hop_object.is_some()),
        "{listed:?}"
    );
}
