//! The datastore as calicoctl and calico-node find it: a `CalicoAPIConfig`
//! file (`--config`, by default `/etc/calico/calicoctl.cfg` when it exists),
//! else the environment (`DATASTORE_TYPE`, `ETCD_ENDPOINTS`,
//! `ETCD_USERNAME`/`ETCD_PASSWORD`, `ETCD_CA_CERT_FILE`/`ETCD_CERT_FILE`/
//! `ETCD_KEY_FILE`, each also read with calicoctl's `CALICO_` prefix, which
//! wins), as libcalico-go's `apiconfig` loads them.
//!
//! Where nodebgp differs on purpose: with neither a file nor any of those
//! variables, calicoctl assumes the Kubernetes datastore; nodebgp uses its
//! embedded store. `datastoreType: kubernetes` is refused with a message,
//! since nodebgp does not read the Kubernetes API. `etcdv2` is accepted, for
//! Calico v1 datastores (calicoctl v1's `apiVersion: v1, kind:
//! calicoApiConfig` files are read too). Certificate files are read here so
//! that an unreadable one is an error naming its setting.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use peer_store::{EtcdAccess, EtcdCredentials};
use serde::Deserialize;

use super::settings::Datastore;

/// calicoctl's default configuration file.
pub(crate) const DEFAULT_CONFIG_PATH: &str = "/etc/calico/calicoctl.cfg";

/// Where the embedded store lives when nothing else is configured.
pub(crate) const DEFAULT_DATASTORE: &str = "file:/var/lib/nodebgp";

/// A `CalicoAPIConfig` file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfigFile {
    api_version: String,
    kind: String,
    #[serde(default)]
    #[allow(dead_code, reason = "calicoctl accepts and ignores metadata")]
    metadata: Option<serde_yaml::Value>,
    #[serde(default)]
    spec: Spec,
}

/// The datastore part of `CalicoAPIConfigSpec` (libcalico-go
/// `apiconfig.go`); the Kubernetes fields are accepted so that a file made
/// for calicoctl reads, and refused only if the datastore type needs them.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code, reason = "the Kubernetes fields are read, never used")]
struct Spec {
    datastore_type: Option<String>,
    etcd_endpoints: Option<String>,
    etcd_discovery_srv: Option<String>,
    etcd_username: Option<String>,
    etcd_password: Option<String>,
    etcd_key_file: Option<PathBuf>,
    #[serde(rename = "etcdCertFile")]
    etcd_cert_file: Option<PathBuf>,
    #[serde(rename = "etcdCACertFile")]
    etcd_ca_cert_file: Option<PathBuf>,
    etcd_key: Option<String>,
    etcd_cert: Option<String>,
    #[serde(rename = "etcdCACert")]
    etcd_ca_cert: Option<String>,
    // calicoctl v1's split form of the endpoint.
    etcd_scheme: Option<String>,
    etcd_authority: Option<String>,
    // Kubernetes datastore settings: accepted so that calicoctl's files
    // read, never used (the kubernetes type is refused).
    #[serde(rename = "kubeconfig")]
    kubernetes_config: Option<serde_yaml::Value>,
    #[serde(rename = "k8sAPIEndpoint")]
    kubernetes_api_endpoint: Option<serde_yaml::Value>,
    #[serde(rename = "k8sKeyFile")]
    kubernetes_key_file: Option<serde_yaml::Value>,
    #[serde(rename = "k8sCertFile")]
    kubernetes_cert_file: Option<serde_yaml::Value>,
    #[serde(rename = "k8sCAFile")]
    kubernetes_ca_file: Option<serde_yaml::Value>,
    #[serde(rename = "k8sAPIToken")]
    kubernetes_api_token: Option<serde_yaml::Value>,
    #[serde(rename = "k8sInsecureSkipTLSVerify")]
    kubernetes_insecure_skip_tls_verify: Option<serde_yaml::Value>,
    #[serde(rename = "k8sDisableNodePoll")]
    kubernetes_disable_node_poll: Option<serde_yaml::Value>,
    #[serde(rename = "usePodCIDR")]
    kubernetes_use_pod_cidr: Option<serde_yaml::Value>,
    #[serde(rename = "kubeconfigInline")]
    kubernetes_config_inline: Option<serde_yaml::Value>,
    #[serde(rename = "k8sClientQPS")]
    kubernetes_client_qps: Option<serde_yaml::Value>,
    #[serde(rename = "k8sClientBurst")]
    kubernetes_client_burst: Option<serde_yaml::Value>,
    #[serde(rename = "k8sCurrentContext")]
    kubernetes_current_context: Option<serde_yaml::Value>,
    #[serde(rename = "calicoAPIGroup")]
    calico_api_group: Option<serde_yaml::Value>,
}

