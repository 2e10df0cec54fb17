//! Takes in the synthetic 1M-prefix full table once and prints the time and
//! the resident memory it took: a quick check without criterion, and a target
//! for a profiler.
//!
//! `cargo run --release -p bgp-rib --example full_table`

#![allow(missing_docs)]

use std::time::Instant;

#[path = "../benches/common/mod.rs"]
mod common;

use common::*;

fn main() {
    let frames = frames();
    let updates = decoded(&frames);
    let before = resident_bytes().unwrap_or(0);
    let mut rib = rib();
    rib.peer_up(SOURCE, source());
    let started = Instant::now();
    let cpu = cpu_nanoseconds().unwrap_or(0);
    let fib = receive_all(&mut rib, &updates);
    let cpu = cpu_nanoseconds().unwrap_or(0) - cpu;
    let elapsed = started.elapsed();
    let after = resident_bytes().unwrap_or(0);
    let statistics = rib.statistics();
    println!(
        "received {} prefixes ({} attribute sets, {} FIB changes) in {:.3} s ({:.3} s on CPU); resident +{:.1} MiB = {:.1} bytes/prefix",
        statistics.prefixes,
        statistics.attribute_sets,
        fib,
        elapsed.as_secs_f64(),
        cpu as f64 / 1e9,
        (after.saturating_sub(before)) as f64 / 1048576.0,
        (after.saturating_sub(before)) as f64 / statistics.prefixes as f64,
    );
}
