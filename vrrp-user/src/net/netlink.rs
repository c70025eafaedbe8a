//! rtnetlink: interfaces, their addresses, the virtual addresses and routes we install, and the
//! link events that drive interface tracking.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use futures_util::stream::{StreamExt, TryStreamExt};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, LinkXdp};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleFlags, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NetlinkPayload};
use rtnetlink::{AddressMessageBuilder, Handle, MulticastGroup};
use thiserror::Error;

use super::netlink_request::Requests;
use crate::config::model::{RuleTarget, VirtualAddress, VirtualRoute, VirtualRule};
use vrrp_common::wire::Family;

#[derive(Debug, Error)]
pub enum NetlinkError {
    #[error("netlink socket: {0}")]
    Socket(#[from] std::io::Error),
    #[error("netlink: {0}")]
    Request(#[from] rtnetlink::Error),
    /// The kernel refused an acknowledged request (`net::netlink_request`).
    #[error("netlink: {0}")]
    Refused(std::io::Error),
    #[error("netlink reply: {0}")]
    Reply(String),
    #[error("no interface named {0}")]
    NoSuchInterface(String),
}

/// What the daemon needs to know about an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    pub mac: [u8; 6],
    /// Administratively up and the carrier present (IFF_UP and IFF_RUNNING).
    pub up: bool,
}

/// An address on an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressInfo {
    pub address: IpAddr,
    pub prefix: u8,
    pub label: Option<String>,
    pub secondary: bool,
    pub scope: u8,
}

/// A link went up, down, appeared or disappeared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkEvent {
    pub link: LinkInfo,
    pub removed: bool,
}

/// A connection to the kernel's routing netlink; cheap to clone.
#[derive(Clone, Debug)]
pub struct Netlink {
    /// Dumps and interface changes.
    handle: Handle,
    /// The virtual addresses, routes and rules: acknowledged within the system call.
    requests: Arc<Requests>,
}

