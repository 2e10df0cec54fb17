//! The control socket: a Unix socket speaking JSON lines ([`protocol`]).
//! A client writes one request line and reads one answer line, and may go on
//! with another.
//!
//! ```text
//!  accept ─► credentials? ─► a free slot? ─► one task per connection
//!                │ no             │ no          │ read a line (≤ request_bytes, ≤ request_timeout)
//!                ▼                ▼             │ ControlCall ─► manager (bounded, ≤ queue_timeout)
//!          error answer, closed (logged        │ wait for the answer (≤ answer_timeout)
//!          at most every LOG_EVERY)            ▼ write it (≤ write_timeout)
//! ```
//!
//! It fails closed:
//! - The socket is mode 0600 (root and the daemon's user), or 0660 owned by
//!   `--control-socket-group`. It is bound inside a fresh 0700 directory,
//!   given its mode and group there, and only then linked to its path, so it
//!   is never reachable with wider permissions. (Setting the umask around
//!   `bind` would change it for the whole process, whose other threads
//!   create files too, and needs `libc`, whose `unsafe` the workspace keeps
//!   to `bgp-session`'s `net` module.)
//! - A peer is let in when its SO_PEERCRED uid is 0 or the daemon's, or its
//!   primary gid is the control group: the kernel reports the effective
//!   ids at `connect`, not supplementary groups, so a member whose primary
//!   group differs runs the client as `sg GROUP -c 'nodebgp status'`.
//! - Only a stale socket at the path is replaced: it must be a socket, and
//!   nobody may answer on it. A regular file, a directory or a symbolic link
//!   there is an error, and so is a live daemon's socket.
//! - No client holds the daemon: requests are bounded in size and time, the
//!   connections in number, and the wait for the manager in time both ways.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc::error::SendTimeoutError;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::time::{timeout, Instant};
use tracing::{debug, info, warn};

pub(crate) mod protocol;
#[cfg(test)]
mod tests;

use protocol::{Request, Response};

/// A request from a control client, with where the answer goes. The client's
/// task stops waiting after [`Limits::answer_timeout`]; the answer is then
/// dropped.
#[derive(Debug)]
pub(crate) struct ControlCall {
    pub(crate) request: Request,
    pub(crate) reply: oneshot::Sender<Response>,
}

/// What one client may cost the daemon.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The longest request line, newline excluded.
    pub(crate) request_bytes: usize,
    /// How long a client has to send a whole request line.
    pub(crate) request_timeout: Duration,
    /// How long a client has to take its answer.
    pub(crate) write_timeout: Duration,
    /// Connections open at once; more get an error at once.
    pub(crate) connections: usize,
    /// How long a request waits for room in the manager's queue.
    pub(crate) queue_timeout: Duration,
    /// How long a request waits for the manager's answer.
    pub(crate) answer_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            connections: 64,
            queue_timeout: Duration::from_secs(5),
            answer_timeout: Duration::from_secs(20),
        }
    }
}

/// How long the client waits for an answer: longer than the daemon's own
/// limits, so that the daemon's error answer, not a bare timeout, arrives.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Refused connections and accept errors are logged at most this often.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Binds the socket at `path` (replacing a stale one only), open to root,
/// the daemon's user and, when given, the members of `group` (a name in
/// /etc/group, or a number); then serves it until `calls` closes.
pub(crate) async fn serve(
    path: &Path,
    group: Option<&str>,
    limits: Limits,
    calls: mpsc::Sender<ControlCall>,
) -> Result<()> {
    let group = group.map(group_id).transpose()?;
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    clear_stale(path).await?;
    let (listener, daemon_uid) = bind_private(path, parent, group)?;
    let access = Access { daemon_uid, group };
    tokio::spawn(accept_loop(listener, access, limits, calls));
    Ok(())
}

/// [`serve`] on a thread and runtime of its own, so that accepting and
/// reading control clients never waits behind the sessions' tasks: under
/// load each hop on the daemon's one busy runtime costs a round of every
/// peer's task. Only the manager's answer is made on the daemon's runtime.
/// Returns once the socket is bound (or could not be).
pub(crate) async fn serve_on_own_thread(
    path: &Path,
    group: Option<&str>,
    limits: Limits,
    calls: mpsc::Sender<ControlCall>,
) -> Result<()> {
    let (path, group) = (path.to_owned(), group.map(str::to_owned));
    on_own_thread("control socket", calls, move |calls| async move {
        serve(&path, group.as_deref(), limits, calls).await
    })
    .await
}

