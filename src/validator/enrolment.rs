//! What a new token is, before the validator enrols it: the one description every
//! enrolment takes, whether the token comes from a vendor's factory record, a PSKC seed
//! file or a secret made on the spot. Its sources convert into it where they are
//! written (`device/`, `provision/pskc/`), so the bank side depends on none of them.

use core::fmt;
use core::num::NonZeroU32;

use zeroize::Zeroizing;

use crate::clock::UnixTime;
use crate::ocra::{OcraSuite, Password};
use crate::parameters::OtpParameters;
use crate::secret::Secret;
use crate::validator::error::SealError;
use crate::validator::lifecycle::{CustomerRef, Validity};
use crate::validator::pin::PinHash;
use crate::validator::record::{TokenId, TokenKind};

/// A token to enrol with [`Validator::enrol`](crate::Validator::enrol): its id, its
/// secret, how it makes codes and where it starts, and optionally a server-side PIN and
/// a keypad's OCRA suite.
///
/// Start from [`Enrolment::new`] (a secret the caller has), [`Enrolment::generate`] (a
/// fresh one, for an authenticator app) or a conversion, written beside its source:
/// `Enrolment::from(&factory_record)` for a vendor's `otpfob::device::FactoryRecord`,
/// and, with feature `pskc`, `Enrolment::try_from(&pskc_key)` or
/// `Enrolment::try_from(&provisioned_token)`.
/// Then set what differs from the defaults (counter 0, no drift, synchronised at
/// enrolment, no PIN, no keypad) with the `with_` methods.
///
/// ```
/// use otpfob::{Enrolment, HotpParameters, Keyring, ManualClock, MemoryStore, SealingKey};
/// use otpfob::{Secret, TokenId, Validator};
///
/// let bank = Validator::new(MemoryStore::new(), ManualClock::at_secs(1_767_225_600), Keyring::new(SealingKey::generate(1)?));
/// let secret = Secret::from_bytes(b"12345678901234567890")?;
/// let id = bank.enrol(
///     Enrolment::new(TokenId::new("FOB-0001234")?, secret, HotpParameters::default())
///         .with_counter(3)
///         .with_pin("4821"),
/// )?;
/// assert!(bank.verify(&id, "969429", Some("4821")).is_ok()); // RFC 4226, counter 3
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Security
///
/// It holds the token's secret and PINs until the validator has sealed and hashed them:
/// they are zeroized when it is dropped, and `Debug` prints none of them.
#[derive(Clone)]
pub struct Enrolment {
    pub(crate) id: TokenId,
    pub(crate) secret: Secret,
    pub(crate) parameters: OtpParameters,
    pub(crate) counter: u64,
    pub(crate) drift_steps: i64,
    pub(crate) synced_at: Option<UnixTime>,
    pub(crate) pin: Option<Zeroizing<String>>,
    pub(crate) ocra: Option<OcraEnrolment>,
    pub(crate) validity: Validity,
    pub(crate) owner: Option<CustomerRef>,
    /// How many codes the token may accept in all; `None` for no limit.
    pub(crate) uses: Option<NonZeroU32>,
    /// The lost token this one temporarily replaces: set only by
    /// [`Validator::issue_temporary_replacement`](crate::Validator::issue_temporary_replacement).
    pub(crate) replaces: Option<TokenId>,
    /// State carried over from another server (a migration); see [`Enrolment::with_carried`].
    pub(crate) carried: CarriedState,
    /// A fob's unlock key, from its factory record; see [`Enrolment::with_unlock_key`].
    pub(crate) unlock_key: Option<Secret>,
}

/// The state a token brings from the server it leaves (privacyIDEA, LinOTP): what a
/// migration must not reset, or a customer's spent codes become good again and a
/// guesser's failures are forgotten.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CarriedState {
    /// For a time token: the last step the old server accepted; it and every step
    /// before it stay spent.
    pub last_accepted_step: Option<u64>,
    /// Consecutive failures the old server counted.
    pub failures: u32,
    /// Whether the old server held the token locked (its failure limit reached): it
    /// stays locked until an administrator unlocks it.
    pub locked: bool,
    /// Whether an administrator had taken the token out of service.
    pub disabled: bool,
    /// The old server's hash of the server-side PIN (an Argon2id PHC string, as
    /// privacyIDEA writes), kept as it is: nobody needs to know the PIN to carry it.
    /// The validator rehashes it at its own cost at the first code accepted with the
    /// right PIN.
    pub pin_hash: Option<PinHash>,
}

