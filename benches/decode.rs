//! Decoding throughput of `bgp-wire` side by side with bgpkit-parser, NetGauze and
//! rustbgpd-wire, in the same run, on the RIPE RIS MRT updates and on a synthetic 1M-prefix full table.
//!
//! One iteration decodes every message of an input and visits every decoded prefix,
//! AS number and community (see `nodebgp_benches::visit_update`). Each input gets two
//! criterion groups, one counting messages per second and one counting prefixes per
//! second, then an interleaved round-robin timing of the four (robust to other load on
//! a shared machine) that prints medians and ratios.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use nodebgp_benches::{
    ris_dir, ris_updates, synthetic_full_table, total_octets, Visit, TABLE_PREFIXES, TABLE_SEED,
};

#[path = "contenders.rs"]
mod contenders;

use contenders::{Decoders, CONTENDERS};

/// Decodes the input once with each contender, checks that they agree, and prints what
/// the input holds.
fn check_input(name: &str, frames: &[(Bytes, bool)]) -> Visit {
    let mut decoders = Decoders::new();
    let visits: Vec<Visit> = (0..CONTENDERS.len())
        .map(|contender| decoders.decode(contender, frames))
        .collect();
    let ours = visits[0];
    let two_octet = frames.iter().filter(|(_, four)| !four).count();
    println!(
        "input {name}: {} UPDATE messages ({} from 2-octet-AS sessions), {} octets, {} prefixes \
         ({:.2} per message), {} AS numbers, {} communities",
        frames.len(),
        two_octet,
        total_octets(frames),
        ours.prefixes,
        ours.prefixes as f64 / frames.len() as f64,
        ours.as_numbers,
        ours.communities,
    );
    // How many prefixes the UPDATEs carry.
    let bounds = [0u64, 1, 3, 10, 100, 1000, u64::MAX];
    let mut histogram = [0usize; 6];
    for frame in frames {
        let prefixes = decoders.decode(0, std::slice::from_ref(frame)).prefixes;
        let bucket = bounds
            .windows(2)
            .position(|pair| prefixes > pair[0] && prefixes <= pair[1]);
        if let Some(bucket) = bucket {
            histogram[bucket] += 1;
        }
    }
    println!(
        "  UPDATEs by prefix count: 1: {}, 2-3: {}, 4-10: {}, 11-100: {}, 101-1000: {}, >1000: {} \
         (the rest carry none)",
        histogram[0], histogram[1], histogram[2], histogram[3], histogram[4], histogram[5]
    );
    for (contender, visit) in CONTENDERS.iter().zip(&visits) {
        let agrees = if visit.counts() == ours.counts() {
            "same counts as bgp-wire"
        } else {
            "COUNTS DIFFER from bgp-wire"
        };
        println!(
            "  {contender:<17} decoded {:>7} errors {:>4} prefixes {:>8} prefix bits {:>9} \
             AS numbers {:>8} communities {:>7} checksum {:016x}: {agrees}",
            visit.messages,
            visit.errors,
            visit.prefixes,
            visit.prefix_bits,
            visit.as_numbers,
            visit.communities,
            visit.checksum,
        );
    }
    ours
}

fn bench_input(
    criterion: &mut Criterion,
    name: &str,
    frames: &[(Bytes, bool)],
    prefixes: u64,
    large: bool,
) {
    let mut decoders = Decoders::new();
    for (unit, count) in [("messages", frames.len() as u64), ("prefixes", prefixes)] {
        let mut group = criterion.benchmark_group(format!("{name}/{unit}"));
        group.sample_size(10);
        if large {
            // One iteration decodes the whole table (~0.1-1 s): ten samples of equal size.
            group.sampling_mode(SamplingMode::Flat);
            group.warm_up_time(Duration::from_secs(1));
            group.measurement_time(Duration::from_secs(6));
        } else {
            group.warm_up_time(Duration::from_secs(1));
            group.measurement_time(Duration::from_secs(4));
        }
        group.throughput(Throughput::Elements(count));
        for (contender, name) in CONTENDERS.iter().enumerate() {
            group.bench_function(*name, |bencher| {
                bencher.iter(|| decoders.decode(contender, black_box(frames)))
            });
        }
        group.finish();
    }
}

/// Times the contenders round-robin (`rounds` times each, one whole pass of the
/// input per timing) and prints the fastest and median pass of each. Interleaving keeps
/// load from other processes on a shared machine from landing on one contender only.
fn interleaved(name: &str, frames: &[(Bytes, bool)], prefixes: u64, rounds: usize) {
    let mut decoders = Decoders::new();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); CONTENDERS.len()];
    for _ in 0..rounds {
        for (contender, time) in times.iter_mut().enumerate() {
            let started = Instant::now();
            let visit = decoders.decode(contender, black_box(frames));
            time.push(started.elapsed());
            black_box(visit);
        }
    }
    let summary: Vec<(Duration, Duration)> = times
        .iter_mut()
        .map(|time| {
            time.sort();
            (time[0], time[time.len() / 2])
        })
        .collect();
    println!("interleaved {name}: {rounds} rounds, one pass of {} messages / {prefixes} prefixes per timing", frames.len());
    for (index, contender) in CONTENDERS.iter().enumerate() {
        let (fastest, median) = summary[index];
        let rate = |count: u64, time: Duration| count as f64 / time.as_secs_f64() / 1e6;
        // Against the fastest of the others, by median pass.
        let other = summary
            .iter()
            .enumerate()
            .filter(|(other, _)| *other != index)
            .map(|(_, (_, median))| *median)
            .min()
            .expect("several contenders");
        println!(
            "  {contender:<17} fastest {fastest:>10.3?} median {median:>10.3?}  median: {:>6.3} M messages/s {:>7.3} M prefixes/s  \
             speed vs fastest other: {:.2}x",
            rate(frames.len() as u64, median),
            rate(prefixes, median),
            other.as_secs_f64() / median.as_secs_f64(),
        );
    }
}

fn decode(criterion: &mut Criterion) {
    match ris_updates() {
        Some(frames) if !frames.is_empty() => {
            let visit = check_input("ris-mrt", &frames);
            bench_input(criterion, "ris-mrt", &frames, visit.prefixes, false);
            interleaved("ris-mrt", &frames, visit.prefixes, 300);
        }
        _ => println!(
            "input ris-mrt: SKIPPED, no MRT UPDATE messages under {} (set NODEBGP_VECTORS)",
            ris_dir().display()
        ),
    }

    let started = Instant::now();
    let table: Vec<(Bytes, bool)> = synthetic_full_table(TABLE_PREFIXES, TABLE_SEED)
        .into_iter()
        .map(|frame| (frame, true))
        .collect();
    println!("synthetic table built in {:.1?}", started.elapsed());
    let visit = check_input("synthetic-full-table", &table);
    bench_input(
        criterion,
        "synthetic-full-table",
        &table,
        visit.prefixes,
        true,
    );
    interleaved("synthetic-full-table", &table, visit.prefixes, 20);
}

criterion_group!(benches, decode);
criterion_main!(benches);
