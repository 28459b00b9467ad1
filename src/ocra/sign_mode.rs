//! Sign mode ("what you see is what you sign", PSD2 RTS Art. 5): the customer types
//! the fields of the transfer into a keypad fob, which shows them as typed and signs
//! them with OCRA; the bank recomputes the same question from the transfer it is about
//! to execute. Unlike an opaque signature challenge, the customer's own eyes and
//! fingers carry the payee and the amount, so malware that changed the transfer
//! before the bank saw it gets a signature over the customer's fields, which the bank
//! refuses for its own.
//!
//! The OCRA question is decimal digits, of fixed layout so that no two sets of fields
//! give the same question:
//!
//! - a single transfer: `1`, the last [`SIGN_MODE_ACCOUNT_DIGITS`] digits of the
//!   payee's account (its IBAN or number, letters and spaces ignored), then the amount
//!   in minor units (cents), without leading zeros (`0` for zero);
//! - a batch (RTS Art. 5(3)(b)): `2`, the number of payees in 4 digits, then the total
//!   amount in minor units.
//!
//! At most 19 digits: a suite with a numeric question of 19 digits or more (`QN19` to
//! `QN64`) holds every question.

use core::fmt;

use crate::ocra::error::TransactionError;
use crate::ocra::transaction::Transaction;

/// How many digits of the payee's account the customer types (the last ones).
pub const SIGN_MODE_ACCOUNT_DIGITS: usize = 8;

/// The largest amount in minor units a fob takes: 10 digits.
pub const SIGN_MODE_MAX_AMOUNT: u64 = 9_999_999_999;

/// The most payees a batch names: 4 digits.
pub const SIGN_MODE_MAX_PAYEES: u32 = 9_999;

/// The fields a customer types into a fob in sign mode.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignedFields {
    /// One transfer: the last digits of the payee's account and the amount.
    Transfer {
        /// The last [`SIGN_MODE_ACCOUNT_DIGITS`] digits of the payee's account.
        account: [u8; SIGN_MODE_ACCOUNT_DIGITS],
        /// The amount in minor units.
        amount_minor: u64,
    },
    /// A batch of transfers: how many payees and the total amount.
    Batch {
        /// The number of payees.
        payees: u32,
        /// The total in minor units.
        total_minor: u64,
    },
}

impl SignedFields {
    /// The fields of one transfer to `account` (as written, `DE89 3704 0044 0532 0130
    /// 00`: its digits are taken, the last [`SIGN_MODE_ACCOUNT_DIGITS`] kept) of
    /// `amount_minor` minor units.
    ///
    /// # Errors
    ///
    /// [`TransactionError::SignModeAccount`] for an account with fewer digits, and
    /// [`TransactionError::SignModeAmount`] for an amount above
    /// [`SIGN_MODE_MAX_AMOUNT`].
    pub fn transfer(account: &str, amount_minor: u64) -> Result<Self, TransactionError> {
        let digits: Vec<u8> = account.bytes().filter(u8::is_ascii_digit).collect();
        let Some(start) = digits.len().checked_sub(SIGN_MODE_ACCOUNT_DIGITS) else {
            return Err(TransactionError::SignModeAccount {
                digits: digits.len(),
            });
        };
        let mut last = [0u8; SIGN_MODE_ACCOUNT_DIGITS];
        last.copy_from_slice(&digits[start..]);
        Ok(Self::Transfer {
            account: last,
            amount_minor: checked_amount(amount_minor)?,
        })
    }

    /// The fields of a batch of `payees` transfers totalling `total_minor`.
    ///
    /// # Errors
    ///
    /// [`TransactionError::SignModePayees`] for 0 or more than
    /// [`SIGN_MODE_MAX_PAYEES`] payees, [`TransactionError::SignModeAmount`] as for a
    /// transfer.
    pub fn batch(payees: u32, total_minor: u64) -> Result<Self, TransactionError> {
        if !(1..=SIGN_MODE_MAX_PAYEES).contains(&payees) {
            return Err(TransactionError::SignModePayees { payees });
        }
        Ok(Self::Batch {
            payees,
            total_minor: checked_amount(total_minor)?,
        })
    }

    /// The fields the bank recomputes from a transfer it is about to execute: its
    /// beneficiary's account and its amount.
    ///
    /// # Errors
    ///
    /// As [`SignedFields::transfer`].
    pub fn of_transaction(transaction: &Transaction) -> Result<Self, TransactionError> {
        Self::transfer(transaction.beneficiary(), transaction.amount_minor())
    }

