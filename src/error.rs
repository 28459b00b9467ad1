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

/// What was wrong with a token identifier.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TokenIdError {
    /// The identifier was empty.
    #[error("a token id must not be empty")]
    Empty,
    /// The identifier was longer than the limit.
    #[error("a token id has at most {maximum} bytes, this one has {length}")]
    TooLong {
        /// Its length in bytes.
        length: usize,
        /// The limit.
        maximum: usize,
    },
    /// A control character or white space stood at this position.
    #[error("a token id may not contain white space or control characters (position {position})")]
    InvalidCharacter {
        /// Zero-based position, in characters.
        position: usize,
    },
    /// An invisible or direction-changing character (Unicode format characters such
    /// as U+202E RIGHT-TO-LEFT OVERRIDE or U+200B ZERO WIDTH SPACE; see
    /// [`is_invisible_character`](crate::is_invisible_character)) stood at this
    /// position: it would make the id display as another.
    #[error(
        "a token id may not contain the invisible or direction-changing character U+{code_point:04X} (position {position})"
    )]
    InvisibleCharacter {
        /// Zero-based position, in characters.
        position: usize,
        /// The character's code point.
        code_point: u32,
    },
}

/// Why a secret could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SealError {
    /// No key in the keyring has the key id the sealed secret names.
    #[error("no sealing key with id {key_id} is in the keyring")]
    UnknownKey {
        /// The key id the sealed secret names.
        key_id: u32,
    },
    /// The ciphertext, its nonce, its token id or the key is not the one it was sealed
    /// with: tampered data, a record moved to another token id, or the wrong key.
    #[error("the sealed secret of token {token} does not authenticate")]
    Unauthentic {
        /// The token whose secret failed to open.
        token: String,
    },
    /// A sealing key of the wrong length.
    #[error("a sealing key has 32 bytes, {length} were given")]
    KeyLength {
        /// The length given.
        length: usize,
    },
    /// Two keys in one keyring share a key id.
    #[error("key id {key_id} appears twice in the keyring")]
    DuplicateKeyId {
        /// The repeated id.
        key_id: u32,
    },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {reason}")]
    RandomSource {
        /// The error the operating system reported.
        reason: String,
    },
}

/// What went wrong in a token store. Every store error makes the validator reject.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A token with this id is already enrolled.
    #[error("token {token} is already enrolled")]
    AlreadyEnrolled {
        /// The token id.
        token: String,
    },
    /// No token with this id is enrolled.
    #[error("token {token} is not enrolled")]
    NotEnrolled {
        /// The token id.
        token: String,
    },
    /// A stored record could not be read back into a valid record.
    #[error("the stored record of token {token} is corrupt: {reason}")]
    Corrupt {
        /// The token id.
        token: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The store's database or file failed (I/O, connection, timeout, lock).
    #[error("the store failed: {reason}")]
    Backend {
        /// What the database reported.
        reason: String,
    },
    /// The database's schema is newer than this library understands.
    #[error(
        "the database schema is version {found}, newer than the {supported} this library supports"
    )]
    SchemaTooNew {
        /// The schema version found.
        found: i64,
        /// The newest version this library knows.
        supported: i64,
    },
}