/// Runs `serve` (which binds, returns, and leaves its accept loops running
/// as tasks) on a thread with a runtime of its own, until the manager's
/// side of `calls` is gone. Returns `serve`'s result once it has bound.
pub(crate) async fn on_own_thread<Serve, Bound>(
    what: &'static str,
    calls: mpsc::Sender<ControlCall>,
    serve: Serve,
) -> Result<()>
where
    Serve: FnOnce(mpsc::Sender<ControlCall>) -> Bound + Send + 'static,
    Bound: std::future::Future<Output = Result<()>>,
{
    let (bound, result) = oneshot::channel();
    std::thread::Builder::new()
        .name(what.replace(' ', "-"))
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = bound.send(Err(anyhow::Error::from(error)));
                    return;
                }
            };
            runtime.block_on(async move {
                let closed = calls.clone();
                let served = serve(calls).await;
                let failed = served.is_err();
                let _ = bound.send(served);
                if !failed {
                    // Until the manager is gone (the accept loops end then too).
                    closed.closed().await;
                }
            });
        })
        .with_context(|| format!("cannot start the {what}'s thread"))?;
    result
        .await
        .with_context(|| format!("the {what}'s thread ended at start"))?
}

/// Removes a socket left at `path` by a daemon that is gone; refuses to
/// touch anything else.
pub(crate) async fn clear_stale(path: &Path) -> Result<()> {
    let shown = path.display();
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error).with_context(|| format!("cannot inspect {shown}")),
    };
    let kind = metadata.file_type();
    if !kind.is_socket() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_symlink() {
            "a symbolic link"
        } else if kind.is_file() {
            "a regular file"
        } else {
            "not a socket"
        };
        bail!(
            "control socket {shown}: the path is {what}; not replacing it (remove it, or give another --control-socket)"
        );
    }
    // A live daemon accepts, or at least queues the connection; only a
    // refusal means nobody listens.
    match timeout(Duration::from_secs(1), UnixStream::connect(path)).await {
        Ok(Err(error)) if error.kind() == io::ErrorKind::ConnectionRefused => {
            std::fs::remove_file(path)
                .with_context(|| format!("cannot remove the stale control socket {shown}"))?;
            info!(path = %shown, "removed a stale control socket");
            Ok(())
        }
        Ok(Ok(_)) | Err(_) => bail!("another nodebgp is running at {shown}"),
        Ok(Err(error)) if error.kind() == io::ErrorKind::WouldBlock => {
            bail!("another nodebgp is running at {shown}")
        }
        Ok(Err(error)) => Err(error)
            .with_context(|| format!("cannot tell whether another nodebgp is running at {shown}")),
    }
}

/// A directory only the daemon's user can enter, removed on drop.
struct PrivateDirectory(PathBuf);

impl Drop for PrivateDirectory {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.0) {
            warn!(path = %self.0.display(), %error, "cannot remove the control socket's binding directory");
        }
    }
}

/// Binds in a fresh 0700 directory beside `path`, sets the mode (and group),
/// then links the socket to `path`, failing if something appeared there
/// meanwhile. Returns the listener and the daemon's uid, the socket's owner.
pub(crate) fn bind_private(
    path: &Path,
    parent: &Path,
    group: Option<u32>,
) -> Result<(UnixListener, u32)> {
    // Short names: a socket path has at most 107 bytes (sun_path).
    let directory = parent.join(format!(".ctl-{}", std::process::id()));
    let mut builder = std::fs::DirBuilder::new();
    builder.mode(0o700);
    if let Err(error) = builder.create(&directory) {
        if error.kind() != io::ErrorKind::AlreadyExists {
            return Err(error).with_context(|| format!("cannot create {}", directory.display()));
        }
        // Left by an earlier process with this pid (pid 1 in a container).
        std::fs::remove_dir_all(&directory)
            .and_then(|()| builder.create(&directory))
            .with_context(|| format!("cannot create {}", directory.display()))?;
    }
    let directory = PrivateDirectory(directory);
    let private = directory.0.join("s");
    let listener = UnixListener::bind(&private).with_context(|| {
        format!(
            "cannot bind the control socket at {} (to move it to {})",
            private.display(),
            path.display()
        )
    })?;
    let daemon_uid = std::fs::symlink_metadata(&private)
        .with_context(|| format!("cannot inspect {}", private.display()))?
        .uid();
    let mode = match group {
        Some(gid) => {
            std::os::unix::fs::chown(&private, None, Some(gid))
                .with_context(|| format!("cannot give the control socket to group {gid}"))?;
            0o660
        }
        None => 0o600,
    };
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(mode))
        .context("cannot set the control socket's mode")?;
    match std::fs::hard_link(&private, path) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            bail!("another nodebgp is running at {}", path.display())
        }
        // A file system without hard links: rename, which would replace a
        // file that appeared since clear_stale looked.
        Err(_) => std::fs::rename(&private, path)
            .with_context(|| format!("cannot move the control socket to {}", path.display()))?,
    }
    drop(directory);
    Ok((listener, daemon_uid))
}

