//! Inputs and visitors shared by the nodebgp benchmark targets.
//!
//! Both bench targets (`decode`, timed with criterion, and `allocations`, counted with
//! dhat) decode the same two inputs:
//!
//! * [`ris_updates`]: every BGP4MP UPDATE of the RIPE RIS MRT dumps under
//!   `<vectors>/mrt/bgpkit-ripe/`, each with the AS number width its MRT subtype names;
//! * [`synthetic_full_table`]: a deterministic IPv4 full table encoded by our own
//!   [`Update::encode`], packed the way a speaker sends a table.
//!
//! Every message is handed out as a [`Bytes`] split off one stream buffer with
//! [`bgp_wire::split_frame`], exactly as the session driver hands frames to the codec.
//!
//! [`visit_update`] is the work our side must do after decoding: `bgp-wire` keeps AS paths
//! and community lists as validated byte slices that are read on demand, so a fair
//! comparison reads every prefix, every AS number and every community back out.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

mod count;
mod replay;
mod shape;

pub use count::{update_fields, update_prefix_counts};
pub use replay::{replay_mrt, DumpKind, Replay};
pub use shape::{shaped_table, TableShape};

use bgp_capture::{decompress_if_gzip, mrt_records, MrtRecord, Origin as CaptureOrigin};
use bgp_wire::{
    split_frame, AsPath, Asn, AttributeValue, CodecContext, Communities, Community, Family,
    Message, MpNlri, MpReach, Nlri, NlriList, PathAttribute, Update, MAX_EXTENDED_MESSAGE_LENGTH,
};
use bytes::{Bytes, BytesMut};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Prefixes in the synthetic full table both bench targets decode.
pub const TABLE_PREFIXES: usize = 1_000_000;

/// Seed of that table.
pub const TABLE_SEED: u64 = 0x006e_6f64_6562_6770;

/// Largest decompressed size accepted for one MRT file.
const MRT_INFLATE_LIMIT: usize = 512 << 20;

/// BGP message type code of UPDATE (RFC 4271 §4.1).
const UPDATE_TYPE: u8 = 2;

/// The shared test vectors folder: `$NODEBGP_VECTORS`, else `shared/vectors` beside the
/// workspace.
pub fn vectors_dir() -> PathBuf {
    match std::env::var_os("NODEBGP_VECTORS") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors")),
    }
}

/// The folder holding the RIPE RIS MRT dumps.
pub fn ris_dir() -> PathBuf {
    vectors_dir().join("mrt").join("bgpkit-ripe")
}

/// Every BGP4MP UPDATE message of the RIS MRT dumps, with whether its MRT subtype says
/// the session used 4-octet AS numbers. `None` when the folder is absent.
///
/// Records that are damaged, cut short, or carry ADD-PATH NLRI (RFC 8050 subtypes) are
/// left out; messages keep the order of the files (sorted by path) and of their records.
pub fn ris_updates() -> Option<Vec<(Bytes, bool)>> {
    let folder = ris_dir();
    if !folder.is_dir() {
        return None;
    }
    Some(
        ris_updates_from(&folder).unwrap_or_else(|error| {
            panic!("reading MRT files under {}: {error}", folder.display())
        }),
    )
}

/// [`ris_updates`] for any folder of (possibly gzip-compressed) MRT files.
pub fn ris_updates_from(folder: &Path) -> std::io::Result<Vec<(Bytes, bool)>> {
    let mut files = Vec::new();
    collect_files(folder, &mut files)?;
    files.sort();
    let mut stream = BytesMut::new();
    let mut four_octet = Vec::new();
    for file in &files {
        let raw = std::fs::read(file)?;
        let data = decompress_if_gzip(&raw, MRT_INFLATE_LIMIT)
            .map_err(|error| std::io::Error::other(format!("{}: {error}", file.display())))?;
        for record in mrt_records(&data) {
            let Ok(MrtRecord::Message(message)) = record else {
                continue;
            };
            let CaptureOrigin::Mrt(header) = &message.origin else {
                continue;
            };
            if header.add_path || !message.is_whole() || message.message_type() != Some(UPDATE_TYPE)
            {
                continue;
            }
            stream.extend_from_slice(&message.bytes);
            four_octet.push(header.four_octet_asn);
        }
    }
    let frames = split_stream(stream);
    assert_eq!(
        frames.len(),
        four_octet.len(),
        "every MRT message is one frame"
    );
    Ok(frames.into_iter().zip(four_octet).collect())
}

