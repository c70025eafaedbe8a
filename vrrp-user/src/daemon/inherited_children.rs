//! Children an earlier image of this process left running. `vrrpd upgrade` (and its safe
//! restart) exec the new binary in the same process, so the notify and tracking scripts still
//! at work at that moment, and the FIFO readers on their way out, become the new image's
//! children. No `tokio::process::Child` of the new image stands for them: unwaited, each would
//! stay a zombie once it ends. (keepalived restarts rather than exec'ing, so it never inherits
//! a child.)

use std::time::Duration;

use tracing::{debug, warn};

/// The stack of a thread that only waits for one child.
const REAPER_STACK_BYTES: usize = 64 * 1024;

/// Reaps, each as it ends, every child this process already has, but `keep` (the stand-in,
/// which its owner stops and reaps). Called at start-up, before this image starts a child of
/// its own. Returns the children it waits for.
pub fn reap_in_background(keep: Option<libc::pid_t>) -> Vec<libc::pid_t> {
    let own = std::process::id() as libc::pid_t;
    let children: Vec<libc::pid_t> = children_of(own)
        .into_iter()
        .filter(|pid| Some(*pid) != keep)
        .collect();
    for &pid in &children {
        reap_when_it_ends(pid);
    }
    if !children.is_empty() {
        debug!("waiting for the processes the previous image left running: {children:?}");
    }
    children
}

/// Reaps child `pid` when it ends, from a detached thread of its own: a child that never ends
/// holds only that thread, and the daemon's exit never waits for it.
fn reap_when_it_ends(pid: libc::pid_t) {
    let spawned = std::thread::Builder::new()
        .name("vrrpd-reaper".into())
        .stack_size(REAPER_STACK_BYTES)
        .spawn(move || reap(pid));
    if let Err(error) = spawned {
        warn!("cannot wait for process {pid}, left by the previous image: {error}");
    }
}

/// Waits for child `pid` to end and reaps it.
fn reap(pid: libc::pid_t) {
    loop {
        // SAFETY: waiting for a child of this process; no status is read.
        let rc = unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        if rc == pid {
            debug!("process {pid}, left by the previous image, ended");
            return;
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The processes whose parent is `parent`, from /proc (their /proc/PID/stat's fourth field).
fn children_of(parent: libc::pid_t) -> Vec<libc::pid_t> {
    crate::host::process_ids()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| parent_in_stat(&stat))
                == Some(parent)
        })
        .collect()
}

/// The parent PID in a /proc/PID/stat line. The command name in parentheses may hold spaces
/// and parentheses, so the fields are counted after its last closing parenthesis: state, then
/// the parent.
fn parent_in_stat(stat: &str) -> Option<libc::pid_t> {
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_is_read_after_the_command_name_whatever_it_holds() {
        assert_eq!(
            parent_in_stat("4242 (sh) S 17 4242 4242 0 -1 4194560"),
            Some(17)
        );
        assert_eq!(
            parent_in_stat("4243 (a) b (c) Z 99 4243 4243 0 -1"),
            Some(99)
        );
        assert_eq!(parent_in_stat("4244 (truncated"), None);
    }

    #[test]
    fn a_child_that_no_handle_waits_for_is_found_and_reaped() {
        // A child started and forgotten, as an exec leaves the previous image's children.
        let child = std::process::Command::new("/bin/true")
            .spawn()
            .expect("/bin/true starts");
        let pid = child.id() as libc::pid_t;
        std::mem::forget(child);
        let children = children_of(std::process::id() as libc::pid_t);
        assert!(children.contains(&pid), "{pid} not in {children:?}");
        // That child alone: the other tests' children are theirs to wait for.
        reap_when_it_ends(pid);
        let gone = (0..500).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
        });
        assert!(gone, "process {pid} was not reaped");
    }
}
