//! The sending side: just enough BGP to open a session to a receiver and pour a
//! pre-encoded table into it.
//!
//! ```text
//!   sender (own 127.x address)                receiver
//!   connect ─────────────────────────────────▶ accept
//!   OPEN (AS 64700, hold 0, 4-octet AS, MP v4+v6) ▶
//!                                            ◀ OPEN
//!   KEEPALIVE ───────────────────────────────▶
//!                                            ◀ KEEPALIVE      (session up)
//!   writer thread: every UPDATE, End-of-RIB ─▶
//!   reader thread: drains whatever comes back; a NOTIFICATION or EOF ends the run
//! ```
//!
//! Hold time 0 (RFC 4271 §4.2) means neither side sends KEEPALIVEs, so the
//! writer owns the socket's sending half alone.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bgp_wire::{
    split_frame, Asn, AttributeValue, Capability, CodecContext, Family, GracefulRestart,
    GracefulRestartFamily, Message, MpNlri, MpUnreach, NlriList, Open, PathAttribute, Received,
    RouterId, Update, MAX_MESSAGE_LENGTH,
};
use bytes::{Bytes, BytesMut};
use nodebgp_benches::{update_fields, update_prefix_counts};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// The sender's AS: the first AS of every path in the synthetic table.
pub(crate) const SENDER_AS: u32 = 64700;

/// BGP message type code of UPDATE (RFC 4271 §4.1).
const UPDATE_TYPE: u8 = 2;

/// How long one connection attempt may take to reach the session-up point.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Chunk of the table handed to one `write` call.
const WRITE_CHUNK: usize = 256 * 1024;

/// The whole stream to send: every UPDATE of the table, then the End-of-RIB
/// of its `family` (RFC 4724 §2: for IPv4 unicast an UPDATE with nothing in
/// it, for another family an UPDATE with only an empty MP_UNREACH_NLRI), in
/// one buffer. An IPv6 table goes on sessions that carry IPv4 unicast too,
/// which has nothing in it: its End-of-RIB follows, as a speaker sends one
/// for every family it negotiated, so that a receiver restarting gracefully
/// does not wait out its restart time for it (RFC 4724 §4.1).
pub(crate) fn stream_of(updates: &[Bytes], family: Family) -> Vec<u8> {
    let total: usize = updates.iter().map(Bytes::len).sum();
    let mut stream = Vec::with_capacity(total + 64);
    for update in updates {
        stream.extend_from_slice(update);
    }
    stream.extend_from_slice(&end_of_rib(family));
    if family != Family::IPV4_UNICAST {
        stream.extend_from_slice(&end_of_rib(Family::IPV4_UNICAST));
    }
    stream
}

/// The End-of-RIB marker of `family`, encoded.
fn end_of_rib(family: Family) -> BytesMut {
    let attributes = if family == Family::IPV4_UNICAST {
        Vec::new()
    } else {
        vec![PathAttribute::new(AttributeValue::MpUnreach(MpUnreach {
            family,
            nlri: MpNlri::Prefixes(Vec::new()),
        }))]
    };
    let end_of_rib = Update {
        withdrawn: NlriList::new(),
        attributes,
        announced: NlriList::new(),
    };
    let mut encoded = BytesMut::new();
    end_of_rib
        .encode(&CodecContext::default(), &mut encoded)
        .expect("an End-of-RIB encodes");
    encoded
}

/// The withdrawal of every prefix `updates` announce, one UPDATE for each
/// (RFC 4271 §4.3: the NLRI field's prefixes as Withdrawn Routes, no path
/// attributes), so that withdrawing packs the table as announcing did. No
/// End-of-RIB: the receiver has had it.
pub(crate) fn withdrawals_of(updates: &[Bytes]) -> Vec<u8> {
    let mut stream = Vec::with_capacity(updates.iter().map(Bytes::len).sum());
    for update in updates {
        let (_, _, nlri) = update_fields(update);
        if nlri.is_empty() {
            withdraw_multiprotocol(update, &mut stream);
            continue;
        }
        let length = 19 + 2 + nlri.len() + 2;
        stream.extend_from_slice(&[0xff; 16]);
        stream.extend_from_slice(
            &u16::try_from(length)
                .expect("shorter than the UPDATE")
                .to_be_bytes(),
        );
        stream.push(2);
        stream.extend_from_slice(
            &u16::try_from(nlri.len())
                .expect("an UPDATE's NLRI")
                .to_be_bytes(),
        );
        stream.extend_from_slice(nlri);
        stream.extend_from_slice(&[0, 0]);
    }
    stream
}

