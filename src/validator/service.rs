//! `Validator`: loads a token, decides, and compare-and-swaps, retrying on conflict.

use core::fmt;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::clock::{SystemClock, TimeSource, UnixTime};
use crate::code::Code;
use crate::device::FactoryRecord;
use crate::error::{StoreError, ValidatorError};
use crate::hotp::{Hotp, HotpParameters};
use crate::parameters::OtpParameters;
use crate::secret::Secret;
use crate::store::{Store, Swap};
use crate::validator::audit::{AuditEvent, AuditSink, Operation, Outcome};
use crate::validator::decision::{
    Acceptance, Decision, RejectReason, Verdict, decide, decide_resync,
};
use crate::validator::pin::{PinHash, PinHashing, pin_matches};
use crate::validator::policy::Policy;
use crate::validator::record::{Lock, Status, TokenId, TokenKind, TokenRecord, TokenState};
use crate::validator::seal::Keyring;

/// How many times a request reloads and retries after another node changed the token.
pub const MAX_ATTEMPTS: u32 = 16;

/// The unsealed generators kept by default (see [`Validator::with_generator_cache`]).
pub const DEFAULT_GENERATOR_CACHE: usize = 10_000;

/// A rejected code or resync.
///
/// # Security
///
/// Show the person who typed the code only this type's `Display`, "code rejected",
/// whatever the reason: the [`reason`](Rejected::reason) is for server logs and the
/// audit trail.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub struct Rejected {
    reason: RejectReason,
}

impl Rejected {
    /// Why, for logs and audits.
    #[must_use]
    pub fn reason(&self) -> RejectReason {
        self.reason
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("code rejected")
    }
}

impl fmt::Debug for Rejected {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Rejected({})", self.reason)
    }
}

impl std::error::Error for Rejected {}

/// What a new token is: its kind, secret and optional server-side PIN.
#[derive(Debug)]
pub struct Enrolment<'a> {
    /// The token's id.
    pub id: TokenId,
    /// Its shared secret; sealed before it reaches the store.
    pub secret: &'a Secret,
    /// How it makes codes, and where it starts.
    pub kind: TokenKind,
    /// A server-side PIN to require before its codes, if any.
    pub pin: Option<&'a str>,
}

