//! Challenge questions as a server issues them: random, or derived from a transfer.

use core::fmt;

use crate::ocra::error::OcraError;
use crate::ocra::input::check_question;
use crate::ocra::suite::{QuestionFormat, QuestionKind};

/// The longest question a suite allows (`QF64`).
const MAX_QUESTION_LEN: usize = 64;

/// A challenge question that fits a suite's format, held on the stack: what a bank
/// shows the customer to type into a keypad fob.
///
/// ```
/// use otpfob::ocra::{Challenge, OcraSuite, QuestionKind};
///
/// let suite: OcraSuite = "OCRA-1:HOTP-SHA1-6:QN08".parse()?;
/// let challenge = Challenge::generate(suite.question())?;
/// assert_eq!(challenge.as_str().len(), 8);
/// assert!(challenge.as_str().chars().all(|digit| digit.is_ascii_digit()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Challenge {
    text: [u8; MAX_QUESTION_LEN],
    len: u8,
}

impl Challenge {
    /// A uniformly random question of the format's full length from the operating
    /// system's CSPRNG: decimal digits for `QN`, upper-case hex digits for `QH`, ASCII
    /// letters and digits for `QA`.
    ///
    /// # Errors
    ///
    /// [`OcraError::RandomSource`] if the operating system cannot supply randomness.
    pub fn generate(format: QuestionFormat) -> Result<Self, OcraError> {
        const ALPHANUMERIC: &[u8; 62] =
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let alphabet: &[u8] = match format.kind() {
            QuestionKind::Numeric => &ALPHANUMERIC[..10],
            QuestionKind::Hexadecimal => &ALPHANUMERIC[..16],
            QuestionKind::Alphanumeric => ALPHANUMERIC,
        };
        // Rejection sampling: a byte is used only below the largest multiple of the
        // alphabet's size, so every symbol is equally likely.
        let limit = 256 - 256 % alphabet.len();
        let mut challenge = Self {
            text: [0; MAX_QUESTION_LEN],
            len: format.max_length(),
        };
        let mut filled = 0;
        let wanted = usize::from(format.max_length()).min(MAX_QUESTION_LEN);
        while filled < wanted {
            let mut random = [0u8; 128];
            getrandom::fill(&mut random).map_err(|error| OcraError::RandomSource {
                reason: error.to_string(),
            })?;
            for byte in random {
                if usize::from(byte) < limit
                    && let Some(slot) = challenge.text.get_mut(filled)
                    && filled < wanted
                {
                    *slot = alphabet
                        .get(usize::from(byte) % alphabet.len())
                        .copied()
                        .unwrap_or(b'0');
                    filled += 1;
                }
            }
        }
        Ok(challenge)
    }

    /// A challenge question given as text (one the bank stored, say), checked against
    /// `format`: 1 to `xx` characters that the format allows.
    ///
    /// # Errors
    ///
    /// [`OcraError::EmptyQuestion`], [`OcraError::QuestionTooLong`] and
    /// [`OcraError::QuestionCharacter`].
    ///
    /// ```
    /// use otpfob::ocra::{Challenge, OcraSuite};
    ///
    /// let suite: OcraSuite = "OCRA-1:HOTP-SHA1-6:QN08".parse()?;
    /// assert_eq!(Challenge::parse(suite.question(), "00042")?.as_str(), "00042");
    /// assert!(Challenge::parse(suite.question(), "4a").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(format: QuestionFormat, text: &str) -> Result<Self, OcraError> {
        check_question(format, text)?;
        Ok(Self::from_ascii(text.bytes()))
    }

    /// A challenge of these ASCII characters, which the caller made to fit the format.
    pub(crate) fn from_ascii(characters: impl Iterator<Item = u8>) -> Self {
        let mut challenge = Self {
            text: [0; MAX_QUESTION_LEN],
            len: 0,
        };
        for (slot, character) in challenge.text.iter_mut().zip(characters) {
            *slot = character;
            challenge.len += 1;
        }
        challenge
    }

    /// The question as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        let bytes = self.text.get(..usize::from(self.len)).unwrap_or(&[]);
        core::str::from_utf8(bytes).unwrap_or_default()
    }
}

impl AsRef<str> for Challenge {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl fmt::Debug for Challenge {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Challenge({:?})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocra::suite::OcraSuite;

    fn format(text: &str) -> QuestionFormat {
        text.parse::<OcraSuite>().unwrap().question()
    }

    #[test]
    fn generated_challenges_fit_their_format() {
        for (suite, kind) in [
            ("OCRA-1:HOTP-SHA1-6:QN64", QuestionKind::Numeric),
            ("OCRA-1:HOTP-SHA1-6:QH64", QuestionKind::Hexadecimal),
            ("OCRA-1:HOTP-SHA1-6:QA64", QuestionKind::Alphanumeric),
            ("OCRA-1:HOTP-SHA1-6:QA04", QuestionKind::Alphanumeric),
        ] {
            let format = format(suite);
            let first = Challenge::generate(format).unwrap();
            let second = Challenge::generate(format).unwrap();
            assert_eq!(first.as_str().len(), usize::from(format.max_length()));
            assert!(
                first
                    .as_str()
                    .chars()
                    .all(|character| kind.allows(character)),
                "{first:?}"
            );
            if format.max_length() == 64 {
                assert_ne!(first, second);
            }
        }
    }

    #[test]
    fn parse_checks_the_format() {
        let numeric = format("OCRA-1:HOTP-SHA1-6:QN08");
        assert_eq!(
            Challenge::parse(numeric, "12345678").map(|c| c.to_string()),
            Ok("12345678".into())
        );
        assert_eq!(Challenge::parse(numeric, ""), Err(OcraError::EmptyQuestion));
        assert_eq!(
            Challenge::parse(numeric, "123456789"),
            Err(OcraError::QuestionTooLong {
                length: 9,
                maximum: 8
            })
        );
        for bad in ["1234567a", "١٢"] {
            assert!(
                matches!(
                    Challenge::parse(numeric, bad),
                    Err(OcraError::QuestionCharacter { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(Challenge::parse(format("OCRA-1:HOTP-SHA1-6:QA08"), "SIG1a").is_ok());
    }

    #[test]
    fn display_and_debug() {
        let challenge = Challenge::from_ascii(b"SIG10000".iter().copied());
        assert_eq!(challenge.to_string(), "SIG10000");
        assert_eq!(format!("{challenge:?}"), "Challenge(\"SIG10000\")");
    }
}
