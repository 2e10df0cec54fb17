//! The JSON shape of `nodebgp decode` (documented in README.md; keep it stable).

use super::text::{ipv4_text, prefix_text};
use bgp_wire::{
    AttributeError, AttributeValue, Capability, DecodeError, Family, Message, MpNlri, Nlri,
    Notification, Open, PathAttribute, Received, RouteRefresh, Update,
};
use serde_json::{json, Map, Value};

/// The object for a message that decoded (possibly with RFC 7606 errors).
pub(crate) fn received(received: &Received, length: usize) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert(
        "type".into(),
        json!(received.message.message_type().as_str()),
    );
    object.insert("length".into(), json!(length));
    match &received.message {
        Message::Open(open) => open_fields(open, &mut object),
        Message::Update(update) => update_fields(update, &mut object),
        Message::Notification(notification) => notification_fields(notification, &mut object),
        Message::Keepalive => {}
        Message::RouteRefresh(refresh) => route_refresh_fields(refresh, &mut object),
    }
    if let Some(governing) = received.governing_error() {
        object.insert("error".into(), attribute_error(governing));
        if received.errors.len() > 1 {
            object.insert(
                "errors".into(),
                Value::Array(received.errors.iter().map(attribute_error).collect()),
            );
        }
    }
    object
}

/// The object for a message that must reset the session. `message_type` is
/// the header's type when the header itself was sound.
pub(crate) fn failed(
    error: &DecodeError,
    message_type: Option<&str>,
    length: usize,
) -> Map<String, Value> {
    let notification = error.notification();
    let mut object = Map::new();
    object.insert(
        "type".into(),
        message_type.map_or(Value::Null, |name| json!(name)),
    );
    object.insert("length".into(), json!(length));
    object.insert(
        "error".into(),
        json!({
            "code": notification.code.0,
            "subcode": notification.subcode,
            "treatment": "session-reset",
            "reason": error.to_string(),
            "notification": notification.describe(),
            "data": hex::encode(&notification.data),
        }),
    );
    object
}

fn attribute_error(error: &AttributeError) -> Value {
    let mut object = json!({
        "code": 3,
        "subcode": error.subcode as u8,
        "treatment": error.treatment.as_str(),
        "reason": error.detail,
    });
    if let Some(attribute) = error.attribute {
        object["attribute"] = json!(attribute.to_string());
    }
    if let Some(family) = error.family {
        object["family"] = json!(family.to_string());
    }
    object
}

fn prefixes(list: &[Nlri]) -> Value {
    Value::Array(
        list.iter()
            .map(|nlri| match nlri.path_id {
                None => Value::String(prefix_text(&nlri.prefix)),
                Some(path_id) => json!({"prefix": prefix_text(&nlri.prefix), "path_id": path_id}),
            })
            .collect(),
    )
}

fn update_fields(update: &Update, object: &mut Map<String, Value>) {
    let mut withdrawn = Map::new();
    let mut announced = Map::new();
    if !update.withdrawn.is_empty() {
        withdrawn.insert(
            Family::IPV4_UNICAST.to_string(),
            prefixes(&update.withdrawn),
        );
    }
    if !update.announced.is_empty() {
        announced.insert(
            Family::IPV4_UNICAST.to_string(),
            prefixes(&update.announced),
        );
    }
    let attributes = attributes_with_nlri(&update.attributes, &mut withdrawn, &mut announced);
    object.insert("withdrawn".into(), Value::Object(withdrawn));
    object.insert("announced".into(), Value::Object(announced));
    object.insert("attributes".into(), Value::Object(attributes));
    if let Some(family) = update.end_of_rib() {
        object.insert("end_of_rib".into(), json!(family.to_string()));
    }
}

/// Path attributes by name, as `decode` prints them (for `nodebgp routes`).
pub(crate) fn attributes_object(list: &[PathAttribute]) -> Map<String, Value> {
    attributes_with_nlri(list, &mut Map::new(), &mut Map::new())
}

