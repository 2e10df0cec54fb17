//! What a [`Fib`](super::Fib) knows of which prefixes hold our route at our
//! metric: those are replaced in place, any other prefix is added with
//! NLM_F_EXCL first (see `Fib`'s `ledger`). Either the `Fib` records them
//! itself ([`Ownership::Recorded`]) or its caller, which keeps a table of what
//! it installed anyway, says so route by route ([`Ownership::Caller`]) and the
//! `Fib` keeps only the exceptions. The sets hold a family each, so that an
//! IPv4 prefix costs its 5 octets rather than an [`IpNet`]'s 18 (a full table
//! is a million of them).

use hashbrown::HashSet;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A set of prefixes of both families.
#[derive(Debug, Default)]
pub(super) struct PrefixSet {
    ipv4: HashSet<Ipv4Net>,
    ipv6: HashSet<Ipv6Net>,
}

impl PrefixSet {
    pub(super) fn contains(&self, prefix: &IpNet) -> bool {
        match prefix {
            IpNet::V4(net) => self.ipv4.contains(net),
            IpNet::V6(net) => self.ipv6.contains(net),
        }
    }

    pub(super) fn insert(&mut self, prefix: IpNet) {
        match prefix {
            IpNet::V4(net) => self.ipv4.insert(net),
            IpNet::V6(net) => self.ipv6.insert(net),
        };
    }

    pub(super) fn remove(&mut self, prefix: &IpNet) {
        match prefix {
            IpNet::V4(net) => self.ipv4.remove(net),
            IpNet::V6(net) => self.ipv6.remove(net),
        };
    }

    pub(super) fn clear(&mut self) {
        // Dropped, not cleared: a full table's sets are large.
        *self = PrefixSet::default();
    }
}

impl Extend<IpNet> for PrefixSet {
    fn extend<I: IntoIterator<Item = IpNet>>(&mut self, prefixes: I) {
        for prefix in prefixes {
            self.insert(prefix);
        }
    }
}

/// Where a [`Fib`](super::Fib) learns which prefixes hold our route at our
/// metric, the ones it may replace in place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Ownership {
    /// The `Fib` records every prefix it installed or listed at our metric:
    /// a set of them, 12 MiB for a million IPv4 prefixes.
    #[default]
    Recorded,
    /// The caller keeps its own table of what it installed and listed, and
    /// says which prefixes hold our route when it calls
    /// [`Fib::apply_all_known`](super::Fib::apply_all_known);
    /// [`Fib::apply`](super::Fib::apply) and
    /// [`Fib::apply_all`](super::Fib::apply_all) then take no prefix for
    /// ours. The `Fib` keeps only the exceptions: prefixes whose route of
    /// ours it listed at another metric, which a replace at our metric could
    /// not reach, so that it would take someone else's route there instead.
    Caller,
}

/// Whether the caller knows a prefix to hold our route ([`Ownership::Caller`]).
pub(crate) type HoldsOurs<'a> = &'a (dyn Fn(&IpNet) -> bool + Sync);

/// The record an [`Ownership`] asks for.
#[derive(Debug)]
pub(super) enum Ledger {
    /// Prefixes holding our route at our metric.
    Recorded(PrefixSet),
    /// Prefixes whose route of ours was listed at another metric only.
    Caller {
        elsewhere: PrefixSet,
        /// The last prefix listed at our metric (see [`Ledger::listed`]).
        last_at_ours: Option<IpNet>,
    },
}

impl Ledger {
    pub(super) fn new(ownership: Ownership) -> Self {
        match ownership {
            Ownership::Recorded => Ledger::Recorded(PrefixSet::default()),
            Ownership::Caller => Ledger::Caller {
                elsewhere: PrefixSet::default(),
                last_at_ours: None,
            },
        }
    }

    /// Whether `prefix` may be replaced in place, given what the caller
    /// says, if it says anything.
    pub(super) fn holds_ours(&self, prefix: &IpNet, caller: Option<HoldsOurs<'_>>) -> bool {
        let caller_says = caller.is_some_and(|holds_ours| holds_ours(prefix));
        match self {
            Ledger::Recorded(owned) => caller_says || owned.contains(prefix),
            Ledger::Caller { elsewhere, .. } => caller_says && !elsewhere.contains(prefix),
        }
    }

    /// Our route for `prefix` went in at our metric.
    pub(super) fn installed(&mut self, prefix: IpNet) {
        match self {
            Ledger::Recorded(owned) => owned.insert(prefix),
            Ledger::Caller { elsewhere, .. } => elsewhere.remove(&prefix),
        }
    }

    /// Our route for `prefix` at our metric is gone.
    pub(super) fn removed(&mut self, prefix: &IpNet) {
        match self {
            Ledger::Recorded(owned) => owned.remove(prefix),
            // A route of ours at another metric, if there was one, stays.
            Ledger::Caller { .. } => {}
        }
    }

    /// A route of ours for `prefix` was listed, at our metric or not. A
    /// listing gives one prefix's routes one after the other, in either
    /// order: a prefix listed at ours too is no exception.
    pub(super) fn listed(&mut self, prefix: IpNet, at_our_metric: bool) {
        match self {
            Ledger::Recorded(owned) => {
                if at_our_metric {
                    owned.insert(prefix);
                }
            }
            Ledger::Caller {
                elsewhere,
                last_at_ours,
            } => {
                if at_our_metric {
                    elsewhere.remove(&prefix);
                    *last_at_ours = Some(prefix);
                } else if *last_at_ours != Some(prefix) {
                    elsewhere.insert(prefix);
                }
            }
        }
    }

    /// Every route of ours is gone.
    pub(super) fn clear(&mut self) {
        match self {
            Ledger::Recorded(owned) => owned.clear(),
            Ledger::Caller { elsewhere, .. } => elsewhere.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_families_are_kept_apart_and_found() {
        let mut set = PrefixSet::default();
        let ipv4: IpNet = "10.0.0.0/24".parse().unwrap();
        let ipv6: IpNet = "2001:db8::/32".parse().unwrap();
        set.extend([ipv4, ipv6]);
        assert!(set.contains(&ipv4) && set.contains(&ipv6));
        set.remove(&ipv4);
        assert!(!set.contains(&ipv4) && set.contains(&ipv6));
        set.clear();
        assert!(!set.contains(&ipv6));
    }
}
