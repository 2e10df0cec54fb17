//! `Fib` against a real kernel, each test in a network namespace of its own
//! (see `support`), checked independently with `ip -j route show`.

#[macro_use]
mod support;

use std::net::IpAddr;

use kernel_fib::{diff, Fib, FibConfig, FibError, FibRoute, RouteKind};
use support::{route, summary, Namespace};

fn removal(prefix: &str) -> FibRoute {
    FibRoute::removal(prefix.parse().expect("prefix"))
}

fn blackhole(prefix: &str) -> FibRoute {
    FibRoute::blackhole(prefix.parse().expect("prefix"))
}

fn unreachable(prefix: &str) -> FibRoute {
    FibRoute::unreachable(prefix.parse().expect("prefix"))
}

/// A route whose next hops are on-link through `device`.
fn through(prefix: &str, next_hops: &[&str], device: &str) -> FibRoute {
    FibRoute::through_device(
        prefix.parse().expect("prefix"),
        next_hops
            .iter()
            .map(|hop| hop.parse::<IpAddr>().expect("next hop")),
        device,
    )
}

/// `(type, destination)` of each of nodebgp's routes, as iproute2 reads them.
fn our_kinds(namespace: &Namespace) -> Vec<(String, String)> {
    namespace
        .our_routes()
        .iter()
        .map(support::KernelRoute::kind_and_destination)
        .collect()
}

fn kind(kind: &str, destination: &str) -> (String, String) {
    (kind.to_owned(), destination.to_owned())
}

/// Applies `routes` one `apply` call at a time, in order, each of which must succeed.
async fn apply_each(fib: &mut Fib, routes: &[FibRoute]) {
    for route in routes {
        if let Err(error) = fib.apply(route).await {
            panic!("applying {route:?}: {error:?}");
        }
    }
}

/// Opens a `Fib` on the main table inside `namespace` and `apply_each`s `routes`.
fn apply_in(namespace: &Namespace, routes: Vec<FibRoute>) {
    namespace.run(move || async move {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        apply_each(&mut fib, &routes).await;
    });
}

/// Applying `route` fails because one of its next hops is not reachable.
async fn assert_unreachable(fib: &mut Fib, route: FibRoute) {
    let error = fib.apply(&route).await.unwrap_err();
    assert!(
        matches!(error, FibError::NextHopUnreachable { .. }),
        "{error:?}"
    );
}

fn in_table(table: u32) -> FibConfig {
    FibConfig {
        table,
        ..FibConfig::default()
    }
}

#[test]
fn adds_ipv4_and_ipv6_routes_with_our_protocol_and_metric() {
    let namespace = namespace!();
    namespace.run(|| async {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        fib.check_permission().await.unwrap();
        apply_each(
            &mut fib,
            &[
                route("10.0.0.0/24", &["192.0.2.2"]),
                route("2001:db8:1::/48", &["2001:db8::2"]),
                route("0.0.0.0/0", &["192.0.2.254"]),
            ],
        )
        .await;
    });
    let routes = namespace.our_routes();
    let summaries: Vec<_> = routes.iter().map(|route| route.summary()).collect();
    assert_eq!(
        summaries,
        [
            summary("default", &["192.0.2.254"]),
            summary("10.0.0.0/24", &["192.0.2.2"]),
            summary("2001:db8:1::/48", &["2001:db8::2"]),
        ]
    );
    assert!(
        routes
            .iter()
            .all(|route| route.table.is_none() && route.metric == Some(20)),
        "{routes:?}"
    );
}

#[test]
fn replaces_the_next_hop_in_place() {
    let namespace = namespace!();
    apply_in(
        &namespace,
        vec![
            route("10.0.0.0/24", &["192.0.2.2"]),
            route("2001:db8:1::/48", &["2001:db8::2"]),
            route("10.0.0.0/24", &["192.0.2.3"]),
            route("2001:db8:1::/48", &["2001:db8::3"]),
        ],
    );
    assert_eq!(
        namespace.our_summaries(),
        [
            summary("10.0.0.0/24", &["192.0.2.3"]),
            summary("2001:db8:1::/48", &["2001:db8::3"])
        ]
    );
}

