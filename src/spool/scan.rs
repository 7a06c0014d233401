//! Listing the spool folder: which names are job files and which are left alone.
//!
//! Owns: the directory read. Trusts: nothing about the names (each file is looked at when
//! its turn comes). Guarantees: the folder is read as a stream, a bounded chunk of names
//! at a time, so a pass over a million waiting files holds no more than one chunk of names
//! (memory does not grow with the spool). Each chunk is sorted by name; across chunks the
//! order is the directory's own. Editors' and producers' temporary names (dot names, `~`,
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

/// One read through the folder (not recursive; `rejected/` is never read). Files removed
/// or renamed in while it runs may or may not be listed (POSIX `readdir`); the next pass
/// sees what this one missed.
pub struct Listing {
    entries: fs::ReadDir,
    done: bool,
}

impl Listing {
    pub fn open(dir: &Path) -> io::Result<Listing> {
        Ok(Listing {
            entries: fs::read_dir(dir)?,
            done: false,
        })
    }

    /// Up to `max` more job file names, sorted; empty once the folder has been read through.
    pub fn next_chunk(&mut self, max: usize) -> io::Result<Vec<OsString>> {
        let mut out = Vec::with_capacity(max.min(1024));
        while !self.done && out.len() < max {
            match self.entries.next() {
                Some(item) => {
                    let name = item?.file_name();
                    if !is_ignored(&name.to_string_lossy()) {
                        out.push(name);
                    }
                }
                None => self.done = true,
            }
        }
        out.sort();
        Ok(out)
    }
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
        let mut listing = Listing::open(d).expect("open");
        assert_eq!(listing.next_chunk(10).expect("list"), ["a.toml", "b.toml"]);
        assert!(listing.next_chunk(10).expect("list").is_empty());
    }

    #[test]
    fn the_folder_is_read_in_chunks_of_at_most_the_size_asked_for() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        for i in 0..25 {
            fs::write(d.join(format!("job-{i:02}.toml")), "x").expect("write");
            fs::write(d.join(format!(".tmp-{i:02}.toml")), "x").expect("write");
        }
        let mut listing = Listing::open(d).expect("open");
        let mut all = Vec::new();
        for _ in 0..10 {
            let chunk = listing.next_chunk(10).expect("list");
            assert!(chunk.len() <= 10, "{} names in one chunk", chunk.len());
            if chunk.is_empty() {
                break;
            }
            all.extend(chunk);
        }
        all.sort();
        let expected: Vec<OsString> = (0..25)
            .map(|i| OsString::from(format!("job-{i:02}.toml")))
            .collect();
        assert_eq!(all, expected);
    }
}
