//! RFC 6287 §6: the OCRA suite, which says what a token hashes and how it truncates.

use core::fmt;
use core::str::FromStr;

use crate::algorithm::Algorithm;
use thiserror::Error;

/// The longest suite string accepted. The longest valid one,
/// `OCRA-1:HOTP-SHA512-10:C-QN64-PSHA512-S512-T59M`, has 46 bytes.
pub(crate) const MAX_SUITE_LEN: usize = 64;

/// The format of a challenge question (`F` in `QFxx`, RFC 6287 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QuestionKind {
    /// `A`: ASCII letters and digits, hashed as their bytes.
    Alphanumeric,
    /// `N`: decimal digits, hashed as the hexadecimal form of the number they write.
    Numeric,
    /// `H`: hexadecimal digits, hashed as the nibbles they write.
    Hexadecimal,
}

impl QuestionKind {
    /// The suite's letter for this format: `A`, `N` or `H`.
    #[must_use]
    pub const fn letter(self) -> char {
        match self {
            QuestionKind::Alphanumeric => 'A',
            QuestionKind::Numeric => 'N',
            QuestionKind::Hexadecimal => 'H',
        }
    }

    /// Whether `character` may stand in a question of this format.
    #[must_use]
    pub const fn allows(self, character: char) -> bool {
        match self {
            QuestionKind::Alphanumeric => character.is_ascii_alphanumeric(),
            QuestionKind::Numeric => character.is_ascii_digit(),
            QuestionKind::Hexadecimal => character.is_ascii_hexdigit(),
        }
    }
}

impl fmt::Display for QuestionKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            QuestionKind::Alphanumeric => "alphanumeric (QA)",
            QuestionKind::Numeric => "numeric (QN)",
            QuestionKind::Hexadecimal => "hexadecimal (QH)",
        })
    }
}

/// A suite's challenge question: its format and the most characters one question
/// may have (`QFxx`, `xx` from 04 to 64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuestionFormat {
    kind: QuestionKind,
    max_length: u8,
}

impl QuestionFormat {
    /// The format of the characters.
    #[must_use]
    pub const fn kind(&self) -> QuestionKind {
        self.kind
    }

    /// The most characters one question may have, 4 to 64.
    #[must_use]
    pub const fn max_length(&self) -> u8 {
        self.max_length
    }
}

/// The unit of an OCRA time step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// Deliberately exhaustive: RFC 6287 §6 fixes the time-step units.
#[allow(clippy::exhaustive_enums)]
pub enum TimeUnit {
    /// `S`.
    Seconds,
    /// `M`.
    Minutes,
    /// `H`.
    Hours,
}

impl TimeUnit {
    const fn seconds(self) -> u64 {
        match self {
            TimeUnit::Seconds => 1,
            TimeUnit::Minutes => 60,
            TimeUnit::Hours => 3600,
        }
    }

    const fn letter(self) -> char {
        match self {
            TimeUnit::Seconds => 'S',
            TimeUnit::Minutes => 'M',
            TimeUnit::Hours => 'H',
        }
    }
}

/// The time step of a suite's timestamp (`TG`, RFC 6287 §6.3): 1 to 59 seconds,
/// 1 to 59 minutes, or 1 to 48 hours (erratum 3729 removed the `0H` of the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeStep {
    count: u8,
    unit: TimeUnit,
}

impl TimeStep {
    /// How many units one step lasts.
    #[must_use]
    pub const fn count(&self) -> u8 {
        self.count
    }

    /// The unit.
    #[must_use]
    pub const fn unit(&self) -> TimeUnit {
        self.unit
    }

    /// The step's length in seconds, from 1 to 172,800.
    #[must_use]
    pub const fn seconds(&self) -> u64 {
        self.count as u64 * self.unit.seconds()
    }
}

impl fmt::Display for TimeStep {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}{}", self.count, self.unit.letter())
    }
}

