//! RFC 6030 Portable Symmetric Key Container (PSKC): the XML files in which token
//! vendors deliver the secrets of the fobs they ship, and in which a bank can move its
//! tokens between systems.
//!
//! [`read_pskc`] reads a container into [`PskcContainer`] (every key and what the file
//! says about it), and [`PskcContainer::tokens`] turns its HOTP and TOTP keys into
//! [`ProvisionedToken`]s, which carry what a validator and a simulated fob need.
//! [`write_pskc`] writes tokens back out, in plaintext or encrypted.

mod crypto;
mod enrol;
pub(crate) mod error;
pub(crate) mod export;
mod read;
#[cfg(feature = "pskc-rsa")]
mod rsa_transport;
#[cfg(feature = "pskc-signature")]
mod signature;
mod token;
mod write;
mod xml;

use crate::clock::UnixTime;
use crate::secret::Secret;

pub use enrol::{PskcEnrolled, PskcEnrolment, PskcRefused};
pub use error::{PskcEnrolError, PskcError};
pub use export::{ExportError, ExportSkip, ExportSkipped, MAX_EXPORT_ACTOR_LEN, TokenExport};
pub use read::{read_pskc, read_pskc_with_limits};
#[cfg(feature = "pskc-rsa")]
pub use rsa_transport::{MIN_RSA_KEY_BITS, PskcRsaKey};
#[cfg(feature = "pskc-signature")]
pub use signature::{PskcSigner, PskcSignerCertificate, read_signed_pskc};
pub use token::ProvisionedToken;
pub use write::write_pskc;

/// The algorithm URI of an RFC 4226 HOTP key (RFC 6030 §10.1).
pub const PSKC_HOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:hotp";

/// The algorithm URI of an RFC 6238 TOTP key (registered with the PSKC algorithm
/// profiles, as vendors write it).
pub const PSKC_TOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:totp";

/// Bounds on what [`read_pskc_with_limits`] accepts, so that a hostile or broken file
/// is refused with a [`PskcError`](crate::pskc::PskcError) before it can use much memory or
/// time. [`read_pskc`] uses [`PskcLimits::default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PskcLimits {
    /// The largest document, in bytes. Default 16 MiB (some ten thousand fobs).
    pub max_document_bytes: usize,
    /// The most `<KeyPackage>` elements. Default 20 000.
    pub max_keys: usize,
    /// The most elements in the document. Default 1 000 000.
    pub max_elements: usize,
    /// The deepest nesting of elements. Default 32 (PSKC needs about 10).
    pub max_depth: usize,
    /// The longest text of one element or value of one attribute, in bytes. Default
    /// 64 KiB (an X.509 certificate needs a few KiB).
    pub max_text_bytes: usize,
    /// The longest secret, in bytes. Default 1024 (HMAC-SHA-512 needs 64).
    pub max_secret_bytes: usize,
    /// The fewest bits of secret, below which an HOTP or TOTP key is refused
    /// ([`PskcError::SecretTooShort`](crate::pskc::PskcError::SecretTooShort)). Default
    /// [`MIN_IMPORTED_SECRET_BITS`](crate::provision::MIN_IMPORTED_SECRET_BITS), 80: what
    /// authenticator apps generate (RFC 4226 §4 asks for 128).
    ///
    /// # Security
    ///
    /// A short secret falls to trying every key against one observed code: a one-byte
    /// secret in 256 tries. Lower this only to import tokens that already exist with
    /// shorter secrets (`otpfob pskc import --min-secret-bits`), and replace them.
    pub min_secret_bits: usize,
    /// The highest PBKDF2 iteration count. Default 10 000 000: about 1.5 s of
    /// PBKDF2-HMAC-SHA1 (measured at 0.16 ms per 1000 iterations), the most a file can
    /// make a reader spend; OWASP asks for 1 300 000 with HMAC-SHA-1.
    pub max_pbkdf2_iterations: u32,
}

impl Default for PskcLimits {
    fn default() -> Self {
        Self {
            max_document_bytes: 16 << 20,
            max_keys: 20_000,
            max_elements: 1_000_000,
            max_depth: 32,
            max_text_bytes: 64 << 10,
            max_secret_bytes: 1024,
            min_secret_bits: crate::provision::MIN_IMPORTED_SECRET_BITS,
            max_pbkdf2_iterations: 10_000_000,
        }
    }
}

