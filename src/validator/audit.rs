//! The audit trail: who, when, what, verdict, reason, matched offset. Never a code,
//! an OCRA challenge or response, a PIN or a secret.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use crate::clock::UnixTime;
use crate::validator::error::{RejectReason, ValidatorError};
use crate::validator::record::TokenId;

/// What was done to a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// A code was checked.
    Verify,
    /// Two consecutive codes were checked to resynchronise.
    Resync,
    /// The token was enrolled.
    Enrol,
    /// An administrator cleared the throttling lock.
    Unlock,
    /// An administrator took the token out of service.
    Disable,
    /// An administrator put the token back in service.
    Enable,
    /// The token was deleted.
    Delete,
    /// The secret was sealed again under the current key.
    Reseal,
    /// The server-side PIN was set, changed or removed.
    SetPin,
    /// An OCRA challenge was issued (one-way challenge-response, a login).
    Challenge,
    /// An OCRA signature challenge was issued for a transfer.
    SignatureChallenge,
    /// An OCRA response to a challenge was checked.
    VerifyResponse,
    /// An OCRA signature of a transfer was checked.
    VerifySignature,
    /// The device PIN hash of an OCRA suite with `P` was replaced.
    SetOcraPin,
    /// The token was assigned to a customer.
    AssignOwner,
    /// The token's customer was removed.
    UnassignOwner,
    /// The customer reported the token lost.
    ReportLost,
    /// A token reported lost was found and put back in service.
    ReportFound,
    /// The token was revoked (final).
    Revoke,
    /// A code was checked against every token of a customer.
    VerifyCustomer,
    /// A helpdesk looked up which of a customer's tokens a code belongs to, without accepting it.
    Lookup,
    /// The token got its last temporary block: the next one is permanent (PSD2 RTS Art. 4(5)); the bank should inform the customer.
    BlockAlert,
    /// The token's secret was opened and written into an export file (PSKC, OATH
    /// CSV) for another server; the event names who asked.
    Export,
    /// A helpdesk had the bank answer the unlock challenge a locked fob showed (its
    /// unlock code made from the sealed unlock key); the event names who asked and
    /// why, never the challenge or the code.
    UnlockCode,
}

impl Operation {
    /// A short stable name for audit tables.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Operation::Verify => "verify",
            Operation::Resync => "resync",
            Operation::Enrol => "enrol",
            Operation::Unlock => "unlock",
            Operation::Disable => "disable",
            Operation::Enable => "enable",
            Operation::Delete => "delete",
            Operation::Reseal => "reseal",
            Operation::SetPin => "set_pin",
            Operation::Challenge => "challenge",
            Operation::SignatureChallenge => "signature_challenge",
            Operation::VerifyResponse => "verify_response",
            Operation::VerifySignature => "verify_signature",
            Operation::SetOcraPin => "set_ocra_pin",
            Operation::AssignOwner => "assign_owner",
            Operation::UnassignOwner => "unassign_owner",
            Operation::ReportLost => "report_lost",
            Operation::ReportFound => "report_found",
            Operation::Revoke => "revoke",
            Operation::VerifyCustomer => "verify_customer",
            Operation::Lookup => "lookup",
            Operation::BlockAlert => "block_alert",
            Operation::Export => "export",
            Operation::UnlockCode => "unlock_code",
        }
    }

    /// The operation named by [`Operation::as_str`].
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Operation::Verify,
            Operation::Resync,
            Operation::Enrol,
            Operation::Unlock,
            Operation::Disable,
            Operation::Enable,
            Operation::Delete,
            Operation::Reseal,
            Operation::SetPin,
            Operation::Challenge,
            Operation::SignatureChallenge,
            Operation::VerifyResponse,
            Operation::VerifySignature,
            Operation::SetOcraPin,
            Operation::AssignOwner,
            Operation::UnassignOwner,
            Operation::ReportLost,
            Operation::ReportFound,
            Operation::Revoke,
            Operation::VerifyCustomer,
            Operation::Lookup,
            Operation::BlockAlert,
            Operation::Export,
            Operation::UnlockCode,
        ]
        .into_iter()
        .find(|operation| operation.as_str() == name)
    }
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// A code (or a resync pair) was accepted.
    Accepted,
    /// A code was rejected, for this reason.
    Rejected(RejectReason),
    /// An administrative operation was carried out.
    Done,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
