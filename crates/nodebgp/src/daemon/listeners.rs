//! The BGP listening sockets, owned by the manager: opened at start where
//! `--listen` says, and moved to the node's own BGP addresses when the
//! cluster's BGPConfiguration asks for `bindMode: NodeIP` (Calico 3.23,
//! rendered by confd as BIRD's `listen bgp address <node IP>`), and back.
//! Every running peer's TCP MD5 key is set on each socket (RFC 2385), the new
//! ones too.
//!
//! A move closes the old sockets before binding the new ones (a socket
//! listening on `0.0.0.0:179` keeps `10.0.0.1:179` from being bound), so for
//! a moment nothing listens: peers connecting then are refused and retry. When
//! a new address cannot be bound, the old set is bound again and the error
//! is returned.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use bgp_session::{net, spawn_listener, Accepted};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::info;

/// One listening socket and the task accepting on it.
struct Listening {
    address: SocketAddr,
    socket: Arc<TcpListener>,
    task: JoinHandle<()>,
}

/// The listening sockets and where their connections go.
pub(crate) struct Listeners {
    accepted: mpsc::Sender<Accepted>,
    open: Vec<Listening>,
}

impl Listeners {
    /// None open yet; accepted connections will go to `accepted`.
    pub(crate) fn new(accepted: mpsc::Sender<Accepted>) -> Self {
        Listeners {
            accepted,
            open: Vec::new(),
        }
    }

    /// Where it listens now.
    pub(crate) fn addresses(&self) -> Vec<SocketAddr> {
        self.open
            .iter()
            .map(|listening| listening.address)
            .collect()
    }

    /// Listens on exactly `addresses`, with each of `keys` (peer, TCP MD5
    /// password) set on every socket. Nothing changes when they are the
    /// addresses already listened on.
    pub(crate) async fn listen_on(
        &mut self,
        addresses: &[SocketAddr],
        keys: &[(IpAddr, String)],
    ) -> Result<()> {
        if self.addresses() == addresses {
            return Ok(());
        }
        let previous = self.addresses();
        self.close().await;
        match self.open_all(addresses, keys) {
            Ok(()) => Ok(()),
            Err(error) => {
                self.close().await;
                // What worked before binds again; if even that fails, the
                // first error is the one to report.
                let _ = self.open_all(&previous, keys);
                Err(error)
            }
        }
    }

    fn open_all(&mut self, addresses: &[SocketAddr], keys: &[(IpAddr, String)]) -> Result<()> {
        for &address in addresses {
            let socket = Arc::new(
                net::listener(address).with_context(|| format!("cannot listen on {address}"))?,
            );
            for (peer, password) in keys {
                net::apply_to_listener(&socket, *peer, Some(password)).with_context(|| {
                    format!("cannot set the TCP MD5 key of {peer} on {address}")
                })?;
            }
            let task = spawn_listener(socket.clone(), self.accepted.clone());
            self.open.push(Listening {
                address,
                socket,
                task,
            });
            info!(%address, "listening");
        }
        Ok(())
    }

    /// Closes every socket, and waits until each accepting task has
    /// dropped its handle on it, so that its address can be bound again.
    /// The tasks wait on nothing of the manager's but room in the accepted
    /// channel, and being aborted ends that wait.
    async fn close(&mut self) {
        for listening in self.open.drain(..) {
            listening.task.abort();
            let _ = listening.task.await;
        }
    }

    /// Sets (or, with `None`, removes) `peer`'s TCP MD5 key on every socket.
    /// Fails closed: when a key cannot be set on all of them, it is taken
    /// off all of them again.
    pub(crate) fn install_password(
        &self,
        peer: IpAddr,
        password: Option<&str>,
    ) -> std::io::Result<()> {
        for listening in &self.open {
            if let Err(error) = net::apply_to_listener(&listening.socket, peer, password) {
                if password.is_some() {
                    for listening in &self.open {
                        let _ = net::apply_to_listener(&listening.socket, peer, None);
                    }
                }
                return Err(error);
            }
        }
        Ok(())
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        for listening in &self.open {
            listening.task.abort();
        }
    }
}
