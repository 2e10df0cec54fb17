//! `nodebgp apply|create|replace|delete -f FILE`, `nodebgp delete TYPE NAME`
//! and `nodebgp get
//! bgppeer|node|bgpconfiguration|ippool|blockaffinity|ipamblock [NAME]`: v1
//! bgpPeer and v3 BGPPeer, Node, BGPConfiguration, IPPool, BlockAffinity and
//! IPAMBlock resources in the datastore, with calicoctl's verbs, aliases and
//! messages. A file may mix kinds; it is validated whole before anything is
//! written.
//!
//! `delete TYPE NAME` is calicoctl's other form of delete: a v1 bgpPeer by its
//! peer IP (`delete bgppeer 192.168.1.1 --scope node --node rack1-host1`; with
//! no `--scope`, `--node` means node scope and its absence global scope), any
//! v3 resource by name (`delete bgppeer rack1-tor`, `delete ippool pools-1`).
//! It goes through the same store batch as `delete -f`, with the same messages.
//!
//! `get` prints calicoctl's table by default (`-o ps`; `-o wide` for more
//! columns, [`peer_store::resources_to_table`]). `-o yaml|json` prints every
//! field a resource holds, also those nodebgp does not model, with
//! `metadata.resourceVersion`, so that get → edit → `replace -f` loses nothing
//! and is refused if someone else changed the resource in between. A stored
//! entry that cannot be read is left out with a warning on stderr; the rest is
//! printed.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use peer_store::{
    execute_documents, parse_peer_ip, resource_kind, resources_to_table, stored_resources_to_json,
    BatchOptions, BatchReport, CommandError, ListFilter, NamedKind, NodeName, PeerKey, PeerStore,
    Resource, ResourceFilter, ResourceKey, ResourceKind, ResourceName, ResourceOperation, Revision,
    Scope, ScopeKind, StoredResource, DEFAULT_CONFIGURATION_NAME,
};

use crate::daemon::calico_config;
use crate::go_template;

/// The verbs that take a file.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Verb {
    Apply,
    Create,
    Replace,
    Delete,
}

/// Flags of the verbs that take a file (and of `delete TYPE NAME`).
#[derive(Debug, clap::Args)]
pub(crate) struct FileArgs {
    /// The resources: YAML or JSON, several documents, a list or a bgpPeerList; `-` reads standard input.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    file: Option<PathBuf>,
    /// delete only, instead of -f: the resource type (bgppeer, node,
    /// bgpconfiguration, ippool, blockaffinity, ipamblock, or an alias).
    #[arg(value_name = "TYPE")]
    kind: Option<String>,
    /// delete only, with TYPE: a v3 name, or a v1 bgpPeer's peer IP address.
    #[arg(value_name = "NAME")]
    name: Option<String>,
    /// delete TYPE NAME of a v1 bgpPeer: its scope (global or node; default
    /// node with --node, else global).
    #[arg(long)]
    scope: Option<ScopeKind>,
    /// delete TYPE NAME of a v1 bgpPeer: the node of a node-scoped peer.
    #[arg(long)]
    node: Option<String>,
    #[command(flatten)]
    datastore: DatastoreArgs,
    /// create: skip resources that already exist instead of failing.
    #[arg(long)]
    skip_exists: bool,
    /// delete: skip resources that do not exist instead of failing.
    #[arg(long)]
    skip_not_exists: bool,
}

/// Where the resources are: as calicoctl finds its datastore, or a URL.
#[derive(Debug, clap::Args)]
pub(crate) struct DatastoreArgs {
    /// calicoctl's client configuration (apiVersion projectcalico.org/v3,
    /// kind CalicoAPIConfig); default /etc/calico/calicoctl.cfg when it
    /// exists, else the environment as calicoctl reads it (DATASTORE_TYPE,
    /// ETCD_ENDPOINTS, ETCD_USERNAME, ETCD_PASSWORD, ETCD_CA_CERT_FILE,
    /// ETCD_CERT_FILE, ETCD_KEY_FILE), else the embedded store in
    /// /var/lib/nodebgp.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where resources are stored, before any configuration file or
    /// variable: file:DIR (the embedded store), etcdv3:URL[,URL...] or
    /// etcdv2:URL[,URL...].
    #[arg(long, value_name = "URL")]
    datastore: Option<String>,
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
    /// Only the peers this node has: those scoped to it, the global ones and
    /// the v3 peers whose nodeSelector picks it (with the stored Node's
    /// labels). With `--scope node`, only the first and last.
    #[arg(long)]
    node: Option<String>,
    /// Output format: calicoctl's table (ps, wide); yaml and json, which can
    /// be fed back to `create`; go-template=TEMPLATE or
    /// go-template-file=FILE, a Go template run over the list of result
    /// lists (`{{range .}}{{range .Items}}{{.Metadata.Name}} {{end}}{{end}}`).
    #[arg(short = 'o', long = "output", default_value = "ps", value_parser = output_format)]
    output: String,
    #[command(flatten)]
    datastore: DatastoreArgs,
}

