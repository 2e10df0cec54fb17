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

use bgp_wire::{AttributeValue, CodecContext, Family, Nlri, PathAttribute};
use bytes::{Bytes, BytesMut};

use crate::{announcement, attribute_set, split_stream, table_prefixes, SplitMix64, ASN_POOL_SIZE};

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

/// `prefixes` distinct prefixes of `family` (IPv4 or IPv6 unicast) in
/// `shape`, one [`Bytes`] per UPDATE, deterministic for `seed`.
pub fn shaped_table(family: Family, shape: TableShape, prefixes: usize, seed: u64) -> Vec<Bytes> {
    let TableShape::Fixed {
        per_update,
        attribute_sets,
    } = shape
    else {
        return crate::synthetic_table(family, prefixes, seed);
    };
    let mut random = SplitMix64::new(seed);
    let (asn_pool, transit) = crate::asn_pools(&mut random, ASN_POOL_SIZE);
    let table = table_prefixes(family, prefixes, &mut random);
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
        let announced = group.iter().map(|net| Nlri::new(*net)).collect();
        announcement(&sets[set], announced)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::update_prefix_counts;
    use bgp_wire::{Message, MpNlri};
    use std::collections::HashSet;

    /// Every prefix of `table` with its UPDATE's index, from the decoded
    /// messages (NLRI field and MP_REACH_NLRI alike).
    fn announced(table: &[Bytes]) -> Vec<(usize, ipnet::IpNet)> {
        let context = CodecContext::default();
        let mut prefixes = Vec::new();
        for (index, frame) in table.iter().enumerate() {
            let Message::Update(update) = Message::decode(frame, &context).unwrap().message else {
                panic!("not an UPDATE")
            };
            prefixes.extend(update.announced.iter().map(|nlri| (index, nlri.prefix)));
            if let Some(reach) = update.mp_reach() {
                assert_eq!(reach.family, Family::IPV6_UNICAST);
                assert_eq!(reach.next_hop[..4], [0x20, 0x01, 0x0d, 0xb8]);
                let MpNlri::Prefixes(nlri) = &reach.nlri else {
                    panic!("opaque NLRI")
                };
                prefixes.extend(nlri.iter().map(|nlri| (index, nlri.prefix)));
            }
            // The harness's readers count what the decoder finds.
            let counted = update_prefix_counts(&frame[19..]).1 as usize;
            assert_eq!(
                counted,
                prefixes.iter().filter(|(at, _)| *at == index).count()
            );
        }
        prefixes
    }

    #[test]
    fn an_ipv6_table_is_distinct_ipv6_prefixes_in_mp_reach_nlri() {
        for shape in [TableShape::Natural, TableShape::parse("4/100").unwrap()] {
            let table = shaped_table(Family::IPV6_UNICAST, shape, 10_000, 7);
            let prefixes = announced(&table);
            assert_eq!(prefixes.len(), 10_000, "{shape}");
            let distinct: HashSet<_> = prefixes.iter().map(|(_, prefix)| *prefix).collect();
            assert_eq!(distinct.len(), 10_000, "{shape}");
            for (_, prefix) in &prefixes {
                let ipnet::IpNet::V6(net) = prefix else {
                    panic!("{prefix} in an IPv6 table")
                };
                assert!((28..=64).contains(&net.prefix_len()), "{net}");
                assert_eq!(net.addr().segments()[0] & 0xf000, 0x2000, "{net}");
                assert_eq!(net.trunc(), *net, "host bits set in {net}");
            }
            let lengths: Vec<u8> = prefixes
                .iter()
                .map(|(_, prefix)| prefix.prefix_len())
                .collect();
            let most = lengths.iter().filter(|length| **length == 48).count();
            assert!(most > 3_000, "/48 the most common length: {most}");
        }
    }

    #[test]
    fn a_fixed_shape_packs_exactly_its_prefixes_per_update_in_both_families() {
        for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
            let table = shaped_table(family, TableShape::parse("4/100").unwrap(), 1_000, 3);
            assert_eq!(table.len(), 250);
            let prefixes = announced(&table);
            assert!(prefixes
                .iter()
                .all(|(_, prefix)| prefix.addr().is_ipv6() == (family == Family::IPV6_UNICAST)));
            for index in 0..table.len() {
                assert_eq!(prefixes.iter().filter(|(at, _)| *at == index).count(), 4);
            }
        }
    }
}
