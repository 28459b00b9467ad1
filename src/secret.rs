//! Key material: the shared secret of one token.

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use thiserror::Error;

/// The fewest bits [`Secret::generate`] will produce (RFC 4226 §4, requirement R6).
pub const MIN_GENERATED_BITS: usize = 128;

/// The bits [`Secret::generate_default`] produces: RFC 4226 §4 recommends 160.
pub const DEFAULT_GENERATED_BITS: usize = 160;

/// The shared secret of one token: the key of its HMAC.
///
/// Any non-empty length is accepted, because authenticator apps and old fobs use
/// 80-bit secrets; new secrets from [`Secret::generate`] have at least 128 bits.
///
/// # Security
///
/// The bytes are overwritten with zeros when the value is dropped. `Debug` prints only
/// the length; there is no `Display`, `PartialEq` or serialisation, so a secret cannot
/// end up in a log or be compared in variable time by accident. The one way to read the
/// bytes is [`Secret::expose_bytes`], whose name makes every use easy to find.
///
/// ```
/// use otpfob::Secret;
///
/// let secret = Secret::from_base32("JBSW Y3DP EHPK 3PXP")?;
/// assert_eq!(secret.len_bits(), 80);
/// assert_eq!(format!("{secret:?}"), "Secret([REDACTED; 10 bytes])");
/// # Ok::<(), otpfob::SecretError>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret {
    bytes: Vec<u8>,
}

impl Secret {
    /// A secret holding a copy of `bytes`.
    ///
    /// # Errors
    ///
    /// [`SecretError::Empty`] if `bytes` is empty.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretError> {
        if bytes.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Self {
            bytes: bytes.to_vec(),
        })
    }

    /// Decodes RFC 4648 base32, as authenticator apps and `oathtool -b` take it:
    /// letters in either case, spaces anywhere (people copy secrets in groups of
    /// four), and `=` padding at the end. Trailing bits that do not make a whole byte
    /// are dropped, as every common decoder does.
    ///
    /// # Errors
    ///
    /// [`SecretError::InvalidBase32Character`] naming the position of any other
    /// character, [`SecretError::MisplacedBase32Padding`] for `=` before the end,
    /// [`SecretError::InvalidBase32Length`] for a symbol count that cannot encode whole
    /// bytes, and [`SecretError::Empty`] when nothing is left to decode.
    ///
    /// ```
    /// let secret = otpfob::Secret::from_base32("gezdgnbvgy3tqojqgezdgnbvgy3tqojq")?;
    /// assert_eq!(secret.expose_bytes(), b"12345678901234567890");
    /// # Ok::<(), otpfob::SecretError>(())
    /// ```
    pub fn from_base32(encoded: &str) -> Result<Self, SecretError> {
        let mut symbols = Zeroizing::new(String::with_capacity(encoded.len()));
        let mut padding_at = None;
        for (position, character) in encoded.chars().enumerate() {
            match character {
                ' ' => {}
                '=' => {
                    padding_at.get_or_insert(position);
                }
                'A'..='Z' | 'a'..='z' | '2'..='7' => {
                    if let Some(position) = padding_at {
                        return Err(SecretError::MisplacedBase32Padding { position });
                    }
                    symbols.push(character.to_ascii_uppercase());
                }
                _ => return Err(SecretError::InvalidBase32Character { position }),
            }
        }
        if matches!(symbols.len() % 8, 1 | 3 | 6) {
            return Err(SecretError::InvalidBase32Length {
                symbols: symbols.len(),
            });
        }
        let alphabet = base32::Alphabet::Rfc4648 { padding: false };
        // Every symbol was checked above, so the decoder cannot fail; treat a failure
        // as a bad length rather than panic, in case the crate's rules ever differ.
        let bytes = Zeroizing::new(base32::decode(alphabet, &symbols).ok_or(
            SecretError::InvalidBase32Length {
                symbols: symbols.len(),
            },
        )?);
        Self::from_bytes(&bytes)
    }

    /// Decodes hexadecimal (either case), the form `oathtool` takes by default and
    /// RFC test vectors are written in. Spaces are not accepted.
    ///
    /// # Errors
    ///
    /// [`SecretError::InvalidHexCharacter`] naming the position of a non-hex
    /// character, [`SecretError::OddHexLength`], or [`SecretError::Empty`].
    pub fn from_hex(encoded: &str) -> Result<Self, SecretError> {
        let mut nibbles = Zeroizing::new(Vec::with_capacity(encoded.len()));
        for (position, character) in encoded.chars().enumerate() {
            let nibble = character
                .to_digit(16)
                .ok_or(SecretError::InvalidHexCharacter { position })?;
            nibbles.push(nibble as u8);
        }
        if nibbles.len() % 2 != 0 {
            return Err(SecretError::OddHexLength {
                digits: nibbles.len(),
            });
        }
        let bytes: Zeroizing<Vec<u8>> = Zeroizing::new(
            nibbles
                .chunks_exact(2)
                .map(|pair| pair.iter().fold(0u8, |byte, nibble| (byte << 4) | nibble))
                .collect(),
        );
        Self::from_bytes(&bytes)
    }

    /// A new secret of `bits` bits from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`SecretError::TooShort`] below [`MIN_GENERATED_BITS`],
    /// [`SecretError::NotWholeBytes`] if `bits` is not a multiple of 8, and
    /// [`SecretError::RandomSource`] if the operating system cannot supply randomness.
    pub fn generate(bits: usize) -> Result<Self, SecretError> {
        if bits < MIN_GENERATED_BITS {
            return Err(SecretError::TooShort {
                bits,
                minimum: MIN_GENERATED_BITS,
            });
        }
        if !bits.is_multiple_of(8) {
            return Err(SecretError::NotWholeBytes { bits });
        }
        let mut bytes = vec![0u8; bits / 8];
        if let Err(error) = getrandom::fill(&mut bytes) {
            bytes.zeroize();
            return Err(SecretError::RandomSource {
                reason: error.to_string(),
            });
        }
        Ok(Self { bytes })
    }

    /// A new 160-bit secret ([`DEFAULT_GENERATED_BITS`]), as RFC 4226 recommends.
    ///
    /// # Errors
    ///
    /// [`SecretError::RandomSource`] if the operating system cannot supply randomness.
    pub fn generate_default() -> Result<Self, SecretError> {
        Self::generate(DEFAULT_GENERATED_BITS)
    }

    /// The length in bytes (never zero).
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always `false`: a secret has at least one byte. Present because `len` is.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The length in bits.
    #[must_use]
    pub fn len_bits(&self) -> usize {
        self.bytes.len() * 8
    }

    /// The key bytes.
    ///
    /// # Security
    ///
    /// Whatever the caller copies them into is not zeroized by this type; prefer
    /// [`Secret::to_base32`], which returns a zeroizing string, when encoding.
    #[must_use]
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Unpadded upper-case RFC 4648 base32, the form key URIs carry.
    ///
    /// # Security
    ///
    /// The returned string is zeroized on drop; do not copy it elsewhere.
    #[must_use]
    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(base32::encode(
            base32::Alphabet::Rfc4648 { padding: false },
            &self.bytes,
        ))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Secret([REDACTED; {} bytes])", self.bytes.len())
    }
}

