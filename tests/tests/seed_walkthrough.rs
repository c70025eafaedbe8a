//! The seed walkthrough, live: DR1 (priority 100) and DR2 (priority 96) running vrrpd with the
//! seed's configurations in namespaces, a client on the same segment, and the wire captured on
//! the switch. Timing bounds are generous; the precise figures belong to `cargo xtask bench`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrp_harness::capture::Capture;
use vrrp_harness::daemons::{Vrrpd, localise, seed_config, write_chk_down, write_notify_recorder};
use vrrp_harness::pinger::Pinger;
use vrrp_harness::process::Scratch;
use vrrp_harness::topology::{BRIDGE, Segment};
use vrrp_harness::wait_until;
use vrrp_harness::wire;

const VIP1: &str = "192.0.2.99";
const VIP2: &str = "192.0.2.98";
const WAIT: Duration = Duration::from_secs(15);

struct Lab {
    segment: Segment,
    scratch: Scratch,
    dr1_config: String,
    dr2_config: String,
}

impl Lab {
    /// The seed's two directors; `dual` adds VI_2 (dual master); `track` makes VI_1 track
    /// chk_down (the tutorial's step 5).
    fn new(label: &str, dual: bool, track: bool) -> Lab {
        vrrp_harness::require_root();
        let segment = Segment::new(2).expect("segment");
        let scratch = Scratch::new(label).expect("scratch");
        write_chk_down(&scratch).expect("chk_down");
        let mut dr1 = seed_config("dr1-keepalived.conf", &scratch).expect("dr1");
        let mut dr2 = seed_config("dr2-keepalived.conf", &scratch).expect("dr2");
        if track {
            dr1 = dr1.replacen(
                "    virtual_ipaddress {",
                "    track_script {\n        chk_down\n    }\n    virtual_ipaddress {",
                1,
            );
        }
        if dual || track {
            let script = seed_config("dr1-dual-master-vi2.conf", &scratch).expect("vi2");
            if dual {
                dr1.push_str(&script);
            } else {
                dr1.push_str(&script[..script.find("vrrp_instance").expect("instance")]);
            }
        }
        if dual {
            dr2.push_str(&seed_config("dr2-dual-master-vi2.conf", &scratch).expect("vi2"));
        }
        Lab {
            segment,
            scratch,
            dr1_config: dr1,
            dr2_config: dr2,
        }
    }

    fn start_dr1(&self) -> Vrrpd {
        Vrrpd::start(
            self.segment.router(1),
            "dr1",
            &self.dr1_config,
            &self.scratch,
            &[],
        )
        .expect("dr1")
    }

    fn start_dr2(&self) -> Vrrpd {
        Vrrpd::start(
            self.segment.router(2),
            "dr2",
            &self.dr2_config,
            &self.scratch,
            &[],
        )
        .expect("dr2")
    }

    /// DR1 first, then DR2 once DR1 is master: the walkthrough's steady state.
    fn start_both(&self) -> (Vrrpd, Vrrpd) {
        let mut dr1 = self.start_dr1();
        dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
            .expect("DR1 master");
        let mut dr2 = self.start_dr2();
        dr2.wait_for("(VI_1) Entering BACKUP STATE", WAIT)
            .expect("DR2 backup");
        (dr1, dr2)
    }

    fn capture(&self) -> Capture {
        Capture::start(&self.segment.switch, BRIDGE, "", self.scratch.path()).expect("capture")
    }
}

fn dr1_ip() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11))
}

fn dr2_ip() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 12))
}

