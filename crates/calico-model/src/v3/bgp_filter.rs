//! The v3 `BGPFilter` (Calico `api/pkg/apis/projectcalico/v3/bgpfilter.go`,
//! 3.26): ordered import and export rules per family, which a BGPPeer names
//! in its `filters` to decide which routes it takes from, and sends to, that
//! peer.
//!
//! A rule matches a route when every condition it sets holds, and a rule
//! with none matches every route (calico-node renders each rule into one
//! `if … then accept|reject` of a BIRD function, `confd` template function
//! `filterStatement`):
//!
//! - `cidr` with `matchOperator`: `In` (the prefix is `cidr` or more
//!   specific), `NotIn`, `Equal`, `NotEqual`. With `prefixLength` the CIDR
//!   becomes the prefix set `cidr{max(len, min), min(32|128, max)}` (BIRD's
//!   `net ~ [ … ]`), so `NotIn` means "not in that set".
//! - `source: RemotePeers`: the route was learned from a BGP peer (not one
//!   of the node's own).
//! - `interface`: the route's outgoing interface matches a glob (BIRD's
//!   `ifname ~ "…"`): the daemon resolves it into the networks of the
//!   node's interfaces that match, and the route's next hop must lie in one.
//!
//! Rules, with Calico's messages where it has one: `action` is required,
//! `Accept` or `Reject`; `cidr` and `matchOperator` are both set or both
//! empty; `prefixLength` needs `cidr`; `cidr` is a network of the list's
//! family; `prefixLength` bounds are 0–32 (IPv4) or 0–128 (IPv6);
//! `interface` is 1–15 characters of `[a-zA-Z0-9_.*-]`.
//!
//! nodebgp adds two checks Calico lacks (each would render a BIRD filter that
//! does not do what it says): `prefixLength.min` not above `max`, and no
//! `prefixLength` with `Equal` or `NotEqual` (BIRD compares a prefix with a
//! set there, which is never equal).
//!
//! Calico 3.32's rule fields (`peerType`, `communities`, `asPathPrefix`,
//! `priority`, `operations`) are kept verbatim; a peer using a filter that
//! sets one is not run ([`BgpFilterResource::unsupported`] says why):
//! refusing the session rather than guessing keeps the filter's rejections.

use std::fmt;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::unmodelled::{Strictness, Unmodelled};
use super::{finish, Labels, ObjectMetadata, ResourceName};
use crate::error::{DocumentError, DocumentLabel, FieldError, Problem};

/// The `kind` of a v3 BGP filter.
pub const BGP_FILTER_KIND: &str = "BGPFilter";

/// How a rule's `cidr` is compared with a route's prefix (`matchOperator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOperator {
    /// The prefix is the CIDR.
    Equal,
    /// The prefix is not the CIDR.
    NotEqual,
    /// The prefix is the CIDR or more specific.
    In,
    /// The prefix is not within the CIDR.
    NotIn,
}

impl MatchOperator {
    const ALL: [MatchOperator; 4] = [
        MatchOperator::Equal,
        MatchOperator::NotEqual,
        MatchOperator::In,
        MatchOperator::NotIn,
    ];

    /// The name Calico writes.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOperator::Equal => "Equal",
            MatchOperator::NotEqual => "NotEqual",
            MatchOperator::In => "In",
            MatchOperator::NotIn => "NotIn",
        }
    }

    /// Reads Calico's name (case-sensitive, as its CRD enum is).
    fn parse(text: &str) -> Option<MatchOperator> {
        MatchOperator::ALL
            .into_iter()
            .find(|operator| operator.as_str() == text)
    }
}

/// What a matching rule does with the route (`action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterAction {
    /// The route is taken (import) or sent (export); later rules are not
    /// consulted.
    Accept,
    /// The route is dropped; later rules are not consulted.
    Reject,
}

impl FilterAction {
    /// The name Calico writes.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterAction::Accept => "Accept",
            FilterAction::Reject => "Reject",
        }
    }

    fn parse(text: &str) -> Option<FilterAction> {
        match text {
            "Accept" => Some(FilterAction::Accept),
            "Reject" => Some(FilterAction::Reject),
            _ => None,
        }
    }
}