/// An RFC 6287 OCRA suite: `OCRA-1:HOTP-<hash>-<truncation>:<data input>`.
///
/// The suite says which hash HMAC uses, how many digits a response has (or `0` for the
/// whole HMAC), and which parts the data input holds besides the mandatory challenge
/// question: a counter `C`, a PIN hash `PH`, session information `Snnn`, a timestamp
/// `TG`. Both sides hash the suite string itself, so it is kept byte for byte:
/// [`Display`](fmt::Display) and [`OcraSuite::as_str`] give back exactly the string
/// parsed.
///
/// Parsing is strict and never panics: only the canonical spelling is accepted (upper
/// case, elements in the order `[C-]QFxx[-PH][-Snnn][-TG]`, no leading zeros in the
/// truncation or time step), and every element must be written out. RFC 6287 gives
/// defaults (`QN08`, `PSHA1`, `S064`, `T1M`), but the reference implementations
/// disagree on what a bare `S` or `T` means (the RFC's Java code hashes no session for
/// a bare `S`), and a suite the two sides read differently would make every response
/// fail, so a bare element is an error here.
///
/// ```
/// use otpfob::{Algorithm, ocra::{OcraSuite, QuestionKind}};
///
/// let suite: OcraSuite = "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1".parse()?;
/// assert_eq!(suite.algorithm(), Algorithm::Sha256);
/// assert_eq!(suite.response_digits(), Some(8));
/// assert!(suite.uses_counter());
/// assert_eq!(suite.question().kind(), QuestionKind::Numeric);
/// assert_eq!(suite.pin_hash(), Some(Algorithm::Sha1));
/// assert_eq!(suite.to_string(), "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1");
///
/// assert!("OCRA-1:HOTP-SHA1-6:QN08-S".parse::<OcraSuite>().is_err());
/// # Ok::<(), otpfob::ocra::SuiteError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OcraSuite {
    algorithm: Algorithm,
    digits: u8,
    counter: bool,
    question: QuestionFormat,
    pin_hash: Option<Algorithm>,
    session_length: Option<u16>,
    time_step: Option<TimeStep>,
    text: [u8; MAX_SUITE_LEN],
    text_len: u8,
}

impl OcraSuite {
    /// The hash function under HMAC.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The truncation as written in the suite: 4 to 10, or 0 for no truncation.
    #[must_use]
    pub const fn truncation(&self) -> u8 {
        self.digits
    }

    /// Digits of a response, or `None` when the suite does not truncate and the
    /// response is the whole HMAC.
    #[must_use]
    pub const fn response_digits(&self) -> Option<u8> {
        if self.digits == 0 {
            None
        } else {
            Some(self.digits)
        }
    }

    /// Whether the data input holds a counter (`C`).
    #[must_use]
    pub const fn uses_counter(&self) -> bool {
        self.counter
    }

    /// The challenge question's format and longest length.
    #[must_use]
    pub const fn question(&self) -> QuestionFormat {
        self.question
    }

    /// The hash of the PIN in the data input (`PSHA1`, `PSHA256`, `PSHA512`), if any.
    #[must_use]
    pub const fn pin_hash(&self) -> Option<Algorithm> {
        self.pin_hash
    }

    /// The length in bytes of the session information (`Snnn`), if any.
    #[must_use]
    pub const fn session_length(&self) -> Option<u16> {
        self.session_length
    }

    /// The timestamp's time step (`TG`), if the data input holds a timestamp.
    #[must_use]
    pub const fn time_step(&self) -> Option<TimeStep> {
        self.time_step
    }

    /// The suite string, exactly as parsed, which is also what is hashed.
    #[must_use]
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.text.get(..usize::from(self.text_len)).unwrap_or(&[])
    }

    /// The canonical spelling of the parsed fields; equal to the parsed text, which a
    /// test checks for every suite.
    #[cfg(test)]
    fn render(&self) -> String {
        let mut text = format!("OCRA-1:HOTP-{}-{}:", self.algorithm.name(), self.digits);
        if self.counter {
            text.push_str("C-");
        }
        text.push_str(&format!(
            "Q{}{:02}",
            self.question.kind.letter(),
            self.question.max_length
        ));
        if let Some(hash) = self.pin_hash {
            text.push_str(&format!("-P{}", hash.name()));
        }
        if let Some(length) = self.session_length {
            text.push_str(&format!("-S{length:03}"));
        }
        if let Some(step) = self.time_step {
            text.push_str(&format!("-T{step}"));
        }
        text
    }
}

impl fmt::Display for OcraSuite {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl fmt::Debug for OcraSuite {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "OcraSuite({:?})", self.as_str())
    }
}

/// A number written in decimal without leading zeros, of at most two digits.
fn small_number(text: &str) -> Option<u8> {
    match text.as_bytes() {
        [digit @ b'0'..=b'9'] => Some(digit - b'0'),
        [tens @ b'1'..=b'9', ones @ b'0'..=b'9'] => Some((tens - b'0') * 10 + (ones - b'0')),
        _ => None,
    }
}

fn hash_named(name: &str) -> Option<Algorithm> {
    match name {
        "SHA1" => Some(Algorithm::Sha1),
        "SHA256" => Some(Algorithm::Sha256),
        "SHA512" => Some(Algorithm::Sha512),
        _ => None,
    }
}

