//! Reads the third-party captures and MRT dumps of the shared test vectors and checks the number
//! of BGP messages of each type against `MANIFEST.md` of that directory.
//!
//! The files are read in place and never copied: they are third-party data under their own
//! licences. The directory is `$NODEBGP_VECTORS` if set, else `<workspace>/../shared/vectors`;
//! when it is missing the test passes with a `SKIP:` line that the run's summary counts
//! (`lab::skip`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bgp_capture::{
    decompress_if_gzip, messages_from_capture, mrt_records, MrtError, MrtRecord, StreamProblem,
};

/// Counts by BGP type octet: OPEN, UPDATE, NOTIFICATION, KEEPALIVE, ROUTE-REFRESH.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct TypeCounts {
    open: usize,
    update: usize,
    notification: usize,
    keepalive: usize,
    route_refresh: usize,
}

impl TypeCounts {
    fn add(&mut self, message_type: Option<u8>) {
        match message_type {
            Some(1) => self.open += 1,
            Some(2) => self.update += 1,
            Some(3) => self.notification += 1,
            Some(4) => self.keepalive += 1,
            Some(5) => self.route_refresh += 1,
            other => panic!("message of unexpected type {other:?}"),
        }
    }
}

const fn counts(
    open: usize,
    update: usize,
    notification: usize,
    keepalive: usize,
    route_refresh: usize,
) -> TypeCounts {
    TypeCounts {
        open,
        update,
        notification,
        keepalive,
        route_refresh,
    }
}

struct CaptureExpectation {
    path: &'static str,
    /// "BGP messages (tshark)" of MANIFEST.md.
    messages: TypeCounts,
    /// "UPDATE (incomplete)" of the manifest's pcapx line: a message cut off by the capture's end
    /// (reported as `StreamProblem::IncompleteMessage`).
    incomplete: usize,
    /// "tcp gap" of the manifest's pcapx line.
    gaps: usize,
}

/// From `shared/vectors/MANIFEST.md`, section "Packet captures": per file, the tshark counts
/// (equal to the pcapx counts minus the incomplete messages and gaps listed beside them).
const CAPTURES: &[CaptureExpectation] = &[
    CaptureExpectation {
        path: "captures/netgauze/pmacct-tests/300-BGP-IPv6-CISCO-extNH_enc/traffic-00.pcap",
        messages: counts(1, 45, 0, 1, 0),
        incomplete: 0,
        gaps: 0,
    },
    CaptureExpectation {
        path: "captures/netgauze/pmacct-tests/301-BGP-CISCO-pretag/traffic-00.pcap",
        messages: counts(1, 20, 0, 1, 0),
        incomplete: 1,
        gaps: 0,
    },
    CaptureExpectation {
        path: "captures/netgauze/pmacct-tests/302-BGP-IPv6-multiple-sources/traffic-00.pcap",
        messages: counts(1, 24, 0, 1, 0),
        incomplete: 1,
        gaps: 0,
    },
    CaptureExpectation {
        path: "captures/netgauze/pmacct-tests/302-BGP-IPv6-multiple-sources/traffic-01.pcap",
        messages: counts(1, 26, 0, 1, 0),
        incomplete: 1,
        gaps: 0,
    },
    CaptureExpectation {
        path: "captures/netgauze/pmacct-tests/302-BGP-IPv6-multiple-sources/traffic-02.pcap",
        messages: counts(1, 8, 0, 1, 0),
        incomplete: 0,
        gaps: 0,
    },
    CaptureExpectation {
        path: "captures/netgauze/pmacct-tests/302-BGP-IPv6-multiple-sources/traffic-03.pcap",
        messages: counts(1, 8, 0, 1, 0),
        incomplete: 0,
        gaps: 0,
    },
    CaptureExpectation {
        path: "captures/netgauze/pmacct-tests/303-BGP-high-availability/traffic-00.pcap",
        messages: counts(1, 45, 0, 1, 0),
        incomplete: 0,
        gaps: 0,
    },
    CaptureExpectation {
        path: "captures/netgauze/pmacct-tests/305-BGP-mem-leak-test/bgp-multi-sources-open.pcap",
        messages: counts(8, 0, 0, 0, 0),
        incomplete: 0,
        gaps: 0,
    },
    CaptureExpectation {
        path: "captures/netgauze/pmacct-tests/305-BGP-mem-leak-test/bgp-multi-sources-update-keepalive.pcap",
        messages: counts(0, 416, 0, 32, 0),
        incomplete: 0,
        gaps: 0,
    },
    CaptureExpectation {
        path: "captures/netgauze/bgp/multiple-sessions/traffic.pcap",
        messages: counts(20, 100, 0, 171, 0),
        incomplete: 0,
        gaps: 0,
    },
    CaptureExpectation {
        path: "captures/wireshark-wiki/bgp.pcap",
        messages: counts(2, 3, 0, 4, 0),
        incomplete: 0,
        gaps: 0,
    },
    CaptureExpectation {
        path: "captures/pcapplusplus/BgpPackets.pcap",
        messages: counts(2, 6, 2, 1, 1),
        incomplete: 0,
        gaps: 1,
    },
    CaptureExpectation {
        path: "captures/pcapplusplus/Bgp_open_malformed.pcap",
        messages: counts(1, 0, 0, 0, 0),
        // Not in the manifest: the file's four test packets all start at sequence 3711584524
        // and differ in length, so by TCP's rules the 3 + 1 octets by which the second and third
        // reach past the first are new stream data, which never makes a whole message.
        incomplete: 1,
        gaps: 0,
    },
    CaptureExpectation {
        path: "captures/bgpkit-packetlife/bgp_orf_prefix_advertisement.pcapng.cap",
        messages: counts(0, 0, 0, 1, 1),
        incomplete: 0,
        gaps: 0,
    },
];

