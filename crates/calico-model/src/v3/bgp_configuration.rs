//! The v3 `BGPConfiguration` (Calico `api/pkg/apis/projectcalico/v3/bgpconfig.go`).
//!
//! The one named `default` holds the cluster's settings; Calico's per-node
//! `node.<name>` objects are stored but not used by nodebgp. Defaults as in confd's
//! `globalDefaults`: `asNumber` 64512, `nodeToNodeMeshEnabled` true, `listenPort`
//! 179, `logSeverityScreen` Info.
//!
//! Rules (libcalico-go v3 validator): `logSeverityScreen` is one of `Debug`,
//! `Info`, `Warning`, `Error`, `Fatal`; `listenPort` 1..=65535; a community value
//! is `aa:nn` (RFC 1997, two 16-bit halves) or `aa:nn:mm` (RFC 8092, three 32-bit
//! parts); a prefix advertisement names a CIDR and communities that are either
//! values or names defined under `communities`; service prefixes are CIDRs.
//!
//! `nodeMeshMaxRestartTime` is a Go duration, announced by mesh sessions as
//! their graceful-restart time.
//!
//! Calico's other settings (`bindMode`, `nodeMeshPassword`, `ignoredInterfaces`, `localWorkloadPeeringIPV4/6`,
//! `serviceLoadBalancerAggregation`, `programClusterRoutes`, route priorities)
//! are kept verbatim; [`BgpConfigurationResource::unsupported_settings`] names
//! those set to something nodebgp does not do.

use bgp_wire::Asn;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::unmodelled::{Strictness, Unmodelled};
use super::{finish, Labels, ObjectMetadata, ResourceName};
use crate::document::AsNumberValue;
use crate::error::{DocumentError, DocumentLabel, FieldError, Problem};

/// The `kind` of a v3 BGP configuration.
pub const BGP_CONFIGURATION_KIND: &str = "BGPConfiguration";

/// The name of the cluster-wide configuration.
pub const DEFAULT_CONFIGURATION_NAME: &str = "default";

const LOG_SEVERITIES: [&str; 5] = ["Debug", "Info", "Warning", "Error", "Fatal"];

/// A named community (`communities[]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Community {
    /// The name prefix advertisements refer to.
    pub name: String,
    /// `aa:nn` or `aa:nn:mm`.
    pub value: String,
}

/// A prefix with the communities to attach to it (`prefixAdvertisements[]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrefixAdvertisement {
    /// The prefix.
    pub cidr: IpNet,
    /// Community values or names from `communities`.
    pub communities: Vec<String>,
}

/// A validated v3 `BGPConfiguration`. Absent fields stay absent (so that the
/// resource prints back as written); the accessors apply Calico's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BgpConfigurationResource {
    /// `metadata.name`: `default` for the cluster.
    pub name: ResourceName,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `logSeverityScreen`.
    pub log_severity_screen: Option<String>,
    /// `nodeToNodeMeshEnabled`.
    pub node_to_node_mesh_enabled: Option<bool>,
    /// `asNumber`.
    pub as_number: Option<Asn>,
    /// `listenPort`.
    pub listen_port: Option<u16>,
    /// `communities`.
    pub communities: Vec<Community>,
    /// `prefixAdvertisements`.
    pub prefix_advertisements: Vec<PrefixAdvertisement>,
    /// `serviceClusterIPs`.
    pub service_cluster_ips: Vec<IpNet>,
    /// `serviceExternalIPs`.
    pub service_external_ips: Vec<IpNet>,
    /// `serviceLoadBalancerIPs`.
    pub service_load_balancer_ips: Vec<IpNet>,
    /// The rest of the document, kept verbatim: `uid`, `bindMode`, …
    pub unmodelled: Unmodelled,
}

impl BgpConfigurationResource {
    /// Whether this is the cluster-wide configuration (`default`).
    pub fn is_default(&self) -> bool {
        self.name.as_str() == DEFAULT_CONFIGURATION_NAME
    }