/// The withdrawal of what `update` announces in MP_REACH_NLRI (an IPv6
/// table), as MP_UNREACH_NLRI (RFC 4760 §4), appended to `stream`; nothing
/// for an UPDATE without it.
fn withdraw_multiprotocol(update: &Bytes, stream: &mut Vec<u8>) {
    let context = CodecContext::default();
    let Ok(Received {
        message: Message::Update(update),
        ..
    }) = Message::decode(update, &context)
    else {
        return;
    };
    let Some(reach) = update.mp_reach() else {
        return;
    };
    let withdrawal = Update {
        withdrawn: NlriList::new(),
        attributes: vec![PathAttribute::new(AttributeValue::MpUnreach(MpUnreach {
            family: reach.family,
            nlri: reach.nlri.clone(),
        }))],
        announced: NlriList::new(),
    };
    let mut encoded = BytesMut::new();
    withdrawal
        .encode(&context, &mut encoded)
        .expect("a withdrawal shorter than its announcement encodes");
    stream.extend_from_slice(&encoded);
}

/// What the writer thread ends with: when it handed the first and the last
/// byte to the kernel, or why it failed.
pub(crate) type Written = Result<(Instant, Instant), String>;

/// What the reader thread saw after the session came up.
#[derive(Debug, Default)]
pub(crate) struct Inbound {
    /// Messages received.
    pub(crate) messages: u64,
    /// UPDATEs among them (a receiver that exports nothing may still send its
    /// End-of-RIB).
    pub(crate) updates: u64,
    /// Why the session ended, if it did: a NOTIFICATION, EOF or a read error.
    pub(crate) ended: Option<String>,
}

/// An established session.
#[derive(Debug)]
pub(crate) struct Session {
    stream: TcpStream,
    /// Held by whoever writes a message ([`Session::send`], the KEEPALIVE
    /// thread), so that messages never interleave.
    writing: Arc<Mutex<()>>,
    inbound: Arc<Mutex<Inbound>>,
    /// Prefixes announced minus prefixes withdrawn in what came back, counted
    /// from the bytes (a fan-out client polls it without taking a lock).
    prefixes: Arc<AtomicU64>,
    reader: Option<JoinHandle<()>>,
}

/// Opens a session from `local` to `remote`, retrying until `deadline` (the
/// receiver may not accept yet, or may refuse the first attempts).
pub(crate) fn connect(
    local: Ipv4Addr,
    remote: SocketAddr,
    deadline: Instant,
) -> Result<Session, String> {
    connect_with_hold_time(local, remote, deadline, 0)
}

/// [`connect`] proposing `hold_time` seconds: with one other than 0 the
/// receiver expects KEEPALIVEs ([`Session::keep_alive`]).
pub(crate) fn connect_with_hold_time(
    local: Ipv4Addr,
    remote: SocketAddr,
    deadline: Instant,
    hold_time: u16,
) -> Result<Session, String> {
    connect_as(local, remote, deadline, hold_time, SENDER_AS)
}

/// [`connect_with_hold_time`] from AS `asn` instead of [`SENDER_AS`]: the
/// receiver's own AS makes it an iBGP session (a fan-out client).
pub(crate) fn connect_as(
    local: Ipv4Addr,
    remote: SocketAddr,
    deadline: Instant,
    hold_time: u16,
    asn: u32,
) -> Result<Session, String> {
    connect_offering(local, remote, deadline, hold_time, asn, false)
}

/// [`connect`] offering the Graceful Restart capability (RFC 4724 §3: not
/// restarting itself, no forwarding state of its own, both unicast
/// families): a receiver that restarts then waits for this sender's
/// End-of-RIB before it drops the routes it kept (`--restart`).
pub(crate) fn connect_gracefully(
    local: Ipv4Addr,
    remote: SocketAddr,
    deadline: Instant,
) -> Result<Session, String> {
    connect_offering(local, remote, deadline, 0, SENDER_AS, true)
}

fn connect_offering(
    local: Ipv4Addr,
    remote: SocketAddr,
    deadline: Instant,
    hold_time: u16,
    asn: u32,
    graceful_restart: bool,
) -> Result<Session, String> {
    let mut last = String::from("no attempt made");
    while Instant::now() < deadline {
        match attempt(local, remote, hold_time, asn, graceful_restart) {
            Ok(session) => return Ok(session),
            Err(error) => last = error,
        }
        thread::sleep(Duration::from_millis(200));
    }
    Err(format!("no session from {local} to {remote}: {last}"))
}