/// Path attributes by name; MP_REACH/MP_UNREACH prefixes go to `announced`
/// and `withdrawn` by family.
fn attributes_with_nlri(
    list: &[PathAttribute],
    withdrawn: &mut Map<String, Value>,
    announced: &mut Map<String, Value>,
) -> Map<String, Value> {
    let mut attributes = Map::new();
    let mut unknown = Vec::new();
    for attribute in list {
        attribute_field(
            attribute,
            &mut attributes,
            &mut unknown,
            withdrawn,
            announced,
        );
    }
    if !unknown.is_empty() {
        attributes.insert("unknown".into(), Value::Array(unknown));
    }
    attributes
}

fn mp_nlri(nlri: &MpNlri) -> Value {
    match nlri {
        MpNlri::Prefixes(list) => prefixes(list),
        MpNlri::Opaque(octets) => json!({"opaque": hex::encode(octets)}),
    }
}

fn attribute_field(
    attribute: &PathAttribute,
    attributes: &mut Map<String, Value>,
    unknown: &mut Vec<Value>,
    withdrawn: &mut Map<String, Value>,
    announced: &mut Map<String, Value>,
) {
    let (name, value) = match &attribute.value {
        AttributeValue::Origin(origin) => ("origin", json!(origin.as_str())),
        AttributeValue::AsPath(path) => ("as_path", json!(path.to_string())),
        AttributeValue::NextHop(address) => ("next_hop", Value::String(ipv4_text(*address))),
        AttributeValue::MultiExitDisc(value) => ("med", json!(value)),
        AttributeValue::LocalPref(value) => ("local_pref", json!(value)),
        AttributeValue::AtomicAggregate => ("atomic_aggregate", json!(true)),
        AttributeValue::Aggregator(aggregator) => (
            "aggregator",
            json!({"asn": aggregator.asn.0, "address": aggregator.address.to_string()}),
        ),
        AttributeValue::Communities(list) => (
            "communities",
            Value::Array(list.iter().map(|item| json!(item.to_string())).collect()),
        ),
        AttributeValue::OriginatorId(address) => ("originator_id", json!(address.to_string())),
        AttributeValue::ClusterList(list) => (
            "cluster_list",
            Value::Array(list.iter().map(|item| json!(item.to_string())).collect()),
        ),
        AttributeValue::MpReach(reach) => {
            if !reach.nlri.is_empty() {
                announced.insert(reach.family.to_string(), mp_nlri(&reach.nlri));
            }
            let addresses = reach.next_hop_addresses();
            let next_hop = if addresses.is_empty() {
                json!(hex::encode(&reach.next_hop))
            } else {
                Value::Array(
                    addresses
                        .iter()
                        .map(|address| json!(address.to_string()))
                        .collect(),
                )
            };
            (
                "mp_reach",
                json!({"family": reach.family.to_string(), "next_hop": next_hop}),
            )
        }
        AttributeValue::MpUnreach(unreach) => {
            if !unreach.nlri.is_empty() {
                withdrawn.insert(unreach.family.to_string(), mp_nlri(&unreach.nlri));
            }
            ("mp_unreach", json!({"family": unreach.family.to_string()}))
        }
        AttributeValue::ExtendedCommunities(list) => (
            "extended_communities",
            Value::Array(list.iter().map(|item| json!(item.to_string())).collect()),
        ),
        AttributeValue::As4Path(path) => ("as4_path", json!(path.to_string())),
        AttributeValue::As4Aggregator(aggregator) => (
            "as4_aggregator",
            json!({"asn": aggregator.asn.0, "address": aggregator.address.to_string()}),
        ),
        AttributeValue::LargeCommunities(list) => (
            "large_communities",
            Value::Array(list.iter().map(|item| json!(item.to_string())).collect()),
        ),
        AttributeValue::Other { type_code, value } => {
            unknown.push(json!({
                "type": type_code.0,
                "name": type_code.name(),
                "flags": attribute.flags.0,
                "value": hex::encode(value),
            }));
            return;
        }
        _ => return,
    };
    attributes.insert(name.into(), value);
}

