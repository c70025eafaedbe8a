//! keepalived's `static_ipaddress`, `static_routes` and `static_rules`: installed at start
//! whatever the instances' states, brought in line with the new file by a reload (what it no
//! longer has removed, what it adds installed, what it keeps untouched), and removed at stop
//! unless `-V` / `--dont-release-vrrp` keeps them (as keepalived 2.2.7 does all of this).

use tracing::{info, warn};
use vrrp_common::wire::Family;

use crate::config::model::{Statics, VirtualAddress, missing_from};
use crate::net::netlink::Netlink;

/// keepalived's `default_interface`: where a static address without `dev` goes.
const DEFAULT_INTERFACE: &str = "eth0";

/// Installs what `new` has and `old` has not, and removes what only `old` has.
pub fn apply(netlink: &Netlink, old: &Statics, new: &Statics) {
    remove(netlink, &only_in(old, new));
    install(netlink, &only_in(new, old));
}

/// What `these` has that `those` has not.
fn only_in(these: &Statics, those: &Statics) -> Statics {
    Statics {
        addresses: missing_from(&these.addresses, &those.addresses),
        routes: missing_from(&these.routes, &those.routes),
        rules: missing_from(&these.rules, &those.rules),
    }
}

fn address_ifindex(address: &VirtualAddress) -> u32 {
    crate::net::sys::interface_index(address.device.as_deref().unwrap_or(DEFAULT_INTERFACE))
}

fn route_ifindex(device: Option<&str>) -> Option<u32> {
    device.map(crate::net::sys::interface_index)
}

fn install(netlink: &Netlink, statics: &Statics) {
    for address in &statics.addresses {
        match netlink.add_address(address_ifindex(address), address) {
            Ok(()) => info!(
                "static address {}/{} added",
                address.address, address.prefix
            ),
            Err(error) => warn!(
                "{}: static address {}/{}: {error}",
                address.location, address.address, address.prefix
            ),
        }
    }
    for route in &statics.routes {
        if let Err(error) = netlink.route(route_ifindex(route.device.as_deref()), route, true) {
            warn!("{}: static route: {error}", route.location);
        }
    }
    for rule in &statics.rules {
        if let Err(error) = netlink.rule(rule, Family::Ipv4, true) {
            warn!("{}: static rule: {error}", rule.location);
        }
    }
}

/// Removes `statics` (all of them at stop; what a reload dropped).
pub fn remove(netlink: &Netlink, statics: &Statics) {
    for rule in &statics.rules {
        let _ = netlink.rule(rule, Family::Ipv4, false);
    }
    for route in &statics.routes {
        let _ = netlink.route(route_ifindex(route.device.as_deref()), route, false);
    }
    for address in &statics.addresses {
        match netlink.del_address(address_ifindex(address), address.address, address.prefix) {
            Ok(()) => info!(
                "static address {}/{} removed",
                address.address, address.prefix
            ),
            Err(error) => warn!(
                "static address {}/{}: {error}",
                address.address, address.prefix
            ),
        }
    }
}
