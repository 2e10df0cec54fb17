//! One scripted BGP peer over a real TCP connection: sends octets as given,
//! reads whole messages, and never waits without a deadline.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::wire::{self, kind, Notification, ReceivedOpen};

/// The largest message the runner reads (RFC 8654's limit).
const MAX_MESSAGE: usize = 65535;

/// What reading from the speaker produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A whole message: its type and body.
    Message(u8, Vec<u8>),
    /// The speaker closed the connection (or reset it).
    Closed(String),
    /// The deadline passed first.
    Timeout,
}

/// How the speaker answered a stimulus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// It sent this NOTIFICATION (and, usually, closed).
    Notification(Notification),
    /// It closed the connection without a NOTIFICATION.
    Closed(String),
    /// The connection was still up when the wait ended.
    StillUp,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Notification(notification) => notification.fmt(formatter),
            Reply::Closed(how) => write!(formatter, "closed without NOTIFICATION ({how})"),
            Reply::StillUp => formatter.write_str("session stayed up"),
        }
    }
}

/// Socket options a connection is made with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Security {
    /// The IP TTL / IPv6 hop limit of every packet (255 for GTSM).
    pub ttl: Option<u32>,
    /// The TCP MD5 signature key.
    pub md5_password: Option<String>,
}

/// A connection to the speaker under test.
#[derive(Debug)]
pub struct Peer {
    stream: TcpStream,
    /// Writes go through one lock: the keepalive thread writes too, and a
    /// message must never be cut by another.
    writer: Arc<Mutex<Writer>>,
    buffer: Vec<u8>,
    /// Dropping it stops the keepalive thread.
    keepalives: Option<mpsc::Sender<()>>,
    /// The speaker's OPEN, once read.
    pub open: Option<ReceivedOpen>,
}

#[derive(Debug)]
struct Writer {
    stream: TcpStream,
    last_sent: Instant,
}

impl Writer {
    fn send(&mut self, octets: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(octets)?;
        self.last_sent = Instant::now();
        Ok(())
    }
}

impl Peer {
    /// Connects from `source` (any port) to `target`, within `timeout`.
    pub fn connect(source: IpAddr, target: SocketAddr, timeout: Duration) -> std::io::Result<Peer> {
        Peer::connect_with(source, target, timeout, &Security::default())
    }

    /// Connects with a TTL and a TCP MD5 key (RFC 5082, RFC 2385) set first.
    pub fn connect_with(
        source: IpAddr,
        target: SocketAddr,
        timeout: Duration,
        security: &Security,
    ) -> std::io::Result<Peer> {
        Peer::connect_sized(source, target, timeout, security, None)
    }

    /// Connects with a receive buffer of about `receive_buffer` octets, so
    /// that a runner that stops reading closes its window soon (the kernel
    /// no longer grows a buffer whose size was set).
    pub fn connect_reading_slowly(
        source: IpAddr,
        target: SocketAddr,
        timeout: Duration,
        receive_buffer: usize,
    ) -> std::io::Result<Peer> {
        Peer::connect_sized(
            source,
            target,
            timeout,
            &Security::default(),
            Some(receive_buffer),
        )
    }

    fn connect_sized(
        source: IpAddr,
        target: SocketAddr,
        timeout: Duration,
        security: &Security,
        receive_buffer: Option<usize>,
    ) -> std::io::Result<Peer> {
        let socket = Socket::new(
            Domain::for_address(target),
            Type::STREAM,
            Some(Protocol::TCP),
        )?;
        socket.bind(&SocketAddr::new(source, 0).into())?;
        if let Some(size) = receive_buffer {
            socket.set_recv_buffer_size(size)?;
        }
        if let Some(ttl) = security.ttl {
            match target {
                SocketAddr::V4(_) => socket.set_ttl_v4(ttl)?,
                SocketAddr::V6(_) => socket.set_unicast_hops_v6(ttl)?,
            }
        }
        if let Some(password) = &security.md5_password {
            bgp_session::net::set_md5_password(&socket, target.ip(), Some(password))?;
        }
        socket.connect_timeout(&target.into(), timeout)?;
        socket.set_tcp_nodelay(true)?;
        Peer::from_stream(socket.into())
    }

