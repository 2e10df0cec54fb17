//! Socket options for BGP TCP connections, all in one place (Linux only).
//!
//! Contract:
//!
//! * Every socket the daemon uses for BGP is created or configured here:
//!   outgoing connections by [`connect_socket`] / [`connect`], listening
//!   sockets by [`listener`], per-peer state on a shared listener by
//!   [`apply_to_listener`], and accepted connections by [`apply_to_accepted`].
//! * This is the only module in the workspace allowed `unsafe`. It is used
//!   solely for the raw `setsockopt`/`getsockopt` calls that `socket2`
//!   does not wrap (`TCP_MD5SIG`, `IP_MINTTL` / `IPV6_MINHOPCOUNT`,
//!   `TCP_SAVED_SYN`, and integer options such as `TCP_NOTSENT_LOWAT`); each lives
//!   in its own small private function with a `// SAFETY:` comment, and no
//!   raw pointer or file descriptor escapes those functions.
//! * Peer addresses are canonicalised (`::ffff:a.b.c.d` is treated as the IPv4
//!   address `a.b.c.d`), so the IPv4 options are used for IPv4 peers even on an
//!   `AF_INET6` socket, and MD5 keys are installed in the form the kernel
//!   matches for that socket's family.
//! * Options that must be in place before the first segment (source address,
//!   MD5 key, TTL / minimum TTL) are set before `connect`, so the SYN is
//!   already signed and sent with the right TTL.
//! * Errors are plain [`io::Error`]s whose kind is the OS error's kind and
//!   whose message names the failing operation.
//!
//! [`listener`] and [`connect`] must be called inside a tokio runtime.

use std::fmt;
use std::io;
use std::mem::{offset_of, size_of};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// TTL / hop limit sent and required by GTSM (RFC 5082).
pub const GTSM_TTL: u32 = 255;

/// Longest TCP MD5 key the kernel accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub const MD5_MAX_KEY_LEN: usize = libc::TCP_MD5SIG_MAXKEYLEN;

/// Most octets a BGP socket takes that it cannot send yet
/// (`TCP_NOTSENT_LOWAT`). Without it the kernel takes megabytes (its send
/// buffer grows to `tcp_wmem`'s maximum) for a peer that no longer reads,
/// and the writer never learns the peer stopped: with it, the write waits,
/// so the RFC 9687 send hold timer sees it. Enough for loopback and LAN
/// rates; the rest waits in the connection's queue, which is bounded.
pub const NOT_SENT_LOW_WATER: i32 = 128 << 10;

/// Backlog of sockets created by [`listener`].
pub const LISTEN_BACKLOG: i32 = 128;

/// Options for one peer's TCP connections.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SocketOptions {
    /// Source address to bind outgoing connections to (port chosen by the kernel).
    pub local_address: Option<IpAddr>,
    /// TCP MD5 signature password (RFC 2385); `None` or empty means no signing.
    pub md5_password: Option<String>,
    /// GTSM (RFC 5082): send with TTL / hop limit 255 and drop anything received
    /// with less (`IP_MINTTL` / `IPV6_MINHOPCOUNT`).
    pub ttl_security: bool,
    /// With `ttl_security`, how many hops away the peer may be (RFC 5082
    /// §3: accept TTL 256 − hops and up); 0 counts as 1, a directly
    /// connected peer.
    pub ttl_security_hops: u8,
    /// Plain outgoing TTL / hop limit (eBGP multihop); ignored when `ttl_security`.
    pub ttl: Option<u32>,
}

