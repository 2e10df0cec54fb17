//! One TCP connection: a task that frames what it reads (RFC 4271 §4.1) and
//! writes what the peer task hands it, reporting both back by message.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bgp_fsm::ConnectionId;
use bgp_wire::HeaderError;
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::frames::ReadBuffer;

/// What connection tasks and connect attempts report to their peer task.
#[derive(Debug)]
pub(crate) enum ConnectionEvent {
    /// An outgoing attempt, by number, ended.
    Connected(u64, std::io::Result<TcpStream>),
    /// One or more whole messages, back to back, not yet decoded: decoding
    /// needs the negotiated context that only the peer task has. Their
    /// headers are checked (RFC 4271 §6.1), so [`crate::frames::next_frame`]
    /// can split them apart; together they take at most
    /// [`crate::frames::CHUNK_OCTETS`].
    Frames(ConnectionId, Bytes),
    /// The header was bad; nothing more is read from this connection.
    BadHeader(ConnectionId, HeaderError),
    /// Everything queued so far has been written.
    Flushed(ConnectionId),
    /// Some of what is queued was written (at most one a
    /// [`PROGRESS_INTERVAL`]): the peer reads, if slowly.
    Progress(ConnectionId),
    /// The connection closed or failed.
    Closed(ConnectionId),
}

/// How long, after a write failed, the reader may take to report what the
/// peer sent before the failure and the close itself.
const READ_AFTER_WRITE_FAILED: Duration = Duration::from_secs(2);

/// How often a writer that makes progress without emptying its queue says
/// so: often enough for the send hold timer (minutes), rare enough to cost
/// nothing beside the writes.
pub(crate) const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// Octets of queued messages gathered into one write at most (a few
/// messages more than the socket's TCP_NOTSENT_LOWAT takes at once).
const WRITE_COALESCE: usize = 64 * 1024;

/// Octets handed to a connection task and not yet written: the peer task
/// adds, the writer subtracts, so the peer task can bound a slow peer's
/// queue without asking the writer.
#[derive(Debug, Default)]
pub(crate) struct Queued(AtomicUsize);

impl Queued {
    pub(crate) fn add(&self, octets: usize) {
        self.0.fetch_add(octets, Ordering::Relaxed);
    }

