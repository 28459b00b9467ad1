//! Enrolment: a token's secret sealed, its PIN hashed, its record stored.

use crate::clock::TimeSource;
use crate::device::FactoryRecord;
use crate::ocra::Password;
use crate::ocra::error::OcraError;
use crate::parameters::OtpParameters;
use crate::secret::Secret;
use crate::validator::audit::{Operation, Outcome};
use crate::validator::challenge::{OcraEnrolment, OcraState};
use crate::validator::error::{SealError, ValidatorError};
use crate::validator::record::{Incarnation, TokenId, TokenKind, TokenRecord, TokenState};
use crate::validator::store::Store;

use super::challenge::check_suite;
use super::{Enrolment, Validator};

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// Enrols a new token: seals its secret, hashes its PIN, stores it.
    ///
    /// # Errors
    ///
    /// Bad parameters, a bad PIN, a sealing failure, or a store error (including an id
    /// already enrolled).
    pub fn enrol(&self, enrolment: Enrolment<'_>) -> Result<(), ValidatorError> {
        self.enrol_record(enrolment, None)
    }

    /// Enrols a new token with a keypad: its codes as [`Validator::enrol`] does, and
    /// its RFC 6287 OCRA suite, first OCRA counter and, for a suite with a PIN (`P`),
    /// the device PIN's hash, sealed like the secret (never stored in the clear).
    ///
    /// One record carries both ways the device answers, so they share one failure
    /// count, one lock and one status (see [`TokenState`]). Every token has codes
    /// (`enrolment.kind`): a device that only answers challenges is enrolled with the
    /// parameters it would show codes with, and [`Validator::verify`] then checks codes
    /// nobody without the secret can make, under the same failure limit.
    ///
    /// # Errors
    ///
    /// As [`Validator::enrol`], and [`ValidatorError::OcraSuite`] for a suite with
    /// session information (`S`), which no request carries;
    /// [`ValidatorError::Ocra`] for a `P` suite without a PIN ([`OcraError::Missing`]),
    /// a PIN for a suite without `P` ([`OcraError::NotInSuite`]), an empty PIN or a
    /// hash of the wrong length.
    ///
    /// ```
    /// use otpfob::{Enrolment, Keyring, ManualClock, MemoryStore, validator::OcraEnrolment, ocra::Password};
    /// use otpfob::{SealingKey, Secret, TimeSource, TokenId, TotpParameters, Validator, validator::TokenKind};
    ///
    /// let clock = ManualClock::at_secs(1_767_225_600);
    /// let bank = Validator::new(MemoryStore::new(), clock.clone(), Keyring::new(SealingKey::generate(1)?));
    /// let secret = Secret::generate_default()?;
    /// let id = TokenId::new("FOB-0001234")?;
    /// bank.enrol_with_ocra(
    ///     Enrolment { id: id.clone(), secret: &secret, kind: TokenKind::time(TotpParameters::default(), clock.now()), pin: None },
    ///     OcraEnrolment { suite: "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1".parse()?, counter: 0, pin: Some(Password::Pin(b"2468")) },
    /// )?;
    /// let state = bank.state(&id)?.unwrap();
    /// assert_eq!(state.ocra.as_deref().copied().unwrap().next_counter, Some(0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn enrol_with_ocra(
        &self,
        enrolment: Enrolment<'_>,
        ocra: OcraEnrolment<'_>,
    ) -> Result<(), ValidatorError> {
        self.enrol_record(enrolment, Some(ocra))
    }

    pub(super) fn enrol_record(
        &self,
        enrolment: Enrolment<'_>,
        ocra: Option<OcraEnrolment<'_>>,
    ) -> Result<(), ValidatorError> {
        match enrolment.kind.parameters() {
            Some(parameters) => parameters.validate()?,
            None => check_other_kind(&enrolment)?,
        }
        let now = self.clock.now();
        let mut state = TokenState::new(enrolment.kind);
        let mut ocra_pin = None;
        if let Some(ocra) = ocra {
            check_suite(&ocra.suite)?;
            ocra_pin = match (ocra.suite.pin_hash(), ocra.pin) {
                (Some(hash), Some(pin)) => Some(self.seal_ocra_pin(&enrolment.id, hash, pin)?),
                (Some(_), None) => {
                    return Err(OcraError::Missing {
                        part: crate::ocra::error::DataInputPart::Password,
                    }
                    .into());
                }
                (None, Some(_)) => {
                    return Err(OcraError::NotInSuite {
                        part: crate::ocra::error::DataInputPart::Password,
                    }
                    .into());
                }
                (None, None) => None,
            };
            state.ocra = Some(Box::new(OcraState::new(ocra.suite, ocra.counter, now)));
        }
        let sealed_secret = self.keyring.seal(&enrolment.id, enrolment.secret)?;
        let pin = enrolment
            .pin
            .map(|pin| self.pin_hashing.hash(pin))
            .transpose()?;
        let record = TokenRecord {
            id: enrolment.id,
            sealed_secret,
            pin,
            ocra_pin,
            state,
            enrolled_at: now,
            incarnation: Incarnation::generate()?,
            version: 1,
            mac: None,
        };
        let record = self.authenticated(record)?;
        // Strict mode: the HMAC key goes into the HSM before the token exists, so no
        // enrolled token ever lacks it. A failed enrolment leaves it behind, harmless:
        // it is found only with this incarnation, which nothing stores.
        if let Some(token_keys) = self.keyring.token_keys() {
            token_keys
                .import(&record.id, record.incarnation, enrolment.secret)
                .map_err(|error| SealError::TokenKeyUnavailable {
                    token: record.id.to_string(),
                    error,
                })?;
        }
        let event = self.event(&record.id, now, Operation::Enrol, Outcome::Done, None);
        self.store.enrol(&record, &event)?;
        self.publish(&event);
        Ok(())
    }

    /// Enrols a fob from its vendor's factory record: the serial becomes the token id;
    /// an event fob starts at the record's first counter; a time fob's drift tolerance
    /// counts from the record's issue time, when the factory set its clock. A keypad
    /// fob's OCRA suite, first OCRA counter and (for `P` suites) PIN hash are enrolled
    /// in the same record ([`Validator::enrol_with_ocra`]).
    ///
    /// # Errors
    ///
    /// As [`Validator::enrol_with_ocra`], and [`ValidatorError::TokenId`] for a serial
    /// that is not a valid token id.
    ///
    /// ```
    /// use otpfob::{Device, KeyFob, Keyring, ManualClock, MemoryStore, SealingKey};
    /// use otpfob::{TotpParameters, Validator};
    ///
    /// let world = ManualClock::at_secs(1_767_225_600);
    /// let (mut fob, record) = KeyFob::builder("FOB-0001234", TotpParameters::default())
    ///     .pin("4821")
    ///     .build(world.clone())?;
    /// let bank = Validator::new(MemoryStore::new(), world.clone(), Keyring::new(SealingKey::generate(1)?));
    /// let id = bank.enrol_factory_record(&record, None)?;
    ///
    /// fob.enter_pin("4821")?;
    /// let reading = fob.press()?;
    /// assert!(bank.verify(&id, &reading.code().to_string(), None).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn enrol_factory_record(
        &self,
        record: &FactoryRecord,
        pin: Option<&str>,
    ) -> Result<TokenId, ValidatorError> {
        let id = TokenId::new(record.serial.as_str())?;
        let kind = TokenKind::new(record.parameters, record.initial_counter, record.issued_at);
        let enrolment = Enrolment {
            id: id.clone(),
            secret: &record.secret,
            kind,
            pin,
        };
        let ocra = record.ocra_suite.map(|suite| OcraEnrolment {
            suite,
            counter: record.ocra_counter,
            pin: record
                .ocra_pin_hash
                .as_ref()
                .map(|hash| Password::Hash(hash.expose_bytes())),
        });
        self.enrol_record(enrolment, ocra)?;
        Ok(id)
    }

    /// Enrols a token with a fresh 160-bit secret from the operating system's CSPRNG
    /// and returns the secret, to be delivered once to the customer's device: a
    /// virtual token in an authenticator app (as a key URI or QR code) or a
    /// [`SoftToken`](crate::SoftToken). Only the sealed copy is kept.
    ///
    /// # Errors
    ///
    /// As [`Validator::enrol`], and [`ValidatorError::Seal`] if the operating system
    /// cannot supply randomness.
    ///
    /// ```
    /// use otpfob::{Device, Keyring, ManualClock, MemoryStore, SealingKey, SoftToken};
    /// use otpfob::{TokenId, TotpParameters, Validator};
    ///
    /// let clock = ManualClock::at_secs(1_767_225_600);
    /// let bank = Validator::new(MemoryStore::new(), clock.clone(), Keyring::new(SealingKey::generate(1)?));
    /// let id = TokenId::new("alice-phone")?;
    /// let secret = bank.enrol_generated(&id, TotpParameters::default().into(), None)?;
    ///
    /// let mut phone = SoftToken::new(id.as_str(), &secret, TotpParameters::default(), clock.clone())?;
    /// let code = phone.press()?.code().to_string();
    /// assert!(bank.verify(&id, &code, None).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn enrol_generated(
        &self,
        id: &TokenId,
        parameters: OtpParameters,
        pin: Option<&str>,
    ) -> Result<Secret, ValidatorError> {
        let secret = Secret::generate_default().map_err(|error| {
            ValidatorError::Seal(crate::validator::error::SealError::RandomSource {
                reason: error.to_string(),
            })
        })?;
        let kind = TokenKind::new(parameters, 0, self.clock.now());
        self.enrol(Enrolment {
            id: id.clone(),
            secret: &secret,
            kind,
            pin,
        })?;
        Ok(secret)
    }
}

/// Checks an enrolment of a kind without code parameters: a CAP card's look-ahead and
/// ATC, and that its secret is a card master key (16 bytes).
fn check_other_kind(enrolment: &Enrolment<'_>) -> Result<(), ValidatorError> {
    match enrolment.kind {
        #[cfg(feature = "emv-cap")]
        TokenKind::Cap(card) => {
            card.validate()?;
            crate::emv::CardMasterKey::from_secret(enrolment.secret)?;
            Ok(())
        }
        // Every other kind has parameters.
        _ => Ok(()),
    }
}