fn parse_crypto_function(part: &str) -> Result<(Algorithm, u8), SuiteError> {
    let bad = || SuiteError::CryptoFunction {
        found: part.to_owned(),
    };
    let rest = part.strip_prefix("HOTP-").ok_or_else(bad)?;
    let (hash, truncation) = rest.split_once('-').ok_or_else(bad)?;
    let algorithm = hash_named(hash).ok_or_else(bad)?;
    match small_number(truncation) {
        Some(digits @ (0 | 4..=10)) => Ok((algorithm, digits)),
        _ => Err(SuiteError::Truncation {
            found: truncation.to_owned(),
        }),
    }
}

fn parse_question(element: &str) -> Result<QuestionFormat, SuiteError> {
    let bad = || SuiteError::Question {
        found: element.to_owned(),
    };
    let [b'Q', format, tens @ b'0'..=b'9', ones @ b'0'..=b'9'] = *element.as_bytes() else {
        return Err(bad());
    };
    let kind = match format {
        b'A' => QuestionKind::Alphanumeric,
        b'N' => QuestionKind::Numeric,
        b'H' => QuestionKind::Hexadecimal,
        _ => return Err(bad()),
    };
    let max_length = (tens - b'0') * 10 + (ones - b'0');
    if !(4..=64).contains(&max_length) {
        return Err(bad());
    }
    Ok(QuestionFormat { kind, max_length })
}

fn parse_pin_hash(element: &str) -> Result<Algorithm, SuiteError> {
    element
        .strip_prefix('P')
        .and_then(hash_named)
        .ok_or_else(|| SuiteError::PinHash {
            found: element.to_owned(),
        })
}

fn parse_session(element: &str) -> Result<u16, SuiteError> {
    if let [
        b'S',
        hundreds @ b'0'..=b'9',
        tens @ b'0'..=b'9',
        ones @ b'0'..=b'9',
    ] = *element.as_bytes()
    {
        let length =
            u16::from(hundreds - b'0') * 100 + u16::from(tens - b'0') * 10 + u16::from(ones - b'0');
        if (1..=512).contains(&length) {
            return Ok(length);
        }
    }
    Err(SuiteError::Session {
        found: element.to_owned(),
    })
}

fn parse_time_step(element: &str) -> Result<TimeStep, SuiteError> {
    let bad = || SuiteError::TimeStep {
        found: element.to_owned(),
    };
    let rest = element.strip_prefix('T').ok_or_else(bad)?;
    let (count, unit) = if let Some(count) = rest.strip_suffix('S') {
        (count, TimeUnit::Seconds)
    } else if let Some(count) = rest.strip_suffix('M') {
        (count, TimeUnit::Minutes)
    } else if let Some(count) = rest.strip_suffix('H') {
        (count, TimeUnit::Hours)
    } else {
        return Err(bad());
    };
    let maximum = if unit == TimeUnit::Hours { 48 } else { 59 };
    match small_number(count) {
        Some(count) if (1..=maximum).contains(&count) => Ok(TimeStep { count, unit }),
        _ => Err(bad()),
    }
}

/// The fields of a data input, filled element by element.
#[derive(Default)]
struct DataInputFields {
    counter: bool,
    question: Option<QuestionFormat>,
    pin_hash: Option<Algorithm>,
    session_length: Option<u16>,
    time_step: Option<TimeStep>,
}

fn parse_data_input(part: &str) -> Result<DataInputFields, SuiteError> {
    let mut fields = DataInputFields::default();
    // Each element has a rank in the fixed order C, Q, P, S, T; a rank no higher than
    // the previous one is a repeat or an element out of order.
    let mut previous_rank = None;
    for element in part.split('-') {
        let rank = match element.as_bytes().first() {
            Some(b'C') if element == "C" => {
                fields.counter = true;
                0
            }
            Some(b'Q') => {
                fields.question = Some(parse_question(element)?);
                1
            }
            Some(b'P') => {
                fields.pin_hash = Some(parse_pin_hash(element)?);
                2
            }
            Some(b'S') => {
                fields.session_length = Some(parse_session(element)?);
                3
            }
            Some(b'T') => {
                fields.time_step = Some(parse_time_step(element)?);
                4
            }
            _ => {
                return Err(SuiteError::UnknownElement {
                    found: element.to_owned(),
                });
            }
        };
        if previous_rank.is_some_and(|previous| rank <= previous) {
            return Err(SuiteError::Order {
                found: element.to_owned(),
            });
        }
        previous_rank = Some(rank);
    }
    Ok(fields)
}

