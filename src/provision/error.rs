//! What can be wrong with a key URI or a QR code.

use crate::hotp::OtpError;
use crate::secret::SecretError;
use thiserror::Error;

/// What was wrong with an `otpauth://` key URI, or with the parts given to build one.
///
/// Values quoted back are shortened to at most 40 characters; the secret is never
/// quoted (a bad secret is described by [`SecretError`], by position only).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyUriError {
    /// The URI is longer than [`MAX_KEY_URI_LEN`](crate::provision::MAX_KEY_URI_LEN) bytes.
    #[error("a key URI has at most {maximum} bytes, this one has {length}")]
    TooLong {
        /// The length of the input in bytes.
        length: usize,
        /// The largest length accepted.
        maximum: usize,
    },
    /// The URI does not begin with `otpauth://`.
    #[error("not an otpauth:// URI (scheme {scheme:?})")]
    Scheme {
        /// The scheme found, when the input had a recognisable one.
        scheme: Option<String>,
    },
    /// The type after `otpauth://` is neither `totp` nor `hotp`.
    #[error("unknown key URI type {found:?}: expected totp or hotp")]
    UnknownType {
        /// The type found.
        found: String,
    },
    /// There is no `/LABEL` after the type.
    #[error("the key URI has no label after its type")]
    MissingLabel,
    /// The issuer or the account name is empty, or holds a character it may not.
    #[error("the {part} {reason}")]
    InvalidName {
        /// `"account name"` or `"issuer"`.
        part: &'static str,
        /// What was wrong: `"is empty"`, `"contains a colon"`, `"starts with a space"`.
        reason: &'static str,
    },
    /// A `%` not followed by two hexadecimal digits.
    #[error("malformed percent-encoding at byte {position}")]
    PercentEncoding {
        /// Zero-based byte position of the `%` in the URI.
        position: usize,
    },
    /// Percent-decoding produced bytes that are not UTF-8.
    #[error("the {part} is not UTF-8 once percent-decoded")]
    Utf8 {
        /// `"label"`, or the name of the parameter.
        part: String,
    },
    /// The URI has a `#fragment`, which no authenticator app writes.
    #[error("a key URI has no #fragment")]
    Fragment,
    /// A query parameter with an empty name (`&=value`).
    #[error("a query parameter has an empty name")]
    EmptyParameterName,
    /// A parameter given twice.
    #[error("parameter {name:?} is given more than once")]
    DuplicateParameter {
        /// The parameter name.
        name: String,
    },
    /// A known parameter with an empty value (`issuer=`).
    #[error("parameter {name:?} has an empty value")]
    EmptyValue {
        /// The parameter name.
        name: String,
    },
    /// A parameter that the URI's type does not take: `counter` on a TOTP URI or
    /// `period` on an HOTP one.
    #[error("a {kind} key URI takes no {name:?} parameter")]
    UnexpectedParameter {
        /// The parameter name.
        name: String,
        /// `"totp"` or `"hotp"`.
        kind: &'static str,
    },
    /// A name given to
    /// [`KeyUri::with_extra_parameter`](crate::KeyUri::with_extra_parameter) that the
    /// format defines (`secret`, `issuer`, `algorithm`, `digits`, `period`, `counter`).
    #[error("parameter {name:?} is defined by the format and cannot be an extra parameter")]
    ReservedParameter {
        /// The parameter name.
        name: String,
    },
    /// There is no `secret` parameter.
    #[error("the key URI has no secret parameter")]
    MissingSecret,
    /// The `secret` parameter is not valid base32.
    #[error("the secret parameter is not valid base32: {0}")]
    Secret(#[source] SecretError),
    /// An HOTP URI without the `counter` parameter, which the format requires.
    #[error("an hotp key URI needs a counter parameter")]
    MissingCounter,
    /// A `counter` that is not a decimal number of at most 64 bits.
    #[error("counter {value:?} is not a decimal number below 2^64")]
    Counter {
        /// The value given.
        value: String,
    },
    /// An `algorithm` other than SHA1, SHA256 or SHA512.
    #[error("unknown algorithm {value:?}: expected SHA1, SHA256 or SHA512")]
    Algorithm {
        /// The value given.
        value: String,
    },
    /// `digits` not a whole number from 6 to 10.
    #[error("digits {value:?} is not a whole number from 6 to 10")]
    Digits {
        /// The value given.
        value: String,
    },
    /// `period` not a whole number of seconds from 1 to
    /// [`MAX_KEY_URI_PERIOD`](crate::provision::MAX_KEY_URI_PERIOD).
    #[error("period {value:?} is not a whole number of seconds from 1 to 86400")]
    Period {
        /// The value given.
        value: String,
    },
    /// The issuer in the label and the `issuer` parameter differ.
    #[error("the label's issuer {label:?} differs from the issuer parameter {parameter:?}")]
    IssuerMismatch {
        /// The issuer prefix of the label.
        label: String,
        /// The `issuer` parameter.
        parameter: String,
    },
    /// TOTP parameters with a T0 other than the Unix epoch, which a key URI cannot
    /// carry.
    #[error("a key URI cannot carry T0 = {t0}: authenticator apps count from the Unix epoch")]
    TimeOrigin {
        /// The T0 given.
        t0: u64,
    },
    /// The parameters given to [`KeyUri::new`](crate::KeyUri::new) are not valid.
    #[error(transparent)]
    Parameters(#[from] OtpError),
    /// The secret is shorter than the minimum
    /// ([`MIN_IMPORTED_SECRET_BITS`](crate::provision::MIN_IMPORTED_SECRET_BITS) unless
    /// [`KeyUriOptions::min_secret_bits`](crate::provision::KeyUriOptions) says otherwise).
    #[error("the secret has {bits} bits, fewer than the {minimum_bits} accepted")]
    SecretTooShort {
        /// The secret's length in bits.
        bits: usize,
        /// The fewest accepted.
        minimum_bits: usize,
    },
    /// The issuer or the account name holds a control character (NUL, ESC, ...) or an
    /// invisible or direction-changing one (U+202E, U+200B, ...: see
    /// [`is_invisible_character`](crate::text::is_invisible_character)).
    #[error(
        "the {part} holds the invisible or control character U+{code_point:04X} at position {position}"
    )]
    InvalidCharacter {
        /// `"account name"` or `"issuer"`.
        part: &'static str,
        /// Zero-based position in the decoded name, in characters.
        position: usize,
        /// The character's code point.
        code_point: u32,
    },
    /// The URI's canonical form ([`KeyUri::to_uri`](crate::KeyUri::to_uri)) would be
    /// longer than [`MAX_KEY_URI_LEN`](crate::provision::MAX_KEY_URI_LEN) bytes, so it would not
    /// read back.
    #[error(
        "written out, the key URI would have {length} bytes, more than the {maximum} a key URI may have"
    )]
    WrittenTooLong {
        /// The length of the canonical form in bytes.
        length: usize,
        /// The largest length accepted.
        maximum: usize,
    },
}

/// Why a QR code could not be made or rendered.
#[cfg(feature = "qr")]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum QrError {
    /// The text does not fit in the largest QR code (version 40) at error-correction
    /// level M.
    #[error("{length} bytes do not fit in a QR code at error-correction level M")]
    TooLong {
        /// The length of the text in bytes.
        length: usize,
    },
    /// The QR encoder refused the text for another reason.
    #[error("the QR encoder failed: {reason}")]
    Encoding {
        /// What the encoder reported.
        reason: String,
    },
    /// A module size outside 1 to [`MAX_QR_MODULE_PIXELS`](crate::provision::MAX_QR_MODULE_PIXELS)
    /// pixels.
    #[error("a QR module is 1 to {maximum} pixels wide, not {pixels}")]
    ModuleSize {
        /// The size asked for.
        pixels: u32,
        /// The largest size accepted.
        maximum: u32,
    },
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {reason}")]
    Png {
        /// What the encoder reported.
        reason: String,
    },
}
