//! The helpdesk's answer to a locked fob's unlock challenge
//! (`POST /v1/tokens/{id}/unlock-code`): the library's `Validator::unlock_code`,
//! parsed, authorised and mapped.
//!
//! # Security
//!
//! The code opens the fob's PIN gate: it is in the response body only (with
//! `Cache-Control: no-store`), never in a URL, a log line or the audit event, and
//! neither is the challenge. An unknown token and a token without an unlock key get
//! the same problem, so the endpoint tells nobody which fobs the bank can unlock.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use otpfob::device::UnlockChallenge;
use otpfob::{StoreError, ValidatorError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::admin::no_store;
use crate::app::{AppState, admin_problem};
use crate::auth::{Caller, Helpdesk};
use crate::extract::{ApiJson, TokenPath};
use crate::problem::Problem;

/// The challenge a locked fob shows, as the customer reads it out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnlockCodeRequest {
    /// 8 digits, with at most one space or dash between two groups (`1234 5678`).
    pub challenge: String,
}

/// The unlock code that answers the challenge: for the customer to type into the fob.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnlockCodeResponse {
    /// 8 digits; shown once, never stored.
    pub unlock_code: String,
}

/// The problem for an unknown token and for a token without an unlock key alike.
#[must_use]
pub fn no_unlock_key() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no-unlock-key",
        "No unlock key for this token",
    )
    .detail("the bank holds no unlock key for a token of this id")
}

/// Parses the challenge, or a 422 problem naming the field.
pub(crate) fn parse_challenge(text: &str) -> Result<UnlockChallenge, Problem> {
    text.parse().map_err(|_| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-unlock-challenge",
            "Invalid unlock challenge",
        )
        // The parser's message, not the input: a mistyped challenge may be close to the
        // real one.
        .detail(
            "an unlock challenge is 8 digits, with at most one space or dash between two groups",
        )
        .field("challenge")
    })
}

/// Maps the library's refusal: an unknown token and one without an unlock key alike.
///
/// Every refusal is a warning in the server's log, under the request's span (its id
/// and the client): a refused request writes no audit event, and a caller asking for
/// the unlock code of a fob reported lost, revoked or unknown is what a bank's
/// monitoring looks for. The error names the token and why, never the challenge.
pub(crate) fn unlock_problem(error: &ValidatorError) -> Problem {
    tracing::warn!(%error, "unlock code refused");
    match error {
        ValidatorError::Store(StoreError::NotEnrolled { .. })
        | ValidatorError::NoUnlockKey { .. } => no_unlock_key(),
        other => admin_problem(other),
    }
}

/// Answer the unlock challenge a locked fob shows, from the fob's unlock key (sealed
/// when the fob was enrolled from its factory record). Audited as `unlock_code` with
/// the caller and the `x-audit-reason` header's reason, never the challenge or the
/// code. An unknown token and a token without an unlock key get the same 404
/// `no-unlock-key` problem; a revoked token 409.
#[utoipa::path(post, path = "/v1/tokens/{id}/unlock-code", tag = "administration",
    params(("id" = String, Path, description = "Token id")),
    request_body = UnlockCodeRequest,
    responses((status = 200, body = UnlockCodeResponse), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn unlock_code(
    caller: Caller<Helpdesk>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
    ApiJson(request): ApiJson<UnlockCodeRequest>,
) -> Result<Response, Problem> {
    let challenge = parse_challenge(&request.challenge)?;
    let actor = caller.client.name.clone();
    let code = state
        .blocking(move |validator| {
            crate::actor::acting_as(&actor, || validator.unlock_code(&id, &challenge))
        })
        .await?
        .map_err(|error| unlock_problem(&error))?;
    Ok(no_store(
        StatusCode::OK,
        UnlockCodeResponse {
            unlock_code: code.to_string(),
        },
    ))
}