fn attempt(
    local: Ipv4Addr,
    remote: SocketAddr,
    hold_time: u16,
    asn: u32,
    graceful_restart: bool,
) -> Result<Session, String> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
        .map_err(|error| format!("socket: {error}"))?;
    socket
        .set_reuse_address(true)
        .map_err(|error| format!("SO_REUSEADDR: {error}"))?;
    socket
        .bind(&SockAddr::from(SocketAddr::new(local.into(), 0)))
        .map_err(|error| format!("bind {local}: {error}"))?;
    socket
        .connect_timeout(&SockAddr::from(remote), Duration::from_secs(2))
        .map_err(|error| format!("connect: {error}"))?;
    socket
        .set_tcp_nodelay(true)
        .map_err(|error| format!("TCP_NODELAY: {error}"))?;
    let mut stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|error| format!("read timeout: {error}"))?;

    let context = CodecContext::default();
    // Both unicast families, so that an IPv6 table (`--ipv6`) goes on the
    // same IPv4 session; a receiver configured for IPv4 alone negotiates
    // IPv4 alone (RFC 4760 §8).
    let mut capabilities = vec![
        Capability::Multiprotocol(Family::IPV4_UNICAST),
        Capability::Multiprotocol(Family::IPV6_UNICAST),
        Capability::FourOctetAs(Asn(asn)),
    ];
    if graceful_restart {
        capabilities.push(Capability::GracefulRestart(GracefulRestart {
            flags: 0,
            restart_time: 120,
            families: [Family::IPV4_UNICAST, Family::IPV6_UNICAST]
                .into_iter()
                .map(|family| GracefulRestartFamily { family, flags: 0 })
                .collect(),
        }));
    }
    let open = Open::new(Asn(asn), hold_time, RouterId(local), capabilities);
    send(&mut stream, &Message::Open(open), &context)?;

    let started = Instant::now();
    let mut buffer = BytesMut::with_capacity(64 * 1024);
    let mut opened = false;
    loop {
        while let Some(frame) = split_frame(&mut buffer, MAX_MESSAGE_LENGTH)
            .map_err(|error| format!("bad header from the receiver: {error}"))?
        {
            let received = Message::decode(&frame, &context)
                .map_err(|error| format!("undecodable message from the receiver: {error}"))?;
            match received.message {
                Message::Open(_) if !opened => {
                    opened = true;
                    send(&mut stream, &Message::Keepalive, &context)?;
                }
                Message::Keepalive if opened => {
                    return Ok(Session::start(stream, buffer));
                }
                Message::Notification(notification) => {
                    return Err(format!("NOTIFICATION from the receiver: {notification}"));
                }
                other => {
                    return Err(format!(
                        "unexpected {:?} while opening",
                        other.message_type()
                    ))
                }
            }
        }
        if started.elapsed() > HANDSHAKE_TIMEOUT {
            return Err(format!(
                "no {} within {HANDSHAKE_TIMEOUT:?}",
                if opened { "KEEPALIVE" } else { "OPEN" }
            ));
        }
        read_some(&mut stream, &mut buffer)?;
    }
}

fn send(stream: &mut TcpStream, message: &Message, context: &CodecContext) -> Result<(), String> {
    let bytes = message
        .to_bytes(context)
        .map_err(|error| format!("encode: {error}"))?;
    stream
        .write_all(&bytes)
        .map_err(|error| format!("write: {error}"))
}

/// One read into `buffer`; a timeout is not an error, EOF is.
fn read_some(stream: &mut TcpStream, buffer: &mut BytesMut) -> Result<(), String> {
    let mut chunk = [0_u8; 64 * 1024];
    match stream.read(&mut chunk) {
        Ok(0) => Err("the receiver closed the connection".to_owned()),
        Ok(n) => {
            buffer.extend_from_slice(&chunk[..n]);
            Ok(())
        }
        Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(()),
        Err(error) if error.kind() == ErrorKind::Interrupted => Ok(()),
        Err(error) => Err(format!("read: {error}")),
    }
}

