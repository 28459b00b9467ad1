//! The serial number printed on the back of a device.

use core::fmt;
use core::str::FromStr;

use crate::device::error::DeviceError;
use crate::validator::TokenId;

/// The most characters a [`SerialNumber`] may have.
pub const MAX_SERIAL_LEN: usize = 32;

/// A device's serial number, as printed on its back and kept in the vendor's record:
/// 1 to [`MAX_SERIAL_LEN`] ASCII letters, digits and dashes (`GALT-0012345678`).
///
/// ```
/// use otpfob::device::SerialNumber;
///
/// let serial: SerialNumber = "OTPF-0000000042".parse()?;
/// assert_eq!(serial.as_str(), "OTPF-0000000042");
/// assert!(SerialNumber::new("no spaces").is_err());
/// # Ok::<(), otpfob::DeviceError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SerialNumber(String);

impl SerialNumber {
    /// Checks and keeps `serial`.
    ///
    /// # Errors
    ///
    /// [`DeviceError::SerialLength`] if empty or longer than [`MAX_SERIAL_LEN`],
    /// [`DeviceError::SerialCharacter`] at the first character that is not an ASCII
    /// letter, digit or dash.
    pub fn new(serial: &str) -> Result<Self, DeviceError> {
        if let Some(position) = serial
            .chars()
            .position(|character| !(character.is_ascii_alphanumeric() || character == '-'))
        {
            return Err(DeviceError::SerialCharacter { position });
        }
        // Only ASCII from here, so bytes are characters.
        if serial.is_empty() || serial.len() > MAX_SERIAL_LEN {
            return Err(DeviceError::SerialLength {
                length: serial.len(),
                maximum: MAX_SERIAL_LEN,
            });
        }
        Ok(Self(serial.to_owned()))
    }

    /// A serial number the caller has made from checked parts.
    #[cfg_attr(not(feature = "fleet"), allow(dead_code))]
    pub(crate) fn checked_elsewhere(serial: String) -> Self {
        debug_assert!(Self::new(&serial).is_ok(), "{serial}");
        Self(serial)
    }

    /// The serial number as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for SerialNumber {
    type Err = DeviceError;

    fn from_str(serial: &str) -> Result<Self, Self::Err> {
        Self::new(serial)
    }
}

impl fmt::Display for SerialNumber {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl AsRef<str> for SerialNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&SerialNumber> for TokenId {
    /// The serial number as the bank's token id: every serial number is one (ASCII
    /// letters, digits and dashes are all allowed in an id, and 32 is under its 128).
    fn from(serial: &SerialNumber) -> Self {
        TokenId::checked_elsewhere(serial.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_letters_digits_and_dashes() {
        assert_eq!(SerialNumber::new("A-1").unwrap().to_string(), "A-1");
        assert!(SerialNumber::new(&"9".repeat(MAX_SERIAL_LEN)).is_ok());
    }

    #[test]
    fn every_serial_number_is_a_token_id() {
        let longest = "Z".repeat(MAX_SERIAL_LEN);
        for serial in ["A-1", "-", "0", "otpf-0000000042", longest.as_str()] {
            let serial = SerialNumber::new(serial).unwrap();
            assert_eq!(
                TokenId::new(serial.as_str()).unwrap(),
                TokenId::from(&serial)
            );
        }
    }

    #[test]
    fn rejects_bad_length_and_characters() {
        assert_eq!(
            SerialNumber::new("").unwrap_err(),
            DeviceError::SerialLength {
                length: 0,
                maximum: MAX_SERIAL_LEN
            }
        );
        assert_eq!(
            SerialNumber::new(&"9".repeat(MAX_SERIAL_LEN + 1)).unwrap_err(),
            DeviceError::SerialLength {
                length: MAX_SERIAL_LEN + 1,
                maximum: MAX_SERIAL_LEN
            }
        );
        assert_eq!(
            SerialNumber::new("AB_1").unwrap_err(),
            DeviceError::SerialCharacter { position: 2 }
        );
        assert_eq!(
            SerialNumber::new("é1").unwrap_err(),
            DeviceError::SerialCharacter { position: 0 }
        );
    }
}
