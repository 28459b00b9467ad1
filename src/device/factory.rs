//! The vendor's record of one fob: what the bank receives to enrol it.

use crate::clock::UnixTime;
use crate::code::Code;
use crate::ocra::{OcraSuite, Password};
use crate::parameters::OtpParameters;
use crate::secret::Secret;
use crate::validator::{Enrolment, OcraEnrolment, TokenId, Validity};

use super::serial::SerialNumber;
use super::unlock::{UnlockChallenge, unlock_code};

/// The vendor's record of one fob, made at the same time as the fob and the only copy
/// of its secret outside it (the seed file a vendor ships with a batch of fobs).
///
/// It holds what the bank needs and nothing it cannot know: the crystal's drift and
/// offset are physical properties of the fob ([`Crystal`](crate::device::Crystal)), which
/// the bank learns only from the codes the customer types.
///
/// ```
/// use otpfob::{KeyFob, ManualClock, OtpParameters, TotpParameters};
///
/// let (_fob, record) = KeyFob::builder("OTPF-0000000007", TotpParameters::default())
///     .build(ManualClock::at_secs(1_767_225_600))?;
/// assert_eq!(record.serial.as_str(), "OTPF-0000000007");
/// assert!(matches!(record.parameters, OtpParameters::Totp(_)));
/// assert_eq!(format!("{:?}", record.secret), "Secret([REDACTED; 20 bytes])");
/// # Ok::<(), otpfob::DeviceError>(())
/// ```
///
/// # Security
///
/// `secret` makes the fob's codes and `unlock_key` opens its PIN gate: seal both at
/// rest and destroy the record's plaintext once enrolled. `ocra_pin_hash` is as
/// guessable as the PIN it hashes: treat it like the secret. `Debug` redacts all
/// three.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FactoryRecord {
    /// The serial number printed on the fob.
    pub serial: SerialNumber,
    /// The OTP secret burned into the fob.
    pub secret: Secret,
    /// How the fob makes its codes: HOTP or TOTP, algorithm, digits, time step, T0.
    pub parameters: OtpParameters,
    /// The counter of an event fob's first press (ignored for time fobs).
    pub initial_counter: u64,
    /// The key of the unlock procedure ([`unlock_code`]), separate from `secret`.
    pub unlock_key: Secret,
    /// When the fob's clock was set at the factory (the start of its drift).
    pub issued_at: UnixTime,
    /// The end of the fob's life (its battery), after which it shows nothing.
    pub expires_at: UnixTime,
    /// The RFC 6287 OCRA suite of a keypad fob
    /// ([`KeyFobBuilder::ocra`](crate::device::KeyFobBuilder::ocra)), which it answers
    /// challenges and signs transfers with, from the same `secret`; `None` for a fob
    /// without a keypad.
    pub ocra_suite: Option<OcraSuite>,
    /// The OCRA counter of the fob's first response, for suites with a counter (`C`).
    pub ocra_counter: u64,
    /// For an OCRA suite with a PIN (`P`): the fob's initial PIN hashed with the
    /// suite's hash, which the bank needs to check responses. The customer's later
    /// PIN changes must reach the bank too
    /// ([`Validator::set_ocra_pin`](crate::Validator::set_ocra_pin)).
    pub ocra_pin_hash: Option<Secret>,
}

impl FactoryRecord {
    /// The bank's answer to the unlock challenge the fob of this record shows:
    /// [`unlock_code`] with this record's unlock key.
    pub fn unlock_code(&self, challenge: &UnlockChallenge) -> Code {
        unlock_code(&self.unlock_key, challenge)
    }
}

impl From<&FactoryRecord> for Enrolment {
    /// The fob as the bank enrols it: the serial becomes the token id; an event fob
    /// starts at the record's first counter; a time fob's drift tolerance counts from
    /// the record's issue time, when the factory set its clock; a keypad fob's OCRA
    /// suite, first OCRA counter and (for `P` suites) PIN hash come along
    /// ([`Enrolment::with_ocra`]); its validity period is from its issue to its
    /// expiry ([`Enrolment::with_validity`]); its unlock key comes along
    /// ([`Enrolment::with_unlock_key`]), so that the bank can answer the fob's unlock
    /// challenge once the record is destroyed. A server-side PIN is the bank's to add
    /// ([`Enrolment::with_pin`]).
    fn from(record: &FactoryRecord) -> Self {
        let enrolment = Enrolment::new(
            TokenId::from(&record.serial),
            record.secret.clone(),
            record.parameters,
        )
        .with_counter(record.initial_counter)
        .with_synced_at(record.issued_at)
        .with_unlock_key(record.unlock_key.clone())
        // The bank refuses the fob's codes outside its life, as the fob itself does
        // past its expiry. A record whose expiry is not after its issue (no factory
        // writes one) keeps only the expiry.
        .with_validity(
            Validity::new(Some(record.issued_at), Some(record.expires_at)).unwrap_or(Validity {
                not_before: None,
                not_after: Some(record.expires_at),
            }),
        );
        match record.ocra_suite {
            None => enrolment,
            Some(suite) => {
                let keypad = OcraEnrolment::new(suite).with_counter(record.ocra_counter);
                enrolment.with_ocra(match &record.ocra_pin_hash {
                    Some(hash) => keypad.with_pin(Password::Hash(hash.expose_bytes())),
                    None => keypad,
                })
            }
        }
    }
}
