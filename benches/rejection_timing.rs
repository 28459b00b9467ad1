//! Issue 11, item 2: how long each kind of rejection takes, on each store, with and
//! without a PIN supplied. An attacker who times the answers must not learn which ids
//! are enrolled, locked or disabled, so the medians of `unknown`, `locked`, `disabled`
//! and `wrong_code` must agree within 5 % on each store;
//! `python3 scripts/rejection-timing-table` prints the table from criterion's results.
//!
//! ```text
//! cargo bench --bench rejection_timing -- --warm-up-time 1 --measurement-time 5
//! python3 scripts/rejection-timing-table
//! ```
//!
//! With `--features postgres` under `bash scripts/with-postgres`, PostgreSQL too.
//! `OTPFOB_TIMING_ROUNDS` (5,000; MemoryStore 20 times as many) and
//! `OTPFOB_TIMING_PIN_ROUNDS` (100) set how many rounds each store runs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};

use otpfob::store::SqliteOptions;
use otpfob::validator::{Lockout, PinHashing, Store};
use otpfob::{
    Code, Enrolment, Keyring, ManualClock, MemoryStore, Policy, SealingKey, Secret, SqliteStore,
    TokenId, Totp, TotpParameters, Validator, Window,
};

const NOW: i64 = 1_767_225_600;
const PIN: &str = "2468";

/// The four rejections, each with the id it is asked for.
const PATHS: [(&str, &str); 4] = [
    ("unknown", "FOB-NOT-ENROLLED"),
    ("locked", "FOB-LOCKED"),
    ("disabled", "FOB-DISABLED"),
    ("wrong_code", "FOB-ACTIVE"),
];

/// A code outside every window of the active token, so that each verification is a
/// wrong code (and not, by chance, an acceptance).
fn wrong_code(secret: &Secret) -> String {
    let totp = Totp::new(secret, TotpParameters::default()).expect("valid parameters");
    (0..1_000_000u32)
        .map(|value| Code::new(value, 6).expect("six digits"))
        .find(|code| {
            totp.verify(code, NOW as u64, Window::symmetric(20))
                .is_err()
        })
        .expect("a code outside the window")
        .to_string()
}

/// Enrols the active, locked and disabled tokens on `store` and returns the validator
/// the benchmark asks: one whose failure limit is never reached, so that every
/// wrong code stays a wrong code for an active token however many are measured.
fn prepared<S: Store + Clone>(
    store: S,
    pin: Option<&str>,
    pin_hashing: PinHashing,
) -> (Validator<S, ManualClock>, String) {
    let clock = ManualClock::at_secs(NOW);
    let keyring = || Keyring::new(SealingKey::new(1, &[7; 32]).expect("a 32-byte key"));
    let secret = Secret::generate_default().expect("randomness");
    let locking = Validator::new(store.clone(), clock.clone(), keyring())
        .with_pin_hashing(pin_hashing)
        .expect("a valid cost")
        .with_policy({
            let mut policy = Policy::default();
            policy.failure_limit = 1;
            policy.lockout = Lockout::UntilUnlocked;
            policy
        })
        .expect("a valid policy");
    for (_, id) in &PATHS[1..] {
        let enrolment = Enrolment::new(
            TokenId::new(*id).expect("valid id"),
            secret.clone(),
            TotpParameters::default(),
        );
        locking
            .enrol(match pin {
                Some(pin) => enrolment.with_pin(pin),
                None => enrolment,
            })
            .expect("enrolled");
    }
    let code = wrong_code(&secret);
    let locked = TokenId::new("FOB-LOCKED").expect("valid id");
    let _ = locking.verify(&locked, &code, pin);
    locking
        .disable(&TokenId::new("FOB-DISABLED").expect("valid id"))
        .expect("disabled");
    let validator = Validator::new(store, clock, keyring())
        .with_pin_hashing(pin_hashing)
        .expect("a valid cost")
        .with_policy({
            let mut policy = Policy::default();
            policy.failure_limit = u32::MAX;
            policy
        })
        .expect("a valid policy");
    (validator, code)
}

