//! The shared store: one PostgreSQL database for any number of validator nodes.

mod config;
mod describe;
mod pool;
mod schema;
mod tls;

pub use config::{DEFAULT_PG_POOL_SIZE, DEFAULT_PG_SCHEMA, DEFAULT_PG_TIMEOUT, PgConfig};
pub use schema::POSTGRES_SCHEMA_VERSION;
pub use tls::PgTls;

use std::fmt;
use std::sync::Arc;

use postgres::Row;
use postgres::types::ToSql;

use crate::store::pg::describe::describe;
use crate::store::pg::pool::{ConnectError, Connection, Manager};
use crate::store::pg::schema::{Query, Statements};
use crate::store::row::{AuditRow, TOKEN_COLUMN_COUNT, TokenRow, for_each_token_column, to_sql};
use crate::validator::audit::AuditEvent;
use crate::validator::error::StoreError;
use crate::validator::lifecycle::CustomerRef;
use crate::validator::record::{TokenId, TokenRecord};
use crate::validator::store::{Store, Swap};

type Parameter<'a> = &'a (dyn ToSql + Sync);

/// Token records in PostgreSQL, shared by every validator node that connects to the
/// same database and schema.
///
/// Each node keeps a pool of connections ([`PgConfig::pool_size`]). A verification
/// reads the record with one `SELECT`, and stores the new state with one `UPDATE …
/// WHERE id = $1 AND version = $2`, written in the same statement (so the same
/// transaction) as its audit row; PostgreSQL's row lock makes that compare-and-swap
/// atomic across nodes, and it is committed, with `synchronous_commit` on, before
/// `compare_and_swap` returns. Sessions run at READ COMMITTED: see the README for why
/// that level is the right one.
///
/// # Errors and recovery
///
/// A lost connection, a timeout ([`PgConfig::connect_timeout`],
/// [`PgConfig::statement_timeout`]) or a server shutting down is a
/// [`StoreError::Backend`], so the validator rejects the verification in progress.
/// The connection that failed is dropped; the pool opens new ones as soon as the
/// server answers again, without anyone restarting the node.
///
/// # Security
///
/// The database holds only sealed secrets and Argon2id PIN hashes, never a seed or a
/// PIN. Whoever can write to it can still unlock a token or roll its state back (and
/// so make a spent code acceptable again): give the validators' role only `SELECT`,
/// `INSERT`, `UPDATE` and `DELETE` on the schema's tables, and the migrating role the
/// right to create them. Across a network, connect over TLS ([`PgConfig::tls`]:
/// the server's certificate and host name verified, never a fall-back to plain
/// text); without it the store connects only to this machine unless the connection
/// string says `sslmode=disable`.
///
/// ```no_run
/// use otpfob::{Keyring, PgConfig, PgStore, SealingKey, SystemClock, Validator};
///
/// let config = PgConfig::new("postgresql://otpfob@db.internal/bank")?.pool_size(32)?;
/// // Creates or upgrades the schema, then serves: every node does the same.
/// let store = PgStore::connect(&config)?;
/// let keyring = Keyring::new(SealingKey::new(1, &[0x42; 32])?);
/// let validator = Validator::new(store, SystemClock, keyring);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PgStore {
    pool: r2d2::Pool<Manager>,
    schema: String,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.pool.state();
        formatter
            .debug_struct("PgStore")
            .field("schema", &self.schema)
            .field("connections", &state.connections)
            .field("idle_connections", &state.idle_connections)
            .finish()
    }
}

impl PgStore {
    /// Opens a pool to the server in `config`, then brings the schema up to date with
    /// [`PgStore::migrate`].
    ///
    /// # Errors
    ///
    /// [`StoreError::Connect`] at once, without waiting for the connect timeout, if
    /// the first connection is refused for a reason that waiting will not cure (see
    /// [`PgConnectError`](crate::PgConnectError): the server's certificate is
    /// untrusted or for another host, the server does not offer the TLS configured,
    /// the client certificate or the credentials are refused, or the configuration
    /// would send plain text beyond this machine); [`StoreError::Backend`] if the
    /// server has `synchronous_commit = off` (which could lose accepted codes in a
    /// crash), if no connection can be made within the connect timeout (the server
    /// is down), or if the migration fails; [`StoreError::SchemaTooNew`] if a newer
    /// library has upgraded the schema.
    pub fn connect(config: &PgConfig) -> Result<Self, StoreError> {
        let store = Self::connect_without_migrating(config)?;
        // The first connection is made outside the pool, which would retry a refusal
        // until the connect timeout and keep only its text.
        match r2d2::ManageConnection::connect(&manager(config)) {
            Ok(mut connection) => {
                schema::migrate(&mut connection.client, &store.schema)?;
            }
            Err(ConnectError::Refused(refusal)) => return Err(StoreError::Connect(refusal)),
            Err(ConnectError::Unsafe(reason)) => return Err(StoreError::Backend { reason }),
            // Perhaps the server is starting: the pool waits for it.
            Err(ConnectError::Postgres(_)) => {
                store.migrate()?;
            }
        }
        Ok(store)
    }

