//! One scenario run under vrrpd and under keepalived 2.2.7, for tests that compare what the two
//! write to their notify FIFO and which scripts they run: a one-router segment, the FIFO read
//! into `fifo.log` by `fifo-reader.sh`, and `record.sh`, a script that appends "record ARGS"
//! to `scripts.log`.

use std::path::PathBuf;
use std::time::Duration;

use crate::daemons::{Keepalived, Vrrpd, make_executable};
use crate::process::{Scratch, Spawned};
use crate::topology::Segment;
use crate::wait_until;

const WAIT: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implementation {
    Vrrpd,
    Keepalived,
}

/// One daemon on a one-router segment, with the notify FIFO read into `fifo.log` and a script
/// `record.sh` that appends its name and arguments to `scripts.log`.
pub struct Run {
    pub segment: Segment,
    pub scratch: Scratch,
    pub process: Spawned,
    label: &'static str,
}

impl Run {
    /// `config` is given the scratch folder, where the FIFO, the reader and `record.sh` live.
    pub fn start(
        implementation: Implementation,
        scenario: &str,
        config: impl Fn(&str) -> String,
    ) -> Run {
        Run::start_after(implementation, scenario, |_| {}, config)
    }

    /// As [`Run::start`], with `prepare` run on the segment before the daemon starts (an
    /// interface the file tracks, say).
    pub fn start_after(
        implementation: Implementation,
        scenario: &str,
        prepare: impl FnOnce(&Segment),
        config: impl Fn(&str) -> String,
    ) -> Run {
        let segment = Segment::new(1).expect("segment");
        prepare(&segment);
        let scratch = Scratch::new(&format!("{scenario}-{implementation:?}")).expect("scratch");
        let folder = scratch.path().display().to_string();
        for (name, body) in [
            ("fifo-reader.sh", format!("cat \"$1\" >> {folder}/fifo.log")),
            (
                "record.sh",
                format!("echo \"record $*\" >> {folder}/scripts.log"),
            ),
        ] {
            let script = scratch
                .write(name, &format!("#!/bin/sh\n{body}\n"))
                .expect("script");
            make_executable(&script).expect("chmod");
        }
        std::fs::write(scratch.join("offset"), "0\n").expect("offset");
        let label = "daemon";
        let text = config(&folder);
        let router = segment.router(1);
        let process = Daemon::start(implementation, router, label, &text, &scratch, &[])
            .expect("the daemon")
            .into_process();
        Run {
            segment,
            scratch,
            process,
            label,
        }
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.scratch.join(name)).unwrap_or_default()
    }

    pub fn fifo_has(&self, needle: &str) {
        wait_until(needle, WAIT, || self.read("fifo.log").contains(needle));
    }

    pub fn reload(&mut self, text: &str) {
        let path: PathBuf = self.scratch.join(&format!("{}.conf", self.label));
        std::fs::write(path, text).expect("write");
        self.process.signal(libc::SIGHUP);
    }

    /// Stops the daemon; its FIFO lines without the start-up and stop ones (BACKUP, STOP), and
    /// what the scripts recorded.
    pub fn finish(mut self) -> (Vec<String>, String) {
        let _ = self.process.stop(libc::SIGTERM, Duration::from_secs(5));
        let lines = self
            .read("fifo.log")
            .lines()
            .filter(|l| !l.contains(" STOP ") && !l.contains("\" BACKUP "))
            .map(str::to_string)
            .collect();
        (lines, self.read("scripts.log"))
    }
}