/// `-o`'s values, checked before anything is read.
fn output_format(value: &str) -> std::result::Result<String, String> {
    match value {
        "ps" | "wide" | "yaml" | "json" => Ok(value.to_owned()),
        _ if value.starts_with("go-template=") || value.starts_with("go-template-file=") => {
            Ok(value.to_owned())
        }
        _ => Err(format!(
            "unrecognized output format '{value}': use ps, wide, yaml, json, go-template=TEMPLATE or go-template-file=FILE"
        )),
    }
}

fn open(arguments: &DatastoreArgs) -> Result<Box<dyn PeerStore>> {
    resolve(arguments)?.open()
}

/// The store for `get`, which must leave no directory or lock file behind.
fn open_read_only(arguments: &DatastoreArgs) -> Result<Box<dyn PeerStore>> {
    resolve(arguments)?.open_read_only()
}

fn resolve(arguments: &DatastoreArgs) -> Result<crate::daemon::Datastore> {
    let (datastore, _origin) = calico_config::resolve(
        arguments.datastore.as_deref(),
        arguments.config.as_deref(),
        calico_config::DefaultFile::Read,
        &calico_config::process_variable,
    )?;
    Ok(datastore)
}

pub(crate) fn apply(arguments: &FileArgs, verb: Verb) -> Result<()> {
    let by_name = arguments.kind.is_some()
        || arguments.name.is_some()
        || arguments.scope.is_some()
        || arguments.node.is_some();
    let result = match (verb, &arguments.file, by_name) {
        (Verb::Delete, Some(_), true) => bail!(
            "delete takes either -f FILE or TYPE NAME [--scope global|node] [--node NODE], not both"
        ),
        (Verb::Delete, None, false) => bail!(
            "delete needs -f FILE or TYPE NAME (e.g. `nodebgp delete bgppeer 192.168.1.1 --scope node --node rack1-host1`)"
        ),
        (Verb::Delete, None, true) => delete_by_name(arguments)?,
        (_, Some(file), false) => execute_file(arguments, file, verb)?,
        (_, None, false) => bail!(
            "{} needs -f FILE (resources in YAML or JSON; `-` reads standard input)",
            verb.peer_store().infinitive()
        ),
        (_, _, true) => bail!(
            "{} takes only -f FILE; TYPE NAME, --scope and --node are for delete",
            verb.peer_store().infinitive()
        ),
    };
    match result {
        Ok(report) => {
            println!("{report}");
            Ok(())
        }
        Err(error) => bail!("{error}"),
    }
}

impl Verb {
    fn peer_store(self) -> peer_store::Verb {
        match self {
            Verb::Apply => peer_store::Verb::Apply,
            Verb::Create => peer_store::Verb::Create,
            Verb::Replace => peer_store::Verb::Replace,
            Verb::Delete => peer_store::Verb::Delete,
        }
    }
}

fn options(arguments: &FileArgs) -> BatchOptions {
    BatchOptions {
        skip_exists: arguments.skip_exists,
        skip_not_exists: arguments.skip_not_exists,
    }
}

/// `-f FILE`: every resource in the file.
fn execute_file(
    arguments: &FileArgs,
    file: &Path,
    verb: Verb,
) -> Result<std::result::Result<BatchReport, CommandError>> {
    let mut text = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
    } else {
        text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
    }
    let store = open(&arguments.datastore)?;
    Ok(execute_documents(
        store.as_ref(),
        verb.peer_store(),
        &text,
        options(arguments),
    ))
}

/// `delete TYPE NAME`: one resource, through the same store batch as `delete -f`.
fn delete_by_name(arguments: &FileArgs) -> Result<std::result::Result<BatchReport, CommandError>> {
    let key = key_from_arguments(arguments)?;
    let store = open(&arguments.datastore)?;
    let kind = match &key {
        ResourceKey::BgpPeer(_) => peer_store::KIND,
        ResourceKey::Named { kind, .. } => kind.kind_name(),
    };
    let operations = [ResourceOperation::Delete {
        key,
        expected_revision: None,
        skip_if_missing: arguments.skip_not_exists,
    }];
    let verb = peer_store::Verb::Delete;
    Ok(match store.write_resources(&operations) {
        Ok(outcomes) => Ok(BatchReport {
            verb,
            kind: Some(kind),
            outcomes,
        }),
        Err(failure) => Err(CommandError::Failed {
            verb,
            kind: Some(kind),
            total: operations.len(),
            failure: Box::new(failure),
        }),
    })
}

