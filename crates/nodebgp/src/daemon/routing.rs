//! The daemon's routing side: the RIB (`bgp-rib`, sans-IO) fed with the
//! sessions' events, and what follows from it: UPDATEs for the peers, changes
//! for the kernel FIB, graceful-restart timers (RFC 4724, and RFC 9494's
//! long-lived stale time after the restart time). The manager owns one
//! [`Routing`] and carries out the [`Effect`]s it returns, so that this part
//! holds no handles and no clock of its own.
//!
//! ```text
//!  peer tasks ──PeerEvent──► Routing::event ──► Rib ──► Effect::Send ──► peer tasks
//!                                                  └──► FibChange ──► fib task (netlink)
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bgp_fsm::{DownReason, Negotiated};
use bgp_rib::{Batch, FibChange, MaxPrefix, PeerId, PeerInfo, Receipt, Rib, RibConfig};
use bgp_session::{Outgoing, PeerEvent, SessionEvent};
use bgp_wire::{
    Capability, Family, GracefulRestartFamily, Message, RouteRefresh, RouteRefreshSubtype,
};
// Maps keyed by peer ids and configured prefixes, looked up for every event:
// foldhash, not std's SipHash (none of the keys is a peer's choice).
use hashbrown::{HashMap, HashSet};
use ipnet::IpNet;
use tokio::time::Instant;
use tracing::{info, warn};

use super::settings::{Origination, RoutingSettings};
use super::DesiredPeer;

/// How long a restarted peer may take to send End-of-RIB before its
/// remaining stale routes go (FRR's and BIRD's stale-path time).
const STALE_PATH_TIME: Duration = Duration::from_secs(360);

/// Prefixes looked at in one step of a removed (or downed) peer's removal: a
/// few milliseconds of work, so that what waits for the manager (a control
/// client takes a few of its turns to be answered) never waits long.
const REMOVAL_STEP: usize = 5_000;

/// What one peer is sent at a time: the next batch waits for the peer's
/// [`SessionEvent::Drained`], and the rest waits in the RIB, where changes
/// still coalesce. 128 messages of at most 4,096 octets keep what is queued
/// towards one peer within half a MiB (RFC 8654 extended messages aside).
const BATCH: Batch = Batch {
    prefixes: 8192,
    messages: 128,
};

/// What the manager must do for the routing side.
#[derive(Debug)]
pub(crate) enum Effect {
    /// Send these messages (UPDATEs, ROUTE-REFRESH) to the peer with this
    /// number, in this order.
    Send(PeerId, Vec<Outgoing>),
    /// The peer sent too many prefixes: tear its session down (RFC 4486).
    MaximumPrefixes {
        peer: PeerId,
        family: Family,
        limit: u32,
        restart_after: Duration,
    },
}

/// What the routing side keeps of one running peer.
#[derive(Debug)]
struct RoutedPeer {
    address: SocketAddr,
    desired: DesiredPeer,
    /// The peer's Graceful Restart capability from its last OPEN: whether
    /// to keep its routes when the session drops, and for how long.
    restart_time: Option<Duration>,
    /// The families the peer announced long-lived graceful restart for in its
    /// last OPEN (RFC 9494 §3), each with how long its routes may stay
    /// long-lived stale: the smaller of its Long-lived Stale Time and ours.
    /// Empty when either side did not announce it.
    long_lived: Vec<(Family, Duration)>,
    /// The families the peer listed in its last Graceful Restart (and LLGR)
    /// capability: only their routes are kept while it restarts (RFC 4724
    /// §4.2, RFC 9494 §4.2).
    retained: Vec<Family>,
    /// Families whose End-of-RIB has not come yet in this session.
    awaiting_end_of_rib: HashSet<Family>,
    /// What the session negotiated, while it is up: the families, and
    /// whether the peer takes ROUTE-REFRESH (RFC 2918) and its RFC 7313 form.
    families: Vec<Family>,
    route_refresh: bool,
    enhanced_route_refresh: bool,
    /// The peer's BGPFilters, compiled: handed to the RIB when the session
    /// comes up (the RIB knows a peer from then on).
    filter: bgp_rib::PeerFilter,
}

