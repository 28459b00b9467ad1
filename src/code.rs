//! One-time codes: a value and its digit count.

use core::fmt;
use core::str::FromStr;

use subtle::{Choice, ConstantTimeEq};

use thiserror::Error;

/// The fewest digits a [`Code`] may have (OCRA responses, RFC 6287 §5.1, go down to 4;
/// HOTP and TOTP require 6).
pub const MIN_CODE_DIGITS: u8 = 4;

/// The most digits a [`Code`] may have: a 31-bit truncated HMAC has 10 decimal digits.
pub const MAX_CODE_DIGITS: u8 = 10;

/// `10^digits` for every supported digit count.
pub(crate) const fn power_of_ten(digits: u8) -> u64 {
    let mut power = 1u64;
    let mut remaining = digits;
    while remaining > 0 {
        power *= 10;
        remaining -= 1;
    }
    power
}

/// A one-time code: its numeric value and how many digits it is shown with.
///
/// `Display` pads with leading zeros (`004512`). Equality runs in constant time, so
/// comparing a submitted code with the expected one leaks nothing through timing.
///
/// ```
/// use otpfob::Code;
///
/// let typed = Code::parse("287 082", 6)?;
/// assert_eq!(typed.to_string(), "287082");
/// assert_eq!(typed, Code::new(287_082, 6)?);
/// assert!(Code::parse("28708", 6).is_err());
/// # Ok::<(), otpfob::CodeError>(())
/// ```
#[derive(Clone, Copy)]
#[must_use]
pub struct Code {
    value: u32,
    digits: u8,
}

impl Code {
    /// A code with this value and digit count.
    ///
    /// # Errors
    ///
    /// [`CodeError::DigitCount`] outside [`MIN_CODE_DIGITS`]..=[`MAX_CODE_DIGITS`],
    /// [`CodeError::ValueTooLarge`] if `value` has more than `digits` digits.
    pub fn new(value: u32, digits: u8) -> Result<Self, CodeError> {
        check_digit_count(digits)?;
        if u64::from(value) >= power_of_ten(digits) {
            return Err(CodeError::ValueTooLarge {
                value: value.into(),
                digits,
            });
        }
        Ok(Self { value, digits })
    }

    /// Builds a code from a truncated HMAC value, keeping its last `digits` digits
    /// (RFC 4226 §5.3, step 3). `digits` must already be checked.
    pub(crate) fn from_truncated(truncated: u32, digits: u8) -> Self {
        // Constant divisors, so the compiler turns each remainder into a multiply and
        // shift: a run-time division would add a third of a compression to every code.
        // Ten digits keep the whole 31-bit value, which is below 10^10.
        let value = match digits {
            4 => truncated % 10_000,
            5 => truncated % 100_000,
            6 => truncated % 1_000_000,
            7 => truncated % 10_000_000,
            8 => truncated % 100_000_000,
            9 => truncated % 1_000_000_000,
            _ => truncated,
        };
        Self { value, digits }
    }

    /// Parses a code as a person types it: exactly `digits` ASCII digits, optionally
    /// split into two groups by one space or one dash (`123 456`, `1234-5678`).
    ///
    /// # Errors
    ///
    /// [`CodeError::InvalidCharacter`] for any other character (leading or trailing
    /// white space included), [`CodeError::MisplacedSeparator`] for a separator at either
    /// end, beside another, or a second one, [`CodeError::WrongLength`] for the wrong
    /// number of digits, and [`CodeError::DigitCount`] for an unsupported `digits`.
    pub fn parse(input: &str, digits: u8) -> Result<Self, CodeError> {
        check_digit_count(digits)?;
        let (value, found) = parse_digits(input)?;
        if found != usize::from(digits) {
            return Err(CodeError::WrongLength {
                expected: digits,
                found,
            });
        }
        // At most 10 digits were accumulated, so the value is below 10^10; it fits in
        // u32 only if below 2^32, which `new` checks through the digit count.
        let value = u32::try_from(value).map_err(|_| CodeError::ValueTooLarge { value, digits })?;
        Self::new(value, digits)
    }

    /// The numeric value.
    #[must_use]
    pub fn value(&self) -> u32 {
        self.value
    }

    /// How many digits the code is shown with.
    #[must_use]
    pub fn digits(&self) -> u8 {
        self.digits
    }

    /// The code split into two groups as devices show it (`123 456`, `1234 5678`),
    /// the first group the shorter when the count is odd (`12 345`).
    pub fn grouped(&self, separator: char) -> Grouped {
        Grouped {
            code: *self,
            separator,
        }
    }
}

fn check_digit_count(digits: u8) -> Result<(), CodeError> {
    if (MIN_CODE_DIGITS..=MAX_CODE_DIGITS).contains(&digits) {
        Ok(())
    } else {
        Err(CodeError::DigitCount {
            digits,
            minimum: MIN_CODE_DIGITS,
            maximum: MAX_CODE_DIGITS,
        })
    }
}

