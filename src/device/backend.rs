//! The pluggable device backend: what every device that shows codes can do.

use core::fmt;
use core::time::Duration;

use crate::code::Code;
use crate::device::error::DeviceError;

use super::serial::SerialNumber;
use super::unlock::UnlockChallenge;

/// What pressing a device's button shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OtpMode {
    /// The code of the time step the device's clock is in (RFC 6238 TOTP).
    Time,
    /// The code of a counter that moves on every press (RFC 4226 HOTP).
    Event,
}

/// What kind of device this is: what its button shows, and whether it has a keypad
/// for challenge-response (RFC 6287 OCRA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DeviceKind {
    /// What pressing the button shows.
    pub mode: OtpMode,
    /// Whether [`Device::respond`] answers challenges typed on a keypad.
    pub challenge_response: bool,
}

impl DeviceKind {
    /// A time-based device without a keypad.
    #[must_use]
    pub const fn time() -> Self {
        Self {
            mode: OtpMode::Time,
            challenge_response: false,
        }
    }

    /// An event-based device without a keypad.
    #[must_use]
    pub const fn event() -> Self {
        Self {
            mode: OtpMode::Event,
            challenge_response: false,
        }
    }

    /// The same device with (or without) a keypad that answers challenges: a backend
    /// outside this crate builds its kind this way, since the fields may grow.
    #[must_use]
    pub const fn with_challenge_response(mut self, challenge_response: bool) -> Self {
        self.challenge_response = challenge_response;
        self
    }
}

/// Whether a device will show codes now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeviceState {
    /// The device works (it may still ask for its PIN).
    Ready,
    /// Too many wrong PINs: the device refuses everything until the bank's unlock
    /// procedure opens it.
    Locked,
    /// Past its end of life: the device refuses every operation for good.
    Expired,
}

/// What a device's display shows after a press: the code, and how long it stays
/// valid.
///
/// ```
/// use otpfob::{Code, device::Reading};
/// use std::time::Duration;
///
/// let time = Reading::time_based(Code::new(287_082, 6)?, Duration::from_secs(18), Duration::from_secs(30));
/// assert_eq!(time.valid_for(), Some(Duration::from_secs(18)));
/// let event = Reading::event_based(Code::new(755_224, 6)?);
/// assert_eq!(event.valid_for(), None); // until the next press
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Reading {
    code: Code,
    valid_for: Option<Duration>,
    time_step: Option<Duration>,
}

impl Reading {
    /// A time-based reading: `code` stays valid for `valid_for`, the rest of its
    /// `time_step`.
    pub fn time_based(code: Code, valid_for: Duration, time_step: Duration) -> Self {
        Self {
            code,
            valid_for: Some(valid_for),
            time_step: Some(time_step),
        }
    }

    /// An event-based or challenge-response reading: `code` stays valid until it is
    /// used or the next code is made, so it has no time limit of its own.
    pub fn event_based(code: Code) -> Self {
        Self {
            code,
            valid_for: None,
            time_step: None,
        }
    }

    /// The code shown.
    pub fn code(&self) -> Code {
        self.code
    }

    /// How long the code stays on the display before the next one replaces it: the
    /// rest of its time step for a time-based device, as measured by the device's own
    /// clock; `None` for event codes and challenge responses, which stay valid until
    /// the next press.
    #[must_use]
    pub fn valid_for(&self) -> Option<Duration> {
        self.valid_for
    }

    /// The full length of a time step, for scaling a countdown; `None` when
    /// [`Reading::valid_for`] is.
    #[must_use]
    pub fn time_step(&self) -> Option<Duration> {
        self.time_step
    }
}

impl fmt::Debug for Reading {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Reading")
            .field("code", &self.code)
            .field("valid_for", &self.valid_for)
            .finish()
    }
}

/// A device that shows one-time codes: a simulated key fob, a soft token, or a real
/// device behind an adapter. Tests, simulations and a bank's staging environment
/// hold a `Box<dyn Device>` and can swap one backend for another.
///
/// The PIN gate is a two-step conversation, as on a real fob or a smart card: enter
/// the PIN ([`Device::enter_pin`]), then perform **one** operation ([`Device::press`],
/// [`Device::respond`]); the next operation asks for the PIN again. Devices without
/// a PIN report [`Device::requires_pin`] `false` and skip the first step.
///
/// Operations a device does not have return [`DeviceError::Unsupported`] through the
/// default methods, so an adapter implements only what its hardware offers.
///
/// ```
/// use otpfob::{Device, KeyFob, ManualClock, TotpParameters, device::DeviceState};
///
/// let world = ManualClock::at_secs(1_767_225_600);
/// let (fob, _record) = KeyFob::builder("OTPF-0000000001", TotpParameters::default())
///     .pin("2468")
///     .build(world.clone())?;
/// let mut device: Box<dyn Device> = Box::new(fob);
/// assert_eq!(device.state(), DeviceState::Ready);
/// device.enter_pin("2468")?;
/// let reading = device.press()?;
/// assert_eq!(reading.code().digits(), 6);
/// assert!(device.press().is_err()); // the PIN is asked for before every press
/// # Ok::<(), otpfob::DeviceError>(())
/// ```
///
/// # Security
///
/// An implementation never exposes the device's secret, counts every wrong PIN
/// before it answers, and compares PINs and unlock codes in constant time.
pub trait Device: fmt::Debug + Send {
    /// The serial number printed on the device.
    fn serial(&self) -> &SerialNumber;

    /// What the device's button shows, and whether it answers challenges.
    fn kind(&self) -> DeviceKind;