/// Where a datastore setting came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    Flag,
    ConfigFile(PathBuf),
    Environment,
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag => formatter.write_str("--datastore"),
            Origin::ConfigFile(path) => write!(formatter, "{}", path.display()),
            Origin::Environment => formatter.write_str("the environment"),
            Origin::Default => formatter.write_str("the default"),
        }
    }
}

/// Whether calicoctl's default configuration file is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefaultFile {
    /// The CLI, as calicoctl: `/etc/calico/calicoctl.cfg` when it exists.
    Read,
    /// The daemon, as calico-node: the environment only.
    Ignore,
}

/// The datastore to use: `--datastore` when given; else the client
/// configuration file (`config`, which must exist when named, or the
/// default path when it exists and `default_file` says so); else the
/// environment (`variable` looks one up); else the embedded default.
pub(crate) fn resolve(
    flag: Option<&str>,
    config: Option<&Path>,
    default_file: DefaultFile,
    variable: &dyn Fn(&str) -> Option<String>,
) -> Result<(Datastore, Origin)> {
    if let Some(text) = flag {
        return Ok((Datastore::parse(text)?, Origin::Flag));
    }
    let path = config.map(Path::to_path_buf).or_else(|| {
        let default = PathBuf::from(DEFAULT_CONFIG_PATH);
        (default_file == DefaultFile::Read && default.exists()).then_some(default)
    });
    if let Some(path) = path {
        let spec = read_config_file(&path)?;
        let origin = Origin::ConfigFile(path.clone());
        return match datastore_from_spec(&spec, &origin)? {
            Some(datastore) => Ok((datastore, origin)),
            None => bail!(
                "{}: no datastore: set spec.datastoreType (etcdv3 or etcdv2) and spec.etcdEndpoints",
                path.display()
            ),
        };
    }
    let spec = spec_from_environment(variable);
    match datastore_from_spec(&spec, &Origin::Environment)? {
        Some(datastore) => Ok((datastore, Origin::Environment)),
        None => Ok((Datastore::parse(DEFAULT_DATASTORE)?, Origin::Default)),
    }
}

/// Looks a variable up in the process environment; empty counts as unset.
pub(crate) fn process_variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

fn read_config_file(path: &Path) -> Result<Spec> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the client configuration {}", path.display()))?;
    let file: ConfigFile = serde_yaml::from_str(&text)
        .with_context(|| format!("syntax error in {}", path.display()))?;
    match (file.api_version.as_str(), file.kind.as_str()) {
        ("projectcalico.org/v3", "CalicoAPIConfig") => Ok(file.spec),
        // calicoctl v1: the same spec, etcd v2 unless it says otherwise.
        ("v1", "calicoApiConfig") => {
            let mut spec = file.spec;
            if spec.datastore_type.is_none() {
                spec.datastore_type = Some("etcdv2".to_owned());
            }
            Ok(spec)
        }
        ("projectcalico.org/v3" | "v1", kind) => bail!(
            "invalid config file {}: expected kind 'CalicoAPIConfig', got '{kind}'",
            path.display()
        ),
        (version, _) => bail!(
            "invalid config file {}: unknown APIVersion '{version}'",
            path.display()
        ),
    }
}

/// calicoctl's variables: `CALICO_<NAME>` first, then `<NAME>`.
fn spec_from_environment(variable: &dyn Fn(&str) -> Option<String>) -> Spec {
    let read = |name: &str| variable(&format!("CALICO_{name}")).or_else(|| variable(name));
    Spec {
        datastore_type: read("DATASTORE_TYPE"),
        etcd_endpoints: read("ETCD_ENDPOINTS"),
        etcd_discovery_srv: read("ETCD_DISCOVERY_SRV"),
        etcd_username: read("ETCD_USERNAME"),
        etcd_password: read("ETCD_PASSWORD"),
        etcd_key_file: read("ETCD_KEY_FILE").map(PathBuf::from),
        etcd_cert_file: read("ETCD_CERT_FILE").map(PathBuf::from),
        etcd_ca_cert_file: read("ETCD_CA_CERT_FILE").map(PathBuf::from),
        ..Spec::default()
    }
}

/// The setting's name as the origin spells it, for messages.
fn setting(origin: &Origin, file_field: &str, variable: &str) -> String {
    match origin {
        Origin::Environment => variable.to_owned(),
        _ => format!("spec.{file_field}"),
    }
}

