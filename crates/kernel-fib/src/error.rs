//! What can go wrong between nodebgp and the kernel's routing table.

use std::fmt;

use ipnet::IpNet;

/// Linux errno values the kernel answers route requests with (asm-generic/errno*.h).
pub(crate) mod errno {
    /// Operation not permitted: the socket lacks CAP_NET_ADMIN in its network namespace.
    pub(crate) const EPERM: i32 = 1;
    /// No such file or directory: a dump of a routing table that does not exist yet.
    pub(crate) const ENOENT: i32 = 2;
    /// No such process: the route to delete is not there.
    pub(crate) const ESRCH: i32 = 3;
    /// No such device: a lookup of an interface that does not exist, or a
    /// route naming an interface index that went away.
    pub(crate) const ENODEV: i32 = 19;
    /// Permission denied.
    pub(crate) const EACCES: i32 = 13;
    /// File exists: NLM_F_EXCL found a route with the same prefix and metric.
    pub(crate) const EEXIST: i32 = 17;
    /// Invalid argument: among others, a route naming a next-hop object
    /// that is gone (the kernel removes one with its interface).
    pub(crate) const EINVAL: i32 = 22;
    /// Protocol not supported: a kernel built without next-hop objects.
    pub(crate) const EPROTONOSUPPORT: i32 = 93;
    /// Operation not supported: the answer to the permission probe when
    /// writes are allowed, and to next-hop object requests on a kernel
    /// older than 5.3.
    pub(crate) const EOPNOTSUPP: i32 = 95;
    /// Address family not supported: an object of a family without them.
    pub(crate) const EAFNOSUPPORT: i32 = 97;
    /// Network is down: an on-link next hop through an interface that is not up.
    pub(crate) const ENETDOWN: i32 = 100;
    /// Network unreachable: an IPv4 gateway on no connected network.
    pub(crate) const ENETUNREACH: i32 = 101;
    /// No route to host: an IPv6 gateway on no connected network.
    pub(crate) const EHOSTUNREACH: i32 = 113;
}