fn collect_files(folder: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// Splits a buffer of whole messages into frames with [`split_frame`], as a session
/// driver does with its receive buffer.
pub(crate) fn split_stream(mut stream: BytesMut) -> Vec<Bytes> {
    let mut frames = Vec::new();
    while !stream.is_empty() {
        match split_frame(&mut stream, MAX_EXTENDED_MESSAGE_LENGTH) {
            Ok(Some(frame)) => frames.push(frame),
            other => panic!("stream does not frame: {other:?}"),
        }
    }
    frames
}

/// A small deterministic PRNG (SplitMix64, Steele, Lea & Flood 2014): good enough to
/// draw benchmark data, and the same on every machine.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0); the modulo bias is irrelevant here.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An index drawn with the given relative weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut pick = self.below(u64::from(total)) as u32;
        for (index, weight) in weights.iter().enumerate() {
            if pick < *weight {
                return index;
            }
            pick -= weight;
        }
        weights.len() - 1
    }
}

/// Prefix lengths of the synthetic table: ~61% /24, ~38% /16-/23, ~0.8% /8-/15 drawn
/// (fewer /8-/15 survive deduplication), roughly the mix of today's IPv4 DFZ.
fn prefix_length(random: &mut SplitMix64) -> u8 {
    // /8 ../24 weights per mille.
    const WEIGHTS: [u32; 17] = [
        1, 1, 1, 1, 1, 1, 1, 1, // /8-/15: 8 per mille
        12, 6, 8, 18, 40, 60, 110, 132, // /16-/23
        611, // /24
    ];
    8 + random.weighted(&WEIGHTS) as u8
}

/// `count` distinct IPv4 unicast prefixes (first octet 1-223, not 10 or 127), host bits
/// cleared, in random order.
pub(crate) fn distinct_prefixes(count: usize, random: &mut SplitMix64) -> Vec<Ipv4Net> {
    let mut seen = HashSet::with_capacity(count);
    let mut prefixes = Vec::with_capacity(count);
    while prefixes.len() < count {
        let length = prefix_length(random);
        let first = 1 + random.below(223) as u32;
        if first == 10 || first == 127 {
            continue;
        }
        let address = (first << 24) | (random.next_u64() as u32 & 0x00ff_ffff);
        let address = address & (u32::MAX << (32 - u32::from(length)));
        if seen.insert((address, length)) {
            prefixes.push(Ipv4Net::new(Ipv4Addr::from(address), length).expect("length <= 32"));
        }
    }
    prefixes
}

/// IPv6 prefix lengths of the synthetic table and their weights per mille:
/// about two in five /48, then /32, /44, /40, /36 and /29 (allocation
/// sizes), a few /56 and /64, roughly the mix of today's IPv6 DFZ.
const IPV6_LENGTHS: [(u8, u32); 23] = [
    (28, 5),
    (29, 40),
    (30, 5),
    (31, 5),
    (32, 120),
    (33, 10),
    (34, 15),
    (35, 10),
    (36, 45),
    (37, 10),
    (38, 15),
    (39, 15),
    (40, 60),
    (41, 15),
    (42, 30),
    (43, 15),
    (44, 80),
    (45, 20),
    (46, 30),
    (47, 40),
    (48, 400),
    (56, 10),
    (64, 5),
];

/// `count` distinct IPv6 unicast prefixes in 2000::/4 (the global unicast
/// space that is allocated today), host bits cleared, in random order.
pub(crate) fn distinct_prefixes_v6(count: usize, random: &mut SplitMix64) -> Vec<Ipv6Net> {
    let weights: Vec<u32> = IPV6_LENGTHS.iter().map(|(_, weight)| *weight).collect();
    let mut seen = HashSet::with_capacity(count);
    let mut prefixes = Vec::with_capacity(count);
    while prefixes.len() < count {
        let length = IPV6_LENGTHS[random.weighted(&weights)].0;
        // 2000::/4 and 64 random bits: every length here is at most /64.
        let high = (0x2000_u64 << 48) | (random.next_u64() >> 4);
        let high = high & (u64::MAX << (64 - u32::from(length)));
        if seen.insert((high, length)) {
            let address = Ipv6Addr::from(u128::from(high) << 64);
            prefixes.push(Ipv6Net::new(address, length).expect("length <= 64"));
        }
    }
    prefixes
}