/// What a filter change asks of the manager besides sending.
#[derive(Debug, Default)]
pub(crate) struct FilterApplied {
    pub(crate) effects: Vec<Effect>,
    /// The import rules changed and the peer cannot be asked to send its
    /// routes again (no route refresh capability): only a new session
    /// brings the routes the old rules kept out.
    pub(crate) restart: bool,
}

/// The RIB and its bookkeeping.
pub(crate) struct Routing {
    rib: Rib,
    settings: RoutingSettings,
    local_as: bgp_wire::Asn,
    /// Our addresses for next hop self when a session's own address is of
    /// the other family.
    next_hop_v4: Option<Ipv4Addr>,
    next_hop_v6: Option<Ipv6Addr>,
    /// Boxed: a table of 1,000 peers has 2,048 slots, and unboxed each empty
    /// one costs a whole record (a heap profile of 1,000 idle sessions had
    /// this table at 1.0 MB unboxed; boxed, a slot is 16 octets).
    peers: HashMap<PeerId, Box<RoutedPeer>>,
    /// When each restarting peer's stale routes are flushed (RFC 4724 §4.2),
    /// or turn long-lived stale when it announced LLGR (RFC 9494 §4.2).
    stale_deadlines: HashMap<PeerId, Instant>,
    /// When a peer's long-lived stale routes of a family are flushed (the end
    /// of its long-lived stale time, RFC 9494 §4.2).
    long_lived_deadlines: HashMap<(PeerId, Family), Instant>,
    /// What the node originates now, by prefix.
    originated: HashMap<IpNet, Origination>,
    /// Peers that sent End-of-RIB for every family at least once: the
    /// restarted daemon's kernel routes are reconciled once all have.
    synchronised: HashSet<PeerId>,
    /// After a restart, route selection for the peers is deferred until they
    /// have all sent End-of-RIB (RFC 4724 §4.1): nothing is sent meanwhile,
    /// so that each peer gets the whole table, then End-of-RIB.
    deferred: bool,
    /// Peers sent a batch whose [`SessionEvent::Drained`] has not come yet:
    /// they get nothing more until it does.
    awaiting_drain: HashSet<PeerId>,
    /// Peers whose refreshed table is being sent with RFC 7313's markers:
    /// the families whose EoRR goes after the last batch.
    refresh_ends: HashMap<PeerId, Vec<Family>>,
}

impl Routing {
    pub(crate) fn new(
        settings: &RoutingSettings,
        local_as: bgp_wire::Asn,
        router_id: bgp_wire::RouterId,
        next_hop_v4: Option<Ipv4Addr>,
        next_hop_v6: Option<Ipv6Addr>,
        originate: &[Origination],
    ) -> Self {
        let mut rib = Rib::new(RibConfig {
            local_as,
            router_id,
            cluster_id: settings.cluster_id,
            max_paths: settings.max_paths,
            transit: settings.transit,
            forwarding: settings.fib,
        });
        let mut originated = HashMap::new();
        for origination in originate {
            rib.originate(
                origination.prefix,
                origination.communities.clone(),
                origination.large_communities.clone(),
            );
            originated.insert(origination.prefix, origination.clone());
        }
        Routing {
            rib,
            settings: settings.clone(),
            local_as,
            next_hop_v4,
            next_hop_v6,
            peers: HashMap::new(),
            stale_deadlines: HashMap::new(),
            long_lived_deadlines: HashMap::new(),
            synchronised: HashSet::new(),
            originated,
            deferred: false,
            awaiting_drain: HashSet::new(),
            refresh_ends: HashMap::new(),
        }
    }

    /// Starts or ends the selection deferral of a restarted speaker (RFC
    /// 4724 §4.1); ending it sends every peer what is pending.
    pub(crate) fn defer_updates(&mut self, deferred: bool) -> Vec<Effect> {
        self.deferred = deferred;
        self.effects()
    }

