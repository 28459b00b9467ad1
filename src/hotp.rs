//! RFC 4226 HOTP: an HMAC of a counter, truncated to a few decimal digits.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::algorithm::Algorithm;
use crate::code::Code;
use crate::mac::{KeyedMac, MacOutput};
use crate::secret::Secret;
use thiserror::Error;

/// The fewest digits an HOTP or TOTP code may have (RFC 4226 §5.3: at least 6).
pub const MIN_OTP_DIGITS: u8 = 6;

/// The most digits an HOTP or TOTP code may have (a 31-bit value has 10 digits).
pub const MAX_OTP_DIGITS: u8 = 10;

/// How codes of one HOTP token are made: the hash function and the digit count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// Deliberately exhaustive: RFC 4226 fixes what an HOTP token is: a hash and a number of
// digits.
#[allow(clippy::exhaustive_structs)]
pub struct HotpParameters {
    /// The hash function under HMAC.
    pub algorithm: Algorithm,
    /// Digits per code, 6 to 10.
    pub digits: u8,
}

impl Default for HotpParameters {
    /// SHA-1 and 6 digits, what RFC 4226 describes and nearly every fob uses.
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Sha1,
            digits: 6,
        }
    }
}

impl HotpParameters {
    /// Checks the digit count.
    ///
    /// # Errors
    ///
    /// [`OtpError::DigitCount`] outside [`MIN_OTP_DIGITS`]..=[`MAX_OTP_DIGITS`].
    pub fn validate(&self) -> Result<(), OtpError> {
        check_otp_digits(self.digits)
    }
}

pub(crate) fn check_otp_digits(digits: u8) -> Result<(), OtpError> {
    if (MIN_OTP_DIGITS..=MAX_OTP_DIGITS).contains(&digits) {
        Ok(())
    } else {
        Err(OtpError::DigitCount { digits })
    }
}

/// RFC 4226 §5.3 dynamic truncation: four bytes of `mac` at the offset given by the
/// low nibble of its last byte, with the top bit cleared.
///
/// Any HMAC output of 20 bytes or more is valid input; a shorter slice, which no
/// supported algorithm produces, yields 0 rather than a panic.
///
/// ```
/// // RFC 4226 §5.4: the worked example.
/// let mac = [
///     0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f,
///     0x19, 0xda, 0x8e, 0x94, 0x5b, 0x55, 0x5a,
/// ];
/// assert_eq!(otpfob::hotp::dynamic_truncate(&mac), 0x50ef7f19);
/// ```
#[must_use]
pub fn dynamic_truncate(mac: &[u8]) -> u32 {
    let Some(last) = mac.last() else { return 0 };
    let offset = usize::from(last & 0x0f);
    match mac.get(offset..offset + 4) {
        Some(&[first, second, third, fourth]) => {
            u32::from_be_bytes([first & 0x7f, second, third, fourth])
        }
        _ => 0,
    }
}

/// An RFC 4226 HOTP generator for one secret.
///
/// The keyed HMAC state is computed once in [`Hotp::new`], so each code costs only the
/// hashing of the counter. Generating and verifying never allocate.
///
/// ```
/// use otpfob::{Hotp, HotpParameters, Secret};
///
/// let secret = Secret::from_bytes(b"12345678901234567890")?;
/// let hotp = Hotp::new(&secret, HotpParameters::default())?;
/// assert_eq!(hotp.at(0).to_string(), "755224"); // RFC 4226 Appendix D
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Hotp {
    mac: KeyedMac,
    digits: u8,
}

impl Hotp {
    /// A generator for `secret` with these parameters.
    ///
    /// # Errors
    ///
    /// [`OtpError::DigitCount`] outside 6 to 10 digits.
    pub fn new(secret: &Secret, parameters: HotpParameters) -> Result<Self, OtpError> {
        parameters.validate()?;
        Ok(Self {
            mac: KeyedMac::new(parameters.algorithm, secret.expose_bytes()),
            digits: parameters.digits,
        })
    }

    /// The parameters this generator was made with.
    #[must_use]
    pub fn parameters(&self) -> HotpParameters {
        HotpParameters {
            algorithm: self.mac.algorithm(),
            digits: self.digits,
        }
    }

    /// The HMAC of `counter` as an 8-byte big-endian block (RFC 4226 §5.3, step 1).
    #[must_use]
    pub fn hmac(&self, counter: u64) -> MacOutput {
        self.mac.mac_counter(counter)
    }

    /// The code for `counter`.
    pub fn at(&self, counter: u64) -> Code {
        Code::from_truncated(self.mac.truncated_counter(counter), self.digits)
    }

