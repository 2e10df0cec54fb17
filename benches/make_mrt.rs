//! # make-mrt: a BGP4MP dump of a synthetic table, for the `nodebgp decode` benchmark
//!
//! ```text
//! make-mrt [--prefixes N] [--shape natural|PER_UPDATE/SETS] [--seed S] OUTPUT
//! ```
//!
//! Writes every UPDATE of [`shaped_table`] as an MRT
//! BGP4MP_MESSAGE_AS4 record (RFC 6396 §4.4.3, type 16 subtype 4), received
//! by 192.0.2.1 (AS 65000) from 192.0.2.2 (AS 64700), one second apart in
//! blocks of 1,000 records. The default, 1M prefixes at 4 per UPDATE, is
//! the 250,000-UPDATE dump issue 12 measures. `OUTPUT` ending in `.gz` is
//! gzip-compressed.

use std::io::Write;
use std::process::ExitCode;

use bgp_wire::Family;
use nodebgp_benches::{shaped_table, TableShape, TABLE_SEED};

fn main() -> ExitCode {
    let mut prefixes = 1_000_000usize;
    let mut shape = TableShape::parse("4/100k").expect("a valid shape");
    let mut seed = TABLE_SEED;
    let mut output = None;
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        let mut value = || arguments.next().unwrap_or_default();
        match argument.as_str() {
            "--prefixes" => prefixes = value().parse().expect("--prefixes N"),
            "--shape" => shape = TableShape::parse(&value()).expect("--shape"),
            "--seed" => seed = value().parse().expect("--seed S"),
            _ if output.is_none() && !argument.starts_with('-') => output = Some(argument),
            _ => {
                eprintln!("usage: make-mrt [--prefixes N] [--shape SHAPE] [--seed S] OUTPUT");
                return ExitCode::from(2);
            }
        }
    }
    let Some(output) = output else {
        eprintln!("usage: make-mrt [--prefixes N] [--shape SHAPE] [--seed S] OUTPUT");
        return ExitCode::from(2);
    };
    let file = std::io::BufWriter::new(std::fs::File::create(&output).expect("OUTPUT"));
    let mut writer: Box<dyn Write> = if output.ends_with(".gz") {
        Box::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::default(),
        ))
    } else {
        Box::new(file)
    };
    let updates = shaped_table(Family::IPV4_UNICAST, shape, prefixes, seed);
    let start = 1_733_000_000u32;
    for (index, update) in updates.iter().enumerate() {
        let timestamp = start + u32::try_from(index / 1000).unwrap_or(u32::MAX);
        // BGP4MP_MESSAGE_AS4: peer AS, local AS (4 octets each), interface
        // index, AFI, peer and local IPv4 address, then the message.
        let body_length = 4 + 4 + 2 + 2 + 4 + 4 + update.len();
        let mut record = Vec::with_capacity(12 + body_length);
        record.extend_from_slice(&timestamp.to_be_bytes());
        record.extend_from_slice(&16u16.to_be_bytes());
        record.extend_from_slice(&4u16.to_be_bytes());
        record.extend_from_slice(&u32::try_from(body_length).unwrap().to_be_bytes());
        record.extend_from_slice(&64700u32.to_be_bytes());
        record.extend_from_slice(&65000u32.to_be_bytes());
        record.extend_from_slice(&0u16.to_be_bytes());
        record.extend_from_slice(&1u16.to_be_bytes());
        record.extend_from_slice(&[192, 0, 2, 2]);
        record.extend_from_slice(&[192, 0, 2, 1]);
        record.extend_from_slice(update);
        writer.write_all(&record).expect("write");
    }
    writer.flush().expect("flush");
    drop(writer);
    eprintln!(
        "make-mrt: {} UPDATEs, {prefixes} prefixes, shape {} → {output}",
        updates.len(),
        shape.name()
    );
    ExitCode::SUCCESS
}
