//! Tracking: `vrrp_script`, `vrrp_track_file`, `vrrp_track_process` and the `track_*` entries
//! that refer to them.

use std::path::PathBuf;
use std::time::Duration;

use super::super::keywords::Block;
use super::super::model::*;
use super::super::syntax::{Diagnostic, Node};
use super::Context;
use super::values::CommandForm;

impl Context {
    /// `NAME [weight N [reverse]]`
    pub(super) fn tracked(&mut self, entry: &Node) -> Option<Tracked> {
        let mut tracked = Tracked {
            name: entry.keyword.text.clone(),
            weight: None,
            reverse: false,
            location: entry.keyword.location.clone(),
        };
        let mut options = entry.args.iter();
        while let Some(option) = options.next() {
            match option.text.as_str() {
                "weight" => {
                    let Some(value) = options.next() else {
                        self.error(&option.location, "weight needs a value");
                        return None;
                    };
                    tracked.weight = Some(self.number(value, "weight", -254..=254)?);
                }
                "reverse" => tracked.reverse = true,
                "noreverse" => tracked.reverse = false,
                _ => self.warn(
                    option,
                    format!("unknown tracking option '{}' ignored", option.text),
                ),
            }
        }
        Some(tracked)
    }

    pub(super) fn script(&mut self, node: &Node) -> Option<Script> {
        let name = self.name(node)?;
        let errors_before = self.errors.len();
        let mut command = None;
        let mut script = Script {
            name: name.text.clone(),
            location: name.location.clone(),
            command: Command {
                line: String::new(),
                argv: Vec::new(),
                run_as: None,
                location: name.location.clone(),
            },
            interval: Duration::from_secs(1),
            timeout: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
        };
        for item in self.block(node) {
            let setting_errors = self.errors.len();
            match item.keyword.text.as_str() {
                "script" => command = self.command(item, CommandForm::Script),
                "interval" => {
                    if let Some(value) = self.seconds(item, 86400.0) {
                        script.interval = value.max(Duration::from_millis(1));
                    }
                }
                "timeout" => script.timeout = self.seconds(item, 86400.0),
                "weight" => {
                    if let Some(value) = self.number_arg(item, -254..=254) {
                        script.weight = value;
                    }
                    script.weight_reverse = item.args.get(1).is_some_and(|w| w.text == "reverse");
                }
                "rise" => {
                    if let Some(value) = self.number_arg(item, 1..=u32::MAX) {
                        script.rise = value;
                    }
                }
                "fall" => {
                    if let Some(value) = self.number_arg(item, 1..=u32::MAX) {
                        script.fall = value;
                    }
                }
                "user" => script.user = self.run_as(item),
                "init_fail" => script.init_fail = true,
                _ => self.unhandled(Block::Script, &item.keyword),
            }
            self.ignore_errors_since(setting_errors);
        }
        match command {
            Some(command) => script.command = command,
            None => {
                // keepalived's fallback (vrrp_parser.c, vrrp_vscript_end_handler): the script
                // is removed, and track_script references to it are then ignored.
                self.warnings.push(Diagnostic::new(
                    &name.location,
                    format!("No script set for vrrp_script {} - removing", script.name),
                ));
                return None;
            }
        }
        (self.errors.len() == errors_before).then_some(script)
    }

