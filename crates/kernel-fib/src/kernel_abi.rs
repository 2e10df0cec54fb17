//! The numbers of `linux/netlink.h`, `linux/rtnetlink.h`, `linux/nexthop.h`
//! and `linux/socket.h` that the request encoder ([`crate::encode`]), the
//! dump reader ([`crate::decode`]) and the write socket share, under the
//! kernel's names.

/// Message types: an answer (error or acknowledgement), a dump's end, and
/// the route messages.
pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;
pub(crate) const RTM_NEWROUTE: u16 = 24;
pub(crate) const RTM_DELROUTE: u16 = 25;
pub(crate) const RTM_GETROUTE: u16 = 26;
pub(crate) const RTM_NEWNEXTHOP: u16 = 104;
pub(crate) const RTM_GETNEXTHOP: u16 = 106;

/// NLM_F_MULTI: a message of a multipart answer (a dump's).
pub(crate) const NLM_F_MULTI: u16 = 0x0002;

/// NLM_F_REQUEST alone: a lookup (`ip route get`).
pub(crate) const REQUEST_FLAGS: u16 = 0x0001;

/// NLM_F_REQUEST | NLM_F_DUMP (NLM_F_ROOT | NLM_F_MATCH).
pub(crate) const DUMP_FLAGS: u16 = 0x0301;

/// Route attribute types.
pub(crate) const RTA_DST: u16 = 1;
pub(crate) const RTA_OIF: u16 = 4;
pub(crate) const RTA_GATEWAY: u16 = 5;
pub(crate) const RTA_PRIORITY: u16 = 6;
pub(crate) const RTA_MULTIPATH: u16 = 9;
pub(crate) const RTA_TABLE: u16 = 15;
pub(crate) const RTA_VIA: u16 = 18;
/// The next-hop object a route goes through (Linux 5.3).
pub(crate) const RTA_NH_ID: u16 = 30;

/// Next-hop object attribute types (`linux/nexthop.h`).
pub(crate) const NHA_ID: u16 = 1;
pub(crate) const NHA_GROUP: u16 = 2;
pub(crate) const NHA_BLACKHOLE: u16 = 4;
pub(crate) const NHA_OIF: u16 = 5;
pub(crate) const NHA_GATEWAY: u16 = 6;

/// `rtm_scope`: universe for what is installed, "nowhere" (match any) for
/// a removal.
pub(crate) const RT_SCOPE_UNIVERSE: u8 = 0;
pub(crate) const RT_SCOPE_NOWHERE: u8 = 255;

/// `rtm_type`s.
pub(crate) const RTN_UNSPEC: u8 = 0;
pub(crate) const RTN_UNICAST: u8 = 1;
pub(crate) const RTN_BLACKHOLE: u8 = 6;
pub(crate) const RTN_UNREACHABLE: u8 = 7;

/// RTNH_F_ONLINK, in `rtm_flags` for a single gateway and in each
/// `rtnexthop`'s flags for a multipath route.
pub(crate) const RTNH_F_ONLINK: u8 = 4;

/// `AF_INET` and `AF_INET6` as `rtm_family` carries them (and `RTA_VIA`, in
/// two octets).
pub(crate) const AF_INET: u8 = 2;
pub(crate) const AF_INET6: u8 = 10;

/// The netlink header, and the `rtmsg` that starts a route message.
pub(crate) const NETLINK_HEADER: usize = 16;
pub(crate) const ROUTE_HEADER: usize = 12;
/// The `nhmsg` that starts a next-hop object message: family, scope,
/// protocol, a reserved octet and 4 octets of flags.
pub(crate) const NEXT_HOP_OBJECT_HEADER: usize = 8;
