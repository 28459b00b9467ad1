//! Transaction signing: a signature challenge derived from a transfer's fields, in
//! the encoding documented on [`Transaction`].

use core::fmt;
use core::str::FromStr;

use sha2::{Digest, Sha256};

use crate::ocra::challenge::Challenge;
use crate::ocra::error::{OcraError, TransactionError};
use crate::ocra::suite::{OcraSuite, QuestionKind};

/// The longest beneficiary account or reference, in bytes.
pub const MAX_TRANSACTION_FIELD_BYTES: usize = 256;

/// The domain tag that starts every encoding, with its terminating zero byte.
const DOMAIN_TAG: &[u8; 27] = b"otpfob OCRA transaction v1\0";

/// An ISO 4217 alphabetic currency code, such as `EUR` or `CHF`.
///
/// Only the shape is checked (three upper-case ASCII letters); whether the code is
/// assigned is the bank's concern.
///
/// ```
/// use otpfob::ocra::Currency;
///
/// let euro: Currency = "EUR".parse()?;
/// assert_eq!(euro.as_str(), "EUR");
/// assert!("eur".parse::<Currency>().is_err());
/// # Ok::<(), otpfob::ocra::TransactionError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// The currency with this code.
    ///
    /// # Errors
    ///
    /// [`TransactionError::Currency`] unless `code` is three upper-case ASCII letters.
    pub fn new(code: &str) -> Result<Self, TransactionError> {
        match *code.as_bytes() {
            [first, second, third]
                if [first, second, third]
                    .iter()
                    .all(|letter| letter.is_ascii_uppercase()) =>
            {
                Ok(Self([first, second, third]))
            }
            _ => Err(TransactionError::Currency {
                found: code.to_owned(),
            }),
        }
    }

    /// The three-letter code.
    #[must_use]
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl FromStr for Currency {
    type Err = TransactionError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Self::new(code)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Currency({})", self.as_str())
    }
}

/// A fresh random value per signing request, part of the signed bytes.
///
/// Not secret, but it must be unpredictable: make it with [`SigningNonce::generate`],
/// keep it with the pending transfer, and use it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SigningNonce([u8; 16]);

impl SigningNonce {
    /// A nonce from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`OcraError::RandomSource`] if the operating system cannot supply randomness.
    pub fn generate() -> Result<Self, OcraError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|error| OcraError::RandomSource {
            reason: error.to_string(),
        })?;
        Ok(Self(bytes))
    }

    /// A nonce of these bytes, as stored with a pending transfer.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The nonce's bytes.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }
}

