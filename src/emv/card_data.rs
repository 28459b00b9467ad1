//! What is printed on a card and typed into a reader: the PAN, the PAN sequence
//! number, the expiry date, challenges, amounts and data fields, each checked once
//! when made.

use core::fmt;
use core::str::FromStr;

use crate::clock::UnixTime;
use crate::emv::error::EmvError;

/// The most digits a PAN has (ISO/IEC 7812).
pub const MAX_PAN_DIGITS: usize = 19;
/// The fewest digits a PAN has.
pub const MIN_PAN_DIGITS: usize = 12;
/// The most digits a challenge (the unpredictable number) or a mode 2 data field has.
pub const MAX_CHALLENGE_DIGITS: usize = 8;
/// The most digits of one data field signed in mode 2 (TDS).
pub const MAX_FIELD_DIGITS: usize = 10;
/// The most data fields a reader signs in mode 2 (TDS).
pub const MAX_DATA_FIELDS: usize = 10;

/// A primary account number: 12 to 19 decimal digits.
///
/// `Debug` and `Display` show only the last four digits, as a receipt does.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pan {
    digits: [u8; MAX_PAN_DIGITS],
    length: u8,
}

impl Pan {
    /// The PAN's digits, one per byte (0 to 9).
    #[must_use]
    pub fn digits(&self) -> &[u8] {
        &self.digits[..usize::from(self.length)]
    }
}

impl FromStr for Pan {
    type Err = EmvError;

    /// Reads a PAN of 12 to 19 digits (no Luhn check: test cards and published
    /// vectors do not all pass one).
    fn from_str(text: &str) -> Result<Self, EmvError> {
        let value = parse_digits(text, "a PAN")?;
        if !(MIN_PAN_DIGITS..=MAX_PAN_DIGITS).contains(&text.len()) {
            return Err(EmvError::PanLength { length: text.len() });
        }
        let mut digits = [0u8; MAX_PAN_DIGITS];
        for (slot, digit) in digits.iter_mut().zip(value) {
            *slot = digit;
        }
        Ok(Self {
            digits,
            // At most MAX_PAN_DIGITS, checked above.
            length: text.len() as u8,
        })
    }
}

impl fmt::Display for Pan {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.digits();
        let shown = digits.len().saturating_sub(4);
        for _ in 0..shown {
            formatter.write_str("•")?;
        }
        for digit in &digits[shown..] {
            write!(formatter, "{digit}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Pan {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Pan({self})")
    }
}

/// The PAN sequence number (tag 5F34): which card of several with the same PAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PanSequenceNumber(u8);

impl PanSequenceNumber {
    /// The sequence number `value`, 0 to 99.
    ///
    /// # Errors
    ///
    /// [`EmvError::SequenceNumber`] above 99.
    pub fn new(value: u8) -> Result<Self, EmvError> {
        if value > 99 {
            return Err(EmvError::SequenceNumber { value });
        }
        Ok(Self(value))
    }

    /// The number, 0 to 99.
    #[must_use]
    pub fn value(&self) -> u8 {
        self.0
    }

    /// The number as one byte of BCD, as the card holds it.
    #[must_use]
    pub fn bcd(&self) -> u8 {
        ((self.0 / 10) << 4) | (self.0 % 10)
    }
}

/// A card's expiry date: the last day of `month` in `year` (tag 5F24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Expiry {
    year: u16,
    month: u8,
}

impl Expiry {
    /// The card expires at the end of `month` (1 to 12) of `year`.
    ///
    /// # Errors
    ///
    /// [`EmvError::ExpiryMonth`] outside 1 to 12.
    pub fn new(year: u16, month: u8) -> Result<Self, EmvError> {
        if !(1..=12).contains(&month) {
            return Err(EmvError::ExpiryMonth { month });
        }
        Ok(Self { year, month })
    }

    /// The year.
    #[must_use]
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month, 1 to 12.
    #[must_use]
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The first instant the card is no longer valid: midnight UTC at the start of the
    /// month after its expiry month (a card is valid through the last day of the month
    /// printed on it). UTC because the bank's verifier has no time zone of its own;
    /// the card is then valid a few hours longer or shorter than in the customer's.
    #[must_use]
    pub fn ends_at(&self) -> UnixTime {
        let (year, month) = if self.month == 12 {
            (i64::from(self.year) + 1, 1)
        } else {
            (i64::from(self.year), i64::from(self.month) + 1)
        };
        UnixTime::from_secs(days_from_civil(year, month, 1) * 86_400)
    }
}

/// Days from 1970-01-01 to the proleptic Gregorian date `year`-`month`-`day`
/// (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A number typed into the reader: a challenge the bank shows (mode 1 and 3) or a
/// data field signed in mode 2, up to 10 decimal digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digits {
    value: u64,
    length: u8,
}

impl Digits {
    fn parse(text: &str, what: &'static str, maximum: usize) -> Result<Self, EmvError> {
        let digits = parse_digits(text, what)?;
        if text.is_empty() || text.len() > maximum {
            return Err(EmvError::DigitCount {
                what,
                length: text.len(),
                maximum,
            });
        }
        let value = digits.fold(0u64, |value, digit| value * 10 + u64::from(digit));
        Ok(Self {
            value,
            // At most MAX_FIELD_DIGITS, checked above.
            length: text.len() as u8,
        })
    }

