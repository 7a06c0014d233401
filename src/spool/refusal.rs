//! How intake reads a store error: a refusal of one job (reject that file) or of
//! everything (keep the files and back off).
//!
//! Owns that one decision, in a match without a catch-all arm, so a new `StoreError`
//! variant cannot compile until intake has classified it. It differs from
//! [`StoreError::class`] on purpose: a plain SQLite error is permanent for one send, but
//! for intake it says nothing about the file, so the file waits.

use crate::store::StoreError;

/// Whether the database refused a job for a reason of the job's own (reject the file) or
/// is refusing everything (keep the files and retry).
pub(super) fn tied_to_the_file(e: &StoreError) -> bool {
    match e {
        StoreError::Constraint(_)
        | StoreError::BadValue { .. }
        | StoreError::NoSuchSend(_)
        | StoreError::NoSuchJob(_) => true,
        // Other SQLite errors (busy, corrupt, ...) are about the database.
        StoreError::Sqlite(_)
        | StoreError::Postgres(_)
        | StoreError::Unreachable(_)
        | StoreError::Busy(_)
        | StoreError::Open { .. }
        | StoreError::Migrate { .. }
        | StoreError::NewerSchema { .. }
        | StoreError::Full(_)
        | StoreError::Io(_)
        | StoreError::NotMigrated { .. }
        | StoreError::ReadOnly
        | StoreError::WriterGone
        | StoreError::Internal(_) => false,
    }
}