/// What was wrong with a validator request that is not a verification: enrolment,
/// administration, PIN setting.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ValidatorError {
    /// The token id was not valid.
    #[error(transparent)]
    TokenId(#[from] TokenIdError),
    /// The token's parameters were not valid.
    #[error(transparent)]
    Parameters(#[from] OtpError),
    /// The secret could not be sealed or opened.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server-side PIN could not be hashed or was malformed.
    #[error("server-side PIN rejected: {reason}")]
    Pin {
        /// What was wrong (never the PIN).
        reason: String,
    },
    /// The policy's values contradict each other or are out of range.
    #[error("invalid policy: {reason}")]
    Policy {
        /// What was wrong.
        reason: String,
    },
    /// Other validator nodes kept changing the token; the request gave up.
    #[error("token {token} changed under {attempts} attempts; gave up")]
    Contention {
        /// The token id.
        token: String,
        /// How many compare-and-swap attempts were made.
        attempts: u32,
    },
    /// An OCRA challenge or PIN was asked for a token enrolled without an OCRA suite.
    #[error("token {token} has no OCRA suite: it answers no challenges")]
    NoOcra {
        /// The token id.
        token: String,
    },
    /// An OCRA suite the validator does not verify: one with session information
    /// (`S`), which no request carries, or a PIN change for a suite without `P`.
    #[error("the validator cannot use OCRA suite {suite}: {reason}")]
    OcraSuite {
        /// The suite string.
        suite: String,
        /// Why.
        reason: &'static str,
    },
    /// An OCRA enrolment or challenge did not fit the suite (a missing or extra PIN, a
    /// PIN hash of the wrong length), or no randomness was available for a challenge.
    #[error(transparent)]
    Ocra(#[from] OcraError),
}

/// What was wrong with an OCRA suite string (RFC 6287 §6).
///
/// The suite string is part of every OCRA computation, so only its canonical spelling is
/// accepted: upper case, the data input in the order `[C-]QFxx[-PH][-Snnn][-TG]`, and
/// numbers without leading zeros (except the fixed-width `xx` and `nnn`). The part that
/// was wrong is quoted back; a suite holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SuiteError {
    /// The suite is longer than any valid suite, so it was not read further.
    #[error("an OCRA suite has at most {maximum} bytes, this one has {length}")]
    TooLong {
        /// The length of the input, in bytes.
        length: usize,
        /// The longest valid suite.
        maximum: usize,
    },
    /// The suite does not have three parts separated by `:`.
    #[error(
        "an OCRA suite has three parts separated by `:` (version, crypto function, data input), found {parts}"
    )]
    PartCount {
        /// How many `:`-separated parts the input had.
        parts: usize,
    },
    /// The first part is not `OCRA-1`, the only version RFC 6287 defines.
    #[error("the suite version must be OCRA-1, found {found:?}")]
    Version {
        /// The first part as given.
        found: String,
    },
    /// The crypto function is not `HOTP-SHA1`, `HOTP-SHA256` or `HOTP-SHA512` followed
    /// by `-` and a truncation.
    #[error(
        "the crypto function must be HOTP-SHA1, HOTP-SHA256 or HOTP-SHA512 and a truncation, found {found:?}"
    )]
    CryptoFunction {
        /// The second part as given.
        found: String,
    },
    /// The truncation is not 0 (no truncation) or 4 to 10 digits, written without
    /// leading zeros.
    #[error("the truncation must be 0 or 4 to 10 digits, found {found:?}")]
    Truncation {
        /// The truncation as given.
        found: String,
    },
    /// The data input has no challenge question `QFxx`, which RFC 6287 makes mandatory.
    #[error("the data input has no challenge question (QA, QN or QH and a length)")]
    MissingQuestion,
    /// The challenge question is not `Q`, a format `A`, `N` or `H`, and a two-digit
    /// length from 04 to 64.
    #[error(
        "the challenge must be QA, QN or QH and a two-digit length from 04 to 64, found {found:?}"
    )]
    Question {
        /// The element as given.
        found: String,
    },
    /// The PIN hash is not `PSHA1`, `PSHA256` or `PSHA512`.
    #[error("the PIN hash must be PSHA1, PSHA256 or PSHA512, found {found:?}")]
    PinHash {
        /// The element as given.
        found: String,
    },
    /// The session information is not `S` and a three-digit length from 001 to 512
    /// bytes (RFC 6287 §5.1: up to 512 bytes; the usual values are S064, S128, S256 and
    /// S512).
    #[error(
        "the session must be S and a three-digit length from 001 to 512 (e.g. S064), found {found:?}"
    )]
    Session {
        /// The element as given.
        found: String,
    },
    /// The timestamp is not `T` and a time step of 1-59 seconds (`S`), 1-59 minutes
    /// (`M`) or 1-48 hours (`H`), as RFC 6287 §6.3 (with erratum 3729) allows.
    #[error("the timestamp must be T and 1-59S, 1-59M or 1-48H (e.g. T1M), found {found:?}")]
    TimeStep {
        /// The element as given.
        found: String,
    },
    /// A data input element that RFC 6287 does not define.
    #[error("unknown data input element {found:?}: expected C, QFxx, PH, Snnn or TG")]
    UnknownElement {
        /// The element as given.
        found: String,
    },
    /// An element that is repeated, or that stands after one it must precede.
    #[error(
        "data input element {found:?} is repeated or out of order: the order is [C-]QFxx[-PH][-Snnn][-TG]"
    )]
    Order {
        /// The element as given.
        found: String,
    },
}

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
        format: crate::ocra::QuestionKind,
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

