//! Enrolment: a token's secret sealed, its PINs hashed or sealed, its record stored.

use core::num::NonZeroU32;

use crate::clock::TimeSource;
use crate::ocra::error::{DataInputPart, OcraError};
use crate::validator::audit::{Operation, Outcome};
use crate::validator::challenge::OcraState;
use crate::validator::enrolment::Enrolment;
use crate::validator::error::{SealError, ValidatorError};
use crate::validator::record::{
    Incarnation, Lock, Status, TokenId, TokenKind, TokenRecord, TokenState,
};
use crate::validator::store::Store;

use super::Validator;
use super::challenge::check_suite;

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// Enrols a new token, the one way every token comes in (a secret the bank has, a
    /// fresh one, a vendor's factory record, a PSKC key: see [`Enrolment`]): seals its
    /// secret, hashes its server-side PIN, seals its keypad's PIN hash and a fob's
    /// unlock key ([`Enrolment::with_unlock_key`]), stores its record, and returns its
    /// id.
    ///
    /// A time token's drift tolerance counts from the enrolment's synchronisation time
    /// if that has passed ([`Enrolment::with_synced_at`]), or from now. A keypad
    /// ([`Enrolment::with_ocra`]) is enrolled in the same record, so both ways the
    /// device answers share one failure count, one lock and one status (see
    /// [`TokenState`]). Every token has codes: a device that only answers challenges is
    /// enrolled with the parameters it would show codes with, and
    /// [`Validator::verify`] then checks codes nobody without the secret can make,
    /// under the same failure limit.
    ///
    /// # Errors
    ///
    /// Bad parameters, a bad PIN, a sealing failure, or a store error (including an id
    /// already enrolled). For a keypad: [`ValidatorError::OcraSuite`] for a suite with
    /// session information (`S`), which no request carries; [`ValidatorError::Ocra`]
    /// for a `P` suite without a PIN ([`OcraError::Missing`]), a PIN for a suite
    /// without `P` ([`OcraError::NotInSuite`]), an empty PIN or a hash of the wrong
    /// length.
    ///
    /// ```
    /// use otpfob::{Device, Enrolment, KeyFob, Keyring, ManualClock, MemoryStore, SealingKey};
    /// use otpfob::{TotpParameters, Validator};
    ///
    /// let world = ManualClock::at_secs(1_767_225_600);
    /// let (mut fob, record) = KeyFob::builder("FOB-0001234", TotpParameters::default())
    ///     .pin("4821")
    ///     .build(world.clone())?;
    /// let bank = Validator::new(MemoryStore::new(), world.clone(), Keyring::new(SealingKey::generate(1)?));
    /// let id = bank.enrol(Enrolment::from(&record))?;
    ///
    /// fob.enter_pin("4821")?;
    /// let reading = fob.press()?;
    /// assert!(bank.verify(&id, &reading.code().to_string(), None).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn enrol(&self, enrolment: Enrolment) -> Result<TokenId, ValidatorError> {
        enrolment.parameters.validate()?;
        let kind = enrolment.token_kind(self.clock.now());
        self.enrol_as(enrolment, kind)
    }

    /// [`Validator::enrol`] with the token's kind given: for a kind not made from code
    /// parameters (an EMV-CAP card, see `cap.rs`), whose enrolment's parameters are
    /// then unused.
    pub(super) fn enrol_as(
        &self,
        enrolment: Enrolment,
        kind: TokenKind,
    ) -> Result<TokenId, ValidatorError> {
        check_other_kind(&kind, &enrolment)?;
        let now = self.clock.now();
        let mut state = TokenState::new(kind);
        state.validity = enrolment.validity;
        state.uses_left = enrolment.uses.map(NonZeroU32::get);
        if let Some(owner) = &enrolment.owner {
            self.check_room_for(owner, &enrolment.id)?;
        }
        let mut ocra_pin = None;
        if let Some(ocra) = &enrolment.ocra {
            check_suite(&ocra.suite)?;
            ocra_pin = match (ocra.suite.pin_hash(), ocra.pin()) {
                (Some(hash), Some(pin)) => Some(self.seal_ocra_pin(&enrolment.id, hash, pin)?),
                (Some(_), None) => {
                    return Err(OcraError::Missing {
                        part: DataInputPart::Password,
                    }
                    .into());
                }
                (None, Some(_)) => {
                    return Err(OcraError::NotInSuite {
                        part: DataInputPart::Password,
                    }
                    .into());
                }
                (None, None) => None,
            };
            state.ocra = Some(Box::new(OcraState::new(ocra.suite, ocra.counter, now)));
        }
        let sealed_secret = self.keyring.seal(&enrolment.id, &enrolment.secret)?;
        // Drawn before the record so that the unlock key can be bound to it.
        let incarnation = Incarnation::generate()?;
        let unlock_key = enrolment
            .unlock_key
            .as_ref()
            .map(|key| {
                self.keyring
                    .seal_unlock_key(&enrolment.id, incarnation, key)
            })
            .transpose()?;
        let pin = match &enrolment.carried.pin_hash {
            // A migration carries the old server's hash as it is (checked to be Argon2id
            // when it was parsed); nobody needs to know the PIN.
            Some(hash) => Some(hash.clone()),
            None => enrolment
                .pin
                .as_deref()
                .map(|pin| self.pin_hashing.hash(pin))
                .transpose()?,
        };
        // A migration carries the old server's failure count, lock and switch, so that
        // moving a token neither forgives a guesser nor re-opens a disabled token.
        state.failures = enrolment.carried.failures;
        if enrolment.carried.locked {
            state.lock = Lock::UntilUnlocked { since: now };
        }
        if enrolment.carried.disabled {
            state.status = Status::Disabled;
        }
        let record = TokenRecord {
            id: enrolment.id.clone(),
            sealed_secret,
            pin,
            ocra_pin,
            unlock_key,
            state,
            enrolled_at: now,
            incarnation,
            version: 1,
            owner: enrolment.owner.clone(),
            mac: None,
            audit_head: None,
            replaces: enrolment.replaces.clone(),
        };
        let mut record = record;
        let mut event = self.event(&record.id, now, Operation::Enrol, Outcome::Done, None);
        Self::chain(&mut record, &mut event);
        let record = self.authenticated(record)?;
        // Strict mode: the HMAC key goes into the HSM before the token exists, so no
        // enrolled token ever lacks it. A failed enrolment leaves it behind, harmless:
        // it is found only with this incarnation, which nothing stores.
        if let Some(token_keys) = self.keyring.token_keys() {
            token_keys
                .import(&record.id, record.incarnation, &enrolment.secret)
                .map_err(|error| SealError::TokenKeyUnavailable {
                    token: record.id.to_string(),
                    error,
                })?;
        }
        self.store.enrol(&record, &event)?;
        self.publish(&event);
        Ok(record.id)
    }
}

/// Checks an enrolment of a kind without code parameters: a CAP card's look-ahead and
/// ATC, and that its secret is a card master key (16 bytes).
fn check_other_kind(kind: &TokenKind, enrolment: &Enrolment) -> Result<(), ValidatorError> {
    match kind {
        #[cfg(feature = "emv-cap")]
        TokenKind::Cap(card) => {
            // The card's decision keeps its own throttle and would not count uses.
            if enrolment.uses.is_some() {
                return Err(ValidatorError::Lifecycle {
                    token: enrolment.id.to_string(),
                    reason: "a card's codes cannot be limited in number",
                });
            }
            card.validate()?;
            crate::emv::CardMasterKey::from_secret(&enrolment.secret)?;
            Ok(())
        }
        // Every other kind is checked by its parameters.
        _ => {
            let _ = enrolment;
            Ok(())
        }
    }
}
