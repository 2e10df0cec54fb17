//! IPv6 unicast in the multiprotocol attributes (RFC 4760) on the runner's
//! IPv4 session: valid routes reach the observer, and malformed
//! MP_REACH_NLRI / MP_UNREACH_NLRI get RFC 7606's treatment, judged by the
//! observer's IPv6 table. A speaker that does not carry IPv6 unicast on
//! that session (not configured for it) makes them not applicable.

use std::net::Ipv6Addr;

use super::{notification_text, Scenario};
use crate::context::{Context, Outcome};
use crate::peer::{Peer, Reply};
use crate::wire::{self, Prefix6};

/// The next hop the runner's IPv6 routes carry (RFC 3849's documentation
/// range: never an address anyone answers on).
const NEXT_HOP: Ipv6Addr = Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 1);

/// The scenario's IPv6 prefix: a /64 of 2001:2::/48, RFC 5180's
/// benchmarking range, per scenario.
fn prefix6(index: usize) -> Prefix6 {
    (
        Ipv6Addr::new(0x2001, 0x0002, 0, (index % 0xffff) as u16 + 1, 0, 0, 0, 0),
        64,
    )
}

/// An UPDATE announcing `nlri` (octets) in MP_REACH_NLRI with `next_hop`
/// (octets), and no NEXT_HOP attribute: RFC 4760 §3 needs none without
/// IPv4 NLRI.
fn reach(context: &Context, next_hop: &[u8], nlri: &[u8], path: &[u32]) -> Vec<u8> {
    let path = if path.is_empty() {
        vec![context.config.local_as]
    } else {
        path.to_vec()
    };
    let attributes = [
        wire::origin_igp(),
        wire::as_path(&path),
        wire::mp_reach_ipv6(next_hop, nlri),
    ]
    .concat();
    wire::update(&[], &attributes, &[])
}

fn announcement(context: &Context, prefix: Prefix6) -> Vec<u8> {
    reach(
        context,
        &NEXT_HOP.octets(),
        &wire::prefix6(prefix.0, prefix.1),
        &[],
    )
}

/// A fresh session that negotiates IPv6 unicast besides IPv4, and an
/// observer that has it too; `Ok(Err(..))` when the speaker carries no IPv6
/// on one of them.
fn ipv6_session(context: &mut Context) -> Result<Result<Peer, Outcome>, Outcome> {
    if !context.has_observer() {
        return Ok(Err(Outcome::NotApplicable(
            "needs --observer to see the IPv6 routes the speaker keeps".into(),
        )));
    }
    if !context.observer_has_ipv6()? {
        return Ok(Err(Outcome::NotApplicable(
            "the speaker does not carry IPv6 unicast on the observer's IPv4 session \
             (not configured for it)"
                .into(),
        )));
    }
    let open = context.open_with(&[wire::ipv6_unicast()]);
    let peer = context.establish_with(&open)?;
    if !peer
        .open
        .as_ref()
        .is_some_and(wire::ReceivedOpen::offers_ipv6_unicast)
    {
        peer.close();
        context.session_ended();
        return Ok(Err(Outcome::NotApplicable(
            "the speaker does not carry IPv6 unicast on the runner's IPv4 session \
             (not configured for it)"
                .into(),
        )));
    }
    Ok(Ok(peer))
}

/// Ends a session that is still up, politely: later scenarios get the
/// usual IPv4-only one.
fn finish(context: &mut Context, peer: Peer) {
    peer.close();
    context.session_ended();
}

/// A valid IPv6 route (MP_REACH_NLRI, no NEXT_HOP attribute) reaches the
/// observer; then MP_UNREACH_NLRI takes it away.
fn announce_and_withdraw(context: &mut Context) -> Result<Outcome, Outcome> {
    let mut peer = match ipv6_session(context)? {
        Ok(peer) => peer,
        Err(outcome) => return Ok(outcome),
    };
    let prefix = prefix6(context.index);
    let update = announcement(context, prefix);
    context.sent = update.clone();
    peer.send(&update)
        .map_err(|error| Outcome::Error(format!("sending: {error}")))?;
    if let Err(outcome) = context.observe(prefix, true) {
        finish(context, peer);
        return Ok(outcome_or_fail(
            outcome,
            "the valid IPv6 route never reached the observer",
        ));
    }
    let withdrawal = wire::update(
        &[],
        &wire::mp_unreach_ipv6(&wire::prefix6(prefix.0, prefix.1)),
        &[],
    );
    context.sent = withdrawal.clone();
    peer.send(&withdrawal)
        .map_err(|error| Outcome::Error(format!("sending: {error}")))?;
    let gone = context.observe(prefix, false);
    let up = context.still_up(&mut peer);
    finish(context, peer);
    up?;
    gone?;
    Ok(Outcome::Pass(format!(
        "{}/{} passed on, then withdrawn by MP_UNREACH_NLRI",
        prefix.0, prefix.1
    )))
}

fn outcome_or_fail(outcome: Outcome, why: &str) -> Outcome {
    match outcome {
        Outcome::Fail(detail) => Outcome::Fail(format!("{why}: {detail}")),
        other => other,
    }
}

/// What a malformed IPv6 UPDATE must get.
#[derive(Clone, Copy)]
enum Expect {
    /// RFC 7606 §5.3 / §7.11: session reset (NOTIFICATION UPDATE Message
    /// Error) or AFI/SAFI disable (RFC 4760 §7), which withdraws every IPv6
    /// route of the session: the observer loses the route announced first.
    ResetOrDisable,
    /// RFC 7606 §2: treat-as-withdraw; the session stays up.
    Withdraw,
}

