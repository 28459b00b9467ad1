//! Which client caused an audit event.

use otpfob::validator::AuditEvent;

/// Runs `job` (a validator call) on behalf of the client named `actor`: the events it
/// causes name that client.
pub fn acting_as<T>(actor: &str, job: impl FnOnce() -> T) -> T {
    let span = tracing::info_span!("acting_as", actor);
    let _entered = span.enter();
    job()
}

/// The client an event names, if any.
#[must_use]
pub fn actor_of(_event: &AuditEvent) -> Option<String> {
    None
}
