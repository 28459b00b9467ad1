//! Audit events: building them, publishing them to the sink, and recording a
//! rejection that changes nothing.

use crate::clock::{TimeSource, UnixTime};
use crate::validator::audit::{AuditEvent, Operation, Outcome};
use crate::validator::chain::{ChainBreak, ChainBreakKind, ChainReport, verify_trail};
use crate::validator::decision::Acceptance;
use crate::validator::error::ValidatorError;
use crate::validator::error::{RejectReason, Rejected};
use crate::validator::record::{TokenId, TokenRecord};
use crate::validator::store::Store;

use super::Validator;

impl<S: Store, C: TimeSource> Validator<S, C> {
    pub(super) fn reject(
        &self,
        id: &TokenId,
        now: UnixTime,
        operation: Operation,
        reason: RejectReason,
    ) -> Result<Acceptance, Rejected> {
        let event = self.event(id, now, operation, Outcome::Rejected(reason), None);
        // An unknown token is audited too: skipping the write would answer it faster
        // than a wrong code for an enrolled token (one store write), which tells an
        // attacker which ids are enrolled; and the trail then shows who probed.
        let _ = self.store.append_audit(&event);
        self.publish(&event);
        Err(Rejected::new(reason))
    }

    pub(super) fn event(
        &self,
        id: &TokenId,
        at: UnixTime,
        operation: Operation,
        outcome: Outcome,
        offset: Option<i64>,
    ) -> AuditEvent {
        AuditEvent {
            token: id.clone(),
            at,
            operation,
            outcome,
            offset,
            actor: crate::validator::audit::current_actor(),
            context: crate::validator::audit::current_context(),
            reason: crate::validator::audit::current_reason(),
            chain: None,
        }
    }

    /// Makes `event` the next link of `record`'s chain and the record's new head; the
    /// two are then written by one compare-and-swap (or enrolment). Called before the
    /// record is authenticated, so its MAC covers the new head.
    pub(super) fn chain(record: &mut TokenRecord, event: &mut AuditEvent) {
        let link = crate::validator::chain::link(record.audit_head.as_ref(), event);
        event.chain = Some(link);
        record.audit_head = Some(link);
    }

    /// Checks the audit hash chain of `id` against its record's head: the first
    /// broken link, if any (see [`crate::validator::chain`] for what it detects and
    /// what it cannot).
    ///
    /// # Errors
    ///
    /// Store errors (reading the record or the trail).
    ///
    /// # Security
    ///
    /// A record that fails its MAC is reported broken
    /// ([`ChainBreakKind::RecordUnauthentic`]): its head cannot be trusted.
    pub fn verify_audit_chain(&self, id: &TokenId) -> Result<ChainReport, ValidatorError> {
        let record = self.store.load(id)?;
        let events = self.store.audit_trail(id, usize::MAX)?;
        if let Some(record) = &record
            && self.keyring.check_record(record).is_err()
        {
            let mut report = verify_trail(id, None, &events);
            report.broken = Some(ChainBreak {
                position: events.len(),
                at: None,
                operation: None,
                kind: ChainBreakKind::RecordUnauthentic,
            });
            return Ok(report);
        }
        Ok(verify_trail(
            id,
            record.map(|record| record.audit_head),
            &events,
        ))
    }

    /// [`Validator::verify_audit_chain`] for every enrolled token, in id order.
    /// A deleted token has no record and is not listed; check its trail with
    /// [`Validator::verify_audit_chain`] by id.
    ///
    /// # Errors
    ///
    /// The first store error.
    pub fn verify_audit_chains(&self) -> Result<Vec<ChainReport>, ValidatorError> {
        self.store
            .list()?
            .iter()
            .map(|id| self.verify_audit_chain(id))
            .collect()
    }

    pub(super) fn publish(&self, event: &AuditEvent) {
        for sink in &self.sinks {
            sink.record(event);
        }
    }
}