impl Netlink {
    /// Connects, running the connection on the current tokio runtime.
    pub fn connect() -> Result<Netlink, NetlinkError> {
        let (connection, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(connection);
        Ok(Netlink {
            handle,
            requests: Arc::new(Requests::open()?),
        })
    }

    pub async fn links(&self) -> Result<Vec<LinkInfo>, NetlinkError> {
        let mut stream = self.handle.link().get().execute();
        let mut links = Vec::new();
        while let Some(message) = stream.try_next().await? {
            links.push(link_info(&message));
        }
        Ok(links)
    }

    pub async fn link(&self, name: &str) -> Result<LinkInfo, NetlinkError> {
        self.links()
            .await?
            .into_iter()
            .find(|l| l.name == name)
            .ok_or_else(|| NetlinkError::NoSuchInterface(name.to_string()))
    }

    /// The id of the XDP program attached to `index`, if any (what `ip link` shows as
    /// `prog/xdp id N`): how the namespace tests watch the attachment without a process per
    /// look.
    pub async fn xdp_program(&self, index: u32) -> Result<Option<u32>, NetlinkError> {
        let mut stream = self.handle.link().get().match_index(index).execute();
        let Some(message) = stream.try_next().await? else {
            return Ok(None);
        };
        Ok(message
            .attributes
            .iter()
            .filter_map(|attribute| match attribute {
                LinkAttribute::Xdp(xdp) => Some(xdp),
                _ => None,
            })
            .flatten()
            .find_map(|xdp| match xdp {
                LinkXdp::ProgId(id) if *id != 0 => Some(*id),
                _ => None,
            }))
    }

    /// Addresses on `index`, in the kernel's order (the primary IPv4 address first).
    pub async fn addresses(&self, index: u32) -> Result<Vec<AddressInfo>, NetlinkError> {
        let mut stream = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        let mut addresses = Vec::new();
        while let Some(message) = stream.try_next().await? {
            if message.header.index != index {
                continue;
            }
            if let Some(info) = address_info(&message) {
                addresses.push(info);
            }
        }
        Ok(addresses)
    }

    /// Installs a virtual address as `ip addr add ADDR/PREFIX [brd X] [scope X] [label X] dev IF`
    /// would, with `nodad` for IPv6 (keepalived does the same: the VIP must work at once).
    pub fn add_address(&self, index: u32, vip: &VirtualAddress) -> Result<(), NetlinkError> {
        let mut message = match vip.address {
            IpAddr::V4(address) => AddressMessageBuilder::<Ipv4Addr>::new()
                .index(index)
                .address(address, vip.prefix)
                .build(),
            IpAddr::V6(address) => AddressMessageBuilder::<Ipv6Addr>::new()
                .index(index)
                .address(address, vip.prefix)
                .build(),
        };
        if let Some(broadcast) = vip.broadcast {
            message
                .attributes
                .retain(|a| !matches!(a, AddressAttribute::Broadcast(_)));
            message
                .attributes
                .push(AddressAttribute::Broadcast(broadcast));
        }
        if let Some(label) = &vip.label {
            message
                .attributes
                .push(AddressAttribute::Label(label.clone()));
        }
        if let Some(scope) = vip.scope {
            message.header.scope = AddressScope::from(scope.rt_scope());
        } else if let IpAddr::V6(v6) = vip.address
            && v6.is_unicast_link_local()
        {
            message.header.scope = AddressScope::Link;
        }
        if vip.address.is_ipv6() {
            message.header.flags = AddressHeaderFlags::Nodad;
            message
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        self.requests.acknowledged(
            RouteNetlinkMessage::NewAddress(message),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
    }

    /// Removes an address; removing one that is not there is not an error.
    pub fn del_address(&self, index: u32, address: IpAddr, prefix: u8) -> Result<(), NetlinkError> {
        let mut message = AddressMessage::default();
        message.header.index = index;
        message.header.prefix_len = prefix;
        message.header.family = match address {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        message.attributes.push(AddressAttribute::Address(address));
        if address.is_ipv4() {
            message.attributes.push(AddressAttribute::Local(address));
        }
        in_place_already(
            self.requests
                .acknowledged(RouteNetlinkMessage::DelAddress(message), 0),
            &[libc::EADDRNOTAVAIL, libc::ENODEV],
        )
    }

    /// Creates the macvlan `name` on `base` with `mac` in private mode and brings it up
    /// (`use_vmac`); one a crashed run left is reused. Returns its index.
    pub async fn ensure_macvlan(
        &self,
        base: u32,
        name: &str,
        mac: [u8; 6],
    ) -> Result<u32, NetlinkError> {
        if let Ok(existing) = self.link(name).await {
            return Ok(existing.index);
        }
        let message = rtnetlink::LinkMacVlan::new(
            name,
            base,
            netlink_packet_route::link::MacVlanMode::Private,
        )
        .address(mac.to_vec())
        .up()
        .build();
        self.handle.link().add(message).execute().await?;
        Ok(self.link(name).await?.index)
    }

    /// Deletes an interface (the macvlan at exit).
    pub async fn delete_link(&self, index: u32) -> Result<(), NetlinkError> {
        self.handle.link().del(index).execute().await?;
        Ok(())
    }

    /// Adds (or, with `add` false, removes) a virtual route.
    pub fn route(
        &self,
        index: Option<u32>,
        route: &VirtualRoute,
        add: bool,
    ) -> Result<(), NetlinkError> {
        let mut message = RouteMessage::default();
        message.header.address_family = match route.destination {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        message.header.destination_prefix_length = route.prefix;
        // keepalived marks its routes `proto keepalived` (RTPROT_KEEPALIVED, 18), which is what
        // `ip route show proto keepalived` and its SNMP vrrpRouteProtocol find.
        message.header.protocol = RouteProtocol::KeepAlived;
        message.header.kind = if route.blackhole {
            RouteType::BlackHole
        } else {
            RouteType::Unicast
        };
        // keepalived installs every virtual route with scope universe (`scope global`), a
        // route straight out of an interface too (where `ip route add` would say link).
        message.header.scope = RouteScope::Universe;
        let table = route.table.unwrap_or(254);
        message.header.table = u8::try_from(table).unwrap_or(252);
        message.attributes.push(RouteAttribute::Table(table));
        if route.prefix > 0 {
            message
                .attributes
                .push(RouteAttribute::Destination(route_address(
                    route.destination,
                )));
        }
        if let Some(gateway) = route.gateway {
            message
                .attributes
                .push(RouteAttribute::Gateway(route_address(gateway)));
        }
        if let Some(source) = route.source {
            message
                .attributes
                .push(RouteAttribute::PrefSource(route_address(source)));
        }
        if let Some(metric) = route.metric {
            message.attributes.push(RouteAttribute::Priority(metric));
        }
        // A blackhole route goes out of no interface (the kernel refuses one with a device).
        if let Some(index) = index
            && !route.blackhole
        {
            message.attributes.push(RouteAttribute::Oif(index));
        }
        let result = if add {
            self.requests.acknowledged(
                RouteNetlinkMessage::NewRoute(message),
                NLM_F_CREATE | NLM_F_REPLACE,
            )
        } else {
            self.requests
                .acknowledged(RouteNetlinkMessage::DelRoute(message), 0)
        };
        in_place_already(result, if add { &[] } else { &[libc::ESRCH] })
    }
}

impl Netlink {
    /// Adds (or, with `add` false, removes) a virtual rule; `family` is the instance's, for a
    /// rule whose selectors name no address. Adding a rule that is already there (a crashed
    /// run's) and removing one that is gone both succeed.
    pub fn rule(&self, rule: &VirtualRule, family: Family, add: bool) -> Result<(), NetlinkError> {
        let message = rule_message(rule, rule.family.unwrap_or(family));
        let result = if add {
            self.requests.acknowledged(
                RouteNetlinkMessage::NewRule(message),
                NLM_F_CREATE | NLM_F_EXCL,
            )
        } else {
            self.requests
                .acknowledged(RouteNetlinkMessage::DelRule(message), 0)
        };
        in_place_already(result, &[if add { libc::EEXIST } else { libc::ENOENT }])
    }
}

/// `result`, with the kernel's refusals for one of the errnos `meaning_in_place` taken as
/// success: they say the request's effect is there already (an address or route gone, a rule
/// present).
fn in_place_already(
    result: Result<(), NetlinkError>,
    meaning_in_place: &[i32],
) -> Result<(), NetlinkError> {
    match result {
        Err(NetlinkError::Refused(error))
            if error
                .raw_os_error()
                .is_some_and(|errno| meaning_in_place.contains(&errno)) =>
        {
            Ok(())
        }
        result => result,
    }
}

/// The RTM_NEWRULE / RTM_DELRULE message for a rule, as `ip rule` builds it.
fn rule_message(rule: &VirtualRule, family: Family) -> RuleMessage {
    let mut message = RuleMessage::default();
    message.header.family = match family {
        Family::Ipv4 => AddressFamily::Inet,
        Family::Ipv6 => AddressFamily::Inet6,
    };
    if rule.invert {
        message.header.flags = RuleFlags::Invert;
    }
    if let Some((address, prefix)) = rule.from {
        message.header.src_len = prefix;
        message.attributes.push(RuleAttribute::Source(address));
    }
    if let Some((address, prefix)) = rule.to {
        message.header.dst_len = prefix;
        message.attributes.push(RuleAttribute::Destination(address));
    }
    if let Some(name) = &rule.input_interface {
        message
            .attributes
            .push(RuleAttribute::Iifname(name.clone()));
    }
    if let Some(name) = &rule.output_interface {
        message
            .attributes
            .push(RuleAttribute::Oifname(name.clone()));
    }
    if let Some((mark, mask)) = rule.fwmark {
        message.attributes.push(RuleAttribute::FwMark(mark));
        if let Some(mask) = mask {
            message.attributes.push(RuleAttribute::FwMask(mask));
        }
    }
    if let Some(tos) = rule.tos {
        message.header.tos = tos;
    }
    if let Some(priority) = rule.priority {
        message.attributes.push(RuleAttribute::Priority(priority));
    }
    // `proto keepalived`, as keepalived marks its rules.
    message
        .attributes
        .push(RuleAttribute::Protocol(RouteProtocol::KeepAlived));
    message.header.action = match rule.target {
        RuleTarget::Table(table) => {
            // Tables above 255 travel in the attribute, the header saying RT_TABLE_COMPAT.
            message.header.table = u8::try_from(table).unwrap_or(252);
            message.attributes.push(RuleAttribute::Table(table));
            RuleAction::ToTable
        }
        RuleTarget::Goto(target) => {
            message.attributes.push(RuleAttribute::Goto(target));
            RuleAction::Goto
        }
        RuleTarget::Blackhole => RuleAction::Blackhole,
        RuleTarget::Unreachable => RuleAction::Unreachable,
        RuleTarget::Prohibit => RuleAction::Prohibit,
    };
    message
}

fn route_address(address: IpAddr) -> RouteAddress {
    match address {
        IpAddr::V4(v4) => RouteAddress::Inet(v4),
        IpAddr::V6(v6) => RouteAddress::Inet6(v6),
    }
}

fn link_info(message: &LinkMessage) -> LinkInfo {
    let mut info = LinkInfo {
        index: message.header.index,
        name: String::new(),
        mac: [0; 6],
        up: message.header.flags.contains(LinkFlags::Up)
            && message.header.flags.contains(LinkFlags::Running),
    };
    for attribute in &message.attributes {
        match attribute {
            LinkAttribute::IfName(name) => info.name = name.clone(),
            LinkAttribute::Address(bytes) if bytes.len() == 6 => info.mac.copy_from_slice(bytes),
            _ => {}
        }
    }
    info
}

fn address_info(message: &AddressMessage) -> Option<AddressInfo> {
    let mut address = None;
    let mut local = None;
    let mut label = None;
    for attribute in &message.attributes {
        match attribute {
            AddressAttribute::Address(a) => address = Some(*a),
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            _ => {}
        }
    }
    Some(AddressInfo {
        // For IPv4, IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on
        // point-to-point links).
        address: local.or(address)?,
        prefix: message.header.prefix_len,
        label,
        secondary: message.header.flags.contains(AddressHeaderFlags::Secondary),
        scope: u8::from(message.header.scope),
    })
}

/// The address our adverts come from: IPv4, the interface's primary address (keepalived's
/// choice); IPv6, its first link-local address (RFC 5798 section 5.1.2.1). Addresses in
/// `exclude` (our own VIPs) never qualify.
pub fn primary_address(
    addresses: &[AddressInfo],
    ipv6: bool,
    exclude: &[IpAddr],
) -> Option<IpAddr> {
    addresses
        .iter()
        .filter(|a| !exclude.contains(&a.address))
        .find(|a| match a.address {
            IpAddr::V4(_) => !ipv6 && !a.secondary,
            IpAddr::V6(v6) => ipv6 && v6.is_unicast_link_local(),
        })
        .map(|a| a.address)
}

/// Subscribes to link changes (`ip monitor link`).
pub fn watch_links() -> Result<tokio::sync::mpsc::UnboundedReceiver<LinkEvent>, NetlinkError> {
    let (connection, _handle, mut messages) =
        rtnetlink::new_multicast_connection(&[MulticastGroup::Link])?;
    tokio::spawn(connection);
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some((message, _)) = messages.next().await {
            let event = match message.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) => LinkEvent {
                    link: link_info(&link),
                    removed: false,
                },
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(link)) => LinkEvent {
                    link: link_info(&link),
                    removed: true,
                },
                _ => continue,
            };
            if sender.send(event).is_err() {
                break;
            }
        }
    });
    Ok(receiver)
}

