//! The PID file, locked for as long as vrrpd runs: a second vrrpd on the same file is refused.
//! And keepalived's own pid files, written too where keepalived puts them, so that tools that
//! signal the pid they read there (keepalived-exporter, scripts) reach vrrpd.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PidFileError {
    #[error("cannot open pid file {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("another vrrpd is running (pid file {path} is locked{holder})")]
    Locked { path: PathBuf, holder: String },
}

pub struct PidFile {
    file: std::fs::File,
    path: PathBuf,
}

impl PidFile {
    pub fn acquire(path: &Path) -> Result<PidFile, PidFileError> {
        let open_error = |source| PidFileError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(open_error)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(open_error)?;
        // SAFETY: flock on a descriptor we own.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !locked {
            let holder = std::fs::read_to_string(path)
                .ok()
                .map(|pid| pid.trim().to_string())
                .filter(|pid| !pid.is_empty())
                .map(|pid| format!(" by pid {pid}"))
                .unwrap_or_default();
            return Err(PidFileError::Locked {
                path: path.to_path_buf(),
                holder,
            });
        }
        file.set_len(0).map_err(open_error)?;
        writeln!(file, "{}", std::process::id()).map_err(open_error)?;
        Ok(PidFile {
            file,
            path: path.to_path_buf(),
        })
    }
}

/// keepalived's default pid files: its parent's and its VRRP child's (vrrpd is both).
pub const KEEPALIVED_PID_FILES: [&str; 2] = ["/run/keepalived.pid", "/run/keepalived_vrrp.pid"];

impl PidFile {
    /// One of keepalived's pid files, written unless a live process other than this one is
    /// named in it (a keepalived still running during a migration keeps its file); `None`,
    /// with the reason logged, when it is not written.
    pub fn acquire_keepalived_compatible(path: &Path) -> Option<PidFile> {
        let named = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse::<i32>().ok());
        if let Some(pid) = named
            && pid != std::process::id() as i32
            && Path::new(&format!("/proc/{pid}")).exists()
        {
            tracing::warn!(
                "{} names running process {pid}; left to it (keepalived still running?)",
                path.display()
            );
            return None;
        }
        match PidFile::acquire(path) {
            Ok(file) => Some(file),
            Err(error) => {
                tracing::warn!("keepalived's pid file: {error}");
                None
            }
        }
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = &self.file;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_s_pid_file_is_left_to_a_running_keepalived_and_taken_otherwise() {
        let directory = std::env::temp_dir().join(format!("vrrpd-pidfile-{}", std::process::id()));
        std::fs::create_dir_all(&directory).expect("directory");
        let path = directory.join("keepalived.pid");
        // A live process that is not us (PID 1) keeps its file.
        std::fs::write(&path, "1\n").expect("write");
        assert!(PidFile::acquire_keepalived_compatible(&path).is_none());
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "1\n");
        // A stale file (no such process) is taken, and removed with the daemon.
        std::fs::write(&path, "2147483646\n").expect("write");
        let taken = PidFile::acquire_keepalived_compatible(&path).expect("taken");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read").trim(),
            std::process::id().to_string()
        );
        drop(taken);
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&directory);
    }
}