fn open_fields(open: &Open, object: &mut Map<String, Value>) {
    object.insert("version".into(), json!(4));
    object.insert("asn".into(), json!(open.asn().0));
    object.insert("my_as".into(), json!(open.my_as));
    object.insert("hold_time".into(), json!(open.hold_time));
    object.insert("router_id".into(), json!(open.router_id.to_string()));
    object.insert(
        "extended_parameters".into(),
        json!(open.extended_parameters),
    );
    object.insert(
        "capabilities".into(),
        Value::Array(open.capabilities().map(capability).collect()),
    );
}

fn capability(capability: &Capability) -> Value {
    let code = capability.code();
    let mut object = json!({
        "code": code.0,
        "name": code.name().unwrap_or("unknown"),
    });
    match capability {
        Capability::Multiprotocol(family) => object["family"] = json!(family.to_string()),
        Capability::FourOctetAs(asn) => object["asn"] = json!(asn.0),
        Capability::GracefulRestart(restart) => {
            object["restart_time"] = json!(restart.restart_time);
            object["restart_state"] = json!(restart.flags & 0x8 != 0);
            object["notification"] = json!(restart.flags & 0x4 != 0);
            object["families"] = Value::Array(
                restart
                    .families
                    .iter()
                    .map(|entry| {
                        json!({"family": entry.family.to_string(), "forwarding_preserved": entry.flags & 0x80 != 0})
                    })
                    .collect(),
            );
        }
        Capability::LongLivedGracefulRestart(families) => {
            object["families"] = Value::Array(
                families
                    .iter()
                    .map(|entry| json!({"family": entry.family.to_string(), "stale_time": entry.stale_time}))
                    .collect(),
            );
        }
        Capability::AddPath(families) => {
            object["families"] = Value::Array(
                families
                    .iter()
                    .map(|(family, direction)| {
                        let mode = match (direction.receives(), direction.sends()) {
                            (true, true) => "send-receive",
                            (true, false) => "receive",
                            _ => "send",
                        };
                        json!({"family": family.to_string(), "mode": mode})
                    })
                    .collect(),
            );
        }
        Capability::ExtendedNextHop(entries) => {
            object["families"] = Value::Array(
                entries
                    .iter()
                    .map(|entry| {
                        json!({"afi": entry.afi.to_string(), "safi": entry.safi, "next_hop_afi": entry.next_hop_afi.to_string()})
                    })
                    .collect(),
            );
        }
        Capability::Role(role) => object["role"] = json!(role),
        Capability::Fqdn { hostname, domain } => {
            object["hostname"] = json!(String::from_utf8_lossy(hostname));
            object["domain"] = json!(String::from_utf8_lossy(domain));
        }
        Capability::Unknown { value, .. } => object["value"] = json!(hex::encode(value)),
        _ => {}
    }
    object
}

fn notification_fields(notification: &Notification, object: &mut Map<String, Value>) {
    object.insert("code".into(), json!(notification.code.0));
    object.insert("subcode".into(), json!(notification.subcode));
    object.insert("description".into(), json!(notification.describe()));
    object.insert("data".into(), json!(hex::encode(&notification.data)));
    if let Some(text) = notification.shutdown_communication() {
        object.insert("shutdown_communication".into(), json!(text));
    }
}

fn route_refresh_fields(refresh: &RouteRefresh, object: &mut Map<String, Value>) {
    object.insert("family".into(), json!(refresh.family.to_string()));
    object.insert("subtype".into(), json!(refresh.subtype.to_string()));
    if refresh.is_ignorable() {
        // RFC 7313 §5: an unknown subtype is ignored, not answered.
        object.insert("ignored".into(), json!(true));
    }
    if !refresh.outbound_route_filters.is_empty() {
        object.insert(
            "outbound_route_filters".into(),
            json!(hex::encode(&refresh.outbound_route_filters)),
        );
    }
}
