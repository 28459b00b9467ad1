//! Webhook notifications end to end, against real receivers (axum servers on
//! 127.0.0.1:0 in this test): every kind of notice arrives signed, a receiver that
//! fails its first attempts gets the notice on a retry, one that always fails is
//! kept as failed and counted in `/metrics`, and a delivery survives a restart.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use otpfob_server::config::{WebhookConfig, write_private};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use support::{Backend, Harness, Setup, hotp_code};

const SECRET: &str = "a-webhook-secret-of-forty-characters-000";

/// A webhook receiver that answers 503 to its first `failures` requests.
#[derive(Default)]
struct Receiver {
    failures: AtomicUsize,
    attempts: AtomicUsize,
    received: Mutex<Vec<(HeaderMap, Bytes)>>,
}

impl Receiver {
    async fn start(failures: usize) -> (Arc<Self>, String) {
        let receiver = Arc::new(Self {
            failures: AtomicUsize::new(failures),
            ..Self::default()
        });
        let state = Arc::clone(&receiver);
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = Arc::clone(&state);
                async move {
                    let attempt = state.attempts.fetch_add(1, Ordering::SeqCst) + 1;
                    if attempt <= state.failures.load(Ordering::SeqCst) {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    state.received.lock().unwrap().push((headers, body));
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (receiver, url)
    }

    fn bodies(&self) -> Vec<Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body)| serde_json::from_slice(body).unwrap())
            .collect()
    }
}

/// HMAC-SHA-256 written out from RFC 2104, the oracle for the server's signature.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|key_byte| key_byte ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Checks the signature headers of one received request.
fn check_signature(headers: &HeaderMap, body: &[u8]) {
    let timestamp = headers["x-otpfob-timestamp"].to_str().unwrap();
    let sent_at: i64 = timestamp.parse().unwrap();
    assert!((sent_at - now_secs()).abs() < 60, "{sent_at}");
    let mut signed = timestamp.as_bytes().to_vec();
    signed.push(b'.');
    signed.extend_from_slice(body);
    let expected = hmac_sha256(SECRET.as_bytes(), &signed);
    let hex: String = expected.iter().map(|byte| format!("{byte:02x}")).collect();
    assert_eq!(headers["x-otpfob-signature"], format!("sha256={hex}"));
    assert_eq!(headers["content-type"], "application/json");
}

