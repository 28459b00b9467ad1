//! Seeds at rest: AES-256-GCM under a key the application supplies, bound to the token.

use core::fmt;
use std::sync::Arc;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use zeroize::Zeroizing;

use subtle::ConstantTimeEq;

use crate::algorithm::Algorithm;
use crate::mac::KeyedMac;
use crate::secret::Secret;
use crate::validator::error::SealError;
use crate::validator::generator::TokenKeyBackend;
use crate::validator::keyring_backend::{BackendError, KeyringBackend};
use crate::validator::record::{Incarnation, TokenRecord};
use crate::validator::record_mac::{RECORD_MAC_KEY_LABEL, encode_bounded, pad_mac_work};
use crate::validator::sealed::{NONCE_LEN, RECORD_MAC_LEN, RecordMac, SealedSecret, TAG_LEN};
use crate::validator::token_id::{MAX_TOKEN_ID_LEN, TokenId};

/// Bytes of an AES-256 key.
pub const SEALING_KEY_LEN: usize = 32;

/// Associated data prefix: names the format, so a future format cannot be confused
/// with this one, and separates it from the token id.
const ASSOCIATED_DATA_PREFIX: &[u8] = b"otpfob sealed secret v1\0";

/// Associated data prefix of an OCRA PIN hash: another purpose, so a sealed PIN hash
/// copied into a record's secret (or the other way round) does not open.
const PIN_HASH_ASSOCIATED_DATA_PREFIX: &[u8] = b"otpfob sealed OCRA PIN hash v1\0";

/// Associated data prefix of a fob's unlock key: a third purpose, so that neither a
/// sealed secret nor a sealed PIN hash opens as an unlock key (or the other way round).
/// The record's incarnation follows it (see [`Keyring::seal_unlock_key`]).
const UNLOCK_KEY_ASSOCIATED_DATA_PREFIX: &[u8] = b"otpfob sealed unlock key v1\0";

/// Room for the longest prefix.
const MAX_PREFIX_LEN: usize = 32;
const _: () = assert!(
    ASSOCIATED_DATA_PREFIX.len() <= MAX_PREFIX_LEN
        && PIN_HASH_ASSOCIATED_DATA_PREFIX.len() <= MAX_PREFIX_LEN
        && UNLOCK_KEY_ASSOCIATED_DATA_PREFIX.len() <= MAX_PREFIX_LEN
);

/// An AES-256-GCM key that seals token secrets, with the id a sealed secret names it by:
/// the software [`KeyringBackend`], whose key is in the process's memory.
///
/// # Security
///
/// A memory dump of the process reveals it (and so every seed it sealed); where that
/// matters, keep the key in a hardware security module instead (feature `pkcs11`).
/// Keep it outside the token store (an HSM-held or KMS-wrapped key loaded at start-up,
/// or an environment secret): the store must never hold what opens its own seeds. The
/// key schedule is zeroized on drop, and `Debug` prints only the id.
#[derive(Clone)]
pub struct SealingKey {
    id: u32,
    cipher: Aes256Gcm,
    /// HMAC-SHA-256 keyed with HMAC(key, "otpfob record MAC v1"): authenticates stored
    /// records ([`Keyring::authenticate_record`]); derived, so one key the application
    /// supplies serves both purposes, and neither key yields the other.
    record_mac: KeyedMac,
}

impl SealingKey {
    /// A key from 32 bytes.
    ///
    /// # Errors
    ///
    /// [`SealError::KeyLength`] for any other length.
    pub fn new(id: u32, key: &[u8]) -> Result<Self, SealError> {
        let cipher = Aes256Gcm::new_from_slice(key)
            .map_err(|_| SealError::KeyLength { length: key.len() })?;
        let derived = Zeroizing::new(
            KeyedMac::new(Algorithm::Sha256, key)
                .mac(&[RECORD_MAC_KEY_LABEL])
                .as_ref()
                .to_vec(),
        );
        Ok(Self {
            id,
            cipher,
            record_mac: KeyedMac::new(Algorithm::Sha256, &derived),
        })
    }

