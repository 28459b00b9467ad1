//! The durable embedded store: one SQLite file, in WAL mode with full synchronisation,
//! its writes batched into shared commits by a writer thread (`group_commit`).

mod checkpoint;
mod group_commit;

pub use group_commit::{
    DEFAULT_GROUP_COMMIT_MAX_BATCH, DEFAULT_GROUP_COMMIT_QUEUE, GROUP_COMMIT_BATCH_BUCKETS,
    GroupCommitStatistics,
};

use std::path::Path;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use group_commit::{BatchedWrite, GroupCommit, run_cached};

use crate::store::row::{
    AuditRow, TOKEN_COLUMN_COUNT, TOKEN_COLUMNS, TokenRow, for_each_token_column, to_sql,
};
use crate::validator::audit::AuditEvent;
use crate::validator::error::StoreError;
use crate::validator::lifecycle::CustomerRef;
use crate::validator::record::{TokenId, TokenRecord};
use crate::validator::store::{Store, Swap};

/// The schema version this library writes and reads (`PRAGMA user_version`).
///
/// Version 2 added the nullable `ocra_*` columns of keypad tokens; version 3 the
/// `incarnation` of each record; version 4 each record's MAC; version 5 the audit
/// table's `actor`; version 6 the EMV-CAP card kind and its `cap_*` columns; version 7
/// the `rejection_probes` table; version 8 the life cycle's `owner` and validity
/// period; version 9 the audit trail's context columns, chain links and each record's
/// chain head; version 10 the `rejection_standin` table in place of `rejection_probes`;
/// version 11 each token's use limit (`uses_left`) and replaced token (`replaces`);
/// version 12 the audit table's `given_reason`; version 13 a fob's sealed unlock key
/// (`unlock_seal_*`); version 14 the same `kind` check written as comparisons, which
/// SQLite checks without a temporary b-tree. An older file is migrated when opened.
pub const SQLITE_SCHEMA_VERSION: i64 = 14;

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

/// Version 5: who caused each audit event (the API client, operator or service named
/// by `acting_as`). Events recorded before it have none: null, not a guess.
const MIGRATION_V5: &str = "
ALTER TABLE audit ADD COLUMN actor TEXT;
";

/// Version 6: EMV-CAP cards, kind `cap`, with their public profile in nullable
/// `cap_*` columns (null for every other kind). SQLite cannot change a `CHECK`
/// constraint in place, so the `tokens` table is rebuilt with `cap` among the kinds
/// and every row copied across, inside the migration's one transaction.
const MIGRATION_V6: &str = "
CREATE TABLE tokens_v6 (
    id                 TEXT PRIMARY KEY NOT NULL,
    version            INTEGER NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('event', 'time', 'cap')),
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
    enrolled_nanos     INTEGER NOT NULL,
    ocra_suite TEXT,
    ocra_counter INTEGER,
    ocra_drift_steps INTEGER,
    ocra_synced_seconds INTEGER,
    ocra_synced_nanos INTEGER,
    ocra_challenge_state TEXT,
    ocra_challenge TEXT,
    ocra_challenge_expires_seconds INTEGER,
    ocra_challenge_expires_nanos INTEGER,
    ocra_transaction_nonce BLOB,
    ocra_transaction_digest BLOB,
    ocra_pin_key_id INTEGER,
    ocra_pin_nonce BLOB,
    ocra_pin_ciphertext BLOB,
    incarnation BLOB CHECK (length(incarnation) = 16),
    mac_key_id INTEGER,
    mac BLOB CHECK (length(mac) = 32),
    cap_pan TEXT,
    cap_sequence INTEGER,
    cap_expiry_year INTEGER,
    cap_expiry_month INTEGER,
    cap_derivation TEXT,
    cap_interchange_profile BLOB,
    cap_bitmap BLOB,
    cap_flags INTEGER,
    cap_modes INTEGER,
    cap_look_ahead INTEGER
) STRICT;
INSERT INTO tokens_v6 (
    id, version, kind, algorithm, digits, time_step, t0, next_counter,
    last_accepted_step, drift_steps, synced_seconds, synced_nanos, failures, lockouts,
    lock_kind, lock_seconds, lock_nanos, status, seal_key_id, seal_nonce,
    seal_ciphertext, pin_hash, enrolled_seconds, enrolled_nanos, ocra_suite,
    ocra_counter, ocra_drift_steps, ocra_synced_seconds, ocra_synced_nanos,
    ocra_challenge_state, ocra_challenge, ocra_challenge_expires_seconds,
    ocra_challenge_expires_nanos, ocra_transaction_nonce, ocra_transaction_digest,
    ocra_pin_key_id, ocra_pin_nonce, ocra_pin_ciphertext, incarnation, mac_key_id, mac)
SELECT
    id, version, kind, algorithm, digits, time_step, t0, next_counter,
    last_accepted_step, drift_steps, synced_seconds, synced_nanos, failures, lockouts,
    lock_kind, lock_seconds, lock_nanos, status, seal_key_id, seal_nonce,
    seal_ciphertext, pin_hash, enrolled_seconds, enrolled_nanos, ocra_suite,
    ocra_counter, ocra_drift_steps, ocra_synced_seconds, ocra_synced_nanos,
    ocra_challenge_state, ocra_challenge, ocra_challenge_expires_seconds,
    ocra_challenge_expires_nanos, ocra_transaction_nonce, ocra_transaction_digest,
    ocra_pin_key_id, ocra_pin_nonce, ocra_pin_ciphertext, incarnation, mac_key_id, mac
FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_v6 RENAME TO tokens;
";

/// Version 7: the page a rejection probe writes (`Store::record_rejection`). A
/// rejection of an enrolled token commits its row's page with its audit row; a probe
/// for an unknown id matches no row, so without this table it would commit one page
/// fewer and answer measurably sooner (issue 11: about 20 % on SQLite). Its one row
/// counts the probes, which is all it holds: no id, no time.
const MIGRATION_V7: &str = "
CREATE TABLE rejection_probes (
    slot   INTEGER PRIMARY KEY NOT NULL,
    writes INTEGER NOT NULL
) STRICT;
INSERT INTO rejection_probes (slot, writes) VALUES (0, 0);
";

