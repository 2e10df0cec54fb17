//! The node's pod networks from the datastore's IPAM records: what
//! [`peer_manager::pod_networks`] reads, gathered from the stored resources
//! (IP pools, this node's block affinities, the blocks other nodes own that
//! hold addresses of this node's workloads, this node's subnet, and the
//! `default` BGPConfiguration's `programClusterRoutes`).

use peer_manager::pod_networks::{
    self, Affinity, AffinityState, Encapsulation, IpamView, IpipRoutes, PodNetworks, Pool,
};
use peer_store::{
    AffinityState as StoredState, BgpConfigurationResource, EncapsulationMode, Resource,
};

/// The pod networks of `node` from `resources`.
pub(crate) fn pod_networks_from<'a>(
    resources: impl IntoIterator<Item = &'a Resource>,
    node: &str,
) -> PodNetworks {
    let mut view = IpamView::default();
    for resource in resources {
        match resource {
            Resource::IpPool(pool) => view.pools.push(Pool {
                cidr: pool.cidr,
                ipip: encapsulation(pool.ipip_mode),
                vxlan: encapsulation(pool.vxlan_mode),
                disabled: pool.disabled,
                disable_bgp_export: pool.disable_bgp_export,
            }),
            Resource::BlockAffinity(affinity) if affinity.node == node => {
                view.affinities.push(Affinity {
                    cidr: affinity.cidr,
                    state: Some(match affinity.state {
                        StoredState::Confirmed => AffinityState::Confirmed,
                        StoredState::Pending => AffinityState::Pending,
                        StoredState::PendingDeletion => AffinityState::PendingDeletion,
                    }),
                    deleted: affinity.deleted,
                });
            }
            // Addresses this node's workloads borrowed from a block that is
            // not this node's: announced one by one.
            Resource::IpamBlock(block) if !block.deleted && block.affine_node() != Some(node) => {
                view.borrowed
                    .extend(block.addresses_allocated_to_node(node));
            }
            Resource::Node(resource) if resource.name.as_str() == node => {
                if let Some(bgp) = &resource.bgp {
                    view.local_subnets.extend(
                        bgp.ipv4_address
                            .map(|net| ipnet::IpNet::V4(net.trunc()))
                            .into_iter()
                            .chain(bgp.ipv6_address.map(|net| ipnet::IpNet::V6(net.trunc()))),
                    );
                }
            }
            Resource::BgpConfiguration(configuration) if configuration.is_default() => {
                view.ipip_routes = ipip_routes(configuration);
            }
            _ => {}
        }
    }
    view.pools.sort_by_key(|pool| pool.cidr);
    pod_networks::pod_networks(&view)
}

fn encapsulation(mode: EncapsulationMode) -> Encapsulation {
    match mode {
        EncapsulationMode::Never => Encapsulation::Never,
        EncapsulationMode::Always => Encapsulation::Always,
        EncapsulationMode::CrossSubnet => Encapsulation::CrossSubnet,
    }
}

/// `programClusterRoutes` (Calico 3.33): `Disabled` and
/// `EnabledNoEncapOnly` leave IPIP pool routes to Felix. Unset, nodebgp
/// installs them as calico-node's BIRD did before 3.33, since a node that
/// runs nodebgp instead of BIRD may have a Felix that does not.
fn ipip_routes(configuration: &BgpConfigurationResource) -> IpipRoutes {
    match configuration
        .unmodelled
        .spec_field("programClusterRoutes")
        .and_then(serde_yaml::Value::as_str)
    {
        Some("Disabled" | "EnabledNoEncapOnly") => IpipRoutes::LeftToFelix,
        _ => IpipRoutes::Programmed,
    }
}