impl fmt::Display for FilterAction {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The prefix lengths a rule applies to (`prefixLength`); an absent bound is
/// the CIDR's own length (`min`) or the family's longest (`max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PrefixLength {
    /// `min`.
    pub min: Option<u8>,
    /// `max`.
    pub max: Option<u8>,
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BgpFilterRule {
    /// `cidr` and `matchOperator` (set together).
    pub cidr: Option<(IpNet, MatchOperator)>,
    /// `prefixLength` (only with `cidr`).
    pub prefix_length: Option<PrefixLength>,
    /// `source: RemotePeers`: only routes learned from BGP peers.
    pub remote_peers_only: bool,
    /// `interface`, a glob over interface names.
    pub interface: Option<String>,
    /// `action`.
    pub action: FilterAction,
    /// Fields of newer Calico releases, kept verbatim.
    pub extra: serde_yaml::Mapping,
}

impl BgpFilterRule {
    /// The prefix lengths the rule's CIDR covers, as calico-node renders
    /// them: from the larger of the CIDR's length and `min` to the smaller
    /// of the family's longest and `max`; `None` without `prefixLength`.
    pub fn length_range(&self) -> Option<std::ops::RangeInclusive<u8>> {
        let (cidr, _) = self.cidr?;
        let lengths = self.prefix_length?;
        let low = lengths
            .min
            .map_or(cidr.prefix_len(), |min| min.max(cidr.prefix_len()));
        let high = lengths
            .max
            .map_or(cidr.max_prefix_len(), |max| max.min(cidr.max_prefix_len()));
        Some(low..=high)
    }
}

/// A validated v3 `BGPFilter`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BgpFilterResource {
    /// `metadata.name`.
    pub name: ResourceName,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `spec.exportV4`.
    pub export_v4: Vec<BgpFilterRule>,
    /// `spec.importV4`.
    pub import_v4: Vec<BgpFilterRule>,
    /// `spec.exportV6`.
    pub export_v6: Vec<BgpFilterRule>,
    /// `spec.importV6`.
    pub import_v6: Vec<BgpFilterRule>,
    /// The rest of the document, kept verbatim.
    pub unmodelled: Unmodelled,
}

impl BgpFilterResource {
    /// The four rule lists with their field names.
    pub fn lists(&self) -> [(&'static str, &[BgpFilterRule]); 4] {
        [
            ("exportV4", &self.export_v4),
            ("importV4", &self.import_v4),
            ("exportV6", &self.export_v6),
            ("importV6", &self.import_v6),
        ]
    }

    /// Why a peer using this filter cannot be run as asked (a field nodebgp
    /// does not evaluate), naming the first such field; `None` when nodebgp
    /// evaluates every rule.
    pub fn unsupported(&self) -> Option<String> {
        self.lists().into_iter().find_map(|(list, rules)| {
            rules.iter().enumerate().find_map(|(index, rule)| {
                rule.extra.keys().next().map(|key| {
                    format!(
                        "BGPFilter({}): {list}[{index}].{}: not evaluated by nodebgp",
                        self.name,
                        key.as_str().unwrap_or("?")
                    )
                })
            })
        })
    }
}

/// A v3 `BGPFilter` document, unvalidated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpFilterDocument {
    /// `projectcalico.org/v3`.
    pub api_version: String,
    /// `BGPFilter`.
    pub kind: String,
    /// Name and labels.
    #[serde(default)]
    pub metadata: ObjectMetadata,
    /// The rules.
    #[serde(default)]
    pub spec: BgpFilterSpec,
    /// Other top-level fields (Calico defines none): kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// `spec` of a BGP filter, unvalidated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BgpFilterSpec {
    /// Rules for the IPv4 routes sent to the peer.
    #[serde(rename = "exportV4", default, skip_serializing_if = "Option::is_none")]
    pub export_v4: Option<Vec<BgpFilterRuleDocument>>,
    /// Rules for the IPv4 routes taken from the peer.
    #[serde(rename = "importV4", default, skip_serializing_if = "Option::is_none")]
    pub import_v4: Option<Vec<BgpFilterRuleDocument>>,
    /// Rules for the IPv6 routes sent to the peer.
    #[serde(rename = "exportV6", default, skip_serializing_if = "Option::is_none")]
    pub export_v6: Option<Vec<BgpFilterRuleDocument>>,
    /// Rules for the IPv6 routes taken from the peer.
    #[serde(rename = "importV6", default, skip_serializing_if = "Option::is_none")]
    pub import_v6: Option<Vec<BgpFilterRuleDocument>>,
    /// Fields of newer Calico releases: kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// One rule, unvalidated, in Calico's field order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpFilterRuleDocument {
    /// The network routes are compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    /// The prefix lengths within `cidr` the rule covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_length: Option<PrefixLengthDocument>,
    /// `RemotePeers`: only routes learned from BGP peers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A glob over the route's outgoing interface name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// `Equal`, `NotEqual`, `In` or `NotIn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_operator: Option<String>,
    /// `Accept` or `Reject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Fields of newer Calico releases (`peerType`, `communities`,
    /// `asPathPrefix`, `priority`, `operations`): kept verbatim.
    #[serde(flatten)]
    pub extra: serde_yaml::Mapping,
}