    /// Opens a pool without touching the schema: for nodes that must not run DDL,
    /// when a deployment step migrates. [`PgStore::schema_version`] tells what they
    /// found.
    ///
    /// # Errors
    ///
    /// [`StoreError::Connect`] with [`PgConnectError::TlsNotConfigured`] or
    /// [`PgConnectError::PlaintextToRemoteHost`] if the configuration would connect
    /// in plain text where it must not (see [`PgConfig::new`]); nothing else, since
    /// connections are opened on first use.
    ///
    /// [`PgConnectError::TlsNotConfigured`]: crate::PgConnectError::TlsNotConfigured
    /// [`PgConnectError::PlaintextToRemoteHost`]: crate::PgConnectError::PlaintextToRemoteHost
    pub fn connect_without_migrating(config: &PgConfig) -> Result<Self, StoreError> {
        config.check_transport()?;
        let manager = manager(config);
        let pool = r2d2::Pool::builder()
            .max_size(config.get_pool_size())
            // Opened on demand: a node starts even while the server is down, and fails
            // (closed) each request until it is back.
            .min_idle(Some(0))
            .connection_timeout(config.get_connect_timeout())
            .test_on_check_out(false)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(manager);
        Ok(Self {
            pool,
            schema: config.get_schema().to_owned(),
        })
    }

    /// Creates the schema, or upgrades it to [`POSTGRES_SCHEMA_VERSION`], and returns
    /// how many migrations it applied: 0 when it was up to date, so running it again
    /// is harmless.
    ///
    /// The migrations and the `schema_version` row of each run in one transaction
    /// behind an advisory lock on the schema: nodes that start together migrate one
    /// at a time, and a failed migration leaves the schema as it was.
    ///
    /// # Errors
    ///
    /// [`StoreError::SchemaTooNew`] if a newer library has upgraded the schema (this
    /// one would misread it); [`StoreError::Backend`] if the server fails or the
    /// role lacks the privilege to create the schema or its tables.
    pub fn migrate(&self) -> Result<u32, StoreError> {
        // A connection the failure closed is dropped when it returns to the pool.
        let mut connection = self.connection()?;
        schema::migrate(&mut connection.client, &self.schema)
    }

    /// The schema's version: the highest migration applied, 0 for a database never
    /// migrated.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the server fails.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.with_connection(|connection| schema::version(&mut connection.client, &self.schema))
    }

    /// The PostgreSQL schema holding the tables.
    #[must_use]
    pub fn schema(&self) -> &str {
        &self.schema
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        self.pool.get().map_err(|error| StoreError::Backend {
            reason: format!(
                "no PostgreSQL connection within {} ms: {error}",
                self.pool.connection_timeout().as_millis()
            ),
        })
    }

    /// Runs `work` on a pooled connection; a failure is a backend error and, unless
    /// it was a plain SQL error, retires the connection.
    fn with_connection<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection()?;
        work(&mut connection).map_err(|error| {
            connection.note_failure(&error);
            StoreError::Backend {
                reason: describe(&error),
            }
        })
    }

    /// Executes `query` with `parameters`, returning the rows it changed.
    fn execute(&self, query: Query, parameters: &[Parameter<'_>]) -> Result<u64, StoreError> {
        self.with_connection(|connection| {
            let statement = connection.statement(query)?;
            connection.client.execute(&statement, parameters)
        })
    }
}

/// The pool's connection manager for `config`.
fn manager(config: &PgConfig) -> Manager {
    Manager::new(
        config.connection(),
        config.get_tls().map(PgTls::connector),
        config.server(),
        config.get_statement_timeout().as_millis(),
        Arc::new(Statements::new(config.get_schema())),
    )
}

impl PgStore {
    /// The ids `query` selects, each checked.
    fn ids(&self, query: Query, parameters: &[Parameter<'_>]) -> Result<Vec<TokenId>, StoreError> {
        let ids = self.with_connection(|connection| {
            let statement = connection.statement(query)?;
            connection
                .client
                .query(&statement, parameters)?
                .iter()
                .map(|row| row.try_get::<_, String>(0))
                .collect::<Result<Vec<String>, _>>()
        })?;
        ids.into_iter()
            .map(|id| {
                TokenId::new(id.clone()).map_err(|_| StoreError::Corrupt {
                    token: id,
                    reason: "invalid token id".to_owned(),
                })
            })
            .collect()
    }
}

macro_rules! define_token_parameters {
    ($($column:ident),*) => {
        /// Every column of `row`, in `TOKEN_COLUMNS` order.
        fn token_parameters(row: &TokenRow) -> [Parameter<'_>; TOKEN_COLUMN_COUNT] {
            [$(&row.$column),*]
        }
    };
}
for_each_token_column!(define_token_parameters);

/// The parameters of the compare-and-swap and of the rejection probe, which share its
/// `UPDATE`: the id, the expected version, every other column, the audit row.
fn swap_parameters<'a>(
    row: &'a TokenRow,
    expected: &'a i64,
    audit: &'a AuditRow,
) -> Vec<Parameter<'a>> {
    let columns = token_parameters(row);
    let mut parameters: Vec<Parameter<'a>> = vec![columns[0], expected];
    parameters.extend_from_slice(&columns[1..]);
    parameters.extend(audit_parameters(audit));
    parameters
}

