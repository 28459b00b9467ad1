//! Administration: unlock, disable, enable, PINs, deletion, resealing under a new
//! key, and reading a token's state.

use crate::clock::{TimeSource, UnixTime};
use crate::ocra::{Password, password_hash};
use crate::validator::audit::{Operation, Outcome};
use crate::validator::error::{StoreError, ValidatorError};
use crate::validator::pin::PinHash;
use crate::validator::record::{Lock, Status, TokenId, TokenRecord, TokenState};
use crate::validator::seal::SealedSecret;
use crate::validator::store::{Store, Swap};

use super::{MAX_ATTEMPTS, Validator};

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
        for _ in 0..MAX_ATTEMPTS {
            let record = self
                .store
                .load(id)?
                .ok_or_else(|| StoreError::NotEnrolled {
                    token: id.to_string(),
                })?;
            let mut updated = record.clone();
            let value = change(&mut updated)?;
            updated.version = record.version.saturating_add(1);
            let event = self.event(id, now, operation, Outcome::Done, None);
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
    /// As [`Validator::unlock`].
    pub fn disable(&self, id: &TokenId) -> Result<(), ValidatorError> {
        self.administer(id, Operation::Disable, |record| {
            record.state.status = Status::Disabled;
            Ok(())
        })
    }

    /// Puts a disabled token back in service.
    ///
    /// # Errors
    ///
    /// As [`Validator::unlock`].
    pub fn enable(&self, id: &TokenId) -> Result<(), ValidatorError> {
        self.administer(id, Operation::Enable, |record| {
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
        if self.store.delete(id, &event)? {
            self.publish(&event);
            Ok(())
        } else {
            Err(StoreError::NotEnrolled {
                token: id.to_string(),
            }
            .into())
        }
    }

    /// Seals every token's secret (and OCRA PIN hash) again under the keyring's
    /// current key, after a key rotation; returns how many tokens were resealed. Tokens
    /// already under the current key are left alone, so an interrupted run can simply
    /// be repeated.
    ///
    /// # Errors
    ///
    /// The first store or seal error; tokens done before it stay done.
    pub fn reseal_all(&self) -> Result<usize, ValidatorError> {
        let current = self.keyring.current().id();
        let mut resealed = 0;
        for id in self.store.list()? {
            let stale = |record: &TokenRecord| {
                record.sealed_secret.key_id != current
                    || record
                        .ocra_pin
                        .as_ref()
                        .is_some_and(|sealed| sealed.key_id != current)
            };
            let needs = self.store.load(&id)?.is_some_and(|record| stale(&record));
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
                    Ok(())
                })?;
                resealed += 1;
            }
        }
        Ok(resealed)
    }

    /// The current state of a token, for administration screens.
    ///
    /// # Errors
    ///
    /// Store errors.
    pub fn state(&self, id: &TokenId) -> Result<Option<TokenState>, ValidatorError> {
        Ok(self.store.load(id)?.map(|record| record.state))
    }
}
