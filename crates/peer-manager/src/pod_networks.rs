//! This node's pod networks from Calico IPAM, and the route policy around
//! them, as calico-node's confd renders them for BIRD (`bird_aggr.cfg`,
//! `bird_ipam.cfg` and `confd/pkg/backends/calico/bgp_processor.go`):
//!
//! - **Blocks.** Every IPAM block affine to this node with a confirmed
//!   affinity (or an affinity written without a state, which Calico reads as
//!   confirmed) or one being released (`pendingDeletion`), not marked
//!   deleted, gets a blackhole route in the kernel (`route <block>
//!   blackhole` in the static protocol), so that traffic to an unallocated
//!   address of the block is dropped here rather than sent back out. A /32
//!   (/128) block gets none, as in confd's template; a `pending` affinity is
//!   not the node's yet.
//! - **Originated.** The confirmed blocks whose pool is enabled and exported
//!   (`disabled` and `disableBGPExport` unset), and the single addresses
//!   this node borrowed from blocks affine to other nodes (calico-node
//!   announces them because Felix's workload route for the address is
//!   learned by BIRD's kernel protocol and falls in a pool but in none of
//!   this node's blocks).
//! - **Export policy** ([`ExportPolicy`]), in confd's order: pools with
//!   `disableBGPExport` (and, unlike confd, disabled pools) are refused; each
//!   block of this node is accepted exactly and anything more specific inside
//!   it refused (`calico_aggr`: the block, not each pod address); what this
//!   node originates itself (service addresses, `--advertise`, borrowed
//!   addresses) is accepted; the other pools are accepted with what lies
//!   inside them; everything else is refused. With no IP pool at all the
//!   node is not in a Calico cluster's IPAM and no policy applies.
//! - **Kernel programming** ([`KernelPolicy`], confd's
//!   `calico_kernel_programming` filter) for a route learned from a peer:
//!   one for exactly one of this node's blocks is not installed (the
//!   blackhole of the block wins, as BIRD's static route does over BGP);
//!   one in a VXLAN pool is not installed (Felix programs VXLAN routes); one
//!   in an IPIP pool goes through the `tunl0` device with an on-link gateway
//!   (`ipipMode: Always`, or `CrossSubnet` when the next hop is outside this
//!   node's subnet), unless the `default` BGPConfiguration's
//!   `programClusterRoutes` leaves IPIP routes to Felix; the rest is
//!   installed as learned. More specific routes inside this node's blocks
//!   (addresses other nodes borrowed from them) are installed: they are how
//!   this node reaches those pods.
//!
//! Pure: resources in, values out; the same inputs give the same output.

use std::net::IpAddr;

use bgp_rib::{ExportPolicy, ExportRule, Extent, Origin, Verdict};
use ipnet::IpNet;

/// The name of the IPIP device Calico's BIRD routes IPIP pools through.
pub const IPIP_DEVICE: &str = "tunl0";

/// A pool's `ipipMode` or `vxlanMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Encapsulation {
    /// Not encapsulated.
    #[default]
    Never,
    /// Always encapsulated.
    Always,
    /// Encapsulated only towards nodes outside this node's subnet.
    CrossSubnet,
}

impl Encapsulation {
    fn in_use(self) -> bool {
        self != Encapsulation::Never
    }
}

/// What the pod-network rules need of an IPPool.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pool {
    /// The pool's CIDR.
    pub cidr: IpNet,
    /// `ipipMode`.
    pub ipip: Encapsulation,
    /// `vxlanMode`.
    pub vxlan: Encapsulation,
    /// `disabled`.
    pub disabled: bool,
    /// `disableBGPExport`.
    pub disable_bgp_export: bool,
}

impl Pool {
    fn exported(&self) -> bool {
        !self.disabled && !self.disable_bgp_export
    }
}

/// The state of a block affinity (`spec.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AffinityState {
    /// The block is this node's.
    Confirmed,
    /// IPAM is claiming the block.
    Pending,
    /// IPAM is releasing the block.
    PendingDeletion,
}

