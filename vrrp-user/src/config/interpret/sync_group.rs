//! `vrrp_sync_group`: instances that move together, and keepalived's rule for their weighted
//! tracking.

use std::sync::Arc;

use super::super::keywords::Block;
use super::super::model::*;
use super::super::syntax::{Diagnostic, Node};
use super::Context;

impl Context {
    pub(super) fn sync_group(&mut self, node: &Node) -> Option<SyncGroup> {
        let name = self.name(node)?;
        let mut group = SyncGroup {
            name: name.text.clone(),
            location: name.location.clone(),
            members: Vec::new(),
            notify: Notify::none(),
            smtp_alert: None,
            track_scripts: Vec::new(),
            track_interfaces: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            tracking_weight: false,
        };
        for item in self.block(node) {
            let setting_errors = self.errors.len();
            'setting: {
                if self.notify_setting(item, &mut group.notify) {
                    break 'setting;
                }
                match item.keyword.text.as_str() {
                    "group" => {
                        group.members = self
                            .block(item)
                            .iter()
                            .map(|n| n.keyword.text.clone())
                            .collect();
                    }
                    "smtp_alert" => group.smtp_alert = Some(self.flag(item)),
                    "sync_group_tracking_weight" => group.tracking_weight = true,
                    "global_tracking" => {
                        self.warn(&item.keyword, format!("({}) global_tracking is deprecated; use sync_group_tracking_weight or track_script on the sync group", group.name));
                        group.tracking_weight = true;
                    }
                    "track_script" => group.track_scripts.extend(self.list(item, Self::tracked)),
                    "track_interface" => group
                        .track_interfaces
                        .extend(self.list(item, Self::tracked)),
                    "track_file" => group.track_files.extend(self.list(item, Self::tracked)),
                    "track_process" => group.track_processes.extend(self.list(item, Self::tracked)),
                    _ => self.unhandled(Block::SyncGroup, &item.keyword),
                }
            }
            self.ignore_errors_since(setting_errors);
        }
        Some(group)
    }

    /// keepalived ignores a member's weighted track_script unless the group says
    /// `sync_group_tracking_weight`: a weight moves one member's priority, and a sync group whose
    /// members disagree about who should be master cannot move together. Unweighted tracking
    /// (a failure means FAULT) still applies, and FAULT moves the whole group.
    pub(super) fn drop_weighted_tracking_in_sync_groups(&mut self, config: &mut Config) {
        for group in config.sync_groups.iter().filter(|g| !g.tracking_weight) {
            for instance in config
                .instances
                .iter_mut()
                .filter(|i| group.members.contains(&i.name))
            {
                // Unshared while the file is read: make_mut does not copy.
                let instance = Arc::make_mut(instance);
                let script_weight = |name: &str| {
                    config
                        .scripts
                        .iter()
                        .find(|s| s.name == name)
                        .map_or(0, |s| s.weight)
                };
                for (tracked, _) in take_weighted(&mut instance.track_scripts, script_weight) {
                    self.warnings.push(Diagnostic::new(
                        &tracked.location,
                        format!(
                            "({}) ignoring tracked script {} with weights due to SYNC group {} (add sync_group_tracking_weight to keep them)",
                            instance.name, tracked.name, group.name
                        ),
                    ));
                }
                // keepalived 2.2.7 keeps a weighted tracked interface with its weight ignored
                // (down is then a fault, as for any unweighted one), and drops a weighted
                // tracked file.
                for tracked in instance
                    .track_interfaces
                    .iter_mut()
                    .filter(|t| t.weight.is_some_and(|w| w != 0))
                {
                    self.warnings.push(Diagnostic::new(
                        &tracked.location,
                        format!(
                            "({}) ignoring {} tracked interface weight due to SYNC group",
                            instance.name, tracked.name
                        ),
                    ));
                    tracked.weight = Some(0);
                    tracked.reverse = false;
                }
                let file_weight = |name: &str| {
                    config
                        .track_files
                        .iter()
                        .find(|f| f.name == name)
                        .map_or(0, |f| f.weight)
                };
                for (tracked, weight) in take_weighted(&mut instance.track_files, file_weight) {
                    self.warnings.push(Diagnostic::new(
                        &tracked.location,
                        format!(
                            "({}) ignoring tracked file {} with weight {weight} due to SYNC group",
                            instance.name, tracked.name
                        ),
                    ));
                }
            }
        }
    }
}

/// Takes out of `list` the trackers whose weight (their own, else `default_of` their name) is
/// not 0, each with that weight.
fn take_weighted(list: &mut Vec<Tracked>, default_of: impl Fn(&str) -> i32) -> Vec<(Tracked, i32)> {
    let weight = |tracked: &Tracked| tracked.weight.unwrap_or_else(|| default_of(&tracked.name));
    let (weighted, kept): (Vec<Tracked>, Vec<Tracked>) =
        list.drain(..).partition(|t| weight(t) != 0);
    *list = kept;
    weighted
        .into_iter()
        .map(|tracked| {
            let w = weight(&tracked);
            (tracked, w)
        })
        .collect()
}