/// Version 8, the token life cycle: the customer who holds each token (`owner`,
/// indexed for `Store::tokens_of`), the statuses `lost`, `revoked` and `expired` (the
/// `status` column has no `CHECK`, so they need no rebuild), and the validity period's
/// ends. Every new column is null for existing rows: unowned, valid forever, as before.
const MIGRATION_V8_LIFECYCLE: &str = "
ALTER TABLE tokens ADD COLUMN owner TEXT;
ALTER TABLE tokens ADD COLUMN not_before_seconds INTEGER;
ALTER TABLE tokens ADD COLUMN not_before_nanos INTEGER;
ALTER TABLE tokens ADD COLUMN not_after_seconds INTEGER;
ALTER TABLE tokens ADD COLUMN not_after_nanos INTEGER;
CREATE INDEX tokens_by_owner ON tokens (owner, id) WHERE owner IS NOT NULL;
";

/// Version 9 (the audit trail): where each audit event came from (kind of actor,
/// channel, request id, node), each event's link in its token's hash chain, and each
/// record's chain head. Existing rows get nulls: old audit rows are unchained, before
/// the chain began, and an old record's chain starts at its next change.
const MIGRATION_AUDIT_TRAIL: &str = "
ALTER TABLE audit ADD COLUMN actor_kind TEXT;
ALTER TABLE audit ADD COLUMN channel TEXT;
ALTER TABLE audit ADD COLUMN request_id TEXT;
ALTER TABLE audit ADD COLUMN node TEXT;
ALTER TABLE audit ADD COLUMN chain_hash BLOB CHECK (length(chain_hash) = 32);
ALTER TABLE tokens ADD COLUMN audit_head BLOB CHECK (length(audit_head) = 32);
";

/// Version 10: the rejection stand-in (issue 11, item 2). A rejection of an enrolled
/// token rewrites its whole row (every column) and reads and decodes it first; the
/// probe of version 7 rewrote a two-column row and a load for an unknown id decoded
/// nothing, so an unknown id answered about 10 % sooner (15 % with group commit).
/// `rejection_standin` has the columns and constraints of `tokens` (its `CREATE` text
/// is copied from `tokens` by [`create_rejection_standin`]) and one row, which a probe
/// rewrites with the decoy's record. Its id is fixed and its MAC is zeros, so it is
/// never a valid record. `rejection_probes` goes. (A load that misses also read and
/// decoded the stand-in at first: that made an unknown id about 5 % slower than a
/// wrong code, so it reads nothing.)
const MIGRATION_V10_STANDIN: &str = "
DROP TABLE IF EXISTS rejection_probes;
DROP TABLE IF EXISTS rejection_standin;
";

/// Version 11 (issue 15): each token's use limit (a temporary replacement or a list of
/// emergency codes ends at a set number of uses), and for a temporary replacement the
/// lost token it stands in for; null (no limit, no replacement) for every existing row.
/// The stand-in gets the columns too, so that it stays the shape of `tokens`.
const MIGRATION_V11_USES_LEFT: &str = "
ALTER TABLE tokens ADD COLUMN uses_left INTEGER CHECK (uses_left >= 0);
ALTER TABLE tokens ADD COLUMN replaces TEXT;
ALTER TABLE rejection_standin ADD COLUMN uses_left INTEGER CHECK (uses_left >= 0);
ALTER TABLE rejection_standin ADD COLUMN replaces TEXT;
";

/// Version 12 (issue 14): why an operator did what an audit event records, as they
/// gave it (a helpdesk member's typed reason), in its own column rather than folded
/// into the actor's name; null for every existing row.
const MIGRATION_V12_GIVEN_REASON: &str = "
ALTER TABLE audit ADD COLUMN given_reason TEXT;
";

/// Version 13 (issue 14): a fob's unlock key, sealed like the secret, so that the bank
/// can answer the unlock challenge of a fob enrolled from its factory record; null for
/// every existing row (no unlock key: soft tokens, PSKC imports, and fobs enrolled
/// before, whose factory records still hold theirs). The stand-in gets the columns too.
const MIGRATION_V13_UNLOCK_KEY: &str = "
ALTER TABLE tokens ADD COLUMN unlock_seal_key_id INTEGER;
ALTER TABLE tokens ADD COLUMN unlock_seal_nonce BLOB CHECK (length(unlock_seal_nonce) = 12);
ALTER TABLE tokens ADD COLUMN unlock_seal_ciphertext BLOB;
ALTER TABLE rejection_standin ADD COLUMN unlock_seal_key_id INTEGER;
ALTER TABLE rejection_standin ADD COLUMN unlock_seal_nonce BLOB CHECK (length(unlock_seal_nonce) = 12);
ALTER TABLE rejection_standin ADD COLUMN unlock_seal_ciphertext BLOB;
";

/// Version 14: the `kind` check of version 6 as three comparisons. SQLite tests `IN`
/// over a list of three or more constants by building a temporary b-tree of the list,
/// anew at every run of the statement: every swap, probe and enrolment opened, filled
/// and closed one (issue 13's profile: a pager created and destroyed per write, its
/// page cache scanned on close, about a twentieth of the group-commit writer's time).
/// Two or fewer, or plain comparisons, are tested in place. The check accepts exactly
/// the kinds it accepted. SQLite cannot change a `CHECK` in place, so
/// [`rebuild_kind_check`] rebuilds `tokens` and `rejection_standin` with every row,
/// inside the migration's one transaction; this SQL then puts back the index that went
/// with the old `tokens`.
const MIGRATION_V14_KIND_CHECK: &str = "
CREATE INDEX IF NOT EXISTS tokens_by_owner ON tokens (owner, id) WHERE owner IS NOT NULL;
";

/// The `kind` check as version 6 wrote it, and as version 14 writes it.
const KIND_CHECK_V6: &str = "CHECK (kind IN ('event', 'time', 'cap'))";
const KIND_CHECK_V14: &str = "CHECK (kind = 'event' OR kind = 'time' OR kind = 'cap')";

