//! EMV-CAP cards (feature `emv-cap`): enrolment from the issuer master key, and the
//! verification and resynchronisation of their codes, through the same load, check,
//! decide and compare-and-swap as every other token.

use crate::clock::TimeSource;
use crate::emv::{CapMode, CardMasterKey, IssuerMasterKey};
use crate::validator::CapCard;
use crate::validator::audit::Operation;
use crate::validator::cap_decision::{CapCodes, CapRequest, decide_cap_token};
use crate::validator::decision::Acceptance;
use crate::validator::error::{RejectReason, Rejected, ValidatorError};
use crate::validator::record::{TokenId, TokenKind, TokenRecord};
use crate::validator::store::Store;

use super::Validator;
use super::decoy::DecoyFamily;
use crate::hotp::HotpParameters;
use crate::validator::enrolment::Enrolment;

/// A bank card to enrol as an EMV-CAP token.
///
/// # Security
///
/// The validator keeps the **card's** master key, derived here from the issuer
/// master key, sealed like every token's secret; the issuer master key itself is
/// never stored. A stolen sealing key or a dumped record then yields one card's key,
/// which makes that card's codes, and not the issuer's, which makes every card's.
/// The price: a bank that rotates its issuer key re-enrols its cards (it reissues
/// them anyway, since the card holds the derived key).
// Filled in by the caller field by field, like the other inputs (`OcraAttempt`,
// `CardProfile`): exhaustive until it has a constructor.
#[allow(clippy::exhaustive_structs)]
pub struct CapEnrolment<'a> {
    /// The token id (say `card:` and the PAN's last four digits and PSN; never the
    /// whole PAN, which audit trails and logs carry).
    pub id: TokenId,
    /// The issuer master key the card's key was derived from at personalisation.
    pub issuer_key: &'a IssuerMasterKey,
    /// The card's profile, accepted modes, look-ahead and next ATC.
    pub card: CapCard,
    /// A server-side PIN to require with its codes, if any (the card's own PIN is
    /// checked by the card, offline).
    pub pin: Option<&'a str>,
}

