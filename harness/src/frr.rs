//! FRR's VRRP daemon (Debian `frr`) as a third implementation on the segment: one zebra and one
//! vrrpd per namespace, each with its own run directory (`-N`, /run/frr/NAMESPACE/) and no TCP
//! vty (`-P 0`), both in the foreground with their log in the scratch directory.
//!
//! What FRR needs around it (checked against FRR 8.4): VRRPv3 only, group 224.0.0.18, no
//! authentication, priorities 1-254, intervals a multiple of 10 ms; the virtual addresses of each
//! family live on a macvlan in bridge mode with that family's virtual MAC (00:00:5e:00:01:VRID,
//! 00:00:5e:00:02:VRID), which FRR finds by its parent and MAC and keeps in protodown while it
//! is not master. The IPv6 one needs a link-local address of its own (addrgenmode random).
//! arp_ignore / arp_announce keep the parent interface from answering ARP for the address while
//! FRR is backup.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use vrrp_common::wire::Family;
use vrrp_common::wire::ethernet::virtual_mac;

use crate::process::{Scratch, Spawned};
use crate::topology::Host;

/// One VRRP instance as FRR is told it.
#[derive(Clone, Debug)]
pub struct FrrInstance {
    /// The interface the instance runs on (the macvlans' parent).
    pub interface: String,
    pub vrid: u8,
    pub priority: u8,
    /// The virtual addresses with their prefix lengths, e.g. "192.0.2.99/24", of either family
    /// (FRR runs a virtual router per family under one VRID).
    pub addresses: Vec<String>,
    pub interval_ms: u32,
}

/// The family of an address as the harness writes it ("192.0.2.99/24", "2001:db8::99/64").
fn family_of(address: &str) -> Family {
    if address.contains(':') {
        Family::Ipv6
    } else {
        Family::Ipv4
    }
}

impl FrrInstance {
    /// The macvlan this instance's `family` side has (unique per parent interface and VRID).
    pub fn macvlan(&self, family: Family) -> String {
        format!("vrrp{}-{}-{}", family as u8, self.interface, self.vrid)
    }

    /// The families the instance has addresses of.
    fn families(&self) -> Vec<Family> {
        [Family::Ipv4, Family::Ipv6]
            .into_iter()
            .filter(|family| self.addresses.iter().any(|a| family_of(a) == *family))
            .collect()
    }
}

/// zebra and vrrpd running in a router's namespace.
#[derive(Debug)]
pub struct Frr {
    namespace: String,
    interface: &'static str,
    zebra: Spawned,
    vrrpd: Option<Spawned>,
    /// The instances vrrpd runs: those it started with, as [`Frr::reconfigure`] changed them.
    instances: Vec<FrrInstance>,
    config: PathBuf,
    log: PathBuf,
}

const ZEBRA: &str = "/usr/lib/frr/zebra";
const VRRPD: &str = "/usr/lib/frr/vrrpd";

impl Frr {
    /// Prepares the macvlans and sysctls FRR needs on `host`, starts zebra, waits for its API
    /// socket, then starts vrrpd with `instances`.
    pub fn start(
        host: &Host,
        label: &str,
        instances: &[FrrInstance],
        scratch: &Scratch,
    ) -> Result<Frr> {
        let mut frr = Frr::prepare(host, label, instances, scratch)?;
        frr.start_vrrpd(host, instances)?;
        Ok(frr)
    }