    /// The node a per-node configuration (`node.<name>`) is for; `None` for
    /// `default`.
    pub fn node_name(&self) -> Option<&str> {
        self.name.as_str().strip_prefix("node.")
    }

    /// `nodeToNodeMeshEnabled`, default true.
    pub fn mesh_enabled(&self) -> bool {
        self.node_to_node_mesh_enabled.unwrap_or(true)
    }

    /// `nodeMeshMaxRestartTime` (kept verbatim, checked on validation): the
    /// graceful-restart time mesh sessions announce (BIRD's `graceful restart
    /// time` on the `Mesh_` protocols).
    pub fn node_mesh_max_restart_time(&self) -> Option<std::time::Duration> {
        self.unmodelled
            .spec
            .get("nodeMeshMaxRestartTime")
            .and_then(serde_yaml::Value::as_str)
            .and_then(|text| super::parse_duration(text).ok())
    }

    /// `nodeMeshPassword` (kept verbatim, checked on validation): where the
    /// mesh sessions' TCP MD5 key comes from, `{file: PATH}` or `{env: NAME}`
    /// as for a BGPPeer; an error for Calico's `secretKeyRef`, which needs
    /// the Kubernetes API. `None` when not set.
    pub fn node_mesh_password(&self) -> Option<Result<super::bgp_peer::PasswordSource, String>> {
        let value = self
            .unmodelled
            .spec
            .get("nodeMeshPassword")
            .filter(|value| !value.is_null())?;
        Some(mesh_password(value))
    }

    /// `bindMode: NodeIP` (kept verbatim): BGP listens on the node's own
    /// addresses only, not on every address.
    pub fn binds_to_node_ip(&self) -> bool {
        self.unmodelled
            .spec
            .get("bindMode")
            .and_then(serde_yaml::Value::as_str)
            == Some("NodeIP")
    }

    /// `listenPort`, default 179.
    pub fn listen_port_or_default(&self) -> u16 {
        self.listen_port.unwrap_or(179)
    }

    /// The settings this configuration asks for that nodebgp does not carry
    /// out, one line each (the rest of the configuration still applies):
    /// advertising load-balancer IPs one by one, and spec fields nodebgp does
    /// not know. (A mesh password that cannot be used is the daemon's to
    /// report: it then runs no mesh.)
    pub fn unsupported_settings(&self) -> Vec<String> {
        let spec = &self.unmodelled.spec;
        let text = |name: &str| spec.get(name).and_then(serde_yaml::Value::as_str);
        let mut settings = Vec::new();
        if text("serviceLoadBalancerAggregation") == Some("Disabled") {
            settings.push(
                "spec.serviceLoadBalancerAggregation (Disabled): not supported, serviceLoadBalancerIPs are advertised as written"
                    .to_owned(),
            );
        }
        for key in spec.keys() {
            let name = key.as_str().unwrap_or_default();
            if !KNOWN_SPEC.contains(&name) {
                settings.push(format!(
                    "spec.{name}: not a BGPConfiguration field nodebgp knows; ignored"
                ));
            }
        }
        settings
    }
}

/// The spec fields the model holds.
const MODELLED_SPEC: &[&str] = &[
    "logSeverityScreen",
    "nodeToNodeMeshEnabled",
    "asNumber",
    "listenPort",
    "communities",
    "prefixAdvertisements",
    "serviceClusterIPs",
    "serviceExternalIPs",
    "serviceLoadBalancerIPs",
];

/// Calico's other BGPConfiguration spec fields (`bgpconfig.go`), kept verbatim.
const KNOWN_SPEC: &[&str] = &[
    "serviceLoadBalancerAggregation",
    "nodeMeshPassword",
    "nodeMeshMaxRestartTime",
    "bindMode",
    "ignoredInterfaces",
    "localWorkloadPeeringIPV4",
    "localWorkloadPeeringIPV6",
    "programClusterRoutes",
    "ipv4NormalRoutePriority",
    "ipv6NormalRoutePriority",
];

