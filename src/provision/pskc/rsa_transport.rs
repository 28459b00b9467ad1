//! RFC 6030 §6.3 key transport (feature `pskc-rsa`): secrets encrypted to the bank's
//! RSA certificate, with PKCS#1 v1.5 (`rsa-1_5`) or OAEP with SHA-1 and MGF1-SHA-1
//! (`rsa-oaep-mgf1p`), and opened with its private key.
//!
//! # Security
//!
//! PKCS#1 v1.5 decryption is open to Bleichenbacher's attack and its timing variant
//! Marvin (2023), against which the `rsa` crate is not constant-time: whoever can
//! submit chosen ciphertexts and time or observe each refusal can, with many
//! thousands of queries, decrypt a value or sign with the key. Reading a vendor's seed
//! file is an offline, operator-run import, not an oracle a remote party can query;
//! never expose it as a service that decrypts files from anyone (the server's import
//! API takes no RSA files). The crate's implicit rejection makes a bad PKCS#1 v1.5
//! padding decrypt to a random-looking value instead of an error: without a
//! `<MACMethod>` nothing authenticates the values, so check a code of each fob (or
//! the vendor's checksum) before use, and prefer `rsa-oaep-mgf1p`.

use core::fmt;

use rsa::pkcs8::DecodePrivateKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};
use zeroize::Zeroizing;

use super::crypto::{base64_error, decode_base64};
use super::xml::Element;
use crate::provision::pskc::error::PskcError;

/// The shortest RSA key accepted, in bits (NIST SP 800-57: 2048 until 2030).
pub const MIN_RSA_KEY_BITS: usize = 2048;

/// The longest certificate read, in bytes.
const MAX_CERTIFICATE_BYTES: usize = 16 << 10;

/// The bank's RSA private key, to which a vendor encrypts a seed file's secrets (RFC
/// 6030 §6.3).
///
/// # Security
///
/// The key is zeroized on drop (by the `rsa` crate) and `Debug` shows only its size.
#[derive(Clone)]
// Boxed: an RSA key is large, and a credential is passed by value.
pub struct PskcRsaKey(Box<rsa::PrivateKey>);

impl PskcRsaKey {
    /// The key from a PKCS#8 PEM document (`-----BEGIN PRIVATE KEY-----`, as
    /// `openssl genpkey` writes it).
    ///
    /// # Errors
    ///
    /// [`PskcError::RsaKey`] for text that is not an unencrypted PKCS#8 RSA key, or a
    /// key shorter than [`MIN_RSA_KEY_BITS`].
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, PskcError> {
        let key = rsa::PrivateKey::from_pkcs8_pem(pem).map_err(|_| PskcError::RsaKey {
            reason: "not an unencrypted PKCS#8 PEM RSA private key",
        })?;
        if key.size() * 8 < MIN_RSA_KEY_BITS {
            return Err(PskcError::RsaKey {
                reason: "shorter than 2048 bits",
            });
        }
        Ok(Self(Box::new(key)))
    }

    /// The modulus's length in bits.
    #[must_use]
    pub fn bits(&self) -> usize {
        self.0.size() * 8
    }

    /// Checks that one of the `<ds:X509Certificate>`s of `x509_data` holds this key's
    /// public half: the file was encrypted to this key.
    pub(super) fn check_recipient(&self, x509_data: &Element) -> Result<(), PskcError> {
        let public = self.0.to_public_key();
        let mut first_subject = None;
        for element in x509_data.children_named("X509Certificate") {
            let der = decode_base64(element.trimmed_text(), MAX_CERTIFICATE_BYTES).map_err(
                |failure| {
                    base64_error(
                        failure,
                        "X509Certificate",
                        "EncryptionKey",
                        MAX_CERTIFICATE_BYTES,
                    )
                },
            )?;
            let certificate = Certificate::from_der(&der).map_err(|_| PskcError::Certificate {
                reason: "not a DER X.509 certificate",
            })?;
            let spki = certificate
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .map_err(|_| PskcError::Certificate {
                    reason: "its public key cannot be encoded",
                })?;
            if rsa::PublicKey::from_public_key_der(&spki).is_ok_and(|key| key == public) {
                return Ok(());
            }
            first_subject.get_or_insert_with(|| {
                certificate
                    .tbs_certificate()
                    .subject()
                    .to_string()
                    .chars()
                    .take(100)
                    .collect::<String>()
            });
        }
        match first_subject {
            Some(subject) => Err(PskcError::WrongRecipient { subject }),
            None => Err(PskcError::Certificate {
                reason: "no X509Certificate in X509Data",
            }),
        }
    }

    /// Decrypts one value; `None` if it does not decrypt (a wrong length, a bad OAEP
    /// padding).
    pub(super) fn decrypt(
        &self,
        padding: RsaPadding,
        ciphertext: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
        if ciphertext.len() != self.0.size() {
            return None;
        }
        let plaintext = match padding {
            RsaPadding::Pkcs1v15 => self.0.decrypt(rsa::Pkcs1v15Encrypt, ciphertext),
            RsaPadding::OaepSha1 => self.0.decrypt(rsa::Oaep::<sha1::Sha1>::new(), ciphertext),
        };
        plaintext.ok().map(Zeroizing::new)
    }
}

impl fmt::Debug for PskcRsaKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "PskcRsaKey({} bits)", self.bits())
    }
}

/// The RSA encryption schemes of XML Encryption that RFC 6030 §6.3 uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RsaPadding {
    /// `rsa-1_5`: RSAES-PKCS1-v1_5.
    Pkcs1v15,
    /// `rsa-oaep-mgf1p`: RSAES-OAEP with SHA-1 and MGF1 with SHA-1, no label.
    OaepSha1,
}
