//! The token life cycle: owners, lost and found, revocation, replacement, a customer's
//! verification across all of their tokens, and the helpdesk's lookup.

use crate::clock::{TimeSource, UnixTime};
use crate::code::Code;
use crate::validator::audit::{Operation, Outcome};
use crate::validator::decision::{Acceptance, Decision, Verdict, decide};
use crate::validator::enrolment::Enrolment;
use crate::validator::error::{RejectReason, Rejected, StoreError, ValidatorError};
use crate::validator::generator::CodeGenerator;
use crate::validator::lifecycle::{
    CustomerRef, MAX_TOKENS_PER_CUSTOMER, Validity, may_change_status,
};
use crate::validator::notify::NoticeKind;
use crate::validator::record::{Lock, Status, TokenId, TokenRecord};
use crate::validator::store::{Store, Swap};
use crate::validator::throttle::{imposed_last_temporary_block, imposed_lock};

use super::decoy::{Decoy, DecoyFamily};
use super::verify::malformed_code;
use super::{MAX_ATTEMPTS, Validator};

/// A code accepted for one of a customer's tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CustomerAcceptance {
    /// The token whose code it was (now spent).
    pub token: TokenId,
    /// Where in its window it matched.
    pub acceptance: Acceptance,
}

/// What the helpdesk learns about a code a customer reads out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LookupMatch {
    /// The customer's token whose code it is.
    pub token: TokenId,
    /// Whether the code was already spent (an accepted code read out again).
    pub spent: bool,
    /// The token's status (a lost or locked fob's code still matches).
    pub status: Status,
}