/// A v3 `BGPConfiguration` document, unvalidated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpConfigurationDocument {
    /// `projectcalico.org/v3`.
    pub api_version: String,
    /// `BGPConfiguration`.
    pub kind: String,
    /// Name and labels.
    #[serde(default)]
    pub metadata: ObjectMetadata,
    /// The settings.
    #[serde(default)]
    pub spec: BgpConfigurationSpec,
    /// Other top-level fields (Calico defines none): kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// `communities[]` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CommunityDocument {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
}

/// `prefixAdvertisements[]` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct PrefixAdvertisementDocument {
    #[serde(default)]
    pub cidr: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<String>,
}

/// A `{cidr: …}` entry of the service prefix lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ServicePrefixDocument {
    #[serde(default)]
    pub cidr: String,
}

/// `spec` of a BGPConfiguration, unvalidated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)] // Each field is the Calico field of the same name.
pub struct BgpConfigurationSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_severity_screen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_to_node_mesh_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumberValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_port: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<CommunityDocument>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefix_advertisements: Vec<PrefixAdvertisementDocument>,
    #[serde(
        rename = "serviceClusterIPs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_cluster_ips: Vec<ServicePrefixDocument>,
    #[serde(
        rename = "serviceExternalIPs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_external_ips: Vec<ServicePrefixDocument>,
    #[serde(
        rename = "serviceLoadBalancerIPs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_load_balancer_ips: Vec<ServicePrefixDocument>,
    /// Calico's other settings (`KNOWN_SPEC`), and in a datastore any other
    /// field: kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// `aa:nn` with 16-bit parts (RFC 1997) or `aa:nn:mm` with 32-bit parts (RFC 8092).
fn is_community_value(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [high, low] => high.parse::<u16>().is_ok() && low.parse::<u16>().is_ok(),
        [global, first, second] => [global, first, second]
            .iter()
            .all(|part| part.parse::<u32>().is_ok()),
        _ => false,
    }
}

fn parse_cidr(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .map(|net| net.trunc())
        .map_err(|_| "invalid CIDR: expected e.g. 10.96.0.0/12".to_owned())
}

impl BgpConfigurationDocument {
    /// The label naming this document in errors.
    pub fn label(&self, document: usize) -> DocumentLabel {
        self.metadata.label(BGP_CONFIGURATION_KIND, document)
    }

    /// Only the identity, for deleting by file.
    pub(crate) fn name(&self, document: usize) -> Result<ResourceName, DocumentError> {
        self.metadata.checked_name(self.label(document))
    }

    /// Refuses, in `File` mode, names Calico does not define, naming the section.
    pub(crate) fn check_names(&self, strictness: Strictness) -> Result<(), Problem> {
        self.metadata
            .check_document_names(
                strictness,
                (&self.extra, &[]),
                (&self.spec.extra, MODELLED_SPEC, KNOWN_SPEC),
            )
            .map_err(Problem::Unreadable)
    }

    /// Validates the document into a configuration.
    pub fn validate(&self, document: usize) -> Result<BgpConfigurationResource, DocumentError> {
        let spec = &self.spec;
        let mut fields = Vec::new();
        let name = self.metadata.check(&mut fields);
        let mut fail = |field: &'static str, value: String, reason: String| {
            fields.push(FieldError {
                field: field.into(),
                value: Some(value),
                reason,
            })
        };