impl fmt::Debug for SocketOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketOptions")
            .field("local_address", &self.local_address)
            .field(
                "md5_password",
                &self.md5_password.as_ref().map(|_| "<redacted>"),
            )
            .field("ttl_security", &self.ttl_security)
            .field("ttl_security_hops", &self.ttl_security_hops)
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// Creates a non-blocking TCP socket configured for a connection to `peer`,
/// but not yet connected.
///
/// In order: `IPV6_V6ONLY` for IPv6 peers, `TCP_NODELAY`, bind to
/// `local_address:0` (with `IP_FREEBIND` off, so a source address that is not
/// configured locally is an error rather than a silent black hole), the MD5 key
/// for `peer`, then GTSM or the plain TTL. The result can be handed to
/// [`TcpSocket::from_std_stream`] and connected to `peer` (as [`connect`] does).
/// A v4-mapped `peer` must be connected to in its IPv4 form.
pub fn connect_socket(peer: SocketAddr, options: &SocketOptions) -> io::Result<Socket> {
    let peer = canonical(peer);
    let socket = Socket::new(Domain::for_address(peer), Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| context(e, format_args!("socket for {peer}")))?;
    socket
        .set_nonblocking(true)
        .map_err(|e| context(e, "O_NONBLOCK"))?;
    if peer.is_ipv6() {
        socket
            .set_only_v6(true)
            .map_err(|e| context(e, "IPV6_V6ONLY"))?;
    }
    socket
        .set_tcp_nodelay(true)
        .map_err(|e| context(e, "TCP_NODELAY"))?;
    limit_not_sent(&socket)?;
    if let Some(local) = options.local_address {
        let local = local.to_canonical();
        if local.is_ipv4() != peer.is_ipv4() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("local address {local} and peer {peer} are of different families"),
            ));
        }
        match local {
            IpAddr::V4(_) => socket.set_freebind_v4(false),
            IpAddr::V6(_) => socket.set_freebind_v6(false),
        }
        .map_err(|e| context(e, "IP_FREEBIND"))?;
        socket
            .bind(&SocketAddr::new(local, 0).into())
            .map_err(|e| context(e, format_args!("bind to {local}")))?;
    }
    if let Some(password) = options.md5_password.as_deref().filter(|p| !p.is_empty()) {
        set_md5_password(&socket, peer.ip(), Some(password))?;
    }
    apply_ttl(&socket, peer.ip(), options)?;
    Ok(socket)
}

/// Connects to `peer` with [`connect_socket`]'s options, giving up after `timeout`.
///
/// A timeout is reported as [`io::ErrorKind::TimedOut`]. Note that a peer
/// whose kernel rejects our MD5 signature or TTL drops the SYN silently, so
/// such misconfigurations show up as timeouts, not as refusals.
pub async fn connect(
    peer: SocketAddr,
    options: &SocketOptions,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let peer = canonical(peer);
    let socket = TcpSocket::from_std_stream(connect_socket(peer, options)?.into());
    match tokio::time::timeout(timeout, socket.connect(peer)).await {
        Ok(result) => result.map_err(|e| context(e, format_args!("connect to {peer}"))),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("connect to {peer} timed out after {timeout:?}"),
        )),
    }
}

/// Creates a non-blocking listening socket on `address` with `SO_REUSEADDR`,
/// `IPV6_V6ONLY` for IPv6 addresses (so `0.0.0.0:179` and `[::]:179` can both
/// be bound) and a backlog of [`LISTEN_BACKLOG`].
pub fn listener(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .map_err(|e| context(e, format_args!("socket for {address}")))?;
    socket
        .set_reuse_address(true)
        .map_err(|e| context(e, "SO_REUSEADDR"))?;
    if address.is_ipv6() {
        socket
            .set_only_v6(true)
            .map_err(|e| context(e, "IPV6_V6ONLY"))?;
    }
    socket
        .set_nonblocking(true)
        .map_err(|e| context(e, "O_NONBLOCK"))?;
    socket
        .bind(&address.into())
        .map_err(|e| context(e, format_args!("bind to {address}")))?;
    // Keep each connection's SYN, so that GTSM can check the TTL the
    // connection was opened with (see `apply_to_accepted`).
    setsockopt_int(&socket, libc::IPPROTO_TCP, libc::TCP_SAVE_SYN, 1)
        .map_err(|e| context(e, "TCP_SAVE_SYN"))?;
    // SYN-ACKs leave with the listener's TTL: 255, so that a GTSM peer
    // (RFC 5082 §3), which drops anything lower, can connect to us. Each
    // accepted connection then gets its peer's own TTL setting.
    set_ttl(&socket, address.ip(), GTSM_TTL)?;
    socket
        .listen(LISTEN_BACKLOG)
        .map_err(|e| context(e, format_args!("listen on {address}")))?;
    TcpListener::from_std(socket.into())
}

