//! What the bank and a card both know about the card (its profile), and how a card
//! answers GENERATE AC from it: the simulated card (`device::Card`) and the bank's
//! verifier (`validator::decide_cap`) compute the same response from the same profile.

use crate::emv::bitmap::{GenerateAcResponse, IssuerAuthenticationFlags, IssuerProprietaryBitmap};
use crate::emv::card_data::{Expiry, Pan, PanSequenceNumber};
use crate::emv::cryptogram::{TransactionData, application_cryptogram};
use crate::emv::error::EmvError;
use crate::emv::key::{CardMasterKey, SessionKey};
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
