//! An MRT dump replayed as one peer's stream, for the route-load harness
//! (`route-load --mrt FILE`): the table a route collector saw from one of its
//! peers, sent to every receiver as the harness's own sender.
//!
//! * **A RIB dump** (TABLE_DUMP_V2, RFC 6396 §4.3, or the legacy TABLE_DUMP,
//!   §4.2): the chosen peer's route to each prefix of the family. Prefixes
//!   with the same path attributes go out together in as few UPDATEs as they
//!   fit, in the order the dump first shows each set, as a speaker sends its
//!   table when a session comes up.
//! * **An updates dump** (BGP4MP messages, §4.4): the chosen peer's UPDATEs in
//!   the order they were recorded, withdrawals included, one out for each one
//!   in (more when the rewritten attributes no longer fit one message). The
//!   receivers then hold what the stream leaves announced at its end.
//!
//! The chosen peer is the one given, or else the one with the most routes of
//! the family in the dump. Every route is rewritten as the harness's eBGP
//! sender would send it (RFC 4271 §5.1): the sender's AS prepended to the AS
//! path (AS4_PATH merged in first for a two-octet session, RFC 6793 §4.2.3),
//! the next hop one of the table's four documentation addresses (picked by a
//! hash of the recorded one, so that routes keep their grouping), and the
//! attributes that do not cross an AS boundary (LOCAL_PREF, ORIGINATOR_ID,
//! CLUSTER_LIST) left out. A route whose path already holds the receivers' AS
//! would be refused by every receiver as a loop (RFC 4271 §9.1.2); it is
//! counted as skipped, as are records that are cut short, carry ADD-PATH
//! identifiers, or do not decode.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::BufReader;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use bgp_capture::{inflate_if_gzip, mrt_stream, MrtPeer, MrtRecord, Origin as CaptureOrigin};
use bgp_wire::{
    decode_nlri_field, decode_path_attributes, Afi, AsPath, Asn, AttributeValue, CodecContext,
    Family, Message, MpNlri, MpUnreach, Nlri, NlriList, PathAttribute, Received, Safi, Update,
};
use bytes::{Bytes, BytesMut};
use ipnet::IpNet;

use crate::{announcement, split_stream};

/// The AS of the harness's sender, prepended to every replayed path.
const SENDER_AS: Asn = Asn(64_700);

/// The receivers' AS: a path holding it is a loop to them.
const RECEIVER_AS: Asn = Asn(65_000);

/// BGP message type code of UPDATE (RFC 4271 §4.1).
const UPDATE_TYPE: u8 = 2;

/// What kind of dump a replay came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpKind {
    /// TABLE_DUMP_V2 or TABLE_DUMP: one route per prefix, a table.
    Rib,
    /// BGP4MP messages: a stream of UPDATEs, withdrawals included.
    Updates,
}

/// One peer's routes from an MRT dump, ready to send.
#[derive(Debug)]
pub struct Replay {
    /// The UPDATEs to send, one [`Bytes`] each, End-of-RIB not included.
    pub updates: Vec<Bytes>,
    /// Prefixes announced once the whole stream is in: what a receiver holds.
    pub prefixes: usize,
    /// The peer whose routes these are.
    pub peer: IpAddr,
    /// The dump's kind.
    pub kind: DumpKind,
    /// Routes of that peer read from the dump: RIB entries, or the prefixes
    /// UPDATEs announced and withdrew.
    pub routes: usize,
    /// Whether the stream withdraws a prefix or announces one again: then it
    /// cannot be dealt out to several sessions or cut short like a table.
    pub changes_routes: bool,
    /// That peer's records or routes left out (see the module documentation).
    pub skipped: usize,
}

