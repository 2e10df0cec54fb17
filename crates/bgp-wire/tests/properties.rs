//! Property tests: encoding then decoding gives back the message, large
//! UPDATEs split into messages that each fit, and no input makes the decoder
//! panic.

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp_wire::{
    frame_length, Aggregator, AsPath, Asn, AttributeFlags, AttributeType, AttributeValue,
    Capability, CodecContext, Communities, Community, ExtendedCommunities, ExtendedCommunity,
    Family, LargeCommunities, LargeCommunity, Message, MpNlri, MpReach, MpUnreach, Nlri,
    Notification, Open, Origin, PathAttribute, RouteRefresh, RouterId, SegmentKind, Update,
    MAX_MESSAGE_LENGTH,
};
use bytes::{BufMut, Bytes, BytesMut};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;

fn ipv4_prefix() -> impl Strategy<Value = Nlri> {
    (any::<u32>(), 0u8..=32).prop_map(|(address, length)| {
        Nlri::new(IpNet::V4(
            Ipv4Net::new(Ipv4Addr::from(address), length)
                .unwrap()
                .trunc(),
        ))
    })
}

fn ipv6_prefix() -> impl Strategy<Value = Nlri> {
    (any::<u128>(), 0u8..=128).prop_map(|(address, length)| {
        Nlri::new(IpNet::V6(
            Ipv6Net::new(Ipv6Addr::from(address), length)
                .unwrap()
                .trunc(),
        ))
    })
}

fn as_path(max_asn: u32) -> impl Strategy<Value = AsPath> {
    let segment = (
        prop_oneof![
            Just(SegmentKind::Sequence),
            Just(SegmentKind::Set),
            Just(SegmentKind::ConfedSequence),
            Just(SegmentKind::ConfedSet)
        ],
        // AS 0 is left out: RFC 7607 makes a path holding it malformed, which
        // tests/as_zero.rs covers; here every generated path must be valid.
        prop::collection::vec((1..=max_asn).prop_map(Asn), 1..8),
    );
    prop::collection::vec(segment, 0..4).prop_map(|segments| {
        AsPath::from_segments(segments.iter().map(|(kind, asns)| (*kind, asns.as_slice())))
    })
}

fn optional_attributes(max_asn: u32) -> impl Strategy<Value = Vec<PathAttribute>> {
    (
        prop::option::of(any::<u32>().prop_map(AttributeValue::MultiExitDisc)),
        prop::option::of(any::<u32>().prop_map(AttributeValue::LocalPref)),
        any::<bool>(),
        // Not AS 0 either (RFC 7607 §2, tests/as_zero.rs).
        prop::option::of((1..=max_asn, any::<u32>()).prop_map(|(asn, address)| {
            AttributeValue::Aggregator(Aggregator {
                asn: Asn(asn),
                address: Ipv4Addr::from(address),
            })
        })),
        prop::option::of(
            prop::collection::vec(any::<u32>().prop_map(Community), 1..20).prop_map(|items| {
                AttributeValue::Communities(items.into_iter().collect::<Communities>())
            }),
        ),
        prop::option::of(
            prop::collection::vec(any::<[u8; 8]>().prop_map(ExtendedCommunity), 1..8).prop_map(
                |items| {
                    AttributeValue::ExtendedCommunities(
                        items.into_iter().collect::<ExtendedCommunities>(),
                    )
                },
            ),
        ),
        prop::option::of(
            prop::collection::vec(
                (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(global, local1, local2)| {
                    LargeCommunity {
                        global,
                        local1,
                        local2,
                    }
                }),
                1..6,
            )
            .prop_map(|items| {
                AttributeValue::LargeCommunities(items.into_iter().collect::<LargeCommunities>())
            }),
        ),
        // An unknown optional transitive attribute, carried as octets.
        prop::option::of(
            (200u8..=254, prop::collection::vec(any::<u8>(), 0..40)).prop_map(
                |(type_code, value)| AttributeValue::Other {
                    type_code: AttributeType(type_code),
                    value: Bytes::from(value),
                },
            ),
        ),
    )
        .prop_map(
            |(med, local_pref, atomic, aggregator, communities, extended, large, other)| {
                let mut values: Vec<AttributeValue> = Vec::new();
                values.extend(med);
                values.extend(local_pref);
                if atomic {
                    values.push(AttributeValue::AtomicAggregate);
                }
                values.extend(aggregator);
                values.extend(communities);
                values.extend(extended);
                values.extend(large);
                values.extend(other);
                values.into_iter().map(PathAttribute::new).collect()
            },
        )
}

