//! What can be wrong with an OCRA suite, its data input, a response or a transaction.

use crate::code::CodeError;
use crate::ocra::suite::QuestionKind;
use thiserror::Error;

/// Which optional part of an OCRA data input (RFC 6287 §5.1) an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataInputPart {
    /// `C`, the counter.
    Counter,
    /// `P`, the PIN or its hash.
    Password,
    /// `S`, the session information.
    Session,
    /// `T`, the timestamp.
    Timestamp,
}

impl core::fmt::Display for DataInputPart {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter.write_str(match self {
            DataInputPart::Counter => "counter (C)",
            DataInputPart::Password => "PIN hash (P)",
            DataInputPart::Session => "session information (S)",
            DataInputPart::Timestamp => "timestamp (T)",
        })
    }
}

/// Why an OCRA data input did not fit its suite, or a response could not be read.
///
/// No variant carries a PIN, a PIN hash or session data: only lengths, positions and
/// which part was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OcraError {
    /// The suite asks for this part and it was not given.
    #[error("the suite needs a {part} and none was given")]
    Missing {
        /// The part that is missing.
        part: DataInputPart,
    },
    /// This part was given but the suite does not use it. Refused rather than ignored,
    /// so a mismatch between a token's suite and its caller shows at once.
    #[error("a {part} was given but the suite does not use one")]
    NotInSuite {
        /// The part that was given.
        part: DataInputPart,
    },
    /// An empty challenge question.
    #[error("the challenge question is empty")]
    EmptyQuestion,
    /// A challenge question longer than the suite's `QFxx` allows.
    #[error("the challenge question has {length} characters, the suite allows at most {maximum}")]
    QuestionTooLong {
        /// Characters given.
        length: usize,
        /// The suite's `xx`.
        maximum: u8,
    },
    /// A character the suite's question format does not allow: digits for `QN`, hex
    /// digits for `QH`, ASCII letters and digits for `QA`.
    #[error("character {position} of the challenge question is not allowed in a {format} question")]
    QuestionCharacter {
        /// Zero-based position, in characters, in the question given.
        position: usize,
        /// The suite's question format.
        format: QuestionKind,
    },
    /// An empty PIN; a keypad PIN has at least one digit.
    #[error("the PIN is empty")]
    EmptyPin,
    /// A precomputed PIN hash of the wrong length for the suite's `PH`.
    #[error("the PIN hash has {found} bytes, the suite's hash has {expected}")]
    PasswordHashLength {
        /// The suite's hash length in bytes.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// Session information longer than the suite's `Snnn`.
    #[error("the session information has {length} bytes, the suite allows at most {maximum}")]
    SessionTooLong {
        /// Bytes given.
        length: usize,
        /// The suite's `nnn`.
        maximum: u16,
    },
    /// A time before the Unix epoch, which has no OCRA time step.
    #[error("time {time} is before the Unix epoch")]
    TimeBeforeEpoch {
        /// The Unix time given, in whole seconds.
        time: i64,
    },
    /// A counter window that would pass `u64::MAX`.
    #[error("counter {counter} cannot advance by {by} without overflowing")]
    CounterOverflow {
        /// The first counter of the window.
        counter: u64,
        /// The look-ahead asked for.
        by: u64,
    },
    /// A response of another kind or length than the suite's: `0` stands for the full
    /// HMAC of a suite without truncation.
    #[error(
        "the response has {found} digits but the suite's responses have {expected} (0: full HMAC)"
    )]
    ResponseDigits {
        /// The suite's truncation.
        expected: u8,
        /// The response's.
        found: u8,
    },
    /// A typed response that is not a valid code of the suite's length.
    #[error("invalid response: {0}")]
    ResponseCode(#[from] CodeError),
    /// A typed full-HMAC response with a character that is not a hex digit.
    #[error("character {position} of the response is not a hex digit")]
    ResponseHexCharacter {
        /// Zero-based position, in characters.
        position: usize,
    },
    /// A typed full-HMAC response of the wrong length.
    #[error("the response has {found} hex digits, the suite's full HMAC has {expected}")]
    ResponseHexLength {
        /// Hex digits of the suite's HMAC.
        expected: usize,
        /// Hex digits given.
        found: usize,
    },
    /// The operating system's random number generator failed while making a challenge.
    #[error("the operating system's random number generator failed: {reason}")]
    RandomSource {
        /// The error the operating system reported.
        reason: String,
    },
}

/// Why [`Ocra::verify`](crate::ocra::Ocra::verify) did not accept a response.
///
/// # Security
///
/// These reasons are for logs and audit trails. Tell the person who typed the
/// response only that it was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OcraVerifyError {
    /// No counter or time step in the window produced this response.
    #[error("the response matches no counter or time step in the window")]
    NoMatch,
    /// The data input or the response did not fit the suite.
    #[error(transparent)]
    Input(#[from] OcraError),
}

/// What was wrong with a transfer to be signed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TransactionError {
    /// A currency code that is not three upper-case ASCII letters (ISO 4217 alphabetic
    /// code, e.g. `EUR`).
    #[error("a currency code is three upper-case letters (ISO 4217), found {found:?}")]
    Currency {
        /// The code as given.
        found: String,
    },
    /// A beneficiary account that is empty or only white space.
    #[error("the beneficiary account is empty")]
    EmptyBeneficiary,
    /// A reference given as `Some` but empty or only white space; use `None` for no
    /// reference.
    #[error("the reference is empty: give None for a transfer without one")]
    EmptyReference,
    /// A field longer than [`MAX_TRANSACTION_FIELD_BYTES`](crate::ocra::MAX_TRANSACTION_FIELD_BYTES).
    #[error("the {field} has {length} bytes, at most {maximum} are allowed")]
    FieldTooLong {
        /// `beneficiary` or `reference`.
        field: &'static str,
        /// Its length in bytes.
        length: usize,
        /// The limit.
        maximum: usize,
    },
    /// A control character (line break, tab, NUL...) in a field, which a bank page
    /// could render invisibly.
    #[error("the {field} has a control character at position {position}")]
    ControlCharacter {
        /// `beneficiary` or `reference`.
        field: &'static str,
        /// Zero-based position, in characters.
        position: usize,
    },
    /// A payee account for sign mode with fewer digits than the fob takes.
    #[error("a sign-mode payee account needs at least 8 digits, found {digits}")]
    SignModeAccount {
        /// How many digits the account has.
        digits: usize,
    },
    /// An amount for sign mode above the fob's 10 digits.
    #[error("a sign-mode amount has at most 10 digits (minor units), found {amount_minor}")]
    SignModeAmount {
        /// The amount in minor units.
        amount_minor: u64,
    },
    /// A batch for sign mode with no payees or more than 9999.
    #[error("a sign-mode batch names 1 to 9999 payees, found {payees}")]
    SignModePayees {
        /// The number of payees.
        payees: u32,
    },
}
