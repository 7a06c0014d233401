//! Listing the spool folder: which names are job files, which are ignored, and which must
//! be rejected before they are even read.
//!
//! Trusts nothing in the folder: symlinks, non-regular files and files over 1 MiB are
//! refused by name without being opened; editors' and producers' temporary names are
//! left alone so they can finish and rename the file in.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Files bigger than this are rejected unread.
pub const MAX_JOB_FILE: u64 = 1024 * 1024;

/// One name in the spool folder that intake must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A regular `*.toml` file to read.
    Job {
        path: PathBuf,
        name: String,
        len: u64,
        modified: SystemTime,
    },
    /// To be moved to `rejected/` with this reason, unread.
    Refuse {
        path: PathBuf,
        name: String,
        reason: String,
    },
}

/// Names intake does not touch: not `*.toml`, dotfiles, editor and partial-write names.
pub fn is_ignored(name: &str) -> bool {
    name.starts_with('.')
        || !name.ends_with(".toml")
        || [".swp", ".tmp", ".part", "~"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// Lists the spool folder (not recursively; `rejected/` is never read).
pub fn list(dir: &Path) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for item in fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        if is_ignored(&name) {
            continue;
        }
        let path = item.path();
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            // Gone between listing and looking: someone renamed it away.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let refuse = |reason: &str| Entry::Refuse {
            path: path.clone(),
            name: name.clone(),
            reason: reason.to_owned(),
        };
        let entry = if meta.file_type().is_symlink() {
            refuse(
                "symbolic links are not accepted: copy the job file into the spool folder instead",
            )
        } else if !meta.is_file() {
            refuse("not a regular file: only regular *.toml files are accepted")
        } else if meta.len() > MAX_JOB_FILE {
            refuse(&format!(
                "the file is {} bytes; job files may be at most 1 MiB (1048576 bytes)",
                meta.len()
            ))
        } else {
            Entry::Job {
                path,
                name,
                len: meta.len(),
                modified: meta.modified()?,
            }
        };
        out.push(entry);
    }
    out.sort_by(|a, b| entry_name(a).cmp(entry_name(b)));
    Ok(out)
}

fn entry_name(e: &Entry) -> &str {
    match e {
        Entry::Job { name, .. } | Entry::Refuse { name, .. } => name,
    }
}

/// True when the file still has the length and modification time it had when read, so
/// removing it removes what was committed and not a newer version.
pub fn unchanged_since(path: &Path, len: u64, modified: SystemTime) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.len() == len && m.modified().ok() == Some(modified))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_and_hidden_names_are_ignored() {
        for name in [
            ".job.toml",
            "job.toml~",
            "job.toml.swp",
            "job.toml.tmp",
            "job.toml.part",
            "job.json",
            "rejected",
        ] {
            assert!(is_ignored(name), "{name}");
        }
        assert!(!is_ignored("job.toml"));
    }

    #[test]
    fn symlinks_directories_and_large_files_are_refused_unread() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        fs::write(d.join("ok.toml"), "x").expect("write");
        fs::write(d.join("big.toml"), vec![b'#'; (MAX_JOB_FILE + 1) as usize]).expect("write");
        fs::create_dir(d.join("dir.toml")).expect("mkdir");
        std::os::unix::fs::symlink(d.join("ok.toml"), d.join("link.toml")).expect("symlink");
        fs::write(d.join(".hidden.toml"), "x").expect("write");
        let entries = list(d).expect("list");
        let summary: Vec<(String, bool)> = entries
            .iter()
            .map(|e| match e {
                Entry::Job { name, .. } => (name.clone(), true),
                Entry::Refuse { name, .. } => (name.clone(), false),
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("big.toml".to_owned(), false),
                ("dir.toml".to_owned(), false),
                ("link.toml".to_owned(), false),
                ("ok.toml".to_owned(), true)
            ]
        );
    }
}
