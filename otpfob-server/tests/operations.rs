//! Operations: the API description, request ids, the per-client rate limit, health,
//! metrics.

mod support;

use serde_json::Value;
use support::{Backend, Harness, Setup, hotp_code};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_description_is_3_1_and_lists_every_operation() {
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
    assert_eq!(document["openapi"], "3.1.0");
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|path| path.as_object().unwrap().len())
        .sum();
    assert_eq!(operations, 32);
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    assert!(document["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_a_request_id() {
    let harness = Harness::start(Backend::Memory).await;
    let first = harness.verify("hotp-1", "000000").await;
    let second = harness.verify("hotp-1", "000000").await;
    let id = |response: &reqwest::Response| {
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_ne!(id(&first), id(&second));
    // A caller's own id is echoed, for its logs to meet ours.
    let response = harness
        .http
        .get(harness.url("/nowhere"))
        .header("x-request-id", "login-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-request-id"], "login-42");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_rate_gets_429_and_others_are_served() {
    let mut setup = Setup::new(Backend::Memory);
    setup.config.limits.rate_per_second = 1;
    setup.config.limits.rate_burst = 5;
    let harness = Harness::start_with(setup).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(harness.verify("hotp-1", "000000").await.status().as_u16());
    }
    assert_eq!(&statuses[..5], [200; 5]);
    assert!(
        statuses[5..].iter().all(|status| *status == 429),
        "{statuses:?}"
    );
    let limited = harness.verify("hotp-1", "000000").await;
    assert!(limited.headers().contains_key("retry-after"));
    // Another client has its own budget.
    let response = harness
        .http
        .get(harness.url("/v1/tokens/hotp-1"))
        .bearer_auth(harness.key("helpdesk"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_verifications_by_outcome_and_reason() {
    let harness = Harness::start(Backend::Memory).await;
    harness.verify("hotp-1", &hotp_code(0)).await;
    harness.verify("hotp-1", "000000").await;
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
    assert!(
        text.contains(
            r#"otpfob_verifications_total{operation="verify",outcome="accepted",reason="none"}"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"outcome="rejected",reason="wrong_code""#),
        "{text}"
    );
    assert!(text.contains(r#"otpfob_http_requests_total{route="/v1/tokens/{id}/verify",method="POST",status="200"}"#), "{text}");
    assert!(text.contains("otpfob_store_call_seconds"), "{text}");
    let ready = harness
        .http
        .get(harness.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

/// `/metrics` answers only the `metrics` role: 401 without a valid key, 403 for every
/// client without the role, 200 for the scraper (and for a client holding every role).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_metrics_role() {
    let harness = Harness::start(Backend::Memory).await;
    let status = |key: Option<String>| {
        let mut request = harness.http.get(harness.url("/metrics"));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(None).await, 401);
    assert_eq!(status(Some("ofk_not-a-key-anyone-has".into())).await, 401);
    for role in ["verify", "sign", "helpdesk", "admin", "audit"] {
        assert_eq!(status(Some(harness.key(role))).await, 403, "{role}");
    }
    assert_eq!(status(Some(harness.key("metrics"))).await, 200);
    assert_eq!(status(Some(harness.key("all"))).await, 200);
}

/// On SQLite with group commit, `/metrics` has the histogram of writes per commit,
/// each store call's latency, and the compare-and-swaps that lost a race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_export_group_commit_batches_store_latency_and_conflicts() {
    let harness = Harness::start(Backend::Sqlite).await;
    // 32 racing wrong codes on one token: their compare-and-swaps share commits and
    // some lose to each other and are retried.
    let racing: Vec<_> = (0..32)
        .map(|_| {
            let request = harness
                .http
                .post(harness.url("/v1/tokens/hotp-1/verify"))
                .bearer_auth(harness.key("verify"))
                .json(&serde_json::json!({ "code": "000000" }));
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    for task in racing {
        assert_eq!(task.await.unwrap(), 200);
    }
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
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    let statistics = harness.server.state().group_commit_statistics().unwrap();
    // The enrolment and the 32 rejections (each one audited write) at least.
    assert!(
        value("otpfob_group_commit_batch_size_sum") >= 33.0,
        "{text}"
    );
    assert!(
        value("otpfob_group_commit_batch_size_count") >= 1.0,
        "{text}"
    );
    assert!(
        value("otpfob_group_commit_batch_size_count") <= statistics.commits as f64,
        "{text}"
    );
    assert_eq!(
        value("otpfob_group_commit_batch_size_bucket{le=\"+Inf\"}"),
        value("otpfob_group_commit_batch_size_count")
    );
    assert!(text.contains("# TYPE otpfob_group_commit_batch_size histogram"));
    assert!(
        text.contains(r#"otpfob_store_seconds{operation="compare_and_swap",quantile="#),
        "{text}"
    );
    assert!(
        text.contains(r#"otpfob_store_seconds{operation="load",quantile="#),
        "{text}"
    );
    assert!(value("otpfob_store_cas_conflicts_total") >= 1.0, "{text}");
}

/// The list endpoint pages through the store with `Store::list_page` (keyset pages)
/// rather than `Store::list` (every id in memory at once), and its pages and `next`
/// cursor walk every token once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_reads_keyset_pages_of_the_store() {
    let harness = Harness::start(Backend::Sqlite).await;
    for id in ["list-b", "list-a", "list-c"] {
        harness.enrol_hotp(id).await;
    }
    let mut seen = Vec::new();
    let mut path = "/v1/tokens?limit=1&prefix=list-".to_owned();
    loop {
        let page: Value = harness
            .http
            .get(harness.url(&path))
            .bearer_auth(harness.key("admin"))
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
            Some(next) => path = format!("/v1/tokens?limit=1&prefix=list-&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen, ["list-a", "list-b", "list-c"]);
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
    // (Whether `list` ran too cannot be told here: the metrics are the process's,
    // and the key rotation test's reseal lists every token.)
    assert!(text.contains(r#"operation="list_page""#), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_reseals_every_token_under_the_new_key() {
    use otpfob_server::config::{SealingKeyConfig, write_private};
    let setup = Setup::new(Backend::Sqlite);
    let mut config = setup.config.clone();
    let harness = Harness::start_with(setup).await;
    harness.enrol_hotp("hotp-2").await;
    let Harness {
        setup,
        server,
        http,
        ..
    } = harness;
    server.stop().await;

    // Key 2 becomes current; key 1 still opens the old seals.
    let second = setup.path().join("sealing-key-2");
    write_private(
        &second,
        b"ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
    )
    .unwrap();
    config.sealing.keys.push(SealingKeyConfig {
        id: 2,
        file: Some(second),
        env: None,
        pkcs11: None,
    });
    config.sealing.current = 2;
    let server = otpfob_server::start(config.clone()).await.unwrap();
    let base = format!("http://{}", server.address());
    let report: Value = http
        .post(format!("{base}/v1/reseal"))
        .bearer_auth(setup.key("admin"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["resealed"], 2);
    let again: Value = http
        .post(format!("{base}/v1/reseal"))
        .bearer_auth(setup.key("admin"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["resealed"], 0);
    server.stop().await;

    // Without key 1, every token still verifies.
    config.sealing.keys.retain(|key| key.id == 2);
    let server = otpfob_server::start(config).await.unwrap();
    let base = format!("http://{}", server.address());
    for token in ["hotp-1", "hotp-2"] {
        let verdict: Value = http
            .post(format!("{base}/v1/tokens/{token}/verify"))
            .bearer_auth(setup.key("verify"))
            .json(&serde_json::json!({"code": hotp_code(0)}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(verdict["verdict"], "accepted", "{token}");
    }
    server.stop().await;
}

/// Issue 15, items 8 and 9: an audit event names the API client, its kind, the channel,
/// the request id the server answered with and the node; the chain API reports every
/// chain intact, and the first broken link after the database is edited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_events_carry_their_request_and_chains_are_checked() {
    let harness = Harness::start(Backend::Sqlite).await;
    let response = harness
        .http
        .post(harness.url("/v1/tokens/hotp-1/verify"))
        .bearer_auth(harness.key("verify"))
        .header("x-request-id", "req-trail-1")
        .json(&serde_json::json!({ "code": "000000" }))
        .send()
        .await
        .unwrap();
    // A rejection is a 200 with the verdict in the body, as every answer of verify.
    assert_eq!(response.status().as_u16(), 200);
    let get = |path: &str| {
        harness
            .http
            .get(harness.url(path))
            .bearer_auth(harness.key("audit"))
            .send()
    };
    let trail: Value = get("/v1/tokens/hotp-1/audit")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let last = trail.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["operation"], "verify");
    assert_eq!(last["actor"], "verify");
    assert_eq!(last["actor_kind"], "api_client");
    assert_eq!(last["channel"], "api");
    assert_eq!(last["request_id"], "req-trail-1");
    assert!(
        last["node"].as_str().is_some_and(|node| !node.is_empty()),
        "{last}"
    );
    assert_eq!(last["chained"], true);
    let chains: Value = get("/v1/audit/chains").await.unwrap().json().await.unwrap();
    assert_eq!(chains[0]["token"], "hotp-1");
    assert_eq!(chains[0]["intact"], true, "{chains}");
    // The rejection's row edited into an acceptance, behind the server's back.
    let database = match &harness.setup.config.store {
        otpfob_server::config::StoreConfig::Sqlite { path, .. } => path.clone(),
        _ => unreachable!("a SQLite harness"),
    };
    rusqlite::Connection::open(&database)
        .unwrap()
        .execute(
            "UPDATE audit SET outcome = 'accepted', reason = NULL WHERE operation = 'verify'",
            [],
        )
        .unwrap();
    let chain: Value = get("/v1/tokens/hotp-1/audit/chain")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(chain["intact"], false, "{chain}");
    assert_eq!(chain["broken"]["position"], 1);
    assert_eq!(chain["broken"]["kind"], "link_mismatch");
}

/// Issue 14, item 4: an API client gives the reason for an administrative request in
/// the `x-audit-reason` header, and the audit event carries it in its own field; a
/// reason the library refuses (a right-to-left override) is a 400 problem and the
/// request is not carried out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_reason_header_is_recorded_and_a_spoofing_one_refused() {
    let harness = Harness::start(Backend::Sqlite).await;
    let disable = |reason: &'static str| {
        harness
            .http
            .post(harness.url("/v1/tokens/hotp-1/disable"))
            .bearer_auth(harness.key("helpdesk"))
            .header("x-audit-reason", reason)
            .send()
    };
    let state = || async {
        harness
            .http
            .get(harness.url("/v1/tokens/hotp-1"))
            .bearer_auth(harness.key("helpdesk"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };

    let refused = disable("fraud\u{202e}detceted").await.unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["type"], "urn:otpfob:problem:invalid-audit-reason");
    assert_eq!(state().await["status"], "active", "nothing was done");

    let done = disable("customer called: phone stolen").await.unwrap();
    assert!(done.status().is_success(), "{}", done.status());
    assert_eq!(state().await["status"], "disabled");
    let trail: Value = harness
        .http
        .get(harness.url("/v1/tokens/hotp-1/audit"))
        .bearer_auth(harness.key("audit"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events = trail.as_array().unwrap();
    let last = events.last().unwrap();
    assert_eq!(last["operation"], "disable");
    assert_eq!(last["actor"], "helpdesk");
    assert_eq!(last["given_reason"], "customer called: phone stolen");
    assert_eq!(
        events
            .iter()
            .filter(|event| event["operation"] == "disable")
            .count(),
        1,
        "the refused request wrote no event: {trail}"
    );
    harness.server.stop().await;
}
