//! `PgConfig`: where the PostgreSQL store connects, and its pool and timeouts.

use std::net::IpAddr;
use std::time::Duration;

use postgres::config::{Host, SslMode};

use crate::store::error::{PgConfigError, PgConnectError};
use crate::store::pg::tls::PgTls;

/// The PostgreSQL schema the store's tables live in unless told otherwise.
pub const DEFAULT_PG_SCHEMA: &str = "otpfob";

/// The connections each [`PgStore`](crate::PgStore) keeps unless told otherwise.
pub const DEFAULT_PG_POOL_SIZE: u32 = 16;

/// The default for both [`PgConfig::connect_timeout`] and
/// [`PgConfig::statement_timeout`].
pub const DEFAULT_PG_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest pool a store accepts: far beyond what one PostgreSQL server serves
/// well, and a guard against a typo opening thousands of connections.
const MAX_POOL_SIZE: u32 = 1_000;

/// The longest timeout accepted: a validator that waits longer has stopped serving.
const MAX_TIMEOUT: Duration = Duration::from_secs(3_600);

/// How a [`PgStore`](crate::PgStore) reaches PostgreSQL: the connection string, TLS,
/// the schema holding its tables, the pool size and the timeouts.
///
/// ```
/// use std::time::Duration;
/// use otpfob::PgConfig;
///
/// let config = PgConfig::new("postgresql://otpfob@db.internal:5432/bank")?
///     .schema("otp_validation")?
///     .pool_size(32)?
///     .connect_timeout(Duration::from_secs(2))?
///     .statement_timeout(Duration::from_millis(1500))?;
/// assert_eq!(config.get_schema(), "otp_validation");
/// assert_eq!(config.get_pool_size(), 32);
/// // A password in the string is never printed.
/// let secret = PgConfig::new("postgresql://otpfob:hunter2@db.internal/bank")?;
/// assert!(!format!("{secret:?}").contains("hunter2"));
/// # Ok::<(), otpfob::PgConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PgConfig {
    connection: postgres::Config,
    schema: String,
    pool_size: u32,
    connect_timeout: Duration,
    statement_timeout: Duration,
    tls: Option<PgTls>,
}

impl PgConfig {
    /// Reads a libpq connection string: a URL (`postgresql://user:password@host:port/database?options`)
    /// or `key=value` pairs (`host=… port=… user=… dbname=…`). Every other setting
    /// takes its default: schema [`DEFAULT_PG_SCHEMA`], [`DEFAULT_PG_POOL_SIZE`]
    /// connections, [`DEFAULT_PG_TIMEOUT`] to connect and per statement.
    ///
    /// # Errors
    ///
    /// [`PgConfigError::ConnectionString`] if the string cannot be read.
    ///
    /// # Security
    ///
    /// Without [`PgConfig::tls`] the connection is in plain text, and the store
    /// connects only to this machine (a Unix socket, `localhost`, a loopback
    /// address) unless the string says `sslmode=disable`, which allows plain text to
    /// any host. A string that says `sslmode=require` without TLS configured is
    /// refused when the store connects ([`PgConnectError::TlsNotConfigured`]), and
    /// `sslmode=prefer` (the driver's default) never means TLS without a CA.
    pub fn new(connection: &str) -> Result<Self, PgConfigError> {
        let mut parsed: postgres::Config =
            connection.parse().map_err(|error: postgres::Error| {
                PgConfigError::ConnectionString {
                    reason: parse_reason(&error),
                }
            })?;
        if parsed.get_application_name().is_none() {
            // Shows in pg_stat_activity, so a DBA can tell validator sessions apart.
            parsed.application_name("otpfob");
        }
        Ok(Self {
            connection: parsed,
            schema: DEFAULT_PG_SCHEMA.to_owned(),
            pool_size: DEFAULT_PG_POOL_SIZE,
            connect_timeout: DEFAULT_PG_TIMEOUT,
            statement_timeout: DEFAULT_PG_TIMEOUT,
            tls: None,
        })
    }

    /// Connects over TLS with `tls`'s verify-full checks: the connection string's
    /// `sslmode` becomes `require`, so a server without TLS is refused, never used
    /// in plain text.
    ///
    /// # Errors
    ///
    /// [`PgConfigError::TlsAndPlaintext`] if the string says `sslmode=disable`.
    pub fn tls(mut self, tls: PgTls) -> Result<Self, PgConfigError> {
        if self.connection.get_ssl_mode() == SslMode::Disable {
            return Err(PgConfigError::TlsAndPlaintext);
        }
        self.connection.ssl_mode(SslMode::Require);
        self.tls = Some(tls);
        Ok(self)
    }

