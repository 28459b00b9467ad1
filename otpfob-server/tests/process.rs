//! The real binary as a process: kill -9 under load and restart, SIGTERM under load,
//! two processes on one PostgreSQL database.

mod support;

use std::collections::HashMap;
use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use otpfob::{
    SqliteStore, TokenId,
    validator::{Store as _, TokenKind},
};
use serde_json::{Value, json};
use support::{Backend, Setup, hotp_code};
use tokio::sync::Mutex;

const TOKENS: usize = 8;

/// Starts `otpfob-server run` and waits for the address it prints.
fn spawn_server(config: &Path) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_otpfob-server"))
        .arg("run")
        .arg("--config")
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(address) = line.strip_prefix("otpfob-server listening on ") {
                let _ = sender.send(address.parse::<SocketAddr>().unwrap());
            }
        }
    });
    let address = receiver
        .recv_timeout(Duration::from_secs(30))
        .expect("the server did not start");
    (child, address)
}

fn http() -> reqwest::Client {
    support::install_crypto();
    reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn enrol_tokens(http: &reqwest::Client, address: SocketAddr, admin: &str) {
    for token in 0..TOKENS {
        let response = http
            .post(format!("http://{address}/v1/factory-records"))
            .bearer_auth(admin)
            .json(&json!({"serial": format!("T-{token}"), "secret_hex": "3132333435363738393031323334353637383930", "kind": "hotp"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
}

/// What the clients were told: per (token, counter), how many acceptances.
type Answers = Arc<Mutex<HashMap<(usize, u64), u32>>>;

/// Two workers per token send the token's codes in order, racing each other, until
/// `stop`; each acceptance is written down. Errors (the server gone) end a worker.
fn load(
    http: &reqwest::Client,
    address: SocketAddr,
    key: &str,
    answers: &Answers,
    until: Instant,
) -> Vec<tokio::task::JoinHandle<u64>> {
    let mut workers = Vec::new();
    for token in 0..TOKENS {
        for _ in 0..2 {
            let http = http.clone();
            let key = key.to_owned();
            let answers = Arc::clone(answers);
            workers.push(tokio::spawn(async move {
                let mut answered = 0;
                let mut counter = 0;
                while Instant::now() < until && counter < 10_000 {
                    let sent = http
                        .post(format!("http://{address}/v1/tokens/T-{token}/verify"))
                        .bearer_auth(&key)
                        .json(&json!({"code": hotp_code(counter)}))
                        .send()
                        .await;
                    let Ok(response) = sent else { break };
                    let Ok(body) = response.json::<Value>().await else {
                        break;
                    };
                    answered += 1;
                    if body["verdict"] == "accepted" {
                        *answers.lock().await.entry((token, counter)).or_insert(0) += 1;
                    }
                    counter += 1;
                }
                answered
            }));
        }
    }
    workers
}

fn next_counters(database: &Path) -> Vec<u64> {
    let store = SqliteStore::open(database).unwrap();
    (0..TOKENS)
        .map(|token| {
            let record = store
                .load(&TokenId::new(format!("T-{token}")).unwrap())
                .unwrap()
                .unwrap();
            match record.state.kind {
                TokenKind::Event { next_counter, .. } => next_counter,
                other => unreachable!("{other:?}"),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_then_restart_loses_nothing_and_accepts_nothing_twice() {
    let setup = Setup::new(Backend::Sqlite);
    let config = setup.write_config("127.0.0.1:0");
    let http = http();
    let (mut child, address) = spawn_server(&config);
    enrol_tokens(&http, address, &setup.key("admin")).await;
    let answers: Answers = Arc::default();
    let workers = load(
        &http,
        address,
        &setup.key("verify"),
        &answers,
        Instant::now() + Duration::from_secs(30),
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let mut answered = 0;
    for worker in workers {
        answered += worker.await.unwrap();
    }
    let before: HashMap<(usize, u64), u32> = answers.lock().await.clone();
    assert!(
        before.len() > 10,
        "too little load before the kill: {}",
        before.len()
    );
    // Exactly once: no code was accepted twice, although two workers raced for each.
    assert!(before.values().all(|count| *count == 1), "{before:?}");
    // None lost: every code a client was told was accepted is spent in the store.
    let database = setup.path().join("otpfob.db");
    let counters = next_counters(&database);
    for (token, counter) in before.keys() {
        assert!(
            counters[*token] > *counter,
            "T-{token} code {counter} accepted but not stored"
        );
    }
    // After a restart, every code accepted before the kill is rejected.
    let (mut child, address) = spawn_server(&config);
    for (token, counter) in before.keys() {
        let body: Value = http
            .post(format!("http://{address}/v1/tokens/T-{token}/verify"))
            .bearer_auth(setup.key("verify"))
            .json(&json!({"code": hotp_code(*counter)}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            body["verdict"], "rejected",
            "T-{token} code {counter} accepted again"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    println!(
        "kill -9: {answered} answers before the kill, {} acceptances, none twice, all stored",
        before.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_answers_consistently_and_exits_cleanly() {
    let setup = Setup::new(Backend::Sqlite);
    let config = setup.write_config("127.0.0.1:0");
    let http = http();
    let (mut child, address) = spawn_server(&config);
    enrol_tokens(&http, address, &setup.key("admin")).await;
    let answers: Answers = Arc::default();
    let workers = load(
        &http,
        address,
        &setup.key("verify"),
        &answers,
        Instant::now() + Duration::from_secs(30),
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let signalled = Instant::now();
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let stopped_in = signalled.elapsed();
    assert!(exit.success(), "exit status {exit:?}");
    assert!(
        stopped_in < Duration::from_secs(10),
        "took {stopped_in:?} to stop"
    );
    let mut answered = 0;
    for worker in workers {
        answered += worker.await.unwrap();
    }
    let accepted: HashMap<(usize, u64), u32> = answers.lock().await.clone();
    assert!(accepted.values().all(|count| *count == 1), "{accepted:?}");
    // Every acceptance a client saw is in the store, and the store has accepted no
    // code beyond those the clients were told of: per token, the next counter is one
    // past the last acceptance answered (a request cut before its answer would leave
    // the counter further on, with no client told).
    let counters = next_counters(&setup.path().join("otpfob.db"));
    for (token, next_counter) in counters.iter().enumerate() {
        let last = accepted
            .keys()
            .filter(|(accepted_token, _)| *accepted_token == token)
            .map(|(_, counter)| *counter)
            .max();
        assert_eq!(
            *next_counter,
            last.map_or(0, |last| last + 1),
            "T-{token}: store and answers disagree"
        );
    }
    println!(
        "SIGTERM: {answered} answers, {} acceptances, stopped in {stopped_in:?}, store matches every answer",
        accepted.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_accept_a_code_once() {
    let setup = Setup::new(Backend::Postgres);
    let config = setup.write_config("127.0.0.1:0");
    let http = http();
    let (mut first, first_address) = spawn_server(&config);
    let (mut second, second_address) = spawn_server(&config);
    let response = http
        .post(format!("http://{first_address}/v1/factory-records"))
        .bearer_auth(setup.key("admin"))
        .json(&json!({"serial": "SHARED-1", "secret_hex": "3132333435363738393031323334353637383930", "kind": "hotp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let mut tasks = Vec::new();
    for index in 0..64 {
        let http = http.clone();
        let address = if index % 2 == 0 {
            first_address
        } else {
            second_address
        };
        let key = setup.key("verify");
        tasks.push(tokio::spawn(async move {
            let body: Value = http
                .post(format!("http://{address}/v1/tokens/SHARED-1/verify"))
                .bearer_auth(key)
                .json(&json!({"code": hotp_code(0)}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["verdict"] == "accepted"
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        if task.await.unwrap() {
            accepted += 1;
        }
    }
    first.kill().unwrap();
    second.kill().unwrap();
    let _ = first.wait();
    let _ = second.wait();
    assert_eq!(accepted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_writes_private_files_and_a_first_admin_key_that_works() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_otpfob-server"))
        .args(["init", "--dir"])
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0", "--plaintext"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    let key = printed
        .lines()
        .find(|line| line.starts_with("ofk_"))
        .unwrap()
        .to_owned();
    assert!(key.len() >= 4 + 43, "{key}");
    for name in ["sealing-key-1", "clients.toml"] {
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    // The clients file holds the key's hash, not the key.
    let clients = std::fs::read_to_string(dir.path().join("clients.toml")).unwrap();
    assert!(!clients.contains(&key[4..]));
    // A second init refuses to overwrite.
    let again = Command::new(env!("CARGO_BIN_EXE_otpfob-server"))
        .args(["init", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!again.status.success());
    let (mut child, address) = spawn_server(&dir.path().join("otpfob-server.toml"));
    let response = http()
        .get(format!("http://{address}/v1/tokens"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A key issued with the command works after SIGHUP; revoked, it stops.
    let config = dir.path().join("otpfob-server.toml");
    let issued = Command::new(env!("CARGO_BIN_EXE_otpfob-server"))
        .args(["key", "--config"])
        .arg(&config)
        .args(["issue", "--name", "login", "--role", "verify"])
        .output()
        .unwrap();
    assert!(issued.status.success(), "{issued:?}");
    let login = String::from_utf8(issued.stdout)
        .unwrap()
        .lines()
        .find(|line| line.starts_with("ofk_"))
        .unwrap()
        .to_owned();
    let verify = |key: String| {
        let http = http();
        async move {
            http.post(format!("http://{address}/v1/tokens/x/verify"))
                .bearer_auth(key)
                .json(&json!({"code": "123456"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(verify(login.clone()).await, 401, "not yet read");
    let hangup = |pid: u32| {
        assert!(
            Command::new("kill")
                .arg("-HUP")
                .arg(pid.to_string())
                .status()
                .unwrap()
                .success()
        );
    };
    hangup(child.id());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(verify(login.clone()).await, 200);
    let revoked = Command::new(env!("CARGO_BIN_EXE_otpfob-server"))
        .args(["key", "--config"])
        .arg(&config)
        .args(["revoke", "--name", "login"])
        .status()
        .unwrap();
    assert!(revoked.success());
    hangup(child.id());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(verify(login).await, 401);
    child.kill().unwrap();
    let _ = child.wait();
}
