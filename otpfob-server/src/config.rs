//! The TOML configuration file, and the secret files it names.
//!
//! Secrets (sealing keys, the PostgreSQL connection string, the HSM's user PIN) come
//! from files readable by their owner only, or from environment variables, never from
//! the command line, where every user of the machine can read them in the process
//! list, nor from the configuration file itself.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use otpfob::validator::KeyringBackend;
use otpfob::validator::pkcs11::{PinSource, Pkcs11Config, Pkcs11Key, TokenSelector};
use otpfob::{Keyring, PgTls, Policy, SealingKey, Secret, validator::SEALING_KEY_LEN};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Errors in the configuration or the files it names.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML for this server.
    #[error("configuration {path}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, as the TOML reader says.
        reason: String,
    },
    /// A value is refused.
    #[error("configuration: {0}")]
    Invalid(String),
    /// A secret file others can read.
    #[error("{path} is readable by others (mode {mode:o}); chmod 600 it")]
    NotPrivate {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// A sealing key in a hardware security module cannot be used: the module, the
    /// token, the PIN or the key object (never the PIN itself).
    #[error("sealing key {key_id} in the HSM: {reason}")]
    Hsm {
        /// The key's id.
        key_id: u32,
        /// What the PKCS#11 backend reported.
        reason: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The address to listen on, e.g. `0.0.0.0:8443`.
    pub listen: SocketAddr,
    /// Serve plain HTTP instead of TLS: refused unless `listen` is a loopback address.
    #[serde(default)]
    pub plaintext: bool,
    /// TLS: required unless `plaintext` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Where token records live.
    pub store: StoreConfig,
    /// The sealing keys of token secrets.
    pub sealing: SealingConfig,
    /// The API clients file (managed by `otpfob-server key`).
    pub clients_file: PathBuf,
    /// The issuer written into new tokens' key URIs (what an authenticator app shows).
    #[serde(default = "default_issuer")]
    pub issuer: String,
    /// The validator's policy preset: `default` or `psd2`.
    #[serde(default)]
    pub policy: PolicyPreset,
    /// Limits on requests.
    #[serde(default)]
    pub limits: Limits,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// The staff console (`/console/`).
    #[serde(default)]
    pub console: ConsoleConfig,
    /// Notifications: webhooks for life-cycle events.
    #[serde(default)]
    pub notify: NotifyConfig,
}

/// Notifications (`[notify]`): the life-cycle events (locked, block alert, lost,
/// replaced, revoked, expiring soon) posted to webhooks from a durable outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// The receivers (`[[notify.webhooks]]`); none: no notifications.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<WebhookConfig>,
    /// The outbox (SQLite); default: the staff database, the server's own file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbox_database: Option<PathBuf>,
    /// An `expiring_soon` notice goes out this many days before a token's validity
    /// period ends (default 30).
    #[serde(default = "default_expiring_days")]
    pub expiring_within_days: u64,
    /// How often the store is scanned for tokens expiring soon (default hourly).
    #[serde(default = "default_scan_seconds")]
    pub scan_interval_seconds: u64,
    /// Attempts per delivery before it is kept as failed (default 10).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The first retry's delay; each next one doubles, with jitter (default 1 s).
    #[serde(default = "default_retry_initial_ms")]
    pub retry_initial_ms: u64,
    /// The longest delay between attempts (default 1 hour).
    #[serde(default = "default_retry_max_ms")]
    pub retry_max_ms: u64,
    /// How long one delivery may take before it counts as failed (default 10 s).
    #[serde(default = "default_webhook_timeout_ms")]
    pub timeout_ms: u64,
}

/// One webhook receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where notices are posted: `https://`, or `http://` to a loopback address only.
    pub url: String,
    /// The file (mode 0600) holding the secret the body is signed with (HMAC-SHA-256):
    /// at least 32 characters.
    pub secret_file: PathBuf,
    /// CA certificates (PEM) the receiver's certificate must chain to; default: the
    /// operating system's bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

