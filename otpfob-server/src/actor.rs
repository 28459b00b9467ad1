//! Which client caused an audit event: each validator call runs inside the library's
//! [`otpfob::validator::acting_as`] scope with the authenticated client's name.

use std::sync::Arc;

use otpfob::validator::AuditEvent;

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
