//! The decoy: a token that is never stored, whose record stands in for an id that is not
//! enrolled, so that a request for an unknown id does the work of a wrong code for an
//! enrolled one (issue 11, item 2: token ids must not be enumerable by timing).
//!
//! A rejection of an enrolled token loads its record, checks its MAC, opens its secret
//! (or finds its generator in the cache), runs Argon2id when a PIN is supplied, computes
//! the whole window, authenticates the new state and compare-and-swaps it with its audit
//! row. For an unknown id the validator does the same with the decoy's record, and the
//! store's [`Store::record_rejection`] does the write of a compare-and-swap that cannot
//! match. What stays different is below what the decoy can imitate: a store's miss
//! against its hit on the id, and tokens of another kind or window than the decoy's
//! (see [`Validator::with_decoy_kind`]).

use std::sync::{Mutex, OnceLock};

use crate::clock::{TimeSource, UnixTime};
#[cfg(feature = "emv-cap")]
use crate::emv::{CapModes, CardProfile};
use crate::ocra::{Challenge, OcraSuite, SigningNonce};
use crate::secret::Secret;
use crate::totp::TotpParameters;
#[cfg(feature = "emv-cap")]
use crate::validator::CapCard;
use crate::validator::challenge::{ChallengeSlot, IssuedChallenge, OcraState};
use crate::validator::error::{SealError, ValidatorError};
use crate::validator::pin::{PinHash, pin_matches};
use crate::validator::record::{Incarnation, TokenId, TokenKind, TokenRecord, TokenState};
use crate::validator::store::Store;

use super::Validator;

/// Which request a decoy stands in for: each family does other work on a token, so
/// each has its own decoy, of the kind its requests are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DecoyFamily {
    /// `verify` and `resync`: a code token, of [`Validator::with_decoy_kind`]'s kind.
    Code,
    /// `verify_response` and `verify_signature`: a keypad token with a challenge open,
    /// of [`Validator::with_keypad_decoy`]'s suite.
    Keypad,
    /// `verify_cap` and `resync_cap`: an EMV-CAP card, as [`Validator::with_card_decoy`].
    #[cfg(feature = "emv-cap")]
    Card,
}

/// A decoy's record and the PIN hash that a PIN supplied for an unknown id, or for a
/// token without a PIN, is checked against.
pub(super) struct Decoy {
    pub(super) record: TokenRecord,
    pin: PinHash,
    /// What a keypad decoy's signature challenge commits to checking: its challenge
    /// commits to no transfer, so a signature's transfer is hashed under this nonce
    /// instead, as an enrolled token's commitment is checked (see `challenge.rs`).
    pub(super) signing_nonce: SigningNonce,
}

/// One family's decoy, made on first use.
struct Slot {
    decoy: OnceLock<Decoy>,
    making: Mutex<()>,
}

impl Slot {
    fn new() -> Self {
        Self {
            decoy: OnceLock::new(),
            making: Mutex::new(()),
        }
    }
}

/// Where a validator keeps its decoys: made on first use, because the PIN cost and the
/// decoys' kinds are set by builder methods after [`Validator::new`].
pub(super) struct DecoySlot {
    kind: Option<TokenKind>,
    suite: Option<OcraSuite>,
    #[cfg(feature = "emv-cap")]
    card: Option<CapCard>,
    code: Slot,
    keypad: Slot,
    #[cfg(feature = "emv-cap")]
    card_decoy: Slot,
}

impl DecoySlot {
    pub(super) fn new() -> Self {
        Self {
            kind: None,
            suite: None,
            #[cfg(feature = "emv-cap")]
            card: None,
            code: Slot::new(),
            keypad: Slot::new(),
            #[cfg(feature = "emv-cap")]
            card_decoy: Slot::new(),
        }
    }

    /// The same kinds, with every decoy made again on first use (after the PIN cost or
    /// a kind changed).
    pub(super) fn remade(&self) -> Self {
        Self {
            kind: self.kind,
            suite: self.suite,
            #[cfg(feature = "emv-cap")]
            card: self.card,
            ..Self::new()
        }
    }

    fn slot(&self, family: DecoyFamily) -> &Slot {
        match family {
            DecoyFamily::Code => &self.code,
            DecoyFamily::Keypad => &self.keypad,
            #[cfg(feature = "emv-cap")]
            DecoyFamily::Card => &self.card_decoy,
        }
    }
}