#[test]
fn dr1_is_master_with_the_labelled_vip_and_dr2_backs_it_up() {
    let _serial = vrrp_harness::serial();
    let lab = Lab::new("seed-steady", false, false);
    let capture = lab.capture();
    let (dr1, dr2) = lab.start_both();
    std::thread::sleep(Duration::from_millis(2500));
    let dr1_addresses = lab.segment.router(1).ipv4_addresses().expect("addresses");
    assert!(
        dr1_addresses.contains("inet 192.0.2.99/24") && dr1_addresses.contains("eth0:0"),
        "VIP with its label on DR1: {dr1_addresses}"
    );
    assert!(!lab.segment.router(2).has_address(VIP1), "VIP on DR1 only");
    assert_eq!(dr1.state_of("VI_1").expect("status"), "MASTER");
    assert_eq!(dr2.state_of("VI_1").expect("status"), "BACKUP");
    let adverts = wire::adverts(&capture.finish().expect("capture"));
    let from_dr1 = wire::from(&adverts, dr1_ip(), 51);
    assert!(
        from_dr1.len() >= 2,
        "DR1 advertises every second: {adverts:?}"
    );
    for advert in &from_dr1 {
        assert_eq!(
            advert.destination,
            IpAddr::V4(Ipv4Addr::new(224, 0, 1, 11)),
            "the seed's group"
        );
        assert_eq!(
            (advert.ttl, advert.priority, advert.interval_cs),
            (255, 100, 100)
        );
        assert!(advert.checksum_ok);
    }
    for pair in from_dr1.windows(2) {
        let gap = wire::seconds(pair[0].time_ns, pair[1].time_ns);
        assert!((0.9..1.1).contains(&gap), "1 s cadence, got {gap}");
    }
    let log = dr1.log();
    for line in [
        "(VI_1) Entering MASTER STATE",
        "(VI_1) setting VIPs.",
        "Sending gratuitous ARP on eth0 for 192.0.2.99",
    ] {
        assert!(log.contains(line), "keepalived wording {line:?} in:\n{log}");
    }
}

#[test]
fn stopping_dr1_hands_over_after_skew_time_and_dr1_preempts_on_return() {
    let _serial = vrrp_harness::serial();
    let lab = Lab::new("seed-stop", false, false);
    let (mut dr1, mut dr2) = lab.start_both();
    let capture = lab.capture();
    std::thread::sleep(Duration::from_millis(1200));
    let pinger = Pinger::start(
        &lab.segment.client.ns,
        VIP1.parse::<std::net::IpAddr>().expect("ip"),
        Duration::from_millis(10),
        Duration::from_secs(30),
    )
    .expect("pinger");
    std::thread::sleep(Duration::from_millis(500));
    let status = dr1
        .process
        .stop(libc::SIGTERM, Duration::from_secs(2))
        .expect("DR1 exits on SIGTERM");
    assert!(status.success(), "exit 0 on SIGTERM: {status}");
    dr2.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("DR2 takes over");
    wait_until("the VIP on DR2", WAIT, || {
        lab.segment.router(2).has_address(VIP1)
    });
    assert!(
        !lab.segment.router(1).has_address(VIP1),
        "DR1 removed its VIP at exit"
    );
    std::thread::sleep(Duration::from_millis(1500));
    let report = pinger.stop().expect("ping report");
    let frames = capture.finish().expect("capture");
    let adverts = wire::adverts(&frames);
    let resign = wire::from(&adverts, dr1_ip(), 51)
        .into_iter()
        .find(|a| a.priority == 0)
        .expect("DR1's priority-0 advert on the wire");
    let takeover = wire::from(&adverts, dr2_ip(), 51)
        .into_iter()
        .find(|a| a.time_ns > resign.time_ns)
        .expect("DR2's first advert");
    let handover = wire::seconds(resign.time_ns, takeover.time_ns);
    println!(
        "planned handover: priority 0 -> DR2's first advert in {handover:.4} s (Skew_Time 0.625 s)"
    );
    assert!(
        (0.6..=0.625 + 0.05).contains(&handover),
        "Skew_Time + 50 ms, got {handover}"
    );
    let dr2_mac = lab.segment.router(2).mac().expect("mac");
    let garps: Vec<_> = wire::garps(&frames)
        .into_iter()
        .filter(|g| g.source_mac == dr2_mac && g.address.to_string() == VIP1)
        .collect();
    assert!(!garps.is_empty(), "gratuitous ARPs from DR2 for the VIP");
    println!(
        "client gap across the handover: {:?} ({} of {} pings answered)",
        report.max_gap, report.received, report.sent
    );
    assert!(
        report.received > 0 && report.max_gap < Duration::from_secs(2),
        "the client keeps reaching the VIP"
    );
    // DR1 comes back and preempts.
    let mut dr1 = lab.start_dr1();
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("DR1 preempts");
    dr2.wait_for("(VI_1) Entering BACKUP STATE (higher priority 100", WAIT)
        .expect("DR2 steps down");
    wait_until("the VIP back on DR1", WAIT, || {
        lab.segment.router(1).has_address(VIP1) && !lab.segment.router(2).has_address(VIP1)
    });
}

