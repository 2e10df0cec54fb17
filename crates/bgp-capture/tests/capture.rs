//! Synthetic pcap and pcapng captures: container formats, link layers, TCP reassembly, framing.

mod common;

use bgp_capture::{
    messages_from_capture, BlockDefect, CaptureError, CaptureMessages, CapturedMessage, Flow,
    Origin, StreamProblem,
};
use common::*;

const PORT: u16 = 179;
const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_RAW: u32 = 101;

fn client() -> std::net::SocketAddr {
    socket("192.0.2.1:50000")
}

fn server() -> std::net::SocketAddr {
    socket("192.0.2.2:179")
}

fn client_flow() -> Flow {
    Flow {
        source: client(),
        destination: server(),
    }
}

/// A raw-IP pcap (link type 101) of client -> server segments given as (sequence, flags, payload).
fn raw_capture(segments: &[(u32, u8, Vec<u8>)]) -> Vec<u8> {
    let packets = segments
        .iter()
        .map(|(sequence, flags, payload)| ip_tcp(client(), server(), *sequence, *flags, payload))
        .collect();
    pcap_file(Endian::Little, false, LINKTYPE_RAW, &frames(packets))
}

fn read(file: &[u8]) -> CaptureMessages {
    messages_from_capture(file, PORT).expect("a readable capture")
}

fn frame_of(message: &CapturedMessage) -> u64 {
    match message.origin {
        Origin::Pcap { frame, .. } => frame,
        Origin::Mrt(_) => panic!("capture message with MRT origin"),
    }
}

fn bytes(messages: &[CapturedMessage]) -> Vec<Vec<u8>> {
    messages
        .iter()
        .map(|message| message.bytes.clone())
        .collect()
}

/// The same short session (SYN, OPEN, KEEPALIVE + UPDATE in one segment) from both sides.
fn session_packets() -> Vec<Vec<u8>> {
    let isn_client = 1000;
    let isn_server = 90_000;
    let open = open();
    let mut pair = keepalive();
    pair.extend(update(30));
    vec![
        ip_tcp(client(), server(), isn_client, SYN, &[]),
        ip_tcp(server(), client(), isn_server, SYN | ACK, &[]),
        ip_tcp(client(), server(), isn_client + 1, PSH_ACK, &open),
        ip_tcp(server(), client(), isn_server + 1, PSH_ACK, &open),
        ip_tcp(
            client(),
            server(),
            isn_client + 1 + open.len() as u32,
            PSH_ACK,
            &pair,
        ),
    ]
}

fn assert_session(result: &CaptureMessages) {
    assert!(result.problems.is_empty(), "{:?}", result.problems);
    let types: Vec<_> = result
        .messages
        .iter()
        .map(CapturedMessage::message_type)
        .collect();
    assert_eq!(types, [Some(1), Some(1), Some(4), Some(2)]);
    let frames: Vec<_> = result.messages.iter().map(frame_of).collect();
    assert_eq!(frames, [3, 4, 5, 5]);
    assert!(result.messages.iter().all(CapturedMessage::is_whole));
    match &result.messages[1].origin {
        Origin::Pcap {
            flow,
            timestamp_micros,
            ..
        } => {
            assert_eq!(flow.source, server());
            assert_eq!(*timestamp_micros, 1_700_000_000_003_000);
        }
        Origin::Mrt(_) => panic!("wrong origin"),
    }
}

#[test]
fn pcap_in_both_byte_orders_and_both_resolutions_gives_the_same_messages() {
    let frames = frames(
        session_packets()
            .into_iter()
            .map(|packet| ethernet(&packet, &[]))
            .collect(),
    );
    for endian in [Endian::Little, Endian::Big] {
        for nanoseconds in [false, true] {
            let file = pcap_file(endian, nanoseconds, LINKTYPE_ETHERNET, &frames);
            assert_session(&read(&file));
        }
    }
}

#[test]
fn pcapng_in_both_byte_orders_with_nanosecond_resolution_gives_the_same_messages() {
    let frames = frames(
        session_packets()
            .into_iter()
            .map(|packet| ethernet(&packet, &[]))
            .collect(),
    );
    for endian in [Endian::Little, Endian::Big] {
        for nanoseconds in [false, true] {
            let file = pcapng_file(endian, nanoseconds, 1, &frames);
            assert_session(&read(&file));
        }
    }
}

