//! The simulated physical key fob: a sealed secret, a drifting crystal, a PIN pad, a
//! battery, one button.

use core::time::Duration;

use crate::clock::{TimeSource, UnixTime};
use crate::code::Code;
use crate::error::DeviceError;
use crate::mac::KeyedMac;
use crate::parameters::OtpParameters;
use crate::secret::Secret;

use super::backend::{Device, DeviceKind, DeviceState, Reading};
use super::challenge::{ChallengeContext, ChallengeResponder};
use super::crystal::Crystal;
use super::factory::FactoryRecord;
use super::generator::CodeGenerator;
use super::pin::{DEFAULT_PIN_TRIES, Pin, PinGate};
use super::serial::SerialNumber;
use super::unlock::{UnlockChallenge, unlock_code_with, unlock_mac};

/// How long a fob lives unless told otherwise: five Julian years, the top of the
/// three to five years a fob's battery lasts.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(5 * 31_557_600);

/// Bits of a fob's unlock key when the builder makes one.
const UNLOCK_KEY_BITS: usize = 256;

/// A simulated physical key fob, as a bank hands to its customers.
///
/// - **Its own clock**: the world's [`TimeSource`] seen through the fob's
///   [`Crystal`] (drift and factory offset); a time fob shows the code of the step
///   its own clock is in, so a fob drifting 10 ppm is a step ahead after a month
///   and a half.
/// - **Event mode**: every press moves the counter, whether or not the code is used.
/// - **PIN gate** (if given a PIN): asked before every operation; after the
///   configured number of wrong tries ([`DEFAULT_PIN_TRIES`]) the fob locks itself
///   and shows an [`UnlockChallenge`] that the bank answers with
///   [`unlock_code`](crate::unlock_code).
/// - **End of life**: from its expiry on, every operation fails with
///   [`DeviceError::Expired`].
/// - **Challenge-response** (keypad fobs): through a [`ChallengeResponder`].
///
/// The secret cannot be read back: [`KeyFobBuilder::build`] returns the
/// [`FactoryRecord`], the only other copy.
///
/// ```
/// use otpfob::{Crystal, Device, KeyFob, ManualClock, Totp, TotpParameters};
/// use std::time::Duration;
///
/// let world = ManualClock::at_secs(1_767_225_600);
/// let (mut fob, record) = KeyFob::builder("OTPF-0000000001", TotpParameters::default())
///     .crystal(Crystal::from_ppm(12.0)?)
///     .build(world.clone())?;
/// world.advance(Duration::from_secs(365 * 86_400)); // a year on, 6.3 minutes ahead
/// let reading = fob.press()?;
/// let bank = Totp::new(&record.secret, TotpParameters::default())?;
/// let fob_seconds = fob.local_time().as_secs() as u64;
/// assert_eq!(reading.code(), bank.at(fob_seconds)?);
/// assert_eq!(fob_seconds - world.now().as_secs() as u64, 378);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct KeyFob<T> {
    serial: SerialNumber,
    generator: CodeGenerator,
    world: T,
    issued_at: UnixTime,
    crystal: Crystal,
    expires_at: UnixTime,
    pin_gate: Option<PinGate>,
    unlock_key: KeyedMac,
    responder: Option<Box<dyn ChallengeResponder>>,
}

impl KeyFob<()> {
    /// Starts a fob with this serial number and code parameters; everything else has
    /// a default (see [`KeyFobBuilder`]).
    pub fn builder(serial: &str, parameters: impl Into<OtpParameters>) -> KeyFobBuilder {
        KeyFobBuilder {
            serial: SerialNumber::new(serial),
            parameters: parameters.into(),
            secret: None,
            unlock_key: None,
            initial_counter: 0,
            issued_at: None,
            expiry: Expiry::Lifetime(DEFAULT_LIFETIME),
            pin: None,
            pin_tries: DEFAULT_PIN_TRIES,
            crystal: Crystal::PERFECT,
            responder: None,
        }
    }

    /// Starts a fob that matches an existing factory record (a vendor's seed file,
    /// or the record of a fleet member): same serial, secret, unlock key,
    /// parameters, counter, issue and expiry times. Add a PIN and a crystal.
    pub fn from_record(record: &FactoryRecord) -> KeyFobBuilder {
        KeyFobBuilder {
            serial: Ok(record.serial.clone()),
            parameters: record.parameters,
            secret: Some(record.secret.clone()),
            unlock_key: Some(record.unlock_key.clone()),
            initial_counter: record.initial_counter,
            issued_at: Some(record.issued_at),
            expiry: Expiry::At(record.expires_at),
            pin: None,
            pin_tries: DEFAULT_PIN_TRIES,
            crystal: Crystal::PERFECT,
            responder: None,
        }
    }
}