// Deliberately exhaustive: a Store backend outside this crate builds it field by field from
// its rows, and a new field is a breaking change for every backend anyway (it must store
// it).
#[allow(clippy::exhaustive_structs)]
pub struct AuditEvent {
    /// The token concerned.
    pub token: TokenId,
    /// When, by the validator's clock.
    pub at: UnixTime,
    /// What was done.
    pub operation: Operation,
    /// How it ended.
    pub outcome: Outcome,
    /// For accepted codes, the matched offset (see `Acceptance::offset`).
    pub offset: Option<i64>,
    /// Who caused it: the API client, operator or service named by [`acting_as`]
    /// around the validator call, if any.
    pub actor: Option<Arc<str>>,
    /// What kind of actor that is, the channel, the request id and the node (schema
    /// version 8), from the [`within`] scope around the validator call.
    pub context: AuditContext,
    /// Why it was done, as the person who did it gave it (a helpdesk member's typed
    /// reason), from the [`giving_reason`] scope around the validator call (schema
    /// version 12); `None` when none was given, and for every older event.
    pub reason: Option<AuditReason>,
    /// The event's link in its token's hash chain (schema version 8): `None` for an
    /// event that changed no record (see [`crate::validator::chain`]) and for every
    /// event recorded before the chain existed.
    pub chain: Option<ChainHash>,
}

/// The most characters of an [`AuditReason`].
pub const MAX_AUDIT_REASON_CHARS: usize = 200;

/// Why an operator did something, as they gave it, for the audit trail: 1 to
/// [`MAX_AUDIT_REASON_CHARS`] characters, not blank, and none of them a control,
/// bidirectional or other invisible character
/// ([`is_invisible_character`](crate::text::is_invisible_character)), so that the
/// trail shows what was typed and a reason cannot make the line around it read as
/// something else.
///
/// ```
/// use otpfob::validator::AuditReason;
///
/// let reason = AuditReason::new("customer called, identity checked")?;
/// assert_eq!(reason.as_str(), "customer called, identity checked");
/// assert!(AuditReason::new("fine\u{202e}enil").is_err()); // a right-to-left override
/// assert!(AuditReason::new("  ").is_err());
/// # Ok::<(), otpfob::ValidatorError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AuditReason(Arc<str>);

impl AuditReason {
    /// A reason.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::AuditReason`] for a blank or too long reason, or one with an
    /// invisible character (the error names its position, never shows it).
    pub fn new(reason: &str) -> Result<Self, ValidatorError> {
        let fail = |problem: String| ValidatorError::AuditReason { problem };
        if reason.trim().is_empty() {
            return Err(fail("it is blank".to_owned()));
        }
        let length = reason.chars().count();
        if length > MAX_AUDIT_REASON_CHARS {
            return Err(fail(format!(
                "it has {length} characters, more than {MAX_AUDIT_REASON_CHARS}"
            )));
        }
        if let Some((position, character)) = reason
            .chars()
            .enumerate()
            .find(|(_, character)| crate::text::is_invisible_character(*character))
        {
            return Err(fail(format!(
                "character {position} is U+{:04X}, a control or invisible character",
                u32::from(character)
            )));
        }
        Ok(Self(Arc::from(reason)))
    }

    /// The reason as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Debug for AuditReason {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(formatter, "AuditReason({:?})", self.0)
    }
}

impl core::fmt::Display for AuditReason {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Bytes of a [`ChainHash`] (SHA-256).
pub const CHAIN_HASH_LEN: usize = 32;

/// One link of a token's audit hash chain: SHA-256 over the previous link and the
/// event's canonical encoding (see [`crate::validator::chain`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
// Deliberately exhaustive: 32 bytes, and a store builds it from its column.
#[allow(clippy::exhaustive_structs)]
pub struct ChainHash(pub [u8; CHAIN_HASH_LEN]);

impl core::fmt::Debug for ChainHash {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(formatter, "ChainHash(")?;
        for byte in self.0 {
            write!(formatter, "{byte:02x}")?;
        }
        write!(formatter, ")")
    }
}

/// What kind of actor caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActorKind {
    /// A client of the server's API (a bank's application), named by its client id.
    ApiClient,
    /// A member of the bank's staff (the console, the helpdesk), named by user name.
    Staff,
    /// A process acting on its own (a batch job, the CLI, a migration).
    Process,
}

