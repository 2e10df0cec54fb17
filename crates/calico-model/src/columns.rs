//! calicoctl's table output, `get -o ps` (its default) and `-o wide`: the
//! columns of `calicoctl/calicoctl/resourcemgr/*.go` (`registerResource`'s
//! headings and templates), laid out as its `ResourcePrinterTable` does with
//! Go's `text/tabwriter` (`NewWriter(os.Stdout, 5, 1, 3, ' ', 0)`): every
//! cell, the last too, padded with spaces to its column's width, the widest
//! cell plus 3 and at least 5; a blank line after each table.
//!
//! | kind | `ps` | `wide` adds |
//! |---|---|---|
//! | BGPPeer (v3) | NAME PEERIP NODE ASN | |
//! | bgpPeer (v1) | SCOPE PEERIP NODE ASN | |
//! | Node | NAME | ASN IPV4 IPV6 |
//! | BGPConfiguration | NAME LOGSEVERITY MESHENABLED ASNUMBER | |
//! | IPPool | NAME CIDR SELECTOR | NAT IPIPMODE VXLANMODE DISABLED DISABLEBGPEXPORT before SELECTOR, ASSIGNMENTMODE after |
//! | BlockAffinity | NAME CIDR NODE TYPE | STATE DELETED |
//! | IPAMBlock | NAME CIDR AFFINITY | ALLOCATED DELETED |
//! | BGPFilter | NAME | |
//!
//! calicoctl has no BlockAffinity or IPAMBlock type: their columns are
//! Kubernetes' printer columns for Calico's CRDs (`blockaffinity.go`,
//! `ipamblocks.go`), with the state, tombstone and allocated count in `wide`.
//! The v1 columns are calicoctl v1's. Cells are what calicoctl's templates
//! print: a BGPPeer's NODE is its node, else its nodeSelector, else
//! `(global)`; a Node without an AS of its own shows the cluster's in
//! parentheses; a BGPConfiguration's unset mesh or AS shows `-`.

use serde_json::Value;

use crate::document::AsNumberValue;
use crate::input::stored_resources_to_json;
use crate::kind::ResourceKind;
use crate::resource::Resource;
use crate::stored::StoredResource;
use bgp_wire::Asn;

/// The AS calicoctl shows for nodes when the cluster sets none
/// (`commands/common/printer.go`, `config("asnumber")`).
const CALICOCTL_DEFAULT_AS_NUMBER: Asn = Asn(64512);

/// Go's `tabwriter` settings calicoctl uses.
const MINIMUM_WIDTH: usize = 5;
const PADDING: usize = 3;

/// One column: its heading, and the cell of a printed document.
type Column = (&'static str, fn(&Value, Asn) -> String);

/// Prints `resources` of `kind` as calicoctl's table (`wide` for `-o wide`).
/// `cluster_as_number` is the default BGPConfiguration's `asNumber`, which
/// the wide Node table shows for nodes without their own. BGPPeers print as
/// two tables when both versions are listed, v3 first; an empty listing
/// prints the headings alone.
pub fn resources_to_table(
    kind: ResourceKind,
    resources: &[StoredResource],
    wide: bool,
    cluster_as_number: Option<Asn>,
) -> String {
    let cluster_as_number = cluster_as_number.unwrap_or(CALICOCTL_DEFAULT_AS_NUMBER);
    // The documents as `get -o json` prints them; they convert by construction.
    let documents: Vec<Value> =
        serde_json::from_str(&stored_resources_to_json(resources)).unwrap_or_default();
    // v1 bgpPeers apart: they have columns of their own.
    let mut v1: Vec<&Value> = Vec::new();
    let mut v3: Vec<&Value> = Vec::new();
    for (stored, document) in resources.iter().zip(&documents) {
        match stored.resource {
            Resource::BgpPeer(_) => v1.push(document),
            _ => v3.push(document),
        }
    }
    let table = |columns: &[Column], documents: &[&Value]| {
        let mut lines = vec![columns
            .iter()
            .map(|(heading, _)| (*heading).to_owned())
            .collect()];
        lines.extend(documents.iter().map(|document| {
            columns
                .iter()
                .map(|(_, cell)| cell(document, cluster_as_number))
                .collect()
        }));
        tabulate(&lines)
    };
    let columns = columns(kind, wide);
    match kind {
        ResourceKind::BgpPeer if !v1.is_empty() && v3.is_empty() => table(V1_PEER, &v1),
        ResourceKind::BgpPeer if !v1.is_empty() => table(columns, &v3) + &table(V1_PEER, &v1),
        _ => table(columns, &v3),
    }
}

/// The columns of a v3 kind.
fn columns(kind: ResourceKind, wide: bool) -> &'static [Column] {
    match (kind, wide) {
        (ResourceKind::BgpPeer, _) => V3_PEER,
        (ResourceKind::Node, false) => &NODE[..1],
        (ResourceKind::Node, true) => NODE,
        (ResourceKind::BgpConfiguration, _) => BGP_CONFIGURATION,
        (ResourceKind::IpPool, false) => IP_POOL,
        (ResourceKind::IpPool, true) => IP_POOL_WIDE,
        (ResourceKind::BlockAffinity, false) => &BLOCK_AFFINITY[..4],
        (ResourceKind::BlockAffinity, true) => BLOCK_AFFINITY,
        (ResourceKind::IpamBlock, false) => &IPAM_BLOCK[..3],
        (ResourceKind::IpamBlock, true) => IPAM_BLOCK,
        (ResourceKind::BgpFilter, _) => &[("NAME", name)],
    }
}

