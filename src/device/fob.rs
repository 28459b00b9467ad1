//! The simulated physical key fob: a sealed secret, a drifting crystal, a PIN pad, a
//! battery, one button.

use core::time::Duration;

use crate::clock::{TimeSource, UnixTime};
use crate::code::Code;
use crate::device::error::DeviceError;
use crate::mac::KeyedMac;
use crate::ocra::{OcraSuite, Password, password_hash};
use crate::parameters::OtpParameters;
use crate::secret::Secret;

use super::backend::{Device, DeviceKind, DeviceState, Reading};
use super::challenge::{ChallengeContext, ChallengeResponder};
use super::crystal::Crystal;
use super::factory::FactoryRecord;
use super::generator::CodeGenerator;
use super::keypad::{Keypad, OcraResponder};
use super::pin::{DEFAULT_PIN_TRIES, Pin, PinGate};
use super::serial::SerialNumber;
use super::unlock::{UnlockChallenge, unlock_code_with, unlock_mac};
use crate::ocra::SignedFields;

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
///   [`unlock_code`](crate::device::unlock_code).
/// - **End of life**: from its expiry on, every operation fails with
///   [`DeviceError::Expired`].
/// - **Keypad** (challenge-response and transaction signing): the RFC 6287 OCRA suite
///   given to [`KeyFobBuilder::ocra`], answered from the fob's own secret after the
///   PIN gate, or any other [`ChallengeResponder`].
///
/// The secret cannot be read back: [`KeyFobBuilder::build`] returns the
/// [`FactoryRecord`], the only other copy.
///
/// ```
/// use otpfob::{Device, KeyFob, ManualClock, TimeSource, Totp, TotpParameters, device::Crystal};
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
    keypad: Option<Keypad>,
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
            keypad: None,
            ocra_counter: 0,
        }
    }

    /// Starts a fob that matches an existing factory record (a vendor's seed file,
    /// or the record of a fleet member): same serial, secret, unlock key,
    /// parameters, counter, issue and expiry times, OCRA suite and counter. Add a PIN
    /// and a crystal.
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
            keypad: record.ocra_suite.map(KeypadChoice::Ocra),
            ocra_counter: record.ocra_counter,
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

    /// The OCRA suite of a keypad fob made with [`KeyFobBuilder::ocra`].
    #[must_use]
    pub fn ocra_suite(&self) -> Option<OcraSuite> {
        match &self.keypad {
            Some(Keypad::Ocra(responder)) => Some(*responder.suite()),
            _ => None,
        }
    }

    /// The OCRA counter the next response uses, for an OCRA suite with a counter
    /// (`C`): for simulations, a real fob does not display it.
    #[must_use]
    pub fn ocra_counter(&self) -> Option<u64> {
        match &self.keypad {
            Some(Keypad::Ocra(responder)) => responder.counter(),
            _ => None,
        }
    }

    /// When the fob's life ends.
    #[must_use]
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    /// Sign mode on a keypad fob (PSD2 RTS Art. 5, what you see is what you sign):
    /// the customer types the payee's account digits and the amount (or, for a batch,
    /// the number of payees and the total) and the fob shows them as typed, then,
    /// after its PIN, signs them with its OCRA suite. Returns what the display showed
    /// and the signature. The bank checks it against the transfer it is about to
    /// execute ([`Validator::issue_sign_mode`](crate::Validator::issue_sign_mode)).
    ///
    /// # Errors
    ///
    /// As [`Device::respond`]: no keypad, a PIN gate not passed, an expired fob, or a
    /// suite whose question cannot hold the fields (it needs `QN19` or longer).
    pub fn sign(&mut self, fields: &SignedFields) -> Result<(String, Reading), DeviceError> {
        let shown = fields.to_string();
        let reading = Device::respond(self, &fields.question())?;
        Ok((shown, reading))
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
}

impl<T: TimeSource> Device for KeyFob<T> {
    fn serial(&self) -> &SerialNumber {
        &self.serial
    }

