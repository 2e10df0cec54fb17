//! Scenarios on the internal neighbour, which the speaker connects to
//! itself: connection collisions (RFC 4271 §6.8) resolved both ways, and
//! the iBGP rule on identifiers (RFC 6286 §2.2).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use super::{expect_notification, notification_text, Scenario};
use crate::context::{Context, Outcome};
use crate::peer::{Peer, Reply};
use crate::wire::{self, kind};

fn internal(context: &Context) -> Result<IpAddr, Outcome> {
    context.config.internal.ok_or_else(|| {
        Outcome::NotApplicable("needs --internal, an iBGP neighbour the speaker connects to".into())
    })
}

/// The internal neighbour's OPEN, with `identifier`.
fn internal_open(context: &Context, identifier: Ipv4Addr) -> wire::Open {
    let asn = context.config.target_as;
    wire::Open {
        version: 4,
        my_as: wire::two_octet_as(asn),
        hold_time: crate::context::HOLD_TIME,
        identifier,
        parameters: wire::capabilities_parameter(&[wire::ipv4_unicast(), wire::four_octet_as(asn)]),
    }
}

/// Waits (bounded) for the speaker to connect to the internal neighbour's
/// port 179.
fn accept_from_speaker(context: &Context, address: IpAddr) -> Result<Peer, Outcome> {
    let listener = TcpListener::bind(SocketAddr::new(address, 179))
        .map_err(|error| Outcome::Error(format!("listening on {address}:179: {error}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|error| Outcome::Error(error.to_string()))?;
    let deadline = Instant::now() + context.config.accept_timeout;
    loop {
        match listener.accept() {
            Ok((stream, from)) if from.ip() == context.config.target.ip() => {
                stream
                    .set_nonblocking(false)
                    .map_err(|error| Outcome::Error(error.to_string()))?;
                return Peer::from_stream(stream)
                    .map_err(|error| Outcome::Error(error.to_string()));
            }
            // Only the speaker is talked to; anything else is dropped unread.
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(Outcome::Error(format!(
                        "the speaker did not connect to {address}:179 within {:?}",
                        context.config.accept_timeout
                    )));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(error) => return Err(Outcome::Error(error.to_string())),
        }
    }
}

/// Both connections open and in OpenSent/OpenConfirm at once: the
/// speaker's to the runner (it has the runner's OPEN, so it is in
/// OpenConfirm there) and the runner's to the speaker, on which the
/// runner's OPEN arrives second. `runner_higher` chooses the runner's
/// identifier above or below any the speaker may have.
fn collision(context: &mut Context, runner_higher: bool) -> Result<Outcome, Outcome> {
    let address = internal(context)?;
    let identifier = if runner_higher {
        Ipv4Addr::new(255, 255, 255, 254)
    } else {
        Ipv4Addr::new(0, 0, 0, 1)
    };
    let open = internal_open(context, identifier).message();
    let window = context.config.reply_window;
    // The speaker's connection: its OPEN, then ours; it goes to OpenConfirm.
    let mut theirs = accept_from_speaker(context, address)?;
    theirs
        .await_message(kind::OPEN, window)
        .map_err(|reply| Outcome::Error(format!("no OPEN on the speaker's connection: {reply}")))?;
    let _ = theirs.send(&open);
    // The runner's connection: the speaker answers with its OPEN, then
    // ours arrives and the speaker must resolve the collision.
    let mut ours = Peer::connect(address, context.config.target, Duration::from_secs(3))
        .map_err(|error| Outcome::Error(format!("connecting from {address}: {error}")))?;
    context.sent = open.clone();
    let _ = ours.send(&open);
    // RFC 4271 §6.8: the connection opened by the speaker with the higher
    // identifier stays; the other is closed with Cease / Connection
    // Collision Resolution (RFC 4486 §4).
    let (closed, kept, which) = if runner_higher {
        (&mut theirs, &mut ours, "the speaker's own connection")
    } else {
        (&mut ours, &mut theirs, "the runner's connection")
    };
    let reply = closed.await_reply(window);
    let verdict = expect_notification(reply.clone(), 6, &[7]);
    let kept_reply = kept.await_message(kind::KEEPALIVE, window);
    let outcome = match (verdict, kept_reply) {
        (Outcome::Pass(_), Ok(_)) => {
            Outcome::Pass(format!("{which} closed with {reply}; the other went on"))
        }
        (Outcome::Pass(_), Err(other)) => Outcome::Fail(format!(
            "{which} closed with {reply}, but the one to keep got {other}"
        )),
        (_, _) => Outcome::Fail(format!("{which}: {reply}")),
    };
    theirs.close();
    ours.close();
    Ok(outcome)
}

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "fsm.collision.runner-identifier-higher",
            "RFC 4271 §6.8, RFC 4486 §4",
            "the speaker closes its own connection with NOTIFICATION 6/7 and keeps the runner's",
            |context| collision(context, true),
        ),
        Scenario::new(
            "fsm.collision.runner-identifier-lower",
            "RFC 4271 §6.8, RFC 4486 §4",
            "the speaker closes the runner's connection with NOTIFICATION 6/7 and keeps its own",
            |context| collision(context, false),
        ),
        Scenario::new(
            "open.identifier.same-as-speaker-ibgp",
            "RFC 6286 §2.2, RFC 4271 §6.2",
            notification_text(2, &[3]),
            |context| {
                let address = internal(context)?;
                let identifier = context
                    .session()?
                    .open
                    .as_ref()
                    .and_then(|open| open.identifier)
                    .ok_or_else(|| Outcome::Error("the speaker's OPEN had no identifier".into()))?;
                let open = internal_open(context, identifier).message();
                let mut peer = context.connect_from(address, false)?;
                context.sent = open.clone();
                let _ = peer.send(&open);
                let reply = peer.await_reply(context.config.reply_window);
                if reply == Reply::StillUp {
                    peer.close();
                }
                Ok(expect_notification(reply, 2, &[3]))
            },
        ),
    ]
}