/// The resource `delete TYPE NAME [--scope] [--node]` names: a v1 bgpPeer when
/// TYPE is a bgpPeer alias and NAME an IP address (or `ip:port`), else a v3
/// resource named NAME.
fn key_from_arguments(arguments: &FileArgs) -> Result<ResourceKey> {
    let Some(type_name) = arguments.kind.as_deref() else {
        bail!("delete TYPE NAME: missing TYPE");
    };
    let kind: ResourceKind = type_name.parse()?;
    let Some(name) = arguments.name.as_deref() else {
        bail!("delete {type_name}: missing NAME (delete -f FILE deletes the resources in a file)");
    };
    if kind == ResourceKind::BgpPeer {
        if let Ok((peer_address, peer_port)) = parse_peer_ip(name) {
            let node = arguments
                .node
                .as_deref()
                .map(NodeName::new)
                .transpose()
                .map_err(|error| anyhow::anyhow!("--node: {error}"))?;
            let default_scope = if node.is_some() {
                ScopeKind::Node
            } else {
                ScopeKind::Global
            };
            let scope = match (arguments.scope.unwrap_or(default_scope), node) {
                (ScopeKind::Global, None) => Scope::Global,
                (ScopeKind::Global, Some(_)) => {
                    bail!("no BGP Peer node name should be specified when scope is global")
                }
                (ScopeKind::Node, Some(node)) => Scope::Node(node),
                (ScopeKind::Node, None) => bail!("insufficient identifiers, missing 'node'"),
            };
            return Ok(ResourceKey::BgpPeer(PeerKey {
                scope,
                peer_address,
                peer_port,
            }));
        }
    }
    if arguments.scope.is_some() || arguments.node.is_some() {
        bail!(
            "--scope and --node only apply to a v1 bgpPeer named by its peer IP address, not to {} '{name}'",
            kind.kind_name()
        );
    }
    let named_kind = NamedKind::ALL
        .into_iter()
        .find(|named| named.resource_kind() == kind)
        .context("no v3 kind for this type")?;
    let name = ResourceName::new(name)
        .map_err(|error| anyhow::anyhow!("{} name '{name}': {error}", named_kind.kind_name()))?;
    Ok(ResourceKey::Named {
        kind: named_kind,
        name,
    })
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
    // `--node` on peers answers "which peers does this node have": its own,
    // the global ones and the v3 peers whose nodeSelector picks it, so it is
    // applied here, with the node's labels, rather than by the store (which
    // matches node-scoped keys only).
    let peers_of_node = node.clone().filter(|_| kind == ResourceKind::BgpPeer);
    let filter = ResourceFilter {
        kind: Some(kind),
        name: arguments.name.clone(),
        peers: ListFilter {
            scope: arguments.scope,
            node: if peers_of_node.is_some() { None } else { node },
            peer_address: None,
        },
    };
    let store = open_read_only(&arguments.datastore)?;
    let mut listing = store.list_resources(&filter)?;
    if let Some(node) = &peers_of_node {
        let labels = node_labels(store.as_ref(), node.as_str())?;
        listing
            .resources
            .retain(|stored| peer_applies_to(&stored.resource, node.as_str(), &labels));
    }
    for entry in &listing.unreadable {
        eprintln!("warning: skipped {entry}");
    }
    // As calicoctl: a named resource that is not there is an error, not an
    // empty answer.
    if let (Some(name), true) = (&arguments.name, listing.resources.is_empty()) {
        let kind = match kind {
            ResourceKind::BgpPeer if parse_peer_ip(name).is_err() => "BGPPeer",
            other => other.kind_name(),
        };
        bail!("resource does not exist: {kind}({name})");
    }
    if let Some(template) = template_text(&arguments.output)? {
        return Ok(go_template::render(
            &template,
            &template_data(&listing.resources),
        )?);
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
        kind,
        &listing.resources,
        listing.revision,
        arguments.name.is_some(),
        &arguments.output,
    ))
}

/// The template of `-o go-template=…` or `-o go-template-file=…`.
fn template_text(output: &str) -> Result<Option<String>> {
    if let Some(template) = output.strip_prefix("go-template=") {
        return Ok(Some(template.to_owned()));
    }
    let Some(path) = output.strip_prefix("go-template-file=") else {
        return Ok(None);
    };
    std::fs::read_to_string(path)
        .map(Some)
        .with_context(|| format!("cannot read the template file {path}"))
}

