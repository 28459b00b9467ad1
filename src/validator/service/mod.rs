//! `Validator`: loads a token, decides, and compare-and-swaps, retrying on conflict.
//!
//! One `impl Validator` block per job: configuration here, then enrolment (`enrol`),
//! verification and resync (`verify`), OCRA challenges (`challenge`), administration
//! (`admin`), audit events (`audit`), the generator cache (`cache`) and the answer
//! to a locked fob's unlock challenge (`unlock`).

mod admin;
mod audit;
mod cache;
#[cfg(feature = "emv-cap")]
mod cap;
mod challenge;
pub use challenge::SIGN_MODE_MAX_LIFETIME;
mod decoy;
mod emergency;
mod enrol;
#[cfg(feature = "pskc")]
pub(crate) mod export;
mod lifecycle;
mod notify;
mod unlock;
mod verify;

pub use admin::ResealProgress;
use cache::GeneratorCache;
#[cfg(feature = "emv-cap")]
pub use cap::CapEnrolment;
use decoy::DecoySlot;
pub use emergency::{EMERGENCY_CODE_PARAMETERS, EmergencyCodes, MAX_EMERGENCY_CODES};
pub use lifecycle::{CustomerAcceptance, LookupMatch};

use core::fmt;

use crate::clock::{SystemClock, TimeSource};
use crate::validator::audit::AuditSink;
use crate::validator::error::ValidatorError;
use crate::validator::notify::NoticeSink;
use crate::validator::pin::PinHashing;
use crate::validator::policy::Policy;
use crate::validator::seal::Keyring;
use crate::validator::store::Store;

/// How many times a request reloads and retries after another node changed the token.
pub const MAX_ATTEMPTS: u32 = 16;

/// The unsealed generators kept by default (see [`Validator::with_generator_cache`]).
pub const DEFAULT_GENERATOR_CACHE: usize = 10_000;

/// The bank's validator: checks codes against the stored state of each token.
///
/// Each request loads the token's record, opens its sealed secret, takes the pure
/// [`decide`](crate::validator::decide) step and stores the new state with a compare-and-swap on the record's
/// version; if another validator node changed the token meanwhile, it starts over
/// with the fresh record (up to [`MAX_ATTEMPTS`] times). So a code is accepted at most
/// once, however many nodes share the store, and any error rejects.
///
/// ```
/// use otpfob::{Enrolment, Keyring, ManualClock, MemoryStore, SealingKey, Secret};
/// use otpfob::{TokenId, Totp, TotpParameters, Validator};
///
/// let clock = ManualClock::at_secs(1_700_000_000);
/// let validator = Validator::new(MemoryStore::new(), clock.clone(), Keyring::new(SealingKey::generate(1)?));
/// let secret = Secret::generate_default()?;
/// let id = validator.enrol(Enrolment::new(TokenId::new("FOB-1")?, secret.clone(), TotpParameters::default()))?;
///
/// let code = Totp::new(&secret, TotpParameters::default())?.now(&clock)?.to_string();
/// assert!(validator.verify(&id, &code, None).is_ok());
/// let replay = validator.verify(&id, &code, None).unwrap_err();
/// assert_eq!(replay.to_string(), "code rejected");
/// # use otpfob::TimeSource;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Validator<S: Store, C: TimeSource = SystemClock> {
    store: S,
    clock: C,
    keyring: Keyring,
    policy: Policy,
    pin_hashing: PinHashing,
    sinks: Vec<Box<dyn AuditSink>>,
    notice_sinks: Vec<Box<dyn NoticeSink>>,
    generators: GeneratorCache,
    decoy: DecoySlot,
}

impl<S: Store, C: TimeSource> fmt::Debug for Validator<S, C> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Validator")
            .field("clock", &self.clock)
            .field("keyring", &self.keyring)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// A validator over `store`, reading time from `clock`, sealing with `keyring`,
    /// with the default [`Policy`].
    pub fn new(store: S, clock: C, keyring: Keyring) -> Self {
        Self {
            store,
            clock,
            keyring,
            policy: Policy::default(),
            pin_hashing: PinHashing::default(),
            sinks: Vec::new(),
            notice_sinks: Vec::new(),
            generators: GeneratorCache::new(DEFAULT_GENERATOR_CACHE),
            decoy: DecoySlot::new(),
        }
    }

    /// Replaces the policy.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::Policy`] if [`Policy::validate`] refuses it.
    pub fn with_policy(mut self, policy: Policy) -> Result<Self, ValidatorError> {
        policy.validate()?;
        self.policy = policy;
        Ok(self)
    }

    /// Sets the Argon2id cost of new server-side PIN hashes.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::Pin`] if Argon2 refuses the cost (for example no memory or no
    /// pass): checked here, since a validator built with it would otherwise refuse
    /// every verification with a PIN, failing closed but only once in service.
    pub fn with_pin_hashing(mut self, pin_hashing: PinHashing) -> Result<Self, ValidatorError> {
        pin_hashing.validate()?;
        self.pin_hashing = pin_hashing;
        // The decoy's PIN hash must cost what the new hashes cost.
        self.decoy = self.decoy.remade();
        Ok(self)
    }

    /// Adds a sink that receives every audit event after the store has it.
    #[must_use]
    pub fn with_audit_sink(mut self, sink: impl AuditSink + 'static) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// Adds a sink that receives every [`Notice`](crate::validator::notify::Notice)
    /// (locked, block alert, lost, replaced, revoked, expiring soon) after the store
    /// has the change; see [`crate::validator::notify`].
    #[must_use]
    pub fn with_notice_sink(mut self, sink: impl NoticeSink + 'static) -> Self {
        self.notice_sinks.push(Box::new(sink));
        self
    }

    /// Keeps up to `capacity` opened token generators in memory, so a verification
    /// does not open the sealed secret and key the HMAC every time (0 turns it off).
    ///
    /// # Security
    ///
    /// The cached keyed HMAC states are as good as the secrets, for as long as they are
    /// cached; they are zeroized when evicted. With a software sealing key the process
    /// holds what opens every secret anyway, so the cache does not widen what a memory
    /// dump of it reveals; with the key in an HSM it does (the busy tokens' keys are in
    /// memory): set 0 there, and strict mode ([`Keyring::with_token_keys`]) never
    /// caches. An entry is found only by the exact sealed secret it was opened from,
    /// so a re-enrolled or re-sealed token never uses a stale one.
    #[must_use]
    pub fn with_generator_cache(mut self, capacity: usize) -> Self {
        self.generators = GeneratorCache::new(capacity);
        self
    }

    /// The policy in force.
    #[must_use]
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &C {
        &self.clock
    }
}
