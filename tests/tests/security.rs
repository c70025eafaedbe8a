//! Security: scripts run as `script_user`; `enable_script_security` refuses scripts others can
//! write; configuration values reach notify scripts as arguments, never as shell text; a
//! configuration file writable by others is warned about. (The control socket's owner and mode
//! are checked in the operability tests; PASS comparison in constant time in vrrp-common.)

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use vrrp_harness::daemons::{Vrrpd, make_executable, seed_config};
use vrrp_harness::process::Scratch;
use vrrp_harness::topology::Segment;

const WAIT: Duration = Duration::from_secs(20);

fn wait_for_file(path: &std::path::Path) -> String {
    let started = std::time::Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.is_empty()
        {
            return text;
        }
        assert!(started.elapsed() < WAIT, "{} never written", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The seed's DR1 with `global` lines added to global_defs and `instance` lines to VI_1.
fn dr1_with(scratch: &Scratch, global: &str, instance: &str) -> String {
    seed_config("dr1-keepalived.conf", scratch)
        .expect("dr1")
        .replacen("global_defs {", &format!("global_defs {{\n{global}"), 1)
        .replacen(
            "    virtual_ipaddress {",
            &format!("{instance}\n    virtual_ipaddress {{"),
            1,
        )
}

#[test]
fn scripts_run_as_script_user() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let scratch = Scratch::new("security-user").expect("scratch");
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o777))
        .expect("chmod");
    let whoami = scratch
        .write(
            "whoami.sh",
            &format!("#!/bin/sh\nid -u > {}/uid\n", scratch.path().display()),
        )
        .expect("script");
    make_executable(&whoami).expect("chmod");
    let config = dr1_with(
        &scratch,
        "   script_user nobody",
        &format!("    notify_master {}", whoami.display()),
    );
    let segment = Segment::new(1).expect("segment");
    let mut dr1 = Vrrpd::start(segment.router(1), "dr1", &config, &scratch, &[]).expect("dr1");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master");
    assert_eq!(
        wait_for_file(&scratch.join("uid")).trim(),
        "65534",
        "ran as nobody"
    );
}

#[test]
fn script_security_refuses_a_script_others_can_write() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let scratch = Scratch::new("security-writable").expect("scratch");
    let check = scratch
        .write("check.sh", "#!/bin/sh\nexit 0\n")
        .expect("script");
    std::fs::set_permissions(&check, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let config = dr1_with(
        &scratch,
        "   enable_script_security",
        "    track_script {\n        check\n    }",
    )
    .replacen(
        "vrrp_instance VI_1 {",
        &format!(
            "vrrp_script check {{\n    script \"{}\"\n    weight -10\n}}\nvrrp_instance VI_1 {{",
            check.display()
        ),
        1,
    );
    let segment = Segment::new(1).expect("segment");
    let mut dr1 = Vrrpd::start(segment.router(1), "dr1", &config, &scratch, &[]).expect("dr1");
    dr1.wait_for(
        "is writable by a non-root user (enable_script_security)",
        WAIT,
    )
    .expect("refused");
    dr1.wait_for("(VI_1) Changing effective priority from 100 to 90", WAIT)
        .expect("counted as a failure");
}

#[test]
fn configuration_values_never_reach_a_shell_as_code() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let scratch = Scratch::new("security-injection").expect("scratch");
    let record = scratch
        .write(
            "record.sh",
            &format!(
                "#!/bin/sh\nprintf '%s|' \"$@\" >> {}/args\n",
                scratch.path().display()
            ),
        )
        .expect("script");
    make_executable(&record).expect("chmod");
    let pwned = scratch.join("pwned");
    let name = format!("VI $(touch {})", pwned.display());
    // The command line has shell syntax (a redirection), so it runs through sh -c; the instance
    // name must arrive as an argument, not as shell text.
    let config = seed_config("dr1-keepalived.conf", &scratch)
        .expect("dr1")
        .replacen(
            "vrrp_instance VI_1 {",
            &format!("vrrp_instance \"{name}\" {{"),
            1,
        )
        .replacen(
            "    virtual_ipaddress {",
            &format!(
                "    notify \"{} 2>/dev/null\"\n    virtual_ipaddress {{",
                record.display()
            ),
            1,
        );
    let segment = Segment::new(1).expect("segment");
    let mut dr1 = Vrrpd::start(segment.router(1), "dr1", &config, &scratch, &[]).expect("dr1");
    dr1.wait_for("Entering MASTER STATE", WAIT).expect("master");
    let args = wait_for_file(&scratch.join("args"));
    assert!(
        args.contains(&format!("INSTANCE|{name}|")),
        "the name arrives verbatim as one argument: {args}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(!pwned.exists(), "nothing in the name was executed");
}

#[test]
fn a_configuration_file_writable_by_others_is_warned_about() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let scratch = Scratch::new("security-config").expect("scratch");
    let segment = Segment::new(1).expect("segment");
    let config = seed_config("dr1-keepalived.conf", &scratch).expect("dr1");
    let mut dr1 = Vrrpd::start(segment.router(1), "dr1", &config, &scratch, &[]).expect("dr1");
    dr1.wait_for("Entering BACKUP STATE", WAIT)
        .expect("started");
    assert!(!dr1.log().contains("writable by group or others"));
    dr1.process
        .stop(libc::SIGTERM, Duration::from_secs(2))
        .expect("stop");
    std::fs::set_permissions(&dr1.config, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let mut again = Vrrpd::start(
        segment.router(1),
        "dr1-again",
        &std::fs::read_to_string(&dr1.config).expect("read"),
        &scratch,
        &[],
    )
    .expect("dr1");
    again
        .wait_for("Entering BACKUP STATE", WAIT)
        .expect("started");
    std::fs::set_permissions(&again.config, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    again.process.signal(libc::SIGHUP);
    again
        .wait_for("is writable by group or others", WAIT)
        .expect("warned");
}