    /// Everything but vrrpd: the instances' macvlans and zebra, running (a start-up timed from
    /// vrrpd's own start follows with [`Frr::start_vrrpd`]).
    pub fn prepare(
        host: &Host,
        label: &str,
        instances: &[FrrInstance],
        scratch: &Scratch,
    ) -> Result<Frr> {
        let ns = &host.ns;
        for key in [
            "net.ipv4.conf.all.arp_ignore=1",
            "net.ipv4.conf.all.arp_announce=2",
        ] {
            ns.sysctl(key)?;
        }
        if instances
            .iter()
            .any(|instance| instance.families().contains(&Family::Ipv6))
        {
            // The IPv6 macvlans' link-local addresses are usable at once, not after DAD; and
            // a router takes no addresses from the router advertisements FRR's IPv6 masters
            // send (the other router's, and its own macvlans' from its parent interface).
            // (`all` does not reach the parents, which exist already: each is set itself.)
            let mut parents: Vec<&str> = instances.iter().map(|i| i.interface.as_str()).collect();
            parents.sort_unstable();
            parents.dedup();
            let parents = parents
                .into_iter()
                .map(|parent| format!("net.ipv6.conf.{parent}.accept_ra=0"));
            for key in [
                "net.ipv6.conf.all.accept_dad=0".to_string(),
                "net.ipv6.conf.default.accept_dad=0".to_string(),
                "net.ipv6.conf.default.accept_ra=0".to_string(),
            ]
            .into_iter()
            .chain(parents)
            {
                ns.sysctl(&key)?;
            }
        }
        // One `ip -batch` for every macvlan: hundreds of them at the scale scenario's size.
        let mut batch = String::new();
        for instance in instances {
            for family in instance.families() {
                let macvlan = instance.macvlan(family);
                let mac = virtual_mac(family, instance.vrid)
                    .map(|byte| format!("{byte:02x}"))
                    .join(":");
                batch.push_str(&format!(
                    "link add {macvlan} link {} type macvlan mode bridge\n",
                    instance.interface
                ));
                // iproute2 refuses addrgenmode in `link add`: set it while the link is down.
                batch.push_str(&format!(
                    "link set {macvlan} address {mac} addrgenmode random\n"
                ));
                for address in instance.addresses.iter().filter(|a| family_of(a) == family) {
                    batch.push_str(&format!("addr add {address} dev {macvlan}\n"));
                }
                batch.push_str(&format!("link set {macvlan} up\n"));
            }
        }
        let batch_file = scratch.write(&format!("{label}-macvlans.batch"), &batch)?;
        ns.run_ok(["ip", "-batch", &batch_file.display().to_string()])?;
        // The daemons drop to user frr: their files must be readable by it.
        let zebra_config = scratch.write(&format!("{label}-zebra.conf"), "")?;
        let config = scratch.join(&format!("{label}-vrrpd.conf"));
        readable_by_all(scratch.path())?;
        readable_by_all(&zebra_config)?;
        let log = scratch.join(&format!("{label}.log"));
        let namespace = ns.name().to_string();
        let zebra = Spawned::start(
            ns,
            &daemon_argv(ZEBRA, &namespace, &zebra_config.display().to_string()),
            &log,
        )?;
        let api = PathBuf::from(format!("/run/frr/{namespace}/zserv.api"));
        crate::wait_until("zebra's API socket", Duration::from_secs(10), || {
            api.exists()
        });
        Ok(Frr {
            namespace,
            interface: host.ifname,
            zebra,
            vrrpd: None,
            instances: Vec::new(),
            config,
            log,
        })
    }

    /// Writes vrrpd's configuration for `instances` and starts it: at first, and again after
    /// [`Frr::stop_vrrpd`] (zebra keeps running, as when an operator restarts only vrrpd).
    pub fn start_vrrpd(&mut self, host: &Host, instances: &[FrrInstance]) -> Result<()> {
        let mut config = String::new();
        for instance in instances {
            let vrid = instance.vrid;
            config.push_str(&format!(
                "interface {}\n vrrp {vrid} version 3\n vrrp {vrid} priority {}\n vrrp {vrid} \
                 advertisement-interval {}\n vrrp {vrid} preempt\n",
                instance.interface, instance.priority, instance.interval_ms
            ));
            for address in &instance.addresses {
                config.push_str(&format!(" {}\n", address_line(vrid, address)));
            }
        }
        std::fs::write(&self.config, config)?;
        readable_by_all(&self.config)?;
        let argv = daemon_argv(VRRPD, &self.namespace, &self.config.display().to_string());
        self.vrrpd = Some(Spawned::start(&host.ns, &argv, &self.log)?);
        self.instances = instances.to_vec();
        Ok(())
    }

    /// Changes the running instances to `wanted` as an operator changes FRR: through vtysh,
    /// each change applied to the running virtual router (a new priority, a new advertisement
    /// interval, an address added or removed). An added address also goes onto the family's
    /// macvlan, which FRR expects to carry it (FRR adds no addresses itself). The instances
    /// themselves must stay the same ones (interface and VRID), and an added address needs
    /// its family's macvlan: anything else is an error.
    pub fn reconfigure(&mut self, host: &Host, wanted: &[FrrInstance]) -> Result<()> {
        anyhow::ensure!(
            wanted.len() == self.instances.len(),
            "FRR: instances added or removed are not applied at run time"
        );
        for new in wanted {
            let old = self
                .instances
                .iter()
                .find(|old| old.interface == new.interface && old.vrid == new.vrid)
                .with_context(|| format!("FRR runs no VRID {} on {}", new.vrid, new.interface))?;
            let vrid = new.vrid;
            let mut lines = Vec::new();
            if new.priority != old.priority {
                lines.push(format!("vrrp {vrid} priority {}", new.priority));
            }
            if new.interval_ms != old.interval_ms {
                lines.push(format!(
                    "vrrp {vrid} advertisement-interval {}",
                    new.interval_ms
                ));
            }
            let added = new.addresses.iter().filter(|a| !old.addresses.contains(a));
            let removed: Vec<&String> = old
                .addresses
                .iter()
                .filter(|a| !new.addresses.contains(a))
                .collect();
            for address in added {
                let family = family_of(address);
                anyhow::ensure!(
                    old.families().contains(&family),
                    "FRR: VRID {vrid} has no macvlan for {address}"
                );
                host.ns
                    .run_ok(["ip", "addr", "add", address, "dev", &old.macvlan(family)])?;
                lines.push(address_line(vrid, address));
            }
            for address in &removed {
                lines.push(format!("no {}", address_line(vrid, address)));
            }
            if !lines.is_empty() {
                self.configure(&new.interface, &lines)?;
            }
            // FRR lets go of a removed address first; then it leaves the macvlan.
            for address in removed {
                let macvlan = old.macvlan(family_of(address));
                host.ns
                    .run_ok(["ip", "addr", "del", address, "dev", &macvlan])?;
            }
        }
        self.instances = wanted.to_vec();
        Ok(())
    }

