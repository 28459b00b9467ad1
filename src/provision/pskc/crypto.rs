//! The cryptography of RFC 6030 §6, all of it in this file: AES-CBC values under a
//! pre-shared or PBKDF2-derived key (`derive_key`), HMAC over the encrypted values,
//! the `Decryptor` that holds a file's keys, and base64.
//!
//! Every buffer that holds a key or a plaintext value is zeroizing and sized before it
//! is filled, so no copy is left behind by a reallocation.

use aes::cipher::block_padding::{Iso10126, Pkcs7};
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use zeroize::Zeroizing;

#[cfg(feature = "pskc-rsa")]
use super::rsa_transport::{PskcRsaKey, RsaPadding};
use super::xml::{Element, is_xml_space, parse_decimal, quote, quote_long};
use super::{PskcCredential, PskcLimits};
use crate::provision::pskc::error::PskcError;
use crate::secret::Secret;

/// The AES block size, which is also the length of the IV that starts every value.
const BLOCK: usize = 16;

/// XML Encryption block ciphers RFC 6030 uses for values: AES in CBC mode, the IV
/// first, then the ciphertext (XML Encryption §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cipher {
    Aes128,
    Aes192,
    Aes256,
}

impl Cipher {
    pub(super) fn from_uri(uri: &str) -> Result<Self, PskcError> {
        match uri {
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => Ok(Cipher::Aes128),
            "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => Ok(Cipher::Aes192),
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => Ok(Cipher::Aes256),
            other => Err(PskcError::UnsupportedEncryption {
                algorithm: other.chars().take(100).collect(),
            }),
        }
    }

    /// The cipher for a key of `length` bytes.
    pub(super) fn for_key_length(length: usize, purpose: &'static str) -> Result<Self, PskcError> {
        match length {
            16 => Ok(Cipher::Aes128),
            24 => Ok(Cipher::Aes192),
            32 => Ok(Cipher::Aes256),
            found => Err(PskcError::KeyLength {
                purpose,
                expected: "16, 24 or 32".to_owned(),
                found,
            }),
        }
    }

    pub(super) fn uri(self) -> &'static str {
        match self {
            Cipher::Aes128 => "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            Cipher::Aes192 => "http://www.w3.org/2001/04/xmlenc#aes192-cbc",
            Cipher::Aes256 => "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
        }
    }

    pub(super) fn key_length(self) -> usize {
        match self {
            Cipher::Aes128 => 16,
            Cipher::Aes192 => 24,
            Cipher::Aes256 => 32,
        }
    }

    /// Decrypts IV ‖ ciphertext. XML Encryption pads with arbitrary bytes and a final
    /// count byte (ISO 10126), so only the count is checked. `None` for a value that is
    /// not at least two whole blocks, or whose count byte is not 1 to 16.
    pub(super) fn decrypt(self, key: &[u8], value: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if value.len() < 2 * BLOCK
            || !value.len().is_multiple_of(BLOCK)
            || key.len() != self.key_length()
        {
            return None;
        }
        let (iv, ciphertext) = value.split_at(BLOCK);
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let length = match self {
            Cipher::Aes128 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
                .ok()?
                .decrypt_padded::<Iso10126>(&mut buffer)
                .ok()?
                .len(),
            Cipher::Aes192 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
                .ok()?
                .decrypt_padded::<Iso10126>(&mut buffer)
                .ok()?
                .len(),
            Cipher::Aes256 => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
                .ok()?
                .decrypt_padded::<Iso10126>(&mut buffer)
                .ok()?
                .len(),
        };
        // Truncating keeps the buffer; the padding bytes past `length` stay in it
        // until the whole buffer is zeroized on drop.
        buffer.truncate(length);
        Some(buffer)
    }

    /// Encrypts `plaintext` under `key` with a fresh random IV, padded as PKCS #7
    /// (which is one of the paddings XML Encryption accepts): IV ‖ ciphertext.
    pub(super) fn encrypt(self, key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, PskcError> {
        let iv = random_bytes(BLOCK)?;
        let padded = (plaintext.len() / BLOCK + 1) * BLOCK;
        let mut output = vec![0u8; BLOCK + padded];
        output[..BLOCK].copy_from_slice(&iv);
        output[BLOCK..BLOCK + plaintext.len()].copy_from_slice(plaintext);
        let key_error = || PskcError::KeyLength {
            purpose: "encryption key",
            expected: self.key_length().to_string(),
            found: key.len(),
        };
        let buffer = &mut output[BLOCK..];
        let written = match self {
            Cipher::Aes128 => cbc::Encryptor::<aes::Aes128>::new_from_slices(key, &iv)
                .map_err(|_| key_error())?
                .encrypt_padded::<Pkcs7>(buffer, plaintext.len())
                .map(<[u8]>::len),
            Cipher::Aes192 => cbc::Encryptor::<aes::Aes192>::new_from_slices(key, &iv)
                .map_err(|_| key_error())?
                .encrypt_padded::<Pkcs7>(buffer, plaintext.len())
                .map(<[u8]>::len),
            Cipher::Aes256 => cbc::Encryptor::<aes::Aes256>::new_from_slices(key, &iv)
                .map_err(|_| key_error())?
                .encrypt_padded::<Pkcs7>(buffer, plaintext.len())
                .map(<[u8]>::len),
        };
        // The buffer was sized for the padding above, so padding cannot fail; the
        // round-trip tests check every length class.
        let _ = written;
        Ok(output)
    }
}