/// A sync group of an IPv4 VRRPv2 and an IPv6 VRRPv3 instance, with tracked interfaces
/// (`trk0`, from [`add_tracked_link`]), scripts and files (from [`prepare_tracking`]) on the
/// members and on the group, weighted ones among them (which a sync group without
/// sync_group_tracking_weight ignores or drops, as keepalived does), notify scripts and mail
/// settings: the second configuration the monitoring tests compare keepalived and vrrpd on.
/// `global_lines` go into global_defs.
pub fn sync_group_with_ipv6_and_tracking(folder: &str, global_lines: &str) -> String {
    format!(
        "global_defs {{\n   router_id DR1\n{global_lines}   notification_email {{\n     \
         ops@example.org\n   }}\n   notification_email_from vrrp@example.org\n}}\n\
         vrrp_script chk {{\n  script \"{folder}/check.sh\"\n  interval 1\n  rise 2\n  fall 3\n}}\n\
         vrrp_track_file tf {{\n  file {folder}/track.file\n  weight 0\n}}\n\
         vrrp_sync_group G1 {{\n  group {{\n    VI_4\n    VI_6\n  }}\n  \
         notify_master \"{folder}/check.sh group master\"\n  notify \"{folder}/check.sh\"\n  \
         track_interface {{\n    trk0\n  }}\n}}\n\
         vrrp_instance VI_4 {{\n  interface eth0\n  virtual_router_id 52\n  priority 150\n  \
         advert_int 1\n  virtual_ipaddress {{\n    192.0.2.50/24 brd 192.0.2.255 scope global\n    \
         192.0.2.51/32\n  }}\n  track_interface {{\n    trk0 weight -20\n  }}\n  \
         track_script {{\n    chk weight 7 reverse\n  }}\n  track_file {{\n    tf weight -3\n  }}\n  \
         notify_backup \"{folder}/check.sh backup\"\n  \
         garp_master_delay 2\n}}\n\
         vrrp_instance VI_6 {{\n  interface eth0\n  virtual_router_id 53\n  priority 120\n  \
         version 3\n  advert_int 0.5\n  virtual_ipaddress {{\n    2001:db8::50/64\n  }}\n  \
         virtual_ipaddress_excluded {{\n    2001:db8::51/64\n  }}\n  track_script {{\n    chk\n  }}\n}}\n"
    )
}

/// `trk0`, the interface [`sync_group_with_ipv6_and_tracking`] tracks: one end of a veth pair in
/// `host`'s namespace, both ends up.
pub fn add_tracked_link(host: &crate::topology::Host) {
    host.ns
        .run_ok([
            "ip", "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
        ])
        .expect("trk0");
    for link in ["trk0", "trk1"] {
        host.ns
            .run_ok(["ip", "link", "set", link, "up"])
            .expect("up");
    }
}

/// `check.sh` (always succeeds) and `track.file` (0) in `scratch`; returns the folder.
pub fn prepare_tracking(scratch: &Scratch) -> String {
    let check = scratch
        .write("check.sh", "#!/bin/sh\nexit 0\n")
        .expect("script");
    make_executable(&check).expect("chmod");
    scratch.write("track.file", "0\n").expect("track file");
    scratch.path().display().to_string()
}

/// keepalived or vrrpd, started the same way, for the tests that run one file under each.
pub enum Daemon {
    Keepalived(Keepalived),
    Vrrpd(Vrrpd),
}

impl Daemon {
    /// Starts `implementation` on `host` with `config` (`extra`: vrrpd's command line).
    pub fn start(
        implementation: Implementation,
        host: &crate::topology::Host,
        label: &str,
        config: &str,
        scratch: &Scratch,
        extra: &[&str],
    ) -> anyhow::Result<Daemon> {
        Ok(match implementation {
            Implementation::Keepalived => {
                Daemon::Keepalived(Keepalived::start(host, label, config, scratch)?)
            }
            Implementation::Vrrpd => {
                Daemon::Vrrpd(Vrrpd::start(host, label, config, scratch, extra)?)
            }
        })
    }

    fn into_process(self) -> Spawned {
        match self {
            Daemon::Keepalived(daemon) => daemon.process,
            Daemon::Vrrpd(daemon) => daemon.process,
        }
    }

    fn process(&mut self) -> &mut Spawned {
        match self {
            Daemon::Keepalived(daemon) => &mut daemon.process,
            Daemon::Vrrpd(daemon) => &mut daemon.process,
        }
    }

    /// Waits until the log says `needle`.
    pub fn wait_for(&mut self, needle: &str) {
        self.process().wait_for_log(needle, WAIT).expect(needle);
    }

    /// Waits until every instance of `names` is master.
    pub fn wait_for_masters(&mut self, names: &[&str]) {
        for name in names {
            self.wait_for(&format!("({name}) Entering MASTER STATE"));
        }
    }

    pub fn log(&mut self) -> String {
        self.process().log()
    }

    /// Sends `signal` where the daemon serves it (keepalived: its VRRP child).
    pub fn signal(&mut self, signal: i32) {
        match self {
            Daemon::Keepalived(daemon) => daemon.signal_vrrp_child(signal),
            Daemon::Vrrpd(daemon) => daemon.process.signal(signal),
        }
    }

    /// Stops it (SIGTERM) and gives the peers a moment to notice.
    pub fn stop(mut self) {
        let _ = self.process().stop(libc::SIGTERM, Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(500));
    }
}
