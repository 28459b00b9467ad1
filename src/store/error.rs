//! What can be wrong with a store's configuration. (The error a store returns,
//! [`StoreError`](crate::StoreError), belongs to the trait and stands beside it in
//! the validator.)

use thiserror::Error;

/// What was wrong with a [`PgConfig`](crate::PgConfig): the PostgreSQL store's
/// connection settings.
///
/// # Security
///
/// A connection string may hold a password, so it is never quoted back, not even in
/// part: a parse error names the option or the kind of mistake only.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PgConfigError {
    /// The connection string (`postgresql://…` URL or `key=value` pairs) could not
    /// be read.
    #[error("the PostgreSQL connection string is not valid: {reason}")]
    ConnectionString {
        /// What the parser reported, without the string itself.
        reason: String,
    },
    /// The PostgreSQL schema name is not 1 to 63 lower-case ASCII letters, digits
    /// and `_`, starting with a letter or `_`, and not starting with `pg_`.
    #[error(
        "the PostgreSQL schema name must be 1 to 63 of a-z, 0-9 and _, start with a letter or _, and not start with pg_; found {schema:?}"
    )]
    Schema {
        /// The name as given.
        schema: String,
    },
    /// The pool size is 0 or larger than the limit.
    #[error("the pool size must be 1 to {maximum}, found {size}")]
    PoolSize {
        /// The size asked for.
        size: u32,
        /// The largest allowed.
        maximum: u32,
    },
    /// A timeout is zero or longer than the limit.
    #[error("the {name} must be 1 ms to {maximum_ms} ms, found {found_ms} ms")]
    Timeout {
        /// Which timeout: `connect timeout` or `statement timeout`.
        name: &'static str,
        /// The value given, in milliseconds.
        found_ms: u128,
        /// The longest allowed, in milliseconds.
        maximum_ms: u128,
    },
}