    /// Makes the node originate exactly `originations`: new or changed
    /// prefixes are announced, dropped ones withdrawn, the rest untouched.
    pub(crate) fn set_originations(&mut self, originations: &[Origination]) -> Vec<Effect> {
        let wanted: HashMap<IpNet, &Origination> = originations
            .iter()
            .map(|origination| (origination.prefix, origination))
            .collect();
        let dropped: Vec<IpNet> = self
            .originated
            .keys()
            .filter(|prefix| !wanted.contains_key(*prefix))
            .copied()
            .collect();
        for prefix in dropped {
            info!(%prefix, "no longer originated");
            self.originated.remove(&prefix);
            self.rib.withdraw_origin(prefix);
        }
        for (prefix, origination) in wanted {
            if self.originated.get(&prefix) != Some(origination) {
                info!(%prefix, "originated");
                self.rib.originate(
                    prefix,
                    origination.communities.clone(),
                    origination.large_communities.clone(),
                );
                self.originated.insert(prefix, origination.clone());
            }
        }
        self.effects()
    }

    /// Which routes may be sent to peers (calico-node's export filter, from
    /// the cluster's IP pools); a change withdraws and announces only the
    /// difference.
    pub(crate) fn set_export_policy(&mut self, policy: bgp_rib::ExportPolicy) -> Vec<Effect> {
        if policy != *self.rib.export_policy() {
            info!(rules = policy.rules.len(), "export policy changed");
            self.rib.set_export_policy(policy);
        }
        self.effects()
    }

    /// The RIB, for `nodebgp routes` and status counts.
    pub(crate) fn rib(&self) -> &Rib {
        &self.rib
    }

    /// The AS the RIB works in.
    pub(crate) fn local_as(&self) -> bgp_wire::Asn {
        self.local_as
    }

    /// A peer task was started under `number`.
    pub(crate) fn add_peer(&mut self, number: PeerId, desired: &DesiredPeer) {
        self.peers.insert(
            number,
            Box::new(RoutedPeer {
                address: desired.address,
                desired: desired.clone(),
                restart_time: None,
                long_lived: Vec::new(),
                retained: Vec::new(),
                awaiting_end_of_rib: HashSet::new(),
                families: Vec::new(),
                route_refresh: false,
                enhanced_route_refresh: false,
                filter: bgp_rib::PeerFilter::default(),
            }),
        );
    }

    /// Sets a peer's compiled BGPFilters, live: routes the new import rules
    /// reject go at once and the peer is asked for its routes again (RFC
    /// 2918) for those they now let in; the peer's output is redone under
    /// the new export rules. No session reset, unless the peer cannot
    /// refresh and the import rules changed.
    pub(crate) fn set_peer_filter(
        &mut self,
        number: PeerId,
        filter: bgp_rib::PeerFilter,
    ) -> FilterApplied {
        let Some(peer) = self.peers.get_mut(&number) else {
            return FilterApplied::default();
        };
        if peer.filter == filter {
            return FilterApplied::default();
        }
        info!(peer = %peer.address, "BGP filters changed");
        peer.filter = filter.clone();
        let change = self.rib.set_peer_filter(number, filter);
        let mut applied = FilterApplied::default();
        if change.import {
            match self.request_refresh(number) {
                Ok(effects) => applied.effects = effects,
                // Not up: the next session starts under the new rules.
                Err(_) if self.peers[&number].families.is_empty() => {}
                Err(_) => applied.restart = true,
            }
        }
        applied.effects.extend(self.effects());
        applied
    }

    /// A peer task ended (peer removed or changed): its routes go now.
    pub(crate) fn remove_peer(&mut self, number: PeerId) -> Vec<Effect> {
        self.peers.remove(&number);
        self.stale_deadlines.remove(&number);
        self.long_lived_deadlines
            .retain(|(peer, _), _| *peer != number);
        self.synchronised.remove(&number);
        self.awaiting_drain.remove(&number);
        self.refresh_ends.remove(&number);
        // Its paths go, stale ones too, and its slot is freed for the next
        // peer: a daemon that runs for months starts peers with ever-new
        // numbers. A step at a time (`continue_background_work`): a full
        // table's worth is a second of work.
        self.rib.retire_peer(number);
        self.effects()
    }

    /// Handles one session event, and gives the UPDATEs now due too (the
    /// manager, which takes events by the turn, asks for those once a turn).
    #[cfg(test)]
    pub(crate) fn event(&mut self, event: PeerEvent, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.event_without_output(event, now, &mut effects);
        effects.extend(self.effects());
        effects
    }

