//! HTTP load: wrong-code verifications (`POST /v1/tokens/{id}/verify`) to random tokens
//! of 10,000 enrolled ones, from 16 and 64 keep-alive connections, against the server
//! on SQLite with group commit, on SQLite without it and on PostgreSQL, beside the
//! machine's ceiling: a trivial axum handler answering a fixed JSON body, in the same
//! run.
//!
//! ```sh
//! cargo run --release -p otpfob-server --example http_load -- --seconds 30
//! bash scripts/with-postgres cargo run --release -p otpfob-server --example http_load -- \
//!     --seconds 30 --stores sqlite-group,sqlite-plain,postgres
//! ```
//!
//! Options: `--seconds S` (default 30) per measurement, `--connections 16,64`,
//! `--stores trivial,sqlite-group,sqlite-plain[,postgres]`, `--tokens 10000`, and
//! `--external NAME=URL` (repeatable) for a privacyIDEA-style server running elsewhere
//! (`POST URL/validate/check`, a form with `serial` and `pass`), measured after the
//! stores with the same generator: `bash scripts/bench-privacyidea` runs privacyIDEA
//! under gunicorn and a trivial Flask handler that way.
//!
//! The load generator is this program's own: `reqwest` (hyper underneath) on a tokio
//! runtime of its own with two workers, one client per connection (a pool of one
//! keep-alive HTTP/1.1 connection), each connection sending its next request as soon
//! as the previous answer's body is read (closed loop). Each server under test runs in
//! this process too, on its own tokio runtime (as many workers as cores, as the binary
//! does), plain HTTP on loopback, built by `otpfob_server::start` from the same
//! `Config` the binary reads; no log subscriber is installed, so log lines cost
//! nothing here. Server, trivial handler and generator share the machine's cores, as
//! they would on one box: the trivial handler's rate is the ceiling of this setup.
//!
//! The tokens are enrolled with the library before each server starts (10,000
//! enrolments through the API would measure enrolment), with the sealing key the
//! server's config names. The server's default policy applies: a token locks after
//! ten consecutive wrong codes, after which its rejections are audit appends (still
//! one write each); the run reports how many verifications it made per token.
#![allow(clippy::print_stdout, clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use otpfob::validator::Store;
use otpfob::{
    Enrolment, Keyring, SealingKey, Secret, SqliteOptions, SqliteStore, SystemClock, TokenId,
    TotpParameters, UnixTime, Validator,
};
use otpfob_server::auth::{ClientsFile, Role};
use otpfob_server::config::{
    Config, Limits, LogConfig, PolicyPreset, SealingConfig, SealingKeyConfig, StoreConfig,
    write_private,
};

const SEALING_KEY: [u8; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31,
];
const SEALING_KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";

/// HTTP load: wrong-code verifications against the server on each store, beside a trivial handler.
#[derive(clap::Parser)]
struct Arguments {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Connection counts, measured one after the other.
    #[arg(long, value_delimiter = ',', default_values_t = [16, 64])]
    connections: Vec<usize>,
    /// Servers: trivial, sqlite-group, sqlite-plain, postgres (`--stores ''` for none,
    /// to measure only `--external` servers).
    #[arg(long, value_delimiter = ',', default_values = ["trivial", "sqlite-group", "sqlite-plain"])]
    stores: Vec<String>,
    /// Tokens enrolled.
    #[arg(long, default_value_t = 10_000)]
    tokens: usize,
    /// A privacyIDEA-style server already running elsewhere, as NAME=URL (repeatable):
    /// `POST URL/validate/check` with the form `serial=BENCH-nnnnn&pass=nnnnnn`, the
    /// tokens enrolled there beforehand (scripts/bench-privacyidea does both).
    #[arg(long = "external", value_parser = external_target)]
    externals: Vec<(String, String)>,
}

fn external_target(text: &str) -> Result<(String, String), String> {
    let (name, url) = text
        .split_once('=')
        .ok_or_else(|| format!("--external takes NAME=URL, not '{text}'"))?;
    if name.is_empty() || !url.starts_with("http://") {
        return Err(format!(
            "--external takes NAME=http://HOST:PORT, not '{text}'"
        ));
    }
    Ok((name.to_owned(), url.trim_end_matches('/').to_owned()))
}

/// What a load connection sends.
#[derive(Clone, Copy)]
enum Api<'a> {
    /// otpfob-server's `POST /v1/tokens/{id}/verify`, JSON, with this bearer key.
    Otpfob(&'a str),
    /// privacyIDEA's `POST /validate/check`, a form with the serial and the code.
    PrivacyIdea,
}

fn token(index: usize) -> TokenId {
    TokenId::new(format!("BENCH-{index:05}")).unwrap()
}