    /// A new random key from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`SealError::RandomSource`].
    pub fn generate(id: u32) -> Result<Self, SealError> {
        let mut key = Zeroizing::new([0u8; SEALING_KEY_LEN]);
        getrandom::fill(key.as_mut_slice()).map_err(|error| SealError::RandomSource {
            reason: error.to_string(),
        })?;
        Self::new(id, key.as_slice())
    }

    /// The id sealed secrets name this key by.
    #[must_use]
    pub fn id(&self) -> u32 {
        self.id
    }
}

impl KeyringBackend for SealingKey {
    fn key_id(&self) -> u32 {
        self.id
    }

    fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        associated_data: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        let mut ciphertext = Vec::with_capacity(plaintext.len() + TAG_LEN);
        ciphertext.extend_from_slice(plaintext);
        let tag = self
            .cipher
            .encrypt_inout_detached(
                &Nonce::from(*nonce),
                associated_data,
                ciphertext.as_mut_slice().into(),
            )
            .map_err(|_| BackendError::Unauthentic)?;
        ciphertext.extend_from_slice(&tag);
        Ok(ciphertext)
    }

    fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        associated_data: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        let body_len = sealed
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(BackendError::Unauthentic)?;
        let (body, tag) = sealed.split_at(body_len);
        let tag = Tag::try_from(tag).map_err(|_| BackendError::Unauthentic)?;
        let mut plaintext = Zeroizing::new(body.to_vec());
        self.cipher
            .decrypt_inout_detached(
                &Nonce::from(*nonce),
                associated_data,
                plaintext.as_mut_slice().into(),
                &tag,
            )
            .map_err(|_| BackendError::Unauthentic)?;
        Ok(plaintext)
    }

    fn record_mac(&self, message: &[u8]) -> Result<[u8; RECORD_MAC_LEN], BackendError> {
        let mut tag = [0u8; RECORD_MAC_LEN];
        tag.copy_from_slice(self.record_mac.mac(&[message]).as_ref());
        Ok(tag)
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "SealingKey({}, [REDACTED])", self.id)
    }
}

/// The sealing key in use and the older keys that may still open stored secrets, so
/// keys can be rotated while the validator runs (see `Validator::reseal_all`), each
/// in its own [`KeyringBackend`]: in memory ([`SealingKey`]) or in a hardware security
/// module (feature `pkcs11`), mixed freely, so a rotation can move from one to the
/// other.
///
/// ```
/// use otpfob::{Keyring, Secret, SealingKey, TokenId};
///
/// let old = Keyring::new(SealingKey::generate(1)?);
/// let token = TokenId::new("FOB-1")?;
/// let sealed = old.seal(&token, &Secret::from_bytes(b"12345678901234567890")?)?;
///
/// let rotated = Keyring::new(SealingKey::generate(2)?).with_previous(old.current().clone())?;
/// let resealed = rotated.reseal(&token, &sealed)?;
/// assert_eq!(resealed.key_id, 2);
/// assert_eq!(rotated.open(&token, &resealed)?.expose_bytes(), b"12345678901234567890");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Keyring {
    current: Arc<dyn KeyringBackend>,
    previous: Vec<Arc<dyn KeyringBackend>>,
    token_keys: Option<Arc<dyn TokenKeyBackend>>,
}

impl Keyring {
    /// A keyring that seals and opens with `current` only.
    #[must_use]
    pub fn new(current: impl KeyringBackend + 'static) -> Self {
        Self {
            current: Arc::new(current),
            previous: Vec::new(),
            token_keys: None,
        }
    }

