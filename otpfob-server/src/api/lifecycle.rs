//! The life-cycle API: a token's owner, a customer's tokens, lost and found (with a
//! temporary replacement), revocation, replacement, a customer's verification and
//! the helpdesk's lookup. Every rule is the library's (`Validator::report_lost`,
//! `replace`, `verify_customer`, ...); these handlers parse, authorise and map.
//!
//! # Security
//!
//! A customer's verification answers as the token verification does: 200 with
//! `{"verdict":"rejected"}` for every rejection, an unknown customer included, the
//! same bytes apart from the request id. The lookup, which says whether a code is a
//! customer's, is for the helpdesk role only.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use otpfob::validator::{CustomerRef, MAX_EMERGENCY_CODES, Status};
use otpfob::{RejectReason, TimeSource as _};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::admin::{
    EnrolRequest, EnrolResponse, FactoryRequest, FreshToken, TokenBody, done, factory_enrolment,
    fresh_token, no_store, token_body, token_id, unprocessable,
};
use crate::api::validation::{VerifyRequest, verdict};
use crate::app::AppState;
use crate::auth::{Administrator, Caller, Helpdesk, StateReader, Verifier};
use crate::extract::{ApiJson, CustomerPath, OptionalJson, TokenPath, check_code};
use crate::problem::Problem;

/// A temporary replacement's lifetime when the request gives none: a week, time for
/// the found fob or the replacement fob to reach the customer.
pub const DEFAULT_TEMPORARY_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The longest temporary replacement: 31 days. Longer, it is a replacement, not a
/// stop-gap, and should be enrolled as one (`POST /v1/tokens/{id}/replace`).
pub const MAX_TEMPORARY_LIFETIME: Duration = Duration::from_secs(31 * 24 * 3600);

/// The most uses a temporary replacement may be limited to (`max_uses`).
pub const MAX_TEMPORARY_USES: u32 = 10_000;

/// How many emergency codes a list holds when the request does not say: five.
pub const DEFAULT_EMERGENCY_CODES: u32 = 5;

/// The customer a token is assigned to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerRequest {
    /// The bank's opaque customer reference (1 to 128 printable ASCII characters, no
    /// spaces): a customer number or a pseudonym, never a name.
    pub customer: String,
}

/// A customer's tokens.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerTokens {
    /// The customer reference.
    pub customer: String,
    /// Their tokens, in id order (none for a customer the store does not know).
    pub tokens: Vec<TokenBody>,
}

/// A lost-token report, optionally with a temporary replacement (a soft token with a
/// fresh secret) for the customer to use meanwhile.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LostRequest {
    /// The temporary replacement to enrol for the lost token's customer.
    #[serde(default)]
    pub replacement: Option<EnrolRequest>,
    /// How long the replacement is valid, in seconds (default 604800, a week; at most
    /// 2678400, 31 days); only with `replacement`.
    #[serde(default)]
    pub lifetime_seconds: Option<u64>,
    /// How many codes the replacement may accept before it ends on its own (1 to
    /// 10000; default: no limit but its lifetime); only with `replacement`.
    #[serde(default)]
    pub max_uses: Option<u32>,
}

/// A list of emergency codes for a lost token's customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyCodesRequest {
    /// The id of the token the list becomes.
    pub id: String,
    /// How many codes (1 to 10, default 5): each is accepted once, in the list's
    /// order; the list ends after the last.
    #[serde(default)]
    pub count: Option<u32>,
    /// How long the list is valid, in seconds (default 604800, a week; at most
    /// 2678400, 31 days).
    #[serde(default)]
    pub lifetime_seconds: Option<u64>,
}

/// Emergency codes, shown once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EmergencyCodesResponse {
    /// The list's token id (it belongs to the lost token's customer).
    pub token: String,
    /// The codes (8 digits each), in the order they are to be used: never stored,
    /// never shown again.
    pub codes: Vec<String>,
    /// When the list stops working, in seconds since the epoch.
    pub expires_at: i64,
}

/// A temporary replacement issued with a lost-token report, shown once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LostResponse {
    /// The replacement's id, key URI and QR code: never stored, never shown again.
    pub replacement: EnrolResponse,
    /// When the replacement stops working, in seconds since the epoch.
    pub expires_at: i64,
}

/// The new token of a replacement: exactly one of a fresh soft token or a fob's
/// factory record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceRequest {
    /// A new token with a fresh secret (its key URI is returned once).
    #[serde(default)]
    pub fresh: Option<EnrolRequest>,
    /// A new fob from its vendor's factory record.
    #[serde(default)]
    pub factory: Option<FactoryRequest>,
}