/// Rebuilds `table` (`tokens` or `rejection_standin`, which has its definition) with
/// version 14's `kind` check in place of version 6's and every column and row as they
/// are: the new table is made from the old one's own definition, filled, and renamed.
/// A table that already has version 14's check (a file its owner set back to an older
/// version number) is left as it is; one with neither is refused.
fn rebuild_kind_check(connection: &Connection, table: &str) -> Result<(), StoreError> {
    let definition: String = connection
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |row| row.get(0),
        )
        .map_err(backend)?;
    if definition.contains(KIND_CHECK_V14) && !definition.contains(KIND_CHECK_V6) {
        return Ok(());
    }
    let columns = definition
        .find('(')
        .map(|start| &definition[start..])
        .filter(|columns| columns.matches(KIND_CHECK_V6).count() == 1)
        .ok_or_else(|| StoreError::Backend {
            reason: format!("the {table} table's definition has not version 6's kind check"),
        })?;
    let columns = columns.replacen(KIND_CHECK_V6, KIND_CHECK_V14, 1);
    // `execute` runs one statement and refuses any after it: the definition comes from
    // the file, and only the `CREATE TABLE` of it may run.
    connection
        .execute(&format!("CREATE TABLE {table}_v14 {columns}"), [])
        .map_err(backend)?;
    connection
        .execute_batch(&format!(
            "INSERT INTO {table}_v14 SELECT * FROM {table};
             DROP TABLE {table};
             ALTER TABLE {table}_v14 RENAME TO {table};"
        ))
        .map_err(backend)
}

/// The id of the stand-in row: a valid token id, never looked up in `tokens`.
const STANDIN_ID: &str = "rejection-stand-in";

/// Creates `rejection_standin` with the definition of `tokens` as it is now: every
/// column with its type and constraint, so that writing its row costs what writing a
/// token's costs. A later version that adds a column to `tokens` adds it here too
/// (`standin_has_the_columns_of_tokens` checks it).
fn create_rejection_standin(connection: &Connection) -> Result<(), StoreError> {
    let definition: String = connection
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'tokens'",
            [],
            |row| row.get(0),
        )
        .map_err(backend)?;
    let columns = definition
        .find('(')
        .map(|start| &definition[start..])
        .ok_or_else(|| StoreError::Backend {
            reason: "the tokens table's definition has no column list".to_owned(),
        })?;
    connection
        .execute_batch(&format!("CREATE TABLE rejection_standin {columns};"))
        .map_err(backend)
}

/// Each schema version and the SQL that brings the previous version to it, in order.
const MIGRATIONS: [(i64, &str); 14] = [
    (1, SCHEMA_V1),
    (2, MIGRATION_V2),
    (3, MIGRATION_V3),
    (4, MIGRATION_V4),
    (5, MIGRATION_V5),
    (6, MIGRATION_V6),
    (7, MIGRATION_V7),
    (8, MIGRATION_V8_LIFECYCLE),
    (9, MIGRATION_AUDIT_TRAIL),
    (10, MIGRATION_V10_STANDIN),
    (11, MIGRATION_V11_USES_LEFT),
    (12, MIGRATION_V12_GIVEN_REASON),
    (13, MIGRATION_V13_UNLOCK_KEY),
    (14, MIGRATION_V14_KIND_CHECK),
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

/// The probe's rewrite of the stand-in row: the compare-and-swap's `UPDATE`, with the
/// same parameters, on `rejection_standin`; the id stays the stand-in's, the version
/// counts the probes and the MAC is written as zeros, so the row is never a record
/// that checks.
static SWAP_STANDIN: LazyLock<String> = LazyLock::new(|| {
    let assignments: Vec<String> = TOKEN_COLUMNS
        .iter()
        .enumerate()
        .skip(1)
        .map(|(index, column)| match *column {
            "mac" => "mac = zeroblob(32)".to_owned(),
            // The decoy's record is the same at every probe, and SQLite does not
            // write a row whose bytes do not change: the version moves, as a swap's
            // does, so that every probe writes the row's page.
            "version" => "version = version + 1".to_owned(),
            _ => format!("{column} = ?{}", index + 1),
        })
        .collect();
    format!(
        "UPDATE rejection_standin SET {} \
         WHERE id = '{STANDIN_ID}' AND ?1 IS NOT NULL AND ?{} IS NOT NULL",
        assignments.join(", "),
        TOKEN_COLUMN_COUNT + 1
    )
});

/// The stand-in row's first write (or its rewrite after someone deleted it).
static INSERT_STANDIN: LazyLock<String> = LazyLock::new(|| {
    let values: Vec<String> = TOKEN_COLUMNS
        .iter()
        .enumerate()
        .map(|(index, column)| match *column {
            "id" => format!("'{STANDIN_ID}'"),
            "mac" => "zeroblob(32)".to_owned(),
            _ => format!("?{}", index + 1),
        })
        .collect();
    format!(
        "INSERT INTO rejection_standin ({}) SELECT {} WHERE ?1 IS NOT NULL",
        TOKEN_COLUMNS.join(", "),
        values.join(", ")
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
/// # Group commit
///
/// A store opened on a file batches its writes by default (see [`SqliteOptions`]): a
/// writer thread owns the write connection and commits every compare-and-swap, audit
/// append, enrolment and deletion waiting at that moment in one transaction with one
/// `fsync`, answering each caller only once that commit is on disk. Without it each
/// write is one `fsync`, which caps the store at the disk's flush rate (some thousands
/// a second) however many threads verify; with it, concurrent verifications share the
/// flushes. Reads go through their own connection and never wait for the writer.
/// [`SqliteStore::group_commit_statistics`] reports the batch sizes for metrics.
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
    /// Every read; and every write too when there is no group-commit writer.
    connection: Mutex<Connection>,
    /// The group-commit writer, which then owns the only write connection.
    writer: Option<GroupCommit<Write>>,
    /// The thread that checkpoints the log for the group-commit writer.
    checkpointer: Option<checkpoint::Checkpointer>,
}

/// How [`SqliteStore::open_with`] opens a store.
///
/// Group commit is on by default: it keeps the [`Store`] contract exactly (durable
/// before `Swapped`, audit rows in the change's transaction, each compare-and-swap
/// checked on its own), costs three threads (the writer, one that answers the callers
/// of large batches and one that checkpoints the log, both off the writer's path) and
/// two more connections per store and, for a lone
/// caller, one hand-over to the writer thread (microseconds beside the
/// milliseconds of an `fsync`), and multiplies the write rate under concurrency by
/// the number of writes that share each commit. Turn it off to compare, or for a
/// process that writes from one thread only and wants no extra thread.
///
/// ```
/// use otpfob::{SqliteOptions, SqliteStore};
///
/// let directory = tempfile::tempdir()?;
/// let options = SqliteOptions::new().group_commit_max_batch(64).group_commit_queue(256);
/// let store = SqliteStore::open_with(directory.path().join("tokens.db"), &options)?;
/// assert!(store.group_commit_statistics().is_some());
/// let plain = SqliteStore::open_with(
///     directory.path().join("plain.db"),
///     &SqliteOptions::new().without_group_commit(),
/// )?;
/// assert!(plain.group_commit_statistics().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    group_commit: bool,
    max_batch: usize,
    queue: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl SqliteOptions {
    /// Group commit on, with [`DEFAULT_GROUP_COMMIT_MAX_BATCH`] writes per commit at
    /// most and [`DEFAULT_GROUP_COMMIT_QUEUE`] writes waiting at most.
    #[must_use]
    pub fn new() -> Self {
        Self {
            group_commit: true,
            max_batch: DEFAULT_GROUP_COMMIT_MAX_BATCH,
            queue: DEFAULT_GROUP_COMMIT_QUEUE,
        }
    }

    /// Each write its own transaction and its own `fsync`, on the calling thread.
    #[must_use]
    pub fn without_group_commit(mut self) -> Self {
        self.group_commit = false;
        self
    }

    /// At most `writes` writes per commit (at least 1): bounds how long the last
    /// write of a batch waits behind the others.
    #[must_use]
    pub fn group_commit_max_batch(mut self, writes: usize) -> Self {
        self.max_batch = writes.max(1);
        self
    }

    /// At most `writes` writes waiting for the writer (at least 1); a caller that finds
    /// the queue full waits for room.
    #[must_use]
    pub fn group_commit_queue(mut self, writes: usize) -> Self {
        self.queue = writes.max(1);
        self
    }

    /// Whether writes are batched.
    #[must_use]
    pub fn group_commit(&self) -> bool {
        self.group_commit
    }
}

/// A write as the group-commit writer runs it; rows are built by the caller, off the
/// writer thread.
enum Write {
    Enrol {
        row: TokenRow,
        audit: AuditRow,
    },
    Swap {
        row: TokenRow,
        expected_version: u64,
        audit: AuditRow,
    },
    Delete {
        id: String,
        audit: AuditRow,
    },
    Audit {
        audit: AuditRow,
    },
    Probe {
        row: TokenRow,
        expected_version: u64,
        audit: AuditRow,
    },
}

/// A write's answer.
enum Written {
    Enrolled,
    Swap(Swap),
    Deleted(bool),
    Appended,
}

impl BatchedWrite for Write {
    type Output = Written;

    fn apply(&self, connection: &Connection) -> Result<Written, StoreError> {
        match self {
            Write::Enrol { row, audit } => {
                write_enrol(connection, row, audit).map(|()| Written::Enrolled)
            }
            Write::Swap {
                row,
                expected_version,
                audit,
            } => write_swap(connection, row, *expected_version, audit).map(Written::Swap),
            Write::Delete { id, audit } => {
                write_delete(connection, id, audit).map(Written::Deleted)
            }
            Write::Audit { audit } => insert_audit(connection, audit).map(|()| Written::Appended),
            Write::Probe {
                row,
                expected_version,
                audit,
            } => write_probe(connection, row, *expected_version, audit).map(|()| Written::Appended),
        }
    }
}

/// A `BEGIN IMMEDIATE` transaction (a write without group commit, or a writer's batch),
/// begun and committed through the statement cache (rusqlite's `Transaction` parses
/// `BEGIN` and `COMMIT` again on every call); rolled back when dropped uncommitted.
struct WriteTransaction<'connection> {
    connection: &'connection Connection,
    open: bool,
}

impl<'connection> WriteTransaction<'connection> {
    fn begin(connection: &'connection Connection) -> Result<Self, StoreError> {
        run_cached(connection, "BEGIN IMMEDIATE")?;
        Ok(Self {
            connection,
            open: true,
        })
    }

    fn commit(mut self) -> Result<(), StoreError> {
        self.open = false;
        let committed = run_cached(self.connection, "COMMIT");
        if committed.is_err() && !self.connection.is_autocommit() {
            let _ = run_cached(self.connection, "ROLLBACK");
        }
        committed
    }
}

impl std::ops::Deref for WriteTransaction<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.connection
    }
}

