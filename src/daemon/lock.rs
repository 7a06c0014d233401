//! One daemon per SQLite database and per spool folder.
//!
//! Owns: `DATABASE.lock` (an exclusive `flock`, held for the life of the process, with the
//! holder's pid written in it) and a shared-nothing `flock` on the spool folder itself. A
//! PostgreSQL database is shared by design: its daemons take only their spool's lock
//! ([`DaemonLocks::spool_only`]) and keep apart through leases.
//!
//! Trusts: the kernel to release both locks when the process ends, however it ends
//! (kill -9 included), so a stale lock file never keeps a daemon from starting.
//!
//! Guarantees: [`DaemonLocks::take`] either holds both locks or says who holds one; it
//! is called before recovery, so a second daemon never touches the first one's sends.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Why the locks could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another msgspool ({holder}) is running on {}; stop it first (one daemon per database)", database.display())]
    DatabaseBusy { database: PathBuf, holder: String },
    #[error("another msgspool is taking files from the spool folder {}; stop it first, or give this one its own --spool", spool.display())]
    SpoolBusy { spool: PathBuf },
    #[error("cannot lock {}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// The held locks; dropping them (or the process ending) releases both.
#[derive(Debug)]
pub struct DaemonLocks {
    _database: Option<File>,
    _spool: File,
}

/// The lock file of a database: `DATABASE.lock` beside it.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl DaemonLocks {
    /// Takes the database's lock, then the spool folder's, without waiting for either.
    pub fn take(database: &Path, spool: &Path) -> Result<DaemonLocks, LockError> {
        let path = lock_path(database);
        let io = |error| LockError::Io {
            path: path.clone(),
            error,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.take(64).read_to_string(&mut text);
                let holder = match text.trim().parse::<u32>() {
                    Ok(pid) => format!("pid {pid}"),
                    Err(_) => "pid unknown".to_owned(),
                };
                return Err(LockError::DatabaseBusy {
                    database: database.to_path_buf(),
                    holder,
                });
            }
            Err(TryLockError::Error(error)) => return Err(io(error)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(DaemonLocks {
            _database: Some(file),
            _spool: lock_spool(spool)?,
        })
    }

    /// Takes the spool folder's lock only (a PostgreSQL database, shared by design).
    pub fn spool_only(spool: &Path) -> Result<DaemonLocks, LockError> {
        Ok(DaemonLocks {
            _database: None,
            _spool: lock_spool(spool)?,
        })
    }
}

/// The spool folder's lock, without waiting.
fn lock_spool(spool: &Path) -> Result<File, LockError> {
    // flock works on a directory opened read-only; no file is added to the spool.
    let spool_dir = File::open(spool).map_err(|error| LockError::Io {
        path: spool.to_path_buf(),
        error,
    })?;
    match spool_dir.try_lock() {
        Ok(()) => Ok(spool_dir),
        Err(TryLockError::WouldBlock) => Err(LockError::SpoolBusy {
            spool: spool.to_path_buf(),
        }),
        Err(TryLockError::Error(error)) => Err(LockError::Io {
            path: spool.to_path_buf(),
            error,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_is_told_the_holders_pid() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("m.db");
        let first = DaemonLocks::take(&db, dir.path()).unwrap();
        let second = DaemonLocks::take(&db, dir.path()).unwrap_err();
        let text = second.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        DaemonLocks::take(&db, dir.path()).unwrap();
    }

    #[test]
    fn a_spool_only_lock_still_keeps_a_second_daemon_off_the_spool() {
        let dir = tempfile::tempdir().unwrap();
        let _first = DaemonLocks::spool_only(dir.path()).unwrap();
        let second = DaemonLocks::spool_only(dir.path()).unwrap_err();
        assert!(matches!(second, LockError::SpoolBusy { .. }), "{second}");
    }

    #[test]
    fn two_databases_on_one_spool_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = DaemonLocks::take(&dir.path().join("a.db"), dir.path()).unwrap();
        let second = DaemonLocks::take(&dir.path().join("b.db"), dir.path()).unwrap_err();
        assert!(matches!(second, LockError::SpoolBusy { .. }), "{second}");
    }
}
