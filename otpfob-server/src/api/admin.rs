//! The administration API: enrolment, import, listing, state, help-desk changes,
//! deletion, resealing, audit trails. Every change goes through the validator, which
//! writes its audit event in the same transaction.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use otpfob::{
    Algorithm, Enrolment, HotpParameters, KeyUri, OtpParameters, Secret, TimeSource as _, TokenId,
    TotpParameters, UnixTime,
    ocra::Password,
    provision::QrCode,
    pskc::PskcCredential,
    validator::{
        AuditEvent, ChallengeSlot, CustomerRef, OcraEnrolment, Outcome, Status, TokenKind,
        TokenRecord,
    },
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::{AppState, admin_problem};
use crate::auth::{Administrator, AuditReader, Caller, Helpdesk, PinSetter, StateReader};
use crate::extract::{ApiJson, ApiQuery, TokenPath};
use crate::problem::Problem;

/// How a token makes codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KindName {
    /// RFC 6238 time-based codes.
    Totp,
    /// RFC 4226 event (counter) codes.
    Hotp,
    /// An EMV-CAP bank card: listed and administered here, enrolled and verified
    /// through the library (`Validator::enrol_cap`, feature `emv-cap`).
    Cap,
}

fn default_digits() -> u8 {
    6
}
fn default_period() -> u64 {
    30
}
fn default_algorithm() -> String {
    "SHA1".to_owned()
}

/// A new token with a fresh secret.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// The token id.
    pub id: String,
    /// `totp` or `hotp`.
    pub kind: KindName,
    /// `SHA1`, `SHA256` or `SHA512`.
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// 6 to 10.
    #[serde(default = "default_digits")]
    pub digits: u8,
    /// The time step of a TOTP token, in seconds.
    #[serde(default = "default_period")]
    pub period: u64,
    /// A server-side PIN to require, if any.
    #[serde(default)]
    pub pin: Option<String>,
    /// The account name the authenticator app shows (default: the token id).
    #[serde(default)]
    pub account: Option<String>,
}

/// The new token's provisioning data, shown once: never stored, never shown again.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EnrolResponse {
    /// The token id.
    pub id: String,
    /// The `otpauth://` key URI, secret included.
    pub key_uri: String,
    /// The key URI as a QR code, in SVG.
    pub qr_svg: String,
}

/// A token from its vendor's factory record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FactoryRequest {
    /// The serial number printed on the fob: the token id.
    pub serial: String,
    /// The secret, in hex.
    pub secret_hex: String,
    /// `totp` or `hotp`.
    pub kind: KindName,
    /// `SHA1`, `SHA256` or `SHA512`.
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// 6 to 10.
    #[serde(default = "default_digits")]
    pub digits: u8,
    /// The time step of a TOTP fob, in seconds.
    #[serde(default = "default_period")]
    pub period: u64,
    /// The first counter of an HOTP fob.
    #[serde(default)]
    pub counter: u64,
    /// When the factory set the clock of a TOTP fob (seconds since the epoch; default now).
    #[serde(default)]
    pub issued_at: Option<i64>,
    /// The OCRA suite of a keypad fob.
    #[serde(default)]
    pub ocra_suite: Option<String>,
    /// The first OCRA counter.
    #[serde(default)]
    pub ocra_counter: u64,
    /// The device PIN's hash for a suite with `P`, in hex.
    #[serde(default)]
    pub ocra_pin_hash_hex: Option<String>,
    /// A server-side PIN to require, if any.
    #[serde(default)]
    pub pin: Option<String>,
    /// The key of the fob's unlock procedure, in hex (16 to 64 bytes), for a fob with
    /// a PIN pad: sealed with the record, so that the helpdesk can answer the unlock
    /// challenge a locked fob shows (`POST /v1/tokens/{id}/unlock-code`).
    #[serde(default)]
    pub unlock_key_hex: Option<String>,
}

/// A PSKC (RFC 6030) file to import.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// The XML document.
    pub document: String,
    /// The password its keys are encrypted under (RFC 6030 §6.2), if any.
    #[serde(default)]
    pub password: Option<String>,
    /// Or the pre-shared AES key (RFC 6030 §6.1), in hex.
    #[serde(default)]
    pub pre_shared_key_hex: Option<String>,
}

/// What happened to each key of an import.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    /// Keys enrolled.
    pub enrolled: Vec<ImportedKey>,
    /// Keys refused, each with why.
    pub refused: Vec<RefusedKey>,
}

