//! The flapping peer (`route-load --flap N`): one more eBGP session, from an
//! address of its own, that comes up, announces the first N prefixes of the
//! table (the same prefixes and attributes the load carries, so each flap
//! adds and removes a second path for them and the receiver reselects), and
//! drops its connection a second after it came up, again and again, while
//! the table loads. The clock of the load is the senders' as always: how
//! much a flapping neighbor slows the receiver down.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::sender;

/// How long each of the flapper's sessions stays up.
pub(crate) const UP_FOR: Duration = Duration::from_secs(1);

/// What the flapper did while it ran.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Flaps {
    /// Sessions that came up (and were dropped).
    pub(crate) sessions: u64,
    /// Connection attempts that did not come up (the receiver may hold a
    /// flapping peer back for a while, as damping).
    pub(crate) refused: u64,
}

/// A running flapper.
pub(crate) struct Flapper {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Flaps>,
}

impl Flapper {
    /// Starts flapping from `local` towards `remote` with `stream` (its
    /// UPDATEs, written whole after each session comes up).
    pub(crate) fn start(local: Ipv4Addr, remote: SocketAddr, stream: Arc<Vec<u8>>) -> Flapper {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut flaps = Flaps::default();
            while !stopping.load(Ordering::Relaxed) {
                let attempt = Instant::now();
                let session = match sender::connect(local, remote, attempt + Duration::from_secs(2))
                {
                    Ok(session) => session,
                    Err(_) => {
                        flaps.refused += 1;
                        continue;
                    }
                };
                flaps.sessions += 1;
                if let Ok(writer) = session.write_all(Arc::clone(&stream)) {
                    let _ = writer.join();
                }
                // Up for a second from the handshake, then the connection
                // drops (no NOTIFICATION: a link or process going away).
                while attempt.elapsed() < UP_FOR && !stopping.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(10));
                }
                drop(session);
            }
            flaps
        });
        Flapper { stop, thread }
    }

    /// Stops flapping (the last session is dropped) and says what happened.
    pub(crate) fn stop(self) -> Flaps {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}
