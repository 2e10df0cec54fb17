//! RFC 9072 extended optional parameters: an OPEN whose parameters do not
//! fit one length octet is encoded with the 255/255 marker and two-octet
//! lengths, and decodes back; the extended form is read when a peer uses it
//! for short parameters too; a length that disagrees is refused.

use bgp_wire::{
    Asn, Capability, CapabilityCode, CodecContext, DecodeError, Family, Message, Open,
    OptionalParameter, RouterId,
};
use bytes::Bytes;

/// Offset of the OPEN's Optional Parameters Length in a whole message:
/// 19 octets of header, then version, My AS, Hold Time and BGP Identifier.
const PARAMETERS_LENGTH_AT: usize = 19 + 1 + 2 + 2 + 4;

fn open_with(capabilities: Vec<Capability>) -> Open {
    Open::new(
        Asn(4_200_000_001),
        90,
        RouterId("10.0.0.1".parse().unwrap()),
        capabilities,
    )
}

fn decoded_open(bytes: &Bytes) -> Result<Open, DecodeError> {
    match Message::decode(bytes, &CodecContext::default())?.message {
        Message::Open(open) => Ok(open),
        other => panic!("not an OPEN: {other:?}"),
    }
}

#[test]
fn parameters_over_255_octets_use_the_extended_encoding_and_decode_back() {
    // Three unknown capabilities of 120 octets: 366 octets of parameter.
    let value = Bytes::from(vec![0xab; 120]);
    let mut capabilities = vec![
        Capability::Multiprotocol(Family::IPV4_UNICAST),
        Capability::FourOctetAs(Asn(4_200_000_001)),
    ];
    for code in 200..203 {
        capabilities.push(Capability::Unknown {
            code: CapabilityCode(code),
            value: value.clone(),
        });
    }
    let open = open_with(capabilities);
    let bytes = Message::Open(open.clone())
        .to_bytes(&CodecContext::default())
        .unwrap();
    // RFC 9072 §2: Non-Ext OP Len and Non-Ext OP Type both 255, then a
    // two-octet Extended Opt. Parm. Length covering the rest.
    assert_eq!(bytes[PARAMETERS_LENGTH_AT], 255);
    assert_eq!(bytes[PARAMETERS_LENGTH_AT + 1], 255);
    let extended_length = usize::from(u16::from_be_bytes([
        bytes[PARAMETERS_LENGTH_AT + 2],
        bytes[PARAMETERS_LENGTH_AT + 3],
    ]));
    assert_eq!(PARAMETERS_LENGTH_AT + 4 + extended_length, bytes.len());
    assert!(extended_length > 255, "{extended_length}");
    // The parameter itself: type 2 (Capabilities) with a two-octet length.
    assert_eq!(bytes[PARAMETERS_LENGTH_AT + 4], 2);
    let parameter_length = usize::from(u16::from_be_bytes([
        bytes[PARAMETERS_LENGTH_AT + 5],
        bytes[PARAMETERS_LENGTH_AT + 6],
    ]));
    assert_eq!(parameter_length + 3, extended_length);

    let back = decoded_open(&bytes).unwrap();
    assert!(back.extended_parameters);
    assert_eq!(back.parameters, open.parameters);
    let Some(OptionalParameter::Capabilities(capabilities)) = back.parameters.first() else {
        panic!("no capabilities: {back:?}");
    };
    assert_eq!(
        capabilities
            .iter()
            .filter(|capability| matches!(capability, Capability::Unknown { value: kept, .. } if *kept == value))
            .count(),
        3
    );
}

#[test]
fn short_parameters_in_the_extended_form_are_read_and_a_wrong_length_is_refused() {
    let open = open_with(vec![Capability::RouteRefresh]);
    let classic = Message::Open(open.clone())
        .to_bytes(&CodecContext::default())
        .unwrap();
    assert_ne!(
        classic[PARAMETERS_LENGTH_AT], 255,
        "short parameters stay classic"
    );
    let mut extended = open.clone();
    extended.extended_parameters = true;
    let bytes = Message::Open(extended)
        .to_bytes(&CodecContext::default())
        .unwrap();
    // The 255/255 marker and a two-octet total, and a two-octet parameter length.
    assert_eq!(bytes.len(), classic.len() + 4);
    let back = decoded_open(&bytes).unwrap();
    assert!(back.extended_parameters);
    assert_eq!(back.parameters, open.parameters);

    // The extended length one octet short of the parameters that follow.
    let mut damaged = bytes.to_vec();
    let length = u16::from_be_bytes([
        damaged[PARAMETERS_LENGTH_AT + 2],
        damaged[PARAMETERS_LENGTH_AT + 3],
    ]);
    damaged[PARAMETERS_LENGTH_AT + 2..PARAMETERS_LENGTH_AT + 4]
        .copy_from_slice(&(length - 1).to_be_bytes());
    assert!(decoded_open(&Bytes::from(damaged)).is_err());
}

#[test]
fn a_host_name_longer_than_its_length_octet_is_cut_not_wrapped() {
    let open = open_with(vec![Capability::Fqdn {
        hostname: Bytes::from(vec![b'h'; 300]),
        domain: Bytes::from_static(b"example.net"),
    }]);
    let bytes = Message::Open(open)
        .to_bytes(&CodecContext::default())
        .unwrap();
    let back = decoded_open(&bytes).unwrap();
    let Some(OptionalParameter::Capabilities(capabilities)) = back.parameters.first() else {
        panic!("no capabilities: {back:?}");
    };
    assert_eq!(
        capabilities,
        &[Capability::Fqdn {
            // 255 octets of capability value: two lengths, the domain, the rest.
            hostname: Bytes::from(vec![b'h'; 255 - 2 - 11]),
            domain: Bytes::from_static(b"example.net"),
        }]
    );
}
