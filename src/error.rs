//! One error type per concern. Every variant says what was wrong and with which value,
//! but never carries secret material: a bad secret is described by positions and
//! lengths, never by its characters.

use thiserror::Error;

/// What was wrong with key material handed to [`Secret`](crate::Secret).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret had no bytes at all.
    #[error("a secret must have at least one byte")]
    Empty,
    /// A character that is not in the RFC 4648 base32 alphabet (nor a space or
    /// trailing `=` padding) stood at this zero-based character position.
    #[error("invalid base32 character at position {position}")]
    InvalidBase32Character {
        /// Zero-based position, in characters, in the input string.
        position: usize,
    },
    /// `=` padding stood before the last base32 symbol.
    #[error("base32 padding `=` at position {position} is followed by more symbols")]
    MisplacedBase32Padding {
        /// Zero-based position, in characters, of the first `=`.
        position: usize,
    },
    /// The number of base32 symbols cannot encode a whole number of bytes
    /// (RFC 4648 allows 0, 2, 4, 5 or 7 symbols in a final group of 8).
    #[error("{symbols} base32 symbols cannot encode whole bytes")]
    InvalidBase32Length {
        /// How many alphabet symbols the input had, spaces and padding excluded.
        symbols: usize,
    },
    /// A character that is not a hexadecimal digit stood at this position.
    #[error("invalid hex character at position {position}")]
    InvalidHexCharacter {
        /// Zero-based position, in characters, in the input string.
        position: usize,
    },
    /// Hex input had an odd number of digits.
    #[error("hex input has an odd number of digits ({digits})")]
    OddHexLength {
        /// How many hex digits the input had.
        digits: usize,
    },
    /// [`Secret::generate`](crate::Secret::generate) was asked for fewer bits than
    /// RFC 4226 §4 requires.
    #[error("a generated secret must have at least {minimum} bits, {bits} were asked for")]
    TooShort {
        /// The number of bits asked for.
        bits: usize,
        /// The minimum accepted.
        minimum: usize,
    },
    /// [`Secret::generate`](crate::Secret::generate) was asked for a bit count that is
    /// not a whole number of bytes.
    #[error("a generated secret must be a whole number of bytes, {bits} bits were asked for")]
    NotWholeBytes {
        /// The number of bits asked for.
        bits: usize,
    },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {reason}")]
    RandomSource {
        /// The error the operating system reported.
        reason: String,
    },
}

/// What was wrong with a one-time code, as typed or as configured.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CodeError {
    /// A digit count outside what codes support.
    #[error("codes have {minimum} to {maximum} digits, not {digits}")]
    DigitCount {
        /// The digit count asked for.
        digits: u8,
        /// The smallest supported count.
        minimum: u8,
        /// The largest supported count.
        maximum: u8,
    },
    /// The code had the wrong number of digits.
    #[error("expected a code of {expected} digits, found {found}")]
    WrongLength {
        /// Digits expected.
        expected: u8,
        /// Digits found (separator excluded).
        found: usize,
    },
    /// A character that is neither a digit nor the one allowed separator.
    #[error("unexpected character at position {position} of the code")]
    InvalidCharacter {
        /// Zero-based position, in characters, in the input.
        position: usize,
    },
    /// A separator that does not stand between two groups of digits, or more than one.
    #[error(
        "misplaced separator at position {position}: one space or dash may stand between two groups of digits"
    )]
    MisplacedSeparator {
        /// Zero-based position, in characters, in the input.
        position: usize,
    },
    /// A numeric value too large for its digit count.
    #[error("value {value} does not fit in {digits} digits")]
    ValueTooLarge {
        /// The value given.
        value: u64,
        /// The digit count given.
        digits: u8,
    },
}

/// What was wrong with an HOTP or TOTP configuration or with a time given to it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OtpError {
    /// A digit count outside 6 to 10 (RFC 4226 §5.3 asks for at least 6).
    #[error("HOTP and TOTP codes have 6 to 10 digits, {digits} were asked for")]
    DigitCount {
        /// The digit count asked for.
        digits: u8,
    },
    /// A TOTP time step of zero seconds.
    #[error("the TOTP time step must be at least one second")]
    ZeroTimeStep,
    /// A time before the TOTP epoch T0 (or before the Unix epoch), for which no
    /// time step exists.
    #[error("time {time} is before T0 = {t0}")]
    TimeBeforeT0 {
        /// The Unix time given, in whole seconds (negative before 1970).
        time: i64,
        /// The configured T0.
        t0: u64,
    },
    /// Moving a counter would pass `u64::MAX`.
    #[error("counter {counter} cannot advance by {by} without overflowing")]
    CounterOverflow {
        /// The counter before the move.
        counter: u64,
        /// The amount it was to move by.
        by: u64,
    },
}

/// Why [`Hotp::verify`](crate::Hotp::verify) or [`Totp::verify`](crate::Totp::verify)
/// did not match a code.
///
/// # Security
///
/// These reasons are for logs and audit trails. A service should tell the person who
/// typed the code only that it was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No counter or time step in the window produced this code.
    #[error("the code matches no counter or time step in the window")]
    NoMatch,
    /// The code's digit count differs from the generator's.
    #[error("the code has {found} digits but the token uses {expected}")]
    DigitCount {
        /// The token's digit count.
        expected: u8,
        /// The submitted code's digit count.
        found: u8,
    },
    /// The time or counter given to the verifier was itself unusable.
    #[error(transparent)]
    Otp(#[from] OtpError),
}

/// What was wrong with a clock's configuration.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ClockError {
    /// A drift that is not finite, or so large that the clock would stop or run
    /// backwards (at or beyond -1,000,000 ppm) or run absurdly fast.
    #[error("clock drift {ppm} ppm is outside -999999 to +1000000 ppm")]
    Drift {
        /// The drift asked for, in parts per million.
        ppm: f64,
    },
}

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
        expired_at: crate::UnixTime,
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
    /// The device has no such operation (no keypad for challenges, no PIN pad, no
    /// unlock procedure).
    #[error("this device does not support {operation}")]
    Unsupported {
        /// The operation asked for.
        operation: &'static str,
    },
    /// The challenge-response computation refused the challenge typed in.
    #[error("challenge rejected: {reason}")]
    ChallengeRejected {
        /// Why, in words (never key material).
        reason: String,
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