/// Enrols `tokens` time tokens into `store` from 16 threads, sealed with the key the
/// server's config names.
fn enrol<S: Store + 'static>(store: S, tokens: usize) {
    let keyring = Keyring::new(SealingKey::new(1, &SEALING_KEY).unwrap());
    let validator = Validator::new(store, SystemClock, keyring);
    let enrolling = 16;
    thread::scope(|scope| {
        for part in 0..enrolling {
            let validator = &validator;
            scope.spawn(move || {
                for index in (part..tokens).step_by(enrolling) {
                    let secret =
                        Secret::from_bytes(format!("bench-secret-{index:05}-0000000").as_bytes())
                            .unwrap();
                    validator
                        .enrol(
                            Enrolment::new(token(index), secret, TotpParameters::default())
                                .with_synced_at(UnixTime::from_secs(1_700_000_000)),
                        )
                        .expect("enrol");
                }
            });
        }
    });
}

/// A server config in `directory` on `store`, plain HTTP on loopback, limits out of the
/// way, and the bearer key of its one `verify` client.
fn config(directory: &Path, store: StoreConfig) -> (Config, String) {
    let key_path = directory.join("sealing-key-1");
    write_private(&key_path, SEALING_KEY_HEX.as_bytes()).unwrap();
    let mut clients = ClientsFile::default();
    let key = clients
        .issue("load", BTreeSet::from([Role::Verify]), None)
        .unwrap();
    let clients_file = directory.join("clients.toml");
    clients.write(&clients_file).unwrap();
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
        issuer: "load bank".to_owned(),
        policy: PolicyPreset::Default,
        limits: Limits {
            rate_per_second: 10_000_000,
            rate_burst: 10_000_000,
            concurrent_requests: 4096,
            ..Limits::default()
        },
        log: LogConfig::default(),
        console: otpfob_server::config::ConsoleConfig::default(),
        notify: otpfob_server::config::NotifyConfig::default(),
    };
    (config, key.to_string())
}

