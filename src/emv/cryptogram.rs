//! The application request cryptogram (ARQC): a retail MAC under the session key over
//! the data the reader sent (CDOL1) and the card's own AIP and ATC, EMV Book 2's
//! recommended minimum data set (section 8.1.1).

use crate::emv::card_data::write_bcd;
use crate::emv::key::SessionKey;
use crate::emv::mac::retail_mac;

/// Bytes of the CDOL1 data this simulation's card asks for: amount (9F02, 6), other
/// amount (9F03, 6), terminal country (9F1A, 2), TVR (95, 5), currency (5F2A, 2),
/// date (9A, 3), transaction type (9C, 1), unpredictable number (9F37, 4). It is the
/// CDOL1 of the Barclays card recorded in python-emv's tests.
pub const CDOL1_LENGTH: usize = 29;

/// The length of the data an ARQC is computed over: CDOL1, then AIP (82) and ATC (9F36).
const CRYPTOGRAM_INPUT: usize = CDOL1_LENGTH + 4;

/// The terminal data a CAP reader sends the card in its GENERATE AC (the CDOL1
/// fields), as the reverse-engineered descriptions give them: a fixed date of
/// 01 01 01, a TVR of 80 00 00 00 00, zeros for what a reader does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// Deliberately exhaustive: the CDOL1 data objects, which EMV fixes.
#[allow(clippy::exhaustive_structs)]
pub struct TransactionData {
    /// Amount, Authorised (9F02), in minor units.
    pub amount: u64,
    /// Amount, Other (9F03), in minor units.
    pub other_amount: u64,
    /// Terminal country code (9F1A), ISO 3166 numeric.
    pub country: u16,
    /// Terminal verification results (95).
    pub terminal_verification: [u8; 5],
    /// Transaction currency code (5F2A), ISO 4217 numeric.
    pub currency: u16,
    /// Transaction date (9A) as BCD YY MM DD.
    pub date: [u8; 3],
    /// Transaction type (9C).
    pub transaction_type: u8,
    /// The unpredictable number (9F37): where a CAP reader puts the challenge.
    pub unpredictable_number: [u8; 4],
}

impl TransactionData {
    /// What a CAP reader sends with no challenge and no amount (identify).
    #[must_use]
    pub fn reader_default() -> Self {
        Self {
            amount: 0,
            other_amount: 0,
            country: 0,
            terminal_verification: [0x80, 0, 0, 0, 0],
            currency: 0,
            date: [0x01, 0x01, 0x01],
            transaction_type: 0,
            unpredictable_number: [0; 4],
        }
    }

    /// The CDOL1 bytes, in the card's CDOL1 order.
    #[must_use]
    pub fn encode(&self) -> [u8; CDOL1_LENGTH] {
        let mut out = [0u8; CDOL1_LENGTH];
        write_bcd(&mut out[0..6], self.amount);
        write_bcd(&mut out[6..12], self.other_amount);
        write_bcd(&mut out[12..14], u64::from(self.country));
        out[14..19].copy_from_slice(&self.terminal_verification);
        write_bcd(&mut out[19..21], u64::from(self.currency));
        out[21..24].copy_from_slice(&self.date);
        out[24] = self.transaction_type;
        out[25..29].copy_from_slice(&self.unpredictable_number);
        out
    }
}

/// The application cryptogram over `cdol1`, the card's application interchange
/// profile `aip` and its transaction counter `atc`, under `session`.
pub(crate) fn application_cryptogram(
    session: &SessionKey,
    cdol1: &[u8; CDOL1_LENGTH],
    aip: [u8; 2],
    atc: u16,
) -> [u8; 8] {
    let mut input = [0u8; CRYPTOGRAM_INPUT];
    input[..CDOL1_LENGTH].copy_from_slice(cdol1);
    input[CDOL1_LENGTH..CDOL1_LENGTH + 2].copy_from_slice(&aip);
    input[CDOL1_LENGTH + 2..].copy_from_slice(&atc.to_be_bytes());
    retail_mac(&session.0, &input)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// python-emv's test of the request barclays_pinsentry.c sends for a payment of
    /// £1234.56 to account 78901234: the CDOL1 data after the command header.
    #[test]
    fn cdol1_matches_the_recorded_reader_request() {
        let data = TransactionData {
            amount: 123_456,
            unpredictable_number: [0x78, 0x90, 0x12, 0x34],
            ..TransactionData::reader_default()
        };
        let expected = crate::emv::tests_support::hex(
            "000000123456 000000000000 0000 8000000000 0000 010101 00 78901234",
        );
        assert_eq!(data.encode().to_vec(), expected);
    }
}