impl ActorKind {
    /// A short stable name for audit tables: `api_client`, `staff` or `process`.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            ActorKind::ApiClient => "api_client",
            ActorKind::Staff => "staff",
            ActorKind::Process => "process",
        }
    }

    /// The kind named by [`ActorKind::as_str`].
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [ActorKind::ApiClient, ActorKind::Staff, ActorKind::Process]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// Where an event came from, besides who: the kind of actor, the channel (`api`,
/// `console`, `cli`, a bank's own name for its online banking), the request id that
/// ties the event to the server's logs, and the node (host or instance) that decided.
/// Every field is optional: an event outside any [`within`] scope has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct AuditContext {
    /// What kind of actor [`AuditEvent::actor`] names.
    pub actor_kind: Option<ActorKind>,
    /// The channel the request came in on.
    pub channel: Option<Arc<str>>,
    /// The request id (as the server's `x-request-id`).
    pub request_id: Option<Arc<str>>,
    /// The validator node that handled it.
    pub node: Option<Arc<str>>,
}

impl AuditContext {
    /// A context with nothing set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// This context, naming the kind of actor.
    #[must_use]
    pub fn actor_kind(mut self, kind: ActorKind) -> Self {
        self.actor_kind = Some(kind);
        self
    }

    /// This context, naming the channel.
    #[must_use]
    pub fn channel(mut self, channel: impl Into<Arc<str>>) -> Self {
        self.channel = Some(channel.into());
        self
    }

    /// This context, naming the request id.
    #[must_use]
    pub fn request_id(mut self, request_id: impl Into<Arc<str>>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// This context, naming the node.
    #[must_use]
    pub fn node(mut self, node: impl Into<Arc<str>>) -> Self {
        self.node = Some(node.into());
        self
    }
}

thread_local! {
    static ACTOR: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
    static REASON: RefCell<Option<AuditReason>> = const { RefCell::new(None) };
    static CONTEXT: RefCell<Option<AuditContext>> = const { RefCell::new(None) };
}

/// Runs `job` within `context`: every audit event the validator makes during it, on
/// this thread, carries the context (kind of actor, channel, request id, node). Like
/// [`acting_as`], which names the actor itself, scopes nest and the inner one wins
/// until it ends, also when `job` panics.
///
/// ```
/// use otpfob::validator::{ActorKind, AuditContext, Store, acting_as, within};
/// use otpfob::{Enrolment, Keyring, ManualClock, MemoryStore, SealingKey, TokenId, TotpParameters, Validator};
///
/// let bank = Validator::new(MemoryStore::new(), ManualClock::at_secs(1_767_225_600), Keyring::new(SealingKey::generate(1)?));
/// let (enrolment, _secret) = Enrolment::generate(TokenId::new("alice-phone")?, TotpParameters::default())?;
/// let context = AuditContext::new().actor_kind(ActorKind::Staff).channel("console").request_id("req-42").node("node-a");
/// let id = within(context, || acting_as("helpdesk-7".into(), || bank.enrol(enrolment)))?;
/// let trail = bank.store().audit_trail(&id, 10)?;
/// assert_eq!(trail[0].context.channel.as_deref(), Some("console"));
/// assert_eq!(trail[0].context.actor_kind, Some(ActorKind::Staff));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn within<T>(context: AuditContext, job: impl FnOnce() -> T) -> T {
    struct Restore(Option<AuditContext>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CONTEXT.with(|slot| *slot.borrow_mut() = previous);
        }
    }
    let previous = CONTEXT.with(|slot| slot.borrow_mut().replace(context));
    let _restore = Restore(previous);
    job()
}

/// The context of the innermost [`within`] scope on this thread (empty outside one).
#[must_use]
pub fn current_context() -> AuditContext {
    CONTEXT.with(|slot| slot.borrow().clone().unwrap_or_default())
}

