//! Script command lines read as keepalived reads them (lib/notify.c): the keyword's first word,
//! or its quoted string, is the whole command line, split into arguments; a notify script's next
//! two words are the user and group it runs as; a `vrrp_script`'s `script` takes nothing more.
//! Each form runs live, and the recorder writes the argv it got and the uid/gid it ran as.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use vrrp_harness::daemons::{Vrrpd, make_executable};
use vrrp_harness::process::Scratch;
use vrrp_harness::topology::Segment;
use vrrp_harness::wait_until;

const WAIT: Duration = Duration::from_secs(20);
/// nobody and nogroup on Debian.
const NOBODY: u32 = 65534;
/// The recorder's copies, one per command-line form.
const SCRIPTS: [&str; 6] = [
    "master.sh",
    "backup.sh",
    "any.sh",
    "chk.sh",
    "chk2.sh",
    "fifo.sh",
];

#[test]
fn each_command_line_form_runs_with_keepalived_argv_and_user() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let scratch = Scratch::new("script-lines").expect("scratch");
    let dir = scratch.path().display().to_string();
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o777))
        .expect("chmod");
    let calls = scratch.write("calls.log", "").expect("log");
    std::fs::set_permissions(&calls, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    // One line per call: the script's name, who ran it, and each argument in brackets, written
    // whole in one write (scripts that run at once must not interleave their lines).
    let recorder = format!(
        "#!/bin/sh\nline=\"$(basename \"$0\") uid=$(id -u) gid=$(id -g)\"\nfor a in \"$@\"; do line=\"$line [$a]\"; done\nprintf '%s\\n' \"$line\" >> {dir}/calls.log\n"
    );
    for name in SCRIPTS {
        let path = scratch.write(name, &recorder).expect("script");
        make_executable(&path).expect("chmod");
    }
    let config = format!(
        "global_defs {{\n  vrrp_notify_fifo {dir}/fifo\n  vrrp_notify_fifo_script \"{dir}/fifo.sh\" nobody\n}}\n\
         vrrp_script chk_args {{\n  script \"{dir}/chk.sh one 'two words'\"\n  interval 1\n}}\n\
         vrrp_script chk_extra {{\n  script {dir}/chk2.sh ignored-word\n  interval 1\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n\
           notify_master \"{dir}/master.sh arg1 'two words'\" nobody\n\
           notify_backup {dir}/backup.sh nobody root\n\
           notify {dir}/any.sh\n\
           track_script {{\n    chk_args\n    chk_extra\n  }}\n\
           virtual_ipaddress {{\n    192.0.2.99/24 dev eth0\n  }}\n}}\n"
    );
    let segment = Segment::new(1).expect("segment");
    let mut daemon = Vrrpd::start(segment.router(1), "r1", &config, &scratch, &[]).expect("vrrpd");
    daemon
        .wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master");
    let read = || std::fs::read_to_string(&calls).unwrap_or_default();
    wait_until("every script to have run", WAIT, || {
        let text = read();
        SCRIPTS
            .iter()
            .all(|name| text.contains(&format!("{name} ")))
    });
    let text = read();
    let line_of = |name: &str| {
        text.lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        line_of("master.sh"),
        format!("master.sh uid={NOBODY} gid={NOBODY} [arg1] [two words]"),
        "the quoted line split into arguments, run as the user named after it:\n{text}"
    );
    assert_eq!(
        line_of("backup.sh"),
        format!("backup.sh uid={NOBODY} gid=0"),
        "user and group after the command:\n{text}"
    );
    assert!(
        line_of("any.sh").starts_with("any.sh uid=0 gid=0 [INSTANCE] [VI_1] ["),
        "notify: root (no script_user), keepalived's four arguments:\n{text}"
    );
    assert_eq!(
        line_of("chk.sh"),
        "chk.sh uid=0 gid=0 [one] [two words]",
        "{text}"
    );
    assert_eq!(
        line_of("chk2.sh"),
        "chk2.sh uid=0 gid=0",
        "a word after an unquoted script is not an argument:\n{text}"
    );
    assert_eq!(
        line_of("fifo.sh"),
        format!("fifo.sh uid={NOBODY} gid={NOBODY} [{dir}/fifo]"),
        "{text}"
    );
    assert!(
        daemon
            .log()
            .contains("'ignored-word' ignored, as keepalived ignores it"),
        "{}",
        daemon.log()
    );
}
