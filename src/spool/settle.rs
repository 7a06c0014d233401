//! Which files in the spool are complete, so that half-written files are never taken in.
//!
//! A file is complete once it was renamed into the spool (`IN_MOVED_TO`) or closed after
//! writing (`IN_CLOSE_WRITE`). A file the watcher saw being created or written and not yet
//! closed is still being written, however long the writer pauses. A file the watcher knows
//! nothing about (present at start, or after an event overflow) is complete once its inode
//! has been unchanged for the settle time: its ctime (which `touch` and `rsync -t` cannot
//! set back) is that old, or it looked the same on passes that far apart.
//!
//! What is remembered per name is capped ([`MAX_REMEMBERED`] complete names and as many
//! first sightings), so a million files renamed in at once cost bounded memory: a name
//! past the cap is judged by the settle time instead, which is slower, never less safe.
//! Names being written are never dropped: forgetting one would let a paused writer's
//! half-written file through.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};

use super::read::Stat;

/// The most complete names, and the most first sightings, remembered at once.
pub const MAX_REMEMBERED: usize = 16 * 1024;

#[derive(Default)]
struct State {
    writing: HashSet<OsString>,
    complete: HashSet<OsString>,
    /// Files judged by the settle time: how they looked when first seen, and when.
    first_seen: HashMap<OsString, (Stat, Instant)>,
}

/// What the watcher has seen, shared between its thread and intake.
#[derive(Default)]
pub struct Readiness {
    state: Mutex<State>,
}

impl Readiness {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is only sets of names; a panic elsewhere leaves it usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes in one filesystem event.
    pub fn on_event(&self, event: &notify::Event) {
        let mut s = self.lock();
        if event.need_rescan() {
            // Events were lost: what was known to be written may have been closed.
            s.writing.clear();
            return;
        }
        // Names intake ignores are never tracked, so the sets stay as small as the spool.
        let tracked = |n: &&OsStr| !super::scan::is_ignored(&n.to_string_lossy());
        let names = event
            .paths
            .iter()
            .filter_map(|p| p.file_name())
            .filter(tracked);
        let last = event
            .paths
            .last()
            .and_then(|p| p.file_name())
            .filter(tracked);
        match event.kind {
            EventKind::Create(_) | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => {
                for n in names {
                    s.complete.remove(n);
                    s.writing.insert(n.to_owned());
                }
            }
            EventKind::Access(AccessKind::Close(AccessMode::Write))
            | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both)) => {
                if let Some(n) = last {
                    s.writing.remove(n);
                    if s.complete.len() < MAX_REMEMBERED {
                        s.complete.insert(n.to_owned());
                    }
                }
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::From)) | EventKind::Remove(_) => {
                for n in names {
                    s.forget(n);
                }
            }
            _ => {}
        }
    }

    /// Whether `name`, which now looks like `stat`, may be taken in.
    pub fn is_complete(&self, name: &OsStr, stat: &Stat, settle: Duration) -> bool {
        let mut s = self.lock();
        if s.complete.contains(name) {
            return true;
        }
        if s.writing.contains(name) {
            return false;
        }
        let ctime = u64::try_from(stat.ctime.0).ok().and_then(|secs| {
            let nanos = u32::try_from(stat.ctime.1).unwrap_or(0);
            UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
        });
        let age = ctime.and_then(|c| SystemTime::now().duration_since(c).ok());
        if age.is_some_and(|a| a >= settle) {
            return true;
        }
        // ctime in the future (clock stepped back) or recent: watch it for `settle`.
        match s.first_seen.get(name) {
            Some((seen, at)) if seen == stat => at.elapsed() >= settle,
            _ => {
                if s.first_seen.len() < MAX_REMEMBERED || s.first_seen.contains_key(name) {
                    s.first_seen
                        .insert(name.to_owned(), (*stat, Instant::now()));
                }
                false
            }
        }
    }

    /// Drops what is known about `name` (taken in, rejected or gone).
    pub fn forget(&self, name: &OsStr) {
        self.lock().forget(name);
    }

    /// How many names are remembered as complete and as first seen.
    #[cfg(test)]
    fn remembered(&self) -> (usize, usize) {
        let s = self.lock();
        (s.complete.len(), s.first_seen.len())
    }
}

impl State {
    fn forget(&mut self, name: &OsStr) {
        self.writing.remove(name);
        self.complete.remove(name);
        self.first_seen.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::Event;
    use notify::event::CreateKind;

    fn stat_now() -> Stat {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let t = (now.as_secs() as i64, 0);
        Stat {
            dev: 1,
            ino: 2,
            len: 3,
            mtime: t,
            ctime: t,
        }
    }

    #[test]
    fn a_file_being_written_waits_for_its_close_however_old() {
        let r = Readiness::default();
        let old = Stat {
            ctime: (0, 0),
            ..stat_now()
        };
        r.on_event(&Event::new(EventKind::Create(CreateKind::File)).add_path("/s/a.toml".into()));
        assert!(!r.is_complete(OsStr::new("a.toml"), &old, Duration::from_secs(1)));
        r.on_event(
            &Event::new(EventKind::Access(AccessKind::Close(AccessMode::Write)))
                .add_path("/s/a.toml".into()),
        );
        assert!(r.is_complete(OsStr::new("a.toml"), &stat_now(), Duration::from_secs(1)));
    }

    #[test]
    fn an_unknown_file_with_a_future_ctime_must_look_the_same_for_the_settle_time() {
        let r = Readiness::default();
        let name = OsStr::new("b.toml");
        let future = Stat {
            ctime: (stat_now().ctime.0 + 3600, 0),
            ..stat_now()
        };
        let settle = Duration::from_millis(50);
        assert!(!r.is_complete(name, &future, settle));
        std::thread::sleep(Duration::from_millis(80));
        let grown = Stat { len: 4, ..future };
        assert!(
            !r.is_complete(name, &grown, settle),
            "a change restarts the wait"
        );
        std::thread::sleep(Duration::from_millis(80));
        assert!(r.is_complete(name, &grown, settle));
        let old = Stat {
            ctime: (0, 0),
            ..future
        };
        assert!(r.is_complete(OsStr::new("c.toml"), &old, Duration::from_secs(1)));
    }

    #[test]
    fn past_the_cap_a_closed_file_is_judged_by_the_settle_time_and_memory_stays_bounded() {
        let r = Readiness::default();
        let closed = |name: &str| {
            Event::new(EventKind::Access(AccessKind::Close(AccessMode::Write)))
                .add_path(format!("/s/{name}").into())
        };
        for i in 0..MAX_REMEMBERED + 100 {
            r.on_event(&closed(&format!("job-{i}.toml")));
        }
        assert_eq!(r.remembered().0, MAX_REMEMBERED);
        let settle = Duration::from_secs(1);
        let past_cap = OsStr::new("job-last.toml");
        r.on_event(&closed("job-last.toml"));
        assert!(
            !r.is_complete(past_cap, &stat_now(), settle),
            "a fresh file past the cap waits for the settle time"
        );
        let old = Stat {
            ctime: (0, 0),
            ..stat_now()
        };
        assert!(r.is_complete(past_cap, &old, settle));
        assert!(r.is_complete(OsStr::new("job-0.toml"), &stat_now(), settle));
        for i in 0..MAX_REMEMBERED + 100 {
            r.is_complete(OsStr::new(&format!("new-{i}.toml")), &stat_now(), settle);
        }
        assert_eq!(r.remembered().1, MAX_REMEMBERED);
    }
}