impl Enrolment {
    /// A token `id` with `secret` making codes by `parameters`: an event token's first
    /// code is that of counter 0; a time token has no drift, as of its enrolment; no
    /// server-side PIN, no keypad.
    #[must_use]
    pub fn new(id: TokenId, secret: Secret, parameters: impl Into<OtpParameters>) -> Self {
        Self {
            id,
            secret,
            parameters: parameters.into(),
            counter: 0,
            drift_steps: 0,
            synced_at: None,
            pin: None,
            ocra: None,
            validity: Validity::ALWAYS,
            owner: None,
            uses: None,
            replaces: None,
            carried: CarriedState::default(),
            unlock_key: None,
        }
    }

    /// A token with a fresh 160-bit secret from the operating system's CSPRNG, and that
    /// secret: the one copy to deliver to the customer's device (a key URI or QR code
    /// for an authenticator app, or a [`SoftToken`](crate::SoftToken)). The validator
    /// keeps only the sealed copy, so once this secret is dropped nobody can show it
    /// again.
    ///
    /// # Errors
    ///
    /// [`SealError::RandomSource`] if the operating system cannot supply randomness.
    ///
    /// ```
    /// use otpfob::{Device, Enrolment, Keyring, KeyUri, ManualClock, MemoryStore, SealingKey};
    /// use otpfob::{SoftToken, TokenId, TotpParameters, Validator};
    ///
    /// let clock = ManualClock::at_secs(1_767_225_600);
    /// let bank = Validator::new(MemoryStore::new(), clock.clone(), Keyring::new(SealingKey::generate(1)?));
    /// let (enrolment, secret) = Enrolment::generate(TokenId::new("alice-phone")?, TotpParameters::default())?;
    /// let id = bank.enrol(enrolment)?;
    /// let uri = KeyUri::new(secret.clone(), "alice@example.com", TotpParameters::default())?;
    /// assert!(uri.to_uri().starts_with("otpauth://totp/"));
    ///
    /// let mut phone = SoftToken::new(id.as_str(), &secret, TotpParameters::default(), clock.clone())?;
    /// let code = phone.press()?.code().to_string();
    /// assert!(bank.verify(&id, &code, None).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn generate(
        id: TokenId,
        parameters: impl Into<OtpParameters>,
    ) -> Result<(Self, Secret), SealError> {
        let secret = Secret::generate_default().map_err(|error| SealError::RandomSource {
            reason: error.to_string(),
        })?;
        Ok((Self::new(id, secret.clone(), parameters), secret))
    }

    /// For an event (HOTP) token: the counter of its first code (default 0). A time
    /// token ignores it.
    #[must_use]
    pub fn with_counter(mut self, counter: u64) -> Self {
        self.counter = counter;
        self
    }

    /// For a time (TOTP) token: the time steps its clock is known to be ahead of the
    /// bank's (negative when behind), as a PSKC file's `<TimeDrift>` says; it starts as
    /// the learned drift (default 0). An event token ignores it.
    #[must_use]
    pub fn with_drift_steps(mut self, drift_steps: i64) -> Self {
        self.drift_steps = drift_steps;
        self
    }

    /// For a time (TOTP) token: when its clock last agreed with the bank's (the factory
    /// setting its clock, a seed file's start date), from which the drift tolerance
    /// widens the window. A time later than the enrolment counts as the enrolment, as
    /// does leaving it unset: a clock cannot have drifted before it was set.
    #[must_use]
    pub fn with_synced_at(mut self, synced_at: UnixTime) -> Self {
        self.synced_at = Some(synced_at);
        self
    }

    /// The period in which the token's codes are accepted (a factory record's issue
    /// and expiry times, a PSKC `<StartDate>`/`<ExpiryDate>`, a migrated validity period); outside it every code is
    /// rejected, whatever the token's status.
    #[must_use]
    pub fn with_validity(mut self, validity: Validity) -> Self {
        self.validity = validity;
        self
    }

    /// How many codes the token may accept in all: after the last one every code is
    /// rejected as [`RejectReason::UsesSpent`](crate::validator::RejectReason::UsesSpent),
    /// as for a temporary replacement that ends at a set number of uses, or a list of
    /// emergency codes. Not for an EMV-CAP card (refused at enrolment).
    #[must_use]
    pub fn with_use_limit(mut self, uses: NonZeroU32) -> Self {
        self.uses = Some(uses);
        self
    }

    /// The customer who holds the token (see
    /// [`Validator::assign_owner`](crate::Validator::assign_owner), which can also do
    /// it later).
    #[must_use]
    pub fn with_owner(mut self, owner: CustomerRef) -> Self {
        self.owner = Some(owner);
        self
    }

    /// A server-side PIN to require before the token's codes; it is hashed (Argon2id)
    /// before it reaches the store.
    #[must_use]
    pub fn with_pin(mut self, pin: &str) -> Self {
        self.pin = Some(Zeroizing::new(pin.to_owned()));
        self
    }

    /// The token's keypad: its RFC 6287 OCRA suite, first counter and device PIN. One
    /// record carries both ways the device answers, so they share one failure count,
    /// one lock and one status (see [`TokenState`](crate::validator::TokenState)).
    #[must_use]
    pub fn with_ocra(mut self, ocra: OcraEnrolment) -> Self {
        self.ocra = Some(ocra);
        self
    }

    /// State carried from the server the token leaves (a migration): its spent steps,
    /// failure count, lock, status and PIN hash. A PIN hash here takes the place of
    /// [`Enrolment::with_pin`].
    #[must_use]
    pub fn with_carried(mut self, carried: CarriedState) -> Self {
        self.carried = carried;
        self
    }

    /// A fob's unlock key (its factory record's), which the validator seals with the
    /// record so that it can answer the fob's unlock challenge
    /// ([`Validator::unlock_code`](crate::Validator::unlock_code)).
    /// `Enrolment::from(&factory_record)` sets it; a token without a PIN pad to unlock
    /// (a soft token, a PSKC key) has none.
    ///
    /// # Security
    ///
    /// The key opens the fob's PIN gate: it is zeroized when the enrolment is dropped,
    /// printed redacted by `Debug`, and stored only sealed.
    #[must_use]
    pub fn with_unlock_key(mut self, unlock_key: Secret) -> Self {
        self.unlock_key = Some(unlock_key);
        self
    }

    /// Whether the enrolment carries a fob's unlock key ([`Enrolment::with_unlock_key`]).
    #[must_use]
    pub fn has_unlock_key(&self) -> bool {
        self.unlock_key.is_some()
    }

    /// The token's id.
    #[must_use]
    pub fn id(&self) -> &TokenId {
        &self.id
    }

    /// How the token makes its codes.
    #[must_use]
    pub fn parameters(&self) -> OtpParameters {
        self.parameters
    }

    /// The keypad being enrolled, if any.
    #[must_use]
    pub fn ocra(&self) -> Option<&OcraEnrolment> {
        self.ocra.as_ref()
    }

    /// The state the token's codes start in when it is enrolled at `now`: an event
    /// token at its counter; a time token with its drift, synchronised at the earlier
    /// of its synchronisation time and `now`.
    #[must_use]
    pub fn token_kind(&self, now: UnixTime) -> TokenKind {
        let synced_at = self
            .synced_at
            .filter(|synced| *synced <= now)
            .unwrap_or(now);
        let mut kind = TokenKind::new(self.parameters, self.counter, synced_at);
        if let TokenKind::Time {
            drift_steps,
            last_accepted_step,
            ..
        } = &mut kind
        {
            *drift_steps = self.drift_steps;
            *last_accepted_step = self.carried.last_accepted_step;
        }
        kind
    }

    /// The period the token's codes are accepted in.
    #[must_use]
    pub fn validity(&self) -> Validity {
        self.validity
    }

    /// The customer the token is enrolled for, if any.
    #[must_use]
    pub fn owner(&self) -> Option<&CustomerRef> {
        self.owner.as_ref()
    }

    /// How many codes the token may accept in all, if that is limited.
    #[must_use]
    pub fn use_limit(&self) -> Option<NonZeroU32> {
        self.uses
    }
}