fn audit_parameters(row: &AuditRow) -> [Parameter<'_>; 14] {
    [
        &row.token,
        &row.at_seconds,
        &row.at_nanos,
        &row.operation,
        &row.outcome,
        &row.reason,
        &row.offset,
        &row.actor,
        &row.actor_kind,
        &row.channel,
        &row.request_id,
        &row.node,
        &row.chain_hash,
        &row.given_reason,
    ]
}

macro_rules! define_read_token {
    ($($column:ident),*) => {
        /// Reads a `tokens` row selected with every column in `TOKEN_COLUMNS` order.
        fn read_token(row: &Row) -> Result<TokenRow, postgres::Error> {
            let mut index = 0usize;
            let mut next = || {
                index += 1;
                index - 1
            };
            Ok(TokenRow {
                $($column: row.try_get(next())?),*
            })
        }
    };
}
for_each_token_column!(define_read_token);

fn read_audit(row: &Row) -> Result<AuditRow, postgres::Error> {
    Ok(AuditRow {
        token: row.try_get(0)?,
        at_seconds: row.try_get(1)?,
        at_nanos: row.try_get(2)?,
        operation: row.try_get(3)?,
        outcome: row.try_get(4)?,
        reason: row.try_get(5)?,
        offset: row.try_get(6)?,
        actor: row.try_get(7)?,
        actor_kind: row.try_get(8)?,
        channel: row.try_get(9)?,
        request_id: row.try_get(10)?,
        node: row.try_get(11)?,
        chain_hash: row.try_get(12)?,
        given_reason: row.try_get(13)?,
    })
}

impl Store for PgStore {
    fn enrol(&self, record: &TokenRecord, audit: &AuditEvent) -> Result<(), StoreError> {
        let row = TokenRow::from_record(record);
        let audit = AuditRow::from_event(audit);
        let mut parameters: Vec<Parameter<'_>> = token_parameters(&row).to_vec();
        parameters.extend(audit_parameters(&audit));
        if self.execute(Query::Enrol, &parameters)? == 0 {
            return Err(StoreError::AlreadyEnrolled { token: row.id });
        }
        Ok(())
    }

    fn load(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        let row = self.with_connection(|connection| {
            let statement = connection.statement(Query::Load)?;
            connection
                .client
                .query_opt(&statement, &[&id.as_str()])?
                .map(|row| read_token(&row))
                .transpose()
        })?;
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
        let expected = to_sql(expected_version);
        let parameters = swap_parameters(&row, &expected, &audit);
        match self.execute(Query::Swap, &parameters)? {
            0 => Ok(Swap::Conflict),
            _ => Ok(Swap::Swapped),
        }
    }

    fn delete(&self, id: &TokenId, audit: &AuditEvent) -> Result<bool, StoreError> {
        let audit = AuditRow::from_event(audit);
        let id = id.as_str();
        let mut parameters: Vec<Parameter<'_>> = vec![&id];
        parameters.extend(audit_parameters(&audit));
        Ok(self.execute(Query::Delete, &parameters)? > 0)
    }

    fn list(&self) -> Result<Vec<TokenId>, StoreError> {
        self.ids(Query::List, &[])
    }

    fn list_page(&self, after: Option<&TokenId>, limit: usize) -> Result<Vec<TokenId>, StoreError> {
        let after = after.map_or("", TokenId::as_str);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.ids(Query::ListPage, &[&after, &limit])
    }

    fn tokens_of(&self, owner: &CustomerRef) -> Result<Vec<TokenId>, StoreError> {
        self.ids(Query::TokensOf, &[&owner.as_str()])
    }

    fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let audit = AuditRow::from_event(event);
        self.execute(Query::AppendAudit, &audit_parameters(&audit))?;
        Ok(())
    }

    fn record_rejection(
        &self,
        probe: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        // The parameters of a compare-and-swap, so that the statement costs the same.
        let row = TokenRow::from_record(probe);
        let audit = AuditRow::from_event(audit);
        let expected = to_sql(expected_version);
        let parameters = swap_parameters(&row, &expected, &audit);
        // Only the first probe in a schema finds no stand-in row to update.
        let written = match self.execute(Query::Probe, &parameters)? {
            0 => self.execute(Query::ProbeCreating, &parameters)?,
            written => written,
        };
        match written {
            1 => Ok(()),
            _ => Err(StoreError::Backend {
                reason: "a rejection's audit row was not written".to_owned(),
            }),
        }
    }

    fn audit_trail(&self, id: &TokenId, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.with_connection(|connection| {
            let statement = connection.statement(Query::AuditTrail)?;
            connection
                .client
                .query(&statement, &[&id.as_str(), &limit])?
                .iter()
                .map(read_audit)
                .collect::<Result<Vec<AuditRow>, _>>()
        })?;
        let mut events = rows
            .into_iter()
            .map(AuditRow::into_event)
            .collect::<Result<Vec<_>, _>>()?;
        events.reverse();
        Ok(events)
    }
}
