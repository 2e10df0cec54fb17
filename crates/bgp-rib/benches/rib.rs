//! Time to take in a 1M-prefix IPv4 full table from one eBGP peer (the
//! synthetic table of `benches/lib.rs`: ~101k attribute sets, ~10 prefixes per
//! UPDATE), with and without decoding, and to export it to one iBGP peer.
//! Also prints the resident memory the table takes (system allocator); the
//! `memory` bench counts heap bytes exactly.
//!
//! `cargo bench -p bgp-rib --bench rib`

#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bgp_wire::{CodecContext, Message};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

#[path = "common/mod.rs"]
mod common;

use common::*;

fn report_resident_memory(updates: &[(bgp_wire::Update, Vec<bgp_wire::AttributeError>)]) {
    let before = resident_bytes().unwrap_or(0);
    let mut rib = rib();
    rib.peer_up(SOURCE, source());
    let started = Instant::now();
    receive_all(&mut rib, updates);
    let elapsed = started.elapsed();
    let after = resident_bytes().unwrap_or(0);
    let statistics = rib.statistics();
    println!(
        "one pass: {} prefixes, {} attribute sets in {:.3} s; resident memory +{:.1} MiB = {:.1} bytes/prefix",
        statistics.prefixes,
        statistics.attribute_sets,
        elapsed.as_secs_f64(),
        (after - before) as f64 / 1048576.0,
        (after - before) as f64 / statistics.prefixes as f64,
    );
    rib.peer_up(INTERNAL, internal());
    let started = Instant::now();
    let updates = rib.poll_updates(INTERNAL);
    let elapsed = started.elapsed();
    let exported = rib.statistics();
    println!(
        "export to one iBGP peer: {} UPDATEs in {:.3} s; attribute sets now {}; resident +{:.1} MiB more",
        updates.len(),
        elapsed.as_secs_f64(),
        exported.attribute_sets,
        (resident_bytes().unwrap_or(0) - after) as f64 / 1048576.0,
    );
}

fn bench(criterion: &mut Criterion) {
    let frames = frames();
    let updates = decoded(&frames);
    let prefixes: usize = updates
        .iter()
        .map(|(update, _)| update.announced.len())
        .sum();
    report_resident_memory(&updates);

    let mut group = criterion.benchmark_group("full table");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(prefixes as u64));
    group.bench_function("receive decoded UPDATEs", |bencher| {
        bencher.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let mut rib = rib();
                rib.peer_up(SOURCE, source());
                let started = Instant::now();
                black_box(receive_all(&mut rib, &updates));
                total += started.elapsed();
                drop(rib);
            }
            total
        })
    });
    group.bench_function("decode and receive", |bencher| {
        let context = CodecContext::default();
        bencher.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let mut rib = rib();
                rib.peer_up(SOURCE, source());
                let started = Instant::now();
                for batch in frames.chunks(FIB_BATCH) {
                    for frame in batch {
                        let received = Message::decode(frame, &context).expect("decodes");
                        if let Message::Update(update) = &received.message {
                            rib.receive(SOURCE, update, &received.errors);
                        }
                    }
                    black_box(rib.poll_fib());
                }
                total += started.elapsed();
                drop(rib);
            }
            total
        })
    });
    let mut loaded = rib();
    loaded.peer_up(SOURCE, source());
    receive_all(&mut loaded, &updates);
    group.bench_function("export to one iBGP peer", |bencher| {
        bencher.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                loaded.peer_down(INTERNAL, false);
                loaded.peer_up(INTERNAL, internal());
                let started = Instant::now();
                let updates = black_box(loaded.poll_updates(INTERNAL));
                total += started.elapsed();
                drop(updates);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