    /// The fields the bank recomputes from a batch it is about to execute: the number
    /// of transfers and their total.
    ///
    /// # Errors
    ///
    /// [`TransactionError::SignModePayees`] for an empty or too large batch,
    /// [`TransactionError::SignModeAmount`] for a total above [`SIGN_MODE_MAX_AMOUNT`]
    /// (or one that overflows).
    pub fn of_batch(transactions: &[Transaction]) -> Result<Self, TransactionError> {
        let payees = u32::try_from(transactions.len()).unwrap_or(u32::MAX);
        let total = transactions
            .iter()
            .try_fold(0u64, |total, transaction| {
                total.checked_add(transaction.amount_minor())
            })
            .unwrap_or(u64::MAX);
        Self::batch(payees, total)
    }

    /// The OCRA question: decimal digits in the layout of the module docs.
    #[must_use]
    pub fn question(&self) -> String {
        match self {
            SignedFields::Transfer {
                account,
                amount_minor,
            } => {
                let account: String = account.iter().map(|digit| char::from(*digit)).collect();
                format!("1{account}{amount_minor}")
            }
            SignedFields::Batch {
                payees,
                total_minor,
            } => format!("2{payees:04}{total_minor}"),
        }
    }
}

/// What the fob's display shows as the customer types: the fields, never a secret.
impl fmt::Display for SignedFields {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignedFields::Transfer {
                account,
                amount_minor,
            } => {
                let account: String = account.iter().map(|digit| char::from(*digit)).collect();
                write!(
                    formatter,
                    "PAYEE {account} AMOUNT {}.{:02}",
                    amount_minor / 100,
                    amount_minor % 100
                )
            }
            SignedFields::Batch {
                payees,
                total_minor,
            } => write!(
                formatter,
                "PAYEES {payees} TOTAL {}.{:02}",
                total_minor / 100,
                total_minor % 100
            ),
        }
    }
}

impl fmt::Debug for SignedFields {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "SignedFields({self})")
    }
}

fn checked_amount(amount_minor: u64) -> Result<u64, TransactionError> {
    if amount_minor > SIGN_MODE_MAX_AMOUNT {
        return Err(TransactionError::SignModeAmount { amount_minor });
    }
    Ok(amount_minor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocra::Currency;

    #[test]
    fn questions_follow_the_layout_and_differ_by_every_field() {
        let transfer = SignedFields::transfer("DE89 3704 0044 0532 0130 00", 25_000).unwrap();
        assert_eq!(transfer.question(), "13201300025000");
        assert_eq!(transfer.to_string(), "PAYEE 32013000 AMOUNT 250.00");
        let other_payee = SignedFields::transfer("DE89 3704 0044 0532 0130 01", 25_000).unwrap();
        let other_amount = SignedFields::transfer("DE89 3704 0044 0532 0130 00", 25_001).unwrap();
        assert_ne!(transfer.question(), other_payee.question());
        assert_ne!(transfer.question(), other_amount.question());
        let batch = SignedFields::batch(12, 1_000_000).unwrap();
        assert_eq!(batch.question(), "200121000000");
        assert_ne!(
            batch.question(),
            SignedFields::batch(13, 1_000_000).unwrap().question()
        );
        let longest = SignedFields::transfer("99999999", SIGN_MODE_MAX_AMOUNT).unwrap();
        assert_eq!(longest.question().len(), 19);
    }

    #[test]
    fn bad_fields_are_typed_errors() {
        assert_eq!(
            SignedFields::transfer("AB12 345", 1),
            Err(TransactionError::SignModeAccount { digits: 5 })
        );
        assert_eq!(
            SignedFields::transfer("12345678", SIGN_MODE_MAX_AMOUNT + 1),
            Err(TransactionError::SignModeAmount {
                amount_minor: SIGN_MODE_MAX_AMOUNT + 1
            })
        );
        assert_eq!(
            SignedFields::batch(0, 1),
            Err(TransactionError::SignModePayees { payees: 0 })
        );
        assert!(SignedFields::batch(SIGN_MODE_MAX_PAYEES + 1, 1).is_err());
    }

    #[test]
    fn the_bank_recomputes_the_fields_from_transfers() {
        let euro = Currency::new("EUR").unwrap();
        let rent = Transaction::new(95_000, euro, "DE89 3704 0044 0532 0130 00", None).unwrap();
        let power =
            Transaction::new(5_000, euro, "FR76 3000 6000 0112 3456 7890 189", None).unwrap();
        assert_eq!(
            SignedFields::of_transaction(&rent).unwrap(),
            SignedFields::transfer("32013000", 95_000).unwrap()
        );
        assert_eq!(
            SignedFields::of_batch(&[rent, power]).unwrap(),
            SignedFields::batch(2, 100_000).unwrap()
        );
        assert!(SignedFields::of_batch(&[]).is_err());
    }
}
