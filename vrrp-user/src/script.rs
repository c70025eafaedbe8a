//! Running configured commands (tracking scripts, notify scripts) the way keepalived does: with
//! no shell unless the command line needs one, as `script_user`, refusing — when
//! `enable_script_security` is on — commands that a non-root user could have modified.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use thiserror::Error;

use crate::config::model::{Command, RunAs};

#[derive(Debug, Error)]
pub enum ScriptError {
    #[error("cannot run {path}: {reason}")]
    NotRunnable { path: PathBuf, reason: String },
    #[error("{path} is writable by a non-root user (enable_script_security)")]
    Insecure { path: PathBuf },
    #[error("unknown user or group {0}")]
    UnknownUser(String),
    #[error("spawning {path}: {source}")]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Who a command runs as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// Resolves `script_user USER [GROUP]` to ids.
pub fn identity(run_as: Option<&RunAs>) -> Result<Identity, ScriptError> {
    let Some(run_as) = run_as else {
        return Ok(Identity::default());
    };
    let user = std::ffi::CString::new(run_as.user.as_str())
        .map_err(|_| ScriptError::UnknownUser(run_as.user.clone()))?;
    // SAFETY: getpwnam reads a valid C string; the result is copied before any other call.
    let entry = unsafe { libc::getpwnam(user.as_ptr()) };
    if entry.is_null() {
        return Err(ScriptError::UnknownUser(run_as.user.clone()));
    }
    // SAFETY: entry is non-null and points at the static passwd record.
    let (uid, mut gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    if let Some(group) = &run_as.group {
        let name = std::ffi::CString::new(group.as_str())
            .map_err(|_| ScriptError::UnknownUser(group.clone()))?;
        // SAFETY: as above, for the group database.
        let entry = unsafe { libc::getgrnam(name.as_ptr()) };
        if entry.is_null() {
            return Err(ScriptError::UnknownUser(group.clone()));
        }
        // SAFETY: entry is non-null.
        gid = unsafe { (*entry).gr_gid };
    }
    Ok(Identity {
        uid: Some(uid),
        gid: Some(gid),
    })
}

/// Who runs `command`: the user and group its own line names (a notify script's
/// `COMMAND USER [GROUP]`, as keepalived's notify_script_init reads it), else `default`
/// (`script_user`). An unknown user is an error: keepalived ignores such a script.
pub fn runs_as(command: &Command, default: Identity) -> Result<Identity, ScriptError> {
    match &command.run_as {
        Some(run_as) => identity(Some(run_as)),
        None => Ok(default),
    }
}

/// Checks that the program exists, is a regular executable file, and (with script security)
/// that neither it nor any folder above it is writable by someone other than root.
pub fn check_runnable(command: &Command, secure: bool) -> Result<(), ScriptError> {
    let Some(program) = command.argv.first() else {
        return Err(ScriptError::NotRunnable {
            path: PathBuf::new(),
            reason: "empty command".into(),
        });
    };
    if command.needs_shell() {
        return Ok(());
    }
    let path = resolve(program);
    let not_runnable = |reason: &str| ScriptError::NotRunnable {
        path: path.clone(),
        reason: reason.into(),
    };
    let metadata = std::fs::metadata(&path).map_err(|e| not_runnable(&e.to_string()))?;
    if metadata.is_dir() {
        return Err(not_runnable("it is a directory"));
    }
    if !metadata.is_file() || metadata.mode() & 0o111 == 0 {
        return Err(not_runnable("not an executable file"));
    }
    if secure {
        let mut current = Some(path.as_path());
        while let Some(candidate) = current {
            if let Ok(meta) = std::fs::metadata(candidate) {
                let group_or_other_writable = meta.mode() & 0o022 != 0;
                let sticky_dir = meta.is_dir() && meta.mode() & 0o1000 != 0;
                if meta.uid() != 0 || (group_or_other_writable && !sticky_dir) {
                    return Err(ScriptError::Insecure {
                        path: candidate.to_path_buf(),
                    });
                }
            }
            current = candidate.parent();
        }
    }
    Ok(())
}

/// A program name resolved through PATH when it has no slash.
pub fn resolve(program: &str) -> PathBuf {
    if program.contains('/') {
        return PathBuf::from(program);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(program))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(program))
}

/// A command as keepalived's `cmd_str` shows it (its JSON dump, its SNMP script columns):
/// every word quoted, the program by its resolved, canonical path (keepalived resolves it when it
/// checks the script's security).
pub fn command_string(command: &Command) -> String {
    command
        .argv
        .iter()
        .enumerate()
        .map(|(index, word)| {
            let word = if index == 0 {
                std::fs::canonicalize(resolve(word))
                    .map(|path| path.display().to_string())
                    .unwrap_or_else(|_| word.clone())
            } else {
                word.clone()
            };
            format!("'{word}'")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Builds the process for `command` plus `extra` arguments: exec'd directly when the line has
/// no shell syntax (so nothing in it, or in `extra`, is ever interpreted), else `/bin/sh -c`
/// with `extra` passed as positional parameters, never spliced into the line.
pub fn process(command: &Command, extra: &[String], identity: Identity) -> tokio::process::Command {
    let mut process = if command.needs_shell() {
        let mut process = tokio::process::Command::new("/bin/sh");
        process
            .arg("-c")
            .arg(format!("{} \"$@\"", command.line))
            .arg("sh")
            .args(extra);
        process
    } else {
        let mut process =
            tokio::process::Command::new(command.argv.first().map_or("", String::as_str));
        process.args(&command.argv[1..]).args(extra);
        process
    };
    process
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(gid) = identity.gid {
        process.gid(gid);
    }
    if let Some(uid) = identity.uid {
        process.uid(uid);
    }
    // A new process group, so that a timeout can kill the script and its children.
    process.process_group(0);
    process
}

/// Whether `path` is writable by group or others (keepalived warns about such config files).
pub fn writable_by_others(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| meta.mode() & 0o022 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_quoted_word_by_word_with_the_program_resolved() {
        let command = Command {
            line: "/bin/sh -c true".into(),
            argv: vec!["/bin/sh".into(), "-c".into(), "true".into()],
            run_as: None,
            location: crate::config::syntax::Location {
                file: std::sync::Arc::new(std::path::PathBuf::from("keepalived.conf")),
                line: 1,
                column: 1,
            },
        };
        let resolved = std::fs::canonicalize("/bin/sh").expect("sh");
        assert_eq!(
            command_string(&command),
            format!("'{}' '-c' 'true'", resolved.display())
        );
    }
}