    /// Handles one session event, leaving the UPDATEs it makes due for
    /// [`Routing::output`]: a turn of the manager's loop takes in up to 64
    /// events, and looking for output (every up peer's group and cursor)
    /// once for all of them instead of once each takes 11 % off the
    /// instructions of a one-prefix UPDATE with ten peers, 3 % with one.
    ///
    /// The event's own effects are appended to `effects`, which the caller
    /// keeps from one event to the next: nearly every event (each UPDATE of
    /// a table) has none, and a list made and dropped for each cost the
    /// one-prefix load 1.4 % of its instructions (benches/RESULTS.md 6.25).
    pub(crate) fn event_without_output(
        &mut self,
        event: PeerEvent,
        now: Instant,
        effects: &mut Vec<Effect>,
    ) {
        let number = event.peer;
        if !self.peers.contains_key(&number) {
            return; // a task already removed
        }
        match event.event {
            SessionEvent::Established {
                negotiated,
                local_address,
            } => self.established(number, &negotiated, local_address, now),
            SessionEvent::Update { update, errors } => {
                match self.rib.receive(number, &update, &errors) {
                    Receipt::EndOfRib(family) => self.end_of_rib(number, family),
                    Receipt::MaxPrefixExceeded {
                        family,
                        limit,
                        count,
                        tear_down,
                    } => {
                        let peer = self.peers[&number].address;
                        warn!(%peer, %family, limit, count, tear_down, "peer exceeds its prefix limit");
                        if tear_down {
                            effects.push(Effect::MaximumPrefixes {
                                peer: number,
                                family,
                                limit: u32::try_from(limit).unwrap_or(u32::MAX),
                                restart_after: self.settings.max_prefix_restart,
                            });
                        }
                    }
                    Receipt::Accepted { .. } => {}
                }
            }
            SessionEvent::RouteRefresh(refresh) => {
                // RFC 2918 §4: a request is answered with the whole
                // Adj-RIB-Out of the family; RFC 7313 §4 brackets it with
                // BoRR and EoRR when both sides do enhanced route refresh.
                if refresh.subtype == RouteRefreshSubtype::REQUEST {
                    let enhanced = self.peers[&number].enhanced_route_refresh;
                    let marker = |subtype| {
                        Message::RouteRefresh(RouteRefresh {
                            subtype,
                            ..RouteRefresh::request(refresh.family)
                        })
                    };
                    if enhanced {
                        effects.push(Effect::Send(
                            number,
                            vec![Outgoing::Message(marker(RouteRefreshSubtype::BEGIN))],
                        ));
                        // The EoRR follows the refreshed table's last batch.
                        self.refresh_ends
                            .entry(number)
                            .or_default()
                            .push(refresh.family);
                    }
                    self.rib.refresh(number, refresh.family);
                } else if self.peers[&number].enhanced_route_refresh {
                    // RFC 7313 §4.2: the peer resends a family between BoRR
                    // and EoRR; what it did not resend by EoRR is gone. Both
                    // are ignored unless the capability was negotiated (§5).
                    match refresh.subtype {
                        RouteRefreshSubtype::BEGIN => {
                            self.rib.mark_stale(number, refresh.family);
                            // An EoRR that never comes must not keep them.
                            self.stale_deadlines
                                .entry(number)
                                .or_insert_with(|| now + STALE_PATH_TIME);
                        }
                        RouteRefreshSubtype::END => {
                            self.rib.flush_stale(number, Some(refresh.family));
                            if self.peers[&number].awaiting_end_of_rib.is_empty() {
                                self.stale_deadlines.remove(&number);
                            }
                        }
                        _ => {}
                    }
                }
            }
            SessionEvent::Drained => {
                self.awaiting_drain.remove(&number);
            }
            SessionEvent::Unsendable(prefixes) => self.rib.not_sent(number, &prefixes),
            SessionEvent::Down(reason) => self.down(number, &reason, now),
            // The manager's business: the peer is gone from here already.
            SessionEvent::Stopped => {}
        }
    }