#[test]
fn two_next_hops_make_one_ecmp_route_with_two_nexthops() {
    let namespace = namespace!();
    namespace.run(|| async {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        apply_each(
            &mut fib,
            &[
                route("10.0.0.0/24", &["192.0.2.2"]),
                route("10.0.0.0/24", &["192.0.2.2", "192.0.2.3"]),
                route("2001:db8:1::/48", &["2001:db8::2", "2001:db8::3"]),
            ],
        )
        .await;
        let installed = fib.installed().await.unwrap();
        assert_eq!(
            installed,
            [
                route("10.0.0.0/24", &["192.0.2.2", "192.0.2.3"]),
                route("2001:db8:1::/48", &["2001:db8::2", "2001:db8::3"])
            ]
        );
    });
    assert_eq!(
        namespace.our_summaries(),
        [
            summary("10.0.0.0/24", &["192.0.2.2", "192.0.2.3"]),
            summary("2001:db8:1::/48", &["2001:db8::2", "2001:db8::3"]),
        ]
    );
    let json = namespace.ip("-j -6 route show proto 244");
    assert_eq!(
        json.matches("\"gateway\"").count(),
        2,
        "two IPv6 nexthops: {json}"
    );

    // And back to a single path: the multipath route is replaced, not added to.
    namespace.run(|| async {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        fib.installed().await.unwrap();
        apply_each(
            &mut fib,
            &[
                route("10.0.0.0/24", &["192.0.2.3"]),
                route("2001:db8:1::/48", &["2001:db8::3"]),
            ],
        )
        .await;
    });
    assert_eq!(
        namespace.our_summaries(),
        [
            summary("10.0.0.0/24", &["192.0.2.3"]),
            summary("2001:db8:1::/48", &["2001:db8::3"])
        ]
    );
}

#[test]
fn an_empty_next_hop_list_deletes_and_deleting_twice_is_fine() {
    let namespace = namespace!();
    apply_in(
        &namespace,
        vec![
            route("10.0.0.0/24", &["192.0.2.2", "192.0.2.3"]),
            route("2001:db8:1::/48", &["2001:db8::2", "2001:db8::3"]),
            route("10.1.0.0/24", &["192.0.2.2"]),
            removal("10.0.0.0/24"),
            removal("2001:db8:1::/48"),
            removal("10.0.0.0/24"),
            removal("10.9.0.0/24"),
        ],
    );
    assert_eq!(
        namespace.our_summaries(),
        [summary("10.1.0.0/24", &["192.0.2.2"])]
    );
}

#[test]
fn installed_and_remove_all_touch_only_our_protocol_in_our_table() {
    let namespace = namespace!();
    namespace.ip("route add 198.51.100.0/24 via 192.0.2.9 proto static");
    namespace.ip("-6 route add 2001:db8:77::/48 via 2001:db8::9 proto static");
    namespace.ip("route add 198.51.101.0/24 via 192.0.2.9 proto 186");
    // Our protocol, but another table: not ours to list or remove.
    namespace.ip("route add 203.0.113.0/24 via 192.0.2.9 proto 244 table 100");
    let removed = namespace.run(|| async {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        apply_each(
            &mut fib,
            &[
                route("10.0.0.0/24", &["192.0.2.2"]),
                route("2001:db8:1::/48", &["2001:db8::2", "2001:db8::3"]),
            ],
        )
        .await;
        let installed = fib.installed().await.unwrap();
        assert_eq!(
            installed,
            [
                route("10.0.0.0/24", &["192.0.2.2"]),
                route("2001:db8:1::/48", &["2001:db8::2", "2001:db8::3"])
            ]
        );
        let removed = fib.remove_all().await.unwrap();
        assert!(fib.installed().await.unwrap().is_empty());
        removed
    });
    assert_eq!(removed, 2);
    let ours: Vec<_> = namespace
        .our_routes()
        .iter()
        .map(|route| (route.summary(), route.table.clone()))
        .collect();
    assert_eq!(
        ours,
        [(
            summary("203.0.113.0/24", &["192.0.2.9"]),
            Some("100".to_owned())
        )]
    );
    assert_eq!(
        namespace.summaries("static"),
        [
            summary("198.51.100.0/24", &["192.0.2.9"]),
            summary("2001:db8:77::/48", &["2001:db8::9"])
        ]
    );
    assert_eq!(namespace.routes("186").len(), 1);
}