    /// The TLS settings, if the store connects over TLS.
    #[must_use]
    pub fn get_tls(&self) -> Option<&PgTls> {
        self.tls.as_ref()
    }

    /// Puts the store's tables in the PostgreSQL schema `schema` (created by
    /// [`PgStore::migrate`](crate::PgStore::migrate) if missing). Every validator node
    /// of one deployment must use the same schema; separate schemas keep separate
    /// token sets in one database.
    ///
    /// # Errors
    ///
    /// [`PgConfigError::Schema`] unless the name is 1 to 63 of `a-z`, `0-9` and `_`,
    /// starts with a letter or `_`, and does not start with `pg_` (reserved by
    /// PostgreSQL). Such a name never needs quoting, so it is safe to put in SQL.
    pub fn schema(mut self, schema: &str) -> Result<Self, PgConfigError> {
        let valid = (1..=63).contains(&schema.len())
            && schema
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
            && !schema.starts_with(|first: char| first.is_ascii_digit())
            && !schema.starts_with("pg_");
        if !valid {
            return Err(PgConfigError::Schema {
                schema: schema.to_owned(),
            });
        }
        self.schema = schema.to_owned();
        Ok(self)
    }

    /// Keeps at most `size` connections open. Each verification holds one for two
    /// statements, so a node needs about as many as it has threads verifying at once.
    ///
    /// # Errors
    ///
    /// [`PgConfigError::PoolSize`] for 0 or more than 1000.
    pub fn pool_size(mut self, size: u32) -> Result<Self, PgConfigError> {
        if !(1..=MAX_POOL_SIZE).contains(&size) {
            return Err(PgConfigError::PoolSize {
                size,
                maximum: MAX_POOL_SIZE,
            });
        }
        self.pool_size = size;
        Ok(self)
    }

    /// How long a request waits for a connection (from the pool, or a new one to the
    /// server) before it fails: while the server is down, each verification is
    /// rejected after at most this long.
    ///
    /// # Errors
    ///
    /// [`PgConfigError::Timeout`] for zero or more than an hour.
    pub fn connect_timeout(mut self, timeout: Duration) -> Result<Self, PgConfigError> {
        self.connect_timeout = checked_timeout("connect timeout", timeout)?;
        Ok(self)
    }

    /// How long the server may run one statement (PostgreSQL's `statement_timeout`)
    /// before it cancels it, which fails the request. It bounds the wait for a row
    /// another node holds, and the migration's wait for another node's migration.
    ///
    /// # Errors
    ///
    /// [`PgConfigError::Timeout`] for zero or more than an hour.
    pub fn statement_timeout(mut self, timeout: Duration) -> Result<Self, PgConfigError> {
        self.statement_timeout = checked_timeout("statement timeout", timeout)?;
        Ok(self)
    }

    /// The schema the tables live in.
    #[must_use]
    pub fn get_schema(&self) -> &str {
        &self.schema
    }

    /// The most connections kept open.
    #[must_use]
    pub fn get_pool_size(&self) -> u32 {
        self.pool_size
    }

    /// How long a request waits for a connection.
    #[must_use]
    pub fn get_connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// How long one statement may run.
    #[must_use]
    pub fn get_statement_timeout(&self) -> Duration {
        self.statement_timeout
    }