    /// The UPDATEs due to peers (after [`Routing::event_without_output`]).
    pub(crate) fn output(&mut self) -> Vec<Effect> {
        self.effects()
    }

    fn established(
        &mut self,
        number: PeerId,
        negotiated: &Negotiated,
        local_address: Option<SocketAddr>,
        now: Instant,
    ) {
        let long_lived = self.long_lived_families(negotiated);
        // RFC 9494 §4.3: long-lived stale routes go to peers that announced
        // the capability (to us, who announce it when it is configured).
        let sends_long_lived = self.settings.long_lived_stale_time.is_some()
            && negotiated
                .peer_capabilities
                .iter()
                .any(|capability| matches!(capability, Capability::LongLivedGracefulRestart(_)));
        self.settle_stale_routes(number, negotiated, now);
        let retained = Self::retained_families(negotiated, &long_lived);
        let Some(peer) = self.peers.get_mut(&number) else {
            return;
        };
        peer.retained = retained;
        let (next_hop_v4, next_hop_v6) = match local_address.map(|address| address.ip()) {
            Some(IpAddr::V4(address)) => (Some(address), self.next_hop_v6),
            Some(IpAddr::V6(address)) => (
                address.to_ipv4_mapped().or(self.next_hop_v4),
                Some(address).filter(|address| address.to_ipv4_mapped().is_none()),
            ),
            None => (self.next_hop_v4, self.next_hop_v6),
        };
        // The operator's node addresses win over the session's.
        let next_hop_v4 = self.settings.ipv4_next_hop.or(next_hop_v4);
        let next_hop_v6 = self.settings.ipv6_next_hop.or(next_hop_v6);
        peer.restart_time = negotiated
            .peer_graceful_restart
            .as_ref()
            .filter(|_| self.settings.graceful_restart)
            .map(|restart| Duration::from_secs(u64::from(restart.restart_time)));
        peer.long_lived = long_lived;
        self.awaiting_drain.remove(&number);
        self.refresh_ends.remove(&number);
        let Some(peer) = self.peers.get_mut(&number) else {
            return;
        };
        peer.awaiting_end_of_rib = negotiated.families.iter().copied().collect();
        peer.families = negotiated.families.clone();
        peer.route_refresh = negotiated.route_refresh;
        peer.enhanced_route_refresh = negotiated.enhanced_route_refresh;
        // iBGP or eBGP by the session's own AS (localASNumber), as BIRD
        // decides it per protocol.
        let session_as = peer.desired.settings.local_as_number;
        let internal = negotiated.peer_as == session_as.unwrap_or(self.local_as);
        let info = PeerInfo {
            address: peer.address.ip(),
            asn: negotiated.peer_as,
            router_id: negotiated.peer_router_id,
            internal,
            // A route reflector's iBGP peers are its clients (Calico: nodes
            // peering with a node that has a routeReflectorClusterID).
            route_reflector_client: internal && self.settings.cluster_id.is_some(),
            next_hop_v4,
            next_hop_v6,
            families: negotiated.families.clone(),
            four_octet_asn: negotiated.four_octet_asn,
            // numAllowedLocalASNumbers (Calico's name for BIRD's
            // `allow local as`).
            allow_own_as: peer
                .desired
                .settings
                .allowed_local_as
                .map_or(0, |count| u8::try_from(count).unwrap_or(u8::MAX)),
            keep_next_hop: peer.desired.settings.keep_original_next_hop,
            next_hop_self: peer.desired.settings.next_hop_self,
            local_as: session_as,
            max_prefix: self.settings.max_prefix.map(|limit| MaxPrefix {
                limit,
                tear_down: self.settings.max_prefix_tear_down,
            }),
            long_lived: sends_long_lived,
            enforce_first_as: true,
            extended_message: negotiated.extended_message,
        };
        self.rib.peer_up(number, info);
        if let Some(peer) = self.peers.get(&number) {
            self.rib.set_peer_filter(number, peer.filter.clone());
        }
    }