/// What calicoctl runs a template on: one `<Kind>List` per kind of the
/// results, in the order they came (v1 bgpPeers as a v1 `bgpPeerList`).
fn template_data(resources: &[StoredResource]) -> serde_json::Value {
    let documents: Vec<serde_json::Value> =
        serde_json::from_str(&stored_resources_to_json(resources)).unwrap_or_default();
    let mut lists: Vec<serde_json::Value> = Vec::new();
    for document in documents {
        let kind = document["kind"].as_str().unwrap_or_default().to_owned();
        let api_version = document["apiVersion"].as_str().unwrap_or("v1").to_owned();
        let list_kind = format!("{kind}List");
        match lists
            .iter_mut()
            .find(|list| list["kind"] == list_kind.as_str())
        {
            Some(list) => {
                if let Some(items) = list["items"].as_array_mut() {
                    items.push(document);
                }
            }
            None => lists.push(serde_json::json!({
                "apiVersion": api_version,
                "kind": list_kind,
                "metadata": {},
                "items": [document],
            })),
        }
    }
    serde_json::Value::Array(lists)
}

/// A stored Node's labels (none when it is not stored).
fn node_labels(store: &dyn PeerStore, node: &str) -> Result<peer_store::Labels> {
    let Ok(name) = ResourceName::new(node) else {
        return Ok(peer_store::Labels::new());
    };
    let key = ResourceKey::Named {
        kind: NamedKind::Node,
        name,
    };
    Ok(match store.get_resource(&key)? {
        Some(StoredResource {
            resource: Resource::Node(node),
            ..
        }) => node.labels,
        _ => peer_store::Labels::new(),
    })
}

/// Whether the node `node` runs this peering: a v1 peer global or scoped to
/// it, a v3 peer global, for it, or selecting it.
fn peer_applies_to(resource: &Resource, node: &str, labels: &peer_store::Labels) -> bool {
    match resource {
        Resource::BgpPeer(peer) => match &peer.scope {
            Scope::Global => true,
            Scope::Node(own) => own.as_str() == node,
        },
        Resource::BgpPeerV3(peer) => peer.applies_to(node, labels),
        _ => true,
    }
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

/// What calicoctl prints: one named resource as a single document, and
/// anything else as a `<Kind>List` with `items` and the listing's
/// `resourceVersion`, whatever the mix: v3 kinds as theirs
/// (`BGPPeerList`, `NodeList`, …), v1 bgpPeers alone as calicoctl v1's
/// `bgpPeerList`, and v1 and v3 peers together as a `BGPPeerList` whose items
/// keep each document's own version. `create` reads each form back.
fn calicoctl_output(
    kind: ResourceKind,
    resources: &[StoredResource],
    revision: Revision,
    named: bool,
    format: &str,
) -> String {
    let documents: Vec<serde_json::Value> =
        serde_json::from_str(&stored_resources_to_json(resources)).unwrap_or_default();
    let only_v1 = !resources.is_empty()
        && resources
            .iter()
            .all(|stored| matches!(stored.resource, Resource::BgpPeer(_)));
    let v3 = "projectcalico.org/v3";
    let (api_version, list_kind) = match kind {
        ResourceKind::BgpPeer if only_v1 => ("v1", "bgpPeerList"),
        ResourceKind::BgpPeer => (v3, "BGPPeerList"),
        ResourceKind::Node => (v3, "NodeList"),
        ResourceKind::BgpConfiguration => (v3, "BGPConfigurationList"),
        ResourceKind::IpPool => (v3, "IPPoolList"),
        ResourceKind::BlockAffinity => (v3, "BlockAffinityList"),
        ResourceKind::IpamBlock => (v3, "IPAMBlockList"),
        ResourceKind::BgpFilter => (v3, "BGPFilterList"),
    };
    let value = match (named, documents.as_slice()) {
        (true, [one]) => one.clone(),
        _ => serde_json::json!({
            "apiVersion": api_version,
            "kind": list_kind,
            "metadata": {"resourceVersion": revision.to_string()},
            "items": documents,
        }),
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
            datastore: DatastoreArgs {
                config: None,
                datastore: Some(datastore.to_owned()),
            },
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
        // calicoctl's go-template runs over one list per kind.
        assert_eq!(
            get("ippool", "go-template={{range .}}{{.Kind}}:{{range .Items}} {{.Metadata.Name}}={{.Spec.CIDR}}{{end}}{{end}}"),
            "IPPoolList: pods=10.244.0.0/16"
        );
        let template_file = directory.join("nodes.tmpl");
        std::fs::write(
            &template_file,
            "{{range .}}{{range .Items}}{{.Name}} {{.Spec.BGP.IPv4Address}}\n{{end}}{{end}}",
        )
        .unwrap();
        assert_eq!(
            get(
                "node",
                &format!("go-template-file={}", template_file.display())
            ),
            "n1 10.0.0.11/24\n"
        );
        let failure =
            listed(&get_args("ippool", "go-template={{range .}}", &datastore)).unwrap_err();
        assert_eq!(failure.to_string(), "template: get: unexpected EOF");
        let _ = std::fs::remove_dir_all(directory);
    }
}
