//! What can be wrong with a migration file, one of its tokens, or its apply.

use thiserror::Error;

use crate::hotp::OtpError;
use crate::secret::SecretError;
use crate::validator::error::{TokenIdError, ValidatorError};

/// Why a migration file, or one token in it, cannot be imported.
///
/// Values quoted back are shortened to at most 40 characters; a secret is never quoted
/// (a bad one is described by [`SecretError`], by position only), nor a PIN hash.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The file is not UTF-8 text.
    #[error("the file is not UTF-8 text (at byte {position})")]
    NotUtf8 {
        /// The byte where the first invalid sequence starts.
        position: usize,
    },
    /// The file is larger than the reader accepts.
    #[error("the file has {length} bytes, at most {maximum} are read")]
    TooLarge {
        /// The file's length.
        length: usize,
        /// The largest length accepted ([`MAX_MIGRATION_FILE_LEN`](super::MAX_MIGRATION_FILE_LEN)).
        maximum: usize,
    },
    /// The YAML could not be parsed.
    #[error("not YAML: {reason}")]
    Yaml {
        /// The parser's message (positions, never values).
        reason: String,
    },
    /// The YAML is not a list of token mappings, as privacyIDEA's export writes.
    #[error("expected a list of tokens, found {found}")]
    NotAList {
        /// What was found instead.
        found: &'static str,
    },
    /// A line has fewer or more columns than its format allows.
    #[error("{found} columns, expected {expected}")]
    Columns {
        /// Columns found.
        found: usize,
        /// The allowed counts, as text (`"2 to 5"`).
        expected: &'static str,
    },
    /// A quoted field is not closed, or text follows its closing quote.
    #[error("bad quoting in column {column}")]
    Quoting {
        /// The one-based column.
        column: usize,
    },
    /// A field the format requires is absent or empty.
    #[error("{field} is missing")]
    MissingField {
        /// The field's name in the source format.
        field: &'static str,
    },
    /// A field has a value that cannot be used.
    #[error("{field} {value:?} is not {expected}")]
    BadField {
        /// The field's name in the source format.
        field: &'static str,
        /// The value, shortened.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A token type otpfob does not validate (privacyIDEA's `spass`, `push`, `sms`...).
    #[error("token type {found:?} is not migrated: only hotp and totp are")]
    UnsupportedType {
        /// The type, shortened.
        found: String,
    },
    /// The secret cannot be decoded.
    #[error("the key cannot be decoded: {0}")]
    Secret(SecretError),
    /// The secret is shorter than [`MIN_IMPORTED_SECRET_BITS`](crate::provision::MIN_IMPORTED_SECRET_BITS).
    #[error("the key has {bits} bits, fewer than the {minimum} accepted")]
    SecretTooShort {
        /// Its length in bits.
        bits: usize,
        /// The fewest accepted.
        minimum: usize,
    },
    /// The code parameters are invalid (digits, time step).
    #[error("bad code parameters: {0}")]
    Parameters(OtpError),
    /// The serial is not a valid token id.
    #[error("the serial is not a valid token id: {0}")]
    TokenId(TokenIdError),
    /// The serial appears more than once in the file: which of its records holds the
    /// token's real state cannot be known, so none is imported.
    #[error("serial {serial:?} appears {count} times in the file (first at {first})")]
    DuplicateSerial {
        /// The serial, shortened.
        serial: String,
        /// How many times.
        count: usize,
        /// The position (line or record) of its first appearance.
        first: usize,
    },
    /// The validity period ends at or before it starts.
    #[error("the validity period ends ({not_after}) at or before it starts ({not_before})")]
    EmptyValidity {
        /// Its start, in Unix seconds.
        not_before: i64,
        /// Its end, in Unix seconds.
        not_after: i64,
    },
    /// The owner would hold more tokens than a customer may
    /// ([`MAX_TOKENS_PER_CUSTOMER`](crate::validator::MAX_TOKENS_PER_CUSTOMER)):
    /// every token of the file for that owner is refused, as which of them to leave
    /// out is the bank's choice.
    #[error("owner {owner:?} would hold {count} tokens, at most {maximum} are allowed")]
    TooManyTokens {
        /// The owner, shortened.
        owner: String,
        /// The tokens they would hold: those enrolled already and those of the file.
        count: usize,
        /// The most allowed.
        maximum: usize,
    },
    /// A token with this id is already enrolled in the validator.
    #[error("token {serial:?} is already enrolled")]
    AlreadyEnrolled {
        /// The id, shortened.
        serial: String,
    },
    /// The validator could not be asked whether the token exists.
    #[error("the store could not be read: {0}")]
    Store(ValidatorError),
}

/// Why [`Validator::apply_migration`](crate::Validator::apply_migration) wrote nothing.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum MigrationApplyError {
    /// The dry run refused tokens (`refused` of them): the file is imported whole or
    /// not at all, so nothing was written. The report says which and why.
    #[error("{refused} tokens refused in the dry run: nothing was imported")]
    Refused {
        /// How many tokens were refused.
        refused: usize,
        /// The dry run's report.
        report: super::MigrationReport,
    },
    /// Enrolling `serial` failed after `rolled_back` tokens of the file were enrolled;
    /// those were deleted again (audited as deletions), so nothing of the file stays.
    #[error(
        "enrolling {serial:?} failed ({error}); the {rolled_back} tokens enrolled before it were deleted again"
    )]
    Enrol {
        /// The token that failed, shortened.
        serial: String,
        /// Why (boxed: it is large, and this error is rare).
        error: Box<ValidatorError>,
        /// How many tokens were enrolled and deleted again.
        rolled_back: usize,
    },
    /// Enrolling failed, and so did deleting some of the tokens enrolled before:
    /// `left` stay enrolled and must be deleted by hand.
    #[error("enrolling {serial:?} failed ({error}), and {} tokens enrolled before it could not be deleted", left.len())]
    RollbackIncomplete {
        /// The token that failed, shortened.
        serial: String,
        /// Why (boxed: it is large, and this error is rare).
        error: Box<ValidatorError>,
        /// The ids still enrolled.
        left: Vec<String>,
    },
}

/// A value shortened to at most 40 characters, for an error message.
pub(crate) fn shortened(value: &str) -> String {
    value.chars().take(40).collect()
}
