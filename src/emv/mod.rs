//! EMV-CAP: the customer's bank card and a card reader as a one-time-password token
//! (Mastercard's Chip Authentication Program, Visa's Dynamic Passcode
//! Authentication), and what the bank needs to check its codes (feature `emv-cap`).
//!
//! A CAP reader holds no secret. It asks for the card's PIN, passes it to the card
//! (EMV VERIFY), sends the card a GENERATE AC whose terminal data carry what the
//! customer typed, and shows, in decimal, the bits of the card's answer that the
//! card's issuer proprietary bitmap (IPB) selects. The card computes an EMV
//! application request cryptogram (ARQC): a MAC under a session key derived from its
//! own master key, itself derived from the issuer's master key. The bank, holding
//! the issuer master key, recomputes the cryptogram for the transaction counters it
//! expects and compares the selected bits.
//!
//! # What is implemented, and from which sources
//!
//! The CAP specification is confidential; this module follows public sources only:
//!
//! - **EMV Book 2** (Security and Key Management), Annex A1.2 (the MAC: ISO/IEC
//!   9797-1 algorithm 3 over DES, padding method 2), A1.3.1 (common session key
//!   derivation), A1.4.1 (card master key derivation, option A), section 8.1.1 (the
//!   recommended minimum data set of an ARQC: CDOL1 data, AIP, ATC);
//! - **EMV Book 3** for the GENERATE AC command and its two response formats, and the
//!   data elements used (9F02, 9F03, 9F1A, 95, 5F2A, 9A, 9C, 9F37, 82, 9F36, 9F27,
//!   9F26, 9F10, 9F55, 9F56);
//! - **Saar Drimer, Steven J. Murdoch and Ross Anderson, "Optimised to Fail: Card
//!   Readers for Online Banking"**, Financial Cryptography 2009, for the reader's
//!   modes and its protocol;
//! - **open implementations**, read but not copied: python-emv (Russ Garrett, MIT),
//!   for the reader's request (a fixed date 01 01 01, a TVR of 80 00 00 00 00, the
//!   challenge in the unpredictable number, the amount in Amount, Authorised), the
//!   meaning of IAF bit 0x40 (the PAN sequence number goes in front of the data the
//!   IPB masks) and recorded Barclays responses with the codes their readers showed;
//!   pyemv (MIT) for the key derivations and the MAC, against which the tests check
//!   this module's results.
//!
//! The variant implemented: a card with the Barclays CDOL1 (29 bytes), an ARQC over
//! CDOL1 ‖ AIP ‖ ATC (no card verification results in the MAC input, which some
//! M/Chip cryptogram versions add), session keys by EMV common session key
//! derivation or by Mastercard's proprietary SKD (the same construction with the
//! unpredictable number in the diversification value), a 7-byte issuer application
//! data of this simulation's own layout ([`CardProfile::issuer_data`]), and modes 1
//! (challenge and optional amount and currency), 2 (TDS), 3 (challenge only) and
//! identify. **Mode 2 is this crate's choice, not a reader's**: the reverse-engineered
//! descriptions agree that a TDS reader folds the typed data fields into the
//! cryptogram with a public function of its own, but not on the function; here each
//! field becomes one DES block (digit count, then BCD), the blocks are CBC-MACed under
//! the all-zero DES key, and the first four bytes are the unpredictable number
//! ([`DataFields::hash`]). Codes made by a real TDS reader will not verify under it.
//!
//! # Known weaknesses of the scheme, and what the verifier does about them
//!
//! - **Mode 1 without an amount, mode 3 and identify sign nothing about a transfer.**
//!   A code answers the challenge, whatever the customer believes they approve; a
//!   man-in-the-browser relays the challenge of its own transfer (Drimer et al., §4).
//!   Use mode 2 with the payee's account number and the amount, or mode 1 with the
//!   amount, for transfers, and build the mode from the transfer the bank is about to
//!   execute, not from what the customer's browser sent.
//! - **Short codes.** A typical IPB keeps about 17 bits of the 64-bit MAC (Barclays:
//!   26 bits in all, of which 8 are the ATC's low byte and 1 the CID, both
//!   predictable): one guess in 2^17 matches a given cryptogram, and a look-ahead of
//!   w counters multiplies that by w. The verifier counts the bits of the MAC the
//!   bitmap keeps and, below 20, caps the failure limit at
//!   [`SHORT_CODE_FAILURE_LIMIT`](crate::validator::SHORT_CODE_FAILURE_LIMIT) whatever the policy allows.
//! - **The PIN is checked offline, by the card**, and a reader shows which PIN
//!   was wrong; a stolen card and reader give an attacker three guesses, after which
//!   the card blocks itself. The bank never sees the PIN.
//! - **The ATC is predictable and moves on every use**, at shops and cash machines
//!   too, out of the CAP verifier's sight, so the bank searches a look-ahead window
//!   above the last accepted ATC ([`CapCard::look_ahead`](crate::validator::CapCard::look_ahead), default
//!   [`DEFAULT_CAP_LOOK_AHEAD`](crate::validator::DEFAULT_CAP_LOOK_AHEAD): each counter in it is one more chance for a guess),
//!   never accepts one twice, and resynchronises from two consecutive codes.
//! - **A code names no mode on its face**: an identify code and a mode 2 signature are
//!   both eight digits. The bank enrols each card for the modes its pages use
//!   ([`CapModes`]) and refuses the others ([`RejectReason::ModeNotAllowed`](crate::RejectReason::ModeNotAllowed)).
//! - **An expired card still makes codes**: its key does not expire. The verifier
//!   refuses codes after the last day of the card's expiry month
//!   ([`Expiry::ends_at`], [`RejectReason::CardExpired`](crate::RejectReason::CardExpired)).
//!
//! # In the validator
//!
//! A card is a token kind of its own, [`TokenKind::Cap`](crate::validator::TokenKind)
//! holding a [`CapCard`](crate::validator::CapCard), stored by every store and authenticated by the record MAC
//! like every record. [`Validator::enrol_cap`](crate::Validator::enrol_cap) derives
//! the card master key from the issuer master key and seals it (the issuer master key
//! is never stored; a leaked record yields one card's key), and
//! [`Validator::verify_cap`](crate::Validator::verify_cap) and
//! [`Validator::resync_cap`](crate::Validator::resync_cap) take [`decide_cap`](crate::validator::decide_cap) and
//! [`decide_cap_resync`](crate::validator::decide_cap_resync) through the same load, check, decide and compare-and-swap as
//! every other token, with its audit events.
//! - **Readers are interchangeable** and a code proves only that someone held the
//!   card and knew its PIN, not where the code was typed (relay).
//!

mod bitmap;
mod card_data;
mod cryptogram;
mod error;
mod key;
pub(crate) mod mac;
mod mode;
mod profile;
mod session;
#[cfg(test)]
pub(crate) mod tests_support;

pub use bitmap::{
    GenerateAcResponse, IssuerAuthenticationFlags, IssuerProprietaryBitmap, MAX_BITMAP_BYTES,
    MAX_CODE_BITS, MAX_ISSUER_DATA, MIN_CODE_BITS,
};
pub use card_data::{
    Amount, Digits, Expiry, MAX_CHALLENGE_DIGITS, MAX_DATA_FIELDS, MAX_FIELD_DIGITS,
    MAX_PAN_DIGITS, MIN_PAN_DIGITS, Pan, PanSequenceNumber,
};
pub use cryptogram::{CDOL1_LENGTH, TransactionData};
pub use error::EmvError;
pub use key::{CardMasterKey, IssuerMasterKey, SessionKey};
pub use mode::{CapMode, CapModes, DataFields};
pub use profile::{CID_ARQC, CardProfile, ISSUER_DATA_LENGTH};
pub use session::SessionKeyDerivation;
