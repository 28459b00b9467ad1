//! The life-cycle API end to end: owners, a customer's tokens, a lost fob with a
//! temporary replacement, found, replaced from a factory record, revoked; a
//! customer's verification (the same bytes for every rejection) and the helpdesk's
//! lookup; every audit event naming its client; bad input as problem+json.

mod support;

use otpfob::{Totp, TotpParameters};
use serde_json::{Value, json};
use support::{Backend, Harness, hotp_code};

async fn call(
    harness: &Harness,
    method: reqwest::Method,
    role: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = harness
        .http
        .request(method, harness.url(path))
        .bearer_auth(harness.key(role));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn post(harness: &Harness, role: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    call(harness, reqwest::Method::POST, role, path, body).await
}

async fn customer_verify(harness: &Harness, customer: &str, code: &str) -> String {
    let (status, body) = post(
        harness,
        "verify",
        &format!("/v1/customers/{customer}/verify"),
        Some(json!({ "code": code })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["verdict"].as_str().unwrap().to_owned()
}

async fn trail(harness: &Harness, token: &str) -> Vec<String> {
    let (status, events) = call(
        harness,
        reqwest::Method::GET,
        "audit",
        &format!("/v1/tokens/{token}/audit?limit=1000"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            format!(
                "{} {}",
                event["operation"].as_str().unwrap(),
                event["actor"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

fn totp_now(key_uri: &str) -> String {
    let uri = otpfob::KeyUri::parse(key_uri).unwrap();
    Totp::new(uri.secret(), TotpParameters::default())
        .unwrap()
        .now(&otpfob::SystemClock)
        .unwrap()
        .to_string()
}

/// A fob's whole life through the API, each step's audit event naming its client.
async fn a_lost_fob_through_the_api(backend: Backend) {
    let harness = Harness::start(backend).await;
    let (status, _) = call(
        &harness,
        reqwest::Method::PUT,
        "admin",
        "/v1/tokens/hotp-1/owner",
        Some(json!({"customer": "C-0001"})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, listed) = call(
        &harness,
        reqwest::Method::GET,
        "helpdesk",
        "/v1/customers/C-0001/tokens",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed["tokens"][0]["id"], "hotp-1");
    assert_eq!(listed["tokens"][0]["owner"], "C-0001");
    assert_eq!(
        customer_verify(&harness, "C-0001", &hotp_code(0)).await,
        "accepted"
    );

    // Lost, with a temporary soft token for a day.
    let (status, lost) = post(
        &harness,
        "helpdesk",
        "/v1/tokens/hotp-1/lost",
        Some(json!({"replacement": {"id": "temp-1", "kind": "totp"}, "lifetime_seconds": 86400})),
    )
    .await;
    assert_eq!(status, 201, "{lost}");
    assert!(
        lost["replacement"]["qr_svg"]
            .as_str()
            .unwrap()
            .starts_with("<svg")
    );
    let key_uri = lost["replacement"]["key_uri"].as_str().unwrap().to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expires = lost["expires_at"].as_i64().unwrap();
    assert!(
        (now + 86_400 - 5..=now + 86_400 + 5).contains(&expires),
        "{lost}"
    );
    // The lost fob's next code is refused; the replacement's is accepted, for the
    // same customer.
    assert_eq!(
        customer_verify(&harness, "C-0001", &hotp_code(1)).await,
        "rejected"
    );
    assert_eq!(
        customer_verify(&harness, "C-0001", &totp_now(&key_uri)).await,
        "accepted"
    );
    let (_, temp) = call(
        &harness,
        reqwest::Method::GET,
        "helpdesk",
        "/v1/tokens/temp-1",
        None,
    )
    .await;
    assert_eq!(temp["owner"], "C-0001");
    assert_eq!(temp["not_after"], expires);
    // The key URI is never shown again.
    let (_, shown) = call(
        &harness,
        reqwest::Method::GET,
        "admin",
        "/v1/tokens/temp-1",
        None,
    )
    .await;
    assert!(shown.get("key_uri").is_none());

    // Found: back in service. Found again: 409, it is not lost.
    assert_eq!(
        post(&harness, "helpdesk", "/v1/tokens/hotp-1/found", None)
            .await
            .0,
        204
    );
    let (status, problem) = post(&harness, "helpdesk", "/v1/tokens/hotp-1/found", None).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["type"], "urn:otpfob:problem:lifecycle-conflict");
    assert_eq!(
        customer_verify(&harness, "C-0001", &hotp_code(2)).await,
        "accepted"
    );

    // Replaced by a new fob from its factory record: the old one is revoked, the new
    // one belongs to the same customer and makes accepted codes.
    let (status, replaced) = post(
        &harness,
        "admin",
        "/v1/tokens/hotp-1/replace",
        Some(json!({"factory": {
            "serial": "FOB-2",
            "secret_hex": "3132333435363738393031323334353637383930",
            "kind": "hotp",
        }})),
    )
    .await;
    assert_eq!(status, 201, "{replaced}");
    assert_eq!(replaced["token"]["id"], "FOB-2");
    assert_eq!(replaced["token"]["owner"], "C-0001");
    assert!(replaced.get("key_uri").is_none());
    let (_, old) = call(
        &harness,
        reqwest::Method::GET,
        "admin",
        "/v1/tokens/hotp-1",
        None,
    )
    .await;
    assert_eq!(old["status"], "revoked");
    assert!(old.get("owner").is_none());
    assert_eq!(
        customer_verify(&harness, "C-0001", &hotp_code(0)).await,
        "accepted"
    );
    // Revoked is final: found is refused.
    assert_eq!(
        post(&harness, "helpdesk", "/v1/tokens/hotp-1/found", None)
            .await
            .0,
        409
    );
    // The temporary replacement ended when the fob was found.
    let (_, temp) = call(
        &harness,
        reqwest::Method::GET,
        "admin",
        "/v1/tokens/temp-1",
        None,
    )
    .await;
    assert_eq!(temp["status"], "revoked", "{temp}");
    let (_, tokens) = call(
        &harness,
        reqwest::Method::GET,
        "admin",
        "/v1/customers/C-0001/tokens",
        None,
    )
    .await;
    let ids: Vec<&str> = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|token| token["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["FOB-2"]);
    // Unassigned: the customer has none.
    let (status, _) = call(
        &harness,
        reqwest::Method::DELETE,
        "admin",
        "/v1/tokens/FOB-2/owner",
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        customer_verify(&harness, "C-0001", &hotp_code(1)).await,
        "rejected"
    );

    // Every event names the client that caused it.
    let hotp = trail(&harness, "hotp-1").await;
    for expected in [
        "assign_owner admin",
        "verify_customer verify",
        "report_lost helpdesk",
        "report_found helpdesk",
        "revoke admin",
    ] {
        assert!(hotp.contains(&expected.to_owned()), "{expected}: {hotp:?}");
    }
    // The harness enrolled it through the library, not the API: no client.
    assert_eq!(hotp[0], "enrol -");
    assert!(
        !hotp[1..].iter().any(|line| line.ends_with(" -")),
        "{hotp:?}"
    );
    let temp = trail(&harness, "temp-1").await;
    assert_eq!(
        temp.first().map(String::as_str),
        Some("enrol helpdesk"),
        "{temp:?}"
    );
    let fob = trail(&harness, "FOB-2").await;
    assert_eq!(
        fob.first().map(String::as_str),
        Some("enrol admin"),
        "{fob:?}"
    );
    assert!(fob.contains(&"unassign_owner admin".to_owned()), "{fob:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_fob_through_the_api_on_sqlite() {
    a_lost_fob_through_the_api(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_fob_through_the_api_on_postgres() {
    a_lost_fob_through_the_api(Backend::Postgres).await;
}

/// Emergency codes through the API: issued once for a lost fob's customer (the fob
/// reported lost on the way), each accepted once, in order, the list spent after its
/// last; a soft replacement limited to one use; `found` ends the list; the roles and
/// the bounds are checked.
async fn emergency_codes_through_the_api(backend: Backend) {
    let harness = Harness::start(backend).await;
    let (status, _) = call(
        &harness,
        reqwest::Method::PUT,
        "admin",
        "/v1/tokens/hotp-1/owner",
        Some(json!({"customer": "C-0002"})),
    )
    .await;
    assert_eq!(status, 204);
    for (role, body, expected) in [
        ("verify", json!({"id": "codes-1"}), 403),
        ("audit", json!({"id": "codes-1"}), 403),
        ("helpdesk", json!({"id": "codes-1", "count": 0}), 422),
        ("helpdesk", json!({"id": "codes-1", "count": 11}), 422),
        (
            "helpdesk",
            json!({"id": "codes-1", "lifetime_seconds": 0}),
            422,
        ),
        ("helpdesk", json!({"id": "bad id"}), 400),
        ("helpdesk", json!({"id": "codes-1", "extra": 1}), 422),
    ] {
        let (status, problem) = post(
            &harness,
            role,
            "/v1/tokens/hotp-1/emergency-codes",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, expected, "{role} {body}: {problem}");
    }
    // Nothing was written by the refusals: the fob is still active.
    let (_, fob) = call(
        &harness,
        reqwest::Method::GET,
        "helpdesk",
        "/v1/tokens/hotp-1",
        None,
    )
    .await;
    assert_eq!(fob["status"], "active", "{fob}");

    let (status, list) = post(
        &harness,
        "helpdesk",
        "/v1/tokens/hotp-1/emergency-codes",
        Some(json!({"id": "codes-1", "count": 3, "lifetime_seconds": 3600})),
    )
    .await;
    assert_eq!(status, 201, "{list}");
    assert_eq!(list["token"], "codes-1");
    let codes: Vec<String> = list["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 3);
    assert!(codes.iter().all(|code| code.len() == 8), "{codes:?}");
    let (_, fob) = call(
        &harness,
        reqwest::Method::GET,
        "helpdesk",
        "/v1/tokens/hotp-1",
        None,
    )
    .await;
    assert_eq!(fob["status"], "lost", "{fob}");
    // The codes are never shown again.
    let (_, shown) = call(
        &harness,
        reqwest::Method::GET,
        "admin",
        "/v1/tokens/codes-1",
        None,
    )
    .await;
    assert_eq!(shown["owner"], "C-0002");
    assert!(
        codes
            .iter()
            .all(|code| !shown.to_string().contains(code.as_str())),
        "{shown}"
    );
    for code in &codes[..2] {
        assert_eq!(customer_verify(&harness, "C-0002", code).await, "accepted");
        assert_eq!(customer_verify(&harness, "C-0002", code).await, "rejected");
    }

    // A soft replacement for one use, beside the list.
    let (status, lost) = post(
        &harness,
        "helpdesk",
        "/v1/tokens/hotp-1/lost",
        Some(json!({"replacement": {"id": "temp-2", "kind": "totp"}, "max_uses": 1})),
    )
    .await;
    assert_eq!(status, 201, "{lost}");
    let key_uri = lost["replacement"]["key_uri"].as_str().unwrap().to_owned();
    assert_eq!(
        customer_verify(&harness, "C-0002", &totp_now(&key_uri)).await,
        "accepted"
    );
    let (_, temp) = call(
        &harness,
        reqwest::Method::GET,
        "helpdesk",
        "/v1/tokens/temp-2",
        None,
    )
    .await;
    assert_eq!(temp["uses_left"], 0, "{temp}");
    let (status, _) = post(
        &harness,
        "helpdesk",
        "/v1/tokens/hotp-1/lost",
        Some(json!({"replacement": {"id": "temp-3", "kind": "totp"}, "max_uses": 0})),
    )
    .await;
    assert_eq!(status, 422);

    // Found: the list ends with its last code unused; the fob works again.
    assert_eq!(
        post(&harness, "helpdesk", "/v1/tokens/hotp-1/found", None)
            .await
            .0,
        204
    );
    assert_eq!(
        customer_verify(&harness, "C-0002", &codes[2]).await,
        "rejected"
    );
    for token in ["codes-1", "temp-2"] {
        let (_, ended) = call(
            &harness,
            reqwest::Method::GET,
            "helpdesk",
            &format!("/v1/tokens/{token}"),
            None,
        )
        .await;
        assert_eq!(ended["status"], "revoked", "{ended}");
    }
    assert_eq!(
        customer_verify(&harness, "C-0002", &hotp_code(0)).await,
        "accepted"
    );
    let codes_trail = trail(&harness, "codes-1").await;
    assert_eq!(
        codes_trail.first().map(String::as_str),
        Some("enrol helpdesk")
    );
    assert!(
        codes_trail.contains(&"revoke helpdesk".to_owned()),
        "{codes_trail:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_codes_through_the_api_on_sqlite() {
    emergency_codes_through_the_api(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_codes_through_the_api_on_postgres() {
    emergency_codes_through_the_api(Backend::Postgres).await;
}

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

async fn raw_customer_verify(harness: &Harness, customer: &str, code: &str) -> reqwest::Response {
    harness
        .http
        .post(harness.url(&format!("/v1/customers/{customer}/verify")))
        .bearer_auth(harness.key("verify"))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap()
}

/// Every rejection of a customer's code is the same answer, byte for byte but the
/// request id: an unknown customer, a wrong code, a replay, a lost, a revoked, a
/// disabled and a locked token's right code.
async fn every_customer_rejection_is_the_same_answer(backend: Backend) {
    let harness = Harness::start(backend).await;
    for (token, customer) in [
        ("hotp-1", "C-wrong"),
        ("lost-1", "C-lost"),
        ("revoked-1", "C-revoked"),
        ("disabled-1", "C-disabled"),
        ("locked-1", "C-locked"),
    ] {
        if token != "hotp-1" {
            harness.enrol_hotp(token).await;
        }
        let (status, _) = call(
            &harness,
            reqwest::Method::PUT,
            "admin",
            &format!("/v1/tokens/{token}/owner"),
            Some(json!({ "customer": customer })),
        )
        .await;
        assert_eq!(status, 204);
    }
    assert_eq!(
        post(&harness, "helpdesk", "/v1/tokens/lost-1/lost", None)
            .await
            .0,
        204
    );
    assert_eq!(
        post(&harness, "admin", "/v1/tokens/revoked-1/revoke", None)
            .await
            .0,
        204
    );
    assert_eq!(
        post(&harness, "helpdesk", "/v1/tokens/disabled-1/disable", None)
            .await
            .0,
        204
    );
    for _ in 0..10 {
        raw_customer_verify(&harness, "C-locked", "999999").await;
    }

    let unknown = answer(raw_customer_verify(&harness, "C-nobody", &hotp_code(0)).await).await;
    assert_eq!(unknown.0, 200);
    assert_eq!(unknown.2, br#"{"verdict":"rejected"}"#);
    let wrong = answer(raw_customer_verify(&harness, "C-wrong", "123456").await).await;
    assert_eq!(wrong, unknown);
    let accepted = answer(raw_customer_verify(&harness, "C-wrong", &hotp_code(0)).await).await;
    assert_eq!(accepted.2, br#"{"verdict":"accepted"}"#);
    let replay = answer(raw_customer_verify(&harness, "C-wrong", &hotp_code(0)).await).await;
    assert_eq!(replay, unknown);
    for customer in ["C-lost", "C-revoked", "C-disabled", "C-locked"] {
        let right = answer(raw_customer_verify(&harness, customer, &hotp_code(0)).await).await;
        assert_eq!(right, unknown, "{customer}");
    }
    // The reasons are in the trail only.
    let reasons = |token: &'static str| {
        let harness = &harness;
        async move {
            let (_, events) = call(
                harness,
                reqwest::Method::GET,
                "audit",
                &format!("/v1/tokens/{token}/audit?limit=1000"),
                None,
            )
            .await;
            events
                .as_array()
                .unwrap()
                .iter()
                .filter(|event| event["operation"] == "verify_customer")
                .filter_map(|event| event["reason"].as_str().map(str::to_owned))
                .collect::<Vec<String>>()
        }
    };
    assert_eq!(reasons("lost-1").await, ["lost"]);
    assert_eq!(reasons("revoked-1").await, Vec::<String>::new());
    assert_eq!(reasons("disabled-1").await, ["disabled"]);
    assert_eq!(reasons("locked-1").await.last().unwrap(), "locked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_customer_rejection_is_the_same_answer_on_sqlite() {
    every_customer_rejection_is_the_same_answer(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_customer_rejection_is_the_same_answer_on_postgres() {
    every_customer_rejection_is_the_same_answer(Backend::Postgres).await;
}

/// The helpdesk finds which token a code belongs to, even a lost one's; nothing is
/// accepted, and the code stays usable until it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_helpdesk_lookup_finds_a_code_without_accepting_it() {
    let harness = Harness::start(Backend::Sqlite).await;
    let (status, enrolled) = post(
        &harness,
        "admin",
        "/v1/tokens",
        Some(json!({"id": "totp-2", "kind": "totp"})),
    )
    .await;
    assert_eq!(status, 201);
    let key_uri = enrolled["key_uri"].as_str().unwrap().to_owned();
    for token in ["hotp-1", "totp-2"] {
        let (status, _) = call(
            &harness,
            reqwest::Method::PUT,
            "admin",
            &format!("/v1/tokens/{token}/owner"),
            Some(json!({"customer": "C-0001"})),
        )
        .await;
        assert_eq!(status, 204);
    }
    assert_eq!(
        post(&harness, "helpdesk", "/v1/tokens/totp-2/lost", None)
            .await
            .0,
        204
    );
    let lookup = |code: String| {
        let harness = &harness;
        async move {
            post(
                harness,
                "helpdesk",
                "/v1/customers/C-0001/lookup",
                Some(json!({ "code": code })),
            )
            .await
        }
    };
    let code = totp_now(&key_uri);
    let (status, found) = lookup(code.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(
        found,
        json!({"found": true, "token": "totp-2", "spent": false, "status": "lost"})
    );
    // A lookup accepts nothing: the same again.
    assert_eq!(lookup(code.clone()).await.1, found);
    assert_eq!(lookup("555555".to_owned()).await.1, json!({"found": false}));
    assert_eq!(
        lookup(hotp_code(0)).await.1,
        json!({"found": true, "token": "hotp-1", "spent": false, "status": "active"})
    );
    // Found, the code is accepted once; then it reads as spent.
    assert_eq!(
        post(&harness, "helpdesk", "/v1/tokens/totp-2/found", None)
            .await
            .0,
        204
    );
    assert_eq!(customer_verify(&harness, "C-0001", &code).await, "accepted");
    assert_eq!(
        lookup(code).await.1,
        json!({"found": true, "token": "totp-2", "spent": true, "status": "active"})
    );
    let trail = trail(&harness, "totp-2").await;
    assert!(trail.contains(&"lookup helpdesk".to_owned()), "{trail:?}");
}

/// A request and the problem it must get: method, role, path, body, status, type.
type Case = (
    reqwest::Method,
    &'static str,
    &'static str,
    Option<Value>,
    u16,
    &'static str,
);

/// Bad input is an RFC 9457 problem naming what was wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_life_cycle_input_is_problem_json() {
    let harness = Harness::start(Backend::Sqlite).await;
    let cases: Vec<Case> = vec![
        (
            reqwest::Method::GET,
            "helpdesk",
            "/v1/customers/bad%20ref/tokens",
            None,
            400,
            "invalid-customer",
        ),
        (
            reqwest::Method::POST,
            "verify",
            "/v1/customers/caf%C3%A9/verify",
            Some(json!({"code": "123456"})),
            400,
            "invalid-customer",
        ),
        (
            reqwest::Method::POST,
            "verify",
            "/v1/customers/C-1/verify",
            Some(json!({"code": "12ab56"})),
            422,
            "invalid-code",
        ),
        (
            reqwest::Method::POST,
            "helpdesk",
            "/v1/customers/C-1/lookup",
            Some(json!({"code": "1"})),
            422,
            "invalid-code",
        ),
        (
            reqwest::Method::PUT,
            "admin",
            "/v1/tokens/hotp-1/owner",
            Some(json!({"customer": "with space"})),
            422,
            "invalid-customer",
        ),
        (
            reqwest::Method::PUT,
            "admin",
            "/v1/tokens/hotp-1/owner",
            Some(json!({"owner": "C-1"})),
            422,
            "invalid-field",
        ),
        (
            reqwest::Method::PUT,
            "admin",
            "/v1/tokens/nobody/owner",
            Some(json!({"customer": "C-1"})),
            404,
            "token-not-found",
        ),
        (
            reqwest::Method::POST,
            "helpdesk",
            "/v1/tokens/hotp-1/lost",
            Some(json!({"lifetime_seconds": 60})),
            422,
            "invalid-value",
        ),
        (
            reqwest::Method::POST,
            "helpdesk",
            "/v1/tokens/hotp-1/lost",
            Some(json!({"replacement": {"id": "t-1", "kind": "totp"}, "lifetime_seconds": 0})),
            422,
            "invalid-value",
        ),
        (
            reqwest::Method::POST,
            "helpdesk",
            "/v1/tokens/hotp-1/lost",
            Some(
                json!({"replacement": {"id": "t-1", "kind": "totp"}, "lifetime_seconds": 99999999}),
            ),
            422,
            "invalid-value",
        ),
        (
            reqwest::Method::POST,
            "helpdesk",
            "/v1/tokens/hotp-1/lost",
            Some(json!({"replacement": {"id": "bad id", "kind": "totp"}})),
            400,
            "invalid-token-id",
        ),
        (
            reqwest::Method::POST,
            "admin",
            "/v1/tokens/hotp-1/replace",
            Some(json!({})),
            422,
            "invalid-value",
        ),
        (
            reqwest::Method::POST,
            "admin",
            "/v1/tokens/hotp-1/replace",
            Some(json!({"fresh": {"id": "hotp-1", "kind": "totp"}})),
            422,
            "invalid-value",
        ),
        (
            reqwest::Method::POST,
            "admin",
            "/v1/tokens/hotp-1/replace",
            Some(json!({"factory": {"serial": "F-1", "secret_hex": "zz", "kind": "hotp"}})),
            422,
            "invalid-value",
        ),
        (
            reqwest::Method::POST,
            "admin",
            "/v1/tokens/nobody/revoke",
            None,
            404,
            "token-not-found",
        ),
    ];
    for (method, role, path, body, status, kind) in cases {
        let label = format!("{method} {path} {body:?}");
        let mut request = harness
            .http
            .request(method, harness.url(path))
            .bearer_auth(harness.key(role));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{label}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{label}"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(
            problem["type"],
            format!("urn:otpfob:problem:{kind}"),
            "{label}: {problem}"
        );
    }
    // A body that is not JSON: 415.
    let response = harness
        .http
        .post(harness.url("/v1/tokens/hotp-1/lost"))
        .bearer_auth(harness.key("helpdesk"))
        .body("lost")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    // Nothing of the above changed the token.
    let (_, token) = call(
        &harness,
        reqwest::Method::GET,
        "admin",
        "/v1/tokens/hotp-1",
        None,
    )
    .await;
    assert_eq!(token["status"], "active");
    assert!(token.get("owner").is_none());
}

/// The OpenAPI document describes every life-cycle endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_the_life_cycle() {
    let harness = Harness::start(Backend::Memory).await;
    let document: Value = harness
        .http
        .get(harness.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = &document["paths"];
    for (path, method) in [
        ("/v1/tokens/{id}/owner", "put"),
        ("/v1/tokens/{id}/owner", "delete"),
        ("/v1/customers/{customer}/tokens", "get"),
        ("/v1/tokens/{id}/lost", "post"),
        ("/v1/tokens/{id}/found", "post"),
        ("/v1/tokens/{id}/revoke", "post"),
        ("/v1/tokens/{id}/replace", "post"),
        ("/v1/customers/{customer}/verify", "post"),
        ("/v1/customers/{customer}/lookup", "post"),
        ("/v1/factory-records", "post"),
        ("/v1/imports", "post"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
}

/// The ids of a list page of `path`, as the helpdesk reads it.
async fn listed(harness: &Harness, path: &str) -> Vec<String> {
    let (status, page) = call(harness, reqwest::Method::GET, "helpdesk", path, None).await;
    assert_eq!(status, 200, "{path}: {page}");
    page["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|token| token["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The list's status filter knows every life-cycle status, and `expired` finds an
/// active token whose validity period has ended at the server's clock (and `active`
/// leaves it out); `customer` lists one customer's tokens.
async fn the_list_filters_by_life_cycle_and_customer(backend: Backend) {
    let harness = Harness::start(backend).await;
    for id in ["life-active", "life-lost", "life-revoked", "life-spare"] {
        harness.enrol_hotp(id).await;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    harness
        .server
        .state()
        .blocking(move |validator| -> Result<(), otpfob::ValidatorError> {
            let id = |text: &str| otpfob::TokenId::new(text).unwrap();
            let ended = otpfob::validator::Validity::new(
                Some(otpfob::UnixTime::from_secs(now - 3600)),
                Some(otpfob::UnixTime::from_secs(now - 60)),
            )?;
            validator.enrol(
                otpfob::Enrolment::new(
                    id("life-ended"),
                    otpfob::Secret::from_bytes(support::SECRET).unwrap(),
                    otpfob::HotpParameters::default(),
                )
                .with_validity(ended),
            )?;
            validator.report_lost(&id("life-lost"))?;
            validator.revoke(&id("life-revoked"))?;
            let customer = otpfob::validator::CustomerRef::new("C-1001").unwrap();
            validator.assign_owner(&id("life-active"), &customer)?;
            validator.assign_owner(&id("life-lost"), &customer)?;
            Ok(())
        })
        .await
        .unwrap()
        .unwrap();
    let of = |status: &str| format!("/v1/tokens?prefix=life-&status={status}");
    assert_eq!(
        listed(&harness, &of("active")).await,
        ["life-active", "life-spare"]
    );
    assert_eq!(listed(&harness, &of("lost")).await, ["life-lost"]);
    assert_eq!(listed(&harness, &of("revoked")).await, ["life-revoked"]);
    assert_eq!(listed(&harness, &of("expired")).await, ["life-ended"]);
    let (_, page) = call(
        &harness,
        reqwest::Method::GET,
        "helpdesk",
        &of("expired"),
        None,
    )
    .await;
    assert_eq!(page["tokens"][0]["status"], "active");
    assert_eq!(page["tokens"][0]["expired"], true);
    assert_eq!(
        listed(&harness, "/v1/tokens?customer=C-1001").await,
        ["life-active", "life-lost"]
    );
    assert_eq!(
        listed(&harness, "/v1/tokens?customer=C-1001&status=lost").await,
        ["life-lost"]
    );
    assert_eq!(
        listed(
            &harness,
            "/v1/tokens?customer=C-1001&limit=1&after=life-active"
        )
        .await,
        ["life-lost"]
    );
    assert!(
        listed(&harness, "/v1/tokens?customer=C-9999")
            .await
            .is_empty()
    );
    let (status, problem) = call(
        &harness,
        reqwest::Method::GET,
        "helpdesk",
        "/v1/tokens?customer=with%20space",
        None,
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["field"], "customer");
    harness.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_filters_by_life_cycle_and_customer_on_sqlite() {
    the_list_filters_by_life_cycle_and_customer(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_filters_by_life_cycle_and_customer_on_postgres() {
    the_list_filters_by_life_cycle_and_customer(Backend::Postgres).await;
}