    /// A connection the speaker opened to the runner.
    pub fn from_stream(stream: TcpStream) -> std::io::Result<Peer> {
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(Duration::from_secs(5)))?;
        let writer = Writer {
            stream: stream.try_clone()?,
            last_sent: Instant::now(),
        };
        Ok(Peer {
            stream,
            writer: Arc::new(Mutex::new(writer)),
            buffer: Vec::new(),
            keepalives: None,
            open: None,
        })
    }

    /// Sends octets as they are.
    pub fn send(&mut self, octets: &[u8]) -> std::io::Result<()> {
        self.writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(octets)
    }

    /// Sends octets in two writes split at `offset`, so that the speaker
    /// reads them in two segments (TCP_NODELAY is on).
    pub fn send_split(&mut self, octets: &[u8], offset: usize) -> std::io::Result<()> {
        let (first, second) = octets.split_at(offset.min(octets.len()));
        self.send(first)?;
        self.send(second)
    }

    /// From now on a thread sends a KEEPALIVE whenever nothing was sent for
    /// `interval`, so that the speaker's hold timer never expires while the
    /// runner waits on something else (the other session, a back-off).
    fn start_keepalives(&mut self, interval: Duration) {
        let (stop, stopped) = mpsc::channel::<()>();
        let writer = Arc::clone(&self.writer);
        std::thread::spawn(move || {
            // Ends when the peer drops its sender.
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval / 4) {
                let mut writer = writer.lock().unwrap_or_else(PoisonError::into_inner);
                if writer.last_sent.elapsed() >= interval
                    && writer.send(&wire::keepalive()).is_err()
                {
                    return;
                }
            }
        });
        self.keepalives = Some(stop);
    }

    /// Stops sending KEEPALIVEs: the runner goes silent (to let the
    /// speaker's hold timer expire).
    pub fn stop_keepalives(&mut self) {
        self.keepalives = None;
    }

    /// The next whole message, or why there is none before `deadline`.
    pub fn next_event(&mut self, deadline: Instant) -> Event {
        loop {
            if let Some(event) = self.take_message() {
                return event;
            }
            let now = Instant::now();
            if now >= deadline {
                return Event::Timeout;
            }
            let wait = (deadline - now).max(Duration::from_millis(1));
            if self.stream.set_read_timeout(Some(wait)).is_err() {
                return Event::Closed("socket unusable".into());
            }
            let mut chunk = [0u8; 16384];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Event::Closed("connection closed".into()),
                Ok(read) => self.buffer.extend_from_slice(&chunk[..read]),
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => return Event::Closed(error.to_string()),
            }
        }
    }

    fn take_message(&mut self) -> Option<Event> {
        if self.buffer.len() < 19 {
            return None;
        }
        let length = usize::from(u16::from_be_bytes([self.buffer[16], self.buffer[17]]));
        if !(19..=MAX_MESSAGE).contains(&length) || self.buffer[..16] != [0xff; 16] {
            return Some(Event::Closed(format!(
                "the speaker sent a malformed header: {}",
                wire::hex(&self.buffer[..19])
            )));
        }
        if self.buffer.len() < length {
            return None;
        }
        let kind = self.buffer[18];
        let body = self.buffer[19..length].to_vec();
        self.buffer.drain(..length);
        Some(Event::Message(kind, body))
    }

    /// Waits until the speaker answers with a NOTIFICATION or closes, or
    /// `window` passes with the session up. KEEPALIVEs and UPDATEs are read
    /// and ignored; an OPEN is remembered.
    pub fn await_reply(&mut self, window: Duration) -> Reply {
        let deadline = Instant::now() + window;
        loop {
            match self.next_event(deadline) {
                Event::Message(kind::NOTIFICATION, body) => {
                    return match Notification::parse(&body) {
                        Some(notification) => Reply::Notification(notification),
                        None => Reply::Closed(format!(
                            "a NOTIFICATION too short to read: {}",
                            wire::hex(&body)
                        )),
                    }
                }
                Event::Message(kind::OPEN, body) => self.open = Some(ReceivedOpen::parse(&body)),
                Event::Message(..) => {}
                Event::Closed(how) => return Reply::Closed(how),
                Event::Timeout => return Reply::StillUp,
            }
        }
    }

    /// Waits for a message of `wanted` type within `window`, returning its
    /// body; a NOTIFICATION or a close first is the error.
    pub fn await_message(&mut self, wanted: u8, window: Duration) -> Result<Vec<u8>, Reply> {
        let deadline = Instant::now() + window;
        loop {
            match self.next_event(deadline) {
                Event::Message(kind, body) if kind == wanted => {
                    if kind == kind::OPEN {
                        self.open = Some(ReceivedOpen::parse(&body));
                    }
                    return Ok(body);
                }
                Event::Message(kind::NOTIFICATION, body) => {
                    return Err(match Notification::parse(&body) {
                        Some(notification) => Reply::Notification(notification),
                        None => Reply::Closed("a NOTIFICATION too short to read".into()),
                    })
                }
                Event::Message(kind::OPEN, body) => self.open = Some(ReceivedOpen::parse(&body)),
                Event::Message(..) => {}
                Event::Closed(how) => return Err(Reply::Closed(how)),
                Event::Timeout => return Err(Reply::StillUp),
            }
        }
    }

    /// Sends `open`, reads the speaker's OPEN and KEEPALIVE and answers with
    /// a KEEPALIVE: Established on both sides (RFC 4271 §8.2.2).
    pub fn establish(&mut self, open: &[u8], window: Duration) -> Result<(), Reply> {
        self.send(open)
            .map_err(|error| Reply::Closed(format!("sending the OPEN: {error}")))?;
        if self.open.is_none() {
            self.await_message(kind::OPEN, window)?;
        }
        // RFC 4271 §4.2: the smaller of the two hold times; zero means none.
        let offered = match open.get(22..24) {
            Some(octets) => u16::from_be_bytes([octets[0], octets[1]]),
            None => 0,
        };
        let theirs = self.open.as_ref().map_or(0, |open| open.hold_time);
        let hold_time = offered.min(theirs);
        if hold_time > 0 {
            // RFC 4271 §10: a third of the hold time.
            self.start_keepalives(Duration::from_millis(u64::from(hold_time) * 1000 / 3));
        }
        self.await_message(kind::KEEPALIVE, window)?;
        self.send(&wire::keepalive())
            .map_err(|error| Reply::Closed(format!("sending the KEEPALIVE: {error}")))
    }

    /// Ends the session politely: Cease / Administrative Reset (RFC 4486),
    /// then waits (bounded) until the speaker has closed its side, so that
    /// a new connection right after is not taken for a collision with this
    /// one (RFC 4271 §6.8).
    pub fn close(mut self) {
        let _ = self.send(&wire::notification(6, 4, &[]));
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        let deadline = Instant::now() + Duration::from_secs(3);
        while !matches!(self.next_event(deadline), Event::Closed(_) | Event::Timeout) {}
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }

    /// Drops the connection without a NOTIFICATION, as a crash would.
    pub fn abort(self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}