struct MrtExpectation {
    path: &'static str,
    /// The "BGP <type>" entries of the manifest's records line.
    messages: TypeCounts,
    /// "BGP ? (short/damaged record)" of the manifest.
    damaged_messages: usize,
    /// The "MRT <type>/<subtype>" entries of the manifest's records line.
    records: &'static [((u16, u16), usize)],
}

const MESSAGE: u16 = 1;
const STATE_CHANGE: u16 = 0;
const MESSAGE_AS4: u16 = 4;
const STATE_CHANGE_AS4: u16 = 5;
const MESSAGE_AS4_ADDPATH: u16 = 9;

/// From `shared/vectors/MANIFEST.md`, section "MRT files".
const MRT_FILES: &[MrtExpectation] = &[
    MrtExpectation {
        path: "mrt/bgpkit-ripe/rrc15/2010.02/updates.20100227.1610.gz",
        messages: counts(1, 1888, 1, 47, 0),
        damaged_messages: 0,
        records: &[
            ((16, MESSAGE), 631),
            ((16, MESSAGE_AS4), 1306),
            ((16, STATE_CHANGE_AS4), 16),
        ],
    },
    MrtExpectation {
        path: "mrt/bgpkit-ripe/rrc03/2010.02/updates.20100227.1600.first-796-records.gz",
        messages: counts(0, 768, 1, 23, 0),
        damaged_messages: 0,
        records: &[
            ((16, MESSAGE), 277),
            ((16, MESSAGE_AS4), 515),
            ((16, STATE_CHANGE_AS4), 4),
        ],
    },
    MrtExpectation {
        path: "mrt/bgpkit-ripe/rrc01/2000.11/updates.20001104.0124.gz",
        messages: counts(9, 266, 8, 618, 0),
        damaged_messages: 21,
        records: &[((16, MESSAGE), 922), ((16, STATE_CHANGE), 364)],
    },
    MrtExpectation {
        path: "mrt/mrtparse/bird_bgp",
        messages: counts(2, 8, 1, 5, 1),
        damaged_messages: 0,
        records: &[
            ((16, MESSAGE), 1),
            ((16, MESSAGE_AS4), 16),
            ((16, STATE_CHANGE_AS4), 12),
        ],
    },
    MrtExpectation {
        path: "mrt/mrtparse/bird6_bgp",
        messages: counts(2, 8, 1, 5, 1),
        damaged_messages: 0,
        records: &[
            ((16, MESSAGE), 1),
            ((16, MESSAGE_AS4), 16),
            ((16, STATE_CHANGE_AS4), 12),
        ],
    },
    MrtExpectation {
        path: "mrt/mrtparse/bird-mrtdump_bgp",
        messages: counts(2, 6, 1, 5, 1),
        damaged_messages: 0,
        records: &[
            ((16, MESSAGE), 1),
            ((16, MESSAGE_AS4_ADDPATH), 14),
            ((16, STATE_CHANGE_AS4), 12),
        ],
    },
    MrtExpectation {
        path: "mrt/mrtparse/bird6-mrtdump_bgp",
        messages: counts(2, 6, 1, 5, 1),
        damaged_messages: 0,
        records: &[
            ((16, MESSAGE), 1),
            ((16, MESSAGE_AS4_ADDPATH), 14),
            ((16, STATE_CHANGE_AS4), 12),
        ],
    },
    MrtExpectation {
        path: "mrt/mrtparse/openbgpd_bgp",
        messages: counts(4, 48, 2, 13, 4),
        damaged_messages: 0,
        records: &[
            ((16, MESSAGE), 4),
            ((16, MESSAGE_AS4), 67),
            ((16, STATE_CHANGE), 8),
            ((16, STATE_CHANGE_AS4), 8),
        ],
    },
    MrtExpectation {
        path: "mrt/mrtparse/quagga_bgp",
        messages: counts(4, 24, 2, 10, 7),
        damaged_messages: 0,
        records: &[
            ((16, MESSAGE), 4),
            ((16, MESSAGE_AS4), 43),
            ((16, STATE_CHANGE_AS4), 20),
        ],
    },
];