fn malformed(
    id: &'static str,
    rfc: &'static str,
    expect: Expect,
    build: fn(&Context, Prefix6) -> Vec<u8>,
) -> Scenario {
    let expected = match expect {
        Expect::ResetOrDisable => format!(
            "session reset ({}) or AFI/SAFI disable: the IPv6 route goes",
            notification_text(3, &[])
        ),
        Expect::Withdraw => {
            "treat-as-withdraw: the IPv6 route is withdrawn, the session stays up".into()
        }
    };
    Scenario::new(id, rfc, expected, move |context| {
        judge(context, expect, build)
    })
}

fn judge(
    context: &mut Context,
    expect: Expect,
    build: fn(&Context, Prefix6) -> Vec<u8>,
) -> Result<Outcome, Outcome> {
    let mut peer = match ipv6_session(context)? {
        Ok(peer) => peer,
        Err(outcome) => return Ok(outcome),
    };
    let prefix = prefix6(context.index);
    // The route the error must take away (or leave, if ignored).
    peer.send(&announcement(context, prefix))
        .map_err(|error| Outcome::Error(format!("sending: {error}")))?;
    if let Err(outcome) = context.observe(prefix, true) {
        finish(context, peer);
        return Err(match outcome {
            Outcome::Fail(why) => {
                Outcome::Error(format!("a valid IPv6 route was not passed on: {why}"))
            }
            other => other,
        });
    }
    let stimulus = build(context, prefix);
    context.sent = stimulus.clone();
    if let Err(error) = peer.send(&stimulus) {
        context.session_ended();
        return Err(Outcome::Error(format!("sending: {error}")));
    }
    let shown = format!("{}/{}", prefix.0, prefix.1);
    match expect {
        Expect::ResetOrDisable => match peer.await_reply(context.config.reply_window) {
            Reply::StillUp => {
                // Kept the session: AFI/SAFI disable takes the route away.
                let gone = context.observe(prefix, false);
                finish(context, peer);
                Ok(match gone {
                    Ok(_) => Outcome::Pass(format!(
                        "session up, {shown} withdrawn (AFI/SAFI disable, RFC 4760 §7)"
                    )),
                    Err(Outcome::Fail(_)) => Outcome::Fail(format!(
                        "session up and {shown} kept: the malformed UPDATE was ignored"
                    )),
                    Err(other) => other,
                })
            }
            reply => {
                peer.abort();
                context.session_ended();
                Ok(super::expect_notification(reply, 3, &[]))
            }
        },
        Expect::Withdraw => {
            let gone = context.observe(prefix, false);
            let up = context.still_up(&mut peer);
            if let Err(outcome) = up {
                context.session_ended();
                return Err(outcome);
            }
            finish(context, peer);
            Ok(match gone {
                Ok(_) => Outcome::Pass(format!("{shown} withdrawn, session up")),
                Err(Outcome::Fail(_)) => Outcome::Fail(format!(
                    "session up, but {shown} kept (the malformed UPDATE was accepted or ignored)"
                )),
                Err(other) => other,
            })
        }
    }
}

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "update.ipv6.announce-and-withdraw",
            "RFC 4760 §3, §4",
            "a valid IPv6 route in MP_REACH_NLRI (no NEXT_HOP attribute) is passed on; \
             MP_UNREACH_NLRI withdraws it",
            announce_and_withdraw,
        ),
        malformed(
            "update.ipv6.nlri-length-129",
            "RFC 7606 §5.3, RFC 4760 §7",
            Expect::ResetOrDisable,
            |context, prefix| {
                let mut nlri = wire::prefix6(prefix.0, 128);
                nlri[0] = 129;
                reach(context, &NEXT_HOP.octets(), &nlri, &[])
            },
        ),
        malformed(
            "update.ipv6.next-hop-length-15",
            "RFC 7606 §7.11, RFC 2545 §3",
            Expect::ResetOrDisable,
            |context, prefix| {
                reach(
                    context,
                    &NEXT_HOP.octets()[..15],
                    &wire::prefix6(prefix.0, prefix.1),
                    &[],
                )
            },
        ),
        malformed(
            "update.ipv6.mp-unreach-length-129",
            "RFC 7606 §5.3, RFC 4760 §7",
            Expect::ResetOrDisable,
            |_, prefix| {
                let mut withdrawn = wire::prefix6(prefix.0, 128);
                withdrawn[0] = 129;
                wire::update(&[], &wire::mp_unreach_ipv6(&withdrawn), &[])
            },
        ),
        malformed(
            "update.ipv6.as-path-as-0",
            "RFC 7607 §2, RFC 7606 §2",
            Expect::Withdraw,
            |context, prefix| {
                reach(
                    context,
                    &NEXT_HOP.octets(),
                    &wire::prefix6(prefix.0, prefix.1),
                    &[context.config.local_as, 0],
                )
            },
        ),
        malformed(
            "update.ipv6.origin-value-3",
            "RFC 7606 §7.1",
            Expect::Withdraw,
            |context, prefix| {
                let attributes = [
                    wire::path_attribute(wire::flag::WELL_KNOWN, wire::attribute::ORIGIN, &[3]),
                    wire::as_path(&[context.config.local_as]),
                    wire::mp_reach_ipv6(&NEXT_HOP.octets(), &wire::prefix6(prefix.0, prefix.1)),
                ]
                .concat();
                wire::update(&[], &attributes, &[])
            },
        ),
    ]
}
