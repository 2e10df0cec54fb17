//! Synthetic MRT dumps (RFC 6396, RFC 8050): every supported type, damaged records, gzip.

mod common;

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp_capture::{
    decompress_if_gzip, mrt_records, CaptureError, MrtError, MrtHeaderInfo, MrtPeer, MrtRecord,
    Origin, RibEntry,
};
use common::*;

const BGP4MP: u16 = 16;
const BGP4MP_ET: u16 = 17;
const TABLE_DUMP_V2: u16 = 13;
const TABLE_DUMP: u16 = 12;

fn peer4() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1))
}

fn local4() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2))
}

fn peer6() -> IpAddr {
    IpAddr::V6("2001:db8::1".parse().expect("literal"))
}

fn local6() -> IpAddr {
    IpAddr::V6("2001:db8::2".parse().expect("literal"))
}

fn all(data: &[u8]) -> Vec<Result<MrtRecord, MrtError>> {
    mrt_records(data).collect()
}

fn message_header(record: &Result<MrtRecord, MrtError>) -> (&[u8], &MrtHeaderInfo) {
    match record {
        Ok(MrtRecord::Message(message)) => match &message.origin {
            Origin::Mrt(header) => (&message.bytes, header),
            Origin::Pcap { .. } => panic!("MRT message with pcap origin"),
        },
        other => panic!("expected a message, got {other:?}"),
    }
}

#[test]
fn bgp4mp_message_subtypes_set_asn_width_and_add_path() {
    // (subtype, four-octet AS, ADD-PATH) per RFC 6396 §4.4 and RFC 8050 §3.
    let subtypes = [
        (1, false, false),
        (4, true, false),
        (6, false, false),
        (7, true, false),
        (8, false, true),
        (9, true, true),
        (10, false, true),
        (11, true, true),
    ];
    let message = update(25);
    let mut dump = Vec::new();
    for (subtype, four_octet_asn, _) in subtypes {
        dump.extend(mrt_record(
            1_600_000_000,
            BGP4MP,
            subtype,
            &bgp4mp_body(four_octet_asn, peer4(), local4(), &message),
        ));
    }
    let records = all(&dump);
    assert_eq!(records.len(), subtypes.len());
    for ((subtype, four_octet_asn, add_path), (index, record)) in
        subtypes.into_iter().zip(records.iter().enumerate())
    {
        let (bytes, header) = message_header(record);
        assert_eq!(bytes, message.as_slice());
        assert_eq!(header.record, index as u64 + 1);
        assert_eq!(header.subtype, subtype);
        assert_eq!(header.four_octet_asn, four_octet_asn);
        assert_eq!(header.add_path, add_path);
        assert_eq!(header.peer_address, peer4());
        assert_eq!(header.local_address, local4());
        assert_eq!(header.interface_index, 7);
        assert_eq!(header.microseconds, None);
        let expected_peer_as = if four_octet_asn {
            4_200_000_001
        } else {
            64_501
        };
        assert_eq!(header.peer_as, expected_peer_as);
    }
}

#[test]
fn bgp4mp_et_reads_the_microsecond_field_first() {
    let message = keepalive();
    let mut body = 123_456u32.to_be_bytes().to_vec();
    body.extend(bgp4mp_body(true, peer6(), local6(), &message));
    let records = all(&mrt_record(1_600_000_001, BGP4MP_ET, 4, &body));
    let (bytes, header) = message_header(&records[0]);
    assert_eq!(bytes, message.as_slice());
    assert_eq!(header.microseconds, Some(123_456));
    assert_eq!(header.mrt_type, BGP4MP_ET);
    assert_eq!(header.timestamp, 1_600_000_001);
    assert_eq!(header.peer_address, peer6());
    assert_eq!(header.local_as, 4_200_000_002);
}

#[test]
fn state_changes_in_both_asn_widths() {
    let mut dump = mrt_record(
        5,
        BGP4MP,
        0,
        &bgp4mp_body(false, peer4(), local4(), &[0, 3, 0, 4]),
    );
    dump.extend(mrt_record(
        6,
        BGP4MP,
        5,
        &bgp4mp_body(true, peer6(), local6(), &[0, 6, 0, 1]),
    ));
    let records = all(&dump);
    match &records[..] {
        [Ok(MrtRecord::StateChange {
            header: first,
            old_state: 3,
            new_state: 4,
        }), Ok(MrtRecord::StateChange {
            header: second,
            old_state: 6,
            new_state: 1,
        })] => {
            assert_eq!((first.peer_as, first.four_octet_asn), (64_501, false));
            assert_eq!(
                (second.peer_as, second.four_octet_asn),
                (4_200_000_001, true)
            );
            assert_eq!(second.record, 2);
        }
        other => panic!("unexpected records {other:?}"),
    }
}

