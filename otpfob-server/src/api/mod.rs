//! The routes, the API description and the public endpoints.

pub mod admin;
pub mod lifecycle;
pub mod unlock;
pub mod validation;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use otpfob::TokenId;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::app::AppState;
use crate::auth::{Caller, MetricsReader};
use crate::layers;
use crate::observe::{RequestIds, count_requests, prometheus};
use crate::problem::Problem;

/// The header that carries the request id, in both directions.
pub const REQUEST_ID: &str = "x-request-id";

/// The OpenAPI 3.1 description of the API.
#[derive(OpenApi)]
#[openapi(
    info(title = "otpfob-server", description = "One-time password validation and token administration. Any request may carry an `x-audit-reason` header (1 to 200 characters, no control or invisible character; otherwise a 400 `invalid-audit-reason` problem and nothing is done): the audit events it causes record it as their `given_reason`."),
    paths(
        validation::verify, validation::resync, validation::issue_challenge,
        validation::verify_response, validation::issue_signature_challenge,
        validation::verify_signature,
        admin::enrol, admin::enrol_factory, admin::import, admin::list, admin::show,
        admin::unlock, admin::disable, admin::enable, admin::set_pin, admin::clear_pin,
        admin::delete, admin::reseal, unlock::unlock_code, admin::audit, admin::audit_chains, admin::audit_chain,
        lifecycle::assign_owner, lifecycle::unassign_owner, lifecycle::customer_tokens,
        lifecycle::report_lost, lifecycle::emergency_codes, lifecycle::report_found,
        lifecycle::revoke, lifecycle::replace,
        lifecycle::verify_customer, lifecycle::lookup,
    ),
    components(schemas(Problem)),
    modifiers(&Security),
    tags((name = "validation", description = "Codes, OCRA challenges, transaction signatures"),
         (name = "administration", description = "Enrolment, help desk, audit"),
         (name = "lifecycle", description = "Owners, lost and found, revocation, replacement, the helpdesk's code lookup")),
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "client_certificate",
            SecurityScheme::MutualTls {
                description: Some(
                    "A TLS client certificate registered in the clients file".to_owned(),
                ),
                extensions: None,
            },
        );
    }
}

async fn openapi() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(_) => Problem::internal().into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    let probe = TokenId::new("readyz-probe");
    let answer = state
        .blocking(move |validator| match probe {
            Ok(id) => validator
                .store()
                .load(&id)
                .map(|_| ())
                .map_err(|error| error.to_string()),
            Err(error) => Err(error.to_string()),
        })
        .await;
    match answer {
        Ok(Ok(())) => "ready\n".into_response(),
        Ok(Err(error)) => {
            tracing::warn!(%error, "store not ready");
            Problem::unavailable("the token store does not answer").into_response()
        }
        Err(problem) => problem.into_response(),
    }
}

/// The Prometheus metrics, for clients with the `metrics` role only: the counts of
/// verifications by outcome and reason and the request rates by route are operational
/// intelligence an attacker should not get for free.
async fn metrics_text(_caller: Caller<MetricsReader>, State(state): State<AppState>) -> Response {
    let mut text = prometheus().render();
    text.push_str(&crate::observe::group_commit_text(
        state.group_commit_statistics(),
    ));
    if let Some(notifier) = state.notifier().cloned() {
        match tokio::task::spawn_blocking(move || notifier.counts()).await {
            Ok(Ok(counts)) => text.push_str(&crate::notify::metrics_text(&counts)),
            Ok(Err(error)) => tracing::error!(%error, "notification outbox"),
            Err(_) => {}
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn not_found() -> Problem {
    Problem::route_not_found()
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
    )
}

/// The whole application: routes and layers.
pub fn router(state: AppState) -> Router {
    let _ = prometheus();
    let limits = state.config().limits.clone();
    let limiter = Arc::new(layers::RateLimiter::new(
        limits.rate_per_second,
        limits.rate_burst,
    ));
    let permits = Arc::new(tokio::sync::Semaphore::new(
        limits.concurrent_requests.max(1),
    ));
    let request_id = HeaderName::from_static(REQUEST_ID);

    let api = Router::new()
        .route("/v1/tokens", post(admin::enrol).get(admin::list))
        .route("/v1/factory-records", post(admin::enrol_factory))
        .route(
            "/v1/imports",
            post(admin::import).layer(DefaultBodyLimit::max(limits.import_bytes)),
        )
        .route("/v1/tokens/{id}", get(admin::show).delete(admin::delete))
        .route("/v1/tokens/{id}/verify", post(validation::verify))
        .route("/v1/tokens/{id}/resync", post(validation::resync))
        .route(
            "/v1/tokens/{id}/challenge",
            post(validation::issue_challenge),
        )
        .route(
            "/v1/tokens/{id}/challenge/response",
            post(validation::verify_response),
        )
        .route(
            "/v1/tokens/{id}/signature-challenge",
            post(validation::issue_signature_challenge),
        )
        .route(
            "/v1/tokens/{id}/signature",
            post(validation::verify_signature),
        )
        .route("/v1/tokens/{id}/unlock", post(admin::unlock))
        .route("/v1/tokens/{id}/unlock-code", post(unlock::unlock_code))
        .route("/v1/tokens/{id}/disable", post(admin::disable))
        .route("/v1/tokens/{id}/enable", post(admin::enable))
        .route(
            "/v1/tokens/{id}/pin",
            put(admin::set_pin).delete(admin::clear_pin),
        )
        .route(
            "/v1/tokens/{id}/owner",
            put(lifecycle::assign_owner).delete(lifecycle::unassign_owner),
        )
        .route("/v1/tokens/{id}/lost", post(lifecycle::report_lost))
        .route(
            "/v1/tokens/{id}/emergency-codes",
            post(lifecycle::emergency_codes),
        )
        .route("/v1/tokens/{id}/found", post(lifecycle::report_found))
        .route("/v1/tokens/{id}/revoke", post(lifecycle::revoke))
        .route("/v1/tokens/{id}/replace", post(lifecycle::replace))
        .route(
            "/v1/customers/{customer}/tokens",
            get(lifecycle::customer_tokens),
        )
        .route(
            "/v1/customers/{customer}/verify",
            post(lifecycle::verify_customer),
        )
        .route("/v1/customers/{customer}/lookup", post(lifecycle::lookup))
        .route("/v1/tokens/{id}/audit", get(admin::audit))
        .route("/v1/tokens/{id}/audit/chain", get(admin::audit_chain))
        .route("/v1/audit/chains", get(admin::audit_chains))
        .route("/v1/reseal", post(admin::reseal))
        .route("/v1/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .merge(crate::console::router(limits.import_bytes))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        // Innermost first: rate limit by the client that authentication found.
        .layer(axum::middleware::from_fn_with_state(
            limiter,
            layers::rate_limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            layers::authenticate,
        ))
        .layer(axum::middleware::from_fn(count_requests))
        .layer(axum::middleware::from_fn_with_state(
            permits,
            layers::limit_concurrency,
        ))
        .layer(axum::middleware::from_fn_with_state(
            limits.request_timeout(),
            layers::timeout,
        ))
        .with_state(state);

    api.layer(axum::middleware::from_fn(crate::actor::request_scope))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                let id = request
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!(
                    "request",
                    method = %request.method(),
                    path = request.uri().path(),
                    request_id = id,
                    client = tracing::field::Empty,
                )
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, RequestIds::new()))
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    response
}
