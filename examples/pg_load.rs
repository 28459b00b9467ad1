//! Load benchmark of `PgStore`: otpfob verifications per second beside pgbench's
//! built-in simple update, with the same number of clients on the same server in the
//! same run.
//!
//! ```sh
//! bash scripts/with-postgres cargo run --release --features postgres --example pg_load -- 30
//! ```
//!
//! `scripts/with-postgres` starts a fresh throwaway server and sets `OTPFOB_PG_URL`
//! and `OTPFOB_PG_BIN` (where `pgbench` is). The argument is the seconds each side
//! runs (default 30); `--clients N` changes the 16 clients.
//!
//! 1. `pgbench -i` creates pgbench's tables (scale 1), then `pgbench -N -c 16 -j 2 -T s`
//!    runs the simple update (`UPDATE pgbench_accounts`, `SELECT`, `INSERT INTO
//!    pgbench_history`, in one transaction) from 16 connections.
//! 2. 16 threads, each with 64 event (HOTP) tokens of its own, verify for the same
//!    time through one `Validator` over one `PgStore` with a pool of 16: per visit to
//!    a token, 90% the right code, 5% a wrong one, 5% a replay of the last code. Every
//!    verification reads the token and stores its new state with its audit row: one
//!    commit, as pgbench's transaction.
#![allow(clippy::print_stdout, clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use otpfob::{
    Enrolment, Hotp, HotpParameters, Keyring, PgConfig, PgStore, RejectReason, SealingKey, Secret,
    SystemClock, TokenId, Validator,
};

const TOKENS_PER_CLIENT: usize = 64;

struct Arguments {
    seconds: u64,
    clients: usize,
}

fn arguments() -> Arguments {
    let mut parsed = Arguments {
        seconds: 30,
        clients: 16,
    };
    let mut given = std::env::args().skip(1);
    while let Some(argument) = given.next() {
        match argument.as_str() {
            "--clients" => {
                parsed.clients = given
                    .next()
                    .and_then(|value| value.parse().ok())
                    .filter(|&clients| clients > 0)
                    .expect("--clients takes a positive number")
            }
            seconds => {
                parsed.seconds = seconds
                    .parse()
                    .ok()
                    .filter(|&seconds| seconds > 0)
                    .expect("usage: pg_load [SECONDS] [--clients N]")
            }
        }
    }
    parsed
}

fn pgbench() -> PathBuf {
    match std::env::var_os("OTPFOB_PG_BIN") {
        Some(directory) => PathBuf::from(directory).join("pgbench"),
        None => PathBuf::from("pgbench"),
    }
}

/// Runs pgbench with `arguments` against `url`, returning its standard output.
fn run_pgbench(url: &str, arguments: &[&str]) -> String {
    let output = Command::new(pgbench())
        .args(arguments)
        .arg(url)
        .output()
        .expect("pgbench could not be started: run under scripts/with-postgres, or put it on PATH");
    assert!(
        output.status.success(),
        "pgbench {arguments:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// pgbench's transactions per second, without the initial connection time.
fn pgbench_tps(report: &str) -> f64 {
    report
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("tps = ")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|number| number.parse().ok())
        })
        .unwrap_or_else(|| panic!("no tps line in pgbench's report:\n{report}"))
}

fn token(client: usize, index: usize) -> TokenId {
    TokenId::new(format!("LOAD-{client:03}-{index:03}")).unwrap()
}

fn secret(client: usize, index: usize) -> Secret {
    Secret::from_bytes(format!("load-secret-{client:03}-{index:03}-000").as_bytes()).unwrap()
}

/// What one client thread did.
#[derive(Default)]
struct Tally {
    verifications: u64,
    accepted: u64,
    rejected: u64,
    store_failures: u64,
    latencies_micros: Vec<u32>,
}

