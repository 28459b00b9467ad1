//! Audit events: building them, publishing them to the sink, and recording a
//! rejection that changes nothing.

use crate::clock::{TimeSource, UnixTime};
use crate::validator::audit::{AuditEvent, Operation, Outcome};
use crate::validator::decision::Acceptance;
use crate::validator::error::{RejectReason, Rejected};
use crate::validator::record::TokenId;
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
        if reason != RejectReason::UnknownToken {
            let _ = self.store.append_audit(&event);
        }
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
        }
    }

    pub(super) fn publish(&self, event: &AuditEvent) {
        for sink in &self.sinks {
            sink.record(event);
        }
    }
}
