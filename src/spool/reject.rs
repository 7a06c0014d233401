//! Setting a refused job file aside: `rejected/NAME.toml` beside `NAME.toml.err` (for
//! people) and `NAME.toml.err.json` (one JSON object per problem), never overwriting.
//!
//! Trusts nothing in `rejected/` (see [`fsops`]): a taken name, or a planted link at any of
//! the three names, moves the file to the next free `NAME.N.toml` instead.
//! The file itself is renamed, so it keeps its content byte for byte.

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use super::fsops;

/// How many numbered names are tried before falling back to a unique random one.
const MAX_SUFFIX: u32 = 1000;

/// Where a rejected file went.
#[derive(Debug, PartialEq, Eq)]
pub enum Moved {
    /// Under this name in `rejected/`.
    To(OsString),
    /// The file left the spool before it could be moved.
    Gone,
}

/// Moves `spool/name` into `spool/rejected/` beside its `.err` and `.err.json`.
pub fn reject(spool: &Path, name: &OsStr, human: &str, json: &str) -> io::Result<Moved> {
    let dir_path = spool.join("rejected");
    match std::fs::create_dir(&dir_path) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    let dir = fsops::open_dir_nofollow(&dir_path)?;
    let source = spool.join(name);
    for n in 0..=MAX_SUFFIX + 1 {
        let target = candidate(name, n);
        match place(&dir, &source, &target, human, json) {
            Ok(moved) => return Ok(moved),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free name in rejected/"))
}

/// `bad.toml` for 0, `bad.N.toml` for 1..=MAX_SUFFIX, then a random unique name.
fn candidate(name: &OsStr, n: u32) -> OsString {
    let bytes = name.as_bytes();
    let (stem, ext) = match bytes.strip_suffix(b".toml") {
        Some(stem) => (stem, &b".toml"[..]),
        None => (bytes, &b""[..]),
    };
    let tag = match n {
        0 => return name.to_owned(),
        n if n <= MAX_SUFFIX => n.to_string(),
        _ => uuid::Uuid::new_v4().simple().to_string(),
    };
    let mut out = stem.to_vec();
    out.push(b'.');
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(ext);
    OsString::from_vec(out)
}

fn with_suffix(name: &OsStr, suffix: &str) -> OsString {
    let mut s = name.to_owned();
    s.push(suffix);
    s
}

/// Writes `target.err` and `target.err.json` (each complete under a dot-name first, then
/// renamed without replacing, so nobody watching `rejected/` reads half of one), then
/// moves the file in; on any taken name, undoes what it created and reports
/// `AlreadyExists`.
fn place(
    dir: &OwnedFd,
    source: &Path,
    target: &OsStr,
    human: &str,
    json: &str,
) -> io::Result<Moved> {
    let err = with_suffix(target, ".err");
    let err_json = with_suffix(target, ".err.json");
    let mut created: Vec<&OsStr> = Vec::new();
    let result = (|| {
        write_complete(dir, &err, human)?;
        created.push(&err);
        write_complete(dir, &err_json, json)?;
        created.push(&err_json);
        fsops::rename_noreplace(source, dir, target)
    })();
    match result {
        Ok(()) => Ok(Moved::To(target.to_owned())),
        Err(e) => {
            for name in created {
                let _ = fsops::unlink_in(dir, name);
            }
            if e.kind() == io::ErrorKind::NotFound {
                return Ok(Moved::Gone);
            }
            Err(e)
        }
    }
}

/// Creates `name` in `dir` holding exactly `text`, or fails with `AlreadyExists` when the
/// name is taken; the text is written under `.NAME.tmp` first.
fn write_complete(dir: &OwnedFd, name: &OsStr, text: &str) -> io::Result<()> {
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(".tmp");
    // A temp file left by a crash mid-write; unlinkat never follows a link.
    match fsops::unlink_in(dir, &tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        Ok(()) | Err(_) => {}
    }
    let written = fsops::create_exclusive(dir, &tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .and_then(|()| fsops::rename_noreplace_in(dir, &tmp, name));
    if written.is_err() {
        let _ = fsops::unlink_in(dir, &tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names_go_before_the_extension() {
        assert_eq!(candidate(OsStr::new("bad.toml"), 0), "bad.toml");
        assert_eq!(candidate(OsStr::new("bad.toml"), 1), "bad.1.toml");
        assert_eq!(candidate(OsStr::new("bad.toml"), 12), "bad.12.toml");
        let random = candidate(OsStr::new("bad.toml"), MAX_SUFFIX + 1);
        assert!(random.to_string_lossy().ends_with(".toml") && random.len() > 20);
    }

    #[test]
    fn a_planted_link_is_never_followed_and_the_file_goes_to_a_free_name() {
        let spool = tempfile::tempdir().unwrap();
        let victim = spool.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::fs::create_dir(spool.path().join("rejected")).unwrap();
        std::os::unix::fs::symlink(&victim, spool.path().join("rejected/bad.toml.err")).unwrap();
        std::fs::write(spool.path().join("bad.toml"), "x = ").unwrap();
        let moved = reject(spool.path(), OsStr::new("bad.toml"), "e\n", "{}\n").unwrap();
        assert_eq!(moved, Moved::To("bad.1.toml".into()));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let kept = std::fs::read(spool.path().join("rejected/bad.1.toml")).unwrap();
        assert_eq!(kept, b"x = ");
        assert!(!spool.path().join("rejected/bad.toml").exists());
    }

    #[test]
    fn a_linked_rejected_folder_is_refused() {
        let spool = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), spool.path().join("rejected")).unwrap();
        std::fs::write(spool.path().join("bad.toml"), "x").unwrap();
        assert!(reject(spool.path(), OsStr::new("bad.toml"), "e", "{}").is_err());
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_reader_watching_rejected_never_sees_a_half_written_err() {
        let spool = tempfile::tempdir().unwrap();
        std::fs::create_dir(spool.path().join("rejected")).unwrap();
        // Large enough that a write is not one instant; the reader looks all the while.
        let human = "e".repeat(256 * 1024) + "\n";
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (dir, done, len) = (spool.path().join("rejected"), done.clone(), human.len());
            std::thread::spawn(move || {
                let mut short = 0;
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                        let name = entry.file_name().to_string_lossy().into_owned();
                        if name.ends_with(".err")
                            && let Ok(text) = std::fs::read_to_string(entry.path())
                            && text.len() != len
                        {
                            short += 1;
                        }
                    }
                }
                short
            })
        };
        for i in 0..40 {
            let name = format!("bad-{i}.toml");
            std::fs::write(spool.path().join(&name), "x = ").unwrap();
            reject(spool.path(), OsStr::new(&name), &human, "{}\n").unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Release);
        assert_eq!(
            reader.join().unwrap(),
            0,
            "an .err was read before it was complete"
        );
        let left: Vec<_> = std::fs::read_dir(spool.path().join("rejected"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "temp files left: {left:?}");
    }
}
