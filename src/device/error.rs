//! What a simulated device refuses, and why.

use crate::clock::UnixTime;
use crate::hotp::OtpError;
use crate::ocra::error::OcraError;
use crate::secret::SecretError;
use thiserror::Error;

/// What went wrong with a device: a key fob, a soft token, a fleet of simulated fobs,
/// or a real device behind an adapter.
///
/// # Security
///
/// No variant carries a PIN, a secret or an unlock code: a wrong PIN is described by
/// its length or the position of a bad character, never by its digits.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// A PIN with too few or too many digits.
    #[error("a PIN has {minimum} to {maximum} digits, this one has {length}")]
    PinLength {
        /// How many characters the PIN had.
        length: usize,
        /// The fewest digits a PIN may have.
        minimum: usize,
        /// The most digits a PIN may have.
        maximum: usize,
    },
    /// A PIN character that is not an ASCII digit.
    #[error("a PIN has only the digits 0 to 9, found another character at position {position}")]
    PinCharacter {
        /// Zero-based position, in characters, of the first bad character.
        position: usize,
    },
    /// The PIN was wrong. At zero tries left the device has just locked itself.
    #[error("wrong PIN, {tries_left} tries left before the device locks")]
    WrongPin {
        /// Wrong PINs the device still accepts before it locks.
        tries_left: u8,
    },
    /// The device asks for its PIN before this operation and none was entered.
    #[error("enter the PIN first: the device asks for it before every operation")]
    PinRequired,
    /// A PIN policy that allows no wrong try at all.
    #[error("a PIN gate must allow at least one try, {tries} were configured")]
    PinTries {
        /// The number of tries configured.
        tries: u8,
    },
    /// The device locked itself after too many wrong PINs; only the bank's unlock
    /// procedure opens it again.
    #[error("the device is locked after too many wrong PINs: ask the bank for an unlock code")]
    Locked,
    /// An unlock was attempted on a device that is not locked.
    #[error("the device is not locked")]
    NotLocked,
    /// The unlock code does not answer the device's unlock challenge. The device now
    /// shows a new challenge.
    #[error("the unlock code does not answer the device's challenge; it now shows a new one")]
    BadUnlockCode,
    /// The device is past its end of life (its battery is spent).
    #[error("the device expired at Unix time {}", expired_at.as_secs())]
    Expired {
        /// When the device reached its end of life.
        expired_at: UnixTime,
    },
    /// A crystal drift outside what the simulation accepts: a real quartz crystal
    /// runs within a few tens of ppm, and beyond ±1000 ppm it is a broken clock.
    #[error("a fob's clock drift must be finite and within ±{limit_ppm} ppm, not {ppm} ppm")]
    DriftOutOfRange {
        /// The drift asked for, in parts per million.
        ppm: f64,
        /// The largest drift accepted either way, in parts per million.
        limit_ppm: f64,
    },
    /// A serial number of the wrong length.
    #[error("a serial number has 1 to {maximum} characters, this one has {length}")]
    SerialLength {
        /// How many characters it had.
        length: usize,
        /// The most characters accepted.
        maximum: usize,
    },
    /// A serial number character that is not an ASCII letter, digit or dash.
    #[error(
        "a serial number has only ASCII letters, digits and dashes, not the character at position {position}"
    )]
    SerialCharacter {
        /// Zero-based position, in characters, of the first bad character.
        position: usize,
    },
    /// The device's code parameters, or the time it read, were unusable: digit count,
    /// time step, a time before T0, a counter at its end.
    #[error(transparent)]
    Parameters(#[from] OtpError),
    /// Key material could not be made (the operating system's random source failed).
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A CAP card or reader refused what was typed (a challenge, a data field) or
    /// its transaction counter is exhausted.
    #[cfg(feature = "emv-cap")]
    #[error(transparent)]
    Emv(#[from] crate::emv::EmvError),
    /// The device has no such operation (no keypad for challenges, no PIN pad, no
    /// unlock procedure).
    #[error("this device does not support {operation}")]
    Unsupported {
        /// The operation asked for.
        operation: &'static str,
    },
    /// The OCRA computation refused the challenge typed in (a character its question
    /// format does not allow, too long), or the fob's OCRA counter is at its end.
    #[error("challenge refused: {0}")]
    Ocra(#[from] OcraError),
    /// An OCRA suite a keypad fob cannot answer with: one without truncation (a
    /// display shows digits, not a 20-to-64-byte HMAC), one with session information
    /// (a keypad has none to give), or one with a PIN (`P`) on a fob without a PIN
    /// gate.
    #[error("a keypad fob cannot use suite {suite}: {reason}")]
    UnsupportedSuite {
        /// The suite string.
        suite: String,
        /// Why the fob cannot use it.
        reason: &'static str,
    },
    /// A fleet setting outside its range.
    #[error("fleet setting {setting} = {value} is outside {expected}")]
    FleetSetting {
        /// The setting's name.
        setting: &'static str,
        /// The value given.
        value: f64,
        /// What the setting accepts.
        expected: &'static str,
    },
    /// A real device, or the adapter in front of it, failed to answer.
    #[error("the device or its adapter failed: {reason}")]
    Backend {
        /// The adapter's description of the failure.
        reason: String,
    },
}