fn peer_index_table_body() -> Vec<u8> {
    let mut body = vec![192, 0, 2, 100];
    body.extend_from_slice(&4u16.to_be_bytes());
    body.extend_from_slice(b"rib1");
    body.extend_from_slice(&2u16.to_be_bytes());
    // Peer 0: IPv4 address, 2-octet AS. Peer 1: IPv6 address, 4-octet AS.
    body.push(0);
    body.extend_from_slice(&[10, 0, 0, 1]);
    body.extend_from_slice(&[198, 51, 100, 1]);
    body.extend_from_slice(&65_000u16.to_be_bytes());
    body.push(0b11);
    body.extend_from_slice(&[10, 0, 0, 2]);
    body.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().expect("literal").octets());
    body.extend_from_slice(&4_200_000_000u32.to_be_bytes());
    body
}

fn rib_entry(peer_index: u16, path_id: Option<u32>, attributes: &[u8]) -> Vec<u8> {
    let mut entry = peer_index.to_be_bytes().to_vec();
    entry.extend_from_slice(&1_500_000_000u32.to_be_bytes());
    if let Some(path_id) = path_id {
        entry.extend_from_slice(&path_id.to_be_bytes());
    }
    entry.extend_from_slice(&u16::try_from(attributes.len()).expect("fits").to_be_bytes());
    entry.extend_from_slice(attributes);
    entry
}

