//! The request extractors and their rejections, side by side (as axum's
//! `extract/rejection.rs`): every way a request can be malformed becomes one
//! `application/problem+json` answer that names what was wrong.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use otpfob::TokenId;
use otpfob::validator::CustomerRef;
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// A JSON body: `Content-Type: application/json`, within the body limit, every field
/// known and of the right type.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// The rejection of a malformed body.
#[derive(Debug)]
#[non_exhaustive]
pub enum JsonRejection {
    /// No `Content-Type: application/json`.
    ContentType,
    /// The body is over the limit.
    TooLarge,
    /// The body could not be read.
    Unreadable,
    /// Not JSON at all (a syntax error or a truncated document).
    Syntax(String),
    /// JSON, but not what the endpoint takes: an unknown or missing field, a wrong type.
    Data {
        /// The path of the field (`transaction.amount_minor`), if known.
        field: Option<String>,
        /// What the JSON reader said.
        reason: String,
    },
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::ContentType => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            )
            .detail("send the body as `Content-Type: application/json`"),
            JsonRejection::TooLarge => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "Body too large",
            )
            .detail("the request body is over this endpoint's limit"),
            JsonRejection::Unreadable => Problem::bad_request("unreadable-body", "Unreadable body")
                .detail("the request body could not be read"),
            JsonRejection::Syntax(reason) => {
                Problem::bad_request("malformed-json", "Malformed JSON").detail(reason)
            }
            JsonRejection::Data { field, reason } => {
                let problem = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-field",
                    "Invalid field",
                )
                .detail(reason);
                match field {
                    Some(field) => problem.field(field),
                    None => problem,
                }
            }
        }
    }
}

impl axum::response::IntoResponse for JsonRejection {
    fn into_response(self) -> axum::response::Response {
        Problem::from(self).into_response()
    }
}

fn is_json(parts: &axum::http::HeaderMap) -> bool {
    let Some(value) = parts
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Parses `bytes` as `T`, naming the field a data error is in.
///
/// # Errors
///
/// [`JsonRejection::Syntax`] or [`JsonRejection::Data`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonRejection> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => JsonRejection::Data {
                field: (path != ".").then_some(path),
                reason: inner.to_string(),
            },
            _ => JsonRejection::Syntax(inner.to_string()),
        }
    })?;
    deserializer
        .end()
        .map_err(|error| JsonRejection::Syntax(error.to_string()))?;
    Ok(value)
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = JsonRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(JsonRejection::ContentType);
        }
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection: BytesRejection| {
                    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        JsonRejection::TooLarge
                    } else {
                        JsonRejection::Unreadable
                    }
                })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A JSON body that may be left out: no body at all is `None`; a body must be
/// [`ApiJson`]'s (`Content-Type: application/json`, every field known).
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = JsonRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(request.headers());
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection: BytesRejection| {
                    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        JsonRejection::TooLarge
                    } else {
                        JsonRejection::Unreadable
                    }
                })?;
        if bytes.is_empty() {
            return Ok(Self(None));
        }
        if !json {
            return Err(JsonRejection::ContentType);
        }
        parse_json(&bytes).map(|value| Self(Some(value)))
    }
}

/// The `{customer}` of a customer route, checked to be a valid customer reference
/// ([`CustomerRef`]). The check is the same for every reference, known or not, so a
/// 400 here says nothing about any customer.
#[derive(Debug)]
pub struct CustomerPath(pub CustomerRef);

impl<S: Send + Sync> FromRequestParts<S> for CustomerPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let invalid = |detail: String| {
            Problem::bad_request("invalid-customer", "Invalid customer reference")
                .detail(detail)
                .field("customer")
        };
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| invalid(rejection.body_text()))?;
        CustomerRef::new(&raw)
            .map(CustomerPath)
            .map_err(|error| invalid(error.to_string()))
    }
}

/// The `{id}` of a token route, checked to be a valid token id. Validation is the same
/// for every id, enrolled or not, so a 400 here says nothing about any token.
#[derive(Debug)]
pub struct TokenPath(pub TokenId);

impl<S: Send + Sync> FromRequestParts<S> for TokenPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                Problem::bad_request("invalid-token-id", "Invalid token id")
                    .detail(rejection.body_text())
                    .field("id")
            })?;
        TokenId::new(raw).map(TokenPath).map_err(|error| {
            Problem::bad_request("invalid-token-id", "Invalid token id")
                .detail(error.to_string())
                .field("id")
        })
    }
}

/// A query string of known parameters of the right types.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| {
                Problem::bad_request("invalid-query", "Invalid query parameter")
                    .detail(rejection.body_text())
            })
    }
}

/// Checks a one-time code as typed: digits and spaces, [`otpfob::hotp::MIN_OTP_DIGITS`] to
/// [`otpfob::hotp::MAX_OTP_DIGITS`] digits. The check is the same for every token; a code of
/// the right form but another length than the token's is an ordinary rejection,
/// counted as a failure.
///
/// # Errors
///
/// A problem naming `field`.
pub fn check_code(field: &str, code: &str) -> Result<(), Problem> {
    check_characters(field, code, char::is_ascii_digit, "digits")?;
    let digits = code.chars().filter(char::is_ascii_digit).count();
    if !(usize::from(otpfob::hotp::MIN_OTP_DIGITS)..=usize::from(otpfob::hotp::MAX_OTP_DIGITS))
        .contains(&digits)
    {
        return Err(invalid_code(
            field,
            format!(
                "{field} has {digits} digits; codes have {} to {}",
                otpfob::hotp::MIN_OTP_DIGITS,
                otpfob::hotp::MAX_OTP_DIGITS
            ),
        ));
    }
    Ok(())
}

/// Checks an OCRA response as typed: digits (or, for a full-MAC suite, hexadecimal
/// letters) and spaces, 4 to 128 of them; the same for every token.
///
/// # Errors
///
/// A problem naming `field`.
pub fn check_response(field: &str, response: &str) -> Result<(), Problem> {
    check_characters(
        field,
        response,
        char::is_ascii_hexdigit,
        "digits, hexadecimal letters",
    )?;
    let significant = response
        .chars()
        .filter(|character| *character != ' ')
        .count();
    if !(4..=128).contains(&significant) {
        return Err(invalid_code(
            field,
            format!("{field} has {significant} characters; responses have 4 to 128"),
        ));
    }
    Ok(())
}

fn check_characters(
    field: &str,
    text: &str,
    allowed: fn(&char) -> bool,
    what: &str,
) -> Result<(), Problem> {
    if text.len() > 256 {
        return Err(invalid_code(
            field,
            format!("{field} is longer than 256 bytes"),
        ));
    }
    if !text
        .trim()
        .chars()
        .all(|character| character == ' ' || allowed(&character))
    {
        return Err(invalid_code(
            field,
            format!("{field} may hold only {what} and spaces"),
        ));
    }
    Ok(())
}

fn invalid_code(field: &str, detail: String) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-code",
        "Invalid code",
    )
    .detail(detail)
    .field(field)
}