/// An address, route or rule that was removed (by anyone: an operator's `ip addr del`, `ip
/// route del`, `ip rule del`, or vrrpd itself; the daemon tells them apart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removed {
    Address {
        ifindex: u32,
        address: IpAddr,
    },
    Route {
        destination: IpAddr,
        prefix: u8,
        table: u32,
        /// The interface it went out of, if any.
        oif: Option<u32>,
    },
    Rule {
        from: Option<(IpAddr, u8)>,
        to: Option<(IpAddr, u8)>,
        priority: Option<u32>,
        table: u32,
    },
}

impl Removed {
    /// Whether this removal is of `route` (the fields the kernel keeps it by).
    pub fn is_route(&self, route: &VirtualRoute) -> bool {
        let Removed::Route {
            destination,
            prefix,
            table,
            ..
        } = self
        else {
            return false;
        };
        let same_destination = if route.prefix == 0 {
            destination.is_ipv4() == route.destination.is_ipv4()
        } else {
            *destination == route.destination
        };
        same_destination && *prefix == route.prefix && *table == route.table.unwrap_or(254)
    }

    /// Whether this removal is of `rule`.
    pub fn is_rule(&self, rule: &VirtualRule) -> bool {
        let Removed::Rule {
            from,
            to,
            priority,
            table,
        } = self
        else {
            return false;
        };
        let same_table = match rule.target {
            RuleTarget::Table(configured) => configured == *table,
            _ => true,
        };
        *from == rule.from
            && *to == rule.to
            && rule
                .priority
                .is_none_or(|configured| Some(configured) == *priority)
            && same_table
    }
}

