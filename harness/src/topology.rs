//! The test network: one Ethernet segment (a bridge in its own namespace) joining N routers and
//! a client, each in its own namespace, with documentation addresses only.
//!
//! Router `i` (1-based) has `eth0` = 192.0.2.(10+i)/24 and 2001:db8::(10+i)/64; the client has
//! 192.0.2.100 and 2001:db8::100. Switch ports are named `r<i>` and `cl`.

use std::net::{Ipv4Addr, Ipv6Addr};

use anyhow::Result;

use crate::netns::Netns;

/// A host on the segment.
#[derive(Debug)]
pub struct Host {
    pub ns: Netns,
    /// Interface name inside the host's namespace.
    pub ifname: &'static str,
    /// Name of the host's port in the switch namespace.
    pub port: String,
    pub ipv4: Ipv4Addr,
    pub ipv6: Ipv6Addr,
}

impl Host {
    /// The MAC address of the host's interface.
    pub fn mac(&self) -> Result<[u8; 6]> {
        let text = self
            .ns
            .run_ok(["cat", &format!("/sys/class/net/{}/address", self.ifname)])?;
        parse_mac(text.trim())
    }

    pub fn ifindex(&self) -> Result<u32> {
        let text = self
            .ns
            .run_ok(["cat", &format!("/sys/class/net/{}/ifindex", self.ifname)])?;
        Ok(text.trim().parse()?)
    }

    /// IPv4 addresses on the interface (`ip -4 addr show`), with their labels.
    pub fn ipv4_addresses(&self) -> Result<String> {
        self.ns
            .run_ok(["ip", "-4", "-o", "addr", "show", "dev", self.ifname])
    }

    /// The IPv4 addresses on the interface as (address/prefix, label) pairs. In `ip -o addr`
    /// the label is the last word before the line's `\` continuation (then `valid_lft ...`).
    pub fn ipv4_labels(&self) -> Result<Vec<(String, String)>> {
        let text = self.ipv4_addresses()?;
        Ok(text
            .lines()
            .filter_map(|line| {
                let (address_part, _lifetimes) = line.split_once('\\').unwrap_or((line, ""));
                let words: Vec<&str> = address_part.split_whitespace().collect();
                let at = words.iter().position(|w| *w == "inet")?;
                let address = words.get(at + 1)?;
                let label = words.last()?;
                Some((address.to_string(), label.to_string()))
            })
            .collect())
    }

    /// Whether `address` is configured on the host's interface.
    pub fn has_address(&self, address: &str) -> bool {
        self.ns
            .run_ok(["ip", "-o", "addr", "show", "dev", self.ifname])
            .is_ok_and(|text| text.contains(&format!(" {address}/")))
    }

    /// Creates a second interface, eth1, in the host's namespace: a veth whose peer (eth1p)
    /// stays there too, with 198.51.100.1/24, both ends up.
    pub fn add_eth1(&self) -> Result<()> {
        for argv in [
            &[
                "ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
            ][..],
            &["ip", "addr", "add", "198.51.100.1/24", "dev", "eth1"],
            &["ip", "link", "set", "eth1p", "up"],
            &["ip", "link", "set", "eth1", "up"],
        ] {
            self.ns.run_ok(argv)?;
        }
        Ok(())
    }
}

/// One segment: switch + routers + client. Dropping it removes every namespace.
#[derive(Debug)]
pub struct Segment {
    pub routers: Vec<Host>,
    pub client: Host,
    /// Declared last so hosts go first: their processes die before the switch disappears.
    pub switch: Netns,
}

pub const BRIDGE: &str = "br0";

impl Segment {
    pub fn new(routers: usize) -> Result<Segment> {
        Segment::build(routers, &|role| Netns::new(role))
    }

    /// The same topology with namespaces named `<prefix>sw`, `<prefix>r1`, ... `<prefix>cl`.
    pub fn with_prefix(prefix: &str, routers: usize) -> Result<Segment> {
        Segment::build(routers, &|role| Netns::with_prefix(prefix, role))
    }

    /// Leaves every namespace in place when the segment is dropped.
    pub fn persist(&mut self) {
        self.switch.persist();
        self.client.ns.persist();
        for router in &mut self.routers {
            router.ns.persist();
        }
    }

    fn build(routers: usize, make: &dyn Fn(&str) -> Result<Netns>) -> Result<Segment> {
        let switch = make("sw")?;
        add_bridge(&switch, BRIDGE)?;
        // A plain switch: with br_netfilter loaded on the host, the bridge would otherwise
        // validate (and drop) malformed IPv4 headers the hostile-traffic tests send on purpose.
        for table in ["iptables", "ip6tables", "arptables"] {
            let _ = switch.sysctl(&format!("net.bridge.bridge-nf-call-{table}=0"));
        }
        let mut hosts = Vec::with_capacity(routers);
        for i in 1..=routers {
            let octet = 10 + i as u8;
            hosts.push(attach_host(
                make,
                &switch,
                &format!("r{i}"),
                Ipv4Addr::new(192, 0, 2, octet),
                Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10 + i as u16),
            )?);
        }
        let client = attach_host(
            make,
            &switch,
            "cl",
            Ipv4Addr::new(192, 0, 2, 100),
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100),
        )?;
        Ok(Segment {
            routers: hosts,
            client,
            switch,
        })
    }

    /// `count` more LANs joining the routers (not the client), for instances on several
    /// interfaces: LAN `k` is bridge `br<k>` in the switch, with `eth<k>` on every router (its
    /// switch port `r<i>e<k>`) holding 2001:db8:k::(10+i)/64 and its link-local address.
    pub fn add_lans(&self, count: usize) -> Result<()> {
        for k in 1..=count {
            let bridge = format!("br{k}");
            add_bridge(&self.switch, &bridge)?;
            for (index, router) in self.routers.iter().enumerate() {
                let ifname = format!("eth{k}");
                let port = format!("{}e{k}", router.port);
                link_to_bridge(&self.switch, &bridge, &port, &router.ns, &ifname)?;
                router.ns.run_ok([
                    "ip",
                    "addr",
                    "add",
                    &format!("2001:db8:{k}::{:x}/64", 0x10 + index + 1),
                    "dev",
                    &ifname,
                    "nodad",
                ])?;
                router.ns.run_ok(["ip", "link", "set", &ifname, "up"])?;
            }
        }
        Ok(())
    }

    /// Router `i`, 1-based as in the names.
    pub fn router(&self, i: usize) -> &Host {
        &self.routers[i - 1]
    }

    /// Takes a host's switch port down: the host loses carrier, as when a cable is cut.
    pub fn cut(&self, host: &Host) -> Result<()> {
        self.switch
            .run_ok(["ip", "link", "set", &host.port, "down"])
            .map(drop)
    }

    /// Brings a host's switch port back up.
    pub fn restore(&self, host: &Host) -> Result<()> {
        self.switch
            .run_ok(["ip", "link", "set", &host.port, "up"])
            .map(drop)
    }
}