impl fmt::Debug for Enrolment {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Enrolment")
            .field("id", &self.id)
            .field("secret", &self.secret)
            .field("parameters", &self.parameters)
            .field("counter", &self.counter)
            .field("drift_steps", &self.drift_steps)
            .field("synced_at", &self.synced_at)
            .field("pin", &self.pin.as_ref().map(|_| "[REDACTED]"))
            .field("ocra", &self.ocra)
            .field("validity", &self.validity)
            .field("owner", &self.owner)
            .field("uses", &self.uses)
            .field("replaces", &self.replaces)
            .field("carried", &self.carried)
            .field("unlock_key", &self.unlock_key)
            .finish()
    }
}

/// The keypad of a token being enrolled ([`Enrolment::with_ocra`]): its RFC 6287 OCRA
/// suite, the counter of its first response, and for suites with a PIN (`P`) the
/// device's PIN or its hash.
///
/// ```
/// use otpfob::{Enrolment, Keyring, ManualClock, MemoryStore, SealingKey, Secret, TimeSource};
/// use otpfob::{TokenId, TotpParameters, Validator, ocra::Password, validator::OcraEnrolment};
///
/// let clock = ManualClock::at_secs(1_767_225_600);
/// let bank = Validator::new(MemoryStore::new(), clock.clone(), Keyring::new(SealingKey::generate(1)?));
/// let keypad = OcraEnrolment::new("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1".parse()?)
///     .with_pin(Password::Pin(b"2468"));
/// let id = bank.enrol(
///     Enrolment::new(TokenId::new("FOB-0001234")?, Secret::generate_default()?, TotpParameters::default())
///         .with_ocra(keypad),
/// )?;
/// let state = bank.state(&id)?.unwrap();
/// assert_eq!(state.ocra.as_deref().copied().unwrap().next_counter, Some(0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Security
///
/// The PIN, or its hash (as guessable as the PIN), is zeroized on drop, printed by
/// `Debug` as redacted, and sealed like the secret before it reaches the store.
#[derive(Clone)]
pub struct OcraEnrolment {
    pub(crate) suite: OcraSuite,
    pub(crate) counter: u64,
    pin: Option<OcraPin>,
}