/// Runs `job` on behalf of `actor`: every audit event the validator makes during it,
/// on this thread, names `actor` (the name of the API client, the operator or the
/// service that asked). The validator's calls are synchronous on the calling thread,
/// so the scope covers exactly the calls made inside `job`; scopes nest, the inner
/// one wins until it ends.
///
/// ```
/// use otpfob::validator::{Store, acting_as};
/// use otpfob::{Enrolment, Keyring, ManualClock, MemoryStore, SealingKey, TokenId, TotpParameters, Validator};
///
/// let bank = Validator::new(MemoryStore::new(), ManualClock::at_secs(1_767_225_600), Keyring::new(SealingKey::generate(1)?));
/// let (enrolment, _secret) = Enrolment::generate(TokenId::new("alice-phone")?, TotpParameters::default())?;
/// let id = acting_as("helpdesk-7".into(), || bank.enrol(enrolment))?;
/// let trail = bank.store().audit_trail(&id, 10)?;
/// assert_eq!(trail[0].actor.as_deref(), Some("helpdesk-7"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn acting_as<T>(actor: Arc<str>, job: impl FnOnce() -> T) -> T {
    struct Restore(Option<Arc<str>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            ACTOR.with(|slot| *slot.borrow_mut() = previous);
        }
    }
    let previous = ACTOR.with(|slot| slot.borrow_mut().replace(actor));
    // Restored even if `job` panics, so a pooled thread never carries an actor over.
    let _restore = Restore(previous);
    job()
}

/// The actor of the innermost [`acting_as`] scope on this thread, if any.
#[must_use]
pub fn current_actor() -> Option<Arc<str>> {
    ACTOR.with(|slot| slot.borrow().clone())
}

/// Runs `job` for `reason`: every audit event the validator makes during it, on this
/// thread, carries the reason (why an operator did it, as they gave it). Like
/// [`acting_as`], which names who, scopes nest and the inner one wins until it ends,
/// also when `job` panics.
///
/// ```
/// use otpfob::validator::{AuditReason, Store, acting_as, giving_reason};
/// use otpfob::{Enrolment, Keyring, ManualClock, MemoryStore, SealingKey, TokenId, TotpParameters, Validator};
///
/// let bank = Validator::new(MemoryStore::new(), ManualClock::at_secs(1_767_225_600), Keyring::new(SealingKey::generate(1)?));
/// let (enrolment, _secret) = Enrolment::generate(TokenId::new("alice-phone")?, TotpParameters::default())?;
/// let reason = AuditReason::new("new customer, branch 12")?;
/// let id = acting_as("helpdesk-7".into(), || giving_reason(reason, || bank.enrol(enrolment)))?;
/// let trail = bank.store().audit_trail(&id, 10)?;
/// assert_eq!(trail[0].reason.as_ref().map(|reason| reason.as_str()), Some("new customer, branch 12"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn giving_reason<T>(reason: AuditReason, job: impl FnOnce() -> T) -> T {
    struct Restore(Option<AuditReason>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            REASON.with(|slot| *slot.borrow_mut() = previous);
        }
    }
    let previous = REASON.with(|slot| slot.borrow_mut().replace(reason));
    let _restore = Restore(previous);
    job()
}

/// The reason of the innermost [`giving_reason`] scope on this thread, if any.
#[must_use]
pub fn current_reason() -> Option<AuditReason> {
    REASON.with(|slot| slot.borrow().clone())
}

/// Somewhere audit events go besides the store's own audit table: a log file, a SIEM.
///
/// Recording is best effort and cannot change a verdict: the store's audit rows,
/// written in the same transaction as the state change, are the authoritative trail.
pub trait AuditSink: Send + Sync {
    /// Records one event.
    fn record(&self, event: &AuditEvent);
}

/// A bounded in-memory audit trail, oldest events dropped first: for tests, demos and
/// the memory store.
#[derive(Debug)]
pub struct AuditLog {
    capacity: usize,
    events: Mutex<VecDeque<AuditEvent>>,
}

impl AuditLog {
    /// A log keeping the newest `capacity` events.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            events: Mutex::new(VecDeque::new()),
        }
    }

    /// Appends an event, dropping the oldest when full.
    pub fn push(&self, event: AuditEvent) {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        if self.capacity == 0 {
            return;
        }
        if events.len() == self.capacity {
            events.pop_front();
        }
        events.push_back(event);
    }

    /// The newest `limit` events of `token`, oldest first.
    #[must_use]
    pub fn events_of(&self, token: &TokenId, limit: usize) -> Vec<AuditEvent> {
        let events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        let mut found: Vec<AuditEvent> = events
            .iter()
            .rev()
            .filter(|event| &event.token == token)
            .take(limit)
            .cloned()
            .collect();
        found.reverse();
        found
    }

    /// Every event held, oldest first.
    #[must_use]
    pub fn all(&self) -> Vec<AuditEvent> {
        let events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        events.iter().cloned().collect()
    }
}