#[test]
fn cutting_dr1s_link_fails_over_at_master_down_interval() {
    let _serial = vrrp_harness::serial();
    let lab = Lab::new("seed-cut", false, false);
    let (_dr1, mut dr2) = lab.start_both();
    let capture = lab.capture();
    std::thread::sleep(Duration::from_millis(1500));
    lab.segment.cut(lab.segment.router(1)).expect("cut");
    dr2.wait_for(
        "(VI_1) Entering MASTER STATE (master down timer expired)",
        WAIT,
    )
    .expect("takeover");
    std::thread::sleep(Duration::from_millis(300));
    let adverts = wire::adverts(&capture.finish().expect("capture"));
    let last = wire::from(&adverts, dr1_ip(), 51)
        .last()
        .cloned()
        .expect("DR1 advertised");
    let first = wire::from(&adverts, dr2_ip(), 51)
        .into_iter()
        .find(|a| a.time_ns > last.time_ns)
        .expect("DR2 advertised");
    let takeover = wire::seconds(last.time_ns, first.time_ns);
    println!(
        "crash failover: DR1's last advert -> DR2's first in {takeover:.4} s (Master_Down_Interval 3.625 s)"
    );
    assert!(
        (3.6..=3.625 + 0.1).contains(&takeover),
        "Master_Down_Interval, got {takeover}"
    );
    wait_until("the VIP on DR2", WAIT, || {
        lab.segment.router(2).has_address(VIP1)
    });
}

#[test]
fn chk_down_with_weight_minus_5_moves_the_vip_and_back() {
    let _serial = vrrp_harness::serial();
    let lab = Lab::new("seed-chk", false, true);
    let (mut dr1, mut dr2) = lab.start_both();
    let down = lab.scratch.join("down");
    std::fs::write(&down, "").expect("touch down");
    dr1.wait_for("Changing effective priority from 100 to 95", WAIT)
        .expect("DR1 lowers its priority");
    dr2.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("DR2 takes the VIP");
    wait_until("the VIP on DR2", WAIT, || {
        lab.segment.router(2).has_address(VIP1) && !lab.segment.router(1).has_address(VIP1)
    });
    std::fs::remove_file(&down).expect("rm down");
    dr1.wait_for("Changing effective priority from 95 to 100", WAIT)
        .expect("DR1 back to 100");
    wait_until("the VIP back on DR1", WAIT, || {
        lab.segment.router(1).has_address(VIP1) && !lab.segment.router(2).has_address(VIP1)
    });
    assert_eq!(dr1.state_of("VI_1").expect("status"), "MASTER");
}

#[test]
fn dual_master_each_router_owns_one_vip_and_takes_both_when_the_other_stops() {
    let _serial = vrrp_harness::serial();
    let lab = Lab::new("seed-dual", true, false);
    let (mut dr1, mut dr2) = lab.start_both();
    dr2.wait_for("(VI_2) Entering MASTER STATE", WAIT)
        .expect("DR2 masters VI_2");
    wait_until("one VIP each", WAIT, || {
        lab.segment.router(1).has_address(VIP1)
            && lab.segment.router(2).has_address(VIP2)
            && !lab.segment.router(1).has_address(VIP2)
            && !lab.segment.router(2).has_address(VIP1)
    });
    dr2.process
        .stop(libc::SIGTERM, Duration::from_secs(2))
        .expect("stop DR2");
    dr1.wait_for("(VI_2) Entering MASTER STATE", WAIT)
        .expect("DR1 takes VI_2");
    wait_until("both VIPs on DR1", WAIT, || {
        lab.segment.router(1).has_address(VIP1) && lab.segment.router(1).has_address(VIP2)
    });
    let mut dr2 = lab.start_dr2();
    dr2.wait_for("(VI_2) Entering MASTER STATE", WAIT)
        .expect("DR2 preempts VI_2");
    wait_until("VI_2 back on DR2", WAIT, || {
        lab.segment.router(2).has_address(VIP2) && !lab.segment.router(1).has_address(VIP2)
    });
    assert!(lab.segment.router(1).has_address(VIP1));
}

