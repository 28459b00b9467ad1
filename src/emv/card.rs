//! The simulated EMV chip card: its public data, its key, its offline PIN with a try
//! counter, its transaction counter, and GENERATE AC.

use core::fmt;

use crate::device::DeviceError;
use crate::device::pin::{DEFAULT_PIN_TRIES, Pin, PinGate};
use crate::emv::bitmap::{GenerateAcResponse, IssuerAuthenticationFlags, IssuerProprietaryBitmap};
use crate::emv::card_data::{Expiry, Pan, PanSequenceNumber};
use crate::emv::cryptogram::{TransactionData, application_cryptogram};
use crate::emv::error::EmvError;
use crate::emv::key::{CardMasterKey, IssuerMasterKey, SessionKey};
use crate::emv::session::SessionKeyDerivation;

/// Cryptogram information data of an authorisation request cryptogram (ARQC).
pub const CID_ARQC: u8 = 0x80;

/// Bytes of issuer application data this simulation's card returns.
pub const ISSUER_DATA_LENGTH: usize = 7;

/// What the bank and the card both know about a card, none of it secret: the PAN,
/// sequence number and expiry printed on it and read from it, how it derives session
/// keys, its application interchange profile, and what its reader shows (bitmap and
/// flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// Deliberately exhaustive: an input the caller fills in field by field (README, benches);
// growing it needs a constructor first.
#[allow(clippy::exhaustive_structs)]
pub struct CardProfile {
    /// The primary account number (5A).
    pub pan: Pan,
    /// The PAN sequence number (5F34).
    pub sequence: PanSequenceNumber,
    /// The expiry date (5F24).
    pub expiry: Expiry,
    /// How the card derives its session keys.
    pub derivation: SessionKeyDerivation,
    /// The application interchange profile (82), part of every cryptogram's data.
    pub interchange_profile: [u8; 2],
    /// Which bits of a GENERATE AC response the reader shows (9F56).
    pub bitmap: IssuerProprietaryBitmap,
    /// The issuer authentication flags (9F55).
    pub flags: IssuerAuthenticationFlags,
}

impl CardProfile {
    /// A profile with the Barclays bitmap and flags of python-emv's recordings
    /// (26 bits, 8 digits, no PSN in front), AIP 58 00 and common session keys.
    ///
    /// # Errors
    ///
    /// Those of [`Pan`]'s parsing, [`PanSequenceNumber::new`] and [`Expiry::new`].
    pub fn new(pan: &str, sequence: u8, expiry: (u16, u8)) -> Result<Self, EmvError> {
        Ok(Self {
            pan: pan.parse()?,
            sequence: PanSequenceNumber::new(sequence)?,
            expiry: Expiry::new(expiry.0, expiry.1)?,
            derivation: SessionKeyDerivation::Common,
            interchange_profile: [0x58, 0x00],
            bitmap: IssuerProprietaryBitmap::new(&IssuerProprietaryBitmap::BARCLAYS)?,
            flags: IssuerAuthenticationFlags(0xA0),
        })
    }

    /// The issuer application data (9F10) the card returns with an ARQC made after a
    /// verified offline PIN: length 06, derivation key index 01, the cryptogram
    /// version, and a card verification result of A0 (ARQC in the first GENERATE AC)
    /// 04 (offline PIN verified) 00 00. The bank rebuilds it the same way, since a
    /// bitmap may select its bits.
    #[must_use]
    pub fn issuer_data(&self) -> [u8; ISSUER_DATA_LENGTH] {
        [
            0x06,
            0x01,
            self.derivation.cryptogram_version(),
            0xA0,
            0x04,
            0x00,
            0x00,
        ]
    }

    /// The response the card gives for `atc` and `data` under `key`: what the card
    /// computes, and what the bank recomputes for each ATC in its window.
    pub(crate) fn respond(
        &self,
        key: &CardMasterKey,
        atc: u16,
        data: &TransactionData,
    ) -> GenerateAcResponse {
        let session = SessionKey::derive(key, self.derivation, atc, data.unpredictable_number);
        let cryptogram =
            application_cryptogram(&session, &data.encode(), self.interchange_profile, atc);
        GenerateAcResponse::simulated(CID_ARQC, atc, cryptogram, self.issuer_data())
    }
}

/// A simulated EMV chip card with CAP: it holds its own master key (derived from the
/// issuer's at personalisation), checks its offline PIN, counts wrong PINs and blocks
/// itself at the limit, and answers GENERATE AC with an ARQC, moving its application
/// transaction counter (ATC) every time.
///
/// ```
/// use otpfob::emv::{Card, CardProfile, CapMode, IssuerMasterKey};
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