/// The trivial handler: a fixed JSON body for the same route, no authentication.
async fn trivial() -> std::net::SocketAddr {
    use axum::routing::post;
    let router = axum::Router::new().route(
        "/v1/tokens/{id}/verify",
        post(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                "{\"verdict\":\"rejected\"}",
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    address
}

/// What one measurement saw.
struct Measured {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    ok: u64,
    other_status: u64,
    errors: u64,
}

/// `connections` closed-loop connections to `base` for `duration`.
fn load(
    generator: &tokio::runtime::Runtime,
    base: &str,
    api: Api<'_>,
    tokens: usize,
    connections: usize,
    duration: Duration,
) -> Measured {
    generator.block_on(async {
        let started = Instant::now();
        let tasks: Vec<_> = (0..connections)
            .map(|connection| {
                let base = base.to_owned();
                let authorization = match api {
                    Api::Otpfob(key) => Some(format!("Bearer {key}")),
                    Api::PrivacyIdea => None,
                };
                tokio::spawn(async move {
                    let client = reqwest::Client::builder()
                        .pool_max_idle_per_host(1)
                        .http1_only()
                        .build()
                        .unwrap();
                    let mut random = 0x9e37_79b9_7f4a_7c15_u64 ^ (connection as u64 + 1);
                    let mut latencies = Vec::with_capacity(1 << 16);
                    let (mut ok, mut other_status, mut errors) = (0u64, 0u64, 0u64);
                    while started.elapsed() < duration {
                        random ^= random << 13;
                        random ^= random >> 7;
                        random ^= random << 17;
                        let index = (random % tokens as u64) as usize;
                        let code = (random >> 20) % 1_000_000;
                        let request = match &authorization {
                            Some(authorization) => client
                                .post(format!("{base}/v1/tokens/BENCH-{index:05}/verify"))
                                .header("authorization", authorization)
                                .header("content-type", "application/json")
                                .body(format!("{{\"code\":\"{code:06}\"}}")),
                            None => client
                                .post(format!("{base}/validate/check"))
                                .header("content-type", "application/x-www-form-urlencoded")
                                .body(format!("serial=BENCH-{index:05}&pass={code:06}")),
                        };
                        let before = Instant::now();
                        let answer = request.send().await;
                        match answer {
                            Ok(response) => {
                                let status = response.status();
                                let read = response.bytes().await;
                                if status.is_success() && read.is_ok() {
                                    ok += 1;
                                } else {
                                    other_status += 1;
                                }
                            }
                            Err(_) => errors += 1,
                        }
                        let micros = before.elapsed().as_micros();
                        latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                    }
                    (latencies, ok, other_status, errors)
                })
            })
            .collect();
        let mut latencies = Vec::new();
        let (mut ok, mut other_status, mut errors) = (0, 0, 0);
        for task in tasks {
            let (more, task_ok, task_other, task_errors) = task.await.unwrap();
            latencies.extend(more);
            ok += task_ok;
            other_status += task_other;
            errors += task_errors;
        }
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort_unstable();
        let percentile = |fraction: f64| {
            let position = ((latencies.len() as f64 - 1.0) * fraction).round() as usize;
            f64::from(latencies.get(position).copied().unwrap_or(0)) / 1000.0
        };
        Measured {
            rate: ok as f64 / elapsed,
            p50_ms: percentile(0.5),
            p99_ms: percentile(0.99),
            ok,
            other_status,
            errors,
        }
    })
}

fn report(name: &str, connections: usize, measured: &Measured, extra: &str) {
    println!(
        "{name:<13} {connections:>3} connections: {:>8.0} requests/s  p50 {:>6.2} ms  p99 {:>6.2} ms  \
         ({} answered 200, {} other status, {} errors){extra}",
        measured.rate,
        measured.p50_ms,
        measured.p99_ms,
        measured.ok,
        measured.other_status,
        measured.errors
    );
}

fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn measure_server(
    name: &str,
    config: Config,
    key: &str,
    arguments: &Arguments,
    generator: &tokio::runtime::Runtime,
) {
    let runtime = server_runtime();
    let server = runtime.block_on(otpfob_server::start(config)).unwrap();
    let base = format!("http://{}", server.address());
    let mut sent = 0;
    for &connections in &arguments.connections {
        let measured = load(
            generator,
            &base,
            Api::Otpfob(key),
            arguments.tokens,
            connections,
            Duration::from_secs(arguments.seconds),
        );
        sent += measured.ok;
        report(
            name,
            connections,
            &measured,
            &format!(
                "  [{:.1} verifications per token so far]",
                sent as f64 / arguments.tokens as f64
            ),
        );
    }
    runtime.block_on(server.stop());
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let arguments = <Arguments as clap::Parser>::parse();
    let generator = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "POST /v1/tokens/{{id}}/verify, wrong codes to random tokens of {} enrolled, {} s per run",
        arguments.tokens, arguments.seconds
    );
    for store in arguments.stores.iter().filter(|store| !store.is_empty()) {
        let directory = tempfile::tempdir().unwrap();
        match store.as_str() {
            "trivial" => {
                let runtime = server_runtime();
                let address = runtime.block_on(trivial());
                let base = format!("http://{address}");
                for &connections in &arguments.connections {
                    let measured = load(
                        &generator,
                        &base,
                        Api::Otpfob("none"),
                        arguments.tokens,
                        connections,
                        Duration::from_secs(arguments.seconds),
                    );
                    report("trivial axum", connections, &measured, "");
                }
            }
            "sqlite-group" | "sqlite-plain" => {
                let path = directory.path().join("otpfob.db");
                // Enrolled with group commit, whichever way the server then runs.
                enrol(
                    SqliteStore::open_with(&path, &SqliteOptions::new()).unwrap(),
                    arguments.tokens,
                );
                let (config, key) = config(
                    directory.path(),
                    StoreConfig::Sqlite {
                        path,
                        group_commit: store == "sqlite-group",
                    },
                );
                measure_server(store, config, &key, &arguments, &generator);
            }
            "postgres" => {
                let url = std::env::var("OTPFOB_PG_URL")
                    .expect("OTPFOB_PG_URL is not set: run under `bash scripts/with-postgres`");
                let schema = format!("otpfob_http_load_{}", std::process::id());
                let pool = u32::try_from(*arguments.connections.iter().max().unwrap()).unwrap();
                let pg = otpfob::PgConfig::new(&url)
                    .unwrap()
                    .schema(&schema)
                    .unwrap()
                    .pool_size(16)
                    .unwrap();
                enrol(otpfob::PgStore::connect(&pg).unwrap(), arguments.tokens);
                let url_file = directory.path().join("pg-url");
                write_private(&url_file, url.as_bytes()).unwrap();
                let (config, key) = config(
                    directory.path(),
                    StoreConfig::Postgres {
                        url_file: Some(url_file),
                        url_env: None,
                        schema: Some(schema),
                        pool_size: Some(pool),
                        tls: None,
                    },
                );
                measure_server(store, config, &key, &arguments, &generator);
            }
            other => panic!("unknown store {other}: trivial, sqlite-group, sqlite-plain, postgres"),
        }
    }
    for (name, base) in &arguments.externals {
        for &connections in &arguments.connections {
            let measured = load(
                &generator,
                base,
                Api::PrivacyIdea,
                arguments.tokens,
                connections,
                Duration::from_secs(arguments.seconds),
            );
            report(name, connections, &measured, "");
        }
    }
}
