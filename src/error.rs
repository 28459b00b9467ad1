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

/// What was wrong with an `otpauth://` key URI, or with the parts given to build one.
///
/// Values quoted back are shortened to at most 40 characters; the secret is never
/// quoted (a bad secret is described by [`SecretError`], by position only).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyUriError {
    /// The URI is longer than [`MAX_KEY_URI_LEN`](crate::MAX_KEY_URI_LEN) bytes.
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
    /// [`MAX_KEY_URI_PERIOD`](crate::MAX_KEY_URI_PERIOD).
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
    /// A module size outside 1 to [`MAX_QR_MODULE_PIXELS`](crate::MAX_QR_MODULE_PIXELS)
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

/// What was wrong with an RFC 6030 PSKC key container, or with what was asked of one.
///
/// Element names are the local names of the file's elements (`Secret`, `Counter`,
/// ...). Values are quoted back shortened to at most 40 characters, and only values
/// that are not key material: a bad secret is named by its key's `Id`, never shown.
#[cfg(feature = "pskc")]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PskcError {
    /// The document is larger than the limit.
    #[error("the PSKC document has {length} bytes, more than the limit of {maximum}")]
    DocumentTooLarge {
        /// The document's length in bytes.
        length: usize,
        /// The limit, [`PskcLimits::max_document_bytes`](crate::PskcLimits).
        maximum: usize,
    },
    /// The document is not UTF-8, or declares another encoding.
    #[error("the PSKC document is not UTF-8 (encoding {encoding:?})")]
    Encoding {
        /// The declared encoding, or `"invalid UTF-8"`.
        encoding: String,
    },
    /// The XML is not well-formed.
    #[error("malformed XML at byte {position}: {reason}")]
    Xml {
        /// Byte offset in the document where the reader stopped.
        position: u64,
        /// What the XML reader reported.
        reason: String,
    },
    /// The document has a `<!DOCTYPE>`. Document type declarations are refused
    /// outright: they are how entity expansion attacks ("billion laughs") and external
    /// entity reads begin, and PSKC never needs one.
    #[error("document type declarations (<!DOCTYPE>) are not accepted in PSKC files")]
    DocumentType,
    /// An entity reference other than the five XML predefines and character
    /// references.
    #[error("unknown entity &{name}; (no entities are declared in a PSKC file)")]
    UnknownEntity {
        /// The entity name.
        name: String,
    },
    /// Elements nested deeper than the limit.
    #[error("elements are nested more than {maximum} deep")]
    TooDeep {
        /// The limit.
        maximum: usize,
    },
    /// More elements than the limit.
    #[error("the document has more than {maximum} elements")]
    TooManyElements {
        /// The limit.
        maximum: usize,
    },
    /// An element whose text or attribute is longer than the limit.
    #[error("the text of <{element}> is longer than {maximum} bytes")]
    TextTooLong {
        /// The element.
        element: String,
        /// The limit.
        maximum: usize,
    },
    /// More key packages than the limit.
    #[error("the container has more than {maximum} key packages")]
    TooManyKeys {
        /// The limit.
        maximum: usize,
    },
    /// The root element is not `<KeyContainer>`.
    #[error("the root element is <{root}>, not <KeyContainer>")]
    NotKeyContainer {
        /// The root element's local name.
        root: String,
    },
    /// A `Version` other than `1.0`.
    #[error("unsupported PSKC version {version:?}: expected 1.0")]
    Version {
        /// The version found, if any.
        version: Option<String>,
    },
    /// A required element is missing.
    #[error("<{element}> is missing from <{parent}>")]
    MissingElement {
        /// The missing element.
        element: &'static str,
        /// Where it was expected; for a key, `Key Id="..."`.
        parent: String,
    },
    /// A required attribute is missing.
    #[error("attribute {attribute} is missing from <{element}>")]
    MissingAttribute {
        /// The missing attribute.
        attribute: &'static str,
        /// The element.
        element: String,
    },
    /// An element that may appear once appears more than once.
    #[error("<{element}> appears more than once in <{parent}>")]
    DuplicateElement {
        /// The repeated element.
        element: String,
        /// Its parent.
        parent: String,
    },
    /// A value that does not parse as its type (integer, date, boolean, ...).
    #[error("<{element}> has the invalid value {value:?}: {reason}")]
    InvalidValue {
        /// The element (or `Element@Attribute`).
        element: String,
        /// The value, shortened.
        value: String,
        /// What was expected.
        reason: &'static str,
    },
    /// Base64 that does not decode (bad characters, length or padding).
    #[error("<{element}> of {owner} is not valid base64")]
    Base64 {
        /// The element holding the base64.
        element: &'static str,
        /// Whose value it is: `Key Id="..."`, `MACKey`, `Salt`.
        owner: String,
    },
    /// A key, or an encoded value, longer than the limit.
    #[error("the {element} of {owner} has {length} bytes, more than the limit of {maximum}")]
    ValueTooLong {
        /// The element.
        element: &'static str,
        /// Whose value it is.
        owner: String,
        /// Its length in bytes (decoded, or encoded where it was refused before
        /// decoding).
        length: usize,
        /// The limit.
        maximum: usize,
    },
    /// An encryption algorithm this crate does not implement (only AES-CBC of
    /// XML Encryption is: `aes128-cbc`, `aes192-cbc`, `aes256-cbc`).
    #[error("unsupported encryption algorithm {algorithm:?}")]
    UnsupportedEncryption {
        /// The algorithm URI.
        algorithm: String,
    },
    /// A MAC algorithm other than HMAC-SHA1, -SHA256 or -SHA512.
    #[error("unsupported MAC algorithm {algorithm:?}")]
    UnsupportedMac {
        /// The algorithm URI.
        algorithm: String,
    },
    /// A key derivation other than PBKDF2, or a PBKDF2 PRF other than HMAC-SHA1,
    /// -SHA256 or -SHA512.
    #[error("unsupported key derivation {algorithm:?}")]
    UnsupportedKeyDerivation {
        /// The algorithm URI.
        algorithm: String,
    },
    /// A PBKDF2 iteration count of zero or above the limit.
    #[error("PBKDF2 iteration count {iterations} is outside 1 to {maximum}")]
    Iterations {
        /// The count in the file (or asked for on export).
        iterations: u64,
        /// The limit.
        maximum: u32,
    },
    /// A key of the wrong length for its cipher.
    #[error("the {purpose} has {found} bytes; {expected} are needed")]
    KeyLength {
        /// What the key is for: `"pre-shared key"`, `"derived key"`.
        purpose: &'static str,
        /// The length the cipher needs.
        expected: String,
        /// The length given.
        found: usize,
    },
    /// The file's values are encrypted and no (or the wrong kind of) credential was
    /// given. `kind` is `"pre-shared key"` or `"password"`.
    #[error("the file is encrypted: a {kind} is needed (key name {key_name:?})")]
    CredentialNeeded {
        /// The kind of credential the file needs.
        kind: &'static str,
        /// The name the file gives the key (`KeyName` or `MasterKeyName`).
        key_name: Option<String>,
    },
    /// Encrypted values without the MAC that RFC 6030 §6.1.1 requires for AES-CBC:
    /// no `<MACMethod>`, or a value without `<ValueMAC>`.
    #[error("encrypted value of {owner} has no MAC ({element} is missing)")]
    MissingMac {
        /// The missing element: `MACMethod` or `ValueMAC`.
        element: &'static str,
        /// Whose value it is.
        owner: String,
    },
    /// A `<ValueMAC>` does not match: the key or password is wrong, or the file was
    /// altered. No secret of the file is used.
    #[error("the MAC of the {element} of {owner} does not match: wrong key or altered file")]
    MacMismatch {
        /// The element whose MAC failed.
        element: &'static str,
        /// Whose value it is.
        owner: String,
    },
    /// A value whose decryption failed (bad length or padding): the key is wrong or
    /// the file was altered.
    #[error("the {element} of {owner} does not decrypt: wrong key or altered file")]
    Decryption {
        /// The element.
        element: &'static str,
        /// Whose value it is.
        owner: String,
    },
    /// A key that is not an HOTP or TOTP key was asked to become a token.
    #[error("key {key_id:?} has algorithm {algorithm:?}, not HOTP or TOTP")]
    NotAnOtpKey {
        /// The key's `Id`.
        key_id: String,
        /// Its `Algorithm` URI, if any.
        algorithm: Option<String>,
    },
    /// An OTP key whose response format this crate cannot produce: not decimal, or a
    /// length outside 6 to 10, or a hash suite it does not know.
    #[error("key {key_id:?}: unsupported {what} {value:?}")]
    UnsupportedFormat {
        /// The key's `Id`.
        key_id: String,
        /// `"response encoding"`, `"response length"`, `"suite"`.
        what: &'static str,
        /// The value, shortened.
        value: String,
    },
    /// A token whose TOTP T0 is not the Unix epoch, which PSKC cannot carry.
    #[error("token {key_id:?} has T0 = {t0}; PSKC time-based keys count from the Unix epoch")]
    TimeOrigin {
        /// The token's key id.
        key_id: String,
        /// Its T0.
        t0: u64,
    },
    /// A token with invalid parameters was given to export.
    #[error("token {key_id:?}: {source}")]
    Parameters {
        /// The token's key id.
        key_id: String,
        /// What was wrong.
        #[source]
        source: OtpError,
    },
    /// The operating system's random number generator failed during export.
    #[error("the operating system's random number generator failed: {reason}")]
    RandomSource {
        /// The error the operating system reported.
        reason: String,
    },
}