/// BGP listens on TCP port 179 (RFC 4271 §8.2.1).
const BGP_PORT: u16 = 179;

/// Largest MRT file to inflate; the biggest in the manifest inflates to well under 1 MiB.
const INFLATE_LIMIT: usize = 64 << 20;

fn vectors_directory() -> Option<PathBuf> {
    let directory = match std::env::var_os("NODEBGP_VECTORS") {
        Some(directory) => PathBuf::from(directory),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"),
    };
    if directory.join("MANIFEST.md").is_file() {
        Some(directory)
    } else {
        lab::skip(&format!("vectors not found at {}", directory.display()));
        None
    }
}

fn read(directory: &Path, relative: &str) -> Vec<u8> {
    let path = directory.join(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn manifest_lists_every_file_the_tables_check() {
    let Some(directory) = vectors_directory() else {
        return;
    };
    let manifest = std::fs::read_to_string(directory.join("MANIFEST.md")).expect("MANIFEST.md");
    let listed = manifest
        .lines()
        .filter(|line| line.starts_with("### `"))
        .count();
    assert_eq!(listed, CAPTURES.len() + MRT_FILES.len());
    for path in CAPTURES
        .iter()
        .map(|capture| capture.path)
        .chain(MRT_FILES.iter().map(|file| file.path))
    {
        assert!(
            manifest.contains(&format!("### `{path}`")),
            "{path} is not in MANIFEST.md"
        );
    }
}

#[test]
fn capture_message_counts_match_the_manifest() {
    let Some(directory) = vectors_directory() else {
        return;
    };
    for expectation in CAPTURES {
        let data = read(&directory, expectation.path);
        let result = messages_from_capture(&data, BGP_PORT)
            .unwrap_or_else(|error| panic!("{}: {error}", expectation.path));
        let mut found = TypeCounts::default();
        for message in &result.messages {
            assert!(
                message.is_whole(),
                "{}: damaged message {message:?}",
                expectation.path
            );
            found.add(message.message_type());
        }
        let incomplete = result
            .problems
            .iter()
            .filter(|problem| matches!(problem, StreamProblem::IncompleteMessage { .. }))
            .count();
        let gaps = result
            .problems
            .iter()
            .filter(|problem| matches!(problem, StreamProblem::Gap { .. }))
            .count();
        for problem in &result.problems {
            eprintln!("{}: {problem}", expectation.path);
        }
        assert_eq!(found, expectation.messages, "{}", expectation.path);
        assert_eq!(
            incomplete, expectation.incomplete,
            "{}: incomplete",
            expectation.path
        );
        assert_eq!(gaps, expectation.gaps, "{}: gaps", expectation.path);
    }
}

#[test]
fn mrt_message_counts_match_the_manifest() {
    let Some(directory) = vectors_directory() else {
        return;
    };
    for expectation in MRT_FILES {
        let raw = read(&directory, expectation.path);
        let data = decompress_if_gzip(&raw, INFLATE_LIMIT)
            .unwrap_or_else(|error| panic!("{}: {error}", expectation.path));
        let mut found = TypeCounts::default();
        let mut records: BTreeMap<(u16, u16), usize> = BTreeMap::new();
        let mut damaged_messages = 0;
        let mut errors: Vec<MrtError> = Vec::new();
        for item in mrt_records(&data) {
            match item {
                Ok(MrtRecord::Message(message)) => {
                    let bgp_capture::Origin::Mrt(header) = &message.origin else {
                        panic!("MRT message without MRT origin");
                    };
                    *records
                        .entry((header.mrt_type, header.subtype))
                        .or_default() += 1;
                    if message.is_whole() {
                        found.add(message.message_type());
                    } else {
                        damaged_messages += 1;
                    }
                }
                Ok(MrtRecord::StateChange { header, .. }) => {
                    *records
                        .entry((header.mrt_type, header.subtype))
                        .or_default() += 1;
                }
                Ok(other) => panic!("{}: unexpected record {other:?}", expectation.path),
                Err(error) => {
                    let record_type = error
                        .record_type()
                        .unwrap_or_else(|| panic!("{}: {error}", expectation.path));
                    *records.entry(record_type).or_default() += 1;
                    if record_type.1 != STATE_CHANGE && record_type.1 != STATE_CHANGE_AS4 {
                        damaged_messages += 1;
                    }
                    errors.push(error);
                }
            }
        }
        for error in &errors {
            eprintln!("{}: {error}", expectation.path);
        }
        assert_eq!(found, expectation.messages, "{}", expectation.path);
        assert_eq!(
            damaged_messages, expectation.damaged_messages,
            "{}: damaged",
            expectation.path
        );
        let expected_records: BTreeMap<(u16, u16), usize> =
            expectation.records.iter().copied().collect();
        assert_eq!(records, expected_records, "{}: records", expectation.path);
    }
}

/// Every message of one file, as bytes.
fn messages_of_file(directory: &Path, relative: &str) -> Vec<Vec<u8>> {
    let raw = read(directory, relative);
    if relative.starts_with("captures/") {
        let result = messages_from_capture(&raw, BGP_PORT).expect("readable capture");
        return result
            .messages
            .into_iter()
            .map(|message| message.bytes)
            .collect();
    }
    let data = decompress_if_gzip(&raw, INFLATE_LIMIT).expect("readable gzip");
    mrt_records(&data)
        .filter_map(|record| match record {
            Ok(MrtRecord::Message(message)) => Some(message.bytes),
            _ => None,
        })
        .collect()
}

/// The string value of `"key": "..."` in one JSON line (the corpus never escapes quotes in the
/// fields read here).
fn json_string<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("\"{key}\": \""))? + key.len() + 5;
    let length = line[start..].find('"')?;
    Some(&line[start..start + length])
}

