//! What an OCRA computation returns: a code, or the whole HMAC when the suite does not
//! truncate.

use core::fmt;

use subtle::{Choice, ConstantTimeEq};

use crate::code::Code;
use crate::hotp::dynamic_truncate;
use crate::mac::MacOutput;
use crate::ocra::error::OcraError;
use crate::ocra::suite::OcraSuite;

/// The longest HMAC, SHA-512's.
const MAX_MAC_LEN: usize = 64;

/// The whole HMAC of an OCRA data input: the response of a suite with truncation 0
/// (RFC 6287 §5.2: "no truncation", the full HMAC value is used).
///
/// Shown and parsed as lower-case hexadecimal, 40, 64 or 128 digits. Equality runs
/// in constant time.
#[derive(Clone, Copy)]
pub struct FullMac {
    bytes: [u8; MAX_MAC_LEN],
    len: u8,
}

impl FullMac {
    fn from_mac(mac: &MacOutput) -> Self {
        let mut bytes = [0u8; MAX_MAC_LEN];
        let source = mac.as_ref();
        for (target, byte) in bytes.iter_mut().zip(source) {
            *target = *byte;
        }
        Self {
            bytes,
            len: source.len().min(MAX_MAC_LEN) as u8,
        }
    }

    /// The HMAC bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl ConstantTimeEq for FullMac {
    fn ct_eq(&self, other: &Self) -> Choice {
        // Unused bytes are zero in both, so the whole arrays can be compared.
        self.len.ct_eq(&other.len) & self.bytes.ct_eq(&other.bytes)
    }
}

impl fmt::Display for FullMac {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_bytes()
            .iter()
            .try_for_each(|byte| write!(formatter, "{byte:02x}"))
    }
}

impl fmt::Debug for FullMac {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "FullMac({self})")
    }
}

/// An OCRA response: what a token shows, or what a signature is.
///
/// Equality runs in constant time, so a verifier learns nothing from timing; a
/// response of the other kind is simply unequal.
///
/// ```
/// use otpfob::{Secret, ocra::{Ocra, OcraInput, OcraResponse}};
///
/// let ocra = Ocra::new(
///     &Secret::from_bytes(b"12345678901234567890")?,
///     "OCRA-1:HOTP-SHA1-6:QN08".parse()?,
/// );
/// let response = ocra.one_way("00000000", &OcraInput::default())?;
/// assert_eq!(response.to_string(), "237653"); // RFC 6287 Appendix C.1
/// assert!(matches!(response, OcraResponse::Code(_)));
/// assert_eq!(response, ocra.suite().parse_response("237653")?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
#[must_use]
// Deliberately exhaustive: RFC 6287 has truncated and untruncated responses only.
#[allow(clippy::exhaustive_enums)]
pub enum OcraResponse {
    /// The truncated response of a suite with 4 to 10 digits.
    Code(Code),
    /// The whole HMAC, for a suite with truncation 0.
    Full(FullMac),
}

impl OcraResponse {
    /// The response `suite` makes from this HMAC.
    pub(crate) fn from_mac(suite: &OcraSuite, mac: &MacOutput) -> Self {
        match suite.response_digits() {
            Some(digits) => {
                OcraResponse::Code(Code::from_truncated(dynamic_truncate(mac.as_ref()), digits))
            }
            None => OcraResponse::Full(FullMac::from_mac(mac)),
        }
    }

    /// A response of `suite`'s kind and length made of zeros: a stand-in that keeps a
    /// verifier's work the same when the typed response did not parse (its match is
    /// never used).
    pub(crate) fn placeholder(suite: &OcraSuite) -> Self {
        match suite.response_digits() {
            Some(digits) => OcraResponse::Code(Code::from_truncated(0, digits)),
            None => OcraResponse::Full(FullMac {
                bytes: [0; MAX_MAC_LEN],
                len: suite.algorithm().output_len().min(MAX_MAC_LEN) as u8,
            }),
        }
    }

    /// Digits of a code, or 0 for a full HMAC (the suite's truncation).
    #[must_use]
    pub fn digits(&self) -> u8 {
        match self {
            OcraResponse::Code(code) => code.digits(),
            OcraResponse::Full(_) => 0,
        }
    }
}

impl ConstantTimeEq for OcraResponse {
    fn ct_eq(&self, other: &Self) -> Choice {
        match (self, other) {
            (OcraResponse::Code(mine), OcraResponse::Code(theirs)) => mine.ct_eq(theirs),
            (OcraResponse::Full(mine), OcraResponse::Full(theirs)) => mine.ct_eq(theirs),
            _ => Choice::from(0),
        }
    }
}

impl PartialEq for OcraResponse {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for OcraResponse {}

impl fmt::Display for OcraResponse {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OcraResponse::Code(code) => code.fmt(formatter),
            OcraResponse::Full(mac) => mac.fmt(formatter),
        }
    }
}

impl OcraSuite {
    /// Reads a response as a person or a client sends it: a code of the suite's digit
    /// count (as [`Code::parse`] takes it), or for a suite with truncation 0 the full
    /// HMAC in hexadecimal (either case).
    ///
    /// # Errors
    ///
    /// [`OcraError::ResponseCode`] for a code that does not parse,
    /// [`OcraError::ResponseHexCharacter`] and [`OcraError::ResponseHexLength`] for a
    /// bad full HMAC.
    pub fn parse_response(&self, text: &str) -> Result<OcraResponse, OcraError> {
        if let Some(digits) = self.response_digits() {
            return Ok(OcraResponse::Code(Code::parse(text, digits)?));
        }
        let expected = self.algorithm().output_len() * 2;
        if let Some(position) = text
            .chars()
            .position(|character| !character.is_ascii_hexdigit())
        {
            return Err(OcraError::ResponseHexCharacter { position });
        }
        if text.len() != expected {
            return Err(OcraError::ResponseHexLength {
                expected,
                found: text.len(),
            });
        }
        let mut mac = FullMac {
            bytes: [0; MAX_MAC_LEN],
            len: (expected / 2) as u8,
        };
        for (byte, pair) in mac.bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            let value = core::str::from_utf8(pair)
                .ok()
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .unwrap_or(0);
            *byte = value;
        }
        Ok(OcraResponse::Full(mac))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_responses_parse_and_compare() {
        let suite: OcraSuite = "OCRA-1:HOTP-SHA1-0:QN08".parse().unwrap();
        let text = "00112233445566778899aabbccddeeff01234567";
        let response = suite.parse_response(text).unwrap();
        assert_eq!(response.to_string(), text);
        assert_eq!(response.digits(), 0);
        assert_eq!(
            suite.parse_response(&text.to_uppercase()).unwrap(),
            response
        );
        let other = suite
            .parse_response("00112233445566778899aabbccddeeff01234568")
            .unwrap();
        assert_ne!(response, other);
        assert_eq!(
            suite.parse_response(&text[..38]).unwrap_err(),
            OcraError::ResponseHexLength {
                expected: 40,
                found: 38
            }
        );
        assert_eq!(
            suite.parse_response("0011x").unwrap_err(),
            OcraError::ResponseHexCharacter { position: 4 }
        );
        let code = OcraResponse::Code(Code::new(1, 6).unwrap());
        assert_ne!(code, response);
    }

    #[test]
    fn codes_parse_with_the_suite_digits() {
        let suite: OcraSuite = "OCRA-1:HOTP-SHA1-4:QN08".parse().unwrap();
        assert_eq!(suite.parse_response("0123").unwrap().to_string(), "0123");
        assert!(matches!(
            suite.parse_response("01234"),
            Err(OcraError::ResponseCode(_))
        ));
    }
}
