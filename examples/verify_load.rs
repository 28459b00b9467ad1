//! In-process load: `Validator::verify` with wrong codes to random tokens of 10,000
//! enrolled ones, from 16 and 64 threads, on SQLite with group commit, on SQLite
//! without it, and (feature `postgres`, under `scripts/with-postgres`) on PostgreSQL.
//!
//! ```sh
//! cargo run --release --features sqlite --example verify_load -- --seconds 30
//! bash scripts/with-postgres cargo run --release --features sqlite,postgres \
//!     --example verify_load -- --seconds 30 --stores sqlite-group,sqlite-plain,postgres
//! ```
//!
//! Options: `--seconds S` (default 30) per configuration, `--threads 16,64`,
//! `--stores sqlite-group,sqlite-plain[,postgres]`, `--tokens 10000`.
//!
//! Every verification is a wrong code (six random digits; one in a million is right
//! by chance and is counted apart), the path an attacker or a mistyping user drives:
//! each one reads the token and writes once, under the default policy as the server
//! runs it. The first ten on a token count failures (a compare-and-swap of the new
//! state with its audit row); from then on the token is locked and each rejection is
//! an audit append. Both are one write through the store. Each store gets the same
//! 10,000 fresh tokens (enrolled with group commit, then reopened as configured), and
//! runs 16 threads, then 64, as `otpfob-server/examples/http_load.rs` does over HTTP.
#![allow(clippy::print_stdout, clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use otpfob::validator::Store;
use otpfob::{
    Enrolment, Keyring, RejectReason, SealingKey, Secret, SqliteOptions, SqliteStore, SystemClock,
    TokenId, TotpParameters, UnixTime, Validator,
};

/// In-process load: wrong codes to random tokens, for each store and thread count.
#[derive(clap::Parser)]
struct Arguments {
    /// Seconds per configuration.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Thread counts, measured one after the other.
    #[arg(long, value_delimiter = ',', default_values_t = [16, 64])]
    threads: Vec<usize>,
    /// Stores: sqlite-group, sqlite-plain, postgres (feature `postgres`).
    #[arg(long, value_delimiter = ',', default_values = ["sqlite-group", "sqlite-plain"])]
    stores: Vec<String>,
    /// Tokens enrolled.
    #[arg(long, default_value_t = 10_000)]
    tokens: usize,
}

fn token(index: usize) -> TokenId {
    TokenId::new(format!("BENCH-{index:05}")).unwrap()
}

fn secret(index: usize) -> Secret {
    Secret::from_bytes(format!("bench-secret-{index:05}-0000000").as_bytes()).unwrap()
}

fn keyring() -> Keyring {
    Keyring::new(SealingKey::new(1, &[0x5a; 32]).unwrap())
}

/// A validator on `store` (default policy).
fn validator<S: Store + 'static>(store: S) -> Arc<Validator<S, SystemClock>> {
    Arc::new(Validator::new(store, SystemClock, keyring()))
}

/// Enrols `tokens` time tokens (from 16 threads, so that a group-commit store enrols
/// in batches).
fn enrol<S: Store + 'static>(validator: &Arc<Validator<S, SystemClock>>, tokens: usize) {
    let enrolling = 16;
    thread::scope(|scope| {
        for part in 0..enrolling {
            let validator = &validator;
            scope.spawn(move || {
                for index in (part..tokens).step_by(enrolling) {
                    validator
                        .enrol(
                            Enrolment::new(token(index), secret(index), TotpParameters::default())
                                .with_synced_at(UnixTime::from_secs(1_700_000_000)),
                        )
                        .expect("enrol");
                }
            });
        }
    });
}

/// What one run measured.
struct Measured {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    accepted: u64,
    store_failures: u64,
}

