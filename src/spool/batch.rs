//! One intake batch: top the names up from the folder's listing, then judge files until
//! the batch is full.
//!
//! Owns: how many names and bytes one batch holds. Trusts: [`examine`] to judge one file
//! (a panic there is caught here and sets only that file aside). Guarantees: at most
//! [`BATCH_FILES`] names are held beside the listing's read-ahead, and a batch reads at most [`BATCH_FILES`] files
//! or about [`BATCH_BYTES`] of text (the file that crosses the bound is the last), so a
//! pass over any number of waiting files runs in flat memory.
//!
//! Accepted files are removed by [`REMOVERS`] threads at once: on a file system mounted
//! with `discard` each unlink waits for the disk, and one unlink at a time would cap
//! intake at a few thousand files per second.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::Path;

use chrono::Utc;

use super::examine::{self, Parsed, Verdict};
use super::scan::Listing;
use super::settle::Readiness;
use super::{BATCH_BYTES, BATCH_FILES, escaped, read};
use crate::config::Config;

/// How many threads remove one batch's accepted files.
const REMOVERS: usize = 8;

/// One judged batch, and where the pass goes on from.
#[derive(Default)]
pub(super) struct Batch {
    pub verdicts: Vec<Verdict>,
    /// Names read but not judged yet (the batch filled up on bytes).
    pub names: VecDeque<OsString>,
    /// `None` once the folder has been read through (or could not be read on).
    pub listing: Option<Listing>,
    /// How many names were held at once (read ahead plus this batch's).
    pub names_held: usize,
}

/// Tops `names` up from `listing` to [`BATCH_FILES`], then judges files from the front.
pub(super) fn judge(
    spool: &Path,
    listing: Option<Listing>,
    mut names: VecDeque<OsString>,
    config: &Config,
    ready: &Readiness,
) -> Batch {
    let listing = listing.and_then(|mut listing| {
        let room = BATCH_FILES.saturating_sub(names.len());
        match listing.next_chunk(room) {
            Ok(more) if more.is_empty() && room > 0 => None,
            Ok(more) => {
                names.extend(more);
                Some(listing)
            }
            Err(e) => {
                let spool = spool.display();
                tracing::error!(%spool, error = %e, "cannot read on in the spool folder; the rest waits for the next pass");
                None
            }
        }
    });
    let names_held = names.len() + listing.as_ref().map_or(0, Listing::held);
    let now = Utc::now();
    let (mut verdicts, mut bytes) = (Vec::new(), 0u64);
    while verdicts.len() < BATCH_FILES && bytes < BATCH_BYTES {
        let Some(name) = names.pop_front() else { break };
        let judged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            examine::examine(spool, &name, ready, config, now, config.settle)
        }));
        let (verdict, read) = judged.unwrap_or_else(|_| {
            let label = name.to_string_lossy().into_owned();
            let message = "msgspool failed on this file (an internal error, logged); it was set aside: please report it with the file".to_owned();
            let errors = examine::whole_file(&label, message);
            (Verdict::Reject { name: name.clone(), label, errors }, 0)
        });
        bytes = bytes.saturating_add(read);
        verdicts.push(verdict);
    }
    Batch {
        verdicts,
        names,
        listing,
        names_held,
    }
}

/// Removes every accepted file of a batch whose name still points at the file that was
/// read, [`REMOVERS`] at a time (one at a time when no thread can be started).
pub(super) fn remove_all(spool: &Path, accepted: &[Parsed], ready: &Readiness) {
    let per_thread = accepted.len().div_ceil(REMOVERS).max(1);
    std::thread::scope(|scope| {
        for chunk in accepted.chunks(per_thread) {
            let remove = move || chunk.iter().for_each(|p| remove_if_same(spool, p, ready));
            let started = std::thread::Builder::new()
                .name("msgspool-remove".to_owned())
                .spawn_scoped(scope, remove);
            if started.is_err() {
                chunk.iter().for_each(|p| remove_if_same(spool, p, ready));
            }
        }
    });
}

/// Removes an accepted file if its name still points at the file that was read: a
/// different file renamed over it (even with the same size and mtime) is kept for the
/// next pass.
fn remove_if_same(spool: &Path, p: &Parsed, ready: &Readiness) {
    let path = spool.join(&p.name);
    if !read::still_names(&path, &p.identity) {
        return;
    }
    ready.forget(&p.name);
    if let Err(e) = std::fs::remove_file(&path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        let file = escaped(&p.label);
        tracing::warn!(%file, error = %e, "cannot remove an accepted job file; it will be seen as unchanged next time");
    }
}
