//! `nodebgp apply|create|replace|delete -f FILE` and `nodebgp get
//! bgppeer|node|bgpconfiguration|ippool|blockaffinity|ipamblock [NAME]`: v1
//! bgpPeer and v3 BGPPeer, Node, BGPConfiguration, IPPool, BlockAffinity and
//! IPAMBlock resources in the datastore, with calicoctl's verbs, aliases and
//! messages. A file may mix kinds; it is validated whole before anything is
//! written.
//!
//! `get` prints calicoctl's table by default (`-o ps`; `-o wide` for more
//! columns, [`peer_store::resources_to_table`]). `-o yaml|json` prints every
//! field a resource holds, also those nodebgp does not model, with
//! `metadata.resourceVersion`, so that get → edit → `replace -f` loses nothing
//! and is refused if someone else changed the resource in between. A stored
//! entry that cannot be read is left out with a warning on stderr; the rest is
//! printed.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use peer_store::{
    execute_documents, resource_kind, resources_to_table, stored_resources_to_json,
    stored_resources_to_yaml, BatchOptions, ListFilter, NamedKind, NodeName, PeerStore, Resource,
    ResourceFilter, ResourceKey, ResourceKind, ResourceName, Revision, ScopeKind, StoredResource,
    DEFAULT_CONFIGURATION_NAME,
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
    /// The resource type: bgppeer (bgppeers bgpp bgpps bp bps), node (nodes no
    /// nos), bgpconfiguration (bgpconfigurations bgpconfig bgpconfigs), ippool
    /// (ippools ipp ipps pool pools), blockaffinity (blockaffinities affinity
    /// affinities) or ipamblock (ipamblocks).
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
    /// Output format: calicoctl's table (ps, wide), or yaml and json, which
    /// can be fed back to `create`.
    #[arg(short = 'o', long = "output", default_value = "ps", value_parser = ["ps", "wide", "yaml", "json"])]
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
    print!("{}", listed(arguments)?);
    Ok(())
}

/// What `get` prints; unreadable entries are warned about on stderr.
fn listed(arguments: &GetArgs) -> Result<String> {
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
    if let wide @ ("ps" | "wide") = arguments.output.as_str() {
        let wide = wide == "wide";
        // The wide Node table shows the cluster's AS for nodes without one.
        let cluster_as_number = if wide && kind == ResourceKind::Node {
            cluster_as_number(store.as_ref())?
        } else {
            None
        };
        return Ok(resources_to_table(
            kind,
            &listing.resources,
            wide,
            cluster_as_number,
        ));
    }
    Ok(calicoctl_output(
        &listing.resources,
        listing.revision,
        arguments.name.is_some(),
        &arguments.output,
    ))
}

/// The default BGPConfiguration's `asNumber`, if it sets one.
fn cluster_as_number(store: &dyn PeerStore) -> Result<Option<peer_store::Asn>> {
    let key = ResourceKey::Named {
        kind: NamedKind::BgpConfiguration,
        name: ResourceName::new(DEFAULT_CONFIGURATION_NAME)?,
    };
    Ok(match store.get_resource(&key)? {
        Some(StoredResource {
            resource: Resource::BgpConfiguration(configuration),
            ..
        }) => configuration.as_number,
        _ => None,
    })
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
        Some(Resource::IpPool(_)) => Some("IPPoolList"),
        Some(Resource::BlockAffinity(_)) => Some("BlockAffinityList"),
        Some(Resource::IpamBlock(_)) => Some("IPAMBlockList"),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn get_args(kind: &str, output: &str, datastore: &str) -> GetArgs {
        GetArgs {
            kind: kind.to_owned(),
            name: None,
            scope: None,
            node: None,
            output: output.to_owned(),
            datastore: datastore.to_owned(),
        }
    }

    /// A file store in a fresh directory holding `text`'s resources.
    fn store_with(test: &str, text: &str) -> (PathBuf, String) {
        let directory =
            std::env::temp_dir().join(format!("nodebgp-resources-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        let store = peer_store::FileStore::open(&directory).unwrap();
        peer_store::create_documents(&store, text, BatchOptions::default()).unwrap();
        let datastore = format!("file:{}", directory.display());
        (directory, datastore)
    }

    #[test]
    fn get_prints_calicoctls_tables_by_default_and_documents_on_request() {
        let (directory, datastore) = store_with(
            "tables",
            "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pods}\nspec: {cidr: 10.244.0.0/16, natOutgoing: true}\n\
             ---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1}\nspec: {bgp: {ipv4Address: 10.0.0.11/24}}\n\
             ---\napiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: 64600}\n\
             ---\napiVersion: projectcalico.org/v3\nkind: BlockAffinity\nmetadata: {name: n1-10-244-3-0-26}\nspec: {node: n1, cidr: 10.244.3.0/26}\n",
        );
        let get = |kind: &str, output: &str| listed(&get_args(kind, output, &datastore)).unwrap();
        // `ps` is calicoctl's default.
        #[derive(clap::Parser)]
        struct Command {
            #[command(flatten)]
            get: GetArgs,
        }
        let parsed = <Command as clap::Parser>::try_parse_from(["get", "ippool"]).unwrap();
        assert_eq!(parsed.get.output, "ps");
        assert_eq!(
            get("pools", "ps"),
            "NAME   CIDR            SELECTOR   \npods   10.244.0.0/16   all()      \n\n"
        );
        assert_eq!(
            get("ippool", "wide"),
            "NAME   CIDR            NAT    IPIPMODE   VXLANMODE   DISABLED   DISABLEBGPEXPORT   SELECTOR   ASSIGNMENTMODE   \n\
             pods   10.244.0.0/16   true   Never      Never       false      false              all()      Automatic        \n\n"
        );
        // The wide Node table shows the cluster's AS for a node without one.
        assert_eq!(
            get("nodes", "wide"),
            "NAME   ASN       IPV4           IPV6   \nn1     (64600)   10.0.0.11/24          \n\n"
        );
        assert_eq!(
            get("affinities", "ps"),
            "NAME               CIDR            NODE   TYPE   \nn1-10-244-3-0-26   10.244.3.0/26   n1     host   \n\n"
        );
        let list: serde_json::Value = serde_json::from_str(&get("ipp", "json")).unwrap();
        assert_eq!(list["kind"], "IPPoolList");
        assert_eq!(list["items"][0]["spec"]["blockSize"], 26);
        assert_eq!(get("ipamblocks", "ps"), "NAME   CIDR   AFFINITY   \n\n");
        let _ = std::fs::remove_dir_all(directory);
    }
}
