//! The connection pool: r2d2 over synchronous `postgres` clients, each connection set
//! up for the store and keeping its own prepared statements.

use std::fmt;
use std::sync::Arc;

use postgres::{Client, NoTls, SimpleQueryMessage, Statement};

use crate::store::error::PgConnectError;
use crate::store::pg::describe::describe;
use crate::store::pg::schema::{QUERY_COUNT, Query, Statements};
use crate::store::pg::tls;

/// Opens and checks connections for r2d2.
pub(crate) struct Manager {
    connection: postgres::Config,
    /// The TLS connector, if the configuration asks for TLS (and then the
    /// connection's `sslmode` is `require`, so no connection falls back to plain text).
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    /// The hosts, for errors.
    server: String,
    /// Sent once per new connection: session settings, then the one setting read.
    setup: String,
    statements: Arc<Statements>,
}

impl Manager {
    pub(crate) fn new(
        connection: postgres::Config,
        tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
        server: String,
        statement_timeout_ms: u128,
        statements: Arc<Statements>,
    ) -> Self {
        // READ COMMITTED whatever the server's default: it is the level at which a
        // compare-and-swap that lost a race reports zero rows instead of a
        // serialization error (see the README). The statement timeout bounds every
        // wait, including for a row another node has locked.
        let setup = format!(
            "SET default_transaction_isolation = 'read committed'; \
             SET statement_timeout = {statement_timeout_ms}; \
             SELECT current_setting('synchronous_commit')"
        );
        Self {
            connection,
            tls,
            server,
            setup,
            statements,
        }
    }

    /// A new client, over TLS if configured; a failure that waiting will not cure is
    /// told apart from one the pool retries.
    fn open(&self) -> Result<Client, ConnectError> {
        let opened = match &self.tls {
            Some(tls) => self.connection.connect(tls.clone()),
            None => self.connection.connect(NoTls),
        };
        opened.map_err(|error| match tls::refusal(&error, &self.server) {
            Some(refusal) => ConnectError::Refused(refusal),
            None => ConnectError::Postgres(error),
        })
    }
}

/// A pooled connection: the client, its prepared statements, and whether it failed
/// in a way that leaves it unusable.
pub(crate) struct Connection {
    pub(crate) client: Client,
    prepared: [Option<Statement>; QUERY_COUNT],
    statements: Arc<Statements>,
    broken: bool,
}

impl Connection {
    /// The prepared statement for `query`, prepared on first use: preparing when the
    /// connection opens would fail before the first migration made the tables.
    pub(crate) fn statement(&mut self, query: Query) -> Result<Statement, postgres::Error> {
        let slot = &mut self.prepared[query as usize];
        if let Some(statement) = slot {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(self.statements.text(query))?;
        *slot = Some(statement.clone());
        Ok(statement)
    }

    /// Records a failed request. Anything but a plain SQL error (an I/O error, a
    /// closed socket, a FATAL from a server shutting down) retires the connection, so
    /// the pool opens a fresh one when the server is back.
    pub(crate) fn note_failure(&mut self, error: &postgres::Error) {
        let recoverable = error
            .as_db_error()
            .is_some_and(|database| database.severity() == "ERROR");
        if !recoverable {
            self.broken = true;
        }
    }
}

/// Why a new connection could not be used.
#[derive(Debug)]
pub(crate) enum ConnectError {
    Postgres(postgres::Error),
    /// The server would let an accepted code be lost in a crash.
    Unsafe(String),
    /// TLS or authentication failed in a way that waiting will not cure.
    Refused(PgConnectError),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Postgres(error) => formatter.write_str(&describe(error)),
            ConnectError::Unsafe(reason) => formatter.write_str(reason),
            ConnectError::Refused(refusal) => write!(formatter, "{refusal}"),
        }
    }
}

impl std::error::Error for ConnectError {}

impl From<postgres::Error> for ConnectError {
    fn from(error: postgres::Error) -> Self {
        ConnectError::Postgres(error)
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = ConnectError;

    fn connect(&self) -> Result<Connection, ConnectError> {
        let mut client = self.open()?;
        let replies = client.simple_query(&self.setup)?;
        let synchronous_commit = replies.iter().find_map(|reply| match reply {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        });
        if synchronous_commit.as_deref() == Some("off") {
            // With it off, COMMIT returns before the WAL is flushed: a server crash
            // could roll back an acceptance the validator already reported, and the
            // code would be accepted again.
            return Err(ConnectError::Unsafe(
                "the server has synchronous_commit = off, which could lose accepted codes in a crash; \
                 set it to on (or local, remote_write, remote_apply) for the store's database or role"
                    .to_owned(),
            ));
        }
        Ok(Connection {
            client,
            prepared: Default::default(),
            statements: Arc::clone(&self.statements),
            broken: false,
        })
    }

    fn is_valid(&self, connection: &mut Connection) -> Result<(), ConnectError> {
        // Only called if checkout testing is turned on, which it is not: a round trip
        // per request would cost more than the rare failure on a dead connection.
        connection.client.simple_query("")?;
        Ok(())
    }

    fn has_broken(&self, connection: &mut Connection) -> bool {
        connection.broken || connection.client.is_closed()
    }
}
