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
    /// A TLS file (CA, client certificate or key) could not be read.
    #[error("the PostgreSQL TLS file {file} cannot be read: {reason}")]
    TlsFile {
        /// The file.
        file: String,
        /// Why (the kind of I/O error).
        reason: String,
    },
    /// A CA or client certificate file holds no usable PEM certificate.
    #[error("the PostgreSQL TLS certificate file {file} is not valid: {reason}")]
    TlsCertificate {
        /// The file.
        file: String,
        /// What is wrong, without quoting the file.
        reason: String,
    },
    /// The client key file holds no usable PEM private key, or one that does not
    /// match the client certificate.
    #[error("the PostgreSQL TLS key file {file} is not valid: {reason}")]
    TlsKey {
        /// The file.
        file: String,
        /// What is wrong, never a byte of the key.
        reason: String,
    },
    /// The client key file may be read or written by its group or others.
    #[error(
        "the PostgreSQL TLS key file {file} is readable by others (mode {mode:o}); chmod 600 it"
    )]
    TlsKeyNotPrivate {
        /// The file.
        file: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The TLS library refused its own settings (a build without usable cipher
    /// suites).
    #[error("TLS cannot be set up: {reason}")]
    TlsProvider {
        /// What rustls reported.
        reason: String,
    },
    /// The connection string says `sslmode=disable` and TLS is configured: the
    /// configuration contradicts itself, so neither is guessed.
    #[error("the PostgreSQL connection string says sslmode=disable, but TLS is configured")]
    TlsAndPlaintext,
}

/// Why the PostgreSQL store could not connect, for a reason that waiting will not
/// cure: the server's certificate, the TLS handshake, the credentials, or a
/// configuration that would send the connection in plain text. The store is not
/// opened.
///
/// # Security
///
/// `server` is the host list of the connection string (never its password); a
/// `reason` is what rustls or the server said, which names no secret.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PgConnectError {
    /// The server's certificate does not chain to the configured CA, or is expired
    /// or otherwise invalid.
    #[error("the PostgreSQL server {server} presented an untrusted certificate: {reason}")]
    UntrustedCertificate {
        /// The host(s) of the connection string.
        server: String,
        /// What rustls found.
        reason: String,
    },
    /// The server's certificate is valid but for another host name.
    #[error("the PostgreSQL server {server} presented a certificate for another host: {reason}")]
    WrongHostName {
        /// The host(s) of the connection string.
        server: String,
        /// What rustls found.
        reason: String,
    },
    /// TLS is configured, and the server answered that it does not speak TLS: the
    /// connection is not made in plain text instead.
    #[error("the PostgreSQL server {server} does not offer TLS, which is required")]
    ServerWithoutTls {
        /// The host(s) of the connection string.
        server: String,
    },
    /// The server refused the client certificate (or its absence) during the TLS
    /// handshake.
    #[error("the PostgreSQL server {server} refused the client certificate: {reason}")]
    ClientCertificateRefused {
        /// The host(s) of the connection string.
        server: String,
        /// The alert the server sent.
        reason: String,
    },
    /// The server refused to authenticate the store's role (SQLSTATE 28000 or
    /// 28P01): no `pg_hba.conf` entry, a wrong password, or no valid client
    /// certificate where `cert` authentication is required.
    #[error("the PostgreSQL server {server} refused authentication: {reason}")]
    AuthenticationRefused {
        /// The host(s) of the connection string.
        server: String,
        /// The SQLSTATE and the server's message.
        reason: String,
    },
    /// The TLS handshake failed for another reason.
    #[error("the TLS handshake with the PostgreSQL server {server} failed: {reason}")]
    Handshake {
        /// The host(s) of the connection string.
        server: String,
        /// What rustls reported.
        reason: String,
    },
    /// The connection string asks for TLS (`sslmode=require`) but no CA is
    /// configured to verify the server with ([`PgConfig::tls`](crate::PgConfig::tls)).
    #[error(
        "the PostgreSQL connection string asks for TLS (sslmode=require), but no CA is configured to verify the server"
    )]
    TlsNotConfigured,
    /// Without TLS the store would reach a host beyond this machine in plain text,
    /// which only an explicit `sslmode=disable` in the connection string allows.
    #[error(
        "the PostgreSQL server {server} is not on this machine: configure TLS, or say sslmode=disable to allow plain text"
    )]
    PlaintextToRemoteHost {
        /// The host(s) of the connection string.
        server: String,
    },
}