/// A setup with these webhooks (each with the test's secret) and fast retries.
fn setup_with(urls: &[&str], retry_initial_ms: u64, max_attempts: u32) -> Setup {
    let mut setup = Setup::new(Backend::Sqlite);
    let secret_file = setup.path().join("webhook-secret");
    write_private(&secret_file, format!("{SECRET}\n").as_bytes()).unwrap();
    setup.config.notify.webhooks = urls
        .iter()
        .map(|url| WebhookConfig {
            url: (*url).to_owned(),
            secret_file: secret_file.clone(),
            ca_file: None,
        })
        .collect();
    setup.config.notify.retry_initial_ms = retry_initial_ms;
    setup.config.notify.retry_max_ms = retry_initial_ms * 4;
    setup.config.notify.max_attempts = max_attempts;
    setup.config.notify.scan_interval_seconds = 1;
    setup
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn send(
    harness: &Harness,
    method: reqwest::Method,
    role: &str,
    path: &str,
    body: Option<Value>,
) -> u16 {
    let mut request = harness
        .http
        .request(method, harness.url(path))
        .bearer_auth(harness.key(role));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn outbox_metrics(harness: &Harness) -> String {
    let text = harness
        .http
        .get(harness.url("/metrics"))
        .bearer_auth(harness.key("metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with("otpfob_notify_outbox{"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A receiver failing its first two attempts gets the notice on the third, signed;
/// one that always fails is tried `max_attempts` times, then kept as failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_signed_retried_then_kept_as_failed() {
    let (flaky, flaky_url) = Receiver::start(2).await;
    let (down, down_url) = Receiver::start(usize::MAX).await;
    let harness = Harness::start_with(setup_with(&[&flaky_url, &down_url], 50, 4)).await;
    assert_eq!(
        send(
            &harness,
            reqwest::Method::PUT,
            "admin",
            "/v1/tokens/hotp-1/owner",
            Some(json!({"customer": "C-0001"}))
        )
        .await,
        204
    );
    assert_eq!(
        send(
            &harness,
            reqwest::Method::POST,
            "helpdesk",
            "/v1/tokens/hotp-1/lost",
            None
        )
        .await,
        204
    );
    wait_for("the flaky receiver's notice", || !flaky.bodies().is_empty()).await;
    assert_eq!(flaky.attempts.load(Ordering::SeqCst), 3);
    let body = &flaky.bodies()[0];
    assert_eq!(body["event"], "lost");
    assert_eq!(body["token"], "hotp-1");
    assert_eq!(body["customer"], "C-0001");
    assert_eq!(body["actor"], "helpdesk");
    assert!(body["id"].as_str().unwrap().starts_with("ntf_"), "{body}");
    {
        let received = flaky.received.lock().unwrap();
        check_signature(&received[0].0, &received[0].1);
    }
    wait_for("the last attempt to the receiver that is down", || {
        down.attempts.load(Ordering::SeqCst) >= 4
    })
    .await;
    let started = Instant::now();
    loop {
        let metrics = outbox_metrics(&harness).await;
        if metrics.contains("otpfob_notify_outbox{state=\"failed\"} 1") {
            assert!(
                metrics.contains("otpfob_notify_outbox{state=\"delivered\"} 1"),
                "{metrics}"
            );
            assert!(
                metrics.contains("otpfob_notify_outbox{state=\"pending\"} 0"),
                "{metrics}"
            );
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{metrics}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Failed is final: no fifth attempt.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(down.attempts.load(Ordering::SeqCst), 4);
}

/// Every kind of notice reaches the webhook: locked, replaced, revoked, and an
/// expiring token found by the scan (once, however many scans find it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_notice_reaches_the_webhook() {
    let (receiver, url) = Receiver::start(0).await;
    let harness = Harness::start_with(setup_with(&[&url], 50, 4)).await;
    send(
        &harness,
        reqwest::Method::PUT,
        "admin",
        "/v1/tokens/hotp-1/owner",
        Some(json!({"customer": "C-0001"})),
    )
    .await;
    for _ in 0..10 {
        harness.verify("hotp-1", "999999").await;
    }
    wait_for("the lock notice", || !receiver.bodies().is_empty()).await;
    // A temporary replacement for a day: expiring within the 30 days ahead.
    assert_eq!(
        send(
            &harness,
            reqwest::Method::POST,
            "helpdesk",
            "/v1/tokens/hotp-1/lost",
            Some(
                json!({"replacement": {"id": "temp-1", "kind": "totp"}, "lifetime_seconds": 86400})
            ),
        )
        .await,
        201
    );
    // Three scans (one a second) find the expiring token; it is sent once.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    // The replacement fob revokes the lost one and ends its temporary replacement,
    // with a notice for each.
    assert_eq!(
        send(
            &harness,
            reqwest::Method::POST,
            "admin",
            "/v1/tokens/hotp-1/replace",
            Some(json!({"fresh": {"id": "hotp-2", "kind": "hotp"}})),
        )
        .await,
        201
    );
    wait_for("the revocation and the replacement", || {
        let bodies = receiver.bodies();
        ["revoked", "replaced"]
            .iter()
            .all(|event| bodies.iter().any(|body| body["event"] == *event))
    })
    .await;
    let events: Vec<(String, String)> = receiver
        .bodies()
        .iter()
        .map(|body| {
            (
                body["event"].as_str().unwrap().to_owned(),
                body["token"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let count = |event: &str, token: &str| {
        events
            .iter()
            .filter(|(kind, id)| kind == event && id == token)
            .count()
    };
    assert_eq!(count("locked", "hotp-1"), 1, "{events:?}");
    assert_eq!(count("lost", "hotp-1"), 1, "{events:?}");
    assert_eq!(count("replaced", "hotp-1"), 1, "{events:?}");
    assert_eq!(count("expiring_soon", "temp-1"), 1, "{events:?}");
    assert_eq!(count("revoked", "temp-1"), 1, "{events:?}");
    let bodies = receiver.bodies();
    let replaced = bodies
        .iter()
        .find(|body| body["event"] == "replaced")
        .unwrap();
    assert_eq!(replaced["replaced_by"], "hotp-2");
    assert_eq!(replaced["customer"], "C-0001");
    assert_eq!(replaced["actor"], "admin");
    let expiring = bodies
        .iter()
        .find(|body| body["event"] == "expiring_soon")
        .unwrap();
    assert!((expiring["expires_at"].as_i64().unwrap() - (now_secs() + 86_400)).abs() < 60);
    assert_eq!(expiring["customer"], "C-0001");
    // No notice carries a code.
    for body in &bodies {
        assert!(!body.to_string().contains(&hotp_code(0)), "{body}");
    }
    for (headers, body) in receiver.received.lock().unwrap().iter() {
        check_signature(headers, body);
    }
}

/// PSD2 RTS Art. 4(5) end to end: under `policy = "psd2"`, the failure that imposes
/// the last temporary block before a permanent one sends a signed `block_alert` to
/// the webhook (with the lock notice), so that the bank can warn the customer while
/// the block is still temporary. The two earlier blocks are made beforehand through
/// the library, on the same database and key, with a clock ten hours back, so that
/// they have run out by the time the server starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_temporary_block_sends_a_block_alert() {
    use otpfob::{
        Enrolment, HotpParameters, Keyring, ManualClock, Policy, SealingKey, Secret, SqliteStore,
        TokenId, Validator, validator::CustomerRef,
    };
    let (receiver, url) = Receiver::start(0).await;
    let mut setup = setup_with(&[&url], 50, 4);
    setup.config.policy = otpfob_server::config::PolicyPreset::Psd2;
    let token = TokenId::new("psd2-1").unwrap();
    {
        let key: Vec<u8> = (0u8..32).collect();
        let clock = ManualClock::at_secs(now_secs() - 10 * 3600);
        let validator = Validator::new(
            SqliteStore::open(setup.path().join("otpfob.db")).unwrap(),
            clock.clone(),
            Keyring::new(SealingKey::new(1, &key).unwrap()),
        )
        .with_policy(Policy::psd2())
        .unwrap();
        validator
            .enrol(
                Enrolment::new(
                    token.clone(),
                    Secret::from_bytes(b"12345678901234567890").unwrap(),
                    HotpParameters::default(),
                )
                .with_owner(CustomerRef::new("C-PSD2").unwrap()),
            )
            .unwrap();
        for block in 0..2u32 {
            // Five failures block the first time; once a block has run out, the
            // failure count is still at the limit and one more blocks again.
            for _ in 0..5 {
                assert!(validator.verify(&token, "999999", None).is_err());
            }
            // Blocks of 15 minutes, then 30: each has run out when the next starts.
            clock.advance(Duration::from_secs(15 * 60 * (1 << block) + 1));
        }
        let state = validator.state(&token).unwrap().unwrap();
        assert_eq!(state.lockouts, 2);
    }
    let harness = Harness::start_with(setup).await;
    // Nothing sent for the earlier blocks (no webhook was configured then).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(receiver.bodies().is_empty(), "{:?}", receiver.bodies());
    // The failure count stands at the limit after a block runs out, so the next
    // wrong code imposes the third block: the last temporary one.
    harness.verify("psd2-1", "999999").await;
    wait_for("the block alert", || {
        receiver
            .bodies()
            .iter()
            .any(|body| body["event"] == "block_alert")
    })
    .await;
    let bodies = receiver.bodies();
    let alert = bodies
        .iter()
        .find(|body| body["event"] == "block_alert")
        .unwrap();
    assert_eq!(alert["token"], "psd2-1", "{alert}");
    assert_eq!(alert["customer"], "C-PSD2", "{alert}");
    wait_for("the lock notice", || {
        receiver
            .bodies()
            .iter()
            .any(|body| body["event"] == "locked" && body["token"] == "psd2-1")
    })
    .await;
    for (headers, body) in receiver.received.lock().unwrap().iter() {
        check_signature(headers, body);
    }
    // The audit trail has the alert too.
    let (_, trail) = {
        let response = harness
            .http
            .get(harness.url("/v1/tokens/psd2-1/audit?limit=100"))
            .bearer_auth(harness.key("audit"))
            .send()
            .await
            .unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    };
    assert!(
        trail
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["operation"] == "block_alert"),
        "{trail}"
    );
}

/// A notice not yet delivered when the server stops is delivered after it starts
/// again: the outbox is in the server's SQLite file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_survives_a_restart() {
    let (receiver, url) = Receiver::start(usize::MAX).await;
    let harness = Harness::start_with(setup_with(&[&url], 100, 50)).await;
    assert_eq!(
        send(
            &harness,
            reqwest::Method::POST,
            "admin",
            "/v1/tokens/hotp-1/revoke",
            None
        )
        .await,
        204
    );
    wait_for("a failed attempt", || {
        receiver.attempts.load(Ordering::SeqCst) >= 1
    })
    .await;
    let Harness { setup, server, .. } = harness;
    server.stop().await;
    let attempts = receiver.attempts.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        receiver.attempts.load(Ordering::SeqCst),
        attempts,
        "a stopped server does not deliver"
    );
    assert!(receiver.bodies().is_empty());
    // The receiver recovers; a new server on the same files delivers the notice.
    receiver.failures.store(0, Ordering::SeqCst);
    support::install_crypto();
    let server = otpfob_server::start(setup.config.clone()).await.unwrap();
    wait_for("the delivery after the restart", || {
        !receiver.bodies().is_empty()
    })
    .await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["event"], "revoked");
    assert_eq!(bodies[0]["token"], "hotp-1");
    server.stop().await;
}

/// A webhook's secret must be in a private file and long enough; its URL must be
/// `https://` or loopback `http://`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_configuration_is_checked_at_start() {
    support::install_crypto();
    let mut setup = setup_with(&["http://127.0.0.1:9/hook"], 50, 4);
    let secret_file = setup.config.notify.webhooks[0].secret_file.clone();
    write_private(&secret_file, b"short\n").unwrap();
    let error = otpfob_server::start(setup.config.clone())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("fewer than 32"), "{error}");
    assert!(!error.to_string().contains("short"), "{error}");
    write_private(&secret_file, SECRET.as_bytes()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = otpfob_server::start(setup.config.clone())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("webhook-secret"), "{error}");
        std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    for bad in [
        "http://bank.example/hook",
        "ftp://127.0.0.1/hook",
        "https://user:pw@bank.example/hook",
    ] {
        setup.config.notify.webhooks[0].url = bad.to_owned();
        assert!(setup.config.check().is_err(), "{bad}");
    }
    setup.config.notify.webhooks[0].url = "https://bank.example/hook".to_owned();
    assert!(setup.config.check().is_ok());
}