#[test]
fn notify_scripts_run_with_keepalived_arguments_in_order() {
    let _serial = vrrp_harness::serial();
    let lab = Lab::new("seed-notify", false, false);
    let master = write_notify_recorder(&lab.scratch, "on-master.sh").expect("script");
    let backup = write_notify_recorder(&lab.scratch, "on-backup.sh").expect("script");
    let any = write_notify_recorder(&lab.scratch, "on-any.sh").expect("script");
    let notify = format!(
        "    notify_master \"{} master\"\n    notify_backup \"{} backup\"\n    notify {}\n    virtual_ipaddress {{",
        master.display(),
        backup.display(),
        any.display()
    );
    let dr2_config = lab
        .dr2_config
        .replacen("    virtual_ipaddress {", &notify, 1);
    // The seed's own notify lines point at a directory: running them must fail cleanly.
    let broken = localise(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../vrrp-user/tests/fixtures/seed/notify-lines.conf"
        ))
        .expect("seed"),
        &lab.scratch,
    );
    let broken_lines: String = broken
        .lines()
        .filter(|l| l.starts_with("notify_"))
        .map(|l| format!("    {l}\n"))
        .collect();
    let dr1_config = lab.dr1_config.replacen(
        "    virtual_ipaddress {",
        &format!("{broken_lines}    virtual_ipaddress {{"),
        1,
    );
    let mut dr1 =
        Vrrpd::start(lab.segment.router(1), "dr1", &dr1_config, &lab.scratch, &[]).expect("dr1");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("DR1 master");
    dr1.wait_for("notify script for MASTER", WAIT)
        .expect("a clear error for the directory");
    assert!(dr1.log().contains("is a directory"), "{}", dr1.log());
    let mut dr2 =
        Vrrpd::start(lab.segment.router(2), "dr2", &dr2_config, &lab.scratch, &[]).expect("dr2");
    dr2.wait_for("(VI_1) Entering BACKUP STATE", WAIT)
        .expect("backup");
    dr1.process
        .stop(libc::SIGTERM, Duration::from_secs(2))
        .expect("stop DR1");
    dr2.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("DR2 master");
    let log = lab.scratch.join("notify.log");
    wait_until("four notify lines", WAIT, || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.lines().count() >= 4)
    });
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .expect("log")
        .lines()
        .map(str::to_string)
        .collect();
    // Each transition runs its specific script and `notify`, started together; transitions
    // come in order.
    let mut backup_lines = lines[..2].to_vec();
    let mut master_lines = lines[2..4].to_vec();
    backup_lines.sort();
    master_lines.sort();
    assert_eq!(
        backup_lines,
        vec!["on-any.sh INSTANCE VI_1 BACKUP 96", "on-backup.sh backup"],
        "{lines:?}"
    );
    assert_eq!(
        master_lines,
        vec!["on-any.sh INSTANCE VI_1 MASTER 96", "on-master.sh master"],
        "{lines:?}"
    );
}

