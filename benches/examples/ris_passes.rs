//! `bgp-wire` alone over the RIPE RIS UPDATEs, a given number of passes, for
//! counting its instructions where criterion's timing is too noisy:
//!
//! ```text
//! cargo build --release -p nodebgp-benches --example ris_passes
//! valgrind --tool=callgrind target/release/examples/ris_passes 20   # and 0, to subtract the loading
//! ```
//!
//! Prints the prefixes visited, so that the work cannot be optimised away.

use nodebgp_benches::{decode_all_nodebgp, ris_dir, ris_updates, NodebgpContexts};

fn main() {
    let Some(frames) = ris_updates() else {
        eprintln!(
            "no RIS MRT files under {} (set NODEBGP_VECTORS)",
            ris_dir().display()
        );
        std::process::exit(2);
    };
    let passes: usize = match std::env::args().nth(1).map(|text| text.parse()) {
        None => 50,
        Some(Ok(passes)) => passes,
        Some(Err(error)) => {
            eprintln!("usage: ris_passes [PASSES]: {error}");
            std::process::exit(2);
        }
    };
    let contexts = NodebgpContexts::default();
    let prefixes: u64 = (0..passes)
        .map(|_| decode_all_nodebgp(&frames, &contexts).prefixes)
        .sum();
    println!(
        "{passes} passes over {} messages: {prefixes} prefixes",
        frames.len()
    );
}
