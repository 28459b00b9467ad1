//! `Validator`: loads a token, decides, and compare-and-swaps, retrying on conflict.

use core::fmt;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::clock::{SystemClock, TimeSource, UnixTime};
use crate::code::Code;
use crate::device::FactoryRecord;
use crate::error::{OcraError, StoreError, ValidatorError};
use crate::hotp::{Hotp, HotpParameters};
use crate::ocra::{Challenge, Ocra, OcraSuite, Password, SigningNonce, Transaction, password_hash};
use crate::parameters::OtpParameters;
use crate::secret::Secret;
use crate::store::{Store, Swap};
use crate::validator::audit::{AuditEvent, AuditSink, Operation, Outcome};
use crate::validator::challenge::{
    ChallengeSlot, IssuedChallenge, OcraEnrolment, OcraState, TransactionCommitment,
};
use crate::validator::decision::{
    Acceptance, Decision, RejectReason, Verdict, decide, decide_resync,
};
use crate::validator::ocra_decision::{OcraAttempt, decide_ocra};
use crate::validator::pin::{PinHash, PinHashing, pin_matches};
use crate::validator::policy::Policy;
use crate::validator::record::{Lock, Status, TokenId, TokenKind, TokenRecord, TokenState};
use crate::validator::seal::{Keyring, SealedSecret};

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
        self.enrol_record(enrolment, None)
    }

    /// Enrols a new token with a keypad: its codes as [`Validator::enrol`] does, and
    /// its RFC 6287 OCRA suite, first OCRA counter and, for a suite with a PIN (`P`),
    /// the device PIN's hash, sealed like the secret (never stored in the clear).
    ///
    /// One record carries both ways the device answers, so they share one failure
    /// count, one lock and one status (see [`TokenState`]). Every token has codes
    /// (`enrolment.kind`): a device that only answers challenges is enrolled with the
    /// parameters it would show codes with, and [`Validator::verify`] then checks codes
    /// nobody without the secret can make, under the same failure limit.
    ///
    /// # Errors
    ///
    /// As [`Validator::enrol`], and [`ValidatorError::OcraSuite`] for a suite with
    /// session information (`S`), which no request carries;
    /// [`ValidatorError::Ocra`] for a `P` suite without a PIN ([`OcraError::Missing`]),
    /// a PIN for a suite without `P` ([`OcraError::NotInSuite`]), an empty PIN or a
    /// hash of the wrong length.
    ///
    /// ```
    /// use otpfob::{Enrolment, Keyring, ManualClock, MemoryStore, OcraEnrolment, Password};
    /// use otpfob::{SealingKey, Secret, TimeSource, TokenId, TokenKind, TotpParameters, Validator};
    ///
    /// let clock = ManualClock::at_secs(1_767_225_600);
    /// let bank = Validator::new(MemoryStore::new(), clock.clone(), Keyring::new(SealingKey::generate(1)?));
    /// let secret = Secret::generate_default()?;
    /// let id = TokenId::new("FOB-0001234")?;
    /// bank.enrol_with_ocra(
    ///     Enrolment { id: id.clone(), secret: &secret, kind: TokenKind::time(TotpParameters::default(), clock.now()), pin: None },
    ///     OcraEnrolment { suite: "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1".parse()?, counter: 0, pin: Some(Password::Pin(b"2468")) },
    /// )?;
    /// let state = bank.state(&id)?.unwrap();
    /// assert_eq!(state.ocra.as_deref().copied().unwrap().next_counter, Some(0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn enrol_with_ocra(
        &self,
        enrolment: Enrolment<'_>,
        ocra: OcraEnrolment<'_>,
    ) -> Result<(), ValidatorError> {
        self.enrol_record(enrolment, Some(ocra))
    }

    fn enrol_record(
        &self,
        enrolment: Enrolment<'_>,
        ocra: Option<OcraEnrolment<'_>>,
    ) -> Result<(), ValidatorError> {
        enrolment.kind.parameters().validate()?;
        let now = self.clock.now();
        let mut state = TokenState::new(enrolment.kind);
        let mut ocra_pin = None;
        if let Some(ocra) = ocra {
            check_suite(&ocra.suite)?;
            ocra_pin = match (ocra.suite.pin_hash(), ocra.pin) {
                (Some(hash), Some(pin)) => Some(self.seal_ocra_pin(&enrolment.id, hash, pin)?),
                (Some(_), None) => {
                    return Err(OcraError::Missing {
                        part: crate::error::DataInputPart::Password,
                    }
                    .into());
                }
                (None, Some(_)) => {
                    return Err(OcraError::NotInSuite {
                        part: crate::error::DataInputPart::Password,
                    }
                    .into());
                }
                (None, None) => None,
            };
            state.ocra = Some(Box::new(OcraState::new(ocra.suite, ocra.counter, now)));
        }
        let sealed_secret = self.keyring.seal(&enrolment.id, enrolment.secret)?;
        let pin = enrolment
            .pin
            .map(|pin| self.pin_hashing.hash(pin))
            .transpose()?;
        let record = TokenRecord {
            id: enrolment.id,
            sealed_secret,
            pin,
            ocra_pin,
            state,
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
    /// counts from the record's issue time, when the factory set its clock. A keypad
    /// fob's OCRA suite, first OCRA counter and (for `P` suites) PIN hash are enrolled
    /// in the same record ([`Validator::enrol_with_ocra`]).
    ///
    /// # Errors
    ///
    /// As [`Validator::enrol_with_ocra`], and [`ValidatorError::TokenId`] for a serial
    /// that is not a valid token id.
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
        let enrolment = Enrolment {
            id: id.clone(),
            secret: &record.secret,
            kind,
            pin,
        };
        let ocra = record.ocra_suite.map(|suite| OcraEnrolment {
            suite,
            counter: record.ocra_counter,
            pin: record
                .ocra_pin_hash
                .as_ref()
                .map(|hash| Password::Hash(hash.expose_bytes())),
        });
        self.enrol_record(enrolment, ocra)?;
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
        self.run(id, Operation::Verify, pin, |record, pin_ok, now| {
            let generator = self.generator(record)?;
            // Unparseable input counts like any wrong code: a garbled guess is a guess.
            let code = Code::parse(code.trim(), generator.parameters().digits)
                .unwrap_or_else(|_| malformed_code(&generator));
            Ok(decide(
                &self.policy,
                &record.state,
                &generator,
                &code,
                pin_ok,
                now,
            ))
        })
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
        self.run(id, Operation::Resync, pin, |record, pin_ok, now| {
            let generator = self.generator(record)?;
            let digits = generator.parameters().digits;
            let bogus = malformed_code(&generator);
            let first = Code::parse(first.trim(), digits).unwrap_or(bogus);
            let second = Code::parse(second.trim(), digits).unwrap_or(bogus);
            Ok(decide_resync(
                &self.policy,
                &record.state,
                &generator,
                &first,
                &second,
                pin_ok,
                now,
            ))
        })
    }

    /// Issues a one-way OCRA challenge (a login or a confirmation) for a keypad token:
    /// a random question of the suite's format and full length
    /// ([`Challenge::generate`]), accepted until the policy's
    /// [`challenge_lifetime`](Policy::challenge_lifetime) (5 minutes by default) has
    /// passed. Show the customer `challenge`; [`Validator::verify_response`] checks
    /// the response.
    ///
    /// The token keeps one challenge: a new one replaces any still open, which is then
    /// never accepted. The token's lock and status are not looked at, so the page
    /// looks the same for every token; the verification rejects a locked or disabled
    /// one.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::NoOcra`] for a token without an OCRA suite,
    /// [`ValidatorError::Ocra`] if the operating system has no randomness,
    /// [`StoreError::NotEnrolled`], store errors, contention.
    ///
    /// ```
    /// use otpfob::{Device, KeyFob, Keyring, ManualClock, MemoryStore, RejectReason};
    /// use otpfob::{SealingKey, TotpParameters, Validator};
    ///
    /// let world = ManualClock::at_secs(1_767_225_600);
    /// let (mut fob, record) = KeyFob::builder("FOB-0001234", TotpParameters::default())
    ///     .pin("4821")
    ///     .ocra("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1".parse()?)
    ///     .build(world.clone())?;
    /// let bank = Validator::new(MemoryStore::new(), world.clone(), Keyring::new(SealingKey::generate(1)?));
    /// let id = bank.enrol_factory_record(&record, None)?;
    ///
    /// let issued = bank.issue_challenge(&id)?;
    /// fob.enter_pin("4821")?;
    /// let response = fob.respond(issued.challenge.as_str())?.code().to_string();
    /// assert!(bank.verify_response(&id, &response, None).is_ok());
    /// // The challenge is spent: the same response again is rejected.
    /// let again = bank.verify_response(&id, &response, None).unwrap_err();
    /// assert_eq!(again.reason(), RejectReason::ChallengeSpent);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn issue_challenge(&self, id: &TokenId) -> Result<IssuedChallenge, ValidatorError> {
        self.issue(id, None)
    }

    /// Issues an OCRA signature challenge for a transfer (RFC 6287 §7.3): a fresh
    /// [`SigningNonce`], and the challenge
    /// [`Transaction::signature_challenge`] derives from the transfer and the nonce.
    /// The token's record keeps the nonce and the transfer's digest
    /// ([`TransactionCommitment`]) until [`Validator::verify_signature`] is given
    /// the transfer again with the signature; the challenge lives as long as one from
    /// [`Validator::issue_challenge`] and replaces any still open.
    ///
    /// # Security
    ///
    /// The customer cannot read the transfer out of the challenge: show the transfer's
    /// amount, currency and beneficiary beside it.
    ///
    /// # Errors
    ///
    /// As [`Validator::issue_challenge`].
    pub fn issue_signature_challenge(
        &self,
        id: &TokenId,
        transaction: &Transaction,
    ) -> Result<IssuedChallenge, ValidatorError> {
        self.issue(id, Some(transaction))
    }

    fn issue(
        &self,
        id: &TokenId,
        transaction: Option<&Transaction>,
    ) -> Result<IssuedChallenge, ValidatorError> {
        let now = self.clock.now();
        let expires_at = now.plus(self.policy.challenge_lifetime);
        let operation = match transaction {
            None => Operation::Challenge,
            Some(_) => Operation::SignatureChallenge,
        };
        self.administer_at(id, operation, now, |record| {
            let keypad = record
                .state
                .ocra
                .as_mut()
                .ok_or_else(|| ValidatorError::NoOcra {
                    token: record.id.to_string(),
                })?;
            let issued = match transaction {
                None => IssuedChallenge {
                    challenge: Challenge::generate(keypad.suite.question())?,
                    expires_at,
                    transaction: None,
                },
                Some(transaction) => {
                    let nonce = SigningNonce::generate()?;
                    IssuedChallenge {
                        challenge: transaction.signature_challenge(&keypad.suite, &nonce),
                        expires_at,
                        transaction: Some(TransactionCommitment::new(transaction, nonce)),
                    }
                }
            };
            keypad.challenge = ChallengeSlot::Open(issued);
            Ok(issued)
        })
    }

    /// Checks an OCRA response, as typed (`"1234 5678"` is fine), to the challenge
    /// [`Validator::issue_challenge`] issued for the token, with the server-side PIN if
    /// the token has one. The first response spends the challenge, whether it is
    /// accepted or not; see [`decide_ocra`] for every rule. A request that fails
    /// before the decision (an unknown token, a seal that does not open, a store
    /// failure) changes nothing and is rejected.
    ///
    /// # Errors
    ///
    /// [`Rejected`] for anything but an acceptance: no open challenge, a spent or
    /// expired one, a signature challenge, a wrong or malformed response, a wrong PIN,
    /// a locked, disabled or unknown token, a store failure.
    pub fn verify_response(
        &self,
        id: &TokenId,
        response: &str,
        pin: Option<&str>,
    ) -> Result<Acceptance, Rejected> {
        self.verify_ocra(id, Operation::VerifyResponse, None, response, pin)
    }

    /// Checks an OCRA signature of `transaction`, as typed, against the signature
    /// challenge [`Validator::issue_signature_challenge`] issued for the token: pass
    /// the transfer exactly as it will be executed. A signature for another transfer
    /// (one cent more, another account) is rejected, as is one for a challenge that is
    /// spent or expired.
    ///
    /// # Errors
    ///
    /// As [`Validator::verify_response`], and [`Rejected`] with
    /// [`RejectReason::TransactionMismatch`] for another transfer or a login challenge.
    ///
    /// ```
    /// use otpfob::{Currency, Device, KeyFob, Keyring, ManualClock, MemoryStore};
    /// use otpfob::{RejectReason, SealingKey, TotpParameters, Transaction, Validator};
    ///
    /// let world = ManualClock::at_secs(1_767_225_600);
    /// let (mut fob, record) = KeyFob::builder("FOB-0001234", TotpParameters::default())
    ///     .pin("4821")
    ///     .ocra("OCRA-1:HOTP-SHA256-8:QN08-T1M".parse()?)
    ///     .build(world.clone())?;
    /// let bank = Validator::new(MemoryStore::new(), world.clone(), Keyring::new(SealingKey::generate(1)?));
    /// let id = bank.enrol_factory_record(&record, None)?;
    ///
    /// let transfer = Transaction::new(125_000, Currency::new("EUR")?, "DE89370400440532013000", None)?;
    /// let issued = bank.issue_signature_challenge(&id, &transfer)?;
    /// fob.enter_pin("4821")?;
    /// let signature = fob.respond(issued.challenge.as_str())?.code().to_string();
    ///
    /// let tampered = Transaction::new(925_000, Currency::new("EUR")?, "DE89370400440532013000", None)?;
    /// let rejected = bank.verify_signature(&id, &tampered, &signature, None).unwrap_err();
    /// assert_eq!(rejected.reason(), RejectReason::TransactionMismatch);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_signature(
        &self,
        id: &TokenId,
        transaction: &Transaction,
        response: &str,
        pin: Option<&str>,
    ) -> Result<Acceptance, Rejected> {
        self.verify_ocra(
            id,
            Operation::VerifySignature,
            Some(transaction),
            response,
            pin,
        )
    }

    fn verify_ocra(
        &self,
        id: &TokenId,
        operation: Operation,
        transaction: Option<&Transaction>,
        response: &str,
        pin: Option<&str>,
    ) -> Result<Acceptance, Rejected> {
        self.run(id, operation, pin, |record, pin_ok, now| {
            let keypad = record
                .state
                .ocra
                .as_deref()
                .copied()
                .ok_or(RejectReason::NoChallenge)?;
            let secret = self
                .keyring
                .open(&record.id, &record.sealed_secret)
                .map_err(|_| RejectReason::SealBroken)?;
            let ocra = Ocra::new(&secret, keypad.suite);
            let pin_hash = match (keypad.suite.pin_hash(), &record.ocra_pin) {
                (Some(_), Some(sealed)) => Some(
                    self.keyring
                        .open_ocra_pin_hash(&record.id, sealed)
                        .map_err(|_| RejectReason::SealBroken)?,
                ),
                // Enrolment refuses a P suite without its PIN hash.
                (Some(_), None) => return Err(RejectReason::StoreFailure),
                (None, _) => None,
            };
            let response = keypad.suite.parse_response(response).ok();
            let attempt = OcraAttempt {
                response: response.as_ref(),
                transaction,
                pin_hash: pin_hash.as_ref().map(Secret::expose_bytes),
                pin_ok,
            };
            Ok(decide_ocra(
                &self.policy,
                &record.state,
                &ocra,
                &attempt,
                now,
            ))
        })
    }

    /// Load, open, check PIN, decide, store; retried on conflict. `decide_with` opens
    /// what it needs from the record and takes the pure decision; an error is a
    /// rejection that changes nothing.
    fn run(
        &self,
        id: &TokenId,
        operation: Operation,
        pin: Option<&str>,
        decide_with: impl Fn(&TokenRecord, bool, UnixTime) -> Result<Decision, RejectReason>,
    ) -> Result<Acceptance, Rejected> {
        let now = self.clock.now();
        for _ in 0..MAX_ATTEMPTS {
            let record = match self.store.load(id) {
                Ok(Some(record)) => record,
                Ok(None) => return self.reject(id, now, operation, RejectReason::UnknownToken),
                Err(_) => return self.reject(id, now, operation, RejectReason::StoreFailure),
            };
            let pin_ok = match (&record.pin, pin) {
                (Some(hash), Some(pin)) => pin_matches(hash, pin),
                (None, None) => true,
                // A PIN where none is set, or none where one is: an integration
                // mistake or a guess; either way, not a pass.
                _ => false,
            };
            let decision = match decide_with(&record, pin_ok, now) {
                Ok(decision) => decision,
                Err(reason) => return self.reject(id, now, operation, reason),
            };
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
            let expected_version = record.version;
            let updated = TokenRecord {
                state: decision.state,
                version: expected_version.saturating_add(1),
                ..record
            };
            match self
                .store
                .compare_and_swap_owned(updated, expected_version, &event)
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
        // An unknown token is audited too: skipping the write would answer it faster
        // than a wrong code for an enrolled token (one store write), which tells an
        // attacker which ids are enrolled; and the trail then shows who probed.
        let _ = self.store.append_audit(&event);
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
            actor: crate::validator::audit::current_actor(),
        }
    }

    fn publish(&self, event: &AuditEvent) {
        for sink in &self.sinks {
            sink.record(event);
        }
    }

    /// Applies an administrative change to a token's record with compare-and-swap.
    fn administer<T>(
        &self,
        id: &TokenId,
        operation: Operation,
        change: impl Fn(&mut TokenRecord) -> Result<T, ValidatorError>,
    ) -> Result<T, ValidatorError> {
        self.administer_at(id, operation, self.clock.now(), change)
    }

    /// As `administer`, at a time the caller has read.
    fn administer_at<T>(
        &self,
        id: &TokenId,
        operation: Operation,
        now: UnixTime,
        change: impl Fn(&mut TokenRecord) -> Result<T, ValidatorError>,
    ) -> Result<T, ValidatorError> {
        for _ in 0..MAX_ATTEMPTS {
            let record = self
                .store
                .load(id)?
                .ok_or_else(|| StoreError::NotEnrolled {
                    token: id.to_string(),
                })?;
            let mut updated = record.clone();
            let value = change(&mut updated)?;
            updated.version = record.version.saturating_add(1);
            let event = self.event(id, now, operation, Outcome::Done, None);
            if self
                .store
                .compare_and_swap(&updated, record.version, &event)?
                == Swap::Swapped
            {
                self.publish(&event);
                return Ok(value);
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

    /// Replaces the device PIN's hash of a token whose OCRA suite has a PIN (`P`):
    /// after the customer changed the fob's PIN, or set a new one in the fob's unlock
    /// procedure. The fob hashes the PIN it is opened with into every response, so
    /// until the bank has the new PIN, every response is rejected. The hash is sealed;
    /// the PIN is never stored.
    ///
    /// # Errors
    ///
    /// [`ValidatorError::NoOcra`], [`ValidatorError::OcraSuite`] for a suite without
    /// `P`, [`ValidatorError::Ocra`] for an empty PIN, and as [`Validator::unlock`].
    pub fn set_ocra_pin(&self, id: &TokenId, pin: &str) -> Result<(), ValidatorError> {
        self.administer(id, Operation::SetOcraPin, |record| {
            let keypad =
                record
                    .state
                    .ocra
                    .as_deref()
                    .copied()
                    .ok_or_else(|| ValidatorError::NoOcra {
                        token: record.id.to_string(),
                    })?;
            let hash = keypad.suite.pin_hash().ok_or(ValidatorError::OcraSuite {
                suite: keypad.suite.to_string(),
                reason: "the suite hashes no PIN (P)",
            })?;
            record.ocra_pin =
                Some(self.seal_ocra_pin(&record.id, hash, Password::Pin(pin.as_bytes()))?);
            Ok(())
        })
    }

    /// Hashes a PIN with an OCRA suite's PIN hash (or checks a given hash) and seals
    /// the hash for `token`.
    fn seal_ocra_pin(
        &self,
        token: &TokenId,
        hash: crate::algorithm::Algorithm,
        pin: Password<'_>,
    ) -> Result<SealedSecret, ValidatorError> {
        let pin_hash = password_hash(hash, pin)?;
        Ok(self.keyring.seal_ocra_pin_hash(token, &pin_hash)?)
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

    /// Seals every token's secret (and OCRA PIN hash) again under the keyring's
    /// current key, after a key rotation; returns how many tokens were resealed. Tokens
    /// already under the current key are left alone, so an interrupted run can simply
    /// be repeated.
    ///
    /// # Errors
    ///
    /// The first store or seal error; tokens done before it stay done.
    pub fn reseal_all(&self) -> Result<usize, ValidatorError> {
        let current = self.keyring.current().id();
        let mut resealed = 0;
        for id in self.store.list()? {
            let stale = |record: &TokenRecord| {
                record.sealed_secret.key_id != current
                    || record
                        .ocra_pin
                        .as_ref()
                        .is_some_and(|sealed| sealed.key_id != current)
            };
            let needs = self.store.load(&id)?.is_some_and(|record| stale(&record));
            if needs {
                self.administer(&id, Operation::Reseal, |record| {
                    if record.sealed_secret.key_id != current {
                        record.sealed_secret =
                            self.keyring.reseal(&record.id, &record.sealed_secret)?;
                    }
                    if let Some(sealed) = record
                        .ocra_pin
                        .as_ref()
                        .filter(|sealed| sealed.key_id != current)
                    {
                        record.ocra_pin =
                            Some(self.keyring.reseal_ocra_pin_hash(&record.id, sealed)?);
                    }
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

/// Refuses a suite the validator cannot verify: session information (`S`) comes with
/// no request.
fn check_suite(suite: &OcraSuite) -> Result<(), ValidatorError> {
    if suite.session_length().is_some() {
        return Err(ValidatorError::OcraSuite {
            suite: suite.to_string(),
            reason: "no request carries session information (S) to verify with",
        });
    }
    Ok(())
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
