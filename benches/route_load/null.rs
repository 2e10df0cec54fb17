//! The null receiver: a BGP speaker that opens the sessions and then only
//! reads, counting the prefixes of every UPDATE's NLRI field as the bytes go
//! by, and keeps nothing. Measured beside the real receivers in the same
//! run, it shows how fast the injector delivers a table when nothing behind
//! the socket does any work: when that time is well under every receiver's,
//! the harness measures the receivers, not itself.
//!
//! With fan-out clients (iBGP sessions in its own AS, `route-load
//! --clients`) it is the null route reflector: every UPDATE a sender writes
//! is copied, as it came, to every client, so the clients' clock shows how
//! fast the harness itself can carry a table to C readers.
//!
//! It runs in route-load's own process, so the memory and CPU the report
//! gives for it are the harness's (senders included), not a receiver's.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bgp_wire::{
    split_frame, Asn, Capability, CodecContext, Family, Message, Open, RouterId, MAX_MESSAGE_LENGTH,
};
use bytes::BytesMut;
use nodebgp_benches::update_prefix_counts;

/// The null receiver's AS, the real receivers' too.
const RECEIVER_AS: u32 = 65000;

/// A running null receiver.
#[derive(Debug)]
pub(crate) struct NullReceiver {
    listen: SocketAddr,
    state: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Prefixes counted in UPDATEs, every session together.
    prefixes: AtomicU64,
    /// The same per sender; a sender's prefixes go when its connection
    /// does, as a real receiver's would.
    by_sender: Mutex<Vec<(Ipv4Addr, u64)>>,
    /// Senders and clients whose session is open.
    established: Mutex<Vec<Ipv4Addr>>,
    /// The clients' connections, which every sender's UPDATEs are copied to.
    clients: Mutex<Vec<TcpStream>>,
    stop: AtomicBool,
}

impl NullReceiver {
    /// Listens on a free loopback address and port of its own.
    pub(crate) fn start() -> Result<NullReceiver, String> {
        let address = lab::free_loopback_address().map_err(|error| error.to_string())?;
        let port = lab::free_port(address.into()).map_err(|error| error.to_string())?;
        let listen = SocketAddr::new(address.into(), port);
        let listener =
            TcpListener::bind(listen).map_err(|error| format!("bind {listen}: {error}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|error| format!("nonblocking listener: {error}"))?;
        let state = Arc::new(Shared::default());
        let shared = Arc::clone(&state);
        let acceptor = thread::spawn(move || accept(&listener, &shared));
        Ok(NullReceiver {
            listen,
            state,
            acceptor: Some(acceptor),
        })
    }

    /// Where the senders connect to.
    pub(crate) fn listen(&self) -> SocketAddr {
        self.listen
    }

    /// Prefixes counted so far, every session together.
    pub(crate) fn total(&self) -> u64 {
        self.state.prefixes.load(Ordering::Relaxed)
    }

    /// Prefixes counted from `sender` and not gone with its connection.
    pub(crate) fn count(&self, sender: Ipv4Addr) -> u64 {
        self.state
            .by_sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(address, _)| *address == sender)
            .map_or(0, |(_, count)| *count)
    }

    /// Whether the session from `sender` is open.
    pub(crate) fn established(&self, sender: Ipv4Addr) -> bool {
        self.state
            .established
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&sender)
    }
}

impl Drop for NullReceiver {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

impl Shared {
    /// Adds `change` (wrapping: a withdrawal is a negative change) to
    /// `sender`'s count.
    fn add(&self, sender: Ipv4Addr, change: u64) {
        let mut counts = self
            .by_sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match counts.iter_mut().find(|(address, _)| *address == sender) {
            Some((_, count)) => *count = count.wrapping_add(change),
            None => counts.push((sender, change)),
        }
    }
}

fn accept(listener: &TcpListener, state: &Arc<Shared>) {
    let mut sessions = Vec::new();
    while !state.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let state = Arc::clone(state);
                sessions.push(thread::spawn(move || {
                    let peer = stream.peer_addr().ok();
                    let mut counted = 0;
                    let _ = serve(stream, &state, &mut counted);
                    // Its prefixes go with the connection.
                    state.prefixes.fetch_sub(counted, Ordering::Relaxed);
                    if let Some(SocketAddr::V4(peer)) = peer {
                        state.add(*peer.ip(), counted.wrapping_neg());
                    }
                }));
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(_) => break,
        }
    }
    for session in sessions {
        let _ = session.join();
    }
}

