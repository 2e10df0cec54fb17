//! `nodebgp apply|create|replace|delete -f FILE` and `nodebgp get
//! bgppeer|node|bgpconfiguration [NAME]`: v1 bgpPeer and v3 BGPPeer, Node and
//! BGPConfiguration resources in the datastore, with calicoctl's verbs, aliases
//! and messages. A file may mix kinds; it is validated whole before anything is
//! written.
//!
//! `get` prints every field a resource holds, also those nodebgp does not model,
//! with `metadata.resourceVersion`, so that get → edit → `replace -f` loses
//! nothing and is refused if someone else changed the resource in between. A
//! stored entry that cannot be read is left out with a warning on stderr; the
//! rest is printed.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use peer_store::{
    execute_documents, resource_kind, stored_resources_to_json, stored_resources_to_yaml,
    BatchOptions, ListFilter, NodeName, PeerStore, Resource, ResourceFilter, Revision, ScopeKind,
    StoredResource,
};

use crate::daemon::Datastore;

/// The verbs that take a file.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Verb {
    Apply,
    Create,
    Replace,
    Delete,
}

/// Flags of the verbs that take a file.
#[derive(Debug, clap::Args)]
pub(crate) struct FileArgs {
    /// The resources: YAML or JSON, several documents, a list or a bgpPeerList; `-` reads standard input.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    file: PathBuf,
    /// Where resources are stored: file:DIR (the embedded store), etcdv3:URL[,URL...] or etcdv2:URL[,URL...].
    #[arg(long, value_name = "URL", default_value = "file:/var/lib/nodebgp")]
    datastore: String,
    /// create: skip resources that already exist instead of failing.
    #[arg(long)]
    skip_exists: bool,
    /// delete: skip resources that do not exist instead of failing.
    #[arg(long)]
    skip_not_exists: bool,
}

/// Flags of `nodebgp get`.
#[derive(Debug, clap::Args)]
pub(crate) struct GetArgs {
    /// The resource type: bgppeer (bgppeers bgpp bgpps bp bps), node (nodes no)
    /// or bgpconfiguration (bgpconfigurations bgpconfig bgpconfigs).
    #[arg(value_name = "TYPE")]
    kind: String,
    /// Only this resource: a v3 name, or a v1 bgpPeer's peer IP address.
    #[arg(value_name = "NAME")]
    name: Option<String>,
    /// Only peers of this scope (global or node).
    #[arg(long)]
    scope: Option<ScopeKind>,
    /// Only the peers of this node.
    #[arg(long)]
    node: Option<String>,
    /// Output format; both can be fed back to `create`.
    #[arg(short = 'o', long = "output", default_value = "yaml", value_parser = ["yaml", "json"])]
    output: String,
    /// Where resources are stored: file:DIR (the embedded store), etcdv3:URL[,URL...] or etcdv2:URL[,URL...].
    #[arg(long, value_name = "URL", default_value = "file:/var/lib/nodebgp")]
    datastore: String,
}

fn open(datastore: &str) -> Result<Box<dyn PeerStore>> {
    Datastore::parse(datastore)?.open()
}

pub(crate) fn apply(arguments: &FileArgs, verb: Verb) -> Result<()> {
    let mut text = String::new();
    if arguments.file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
    } else {
        text = std::fs::read_to_string(&arguments.file)
            .with_context(|| format!("cannot read {}", arguments.file.display()))?;
    }
    let store = open(&arguments.datastore)?;
    let verb = match verb {
        Verb::Apply => peer_store::Verb::Apply,
        Verb::Create => peer_store::Verb::Create,
        Verb::Replace => peer_store::Verb::Replace,
        Verb::Delete => peer_store::Verb::Delete,
    };
    let options = BatchOptions {
        skip_exists: arguments.skip_exists,
        skip_not_exists: arguments.skip_not_exists,
    };
    match execute_documents(store.as_ref(), verb, &text, options) {
        Ok(report) => {
            println!("{report}");
            Ok(())
        }
        Err(error) => bail!("{error}"),
    }
}

pub(crate) fn get(arguments: &GetArgs) -> Result<()> {
    let Some(kind) = resource_kind(&arguments.kind) else {
        bail!("Resource type '{}' is not supported", arguments.kind);
    };
    let node = arguments
        .node
        .as_deref()
        .map(NodeName::new)
        .transpose()
        .map_err(|error| anyhow::anyhow!("--node: {error}"))?;
    let filter = ResourceFilter {
        kind: Some(kind),
        name: arguments.name.clone(),
        peers: ListFilter {
            scope: arguments.scope,
            node,
            peer_address: None,
        },
    };
    let store = open(&arguments.datastore)?;
    let listing = store.list_resources(&filter)?;
    for entry in &listing.unreadable {
        eprintln!("warning: skipped {entry}");
    }
    print!(
        "{}",
        calicoctl_output(
            &listing.resources,
            listing.revision,
            arguments.name.is_some(),
            &arguments.output
        )
    );
    Ok(())
}

/// What calicoctl prints: one named resource as a single document; v3
/// resources of one kind as a `<Kind>List` with `items` and the listing's
/// `resourceVersion`; v1 bgpPeers (or a mix) as a list of documents, as
/// calicoctl v1 did. `create` reads each form back.
fn calicoctl_output(
    resources: &[StoredResource],
    revision: Revision,
    named: bool,
    format: &str,
) -> String {
    let as_list = || match format {
        "json" => stored_resources_to_json(resources),
        _ => stored_resources_to_yaml(resources),
    };
    let list_kind = match resources.first().map(|stored| &stored.resource) {
        Some(Resource::BgpPeerV3(_) | Resource::UnsupportedBgpPeer(_)) => Some("BGPPeerList"),
        Some(Resource::Node(_)) => Some("NodeList"),
        Some(Resource::BgpConfiguration(_)) => Some("BGPConfigurationList"),
        _ => None,
    };
    let all_v3 = !resources
        .iter()
        .any(|stored| matches!(stored.resource, Resource::BgpPeer(_)));
    let documents: serde_json::Value =
        match serde_json::from_str(&stored_resources_to_json(resources)) {
            Ok(documents) => documents,
            Err(_) => return as_list(),
        };
    let value = match (named, resources.len(), list_kind) {
        (true, 1, _) => documents[0].clone(),
        (false, _, Some(kind)) if all_v3 => serde_json::json!({
            "apiVersion": "projectcalico.org/v3",
            "kind": kind,
            "metadata": {"resourceVersion": revision.to_string()},
            "items": documents,
        }),
        _ => return as_list(),
    };
    match format {
        "json" => format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ),
        _ => serde_yaml::to_string(&value).unwrap_or_default(),
    }
}
