//! Reading files of resource documents and printing resources back.
//!
//! A file may hold several YAML documents separated by `---`, a YAML list of
//! resources, a `bgpPeerList` (or v3 `BGPPeerList`, `NodeList`,
//! `BGPConfigurationList`, `IPPoolList`, `BlockAffinityList`, `IPAMBlockList`)
//! with `items`, or the same as JSON (one value or several
//! concatenated). Every resource is validated before any is returned, and every
//! invalid one is reported. [`parse_documents`] and [`parse_keys`] read v1
//! bgpPeers only; [`parse_resources`] and [`parse_resource_keys`] read every kind.
//!
//! Files are read strictly: a field name Calico does not define is refused by
//! name, as calicoctl does; Calico's own fields that nodebgp does not model are
//! accepted and kept verbatim. `metadata.resourceVersion` is the revision the
//! document was read at ([`stored_resources_to_yaml`] prints it): the verbs
//! check it on replace, apply and delete.

use serde::Deserialize;

use crate::document::{
    BgpPeerDocument, BgpPeerMetadata, BgpPeerSpec, Purpose, API_VERSION, KIND, LIST_KIND,
};
use crate::error::{DocumentError, DocumentLabel, ParseError, Problem};
use crate::model::{BgpPeer, PeerKey};
use crate::resource::{AnyDocument, Resource, ResourceKey};
use crate::stored::{Revision, StoredResource};
use crate::v3::unmodelled::Strictness;
use crate::v3::API_VERSION_V3;

/// The v3 list kinds (`calicoctl get -o yaml` prints several resources as one).
const V3_LIST_KINDS: [&str; 7] = [
    "BGPPeerList",
    "BGPFilterList",
    "NodeList",
    "BGPConfigurationList",
    "IPPoolList",
    "BlockAffinityList",
    "IPAMBlockList",
];

/// Parses and validates every bgpPeer in `text` (YAML or JSON). An empty input gives
/// no peers.
pub fn parse_documents(text: &str) -> Result<Vec<BgpPeer>, ParseError> {
    check_all(text, |document, position| document.validate(position))
}

/// Parses and validates every resource of any kind in `text` (YAML or JSON).
pub fn parse_resources(text: &str) -> Result<Vec<Resource>, ParseError> {
    check_all_kinds(text, |document, position| {
        document.validate(position, Strictness::File)
    })
}

/// As [`parse_resources`], with each resource's `metadata.resourceVersion`.
pub fn parse_resources_with_revisions(
    text: &str,
) -> Result<Vec<(Resource, Option<Revision>)>, ParseError> {
    check_all_kinds(text, |document, position| {
        let resource = document.validate(position, Strictness::File)?;
        Ok((resource, document.revision(position)?))
    })
}

/// Parses the identities of every resource in `text`, for deleting by file: a v1
/// bgpPeer as in [`parse_keys`], a v3 resource by its kind and `metadata.name`.
pub fn parse_resource_keys(text: &str) -> Result<Vec<ResourceKey>, ParseError> {
    check_all_kinds(text, |document, position| document.identify(position))
}

/// As [`parse_resource_keys`], with each resource's `metadata.resourceVersion`.
pub fn parse_resource_keys_with_revisions(
    text: &str,
) -> Result<Vec<(ResourceKey, Option<Revision>)>, ParseError> {
    check_all_kinds(text, |document, position| {
        Ok((document.identify(position)?, document.revision(position)?))
    })
}

fn check_all_kinds<T>(
    text: &str,
    mut check: impl FnMut(&AnyDocument, usize) -> Result<T, DocumentError>,
) -> Result<Vec<T>, ParseError> {
    check_values(text, |value, position| {
        let label = label_of(&value, position);
        let document =
            AnyDocument::read(value, Strictness::File).map_err(|problem| DocumentError {
                document: label,
                problem,
            })?;
        check(&document, position)
    })
}

/// Parses the identities in `text`, for deleting by file: `spec.asNumber` may be
/// absent, but everything present must still be valid.
pub fn parse_keys(text: &str) -> Result<Vec<PeerKey>, ParseError> {
    check_all(text, |document, position| {
        document
            .check(position, Purpose::Identify)
            .map(|(key, _)| key)
    })
}