/// Installs (or with `None`, removes) the MD5 key for `peer` on a shared
/// listener, so connections accepted from `peer` must be signed with it.
pub fn apply_to_listener(
    listener: &TcpListener,
    peer: IpAddr,
    password: Option<&str>,
) -> io::Result<()> {
    set_md5_password(&SockRef::from(listener), peer, password)
}

/// Applies the per-peer options that matter after the handshake to a
/// connection accepted from `peer`: `TCP_NODELAY`, and GTSM or the plain TTL.
///
/// The MD5 key is inherited from the listener (see [`apply_to_listener`]).
/// The listener is shared by every peer, so it cannot drop a GTSM peer's
/// packets by their TTL before the handshake; instead, for a GTSM peer the
/// SYN that opened the connection (kept by [`listener`]) must have come with
/// a TTL of at least 256 − hops, or the connection is refused (RFC 5082 §3:
/// fail closed). What arrives after this call is filtered by the kernel.
pub fn apply_to_accepted(stream: &TcpStream, options: &SocketOptions) -> io::Result<()> {
    let socket = SockRef::from(stream);
    socket
        .set_tcp_nodelay(true)
        .map_err(|e| context(e, "TCP_NODELAY"))?;
    limit_not_sent(&socket)?;
    let peer = stream.peer_addr()?.ip();
    apply_ttl(&socket, peer, options)?;
    if options.ttl_security {
        let minimum = GTSM_TTL + 1 - u32::from(options.ttl_security_hops.max(1));
        match saved_syn_ttl(&socket)? {
            Some(ttl) if u32::from(ttl) >= minimum => {}
            Some(ttl) => {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                    "GTSM: {peer} opened the connection with TTL {ttl}, {minimum} or more needed"
                ),
                ))
            }
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "GTSM: the TTL {peer} opened the connection with is unknown (no saved SYN)"
                    ),
                ))
            }
        }
    }
    Ok(())
}

/// Sets [`NOT_SENT_LOW_WATER`] on a BGP socket.
fn limit_not_sent(socket: &Socket) -> io::Result<()> {
    setsockopt_int(
        socket,
        libc::IPPROTO_TCP,
        libc::TCP_NOTSENT_LOWAT,
        NOT_SENT_LOW_WATER,
    )
    .map_err(|e| context(e, "TCP_NOTSENT_LOWAT"))
}

/// The TTL (IPv4) or hop limit (IPv6) of the SYN that opened an accepted
/// connection, from `TCP_SAVED_SYN` (the listener must have `TCP_SAVE_SYN`);
/// `None` when none was kept. The kernel hands the SYN over once.
fn saved_syn_ttl(socket: &Socket) -> io::Result<Option<u8>> {
    let mut header = [0_u8; 512];
    let mut len = header.len() as libc::socklen_t;
    // SAFETY: the fd is open for as long as `socket` is borrowed; `header`
    // and `len` are live, exclusively borrowed locals, and `len` tells the
    // kernel it may write at most header.len() bytes into `header`.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_SAVED_SYN,
            header.as_mut_ptr().cast(),
            &mut len,
        )
    };
    check(rc).map_err(|e| context(e, "TCP_SAVED_SYN"))?;
    let header = &header[..(len as usize).min(header.len())];
    // The network header as received: IPv4 keeps its TTL in octet 8, IPv6
    // its hop limit in octet 7.
    Ok(match header.first().map(|first| first >> 4) {
        Some(4) => header.get(8).copied(),
        Some(6) => header.get(7).copied(),
        _ => None,
    })
}

