//! `bgp-wire` alone over the synthetic 1M-prefix table of the decode bench, a
//! given number of passes: [`ris_passes`](ris_passes.rs) for the other input.
//!
//! ```text
//! cargo build --release -p nodebgp-benches --example synthetic_passes
//! valgrind --tool=callgrind target/release/examples/synthetic_passes 2   # and 0, to subtract the building
//! ```
//!
//! Prints the prefixes visited, so that the work cannot be optimised away.

use nodebgp_benches::{decode_passes, synthetic_full_table, TABLE_PREFIXES, TABLE_SEED};

fn main() {
    // Four-octet AS numbers, as the bench decodes the table.
    let frames: Vec<_> = synthetic_full_table(TABLE_PREFIXES, TABLE_SEED)
        .into_iter()
        .map(|frame| (frame, true))
        .collect();
    decode_passes("synthetic_passes", &frames, 5);
}
