//! Verification and resynchronisation of codes: load, open, decide, compare-and-swap,
//! retried on conflict.

use crate::clock::{TimeSource, UnixTime};
use crate::code::Code;
use crate::validator::audit::{Operation, Outcome};
use crate::validator::decision::{Acceptance, Decision, Verdict, decide, decide_resync};
use crate::validator::error::{RejectReason, Rejected};
use crate::validator::generator::CodeGenerator;
use crate::validator::pin::PinHash;
use crate::validator::record::{TokenId, TokenRecord};
use crate::validator::store::{Store, Swap};

use crate::validator::notify::NoticeKind;
use crate::validator::throttle::{imposed_last_temporary_block, imposed_lock};

use super::decoy::{Decoy, DecoyFamily};
use super::{MAX_ATTEMPTS, Validator};

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// Checks a code as typed (`"123 456"` is fine, and white space around it, as web
    /// forms send it, is ignored) with the server-side PIN, if the token has one.
    ///
    /// # Errors
    ///
    /// [`Rejected`] for anything but an acceptance: a wrong, replayed or malformed
    /// code, a wrong PIN, a locked, disabled or unknown token, a store failure.
    pub fn verify(
        &self,
        id: &TokenId,
        code: &str,
        pin: Option<&str>,
    ) -> Result<Acceptance, Rejected> {
        self.run(
            id,
            Operation::Verify,
            DecoyFamily::Code,
            pin,
            |record, pin_ok, now| {
                let generator = self.generator(record)?;
                // Unparseable input counts like any wrong code: a garbled guess is a guess.
                let code = Code::parse(code.trim(), generator.parameters().digits)
                    .unwrap_or_else(|_| malformed_code(&generator));
                let decision = decide(&self.policy, &record.state, &generator, &code, pin_ok, now);
                // An HSM that failed under the scan: the decision is not to be trusted.
                if generator.failed() {
                    return Err(RejectReason::KeyringUnavailable);
                }
                Ok(decision)
            },
        )
    }

    /// Resynchronises a token from two consecutive codes (RFC 4226 §7.4): for a time
    /// token, two codes shown one after the other; for an event token, two presses.
    ///
    /// # Errors
    ///
    /// [`Rejected`], as [`Validator::verify`], and also when the codes are not
    /// consecutive within the resync window.
    pub fn resync(
        &self,
        id: &TokenId,
        first: &str,
        second: &str,
        pin: Option<&str>,
    ) -> Result<Acceptance, Rejected> {
        self.run(
            id,
            Operation::Resync,
            DecoyFamily::Code,
            pin,
            |record, pin_ok, now| {
                let generator = self.generator(record)?;
                let digits = generator.parameters().digits;
                let bogus = malformed_code(&generator);
                let first = Code::parse(first.trim(), digits).unwrap_or(bogus);
                let second = Code::parse(second.trim(), digits).unwrap_or(bogus);
                let decision = decide_resync(
                    &self.policy,
                    &record.state,
                    &generator,
                    &first,
                    &second,
                    pin_ok,
                    now,
                );
                if generator.failed() {
                    return Err(RejectReason::KeyringUnavailable);
                }
                Ok(decision)
            },
        )
    }

    /// Load, open, check PIN, decide, store; retried on conflict. `decide_with` opens
    /// what it needs from the record and takes the pure decision; an error is a
    /// rejection that changes nothing.
    ///
    /// Every path does the same work, so that the time says nothing about why a code
    /// was rejected (issue 11, item 2): an unknown id is decided on the record of the
    /// decoy of `family`, the kind of token the request is for (see `decoy.rs`), Argon2id runs whenever a PIN is supplied, and every rejection
    /// writes once: the record (with its failure counted, or unchanged, as for a
    /// locked or disabled token), or else, where no record may be written, the
    /// store's [`Store::record_rejection`] probe with the audit row.
    pub(super) fn run(
        &self,
        id: &TokenId,
        operation: Operation,
        family: DecoyFamily,
        pin: Option<&str>,
        decide_with: impl Fn(&TokenRecord, bool, UnixTime) -> Result<Decision, RejectReason>,
    ) -> Result<Acceptance, Rejected> {
        let now = self.clock.now();
        let Ok(decoy) = self.decoy_for(family) else {
            // No randomness for the decoy: nothing is decided without it.
            return self.reject(id, now, operation, RejectReason::SealBroken);
        };
        for _ in 0..MAX_ATTEMPTS {
            let loaded = match self.store.load(id) {
                Ok(loaded) => loaded,
                Err(_) => return self.reject(id, now, operation, RejectReason::StoreFailure),
            };
            let enrolled = loaded.is_some();
            let record = loaded.unwrap_or_else(|| decoy.record.clone());
            // Fail closed: an edited record (a lock lifted, a spent step unspent)
            // decides nothing; it is still taken through every step. An unreachable
            // key (an HSM down) rejects too, audited as such.
            let authentic = self
                .keyring
                .check_record(&record)
                .map_err(|error| RejectReason::of_seal_error(&error));
            let pin_ok = self.pin_passes(record.pin.as_ref(), pin, decoy);
            let decided = decide_with(&record, pin_ok, now);
            let decision = match (enrolled, authentic, decided) {
                (false, _, _) => {
                    return self.refuse(
                        id,
                        record,
                        decoy,
                        now,
                        operation,
                        RejectReason::UnknownToken,
                    );
                }
                (true, Err(reason), _) | (true, Ok(()), Err(reason)) => {
                    return self.refuse(id, record, decoy, now, operation, reason);
                }
                (true, Ok(()), Ok(decision)) => decision,
            };
            let outcome = match decision.verdict {
                Verdict::Accepted(_) => Outcome::Accepted,
                Verdict::Rejected(reason) => Outcome::Rejected(reason),
            };
            let offset = match decision.verdict {
                Verdict::Accepted(acceptance) => Some(acceptance.offset),
                Verdict::Rejected(_) => None,
            };
            let mut event = self.event(id, now, operation, outcome, offset);
            let alert = imposed_last_temporary_block(&self.policy, &record.state, &decision.state);
            let locked = imposed_lock(&record.state, &decision.state);
            // The owner only when a notice will need it: this is the hot path.
            let noticed_owner =
                ((alert || locked) && self.notices_wanted()).then(|| record.owner.clone());
            // Written even when the state is unchanged (a locked or disabled token): a
            // rejection that counts nothing must cost what one that counts costs.
            let expected_version = record.version;
            let pin_hash = self.pin_after(&decision.verdict, pin_ok, record.pin.as_ref(), pin);
            let mut updated = TokenRecord {
                state: decision.state,
                version: expected_version.saturating_add(1),
                pin: pin_hash,
                ..record
            };
            Self::chain(&mut updated, &mut event);
            let updated = match self.authenticated(updated) {
                Ok(updated) => updated,
                Err(error) => {
                    return self.reject(id, now, operation, RejectReason::of_seal_error(&error));
                }
            };
            match self
                .store
                .compare_and_swap_owned(updated, expected_version, &event)
            {
                Ok(Swap::Swapped) => {
                    self.publish(&event);
                    let owner = noticed_owner.flatten();
                    if locked {
                        self.send_notice(NoticeKind::Locked, id, owner.clone(), now, |notice| {
                            notice
                        });
                    }
                    if alert {
                        self.raise_block_alert(id, owner, now);
                    }
                    return verdict_result(decision.verdict);
                }
                Ok(Swap::Conflict) => continue,
                Err(_) => return self.reject(id, now, operation, RejectReason::StoreFailure),
            }
        }
        self.reject(id, now, operation, RejectReason::Contention)
    }

    /// A rejection that may write no record (an unknown id, a tampered record, a
    /// request refused before the decision): the audit row, written by the store's
    /// probe with the work of a compare-and-swap of `record` re-authenticated under the
    /// request's id and the decoy's incarnation, which no stored record has.
    /// The PIN hash to store with a decision. A PIN hash at another cost (carried
    /// from privacyIDEA by a migration) is replaced by one at this validator's, in the
    /// same write as the acceptance: the PIN is known to be right only now. A failed
    /// hash keeps the old one; so does every rejection.
    pub(super) fn pin_after(
        &self,
        verdict: &Verdict,
        pin_ok: bool,
        stored: Option<&PinHash>,
        supplied: Option<&str>,
    ) -> Option<PinHash> {
        match (verdict, stored, supplied) {
            (Verdict::Accepted(_), Some(stored), Some(supplied))
                if pin_ok && !self.pin_hashing.is_current(stored) =>
            {
                Some(
                    self.pin_hashing
                        .hash(supplied)
                        .unwrap_or_else(|_| stored.clone()),
                )
            }
            _ => stored.cloned(),
        }
    }

    pub(super) fn refuse(
        &self,
        id: &TokenId,
        record: TokenRecord,
        decoy: &Decoy,
        now: UnixTime,
        operation: Operation,
        reason: RejectReason,
    ) -> Result<Acceptance, Rejected> {
        let event = self.event(id, now, operation, Outcome::Rejected(reason), None);
        // The link is computed and dropped: the probe writes no record, so its event
        // is unchained, but it costs the hash an enrolled token's rejection costs.
        let _ = crate::validator::chain::link(record.audit_head.as_ref(), &event);
        let expected_version = record.version;
        let probe = self.authenticated(TokenRecord {
            id: id.clone(),
            incarnation: decoy.record.incarnation,
            version: expected_version.saturating_add(1),
            ..record
        });
        // The rejection stands whether or not its audit row could be written; without
        // a MAC (the keyring unreachable) the row is appended alone.
        let _ = match probe {
            Ok(probe) => self
                .store
                .record_rejection(&probe, expected_version, &event),
            Err(_) => self.store.append_audit(&event),
        };
        self.publish(&event);
        Err(Rejected::new(reason))
    }
}

pub(super) fn verdict_result(verdict: Verdict) -> Result<Acceptance, Rejected> {
    match verdict {
        Verdict::Accepted(acceptance) => Ok(acceptance),
        Verdict::Rejected(reason) => Err(Rejected::new(reason)),
    }
}

/// A code of the token's length that stands for unparseable input: it goes through
/// the same window computation and counts as a failure.
pub(super) fn malformed_code(generator: &impl CodeGenerator) -> Code {
    // A code of another length than the token's never matches: `decide` rejects it
    // as malformed and counts a failure. Tokens have 6 to 10 digits, so 5 digits is
    // always another length (and `Code::new(0, 5)` cannot fail).
    debug_assert!(generator.parameters().digits >= crate::hotp::MIN_OTP_DIGITS);
    Code::from_truncated(0, crate::hotp::MIN_OTP_DIGITS - 1)
}
