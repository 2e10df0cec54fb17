//! The BGPPeer fields Calico defines beyond what nodebgp models, and the peers
//! nodebgp must not run because of them.
//!
//! Calico's `BGPPeerSpec` (`api/pkg/apis/projectcalico/v3/bgppeer.go`) also has
//! `filters` (3.26), `reachableBy` (3.25), `localWorkloadSelector` (3.30),
//! `localASNumber`, `nextHopMode` and `reversePeering` (3.31). Their values are
//! checked by Calico's rules (the v3 validator and the CRD's CEL rules, with
//! their messages) and kept verbatim. A peer that sets one to something nodebgp
//! cannot carry out is read as an
//! [`UnsupportedBgpPeer`]: listed, printed and
//! written back like any resource, but never a [`BgpPeerV3`](super::bgp_peer::BgpPeerV3),
//! so no session is ever run with a policy other than the one asked for. The
//! same holds, in a datastore, for a Kubernetes Secret password and for spec
//! fields nodebgp does not know at all (a newer Calico's).
//!
//! `filters` are run: the daemon compiles the named BGPFilters
//! ([`super::bgp_filter`]) into the session's import and export rules; so
//! is `reachableBy`: the daemon routes the peer's address through the gateway
//! in the kernel; and `localWorkloadSelector`: the daemon peers with the
//! workloads Felix's endpoint status files say it selects.

use std::net::IpAddr;

use serde_yaml::{Mapping, Value};

use super::bgp_peer::BgpPeerV3Spec;
use super::unmodelled::Strictness;
use super::{Labels, ResourceName};
use crate::document::AsNumberValue;
use crate::error::FieldError;
use crate::model::parse_peer_ip;
use crate::selector::Selector;

/// Calico's BGPPeer spec fields nodebgp does not model.
pub(crate) const KNOWN_SPEC: &[&str] = &[
    "localASNumber",
    "nextHopMode",
    "reachableBy",
    "filters",
    "localWorkloadSelector",
    "reversePeering",
];

/// Why a datastore peer with a Kubernetes Secret password is not run.
pub(crate) const SECRET_KEY_REF: &str = "spec.password.secretKeyRef: Kubernetes Secrets are not supported (use password: {file: PATH} or {env: NAME})";

/// A v3 `BGPPeer` that is valid for Calico but asks for something nodebgp
/// cannot do: kept and printed as written, never run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnsupportedBgpPeer {
    /// `metadata.name`.
    pub name: ResourceName,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `spec.node`.
    pub node: Option<ResourceName>,
    /// `spec.nodeSelector`.
    pub node_selector: Option<Selector>,
    /// The address of `spec.peerIP`, if it has one.
    pub peer_address: Option<IpAddr>,
    /// Why nodebgp does not run it, one entry per field.
    pub reasons: Vec<String>,
    /// The whole document as read (without `resourceVersion`).
    document: Value,
}

impl UnsupportedBgpPeer {
    pub(crate) fn new(
        name: ResourceName,
        labels: Labels,
        node: Option<ResourceName>,
        node_selector: Option<Selector>,
        peer_address: Option<IpAddr>,
        reasons: Vec<String>,
        document: &super::bgp_peer::BgpPeerV3Document,
    ) -> Self {
        // The document's own fields are strings, numbers, booleans and maps of
        // them: conversion to a YAML value cannot fail.
        let document = serde_yaml::to_value(document).unwrap_or(Value::Null);
        UnsupportedBgpPeer {
            name,
            labels,
            node,
            node_selector,
            peer_address,
            reasons,
            document,
        }
    }

    /// Whether every node would run it (neither `node` nor `nodeSelector`).
    pub fn is_global(&self) -> bool {
        self.node.is_none() && self.node_selector.is_none()
    }

    /// Whether the node `name` with `labels` would run it, were it supported.
    pub fn applies_to(&self, name: &str, labels: &Labels) -> bool {
        match (&self.node, &self.node_selector) {
            (Some(node), _) => node.as_str() == name,
            (None, Some(selector)) => selector.matches(labels),
            (None, None) => true,
        }
    }

    /// The reasons as one line.
    pub fn reason(&self) -> String {
        self.reasons.join("; ")
    }

    /// The document as read, written back as it is.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The document's `metadata`, for the store's `uid` and `creationTimestamp`.
    pub(crate) fn metadata_mut(&mut self) -> Option<&mut Mapping> {
        let document = self.document.as_mapping_mut()?;
        let key = Value::String("metadata".to_owned());
        if !document.contains_key(&key) {
            document.insert(key.clone(), Value::Mapping(Mapping::new()));
        }
        document.get_mut(&key)?.as_mapping_mut()
    }

    pub(crate) fn metadata(&self) -> Option<&Mapping> {
        self.document.get("metadata")?.as_mapping()
    }
}

/// `localWorkloadSelector`, when set.
pub(crate) fn local_workload_selector(spec: &BgpPeerV3Spec) -> Option<&str> {
    spec.extra
        .get("localWorkloadSelector")
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
}

fn field(field: &'static str, value: impl ToString, reason: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        value: Some(value.to_string()),
        reason: reason.into(),
    }
}