/// `prefixLength`, unvalidated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixLengthDocument {
    /// The shortest prefix length covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// The longest prefix length covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

/// The rule fields the model holds.
const MODELLED_RULE: &[&str] = &[
    "cidr",
    "prefixLength",
    "source",
    "interface",
    "matchOperator",
    "action",
];

/// Calico 3.32's rule fields, kept verbatim.
const KNOWN_RULE: &[&str] = &[
    "peerType",
    "communities",
    "asPathPrefix",
    "priority",
    "operations",
];

/// The spec fields the model holds.
const MODELLED_SPEC: &[&str] = &["exportV4", "importV4", "exportV6", "importV6"];

fn field(
    field: impl Into<std::borrow::Cow<'static, str>>,
    value: impl ToString,
    reason: impl Into<String>,
) -> FieldError {
    FieldError {
        field: field.into(),
        value: Some(value.to_string()),
        reason: reason.into(),
    }
}

/// Whether `text` is an interface glob Calico accepts.
fn valid_interface(text: &str) -> bool {
    (1..=15).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"_.*-".contains(&byte))
}

/// Validates one rule of the list `list` (`importV4`, …) at `index`.
/// The text of an optional field, the empty text being absent.
fn present(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|text| !text.is_empty())
}

fn check_rule(
    list: &'static str,
    index: usize,
    rule: &BgpFilterRuleDocument,
    fields: &mut Vec<FieldError>,
) -> Option<BgpFilterRule> {
    let ipv4 = list.ends_with("V4");
    let (family, longest) = if ipv4 { ("IPv4", 32) } else { ("IPv6", 128) };
    let path = |name: &str| format!("{list}[{index}].{name}");
    let errors_before = fields.len();

    let action = match present(&rule.action) {
        None => {
            fields.push(FieldError {
                field: path("action").into(),
                value: None,
                reason: "required: Accept or Reject".to_owned(),
            });
            None
        }
        Some(text) => FilterAction::parse(text).or_else(|| {
            fields.push(field(
                path("action"),
                text,
                "must be one of: Accept, Reject",
            ));
            None
        }),
    };
    let operator = present(&rule.match_operator).and_then(|text| {
        MatchOperator::parse(text).or_else(|| {
            fields.push(field(
                path("matchOperator"),
                text,
                "must be one of: Equal, NotEqual, In, NotIn",
            ));
            None
        })
    });
    let cidr = present(&rule.cidr).and_then(|text| match text.parse::<IpNet>() {
        Err(_) => {
            fields.push(field(
                path("cidr"),
                text,
                format!("must be an {family} CIDR"),
            ));
            None
        }
        Ok(cidr) if cidr.addr().is_ipv4() != ipv4 => {
            fields.push(field(
                path("cidr"),
                text,
                format!("must be an {family} CIDR ({list} holds {family} rules)"),
            ));
            None
        }
        Ok(cidr) if cidr != cidr.trunc() => {
            fields.push(field(path("cidr"), text, "is not strictly masked"));
            None
        }
        Ok(cidr) => Some(cidr),
    });
    if present(&rule.cidr).is_some() != present(&rule.match_operator).is_some() {
        fields.push(field(
            path("cidr"),
            rule.cidr.as_deref().unwrap_or_default(),
            "cidr and matchOperator must both be set or both be empty",
        ));
    }
    let prefix_length = rule.prefix_length.and_then(|lengths| {
        if present(&rule.cidr).is_none() {
            fields.push(FieldError {
                field: path("prefixLength").into(),
                value: None,
                reason: "cidr is required when prefixLength is set".to_owned(),
            });
        }
        let mut bound = |name: &str, value: Option<i64>| -> Option<Option<u8>> {
            match value {
                None => Some(None),
                Some(value) => match u8::try_from(value) {
                    Ok(length) if length <= longest => Some(Some(length)),
                    _ => {
                        fields.push(field(
                            path(&format!("prefixLength.{name}")),
                            value,
                            format!("must be between 0 and {longest}"),
                        ));
                        None
                    }
                },
            }
        };
        let (min, max) = (bound("min", lengths.min)?, bound("max", lengths.max)?);
        if let (Some(low), Some(high)) = (min, max) {
            if low > high {
                fields.push(field(
                    path("prefixLength"),
                    format!("{{min: {low}, max: {high}}}"),
                    "min must not be above max (BIRD would refuse the filter calico-node renders)",
                ));
            }
        }
        if matches!(operator, Some(MatchOperator::Equal | MatchOperator::NotEqual)) {
            fields.push(field(
                path("prefixLength"),
                operator.map_or("", MatchOperator::as_str),
                "prefixLength needs matchOperator In or NotIn (BIRD compares Equal and NotEqual with a prefix set, which never equals a prefix)",
            ));
        }
        Some(PrefixLength { min, max })
    });
    let remote_peers_only = match present(&rule.source) {
        None => false,
        Some("RemotePeers") => true,
        Some(text) => {
            fields.push(field(path("source"), text, "must be RemotePeers"));
            false
        }
    };
    let interface = present(&rule.interface).map(str::to_owned);
    if let Some(text) = &interface {
        if !valid_interface(text) {
            fields.push(field(
                path("interface"),
                text,
                "must be 1-15 characters of letters, digits, '_', '.', '*' and '-'",
            ));
        }
    }
    if fields.len() > errors_before {
        return None;
    }
    Some(BgpFilterRule {
        cidr: cidr.zip(operator),
        prefix_length,
        remote_peers_only,
        interface,
        action: action?,
        extra: rule.extra.clone(),
    })
}

