//! `vrrp_instance`: one virtual router, and the settling of its interval, authentication and
//! address family once the whole block is read.

use std::net::IpAddr;
use std::time::Duration;

use vrrp_common::wire::Family;
use vrrp_common::wire::vrrp::{self, Version};

use super::super::keywords::Block;
use super::super::model::*;
use super::super::syntax::{Diagnostic, Location, Node, Word};
use super::values::CommandForm;
use super::{Context, family_of};

impl Context {
    pub(super) fn instance(&mut self, node: &Node, global: &GlobalDefs) -> Option<Instance> {
        let name = self.name(node)?;
        let errors_before = self.errors.len();
        let mut instance = Instance::with_defaults(&name.text, &name.location, global);
        let mut interval: Option<(f64, Location)> = None;
        let mut auth_location: Option<Location> = None;
        let mut unicast_keyword = false;
        let mut unicast_ttl_at: Option<Location> = None;
        for item in self.block(node) {
            let setting_errors = self.errors.len();
            'setting: {
                if self.garp_setting(&item.keyword.text, item, &mut instance.garp)
                    || self.notify_setting(item, &mut instance.notify)
                {
                    break 'setting;
                }
                match item.keyword.text.as_str() {
                    "state" => {
                        if let Some(word) = self.arg(item, 0) {
                            instance.state = match word.text.to_ascii_uppercase().as_str() {
                                "MASTER" => Some(InitialState::Master),
                                "BACKUP" => Some(InitialState::Backup),
                                _ => {
                                    self.error(
                                        &word.location,
                                        format!(
                                            "state must be MASTER or BACKUP, not '{}'",
                                            word.text
                                        ),
                                    );
                                    None
                                }
                            };
                        }
                    }
                    "interface" => {
                        if let Some(word) = self.arg(item, 0) {
                            if word.text.is_empty()
                                || word.text.len() >= 16
                                || word.text.contains('/')
                            {
                                self.error(
                                    &word.location,
                                    format!("'{}' is not a valid interface name", word.text),
                                );
                            } else {
                                instance.interface = word.text.clone();
                            }
                        }
                    }
                    "virtual_router_id" => {
                        if let Some(vrid) = self.number_arg(item, 1..=255) {
                            instance.vrid = vrid;
                        }
                    }
                    "priority" => {
                        if let Some(priority) = self.number_arg(item, 1..=255) {
                            instance.priority = priority;
                        }
                    }
                    "advert_int" => {
                        if let Some(word) = self.arg(item, 0) {
                            match word.text.parse::<f64>() {
                                Ok(value) if (0.01..=255.0).contains(&value) => {
                                    interval = Some((value, word.location.clone()));
                                }
                                _ => self.error(
                                    &word.location,
                                    format!(
                                        "advert_int '{}' is not a number of seconds in 0.01..255",
                                        word.text
                                    ),
                                ),
                            }
                        }
                    }
                    "version" => {
                        if let Some(value) = self.number_arg::<u8>(item, 2..=3) {
                            instance.version = if value == 3 { Version::V3 } else { Version::V2 };
                        }
                    }
                    "authentication" => {
                        auth_location = Some(item.keyword.location.clone());
                        instance.authentication = self.authentication(item);
                    }
                    "virtual_ipaddress" => instance
                        .addresses
                        .extend(self.list_skipping_invalid(item, Self::virtual_address)),
                    "virtual_ipaddress_excluded" => instance
                        .excluded_addresses
                        .extend(self.list_skipping_invalid(item, Self::virtual_address)),
                    "virtual_routes" => {
                        let routes = self.list_skipping_invalid(item, Self::virtual_route);
                        let routes = self.untrackable_routes_not_tracked(routes);
                        instance.routes.extend(routes);
                    }
                    "virtual_rules" => instance
                        .rules
                        .extend(self.list_skipping_invalid(item, Self::virtual_rule)),
                    "mcast_src_ip" => {
                        if let Some(word) = self.arg(item, 0) {
                            instance.mcast_src_ip = self.ip(word, "mcast_src_ip");
                        }
                    }
                    "unicast_src_ip" => {
                        unicast_keyword = true;
                        if let Some(word) = self.arg(item, 0) {
                            instance.unicast_src_ip = self.ip(word, "unicast_src_ip");
                        }
                    }
                    "unicast_peer" => {
                        unicast_keyword = true;
                        instance
                            .unicast_peers
                            .extend(self.list(item, Self::unicast_peer))
                    }
                    "unicast_ttl" => {
                        // keepalived takes 0..255 (vrrp_parser.c, vrrp_ttl_handler).
                        if let Some(ttl) = self.number_arg::<u8>(item, 0..=255) {
                            instance.unicast_ttl = ttl;
                            unicast_ttl_at = Some(item.keyword.location.clone());
                        }
                    }
                    "unicast_fault_no_peer" => {
                        unicast_keyword = true;
                        instance.unicast_fault_no_peer = true;
                    }
                    "nopreempt" => instance.preempt = false,
                    "preempt" => instance.preempt = true,
                    "preempt_delay" => {
                        if let Some(value) = self.seconds(item, 1000.0) {
                            instance.preempt_delay = value;
                        }
                    }
                    "use_vmac" => {
                        instance.use_vmac = Some(
                            item.args
                                .first()
                                .map(|w| w.text.clone())
                                .unwrap_or_default(),
                        );
                    }
                    "vmac_xmit_base" => instance.vmac_xmit_base = true,
                    "track_interface" => instance
                        .track_interfaces
                        .extend(self.list(item, Self::tracked)),
                    "track_script" => instance
                        .track_scripts
                        .extend(self.list(item, Self::tracked)),
                    "track_file" => instance.track_files.extend(self.list(item, Self::tracked)),
                    "track_process" => instance
                        .track_processes
                        .extend(self.list(item, Self::tracked)),
                    "smtp_alert" => instance.smtp_alert = Some(self.flag(item)),
                    "accept" => instance.accept = Some(true),
                    "no_accept" => instance.accept = Some(false),
                    "dont_track_primary" => instance.dont_track_primary = true,
                    "strict_mode" => instance.strict_mode = self.flag(item),
                    "v3_checksum_as_v2" => instance.v3_checksum_as_v2 = true,
                    "old_unicast_checksum" => {
                        instance.old_unicast_checksum = match item.args.first() {
                            Some(word) if word.text == "never" => OldUnicastChecksum::Never,
                            Some(word) => {
                                self.warn(
                                    word,
                                    format!(
                                        "old_unicast_checksum takes only 'never', not '{}'",
                                        word.text
                                    ),
                                );
                                OldUnicastChecksum::Use
                            }
                            None => OldUnicastChecksum::Use,
                        }
                    }
                    "skip_check_adv_addr" => instance.skip_check_adv_addr = self.flag(item),
                    "check_unicast_src" => instance.check_unicast_src = true,
                    "notify_deleted" => {
                        instance.notify_deleted = true;
                        if !item.args.is_empty() {
                            instance.notify.deleted = self.command(item, CommandForm::Notify);
                        }
                    }
                    "notify_priority_changes" => {
                        instance.notify_priority_changes = self.flag(item);
                    }
                    "down_timer_adverts" => {
                        if let Some(value) = self.number_arg(item, 1..=100) {
                            instance.down_timer_adverts = value;
                        }
                    }
                    // keepalived 2.3 (vrrp_parser.c): the priority defaults to 254, the
                    // shortest time another router takes to take over. Its release notes
                    // called it thread_timer_expired, which keepalived accepts with a warning.
                    "timer_expired_backup" | "thread_timer_expired" => {
                        if item.keyword.text == "thread_timer_expired" {
                            self.warn(
                                &item.keyword,
                                "thread_timer_expired is deprecated - please use timer_expired_backup",
                            );
                        }
                        let other_priority = match item.args.first() {
                            Some(word) => self.number(
                                word,
                                "timer_expired_backup highest_other_priority",
                                1..=254,
                            ),
                            None => Some(254),
                        };
                        if let Some(value) = other_priority {
                            instance.timer_expired_backup = Some(value);
                        }
                    }
                    _ => self.unhandled(Block::Instance, &item.keyword),
                }
            }
            self.ignore_errors_since(setting_errors);
        }
        let mut missing = Vec::new();
        if instance.interface.is_empty() {
            missing.push("interface");
        }
        // An invalid VRID leaves none: keepalived drops the instance ("the virtual router id
        // must be set") and runs the rest.
        if instance.vrid == 0 {
            missing.push("virtual_router_id");
        }
        if !missing.is_empty() {
            instance.incomplete = true;
            self.warnings.push(Diagnostic::new(
                &name.location,
                format!(
                    "({}) has no valid {}: incomplete, it will not run",
                    instance.name,
                    missing.join(" and no valid ")
                ),
            ));
        }
        if unicast_keyword && instance.unicast_peers.is_empty() {
            // keepalived (vrrp.c, vrrp_complete_instance), and with unicast_fault_no_peer the
            // instance stays in FAULT instead.
            let message = if instance.unicast_fault_no_peer {
                "A unicast keyword has been specified without any unicast peers, and unicast_fault_no_peer is set. The instance will be in FAULT"
            } else {
                "A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration."
            };
            self.warnings.push(Diagnostic::new(
                &name.location,
                format!("({}) {message}", instance.name),
            ));
        }
        if let Some(at) = unicast_ttl_at
            && instance.unicast_peers.is_empty()
        {
            // keepalived (vrrp_parser.c, vrrp_end_handler): reported, and multicast keeps 255.
            self.warnings.push(Diagnostic::new(
                &at,
                format!(
                    "({}): Cannot use unicast_ttl without unicast peers - resetting",
                    instance.name
                ),
            ));
            instance.unicast_ttl = 255;
        }
        self.settle_interval(&mut instance, interval);
        self.settle_family(&mut instance);
        self.settle_authentication(&mut instance, auth_location.as_ref());
        // keepalived (vrrp.c, vrrp_complete_instance) lets an instance that wants to start as
        // MASTER neither wait nor defer: it clears nopreempt and preempt_delay, so such an
        // instance preempts a lower-priority master.
        if instance.state == Some(InitialState::Master) {
            if !instance.preempt {
                self.warnings.push(Diagnostic::new(
                    &name.location,
                    format!(
                        "({}) Warning - nopreempt will not work with initial state MASTER - clearing",
                        instance.name
                    ),
                ));
                instance.preempt = true;
            }
            if !instance.preempt_delay.is_zero() {
                self.warnings.push(Diagnostic::new(
                    &name.location,
                    format!(
                        "({}) Warning - preempt delay will not work with initial state MASTER - clearing",
                        instance.name
                    ),
                ));
                instance.preempt_delay = Duration::ZERO;
            }
        }
        if !instance.strict_mode && !instance.incomplete && instance.addresses.is_empty() {
            // keepalived (vrrp.c, vrrp_complete_instance) reports it and runs the instance.
            self.warnings.push(Diagnostic::new(
                &name.location,
                format!(
                    "({}) No VIP specified; at least one is sensible",
                    instance.name
                ),
            ));
        }
        if instance.strict_mode && instance.addresses.is_empty() {
            self.error(
                &name.location,
                format!(
                    "({}) strict mode needs at least one virtual_ipaddress",
                    instance.name
                ),
            );
        }
        if instance.strict_mode && !instance.preempt_delay.is_zero() {
            self.warnings.push(Diagnostic::new(
                &name.location,
                format!(
                    "({}) preempt_delay is incompatible with strict mode; resetting it (RFC 5798 has no such delay)",
                    instance.name
                ),
            ));
            instance.preempt_delay = Duration::ZERO;
        }
        if instance.strict_mode
            && instance.version == Version::V2
            && instance.accept == Some(true)
            && instance.priority != vrrp_common::wire::vrrp::PRIORITY_OWNER
        {
            self.warnings.push(Diagnostic::new(
                &name.location,
                format!(
                    "({}) accept mode does not comply with RFC 3768 (VRRPv2); resetting it",
                    instance.name
                ),
            ));
            instance.accept = Some(false);
        }
        if instance.strict_mode && !instance.unicast_peers.is_empty() {
            // keepalived (vrrp.c, vrrp_complete_instance) drops the instance and runs the rest.
            self.warnings.push(Diagnostic::new(
                &name.location,
                format!(
                    "({}) Unicast peers are not supported in strict mode; the instance is not run, as keepalived does",
                    instance.name
                ),
            ));
            return None;
        }
        (self.errors.len() == errors_before).then_some(instance)
    }

    /// advert_int: v2 carries whole seconds (keepalived rounds and warns), v3 centiseconds up to
    /// 40.95 s.
    pub(super) fn settle_interval(
        &mut self,
        instance: &mut Instance,
        interval: Option<(f64, Location)>,
    ) {
        let Some((seconds, location)) = interval else {
            return;
        };
        match instance.version {
            Version::V2 => {
                let whole = seconds.round().clamp(1.0, 255.0);
                if (whole - seconds).abs() > f64::EPSILON {
                    self.warnings.push(Diagnostic::new(
                        &location,
                        format!(
                            "({}) VRRPv2 advert_int must be whole seconds; using {whole}",
                            instance.name
                        ),
                    ));
                }
                instance.advert_interval_cs = (whole as u16) * 100;
            }
            Version::V3 => {
                // keepalived reads advert_int in 0.01..255 s and brings a VRRPv3 interval the
                // 12-bit field cannot carry down to its maximum, with an error reported.
                let centiseconds = (seconds * 100.0).round();
                if centiseconds > 4095.0 {
                    self.warnings.push(Diagnostic::new(
                        &location,
                        format!(
                            "({}) VRRPv3 advert interval {seconds}s is out of range. Must be less than 40.96s. Setting to 40.95s",
                            instance.name
                        ),
                    ));
                }
                instance.advert_interval_cs = centiseconds.clamp(1.0, 4095.0) as u16;
            }
        }
    }

    /// keepalived 2.2.7 (vrrp_iproute.c) tracks a virtual route for deletion only when it names
    /// its interface; one that does not is reported and not tracked. (keepalived 2.3.2 lifted
    /// the limit; 2.2.7 is the reference here.)
    fn untrackable_routes_not_tracked(&mut self, routes: Vec<VirtualRoute>) -> Vec<VirtualRoute> {
        routes
            .into_iter()
            .map(|mut route| {
                if route.device.is_none() && !route.no_track {
                    self.warnings.push(Diagnostic::new(
                        &route.location,
                        format!(
                            "Warning - cannot track route {}/{} with no interface specified, not tracking",
                            route.destination, route.prefix
                        ),
                    ));
                    route.no_track = true;
                }
                route
            })
            .collect()
    }

    pub(super) fn settle_authentication(
        &mut self,
        instance: &mut Instance,
        location: Option<&Location>,
    ) {
        let (Some(auth), Some(location)) = (instance.authentication, location) else {
            return;
        };
        // keepalived's fallback (vrrp.c, vrrp_complete_instance): the authentication is dropped
        // and the instance runs without it.
        let ignored = if instance.strict_mode {
            Some("Strict mode does not support authentication. Ignoring.")
        } else if instance.version == Version::V3 {
            Some("VRRP version 3 does not support authentication. Ignoring.")
        } else {
            None
        };
        if let Some(message) = ignored {
            self.warnings.push(Diagnostic::new(
                location,
                format!("({}) {message}", instance.name),
            ));
            instance.authentication = None;
        } else if let (Authentication::Ah(_), Some(InitialState::Master)) = (auth, instance.state) {
            // keepalived (vrrp.c, vrrp_complete_instance): a master starting at sequence number
            // 1 would have its adverts taken for replays by a backup that heard higher ones.
            self.warnings.push(Diagnostic::new(
                location,
                format!(
                    "({}) Initial state master is incompatible with AH authentication - clearing",
                    instance.name
                ),
            ));
            instance.state = None;
        }
        if let (Some(Authentication::Ah(_)), Family::Ipv6) =
            (instance.authentication, instance.family)
        {
            // keepalived puts the Authentication Header only before IPv4 adverts: over IPv6 it
            // sends auth type 2 without one and so accepts no advert (each router is master).
            // vrrpd does the same, and says so in a notice (keepalived reports nothing).
            self.notices.push(Diagnostic::new(
                location,
                format!(
                    "({}) auth_type AH applies to IPv4 only: IPv6 adverts carry no Authentication Header and none is accepted, as in keepalived",
                    instance.name
                ),
            ));
        }
    }

    /// The instance's family is its first address's; addresses of the other family go to the
    /// excluded list (keepalived does the same, with a warning).
    pub(super) fn settle_family(&mut self, instance: &mut Instance) {
        let Some(first) = instance.addresses.first() else {
            instance.family = match instance.unicast_src_ip.or(instance.mcast_src_ip) {
                Some(IpAddr::V6(_)) => Family::Ipv6,
                _ => Family::Ipv4,
            };
            return;
        };
        instance.family = family_of(&first.address);
        let (same, other): (Vec<_>, Vec<_>) = instance
            .addresses
            .drain(..)
            .partition(|a| family_of(&a.address) == instance.family);
        for address in &other {
            self.warnings.push(Diagnostic::new(
                &address.location,
                format!(
                    "({}) {} is not of the instance's family; treated as excluded",
                    instance.name, address.address
                ),
            ));
        }
        instance.addresses = same;
        instance.excluded_addresses.extend(other);
        if instance.family == Family::Ipv6 && instance.version == Version::V2 {
            self.error(
                &instance.location,
                format!("({}) IPv6 needs VRRP version 3", instance.name),
            );
        }
        // keepalived (vrrp.c, vrrp_complete_instance): what does not fit the advert is moved to
        // the excluded addresses, installed but not advertised, with a configuration error
        // reported. keepalived's room is the interface MTU's; vrrpd's is what its datapath
        // carries (vrrp::MAX_LEN: 255 IPv4 or 64 IPv6 addresses), at most the same at MTU 1500
        // for IPv4 and below it for IPv6 (keepalived fits 89 there).
        let room = vrrp::max_addresses(instance.version, instance.family);
        if instance.addresses.len() > room {
            let location = instance.addresses[room].location.clone();
            self.warnings.push(Diagnostic::new(
                &location,
                format!(
                    "({}) Number of VIPs ({}) exceeds maximum/space available in packet (max {room} addresses) - excess moved to eVIPs",
                    instance.name,
                    instance.addresses.len()
                ),
            ));
            let excess = instance.addresses.split_off(room);
            instance.excluded_addresses.extend(excess);
        }
    }

    pub(super) fn authentication(&mut self, node: &Node) -> Option<Authentication> {
        let mut kind: Option<Word> = None;
        let mut password: Option<Word> = None;
        for item in self.block(node) {
            match item.keyword.text.as_str() {
                "auth_type" => kind = self.arg(item, 0).cloned(),
                "auth_pass" => password = self.arg(item, 0).cloned(),
                _ => self.unhandled(Block::Instance, &item.keyword),
            }
        }
        let kind = kind.or_else(|| {
            self.error(&node.keyword.location, "authentication needs auth_type");
            None
        })?;
        let password = password.or_else(|| {
            self.error(&node.keyword.location, "authentication needs auth_pass");
            None
        })?;
        let bytes = password.text.as_bytes();
        if bytes.len() > 8 {
            self.warn(
                &password,
                format!(
                    "auth_pass is longer than 8 characters; truncated to '{}'",
                    String::from_utf8_lossy(&bytes[..8])
                ),
            );
        }
        let mut data = [0u8; 8];
        let len = bytes.len().min(8);
        data[..len].copy_from_slice(&bytes[..len]);
        match kind.text.to_ascii_uppercase().as_str() {
            "PASS" => Some(Authentication::Pass(data)),
            "AH" => Some(Authentication::Ah(data)),
            _ => {
                self.error(
                    &kind.location,
                    format!("auth_type must be PASS or AH, not '{}'", kind.text),
                );
                None
            }
        }
    }
}