/// The bank's validator: checks codes against the stored state of each token.
///
/// Each request loads the token's record, opens its sealed secret, takes the pure
/// [`decide`] step and stores the new state with a compare-and-swap on the record's
/// version; if another validator node changed the token meanwhile, it starts over
/// with the fresh record (up to [`MAX_ATTEMPTS`] times). So a code is accepted at most
/// once, however many nodes share the store, and any error rejects.
///
/// ```
/// use otpfob::{Enrolment, Keyring, ManualClock, MemoryStore, SealingKey, Secret};
/// use otpfob::{TokenId, TokenKind, Totp, TotpParameters, Validator};
///
/// let clock = ManualClock::at_secs(1_700_000_000);
/// let validator = Validator::new(MemoryStore::new(), clock.clone(), Keyring::new(SealingKey::generate(1)?));
/// let secret = Secret::generate_default()?;
/// let id = TokenId::new("FOB-1")?;
/// validator.enrol(Enrolment {
///     id: id.clone(),
///     secret: &secret,
///     kind: TokenKind::time(TotpParameters::default(), clock.now()),
///     pin: None,
/// })?;
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
    generators: GeneratorCache,
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
            generators: GeneratorCache::new(DEFAULT_GENERATOR_CACHE),
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
    #[must_use]
    pub fn with_pin_hashing(mut self, pin_hashing: PinHashing) -> Self {
        self.pin_hashing = pin_hashing;
        self
    }

    /// Adds a sink that receives every audit event after the store has it.
    #[must_use]
    pub fn with_audit_sink(mut self, sink: impl AuditSink + 'static) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// Keeps up to `capacity` opened token generators in memory, so a verification
    /// does not open the sealed secret and key the HMAC every time (0 turns it off).
    ///
    /// # Security
    ///
    /// The cached keyed HMAC states are as good as the secrets, for as long as they are
    /// cached; they are zeroized when evicted. The process holds the sealing key that
    /// opens every secret anyway, so the cache does not widen what a memory dump of it
    /// reveals. An entry is found only by the exact sealed secret it was opened from,
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

    /// Enrols a new token: seals its secret, hashes its PIN, stores it.
    ///
    /// # Errors
    ///
    /// Bad parameters, a bad PIN, a sealing failure, or a store error (including an id
    /// already enrolled).
    pub fn enrol(&self, enrolment: Enrolment<'_>) -> Result<(), ValidatorError> {
        enrolment.kind.parameters().validate()?;
        let sealed_secret = self.keyring.seal(&enrolment.id, enrolment.secret)?;
        let pin = enrolment
            .pin
            .map(|pin| self.pin_hashing.hash(pin))
            .transpose()?;
        let now = self.clock.now();
        let record = TokenRecord {
            id: enrolment.id,
            sealed_secret,
            pin,
            state: TokenState::new(enrolment.kind),
            enrolled_at: now,
            version: 1,
        };
        let event = self.event(&record.id, now, Operation::Enrol, Outcome::Done, None);
        self.store.enrol(&record, &event)?;
        self.publish(&event);
        Ok(())
    }

    /// Enrols a fob from its vendor's factory record: the serial becomes the token id;
    /// an event fob starts at the record's first counter; a time fob's drift tolerance
    /// counts from the record's issue time, when the factory set its clock.
    ///
    /// # Errors
    ///
    /// As [`Validator::enrol`], and [`ValidatorError::TokenId`] for a serial that is
    /// not a valid token id.
    ///
    /// ```
    /// use otpfob::{Device, KeyFob, Keyring, ManualClock, MemoryStore, SealingKey};
    /// use otpfob::{TotpParameters, Validator};
    ///
    /// let world = ManualClock::at_secs(1_767_225_600);
    /// let (mut fob, record) = KeyFob::builder("FOB-0001234", TotpParameters::default())
    ///     .pin("4821")
    ///     .build(world.clone())?;
    /// let bank = Validator::new(MemoryStore::new(), world.clone(), Keyring::new(SealingKey::generate(1)?));
    /// let id = bank.enrol_factory_record(&record, None)?;
    ///
    /// fob.enter_pin("4821")?;
    /// let reading = fob.press()?;
    /// assert!(bank.verify(&id, &reading.code().to_string(), None).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn enrol_factory_record(
        &self,
        record: &FactoryRecord,
        pin: Option<&str>,
    ) -> Result<TokenId, ValidatorError> {
        let id = TokenId::new(record.serial.as_str())?;
        let kind = match record.parameters {
            OtpParameters::Hotp(parameters) => TokenKind::event(parameters, record.initial_counter),
            OtpParameters::Totp(parameters) => TokenKind::time(parameters, record.issued_at),
        };
        self.enrol(Enrolment {
            id: id.clone(),
            secret: &record.secret,
            kind,
            pin,
        })?;
        Ok(id)
    }

    /// Enrols a token with a fresh 160-bit secret from the operating system's CSPRNG
    /// and returns the secret, to be delivered once to the customer's device: a
    /// virtual token in an authenticator app (as a key URI or QR code) or a
    /// [`SoftToken`](crate::SoftToken). Only the sealed copy is kept.
    ///
    /// # Errors
    ///
    /// As [`Validator::enrol`], and [`ValidatorError::Seal`] if the operating system
    /// cannot supply randomness.
    ///
    /// ```
    /// use otpfob::{Device, Keyring, ManualClock, MemoryStore, SealingKey, SoftToken};
    /// use otpfob::{TokenId, TotpParameters, Validator};
    ///
    /// let clock = ManualClock::at_secs(1_767_225_600);
    /// let bank = Validator::new(MemoryStore::new(), clock.clone(), Keyring::new(SealingKey::generate(1)?));
    /// let id = TokenId::new("alice-phone")?;
    /// let secret = bank.enrol_generated(&id, TotpParameters::default().into(), None)?;
    ///
    /// let mut phone = SoftToken::new(id.as_str(), &secret, TotpParameters::default(), clock.clone())?;
    /// let code = phone.press()?.code().to_string();
    /// assert!(bank.verify(&id, &code, None).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn enrol_generated(
        &self,
        id: &TokenId,
        parameters: OtpParameters,
        pin: Option<&str>,
    ) -> Result<Secret, ValidatorError> {
        let secret = Secret::generate_default().map_err(|error| {
            ValidatorError::Seal(crate::error::SealError::RandomSource {
                reason: error.to_string(),
            })
        })?;
        let kind = match parameters {
            OtpParameters::Hotp(parameters) => TokenKind::event(parameters, 0),
            OtpParameters::Totp(parameters) => TokenKind::time(parameters, self.clock.now()),
        };
        self.enrol(Enrolment {
            id: id.clone(),
            secret: &secret,
            kind,
            pin,
        })?;
        Ok(secret)
    }

    /// Checks a code as typed (`"123 456"` is fine, and white space around it, as web
    /// forms send it, is ignored) with the server-side PIN, if the token has one.
    ///
    /// # Errors
    ///
    /// [`Rejected`] for anything but an acceptance: a wrong, replayed or malformed
    /// code, a wrong PIN, a locked, disabled or unknown token, a store failure.
    pub fn verify(
        &self,
        id: &TokenId,
        code: &str,
        pin: Option<&str>,
    ) -> Result<Acceptance, Rejected> {
        self.run(
            id,
            Operation::Verify,
            pin,
            |policy, state, generator, pin_ok, now| {
                // Unparseable input counts like any wrong code: a garbled guess is a guess.
                let code = Code::parse(code.trim(), generator.parameters().digits)
                    .unwrap_or_else(|_| malformed_code(generator));
                decide(policy, state, generator, &code, pin_ok, now)
            },
        )
    }

    /// Resynchronises a token from two consecutive codes (RFC 4226 §7.4): for a time
    /// token, two codes shown one after the other; for an event token, two presses.
    ///
    /// # Errors
    ///
    /// [`Rejected`], as [`Validator::verify`], and also when the codes are not
    /// consecutive within the resync window.
    pub fn resync(
        &self,
        id: &TokenId,
        first: &str,
        second: &str,
        pin: Option<&str>,
    ) -> Result<Acceptance, Rejected> {
        self.run(
            id,
            Operation::Resync,
            pin,
            |policy, state, generator, pin_ok, now| {
                let digits = generator.parameters().digits;
                let bogus = malformed_code(generator);
                let first = Code::parse(first, digits).unwrap_or(bogus);
                let second = Code::parse(second, digits).unwrap_or(bogus);
                decide_resync(policy, state, generator, &first, &second, pin_ok, now)
            },
        )
    }

    /// Load, open, check PIN, decide, store; retried on conflict.
    fn run(
        &self,
        id: &TokenId,
        operation: Operation,
        pin: Option<&str>,
        decide_with: impl Fn(&Policy, &TokenState, &Hotp, bool, UnixTime) -> Decision,
    ) -> Result<Acceptance, Rejected> {
        let now = self.clock.now();
        for _ in 0..MAX_ATTEMPTS {
            let record = match self.store.load(id) {
                Ok(Some(record)) => record,
                Ok(None) => return self.reject(id, now, operation, RejectReason::UnknownToken),
                Err(_) => return self.reject(id, now, operation, RejectReason::StoreFailure),
            };
            let generator = match self.generator(&record) {
                Ok(generator) => generator,
                Err(reason) => return self.reject(id, now, operation, reason),
            };
            let pin_ok = match (&record.pin, pin) {
                (Some(hash), Some(pin)) => pin_matches(hash, pin),
                (None, None) => true,
                // A PIN where none is set, or none where one is: an integration
                // mistake or a guess; either way, not a pass.
                _ => false,
            };
            let decision = decide_with(&self.policy, &record.state, &generator, pin_ok, now);
            let outcome = match decision.verdict {
                Verdict::Accepted(_) => Outcome::Accepted,
                Verdict::Rejected(reason) => Outcome::Rejected(reason),
            };
            let offset = match decision.verdict {
                Verdict::Accepted(acceptance) => Some(acceptance.offset),
                Verdict::Rejected(_) => None,
            };
            let event = self.event(id, now, operation, outcome, offset);
            if decision.state == record.state {
                // Nothing to store: a rejection that counts nothing.
                let _ = self.store.append_audit(&event);
                self.publish(&event);
                return verdict_result(decision.verdict);
            }
            let updated = TokenRecord {
                state: decision.state,
                version: record.version.saturating_add(1),
                ..record.clone()
            };
            match self
                .store
                .compare_and_swap(&updated, record.version, &event)
            {
                Ok(Swap::Swapped) => {
                    self.publish(&event);
                    return verdict_result(decision.verdict);
                }
                Ok(Swap::Conflict) => continue,
                Err(_) => return self.reject(id, now, operation, RejectReason::StoreFailure),
            }
        }
        self.reject(id, now, operation, RejectReason::Contention)
    }

    fn generator(&self, record: &TokenRecord) -> Result<Arc<Hotp>, RejectReason> {
        let parameters = match record.state.kind {
            TokenKind::Event { parameters, .. } => parameters,
            TokenKind::Time { parameters, .. } => HotpParameters {
                algorithm: parameters.algorithm,
                digits: parameters.digits,
            },
        };
        let key = CacheKey {
            key_id: record.sealed_secret.key_id,
            nonce: record.sealed_secret.nonce,
            parameters,
        };
        if let Some(generator) = self.generators.get(&record.id, &key) {
            return Ok(generator);
        }
        let secret = self
            .keyring
            .open(&record.id, &record.sealed_secret)
            .map_err(|_| RejectReason::SealBroken)?;
        let generator =
            Arc::new(Hotp::new(&secret, parameters).map_err(|_| RejectReason::StoreFailure)?);
        self.generators
            .insert(record.id.clone(), key, Arc::clone(&generator));
        Ok(generator)
    }

    fn reject(
        &self,
        id: &TokenId,
        now: UnixTime,
        operation: Operation,
        reason: RejectReason,
    ) -> Result<Acceptance, Rejected> {
        let event = self.event(id, now, operation, Outcome::Rejected(reason), None);
        if reason != RejectReason::UnknownToken {
            let _ = self.store.append_audit(&event);
        }
        self.publish(&event);
        Err(Rejected { reason })
    }

    fn event(
        &self,
        id: &TokenId,
        at: UnixTime,
        operation: Operation,
        outcome: Outcome,
        offset: Option<i64>,
    ) -> AuditEvent {
        AuditEvent {
            token: id.clone(),
            at,
            operation,
            outcome,
            offset,
        }
    }

    fn publish(&self, event: &AuditEvent) {
        for sink in &self.sinks {
            sink.record(event);
        }
    }

    /// Applies an administrative change to a token's record with compare-and-swap.
    fn administer(
        &self,
        id: &TokenId,
        operation: Operation,
        change: impl Fn(&mut TokenRecord) -> Result<(), ValidatorError>,
    ) -> Result<(), ValidatorError> {
        let now = self.clock.now();
        for _ in 0..MAX_ATTEMPTS {
            let record = self
                .store
                .load(id)?
                .ok_or_else(|| StoreError::NotEnrolled {
                    token: id.to_string(),
                })?;
            let mut updated = record.clone();
            change(&mut updated)?;
            updated.version = record.version.saturating_add(1);
            let event = self.event(id, now, operation, Outcome::Done, None);
            if self
                .store
                .compare_and_swap(&updated, record.version, &event)?
                == Swap::Swapped
            {
                self.publish(&event);
                return Ok(());
            }
        }
        Err(ValidatorError::Contention {
            token: id.to_string(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Clears a throttling lock and the failure count (the bank's unlock procedure,
    /// after it has identified the customer).
    ///
    /// # Errors
    ///
    /// [`StoreError::NotEnrolled`], store errors, contention.
    pub fn unlock(&self, id: &TokenId) -> Result<(), ValidatorError> {
        self.administer(id, Operation::Unlock, |record| {
            record.state.lock = Lock::Unlocked;
            record.state.failures = 0;
            record.state.lockouts = 0;
            Ok(())
        })
    }

    /// Takes a token out of service: every code is rejected until it is enabled.
    ///
    /// # Errors
    ///
    /// As [`Validator::unlock`].
    pub fn disable(&self, id: &TokenId) -> Result<(), ValidatorError> {
        self.administer(id, Operation::Disable, |record| {
            record.state.status = Status::Disabled;
            Ok(())
        })
    }

    /// Puts a disabled token back in service.
    ///
    /// # Errors
    ///
    /// As [`Validator::unlock`].
    pub fn enable(&self, id: &TokenId) -> Result<(), ValidatorError> {
        self.administer(id, Operation::Enable, |record| {
            record.state.status = Status::Active;
            Ok(())
        })
    }

    /// Sets, changes or (with `None`) removes the server-side PIN.
    ///
    /// # Errors
    ///
    /// A PIN of the wrong format, and as [`Validator::unlock`].
    pub fn set_pin(&self, id: &TokenId, pin: Option<&str>) -> Result<(), ValidatorError> {
        let hash: Option<PinHash> = pin.map(|pin| self.pin_hashing.hash(pin)).transpose()?;
        self.administer(id, Operation::SetPin, |record| {
            record.pin = hash.clone();
            Ok(())
        })
    }

    /// Deletes a token and its state.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotEnrolled`] and store errors.
    pub fn delete(&self, id: &TokenId) -> Result<(), ValidatorError> {
        let event = self.event(id, self.clock.now(), Operation::Delete, Outcome::Done, None);
        if self.store.delete(id, &event)? {
            self.publish(&event);
            Ok(())
        } else {
            Err(StoreError::NotEnrolled {
                token: id.to_string(),
            }
            .into())
        }
    }

    /// Seals every token's secret again under the keyring's current key, after a key
    /// rotation; returns how many were resealed. Tokens already under the current key
    /// are left alone, so an interrupted run can simply be repeated.
    ///
    /// # Errors
    ///
    /// The first store or seal error; tokens done before it stay done.
    pub fn reseal_all(&self) -> Result<usize, ValidatorError> {
        let current = self.keyring.current().id();
        let mut resealed = 0;
        for id in self.store.list()? {
            let needs = self
                .store
                .load(&id)?
                .is_some_and(|record| record.sealed_secret.key_id != current);
            if needs {
                self.administer(&id, Operation::Reseal, |record| {
                    record.sealed_secret =
                        self.keyring.reseal(&record.id, &record.sealed_secret)?;
                    Ok(())
                })?;
                resealed += 1;
            }
        }
        Ok(resealed)
    }

    /// The current state of a token, for administration screens.
    ///
    /// # Errors
    ///
    /// Store errors.
    pub fn state(&self, id: &TokenId) -> Result<Option<TokenState>, ValidatorError> {
        Ok(self.store.load(id)?.map(|record| record.state))
    }
}

fn verdict_result(verdict: Verdict) -> Result<Acceptance, Rejected> {
    match verdict {
        Verdict::Accepted(acceptance) => Ok(acceptance),
        Verdict::Rejected(reason) => Err(Rejected { reason }),
    }
}

/// A code of the token's length that stands for unparseable input: it goes through
/// the same window computation and counts as a failure.
fn malformed_code(generator: &Hotp) -> Code {
    // A code of another length than the token's never matches: `decide` rejects it
    // as malformed and counts a failure. Tokens have 6 to 10 digits, so 5 digits is
    // always another length (and `Code::new(0, 5)` cannot fail).
    debug_assert!(generator.parameters().digits >= crate::hotp::MIN_OTP_DIGITS);
    Code::from_truncated(0, crate::hotp::MIN_OTP_DIGITS - 1)
}

/// What a cached generator was opened from: the exact sealed secret (its key and its
/// nonce, fresh at every sealing) and the code parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CacheKey {
    key_id: u32,
    nonce: [u8; 12],
    parameters: HotpParameters,
}

/// Opened generators by token, each with what it was opened from.
struct GeneratorCache {
    capacity: usize,
    entries: RwLock<HashMap<TokenId, (CacheKey, Arc<Hotp>)>>,
}

impl GeneratorCache {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The cached generator of `token`, if it was opened from exactly `key`.
    fn get(&self, token: &TokenId, key: &CacheKey) -> Option<Arc<Hotp>> {
        if self.capacity == 0 {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        match entries.get(token) {
            Some((cached_from, generator)) if cached_from == key => Some(Arc::clone(generator)),
            _ => None,
        }
    }

    fn insert(&self, token: TokenId, key: CacheKey, generator: Arc<Hotp>) {
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