impl Session {
    fn start(stream: TcpStream, buffer: BytesMut) -> Session {
        let inbound = Arc::new(Mutex::new(Inbound::default()));
        let prefixes = Arc::new(AtomicU64::new(0));
        let reader = stream.try_clone().ok().map(|mut clone| {
            let inbound = Arc::clone(&inbound);
            let prefixes = Arc::clone(&prefixes);
            thread::spawn(move || drain(&mut clone, buffer, &inbound, &prefixes))
        });
        Session {
            stream,
            writing: Arc::new(Mutex::new(())),
            inbound,
            prefixes,
            reader,
        }
    }

    /// Starts writing `stream` on a thread of its own. The returned handle
    /// yields the instant the first byte was handed to the kernel and the one
    /// the last was.
    pub(crate) fn write_all(&self, stream: Arc<Vec<u8>>) -> Result<JoinHandle<Written>, String> {
        let mut socket = self
            .stream
            .try_clone()
            .map_err(|error| format!("clone the socket: {error}"))?;
        Ok(thread::spawn(move || {
            let first = Instant::now();
            for chunk in stream.chunks(WRITE_CHUNK) {
                socket
                    .write_all(chunk)
                    .map_err(|error| format!("write the table: {error}"))?;
            }
            Ok((first, Instant::now()))
        }))
    }

    /// Sends one message now, encoded as the session negotiated it (4-octet
    /// AS numbers). Not to be mixed with [`Session::write_all`]: both would
    /// write the socket at once.
    pub(crate) fn send(&self, message: &Message) -> Result<(), String> {
        let mut socket = self
            .stream
            .try_clone()
            .map_err(|error| format!("clone the socket: {error}"))?;
        let context = CodecContext {
            four_octet_asn: true,
            ..CodecContext::default()
        };
        let _one_writer = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        send(&mut socket, message, &context)
    }

    /// Sends a KEEPALIVE every `every` until the connection fails, on a
    /// thread of its own (sharing [`Session::send`]'s turn to write).
    pub(crate) fn keep_alive(&self, every: Duration) -> Result<JoinHandle<()>, String> {
        let mut socket = self
            .stream
            .try_clone()
            .map_err(|error| format!("clone the socket: {error}"))?;
        let writing = Arc::clone(&self.writing);
        Ok(thread::spawn(move || loop {
            thread::sleep(every);
            let _one_writer = writing.lock().unwrap_or_else(PoisonError::into_inner);
            if send(&mut socket, &Message::Keepalive, &CodecContext::default()).is_err() {
                return;
            }
        }))
    }

    /// Why the session ended, if it has.
    pub(crate) fn ended(&self) -> Option<String> {
        self.lock().ended.clone()
    }

    /// Prefixes the other side has announced and not withdrawn since the
    /// session came up, as counted from the UPDATEs' bytes.
    pub(crate) fn prefixes(&self) -> u64 {
        self.prefixes.load(Ordering::Relaxed)
    }

