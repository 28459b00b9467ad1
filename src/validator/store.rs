//! What the validator needs from a store of token records: the [`Store`] trait, its
//! security requirements, and the outcome of a compare-and-swap. The backends live in
//! `src/store/`.

use crate::validator::audit::AuditEvent;
use crate::validator::error::StoreError;
use crate::validator::record::{TokenId, TokenRecord};

/// The outcome of a compare-and-swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
// Deliberately exhaustive: a compare-and-swap wins or loses; there is no third answer.
#[allow(clippy::exhaustive_enums)]
pub enum Swap {
    /// The stored version was the expected one and the record was replaced.
    Swapped,
    /// The stored version differed (another node changed the token), the stored
    /// incarnation differed (the token was deleted and enrolled again), or the token is
    /// gone; nothing was written.
    Conflict,
}

/// Stores token records for one or many validators.
///
/// # Security
///
/// Implementations must guarantee, for the validator's one-time rule to hold:
///
/// - **Compare-and-swap is atomic.** `compare_and_swap` replaces the record only if
///   the stored version equals `expected_version` **and the stored
///   [`Incarnation`](crate::validator::Incarnation) equals `record.incarnation`**, as one
///   indivisible step against every other writer, in this process or any other
///   sharing the store.
/// - **A record's identity is its id, its incarnation and its version.** Versions
///   restart at 1 when an id is enrolled again; comparing the version alone would let
///   a verification that loaded a deleted enrolment's record write it back over the
///   new enrolment (the lost fob accepted again, the replacement refused). The
///   incarnation is random per enrolment, stored with the record and never changed by
///   a swap.
/// - **Records are stored as given, MAC included.** The validator authenticates each
///   record ([`TokenRecord::mac`]) before it writes and checks it after it reads; a
///   store never holds the MAC key, and must return every field exactly as written.
///   The MAC detects an edited row, not a whole older row (or database) restored with
///   the MAC it had then: never restore token state from a backup without advancing
///   or re-issuing the tokens (README, "Security").
/// - **A swap is durable before it returns `Swapped`** (for durable stores): a crash
///   after the return must not roll the record back, or an accepted code would become
///   acceptable again.
/// - **Audit rows go with their change.** The audit event passed to `enrol`,
///   `compare_and_swap` and `delete` is written in the same transaction as the change,
///   or not at all.
/// - **Errors are reported, never hidden.** A store that cannot tell whether it wrote
///   must return an error; the validator then rejects.
/// - Records hold only sealed secrets and hashed PINs; a store never sees plaintext.
///
/// Every store passes the same suite of tests (`tests/store_suite.rs`).
pub trait Store: Send + Sync {
    /// Adds a new record (version 1) with its audit event.
    ///
    /// # Errors
    ///
    /// [`StoreError::AlreadyEnrolled`] if the id exists; backend errors.
    fn enrol(&self, record: &TokenRecord, audit: &AuditEvent) -> Result<(), StoreError>;

