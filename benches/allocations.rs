//! Heap allocations per decoded message and per decoded prefix, for `bgp-wire`,
//! bgpkit-parser, NetGauze and rustbgpd-wire, on the same inputs as the `decode` bench.
//!
//! dhat is the global allocator; the inputs are built before the profiler starts. Each
//! contender decodes an input once to warm up, then once more between two readings of
//! `dhat::HeapStats::total_blocks`, which counts every allocation and reallocation.
//! The goal for `bgp-wire` is at most one allocation per decoded prefix.

use std::hint::black_box;

use bytes::Bytes;
use nodebgp_benches::{
    decode_all_nodebgp, ris_dir, ris_updates, synthetic_full_table, NodebgpContexts, Visit,
    TABLE_PREFIXES, TABLE_SEED,
};

#[path = "contenders.rs"]
mod contenders;

use contenders::{Decoders, CONTENDERS};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Allocations (blocks) and bytes one call of `decode` makes.
fn count(mut decode: impl FnMut() -> Visit) -> (Visit, u64, u64) {
    black_box(decode());
    let before = dhat::HeapStats::get();
    let visit = black_box(decode());
    let after = dhat::HeapStats::get();
    (
        visit,
        after.total_blocks - before.total_blocks,
        after.total_bytes - before.total_bytes,
    )
}

fn report(input: &str, frames: &[(Bytes, bool)]) {
    let mut decoders = Decoders::new();
    for (index, contender) in CONTENDERS.iter().enumerate() {
        let (visit, blocks, bytes) = count(|| decoders.decode(index, frames));
        println!(
            "| {input} | {contender} | {} | {} | {blocks} | {:.3} | {:.3} | {:.1} |",
            visit.messages,
            visit.prefixes,
            blocks as f64 / visit.messages as f64,
            blocks as f64 / visit.prefixes as f64,
            bytes as f64 / visit.messages as f64,
        );
    }
}

fn main() {
    let ris = ris_updates().filter(|frames| !frames.is_empty());
    let table: Vec<(Bytes, bool)> = synthetic_full_table(TABLE_PREFIXES, TABLE_SEED)
        .into_iter()
        .map(|frame| (frame, true))
        .collect();

    if let Some(path) = std::env::var_os("NODEBGP_DHAT_PROFILE") {
        // Where bgp-wire allocates: a dhat profile of its decoding alone (one pass over each
        // input), for dh_view.html or a script.
        let _profiler = dhat::Profiler::builder().file_name(&path).build();
        let contexts = NodebgpContexts::default();
        if let Some(frames) = &ris {
            black_box(decode_all_nodebgp(frames, &contexts));
        }
        black_box(decode_all_nodebgp(&table, &contexts));
        return;
    }
    let _profiler = dhat::Profiler::builder().testing().build();
    println!(
        "| input | parser | messages | prefixes | allocations | per message | per prefix | bytes allocated per message |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    match &ris {
        Some(frames) => report("ris-mrt", frames),
        None => println!(
            "input ris-mrt: SKIPPED, no MRT UPDATE messages under {} (set NODEBGP_VECTORS)",
            ris_dir().display()
        ),
    }
    report("synthetic-full-table", &table);
}