impl Drop for WriteTransaction<'_> {
    fn drop(&mut self) {
        if self.open && !self.connection.is_autocommit() {
            let _ = run_cached(self.connection, "ROLLBACK");
        }
    }
}

/// The answer of a write that cannot have come back from the writer.
fn unexpected() -> StoreError {
    StoreError::Backend {
        reason: "the group-commit writer answered a different write".to_owned(),
    }
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
        Self::open_with(path, &SqliteOptions::new())
    }

    /// [`SqliteStore::open`] with `options`: group commit on or off, and its bounds.
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`], and [`StoreError::Backend`] if the writer thread cannot
    /// be started.
    pub fn open_with(path: impl AsRef<Path>, options: &SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref();
        create_owner_only(path)?;
        let mut connection = configure(Connection::open(path).map_err(backend)?)?;
        migrate(&mut connection)?;
        if !options.group_commit {
            return Ok(Self {
                connection: Mutex::new(connection),
                writer: None,
                checkpointer: None,
            });
        }
        let reader = configure(Connection::open(path).map_err(backend)?)?;
        // Every write goes through the writer; a write on the read connection would be
        // a bug that bypassed the batching, so SQLite refuses it.
        reader
            .execute_batch("PRAGMA query_only = ON")
            .map_err(backend)?;
        let checkpoints = configure(Connection::open(path).map_err(backend)?)?;
        let checkpointer = checkpoint::Checkpointer::start(checkpoints, &mut connection)?;
        let writer = GroupCommit::start(connection, options.max_batch, options.queue)?;
        Ok(Self {
            connection: Mutex::new(reader),
            writer: Some(writer),
            checkpointer: Some(checkpointer),
        })
    }

    /// What the group-commit writer has done so far (commits, writes, batch sizes),
    /// for metrics; `None` for a store without group commit.
    #[must_use]
    pub fn group_commit_statistics(&self) -> Option<GroupCommitStatistics> {
        self.writer.as_ref().map(GroupCommit::statistics)
    }

    /// Stops the group-commit writer once the writes queued before this call are
    /// committed and answered, and closes its connection: for a graceful shutdown.
    /// Every later write fails with [`StoreError::Backend`] (the validator rejects);
    /// reads still work. Dropping the store does the same. A store without group
    /// commit has no writer to stop, and keeps writing.
    pub fn close_writer(&self) {
        if let Some(writer) = &self.writer {
            writer.close();
        }
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.stop();
        }
    }

    /// A store in memory only, for tests: the same SQL, no durability. An in-memory
    /// database belongs to its one connection, so this store has no group-commit
    /// writer.
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`].
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let mut connection = configure(Connection::open_in_memory().map_err(backend)?)?;
        migrate(&mut connection)?;
        Ok(Self {
            connection: Mutex::new(connection),
            writer: None,
            checkpointer: None,
        })
    }

    fn connection(&self) -> MutexGuard<'_, Connection> {
        // A panic while the connection was held leaves SQLite's own state consistent:
        // an open transaction is rolled back when its guard drops.
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sets the busy timeout, WAL and `synchronous = FULL` on a new connection.
fn configure(connection: Connection) -> Result<Connection, StoreError> {
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
        .execute_batch(&format!(
            "PRAGMA synchronous = FULL; PRAGMA cache_size = -{PAGE_CACHE_KIB};"
        ))
        .map_err(backend)?;
    // Every statement the store runs stays prepared: with rusqlite's default of 16 a
    // connection that runs them all would evict and parse some on every call.
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(connection)
}