/// A key enrolled from a PSKC file.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportedKey {
    /// Its `Id` in the file.
    pub key_id: String,
    /// The token id it was enrolled under.
    pub token: String,
}

/// A key of a PSKC file that was not enrolled.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RefusedKey {
    /// Its `Id` in the file.
    pub key_id: String,
    /// Why.
    pub error: String,
}

/// A token's state: never its secret or PIN.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenBody {
    /// The token id.
    pub id: String,
    /// `totp` or `hotp`.
    pub kind: KindName,
    /// The HMAC algorithm.
    pub algorithm: String,
    /// Digits per code.
    pub digits: u8,
    /// TOTP: the time step in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
    /// HOTP: the next counter expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_counter: Option<u64>,
    /// TOTP: the last accepted time step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_accepted_step: Option<u64>,
    /// TOTP: the learned drift, in steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_steps: Option<i64>,
    /// `active`, `disabled`, `lost`, `revoked` or `expired`: the status an
    /// administrator set (an active token past its validity period stays `active`
    /// here, with `expired` true).
    pub status: String,
    /// Whether the validator refuses the token as expired at the server's clock: its
    /// status is `expired`, or it is active and its validity period has ended.
    #[serde(default)]
    pub expired: bool,
    /// The customer the token belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The first instant the token may be used, in seconds since the epoch, if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    /// The first instant the token may no longer be used, in seconds since the epoch,
    /// if limited (a temporary replacement's end, a fob's end of life).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<i64>,
    /// How many more codes it may accept, if that is limited (a temporary
    /// replacement, emergency codes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses_left: Option<u32>,
    /// For a temporary replacement: the lost token it stands in for (found or
    /// replaced, that token ends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// Whether a throttling lock holds now.
    pub locked: bool,
    /// Consecutive failures.
    pub failures: u32,
    /// Locks so far.
    pub lockouts: u32,
    /// Whether a server-side PIN is set.
    pub has_pin: bool,
    /// Whether the bank holds the fob's unlock key (sealed), so that it can answer
    /// the fob's unlock challenge.
    #[serde(default)]
    pub has_unlock_key: bool,
    /// The OCRA suite, for a keypad token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocra_suite: Option<String>,
    /// Whether an OCRA challenge is open.
    pub challenge_open: bool,
    /// When it was enrolled, in seconds since the epoch.
    pub enrolled_at: i64,
    /// The record's version (changes at every write).
    pub version: u64,
}

/// The kind a token's record describes.
#[must_use]
pub fn kind_of(kind: &TokenKind) -> KindName {
    match kind.parameters() {
        Some(OtpParameters::Hotp(_)) => KindName::Hotp,
        Some(OtpParameters::Totp(_)) => KindName::Totp,
        // The only kind without code parameters is a CAP card.
        _ => KindName::Cap,
    }
}

/// The status a token is listed under at `now`, the one the list's `status` filter
/// matches: the status an administrator set, except that an active token whose
/// validity period has ended is listed as expired, since the validator refuses it as
/// expired ([`otpfob::validator::standing`], whose order this follows: a revoked,
/// lost or disabled token past its period is refused, and listed, as such).
#[must_use]
pub fn listed_status(state: &otpfob::validator::TokenState, now: UnixTime) -> Status {
    match otpfob::validator::standing(state.status, state.validity, now) {
        Some(otpfob::validator::RejectReason::Expired) => Status::Expired,
        _ => state.status,
    }
}

/// A token's state as the API and the console show it (never its secret or PIN).
#[must_use]
pub fn token_body(record: &TokenRecord, now: UnixTime) -> TokenBody {
    let state = &record.state;
    let algorithm = match state.kind.parameters() {
        Some(OtpParameters::Hotp(hotp)) => hotp.algorithm.to_string(),
        Some(OtpParameters::Totp(totp)) => totp.algorithm.to_string(),
        // A CAP card's cryptograms are Triple DES MACs.
        _ => "TDES".to_owned(),
    };
    let digits = state.kind.digits();
    let (period, next_counter, last_accepted_step, drift_steps) = match state.kind {
        TokenKind::Event { next_counter, .. } => (None, Some(next_counter), None, None),
        TokenKind::Time {
            parameters,
            last_accepted_step,
            drift_steps,
            ..
        } => (
            Some(parameters.time_step),
            None,
            last_accepted_step,
            Some(drift_steps),
        ),
        // A CAP card: its ATC is not an HOTP counter, and the body has no field for it.
        _ => (None, None, None, None),
    };
    TokenBody {
        id: record.id.to_string(),
        kind: kind_of(&state.kind),
        algorithm,
        digits,
        period,
        next_counter,
        last_accepted_step,
        drift_steps,
        status: state.status.as_str().to_owned(),
        expired: listed_status(state, now) == Status::Expired,
        owner: record.owner.as_ref().map(|owner| owner.as_str().to_owned()),
        not_before: state.validity.not_before.map(|at| at.as_secs()),
        not_after: state.validity.not_after.map(|at| at.as_secs()),
        uses_left: state.uses_left,
        replaces: record
            .replaces
            .as_ref()
            .map(|lost| lost.as_str().to_owned()),
        locked: state.lock.holds_at(now),
        failures: state.failures,
        lockouts: state.lockouts,
        has_pin: record.pin.is_some(),
        has_unlock_key: record.unlock_key.is_some(),
        ocra_suite: state.ocra.as_ref().map(|ocra| ocra.suite.to_string()),
        challenge_open: state
            .ocra
            .as_ref()
            .is_some_and(|ocra| matches!(ocra.challenge, ChallengeSlot::Open(_))),
        enrolled_at: record.enrolled_at.as_secs(),
        version: record.version,
    }
}