/// A transfer to be signed: amount, currency, beneficiary account and an optional
/// reference. [`Transaction::signing_bytes`] gives its encoding and
/// [`Transaction::signature_challenge`] hashes it into a challenge for
/// [`Ocra::sign`](crate::ocra::Ocra::sign).
///
/// # Why a hash and not the fields typed in
///
/// Two designs are common. In "sign what you see" the customer types a canonical
/// numeric form of a few fields (say the amount and the last digits of the account)
/// into the fob, which confirms exactly what the customer read but covers only what
/// fits on a keypad. Here every field is encoded, hashed and reduced to one challenge
/// of the suite's length: the response then commits to the whole transfer (full
/// account, currency, reference) and the customer types one number. The price is that
/// the customer cannot read the transfer from the challenge, so the bank must show the
/// transfer beside it.
///
/// # The encoding (version 1)
///
/// All integers big-endian:
///
/// | bytes | field |
/// |---|---|
/// | 27 | the domain tag `otpfob OCRA transaction v1` and a zero byte |
/// | 16 | the signing nonce |
/// | 8 | the amount in minor units (cents for EUR) |
/// | 3 | the ISO 4217 currency code, upper-case ASCII |
/// | 4 + n | the beneficiary account's length n, then its UTF-8 bytes |
/// | 1 | 0 without a reference, 1 with one, and then |
/// | 4 + m | the reference's length m, then its UTF-8 bytes |
///
/// Every field has a fixed width or a length prefix and the optional one a presence
/// byte, so the bytes can be read back into exactly one transfer: two different
/// transfers (or nonces) never encode to the same bytes. The domain tag keeps these
/// bytes from meaning anything in another protocol, and its version lets the format
/// change without ambiguity.
///
/// # The challenge
///
/// SHA-256 of the encoding, reduced to the suite's full question length `xx`: for `QN`
/// the digest as a 256-bit number modulo 10^xx, written with leading zeros (the bias is
/// below 10^64 / 2^256, about 10^-13); for `QH` and `QA` the first `xx` hex digits of
/// the digest, upper case. Two transfers get the same challenge, and so the same
/// response, with probability 10^-xx for `QN` (16^-xx otherwise): choose `QN08` or
/// longer for signing.
///
/// # The nonce
///
/// A fresh random nonce per signing request makes each challenge single-use even for
/// a transfer repeated the next month, and stops anyone from searching offline for a
/// harmless-looking transfer whose challenge equals that of a harmful one. The bank
/// keeps the nonce with the pending transfer until the response arrives.
///
/// ```
/// use otpfob::{Secret, ocra::{Currency, Ocra, OcraInput, SigningNonce, Transaction}};
///
/// let transfer = Transaction::new(
///     125_000, // EUR 1,250.00 in cents
///     Currency::new("EUR")?,
///     "DE89370400440532013000",
///     Some("Invoice 2024-117"),
/// )?;
/// let ocra = Ocra::new(
///     &Secret::from_bytes(b"12345678901234567890")?,
///     "OCRA-1:HOTP-SHA256-8:QN08".parse()?,
/// );
/// let nonce = SigningNonce::from_bytes([7; 16]);
/// let challenge = transfer.signature_challenge(ocra.suite(), &nonce);
/// assert_eq!(challenge.as_str().len(), 8);
/// let signature = ocra.sign(challenge.as_str(), &OcraInput::default())?;
///
/// // One cent more is another challenge, so the signature does not carry over.
/// let tampered = Transaction::new(125_001, transfer.currency(), "DE89370400440532013000", Some("Invoice 2024-117"))?;
/// assert_ne!(tampered.signature_challenge(ocra.suite(), &nonce), challenge);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Transaction {
    amount_minor: u64,
    currency: Currency,
    beneficiary: String,
    reference: Option<String>,
}

/// Checks a text field: not blank, not too long, no control characters.
fn check_field(field: &'static str, text: &str) -> Result<(), TransactionError> {
    if text.len() > MAX_TRANSACTION_FIELD_BYTES {
        return Err(TransactionError::FieldTooLong {
            field,
            length: text.len(),
            maximum: MAX_TRANSACTION_FIELD_BYTES,
        });
    }
    if let Some(position) = text.chars().position(char::is_control) {
        return Err(TransactionError::ControlCharacter { field, position });
    }
    Ok(())
}

impl Transaction {
    /// A transfer of `amount_minor` minor units of `currency` (cents for EUR, yen for
    /// JPY) to the `beneficiary` account, with an optional `reference`.
    ///
    /// The texts are kept as given, not normalised: the bank should pass the account
    /// in the one form it stores (an IBAN without spaces, say), since `DE89 3704` and
    /// `DE893704` are different bytes and so different challenges.
    ///
    /// # Errors
    ///
    /// [`TransactionError::EmptyBeneficiary`], [`TransactionError::EmptyReference`]
    /// for `Some` blank reference, [`TransactionError::FieldTooLong`] past
    /// [`MAX_TRANSACTION_FIELD_BYTES`], and [`TransactionError::ControlCharacter`].
    pub fn new(
        amount_minor: u64,
        currency: Currency,
        beneficiary: &str,
        reference: Option<&str>,
    ) -> Result<Self, TransactionError> {
        if beneficiary.trim().is_empty() {
            return Err(TransactionError::EmptyBeneficiary);
        }
        check_field("beneficiary", beneficiary)?;
        if let Some(reference) = reference {
            if reference.trim().is_empty() {
                return Err(TransactionError::EmptyReference);
            }
            check_field("reference", reference)?;
        }
        Ok(Self {
            amount_minor,
            currency,
            beneficiary: beneficiary.to_owned(),
            reference: reference.map(str::to_owned),
        })
    }

    /// The amount in the currency's minor units.
    #[must_use]
    pub fn amount_minor(&self) -> u64 {
        self.amount_minor
    }