    /// Whether the device works, is locked, or is past its end of life.
    fn state(&self) -> DeviceState;

    /// Whether the device asks for a PIN before every operation.
    fn requires_pin(&self) -> bool {
        false
    }

    /// Enters the PIN, which opens the device for one operation.
    ///
    /// # Errors
    ///
    /// [`DeviceError::PinLength`] or [`DeviceError::PinCharacter`] for a PIN that
    /// cannot be one (not counted as a try), [`DeviceError::WrongPin`] with the tries
    /// left, [`DeviceError::Locked`], [`DeviceError::Expired`], and
    /// [`DeviceError::Unsupported`] for a device without a PIN.
    fn enter_pin(&mut self, pin: &str) -> Result<(), DeviceError> {
        let _ = pin;
        Err(DeviceError::Unsupported {
            operation: "PIN entry",
        })
    }

    /// Presses the button: the code the device shows now. An event device moves its
    /// counter whether or not the code is ever used.
    ///
    /// # Errors
    ///
    /// [`DeviceError::PinRequired`] if the PIN was not entered for this operation,
    /// [`DeviceError::Locked`], [`DeviceError::Expired`],
    /// [`DeviceError::Parameters`] if the device's clock reads before T0 or its
    /// counter is exhausted, [`DeviceError::Backend`] from a real device's adapter.
    fn press(&mut self) -> Result<Reading, DeviceError>;

    /// Answers a challenge typed on the keypad (RFC 6287 OCRA challenge-response, or a
    /// transaction signature): the reading is the response, valid until used.
    ///
    /// The default returns [`DeviceError::Unsupported`]: devices without a keypad,
    /// and key fobs built with neither
    /// [`KeyFobBuilder::ocra`](crate::device::KeyFobBuilder::ocra) nor a
    /// [`ChallengeResponder`](crate::device::ChallengeResponder).
    ///
    /// # Errors
    ///
    /// As [`Device::press`], plus [`DeviceError::Ocra`] for a challenge the device's
    /// suite does not accept (or an OCRA counter at its end) and
    /// [`DeviceError::Unsupported`].
    fn respond(&mut self, challenge: &str) -> Result<Reading, DeviceError> {
        let _ = challenge;
        Err(DeviceError::Unsupported {
            operation: "challenge-response",
        })
    }

    /// Changes the PIN; the old PIN must be right, and a wrong one counts as a try.
    ///
    /// # Errors
    ///
    /// As [`Device::enter_pin`], for either PIN.
    fn change_pin(&mut self, old_pin: &str, new_pin: &str) -> Result<(), DeviceError> {
        let _ = (old_pin, new_pin);
        Err(DeviceError::Unsupported {
            operation: "PIN change",
        })
    }

    /// The challenge a locked device shows, which the customer reads to the bank.
    ///
    /// # Errors
    ///
    /// [`DeviceError::NotLocked`], [`DeviceError::Expired`],
    /// [`DeviceError::Unsupported`] for devices without the unlock procedure.
    fn unlock_challenge(&self) -> Result<UnlockChallenge, DeviceError> {
        Err(DeviceError::Unsupported {
            operation: "the unlock procedure",
        })
    }

    /// Unlocks a locked device with the bank's answer to its challenge
    /// ([`unlock_code`](crate::device::unlock_code)) and sets a new PIN.
    ///
    /// # Errors
    ///
    /// [`DeviceError::BadUnlockCode`] (the device then shows a new challenge),
    /// [`DeviceError::PinLength`] or [`DeviceError::PinCharacter`] for the new PIN
    /// (checked first, so a typo does not spend the unlock code),
    /// [`DeviceError::NotLocked`], [`DeviceError::Expired`],
    /// [`DeviceError::Unsupported`].
    fn unlock(&mut self, unlock_code: &Code, new_pin: &str) -> Result<(), DeviceError> {
        let _ = (unlock_code, new_pin);
        Err(DeviceError::Unsupported {
            operation: "the unlock procedure",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest possible adapter: only what a device must implement.
    #[derive(Debug)]
    struct Minimal(SerialNumber);

    impl Device for Minimal {
        fn serial(&self) -> &SerialNumber {
            &self.0
        }
        fn kind(&self) -> DeviceKind {
            DeviceKind::event()
        }
        fn state(&self) -> DeviceState {
            DeviceState::Ready
        }
        fn press(&mut self) -> Result<Reading, DeviceError> {
            Err(DeviceError::Backend {
                reason: "not connected".into(),
            })
        }
    }

    #[test]
    fn optional_operations_are_unsupported_by_default() {
        let mut device: Box<dyn Device> = Box::new(Minimal(SerialNumber::new("X1").unwrap()));
        assert!(!device.requires_pin());
        assert_eq!(
            device.enter_pin("1234"),
            Err(DeviceError::Unsupported {
                operation: "PIN entry"
            })
        );
        assert_eq!(
            device.respond("12345678"),
            Err(DeviceError::Unsupported {
                operation: "challenge-response"
            })
        );
        assert!(matches!(
            device.change_pin("1234", "5678"),
            Err(DeviceError::Unsupported { .. })
        ));
        assert!(matches!(
            device.unlock_challenge(),
            Err(DeviceError::Unsupported { .. })
        ));
        let code = Code::new(1, 8).unwrap();
        assert!(matches!(
            device.unlock(&code, "1234"),
            Err(DeviceError::Unsupported { .. })
        ));
        assert!(matches!(device.press(), Err(DeviceError::Backend { .. })));
    }
}
