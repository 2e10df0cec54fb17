//! The socket our routes are listed on: a netlink route socket of its own
//! for `RTM_GETROUTE` dumps, read a datagram at a time ([`crate::decode`]);
//! next-hop objects are listed and gateways looked up on it too.
//!
//! A dump's answer is a run of datagrams (up to 32 KiB each), every message
//! marked NLM_F_MULTI, ended by NLMSG_DONE or by an NLMSG_ERROR (ENOENT for
//! a table that does not exist yet). The next datagram is read only when
//! the caller asks for more, so a million routes cost one datagram's worth
//! of memory here, whatever the caller does with them meanwhile.

use std::io;
use std::net::IpAddr;

use rtnetlink::sys::{
    protocols::NETLINK_ROUTE, AsyncSocket, AsyncSocketExt, SocketAddr, TokioSocket,
};

use crate::decode;
use crate::encode;
use crate::kernel_abi::{NLMSG_DONE, NLMSG_ERROR, NLM_F_MULTI, RTM_NEWNEXTHOP, RTM_NEWROUTE};
use crate::message::KernelRoute;
use crate::{FibConfig, FibError};

/// A next-hop object as a dump lists it: id, protocol, what it holds.
pub(super) type ListedObject = (u32, u8, Option<crate::encode::NextHopObject>);

/// The receive buffer: larger than any dump datagram (the kernel sizes
/// them by the reader's buffer, at most 32 KiB).
const DATAGRAM: usize = 64 * 1024;

/// How a dump ended badly.
#[derive(Debug)]
pub(super) enum DumpError {
    /// The kernel answered with this errno.
    Kernel(i32),
    /// The socket failed.
    Socket(io::Error),
}

impl From<DumpError> for FibError {
    fn from(error: DumpError) -> FibError {
        match error {
            DumpError::Kernel(errno) => {
                let mut message = rtnetlink::packet_core::ErrorMessage::default();
                message.code = std::num::NonZeroI32::new(-errno);
                FibError::from_netlink(rtnetlink::Error::NetlinkError(message), None)
            }
            DumpError::Socket(error) => FibError::Connect(error),
        }
    }
}

/// The dump socket.
pub(super) struct RouteReader {
    socket: TokioSocket,
    sequence: u32,
    datagram: Vec<u8>,
    /// The sequence number of a dump not read to its end (its caller gave
    /// up or failed half-way). The kernel runs one dump a socket at a time
    /// and answers another request with EBUSY until it is read out.
    unfinished: Option<u32>,
}

impl std::fmt::Debug for RouteReader {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RouteReader")
            .field("sequence", &self.sequence)
            .finish_non_exhaustive()
    }
}

/// A dump under way: its sequence number and whether it has ended.
#[derive(Debug)]
pub(super) struct Dump {
    sequence: u32,
    ended: bool,
}

impl RouteReader {
    /// A route socket in the calling thread's network namespace, registered
    /// with the current tokio runtime. With `NETLINK_GET_STRICT_CHK` where
    /// the kernel has it (4.20 on), so the kernel lists only our table and
    /// protocol; the caller filters anyway.
    pub(super) fn open() -> io::Result<RouteReader> {
        let mut socket = TokioSocket::new(NETLINK_ROUTE)?;
        socket.socket_mut().bind_auto()?;
        socket.socket_ref().connect(&SocketAddr::new(0, 0))?;
        let _ = socket.socket_ref().set_netlink_get_strict_chk(true);
        Ok(RouteReader {
            socket,
            sequence: 1,
            datagram: Vec::with_capacity(DATAGRAM),
            unfinished: None,
        })
    }

    /// Reads out a dump given up half-way, so that the kernel takes the
    /// next request.
    async fn finish_abandoned(&mut self) -> io::Result<()> {
        if let Some(sequence) = self.unfinished {
            let mut abandoned = Dump {
                sequence,
                ended: false,
            };
            let mut discarded = Vec::new();
            loop {
                discarded.clear();
                match self.next(&mut abandoned, &mut discarded).await {
                    Ok(true) => {}
                    Ok(false) | Err(DumpError::Kernel(_)) => break,
                    Err(DumpError::Socket(error)) => return Err(error),
                }
            }
        }
        Ok(())
    }

    /// Every next-hop object of the namespace, as
    /// [`decode::next_hop_object`] reads them.
    pub(super) async fn next_hop_objects(&mut self) -> Result<Vec<ListedObject>, DumpError> {
        self.finish_abandoned().await.map_err(DumpError::Socket)?;
        let sequence = self.take_sequence();
        let mut request = Vec::with_capacity(32);
        encode::append_next_hop_dump_request(&mut request, sequence);
        let mut objects = Vec::new();
        self.ask(&request, sequence, |message| {
            if message.kind == RTM_NEWNEXTHOP {
                objects.extend(decode::next_hop_object(message.payload));
            }
        })
        .await?;
        Ok(objects)
    }