#[test]
fn a_route_of_another_protocol_at_our_metric_is_not_overwritten() {
    let namespace = namespace!();
    namespace.ip("route add 10.7.0.0/24 via 192.0.2.9 proto static metric 20");
    namespace.ip("route add 10.8.0.0/24 via 192.0.2.9 proto static");
    namespace.run(|| async {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        let error = fib
            .apply(&route("10.7.0.0/24", &["192.0.2.2"]))
            .await
            .unwrap_err();
        assert!(
            matches!(error, FibError::ForeignRoute { table: 254, .. }),
            "{error:?}"
        );
        // At another metric the two live side by side.
        apply_each(
            &mut fib,
            &[
                route("10.8.0.0/24", &["192.0.2.2"]),
                removal("10.7.0.0/24"),
                removal("10.8.0.0/24"),
            ],
        )
        .await;
    });
    assert_eq!(
        namespace.summaries("static"),
        [
            summary("10.7.0.0/24", &["192.0.2.9"]),
            summary("10.8.0.0/24", &["192.0.2.9"])
        ]
    );
    assert!(namespace.our_routes().is_empty());
}

#[test]
fn routes_go_in_a_table_other_than_main() {
    let namespace = namespace!();
    for table in [100_u32, 1000] {
        namespace.run(move || async move {
            let mut fib = Fib::open(in_table(table)).await.unwrap();
            apply_each(
                &mut fib,
                &[
                    route("10.0.0.0/24", &["192.0.2.2"]),
                    route("2001:db8:1::/48", &["2001:db8::2", "2001:db8::3"]),
                ],
            )
            .await;
            assert_eq!(fib.installed().await.unwrap().len(), 2);
            let main = Fib::open(FibConfig::default()).await.unwrap();
            assert!(main.installed().await.unwrap().is_empty());
        });
        let tables: Vec<_> = namespace
            .our_routes()
            .iter()
            .map(|route| route.table.clone())
            .collect();
        assert_eq!(tables, [Some(table.to_string()), Some(table.to_string())]);
        assert!(namespace
            .ip("route show table main proto 244")
            .trim()
            .is_empty());
        let removed = namespace.run(move || async move {
            Fib::open(in_table(table))
                .await
                .unwrap()
                .remove_all()
                .await
                .unwrap()
        });
        assert_eq!(removed, 2);
    }
    assert!(namespace.our_routes().is_empty());
}

#[test]
fn a_table_that_does_not_exist_yet_has_nothing_installed() {
    let namespace = namespace!();
    namespace.run(|| async {
        let mut fib = Fib::open(in_table(4242)).await.unwrap();
        assert!(fib.installed().await.unwrap().is_empty());
        assert_eq!(fib.remove_all().await.unwrap(), 0);
    });
}

#[test]
fn an_unreachable_gateway_is_reported_as_such() {
    let namespace = namespace!();
    namespace.run(|| async {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        assert_unreachable(&mut fib, route("10.0.0.0/24", &["203.0.113.5"])).await;
        assert_unreachable(&mut fib, route("2001:db8:1::/48", &["2001:db8:99::1"])).await;
        assert_unreachable(
            &mut fib,
            route("10.1.0.0/24", &["192.0.2.2", "203.0.113.5"]),
        )
        .await;

        let summary = fib
            .apply_all(&[
                route("10.2.0.0/24", &["192.0.2.2"]),
                route("10.3.0.0/24", &["203.0.113.5"]),
                route("2001:db8:2::/48", &["2001:db8::2"]),
                removal("10.4.0.0/24"),
            ])
            .await
            .unwrap();
        assert_eq!(
            (summary.installed, summary.removed, summary.failed),
            (2, 1, 1)
        );
        assert_eq!(summary.errors[0].0.to_string(), "10.3.0.0/24");
        assert!(matches!(
            summary.errors[0].1,
            FibError::NextHopUnreachable { .. }
        ));
    });
    assert_eq!(
        namespace.our_summaries(),
        [
            summary("10.2.0.0/24", &["192.0.2.2"]),
            summary("2001:db8:2::/48", &["2001:db8::2"])
        ]
    );
}

