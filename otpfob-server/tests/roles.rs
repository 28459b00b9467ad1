//! Every endpoint against every role: the roles it names are let through, every other
//! role gets 403, no key or a wrong key gets 401, and neither 401 nor 403 says
//! anything about the token in the request.

mod support;

use reqwest::Method;
use serde_json::json;
use support::{Backend, Harness};

struct Endpoint {
    method: Method,
    path: &'static str,
    body: Option<serde_json::Value>,
    allowed: &'static [&'static str],
}

fn endpoints() -> Vec<Endpoint> {
    let transfer =
        json!({"amount_minor": 100, "currency": "EUR", "beneficiary": "DE89370400440532013000"});
    let endpoint = |method: Method, path, body, allowed| Endpoint {
        method,
        path,
        body,
        allowed,
    };
    vec![
        endpoint(
            Method::POST,
            "/v1/tokens/hotp-1/verify",
            Some(json!({"code": "000000"})),
            &["verify"],
        ),
        endpoint(
            Method::POST,
            "/v1/tokens/hotp-1/resync",
            Some(json!({"first": "000000", "second": "000001"})),
            &["helpdesk"],
        ),
        endpoint(
            Method::POST,
            "/v1/tokens/hotp-1/challenge",
            None,
            &["verify"],
        ),
        endpoint(
            Method::POST,
            "/v1/tokens/hotp-1/challenge/response",
            Some(json!({"response": "12345678"})),
            &["verify"],
        ),
        endpoint(
            Method::POST,
            "/v1/tokens/hotp-1/signature-challenge",
            Some(json!({"transaction": transfer})),
            &["sign"],
        ),
        endpoint(
            Method::POST,
            "/v1/tokens/hotp-1/signature",
            Some(json!({"transaction": transfer, "signature": "12345678"})),
            &["sign"],
        ),
        endpoint(
            Method::POST,
            "/v1/tokens",
            Some(json!({"id": "new-token", "kind": "totp"})),
            &["admin"],
        ),
        endpoint(
            Method::POST,
            "/v1/factory-records",
            Some(
                json!({"serial": "FOB-9", "secret_hex": "3132333435363738393031323334353637383930", "kind": "hotp"}),
            ),
            &["admin"],
        ),
        endpoint(
            Method::POST,
            "/v1/imports",
            Some(json!({"document": "<KeyContainer/>"})),
            &["admin"],
        ),
        endpoint(Method::GET, "/v1/tokens", None, &["helpdesk", "admin"]),
        endpoint(
            Method::GET,
            "/v1/tokens/hotp-1",
            None,
            &["helpdesk", "admin"],
        ),
        endpoint(
            Method::POST,
            "/v1/tokens/hotp-1/unlock",
            None,
            &["helpdesk"],
        ),
        endpoint(
            Method::POST,
            "/v1/tokens/hotp-1/unlock-code",
            Some(json!({"challenge": "12345678"})),
            &["helpdesk"],
        ),
        endpoint(
            Method::POST,
            "/v1/tokens/hotp-1/disable",
            None,
            &["helpdesk"],
        ),
        endpoint(
            Method::POST,
            "/v1/tokens/hotp-1/enable",
            None,
            &["helpdesk"],
        ),
        endpoint(
            Method::PUT,
            "/v1/tokens/hotp-1/pin",
            Some(json!({"pin": "4821"})),
            &["helpdesk", "admin"],
        ),
        endpoint(
            Method::DELETE,
            "/v1/tokens/hotp-1/pin",
            None,
            &["helpdesk", "admin"],
        ),
        endpoint(
            Method::GET,
            "/v1/tokens/hotp-1/audit",
            None,
            &["audit", "helpdesk"],
        ),
        endpoint(
            Method::GET,
            "/v1/tokens/hotp-1/audit/chain",
            None,
            &["audit", "helpdesk"],
        ),
        endpoint(
            Method::GET,
            "/v1/audit/chains",
            None,
            &["audit", "helpdesk"],
        ),
        endpoint(Method::POST, "/v1/reseal", None, &["admin"]),
        endpoint(Method::GET, "/metrics", None, &["metrics"]),
        // The life cycle, in an order each step's allowed call can follow.
        endpoint(
            Method::PUT,
            "/v1/tokens/hotp-1/owner",
            Some(json!({"customer": "C-0001"})),
            &["admin"],
        ),
        endpoint(
            Method::GET,
            "/v1/customers/C-0001/tokens",
            None,
            &["helpdesk", "admin"],
        ),
        endpoint(
            Method::POST,
            "/v1/customers/C-0001/verify",
            Some(json!({"code": "000000"})),
            &["verify"],
        ),
        endpoint(
            Method::POST,
            "/v1/customers/C-0001/lookup",
            Some(json!({"code": "000000"})),
            &["helpdesk"],
        ),
        endpoint(Method::POST, "/v1/tokens/hotp-1/lost", None, &["helpdesk"]),
        endpoint(Method::POST, "/v1/tokens/hotp-1/found", None, &["helpdesk"]),
        endpoint(Method::DELETE, "/v1/tokens/hotp-1/owner", None, &["admin"]),
        endpoint(
            Method::POST,
            "/v1/tokens/hotp-1/replace",
            Some(json!({"fresh": {"id": "hotp-2", "kind": "hotp"}})),
            &["admin"],
        ),
        endpoint(Method::POST, "/v1/tokens/hotp-1/revoke", None, &["admin"]),
        endpoint(Method::DELETE, "/v1/tokens/hotp-1", None, &["admin"]),
    ]
}

