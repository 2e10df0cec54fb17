//! Table shapes for the route-load harness: the same million prefixes packed
//! the way different senders pack them. Per-UPDATE and per-attribute-set
//! costs dominate a receiver's work on some shapes and hide on others, so
//! a speaker is measured on several:
//!
//! * **natural** ([`synthetic_full_table`](crate::synthetic_full_table)):
//!   one UPDATE per attribute set as long as it fits; Pareto-sized sets,
//!   ~10 prefixes per UPDATE, ~100k sets per 1M prefixes.
//! * **fixed**: exactly `per_update` prefixes in each UPDATE (1, 4, 10, 50)
//!   and `attribute_sets` distinct sets drawn for the UPDATEs at random, so
//!   one set comes back in several UPDATEs far apart in the stream, as a
//!   table replayed by a route server or another speaker's update groups
//!   arrives. Attribute sets vary in AS_PATH (4-octet ASNs, 2-8 hops),
//!   MULTI_EXIT_DISC and COMMUNITIES.

use std::collections::HashSet;

use bgp_wire::{AttributeValue, CodecContext, Nlri, PathAttribute, Update};
use bytes::{Bytes, BytesMut};
use ipnet::IpNet;

use crate::{attribute_set, distinct_prefixes, split_stream, SplitMix64, ASN_POOL_SIZE};

/// How a table is packed into UPDATEs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableShape {
    /// One UPDATE per Pareto-sized attribute set (the original table).
    Natural,
    /// Fixed prefixes per UPDATE and a fixed number of distinct attribute sets.
    Fixed {
        /// Prefixes in each UPDATE.
        per_update: usize,
        /// Distinct attribute sets in the whole table.
        attribute_sets: usize,
    },
}

impl TableShape {
    /// `natural`, or `PER_UPDATE/SETS` (e.g. `4/100000`, `50/1000`).
    pub fn parse(text: &str) -> Result<TableShape, String> {
        if text == "natural" {
            return Ok(TableShape::Natural);
        }
        let number = |part: &str| {
            part.replace('_', "")
                .replace('k', "000")
                .parse::<usize>()
                .ok()
                .filter(|value| *value > 0)
                .ok_or_else(|| format!("table shape {text}: {part} is not a positive number"))
        };
        match text.split_once('/') {
            Some((per_update, sets)) => Ok(TableShape::Fixed {
                per_update: number(per_update)?,
                attribute_sets: number(sets)?,
            }),
            None => Err(format!(
                "table shape {text}: expected natural or PER_UPDATE/SETS, e.g. 4/100k"
            )),
        }
    }

    /// The name the report prints.
    pub fn name(&self) -> String {
        match self {
            TableShape::Natural => "natural".to_owned(),
            TableShape::Fixed {
                per_update,
                attribute_sets,
            } => format!("{per_update}/{attribute_sets}"),
        }
    }
}

impl std::fmt::Display for TableShape {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.name())
    }
}

/// `prefixes` distinct IPv4 prefixes in `shape`, one [`Bytes`] per UPDATE,
/// deterministic for `seed`.
pub fn shaped_table(shape: TableShape, prefixes: usize, seed: u64) -> Vec<Bytes> {
    let TableShape::Fixed {
        per_update,
        attribute_sets,
    } = shape
    else {
        return crate::synthetic_full_table(prefixes, seed);
    };
    let mut random = SplitMix64::new(seed);
    let (asn_pool, transit) = crate::asn_pools(&mut random, ASN_POOL_SIZE);
    let table = distinct_prefixes(prefixes, &mut random);
    let updates = prefixes.div_ceil(per_update);
    // Distinct sets: redraw the rare duplicate so that the count is exact.
    let wanted = attribute_sets.min(updates);
    let mut seen = HashSet::with_capacity(wanted);
    let mut sets: Vec<Vec<PathAttribute>> = Vec::with_capacity(wanted);
    while sets.len() < wanted {
        let set = attribute_set(&mut random, &asn_pool, &transit);
        if seen.insert(fingerprint(&set)) {
            sets.push(set);
        }
    }
    // Every set is used at least once, then at random.
    let mut choice: Vec<usize> = (0..updates)
        .map(|index| {
            if index < wanted {
                index
            } else {
                random.below(wanted as u64) as usize
            }
        })
        .collect();
    for index in (1..choice.len()).rev() {
        let other = random.below(index as u64 + 1) as usize;
        choice.swap(index, other);
    }
    let context = CodecContext::default();
    let mut stream = BytesMut::with_capacity(prefixes * 8);
    for (group, set) in table.chunks(per_update).zip(choice) {
        let update = Update {
            withdrawn: Vec::new(),
            attributes: sets[set].clone(),
            announced: group.iter().map(|net| Nlri::new(IpNet::V4(*net))).collect(),
        };
        update
            .encode(&context, &mut stream)
            .expect("a synthetic UPDATE encodes");
    }
    split_stream(stream)
}

/// A key telling attribute sets apart.
fn fingerprint(set: &[PathAttribute]) -> String {
    set.iter()
        .map(|attribute| match &attribute.value {
            AttributeValue::Origin(origin) => format!("o{origin:?}"),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join(";")
}
