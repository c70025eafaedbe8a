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

#[derive(Clone, Copy, Debug)]
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
        let process = match implementation {
            Implementation::Vrrpd => {
                Vrrpd::start(router, label, &text, &scratch, &[])
                    .expect("vrrpd")
                    .process
            }
            Implementation::Keepalived => {
                Keepalived::start(router, label, &text, &scratch)
                    .expect("keepalived")
                    .process
            }
        };
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