/// Each connection's page cache, in KiB (SQLite's default is 2,048). The writer
/// updates tokens at random and inserts into the audit index at random places, so a
/// larger cache reads back fewer of the pages it evicted; but a larger cache also
/// costs every commit more. When a b-tree balance swaps two pages' numbers, SQLite
/// parks one under the number of the page that holds the lock byte (262,145 with
/// 4 KiB pages), and the end of the transaction then drops every cached page past the
/// file's end by walking the cache's whole hash table (`pcache1TruncateUnsafe`), a
/// walk as long as the cache is large. Inserts at random places into an index balance
/// at nearly every commit, so in issue 13's load a 64 MiB cache spent about a fifth of
/// the writer's user-space time there. In four alternating 30 s in-process rounds of
/// 8, 16 and 64 MiB (2 and 4 MiB in two of them), 8 MiB did best at 64 threads (18.5
/// thousand verifications a second on average against 16.6 with 64 MiB) and at 16
/// (14.9 against 13.8), on average. SQLite allocates the cache as pages are read, so
/// a small store uses what it needs; readers drop theirs whenever the log has changed,
/// so theirs stays small whatever this is.
const PAGE_CACHE_KIB: u32 = 8 * 1024;

/// More than the store's distinct statements (about 20), so none is ever evicted.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// Brings the file's schema up to this library's version.
fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
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
        migrate_between(&transaction, found, SQLITE_SCHEMA_VERSION)?;
        transaction
            .execute_batch(&format!("PRAGMA user_version = {SQLITE_SCHEMA_VERSION}"))
            .map_err(backend)?;
    }
    transaction.commit().map_err(backend)
}

/// Runs the migrations after version `from` up to version `to`, inside the caller's
/// transaction.
fn migrate_between(connection: &Connection, from: i64, to: i64) -> Result<(), StoreError> {
    for (version, sql) in MIGRATIONS {
        if from < version && version <= to {
            if version == 14 {
                rebuild_kind_check(connection, "tokens")?;
                rebuild_kind_check(connection, "rejection_standin")?;
            }
            connection.execute_batch(sql).map_err(backend)?;
            if version == 10 {
                create_rejection_standin(connection)?;
            }
        }
    }
    Ok(())
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

fn insert_audit(connection: &Connection, row: &AuditRow) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO audit \
             (token, at_seconds, at_nanos, operation, outcome, reason, offset, actor, \
              actor_kind, channel, request_id, node, chain_hash, given_reason) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .map_err(backend)?
        .execute(params![
            row.token,
            row.at_seconds,
            row.at_nanos,
            row.operation,
            row.outcome,
            row.reason,
            row.offset,
            row.actor,
            row.actor_kind,
            row.channel,
            row.request_id,
            row.node,
            row.chain_hash,
            row.given_reason
        ])
        .map_err(backend)?;
    Ok(())
}

/// Inserts a new token's row and its audit row, inside the caller's transaction.
fn write_enrol(
    connection: &Connection,
    row: &TokenRow,
    audit: &AuditRow,
) -> Result<(), StoreError> {
    let inserted = connection
        .prepare_cached(&INSERT_TOKEN)
        .map_err(backend)?
        .execute(&token_params(row)[..])
        .map_err(backend)?;
    if inserted == 0 {
        return Err(StoreError::AlreadyEnrolled {
            token: row.id.clone(),
        });
    }
    insert_audit(connection, audit)
}

/// The compare-and-swap and its audit row, inside the caller's transaction; on
/// `Conflict` nothing was written.
fn write_swap(
    connection: &Connection,
    row: &TokenRow,
    expected_version: u64,
    audit: &AuditRow,
) -> Result<Swap, StoreError> {
    if execute_swap(connection, row, expected_version)? == 0 {
        return Ok(Swap::Conflict);
    }
    insert_audit(connection, audit)?;
    Ok(Swap::Swapped)
}

/// The compare-and-swap's `UPDATE`; how many rows it changed (0 or 1).
fn execute_swap(
    connection: &Connection,
    row: &TokenRow,
    expected_version: u64,
) -> Result<usize, StoreError> {
    execute_with_row(connection, &SWAP_TOKEN, row, expected_version)
}

/// Runs `sql` with every column of `row` (?1 onwards) and the expected version after
/// them; how many rows it changed.
fn execute_with_row(
    connection: &Connection,
    sql: &str,
    row: &TokenRow,
    expected_version: u64,
) -> Result<usize, StoreError> {
    let mut statement = connection.prepare_cached(sql).map_err(backend)?;
    let expected = to_sql(expected_version);
    let mut values: Vec<&dyn rusqlite::ToSql> = token_params(row).to_vec();
    values.push(&expected);
    statement.execute(&values[..]).map_err(backend)
}

