//! The readers of keepalived.conf's repeated constructs: an argument, a number in a range,
//! seconds, an IP address, an on/off flag, a block, a name, a user and group, a command line.
//! Each reports a located error and returns `None` where the value is unusable.

use std::net::IpAddr;
use std::time::Duration;

use super::super::model::*;
use super::super::syntax::{Node, Word};
use super::{Context, split_command};

impl Context {
    /// The `index`th argument, or an error at the keyword.
    pub(super) fn arg<'n>(&mut self, node: &'n Node, index: usize) -> Option<&'n Word> {
        let word = node.args.get(index);
        if word.is_none() {
            let what = if index == 0 { "a value" } else { "more values" };
            self.error(
                &node.keyword.location,
                format!("{} needs {what}", node.keyword.text),
            );
        }
        word
    }

    pub(super) fn number<T>(
        &mut self,
        word: &Word,
        what: &str,
        range: std::ops::RangeInclusive<T>,
    ) -> Option<T>
    where
        T: Copy + std::fmt::Display + Into<i128> + TryFrom<i128>,
    {
        let (low, high): (i128, i128) = ((*range.start()).into(), (*range.end()).into());
        match word.text.parse::<i128>() {
            Ok(value) if (low..=high).contains(&value) => T::try_from(value).ok(),
            Ok(value) => {
                self.error(
                    &word.location,
                    format!(
                        "{what} {value} is out of range {}..{}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
            Err(_) => {
                self.error(
                    &word.location,
                    format!("{what} '{}' is not a number", word.text),
                );
                None
            }
        }
    }

    pub(super) fn number_arg<T>(
        &mut self,
        node: &Node,
        range: std::ops::RangeInclusive<T>,
    ) -> Option<T>
    where
        T: Copy + std::fmt::Display + Into<i128> + TryFrom<i128>,
    {
        let word = self.arg(node, 0)?;
        self.number(word, &node.keyword.text, range)
    }

    /// Seconds, possibly fractional (keepalived accepts e.g. `0.01` and `0.001`).
    pub(super) fn seconds(&mut self, node: &Node, max: f64) -> Option<Duration> {
        let word = self.arg(node, 0)?;
        match word.text.parse::<f64>() {
            Ok(value) if value.is_finite() && (0.0..=max).contains(&value) => {
                Some(Duration::from_secs_f64(value))
            }
            Ok(_) => {
                self.error(
                    &word.location,
                    format!(
                        "{} {} is out of range 0..{max}",
                        node.keyword.text, word.text
                    ),
                );
                None
            }
            Err(_) => {
                self.error(
                    &word.location,
                    format!(
                        "{} '{}' is not a number of seconds",
                        node.keyword.text, word.text
                    ),
                );
                None
            }
        }
    }

    pub(super) fn ip(&mut self, word: &Word, what: &str) -> Option<IpAddr> {
        match word.text.parse::<IpAddr>() {
            Ok(address) => Some(address),
            Err(_) => {
                self.error(
                    &word.location,
                    format!("{what} '{}' is not an IP address", word.text),
                );
                None
            }
        }
    }

    /// An optional boolean argument (`smtp_alert`, `strict_mode` ...): absent means true.
    pub(super) fn flag(&mut self, node: &Node) -> bool {
        match node.args.first().map(|w| w.text.to_ascii_lowercase()) {
            None => true,
            Some(value) if matches!(value.as_str(), "on" | "true" | "yes" | "1") => true,
            Some(value) if matches!(value.as_str(), "off" | "false" | "no" | "0") => false,
            Some(_) => {
                let word = &node.args[0];
                self.error(
                    &word.location,
                    format!(
                        "{} takes on|off|true|false|yes|no, not '{}'",
                        node.keyword.text, word.text
                    ),
                );
                false
            }
        }
    }

    pub(super) fn block<'n>(&mut self, node: &'n Node) -> &'n [Node] {
        match &node.block {
            Some(block) => block,
            None => {
                self.error(
                    &node.keyword.location,
                    format!("{} needs a {{ }} block", node.keyword.text),
                );
                &[]
            }
        }
    }

    /// A block's name (`vrrp_instance VI_1`); a block without one is skipped, as keepalived
    /// skips it ("vrrp_instance must have a name").
    pub(super) fn name(&mut self, node: &Node) -> Option<Word> {
        let name = node.args.first().cloned();
        if name.is_none() {
            self.warn(
                &node.keyword,
                format!(
                    "{} must have a name - block ignored, as keepalived ignores it",
                    node.keyword.text
                ),
            );
        }
        name
    }

    pub(super) fn run_as(&mut self, node: &Node) -> Option<RunAs> {
        let user = self.arg(node, 0)?.text.clone();
        Some(RunAs {
            user,
            group: node.args.get(1).map(|w| w.text.clone()),
        })
    }

    /// A command line as keepalived reads one: the first word, or quoted string, after the
    /// keyword is the whole command line, split into arguments. A notify script may name the
    /// user and group it runs as in the next two words; a `vrrp_script`'s `script` takes
    /// nothing more (keepalived ignores further words; vrrpd says so).
    pub(super) fn command(&mut self, node: &Node, form: CommandForm) -> Option<Command> {
        let first = self.arg(node, 0)?;
        let line = first.text.clone();
        let location = first.location.clone();
        let rest = &node.args[1..];
        let (run_as, ignored) = match form {
            CommandForm::Notify => {
                let run_as = rest.first().map(|user| RunAs {
                    user: user.text.clone(),
                    group: rest.get(1).map(|group| group.text.clone()),
                });
                (run_as, rest.get(2..).unwrap_or_default())
            }
            CommandForm::Script => (None, rest),
        };
        if let Some(word) = ignored.first() {
            self.warn(
                word,
                format!(
                    "{}: '{}' ignored, as keepalived ignores it (quote the whole command line to pass arguments)",
                    node.keyword.text,
                    ignored
                        .iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            );
        }
        match split_command(&line) {
            Some(argv) if !argv.is_empty() => Some(Command {
                line,
                argv,
                run_as,
                location,
            }),
            _ => {
                self.error(
                    &location,
                    format!(
                        "{}: cannot split '{line}' into a command",
                        node.keyword.text
                    ),
                );
                None
            }
        }
    }

    /// A block of addresses, routes or rules, of which keepalived skips an entry it cannot read
    /// ("Invalid rule to address", an invalid VIP ...) and runs without it: each such entry's
    /// errors become warnings and the entry is left out.
    pub(super) fn list_skipping_invalid<T>(
        &mut self,
        node: &Node,
        entry: impl Fn(&mut Self, &Node) -> Option<T>,
    ) -> Vec<T> {
        self.list(node, |context, child| {
            let before = context.errors.len();
            let parsed = entry(context, child);
            if context.errors.len() == before {
                return parsed;
            }
            context.demote_errors_since(before, "entry skipped, as keepalived skips it");
            None
        })
    }

    /// A block of entries (`virtual_ipaddress { ... }`, `track_script { ... }`, ...), each read
    /// by `entry`; entries it refuses are left out (it has reported them).
    pub(super) fn list<T>(
        &mut self,
        node: &Node,
        entry: impl Fn(&mut Self, &Node) -> Option<T>,
    ) -> Vec<T> {
        let mut items = Vec::new();
        for child in self.block(node) {
            if let Some(item) = entry(self, child) {
                items.push(item);
            }
        }
        items
    }

    /// Reads `item` into `notify` if it is one of the notify-script keywords a vrrp_instance and
    /// a vrrp_sync_group both take; false for any other keyword.
    pub(super) fn notify_setting(&mut self, item: &Node, notify: &mut Notify) -> bool {
        let slot = match item.keyword.text.as_str() {
            "notify_master" => &mut notify.master,
            "notify_backup" => &mut notify.backup,
            "notify_fault" => &mut notify.fault,
            "notify_stop" => &mut notify.stop,
            "notify" => &mut notify.any,
            "notify_master_rx_lower_pri" => &mut notify.master_rx_lower_pri,
            _ => return false,
        };
        *slot = self.command(item, CommandForm::Notify);
        true
    }
}

/// Which of keepalived's command-line forms a keyword takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CommandForm {
    /// `notify*` and `notify_fifo_script`: `COMMAND [USER [GROUP]]`.
    Notify,
    /// `vrrp_script`'s `script`: `COMMAND` (its user is the block's `user` keyword).
    Script,
}