/// One session: the handshake, then counting (a sender's) or nothing (a
/// client's) until the peer goes or the receiver stops.
fn serve(mut stream: TcpStream, state: &Shared, counted: &mut u64) -> Result<(), String> {
    let peer = match stream.peer_addr().map_err(|error| error.to_string())? {
        SocketAddr::V4(address) => *address.ip(),
        SocketAddr::V6(_) => return Err("an IPv6 peer".to_owned()),
    };
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|error| error.to_string())?;
    let context = CodecContext {
        four_octet_asn: true,
        ..CodecContext::default()
    };
    let mut buffer = BytesMut::with_capacity(256 * 1024);
    let mut opened = false;
    let mut client = false;
    let mut chunk = vec![0_u8; 256 * 1024];
    // This read's UPDATEs, copied to the clients in one write each.
    let mut copied = Vec::with_capacity(256 * 1024);
    while !state.stop.load(Ordering::Relaxed) {
        // This read's change to the sender's count, added in one go.
        let mut this_read = 0_u64;
        while let Some(frame) = split_frame(&mut buffer, MAX_MESSAGE_LENGTH)
            .map_err(|error| format!("bad header: {error}"))?
        {
            if opened {
                // UPDATE (type 2) from a sender: count its prefixes without
                // decoding, announced ones up and withdrawn ones down (the
                // injector withdraws only what it announced).
                if frame.get(18) == Some(&2) && !client {
                    let (withdrawn, announced) = update_prefix_counts(&frame[19..]);
                    let change = announced.wrapping_sub(withdrawn);
                    *counted = counted.wrapping_add(change);
                    state.prefixes.fetch_add(change, Ordering::Relaxed);
                    this_read = this_read.wrapping_add(change);
                    copied.extend_from_slice(&frame);
                }
                continue;
            }
            let message = Message::decode(&frame, &context)
                .map_err(|error| format!("undecodable: {error}"))?;
            match message.message {
                Message::Open(open) => {
                    client = u32::from(open.my_as) == RECEIVER_AS;
                    let open = Open::new(
                        Asn(RECEIVER_AS),
                        0,
                        RouterId(Ipv4Addr::new(127, 0, 0, 1)),
                        vec![
                            Capability::Multiprotocol(Family::IPV4_UNICAST),
                            Capability::Multiprotocol(Family::IPV6_UNICAST),
                            Capability::FourOctetAs(Asn(RECEIVER_AS)),
                        ],
                    );
                    for reply in [Message::Open(open), Message::Keepalive] {
                        let bytes = reply
                            .to_bytes(&context)
                            .map_err(|error| format!("encode: {error}"))?;
                        stream
                            .write_all(&bytes)
                            .map_err(|error| format!("write: {error}"))?;
                    }
                }
                Message::Keepalive => {
                    opened = true;
                    if client {
                        let copy = stream.try_clone().map_err(|error| error.to_string())?;
                        state
                            .clients
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(copy);
                    }
                    state
                        .established
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(peer);
                }
                _ => {}
            }
        }
        if this_read != 0 {
            state.add(peer, this_read);
        }
        if !copied.is_empty() {
            let mut clients = state.clients.lock().unwrap_or_else(PoisonError::into_inner);
            for client in clients.iter_mut() {
                client
                    .write_all(&copied)
                    .map_err(|error| format!("copy to a client: {error}"))?;
            }
            copied.clear();
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(error) => return Err(format!("read: {error}")),
        }
    }
    Ok(())
}
