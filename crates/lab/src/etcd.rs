//! A real etcd server (Debian package `etcd-server`) on loopback, for the
//! datastore tests: its own data directory and free ports, killed and cleaned
//! up on drop.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, LabError};

/// The etcd binary the package installs.
pub const ETCD_BINARY: &str = "/usr/bin/etcd";

/// A running single-member etcd.
#[derive(Debug)]
pub struct Etcd {
    child: Child,
    endpoint: String,
    data: PathBuf,
}

impl Etcd {
    /// Starts etcd on 127.0.0.1 and waits until `/health` says it is healthy.
    /// A missing binary is an error naming the package, never a skip.
    pub fn start(name: &str) -> Result<Etcd, LabError> {
        Etcd::start_with_args(name, &[])
    }

    /// Like [`Etcd::start`], with etcd's v2 API also served (`--enable-v2=true`),
    /// as Calico v1 clusters used it. etcd keeps v2 data apart from v3 data.
    pub fn start_with_v2(name: &str) -> Result<Etcd, LabError> {
        Etcd::start_with_args(name, &["--enable-v2=true"])
    }

    fn start_with_args(name: &str, extra_args: &[&str]) -> Result<Etcd, LabError> {
        if !Path::new(ETCD_BINARY).exists() {
            return Err(LabError::StartFailed {
                name: "etcd".into(),
                reason: format!("{ETCD_BINARY} is missing: install etcd-server (apt-get install -y etcd-server)"),
                run_dir: PathBuf::new(),
                log_tail: String::new(),
            });
        }
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let client_port = free_port(loopback)?;
        let peer_port = free_port(loopback)?;
        let data = crate::addr::lab_root()
            .join(format!("etcd-{name}-{}-{client_port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).map_err(|source| LabError::Io {
            context: format!("creating {}", data.display()),
            source,
        })?;
        let client_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let child = Command::new(ETCD_BINARY)
            .arg("--data-dir")
            .arg(&data)
            .args(["--name", "default"])
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("default={peer_url}")])
            .args(extra_args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| LabError::Io {
                context: "starting etcd".into(),
                source,
            })?;
        let mut etcd = Etcd {
            child,
            endpoint: client_url,
            data,
        };
        etcd.wait_until_healthy(client_port)?;
        Ok(etcd)
    }

    fn wait_until_healthy(&mut self, port: u16) -> Result<(), LabError> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(LabError::StartFailed {
                    name: "etcd".into(),
                    reason: format!("exited early: {status}"),
                    run_dir: self.data.clone(),
                    log_tail: String::new(),
                });
            }
            if health(port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(LabError::Timeout {
                    what: format!("etcd at {} to be healthy", self.endpoint),
                    waited: Duration::from_secs(20),
                    last: "no healthy answer".into(),
                    log_tail: String::new(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The client URL, e.g. `http://127.0.0.1:23456`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// Whether etcd's `/health` answers `"health":"true"`.
fn health(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.contains("\"health\":\"true\"")
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
