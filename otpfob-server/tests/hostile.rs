//! Hostile input: every malformed request gets a problem naming what was wrong, slow
//! or huge requests are cut off, and the server answers normally afterwards, with
//! nothing half-written.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Backend, Harness, Setup};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "status {status}"
    );
    (status, response.json().await.unwrap())
}

async fn raw_verify(harness: &Harness, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    harness
        .http
        .post(harness.url("/v1/tokens/hotp-1/verify"))
        .bearer_auth(harness.key("verify"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn still_answers(harness: &Harness) {
    let state: Value = harness
        .http
        .get(harness.url("/v1/tokens/hotp-1"))
        .bearer_auth(harness.key("helpdesk"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Nothing the bad requests sent was written: no failure counted, no new version.
    assert_eq!(state["failures"], 0, "{state}");
    assert_eq!(state["version"], 1, "{state}");
}

fn hostile_setup() -> Setup {
    let mut setup = Setup::new(Backend::Sqlite);
    setup.config.limits.header_timeout_ms = 1_000;
    setup
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_body_gets_a_problem_that_names_it() {
    let harness = Harness::start_with(hostile_setup()).await;
    let json = "application/json";
    // (what, content type, body, status, problem type, field named)
    type Case = (
        &'static str,
        &'static str,
        Vec<u8>,
        u16,
        &'static str,
        Option<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            json,
            b"{\"code\":".to_vec(),
            400,
            "malformed-json",
            None,
        ),
        (
            "trailing garbage",
            json,
            b"{\"code\":\"123456\"} x".to_vec(),
            400,
            "malformed-json",
            None,
        ),
        (
            "unknown field",
            json,
            br#"{"code":"123456","admin":true}"#.to_vec(),
            422,
            "invalid-field",
            Some("admin"),
        ),
        (
            "wrong type",
            json,
            br#"{"code":123456}"#.to_vec(),
            422,
            "invalid-field",
            Some("code"),
        ),
        (
            "missing field",
            json,
            br#"{"pin":"1234"}"#.to_vec(),
            422,
            "invalid-field",
            None,
        ),
        (
            "code too short",
            json,
            br#"{"code":"12345"}"#.to_vec(),
            422,
            "invalid-code",
            Some("code"),
        ),
        (
            "code too long",
            json,
            br#"{"code":"12345678901"}"#.to_vec(),
            422,
            "invalid-code",
            Some("code"),
        ),
        (
            "code not digits",
            json,
            br#"{"code":"12345x"}"#.to_vec(),
            422,
            "invalid-code",
            Some("code"),
        ),
        (
            "wrong content type",
            "text/plain",
            br#"{"code":"123456"}"#.to_vec(),
            415,
            "unsupported-media-type",
            None,
        ),
        (
            "form content type",
            "application/x-www-form-urlencoded",
            b"code=123456".to_vec(),
            415,
            "unsupported-media-type",
            None,
        ),
        (
            "body over the limit",
            json,
            format!("{{\"code\":\"123456\",\"pin\":\"{}\"}}", "1".repeat(20_000)).into_bytes(),
            413,
            "body-too-large",
            None,
        ),
    ];
    for (label, content_type, body, status, kind, field) in cases {
        let (got, body) = problem(raw_verify(&harness, content_type, body).await).await;
        assert_eq!(got, status, "{label}: {body}");
        assert_eq!(
            body["type"],
            format!("urn:otpfob:problem:{kind}"),
            "{label}: {body}"
        );
        if let Some(field) = field {
            assert_eq!(body["field"], field, "{label}: {body}");
        }
        assert!(
            body["detail"].is_string() || body["title"].is_string(),
            "{label}"
        );
    }
    // An invalid token id: too long, or with a control character.
    for id in ["x".repeat(200), "a%01b".to_owned()] {
        let response = harness
            .http
            .post(harness.url(&format!("/v1/tokens/{id}/verify")))
            .bearer_auth(harness.key("verify"))
            .json(&json!({"code": "123456"}))
            .send()
            .await
            .unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(status, 400, "{id}: {body}");
        assert_eq!(body["type"], "urn:otpfob:problem:invalid-token-id");
        assert_eq!(body["field"], "id");
    }
    // A bad query parameter.
    let response = harness
        .http
        .get(harness.url("/v1/tokens?limit=many"))
        .bearer_auth(harness.key("helpdesk"))
        .send()
        .await
        .unwrap();
    let (status, body) = problem(response).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["type"], "urn:otpfob:problem:invalid-query");
    still_answers(&harness).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10_megabyte_body_is_refused_and_the_server_goes_on() {
    let harness = Harness::start_with(hostile_setup()).await;
    let body = vec![b'a'; 10 * 1024 * 1024];
    let started = Instant::now();
    match harness
        .http
        .post(harness.url("/v1/tokens/hotp-1/verify"))
        .bearer_auth(harness.key("verify"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
    {
        Ok(response) => assert_eq!(response.status(), 413),
        // The server may close the connection before the client has sent it all.
        Err(error) => assert!(!error.is_timeout(), "{error}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    // The same to the import endpoint, whose limit is larger (4 MiB by default).
    let body = format!("{{\"document\":\"{}\"}}", "a".repeat(10 * 1024 * 1024));
    match harness
        .http
        .post(harness.url("/v1/imports"))
        .bearer_auth(harness.key("admin"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
    {
        Ok(response) => assert_eq!(response.status(), 413),
        Err(error) => assert!(!error.is_timeout(), "{error}"),
    }
    still_answers(&harness).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_headers_are_refused_and_the_server_goes_on() {
    let harness = Harness::start_with(hostile_setup()).await;
    let mut stream = tokio::net::TcpStream::connect(harness.server.address())
        .await
        .unwrap();
    let mut request = String::from("GET /healthz HTTP/1.1\r\nHost: localhost\r\n");
    for index in 0..10_000 {
        request.push_str(&format!("x-header-{index}: {index}\r\n"));
    }
    request.push_str("\r\n");
    // The server may stop reading and close before all of it is written.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty()
            || answer.starts_with("HTTP/1.1 431")
            || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    assert!(!answer.contains("200 OK"), "{answer}");
    still_answers(&harness).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off_and_others_are_served_meanwhile() {
    let harness = Harness::start_with(hostile_setup()).await;
    // Ten slowloris connections, each sending a byte of its head every 300 ms.
    let mut slow = Vec::new();
    for _ in 0..10 {
        let address = harness.server.address();
        slow.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
            let started = Instant::now();
            for byte in b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: "
                .iter()
                .cycle()
            {
                if stream.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                let mut buffer = [0u8; 256];
                match tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buffer)).await
                {
                    Ok(Ok(0)) | Ok(Err(_)) => break,
                    Ok(Ok(_)) => break,
                    Err(_) => {}
                }
                if started.elapsed() > Duration::from_secs(15) {
                    panic!("a slow head was kept open for 15 s");
                }
            }
            started.elapsed()
        }));
    }
    // Meanwhile, normal requests are answered.
    tokio::time::sleep(Duration::from_millis(200)).await;
    still_answers(&harness).await;
    for task in slow {
        let held = task.await.unwrap();
        // Cut off about the header timeout (1 s) after the connection opened.
        assert!(
            held > Duration::from_millis(700) && held < Duration::from_secs(5),
            "held for {held:?}"
        );
    }
    still_answers(&harness).await;
}
