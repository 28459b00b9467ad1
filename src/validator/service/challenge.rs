//! The OCRA challenge life cycle: issue a challenge (or a signature challenge over a
//! transfer), then verify its response once.

use crate::clock::TimeSource;
use crate::ocra::{Challenge, Ocra, OcraSuite, SignedFields, SigningNonce, Transaction};
use crate::secret::Secret;
use crate::validator::audit::Operation;
use crate::validator::challenge::{ChallengeSlot, IssuedChallenge, TransactionCommitment};
use crate::validator::decision::Acceptance;
use crate::validator::error::ValidatorError;
use crate::validator::error::{RejectReason, Rejected};
use crate::validator::ocra_decision::{OcraAttempt, decide_ocra};
use crate::validator::record::TokenId;
use crate::validator::store::Store;

use super::Validator;
use super::decoy::DecoyFamily;

/// The longest a sign-mode question stays open, whatever the policy says: the RTS
/// caps an authentication code's validity at 5 minutes (Art. 4(3)(d)).
pub const SIGN_MODE_MAX_LIFETIME: core::time::Duration = core::time::Duration::from_secs(5 * 60);

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// Issues a one-way OCRA challenge (a login or a confirmation) for a keypad token:
    /// a random question of the suite's format and full length
    /// ([`Challenge::generate`]), accepted until the policy's
    /// [`challenge_lifetime`](crate::Policy::challenge_lifetime) (5 minutes by default) has
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
    /// [`StoreError::NotEnrolled`](crate::StoreError::NotEnrolled), store errors, contention.
    ///
    /// ```
    /// use otpfob::{Device, Enrolment, KeyFob, Keyring, ManualClock, MemoryStore, RejectReason};
    /// use otpfob::{SealingKey, TotpParameters, Validator};
    ///
    /// let world = ManualClock::at_secs(1_767_225_600);
    /// let (mut fob, record) = KeyFob::builder("FOB-0001234", TotpParameters::default())
    ///     .pin("4821")
    ///     .ocra("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1".parse()?)
    ///     .build(world.clone())?;
    /// let bank = Validator::new(MemoryStore::new(), world.clone(), Keyring::new(SealingKey::generate(1)?));
    /// let id = bank.enrol(Enrolment::from(&record))?;
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

    /// Opens sign mode for a transfer the bank is about to execute: the question is
    /// recomputed from `fields` ([`SignedFields::of_transaction`] or
    /// [`SignedFields::of_batch`] of what the bank will execute, never from what the
    /// customer's browser says it showed), and the customer's fob signs the fields the
    /// customer types ([`KeyFob::sign`](crate::KeyFob::sign)). Check the signature
    /// with [`Validator::verify_response`]: it is accepted only if the customer typed
    /// the same payee digits and amount. Nothing is sent to the customer: sign mode
    /// has no challenge to show.
    ///
    /// The question is open for the policy's challenge lifetime, and never more than
    /// [`SIGN_MODE_MAX_LIFETIME`] (PSD2 RTS Art. 4(3)(d)).
    ///
    /// # Errors
    ///
    /// As [`Validator::issue_challenge`], and [`ValidatorError::Ocra`] when the
    /// token's suite cannot hold the question (it needs a numeric question of 19
    /// digits or more, `QN19` to `QN64`).
    pub fn issue_sign_mode(
        &self,
        id: &TokenId,
        fields: &SignedFields,
    ) -> Result<IssuedChallenge, ValidatorError> {
        let now = self.clock.now();
        let lifetime = self.policy.challenge_lifetime.min(SIGN_MODE_MAX_LIFETIME);
        let expires_at = now.plus(lifetime);
        let question = fields.question();
        self.administer_at(id, Operation::SignatureChallenge, now, |record| {
            let keypad = record
                .state
                .ocra
                .as_mut()
                .ok_or_else(|| ValidatorError::NoOcra {
                    token: record.id.to_string(),
                })?;
            let issued = IssuedChallenge {
                challenge: Challenge::parse(keypad.suite.question(), &question)?,
                expires_at,
                transaction: None,
            };
            keypad.challenge = ChallengeSlot::Open(issued);
            Ok(issued)
        })
    }

    pub(super) fn issue(
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
    /// use otpfob::{Device, Enrolment, KeyFob, Keyring, ManualClock, MemoryStore, ocra::Currency};
    /// use otpfob::{RejectReason, SealingKey, TotpParameters, Validator, ocra::Transaction};
    ///
    /// let world = ManualClock::at_secs(1_767_225_600);
    /// let (mut fob, record) = KeyFob::builder("FOB-0001234", TotpParameters::default())
    ///     .pin("4821")
    ///     .ocra("OCRA-1:HOTP-SHA256-8:QN08-T1M".parse()?)
    ///     .build(world.clone())?;
    /// let bank = Validator::new(MemoryStore::new(), world.clone(), Keyring::new(SealingKey::generate(1)?));
    /// let id = bank.enrol(Enrolment::from(&record))?;
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

    pub(super) fn verify_ocra(
        &self,
        id: &TokenId,
        operation: Operation,
        transaction: Option<&Transaction>,
        response: &str,
        pin: Option<&str>,
    ) -> Result<Acceptance, Rejected> {
        // The keypad decoy stands in for an unknown id (see `decoy.rs`). Its challenge
        // commits to no transfer: for it, the transfer is hashed all the same, as an
        // enrolled token's commitment is checked, and the response is then computed and
        // compared as for a matching transfer.
        let decoy = self
            .decoy_for(DecoyFamily::Keypad)
            .ok()
            .map(|decoy| (decoy.record.incarnation, decoy.signing_nonce));
        self.run(
            id,
            operation,
            DecoyFamily::Keypad,
            pin,
            |record, pin_ok, now| {
                let transaction = match (transaction, decoy) {
                    (Some(transfer), Some((incarnation, nonce)))
                        if record.incarnation == incarnation =>
                    {
                        std::hint::black_box(transfer.digest(&nonce));
                        None
                    }
                    (transaction, _) => transaction,
                };
                let keypad = record
                    .state
                    .ocra
                    .as_deref()
                    .copied()
                    .ok_or(RejectReason::NoChallenge)?;
                let secret = self
                    .keyring
                    .open(&record.id, &record.sealed_secret)
                    .map_err(|error| RejectReason::of_seal_error(&error))?;
                let ocra = Ocra::new(&secret, keypad.suite);
                let pin_hash = match (keypad.suite.pin_hash(), &record.ocra_pin) {
                    (Some(_), Some(sealed)) => Some(
                        self.keyring
                            .open_ocra_pin_hash(&record.id, sealed)
                            .map_err(|error| RejectReason::of_seal_error(&error))?,
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
            },
        )
    }
}

/// Refuses a suite the validator cannot verify: session information (`S`) comes with
/// no request.
pub(super) fn check_suite(suite: &OcraSuite) -> Result<(), ValidatorError> {
    if suite.session_length().is_some() {
        return Err(ValidatorError::OcraSuite {
            suite: suite.to_string(),
            reason: "no request carries session information (S) to verify with",
        });
    }
    Ok(())
}
