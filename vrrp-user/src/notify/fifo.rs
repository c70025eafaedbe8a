//! keepalived's notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`): created when missing, held open
//! read-write by vrrpd itself — so a line written while no reader is attached waits in the pipe
//! instead of failing, and a slow reader never blocks the daemon — the `*_fifo_script` started
//! with the FIFO's path as its argument, and both undone at exit (and before an upgrade's exec:
//! the next image opens the FIFOs again and starts its own readers).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use thiserror::Error;
use tracing::{info, warn};

use crate::config::model::NotifyFifo;
use crate::script::{self, Identity};

#[derive(Debug, Error)]
pub enum FifoError {
    #[error("creating the FIFO {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} exists and is not a FIFO")]
    NotAFifo { path: PathBuf },
    #[error("opening the FIFO {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One open FIFO with its reader script.
#[derive(Debug)]
struct Fifo {
    path: PathBuf,
    file: File,
    /// vrrpd made it, so vrrpd removes it at exit.
    created: bool,
    reader: Option<tokio::process::Child>,
}

/// The FIFOs of a configuration.
#[derive(Debug, Default)]
pub struct Fifos {
    open: Mutex<Vec<Fifo>>,
}

impl Fifos {
    /// Opens each configured FIFO (creating it, mode 0600, if missing) and starts its script.
    /// A FIFO that cannot be opened is logged and left out; the others work.
    pub fn open(configured: &[&NotifyFifo], identity: Identity, secure: bool) -> Fifos {
        let mut open = Vec::new();
        for fifo in configured {
            match open_fifo(&fifo.path) {
                Ok((file, created)) => {
                    let reader = fifo
                        .script
                        .as_ref()
                        .and_then(|command| start_reader(command, &fifo.path, identity, secure));
                    open.push(Fifo {
                        path: fifo.path.clone(),
                        file,
                        created,
                        reader,
                    });
                }
                Err(error) => warn!("notify fifo: {error}"),
            }
        }
        Fifos {
            open: Mutex::new(open),
        }
    }

    /// Writes one line to every FIFO. The write never blocks: if a reader has fallen so far
    /// behind that the pipe is full, the line is dropped with a warning.
    pub fn write(&self, line: &str) {
        let Ok(mut open) = self.open.lock() else {
            return;
        };
        for fifo in open.iter_mut() {
            if let Err(error) = fifo.file.write_all(line.as_bytes()) {
                warn!("notify fifo {}: {error}", fifo.path.display());
            }
        }
    }

    /// Closes the FIFOs: each reader script, now the only reader and with no writer left, reads
    /// what is still in its pipe, sees end-of-file and exits; one that has not within
    /// [`READER_GRACE`] is sent SIGTERM. The FIFOs vrrpd created are removed.
    pub fn close(&self) {
        let Ok(mut open) = self.open.lock() else {
            return;
        };
        let mut readers = Vec::new();
        for fifo in open.drain(..) {
            let Fifo {
                path,
                file,
                created,
                reader,
            } = fifo;
            drop(file);
            if created {
                let _ = std::fs::remove_file(&path);
            }
            readers.extend(reader);
        }
        let deadline = std::time::Instant::now() + READER_GRACE;
        for mut reader in readers {
            while std::time::Instant::now() < deadline && matches!(reader.try_wait(), Ok(None)) {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            if matches!(reader.try_wait(), Ok(None))
                && let Some(pid) = reader.id()
            {
                // SAFETY: signalling the reader's own process group (it was started in one).
                unsafe { libc::kill(-(pid as i32), libc::SIGTERM) };
            }
        }
    }
}

/// How long [`Fifos::close`] lets reader scripts finish on their own.
pub const READER_GRACE: std::time::Duration = std::time::Duration::from_millis(200);

/// Creates `path` as a FIFO unless it exists, then opens it read-write and non-blocking.
fn open_fifo(path: &Path) -> Result<(File, bool), FifoError> {
    use std::os::unix::fs::FileTypeExt;
    let created = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_fifo() => false,
        Ok(_) => {
            return Err(FifoError::NotAFifo {
                path: path.to_path_buf(),
            });
        }
        Err(_) => {
            let c_path =
                std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| {
                    FifoError::Create {
                        path: path.to_path_buf(),
                        source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
                    }
                })?;
            // SAFETY: mkfifo reads a valid C string.
            if unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } != 0 {
                return Err(FifoError::Create {
                    path: path.to_path_buf(),
                    source: std::io::Error::last_os_error(),
                });
            }
            true
        }
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| FifoError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    Ok((file, created))
}

/// Starts a FIFO's script with the FIFO's path as its last argument, as keepalived does.
fn start_reader(
    command: &crate::config::model::Command,
    path: &Path,
    identity: Identity,
    secure: bool,
) -> Option<tokio::process::Child> {
    if let Err(error) = script::check_runnable(command, secure) {
        warn!("notify fifo script: {error}");
        return None;
    }
    let identity = match script::runs_as(command, identity) {
        Ok(identity) => identity,
        Err(error) => {
            warn!("notify fifo script '{}' ignored: {error}", command.line);
            return None;
        }
    };
    let mut process = script::process(command, &[path.display().to_string()], identity);
    // It runs for the daemon's lifetime; close() stops it.
    process.kill_on_drop(false);
    match process.spawn() {
        Ok(child) => {
            info!(
                "running notify fifo script '{}' for {}",
                command.line,
                path.display()
            );
            Some(child)
        }
        Err(error) => {
            warn!("notify fifo script '{}': {error}", command.line);
            None
        }
    }
}
