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

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bgp_fsm::{DownReason, Negotiated};
use bgp_rib::{FibChange, MaxPrefix, PeerId, PeerInfo, Receipt, Rib, RibConfig};
use bgp_session::{PeerEvent, SessionEvent};
use bgp_wire::{Capability, Family, Message, RouteRefresh, RouteRefreshSubtype};
use ipnet::IpNet;
use tokio::time::Instant;
use tracing::{info, warn};

use super::settings::{Origination, RoutingSettings};
use super::DesiredPeer;

/// How long a restarted peer may take to send End-of-RIB before its
/// remaining stale routes go (FRR's and BIRD's stale-path time).
const STALE_PATH_TIME: Duration = Duration::from_secs(360);

/// What the manager must do for the routing side.
#[derive(Debug)]
pub(crate) enum Effect {
    /// Send these messages (UPDATEs, ROUTE-REFRESH) to the peer with this
    /// number, in this order.
    Send(u32, Vec<Message>),
    /// The peer sent too many prefixes: tear its session down (RFC 4486).
    MaximumPrefixes {
        peer: u32,
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
    peers: HashMap<u32, RoutedPeer>,
    /// When each restarting peer's stale routes are flushed (RFC 4724 §4.2),
    /// or turn long-lived stale when it announced LLGR (RFC 9494 §4.2).
    stale_deadlines: HashMap<u32, Instant>,
    /// When a peer's long-lived stale routes of a family are flushed (the end
    /// of its long-lived stale time, RFC 9494 §4.2).
    long_lived_deadlines: HashMap<(u32, Family), Instant>,
    /// Changes for the kernel, taken by the manager.
    fib_changes: Vec<FibChange>,
    /// What the node originates now, by prefix.
    originated: HashMap<IpNet, Origination>,
    /// Peers that sent End-of-RIB for every family at least once: the
    /// restarted daemon's kernel routes are reconciled once all have.
    synchronised: HashSet<u32>,
    /// After a restart, route selection for the peers is deferred until they
    /// have all sent End-of-RIB (RFC 4724 §4.1): nothing is sent meanwhile,
    /// so that each peer gets the whole table, then End-of-RIB.
    deferred: bool,
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
            fib_changes: Vec::new(),
            synchronised: HashSet::new(),
            originated,
            deferred: false,
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
            .filter(|prefix| !wanted.contains_key(prefix))
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

    /// The RIB, for `nodebgp routes` and status counts.
    pub(crate) fn rib(&self) -> &Rib {
        &self.rib
    }

    /// The AS the RIB works in.
    pub(crate) fn local_as(&self) -> bgp_wire::Asn {
        self.local_as
    }

    /// A peer task was started under `number`.
    pub(crate) fn add_peer(&mut self, number: u32, desired: &DesiredPeer) {
        self.peers.insert(
            number,
            RoutedPeer {
                address: desired.address,
                desired: desired.clone(),
                restart_time: None,
                long_lived: Vec::new(),
                retained: Vec::new(),
                awaiting_end_of_rib: HashSet::new(),
                families: Vec::new(),
                route_refresh: false,
                enhanced_route_refresh: false,
            },
        );
    }

    /// A peer task ended (peer removed or changed): its routes go now.
    pub(crate) fn remove_peer(&mut self, number: u32) -> Vec<Effect> {
        self.peers.remove(&number);
        self.stale_deadlines.remove(&number);
        self.long_lived_deadlines
            .retain(|(peer, _), _| *peer != number);
        self.synchronised.remove(&number);
        // Its paths go, stale ones too, and its slot is freed for the next
        // peer: a daemon that runs for months starts peers with ever-new
        // numbers.
        self.rib.remove_peer(PeerId(number));
        self.effects()
    }

    /// Handles one session event.
    pub(crate) fn event(&mut self, event: PeerEvent) -> Vec<Effect> {
        let number = event.peer;
        if !self.peers.contains_key(&number) {
            return Vec::new(); // a task already removed
        }
        let mut effects = Vec::new();
        match event.event {
            SessionEvent::Established {
                negotiated,
                local_address,
            } => self.established(number, &negotiated, local_address),
            SessionEvent::Update { update, errors } => {
                match self.rib.receive(PeerId(number), &update, &errors) {
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
                            vec![marker(RouteRefreshSubtype::BEGIN)],
                        ));
                    }
                    self.rib.refresh(PeerId(number), refresh.family);
                    effects.extend(self.effects());
                    if enhanced {
                        effects.push(Effect::Send(number, vec![marker(RouteRefreshSubtype::END)]));
                    }
                } else if self.peers[&number].enhanced_route_refresh {
                    // RFC 7313 §4.2: the peer resends a family between BoRR
                    // and EoRR; what it did not resend by EoRR is gone. Both
                    // are ignored unless the capability was negotiated (§5).
                    match refresh.subtype {
                        RouteRefreshSubtype::BEGIN => {
                            self.rib.mark_stale(PeerId(number), refresh.family);
                            // An EoRR that never comes must not keep them.
                            self.stale_deadlines
                                .entry(number)
                                .or_insert_with(|| Instant::now() + STALE_PATH_TIME);
                        }
                        RouteRefreshSubtype::END => {
                            self.rib.flush_stale(PeerId(number), Some(refresh.family));
                            if self.peers[&number].awaiting_end_of_rib.is_empty() {
                                self.stale_deadlines.remove(&number);
                            }
                        }
                        _ => {}
                    }
                }
            }
            SessionEvent::Down(reason) => self.down(number, &reason),
        }
        effects.extend(self.effects());
        effects
    }

    fn established(
        &mut self,
        number: u32,
        negotiated: &Negotiated,
        local_address: Option<SocketAddr>,
    ) {
        let long_lived = self.long_lived_families(negotiated);
        // RFC 9494 §4.3: long-lived stale routes go to peers that announced
        // the capability (to us, who announce it when it is configured).
        let sends_long_lived = self.settings.long_lived_stale_time.is_some()
            && negotiated
                .peer_capabilities
                .iter()
                .any(|capability| matches!(capability, Capability::LongLivedGracefulRestart(_)));
        self.settle_stale_routes(number, negotiated);
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
        peer.awaiting_end_of_rib = negotiated.families.iter().copied().collect();
        peer.families = negotiated.families.clone();
        peer.route_refresh = negotiated.route_refresh;
        peer.enhanced_route_refresh = negotiated.enhanced_route_refresh;
        let internal = negotiated.peer_as == self.local_as;
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
            max_prefix: self.settings.max_prefix.map(|limit| MaxPrefix {
                limit,
                tear_down: self.settings.max_prefix_tear_down,
            }),
            long_lived: sends_long_lived,
            enforce_first_as: true,
        };
        self.rib.peer_up(PeerId(number), info);
    }

    /// The peer is back (RFC 4724 §4.2): the stale routes of a family its new
    /// OPEN does not say it kept forwarding for (not listed, or the F bit
    /// clear, or no capability at all) go at once; the others wait for the
    /// family's End-of-RIB, but not forever.
    fn settle_stale_routes(&mut self, number: u32, negotiated: &Negotiated) {
        let had_stale = self.stale_deadlines.contains_key(&number)
            || self
                .long_lived_deadlines
                .keys()
                .any(|(peer, _)| *peer == number);
        if !had_stale {
            return;
        }
        const FORWARDING_PRESERVED: u8 = 0x80;
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
                self.rib.flush_stale(PeerId(number), Some(family));
            }
        }
        self.long_lived_deadlines
            .retain(|(peer, _), _| *peer != number);
        self.stale_deadlines
            .insert(number, Instant::now() + STALE_PATH_TIME);
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

    fn end_of_rib(&mut self, number: u32, family: Family) {
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
                self.rib.flush_stale(PeerId(number), None);
            }
            if self.synchronised.insert(number) {
                info!(peer = %peer.address, "initial table received (End-of-RIB)");
            }
        }
    }

    fn down(&mut self, number: u32, reason: &DownReason) {
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
                self.stale_deadlines.insert(number, Instant::now() + time);
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
        self.rib.peer_down(PeerId(number), keep);
        if keep {
            // Only the families the peer said it would restart with.
            for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
                if !retained.contains(&family) {
                    self.rib.flush_stale(PeerId(number), Some(family));
                }
            }
        }
        if long_lived_now {
            self.enter_long_lived(number, Instant::now());
        }
    }

    /// The peer's restart time is over while it is away (RFC 9494 §4.2): its
    /// stale routes of the families it announced LLGR for turn long-lived
    /// stale (those with NO_LLGR go), until the end of their long-lived stale
    /// time; those of other families go now.
    fn enter_long_lived(&mut self, number: u32, now: Instant) {
        let Some(peer) = self.peers.get(&number) else {
            return;
        };
        let address = peer.address;
        let long_lived = peer.long_lived.clone();
        let families: Vec<Family> = long_lived.iter().map(|(family, _)| *family).collect();
        for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
            if !families.contains(&family) {
                self.rib.flush_stale(PeerId(number), Some(family));
            }
        }
        let outcome = self.rib.enter_long_lived_stale(PeerId(number), &families);
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

    fn flush_stale(&mut self, number: u32) {
        self.rib.flush_stale(PeerId(number), None);
    }

    /// Asks the peer to send its routes again (RFC 2918 §3), for every
    /// family of the session; an error when it cannot be asked.
    pub(crate) fn request_refresh(&self, number: u32) -> Result<Vec<Effect>, String> {
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
            .map(|family| Message::RouteRefresh(RouteRefresh::request(*family)))
            .collect();
        Ok(vec![Effect::Send(number, requests)])
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
        let expired: Vec<u32> = self
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
        let expired: Vec<(u32, Family)> = self
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
            self.rib.flush_stale(PeerId(number), Some(family));
        }
        self.effects()
    }

    /// Whether every running peer has sent its whole table at least once.
    pub(crate) fn all_synchronised(&self) -> bool {
        self.peers
            .keys()
            .all(|number| self.synchronised.contains(number))
    }

    /// Takes the kernel changes gathered so far.
    pub(crate) fn take_fib_changes(&mut self) -> Vec<FibChange> {
        std::mem::take(&mut self.fib_changes)
    }

    /// UPDATEs for every peer with something pending, and the FIB changes.
    fn effects(&mut self) -> Vec<Effect> {
        self.fib_changes.extend(self.rib.poll_fib());
        if self.deferred {
            // The RIB keeps what is pending; it is sent when deferral ends.
            return Vec::new();
        }
        self.rib
            .peers_with_output()
            .into_iter()
            .filter_map(|peer| {
                let updates = self.rib.poll_updates(peer);
                (!updates.is_empty()).then(|| {
                    Effect::Send(peer.0, updates.into_iter().map(Message::Update).collect())
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use bgp_wire::{
        AsPath, AttributeValue, GracefulRestart, GracefulRestartFamily, LongLivedFamily, Nlri,
        Origin, PathAttribute, RouterId, Update,
    };

    use super::*;

    const PEER: u32 = 1;

    fn settings() -> RoutingSettings {
        RoutingSettings {
            fib: false,
            fib_netns: None,
            fib_table: 254,
            ipv4_next_hop: None,
            ipv6_next_hop: None,
            max_paths: 1,
            graceful_restart: true,
            restart_time: 120,
            long_lived_stale_time: Some(Duration::from_secs(300)),
            cluster_id: None,
            transit: false,
            max_prefix: None,
            max_prefix_tear_down: true,
            max_prefix_restart: Duration::from_secs(60),
        }
    }

    /// A peer with these capabilities, up, that sent 10.1.0.0/16.
    fn routing(restart_time: u16, long_lived_stale_time: Option<u32>) -> Routing {
        let mut routing = Routing::new(
            &settings(),
            bgp_wire::Asn(65001),
            RouterId(Ipv4Addr::new(192, 0, 2, 1)),
            None,
            None,
            &[],
        );
        let desired = DesiredPeer {
            address: "192.0.2.2:179".parse().unwrap(),
            asn: bgp_wire::Asn(65002),
            local_as: None,
            passive: false,
            source: peer_manager::PeerSource::Global,
            settings: peer_manager::SessionSettings::default(),
        };
        routing.add_peer(PEER, &desired);
        let negotiated = negotiated(
            Some(GracefulRestart {
                flags: 0,
                restart_time,
                families: vec![GracefulRestartFamily {
                    family: Family::IPV4_UNICAST,
                    flags: 0x80,
                }],
            }),
            long_lived_stale_time
                .map(|stale_time| {
                    Capability::LongLivedGracefulRestart(vec![LongLivedFamily {
                        family: Family::IPV4_UNICAST,
                        flags: 0,
                        stale_time,
                    }])
                })
                .into_iter()
                .collect(),
        );
        routing.event(PeerEvent {
            peer: PEER,
            event: SessionEvent::Established {
                negotiated: Box::new(negotiated),
                local_address: Some("192.0.2.1:179".parse().unwrap()),
            },
        });
        announce(&mut routing);
        routing
    }

    /// What an IPv4 session with the peer negotiates.
    fn negotiated(
        restart: Option<GracefulRestart>,
        peer_capabilities: Vec<Capability>,
    ) -> Negotiated {
        Negotiated {
            peer_as: bgp_wire::Asn(65002),
            peer_router_id: RouterId(Ipv4Addr::new(192, 0, 2, 2)),
            hold_time: Duration::from_secs(90),
            keepalive: Duration::from_secs(30),
            families: vec![Family::IPV4_UNICAST],
            four_octet_asn: true,
            route_refresh: true,
            enhanced_route_refresh: false,
            extended_message: false,
            add_path_receive: Vec::new(),
            add_path_send: Vec::new(),
            peer_graceful_restart: restart,
            peer_hostname: None,
            peer_capabilities,
        }
    }

    /// The peer sends 10.1.0.0/16.
    fn announce(routing: &mut Routing) {
        let update = Update {
            withdrawn: Vec::new(),
            attributes: vec![
                PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
                PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(&[bgp_wire::Asn(
                    65002,
                )]))),
                PathAttribute::new(AttributeValue::NextHop(Ipv4Addr::new(192, 0, 2, 2))),
            ],
            announced: vec![Nlri::new("10.1.0.0/16".parse().unwrap())],
        };
        routing.event(PeerEvent {
            peer: PEER,
            event: SessionEvent::Update {
                update,
                errors: Vec::new(),
            },
        });
    }

    /// The route's (stale, long-lived stale) marks; `None` when it is gone.
    fn marks(routing: &Routing) -> Option<(bool, bool)> {
        routing
            .rib()
            .lookup("10.1.0.0/16".parse().unwrap())
            .next()
            .map(|view| (view.stale, view.long_lived_stale))
    }

    /// RFC 9494 §4.2 as the daemon drives it: stale for the restart time,
    /// then long-lived stale for the smaller of both stale times (ours is
    /// 300 s), then gone; at once when the restart time is zero; plain
    /// graceful restart without the peer's LLGR; nothing kept after a stop.
    #[test]
    fn a_peer_with_llgr_is_kept_stale_then_long_lived_stale_then_flushed() {
        const GONE: Option<(bool, bool)> = None;
        const STALE: Option<(bool, bool)> = Some((true, false));
        const LONG_LIVED: Option<(bool, bool)> = Some((true, true));
        // (restart time, peer's long-lived stale time, down reason,
        //  marks after down, at +3 s, at +3 s + 299 s, at +3 s + 301 s)
        let cases = [
            (
                2,
                Some(600),
                DownReason::ConnectionClosed,
                [STALE, LONG_LIVED, LONG_LIVED, GONE],
            ),
            (
                2,
                Some(100),
                DownReason::ConnectionClosed,
                [STALE, LONG_LIVED, GONE, GONE],
            ),
            (
                0,
                Some(600),
                DownReason::ConnectionClosed,
                [LONG_LIVED, LONG_LIVED, GONE, GONE],
            ),
            (
                2,
                None,
                DownReason::ConnectionClosed,
                [STALE, GONE, GONE, GONE],
            ),
            (2, Some(600), DownReason::Stopped, [GONE, GONE, GONE, GONE]),
        ];
        for (restart_time, stale_time, reason, expected) in cases {
            let label = format!("restart {restart_time} s, stale {stale_time:?}, {reason}");
            let mut routing = routing(restart_time, stale_time);
            assert_eq!(marks(&routing), Some((false, false)), "{label}");
            let down = Instant::now();
            routing.event(PeerEvent {
                peer: PEER,
                event: SessionEvent::Down(reason),
            });
            let mut seen = vec![marks(&routing)];
            // The restart time ends (2 s, or at once), then the long-lived
            // stale time (counted from the end of the restart time).
            let restart_over = down + Duration::from_secs(3);
            for at in [
                restart_over,
                restart_over + Duration::from_secs(299),
                restart_over + Duration::from_secs(301),
            ] {
                routing.expire(at);
                seen.push(marks(&routing));
            }
            assert_eq!(seen, expected, "{label}");
            assert_eq!(routing.next_deadline(), None, "{label}");
        }
    }

    /// The peer comes back with this Graceful Restart capability.
    fn re_establish(routing: &mut Routing, restart: Option<GracefulRestart>) {
        let negotiated = negotiated(restart, Vec::new());
        routing.event(PeerEvent {
            peer: PEER,
            event: SessionEvent::Established {
                negotiated: Box::new(negotiated),
                local_address: Some("192.0.2.1:179".parse().unwrap()),
            },
        });
    }

    fn down(routing: &mut Routing) {
        routing.event(PeerEvent {
            peer: PEER,
            event: SessionEvent::Down(DownReason::ConnectionClosed),
        });
    }

    /// RFC 4724 §4.2: back with the family's F bit clear, or without the
    /// capability, the stale routes go at once; with it set they wait for
    /// End-of-RIB.
    #[test]
    fn stale_routes_go_at_once_when_the_peer_returns_without_forwarding_state() {
        let with_flags = |flags| {
            Some(GracefulRestart {
                flags: 0,
                restart_time: 120,
                families: vec![GracefulRestartFamily {
                    family: Family::IPV4_UNICAST,
                    flags,
                }],
            })
        };
        for (label, restart, expected) in [
            ("F bit set", with_flags(0x80), Some((true, false))),
            ("F bit clear", with_flags(0), None),
            ("no capability", None, None),
        ] {
            let mut routing = routing(120, None);
            down(&mut routing);
            assert_eq!(marks(&routing), Some((true, false)), "{label}");
            re_establish(&mut routing, restart);
            assert_eq!(marks(&routing), expected, "{label}");
        }
    }

    /// RFC 4724 §4.2: only the families listed in the peer's capability are
    /// kept.
    #[test]
    fn families_missing_from_the_capability_are_not_kept() {
        let mut routing = routing(120, None);
        // The session runs again, now with a capability that lists no family.
        down(&mut routing);
        re_establish(
            &mut routing,
            Some(GracefulRestart {
                flags: 0,
                restart_time: 120,
                families: Vec::new(),
            }),
        );
        assert_eq!(marks(&routing), None, "F bit not set for IPv4: flushed");
        // This session's capability lists no family: nothing is kept when it
        // drops.
        announce(&mut routing);
        assert_eq!(marks(&routing), Some((false, false)));
        down(&mut routing);
        assert_eq!(marks(&routing), None);
        assert_eq!(routing.next_deadline(), None);
    }

    /// A connection that fails before Established (here: a second Down)
    /// leaves the restart timer of the session before it alone.
    #[test]
    fn a_failed_reconnection_does_not_move_the_restart_deadline() {
        let mut routing = routing(120, None);
        down(&mut routing);
        let deadline = routing.next_deadline();
        assert!(deadline.is_some());
        // A restarted timer would be later: the clock has moved on since.
        down(&mut routing);
        assert_eq!(routing.next_deadline(), deadline);
        assert_eq!(marks(&routing), Some((true, false)));
    }

    /// RFC 4724 §4.1: while deferred nothing is sent; the end of the
    /// deferral sends what is pending, End-of-RIB last.
    #[test]
    fn deferred_selection_sends_nothing_until_it_ends() {
        let mut routing = routing(120, None);
        routing.defer_updates(true);
        routing.set_originations(&[Origination::parse("10.9.0.0/24").unwrap()]);
        down(&mut routing);
        re_establish(
            &mut routing,
            Some(GracefulRestart {
                flags: 0,
                restart_time: 120,
                families: vec![GracefulRestartFamily {
                    family: Family::IPV4_UNICAST,
                    flags: 0x80,
                }],
            }),
        );
        let effects = routing.defer_updates(false);
        let sent: Vec<&Message> = effects
            .iter()
            .flat_map(|effect| match effect {
                Effect::Send(PEER, messages) => messages.iter().collect(),
                _ => Vec::new(),
            })
            .collect();
        let announced = sent.iter().any(|message| {
            matches!(message, Message::Update(update)
                if update.announced.iter().any(|nlri| nlri.prefix.to_string() == "10.9.0.0/24"))
        });
        assert!(announced, "{sent:?}");
        assert!(
            matches!(sent.last(), Some(Message::Update(update)) if update.end_of_rib().is_some()),
            "End-of-RIB last: {sent:?}"
        );
    }
}