pub(crate) fn unprocessable(field: &str, detail: impl Into<String>) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-value",
        "Invalid value",
    )
    .detail(detail)
    .field(field)
}

pub(crate) fn token_id(field: &str, id: &str) -> Result<TokenId, Problem> {
    TokenId::new(id).map_err(|error| {
        Problem::bad_request("invalid-token-id", "Invalid token id")
            .detail(error.to_string())
            .field(field)
    })
}

pub(crate) fn parameters(
    kind: KindName,
    algorithm: &str,
    digits: u8,
    period: u64,
) -> Result<OtpParameters, Problem> {
    let algorithm: Algorithm = algorithm
        .parse()
        .map_err(|error: otpfob::UnknownAlgorithm| unprocessable("algorithm", error.to_string()))?;
    let parameters = match kind {
        KindName::Hotp => OtpParameters::Hotp(HotpParameters { algorithm, digits }),
        KindName::Totp => OtpParameters::Totp(TotpParameters {
            algorithm,
            digits,
            time_step: period,
            ..TotpParameters::default()
        }),
        KindName::Cap => {
            return Err(unprocessable(
                "kind",
                "CAP cards are enrolled through the library (Validator::enrol_cap)",
            ));
        }
    };
    parameters
        .validate()
        .map_err(|error| unprocessable("digits", error.to_string()))?;
    Ok(parameters)
}

