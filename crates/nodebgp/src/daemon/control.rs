//! The control socket: a Unix socket speaking JSON lines. A client writes
//! one request line, `{"command":"status"}`, and reads one response line.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

/// A request from a control client, with where the answer goes.
#[derive(Debug)]
pub(crate) struct ControlRequest {
    pub(crate) command: String,
    /// The whole request, for commands that take arguments.
    pub(crate) request: Value,
    /// One line of JSON.
    pub(crate) reply: oneshot::Sender<String>,
}

/// Binds the socket (replacing a stale one) and hands requests to the daemon.
pub(crate) fn serve(path: &Path, requests: mpsc::Sender<ControlRequest>) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    // A socket file left by a daemon that died; a live one would still accept.
    if path.exists() && std::os::unix::net::UnixStream::connect(path).is_err() {
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove stale {}", path.display()))?;
    }
    let listener = UnixListener::bind(path)
        .with_context(|| format!("cannot bind control socket {}", path.display()))?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let requests = requests.clone();
            tokio::spawn(async move {
                if let Err(error) = answer(stream, requests).await {
                    warn!(%error, "control client");
                }
            });
        }
    });
    Ok(())
}

async fn answer(stream: UnixStream, requests: mpsc::Sender<ControlRequest>) -> Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    while let Some(line) = lines.next_line().await? {
        let mut text = match serde_json::from_str::<Value>(&line) {
            Ok(request) => {
                let command = request["command"].as_str().unwrap_or_default().to_owned();
                let (reply, answer) = oneshot::channel();
                requests
                    .send(ControlRequest {
                        command,
                        request,
                        reply,
                    })
                    .await?;
                answer.await?
            }
            Err(error) => json!({"error": format!("request is not JSON: {error}")}).to_string(),
        };
        text.push('\n');
        writer.write_all(text.as_bytes()).await?;
    }
    Ok(())
}

/// Sends one request to a running daemon and returns its answer.
pub(crate) fn request(path: &PathBuf, command: &str) -> Result<Value> {
    request_with(path, json!({"command": command}))
}

/// Sends one request with arguments, `{"command": ..., ...}`.
pub(crate) fn request_with(path: &PathBuf, request: Value) -> Result<Value> {
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(path).with_context(|| {
        format!(
            "cannot reach nodebgp at {} (is `nodebgp run` running?)",
            path.display()
        )
    })?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    writeln!(stream, "{request}")?;
    let mut line = String::new();
    std::io::BufReader::new(&stream).read_line(&mut line)?;
    serde_json::from_str(&line).context("the daemon's answer is not JSON")
}