/// A keypad's PIN as the enrolment keeps it: owned, so that an enrolment can outlive
/// whatever it was made from.
#[derive(Clone)]
enum OcraPin {
    /// As typed; hashed with the suite's hash at enrolment.
    Typed(Zeroizing<Vec<u8>>),
    /// Already hashed with the suite's hash.
    Hashed(Zeroizing<Vec<u8>>),
}

impl OcraEnrolment {
    /// A keypad answering with `suite`, whose first response has counter 0 (for suites
    /// with a counter, `C`), without a PIN.
    #[must_use]
    pub fn new(suite: OcraSuite) -> Self {
        Self {
            suite,
            counter: 0,
            pin: None,
        }
    }

    /// The counter of the device's first response, for suites with a counter (`C`).
    #[must_use]
    pub fn with_counter(mut self, counter: u64) -> Self {
        self.counter = counter;
        self
    }

    /// For suites with a PIN (`P`): the device's PIN, or its hash under the suite's
    /// hash. Checked at enrolment: a suite without `P` refuses it, one with `P` needs
    /// it.
    #[must_use]
    pub fn with_pin(mut self, pin: Password<'_>) -> Self {
        self.pin = Some(match pin {
            Password::Pin(typed) => OcraPin::Typed(Zeroizing::new(typed.to_vec())),
            Password::Hash(hashed) => OcraPin::Hashed(Zeroizing::new(hashed.to_vec())),
        });
        self
    }

    /// The device's OCRA suite.
    #[must_use]
    pub fn suite(&self) -> OcraSuite {
        self.suite
    }

    /// The counter of the device's first response.
    #[must_use]
    pub fn counter(&self) -> u64 {
        self.counter
    }

    /// The PIN given, as the OCRA computation takes it.
    pub(crate) fn pin(&self) -> Option<Password<'_>> {
        self.pin.as_ref().map(|pin| match pin {
            OcraPin::Typed(typed) => Password::Pin(typed),
            OcraPin::Hashed(hashed) => Password::Hash(hashed),
        })
    }
}

impl fmt::Debug for OcraEnrolment {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("OcraEnrolment")
            .field("suite", &self.suite)
            .field("counter", &self.counter)
            .field("pin", &self.pin())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotp::HotpParameters;
    use crate::totp::TotpParameters;

    fn enrolment(parameters: impl Into<OtpParameters>) -> Enrolment {
        Enrolment::new(
            TokenId::new("T-1").unwrap(),
            Secret::from_bytes(b"12345678901234567890").unwrap(),
            parameters,
        )
    }

    #[test]
    fn a_time_token_is_synchronised_no_later_than_its_enrolment() {
        let now = UnixTime::from_secs(1_000_000);
        let kind = |enrolment: &Enrolment| match enrolment.token_kind(now) {
            TokenKind::Time {
                synced_at,
                drift_steps,
                last_accepted_step: None,
                ..
            } => (synced_at, drift_steps),
            other => panic!("{other:?}"),
        };
        let unset = enrolment(TotpParameters::default());
        assert_eq!(kind(&unset), (now, 0));
        let past = UnixTime::from_secs(900_000);
        let set = unset.clone().with_synced_at(past).with_drift_steps(-2);
        assert_eq!(kind(&set), (past, -2));
        let future = unset.with_synced_at(UnixTime::from_secs(1_000_001));
        assert_eq!(kind(&future), (now, 0));
    }

    #[test]
    fn an_event_token_starts_at_its_counter_and_ignores_time() {
        let event = enrolment(HotpParameters::default())
            .with_counter(7)
            .with_drift_steps(3)
            .with_synced_at(UnixTime::EPOCH);
        assert_eq!(
            event.token_kind(UnixTime::from_secs(5)),
            TokenKind::event(HotpParameters::default(), 7)
        );
    }

    #[test]
    fn debug_shows_no_secret_and_no_pin() {
        let keypad = OcraEnrolment::new("OCRA-1:HOTP-SHA1-6:QN08-PSHA1".parse().unwrap())
            .with_pin(Password::Pin(b"97531"));
        let text = format!(
            "{:?}",
            enrolment(TotpParameters::default())
                .with_pin("86420")
                .with_ocra(keypad)
        );
        for secret in ["12345678901234567890", "3132333435", "86420", "97531"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("T-1") && text.contains("REDACTED"), "{text}");
    }
}
