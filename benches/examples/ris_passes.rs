//! `bgp-wire` alone over the RIPE RIS UPDATEs, a given number of passes, for
//! counting its instructions where criterion's timing is too noisy:
//!
//! ```text
//! cargo build --release -p nodebgp-benches --example ris_passes
//! valgrind --tool=callgrind target/release/examples/ris_passes 20   # and 0, to subtract the loading
//! ```
//!
//! Prints the prefixes visited, so that the work cannot be optimised away.

use nodebgp_benches::{decode_passes, ris_dir, ris_updates};

fn main() {
    let Some(frames) = ris_updates() else {
        eprintln!(
            "no RIS MRT files under {} (set NODEBGP_VECTORS)",
            ris_dir().display()
        );
        std::process::exit(2);
    };
    decode_passes("ris_passes", &frames, 50);
}
