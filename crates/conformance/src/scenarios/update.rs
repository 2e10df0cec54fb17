//! UPDATE error handling: RFC 4271 §6.3 as revised by RFC 7606 (which
//! treatment each error gets), RFC 7607 (AS 0), RFC 6793 (AS4_PATH), RFC
//! 4760 (MP attributes), and the propagation of unknown attributes (RFC
//! 4271 §5: passed on with Partial, or dropped).

use std::net::Ipv4Addr;

use super::{expect_notification, notification_text, scenario_prefix, Scenario};
use crate::context::{show, Context, Outcome};
use crate::peer::Reply;
use crate::wire::{self, attribute, flag, Prefix, ReceivedUpdate};

/// What the speaker must do with a malformed UPDATE.
#[derive(Clone, Copy)]
enum Expect {
    /// Reset the session with this NOTIFICATION code and one of these
    /// subcodes (any when empty).
    Reset(u8, &'static [u8]),
    /// Treat-as-withdraw (RFC 7606 §2): the route goes, the session stays.
    Withdraw,
    /// Keep the route (the error is discarded or not one), the session
    /// stays; the route as passed on must pass the check.
    Accept(fn(&ReceivedUpdate) -> Result<(), String>),
}

fn any_route(_: &ReceivedUpdate) -> Result<(), String> {
    Ok(())
}

fn without(code: u8) -> fn(&ReceivedUpdate) -> Result<(), String> {
    match code {
        attribute::AGGREGATOR => |update| absent(update, attribute::AGGREGATOR),
        attribute::LOCAL_PREF => |_| Ok(()),
        attribute::ORIGINATOR_ID => |update| absent(update, attribute::ORIGINATOR_ID),
        _ => any_route,
    }
}

fn absent(update: &ReceivedUpdate, code: u8) -> Result<(), String> {
    match update.attribute(code) {
        None => Ok(()),
        Some((flags, value)) => Err(format!(
            "attribute {code} passed on (flags {flags:#04x}, value {})",
            wire::hex(value)
        )),
    }
}

/// A case: the UPDATE to send for the scenario's prefix, and what must
/// happen.
fn case(
    id: &'static str,
    rfc: &'static str,
    expect: Expect,
    build: fn(&Context, Prefix) -> Vec<u8>,
) -> Scenario {
    let expected = match expect {
        Expect::Reset(code, subcodes) => {
            format!("session reset: {}", notification_text(code, subcodes))
        }
        Expect::Withdraw => {
            "treat-as-withdraw: the route is withdrawn, the session stays up".into()
        }
        Expect::Accept(_) => "the route is accepted and passed on, the session stays up".into(),
    };
    Scenario::new(id, rfc, expected, move |context| {
        run(context, expect, build)
    })
}

fn run(
    context: &mut Context,
    expect: Expect,
    build: fn(&Context, Prefix) -> Vec<u8>,
) -> Result<Outcome, Outcome> {
    let prefix = scenario_prefix(context.index);
    let mut peer = context.take_session()?;
    // A route to act on: a valid announcement first, so that a withdrawal
    // shows. Accept cases start without it, so that the route seen later is
    // the one the malformed UPDATE carried.
    if !matches!(expect, Expect::Accept(_)) {
        if let Err(outcome) = context.announce(&mut peer, prefix) {
            context.keep_session(peer);
            return Err(outcome);
        }
    }
    let stimulus = build(context, prefix);
    context.sent = stimulus.clone();
    if let Err(error) = peer.send(&stimulus) {
        context.session_ended();
        return Err(Outcome::Error(format!("sending: {error}")));
    }
    match expect {
        Expect::Reset(code, subcodes) => {
            let reply = peer.await_reply(context.config.reply_window);
            if reply == Reply::StillUp {
                peer.close();
            } else {
                peer.abort();
            }
            context.session_ended();
            Ok(expect_notification(reply, code, subcodes))
        }
        Expect::Withdraw => {
            if !context.has_observer() {
                context.still_up(&mut peer)?;
                context.keep_session(peer);
                return Ok(Outcome::NotApplicable(
                    "session stayed up; needs --observer to see the route withdrawn".into(),
                ));
            }
            let withdrawn = context.observe(prefix, false);
            let up = context.still_up(&mut peer);
            match (withdrawn, up) {
                (Ok(_), Ok(())) => {
                    context.keep_session(peer);
                    Ok(Outcome::Pass(format!(
                        "{} withdrawn, session up",
                        show(prefix)
                    )))
                }
                (_, Err(outcome)) => {
                    context.session_ended();
                    Err(outcome)
                }
                (Err(Outcome::Fail(_)), Ok(())) => {
                    context.keep_session(peer);
                    Ok(Outcome::Fail(format!(
                        "session up, but {} kept (the malformed UPDATE was accepted or ignored)",
                        show(prefix)
                    )))
                }
                (Err(outcome), Ok(())) => {
                    context.keep_session(peer);
                    Err(outcome)
                }
            }
        }
        Expect::Accept(check) => {
            if !context.has_observer() {
                context.still_up(&mut peer)?;
                context.keep_session(peer);
                return Ok(Outcome::NotApplicable(
                    "session stayed up; needs --observer to see the route accepted".into(),
                ));
            }
            let seen = context.observe(prefix, true);
            let up = context.still_up(&mut peer);
            if let Err(outcome) = up {
                context.session_ended();
                return Err(outcome);
            }
            context.keep_session(peer);
            let route = seen?.unwrap_or_default();
            Ok(match check(&route) {
                Ok(()) => Outcome::Pass(format!("{} accepted, session up", show(prefix))),
                Err(why) => Outcome::Fail(why),
            })
        }
    }
}

/// An UPDATE for `prefix` with these attributes.
fn with(attributes: &[Vec<u8>], prefix: Prefix) -> Vec<u8> {
    wire::update(&[], &attributes.concat(), &wire::prefix(prefix.0, prefix.1))
}

fn origin() -> Vec<u8> {
    wire::origin_igp()
}

fn path(context: &Context) -> Vec<u8> {
    wire::as_path(&[context.config.local_as])
}

fn hop(context: &Context) -> Vec<u8> {
    wire::next_hop(context.config.next_hop)
}

pub(super) fn scenarios() -> Vec<Scenario> {
    use Expect::{Accept, Reset, Withdraw};
    vec![
        // Well-known mandatory attributes: RFC 7606 §3 (d), §7.1–§7.3.
        case(
            "update.origin.value-3",
            "RFC 7606 §7.1",
            Withdraw,
            |context, prefix| {
                with(
                    &[
                        wire::path_attribute(flag::WELL_KNOWN, attribute::ORIGIN, &[3]),
                        path(context),
                        hop(context),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.origin.length-2",
            "RFC 7606 §7.1",
            Withdraw,
            |context, prefix| {
                with(
                    &[
                        wire::path_attribute(flag::WELL_KNOWN, attribute::ORIGIN, &[0, 0]),
                        path(context),
                        hop(context),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.origin.missing",
            "RFC 7606 §3 (d)",
            Withdraw,
            |context, prefix| with(&[path(context), hop(context)], prefix),
        ),
        case(
            "update.origin.flags-optional",
            "RFC 7606 §3 (c)",
            Withdraw,
            |context, prefix| {
                with(
                    &[
                        wire::path_attribute(
                            flag::OPTIONAL | flag::TRANSITIVE,
                            attribute::ORIGIN,
                            &[0],
                        ),
                        path(context),
                        hop(context),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.as-path.missing",
            "RFC 7606 §3 (d)",
            Withdraw,
            |context, prefix| with(&[origin(), hop(context)], prefix),
        ),
        case(
            "update.as-path.segment-type-5",
            "RFC 7606 §7.2",
            Withdraw,
            |context, prefix| {
                let mut segment = wire::as_sequence(&[context.config.local_as]);
                segment[0] = 5;
                with(
                    &[
                        origin(),
                        wire::path_attribute(flag::WELL_KNOWN, attribute::AS_PATH, &segment),
                        hop(context),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.as-path.segment-overrun",
            "RFC 7606 §7.2",
            Withdraw,
            |context, prefix| {
                let mut segment = wire::as_sequence(&[context.config.local_as]);
                segment[1] = 3;
                with(
                    &[
                        origin(),
                        wire::path_attribute(flag::WELL_KNOWN, attribute::AS_PATH, &segment),
                        hop(context),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.as-path.segment-length-0",
            "RFC 7606 §7.2",
            Withdraw,
            |context, prefix| {
                let mut segment = wire::as_sequence(&[context.config.local_as]);
                segment.extend_from_slice(&[2, 0]);
                with(
                    &[
                        origin(),
                        wire::path_attribute(flag::WELL_KNOWN, attribute::AS_PATH, &segment),
                        hop(context),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.as-path.odd-length",
            "RFC 7606 §7.2",
            Withdraw,
            |context, prefix| {
                let mut segment = wire::as_sequence(&[context.config.local_as]);
                segment.push(0);
                with(
                    &[
                        origin(),
                        wire::path_attribute(flag::WELL_KNOWN, attribute::AS_PATH, &segment),
                        hop(context),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.as-path.as-0",
            "RFC 7607 §2",
            Withdraw,
            |context, prefix| {
                with(
                    &[
                        origin(),
                        wire::as_path(&[context.config.local_as, 0]),
                        hop(context),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.as-path.own-as",
            "RFC 4271 §9.1.2",
            Withdraw,
            |context, prefix| {
                // A loop: the speaker's own AS in the path. Not an error, but the
                // route is not to be used, so an earlier one goes.
                with(
                    &[
                        origin(),
                        wire::as_path(&[context.config.local_as, context.config.target_as]),
                        hop(context),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.next-hop.missing",
            "RFC 7606 §3 (d)",
            Withdraw,
            |context, prefix| with(&[origin(), path(context)], prefix),
        ),
        case(
            "update.next-hop.length-5",
            "RFC 7606 §7.3",
            Withdraw,
            |context, prefix| {
                with(
                    &[
                        origin(),
                        path(context),
                        wire::path_attribute(
                            flag::WELL_KNOWN,
                            attribute::NEXT_HOP,
                            &[198, 51, 100, 1, 0],
                        ),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.next-hop.zero",
            "RFC 4271 §6.3, RFC 7606 §7.3",
            Withdraw,
            |context, prefix| {
                with(
                    &[
                        origin(),
                        path(context),
                        wire::next_hop(Ipv4Addr::UNSPECIFIED),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.next-hop.multicast",
            "RFC 4271 §6.3, RFC 7606 §7.3",
            Withdraw,
            |context, prefix| {
                with(
                    &[
                        origin(),
                        path(context),
                        wire::next_hop(Ipv4Addr::new(224, 0, 0, 5)),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.next-hop.speaker-itself",
            "RFC 4271 §6.3",
            Withdraw,
            |context, prefix| {
                let target = match context.config.target.ip() {
                    std::net::IpAddr::V4(address) => address,
                    std::net::IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
                };
                with(&[origin(), path(context), wire::next_hop(target)], prefix)
            },
        ),
        // Optional attributes: RFC 7606 §7.4–§7.10.
        case(
            "update.med.length-3",
            "RFC 7606 §7.4",
            Withdraw,
            |context, prefix| {
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        wire::path_attribute(flag::OPTIONAL, attribute::MED, &[0, 0, 1]),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.local-pref.from-ebgp",
            "RFC 7606 §7.5",
            Accept(without(attribute::LOCAL_PREF)),
            |context, prefix| {
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        wire::path_attribute(
                            flag::WELL_KNOWN,
                            attribute::LOCAL_PREF,
                            &[0, 0, 0, 200],
                        ),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.atomic-aggregate.length-1",
            "RFC 7606 §7.6",
            Accept(any_route),
            |context, prefix| {
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        wire::path_attribute(flag::WELL_KNOWN, attribute::ATOMIC_AGGREGATE, &[1]),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.aggregator.length-5",
            "RFC 7606 §7.7",
            Accept(without(attribute::AGGREGATOR)),
            |context, prefix| {
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        wire::path_attribute(
                            flag::OPTIONAL | flag::TRANSITIVE,
                            attribute::AGGREGATOR,
                            &[0, 0, 0xfd, 0xe9, 1],
                        ),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.communities.length-5",
            "RFC 7606 §7.8",
            Withdraw,
            |context, prefix| {
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        wire::path_attribute(
                            flag::OPTIONAL | flag::TRANSITIVE,
                            attribute::COMMUNITIES,
                            &[0, 1, 0, 2, 3],
                        ),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.communities.length-0",
            "RFC 7606 §7.8",
            Withdraw,
            |context, prefix| {
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        wire::path_attribute(
                            flag::OPTIONAL | flag::TRANSITIVE,
                            attribute::COMMUNITIES,
                            &[],
                        ),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.originator-id.from-ebgp",
            "RFC 7606 §7.9",
            Accept(without(attribute::ORIGINATOR_ID)),
            |context, prefix| {
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        wire::path_attribute(
                            flag::OPTIONAL,
                            attribute::ORIGINATOR_ID,
                            &[192, 0, 2, 9],
                        ),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.cluster-list.length-3",
            "RFC 7606 §7.10",
            Withdraw,
            |context, prefix| {
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        wire::path_attribute(flag::OPTIONAL, attribute::CLUSTER_LIST, &[192, 0, 2]),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.as4-path.from-four-octet-speaker",
            "RFC 6793 §3, §6",
            Accept(|update| absent(update, attribute::AS4_PATH)),
            |context, prefix| {
                // A NEW speaker never sends AS4_PATH; one received from it is
                // discarded, malformed or not.
                let mut segment = wire::as_sequence(&[65099]);
                segment[0] = 9;
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        wire::path_attribute(
                            flag::OPTIONAL | flag::TRANSITIVE,
                            attribute::AS4_PATH,
                            &segment,
                        ),
                    ],
                    prefix,
                )
            },
        ),
        // Attribute lists: RFC 7606 §3 (g), §4, §5.
        case(
            "update.duplicate.origin",
            "RFC 7606 §3 (g)",
            Accept(any_route),
            |context, prefix| with(&[origin(), origin(), path(context), hop(context)], prefix),
        ),
        case(
            "update.duplicate.mp-unreach",
            "RFC 7606 §3 (g)",
            Reset(3, &[1]),
            |context, prefix| {
                let unreach =
                    wire::path_attribute(flag::OPTIONAL, attribute::MP_UNREACH, &[0, 2, 1]);
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        unreach.clone(),
                        unreach,
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.attribute.length-overrun",
            "RFC 7606 §4",
            Withdraw,
            |context, prefix| {
                // The last attribute claims more octets than the attributes
                // field holds; the NLRI can still be found.
                let mut med = wire::path_attribute(flag::OPTIONAL, attribute::MED, &[0, 0, 0, 1]);
                med[2] = 40;
                with(&[origin(), path(context), hop(context), med], prefix)
            },
        ),
        case(
            "update.attribute.header-truncated",
            "RFC 7606 §4",
            Withdraw,
            |context, prefix| {
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        vec![flag::OPTIONAL, attribute::MED],
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.attribute.extended-length-short",
            "RFC 4271 §4.3",
            Accept(any_route),
            |context, prefix| {
                // The extended-length flag on a short attribute is valid.
                with(
                    &[
                        wire::path_attribute(
                            flag::WELL_KNOWN | flag::EXTENDED_LENGTH,
                            attribute::ORIGIN,
                            &[0],
                        ),
                        path(context),
                        hop(context),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.withdrawn-length.overrun",
            "RFC 7606 §4, RFC 4271 §6.3",
            Reset(3, &[1]),
            |_, prefix| {
                let mut message = wire::update(&[], &[], &wire::prefix(prefix.0, prefix.1));
                message[19..21].copy_from_slice(&200u16.to_be_bytes());
                message
            },
        ),
        case(
            "update.attributes-length.overrun",
            "RFC 7606 §4, RFC 4271 §6.3",
            Reset(3, &[1]),
            |context, prefix| {
                let mut message = with(&[origin(), path(context), hop(context)], prefix);
                message[21..23].copy_from_slice(&300u16.to_be_bytes());
                message
            },
        ),
        case(
            "update.nlri.length-33",
            "RFC 7606 §5.3, RFC 4271 §6.3",
            Reset(3, &[10]),
            |context, _| {
                wire::update(
                    &[],
                    &[origin(), path(context), hop(context)].concat(),
                    &[33, 198, 18, 0, 0, 1],
                )
            },
        ),
        case(
            "update.nlri.truncated",
            "RFC 7606 §5.3, RFC 4271 §6.3",
            Reset(3, &[10]),
            |context, _| {
                wire::update(
                    &[],
                    &[origin(), path(context), hop(context)].concat(),
                    &[24, 198, 18],
                )
            },
        ),
        case(
            "update.withdrawn.length-33",
            "RFC 7606 §5.3, RFC 4271 §6.3",
            Reset(3, &[1, 10]),
            |_, _| wire::update(&[33, 198, 18, 0, 0, 1], &[], &[]),
        ),
        case(
            "update.mp-reach.next-hop-length-overrun",
            "RFC 7606 §7.11, RFC 4760 §7",
            Reset(3, &[]),
            |context, prefix| {
                // IPv4 unicast MP_REACH whose next hop length runs past the
                // attribute: the NLRI cannot be located.
                let value = [0, 1, 1, 40, 198, 51, 100, 1, 0, 24, 198, 18, 0];
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        wire::path_attribute(flag::OPTIONAL, attribute::MP_REACH, &value),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.mp-unreach.nlri-overrun",
            "RFC 7606 §7.11, RFC 4760 §7",
            Reset(3, &[]),
            |context, prefix| {
                let value = [0, 1, 1, 24, 198];
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        wire::path_attribute(flag::OPTIONAL, attribute::MP_UNREACH, &value),
                    ],
                    prefix,
                )
            },
        ),
        // Unknown attributes: RFC 4271 §5 and §6.3.
        case(
            "update.unknown.optional-transitive",
            "RFC 4271 §5, §9.1.3",
            Accept(|update| match update.attribute(222) {
                Some((flags, value)) if flags & flag::PARTIAL != 0 && value == [1, 2, 3] => Ok(()),
                Some((flags, _)) => Err(format!(
                    "attribute 222 passed on without Partial (flags {flags:#04x})"
                )),
                None => Err("attribute 222 not passed on".into()),
            }),
            |context, prefix| {
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        wire::path_attribute(flag::OPTIONAL | flag::TRANSITIVE, 222, &[1, 2, 3]),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.unknown.optional-non-transitive",
            "RFC 4271 §5",
            Accept(|update| absent(update, 223)),
            |context, prefix| {
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        wire::path_attribute(flag::OPTIONAL, 223, &[1, 2, 3]),
                    ],
                    prefix,
                )
            },
        ),
        case(
            "update.unknown.well-known",
            "RFC 4271 §6.3",
            Reset(3, &[2]),
            |context, prefix| {
                with(
                    &[
                        origin(),
                        path(context),
                        hop(context),
                        wire::path_attribute(flag::WELL_KNOWN, 224, &[1]),
                    ],
                    prefix,
                )
            },
        ),
        // Messages that are no errors at all.
        case(
            "update.attributes-without-nlri",
            "RFC 4271 §4.3, RFC 7606 §5.2",
            Withdraw,
            |context, prefix| {
                // Attributes and no NLRI, plus the withdrawal of the route: the
                // withdrawal is honoured.
                wire::update(
                    &wire::prefix(prefix.0, prefix.1),
                    &[origin(), path(context), hop(context)].concat(),
                    &[],
                )
            },
        ),
        case(
            "update.withdraw-unknown-prefix",
            "RFC 4271 §9",
            Withdraw,
            |_, prefix| {
                // A withdrawal of the route and of one never announced.
                let mut withdrawn = wire::prefix(prefix.0, prefix.1);
                withdrawn.extend(wire::prefix(Ipv4Addr::new(198, 18, 251, 0), 24));
                wire::update(&withdrawn, &[], &[])
            },
        ),
        case(
            "update.nlri.default-route-and-host",
            "RFC 4271 §4.3",
            Accept(any_route),
            |context, prefix| {
                // Two prefixes in one NLRI field, a /32 taking five octets.
                let mut nlri = wire::prefix(prefix.0, prefix.1);
                nlri.extend(wire::prefix(Ipv4Addr::new(198, 18, 252, 7), 32));
                wire::update(
                    &[],
                    &[origin(), path(context), hop(context)].concat(),
                    &nlri,
                )
            },
        ),
    ]
}
