//! The few filesystem calls std does not offer, for writing into `rejected/` (and, for
//! `msgspool submit`, into the spool) safely.
//!
//! Trusts nothing under the spool folder: any member of the spool's group can plant names
//! there, including `rejected/` itself. So `rejected/` is opened once without following a
//! link and every entry is created relative to that descriptor, exclusively
//! (`O_CREAT | O_EXCL | O_NOFOLLOW`), and files are moved in with `renameat2(NOREPLACE)`:
//! nothing here ever follows a planted link or overwrites an existing name.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn c_name(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// Opens a directory, refusing a symbolic link in its last component.
pub fn open_dir_nofollow(path: &Path) -> io::Result<OwnedFd> {
    let c = c_name(path.as_os_str())?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let fd = unsafe { libc::open(c.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by open and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Creates `name` in `dir`; fails with `AlreadyExists` if any entry (even a dangling link)
/// has that name.
pub fn create_exclusive(dir: &OwnedFd, name: &OsStr) -> io::Result<File> {
    let c = c_name(name)?;
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: `dir` is an open descriptor and `c` a valid C string, both outlive the call.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags, 0o640 as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Removes `name` from `dir` (an entry this process created).
pub fn unlink_in(dir: &OwnedFd, name: &OsStr) -> io::Result<()> {
    let c = c_name(name)?;
    // SAFETY: as above.
    if unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Moves the file at `from` to `to_name` in `to_dir`, failing with `AlreadyExists` instead
/// of replacing an existing entry.
pub fn rename_noreplace(from: &Path, to_dir: &OwnedFd, to_name: &OsStr) -> io::Result<()> {
    renameat_noreplace(libc::AT_FDCWD, from.as_os_str(), to_dir, to_name)
}

/// Renames `from` to `to` inside `dir`, failing with `AlreadyExists` instead of replacing.
pub fn rename_noreplace_in(dir: &OwnedFd, from: &OsStr, to: &OsStr) -> io::Result<()> {
    renameat_noreplace(dir.as_raw_fd(), from, dir, to)
}

fn renameat_noreplace(
    from_dir: libc::c_int,
    from: &OsStr,
    to_dir: &OwnedFd,
    to_name: &OsStr,
) -> io::Result<()> {
    let (src, dst) = (c_name(from)?, c_name(to_name)?);
    // SAFETY: both strings are valid C strings and both descriptors are open for the call.
    let rc = unsafe {
        libc::renameat2(
            from_dir,
            src.as_ptr(),
            to_dir.as_raw_fd(),
            dst.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