/// The group's id: a number, or a name looked up in /etc/group.
pub(crate) fn group_id(name: &str) -> Result<u32> {
    if let Ok(gid) = name.parse() {
        return Ok(gid);
    }
    let groups = std::fs::read_to_string("/etc/group").context("cannot read /etc/group")?;
    find_group(&groups, name)
        .with_context(|| format!("control socket group '{name}': no such group in /etc/group"))
}

/// `name:password:gid:members` lines.
fn find_group(groups: &str, name: &str) -> Option<u32> {
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next() == Some(name))
            .then(|| fields.nth(1)?.parse().ok())
            .flatten()
    })
}

/// Who may use the socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Access {
    pub(crate) daemon_uid: u32,
    pub(crate) group: Option<u32>,
}

impl Access {
    pub(crate) fn allows(&self, uid: u32, gid: u32) -> bool {
        uid == 0 || uid == self.daemon_uid || self.group == Some(gid)
    }
}

/// Logs at most once per [`LOG_EVERY`], counting what it left out.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    /// `Some(left out since the last one)` when this event is to be logged.
    pub(crate) fn admit(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < LOG_EVERY => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// The next connection on `listener`; `None` once the manager (the other
/// side of `calls`) is gone, since nobody would answer.
pub(crate) async fn accept(
    listener: &UnixListener,
    calls: &mpsc::Sender<ControlCall>,
    failed: &mut Throttle,
    what: &str,
) -> Option<UnixStream> {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = calls.closed() => return None,
        };
        match accepted {
            Ok((stream, _)) => return Some(stream),
            Err(error) => {
                // Out of descriptors, most likely: wait rather than spin.
                if let Some(left_out) = failed.admit(Instant::now()) {
                    warn!(%error, left_out, "{what}: cannot accept");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn accept_loop(
    listener: UnixListener,
    access: Access,
    limits: Limits,
    calls: mpsc::Sender<ControlCall>,
) {
    let slots = Arc::new(Semaphore::new(limits.connections));
    let (mut refused, mut busy, mut failed) = (
        Throttle::default(),
        Throttle::default(),
        Throttle::default(),
    );
    loop {
        let Some(stream) = accept(&listener, &calls, &mut failed, "control socket").await else {
            return;
        };
        match stream.peer_cred() {
            Ok(credentials) if access.allows(credentials.uid(), credentials.gid()) => {}
            Ok(credentials) => {
                if let Some(left_out) = refused.admit(Instant::now()) {
                    warn!(
                        uid = credentials.uid(),
                        gid = credentials.gid(),
                        pid = credentials.pid(),
                        left_out,
                        "control socket: client refused (not root, nodebgp's user or the control group)"
                    );
                }
                refuse(&stream, "permission denied: the control socket is for root, nodebgp's user and its --control-socket-group");
                continue;
            }
            Err(error) => {
                if let Some(left_out) = refused.admit(Instant::now()) {
                    warn!(%error, left_out, "control socket: cannot read the client's credentials");
                }
                refuse(&stream, "permission denied: no credentials");
                continue;
            }
        }
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if let Some(left_out) = busy.admit(Instant::now()) {
                warn!(
                    limit = limits.connections,
                    left_out, "control socket: too many connections; client refused"
                );
            }
            refuse(&stream, "too many control connections: try again");
            continue;
        };
        let calls = calls.clone();
        tokio::spawn(async move {
            if let Err(error) = converse(stream, &calls, limits).await {
                debug!(%error, "control client");
            }
            drop(slot);
        });
    }
}

/// Answers a client that is not served: without waiting, since the answer
/// fits in the socket's empty buffer, or is lost if it does not.
fn refuse(stream: &UnixStream, message: &str) {
    let _ = stream.try_write(&Response::error(message).to_line());
}

/// One line read with a bound.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    Request(Vec<u8>),
    TooLong,
    End,
}

/// Reads up to `limit` bytes and a newline; the last line may lack its
/// newline. Never holds more than `limit + 1` bytes of the line.
pub(crate) async fn read_line(
    reader: &mut (impl AsyncBufRead + Unpin),
    limit: usize,
) -> io::Result<Line> {
    let mut line = Vec::new();
    let bound = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let read = (&mut *reader)
        .take(bound)
        .read_until(b'\n', &mut line)
        .await?;
    if read == 0 {
        return Ok(Line::End);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if line.len() > limit {
        return Ok(Line::TooLong);
    }
    Ok(Line::Request(line))
}

async fn converse(
    stream: UnixStream,
    calls: &mpsc::Sender<ControlCall>,
    limits: Limits,
) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    loop {
        let read = timeout(
            limits.request_timeout,
            read_line(&mut reader, limits.request_bytes),
        )
        .await;
        let (answer, last) = match read {
            Ok(Ok(Line::End)) => return Ok(()),
            Ok(Ok(Line::Request(line))) => match Request::parse(&line) {
                // Answered here, not by the manager: turning on debug logs
                // is what one does when the manager is slow.
                Ok(Request::LogLevel { filter }) => (
                    match super::logging::set_filter(&filter) {
                        Ok(()) => Response::LogLevel { filter },
                        Err(message) => Response::error(message),
                    },
                    false,
                ),
                Ok(request) => (call(calls, request, limits).await, false),
                Err(error) => (error, false),
            },
            Ok(Ok(Line::TooLong)) => (
                Response::error(format!(
                    "request longer than {} bytes; closing",
                    limits.request_bytes
                )),
                true,
            ),
            Ok(Err(error)) => return Err(error),
            Err(_) => (
                Response::error(format!(
                    "no request within {} s; closing",
                    limits.request_timeout.as_secs_f32()
                )),
                true,
            ),
        };
        match timeout(limits.write_timeout, writer.write_all(&answer.to_line())).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client did not take its answer",
                ))
            }
        }
        if last {
            return Ok(());
        }
    }
}

