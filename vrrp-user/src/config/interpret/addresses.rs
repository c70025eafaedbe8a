//! The address lists of an instance: `virtual_ipaddress` (and `_excluded`), `virtual_routes`,
//! `virtual_rules` and `unicast_peer`, with keepalived's syntax for each entry.

use std::net::{IpAddr, Ipv4Addr};

use vrrp_common::wire::Family;

use super::super::model::*;
use super::super::syntax::{Node, Word};
use super::{Context, parse_u32_any_base};

impl Context {
    /// `<IP>[/mask] [brd X] [dev X] [scope X] [label X] [no_track]`
    pub(super) fn virtual_address(&mut self, entry: &Node) -> Option<VirtualAddress> {
        let word = &entry.keyword;
        let (address, prefix) = self.prefixed_address(word, "virtual address")?;
        let mut result = VirtualAddress {
            address,
            prefix,
            broadcast: None,
            device: None,
            scope: None,
            label: None,
            no_track: false,
            location: word.location.clone(),
        };
        let mut options = entry.args.iter();
        while let Some(option) = options.next() {
            let mut value = |context: &mut Context| -> Option<&Word> {
                let value = options.next();
                if value.is_none() {
                    context.error(&option.location, format!("'{}' needs a value", option.text));
                }
                value
            };
            match option.text.as_str() {
                "brd" | "broadcast" => {
                    let value = value(self)?;
                    match value.text.parse::<Ipv4Addr>() {
                        Ok(broadcast) if address.is_ipv4() => result.broadcast = Some(broadcast),
                        _ => self.error(
                            &value.location,
                            format!(
                                "brd '{}' is not an IPv4 address (or the VIP is IPv6)",
                                value.text
                            ),
                        ),
                    }
                }
                "dev" => result.device = Some(value(self)?.text.clone()),
                "label" => result.label = Some(value(self)?.text.clone()),
                "scope" => {
                    let value = value(self)?;
                    result.scope = Some(match value.text.as_str() {
                        "global" | "0" => Scope::Global,
                        "site" | "200" => Scope::Site,
                        "link" | "253" => Scope::Link,
                        "host" | "254" => Scope::Host,
                        "nowhere" | "255" => Scope::Nowhere,
                        _ => {
                            self.error(
                                &value.location,
                                format!(
                                    "scope '{}' is not global, site, link, host or nowhere",
                                    value.text
                                ),
                            );
                            return None;
                        }
                    });
                }
                "no_track" => result.no_track = true,
                "home" | "nodad" | "noprefixroute" | "autojoin" | "-" => {}
                _ => self.warn(
                    option,
                    format!("unknown address option '{}' ignored", option.text),
                ),
            }
        }
        Some(result)
    }

