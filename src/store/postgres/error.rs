//! PostgreSQL's errors as [`StoreError`]s: what waiting fixes (a lost connection, a
//! serialization failure, a full disk) is told apart from what it does not.

use tokio_postgres::error::SqlState;

use super::super::StoreError;

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        let text = e.to_string();
        let Some(code) = e.code() else {
            // No SQLSTATE: the connection itself failed or closed.
            return StoreError::Unreachable(text);
        };
        match *code {
            SqlState::DISK_FULL | SqlState::OUT_OF_MEMORY => StoreError::Full(text),
            SqlState::IO_ERROR => StoreError::Io(text),
            SqlState::T_R_SERIALIZATION_FAILURE
            | SqlState::T_R_DEADLOCK_DETECTED
            | SqlState::LOCK_NOT_AVAILABLE
            | SqlState::QUERY_CANCELED
            | SqlState::TOO_MANY_CONNECTIONS => StoreError::Busy(text),
            SqlState::ADMIN_SHUTDOWN
            | SqlState::CRASH_SHUTDOWN
            | SqlState::CANNOT_CONNECT_NOW
            | SqlState::CONNECTION_EXCEPTION
            | SqlState::CONNECTION_FAILURE
            | SqlState::CONNECTION_DOES_NOT_EXIST => StoreError::Unreachable(text),
            SqlState::UNIQUE_VIOLATION
            | SqlState::CHECK_VIOLATION
            | SqlState::NOT_NULL_VIOLATION
            | SqlState::FOREIGN_KEY_VIOLATION => StoreError::Constraint(text),
            _ => StoreError::Postgres(text),
        }
    }
}

/// A pool that cannot hand out a connection: the server is down, unreachable or full.
pub(super) fn from_pool(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => StoreError::from(e),
        other => StoreError::Unreachable(other.to_string()),
    }
}
