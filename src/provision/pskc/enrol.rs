//! From a seed file to a bank: validator records and the matching simulated fobs.

use core::time::Duration;

use super::{ProvisionedToken, PskcContainer, PskcKey};
use crate::clock::{TimeSource, UnixTime};
use crate::device::error::DeviceError;
use crate::device::{Crystal, DEFAULT_LIFETIME, FactoryRecord, SerialNumber};
use crate::parameters::OtpParameters;
use crate::provision::pskc::error::PskcEnrolError;
use crate::secret::Secret;
use crate::validator::enrolment::Enrolment;
use crate::validator::error::TokenIdError;
use crate::validator::lifecycle::Validity;
use crate::validator::record::TokenId;
use crate::validator::service::Validator;
use crate::validator::store::Store;

impl ProvisionedToken {
    /// The id a validator knows this token by: the device's serial number, or the
    /// key's `Id` when the file gives no serial.
    ///
    /// # Errors
    ///
    /// [`TokenIdError`] if that text is not a valid [`TokenId`].
    pub fn token_id(&self) -> Result<TokenId, TokenIdError> {
        TokenId::new(self.serial.as_deref().unwrap_or(&self.key_id))
    }

    /// The token as a validator enrols it under `id` (another id than
    /// [`ProvisionedToken::token_id`]: a reissued device whose serial is already
    /// enrolled): its secret; an event token at the file's counter; a time token with
    /// the file's `<TimeDrift>` as its learned drift (RFC 6030: time steps the device
    /// is ahead of the server), whose drift tolerance counts from the token's start
    /// date if that has passed when it is enrolled, or from its enrolment.
    ///
    /// The token's dates (RFC 6030 §4.3.4 `<Policy>` `<StartDate>`/`<ExpiryDate>`,
    /// and the device's, whichever is narrower) become its validity period: the
    /// validator refuses every code before the start date and from the expiry date
    /// on, whatever the token's status.
    #[must_use]
    pub fn enrolment(&self, id: TokenId) -> Enrolment {
        let enrolment = Enrolment::new(id, self.secret.clone(), self.parameters)
            .with_counter(self.counter)
            .with_drift_steps(self.time_drift)
            .with_validity(Validity {
                not_before: self.start_date,
                not_after: self.expiry_date,
            });
        match self.start_date {
            Some(start) => enrolment.with_synced_at(start),
            None => enrolment,
        }
    }

    /// The factory record of the fob this token belongs to, from which
    /// [`KeyFob::from_record`](crate::KeyFob::from_record) builds the matching
    /// simulated fob.
    ///
    /// - serial: the device's serial number, or the key's `Id` without one;
    /// - secret, parameters, and the counter of the first press (HOTP);
    /// - issued at the token's start date, or `issued_if_unknown` without one;
    /// - expires at the token's expiry date, or [`DEFAULT_LIFETIME`] after issue.
    ///
    /// PSKC carries no unlock key (the key of a fob's PIN unlock procedure, see
    /// [`unlock_code`](crate::device::unlock_code)), so the caller supplies one: the vendor's,
    /// delivered apart from the seed file, or a fresh [`Secret::generate`] for a
    /// simulation, in which case the bank cannot answer the fob's unlock challenge
    /// unless it keeps that key.
    ///
    /// The fob's clock offset is not part of a factory record: build the fob with
    /// [`ProvisionedToken::crystal`] so that it shows codes `time_drift` steps ahead,
    /// as the file says the real one does.
    ///
    /// # Errors
    ///
    /// [`DeviceError::SerialLength`] or [`DeviceError::SerialCharacter`] for a serial
    /// (or key id) that is not a valid [`SerialNumber`], and
    /// [`DeviceError::Parameters`] for invalid code parameters.
    ///
    /// ```
    /// use otpfob::{Device, HotpParameters, KeyFob, ManualClock, Secret, UnixTime, pskc::ProvisionedToken};
    ///
    /// let mut token = ProvisionedToken::new("k1", Secret::from_bytes(b"12345678901234567890")?, HotpParameters::default());
    /// token.serial = Some("987654321".to_owned());
    /// token.counter = 3;
    /// let record = token.factory_record(Secret::generate(256)?, UnixTime::from_secs(1_767_225_600))?;
    /// assert_eq!(record.serial.as_str(), "987654321");
    ///
    /// let world = ManualClock::at_secs(1_767_225_600);
    /// let (mut fob, _) = KeyFob::from_record(&record).crystal(token.crystal()).build(world)?;
    /// assert_eq!(fob.press()?.code().to_string(), "969429"); // RFC 4226, counter 3
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn factory_record(
        &self,
        unlock_key: Secret,
        issued_if_unknown: UnixTime,
    ) -> Result<FactoryRecord, DeviceError> {
        let serial = SerialNumber::new(self.serial.as_deref().unwrap_or(&self.key_id))?;
        self.parameters.validate()?;
        let issued_at = self.start_date.unwrap_or(issued_if_unknown);
        let expires_at = self
            .expiry_date
            .unwrap_or_else(|| issued_at.plus(DEFAULT_LIFETIME));
        Ok(FactoryRecord {
            serial,
            secret: self.secret.clone(),
            parameters: self.parameters,
            initial_counter: self.counter,
            unlock_key,
            issued_at,
            expires_at,
            // PSKC OCRA keys are not turned into tokens (only HOTP and TOTP are), so a
            // fob made from a seed file has no keypad.
            ocra_suite: None,
            ocra_counter: 0,
            ocra_pin_hash: None,
        })
    }

