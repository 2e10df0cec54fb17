//! Conformance against third-party vectors: real BGP messages written by other
//! implementations, with the outcome their sources expect.
//!
//! The corpus is not part of this repository. It is read from
//! `$NODEBGP_VECTORS`, else from `../shared/vectors` beside the workspace; when
//! neither exists the tests say so on stderr and pass without checking.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bgp_wire::{CodecContext, DecodeError, Family, Message, Treatment};
use bytes::Bytes;
use serde_json::Value;

fn vectors_dir() -> Option<PathBuf> {
    let candidate = match std::env::var_os("NODEBGP_VECTORS") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"),
    };
    if candidate.join("messages.jsonl").is_file() {
        Some(candidate)
    } else {
        lab::skip(&format!(
            "BGP test vectors not found at {} (set NODEBGP_VECTORS to their folder)",
            candidate.display()
        ));
        None
    }
}

fn records(file: &str) -> Option<Vec<Value>> {
    let path = vectors_dir()?.join(file);
    let text = std::fs::read_to_string(&path).expect("vector file is readable");
    Some(
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).expect("each line is JSON"))
            .collect(),
    )
}

fn family_from_name(name: &str) -> Family {
    match name {
        "ipv4/unicast" => Family::IPV4_UNICAST,
        "ipv6/unicast" => Family::IPV6_UNICAST,
        other => panic!("unexpected family {other} in a vector context"),
    }
}

/// The decoding context a vector was written under.
fn context_of(record: &Value) -> CodecContext {
    let context = &record["context"];
    let mut codec = CodecContext {
        four_octet_asn: context["four_octet_asn"].as_bool().unwrap_or(true),
        ..CodecContext::default()
    };
    match &context["add_path_receive"] {
        Value::Bool(true) => {
            codec.add_path = vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST];
        }
        Value::Object(families) => {
            codec.add_path = families
                .iter()
                .filter(|(_, on)| on.as_bool() == Some(true))
                .map(|(name, _)| family_from_name(name))
                .collect();
        }
        _ => {}
    }
    correct_context(record, &mut codec);
    codec
}

/// Where a vector's recorded context misses what the session had negotiated,
/// as other records of the same source show; each correction says why.
fn correct_context(record: &Value, codec: &mut CodecContext) {
    let source = record["source"].as_str().unwrap_or_default();
    if source.starts_with("t2mune/mrtparse/samples/bird") {
        // The BIRD OPENs in the same MRT files (m0472, m0476) advertise ADD-PATH
        // send/receive for IPv4 and IPv6 unicast, and these dumps predate the
        // RFC 8050 ADDPATH subtypes: their UPDATEs carry path identifiers.
        codec.add_path = vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST];
    }
    if source.contains("qa/encoding/extended-nexthop.ci") {
        // ExaBGP's extended-nexthop.conf negotiates RFC 8950 next hops of the
        // other address family, which is what lets an IPv6 route carry an
        // IPv4 next hop.
        codec.extended_next_hop = vec![Family::IPV6_UNICAST];
    }
}

fn hex_bytes(record: &Value) -> Bytes {
    Bytes::from(hex::decode(record["hex"].as_str().unwrap()).expect("hex"))
}

fn treatment_name(treatment: Treatment) -> &'static str {
    treatment.as_str()
}

/// Expectations this decoder deliberately does not share, each with the RFC
/// text that decides it. Empty entries would hide nothing: every id listed
/// must still decode without panicking.
const DISAGREEMENTS: &[(&str, &str)] = &[
    (
        "m0122",
        "ExaBGP sends attribute type 153 with flags 0x60 (optional bit clear, so well-known). \
         RFC 4271 §6.3: an unrecognized well-known attribute is an UPDATE Message Error, \
         subcode 2; a receiver must not accept it. Checked below.",
    ),
    (
        "m0123",
        "As m0122 with flags 0x70: well-known and unrecognized, RFC 4271 §6.3 subcode 2.",
    ),
];

