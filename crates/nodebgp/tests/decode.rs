//! `nodebgp decode` end to end: the binary run on hex lines, captures and MRT
//! dumps, its JSON read back.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

fn nodebgp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nodebgp"))
}

fn decode_hex(lines: &str, extra: &[&str]) -> Vec<Value> {
    let mut child = nodebgp()
        .arg("decode")
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "decode failed: {output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn vectors() -> Option<PathBuf> {
    let folder = match std::env::var_os("NODEBGP_VECTORS") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"),
    };
    if folder.is_dir() {
        Some(folder)
    } else {
        lab::skip(&format!(
            "BGP test vectors not found at {}",
            folder.display()
        ));
        None
    }
}

#[test]
fn hex_lines_decode_in_order_with_errors_in_place() {
    let input = "\
# an OPEN with four capabilities
FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF003D0104000100B4010101012002060104000100010206010400020001020641040001000E0202020002024600

0x FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF 0025 02 0000000E C0010100 400304C0A80164 400200
00000000000000000000000000000000001304
not hex
FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF002803060212736869667420746F206E6577206C696E6B73
";
    let objects = decode_hex(input, &["--no-asn4"]);
    assert_eq!(objects.len(), 5);
    let open = &objects[0];
    assert_eq!(open["type"], "OPEN");
    assert_eq!(open["asn"], 65550);
    assert_eq!(open["hold_time"], 180);
    assert_eq!(open["router_id"], "1.1.1.1");
    assert_eq!(open["capabilities"][2]["name"], "four-octet-as");
    assert_eq!(open["source"]["line"], 2);

    let update = &objects[1];
    assert_eq!(update["type"], "UPDATE");
    assert_eq!(update["error"]["code"], 3);
    assert_eq!(update["error"]["subcode"], 4);
    assert_eq!(update["error"]["treatment"], "treat-as-withdraw");
    assert_eq!(update["attributes"]["next_hop"], "192.168.1.100");

    let bad_marker = &objects[2];
    assert_eq!(bad_marker["type"], Value::Null);
    assert_eq!(bad_marker["error"]["code"], 1);
    assert_eq!(bad_marker["error"]["subcode"], 1);
    assert_eq!(bad_marker["error"]["treatment"], "session-reset");

    assert!(objects[3]["input_error"].is_string());

    let notification = &objects[4];
    assert_eq!(notification["type"], "NOTIFICATION");
    assert_eq!(notification["code"], 6);
    assert_eq!(notification["shutdown_communication"], "shift to new links");
}

#[test]
fn add_path_and_asn_width_flags_change_the_reading() {
    // One prefix with path identifier 1, behind ORIGIN, AS_PATH 65001 (two octets) and NEXT_HOP.
    let line = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00310200000012400101004002040201FDE9400304C00002010000000118080808\n";
    let with = decode_hex(line, &["--add-path", "--no-asn4"]);
    assert_eq!(with[0]["announced"]["ipv4 unicast"][0]["path_id"], 1);
    assert_eq!(
        with[0]["announced"]["ipv4 unicast"][0]["prefix"],
        "8.8.8.0/24"
    );
    assert_eq!(with[0]["attributes"]["as_path"], "65001");
    let without = decode_hex(line, &["--no-asn4"]);
    assert_eq!(without[0]["error"]["treatment"], "session-reset");
}

#[test]
fn summary_totals_match_the_capture_manifest() {
    let Some(folder) = vectors() else { return };
    let output =
        nodebgp()
            .args(["decode", "--summary", "--pcap"])
            .arg(folder.join(
                "captures/netgauze/pmacct-tests/300-BGP-IPv6-CISCO-extNH_enc/traffic-00.pcap",
            ))
            .output()
            .unwrap();
    assert!(output.status.success());
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    // MANIFEST.md: KEEPALIVE=1, OPEN=1, UPDATE=45.
    assert_eq!(summary["by_type"]["OPEN"], 1);
    assert_eq!(summary["by_type"]["UPDATE"], 45);
    assert_eq!(summary["by_type"]["KEEPALIVE"], 1);
    assert_eq!(summary["messages"], 47);
    assert_eq!(summary["errors"], serde_json::json!({}));
}

