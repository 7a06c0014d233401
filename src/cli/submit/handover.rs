//! Handing a checked job to the spool atomically, the maildir way (tmp → new).
//!
//! Owns the write protocol: the text goes to a fresh dot name in the spool itself (intake
//! ignores dot names; the same folder keeps the rename atomic), is fsynced, is renamed to
//! its job file name without replacing anything there, and the folder is fsynced so the
//! name survives a power cut. Intake therefore sees either nothing or the whole file.
//! Trusts the spool folder's group and setgid bit (tmpfiles) for the daemon's access; it
//! sets the file's mode itself so a producer's umask cannot hide the file from the daemon.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::spool::fsops;

/// Job files are readable by the daemon's group (the spool's, via setgid), no one else.
const FILE_MODE: u32 = 0o640;

/// Why a job could not be handed over.
#[derive(Debug, thiserror::Error)]
pub enum HandoverError {
    /// Creating, writing or syncing the temp file failed: nothing reached the spool.
    #[error("cannot write into the spool folder {dir}: {error}")]
    Write { dir: PathBuf, error: io::Error },
    /// A file of that name waits in the spool, not yet taken in by the daemon.
    #[error("{path} already waits in the spool (the daemon has not taken it in yet)")]
    Taken { path: PathBuf },
    /// The rename or the folder's fsync failed.
    #[error("cannot move the job into the spool as {path}: {error}")]
    Rename { path: PathBuf, error: io::Error },
}

/// Writes `text` into `dir` as `name`, atomically; never replaces an existing file.
pub fn write_job(dir: &Path, name: &str, text: &str) -> Result<PathBuf, HandoverError> {
    let temp = dir.join(format!(".submit-{}.tmp", uuid::Uuid::new_v4().simple()));
    let write_err = |error| HandoverError::Write {
        dir: dir.to_owned(),
        error,
    };
    let written = write_synced(&temp, text);
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(write_err(error));
    }
    let target = dir.join(name);
    // Plain `rename` would silently drop a job waiting under the same name.
    let moved = fsops::open_dir_nofollow(dir)
        .and_then(|d| fsops::rename_noreplace(&temp, &d, OsStr::new(name)));
    if let Err(error) = moved {
        let _ = std::fs::remove_file(&temp);
        return Err(if error.kind() == io::ErrorKind::AlreadyExists {
            HandoverError::Taken { path: target }
        } else {
            HandoverError::Rename {
                path: target,
                error,
            }
        });
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|error| HandoverError::Rename {
            path: target.clone(),
            error,
        })?;
    Ok(target)
}

fn write_synced(path: &Path, text: &str) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_job_lands_under_its_name_with_mode_0640_and_no_temp_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_job(dir.path(), "a.toml", "id = \"a\"\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "id = \"a\"\n");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o640);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_waiting_file_of_the_same_name_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "old").unwrap();
        let err = write_job(dir.path(), "a.toml", "new").unwrap_err();
        assert!(matches!(err, HandoverError::Taken { .. }), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.toml")).unwrap(),
            "old"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
