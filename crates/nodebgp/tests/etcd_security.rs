//! The datastore found as calicoctl and calico-node find it, against a real
//! etcd (Debian `etcd-server`) serving TLS only, with client certificates
//! required and user authentication enabled: certificates made fresh by the
//! test, a `CalicoAPIConfig` file (`--config`) and the environment
//! variables (`ETCD_ENDPOINTS`, `ETCD_USERNAME`, …), for the resource CLI and
//! for the daemon. Wrong material fails closed, with a non-zero exit and a
//! message naming the cause.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use etcd_client::{Certificate, Client, ConnectOptions, Identity, Permission, TlsOptions};
use lab::tls::{write_test_certificates, TlsFiles};
use lab::Etcd;

const USER: &str = "calico";
const PASSWORD: &str = "c4lic0-s3cret";
const PEER: &str = "apiVersion: v1
kind: bgpPeer
metadata:
  scope: global
  peerIP: 127.0.9.17
spec:
  asNumber: 64517
";

struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let directory =
            std::env::temp_dir().join(format!("nodebgp-etcd-tls-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        Scratch(directory)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The variables calicoctl reads, removed so that the machine's own
/// settings never leak into a test.
const CALICO_VARIABLES: [&str; 8] = [
    "DATASTORE_TYPE",
    "ETCD_ENDPOINTS",
    "ETCD_DISCOVERY_SRV",
    "ETCD_USERNAME",
    "ETCD_PASSWORD",
    "ETCD_CA_CERT_FILE",
    "ETCD_CERT_FILE",
    "ETCD_KEY_FILE",
];

fn nodebgp() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nodebgp"));
    for name in CALICO_VARIABLES {
        command
            .env_remove(name)
            .env_remove(format!("CALICO_{name}"));
    }
    command
}

fn path(file: &Path) -> &str {
    file.to_str().unwrap()
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// etcd-client over TLS with the test's client certificate, as `root` once
/// authentication is on.
async fn administrator(etcd: &Etcd, tls: &TlsFiles, user: Option<&str>) -> Client {
    let read = |file: &PathBuf| std::fs::read(file).unwrap();
    let mut options = ConnectOptions::new().with_tls(
        TlsOptions::new()
            .ca_certificate(Certificate::from_pem(read(&tls.ca_certificate)))
            .identity(Identity::from_pem(
                read(&tls.client_certificate),
                read(&tls.client_key),
            )),
    );
    if let Some(user) = user {
        options = options.with_user(user, "root-password");
    }
    Client::connect([etcd.endpoint()], Some(options))
        .await
        .unwrap()
}

/// Turns etcd's authentication on: `root`, and `calico` with read and write
/// on `/calico/` only (as a Calico cluster's etcd would give its nodes).
async fn enable_authentication(etcd: &Etcd, tls: &TlsFiles) {
    let mut client = administrator(etcd, tls, None).await;
    client
        .user_add("root", "root-password", None)
        .await
        .unwrap();
    client.user_grant_role("root", "root").await.unwrap();
    client.role_add("calico").await.unwrap();
    client
        .role_grant_permission("calico", Permission::read_write("/calico/").with_prefix())
        .await
        .unwrap();
    client.user_add(USER, PASSWORD, None).await.unwrap();
    client.user_grant_role(USER, "calico").await.unwrap();
    client.auth_enable().await.unwrap();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A secured etcd and the certificates to reach it.
struct SecuredEtcd {
    scratch: Scratch,
    tls: TlsFiles,
    etcd: Etcd,
}

fn secured_etcd(test: &str) -> SecuredEtcd {
    let scratch = Scratch::new(test);
    let tls = write_test_certificates(&scratch.0.join("tls"), "nodebgp-test-client").unwrap();
    let etcd = Etcd::start_with_tls(test, &tls).expect("etcd with TLS starts");
    runtime().block_on(enable_authentication(&etcd, &tls));
    SecuredEtcd { scratch, tls, etcd }
}

impl SecuredEtcd {
    /// A calicoctl configuration file; `password` and `ca` vary per case.
    fn config_file(&self, name: &str, password: &str, ca: &Path) -> PathBuf {
        self.scratch.write(
            name,
            &format!(
                "apiVersion: projectcalico.org/v3
kind: CalicoAPIConfig
metadata: {{}}
spec:
  datastoreType: etcdv3
  etcdEndpoints: {}
  etcdUsername: {USER}
  etcdPassword: {password}
  etcdCACertFile: {}
  etcdCertFile: {}
  etcdKeyFile: {}
",
                self.etcd.endpoint(),
                path(ca),
                path(&self.tls.client_certificate),
                path(&self.tls.client_key),
            ),
        )
    }

    /// calicoctl's variables for this etcd.
    fn environment(&self, command: &mut Command) {
        command
            .env("DATASTORE_TYPE", "etcdv3")
            .env("ETCD_ENDPOINTS", self.etcd.endpoint())
            .env("ETCD_USERNAME", USER)
            .env("ETCD_PASSWORD", PASSWORD)
            .env("ETCD_CA_CERT_FILE", &self.tls.ca_certificate)
            .env("ETCD_CERT_FILE", &self.tls.client_certificate)
            .env("ETCD_KEY_FILE", &self.tls.client_key);
    }

    /// What etcd holds at `key`, read as root.
    fn stored(&self, key: &str) -> Option<String> {
        runtime().block_on(async {
            let mut client = administrator(&self.etcd, &self.tls, Some("root")).await;
            let response = client.get(key, None).await.unwrap();
            response
                .kvs()
                .first()
                .map(|entry| entry.value_str().unwrap().to_owned())
        })
    }
}

#[test]
fn the_cli_reaches_a_tls_and_password_protected_etcd_from_a_calicoctl_file() {
    let secured = secured_etcd("cli-file");
    let config = secured.config_file("calicoctl.cfg", PASSWORD, &secured.tls.ca_certificate);
    let peer = secured.scratch.write("peer.yaml", PEER);

    let created = nodebgp()
        .args(["create", "-f", path(&peer), "--config", path(&config)])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", stderr_of(&created));
    assert!(
        stdout_of(&created).contains("Successfully created 1 'bgpPeer' resource(s)"),
        "{}",
        stdout_of(&created)
    );
    // Where Calico's upgrade keeps a global v1 peer (a v3 BGPPeer named
    // after its address), as the user `calico` wrote it.
    let value = secured
        .stored("/calico/resources/v3/projectcalico.org/bgppeers/127-0-9-17")
        .expect("the peer is in etcd");
    assert!(value.contains("\"asNumber\":64517"), "{value}");

    let listed = nodebgp()
        .args(["get", "bgppeer", "-c", path(&config)])
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", stderr_of(&listed));
    let table = stdout_of(&listed);
    assert!(
        table.contains("global") && table.contains("127.0.9.17") && table.contains("64517"),
        "{table}"
    );
}

#[test]
fn the_cli_reads_calicoctl_environment_variables() {
    let secured = secured_etcd("cli-env");
    let peer = secured.scratch.write("peer.yaml", PEER);
    let mut create = nodebgp();
    create.args(["apply", "-f", path(&peer)]);
    secured.environment(&mut create);
    let applied = create.output().unwrap();
    assert!(applied.status.success(), "{}", stderr_of(&applied));

    // CALICO_-prefixed variables win over the bare ones, as calicoctl's.
    let mut get = nodebgp();
    get.args(["get", "bgppeer", "127.0.9.17", "-o", "yaml"]);
    secured.environment(&mut get);
    get.env("ETCD_PASSWORD", "wrong")
        .env("CALICO_ETCD_PASSWORD", PASSWORD);
    let listed = get.output().unwrap();
    assert!(listed.status.success(), "{}", stderr_of(&listed));
    assert!(
        stdout_of(&listed).contains("asNumber: 64517"),
        "{}",
        stdout_of(&listed)
    );
}

#[test]
fn wrong_credentials_or_certificates_fail_closed_with_a_reason() {
    let secured = secured_etcd("refusals");
    let attempt = |configure: &dyn Fn(&mut Command)| -> Output {
        let mut command = nodebgp();
        command.args(["get", "bgppeer"]);
        configure(&mut command);
        command.output().unwrap()
    };

    let wrong_password =
        secured.config_file("wrong-password.cfg", "not-it", &secured.tls.ca_certificate);
    let output = attempt(&|command| {
        command.args(["--config", path(&wrong_password)]);
    });
    assert!(!output.status.success());
    assert!(
        stderr_of(&output).contains("authentication failed"),
        "{}",
        stderr_of(&output)
    );

    // A server certificate that the trusted CA did not sign: no fallback.
    let other_ca = secured.config_file("other-ca.cfg", PASSWORD, &secured.tls.other_ca_certificate);
    let output = attempt(&|command| {
        command.args(["--config", path(&other_ca)]);
    });
    assert!(!output.status.success(), "{}", stdout_of(&output));
    assert!(
        stderr_of(&output).contains("invalid peer certificate"),
        "{}",
        stderr_of(&output)
    );

    // No client certificate: etcd's --client-cert-auth refuses the handshake.
    let output = attempt(&|command| {
        secured.environment(command);
        command
            .env_remove("ETCD_CERT_FILE")
            .env_remove("ETCD_KEY_FILE");
    });
    assert!(!output.status.success(), "{}", stdout_of(&output));

    // A certificate without its key is refused before any connection.
    let output = attempt(&|command| {
        secured.environment(command);
        command.env_remove("ETCD_KEY_FILE");
    });
    assert!(!output.status.success());
    assert!(
        stderr_of(&output).contains("ETCD_CERT_FILE is set without ETCD_KEY_FILE"),
        "{}",
        stderr_of(&output)
    );

    // The datastore calicoctl would default to is named, not guessed at.
    let output = attempt(&|command| {
        command.env("DATASTORE_TYPE", "kubernetes");
    });
    assert!(!output.status.success());
    assert!(
        stderr_of(&output).contains("DATASTORE_TYPE is kubernetes"),
        "{}",
        stderr_of(&output)
    );
}

/// A daemon killed on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_daemon_takes_its_peers_from_the_secured_etcd_named_by_the_environment() {
    let secured = secured_etcd("daemon");
    let peer = secured.scratch.write("peer.yaml", PEER);
    let mut create = nodebgp();
    create.args(["create", "-f", path(&peer)]);
    secured.environment(&mut create);
    assert!(create.output().unwrap().status.success());

    let socket = secured.scratch.0.join("nodebgp.ctl");
    let log_path = secured.scratch.0.join("nodebgp.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut run = nodebgp();
    run.args(["run", "--node", "tls-node", "--listen", "127.0.0.1:0"])
        .arg("--control-socket")
        .arg(&socket)
        .args(["--no-fib", "--log-level", "info"])
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    secured.environment(&mut run);
    let _daemon = Daemon(run.stdin(Stdio::null()).spawn().unwrap());

    // The peer appears in the daemon's status once it has read etcd.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let output = nodebgp()
            .args(["status", "-o", "json", "--control-socket", path(&socket)])
            .output()
            .unwrap();
        if output.status.success() {
            let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            let peers = report["peers"].as_array().cloned().unwrap_or_default();
            if peers
                .iter()
                .any(|peer| peer["peer"] == "127.0.9.17" && peer["peer_as"] == 64517)
            {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the daemon never showed the peer from etcd: {}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_calico_v1_datastore_is_read_over_tls_through_etcds_v2_api() {
    let scratch = Scratch::new("v2");
    let tls = write_test_certificates(&scratch.0.join("tls"), "nodebgp-test-client").unwrap();
    let etcd = Etcd::start_with_tls_and_v2("v2-tls", &tls).expect("etcd with TLS starts");
    let peer = scratch.write("peer.yaml", PEER);
    let with_v2 = |command: &mut Command| {
        command
            .env("DATASTORE_TYPE", "etcdv2")
            .env("ETCD_ENDPOINTS", etcd.endpoint())
            .env("ETCD_CA_CERT_FILE", &tls.ca_certificate)
            .env("ETCD_CERT_FILE", &tls.client_certificate)
            .env("ETCD_KEY_FILE", &tls.client_key);
    };
    let mut create = nodebgp();
    create.args(["create", "-f", path(&peer)]);
    with_v2(&mut create);
    let created = create.output().unwrap();
    assert!(created.status.success(), "{}", stderr_of(&created));

    let mut get = nodebgp();
    get.args(["get", "bgppeer", "-o", "json"]);
    with_v2(&mut get);
    let listed = get.output().unwrap();
    assert!(listed.status.success(), "{}", stderr_of(&listed));
    assert!(
        stdout_of(&listed).contains("127.0.9.17"),
        "{}",
        stdout_of(&listed)
    );

    // Trusting another CA fails the handshake: no plain-text fallback.
    let mut refused = nodebgp();
    refused.args(["get", "bgppeer"]);
    with_v2(&mut refused);
    refused.env("ETCD_CA_CERT_FILE", &tls.other_ca_certificate);
    let output = refused.output().unwrap();
    assert!(!output.status.success(), "{}", stdout_of(&output));
}
