//! The key of one application cryptogram, derived from the card master key for each
//! transaction counter (EMV Book 2, Annex A1.3).

use crate::emv::key::{CardMasterKey, SessionKey};

/// How a card derives its session key for application cryptograms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionKeyDerivation {
    /// EMV common session key derivation (EMV Book 2, Annex A1.3.1) with the
    /// diversification value R = ATC ‖ 00 00 00 00 00 00: the left half is
    /// 3DES(MK)[R with byte 3 set to F0], the right half 3DES(MK)[R with byte 3 set to
    /// 0F]. Mastercard's cryptogram version 16 and Visa's CVN 18 use it.
    Common,
    /// Mastercard's proprietary session key derivation (M/Chip "SKD", cryptogram
    /// versions 0x10 and earlier): the same construction with
    /// R = ATC ‖ 00 00 ‖ unpredictable number, so the key also depends on the
    /// challenge the reader sent.
    Mastercard,
}

impl SessionKeyDerivation {
    /// The cryptogram version number this simulation writes into the issuer
    /// application data, so a verifier can tell the two apart.
    #[must_use]
    pub fn cryptogram_version(&self) -> u8 {
        match self {
            SessionKeyDerivation::Common => 0x12,
            SessionKeyDerivation::Mastercard => 0x10,
        }
    }

    /// A stable name for stores and record MACs: `common` or `mastercard`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            SessionKeyDerivation::Common => "common",
            SessionKeyDerivation::Mastercard => "mastercard",
        }
    }

    /// The derivation [`SessionKeyDerivation::name`] names.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [
            SessionKeyDerivation::Common,
            SessionKeyDerivation::Mastercard,
        ]
        .into_iter()
        .find(|derivation| derivation.name() == name)
    }
}

impl SessionKey {
    /// The session key for transaction counter `atc` (and, for
    /// [`SessionKeyDerivation::Mastercard`], the unpredictable number the reader sent;
    /// ignored otherwise).
    #[must_use]
    pub fn derive(
        card: &CardMasterKey,
        derivation: SessionKeyDerivation,
        atc: u16,
        unpredictable_number: [u8; 4],
    ) -> Self {
        let [high, low] = atc.to_be_bytes();
        let tail = match derivation {
            SessionKeyDerivation::Common => [0; 4],
            SessionKeyDerivation::Mastercard => unpredictable_number,
        };
        let [u0, u1, u2, u3] = tail;
        let left = [high, low, 0xF0, 0x00, u0, u1, u2, u3];
        let right = [high, low, 0x0F, 0x00, u0, u1, u2, u3];
        Self(card.0.derive(left, right))
    }
}