    /// The hosts of the connection string, for errors: never the password.
    pub(crate) fn server(&self) -> String {
        let hosts: Vec<String> = self
            .connection
            .get_hosts()
            .iter()
            .map(|host| match host {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        hosts.join(",")
    }

    /// Refuses a connection that would go out in plain text without the
    /// configuration saying so, or that asks for TLS without a CA to verify with.
    pub(crate) fn check_transport(&self) -> Result<(), PgConnectError> {
        if self.tls.is_some() {
            return Ok(());
        }
        match self.connection.get_ssl_mode() {
            SslMode::Require => Err(PgConnectError::TlsNotConfigured),
            SslMode::Disable => Ok(()),
            _ if self.stays_on_this_machine() => Ok(()),
            _ => Err(PgConnectError::PlaintextToRemoteHost {
                server: self.server(),
            }),
        }
    }

    /// Whether every address the store may connect to is on this machine.
    fn stays_on_this_machine(&self) -> bool {
        let addresses = self.connection.get_hostaddrs();
        if !addresses.is_empty() {
            // The host names are then only for TLS; these are where it connects.
            return addresses.iter().all(IpAddr::is_loopback);
        }
        self.connection.get_hosts().iter().all(|host| match host {
            Host::Tcp(name) => {
                name.eq_ignore_ascii_case("localhost")
                    || name
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .parse::<IpAddr>()
                        .is_ok_and(|address| address.is_loopback())
            }
            #[cfg(unix)]
            Host::Unix(_) => true,
        })
    }

    /// The connection settings with the timeouts applied at the socket level too.
    pub(crate) fn connection(&self) -> postgres::Config {
        let mut connection = self.connection.clone();
        if connection.get_connect_timeout().is_none() {
            connection.connect_timeout(self.connect_timeout);
        }
        if connection.get_tcp_user_timeout().is_none() {
            // A request the server never acknowledges (a host gone from the network)
            // fails after this long instead of the kernel's quarter of an hour.
            connection.tcp_user_timeout(self.connect_timeout + self.statement_timeout);
        }
        // A server that vanished while a connection was idle or waiting for an answer
        // is noticed within about half a minute rather than two hours.
        connection
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(15))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3);
        connection
    }
}

fn checked_timeout(name: &'static str, timeout: Duration) -> Result<Duration, PgConfigError> {
    if timeout < Duration::from_millis(1) || timeout > MAX_TIMEOUT {
        return Err(PgConfigError::Timeout {
            name,
            found_ms: timeout.as_millis(),
            maximum_ms: MAX_TIMEOUT.as_millis(),
        });
    }
    Ok(timeout)
}

/// The parser's complaint without any character of the string, which may be part of
/// a password ("expected `=` but got `x`" would quote one).
fn parse_reason(error: &postgres::Error) -> String {
    let cause = std::error::Error::source(error)
        .map(ToString::to_string)
        .unwrap_or_else(|| error.to_string());
    match cause.find(" but got") {
        Some(end) => cause[..end].to_owned(),
        None => cause,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_checked() {
        let config = PgConfig::new("host=localhost").unwrap();
        for good in ["otpfob", "_x", "a1_b2", &"a".repeat(63)] {
            assert_eq!(config.clone().schema(good).unwrap().get_schema(), good);
        }
        for bad in [
            "",
            "Upper",
            "1abc",
            "pg_catalog",
            "a-b",
            "a b",
            "a\"b",
            &"a".repeat(64),
        ] {
            assert_eq!(
                config.clone().schema(bad).unwrap_err(),
                PgConfigError::Schema {
                    schema: bad.to_owned()
                }
            );
        }
    }

    #[test]
    fn limits_are_checked() {
        let config = PgConfig::new("postgresql://localhost/bank").unwrap();
        assert_eq!(
            config.clone().pool_size(0).unwrap_err(),
            PgConfigError::PoolSize {
                size: 0,
                maximum: 1_000
            }
        );
        assert!(config.clone().pool_size(1_000).is_ok());
        assert_eq!(
            config
                .clone()
                .statement_timeout(Duration::ZERO)
                .unwrap_err(),
            PgConfigError::Timeout {
                name: "statement timeout",
                found_ms: 0,
                maximum_ms: 3_600_000
            }
        );
        assert!(config.connect_timeout(Duration::from_secs(3_601)).is_err());
    }

    #[test]
    fn bad_strings_are_refused_without_quoting_them() {
        for bad in [
            "host=localhost password='hunter2",
            "postgresql://u:hunter2@h:notaport/db",
            "host=h unknownoption=hunter2x",
            "host=h password",
        ] {
            let error = PgConfig::new(bad).unwrap_err();
            let PgConfigError::ConnectionString { reason } = &error else {
                panic!("{error:?}");
            };
            assert!(!reason.contains("hunter2"), "{reason}");
            assert!(!reason.is_empty());
        }
    }

    #[test]
    fn timeouts_reach_the_socket() {
        let config = PgConfig::new("host=localhost")
            .unwrap()
            .connect_timeout(Duration::from_secs(2))
            .unwrap()
            .statement_timeout(Duration::from_secs(3))
            .unwrap();
        let connection = config.connection();
        assert_eq!(
            connection.get_connect_timeout(),
            Some(&Duration::from_secs(2))
        );
        assert_eq!(
            connection.get_tcp_user_timeout(),
            Some(&Duration::from_secs(5))
        );
        assert_eq!(connection.get_application_name(), Some("otpfob"));
    }
}