fn check_all<T>(
    text: &str,
    mut check: impl FnMut(&BgpPeerDocument, usize) -> Result<T, DocumentError>,
) -> Result<Vec<T>, ParseError> {
    check_values(text, |value, position| {
        let label = label_of(&value, position);
        let document = read_document(value).map_err(|problem| DocumentError {
            document: label,
            problem,
        })?;
        check(&document, position)
    })
}

/// Locates every resource value in `text` and checks each, collecting every error.
fn check_values<T>(
    text: &str,
    mut check: impl FnMut(serde_yaml::Value, usize) -> Result<T, DocumentError>,
) -> Result<Vec<T>, ParseError> {
    let mut resources = Vec::new();
    for value in read_values(text)? {
        flatten(value, &mut resources);
    }
    let mut checked = Vec::with_capacity(resources.len());
    let mut errors = Vec::new();
    for (index, resource) in resources.into_iter().enumerate() {
        let position = index + 1;
        match resource {
            Ok(value) => match check(value, position) {
                Ok(result) => checked.push(result),
                Err(error) => errors.push(error),
            },
            Err(problem) => errors.push(DocumentError {
                document: DocumentLabel::Index(position),
                problem,
            }),
        }
    }
    if errors.is_empty() {
        Ok(checked)
    } else {
        Err(ParseError::Invalid(errors))
    }
}

/// Splits the text into top-level values. JSON goes through serde_json so that
/// what YAML 1.1 would trip on (tabs) is still read; YAML is the fallback because
/// a YAML flow sequence also starts with `[`.
fn read_values(text: &str) -> Result<Vec<serde_yaml::Value>, ParseError> {
    let trimmed = text.trim_start();
    let json_error = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        match read_json_values(text) {
            Ok(values) => return Ok(values),
            Err(error) => Some(error),
        }
    } else {
        None
    };
    let mut values = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        match serde_yaml::Value::deserialize(document) {
            Ok(serde_yaml::Value::Null) => {}
            Ok(value) => values.push(value),
            // The document iterator yields the same error forever: stop at the first.
            Err(error) => return Err(ParseError::Syntax(json_error.unwrap_or(error.to_string()))),
        }
    }
    Ok(values)
}

fn read_json_values(text: &str) -> Result<Vec<serde_yaml::Value>, String> {
    let mut values = Vec::new();
    for value in serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>() {
        let value = value.map_err(|error| error.to_string())?;
        values.push(serde_yaml::to_value(value).map_err(|error| error.to_string())?);
    }
    Ok(values)
}

/// One resource to check, or why it could not even be located.
type Located = Result<serde_yaml::Value, Problem>;

/// The kinds a file may name under each apiVersion, as Calico spells them.
const V1_KINDS: [&str; 2] = [KIND, LIST_KIND];
const V3_KINDS: [&str; 7] = [
    crate::v3::bgp_peer::BGP_PEER_KIND,
    crate::v3::node::NODE_KIND,
    crate::v3::bgp_configuration::BGP_CONFIGURATION_KIND,
    crate::v3::ip_pool::IP_POOL_KIND,
    crate::v3::block_affinity::BLOCK_AFFINITY_KIND,
    crate::v3::ipam_block::IPAM_BLOCK_KIND,
    crate::v3::bgp_filter::BGP_FILTER_KIND,
];

/// `kind: BgpPeer` is `BGPPeer`: kinds are case-insensitive on the command
/// line, so they are in files too. The apiVersion says which spelling is
/// meant (`v1` `bgpPeer`, `projectcalico.org/v3` `BGPPeer`).
fn normalise_kind(mapping: &mut serde_yaml::Mapping) {
    let version = text_field(mapping, "apiVersion");
    let kind = text_field(mapping, "kind");
    let known: Vec<&str> = if version == API_VERSION {
        V1_KINDS.to_vec()
    } else if version == API_VERSION_V3 {
        V3_KINDS
            .iter()
            .chain(V3_LIST_KINDS.iter())
            .copied()
            .collect()
    } else {
        return;
    };
    if let Some(canonical) = known
        .into_iter()
        .find(|known| *known != kind && known.eq_ignore_ascii_case(&kind))
    {
        mapping.insert("kind".into(), canonical.into());
    }
}

