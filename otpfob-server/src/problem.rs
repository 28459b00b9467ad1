//! RFC 9457 problem details: every error this server answers is one of these.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem: what went wrong, for the caller's developer.
///
/// # Security
///
/// A problem never names a secret, and a problem about authentication or roles never
/// names a token: `detail` is written by this crate, never copied from a store error.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` is not used: each kind has one).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem, the same for every occurrence.
    pub title: String,
    /// The HTTP status code, repeated for clients that lose it.
    pub status: u16,
    /// What was wrong with this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The offending field or parameter, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip)]
    status_code: StatusCode,
    #[serde(skip)]
    www_authenticate: bool,
}

impl Problem {
    /// A problem of kind `slug` (its type URI is `urn:otpfob:problem:<slug>`).
    #[must_use]
    pub fn new(status: StatusCode, slug: &str, title: &str) -> Self {
        Self {
            kind: format!("urn:otpfob:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: None,
            field: None,
            status_code: status,
            www_authenticate: false,
        }
    }

    /// The same problem with a detail for this request.
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The same problem naming the offending field.
    #[must_use]
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The status code.
    #[must_use]
    pub fn status_code(&self) -> StatusCode {
        self.status_code
    }

    /// 400: a request that does not say what the server needs.
    #[must_use]
    pub fn bad_request(slug: &str, title: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, slug, title)
    }

    /// 401: no credentials, or credentials no client has. Says nothing else.
    #[must_use]
    pub fn unauthenticated() -> Self {
        let mut problem = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Authentication required",
        )
        .detail("send a valid API key as `Authorization: Bearer <key>` or a registered client certificate");
        problem.www_authenticate = true;
        problem
    }

    /// 403: the client lacks the role this endpoint needs. Says nothing about tokens.
    #[must_use]
    pub fn forbidden(needed: &[crate::auth::Role]) -> Self {
        let names: Vec<&str> = needed.iter().map(|role| role.as_str()).collect();
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Role required").detail(format!(
            "this endpoint needs one of the roles: {}",
            names.join(", ")
        ))
    }

    /// 404: no such token (administration endpoints only; validation never says so).
    #[must_use]
    pub fn token_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "token-not-found", "No such token")
    }

    /// 404: no such route.
    #[must_use]
    pub fn route_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "No such endpoint")
    }

    /// 503: the store did not answer, or the server is at its concurrency limit.
    #[must_use]
    pub fn unavailable(detail: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
        )
        .detail(detail)
    }

    /// 500: something this server did not expect; the log has the details.
    #[must_use]
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        )
        .detail("the server's log has the details under this request's id")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (self.status_code, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"otpfob\""),
            );
        }
        response
    }
}
