//! From the configuration to what runs: each instance resolved against the live interfaces
//! (index, MAC, source address) into the state machine's parameters, the advert to send and
//! the datapath's CONFIG entry.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use vrrp_common::maps::{InstanceConfig, InstanceKey, flags};
use vrrp_common::rules::address_digest;
use vrrp_common::wire::vrrp::{Auth, Version};
use vrrp_common::wire::{Family, raw_from_ip};

use crate::config::Config;
use crate::config::model::{
    Authentication, Instance, OldUnicastChecksum, VirtualAddress, missing_from,
};
use crate::fsm::{GarpSchedule, Params};
use crate::net::advert::AdvertSpec;
use crate::net::netlink::{self, Netlink, NetlinkError};

#[derive(Debug, Error)]
pub enum PlanError {
    #[error("({instance}) interface {interface}: {source}")]
    Interface {
        instance: String,
        interface: String,
        source: NetlinkError,
    },
    #[error("({instance}) interface {interface} has no {what} address to send adverts from")]
    NoSource {
        instance: String,
        interface: String,
        what: &'static str,
    },
}

/// `use_vmac`: the macvlan carrying the virtual MAC (RFC 5798 section 7.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vmac {
    pub name: String,
    pub ifindex: u32,
}

/// One instance, ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct InstancePlan {
    /// The configuration's own instance, shared with it.
    pub config: Arc<Instance>,
    /// The interface adverts and ARP requests arrive on (where XDP runs).
    pub ifindex: u32,
    /// The MAC the virtual addresses answer with: the interface's, or the virtual MAC.
    pub mac: [u8; 6],
    pub vmac: Option<Vmac>,
    pub source: IpAddr,
    pub key: InstanceKey,
    pub params: Params,
    pub advert: AdvertSpec,
    /// CONFIG entry fields the state machine does not own (auth, address list, flags).
    pub datapath_base: InstanceConfig,
    pub garp_interval: Duration,
    pub startup_delay: Duration,
    /// `vrrp_delay_after_boot`: not started before the system has been up this long.
    pub delay_after_boot: Duration,
    /// The vrrp_sync_group the instance belongs to, if any.
    pub sync_group: Option<String>,
    /// Accept_Mode: whether the master accepts packets addressed to the virtual addresses
    /// (keepalived: yes unless strict mode or `no_accept`; the owner always does).
    pub accept: bool,
}

impl InstancePlan {
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Where a virtual address is installed: its own `dev` when that names another interface,
    /// else the macvlan under `use_vmac` (so the address answers with the virtual MAC), else
    /// the instance's interface.
    pub fn vip_ifindex(&self, vip: &VirtualAddress) -> u32 {
        match &vip.device {
            Some(device) if device != &self.config.interface => {
                crate::net::sys::interface_index(device)
            }
            _ => self.vmac.as_ref().map_or(self.ifindex, |v| v.ifindex),
        }
    }

    /// Where adverts are sent from: the macvlan (so they carry the virtual MAC) unless
    /// `vmac_xmit_base`.
    pub fn send_interface(&self) -> (u32, &str) {
        match &self.vmac {
            Some(vmac) if !self.config.vmac_xmit_base => (vmac.ifindex, vmac.name.as_str()),
            _ => (self.ifindex, self.config.interface.as_str()),
        }
    }

    /// The key of an instance under `auth_type AH` (its `auth_pass`, zero-padded).
    pub fn ah_key(&self) -> Option<[u8; 8]> {
        match self.config.authentication {
            Some(Authentication::Ah(key))
                if self.advert.auth == Auth::IpAh && self.config.family == Family::Ipv4 =>
            {
                Some(key)
            }
            _ => None,
        }
    }

    /// An instance under `auth_type AH`: its session, going on from `sequence`.
    pub fn ah_session(&self, sequence: u32) -> Option<crate::net::ipsec_ah::AhSession> {
        let unicast = !self.config.unicast_peers.is_empty();
        self.ah_key()
            .map(|key| crate::net::ipsec_ah::AhSession::new(key, unicast, sequence))
    }

    /// Whether the same instance would run identically (a reload keeps its state then).
    pub fn same_as(&self, other: &InstancePlan) -> bool {
        self == other
    }