/// The datastore a spec describes; `None` when it describes none (no type and
/// no endpoints).
fn datastore_from_spec(spec: &Spec, origin: &Origin) -> Result<Option<Datastore>> {
    let endpoints = match (
        &spec.etcd_endpoints,
        &spec.etcd_scheme,
        &spec.etcd_authority,
    ) {
        (Some(list), _, _) => list
            .split(',')
            .map(str::trim)
            .filter(|endpoint| !endpoint.is_empty())
            .map(str::to_owned)
            .collect(),
        (None, scheme, Some(authority)) => vec![format!(
            "{}://{authority}",
            scheme.as_deref().unwrap_or("http")
        )],
        (None, _, None) => Vec::new(),
    };
    let datastore_type = match spec.datastore_type.as_deref() {
        Some(kind) => kind.to_owned(),
        None if !endpoints.is_empty() => "etcdv3".to_owned(),
        None => return Ok(None),
    };
    let in_origin = |what: String| format!("{what} (from {origin})");
    match datastore_type.as_str() {
        "etcdv3" | "etcdv2" => {}
        "kubernetes" => bail!(in_origin(format!(
            "{} is kubernetes: nodebgp reads Calico's etcd datastore (etcdv3, or etcdv2 for Calico v1) and its own embedded store, not the Kubernetes API",
            setting(origin, "datastoreType", "DATASTORE_TYPE")
        ))),
        other => bail!(in_origin(format!(
            "{} = '{other}': expected etcdv3 or etcdv2",
            setting(origin, "datastoreType", "DATASTORE_TYPE")
        ))),
    }
    if endpoints.is_empty() {
        if spec.etcd_discovery_srv.is_some() {
            bail!(in_origin(format!(
                "{} is not supported: list the endpoints in {}",
                setting(origin, "etcdDiscoverySrv", "ETCD_DISCOVERY_SRV"),
                setting(origin, "etcdEndpoints", "ETCD_ENDPOINTS")
            )));
        }
        bail!(in_origin(format!(
            "{datastore_type} needs {}",
            setting(origin, "etcdEndpoints", "ETCD_ENDPOINTS")
        )));
    }
    for endpoint in &endpoints {
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            bail!(in_origin(format!(
                "{} = '{endpoint}': an endpoint is a URL, http://host:port or https://host:port",
                setting(origin, "etcdEndpoints", "ETCD_ENDPOINTS")
            )));
        }
    }
    let mut access = EtcdAccess::new(&endpoints);
    access.credentials = match (&spec.etcd_username, &spec.etcd_password) {
        (Some(username), password) => Some(EtcdCredentials {
            username: username.clone(),
            password: password.clone().unwrap_or_default(),
        }),
        (None, Some(_)) => bail!(in_origin(format!(
            "{} is set without {}",
            setting(origin, "etcdPassword", "ETCD_PASSWORD"),
            setting(origin, "etcdUsername", "ETCD_USERNAME")
        ))),
        (None, None) => None,
    };
    let material = |inline: &Option<String>,
                    file: &Option<PathBuf>,
                    file_field: &str,
                    variable: &str|
     -> Result<Option<Vec<u8>>> {
        if let Some(text) = inline {
            return Ok(Some(text.clone().into_bytes()));
        }
        let Some(path) = file else {
            return Ok(None);
        };
        std::fs::read(path).map(Some).with_context(|| {
            in_origin(format!(
                "{} = {}: cannot read it",
                setting(origin, file_field, variable),
                path.display()
            ))
        })
    };
    access.tls.ca_certificate = material(
        &spec.etcd_ca_cert,
        &spec.etcd_ca_cert_file,
        "etcdCACertFile",
        "ETCD_CA_CERT_FILE",
    )?;
    access.tls.client_certificate = material(
        &spec.etcd_cert,
        &spec.etcd_cert_file,
        "etcdCertFile",
        "ETCD_CERT_FILE",
    )?;
    access.tls.client_key = material(
        &spec.etcd_key,
        &spec.etcd_key_file,
        "etcdKeyFile",
        "ETCD_KEY_FILE",
    )?;
    match (&access.tls.client_certificate, &access.tls.client_key) {
        (Some(_), None) => bail!(in_origin(format!(
            "{} is set without {}",
            setting(origin, "etcdCertFile", "ETCD_CERT_FILE"),
            setting(origin, "etcdKeyFile", "ETCD_KEY_FILE")
        ))),
        (None, Some(_)) => bail!(in_origin(format!(
            "{} is set without {}",
            setting(origin, "etcdKeyFile", "ETCD_KEY_FILE"),
            setting(origin, "etcdCertFile", "ETCD_CERT_FILE")
        ))),
        _ => {}
    }
    Ok(Some(if datastore_type == "etcdv2" {
        Datastore::EtcdV2(access)
    } else {
        Datastore::EtcdV3(access)
    }))
}

#[cfg(test)]
#[path = "calico_config_tests.rs"]
mod tests;