/// The suite a keypad decoy imitates by default: one-way challenge-response with an
/// 8-digit numeric question and a 6-digit response, the common form of bank keypads
/// (and of the decoy challenge `otpfob-server` gives an unknown token).
const DEFAULT_DECOY_SUITE: &str = "OCRA-1:HOTP-SHA1-6:QN08";

/// The id of the strict-mode decoy, whose HMAC key object the HSM keeps (its label is
/// made from this id and [`STRICT_DECOY_INCARNATION`], as every token key's is).
const STRICT_DECOY_ID: &str = "otpfob-strict-decoy";

/// The strict-mode decoy's incarnation: fixed, so that one key object serves every
/// start of every validator on the HSM token.
const STRICT_DECOY_INCARNATION: [u8; Incarnation::LEN] = *b"otpfob-decoy-key";

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// Sets the kind of token the decoy imitates; by default a TOTP token with the
    /// default parameters (6 digits, 30 s, SHA-1), enrolled when the decoy is made.
    ///
    /// # Security
    ///
    /// A request for an unknown id takes as long as a wrong code for a token of the
    /// decoy's kind. A fleet of event tokens, or of 8-digit SHA-256 tokens, should set
    /// its own kind here, so that its tokens and unknown ids look alike.
    #[must_use]
    pub fn with_decoy_kind(mut self, kind: TokenKind) -> Self {
        self.decoy.kind = Some(kind);
        self.decoy = self.decoy.remade();
        self
    }

    /// Sets the OCRA suite of the keypad decoy, which stands in for an unknown id in
    /// [`Validator::verify_response`] and [`Validator::verify_signature`]; by default
    /// `OCRA-1:HOTP-SHA1-6:QN08`. Its challenge is always open, so an unknown id's
    /// response is computed and compared as a wrong response to an open challenge is.
    ///
    /// # Security
    ///
    /// As [`Validator::with_decoy_kind`]: a bank whose keypads use another suite (a
    /// counter, a time step, a PIN hash, SHA-256) sets it here.
    #[must_use]
    pub fn with_keypad_decoy(mut self, suite: OcraSuite) -> Self {
        self.decoy.suite = Some(suite);
        self.decoy = self.decoy.remade();
        self
    }

    /// Sets the card the card decoy imitates, which stands in for an unknown id in
    /// [`Validator::verify_cap`] and [`Validator::resync_cap`]; by default a card
    /// accepted in every mode with the default look-ahead, valid until 2099. Only its
    /// modes and look-ahead matter: they set how many cryptograms a code is compared
    /// with.
    ///
    /// # Security
    ///
    /// As [`Validator::with_decoy_kind`]: a bank whose cards have another look-ahead
    /// sets one of them here, so that an unknown card and a wrong code cost the same
    /// Triple DES work.
    #[cfg(feature = "emv-cap")]
    #[must_use]
    pub fn with_card_decoy(mut self, card: CapCard) -> Self {
        self.decoy.card = Some(card);
        self.decoy = self.decoy.remade();
        self
    }

    /// The code decoy (see [`Validator::decoy_for`]).
    #[cfg(test)]
    pub(super) fn decoy(&self) -> Result<&Decoy, ValidatorError> {
        self.decoy_for(DecoyFamily::Code)
    }

    /// The decoy of `family`, made on first use: a fresh random secret sealed under
    /// the keyring, a record MAC, and a PIN hash under the validator's PIN cost that no
    /// PIN matches.
    pub(super) fn decoy_for(&self, family: DecoyFamily) -> Result<&Decoy, ValidatorError> {
        let slot = self.decoy.slot(family);
        if let Some(decoy) = slot.decoy.get() {
            return Ok(decoy);
        }
        // One thread makes it while the others wait: the first requests of a busy
        // validator must not each make one.
        let _making = slot
            .making
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(decoy) = slot.decoy.get() {
            return Ok(decoy);
        }
        let decoy = self.make_decoy(family)?;
        Ok(slot.decoy.get_or_init(|| decoy))
    }

    fn make_decoy(&self, family: DecoyFamily) -> Result<Decoy, ValidatorError> {
        let random = |reason: String| ValidatorError::Seal(SealError::RandomSource { reason });
        let now = self.clock.now();
        let code_kind = self
            .decoy
            .kind
            .unwrap_or_else(|| TokenKind::time(TotpParameters::default(), now));
        let kind = match family {
            DecoyFamily::Code | DecoyFamily::Keypad => code_kind,
            #[cfg(feature = "emv-cap")]
            DecoyFamily::Card => TokenKind::Cap(match self.decoy.card {
                Some(card) => card,
                None => default_card_decoy()?,
            }),
        };
        // 128 bits: the length of a card master key, and enough for any other kind.
        let secret = Secret::generate(128).map_err(|error| random(error.to_string()))?;
        // Strict mode's token keys, for the code decoy only (the others' secrets are
        // opened from their seal, as their kinds' are).
        let strict_keys = match family {
            DecoyFamily::Code => self.keyring.token_keys(),
            _ => None,
        };
        let (id, incarnation) = if strict_keys.is_some() {
            // Strict mode: the decoy's HMAC key is an object in the HSM, as every
            // token's is, so that an unknown id costs the HSM's work of a wrong code. A
            // fixed id and incarnation name one object per HSM token, imported once (one
            // already there is left as it is; its secret is as unknown as this one), so
            // that restarts do not pile objects up.
            (
                TokenId::new(STRICT_DECOY_ID)?,
                Incarnation::from_bytes(STRICT_DECOY_INCARNATION),
            )
        } else {
            let tag = Incarnation::generate()?;
            // A random id of the usual shape, so that it names no enrolled token; only
            // its own seal and MAC are ever checked under it.
            (
                TokenId::new(format!("decoy-{}", hex(&tag.to_bytes())))?,
                Incarnation::generate()?,
            )
        };
        if let Some(token_keys) = strict_keys {
            token_keys
                .import(&id, incarnation, &secret)
                .map_err(|error| SealError::TokenKeyUnavailable {
                    token: id.to_string(),
                    error,
                })?;
        }
        let pin_secret = Secret::generate(128).map_err(|error| random(error.to_string()))?;
        let pin = self
            .pin_hashing
            .unmatchable(&hex(pin_secret.expose_bytes()))?;
        let mut state = TokenState::new(kind);
        if family == DecoyFamily::Keypad {
            let suite = match self.decoy.suite {
                Some(suite) => suite,
                // A constant, parsed by the tests below.
                None => DEFAULT_DECOY_SUITE.parse()?,
            };
            let mut keypad = OcraState::new(suite, 0, now);
            // Open for ever: a response to it is computed and compared, never refused
            // as expired or spent (the decoy is never stored, so it is never spent).
            keypad.challenge = ChallengeSlot::Open(IssuedChallenge {
                challenge: Challenge::generate(suite.question())?,
                expires_at: UnixTime::from_secs(i64::MAX),
                transaction: None,
            });
            state.ocra = Some(Box::new(keypad));
        }
        let record = TokenRecord {
            sealed_secret: self.keyring.seal(&id, &secret)?,
            id,
            pin: None,
            ocra_pin: None,
            // The MAC's work is padded to the unlock key's bound whether or not a
            // record has one (`record_mac::bound`), so the decoy needs none.
            unlock_key: None,
            state,
            enrolled_at: now,
            incarnation,
            version: 1,
            owner: None,
            mac: None,
            // A head like an enrolled token's, so that its MAC and chain link cost the
            // same; the decoy is never written, so the value is never checked.
            audit_head: Some(crate::validator::chain::GENESIS),
            replaces: None,
        };
        Ok(Decoy {
            record: self.authenticated(record)?,
            pin,
            signing_nonce: SigningNonce::generate()?,
        })
    }

    /// Whether `supplied` passes for a token whose PIN hash is `stored`. Argon2id runs
    /// whenever a PIN is supplied, against the decoy's hash if the token has none, so
    /// that the time says neither whether the id is enrolled nor whether it has a PIN.
    pub(super) fn pin_passes(
        &self,
        stored: Option<&PinHash>,
        supplied: Option<&str>,
        decoy: &Decoy,
    ) -> bool {
        match (stored, supplied) {
            (Some(hash), Some(pin)) => pin_matches(hash, pin),
            (None, Some(pin)) => {
                // A PIN where none is set: an integration mistake or a guess, never a
                // pass; hashed all the same.
                let _ = pin_matches(&decoy.pin, pin);
                false
            }
            (None, None) => true,
            // A PIN is set and none came: not a pass.
            (Some(_), None) => false,
        }
    }
}

