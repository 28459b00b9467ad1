//! The one `AppState`, built at start-up: the validator over the configured store, the
//! clients, the configuration and the metrics.

use std::sync::{Arc, Weak};
use std::time::Instant;

use otpfob::{
    MemoryStore, PgConfig, PgStore, SqliteStore, StoreError, SystemClock, Validator,
    ValidatorError, validator::Store,
};

use crate::auth::{ClientsFile, Registry};
use crate::config::{Config, ConfigError, StoreConfig, read_secret};
use crate::problem::Problem;

/// The validator the server runs: over any store, on the system clock.
pub type ServerValidator = Validator<Arc<dyn Store>, SystemClock>;

/// Everything a handler needs, shared by every request.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    validator: Arc<ServerValidator>,
    registry: Arc<Registry>,
    config: Config,
    /// The SQLite store, for its group-commit statistics at `/metrics`; weak, so that
    /// it closes when the validator lets it go.
    sqlite: Option<Weak<SqliteStore>>,
    /// The staff console's accounts and sessions.
    console: Arc<crate::console::Console>,
    /// The webhook notifications, if any webhook is configured.
    notifier: Option<Arc<crate::notify::Notifier>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AppState")
            .field("validator", &self.validator)
            .finish_non_exhaustive()
    }
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration or a file it names.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The clients file.
    #[error(transparent)]
    Clients(#[from] crate::auth::ClientsError),
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(String),
    /// The validator refused the policy.
    #[error(transparent)]
    Validator(#[from] ValidatorError),
    /// TLS files.
    #[error("TLS: {0}")]
    Tls(String),
    /// The console's staff database.
    #[error(transparent)]
    Staff(#[from] crate::console::staff::StaffError),
    /// The listening socket.
    #[error("listen on {address}: {source}")]
    Listen {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Opens the configured store (blocking: call it off the async workers).
///
/// # Errors
///
/// [`StartError::Store`] and configuration errors for the connection string.
pub fn open_store(config: &StoreConfig) -> Result<Arc<dyn Store>, StartError> {
    open_observed_store(config).map(|(store, _)| store)
}

/// A store as opened, and the SQLite store itself when it is one (for its statistics).
type ObservedStore = (Arc<dyn Store>, Option<Weak<SqliteStore>>);

/// [`open_store`], and the SQLite store itself when it is one.
fn open_observed_store(config: &StoreConfig) -> Result<ObservedStore, StartError> {
    Ok(match config {
        StoreConfig::Sqlite { path, group_commit } => {
            let options = if *group_commit {
                otpfob::SqliteOptions::new()
            } else {
                otpfob::SqliteOptions::new().without_group_commit()
            };
            let store = Arc::new(
                SqliteStore::open_with(path, &options)
                    .map_err(|error| StartError::Store(error.to_string()))?,
            );
            let weak = Arc::downgrade(&store);
            (store, Some(weak))
        }
        StoreConfig::Memory => (Arc::new(MemoryStore::new()), None),
        StoreConfig::Postgres {
            url_file,
            url_env,
            schema,
            pool_size,
            tls,
        } => {
            let url = read_secret(
                url_file.as_deref(),
                url_env.as_deref(),
                "PostgreSQL connection string",
            )?;
            let invalid = |error: otpfob::PgConfigError| StartError::Store(error.to_string());
            let mut pg = PgConfig::new(url.trim()).map_err(invalid)?;
            if let Some(schema) = schema {
                pg = pg.schema(schema).map_err(invalid)?;
            }
            if let Some(size) = pool_size {
                pg = pg.pool_size(*size).map_err(invalid)?;
            }
            if let Some(tls) = tls {
                pg = pg.tls(tls.settings()?).map_err(invalid)?;
            }
            let store =
                PgStore::connect(&pg).map_err(|error| StartError::Store(error.to_string()))?;
            (Arc::new(store), None)
        }
    })
}

impl AppState {
    /// Builds the state: reads the keys and clients, opens the store (blocking).
    ///
    /// # Errors
    ///
    /// Any [`StartError`].
    pub fn build(config: Config) -> Result<Self, StartError> {
        let keyring = config.keyring()?;
        let clients = ClientsFile::read(&config.clients_file)?;
        let (opened, sqlite) = open_observed_store(&config.store)?;
        let console = Arc::new(crate::console::Console::open(&config)?);
        let store: Arc<dyn Store> = Arc::new(ClosedOffRuntime(Some(opened)));
        let notifier = crate::notify::Notifier::open(&config)?;
        let mut validator = Validator::new(store, SystemClock, keyring)
            .with_policy(config.policy())?
            .with_audit_sink(crate::observe::LogSink);
        if let Some(notifier) = &notifier {
            validator = validator.with_notice_sink(notifier.sink());
        }
        Ok(Self {
            inner: Arc::new(Inner {
                validator: Arc::new(validator),
                registry: Arc::new(Registry::new(&clients)),
                config,
                sqlite,
                console,
                notifier,
            }),
        })
    }

    /// The validator.
    #[must_use]
    pub fn validator(&self) -> &Arc<ServerValidator> {
        &self.inner.validator
    }

    /// The clients.
    #[must_use]
    pub fn registry(&self) -> &Arc<Registry> {
        &self.inner.registry
    }

    /// The staff console.
    #[must_use]
    pub fn console(&self) -> &Arc<crate::console::Console> {
        &self.inner.console
    }

    /// The webhook notifications, if any webhook is configured.
    #[must_use]
    pub fn notifier(&self) -> Option<&Arc<crate::notify::Notifier>> {
        self.inner.notifier.as_ref()
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// What the SQLite store's group-commit writer has done (batch sizes), for
    /// `/metrics`; `None` for another store, or SQLite without group commit.
    #[must_use]
    pub fn group_commit_statistics(&self) -> Option<otpfob::store::GroupCommitStatistics> {
        self.inner
            .sqlite
            .as_ref()?
            .upgrade()?
            .group_commit_statistics()
    }

    /// Reads the clients file again (on SIGHUP): issued keys start working, revoked
    /// ones stop. A file that does not read keeps the clients as they were.
    ///
    /// # Errors
    ///
    /// The file's errors.
    pub fn reload_clients(&self) -> Result<usize, crate::auth::ClientsError> {
        let file = ClientsFile::read(&self.inner.config.clients_file)?;
        self.inner.registry.replace(&file);
        Ok(file.clients.len())
    }

    /// An administrative validator call on behalf of `actor`, off the async workers:
    /// its audit events name the client, and its error becomes the administration
    /// API's problem answer.
    ///
    /// # Errors
    ///
    /// The validator's error as a problem, or a 500 problem if the job panicked.
    pub async fn administer<T: Send + 'static>(
        &self,
        actor: Arc<str>,
        job: impl FnOnce(&ServerValidator) -> Result<T, ValidatorError> + Send + 'static,
    ) -> Result<T, Problem> {
        self.blocking(move |validator| crate::actor::acting_as(&actor, || job(validator)))
            .await?
            .map_err(|error| admin_problem(&error))
    }

    /// Runs `job` on the validator on the blocking pool, never on an async worker (the
    /// stores are synchronous), and records the store latency.
    ///
    /// # Errors
    ///
    /// A 500 problem if the job panicked.
    pub async fn blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce(&ServerValidator) -> T + Send + 'static,
    ) -> Result<T, Problem> {
        let validator = Arc::clone(&self.inner.validator);
        let started = Instant::now();
        // Taken here, on the request's task: the blocking pool's thread has no task-local.
        let context = crate::actor::current_request();
        let reason = crate::actor::current_reason();
        let result = tokio::task::spawn_blocking(move || {
            let given = move || match reason {
                Some(reason) => otpfob::validator::giving_reason(reason, || job(&validator)),
                None => job(&validator),
            };
            match context {
                Some(context) => otpfob::validator::within(context, given),
                None => given(),
            }
        })
        .await;
        metrics::histogram!("otpfob_store_call_seconds").record(started.elapsed().as_secs_f64());
        result.map_err(|error| {
            tracing::error!(%error, "validator job failed");
            Problem::internal()
        })
    }
}

/// A store that is closed off the async runtime: the PostgreSQL client blocks on its
/// own runtime when its connections close, which must not happen on a tokio worker
/// (it panics there). Dropped inside a runtime, the store is handed to a plain thread.
struct ClosedOffRuntime(Option<Arc<dyn Store>>);

/// Records how long one store operation took (`otpfob_store_seconds`, by operation)
/// and counts its errors: the store's own latency, without the blocking pool's queue.
fn timed<T>(
    operation: &'static str,
    call: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let result = call();
    metrics::histogram!("otpfob_store_seconds", "operation" => operation)
        .record(started.elapsed().as_secs_f64());
    if result.is_err() {
        metrics::counter!("otpfob_store_operation_errors_total", "operation" => operation)
            .increment(1);
    }
    result
}

/// Counts a compare-and-swap that lost to a concurrent writer (the validator retries
/// it): `otpfob_store_cas_conflicts_total`.
fn count_conflict(
    swap: Result<otpfob::validator::Swap, StoreError>,
) -> Result<otpfob::validator::Swap, StoreError> {
    if matches!(swap, Ok(otpfob::validator::Swap::Conflict)) {
        metrics::counter!("otpfob_store_cas_conflicts_total").increment(1);
    }
    swap
}

impl ClosedOffRuntime {
    fn inner(&self) -> Result<&Arc<dyn Store>, StoreError> {
        self.0.as_ref().ok_or_else(|| StoreError::Backend {
            reason: "the store is closed".to_owned(),
        })
    }
}

impl Drop for ClosedOffRuntime {
    fn drop(&mut self) {
        // Outside a runtime, the store simply drops here.
        if let Some(store) = self.0.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            let _ = std::thread::spawn(move || drop(store)).join();
        }
    }
}

impl Store for ClosedOffRuntime {
    fn enrol(
        &self,
        record: &otpfob::validator::TokenRecord,
        audit: &otpfob::validator::AuditEvent,
    ) -> Result<(), StoreError> {
        timed("enrol", || self.inner()?.enrol(record, audit))
    }
    fn load(
        &self,
        id: &otpfob::TokenId,
    ) -> Result<Option<otpfob::validator::TokenRecord>, StoreError> {
        timed("load", || self.inner()?.load(id))
    }
    fn compare_and_swap(
        &self,
        record: &otpfob::validator::TokenRecord,
        expected_version: u64,
        audit: &otpfob::validator::AuditEvent,
    ) -> Result<otpfob::validator::Swap, StoreError> {
        count_conflict(timed("compare_and_swap", || {
            self.inner()?
                .compare_and_swap(record, expected_version, audit)
        }))
    }
    fn compare_and_swap_owned(
        &self,
        record: otpfob::validator::TokenRecord,
        expected_version: u64,
        audit: &otpfob::validator::AuditEvent,
    ) -> Result<otpfob::validator::Swap, StoreError> {
        count_conflict(timed("compare_and_swap", || {
            self.inner()?
                .compare_and_swap_owned(record, expected_version, audit)
        }))
    }
    fn delete(
        &self,
        id: &otpfob::TokenId,
        audit: &otpfob::validator::AuditEvent,
    ) -> Result<bool, StoreError> {
        timed("delete", || self.inner()?.delete(id, audit))
    }
    fn list(&self) -> Result<Vec<otpfob::TokenId>, StoreError> {
        timed("list", || self.inner()?.list())
    }
    fn list_page(
        &self,
        after: Option<&otpfob::TokenId>,
        limit: usize,
    ) -> Result<Vec<otpfob::TokenId>, StoreError> {
        timed("list_page", || self.inner()?.list_page(after, limit))
    }
    fn record_rejection(
        &self,
        probe: &otpfob::validator::TokenRecord,
        expected_version: u64,
        audit: &otpfob::validator::AuditEvent,
    ) -> Result<(), StoreError> {
        timed("record_rejection", || {
            self.inner()?
                .record_rejection(probe, expected_version, audit)
        })
    }
    fn append_audit(&self, event: &otpfob::validator::AuditEvent) -> Result<(), StoreError> {
        timed("append_audit", || self.inner()?.append_audit(event))
    }
    fn audit_trail(
        &self,
        id: &otpfob::TokenId,
        limit: usize,
    ) -> Result<Vec<otpfob::validator::AuditEvent>, StoreError> {
        timed("audit_trail", || self.inner()?.audit_trail(id, limit))
    }
}

/// Maps an administration error to a problem: 404 and 409 for the token's existence
/// (administrators may know which tokens exist), 409 for a life-cycle change the
/// token's state refuses, 422 for refused values, 503 for the
/// store. Library errors name bad values, never secrets.
#[must_use]
pub fn admin_problem(error: &ValidatorError) -> Problem {
    use axum::http::StatusCode;
    match error {
        ValidatorError::Store(StoreError::NotEnrolled { .. }) => Problem::token_not_found(),
        ValidatorError::Store(StoreError::AlreadyEnrolled { .. }) => Problem::new(
            StatusCode::CONFLICT,
            "already-enrolled",
            "Token already enrolled",
        ),
        ValidatorError::Store(_) | ValidatorError::Contention { .. } => {
            metrics::counter!("otpfob_store_errors_total").increment(1);
            tracing::error!(%error, "store error");
            Problem::unavailable("the token store did not answer; try again")
        }
        ValidatorError::Seal(_) => {
            tracing::error!(%error, "sealing error");
            Problem::internal()
        }
        // The token's state does not allow the change (revoked is final, found for a
        // token not lost, another customer's token): the request was well formed.
        ValidatorError::Lifecycle { .. } => Problem::new(
            StatusCode::CONFLICT,
            "lifecycle-conflict",
            "Not allowed in the token's state",
        )
        .detail(error.to_string()),
        ValidatorError::NoOcra { .. } => {
            Problem::new(StatusCode::CONFLICT, "no-ocra", "Token has no OCRA suite")
        }
        other => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-value",
            "Invalid value",
        )
        .detail(other.to_string()),
    }
}
