//! What the server's integration tests share: a real server on 127.0.0.1:0 with a
//! client per role, a known HOTP token, and a real HTTP client.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use otpfob::{Enrolment, Hotp, HotpParameters, Secret, TokenId};
use otpfob_server::RunningServer;
use otpfob_server::auth::{ClientsFile, Role};
use otpfob_server::config::{
    Config, Limits, LogConfig, PolicyPreset, SealingConfig, SealingKeyConfig, StoreConfig,
    TlsConfig, write_private,
};

/// The RFC 4226 test secret.
pub const SECRET: &[u8] = b"12345678901234567890";

/// Which store a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A SQLite file in the test's folder.
    Sqlite,
    /// A fresh schema on the PostgreSQL server of `OTPFOB_PG_URL`.
    Postgres,
    /// Memory.
    Memory,
}

/// The connection string of the test PostgreSQL server (`scripts/with-postgres`), or a
/// failure that says how to get one: these tests never skip.
pub fn pg_url() -> String {
    match std::env::var("OTPFOB_PG_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "OTPFOB_PG_URL is not set: run `bash scripts/test`, or wrap cargo in `bash scripts/with-postgres`"
        ),
    }
}

/// A schema name no other test uses.
pub fn unique_schema(label: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.subsec_nanos())
        .unwrap_or(0);
    format!(
        "srv_{label}_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A test's files: config, keys, clients, database.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub config: Config,
    /// Bearer keys by client name; one client per role, named as the role, and `all`.
    pub keys: Vec<(String, String)>,
}

impl Setup {
    /// Files for a server on `backend`, plain HTTP on loopback.
    pub fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("sealing-key-1");
        write_private(
            &key_path,
            b"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
        )
        .unwrap();
        let mut clients = ClientsFile::default();
        let mut keys = Vec::new();
        for role in Role::ALL {
            let key = clients
                .issue(role.as_str(), BTreeSet::from([role]), None)
                .unwrap();
            keys.push((role.as_str().to_owned(), key.to_string()));
        }
        let key = clients
            .issue("all", Role::ALL.into_iter().collect(), None)
            .unwrap();
        keys.push(("all".to_owned(), key.to_string()));
        let clients_file = dir.path().join("clients.toml");
        clients.write(&clients_file).unwrap();
        let store = match backend {
            Backend::Sqlite => StoreConfig::Sqlite {
                path: dir.path().join("otpfob.db"),
                group_commit: true,
            },
            Backend::Memory => StoreConfig::Memory,
            Backend::Postgres => {
                let url_file = dir.path().join("pg-url");
                write_private(&url_file, pg_url().as_bytes()).unwrap();
                StoreConfig::Postgres {
                    url_file: Some(url_file),
                    url_env: None,
                    schema: Some(unique_schema("server")),
                    pool_size: Some(8),
                    tls: None,
                }
            }
        };
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            plaintext: true,
            tls: None,
            store,
            sealing: SealingConfig {
                current: 1,
                strict: false,
                keys: vec![SealingKeyConfig {
                    id: 1,
                    file: Some(key_path),
                    env: None,
                    pkcs11: None,
                }],
            },
            clients_file,
            issuer: "test bank".to_owned(),
            policy: PolicyPreset::Default,
            limits: Limits {
                rate_per_second: 100_000,
                rate_burst: 100_000,
                ..Limits::default()
            },
            log: LogConfig::default(),
            console: otpfob_server::config::ConsoleConfig::default(),
            notify: otpfob_server::config::NotifyConfig::default(),
        };
        Self { dir, config, keys }
    }

    /// The key of the client named `name`.
    pub fn key(&self, name: &str) -> String {
        self.keys
            .iter()
            .find(|(client, _)| client == name)
            .map(|(_, key)| key.clone())
            .unwrap()
    }

    /// Serves TLS with these files instead of plain HTTP.
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.config.plaintext = false;
        self.config.tls = Some(tls);
        self
    }

    /// Writes the configuration as a TOML file (for the binary) and returns its path.
    pub fn write_config(&self, listen: &str) -> PathBuf {
        let mut config = self.config.clone();
        config.listen = listen.parse().unwrap();
        let path = self.dir.path().join("otpfob-server.toml");
        std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
        path
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A started server with its files.
pub struct Harness {
    pub setup: Setup,
    pub server: RunningServer,
    pub base: String,
    pub http: reqwest::Client,
}

impl Harness {
    /// Starts a plain-HTTP server on `backend` with HOTP token `hotp-1` enrolled.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(Setup::new(backend)).await
    }

    pub async fn start_with(setup: Setup) -> Self {
        install_crypto();
        let server = otpfob_server::start(setup.config.clone()).await.unwrap();
        let base = format!("http://{}", server.address());
        let harness = Self {
            setup,
            server,
            base,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(128)
                .build()
                .unwrap(),
        };
        harness.enrol_hotp("hotp-1").await;
        harness
    }

    /// Enrols an RFC 4226 HOTP token (counter 0) through the validator.
    pub async fn enrol_hotp(&self, id: &str) {
        let id = TokenId::new(id).unwrap();
        self.server
            .state()
            .blocking(move |validator| {
                let secret = Secret::from_bytes(SECRET).unwrap();
                validator.enrol(Enrolment::new(id, secret, HotpParameters::default()))
            })
            .await
            .unwrap()
            .unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn key(&self, name: &str) -> String {
        self.setup.key(name)
    }

    /// POSTs `body` to the verify endpoint of `token` as the `verify` client.
    pub async fn verify(&self, token: &str, code: &str) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/v1/tokens/{token}/verify")))
            .bearer_auth(self.key("verify"))
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await
            .unwrap()
    }
}

/// The RFC 4226 code of `counter`.
pub fn hotp_code(counter: u64) -> String {
    let secret = Secret::from_bytes(SECRET).unwrap();
    Hotp::new(&secret, HotpParameters::default())
        .unwrap()
        .at(counter)
        .to_string()
}

/// Gives rustls (for reqwest) its crypto provider, once per process.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