impl BgpFilterDocument {
    /// The label naming this document in errors.
    pub fn label(&self, document: usize) -> DocumentLabel {
        self.metadata.label(BGP_FILTER_KIND, document)
    }

    /// Only the identity, for deleting by file.
    pub(crate) fn name(&self, document: usize) -> Result<ResourceName, DocumentError> {
        self.metadata.checked_name(self.label(document))
    }

    /// Refuses, in `File` mode, names Calico does not define, naming the
    /// section (rules included).
    pub(crate) fn check_names(&self, strictness: Strictness) -> Result<(), Problem> {
        self.metadata
            .check_document_names(
                strictness,
                (&self.extra, &[]),
                (&self.spec.extra, MODELLED_SPEC, &[]),
            )
            .map_err(Problem::Unreadable)?;
        for (list, rules) in self.spec.lists() {
            for (index, rule) in rules.iter().enumerate() {
                super::unmodelled::check_level(
                    strictness,
                    &format!("spec.{list}[{index}]"),
                    &rule.extra,
                    MODELLED_RULE,
                    KNOWN_RULE,
                )
                .map_err(Problem::Unreadable)?;
            }
        }
        Ok(())
    }

    /// Validates the document into a filter (see the module documentation).
    pub fn validate(&self, document: usize) -> Result<BgpFilterResource, DocumentError> {
        let mut fields = Vec::new();
        let name = self.metadata.check(&mut fields);
        let [export_v4, import_v4, export_v6, import_v6] =
            self.spec.lists().map(|(list, rules)| {
                rules
                    .iter()
                    .enumerate()
                    .filter_map(|(index, rule)| check_rule(list, index, rule, &mut fields))
                    .collect::<Vec<_>>()
            });
        let unmodelled = Unmodelled {
            top: self.extra.clone(),
            metadata: self.metadata.extra.clone(),
            spec: self.spec.extra.clone(),
            bgp: serde_yaml::Mapping::new(),
        };
        finish(self.label(document), fields, name, |name| {
            BgpFilterResource {
                name,
                labels: self.metadata.labels.clone(),
                export_v4,
                import_v4,
                export_v6,
                import_v6,
                unmodelled,
            }
        })
    }
}

