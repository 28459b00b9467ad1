//! The durable embedded store: one SQLite file, in WAL mode with full synchronisation.

use std::path::Path;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::store::row::{
    AuditRow, TOKEN_COLUMN_COUNT, TOKEN_COLUMNS, TokenRow, for_each_token_column, to_sql,
};
use crate::validator::audit::AuditEvent;
use crate::validator::error::StoreError;
use crate::validator::record::{TokenId, TokenRecord};
use crate::validator::store::{Store, Swap};

/// The schema version this library writes and reads (`PRAGMA user_version`).
///
/// Version 2 added the nullable `ocra_*` columns of keypad tokens; version 3 the
/// `incarnation` of each record; version 4 each record's MAC. An older file is
/// migrated when opened.
pub const SQLITE_SCHEMA_VERSION: i64 = 4;

/// Version 1: the tokens and the audit trail.
const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    id                 TEXT PRIMARY KEY NOT NULL,
    version            INTEGER NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('event', 'time')),
    algorithm          TEXT NOT NULL,
    digits             INTEGER NOT NULL,
    time_step          INTEGER,
    t0                 INTEGER,
    next_counter       INTEGER,
    last_accepted_step INTEGER,
    drift_steps        INTEGER,
    synced_seconds     INTEGER,
    synced_nanos       INTEGER,
    failures           INTEGER NOT NULL,
    lockouts           INTEGER NOT NULL,
    lock_kind          TEXT NOT NULL,
    lock_seconds       INTEGER,
    lock_nanos         INTEGER,
    status             TEXT NOT NULL,
    seal_key_id        INTEGER NOT NULL,
    seal_nonce         BLOB NOT NULL,
    seal_ciphertext    BLOB NOT NULL,
    pin_hash           TEXT,
    enrolled_seconds   INTEGER NOT NULL,
    enrolled_nanos     INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS audit (
    sequence   INTEGER PRIMARY KEY AUTOINCREMENT,
    token      TEXT NOT NULL,
    at_seconds INTEGER NOT NULL,
    at_nanos   INTEGER NOT NULL,
    operation  TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    reason     TEXT,
    offset     INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS audit_by_token ON audit (token, sequence);
";

/// Version 2: a keypad token's OCRA suite, counter, drift, open challenge and sealed
/// PIN hash, all nullable (null for tokens without a keypad), so version-1 rows read
/// back unchanged.
const MIGRATION_V2: &str = "
ALTER TABLE tokens ADD COLUMN ocra_suite TEXT;
ALTER TABLE tokens ADD COLUMN ocra_counter INTEGER;
ALTER TABLE tokens ADD COLUMN ocra_drift_steps INTEGER;
ALTER TABLE tokens ADD COLUMN ocra_synced_seconds INTEGER;
ALTER TABLE tokens ADD COLUMN ocra_synced_nanos INTEGER;
ALTER TABLE tokens ADD COLUMN ocra_challenge_state TEXT;
ALTER TABLE tokens ADD COLUMN ocra_challenge TEXT;
ALTER TABLE tokens ADD COLUMN ocra_challenge_expires_seconds INTEGER;
ALTER TABLE tokens ADD COLUMN ocra_challenge_expires_nanos INTEGER;
ALTER TABLE tokens ADD COLUMN ocra_transaction_nonce BLOB;
ALTER TABLE tokens ADD COLUMN ocra_transaction_digest BLOB;
ALTER TABLE tokens ADD COLUMN ocra_pin_key_id INTEGER;
ALTER TABLE tokens ADD COLUMN ocra_pin_nonce BLOB;
ALTER TABLE tokens ADD COLUMN ocra_pin_ciphertext BLOB;
";

/// Version 3: each record's incarnation, which the compare-and-swap matches with the
/// version. Existing rows get a random one: each is its own enrolment.
const MIGRATION_V3: &str = "
ALTER TABLE tokens ADD COLUMN incarnation BLOB CHECK (length(incarnation) = 16);
UPDATE tokens SET incarnation = randomblob(16);
";

/// Version 4: each record's MAC, computed by the validator (the store never holds its
/// key). Existing rows have none, and the validator refuses them until an operator
/// authenticates them (`Validator::authenticate_unauthenticated_records`).
const MIGRATION_V4: &str = "
ALTER TABLE tokens ADD COLUMN mac_key_id INTEGER;
ALTER TABLE tokens ADD COLUMN mac BLOB CHECK (length(mac) = 32);
";

/// Each schema version and the SQL that brings the previous version to it, in order.
const MIGRATIONS: [(i64, &str); 4] = [
    (1, SCHEMA_V1),
    (2, MIGRATION_V2),
    (3, MIGRATION_V3),
    (4, MIGRATION_V4),
];

/// `SELECT` of every column, in `TOKEN_COLUMNS` order, by id.
static SELECT_TOKEN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM tokens WHERE id = ?1",
        TOKEN_COLUMNS.join(", ")
    )
});

