use super::*;

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn pool(cidr: &str) -> Pool {
    Pool {
        cidr: net(cidr),
        ipip: Encapsulation::Never,
        vxlan: Encapsulation::Never,
        disabled: false,
        disable_bgp_export: false,
    }
}

fn confirmed(cidr: &str) -> Affinity {
    Affinity {
        cidr: net(cidr),
        state: Some(AffinityState::Confirmed),
        deleted: false,
    }
}

fn strings(prefixes: &[IpNet]) -> Vec<String> {
    prefixes.iter().map(ToString::to_string).collect()
}

#[test]
fn confirmed_blocks_are_blackholed_and_originated_when_their_pool_is_exported() {
    let view = IpamView {
        pools: vec![
            pool("10.65.0.0/16"),
            Pool {
                disable_bgp_export: true,
                ..pool("10.66.0.0/16")
            },
            Pool {
                disabled: true,
                ..pool("10.67.0.0/16")
            },
        ],
        affinities: vec![
            confirmed("10.65.1.0/26"),
            Affinity {
                state: None,
                ..confirmed("10.65.2.0/26")
            },
            Affinity {
                state: Some(AffinityState::Pending),
                ..confirmed("10.65.3.0/26")
            },
            Affinity {
                state: Some(AffinityState::PendingDeletion),
                ..confirmed("10.65.4.0/26")
            },
            Affinity {
                deleted: true,
                ..confirmed("10.65.5.0/26")
            },
            confirmed("10.66.1.0/26"),
            confirmed("10.67.1.0/26"),
            confirmed("10.68.1.0/26"),
            confirmed("10.65.9.9/32"),
        ],
        ..IpamView::default()
    };
    let networks = pod_networks(&view);
    assert_eq!(
        strings(&networks.blackholes),
        [
            "10.65.1.0/26",
            "10.65.2.0/26",
            "10.65.4.0/26",
            "10.66.1.0/26",
            "10.67.1.0/26",
            "10.68.1.0/26"
        ],
        "every confirmed or releasing block but the /32 one"
    );
    assert_eq!(
        strings(&networks.originated),
        ["10.65.1.0/26", "10.65.2.0/26", "10.65.9.9/32"],
        "in an exported pool only"
    );
}

#[test]
fn borrowed_addresses_are_originated_alone_unless_a_block_of_ours_holds_them() {
    let view = IpamView {
        pools: vec![
            pool("10.65.0.0/16"),
            Pool {
                disable_bgp_export: true,
                ..pool("10.66.0.0/16")
            },
        ],
        affinities: vec![confirmed("10.65.1.0/26")],
        borrowed: vec![
            ip("10.65.7.3"),
            ip("10.65.1.5"),
            ip("10.66.0.9"),
            ip("192.0.2.1"),
        ],
        ..IpamView::default()
    };
    assert_eq!(
        strings(&pod_networks(&view).originated),
        ["10.65.1.0/26", "10.65.7.3/32"]
    );
}

#[test]
fn the_export_policy_is_calico_nodes() {
    let view = IpamView {
        pools: vec![
            pool("10.65.0.0/16"),
            Pool {
                disable_bgp_export: true,
                ..pool("10.66.0.0/16")
            },
            pool("fd00:65::/48"),
        ],
        affinities: vec![confirmed("10.65.1.0/26")],
        ..IpamView::default()
    };
    let policy = pod_networks(&view).export_policy;
    let learned = |prefix: &str| policy.allows(net(prefix), false);
    let local = |prefix: &str| policy.allows(net(prefix), true);
    assert!(local("10.65.1.0/26"), "our block");
    assert!(!local("10.65.1.4/32"), "not each pod address under it");
    assert!(learned("10.65.2.0/26"), "another node's block, reflected");
    assert!(learned("10.65.7.3/32"), "another node's borrowed address");
    assert!(!learned("10.66.1.0/26"), "a pool kept from BGP");
    assert!(!local("10.66.1.0/26"));
    assert!(local("10.96.0.0/12"), "our service addresses");
    assert!(
        !learned("0.0.0.0/0"),
        "the fabric's default route is not sent on"
    );
    assert!(learned("fd00:65::/122"));
    assert!(!learned("2001:db8::/32"));
}

#[test]
fn without_pools_nothing_is_filtered() {
    let view = IpamView {
        affinities: vec![confirmed("10.65.1.0/26")],
        ..IpamView::default()
    };
    let networks = pod_networks(&view);
    assert_eq!(networks.export_policy, ExportPolicy::default());
    assert!(networks.originated.is_empty(), "a block in no pool");
    assert_eq!(strings(&networks.blackholes), ["10.65.1.0/26"]);
}

#[test]
fn kernel_routes_follow_the_pool_encapsulation() {
    let view = IpamView {
        pools: vec![
            Pool {
                ipip: Encapsulation::Always,
                ..pool("10.65.0.0/16")
            },
            Pool {
                ipip: Encapsulation::CrossSubnet,
                ..pool("10.66.0.0/16")
            },
            Pool {
                vxlan: Encapsulation::Always,
                ..pool("10.67.0.0/16")
            },
            pool("10.68.0.0/16"),
        ],
        affinities: vec![confirmed("10.65.1.0/26")],
        local_subnets: vec![net("192.0.2.0/24")],
        ..IpamView::default()
    };
    let kernel = pod_networks(&view).kernel;
    let same_subnet = [ip("192.0.2.12")];
    let other_subnet = [ip("198.51.100.12")];
    let route = |prefix: &str, hops: &[IpAddr]| kernel.route(net(prefix), hops);
    assert_eq!(
        route("10.65.2.0/26", &same_subnet),
        KernelRoute::Through("tunl0")
    );
    assert_eq!(route("10.66.2.0/26", &same_subnet), KernelRoute::Direct);
    assert_eq!(
        route("10.66.2.0/26", &other_subnet),
        KernelRoute::Through("tunl0")
    );
    assert_eq!(
        route("10.67.2.0/26", &same_subnet),
        KernelRoute::Skipped,
        "VXLAN: Felix's"
    );
    assert_eq!(route("10.68.2.0/26", &other_subnet), KernelRoute::Direct);
    assert_eq!(route("0.0.0.0/0", &other_subnet), KernelRoute::Direct);
    assert_eq!(
        route("10.65.1.0/26", &same_subnet),
        KernelRoute::Skipped,
        "our own block"
    );
    assert_eq!(
        route("10.65.1.7/32", &same_subnet),
        KernelRoute::Through("tunl0"),
        "an address another node borrowed from our block"
    );
    let felix = pod_networks(&IpamView {
        ipip_routes: IpipRoutes::LeftToFelix,
        ..view
    })
    .kernel;
    assert_eq!(
        felix.route(net("10.65.2.0/26"), &other_subnet),
        KernelRoute::Skipped
    );
    assert_eq!(
        felix.route(net("10.68.2.0/26"), &other_subnet),
        KernelRoute::Direct
    );
}

#[test]
fn cross_subnet_without_a_known_subnet_installs_as_learned() {
    let view = IpamView {
        pools: vec![Pool {
            ipip: Encapsulation::CrossSubnet,
            ..pool("10.66.0.0/16")
        }],
        ..IpamView::default()
    };
    let kernel = pod_networks(&view).kernel;
    assert_eq!(
        kernel.route(net("10.66.2.0/26"), &[ip("198.51.100.12")]),
        KernelRoute::Direct
    );
}