    /// The currency.
    #[must_use]
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The beneficiary account.
    #[must_use]
    pub fn beneficiary(&self) -> &str {
        &self.beneficiary
    }

    /// The reference, if any.
    #[must_use]
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }

    /// Feeds the version-1 encoding to `sink`, piece by piece.
    fn encode(&self, nonce: &SigningNonce, mut sink: impl FnMut(&[u8])) {
        let length = |text: &str| (text.len() as u32).to_be_bytes();
        sink(DOMAIN_TAG);
        sink(&nonce.0);
        sink(&self.amount_minor.to_be_bytes());
        sink(&self.currency.0);
        sink(&length(&self.beneficiary));
        sink(self.beneficiary.as_bytes());
        match &self.reference {
            None => sink(&[0]),
            Some(reference) => {
                sink(&[1]);
                sink(&length(reference));
                sink(reference.as_bytes());
            }
        }
    }

    /// The bytes that are hashed into the signature challenge (the version-1
    /// encoding of the module documentation), for audit logs and other verifiers.
    #[must_use]
    pub fn signing_bytes(&self, nonce: &SigningNonce) -> Vec<u8> {
        let mut bytes =
            Vec::with_capacity(DOMAIN_TAG.len() + 16 + 8 + 3 + 9 + self.beneficiary.len());
        self.encode(nonce, |piece| bytes.extend_from_slice(piece));
        bytes
    }

    /// SHA-256 of the version-1 encoding with `nonce`: what a bank keeps to check
    /// that a signature is checked against the transfer it was asked for. Computed
    /// without heap allocation.
    #[must_use]
    pub fn digest(&self, nonce: &SigningNonce) -> [u8; 32] {
        let mut hasher = Sha256::new();
        self.encode(nonce, |piece| hasher.update(piece));
        hasher.finalize().into()
    }

    /// The signature challenge for this transfer and nonce, as long as `suite`'s
    /// question allows and in its format; computed without heap allocation.
    ///
    /// # Security
    ///
    /// A signature over this challenge verifies for another transfer only if the two
    /// challenges collide, with probability 10^-xx for a `QNxx` suite; use a fresh
    /// [`SigningNonce`] per request.
    pub fn signature_challenge(&self, suite: &OcraSuite, nonce: &SigningNonce) -> Challenge {
        let digest = self.digest(nonce);
        let format = suite.question();
        let length = usize::from(format.max_length());
        match format.kind() {
            QuestionKind::Numeric => decimal_digits(&digest, length),
            QuestionKind::Hexadecimal | QuestionKind::Alphanumeric => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                let nibbles = digest
                    .iter()
                    .flat_map(|byte| [byte >> 4, byte & 0xf])
                    .map(|nibble| HEX[usize::from(nibble)]);
                Challenge::from_ascii(nibbles.take(length))
            }
        }
    }
}

