//! The soak-and-faults test at CI size. One daemon on etcd goes through
//! session flaps against real FRR, killed, frozen and mid-UPDATE-reset peers
//! and etcd outages, after a warm-up round of the same; then nothing may
//! have leaked (sockets, tasks, memory within 5%) and every route must be
//! there. Other daemons are killed (SIGKILL) in the middle of a table load
//! and with kernel routes installed, and `nodebgp apply` in the middle of
//! store writes. `benches/soak.sh` runs the same at full size.

#[path = "harness/faults.rs"]
mod faults;
#[path = "harness/restarts.rs"]
mod restarts;
#[path = "harness/soak.rs"]
mod soak;

#[path = "../benches/route_load/sender.rs"]
#[allow(dead_code)]
mod sender;

use soak::Scale;

#[test]
fn a_daemon_comes_through_flaps_kills_freezes_resets_and_etcd_outages_without_leaks() {
    let scale = Scale::from_environment(Scale::CI);
    let figures = soak::run(scale, soak::seed());
    println!("soak figures:\n{figures}");
    assert!(
        figures.flaps >= scale.flaps as u64,
        "FRR counted {} flaps, {} asked",
        figures.flaps,
        scale.flaps
    );
}

#[test]
fn a_daemon_killed_mid_table_load_learns_the_table_again_after_a_restart() {
    let scale = Scale::from_environment(Scale::CI);
    let figures = restarts::killed_mid_load(scale, soak::seed());
    println!("mid-load kills: {figures:?}");
    assert_eq!(figures.relearned.len(), scale.daemon_kills);
}

#[test]
fn a_daemon_killed_with_kernel_routes_reconciles_them_after_a_restart() {
    let scale = Scale::from_environment(Scale::CI);
    if let Some(kills) = restarts::killed_with_kernel_routes(scale) {
        assert_eq!(kills, scale.daemon_kills);
    }
}

#[test]
fn applies_killed_mid_write_leave_the_file_store_whole() {
    let scale = Scale::from_environment(Scale::CI);
    let figures = restarts::killed_applies(scale, soak::seed());
    println!("killed applies: {figures:?}");
    assert_eq!(figures.committed + figures.lost, scale.store_kills);
}