pub(crate) fn no_store(status: StatusCode, body: impl Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(crate) fn done() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A token with a fresh secret, checked and ready to enrol, and what its key URI
/// needs once it is enrolled.
pub(crate) struct FreshToken {
    /// The enrolment to hand to the validator.
    pub enrolment: Enrolment,
    /// What makes the key URI and QR code after the enrolment.
    pub provisioning: Provisioning,
}

/// The secret and names a fresh token's key URI is made of, kept until the enrolment
/// has succeeded.
pub(crate) struct Provisioning {
    id: TokenId,
    secret: Secret,
    account: String,
    parameters: OtpParameters,
}

/// Checks an enrolment request and makes its secret.
pub(crate) fn fresh_token(
    state: &AppState,
    field: &str,
    request: &EnrolRequest,
) -> Result<FreshToken, Problem> {
    let id = token_id(&format!("{field}id"), &request.id)?;
    let parameters = parameters(
        request.kind,
        &request.algorithm,
        request.digits,
        request.period,
    )?;
    let account = request
        .account
        .clone()
        .unwrap_or_else(|| request.id.clone());
    // The key URI is checked before anything is stored, so that a bad account name
    // leaves no token behind that nobody can provision.
    let probe = Secret::from_bytes(&[0; 20]).map_err(|_| Problem::internal())?;
    KeyUri::new(probe, &account, parameters)
        .and_then(|uri| uri.with_issuer(&state.config().issuer))
        .map_err(|error| unprocessable(&format!("{field}account"), error.to_string()))?;
    let (enrolment, secret) = Enrolment::generate(id.clone(), parameters)
        .map_err(|error| admin_problem(&error.into()))?;
    let enrolment = match &request.pin {
        Some(pin) => enrolment.with_pin(pin),
        None => enrolment,
    };
    Ok(FreshToken {
        enrolment,
        provisioning: Provisioning {
            id,
            secret,
            account,
            parameters,
        },
    })
}

impl Provisioning {
    /// The key URI and its QR code, to be shown once.
    pub(crate) fn shown_once(self, state: &AppState) -> Result<EnrolResponse, Problem> {
        let uri = KeyUri::new(self.secret, &self.account, self.parameters)
            .and_then(|uri| uri.with_issuer(&state.config().issuer))
            .map_err(|_| Problem::internal())?;
        let text = uri.to_uri();
        let svg = QrCode::encode(&text)
            .and_then(|qr| qr.to_svg(4))
            .map_err(|_| Problem::internal())?;
        Ok(EnrolResponse {
            id: self.id.to_string(),
            key_uri: text.to_string(),
            qr_svg: svg.to_string(),
        })
    }
}

/// Enrol a token with a fresh secret; its key URI and QR code are returned once.
#[utoipa::path(post, path = "/v1/tokens", tag = "administration",
    request_body = EnrolRequest,
    responses((status = 201, body = EnrolResponse), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn enrol(
    caller: Caller<Administrator>,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<EnrolRequest>,
) -> Result<Response, Problem> {
    let FreshToken {
        enrolment,
        provisioning,
    } = fresh_token(&state, "", &request)?;
    state
        .administer(caller.client.name.clone(), move |validator| {
            validator.enrol(enrolment)
        })
        .await?;
    Ok(no_store(
        StatusCode::CREATED,
        provisioning.shown_once(&state)?,
    ))
}

/// Checks a factory record and makes its enrolment.
pub(crate) fn factory_enrolment(
    field: &str,
    request: FactoryRequest,
) -> Result<Enrolment, Problem> {
    let id = token_id(&format!("{field}serial"), &request.serial)?;
    let parameters = parameters(
        request.kind,
        &request.algorithm,
        request.digits,
        request.period,
    )?;
    let secret = Secret::from_hex(request.secret_hex.trim())
        .map_err(|error| unprocessable(&format!("{field}secret_hex"), error.to_string()))?;
    let suite = request
        .ocra_suite
        .as_deref()
        .map(str::parse::<otpfob::ocra::OcraSuite>)
        .transpose()
        .map_err(|error| unprocessable(&format!("{field}ocra_suite"), error.to_string()))?;
    let pin_hash = request
        .ocra_pin_hash_hex
        .as_deref()
        .map(|hex| Secret::from_hex(hex.trim()))
        .transpose()
        .map_err(|error| unprocessable(&format!("{field}ocra_pin_hash_hex"), error.to_string()))?;
    let unlock_key = request
        .unlock_key_hex
        .as_deref()
        .map(|hex| unlock_key(&format!("{field}unlock_key_hex"), hex))
        .transpose()?;
    let mut enrolment = Enrolment::new(id, secret, parameters).with_counter(request.counter);
    if let Some(unlock_key) = unlock_key {
        enrolment = enrolment.with_unlock_key(unlock_key);
    }
    if let Some(issued_at) = request.issued_at {
        enrolment = enrolment.with_synced_at(UnixTime::from_secs(issued_at));
    }
    if let Some(pin) = &request.pin {
        enrolment = enrolment.with_pin(pin);
    }
    if let Some(suite) = suite {
        let keypad = OcraEnrolment::new(suite).with_counter(request.ocra_counter);
        enrolment = enrolment.with_ocra(match &pin_hash {
            Some(hash) => keypad.with_pin(Password::Hash(hash.expose_bytes())),
            None => keypad,
        });
    }
    Ok(enrolment)
}

/// The shortest and longest unlock key a factory record may give, in bytes: 128 bits
/// at least (an unlock key opens the fob's PIN gate for its whole life), 64 bytes at
/// most (the record MAC's bound for it).
const UNLOCK_KEY_BYTES: core::ops::RangeInclusive<usize> = 16..=64;

/// A factory record's unlock key from its hex, checked for its length.
fn unlock_key(field: &str, hex: &str) -> Result<Secret, Problem> {
    let key =
        Secret::from_hex(hex.trim()).map_err(|error| unprocessable(field, error.to_string()))?;
    let length = key.expose_bytes().len();
    if !UNLOCK_KEY_BYTES.contains(&length) {
        return Err(unprocessable(
            field,
            format!(
                "an unlock key has {} to {} bytes, not {length}",
                UNLOCK_KEY_BYTES.start(),
                UNLOCK_KEY_BYTES.end()
            ),
        ));
    }
    Ok(key)
}

/// Enrol a token from its vendor's factory record.
#[utoipa::path(post, path = "/v1/factory-records", tag = "administration",
    request_body = FactoryRequest,
    responses((status = 201, body = TokenBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn enrol_factory(
    caller: Caller<Administrator>,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<FactoryRequest>,
) -> Result<Response, Problem> {
    let enrolment = factory_enrolment("", request)?;
    let record = state
        .administer(caller.client.name.clone(), move |validator| {
            let id = validator.enrol(enrolment)?;
            Ok(validator.store().load(&id)?)
        })
        .await?
        .ok_or_else(Problem::token_not_found)?;
    let now = state.validator().clock().now();
    Ok(no_store(StatusCode::CREATED, token_body(&record, now)))
}

/// Import a PSKC (RFC 6030) file: every key is enrolled or reported with why not.
#[utoipa::path(post, path = "/v1/imports", tag = "administration",
    request_body = ImportRequest,
    responses((status = 200, body = ImportReport), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn import(
    caller: Caller<Administrator>,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ImportRequest>,
) -> Result<Response, Problem> {
    let credential = match (&request.password, &request.pre_shared_key_hex) {
        (Some(_), Some(_)) => {
            return Err(unprocessable(
                "password",
                "give a password or a pre-shared key, not both",
            ));
        }
        (Some(password), None) => PskcCredential::Password(
            Secret::from_bytes(password.as_bytes())
                .map_err(|error| unprocessable("password", error.to_string()))?,
        ),
        (None, Some(hex)) => PskcCredential::PreSharedKey(
            Secret::from_hex(hex.trim())
                .map_err(|error| unprocessable("pre_shared_key_hex", error.to_string()))?,
        ),
        (None, None) => PskcCredential::None,
    };
    let actor = caller.client.name.clone();
    let report = state
        .blocking(move |validator| {
            let container = otpfob::pskc::read_pskc(request.document.as_bytes(), &credential)?;
            Ok::<_, otpfob::pskc::PskcError>(crate::actor::acting_as(&actor, || {
                validator.enrol_pskc(&container)
            }))
        })
        .await?
        .map_err(|error| unprocessable("document", error.to_string()))?;
    Ok(no_store(
        StatusCode::OK,
        ImportReport {
            enrolled: report
                .enrolled
                .into_iter()
                .map(|key| ImportedKey {
                    key_id: key.key_id,
                    token: key.token.to_string(),
                })
                .collect(),
            refused: report
                .refused
                .into_iter()
                .map(|key| RefusedKey {
                    key_id: key.key_id,
                    error: key.error.to_string(),
                })
                .collect(),
        },
    ))
}

/// Filters and a page of the token list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only ids after this one (the `next` of the previous page).
    #[serde(default)]
    pub after: Option<String>,
    /// At most this many (1 to 1000, default 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// `active`, `disabled`, `lost`, `revoked` or `expired`; `expired` also finds
    /// active tokens whose validity period has ended at the server's clock (and
    /// `active` leaves them out).
    #[serde(default)]
    pub status: Option<String>,
    /// Only locked (`true`) or unlocked (`false`) tokens.
    #[serde(default)]
    pub locked: Option<bool>,
    /// `totp` or `hotp`.
    #[serde(default)]
    pub kind: Option<KindName>,
    /// Only ids starting with this.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Only the tokens of this customer reference.
    #[serde(default)]
    pub customer: Option<String>,
}

/// A page of tokens.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenPage {
    /// The tokens, in id order.
    pub tokens: Vec<TokenBody>,
    /// The `after` of the next page, if there is one.
    pub next: Option<String>,
}

/// How many ids the list endpoint reads from the store at a time.
const LIST_CHUNK: usize = 256;

/// List tokens, a page at a time, with filters.
#[utoipa::path(get, path = "/v1/tokens", tag = "administration", params(ListQuery),
    responses((status = 200, body = TokenPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn list(
    _caller: Caller<StateReader>,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(
            Problem::bad_request("invalid-query", "Invalid query parameter")
                .detail("limit must be 1 to 1000")
                .field("limit"),
        );
    }
    let status = query
        .status
        .as_deref()
        .map(|name| {
            Status::from_name(name).ok_or_else(|| {
                Problem::bad_request("invalid-query", "Invalid query parameter")
                    .detail(format!(
                        "status must be active, disabled, lost, revoked or expired, not {name:?}"
                    ))
                    .field("status")
            })
        })
        .transpose()?;
    let after = query
        .after
        .as_deref()
        .map(|after| token_id("after", after))
        .transpose()?;
    let owner = query
        .customer
        .as_deref()
        .map(|customer| {
            CustomerRef::new(customer).map_err(|error| {
                Problem::bad_request("invalid-query", "Invalid query parameter")
                    .detail(error.to_string())
                    .field("customer")
            })
        })
        .transpose()?;
    let filter = TokenFilter {
        after,
        limit,
        status,
        locked: query.locked,
        kind: query.kind,
        prefix: query.prefix,
        owner,
        hidden_prefix: None,
    };
    let page = state
        .blocking(move |validator| list_tokens(validator, &filter))
        .await?
        .map_err(|error| admin_problem(&error))?;
    Ok(no_store(StatusCode::OK, page))
}

/// Which tokens a page of the list holds: the API's query, checked.
#[derive(Debug, Clone)]
pub struct TokenFilter {
    /// Only ids after this one.
    pub after: Option<TokenId>,
    /// At most this many.
    pub limit: usize,
    /// Only tokens of this status.
    pub status: Option<Status>,
    /// Only locked (`true`) or unlocked (`false`) tokens.
    pub locked: Option<bool>,
    /// Only this kind.
    pub kind: Option<KindName>,
    /// Only ids starting with this.
    pub prefix: Option<String>,
    /// Only the tokens of this customer.
    pub owner: Option<CustomerRef>,
    /// Never ids starting with this (the console's staff members' own tokens).
    pub hidden_prefix: Option<&'static str>,
}

impl TokenFilter {
    /// Every token, a page of `limit` at a time.
    #[must_use]
    pub fn all(limit: usize) -> Self {
        Self {
            after: None,
            limit,
            status: None,
            locked: None,
            kind: None,
            prefix: None,
            owner: None,
            hidden_prefix: None,
        }
    }

    /// Whether an id is one the filter may list, before its record is read.
    fn admits_id(&self, id: &TokenId) -> bool {
        self.hidden_prefix
            .is_none_or(|hidden| !id.as_str().starts_with(hidden))
            && self
                .prefix
                .as_deref()
                .is_none_or(|prefix| id.as_str().starts_with(prefix))
    }

    /// Whether a token's record passes the filters at `now`.
    fn admits(&self, record: &TokenRecord, now: UnixTime) -> bool {
        self.status
            .is_none_or(|status| listed_status(&record.state, now) == status)
            && self
                .locked
                .is_none_or(|locked| record.state.lock.holds_at(now) == locked)
            && self
                .kind
                .is_none_or(|kind| kind_of(&record.state.kind) == kind)
    }
}

/// A page of the token list (the API's list and the console's): keyset pages of the
/// store's ids, filtered. Blocking: call it on the blocking pool.
///
/// # Errors
///
/// The store's errors.
pub fn list_tokens(
    validator: &crate::app::ServerValidator,
    filter: &TokenFilter,
) -> Result<TokenPage, otpfob::ValidatorError> {
    let now = validator.clock().now();
    let mut page = TokenPage {
        tokens: Vec::new(),
        next: None,
    };
    // Whether the page is full: one more token than the page passed the filters.
    let mut add = |record: &TokenRecord| {
        if page.tokens.len() == filter.limit {
            page.next = page.tokens.last().map(|token| token.id.clone());
            return true;
        }
        page.tokens.push(token_body(record, now));
        false
    };
    if let Some(owner) = &filter.owner {
        // A customer's tokens are few (the owner index, at most a handful each).
        let mut ids = validator.store().tokens_of(owner)?;
        ids.sort();
        for id in ids {
            if filter.after.as_ref().is_some_and(|after| &id <= after) || !filter.admits_id(&id) {
                continue;
            }
            if let Some(record) = validator.store().load(&id)?
                && filter.admits(&record, now)
                && add(&record)
            {
                break;
            }
        }
        return Ok(page);
    }
    // Keyset pages of the store's ids (never every id at once), read until
    // one more token than the page passes the filters, or the ids run out.
    let chunk = (filter.limit + 1).min(LIST_CHUNK);
    let mut cursor = filter.after.clone();
    'pages: loop {
        let ids = validator.store().list_page(cursor.as_ref(), chunk)?;
        let exhausted = ids.len() < chunk;
        for id in ids {
            cursor = Some(id.clone());
            if !filter.admits_id(&id) {
                // Ids are in order: past the prefix's range, no later id
                // can start with it.
                if filter
                    .prefix
                    .as_deref()
                    .is_some_and(|prefix| id.as_str() > prefix && !id.as_str().starts_with(prefix))
                {
                    break 'pages;
                }
                continue;
            }
            if let Some(record) = validator.store().load(&id)?
                && filter.admits(&record, now)
                && add(&record)
            {
                break 'pages;
            }
        }
        if exhausted {
            break;
        }
    }
    Ok(page)
}

/// Read one token's state (never its secret).
#[utoipa::path(get, path = "/v1/tokens/{id}", tag = "administration",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 200, body = TokenBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn show(
    _caller: Caller<StateReader>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
) -> Result<Response, Problem> {
    let record = state
        .blocking(move |validator| validator.store().load(&id))
        .await?
        .map_err(|error| admin_problem(&error.into()))?
        .ok_or_else(Problem::token_not_found)?;
    let now = state.validator().clock().now();
    Ok(no_store(StatusCode::OK, token_body(&record, now)))
}

macro_rules! change {
    ($(#[$doc:meta])* $name:ident, $method:literal, $path:literal, $roles:ty, |$validator:ident, $id:ident| $call:expr) => {
        $(#[$doc])*
        #[utoipa::path(post, path = $path, tag = "administration",
            params(("id" = String, Path, description = "Token id")),
            responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
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
    /// Clear a throttling lock and the failure count.
    unlock, "post", "/v1/tokens/{id}/unlock", Helpdesk, |validator, id| validator.unlock(&id)
);
change!(
    /// Take a token out of service.
    disable, "post", "/v1/tokens/{id}/disable", Helpdesk, |validator, id| validator.disable(&id)
);
change!(
    /// Put a disabled token back in service.
    enable, "post", "/v1/tokens/{id}/enable", Helpdesk, |validator, id| validator.enable(&id)
);

/// A new server-side PIN.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinRequest {
    /// The PIN.
    pub pin: String,
}

/// Set or change the server-side PIN.
#[utoipa::path(put, path = "/v1/tokens/{id}/pin", tag = "administration",
    params(("id" = String, Path, description = "Token id")),
    request_body = PinRequest,
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn set_pin(
    caller: Caller<PinSetter>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
    ApiJson(request): ApiJson<PinRequest>,
) -> Result<Response, Problem> {
    state
        .administer(caller.client.name.clone(), move |validator| {
            validator.set_pin(&id, Some(&request.pin))
        })
        .await?;
    Ok(done())
}

/// Remove the server-side PIN.
#[utoipa::path(delete, path = "/v1/tokens/{id}/pin", tag = "administration",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn clear_pin(
    caller: Caller<PinSetter>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
) -> Result<Response, Problem> {
    state
        .administer(caller.client.name.clone(), move |validator| {
            validator.set_pin(&id, None)
        })
        .await?;
    Ok(done())
}

/// Delete a token and its state.
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "administration",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn delete(
    caller: Caller<Administrator>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
) -> Result<Response, Problem> {
    state
        .administer(caller.client.name.clone(), move |validator| {
            validator.delete(&id)
        })
        .await?;
    Ok(done())
}

/// How many tokens a reseal moved to the current key.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResealReport {
    /// Tokens resealed (those already under the current key are left alone).
    pub resealed: usize,
}

/// Seal every token's secret again under the current sealing key.
#[utoipa::path(post, path = "/v1/reseal", tag = "administration",
    responses((status = 200, body = ResealReport), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn reseal(
    caller: Caller<Administrator>,
    State(state): State<AppState>,
) -> Result<Response, Problem> {
    let resealed = state
        .administer(caller.client.name.clone(), |validator| {
            validator.reseal_all()
        })
        .await?;
    Ok(no_store(StatusCode::OK, ResealReport { resealed }))
}

/// How much of an audit trail to read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The newest this many events (1 to 1000, default 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// One audit event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditBody {
    /// When, in seconds since the epoch.
    pub at: i64,
    /// The client that caused it, if recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// What was done.
    pub operation: String,
    /// `accepted`, `rejected` or `done`.
    pub outcome: String,
    /// Why a code was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why it was done, as the person who did it gave it: a staff member's reason in
    /// the console, or an API client's `x-audit-reason` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_reason: Option<String>,
    /// The matched offset of an accepted code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    /// What kind of actor that is: `api_client`, `staff` or `process`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_kind: Option<String>,
    /// The channel the request came in on (`api` for this API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The request id (`x-request-id`) of the request that caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The node that handled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Whether the event is a link of the token's audit hash chain.
    #[serde(default)]
    pub chained: bool,
}

fn audit_body(event: &AuditEvent) -> AuditBody {
    let (outcome, reason) = match event.outcome {
        Outcome::Accepted => ("accepted", None),
        Outcome::Rejected(reason) => ("rejected", Some(reason.to_string())),
        Outcome::Done => ("done", None),
        _ => ("unknown", None),
    };
    AuditBody {
        at: event.at.as_secs(),
        actor: crate::actor::actor_of(event),
        operation: event.operation.as_str().to_owned(),
        outcome: outcome.to_owned(),
        reason,
        given_reason: event
            .reason
            .as_ref()
            .map(|reason| reason.as_str().to_owned()),
        offset: event.offset,
        actor_kind: event
            .context
            .actor_kind
            .map(|kind| kind.as_str().to_owned()),
        channel: event.context.channel.as_deref().map(str::to_owned),
        request_id: event.context.request_id.as_deref().map(str::to_owned),
        node: event.context.node.as_deref().map(str::to_owned),
        chained: event.chain.is_some(),
    }
}

/// One token's audit hash chain, checked.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChainBody {
    /// The token.
    pub token: String,
    /// Its audit events read.
    pub events: usize,
    /// How many are links of the chain.
    pub chained: usize,
    /// How many carry no link (rejections that wrote no record, rows older than the
    /// chain).
    pub unchained: usize,
    /// Whether the chain is intact.
    pub intact: bool,
    /// The first broken link, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken: Option<ChainBreakBody>,
}

/// Where a chain breaks first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChainBreakBody {
    /// The event's position in the token's trail, oldest first from 0 (the number of
    /// events for a break at the end).
    pub position: usize,
    /// When that event happened, in seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
    /// What it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// `link_mismatch` (edited, an event before it removed, reordered),
    /// `head_mismatch` (events at the end removed or added) or `record_unauthentic`.
    pub kind: String,
}