impl FromStr for OcraSuite {
    type Err = SuiteError;

    /// Parses a suite string in its canonical spelling.
    ///
    /// # Errors
    ///
    /// A [`SuiteError`] naming the part that is wrong: [`SuiteError::TooLong`],
    /// [`SuiteError::PartCount`], [`SuiteError::Version`],
    /// [`SuiteError::CryptoFunction`], [`SuiteError::Truncation`],
    /// [`SuiteError::MissingQuestion`], [`SuiteError::Question`],
    /// [`SuiteError::PinHash`], [`SuiteError::Session`], [`SuiteError::TimeStep`],
    /// [`SuiteError::UnknownElement`] or [`SuiteError::Order`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() > MAX_SUITE_LEN {
            return Err(SuiteError::TooLong {
                length: text.len(),
                maximum: MAX_SUITE_LEN,
            });
        }
        let mut parts = text.split(':');
        let (Some(version), Some(crypto_function), Some(data_input), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SuiteError::PartCount {
                parts: text.split(':').count(),
            });
        };
        if version != "OCRA-1" {
            return Err(SuiteError::Version {
                found: version.to_owned(),
            });
        }
        let (algorithm, digits) = parse_crypto_function(crypto_function)?;
        let fields = parse_data_input(data_input)?;
        let question = fields.question.ok_or(SuiteError::MissingQuestion)?;
        let mut suite_text = [0u8; MAX_SUITE_LEN];
        if let Some(target) = suite_text.get_mut(..text.len()) {
            target.copy_from_slice(text.as_bytes());
        }
        Ok(Self {
            algorithm,
            digits,
            counter: fields.counter,
            question,
            pin_hash: fields.pin_hash,
            session_length: fields.session_length,
            time_step: fields.time_step,
            text: suite_text,
            // At most MAX_SUITE_LEN, checked above.
            text_len: u8::try_from(text.len()).unwrap_or(0),
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<OcraSuite, SuiteError> {
        text.parse()
    }

    #[test]
    fn every_field_is_read() {
        let suite = parse("OCRA-1:HOTP-SHA512-0:C-QH64-PSHA512-S512-T48H").unwrap();
        assert_eq!(suite.algorithm(), Algorithm::Sha512);
        assert_eq!(suite.truncation(), 0);
        assert_eq!(suite.response_digits(), None);
        assert!(suite.uses_counter());
        assert_eq!(suite.question().kind(), QuestionKind::Hexadecimal);
        assert_eq!(suite.question().max_length(), 64);
        assert_eq!(suite.pin_hash(), Some(Algorithm::Sha512));
        assert_eq!(suite.session_length(), Some(512));
        let step = suite.time_step().unwrap();
        assert_eq!(
            (step.count(), step.unit(), step.seconds()),
            (48, TimeUnit::Hours, 172_800)
        );

        let plain = parse("OCRA-1:HOTP-SHA1-6:QA04").unwrap();
        assert!(!plain.uses_counter());
        assert_eq!(plain.pin_hash(), None);
        assert_eq!(plain.session_length(), None);
        assert_eq!(plain.time_step(), None);
        assert_eq!(plain.response_digits(), Some(6));
    }

    #[test]
    fn the_rfc_suites_parse_and_render_back() {
        for text in [
            "OCRA-1:HOTP-SHA1-6:QN08",
            "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1",
            "OCRA-1:HOTP-SHA256-8:QN08-PSHA1",
            "OCRA-1:HOTP-SHA512-8:C-QN08",
            "OCRA-1:HOTP-SHA512-8:QN08-T1M",
            "OCRA-1:HOTP-SHA256-8:QA08",
            "OCRA-1:HOTP-SHA512-8:QA08",
            "OCRA-1:HOTP-SHA512-8:QA08-PSHA1",
            "OCRA-1:HOTP-SHA512-8:QA10-T1M",
            "OCRA-1:HOTP-SHA1-4:QH40-S064",
            "OCRA-1:HOTP-SHA1-10:QA64-S128-T30S",
            "OCRA-1:HOTP-SHA512-10:C-QN64-PSHA512-S512-T59M",
        ] {
            let suite = parse(text).unwrap();
            assert_eq!(suite.to_string(), text);
            assert_eq!(suite.render(), text);
            assert_eq!(format!("{suite:?}"), format!("OcraSuite({text:?})"));
        }
    }

    #[test]
    fn each_malformed_part_is_named() {
        use SuiteError::*;
        let long = "OCRA-1:HOTP-SHA1-6:QN08".repeat(3);
        let cases: Vec<(&str, SuiteError)> = vec![
            (
                &long,
                TooLong {
                    length: 69,
                    maximum: 64,
                },
            ),
            ("", PartCount { parts: 1 }),
            ("OCRA-1:HOTP-SHA1-6", PartCount { parts: 2 }),
            ("OCRA-1:HOTP-SHA1-6:QN08:", PartCount { parts: 4 }),
            (
                "OCRA-2:HOTP-SHA1-6:QN08",
                Version {
                    found: "OCRA-2".into(),
                },
            ),
            (
                "ocra-1:HOTP-SHA1-6:QN08",
                Version {
                    found: "ocra-1".into(),
                },
            ),
            (
                "OCRA-1:TOTP-SHA1-6:QN08",
                CryptoFunction {
                    found: "TOTP-SHA1-6".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA3-6:QN08",
                CryptoFunction {
                    found: "HOTP-SHA3-6".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1:QN08",
                CryptoFunction {
                    found: "HOTP-SHA1".into(),
                },
            ),
            ("OCRA-1:HOTP-SHA1-3:QN08", Truncation { found: "3".into() }),
            (
                "OCRA-1:HOTP-SHA1-11:QN08",
                Truncation { found: "11".into() },
            ),
            (
                "OCRA-1:HOTP-SHA1-06:QN08",
                Truncation { found: "06".into() },
            ),
            (
                "OCRA-1:HOTP-SHA1-6-7:QN08",
                Truncation {
                    found: "6-7".into(),
                },
            ),
            ("OCRA-1:HOTP-SHA1-6:C", MissingQuestion),
            (
                "OCRA-1:HOTP-SHA1-6:QX08",
                Question {
                    found: "QX08".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:QN03",
                Question {
                    found: "QN03".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:QN65",
                Question {
                    found: "QN65".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:QN8",
                Question {
                    found: "QN8".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:qn08",
                UnknownElement {
                    found: "qn08".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:QN08-PSHA3",
                PinHash {
                    found: "PSHA3".into(),
                },
            ),
            ("OCRA-1:HOTP-SHA1-6:QN08-P", PinHash { found: "P".into() }),
            ("OCRA-1:HOTP-SHA1-6:QN08-S", Session { found: "S".into() }),
            (
                "OCRA-1:HOTP-SHA1-6:QN08-S000",
                Session {
                    found: "S000".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:QN08-S513",
                Session {
                    found: "S513".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:QN08-S64",
                Session {
                    found: "S64".into(),
                },
            ),
            ("OCRA-1:HOTP-SHA1-6:QN08-T", TimeStep { found: "T".into() }),
            (
                "OCRA-1:HOTP-SHA1-6:QN08-T0M",
                TimeStep {
                    found: "T0M".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:QN08-T60S",
                TimeStep {
                    found: "T60S".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:QN08-T49H",
                TimeStep {
                    found: "T49H".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:QN08-T0H",
                TimeStep {
                    found: "T0H".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:QN08-T01M",
                TimeStep {
                    found: "T01M".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:QN08-T1D",
                TimeStep {
                    found: "T1D".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:QN08-X",
                UnknownElement { found: "X".into() },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:QN08-",
                UnknownElement {
                    found: String::new(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:CC-QN08",
                UnknownElement { found: "CC".into() },
            ),
            ("OCRA-1:HOTP-SHA1-6:QN08-C", Order { found: "C".into() }),
            (
                "OCRA-1:HOTP-SHA1-6:QN08-QN08",
                Order {
                    found: "QN08".into(),
                },
            ),
            (
                "OCRA-1:HOTP-SHA1-6:QN08-T1M-PSHA1",
                Order {
                    found: "PSHA1".into(),
                },
            ),
            ("OCRA-1:HOTP-SHA1-6:C-C-QN08", Order { found: "C".into() }),
        ];
        for (text, error) in cases {
            assert_eq!(parse(text).unwrap_err(), error, "{text:?}");
        }
    }

    #[test]
    fn time_step_bounds() {
        for (text, seconds) in [
            ("T1S", 1),
            ("T59S", 59),
            ("T1M", 60),
            ("T59M", 3540),
            ("T1H", 3600),
        ] {
            let suite = parse(&format!("OCRA-1:HOTP-SHA1-6:QN08-{text}")).unwrap();
            assert_eq!(suite.time_step().unwrap().seconds(), seconds, "{text}");
        }
    }
}