fn default_expiring_days() -> u64 {
    30
}
fn default_scan_seconds() -> u64 {
    3600
}
fn default_max_attempts() -> u32 {
    10
}
fn default_retry_initial_ms() -> u64 {
    1000
}
fn default_retry_max_ms() -> u64 {
    3_600_000
}
fn default_webhook_timeout_ms() -> u64 {
    10_000
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            webhooks: Vec::new(),
            outbox_database: None,
            expiring_within_days: default_expiring_days(),
            scan_interval_seconds: default_scan_seconds(),
            max_attempts: default_max_attempts(),
            retry_initial_ms: default_retry_initial_ms(),
            retry_max_ms: default_retry_max_ms(),
            timeout_ms: default_webhook_timeout_ms(),
        }
    }
}

impl NotifyConfig {
    /// The outbox's path under `config`.
    #[must_use]
    pub fn outbox_path(&self, config: &Config) -> PathBuf {
        self.outbox_database
            .clone()
            .unwrap_or_else(|| config.console.staff_database_path(config))
    }

    /// Checks the rules no type states.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for a URL that is not `https://` (or `http://` to a
    /// loopback address), a webhook listed twice, or zero attempts, delays or
    /// intervals.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |reason: String| Err(ConfigError::Invalid(format!("notify: {reason}")));
        let mut seen = std::collections::BTreeSet::new();
        for webhook in &self.webhooks {
            let Ok(url) = reqwest::Url::parse(&webhook.url) else {
                return invalid(format!("{:?} is not a URL", webhook.url));
            };
            let host = url.host_str().unwrap_or("");
            let loopback = host == "localhost"
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            match url.scheme() {
                "https" => {}
                "http" if loopback => {}
                _ => {
                    return invalid(format!(
                        "webhook {:?}: https only (http to a loopback address only)",
                        webhook.url
                    ));
                }
            }
            if !url.username().is_empty() || url.password().is_some() {
                return invalid(format!(
                    "webhook {:?}: no credentials in the URL (the body is signed)",
                    webhook.url
                ));
            }
            if !seen.insert(webhook.url.as_str()) {
                return invalid(format!("webhook {:?} is listed twice", webhook.url));
            }
        }
        if self.max_attempts == 0
            || self.retry_initial_ms == 0
            || self.retry_max_ms < self.retry_initial_ms
            || self.scan_interval_seconds == 0
            || self.timeout_ms == 0
        {
            return invalid(
                "max_attempts, retry_initial_ms, scan_interval_seconds and timeout_ms must be above 0, retry_max_ms at least retry_initial_ms"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

/// The staff console: where staff accounts live and how long sessions last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The staff database (SQLite); default `staff.db` beside the clients file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_database: Option<PathBuf>,
    /// A session ends this long after its last request (default 15 minutes).
    #[serde(default = "default_idle_seconds")]
    pub idle_timeout_seconds: u64,
    /// And this long after sign-in, however busy (default 8 hours).
    #[serde(default = "default_absolute_seconds")]
    pub absolute_timeout_seconds: u64,
}

fn default_idle_seconds() -> u64 {
    15 * 60
}

fn default_absolute_seconds() -> u64 {
    8 * 60 * 60
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            staff_database: None,
            idle_timeout_seconds: default_idle_seconds(),
            absolute_timeout_seconds: default_absolute_seconds(),
        }
    }
}

impl ConsoleConfig {
    /// The staff database's path under `config`.
    #[must_use]
    pub fn staff_database_path(&self, config: &Config) -> PathBuf {
        self.staff_database.clone().unwrap_or_else(|| {
            config
                .clients_file
                .parent()
                .unwrap_or(Path::new("."))
                .join("staff.db")
        })
    }
}

fn default_issuer() -> String {
    "otpfob".to_owned()
}

/// TLS files.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server's certificate chain (PEM).
    pub certificate: PathBuf,
    /// The server's private key (PEM, mode 0600).
    pub private_key: PathBuf,
    /// CA certificates (PEM) that sign client certificates; with it, clients may
    /// authenticate with a certificate (registered by its SHA-256 in the clients file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<PathBuf>,
}

/// SQLite's group commit is on unless the config turns it off.
fn group_commit_default() -> bool {
    true
}