/// Reads digits with at most one inner separator; returns the value and digit count.
fn parse_digits(input: &str) -> Result<(u64, usize), CodeError> {
    let mut value: u64 = 0;
    let mut count = 0usize;
    let mut separator_seen = false;
    let mut previous_was_separator = false;
    let mut last_position = 0;
    for (position, character) in input.chars().enumerate() {
        last_position = position;
        match character {
            '0'..='9' => {
                count += 1;
                if count <= usize::from(MAX_CODE_DIGITS) {
                    value = value * 10 + u64::from(character as u8 - b'0');
                }
                previous_was_separator = false;
            }
            ' ' | '-' => {
                if position == 0 || separator_seen {
                    return Err(CodeError::MisplacedSeparator { position });
                }
                separator_seen = true;
                previous_was_separator = true;
            }
            _ => return Err(CodeError::InvalidCharacter { position }),
        }
    }
    if previous_was_separator {
        return Err(CodeError::MisplacedSeparator {
            position: last_position,
        });
    }
    Ok((value, count))
}

impl FromStr for Code {
    type Err = CodeError;

    /// Parses a code of any supported length, counting its digits; prefer
    /// [`Code::parse`], which also checks the length the token expects.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (_, found) = parse_digits(input)?;
        let digits = u8::try_from(found).unwrap_or(u8::MAX);
        check_digit_count(digits)?;
        Self::parse(input, digits)
    }
}

impl ConstantTimeEq for Code {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.value.ct_eq(&other.value) & self.digits.ct_eq(&other.digits)
    }
}

impl PartialEq for Code {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Code {}

impl fmt::Display for Code {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{:0width$}",
            self.value,
            width = usize::from(self.digits)
        )
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Code({self})")
    }
}

/// A [`Code`] displayed in two groups; made by [`Code::grouped`].
#[derive(Debug, Clone, Copy)]
pub struct Grouped {
    code: Code,
    separator: char,
}

impl fmt::Display for Grouped {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = usize::from(self.code.digits);
        let first = digits / 2;
        let divisor = power_of_ten(self.code.digits - first as u8);
        let value = u64::from(self.code.value);
        write!(
            formatter,
            "{:0first$}{}{:0second$}",
            value / divisor,
            self.separator,
            value % divisor,
            second = digits - first
        )
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_pads() {
        assert_eq!(Code::new(4512, 6).unwrap().to_string(), "004512");
        assert_eq!(Code::new(7, 10).unwrap().to_string(), "0000000007");
    }

    #[test]
    fn grouped_splits_in_two() {
        assert_eq!(
            Code::new(4512, 6).unwrap().grouped(' ').to_string(),
            "004 512"
        );
        assert_eq!(
            Code::new(12345, 5).unwrap().grouped('-').to_string(),
            "12-345"
        );
        assert_eq!(
            Code::new(12345678, 8).unwrap().grouped(' ').to_string(),
            "1234 5678"
        );
    }

    #[test]
    fn parse_accepts_one_inner_separator() {
        for text in ["123456", "123 456", "123-456", "1-23456", "12345 6"] {
            assert_eq!(Code::parse(text, 6).unwrap().value(), 123_456, "{text}");
        }
    }

    #[test]
    fn parse_rejects_everything_else() {
        use CodeError::*;
        let cases = [
            (" 123456", MisplacedSeparator { position: 0 }),
            ("123456 ", MisplacedSeparator { position: 6 }),
            ("123  456", MisplacedSeparator { position: 4 }),
            ("12 34 56", MisplacedSeparator { position: 5 }),
            ("123_456", InvalidCharacter { position: 3 }),
            ("12345a", InvalidCharacter { position: 5 }),
            ("123456\n", InvalidCharacter { position: 6 }),
            ("١٢٣٤٥٦", InvalidCharacter { position: 0 }),
            (
                "12345",
                WrongLength {
                    expected: 6,
                    found: 5,
                },
            ),
            (
                "1234567",
                WrongLength {
                    expected: 6,
                    found: 7,
                },
            ),
        ];
        for (text, error) in cases {
            assert_eq!(Code::parse(text, 6).unwrap_err(), error, "{text:?}");
        }
    }

    #[test]
    fn ten_digit_values_above_u32_are_refused() {
        assert_eq!(
            Code::parse("9999999999", 10).unwrap_err(),
            CodeError::ValueTooLarge {
                value: 9_999_999_999,
                digits: 10
            }
        );
    }

    #[test]
    fn from_str_counts_digits() {
        let code: Code = "00123456".parse().unwrap();
        assert_eq!((code.value(), code.digits()), (123_456, 8));
        assert!("123".parse::<Code>().is_err());
        assert!("12345678901".parse::<Code>().is_err());
    }

    #[test]
    fn equality_needs_value_and_digits() {
        assert_eq!(Code::new(1, 6).unwrap(), Code::new(1, 6).unwrap());
        assert_ne!(Code::new(1, 6).unwrap(), Code::new(1, 7).unwrap());
        assert_ne!(Code::new(1, 6).unwrap(), Code::new(2, 6).unwrap());
    }
}