    /// Whether `other` is this instance with other settings, which a reload applies in place
    /// (keeping its state, timers and place in the election). What it cannot change in place is
    /// its identity, the interface, VRID and family (the key) and name, and what the sockets,
    /// the virtual MAC and the sync group were set up for: a change there replaces it.
    pub fn same_instance(&self, other: &InstancePlan) -> bool {
        self.name() == other.name()
            && self.key == other.key
            && self.config.interface == other.config.interface
            && self.vmac == other.vmac
            && self.config.vmac_xmit_base == other.config.vmac_xmit_base
            && self.mac == other.mac
            && self.source == other.source
            && self.advert.destinations == other.advert.destinations
            && self.config.unicast_peers == other.config.unicast_peers
            && self.sync_group == other.sync_group
            && self.accept == other.accept
    }

    /// This plan with only the virtual addresses, routes and rules that `other` lacks (compared
    /// for what they install), or None when there are none: what a reload adds to a master
    /// (`self` the new plan) or removes from it (`self` the old plan).
    /// `garp_extra_if`: the plan with only the addresses on an interface other than the one
    /// adverts leave by, and of those, unless `all`, only the ones on the virtual-MAC interface
    /// (keepalived/vrrp/vrrp.c, `vrrp_send_vmac_update`); None when there are none.
    pub fn extra_interface_addresses(&self) -> Option<InstancePlan> {
        let (sending, _) = self.send_interface();
        let vmac = self.vmac.as_ref().map(|v| v.ifindex);
        let all = self.config.garp.extra_if_all;
        let keep = |vip: &VirtualAddress| {
            let on = self.vip_ifindex(vip);
            on != sending && (all || Some(on) == vmac)
        };
        let mut extra = self.clone();
        // A derived plan: its own copy of the instance (make_mut copies the shared one).
        let instance = Arc::make_mut(&mut extra.config);
        instance.addresses.retain(keep);
        instance.excluded_addresses.retain(keep);
        instance.routes.clear();
        instance.rules.clear();
        let empty = instance.addresses.is_empty() && instance.excluded_addresses.is_empty();
        (!empty).then_some(extra)
    }

    pub fn entries_missing_from(&self, other: &InstancePlan) -> Option<InstancePlan> {
        let mut delta = self.clone();
        // A derived plan: its own copy of the instance (make_mut copies the shared one).
        let instance = Arc::make_mut(&mut delta.config);
        instance.addresses = missing_from(&self.config.addresses, &other.config.addresses);
        instance.excluded_addresses = missing_from(
            &self.config.excluded_addresses,
            &other.config.excluded_addresses,
        );
        instance.routes = missing_from(&self.config.routes, &other.config.routes);
        instance.rules = missing_from(&self.config.rules, &other.config.rules);
        let empty = instance.addresses.is_empty()
            && instance.excluded_addresses.is_empty()
            && instance.routes.is_empty()
            && instance.rules.is_empty();
        (!empty).then_some(delta)
    }
}

/// Resolves every complete instance; stops at the first that cannot run.
/// The instances that can run now, and those that wait for the machine.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Shared, not copied: the daemon, the protocol thread and the status readers hold the
    /// same plans (at 1000 instances each copy is some megabytes).
    pub plans: Vec<Arc<InstancePlan>>,
    /// Instances whose interface has no usable source address yet (keepalived: FAULT until it
    /// has one), or, under `dynamic_interfaces`, whose interface does not exist yet: resolved
    /// again until they can run. With the reason, for the log.
    pub waiting: Vec<(String, PlanError)>,
}

/// Resolves every complete instance against the live interfaces. An instance whose interface
/// is missing is dropped as keepalived drops it ("WARNING - interface ... doesn't exist",
/// "Unknown interface!"), unless `dynamic_interfaces` makes it wait; the others run.
pub async fn resolve(config: &Config, netlink: &Netlink) -> Result<Resolved, PlanError> {
    let mut resolved = Resolved::default();
    for instance in config.instances.iter().filter(|i| !i.incomplete) {
        match resolve_one(config, instance, netlink).await {
            Ok(plan) => resolved.plans.push(Arc::new(plan)),
            Err(error @ PlanError::NoSource { .. }) => {
                resolved.waiting.push((instance.name.clone(), error));
            }
            Err(
                error @ PlanError::Interface {
                    source: NetlinkError::NoSuchInterface(_),
                    ..
                },
            ) => {
                if config.global.dynamic_interfaces {
                    resolved.waiting.push((instance.name.clone(), error));
                } else {
                    tracing::error!(
                        "WARNING - interface {} for vrrp_instance {} doesn't exist",
                        instance.interface,
                        instance.name
                    );
                    tracing::error!("({}) Unknown interface!", instance.name);
                }
            }
            Err(error) => return Err(error),
        }
    }
    Ok(resolved)
}