fn update(max_asn: u32) -> impl Strategy<Value = Update> {
    (
        prop::collection::vec(ipv4_prefix(), 0..30),
        prop::collection::vec(ipv4_prefix(), 0..30),
        as_path(max_asn),
        any::<u32>(),
        optional_attributes(max_asn),
        prop::option::of((any::<u128>(), prop::collection::vec(ipv6_prefix(), 1..20))),
        prop::option::of(prop::collection::vec(ipv6_prefix(), 0..20)),
    )
        .prop_map(
            |(withdrawn, announced, path, next_hop, optional, reach, unreach)| {
                let mut attributes = vec![
                    PathAttribute::new(AttributeValue::Origin(Origin::Incomplete)),
                    PathAttribute::new(AttributeValue::AsPath(path)),
                    PathAttribute::new(AttributeValue::NextHop(Ipv4Addr::from(next_hop))),
                ];
                attributes.extend(optional);
                if let Some((next_hop, prefixes)) = reach {
                    attributes.push(PathAttribute::new(AttributeValue::MpReach(MpReach {
                        family: Family::IPV6_UNICAST,
                        next_hop: Bytes::copy_from_slice(&next_hop.to_be_bytes()),
                        reserved: 0,
                        nlri: MpNlri::Prefixes(prefixes),
                    })));
                }
                if let Some(prefixes) = unreach {
                    attributes.push(PathAttribute::new(AttributeValue::MpUnreach(MpUnreach {
                        family: Family::IPV6_UNICAST,
                        nlri: MpNlri::Prefixes(prefixes),
                    })));
                }
                Update {
                    withdrawn: withdrawn.into(),
                    attributes,
                    announced: announced.into(),
                }
            },
        )
}