/// `count` distinct prefixes of `family` (IPv4 or IPv6 unicast).
pub(crate) fn table_prefixes(family: Family, count: usize, random: &mut SplitMix64) -> Vec<IpNet> {
    if family == Family::IPV6_UNICAST {
        distinct_prefixes_v6(count, random)
            .into_iter()
            .map(IpNet::V6)
            .collect()
    } else {
        assert_eq!(
            family,
            Family::IPV4_UNICAST,
            "a table of IPv4 or IPv6 unicast"
        );
        distinct_prefixes(count, random)
            .into_iter()
            .map(IpNet::V4)
            .collect()
    }
}

/// The UPDATE announcing `announced` with one of the synthetic attribute
/// sets. IPv4 prefixes go in the NLRI field beside NEXT_HOP; IPv6 prefixes go
/// in MP_REACH_NLRI (RFC 4760 §3), which carries the next hop instead of
/// NEXT_HOP: the set's 192.0.2.N becomes 2001:db8::N (documentation
/// addresses both, RFC 5737 and RFC 3849).
pub(crate) fn announcement(attributes: &[PathAttribute], announced: Vec<Nlri>) -> Update {
    let ipv6 = matches!(announced.first(), Some(nlri) if nlri.prefix.addr().is_ipv6());
    if !ipv6 {
        return Update {
            withdrawn: NlriList::new(),
            attributes: attributes.to_vec(),
            announced: announced.into(),
        };
    }
    let mut carried = Vec::with_capacity(attributes.len());
    let mut next_hop = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    for attribute in attributes {
        match &attribute.value {
            AttributeValue::NextHop(address) => {
                next_hop =
                    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(address.octets()[3]));
            }
            _ => carried.push(attribute.clone()),
        }
    }
    carried.push(PathAttribute::new(AttributeValue::MpReach(MpReach {
        family: Family::IPV6_UNICAST,
        next_hop: Bytes::copy_from_slice(&next_hop.octets()),
        reserved: 0,
        nlri: MpNlri::Prefixes(announced),
    })));
    Update {
        withdrawn: NlriList::new(),
        attributes: carried,
        announced: NlriList::new(),
    }
}

/// One attribute set of the synthetic table, as a speaker sends it: ORIGIN, AS_PATH,
/// NEXT_HOP, sometimes MULTI_EXIT_DISC, 0-4 COMMUNITIES, in type-code order.
pub(crate) fn attribute_set(
    random: &mut SplitMix64,
    asn_pool: &[u32],
    transit: &[u32],
) -> Vec<PathAttribute> {
    const PEER_AS: u32 = 64_700;
    // Paths of 2-8 ASNs, mostly 3-5.
    let hops = 2 + random.weighted(&[8, 25, 30, 20, 10, 5, 2]);
    let mut path = Vec::with_capacity(hops);
    path.push(Asn(PEER_AS));
    if hops > 2 {
        path.push(Asn(transit[random.below(transit.len() as u64) as usize]));
    }
    while path.len() < hops {
        path.push(Asn(asn_pool[random.below(asn_pool.len() as u64) as usize]));
    }
    // Some origins prepend themselves once.
    if hops >= 4 && random.chance(0.1) {
        path[hops - 1] = path[hops - 2];
    }
    let origin = match random.weighted(&[85, 2, 13]) {
        0 => bgp_wire::Origin::Igp,
        1 => bgp_wire::Origin::Egp,
        _ => bgp_wire::Origin::Incomplete,
    };
    let next_hop = Ipv4Addr::new(192, 0, 2, 1 + random.below(4) as u8);
    let mut attributes = vec![
        PathAttribute::new(AttributeValue::Origin(origin)),
        PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(&path))),
        PathAttribute::new(AttributeValue::NextHop(next_hop)),
    ];
    if random.chance(0.3) {
        attributes.push(PathAttribute::new(AttributeValue::MultiExitDisc(
            random.below(1000) as u32,
        )));
    }
    let communities = random.weighted(&[30, 20, 20, 15, 15]);
    if communities > 0 {
        let list: Communities = (0..communities)
            .map(|_| {
                let high = [PEER_AS, path[1].0][random.below(2) as usize] & 0xffff;
                Community(high << 16 | random.below(5000) as u32)
            })
            .collect();
        attributes.push(PathAttribute::new(AttributeValue::Communities(list)));
    }
    attributes
}

/// ASNs the synthetic tables draw from.
pub(crate) const ASN_POOL_SIZE: usize = 60_000;

/// A pool of `size` ASNs (~30% 4-octet) and its first 40 as transit ASNs.
pub(crate) fn asn_pools(random: &mut SplitMix64, size: usize) -> (Vec<u32>, Vec<u32>) {
    let asn_pool: Vec<u32> = (0..size)
        .map(|_| {
            if random.chance(0.3) {
                131_072 + random.below(300_000) as u32
            } else {
                1 + random.below(64_000) as u32
            }
        })
        .collect();
    let transit = asn_pool[..40].to_vec();
    (asn_pool, transit)
}

