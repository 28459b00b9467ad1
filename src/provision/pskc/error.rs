//! What can be wrong with a PSKC container, and with enrolling its keys.

use crate::hotp::OtpError;
use crate::validator::error::TokenIdError;
use crate::validator::error::ValidatorError;
use thiserror::Error;

/// What was wrong with an RFC 6030 PSKC key container, or with what was asked of one.
///
/// Element names are the local names of the file's elements (`Secret`, `Counter`,
/// ...). Values are quoted back shortened to at most 40 characters, and only values
/// that are not key material: a bad secret is named by its key's `Id`, never shown.
#[cfg(feature = "pskc")]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PskcError {
    /// The document is larger than the limit.
    #[error("the PSKC document has {length} bytes, more than the limit of {maximum}")]
    DocumentTooLarge {
        /// The document's length in bytes.
        length: usize,
        /// The limit, [`PskcLimits::max_document_bytes`](crate::pskc::PskcLimits).
        maximum: usize,
    },
    /// The document is not UTF-8, or declares another encoding.
    #[error("the PSKC document is not UTF-8 (encoding {encoding:?})")]
    Encoding {
        /// The declared encoding, or `"invalid UTF-8"`.
        encoding: String,
    },
    /// The XML is not well-formed.
    #[error("malformed XML at byte {position}: {reason}")]
    Xml {
        /// Byte offset in the document where the reader stopped.
        position: u64,
        /// What the XML reader reported.
        reason: String,
    },
    /// The document has a `<!DOCTYPE>`. Document type declarations are refused
    /// outright: they are how entity expansion attacks ("billion laughs") and external
    /// entity reads begin, and PSKC never needs one.
    #[error("document type declarations (<!DOCTYPE>) are not accepted in PSKC files")]
    DocumentType,
    /// An entity reference other than the five XML predefines and character
    /// references.
    #[error("unknown entity &{name}; (no entities are declared in a PSKC file)")]
    UnknownEntity {
        /// The entity name.
        name: String,
    },
    /// Elements nested deeper than the limit.
    #[error("elements are nested more than {maximum} deep")]
    TooDeep {
        /// The limit.
        maximum: usize,
    },
    /// More elements than the limit.
    #[error("the document has more than {maximum} elements")]
    TooManyElements {
        /// The limit.
        maximum: usize,
    },
    /// An element whose text or attribute is longer than the limit.
    #[error("the text of <{element}> is longer than {maximum} bytes")]
    TextTooLong {
        /// The element.
        element: String,
        /// The limit.
        maximum: usize,
    },
    /// More key packages than the limit.
    #[error("the container has more than {maximum} key packages")]
    TooManyKeys {
        /// The limit.
        maximum: usize,
    },
    /// The root element is not `<KeyContainer>`.
    #[error("the root element is <{root}>, not <KeyContainer>")]
    NotKeyContainer {
        /// The root element's local name.
        root: String,
    },
    /// A `Version` other than `1.0`.
    #[error("unsupported PSKC version {version:?}: expected 1.0")]
    Version {
        /// The version found, if any.
        version: Option<String>,
    },
    /// A required element is missing.
    #[error("<{element}> is missing from <{parent}>")]
    MissingElement {
        /// The missing element.
        element: &'static str,
        /// Where it was expected; for a key, `Key Id="..."`.
        parent: String,
    },
    /// A required attribute is missing.
    #[error("attribute {attribute} is missing from <{element}>")]
    MissingAttribute {
        /// The missing attribute.
        attribute: &'static str,
        /// The element.
        element: String,
    },
    /// An element that may appear once appears more than once.
    #[error("<{element}> appears more than once in <{parent}>")]
    DuplicateElement {
        /// The repeated element.
        element: String,
        /// Its parent.
        parent: String,
    },
    /// Two `<Key>`s of the container have the same `Id`, which RFC 6030 requires to be
    /// unique.
    #[error("two keys have the Id {id:?}")]
    DuplicateKeyId {
        /// The Id, shortened.
        id: String,
    },
    /// A value that does not parse as its type (integer, date, boolean, ...).
    #[error("<{element}> has the invalid value {value:?}: {reason}")]
    InvalidValue {
        /// The element (or `Element@Attribute`).
        element: String,
        /// The value, shortened.
        value: String,
        /// What was expected.
        reason: &'static str,
    },
    /// Base64 that does not decode (bad characters, length or padding).
    #[error("<{element}> of {owner} is not valid base64")]
    Base64 {
        /// The element holding the base64.
        element: &'static str,
        /// Whose value it is: `Key Id="..."`, `MACKey`, `Salt`.
        owner: String,
    },
    /// A key, or an encoded value, longer than the limit.
    #[error("the {element} of {owner} has {length} bytes, more than the limit of {maximum}")]
    ValueTooLong {
        /// The element.
        element: &'static str,
        /// Whose value it is.
        owner: String,
        /// Its length in bytes (decoded, or encoded where it was refused before
        /// decoding).
        length: usize,
        /// The limit.
        maximum: usize,
    },
    /// An encryption algorithm this crate does not implement (only AES-CBC of
    /// XML Encryption is: `aes128-cbc`, `aes192-cbc`, `aes256-cbc`).
    #[error("unsupported encryption algorithm {algorithm:?}")]
    UnsupportedEncryption {
        /// The algorithm URI.
        algorithm: String,
    },
    /// A MAC algorithm other than HMAC-SHA1, -SHA256 or -SHA512.
    #[error("unsupported MAC algorithm {algorithm:?}")]
    UnsupportedMac {
        /// The algorithm URI.
        algorithm: String,
    },
    /// A key derivation other than PBKDF2, or a PBKDF2 PRF other than HMAC-SHA1,
    /// -SHA256 or -SHA512.
    #[error("unsupported key derivation {algorithm:?}")]
    UnsupportedKeyDerivation {
        /// The algorithm URI.
        algorithm: String,
    },
    /// A PBKDF2 iteration count of zero or above the limit.
    #[error("PBKDF2 iteration count {iterations} is outside 1 to {maximum}")]
    Iterations {
        /// The count in the file (or asked for on export).
        iterations: u64,
        /// The limit.
        maximum: u32,
    },
    /// A key of the wrong length for its cipher.
    #[error("the {purpose} has {found} bytes; {expected} are needed")]
    KeyLength {
        /// What the key is for: `"pre-shared key"`, `"derived key"`.
        purpose: &'static str,
        /// The length the cipher needs.
        expected: String,
        /// The length given.
        found: usize,
    },
    /// The file's values are encrypted and no (or the wrong kind of) credential was
    /// given. `kind` is `"pre-shared key"` or `"password"`.
    #[error("the file is encrypted: a {kind} is needed (key name {key_name:?})")]
    CredentialNeeded {
        /// The kind of credential the file needs.
        kind: &'static str,
        /// The name the file gives the key (`KeyName` or `MasterKeyName`).
        key_name: Option<String>,
    },
    /// Encrypted values without the MAC that RFC 6030 §6.1.1 requires for AES-CBC:
    /// no `<MACMethod>`, or a value without `<ValueMAC>`.
    #[error("encrypted value of {owner} has no MAC ({element} is missing)")]
    MissingMac {
        /// The missing element: `MACMethod` or `ValueMAC`.
        element: &'static str,
        /// Whose value it is.
        owner: String,
    },
    /// A `<ValueMAC>` does not match: the key or password is wrong, or the file was
    /// altered. No secret of the file is used.
    #[error("the MAC of the {element} of {owner} does not match: wrong key or altered file")]
    MacMismatch {
        /// The element whose MAC failed.
        element: &'static str,
        /// Whose value it is.
        owner: String,
    },
    /// The RSA private key of [`PskcCredential::RsaPrivateKey`](crate::pskc::PskcCredential)
    /// cannot be used: not a PKCS#8 PEM RSA key, or shorter than 2048 bits.
    #[error("unusable RSA private key: {reason}")]
    RsaKey {
        /// Why.
        reason: &'static str,
    },
    /// A certificate cannot be read: the file's `<EncryptionKey>` certificate (RFC 6030
    /// §6.3), or the trusted signer's certificate given for a signed container (§7).
    #[error("a certificate cannot be read: {reason}")]
    Certificate {
        /// Why.
        reason: &'static str,
    },
    /// The file's secrets are encrypted to another recipient: no certificate of its
    /// `<EncryptionKey>` holds the public half of the RSA key given.
    #[error("the file is encrypted to another recipient ({subject}), not to this RSA key")]
    WrongRecipient {
        /// The subject of the file's (first) certificate, shortened.
        subject: String,
    },
    /// A value is encrypted with an algorithm that the file's key transport does not
    /// use: an RSA value in a file under a symmetric key, or an AES value in a file
    /// encrypted to an RSA key without a transported symmetric key.
    #[error("a value encrypted with {algorithm:?} cannot be opened with the {credential}")]
    WrongKeyKind {
        /// The value's algorithm URI.
        algorithm: String,
        /// The kind of key the file's `<EncryptionKey>` gives.
        credential: &'static str,
    },
    /// A signed container was expected (RFC 6030 §7) and the document has no
    /// `<ds:Signature>`.
    #[error("the container is not signed")]
    Unsigned,
    /// The signature does not cover the whole container, so what it verifies is not
    /// what is read.
    #[error("the signature does not cover the container: {reason}")]
    SignatureScope {
        /// Why.
        reason: &'static str,
    },
    /// The signature does not verify against the trusted signer's certificate: the
    /// container was altered, signed by another key, or its signature belongs to
    /// another document.
    #[error("the container's signature does not verify against the trusted signer")]
    SignatureInvalid,
    /// libxml2 or libxmlsec1 could not process the document.
    #[error("the signature cannot be checked: {reason}")]
    SignatureBackend {
        /// Why.
        reason: &'static str,
    },
    /// A value whose decryption failed (bad length or padding): the key is wrong or
    /// the file was altered.
    #[error("the {element} of {owner} does not decrypt: wrong key or altered file")]
    Decryption {
        /// The element.
        element: &'static str,
        /// Whose value it is.
        owner: String,
    },
    /// A key that is not an HOTP or TOTP key was asked to become a token.
    #[error("key {key_id:?} has algorithm {algorithm:?}, not HOTP or TOTP")]
    NotAnOtpKey {
        /// The key's `Id`.
        key_id: String,
        /// Its `Algorithm` URI, if any.
        algorithm: Option<String>,
    },
    /// An OTP key whose response format this crate cannot produce: not decimal, or a
    /// length outside 6 to 10, or a hash suite it does not know.
    #[error("key {key_id:?}: unsupported {what} {value:?}")]
    UnsupportedFormat {
        /// The key's `Id`.
        key_id: String,
        /// `"response encoding"`, `"response length"`, `"suite"`.
        what: &'static str,
        /// The value, shortened.
        value: String,
    },
    /// A token whose TOTP T0 is not the Unix epoch, which PSKC cannot carry.
    #[error("token {key_id:?} has T0 = {t0}; PSKC time-based keys count from the Unix epoch")]
    TimeOrigin {
        /// The token's key id.
        key_id: String,
        /// Its T0.
        t0: u64,
    },
    /// A token with invalid parameters was given to export.
    #[error("token {key_id:?}: {source}")]
    Parameters {
        /// The token's key id.
        key_id: String,
        /// What was wrong.
        #[source]
        source: OtpError,
    },
    /// A secret shorter than
    /// [`PskcLimits::min_secret_bits`](crate::pskc::PskcLimits::min_secret_bits).
    #[error("the secret of {owner} has {bits} bits, fewer than the {minimum_bits} accepted")]
    SecretTooShort {
        /// Whose secret it is: `Key Id="..."`.
        owner: String,
        /// The secret's length in bits.
        bits: usize,
        /// The fewest accepted.
        minimum_bits: usize,
    },
    /// The operating system's random number generator failed during export.
    #[error("the operating system's random number generator failed: {reason}")]
    RandomSource {
        /// The error the operating system reported.
        reason: String,
    },
}

/// Why one key of a PSKC container was not enrolled by
/// [`Validator::enrol_pskc`](crate::Validator::enrol_pskc).
#[cfg(feature = "pskc")]
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum PskcEnrolError {
    /// The key cannot become a token: not HOTP or TOTP, no secret, an unsupported
    /// response format (see [`PskcKey::token`](crate::pskc::PskcKey::token)).
    #[error(transparent)]
    Key(#[from] PskcError),
    /// Its serial number (or key id) is not a valid token id.
    #[error("not a valid token id: {0}")]
    TokenId(#[from] TokenIdError),
    /// The validator refused it: an id already enrolled, a store or sealing failure.
    #[error(transparent)]
    Validator(#[from] ValidatorError),
}
