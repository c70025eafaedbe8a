//! Notification on transitions: notify_master / backup / fault / stop, `notify` with
//! keepalived's four arguments, and notify_fifo lines in keepalived's format. Scripts are
//! started in transition order and never awaited by the protocol.

pub mod fifo;
pub mod smtp;

use std::sync::Arc;

use tracing::{info, warn};
use vrrp_common::maps::State;

use crate::config::model::{Command, Notify};
use crate::script::{self, Identity};

/// One transition to announce.
#[derive(Clone, Debug)]
pub struct Notice {
    /// "INSTANCE" or "GROUP".
    pub kind: &'static str,
    pub name: String,
    pub state: State,
    pub priority: u8,
    /// Shutdown: the "STOP" pseudo-state.
    pub stopping: bool,
}

impl Notice {
    /// keepalived's state word for scripts and the FIFO.
    pub fn state_word(&self) -> &'static str {
        if self.stopping {
            return "STOP";
        }
        match self.state {
            State::Master => "MASTER",
            State::Backup => "BACKUP",
            State::Fault => "FAULT",
            State::Initialize => "STOP",
        }
    }

    /// The FIFO line: `INSTANCE "VI_1" MASTER 100`.
    pub fn fifo_line(&self) -> String {
        format!(
            "{} \"{}\" {} {}\n",
            self.kind,
            self.name,
            self.state_word(),
            self.priority
        )
    }
}

/// Runs the notifications configured for an instance (or a sync group).
#[derive(Clone, Debug)]
pub struct Notifier {
    pub scripts: Notify,
    pub fifos: Arc<fifo::Fifos>,
    pub identity: Identity,
    pub secure: bool,
}

impl Notifier {
    /// Starts what `notice` calls for. Returns once the processes are started.
    pub async fn announce(&self, notice: &Notice) {
        let specific = match notice.state_word() {
            "MASTER" => self.scripts.master.as_ref(),
            "BACKUP" => self.scripts.backup.as_ref(),
            "FAULT" => self.scripts.fault.as_ref(),
            _ => self.scripts.stop.as_ref(),
        };
        if let Some(command) = specific {
            self.start(command, &[], notice);
        }
        if let Some(command) = &self.scripts.any {
            let extra = [
                notice.kind.to_string(),
                notice.name.clone(),
                notice.state_word().to_string(),
                notice.priority.to_string(),
            ];
            self.start(command, &extra, notice);
        }
        self.fifos.write(&notice.fifo_line());
    }

    fn start(&self, command: &Command, extra: &[String], notice: &Notice) {
        if let Err(error) = script::check_runnable(command, self.secure) {
            warn!(
                "({}) notify script for {}: {error}",
                notice.name,
                notice.state_word()
            );
            return;
        }
        let identity = match script::runs_as(command, self.identity) {
            Ok(identity) => identity,
            Err(error) => {
                warn!(
                    "({}) notify script '{}' ignored: {error}",
                    notice.name, command.line
                );
                return;
            }
        };
        match script::process(command, extra, identity).spawn() {
            Ok(mut child) => {
                info!(
                    "({}) running notify script '{}' for {}",
                    notice.name,
                    command.line,
                    notice.state_word()
                );
                // Reap it whenever it ends; never wait for it here.
                tokio::spawn(async move {
                    let _ = child.wait().await;
                });
            }
            Err(error) => warn!(
                "({}) notify script '{}': {error}",
                notice.name, command.line
            ),
        }
    }
}