/// Lays out rows as Go's `tabwriter` with calicoctl's settings, then the
/// blank line calicoctl leaves after a table.
fn tabulate(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count() + PADDING)
                .max()
                .unwrap_or(0)
                .max(MINIMUM_WIDTH)
        })
        .collect();
    let mut text = String::new();
    for row in rows {
        for (cell, width) in row.iter().zip(&widths) {
            text.push_str(cell);
            text.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
        }
        text.push('\n');
    }
    text.push('\n');
    text
}

/// The text at `path`, empty when absent (Go prints an empty string).
fn text(document: &Value, path: &[&str]) -> String {
    match path.iter().try_fold(document, |value, key| value.get(key)) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A bool at `path`, `false` when absent (Go's zero value).
fn flag(document: &Value, path: &[&str]) -> String {
    let value = path.iter().try_fold(document, |value, key| value.get(key));
    value.and_then(Value::as_bool).unwrap_or(false).to_string()
}

/// An AS number at `path` as Go's `numorstring.ASNumber` prints it (plain),
/// `None` when absent.
fn as_number(document: &Value, path: &[&str]) -> Option<String> {
    let value = path
        .iter()
        .try_fold(document, |value, key| value.get(key))?;
    let parsed: AsNumberValue = serde_json::from_value(value.clone()).ok()?;
    Some(
        parsed
            .to_asn()
            .map_or_else(|| parsed.to_string(), |asn| asn.to_string()),
    )
}

fn name(document: &Value, _: Asn) -> String {
    text(document, &["metadata", "name"])
}

const V3_PEER: &[Column] = &[
    ("NAME", name),
    ("PEERIP", |document, _| text(document, &["spec", "peerIP"])),
    ("NODE", |document, _| {
        let node = text(document, &["spec", "node"]);
        let selector = text(document, &["spec", "nodeSelector"]);
        match (node.is_empty(), selector.is_empty()) {
            (false, _) => node,
            (true, false) => selector,
            (true, true) => "(global)".to_owned(),
        }
    }),
    // `numorstring.ASNumber`, not a pointer: 0 when unset.
    ("ASN", |document, _| {
        as_number(document, &["spec", "asNumber"]).unwrap_or_else(|| "0".to_owned())
    }),
];

const V1_PEER: &[Column] = &[
    ("SCOPE", |document, _| {
        text(document, &["metadata", "scope"])
    }),
    ("PEERIP", |document, _| {
        text(document, &["metadata", "peerIP"])
    }),
    ("NODE", |document, _| text(document, &["metadata", "node"])),
    ("ASN", |document, _| {
        as_number(document, &["spec", "asNumber"]).unwrap_or_default()
    }),
];

const NODE: &[Column] = &[
    ("NAME", name),
    ("ASN", |document, cluster| {
        match document["spec"].get("bgp") {
            None | Some(Value::Null) => String::new(),
            Some(_) => as_number(document, &["spec", "bgp", "asNumber"])
                .unwrap_or_else(|| format!("({cluster})")),
        }
    }),
    ("IPV4", |document, _| {
        text(document, &["spec", "bgp", "ipv4Address"])
    }),
    ("IPV6", |document, _| {
        text(document, &["spec", "bgp", "ipv6Address"])
    }),
];

const BGP_CONFIGURATION: &[Column] = &[
    ("NAME", name),
    ("LOGSEVERITY", |document, _| {
        text(document, &["spec", "logSeverityScreen"])
    }),
    ("MESHENABLED", |document, _| {
        match document["spec"].get("nodeToNodeMeshEnabled") {
            Some(Value::Bool(enabled)) => enabled.to_string(),
            _ => "-".to_owned(),
        }
    }),
    ("ASNUMBER", |document, _| {
        as_number(document, &["spec", "asNumber"]).unwrap_or_else(|| "-".to_owned())
    }),
];

fn cidr(document: &Value, _: Asn) -> String {
    text(document, &["spec", "cidr"])
}

fn pool_selector(document: &Value, _: Asn) -> String {
    text(document, &["spec", "nodeSelector"])
}

/// An encapsulation mode, `Never` when unset (calicoctl's template).
fn mode(document: &Value, field: &str) -> String {
    Some(text(document, &["spec", field]))
        .filter(|mode| !mode.is_empty())
        .unwrap_or_else(|| "Never".to_owned())
}

const IP_POOL: &[Column] = &[("NAME", name), ("CIDR", cidr), ("SELECTOR", pool_selector)];

const IP_POOL_WIDE: &[Column] = &[
    ("NAME", name),
    ("CIDR", cidr),
    ("NAT", |document, _| {
        flag(document, &["spec", "natOutgoing"])
    }),
    ("IPIPMODE", |document, _| mode(document, "ipipMode")),
    ("VXLANMODE", |document, _| mode(document, "vxlanMode")),
    ("DISABLED", |document, _| {
        flag(document, &["spec", "disabled"])
    }),
    ("DISABLEBGPEXPORT", |document, _| {
        flag(document, &["spec", "disableBGPExport"])
    }),
    ("SELECTOR", pool_selector),
    // Calico defaults it to Automatic when it reads a pool.
    ("ASSIGNMENTMODE", |document, _| {
        Some(text(document, &["spec", "assignmentMode"]))
            .filter(|mode| !mode.is_empty())
            .unwrap_or_else(|| "Automatic".to_owned())
    }),
];

const BLOCK_AFFINITY: &[Column] = &[
    ("NAME", name),
    ("CIDR", cidr),
    ("NODE", |document, _| text(document, &["spec", "node"])),
    ("TYPE", |document, _| text(document, &["spec", "type"])),
    ("STATE", |document, _| text(document, &["spec", "state"])),
    ("DELETED", |document, _| {
        text(document, &["spec", "deleted"])
    }),
];

const IPAM_BLOCK: &[Column] = &[
    ("NAME", name),
    ("CIDR", cidr),
    ("AFFINITY", |document, _| {
        text(document, &["spec", "affinity"])
    }),
    ("ALLOCATED", |document, _| {
        document["spec"]["allocations"]
            .as_array()
            .map_or(0, |allocations| {
                allocations.iter().filter(|index| !index.is_null()).count()
            })
            .to_string()
    }),
    ("DELETED", |document, _| {
        flag(document, &["spec", "deleted"])
    }),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_padded_as_gos_tabwriter_does() {
        let rows = vec![
            vec!["NAME".to_owned(), "CIDR".to_owned()],
            vec!["default-ipv4-ippool".to_owned(), "a".to_owned()],
        ];
        assert_eq!(
            tabulate(&rows),
            "NAME                  CIDR   \ndefault-ipv4-ippool   a      \n\n"
        );
    }
}