    /// `lines` in vtysh's configuration mode of `interface`.
    fn configure(&self, interface: &str, lines: &[String]) -> Result<()> {
        let mut commands = vec![
            "configure terminal".to_string(),
            format!("interface {interface}"),
        ];
        commands.extend_from_slice(lines);
        let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
        self.vtysh(&commands).map(drop)
    }

    /// Stops vrrpd with `signal` (SIGTERM: FRR's own shutdown; SIGKILL: a crash).
    pub fn stop_vrrpd(&mut self, signal: i32) -> Result<()> {
        if let Some(mut vrrpd) = self.vrrpd.take() {
            vrrpd.stop(signal, Duration::from_secs(5))?;
        }
        Ok(())
    }

    /// The running vrrpd process (None between [`Frr::stop_vrrpd`] and
    /// [`Frr::start_vrrpd`]).
    pub fn vrrpd_process(&mut self) -> Option<&mut Spawned> {
        self.vrrpd.as_mut()
    }

    pub fn vrrpd_pid(&self) -> Option<i32> {
        self.vrrpd.as_ref().map(Spawned::pid)
    }

    pub fn vrrpd_running(&mut self) -> bool {
        self.vrrpd.as_mut().is_some_and(Spawned::is_running)
    }

    /// Runs vtysh commands against this namespace's daemons.
    fn vtysh(&self, commands: &[&str]) -> Result<String> {
        let mut command = std::process::Command::new("vtysh");
        command.args(["-N", &self.namespace]);
        for line in commands {
            command.args(["-c", line]);
        }
        let output = command.output().context("vtysh")?;
        anyhow::ensure!(
            output.status.success(),
            "vtysh {commands:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Changes an instance's priority at run time (FRR has no tracking scripts; this is how a
    /// tracked failure reaches its election).
    pub fn set_priority(&self, vrid: u8, priority: u8) -> Result<()> {
        self.configure(
            self.interface,
            &[format!("vrrp {vrid} priority {priority}")],
        )
    }

    /// FRR's state of a VRID's IPv4 side: "Initialize", "Backup" or "Master".
    pub fn state(&self, vrid: u8) -> Result<String> {
        let text = self.vtysh(&[&format!("show vrrp {vrid} json")])?;
        let json: serde_json::Value = serde_json::from_str(&text)?;
        Ok(json[0]["v4"]["status"]
            .as_str()
            .context("no v4 status")?
            .to_string())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// vrrpd's configuration file (written by [`Frr::start_vrrpd`]).
    pub fn config_path(&self) -> &std::path::Path {
        &self.config
    }

    /// The log zebra and vrrpd share.
    pub fn log_path(&self) -> &std::path::Path {
        &self.log
    }

    /// zebra, which FRR's vrrpd needs running (it owns the interfaces and the protodown).
    pub fn zebra_pid(&self) -> i32 {
        self.zebra.pid()
    }
}

/// Whether `host` carries `instance`'s IPv4 addresses where clients reach them: FRR's macvlan is
/// up and out of protodown (FRR keeps the addresses configured on it in every state).
pub fn serves(host: &Host, instance: &FrrInstance) -> bool {
    host.ns
        .run_ok([
            "ip",
            "-d",
            "link",
            "show",
            "dev",
            &instance.macvlan(Family::Ipv4),
        ])
        .is_ok_and(|text| {
            text.contains(",UP") && !text.contains("protodown on") && text.contains("LOWER_UP")
        })
}

/// FRR's line for a virtual address of `vrid` ("vrrp 51 ip 192.0.2.99"): the address without
/// its prefix length, under its family's keyword.
fn address_line(vrid: u8, address: &str) -> String {
    let keyword = match family_of(address) {
        Family::Ipv4 => "ip",
        Family::Ipv6 => "ipv6",
    };
    let bare = address.split('/').next().unwrap_or_default();
    format!("vrrp {vrid} {keyword} {bare}")
}

fn readable_by_all(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", path.display()))
}

fn daemon_argv(program: &str, namespace: &str, config: &str) -> Vec<String> {
    [
        program, "-N", namespace, "-P", "0", "-f", config, "--log", "stdout",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl Drop for Frr {
    fn drop(&mut self) {
        self.vrrpd = None;
        let _ = self.zebra.stop(libc::SIGTERM, Duration::from_secs(3));
        let _ = std::fs::remove_dir_all(format!("/run/frr/{}", self.namespace));
    }
}