/// Sets (`Some` non-empty) or removes (`None` / empty) the `TCP_MD5SIG` key
/// for `peer` on `socket`.
///
/// On a connecting socket this must happen before `connect`; on a listener it
/// applies to connections accepted from `peer`. An IPv4 peer on an `AF_INET6`
/// socket is keyed by its v4-mapped address, which the kernel matches against
/// IPv4 traffic. Removing a key that is not installed succeeds. Keys longer
/// than [`MD5_MAX_KEY_LEN`] bytes are rejected with `InvalidInput`.
pub fn set_md5_password(socket: &Socket, peer: IpAddr, password: Option<&str>) -> io::Result<()> {
    let key = password.unwrap_or_default().as_bytes();
    if key.len() > MD5_MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "TCP MD5 key for {peer} is {} bytes, at most {MD5_MAX_KEY_LEN} allowed",
                key.len()
            ),
        ));
    }
    let domain = socket.domain().map_err(|e| context(e, "SO_DOMAIN"))?;
    let addr = match (domain, peer.to_canonical()) {
        (Domain::IPV6, IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
        (Domain::IPV4, ip @ IpAddr::V4(_)) | (Domain::IPV6, ip @ IpAddr::V6(_)) => ip,
        (domain, ip) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot key peer {ip} on a {domain:?} socket"),
            ))
        }
    };
    let mut sig = TcpMd5Sig {
        addr: sockaddr_storage(addr),
        flags: 0,
        prefixlen: 0,
        keylen: key.len() as u16,
        ifindex: 0,
        key: [0; MD5_MAX_KEY_LEN],
    };
    sig.key[..key.len()].copy_from_slice(key);
    match setsockopt_tcp_md5sig(socket, &sig) {
        // Deleting a key the kernel does not have: already in the desired state.
        Err(e) if key.is_empty() && e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        result => result.map_err(|e| context(e, format_args!("TCP_MD5SIG for {peer}"))),
    }
}

/// Enables GTSM (RFC 5082) towards `peer`: outgoing TTL / hop limit 255 and
/// a minimum accepted TTL / hop limit of 255 (`IP_TTL` + `IP_MINTTL` for IPv4
/// peers, `IPV6_UNICAST_HOPS` + `IPV6_MINHOPCOUNT` for IPv6 peers).
pub fn set_ttl_security(socket: &Socket, peer: IpAddr) -> io::Result<()> {
    set_ttl_security_hops(socket, peer, 1)
}

/// GTSM for a peer up to `hops` away: send 255, accept 256 − `hops` and up
/// (RFC 5082 §3: the TTL drops by one per router on the way).
pub fn set_ttl_security_hops(socket: &Socket, peer: IpAddr, hops: u8) -> io::Result<()> {
    set_ttl(socket, peer, GTSM_TTL)?;
    let ipv6 = peer.to_canonical().is_ipv6();
    let minimum = GTSM_TTL as libc::c_int + 1 - libc::c_int::from(hops.max(1));
    setsockopt_min_ttl(socket, ipv6, minimum)
        .map_err(|e| context(e, format_args!("minimum TTL for {peer}")))
}

/// Sets the outgoing TTL (IPv4 peer) or unicast hop limit (IPv6 peer), 1..=255.
pub fn set_ttl(socket: &Socket, peer: IpAddr, ttl: u32) -> io::Result<()> {
    if !(1..=255).contains(&ttl) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TTL {ttl} for {peer} is outside 1..=255"),
        ));
    }
    match peer.to_canonical() {
        IpAddr::V4(_) => socket.set_ttl_v4(ttl),
        IpAddr::V6(_) => socket.set_unicast_hops_v6(ttl),
    }
    .map_err(|e| context(e, format_args!("TTL {ttl} for {peer}")))
}

/// Reads back the minimum accepted TTL / hop limit towards `peer`
/// (`IP_MINTTL` / `IPV6_MINHOPCOUNT`); 0 means no minimum.
pub fn min_ttl(socket: &Socket, peer: IpAddr) -> io::Result<u32> {
    let ipv6 = peer.to_canonical().is_ipv6();
    let value = getsockopt_min_ttl(socket, ipv6)
        .map_err(|e| context(e, format_args!("minimum TTL for {peer}")))?;
    u32::try_from(value).map_err(|_| io::Error::other(format!("negative minimum TTL {value}")))
}

fn apply_ttl(socket: &Socket, peer: IpAddr, options: &SocketOptions) -> io::Result<()> {
    match (options.ttl_security, options.ttl) {
        (true, _) => set_ttl_security_hops(socket, peer, options.ttl_security_hops),
        (false, Some(ttl)) => set_ttl(socket, peer, ttl),
        // The system's default: an accepted connection would otherwise keep
        // the listener's 255.
        (false, None) => {
            let (level, name) = match peer.to_canonical() {
                IpAddr::V4(_) => (libc::IPPROTO_IP, libc::IP_TTL),
                IpAddr::V6(_) => (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS),
            };
            setsockopt_int(socket, level, name, -1)
                .map_err(|e| context(e, format_args!("default TTL for {peer}")))
        }
    }
}

fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

fn context(err: io::Error, what: impl fmt::Display) -> io::Error {
    io::Error::new(err.kind(), format!("{what}: {err}"))
}

/// `struct __kernel_sockaddr_storage`: 128 bytes, aligned like a pointer.
#[repr(C, align(8))]
struct SockaddrStorage([u8; 128]);

/// `struct tcp_md5sig` from `linux/tcp.h` (libc does not define it).
#[repr(C)]
struct TcpMd5Sig {
    addr: SockaddrStorage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; MD5_MAX_KEY_LEN],
}

const _: () = assert!(size_of::<SockaddrStorage>() == size_of::<libc::sockaddr_storage>());
const _: () = assert!(align_of::<SockaddrStorage>() == align_of::<libc::sockaddr_storage>());
const _: () = assert!(size_of::<TcpMd5Sig>() == 216); // sizeof(struct tcp_md5sig) on Linux

/// Encodes `ip` (port 0) as a `sockaddr_in` / `sockaddr_in6` in safe code,
/// using libc's field offsets; every byte is initialised.
fn sockaddr_storage(ip: IpAddr) -> SockaddrStorage {
    let mut bytes = [0u8; 128];
    let (family, offset, octets): (_, _, &[u8]) = match ip {
        IpAddr::V4(v4) => (
            libc::AF_INET,
            offset_of!(libc::sockaddr_in, sin_addr),
            &v4.octets(),
        ),
        IpAddr::V6(v6) => (
            libc::AF_INET6,
            offset_of!(libc::sockaddr_in6, sin6_addr),
            &v6.octets(),
        ),
    };
    // sin_family and sin6_family are both the first field, a native-endian sa_family_t.
    bytes[..size_of::<libc::sa_family_t>()]
        .copy_from_slice(&(family as libc::sa_family_t).to_ne_bytes());
    bytes[offset..offset + octets.len()].copy_from_slice(octets);
    SockaddrStorage(bytes)
}

fn setsockopt_tcp_md5sig(socket: &Socket, sig: &TcpMd5Sig) -> io::Result<()> {
    // SAFETY: the fd is open for as long as `socket` is borrowed. `sig` is a
    // live, fully initialised `#[repr(C)]` value with the layout of the
    // kernel's `struct tcp_md5sig` (size checked at compile time), and optlen
    // is exactly its size; the kernel only copies from it during the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_MD5SIG,
            (sig as *const TcpMd5Sig).cast(),
            size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    check(rc)
}

/// `(level, name)` of the minimum TTL option: `IP_MINTTL` (`linux/in.h`) or
/// `IPV6_MINHOPCOUNT` (`linux/in6.h`; both provided by libc).
fn min_ttl_option(ipv6: bool) -> (libc::c_int, libc::c_int) {
    if ipv6 {
        (libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT)
    } else {
        (libc::IPPROTO_IP, libc::IP_MINTTL)
    }
}

fn setsockopt_min_ttl(socket: &Socket, ipv6: bool, value: libc::c_int) -> io::Result<()> {
    let (level, name) = min_ttl_option(ipv6);
    setsockopt_int(socket, level, name, value)
}

fn getsockopt_min_ttl(socket: &Socket, ipv6: bool) -> io::Result<libc::c_int> {
    let (level, name) = min_ttl_option(ipv6);
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the fd is open for as long as `socket` is borrowed; `value` and
    // `len` are live, exclusively borrowed locals, and `len` tells the kernel
    // it may write at most size_of::<c_int>() bytes into `value`.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    check(rc).map(|()| value)
}

fn setsockopt_int(
    socket: &Socket,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the fd is open for as long as `socket` is borrowed; `value` is
    // an initialised c_int on our stack, optlen is its size, and the kernel
    // only copies from it during the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    check(rc)
}

/// Turns a `setsockopt`/`getsockopt` return code into a result (errno on -1).
fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
