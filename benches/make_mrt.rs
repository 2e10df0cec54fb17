//! # make-mrt: a BGP4MP dump of a synthetic table, for the `nodebgp decode` benchmark
//!
//! ```text
//! make-mrt [--prefixes N] [--shape natural|PER_UPDATE/SETS] [--seed S] [--rib] [--ipv6] OUTPUT
//! ```
//!
//! Writes every UPDATE of [`shaped_table`] as an MRT
//! BGP4MP_MESSAGE_AS4 record (RFC 6396 §4.4.3, type 16 subtype 4), received
//! by 192.0.2.1 (AS 65000) from 192.0.2.2 (AS 64700), one second apart in
//! blocks of 1,000 records. The default, 1M prefixes at 4 per UPDATE, is
//! the 250,000-UPDATE dump issue 12 measures. `OUTPUT` ending in `.gz` is
//! gzip-compressed.
//!
//! `--rib` writes the same table as a TABLE_DUMP_V2 RIB dump instead (RFC
//! 6396 §4.3): a PEER_INDEX_TABLE of two peers, then one RIB record per
//! prefix in prefix order, with an entry from 192.0.2.2 (AS 64700) for every
//! prefix and one from 192.0.2.3 (AS 64701) for every third, so that a
//! reader has a peer to choose. `--ipv6` makes the table IPv6 unicast.

use std::io::Write;
use std::process::ExitCode;

use bgp_wire::Family;
use bytes::Bytes;
use nodebgp_benches::{shaped_table, update_fields, TableShape, TABLE_SEED};

/// MRT type TABLE_DUMP_V2 and its subtypes (RFC 6396 §4.3).
const TABLE_DUMP_V2: u16 = 13;
const PEER_INDEX_TABLE: u16 = 1;
const RIB_IPV4_UNICAST: u16 = 2;
const RIB_IPV6_UNICAST: u16 = 4;

/// Path attribute type code of MP_REACH_NLRI (RFC 4760 §3).
const MP_REACH_NLRI: u8 = 14;

const USAGE: &str =
    "usage: make-mrt [--prefixes N] [--shape SHAPE] [--seed S] [--rib] [--ipv6] OUTPUT";