        let log_severity_screen = spec.log_severity_screen.as_ref().and_then(|text| {
            // Calico compares case-insensitively and stores the canonical spelling.
            match LOG_SEVERITIES
                .iter()
                .find(|severity| severity.eq_ignore_ascii_case(text))
            {
                Some(severity) => Some((*severity).to_owned()),
                None => {
                    fail(
                        "logSeverityScreen",
                        text.clone(),
                        "must be one of: Debug, Info, Warning, Error, Fatal".to_owned(),
                    );
                    None
                }
            }
        });
        let as_number = spec
            .as_number
            .as_ref()
            .and_then(|value| match value.to_asn() {
                Some(asn) => Some(asn),
                None => {
                    fail(
                        "asNumber",
                        value.to_string(),
                        "invalid AS Number format".to_owned(),
                    );
                    None
                }
            });
        let listen_port = spec.listen_port.and_then(|port| match u16::try_from(port) {
            Ok(port) if port >= 1 => Some(port),
            _ => {
                fail(
                    "listenPort",
                    port.to_string(),
                    "must be between 1 and 65535".to_owned(),
                );
                None
            }
        });
        let mut communities = Vec::new();
        for community in &spec.communities {
            if community.name.is_empty() {
                fail(
                    "communities.name",
                    community.value.clone(),
                    "required".to_owned(),
                );
            } else if !is_community_value(&community.value) {
                fail(
                    "communities.value",
                    community.value.clone(),
                    "must be aa:nn (16-bit parts) or aa:nn:mm (32-bit parts)".to_owned(),
                );
            } else {
                communities.push(Community {
                    name: community.name.clone(),
                    value: community.value.clone(),
                });
            }
        }
        let mut prefix_advertisements = Vec::new();
        for advertisement in &spec.prefix_advertisements {
            let cidr = match parse_cidr(&advertisement.cidr) {
                Ok(cidr) => Some(cidr),
                Err(reason) => {
                    fail(
                        "prefixAdvertisements.cidr",
                        advertisement.cidr.clone(),
                        reason,
                    );
                    None
                }
            };
            for community in &advertisement.communities {
                let named = spec
                    .communities
                    .iter()
                    .any(|known| &known.name == community);
                if !named && !is_community_value(community) {
                    fail(
                        "prefixAdvertisements.communities",
                        community.clone(),
                        "neither a community value nor a name defined in communities".to_owned(),
                    );
                }
            }
            if let Some(cidr) = cidr {
                prefix_advertisements.push(PrefixAdvertisement {
                    cidr,
                    communities: advertisement.communities.clone(),
                });
            }
        }
        if let Some(value) = spec.extra.get("nodeMeshMaxRestartTime") {
            match value.as_str().map(super::parse_duration) {
                Some(Ok(_)) => {}
                Some(Err(reason)) => fail(
                    "nodeMeshMaxRestartTime",
                    value.as_str().unwrap_or_default().to_owned(),
                    reason,
                ),
                None if value.is_null() => {}
                None => fail(
                    "nodeMeshMaxRestartTime",
                    serde_yaml::to_string(value)
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                    "must be a duration such as 120s".to_owned(),
                ),
            }
        }
        if let Some(value) = spec
            .extra
            .get("nodeMeshPassword")
            .filter(|value| !value.is_null())
        {
            // A Secret is valid for Calico (the daemon then runs no mesh).
            if let Err(reason) = mesh_password(value) {
                if !reason.starts_with(SECRET_REASON) {
                    fail(
                        "nodeMeshPassword",
                        serde_yaml::to_string(value)
                            .unwrap_or_default()
                            .trim()
                            .to_owned(),
                        reason,
                    );
                }
            }
        }
        if let Some(value) = spec.extra.get("bindMode").filter(|value| !value.is_null()) {
            if !matches!(value.as_str(), Some("" | "None" | "NodeIP")) {
                fail(
                    "bindMode",
                    serde_yaml::to_string(value)
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                    "must be one of: None, NodeIP".to_owned(),
                );
            }
        }
        let mut prefixes = |field: &'static str, entries: &[ServicePrefixDocument]| {
            let mut parsed = Vec::new();
            for entry in entries {
                match parse_cidr(&entry.cidr) {
                    Ok(cidr) => parsed.push(cidr),
                    Err(reason) => fail(field, entry.cidr.clone(), reason),
                }
            }
            parsed
        };
        let service_cluster_ips = prefixes("serviceClusterIPs", &spec.service_cluster_ips);
        let service_external_ips = prefixes("serviceExternalIPs", &spec.service_external_ips);
        let service_load_balancer_ips =
            prefixes("serviceLoadBalancerIPs", &spec.service_load_balancer_ips);
        finish(self.label(document), fields, name, |name| {
            BgpConfigurationResource {
                name,
                labels: self.metadata.labels.clone(),
                log_severity_screen,
                node_to_node_mesh_enabled: spec.node_to_node_mesh_enabled,
                as_number,
                listen_port,
                communities,
                prefix_advertisements,
                service_cluster_ips,
                service_external_ips,
                service_load_balancer_ips,
                unmodelled: Unmodelled {
                    top: self.extra.clone(),
                    metadata: self.metadata.extra.clone(),
                    spec: spec.extra.clone(),
                    bgp: serde_yaml::Mapping::new(),
                },
            }
        })
    }
}