#[test]
fn pcapng_simple_and_obsolete_packet_blocks_and_unknown_blocks_are_handled() {
    let endian = Endian::Big;
    let packets = session_packets();
    let mut file = section_header(endian);
    file.extend(pcapng_block(
        endian,
        0x0000_0bad,
        b"custom block, to be skipped",
    ));
    file.extend(interface_description(endian, 101, false));
    // Frame 1 in a Simple Packet Block (no timestamp), frame 2 in an obsolete Packet Block.
    let mut simple = endian
        .u32(u32::try_from(packets[0].len()).expect("fits"))
        .to_vec();
    simple.extend_from_slice(&packets[0]);
    file.extend(pcapng_block(endian, 3, &simple));
    let mut obsolete = endian.u16(0).to_vec();
    obsolete.extend_from_slice(&endian.u16(0));
    obsolete.extend_from_slice(&endian.u32(0));
    obsolete.extend_from_slice(&endian.u32(1_700_000_000_001_000u64 as u32));
    let length = endian.u32(u32::try_from(packets[1].len()).expect("fits"));
    obsolete.extend_from_slice(&length);
    obsolete.extend_from_slice(&length);
    obsolete.extend_from_slice(&packets[1]);
    file.extend(pcapng_block(endian, 2, &obsolete));
    for (index, packet) in packets.iter().enumerate().skip(2) {
        let frame = TestFrame::new(1_700_000_000_000_000 + index as u64 * 1000, packet.clone());
        file.extend(enhanced_packet(endian, 0, frame.timestamp_micros, &frame));
    }
    assert_session(&read(&file));
}

#[test]
fn pcapng_sections_may_switch_byte_order_and_interfaces_restart_per_section() {
    let packets = session_packets();
    let all = frames(packets);
    let mut file = pcapng_file(Endian::Little, false, 101, &all[..2]);
    file.extend(pcapng_file(Endian::Big, true, 101, &all[2..]));
    assert_session(&read(&file));
}

#[test]
fn ethernet_with_vlan_tags_is_decoded() {
    let single = frames(
        session_packets()
            .into_iter()
            .map(|packet| ethernet(&packet, &[(0x8100, 100)]))
            .collect(),
    );
    assert_session(&read(&pcap_file(
        Endian::Little,
        false,
        LINKTYPE_ETHERNET,
        &single,
    )));
    let stacked = frames(
        session_packets()
            .into_iter()
            .map(|packet| ethernet(&packet, &[(0x88a8, 20), (0x8100, 100)]))
            .collect(),
    );
    assert_session(&read(&pcap_file(
        Endian::Little,
        false,
        LINKTYPE_ETHERNET,
        &stacked,
    )));
}

#[test]
fn linux_cooked_loopback_and_raw_link_types_are_decoded() {
    type Wrap = fn(&[u8]) -> Vec<u8>;
    let cases: [(u32, Wrap); 4] = [
        (113, sll),
        (276, sll2),
        (0, null_loopback),
        (228, <[u8]>::to_vec),
    ];
    for (link_type, wrap) in cases {
        let packets = frames(
            session_packets()
                .iter()
                .map(|packet| wrap(packet))
                .collect(),
        );
        let result = read(&pcap_file(Endian::Little, false, link_type, &packets));
        assert_session(&result);
    }
}

#[test]
fn ipv6_with_extension_header_over_sll2_is_decoded() {
    let client6 = socket("[2001:db8::1]:50000");
    let server6 = socket("[2001:db8::2]:179");
    let message = update(100);
    let packets = vec![
        sll2(&ip_tcp(client6, server6, 5, SYN, &[])),
        sll2(&ip_tcp(client6, server6, 6, PSH_ACK, &message)),
    ];
    let result = read(&pcap_file(Endian::Big, false, 276, &frames(packets)));
    assert_eq!(bytes(&result.messages), [message]);
    match &result.messages[0].origin {
        Origin::Pcap { flow, frame, .. } => {
            assert_eq!(
                *flow,
                Flow {
                    source: client6,
                    destination: server6
                }
            );
            assert_eq!(*frame, 2);
        }
        Origin::Mrt(_) => panic!("wrong origin"),
    }
}

