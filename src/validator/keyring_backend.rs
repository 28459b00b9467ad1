//! Where a sealing key lives and runs: the [`KeyringBackend`] trait, which a
//! [`Keyring`](crate::Keyring) holds one of per key.
//!
//! Two backends implement it: [`SealingKey`](crate::SealingKey), an AES-256-GCM key in
//! the process's memory, and (feature `pkcs11`)
//! [`Pkcs11Key`](crate::validator::pkcs11::Pkcs11Key), a key generated inside a
//! hardware security module that never leaves it. `tests/keyring_suite.rs` runs the
//! same functions against both.

use core::fmt;
use std::sync::Arc;

use thiserror::Error;
use zeroize::Zeroizing;

use crate::validator::sealed::{NONCE_LEN, RECORD_MAC_LEN};

/// One sealing key: seals and opens token secrets with AES-256-GCM and computes record
/// MACs, wherever the key is kept.
///
/// # Security
///
/// An implementation must:
/// - seal with AES-256-GCM under exactly the nonce and associated data given (the
///   keyring draws a fresh random nonce for every sealing and puts the token id in the
///   associated data), returning the ciphertext followed by the 16-byte tag, so that
///   every backend reads what every other wrote under the same key;
/// - open only what authenticates under that nonce and associated data, and answer
///   [`BackendError::Unauthentic`] otherwise, never a partial plaintext;
/// - compute the record MAC with a key of its own, independent of the sealing key
///   (neither yields the other), the same for the same key every time;
/// - fail closed: when the key cannot be reached (the module gone, the session lost,
///   the PIN refused, the key object deleted) return an error naming what failed, never
///   a made-up result, and never the key, the PIN or a plaintext in it;
/// - be usable from many threads at once (`Send + Sync`), reconnecting by itself once
///   the key is reachable again;
/// - never print key material (`Debug` shows the id and where the key lives).
pub trait KeyringBackend: fmt::Debug + Send + Sync {
    /// The id sealed secrets and record MACs name this key by.
    fn key_id(&self) -> u32;

    /// Encrypts and authenticates `plaintext` under `nonce` and `associated_data`:
    /// the ciphertext followed by the 16-byte tag.
    ///
    /// # Errors
    ///
    /// A [`BackendError`] saying why the key could not be used.
    fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        associated_data: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, BackendError>;

    /// Authenticates and decrypts what [`KeyringBackend::seal`] returned.
    ///
    /// # Errors
    ///
    /// [`BackendError::Unauthentic`] if it does not authenticate under this key, nonce
    /// and associated data; another [`BackendError`] if the key could not be used.
    fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        associated_data: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, BackendError>;

    /// The HMAC-SHA-256 of `message` under this key's record MAC key.
    ///
    /// # Errors
    ///
    /// A [`BackendError`] saying why the key could not be used.
    fn record_mac(&self, message: &[u8]) -> Result<[u8; RECORD_MAC_LEN], BackendError>;
}

impl<T: KeyringBackend + ?Sized> KeyringBackend for Arc<T> {
    fn key_id(&self) -> u32 {
        (**self).key_id()
    }

    fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        associated_data: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        (**self).seal(nonce, associated_data, plaintext)
    }

    fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        associated_data: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        (**self).open(nonce, associated_data, sealed)
    }

    fn record_mac(&self, message: &[u8]) -> Result<[u8; RECORD_MAC_LEN], BackendError> {
        (**self).record_mac(message)
    }
}

/// Why a keyring backend could not seal, open or MAC.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The sealed bytes do not authenticate under this key, nonce and associated data.
    #[error("the sealed data does not authenticate")]
    Unauthentic,
    /// The PKCS#11 module could not be loaded or initialised.
    #[error("the PKCS#11 module {module} is unavailable: {reason}")]
    ModuleUnavailable {
        /// The module's path.
        module: String,
        /// What loading or initialising it reported.
        reason: String,
    },
    /// No token in the module has the configured slot or label (removed, or not
    /// initialised).
    #[error("no token {token} is present in the PKCS#11 module")]
    TokenNotFound {
        /// The slot number or token label looked for.
        token: String,
    },
    /// The token refused the user PIN.
    #[error("token {token} refused the user PIN")]
    WrongPin {
        /// The token's label or slot.
        token: String,
    },
    /// The token locked its user PIN after too many wrong tries.
    #[error("token {token} has locked its user PIN")]
    PinLocked {
        /// The token's label or slot.
        token: String,
    },
    /// The user PIN could not be read from its file or environment variable.
    #[error("the user PIN could not be read from {source_name}: {reason}")]
    PinSource {
        /// The file's path or the variable's name (never the PIN).
        source_name: String,
        /// What went wrong.
        reason: String,
    },
    /// No key object with this label (and the expected class and type) is in the
    /// token: never generated, or deleted.
    #[error("no key object labelled {label} is in the token")]
    MissingKey {
        /// The key object's label.
        label: String,
    },
    /// A key object with this label is already in the token, so none was generated.
    #[error("a key object labelled {label} is already in the token")]
    KeyExists {
        /// The key object's label.
        label: String,
    },
    /// The session with the token was lost and could not be opened again.
    #[error("the session with the token was lost: {reason}")]
    SessionLost {
        /// What the module reported.
        reason: String,
    },
    /// The module refused an operation for another reason.
    #[error("the PKCS#11 call {function} failed: {reason}")]
    Device {
        /// The PKCS#11 function.
        function: String,
        /// The return value it gave.
        reason: String,
    },
}