/// Names a document that could not be read by what it says it is, when it
/// says (`BGPPeer(rack1-tor)`, `bgpPeer(peerIP=10.0.0.1)`), else by position.
fn label_of(value: &serde_yaml::Value, position: usize) -> DocumentLabel {
    let Some(mapping) = value.as_mapping() else {
        return DocumentLabel::Index(position);
    };
    let kind = text_field(mapping, "kind");
    let metadata = mapping
        .get("metadata")
        .and_then(serde_yaml::Value::as_mapping);
    let field = |name: &str| metadata.map(|metadata| text_field(metadata, name));
    if kind == KIND {
        if let Some(peer_ip) = field("peerIP").filter(|ip| !ip.is_empty()) {
            let node = field("node").filter(|node| !node.is_empty());
            return DocumentLabel::Identity { node, peer_ip };
        }
    } else if let (Some(kind), Some(name)) = (
        V3_KINDS.iter().find(|known| **known == kind),
        field("name").filter(|name| !name.is_empty()),
    ) {
        return DocumentLabel::Named { kind, name };
    }
    DocumentLabel::Index(position)
}

fn flatten(mut value: serde_yaml::Value, resources: &mut Vec<Located>) {
    if let serde_yaml::Value::Mapping(mapping) = &mut value {
        normalise_kind(mapping);
    }
    match value {
        serde_yaml::Value::Sequence(items) => {
            for item in items {
                match item {
                    serde_yaml::Value::Sequence(_) => resources.push(Err(Problem::Unreadable(
                        "a list item must be a resource, not another list".to_owned(),
                    ))),
                    item => flatten(item, resources),
                }
            }
        }
        serde_yaml::Value::Mapping(ref mapping)
            if text_field(mapping, "kind") == LIST_KIND
                || V3_LIST_KINDS.contains(&text_field(mapping, "kind").as_str()) =>
        {
            match read_list(value) {
                Ok(items) => resources.extend(items.into_iter().map(Ok)),
                Err(problem) => resources.push(Err(problem)),
            }
        }
        serde_yaml::Value::Mapping(_) => resources.push(Ok(value)),
        _ => resources.push(Err(Problem::Unreadable(
            "expected a resource, a list of them, or a list kind with items".to_owned(),
        ))),
    }
}