fn main() {
    let arguments = arguments();
    let url = std::env::var("OTPFOB_PG_URL").expect(
        "OTPFOB_PG_URL is not set: run this under `bash scripts/with-postgres`, which starts a throwaway server",
    );
    let seconds = arguments.seconds.to_string();
    let clients = arguments.clients.to_string();

    println!("pgbench -i (scale 1), then pgbench -N -c {clients} -j 2 -T {seconds}");
    run_pgbench(&url, &["-i", "-q"]);
    let report = run_pgbench(&url, &["-N", "-c", &clients, "-j", "2", "-T", &seconds]);
    let pgbench_tps = pgbench_tps(&report);

    let config = PgConfig::new(&url)
        .unwrap()
        .schema(&format!("otpfob_load_{}", std::process::id()))
        .unwrap()
        .pool_size(u32::try_from(arguments.clients).unwrap())
        .unwrap();
    let store = PgStore::connect(&config).expect("PgStore::connect");
    let keyring = Keyring::new(SealingKey::new(1, &[0x4c; 32]).unwrap());
    let validator = Arc::new(Validator::new(store, SystemClock, keyring));
    println!(
        "otpfob: enrolling {} event tokens ({TOKENS_PER_CLIENT} per client)",
        arguments.clients * TOKENS_PER_CLIENT
    );
    thread::scope(|scope| {
        for client in 0..arguments.clients {
            let validator = &validator;
            scope.spawn(move || {
                for index in 0..TOKENS_PER_CLIENT {
                    validator
                        .enrol(Enrolment::new(
                            token(client, index),
                            secret(client, index),
                            HotpParameters::default(),
                        ))
                        .expect("enrol");
                }
            });
        }
    });

    println!(
        "otpfob: {clients} threads verify for {seconds} s (90% right codes, 5% wrong, 5% replays)"
    );
    let duration = Duration::from_secs(arguments.seconds);
    let started = Instant::now();
    let tallies: Vec<Tally> = thread::scope(|scope| {
        let handles: Vec<_> = (0..arguments.clients)
            .map(|client| {
                let validator = &validator;
                scope.spawn(move || {
                    let generators: Vec<Hotp> = (0..TOKENS_PER_CLIENT)
                        .map(|index| {
                            Hotp::new(&secret(client, index), HotpParameters::default()).unwrap()
                        })
                        .collect();
                    let mut next_counters = vec![0u64; TOKENS_PER_CLIENT];
                    let mut random = 0x9e37_79b9_7f4a_7c15_u64 ^ client as u64;
                    let mut tally = Tally::default();
                    let mut index = 0;
                    while started.elapsed() < duration {
                        // xorshift: cheap, and good enough to pick a case.
                        random ^= random << 13;
                        random ^= random >> 7;
                        random ^= random << 17;
                        let counter = next_counters[index];
                        let code = match random % 100 {
                            0..=89 => generators[index].at(counter).to_string(),
                            90..=94 => format!("{:06}", (random >> 8) % 1_000_000),
                            _ => generators[index].at(counter.saturating_sub(1)).to_string(),
                        };
                        let before = Instant::now();
                        let result = validator.verify(&token(client, index), &code, None);
                        let micros = before.elapsed().as_micros();
                        tally
                            .latencies_micros
                            .push(u32::try_from(micros).unwrap_or(u32::MAX));
                        tally.verifications += 1;
                        match result {
                            Ok(acceptance) => {
                                tally.accepted += 1;
                                next_counters[index] = acceptance.position + 1;
                            }
                            Err(rejected) if rejected.reason() == RejectReason::StoreFailure => {
                                tally.store_failures += 1;
                            }
                            Err(_) => tally.rejected += 1,
                        }
                        index = (index + 1) % TOKENS_PER_CLIENT;
                    }
                    tally
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();

    let verifications: u64 = tallies.iter().map(|tally| tally.verifications).sum();
    let accepted: u64 = tallies.iter().map(|tally| tally.accepted).sum();
    let rejected: u64 = tallies.iter().map(|tally| tally.rejected).sum();
    let store_failures: u64 = tallies.iter().map(|tally| tally.store_failures).sum();
    let mut latencies: Vec<u32> = tallies
        .into_iter()
        .flat_map(|tally| tally.latencies_micros)
        .collect();
    latencies.sort_unstable();
    let percentile = |fraction: f64| {
        let position = ((latencies.len() as f64 - 1.0) * fraction).round() as usize;
        f64::from(latencies.get(position).copied().unwrap_or(0)) / 1000.0
    };
    let otpfob_rate = verifications as f64 / elapsed;

    println!();
    println!("pgbench -N, {clients} clients: {pgbench_tps:.0} transactions/s");
    println!(
        "otpfob verify, {clients} clients: {otpfob_rate:.0} verifications/s \
         ({accepted} accepted, {rejected} rejected, {store_failures} store failures; \
         latency p50 {:.2} ms, p99 {:.2} ms)",
        percentile(0.5),
        percentile(0.99)
    );
    println!(
        "ratio otpfob / pgbench: {:.2} (target: at least 0.80)",
        otpfob_rate / pgbench_tps
    );
    assert_eq!(store_failures, 0, "the store failed during the run");
}
