//! The durable outbox of webhook deliveries: one table, `notify_outbox`, in the
//! server's own SQLite file (the staff database by default). A notice is written
//! here before the validator call that caused it returns, and stays until it is
//! delivered or has failed every attempt, so a delivery survives a restart.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::OptionalExtension as _;

/// The outbox could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[error("notification outbox {path}: {reason}")]
pub struct OutboxError {
    /// The file.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// One delivery waiting for its next attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its row.
    pub id: i64,
    /// The webhook's URL.
    pub webhook: String,
    /// The JSON body, exactly as it is signed and sent.
    pub body: Vec<u8>,
    /// Attempts made so far.
    pub attempts: u32,
}

/// How many deliveries are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Waiting for an attempt.
    pub pending: u64,
    /// Delivered (kept until the event is old, so that an expiry is sent once).
    pub delivered: u64,
    /// Kept after every attempt failed.
    pub failed: u64,
}

/// The outbox: one connection behind a mutex (a notice is rare next to a code).
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    connection: Mutex<rusqlite::Connection>,
}

impl Outbox {
    /// Opens (creating if needed) the outbox table in the SQLite file at `path`
    /// (mode 0600 when it creates the file).
    ///
    /// # Errors
    ///
    /// [`OutboxError`].
    pub fn open(path: &Path) -> Result<Self, OutboxError> {
        let fail = |error: &dyn std::fmt::Display| OutboxError {
            path: path.display().to_string(),
            reason: error.to_string(),
        };
        let existed = path.exists();
        let connection = rusqlite::Connection::open(path).map_err(|error| fail(&error))?;
        #[cfg(unix)]
        if !existed {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|error| fail(&error))?;
        }
        #[cfg(not(unix))]
        let _ = existed;
        // The console's connection shares the file.
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(|error| fail(&error))?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE IF NOT EXISTS notify_outbox (
                     id INTEGER PRIMARY KEY AUTOINCREMENT,
                     webhook TEXT NOT NULL,
                     once_key TEXT,
                     body BLOB NOT NULL,
                     created_at_ms INTEGER NOT NULL,
                     attempts INTEGER NOT NULL DEFAULT 0,
                     next_attempt_ms INTEGER NOT NULL,
                     state TEXT NOT NULL DEFAULT 'pending',
                     last_error TEXT,
                     UNIQUE (webhook, once_key)
                 );
                 CREATE INDEX IF NOT EXISTS notify_outbox_due
                     ON notify_outbox (state, webhook, next_attempt_ms);",
            )
            .map_err(|error| fail(&error))?;
        Ok(Self {
            path: path.to_owned(),
            connection: Mutex::new(connection),
        })
    }

    fn with<T>(
        &self,
        job: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, OutboxError> {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        job(&connection).map_err(|error| OutboxError {
            path: self.path.display().to_string(),
            reason: error.to_string(),
        })
    }

    /// Adds a delivery of `body` to `webhook`, due now. With a `once_key`, a delivery
    /// of the same key to the same webhook is kept only once (an expiry that every
    /// scan finds again): `false` if it was there already.
    ///
    /// # Errors
    ///
    /// [`OutboxError`].
    pub fn enqueue(
        &self,
        webhook: &str,
        once_key: Option<&str>,
        body: &[u8],
        now_ms: i64,
    ) -> Result<bool, OutboxError> {
        self.with(|connection| {
            connection
                .execute(
                    "INSERT OR IGNORE INTO notify_outbox
                         (webhook, once_key, body, created_at_ms, next_attempt_ms)
                     VALUES (?1, ?2, ?3, ?4, ?4)",
                    rusqlite::params![webhook, once_key, body, now_ms],
                )
                .map(|inserted| inserted == 1)
        })
    }

    /// Up to `limit` pending deliveries to `webhook` due at `now_ms`, oldest first.
    ///
    /// # Errors
    ///
    /// [`OutboxError`].
    pub fn due(
        &self,
        webhook: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<Delivery>, OutboxError> {
        self.with(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT id, webhook, body, attempts FROM notify_outbox
                 WHERE state = 'pending' AND webhook = ?1 AND next_attempt_ms <= ?2
                 ORDER BY next_attempt_ms, id LIMIT ?3",
            )?;
            let rows = statement.query_map(
                rusqlite::params![webhook, now_ms, i64::try_from(limit).unwrap_or(i64::MAX)],
                |row| {
                    Ok(Delivery {
                        id: row.get(0)?,
                        webhook: row.get(1)?,
                        body: row.get(2)?,
                        attempts: row.get(3)?,
                    })
                },
            )?;
            rows.collect()
        })
    }

    /// The earliest time a pending delivery is due, if any.
    ///
    /// # Errors
    ///
    /// [`OutboxError`].
    pub fn next_due_ms(&self) -> Result<Option<i64>, OutboxError> {
        self.with(|connection| {
            connection
                .query_row(
                    "SELECT MIN(next_attempt_ms) FROM notify_outbox WHERE state = 'pending'",
                    [],
                    |row| row.get::<_, Option<i64>>(0),
                )
                .optional()
                .map(Option::flatten)
        })
    }

    /// Records a delivery as delivered after `attempts` attempts.
    ///
    /// # Errors
    ///
    /// [`OutboxError`].
    pub fn delivered(&self, id: i64, attempts: u32) -> Result<(), OutboxError> {
        self.with(|connection| {
            connection
                .execute(
                    "UPDATE notify_outbox SET state = 'delivered', attempts = ?2, last_error = NULL
                     WHERE id = ?1",
                    rusqlite::params![id, attempts],
                )
                .map(|_| ())
        })
    }

    /// Records a failed attempt: due again at `next_ms`.
    ///
    /// # Errors
    ///
    /// [`OutboxError`].
    pub fn retry_at(
        &self,
        id: i64,
        attempts: u32,
        next_ms: i64,
        error: &str,
    ) -> Result<(), OutboxError> {
        self.with(|connection| {
            connection
                .execute(
                    "UPDATE notify_outbox SET attempts = ?2, next_attempt_ms = ?3, last_error = ?4
                     WHERE id = ?1",
                    rusqlite::params![id, attempts, next_ms, error],
                )
                .map(|_| ())
        })
    }

    /// Records the last attempt's failure: kept as failed, never tried again.
    ///
    /// # Errors
    ///
    /// [`OutboxError`].
    pub fn failed(&self, id: i64, attempts: u32, error: &str) -> Result<(), OutboxError> {
        self.with(|connection| {
            connection
                .execute(
                    "UPDATE notify_outbox SET state = 'failed', attempts = ?2, last_error = ?3
                     WHERE id = ?1",
                    rusqlite::params![id, attempts, error],
                )
                .map(|_| ())
        })
    }

    /// How many deliveries are in each state.
    ///
    /// # Errors
    ///
    /// [`OutboxError`].
    pub fn counts(&self) -> Result<OutboxCounts, OutboxError> {
        self.with(|connection| {
            let mut statement = connection
                .prepare_cached("SELECT state, COUNT(*) FROM notify_outbox GROUP BY state")?;
            let mut counts = OutboxCounts::default();
            let rows = statement.query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let (state, count) = row?;
                let count = u64::try_from(count).unwrap_or(0);
                match state.as_str() {
                    "pending" => counts.pending = count,
                    "delivered" => counts.delivered = count,
                    _ => counts.failed += count,
                }
            }
            Ok(counts)
        })
    }

    /// Removes deliveries delivered before `before_ms`: their events are over (an
    /// expiry a notice named is past by then, so no scan finds it again).
    ///
    /// # Errors
    ///
    /// [`OutboxError`].
    pub fn prune_delivered(&self, before_ms: i64) -> Result<usize, OutboxError> {
        self.with(|connection| {
            connection.execute(
                "DELETE FROM notify_outbox WHERE state = 'delivered' AND created_at_ms < ?1",
                rusqlite::params![before_ms],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_move_from_pending_to_delivered_or_failed_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.db");
        let outbox = Outbox::open(&path).unwrap();
        assert!(outbox.enqueue("https://a/", None, b"{}", 1000).unwrap());
        assert!(
            outbox
                .enqueue("https://a/", Some("k"), b"{}", 1000)
                .unwrap()
        );
        // The same once-key again: kept once; for another webhook: its own.
        assert!(
            !outbox
                .enqueue("https://a/", Some("k"), b"{}", 2000)
                .unwrap()
        );
        assert!(
            outbox
                .enqueue("https://b/", Some("k"), b"{}", 1000)
                .unwrap()
        );
        assert_eq!(outbox.due("https://a/", 999, 10).unwrap().len(), 0);
        let due = outbox.due("https://a/", 1000, 10).unwrap();
        assert_eq!(due.len(), 2);
        outbox.delivered(due[0].id, 1).unwrap();
        outbox.retry_at(due[1].id, 1, 5000, "503").unwrap();
        let other = outbox.due("https://b/", 1000, 10).unwrap();
        assert_eq!(other.len(), 1);
        outbox.failed(other[0].id, 10, "503").unwrap();
        assert_eq!(outbox.next_due_ms().unwrap(), Some(5000));
        drop(outbox);
        let outbox = Outbox::open(&path).unwrap();
        assert_eq!(
            outbox.counts().unwrap(),
            OutboxCounts {
                pending: 1,
                delivered: 1,
                failed: 1
            }
        );
        let due = outbox.due("https://a/", 5000, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].attempts, 1);
        assert_eq!(outbox.prune_delivered(1001).unwrap(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