/// `INSERT` of every column, parameters ?1 onwards in `TOKEN_COLUMNS` order.
static INSERT_TOKEN: LazyLock<String> = LazyLock::new(|| {
    let placeholders: Vec<String> = (1..=TOKEN_COLUMN_COUNT)
        .map(|index| format!("?{index}"))
        .collect();
    format!(
        "INSERT INTO tokens ({}) VALUES ({}) ON CONFLICT (id) DO NOTHING",
        TOKEN_COLUMNS.join(", "),
        placeholders.join(", ")
    )
});

/// The compare-and-swap: every column but the id from ?2 on, if the stored version is
/// the parameter after the columns and the stored incarnation the record's (an
/// incarnation never changes, so it is also its own new value).
static SWAP_TOKEN: LazyLock<String> = LazyLock::new(|| {
    let assignments: Vec<String> = TOKEN_COLUMNS
        .iter()
        .enumerate()
        .skip(1)
        .map(|(index, column)| format!("{column} = ?{}", index + 1))
        .collect();
    let incarnation = TOKEN_COLUMNS
        .iter()
        .position(|column| *column == "incarnation")
        .map_or(0, |index| index + 1);
    format!(
        "UPDATE tokens SET {} WHERE id = ?1 AND version = ?{} AND incarnation = ?{incarnation}",
        assignments.join(", "),
        TOKEN_COLUMN_COUNT + 1
    )
});

/// Token records in one SQLite file: the durable default for a single validator
/// process (or several processes on one machine, which SQLite's file locks serialise).
///
/// The file is opened in WAL mode with `synchronous = FULL`, so every committed
/// compare-and-swap has been flushed to disk before `compare_and_swap` returns: a
/// process killed at any point and restarted never accepts the same code again. The
/// audit table is written in the same transaction as each change. The schema version
/// is kept in `PRAGMA user_version`; a newer file is refused.
///
/// ```
/// use otpfob::{SqliteStore, validator::Store};
///
/// let directory = std::env::temp_dir().join(format!("otpfob-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&directory)?;
/// let store = SqliteStore::open(directory.join("tokens.db"))?;
/// assert!(store.list()?.is_empty());
/// # std::fs::remove_dir_all(&directory)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    connection: Mutex<Connection>,
}

