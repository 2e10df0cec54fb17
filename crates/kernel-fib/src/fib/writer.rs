//! The socket routes are written on: a netlink route socket of its own,
//! beside the one that lists ([`super::reader`]) and the rtnetlink
//! connection, on which a batch of requests goes out in one datagram.
//!
//! The kernel takes the messages of a datagram one after the other, in
//! order, within the `sendmsg` call itself (`netlink_rcv_skb`), and answers
//! a message with NLMSG_ERROR when it fails or when it asked for an
//! acknowledgement (NLM_F_ACK). Only a batch's last message asks: its
//! acknowledgement comes after the answer to every message before it, so
//! once it is read, each message without an error answer succeeded. A
//! million routes then cost the kernel's work on each, one system call per
//! batch, and no acknowledgement per route to allocate, queue and read.

use std::io;
use std::num::NonZeroI32;

use rtnetlink::packet_core::{
    ErrorMessage, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST,
};
use rtnetlink::sys::{
    protocols::NETLINK_ROUTE, AsyncSocket, AsyncSocketExt, SocketAddr, TokioSocket,
};

use crate::decode;
use crate::encode::{self, Request};
use crate::kernel_abi::NLMSG_ERROR;
use crate::FibConfig;

/// Requests in one datagram. Each failure is answered with a socket buffer
/// of its own (about 1 KiB of receive queue): the queue is sized for a
/// whole batch of them, see [`RECEIVE_BUFFER`].
pub(super) const BATCH: usize = 128;

/// The receive queue asked for: room for a batch whose every request fails.
const RECEIVE_BUFFER: usize = 1 << 20;

/// What a request asks of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// Remove our route of the prefix (RTM_DELROUTE).
    Remove,
    /// Replace our route of the prefix in place (NLM_F_REPLACE).
    Replace,
    /// Add, failing if a route holds the prefix at the metric (NLM_F_EXCL).
    Add,
}

impl Action {
    fn flags(self) -> u16 {
        match self {
            Action::Remove => NLM_F_REQUEST,
            Action::Replace => NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE,
            Action::Add => NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL,
        }
    }
}

/// The write socket.
pub(super) struct RouteWriter {
    socket: TokioSocket,
    /// The next batch's first sequence number.
    sequence: u32,
    datagram: Vec<u8>,
    answer: Vec<u8>,
}

impl std::fmt::Debug for RouteWriter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RouteWriter")
            .field("sequence", &self.sequence)
            .finish_non_exhaustive()
    }
}

impl RouteWriter {
    /// A route socket in the calling thread's network namespace, registered
    /// with the current tokio runtime.
    pub(super) fn open() -> io::Result<RouteWriter> {
        let mut socket = TokioSocket::new(NETLINK_ROUTE)?;
        let kernel = SocketAddr::new(0, 0);
        socket.socket_mut().bind_auto()?;
        socket.socket_ref().connect(&kernel)?;
        // Answers carry the request's header only, not the whole request.
        socket.socket_ref().set_cap_ack(true)?;
        // Best effort: without it a failing batch may overrun the queue,
        // which exchange() reports.
        let _ = socket.socket_ref().set_rx_buf_sz(RECEIVE_BUFFER);
        Ok(RouteWriter {
            socket,
            sequence: 1,
            datagram: Vec::with_capacity(BATCH * 128),
            answer: Vec::with_capacity(64 * 1024),
        })
    }

    /// Sends `requests` (at most [`BATCH`]) in one datagram and returns each
    /// one's answer, in order: `None` for success, else the kernel's error.
    /// An error of the socket itself (the answers could not all be read) is
    /// returned as such, for the whole batch.
    pub(super) async fn exchange(
        &mut self,
        config: &FibConfig,
        requests: &[(Action, Request<'_>)],
    ) -> io::Result<Vec<Option<ErrorMessage>>> {
        let count = requests.len();
        if count == 0 {
            return Ok(Vec::new());
        }
        let first = self.sequence;
        self.sequence = self.sequence.wrapping_add(count as u32);
        let last = first.wrapping_add(count as u32 - 1);
        self.datagram.clear();
        for (index, (action, request)) in requests.iter().enumerate() {
            let sequence = first.wrapping_add(index as u32);
            let flags = action.flags() | if sequence == last { NLM_F_ACK } else { 0 };
            encode::append(&mut self.datagram, config, request, flags, sequence);
        }
        let sent = self.socket.send(&self.datagram).await?;
        if sent != self.datagram.len() {
            return Err(io::Error::other(
                "the kernel took part of a netlink datagram",
            ));
        }
        let mut answers = vec![None; count];
        loop {
            self.answer.clear();
            self.socket.recv(&mut self.answer).await?;
            for (sequence, error) in answers_in(&self.answer) {
                let index = sequence.wrapping_sub(first) as usize;
                if index < count {
                    if let Some(error) = error {
                        answers[index] = Some(error);
                    }
                    if sequence == last {
                        return Ok(answers);
                    }
                }
            }
        }
    }
}

/// The answers in `datagram`, in order: each one's sequence number and its
/// error (`None` for an acknowledgement, NLMSG_ERROR with code 0). Other
/// messages, and answers too short for a code, are skipped; the reading
/// stops at a message that does not add up.
fn answers_in(datagram: &[u8]) -> impl Iterator<Item = (u32, Option<ErrorMessage>)> + '_ {
    decode::messages(datagram)
        .filter(|message| message.kind == NLMSG_ERROR)
        .filter_map(|message| {
            let code = message.error_code()?;
            let error = NonZeroI32::new(code).map(|code| {
                let mut error = ErrorMessage::default();
                error.code = Some(code);
                error
            });
            Some((message.sequence, error))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(sequence: u32, code: i32) -> Vec<u8> {
        let mut message = Vec::new();
        message.extend_from_slice(&36_u32.to_ne_bytes());
        message.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        message.extend_from_slice(&0x100_u16.to_ne_bytes());
        message.extend_from_slice(&sequence.to_ne_bytes());
        message.extend_from_slice(&0_u32.to_ne_bytes());
        message.extend_from_slice(&code.to_ne_bytes());
        message.extend_from_slice(&[0; 16]);
        message
    }

    #[test]
    fn answers_are_read_in_order_and_other_messages_skipped() {
        let mut datagram = answer(7, -17);
        // A route notice (RTM_NEWROUTE, 24) in between is not an answer.
        let mut notice = vec![0; 28];
        notice[..4].copy_from_slice(&28_u32.to_ne_bytes());
        notice[4..6].copy_from_slice(&24_u16.to_ne_bytes());
        datagram.extend_from_slice(&notice);
        datagram.extend_from_slice(&answer(8, 0));
        let answers: Vec<(u32, Option<i32>)> = answers_in(&datagram)
            .map(|(sequence, error)| {
                (
                    sequence,
                    error.and_then(|error| error.code).map(|code| code.get()),
                )
            })
            .collect();
        assert_eq!(answers, [(7, Some(-17)), (8, None)]);
        assert_eq!(answers_in(&datagram[..10]).count(), 0, "truncated");
        // An answer too short for its code is skipped.
        let mut short = answer(9, 0);
        short[..4].copy_from_slice(&18_u32.to_ne_bytes());
        short.truncate(20);
        short.extend_from_slice(&answer(10, 0));
        let read: Vec<u32> = answers_in(&short).map(|(sequence, _)| sequence).collect();
        assert_eq!(read, [10]);
    }
}