/// A block affine to this node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Affinity {
    /// The block's CIDR.
    pub cidr: IpNet,
    /// Its state; `None` when the stored affinity has none (older Calico
    /// wrote an empty value), which Calico reads as confirmed.
    pub state: Option<AffinityState>,
    /// `deleted`: the affinity is on its way out.
    pub deleted: bool,
}

impl Affinity {
    /// The block is this node's: confirmed, or written without a state.
    fn confirmed(&self) -> bool {
        !self.deleted && matches!(self.state, None | Some(AffinityState::Confirmed))
    }

    /// The block still routes here: confirmed, or being released (confd
    /// keeps the blackhole of a `pendingDeletion` block until the affinity
    /// is gone; a `pending` one it ignores).
    fn blackholed(&self) -> bool {
        self.confirmed() || (!self.deleted && self.state == Some(AffinityState::PendingDeletion))
    }
}

/// Who programs the routes of encapsulated pools: the `default`
/// BGPConfiguration's `programClusterRoutes` as far as IPIP pools go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IpipRoutes {
    /// nodebgp installs IPIP pool routes through `tunl0`, as calico-node's
    /// BIRD did before Calico 3.33 (and does with `Enabled` or
    /// `EnabledIPIPOnly`).
    #[default]
    Programmed,
    /// Felix installs them (`Disabled`, `EnabledNoEncapOnly`); nodebgp
    /// leaves them out of the kernel.
    LeftToFelix,
}

/// Everything the rules read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpamView {
    /// Every IP pool of the cluster.
    pub pools: Vec<Pool>,
    /// The block affinities of this node.
    pub affinities: Vec<Affinity>,
    /// Addresses allocated to this node's workloads from blocks affine to
    /// other nodes (or to none).
    pub borrowed: Vec<IpAddr>,
    /// This node's subnets (`spec.bgp.ipv4Address` / `ipv6Address` of its
    /// Node resource), for `CrossSubnet`.
    pub local_subnets: Vec<IpNet>,
    /// Who installs IPIP pool routes.
    pub ipip_routes: IpipRoutes,
}

/// What the node does with its pod networks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodNetworks {
    /// Blocks that get a blackhole route in the kernel, sorted.
    pub blackholes: Vec<IpNet>,
    /// Prefixes the node originates, sorted: exported blocks and borrowed
    /// addresses.
    pub originated: Vec<IpNet>,
    /// Which routes may be sent to peers.
    pub export_policy: ExportPolicy,
    /// How routes learned from peers go into the kernel.
    pub kernel: KernelPolicy,
}

/// How a route learned from a peer goes into the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelRoute {
    /// Not installed.
    Skipped,
    /// Installed as learned: the kernel finds the interface of each gateway.
    Direct,
    /// Installed through this device, each gateway on-link.
    Through(&'static str),
}

/// The kernel-programming rules: pools and this node's blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelPolicy {
    blocks: Vec<IpNet>,
    pools: Vec<Pool>,
    local_subnets: Vec<IpNet>,
    ipip_routes: IpipRoutes,
}