/// The store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum StoreConfig {
    /// One SQLite file: the embedded default.
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// Whether concurrent writes share commits (one `fsync` per batch, each
        /// request answered once its batch is durable): on unless set to `false`,
        /// which makes every verification its own commit (for comparison).
        #[serde(default = "group_commit_default")]
        group_commit: bool,
    },
    /// A PostgreSQL database shared by several server nodes.
    Postgres {
        /// A file holding the connection string (mode 0600).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url_file: Option<PathBuf>,
        /// Or an environment variable holding it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url_env: Option<String>,
        /// The schema (default `otpfob`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<String>,
        /// Connections in the pool.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pool_size: Option<u32>,
        /// TLS to the database (verify-full: CA and host name); without it the
        /// store connects in plain text, and only to this machine unless the
        /// connection string says `sslmode=disable`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tls: Option<PostgresTlsConfig>,
    },
    /// In memory, gone at exit: for tests and demos.
    Memory,
}

/// TLS to PostgreSQL: the server is verified against `ca_file` and the host name of
/// the connection string, and a server without TLS is refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresTlsConfig {
    /// CA certificates (PEM) that sign the database server's certificate.
    pub ca_file: PathBuf,
    /// A client certificate chain (PEM), for `cert` authentication; with
    /// `client_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<PathBuf>,
    /// The client certificate's private key (PEM, mode 0600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<PathBuf>,
}

impl PostgresTlsConfig {
    /// The library's TLS settings: the files read and checked.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for a client certificate without its key (or the
    /// reverse), or a file that is unreadable, invalid or (the key) not private; the
    /// message names the file, never its content.
    pub fn settings(&self) -> Result<PgTls, ConfigError> {
        let invalid = |error: otpfob::PgConfigError| ConfigError::Invalid(error.to_string());
        let tls = PgTls::verify_full(&self.ca_file).map_err(invalid)?;
        match (&self.client_certificate, &self.client_key) {
            (None, None) => Ok(tls),
            (Some(certificate), Some(key)) => {
                tls.client_certificate(certificate, key).map_err(invalid)
            }
            _ => Err(ConfigError::Invalid(
                "store.tls: client_certificate and client_key go together".to_owned(),
            )),
        }
    }
}

/// The sealing keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealingConfig {
    /// The id of the key new seals use; the others only open old seals until
    /// `POST /v1/reseal` has moved every token to the current key.
    pub current: u32,
    /// Every key.
    pub keys: Vec<SealingKeyConfig>,
    /// Strict mode: the HMAC key of every token enrolled from now on lives only in
    /// the current key's HSM, which computes its codes. The current key must be a
    /// `pkcs11` one.
    #[serde(default)]
    pub strict: bool,
}

/// One sealing key: 32 bytes in hex from a file or an environment variable, or a
/// key inside a hardware security module (`[sealing.keys.pkcs11]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealingKeyConfig {
    /// The key's id (stored with every seal it makes).
    pub id: u32,
    /// A file holding the key in hex (mode 0600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Or an environment variable holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Or a key generated inside a PKCS#11 token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs11: Option<Pkcs11KeyConfig>,
}

/// A sealing key inside a PKCS#11 token (generated there with `Pkcs11Key::generate`).
/// The user PIN comes from a private file or an environment variable: there is no
/// field for the PIN itself, so it is never in this file, on a command line or in a
/// log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11KeyConfig {
    /// The module (a shared library: SoftHSM2's `/usr/lib/softhsm/libsofthsm2.so`,
    /// or the HSM vendor's).
    pub module: PathBuf,
    /// The token's slot number; or `token_label`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<u64>,
    /// The token's label; or `slot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_label: Option<String>,
    /// The key object's label in the token.
    pub key_label: String,
    /// A file holding the user PIN (mode 0600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_file: Option<PathBuf>,
    /// Or an environment variable holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_env: Option<String>,
}

