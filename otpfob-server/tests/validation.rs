//! The validation API end to end: one acceptance among 64 racing requests, the same
//! bytes for every rejection, OCRA login and transaction signing, enrolment, import.

mod support;

use otpfob::{
    Secret, Totp, TotpParameters,
    ocra::{Ocra, OcraInput},
};
use serde_json::{Value, json};
use support::{Backend, Harness, hotp_code};

/// 64 requests with the same valid code at once: exactly one is accepted.
async fn one_of_64_accepted(backend: Backend) -> usize {
    let harness = Harness::start(backend).await;
    let code = hotp_code(0);
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let http = harness.http.clone();
        let url = harness.url("/v1/tokens/hotp-1/verify");
        let key = harness.key("verify");
        let code = code.clone();
        tasks.push(tokio::spawn(async move {
            let response = http
                .post(url)
                .bearer_auth(key)
                .json(&json!({ "code": code }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()["verdict"] == "accepted"
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        if task.await.unwrap() {
            accepted += 1;
        }
    }
    // The code is spent for good, and the trail has exactly one acceptance.
    let audit: Vec<Value> = harness
        .http
        .get(harness.url("/v1/tokens/hotp-1/audit?limit=1000"))
        .bearer_auth(harness.key("audit"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let accepted_in_trail = audit
        .iter()
        .filter(|event| event["outcome"] == "accepted")
        .count();
    assert_eq!(accepted_in_trail, 1);
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_of_64_on_sqlite() {
    assert_eq!(one_of_64_accepted(Backend::Sqlite).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_of_64_on_postgres() {
    assert_eq!(one_of_64_accepted(Backend::Postgres).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_of_64_on_memory() {
    assert_eq!(one_of_64_accepted(Backend::Memory).await, 1);
}

/// Status, headers (but the request id and the date) and body of a response.
async fn answer(response: reqwest::Response) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let status = response.status().as_u16();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != "x-request-id" && *name != "date")
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rejection_is_the_same_answer() {
    let harness = Harness::start(Backend::Sqlite).await;
    harness.enrol_hotp("disabled-1").await;
    harness.enrol_hotp("locked-1").await;
    let unknown = answer(harness.verify("nobody-has-this", "123456").await).await;
    let wrong = answer(harness.verify("hotp-1", "123456").await).await;
    assert_eq!(unknown, wrong);
    assert_eq!(wrong.2, br#"{"verdict":"rejected"}"#);
    // A replay.
    assert_eq!(
        answer(harness.verify("hotp-1", &hotp_code(0)).await)
            .await
            .2,
        br#"{"verdict":"accepted"}"#
    );
    assert_eq!(
        answer(harness.verify("hotp-1", &hotp_code(0)).await).await,
        unknown
    );
    // A disabled token, with its right code.
    let response = harness
        .http
        .post(harness.url("/v1/tokens/disabled-1/disable"))
        .bearer_auth(harness.key("helpdesk"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        answer(harness.verify("disabled-1", &hotp_code(0)).await).await,
        unknown
    );
    // A locked token (10 failures), with its right code.
    for _ in 0..10 {
        harness.verify("locked-1", "999999").await;
    }
    assert_eq!(
        answer(harness.verify("locked-1", &hotp_code(0)).await).await,
        unknown
    );
    let state: Value = harness
        .http
        .get(harness.url("/v1/tokens/locked-1"))
        .bearer_auth(harness.key("helpdesk"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["locked"], true);
    // The reasons are in the audit trail, not in the answers. (An HOTP code used once
    // is behind the counter, so its replay is a wrong code.)
    assert_eq!(
        reasons(&harness, "hotp-1").await,
        ["wrong_code", "wrong_code"]
    );
    assert_eq!(reasons(&harness, "disabled-1").await, ["disabled"]);
    assert_eq!(
        reasons(&harness, "locked-1").await.last().unwrap(),
        "locked"
    );
}

async fn reasons(harness: &Harness, token: &str) -> Vec<String> {
    let audit: Vec<Value> = harness
        .http
        .get(harness.url(&format!("/v1/tokens/{token}/audit")))
        .bearer_auth(harness.key("audit"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    audit
        .iter()
        .filter_map(|event| event["reason"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_returns_a_key_uri_that_makes_accepted_codes() {
    let harness = Harness::start(Backend::Sqlite).await;
    let response = harness
        .http
        .post(harness.url("/v1/tokens"))
        .bearer_auth(harness.key("admin"))
        .json(&json!({"id": "alice", "kind": "totp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert!(body["qr_svg"].as_str().unwrap().starts_with("<svg"));
    let uri = otpfob::KeyUri::parse(body["key_uri"].as_str().unwrap()).unwrap();
    assert_eq!(uri.issuer(), Some("test bank"));
    let code = Totp::new(uri.secret(), TotpParameters::default())
        .unwrap()
        .now(&otpfob::SystemClock)
        .unwrap()
        .to_string();
    let verdict: Value = harness.verify("alice", &code).await.json().await.unwrap();
    assert_eq!(verdict["verdict"], "accepted");
    // The same id again: 409.
    let again = harness
        .http
        .post(harness.url("/v1/tokens"))
        .bearer_auth(harness.key("admin"))
        .json(&json!({"id": "alice", "kind": "totp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    // The state never shows the secret.
    let state = harness
        .http
        .get(harness.url("/v1/tokens/alice"))
        .bearer_auth(harness.key("admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !state.contains(uri.secret().to_base32().as_str()),
        "{state}"
    );
}

async fn post(harness: &Harness, role: &str, path: &str, body: Value) -> Value {
    let response = harness
        .http
        .post(harness.url(path))
        .bearer_auth(harness.key(role))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocra_login_and_transaction_signing() {
    let harness = Harness::start(Backend::Sqlite).await;
    let suite = "OCRA-1:HOTP-SHA1-8:QN08";
    post(
        &harness,
        "admin",
        "/v1/factory-records",
        json!({"serial": "FOB-7", "secret_hex": "3132333435363738393031323334353637383930", "kind": "totp", "ocra_suite": suite}),
    )
    .await;
    let ocra = Ocra::new(
        &Secret::from_bytes(support::SECRET).unwrap(),
        suite.parse().unwrap(),
    );
    // Login: challenge, response, accepted once.
    let challenge = post(&harness, "verify", "/v1/tokens/FOB-7/challenge", json!({})).await;
    let response = ocra
        .one_way(
            challenge["challenge"].as_str().unwrap(),
            &OcraInput::default(),
        )
        .unwrap()
        .to_string();
    let path = "/v1/tokens/FOB-7/challenge/response";
    assert_eq!(
        post(&harness, "verify", path, json!({"response": response})).await["verdict"],
        "accepted"
    );
    assert_eq!(
        post(&harness, "verify", path, json!({"response": response})).await["verdict"],
        "rejected"
    );
    // Signing: the signature of the transfer is accepted, of another transfer not.
    let transfer =
        json!({"amount_minor": 125000, "currency": "EUR", "beneficiary": "DE89370400440532013000"});
    let challenge = post(
        &harness,
        "sign",
        "/v1/tokens/FOB-7/signature-challenge",
        json!({"transaction": transfer}),
    )
    .await;
    let signature = ocra
        .sign(
            challenge["challenge"].as_str().unwrap(),
            &OcraInput::default(),
        )
        .unwrap()
        .to_string();
    let tampered =
        json!({"amount_minor": 925000, "currency": "EUR", "beneficiary": "DE89370400440532013000"});
    assert_eq!(
        post(
            &harness,
            "sign",
            "/v1/tokens/FOB-7/signature",
            json!({"transaction": tampered, "signature": signature})
        )
        .await["verdict"],
        "rejected"
    );
    let challenge = post(
        &harness,
        "sign",
        "/v1/tokens/FOB-7/signature-challenge",
        json!({"transaction": transfer}),
    )
    .await;
    let signature = ocra
        .sign(
            challenge["challenge"].as_str().unwrap(),
            &OcraInput::default(),
        )
        .unwrap()
        .to_string();
    assert_eq!(
        post(
            &harness,
            "sign",
            "/v1/tokens/FOB-7/signature",
            json!({"transaction": transfer, "signature": signature})
        )
        .await["verdict"],
        "accepted"
    );
    // An unknown token gets a challenge of the same form, which no response passes.
    let decoy = post(&harness, "verify", "/v1/tokens/nobody/challenge", json!({})).await;
    assert_eq!(decoy["challenge"].as_str().unwrap().len(), 8);
    assert_eq!(
        post(
            &harness,
            "verify",
            "/v1/tokens/nobody/challenge/response",
            json!({"response": "12345678"})
        )
        .await["verdict"],
        "rejected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pskc_import_reports_every_key_and_listing_pages() {
    let harness = Harness::start(Backend::Sqlite).await;
    let document = std::fs::read_to_string("../tests/data/pskc/figure3.xml").unwrap();
    let report = post(
        &harness,
        "admin",
        "/v1/imports",
        json!({"document": document}),
    )
    .await;
    assert_eq!(report["enrolled"][0]["token"], "987654321");
    assert_eq!(report["refused"].as_array().unwrap().len(), 0);
    // The RFC 4226 code of counter 0 in the figure's 8 digits.
    let verdict: Value = harness
        .verify("987654321", "84755224")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verdict["verdict"], "accepted");
    // Importing it again refuses the key, and says why.
    let again = post(
        &harness,
        "admin",
        "/v1/imports",
        json!({"document": document}),
    )
    .await;
    assert_eq!(
        again["refused"][0]["key_id"],
        report["enrolled"][0]["key_id"]
    );
    // Pages of two, then filters.
    for index in 0..5 {
        harness.enrol_hotp(&format!("page-{index}")).await;
    }
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let query = if after.is_empty() {
            "/v1/tokens?limit=2&prefix=page-".to_owned()
        } else {
            format!("/v1/tokens?limit=2&prefix=page-&after={after}")
        };
        let page: Value = harness
            .http
            .get(harness.url(&query))
            .bearer_auth(harness.key("helpdesk"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for token in page["tokens"].as_array().unwrap() {
            seen.push(token["id"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, ["page-0", "page-1", "page-2", "page-3", "page-4"]);
    let disabled: Value = harness
        .http
        .get(harness.url("/v1/tokens?status=disabled"))
        .bearer_auth(harness.key("helpdesk"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(disabled["tokens"].as_array().unwrap().len(), 0);
}

/// Every audit event names the client that caused it.
async fn audit_names_the_client(backend: Backend) {
    let harness = Harness::start(backend).await;
    post(
        &harness,
        "admin",
        "/v1/tokens",
        json!({"id": "bob", "kind": "hotp"}),
    )
    .await;
    harness.verify("bob", "000000").await;
    harness.verify("nobody-at-all", "000000").await;
    let response = harness
        .http
        .post(harness.url("/v1/tokens/bob/unlock"))
        .bearer_auth(harness.key("helpdesk"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let trail = |token: &'static str| {
        let http = harness.http.clone();
        let url = harness.url(&format!("/v1/tokens/{token}/audit"));
        let key = harness.key("audit");
        async move {
            let events: Vec<Value> = http
                .get(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            events
                .iter()
                .map(|event| {
                    format!(
                        "{} {}",
                        event["operation"].as_str().unwrap(),
                        event["actor"].as_str().unwrap_or("-")
                    )
                })
                .collect::<Vec<String>>()
        }
    };
    assert_eq!(
        trail("bob").await,
        ["enrol admin", "verify verify", "unlock helpdesk"]
    );
    assert_eq!(trail("nobody-at-all").await, ["verify verify"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_names_the_client_on_memory() {
    audit_names_the_client(Backend::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_names_the_client_on_sqlite() {
    audit_names_the_client(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_names_the_client_on_postgres() {
    audit_names_the_client(Backend::Postgres).await;
}