#[test]
fn a_listing_given_up_half_way_does_not_hold_up_the_next() {
    use futures_util::FutureExt;
    let namespace = namespace!();
    // Enough routes for a dump of several datagrams.
    let routes: Vec<FibRoute> = (0..3000)
        .map(|index| {
            route(
                &format!("10.{}.{}.0/24", 100 + index / 250, index % 250),
                &["192.0.2.2"],
            )
        })
        .collect();
    namespace.run(move || async move {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        let summary = fib.apply_all(&routes).await.unwrap();
        assert_eq!(summary.installed, 3000);
        for _ in 0..3 {
            // Polled once and dropped: the dump was asked for, and the
            // kernel keeps it going on the socket until it is read out
            // (another request meanwhile would get EBUSY).
            let _ = fib.installed().now_or_never();
            assert_eq!(fib.installed().await.unwrap().len(), 3000);
        }
    });
}

#[test]
fn a_large_batch_ends_as_if_applied_one_route_at_a_time() {
    let namespace = namespace!();
    // 1,000 routes, then the same prefix added, removed and added again with
    // another gateway, a refused route in the middle of the pipeline, and one
    // of the thousand removed: every request of a run is in flight before the
    // first answer, and runs are cut where a prefix comes again.
    let mut routes: Vec<FibRoute> = (0..1000)
        .map(|index| {
            route(
                &format!("10.{}.{}.0/24", 100 + index / 250, index % 250),
                &["192.0.2.2"],
            )
        })
        .collect();
    routes.insert(500, route("10.9.0.0/24", &["203.0.113.5"]));
    routes.extend([
        route("10.8.0.0/24", &["192.0.2.2"]),
        removal("10.8.0.0/24"),
        route("10.8.0.0/24", &["192.0.2.3"]),
        removal("10.100.7.0/24"),
    ]);
    namespace.run(move || async move {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        let summary = fib.apply_all(&routes).await.unwrap();
        assert_eq!(
            (summary.installed, summary.removed, summary.failed),
            (1002, 2, 1)
        );
        assert_eq!(summary.errors[0].0.to_string(), "10.9.0.0/24");
        let installed = fib.installed().await.unwrap();
        let twice = installed
            .iter()
            .find(|route| route.prefix.to_string() == "10.8.0.0/24")
            .expect("the prefix added last");
        assert_eq!(twice.next_hops, ["192.0.2.3".parse::<IpAddr>().unwrap()]);
        // Every route it holds replaced with another gateway, in one batch.
        let again: Vec<FibRoute> = installed
            .into_iter()
            .map(|mut route| {
                route.next_hops = vec!["192.0.2.4".parse().unwrap()];
                route
            })
            .collect();
        assert_eq!(again.len(), 1000);
        let summary = fib.apply_all(&again).await.unwrap();
        assert_eq!((summary.installed, summary.failed), (1000, 0));
    });
    let summaries = namespace.our_summaries();
    assert_eq!(summaries.len(), 1000);
    assert!(summaries.contains(&summary("10.8.0.0/24", &["192.0.2.4"])));
    assert!(!summaries
        .iter()
        .any(|(prefix, _)| prefix == "10.100.7.0/24"));
    assert!(summaries
        .iter()
        .all(|(_, gateways)| gateways == &["192.0.2.4".to_owned()]));
}