impl Pkcs11KeyConfig {
    /// The library's configuration of the key.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] unless exactly one of `slot` and `token_label`, and
    /// exactly one of `pin_file` and `pin_env`, are given;
    /// [`ConfigError::NotPrivate`] for a PIN file others can read.
    pub fn settings(&self) -> Result<Pkcs11Config, ConfigError> {
        let token = match (self.slot, &self.token_label) {
            (Some(slot), None) => TokenSelector::Slot(slot),
            (None, Some(label)) => TokenSelector::Label(label.clone()),
            _ => {
                return Err(ConfigError::Invalid(format!(
                    "pkcs11 key {:?}: give exactly one of slot and token_label",
                    self.key_label
                )));
            }
        };
        let pin = match (&self.pin_file, &self.pin_env) {
            (Some(file), None) => {
                check_private(file)?;
                PinSource::File(file.clone())
            }
            (None, Some(variable)) => PinSource::Environment(variable.clone()),
            _ => {
                return Err(ConfigError::Invalid(format!(
                    "pkcs11 key {:?}: give exactly one of pin_file and pin_env",
                    self.key_label
                )));
            }
        };
        Ok(Pkcs11Config::new(&self.module, token, &self.key_label, pin))
    }
}

/// The validator policy preset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyPreset {
    /// [`Policy::default`].
    #[default]
    Default,
    /// [`Policy::psd2`]: 5 failures before a block (PSD2 RTS Art. 4(3)(b)), temporary
    /// blocks of 15 minutes doubling to 4 hours, the third one raising the
    /// `block_alert` (and its notice) before the next is permanent (Art. 4(5)).
    Psd2,
}

impl PolicyPreset {
    /// The policy this preset names.
    #[must_use]
    pub fn policy(self) -> Policy {
        match self {
            PolicyPreset::Default => Policy::default(),
            // The library's preset, article by article; the server used to take only
            // its failure limit, so it never raised the Art. 4(5) alert.
            PolicyPreset::Psd2 => Policy::psd2(),
        }
    }
}

/// Request limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The largest request body, in bytes.
    pub body_bytes: usize,
    /// The largest PSKC upload, in bytes.
    pub import_bytes: usize,
    /// The largest request head (request line and headers), in bytes.
    pub header_bytes: usize,
    /// The most headers in one request.
    pub max_headers: usize,
    /// How long a client may take to send its request head, in milliseconds.
    pub header_timeout_ms: u64,
    /// How long a request may take, in milliseconds.
    pub request_timeout_ms: u64,
    /// Requests served at once; more are answered 503 at once.
    pub concurrent_requests: usize,
    /// Requests per second per client (by client, or by address before
    /// authentication).
    pub rate_per_second: u32,
    /// Requests a client may send in a burst above its rate.
    pub rate_burst: u32,
    /// How long a graceful shutdown waits for requests in flight, in milliseconds.
    pub shutdown_grace_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: 16 * 1024,
            import_bytes: 4 * 1024 * 1024,
            header_bytes: 16 * 1024,
            max_headers: 64,
            header_timeout_ms: 5_000,
            request_timeout_ms: 10_000,
            concurrent_requests: 1024,
            rate_per_second: 1000,
            rate_burst: 2000,
            shutdown_grace_ms: 10_000,
        }
    }
}

impl Limits {
    /// The header timeout.
    #[must_use]
    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }
    /// The request timeout.
    #[must_use]
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
    /// The shutdown grace.
    #[must_use]
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

/// Logging.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `json` (one object a line) or `text`.
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `otpfob_server=debug,info`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Json,
            level: "info".to_owned(),
        }
    }
}

/// The log format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object a line.
    #[default]
    Json,
    /// Human-readable lines.
    Text,
}