fn capability() -> impl Strategy<Value = Capability> {
    prop_oneof![
        Just(Capability::Multiprotocol(Family::IPV4_UNICAST)),
        Just(Capability::Multiprotocol(Family::IPV6_UNICAST)),
        Just(Capability::RouteRefresh),
        Just(Capability::EnhancedRouteRefresh),
        Just(Capability::ExtendedMessage),
        any::<u32>().prop_map(|asn| Capability::FourOctetAs(Asn(asn))),
        (any::<u8>(), prop::collection::vec(any::<u8>(), 0..30)).prop_filter_map(
            "known codes are decoded into their own variants",
            |(code, value)| {
                (code >= 200).then(|| Capability::Unknown {
                    code: bgp_wire::CapabilityCode(code),
                    value: Bytes::from(value),
                })
            }
        ),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Message::Keepalive),
        (
            any::<u16>(),
            prop_oneof![Just(0u16), 3u16..],
            1u32..,
            prop::collection::vec(capability(), 0..10)
        )
            .prop_map(|(my_as, hold_time, id, capabilities)| {
                let mut open = Open::new(
                    Asn(u32::from(my_as)),
                    hold_time,
                    RouterId(Ipv4Addr::from(id)),
                    capabilities,
                );
                open.my_as = my_as;
                Message::Open(open)
            }),
        (
            1u8..=8,
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(code, subcode, data)| {
                Message::Notification(Notification::new(
                    bgp_wire::ErrorCode(code),
                    subcode,
                    Bytes::from(data),
                ))
            }),
        (any::<u16>(), any::<u8>()).prop_map(|(afi, safi)| {
            Message::RouteRefresh(RouteRefresh::request(Family::new(
                bgp_wire::Afi(afi),
                bgp_wire::Safi(safi),
            )))
        }),
        update(u32::MAX).prop_map(Message::Update),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_gives_back_the_message(message in message()) {
        let context = CodecContext::default();
        let encoded = message.to_bytes(&context).unwrap();
        prop_assert!(encoded.len() <= MAX_MESSAGE_LENGTH);
        prop_assert_eq!(frame_length(&encoded, MAX_MESSAGE_LENGTH), Ok(Some(encoded.len())));
        let received = Message::decode(&encoded, &context).unwrap();
        prop_assert!(received.errors.is_empty(), "{:?}", received.errors);
        prop_assert_eq!(received.message, message);
    }

    #[test]
    fn two_octet_sessions_round_trip_two_octet_paths(update in update(65535)) {
        let context = CodecContext { four_octet_asn: false, ..CodecContext::default() };
        let encoded = Message::Update(update.clone()).to_bytes(&context).unwrap();
        let received = Message::decode(&encoded, &context).unwrap();
        prop_assert!(received.errors.is_empty(), "{:?}", received.errors);
        prop_assert_eq!(received.message, Message::Update(update));
    }

    #[test]
    fn add_path_identifiers_round_trip(prefixes in prop::collection::vec((ipv4_prefix(), any::<u32>()), 1..50)) {
        let context = CodecContext { add_path: vec![Family::IPV4_UNICAST], ..CodecContext::default() };
        let announced: Vec<Nlri> = prefixes.into_iter().map(|(nlri, id)| Nlri { path_id: Some(id), ..nlri }).collect();
        let update = Update {
            withdrawn: announced.clone().into(),
            attributes: vec![
                PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
                PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(&[Asn(65001)]))),
                PathAttribute::new(AttributeValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))),
            ],
            announced: announced.into(),
        };
        let encoded = Message::Update(update.clone()).to_bytes(&context).unwrap();
        prop_assert_eq!(Message::decode(&encoded, &context).unwrap().message, Message::Update(update));
    }

    #[test]
    fn large_updates_split_into_messages_that_each_fit(
        announced in prop::collection::vec(ipv4_prefix(), 0..3000),
        withdrawn in prop::collection::vec(ipv4_prefix(), 0..1500),
        reach in prop::collection::vec(ipv6_prefix(), 0..800),
    ) {
        let context = CodecContext::default();
        let mut attributes = vec![
            PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
            PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(&[Asn(65001), Asn(4_200_000_000)]))),
            PathAttribute::new(AttributeValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))),
        ];
        if !reach.is_empty() {
            attributes.push(PathAttribute::new(AttributeValue::MpReach(MpReach {
                family: Family::IPV6_UNICAST,
                next_hop: Bytes::copy_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
                reserved: 0,
                nlri: MpNlri::Prefixes(reach.clone()),
            })));
        }
        let update = Update { withdrawn: withdrawn.clone().into(), attributes, announced: announced.clone().into() };
        let mut buffer = BytesMut::new();
        let count = update.encode(&context, &mut buffer).unwrap();
        let mut stream = buffer;
        let (mut seen_announced, mut seen_withdrawn, mut seen_reach) = (Vec::new(), Vec::new(), Vec::new());
        let mut frames = 0;
        while let Some(frame) = bgp_wire::split_frame(&mut stream, MAX_MESSAGE_LENGTH).unwrap() {
            frames += 1;
            let received = Message::decode(&frame, &context).unwrap();
            prop_assert!(received.errors.is_empty(), "{:?}", received.errors);
            let Message::Update(piece) = received.message else { panic!("not an UPDATE") };
            if let Some(reach) = piece.mp_reach() {
                seen_reach.extend_from_slice(reach.nlri.prefixes());
            }
            if !piece.announced.is_empty() || piece.mp_reach().is_some() {
                prop_assert_eq!(piece.origin(), Some(Origin::Igp));
                prop_assert!(piece.as_path().is_some());
            }
            seen_announced.extend(piece.announced);
            seen_withdrawn.extend(piece.withdrawn);
        }
        prop_assert!(stream.is_empty());
        prop_assert_eq!(frames, count);
        prop_assert_eq!(seen_announced, announced);
        prop_assert_eq!(seen_withdrawn, withdrawn);
        prop_assert_eq!(seen_reach, reach);
    }

    #[test]
    fn arbitrary_octets_never_panic_the_framer_or_decoder(
        octets in prop::collection::vec(any::<u8>(), 0..600),
        message_type in 1u8..=5,
        four_octet_asn: bool,
        add_path: bool,
    ) {
        let context = CodecContext {
            four_octet_asn,
            add_path: if add_path { vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST] } else { Vec::new() },
            ..CodecContext::default()
        };
        let _ = frame_length(&octets, MAX_MESSAGE_LENGTH);
        let _ = Message::decode(&Bytes::from(octets.clone()), &context);
        // The same octets behind a valid header reach the body decoders.
        let mut framed = BytesMut::new();
        framed.put_bytes(0xff, 16);
        framed.put_u16((19 + octets.len()) as u16);
        framed.put_u8(message_type);
        framed.put_slice(&octets);
        let frame = framed.freeze();
        if let Ok(received) = Message::decode(&frame, &context) {
            // Whatever decodes must encode again without panicking.
            let _ = received.message.to_bytes(&context);
        }
    }

    #[test]
    fn arbitrary_attribute_lists_never_panic(octets in prop::collection::vec(any::<u8>(), 0..800), four_octet_asn: bool) {
        let context = CodecContext { four_octet_asn, ..CodecContext::default() };
        let (attributes, _) = bgp_wire::decode_path_attributes(&Bytes::from(octets), &context);
        let mut buffer = BytesMut::new();
        attributes.iter().for_each(|attribute| attribute.encode(&context, &mut buffer));
    }
}

#[test]
fn unknown_optional_transitive_attributes_are_passed_on_with_partial_set() {
    let attribute = PathAttribute {
        flags: AttributeFlags::OPTIONAL_TRANSITIVE,
        value: AttributeValue::Other {
            type_code: AttributeType(250),
            value: Bytes::from_static(b"\x01\x02"),
        },
    };
    let passed = attribute.for_propagation().unwrap();
    assert!(passed.flags.is_partial());
    assert_eq!(passed.value, attribute.value);
    let non_transitive = PathAttribute {
        flags: AttributeFlags::OPTIONAL_NON_TRANSITIVE,
        ..attribute
    };
    assert!(non_transitive.for_propagation().is_none());
}
