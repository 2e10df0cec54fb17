use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{resolve, DefaultFile, Origin};
use crate::daemon::settings::Datastore;

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!(
            "nodebgp-calico-config-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch(path)
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

fn environment(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn etcd_v3(datastore: &Datastore) -> &peer_store::EtcdAccess {
    match datastore {
        Datastore::EtcdV3(access) => access,
        other => panic!("expected etcdv3, got {other:?}"),
    }
}

#[test]
fn nothing_configured_is_the_embedded_store() {
    let (datastore, origin) = resolve(None, None, DefaultFile::Ignore, &environment(&[])).unwrap();
    assert_eq!(datastore, Datastore::File("/var/lib/nodebgp".into()));
    assert_eq!(origin, Origin::Default);
}

#[test]
fn the_flag_wins_over_file_and_environment() {
    let scratch = Scratch::new("flag");
    let file = scratch.write("calicoctl.cfg", "this is not read");
    let variables = environment(&[("ETCD_ENDPOINTS", "http://10.0.0.1:2379")]);
    let (datastore, origin) = resolve(
        Some("file:/tmp/x"),
        Some(&file),
        DefaultFile::Read,
        &variables,
    )
    .unwrap();
    assert_eq!(datastore, Datastore::File("/tmp/x".into()));
    assert_eq!(origin, Origin::Flag);
}

#[test]
fn environment_endpoints_alone_mean_etcdv3_and_calico_prefix_wins() {
    let variables = environment(&[
        ("ETCD_ENDPOINTS", "http://10.0.0.1:2379"),
        (
            "CALICO_ETCD_ENDPOINTS",
            " http://127.0.0.1:2379 , http://127.0.0.2:2379,",
        ),
        ("ETCD_USERNAME", "calico"),
        ("ETCD_PASSWORD", "pw"),
    ]);
    let (datastore, origin) = resolve(None, None, DefaultFile::Ignore, &variables).unwrap();
    assert_eq!(origin, Origin::Environment);
    let access = etcd_v3(&datastore);
    assert_eq!(
        access.endpoints,
        ["http://127.0.0.1:2379", "http://127.0.0.2:2379"]
    );
    let credentials = access.credentials.as_ref().unwrap();
    assert_eq!(
        (credentials.username.as_str(), credentials.password.as_str()),
        ("calico", "pw")
    );
}

#[test]
fn environment_errors_name_the_variable() {
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("DATASTORE_TYPE", "kubernetes")],
            "DATASTORE_TYPE is kubernetes",
        ),
        (
            &[("DATASTORE_TYPE", "etcdv3")],
            "etcdv3 needs ETCD_ENDPOINTS",
        ),
        (
            &[("ETCD_ENDPOINTS", "10.0.0.1:2379")],
            "ETCD_ENDPOINTS = '10.0.0.1:2379': an endpoint is a URL",
        ),
        (
            &[
                ("ETCD_ENDPOINTS", "https://10.0.0.1:2379"),
                ("ETCD_CERT_FILE", "/nonexistent/cert.pem"),
            ],
            "ETCD_CERT_FILE = /nonexistent/cert.pem: cannot read it",
        ),
        (
            &[
                ("ETCD_ENDPOINTS", "http://10.0.0.1:2379"),
                ("ETCD_PASSWORD", "pw"),
            ],
            "ETCD_PASSWORD is set without ETCD_USERNAME",
        ),
    ];
    for (pairs, expected) in cases {
        let error = resolve(None, None, DefaultFile::Ignore, &environment(pairs)).unwrap_err();
        let text = format!("{error:#}");
        assert!(text.contains(expected), "{pairs:?}: {text}");
        assert!(text.contains("from the environment"), "{text}");
    }
}