/// Creates an empty file at `path` with mode 0600 if none exists, so that SQLite opens
/// it rather than creating it with the process's umask (0644 typically), and creates
/// its WAL and shared-memory files with the same mode.
fn create_owner_only(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(StoreError::Backend {
            reason: format!("cannot create {}: {error}", path.display()),
        }),
    }
}

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend {
        reason: error.to_string(),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in the file at `path` and brings its
    /// schema up to date.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the file cannot be opened or configured, and
    /// [`StoreError::SchemaTooNew`] for a file written by a newer library.
    ///
    /// # Security
    ///
    /// A new file is created readable and writable by its owner only (mode 0600 on
    /// Unix); SQLite gives its `-wal` and `-shm` files the database file's mode. An
    /// existing file keeps its mode.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        create_owner_only(path)?;
        let connection = Connection::open(path).map_err(backend)?;
        Self::configure(connection)
    }

    /// A store in memory only, for tests: the same SQL, no durability.
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`].
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::configure(Connection::open_in_memory().map_err(backend)?)
    }

    fn configure(connection: Connection) -> Result<Self, StoreError> {
        connection
            .busy_timeout(Duration::from_secs(10))
            .map_err(backend)?;
        // WAL keeps readers and the writer apart; FULL makes each commit durable.
        let mode: String = connection
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(backend)?;
        if mode != "wal" && mode != "memory" {
            return Err(StoreError::Backend {
                reason: format!("could not switch the journal to WAL (got {mode})"),
            });
        }
        connection
            .execute_batch("PRAGMA synchronous = FULL;")
            .map_err(backend)?;
        let store = Self {
            connection: Mutex::new(connection),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut connection = self.connection();
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let found: i64 = transaction
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(backend)?;
        if found > SQLITE_SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found,
                supported: SQLITE_SCHEMA_VERSION,
            });
        }
        if found < SQLITE_SCHEMA_VERSION {
            // Every step from the file's version on, in the one transaction: a crash
            // mid-way leaves the file at its old version.
            for (version, sql) in MIGRATIONS {
                if found < version {
                    transaction.execute_batch(sql).map_err(backend)?;
                }
            }
            transaction
                .execute_batch(&format!("PRAGMA user_version = {SQLITE_SCHEMA_VERSION}"))
                .map_err(backend)?;
        }
        transaction.commit().map_err(backend)
    }

    fn connection(&self) -> MutexGuard<'_, Connection> {
        // A panic while the connection was held leaves SQLite's own state consistent:
        // an open transaction is rolled back when its guard drops.
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

macro_rules! define_read_token {
    ($($column:ident),*) => {
        /// Reads a `tokens` row selected with every column in `TOKEN_COLUMNS` order.
        fn read_token(row: &Row<'_>) -> rusqlite::Result<TokenRow> {
            let mut index = 0usize;
            let mut next = || {
                index += 1;
                index - 1
            };
            Ok(TokenRow {
                $($column: row.get(next())?),*
            })
        }
    };
}
for_each_token_column!(define_read_token);

fn insert_audit(connection: &Connection, event: &AuditEvent) -> Result<(), StoreError> {
    let row = AuditRow::from_event(event);
    connection
        .execute(
            "INSERT INTO audit (token, at_seconds, at_nanos, operation, outcome, reason, offset) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                row.token,
                row.at_seconds,
                row.at_nanos,
                row.operation,
                row.outcome,
                row.reason,
                row.offset
            ],
        )
        .map_err(backend)?;
    Ok(())
}

macro_rules! define_token_params {
    ($($column:ident),*) => {
        /// Every column of `row`, for the statement's parameters ?1 onwards.
        fn token_params(row: &TokenRow) -> [&dyn rusqlite::ToSql; TOKEN_COLUMN_COUNT] {
            [$(&row.$column),*]
        }
    };
}
for_each_token_column!(define_token_params);

impl Store for SqliteStore {
    fn enrol(&self, record: &TokenRecord, audit: &AuditEvent) -> Result<(), StoreError> {
        let row = TokenRow::from_record(record);
        let mut connection = self.connection();
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let inserted = transaction
            .execute(&INSERT_TOKEN, &token_params(&row)[..])
            .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::AlreadyEnrolled { token: row.id });
        }
        insert_audit(&transaction, audit)?;
        transaction.commit().map_err(backend)
    }

    fn load(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        let connection = self.connection();
        let row = connection
            .prepare_cached(&SELECT_TOKEN)
            .map_err(backend)?
            .query_row([id.as_str()], read_token)
            .optional()
            .map_err(backend)?;
        row.map(TokenRow::into_record).transpose()
    }

    fn compare_and_swap(
        &self,
        record: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<Swap, StoreError> {
        let row = TokenRow::from_record(record);
        let mut connection = self.connection();
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let updated = {
            let mut statement = transaction.prepare_cached(&SWAP_TOKEN).map_err(backend)?;
            let expected = to_sql(expected_version);
            let mut values: Vec<&dyn rusqlite::ToSql> = token_params(&row).to_vec();
            values.push(&expected);
            statement.execute(&values[..]).map_err(backend)?
        };
        if updated == 0 {
            return Ok(Swap::Conflict);
        }
        insert_audit(&transaction, audit)?;
        transaction.commit().map_err(backend)?;
        Ok(Swap::Swapped)
    }

    fn delete(&self, id: &TokenId, audit: &AuditEvent) -> Result<bool, StoreError> {
        let mut connection = self.connection();
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let deleted = transaction
            .execute("DELETE FROM tokens WHERE id = ?1", [id.as_str()])
            .map_err(backend)?;
        if deleted == 0 {
            return Ok(false);
        }
        insert_audit(&transaction, audit)?;
        transaction.commit().map_err(backend)?;
        Ok(true)
    }

    fn list(&self) -> Result<Vec<TokenId>, StoreError> {
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached("SELECT id FROM tokens ORDER BY id")
            .map_err(backend)?;
        let ids = statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(backend)?
            .collect::<Result<Vec<String>, _>>()
            .map_err(backend)?;
        ids.into_iter()
            .map(|id| {
                TokenId::new(id.clone()).map_err(|_| StoreError::Corrupt {
                    token: id,
                    reason: "invalid token id".to_owned(),
                })
            })
            .collect()
    }

    fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        insert_audit(&self.connection(), event)
    }

    fn audit_trail(&self, id: &TokenId, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached(
                "SELECT token, at_seconds, at_nanos, operation, outcome, reason, offset FROM audit \
                 WHERE token = ?1 ORDER BY sequence DESC LIMIT ?2",
            )
            .map_err(backend)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement
            .query_map(params![id.as_str(), limit], |row| {
                Ok(AuditRow {
                    token: row.get(0)?,
                    at_seconds: row.get(1)?,
                    at_nanos: row.get(2)?,
                    operation: row.get(3)?,
                    outcome: row.get(4)?,
                    reason: row.get(5)?,
                    offset: row.get(6)?,
                })
            })
            .map_err(backend)?
            .collect::<Result<Vec<AuditRow>, _>>()
            .map_err(backend)?;
        let mut events = rows
            .into_iter()
            .map(AuditRow::into_event)
            .collect::<Result<Vec<_>, _>>()?;
        events.reverse();
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::UnixTime;
    use crate::hotp::HotpParameters;
    use crate::ocra::OcraSuite;
    use crate::secret::Secret;
    use crate::validator::audit::{Operation, Outcome};
    use crate::validator::challenge::OcraState;
    use crate::validator::record::{TokenKind, TokenState};
    use crate::validator::seal::{Keyring, SealingKey};

    fn record(id: &str) -> TokenRecord {
        let id = TokenId::new(id).unwrap();
        let keyring = Keyring::new(SealingKey::new(1, &[4; 32]).unwrap());
        TokenRecord {
            sealed_secret: keyring
                .seal(&id, &Secret::from_bytes(b"12345678901234567890").unwrap())
                .unwrap(),
            id,
            pin: None,
            ocra_pin: None,
            state: TokenState::new(TokenKind::event(HotpParameters::default(), 9)),
            enrolled_at: UnixTime::from_secs(77),
            incarnation: crate::validator::record::Incarnation::generate().unwrap(),
            version: 1,
            mac: None,
        }
    }

    fn enrolled(record: &TokenRecord) -> AuditEvent {
        AuditEvent {
            token: record.id.clone(),
            at: UnixTime::from_secs(77),
            operation: Operation::Enrol,
            outcome: Outcome::Done,
            offset: None,
            actor: None,
        }
    }

    #[test]
    fn a_version_1_file_is_migrated_and_keeps_its_records() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("v1.db");
        let old = record("FOB-OLD");
        {
            // A file as version 1 of this library wrote it.
            let connection = Connection::open(&path).unwrap();
            connection.execute_batch(SCHEMA_V1).unwrap();
            connection.execute_batch("PRAGMA user_version = 1").unwrap();
            let row = TokenRow::from_record(&old);
            let all = token_params(&row);
            let v1_columns: Vec<&str> = TOKEN_COLUMNS.iter().take(24).copied().collect();
            let placeholders: Vec<String> = (1..=24).map(|index| format!("?{index}")).collect();
            connection
                .execute(
                    &format!(
                        "INSERT INTO tokens ({}) VALUES ({})",
                        v1_columns.join(", "),
                        placeholders.join(", ")
                    ),
                    &all[..24],
                )
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let version: i64 = store
            .connection()
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, SQLITE_SCHEMA_VERSION);
        let loaded = store.load(&old.id).unwrap().unwrap();
        assert_eq!(
            TokenRecord {
                incarnation: old.incarnation,
                ..loaded
            },
            old
        );
        // The new columns take a keypad token.
        let mut keypad = record("FOB-NEW");
        let suite: OcraSuite = "OCRA-1:HOTP-SHA1-6:C-QN08".parse().unwrap();
        keypad.state.ocra = Some(Box::new(OcraState::new(suite, 5, UnixTime::EPOCH)));
        store.enrol(&keypad, &enrolled(&keypad)).unwrap();
        drop(store);
        // Opening again migrates nothing and reads both back.
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.load(&keypad.id).unwrap(), Some(keypad));
        assert_eq!(store.list().unwrap().len(), 2);
    }

    /// Version 3 gives every existing row its own random incarnation, and the swap
    /// matches it: a record with the migrated version but another incarnation conflicts.
    #[test]
    fn a_version_2_file_is_migrated_and_each_row_gets_an_incarnation() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("v2.db");
        let records = [record("FOB-A"), record("FOB-B")];
        {
            let connection = Connection::open(&path).unwrap();
            connection.execute_batch(SCHEMA_V1).unwrap();
            connection.execute_batch(MIGRATION_V2).unwrap();
            connection.execute_batch("PRAGMA user_version = 2").unwrap();
            let v2_count = TOKEN_COLUMN_COUNT - 3;
            let v2_columns: Vec<&str> = TOKEN_COLUMNS.iter().take(v2_count).copied().collect();
            assert!(!v2_columns.contains(&"incarnation"));
            let placeholders: Vec<String> =
                (1..=v2_count).map(|index| format!("?{index}")).collect();
            for old in &records {
                let row = TokenRow::from_record(old);
                connection
                    .execute(
                        &format!(
                            "INSERT INTO tokens ({}) VALUES ({})",
                            v2_columns.join(", "),
                            placeholders.join(", ")
                        ),
                        &token_params(&row)[..v2_count],
                    )
                    .unwrap();
            }
        }
        let store = SqliteStore::open(&path).unwrap();
        let loaded: Vec<TokenRecord> = records
            .iter()
            .map(|old| store.load(&old.id).unwrap().unwrap())
            .collect();
        for (old, new) in records.iter().zip(&loaded) {
            assert_eq!(
                &TokenRecord {
                    incarnation: old.incarnation,
                    ..new.clone()
                },
                old
            );
        }
        assert_ne!(loaded[0].incarnation, loaded[1].incarnation);
        assert_ne!(loaded[0].incarnation.to_bytes(), [0; 16]);
        let mut stranger = loaded[0].clone();
        stranger.incarnation = records[0].incarnation;
        stranger.version = 2;
        assert_eq!(
            store
                .compare_and_swap(&stranger, 1, &enrolled(&stranger))
                .unwrap(),
            Swap::Conflict
        );
        let mut next = loaded[0].clone();
        next.version = 2;
        assert_eq!(
            store.compare_and_swap(&next, 1, &enrolled(&next)).unwrap(),
            Swap::Swapped
        );
    }

    #[test]
    fn a_newer_file_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("v5.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 5")
            .unwrap();
        assert_eq!(
            SqliteStore::open(&path).unwrap_err(),
            StoreError::SchemaTooNew {
                found: 5,
                supported: 4
            }
        );
    }
}