fn main() -> ExitCode {
    let mut prefixes = 1_000_000usize;
    let mut shape = TableShape::parse("4/100k").expect("a valid shape");
    let mut seed = TABLE_SEED;
    let mut output = None;
    let mut rib = false;
    let mut family = Family::IPV4_UNICAST;
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        let mut value = || arguments.next().unwrap_or_default();
        match argument.as_str() {
            "--prefixes" => prefixes = value().parse().expect("--prefixes N"),
            "--shape" => shape = TableShape::parse(&value()).expect("--shape"),
            "--seed" => seed = value().parse().expect("--seed S"),
            "--rib" => rib = true,
            "--ipv6" => family = Family::IPV6_UNICAST,
            _ if output.is_none() && !argument.starts_with('-') => output = Some(argument),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(output) = output else {
        eprintln!("{USAGE}");
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
    let updates = shaped_table(family, shape, prefixes, seed);
    let start = 1_733_000_000u32;
    if rib {
        write_rib(&updates, family, start, &mut writer);
        writer.flush().expect("flush");
        drop(writer);
        eprintln!(
            "make-mrt: a RIB dump of {prefixes} {family} prefixes, shape {} → {output}",
            shape.name()
        );
        return ExitCode::SUCCESS;
    }
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

/// One MRT record: common header (RFC 6396 §2), then `body`.
fn record(timestamp: u32, mrt_type: u16, subtype: u16, body: &[u8], writer: &mut dyn Write) {
    let mut header = Vec::with_capacity(12);
    header.extend_from_slice(&timestamp.to_be_bytes());
    header.extend_from_slice(&mrt_type.to_be_bytes());
    header.extend_from_slice(&subtype.to_be_bytes());
    header.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
    writer.write_all(&header).expect("write");
    writer.write_all(body).expect("write");
}

/// The table of `updates` as a TABLE_DUMP_V2 dump (see the module
/// documentation).
fn write_rib(updates: &[Bytes], family: Family, timestamp: u32, writer: &mut dyn Write) {
    // Every prefix, as its NLRI octets (length, then the prefix), with the
    // attribute block of its UPDATE as a RIB entry carries it.
    let mut routes: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for update in updates {
        let (_, attributes, nlri) = update_fields(update);
        let (attributes, nlri) = rib_attributes(attributes, nlri);
        let mut rest = &nlri[..];
        while let Some(&bits) = rest.first() {
            let octets = 1 + usize::from(bits).div_ceil(8);
            routes.push((rest[..octets].to_vec(), attributes.clone()));
            rest = &rest[octets..];
        }
    }
    routes.sort_by_key(|(prefix, _)| prefix_order(prefix));

    // PEER_INDEX_TABLE (§4.3.1): collector 192.0.2.1, no view name, two
    // IPv4 peers with four-octet AS numbers (peer type bit 1).
    let mut table = vec![192, 0, 2, 1, 0, 0, 0, 2];
    for (address, asn) in [([192, 0, 2, 2], 64_700u32), ([192, 0, 2, 3], 64_701)] {
        table.push(0b10);
        table.extend_from_slice(&address);
        table.extend_from_slice(&address);
        table.extend_from_slice(&asn.to_be_bytes());
    }
    record(timestamp, TABLE_DUMP_V2, PEER_INDEX_TABLE, &table, writer);

    let subtype = if family == Family::IPV4_UNICAST {
        RIB_IPV4_UNICAST
    } else {
        RIB_IPV6_UNICAST
    };
    let mut body = Vec::new();
    for (sequence, (prefix, attributes)) in routes.iter().enumerate() {
        // RIB record (§4.3.2): sequence, prefix, entries; an entry (§4.3.4):
        // peer index, originated time, attribute length, attributes.
        body.clear();
        body.extend_from_slice(&u32::try_from(sequence).unwrap().to_be_bytes());
        body.extend_from_slice(prefix);
        let peers: &[u16] = if sequence % 3 == 0 { &[0, 1] } else { &[0] };
        body.extend_from_slice(&u16::try_from(peers.len()).unwrap().to_be_bytes());
        for peer in peers {
            body.extend_from_slice(&peer.to_be_bytes());
            body.extend_from_slice(&timestamp.to_be_bytes());
            body.extend_from_slice(&u16::try_from(attributes.len()).unwrap().to_be_bytes());
            body.extend_from_slice(attributes);
        }
        record(timestamp, TABLE_DUMP_V2, subtype, &body, writer);
    }
}

/// An UPDATE's attribute block as a RIB entry holds it, and the NLRI it
/// announces: an MP_REACH_NLRI cut down to its next hop (RFC 6396 §4.3.4),
/// its prefixes returned instead of the NLRI field's.
fn rib_attributes(attributes: &[u8], nlri: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut kept = Vec::with_capacity(attributes.len());
    let mut announced = nlri.to_vec();
    let mut rest = attributes;
    while rest.len() >= 3 {
        let (flags, code) = (rest[0], rest[1]);
        let (header, length) = if flags & 0x10 != 0 {
            (4, usize::from(u16::from_be_bytes([rest[2], rest[3]])))
        } else {
            (3, usize::from(rest[2]))
        };
        let value = &rest[header..header + length];
        if code == MP_REACH_NLRI {
            // AFI (2), SAFI (1), next hop length and next hop, reserved (1), NLRI.
            let next_hop = usize::from(value[3]);
            let cut = &value[3..4 + next_hop];
            kept.extend_from_slice(&[flags & !0x10, code, u8::try_from(cut.len()).unwrap()]);
            kept.extend_from_slice(cut);
            announced = value[5 + next_hop..].to_vec();
        } else {
            kept.extend_from_slice(&rest[..header + length]);
        }
        rest = &rest[header + length..];
    }
    (kept, announced)
}

/// NLRI octets ordered as a RIB dump lists them: by address, then length.
fn prefix_order(nlri: &[u8]) -> (Vec<u8>, u8) {
    let mut address = nlri[1..].to_vec();
    address.resize(16, 0);
    (address, nlri[0])
}
