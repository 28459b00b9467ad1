//! The reader's modes, and the terminal data each one sends the card: what the
//! customer typed becomes the unpredictable number and the amount of an EMV
//! GENERATE AC.

use crate::emv::card_data::{Amount, Digits, MAX_DATA_FIELDS, write_bcd};
use crate::emv::cryptogram::TransactionData;
use crate::emv::error::EmvError;
use crate::emv::mac::cbc_mac_blocks;

/// Up to ten numbers a customer signs in mode 2 (TDS), in the order typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataFields {
    fields: [Option<Digits>; MAX_DATA_FIELDS],
    count: u8,
}

impl DataFields {
    /// The fields `fields`, 1 to 10 of them.
    ///
    /// # Errors
    ///
    /// [`EmvError::FieldCount`] for none or more than ten.
    pub fn new(fields: &[Digits]) -> Result<Self, EmvError> {
        if fields.is_empty() || fields.len() > MAX_DATA_FIELDS {
            return Err(EmvError::FieldCount {
                count: fields.len(),
                maximum: MAX_DATA_FIELDS,
            });
        }
        let mut array = [None; MAX_DATA_FIELDS];
        for (slot, field) in array.iter_mut().zip(fields) {
            *slot = Some(*field);
        }
        Ok(Self {
            fields: array,
            // At most MAX_DATA_FIELDS, checked above.
            count: fields.len() as u8,
        })
    }

    /// Reads each of `fields` as 1 to 10 digits.
    ///
    /// # Errors
    ///
    /// [`EmvError::NotDigits`] or [`EmvError::DigitCount`] for a bad field,
    /// [`EmvError::FieldCount`] for none or more than ten.
    pub fn parse(fields: &[&str]) -> Result<Self, EmvError> {
        if fields.len() > MAX_DATA_FIELDS {
            return Err(EmvError::FieldCount {
                count: fields.len(),
                maximum: MAX_DATA_FIELDS,
            });
        }
        if fields.is_empty() {
            return Err(EmvError::FieldCount {
                count: 0,
                maximum: MAX_DATA_FIELDS,
            });
        }
        let mut parsed = [None; MAX_DATA_FIELDS];
        for (slot, field) in parsed.iter_mut().zip(fields) {
            *slot = Some(Digits::field(field)?);
        }
        Ok(Self {
            fields: parsed,
            // At most MAX_DATA_FIELDS, checked above.
            count: fields.len() as u8,
        })
    }

    /// The fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Digits> {
        self.fields[..usize::from(self.count)].iter().flatten()
    }

    /// The reader's hash of the fields: one DES block per field (its digit count,
    /// two zero bytes, then its ten digits as five bytes of BCD), chained with CBC
    /// under the all-zero DES key (ISO/IEC 9797-1 MAC algorithm 1). Its first four
    /// bytes become the unpredictable number. The digit count makes "0042" and "42"
    /// different fields, and the chaining fixes their order and number.
    #[must_use]
    pub fn hash(&self) -> [u8; 4] {
        let blocks = self.iter().map(|field| {
            let mut block = [0u8; 8];
            block[0] = field.length();
            write_bcd(&mut block[3..8], field.value());
            block
        });
        let mac = cbc_mac_blocks(&[0u8; 8], blocks);
        [mac[0], mac[1], mac[2], mac[3]]
    }
}

/// What the customer asks the reader for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
// Mode 2's ten fields make one variant large; a mode lives on the stack for one
// reading or one decision, and boxing it would put an allocation on the hot path.
#[allow(clippy::large_enum_variant)]
pub enum CapMode {
    /// Identify: mode 1 with neither challenge nor amount, a plain one-time code for a
    /// login.
    Identify,
    /// Mode 3, respond: a challenge the bank showed, nothing else.
    Respond(Digits),
    /// Mode 1, sign: a challenge and, optionally, an amount (and currency). Without an
    /// amount it signs nothing about a transfer: see the module's security notes.
    Sign {
        /// The challenge the bank showed.
        challenge: Digits,
        /// The amount to sign, if the reader asked for one.
        amount: Option<Amount>,
    },
    /// Mode 2, transaction data signing (TDS): up to ten numbers (a payee's account
    /// number, an amount) hashed by the reader into the unpredictable number.
    SignData(DataFields),
}

