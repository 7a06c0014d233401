//! Reading one job file from the spool without trusting it.
//!
//! The name may be swapped for a link, a FIFO or a device between listing and reading, so
//! the file is opened with `O_NOFOLLOW | O_NONBLOCK`, checked with `fstat` on the open
//! descriptor (a regular file of at most 1 MiB) and read with a bound. What was read is
//! remembered as an [`Identity`] (device, inode, size, mtime, ctime) so that intake removes
//! the name only while it still points at that same file.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use super::scan::MAX_JOB_FILE;

/// Which file a name pointed at when it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub dev: u64,
    pub ino: u64,
    pub len: u64,
    pub mtime: (i64, i64),
    /// Changed by every write, rename, chmod or utime, and not settable from user space.
    pub ctime: (i64, i64),
}

/// What the inode looks like, without its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub len: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl Stat {
    pub fn of(m: &Metadata) -> Stat {
        Stat {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

/// Why a file could not be read as a job file.
#[derive(Debug, thiserror::Error)]
pub enum ReadFailure {
    #[error("the file is gone")]
    Gone,
    #[error("symbolic links are not accepted: copy the job file into the spool folder instead")]
    Link,
    #[error("not a regular file: only regular *.toml files are accepted")]
    NotRegular,
    #[error("the file is {0} bytes; job files may be at most 1 MiB (1048576 bytes)")]
    TooBig(u64),
    #[error(
        "msgspool cannot read the file ({0}); make it readable by the msgspool user (e.g. chmod g+r) and drop it again"
    )]
    Unreadable(io::Error),
}

/// A job file's bytes and the identity they came from.
pub struct Snapshot {
    pub identity: Identity,
    pub bytes: Vec<u8>,
}

/// Opens and reads `path` under the rules above.
pub fn read(path: &Path) -> Result<Snapshot, ReadFailure> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => ReadFailure::Gone,
            Some(libc::ELOOP) => ReadFailure::Link,
            _ => ReadFailure::Unreadable(e),
        })?;
    let meta = file.metadata().map_err(ReadFailure::Unreadable)?;
    if !meta.is_file() {
        return Err(ReadFailure::NotRegular);
    }
    if meta.len() > MAX_JOB_FILE {
        return Err(ReadFailure::TooBig(meta.len()));
    }
    let bytes = read_bounded(&file, meta.len()).map_err(ReadFailure::Unreadable)?;
    if bytes.len() as u64 > MAX_JOB_FILE {
        return Err(ReadFailure::TooBig(bytes.len() as u64));
    }
    let stat = Stat::of(&meta);
    Ok(Snapshot {
        identity: Identity {
            dev: stat.dev,
            ino: stat.ino,
            len: bytes.len() as u64,
            mtime: stat.mtime,
            ctime: stat.ctime,
        },
        bytes,
    })
}

/// Reads at most one byte more than [`MAX_JOB_FILE`]. `expected` (the size `fstat` gave)
/// sizes the buffer, so a file that did not grow takes two reads (its bytes, then the end),
/// not the several a growing buffer needs.
fn read_bounded(file: &File, expected: u64) -> io::Result<Vec<u8>> {
    let room = usize::try_from(expected.min(MAX_JOB_FILE)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(room.saturating_add(1));
    file.take(MAX_JOB_FILE + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// True when `path` still names the file read as `identity`: same device and inode, size,
/// mtime and ctime. A different file renamed over it has another inode; any write to the
/// same inode moves its ctime, which no tool can set back, so the content that was read
/// (and hashed into the job's `sha256`) is what the name still holds, without reading it
/// again.
pub fn still_names(path: &Path, identity: &Identity) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    let stat = Stat::of(&meta);
    (stat.dev, stat.ino, stat.len, stat.mtime, stat.ctime)
        == (
            identity.dev,
            identity.ino,
            identity.len,
            identity.mtime,
            identity.ctime,
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f.toml");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        assert!(matches!(read(&fifo), Err(ReadFailure::NotRegular)));
    }

    #[test]
    fn a_link_to_dev_zero_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("z.toml");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(matches!(read(&link), Err(ReadFailure::Link)));
    }

    #[test]
    fn a_different_file_renamed_over_with_equal_size_and_mtime_is_not_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        std::fs::write(&path, "aaaa").unwrap();
        let first = read(&path).unwrap().identity;
        assert!(still_names(&path, &first));
        let other = dir.path().join(".b");
        std::fs::write(&other, "bbbb").unwrap();
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        File::options()
            .write(true)
            .open(&other)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert!(!still_names(&path, &first));
    }

    #[test]
    fn the_same_file_rewritten_in_place_with_its_old_mtime_is_not_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        std::fs::write(&path, "aaaa").unwrap();
        let first = read(&path).unwrap().identity;
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, "bbbb").unwrap();
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert!(!still_names(&path, &first));
    }
}
