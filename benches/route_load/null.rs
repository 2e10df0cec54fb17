//! The null receiver: a BGP speaker that opens the sessions and then only
//! reads, counting the prefixes of every UPDATE's NLRI field as the bytes go
//! by, and keeps nothing. Measured beside the real receivers in the same
//! run, it shows how fast the injector delivers a table when nothing behind
//! the socket does any work: when that time is well under every receiver's,
//! the harness measures the receivers, not itself.
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
    /// Senders whose session is open.
    established: Mutex<Vec<Ipv4Addr>>,
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

fn accept(listener: &TcpListener, state: &Arc<Shared>) {
    let mut sessions = Vec::new();
    while !state.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let state = Arc::clone(state);
                sessions.push(thread::spawn(move || {
                    let _ = serve(stream, &state);
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

/// One session: the handshake, then counting until the sender goes or the
/// receiver stops.
fn serve(mut stream: TcpStream, state: &Shared) -> Result<(), String> {
    let sender = match stream.peer_addr().map_err(|error| error.to_string())? {
        SocketAddr::V4(address) => *address.ip(),
        SocketAddr::V6(_) => return Err("an IPv6 sender".to_owned()),
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
    let mut chunk = vec![0_u8; 256 * 1024];
    while !state.stop.load(Ordering::Relaxed) {
        while let Some(frame) = split_frame(&mut buffer, MAX_MESSAGE_LENGTH)
            .map_err(|error| format!("bad header: {error}"))?
        {
            if opened {
                // UPDATE (type 2): count its prefixes without decoding,
                // announced ones up and withdrawn ones down (the injector
                // withdraws only what it announced).
                if frame.get(18) == Some(&2) {
                    let (withdrawn, announced) = prefix_counts(&frame[19..]);
                    state.prefixes.fetch_add(announced, Ordering::Relaxed);
                    state.prefixes.fetch_sub(withdrawn, Ordering::Relaxed);
                }
                continue;
            }
            let message = Message::decode(&frame, &context)
                .map_err(|error| format!("undecodable: {error}"))?;
            match message.message {
                Message::Open(_) => {
                    let open = Open::new(
                        Asn(RECEIVER_AS),
                        0,
                        RouterId(Ipv4Addr::new(127, 0, 0, 1)),
                        vec![
                            Capability::Multiprotocol(Family::IPV4_UNICAST),
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
                    state
                        .established
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(sender);
                }
                _ => {}
            }
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

/// The prefixes an UPDATE body withdraws and announces (RFC 4271 §4.3):
/// the Withdrawn Routes field's and the NLRI field's, each prefix a length
/// in bits and that many bits rounded up to whole octets.
fn prefix_counts(body: &[u8]) -> (u64, u64) {
    let withdrawn_length = body.get(..2).map_or(0, |length| {
        usize::from(u16::from_be_bytes([length[0], length[1]]))
    });
    let withdrawn = body.get(2..2 + withdrawn_length).map_or(0, count_prefixes);
    (withdrawn, nlri_prefixes(body))
}

/// The prefixes packed in `field`.
fn count_prefixes(field: &[u8]) -> u64 {
    let mut at = 0;
    let mut count = 0;
    while let Some(bits) = field.get(at) {
        at += 1 + usize::from(*bits).div_ceil(8);
        count += 1;
    }
    count
}

/// The prefixes in an UPDATE body's NLRI field: what follows the withdrawn
/// routes and the path attributes. 0 for a body that does not add up.
fn nlri_prefixes(body: &[u8]) -> u64 {
    let length_at = |at: usize| -> Option<usize> {
        Some(usize::from(u16::from_be_bytes([
            *body.get(at)?,
            *body.get(at + 1)?,
        ])))
    };
    let Some(withdrawn) = length_at(0) else {
        return 0;
    };
    let Some(attributes) = length_at(2 + withdrawn) else {
        return 0;
    };
    body.get(4 + withdrawn + attributes..)
        .map_or(0, count_prefixes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_counted_from_the_nlri_field() {
        // No withdrawn routes, 3 octets of attributes, then 10.0.0.0/8 and
        // 192.0.2.0/24.
        let body = [0, 0, 0, 3, 0x40, 1, 0, 8, 10, 24, 192, 0, 2];
        assert_eq!(nlri_prefixes(&body), 2);
        assert_eq!(nlri_prefixes(&[0, 0, 0, 0]), 0, "End-of-RIB");
        assert_eq!(nlri_prefixes(&[0]), 0, "truncated");
        // Withdrawing 10.0.0.0/8 and 192.0.2.0/24, announcing nothing.
        let withdrawal = [0, 6, 8, 10, 24, 192, 0, 2, 0, 0];
        assert_eq!(prefix_counts(&withdrawal), (2, 0));
    }
}