#[test]
fn a_second_fib_resyncs_with_what_the_first_left() {
    let namespace = namespace!();
    namespace.run(|| async {
        let mut first = Fib::open(FibConfig::default()).await.unwrap();
        let summary = first
            .apply_all(&[
                route("10.1.0.0/24", &["192.0.2.2"]),
                route("10.2.0.0/24", &["192.0.2.2", "192.0.2.3"]),
                route("10.3.0.0/24", &["192.0.2.2"]),
                route("2001:db8:1::/48", &["2001:db8::2"]),
            ])
            .await
            .unwrap();
        assert_eq!(summary.installed, 4);
    });
    // "Restart": a new Fib on a new runtime and socket; graceful restart kept the routes.
    namespace.run(|| async {
        let mut second = Fib::open(FibConfig::default()).await.unwrap();
        let installed = second.installed().await.unwrap();
        assert_eq!(
            installed,
            [
                route("10.1.0.0/24", &["192.0.2.2"]),
                route("10.2.0.0/24", &["192.0.2.2", "192.0.2.3"]),
                route("10.3.0.0/24", &["192.0.2.2"]),
                route("2001:db8:1::/48", &["2001:db8::2"]),
            ]
        );
        let desired = [
            route("10.1.0.0/24", &["192.0.2.2"]),
            route("10.2.0.0/24", &["192.0.2.3"]),
            route("10.4.0.0/24", &["192.0.2.4"]),
            route("2001:db8:1::/48", &["2001:db8::2", "2001:db8::3"]),
        ];
        let changes = diff(&installed, &desired);
        assert_eq!(changes.len(), 4, "{changes:?}");
        let summary = second.apply_all(&changes).await.unwrap();
        assert_eq!(
            (summary.installed, summary.removed, summary.failed),
            (3, 1, 0)
        );
        assert!(diff(&second.installed().await.unwrap(), &desired).is_empty());
    });
    assert_eq!(
        namespace.our_summaries(),
        [
            summary("10.1.0.0/24", &["192.0.2.2"]),
            summary("10.2.0.0/24", &["192.0.2.3"]),
            summary("10.4.0.0/24", &["192.0.2.4"]),
            summary("2001:db8:1::/48", &["2001:db8::2", "2001:db8::3"]),
        ]
    );
}

#[test]
fn a_route_left_by_a_previous_run_is_replaced_without_reading_installed_first() {
    let namespace = namespace!();
    namespace.run(|| async {
        Fib::open(FibConfig::default())
            .await
            .unwrap()
            .apply(&route("10.1.0.0/24", &["192.0.2.2"]))
            .await
            .unwrap();
        let mut second = Fib::open(FibConfig::default()).await.unwrap();
        second
            .apply(&route("10.1.0.0/24", &["192.0.2.3"]))
            .await
            .unwrap();
    });
    assert_eq!(
        namespace.our_summaries(),
        [summary("10.1.0.0/24", &["192.0.2.3"])]
    );
}

#[test]
fn a_metric_left_to_the_kernel_works_for_both_families() {
    let namespace = namespace!();
    let config = FibConfig {
        metric: None,
        ..FibConfig::default()
    };
    namespace.run(move || async move {
        let mut fib = Fib::open(config).await.unwrap();
        apply_each(
            &mut fib,
            &[
                route("10.0.0.0/24", &["192.0.2.2"]),
                route("2001:db8:1::/48", &["2001:db8::2"]),
                route("10.0.0.0/24", &["192.0.2.3"]),
            ],
        )
        .await;
        assert_eq!(fib.installed().await.unwrap().len(), 2);
        assert_eq!(fib.remove_all().await.unwrap(), 2);
    });
    assert!(namespace.our_routes().is_empty());
}

#[test]
fn open_refuses_a_protocol_or_table_that_is_not_a_daemons() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for config in [
            FibConfig {
                protocol: 4,
                ..FibConfig::default()
            },
            FibConfig {
                protocol: 0,
                ..FibConfig::default()
            },
            in_table(0),
        ] {
            let error = Fib::open(config).await.unwrap_err();
            assert!(matches!(error, FibError::InvalidConfig { .. }), "{error:?}");
        }
    });
}

