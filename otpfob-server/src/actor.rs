//! Which client caused an audit event, and where it came from: each validator call
//! runs inside the library's [`otpfob::validator::acting_as`] scope with the
//! authenticated client's name, and inside its [`otpfob::validator::within`] scope
//! with the request's context (an API client, channel `api`, the request id, this
//! node), which [`request_scope`] captures for every API request.

use std::sync::{Arc, OnceLock};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use otpfob::validator::{ActorKind, AuditContext, AuditEvent};

tokio::task_local! {
    static REQUEST: AuditContext;
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

/// Middleware: the rest of the request runs with its audit context (an API client,
/// channel `api`, its `x-request-id`, this node), which
/// [`AppState::blocking`](crate::app::AppState::blocking) hands to the validator.
pub async fn request_scope(request: Request, next: Next) -> Response {
    let mut context = AuditContext::new()
        .actor_kind(ActorKind::ApiClient)
        .channel("api");
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
    REQUEST.scope(context, next.run(request)).await
}

/// The audit context of the request being handled on this task, if any.
#[must_use]
pub fn current_request() -> Option<AuditContext> {
    REQUEST.try_with(Clone::clone).ok()
}