    pub(super) fn track_file(&mut self, node: &Node) -> Option<TrackFile> {
        let name = self.name(node)?;
        let mut path = None;
        let mut file = TrackFile {
            name: name.text.clone(),
            location: name.location.clone(),
            path: PathBuf::new(),
            weight: 1,
            weight_reverse: false,
            init_value: None,
        };
        for item in self.block(node) {
            let setting_errors = self.errors.len();
            'setting: {
                match item.keyword.text.as_str() {
                    "file" => path = self.arg(item, 0).map(|w| PathBuf::from(&w.text)),
                    "weight" => {
                        if let Some(value) = self.number_arg(item, -254..=254) {
                            file.weight = value;
                        }
                        file.weight_reverse = item.args.get(1).is_some_and(|w| w.text == "reverse");
                    }
                    "init_file" => {
                        file.init_value = Some(match item.args.first() {
                            Some(word) if word.text != "overwrite" => {
                                let Some(value) =
                                    self.number(word, "init_file", i64::MIN..=i64::MAX)
                                else {
                                    break 'setting;
                                };
                                value
                            }
                            _ => 0,
                        });
                    }
                    _ => self.unhandled(Block::TrackFile, &item.keyword),
                }
            }
            self.ignore_errors_since(setting_errors);
        }
        match path {
            Some(path) => file.path = path,
            None => {
                // As for a vrrp_script without its script: reported, and the block removed.
                self.warnings.push(Diagnostic::new(
                    &name.location,
                    format!("No file set for vrrp_track_file {} - removing", file.name),
                ));
                return None;
            }
        }
        Some(file)
    }

    /// `vrrp_track_process NAME { process ...; param_match; weight; quorum; quorum_max;
    /// fork_delay; terminate_delay; delay; full_command }` (keepalived's vrrp_parser.c).
    pub(super) fn track_process(&mut self, node: &Node) -> Option<TrackProcess> {
        let name = self.name(node)?;
        let mut process =
            TrackProcess::new(name.text.clone(), name.location.clone(), String::new());
        let mut param_match = None;
        for item in self.block(node) {
            let setting_errors = self.errors.len();
            match item.keyword.text.as_str() {
                "process" => {
                    if let Some(first) = self.arg(item, 0) {
                        process.process = first.text.clone();
                        process.parameters =
                            item.args[1..].iter().map(|w| w.text.clone()).collect();
                    }
                }
                "param_match" => match self.arg(item, 0).map(|w| w.text.as_str()) {
                    Some("partial") => param_match = Some(ParamMatch::Partial),
                    Some("initial") => param_match = Some(ParamMatch::Initial),
                    Some(other) => {
                        let other = other.to_string();
                        self.error(
                            &item.keyword.location,
                            format!("param_match must be partial or initial, not '{other}'"),
                        );
                    }
                    None => {}
                },
                "weight" => {
                    if let Some(value) = self.number_arg(item, -254..=254) {
                        process.weight = value;
                    }
                    process.weight_reverse = item.args.get(1).is_some_and(|w| w.text == "reverse");
                }
                "quorum" => {
                    if let Some(value) = self.number_arg(item, 1..=u32::MAX) {
                        process.quorum = value;
                    }
                }
                "quorum_max" => {
                    if let Some(value) = self.number_arg(item, 0..=u32::MAX) {
                        process.quorum_max = value;
                    }
                }
                "fork_delay" => {
                    if let Some(value) = self.seconds(item, 86400.0) {
                        process.fork_delay = value;
                    }
                }
                "terminate_delay" => {
                    if let Some(value) = self.seconds(item, 86400.0) {
                        process.terminate_delay = value;
                    }
                }
                "delay" => {
                    if let Some(value) = self.seconds(item, 86400.0) {
                        process.fork_delay = value;
                        process.terminate_delay = value;
                    }
                }
                "full_command" => process.full_command = true,
                _ => self.unhandled(Block::TrackProcess, &item.keyword),
            }
            self.ignore_errors_since(setting_errors);
        }
        // keepalived compares the parameters exactly unless told otherwise, and does not look
        // at them at all when none are given and no param_match is set.
        process.param_match = match (param_match, process.parameters.is_empty()) {
            (Some(how), _) => Some(how),
            (None, false) => Some(ParamMatch::Exact),
            (None, true) => None,
        };
        if process.process.is_empty() {
            self.warnings.push(Diagnostic::new(
                &name.location,
                format!(
                    "No process specified for vrrp_track_process {} - removing",
                    process.name
                ),
            ));
            return None;
        }
        if process.quorum_max < process.quorum {
            self.warnings.push(Diagnostic::new(
                &name.location,
                format!(
                    "vrrp_track_process {} quorum_max {} is less than quorum {} - setting to {}",
                    process.name, process.quorum_max, process.quorum, process.quorum
                ),
            ));
            process.quorum_max = process.quorum;
        }
        // The kernel keeps 15 characters of a process name (TASK_COMM_LEN).
        if !process.full_command && process.param_match.is_none() && process.process.len() > 15 {
            self.warnings.push(Diagnostic::new(
                &name.location,
                format!(
                    "vrrp_track_process {}: process name '{}' is longer than the 15 characters the kernel keeps and will never match; use full_command",
                    process.name, process.process
                ),
            ));
        }
        Some(process)
    }
}