/// How one `<EncryptedValue>` is encrypted: AES-CBC under the file's symmetric key
/// (§6.1, §6.2), or RSA to the bank's certificate (§6.3, feature `pskc-rsa`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ValueCipher {
    Aes(Cipher),
    #[cfg(feature = "pskc-rsa")]
    Rsa(RsaPadding),
}

/// XML Encryption's RSA URIs; RFC 6030's Figure 8 writes `rsa_1_5`, the
/// specification `rsa-1_5`, and both are met.
#[cfg(feature = "pskc-rsa")]
const RSA_URIS: [(&str, RsaPadding); 3] = [
    (
        "http://www.w3.org/2001/04/xmlenc#rsa-1_5",
        RsaPadding::Pkcs1v15,
    ),
    (
        "http://www.w3.org/2001/04/xmlenc#rsa_1_5",
        RsaPadding::Pkcs1v15,
    ),
    (
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
        RsaPadding::OaepSha1,
    ),
];

impl ValueCipher {
    fn from_uri(uri: &str) -> Result<Self, PskcError> {
        #[cfg(feature = "pskc-rsa")]
        if let Some((_, padding)) = RSA_URIS.iter().find(|(name, _)| *name == uri) {
            return Ok(ValueCipher::Rsa(*padding));
        }
        Cipher::from_uri(uri).map(ValueCipher::Aes)
    }

    fn uri(self) -> &'static str {
        match self {
            ValueCipher::Aes(cipher) => cipher.uri(),
            #[cfg(feature = "pskc-rsa")]
            ValueCipher::Rsa(RsaPadding::Pkcs1v15) => RSA_URIS[0].0,
            #[cfg(feature = "pskc-rsa")]
            ValueCipher::Rsa(RsaPadding::OaepSha1) => RSA_URIS[2].0,
        }
    }
}