#[test]
fn every_capture_and_dump_decodes_without_bgp_errors() {
    let Some(folder) = vectors() else { return };
    let mut files = Vec::new();
    let mut pending = vec![folder.join("captures"), folder.join("mrt")];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_none_or(|extension| extension != "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(
        files.len() >= 20,
        "expected the 23 capture and MRT files, found {}",
        files.len()
    );
    for file in files {
        let flag = if file.components().any(|part| part.as_os_str() == "mrt") {
            "--mrt"
        } else {
            "--pcap"
        };
        let output = nodebgp()
            .args(["decode", "--summary", flag])
            .arg(&file)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}: {output:?}", file.display());
        let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(
            summary["messages"].as_u64().unwrap() > 0,
            "{}: no messages",
            file.display()
        );
        // PcapPlusPlus's Bgp_open_malformed.pcap is malformed on purpose.
        if file
            .file_name()
            .is_some_and(|name| name.to_string_lossy().contains("malformed"))
        {
            assert_ne!(
                summary["errors"],
                serde_json::json!({}),
                "{}: {summary}",
                file.display()
            );
        } else {
            assert_eq!(
                summary["errors"],
                serde_json::json!({}),
                "{}: {summary}",
                file.display()
            );
        }
        eprintln!("{}: {}", file.display(), summary["by_type"]);
    }
}

/// A BGP4MP_MESSAGE_AS4 record (RFC 6396 §4.4.3) from 192.0.2.2 around `message`.
fn bgp4mp_record(timestamp: u32, message: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&64700u32.to_be_bytes());
    body.extend_from_slice(&65000u32.to_be_bytes());
    body.extend_from_slice(&[0, 0, 0, 1, 192, 0, 2, 2, 192, 0, 2, 1]);
    body.extend_from_slice(message);
    let mut record = Vec::new();
    record.extend_from_slice(&timestamp.to_be_bytes());
    record.extend_from_slice(&[0, 16, 0, 4]);
    record.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
    record.extend_from_slice(&body);
    record
}

/// An UPDATE announcing 10.0.N.0/24 with ORIGIN, AS_PATH 64700 and NEXT_HOP.
fn update(third_octet: u8) -> Vec<u8> {
    let attributes = [
        0x40, 1, 1, 0, // ORIGIN IGP
        0x40, 2, 6, 2, 1, 0, 0, 0xfc, 0xbc, // AS_PATH 64700 (four octets)
        0x40, 3, 4, 192, 0, 2, 2, // NEXT_HOP
    ];
    let nlri = [24, 10, 0, third_octet];
    let length = 19 + 2 + 2 + attributes.len() + nlri.len();
    let mut message = vec![0xff; 16];
    message.extend_from_slice(&u16::try_from(length).unwrap().to_be_bytes());
    message.push(2);
    message.extend_from_slice(&[0, 0]);
    message.extend_from_slice(&u16::try_from(attributes.len()).unwrap().to_be_bytes());
    message.extend_from_slice(&attributes);
    message.extend_from_slice(&nlri);
    message
}

fn scratch(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("nodebgp-decode-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

#[test]
fn a_gzip_dump_streams_like_the_plain_one_and_a_non_dump_is_an_error() {
    let directory = scratch("stream");
    let dump: Vec<u8> = (0..200u8)
        .flat_map(|third| bgp4mp_record(1_700_000_000 + u32::from(third), &update(third)))
        .collect();
    let plain = directory.join("updates.mrt");
    std::fs::write(&plain, &dump).unwrap();
    let compressed = directory.join("updates.mrt.gz");
    let gzip = Command::new("gzip")
        .arg("-c")
        .arg(&plain)
        .output()
        .expect("gzip");
    std::fs::write(&compressed, gzip.stdout).unwrap();
    let decode = |path: &PathBuf, extra: &[&str]| {
        let output = nodebgp()
            .arg("decode")
            .args(extra)
            .arg("--mrt")
            .arg(path)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let text = decode(&plain, &[]);
    assert_eq!(decode(&compressed, &[]), text);
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 200);
    assert_eq!(lines[199]["announced"]["ipv4 unicast"][0], "10.0.199.0/24");
    assert_eq!(lines[199]["attributes"]["as_path"], "64700");
    assert_eq!(lines[199]["source"]["timestamp"], 1_700_000_199);
    let summary: Value = serde_json::from_str(&decode(&compressed, &["--summary"])).unwrap();
    assert_eq!(summary["prefixes_announced"]["ipv4 unicast"], 200);

    // A capture (or anything else) given as a dump fails, naming the file.
    let not_a_dump = directory.join("capture.pcap");
    std::fs::write(&not_a_dump, [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0]).unwrap();
    let output = nodebgp()
        .args(["decode", "--mrt"])
        .arg(&not_a_dump)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("capture.pcap is not an MRT dump"),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(directory);
}

#[test]
fn a_reader_that_stops_early_ends_the_decode_quietly() {
    let directory = scratch("pipe");
    let dump: Vec<u8> = (0..20_000u32)
        .flat_map(|index| bgp4mp_record(index, &update((index % 256) as u8)))
        .collect();
    let path = directory.join("updates.mrt");
    std::fs::write(&path, &dump).unwrap();
    let mut child = nodebgp()
        .args(["decode", "--mrt"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `| head -1`: read one line, then close the pipe.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(first.contains("\"UPDATE\""), "{first}");
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    let _ = std::fs::remove_dir_all(directory);
}