const ROLES: [&str; 6] = ["verify", "sign", "helpdesk", "admin", "audit", "metrics"];

async fn send(harness: &Harness, endpoint: &Endpoint, key: Option<&str>) -> (u16, String) {
    let mut request = harness
        .http
        .request(endpoint.method.clone(), harness.url(endpoint.path));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = &endpoint.body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn every_endpoint_checks_every_role(backend: Backend) {
    let harness = Harness::start(backend).await;
    let mut checked = 0;
    for endpoint in endpoints() {
        let label = format!("{} {}", endpoint.method, endpoint.path);
        for key in [None, Some("ofk_not-a-key-anyone-has".to_owned())] {
            let (status, body) = send(&harness, &endpoint, key.as_deref()).await;
            assert_eq!(status, 401, "{label} without a valid key: {body}");
            assert!(
                !body.contains("hotp-1"),
                "{label}: 401 names the token: {body}"
            );
            checked += 1;
        }
        for role in ROLES {
            let (status, body) = send(&harness, &endpoint, Some(&harness.key(role))).await;
            if endpoint.allowed.contains(&role) {
                assert!(
                    status != 401 && status != 403 && status < 500,
                    "{label} as {role}: {status} {body}"
                );
            } else {
                assert_eq!(status, 403, "{label} as {role}: {body}");
                assert!(
                    !body.contains("hotp-1"),
                    "{label}: 403 names the token: {body}"
                );
                assert!(body.contains("\"status\":403"), "{body}");
            }
            checked += 1;
        }
    }
    // 32 endpoints, 2 kinds of 401 and 6 roles each.
    assert_eq!(checked, 32 * 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_on_sqlite() {
    every_endpoint_checks_every_role(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_on_postgres() {
    every_endpoint_checks_every_role(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_requests_are_refused_before_the_token_id_is_read() {
    let harness = Harness::start(Backend::Memory).await;
    // An id no token can have (a space): without a key, 401, not 400.
    let response = harness
        .http
        .post(harness.url("/v1/tokens/bad%20id/verify"))
        .json(&json!({"code": "123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"otpfob\""
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    // The public endpoints need no key.
    for path in ["/healthz", "/readyz", "/v1/openapi.json"] {
        let response = harness.http.get(harness.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}