/// The MAC algorithms of `<MACMethod>` and PBKDF2's PRF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HmacAlgorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl HmacAlgorithm {
    pub(super) const SHA1_URI: &'static str = "http://www.w3.org/2000/09/xmldsig#hmac-sha1";

    /// The algorithm of a URI, or `None` for one this crate does not implement.
    pub(super) fn from_uri(uri: &str) -> Option<Self> {
        match uri {
            Self::SHA1_URI => Some(HmacAlgorithm::Sha1),
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256" => Some(HmacAlgorithm::Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512" => Some(HmacAlgorithm::Sha512),
            _ => None,
        }
    }

    pub(super) fn mac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn compute<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            // HMAC takes keys of any length, so `new_from_slice` cannot fail here.
            match <M as KeyInit>::new_from_slice(key) {
                Ok(mut mac) => {
                    mac.update(data);
                    mac.finalize().into_bytes().to_vec()
                }
                Err(_) => Vec::new(),
            }
        }
        match self {
            HmacAlgorithm::Sha1 => compute::<Hmac<sha1::Sha1>>(key, data),
            HmacAlgorithm::Sha256 => compute::<Hmac<sha2::Sha256>>(key, data),
            HmacAlgorithm::Sha512 => compute::<Hmac<sha2::Sha512>>(key, data),
        }
    }

    /// Whether `expected` is the MAC of `data`, compared in constant time.
    pub(super) fn verify(self, key: &[u8], data: &[u8], expected: &[u8]) -> bool {
        fn check<M: Mac + KeyInit>(key: &[u8], data: &[u8], expected: &[u8]) -> bool {
            match <M as KeyInit>::new_from_slice(key) {
                Ok(mut mac) => {
                    mac.update(data);
                    mac.verify_slice(expected).is_ok()
                }
                Err(_) => false,
            }
        }
        match self {
            HmacAlgorithm::Sha1 => check::<Hmac<sha1::Sha1>>(key, data, expected),
            HmacAlgorithm::Sha256 => check::<Hmac<sha2::Sha256>>(key, data, expected),
            HmacAlgorithm::Sha512 => check::<Hmac<sha2::Sha512>>(key, data, expected),
        }
    }

    /// PBKDF2 (RFC 8018 §5.2) with this HMAC as its PRF: `length` bytes.
    pub(super) fn pbkdf2(
        self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        length: usize,
    ) -> Zeroizing<Vec<u8>> {
        let mut key = Zeroizing::new(vec![0u8; length]);
        // HMAC takes any key length, so these cannot fail.
        let _ = match self {
            HmacAlgorithm::Sha1 => {
                pbkdf2::pbkdf2::<Hmac<sha1::Sha1>>(password, salt, iterations, &mut key)
            }
            HmacAlgorithm::Sha256 => {
                pbkdf2::pbkdf2::<Hmac<sha2::Sha256>>(password, salt, iterations, &mut key)
            }
            HmacAlgorithm::Sha512 => {
                pbkdf2::pbkdf2::<Hmac<sha2::Sha512>>(password, salt, iterations, &mut key)
            }
        };
        key
    }
}

/// Decodes `xs:base64Binary`: standard alphabet, canonical padding, XML white space
/// anywhere ignored. `None` for anything else. The text is first checked against
/// `max_decoded` so that no large buffer is made for a hostile value.
pub(super) fn decode_base64(
    text: &str,
    max_decoded: usize,
) -> Result<Zeroizing<Vec<u8>>, Base64Failure> {
    let mut compact = Zeroizing::new(String::with_capacity(text.len()));
    compact.extend(text.chars().filter(|character| !is_xml_space(*character)));
    // Four characters make three bytes; allow one group of slack for padding.
    if compact.len() / 4 * 3 > max_decoded + 2 {
        return Err(Base64Failure::TooLong {
            length: compact.len(),
        });
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(compact.len() / 4 * 3 + 3));
    STANDARD
        .decode_vec(compact.as_bytes(), &mut bytes)
        .map_err(|_| Base64Failure::Invalid)?;
    if bytes.len() > max_decoded {
        return Err(Base64Failure::TooLong {
            length: bytes.len(),
        });
    }
    Ok(bytes)
}

/// Why [`decode_base64`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Base64Failure {
    Invalid,
    TooLong { length: usize },
}

/// Standard base64 with padding, into a zeroizing string of the final size.
pub(super) fn encode_base64(bytes: &[u8]) -> Zeroizing<String> {
    let length = bytes.len().div_ceil(3) * 4;
    let mut text = Zeroizing::new(String::with_capacity(length));
    STANDARD.encode_string(bytes, &mut text);
    text
}

/// `length` bytes from the operating system's CSPRNG.
pub(super) fn random_bytes(length: usize) -> Result<Zeroizing<Vec<u8>>, PskcError> {
    let mut bytes = Zeroizing::new(vec![0u8; length]);
    getrandom::fill(&mut bytes).map_err(|error| PskcError::RandomSource {
        reason: error.to_string(),
    })?;
    Ok(bytes)
}

/// The PBKDF2 URIs: PKCS #5's (RFC 6030 §6.2) and XML Encryption 1.1's.
const PBKDF2_URIS: [&str; 2] = [
    "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2",
    "http://www.w3.org/2009/xmlenc11#pbkdf2",
];

