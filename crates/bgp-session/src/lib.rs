//! # bgp-session: BGP sessions on tokio
//!
//! A thin driver around the sans-IO [`bgp_fsm::Session`]: one task per peer
//! owns its session and is fed by socket reads, a single timer re-armed from
//! the session's next deadline, and a command channel; one task per TCP
//! connection frames what it reads and writes what it is given. All socket
//! options (source address, TCP MD5, GTSM, TTL) live in [`net`].
//!
//! ```text
//!  listener ──accepted stream──► PeerHandle::incoming ─┐
//!  daemon ──start/end/send─────► PeerHandle ───────────┼─► peer task ◄──► connection tasks ◄──► TCP
//!                                                      │        │
//!                                                      │        └─ Session (bgp-fsm): no I/O, no clock
//! ```

mod connection;
mod frames;
mod listener;
#[allow(unsafe_code)]
pub mod net;
mod peer;

pub use listener::{reject, spawn_listener, Accepted};
pub use peer::{
    spawn_peer, Ending, Outgoing, PeerConfig, PeerEvent, PeerHandle, PeerStatus, RouteLink,
    SessionEvent,
};