impl KernelPolicy {
    /// How the route for `prefix` via `next_hops` goes into the kernel.
    pub fn route(&self, prefix: IpNet, next_hops: &[IpAddr]) -> KernelRoute {
        if self.blocks.contains(&prefix) {
            return KernelRoute::Skipped;
        }
        // confd sorts its pool statements; the first pool holding the
        // prefix decides. Pools do not overlap in a valid cluster.
        let Some(pool) = self.pools.iter().find(|pool| pool.cidr.contains(&prefix)) else {
            return KernelRoute::Direct;
        };
        if pool.vxlan.in_use() {
            return KernelRoute::Skipped;
        }
        // IPIP is IPv4 only (Calico refuses it on IPv6 pools).
        if !pool.ipip.in_use() || matches!(prefix, IpNet::V6(_)) {
            return KernelRoute::Direct;
        }
        if self.ipip_routes == IpipRoutes::LeftToFelix {
            return KernelRoute::Skipped;
        }
        let on_subnet = |hop: &IpAddr| self.local_subnets.iter().any(|net| net.contains(hop));
        match pool.ipip {
            Encapsulation::CrossSubnet
                if self.local_subnets.iter().all(|net| net.addr().is_ipv6()) =>
            {
                // Without the node's IPv4 subnet confd writes no kernel
                // statement for the pool: the route goes in as learned.
                KernelRoute::Direct
            }
            Encapsulation::CrossSubnet
                if !next_hops.is_empty() && next_hops.iter().all(on_subnet) =>
            {
                KernelRoute::Direct
            }
            _ => KernelRoute::Through(IPIP_DEVICE),
        }
    }
}

/// The node's pod networks and route policy from `view`.
pub fn pod_networks(view: &IpamView) -> PodNetworks {
    let pool_of = |prefix: &IpNet| view.pools.iter().find(|pool| pool.cidr.contains(prefix));
    let blocks_where = |keep: fn(&Affinity) -> bool| {
        let mut blocks: Vec<IpNet> = view
            .affinities
            .iter()
            .filter(|affinity| keep(affinity))
            .map(|affinity| affinity.cidr.trunc())
            .collect();
        blocks.sort();
        blocks.dedup();
        blocks
    };
    let blocks = blocks_where(Affinity::confirmed);
    let mut blackholes = blocks_where(Affinity::blackholed);
    let mut originated: Vec<IpNet> = blocks
        .iter()
        .filter(|block| pool_of(block).is_some_and(Pool::exported))
        .copied()
        .collect();
    originated.extend(
        view.borrowed
            .iter()
            .map(|address| IpNet::from(*address))
            .filter(|address| pool_of(address).is_some_and(Pool::exported))
            .filter(|address| !blackholes.iter().any(|block| block.contains(address))),
    );
    originated.sort();
    originated.dedup();
    // confd renders no blackhole for a /32 block, but still aggregates it.
    blackholes.retain(|block| block.prefix_len() < block.max_prefix_len());
    PodNetworks {
        blackholes,
        originated,
        export_policy: export_policy(&view.pools, &blocks),
        kernel: KernelPolicy {
            blocks,
            pools: view.pools.clone(),
            local_subnets: view.local_subnets.clone(),
            ipip_routes: view.ipip_routes,
        },
    }
}

fn export_policy(pools: &[Pool], blocks: &[IpNet]) -> ExportPolicy {
    if pools.is_empty() {
        return ExportPolicy::default();
    }
    let rule = |prefix: IpNet, extent, origin, verdict| ExportRule {
        prefix,
        extent,
        origin,
        verdict,
    };
    let mut rules = Vec::new();
    for pool in pools.iter().filter(|pool| !pool.exported()) {
        rules.push(rule(
            pool.cidr,
            Extent::OrLonger,
            Origin::Any,
            Verdict::Reject,
        ));
    }
    for block in blocks {
        rules.push(rule(*block, Extent::Exactly, Origin::Any, Verdict::Accept));
        rules.push(rule(*block, Extent::OrLonger, Origin::Any, Verdict::Reject));
    }
    for everything in ["0.0.0.0/0", "::/0"] {
        let everything: IpNet = everything.parse().expect("a valid prefix");
        rules.push(rule(
            everything,
            Extent::OrLonger,
            Origin::Local,
            Verdict::Accept,
        ));
    }
    for pool in pools.iter().filter(|pool| pool.exported()) {
        rules.push(rule(
            pool.cidr,
            Extent::OrLonger,
            Origin::Any,
            Verdict::Accept,
        ));
    }
    ExportPolicy {
        rules,
        otherwise: Verdict::Reject,
    }
}

#[cfg(test)]
mod tests;
