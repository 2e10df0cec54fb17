//! What each side of a captured session advertised in its OPEN, so that later
//! messages of that session are decoded under the context they were sent in
//! (RFC 6793 4-octet AS, RFC 7911 ADD-PATH, RFC 8654 extended messages).

use std::collections::HashMap;
use std::hash::Hash;

use bgp_wire::{AddPathDirection, Capability, CodecContext, Family, Open};

/// One speaker's advertised capabilities.
#[derive(Debug, Clone, Default)]
struct Advertised {
    four_octet_asn: bool,
    add_path: Vec<(Family, AddPathDirection)>,
    extended_message: bool,
    extended_next_hop: Vec<Family>,
}

impl Advertised {
    fn from_open(open: &Open) -> Self {
        let mut advertised = Advertised::default();
        for capability in open.capabilities() {
            match capability {
                Capability::FourOctetAs(_) => advertised.four_octet_asn = true,
                Capability::AddPath(families) => {
                    advertised.add_path.extend(families.iter().copied())
                }
                Capability::ExtendedMessage => advertised.extended_message = true,
                Capability::ExtendedNextHop(entries) => advertised.extended_next_hop.extend(
                    entries
                        .iter()
                        .filter(|entry| entry.safi <= 255)
                        .map(|entry| Family::new(entry.afi, bgp_wire::Safi(entry.safi as u8))),
                ),
                _ => {}
            }
        }
        advertised
    }

    fn direction(&self, family: Family) -> Option<AddPathDirection> {
        self.add_path
            .iter()
            .find(|(candidate, _)| *candidate == family)
            .map(|(_, direction)| *direction)
    }
}

/// OPENs seen so far, by the endpoint that sent them.
#[derive(Debug)]
pub(crate) struct SessionTracker<Endpoint> {
    opens: HashMap<Endpoint, Advertised>,
    defaults: CodecContext,
}

impl<Endpoint: Hash + Eq + Clone> SessionTracker<Endpoint> {
    pub(crate) fn new(defaults: CodecContext) -> Self {
        SessionTracker {
            opens: HashMap::new(),
            defaults,
        }
    }

    /// Records an OPEN sent by `sender`.
    pub(crate) fn record_open(&mut self, sender: &Endpoint, open: &Open) {
        self.opens
            .insert(sender.clone(), Advertised::from_open(open));
    }

    /// The context for a message from `sender` to `receiver`: what both sides
    /// advertised where both OPENs were seen, what one side advertised where
    /// only one was, and the defaults where neither was (RFC 5492 §3: a
    /// capability is in use only when both sides advertise it).
    pub(crate) fn context(&self, sender: &Endpoint, receiver: &Endpoint) -> CodecContext {
        let from = self.opens.get(sender);
        let to = self.opens.get(receiver);
        let mut context = self.defaults.clone();
        let both = |pick: fn(&Advertised) -> bool| match (from, to) {
            (None, None) => None,
            (Some(one), None) | (None, Some(one)) => Some(pick(one)),
            (Some(from), Some(to)) => Some(pick(from) && pick(to)),
        };
        if let Some(four_octet) = both(|side| side.four_octet_asn) {
            context.four_octet_asn = four_octet;
        }
        if let Some(extended) = both(|side| side.extended_message) {
            context.extended_message = extended;
        }
        if let Some(from) = from {
            // RFC 7911 §4: path identifiers flow where the sender sends and the
            // receiver receives.
            let families = [Family::IPV4_UNICAST, Family::IPV6_UNICAST];
            context.add_path = families
                .into_iter()
                .filter(|family| {
                    let sends = from.direction(*family).is_some_and(AddPathDirection::sends);
                    let receives = to.is_none_or(|to| {
                        to.direction(*family)
                            .is_some_and(AddPathDirection::receives)
                    });
                    sends && receives
                })
                .chain(self.defaults.add_path.iter().copied())
                .collect();
            context.extended_next_hop = from.extended_next_hop.clone();
        }
        context
    }

    /// Whether the context for this direction rests on one OPEN only, the
    /// receiver's being missing from the capture: then ADD-PATH is a guess
    /// worth checking against the message itself.
    pub(crate) fn is_guess(&self, sender: &Endpoint, receiver: &Endpoint) -> bool {
        self.opens.contains_key(sender) && !self.opens.contains_key(receiver)
    }
}