impl BgpFilterSpec {
    fn lists(&self) -> [(&'static str, &[BgpFilterRuleDocument]); 4] {
        fn rules(list: &Option<Vec<BgpFilterRuleDocument>>) -> &[BgpFilterRuleDocument] {
            list.as_deref().unwrap_or_default()
        }
        [
            ("exportV4", rules(&self.export_v4)),
            ("importV4", rules(&self.import_v4)),
            ("exportV6", rules(&self.export_v6)),
            ("importV6", rules(&self.import_v6)),
        ]
    }
}

impl From<&BgpFilterRule> for BgpFilterRuleDocument {
    fn from(rule: &BgpFilterRule) -> Self {
        BgpFilterRuleDocument {
            cidr: rule.cidr.map(|(cidr, _)| cidr.to_string()),
            prefix_length: rule.prefix_length.map(|lengths| PrefixLengthDocument {
                min: lengths.min.map(i64::from),
                max: lengths.max.map(i64::from),
            }),
            source: rule.remote_peers_only.then(|| "RemotePeers".to_owned()),
            interface: rule.interface.clone(),
            match_operator: rule.cidr.map(|(_, operator)| operator.as_str().to_owned()),
            action: Some(rule.action.as_str().to_owned()),
            extra: rule.extra.clone(),
        }
    }
}

impl From<&BgpFilterResource> for BgpFilterDocument {
    /// The document as Calico stores it: empty lists left out (Go's
    /// `omitempty`).
    fn from(filter: &BgpFilterResource) -> Self {
        let list = |rules: &[BgpFilterRule]| {
            (!rules.is_empty()).then(|| rules.iter().map(BgpFilterRuleDocument::from).collect())
        };
        BgpFilterDocument {
            api_version: super::API_VERSION_V3.to_owned(),
            kind: BGP_FILTER_KIND.to_owned(),
            metadata: ObjectMetadata::from_model(
                &filter.name,
                &filter.labels,
                &filter.unmodelled.metadata,
            ),
            extra: filter.unmodelled.top.clone(),
            spec: BgpFilterSpec {
                export_v4: list(&filter.export_v4),
                import_v4: list(&filter.import_v4),
                export_v6: list(&filter.export_v6),
                import_v6: list(&filter.import_v6),
                extra: filter.unmodelled.spec.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Resource;

    fn document(spec: &str) -> String {
        format!("apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {{name: edge}}\nspec:\n{spec}")
    }

    fn read(spec: &str) -> Result<BgpFilterResource, String> {
        match crate::parse_resources(&document(spec)) {
            Ok(mut resources) => match resources.remove(0) {
                Resource::BgpFilter(filter) => Ok(filter),
                other => panic!("not a filter: {other:?}"),
            },
            Err(error) => Err(error.to_string()),
        }
    }

    fn refused(spec: &str) -> String {
        read(spec).expect_err("refused")
    }

    #[test]
    fn a_filter_reads_and_writes_back_as_calico_stores_it() {
        let spec = "  exportV4:\n  - {action: Accept, matchOperator: In, cidr: 10.0.0.0/8, prefixLength: {min: 16, max: 24}}\n  - {action: Reject, source: RemotePeers}\n  importV6:\n  - {action: Reject, matchOperator: NotEqual, cidr: '2001:db8::/32'}\n";
        let filter = read(spec).unwrap();
        assert_eq!(filter.name.as_str(), "edge");
        assert_eq!(
            filter.export_v4[0].cidr,
            Some(("10.0.0.0/8".parse().unwrap(), MatchOperator::In))
        );
        assert_eq!(filter.export_v4[0].length_range(), Some(16..=24));
        assert!(filter.export_v4[1].remote_peers_only);
        assert_eq!(filter.export_v4[1].action, FilterAction::Reject);
        assert!(filter.import_v4.is_empty() && filter.export_v6.is_empty());
        assert_eq!(filter.unsupported(), None);
        let written = serde_yaml::to_string(&Resource::BgpFilter(filter.clone())).unwrap();
        assert!(!written.contains("importV4"), "{written}");
        let again: Resource = serde_yaml::from_str(&written).unwrap();
        assert_eq!(again, Resource::BgpFilter(filter));
    }

    #[test]
    fn a_length_range_is_clamped_to_the_cidr_and_the_family() {
        let filter = read("  exportV6:\n  - {action: Accept, matchOperator: In, cidr: '2001:db8::/32', prefixLength: {min: 8}}\n").unwrap();
        assert_eq!(filter.export_v6[0].length_range(), Some(32..=128));
    }

    #[test]
    fn each_rule_is_checked_with_its_path_in_the_message() {
        for (spec, expected) in [
            ("  importV4:\n  - {cidr: 10.0.0.0/8, matchOperator: In}\n", "importV4[0].action (required: Accept or Reject)"),
            ("  importV4:\n  - {action: accept}\n", "importV4[0].action = 'accept' (must be one of: Accept, Reject)"),
            ("  importV4:\n  - {action: Accept, cidr: 10.0.0.0/8}\n", "cidr and matchOperator must both be set or both be empty"),
            ("  importV4:\n  - {action: Accept, matchOperator: In}\n", "cidr and matchOperator must both be set or both be empty"),
            ("  importV4:\n  - {action: Accept, matchOperator: Within, cidr: 10.0.0.0/8}\n", "importV4[0].matchOperator = 'Within' (must be one of: Equal, NotEqual, In, NotIn)"),
            ("  exportV4:\n  - {action: Accept, prefixLength: {min: 8}}\n", "exportV4[0].prefixLength (cidr is required when prefixLength is set)"),
            ("  importV6:\n  - {action: Accept, matchOperator: In, cidr: 10.0.0.0/8}\n", "importV6[0].cidr = '10.0.0.0/8' (must be an IPv6 CIDR (importV6 holds IPv6 rules))"),
            ("  importV4:\n  - {action: Accept, matchOperator: In, cidr: 10.0.0.1/8}\n", "importV4[0].cidr = '10.0.0.1/8' (is not strictly masked)"),
            ("  importV4:\n  - {action: Accept, matchOperator: In, cidr: 10.0.0.0/8, prefixLength: {max: 33}}\n", "importV4[0].prefixLength.max = '33' (must be between 0 and 32)"),
            ("  importV4:\n  - {action: Accept, matchOperator: In, cidr: 10.0.0.0/8, prefixLength: {min: 24, max: 16}}\n", "min must not be above max"),
            ("  importV4:\n  - {action: Accept, matchOperator: Equal, cidr: 10.0.0.0/8, prefixLength: {min: 16}}\n", "prefixLength needs matchOperator In or NotIn"),
            ("  importV4:\n  - {action: Accept, source: Local}\n", "importV4[0].source = 'Local' (must be RemotePeers)"),
            ("  importV4:\n  - {action: Accept, interface: 'eth0;reboot'}\n", "importV4[0].interface = 'eth0;reboot'"),
            ("  importV4:\n  - {action: Accept}\n  - {action: Reject, matchOperator: In}\n", "importV4[1].cidr"),
        ] {
            let message = refused(spec);
            assert!(message.contains("BGPFilter(edge)"), "{message}");
            assert!(message.contains(expected), "{spec}: {message}");
        }
    }

    #[test]
    fn a_misspelt_rule_field_is_refused_and_newer_calico_fields_are_kept() {
        let message = refused("  importV4:\n  - {action: Accept, cdir: 10.0.0.0/8}\n");
        assert!(message.contains("spec.importV4[0]"), "{message}");
        assert!(message.contains("cdir"), "{message}");
        let newer = read("  importV4:\n  - {action: Accept, peerType: eBGP}\n").unwrap();
        assert_eq!(
            newer.import_v4[0]
                .extra
                .get("peerType")
                .and_then(|value| value.as_str()),
            Some("eBGP")
        );
        let reason = newer.unsupported().unwrap();
        assert!(reason.contains("importV4[0].peerType"), "{reason}");
        let written = serde_yaml::to_string(&Resource::BgpFilter(newer)).unwrap();
        assert!(written.contains("peerType: eBGP"), "{written}");
    }
}