    pub(super) fn prefixed_address(&mut self, word: &Word, what: &str) -> Option<(IpAddr, u8)> {
        let (address_text, prefix_text) = match word.text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (word.text.as_str(), None),
        };
        let Ok(address) = address_text.parse::<IpAddr>() else {
            self.error(
                &word.location,
                format!("{what} '{}' is not an IP address", word.text),
            );
            return None;
        };
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            None => max,
            Some(text) => match text.parse::<u8>() {
                Ok(prefix) if prefix <= max => prefix,
                _ => {
                    self.error(
                        &word.location,
                        format!("{what} '{}' has an invalid prefix length", word.text),
                    );
                    return None;
                }
            },
        };
        Some((address, prefix))
    }

    /// `<dest>[/len] [src X] [via|gw X] [dev X] [metric N] [table N]`, or `blackhole <dest>`.
    pub(super) fn virtual_route(&mut self, entry: &Node) -> Option<VirtualRoute> {
        let mut words: Vec<&Word> = std::iter::once(&entry.keyword)
            .chain(entry.args.iter())
            .collect();
        // keepalived's order (vrrp_iproute.c): `[src ADDR] [blackhole] [to] DEST/LEN [options]`,
        // `src` and the type also allowed before the destination.
        let mut source = None;
        let mut blackhole = false;
        loop {
            match words.first().map(|w| w.text.as_str()) {
                Some("src") if words.len() >= 2 => {
                    source = Some(self.ip(words[1], "src")?);
                    words.drain(..2);
                }
                Some("blackhole") => {
                    blackhole = true;
                    words.remove(0);
                }
                Some("to") => {
                    words.remove(0);
                }
                _ => break,
            }
        }
        let destination_word = *words.first().or_else(|| {
            self.error(&entry.keyword.location, "the route needs a destination");
            None
        })?;
        let (destination, prefix) = if destination_word.text == "default" {
            (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)
        } else {
            self.prefixed_address(destination_word, "route destination")?
        };
        let mut route = VirtualRoute {
            destination,
            prefix,
            source,
            gateway: None,
            device: None,
            metric: None,
            table: None,
            blackhole,
            no_track: false,
            location: destination_word.location.clone(),
        };
        let mut rest = words[1..].iter();
        while let Some(option) = rest.next() {
            if option.text == "onlink" {
                self.warn(option, "route option 'onlink' ignored".to_string());
                continue;
            }
            if option.text == "no_track" {
                route.no_track = true;
                continue;
            }
            let Some(value) = rest.next() else {
                self.error(&option.location, format!("'{}' needs a value", option.text));
                return None;
            };
            match option.text.as_str() {
                "src" => route.source = Some(self.ip(value, "src")?),
                "via" | "gw" => route.gateway = Some(self.ip(value, "via")?),
                "dev" | "oif" => route.device = Some(value.text.clone()),
                "metric" | "preference" => {
                    route.metric = Some(self.number(value, "metric", 0..=u32::MAX)?)
                }
                "table" => route.table = Some(self.number(value, "table", 0..=u32::MAX)?),
                // keepalived installs a multipath route; vrrpd's routes have one next hop.
                "or" => self.warn(
                    option,
                    format!(
                        "multipath next hop 'or {}' is not supported by vrrpd; the route goes by the first next hop only",
                        value.text
                    ),
                ),
                _ => self.warn(
                    option,
                    format!("unknown route option '{}' ignored", option.text),
                ),
            }
        }
        Some(route)
    }

    /// One `virtual_rules` line, as `ip rule` reads it. A selector vrrpd does not implement is
    /// an error rather than a warning: a rule installed without it would match more traffic
    /// than the operator wrote.
    pub(super) fn virtual_rule(&mut self, entry: &Node) -> Option<VirtualRule> {
        let mut rule = VirtualRule {
            family: None,
            from: None,
            to: None,
            invert: false,
            input_interface: None,
            output_interface: None,
            fwmark: None,
            tos: None,
            priority: None,
            target: RuleTarget::Table(254),
            no_track: false,
            location: entry.keyword.location.clone(),
        };
        let mut families = Vec::new();
        let words: Vec<&Word> = std::iter::once(&entry.keyword)
            .chain(entry.args.iter())
            .collect();
        let mut rest = words.into_iter();
        while let Some(option) = rest.next() {
            let flag_target = match option.text.as_str() {
                "not" => {
                    rule.invert = true;
                    continue;
                }
                "no_track" => {
                    rule.no_track = true;
                    continue;
                }
                "blackhole" => Some(RuleTarget::Blackhole),
                "unreachable" => Some(RuleTarget::Unreachable),
                "prohibit" => Some(RuleTarget::Prohibit),
                _ => None,
            };
            if let Some(target) = flag_target {
                rule.target = target;
                continue;
            }
            let Some(value) = rest.next() else {
                self.error(&option.location, format!("'{}' needs a value", option.text));
                return None;
            };
            match option.text.as_str() {
                "from" | "to" => {
                    let selector = if value.text == "all" {
                        None
                    } else {
                        let (address, prefix) = self.prefixed_address(value, &option.text)?;
                        families.push(if address.is_ipv4() {
                            Family::Ipv4
                        } else {
                            Family::Ipv6
                        });
                        Some((address, prefix))
                    };
                    if option.text == "from" {
                        rule.from = selector;
                    } else {
                        rule.to = selector;
                    }
                }
                "iif" | "dev" => rule.input_interface = Some(value.text.clone()),
                "oif" => rule.output_interface = Some(value.text.clone()),
                "fwmark" => {
                    let (mark, mask) = match value.text.split_once('/') {
                        Some((mark, mask)) => (mark, Some(mask)),
                        None => (value.text.as_str(), None),
                    };
                    let (Some(mark), Some(mask)) = (
                        parse_u32_any_base(mark),
                        mask.map(parse_u32_any_base)
                            .map_or(Some(None), |m| m.map(Some)),
                    ) else {
                        self.error(
                            &value.location,
                            format!("fwmark '{}' is not MARK[/MASK]", value.text),
                        );
                        return None;
                    };
                    rule.fwmark = Some((mark, mask));
                }
                "tos" | "dsfield" => rule.tos = Some(self.number(value, "tos", 0..=255)?),
                "priority" | "preference" | "pref" => {
                    rule.priority = Some(self.number(value, "priority", 0..=u32::MAX)?)
                }
                "table" | "lookup" => {
                    let table = match value.text.as_str() {
                        "main" => 254,
                        "local" => 255,
                        "default" => 253,
                        _ => self.number(value, "table", 1..=u32::MAX)?,
                    };
                    rule.target = RuleTarget::Table(table);
                }
                "goto" => {
                    rule.target = RuleTarget::Goto(self.number(value, "goto", 0..=u32::MAX)?)
                }
                _ => {
                    self.error(
                        &option.location,
                        format!(
                            "virtual_rules option '{}' is not supported by vrrpd",
                            option.text
                        ),
                    );
                    return None;
                }
            }
        }
        families.dedup();
        match families.as_slice() {
            [] => {}
            [family] => rule.family = Some(*family),
            _ => {
                self.error(
                    &entry.keyword.location,
                    "virtual_rules: from and to are of different address families",
                );
                return None;
            }
        }
        Some(rule)
    }

    pub(super) fn unicast_peer(&mut self, entry: &Node) -> Option<UnicastPeer> {
        let address = self.ip(&entry.keyword, "unicast_peer")?;
        let mut peer = UnicastPeer {
            address,
            min_ttl: None,
            max_ttl: None,
        };
        let mut options = entry.args.iter();
        while let Some(option) = options.next() {
            let Some(value) = options.next() else {
                self.error(&option.location, format!("'{}' needs a value", option.text));
                return None;
            };
            match option.text.as_str() {
                "min_ttl" => peer.min_ttl = Some(self.number(value, "min_ttl", 0..=255)?),
                "max_ttl" => peer.max_ttl = Some(self.number(value, "max_ttl", 0..=255)?),
                _ => self.warn(
                    option,
                    format!("unknown unicast_peer option '{}' ignored", option.text),
                ),
            }
        }
        Some(peer)
    }
}