/// What was wrong with key material handed to [`Secret`].
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_tolerates_case_spaces_and_padding() {
        let expected = Secret::from_bytes(b"Hello!").unwrap();
        for text in [
            "JBSWY3DPEE======",
            "jbswy3dpee",
            "JBSW Y3DP EE",
            " jbsw y3dp ee== ",
        ] {
            let secret = Secret::from_base32(text).unwrap();
            assert_eq!(secret.expose_bytes(), expected.expose_bytes(), "{text}");
        }
    }

    #[test]
    fn base32_names_the_bad_position() {
        assert_eq!(
            Secret::from_base32("JBSW1Y3DP").unwrap_err(),
            SecretError::InvalidBase32Character { position: 4 }
        );
        assert_eq!(
            Secret::from_base32("JB==SW").unwrap_err(),
            SecretError::MisplacedBase32Padding { position: 2 }
        );
        assert_eq!(
            Secret::from_base32("JBS").unwrap_err(),
            SecretError::InvalidBase32Length { symbols: 3 }
        );
        assert_eq!(Secret::from_base32(" = ").unwrap_err(), SecretError::Empty);
    }

    #[test]
    fn hex_decodes_and_rejects() {
        let secret = Secret::from_hex("3132333435363738393031323334353637383930").unwrap();
        assert_eq!(secret.expose_bytes(), b"12345678901234567890");
        assert_eq!(
            Secret::from_hex("AbCd").unwrap().expose_bytes(),
            [0xab, 0xcd]
        );
        assert_eq!(
            Secret::from_hex("31x2").unwrap_err(),
            SecretError::InvalidHexCharacter { position: 2 }
        );
        assert_eq!(
            Secret::from_hex("313").unwrap_err(),
            SecretError::OddHexLength { digits: 3 }
        );
        assert_eq!(Secret::from_hex("").unwrap_err(), SecretError::Empty);
    }

    #[test]
    fn generate_checks_its_bit_count() {
        assert_eq!(Secret::generate_default().unwrap().len_bits(), 160);
        assert_eq!(Secret::generate(256).unwrap().len(), 32);
        assert_eq!(
            Secret::generate(80).unwrap_err(),
            SecretError::TooShort {
                bits: 80,
                minimum: 128
            }
        );
        assert_eq!(
            Secret::generate(130).unwrap_err(),
            SecretError::NotWholeBytes { bits: 130 }
        );
        let first = Secret::generate_default().unwrap();
        let second = Secret::generate_default().unwrap();
        assert_ne!(first.expose_bytes(), second.expose_bytes());
    }

    #[test]
    fn base32_round_trips() {
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        assert_eq!(
            secret.to_base32().as_str(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }
}