#[test]
fn blackhole_and_unreachable_routes_are_installed_listed_back_and_removed() {
    let namespace = namespace!();
    let routes = vec![
        blackhole("10.65.0.0/26"),
        unreachable("10.65.0.64/26"),
        blackhole("2001:db8:65::/122"),
        unreachable("2001:db8:65::40/122"),
    ];
    let wanted = routes.clone();
    namespace.run(move || async move {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        apply_each(&mut fib, &routes).await;
        let installed = fib.installed().await.unwrap();
        assert_eq!(installed, wanted);
        assert_eq!(
            installed.iter().map(|route| route.kind).collect::<Vec<_>>(),
            [
                RouteKind::Blackhole,
                RouteKind::Unreachable,
                RouteKind::Blackhole,
                RouteKind::Unreachable
            ]
        );
        assert!(diff(&installed, &wanted).is_empty());
    });
    assert_eq!(
        our_kinds(&namespace),
        [
            kind("blackhole", "10.65.0.0/26"),
            kind("unreachable", "10.65.0.64/26"),
            kind("blackhole", "2001:db8:65::/122"),
            kind("unreachable", "2001:db8:65::40/122"),
        ]
    );
    let routes = namespace.our_routes();
    assert!(
        routes
            .iter()
            .all(|route| route.gateways.is_empty() && route.metric == Some(20)),
        "{routes:?}"
    );

    // Removed by prefix like any route of ours, one at a time or all at once.
    let removed = namespace.run(|| async {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        apply_each(
            &mut fib,
            &[removal("10.65.0.0/26"), removal("2001:db8:65::/122")],
        )
        .await;
        fib.remove_all().await.unwrap()
    });
    assert_eq!(removed, 2);
    assert!(namespace.our_routes().is_empty());
}

#[test]
fn a_blackhole_is_replaced_by_a_unicast_route_and_back() {
    let namespace = namespace!();
    namespace.run(|| async {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        apply_each(
            &mut fib,
            &[
                blackhole("10.65.0.0/26"),
                blackhole("2001:db8:65::/122"),
                route("10.65.0.0/26", &["192.0.2.2"]),
                // IPv6 ECMP siblings all go when a blackhole replaces them below.
                route("2001:db8:65::/122", &["2001:db8::2", "2001:db8::3"]),
            ],
        )
        .await;
        assert_eq!(
            fib.installed().await.unwrap(),
            [
                route("10.65.0.0/26", &["192.0.2.2"]),
                route("2001:db8:65::/122", &["2001:db8::2", "2001:db8::3"])
            ]
        );
    });
    assert_eq!(
        our_kinds(&namespace),
        [
            kind("unicast", "10.65.0.0/26"),
            kind("unicast", "2001:db8:65::/122")
        ]
    );
    assert_eq!(
        namespace.our_summaries(),
        [
            summary("10.65.0.0/26", &["192.0.2.2"]),
            summary("2001:db8:65::/122", &["2001:db8::2", "2001:db8::3"])
        ]
    );

    // A new Fib, as after a restart: the prefix is not known as ours yet, so
    // the kind change goes through NLM_F_EXCL, the look at our routes, and a replace.
    namespace.run(|| async {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        apply_each(
            &mut fib,
            &[unreachable("10.65.0.0/26"), blackhole("2001:db8:65::/122")],
        )
        .await;
        let installed = fib.installed().await.unwrap();
        let desired = [unreachable("10.65.0.0/26"), blackhole("2001:db8:65::/122")];
        assert_eq!(installed, desired);
        // And diff asks for the kind change back to unicast.
        let back = [
            route("10.65.0.0/26", &["192.0.2.3"]),
            route("2001:db8:65::/122", &["2001:db8::3"]),
        ];
        assert_eq!(diff(&installed, &back), back.to_vec());
    });
    assert_eq!(
        our_kinds(&namespace),
        [
            kind("unreachable", "10.65.0.0/26"),
            kind("blackhole", "2001:db8:65::/122")
        ]
    );
    assert!(namespace
        .our_routes()
        .iter()
        .all(|route| route.gateways.is_empty()));

    apply_in(
        &namespace,
        vec![
            route("10.65.0.0/26", &["192.0.2.3"]),
            route("2001:db8:65::/122", &["2001:db8::3"]),
        ],
    );
    assert_eq!(
        our_kinds(&namespace),
        [
            kind("unicast", "10.65.0.0/26"),
            kind("unicast", "2001:db8:65::/122")
        ]
    );
    assert_eq!(
        namespace.our_summaries(),
        [
            summary("10.65.0.0/26", &["192.0.2.3"]),
            summary("2001:db8:65::/122", &["2001:db8::3"])
        ]
    );
}

