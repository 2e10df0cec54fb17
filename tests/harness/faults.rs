//! The faults of the soak run, each against one peer of a running daemon,
//! with the check that the daemon came through each one: the session went
//! down (where the fault means it must) and came back up on both sides.
//!
//! - flap: FRR's `clear bgp` (Cease / Administrative Reset, then a new session);
//! - kill: SIGKILL to FRR (the kernel closes its connections), then a restart;
//! - freeze: SIGSTOP to FRR until nodebgp's hold timer expires, then SIGCONT;
//! - reset mid-UPDATE: a speaker of the test's own (below) sends whole
//!   UPDATEs and half of one, then closes with a FIN or a RST.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bgp_wire::{
    split_frame, Asn, Capability, CodecContext, Family, Message, Open, RouterId, MAX_MESSAGE_LENGTH,
};
use bytes::BytesMut;
use lab::Router;
use nodebgp_interop::daemon::{Daemon, UP};
use serde_json::Value;
use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};

use super::soak::{poll, state_of, try_poll, SENDER_AS};

/// FRR's view of its session with `peer`: how many times it came up, and
/// its state.
pub(crate) fn frr_session(router: &Router, peer: IpAddr) -> Result<(u64, String), String> {
    let text = router
        .cli(&[&format!("show bgp neighbors {peer} json")])
        .map_err(|error| error.to_string())?;
    let json: Value = serde_json::from_str(&text).map_err(|error| error.to_string())?;
    let neighbor = &json[peer.to_string()];
    match (
        neighbor["connectionsEstablished"].as_u64(),
        neighbor["bgpState"].as_str(),
    ) {
        (Some(count), Some(state)) => Ok((count, state.to_owned())),
        _ => Err(format!("no session counters in {json}")),
    }
}

/// Waits until both nodebgp and FRR report their session Established.
pub(crate) fn wait_established(daemon: &Daemon, router: &Router, ours: IpAddr) {
    let theirs = router.address();
    poll(
        &format!("the session with {theirs} Established on both sides"),
        UP,
        || {
            let state = state_of(daemon, theirs);
            let frr = frr_session(router, ours)?;
            if state == "Established" && frr.1 == "Established" {
                Ok(())
            } else {
                Err(format!("nodebgp: {state}, FRR: {frr:?}"))
            }
        },
    );
}

/// Waits until nodebgp reports its session with `peer` anything but
/// Established.
fn wait_down(daemon: &Daemon, peer: IpAddr, why: &str, within: Duration) -> Result<(), String> {
    try_poll(within, || match state_of(daemon, peer).as_str() {
        "Established" => Err(format!("{peer} still Established after {why}")),
        "?" => Err("no status answer".to_owned()),
        _ => Ok(()),
    })
}

