//! The gratuitous-ARP settings, read by one parser for both places keepalived takes them:
//! `global_defs` (`vrrp_garp_master_delay`, ...) and `vrrp_instance` (`garp_master_delay`, ...).

use std::time::Duration;

use super::super::model::Garp;
use super::super::syntax::Node;
use super::Context;

impl Context {
    /// Reads `item` into `garp` if `keyword` (without global_defs' `vrrp_` prefix) is one of
    /// the gratuitous-ARP settings; false for any other keyword.
    pub(super) fn garp_setting(&mut self, keyword: &str, item: &Node, garp: &mut Garp) -> bool {
        match keyword {
            "garp_master_delay" => {
                if let Some(value) = self.number_arg::<u64>(item, 0..=1000) {
                    garp.master_delay = Duration::from_secs(value);
                }
            }
            "garp_master_repeat" => {
                if let Some(value) = self.number_arg(item, 1..=255) {
                    garp.master_repeat = value;
                }
            }
            "garp_master_refresh" => {
                if let Some(value) = self.number_arg::<u64>(item, 0..=86400) {
                    garp.master_refresh = Duration::from_secs(value);
                }
            }
            "garp_master_refresh_repeat" => {
                if let Some(value) = self.number_arg(item, 1..=255) {
                    garp.master_refresh_repeat = value;
                }
            }
            "garp_lower_prio_repeat" => {
                if let Some(value) = self.number_arg(item, 0..=255) {
                    garp.lower_prio_repeat = Some(value);
                }
            }
            "garp_lower_prio_delay" => {
                if let Some(value) = self.number_arg::<u64>(item, 0..=1000) {
                    garp.lower_prio_delay = Some(Duration::from_secs(value));
                }
            }
            // keepalived's `[all] SECS`, `all` on either side of the number (vrrp_parser.c).
            "garp_extra_if" => {
                garp.extra_if_all = item.args.iter().any(|w| w.text == "all");
                match item.args.iter().find(|w| w.text != "all") {
                    Some(word) => {
                        if let Some(value) = self.number::<u64>(word, "garp_extra_if", 0..=86400) {
                            garp.extra_if_interval = Duration::from_secs(value);
                        }
                    }
                    None => self.error(&item.keyword.location, "garp_extra_if needs a delay"),
                }
            }
            "lower_prio_no_advert" => garp.lower_prio_no_advert = self.flag(item),
            "higher_prio_send_advert" => garp.higher_prio_send_advert = self.flag(item),
            _ => return false,
        }
        true
    }
}