/// The default card decoy: every mode, the default look-ahead, a PAN of the common
/// length (never looked up: only the decoy's seal and MAC are checked), valid until
/// the end of 2099.
#[cfg(feature = "emv-cap")]
fn default_card_decoy() -> Result<CapCard, ValidatorError> {
    let profile = CardProfile::new("5999999999999993", 1, (2099, 12))?;
    Ok(CapCard::new(profile, CapModes::ALL, 0))
}

fn hex(bytes: &[u8]) -> String {
    use core::fmt::Write;
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

#[cfg(test)]
mod tests {
    use crate::clock::ManualClock;
    use crate::secret::Secret;
    use crate::store::MemoryStore;
    use crate::totp::TotpParameters;
    use crate::validator::pin::{PIN_CHECKS, PinHashing};
    use crate::validator::record::TokenId;
    use crate::validator::seal::{Keyring, SealingKey};
    use crate::validator::{Enrolment, RejectReason, Validator};

    /// How much `counter` (a thread-local count of some work) grew while `run` ran.
    fn counted(
        counter: &'static std::thread::LocalKey<std::cell::Cell<usize>>,
        run: impl FnOnce(),
    ) -> usize {
        let before = counter.with(std::cell::Cell::get);
        run();
        counter.with(std::cell::Cell::get) - before
    }

    fn argon2_runs(run: impl FnOnce()) -> usize {
        counted(&PIN_CHECKS, run)
    }

    /// Issue 11, item 2: with a PIN supplied, Argon2id used to run only for enrolled
    /// tokens that have a PIN (0.3 µs against 11.6 ms); now it runs whenever a PIN is
    /// supplied, and never when none is.
    #[test]
    fn argon2_runs_exactly_when_a_pin_is_supplied() {
        let clock = ManualClock::at_secs(1_767_225_600);
        let validator = Validator::new(
            MemoryStore::new(),
            clock.clone(),
            Keyring::new(SealingKey::new(1, &[3; 32]).unwrap()),
        )
        .with_pin_hashing(PinHashing::insecure_fast_for_tests())
        .unwrap();
        let secret = Secret::generate_default().unwrap();
        for (name, pin) in [("PLAIN", None), ("PINNED", Some("2468"))] {
            let enrolment = Enrolment::new(
                TokenId::new(name).unwrap(),
                secret.clone(),
                TotpParameters::default(),
            );
            validator
                .enrol(match pin {
                    Some(pin) => enrolment.with_pin(pin),
                    None => enrolment,
                })
                .unwrap();
        }
        // The decoy is made (and its PIN hashed) on first use; not counted below.
        let _ = validator.verify(&TokenId::new("WARM-UP").unwrap(), "000000", None);
        for (name, pin, runs) in [
            ("PINNED", Some("1357"), 1),
            ("PLAIN", Some("1357"), 1),
            ("NOBODY", Some("1357"), 1),
            ("PINNED", None, 0),
            ("PLAIN", None, 0),
            ("NOBODY", None, 0),
        ] {
            let id = TokenId::new(name).unwrap();
            let counted = argon2_runs(|| {
                let rejected = validator.verify(&id, "000000", pin).unwrap_err();
                if name == "NOBODY" {
                    assert_eq!(rejected.reason(), RejectReason::UnknownToken);
                }
            });
            assert_eq!(counted, runs, "{name} with PIN {pin:?}");
        }
    }

    #[test]
    fn the_decoy_record_is_authentic_and_opens() {
        let validator = Validator::new(
            MemoryStore::new(),
            ManualClock::at_secs(1_767_225_600),
            Keyring::new(SealingKey::new(1, &[3; 32]).unwrap()),
        );
        let decoy = validator.decoy().unwrap();
        assert!(validator.keyring.check_record(&decoy.record).is_ok());
        assert!(validator.generator(&decoy.record).is_ok());
        assert!(decoy.record.id.as_str().starts_with("decoy-"));
        // Made once: the same decoy every time.
        assert!(std::ptr::eq(decoy, validator.decoy().unwrap()));
    }

    fn hmacs(run: impl FnOnce()) -> usize {
        counted(&crate::mac::HMACS, run)
    }

    /// Before the keypad decoy, an unknown id's OCRA response was refused on the code
    /// decoy, which has no challenge, without computing one (2 HMACs through
    /// `KeyedMac` against 3 for a wrong response to an open challenge); now both
    /// compute the same, for a login response and for a signature.
    #[test]
    fn an_unknown_keypad_costs_what_a_wrong_response_costs() {
        use crate::ocra::{Currency, Transaction};
        use crate::validator::OcraEnrolment;
        let validator = Validator::new(
            MemoryStore::new(),
            ManualClock::at_secs(1_767_225_600),
            Keyring::new(SealingKey::new(1, &[3; 32]).unwrap()),
        );
        let id = TokenId::new("KEYPAD").unwrap();
        let suite = super::DEFAULT_DECOY_SUITE.parse().unwrap();
        validator
            .enrol(
                Enrolment::new(
                    id.clone(),
                    Secret::generate_default().unwrap(),
                    TotpParameters::default(),
                )
                .with_ocra(OcraEnrolment::new(suite)),
            )
            .unwrap();
        let nobody = TokenId::new("NOBODY").unwrap();
        // Made on first use; not counted below.
        let _ = validator.verify_response(&nobody, "000000", None);
        let _ = validator.issue_challenge(&id).unwrap();
        let known = hmacs(|| {
            assert_eq!(
                validator
                    .verify_response(&id, "000000", None)
                    .unwrap_err()
                    .reason(),
                RejectReason::WrongCode
            );
        });
        let unknown = hmacs(|| {
            assert_eq!(
                validator
                    .verify_response(&nobody, "000000", None)
                    .unwrap_err()
                    .reason(),
                RejectReason::UnknownToken
            );
        });
        assert!(known > 2, "{known}");
        assert_eq!(unknown, known);
        let transfer = Transaction::new(
            125_000,
            Currency::new("EUR").unwrap(),
            "DE89370400440532013000",
            None,
        )
        .unwrap();
        let _ = validator.issue_signature_challenge(&id, &transfer).unwrap();
        let known = hmacs(|| {
            let _ = validator
                .verify_signature(&id, &transfer, "000000", None)
                .unwrap_err();
        });
        let unknown = hmacs(|| {
            let _ = validator
                .verify_signature(&nobody, &transfer, "000000", None)
                .unwrap_err();
        });
        assert_eq!(unknown, known);
    }

    /// Before the card decoy, an unknown card was refused on the code decoy as the
    /// wrong kind, without a single Triple DES MAC (0 against 21 for a wrong code: one
    /// per ATC of the look-ahead); now an unknown card computes as many.
    #[cfg(feature = "emv-cap")]
    #[test]
    fn an_unknown_card_costs_what_a_wrong_code_costs() {
        use crate::emv::mac::RETAIL_MACS;
        use crate::emv::{CapMode, CapModes, CardProfile, IssuerMasterKey};
        use crate::validator::{CapCard, CapEnrolment};
        let validator = Validator::new(
            MemoryStore::new(),
            ManualClock::at_secs(1_767_225_600),
            Keyring::new(SealingKey::new(1, &[3; 32]).unwrap()),
        );
        let issuer = IssuerMasterKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let profile = CardProfile::new("4658123456789009", 1, (2030, 12)).unwrap();
        let id = TokenId::new("CARD").unwrap();
        validator
            .enrol_cap(CapEnrolment {
                id: id.clone(),
                issuer_key: &issuer,
                card: CapCard::new(profile, CapModes::ALL, 0),
                pin: None,
            })
            .unwrap();
        let nobody = TokenId::new("NOBODY").unwrap();
        let _ = validator.verify_cap(&nobody, &CapMode::Identify, "12345678", None);
        let macs = |run: &dyn Fn()| counted(&RETAIL_MACS, run);
        for mode in [
            CapMode::Identify,
            CapMode::Respond(crate::emv::Digits::challenge("12345678").unwrap()),
        ] {
            let known = macs(&|| {
                let rejected = validator
                    .verify_cap(&id, &mode, "12345678", None)
                    .unwrap_err();
                assert_eq!(rejected.reason(), RejectReason::WrongCode);
            });
            let unknown = macs(&|| {
                let rejected = validator
                    .verify_cap(&nobody, &mode, "12345678", None)
                    .unwrap_err();
                assert_eq!(rejected.reason(), RejectReason::UnknownToken);
            });
            assert!(known > 1, "{known}");
            assert_eq!(unknown, known, "{mode:?}");
        }
    }
}