/// What unlocks the encrypted values of a container.
///
/// # Security
///
/// Every kind is zeroized on drop and redacted in `Debug`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PskcCredential {
    /// No credential: only files whose values are all in plaintext can be read.
    None,
    /// The pre-shared AES key of RFC 6030 §6.1 (16, 24 or 32 bytes, as the file's
    /// cipher needs).
    PreSharedKey(Secret),
    /// The password from which RFC 6030 §6.2 derives the key with PBKDF2, as bytes
    /// (UTF-8 for a typed password).
    Password(Secret),
    /// The bank's RSA private key, to whose certificate RFC 6030 §6.3 encrypts the
    /// secrets (`rsa-1_5`, `rsa-oaep-mgf1p`; feature `pskc-rsa`). The file is read
    /// only if one of its `<ds:X509Certificate>`s holds this key's public half.
    #[cfg(feature = "pskc-rsa")]
    RsaPrivateKey(PskcRsaKey),
}

/// How [`write_pskc`] protects the secrets it writes.
///
/// # Security
///
/// [`PskcProtection::Plaintext`] writes every secret in the clear, base64-encoded:
/// keep it for tests and for transfers over channels that are themselves encrypted and
/// authenticated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PskcProtection {
    /// Secrets in `<PlainValue>` (RFC 6030 §5).
    Plaintext,
    /// Secrets encrypted with AES-CBC under a pre-shared key (RFC 6030 §6.1): AES-128,
    /// -192 or -256 by the key's length; HMAC-SHA1 over each encrypted value with a
    /// fresh random MAC key, itself encrypted under the same key.
    PreSharedKey {
        /// The key: 16, 24 or 32 bytes.
        key: Secret,
        /// The name written in `<ds:KeyName>`, by which the recipient finds the key.
        key_name: String,
    },
    /// Secrets encrypted with AES-128-CBC under a key derived from a password with
    /// PBKDF2-HMAC-SHA1 and a fresh random 16-byte salt (RFC 6030 §6.2); MAC as for a
    /// pre-shared key.
    Password {
        /// The password.
        password: Secret,
        /// The name written in `<xenc11:MasterKeyName>`.
        key_name: String,
        /// PBKDF2 iterations: at least 1; choose a large count (OWASP asks for
        /// 1 300 000 with HMAC-SHA-1); the reader's default limit is 10 000 000.
        iterations: u32,
    },
}

/// A container as read from a file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PskcContainer {
    /// The container's `Id` attribute.
    pub id: Option<String>,
    /// The name the file gives its encryption key (`<ds:KeyName>` or
    /// `<xenc11:MasterKeyName>`), if any.
    pub key_name: Option<String>,
    /// Every `<KeyPackage>` that holds a `<Key>`, in document order.
    pub keys: Vec<PskcKey>,
    /// Whether the container has an XML signature (`<ds:Signature>`).
    ///
    /// # Security
    ///
    /// The signature is **not** verified by [`read_pskc`]; read a signed file with
    /// `read_signed_pskc` (feature `pskc-signature`), which verifies it against the
    /// signer the bank trusts. Otherwise a file's integrity rests on its MAC when its
    /// values are encrypted, and on the channel it came through.
    pub signed: bool,
}

/// One `<Key>` of a container, with its `<KeyPackage>`'s device information, its
/// values decrypted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PskcKey {
    /// The key's `Id` attribute, unique within the container.
    pub id: String,
    /// The key's `Algorithm` URI, such as [`PSKC_HOTP`] or [`PSKC_TOTP`].
    pub algorithm: Option<String>,
    /// The device the key belongs to.
    pub device: PskcDeviceInfo,
    /// `<CryptoModuleInfo><Id>`: which module of the device holds the key.
    pub crypto_module_id: Option<String>,
    /// `<Issuer>`: who issued the key.
    pub issuer: Option<String>,
    /// `<FriendlyName>`.
    pub friendly_name: Option<String>,
    /// `<AlgorithmParameters><Suite>`: for HOTP and TOTP keys the hash
    /// (`HMAC-SHA256`, ...; SHA-1 when absent).
    pub suite: Option<String>,
    /// `<AlgorithmParameters><ResponseFormat>`: the length and encoding of responses.
    pub response_format: Option<PskcResponseFormat>,
    /// `<KeyProfileId>`: a profile agreed out of band.
    pub key_profile_id: Option<String>,
    /// `<KeyReference>`: a key held elsewhere (as in RFC 6030 Figure 4, where the
    /// secret is derived from a master key and so is absent from the file).
    pub key_reference: Option<String>,
    /// `<Data><Secret>`, decoded or decrypted.
    pub secret: Option<Secret>,
    /// `<Data><Counter>`: the event counter of an HOTP key.
    pub counter: Option<u64>,
    /// `<Data><Time>`: for a time-based key, the time as the algorithm counts it
    /// (RFC 6030 leaves its meaning to the algorithm profile).
    pub time: Option<u64>,
    /// `<Data><TimeInterval>`: seconds per time step.
    pub time_interval: Option<u64>,
    /// `<Data><TimeDrift>`: time steps the device's clock is ahead of the server's
    /// (negative when behind), as the last validation found it. RFC 6030: a device
    /// at step 8 when the server is at step 9 has a drift of -1.
    pub time_drift: Option<i64>,
    /// `<UserId>` of the key.
    pub user_id: Option<String>,
    /// `<Policy>`.
    pub policy: PskcPolicy,
}