    /// The crystal of the matching simulated fob: perfect, and set `time_drift` time
    /// steps ahead (behind when negative), so that the fob shows the step the file
    /// says the real device shows. Perfect and exact for HOTP tokens.
    #[must_use]
    pub fn crystal(&self) -> Crystal {
        let OtpParameters::Totp(parameters) = self.parameters else {
            return Crystal::PERFECT;
        };
        let offset = Duration::from_secs(
            self.time_drift
                .unsigned_abs()
                .saturating_mul(parameters.time_step),
        );
        if self.time_drift < 0 {
            Crystal::PERFECT.behind(offset)
        } else {
            Crystal::PERFECT.ahead(offset)
        }
    }
}

impl From<&FactoryRecord> for ProvisionedToken {
    /// The record as a token to export with [`write_pskc`](crate::pskc::write_pskc): the
    /// serial is both the key id and the device's serial, the issue and expiry times
    /// become the start and expiry dates. The unlock key is left out: PSKC has no
    /// place for it.
    fn from(record: &FactoryRecord) -> Self {
        let mut token = ProvisionedToken::new(
            record.serial.as_str(),
            record.secret.clone(),
            record.parameters,
        );
        token.serial = Some(record.serial.as_str().to_owned());
        token.counter = match record.parameters {
            OtpParameters::Hotp(_) => record.initial_counter,
            OtpParameters::Totp(_) => 0,
        };
        token.start_date = Some(record.issued_at);
        token.expiry_date = Some(record.expires_at);
        token
    }
}

impl TryFrom<&ProvisionedToken> for Enrolment {
    type Error = TokenIdError;

    /// [`ProvisionedToken::enrolment`] under [`ProvisionedToken::token_id`].
    fn try_from(token: &ProvisionedToken) -> Result<Self, Self::Error> {
        Ok(token.enrolment(token.token_id()?))
    }
}

impl TryFrom<&PskcKey> for Enrolment {
    type Error = PskcEnrolError;

    /// The key as a token ([`PskcKey::token`]), enrolled under its serial number or
    /// key id ([`ProvisionedToken::token_id`]).
    fn try_from(key: &PskcKey) -> Result<Self, Self::Error> {
        Ok(Enrolment::try_from(&key.token()?)?)
    }
}

/// One key of a container that [`Validator::enrol_pskc`] enrolled.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PskcEnrolled {
    /// The key's `Id` in the file.
    pub key_id: String,
    /// The id it was enrolled under ([`ProvisionedToken::token_id`]).
    pub token: TokenId,
}

/// One key of a container that [`Validator::enrol_pskc`] did not enrol, and why.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PskcRefused {
    /// The key's `Id` in the file.
    pub key_id: String,
    /// Why it was not enrolled.
    pub error: PskcEnrolError,
}

/// What [`Validator::enrol_pskc`] did with every key of a container, in document
/// order: each key is in exactly one of the two lists.
#[derive(Debug, Clone, PartialEq, Default)]
#[must_use = "keys that were refused are only reported here"]
#[non_exhaustive]
pub struct PskcEnrolment {
    /// The keys enrolled.
    pub enrolled: Vec<PskcEnrolled>,
    /// The keys not enrolled, each with its error.
    pub refused: Vec<PskcRefused>,
}

