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

/// What a notice announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A transition into this state (Initialize: the instance stopped).
    Entered(State),
    /// As master, an advert with a lower priority was heard (`notify_master_rx_lower_pri`).
    MasterReceivedLowerPriority,
    /// The effective priority changed in this state (`notify_priority_changes`: FIFO only).
    PriorityChanged(State),
    /// A reload removed the instance: keepalived announces it as FAULT, or as DELETED (running
    /// the notify_deleted script, if any) when the instance says `notify_deleted`.
    Deleted { as_deleted: bool },
}

/// One event to announce.
#[derive(Clone, Debug)]
pub struct Notice {
    /// "INSTANCE" or "GROUP".
    pub kind: &'static str,
    pub name: String,
    pub event: Event,
    pub priority: u8,
}

impl Notice {
    /// keepalived's word for the event, in scripts' arguments and on the FIFO.
    pub fn state_word(&self) -> &'static str {
        match self.event {
            Event::Entered(State::Master) => "MASTER",
            Event::Entered(State::Backup) => "BACKUP",
            Event::Entered(State::Fault) => "FAULT",
            Event::Entered(State::Initialize) => "STOP",
            Event::MasterReceivedLowerPriority => "MASTER_RX_LOWER_PRI",
            Event::PriorityChanged(State::Master) => "MASTER_PRIORITY",
            Event::PriorityChanged(_) => "BACKUP_PRIORITY",
            Event::Deleted { as_deleted: true } => "DELETED",
            Event::Deleted { as_deleted: false } => "FAULT",
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
        let specific = match notice.event {
            Event::Entered(State::Master) => self.scripts.master.as_ref(),
            Event::Entered(State::Backup) => self.scripts.backup.as_ref(),
            Event::Entered(State::Fault) | Event::Deleted { as_deleted: false } => {
                self.scripts.fault.as_ref()
            }
            Event::Deleted { as_deleted: true } => self.scripts.deleted.as_ref(),
            Event::Entered(State::Initialize) => self.scripts.stop.as_ref(),
            Event::MasterReceivedLowerPriority => self.scripts.master_rx_lower_pri.as_ref(),
            Event::PriorityChanged(_) => None,
        };
        if let Some(command) = specific {
            self.start(command, &[], notice);
        }
        // The generic script is told of transitions only (keepalived.conf(5): its state
        // argument is MASTER, BACKUP, FAULT, STOP or DELETED); the FIFO of every event.
        if let Event::Entered(_) | Event::Deleted { .. } = notice.event
            && let Some(command) = &self.scripts.any
        {
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