    /// A challenge of 1 to 8 digits, as the bank's page shows it.
    ///
    /// # Errors
    ///
    /// [`EmvError::NotDigits`] or [`EmvError::DigitCount`].
    pub fn challenge(text: &str) -> Result<Self, EmvError> {
        Self::parse(text, "a challenge", MAX_CHALLENGE_DIGITS)
    }

    /// A data field of 1 to 10 digits for mode 2 (an account number, an amount).
    ///
    /// # Errors
    ///
    /// [`EmvError::NotDigits`] or [`EmvError::DigitCount`].
    pub fn field(text: &str) -> Result<Self, EmvError> {
        Self::parse(text, "a data field", MAX_FIELD_DIGITS)
    }

    /// The number typed.
    #[must_use]
    pub fn value(&self) -> u64 {
        self.value
    }

    /// How many digits were typed (leading zeros count: "0042" is not "42").
    #[must_use]
    pub fn length(&self) -> u8 {
        self.length
    }
}

impl fmt::Debug for Digits {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "Digits({:0width$})",
            self.value,
            width = usize::from(self.length)
        )
    }
}

/// An amount in a currency's minor units (pence, cents), at most 12 digits, and
/// optionally its ISO 4217 numeric currency code (826 for GBP, 978 for EUR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Amount {
    minor_units: u64,
    currency: Option<u16>,
}

impl Amount {
    /// The largest amount EMV's Amount, Authorised (n 12) holds.
    pub const MAX_MINOR_UNITS: u64 = 999_999_999_999;

    /// `minor_units` with no currency (what a reader without a currency key sends).
    ///
    /// # Errors
    ///
    /// [`EmvError::Amount`] above twelve digits.
    pub fn new(minor_units: u64) -> Result<Self, EmvError> {
        if minor_units > Self::MAX_MINOR_UNITS {
            return Err(EmvError::Amount { minor_units });
        }
        Ok(Self {
            minor_units,
            currency: None,
        })
    }

    /// The same amount in the currency with ISO 4217 numeric `code`.
    ///
    /// # Errors
    ///
    /// [`EmvError::CurrencyCode`] above 999.
    pub fn in_currency(self, code: u16) -> Result<Self, EmvError> {
        if code > 999 {
            return Err(EmvError::CurrencyCode { code });
        }
        Ok(Self {
            currency: Some(code),
            ..self
        })
    }

    /// The amount in minor units.
    #[must_use]
    pub fn minor_units(&self) -> u64 {
        self.minor_units
    }

    /// The ISO 4217 numeric currency code, if one was given.
    #[must_use]
    pub fn currency(&self) -> Option<u16> {
        self.currency
    }
}

fn parse_digits<'a>(
    text: &'a str,
    what: &'static str,
) -> Result<impl Iterator<Item = u8> + 'a, EmvError> {
    if let Some(position) = text
        .chars()
        .position(|character| !character.is_ascii_digit())
    {
        return Err(EmvError::NotDigits { what, position });
    }
    Ok(text.bytes().map(|digit| digit - b'0'))
}

/// Writes `value` as packed BCD, right-justified and zero-filled, into `out`.
pub(crate) fn write_bcd(out: &mut [u8], mut value: u64) {
    for byte in out.iter_mut().rev() {
        let low = (value % 10) as u8;
        value /= 10;
        let high = (value % 10) as u8;
        value /= 10;
        *byte = (high << 4) | low;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pans_are_checked_and_masked() {
        assert_eq!(
            "12345678901".parse::<Pan>(),
            Err(EmvError::PanLength { length: 11 })
        );
        assert_eq!(
            "4658 1234".parse::<Pan>(),
            Err(EmvError::NotDigits {
                what: "a PAN",
                position: 4
            })
        );
        let pan: Pan = "4658123456789009".parse().unwrap();
        assert_eq!(pan.to_string(), "••••••••••••9009");
        assert_eq!(pan.digits().len(), 16);
    }

    #[test]
    fn numbers_typed_are_checked() {
        assert!(Digits::challenge("123456789").is_err());
        assert!(Digits::challenge("").is_err());
        assert_eq!(Digits::challenge("00012345").unwrap().value(), 12345);
        assert_eq!(Digits::field("0042").unwrap().length(), 4);
        assert!(Amount::new(1_000_000_000_000).is_err());
        assert!(Amount::new(1).unwrap().in_currency(1000).is_err());
        assert!(PanSequenceNumber::new(100).is_err());
        assert_eq!(PanSequenceNumber::new(12).unwrap().bcd(), 0x12);
        assert!(Expiry::new(2030, 13).is_err());
    }

    #[test]
    fn a_card_expires_after_the_last_day_of_its_month() {
        // 2030-01-01T00:00:00Z and 2026-03-01T00:00:00Z, from `date -u -d ... +%s`.
        assert_eq!(
            Expiry::new(2029, 12).unwrap().ends_at(),
            UnixTime::from_secs(1_893_456_000)
        );
        assert_eq!(
            Expiry::new(2026, 2).unwrap().ends_at(),
            UnixTime::from_secs(1_772_323_200)
        );
        assert_eq!(Expiry::new(1969, 12).unwrap().ends_at(), UnixTime::EPOCH);
    }

    #[test]
    fn bcd_is_right_justified() {
        let mut out = [0u8; 6];
        write_bcd(&mut out, 123_456);
        assert_eq!(out, [0, 0, 0, 0x12, 0x34, 0x56]);
        let mut out = [0u8; 4];
        write_bcd(&mut out, 78_901_234);
        assert_eq!(out, [0x78, 0x90, 0x12, 0x34]);
    }
}