    /// The interface the kernel would send to `gateway` through (`ip route
    /// get`); `None` when it has no route to it, or one without an interface.
    pub(super) async fn interface_towards(
        &mut self,
        gateway: IpAddr,
    ) -> Result<Option<u32>, DumpError> {
        self.finish_abandoned().await.map_err(DumpError::Socket)?;
        let sequence = self.take_sequence();
        let mut request = Vec::with_capacity(48);
        encode::append_route_lookup(&mut request, gateway, sequence);
        let mut interface = None;
        let answer = self
            .ask(&request, sequence, |message| {
                if message.kind == RTM_NEWROUTE {
                    interface = decode::route_interface(message.payload);
                }
            })
            .await;
        match answer {
            Ok(()) => Ok(interface),
            // No route to it (ENETUNREACH, EHOSTUNREACH...).
            Err(DumpError::Kernel(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn take_sequence(&mut self) -> u32 {
        let sequence = self.sequence;
        self.sequence = self.sequence.wrapping_add(1);
        sequence
    }

    /// Sends `request` (of `sequence`) and hands every message of its answer
    /// to `take`, until it ends: NLMSG_DONE or NLMSG_ERROR for a dump, the
    /// one answer of a plain request.
    async fn ask(
        &mut self,
        request: &[u8],
        sequence: u32,
        mut take: impl FnMut(&decode::Message<'_>),
    ) -> Result<(), DumpError> {
        self.socket.send(request).await.map_err(DumpError::Socket)?;
        loop {
            self.receive().await?;
            for message in decode::messages(&self.datagram) {
                if message.sequence != sequence {
                    continue;
                }
                match message.kind {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => return answer_of(&message),
                    _ => {
                        take(&message);
                        // A plain request's answer is one message.
                        if message.flags & NLM_F_MULTI == 0 {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    /// Reads the next datagram into the buffer.
    async fn receive(&mut self) -> Result<(), DumpError> {
        self.datagram.clear();
        self.socket
            .recv(&mut self.datagram)
            .await
            .map_err(DumpError::Socket)?;
        // A full buffer may have been a longer datagram, cut.
        if self.datagram.len() >= DATAGRAM {
            return Err(DumpError::Socket(io::Error::other(
                "a netlink dump datagram larger than the buffer",
            )));
        }
        Ok(())
    }

    /// Asks for the routes of our table and protocol in `family` (`AF_INET`
    /// or `AF_INET6`).
    pub(super) async fn start(&mut self, config: &FibConfig, family: u8) -> io::Result<Dump> {
        self.finish_abandoned().await?;
        let sequence = self.sequence;
        self.sequence = self.sequence.wrapping_add(1);
        let mut request = Vec::with_capacity(64);
        encode::append_dump_request(&mut request, config, family, sequence);
        self.socket.send(&request).await?;
        self.unfinished = Some(sequence);
        Ok(Dump {
            sequence,
            ended: false,
        })
    }

    /// Reads the dump's next datagram and appends its routes to `routes`;
    /// `Ok(false)` once the dump has ended (nothing appended then).
    pub(super) async fn next(
        &mut self,
        dump: &mut Dump,
        routes: &mut Vec<KernelRoute>,
    ) -> Result<bool, DumpError> {
        if dump.ended {
            return Ok(false);
        }
        loop {
            self.receive().await?;
            let mut ours = false;
            for message in decode::messages(&self.datagram) {
                if message.sequence != dump.sequence {
                    continue; // an answer to an abandoned dump
                }
                ours = true;
                match message.kind {
                    RTM_NEWROUTE => routes.extend(decode::route(message.payload)),
                    NLMSG_DONE => {
                        dump.ended = true;
                        self.unfinished = None;
                        return Ok(true);
                    }
                    NLMSG_ERROR => {
                        dump.ended = true;
                        self.unfinished = None;
                        return answer_of(&message).map(|()| true);
                    }
                    _ => {}
                }
            }
            if ours {
                return Ok(true);
            }
        }
    }
}

/// What an NLMSG_ERROR ending an answer says: an acknowledgement (code 0)
/// or the kernel's errno.
fn answer_of(message: &decode::Message<'_>) -> Result<(), DumpError> {
    match message.error_code() {
        Some(0) => Ok(()),
        Some(code) => Err(DumpError::Kernel(-code)),
        None => Err(DumpError::Socket(io::Error::other(
            "a netlink error message without its code",
        ))),
    }
}
