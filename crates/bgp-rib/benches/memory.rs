//! Heap bytes per prefix of a 1M-prefix IPv4 full table from one peer (the
//! synthetic table of `benches/lib.rs`), counted by dhat's allocator: the
//! input is built before the profiler starts, so only the RIB's own
//! allocations count. Then the same after exporting the table to one iBGP
//! peer (its Adj-RIB-Out).
//!
//! `cargo bench -p bgp-rib --bench memory`

#![allow(missing_docs)]

#[path = "common/mod.rs"]
mod common;

use common::*;

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

fn main() {
    let frames = frames();
    let updates = decoded(&frames);
    let profiler = dhat::Profiler::builder().testing().build();
    let mut rib = rib();
    rib.peer_up(SOURCE, source());
    receive_all(&mut rib, &updates);
    let held = dhat::HeapStats::get();
    let statistics = rib.statistics();
    let per_prefix = held.curr_bytes as f64 / statistics.prefixes as f64;
    println!(
        "Loc-RIB: {} prefixes, {} paths, {} attribute sets: {:.1} MiB held ({:.1} bytes/prefix), peak {:.1} MiB, {} blocks",
        statistics.prefixes,
        statistics.paths,
        statistics.attribute_sets,
        held.curr_bytes as f64 / 1048576.0,
        per_prefix,
        held.max_bytes as f64 / 1048576.0,
        held.curr_blocks,
    );
    rib.peer_up(INTERNAL, internal());
    let sent = rib.poll_updates(INTERNAL);
    drop(sent);
    let exported = dhat::HeapStats::get();
    println!(
        "with one iBGP peer's Adj-RIB-Out: {:.1} MiB held ({:.1} bytes/prefix), {} attribute sets",
        exported.curr_bytes as f64 / 1048576.0,
        exported.curr_bytes as f64 / statistics.prefixes as f64,
        rib.statistics().attribute_sets,
    );
    drop(rib);
    drop(profiler);
}
