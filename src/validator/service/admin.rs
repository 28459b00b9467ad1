//! Administration: unlock, disable, enable, PINs, deletion, resealing under a new
//! key, and reading a token's state.

use std::collections::BTreeMap;

use crate::clock::{TimeSource, UnixTime};
use crate::ocra::{Password, password_hash};
use crate::validator::audit::{Operation, Outcome};
use crate::validator::error::{RejectReason, SealError, StoreError, ValidatorError};
use crate::validator::pin::PinHash;
use crate::validator::record::{Lock, Status, TokenId, TokenRecord, TokenState};
use crate::validator::sealed::SealedSecret;
use crate::validator::store::{Store, Swap};

use super::{MAX_ATTEMPTS, Validator};

/// How far [`Validator::reseal_all_with_progress`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResealProgress {
    /// Tokens looked at so far.
    pub checked: usize,
    /// Of those, tokens resealed under the current key.
    pub resealed: usize,
    /// Tokens in the store when the run started.
    pub total: usize,
}

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// Applies an administrative change to a token's record with compare-and-swap.
    pub(super) fn administer<T>(
        &self,
        id: &TokenId,
        operation: Operation,
        change: impl Fn(&mut TokenRecord) -> Result<T, ValidatorError>,
    ) -> Result<T, ValidatorError> {
        self.administer_at(id, operation, self.clock.now(), change)
    }

    /// As `administer`, at a time the caller has read.
    pub(super) fn administer_at<T>(
        &self,
        id: &TokenId,
        operation: Operation,
        now: UnixTime,
        change: impl Fn(&mut TokenRecord) -> Result<T, ValidatorError>,
    ) -> Result<T, ValidatorError> {
        self.write_event_at(id, operation, Outcome::Done, now, change)
    }

    /// Writes an event that changes nothing else about the token (a helpdesk lookup,
    /// a block alert) as the next link of its chain: the record is written with only
    /// its version and chain head moved, so that no event of an enrolled token is
    /// left out of its chain.
    pub(super) fn chain_event_at(
        &self,
        id: &TokenId,
        operation: Operation,
        outcome: Outcome,
        now: UnixTime,
    ) -> Result<(), ValidatorError> {
        self.write_event_at(id, operation, outcome, now, |_| Ok(()))
    }

    /// `change` applied to the token's record, written by a compare-and-swap with an
    /// event of `operation` and `outcome` chained into it; retried on a conflict.
    fn write_event_at<T>(
        &self,
        id: &TokenId,
        operation: Operation,
        outcome: Outcome,
        now: UnixTime,
        change: impl Fn(&mut TokenRecord) -> Result<T, ValidatorError>,
    ) -> Result<T, ValidatorError> {
        for _ in 0..MAX_ATTEMPTS {
            let record =
                self.load_checked(id, operation)?
                    .ok_or_else(|| StoreError::NotEnrolled {
                        token: id.to_string(),
                    })?;
            let mut updated = record.clone();
            let value = change(&mut updated)?;
            updated.version = record.version.saturating_add(1);
            let mut event = self.event(id, now, operation, outcome, None);
            Self::chain(&mut updated, &mut event);
            let updated = self.authenticated(updated)?;
            if self
                .store
                .compare_and_swap(&updated, record.version, &event)?
                == Swap::Swapped
            {
                self.publish(&event);
                return Ok(value);
            }
        }
        Err(ValidatorError::Contention {
            token: id.to_string(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Clears a throttling lock and the failure count (the bank's unlock procedure,
    /// after it has identified the customer).
    ///
    /// # Errors
    ///
    /// [`StoreError::NotEnrolled`], store errors, contention.
    pub fn unlock(&self, id: &TokenId) -> Result<(), ValidatorError> {
        self.administer(id, Operation::Unlock, |record| {
            record.state.lock = Lock::Unlocked;
            record.state.failures = 0;
            record.state.lockouts = 0;
            Ok(())
        })
    }

    /// Takes a token out of service: every code is rejected until it is enabled.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::Lifecycle`] for a revoked token (final); and as
    /// [`Validator::unlock`].
    pub fn disable(&self, id: &TokenId) -> Result<(), ValidatorError> {
        self.administer(id, Operation::Disable, |record| {
            refuse_if_revoked(record)?;
            record.state.status = Status::Disabled;
            Ok(())
        })
    }

    /// Puts a disabled (or retired) token back in service.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::Lifecycle`] for a revoked token (final) or one reported lost
    /// ([`Validator::report_found`] puts it back); and as [`Validator::unlock`].
    pub fn enable(&self, id: &TokenId) -> Result<(), ValidatorError> {
        self.administer(id, Operation::Enable, |record| {
            // Revoked is final; a lost token comes back through `report_found`, so
            // the trail says it was found.
            refuse_if_revoked(record)?;
            if record.state.status == Status::Lost {
                return Err(ValidatorError::Lifecycle {
                    token: record.id.to_string(),
                    reason: "the token is reported lost: report it found",
                });
            }
            record.state.status = Status::Active;
            Ok(())
        })
    }

    /// Sets, changes or (with `None`) removes the server-side PIN.
    ///
    /// # Errors
    ///
    /// A PIN of the wrong format, and as [`Validator::unlock`].
    pub fn set_pin(&self, id: &TokenId, pin: Option<&str>) -> Result<(), ValidatorError> {
        let hash: Option<PinHash> = pin.map(|pin| self.pin_hashing.hash(pin)).transpose()?;
        self.administer(id, Operation::SetPin, |record| {
            record.pin = hash.clone();
            Ok(())
        })
    }

    /// Replaces the device PIN's hash of a token whose OCRA suite has a PIN (`P`):
    /// after the customer changed the fob's PIN, or set a new one in the fob's unlock
    /// procedure. The fob hashes the PIN it is opened with into every response, so
    /// until the bank has the new PIN, every response is rejected. The hash is sealed;
    /// the PIN is never stored.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::NoOcra`], [`ValidatorError::OcraSuite`] for a suite without
    /// `P`, [`ValidatorError::Ocra`] for an empty PIN, and as [`Validator::unlock`].
    pub fn set_ocra_pin(&self, id: &TokenId, pin: &str) -> Result<(), ValidatorError> {
        self.administer(id, Operation::SetOcraPin, |record| {
            let keypad =
                record
                    .state
                    .ocra
                    .as_deref()
                    .copied()
                    .ok_or_else(|| ValidatorError::NoOcra {
                        token: record.id.to_string(),
                    })?;
            let hash = keypad.suite.pin_hash().ok_or(ValidatorError::OcraSuite {
                suite: keypad.suite.to_string(),
                reason: "the suite hashes no PIN (P)",
            })?;
            record.ocra_pin =
                Some(self.seal_ocra_pin(&record.id, hash, Password::Pin(pin.as_bytes()))?);
            Ok(())
        })
    }

    /// Hashes a PIN with an OCRA suite's PIN hash (or checks a given hash) and seals
    /// the hash for `token`.
    pub(super) fn seal_ocra_pin(
        &self,
        token: &TokenId,
        hash: crate::algorithm::Algorithm,
        pin: Password<'_>,
    ) -> Result<SealedSecret, ValidatorError> {
        let pin_hash = password_hash(hash, pin)?;
        Ok(self.keyring.seal_ocra_pin_hash(token, &pin_hash)?)
    }

    /// Deletes a token and its state.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotEnrolled`] and store errors.
    pub fn delete(&self, id: &TokenId) -> Result<(), ValidatorError> {
        let event = self.event(id, self.clock.now(), Operation::Delete, Outcome::Done, None);
        // Strict mode: which HMAC key in the HSM is the token's (its incarnation).
        let incarnation = match self.keyring.token_keys() {
            Some(_) => self.store.load(id)?.map(|record| record.incarnation),
            None => None,
        };
        if self.store.delete(id, &event)? {
            self.publish(&event);
            if let (Some(token_keys), Some(incarnation)) = (self.keyring.token_keys(), incarnation)
            {
                // The token is gone either way; a key left behind is found by no one
                // (a re-enrolment has another incarnation).
                let _ = token_keys.remove(id, incarnation);
            }
            Ok(())
        } else {
            Err(StoreError::NotEnrolled {
                token: id.to_string(),
            }
            .into())
        }
    }

    /// Seals every token's secret (and OCRA PIN hash, and fob unlock key) again under
    /// the keyring's current key, and authenticates its record under the current key's
    /// record MAC key, after a key rotation; returns how many tokens were resealed. Tokens
    /// already under the current key are left alone, so an interrupted run can simply
    /// be repeated. As [`Validator::reseal_all_with_progress`] without the progress.
    ///
    /// # Errors
    ///
    /// As [`Validator::reseal_all_with_progress`].
    pub fn reseal_all(&self) -> Result<usize, ValidatorError> {
        self.reseal_all_with_progress(|_| {})
    }

    /// [`Validator::reseal_all`], calling `progress` after every token (resealed or
    /// not), so that a run over a large store can show how far it is.
    ///
    /// Verifications may go on meanwhile, on this validator or others: each token is
    /// resealed by a compare-and-swap on its version like any other change, retried if
    /// a verification changed it first. The new record (secret, OCRA PIN hash, unlock
    /// key and MAC under the new key) replaces the old one in one swap, so a token is always
    /// wholly under one key or wholly under the other, never half-resealed. Keep the
    /// old key in the keyring (as a previous key) until
    /// [`Validator::sealing_keys_in_use`] shows no record under it; only then retire
    /// it.
    ///
    /// # Errors
    ///
    /// The first store or seal error
    /// ([`SealError::RecordTampered`](crate::SealError::RecordTampered) for a record
    /// that fails its MAC check, [`SealError::Backend`](crate::SealError::Backend) for
    /// a key that cannot be used); tokens done before it stay done, the token it failed
    /// on stays wholly under its old key.
    pub fn reseal_all_with_progress(
        &self,
        mut progress: impl FnMut(ResealProgress),
    ) -> Result<usize, ValidatorError> {
        let current = self.keyring.current().key_id();
        let ids = self.store.list()?;
        let mut report = ResealProgress {
            checked: 0,
            resealed: 0,
            total: ids.len(),
        };
        for id in ids {
            let stale = |record: &TokenRecord| {
                record.sealed_secret.key_id != current
                    || record.mac.is_some_and(|mac| mac.key_id != current)
                    || record
                        .ocra_pin
                        .as_ref()
                        .is_some_and(|sealed| sealed.key_id != current)
                    || record
                        .unlock_key
                        .as_ref()
                        .is_some_and(|sealed| sealed.key_id != current)
            };
            let needs = self
                .load_checked(&id, Operation::Reseal)?
                .is_some_and(|record| stale(&record));
            if needs {
                self.administer(&id, Operation::Reseal, |record| {
                    if record.sealed_secret.key_id != current {
                        record.sealed_secret =
                            self.keyring.reseal(&record.id, &record.sealed_secret)?;
                    }
                    if let Some(sealed) = record
                        .ocra_pin
                        .as_ref()
                        .filter(|sealed| sealed.key_id != current)
                    {
                        record.ocra_pin =
                            Some(self.keyring.reseal_ocra_pin_hash(&record.id, sealed)?);
                    }
                    if let Some(sealed) = record
                        .unlock_key
                        .as_ref()
                        .filter(|sealed| sealed.key_id != current)
                    {
                        record.unlock_key = Some(self.keyring.reseal_unlock_key(
                            &record.id,
                            record.incarnation,
                            sealed,
                        )?);
                    }
                    Ok(())
                })?;
                report.resealed += 1;
            }
            report.checked += 1;
            progress(report);
        }
        Ok(report.resealed)
    }

    /// Strict mode, for tokens enrolled before it was on: opens each token's sealed
    /// secret once and imports it into the HSM as the token's HMAC key (tokens whose
    /// key is there already are left as they are). Returns how many tokens it looked
    /// at.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::Seal`] with
    /// [`SealError::TokenKeyUnavailable`](crate::SealError::TokenKeyUnavailable) if
    /// strict mode is off or the HSM refuses, and the first store or seal error;
    /// tokens done before it stay done.
    pub fn import_token_keys(&self) -> Result<usize, ValidatorError> {
        let Some(token_keys) = self.keyring.token_keys() else {
            return Err(SealError::TokenKeyUnavailable {
                token: String::new(),
                error: crate::validator::BackendError::Device {
                    function: "import_token_keys".into(),
                    reason: "strict mode is off: the keyring has no token key backend".into(),
                },
            }
            .into());
        };
        let mut imported = 0;
        for id in self.store.list()? {
            let Some(record) = self.load_checked(&id, Operation::Reseal)? else {
                continue;
            };
            let secret = self.keyring.open(&record.id, &record.sealed_secret)?;
            token_keys
                .import(&record.id, record.incarnation, &secret)
                .map_err(|error| SealError::TokenKeyUnavailable {
                    token: record.id.to_string(),
                    error,
                })?;
            imported += 1;
        }
        Ok(imported)
    }

    /// How many stored records each sealing key id holds something under (the token
    /// secret, the OCRA PIN hash, the unlock key or the record MAC): a key may be
    /// retired only once no record names it.
    ///
    /// # Errors
    ///
    /// Store errors.
    pub fn sealing_keys_in_use(&self) -> Result<BTreeMap<u32, usize>, ValidatorError> {
        let mut in_use = BTreeMap::new();
        for id in self.store.list()? {
            let Some(record) = self.store.load(&id)? else {
                continue;
            };
            let mut keys: Vec<u32> = core::iter::once(record.sealed_secret.key_id)
                .chain(record.ocra_pin.as_ref().map(|sealed| sealed.key_id))
                .chain(record.unlock_key.as_ref().map(|sealed| sealed.key_id))
                .chain(record.mac.map(|mac| mac.key_id))
                .collect();
            keys.sort_unstable();
            keys.dedup();
            for key in keys {
                *in_use.entry(key).or_insert(0) += 1;
            }
        }
        Ok(in_use)
    }

    /// The current state of a token, for administration screens.
    ///
    /// # Errors
    ///
    /// Store errors, and
    /// [`SealError::RecordTampered`](crate::SealError::RecordTampered) for a record
    /// that fails its MAC check.
    pub fn state(&self, id: &TokenId) -> Result<Option<TokenState>, ValidatorError> {
        // Audited as a verification: reading the state is what a login screen does
        // before asking for a code.
        Ok(self
            .load_checked(id, Operation::Verify)?
            .map(|record| record.state))
    }

    /// Authenticates, under the keyring's current key, every stored record that has
    /// no MAC: the records a store migrated from before records were authenticated
    /// (schema version 4), which the validator otherwise refuses. Returns how many it
    /// authenticated; records with a MAC are left alone (and not checked).
    ///
    /// # Errors
    ///
    /// The first store error; records done before it stay done.
    ///
    /// # Security
    ///
    /// Whatever those records hold becomes authentic: run it once, right after the
    /// upgrade, on a database nobody could have edited since, never as a routine.
    pub fn authenticate_unauthenticated_records(&self) -> Result<usize, ValidatorError> {
        let mut authenticated = 0;
        for id in self.store.list()? {
            let Some(record) = self.store.load(&id)? else {
                continue;
            };
            if record.mac.is_some() {
                continue;
            }
            let expected_version = record.version;
            let mut updated = TokenRecord {
                version: expected_version.saturating_add(1),
                ..record
            };
            let mut event = self.event(
                &id,
                self.clock.now(),
                Operation::Reseal,
                Outcome::Done,
                None,
            );
            Self::chain(&mut updated, &mut event);
            let updated = self.authenticated(updated)?;
            if self
                .store
                .compare_and_swap(&updated, expected_version, &event)?
                == Swap::Swapped
            {
                self.publish(&event);
                authenticated += 1;
            }
        }
        Ok(authenticated)
    }

    /// Loads a record and checks its MAC; a failure is audited under `operation`.
    pub(super) fn load_checked(
        &self,
        id: &TokenId,
        operation: Operation,
    ) -> Result<Option<TokenRecord>, ValidatorError> {
        let Some(record) = self.store.load(id)? else {
            return Ok(None);
        };
        if let Err(error) = self.keyring.check_record(&record) {
            // Audited like a rejected code: an edited row is an incident, and so is
            // a key that cannot be reached.
            let event = self.event(
                id,
                self.clock.now(),
                operation,
                Outcome::Rejected(RejectReason::of_seal_error(&error)),
                None,
            );
            let _ = self.store.append_audit(&event);
            self.publish(&event);
            return Err(error.into());
        }
        Ok(Some(record))
    }

    /// `record` with its MAC under the keyring's current key, ready to store.
    pub(super) fn authenticated(&self, record: TokenRecord) -> Result<TokenRecord, SealError> {
        let mac = self.keyring.authenticate_record(&record)?;
        Ok(TokenRecord {
            mac: Some(mac),
            ..record
        })
    }
}

/// Refuses a change to a revoked token's status: revocation is final.
pub(super) fn refuse_if_revoked(record: &TokenRecord) -> Result<(), ValidatorError> {
    if record.state.status == Status::Revoked {
        return Err(ValidatorError::Lifecycle {
            token: record.id.to_string(),
            reason: "the token is revoked, which is final",
        });
    }
    Ok(())
}
