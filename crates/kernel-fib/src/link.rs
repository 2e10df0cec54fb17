//! Interface names and indexes, looked up through the [`Fib`](crate::Fib)'s
//! own netlink socket (`RTM_GETLINK` for one interface, never a dump).
//!
//! Interface indexes and names belong to a network namespace, and a `Fib`
//! may have been opened in another one than the process's
//! ([`Fib::open_in_namespace`](crate::Fib::open_in_namespace)). Asking on
//! the `Fib`'s socket answers for the namespace its routes live in; the
//! process's `if_nametoindex` would answer for the wrong one. Nothing is
//! cached here: a device deleted and made again gets a new index, and the
//! callers keep what they looked up only for one batch or one listing.

use std::pin::{pin, Pin};

use futures_util::{Stream, TryStreamExt};
use rtnetlink::packet_route::link::{LinkAttribute, LinkMessage};

use crate::error::{errno, errno_of};

/// The longest interface name the kernel accepts: IFNAMSIZ (16) less the NUL.
const LONGEST_NAME: usize = 15;

/// The index of the interface named `name`, or `None` if there is none.
pub(crate) async fn index_of(
    handle: &rtnetlink::Handle,
    name: &str,
) -> Result<Option<u32>, rtnetlink::Error> {
    // The kernel answers EINVAL, not ENODEV, for a name that cannot be one;
    // no interface has it either way.
    if name.is_empty() || name.len() > LONGEST_NAME {
        return Ok(None);
    }
    let request = handle.link().get().match_name(name);
    let reply = answer(pin!(request.execute())).await?;
    Ok(reply.map(|link| link.header.index))
}

/// The name of the interface with index `index`, or `None` if there is none
/// (any more).
pub(crate) async fn name_of(
    handle: &rtnetlink::Handle,
    index: u32,
) -> Result<Option<String>, rtnetlink::Error> {
    let request = handle.link().get().match_index(index);
    let reply = answer(pin!(request.execute())).await?;
    Ok(reply.and_then(|link| {
        link.attributes
            .into_iter()
            .find_map(|attribute| match attribute {
                LinkAttribute::IfName(name) => Some(name),
                _ => None,
            })
    }))
}

/// The one link message answering a lookup, `None` when the kernel says
/// there is no such interface (ENODEV).
async fn answer(
    mut replies: Pin<&mut impl Stream<Item = Result<LinkMessage, rtnetlink::Error>>>,
) -> Result<Option<LinkMessage>, rtnetlink::Error> {
    match replies.try_next().await {
        Ok(reply) => Ok(reply),
        Err(error) if errno_of(&error) == Some(errno::ENODEV) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Every interface address of the namespace as the network it connects
/// (`RTM_GETADDR` dump: `IFA_ADDRESS` with its prefix length, which for a
/// point-to-point link is the far end), with the interface's name, sorted.
pub(crate) async fn connected_networks(
    handle: &rtnetlink::Handle,
) -> Result<Vec<(String, ipnet::IpNet)>, rtnetlink::Error> {
    use rtnetlink::packet_route::address::AddressAttribute;
    let addresses: Vec<_> = handle.address().get().execute().try_collect().await?;
    let mut names = std::collections::HashMap::new();
    let mut networks = Vec::with_capacity(addresses.len());
    for message in addresses {
        let Some(address) = message
            .attributes
            .iter()
            .find_map(|attribute| match attribute {
                AddressAttribute::Address(address) => Some(*address),
                _ => None,
            })
        else {
            continue;
        };
        let Ok(network) = ipnet::IpNet::new(address, message.header.prefix_len) else {
            continue;
        };
        let index = message.header.index;
        let name = match names.get(&index) {
            Some(name) => Clone::clone(name),
            None => {
                // Gone since the dump: its addresses went with it.
                let Some(name) = name_of(handle, index).await? else {
                    continue;
                };
                names.insert(index, name.clone());
                name
            }
        };
        networks.push((name, network));
    }
    networks.sort();
    networks.dedup();
    Ok(networks)
}