impl AuditSink for AuditLog {
    fn record(&self, event: &AuditEvent) {
        self.push(event.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(token: &str, seconds: i64) -> AuditEvent {
        AuditEvent {
            token: TokenId::new(token).unwrap(),
            at: UnixTime::from_secs(seconds),
            operation: Operation::Verify,
            outcome: Outcome::Rejected(RejectReason::WrongCode),
            offset: None,
            actor: None,
            context: AuditContext::default(),
            reason: None,
            chain: None,
        }
    }

    #[test]
    fn reasons_are_bounded_and_visible_and_their_scopes_end() {
        assert!(AuditReason::new("a").is_ok());
        let longest = "é".repeat(MAX_AUDIT_REASON_CHARS);
        assert!(AuditReason::new(&longest).is_ok());
        assert!(AuditReason::new(&format!("{longest}x")).is_err());
        for bad in [
            "",
            " \t ",
            "line\nbreak",
            "esc\u{1b}[2J",
            "rlo\u{202e}x",
            "zero\u{200b}width",
        ] {
            let error = AuditReason::new(bad).unwrap_err().to_string();
            assert!(
                !error.contains('\u{202e}') && !error.contains('\u{1b}'),
                "{error}"
            );
        }
        assert_eq!(current_reason(), None);
        giving_reason(AuditReason::new("outer").unwrap(), || {
            giving_reason(AuditReason::new("inner").unwrap(), || {
                assert_eq!(current_reason().unwrap().as_str(), "inner");
            });
            assert_eq!(current_reason().unwrap().as_str(), "outer");
        });
        let panicked = std::panic::catch_unwind(|| {
            giving_reason(AuditReason::new("gone").unwrap(), || panic!("job"))
        });
        assert!(panicked.is_err());
        assert_eq!(current_reason(), None);
    }

    #[test]
    fn context_scopes_nest_and_end() {
        assert_eq!(current_context(), AuditContext::default());
        within(AuditContext::new().channel("api"), || {
            within(AuditContext::new().node("b"), || {
                assert_eq!(current_context().node.as_deref(), Some("b"));
                assert_eq!(current_context().channel, None);
            });
            assert_eq!(current_context().channel.as_deref(), Some("api"));
        });
        let panicked =
            std::panic::catch_unwind(|| within(AuditContext::new().node("x"), || panic!("job")));
        assert!(panicked.is_err());
        assert_eq!(current_context(), AuditContext::default());
    }

    #[test]
    fn actor_kind_names_round_trip() {
        for name in ["api_client", "staff", "process"] {
            assert_eq!(ActorKind::from_name(name).unwrap().as_str(), name);
        }
        assert_eq!(ActorKind::from_name("robot"), None);
    }

    #[test]
    fn log_is_bounded_and_filtered() {
        let log = AuditLog::new(3);
        for second in 0..5 {
            log.push(event(if second % 2 == 0 { "a" } else { "b" }, second));
        }
        assert_eq!(log.all().len(), 3);
        let a = log.events_of(&TokenId::new("a").unwrap(), 10);
        assert_eq!(
            a.iter().map(|event| event.at.as_secs()).collect::<Vec<_>>(),
            [2, 4]
        );
    }

    #[test]
    fn actor_scopes_nest_and_end() {
        assert_eq!(current_actor(), None);
        acting_as("outer".into(), || {
            assert_eq!(current_actor().as_deref(), Some("outer"));
            acting_as("inner".into(), || {
                assert_eq!(current_actor().as_deref(), Some("inner"));
            });
            assert_eq!(current_actor().as_deref(), Some("outer"));
        });
        assert_eq!(current_actor(), None);
        let panicked = std::panic::catch_unwind(|| acting_as("gone".into(), || panic!("job")));
        assert!(panicked.is_err());
        assert_eq!(current_actor(), None);
    }

    #[test]
    fn operation_names_round_trip() {
        for name in [
            "verify",
            "resync",
            "enrol",
            "unlock",
            "disable",
            "enable",
            "delete",
            "reseal",
            "set_pin",
            "challenge",
            "signature_challenge",
            "verify_response",
            "verify_signature",
            "set_ocra_pin",
            "export",
            "unlock_code",
        ] {
            assert_eq!(Operation::from_name(name).unwrap().as_str(), name);
        }
    }
}
