//! BIRD's control socket, the subset calico-node's tools speak: `calicoctl
//! node status`, the readiness and liveness probes and CalicoNodeStatus dial
//! `bird.ctl` and `bird6.ctl` and send `show protocols [all NAME]` or `show
//! status`. nodebgp answers on either, each listing the sessions with peers
//! of its family, as Calico's two BIRD daemons did. The protocol, with no
//! I/O, is in [`mod@format`].
//!
//! ```text
//!  accept ─► credentials? ─► a free slot? ─► one task per connection
//!                │ no             │ no          │ greeting, then per command line:
//!                ▼                ▼             │ ControlCall(status) ─► manager (bounded both ways)
//!           "8007 Access denied", closed        ▼ the reply, formatted here
//! ```
//!
//! It is served like the control socket, from which it takes its rules
//! (see `control`): its own thread and runtime, so the manager never waits
//! for a client; the same bounded calls into the manager, answered with
//! BIRD's `8001` when the manager is busy; the same binding (mode 0600, or
//! 0660 with `--control-socket-group`), access check and stale-socket rule.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, Semaphore};
use tokio::time::{timeout, Instant};
use tracing::{debug, info, warn};

pub(crate) mod format;

use super::control::protocol::{Request, Response};
use super::control::{self, Access, ControlCall, Limits, Line, Throttle};
use format::{Clock, Code, Command, Family, Reply, UnixTime};

/// A BIRD socket to serve: where, and which family's sessions it lists.
#[derive(Debug, Clone)]
pub(crate) struct BirdSocket {
    pub(crate) path: PathBuf,
    pub(crate) family: Family,
}

/// What one client may cost: the control socket's limits, but a longer
/// wait between commands, since `birdc` keeps an interactive session open.
fn limits() -> Limits {
    Limits {
        request_bytes: 4096,
        request_timeout: Duration::from_secs(300),
        ..Limits::default()
    }
}

/// Binds every socket (in turn: the control socket's binding directory is
/// per process) on a thread of its own, and serves them until `calls`
/// closes. Returns once all are bound, or one could not be.
pub(crate) async fn serve_on_own_thread(
    sockets: Vec<BirdSocket>,
    group: Option<&str>,
    calls: mpsc::Sender<ControlCall>,
) -> Result<()> {
    if sockets.is_empty() {
        return Ok(());
    }
    let group = group.map(str::to_owned);
    super::control::on_own_thread("BIRD socket", calls, move |calls| async move {
        serve(&sockets, group.as_deref(), limits(), calls).await
    })
    .await
}

async fn serve(
    sockets: &[BirdSocket],
    group: Option<&str>,
    limits: Limits,
    calls: mpsc::Sender<ControlCall>,
) -> Result<()> {
    let group = group.map(control::group_id).transpose()?;
    let started = unix_now();
    for socket in sockets {
        let path = &socket.path;
        let parent = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        control::clear_stale(path)
            .await
            .with_context(|| format!("BIRD socket {}", path.display()))?;
        let (listener, daemon_uid) = control::bind_private(path, parent, group)
            .with_context(|| format!("BIRD socket {}", path.display()))?;
        info!(path = %path.display(), family = ?socket.family, "serving the BIRD control socket");
        let access = Access { daemon_uid, group };
        tokio::spawn(accept_loop(
            listener,
            access,
            socket.family,
            started,
            limits,
            calls.clone(),
        ));
    }
    Ok(())
}

fn unix_now() -> UnixTime {
    UnixTime(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs()),
    )
}

async fn accept_loop(
    listener: UnixListener,
    access: Access,
    family: Family,
    started: UnixTime,
    limits: Limits,
    calls: mpsc::Sender<ControlCall>,
) {
    let slots = Arc::new(Semaphore::new(limits.connections));
    let (mut refused, mut failed) = (Throttle::default(), Throttle::default());
    loop {
        let Some(stream) =
            super::control::accept(&listener, &calls, &mut failed, "BIRD socket").await
        else {
            return;
        };
        let allowed = stream
            .peer_cred()
            .is_ok_and(|credentials| access.allows(credentials.uid(), credentials.gid()));
        if !allowed {
            if let Some(left_out) = refused.admit(Instant::now()) {
                warn!(
                    left_out,
                    "BIRD socket: client refused (not root, nodebgp's user or the control group)"
                );
            }
            // BIRD's "access denied"; lost if the buffer is full, which it is not.
            let _ = stream.try_write(Reply::single(Code(8007), "Access denied").as_bytes());
            continue;
        }
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            let _ = stream.try_write(format::unavailable("Too many connections").as_bytes());
            continue;
        };
        let calls = calls.clone();
        tokio::spawn(async move {
            if let Err(error) = converse(stream, family, started, &calls, limits).await {
                debug!(%error, "BIRD socket client");
            }
            drop(slot);
        });
    }
}

async fn write(
    writer: &mut tokio::net::unix::OwnedWriteHalf,
    text: &str,
    limits: Limits,
) -> std::io::Result<()> {
    match timeout(limits.write_timeout, writer.write_all(text.as_bytes())).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the client did not take its reply",
        )),
    }
}

async fn converse(
    stream: UnixStream,
    family: Family,
    started: UnixTime,
    calls: &mpsc::Sender<ControlCall>,
    limits: Limits,
) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    write(&mut writer, &Reply::greeting(), limits).await?;
    loop {
        let read = timeout(
            limits.request_timeout,
            control::read_line(&mut reader, limits.request_bytes),
        )
        .await;
        let line = match read {
            Ok(Ok(Line::Request(line))) => line,
            Ok(Ok(Line::End)) | Err(_) => return Ok(()),
            Ok(Ok(Line::TooLong)) => {
                return write(
                    &mut writer,
                    &Reply::single(Code::SYNTAX_ERROR, "syntax error"),
                    limits,
                )
                .await
            }
            Ok(Err(error)) => return Err(error),
        };
        let reply = match Command::parse(&String::from_utf8_lossy(&line)) {
            Ok(command) => answer(&command, family, started, calls, limits).await,
            Err(reply) => reply,
        };
        write(&mut writer, &reply, limits).await?;
    }
}

/// Asks the manager for what `command` shows, and formats it.
async fn answer(
    command: &Command,
    family: Family,
    started: UnixTime,
    calls: &mpsc::Sender<ControlCall>,
    limits: Limits,
) -> String {
    let request = if command.needs_route_count() {
        Request::RouteCount
    } else {
        Request::Status
    };
    let response = control::call_within_limits(calls, request, limits).await;
    let clock = Clock {
        now: unix_now(),
        started,
    };
    match (command, response) {
        (Command::Protocols { all, pattern }, Response::Status(report)) => {
            format::show_protocols(&report, family, *all, pattern.as_deref(), clock)
        }
        (Command::Status, Response::Status(report)) => format::show_status(&report, clock),
        (Command::RouteCount, Response::RouteCount(counts)) => {
            format::show_route_count(&counts, family)
        }
        (_, Response::Error { message }) => format::unavailable(&message),
        (_, other) => format::unavailable(&format!("unexpected answer: {}", other.kind())),
    }
}

#[cfg(test)]
mod tests;