#[test]
fn table_dump_v2_peer_index_and_rib_records() {
    let attributes = [0x40, 1, 1, 0, 0x40, 2, 0];
    let mut ipv4_rib = 42u32.to_be_bytes().to_vec();
    ipv4_rib.extend_from_slice(&[20, 203, 0, 112]); // 203.0.112.0/20: 3 prefix octets
    ipv4_rib.extend_from_slice(&2u16.to_be_bytes());
    ipv4_rib.extend(rib_entry(0, None, &attributes));
    ipv4_rib.extend(rib_entry(1, None, &[]));
    let mut ipv6_addpath = 43u32.to_be_bytes().to_vec();
    ipv6_addpath.extend_from_slice(&[32, 0x20, 0x01, 0x0d, 0xb8]);
    ipv6_addpath.extend_from_slice(&1u16.to_be_bytes());
    ipv6_addpath.extend(rib_entry(1, Some(77), &attributes));
    let mut generic = 44u32.to_be_bytes().to_vec();
    generic.extend_from_slice(&1u16.to_be_bytes());
    generic.push(128); // SAFI 128, MPLS-labelled VPN
                       // 96 bits: label (24), route distinguisher (64), 8 bits of prefix.
    generic.extend_from_slice(&[96, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 10]);
    generic.extend_from_slice(&0u16.to_be_bytes());
    let mut dump = mrt_record(9, TABLE_DUMP_V2, 1, &peer_index_table_body());
    dump.extend(mrt_record(9, TABLE_DUMP_V2, 2, &ipv4_rib));
    dump.extend(mrt_record(9, TABLE_DUMP_V2, 10, &ipv6_addpath));
    dump.extend(mrt_record(9, TABLE_DUMP_V2, 6, &generic));
    let records: Vec<MrtRecord> = mrt_records(&dump)
        .map(|record| record.expect("valid"))
        .collect();
    assert_eq!(
        records[0],
        MrtRecord::PeerIndexTable {
            record: 1,
            collector_id: Ipv4Addr::new(192, 0, 2, 100),
            view_name: "rib1".to_owned(),
            peers: vec![
                MrtPeer {
                    bgp_id: Ipv4Addr::new(10, 0, 0, 1),
                    address: peer4(),
                    asn: 65_000
                },
                MrtPeer {
                    bgp_id: Ipv4Addr::new(10, 0, 0, 2),
                    address: peer6(),
                    asn: 4_200_000_000
                },
            ],
        }
    );
    assert_eq!(
        records[1],
        MrtRecord::RibEntries {
            record: 2,
            timestamp: 9,
            subtype: 2,
            sequence: 42,
            afi: 1,
            safi: 1,
            prefix: vec![20, 203, 0, 112],
            entries: vec![
                RibEntry {
                    peer_index: 0,
                    originated_time: 1_500_000_000,
                    path_id: None,
                    attributes: attributes.to_vec()
                },
                RibEntry {
                    peer_index: 1,
                    originated_time: 1_500_000_000,
                    path_id: None,
                    attributes: vec![]
                },
            ],
        }
    );
    match &records[2] {
        MrtRecord::RibEntries {
            afi: 2,
            safi: 1,
            prefix,
            entries,
            ..
        } => {
            assert_eq!(prefix, &[32, 0x20, 0x01, 0x0d, 0xb8]);
            assert_eq!(entries[0].path_id, Some(77));
            assert_eq!(entries[0].attributes, attributes);
        }
        other => panic!("unexpected {other:?}"),
    }
    match &records[3] {
        MrtRecord::RibEntries {
            subtype: 6,
            afi: 1,
            safi: 128,
            prefix,
            entries,
            ..
        } => {
            assert_eq!(prefix.len(), 13);
            assert!(entries.is_empty());
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn legacy_table_dump_for_both_families() {
    let attributes = [0x40, 1, 1, 2];
    let mut ipv4 = vec![0, 0, 0, 1, 203, 0, 113, 0, 24, 1];
    ipv4.extend_from_slice(&1_400_000_000u32.to_be_bytes());
    ipv4.extend_from_slice(&[198, 51, 100, 1]);
    ipv4.extend_from_slice(&64_512u16.to_be_bytes());
    ipv4.extend_from_slice(&4u16.to_be_bytes());
    ipv4.extend_from_slice(&attributes);
    let mut ipv6 = vec![0, 0, 0, 2];
    ipv6.extend_from_slice(
        &"2001:db8:1::"
            .parse::<Ipv6Addr>()
            .expect("literal")
            .octets(),
    );
    ipv6.extend_from_slice(&[48, 1]);
    ipv6.extend_from_slice(&1_400_000_000u32.to_be_bytes());
    ipv6.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().expect("literal").octets());
    ipv6.extend_from_slice(&64_513u16.to_be_bytes());
    ipv6.extend_from_slice(&0u16.to_be_bytes());
    let mut dump = mrt_record(3, TABLE_DUMP, 1, &ipv4);
    dump.extend(mrt_record(4, TABLE_DUMP, 2, &ipv6));
    let records: Vec<MrtRecord> = mrt_records(&dump)
        .map(|record| record.expect("valid"))
        .collect();
    assert_eq!(
        records[0],
        MrtRecord::TableDump {
            record: 1,
            timestamp: 3,
            afi: 1,
            prefix: "203.0.113.0".parse().expect("literal"),
            prefix_length: 24,
            peer_address: peer4(),
            peer_as: 64_512,
            attributes: attributes.to_vec(),
        }
    );
    assert!(matches!(
        &records[1],
        MrtRecord::TableDump { afi: 2, prefix_length: 48, peer_as: 64_513, attributes, .. } if attributes.is_empty()
    ));
}

#[test]
fn other_types_are_counted_not_parsed() {
    let mut dump = mrt_record(1, 48, 3, &[1, 2, 3]); // OSPFv3
    dump.extend(mrt_record(1, BGP4MP, 2, &[9; 8])); // deprecated BGP4MP_ENTRY
    dump.extend(mrt_record(1, TABLE_DUMP_V2, 7, &[])); // GEO_PEER_TABLE
    let records: Vec<_> = all(&dump);
    assert_eq!(
        records,
        [
            Ok(MrtRecord::Other {
                record: 1,
                mrt_type: 48,
                subtype: 3,
                length: 3
            }),
            Ok(MrtRecord::Other {
                record: 2,
                mrt_type: BGP4MP,
                subtype: 2,
                length: 8
            }),
            Ok(MrtRecord::Other {
                record: 3,
                mrt_type: TABLE_DUMP_V2,
                subtype: 7,
                length: 0
            }),
        ]
    );
}

#[test]
fn short_record_is_an_error_and_reading_continues() {
    let good = mrt_record(
        1,
        BGP4MP,
        1,
        &bgp4mp_body(false, peer4(), local4(), &keepalive()),
    );
    // A MESSAGE_AS4 body that stops inside the local IP address.
    let short_body = &bgp4mp_body(true, peer4(), local4(), &[])[..18];
    // An old-Zebra style record: the AS numbers, then straight to the BGP message.
    let mut zebra = vec![0, 0, 0, 0];
    zebra.extend(open());
    let mut dump = good.clone();
    dump.extend(mrt_record(2, BGP4MP, 4, short_body));
    dump.extend(mrt_record(3, BGP4MP, 1, &zebra));
    dump.extend(good);
    let records = all(&dump);
    assert_eq!(records.len(), 4);
    assert_eq!(
        records[1],
        Err(MrtError::ShortField {
            record: 2,
            mrt_type: BGP4MP,
            subtype: 4,
            field: "local IP address",
            offset: 16,
            needed: 4,
            available: 2,
        })
    );
    let zebra_error = records[2].as_ref().expect_err("no address family");
    assert_eq!(zebra_error.record(), 3);
    assert_eq!(zebra_error.record_type(), Some((BGP4MP, 1)));
    assert!(
        zebra_error
            .to_string()
            .contains("unknown address family 65535"),
        "{zebra_error}"
    );
    assert_eq!(message_header(&records[3]).1.record, 4);
}

#[test]
fn message_record_with_a_cut_bgp_message_is_returned_as_not_whole() {
    let message = update(40);
    let body = bgp4mp_body(false, peer4(), local4(), &message[..30]);
    let records = all(&mrt_record(1, BGP4MP, 1, &body));
    match &records[..] {
        [Ok(MrtRecord::Message(captured))] => {
            assert!(!captured.is_whole());
            assert_eq!(captured.declared_length(), Some(59));
            assert_eq!(captured.message_type(), Some(2));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn truncated_header_or_body_ends_the_iteration() {
    let good = mrt_record(
        1,
        BGP4MP,
        1,
        &bgp4mp_body(false, peer4(), local4(), &keepalive()),
    );
    let mut cut_header = good.clone();
    cut_header.extend_from_slice(&good[..7]);
    let records = all(&cut_header);
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[1],
        Err(MrtError::TruncatedHeader {
            record: 2,
            offset: good.len(),
            available: 7
        })
    );

    let mut cut_body = good.clone();
    cut_body.extend_from_slice(&good[..good.len() - 1]);
    let records = all(&cut_body);
    assert_eq!(records.len(), 2);
    assert!(matches!(
        records[1],
        Err(MrtError::TruncatedBody { record: 2, declared, .. }) if declared as usize == good.len() - 12
    ));
}

#[test]
fn hostile_counts_and_prefix_lengths_are_errors_not_allocations() {
    // 65535 RIB entries announced in a 7-octet body.
    let mut rib = 1u32.to_be_bytes().to_vec();
    rib.extend_from_slice(&[0, 0xff, 0xff]);
    let mut peers = vec![0; 4];
    peers.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut dump = mrt_record(1, TABLE_DUMP_V2, 2, &rib);
    dump.extend(mrt_record(1, TABLE_DUMP_V2, 1, &peers));
    dump.extend(mrt_record(1, TABLE_DUMP_V2, 4, &[0, 0, 0, 1, 129]));
    let records = all(&dump);
    assert!(matches!(
        &records[0],
        Err(MrtError::ShortField {
            field: "RIB entry peer index",
            ..
        })
    ));
    assert!(matches!(
        &records[1],
        Err(MrtError::ShortField {
            field: "peer type",
            ..
        })
    ));
    assert!(matches!(
        &records[2],
        Err(MrtError::PrefixTooLong {
            prefix_length: 129,
            maximum: 128,
            ..
        })
    ));
}

#[test]
fn gzip_wrapped_dump_is_inflated_within_the_limit() {
    let dump = mrt_record(
        7,
        BGP4MP,
        4,
        &bgp4mp_body(true, peer4(), local4(), &update(500)),
    );
    let compressed = gzip(&dump);
    assert_eq!(&compressed[..2], &[0x1f, 0x8b]);
    let inflated = decompress_if_gzip(&compressed, dump.len()).expect("within the limit");
    assert!(matches!(inflated, Cow::Owned(_)));
    assert_eq!(inflated.as_ref(), dump.as_slice());
    let first = mrt_records(&inflated).next().expect("one record");
    assert_eq!(message_header(&first).0, update(500).as_slice());

    assert!(matches!(
        decompress_if_gzip(&compressed, dump.len() - 1),
        Err(CaptureError::DecompressedTooLarge { .. })
    ));
    assert!(matches!(decompress_if_gzip(&dump, 0), Ok(Cow::Borrowed(_))));
    assert!(matches!(
        decompress_if_gzip(&compressed[..compressed.len() / 2], usize::MAX),
        Err(CaptureError::Gzip(_))
    ));
    // Concatenated members inflate to the concatenation, as `gzip -d` does.
    let twice = [compressed.clone(), compressed].concat();
    let inflated = decompress_if_gzip(&twice, usize::MAX).expect("two members");
    assert_eq!(mrt_records(&inflated).count(), 2);
}