/// The last error nodebgp reports for `peer`.
fn last_error(daemon: &Daemon, peer: IpAddr) -> String {
    daemon
        .peer(peer)
        .and_then(|status| status["last_error"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `times` flaps with FRR's `clear bgp`: each waits until FRR has seen the
/// session come up again and nodebgp reports it Established. Returns the
/// flaps FRR counted.
pub(crate) fn flap(router: &Router, daemon: &Daemon, ours: IpAddr, times: usize) -> u64 {
    let theirs = router.address();
    let (first, _) = frr_session(router, ours).unwrap();
    let mut count = first;
    // Whether nodebgp was seen down with FRR's reset as the reason: it waits
    // a second (--error-wait) before it starts again, long enough to be
    // seen; once per router is asked, as a reconnection that races FRR's own
    // (a collision) may take its place as the last error.
    let mut reason_seen = false;
    for _ in 0..times {
        let before = count;
        router
            .cli(&[&format!("clear bgp {ours}")])
            .unwrap_or_else(|error| panic!("{error}"));
        count = poll(
            &format!("FRR {theirs} to bring the session up again after `clear bgp`"),
            UP,
            || {
                if !reason_seen {
                    reason_seen = daemon.peer(theirs).is_some_and(|status| {
                        status["state"] != "Established"
                            && status["last_error"]
                                .as_str()
                                .is_some_and(|error| error.contains("Administrative Reset"))
                    });
                }
                match frr_session(router, ours)? {
                    (count, state) if count > before && state == "Established" => Ok(count),
                    seen => Err(format!("{seen:?}, {before} sessions before")),
                }
            },
        );
        wait_established(daemon, router, ours);
    }
    assert!(
        times == 0 || reason_seen,
        "nodebgp never reported FRR's Administrative Reset for {theirs} in {times} flaps; last error: {}",
        last_error(daemon, theirs)
    );
    count - first
}

/// `times` kills: SIGKILL to FRR, nodebgp sees the session go, FRR starts
/// again and the session comes back.
pub(crate) fn kill_and_restart(router: &mut Router, daemon: &Daemon, ours: IpAddr, times: usize) {
    let theirs = router.address();
    for _ in 0..times {
        router.kill();
        wait_down(daemon, theirs, "SIGKILL", UP).unwrap_or_else(|last| panic!("{last}"));
        router.restart().unwrap_or_else(|error| panic!("{error}"));
        wait_established(daemon, router, ours);
    }
}

/// `times` freezes: SIGSTOP to FRR until nodebgp's hold timer (3 s with
/// this router) expires, then SIGCONT; the session comes back.
pub(crate) fn freeze(router: &Router, daemon: &Daemon, ours: IpAddr, times: usize) {
    let theirs = router.address();
    for _ in 0..times {
        router.pause().unwrap_or_else(|error| panic!("{error}"));
        let expired = wait_down(daemon, theirs, "SIGSTOP", Duration::from_secs(20));
        // Read while FRR is still frozen: nothing else can have happened yet.
        let error = last_error(daemon, theirs);
        router.resume().unwrap_or_else(|error| panic!("{error}"));
        expired.unwrap_or_else(|last| panic!("{last}"));
        assert!(
            error.contains("Hold Timer Expired"),
            "nodebgp's last error for the frozen {theirs}: {error}"
        );
        wait_established(daemon, router, ours);
    }
}

/// UPDATEs to send whole, then the first half of one more.
#[derive(Debug, Default)]
pub(crate) struct HalfLoad {
    /// Whole UPDATE messages.
    whole: Vec<u8>,
    /// The prefixes they announce.
    prefixes: u64,
    /// The header and half the body of the next UPDATE.
    half: Vec<u8>,
}

impl HalfLoad {
    /// About `prefixes` prefixes of the synthetic full table in whole
    /// UPDATEs, and half of the UPDATE that follows them.
    pub(crate) fn new(prefixes: usize, seed: u64) -> HalfLoad {
        let context = CodecContext::default();
        let mut load = HalfLoad::default();
        for frame in nodebgp_benches::synthetic_full_table(prefixes * 2 + 10_000, seed) {
            if load.prefixes as usize >= prefixes {
                // The whole 19-octet header, so the daemon waits for the body.
                load.half = frame[..19 + (frame.len() - 19) / 2].to_vec();
                return load;
            }
            let Message::Update(update) = Message::decode(&frame, &context).unwrap().message else {
                panic!("the synthetic table holds UPDATEs only");
            };
            load.prefixes += update.announced.len() as u64;
            load.whole.extend_from_slice(&frame);
        }
        panic!("the synthetic table is too short");
    }
}

/// `times` sessions from `local` that send `load`'s whole UPDATEs and half
/// of one more, wait until nodebgp holds the whole ones, and close: with a
/// FIN and with a RST in turn. Each time nodebgp must drop the session and
/// every route it brought.
pub(crate) fn reset_mid_update(
    local: Ipv4Addr,
    remote: SocketAddr,
    daemon: &Daemon,
    load: &HalfLoad,
    times: usize,
) {
    let peer = IpAddr::V4(local);
    for time in 0..times {
        let mut stream = open_session(local, remote, Instant::now() + UP)
            .unwrap_or_else(|error| panic!("{error}"));
        stream.write_all(&load.whole).unwrap();
        stream.write_all(&load.half).unwrap();
        poll(
            &format!(
                "nodebgp to hold the {} prefixes of the whole UPDATEs",
                load.prefixes
            ),
            UP,
            || {
                let status = daemon.peer(peer).ok_or("not listed")?;
                let received = status["prefixes"]["received"].as_u64();
                if status["state"] == "Established" && received == Some(load.prefixes) {
                    Ok(())
                } else {
                    Err(format!("{} with {received:?}", status["state"]))
                }
            },
        );
        if time % 2 == 0 {
            stream.shutdown(std::net::Shutdown::Write).unwrap();
        } else {
            SockRef::from(&stream)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
        }
        drop(stream);
        wait_down(daemon, peer, "the reset", UP).unwrap_or_else(|last| panic!("{last}"));
        poll(
            "the reset session's routes gone from the Loc-RIB",
            UP,
            || {
                let answer = daemon.routes(&["--peer", &peer.to_string()]);
                match answer["count"].as_u64() {
                    Some(0) => Ok(()),
                    count => Err(format!("{count:?} routes left")),
                }
            },
        );
    }
}

/// Opens a session from `local` to `remote` proposing hold time 0 (no
/// KEEPALIVEs needed), retrying until `deadline`: the daemon refuses
/// connections while it waits to restart a session.
fn open_session(
    local: Ipv4Addr,
    remote: SocketAddr,
    deadline: Instant,
) -> Result<TcpStream, String> {
    let mut last = String::from("no attempt made");
    while Instant::now() < deadline {
        match attempt(local, remote) {
            Ok(stream) => return Ok(stream),
            Err(error) => last = error,
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("no session from {local} to {remote}: {last}"))
}

fn attempt(local: Ipv4Addr, remote: SocketAddr) -> Result<TcpStream, String> {
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
    let mut stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|error| format!("read timeout: {error}"))?;
    let context = CodecContext::default();
    let open = Open::new(
        Asn(SENDER_AS),
        0,
        RouterId(local),
        vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::FourOctetAs(Asn(SENDER_AS)),
        ],
    );
    let send = |stream: &mut TcpStream, message: &Message| {
        let bytes = message
            .to_bytes(&context)
            .map_err(|error| format!("encode: {error}"))?;
        stream
            .write_all(&bytes)
            .map_err(|error| format!("write: {error}"))
    };
    send(&mut stream, &Message::Open(open))?;
    let started = Instant::now();
    let mut buffer = BytesMut::new();
    let mut opened = false;
    loop {
        while let Some(frame) = split_frame(&mut buffer, MAX_MESSAGE_LENGTH)
            .map_err(|error| format!("bad header from nodebgp: {error}"))?
        {
            match Message::decode(&frame, &context)
                .map_err(|error| format!("undecodable message from nodebgp: {error}"))?
                .message
            {
                Message::Open(_) if !opened => {
                    opened = true;
                    send(&mut stream, &Message::Keepalive)?;
                }
                Message::Keepalive if opened => return Ok(stream),
                Message::Notification(notification) => {
                    return Err(format!("NOTIFICATION from nodebgp: {notification}"))
                }
                other => return Err(format!("{:?} while opening", other.message_type())),
            }
        }
        if started.elapsed() > Duration::from_secs(10) {
            return Err("no OPEN and KEEPALIVE within 10 s".to_owned());
        }
        let mut chunk = [0_u8; 4096];
        match stream.read(&mut chunk) {
            Ok(0) => return Err("nodebgp closed the connection".to_owned()),
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(error) => return Err(format!("read: {error}")),
        }
    }
}
