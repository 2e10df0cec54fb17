//! Message header checks (RFC 4271 §6.1, RFC 8654) and framing: messages
//! split across segments, many in one.

use super::{notification_text, on_new_connection, on_session, scenario_prefix, Scenario};
use crate::context::Outcome;
use crate::wire::{self, kind};

fn on_session_case(
    id: &'static str,
    rfc: &'static str,
    code: u8,
    subcodes: &'static [u8],
    build: fn() -> Vec<u8>,
) -> Scenario {
    Scenario::new(id, rfc, notification_text(code, subcodes), move |context| {
        on_session(context, build(), code, subcodes)
    })
}

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        on_session_case("header.marker.zeros", "RFC 4271 §6.1", 1, &[1], || {
            wire::header([0; 16], 19, kind::KEEPALIVE, &[])
        }),
        on_session_case("header.marker.one-bit", "RFC 4271 §6.1", 1, &[1], || {
            let mut marker = [0xff; 16];
            marker[15] = 0xfe;
            wire::header(marker, 19, kind::KEEPALIVE, &[])
        }),
        on_session_case("header.length.18", "RFC 4271 §6.1", 1, &[2], || {
            wire::header([0xff; 16], 18, kind::KEEPALIVE, &[0])
        }),
        on_session_case(
            "header.length.4097",
            "RFC 4271 §6.1, RFC 8654 §4",
            1,
            &[2],
            || {
                // Larger than 4096 without the extended message capability.
                let mut body = vec![0, 0, 0, 0];
                body.resize(4097 - 19, 0);
                wire::header([0xff; 16], 4097, kind::UPDATE, &body)
            },
        ),
        on_session_case(
            "header.length.keepalive-20",
            "RFC 4271 §6.1",
            1,
            &[2],
            || wire::header([0xff; 16], 20, kind::KEEPALIVE, &[0]),
        ),
        on_session_case("header.length.update-22", "RFC 4271 §6.1", 1, &[2], || {
            wire::header([0xff; 16], 22, kind::UPDATE, &[0, 0, 0])
        }),
        on_session_case(
            "header.length.notification-20",
            "RFC 4271 §6.1",
            1,
            &[2],
            || {
                // A NOTIFICATION needs 21 octets; no reply is due to a
                // NOTIFICATION, but a malformed one is a header error.
                wire::header([0xff; 16], 20, kind::NOTIFICATION, &[6])
            },
        ),
        on_session_case("header.type.0", "RFC 4271 §6.1", 1, &[3], || {
            wire::message(0, &[])
        }),
        on_session_case("header.type.99", "RFC 4271 §6.1", 1, &[3], || {
            wire::message(99, &[])
        }),
        Scenario::new(
            "header.length.open-28",
            "RFC 4271 §6.1",
            notification_text(1, &[2]),
            |context| {
                let open = context.open_with(&[]).body();
                let message = wire::header([0xff; 16], 28, kind::OPEN, &open[..9]);
                on_new_connection(context, message, 1, &[2])
            },
        ),
        Scenario::new(
            "header.split.every-offset",
            "RFC 4271 §4.1 (TCP is a stream)",
            "an UPDATE split into two segments at each offset is read whole each time",
            |context| {
                let prefix = scenario_prefix(context.index);
                let mut peer = context.take_session()?;
                let attributes = context.valid_attributes();
                for offset in 1..19 + 4 + attributes.len() {
                    // Each announcement differs in its prefix, so each is seen.
                    let update = wire::update(
                        &[],
                        &attributes,
                        &wire::prefix(
                            std::net::Ipv4Addr::from(u32::from(prefix.0) + (offset as u32) % 256),
                            32,
                        ),
                    );
                    context.sent = update.clone();
                    if let Err(error) = peer.send_split(&update, offset) {
                        return Err(Outcome::Fail(format!("at offset {offset}: {error}")));
                    }
                }
                context.still_up(&mut peer)?;
                let last = std::net::Ipv4Addr::from(u32::from(prefix.0) + 1);
                if context.has_observer() {
                    context.observe((last, 32), true)?;
                }
                context.keep_session(peer);
                Ok(Outcome::Pass("every split read whole, session up".into()))
            },
        ),
        Scenario::new(
            "header.many-in-one-segment",
            "RFC 4271 §4.1 (TCP is a stream)",
            "100 UPDATEs written at once are all read",
            |context| {
                let prefix = scenario_prefix(context.index);
                let mut peer = context.take_session()?;
                let attributes = context.valid_attributes();
                let mut burst = Vec::new();
                for host in 0..100u32 {
                    let address = std::net::Ipv4Addr::from(u32::from(prefix.0) + host);
                    burst.extend(wire::update(&[], &attributes, &wire::prefix(address, 32)));
                }
                context.sent = burst[..burst.len().min(64)].to_vec();
                peer.send(&burst)
                    .map_err(|error| Outcome::Fail(format!("sending: {error}")))?;
                context.still_up(&mut peer)?;
                if context.has_observer() {
                    for host in [0u32, 50, 99] {
                        let address = std::net::Ipv4Addr::from(u32::from(prefix.0) + host);
                        context.observe((address, 32), true)?;
                    }
                }
                context.keep_session(peer);
                Ok(Outcome::Pass("all 100 read, session up".into()))
            },
        ),
    ]
}