#[test]
fn a_blackhole_never_overwrites_a_route_of_another_protocol() {
    let namespace = namespace!();
    namespace.ip("route add 10.65.0.0/26 via 192.0.2.9 proto static metric 20");
    namespace.ip("-6 route add 2001:db8:65::/122 via 2001:db8::9 proto static metric 20");
    namespace.run(|| async {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        for route in [
            blackhole("10.65.0.0/26"),
            unreachable("10.65.0.0/26"),
            blackhole("2001:db8:65::/122"),
        ] {
            let error = fib.apply(&route).await.unwrap_err();
            assert!(
                matches!(error, FibError::ForeignRoute { table: 254, .. }),
                "{route:?}: {error:?}"
            );
        }
    });
    assert_eq!(
        namespace.summaries("static"),
        [
            summary("10.65.0.0/26", &["192.0.2.9"]),
            summary("2001:db8:65::/122", &["2001:db8::9"])
        ]
    );
    assert!(namespace.our_routes().is_empty());
}

#[test]
fn a_route_through_a_tunnel_device_is_onlink_and_listed_back_unchanged() {
    let namespace = namespace!();
    let device = namespace.add_tunnel_device();
    // On-link, a gateway need not be on a connected network: 198.51.100.0/24
    // is on none here, as another node's address is on none of tunl0's.
    let mut wanted = vec![
        route("10.0.0.0/24", &["192.0.2.2"]),
        through("10.65.1.0/26", &["198.51.100.12"], &device.name),
        through(
            "10.65.2.0/26",
            &["198.51.100.12", "198.51.100.13"],
            &device.name,
        ),
    ];
    if device.carries_ipv6() {
        wanted.push(through(
            "2001:db8:65::/122",
            &["2001:db8:99::12"],
            &device.name,
        ));
        wanted.push(through(
            "2001:db8:65::40/122",
            &["2001:db8:99::12", "2001:db8:99::13"],
            &device.name,
        ));
    }
    let routes = wanted.clone();
    namespace.run(move || async move {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        // From a plain route to one through the device: a replace.
        apply_each(&mut fib, &[route("10.65.1.0/26", &["192.0.2.12"])]).await;
        let summary = fib.apply_all(&routes).await.unwrap();
        assert_eq!((summary.installed, summary.failed), (routes.len(), 0));
        let installed = fib.installed().await.unwrap();
        assert_eq!(installed, routes);
        assert!(diff(&installed, &routes).is_empty());
    });

    let ours = namespace.our_routes();
    let plain = &ours[0];
    assert_eq!(plain.summary(), summary("10.0.0.0/24", &["192.0.2.2"]));
    assert_eq!(
        (plain.devices.clone(), plain.onlink),
        (vec!["d0".to_owned()], false)
    );
    let tunnelled: Vec<_> = ours[1..]
        .iter()
        .map(|route| (route.summary(), route.devices.clone(), route.onlink))
        .collect();
    let on = |count: usize| vec![device.name.clone(); count];
    let mut expected = vec![
        (summary("10.65.1.0/26", &["198.51.100.12"]), on(1), true),
        (
            summary("10.65.2.0/26", &["198.51.100.12", "198.51.100.13"]),
            on(2),
            true,
        ),
    ];
    if device.carries_ipv6() {
        expected.push((
            summary("2001:db8:65::/122", &["2001:db8:99::12"]),
            on(1),
            true,
        ));
        expected.push((
            summary(
                "2001:db8:65::40/122",
                &["2001:db8:99::12", "2001:db8:99::13"],
            ),
            on(2),
            true,
        ));
    }
    assert_eq!(tunnelled, expected);

    // A second Fib ("restart") reads the same routes back and has nothing to
    // do; then the routes go, by prefix, and back to a plain route for one.
    let name = device.name.clone();
    namespace.run(move || async move {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        let installed = fib.installed().await.unwrap();
        assert!(diff(&installed, &wanted).is_empty(), "{installed:?}");
        let plain_again = [route("10.65.1.0/26", &["192.0.2.12"])];
        let mut removals: Vec<FibRoute> = wanted[2..]
            .iter()
            .map(|route| FibRoute::removal(route.prefix))
            .collect();
        removals.extend(plain_again.iter().cloned());
        fib.apply_all(&removals).await.unwrap();
        let installed = fib.installed().await.unwrap();
        assert_eq!(
            installed,
            [
                route("10.0.0.0/24", &["192.0.2.2"]),
                route("10.65.1.0/26", &["192.0.2.12"])
            ]
        );
        assert!(
            installed.iter().all(|route| route.device.is_none()),
            "{name}"
        );
        assert_eq!(fib.remove_all().await.unwrap(), 2);
    });
    assert!(namespace.our_routes().is_empty());
}