/// A deterministic synthetic IPv4 full table as one peer sends it, encoded with our own
/// [`Update::encode`] in a 4-octet AS session, one [`Bytes`] per UPDATE.
///
/// * `prefixes` distinct IPv4 prefixes (mostly /24, some /16-/23, a few /8-/15);
/// * attribute sets: AS paths of 2-8 ASNs (the peer's AS first, then a transit AS, then
///   ASNs from a pool of 60,000, ~30% of them 4-octet), ORIGIN, NEXT_HOP, MED on ~30%,
///   0-4 communities;
/// * prefixes per attribute set follow a discrete Pareto law (P(size ≥ k) = 1/k, capped
///   at 5,000): about half the sets have one prefix, the mean is ~9-10, so a 1M-prefix
///   table has ~100k sets;
/// * each set's prefixes (sorted) go out in as few UPDATEs of ≤ 4096 octets as they fit.
pub fn synthetic_full_table(prefixes: usize, seed: u64) -> Vec<Bytes> {
    synthetic_table(Family::IPV4_UNICAST, prefixes, seed)
}

/// [`synthetic_full_table`] of `family`: for IPv6 unicast, prefixes of
/// today's IPv6 lengths (mostly /48, /32, /44) announced in MP_REACH_NLRI,
/// the attribute sets and their sizes drawn the same way.
pub fn synthetic_table(family: Family, prefixes: usize, seed: u64) -> Vec<Bytes> {
    let mut random = SplitMix64::new(seed);
    let (asn_pool, transit) = asn_pools(&mut random, ASN_POOL_SIZE);
    let table = table_prefixes(family, prefixes, &mut random);

    let context = CodecContext::default();
    let mut stream = BytesMut::with_capacity(prefixes * 8);
    let mut rest = &table[..];
    while !rest.is_empty() {
        let size = (1.0 / (1.0 - random.unit())).floor() as usize;
        let (group, tail) = rest.split_at(size.clamp(1, 5_000).min(rest.len()));
        rest = tail;
        let mut announced: Vec<Nlri> = group.iter().map(|net| Nlri::new(*net)).collect();
        announced.sort();
        let attributes = attribute_set(&mut random, &asn_pool, &transit);
        announcement(&attributes, announced)
            .encode(&context, &mut stream)
            .expect("a synthetic UPDATE encodes");
    }
    split_stream(stream)
}

/// What visiting decoded messages found: counts and a checksum that the optimiser cannot
/// see through. Every contender fills one, so their totals can be compared.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    /// Messages decoded without an error.
    pub messages: u64,
    /// Messages the decoder rejected.
    pub errors: u64,
    /// Prefixes announced or withdrawn, IPv4 and IPv6, in the NLRI fields and MP attributes.
    pub prefixes: u64,
    /// Sum of those prefixes' lengths.
    pub prefix_bits: u64,
    /// AS numbers in AS_PATH and AS4_PATH segments.
    pub as_numbers: u64,
    /// Standard and large communities.
    pub communities: u64,
    /// Attributes seen.
    pub attributes: u64,
    /// A checksum over prefix addresses, AS numbers and community values.
    pub checksum: u64,
}

impl Visit {
    /// Records one prefix.
    #[inline]
    pub fn prefix(&mut self, net: &IpNet) {
        self.prefixes += 1;
        self.prefix_bits += u64::from(net.prefix_len());
        let folded = match net {
            IpNet::V4(net) => u64::from(u32::from(net.addr())),
            IpNet::V6(net) => {
                let bits = u128::from(net.addr());
                (bits >> 64) as u64 ^ bits as u64
            }
        };
        self.mix(folded);
    }

    /// Records one AS number.
    #[inline]
    pub fn asn(&mut self, asn: u32) {
        self.as_numbers += 1;
        self.mix(u64::from(asn));
    }

    /// Records one community (a large community folds its three words into `value`).
    #[inline]
    pub fn community(&mut self, value: u64) {
        self.communities += 1;
        self.mix(value);
    }

    /// Records a scalar attribute value (ORIGIN, NEXT_HOP, MED, LOCAL_PREF).
    #[inline]
    pub fn scalar(&mut self, value: u64) {
        self.mix(value);
    }

    #[inline]
    fn mix(&mut self, value: u64) {
        self.checksum = self.checksum.rotate_left(5).wrapping_add(value);
    }

