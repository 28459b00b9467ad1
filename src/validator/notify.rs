//! Notifications: the life-cycle events a bank tells its customer or its fraud desk
//! about, as they happen: a token locked, its last temporary block before a permanent
//! one (PSD2 RTS Art. 4(5), the `block_alert` audit event), reported lost, replaced,
//! revoked, and soon at the end of its validity period.
//!
//! The [`Validator`](crate::Validator) hands each [`Notice`] to every [`NoticeSink`]
//! added with [`Validator::with_notice_sink`](crate::Validator::with_notice_sink),
//! after the store has the change, as it hands audit events to its
//! [`AuditSink`](crate::validator::AuditSink)s. Expiry is not an event the validator
//! sees happen: [`Validator::notify_expiring`](crate::Validator::notify_expiring)
//! scans the store for tokens whose period ends within a given time and notifies each;
//! run it periodically (the server does).
//!
//! ```
//! use std::sync::Arc;
//! use otpfob::validator::notify::{NoticeKind, NoticeLog};
//! use otpfob::{Enrolment, HotpParameters, Keyring, ManualClock, MemoryStore, SealingKey};
//! use otpfob::{Secret, TokenId, Validator};
//!
//! let notices = Arc::new(NoticeLog::new());
//! let validator = Validator::new(MemoryStore::new(), ManualClock::at_secs(1_700_000_000),
//!     Keyring::new(SealingKey::generate(1)?))
//!     .with_notice_sink(Arc::clone(&notices));
//! let id = validator.enrol(Enrolment::new(TokenId::new("FOB-1")?,
//!     Secret::generate_default()?, HotpParameters::default()))?;
//! validator.report_lost(&id)?;
//! assert_eq!(notices.all()[0].kind, NoticeKind::Lost);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Security
//!
//! A notice carries the token id, the customer reference, times and the API client
//! that caused it: never a code, a PIN or a secret. Delivery is best effort and cannot
//! change a verdict; a sink that must not lose a notice (a webhook) writes it to a
//! durable outbox of its own before it returns.

use core::fmt;
use core::time::Duration;
use std::sync::{Arc, Mutex, PoisonError};

use crate::clock::UnixTime;
use crate::validator::lifecycle::{CustomerRef, Validity};
use crate::validator::record::{Status, TokenId};

/// What happened to the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NoticeKind {
    /// The failure limit was reached: the token is locked (temporarily or until
    /// unlocked, by the policy).
    Locked,
    /// The token got its last temporary block: the next one is permanent (PSD2 RTS
    /// Art. 4(5)); tell the customer while it is still temporary.
    BlockAlert,
    /// The token was reported lost.
    Lost,
    /// The token was revoked and replaced by another ([`Notice::replaced_by`]).
    Replaced,
    /// The token was revoked (final).
    Revoked,
    /// The token's validity period ends soon ([`Notice::expires_at`]).
    ExpiringSoon,
}

impl NoticeKind {
    /// Every kind, in declaration order.
    pub const ALL: [NoticeKind; 6] = [
        NoticeKind::Locked,
        NoticeKind::BlockAlert,
        NoticeKind::Lost,
        NoticeKind::Replaced,
        NoticeKind::Revoked,
        NoticeKind::ExpiringSoon,
    ];

    /// A short stable name, for payloads and tables.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            NoticeKind::Locked => "locked",
            NoticeKind::BlockAlert => "block_alert",
            NoticeKind::Lost => "lost",
            NoticeKind::Replaced => "replaced",
            NoticeKind::Revoked => "revoked",
            NoticeKind::ExpiringSoon => "expiring_soon",
        }
    }

    /// The kind named by [`NoticeKind::as_str`].
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for NoticeKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One notification: what happened to which token, whose it is, when.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notice {
    /// What happened.
    pub kind: NoticeKind,
    /// The token.
    pub token: TokenId,
    /// Its customer, if it has one (for a revoked or replaced token: the customer who
    /// held it).
    pub owner: Option<CustomerRef>,
    /// When it happened (for [`NoticeKind::ExpiringSoon`]: when the scan found it).
    pub at: UnixTime,
    /// [`NoticeKind::ExpiringSoon`]: the end of the token's validity period.
    pub expires_at: Option<UnixTime>,
    /// [`NoticeKind::Replaced`]: the token that replaced it.
    pub replaced_by: Option<TokenId>,
    /// The client or staff member whose request caused it, if any (as the audit
    /// trail's actor).
    pub actor: Option<Arc<str>>,
}

impl Notice {
    /// A notice of `kind` about `token` at `at`, with nothing else known.
    #[must_use]
    pub fn new(kind: NoticeKind, token: TokenId, at: UnixTime) -> Self {
        Self {
            kind,
            token,
            owner: None,
            at,
            expires_at: None,
            replaced_by: None,
            actor: None,
        }
    }