impl<T: TimeSource> KeyFob<T> {
    /// The time the fob's own clock shows now.
    pub fn local_time(&self) -> UnixTime {
        self.crystal.local_time(self.issued_at, self.world.now())
    }

    /// The fob's crystal: a physical property the bank does not know.
    #[must_use]
    pub fn crystal(&self) -> Crystal {
        self.crystal
    }

    /// The counter the next press of an event fob shows (`None` for time fobs): for
    /// simulations, a real fob does not display it.
    #[must_use]
    pub fn counter(&self) -> Option<u64> {
        self.generator.counter()
    }

    /// When the fob's life ends.
    #[must_use]
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    fn check_alive(&self) -> Result<(), DeviceError> {
        if self.world.now() >= self.expires_at {
            return Err(DeviceError::Expired {
                expired_at: self.expires_at,
            });
        }
        Ok(())
    }

    fn gate(&mut self, operation: &'static str) -> Result<&mut PinGate, DeviceError> {
        self.pin_gate
            .as_mut()
            .ok_or(DeviceError::Unsupported { operation })
    }

    fn pass_gate(&mut self) -> Result<(), DeviceError> {
        match self.pin_gate.as_mut() {
            Some(gate) => gate.pass(),
            None => Ok(()),
        }
    }

    fn locked_gate(&mut self) -> Result<&mut PinGate, DeviceError> {
        self.check_alive()?;
        let gate = self.gate("the unlock procedure")?;
        if !gate.is_locked() {
            return Err(DeviceError::NotLocked);
        }
        Ok(gate)
    }
}

impl<T: TimeSource> Device for KeyFob<T> {
    fn serial(&self) -> &SerialNumber {
        &self.serial
    }

    fn kind(&self) -> DeviceKind {
        DeviceKind {
            mode: self.generator.mode(),
            challenge_response: self.responder.is_some(),
        }
    }

    fn state(&self) -> DeviceState {
        if self.check_alive().is_err() {
            DeviceState::Expired
        } else if self.pin_gate.as_ref().is_some_and(PinGate::is_locked) {
            DeviceState::Locked
        } else {
            DeviceState::Ready
        }
    }

    fn requires_pin(&self) -> bool {
        self.pin_gate.is_some()
    }

    fn enter_pin(&mut self, pin: &str) -> Result<(), DeviceError> {
        self.check_alive()?;
        self.gate("PIN entry")?.enter(pin)
    }

    fn press(&mut self) -> Result<Reading, DeviceError> {
        self.check_alive()?;
        self.pass_gate()?;
        let local_time = self.local_time();
        Ok(self.generator.press(local_time)?)
    }

    fn respond(&mut self, challenge: &str) -> Result<Reading, DeviceError> {
        self.check_alive()?;
        if self.responder.is_none() {
            return Err(DeviceError::Unsupported {
                operation: "challenge-response",
            });
        }
        self.pass_gate()?;
        let context = ChallengeContext::new(self.local_time());
        let responder = self.responder.as_mut().ok_or(DeviceError::Unsupported {
            operation: "challenge-response",
        })?;
        Ok(Reading::event_based(
            responder.respond(challenge, &context)?,
        ))
    }

    fn change_pin(&mut self, old_pin: &str, new_pin: &str) -> Result<(), DeviceError> {
        self.check_alive()?;
        self.gate("PIN change")?.change(old_pin, new_pin)
    }

    fn unlock_challenge(&self) -> Result<UnlockChallenge, DeviceError> {
        self.check_alive()?;
        let gate = self.pin_gate.as_ref().ok_or(DeviceError::Unsupported {
            operation: "the unlock procedure",
        })?;
        if !gate.is_locked() {
            return Err(DeviceError::NotLocked);
        }
        Ok(UnlockChallenge::derive(
            &self.unlock_key,
            gate.challenge_number(),
        ))
    }