/// The last `length` decimal digits of the 256-bit big-endian number `digest`, with
/// leading zeros: the number modulo 10^length.
fn decimal_digits(digest: &[u8; 32], length: usize) -> Challenge {
    let mut limbs = [0u64; 4];
    for (limb, bytes) in limbs.iter_mut().zip(digest.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        *limb = u64::from_be_bytes(word);
    }
    let mut digits = [b'0'; 64];
    for slot in digits.iter_mut().take(length).rev() {
        // Long division of the big-endian limbs by 10.
        let mut remainder = 0u128;
        for limb in limbs.iter_mut() {
            let value = (remainder << 64) | u128::from(*limb);
            *limb = (value / 10) as u64;
            remainder = value % 10;
        }
        *slot = b'0' + remainder as u8;
    }
    Challenge::from_ascii(digits.into_iter().take(length))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn euro() -> Currency {
        Currency::new("EUR").unwrap()
    }

    #[test]
    fn currencies_are_three_upper_case_letters() {
        for bad in ["", "EU", "EURO", "eur", "E1R", "ÉUR"] {
            assert_eq!(
                Currency::new(bad).unwrap_err(),
                TransactionError::Currency { found: bad.into() }
            );
        }
        assert_eq!(format!("{:?}", euro()), "Currency(EUR)");
        assert_eq!(euro().to_string(), "EUR");
    }

    #[test]
    fn bad_fields_are_refused() {
        assert_eq!(
            Transaction::new(1, euro(), " ", None).unwrap_err(),
            TransactionError::EmptyBeneficiary
        );
        assert_eq!(
            Transaction::new(1, euro(), "DE89", Some("")).unwrap_err(),
            TransactionError::EmptyReference
        );
        assert_eq!(
            Transaction::new(1, euro(), "DE\n89", None).unwrap_err(),
            TransactionError::ControlCharacter {
                field: "beneficiary",
                position: 2
            }
        );
        let long = "x".repeat(MAX_TRANSACTION_FIELD_BYTES + 1);
        assert_eq!(
            Transaction::new(1, euro(), "DE89", Some(&long)).unwrap_err(),
            TransactionError::FieldTooLong {
                field: "reference",
                length: 257,
                maximum: 256
            }
        );
    }

    #[test]
    fn the_encoding_is_laid_out_as_documented() {
        let transfer = Transaction::new(0x0102, euro(), "AB", Some("r")).unwrap();
        let bytes = transfer.signing_bytes(&SigningNonce::from_bytes([9; 16]));
        let mut expected = DOMAIN_TAG.to_vec();
        expected.extend([9; 16]);
        expected.extend([0, 0, 0, 0, 0, 0, 1, 2]);
        expected.extend(b"EUR");
        expected.extend([0, 0, 0, 2]);
        expected.extend(b"AB");
        expected.extend([1, 0, 0, 0, 1]);
        expected.extend(b"r");
        assert_eq!(bytes, expected);
        let without = Transaction::new(0x0102, euro(), "AB", None).unwrap();
        let bytes = without.signing_bytes(&SigningNonce::from_bytes([9; 16]));
        assert_eq!(bytes.last(), Some(&0));
    }

    #[test]
    fn the_digest_is_sha256_of_the_signing_bytes() {
        let transfer = Transaction::new(100, euro(), "DE89", Some("rent")).unwrap();
        let nonce = SigningNonce::from_bytes([3; 16]);
        let expected: [u8; 32] = Sha256::digest(transfer.signing_bytes(&nonce)).into();
        assert_eq!(transfer.digest(&nonce), expected);
        assert_ne!(
            transfer.digest(&nonce),
            transfer.digest(&SigningNonce::from_bytes([4; 16]))
        );
    }

    #[test]
    fn numeric_challenges_are_the_digest_modulo_a_power_of_ten() {
        // 2^256 - 1 = ...639935 (its last digits), and 0 gives zeros.
        let all_ones = decimal_digits(&[0xff; 32], 6);
        assert_eq!(all_ones.as_str(), "639935");
        assert_eq!(decimal_digits(&[0; 32], 8).as_str(), "00000000");
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(decimal_digits(&one, 4).as_str(), "0001");
        // 2^256 - 1 has 78 digits; the longest question takes its last 64.
        assert_eq!(
            decimal_digits(&[0xff; 32], 64).as_str(),
            "6195423570985008687907853269984665640564039457584007913129639935"
        );
    }

    #[test]
    fn challenges_take_the_suite_format_and_length() {
        let transfer = Transaction::new(100, euro(), "DE89370400440532013000", None).unwrap();
        let nonce = SigningNonce::from_bytes([1; 16]);
        for (suite, check) in [
            ("OCRA-1:HOTP-SHA1-6:QN08", QuestionKind::Numeric),
            ("OCRA-1:HOTP-SHA1-6:QH64", QuestionKind::Hexadecimal),
            ("OCRA-1:HOTP-SHA1-6:QA10", QuestionKind::Alphanumeric),
        ] {
            let suite: OcraSuite = suite.parse().unwrap();
            let challenge = transfer.signature_challenge(&suite, &nonce);
            assert_eq!(
                challenge.as_str().len(),
                usize::from(suite.question().max_length())
            );
            assert!(
                challenge
                    .as_str()
                    .chars()
                    .all(|character| check.allows(character))
            );
        }
        let other_nonce = SigningNonce::from_bytes([2; 16]);
        let suite: OcraSuite = "OCRA-1:HOTP-SHA1-6:QN64".parse().unwrap();
        assert_ne!(
            transfer.signature_challenge(&suite, &nonce),
            transfer.signature_challenge(&suite, &other_nonce)
        );
    }
}
