//! Which client caused an audit event, and where it came from: each validator call
//! runs inside the library's [`otpfob::validator::acting_as`] scope with the
//! authenticated client's name, and inside its [`otpfob::validator::within`] scope
//! with the request's context (an API client, channel `api`, the request id, this
//! node), which [`request_scope`] captures for every request. A reason given for an
//! administrative request (the console's reason field, or an API client's
//! [`AUDIT_REASON`] header) goes the same way, through the library's
//! [`otpfob::validator::giving_reason`] scope, into the audit event's own field.

use std::sync::{Arc, OnceLock};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use otpfob::validator::{ActorKind, AuditContext, AuditEvent, AuditReason};

use crate::problem::Problem;

/// The header in which an API client may give the reason for an administrative
/// request (an unlock after a customer's call, say): it is recorded in the audit
/// events the request causes, as the console records its staff's typed reasons.
pub const AUDIT_REASON: &str = "x-audit-reason";

tokio::task_local! {
    static REQUEST: AuditContext;
    static REASON: AuditReason;
}

/// Runs `job` (a validator call) on behalf of the client named `actor`: the audit
/// events it causes name that client, in the store and in the log.
pub fn acting_as<T>(actor: &Arc<str>, job: impl FnOnce() -> T) -> T {
    otpfob::validator::acting_as(Arc::clone(actor), job)
}

/// The client an event names, if any.
#[must_use]
pub fn actor_of(event: &AuditEvent) -> Option<String> {
    event.actor.as_deref().map(str::to_owned)
}

/// This node's name in audit events: `OTPFOB_NODE` if set, else the host name, read
/// once.
#[must_use]
pub fn node() -> Option<Arc<str>> {
    static NODE: OnceLock<Option<Arc<str>>> = OnceLock::new();
    NODE.get_or_init(|| {
        std::env::var("OTPFOB_NODE")
            .ok()
            .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .map(Arc::from)
    })
    .clone()
}

/// Middleware: the rest of the request runs with its audit context (an API client on
/// channel `api`, or a staff member on channel `console` for the console's pages, its
/// `x-request-id`, this node) and the reason in its [`AUDIT_REASON`] header, which
/// [`AppState::blocking`](crate::app::AppState::blocking) hands to the validator. A
/// reason the library refuses (blank, over 200 characters, an invisible character)
/// is a 400 problem before anything is done.
pub async fn request_scope(request: Request, next: Next) -> Response {
    let console = request.uri().path().starts_with("/console");
    let mut context = if console {
        AuditContext::new()
            .actor_kind(ActorKind::Staff)
            .channel("console")
    } else {
        AuditContext::new()
            .actor_kind(ActorKind::ApiClient)
            .channel("api")
    };
    if let Some(id) = request
        .headers()
        .get(crate::api::REQUEST_ID)
        .and_then(|value| value.to_str().ok())
    {
        context = context.request_id(id);
    }
    if let Some(node) = node() {
        context = context.node(node);
    }
    let reason = match request.headers().get(AUDIT_REASON) {
        None => None,
        Some(value) => match given_reason(value) {
            Ok(reason) => Some(reason),
            Err(problem) => return problem.into_response(),
        },
    };
    match reason {
        Some(reason) => {
            REQUEST
                .scope(context, REASON.scope(reason, next.run(request)))
                .await
        }
        None => REQUEST.scope(context, next.run(request)).await,
    }
}

/// The reason in an [`AUDIT_REASON`] header: UTF-8 and acceptable to
/// [`AuditReason::new`].
fn given_reason(value: &axum::http::HeaderValue) -> Result<AuditReason, Problem> {
    let refused = |detail: String| {
        Problem::bad_request("invalid-audit-reason", "The audit reason is not acceptable")
            .field(AUDIT_REASON)
            .detail(detail)
    };
    let text =
        std::str::from_utf8(value.as_bytes()).map_err(|_| refused("it is not UTF-8".to_owned()))?;
    AuditReason::new(text).map_err(|error| refused(error.to_string()))
}

/// Runs `work` (a console handler's validator calls) with `reason` as the reason of
/// every audit event it causes, over the request's [`AUDIT_REASON`] header if any.
pub async fn giving_reason<T>(reason: AuditReason, work: impl Future<Output = T>) -> T {
    REASON.scope(reason, work).await
}

/// The reason given for the request being handled on this task, if any.
#[must_use]
pub fn current_reason() -> Option<AuditReason> {
    REASON.try_with(Clone::clone).ok()
}

/// The audit context of the request being handled on this task, if any.
#[must_use]
pub fn current_request() -> Option<AuditContext> {
    REQUEST.try_with(Clone::clone).ok()
}
