//! Listing the spool folder: which names are job files and which are left alone.
//!
//! Only names are listed (memory stays small however many files wait); each file is looked
//! at when its turn comes. Editors' and producers' temporary names (dot names, `~`,
//! `.swp`, `.tmp`, `.part`) are left alone so they can finish and rename the file in.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::Path;

/// Files bigger than this are rejected unread.
pub const MAX_JOB_FILE: u64 = 1024 * 1024;

/// Names intake does not touch: not `*.toml`, dotfiles, editor and partial-write names.
pub fn is_ignored(name: &str) -> bool {
    name.starts_with('.')
        || !name.ends_with(".toml")
        || [".swp", ".tmp", ".part", "~"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// The job file names in the folder, sorted (not recursive; `rejected/` is never read).
pub fn list(dir: &Path) -> io::Result<Vec<OsString>> {
    let mut out = Vec::new();
    for item in fs::read_dir(dir)? {
        let name = item?.file_name();
        if !is_ignored(&name.to_string_lossy()) {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
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
    fn only_job_file_names_are_listed_in_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        for name in ["b.toml", "a.toml", ".hidden.toml", "x.tmp"] {
            fs::write(d.join(name), "x").expect("write");
        }
        fs::create_dir(d.join("rejected")).expect("mkdir");
        assert_eq!(list(d).expect("list"), ["a.toml", "b.toml"]);
    }
}