async fn resolve_one(
    config: &Config,
    instance: &Arc<Instance>,
    netlink: &Netlink,
) -> Result<InstancePlan, PlanError> {
    let interface_error = |source| PlanError::Interface {
        instance: instance.name.clone(),
        interface: instance.interface.clone(),
        source,
    };
    let link = netlink
        .link(&instance.interface)
        .await
        .map_err(interface_error)?;
    let addresses = netlink
        .addresses(link.index)
        .await
        .map_err(interface_error)?;
    let own: Vec<IpAddr> = instance
        .addresses
        .iter()
        .chain(&instance.excluded_addresses)
        .map(|a| a.address)
        .collect();
    let ipv6 = instance.family == Family::Ipv6;
    let configured_source = instance.unicast_src_ip.or(instance.mcast_src_ip);
    let source = match configured_source {
        Some(source) => source,
        None => {
            netlink::primary_address(&addresses, ipv6, &own).ok_or_else(|| PlanError::NoSource {
                instance: instance.name.clone(),
                interface: instance.interface.clone(),
                what: if ipv6 { "IPv6 link-local" } else { "IPv4" },
            })?
        }
    };
    let mut plan = build(config, instance, link.index, link.mac, source);
    if let Some(requested) = &instance.use_vmac {
        let name = if requested.is_empty() {
            format!("vrrp.{}", instance.vrid)
        } else {
            requested.clone()
        };
        let mac = vrrp_common::wire::ethernet::virtual_mac(instance.family, instance.vrid);
        let ifindex = netlink
            .ensure_macvlan(link.index, &name, mac)
            .await
            .map_err(interface_error)?;
        // keepalived's settings: the base interface must not answer ARP for addresses that live
        // on the macvlan. arp_announce 2 goes one step further: the base interface's own ARP
        // requests (say, to reach a client the VIP replies to) then carry the base address, not
        // the VIP, so they cannot re-teach the segment that the VIP lives at the base MAC.
        for (key, value) in [
            ("arp_ignore", "1"),
            ("arp_filter", "1"),
            ("arp_announce", "2"),
        ] {
            if let Err(error) = crate::net::sysctl::set_ipv4(&instance.interface, key, value) {
                tracing::warn!("{}: setting {key} to {value}: {error}", instance.interface);
            }
        }
        plan.mac = mac;
        plan.vmac = Some(Vmac { name, ifindex });
    }
    Ok(plan)
}