impl Config {
    /// Reads and checks a configuration file; relative paths in it are taken from the
    /// file's folder.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for an unreadable or invalid file, or plain HTTP on a
    /// non-loopback address.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|error| ConfigError::Parse {
            path: path.display().to_string(),
            reason: parse_reason(&text, &error),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve(base);
        config.check()?;
        Ok(config)
    }

    /// Makes every relative path relative to `base`.
    pub fn resolve(&mut self, base: &Path) {
        let fix = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        };
        fix(&mut self.clients_file);
        if let Some(staff) = &mut self.console.staff_database {
            fix(staff);
        }
        if let Some(outbox) = &mut self.notify.outbox_database {
            fix(outbox);
        }
        for webhook in &mut self.notify.webhooks {
            fix(&mut webhook.secret_file);
            if let Some(ca) = &mut webhook.ca_file {
                fix(ca);
            }
        }
        if let Some(tls) = &mut self.tls {
            fix(&mut tls.certificate);
            fix(&mut tls.private_key);
            if let Some(ca) = &mut tls.client_ca {
                fix(ca);
            }
        }
        match &mut self.store {
            StoreConfig::Sqlite { path, .. } => fix(path),
            StoreConfig::Postgres { url_file, tls, .. } => {
                if let Some(file) = url_file {
                    fix(file);
                }
                if let Some(tls) = tls {
                    fix(&mut tls.ca_file);
                    for file in [&mut tls.client_certificate, &mut tls.client_key]
                        .into_iter()
                        .flatten()
                    {
                        fix(file);
                    }
                }
            }
            StoreConfig::Memory => {}
        }
        for key in &mut self.sealing.keys {
            if let Some(file) = &mut key.file {
                fix(file);
            }
            // The module path is left alone: a bare library name is the loader's to
            // find, as `dlopen` does.
            if let Some(pin_file) = key.pkcs11.as_mut().and_then(|hsm| hsm.pin_file.as_mut()) {
                fix(pin_file);
            }
        }
    }

    /// Checks the rules no type states.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`].
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.plaintext {
            if !self.listen.ip().is_loopback() {
                return Err(ConfigError::Invalid(format!(
                    "plaintext = true is allowed only on a loopback address, not {}",
                    self.listen
                )));
            }
            if self.tls.is_some() {
                return Err(ConfigError::Invalid(
                    "plaintext = true and a [tls] section: choose one".to_owned(),
                ));
            }
        } else if self.tls.is_none() {
            return Err(ConfigError::Invalid(
                "no [tls] section: TLS is required (plain HTTP only with plaintext = true on loopback)"
                    .to_owned(),
            ));
        }
        if !self
            .sealing
            .keys
            .iter()
            .any(|key| key.id == self.sealing.current)
        {
            return Err(ConfigError::Invalid(format!(
                "sealing.current = {} names no key in sealing.keys",
                self.sealing.current
            )));
        }
        if self.limits.header_bytes < 8192 {
            return Err(ConfigError::Invalid(
                "limits.header_bytes must be at least 8192".to_owned(),
            ));
        }
        self.notify.check()
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> Policy {
        self.policy.policy()
    }

    /// The keyring: the current key and every other as a previous one; in strict
    /// mode, the current key's HSM also holds the tokens' HMAC keys.
    ///
    /// # Errors
    ///
    /// A key that cannot be read, is not private, or is not 32 bytes of hex; a
    /// PKCS#11 key whose module, token, PIN or key object cannot be used
    /// ([`ConfigError::Hsm`]); strict mode with a current key that is not in an HSM.
    pub fn keyring(&self) -> Result<Keyring, ConfigError> {
        let mut current: Option<Arc<dyn KeyringBackend>> = None;
        let mut previous: Vec<Arc<dyn KeyringBackend>> = Vec::new();
        let mut token_keys = None;
        for entry in &self.sealing.keys {
            let key: Arc<dyn KeyringBackend> = match &entry.pkcs11 {
                Some(hsm) => {
                    if entry.file.is_some() || entry.env.is_some() {
                        return Err(ConfigError::Invalid(format!(
                            "sealing key {}: a pkcs11 key has no file or env",
                            entry.id
                        )));
                    }
                    let settings = hsm.settings()?;
                    let open = || {
                        Pkcs11Key::open(entry.id, &settings).map_err(|error| ConfigError::Hsm {
                            key_id: entry.id,
                            reason: error.to_string(),
                        })
                    };
                    if self.sealing.strict && entry.id == self.sealing.current {
                        // A session of its own for the tokens' HMAC keys.
                        token_keys = Some(open()?);
                    }
                    Arc::new(open()?)
                }
                None => Arc::new(software_key(entry)?),
            };
            if entry.id == self.sealing.current {
                current = Some(key);
            } else {
                previous.push(key);
            }
        }
        let current = current
            .ok_or_else(|| ConfigError::Invalid("the current sealing key is missing".to_owned()))?;
        let mut keyring = Keyring::new(current);
        if self.sealing.strict {
            let token_keys = token_keys.ok_or_else(|| {
                ConfigError::Invalid(
                    "sealing.strict = true needs the current key to be a pkcs11 one".to_owned(),
                )
            })?;
            keyring = keyring.with_token_keys(token_keys);
        }
        for key in previous {
            keyring = keyring
                .with_previous(key)
                .map_err(|error| ConfigError::Invalid(error.to_string()))?;
        }
        Ok(keyring)
    }
}

