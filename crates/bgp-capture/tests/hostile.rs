//! Damaged and hostile input: truncation at every offset, random mutations, pathological segment
//! patterns. The readers must not panic, must not return more octets than they were given, and
//! must stay linear.

mod common;

use std::time::{Duration, Instant};

use bgp_capture::{messages_from_capture, mrt_records, CaptureMessages, MrtRecord};
use common::*;

const PORT: u16 = 179;

fn session_frames() -> Vec<TestFrame> {
    let client = socket("192.0.2.1:50000");
    let server = socket("[2001:db8::2]:179");
    let client6 = socket("[2001:db8::1]:50000");
    let long = update(700);
    frames(vec![
        ethernet(
            &ip_tcp(client, socket("192.0.2.2:179"), 1, SYN, &[]),
            &[(0x8100, 7)],
        ),
        ethernet(
            &ip_tcp(client, socket("192.0.2.2:179"), 2, PSH_ACK, &open()),
            &[(0x8100, 7)],
        ),
        ethernet(&ip_tcp(client6, server, 9, PSH_ACK, &long[..300]), &[]),
        ethernet(
            &ip_tcp(
                client6,
                server,
                309,
                PSH_ACK,
                &[&long[300..], &keepalive()[..]].concat(),
            ),
            &[],
        ),
        ethernet(
            &ip_tcp(client, socket("192.0.2.2:179"), 31, PSH_ACK, &update(60)),
            &[(0x8100, 7)],
        ),
    ])
}

fn synthetic_captures() -> Vec<Vec<u8>> {
    let frames = session_frames();
    vec![
        pcap_file(Endian::Little, false, 1, &frames),
        pcap_file(Endian::Big, true, 1, &frames),
        pcapng_file(Endian::Little, true, 1, &frames),
        pcapng_file(Endian::Big, false, 1, &frames),
    ]
}

fn synthetic_mrt() -> Vec<u8> {
    let peer = "198.51.100.1".parse().expect("literal");
    let local = "198.51.100.2".parse().expect("literal");
    let mut dump = mrt_record(1, 16, 4, &bgp4mp_body(true, peer, local, &update(80)));
    dump.extend(mrt_record(
        2,
        16,
        5,
        &bgp4mp_body(true, peer, local, &[0, 1, 0, 2]),
    ));
    let mut rib = 1u32.to_be_bytes().to_vec();
    // 10.1.2.0/24, one entry: peer 0, time 0, path id 0, 3 octets of attributes.
    rib.extend_from_slice(&[
        24, 10, 1, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3,
    ]);
    dump.extend(mrt_record(3, 13, 8, &rib));
    let mut peers = vec![10, 0, 0, 1, 0, 0, 0, 1, 2, 10, 0, 0, 2, 198, 51, 100, 1];
    peers.extend_from_slice(&65_000u32.to_be_bytes());
    dump.extend(mrt_record(4, 13, 1, &peers));
    dump
}

/// Total octets held by a capture result; every one of them was copied from the input at most once.
fn capture_octets(result: &CaptureMessages) -> usize {
    result
        .messages
        .iter()
        .map(|message| message.bytes.len())
        .sum()
}

fn mrt_octets(data: &[u8]) -> usize {
    mrt_records(data)
        .map(|record| match record {
            Ok(MrtRecord::Message(message)) => message.bytes.len(),
            Ok(MrtRecord::RibEntries {
                prefix, entries, ..
            }) => {
                prefix.len()
                    + entries
                        .iter()
                        .map(|entry| entry.attributes.len())
                        .sum::<usize>()
            }
            Ok(MrtRecord::TableDump { attributes, .. }) => attributes.len(),
            Ok(MrtRecord::PeerIndexTable { view_name, .. }) => view_name.len(),
            _ => 0,
        })
        .sum()
}

fn whole_messages(result: &CaptureMessages) -> Vec<Vec<u8>> {
    result
        .messages
        .iter()
        .filter(|message| message.is_whole())
        .map(|message| message.bytes.clone())
        .collect()
}