#[test]
fn every_message_vector_meets_its_expectation() {
    let Some(records) = records("messages.jsonl") else {
        return;
    };
    let mut failures = Vec::new();
    let mut outcomes: BTreeMap<&'static str, usize> = BTreeMap::new();
    for record in &records {
        let id = record["id"].as_str().unwrap();
        let expect = &record["expect"];
        let context = context_of(record);
        let frame = hex_bytes(record);
        let result = Message::decode(&frame, &context);
        if DISAGREEMENTS.iter().any(|(disagreed, _)| *disagreed == id) {
            let outcome = result.as_ref().map_err(|error| error.notification());
            match outcome {
                Err(notification) if (notification.code.0, notification.subcode) == (3, 2) => {
                    *outcomes
                        .entry("disagreement (documented, RFC outcome checked)")
                        .or_default() += 1;
                }
                other => failures.push(format!(
                    "{id}: expected 3/2 per RFC 4271 §6.3, got {other:?}"
                )),
            }
            continue;
        }
        let valid = expect["valid"].as_bool().unwrap();
        let expected_error = expect["error"].as_array().map(|pair| {
            (
                pair[0].as_u64().unwrap() as u8,
                pair[1].as_u64().unwrap() as u8,
            )
        });
        let expected_action = expect["rfc7606_action"]
            .as_str()
            .or(record["expect_rfc7606_action"].as_str())
            .map(|action| action.to_ascii_lowercase().replace('_', "-"));
        match (&result, valid) {
            (Ok(received), true) => {
                if let Some(error) = received.governing_error() {
                    failures.push(format!("{id}: valid vector decoded with error {error:?}"));
                    continue;
                }
                let expected_type = expect["type"].as_str().unwrap();
                let actual_type = received.message.message_type().as_str();
                if expected_type != actual_type {
                    failures.push(format!(
                        "{id}: type {actual_type}, expected {expected_type}"
                    ));
                    continue;
                }
                let encoded = received.message.to_bytes(&context).expect("re-encodes");
                // Every valid vector is in the canonical encoding, so re-encoding
                // must give back its exact octets.
                if encoded == frame {
                    *outcomes
                        .entry("valid, re-encoded byte-identical")
                        .or_default() += 1;
                } else {
                    failures.push(format!(
                        "{id}: re-encoding differs\n  in : {}\n  out: {}",
                        hex::encode_upper(&frame),
                        hex::encode_upper(&encoded)
                    ));
                }
            }
            (Err(error), true) => failures.push(format!("{id}: valid vector rejected: {error}")),
            (Err(error), false) => {
                let notification = error.notification();
                let got = (notification.code.0, notification.subcode);
                match expected_error {
                    Some(expected) if expected != got => failures.push(format!(
                        "{id}: NOTIFICATION {got:?}, expected {expected:?} ({error})"
                    )),
                    _ => {}
                }
                if let Some(action) = &expected_action {
                    if action != "session-reset" {
                        failures.push(format!("{id}: session reset ({error}), expected {action}"));
                        continue;
                    }
                }
                *outcomes.entry("malformed, session reset").or_default() += 1;
            }
            (Ok(received), false) => {
                let Some(governing) = received.governing_error() else {
                    if let Some(note) = accepted_without_error(&received.message) {
                        *outcomes
                            .entry("malformed per source, accepted per RFC")
                            .or_default() += 1;
                        eprintln!("{id}: accepted: {note}");
                    } else {
                        failures.push(format!("{id}: malformed vector decoded without error"));
                    }
                    continue;
                };
                let got = (3u8, governing.subcode as u8);
                if let Some(expected) = expected_error {
                    if expected != got {
                        failures.push(format!(
                            "{id}: error {got:?} ({}), expected {expected:?}",
                            governing.detail
                        ));
                        continue;
                    }
                }
                if let Some(action) = &expected_action {
                    if action != treatment_name(governing.treatment) {
                        failures.push(format!(
                            "{id}: treatment {}, expected {action}",
                            treatment_name(governing.treatment)
                        ));
                        continue;
                    }
                }
                *outcomes.entry("malformed, RFC 7606 treatment").or_default() += 1;
            }
        }
    }
    eprintln!("message vectors: {} in all; {outcomes:?}", records.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Vectors a source rejects that RFC text says a receiver must accept.
fn accepted_without_error(message: &Message) -> Option<&'static str> {
    match message {
        Message::RouteRefresh(refresh) if refresh.is_ignorable() => Some(
            "RFC 7313 §5: a ROUTE-REFRESH with an unknown subtype MUST be ignored, not answered",
        ),
        Message::Notification(_) => Some(
            "RFC 4271 §6: no NOTIFICATION answers a NOTIFICATION; an unknown code or subcode is kept and the session closes anyway",
        ),
        _ => None,
    }
}

#[test]
fn decode_errors_carry_the_data_field_rfc_4271_asks_for() {
    let context = CodecContext::default();
    let long_keepalive =
        Bytes::from(hex::decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00140400").unwrap());
    let error = Message::decode(&long_keepalive, &context).unwrap_err();
    assert!(matches!(error, DecodeError::Header(_)));
    // RFC 4271 §6.1: Bad Message Length carries the erroneous length field.
    assert_eq!(&error.notification().data[..], &[0x00, 0x14]);
}