/// The longest MAC value or MAC key accepted, in bytes (HMAC-SHA-512 gives 64).
pub(super) const MAX_MAC_BYTES: usize = 128;

/// The longest RSA-encrypted value read, in bytes: a 16384-bit modulus.
const MAX_RSA_VALUE_BYTES: usize = 2048;

/// The longest salt accepted, in bytes.
const MAX_SALT_BYTES: usize = 1024;

/// The key that opens the file's values.
enum ValueKey {
    /// An AES key: pre-shared, or derived from a password.
    Symmetric {
        key: Zeroizing<Vec<u8>>,
        purpose: &'static str,
    },
    /// The bank's RSA private key (§6.3).
    #[cfg(feature = "pskc-rsa")]
    Rsa(PskcRsaKey),
}

/// The key that decrypts the file's values, and the MAC key and algorithm that
/// authenticate them (always for a symmetric key; for RSA key transport when the file
/// has a `<MACMethod>`).
pub(super) struct Decryptor {
    key: ValueKey,
    mac: Option<(HmacAlgorithm, Zeroizing<Vec<u8>>)>,
}

impl Decryptor {
    pub(super) fn new(
        root: &Element,
        encryption: Option<&Element>,
        credential: &PskcCredential,
        key_name: Option<String>,
        limits: &PskcLimits,
    ) -> Result<Self, PskcError> {
        let derived = match encryption {
            Some(encryption) => {
                if let Some(x509_data) = encryption.child("X509Data") {
                    return Self::for_rsa(root, x509_data, credential);
                }
                encryption.single_child("DerivedKey")?
            }
            None => None,
        };
        let (key, purpose) = match (derived, credential) {
            (None, PskcCredential::PreSharedKey(key)) => (
                Zeroizing::new(key.expose_bytes().to_vec()),
                "pre-shared key",
            ),
            (None, _) => {
                return Err(PskcError::CredentialNeeded {
                    kind: "pre-shared key",
                    key_name,
                });
            }
            (Some(derived), PskcCredential::Password(password)) => {
                (derive_key(derived, password, limits)?, "derived key")
            }
            (Some(_), _) => {
                return Err(PskcError::CredentialNeeded {
                    kind: "password",
                    key_name,
                });
            }
        };

        let mac_method = root
            .single_child("MACMethod")?
            .ok_or_else(|| PskcError::MissingMac {
                element: "MACMethod",
                owner: "KeyContainer".to_owned(),
            })?;
        let decryptor = Self {
            key: ValueKey::Symmetric { key, purpose },
            mac: None,
        };
        decryptor.with_mac(mac_method)
    }

    /// RFC 6030 §6.3: values encrypted to the certificate in `x509_data`.
    #[cfg(feature = "pskc-rsa")]
    fn for_rsa(
        root: &Element,
        x509_data: &Element,
        credential: &PskcCredential,
    ) -> Result<Self, PskcError> {
        let PskcCredential::RsaPrivateKey(key) = credential else {
            return Err(PskcError::CredentialNeeded {
                kind: "RSA private key",
                key_name: None,
            });
        };
        key.check_recipient(x509_data)?;
        let decryptor = Self {
            key: ValueKey::Rsa(key.clone()),
            mac: None,
        };
        match root.single_child("MACMethod")? {
            Some(mac_method) => decryptor.with_mac(mac_method),
            None => Ok(decryptor),
        }
    }

    #[cfg(not(feature = "pskc-rsa"))]
    fn for_rsa(_: &Element, _: &Element, _: &PskcCredential) -> Result<Self, PskcError> {
        Err(PskcError::UnsupportedEncryption {
            algorithm: "asymmetric key transport (ds:X509Data; feature pskc-rsa)".to_owned(),
        })
    }