    fn written(&self, octets: usize) {
        self.0.fetch_sub(octets, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// Runs until the peer task drops the sending side of `outbound` (then
/// what was queued is written first), or the connection fails. Reading and
/// writing go on independently: a peer that does not read what we write is
/// still read from, and one whose frames wait to be taken in (the peer task
/// is not reading, so TCP pushes back) still gets our KEEPALIVEs.
pub(crate) async fn run(
    id: ConnectionId,
    stream: TcpStream,
    outbound: mpsc::UnboundedReceiver<Bytes>,
    queued: Arc<Queued>,
    events: mpsc::Sender<ConnectionEvent>,
) {
    let (reader, writer) = stream.into_split();
    let writing = write(id, writer, outbound, queued, events.clone());
    let reading = read(id, reader, events.clone());
    tokio::pin!(writing, reading);
    tokio::select! {
        writing = &mut writing => match writing {
            // Done writing: the connection is over, whatever is left unread.
            Writing::Released => {}
            // A peer that closes with a NOTIFICATION makes our next write
            // fail (its stack answers with a reset) while that NOTIFICATION
            // may still wait to be read: the reader reports the close after
            // handing over whatever arrived first, so the session learns
            // why the peer left (RFC 4271 §6), not just that it did.
            Writing::Failed => {
                if tokio::time::timeout(READ_AFTER_WRITE_FAILED, reading).await.is_err() {
                    let _ = events.send(ConnectionEvent::Closed(id)).await;
                }
            }
        },
        // Nothing more to read (the close is reported): write what the peer
        // task still hands over (a NOTIFICATION) until it lets the
        // connection go.
        () = &mut reading => {
            writing.await;
        }
    }
}

/// How the writing half ended.
enum Writing {
    /// The peer task let the connection go; what it queued was written.
    Released,
    /// A write failed; nothing has been reported yet.
    Failed,
}

async fn write(
    id: ConnectionId,
    mut writer: OwnedWriteHalf,
    mut outbound: mpsc::UnboundedReceiver<Bytes>,
    queued: Arc<Queued>,
    events: mpsc::Sender<ConnectionEvent>,
) -> Writing {
    let mut reported = Instant::now();
    let mut coalesced = BytesMut::new();
    while let Some(first) = outbound.recv().await {
        // One write for whatever is queued (up to WRITE_COALESCE octets), not
        // one per message: a table goes out as UPDATEs of a few dozen
        // octets each, and a write on loopback delivers (and wakes the
        // reader) in the writer's own time, so per-message writes cost a
        // full-table fan-out half its CPU in system calls.
        let bytes = if outbound.is_empty() {
            first
        } else {
            coalesced.extend_from_slice(&first);
            while coalesced.len() < WRITE_COALESCE {
                match outbound.try_recv() {
                    Ok(more) => coalesced.extend_from_slice(&more),
                    Err(_) => break,
                }
            }
            coalesced.split().freeze()
        };
        // The socket takes no more than TCP_NOTSENT_LOWAT octets it cannot
        // send yet (see `net`), so a peer that stops reading stops this
        // write, not just its own window.
        if writer.write_all(&bytes).await.is_err() {
            return Writing::Failed;
        }
        queued.written(bytes.len());
        if outbound.is_empty() {
            if events.send(ConnectionEvent::Flushed(id)).await.is_err() {
                return Writing::Released;
            }
            reported = Instant::now();
        } else if reported.elapsed() >= PROGRESS_INTERVAL {
            // Not worth waiting for: the next report comes soon.
            let _ = events.try_send(ConnectionEvent::Progress(id));
            reported = Instant::now();
        }
    }
    // The peer task is done with this connection.
    let _ = writer.shutdown().await;
    Writing::Released
}

async fn read(id: ConnectionId, mut reader: OwnedReadHalf, events: mpsc::Sender<ConnectionEvent>) {
    let mut buffer = ReadBuffer::new();
    loop {
        match reader.read_buf(buffer.room_for_a_read()).await {
            Ok(count) if count > 0 => buffer.filled(count),
            _ => {
                let _ = events.send(ConnectionEvent::Closed(id)).await;
                return;
            }
        }
        // Frames may be up to 65535 octets; the peer task checks the
        // negotiated limit when it decodes (RFC 8654 §4).
        loop {
            let (run, error) = buffer.take_run();
            let more = !run.is_empty();
            if more {
                // Waits while the peer task's queue is full: nothing more
                // is read meanwhile, and TCP pushes back on the peer.
                if events.send(ConnectionEvent::Frames(id, run)).await.is_err() {
                    return;
                }
            }
            if let Some(error) = error {
                let _ = events.send(ConnectionEvent::BadHeader(id, error)).await;
                return;
            }
            if !more {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::tests::frame;
    use crate::frames::{next_frame, CHUNK_OCTETS};
    use tokio::net::TcpListener;

    /// Both ends of a connection on loopback: ours, and the peer's.
    async fn connected() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    /// What a peer writes arrives as runs of whole frames, in order, then
    /// the bad header that ends the reading.
    #[tokio::test]
    async fn frames_arrive_in_runs_then_the_bad_header() {
        let (client, mut server) = connected().await;
        let (_outbound, queue) = mpsc::unbounded_channel();
        let (events, mut reports) = mpsc::channel(4);
        let connection = tokio::spawn(run(
            ConnectionId(7),
            client,
            queue,
            Arc::new(Queued::default()),
            events,
        ));
        // 200 KB of frames of every size from 23 to 1,000 octets.
        let sent: Vec<Vec<u8>> = (0..400_u32)
            .map(|number| frame(23 + (number as usize * 37) % 978, number))
            .collect();
        let mut written = sent.concat();
        written.extend_from_slice(&[0xff, 0x00]);
        server.write_all(&written).await.unwrap();
        let mut received = Vec::new();
        loop {
            match reports.recv().await.unwrap() {
                ConnectionEvent::Frames(ConnectionId(7), mut frames) => {
                    assert!(frames.len() <= CHUNK_OCTETS);
                    while !frames.is_empty() {
                        received.push(next_frame(&mut frames).to_vec());
                    }
                }
                ConnectionEvent::BadHeader(ConnectionId(7), error) => {
                    assert_eq!(error, HeaderError::ConnectionNotSynchronized);
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(received == sent, "frames lost, split or out of order");
        drop(server);
        connection.abort();
    }

    /// Messages queued before the writer runs leave gathered into writes of
    /// up to `WRITE_COALESCE` octets: all of them, in order, the queue's
    /// count back to zero, and one Flushed once the queue is empty.
    #[tokio::test]
    async fn queued_messages_are_written_whole_and_in_order() {
        let (client, mut server) = connected().await;
        let (outbound, queue) = mpsc::unbounded_channel();
        let queued = Arc::new(Queued::default());
        // More than one gathered write's worth: 3,000 messages of 40 octets.
        let mut expected = Vec::new();
        for number in 0..3_000_u32 {
            let mut message = vec![0_u8; 36];
            message.extend_from_slice(&number.to_be_bytes());
            expected.extend_from_slice(&message);
            queued.add(message.len());
            outbound.send(Bytes::from(message)).unwrap();
        }
        assert!(expected.len() > WRITE_COALESCE);
        let (events, mut reports) = mpsc::channel(16);
        let connection = tokio::spawn(run(
            ConnectionId(1),
            client,
            queue,
            Arc::clone(&queued),
            events,
        ));
        let mut received = vec![0_u8; expected.len()];
        server.read_exact(&mut received).await.unwrap();
        assert!(received == expected, "the octets arrived out of order");
        loop {
            match reports.recv().await.unwrap() {
                ConnectionEvent::Flushed(ConnectionId(1)) => break,
                ConnectionEvent::Progress(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(queued.get(), 0);
        // Letting the connection go writes nothing more and ends the task.
        drop(outbound);
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        connection.await.unwrap();
    }
}
