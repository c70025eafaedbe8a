//! The PID file, locked for as long as vrrpd runs: a second vrrpd on the same file is refused.

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

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = &self.file;
    }
}