/// Hands one request to the manager and waits for its answer, each within
/// its limit.
async fn call(calls: &mpsc::Sender<ControlCall>, request: Request, limits: Limits) -> Response {
    let asked = Instant::now();
    let response = call_within_limits(calls, request, limits).await;
    // What the manager's loop made a client wait, for the slow-turn hunt.
    if asked.elapsed() >= SLOW_ANSWER {
        debug!(
            took_ms = asked.elapsed().as_millis() as u64,
            "slow control answer"
        );
    }
    response
}

/// An answer slower than this is logged (debug).
const SLOW_ANSWER: Duration = Duration::from_millis(50);

pub(crate) async fn call_within_limits(
    calls: &mpsc::Sender<ControlCall>,
    request: Request,
    limits: Limits,
) -> Response {
    let (reply, answer) = oneshot::channel();
    match calls
        .send_timeout(ControlCall { request, reply }, limits.queue_timeout)
        .await
    {
        Ok(()) => {}
        Err(SendTimeoutError::Timeout(_)) => {
            return Response::error("the daemon is busy: try again")
        }
        Err(SendTimeoutError::Closed(_)) => return Response::error("the daemon is shutting down"),
    }
    match timeout(limits.answer_timeout, answer).await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => Response::error("the daemon dropped the request"),
        Err(_) => Response::error(format!(
            "the daemon did not answer within {} s",
            limits.answer_timeout.as_secs_f32()
        )),
    }
}

/// Sends one request to a running daemon and returns its answer.
pub(crate) fn request(path: &Path, request: &Request) -> Result<Response> {
    use std::io::{BufRead, Write};
    let shown = path.display();
    let mut stream = std::os::unix::net::UnixStream::connect(path)
        .with_context(|| format!("cannot reach nodebgp at {shown} (is `nodebgp run` running?)"))?;
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut line = serde_json::to_vec(request)?;
    line.push(b'\n');
    stream
        .write_all(&line)
        .with_context(|| format!("cannot send the request to {shown}"))?;
    let mut answer = String::new();
    std::io::BufReader::new(&stream)
        .read_line(&mut answer)
        .with_context(|| format!("no answer from nodebgp at {shown}"))?;
    if answer.is_empty() {
        bail!("nodebgp at {shown} closed the connection without answering");
    }
    serde_json::from_str(&answer).context("the daemon's answer is not one this client knows")
}
