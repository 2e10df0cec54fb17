//! RFC 7607: AS 0 is reserved and never appears in a path. An AS_PATH that
//! holds it is malformed (treat-as-withdraw, RFC 7606 §7.2); an AS4_PATH or
//! an AGGREGATOR that does is discarded (RFC 6793 §6, RFC 7606 §7.7). Found
//! by `nodebgp conformance` (scenario update.as-path.as-0).

use bgp_wire::{decode_path_attributes, most_severe, AttributeType, CodecContext, Treatment};
use bytes::Bytes;

fn context() -> CodecContext {
    CodecContext {
        four_octet_asn: true,
        external_peer: true,
        ..CodecContext::default()
    }
}

fn treatment_of(attribute: &[u8]) -> Option<(Treatment, AttributeType)> {
    let (_, errors) = decode_path_attributes(&Bytes::copy_from_slice(attribute), &context());
    most_severe(&errors).map(|error| (error.treatment, error.attribute.unwrap()))
}

#[test]
fn as_0_in_as_path_is_treat_as_withdraw() {
    // AS_SEQUENCE 65001 0
    let attribute = [0x40, 2, 10, 2, 2, 0, 0, 0xfd, 0xe9, 0, 0, 0, 0];
    assert_eq!(
        treatment_of(&attribute),
        Some((Treatment::TreatAsWithdraw, AttributeType::AS_PATH))
    );
}

#[test]
fn as_0_in_as4_path_discards_the_attribute() {
    let attribute = [0xc0, 17, 6, 2, 1, 0, 0, 0, 0];
    assert_eq!(
        treatment_of(&attribute),
        Some((Treatment::AttributeDiscard, AttributeType::AS4_PATH))
    );
}

#[test]
fn an_aggregator_in_as_0_is_discarded() {
    let attribute = [0xc0, 7, 8, 0, 0, 0, 0, 192, 0, 2, 1];
    assert_eq!(
        treatment_of(&attribute),
        Some((Treatment::AttributeDiscard, AttributeType::AGGREGATOR))
    );
}

#[test]
fn a_path_without_as_0_is_fine() {
    let attribute = [0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9];
    assert_eq!(treatment_of(&attribute), None);
}
