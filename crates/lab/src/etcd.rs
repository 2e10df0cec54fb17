//! A real etcd server (Debian package `etcd-server`) on loopback, for the
//! datastore tests: its own data directory and free ports, killed and cleaned
//! up on drop. [`Etcd::stop`] and [`Etcd::restart`] take it away and bring it
//! back on the same ports with the same data, for outage tests.

use std::ffi::OsString;
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
    /// False between [`Etcd::stop`] and [`Etcd::restart`].
    running: bool,
    endpoint: String,
    /// Where `/health` answers over plain HTTP: the client port, or with
    /// TLS a metrics port of its own.
    health_port: u16,
    data: PathBuf,
    /// The command line, for [`Etcd::restart`].
    arguments: Vec<OsString>,
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

    /// Like [`Etcd::start`], serving clients over TLS only (`https://`),
    /// with the server certificate of `tls` and `--client-cert-auth`: a
    /// client must present a certificate signed by `tls`'s CA. `/health` is
    /// served on a plain-HTTP metrics port for the harness itself.
    pub fn start_with_tls(name: &str, tls: &crate::tls::TlsFiles) -> Result<Etcd, LabError> {
        Etcd::start_with(name, &[], Some(tls))
    }

    /// [`Etcd::start_with_tls`] with the v2 API served too.
    pub fn start_with_tls_and_v2(name: &str, tls: &crate::tls::TlsFiles) -> Result<Etcd, LabError> {
        Etcd::start_with(name, &["--enable-v2=true"], Some(tls))
    }

    fn start_with_args(name: &str, extra_args: &[&str]) -> Result<Etcd, LabError> {
        Etcd::start_with(name, extra_args, None)
    }

    fn start_with(
        name: &str,
        extra_args: &[&str],
        tls: Option<&crate::tls::TlsFiles>,
    ) -> Result<Etcd, LabError> {
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
        let scheme = if tls.is_some() { "https" } else { "http" };
        let client_url = format!("{scheme}://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let mut arguments: Vec<OsString> = vec!["--data-dir".into(), data.clone().into()];
        for (flag, value) in [
            ("--name", "default"),
            ("--listen-client-urls", &client_url),
            ("--advertise-client-urls", &client_url),
            ("--listen-peer-urls", &peer_url),
            ("--initial-advertise-peer-urls", &peer_url),
            ("--initial-cluster", &format!("default={peer_url}")),
        ] {
            arguments.push(flag.into());
            arguments.push(value.into());
        }
        arguments.extend(extra_args.iter().map(OsString::from));
        let mut health_port = client_port;
        if let Some(tls) = tls {
            health_port = free_port(loopback)?;
            for (flag, value) in [
                ("--cert-file", &tls.server_certificate),
                ("--key-file", &tls.server_key),
                ("--trusted-ca-file", &tls.ca_certificate),
            ] {
                arguments.push(flag.into());
                arguments.push(value.into());
            }
            arguments.push("--client-cert-auth".into());
            arguments.push("--listen-metrics-urls".into());
            arguments.push(format!("http://127.0.0.1:{health_port}").into());
        }
        let child = spawn(&arguments)?;
        let mut etcd = Etcd {
            child,
            running: true,
            endpoint: client_url,
            health_port,
            data,
            arguments,
        };
        etcd.wait_until_healthy(health_port)?;
        Ok(etcd)
    }

    /// Stops the server at once (SIGKILL: to its clients, a crash or a
    /// partition), keeping its data directory and ports for
    /// [`Etcd::restart`]. Does nothing when it is stopped already.
    pub fn stop(&mut self) {
        if self.running {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.running = false;
        }
    }

    /// Starts a stopped server again on the same ports and data (what was
    /// written before [`Etcd::stop`] is still there), and waits until it is
    /// healthy. Does nothing when it runs.
    pub fn restart(&mut self) -> Result<(), LabError> {
        if self.running {
            return Ok(());
        }
        self.child = spawn(&self.arguments)?;
        self.running = true;
        self.wait_until_healthy(self.health_port)
    }

    /// Whether the server runs (it has not been stopped, nor exited).
    pub fn is_running(&mut self) -> bool {
        self.running && matches!(self.child.try_wait(), Ok(None))
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

    /// The client URL, e.g. `http://127.0.0.1:23456` (`https://` with TLS).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

fn spawn(arguments: &[OsString]) -> Result<Child, LabError> {
    Command::new(ETCD_BINARY)
        .args(arguments)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| LabError::Io {
            context: "starting etcd".into(),
            source,
        })
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