/// The pure part of planning, given the interface's facts.
pub fn build(
    config: &Config,
    instance: &Arc<Instance>,
    ifindex: u32,
    mac: [u8; 6],
    source: IpAddr,
) -> InstancePlan {
    let family = instance.family;
    let mut address_bytes = Vec::new();
    for vip in &instance.addresses {
        address_bytes.extend_from_slice(&raw_from_ip(vip.address).1[..family.address_len()]);
    }
    let auth = match instance.authentication {
        Some(Authentication::Pass(data)) if instance.version == Version::V2 => {
            Auth::SimpleText(data)
        }
        Some(Authentication::Ah(_)) if instance.version == Version::V2 => Auth::IpAh,
        _ => Auth::None,
    };
    let destinations: Vec<IpAddr> = if instance.unicast_peers.is_empty() {
        vec![match family {
            Family::Ipv4 => IpAddr::V4(config.global.mcast_group4),
            Family::Ipv6 => IpAddr::V6(config.global.mcast_group6),
        }]
    } else {
        instance.unicast_peers.iter().map(|p| p.address).collect()
    };
    let datapath_flags = datapath_flags(instance);
    let count = instance.addresses.len().min(255);
    let group = match destinations.as_slice() {
        [group] if group.is_multicast() => raw_from_ip(*group).1,
        _ => [0; 16],
    };
    let datapath_base = InstanceConfig {
        group,
        auth_data: auth.data(),
        auth_type: auth.type_code(),
        address_digest: address_digest(family, &address_bytes, 0, count),
        address_count: count as u8,
        flags: datapath_flags,
        ..InstanceConfig::default()
    };
    let params = Params {
        name: instance.name.clone(),
        version: instance.version,
        family,
        vrid: instance.vrid,
        base_priority: instance.priority,
        interval_cs: instance.advert_interval_cs,
        preempt: instance.preempt,
        preempt_delay: instance.preempt_delay,
        source: raw_from_ip(source).1,
        garp: GarpSchedule {
            repeat: instance.garp.master_repeat,
            delay: instance.garp.master_delay,
            refresh: instance.garp.master_refresh,
            refresh_repeat: instance.garp.master_refresh_repeat,
            lower_prio_repeat: instance.garp.lower_prio_repeat(),
            lower_prio_delay: instance.garp.lower_prio_delay(),
            extra_interval: instance.garp.extra_if_interval,
        },
        lower_prio_no_advert: instance.garp.lower_prio_no_advert,
        higher_prio_send_advert: instance.garp.higher_prio_send_advert,
        down_timer_adverts: instance.down_timer_adverts,
        timer_expired_backup: instance.timer_expired_backup,
    };
    InstancePlan {
        config: Arc::clone(instance),
        ifindex,
        mac,
        vmac: None,
        source,
        key: InstanceKey::new(ifindex, family, instance.vrid),
        params,
        advert: AdvertSpec {
            family,
            version: instance.version,
            vrid: instance.vrid,
            interval_cs: instance.advert_interval_cs,
            auth,
            addresses: address_bytes,
            source,
            destinations,
            v3_checksum: vrrp_common::rules::V3Checksum::of(datapath_flags),
            unicast_ttl: instance.unicast_ttl,
        },
        datapath_base,
        garp_interval: match family {
            Family::Ipv4 => config.global.garp_interval,
            Family::Ipv6 => config.global.gna_interval,
        },
        startup_delay: config.global.startup_delay,
        delay_after_boot: config.global.delay_after_boot,
        accept: instance.priority == vrrp_common::wire::vrrp::PRIORITY_OWNER
            || instance.accept.unwrap_or(!instance.strict_mode),
        sync_group: config
            .sync_groups
            .iter()
            .find(|g| g.members.contains(&instance.name))
            .map(|g| g.name.clone()),
    }
}

/// The CONFIG flags an instance's settings give the receive rules.
fn datapath_flags(instance: &Instance) -> u8 {
    let mut datapath_flags = 0;
    if !instance.skip_check_adv_addr {
        datapath_flags |= flags::CHECK_ADDRESSES;
    }
    if instance.v3_checksum_as_v2 {
        datapath_flags |= flags::V3_CHECKSUM_AS_V2;
    }
    if !instance.unicast_peers.is_empty() {
        datapath_flags |= flags::UNICAST;
    }
    match instance.old_unicast_checksum {
        OldUnicastChecksum::Detect => {}
        OldUnicastChecksum::Use => datapath_flags |= flags::OLD_UNICAST_CHECKSUM,
        OldUnicastChecksum::Never => datapath_flags |= flags::NEVER_OLD_UNICAST_CHECKSUM,
    }
    // keepalived's vrrp_parser.c: a peer's min_ttl or max_ttl turns check_unicast_src on.
    let ttl_limited = instance
        .unicast_peers
        .iter()
        .any(|peer| peer.min_ttl.is_some() || peer.max_ttl.is_some());
    if instance.check_unicast_src || ttl_limited {
        datapath_flags |= flags::CHECK_UNICAST_SRC;
    }
    datapath_flags
}

/// The group an instance's adverts go to, when it uses multicast.
pub fn multicast_group(config: &Config, family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(config.global.mcast_group4),
        Family::Ipv6 => IpAddr::V6(config.global.mcast_group6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::UnicastPeer;

    #[test]
    fn a_peers_ttl_range_or_the_keyword_checks_unicast_sources() {
        let location = crate::config::syntax::Location {
            file: std::sync::Arc::new("test.conf".into()),
            line: 1,
            column: 1,
        };
        let mut instance = Instance::with_defaults("VI_1", &location, &Default::default());
        let checks = |instance: &Instance| datapath_flags(instance) & flags::CHECK_UNICAST_SRC != 0;
        assert!(!checks(&instance), "multicast");
        let peer = UnicastPeer {
            address: "192.0.2.12".parse().expect("ip"),
            min_ttl: None,
            max_ttl: None,
        };
        instance.unicast_peers.push(peer.clone());
        assert!(!checks(&instance), "keepalived takes any source by default");
        instance.unicast_peers[0].max_ttl = Some(64);
        assert!(checks(&instance), "a TTL range implies the check");
        instance.unicast_peers[0] = peer;
        instance.check_unicast_src = true;
        assert!(checks(&instance), "check_unicast_src");
    }
}
