//! One spool file, start to verdict: look, wait until complete, read safely, parse, plan.
//!
//! Pure apart from the reads; runs on a blocking thread. Every failure becomes a verdict
//! about this file only (a panic is caught by the caller), so one file never costs the
//! others their pass.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::read::{self, Identity, ReadFailure, Stat};
use super::scan::MAX_JOB_FILE;
use super::settle::Readiness;
use crate::config::Config;
use crate::job::{self, Diagnostic, JobContext, JobErrors, Severity};
use crate::store::NewJob;

/// A file that passed every rule, with what is needed to commit it and remove it.
pub struct Parsed {
    pub name: OsString,
    pub label: String,
    pub identity: Identity,
    pub job: NewJob,
}

/// What intake does with one file.
pub enum Verdict {
    Accept(Box<Parsed>),
    Reject {
        name: OsString,
        label: String,
        errors: JobErrors,
    },
    /// Not complete yet: looked at again on a later pass.
    Wait,
    /// Left the spool meanwhile.
    Gone,
}

/// A whole-file problem (line 1, column 1, no field).
pub fn whole_file(label: &str, message: String) -> JobErrors {
    JobErrors(vec![Diagnostic {
        file: label.to_owned(),
        line: 1,
        col: 1,
        field: String::new(),
        message,
        severity: Severity::Error,
    }])
}

/// Judges `spool/name`; `bytes` is increased by what was read.
pub fn examine(
    spool: &Path,
    name: &OsStr,
    ready: &Readiness,
    config: &Config,
    now: DateTime<Utc>,
    settle: Duration,
) -> (Verdict, u64) {
    let label = name.to_string_lossy().into_owned();
    let reject = |message: String| Verdict::Reject {
        name: name.to_owned(),
        label: label.clone(),
        errors: whole_file(&label, message),
    };
    let path = spool.join(name);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Verdict::Gone, 0),
        Err(e) => return (reject(ReadFailure::Unreadable(e).to_string()), 0),
    };
    // Refused by looking alone: never opened, so never blocks or follows.
    if meta.file_type().is_symlink() {
        return (reject(ReadFailure::Link.to_string()), 0);
    }
    if !meta.is_file() {
        return (reject(ReadFailure::NotRegular.to_string()), 0);
    }
    if meta.len() > MAX_JOB_FILE {
        return (reject(ReadFailure::TooBig(meta.len()).to_string()), 0);
    }
    if !ready.is_complete(name, &Stat::of(&meta), settle) {
        return (Verdict::Wait, 0);
    }
    let snapshot = match read::read(&path) {
        Ok(s) => s,
        Err(ReadFailure::Gone) => return (Verdict::Gone, 0),
        Err(e) => return (reject(e.to_string()), 0),
    };
    let size = snapshot.identity.len;
    let Ok(text) = String::from_utf8(snapshot.bytes) else {
        return (
            reject("the file is not UTF-8 text; save it as UTF-8".to_owned()),
            size,
        );
    };
    let default_id = label.trim_end_matches(".toml");
    let ctx = JobContext { config, now };
    let verdict = match job::parse(&label, default_id, &text, &ctx) {
        Ok(job) => Verdict::Accept(Box::new(Parsed {
            job: super::plan_job(&job, &label, now, config),
            name: name.to_owned(),
            label,
            identity: snapshot.identity,
        })),
        Err(errors) => Verdict::Reject {
            name: name.to_owned(),
            label,
            errors,
        },
    };
    (verdict, size)
}
