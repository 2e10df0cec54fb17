//! OPEN message handling: RFC 4271 §6.2, RFC 5492, RFC 6286, RFC 6793,
//! RFC 9072.

use std::net::Ipv4Addr;

use super::{expect_notification, notification_text, on_new_connection, Scenario};
use crate::context::{Context, Outcome};
use crate::wire::{self, capability_code};

/// Sends a modified OPEN on a new connection and grades a NOTIFICATION.
fn refused(
    id: &'static str,
    rfc: &'static str,
    code: u8,
    subcodes: &'static [u8],
    modify: fn(&Context, &mut wire::Open),
) -> Scenario {
    Scenario::new(id, rfc, notification_text(code, subcodes), move |context| {
        let mut open = context.open_with(&[]);
        modify(context, &mut open);
        on_new_connection(context, open.message(), code, subcodes)
    })
}

/// Sends a modified OPEN on a new connection: the session must come up.
fn accepted(
    id: &'static str,
    rfc: &'static str,
    modify: fn(&Context, &mut wire::Open),
) -> Scenario {
    Scenario::new(id, rfc, "session established", move |context| {
        let mut open = context.open_with(&[]);
        modify(context, &mut open);
        let mut peer = context.connect()?;
        context.sent = open.message();
        let result = peer.establish(&open.message(), context.config.reply_window);
        let outcome = match result {
            Ok(()) => match peer.await_reply(std::time::Duration::from_millis(500)) {
                crate::peer::Reply::StillUp => Outcome::Pass("session established".into()),
                reply => Outcome::Fail(format!("established, then {reply}")),
            },
            Err(reply) => Outcome::Fail(reply.to_string()),
        };
        peer.close();
        context.session_ended();
        Ok(outcome)
    })
}

