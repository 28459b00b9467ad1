//! The bank's name for one token, checked once. A leaf: the record, the seal (which
//! binds a sealed secret to its id) and the stores all use it, and it uses none of them.

use core::fmt;
use core::str::FromStr;
use std::sync::Arc;

use crate::text::is_invisible_character;
use crate::validator::error::TokenIdError;

/// The longest token id, in bytes.
pub const MAX_TOKEN_ID_LEN: usize = 128;

/// The bank's name for one token: a fob's serial number, a customer's soft-token id.
/// Cloning is cheap (a shared, immutable string), since every audit event carries one.
///
/// ```
/// use otpfob::TokenId;
///
/// let id: TokenId = "FOB-0001234".parse()?;
/// assert_eq!(id.as_str(), "FOB-0001234");
/// assert!("two words".parse::<TokenId>().is_err());
/// # Ok::<(), otpfob::TokenIdError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId(Arc<str>);

impl TokenId {
    /// Checks and wraps `id`: 1 to 128 bytes, no white space, no control characters
    /// and no invisible or direction-changing characters
    /// ([`is_invisible_character`](crate::text::is_invisible_character)).
    ///
    /// # Errors
    ///
    /// [`TokenIdError`] saying what was wrong and where.
    ///
    /// # Security
    ///
    /// Operators and audit readers tell tokens apart by how their ids look, so an id
    /// must display as what it is: `FOB-\u{202e}1-EVIL` (a right-to-left override)
    /// would show as `FOB-LIVE-1`, and is refused.
    pub fn new(id: impl Into<String>) -> Result<Self, TokenIdError> {
        let id = id.into();
        if id.is_empty() {
            return Err(TokenIdError::Empty);
        }
        if id.len() > MAX_TOKEN_ID_LEN {
            return Err(TokenIdError::TooLong {
                length: id.len(),
                maximum: MAX_TOKEN_ID_LEN,
            });
        }
        if let Some(position) = id
            .chars()
            .position(|character| character.is_whitespace() || character.is_control())
        {
            return Err(TokenIdError::InvalidCharacter { position });
        }
        // Format characters (U+202E, zero-width spaces, ...) are neither white space
        // nor control characters, yet make an id display as another.
        if let Some((position, character)) = id
            .chars()
            .enumerate()
            .find(|(_, character)| is_invisible_character(*character))
        {
            return Err(TokenIdError::InvisibleCharacter {
                position,
                code_point: u32::from(character),
            });
        }
        Ok(Self(Arc::from(id)))
    }

    /// An id the caller has checked by rules at least as strict as [`TokenId::new`]'s
    /// (a device's serial number: ASCII letters, digits and dashes, at most 32).
    pub(crate) fn checked_elsewhere(id: &str) -> Self {
        debug_assert!(Self::new(id).is_ok(), "{id}");
        Self(Arc::from(id))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for TokenId {
    type Err = TokenIdError;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        Self::new(id)
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ids_are_checked() {
        assert_eq!(TokenId::new(""), Err(TokenIdError::Empty));
        assert_eq!(
            TokenId::new("a".repeat(129)),
            Err(TokenIdError::TooLong {
                length: 129,
                maximum: 128
            })
        );
        assert_eq!(
            TokenId::new("ab\u{7}"),
            Err(TokenIdError::InvalidCharacter { position: 2 })
        );
        assert_eq!(
            TokenId::new("Bank:alice@example.com").unwrap().to_string(),
            "Bank:alice@example.com"
        );
    }

    /// Issue 11, item 5: `FOB-<RLO>1-EVIL` was accepted and displays as `FOB-LIVE-1`.
    #[test]
    fn token_ids_refuse_invisible_and_direction_changing_characters() {
        let cases = [
            ("FOB-\u{202e}1-EVIL", 4, 0x202e),
            ("FOB\u{200b}1", 3, 0x200b),
            ("\u{feff}FOB", 0, 0xfeff),
            ("FOB\u{2066}x", 3, 0x2066),
            ("F\u{ad}OB", 1, 0xad),
            ("Fö\u{200d}B", 2, 0x200d),
        ];
        for (id, position, code_point) in cases {
            assert_eq!(
                TokenId::new(id),
                Err(TokenIdError::InvisibleCharacter {
                    position,
                    code_point
                }),
                "{id:?}"
            );
        }
        let message = TokenId::new("FOB-\u{202e}1").unwrap_err().to_string();
        assert!(
            message.contains("U+202E") && message.contains("position 4"),
            "{message}"
        );
        assert!(!message.contains('\u{202e}'));
        assert_eq!(TokenId::new("Bänk-ü-中").unwrap().as_str(), "Bänk-ü-中");
    }
}
