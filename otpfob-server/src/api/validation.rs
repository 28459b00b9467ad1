//! The validation API: codes, resync, OCRA challenges and transaction signatures.
//!
//! # Security
//!
//! Every rejection is the same answer: 200 with `{"verdict":"rejected"}`, for a wrong
//! code, a replay, a wrong PIN, a locked, disabled or unknown token, a store failure.
//! The reason goes to the audit trail, the log and the metrics only.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use otpfob::{
    Acceptance, Rejected, TimeSource as _, ValidatorError,
    ocra::{Challenge, Currency, OcraSuite, SigningNonce, Transaction},
    validator::IssuedChallenge,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::{AppState, admin_problem};
use crate::auth::{Caller, Helpdesk, Signer, Verifier};
use crate::extract::{ApiJson, TokenPath, check_code, check_response};
use crate::problem::Problem;

/// A code to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The code as the customer typed it (`"123 456"` is fine).
    pub code: String,
    /// The server-side PIN, for a token that has one.
    #[serde(default)]
    pub pin: Option<String>,
}

/// Two consecutive codes to resynchronise a token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResyncRequest {
    /// The first code.
    pub first: String,
    /// The next code.
    pub second: String,
    /// The server-side PIN, for a token that has one.
    #[serde(default)]
    pub pin: Option<String>,
}

/// An OCRA response to the open login challenge.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseRequest {
    /// The response as typed.
    pub response: String,
    /// The server-side PIN, for a token that has one.
    #[serde(default)]
    pub pin: Option<String>,
}

/// A transfer, exactly as it will be executed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    /// The amount in minor units (cents).
    pub amount_minor: u64,
    /// The ISO 4217 currency code, e.g. `EUR`.
    pub currency: String,
    /// The beneficiary's account (an IBAN).
    pub beneficiary: String,
    /// The payment reference, if any.
    #[serde(default)]
    pub reference: Option<String>,
}

/// A request for a signature challenge.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureChallengeRequest {
    /// The transfer to be signed.
    pub transaction: TransferBody,
}

/// A transfer's signature.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureRequest {
    /// The transfer, exactly as in the challenge request.
    pub transaction: TransferBody,
    /// The signature as typed.
    pub signature: String,
    /// The server-side PIN, for a token that has one.
    #[serde(default)]
    pub pin: Option<String>,
}

/// The answer to a code, a resync, a response or a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VerdictBody {
    /// `accepted` or `rejected`; nothing else is said about a rejection.
    pub verdict: VerdictKind,
}

/// Accepted or rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    /// Accepted: the code is now spent.
    Accepted,
    /// Rejected, for a reason only the audit trail knows.
    Rejected,
}

/// A challenge to show the customer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChallengeBody {
    /// The challenge to type into the fob.
    pub challenge: String,
    /// When it expires, in seconds since the Unix epoch.
    pub expires_at: i64,
}

fn no_store(body: impl Serialize) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The one answer to every verification: the same bytes for every rejection.
pub(crate) fn verdict(operation: &'static str, result: Result<Acceptance, Rejected>) -> Response {
    let kind = match result {
        Ok(_) => {
            metrics::counter!("otpfob_verifications_total", "operation" => operation, "outcome" => "accepted", "reason" => "none").increment(1);
            VerdictKind::Accepted
        }
        Err(rejected) => {
            // No log line of its own: the validator's audit event for this rejection
            // is already in the log (`LogSink`), with its reason, token and client.
            let reason = rejected.reason().as_str();
            if matches!(rejected.reason(), otpfob::RejectReason::Locked) {
                metrics::counter!("otpfob_lock_events_total").increment(1);
            }
            if matches!(rejected.reason(), otpfob::RejectReason::Contention) {
                metrics::counter!("otpfob_cas_conflicts_total").increment(1);
            }
            metrics::counter!("otpfob_verifications_total", "operation" => operation, "outcome" => "rejected", "reason" => reason).increment(1);
            VerdictKind::Rejected
        }
    };
    no_store(VerdictBody { verdict: kind })
}

fn transaction(body: &TransferBody) -> Result<Transaction, Problem> {
    let invalid = |field: &str, detail: String| {
        Problem::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-transaction",
            "Invalid transaction",
        )
        .detail(detail)
        .field(format!("transaction.{field}"))
    };
    let currency =
        Currency::new(&body.currency).map_err(|error| invalid("currency", error.to_string()))?;
    Transaction::new(
        body.amount_minor,
        currency,
        &body.beneficiary,
        body.reference.as_deref(),
    )
    .map_err(|error| invalid("beneficiary", error.to_string()))
}

