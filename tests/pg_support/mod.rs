//! What the PostgreSQL tests share: the servers `scripts/with-postgres` started, and a
//! fresh schema per store so that tests running in parallel never see each other's
//! tokens.
//!
//! These tests never skip: without a server they fail and say how to get one.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use otpfob::{PgConfig, PgStore};

const HOW: &str = "run the tests with `bash scripts/test`, which starts throwaway PostgreSQL servers \
(it needs Debian's `postgresql` package: `apt-get install postgresql`, installed automatically when \
run as root), or wrap any cargo command: `bash scripts/with-postgres cargo test --features postgres`";

/// The value of `variable`, or a failure that says how to set it.
pub(crate) fn required(variable: &str) -> String {
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!("{variable} is not set, so the PostgreSQL tests cannot run: {HOW}"),
    }
}

/// The shared test server's connection string, once it has answered.
pub(crate) fn url() -> String {
    reachable("OTPFOB_PG_URL")
}

/// The connection string in `variable`, checked once per test process to reach a
/// server, so that a test fails with directions rather than a bare timeout.
pub(crate) fn reachable(variable: &str) -> String {
    static CHECKED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let url = required(variable);
    let mut checked = CHECKED.lock().unwrap_or_else(PoisonError::into_inner);
    if !checked.contains(&url) {
        let mut config: postgres::Config = url
            .parse()
            .unwrap_or_else(|error| panic!("{variable} is not a connection string ({error})"));
        config.connect_timeout(Duration::from_secs(5));
        if let Err(error) = config.connect(postgres::NoTls) {
            panic!("no PostgreSQL server answers at {variable} ({url}): {error}; {HOW}");
        }
        checked.push(url.clone());
    }
    url
}

/// A schema name no other test, and no earlier run on the same server, uses.
pub(crate) fn unique_schema(label: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.subsec_nanos())
        .unwrap_or(0);
    format!(
        "t_{label}_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Settings for a fresh schema on the server at `url`, with timeouts generous enough
/// for a loaded two-core machine.
pub(crate) fn config_at(url: &str, label: &str, pool_size: u32) -> PgConfig {
    PgConfig::new(url)
        .unwrap()
        .schema(&unique_schema(label))
        .unwrap()
        .pool_size(pool_size)
        .unwrap()
        .connect_timeout(Duration::from_secs(10))
        .unwrap()
        .statement_timeout(Duration::from_secs(30))
        .unwrap()
}

/// Settings for a fresh schema on the shared server.
pub(crate) fn config(label: &str, pool_size: u32) -> PgConfig {
    config_at(&url(), label, pool_size)
}

/// Connects and migrates, failing with directions if the server cannot be reached.
pub(crate) fn connect(config: &PgConfig) -> PgStore {
    PgStore::connect(config).unwrap_or_else(|error| {
        panic!("cannot use the PostgreSQL server in OTPFOB_PG_URL ({error}): {HOW}")
    })
}

/// A migrated store in a fresh schema of the shared server.
pub(crate) fn store(label: &str) -> PgStore {
    connect(&config(label, 8))
}

/// A plain client for checks the store's API does not offer.
pub(crate) fn client_at(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|error| panic!("cannot connect to {url}: {error}: {HOW}"))
}
