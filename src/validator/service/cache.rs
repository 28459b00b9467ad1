//! The cache of unsealed generators, so that a busy token's secret is not unsealed
//! (and its HMAC keys not precomputed) at every code.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::clock::TimeSource;
use crate::hotp::{Hotp, HotpParameters};
use crate::validator::error::RejectReason;
use crate::validator::generator::Generator;
use crate::validator::record::{TokenId, TokenKind, TokenRecord};
use crate::validator::store::Store;

use super::Validator;

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// The generator of `record`'s codes: in strict mode the HSM's (never cached),
    /// otherwise the cached one or one opened from the sealed secret.
    pub(super) fn generator(&self, record: &TokenRecord) -> Result<Generator<'_>, RejectReason> {
        let parameters = match record.state.kind {
            TokenKind::Event { parameters, .. } => parameters,
            TokenKind::Time { parameters, .. } => HotpParameters {
                algorithm: parameters.algorithm,
                digits: parameters.digits,
            },
            // A card's secret is a Triple DES key, not an HMAC key: `verify_cap`.
            #[cfg(feature = "emv-cap")]
            TokenKind::Cap(_) => return Err(RejectReason::WrongKind),
        };
        if let Some(token_keys) = self.keyring.token_keys() {
            return token_keys
                .generator(&record.id, record.incarnation, parameters)
                .map(Generator::Backend)
                .map_err(|_| RejectReason::KeyringUnavailable);
        }
        let key = CacheKey {
            key_id: record.sealed_secret.key_id,
            nonce: record.sealed_secret.nonce,
            parameters,
        };
        if let Some(generator) = self.generators.get(&record.id, &key) {
            return Ok(Generator::Memory(generator));
        }
        let secret = self
            .keyring
            .open(&record.id, &record.sealed_secret)
            .map_err(|error| RejectReason::of_seal_error(&error))?;
        let generator =
            Arc::new(Hotp::new(&secret, parameters).map_err(|_| RejectReason::StoreFailure)?);
        self.generators
            .insert(record.id.clone(), key, Arc::clone(&generator));
        Ok(Generator::Memory(generator))
    }
}

/// What a cached generator was opened from: the exact sealed secret (its key and its
/// nonce, fresh at every sealing) and the code parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct CacheKey {
    key_id: u32,
    nonce: [u8; 12],
    parameters: HotpParameters,
}

/// Opened generators by token, each with what it was opened from.
pub(super) struct GeneratorCache {
    capacity: usize,
    entries: RwLock<HashMap<TokenId, (CacheKey, Arc<Hotp>)>>,
}

impl GeneratorCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The cached generator of `token`, if it was opened from exactly `key`.
    pub(super) fn get(&self, token: &TokenId, key: &CacheKey) -> Option<Arc<Hotp>> {
        if self.capacity == 0 {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        match entries.get(token) {
            Some((cached_from, generator)) if cached_from == key => Some(Arc::clone(generator)),
            _ => None,
        }
    }

    pub(super) fn insert(&self, token: TokenId, key: CacheKey, generator: Arc<Hotp>) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(&token) {
            // Any entry will do: a miss costs one unsealing, not a wrong answer.
            if let Some(victim) = entries.keys().next().cloned() {
                entries.remove(&victim);
            }
        }
        entries.insert(token, (key, generator));
    }
}