impl From<&BgpConfigurationResource> for BgpConfigurationDocument {
    fn from(config: &BgpConfigurationResource) -> Self {
        let prefixes = |nets: &[IpNet]| {
            nets.iter()
                .map(|net| ServicePrefixDocument {
                    cidr: net.to_string(),
                })
                .collect()
        };
        BgpConfigurationDocument {
            api_version: super::API_VERSION_V3.to_owned(),
            kind: BGP_CONFIGURATION_KIND.to_owned(),
            metadata: ObjectMetadata::from_model(
                &config.name,
                &config.labels,
                &config.unmodelled.metadata,
            ),
            extra: config.unmodelled.top.clone(),
            spec: BgpConfigurationSpec {
                log_severity_screen: config.log_severity_screen.clone(),
                node_to_node_mesh_enabled: config.node_to_node_mesh_enabled,
                as_number: config
                    .as_number
                    .map(|asn| AsNumberValue::Integer(u64::from(asn.0))),
                listen_port: config.listen_port.map(i64::from),
                communities: config
                    .communities
                    .iter()
                    .map(|community| CommunityDocument {
                        name: community.name.clone(),
                        value: community.value.clone(),
                    })
                    .collect(),
                prefix_advertisements: config
                    .prefix_advertisements
                    .iter()
                    .map(|advertisement| PrefixAdvertisementDocument {
                        cidr: advertisement.cidr.to_string(),
                        communities: advertisement.communities.clone(),
                    })
                    .collect(),
                service_cluster_ips: prefixes(&config.service_cluster_ips),
                service_external_ips: prefixes(&config.service_external_ips),
                service_load_balancer_ips: prefixes(&config.service_load_balancer_ips),
                extra: config.unmodelled.spec.clone(),
            },
        }
    }
}

/// Why a `nodeMeshPassword` naming a Kubernetes Secret is not used.
const SECRET_REASON: &str = "Kubernetes Secrets are not supported";

/// Reads `nodeMeshPassword`: `{file: PATH}` or `{env: NAME}`.
fn mesh_password(value: &serde_yaml::Value) -> Result<super::bgp_peer::PasswordSource, String> {
    use super::bgp_peer::{PasswordDocument, PasswordSource};
    let document: PasswordDocument = serde_yaml::from_value(value.clone())
        .map_err(|error| format!("must be {{file: PATH}} or {{env: NAME}}: {error}"))?;
    let present = |text: &Option<String>| text.clone().filter(|text| !text.is_empty());
    match (
        present(&document.file),
        present(&document.env),
        &document.secret_key_ref,
    ) {
        (_, _, Some(_)) => Err(format!(
            "{SECRET_REASON} (use nodeMeshPassword: {{file: PATH}} or {{env: NAME}})"
        )),
        (Some(file), None, None) => Ok(PasswordSource::File(file.into())),
        (None, Some(env), None) => Ok(PasswordSource::Env(env)),
        _ => Err("exactly one of file and env is required".to_owned()),
    }
}
