//! Real-daemon tests of the lab harness itself (no nodebgp involved).
//!
//! They need the Debian packages `frr`, `gobgpd` and `bird2` and root (FRR
//! `-S`, TCP-MD5 keys); a missing daemon fails the test with the package name
//! instead of skipping it. Every test takes its own loopback addresses.

use lab::{
    free_loopback_address, free_port, Kind, LabError, NeighborSpec, PeerState, Router, RouterSpec,
};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};

const UP: Duration = Duration::from_secs(20);

fn addr() -> Ipv4Addr {
    free_loopback_address().expect("free loopback address")
}

fn ip(a: Ipv4Addr) -> IpAddr {
    IpAddr::V4(a)
}

fn pid_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn proc_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    rest.trim_start().chars().next().unwrap()
}

/// Samples `router`'s state towards `peer` for `window` and fails if it is
/// ever Established; returns the states seen.
fn never_established(router: &Router, peer: IpAddr, window: Duration) -> Vec<PeerState> {
    let end = Instant::now() + window;
    let mut seen = Vec::new();
    while Instant::now() < end {
        let s = router.neighbor_state(peer).expect("state");
        assert_ne!(
            s,
            PeerState::Established,
            "{} reached Established with {peer} despite the password mismatch",
            router.name()
        );
        if !seen.contains(&s) {
            seen.push(s);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    seen
}

/// FRR (4-octet AS) and GoBGP (2-octet AS) peer over eBGP; FRR's prefix
/// reaches GoBGP because FRR rewrites the next hop out of 127/8, and GoBGP's
/// prefix reaches FRR.
#[test]
fn frr_and_gobgp_exchange_routes_over_ebgp_with_4_octet_asn() {
    lab::require(Kind::Frr);
    lab::require(Kind::Gobgp);
    let (a, b) = (addr(), addr());
    let mut frr = Router::start(
        RouterSpec::new(Kind::Frr, "frr-gobgp-r", a, 4_200_000_001)
            .neighbor(NeighborSpec::new(b, 65003))
            .route("10.2.0.0/24")
            .next_hop("198.51.100.2".parse().unwrap()),
    )
    .unwrap();
    let gobgp = Router::start(
        RouterSpec::new(Kind::Gobgp, "frr-gobgp-g", b, 65003)
            .neighbor(NeighborSpec::new(a, 4_200_000_001))
            .route("10.3.0.0/24"),
    )
    .unwrap();

    frr.wait_for_state(ip(b), PeerState::Established, UP)
        .unwrap();
    gobgp
        .wait_for_state(ip(a), PeerState::Established, UP)
        .unwrap();

    let got = gobgp
        .wait_for_prefixes(ip(a), &["10.2.0.0/24"], Duration::from_secs(10))
        .unwrap();
    assert_eq!(got, vec!["10.2.0.0/24"]);
    // The next hop GoBGP holds is the rewritten one, not FRR's 127.x address.
    let adj = gobgp
        .cli(&["neighbor", &a.to_string(), "adj-in", "-j"])
        .unwrap();
    assert!(adj.contains("198.51.100.2"), "{adj}");
    assert!(!adj.contains("\"nexthop\":\"127."), "{adj}");

    let got = frr
        .wait_for_prefixes(ip(b), &["10.3.0.0/24"], Duration::from_secs(10))
        .unwrap();
    assert!(got.contains(&"10.3.0.0/24".to_string()), "{got:?}");

    // A prefix originated at runtime follows.
    frr.add_routes(&["10.2.1.0/24"]).unwrap();
    let got = gobgp
        .wait_for_prefixes(
            ip(a),
            &["10.2.0.0/24", "10.2.1.0/24"],
            Duration::from_secs(10),
        )
        .unwrap();
    assert_eq!(got, vec!["10.2.0.0/24", "10.2.1.0/24"]);

    // Counters agree (GoBGP's own 10.3.0.0/24, reflected back by FRR with
    // 65003 in the path, is not counted).
    assert_eq!(gobgp.received_count(ip(a)).unwrap(), 2);
    assert_eq!(frr.received_count(ip(b)).unwrap(), 1);
    // 4-octet AS seen by both sides.
    let nbr = frr.cli(&[&format!("show bgp neighbors {b} json")]).unwrap();
    assert!(
        nbr.contains("\"remoteAs\":65003") || nbr.contains("\"remoteAs\": 65003"),
        "{nbr}"
    );
    let nbrs = gobgp.cli(&["neighbor", "-j"]).unwrap();
    assert!(nbrs.contains("\"peer_asn\":4200000001"), "{nbrs}");
    // Unknown peers are reported as such.
    assert_eq!(
        frr.neighbor_state("127.0.0.99".parse().unwrap()).unwrap(),
        PeerState::NotConfigured
    );
    assert_eq!(
        gobgp.neighbor_state("127.0.0.99".parse().unwrap()).unwrap(),
        PeerState::NotConfigured
    );
}

/// BIRD and FRR peer over eBGP (BIRD needs multihop on loopback) and learn
/// each other's prefix; a route added at runtime follows.
#[test]
fn bird_and_frr_reach_established_and_exchange_routes() {
    lab::require(Kind::Frr);
    lab::require(Kind::Bird);
    let (a, b) = (addr(), addr());
    let frr = Router::start(
        RouterSpec::new(Kind::Frr, "bird-frr-r", a, 65001)
            .neighbor(NeighborSpec::new(b, 4_200_000_004))
            .route("10.2.0.0/24"),
    )
    .unwrap();
    let mut bird = Router::start(
        RouterSpec::new(Kind::Bird, "bird-frr-b", b, 4_200_000_004)
            .neighbor(NeighborSpec::new(a, 65001))
            .route("10.4.0.0/24"),
    )
    .unwrap();

    bird.wait_for_state(ip(a), PeerState::Established, UP)
        .unwrap();
    frr.wait_for_state(ip(b), PeerState::Established, UP)
        .unwrap();
    assert_eq!(
        bird.wait_for_prefixes(ip(a), &["10.2.0.0/24"], Duration::from_secs(10))
            .unwrap(),
        vec!["10.2.0.0/24"]
    );
    assert_eq!(
        frr.wait_for_prefixes(ip(b), &["10.4.0.0/24"], Duration::from_secs(10))
            .unwrap(),
        vec!["10.4.0.0/24"]
    );

    bird.add_routes(&["10.4.1.0/24"]).unwrap();
    let got = frr
        .wait_for_prefixes(
            ip(b),
            &["10.4.0.0/24", "10.4.1.0/24"],
            Duration::from_secs(10),
        )
        .unwrap();
    assert_eq!(got, vec!["10.4.0.0/24", "10.4.1.0/24"]);
    assert_eq!(frr.received_count(ip(b)).unwrap(), 2);
    let (n, _) = bird
        .wait_for_received_count(ip(a), 1, Duration::from_secs(5))
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        bird.neighbor_state("127.0.0.99".parse().unwrap()).unwrap(),
        PeerState::NotConfigured
    );
}

/// TCP-MD5: FRR and GoBGP with the same password come up; FRR and BIRD with
/// different passwords stay down through several connect-retry cycles.
#[test]
fn md5_matching_passwords_come_up_and_mismatched_stay_down() {
    lab::require(Kind::Frr);
    lab::require(Kind::Gobgp);
    lab::require(Kind::Bird);
    let (r, g, b) = (addr(), addr(), addr());
    let frr = Router::start(
        RouterSpec::new(Kind::Frr, "md5-r", r, 65001)
            .neighbor(NeighborSpec::new(g, 65002).with_password("lab-secret"))
            .neighbor(NeighborSpec::new(b, 65003).with_password("lab-secret")),
    )
    .unwrap();
    let gobgp = Router::start(
        RouterSpec::new(Kind::Gobgp, "md5-g", g, 65002)
            .neighbor(NeighborSpec::new(r, 65001).with_password("lab-secret")),
    )
    .unwrap();
    let bird = Router::start(
        RouterSpec::new(Kind::Bird, "md5-b", b, 65003)
            .neighbor(NeighborSpec::new(r, 65001).with_password("not-the-secret")),
    )
    .unwrap();

    frr.wait_for_state(ip(g), PeerState::Established, UP)
        .unwrap();
    gobgp
        .wait_for_state(ip(r), PeerState::Established, UP)
        .unwrap();

    // 6 s = six connect-retry cycles of 1 s on both sides.
    let seen_frr = never_established(&frr, ip(b), Duration::from_secs(6));
    let seen_bird = never_established(&bird, ip(r), Duration::from_millis(500));
    assert!(!seen_frr.is_empty() && !seen_bird.is_empty());
    // The matching session is unaffected.
    assert_eq!(frr.neighbor_state(ip(g)).unwrap(), PeerState::Established);
}

/// kill() (SIGKILL, no NOTIFICATION) takes the peer out of Established;
/// restart() brings the session back with a new process.
#[test]
fn kill_makes_the_peer_leave_established_and_restart_recovers() {
    lab::require(Kind::Frr);
    lab::require(Kind::Gobgp);
    let (a, b) = (addr(), addr());
    let mut frr = Router::start(
        RouterSpec::new(Kind::Frr, "kill-r", a, 65001).neighbor(NeighborSpec::new(b, 65002)),
    )
    .unwrap();
    let mut gobgp = Router::start(
        RouterSpec::new(Kind::Gobgp, "kill-g", b, 65002).neighbor(NeighborSpec::new(a, 65001)),
    )
    .unwrap();
    frr.wait_for_state(ip(b), PeerState::Established, UP)
        .unwrap();

    let old_pid = gobgp.pid();
    gobgp.kill();
    assert!(!gobgp.is_running());
    assert!(!pid_exists(old_pid), "killed gobgpd {old_pid} still exists");
    assert_eq!(gobgp.neighbor_state(ip(a)).unwrap(), PeerState::NotRunning);
    let s = frr
        .wait_for_state_where(ip(b), "leave Established", Duration::from_secs(10), |s| {
            s != PeerState::Established
        })
        .unwrap();
    assert_ne!(s, PeerState::Established);
    let err = frr.last_error(ip(b)).unwrap();
    assert!(err.is_some(), "FRR should report why the session dropped");

    gobgp.restart().unwrap();
    assert_ne!(gobgp.pid(), old_pid);
    frr.wait_for_state(ip(b), PeerState::Established, UP)
        .unwrap();
    gobgp
        .wait_for_state(ip(a), PeerState::Established, UP)
        .unwrap();

    // The other way round: GoBGP notices FRR's death and says why.
    frr.kill();
    gobgp
        .wait_for_state_where(ip(a), "leave Established", Duration::from_secs(10), |s| {
            s != PeerState::Established
        })
        .unwrap();
    let err = gobgp
        .last_error(ip(a))
        .unwrap()
        .expect("GoBGP logs the Peer Down");
    assert!(err.starts_with("Peer Down"), "{err}");
}

/// pause() (SIGSTOP) freezes a daemon: its peer's hold timer expires, queries
/// to the paused daemon fail fast inside a wait; resume() brings it back.
#[test]
fn pause_lets_the_peer_hold_timer_expire() {
    lab::require(Kind::Frr);
    lab::require(Kind::Bird);
    let (a, b) = (addr(), addr());
    let frr = Router::start(
        RouterSpec::new(Kind::Frr, "pause-r", a, 65001)
            .neighbor(NeighborSpec::new(b, 65002).with_hold_time(3)),
    )
    .unwrap();
    let bird = Router::start(
        RouterSpec::new(Kind::Bird, "pause-b", b, 65002)
            .neighbor(NeighborSpec::new(a, 65001).with_hold_time(3)),
    )
    .unwrap();
    bird.wait_for_state(ip(a), PeerState::Established, UP)
        .unwrap();

    frr.pause().unwrap();
    let t = Instant::now();
    let err = frr
        .wait_for_state(ip(b), PeerState::Idle, Duration::from_secs(1))
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert!(err.to_string().contains("paused"), "{err}");
    bird.wait_for_state_where(ip(a), "hold timer expiry", Duration::from_secs(10), |s| {
        s != PeerState::Established
    })
    .unwrap();
    let why = bird.last_error(ip(a)).unwrap().unwrap_or_default();
    assert!(why.contains("Hold timer expired"), "{why}");

    frr.resume().unwrap();
    bird.wait_for_state(ip(a), PeerState::Established, UP)
        .unwrap();
}

/// Dropping a Router stops its daemon (even a paused one) and removes its
/// run directory; pause/resume really stop and continue the process.
#[test]
fn drop_stops_every_kind_of_daemon() {
    for kind in Kind::ALL {
        lab::require(kind);
    }
    let peer = addr();
    let mut pids = Vec::new();
    let mut dirs = Vec::new();
    {
        let routers: Vec<Router> = Kind::ALL
            .iter()
            .map(|&kind| {
                Router::start(
                    RouterSpec::new(kind, format!("drop-{kind:?}").to_lowercase(), addr(), 65010)
                        .neighbor(NeighborSpec::new(peer, 65011).with_passive(true)),
                )
                .unwrap()
            })
            .collect();
        for r in &routers {
            assert!(pid_exists(r.pid()));
            assert!(r.run_dir().exists());
            assert!(r.rss_kib().unwrap() > 0);
            pids.push(r.pid());
            dirs.push(r.run_dir().to_path_buf());
        }
        let frr = &routers[0];
        frr.pause().unwrap();
        assert_eq!(proc_state(frr.pid()), 'T');
        frr.resume().unwrap();
        assert_ne!(proc_state(frr.pid()), 'T');
        // Answers queries again once resumed (a passive neighbor idles in Active).
        frr.wait_for_state(ip(peer), PeerState::Active, Duration::from_secs(5))
            .unwrap();
        // Left paused: Drop must still get rid of it.
        routers[1].pause().unwrap();
    }
    for (pid, dir) in pids.iter().zip(&dirs) {
        assert!(!pid_exists(*pid), "pid {pid} survived Drop");
        assert!(!dir.exists(), "{} survived Drop", dir.display());
    }
}

/// A second daemon on a taken address:port is refused, and the first one is
/// left alone.
#[test]
fn refuses_an_address_in_use() {
    lab::require(Kind::Frr);
    lab::require(Kind::Bird);
    let (a, b) = (addr(), addr());
    let first = Router::start(
        RouterSpec::new(Kind::Frr, "inuse-1", a, 65001).neighbor(NeighborSpec::new(b, 65002)),
    )
    .unwrap();
    let err = Router::start(
        RouterSpec::new(Kind::Bird, "inuse-2", a, 65001).neighbor(NeighborSpec::new(b, 65002)),
    )
    .unwrap_err();
    match &err {
        LabError::AddressInUse { holder, .. } => {
            assert!(holder.contains(&first.pid().to_string()), "{err}");
        }
        other => panic!("expected AddressInUse, got {other}"),
    }
    assert!(first.is_running());
}

/// IPv6 on the single loopback address ::1, one port per daemon: FRR and
/// BIRD exchange IPv6 prefixes (both rewrite the ::1 next hop, which FRR
/// would drop and BIRD would refuse to send).
#[test]
fn frr_and_bird_over_ipv6_loopback() {
    lab::require(Kind::Frr);
    lab::require(Kind::Bird);
    let lo: IpAddr = "::1".parse().unwrap();
    let (pf, pb) = (free_port(lo).unwrap(), free_port(lo).unwrap());
    let frr = Router::start(
        RouterSpec::new(Kind::Frr, "v6-r", lo, 65001)
            .with_port(pf)
            .neighbor(NeighborSpec::new(lo, 65002).with_port(pb))
            .route("2001:db8:1::/48")
            .next_hop("2001:db8:ffff::1".parse().unwrap()),
    )
    .unwrap();
    let bird = Router::start(
        RouterSpec::new(Kind::Bird, "v6-b", lo, 65002)
            .with_port(pb)
            .neighbor(NeighborSpec::new(lo, 65001).with_port(pf))
            .route("2001:db8:2::/48")
            .next_hop("2001:db8:ffff::2".parse().unwrap()),
    )
    .unwrap();
    assert_ne!(frr.router_id(), bird.router_id());
    frr.wait_for_state(lo, PeerState::Established, UP).unwrap();
    bird.wait_for_state(lo, PeerState::Established, UP).unwrap();
    assert_eq!(
        frr.wait_for_prefixes(lo, &["2001:db8:2::/48"], Duration::from_secs(10))
            .unwrap(),
        vec!["2001:db8:2::/48"]
    );
    assert_eq!(
        bird.wait_for_prefixes(lo, &["2001:db8:1::/48"], Duration::from_secs(10))
            .unwrap(),
        vec!["2001:db8:1::/48"]
    );
}

/// Daemons die with the test process even when it is SIGKILLed and no
/// destructor runs (they are spawned with a parent-death signal).
#[test]
fn daemons_die_with_a_killed_test_process() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    lab::require(Kind::Bird);
    lab::require(Kind::Gobgp);
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "helper_starts_daemons_and_waits_to_be_killed",
            "--ignored",
            "--nocapture",
        ])
        .env("LAB_HELPER_PROCESS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut pids = Vec::new();
    let mut dirs = Vec::new();
    for line in BufReader::new(helper.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("LAB-DAEMON ") {
            let (pid, dir) = rest.split_once(' ').unwrap();
            pids.push(pid.parse::<u32>().unwrap());
            dirs.push(std::path::PathBuf::from(dir));
        }
        if line == "LAB-READY" {
            break;
        }
    }
    assert_eq!(pids.len(), 2, "the helper did not report its daemons");
    assert!(pids.iter().all(|&p| pid_exists(p)));
    helper.kill().unwrap();
    helper.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|&p| pid_exists(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for p in &pids {
        assert!(
            !pid_exists(*p),
            "daemon {p} outlived its killed test process"
        );
    }
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Helper process of `daemons_die_with_a_killed_test_process`, not a test of
/// its own: starts two daemons, reports them, then waits to be SIGKILLed.
#[test]
#[ignore = "helper process, run by daemons_die_with_a_killed_test_process"]
fn helper_starts_daemons_and_waits_to_be_killed() {
    if std::env::var_os("LAB_HELPER_PROCESS").is_none() {
        return;
    }
    let (a, b) = (addr(), addr());
    let bird = Router::start(
        RouterSpec::new(Kind::Bird, "orphan-b", a, 65001)
            .neighbor(NeighborSpec::new(b, 65002).with_passive(true)),
    )
    .unwrap();
    let gobgp = Router::start(
        RouterSpec::new(Kind::Gobgp, "orphan-g", b, 65002)
            .neighbor(NeighborSpec::new(a, 65001).with_passive(true)),
    )
    .unwrap();
    for r in [&bird, &gobgp] {
        println!("LAB-DAEMON {} {}", r.pid(), r.run_dir().display());
    }
    println!("LAB-READY");
    std::thread::sleep(Duration::from_secs(60));
}

/// IPv6 on ::1 with GoBGP (routes originated through its API) and BIRD.
#[test]
fn gobgp_and_bird_over_ipv6_loopback() {
    lab::require(Kind::Gobgp);
    lab::require(Kind::Bird);
    let lo: IpAddr = "::1".parse().unwrap();
    let (pg, pb) = (free_port(lo).unwrap(), free_port(lo).unwrap());
    let gobgp = Router::start(
        RouterSpec::new(Kind::Gobgp, "v6-g", lo, 65003)
            .with_port(pg)
            .neighbor(NeighborSpec::new(lo, 65004).with_port(pb))
            .route("2001:db8:3::/48")
            .next_hop("2001:db8:ffff::3".parse().unwrap()),
    )
    .unwrap();
    let bird = Router::start(
        RouterSpec::new(Kind::Bird, "v6-b2", lo, 65004)
            .with_port(pb)
            .neighbor(NeighborSpec::new(lo, 65003).with_port(pg))
            .route("2001:db8:4::/48")
            .next_hop("2001:db8:ffff::4".parse().unwrap()),
    )
    .unwrap();
    gobgp
        .wait_for_state(lo, PeerState::Established, UP)
        .unwrap();
    bird.wait_for_state(lo, PeerState::Established, UP).unwrap();
    assert_eq!(
        bird.wait_for_prefixes(lo, &["2001:db8:3::/48"], Duration::from_secs(10))
            .unwrap(),
        vec!["2001:db8:3::/48"]
    );
    assert_eq!(
        gobgp
            .wait_for_prefixes(lo, &["2001:db8:4::/48"], Duration::from_secs(10))
            .unwrap(),
        vec!["2001:db8:4::/48"]
    );
}

/// A daemon that dies during start-up (FRR cannot bind an address the host
/// does not have) fails start() quickly with its log tail, and leaves its run
/// directory for inspection.
#[test]
fn start_failure_reports_the_daemon_log() {
    lab::require(Kind::Frr);
    let nowhere: IpAddr = "2001:db8:ffff::99".parse().unwrap();
    let t = Instant::now();
    let err = Router::start(
        RouterSpec::new(Kind::Frr, "no-bind", nowhere, 65001)
            .with_router_id("127.0.0.99".parse().unwrap())
            .neighbor(NeighborSpec::new(
                "2001:db8:ffff::98".parse::<IpAddr>().unwrap(),
                65002,
            )),
    )
    .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    match &err {
        LabError::StartFailed {
            reason,
            log_tail,
            run_dir,
            ..
        } => {
            assert!(reason.contains("exited"), "{err}");
            assert!(
                log_tail.contains("Cannot assign requested address"),
                "{err}"
            );
            assert!(run_dir.join("bgpd.conf").exists());
            std::fs::remove_dir_all(run_dir).unwrap();
        }
        other => panic!("expected StartFailed, got {other}"),
    }
}

/// Each kind as a pure receiver (`with_export(false)`, hold time 0, as the
/// route-load benchmark runs them): it learns FRR's prefix and sends nothing
/// back, not even the prefix it originates itself.
#[test]
fn a_receiver_without_export_or_hold_timer_learns_and_sends_nothing() {
    for kind in Kind::ALL {
        lab::require(kind);
    }
    for kind in Kind::ALL {
        let (a, b) = (addr(), addr());
        let sender = Router::start(
            RouterSpec::new(Kind::Frr, "quiet-sender", a, 64700)
                .neighbor(NeighborSpec::new(b, 65000))
                .route("10.77.0.0/24")
                // GoBGP 3.10 drops 127/8 next hops.
                .next_hop("198.51.100.7".parse().unwrap()),
        )
        .unwrap();
        let receiver = Router::start(
            RouterSpec::new(kind, "quiet-receiver", b, 65000)
                .neighbor(NeighborSpec::new(a, 64700).with_hold_time(0))
                .route("10.78.0.0/24")
                .with_export(false),
        )
        .unwrap();
        receiver
            .wait_for_prefixes(ip(a), &["10.77.0.0/24"], UP)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        // GoBGP reads a configured hold time of 0 as "use the default" (90 s);
        // it still accepts a peer's 0 (the route-load sender proposes it).
        if kind != Kind::Gobgp {
            let hold = sender
                .cli(&[&format!("show bgp neighbors {b} json")])
                .unwrap();
            assert!(
                hold.contains("\"bgpTimerHoldTimeMsecs\":0"),
                "{kind}: hold time not negotiated to 0: {hold}"
            );
        }
        // An absence has no state to await: GoBGP 3.10 sends no End-of-RIB
        // without graceful restart (tried), so the receiver's initial update
        // is given a bounded time to arrive instead.
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(
            sender.received_prefixes(ip(b)).unwrap(),
            Vec::<String>::new(),
            "{kind} exported routes"
        );
    }
}