#[test]
fn a_device_route_is_resolved_in_the_fibs_namespace_not_the_callers() {
    let namespace = namespace!();
    // A device only the test's namespace has; the caller below stays in the
    // host's namespace, where the name means nothing.
    namespace.ip("link add fibns-only type veth peer name fibns-peer");
    namespace.ip("link set fibns-only up");
    namespace.ip("link set fibns-peer up");
    let path = namespace.path();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut fib = Fib::open_in_namespace(FibConfig::default(), &path)
            .await
            .unwrap();
        let wanted = [through("10.65.1.0/26", &["198.51.100.12"], "fibns-only")];
        apply_each(&mut fib, &wanted).await;
        assert_eq!(fib.installed().await.unwrap(), wanted);
    });
    let ours = namespace.our_routes();
    assert_eq!(ours.len(), 1);
    assert_eq!(
        (ours[0].devices.clone(), ours[0].onlink),
        (vec!["fibns-only".to_owned()], true)
    );
}

#[test]
fn a_missing_device_is_reported_with_its_name_and_prefix() {
    let namespace = namespace!();
    namespace.run(|| async {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        for device in ["tunl-missing", "a-name-longer-than-ifnamsiz"] {
            let error = fib
                .apply(&through("10.65.1.0/26", &["198.51.100.12"], device))
                .await
                .unwrap_err();
            match &error {
                FibError::DeviceNotFound {
                    device: named,
                    prefix,
                } => {
                    assert_eq!(named, device);
                    assert_eq!(prefix.to_string(), "10.65.1.0/26");
                }
                other => panic!("{other:?}"),
            }
            assert!(error.to_string().contains(device), "{error}");
        }
        // Not the end of a batch: the next route goes in.
        let summary = fib
            .apply_all(&[
                through("10.65.1.0/26", &["198.51.100.12"], "tunl-missing"),
                blackhole("10.65.0.0/26"),
            ])
            .await
            .unwrap();
        assert_eq!((summary.installed, summary.failed), (1, 1));
        assert!(matches!(
            summary.errors[0].1,
            FibError::DeviceNotFound { .. }
        ));
    });
    assert_eq!(our_kinds(&namespace), [kind("blackhole", "10.65.0.0/26")]);
}

#[test]
fn a_device_that_is_down_is_reported_as_such() {
    let namespace = namespace!();
    let device = namespace.add_tunnel_device();
    namespace.ip(&format!("link set {} down", device.name));
    let name = device.name.clone();
    namespace.run(move || async move {
        let mut fib = Fib::open(FibConfig::default()).await.unwrap();
        let error = fib
            .apply(&through("10.65.1.0/26", &["198.51.100.12"], &name))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, FibError::DeviceDown { device, .. } if *device == name),
            "{error:?}"
        );
    });
    assert!(namespace.our_routes().is_empty());
}

#[test]
fn connected_networks_name_each_interface_with_its_networks() {
    let namespace = namespace!();
    let networks = namespace.run(|| async {
        let fib = Fib::open(FibConfig::default()).await.unwrap();
        fib.connected_networks().await.unwrap()
    });
    let text: Vec<(String, String)> = networks
        .iter()
        .map(|(name, network)| (name.clone(), network.to_string()))
        .collect();
    for expected in [
        ("d0", "192.0.2.1/24"),
        ("d0", "2001:db8::1/64"),
        ("lo", "127.0.0.1/8"),
    ] {
        assert!(
            text.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} not in {text:?}"
        );
    }
    // d1 has only the link-local address the kernel gave it.
    assert!(
        text.iter()
            .filter(|(name, _)| name == "d1")
            .all(|(_, network)| network.starts_with("fe80:")),
        "{text:?}"
    );
}
