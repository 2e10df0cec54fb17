//! What goes into the session and what comes out of it.

use std::sync::Arc;

use bgp_wire::{
    AttributeError, DecodeError, Frames, Message, Notification, Received, RouteRefresh, Update,
};

use crate::negotiate::Negotiated;

/// Names a TCP connection; the driver chooses the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// Who opened a connection; decides collisions (RFC 4271 §6.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// We connected to the peer.
    Outgoing,
    /// The peer connected to us.
    Incoming,
}

/// Events from the driver, with the RFC 4271 §8.1 events they stand for.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Events 1 and 5: ManualStart (with passive TCP establishment when configured).
    Start,
    /// Event 2: ManualStop, with an RFC 9003 shutdown communication.
    Stop {
        /// The text for the peer's operators.
        communication: Option<String>,
    },
    /// ManualStop because the peer was removed from the configuration: the
    /// Cease subcode is Peer De-configured (RFC 4486 §4), and the session does
    /// not restart.
    Deconfigure,
    /// The peer sent more prefixes than allowed: NOTIFICATION Cease / Maximum
    /// Number of Prefixes Reached, with the family and the limit as its data
    /// (RFC 4486 §4); the session starts again after `restart_after`, or
    /// stays down until started when it is `None`.
    MaximumPrefixes {
        /// The family over its limit.
        family: bgp_wire::Family,
        /// The limit.
        limit: u32,
        /// When to try again.
        restart_after: Option<std::time::Duration>,
    },
    /// Events 16 and 17: Tcp_CR_Acked / TcpConnectionConfirmed.
    Connected {
        /// The new connection.
        connection: ConnectionId,
        /// Who opened it.
        direction: Direction,
    },
    /// Event 18 for the outgoing attempt: the connection could not be made.
    ConnectFailed,
    /// Event 18 for an open connection: the peer closed it or it broke.
    Closed {
        /// The connection.
        connection: ConnectionId,
    },
    /// Events 19-27: a message arrived.
    Received {
        /// The connection it came on.
        connection: ConnectionId,
        /// The decoded message.
        received: Received,
    },
    /// Events 21, 22 and 28: a message that did not decode.
    Malformed {
        /// The connection it came on.
        connection: ConnectionId,
        /// What was wrong.
        error: DecodeError,
    },
    /// Everything sent so far on the connection has left the socket buffer;
    /// stops the RFC 9687 send hold timer.
    Flushed {
        /// The connection.
        connection: ConnectionId,
    },
    /// Some of what was queued on the connection was written, not all:
    /// the peer reads, if slowly, so the RFC 9687 send hold timer starts
    /// over (RFC 9687 §4 counts time without progress).
    Progress {
        /// The connection.
        connection: ConnectionId,
    },
    /// The driver cannot hold more output for the connection (the peer reads
    /// too slowly for what it is sent): NOTIFICATION Cease / Out of Resources
    /// (RFC 4486 §4), so that a slow peer costs bounded memory even before
    /// its send hold timer expires (RFC 9687).
    OutOfResources {
        /// The connection.
        connection: ConnectionId,
    },
}

/// The states of RFC 4271 §8.2.2, without their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateKind {
    /// Idle.
    Idle,
    /// Connect.
    Connect,
    /// Active.
    Active,
    /// OpenSent.
    OpenSent,
    /// OpenConfirm.
    OpenConfirm,
    /// Established.
    Established,
}

impl StateKind {
    /// The state's name as RFC 4271 writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            StateKind::Idle => "Idle",
            StateKind::Connect => "Connect",
            StateKind::Active => "Active",
            StateKind::OpenSent => "OpenSent",
            StateKind::OpenConfirm => "OpenConfirm",
            StateKind::Established => "Established",
        }
    }
}

/// Why a session went down or an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// We sent this NOTIFICATION.
    NotificationSent(Notification),
    /// The peer sent this NOTIFICATION.
    NotificationReceived(Notification),
    /// The connection closed without a NOTIFICATION.
    ConnectionClosed,
    /// Stopped by the operator.
    Stopped,
}

impl std::fmt::Display for DownReason {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DownReason::NotificationSent(notification) => write!(formatter, "sent {notification}"),
            DownReason::NotificationReceived(notification) => {
                write!(formatter, "received {notification}")
            }
            DownReason::ConnectionClosed => formatter.write_str("connection closed"),
            DownReason::Stopped => formatter.write_str("administratively stopped"),
        }
    }
}

/// What the driver must do, or may want to know.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Open a TCP connection to the peer, abandoning any attempt under way.
    Connect,
    /// Send a message on a connection.
    Send {
        /// The connection.
        connection: ConnectionId,
        /// The message.
        message: Message,
    },
    /// Send messages encoded already (UPDATEs encoded once for several
    /// sessions, [`bgp_wire::UpdateBatch`]) on a connection.
    SendFrames {
        /// The connection.
        connection: ConnectionId,
        /// The messages.
        frames: Frames,
    },
    /// Close a connection once what was sent on it has been written.
    Close {
        /// The connection.
        connection: ConnectionId,
    },
    /// The state changed.
    StateChanged {
        /// The old state.
        from: StateKind,
        /// The new state.
        to: StateKind,
    },
    /// The session reached Established.
    Established(Arc<Negotiated>),
    /// An UPDATE to process; `errors` carry RFC 7606 treatments below a reset.
    Update {
        /// The message.
        update: Update,
        /// Its errors.
        errors: Vec<AttributeError>,
    },
    /// The peer asked for a refresh, or marks one's start or end (RFC 7313).
    RouteRefresh(RouteRefresh),
    /// The session left Established, or an attempt failed.
    Down(DownReason),
}