    /// The decryptor with the MAC key of `<MACMethod>`, itself opened with the
    /// decryptor's key.
    fn with_mac(self, mac_method: &Element) -> Result<Self, PskcError> {
        let algorithm =
            mac_method
                .attribute("Algorithm")
                .ok_or_else(|| PskcError::MissingAttribute {
                    attribute: "Algorithm",
                    element: "MACMethod".to_owned(),
                })?;
        let mac_algorithm =
            HmacAlgorithm::from_uri(algorithm).ok_or_else(|| PskcError::UnsupportedMac {
                algorithm: quote_long(algorithm),
            })?;
        let mac_key_element = mac_method.required_child("MACKey")?;
        let cipher = encryption_method(mac_key_element)?;
        // An RSA-encrypted MAC key is a modulus long; an AES one a few blocks.
        let encrypted_mac_key = cipher_value(mac_key_element, "MACKey", MAX_RSA_VALUE_BYTES)?;
        let mac_key = self.decrypt(cipher, &encrypted_mac_key, "MACKey", "MACMethod")?;
        Ok(Self {
            mac: Some((mac_algorithm, mac_key)),
            ..self
        })
    }

    pub(super) fn verify(
        &self,
        value: &[u8],
        mac: Option<&[u8]>,
        element: &'static str,
        owner: &str,
    ) -> Result<(), PskcError> {
        let Some((mac_algorithm, mac_key)) = &self.mac else {
            // RSA key transport without a <MACMethod>: nothing to check a MAC with,
            // and a value that carries one anyway is refused.
            return match mac {
                None => Ok(()),
                Some(_) => Err(PskcError::MissingMac {
                    element: "MACMethod",
                    owner: "KeyContainer".to_owned(),
                }),
            };
        };
        let mac = mac.ok_or_else(|| PskcError::MissingMac {
            element: "ValueMAC",
            owner: owner.to_owned(),
        })?;
        // RFC 6030 §6.1.1: the MAC is over the CipherValue, the IV included.
        if mac_algorithm.verify(mac_key, value, mac) {
            Ok(())
        } else {
            Err(PskcError::MacMismatch {
                element,
                owner: owner.to_owned(),
            })
        }
    }

    pub(super) fn decrypt(
        &self,
        cipher: ValueCipher,
        value: &[u8],
        element: &'static str,
        owner: &str,
    ) -> Result<Zeroizing<Vec<u8>>, PskcError> {
        let failed = || PskcError::Decryption {
            element,
            owner: owner.to_owned(),
        };
        match (&self.key, cipher) {
            (ValueKey::Symmetric { key, purpose }, ValueCipher::Aes(cipher)) => {
                if key.len() != cipher.key_length() {
                    return Err(PskcError::KeyLength {
                        purpose,
                        expected: cipher.key_length().to_string(),
                        found: key.len(),
                    });
                }
                cipher.decrypt(key, value).ok_or_else(failed)
            }
            #[cfg(feature = "pskc-rsa")]
            (ValueKey::Rsa(key), ValueCipher::Rsa(padding)) => {
                key.decrypt(padding, value).ok_or_else(failed)
            }
            // Only reachable with RSA key transport, where keys and values of two
            // kinds can meet.
            #[allow(unreachable_patterns)]
            (key, cipher) => Err(PskcError::WrongKeyKind {
                algorithm: cipher.uri().to_owned(),
                credential: match key {
                    ValueKey::Symmetric { purpose, .. } => purpose,
                    #[cfg(feature = "pskc-rsa")]
                    ValueKey::Rsa(_) => "RSA private key",
                },
            }),
        }
    }
}