impl core::fmt::Debug for CapEnrolment<'_> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("CapEnrolment")
            .field("id", &self.id)
            .field("card", &self.card)
            .field("pin", &self.pin.map(|_| "[REDACTED]"))
            .finish_non_exhaustive()
    }
}

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// Enrols an EMV-CAP card: derives its master key from the issuer master key, PAN
    /// and PSN (EMV option A), seals it, and stores the card with its state. A card
    /// whose key the issuer exports already derived is enrolled with
    /// [`Validator::enrol`], its key as the secret
    /// ([`CardMasterKey::to_secret`]) and [`TokenKind::Cap`] as the kind.
    ///
    /// # Errors
    ///
    /// As [`Validator::enrol`], and [`ValidatorError::Emv`] for a look-ahead outside
    /// 1 to [`MAX_CAP_LOOK_AHEAD`](crate::validator::MAX_CAP_LOOK_AHEAD) or a next ATC past
    /// the counter's end.
    ///
    /// ```
    /// use otpfob::emv::{CapMode, CapModes, CardProfile, IssuerMasterKey};
    /// use otpfob::device::{CapReader, Card};
    /// use otpfob::validator::CapCard;
    /// use otpfob::validator::CapEnrolment;
    /// use otpfob::{Device, Keyring, ManualClock, MemoryStore, SealingKey, TokenId, Validator};
    /// use otpfob::device::SerialNumber;
    ///
    /// let issuer = IssuerMasterKey::from_hex("0123456789ABCDEFFEDCBA9876543210")?;
    /// let profile = CardProfile::new("4658123456789009", 1, (2030, 12))?;
    /// let clock = ManualClock::at_secs(1_767_225_600);
    /// let bank = Validator::new(MemoryStore::new(), clock, Keyring::new(SealingKey::generate(1)?));
    /// let id = TokenId::new("card:9009-01")?;
    /// bank.enrol_cap(CapEnrolment {
    ///     id: id.clone(),
    ///     issuer_key: &issuer,
    ///     card: CapCard::new(profile, CapModes::IDENTIFY, 0),
    ///     pin: None,
    /// })?;
    ///
    /// let card = Card::personalise(&issuer, profile, "1234")?;
    /// let mut reader = CapReader::new(SerialNumber::new("READER-1")?, card);
    /// reader.enter_pin("1234")?;
    /// let code = reader.read(&CapMode::Identify)?.code().to_string();
    /// assert!(bank.verify_cap(&id, &CapMode::Identify, &code, None).is_ok());
    /// assert!(bank.verify_cap(&id, &CapMode::Identify, &code, None).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn enrol_cap(&self, enrolment: CapEnrolment<'_>) -> Result<(), ValidatorError> {
        let profile = &enrolment.card.profile;
        let key = CardMasterKey::derive(enrolment.issuer_key, &profile.pan, profile.sequence);
        // Only an empty secret is refused, and a card key has 16 bytes.
        let secret = key
            .to_secret()
            .map_err(|_| crate::emv::EmvError::KeyLength {
                length: key.expose_bytes().len(),
            })?;
        // A card's kind is not made from code parameters: the enrolment's are unused.
        let mut card = Enrolment::new(enrolment.id, secret, HotpParameters::default());
        if let Some(pin) = enrolment.pin {
            card = card.with_pin(pin);
        }
        self.enrol_as(card, TokenKind::Cap(enrolment.card))
            .map(|_| ())
    }

    /// Checks a code a CAP reader showed for a card enrolled with
    /// [`Validator::enrol_cap`], in `mode`. White space around the code is ignored.
    ///
    /// Build `mode` from what the bank showed and is about to do (the challenge it
    /// issued, the payee and amount of the transfer it will execute), never from what
    /// the customer's browser reports: the code proves the card signed exactly that.
    ///
    /// # Errors
    ///
    /// [`Rejected`] for anything but an acceptance. The reasons, for the audit trail:
    /// those of [`decide_cap`](crate::validator::decide_cap) (a wrong, replayed or malformed
    /// code, a wrong server-side PIN, a locked, disabled or expired card, an ATC at its
    /// end), [`RejectReason::ModeNotAllowed`] for a mode the card is not enrolled for,
    /// [`RejectReason::WrongKind`] for a token that is not a card, and those of every
    /// verification (unknown token, tampered record, store failure, contention).
    ///
    /// # Security
    ///
    /// Every ATC in the card's look-ahead is recomputed and compared in constant time;
    /// an ATC is accepted at most once, across validator nodes, by the compare-and-swap
    /// every verification uses. Codes keeping fewer than
    /// [`SHORT_CODE_BITS`](crate::validator::SHORT_CODE_BITS) bits of the cryptogram lock the
    /// card after at most [`SHORT_CODE_FAILURE_LIMIT`](crate::validator::SHORT_CODE_FAILURE_LIMIT)
    /// failures.
    pub fn verify_cap(
        &self,
        id: &TokenId,
        mode: &CapMode,
        code: &str,
        pin: Option<&str>,
    ) -> Result<Acceptance, Rejected> {
        self.run(
            id,
            Operation::Verify,
            DecoyFamily::Card,
            pin,
            |record, pin_ok, now| {
                let key = self.card_key(record)?;
                let request = CapRequest {
                    mode,
                    code: CapCodes::One(code),
                    pin_ok,
                };
                decide_cap_token(&self.policy, &record.state, &key, &request, now)
            },
        )
    }

    /// Resynchronises a card from two codes of consecutive ATCs in `mode` (two
    /// presses of identify, typically), within the policy's resync window above the
    /// next expected ATC: both are then spent.
    ///
    /// # Errors
    ///
    /// [`Rejected`], as [`Validator::verify_cap`], and
    /// [`RejectReason::ResyncFailed`] when the codes are not consecutive within the
    /// window.
    pub fn resync_cap(
        &self,
        id: &TokenId,
        mode: &CapMode,
        first: &str,
        second: &str,
        pin: Option<&str>,
    ) -> Result<Acceptance, Rejected> {
        self.run(
            id,
            Operation::Resync,
            DecoyFamily::Card,
            pin,
            |record, pin_ok, now| {
                let key = self.card_key(record)?;
                let request = CapRequest {
                    mode,
                    code: CapCodes::Two(first, second),
                    pin_ok,
                };
                decide_cap_token(&self.policy, &record.state, &key, &request, now)
            },
        )
    }

    /// The card master key of a card's record, opened from its seal. Not cached as
    /// HOTP generators are: opening costs one AES-GCM decryption, a few percent of the
    /// Triple DES work of the window.
    fn card_key(&self, record: &TokenRecord) -> Result<CardMasterKey, RejectReason> {
        if !matches!(record.state.kind, TokenKind::Cap(_)) {
            return Err(RejectReason::WrongKind);
        }
        let secret = self
            .keyring
            .open(&record.id, &record.sealed_secret)
            .map_err(|_| RejectReason::SealBroken)?;
        CardMasterKey::from_secret(&secret).map_err(|_| RejectReason::SealBroken)
    }
}