/// The token that replaced a revoked one.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReplaceResponse {
    /// The new token's state (it has the old one's customer).
    pub token: TokenBody,
    /// For a fresh token: its key URI, shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_uri: Option<String>,
    /// For a fresh token: the key URI as a QR code in SVG, shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_svg: Option<String>,
}

/// A code a customer reads out to the helpdesk.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// The code as read out.
    pub code: String,
}

/// Which of the customer's tokens a code belongs to; nothing was accepted.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LookupBody {
    /// Whether the code is one of the customer's tokens'.
    pub found: bool,
    /// The token it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Whether the code was already spent (an accepted code read out again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spent: Option<bool>,
    /// The token's status (a lost or locked fob's code is found too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

fn customer_ref(field: &str, reference: &str) -> Result<CustomerRef, Problem> {
    CustomerRef::new(reference).map_err(|error| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-customer",
            "Invalid customer reference",
        )
        .detail(error.to_string())
        .field(field)
    })
}

/// Assign a token to a customer (at most four tokens each).
#[utoipa::path(put, path = "/v1/tokens/{id}/owner", tag = "lifecycle",
    params(("id" = String, Path, description = "Token id")),
    request_body = OwnerRequest,
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn assign_owner(
    caller: Caller<Administrator>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
    ApiJson(request): ApiJson<OwnerRequest>,
) -> Result<Response, Problem> {
    let owner = customer_ref("customer", &request.customer)?;
    state
        .administer(caller.client.name.clone(), move |validator| {
            validator.assign_owner(&id, &owner)
        })
        .await?;
    Ok(done())
}

/// Take a token from its customer.
#[utoipa::path(delete, path = "/v1/tokens/{id}/owner", tag = "lifecycle",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn unassign_owner(
    caller: Caller<Administrator>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
) -> Result<Response, Problem> {
    state
        .administer(caller.client.name.clone(), move |validator| {
            validator.unassign_owner(&id)
        })
        .await?;
    Ok(done())
}