/// RFC 6030 §6.2: the key from `<xenc11:DerivedKey>` and a password.
fn derive_key(
    derived: &Element,
    password: &Secret,
    limits: &PskcLimits,
) -> Result<Zeroizing<Vec<u8>>, PskcError> {
    let method = derived.required_child("KeyDerivationMethod")?;
    let algorithm = method
        .attribute("Algorithm")
        .ok_or_else(|| PskcError::MissingAttribute {
            attribute: "Algorithm",
            element: "KeyDerivationMethod".to_owned(),
        })?;
    if !PBKDF2_URIS.contains(&algorithm) {
        return Err(PskcError::UnsupportedKeyDerivation {
            algorithm: quote_long(algorithm),
        });
    }
    let parameters = method.required_child("PBKDF2-params")?;
    let salt_text = parameters
        .required_child("Salt")?
        .required_child("Specified")?;
    let salt = decode_base64(salt_text.trimmed_text(), MAX_SALT_BYTES)
        .map_err(|failure| base64_error(failure, "Salt", "PBKDF2-params", MAX_SALT_BYTES))?;
    let iterations_text = parameters.required_child("IterationCount")?.trimmed_text();
    let iterations = parse_decimal(iterations_text).ok_or_else(|| PskcError::InvalidValue {
        element: "IterationCount".to_owned(),
        value: quote(iterations_text),
        reason: "a positive whole number",
    })?;
    let iterations = u64::try_from(iterations)
        .ok()
        .and_then(|iterations| u32::try_from(iterations).ok())
        .filter(|iterations| (1..=limits.max_pbkdf2_iterations).contains(iterations))
        .ok_or(PskcError::Iterations {
            iterations: u64::try_from(iterations.max(0)).unwrap_or(u64::MAX),
            maximum: limits.max_pbkdf2_iterations,
        })?;
    let length = match parameters.single_child("KeyLength")? {
        Some(length) => {
            let text = length.trimmed_text();
            parse_decimal(text)
                .and_then(|length| usize::try_from(length).ok())
                .filter(|length| [16, 24, 32].contains(length))
                .ok_or_else(|| PskcError::InvalidValue {
                    element: "KeyLength".to_owned(),
                    value: quote(text),
                    reason: "an AES key length: 16, 24 or 32",
                })?
        }
        None => 16,
    };
    // The PRF is named by an Algorithm attribute or by the element's text; empty means
    // PBKDF2's default, HMAC-SHA1.
    let prf = match parameters.single_child("PRF")? {
        Some(prf) => {
            let name = prf.attribute("Algorithm").unwrap_or(prf.trimmed_text());
            if name.is_empty() {
                HmacAlgorithm::Sha1
            } else {
                HmacAlgorithm::from_uri(name).ok_or_else(|| {
                    PskcError::UnsupportedKeyDerivation {
                        algorithm: quote_long(name),
                    }
                })?
            }
        }
        None => HmacAlgorithm::Sha1,
    };
    Ok(prf.pbkdf2(password.expose_bytes(), &salt, iterations, length))
}

/// The cipher named by `<xenc:EncryptionMethod Algorithm="...">`.
pub(super) fn encryption_method(encrypted: &Element) -> Result<ValueCipher, PskcError> {
    let method = encrypted.required_child("EncryptionMethod")?;
    let algorithm = method
        .attribute("Algorithm")
        .ok_or_else(|| PskcError::MissingAttribute {
            attribute: "Algorithm",
            element: "EncryptionMethod".to_owned(),
        })?;
    ValueCipher::from_uri(algorithm)
}

/// The bytes of `<xenc:CipherData><xenc:CipherValue>`. Not secret: IV and ciphertext.
pub(super) fn cipher_value(
    encrypted: &Element,
    owner: &str,
    max_bytes: usize,
) -> Result<Vec<u8>, PskcError> {
    let text = encrypted
        .required_child("CipherData")?
        .required_child("CipherValue")?
        .trimmed_text();
    decode_base64(text, max_bytes)
        .map(|bytes| bytes.to_vec())
        .map_err(|failure| base64_error(failure, "CipherValue", owner, max_bytes))
}

