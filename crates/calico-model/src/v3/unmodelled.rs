//! What a v3 document holds beyond nodebgp's model, kept verbatim.
//!
//! Real Calico datastores carry fields nodebgp has no use for: Kubernetes
//! metadata (`uid`, `creationTimestamp`, `generation`, `annotations`,
//! `managedFields`, …), calico-node's Node fields (`orchRefs`, `addresses`,
//! tunnel addresses, `status`), newer BGPConfiguration settings. Each level of a
//! document keeps the fields it does not model in an [`Unmodelled`] map, and
//! writes them back unchanged, so that a read-modify-write (`get -o yaml`, edit a
//! label, `apply -f`) loses nothing, whether the store is a file or etcd.
//!
//! # Strict and lenient reading
//!
//! - **From the store** ([`Strictness::Store`]) every field is accepted and kept:
//!   the store holds what Calico, calico-node or a newer nodebgp wrote.
//! - **From a user's file** ([`Strictness::File`]) an unknown name is refused by
//!   name, as calicoctl's strict unmarshal does, unless it is a field Calico
//!   defines (`KNOWN_METADATA`, and per kind the lists beside each document):
//!   those are accepted and stored verbatim too. Only genuinely unknown names
//!   (typos) are errors.

use serde_yaml::{Mapping, Value};

/// How unknown field names are treated when a document is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// A user's file: names Calico does not define are refused.
    File,
    /// A datastore: everything is kept verbatim.
    Store,
}

/// Kubernetes `ObjectMeta` fields besides `name` and `labels` (which are
/// modelled): Calico resources carry the whole `ObjectMeta`.
pub(crate) const KNOWN_METADATA: &[&str] = &[
    "namespace",
    "generateName",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Metadata fields a user's file sets and the store takes as given on create and
/// update: the rest (`uid`, `creationTimestamp`, `generation`, …) belong to the
/// store, which sets them on create and keeps them across updates, as calicoctl
/// does (`prepareMetadataForCreate`, `mergeMetadataForUpdate`). (`name` and
/// `labels` are modelled, so only a document kept whole holds them here.)
pub(crate) const USER_METADATA: &[&str] = &["name", "labels", "annotations"];

/// The fields of one v3 document that its model does not hold, one map per level.
///
/// Keys are field names as written; values are kept exactly as read (any YAML or
/// JSON value). Output writes them beside the modelled fields of the same level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Unmodelled {
    /// Beside `apiVersion`, `kind`, `metadata` and `spec`: a Node's `status`.
    pub top: Mapping,
    /// In `metadata`, beside `name` and `labels`: `uid`, `creationTimestamp`,
    /// `annotations`, `generation`, `managedFields`, …
    pub metadata: Mapping,
    /// In `spec`: e.g. a Node's `orchRefs`, a BGPConfiguration's `bindMode`, a
    /// BGPPeer's `nextHopMode: Auto`.
    pub spec: Mapping,
    /// In a Node's `spec.bgp`: `ipv4IPIPTunnelAddr`.
    pub bgp: Mapping,
}

impl Unmodelled {
    /// `metadata.uid`, as the store set it on create.
    pub fn uid(&self) -> Option<&str> {
        self.metadata.get("uid").and_then(Value::as_str)
    }

    /// `metadata.creationTimestamp` (RFC 3339, UTC), as the store set it on create.
    pub fn creation_timestamp(&self) -> Option<&str> {
        self.metadata
            .get("creationTimestamp")
            .and_then(Value::as_str)
    }

    /// A spec field the model does not hold.
    pub fn spec_field(&self, name: &str) -> Option<&Value> {
        self.spec.get(name)
    }
}

/// The first name in `extra` that is neither modelled nor a Calico field, as
/// serde words it: ``unknown field `x`, expected one of `a`, `b` ``.
pub(crate) fn unknown_field(extra: &Mapping, modelled: &[&str], known: &[&str]) -> Option<String> {
    let name = extra.keys().find_map(|key| match key.as_str() {
        Some(name) if known.contains(&name) => None,
        Some(name) => Some(name.to_owned()),
        None => Some(format!("{key:?}")),
    })?;
    let expected: Vec<String> = modelled
        .iter()
        .chain(known)
        .map(|name| format!("`{name}`"))
        .collect();
    Some(crate::error::with_suggestion(format!(
        "unknown field `{name}`, expected one of {}",
        expected.join(", ")
    )))
}

/// Checks one level in `File` mode; `section` prefixes the message
/// (`spec.bgp: unknown field …`), empty for the top level.
pub(crate) fn check_level(
    strictness: Strictness,
    section: &str,
    extra: &Mapping,
    modelled: &[&str],
    known: &[&str],
) -> Result<(), String> {
    if strictness == Strictness::Store {
        return Ok(());
    }
    match unknown_field(extra, modelled, known) {
        None => Ok(()),
        Some(message) if section.is_empty() => Err(message),
        Some(message) => Err(format!("{section}: {message}")),
    }
}

/// Keeps only the metadata a user sets ([`USER_METADATA`]); the store fills in
/// the rest.
pub(crate) fn user_metadata(metadata: &mut Mapping) {
    metadata.retain(|key, _| key.as_str().is_some_and(|key| USER_METADATA.contains(&key)));
}

/// The metadata an update keeps from the stored resource: everything but what
/// the user sets, which comes from the new document.
pub fn merge_for_update(new: &mut Mapping, stored: &Mapping) {
    let mut merged: Mapping = stored
        .iter()
        .filter(|(key, _)| !key.as_str().is_some_and(|key| USER_METADATA.contains(&key)))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    for (key, value) in new.iter() {
        if key.as_str().is_some_and(|key| USER_METADATA.contains(&key)) {
            merged.insert(key.clone(), value.clone());
        }
    }
    *new = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(yaml: &str) -> Mapping {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn calico_names_pass_and_typos_are_named() {
        let extra = mapping("uid: a\nannotations: {x: y}\n");
        assert_eq!(
            check_level(
                Strictness::File,
                "metadata",
                &extra,
                &["name"],
                KNOWN_METADATA
            ),
            Ok(())
        );
        let typo = mapping("labes: {a: b}\n");
        assert_eq!(
            check_level(
                Strictness::File,
                "metadata",
                &typo,
                &["name", "labels"],
                &["uid"]
            ),
            Err(
                "metadata: unknown field `labes`, expected one of `name`, `labels`, `uid` (did you mean `labels`?)"
                    .to_owned()
            )
        );
        assert_eq!(
            check_level(Strictness::Store, "metadata", &typo, &[], &[]),
            Ok(())
        );
    }

    #[test]
    fn updates_keep_the_stores_metadata_and_the_users_annotations() {
        let stored = mapping("uid: u1\ncreationTimestamp: '2026-01-01T00:00:00Z'\nannotations: {a: old}\ngeneration: 3\n");
        let mut new = mapping("uid: forged\nannotations: {a: new}\n");
        merge_for_update(&mut new, &stored);
        assert_eq!(
            new,
            mapping("uid: u1\ncreationTimestamp: '2026-01-01T00:00:00Z'\ngeneration: 3\nannotations: {a: new}\n")
        );
        let mut created = mapping("uid: forged\nannotations: {a: b}\nmanagedFields: []\n");
        user_metadata(&mut created);
        assert_eq!(created, mapping("annotations: {a: b}\n"));
    }
}
