//! Where token records live: the backends of the validator's
//! [`Store`](crate::validator::Store) trait (memory, SQLite, PostgreSQL) and, for the two SQL
//! stores, one shared row codec. The trait itself stands beside its user, in
//! `validator/store.rs`, as rustls defines `StoresServerSessions` where it is used.
//!
//! Main types: [`MemoryStore`] (tests, one process), `SqliteStore` (feature `sqlite`:
//! one durable file), `PgStore` with `PgConfig` (feature `postgres`: many validator
//! nodes), and their constants (audit capacity, pool size, schema versions).

#[cfg(feature = "postgres")]
pub(crate) mod error;
mod memory;
#[cfg(feature = "postgres")]
mod pg;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod row;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
pub use error::{PgConfigError, PgConnectError};
pub use memory::{DEFAULT_AUDIT_CAPACITY, MemoryStore};
#[cfg(feature = "postgres")]
pub use pg::{
    DEFAULT_PG_POOL_SIZE, DEFAULT_PG_SCHEMA, DEFAULT_PG_TIMEOUT, POSTGRES_SCHEMA_VERSION, PgConfig,
    PgStore, PgTls,
};
#[cfg(feature = "sqlite")]
pub use sqlite::{
    DEFAULT_GROUP_COMMIT_MAX_BATCH, DEFAULT_GROUP_COMMIT_QUEUE, GROUP_COMMIT_BATCH_BUCKETS,
    GroupCommitStatistics, SqliteOptions,
};
#[cfg(feature = "sqlite")]
pub use sqlite::{SQLITE_SCHEMA_VERSION, SqliteStore};

/// The error of a rejection's probe that matched a stored record (see
/// [`Store::record_rejection`](crate::validator::Store::record_rejection)): the memory
/// and SQLite stores answer it with nothing written.
pub(crate) fn probe_matched(token: &str) -> crate::validator::error::StoreError {
    crate::validator::error::StoreError::Corrupt {
        token: token.to_owned(),
        reason: "a rejection's probe matched the stored record; nothing was written".to_owned(),
    }
}