#[test]
fn message_split_across_two_segments_completes_in_the_second_frame() {
    let message = update(200);
    let (first, second) = message.split_at(7);
    let file = raw_capture(&[
        (100, PSH_ACK, first.to_vec()),
        (107, PSH_ACK, second.to_vec()),
    ]);
    let result = read(&file);
    assert_eq!(bytes(&result.messages), [message]);
    assert_eq!(frame_of(&result.messages[0]), 2);
    assert!(result.problems.is_empty(), "{:?}", result.problems);
}

#[test]
fn two_messages_in_one_segment_are_both_returned_in_order() {
    let mut payload = update(40);
    payload.extend(keepalive());
    let result = read(&raw_capture(&[(1, PSH_ACK, payload)]));
    assert_eq!(bytes(&result.messages), [update(40), keepalive()]);
}

#[test]
fn retransmitted_segments_are_ignored_and_partial_overlaps_trimmed() {
    let first = update(20);
    let second = keepalive();
    let mut both = first.clone();
    both.extend(second.clone());
    let file = raw_capture(&[
        (500, PSH_ACK, first.clone()),
        (500, PSH_ACK, first.clone()),
        // A retransmission repacketised with new data appended.
        (500, PSH_ACK, both),
    ]);
    let result = read(&file);
    assert_eq!(bytes(&result.messages), [first, second]);
    assert_eq!(frame_of(&result.messages[1]), 3);
    assert!(result.problems.is_empty(), "{:?}", result.problems);
}

#[test]
fn out_of_order_segments_are_buffered_until_the_hole_fills() {
    let messages = [update(10), keepalive(), update(50)];
    let stream: Vec<u8> = messages.concat();
    let (a, rest) = stream.split_at(20);
    let (b, c) = rest.split_at(25);
    let file = raw_capture(&[
        (0, PSH_ACK, a.to_vec()),
        (45, PSH_ACK, c.to_vec()),
        (20, PSH_ACK, b.to_vec()),
    ]);
    let result = read(&file);
    assert_eq!(bytes(&result.messages), messages);
    // Every message became whole when frame 3 filled the hole.
    assert!(result.messages.iter().all(|message| frame_of(message) == 3));
    assert!(result.problems.is_empty(), "{:?}", result.problems);
}

#[test]
fn incomplete_trailing_message_is_reported_not_returned() {
    let whole = keepalive();
    let partial = update(100)[..60].to_vec();
    let result = read(&raw_capture(&[
        (1, PSH_ACK, whole.clone()),
        (20, PSH_ACK, partial),
    ]));
    assert_eq!(bytes(&result.messages), [whole]);
    assert_eq!(
        result.problems,
        [StreamProblem::IncompleteMessage {
            flow: client_flow(),
            frame: 2,
            available_octets: 60,
            declared_length: Some(119),
            message_type: Some(2),
        }]
    );
    let warning = result.problems[0].to_string();
    assert!(warning.contains("60 octets of 119"), "{warning}");
}

#[test]
fn header_length_below_19_stops_framing_and_returns_the_rest_as_one_damaged_message() {
    let good = keepalive();
    let mut bad = vec![0xff; 16];
    bad.extend_from_slice(&[0, 4, 4]);
    let later = update(10);
    let file = raw_capture(&[
        (1, PSH_ACK, good.clone()),
        (20, PSH_ACK, bad.clone()),
        (39, PSH_ACK, later.clone()),
    ]);
    let result = read(&file);
    assert_eq!(result.messages.len(), 2);
    assert_eq!(result.messages[0].bytes, good);
    let damaged = &result.messages[1];
    assert!(!damaged.is_whole());
    assert_eq!(damaged.bytes, [bad, later].concat());
    assert_eq!(damaged.declared_length(), Some(4));
    assert_eq!(frame_of(damaged), 3);
    assert_eq!(
        result.problems,
        [StreamProblem::BadMessageLength {
            flow: client_flow(),
            frame: 2,
            declared_length: 4,
        }]
    );
}