    /// The same notice naming the token's customer.
    #[must_use]
    pub fn with_owner(mut self, owner: Option<CustomerRef>) -> Self {
        self.owner = owner;
        self
    }

    /// The same notice with the end of the token's period.
    #[must_use]
    pub fn with_expires_at(mut self, expires_at: UnixTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// The same notice naming the token that replaced it.
    #[must_use]
    pub fn with_replaced_by(mut self, replaced_by: TokenId) -> Self {
        self.replaced_by = Some(replaced_by);
        self
    }

    /// The same notice naming who caused it.
    #[must_use]
    pub fn with_actor(mut self, actor: Option<Arc<str>>) -> Self {
        self.actor = actor;
        self
    }

    /// A name for the event itself, the same however often it is noticed, for a
    /// durable outbox to keep it once: `Some` for [`NoticeKind::ExpiringSoon`] (every
    /// scan finds the same expiry again until it has passed), `None` for the events
    /// that happen once each time.
    #[must_use]
    pub fn once_key(&self) -> Option<String> {
        match (self.kind, self.expires_at) {
            (NoticeKind::ExpiringSoon, Some(end)) => {
                Some(format!("{}:{}:{}", self.kind, self.token, end.as_secs()))
            }
            _ => None,
        }
    }
}

/// Somewhere notices go: a webhook outbox, a message queue, a test's log.
///
/// # Security
///
/// Called on the validator's thread, after the store has the change: a sink must be
/// quick (write to a local outbox, not a network round trip) and must not panic.
pub trait NoticeSink: Send + Sync {
    /// Takes one notice.
    fn notify(&self, notice: &Notice);
}

impl<T: NoticeSink + ?Sized> NoticeSink for Arc<T> {
    fn notify(&self, notice: &Notice) {
        (**self).notify(notice);
    }
}

/// Every notice in memory, in order: for tests and demos.
#[derive(Debug, Default)]
pub struct NoticeLog {
    notices: Mutex<Vec<Notice>>,
}

impl NoticeLog {
    /// An empty log.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every notice so far, oldest first.
    #[must_use]
    pub fn all(&self) -> Vec<Notice> {
        self.notices
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl NoticeSink for NoticeLog {
    fn notify(&self, notice: &Notice) {
        self.notices
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(notice.clone());
    }
}

/// The end of the token's period if it is in service and its period ends after `now`
/// and within `ahead` of it: the expiry scan's rule. Pure.
#[must_use]
pub fn expiring_within(
    status: Status,
    validity: Validity,
    now: UnixTime,
    ahead: Duration,
) -> Option<UnixTime> {
    let end = validity.not_after?;
    (status == Status::Active && end > now && end <= now.plus(ahead)).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> UnixTime {
        UnixTime::from_secs(seconds)
    }

    #[test]
    fn the_scan_finds_active_tokens_ending_within_the_time_ahead() {
        let ahead = Duration::from_secs(100);
        let ends_at = |end| Validity::new(None, Some(at(end))).unwrap();
        assert_eq!(
            expiring_within(Status::Active, ends_at(1100), at(1000), ahead),
            Some(at(1100))
        );
        assert_eq!(
            expiring_within(Status::Active, ends_at(1050), at(1000), ahead),
            Some(at(1050))
        );
        // Beyond the time ahead, already ended, or no end: not yet, no longer, never.
        assert_eq!(
            expiring_within(Status::Active, ends_at(1101), at(1000), ahead),
            None
        );
        assert_eq!(
            expiring_within(Status::Active, ends_at(1000), at(1000), ahead),
            None
        );
        assert_eq!(
            expiring_within(Status::Active, Validity::ALWAYS, at(1000), ahead),
            None
        );
        // A token out of service is not worth telling about.
        for status in [
            Status::Disabled,
            Status::Lost,
            Status::Revoked,
            Status::Expired,
        ] {
            assert_eq!(
                expiring_within(status, ends_at(1050), at(1000), ahead),
                None
            );
        }
    }

    #[test]
    fn only_an_expiry_is_kept_once() {
        let token = TokenId::new("FOB-1").unwrap();
        let expiring =
            Notice::new(NoticeKind::ExpiringSoon, token.clone(), at(5)).with_expires_at(at(99));
        let again =
            Notice::new(NoticeKind::ExpiringSoon, token.clone(), at(6)).with_expires_at(at(99));
        assert_eq!(expiring.once_key(), again.once_key());
        assert_eq!(
            expiring.once_key().as_deref(),
            Some("expiring_soon:FOB-1:99")
        );
        assert_eq!(Notice::new(NoticeKind::Lost, token, at(5)).once_key(), None);
    }

    #[test]
    fn names_round_trip() {
        for kind in NoticeKind::ALL {
            assert_eq!(NoticeKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(NoticeKind::from_name("found"), None);
    }
}