/// The error for a base64 value that failed to decode.
pub(super) fn base64_error(
    failure: Base64Failure,
    element: &'static str,
    owner: &str,
    maximum: usize,
) -> PskcError {
    match failure {
        Base64Failure::Invalid => PskcError::Base64 {
            element,
            owner: owner.to_owned(),
        },
        Base64Failure::TooLong { length } => PskcError::ValueTooLong {
            element,
            owner: owner.to_owned(),
            length,
            maximum,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6030 §6.1 (Figure 6): the pre-shared key and the encrypted MAC key.
    const PRE_SHARED_KEY: [u8; 16] = [
        0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90,
        0x12,
    ];

    #[test]
    fn figure_6_mac_key_decrypts() {
        let value = decode_base64(
            "ESIzRFVmd4iZABEiM0RVZgKn6WjLaTC1sbeBMSvIhRejN9vJa2BOlSaMrR7I5wSX",
            1024,
        )
        .unwrap();
        let mac_key = Cipher::Aes128.decrypt(&PRE_SHARED_KEY, &value).unwrap();
        assert_eq!(
            mac_key.as_slice(),
            [
                0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0x00, 0x11, 0x22, 0x33, 0x44,
                0x55, 0x66, 0x77, 0x88, 0x99, 0x00
            ]
        );
    }

    #[test]
    fn figure_7_key_derives() {
        let salt = decode_base64("Ej7/PEpyEpw=", 64).unwrap();
        let key = HmacAlgorithm::Sha1.pbkdf2(b"qwerty", &salt, 1000, 16);
        assert_eq!(
            key.as_slice(),
            [
                0x65, 0x1e, 0x63, 0xcd, 0x57, 0x00, 0x84, 0x76, 0xaf, 0x1f, 0xf6, 0x42, 0x2c, 0xd0,
                0x2e, 0x41
            ]
        );
    }

    #[test]
    fn encryption_round_trips_for_every_key_length() {
        for length in [16, 24, 32] {
            let key = vec![7u8; length];
            let cipher = Cipher::for_key_length(length, "test").unwrap();
            for plaintext in [&b""[..], b"1234567890123456", b"12345678901234567890"] {
                let value = cipher.encrypt(&key, plaintext).unwrap();
                assert_eq!(value.len() % 16, 0);
                let decrypted = cipher.decrypt(&key, &value).unwrap();
                assert_eq!(decrypted.as_slice(), plaintext);
            }
        }
        assert!(matches!(
            Cipher::for_key_length(20, "pre-shared key"),
            Err(PskcError::KeyLength { found: 20, .. })
        ));
    }

    #[test]
    fn bad_lengths_and_padding_do_not_decrypt() {
        let key = [1u8; 16];
        assert!(
            Cipher::Aes128.decrypt(&key, &[0u8; 16]).is_none(),
            "IV only"
        );
        assert!(
            Cipher::Aes128.decrypt(&key, &[0u8; 40]).is_none(),
            "partial block"
        );
        assert!(
            Cipher::Aes128.decrypt(&[1u8; 15], &[0u8; 32]).is_none(),
            "short key"
        );
        // Encrypt a block whose last byte is 0 (no valid count) with no padding.
        let iv = [0u8; 16];
        let mut block = [0u8; 16];
        let mut encryptor = cbc::Encryptor::<aes::Aes128>::new_from_slices(&key, &iv).unwrap();
        encryptor.encrypt_blocks(core::slice::from_mut((&mut block).into()));
        let mut value = iv.to_vec();
        value.extend_from_slice(&block);
        assert!(
            Cipher::Aes128.decrypt(&key, &value).is_none(),
            "count byte 0"
        );
    }

    #[test]
    fn hmac_verifies_in_its_own_algorithm_only() {
        for algorithm in [
            HmacAlgorithm::Sha1,
            HmacAlgorithm::Sha256,
            HmacAlgorithm::Sha512,
        ] {
            let tag = algorithm.mac(b"key", b"data");
            assert!(algorithm.verify(b"key", b"data", &tag));
            assert!(!algorithm.verify(b"key", b"datb", &tag));
            assert!(!algorithm.verify(b"kez", b"data", &tag));
            assert!(!algorithm.verify(b"key", b"data", &tag[1..]));
        }
    }

    #[test]
    fn base64_is_strict_but_allows_white_space() {
        assert_eq!(
            decode_base64(" MTIz\n NA== ", 16).unwrap().as_slice(),
            b"1234"
        );
        assert_eq!(decode_base64("MTIzNA=", 16), Err(Base64Failure::Invalid));
        assert_eq!(decode_base64("MTIzNA", 16), Err(Base64Failure::Invalid));
        assert_eq!(decode_base64("MT!zNA==", 16), Err(Base64Failure::Invalid));
        assert_eq!(
            decode_base64(&"A".repeat(4000), 16),
            Err(Base64Failure::TooLong { length: 4000 })
        );
        // Refused before decoding: the length is the encoded one.
        assert_eq!(
            decode_base64("MTIzNDU2Nzg5MA==", 8),
            Err(Base64Failure::TooLong { length: 16 })
        );
        // Refused after decoding: the decoded length.
        assert_eq!(
            decode_base64("MTIzNDU2Nzg5MDEy", 11),
            Err(Base64Failure::TooLong { length: 12 })
        );
        assert_eq!(encode_base64(b"1234").as_str(), "MTIzNA==");
    }
}