fn run<S: Store + 'static>(
    validator: &Arc<Validator<S, SystemClock>>,
    tokens: usize,
    threads: usize,
    duration: Duration,
) -> Measured {
    let started = Instant::now();
    let tallies: Vec<(Vec<u32>, u64, u64)> = thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread_index| {
                let validator = Arc::clone(validator);
                scope.spawn(move || {
                    let mut random = 0x9e37_79b9_7f4a_7c15_u64 ^ (thread_index as u64 + 1);
                    let mut latencies = Vec::with_capacity(1 << 16);
                    let (mut accepted, mut store_failures) = (0, 0);
                    while started.elapsed() < duration {
                        // xorshift: cheap, and random enough to pick a token and a code.
                        random ^= random << 13;
                        random ^= random >> 7;
                        random ^= random << 17;
                        let index = (random % tokens as u64) as usize;
                        let code = format!("{:06}", (random >> 20) % 1_000_000);
                        let id = token(index);
                        let before = Instant::now();
                        let result = validator.verify(&id, &code, None);
                        let micros = before.elapsed().as_micros();
                        latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                        match result {
                            Ok(_) => accepted += 1,
                            Err(rejected) if rejected.reason() == RejectReason::StoreFailure => {
                                store_failures += 1;
                            }
                            Err(_) => {}
                        }
                    }
                    (latencies, accepted, store_failures)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let accepted = tallies.iter().map(|tally| tally.1).sum();
    let store_failures = tallies.iter().map(|tally| tally.2).sum();
    let mut latencies: Vec<u32> = tallies.into_iter().flat_map(|tally| tally.0).collect();
    latencies.sort_unstable();
    let percentile = |fraction: f64| {
        let position = ((latencies.len() as f64 - 1.0) * fraction).round() as usize;
        f64::from(latencies.get(position).copied().unwrap_or(0)) / 1000.0
    };
    Measured {
        rate: latencies.len() as f64 / elapsed,
        p50_ms: percentile(0.5),
        p99_ms: percentile(0.99),
        accepted,
        store_failures,
    }
}

fn report(store: &str, threads: usize, measured: &Measured, extra: &str) {
    println!(
        "{store:<13} {threads:>3} threads: {:>8.0} verifications/s  p50 {:>6.2} ms  p99 {:>6.2} ms  \
         ({} accepted by chance, {} store failures){extra}",
        measured.rate, measured.p50_ms, measured.p99_ms, measured.accepted, measured.store_failures
    );
}

fn sqlite(name: &str, options: &SqliteOptions, arguments: &Arguments) {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("tokens.db");
    enrol(
        &validator(SqliteStore::open_with(&path, &SqliteOptions::new()).unwrap()),
        arguments.tokens,
    );
    let validator = validator(SqliteStore::open_with(&path, options).unwrap());
    for &threads in &arguments.threads {
        let before = validator.store().group_commit_statistics();
        let measured = run(
            &validator,
            arguments.tokens,
            threads,
            Duration::from_secs(arguments.seconds),
        );
        let extra = match (before, validator.store().group_commit_statistics()) {
            (Some(before), Some(after)) => {
                let commits = after.commits - before.commits;
                let writes = after.writes - before.writes;
                format!(
                    "  [{commits} commits for {writes} writes: {:.1} per commit]",
                    writes as f64 / commits.max(1) as f64
                )
            }
            _ => String::new(),
        };
        report(name, threads, &measured, &extra);
    }
}

#[cfg(feature = "postgres")]
fn postgres(arguments: &Arguments) {
    let url = std::env::var("OTPFOB_PG_URL")
        .expect("OTPFOB_PG_URL is not set: run under `bash scripts/with-postgres`");
    let pool = u32::try_from(arguments.threads.iter().copied().max().unwrap_or(16)).unwrap();
    let config = otpfob::PgConfig::new(&url)
        .unwrap()
        .schema(&format!("otpfob_verify_load_{}", std::process::id()))
        .unwrap()
        .pool_size(pool)
        .unwrap();
    let store = otpfob::PgStore::connect(&config).expect("PgStore::connect");
    let validator = validator(store);
    enrol(&validator, arguments.tokens);
    for &threads in &arguments.threads {
        let measured = run(
            &validator,
            arguments.tokens,
            threads,
            Duration::from_secs(arguments.seconds),
        );
        report("postgres", threads, &measured, &format!("  [pool {pool}]"));
    }
}

#[cfg(not(feature = "postgres"))]
fn postgres(_: &Arguments) {
    panic!("the postgres store needs --features postgres");
}

fn main() {
    let arguments = <Arguments as clap::Parser>::parse();
    println!(
        "Validator::verify, wrong codes to random tokens of {} enrolled, {} s per run",
        arguments.tokens, arguments.seconds
    );
    for store in &arguments.stores {
        match store.as_str() {
            "sqlite-group" => sqlite(store, &SqliteOptions::new(), &arguments),
            "sqlite-plain" => sqlite(
                store,
                &SqliteOptions::new().without_group_commit(),
                &arguments,
            ),
            "postgres" => postgres(&arguments),
            other => panic!("unknown store {other}: sqlite-group, sqlite-plain or postgres"),
        }
    }
}