    /// Strict mode: every token enrolled from now on has its HMAC key imported into
    /// `token_keys` (a hardware security module), which computes its codes; the
    /// validator never opens its seed to verify and keeps no generator cache.
    ///
    /// # Security
    ///
    /// After enrolment (where the seed comes from the provisioning and is in memory
    /// once), neither the seed nor a keyed HMAC state of a strict token is in the
    /// validator's memory. Strict mode never falls back to opening a seed: tokens
    /// enrolled before it are rejected until
    /// [`Validator::import_token_keys`](crate::Validator::import_token_keys) moves
    /// their keys in. OCRA responses are still checked in memory.
    #[must_use]
    pub fn with_token_keys(mut self, token_keys: impl TokenKeyBackend + 'static) -> Self {
        self.token_keys = Some(Arc::new(token_keys));
        self
    }

    /// The strict mode's token key backend, if strict mode is on.
    #[must_use]
    pub fn token_keys(&self) -> Option<&Arc<dyn TokenKeyBackend>> {
        self.token_keys.as_ref()
    }

    /// Adds an older key that may open stored secrets but never seals.
    ///
    /// # Errors
    ///
    /// [`SealError::DuplicateKeyId`] if a key with its id is already in the ring.
    pub fn with_previous(mut self, key: impl KeyringBackend + 'static) -> Result<Self, SealError> {
        let key_id = key.key_id();
        if self.key(key_id).is_some() {
            return Err(SealError::DuplicateKeyId { key_id });
        }
        self.previous.push(Arc::new(key));
        Ok(self)
    }

    /// The key new secrets are sealed with.
    #[must_use]
    pub fn current(&self) -> &Arc<dyn KeyringBackend> {
        &self.current
    }

    /// The MAC of `record` (every field but its `mac`) under the current key's record
    /// MAC key. The validator stores it with every record it enrols or changes.
    ///
    /// # Errors
    ///
    /// [`SealError::Backend`] if the current key cannot be used (an HSM unreachable).
    pub fn authenticate_record(&self, record: &TokenRecord) -> Result<RecordMac, SealError> {
        Self::record_mac_under(self.current.as_ref(), record)
    }

    fn record_mac_under(
        key: &dyn KeyringBackend,
        record: &TokenRecord,
    ) -> Result<RecordMac, SealError> {
        let key_id = key.key_id();
        let encoded = encode_bounded(record);
        let tag = key
            .record_mac(&encoded.bytes)
            .map_err(|error| SealError::Backend { key_id, error })?;
        // As much hash work whatever the record's state (issue 11, item 2).
        pad_mac_work(encoded.padding_blocks());
        Ok(RecordMac { key_id, tag })
    }

    /// Checks the MAC of a record read from a store, under the key its MAC names.
    ///
    /// # Errors
    ///
    /// [`SealError::RecordTampered`] for a record without a MAC, with a MAC under a
    /// key not in the ring, or whose MAC does not match any of its fields;
    /// [`SealError::Backend`] if its key cannot be used (an HSM unreachable): the
    /// record is then neither accepted nor called tampered.
    ///
    /// # Security
    ///
    /// Constant-time comparison. A whole older record with its then-valid MAC passes:
    /// a per-record MAC cannot tell a restored row from the current one.
    pub fn check_record(&self, record: &TokenRecord) -> Result<(), SealError> {
        let tampered = || SealError::RecordTampered {
            token: record.id.to_string(),
        };
        let mac = record.mac.ok_or_else(tampered)?;
        let key = self.key(mac.key_id).ok_or_else(tampered)?;
        let expected = Self::record_mac_under(key.as_ref(), record)?;
        if bool::from(expected.tag.ct_eq(&mac.tag)) {
            Ok(())
        } else {
            Err(tampered())
        }
    }

