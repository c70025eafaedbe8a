//! `global_defs`: the daemon-wide settings and every instance's defaults.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use vrrp_common::wire::vrrp::Version;

use super::super::keywords::Block;
use super::super::model::*;
use super::super::syntax::Node;
use super::Context;
use super::values::CommandForm;

impl Context {
    pub(super) fn global_defs(&mut self, node: &Node, global: &mut GlobalDefs) {
        for item in self.block(node) {
            let setting_errors = self.errors.len();
            'setting: {
                if let Some(garp_keyword) = item.keyword.text.strip_prefix("vrrp_")
                    && self.garp_setting(garp_keyword, item, &mut global.garp)
                {
                    break 'setting;
                }
                match item.keyword.text.as_str() {
                    "net_namespace" => {
                        if let Some(word) = self.arg(item, 0) {
                            global.net_namespace = Some(word.text.clone());
                        }
                    }
                    "instance" => {
                        if let Some(word) = self.arg(item, 0) {
                            global.instance_name = Some(word.text.clone());
                        }
                    }
                    "router_id" => {
                        if let Some(word) = self.arg(item, 0) {
                            global.router_id = Some(word.text.clone());
                        }
                    }
                    "vrrp_mcast_group4" => {
                        if let Some(word) = self.arg(item, 0) {
                            match word.text.parse::<Ipv4Addr>() {
                                Ok(group) if group.is_multicast() => global.mcast_group4 = group,
                                _ => self.error(
                                    &word.location,
                                    format!(
                                        "vrrp_mcast_group4 '{}' is not an IPv4 multicast address",
                                        word.text
                                    ),
                                ),
                            }
                        }
                    }
                    "vrrp_mcast_group6" => {
                        if let Some(word) = self.arg(item, 0) {
                            match word.text.parse::<Ipv6Addr>() {
                                Ok(group) if group.is_multicast() => global.mcast_group6 = group,
                                _ => self.error(
                                    &word.location,
                                    format!(
                                        "vrrp_mcast_group6 '{}' is not an IPv6 multicast address",
                                        word.text
                                    ),
                                ),
                            }
                        }
                    }
                    "vrrp_garp_interval" => {
                        if let Some(value) = self.seconds(item, 1.0) {
                            global.garp_interval = value;
                        }
                    }
                    "vrrp_gna_interval" => {
                        if let Some(value) = self.seconds(item, 1.0) {
                            global.gna_interval = value;
                        }
                    }
                    "vrrp_version" => {
                        if let Some(value) = self.number_arg::<u8>(item, 2..=3) {
                            global.vrrp_version =
                                if value == 3 { Version::V3 } else { Version::V2 };
                        }
                    }
                    "vrrp_skip_check_adv_addr" => global.skip_check_adv_addr = self.flag(item),
                    "vrrp_check_unicast_src" => global.check_unicast_src = true,
                    "vrrp_strict" => global.vrrp_strict = self.flag(item),
                    // keepalived's optional `allow_if_changes` (an interface's index may change
                    // while vrrpd runs) is what vrrpd always does: it re-plans on a new index.
                    "dynamic_interfaces" => global.dynamic_interfaces = true,
                    "vrrp_notify_priority_changes" => {
                        global.notify_priority_changes = self.flag(item);
                    }
                    "fifo_write_vrrp_states_on_reload" => {
                        global.fifo_write_states_on_reload = true;
                    }
                    "enable_snmp_vrrp" | "enable_snmp_keepalived" => {
                        global.snmp.keepalived_mib = true;
                    }
                    "enable_snmp_rfc" => {
                        global.snmp.rfcv2 = true;
                        global.snmp.rfcv3 = true;
                    }
                    "enable_snmp_rfcv2" => global.snmp.rfcv2 = true,
                    "enable_snmp_rfcv3" => global.snmp.rfcv3 = true,
                    "enable_traps" => global.snmp.traps = true,
                    "snmp_socket" => {
                        if let Some(word) = self.arg(item, 0) {
                            global.snmp.socket = Some(word.text.clone());
                        }
                    }
                    "json_version" => {
                        if let Some(version) = self.number_arg(item, 1..=2) {
                            global.json_version = version;
                        }
                    }
                    "state_dump_file" | "stats_dump_file" | "json_dump_file" => {
                        let path = self.arg(item, 0).map(|w| PathBuf::from(&w.text));
                        match item.keyword.text.as_str() {
                            "state_dump_file" => global.state_dump_file = path,
                            "stats_dump_file" => global.stats_dump_file = path,
                            _ => global.json_dump_file = path,
                        }
                    }
                    "vrrp_down_timer_adverts" => {
                        if let Some(value) = self.number_arg(item, 1..=100) {
                            global.down_timer_adverts = value;
                        }
                    }
                    // "only one ARP/NA message to be sent, with no repeat 5 seconds later"
                    // (keepalived.conf(5)), when a master is elected or hears a lower priority.
                    "vrrp_min_garp" => {
                        if self.flag(item) {
                            global.garp.master_repeat = 1;
                            global.garp.master_delay = Duration::ZERO;
                            global.garp.lower_prio_repeat = Some(1);
                            global.garp.lower_prio_delay = Some(Duration::ZERO);
                        }
                    }
                    "vrrp_startup_delay" => {
                        if let Some(value) = self.seconds(item, 3600.0) {
                            global.startup_delay = value;
                        }
                    }
                    "vrrp_delay_after_boot" => {
                        if let Some(value) = self.seconds(item, 3600.0) {
                            global.delay_after_boot = value;
                        }
                    }
                    "enable_script_security" => global.enable_script_security = self.flag(item),
                    "script_user" => global.script_user = self.run_as(item),
                    "notification_email" => {
                        let emails: Vec<String> = self
                            .block(item)
                            .iter()
                            .map(|n| n.keyword.text.clone())
                            .collect();
                        global.notification_email = emails;
                    }
                    "notification_email_from" => {
                        if let Some(word) = self.arg(item, 0) {
                            global.notification_email_from = Some(word.text.clone());
                        }
                    }
                    "smtp_server" => {
                        if let Some(host) = self.arg(item, 0).cloned() {
                            let port = match item.args.get(1) {
                                Some(word) => self
                                    .number(word, "smtp_server port", 1..=65535)
                                    .unwrap_or(25),
                                None => 25,
                            };
                            global.smtp_server = Some((host.text, port));
                        }
                    }
                    "vrrp_priority" => {
                        if let Some(value) = self.number_arg::<i32>(item, -20..=19) {
                            global.scheduling.nice = Some(value);
                        }
                    }
                    "vrrp_no_swap" => global.scheduling.no_swap = true,
                    "vrrp_rt_priority" => {
                        if let Some(value) = self.number_arg::<u32>(item, 1..=99) {
                            global.scheduling.rt_priority = Some(value);
                        }
                    }
                    // keepalived's spelling, and its deprecated one.
                    "vrrp_rlimit_rttime" | "vrrp_rlimit_rtime" => {
                        if let Some(value) = self.number_arg::<u64>(item, 1..=u64::from(u32::MAX)) {
                            global.scheduling.rlimit_rttime_us = Some(value);
                        }
                    }
                    "vrrp_cpu_affinity" => {
                        let mut cpus = Vec::new();
                        for word in &item.args {
                            if let Some(cpu) =
                                self.number::<u32>(word, "vrrp_cpu_affinity", 0..=1023)
                            {
                                cpus.push(cpu as usize);
                            }
                        }
                        global.scheduling.cpu_affinity = cpus;
                    }
                    "smtp_alert" => global.smtp_alert = Some(self.flag(item)),
                    "smtp_alert_vrrp" => global.smtp_alert_vrrp = Some(self.flag(item)),
                    "no_email_faults" => global.no_email_faults = true,
                    "smtp_helo_name" => {
                        if let Some(word) = self.arg(item, 0) {
                            global.smtp_helo_name = Some(word.text.clone());
                        }
                    }
                    "smtp_connect_timeout" => {
                        if let Some(value) = self.number_arg::<u64>(item, 1..=3600) {
                            global.smtp_connect_timeout = Duration::from_secs(value);
                        }
                    }
                    "notify_fifo" | "vrrp_notify_fifo" => {
                        if let Some(word) = self.arg(item, 0) {
                            let fifo = NotifyFifo {
                                path: PathBuf::from(&word.text),
                                script: None,
                            };
                            if item.keyword.text == "notify_fifo" {
                                global.notify_fifo = Some(fifo);
                            } else {
                                global.vrrp_notify_fifo = Some(fifo);
                            }
                        }
                    }
                    "notify_fifo_script" | "vrrp_notify_fifo_script" => {
                        let command = self.command(item, CommandForm::Notify);
                        let target = if item.keyword.text == "notify_fifo_script" {
                            &mut global.notify_fifo
                        } else {
                            &mut global.vrrp_notify_fifo
                        };
                        match target {
                            Some(fifo) => fifo.script = command,
                            None => self.error(
                                &item.keyword.location,
                                format!("{} comes after its fifo is declared", item.keyword.text),
                            ),
                        }
                    }
                    _ => self.unhandled(Block::GlobalDefs, &item.keyword),
                }
            }
            self.ignore_errors_since(setting_errors);
        }
    }
}