/// A rejection's write, inside the caller's transaction: the compare-and-swap's
/// `UPDATE` for a probe that matches no row, the same `UPDATE` of the stand-in row in
/// its place (version 10), then the audit row, so that it costs what a swap costs. A
/// probe that matched fails, and the caller's transaction (or the writer's savepoint)
/// is rolled back: it is never kept.
fn write_probe(
    connection: &Connection,
    row: &TokenRow,
    expected_version: u64,
    audit: &AuditRow,
) -> Result<(), StoreError> {
    if execute_swap(connection, row, expected_version)? != 0 {
        return Err(super::probe_matched(&row.id));
    }
    // The swap matched no row and so changed no page; a rejected enrolled token's swap
    // rewrites its whole row. Rewrite the stand-in's, with the same statement and
    // values, so both write as much and commit as many pages. (SQLite leaves a page
    // whose bytes do not change clean, and the decoy's record is the same at every
    // probe: the stand-in's version counts the probes.) The insert puts back a row
    // someone deleted.
    if execute_with_row(connection, &SWAP_STANDIN, row, expected_version)? == 0 {
        connection
            .prepare_cached(&INSERT_STANDIN)
            .map_err(backend)?
            .execute(&token_params(row)[..])
            .map_err(backend)?;
    }
    insert_audit(connection, audit)
}

/// Deletes a token's row with its audit row, inside the caller's transaction; `false`
/// (nothing written) if there was none.
fn write_delete(connection: &Connection, id: &str, audit: &AuditRow) -> Result<bool, StoreError> {
    let deleted = connection
        .prepare_cached("DELETE FROM tokens WHERE id = ?1")
        .map_err(backend)?
        .execute([id])
        .map_err(backend)?;
    if deleted == 0 {
        return Ok(false);
    }
    insert_audit(connection, audit)?;
    Ok(true)
}