    fn unlock(&mut self, unlock_code: &Code, new_pin: &str) -> Result<(), DeviceError> {
        let challenge = self.unlock_challenge()?;
        // The new PIN first: a typo in it must not spend the unlock code.
        let new_pin = Pin::parse(new_pin)?;
        let expected = unlock_code_with(&self.unlock_key, &challenge);
        let gate = self.locked_gate()?;
        // `Code` equality is constant-time.
        if *unlock_code == expected {
            gate.reset(new_pin);
            Ok(())
        } else {
            gate.next_challenge();
            Err(DeviceError::BadUnlockCode)
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Expiry {
    Lifetime(Duration),
    At(UnixTime),
}

/// Builds a [`KeyFob`] and its [`FactoryRecord`] together. Made by
/// [`KeyFob::builder`] or [`KeyFob::from_record`].
///
/// Defaults: a fresh 160-bit secret and 256-bit unlock key from the operating
/// system's CSPRNG, counter 0, issued at the world clock's time of
/// [`KeyFobBuilder::build`], a life of [`DEFAULT_LIFETIME`], no PIN (set one with
/// [`KeyFobBuilder::pin`]), [`DEFAULT_PIN_TRIES`] tries, a perfect crystal, no keypad.
#[derive(Debug)]
#[must_use]
pub struct KeyFobBuilder {
    serial: Result<SerialNumber, DeviceError>,
    parameters: OtpParameters,
    secret: Option<Secret>,
    unlock_key: Option<Secret>,
    initial_counter: u64,
    issued_at: Option<UnixTime>,
    expiry: Expiry,
    pin: Option<Result<Pin, DeviceError>>,
    pin_tries: u8,
    crystal: Crystal,
    responder: Option<Box<dyn ChallengeResponder>>,
}

impl KeyFobBuilder {
    /// The OTP secret to burn in, instead of a fresh one.
    pub fn secret(mut self, secret: Secret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// The unlock key, instead of a fresh one.
    pub fn unlock_key(mut self, unlock_key: Secret) -> Self {
        self.unlock_key = Some(unlock_key);
        self
    }

    /// The counter an event fob's first press shows.
    pub fn initial_counter(mut self, counter: u64) -> Self {
        self.initial_counter = counter;
        self
    }

    /// When the fob's clock is set at the factory: the start of its drift and of its
    /// life.
    pub fn issued_at(mut self, time: UnixTime) -> Self {
        self.issued_at = Some(time);
        self
    }

    /// How long after issue the fob's life ends.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.expiry = Expiry::Lifetime(lifetime);
        self
    }

    /// When the fob's life ends.
    pub fn expires_at(mut self, time: UnixTime) -> Self {
        self.expiry = Expiry::At(time);
        self
    }

    /// The PIN set at issue, 4 to 8 digits; without one the fob has no PIN gate.
    pub fn pin(mut self, pin: &str) -> Self {
        self.pin = Some(Pin::parse(pin));
        self
    }

    /// Wrong PINs before the fob locks itself (at least 1).
    pub fn pin_tries(mut self, tries: u8) -> Self {
        self.pin_tries = tries;
        self
    }

    /// The fob's crystal: its drift and factory offset.
    pub fn crystal(mut self, crystal: Crystal) -> Self {
        self.crystal = crystal;
        self
    }

    /// Gives the fob a keypad and the suite that answers challenges typed on it:
    /// the plug-in point for RFC 6287 OCRA (see [`ChallengeResponder`]).
    pub fn challenge_responder(mut self, responder: Box<dyn ChallengeResponder>) -> Self {
        self.responder = Some(responder);
        self
    }

    /// Makes the fob, reading time from `world`, and the factory record that goes
    /// to the bank.
    ///
    /// # Errors
    ///
    /// [`DeviceError::SerialLength`] or [`DeviceError::SerialCharacter`] for the
    /// serial number, [`DeviceError::Parameters`] for bad code parameters (zero or
    /// too many digits, a zero time step), [`DeviceError::PinLength`],
    /// [`DeviceError::PinCharacter`], [`DeviceError::PinTries`], and
    /// [`DeviceError::Secret`] if the operating system's random source fails.
    pub fn build<T: TimeSource>(self, world: T) -> Result<(KeyFob<T>, FactoryRecord), DeviceError> {
        let serial = self.serial?;
        self.parameters.validate()?;
        let pin_gate = match self.pin {
            Some(pin) => Some(PinGate::new(pin?, self.pin_tries)?),
            None => None,
        };
        let secret = match self.secret {
            Some(secret) => secret,
            None => Secret::generate_default()?,
        };
        let unlock_key = match self.unlock_key {
            Some(key) => key,
            None => Secret::generate(UNLOCK_KEY_BITS)?,
        };
        let generator = CodeGenerator::new(&secret, self.parameters, self.initial_counter)?;
        let issued_at = self.issued_at.unwrap_or_else(|| world.now());
        let expires_at = match self.expiry {
            Expiry::At(time) => time,
            Expiry::Lifetime(lifetime) => issued_at.plus(lifetime),
        };
        let fob = KeyFob {
            serial: serial.clone(),
            generator,
            world,
            issued_at,
            crystal: self.crystal,
            expires_at,
            pin_gate,
            unlock_key: unlock_mac(&unlock_key),
            responder: self.responder,
        };
        let record = FactoryRecord {
            serial,
            secret,
            parameters: self.parameters,
            initial_counter: self.initial_counter,
            unlock_key,
            issued_at,
            expires_at,
        };
        Ok((fob, record))
    }
}