fn attach_host(
    make: &dyn Fn(&str) -> Result<Netns>,
    switch: &Netns,
    role: &str,
    ipv4: Ipv4Addr,
    ipv6: Ipv6Addr,
) -> Result<Host> {
    let ns = make(role)?;
    let ifname = "eth0";
    let port = role.to_string();
    // No DAD: addresses (and later the IPv6 VIPs) are usable at once.
    ns.sysctl("net.ipv6.conf.all.accept_dad=0")?;
    ns.sysctl("net.ipv6.conf.default.accept_dad=0")?;
    link_to_bridge(switch, BRIDGE, &port, &ns, ifname)?;
    ns.run_ok(["ip", "addr", "add", &format!("{ipv4}/24"), "dev", ifname])?;
    ns.run_ok([
        "ip",
        "addr",
        "add",
        &format!("{ipv6}/64"),
        "dev",
        ifname,
        "nodad",
    ])?;
    ns.run_ok(["ip", "link", "set", ifname, "up"])?;
    Ok(Host {
        ns,
        ifname,
        port,
        ipv4,
        ipv6,
    })
}

/// A bridge in the switch namespace, up. No IGMP snooping: adverts to a non-link-local group
/// (the seed's 224.0.1.11) must be flooded like 224.0.0.18 is, without a querier.
fn add_bridge(switch: &Netns, name: &str) -> Result<()> {
    switch.run_ok(["ip", "link", "add", name, "type", "bridge"])?;
    switch.run_ok([
        "ip",
        "link",
        "set",
        name,
        "type",
        "bridge",
        "mcast_snooping",
        "0",
    ])?;
    // The switch only forwards: its bridge device keeps no IPv6 of its own, so it does not take
    // every flooded IPv6 multicast frame (each advert of an IPv6 instance) through its own
    // IPv6 receive as a host would. veth runs that in the sender's system call, so the scale
    // bench charged it to the master (about 9.5% of its samples at 1000 IPv6 instances), to
    // every implementation alike.
    switch.sysctl(&format!("net.ipv6.conf.{name}.disable_ipv6=1"))?;
    switch.run_ok(["ip", "link", "set", name, "up"]).map(drop)
}

/// A veth from switch port `port` on `bridge` to `ifname` in `ns` (left down, without DAD).
fn link_to_bridge(
    switch: &Netns,
    bridge: &str,
    port: &str,
    ns: &Netns,
    ifname: &str,
) -> Result<()> {
    switch.run_ok([
        "ip",
        "link",
        "add",
        port,
        "type",
        "veth",
        "peer",
        "name",
        ifname,
        "netns",
        ns.name(),
    ])?;
    switch.run_ok(["ip", "link", "set", port, "master", bridge, "up"])?;
    ns.sysctl(&format!("net.ipv6.conf.{ifname}.accept_dad=0"))
}

pub fn parse_mac(text: &str) -> Result<[u8; 6]> {
    let mut mac = [0u8; 6];
    let parts: Vec<&str> = text.split(':').collect();
    anyhow::ensure!(parts.len() == 6, "not a MAC address: {text:?}");
    for (byte, part) in mac.iter_mut().zip(parts) {
        *byte = u8::from_str_radix(part, 16)?;
    }
    Ok(mac)
}

/// Two namespaces joined by one veth pair, IPv6 off so that nothing but the test's own frames
/// crosses the link: for exact frame counts.
#[derive(Debug)]
pub struct VethPair {
    pub a: Netns,
    pub b: Netns,
}

impl VethPair {
    /// `veth0` in `a` and `veth1` in `b`, both up.
    pub fn new() -> Result<VethPair> {
        let a = Netns::new("a")?;
        let b = Netns::new("b")?;
        for ns in [&a, &b] {
            ns.sysctl("net.ipv6.conf.all.disable_ipv6=1")?;
            ns.sysctl("net.ipv6.conf.default.disable_ipv6=1")?;
        }
        a.run_ok([
            "ip",
            "link",
            "add",
            "veth0",
            "type",
            "veth",
            "peer",
            "name",
            "veth1",
            "netns",
            b.name(),
        ])?;
        a.run_ok(["ip", "link", "set", "veth0", "up"])?;
        b.run_ok(["ip", "link", "set", "veth1", "up"])?;
        Ok(VethPair { a, b })
    }
}