/// A stored id read back; one that is not a valid id is corruption.
fn token_id(id: String) -> Result<TokenId, StoreError> {
    TokenId::new(id.clone()).map_err(|_| StoreError::Corrupt {
        token: id,
        reason: "invalid token id".to_owned(),
    })
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
        let audit = AuditRow::from_event(audit);
        if let Some(writer) = &self.writer {
            return match writer.submit(Write::Enrol { row, audit })? {
                Written::Enrolled => Ok(()),
                _ => Err(unexpected()),
            };
        }
        let connection = self.connection();
        let transaction = WriteTransaction::begin(&connection)?;
        write_enrol(&transaction, &row, &audit)?;
        transaction.commit()
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
        let audit = AuditRow::from_event(audit);
        if let Some(writer) = &self.writer {
            let write = Write::Swap {
                row,
                expected_version,
                audit,
            };
            return match writer.submit(write)? {
                Written::Swap(swap) => Ok(swap),
                _ => Err(unexpected()),
            };
        }
        let connection = self.connection();
        let transaction = WriteTransaction::begin(&connection)?;
        let swap = write_swap(&transaction, &row, expected_version, &audit)?;
        if swap == Swap::Swapped {
            transaction.commit()?;
        }
        Ok(swap)
    }

    fn delete(&self, id: &TokenId, audit: &AuditEvent) -> Result<bool, StoreError> {
        let audit = AuditRow::from_event(audit);
        if let Some(writer) = &self.writer {
            let write = Write::Delete {
                id: id.to_string(),
                audit,
            };
            return match writer.submit(write)? {
                Written::Deleted(deleted) => Ok(deleted),
                _ => Err(unexpected()),
            };
        }
        let connection = self.connection();
        let transaction = WriteTransaction::begin(&connection)?;
        let deleted = write_delete(&transaction, id.as_str(), &audit)?;
        if deleted {
            transaction.commit()?;
        }
        Ok(deleted)
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
        ids.into_iter().map(token_id).collect()
    }

    fn list_page(&self, after: Option<&TokenId>, limit: usize) -> Result<Vec<TokenId>, StoreError> {
        let connection = self.connection();
        // Every id is longer than "", so the first page needs no second statement.
        let after = after.map_or("", TokenId::as_str);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut statement = connection
            .prepare_cached("SELECT id FROM tokens WHERE id > ?1 ORDER BY id LIMIT ?2")
            .map_err(backend)?;
        let ids = statement
            .query_map(params![after, limit], |row| row.get::<_, String>(0))
            .map_err(backend)?
            .collect::<Result<Vec<String>, _>>()
            .map_err(backend)?;
        ids.into_iter().map(token_id).collect()
    }

    fn tokens_of(&self, owner: &CustomerRef) -> Result<Vec<TokenId>, StoreError> {
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached("SELECT id FROM tokens WHERE owner = ?1 ORDER BY id")
            .map_err(backend)?;
        let ids = statement
            .query_map(params![owner.as_str()], |row| row.get::<_, String>(0))
            .map_err(backend)?
            .collect::<Result<Vec<String>, _>>()
            .map_err(backend)?;
        ids.into_iter().map(token_id).collect()
    }

    fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let audit = AuditRow::from_event(event);
        if let Some(writer) = &self.writer {
            return match writer.submit(Write::Audit { audit })? {
                Written::Appended => Ok(()),
                _ => Err(unexpected()),
            };
        }
        insert_audit(&self.connection(), &audit)
    }

    fn record_rejection(
        &self,
        probe: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let row = TokenRow::from_record(probe);
        let audit = AuditRow::from_event(audit);
        if let Some(writer) = &self.writer {
            let write = Write::Probe {
                row,
                expected_version,
                audit,
            };
            return match writer.submit(write)? {
                Written::Appended => Ok(()),
                _ => Err(unexpected()),
            };
        }
        let connection = self.connection();
        let transaction = WriteTransaction::begin(&connection)?;
        // On an error the transaction is dropped, and so rolled back.
        write_probe(&transaction, &row, expected_version, &audit)?;
        transaction.commit()
    }

    fn audit_trail(&self, id: &TokenId, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached(
                "SELECT token, at_seconds, at_nanos, operation, outcome, reason, offset, actor, \
                 actor_kind, channel, request_id, node, chain_hash, given_reason \
                 FROM audit \
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
                    actor: row.get(7)?,
                    actor_kind: row.get(8)?,
                    channel: row.get(9)?,
                    request_id: row.get(10)?,
                    node: row.get(11)?,
                    chain_hash: row.get(12)?,
                    given_reason: row.get(13)?,
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
            unlock_key: None,
            state: TokenState::new(TokenKind::event(HotpParameters::default(), 9)),
            enrolled_at: UnixTime::from_secs(77),
            incarnation: crate::validator::record::Incarnation::generate().unwrap(),
            version: 1,
            owner: None,
            mac: None,
            audit_head: None,
            replaces: None,
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
            context: crate::validator::AuditContext::default(),
            reason: None,
            chain: None,
        }
    }

    /// The stand-in has every column of `tokens`, with the same type, `NOT NULL` and
    /// key, so a probe's rewrite of it is the work of a swap (issue 11, item 2). A
    /// later version that adds a column to `tokens` but not here fails this test (and
    /// every probe, whose statement names the column).
    #[test]
    fn standin_has_the_columns_of_tokens() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(directory.path().join("t.db")).unwrap();
        let connection = store.connection();
        let columns = |table: &str| {
            let mut statement = connection
                .prepare(&format!("PRAGMA table_info({table})"))
                .unwrap();
            statement
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                        row.get::<_, i64>(5)?,
                    ))
                })
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
        };
        let tokens = columns("tokens");
        assert_eq!(tokens.len(), TOKEN_COLUMN_COUNT);
        assert_eq!(columns("rejection_standin"), tokens);
        let definition = |table: &str| -> String {
            connection
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE name = ?1",
                    [table],
                    |row| row.get(0),
                )
                .unwrap()
        };
        let body = |sql: String| sql[sql.find('(').unwrap()..].to_owned();
        assert_eq!(
            body(definition("rejection_standin")),
            body(definition("tokens"))
        );
    }

    /// A probe rewrites the stand-in's whole row with the probe's values (a token's
    /// swap rewrites its whole row), keeping the stand-in's id and writing its MAC as
    /// zeros; a deleted stand-in row is put back; it is never loaded as a token.
    #[test]
    fn a_probe_rewrites_the_standin_row_and_never_makes_it_a_record() {
        let directory = tempfile::tempdir().unwrap();
        for options in [
            SqliteOptions::default(),
            SqliteOptions::default().without_group_commit(),
        ] {
            let path = directory
                .path()
                .join(format!("t{}.db", u8::from(options.group_commit())));
            let store = SqliteStore::open_with(&path, &options).unwrap();
            let mut probe = record("FOB-UNKNOWN");
            probe.mac = Some(crate::validator::sealed::RecordMac {
                key_id: 1,
                tag: [9; 32],
            });
            let mut expected_version = 0;
            for round in 0..4 {
                if round == 2 {
                    // Through a connection of its own: the store's reads are
                    // query-only under group commit.
                    Connection::open(&path)
                        .unwrap()
                        .execute("DELETE FROM rejection_standin", [])
                        .unwrap();
                }
                // The same probe every time, as the decoy's is: the row still moves.
                probe.version = 10;
                expected_version = if round == 0 || round == 2 {
                    10
                } else {
                    expected_version + 1
                };
                store
                    .record_rejection(&probe, probe.version - 1, &enrolled(&probe))
                    .unwrap();
                let (count, id, version, mac, ciphertext): (i64, String, i64, Vec<u8>, Vec<u8>) =
                    store
                        .connection()
                        .query_row(
                            "SELECT count(*), id, version, mac, seal_ciphertext \
                             FROM rejection_standin",
                            [],
                            |row| {
                                Ok((
                                    row.get(0)?,
                                    row.get(1)?,
                                    row.get(2)?,
                                    row.get(3)?,
                                    row.get(4)?,
                                ))
                            },
                        )
                        .unwrap();
                assert_eq!(count, 1);
                assert_eq!(id, STANDIN_ID);
                assert_eq!(version, expected_version);
                assert_eq!(mac, [0; 32]);
                assert_eq!(ciphertext, probe.sealed_secret.ciphertext.to_vec());
            }
            assert_eq!(store.load(&probe.id).unwrap(), None);
            assert_eq!(
                store.load(&TokenId::new(STANDIN_ID).unwrap()).unwrap(),
                None
            );
            assert!(store.list().unwrap().is_empty());
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
            let v2_count = TOKEN_COLUMNS
                .iter()
                .position(|column| *column == "incarnation")
                .unwrap();
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

    /// Version 5 adds the audit actor: an event recorded before it reads back with
    /// none, and a new one keeps its actor.
    #[test]
    fn a_version_4_file_is_migrated_and_old_audit_rows_have_no_actor() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("v4.db");
        let old = record("FOB-OLD");
        {
            let connection = Connection::open(&path).unwrap();
            for (_, sql) in &MIGRATIONS[..4] {
                connection.execute_batch(sql).unwrap();
            }
            connection.execute_batch("PRAGMA user_version = 4").unwrap();
            let audit = AuditRow::from_event(&enrolled(&old));
            connection
                .execute(
                    "INSERT INTO audit (token, at_seconds, at_nanos, operation, outcome) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        audit.token,
                        audit.at_seconds,
                        audit.at_nanos,
                        audit.operation,
                        audit.outcome
                    ],
                )
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let version: i64 = store
            .connection()
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, SQLITE_SCHEMA_VERSION);
        let named = AuditEvent {
            actor: Some("helpdesk-7".into()),
            operation: Operation::Unlock,
            ..enrolled(&old)
        };
        store.append_audit(&named).unwrap();
        assert_eq!(
            store.audit_trail(&old.id, 10).unwrap(),
            vec![enrolled(&old), named]
        );
    }

    /// The opcodes SQLite compiles `sql` to on `connection`.
    fn opcodes(connection: &Connection, sql: &str) -> Vec<String> {
        // raw_query: the statements' parameters stay unbound (NULL), which EXPLAIN
        // does not mind; query_map would insist that every one is given.
        let mut statement = connection.prepare(&format!("EXPLAIN {sql}")).unwrap();
        let mut rows = statement.raw_query();
        let mut opcodes = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            opcodes.push(row.get::<_, String>(1).unwrap());
        }
        opcodes
    }

    /// The writes every verification makes, and enrolment, check their rows without a
    /// temporary b-tree (version 14): version 6's `kind IN (three kinds)` had every
    /// swap and probe build and drop one (issue 13's profile).
    #[test]
    fn the_token_writes_build_no_temporary_btree() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(directory.path().join("t.db")).unwrap();
        let connection = store.connection();
        for sql in [
            &*SWAP_TOKEN,
            &*SWAP_STANDIN,
            &*INSERT_TOKEN,
            &*INSERT_STANDIN,
        ] {
            let opcodes = opcodes(&connection, sql);
            assert!(opcodes.iter().any(|opcode| opcode == "TypeCheck"), "{sql}");
            assert!(
                !opcodes.iter().any(|opcode| opcode == "OpenEphemeral"),
                "{sql} builds a temporary b-tree"
            );
        }
    }

    /// A version-13 file (written by the migrations up to 13, with a token and the
    /// stand-in row in it) is rebuilt to version 14: the rows read back as they were,
    /// both tables have the new check and still the same definition, the owner index
    /// is back, and a kind that is not a token kind is still refused.
    #[test]
    fn a_version_13_file_is_rebuilt_with_its_rows_and_the_same_kind_check() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("v13.db");
        let old = TokenRecord {
            owner: Some(crate::validator::lifecycle::CustomerRef::new("customer-13").unwrap()),
            ..record("FOB-13")
        };
        {
            let mut connection = Connection::open(&path).unwrap();
            let transaction = connection.transaction().unwrap();
            migrate_between(&transaction, 0, 13).unwrap();
            transaction
                .execute_batch("PRAGMA user_version = 13")
                .unwrap();
            let row = TokenRow::from_record(&old);
            transaction
                .execute(&INSERT_TOKEN, &token_params(&row)[..])
                .unwrap();
            transaction
                .execute(&INSERT_STANDIN, &token_params(&row)[..])
                .unwrap();
            transaction.commit().unwrap();
            let definition: String = connection
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE name = 'tokens'",
                    [],
                    |row| row.get(0),
                )
                .unwrap();
            assert!(definition.contains(KIND_CHECK_V6));
        }
        let store = SqliteStore::open(&path).unwrap();
        let connection = store.connection();
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, 14);
        for table in ["tokens", "rejection_standin"] {
            let definition: String = connection
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE name = ?1",
                    [table],
                    |row| row.get(0),
                )
                .unwrap();
            assert!(definition.contains(KIND_CHECK_V14), "{definition}");
            assert!(!definition.contains(KIND_CHECK_V6), "{definition}");
            let rows: i64 = connection
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                    row.get(0)
                })
                .unwrap();
            assert_eq!(rows, 1, "{table}");
        }
        let index: i64 = connection
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'tokens_by_owner'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(index, 1);
        // The store's own connection is read-only; a second one writes.
        let refused = Connection::open(&path)
            .unwrap()
            .execute("UPDATE tokens SET kind = 'card' WHERE id = 'FOB-13'", [])
            .unwrap_err();
        assert!(refused.to_string().contains("CHECK"), "{refused}");
        drop(connection);
        assert_eq!(store.load(&old.id).unwrap(), Some(old.clone()));
        assert_eq!(
            store.tokens_of(old.owner.as_ref().unwrap()).unwrap(),
            vec![old.id.clone()]
        );
    }

    /// The rebuild leaves a table that has version 14's check as it is, and refuses one
    /// with neither check rather than guess at its definition.
    #[test]
    fn the_kind_check_rebuild_keeps_a_new_table_and_refuses_an_unknown_one() {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(&format!(
                "CREATE TABLE tokens (id TEXT PRIMARY KEY, kind TEXT NOT NULL {KIND_CHECK_V14});
                 INSERT INTO tokens VALUES ('FOB-14', 'time');
                 CREATE TABLE rejection_standin (id TEXT PRIMARY KEY, kind TEXT NOT NULL);"
            ))
            .unwrap();
        rebuild_kind_check(&connection, "tokens").unwrap();
        let rows: i64 = connection
            .query_row("SELECT count(*) FROM tokens", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 1);
        let refused = rebuild_kind_check(&connection, "rejection_standin").unwrap_err();
        assert!(
            matches!(&refused, StoreError::Backend { reason } if reason.contains("kind check")),
            "{refused:?}"
        );
    }

    /// The rebuild runs the table's definition as read from the file. A definition
    /// edited to carry a statement after it (which could `ATTACH` a file anywhere the
    /// process may write) is refused, and nothing of it runs: SQLite refuses such a
    /// schema when it loads it, and the rebuild runs the definition as one statement
    /// only, should an SQLite ever load it. The file stays at version 13.
    #[test]
    fn a_definition_with_a_statement_after_it_is_refused_and_not_run() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("edited.db");
        {
            let mut connection = Connection::open(&path).unwrap();
            let transaction = connection.transaction().unwrap();
            migrate_between(&transaction, 0, 13).unwrap();
            transaction
                .execute_batch("PRAGMA user_version = 13")
                .unwrap();
            transaction.commit().unwrap();
            connection
                .execute_batch(
                    "PRAGMA writable_schema = ON;
                     UPDATE sqlite_master SET sql = sql || '; CREATE TABLE planted (x)'
                         WHERE name = 'tokens';
                     PRAGMA writable_schema = OFF;",
                )
                .unwrap();
        }
        let refused = SqliteStore::open(&path).unwrap_err();
        assert!(refused.to_string().contains("malformed"), "{refused}");
        // Read past the edited entry, as only this test may.
        let connection = Connection::open(&path).unwrap();
        connection
            .execute_batch("PRAGMA writable_schema = ON")
            .unwrap();
        let planted: i64 = connection
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'planted'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(planted, 0);
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, 13);

        // And the rebuild itself, given such a definition (the connection that edited
        // it has not reloaded its schema), runs none of it.
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(&format!(
                "CREATE TABLE tokens (id TEXT PRIMARY KEY, kind TEXT NOT NULL {KIND_CHECK_V6});
                 PRAGMA writable_schema = ON;
                 UPDATE sqlite_master SET sql = sql || '; CREATE TABLE planted (x)'
                     WHERE name = 'tokens';"
            ))
            .unwrap();
        assert!(rebuild_kind_check(&connection, "tokens").is_err());
        let planted: i64 = connection
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'planted'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(planted, 0);
    }

    #[test]
    fn a_newer_file_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("newer.db");
        let newer = SQLITE_SCHEMA_VERSION + 1;
        Connection::open(&path)
            .unwrap()
            .execute_batch(&format!("PRAGMA user_version = {newer}"))
            .unwrap();
        assert_eq!(
            SqliteStore::open(&path).unwrap_err(),
            StoreError::SchemaTooNew {
                found: newer,
                supported: SQLITE_SCHEMA_VERSION
            }
        );
    }
}