    fn kind(&self) -> DeviceKind {
        DeviceKind {
            mode: self.generator.mode(),
            challenge_response: self.keypad.is_some(),
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
        if self.keypad.is_none() {
            return Err(DeviceError::Unsupported {
                operation: "challenge-response",
            });
        }
        self.pass_gate()?;
        let device_time = self.local_time();
        // The PIN that just opened the gate is the gate's own: only it opens.
        let context = match &self.pin_gate {
            Some(gate) => ChallengeContext::with_pin(device_time, gate.pin().as_bytes()),
            None => ChallengeContext::new(device_time),
        };
        let keypad = self.keypad.as_mut().ok_or(DeviceError::Unsupported {
            operation: "challenge-response",
        })?;
        Ok(Reading::event_based(
            keypad.responder().respond(challenge, &context)?,
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
        let gate = self.gate("the unlock procedure")?;
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

/// What the builder was told to put behind the keypad.
#[derive(Debug)]
enum KeypadChoice {
    Ocra(OcraSuite),
    Custom(Box<dyn ChallengeResponder>),
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
/// [`KeyFobBuilder::pin`]), [`DEFAULT_PIN_TRIES`] tries, a perfect crystal, no keypad
/// (give one with [`KeyFobBuilder::ocra`]), OCRA counter 0.
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
    keypad: Option<KeypadChoice>,
    ocra_counter: u64,
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

    /// Makes a keypad fob that answers challenges, and signs transfers, with this
    /// RFC 6287 OCRA suite, computed from the fob's own secret (the one in the
    /// factory record): [`Device::respond`] then runs the PIN gate and shows the
    /// suite's response. A suite with a counter (`C`) uses the fob's OCRA counter
    /// ([`KeyFobBuilder::ocra_counter`]) and moves it on after every response; one
    /// with a time step (`T`) reads the fob's own drifting clock; one with a PIN (`P`)
    /// hashes the PIN that opened the gate. Replaces any
    /// [`KeyFobBuilder::challenge_responder`].
    ///
    /// The [`FactoryRecord`] carries the suite, the first OCRA counter and, for `P`
    /// suites, the initial PIN's hash, so the bank can enrol the keypad.
    ///
    /// ```
    /// use otpfob::{Device, KeyFob, ManualClock, TotpParameters, ocra::{Ocra, OcraInput}};
    ///
    /// let suite = "OCRA-1:HOTP-SHA256-8:C-QN08".parse()?;
    /// let (mut fob, record) = KeyFob::builder("OTPF-0000000009", TotpParameters::default())
    ///     .pin("2468")
    ///     .ocra(suite)
    ///     .ocra_counter(5)
    ///     .build(ManualClock::at_secs(1_767_225_600))?;
    /// assert!(fob.kind().challenge_response);
    /// fob.enter_pin("2468")?;
    /// let reading = fob.respond("31415926")?;
    ///
    /// let bank = Ocra::new(&record.secret, suite);
    /// let input = OcraInput { counter: Some(5), ..OcraInput::default() };
    /// assert_eq!(reading.code().to_string(), bank.one_way("31415926", &input)?.to_string());
    /// assert_eq!(fob.ocra_counter(), Some(6));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ocra(mut self, suite: OcraSuite) -> Self {
        self.keypad = Some(KeypadChoice::Ocra(suite));
        self
    }

    /// The OCRA counter of the first response, for an OCRA suite with a counter.
    pub fn ocra_counter(mut self, counter: u64) -> Self {
        self.ocra_counter = counter;
        self
    }

    /// Gives the fob a keypad answered by another scheme than the built-in OCRA one
    /// (see [`ChallengeResponder`]). Replaces any [`KeyFobBuilder::ocra`]; the
    /// factory record then names no OCRA suite.
    pub fn challenge_responder(mut self, responder: Box<dyn ChallengeResponder>) -> Self {
        self.keypad = Some(KeypadChoice::Custom(responder));
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
    /// [`DeviceError::PinCharacter`], [`DeviceError::PinTries`],
    /// [`DeviceError::UnsupportedSuite`] for an OCRA suite a fob cannot answer with
    /// (truncation 0, session information, or a PIN without a PIN gate), and
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
        let mut ocra_suite = None;
        let mut ocra_pin_hash = None;
        let keypad = match self.keypad {
            None => None,
            Some(KeypadChoice::Custom(responder)) => Some(Keypad::Custom(responder)),
            Some(KeypadChoice::Ocra(suite)) => {
                let responder =
                    OcraResponder::new(&secret, suite, self.ocra_counter, pin_gate.is_some())?;
                if let (Some(hash), Some(gate)) = (suite.pin_hash(), &pin_gate) {
                    let hashed = password_hash(hash, Password::Pin(gate.pin().as_bytes()))?;
                    ocra_pin_hash = Some(Secret::from_bytes(&hashed)?);
                }
                ocra_suite = Some(suite);
                Some(Keypad::Ocra(Box::new(responder)))
            }
        };
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
            keypad,
        };
        let record = FactoryRecord {
            serial,
            secret,
            parameters: self.parameters,
            initial_counter: self.initial_counter,
            unlock_key,
            issued_at,
            expires_at,
            ocra_suite,
            ocra_counter: self.ocra_counter,
            ocra_pin_hash,
        };
        Ok((fob, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Hotp, HotpParameters, ManualClock, OtpError, Totp, TotpParameters,
        device::UNLOCK_CODE_DIGITS,
    };

    const ISSUED: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    fn secret() -> Secret {
        Secret::from_bytes(b"12345678901234567890").unwrap()
    }

    fn time_fob(world: &ManualClock) -> (KeyFob<ManualClock>, FactoryRecord) {
        KeyFob::builder("OTPF-0000000001", TotpParameters::default())
            .secret(secret())
            .pin("2468")
            .build(world.clone())
            .unwrap()
    }

    fn lock(fob: &mut KeyFob<ManualClock>) {
        assert_eq!(
            fob.enter_pin("1111"),
            Err(DeviceError::WrongPin { tries_left: 2 })
        );
        assert_eq!(
            fob.enter_pin("2222"),
            Err(DeviceError::WrongPin { tries_left: 1 })
        );
        assert_eq!(
            fob.enter_pin("3333"),
            Err(DeviceError::WrongPin { tries_left: 0 })
        );
    }

    #[test]
    fn locks_after_the_third_wrong_pin() {
        let world = ManualClock::at_secs(ISSUED);
        let (mut fob, _) = time_fob(&world);
        assert_eq!(fob.state(), DeviceState::Ready);
        lock(&mut fob);
        assert_eq!(fob.state(), DeviceState::Locked);
        // Locked means locked: the right PIN is refused without saying it was right.
        assert_eq!(fob.enter_pin("2468"), Err(DeviceError::Locked));
        assert_eq!(fob.press(), Err(DeviceError::Locked));
        assert_eq!(fob.change_pin("2468", "1357"), Err(DeviceError::Locked));
        assert!(fob.unlock_challenge().is_ok());
    }

    #[test]
    fn pin_tries_are_configurable() {
        let world = ManualClock::at_secs(ISSUED);
        let (mut fob, _) = KeyFob::builder("OTPF-2", TotpParameters::default())
            .pin("2468")
            .pin_tries(1)
            .build(world)
            .unwrap();
        assert_eq!(
            fob.enter_pin("0000"),
            Err(DeviceError::WrongPin { tries_left: 0 })
        );
        assert_eq!(fob.state(), DeviceState::Locked);
    }

    #[test]
    fn unlock_procedure_end_to_end() {
        let world = ManualClock::at_secs(ISSUED);
        let (mut fob, record) = time_fob(&world);
        assert_eq!(fob.unlock_challenge(), Err(DeviceError::NotLocked));
        let unused = Code::new(0, UNLOCK_CODE_DIGITS).unwrap();
        assert_eq!(fob.unlock(&unused, "1357"), Err(DeviceError::NotLocked));
        lock(&mut fob);

        let first = fob.unlock_challenge().unwrap();
        assert_eq!(
            fob.unlock_challenge().unwrap(),
            first,
            "stable until answered"
        );
        let right = record.unlock_code(&first);

        // A malformed new PIN is refused first and does not spend the challenge.
        assert_eq!(
            fob.unlock(&right, "12"),
            Err(DeviceError::PinLength {
                length: 2,
                minimum: 4,
                maximum: 8
            })
        );
        assert_eq!(fob.unlock_challenge().unwrap(), first);

        // A wrong answer moves the fob to a new challenge, and the answer to the old
        // challenge no longer opens it.
        let wrong = Code::new((right.value() + 1) % 100_000_000, UNLOCK_CODE_DIGITS).unwrap();
        assert_eq!(fob.unlock(&wrong, "1357"), Err(DeviceError::BadUnlockCode));
        let second = fob.unlock_challenge().unwrap();
        assert_ne!(second, first);
        assert_eq!(fob.unlock(&right, "1357"), Err(DeviceError::BadUnlockCode));
        let third = fob.unlock_challenge().unwrap();
        assert_eq!(fob.state(), DeviceState::Locked);

        fob.unlock(&record.unlock_code(&third), "1357").unwrap();
        assert_eq!(fob.state(), DeviceState::Ready);
        assert_eq!(fob.press(), Err(DeviceError::PinRequired));
        assert_eq!(
            fob.enter_pin("2468"),
            Err(DeviceError::WrongPin { tries_left: 2 }),
            "the old PIN is gone and the tries start afresh"
        );
        fob.enter_pin("1357").unwrap();
        let bank = Totp::new(&record.secret, TotpParameters::default()).unwrap();
        assert_eq!(fob.press().unwrap().code(), bank.now(&world).unwrap());

        // A second lockout shows a challenge never shown before.
        lock(&mut fob);
        let fourth = fob.unlock_challenge().unwrap();
        assert!(![first, second, third].contains(&fourth));
    }

    #[test]
    fn pin_change_needs_the_old_pin() {
        let world = ManualClock::at_secs(ISSUED);
        let (mut fob, _) = time_fob(&world);
        assert_eq!(
            fob.change_pin("0000", "1357"),
            Err(DeviceError::WrongPin { tries_left: 2 })
        );
        assert_eq!(
            fob.change_pin("2468", "13a7"),
            Err(DeviceError::PinCharacter { position: 2 })
        );
        fob.change_pin("2468", "13572468").unwrap();
        assert_eq!(
            fob.press(),
            Err(DeviceError::PinRequired),
            "a change is not a press"
        );
        fob.enter_pin("13572468").unwrap();
        assert!(fob.press().is_ok());
    }

    #[test]
    fn event_fob_advances_per_press_used_or_not() {
        let world = ManualClock::at_secs(ISSUED);
        let (mut fob, record) = KeyFob::builder("OTPF-3", HotpParameters::default())
            .secret(secret())
            .initial_counter(3)
            .build(world)
            .unwrap();
        assert_eq!(fob.kind(), DeviceKind::event());
        assert_eq!(record.initial_counter, 3);
        let hotp = Hotp::new(&record.secret, HotpParameters::default()).unwrap();
        for counter in 3..13 {
            assert_eq!(fob.counter(), Some(counter));
            let reading = fob.press().unwrap();
            assert_eq!(reading.code(), hotp.at(counter));
            assert_eq!(reading.valid_for(), None);
        }
        // RFC 4226 Appendix D, counter 9, was the seventh press.
        assert_eq!(hotp.at(9).to_string(), "520489");
    }

    #[test]
    fn expired_fob_refuses_everything() {
        let world = ManualClock::at_secs(ISSUED);
        let (mut fob, record) = KeyFob::builder("OTPF-4", TotpParameters::default())
            .pin("2468")
            .lifetime(Duration::from_secs(3 * 365 * 86_400))
            .build(world.clone())
            .unwrap();
        assert_eq!(
            record.expires_at,
            UnixTime::from_secs(ISSUED + 3 * 365 * 86_400)
        );
        world.set(UnixTime::from_nanos(record.expires_at.as_nanos() - 1));
        assert_eq!(fob.state(), DeviceState::Ready);
        fob.enter_pin("2468").unwrap();
        world.set(record.expires_at);
        let expired = DeviceError::Expired {
            expired_at: record.expires_at,
        };
        assert_eq!(fob.state(), DeviceState::Expired);
        assert_eq!(fob.press(), Err(expired.clone()));
        assert_eq!(fob.enter_pin("2468"), Err(expired.clone()));
        assert_eq!(fob.change_pin("2468", "1357"), Err(expired.clone()));
        assert_eq!(fob.respond("1234"), Err(expired.clone()));
        assert_eq!(fob.unlock_challenge(), Err(expired.clone()));
        let code = Code::new(0, UNLOCK_CODE_DIGITS).unwrap();
        assert_eq!(fob.unlock(&code, "1357"), Err(expired));
        // Expiry wins over a lock too.
        let (mut locked, record) = time_fob(&world);
        lock(&mut locked);
        assert_eq!(locked.expires_at(), record.expires_at);
        world.set(record.expires_at);
        assert_eq!(locked.state(), DeviceState::Expired);
    }

    #[test]
    fn bad_builds_are_typed_errors() {
        let world = ManualClock::at_secs(ISSUED);
        let build = |builder: KeyFobBuilder| builder.build(world.clone()).map(|_| ()).unwrap_err();
        let zero_digits = TotpParameters {
            digits: 0,
            ..TotpParameters::default()
        };
        assert_eq!(
            build(KeyFob::builder("OTPF-5", zero_digits)),
            DeviceError::Parameters(OtpError::DigitCount { digits: 0 })
        );
        let zero_step = TotpParameters {
            time_step: 0,
            ..TotpParameters::default()
        };
        assert_eq!(
            build(KeyFob::builder("OTPF-5", zero_step)),
            DeviceError::Parameters(OtpError::ZeroTimeStep)
        );
        assert_eq!(
            build(KeyFob::builder("OTPF 5", TotpParameters::default())),
            DeviceError::SerialCharacter { position: 4 }
        );
        assert_eq!(
            build(KeyFob::builder("OTPF-5", TotpParameters::default()).pin("123456789")),
            DeviceError::PinLength {
                length: 9,
                minimum: 4,
                maximum: 8
            }
        );
        assert_eq!(
            build(
                KeyFob::builder("OTPF-5", TotpParameters::default())
                    .pin("1234")
                    .pin_tries(0)
            ),
            DeviceError::PinTries { tries: 0 }
        );
    }

    #[test]
    fn time_before_t0_is_a_typed_error() {
        let world = ManualClock::at_secs(ISSUED);
        let later_t0 = TotpParameters {
            t0: ISSUED as u64 + 60,
            ..TotpParameters::default()
        };
        let (mut fob, _) = KeyFob::builder("OTPF-6", later_t0).build(world).unwrap();
        assert_eq!(
            fob.press(),
            Err(DeviceError::Parameters(OtpError::TimeBeforeT0 {
                time: ISSUED,
                t0: ISSUED as u64 + 60
            }))
        );
    }

    #[derive(Debug)]
    struct Reverse;

    impl ChallengeResponder for Reverse {
        fn respond(
            &mut self,
            challenge: &str,
            context: &ChallengeContext<'_>,
        ) -> Result<Code, DeviceError> {
            let value: u32 = challenge.parse().map_err(|_| DeviceError::Backend {
                reason: "not a number".into(),
            })?;
            let mixed = value ^ (context.device_time.as_secs() as u32);
            Ok(Code::new(mixed % 1_000_000, 6).unwrap())
        }
    }

    #[test]
    fn challenges_go_through_the_pin_gate_to_the_responder() {
        let world = ManualClock::at_secs(ISSUED);
        let (mut plain, _) = time_fob(&world);
        plain.enter_pin("2468").unwrap();
        assert_eq!(
            plain.respond("1234"),
            Err(DeviceError::Unsupported {
                operation: "challenge-response"
            })
        );
        let (mut keypad, _) = KeyFob::builder("OTPF-7", TotpParameters::default())
            .pin("2468")
            .challenge_responder(Box::new(Reverse))
            .build(world.clone())
            .unwrap();
        assert!(keypad.kind().challenge_response);
        assert_eq!(keypad.respond("1234"), Err(DeviceError::PinRequired));
        keypad.enter_pin("2468").unwrap();
        let reading = keypad.respond("1234").unwrap();
        assert_eq!(reading.code().value(), (1234 ^ ISSUED as u32) % 1_000_000);
        assert_eq!(reading.valid_for(), None);
        keypad.enter_pin("2468").unwrap();
        assert!(matches!(
            keypad.respond("x"),
            Err(DeviceError::Backend { .. })
        ));
    }

    #[test]
    fn debug_shows_no_secret_and_no_pin() {
        let world = ManualClock::at_secs(ISSUED);
        let (fob, record) = time_fob(&world);
        let text = format!("{fob:?} {record:?}");
        assert!(text.contains("REDACTED"));
        assert!(!text.contains("2468"), "{text}");
        assert!(!text.contains("3132333435"), "{text}");
    }

    #[test]
    fn from_record_makes_the_same_fob() {
        let world = ManualClock::at_secs(ISSUED);
        let (mut original, record) = time_fob(&world);
        let (mut copy, copy_record) = KeyFob::from_record(&record)
            .pin("2468")
            .build(world.clone())
            .unwrap();
        assert_eq!(copy_record.serial, record.serial);
        assert_eq!(copy_record.expires_at, record.expires_at);
        world.advance(Duration::from_secs(1000));
        original.enter_pin("2468").unwrap();
        copy.enter_pin("2468").unwrap();
        assert_eq!(original.press().unwrap(), copy.press().unwrap());
        assert_eq!(copy.serial().as_str(), "OTPF-0000000001");
    }
}
