//! The SQLite store's connections: opening them, and running a write on the writer thread
//! or a read on one of the two read-only connections.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use rusqlite::Connection;

use crate::store::writer::Writer;
use crate::store::{Answer, Answers, Options, StoreError, schema};

/// The SQLite store: cheap to clone, every clone shares the one writer thread.
#[derive(Clone)]
pub struct SqliteStore {
    pub(in crate::store) inner: Arc<Inner>,
}

pub(in crate::store) struct Inner {
    pub(in crate::store) writer: Writer,
    reader: Mutex<Connection>,
    /// Only for reads bounded by an index lookup that a due send waits on.
    dispatch_reader: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating the file, not its folder) and migrates the database at `path`, and
    /// starts the writer thread.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, Options::default())
    }

    /// Opens the existing database at `path` for reading only: nothing is created,
    /// migrated or written, and no writer thread starts (every write answers
    /// [`StoreError::ReadOnly`]). The database must be at [`crate::store::KNOWN_VERSION`].
    pub fn open_read_only(path: &Path) -> Result<SqliteStore, StoreError> {
        let busy_timeout = Options::default().busy_timeout;
        let reader = schema::open_reader(path, busy_timeout)?;
        schema::check_version(&reader, path)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Writer::disabled(),
                reader: Mutex::new(reader),
                dispatch_reader: Mutex::new(schema::open_reader(path, busy_timeout)?),
            }),
        })
    }

    pub(in crate::store) fn open_with(
        path: &Path,
        options: Options,
    ) -> Result<SqliteStore, StoreError> {
        let mut conn = schema::open_writer(path, options.busy_timeout)?;
        schema::migrate(&mut conn, path, Utc::now())?;
        schema::keep_savepoints_in_memory(&conn, path)?;
        let reader = schema::open_reader(path, options.busy_timeout)?;
        let dispatch_reader = schema::open_reader(path, options.busy_timeout)?;
        let writer = Writer::spawn(conn, options.max_batch).map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            reason: format!("cannot start the writer thread: {e}"),
        })?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer,
                reader: Mutex::new(reader),
                dispatch_reader: Mutex::new(dispatch_reader),
            }),
        })
    }

    /// Runs `work` in the writer's next group commit.
    pub(in crate::store) fn write<T, F>(&self, work: F) -> Answer<'_, T>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        Box::pin(self.inner.writer.call(work))
    }

    /// Runs every `work` in one group commit; one answer each, in order.
    pub(in crate::store) fn write_many<T, F>(&self, works: Vec<F>) -> Answers<'_, T>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        Box::pin(self.inner.writer.call_many(works))
    }

    /// Runs `read` on the general read-only connection, off the async threads.
    pub(in crate::store) fn read<T, F>(&self, read: F) -> Answer<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.read_on(|inner| &inner.reader, read)
    }

    /// Runs `read` on the dispatcher's own read-only connection: only reads bounded by an
    /// index lookup, so that a due send never waits behind a long one.
    pub(in crate::store) fn read_for_dispatch<T, F>(&self, read: F) -> Answer<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.read_on(|inner| &inner.dispatch_reader, read)
    }

    fn read_on<T, F>(
        &self,
        connection: fn(&Inner) -> &Mutex<Connection>,
        read: F,
    ) -> Answer<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                // A panic while the lock was held leaves the connection itself usable.
                let conn = connection(&inner)
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                read(&conn)
            })
            .await
            .map_err(|e| StoreError::Sqlite(format!("a database read stopped: {e}")))?
        })
    }
}