    fn key(&self, id: u32) -> Option<&Arc<dyn KeyringBackend>> {
        core::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.key_id() == id)
    }

    /// Whether a key with this id is in the ring (current or previous).
    #[must_use]
    pub fn has_key(&self, key_id: u32) -> bool {
        self.key(key_id).is_some()
    }

    /// Seals `secret` for token `token` under the current key, with a fresh nonce.
    ///
    /// # Errors
    ///
    /// [`SealError::RandomSource`] if no nonce can be drawn, [`SealError::Backend`] if
    /// the current key cannot be used.
    pub fn seal(&self, token: &TokenId, secret: &Secret) -> Result<SealedSecret, SealError> {
        self.seal_bytes(ASSOCIATED_DATA_PREFIX, &[], token, secret.expose_bytes())
    }

    /// Seals the device PIN's hash of an OCRA suite with a PIN (`P`) for token
    /// `token`, like [`Keyring::seal`] but under its own associated data.
    ///
    /// # Errors
    ///
    /// [`SealError::RandomSource`] if no nonce can be drawn.
    ///
    /// # Security
    ///
    /// The hash of a PIN of a few digits is as guessable as the PIN: it must never be
    /// stored in the clear.
    pub fn seal_ocra_pin_hash(
        &self,
        token: &TokenId,
        pin_hash: &[u8],
    ) -> Result<SealedSecret, SealError> {
        self.seal_bytes(PIN_HASH_ASSOCIATED_DATA_PREFIX, &[], token, pin_hash)
    }

    /// Opens a sealed OCRA PIN hash of token `token`.
    ///
    /// # Errors
    ///
    /// As [`Keyring::open`]; a sealed secret does not open as a PIN hash.
    pub fn open_ocra_pin_hash(
        &self,
        token: &TokenId,
        sealed: &SealedSecret,
    ) -> Result<Secret, SealError> {
        let plaintext = self.open_with(PIN_HASH_ASSOCIATED_DATA_PREFIX, &[], token, sealed)?;
        Secret::from_bytes(&plaintext).map_err(|_| SealError::Unauthentic {
            token: token.to_string(),
        })
    }

    /// Opens a sealed OCRA PIN hash and seals it again under the current key.
    ///
    /// # Errors
    ///
    /// As [`Keyring::open_ocra_pin_hash`] and [`Keyring::seal_ocra_pin_hash`].
    pub fn reseal_ocra_pin_hash(
        &self,
        token: &TokenId,
        sealed: &SealedSecret,
    ) -> Result<SealedSecret, SealError> {
        let pin_hash = self.open_ocra_pin_hash(token, sealed)?;
        self.seal_ocra_pin_hash(token, pin_hash.expose_bytes())
    }

    /// Seals a fob's unlock key (from its factory record) for the enrolment
    /// `incarnation` of token `token`, like [`Keyring::seal`] but under its own
    /// associated data, which also names the incarnation.
    ///
    /// # Errors
    ///
    /// [`SealError::RandomSource`] if no nonce can be drawn, [`SealError::Backend`] if
    /// the current key cannot be used.
    ///
    /// # Security
    ///
    /// The unlock key opens the fob's PIN gate for the whole of its life. Bound to the
    /// incarnation as well as the id, a sealed unlock key copied from an earlier
    /// enrolment of the same id (a fob the id was given to before) does not open.
    ///
    /// ```
    /// use otpfob::{Keyring, SealingKey, Secret, TokenId, validator::Incarnation};
    ///
    /// let keyring = Keyring::new(SealingKey::generate(1)?);
    /// let token = TokenId::new("FOB-1")?;
    /// let incarnation = Incarnation::generate()?;
    /// let sealed = keyring.seal_unlock_key(&token, incarnation, &Secret::from_bytes(&[7; 32])?)?;
    /// assert_eq!(keyring.open_unlock_key(&token, incarnation, &sealed)?.expose_bytes(), [7; 32]);
    /// assert!(keyring.open_unlock_key(&token, Incarnation::generate()?, &sealed).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seal_unlock_key(
        &self,
        token: &TokenId,
        incarnation: Incarnation,
        unlock_key: &Secret,
    ) -> Result<SealedSecret, SealError> {
        self.seal_bytes(
            UNLOCK_KEY_ASSOCIATED_DATA_PREFIX,
            &incarnation.to_bytes(),
            token,
            unlock_key.expose_bytes(),
        )
    }

    /// Opens the sealed unlock key of the enrolment `incarnation` of token `token`.
    ///
    /// # Errors
    ///
    /// As [`Keyring::open`]; a sealed secret, a sealed PIN hash, or an unlock key
    /// sealed for another token or another incarnation does not open.
    pub fn open_unlock_key(
        &self,
        token: &TokenId,
        incarnation: Incarnation,
        sealed: &SealedSecret,
    ) -> Result<Secret, SealError> {
        let plaintext = self.open_with(
            UNLOCK_KEY_ASSOCIATED_DATA_PREFIX,
            &incarnation.to_bytes(),
            token,
            sealed,
        )?;
        Secret::from_bytes(&plaintext).map_err(|_| SealError::Unauthentic {
            token: token.to_string(),
        })
    }

    /// Opens a sealed unlock key and seals it again under the current key.
    ///
    /// # Errors
    ///
    /// As [`Keyring::open_unlock_key`] and [`Keyring::seal_unlock_key`].
    pub fn reseal_unlock_key(
        &self,
        token: &TokenId,
        incarnation: Incarnation,
        sealed: &SealedSecret,
    ) -> Result<SealedSecret, SealError> {
        let unlock_key = self.open_unlock_key(token, incarnation, sealed)?;
        self.seal_unlock_key(token, incarnation, &unlock_key)
    }

    /// Seals `plaintext` under the associated data `prefix ‖ binding ‖ token`.
    fn seal_bytes(
        &self,
        prefix: &[u8],
        binding: &[u8],
        token: &TokenId,
        plaintext: &[u8],
    ) -> Result<SealedSecret, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|error| SealError::RandomSource {
            reason: error.to_string(),
        })?;
        let (associated_data, associated_len) = associated_data(prefix, binding, token);
        let key_id = self.current.key_id();
        let ciphertext = self
            .current
            .seal(&nonce, &associated_data[..associated_len], plaintext)
            .map_err(|error| match error {
                BackendError::Unauthentic => SealError::Unauthentic {
                    token: token.to_string(),
                },
                error => SealError::Backend { key_id, error },
            })?;
        Ok(SealedSecret {
            key_id,
            nonce,
            ciphertext: ciphertext.into(),
        })
    }

    /// Opens a sealed secret of token `token`.
    ///
    /// # Errors
    ///
    /// [`SealError::UnknownKey`] if its key is not in the ring,
    /// [`SealError::Unauthentic`] if it does not authenticate for this token, and
    /// [`SealError::Backend`] if its key cannot be used (an HSM unreachable).
    pub fn open(&self, token: &TokenId, sealed: &SealedSecret) -> Result<Secret, SealError> {
        let plaintext = self.open_bytes(token, sealed)?;
        Secret::from_bytes(&plaintext).map_err(|_| SealError::Unauthentic {
            token: token.to_string(),
        })
    }

    /// Opens a sealed secret into a zeroizing buffer.
    pub(crate) fn open_bytes(
        &self,
        token: &TokenId,
        sealed: &SealedSecret,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        self.open_with(ASSOCIATED_DATA_PREFIX, &[], token, sealed)
    }

    /// Opens `sealed` under the associated data `prefix ‖ binding ‖ token`.
    fn open_with(
        &self,
        prefix: &[u8],
        binding: &[u8],
        token: &TokenId,
        sealed: &SealedSecret,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let key = self.key(sealed.key_id).ok_or(SealError::UnknownKey {
            key_id: sealed.key_id,
        })?;
        let (associated_data, associated_len) = associated_data(prefix, binding, token);
        key.open(
            &sealed.nonce,
            &associated_data[..associated_len],
            &sealed.ciphertext,
        )
        .map_err(|error| match error {
            BackendError::Unauthentic => SealError::Unauthentic {
                token: token.to_string(),
            },
            error => SealError::Backend {
                key_id: sealed.key_id,
                error,
            },
        })
    }

    /// Opens `sealed` and seals it again under the current key: key rotation.
    ///
    /// # Errors
    ///
    /// As [`Keyring::open`] and [`Keyring::seal`].
    pub fn reseal(
        &self,
        token: &TokenId,
        sealed: &SealedSecret,
    ) -> Result<SealedSecret, SealError> {
        let secret = self.open(token, sealed)?;
        self.seal(token, &secret)
    }
}