#[test]
fn a_calicoctl_file_gives_endpoints_user_and_certificates() {
    let scratch = Scratch::new("file");
    let ca = scratch.write("ca.pem", "-----BEGIN CERTIFICATE-----\nca\n");
    let certificate = scratch.write("cert.pem", "-----BEGIN CERTIFICATE-----\nclient\n");
    let key = scratch.write("key.pem", "-----BEGIN PRIVATE KEY-----\nkey\n");
    let file = scratch.write(
        "calicoctl.cfg",
        &format!(
            "apiVersion: projectcalico.org/v3
kind: CalicoAPIConfig
metadata: {{}}
spec:
  datastoreType: etcdv3
  etcdEndpoints: https://127.0.0.1:2379
  etcdUsername: root
  etcdPassword: secret
  etcdCACertFile: {}
  etcdCertFile: {}
  etcdKeyFile: {}
  kubeconfig: ''
",
            ca.display(),
            certificate.display(),
            key.display()
        ),
    );
    // The file wins over the environment, as calicoctl's LoadClientConfig.
    let variables = environment(&[("ETCD_ENDPOINTS", "http://10.9.9.9:2379")]);
    let (datastore, origin) = resolve(None, Some(&file), DefaultFile::Read, &variables).unwrap();
    assert_eq!(origin, Origin::ConfigFile(file.clone()));
    let access = etcd_v3(&datastore);
    assert_eq!(access.endpoints, ["https://127.0.0.1:2379"]);
    assert_eq!(access.credentials.as_ref().unwrap().username, "root");
    assert_eq!(
        access.tls.ca_certificate.as_deref(),
        Some(&b"-----BEGIN CERTIFICATE-----\nca\n"[..])
    );
    assert_eq!(
        access.tls.client_key.as_deref(),
        Some(&b"-----BEGIN PRIVATE KEY-----\nkey\n"[..])
    );
}

#[test]
fn inline_certificates_and_calicoctl_v1_files_are_read() {
    let scratch = Scratch::new("v1");
    let file = scratch.write(
        "v1.cfg",
        "apiVersion: v1
kind: calicoApiConfig
metadata:
spec:
  etcdEndpoints: http://127.0.0.1:2379
",
    );
    let (datastore, _) = resolve(None, Some(&file), DefaultFile::Read, &environment(&[])).unwrap();
    assert!(matches!(datastore, Datastore::EtcdV2(_)), "{datastore:?}");

    let file = scratch.write(
        "inline.cfg",
        "apiVersion: projectcalico.org/v3
kind: CalicoAPIConfig
spec:
  etcdEndpoints: https://127.0.0.1:2379
  etcdCACert: |
    -----BEGIN CERTIFICATE-----
    inline
",
    );
    let (datastore, _) = resolve(None, Some(&file), DefaultFile::Read, &environment(&[])).unwrap();
    let access = etcd_v3(&datastore);
    assert!(access
        .tls
        .ca_certificate
        .as_ref()
        .is_some_and(|pem| pem.windows(6).any(|window| window == b"inline")));
}

#[test]
fn file_errors_say_which_file_and_what() {
    let scratch = Scratch::new("errors");
    let missing = scratch.0.join("missing.cfg");
    let error = resolve(None, Some(&missing), DefaultFile::Read, &environment(&[])).unwrap_err();
    assert!(
        format!("{error:#}").contains("cannot read the client configuration"),
        "{error:#}"
    );

    let cases = [
        (
            "apiVersion: projectcalico.org/v2\nkind: CalicoAPIConfig\n",
            "unknown APIVersion 'projectcalico.org/v2'",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: BGPPeer\n",
            "expected kind 'CalicoAPIConfig', got 'BGPPeer'",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec:\n  etcdEndpoint: http://a:1\n",
            "unknown field `etcdEndpoint`",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec:\n  datastoreType: kubernetes\n",
            "spec.datastoreType is kubernetes",
        ),
        (
            "apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec: {}\n",
            "no datastore",
        ),
    ];
    for (text, expected) in cases {
        let file = scratch.write("bad.cfg", text);
        let error = resolve(None, Some(&file), DefaultFile::Read, &environment(&[])).unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains(expected), "{text}: {message}");
        assert!(message.contains("bad.cfg"), "{text}: {message}");
    }
}