impl PskcEnrolment {
    /// Whether every key of the container was enrolled.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.refused.is_empty()
    }
}

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// Enrols every key of a container ([`Validator::enrol`] of
    /// [`Enrolment::try_from`] each key: under [`ProvisionedToken::token_id`], no
    /// server-side PIN) and reports each key: a key that cannot be enrolled is
    /// reported with its error, never skipped, and does not stop the others.
    ///
    /// Refused, among others: keys that are not HOTP or TOTP (an RFC 6030 PIN key, an
    /// OCRA key: [`PskcError::NotAnOtpKey`](crate::pskc::PskcError::NotAnOtpKey)), keys
    /// without a secret (a `<KeyReference>` to a master key), unsupported response
    /// formats, and a second key whose serial number is already enrolled (a reissued
    /// device: enrol it under another id with [`ProvisionedToken::enrolment`]).
    ///
    /// ```
    /// # #[cfg(feature = "pskc")] {
    /// use otpfob::{Keyring, ManualClock, MemoryStore, SealingKey, Validator, pskc::{PskcCredential, read_pskc}};
    ///
    /// let file = std::fs::read("tests/data/pskc/figure3.xml")?;
    /// let container = read_pskc(&file, &PskcCredential::None)?;
    /// let bank = Validator::new(MemoryStore::new(), ManualClock::at_secs(1_767_225_600), Keyring::new(SealingKey::generate(1)?));
    /// let report = bank.enrol_pskc(&container);
    /// assert!(report.is_complete());
    /// assert_eq!(report.enrolled[0].token.as_str(), "987654321");
    /// // The RFC 4226 code of counter 0, in the figure's 8 digits.
    /// assert!(bank.verify(&report.enrolled[0].token, "84755224", None).is_ok());
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn enrol_pskc(&self, container: &PskcContainer) -> PskcEnrolment {
        let mut report = PskcEnrolment::default();
        for key in &container.keys {
            match self.enrol_pskc_key(key) {
                Ok(token) => report.enrolled.push(PskcEnrolled {
                    key_id: key.id.clone(),
                    token,
                }),
                Err(error) => report.refused.push(PskcRefused {
                    key_id: key.id.clone(),
                    error,
                }),
            }
        }
        report
    }

    fn enrol_pskc_key(&self, key: &PskcKey) -> Result<TokenId, PskcEnrolError> {
        Ok(self.enrol(Enrolment::try_from(key)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::TokenKind;
    use crate::{HotpParameters, TotpParameters};

    fn time_token(drift: i64) -> ProvisionedToken {
        let mut token = ProvisionedToken::new(
            "t-1",
            Secret::from_bytes(b"12345678901234567890").unwrap(),
            TotpParameters {
                time_step: 60,
                ..TotpParameters::default()
            },
        );
        token.time_drift = drift;
        token
    }

    #[test]
    fn drift_becomes_the_crystal_offset_and_the_learned_drift() {
        let issued = UnixTime::from_secs(1_000_000);
        for drift in [-3, 0, 2] {
            let token = time_token(drift);
            let shown = token.crystal().local_time(issued, issued);
            assert_eq!(shown.as_secs() - issued.as_secs(), drift * 60);
            let enrolment = token.enrolment(TokenId::new("t-1").unwrap());
            match enrolment.token_kind(issued) {
                TokenKind::Time {
                    drift_steps,
                    synced_at,
                    last_accepted_step: None,
                    ..
                } => assert_eq!((drift_steps, synced_at), (drift, issued)),
                other => panic!("{other:?}"),
            }
        }
        let huge = time_token(i64::MIN);
        let _ = huge.crystal(); // saturates, does not overflow
    }

    #[test]
    fn records_take_the_dates_or_the_fallbacks() {
        let fallback = UnixTime::from_secs(500);
        let mut token = ProvisionedToken::new(
            "key-7",
            Secret::from_bytes(b"k").unwrap(),
            HotpParameters::default(),
        );
        token.counter = 9;
        let unlock = Secret::from_bytes(&[7; 32]).unwrap();
        let record = token.factory_record(unlock.clone(), fallback).unwrap();
        assert_eq!(record.serial.as_str(), "key-7");
        assert_eq!(record.initial_counter, 9);
        assert_eq!(record.issued_at, fallback);
        assert_eq!(record.expires_at, fallback.plus(DEFAULT_LIFETIME));
        assert_eq!(record.unlock_key.expose_bytes(), [7; 32]);

        token.serial = Some("SER-1".to_owned());
        token.start_date = Some(UnixTime::from_secs(100));
        token.expiry_date = Some(UnixTime::from_secs(200));
        let record = token.factory_record(unlock.clone(), fallback).unwrap();
        assert_eq!(
            (record.serial.as_str(), record.issued_at, record.expires_at),
            ("SER-1", UnixTime::from_secs(100), UnixTime::from_secs(200))
        );
        let back = ProvisionedToken::from(&record);
        assert_eq!(
            (back.key_id.as_str(), back.serial.as_deref()),
            ("SER-1", Some("SER-1"))
        );
        assert_eq!((back.counter, back.start_date), (9, token.start_date));

        token.serial = Some("has space".to_owned());
        assert_eq!(
            token.factory_record(unlock, fallback).unwrap_err(),
            DeviceError::SerialCharacter { position: 3 }
        );
        assert_eq!(
            token.token_id(),
            Err(TokenIdError::InvalidCharacter { position: 3 })
        );
    }
}