/// An error from [`Fib`](crate::Fib).
///
/// The kernel's answers that callers act on have variants of their own
/// ([`PermissionDenied`](FibError::PermissionDenied),
/// [`NextHopUnreachable`](FibError::NextHopUnreachable),
/// [`ForeignRoute`](FibError::ForeignRoute),
/// [`DeviceNotFound`](FibError::DeviceNotFound),
/// [`DeviceDown`](FibError::DeviceDown)); everything else is
/// [`Netlink`](FibError::Netlink), which keeps the errno.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FibError {
    /// The [`FibConfig`](crate::FibConfig) names a table or protocol nodebgp must not use.
    #[error("invalid kernel FIB configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
    },
    /// The netlink socket could not be opened.
    #[error("cannot open a netlink route socket: {0}")]
    Connect(#[source] std::io::Error),
    /// The kernel refused a change to the routing table: the process lacks
    /// CAP_NET_ADMIN in the network namespace of its netlink socket.
    #[error(
        "permission denied: changing kernel routes needs CAP_NET_ADMIN in this network namespace"
    )]
    PermissionDenied,
    /// A next hop is not on any connected network, so the kernel cannot
    /// resolve the outgoing interface (ENETUNREACH for IPv4, EHOSTUNREACH for IPv6).
    #[error("next hop of {prefix} is unreachable: no connected network holds the gateway")]
    NextHopUnreachable {
        /// The route whose next hop the kernel rejected.
        prefix: IpNet,
    },
    /// A route of another protocol already holds this prefix at the same
    /// metric in our table; nodebgp leaves it alone rather than replace it.
    #[error(
        "{prefix} in table {table} belongs to another protocol at the same metric; left alone"
    )]
    ForeignRoute {
        /// The contested prefix.
        prefix: IpNet,
        /// The routing table.
        table: u32,
    },
    /// A route's [`device`](crate::FibRoute::device) names no interface in
    /// the network namespace of the [`Fib`](crate::Fib)'s socket (or the
    /// interface went away while the route was being installed).
    #[error("device {device} of route {prefix} does not exist in the FIB's network namespace")]
    DeviceNotFound {
        /// The interface name the route gave.
        device: String,
        /// The route.
        prefix: IpNet,
    },
    /// A route's [`device`](crate::FibRoute::device) exists but is not up,
    /// and the kernel takes no on-link next hop through an interface that
    /// is down (ENETDOWN); bringing it up is someone else's job (calico-node's
    /// for `tunl0`).
    #[error("device {device} of route {prefix} is down")]
    DeviceDown {
        /// The interface name the route gave.
        device: String,
        /// The route.
        prefix: IpNet,
    },
    /// The route cannot be expressed: a next hop of the other address family
    /// than the prefix, a unicast route to install without next hops, or a
    /// blackhole or unreachable route with next hops or a device.
    #[error("invalid route {prefix}: {reason}")]
    InvalidRoute {
        /// The route.
        prefix: IpNet,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// Any other failure of a netlink request (the kernel's errno is in
    /// [`NetlinkError::errno`]), or the connection task having stopped.
    #[error("netlink: {0}")]
    Netlink(#[source] NetlinkError),
}

impl FibError {
    /// Maps an rtnetlink error to the variant a caller can act on.
    pub(crate) fn from_netlink(error: rtnetlink::Error, prefix: Option<IpNet>) -> Self {
        let error = NetlinkError(error);
        match (error.errno(), prefix) {
            (Some(errno::EPERM | errno::EACCES), _) => Self::PermissionDenied,
            (Some(errno::ENETUNREACH | errno::EHOSTUNREACH), Some(prefix)) => {
                Self::NextHopUnreachable { prefix }
            }
            _ => Self::Netlink(error),
        }
    }

    /// Maps the kernel's refusal of `route` to the variant a caller can act
    /// on; unlike [`FibError::from_netlink`], it knows the route's device.
    pub(crate) fn from_route_netlink(error: rtnetlink::Error, route: &crate::FibRoute) -> Self {
        let prefix = route.prefix;
        match (errno_of(&error), &route.device) {
            (Some(errno::ENODEV), Some(device)) => Self::DeviceNotFound {
                device: device.clone(),
                prefix,
            },
            (Some(errno::ENETDOWN), Some(device)) => Self::DeviceDown {
                device: device.clone(),
                prefix,
            },
            _ => Self::from_netlink(error, Some(prefix)),
        }
    }

    /// Whether the error ends a batch: every later request would fail the same way.
    pub(crate) fn is_fatal(&self) -> bool {
        match self {
            Self::Connect(_) | Self::PermissionDenied => true,
            Self::Netlink(error) => error.errno().is_none(),
            _ => false,
        }
    }
}

/// A failed netlink request, as rtnetlink reported it.
#[derive(Debug, Clone)]
pub struct NetlinkError(rtnetlink::Error);

impl NetlinkError {
    /// The kernel's errno (positive, e.g. 17 for EEXIST), when the kernel answered with one;
    /// `None` when the request never got an answer (the connection is gone) or the
    /// answer could not be read.
    #[must_use]
    pub fn errno(&self) -> Option<i32> {
        errno_of(&self.0)
    }
}

impl fmt::Display for NetlinkError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errno() {
            Some(errno) => write!(
                formatter,
                "{} (errno {errno})",
                std::io::Error::from_raw_os_error(errno)
            ),
            None => write!(formatter, "{}", self.0),
        }
    }
}

impl std::error::Error for NetlinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// The errno of an rtnetlink error, when the kernel sent one.
pub(crate) fn errno_of(error: &rtnetlink::Error) -> Option<i32> {
    match error {
        rtnetlink::Error::NetlinkError(message) => message.code.map(|code| code.get().abs()),
        _ => None,
    }
}
