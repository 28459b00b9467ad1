//! The simulated EMV chip card: its key, its offline PIN with a try counter, its
//! transaction counter, and GENERATE AC over its [`CardProfile`].

use core::fmt;

use crate::device::DeviceError;
use crate::device::pin::{DEFAULT_PIN_TRIES, Pin, PinGate};
use crate::emv::{
    CardMasterKey, CardProfile, EmvError, GenerateAcResponse, IssuerMasterKey, TransactionData,
};

/// A simulated EMV chip card with CAP: it holds its own master key (derived from the
/// issuer's at personalisation), checks its offline PIN, counts wrong PINs and blocks
/// itself at the limit, and answers GENERATE AC with an ARQC, moving its application
/// transaction counter (ATC) every time.
///
/// ```
/// use otpfob::emv::{CardProfile, CapMode, IssuerMasterKey};
/// use otpfob::device::Card;
///
/// let issuer = IssuerMasterKey::from_hex("0123456789ABCDEFFEDCBA9876543210")?;
/// let profile = CardProfile::new("4658123456789009", 1, (2030, 12))?;
/// let mut card = Card::personalise(&issuer, profile, "1234")?;
/// card.verify_pin("1234")?;
/// let response = card.generate_ac(&CapMode::Identify.transaction_data())?;
/// assert_eq!(response.atc, 1);
/// assert!(card.generate_ac(&CapMode::Identify.transaction_data()).is_err()); // the PIN, again
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Security
///
/// The key never leaves the card; a wrong PIN is counted before the answer, and PINs
/// are compared in constant time. `Debug` shows neither key nor PIN.
#[derive(Clone)]
pub struct Card {
    profile: CardProfile,
    key: CardMasterKey,
    pin: PinGate,
    atc: u16,
}

impl Card {
    /// A card personalised by the issuer: its master key derived from `issuer` for its
    /// PAN and sequence number (EMV Book 2 Annex A1.4.1, option A), its PIN set, three
    /// PIN tries, and an ATC of zero (the first cryptogram uses ATC 1).
    ///
    /// # Errors
    ///
    /// [`DeviceError::PinLength`] or [`DeviceError::PinCharacter`] for the PIN.
    pub fn personalise(
        issuer: &IssuerMasterKey,
        profile: CardProfile,
        pin: &str,
    ) -> Result<Self, DeviceError> {
        let key = CardMasterKey::derive(issuer, &profile.pan, profile.sequence);
        Self::with_key(key, profile, pin)
    }

    /// A card holding `key` as its master key.
    ///
    /// # Errors
    ///
    /// As [`Card::personalise`].
    pub fn with_key(
        key: CardMasterKey,
        profile: CardProfile,
        pin: &str,
    ) -> Result<Self, DeviceError> {
        Ok(Self {
            profile,
            key,
            pin: PinGate::new(Pin::parse(pin)?, DEFAULT_PIN_TRIES)?,
            atc: 0,
        })
    }

    /// The same card with its ATC at `atc` (a card that has been used before).
    #[must_use]
    pub fn with_atc(mut self, atc: u16) -> Self {
        self.atc = atc;
        self
    }

    /// What the card tells a reader, and the bank knows.
    #[must_use]
    pub fn profile(&self) -> &CardProfile {
        &self.profile
    }

    /// The ATC of the last cryptogram (zero before the first).
    #[must_use]
    pub fn atc(&self) -> u16 {
        self.atc
    }

    /// Whether too many wrong PINs have blocked the card.
    #[must_use]
    pub fn is_blocked(&self) -> bool {
        self.pin.is_locked()
    }

    /// VERIFY with the offline PIN: a right PIN allows one GENERATE AC and resets the
    /// try counter; a wrong one counts, and the third blocks the card for good.
    ///
    /// # Errors
    ///
    /// [`DeviceError::WrongPin`] with the tries left, [`DeviceError::Locked`] for a
    /// blocked card, [`DeviceError::PinLength`] or [`DeviceError::PinCharacter`] for
    /// what cannot be a PIN (not counted).
    pub fn verify_pin(&mut self, pin: &str) -> Result<(), DeviceError> {
        self.pin.enter(pin)
    }

    /// GENERATE AC asking for an ARQC over `data` (the CDOL1 fields): the ATC moves
    /// on, the session key is derived for it, and the cryptogram computed.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Locked`] for a blocked card, [`DeviceError::PinRequired`] without
    /// a verified PIN for this transaction, [`EmvError::CounterExhausted`] (as
    /// [`DeviceError::Emv`]) once the ATC has reached its end.
    pub fn generate_ac(
        &mut self,
        data: &TransactionData,
    ) -> Result<GenerateAcResponse, DeviceError> {
        self.pin.pass()?;
        self.atc = self.atc.checked_add(1).ok_or(EmvError::CounterExhausted)?;
        Ok(self.profile.respond(&self.key, self.atc, data))
    }
}

impl fmt::Debug for Card {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Card")
            .field("profile", &self.profile)
            .field("atc", &self.atc)
            .field("blocked", &self.is_blocked())
            .finish_non_exhaustive()
    }
}