/// Why [`Ocra::verify`](crate::Ocra::verify) did not accept a response.
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
    /// A field longer than [`MAX_TRANSACTION_FIELD_BYTES`](crate::MAX_TRANSACTION_FIELD_BYTES).
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
    /// The secret is shorter than the minimum
    /// ([`MIN_IMPORTED_SECRET_BITS`](crate::MIN_IMPORTED_SECRET_BITS) unless
    /// [`KeyUriOptions::min_secret_bits`](crate::KeyUriOptions) says otherwise).
    #[error("the secret has {bits} bits, fewer than the {minimum_bits} accepted")]
    SecretTooShort {
        /// The secret's length in bits.
        bits: usize,
        /// The fewest accepted.
        minimum_bits: usize,
    },
    /// The issuer or the account name holds a control character (NUL, ESC, ...) or an
    /// invisible or direction-changing one (U+202E, U+200B, ...: see
    /// [`is_invisible_character`](crate::is_invisible_character)).
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
    /// longer than [`MAX_KEY_URI_LEN`](crate::MAX_KEY_URI_LEN) bytes, so it would not
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
    /// A secret shorter than
    /// [`PskcLimits::min_secret_bits`](crate::PskcLimits::min_secret_bits).
    #[error("the secret of {owner} has {bits} bits, fewer than the {minimum_bits} accepted")]
    SecretTooShort {
        /// Whose secret it is: `Key Id="..."`.
        owner: String,
        /// The secret's length in bits.
        bits: usize,
        /// The fewest accepted.
        minimum_bits: usize,
    },
    /// The operating system's random number generator failed during export.
    #[error("the operating system's random number generator failed: {reason}")]
    RandomSource {
        /// The error the operating system reported.
        reason: String,
    },
}

/// What was wrong with a [`PgConfig`](crate::PgConfig): the PostgreSQL store's
/// connection settings.
///
/// # Security
///
/// A connection string may hold a password, so it is never quoted back, not even in
/// part: a parse error names the option or the kind of mistake only.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PgConfigError {
    /// The connection string (`postgresql://…` URL or `key=value` pairs) could not
    /// be read.
    #[error("the PostgreSQL connection string is not valid: {reason}")]
    ConnectionString {
        /// What the parser reported, without the string itself.
        reason: String,
    },
    /// The PostgreSQL schema name is not 1 to 63 lower-case ASCII letters, digits
    /// and `_`, starting with a letter or `_`, and not starting with `pg_`.
    #[error(
        "the PostgreSQL schema name must be 1 to 63 of a-z, 0-9 and _, start with a letter or _, and not start with pg_; found {schema:?}"
    )]
    Schema {
        /// The name as given.
        schema: String,
    },
    /// The pool size is 0 or larger than the limit.
    #[error("the pool size must be 1 to {maximum}, found {size}")]
    PoolSize {
        /// The size asked for.
        size: u32,
        /// The largest allowed.
        maximum: u32,
    },
    /// A timeout is zero or longer than the limit.
    #[error("the {name} must be 1 ms to {maximum_ms} ms, found {found_ms} ms")]
    Timeout {
        /// Which timeout: `connect timeout` or `statement timeout`.
        name: &'static str,
        /// The value given, in milliseconds.
        found_ms: u128,
        /// The longest allowed, in milliseconds.
        maximum_ms: u128,
    },
}

/// Why one key of a PSKC container was not enrolled by
/// [`Validator::enrol_pskc`](crate::Validator::enrol_pskc).
#[cfg(feature = "pskc")]
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum PskcEnrolError {
    /// The key cannot become a token: not HOTP or TOTP, no secret, an unsupported
    /// response format (see [`PskcKey::token`](crate::PskcKey::token)).
    #[error(transparent)]
    Key(#[from] PskcError),
    /// Its serial number (or key id) is not a valid token id.
    #[error("not a valid token id: {0}")]
    TokenId(#[from] TokenIdError),
    /// The validator refused it: an id already enrolled, a store or sealing failure.
    #[error(transparent)]
    Validator(#[from] ValidatorError),
}