/// Verify a one-time code.
#[utoipa::path(post, path = "/v1/tokens/{id}/verify", tag = "validation",
    params(("id" = String, Path, description = "Token id")),
    request_body = VerifyRequest,
    responses((status = 200, body = VerdictBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn verify(
    caller: Caller<Verifier>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
    ApiJson(request): ApiJson<VerifyRequest>,
) -> Result<Response, Problem> {
    check_code("code", &request.code)?;
    let actor = caller.client.name.clone();
    let result = state
        .blocking(move |validator| {
            crate::actor::acting_as(&actor, || {
                validator.verify(&id, &request.code, request.pin.as_deref())
            })
        })
        .await?;
    Ok(verdict("verify", result))
}

/// Resynchronise a token from two consecutive codes.
#[utoipa::path(post, path = "/v1/tokens/{id}/resync", tag = "validation",
    params(("id" = String, Path, description = "Token id")),
    request_body = ResyncRequest,
    responses((status = 200, body = VerdictBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn resync(
    caller: Caller<Helpdesk>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
    ApiJson(request): ApiJson<ResyncRequest>,
) -> Result<Response, Problem> {
    check_code("first", &request.first)?;
    check_code("second", &request.second)?;
    let actor = caller.client.name.clone();
    let result = state
        .blocking(move |validator| {
            crate::actor::acting_as(&actor, || {
                validator.resync(&id, &request.first, &request.second, request.pin.as_deref())
            })
        })
        .await?;
    Ok(verdict("resync", result))
}

/// A decoy for a token that is unknown or answers no challenges: a challenge of the
/// most common suite's form, so that the answer does not tell the caller which tokens
/// exist; any response to it is rejected like any wrong one.
fn decoy(state: &AppState, transaction: Option<&Transaction>) -> Result<IssuedChallenge, Problem> {
    let suite: OcraSuite = "OCRA-1:HOTP-SHA1-8:QN08"
        .parse()
        .map_err(|_| Problem::internal())?;
    let challenge = match transaction {
        None => Challenge::generate(suite.question()).map_err(|_| Problem::internal())?,
        Some(transaction) => {
            let nonce = SigningNonce::generate().map_err(|_| Problem::internal())?;
            transaction.signature_challenge(&suite, &nonce)
        }
    };
    let now = state.validator().clock().now();
    Ok(IssuedChallenge {
        challenge,
        expires_at: now.plus(state.validator().policy().challenge_lifetime),
        transaction: None,
    })
}

fn challenge_answer(
    state: &AppState,
    result: Result<IssuedChallenge, ValidatorError>,
    transaction: Option<&Transaction>,
) -> Result<Response, Problem> {
    let issued = match result {
        Ok(issued) => issued,
        Err(
            error @ (ValidatorError::NoOcra { .. }
            | ValidatorError::Store(otpfob::StoreError::NotEnrolled { .. })),
        ) => {
            tracing::info!(%error, "challenge refused; decoy answered");
            decoy(state, transaction)?
        }
        Err(error) => return Err(admin_problem(&error)),
    };
    Ok(no_store(ChallengeBody {
        challenge: issued.challenge.as_str().to_owned(),
        expires_at: issued.expires_at.as_secs(),
    }))
}

/// Issue an OCRA login challenge.
#[utoipa::path(post, path = "/v1/tokens/{id}/challenge", tag = "validation",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 200, body = ChallengeBody), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn issue_challenge(
    caller: Caller<Verifier>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
) -> Result<Response, Problem> {
    let actor = caller.client.name.clone();
    let result = state
        .blocking(move |validator| {
            crate::actor::acting_as(&actor, || validator.issue_challenge(&id))
        })
        .await?;
    challenge_answer(&state, result, None)
}

/// Verify the response to the open OCRA login challenge.
#[utoipa::path(post, path = "/v1/tokens/{id}/challenge/response", tag = "validation",
    params(("id" = String, Path, description = "Token id")),
    request_body = ResponseRequest,
    responses((status = 200, body = VerdictBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn verify_response(
    caller: Caller<Verifier>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
    ApiJson(request): ApiJson<ResponseRequest>,
) -> Result<Response, Problem> {
    check_response("response", &request.response)?;
    let actor = caller.client.name.clone();
    let result = state
        .blocking(move |validator| {
            crate::actor::acting_as(&actor, || {
                validator.verify_response(&id, &request.response, request.pin.as_deref())
            })
        })
        .await?;
    Ok(verdict("verify_response", result))
}

/// Issue a transaction-signing challenge for a transfer.
#[utoipa::path(post, path = "/v1/tokens/{id}/signature-challenge", tag = "validation",
    params(("id" = String, Path, description = "Token id")),
    request_body = SignatureChallengeRequest,
    responses((status = 200, body = ChallengeBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn issue_signature_challenge(
    caller: Caller<Signer>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
    ApiJson(request): ApiJson<SignatureChallengeRequest>,
) -> Result<Response, Problem> {
    let transfer = transaction(&request.transaction)?;
    let actor = caller.client.name.clone();
    let for_job = transfer.clone();
    let result = state
        .blocking(move |validator| {
            crate::actor::acting_as(&actor, || {
                validator.issue_signature_challenge(&id, &for_job)
            })
        })
        .await?;
    challenge_answer(&state, result, Some(&transfer))
}

/// Verify a transfer's signature.
#[utoipa::path(post, path = "/v1/tokens/{id}/signature", tag = "validation",
    params(("id" = String, Path, description = "Token id")),
    request_body = SignatureRequest,
    responses((status = 200, body = VerdictBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn verify_signature(
    caller: Caller<Signer>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
    ApiJson(request): ApiJson<SignatureRequest>,
) -> Result<Response, Problem> {
    check_response("signature", &request.signature)?;
    let transfer = transaction(&request.transaction)?;
    let actor = caller.client.name.clone();
    let result = state
        .blocking(move |validator| {
            crate::actor::acting_as(&actor, || {
                validator.verify_signature(
                    &id,
                    &transfer,
                    &request.signature,
                    request.pin.as_deref(),
                )
            })
        })
        .await?;
    Ok(verdict("verify_signature", result))
}