/// `<DeviceInfo>`: what identifies the device a key belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PskcDeviceInfo {
    /// `<Manufacturer>`.
    pub manufacturer: Option<String>,
    /// `<SerialNo>`: the serial number printed on the device.
    pub serial_number: Option<String>,
    /// `<Model>`.
    pub model: Option<String>,
    /// `<IssueNo>`: which issue of the device, when one serial is reissued.
    pub issue_number: Option<String>,
    /// `<DeviceBinding>`.
    pub device_binding: Option<String>,
    /// `<StartDate>`: from when the device may be used.
    pub start_date: Option<UnixTime>,
    /// `<ExpiryDate>`: until when the device may be used.
    pub expiry_date: Option<UnixTime>,
    /// `<UserId>` of the device.
    pub user_id: Option<String>,
}

/// `<ResponseFormat>`: what a key's responses look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PskcResponseFormat {
    /// `Length`: digits or characters per response.
    pub length: u32,
    /// `Encoding`.
    pub encoding: PskcEncoding,
    /// `CheckDigits`: whether a Luhn check digit is appended.
    pub check_digits: bool,
}

/// The `Encoding` of a response format or PIN (RFC 6030 §4.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// Deliberately exhaustive: RFC 6030 §4.3.4 fixes the response encodings.
#[allow(clippy::exhaustive_enums)]
pub enum PskcEncoding {
    /// `DECIMAL`: digits 0-9, what HOTP and TOTP produce.
    Decimal,
    /// `HEXADECIMAL`.
    Hexadecimal,
    /// `ALPHANUMERIC`.
    Alphanumeric,
    /// `BASE64`.
    Base64,
    /// `BINARY`.
    Binary,
}

/// `<Policy>`: how a key may be used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PskcPolicy {
    /// `<StartDate>`: from when the key may be used.
    pub start_date: Option<UnixTime>,
    /// `<ExpiryDate>`: until when the key may be used.
    pub expiry_date: Option<UnixTime>,
    /// `<KeyUsage>` values, such as `OTP`.
    pub key_usage: Vec<String>,
    /// `<NumberOfTransactions>`: how many times the key may be used.
    pub number_of_transactions: Option<u64>,
    /// `<PINPolicy>`.
    pub pin_policy: Option<PskcPinPolicy>,
}

/// `<PINPolicy>`: the PIN that guards a key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PskcPinPolicy {
    /// `PINKeyId`: the `Id` of the key that holds the PIN.
    pub pin_key_id: Option<String>,
    /// `PINUsageMode`: `Local`, `Prepend`, `Append` or `Algorithmic`.
    pub usage_mode: Option<String>,
    /// `MaxFailedAttempts`: wrong PINs before the device locks.
    pub max_failed_attempts: Option<u32>,
    /// `MinLength` of the PIN.
    pub min_length: Option<u32>,
    /// `MaxLength` of the PIN.
    pub max_length: Option<u32>,
    /// `PINEncoding`.
    pub encoding: Option<PskcEncoding>,
}

impl PskcEncoding {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "DECIMAL" => Some(PskcEncoding::Decimal),
            "HEXADECIMAL" => Some(PskcEncoding::Hexadecimal),
            "ALPHANUMERIC" => Some(PskcEncoding::Alphanumeric),
            "BASE64" => Some(PskcEncoding::Base64),
            "BINARY" => Some(PskcEncoding::Binary),
            _ => None,
        }
    }

    /// The name RFC 6030 gives the encoding: `DECIMAL`, `HEXADECIMAL`, ...
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            PskcEncoding::Decimal => "DECIMAL",
            PskcEncoding::Hexadecimal => "HEXADECIMAL",
            PskcEncoding::Alphanumeric => "ALPHANUMERIC",
            PskcEncoding::Base64 => "BASE64",
            PskcEncoding::Binary => "BINARY",
        }
    }
}