/// List a customer's tokens (none for an unknown customer).
#[utoipa::path(get, path = "/v1/customers/{customer}/tokens", tag = "lifecycle",
    params(("customer" = String, Path, description = "Customer reference")),
    responses((status = 200, body = CustomerTokens), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn customer_tokens(
    _caller: Caller<StateReader>,
    State(state): State<AppState>,
    CustomerPath(owner): CustomerPath,
) -> Result<Response, Problem> {
    let customer = owner.to_string();
    let records = state
        .blocking(move |validator| {
            let mut records = Vec::new();
            for id in validator.store().tokens_of(&owner)? {
                // A token deleted since the owner index was read is left out.
                if let Some(record) = validator.store().load(&id)? {
                    records.push(record);
                }
            }
            Ok::<_, otpfob::StoreError>(records)
        })
        .await?
        .map_err(|error| crate::app::admin_problem(&error.into()))?;
    let now = state.validator().clock().now();
    Ok(no_store(
        StatusCode::OK,
        CustomerTokens {
            customer,
            tokens: records
                .iter()
                .map(|record| token_body(record, now))
                .collect(),
        },
    ))
}

/// Report a token lost: every code is rejected until it is found or replaced.
/// With `replacement`, a temporary soft token is enrolled for the same customer,
/// valid from now for `lifetime_seconds`; its key URI and QR code are returned once.
#[utoipa::path(post, path = "/v1/tokens/{id}/lost", tag = "lifecycle",
    params(("id" = String, Path, description = "Token id")),
    request_body(content = LostRequest, description = "Optional (no body at all is a report without a replacement): a temporary replacement"),
    responses((status = 201, body = LostResponse), (status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn report_lost(
    caller: Caller<Helpdesk>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
    OptionalJson(request): OptionalJson<LostRequest>,
) -> Result<Response, Problem> {
    let request = request.unwrap_or_default();
    let Some(replacement) = &request.replacement else {
        if request.lifetime_seconds.is_some() {
            return Err(unprocessable(
                "lifetime_seconds",
                "a lifetime is for a replacement: give `replacement` too",
            ));
        }
        state
            .administer(caller.client.name.clone(), move |validator| {
                validator.report_lost(&id)
            })
            .await?;
        return Ok(done());
    };
    let lifetime = temporary_lifetime(request.lifetime_seconds)?;
    let FreshToken {
        enrolment,
        provisioning,
    } = fresh_token(&state, "replacement.", replacement)?;
    let enrolment = match request.max_uses {
        None => enrolment,
        Some(uses) => match NonZeroU32::new(uses).filter(|uses| uses.get() <= MAX_TEMPORARY_USES) {
            Some(uses) => enrolment.with_use_limit(uses),
            None => {
                return Err(unprocessable(
                    "max_uses",
                    format!("a temporary replacement is limited to 1 to {MAX_TEMPORARY_USES} uses"),
                ));
            }
        },
    };
    // Lost first, then the replacement (the library issues one only for a lost
    // token): if the enrolment fails, the token stays lost, the safe side, and the
    // request can be repeated (a lost token may be reported lost again).
    let record = state
        .administer(caller.client.name.clone(), move |validator| {
            validator.report_lost(&id)?;
            let new = validator.issue_temporary_replacement(&id, enrolment, lifetime)?;
            Ok(validator.store().load(&new)?)
        })
        .await?
        .ok_or_else(Problem::internal)?;
    let expires_at = record
        .state
        .validity
        .not_after
        .map(|at| at.as_secs())
        .ok_or_else(Problem::internal)?;
    Ok(no_store(
        StatusCode::CREATED,
        LostResponse {
            replacement: provisioning.shown_once(&state)?,
            expires_at,
        },
    ))
}

/// A temporary replacement's lifetime from the request: the default, or 1 second to
/// [`MAX_TEMPORARY_LIFETIME`].
fn temporary_lifetime(seconds: Option<u64>) -> Result<Duration, Problem> {
    let lifetime = seconds.map_or(DEFAULT_TEMPORARY_LIFETIME, Duration::from_secs);
    if lifetime.is_zero() || lifetime > MAX_TEMPORARY_LIFETIME {
        return Err(unprocessable(
            "lifetime_seconds",
            format!(
                "a temporary replacement lives 1 to {} seconds",
                MAX_TEMPORARY_LIFETIME.as_secs()
            ),
        ));
    }
    Ok(lifetime)
}

/// Report a token lost (if it is not already) and issue its customer a list of
/// single-use emergency codes, returned once: each code is accepted once, in the
/// list's order, with the lost token's server-side PIN if it had one; the list ends
/// after its last code, at its lifetime, or when the token is found or replaced.
#[utoipa::path(post, path = "/v1/tokens/{id}/emergency-codes", tag = "lifecycle",
    params(("id" = String, Path, description = "The lost token's id")),
    request_body = EmergencyCodesRequest,
    responses((status = 201, body = EmergencyCodesResponse), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn emergency_codes(
    caller: Caller<Helpdesk>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
    ApiJson(request): ApiJson<EmergencyCodesRequest>,
) -> Result<Response, Problem> {
    let list_id = token_id("id", &request.id)?;
    let count = request.count.unwrap_or(DEFAULT_EMERGENCY_CODES);
    let Some(count) = NonZeroU32::new(count).filter(|count| count.get() <= MAX_EMERGENCY_CODES)
    else {
        return Err(unprocessable(
            "count",
            format!("a list holds 1 to {MAX_EMERGENCY_CODES} emergency codes"),
        ));
    };
    let lifetime = temporary_lifetime(request.lifetime_seconds)?;
    // Lost first, as for a temporary soft token: if the list cannot be issued, the
    // token stays lost, and the request can be repeated.
    let (list, record) = state
        .administer(caller.client.name.clone(), move |validator| {
            if validator
                .state(&id)?
                .is_some_and(|token| token.status != Status::Lost)
            {
                validator.report_lost(&id)?;
            }
            let list = validator.issue_emergency_codes(&id, list_id, count, lifetime)?;
            let record = validator.store().load(list.token())?;
            Ok((list, record))
        })
        .await?;
    let expires_at = record
        .and_then(|record| record.state.validity.not_after)
        .map(|at| at.as_secs())
        .ok_or_else(Problem::internal)?;
    Ok(no_store(
        StatusCode::CREATED,
        EmergencyCodesResponse {
            token: list.token().to_string(),
            codes: list.codes().map(str::to_owned).collect(),
            expires_at,
        },
    ))
}

macro_rules! change {
    ($(#[$doc:meta])* $name:ident, $path:literal, $roles:ty, |$validator:ident, $id:ident| $call:expr) => {
        $(#[$doc])*
        #[utoipa::path(post, path = $path, tag = "lifecycle",
            params(("id" = String, Path, description = "Token id")),
            responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
            security(("bearer" = []), ("client_certificate" = [])))]
        pub async fn $name(
            caller: Caller<$roles>,
            State(state): State<AppState>,
            TokenPath($id): TokenPath,
        ) -> Result<Response, Problem> {
            state
                .administer(caller.client.name.clone(), move |$validator| $call)
                .await?;
            Ok(done())
        }
    };
}

change!(
    /// A token reported lost was found: back in service (409 for a token not lost).
    report_found, "/v1/tokens/{id}/found", Helpdesk, |validator, id| validator.report_found(&id)
);
change!(
    /// Revoke a token: final. Its record and trail stay; it leaves its customer.
    revoke, "/v1/tokens/{id}/revoke", Administrator, |validator, id| validator.revoke(&id)
);

/// Replace a token: revokes it and enrols the new one (a fresh soft token or a fob
/// from its factory record) for the same customer.
#[utoipa::path(post, path = "/v1/tokens/{id}/replace", tag = "lifecycle",
    params(("id" = String, Path, description = "The token replaced")),
    request_body = ReplaceRequest,
    responses((status = 201, body = ReplaceResponse), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn replace(
    caller: Caller<Administrator>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
    ApiJson(request): ApiJson<ReplaceRequest>,
) -> Result<Response, Problem> {
    let (enrolment, provisioning) = match (&request.fresh, request.factory) {
        (Some(fresh), None) => {
            let FreshToken {
                enrolment,
                provisioning,
            } = fresh_token(&state, "fresh.", fresh)?;
            (enrolment, Some(provisioning))
        }
        (None, Some(factory)) => (factory_enrolment("factory.", factory)?, None),
        _ => {
            return Err(unprocessable(
                "fresh",
                "give the new token as exactly one of `fresh` or `factory`",
            ));
        }
    };
    if enrolment.id() == &id {
        return Err(unprocessable(
            "fresh",
            "the new token needs an id of its own: the replaced one stays, revoked",
        ));
    }
    let record = state
        .administer(caller.client.name.clone(), move |validator| {
            let new = validator.replace(&id, enrolment)?;
            Ok(validator.store().load(&new)?)
        })
        .await?
        .ok_or_else(Problem::internal)?;
    let now = state.validator().clock().now();
    let shown = provisioning
        .map(|provisioning| provisioning.shown_once(&state))
        .transpose()?;
    Ok(no_store(
        StatusCode::CREATED,
        ReplaceResponse {
            token: token_body(&record, now),
            key_uri: shown.as_ref().map(|shown| shown.key_uri.clone()),
            qr_svg: shown.map(|shown| shown.qr_svg),
        },
    ))
}

/// Verify a code against every token of a customer; at most one accepts it.
#[utoipa::path(post, path = "/v1/customers/{customer}/verify", tag = "validation",
    params(("customer" = String, Path, description = "Customer reference")),
    request_body = VerifyRequest,
    responses((status = 200, body = crate::api::validation::VerdictBody), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn verify_customer(
    caller: Caller<Verifier>,
    State(state): State<AppState>,
    CustomerPath(owner): CustomerPath,
    ApiJson(request): ApiJson<VerifyRequest>,
) -> Result<Response, Problem> {
    check_code("code", &request.code)?;
    let actor = caller.client.name.clone();
    let result = state
        .blocking(move |validator| {
            crate::actor::acting_as(&actor, || {
                validator.verify_customer(&owner, &request.code, request.pin.as_deref())
            })
        })
        .await?;
    Ok(verdict(
        "verify_customer",
        result.map(|accepted| accepted.acceptance),
    ))
}

/// Find which of a customer's tokens a code belongs to, without accepting it.
#[utoipa::path(post, path = "/v1/customers/{customer}/lookup", tag = "lifecycle",
    params(("customer" = String, Path, description = "Customer reference")),
    request_body = LookupRequest,
    responses((status = 200, body = LookupBody), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn lookup(
    caller: Caller<Helpdesk>,
    State(state): State<AppState>,
    CustomerPath(owner): CustomerPath,
    ApiJson(request): ApiJson<LookupRequest>,
) -> Result<Response, Problem> {
    check_code("code", &request.code)?;
    let actor = caller.client.name.clone();
    let found = state
        .blocking(move |validator| {
            crate::actor::acting_as(&actor, || {
                validator.lookup_customer_code(&owner, &request.code)
            })
        })
        .await?
        .map_err(|rejected| match rejected.reason() {
            RejectReason::StoreFailure | RejectReason::Contention => {
                metrics::counter!("otpfob_store_errors_total").increment(1);
                Problem::unavailable("the token store did not answer; try again")
            }
            reason => {
                tracing::error!(reason = reason.as_str(), "customer code lookup failed");
                Problem::internal()
            }
        })?;
    Ok(no_store(
        StatusCode::OK,
        match found {
            Some(found) => LookupBody {
                found: true,
                token: Some(found.token.to_string()),
                spent: Some(found.spent),
                status: Some(found.status.as_str().to_owned()),
            },
            None => LookupBody {
                found: false,
                token: None,
                spent: None,
                status: None,
            },
        },
    ))
}