#[test]
fn missing_segment_is_a_gap_and_framing_resumes_at_the_next_marker() {
    let first = update(30);
    let lost = update(30);
    let after = [update(5), keepalive()].concat();
    // Segment 2 carries the tail of `lost` plus `after`; `lost`'s head never arrives.
    let start_lost = 1 + first.len() as u32;
    let tail_offset = 20;
    let mut second = lost[tail_offset..].to_vec();
    second.extend(after.clone());
    let file = raw_capture(&[
        (1, PSH_ACK, [first.clone(), lost[..5].to_vec()].concat()),
        (start_lost + tail_offset as u32, PSH_ACK, second),
    ]);
    let result = read(&file);
    assert_eq!(bytes(&result.messages), [first, update(5), keepalive()]);
    assert_eq!(
        result.problems,
        [
            StreamProblem::Gap {
                flow: client_flow(),
                frame: 2,
                expected_sequence: start_lost + 5,
                resumed_sequence: start_lost + tail_offset as u32,
            },
            StreamProblem::IncompleteMessage {
                flow: client_flow(),
                frame: 1,
                available_octets: 5,
                declared_length: None,
                message_type: None,
            },
            StreamProblem::SkippedAfterGap {
                flow: client_flow(),
                frame: 2,
                skipped_octets: (lost.len() - tail_offset) as u64,
                marker_found: true,
            },
        ]
    );
    assert!(result.problems[0].to_string().contains("15 octets missing"));
}

#[test]
fn syn_counts_one_and_a_new_syn_starts_a_new_connection() {
    let file = raw_capture(&[
        (10, SYN, vec![]),
        (11, PSH_ACK, keepalive()),
        (30, PSH_ACK, update(50)[..30].to_vec()),
        // Same ports, new ISN: the half message above is left over.
        (7000, SYN, vec![]),
        (7001, PSH_ACK, open()),
    ]);
    let result = read(&file);
    assert_eq!(bytes(&result.messages), [keepalive(), open()]);
    assert!(matches!(
        result.problems[..],
        [StreamProblem::IncompleteMessage {
            available_octets: 30,
            frame: 3,
            ..
        }]
    ));
}

#[test]
fn data_in_a_syn_is_placed_by_the_segment_that_follows() {
    let opening = open();
    let length = opening.len() as u32;
    // RFC 9293 numbering: the data follows the SYN's own number.
    let standard = raw_capture(&[
        (100, SYN, opening.clone()),
        (101 + length, PSH_ACK, keepalive()),
    ]);
    // Capture generators that number the data from the SYN itself.
    let generated = raw_capture(&[
        (100, SYN, opening.clone()),
        (100 + length, PSH_ACK, keepalive()),
    ]);
    for file in [standard, generated] {
        let result = read(&file);
        assert_eq!(bytes(&result.messages), [opening.clone(), keepalive()]);
        assert!(result.problems.is_empty(), "{:?}", result.problems);
    }
}

#[test]
fn other_ports_and_zero_length_segments_are_ignored() {
    let elsewhere = ip_tcp(
        socket("192.0.2.1:40000"),
        socket("192.0.2.9:443"),
        1,
        PSH_ACK,
        &keepalive(),
    );
    let packets = vec![
        elsewhere,
        ip_tcp(client(), server(), 1, ACK, &[]),
        ip_tcp(server(), client(), 77, PSH_ACK, &keepalive()),
    ];
    let result = read(&pcap_file(
        Endian::Little,
        false,
        LINKTYPE_RAW,
        &frames(packets),
    ));
    assert_eq!(result.messages.len(), 1);
    assert_eq!(frame_of(&result.messages[0]), 3);
}

#[test]
fn messages_of_interleaved_flows_come_in_the_order_their_last_octet_arrived() {
    let other = socket("192.0.2.3:50001");
    let long = update(300);
    let packets = vec![
        ip_tcp(client(), server(), 1, PSH_ACK, &long[..100]),
        ip_tcp(other, server(), 1, PSH_ACK, &keepalive()),
        ip_tcp(client(), server(), 101, PSH_ACK, &long[100..]),
        ip_tcp(other, server(), 20, PSH_ACK, &open()),
    ];
    let result = read(&pcap_file(
        Endian::Little,
        false,
        LINKTYPE_RAW,
        &frames(packets),
    ));
    assert_eq!(bytes(&result.messages), [keepalive(), long, open()]);
}

