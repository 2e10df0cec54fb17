//! What is configured on the runner's neighbour, graded where it is: GTSM
//! (RFC 5082), TCP MD5 (RFC 2385), the prefix limit (RFC 4486). Security
//! fails closed: a session that should be refused must not come up.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::{expect_notification, Scenario};
use crate::context::{Context, Outcome};
use crate::peer::{Peer, Security};
use crate::wire;

/// Tries a session from the runner's address with `security`; it must not
/// come up: no TCP connection, or one the speaker never answers with an
/// OPEN and KEEPALIVE.
fn refused(context: &mut Context, security: Security, what: &str) -> Result<Outcome, Outcome> {
    context.end_session();
    let open = context.open_with(&[]);
    context.sent = open.message();
    let window = context.config.reply_window;
    let attempt = Peer::connect_with(
        context.config.source,
        context.config.target,
        Duration::from_secs(3),
        &security,
    );
    let mut peer = match attempt {
        Err(error) => return Ok(Outcome::Pass(format!("{what}: no connection ({error})"))),
        Ok(peer) => peer,
    };
    let result = peer.establish(&open.message(), window);
    peer.abort();
    context.session_ended();
    Ok(match result {
        Ok(()) => Outcome::Fail(format!("{what}: the session came up")),
        Err(reply) => Outcome::Pass(format!("{what}: no session ({reply})")),
    })
}

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "security.gtsm.ttl-254-refused",
            "RFC 5082 §3",
            "no session from a peer whose packets arrive with TTL 254",
            |context| {
                if !context.config.gtsm {
                    return Ok(Outcome::NotApplicable(
                        "needs --gtsm (GTSM configured on the speaker)".into(),
                    ));
                }
                let security = Security {
                    ttl: Some(254),
                    ..context.security_for(context.config.source)
                };
                refused(context, security, "TTL 254")
            },
        ),
        Scenario::new(
            "security.gtsm.ttl-255-accepted",
            "RFC 5082 §3",
            "a session from TTL 255 comes up",
            |context| {
                if !context.config.gtsm {
                    return Ok(Outcome::NotApplicable(
                        "needs --gtsm (GTSM configured on the speaker)".into(),
                    ));
                }
                context.end_session();
                context.session()?;
                Ok(Outcome::Pass("established with TTL 255".into()))
            },
        ),
        Scenario::new(
            "security.md5.unsigned-refused",
            "RFC 2385 §2",
            "no session without the TCP MD5 signature",
            |context| {
                if context.config.md5_password.is_none() {
                    return Ok(Outcome::NotApplicable(
                        "needs --md5-password (MD5 configured on the speaker)".into(),
                    ));
                }
                let security = Security {
                    md5_password: None,
                    ..context.security_for(context.config.source)
                };
                refused(context, security, "no MD5 key")
            },
        ),
        Scenario::new(
            "security.md5.wrong-key-refused",
            "RFC 2385 §2",
            "no session with a wrong TCP MD5 key",
            |context| {
                if context.config.md5_password.is_none() {
                    return Ok(Outcome::NotApplicable(
                        "needs --md5-password (MD5 configured on the speaker)".into(),
                    ));
                }
                let security = Security {
                    md5_password: Some("not-the-configured-key".into()),
                    ..context.security_for(context.config.source)
                };
                refused(context, security, "wrong MD5 key")
            },
        ),
        Scenario::new(
            "security.md5.right-key-accepted",
            "RFC 2385 §2",
            "a session signed with the configured key comes up",
            |context| {
                if context.config.md5_password.is_none() {
                    return Ok(Outcome::NotApplicable(
                        "needs --md5-password (MD5 configured on the speaker)".into(),
                    ));
                }
                context.end_session();
                context.session()?;
                Ok(Outcome::Pass("established with the key".into()))
            },
        ),
        Scenario::new(
            "security.max-prefix.exceeded",
            "RFC 4486 §4, RFC 4271 §8.1.2",
            "NOTIFICATION 6/1 (Maximum Number of Prefixes Reached) once the limit is passed",
            |context| {
                let Some(limit) = context.config.max_prefix else {
                    return Ok(Outcome::NotApplicable(
                        "needs --max-prefix (a prefix limit configured on the speaker)".into(),
                    ));
                };
                let mut peer = context.take_session()?;
                let attributes = context.valid_attributes();
                // limit + 1 host routes of 198.18.128.0/17, 100 per UPDATE;
                // earlier scenarios' routes count too, so the speaker may
                // stop the session before the last.
                let total = limit.saturating_add(1).min(32767);
                let mut sent = 0u32;
                while sent < total {
                    let mut nlri = Vec::new();
                    for host in sent..(sent + 100).min(total) {
                        let address =
                            Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 128, 0)) + host);
                        nlri.extend(wire::prefix(address, 32));
                    }
                    sent = (sent + 100).min(total);
                    let update = wire::update(&[], &attributes, &nlri);
                    if context.sent.is_empty() {
                        context.sent = update.clone();
                    }
                    if peer.send(&update).is_err() {
                        break;
                    }
                }
                let reply = peer.await_reply(context.config.reply_window);
                peer.abort();
                context.session_ended();
                Ok(expect_notification(reply, 6, &[1]))
            },
        ),
    ]
}
