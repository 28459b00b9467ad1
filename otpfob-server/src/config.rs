//! The TOML configuration file, and the secret files it names.
//!
//! Secrets (sealing keys, the PostgreSQL connection string) come from files readable
//! by their owner only, or from environment variables, never from the command line,
//! where every user of the machine can read them in the process list.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use otpfob::{Keyring, Policy, SealingKey, Secret, validator::SEALING_KEY_LEN};
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
    },
    /// In memory, gone at exit: for tests and demos.
    Memory,
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
}

/// One sealing key: 32 bytes in hex, from a file or an environment variable.
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
}

/// The validator policy preset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyPreset {
    /// [`Policy::default`].
    #[default]
    Default,
    /// The default with 5 failures before a lock (PSD2 RTS Art. 4(3)(b)).
    Psd2,
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
            reason: error.to_string(),
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
        if let Some(tls) = &mut self.tls {
            fix(&mut tls.certificate);
            fix(&mut tls.private_key);
            if let Some(ca) = &mut tls.client_ca {
                fix(ca);
            }
        }
        match &mut self.store {
            StoreConfig::Sqlite { path, .. } => fix(path),
            StoreConfig::Postgres {
                url_file: Some(file),
                ..
            } => fix(file),
            _ => {}
        }
        for key in &mut self.sealing.keys {
            if let Some(file) = &mut key.file {
                fix(file);
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
        Ok(())
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> Policy {
        match self.policy {
            PolicyPreset::Default => Policy::default(),
            // PSD2 RTS Art. 4(3)(b): at most 5 consecutive failures.
            PolicyPreset::Psd2 => {
                let mut policy = Policy::default();
                policy.failure_limit = 5;
                policy
            }
        }
    }

    /// The keyring: the current key and every other as a previous one.
    ///
    /// # Errors
    ///
    /// A key that cannot be read, is not private, or is not 32 bytes of hex.
    pub fn keyring(&self) -> Result<Keyring, ConfigError> {
        let mut current = None;
        let mut previous = Vec::new();
        for entry in &self.sealing.keys {
            let text = read_secret(entry.file.as_deref(), entry.env.as_deref(), "sealing key")?;
            let bytes = Secret::from_hex(text.trim()).map_err(|_| {
                ConfigError::Invalid(format!("sealing key {} is not hex", entry.id))
            })?;
            if bytes.expose_bytes().len() != SEALING_KEY_LEN {
                return Err(ConfigError::Invalid(format!(
                    "sealing key {} has {} bytes; it must have {SEALING_KEY_LEN}",
                    entry.id,
                    bytes.expose_bytes().len()
                )));
            }
            let key = SealingKey::new(entry.id, bytes.expose_bytes())
                .map_err(|error| ConfigError::Invalid(error.to_string()))?;
            if entry.id == self.sealing.current {
                current = Some(key);
            } else {
                previous.push(key);
            }
        }
        let current = current
            .ok_or_else(|| ConfigError::Invalid("the current sealing key is missing".to_owned()))?;
        let mut keyring = Keyring::new(current);
        for key in previous {
            keyring = keyring
                .with_previous(key)
                .map_err(|error| ConfigError::Invalid(error.to_string()))?;
        }
        Ok(keyring)
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