/// Measures the four paths interleaved in one window: every round runs all four
/// rejections, in an order that rotates from round to round, and times each. So the
/// four medians come from the same moments, the same store size (each rejection appends
/// an audit row, and the files grow through the run) and the same state of the disk
/// and caches: a slow stretch of `fsync`s slows all four alike. (Timing one path per
/// criterion benchmark, even with the other three run between, put each path in its
/// own 4-second window, and on SQLite the disk's drift between windows was larger than
/// the differences sought.) The medians are written where criterion writes its
/// estimates, so `scripts/rejection-timing-table` reads them.
fn measure<S: Store>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    validator: &Validator<S, ManualClock>,
    code: &str,
    pin: Option<&str>,
    rounds: usize,
) {
    let ids: Vec<TokenId> = PATHS
        .iter()
        .map(|(_, id)| TokenId::new(*id).expect("valid id"))
        .collect();
    // Warm-up outside the measurement: the decoy and the generators are made on
    // first use, as they are in a running server.
    for _ in 0..rounds.div_ceil(10) {
        for id in &ids {
            let _ = validator.verify(id, code, pin);
        }
    }
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); PATHS.len()];
    for round in 0..rounds {
        for step in 0..PATHS.len() {
            let index = (round + step) % PATHS.len();
            let started = Instant::now();
            let answer = validator.verify(black_box(&ids[index]), black_box(code), pin);
            samples[index].push(started.elapsed().as_secs_f64() * 1e9);
            let _ = black_box(answer).expect_err("every path is a rejection");
        }
    }
    // Every rejection wrote its audit row: a path whose write failed (the rejection
    // stands without it) would be measured fast for doing less. (MemoryStore keeps a
    // bounded trail: the newest thousand rows are asked for.)
    let wanted = rounds.min(1_000);
    for id in &ids {
        let written = validator
            .store()
            .audit_trail(id, wanted)
            .expect("the audit trail");
        assert_eq!(written.len(), wanted, "{name}: {id}'s audit rows");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || std::path::PathBuf::from("target"),
        std::path::PathBuf::from,
    );
    for ((path, _), mut times) in PATHS.iter().zip(samples) {
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "{name}/{path}: median {:.3} µs over {rounds} rounds",
            median / 1e3
        );
        let directory = target.join("criterion").join(name).join(path).join("new");
        std::fs::create_dir_all(&directory).expect("a results directory");
        std::fs::write(
            directory.join("estimates.json"),
            format!("{{\"median\":{{\"point_estimate\":{median}}}}}"),
        )
        .expect("the estimates written");
    }
    // One criterion benchmark per store, so that `cargo bench` filters select it.
    group.bench_function("interleaved", |bencher| bencher.iter(|| ()));
}

fn stores(criterion: &mut Criterion, pin: Option<&str>, suffix: &str, rounds: usize) {
    let hashing = PinHashing::default();
    let directory = tempfile::tempdir().expect("a temporary directory");

    let (validator, code) = prepared(std::sync::Arc::new(MemoryStore::new()), pin, hashing);
    let name = format!("rejection_memory{suffix}");
    let mut group = criterion.benchmark_group(&name);
    measure(&mut group, &name, &validator, &code, pin, rounds * 20);
    group.finish();

    let store = std::sync::Arc::new(
        SqliteStore::open(directory.path().join("group.sqlite")).expect("opened"),
    );
    let (validator, code) = prepared(store, pin, hashing);
    let name = format!("rejection_sqlite{suffix}");
    let mut group = criterion.benchmark_group(&name);
    measure(&mut group, &name, &validator, &code, pin, rounds);
    group.finish();

    let store = std::sync::Arc::new(
        SqliteStore::open_with(
            directory.path().join("plain.sqlite"),
            &SqliteOptions::default().without_group_commit(),
        )
        .expect("opened"),
    );
    let (validator, code) = prepared(store, pin, hashing);
    let name = format!("rejection_sqlite_plain{suffix}");
    let mut group = criterion.benchmark_group(&name);
    measure(&mut group, &name, &validator, &code, pin, rounds);
    group.finish();

    postgres(criterion, pin, suffix, rounds);
}

/// PostgreSQL, when the bench runs with feature `postgres` and `OTPFOB_PG_URL` names a
/// server (`bash scripts/with-postgres cargo bench --features postgres --bench
/// rejection_timing`): a fresh schema on it, dropped with the server.
#[cfg(feature = "postgres")]
fn postgres(criterion: &mut Criterion, pin: Option<&str>, suffix: &str, rounds: usize) {
    let Ok(url) = std::env::var("OTPFOB_PG_URL") else {
        eprintln!("OTPFOB_PG_URL is not set: no PostgreSQL rows");
        return;
    };
    let schema = format!("bench_rejection_{}{suffix}", std::process::id());
    let config = otpfob::PgConfig::new(&url)
        .and_then(|config| config.schema(&schema))
        .and_then(|config| config.pool_size(4))
        .expect("a valid PostgreSQL configuration");
    let store = std::sync::Arc::new(otpfob::PgStore::connect(&config).expect("connected"));
    let (validator, code) = prepared(store, pin, PinHashing::default());
    let name = format!("rejection_postgres{suffix}");
    let mut group = criterion.benchmark_group(&name);
    measure(&mut group, &name, &validator, &code, pin, rounds);
    group.finish();
}

#[cfg(not(feature = "postgres"))]
fn postgres(_: &mut Criterion, _: Option<&str>, _: &str, _: usize) {}

/// Rounds per store (each round times all four paths): `variable`, or `default`; one
/// when the bench runs as a test (`cargo test --all-targets` runs it without
/// `--bench`), so that the test checks every path rejects without measuring.
fn rounds(variable: &str, default: usize) -> usize {
    if !std::env::args().any(|argument| argument == "--bench") {
        return 1;
    }
    std::env::var(variable)
        .ok()
        .and_then(|value| value.parse().ok())
        .filter(|&rounds| rounds > 0)
        .unwrap_or(default)
}

fn without_pin(criterion: &mut Criterion) {
    stores(criterion, None, "", rounds("OTPFOB_TIMING_ROUNDS", 5_000));
}

fn with_pin(criterion: &mut Criterion) {
    // Argon2id at its default cost takes milliseconds: fewer rounds.
    stores(
        criterion,
        Some(PIN),
        "_pin",
        rounds("OTPFOB_TIMING_PIN_ROUNDS", 100),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = without_pin, with_pin
}
criterion_main!(benches);