/// Room for the associated data: the longest prefix, an incarnation, the longest id.
const MAX_ASSOCIATED_LEN: usize = MAX_PREFIX_LEN + Incarnation::LEN + MAX_TOKEN_ID_LEN;

/// The associated data for `token`, on the stack: the purpose's prefix, what else the
/// purpose binds to (an unlock key's incarnation; empty for the others, whose
/// associated data is unchanged), then the id's bytes. The prefix ends in a NUL and
/// the binding has a fixed length per prefix, so no two inputs give the same bytes.
fn associated_data(
    prefix: &[u8],
    binding: &[u8],
    token: &TokenId,
) -> ([u8; MAX_ASSOCIATED_LEN], usize) {
    let mut data = [0u8; MAX_ASSOCIATED_LEN];
    let mut total = 0;
    for (slot, byte) in data.iter_mut().zip(
        prefix
            .iter()
            .chain(binding)
            .chain(token.as_str().as_bytes()),
    ) {
        *slot = *byte;
        total += 1;
    }
    (data, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> Keyring {
        Keyring::new(SealingKey::new(7, &[0x42; 32]).unwrap())
    }

    fn id(text: &str) -> TokenId {
        TokenId::new(text).unwrap()
    }

    #[test]
    fn round_trip_and_fresh_nonces() {
        let ring = keyring();
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        let first = ring.seal(&id("a"), &secret).unwrap();
        let second = ring.seal(&id("a"), &secret).unwrap();
        assert_ne!(first.nonce, second.nonce);
        assert_ne!(first.ciphertext, second.ciphertext);
        assert!(
            !first
                .ciphertext
                .windows(20)
                .any(|window| window == secret.expose_bytes())
        );
        assert_eq!(
            ring.open(&id("a"), &first).unwrap().expose_bytes(),
            secret.expose_bytes()
        );
    }

    #[test]
    fn another_token_id_does_not_open() {
        let ring = keyring();
        let sealed = ring
            .seal(&id("alice"), &Secret::from_bytes(b"k").unwrap())
            .unwrap();
        assert_eq!(
            ring.open(&id("mallory"), &sealed).unwrap_err(),
            SealError::Unauthentic {
                token: "mallory".into()
            }
        );
    }

    #[test]
    fn tampering_is_detected() {
        let ring = keyring();
        let mut sealed = ring
            .seal(&id("a"), &Secret::from_bytes(b"key").unwrap())
            .unwrap();
        let mut tampered = sealed.ciphertext.to_vec();
        tampered[0] ^= 1;
        sealed.ciphertext = tampered.into();
        assert!(ring.open(&id("a"), &sealed).is_err());
        sealed.ciphertext = sealed.ciphertext[..3].into();
        assert!(ring.open(&id("a"), &sealed).is_err());
    }

    #[test]
    fn unknown_and_wrong_keys() {
        let sealed = keyring()
            .seal(&id("a"), &Secret::from_bytes(b"key").unwrap())
            .unwrap();
        let other = Keyring::new(SealingKey::new(8, &[1; 32]).unwrap());
        assert_eq!(
            other.open(&id("a"), &sealed).unwrap_err(),
            SealError::UnknownKey { key_id: 7 }
        );
        let impostor = Keyring::new(SealingKey::new(7, &[1; 32]).unwrap());
        assert!(matches!(
            impostor.open(&id("a"), &sealed),
            Err(SealError::Unauthentic { .. })
        ));
        assert_eq!(
            SealingKey::new(1, &[0; 16]).unwrap_err(),
            SealError::KeyLength { length: 16 }
        );
        assert_eq!(
            keyring()
                .with_previous(SealingKey::new(7, &[2; 32]).unwrap())
                .unwrap_err(),
            SealError::DuplicateKeyId { key_id: 7 }
        );
    }

    #[test]
    fn pin_hashes_and_secrets_do_not_open_as_each_other() {
        let ring = keyring();
        let token = id("FOB-1");
        let hash = [0x71; 20];
        let sealed_hash = ring.seal_ocra_pin_hash(&token, &hash).unwrap();
        assert_eq!(
            ring.open_ocra_pin_hash(&token, &sealed_hash)
                .unwrap()
                .expose_bytes(),
            hash
        );
        assert!(ring.open(&token, &sealed_hash).is_err());
        let sealed_secret = ring
            .seal(&token, &Secret::from_bytes(&hash).unwrap())
            .unwrap();
        assert!(ring.open_ocra_pin_hash(&token, &sealed_secret).is_err());
        assert!(ring.open_ocra_pin_hash(&id("FOB-2"), &sealed_hash).is_err());
        let rotated = Keyring::new(SealingKey::new(8, &[3; 32]).unwrap())
            .with_previous(ring.current().clone())
            .unwrap();
        let resealed = rotated.reseal_ocra_pin_hash(&token, &sealed_hash).unwrap();
        assert_eq!(resealed.key_id, 8);
        assert_eq!(
            rotated
                .open_ocra_pin_hash(&token, &resealed)
                .unwrap()
                .expose_bytes(),
            hash
        );
    }

    #[test]
    fn unlock_keys_open_only_as_unlock_keys_of_their_incarnation() {
        let ring = keyring();
        let token = id("FOB-1");
        let incarnation = Incarnation::from_bytes([1; 16]);
        let key = Secret::from_bytes(&[0x5a; 32]).unwrap();
        let sealed = ring.seal_unlock_key(&token, incarnation, &key).unwrap();
        assert_eq!(
            ring.open_unlock_key(&token, incarnation, &sealed)
                .unwrap()
                .expose_bytes(),
            key.expose_bytes()
        );
        // Another enrolment of the same id, another id, another purpose: refused.
        let earlier = Incarnation::from_bytes([2; 16]);
        assert!(ring.open_unlock_key(&token, earlier, &sealed).is_err());
        assert!(
            ring.open_unlock_key(&id("FOB-2"), incarnation, &sealed)
                .is_err()
        );
        assert!(ring.open(&token, &sealed).is_err());
        assert!(ring.open_ocra_pin_hash(&token, &sealed).is_err());
        let secret = ring.seal(&token, &key).unwrap();
        assert!(ring.open_unlock_key(&token, incarnation, &secret).is_err());
        let rotated = Keyring::new(SealingKey::new(8, &[3; 32]).unwrap())
            .with_previous(ring.current().clone())
            .unwrap();
        let resealed = rotated
            .reseal_unlock_key(&token, incarnation, &sealed)
            .unwrap();
        assert_eq!(resealed.key_id, 8);
        assert_eq!(
            rotated
                .open_unlock_key(&token, incarnation, &resealed)
                .unwrap()
                .expose_bytes(),
            key.expose_bytes()
        );
    }

    #[test]
    fn debug_shows_no_key_material() {
        let ring = keyring();
        let text = format!("{ring:?}");
        assert!(text.contains("REDACTED"), "{text}");
        let sealed = ring
            .seal(&id("a"), &Secret::from_bytes(b"key").unwrap())
            .unwrap();
        assert!(!format!("{sealed:?}").contains("ciphertext:"));
    }
}
