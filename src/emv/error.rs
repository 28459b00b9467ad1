//! What the EMV-CAP module refuses, and why.

use thiserror::Error;

/// Bad input to the card, the reader or the bank's CAP verifier.
///
/// No variant carries a key, a PIN or a cryptogram; a PAN is named only by its
/// length or the position of a bad character.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EmvError {
    /// A key that is not 16 bytes (a double-length Triple DES key).
    #[error("an EMV key has 16 bytes (32 hex digits), this one has {length}")]
    KeyLength {
        /// How many bytes (or, for hex input, half the digits) it had.
        length: usize,
    },
    /// A key given as hex with a character that is not a hex digit.
    #[error(
        "a hex key has only the digits 0-9 and A-F, found another character at position {position}"
    )]
    KeyCharacter {
        /// Zero-based position of the first bad character.
        position: usize,
    },
    /// A PAN of the wrong length.
    #[error("a PAN has 12 to 19 digits, this one has {length}")]
    PanLength {
        /// How many characters it had.
        length: usize,
    },
    /// A PAN, challenge or data field with a character that is not a decimal digit.
    #[error("{what} has only the digits 0 to 9, found another character at position {position}")]
    NotDigits {
        /// What was being read ("a PAN", "a challenge", "a data field").
        what: &'static str,
        /// Zero-based position, in characters, of the first bad character.
        position: usize,
    },
    /// A set of CAP modes that is empty or names a mode that does not exist.
    #[error("a set of CAP modes has bits 0 to 3 and at least one of them, not {bits:#04x}")]
    Modes {
        /// The bits given.
        bits: u8,
    },
    /// A card's ATC look-ahead outside 1 to the maximum.
    #[error("a card's ATC look-ahead is 1 to {maximum}, not {look_ahead}")]
    LookAhead {
        /// The look-ahead given.
        look_ahead: u16,
        /// The widest allowed.
        maximum: u16,
    },
    /// A card's next expected ATC past the end of the 16-bit counter.
    #[error("a card's next ATC is at most 65536, not {next_atc}")]
    Atc {
        /// The value given.
        next_atc: u32,
    },
    /// A PAN sequence number above 99 (it is two decimal digits).
    #[error("a PAN sequence number is 0 to 99, not {value}")]
    SequenceNumber {
        /// The value given.
        value: u8,
    },
    /// An expiry month outside 1 to 12.
    #[error("an expiry month is 1 to 12, not {month}")]
    ExpiryMonth {
        /// The month given.
        month: u8,
    },
    /// A challenge or data field with too many digits, or none.
    #[error("{what} has 1 to {maximum} digits, this one has {length}")]
    DigitCount {
        /// What was being read.
        what: &'static str,
        /// How many digits it had.
        length: usize,
        /// The most it may have.
        maximum: usize,
    },
    /// An amount larger than twelve decimal digits (EMV's Amount, Authorised).
    #[error("an amount has at most 12 digits in minor units, {minor_units} does not fit")]
    Amount {
        /// The amount given, in minor units.
        minor_units: u64,
    },
    /// A currency code above 999 (ISO 4217 numeric codes have three digits).
    #[error("an ISO 4217 numeric currency code is 0 to 999, not {code}")]
    CurrencyCode {
        /// The code given.
        code: u16,
    },
    /// Mode 2 (TDS) with no data field, or more than a reader takes.
    #[error("a signature (mode 2) takes 1 to {maximum} data fields, not {count}")]
    FieldCount {
        /// How many fields were given.
        count: usize,
        /// The most a reader takes.
        maximum: usize,
    },
    /// An issuer proprietary bitmap that selects too few or too many bits for a
    /// code, or is longer than the data it masks.
    #[error(
        "an IPB must select {minimum} to {maximum} bits of at most {length_limit} bytes, this one selects {bits} of {length} bytes"
    )]
    Bitmap {
        /// How many bits it selects.
        bits: u32,
        /// Its length in bytes.
        length: usize,
        /// The fewest bits allowed.
        minimum: u32,
        /// The most bits allowed (a code's value is at most 32 bits).
        maximum: u32,
        /// The most bytes it may have: the data a CAP code is cut from.
        length_limit: usize,
    },
    /// The card's application transaction counter is at its end: the card makes no
    /// more cryptograms.
    #[error("the card's transaction counter is exhausted")]
    CounterExhausted,
    /// A GENERATE AC response that is not one of EMV's two formats, or lacks a field.
    #[error("not a GENERATE AC response: {reason}")]
    Response {
        /// What was wrong.
        reason: &'static str,
    },
}
