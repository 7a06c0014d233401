//! Listing the spool folder: which names are job files and which are left alone.
//!
//! Owns: the directory read. Trusts: nothing about the names (each file is looked at when
//! its turn comes). Guarantees: the folder is read as a stream, [`READ_AHEAD`] names at a
//! time, so a pass over a million waiting files holds no more than that many names
//! (memory does not grow with the spool). Names are taken in sorted by name within each
//! window; across windows the order is the directory's own (DESIGN asks for no order). Editors' and producers' temporary names (dot names, `~`,
//! `.swp`, `.tmp`, `.part`) are left alone so they can finish and rename the file in.

use std::collections::VecDeque;
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

/// How many names a [`Listing`] reads ahead and sorts. Directories list in hash order;
/// sorted windows make each batch's names neighbours, so a batch's commit touches a few
/// neighbouring index pages instead of one random page per file (what keeps intake
/// steady as the database grows). Small in unit tests, so a test spool of a thousand
/// files spans several windows.
pub const READ_AHEAD: usize = if cfg!(test) { 300 } else { 16 * 1024 };

/// One read through the folder (not recursive; `rejected/` is never read), [`READ_AHEAD`]
/// names at a time. Files removed or renamed in while it runs may or may not be listed
/// (POSIX `readdir`); the next pass sees what this one missed.
pub struct Listing {
    entries: fs::ReadDir,
    /// Names read and sorted, not handed out yet.
    window: VecDeque<OsString>,
    done: bool,
}

impl Listing {
    pub fn open(dir: &Path) -> io::Result<Listing> {
        Ok(Listing {
            entries: fs::read_dir(dir)?,
            window: VecDeque::new(),
            done: false,
        })
    }

    /// Up to `max` more job file names; empty once the folder has been read through.
    pub fn next_chunk(&mut self, max: usize) -> io::Result<Vec<OsString>> {
        if self.window.is_empty() {
            self.read_window()?;
        }
        let take = max.min(self.window.len());
        Ok(self.window.drain(..take).collect())
    }

    /// How many names are read ahead (held here, not handed out yet).
    pub fn held(&self) -> usize {
        self.window.len()
    }

    fn read_window(&mut self) -> io::Result<()> {
        let mut names = Vec::new();
        while !self.done && names.len() < READ_AHEAD {
            match self.entries.next() {
                Some(item) => {
                    let name = item?.file_name();
                    if !is_ignored(&name.to_string_lossy()) {
                        names.push(name);
                    }
                }
                None => self.done = true,
            }
        }
        names.sort_unstable();
        self.window = names.into();
        Ok(())
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
        let files = 2 * READ_AHEAD + 25;
        for i in 0..files {
            fs::write(d.join(format!("job-{i:04}.toml")), "x").expect("write");
            fs::write(d.join(format!(".tmp-{i:04}.toml")), "x").expect("write");
        }
        let mut listing = Listing::open(d).expect("open");
        let mut all = Vec::new();
        for _ in 0..files {
            let chunk = listing.next_chunk(10).expect("list");
            assert!(chunk.len() <= 10, "{} names in one chunk", chunk.len());
            assert!(
                listing.held() < READ_AHEAD,
                "{} names read ahead",
                listing.held()
            );
            if chunk.is_empty() {
                break;
            }
            assert!(chunk.is_sorted(), "a chunk is sorted: {chunk:?}");
            all.extend(chunk);
        }
        all.sort();
        let expected: Vec<OsString> = (0..files)
            .map(|i| OsString::from(format!("job-{i:04}.toml")))
            .collect();
        assert_eq!(all, expected);
    }
}
