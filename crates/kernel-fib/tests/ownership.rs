//! `Ownership::Caller` against a real kernel, each test in a network
//! namespace of its own (see `support`): the caller's record of what it
//! installed decides what is replaced in place, and the `Fib` keeps only the
//! exceptions that record cannot know of.

#[macro_use]
mod support;

use std::net::IpAddr;

use ipnet::IpNet;
use kernel_fib::{Fib, FibConfig, FibError, FibRoute, Ownership};
use support::summary;

fn route(prefix: &str, next_hop: &str) -> FibRoute {
    FibRoute::new(
        prefix.parse().unwrap(),
        [next_hop.parse::<IpAddr>().unwrap()],
    )
}

fn caller_keeps_ownership() -> FibConfig {
    FibConfig {
        ownership: Ownership::Caller,
        ..FibConfig::default()
    }
}

#[test]
fn the_callers_record_makes_a_replace_and_its_absence_an_add() {
    let namespace = namespace!();
    namespace.ip("route add 10.7.0.0/24 via 192.0.2.9 proto static metric 20");
    namespace.run(|| async {
        let mut fib = Fib::open(caller_keeps_ownership()).await.unwrap();
        let installed: Vec<IpNet> = vec!["10.1.0.0/24".parse().unwrap()];
        let holds_ours = |prefix: &IpNet| installed.contains(prefix);
        // Not the caller's yet: added.
        let summary = fib
            .apply_all_known(&[route("10.1.0.0/24", "192.0.2.2")], &holds_ours)
            .await
            .unwrap();
        assert_eq!((summary.installed, summary.failed), (1, 0));
        // The caller's now: replaced in place.
        fib.apply_all_known(&[route("10.1.0.0/24", "192.0.2.3")], &holds_ours)
            .await
            .unwrap();
        // Not the caller's, and someone else's at our metric: refused, not overwritten.
        let summary = fib
            .apply_all_known(&[route("10.7.0.0/24", "192.0.2.2")], &holds_ours)
            .await
            .unwrap();
        assert!(
            matches!(summary.errors[..], [(_, FibError::ForeignRoute { .. })]),
            "{summary:?}"
        );
    });
    assert_eq!(
        namespace.our_summaries(),
        [summary("10.1.0.0/24", &["192.0.2.3"])]
    );
    assert_eq!(
        namespace.summaries("static"),
        [summary("10.7.0.0/24", &["192.0.2.9"])]
    );
}

#[test]
fn a_route_left_by_a_previous_run_the_caller_does_not_know_is_taken_over() {
    let namespace = namespace!();
    namespace.ip("route add 10.1.0.0/24 via 192.0.2.9 proto 244 metric 20");
    namespace.run(|| async {
        let mut fib = Fib::open(caller_keeps_ownership()).await.unwrap();
        let summary = fib
            .apply_all_known(&[route("10.1.0.0/24", "192.0.2.2")], &|_| false)
            .await
            .unwrap();
        assert_eq!((summary.installed, summary.failed), (1, 0));
    });
    assert_eq!(
        namespace.our_summaries(),
        [summary("10.1.0.0/24", &["192.0.2.2"])]
    );
}

#[test]
fn ours_listed_at_another_metric_never_makes_someone_elses_route_at_ours_replaceable() {
    let namespace = namespace!();
    // A route of ours left at metric 100 (an older configuration), and the
    // administrator's at ours.
    namespace.ip("route add 10.7.0.0/24 via 192.0.2.8 proto 244 metric 100");
    namespace.ip("route add 10.7.0.0/24 via 192.0.2.9 proto static metric 20");
    // Ours at both metrics: replaceable at ours, in either listing order.
    namespace.ip("route add 10.8.0.0/24 via 192.0.2.8 proto 244 metric 100");
    namespace.ip("route add 10.8.0.0/24 via 192.0.2.7 proto 244 metric 20");
    namespace.run(|| async {
        let mut fib = Fib::open(caller_keeps_ownership()).await.unwrap();
        // The caller records every route listed, at whatever metric, as installed.
        let mut listed = Vec::new();
        fib.for_each_installed(|route| listed.push(route.prefix))
            .await
            .unwrap();
        let holds_ours = |prefix: &IpNet| listed.contains(prefix);
        let summary = fib
            .apply_all_known(
                &[
                    route("10.7.0.0/24", "192.0.2.2"),
                    route("10.8.0.0/24", "192.0.2.2"),
                ],
                &holds_ours,
            )
            .await
            .unwrap();
        assert_eq!(summary.installed, 1, "{summary:?}");
        assert!(
            matches!(
                summary.errors[..],
                [(prefix, FibError::ForeignRoute { .. })] if prefix == "10.7.0.0/24".parse::<IpNet>().unwrap()
            ),
            "{summary:?}"
        );
    });
    assert_eq!(
        namespace.summaries("static"),
        [summary("10.7.0.0/24", &["192.0.2.9"])]
    );
    let ours: Vec<_> = namespace
        .our_routes()
        .iter()
        .map(|route| (route.summary(), route.metric))
        .collect();
    assert!(
        ours.contains(&(summary("10.8.0.0/24", &["192.0.2.2"]), Some(20))),
        "{ours:?}"
    );
    assert!(
        ours.contains(&(summary("10.7.0.0/24", &["192.0.2.8"]), Some(100))),
        "{ours:?}"
    );
}