fn removed_route(message: &RouteMessage) -> Removed {
    let mut destination = None;
    let mut table = u32::from(message.header.table);
    let mut oif = None;
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Destination(RouteAddress::Inet(v4)) => {
                destination = Some(IpAddr::V4(*v4))
            }
            RouteAttribute::Destination(RouteAddress::Inet6(v6)) => {
                destination = Some(IpAddr::V6(*v6))
            }
            RouteAttribute::Table(number) => table = *number,
            RouteAttribute::Oif(index) => oif = Some(*index),
            _ => {}
        }
    }
    let unspecified = match message.header.address_family {
        AddressFamily::Inet6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        _ => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    };
    Removed::Route {
        destination: destination.unwrap_or(unspecified),
        prefix: message.header.destination_prefix_length,
        table,
        oif,
    }
}

fn removed_rule(message: &RuleMessage) -> Removed {
    let (mut from, mut to, mut priority) = (None, None, None);
    let mut table = u32::from(message.header.table);
    for attribute in &message.attributes {
        match attribute {
            RuleAttribute::Source(address) => from = Some((*address, message.header.src_len)),
            RuleAttribute::Destination(address) => to = Some((*address, message.header.dst_len)),
            RuleAttribute::Priority(number) => priority = Some(*number),
            RuleAttribute::Table(number) => table = *number,
            _ => {}
        }
    }
    Removed::Rule {
        from,
        to,
        priority,
        table,
    }
}

/// Every address, route and rule removed, IPv4 and IPv6, as the kernel reports it.
pub fn watch_removals() -> Result<tokio::sync::mpsc::UnboundedReceiver<Removed>, NetlinkError> {
    let (connection, _handle, mut messages) = rtnetlink::new_multicast_connection(&[
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
        MulticastGroup::Ipv4Route,
        MulticastGroup::Ipv6Route,
        MulticastGroup::Ipv4Rule,
        MulticastGroup::Ipv6Rule,
    ])?;
    tokio::spawn(connection);
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some((message, _)) = messages.next().await {
            let NetlinkPayload::InnerMessage(inner) = message.payload else {
                continue;
            };
            let event = match inner {
                RouteNetlinkMessage::DelAddress(removed) => {
                    let Some(info) = address_info(&removed) else {
                        continue;
                    };
                    Removed::Address {
                        ifindex: removed.header.index,
                        address: info.address,
                    }
                }
                RouteNetlinkMessage::DelRoute(removed) => removed_route(&removed),
                RouteNetlinkMessage::DelRule(removed) => removed_rule(&removed),
                _ => continue,
            };
            if sender.send(event).is_err() {
                break;
            }
        }
    });
    Ok(receiver)
}