#[test]
fn truncated_frames_and_ip_fragments_are_reported() {
    let message = update(100);
    let mut cut = TestFrame::new(1, ip_tcp(client(), server(), 1, PSH_ACK, &message));
    cut.data.truncate(cut.data.len() - 40);
    // The first fragment carries the segment that follows the cut one.
    let segment = tcp_segment(
        client(),
        server(),
        1 + message.len() as u32,
        PSH_ACK,
        &keepalive(),
    );
    let first_fragment = ipv4_packet([192, 0, 2, 1], [192, 0, 2, 2], 6, 0x2000, &segment);
    let later_fragment = ipv4_packet([192, 0, 2, 1], [192, 0, 2, 2], 6, 0x0005, b"rest of it");
    let file = pcap_file(
        Endian::Big,
        false,
        LINKTYPE_RAW,
        &[
            cut,
            TestFrame::new(2, first_fragment),
            TestFrame::new(3, later_fragment),
        ],
    );
    let result = read(&file);
    assert!(result.problems.iter().any(|problem| matches!(
        problem,
        StreamProblem::TruncatedFrame {
            frame: 1,
            flow: Some(_),
            ..
        }
    )));
    assert!(result.problems.iter().any(|problem| matches!(
        problem,
        StreamProblem::Fragment {
            frame: 2,
            first_fragment: true,
            ..
        }
    )));
    assert!(result.problems.iter().any(|problem| matches!(
        problem,
        StreamProblem::Fragment {
            frame: 3,
            first_fragment: false,
            ..
        }
    )));
    // The octets the cut frame lost are a gap; framing resumes at the fragment's KEEPALIVE.
    assert!(result
        .problems
        .iter()
        .any(|problem| matches!(problem, StreamProblem::Gap { .. })));
    assert_eq!(bytes(&result.messages), [keepalive()]);
}

#[test]
fn file_cut_mid_record_keeps_earlier_messages() {
    let mut file = raw_capture(&[(1, PSH_ACK, keepalive()), (20, PSH_ACK, keepalive())]);
    file.truncate(file.len() - 10);
    let result = read(&file);
    assert_eq!(result.messages.len(), 1);
    assert!(matches!(
        result.problems[..],
        [StreamProblem::CaptureTruncated { available, .. }] if available > 0
    ));
}

#[test]
fn damaged_pcapng_blocks_are_skipped_or_end_the_file() {
    let endian = Endian::Little;
    let packet = ip_tcp(client(), server(), 1, PSH_ACK, &keepalive());
    let mut file = section_header(endian);
    file.extend(interface_description(endian, 101, false));
    // Interface 3 was never described; the next packet is fine.
    file.extend(enhanced_packet(
        endian,
        3,
        0,
        &TestFrame::new(0, packet.clone()),
    ));
    file.extend(enhanced_packet(endian, 0, 0, &TestFrame::new(0, packet)));
    file.extend_from_slice(&endian.u32(6));
    file.extend_from_slice(&endian.u32(8)); // below the 12-octet minimum
    let result = read(&file);
    assert_eq!(result.messages.len(), 1);
    assert_eq!(frame_of(&result.messages[0]), 2);
    let defects: Vec<_> = result
        .problems
        .iter()
        .filter_map(|problem| match problem {
            StreamProblem::DamagedBlock { defect, .. } => Some(defect.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        defects,
        [
            BlockDefect::UndefinedInterface(3),
            BlockDefect::LengthTooSmall(8)
        ]
    );
}

#[test]
fn unsupported_link_type_is_reported_once() {
    let packets = frames(vec![vec![0; 40], vec![0; 40]]);
    let result = read(&pcap_file(Endian::Little, false, 147, &packets));
    assert_eq!(
        result.problems,
        [StreamProblem::UnsupportedLinkType {
            frame: 1,
            link_type: 147
        }]
    );
}

#[test]
fn inputs_that_are_not_captures_are_errors() {
    assert!(matches!(
        messages_from_capture(b"MRT?", PORT),
        Err(CaptureError::UnknownFormat { .. })
    ));
    assert!(matches!(
        messages_from_capture(&[], PORT),
        Err(CaptureError::UnknownFormat { .. })
    ));
    let header = pcap_file(Endian::Little, false, 1, &[]);
    assert!(matches!(
        messages_from_capture(&header[..20], PORT),
        Err(CaptureError::TruncatedFileHeader {
            needed: 24,
            available: 20,
            ..
        })
    ));
    let mut bad_order = section_header(Endian::Little);
    bad_order[8..12].copy_from_slice(&[1, 2, 3, 4]);
    assert!(matches!(
        messages_from_capture(&bad_order, PORT),
        Err(CaptureError::UnknownByteOrder {
            magic: [1, 2, 3, 4]
        })
    ));
    // An empty but valid pcap is not an error.
    assert_eq!(read(&header), CaptureMessages::default());
}
