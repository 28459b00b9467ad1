//! What a token record keeps of the keyring's work, as the bytes a store writes: its
//! sealed secret and its MAC, and their sizes.
//!
//! These are plain values, below everything that makes or checks them: the record
//! ([`TokenRecord`](crate::validator::TokenRecord)) holds them, the keyring
//! ([`Keyring`](crate::Keyring)) and its backends produce them, and the record MAC's
//! encoding reads them, without any of those importing each other in a loop.

use core::fmt;
use std::sync::Arc;

/// Bytes of an AES-GCM nonce (96 bits, the size GCM is defined for).
pub const NONCE_LEN: usize = 12;

/// Bytes of an AES-GCM tag; a sealed body is the ciphertext followed by it.
pub const TAG_LEN: usize = 16;

/// Bytes of a record MAC (HMAC-SHA-256).
pub const RECORD_MAC_LEN: usize = 32;

/// A token secret (or an OCRA PIN hash) encrypted and authenticated under a
/// [`SealingKey`](crate::SealingKey).
///
/// The token id and the purpose are the associated data: a sealed secret copied onto
/// another token's record, or into the PIN hash's place, does not open.
#[derive(Clone, PartialEq, Eq)]
// Deliberately exhaustive: a Store backend outside this crate builds it field by field from
// its rows, and a new field is a breaking change for every backend anyway (it must store
// it).
#[allow(clippy::exhaustive_structs)]
pub struct SealedSecret {
    /// Which key of the keyring sealed it.
    pub key_id: u32,
    /// The random 96-bit GCM nonce, fresh for every sealing.
    pub nonce: [u8; NONCE_LEN],
    /// The encrypted secret followed by the 16-byte GCM tag; shared, so that copying a
    /// record (as every load does) copies no bytes.
    pub ciphertext: Arc<[u8]>,
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SealedSecret")
            .field("key_id", &self.key_id)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// The MAC of a stored record, and the id of the sealing key its MAC key derives from
/// (so records MACed under an older key still check after a rotation, until
/// `Validator::reseal_all` MACs them again under the current one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// Deliberately exhaustive: a Store backend outside this crate builds it field by field from
// its rows, and a new field is a breaking change for every backend anyway (it must store
// it).
#[allow(clippy::exhaustive_structs)]
pub struct RecordMac {
    /// The id of the sealing key the MAC key was derived from.
    pub key_id: u32,
    /// HMAC-SHA-256 of the record's canonical encoding.
    pub tag: [u8; RECORD_MAC_LEN],
}