/// Replays the routes of `family` (IPv4 or IPv6 unicast) that `peer`, or the
/// peer with the most of them, has in the MRT dump at `path` (gzip-compressed
/// or not).
///
/// # Errors
/// The dump cannot be read, the peer has no route of the family in it, or
/// the dump has none at all.
pub fn replay_mrt(path: &Path, family: Family, peer: Option<IpAddr>) -> Result<Replay, String> {
    let name = path.display();
    let peer = match peer {
        Some(peer) => peer,
        None => {
            let mut counts: HashMap<IpAddr, usize> = HashMap::new();
            read_routes(path, family, |routes| {
                *counts.entry(routes.peer).or_default() += routes.count();
            })?;
            // The most routes; the lowest address between equals, so that the
            // choice does not depend on the map's order.
            counts
                .into_iter()
                .max_by_key(|(address, count)| (*count, std::cmp::Reverse(*address)))
                .map(|(address, _)| address)
                .ok_or_else(|| format!("{name}: no {family} route from any peer"))?
        }
    };
    let mut builder = Builder::default();
    let kind = read_routes(path, family, |routes| {
        if routes.peer == peer {
            builder.add(routes, family);
        }
    })?;
    if builder.routes == 0 {
        return Err(format!("{name}: no {family} route from peer {peer}"));
    }
    let Builder {
        groups,
        stream,
        held,
        routes,
        changes_routes,
        skipped,
        ..
    } = builder;
    let kind = kind.unwrap_or(DumpKind::Updates);
    let updates = match kind {
        DumpKind::Updates => split_stream(stream),
        DumpKind::Rib => {
            let context = CodecContext::default();
            let mut stream = BytesMut::new();
            for (attributes, announced) in groups.sets {
                announcement(&attributes, announced)
                    .encode(&context, &mut stream)
                    .map_err(|error| format!("{name}: a route from {peer} re-encoded: {error}"))?;
            }
            split_stream(stream)
        }
    };
    Ok(Replay {
        updates,
        prefixes: held.len(),
        peer,
        kind,
        routes,
        changes_routes,
        skipped,
    })
}

/// What one record holds from one peer.
struct Routes {
    /// Who sent them to the collector.
    peer: IpAddr,
    /// Prefixes withdrawn.
    withdrawn: Vec<Nlri>,
    /// Prefixes announced, with `attributes`.
    announced: Vec<Nlri>,
    /// The path attributes as recorded, MP_REACH_NLRI and MP_UNREACH_NLRI
    /// included.
    attributes: Vec<PathAttribute>,
    /// The AS path the routes really took (AS4_PATH merged in).
    as_path: Option<AsPath>,
    /// The record could not be used: counted, not replayed.
    damaged: bool,
    /// From a RIB record: a table entry, not a change.
    rib: bool,
}

impl Routes {
    fn count(&self) -> usize {
        self.withdrawn.len() + self.announced.len()
    }
}

/// Reads every record of the dump at `path` and hands `each` the routes of
/// `family` it holds; returns which kind of dump it was (`None`: no route
/// record at all).
fn read_routes(
    path: &Path,
    family: Family,
    mut each: impl FnMut(Routes),
) -> Result<Option<DumpKind>, String> {
    let name = path.display();
    let file = File::open(path).map_err(|error| format!("{name}: {error}"))?;
    let reader =
        inflate_if_gzip(BufReader::new(file)).map_err(|error| format!("{name}: {error}"))?;
    let mut peers: Vec<MrtPeer> = Vec::new();
    let mut kind = None;
    for record in mrt_stream(reader) {
        // A record shorter than its fields is skipped by the reader, which
        // goes on; a dump cut short ends the iteration.
        let Ok(record) = record else { continue };
        match record {
            MrtRecord::PeerIndexTable { peers: table, .. } => peers = table,
            MrtRecord::RibEntries {
                afi,
                safi,
                prefix,
                entries,
                ..
            } => {
                if Family::new(Afi(afi), Safi(safi)) != family {
                    continue;
                }
                kind = Some(DumpKind::Rib);
                let nlri = decode_nlri_field(&prefix, family, false).unwrap_or_default();
                // RFC 6396 §4.3.4: RIB entries carry four-octet AS numbers and
                // an MP_REACH_NLRI cut down to its next hop.
                let context = CodecContext {
                    four_octet_asn: true,
                    table_dump_family: Some(family),
                    ..CodecContext::default()
                };
                for entry in entries {
                    let Some(peer) = peers.get(usize::from(entry.peer_index)) else {
                        continue;
                    };
                    let (attributes, errors) =
                        decode_path_attributes(&Bytes::from(entry.attributes), &context);
                    let (attributes, as_path) = with_as_path(attributes, true);
                    each(Routes {
                        peer: peer.address,
                        withdrawn: Vec::new(),
                        announced: nlri.clone(),
                        damaged: nlri.len() != 1 || !errors.is_empty() || entry.path_id.is_some(),
                        rib: true,
                        attributes,
                        as_path,
                    });
                }
            }
            MrtRecord::TableDump {
                afi,
                prefix,
                prefix_length,
                peer_address,
                attributes,
                ..
            } => {
                let table_family = match afi {
                    1 => Family::IPV4_UNICAST,
                    _ => Family::IPV6_UNICAST,
                };
                if table_family != family {
                    continue;
                }
                kind = Some(DumpKind::Rib);
                // RFC 6396 §4.2: two-octet AS numbers in the attributes.
                let context = CodecContext {
                    four_octet_asn: false,
                    table_dump_family: Some(family),
                    ..CodecContext::default()
                };
                let (attributes, errors) =
                    decode_path_attributes(&Bytes::from(attributes), &context);
                let (attributes, as_path) = with_as_path(attributes, false);
                let prefix = IpNet::new(prefix, prefix_length).ok();
                each(Routes {
                    peer: peer_address,
                    withdrawn: Vec::new(),
                    announced: prefix.into_iter().map(Nlri::new).collect(),
                    damaged: prefix.is_none() || !errors.is_empty(),
                    rib: true,
                    as_path,
                    attributes,
                });
            }
            MrtRecord::Message(message) => {
                if message.message_type() != Some(UPDATE_TYPE) {
                    continue;
                }
                let whole = message.is_whole();
                let CaptureOrigin::Mrt(header) = message.origin else {
                    continue;
                };
                let context = CodecContext {
                    four_octet_asn: header.four_octet_asn,
                    external_peer: true,
                    ..CodecContext::default()
                };
                let decoded = (whole && !header.add_path)
                    .then(|| Message::decode(&Bytes::from(message.bytes), &context).ok())
                    .flatten();
                let routes = match decoded {
                    Some(received) => {
                        let Message::Update(update) = received.message else {
                            continue;
                        };
                        let (withdrawn, announced) = prefixes_of(&update, family);
                        if withdrawn.is_empty() && announced.is_empty() {
                            continue;
                        }
                        Routes {
                            peer: header.peer_address,
                            withdrawn,
                            announced,
                            as_path: update.effective_as_path(header.four_octet_asn),
                            attributes: update.attributes,
                            damaged: !received.errors.is_empty(),
                            rib: false,
                        }
                    }
                    // Counted against its peer, whatever its family.
                    None => Routes {
                        peer: header.peer_address,
                        withdrawn: Vec::new(),
                        announced: Vec::new(),
                        attributes: Vec::new(),
                        as_path: None,
                        damaged: true,
                        rib: false,
                    },
                };
                if kind.is_none() {
                    kind = Some(DumpKind::Updates);
                }
                each(routes);
            }
            MrtRecord::StateChange { .. } | MrtRecord::Other { .. } => {}
        }
    }
    Ok(kind)
}