    /// Messages and UPDATEs received since the session came up.
    pub(crate) fn received(&self) -> (u64, u64) {
        let inbound = self.lock();
        (inbound.messages, inbound.updates)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inbound> {
        self.inbound
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// The reader thread: counts what arrives until the connection ends. UPDATEs
/// are counted from their bytes (a fan-out client reads a full table at line
/// rate); anything else is decoded, to see a NOTIFICATION.
fn drain(
    stream: &mut TcpStream,
    mut buffer: BytesMut,
    inbound: &Mutex<Inbound>,
    prefixes: &AtomicU64,
) {
    let context = CodecContext::default();
    let end = |why: String| {
        let mut state = inbound
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.ended.get_or_insert(why);
    };
    loop {
        let (mut messages, mut updates) = (0, 0);
        loop {
            let frame = match split_frame(&mut buffer, MAX_MESSAGE_LENGTH) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => return end(format!("bad header from the receiver: {error}")),
            };
            messages += 1;
            if frame.get(18) == Some(&UPDATE_TYPE) {
                updates += 1;
                let (withdrawn, announced) = update_prefix_counts(&frame[19..]);
                prefixes.fetch_add(announced, Ordering::Relaxed);
                prefixes.fetch_sub(withdrawn, Ordering::Relaxed);
                continue;
            }
            match Message::decode(&frame, &context).map(|received| received.message) {
                Ok(Message::Notification(notification)) => {
                    return end(format!("NOTIFICATION from the receiver: {notification}"));
                }
                Ok(_) => {}
                Err(error) => {
                    return end(format!("undecodable message from the receiver: {error}"));
                }
            }
        }
        if messages > 0 {
            let mut state = inbound
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state.messages += messages;
            state.updates += updates;
        }
        if let Err(error) = read_some(stream, &mut buffer) {
            return end(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withdrawals_carry_the_announced_prefixes() {
        let table = nodebgp_benches::shaped_table(
            Family::IPV4_UNICAST,
            nodebgp_benches::TableShape::parse("4/10").unwrap(),
            40,
            1,
        );
        let stream = Bytes::from(withdrawals_of(&table));
        let mut buffer = BytesMut::from(&stream[..]);
        let context = CodecContext {
            four_octet_asn: true,
            ..CodecContext::default()
        };
        let mut withdrawn = Vec::new();
        while let Some(frame) = split_frame(&mut buffer, MAX_MESSAGE_LENGTH).unwrap() {
            let Message::Update(update) = Message::decode(&frame, &context).unwrap().message else {
                panic!("not an UPDATE")
            };
            assert!(update.announced.is_empty());
            withdrawn.extend(update.withdrawn.iter().map(|nlri| nlri.prefix));
        }
        let mut announced = Vec::new();
        for frame in &table {
            let Message::Update(update) = Message::decode(frame, &context).unwrap().message else {
                panic!("not an UPDATE")
            };
            announced.extend(update.announced.iter().map(|nlri| nlri.prefix));
        }
        assert_eq!(withdrawn.len(), 40);
        assert_eq!(withdrawn, announced);
    }

    #[test]
    fn ipv6_withdrawals_carry_the_announced_prefixes_in_mp_unreach() {
        let table = nodebgp_benches::shaped_table(
            Family::IPV6_UNICAST,
            nodebgp_benches::TableShape::parse("4/10").unwrap(),
            40,
            1,
        );
        let context = CodecContext::default();
        let prefixes_of = |stream: &[u8], reach: bool| {
            let mut buffer = BytesMut::from(stream);
            let mut prefixes = Vec::new();
            while let Some(frame) = split_frame(&mut buffer, MAX_MESSAGE_LENGTH).unwrap() {
                let Message::Update(update) = Message::decode(&frame, &context).unwrap().message
                else {
                    panic!("not an UPDATE")
                };
                assert!(update.announced.is_empty() && update.withdrawn.is_empty());
                let nlri = if reach {
                    &update.mp_reach().expect("MP_REACH_NLRI").nlri
                } else {
                    assert!(update.mp_reach().is_none());
                    &update.mp_unreach().expect("MP_UNREACH_NLRI").nlri
                };
                let MpNlri::Prefixes(nlri) = nlri else {
                    panic!("opaque NLRI")
                };
                prefixes.extend(nlri.iter().map(|nlri| nlri.prefix));
            }
            prefixes
        };
        let announced = prefixes_of(&table.concat(), true);
        let withdrawn = prefixes_of(&withdrawals_of(&table), false);
        assert_eq!(announced.len(), 40);
        assert!(announced.iter().all(|prefix| prefix.addr().is_ipv6()));
        assert_eq!(withdrawn, announced);
        let stream = Bytes::from(withdrawals_of(&table));
        let counted: u64 = split_all(&stream)
            .iter()
            .map(|frame| update_prefix_counts(&frame[19..]).0)
            .sum();
        assert_eq!(counted, 40, "the harness's readers count them too");
    }

    fn split_all(stream: &Bytes) -> Vec<Bytes> {
        let mut buffer = BytesMut::from(&stream[..]);
        let mut frames = Vec::new();
        while let Some(frame) = split_frame(&mut buffer, MAX_MESSAGE_LENGTH).unwrap() {
            frames.push(frame);
        }
        frames
    }

    #[test]
    fn the_stream_ends_with_an_end_of_rib_for_every_family_of_the_session() {
        let ends = |family| -> Vec<Option<Family>> {
            let stream = Bytes::from(stream_of(&[], family));
            split_all(&stream)
                .iter()
                .map(|frame| {
                    let received = Message::decode(frame, &CodecContext::default()).unwrap();
                    let Message::Update(update) = received.message else {
                        panic!("not an UPDATE");
                    };
                    update.end_of_rib()
                })
                .collect()
        };
        assert_eq!(ends(Family::IPV4_UNICAST), [Some(Family::IPV4_UNICAST)]);
        // An IPv6 table's sessions carry IPv4 unicast too, empty.
        assert_eq!(
            ends(Family::IPV6_UNICAST),
            [Some(Family::IPV6_UNICAST), Some(Family::IPV4_UNICAST)]
        );
    }
}