fn text_field(mapping: &serde_yaml::Mapping, name: &str) -> String {
    mapping
        .get(name)
        .and_then(serde_yaml::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `kind: bgpPeerList`: checked as a whole, items left as values so that each is
/// reported on its own.
fn read_list(value: serde_yaml::Value) -> Result<Vec<serde_yaml::Value>, Problem> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct ListDocument {
        api_version: String,
        kind: String,
        #[serde(default)]
        #[allow(dead_code)] // Calico's ListMetadata carries nothing we use.
        metadata: Option<serde_yaml::Mapping>,
        #[serde(default)]
        items: Vec<serde_yaml::Value>,
    }

    let kind = value
        .as_mapping()
        .map(|mapping| text_field(mapping, "kind"))
        .unwrap_or_default();
    let list: ListDocument = serde_yaml::from_value(value)
        .map_err(|error| Problem::Unreadable(format!("{kind}: {error}")))?;
    let expected = if list.kind == LIST_KIND {
        API_VERSION
    } else {
        API_VERSION_V3
    };
    if list.api_version != expected {
        return Err(Problem::UnknownResourceType {
            kind: list.kind,
            api_version: list.api_version,
        });
    }
    Ok(list.items)
}

/// Reads one resource mapping. serde's message from a `Value` carries no path, so
/// on failure the sections are read alone to say which one holds the bad field.
pub(crate) fn read_document(value: serde_yaml::Value) -> Result<BgpPeerDocument, Problem> {
    let section_error = |value: &serde_yaml::Value| -> Option<String> {
        let mapping = value.as_mapping()?;
        let section = |name: &str| mapping.get(name).cloned();
        section("metadata")
            .and_then(|value| crate::resource::section_error::<BgpPeerMetadata>("metadata", value))
            .or_else(|| {
                section("spec")
                    .and_then(|value| crate::resource::section_error::<BgpPeerSpec>("spec", value))
            })
    };
    match serde_yaml::from_value::<BgpPeerDocument>(value.clone()) {
        Ok(parsed) => Ok(parsed),
        Err(error) => Err(Problem::Unreadable(crate::error::with_suggestion(
            section_error(&value).unwrap_or_else(|| error.to_string()),
        ))),
    }
}

/// Prints peers as YAML: a sequence of documents, as `calicoctl get -o yaml` does,
/// with `asNumber` as a plain integer. [`parse_documents`] reads it back.
pub fn to_yaml(peers: &[BgpPeer]) -> String {
    let documents: Vec<BgpPeerDocument> = peers.iter().map(BgpPeerDocument::from).collect();
    // Strings and integers only, in plain structs: serialization cannot fail.
    serde_yaml::to_string(&documents).expect("bgpPeer documents always serialize")
}

/// Prints peers as a pretty JSON array, as `calicoctl get -o json` does.
/// [`parse_documents`] reads it back.
pub fn to_json(peers: &[BgpPeer]) -> String {
    let documents: Vec<BgpPeerDocument> = peers.iter().map(BgpPeerDocument::from).collect();
    let mut text =
        serde_json::to_string_pretty(&documents).expect("bgpPeer documents always serialize");
    text.push('\n');
    text
}

/// Prints resources of any kind as a YAML sequence of documents; v1 bgpPeers as
/// [`to_yaml`] does. [`parse_resources`] reads it back.
pub fn resources_to_yaml(resources: &[Resource]) -> String {
    let documents: Vec<AnyDocument> = resources.iter().map(AnyDocument::from).collect();
    // Strings, integers, booleans and plain structs only: serialization cannot fail.
    serde_yaml::to_string(&documents).expect("resource documents always serialize")
}

/// Prints resources of any kind as a pretty JSON array. [`parse_resources`] reads
/// it back.
pub fn resources_to_json(resources: &[Resource]) -> String {
    let documents: Vec<AnyDocument> = resources.iter().map(AnyDocument::from).collect();
    // Documents with a field JSON cannot hold (a non-text key) are refused when
    // read, so every stored document converts.
    let mut text =
        serde_json::to_string_pretty(&documents).expect("resource documents always serialize");
    text.push('\n');
    text
}

/// A stored resource's document as `get` prints it: v3 documents carry
/// `metadata.resourceVersion`, the revision to hand back on replace.
fn stored_document(stored: &StoredResource) -> serde_yaml::Value {
    // Documents of plain values: conversion to a YAML value cannot fail.
    let mut value = serde_yaml::to_value(AnyDocument::from(&stored.resource))
        .expect("resource documents always convert");
    if !matches!(stored.resource, Resource::BgpPeer(_)) {
        if let Some(metadata) = value
            .get_mut("metadata")
            .and_then(serde_yaml::Value::as_mapping_mut)
        {
            metadata.insert("resourceVersion".into(), stored.revision.to_string().into());
        }
    }
    value
}

/// Prints stored resources as a YAML sequence of documents, each v3 one with
/// its `metadata.resourceVersion`, so that get → edit → replace is checked
/// against what was read. [`parse_resources`] reads it back.
pub fn stored_resources_to_yaml(resources: &[StoredResource]) -> String {
    let documents: Vec<serde_yaml::Value> = resources.iter().map(stored_document).collect();
    serde_yaml::to_string(&documents).expect("resource documents always serialize")
}

/// Prints stored resources as a pretty JSON array, as
/// [`stored_resources_to_yaml`] does.
pub fn stored_resources_to_json(resources: &[StoredResource]) -> String {
    let documents: Vec<serde_yaml::Value> = resources.iter().map(stored_document).collect();
    let mut text =
        serde_json::to_string_pretty(&documents).expect("resource documents always serialize");
    text.push('\n');
    text
}