#[test]
fn every_prefix_of_a_capture_yields_a_prefix_of_its_messages() {
    for file in synthetic_captures() {
        let full = whole_messages(&messages_from_capture(&file, PORT).expect("valid capture"));
        assert_eq!(full.len(), 4);
        for cut in 0..file.len() {
            let Ok(result) = messages_from_capture(&file[..cut], PORT) else {
                continue;
            };
            let partial = whole_messages(&result);
            assert!(partial.len() <= full.len(), "cut at {cut}");
            assert_eq!(partial[..], full[..partial.len()], "cut at {cut}");
            assert!(capture_octets(&result) <= cut);
        }
    }
}

#[test]
fn every_prefix_of_an_mrt_dump_reads_without_panicking() {
    let dump = synthetic_mrt();
    let full = mrt_records(&dump).filter(Result::is_ok).count();
    assert_eq!(full, 4);
    for cut in 0..dump.len() {
        let records: Vec<_> = mrt_records(&dump[..cut]).collect();
        assert!(records.iter().filter(|record| record.is_ok()).count() <= full);
        // A cut never goes unnoticed: either it falls between records or the last item is an error.
        let between_records = records.iter().all(Result::is_ok);
        if between_records {
            assert!(records.len() < full || cut == dump.len());
        } else {
            assert!(records.last().is_some_and(Result::is_err), "cut at {cut}");
        }
        assert!(mrt_octets(&dump[..cut]) <= cut);
    }
}

fn mutate(random: &mut Random, input: &[u8]) -> Vec<u8> {
    let mut output = input.to_vec();
    for _ in 0..=random.below(4) {
        let position = random.below(output.len());
        match random.below(4) {
            0 => output[position] ^= 1 << random.below(8),
            1 => output[position] = [0, 0xff, 0x7f, 0x80][random.below(4)],
            2 => {
                output.remove(position);
            }
            _ => output.insert(position, random.next() as u8),
        }
        if output.is_empty() {
            output.push(0);
        }
    }
    output
}

#[test]
fn random_mutations_never_panic_or_inflate_the_output() {
    let mut random = Random::new(0x5eed);
    let captures = synthetic_captures();
    let dump = synthetic_mrt();
    for round in 0..1500 {
        let capture = mutate(&mut random, &captures[round % captures.len()]);
        if let Ok(result) = messages_from_capture(&capture, PORT) {
            assert!(capture_octets(&result) <= capture.len(), "round {round}");
        }
        let mutated_dump = mutate(&mut random, &dump);
        assert!(
            mrt_octets(&mutated_dump) <= mutated_dump.len(),
            "round {round}"
        );
    }
}

#[test]
fn pathological_segment_patterns_stay_fast() {
    let client = socket("192.0.2.1:50000");
    let server = socket("192.0.2.2:179");
    let big = update(65_000);
    let mut packets = Vec::new();
    // One near-maximal message delivered an octet at a time.
    for (index, octet) in big.iter().enumerate() {
        packets.push(ip_tcp(
            client,
            server,
            index as u32,
            PSH_ACK,
            std::slice::from_ref(octet),
        ));
    }
    // Then 3000 keepalives whose segments arrive in reverse order, the hole filled last.
    let base = big.len() as u32;
    let keepalives: Vec<u8> = (0..3000).flat_map(|_| keepalive()).collect();
    for index in (1..3000u32).rev() {
        let start = (index * 19) as usize;
        packets.push(ip_tcp(
            client,
            server,
            base + index * 19,
            PSH_ACK,
            &keepalives[start..start + 19],
        ));
    }
    packets.push(ip_tcp(client, server, base, PSH_ACK, &keepalives[..19]));
    let file = pcap_file(Endian::Little, false, 101, &frames(packets));
    let started = Instant::now();
    let result = messages_from_capture(&file, PORT).expect("valid capture");
    let elapsed = started.elapsed();
    assert_eq!(result.messages.len(), 3001);
    assert_eq!(result.messages[0].bytes, big);
    assert!(result.problems.is_empty(), "{:?}", result.problems);
    // Generous even for an unoptimised build on a busy machine; a quadratic reader takes minutes.
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}