impl CapMode {
    /// The terminal data the reader sends the card in this mode: the challenge (BCD,
    /// right-justified) or the TDS hash in the unpredictable number, the amount in
    /// Amount, Authorised and its currency in the transaction currency code.
    #[must_use]
    pub fn transaction_data(&self) -> TransactionData {
        let mut data = TransactionData::reader_default();
        match self {
            CapMode::Identify => {}
            CapMode::Respond(challenge) => {
                write_bcd(&mut data.unpredictable_number, challenge.value());
            }
            CapMode::Sign { challenge, amount } => {
                write_bcd(&mut data.unpredictable_number, challenge.value());
                if let Some(amount) = amount {
                    data.amount = amount.minor_units();
                    data.currency = amount.currency().unwrap_or(0);
                }
            }
            CapMode::SignData(fields) => data.unpredictable_number = fields.hash(),
        }
        data
    }
}

/// The modes a bank accepts from one card: a set of [`CapMode`]'s kinds, stored with
/// the card's record.
///
/// # Security
///
/// Enrol a card for only the modes the bank's pages ask for: a bank that signs
/// transfers in mode 2 should not also accept identify codes for them, since those
/// sign nothing about the transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CapModes(u8);

impl CapModes {
    /// Identify (a login code).
    pub const IDENTIFY: Self = Self(1);
    /// Mode 3, respond to a challenge.
    pub const RESPOND: Self = Self(1 << 1);
    /// Mode 1, sign a challenge and optionally an amount.
    pub const SIGN: Self = Self(1 << 2);
    /// Mode 2, transaction data signing.
    pub const SIGN_DATA: Self = Self(1 << 3);
    /// Every mode.
    pub const ALL: Self = Self(0b1111);

    /// The set with these bits (as a store reads it back): bit 0 identify, 1 respond,
    /// 2 sign, 3 sign data.
    ///
    /// # Errors
    ///
    /// [`EmvError::Modes`] for an empty set or a bit that names no mode.
    pub fn from_bits(bits: u8) -> Result<Self, EmvError> {
        if bits == 0 || bits & !Self::ALL.0 != 0 {
            return Err(EmvError::Modes { bits });
        }
        Ok(Self(bits))
    }

    /// The bits, as [`CapModes::from_bits`] reads them.
    #[must_use]
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Both sets together.
    #[must_use]
    pub fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether `mode`'s kind is in the set.
    #[must_use]
    pub fn allows(self, mode: &CapMode) -> bool {
        let bit = match mode {
            CapMode::Identify => Self::IDENTIFY,
            CapMode::Respond(_) => Self::RESPOND,
            CapMode::Sign { .. } => Self::SIGN,
            CapMode::SignData(_) => Self::SIGN_DATA,
        };
        self.0 & bit.0 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_field_counts() {
        let one = DataFields::parse(&["12345678", "1000"]).unwrap();
        let reordered = DataFields::parse(&["1000", "12345678"]).unwrap();
        let padded = DataFields::parse(&["12345678", "01000"]).unwrap();
        let fewer = DataFields::parse(&["12345678"]).unwrap();
        let hashes = [one.hash(), reordered.hash(), padded.hash(), fewer.hash()];
        for (index, hash) in hashes.iter().enumerate() {
            for other in &hashes[index + 1..] {
                assert_ne!(hash, other);
            }
        }
        assert!(DataFields::parse(&[]).is_err());
        assert!(DataFields::parse(&["1"; 11]).is_err());
        assert!(DataFields::parse(&["12345678901"]).is_err());
    }

    #[test]
    fn mode_sets_name_only_modes() {
        assert_eq!(CapModes::from_bits(0), Err(EmvError::Modes { bits: 0 }));
        assert_eq!(
            CapModes::from_bits(0x10),
            Err(EmvError::Modes { bits: 0x10 })
        );
        let login_and_transfers = CapModes::IDENTIFY.with(CapModes::SIGN_DATA);
        assert_eq!(CapModes::from_bits(0b1001), Ok(login_and_transfers));
        assert!(login_and_transfers.allows(&CapMode::Identify));
        let challenge = Digits::challenge("1234").unwrap();
        assert!(!login_and_transfers.allows(&CapMode::Respond(challenge)));
        assert!(CapModes::ALL.allows(&CapMode::Respond(challenge)));
    }

    #[test]
    fn modes_fill_the_terminal_data() {
        let challenge = Digits::challenge("78901234").unwrap();
        let amount = Amount::new(1500).unwrap().in_currency(826).unwrap();
        let data = CapMode::Sign {
            challenge,
            amount: Some(amount),
        }
        .transaction_data();
        assert_eq!(data.unpredictable_number, [0x78, 0x90, 0x12, 0x34]);
        assert_eq!((data.amount, data.currency), (1500, 826));
        assert_eq!(
            CapMode::Identify.transaction_data(),
            TransactionData::reader_default()
        );
        assert_eq!(CapMode::Respond(challenge).transaction_data().amount, 0);
    }
}
