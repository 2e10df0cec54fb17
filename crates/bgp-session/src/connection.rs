//! One TCP connection: a task that frames what it reads (RFC 4271 §4.1) and
//! writes what the peer task hands it, reporting both back by message.

use bgp_fsm::ConnectionId;
use bgp_wire::{split_frame, HeaderError, MAX_EXTENDED_MESSAGE_LENGTH};
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// What connection tasks and connect attempts report to their peer task.
#[derive(Debug)]
pub(crate) enum ConnectionEvent {
    /// An outgoing attempt, by number, ended.
    Connected(u64, std::io::Result<TcpStream>),
    /// A whole message, not yet decoded: decoding needs the negotiated context
    /// that only the peer task has.
    Frame(ConnectionId, Bytes),
    /// The header was bad; nothing more is read from this connection.
    BadHeader(ConnectionId, HeaderError),
    /// Everything queued so far has been written.
    Flushed(ConnectionId),
    /// The connection closed or failed.
    Closed(ConnectionId),
}

/// Runs until the peer task drops the sending side of `outbound` (then
/// what was queued is written first), or writing fails. Reading and writing
/// go on independently: a peer that does not read what we write is still
/// read from, and one whose frames wait to be taken in (the peer task is
/// not reading, so TCP pushes back) still gets our KEEPALIVEs.
pub(crate) async fn run(
    id: ConnectionId,
    stream: TcpStream,
    outbound: mpsc::UnboundedReceiver<Bytes>,
    events: mpsc::Sender<ConnectionEvent>,
) {
    let (reader, writer) = stream.into_split();
    let writing = write(id, writer, outbound, events.clone());
    let reading = read(id, reader, events);
    tokio::pin!(writing, reading);
    tokio::select! {
        // Done writing: the connection is over, whatever is left unread.
        () = &mut writing => {}
        // Nothing more to read: write what the peer task still hands over
        // (a NOTIFICATION) until it lets the connection go.
        () = &mut reading => writing.await,
    }
}

async fn write(
    id: ConnectionId,
    mut writer: OwnedWriteHalf,
    mut outbound: mpsc::UnboundedReceiver<Bytes>,
    events: mpsc::Sender<ConnectionEvent>,
) {
    while let Some(bytes) = outbound.recv().await {
        if writer.write_all(&bytes).await.is_err() {
            let _ = events.send(ConnectionEvent::Closed(id)).await;
            return;
        }
        if outbound.is_empty() && events.send(ConnectionEvent::Flushed(id)).await.is_err() {
            return;
        }
    }
    // The peer task is done with this connection.
    let _ = writer.shutdown().await;
}

async fn read(id: ConnectionId, mut reader: OwnedReadHalf, events: mpsc::Sender<ConnectionEvent>) {
    // Small to start with: an idle session only ever reads KEEPALIVEs; the
    // buffer grows while a table arrives.
    let mut buffer = BytesMut::with_capacity(1024);
    loop {
        let read = reader.read_buf(&mut buffer).await;
        if !matches!(read, Ok(count) if count > 0) {
            let _ = events.send(ConnectionEvent::Closed(id)).await;
            return;
        }
        // Frames may be up to 65535 octets; the peer task checks the
        // negotiated limit when it decodes (RFC 8654 §4).
        loop {
            match split_frame(&mut buffer, MAX_EXTENDED_MESSAGE_LENGTH) {
                Ok(Some(frame)) => {
                    // Waits while the peer task's queue is full: nothing more
                    // is read meanwhile, and TCP pushes back on the peer.
                    if events
                        .send(ConnectionEvent::Frame(id, frame))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    let _ = events.send(ConnectionEvent::BadHeader(id, error)).await;
                    return;
                }
            }
        }
    }
}