/// One of the [`MAX_TOKENS_PER_CUSTOMER`] slots of a customer's verification: a
/// token of the customer, or the decoy standing in for a token the customer lacks.
struct Slot {
    /// The customer's token id; `None` for padding.
    id: Option<TokenId>,
    record: TokenRecord,
    /// The decision on the loaded record; `Err` for a record that fails its MAC or
    /// whose secret does not open (it writes nothing).
    decided: Result<Decision, RejectReason>,
}

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// Refuses `owner` for another token if it already holds
    /// [`MAX_TOKENS_PER_CUSTOMER`] tokens other than `id`.
    pub(super) fn check_room_for(
        &self,
        owner: &CustomerRef,
        id: &TokenId,
    ) -> Result<(), ValidatorError> {
        let held = self.store.tokens_of(owner)?;
        if !held.contains(id) && held.len() >= MAX_TOKENS_PER_CUSTOMER {
            return Err(ValidatorError::Lifecycle {
                token: id.to_string(),
                reason: "the customer already holds the most tokens allowed",
            });
        }
        Ok(())
    }

    /// Assigns the token to a customer (audited as `assign_owner`). Assigning it to
    /// the customer who already holds it changes nothing but the audit trail.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::Lifecycle`] if the token belongs to another customer
    /// (unassign it first) or the customer holds [`MAX_TOKENS_PER_CUSTOMER`] tokens
    /// already; [`StoreError::NotEnrolled`], store errors, contention.
    ///
    /// # Security
    ///
    /// The limit is checked before the change, not in the same transaction: two
    /// assignments racing for one customer may both pass it. A customer past the
    /// limit still verifies, against their first [`MAX_TOKENS_PER_CUSTOMER`] tokens.
    pub fn assign_owner(&self, id: &TokenId, owner: &CustomerRef) -> Result<(), ValidatorError> {
        self.check_room_for(owner, id)?;
        self.administer(id, Operation::AssignOwner, |record| match &record.owner {
            Some(current) if current != owner => Err(ValidatorError::Lifecycle {
                token: record.id.to_string(),
                reason: "the token belongs to another customer",
            }),
            _ => {
                record.owner = Some(owner.clone());
                Ok(())
            }
        })
    }

    /// Removes the token's customer (audited as `unassign_owner`).
    ///
    /// # Errors
    ///
    /// [`StoreError::NotEnrolled`], store errors, contention.
    pub fn unassign_owner(&self, id: &TokenId) -> Result<(), ValidatorError> {
        self.administer(id, Operation::UnassignOwner, |record| {
            record.owner = None;
            Ok(())
        })
    }

    /// Moves the token to `to`, unless it is revoked (final) or `allowed_from` says
    /// its current status may not.
    fn change_status(
        &self,
        id: &TokenId,
        operation: Operation,
        to: Status,
        allowed_from: impl Fn(Status) -> bool,
        refusal: &'static str,
    ) -> Result<Option<CustomerRef>, ValidatorError> {
        self.administer(id, operation, |record| {
            let from = record.state.status;
            if !may_change_status(from, to) {
                return Err(ValidatorError::Lifecycle {
                    token: record.id.to_string(),
                    reason: "the token is revoked, which is final",
                });
            }
            if !allowed_from(from) {
                return Err(ValidatorError::Lifecycle {
                    token: record.id.to_string(),
                    reason: refusal,
                });
            }
            record.state.status = to;
            Ok(record.owner.clone())
        })
    }

    /// The customer reported the token lost: every code is rejected until
    /// [`Validator::report_found`] (or [`Validator::replace`]).
    ///
    /// # Errors
    ///
    /// [`ValidatorError::Lifecycle`] for a revoked token; [`StoreError::NotEnrolled`],
    /// store errors, contention.
    pub fn report_lost(&self, id: &TokenId) -> Result<(), ValidatorError> {
        let owner = self.change_status(id, Operation::ReportLost, Status::Lost, |_| true, "")?;
        self.send_notice(NoticeKind::Lost, id, owner, self.clock.now(), |notice| {
            notice
        });
        Ok(())
    }

    /// A token reported lost was found: back in service, and every temporary
    /// replacement issued for it ([`Validator::issue_temporary_replacement`],
    /// [`Validator::issue_emergency_codes`]) is revoked, each audited as `revoke`.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::Lifecycle`] for a token that is not lost (a disabled or
    /// revoked one is not put back in service by this); and as
    /// [`Validator::report_lost`]. The fob is back in service before its
    /// replacements are revoked: if a revocation fails, call this again or revoke
    /// the rest; no customer is left without a token.
    pub fn report_found(&self, id: &TokenId) -> Result<(), ValidatorError> {
        let owner = self.change_status(
            id,
            Operation::ReportFound,
            Status::Active,
            |from| from == Status::Lost,
            "the token was not reported lost",
        )?;
        self.end_replacements_of(id, owner.as_ref())
    }

    /// Revokes every temporary replacement the customer holds for `lost`.
    fn end_replacements_of(
        &self,
        lost: &TokenId,
        owner: Option<&CustomerRef>,
    ) -> Result<(), ValidatorError> {
        let Some(owner) = owner else {
            // A replacement is only ever issued for a lost token's customer.
            return Ok(());
        };
        for held in self.store.tokens_of(owner)? {
            let Some(record) = self.load_checked(&held, Operation::Revoke)? else {
                continue;
            };
            if record.replaces.as_ref() == Some(lost) && record.state.status != Status::Revoked {
                // With its own notice: the customer's stop-gap has ended.
                self.revoke(&held)?;
            }
        }
        Ok(())
    }

    /// Revokes the token: final; its record stays for the audit trail, and no code
    /// of it is ever accepted again. It is taken from its customer in the same write
    /// (the trail keeps who held it), so that it no longer counts towards the
    /// customer's [`MAX_TOKENS_PER_CUSTOMER`].
    ///
    /// # Errors
    ///
    /// [`StoreError::NotEnrolled`], store errors, contention.
    pub fn revoke(&self, id: &TokenId) -> Result<(), ValidatorError> {
        let owner = self.revoke_quietly(id)?;
        self.send_notice(NoticeKind::Revoked, id, owner, self.clock.now(), |notice| {
            notice
        });
        Ok(())
    }

    /// Revokes the token without a notice (a replacement sends its own); returns the
    /// customer who held it.
    fn revoke_quietly(&self, id: &TokenId) -> Result<Option<CustomerRef>, ValidatorError> {
        self.administer(id, Operation::Revoke, |record| {
            record.state.status = Status::Revoked;
            Ok(record.owner.take())
        })
    }

    /// Replaces a (lost) token: revokes `old` and its temporary replacements, and
    /// enrols `new` for the same customer. Returns the new token's id.
    ///
    /// # Errors
    ///
    /// As [`Validator::revoke`] and [`Validator::enrol`]. The old token is revoked
    /// first: if the enrolment then fails, the customer has lost one token and gained
    /// none, never the other way round.
    pub fn replace(&self, old: &TokenId, new: Enrolment) -> Result<TokenId, ValidatorError> {
        let owner = self
            .load_checked(old, Operation::Revoke)?
            .ok_or_else(|| StoreError::NotEnrolled {
                token: old.to_string(),
            })?
            .owner;
        let held_by = self.revoke_quietly(old)?;
        self.end_replacements_of(old, owner.as_ref())?;
        let new = match owner {
            Some(owner) if new.owner().is_none() => new.with_owner(owner),
            _ => new,
        };
        let enrolled = self.enrol(new)?;
        self.send_notice(
            NoticeKind::Replaced,
            old,
            held_by,
            self.clock.now(),
            |notice| notice.with_replaced_by(enrolled.clone()),
        );
        Ok(enrolled)
    }

    /// Issues a temporary replacement for a token reported lost: `replacement` (a
    /// soft token the customer installs, typically) is enrolled for the lost token's
    /// customer, valid from now for `lifetime`, after which it is refused on its own
    /// (as `expired`); one enrolled [`Enrolment::with_use_limit`] also ends at its
    /// number of uses (as `uses_spent`). End it sooner with [`Validator::revoke`] when
    /// the fob is found. [`Validator::issue_emergency_codes`] issues a list of
    /// single-use codes instead.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::Lifecycle`] if `lost` is not reported lost or has no customer
    /// (a replacement is for the customer: assign the token first);
    /// [`ValidatorError::Validity`] for a zero `lifetime`; and as [`Validator::enrol`].
    pub fn issue_temporary_replacement(
        &self,
        lost: &TokenId,
        replacement: Enrolment,
        lifetime: core::time::Duration,
    ) -> Result<TokenId, ValidatorError> {
        self.enrol_temporary(lost, lifetime, |_| replacement)
    }

    /// Loads the lost token once, checks it may have a temporary replacement, and
    /// enrols the one `make` builds from its record for its customer, valid from now
    /// for `lifetime` and linked to it.
    pub(super) fn enrol_temporary(
        &self,
        lost: &TokenId,
        lifetime: core::time::Duration,
        make: impl FnOnce(&TokenRecord) -> Enrolment,
    ) -> Result<TokenId, ValidatorError> {
        let record =
            self.load_checked(lost, Operation::Enrol)?
                .ok_or_else(|| StoreError::NotEnrolled {
                    token: lost.to_string(),
                })?;
        if record.state.status != Status::Lost {
            return Err(ValidatorError::Lifecycle {
                token: lost.to_string(),
                reason: "a temporary replacement is only for a token reported lost",
            });
        }
        let Some(owner) = record.owner.clone() else {
            return Err(ValidatorError::Lifecycle {
                token: lost.to_string(),
                reason: "a temporary replacement is for the lost token's customer, and it has none",
            });
        };
        let now = self.clock.now();
        let validity = Validity::new(Some(now), Some(now.plus(lifetime)))?;
        let mut replacement = make(&record).with_validity(validity).with_owner(owner);
        replacement.replaces = Some(lost.clone());
        self.enrol(replacement)
    }

    /// The slots of a customer's verification: their tokens (at most
    /// [`MAX_TOKENS_PER_CUSTOMER`], in id order), then the decoy for each missing
    /// one, each loaded, checked and decided by `decide_with`.
    fn customer_slots(
        &self,
        owner: &CustomerRef,
        pin: Option<&str>,
        decoy: &Decoy,
        now: UnixTime,
        decide_with: &impl Fn(&TokenRecord, bool, UnixTime) -> Result<Decision, RejectReason>,
    ) -> Result<Vec<Slot>, RejectReason> {
        let mut ids = self
            .store
            .tokens_of(owner)
            .map_err(|_| RejectReason::StoreFailure)?;
        ids.truncate(MAX_TOKENS_PER_CUSTOMER);
        let mut slots = Vec::with_capacity(MAX_TOKENS_PER_CUSTOMER);
        for index in 0..MAX_TOKENS_PER_CUSTOMER {
            let id = ids.get(index).cloned();
            // Padding loads too, the decoy's id, which no row has: a customer's token
            // count must not show in the number of reads.
            let loaded = self
                .store
                .load(id.as_ref().unwrap_or(&decoy.record.id))
                .map_err(|_| RejectReason::StoreFailure)?
                .filter(|_| id.is_some());
            // A token deleted since the lookup is padding too.
            let id = id.filter(|_| loaded.is_some());
            slots.push(self.decide_slot(id, loaded, pin, decoy, now, decide_with));
        }
        Ok(slots)
    }

    fn decide_slot(
        &self,
        id: Option<TokenId>,
        loaded: Option<TokenRecord>,
        pin: Option<&str>,
        decoy: &Decoy,
        now: UnixTime,
        decide_with: &impl Fn(&TokenRecord, bool, UnixTime) -> Result<Decision, RejectReason>,
    ) -> Slot {
        let record = loaded.unwrap_or_else(|| decoy.record.clone());
        // The same steps as `run`, in the same order, for a token and the decoy alike.
        let authentic = self
            .keyring
            .check_record(&record)
            .map_err(|error| RejectReason::of_seal_error(&error));
        let pin_ok = self.pin_passes(record.pin.as_ref(), pin, decoy);
        let decided = decide_with(&record, pin_ok, now);
        Slot {
            id,
            decided: authentic.and(decided),
            record,
        }
    }

    /// Checks a code against every usable token of a customer (as typed, with the
    /// server-side PIN of whichever token has one), and accepts it for at most one.
    ///
    /// # Security
    ///
    /// **Same work whichever token matches, or none.** The validator always decides
    /// [`MAX_TOKENS_PER_CUSTOMER`] slots: the customer's tokens, then the decoy for
    /// each one missing, each with its whole window computed and Argon2id run for a
    /// supplied PIN; then it always makes one write per slot: the record of each token
    /// (the accepted one's advanced; the others' with a failure counted if nothing
    /// matched, unchanged if another token took the code), the store's rejection probe
    /// for each decoy. So neither the time nor the number of writes says which token
    /// matched, nor how many tokens the customer holds.
    ///
    /// **At most once.** Within a request, the code is accepted for one token only,
    /// the first in id order whose code it is (should two tokens share it), and that
    /// token is written first with a compare-and-swap: a conflict starts the whole
    /// request again, so the code is never accepted twice (each token's code is
    /// one-time, as in [`Validator::verify`]). Two concurrent requests with the codes
    /// of two different tokens of one customer are two fresh codes: both are accepted,
    /// each for its own token; two with the same code: one is accepted, the other
    /// sees the code spent. A wrong code counts a failure on every usable token of the
    /// customer, so guesses spread over a customer's tokens meet the same limit.
    ///
    /// # Errors
    ///
    /// [`Rejected`] for anything but an acceptance: no token matched, a customer with
    /// no usable token, a store failure.
    pub fn verify_customer(
        &self,
        owner: &CustomerRef,
        code: &str,
        pin: Option<&str>,
    ) -> Result<CustomerAcceptance, Rejected> {
        let now = self.clock.now();
        let Ok(decoy) = self.decoy_for(DecoyFamily::Code) else {
            return Err(Rejected::new(RejectReason::SealBroken));
        };
        let decide_with = |record: &TokenRecord, pin_ok: bool, now: UnixTime| {
            let generator = self.generator(record)?;
            let code = Code::parse(code.trim(), generator.parameters().digits)
                .unwrap_or_else(|_| malformed_code(&generator));
            let decision = decide(&self.policy, &record.state, &generator, &code, pin_ok, now);
            if generator.failed() {
                return Err(RejectReason::KeyringUnavailable);
            }
            Ok(decision)
        };
        for _ in 0..MAX_ATTEMPTS {
            let slots = self
                .customer_slots(owner, pin, decoy, now, &decide_with)
                .map_err(Rejected::new)?;
            let chosen = slots.iter().position(|slot| {
                slot.id.is_some()
                    && matches!(
                        slot.decided,
                        Ok(Decision {
                            verdict: Verdict::Accepted(_),
                            ..
                        })
                    )
            });
            // The accepted token first: if another node spent it meanwhile, nothing
            // has been written and the whole request starts again.
            let mut accepted = None;
            if let Some(index) = chosen {
                let slot = &slots[index];
                match self.write_slot(slot, None, pin, now) {
                    Ok(Some(acceptance)) => accepted = Some((index, acceptance)),
                    Ok(None) => continue,
                    Err(reason) => return Err(Rejected::new(reason)),
                }
            }
            for (index, slot) in slots.iter().enumerate() {
                if Some(index) == chosen {
                    continue;
                }
                let other_matched = accepted
                    .is_some()
                    .then_some(RejectReason::OtherTokenMatched);
                self.settle_slot(slot, other_matched, pin, decoy, now, &decide_with);
            }
            return match accepted {
                Some((index, acceptance)) => Ok(CustomerAcceptance {
                    token: slots[index]
                        .id
                        .clone()
                        .unwrap_or_else(|| decoy.record.id.clone()),
                    acceptance,
                }),
                None => {
                    let reasons: Vec<RejectReason> = slots
                        .iter()
                        .filter(|slot| slot.id.is_some())
                        .filter_map(|slot| match &slot.decided {
                            Ok(Decision {
                                verdict: Verdict::Rejected(reason),
                                ..
                            }) => Some(*reason),
                            Ok(_) => None,
                            Err(reason) => Some(*reason),
                        })
                        .collect();
                    // For the log: a code of another length is "malformed" for a token
                    // whose codes are not that long, which says nothing; the first
                    // token that could have taken it says why it did not.
                    let reason = reasons
                        .iter()
                        .find(|reason| **reason != RejectReason::Malformed)
                        .or(reasons.first())
                        .copied()
                        .unwrap_or(RejectReason::UnknownToken);
                    Err(Rejected::new(reason))
                }
            };
        }
        Err(Rejected::new(RejectReason::Contention))
    }

    /// One compare-and-swap of a slot's token with its decision (or, with
    /// `other_matched`, its state unchanged and that reason audited). `Ok(Some)` for
    /// an acceptance written, `Ok(None)` for a conflict, `Err` for a rejection.
    fn write_slot(
        &self,
        slot: &Slot,
        other_matched: Option<RejectReason>,
        pin: Option<&str>,
        now: UnixTime,
    ) -> Result<Option<Acceptance>, RejectReason> {
        let Some(id) = &slot.id else {
            return Err(RejectReason::UnknownToken);
        };
        let decision = slot.decided.clone()?;
        let (state, verdict) = match other_matched {
            Some(reason) => (slot.record.state.clone(), Verdict::Rejected(reason)),
            None => (decision.state, decision.verdict),
        };
        let (outcome, offset) = match verdict {
            Verdict::Accepted(acceptance) => (Outcome::Accepted, Some(acceptance.offset)),
            Verdict::Rejected(reason) => (Outcome::Rejected(reason), None),
        };
        let alert = imposed_last_temporary_block(&self.policy, &slot.record.state, &state);
        let locked = imposed_lock(&slot.record.state, &state);
        let mut event = self.event(id, now, Operation::VerifyCustomer, outcome, offset);
        let expected_version = slot.record.version;
        // An acceptance implies the right PIN (`decide` accepts nothing else), so a
        // carried PIN hash is brought to this validator's cost here, as `verify` does.
        let pin_hash = self.pin_after(&verdict, true, slot.record.pin.as_ref(), pin);
        let mut updated = TokenRecord {
            state,
            version: expected_version.saturating_add(1),
            pin: pin_hash,
            ..slot.record.clone()
        };
        // The event written with the record is the next link of its chain, as every
        // verification's is.
        Self::chain(&mut updated, &mut event);
        let updated = self
            .authenticated(updated)
            .map_err(|error| RejectReason::of_seal_error(&error))?;
        match self
            .store
            .compare_and_swap_owned(updated, expected_version, &event)
        {
            Ok(Swap::Swapped) => {
                self.publish(&event);
                if locked {
                    let owner = slot.record.owner.clone();
                    self.send_notice(NoticeKind::Locked, id, owner, now, |notice| notice);
                }
                if alert {
                    self.raise_block_alert(id, slot.record.owner.clone(), now);
                }
                match verdict {
                    Verdict::Accepted(acceptance) => Ok(Some(acceptance)),
                    Verdict::Rejected(reason) => Err(reason),
                }
            }
            Ok(Swap::Conflict) => Ok(None),
            Err(_) => Err(RejectReason::StoreFailure),
        }
    }

    /// Writes a slot that was not accepted: the token's failure (or, with
    /// `other_matched`, its unchanged state), retried on the fresh record after a
    /// conflict; a decoy's or an unreadable record's probe.
    fn settle_slot(
        &self,
        slot: &Slot,
        other_matched: Option<RejectReason>,
        pin: Option<&str>,
        decoy: &Decoy,
        now: UnixTime,
        decide_with: &impl Fn(&TokenRecord, bool, UnixTime) -> Result<Decision, RejectReason>,
    ) {
        let (Some(id), Ok(_)) = (&slot.id, &slot.decided) else {
            let id = slot.id.clone().unwrap_or_else(|| decoy.record.id.clone());
            let reason = match &slot.decided {
                Err(reason) if slot.id.is_some() => *reason,
                _ => RejectReason::UnknownToken,
            };
            let _ = self.refuse(
                &id,
                slot.record.clone(),
                decoy,
                now,
                Operation::VerifyCustomer,
                reason,
            );
            return;
        };
        let mut current = None::<Slot>;
        for _ in 0..MAX_ATTEMPTS {
            let slot = current.as_ref().unwrap_or(slot);
            // A code found for this token only on its fresh record (after a conflict)
            // is not accepted: the request has settled which token took it.
            let other_matched = other_matched.or(match &slot.decided {
                Ok(Decision {
                    verdict: Verdict::Accepted(_),
                    ..
                }) => Some(RejectReason::OtherTokenMatched),
                _ => None,
            });
            match self.write_slot(slot, other_matched, pin, now) {
                Ok(None) => {}
                _ => return,
            }
            let Ok(Some(fresh)) = self.store.load(id) else {
                return;
            };
            current =
                Some(self.decide_slot(Some(id.clone()), Some(fresh), pin, decoy, now, decide_with));
        }
    }

    /// Finds which of a customer's tokens `code` belongs to, without accepting it:
    /// nothing changes but the audit trail (one `lookup` row per token of the
    /// customer, each chained into its token's trail, so each record's version and
    /// chain head move). A lost, disabled, locked or expired token's code is found too, and
    /// a spent one is reported as such; the server-side PIN is not asked.
    ///
    /// # Security
    ///
    /// For the helpdesk, behind its own authorisation: it tells whether a code is a
    /// customer's, so it must not be open to the customer's side. It does the work of
    /// [`MAX_TOKENS_PER_CUSTOMER`] tokens, as [`Validator::verify_customer`].
    ///
    /// # Errors
    ///
    /// [`Rejected`] for a store failure or a record that fails its MAC.
    pub fn lookup_customer_code(
        &self,
        owner: &CustomerRef,
        code: &str,
    ) -> Result<Option<LookupMatch>, Rejected> {
        let now = self.clock.now();
        let Ok(decoy) = self.decoy_for(DecoyFamily::Code) else {
            return Err(Rejected::new(RejectReason::SealBroken));
        };
        // The match only: a state with every refusal lifted, so a lost or locked
        // fob's code is still found, and `pin_ok` as the PIN is not the question.
        let decide_with = |record: &TokenRecord, _pin_ok: bool, now: UnixTime| {
            let generator = self.generator(record)?;
            let code = Code::parse(code.trim(), generator.parameters().digits)
                .unwrap_or_else(|_| malformed_code(&generator));
            let mut state = record.state.clone();
            state.status = Status::Active;
            state.lock = Lock::Unlocked;
            state.validity = Validity::ALWAYS;
            state.uses_left = None;
            let decision = decide(&self.policy, &state, &generator, &code, true, now);
            if generator.failed() {
                return Err(RejectReason::KeyringUnavailable);
            }
            Ok(decision)
        };
        let slots = self
            .customer_slots(owner, None, decoy, now, &decide_with)
            .map_err(Rejected::new)?;
        let mut found = None;
        for slot in &slots {
            let Some(id) = &slot.id else {
                // Padding: the write a token's lookup makes, as the rejection of an
                // unknown id does it (the probe and its audit row).
                let _ = self.refuse(
                    &decoy.record.id,
                    slot.record.clone(),
                    decoy,
                    now,
                    Operation::Lookup,
                    RejectReason::UnknownToken,
                );
                continue;
            };
            let matched = match &slot.decided {
                Ok(Decision {
                    verdict: Verdict::Accepted(_),
                    ..
                }) => Some(false),
                Ok(Decision {
                    verdict: Verdict::Rejected(RejectReason::Replayed),
                    ..
                }) => Some(true),
                Ok(_) => None,
                Err(reason) => return Err(Rejected::new(*reason)),
            };
            let outcome = match matched {
                Some(_) if found.is_none() => Outcome::Done,
                _ => Outcome::Rejected(RejectReason::WrongCode),
            };
            // The lookup is the next link of the token's chain: its record is written
            // with nothing changed but its version and chain head. A write that fails
            // (a token deleted meanwhile, contention) is appended unchained instead.
            if self
                .chain_event_at(id, Operation::Lookup, outcome, now)
                .is_err()
            {
                let event = self.event(id, now, Operation::Lookup, outcome, None);
                let _ = self.store.append_audit(&event);
                self.publish(&event);
            }
            if let (Some(spent), None) = (matched, &found) {
                found = Some(LookupMatch {
                    token: id.clone(),
                    spent,
                    status: slot.record.state.status,
                });
            }
        }
        Ok(found)
    }

    /// Writes and publishes the alert that the token's next block is permanent, and
    /// sends its notice.
    pub(super) fn raise_block_alert(
        &self,
        id: &TokenId,
        owner: Option<CustomerRef>,
        now: UnixTime,
    ) {
        // Chained into the token's trail, so that deleting the alert's row (the proof
        // that the customer was to be warned) is detected. If the record cannot be
        // written (contention, a store failure), the row is appended unchained rather
        // than lost; the notice goes either way.
        if self
            .chain_event_at(id, Operation::BlockAlert, Outcome::Done, now)
            .is_err()
        {
            let alert = self.event(id, now, Operation::BlockAlert, Outcome::Done, None);
            let _ = self.store.append_audit(&alert);
            self.publish(&alert);
        }
        self.send_notice(NoticeKind::BlockAlert, id, owner, now, |notice| notice);
    }
}