    /// The peer is back (RFC 4724 §4.2): the stale routes of a family its new
    /// OPEN does not say it kept forwarding for (not listed, or the F bit
    /// clear, or no capability at all) go at once; the others wait for the
    /// family's End-of-RIB, but not forever.
    fn settle_stale_routes(&mut self, number: PeerId, negotiated: &Negotiated, now: Instant) {
        let had_stale = self.stale_deadlines.contains_key(&number)
            || self
                .long_lived_deadlines
                .keys()
                .any(|(peer, _)| *peer == number);
        if !had_stale {
            return;
        }
        const FORWARDING_PRESERVED: u8 = GracefulRestartFamily::FORWARDING_PRESERVED;
        let preserved = |family: Family| {
            let by_restart = negotiated
                .peer_graceful_restart
                .as_ref()
                .is_some_and(|restart| {
                    restart.families.iter().any(|entry| {
                        entry.family == family && entry.flags & FORWARDING_PRESERVED != 0
                    })
                });
            let by_long_lived = negotiated.peer_capabilities.iter().any(|capability| {
                matches!(capability, Capability::LongLivedGracefulRestart(entries)
                if entries.iter().any(|entry| {
                    entry.family == family && entry.flags & FORWARDING_PRESERVED != 0
                }))
            });
            by_restart || by_long_lived
        };
        for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
            if !preserved(family) {
                self.rib.flush_stale(number, Some(family));
            }
        }
        self.long_lived_deadlines
            .retain(|(peer, _), _| *peer != number);
        self.stale_deadlines.insert(number, now + STALE_PATH_TIME);
    }

    /// The families whose routes are kept when the session drops: those of
    /// the peer's Graceful Restart capability (RFC 4724 §4.2) and of its
    /// long-lived one (RFC 9494 §4.2).
    fn retained_families(
        negotiated: &Negotiated,
        long_lived: &[(Family, Duration)],
    ) -> Vec<Family> {
        let mut families: Vec<Family> = negotiated
            .peer_graceful_restart
            .iter()
            .flat_map(|restart| restart.families.iter().map(|entry| entry.family))
            .chain(long_lived.iter().map(|(family, _)| *family))
            .collect();
        families.sort_unstable();
        families.dedup();
        families
    }

    /// The families the peer's LLGR capability covers (RFC 9494 §3), with
    /// the long-lived stale time to apply to each; empty when we do not do
    /// long-lived graceful restart or the peer did not announce it.
    fn long_lived_families(&self, negotiated: &Negotiated) -> Vec<(Family, Duration)> {
        let Some(maximum) = self.settings.long_lived_stale_time else {
            return Vec::new();
        };
        // RFC 9494 §4.1: the LLGR capability is used beside the GR one only.
        if !self.settings.graceful_restart || negotiated.peer_graceful_restart.is_none() {
            return Vec::new();
        }
        negotiated
            .peer_capabilities
            .iter()
            .filter_map(|capability| match capability {
                Capability::LongLivedGracefulRestart(families) => Some(families),
                _ => None,
            })
            .flatten()
            // A zero stale time means no long-lived retention for the family
            // (RFC 9494 §3); only the session's families are kept at all.
            .filter(|entry| entry.stale_time > 0 && negotiated.families.contains(&entry.family))
            .map(|entry| {
                let announced = Duration::from_secs(u64::from(entry.stale_time));
                (entry.family, announced.min(maximum))
            })
            .collect()
    }

    fn end_of_rib(&mut self, number: PeerId, family: Family) {
        // The RIB flushed the family's stale paths, long-lived ones included.
        self.long_lived_deadlines.remove(&(number, family));
        let Some(peer) = self.peers.get_mut(&number) else {
            return;
        };
        peer.awaiting_end_of_rib.remove(&family);
        if peer.awaiting_end_of_rib.is_empty() {
            // Stale routes of families this session did not negotiate would
            // otherwise wait for an End-of-RIB that never comes.
            if self.stale_deadlines.remove(&number).is_some() {
                self.rib.flush_stale(number, None);
            }
            if self.synchronised.insert(number) {
                info!(peer = %peer.address, "initial table received (End-of-RIB)");
            }
        }
    }

    fn down(&mut self, number: PeerId, reason: &DownReason, now: Instant) {
        let Some(peer) = self.peers.get_mut(&number) else {
            return;
        };
        // A connection that failed before Established ends no session: its
        // routes and timers belong to the session before it.
        if peer.families.is_empty() {
            return;
        }
        // RFC 4724 §4.2: a helper keeps the routes of a peer that announced
        // graceful restart when its session ends without a NOTIFICATION; with
        // long-lived graceful restart, even when its restart time is zero
        // (RFC 9494 §4.2: the long-lived stale time then starts at once).
        let restart_time = peer.restart_time.filter(|time| !time.is_zero());
        let keep = matches!(reason, DownReason::ConnectionClosed)
            && (restart_time.is_some() || !peer.long_lived.is_empty())
            && !peer.retained.is_empty();
        let retained = peer.retained.clone();
        let mut long_lived_now = false;
        match (keep, restart_time) {
            (true, Some(time)) => {
                info!(peer = %peer.address, restart_time = time.as_secs(), "peer restarting: its routes are kept as stale");
                self.stale_deadlines.insert(number, now + time);
            }
            (true, None) => {
                self.stale_deadlines.remove(&number);
                long_lived_now = true;
            }
            (false, _) => {
                self.stale_deadlines.remove(&number);
                self.long_lived_deadlines
                    .retain(|(peer, _), _| *peer != number);
            }
        }
        peer.awaiting_end_of_rib.clear();
        peer.families.clear();
        peer.route_refresh = false;
        self.awaiting_drain.remove(&number);
        self.refresh_ends.remove(&number);
        self.rib.peer_down_in_steps(number, keep);
        if keep {
            // Only the families the peer said it would restart with.
            for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
                if !retained.contains(&family) {
                    self.rib.flush_stale(number, Some(family));
                }
            }
        }
        if long_lived_now {
            self.enter_long_lived(number, now);
        }
    }

    /// The peer's restart time is over while it is away (RFC 9494 §4.2): its
    /// stale routes of the families it announced LLGR for turn long-lived
    /// stale (those with NO_LLGR go), until the end of their long-lived stale
    /// time; those of other families go now.
    fn enter_long_lived(&mut self, number: PeerId, now: Instant) {
        let Some(peer) = self.peers.get(&number) else {
            return;
        };
        let address = peer.address;
        let long_lived = peer.long_lived.clone();
        let families: Vec<Family> = long_lived.iter().map(|(family, _)| *family).collect();
        for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
            if !families.contains(&family) {
                self.rib.flush_stale(number, Some(family));
            }
        }
        let outcome = self.rib.enter_long_lived_stale(number, &families);
        for (family, time) in &long_lived {
            self.long_lived_deadlines
                .insert((number, *family), now + *time);
        }
        let stale_time = long_lived
            .iter()
            .map(|(_, time)| time.as_secs())
            .max()
            .unwrap_or(0);
        info!(peer = %address, kept = outcome.kept, removed = outcome.removed, stale_time, "restart time over: routes kept as long-lived stale (RFC 9494)");
    }

    fn flush_stale(&mut self, number: PeerId) {
        self.rib.flush_stale(number, None);
    }

    /// Asks the peer to send its routes again (RFC 2918 §3), for every
    /// family of the session; an error when it cannot be asked.
    pub(crate) fn request_refresh(&self, number: PeerId) -> Result<Vec<Effect>, String> {
        let peer = self.peers.get(&number).ok_or("not a peer")?;
        if peer.families.is_empty() {
            return Err(format!(
                "the session with {} is not established",
                peer.address.ip()
            ));
        }
        if !peer.route_refresh {
            return Err(format!(
                "{} did not announce the route refresh capability",
                peer.address.ip()
            ));
        }
        let requests = peer
            .families
            .iter()
            .map(|family| Outgoing::Message(Message::RouteRefresh(RouteRefresh::request(*family))))
            .collect();
        Ok(vec![Effect::Send(number, requests)])
    }

    /// Whether there is work that waits for no event: paths of removed or
    /// downed peers to remove, or output for a peer with nothing in flight
    /// (a table pass whose batches have found nothing to send yet: no
    /// Drained will come to ask for the next).
    pub(crate) fn has_background_work(&self) -> bool {
        self.rib.has_removals()
            || (!self.deferred
                && self
                    .rib
                    .peers_with_output()
                    .iter()
                    .any(|peer| !self.awaiting_drain.contains(peer)))
    }

    /// The next step of that work: [`REMOVAL_STEP`] prefixes of removals,
    /// and a batch for every peer that can take one.
    pub(crate) fn continue_background_work(&mut self) -> Vec<Effect> {
        self.rib.continue_removals(REMOVAL_STEP);
        self.effects()
    }

    /// The next graceful-restart deadline, for the manager's timer.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.stale_deadlines
            .values()
            .chain(self.long_lived_deadlines.values())
            .min()
            .copied()
    }

    /// Flushes the stale routes of peers whose time is up, or makes them
    /// long-lived stale (RFC 9494 §4.2), and flushes long-lived stale routes
    /// whose time is up.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<Effect> {
        let expired: Vec<PeerId> = self
            .stale_deadlines
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(number, _)| *number)
            .collect();
        for number in expired {
            self.stale_deadlines.remove(&number);
            // Long-lived only while the peer is away: a peer back but without
            // End-of-RIB in time loses its stale routes as before.
            let away_with_long_lived = self
                .peers
                .get(&number)
                .is_some_and(|peer| peer.families.is_empty() && !peer.long_lived.is_empty());
            if away_with_long_lived {
                self.enter_long_lived(number, now);
                continue;
            }
            if let Some(peer) = self.peers.get(&number) {
                info!(peer = %peer.address, "restart time over: stale routes removed");
            }
            self.long_lived_deadlines
                .retain(|(peer, _), _| *peer != number);
            self.flush_stale(number);
        }
        let expired: Vec<(PeerId, Family)> = self
            .long_lived_deadlines
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(key, _)| *key)
            .collect();
        for (number, family) in expired {
            self.long_lived_deadlines.remove(&(number, family));
            if let Some(peer) = self.peers.get(&number) {
                info!(peer = %peer.address, %family, "long-lived stale time over: stale routes removed");
            }
            self.rib.flush_stale(number, Some(family));
        }
        self.effects()
    }

    /// Whether every running peer has sent its whole table at least once.
    pub(crate) fn all_synchronised(&self) -> bool {
        self.peers
            .keys()
            .all(|number| self.synchronised.contains(number))
    }

    /// Takes the kernel changes gathered so far. Until then they wait in
    /// the RIB, one per prefix however often it changed: while the kernel
    /// lags, a flapping route costs nothing more.
    pub(crate) fn take_fib_changes(&mut self) -> Vec<FibChange> {
        self.rib.poll_fib()
    }

    /// How many prefixes' kernel changes wait to be taken.
    pub(crate) fn fib_changes_waiting(&self) -> usize {
        self.rib.fib_changes_waiting()
    }

    /// For every peer with something pending and nothing in flight, its
    /// next batch of UPDATEs (and the EoRR that ends a refreshed table).
    fn effects(&mut self) -> Vec<Effect> {
        if self.deferred {
            // The RIB keeps what is pending; it is sent when deferral ends.
            return Vec::new();
        }
        let mut ready = self.rib.peers_with_output();
        ready.extend(self.refresh_ends.keys().copied());
        ready.sort_unstable();
        ready.dedup();
        let mut effects = Vec::new();
        for peer in ready {
            if self.awaiting_drain.contains(&peer) {
                continue;
            }
            // Peers sent the same thing share the batch (the RIB's update
            // groups): resolved once, encoded once by the first session.
            let mut messages: Vec<Outgoing> = self
                .rib
                .poll_shared_within(peer, BATCH)
                .map(Outgoing::Batch)
                .into_iter()
                .collect();
            if !self.rib.has_output(peer) {
                if let Some(families) = self.refresh_ends.remove(&peer) {
                    messages.extend(families.into_iter().map(|family| {
                        Outgoing::Message(Message::RouteRefresh(RouteRefresh {
                            subtype: RouteRefreshSubtype::END,
                            ..RouteRefresh::request(family)
                        }))
                    }));
                }
            }
            if !messages.is_empty() {
                self.awaiting_drain.insert(peer);
                effects.push(Effect::Send(peer, messages));
            }
        }
        effects
    }
}

#[cfg(test)]
mod tests;
