//! Accepting connections: a task per listening socket hands each accepted
//! connection to whoever owns the peer table, which decides whose it is.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bgp_wire::{cease, CodecContext, ErrorCode, Message, Notification};
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::warn;

/// The first wait after a failed `accept`, and the longest.
const ACCEPT_BACKOFF_FIRST: Duration = Duration::from_millis(50);
const ACCEPT_BACKOFF_MAXIMUM: Duration = Duration::from_secs(2);

/// A connection accepted on a BGP listener.
#[derive(Debug)]
pub struct Accepted {
    /// The connection.
    pub stream: TcpStream,
    /// The remote end.
    pub peer: SocketAddr,
    /// The local end.
    pub local: SocketAddr,
}

/// Accepts connections on `listener` and sends them on; ends when the
/// receiving side is dropped. The listener is shared so that its owner can
/// still set per-peer options on it (TCP MD5 keys).
pub fn spawn_listener(
    listener: Arc<TcpListener>,
    accepted: mpsc::Sender<Accepted>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // Accepting fails mostly when descriptors run out (EMFILE, ENFILE):
        // trying again at once would spin. The wait doubles while it lasts
        // and one line is logged per bout.
        let mut backoff = Duration::ZERO;
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(connection) => {
                    backoff = Duration::ZERO;
                    connection
                }
                Err(error) => {
                    if backoff.is_zero() {
                        warn!(%error, "accept failed; retrying with a growing wait");
                    }
                    backoff = (backoff * 2).clamp(ACCEPT_BACKOFF_FIRST, ACCEPT_BACKOFF_MAXIMUM);
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            };
            let Ok(local) = stream.local_addr() else {
                continue;
            };
            if accepted
                .send(Accepted {
                    stream,
                    peer,
                    local,
                })
                .await
                .is_err()
            {
                return;
            }
        }
    })
}

/// Refuses a connection from an address that is not a configured peer:
/// NOTIFICATION Cease / Connection Rejected (RFC 4486 §4), then close.
pub async fn reject(mut stream: TcpStream) {
    let notification =
        Notification::new(ErrorCode::CEASE, cease::CONNECTION_REJECTED, Bytes::new());
    if let Ok(bytes) = Message::Notification(notification).to_bytes(&CodecContext::default()) {
        let _ = stream.write_all(&bytes).await;
    }
    let _ = stream.shutdown().await;
}