fn decode_hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&text[index..index + 2], 16).expect("hex digits"))
        .collect()
}

/// `messages.jsonl` holds messages the corpus builder took from these very files (with
/// `"transcribed": false` and the file as `source`); each must be among the messages this crate
/// extracts from that file, byte for byte.
#[test]
fn corpus_messages_taken_from_these_files_are_extracted_byte_for_byte() {
    let Some(directory) = vectors_directory() else {
        return;
    };
    let corpus = std::fs::read_to_string(directory.join("messages.jsonl")).expect("messages.jsonl");
    let files: Vec<&str> = CAPTURES
        .iter()
        .map(|capture| capture.path)
        .chain(MRT_FILES.iter().map(|file| file.path))
        .collect();
    let mut extracted: BTreeMap<&str, Vec<Vec<u8>>> = BTreeMap::new();
    let mut checked = 0;
    for line in corpus
        .lines()
        .filter(|line| line.contains("\"transcribed\": false"))
    {
        let (Some(source), Some(hex)) = (json_string(line, "source"), json_string(line, "hex"))
        else {
            continue;
        };
        let source_path = source.split('@').next().unwrap_or_default();
        // Our copy drops the repository prefix: captures/<origin>/<rest> or mrt/<origin>/<rest>.
        let Some(file) = files.iter().copied().find(|file| {
            let rest = file.splitn(3, '/').nth(2).unwrap_or_default();
            source_path.ends_with(&format!("/{rest}"))
        }) else {
            continue;
        };
        let messages = extracted
            .entry(file)
            .or_insert_with(|| messages_of_file(&directory, file));
        let expected = decode_hex(hex);
        assert!(
            messages.contains(&expected),
            "{file}: corpus message {} not extracted",
            json_string(line, "id").unwrap_or("?")
        );
        checked += 1;
    }
    // 20 + 14 + 9 + 7 + 4 + 3 + 3 + 2 + 2 from captures, 16 + 11 + 10 + 7 + 6 + 4 + 3 from MRT.
    assert_eq!(checked, 121, "number of corpus messages cross-checked");
}

/// Cuts every real file at a few dozen offsets: the readers must neither panic nor error on
/// anything but a cut inside the file header.
#[test]
fn real_files_cut_short_are_read_without_panicking() {
    let Some(directory) = vectors_directory() else {
        return;
    };
    for capture in CAPTURES {
        let data = read(&directory, capture.path);
        let full = messages_from_capture(&data, BGP_PORT)
            .expect("readable")
            .messages
            .len();
        for cut in (0..data.len()).step_by(data.len() / 40 + 1) {
            match messages_from_capture(&data[..cut], BGP_PORT) {
                Ok(result) => assert!(result.messages.len() <= full, "{}", capture.path),
                Err(_) => assert!(cut < 64, "{}: error at cut {cut}", capture.path),
            }
        }
    }
    for file in MRT_FILES {
        let raw = read(&directory, file.path);
        let data = decompress_if_gzip(&raw, INFLATE_LIMIT).expect("readable");
        let full = mrt_records(&data).count();
        for cut in (0..data.len()).step_by(data.len() / 40 + 1) {
            let records: Vec<_> = mrt_records(&data[..cut]).collect();
            assert!(records.len() <= full, "{}", file.path);
        }
    }
}