    /// Looks for `code` at `counter` and the `look_ahead` counters after it
    /// (RFC 4226 §7.4) and returns the first counter that produces it.
    ///
    /// Every counter of the window is computed and compared in constant time, so the
    /// time taken says nothing about where, or whether, the code matched. This is the
    /// bare search; the bank-side policy (moving the counter, throttling) is the
    /// validator's.
    ///
    /// # Errors
    ///
    /// [`VerifyError::NoMatch`], [`VerifyError::DigitCount`] if the code has another
    /// length than this token's, and [`OtpError::CounterOverflow`] if the window
    /// passes `u64::MAX`.
    pub fn verify(&self, code: &Code, counter: u64, look_ahead: u64) -> Result<u64, VerifyError> {
        self.check_digits(code)?;
        let last = counter
            .checked_add(look_ahead)
            .ok_or(OtpError::CounterOverflow {
                counter,
                by: look_ahead,
            })?;
        let found = self.first_match(code, counter..=last);
        Option::from(found).ok_or(VerifyError::NoMatch)
    }

    pub(crate) fn check_digits(&self, code: &Code) -> Result<(), VerifyError> {
        if code.digits() == self.digits {
            Ok(())
        } else {
            Err(VerifyError::DigitCount {
                expected: self.digits,
                found: code.digits(),
            })
        }
    }

    /// The first counter in `counters` whose code equals `code`, visiting all of them.
    pub(crate) fn first_match(
        &self,
        code: &Code,
        counters: core::ops::RangeInclusive<u64>,
    ) -> subtle::CtOption<u64> {
        let mut found = Choice::from(0);
        let mut matched = 0u64;
        for counter in counters {
            let equal = self.at(counter).ct_eq(code);
            matched.conditional_assign(&counter, equal & !found);
            found |= equal;
        }
        subtle::CtOption::new(matched, found)
    }
}

/// What was wrong with an HOTP or TOTP configuration or with a time given to it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OtpError {
    /// A digit count outside 6 to 10 (RFC 4226 §5.3 asks for at least 6).
    #[error("HOTP and TOTP codes have 6 to 10 digits, {digits} were asked for")]
    DigitCount {
        /// The digit count asked for.
        digits: u8,
    },
    /// A TOTP time step of zero seconds.
    #[error("the TOTP time step must be at least one second")]
    ZeroTimeStep,
    /// A time before the TOTP epoch T0 (or before the Unix epoch), for which no
    /// time step exists.
    #[error("time {time} is before T0 = {t0}")]
    TimeBeforeT0 {
        /// The Unix time given, in whole seconds (negative before 1970).
        time: i64,
        /// The configured T0.
        t0: u64,
    },
    /// Moving a counter would pass `u64::MAX`.
    #[error("counter {counter} cannot advance by {by} without overflowing")]
    CounterOverflow {
        /// The counter before the move.
        counter: u64,
        /// The amount it was to move by.
        by: u64,
    },
}

/// Why [`Hotp::verify`](crate::Hotp::verify) or [`Totp::verify`](crate::Totp::verify)
/// did not match a code.
///
/// # Security
///
/// These reasons are for logs and audit trails. A service should tell the person who
/// typed the code only that it was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No counter or time step in the window produced this code.
    #[error("the code matches no counter or time step in the window")]
    NoMatch,
    /// The code's digit count differs from the generator's.
    #[error("the code has {found} digits but the token uses {expected}")]
    DigitCount {
        /// The token's digit count.
        expected: u8,
        /// The submitted code's digit count.
        found: u8,
    },
    /// The time or counter given to the verifier was itself unusable.
    #[error(transparent)]
    Otp(#[from] OtpError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_hotp() -> Hotp {
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        Hotp::new(&secret, HotpParameters::default()).unwrap()
    }

    #[test]
    fn verify_finds_the_first_matching_counter() {
        let hotp = rfc_hotp();
        let code = hotp.at(7);
        assert_eq!(hotp.verify(&code, 0, 10), Ok(7));
        assert_eq!(hotp.verify(&code, 7, 0), Ok(7));
        assert_eq!(hotp.verify(&code, 8, 10), Err(VerifyError::NoMatch));
        assert_eq!(hotp.verify(&code, 0, 6), Err(VerifyError::NoMatch));
    }

    #[test]
    fn verify_rejects_other_lengths_and_overflow() {
        let hotp = rfc_hotp();
        let code = Code::new(755_224, 7).unwrap();
        assert_eq!(
            hotp.verify(&code, 0, 1),
            Err(VerifyError::DigitCount {
                expected: 6,
                found: 7
            })
        );
        assert_eq!(
            hotp.verify(&hotp.at(0), u64::MAX, 1),
            Err(VerifyError::Otp(OtpError::CounterOverflow {
                counter: u64::MAX,
                by: 1
            }))
        );
    }

    #[test]
    fn digits_are_checked() {
        let secret = Secret::from_bytes(b"k").unwrap();
        for digits in [0, 5, 11] {
            let parameters = HotpParameters {
                digits,
                ..HotpParameters::default()
            };
            assert_eq!(
                Hotp::new(&secret, parameters).unwrap_err(),
                OtpError::DigitCount { digits }
            );
        }
    }

    #[test]
    fn truncation_of_short_input_is_zero() {
        assert_eq!(dynamic_truncate(&[]), 0);
        assert_eq!(dynamic_truncate(&[0x0f]), 0);
    }
}