fn chain_body(report: &otpfob::validator::chain::ChainReport) -> ChainBody {
    use otpfob::validator::chain::ChainBreakKind;
    ChainBody {
        token: report.token.to_string(),
        events: report.events,
        chained: report.chained,
        unchained: report.unchained,
        intact: report.is_intact(),
        broken: report.broken.as_ref().map(|broken| ChainBreakBody {
            position: broken.position,
            at: broken.at.map(|at| at.as_secs()),
            operation: broken
                .operation
                .map(|operation| operation.as_str().to_owned()),
            kind: match broken.kind {
                ChainBreakKind::LinkMismatch => "link_mismatch",
                ChainBreakKind::HeadMismatch => "head_mismatch",
                ChainBreakKind::RecordUnauthentic => "record_unauthentic",
                _ => "broken",
            }
            .to_owned(),
        }),
    }
}

/// Check every enrolled token's audit hash chain and report the first broken link of
/// each.
#[utoipa::path(get, path = "/v1/audit/chains", tag = "administration",
    responses((status = 200, body = Vec<ChainBody>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn audit_chains(
    _caller: Caller<AuditReader>,
    State(state): State<AppState>,
) -> Result<Response, Problem> {
    let reports = state
        .blocking(|validator| validator.verify_audit_chains())
        .await?
        .map_err(|error| admin_problem(&error))?;
    let body: Vec<ChainBody> = reports.iter().map(chain_body).collect();
    Ok(no_store(StatusCode::OK, body))
}

/// Check one token's audit hash chain (also a deleted token's, whose trail remains).
#[utoipa::path(get, path = "/v1/tokens/{id}/audit/chain", tag = "administration",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 200, body = ChainBody), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn audit_chain(
    _caller: Caller<AuditReader>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
) -> Result<Response, Problem> {
    let report = state
        .blocking(move |validator| validator.verify_audit_chain(&id))
        .await?
        .map_err(|error| admin_problem(&error))?;
    Ok(no_store(StatusCode::OK, chain_body(&report)))
}

/// Read a token's audit trail, oldest first.
#[utoipa::path(get, path = "/v1/tokens/{id}/audit", tag = "administration",
    params(("id" = String, Path, description = "Token id"), AuditQuery),
    responses((status = 200, body = Vec<AuditBody>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("client_certificate" = [])))]
pub async fn audit(
    _caller: Caller<AuditReader>,
    State(state): State<AppState>,
    TokenPath(id): TokenPath,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Response, Problem> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(
            Problem::bad_request("invalid-query", "Invalid query parameter")
                .detail("limit must be 1 to 1000")
                .field("limit"),
        );
    }
    let events = state
        .blocking(move |validator| validator.store().audit_trail(&id, limit))
        .await?
        .map_err(|error| admin_problem(&error.into()))?;
    let body: Vec<AuditBody> = events.iter().map(audit_body).collect();
    Ok(no_store(StatusCode::OK, body))
}
