//! The bank's name for one token, checked once. A leaf: the record, the seal (which
//! binds a sealed secret to its id) and the stores all use it, and it uses none of them.

use core::fmt;
use core::str::FromStr;
use std::sync::Arc;

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
    /// Checks and wraps `id`: 1 to 128 bytes, no white space or control characters.
    ///
    /// # Errors
    ///
    /// [`TokenIdError`] saying what was wrong.
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
        Ok(Self(Arc::from(id)))
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
}
