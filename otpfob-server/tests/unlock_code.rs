//! Issue 14, item 4: the helpdesk answers a locked fob's unlock challenge through the
//! API. A fob enrolled from its factory record (with its unlock key) is locked by
//! wrong PINs; the code the server gives for its challenge unlocks it; the request is
//! audited with the caller and the reason, never the challenge or the code; an
//! unknown token and one without an unlock key answer alike; bad input is a problem.

mod support;

use std::sync::{Mutex, OnceLock};

use otpfob::device::DeviceState;
use otpfob::{Device, KeyFob, SystemClock, TotpParameters};
use serde_json::{Value, json};
use support::{Backend, Harness};

/// The server's log of this test binary, as JSON lines, for the test that reads it.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends the log of every server this binary starts to `LOG`, once.
fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
            .with_writer(|| LogWriter)
            .init();
    });
}

/// The log lines so far whose text contains `needle`, parsed.
fn log_lines_with(needle: &str) -> Vec<Value> {
    let log = String::from_utf8(LOG.lock().unwrap().clone()).unwrap();
    log.lines()
        .filter(|line| line.contains(needle))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

async fn unlock_code(harness: &Harness, token: &str, challenge: &str) -> reqwest::Response {
    harness
        .http
        .post(harness.url(&format!("/v1/tokens/{token}/unlock-code")))
        .bearer_auth(harness.key("helpdesk"))
        .header("x-audit-reason", "customer identified by passport")
        .json(&json!({ "challenge": challenge }))
        .send()
        .await
        .unwrap()
}

/// A PIN fob (PIN 2468) enrolled from its factory record with its unlock key, which
/// the bank then holds only sealed.
async fn enrol_fob(harness: &Harness, serial: &str) -> KeyFob<SystemClock> {
    let (fob, record) = KeyFob::builder(serial, TotpParameters::default())
        .pin("2468")
        .build(SystemClock)
        .unwrap();
    let enrolled = harness
        .http
        .post(harness.url("/v1/factory-records"))
        .bearer_auth(harness.key("admin"))
        .json(&json!({
            "serial": record.serial.as_str(),
            "secret_hex": hex(record.secret.expose_bytes()),
            "kind": "totp",
            "unlock_key_hex": hex(record.unlock_key.expose_bytes()),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(enrolled.status().as_u16(), 201);
    let body: Value = enrolled.json().await.unwrap();
    assert_eq!(body["has_unlock_key"], true);
    fob
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_helpdesk_unlocks_a_locked_fob_with_the_code_the_server_gives() {
    let harness = Harness::start(Backend::Sqlite).await;
    let mut fob = enrol_fob(&harness, "OTPF-0000000077").await;

    for _ in 0..3 {
        let _ = fob.enter_pin("0000");
    }
    assert_eq!(fob.state(), DeviceState::Locked);
    let challenge = fob.unlock_challenge().unwrap().to_string();
    let response = unlock_code(&harness, "OTPF-0000000077", &challenge).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let answer: Value = response.json().await.unwrap();
    let code = answer["unlock_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 8);
    fob.unlock(&code.parse().unwrap(), "1357").unwrap();
    fob.enter_pin("1357").unwrap();
    assert!(fob.press().is_ok());

    let trail = harness
        .http
        .get(harness.url("/v1/tokens/OTPF-0000000077/audit"))
        .bearer_auth(harness.key("audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events: Value = serde_json::from_str(&trail).unwrap();
    let last = events.as_array().unwrap().last().unwrap();
    assert_eq!(last["operation"], "unlock_code");
    assert_eq!(last["outcome"], "done");
    assert_eq!(last["actor"], "helpdesk");
    assert_eq!(last["given_reason"], "customer identified by passport");
    assert!(
        !trail.contains(&code) && !trail.contains(&challenge),
        "{trail}"
    );
    harness.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tokens_and_tokens_without_an_unlock_key_answer_alike() {
    let harness = Harness::start(Backend::Memory).await;
    let problem = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let mut body: Value = response.json().await.unwrap();
        // Only the request id may differ.
        if let Some(object) = body.as_object_mut() {
            object.remove("request_id");
            object.remove("instance");
        }
        (status, content_type, body)
    };
    // hotp-1 is enrolled without an unlock key; nobody is not enrolled.
    let without = problem(unlock_code(&harness, "hotp-1", "12345678").await).await;
    let unknown = problem(unlock_code(&harness, "nobody", "12345678").await).await;
    assert_eq!(without, unknown);
    assert_eq!(without.0, 404);
    assert_eq!(without.1, "application/problem+json");
    assert_eq!(without.2["type"], "urn:otpfob:problem:no-unlock-key");
    assert!(!without.2.to_string().contains("hotp-1"), "{}", without.2);

    for bad in ["1234567", "1234567a", "12345678 9", ""] {
        let (status, content_type, body) =
            problem(unlock_code(&harness, "hotp-1", bad).await).await;
        assert_eq!(status, 422, "{bad:?}: {body}");
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(body["type"], "urn:otpfob:problem:invalid-unlock-challenge");
        assert_eq!(body["field"], "challenge");
    }
    let (status, _, body) = problem(
        harness
            .http
            .post(harness.url("/v1/tokens/hotp-1/unlock-code"))
            .bearer_auth(harness.key("helpdesk"))
            .json(&json!({ "challenge": "12345678", "code": "1" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(status == 400 || status == 422, "{status} {body}");

    // An unlock key too short to be a key is refused at enrolment.
    let (status, _, body) = problem(
        harness
            .http
            .post(harness.url("/v1/factory-records"))
            .bearer_auth(harness.key("admin"))
            .json(&json!({
                "serial": "FOB-SHORT",
                "secret_hex": "3132333435363738393031323334353637383930",
                "kind": "hotp",
                "unlock_key_hex": "0102",
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "unlock_key_hex");
    harness.server.stop().await;
}

/// A refused unlock code writes no audit event, so it is a warning in the server's
/// log, with the request's client and the token, never the challenge: for a fob
/// reported lost (the thief's call to the helpdesk) and for an unknown token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_unlock_code_is_a_warning_naming_the_client_and_the_token() {
    capture_logs();
    let harness = Harness::start(Backend::Memory).await;
    let mut fob = enrol_fob(&harness, "OTPF-0000000078").await;
    let lost = harness
        .http
        .post(harness.url("/v1/tokens/OTPF-0000000078/lost"))
        .bearer_auth(harness.key("helpdesk"))
        .send()
        .await
        .unwrap();
    assert!(lost.status().is_success(), "{}", lost.status());
    for _ in 0..3 {
        let _ = fob.enter_pin("0000");
    }
    let challenge = fob.unlock_challenge().unwrap().to_string();

    let refused = unlock_code(&harness, "OTPF-0000000078", &challenge).await;
    assert_eq!(refused.status().as_u16(), 409);
    let unknown = unlock_code(&harness, "OTPF-0000000099", &challenge).await;
    assert_eq!(unknown.status().as_u16(), 404);
    harness.server.stop().await;

    for token in ["OTPF-0000000078", "OTPF-0000000099"] {
        let lines: Vec<Value> = log_lines_with(token)
            .into_iter()
            .filter(|line| line["fields"]["message"] == "unlock code refused")
            .collect();
        assert_eq!(lines.len(), 1, "{token}: {lines:?}");
        let line = &lines[0];
        assert_eq!(line["level"], "WARN", "{line}");
        assert_eq!(line["span"]["client"], "helpdesk", "{line}");
        assert!(
            line["fields"]["error"].as_str().unwrap().contains(token),
            "{line}"
        );
    }
    let digits: String = challenge.chars().filter(char::is_ascii_digit).collect();
    assert!(log_lines_with(&digits).is_empty());
    assert!(log_lines_with(&challenge).is_empty());
}