#[test]
fn sighup_refuses_a_file_that_cannot_run_applies_fallbacks_and_keeps_unchanged_instances_in_their_state()
 {
    let _serial = vrrp_harness::serial();
    let lab = Lab::new("seed-reload", false, false);
    let (mut dr1, _dr2) = lab.start_both();
    let vi1_transitions = |d: &Vrrpd| d.log().matches("(VI_1) Entering").count();
    let before = vi1_transitions(&dr1);

    // A file that cannot run (a second instance on VI_1's VRID and interface): refused with its
    // location, the running configuration stays.
    let clash = "vrrp_instance VI_9 {\n    interface eth0\n    virtual_router_id 51\n}\n";
    let broken = format!("{}\n{clash}", lab.dr1_config);
    let line = broken
        .lines()
        .position(|l| l.contains("vrrp_instance VI_9"))
        .expect("the added line")
        + 1;
    std::fs::write(&dr1.config, &broken).expect("write");
    dr1.process.signal(libc::SIGHUP);
    dr1.wait_for("keeping the running configuration", WAIT)
        .expect("reload refused");
    let located = format!("{}:{line}:", dr1.config.display());
    assert!(
        dr1.log().contains(&located),
        "the error is located at {located}: {}",
        dr1.log()
    );
    assert_eq!(dr1.state_of("VI_1").expect("status"), "MASTER");
    assert!(lab.segment.router(1).has_address(VIP1), "VIP stays");

    // A bad value keepalived survives (priority 300: reported, the default 100 used): the file
    // is applied with the fallback logged at its location.
    let fallback = lab.dr1_config.replacen("priority 100", "priority 300", 1);
    let line = fallback
        .lines()
        .position(|l| l.contains("priority 300"))
        .expect("the edited line")
        + 1;
    let reloads = dr1.log().matches("Configuration reloaded").count();
    std::fs::write(&dr1.config, &fallback).expect("write");
    dr1.process.signal(libc::SIGHUP);
    wait_until("the reload with a fallback", WAIT, || {
        dr1.log().matches("Configuration reloaded").count() > reloads
    });
    let located = format!("{}:{line}:", dr1.config.display());
    assert!(
        dr1.log()
            .lines()
            .any(|l| l.contains(&located) && l.contains("ignored, as keepalived ignores it")),
        "the fallback is logged at {located}: {}",
        dr1.log()
    );
    assert_eq!(dr1.state_of("VI_1").expect("status"), "MASTER");

    // A good file that adds an instance: VI_1, unchanged, keeps its state with no transition.
    let added = format!(
        "{}\nvrrp_instance VI_3 {{\n    state BACKUP\n    interface eth0\n    \
         virtual_router_id 53\n    priority 90\n    advert_int 1\n    \
         virtual_ipaddress {{\n        192.0.2.97/24\n    }}\n}}\n",
        lab.dr1_config
    );
    std::fs::write(&dr1.config, added).expect("write");
    dr1.process.signal(libc::SIGHUP);
    dr1.wait_for("Configuration reloaded", WAIT)
        .expect("reloaded");
    wait_until("VI_3 running", WAIT, || dr1.state_of("VI_3").is_ok());
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(dr1.state_of("VI_1").expect("status"), "MASTER");
    assert_eq!(
        vi1_transitions(&dr1),
        before,
        "no VI_1 transition across the reloads: {}",
        dr1.log()
    );
    assert!(lab.segment.router(1).has_address(VIP1), "VIP stays");
}

#[test]
fn notify_fifo_lines_reach_the_fifo_script_and_the_fifo_goes_at_exit() {
    let _serial = vrrp_harness::serial();
    let lab = Lab::new("seed-fifo", false, false);
    let fifo = lab.scratch.join("vrrp.fifo");
    let received = lab.scratch.join("fifo.log");
    // keepalived starts the script with the FIFO's path as its argument.
    let reader = lab
        .scratch
        .write(
            "fifo-reader.sh",
            &format!("#!/bin/sh\ncat \"$1\" >> {}\n", received.display()),
        )
        .expect("script");
    vrrp_harness::daemons::make_executable(&reader).expect("chmod");
    let config = lab.dr1_config.replacen(
        "global_defs {",
        &format!(
            "global_defs {{\n   vrrp_notify_fifo {}\n   vrrp_notify_fifo_script {}",
            fifo.display(),
            reader.display()
        ),
        1,
    );
    let mut dr1 =
        Vrrpd::start(lab.segment.router(1), "dr1", &config, &lab.scratch, &[]).expect("dr1");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master");
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = std::fs::metadata(&fifo).expect("created").file_type();
        assert!(kind.is_fifo(), "vrrpd created the FIFO");
    }
    dr1.process
        .stop(libc::SIGTERM, Duration::from_secs(2))
        .expect("stop");
    wait_until("three FIFO lines", WAIT, || {
        std::fs::read_to_string(&received).is_ok_and(|t| t.lines().count() >= 3)
    });
    assert_eq!(
        std::fs::read_to_string(&received).expect("log"),
        "INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MASTER 100\nINSTANCE \"VI_1\" STOP 100\n"
    );
    assert!(!fifo.exists(), "the FIFO vrrpd made is removed at exit");
}