    /// The counts that every correct decoder must agree on.
    pub fn counts(&self) -> (u64, u64, u64, u64, u64) {
        (
            self.messages,
            self.prefixes,
            self.prefix_bits,
            self.as_numbers,
            self.communities,
        )
    }
}

/// Reads everything `bgp-wire` decoded lazily or eagerly out of one UPDATE: every prefix
/// (withdrawn, announced, MP_REACH/MP_UNREACH), every AS number of AS_PATH and AS4_PATH
/// through [`AsPath::segments`], every standard and large community, and the scalar
/// attributes.
pub fn visit_update(update: &Update, visit: &mut Visit) {
    visit.messages += 1;
    for nlri in update.withdrawn.iter().chain(&update.announced) {
        visit.prefix(&nlri.prefix);
    }
    for attribute in &update.attributes {
        visit.attributes += 1;
        match &attribute.value {
            AttributeValue::AsPath(path) | AttributeValue::As4Path(path) => {
                for segment in path.segments() {
                    for asn in segment.asns() {
                        visit.asn(asn.0);
                    }
                }
            }
            AttributeValue::Communities(list) => {
                for community in list.iter() {
                    visit.community(u64::from(community.0));
                }
            }
            AttributeValue::LargeCommunities(list) => {
                for large in list.iter() {
                    visit.community(
                        u64::from(large.global)
                            ^ u64::from(large.local1) << 16
                            ^ u64::from(large.local2) << 32,
                    );
                }
            }
            AttributeValue::MpReach(reach) => {
                for nlri in reach.nlri.prefixes() {
                    visit.prefix(&nlri.prefix);
                }
            }
            AttributeValue::MpUnreach(unreach) => {
                for nlri in unreach.nlri.prefixes() {
                    visit.prefix(&nlri.prefix);
                }
            }
            AttributeValue::Origin(origin) => visit.scalar(*origin as u64),
            AttributeValue::NextHop(address) => visit.scalar(u64::from(u32::from(*address))),
            AttributeValue::MultiExitDisc(value) | AttributeValue::LocalPref(value) => {
                visit.scalar(u64::from(*value))
            }
            _ => {}
        }
    }
}

/// Decodes every frame with `bgp-wire` (`Message::decode`, the context matching each
/// frame's AS number width) and visits it with [`visit_update`].
pub fn decode_all_nodebgp(frames: &[(Bytes, bool)], contexts: &NodebgpContexts) -> Visit {
    let mut visit = Visit::default();
    for (frame, four_octet) in frames {
        let context = if *four_octet {
            &contexts.four_octet
        } else {
            &contexts.two_octet
        };
        match Message::decode(frame, context) {
            Ok(received) => match &received.message {
                Message::Update(update) => visit_update(update, &mut visit),
                _ => visit.messages += 1,
            },
            Err(_) => visit.errors += 1,
        }
    }
    visit
}

/// The body of the `*_passes` examples, which count `bgp-wire`'s instructions
/// under callgrind: decodes `frames` as many times as the first argument
/// says (`default` without one) and prints the prefixes visited, so that
/// the work cannot be optimised away. Exits with status 2 on a bad argument.
pub fn decode_passes(example: &str, frames: &[(Bytes, bool)], default: usize) {
    let passes: usize = match std::env::args().nth(1).map(|text| text.parse()) {
        None => default,
        Some(Ok(passes)) => passes,
        Some(Err(error)) => {
            eprintln!("usage: {example} [PASSES]: {error}");
            std::process::exit(2);
        }
    };
    let contexts = NodebgpContexts::default();
    let prefixes: u64 = (0..passes)
        .map(|_| decode_all_nodebgp(frames, &contexts).prefixes)
        .sum();
    println!(
        "{passes} passes over {} messages: {prefixes} prefixes",
        frames.len()
    );
}

/// The two codec contexts the inputs need, built once.
#[derive(Debug, Clone)]
pub struct NodebgpContexts {
    /// A session with 4-octet AS numbers (RFC 6793), no ADD-PATH.
    pub four_octet: CodecContext,
    /// A session with 2-octet AS numbers.
    pub two_octet: CodecContext,
}

impl Default for NodebgpContexts {
    fn default() -> Self {
        NodebgpContexts {
            four_octet: CodecContext::default(),
            two_octet: CodecContext {
                four_octet_asn: false,
                ..CodecContext::default()
            },
        }
    }
}

/// Total octets of a list of frames.
pub fn total_octets(frames: &[(Bytes, bool)]) -> u64 {
    frames.iter().map(|(frame, _)| frame.len() as u64).sum()
}