/// The prefixes of `family` an UPDATE withdraws and announces, in its NLRI
/// fields (IPv4 unicast) or its MP attributes (RFC 4760).
fn prefixes_of(update: &Update, family: Family) -> (Vec<Nlri>, Vec<Nlri>) {
    if family == Family::IPV4_UNICAST {
        return (update.withdrawn.to_vec(), update.announced.to_vec());
    }
    let withdrawn = match update.mp_unreach() {
        Some(MpUnreach {
            family: unreach,
            nlri: MpNlri::Prefixes(prefixes),
        }) if *unreach == family => prefixes.clone(),
        _ => Vec::new(),
    };
    let announced = match update.mp_reach() {
        Some(reach) if reach.family == family => match &reach.nlri {
            MpNlri::Prefixes(prefixes) => prefixes.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    (withdrawn, announced)
}

/// A RIB entry's attributes, and its AS_PATH merged with AS4_PATH when it was
/// recorded with two-octet numbers (RFC 6793 §4.2.3), as
/// [`Update::effective_as_path`] does for a message (the attributes go
/// through an UPDATE for it and come back, not copied).
fn with_as_path(
    attributes: Vec<PathAttribute>,
    four_octet: bool,
) -> (Vec<PathAttribute>, Option<AsPath>) {
    let update = Update {
        withdrawn: NlriList::new(),
        attributes,
        announced: NlriList::new(),
    };
    let as_path = update.effective_as_path(four_octet);
    (update.attributes, as_path)
}

/// Builds the replay from the chosen peer's routes.
#[derive(Default)]
struct Builder {
    /// A RIB dump's routes grouped by their attributes as sent.
    groups: Groups,
    /// An updates dump's UPDATEs, encoded one after the other.
    stream: BytesMut,
    /// Prefixes announced and not withdrawn since.
    held: HashSet<IpNet>,
    routes: usize,
    changes_routes: bool,
    skipped: usize,
}

/// Prefixes by attribute set, in the order the sets first appeared.
#[derive(Default)]
struct Groups {
    /// Each set's index in `sets`, by its encoding.
    index: HashMap<Bytes, usize>,
    sets: Vec<(Vec<PathAttribute>, Vec<Nlri>)>,
}

impl Builder {
    fn add(&mut self, routes: Routes, family: Family) {
        self.routes += routes.count();
        if routes.damaged {
            self.skipped += 1;
            return;
        }
        let attributes = match &routes.as_path {
            _ if routes.announced.is_empty() => Vec::new(),
            Some(path) if path.count(RECEIVER_AS) == 0 => as_sent(&routes.attributes, path),
            // No AS_PATH (a malformed route), or a loop to the receivers.
            _ => {
                self.skipped += routes.announced.len();
                if routes.withdrawn.is_empty() {
                    return;
                }
                Vec::new()
            }
        };
        let announced = if attributes.is_empty() {
            Vec::new()
        } else {
            routes.announced
        };
        if routes.rib {
            self.add_to_table(attributes, announced);
        } else {
            self.add_to_stream(routes.withdrawn, attributes, announced, family);
        }
    }

    /// A RIB entry: its prefix joins its attribute set's group, once.
    fn add_to_table(&mut self, attributes: Vec<PathAttribute>, announced: Vec<Nlri>) {
        let announced: Vec<Nlri> = announced
            .into_iter()
            .filter(|nlri| self.held.insert(nlri.prefix))
            .collect();
        if announced.is_empty() {
            return;
        }
        let mut key = BytesMut::new();
        Update {
            withdrawn: NlriList::new(),
            attributes,
            announced: NlriList::new(),
        }
        .encode(&CodecContext::default(), &mut key)
        .expect("attributes decoded from a dump encode again");
        let key = key.freeze();
        let sets = &mut self.groups.sets;
        let index = *self.groups.index.entry(key.clone()).or_insert_with(|| {
            let Ok(Received {
                message: Message::Update(update),
                ..
            }) = Message::decode(&key, &CodecContext::default())
            else {
                unreachable!("an UPDATE just encoded decodes")
            };
            sets.push((update.attributes, Vec::new()));
            sets.len() - 1
        });
        self.groups.sets[index].1.extend(announced);
    }

    /// An UPDATE of an updates dump: sent as it came, rewritten.
    fn add_to_stream(
        &mut self,
        withdrawn: Vec<Nlri>,
        attributes: Vec<PathAttribute>,
        announced: Vec<Nlri>,
        family: Family,
    ) {
        for nlri in &withdrawn {
            self.changes_routes = true;
            self.held.remove(&nlri.prefix);
        }
        for nlri in &announced {
            if !self.held.insert(nlri.prefix) {
                self.changes_routes = true;
            }
        }
        let mut update = if announced.is_empty() {
            Update {
                withdrawn: NlriList::new(),
                attributes: Vec::new(),
                announced: NlriList::new(),
            }
        } else {
            announcement(&attributes, announced)
        };
        if family == Family::IPV4_UNICAST {
            update.withdrawn = withdrawn.into();
        } else if !withdrawn.is_empty() {
            update
                .attributes
                .push(PathAttribute::new(AttributeValue::MpUnreach(MpUnreach {
                    family,
                    nlri: MpNlri::Prefixes(withdrawn),
                })));
            update
                .attributes
                .sort_by_key(|attribute| attribute.value.type_code().0);
        }
        update
            .encode(&CodecContext::default(), &mut self.stream)
            .expect("a decoded UPDATE encodes again");
    }
}

/// The attributes of a route as the harness's eBGP sender passes it on
/// (RFC 4271 §5.1): `path` with the sender's AS in front, a next hop of its
/// own, nothing that stays within an AS, in type-code order.
fn as_sent(attributes: &[PathAttribute], path: &AsPath) -> Vec<PathAttribute> {
    let mut recorded_next_hop = DefaultHasher::new();
    let mut sent = Vec::with_capacity(attributes.len() + 1);
    for attribute in attributes {
        match &attribute.value {
            AttributeValue::NextHop(address) => address.hash(&mut recorded_next_hop),
            AttributeValue::MpReach(reach) => reach.next_hop.hash(&mut recorded_next_hop),
            // Replaced below, or not sent across an AS boundary (RFC 4271
            // §5.1.5, RFC 4456 §8), or merged into AS_PATH already (RFC
            // 6793 §4.2.3: a four-octet session carries neither).
            AttributeValue::AsPath(_)
            | AttributeValue::LocalPref(_)
            | AttributeValue::OriginatorId(_)
            | AttributeValue::ClusterList(_)
            | AttributeValue::MpUnreach(_)
            | AttributeValue::As4Path(_)
            | AttributeValue::As4Aggregator(_) => {}
            _ => sent.push(attribute.clone()),
        }
    }
    let next_hop = Ipv4Addr::new(192, 0, 2, 1 + (recorded_next_hop.finish() % 4) as u8);
    sent.push(PathAttribute::new(AttributeValue::AsPath(
        path.prepend(SENDER_AS),
    )));
    sent.push(PathAttribute::new(AttributeValue::NextHop(next_hop)));
    sent.sort_by_key(|attribute| attribute.value.type_code().0);
    sent
}
