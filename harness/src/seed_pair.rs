//! The seed's two directors on one segment, DR1 (priority 100) master and DR2 (96) backup, each
//! running its seed configuration: the starting point of most live tests.

use std::time::Duration;

use anyhow::{Context, Result};

use crate::daemons::{Vrrpd, seed_config};
use crate::process::Scratch;
use crate::topology::Segment;

/// How long a daemon may take to reach its first state.
const SETTLE: Duration = Duration::from_secs(20);

/// Everything here must outlive the test: dropping the segment removes the namespaces, dropping
/// the scratch removes the logs and sockets. Destructure with a binding for every field (a `..`
/// pattern drops the rest at once).
pub struct SeedPair {
    pub segment: Segment,
    pub scratch: Scratch,
    pub dr1: Vrrpd,
    pub dr2: Vrrpd,
}

/// What a test changes in DR2's start (DR1 always starts plainly).
#[derive(Clone, Copy, Default)]
pub struct Dr2Options<'a> {
    /// Extra command-line arguments.
    pub extra: &'a [&'a str],
    /// Keep the host's mounts (bpffs), see [`Vrrpd::start_with`].
    pub host_mounts: bool,
}

impl SeedPair {
    /// DR1 first, then DR2 once DR1 is master; returns when DR2 is backup.
    pub fn start(label: &str, dr2: Dr2Options) -> Result<SeedPair> {
        crate::require_root();
        let segment = Segment::new(2)?;
        let scratch = Scratch::new(label)?;
        let mut dr1 = Vrrpd::start(
            segment.router(1),
            "dr1",
            &seed_config("dr1-keepalived.conf", &scratch)?,
            &scratch,
            &[],
        )?;
        dr1.wait_for("(VI_1) Entering MASTER STATE", SETTLE)
            .context("DR1 master")?;
        dr1.wait_for_datapath().context("DR1's datapath")?;
        let mut dr2_daemon = Vrrpd::start_with(
            segment.router(2),
            "dr2",
            &seed_config("dr2-keepalived.conf", &scratch)?,
            &scratch,
            dr2.extra,
            dr2.host_mounts,
        )?;
        dr2_daemon
            .wait_for("(VI_1) Entering BACKUP STATE", SETTLE)
            .context("DR2 backup")?;
        dr2_daemon.wait_for_datapath().context("DR2's datapath")?;
        Ok(SeedPair {
            segment,
            scratch,
            dr1,
            dr2: dr2_daemon,
        })
    }
}
