//! # bgp-fsm: the BGP session state machine, without I/O
//!
//! One [`Session`] per peer runs RFC 4271 §8: Idle, Connect, Active, OpenSent,
//! OpenConfirm, Established, with the ConnectRetry, Hold, Keepalive and
//! DelayOpen timers, an IdleHold back-off for automatic restarts, connection
//! collision resolution (§6.8) and the send hold timer (RFC 9687).
//!
//! It opens no socket and reads no clock. The driver reports what happened
//! with [`Session::handle`] (TCP events, decoded messages) and
//! [`Session::handle_timeout`], passing the current time each time; it asks
//! [`Session::poll_timeout`] when to call back and carries out what
//! [`Session::poll_output`] returns (connect, send, close) — quinn's pattern.
//!
//! ```text
//!   driver ──Input, now──► Session ──Output──► driver (connect / send / close / report)
//!          ◄──poll_timeout──┘
//! ```
//!
//! State data lives in the state that owns it: what was negotiated exists
//! only in OpenConfirm and Established ([`Session::negotiated`]).

mod config;
mod event;
mod negotiate;
mod session;
mod timer;

pub use config::{Config, IdleHoldPolicy};
pub use event::{ConnectionId, Direction, DownReason, Input, Output, StateKind};
pub use negotiate::Negotiated;
pub use session::Session;
pub use timer::Timer;