fn parameters(context: &Context, capabilities: &[Vec<u8>]) -> Vec<u8> {
    let mut all = vec![
        wire::ipv4_unicast(),
        wire::four_octet_as(context.config.local_as),
    ];
    all.extend(capabilities.iter().cloned());
    wire::capabilities_parameter(&all)
}

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "open.version.3",
            "RFC 4271 §6.2",
            "NOTIFICATION 2/1 with the largest supported version (0004) as data",
            |context| version(context, 3),
        ),
        Scenario::new(
            "open.version.5",
            "RFC 4271 §6.2",
            "NOTIFICATION 2/1 with the largest supported version (0004) as data",
            |context| version(context, 5),
        ),
        refused(
            "open.peer-as.wrong",
            "RFC 4271 §6.2",
            2,
            &[2],
            |context, open| {
                let wrong = context.config.local_as.wrapping_add(7);
                open.my_as = wire::two_octet_as(wrong);
                open.parameters = wire::capabilities_parameter(&[
                    wire::ipv4_unicast(),
                    wire::four_octet_as(wrong),
                ]);
            },
        ),
        refused("open.hold-time.1", "RFC 4271 §6.2", 2, &[6], |_, open| {
            open.hold_time = 1
        }),
        refused("open.hold-time.2", "RFC 4271 §6.2", 2, &[6], |_, open| {
            open.hold_time = 2
        }),
        refused(
            "open.identifier.zero",
            "RFC 4271 §6.2, RFC 6286 §2.2",
            2,
            &[3],
            |_, open| open.identifier = Ipv4Addr::UNSPECIFIED,
        ),
        refused(
            "open.parameter.unsupported",
            "RFC 4271 §6.2",
            2,
            &[4],
            |context, open| {
                let mut parameters = parameters(context, &[]);
                parameters.extend_from_slice(&[99, 2, 0xab, 0xcd]);
                open.parameters = parameters;
            },
        ),
        refused(
            "open.parameter.length-overrun",
            "RFC 4271 §6.2, §6.1",
            2,
            &[],
            |context, open| {
                // The capabilities parameter claims more octets than follow.
                let mut parameters = parameters(context, &[]);
                parameters[1] = parameters[1].saturating_add(6);
                open.parameters = parameters;
            },
        ),
        refused(
            "open.capability.length-overrun",
            "RFC 5492 §4",
            2,
            &[],
            |context, open| {
                // A capability whose length runs past its parameter.
                let mut parameters = parameters(context, &[]);
                let end = parameters.len();
                parameters.extend_from_slice(&[128, 9, 1]);
                parameters[1] = parameters[1].saturating_add(3);
                debug_assert!(parameters.len() == end + 3);
                open.parameters = parameters;
            },
        ),
        refused(
            "open.four-octet-as.mismatch",
            "RFC 6793 §4.1",
            2,
            &[2],
            |context, open| {
                // The two-octet field is the configured AS, the capability
                // another one: the capability is the AS that counts.
                let other = context.config.local_as.wrapping_add(3);
                open.parameters = wire::capabilities_parameter(&[
                    wire::ipv4_unicast(),
                    wire::four_octet_as(other),
                ]);
            },
        ),
        accepted(
            "open.capability.unknown",
            "RFC 5492 §5",
            |context, open| {
                open.parameters = parameters(context, &[wire::capability(213, &[1, 2, 3])]);
            },
        ),
        accepted(
            "open.capability.in-separate-parameters",
            "RFC 5492 §4",
            |context, open| {
                // Each capability in a parameter of its own, as old speakers send.
                let mut parameters = wire::capabilities_parameter(&[wire::ipv4_unicast()]);
                parameters.extend(wire::capabilities_parameter(&[wire::four_octet_as(
                    context.config.local_as,
                )]));
                open.parameters = parameters;
            },
        ),
        accepted(
            "open.four-octet-as.as-trans",
            "RFC 6793 §4.1",
            |_, open| {
                open.my_as = wire::AS_TRANS;
            },
        ),
        accepted("open.hold-time.3", "RFC 4271 §4.2", |_, open| {
            open.hold_time = 3
        }),
        Scenario::new(
            "open.identifier.same-as-speaker-ebgp",
            "RFC 6286 §2.2",
            "session established (identifiers need only be unique within an AS)",
            |context| {
                let identifier = context
                    .session()?
                    .open
                    .as_ref()
                    .and_then(|open| open.identifier)
                    .ok_or_else(|| Outcome::Error("the speaker's OPEN had no identifier".into()))?;
                let mut open = context.open_with(&[]);
                open.identifier = identifier;
                let mut peer = context.connect()?;
                context.sent = open.message();
                let result = peer.establish(&open.message(), context.config.reply_window);
                peer.close();
                context.session_ended();
                Ok(match result {
                    Ok(()) => Outcome::Pass("session established".into()),
                    Err(reply) => Outcome::Fail(reply.to_string()),
                })
            },
        ),
        Scenario::new(
            "open.extended-parameters",
            "RFC 9072 §2",
            "session established from an OPEN in the extended optional parameters format",
            |context| {
                let open = context.open_with(&[]);
                // Non-Ext OP Len 255, Non-Ext OP Type 255, a two-octet
                // length, then parameters with two-octet lengths.
                let capabilities = [
                    wire::ipv4_unicast(),
                    wire::four_octet_as(context.config.local_as),
                ]
                .concat();
                let mut extended = vec![2];
                extended.extend_from_slice(&(capabilities.len() as u16).to_be_bytes());
                extended.extend_from_slice(&capabilities);
                let mut body = open.body();
                body.truncate(9);
                body.extend_from_slice(&[255, 255]);
                body.extend_from_slice(&(extended.len() as u16).to_be_bytes());
                body.extend_from_slice(&extended);
                let message = wire::message(wire::kind::OPEN, &body);
                let mut peer = context.connect()?;
                context.sent = message.clone();
                let result = peer.establish(&message, context.config.reply_window);
                peer.close();
                context.session_ended();
                Ok(match result {
                    Ok(()) => Outcome::Pass("session established".into()),
                    Err(reply) => Outcome::Fail(reply.to_string()),
                })
            },
        ),
        Scenario::new(
            "open.in-established",
            "RFC 4271 §8.2.2, RFC 6608 §4",
            notification_text(5, &[3]),
            |context| {
                let open = context.open_with(&[]).message();
                super::on_session(context, open, 5, &[3])
            },
        ),
        Scenario::new(
            "open.capability.route-refresh-advertised",
            "RFC 2918 §2",
            "the speaker's OPEN carries the route refresh capability",
            |context| {
                context.session()?;
                capability_seen(context, capability_code::ROUTE_REFRESH)
            },
        ),
        Scenario::new(
            "open.capability.four-octet-as-advertised",
            "RFC 6793 §3",
            "the speaker's OPEN carries the four-octet AS capability with its AS",
            |context| {
                let target_as = context.config.target_as;
                let peer = context.session()?;
                let open = peer.open.clone().unwrap_or_default();
                let value = open
                    .capabilities
                    .iter()
                    .find(|(code, _)| *code == capability_code::FOUR_OCTET_AS)
                    .map(|(_, value)| value.clone());
                Ok(match value {
                    Some(value) if value == target_as.to_be_bytes() => {
                        Outcome::Pass(format!("four-octet AS {target_as}"))
                    }
                    Some(value) => {
                        Outcome::Fail(format!("four-octet AS capability {}", wire::hex(&value)))
                    }
                    None => Outcome::Fail("no four-octet AS capability".into()),
                })
            },
        ),
    ]
}

fn version(context: &mut Context, version: u8) -> Result<Outcome, Outcome> {
    let mut open = context.open_with(&[]);
    open.version = version;
    let mut peer = context.connect()?;
    context.sent = open.message();
    peer.send(&open.message())
        .map_err(|error| Outcome::Error(format!("sending: {error}")))?;
    let reply = peer.await_reply(context.config.reply_window);
    peer.abort();
    context.session_ended();
    Ok(match expect_notification(reply.clone(), 2, &[1]) {
        Outcome::Pass(text) => match &reply {
            // RFC 4271 §6.2: the data is the largest supported version
            // below the one bid, or the smallest supported one if none is
            // below: 4 either way, as two octets.
            crate::peer::Reply::Notification(notification) if notification.data == [0, 4] => {
                Outcome::Pass(text)
            }
            _ => Outcome::Fail(format!("{text}: the data should be 0004")),
        },
        other => other,
    })
}

fn capability_seen(context: &mut Context, code: u8) -> Result<Outcome, Outcome> {
    let peer = context.session()?;
    let open = peer.open.clone().unwrap_or_default();
    Ok(if open.has(code) {
        Outcome::Pass(format!("capability {code} advertised"))
    } else {
        Outcome::Fail(format!(
            "capability {code} not among {:?}",
            open.capabilities
                .iter()
                .map(|(code, _)| *code)
                .collect::<Vec<_>>()
        ))
    })
}