    /// The record of `id`, if enrolled.
    ///
    /// # Errors
    ///
    /// Backend errors, and [`StoreError::Corrupt`] for a stored record that does not
    /// read back into a valid one.
    fn load(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError>;

    /// Replaces the record of `record.id` with `record` if its stored version is
    /// `expected_version` and its stored incarnation is `record.incarnation`, writing
    /// `audit` in the same transaction.
    /// `record.version` must be `expected_version + 1`.
    ///
    /// # Errors
    ///
    /// Backend errors. A version or incarnation mismatch is not an error but
    /// [`Swap::Conflict`].
    fn compare_and_swap(
        &self,
        record: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<Swap, StoreError>;

    /// [`Store::compare_and_swap`] for a record the caller no longer needs, which a
    /// store that keeps records in memory can move in rather than copy. The default
    /// borrows it.
    ///
    /// # Errors
    ///
    /// As [`Store::compare_and_swap`].
    fn compare_and_swap_owned(
        &self,
        record: TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<Swap, StoreError> {
        self.compare_and_swap(&record, expected_version, audit)
    }

    /// Removes the record of `id` with its audit event; `false` if there was none.
    ///
    /// # Errors
    ///
    /// Backend errors.
    fn delete(&self, id: &TokenId, audit: &AuditEvent) -> Result<bool, StoreError>;

    /// Every enrolled id, in order.
    ///
    /// # Errors
    ///
    /// Backend errors.
    fn list(&self) -> Result<Vec<TokenId>, StoreError>;

    /// One page of the enrolled ids in order: the first `limit` after `after` (from the
    /// first id when `None`). A keyset pagination: the next page starts after the last
    /// id of this one, so a token enrolled or deleted between pages neither shifts
    /// nor repeats the others, and a page costs the same wherever it is.
    ///
    /// The default reads every id through [`Store::list`] and keeps one page; every
    /// store in this crate answers from its index instead, and so should any store
    /// that holds many tokens.
    ///
    /// # Errors
    ///
    /// Backend errors.
    fn list_page(&self, after: Option<&TokenId>, limit: usize) -> Result<Vec<TokenId>, StoreError> {
        let mut ids = self.list()?;
        let start = after.map_or(0, |after| ids.partition_point(|id| id <= after));
        ids.drain(..start);
        ids.truncate(limit);
        Ok(ids)
    }

    /// Appends an audit event that comes with no change (a rejection that counted
    /// nothing, such as a code for a locked token).
    ///
    /// # Errors
    ///
    /// Backend errors.
    fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;

    /// Appends the audit event of a rejection that writes no record (an id that is not
    /// enrolled, a record that fails its MAC, a request refused before the decision),
    /// with the work of a compare-and-swap of `probe` to `expected_version + 1`, so that
    /// it takes as long as the rejection of an enrolled token, which writes its record.
    ///
    /// `probe` carries the request's id and an incarnation drawn at random for the
    /// probe, never stored: the swap matches no row. The default appends the audit
    /// event alone; the stores of this crate override it with the same statements as
    /// their compare-and-swap.
    ///
    /// # Security
    ///
    /// An implementation must never write `probe`. Should its swap match (an
    /// incarnation collision, or a store that does not compare incarnations), it
    /// writes nothing and fails with [`StoreError::Corrupt`].
    ///
    /// # Errors
    ///
    /// Backend errors, and [`StoreError::Corrupt`] as above.
    fn record_rejection(
        &self,
        probe: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let _ = (probe, expected_version);
        self.append_audit(audit)
    }

    /// The newest `limit` audit events of `id`, oldest first.
    ///
    /// # Errors
    ///
    /// Backend errors.
    fn audit_trail(&self, id: &TokenId, limit: usize) -> Result<Vec<AuditEvent>, StoreError>;
}

impl<T: Store + ?Sized> Store for std::sync::Arc<T> {
    fn enrol(&self, record: &TokenRecord, audit: &AuditEvent) -> Result<(), StoreError> {
        (**self).enrol(record, audit)
    }
    fn load(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        (**self).load(id)
    }
    fn compare_and_swap(
        &self,
        record: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<Swap, StoreError> {
        (**self).compare_and_swap(record, expected_version, audit)
    }
    fn compare_and_swap_owned(
        &self,
        record: TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<Swap, StoreError> {
        (**self).compare_and_swap_owned(record, expected_version, audit)
    }
    fn delete(&self, id: &TokenId, audit: &AuditEvent) -> Result<bool, StoreError> {
        (**self).delete(id, audit)
    }
    fn list(&self) -> Result<Vec<TokenId>, StoreError> {
        (**self).list()
    }
    fn list_page(&self, after: Option<&TokenId>, limit: usize) -> Result<Vec<TokenId>, StoreError> {
        (**self).list_page(after, limit)
    }
    fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        (**self).append_audit(event)
    }
    fn record_rejection(
        &self,
        probe: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        (**self).record_rejection(probe, expected_version, audit)
    }
    fn audit_trail(&self, id: &TokenId, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        (**self).audit_trail(id, limit)
    }
}