/// A software sealing key: 32 bytes of hex from a private file or a variable.
fn software_key(entry: &SealingKeyConfig) -> Result<SealingKey, ConfigError> {
    let text = read_secret(entry.file.as_deref(), entry.env.as_deref(), "sealing key")?;
    let bytes = Secret::from_hex(text.trim())
        .map_err(|_| ConfigError::Invalid(format!("sealing key {} is not hex", entry.id)))?;
    if bytes.expose_bytes().len() != SEALING_KEY_LEN {
        return Err(ConfigError::Invalid(format!(
            "sealing key {} has {} bytes; it must have {SEALING_KEY_LEN}",
            entry.id,
            bytes.expose_bytes().len()
        )));
    }
    SealingKey::new(entry.id, bytes.expose_bytes())
        .map_err(|error| ConfigError::Invalid(error.to_string()))
}

/// The TOML reader's complaint with its line number but without the snippet of the
/// file it prints, which would put a secret written in the wrong place (a `pin = ...`
/// line, a key pasted inline) into the logs.
fn parse_reason(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end();
    match error.span() {
        Some(span) => {
            let line = text
                .get(..span.start)
                .map_or(0, |before| before.matches('\n').count())
                + 1;
            format!("line {line}: {message}")
        }
        None => message.to_owned(),
    }
}

/// A secret from a private file or an environment variable.
///
/// # Errors
///
/// Neither given, an unreadable or non-private file, an unset variable.
pub fn read_secret(
    file: Option<&Path>,
    variable: Option<&str>,
    what: &str,
) -> Result<Zeroizing<String>, ConfigError> {
    match (file, variable) {
        (Some(path), _) => {
            check_private(path)?;
            std::fs::read_to_string(path)
                .map(Zeroizing::new)
                .map_err(|source| ConfigError::Io {
                    path: path.display().to_string(),
                    source,
                })
        }
        (None, Some(variable)) => std::env::var(variable).map(Zeroizing::new).map_err(|_| {
            ConfigError::Invalid(format!(
                "the environment variable {variable} ({what}) is not set"
            ))
        }),
        (None, None) => Err(ConfigError::Invalid(format!(
            "{what}: give a file or an environment variable"
        ))),
    }
}

/// Refuses a file that its group or others may read or write.
///
/// # Errors
///
/// [`ConfigError::NotPrivate`], [`ConfigError::Io`].
pub fn check_private(path: &Path) -> Result<(), ConfigError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let metadata = std::fs::metadata(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(ConfigError::NotPrivate {
                path: path.display().to_string(),
                mode,
            });
        }
    }
    Ok(())
}

/// Writes a file readable and writable by its owner only (mode 0600), replacing it.
///
/// # Errors
///
/// I/O errors.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_psd2_preset_is_the_librarys_with_its_alert() {
        let policy = PolicyPreset::Psd2.policy();
        assert_eq!(policy.failure_limit, 5);
        assert_eq!(policy.permanent_lock_after, Some(3));
        assert!(matches!(
            policy.lockout,
            otpfob::validator::Lockout::Backoff { .. }
        ));
        assert_eq!(PolicyPreset::Default.policy().failure_limit, 10);
    }
}