/// A value as the user would recognise it in a message.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => serde_yaml::to_string(other)
            .map(|text| text.trim_end().to_owned())
            .unwrap_or_default(),
    }
}

/// A text field: `None` when absent, null or empty (Go's zero value).
fn text<'spec>(
    extra: &'spec Mapping,
    name: &'static str,
    fields: &mut Vec<FieldError>,
) -> Option<&'spec str> {
    match extra.get(name)? {
        Value::Null => None,
        Value::String(text) if text.is_empty() => None,
        Value::String(text) => Some(text),
        other => {
            fields.push(field(name, shown(other), "must be a string"));
            None
        }
    }
}

/// Checks Calico's other BGPPeer fields into `fields` and returns why nodebgp
/// cannot run the peer (empty when it can).
pub(crate) fn check(
    spec: &BgpPeerV3Spec,
    strictness: Strictness,
    fields: &mut Vec<FieldError>,
) -> Vec<String> {
    let extra = &spec.extra;
    let mut reasons = Vec::new();
    let present = |text: &Option<String>| text.as_deref().is_some_and(|text| !text.is_empty());

    match extra.get("filters") {
        None | Some(Value::Null) => {}
        Some(Value::Sequence(items)) => {
            // Run: the daemon applies the named BGPFilters.
            for item in items {
                if !matches!(item.as_str().map(ResourceName::new), Some(Ok(_))) {
                    fields.push(field(
                        "filters",
                        shown(item),
                        "must be BGPFilter names (DNS-1123 subdomains)",
                    ));
                }
            }
        }
        Some(other) => fields.push(field(
            "filters",
            shown(other),
            "must be a list of BGPFilter names",
        )),
    }

    if let Some(text) = text(extra, "reachableBy", fields) {
        match text.parse::<IpAddr>() {
            Ok(gateway) => {
                let peer = spec
                    .peer_ip
                    .as_deref()
                    .filter(|text| !text.is_empty())
                    .and_then(|text| parse_peer_ip(text).ok());
                if !present(&spec.peer_ip) {
                    fields.push(field(
                        "reachableBy",
                        text,
                        "reachableBy must be empty when peerIP is empty",
                    ));
                } else if peer.is_some_and(|(peer, _)| peer.is_ipv4() != gateway.is_ipv4()) {
                    fields.push(field(
                        "reachableBy",
                        text,
                        "ReachableBy and PeerIP address family mismatched",
                    ));
                }
            }
            Err(_) => fields.push(field("reachableBy", text, "must be an IP address")),
        }
    }

    if let Some(text) = text(extra, "localWorkloadSelector", fields) {
        if let Err(error) = Selector::parse(text) {
            fields.push(field("localWorkloadSelector", text, error.to_string()));
        }
        if let Some(peer_ip) = spec.peer_ip.as_deref().filter(|text| !text.is_empty()) {
            fields.push(field(
                "peerIP",
                peer_ip,
                "peerIP must be empty when localWorkloadSelector is set",
            ));
        }
        if let Some(selector) = spec
            .peer_selector
            .as_deref()
            .filter(|text| !text.is_empty())
        {
            fields.push(field(
                "peerSelector",
                selector,
                "peerSelector must be empty when localWorkloadSelector is set",
            ));
        }
        if spec.as_number.is_none() {
            fields.push(FieldError {
                field: "asNumber".into(),
                value: None,
                reason: "asNumber is required when localWorkloadSelector is set".to_owned(),
            });
        }
    }

    if let Some(text) = text(extra, "nextHopMode", fields) {
        if !["Auto", "Self", "Keep"].contains(&text) {
            fields.push(field(
                "nextHopMode",
                text,
                "must be one of: Auto, Self, Keep",
            ));
        } else if spec.keep_original_next_hop == Some(true) {
            fields.push(field(
                "nextHopMode",
                text,
                "keepOriginalNextHop and nextHopMode cannot both be set; keepOriginalNextHop is deprecated, use nextHopMode instead",
            ));
        }
    }

    match extra.get("localASNumber") {
        None | Some(Value::Null) => {}
        Some(value) => match serde_yaml::from_value::<AsNumberValue>(value.clone())
            .ok()
            .and_then(|number| number.to_asn())
        {
            // Run: the session's own AS (BgpPeerV3::local_as_number).
            Some(_) => {}
            None => fields.push(field(
                "localASNumber",
                shown(value),
                "invalid AS Number format",
            )),
        },
    }

    if let Some(text) = text(extra, "reversePeering", fields) {
        match text {
            // Run: Manual only turns off the reverse peering
            // (BgpPeerV3::reverse_peering).
            "Auto" | "Manual" => {}
            other => fields.push(field(
                "reversePeering",
                other,
                "must be one of: Auto, Manual",
            )),
        }
    }

    // In a file these were refused by name already; a datastore may hold a
    // newer Calico's fields, whose effect on the session nodebgp cannot know.
    if strictness == Strictness::Store {
        for key in extra.keys() {
            let name = key.as_str().map_or_else(|| shown(key), str::to_owned);
            if !KNOWN_SPEC.contains(&name.as_str()) {
                reasons.push(format!(
                    "spec.{name}: not a BGPPeer field nodebgp knows, so it cannot tell how the peer should run"
                ));
            }
        }
    }
    reasons
}
