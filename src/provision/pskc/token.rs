//! A token ready to enrol: what a validator and a simulated fob both need.

use core::str::FromStr;

use super::{PSKC_HOTP, PSKC_TOTP, PskcContainer, PskcEncoding, PskcKey};
use crate::algorithm::Algorithm;
use crate::clock::UnixTime;
use crate::hotp::{HotpParameters, MAX_OTP_DIGITS, MIN_OTP_DIGITS};
use crate::parameters::OtpParameters;
use crate::provision::pskc::error::PskcError;
use crate::secret::Secret;
use crate::totp::TotpParameters;

/// One HOTP or TOTP token from a seed file: everything a bank needs to enrol it in a
/// validator and to build the matching simulated fob, so that tests run against the
/// same seed file production loads.
///
/// Fields are public so that a token can be filled in by hand before
/// [`write_pskc`](crate::pskc::write_pskc); start from [`ProvisionedToken::new`].
///
/// # Security
///
/// The secret is a [`Secret`]: zeroized on drop, redacted in `Debug`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProvisionedToken {
    /// The key's `Id` in the file: how the vendor names this key.
    pub key_id: String,
    /// The serial number printed on the device (`<SerialNo>`).
    pub serial: Option<String>,
    /// The device's manufacturer.
    pub manufacturer: Option<String>,
    /// The device's model.
    pub model: Option<String>,
    /// Who issued the key.
    pub issuer: Option<String>,
    /// The shared secret.
    pub secret: Secret,
    /// How codes are made. TOTP parameters have T0 = 0: PSKC time-based keys count
    /// from the Unix epoch.
    pub parameters: OtpParameters,
    /// HOTP: the counter of the next code. Always 0 for TOTP.
    pub counter: u64,
    /// TOTP: time steps the device's clock is ahead of the validator's (negative when
    /// behind), as RFC 6030 defines `<TimeDrift>`; 0 when unknown and for HOTP.
    pub time_drift: i64,
    /// From when the token may be used: the later of the key's and the device's
    /// start dates.
    pub start_date: Option<UnixTime>,
    /// Until when the token may be used (the fob's end of life): the earlier of the
    /// key's and the device's expiry dates.
    pub expiry_date: Option<UnixTime>,
}

impl ProvisionedToken {
    /// A token with only its key id, secret and parameters; counter and drift 0, no
    /// device details or dates.
    #[must_use]
    pub fn new(key_id: &str, secret: Secret, parameters: impl Into<OtpParameters>) -> Self {
        Self {
            key_id: key_id.to_owned(),
            serial: None,
            manufacturer: None,
            model: None,
            issuer: None,
            secret,
            parameters: parameters.into(),
            counter: 0,
            time_drift: 0,
            start_date: None,
            expiry_date: None,
        }
    }
}

impl PskcKey {
    /// Whether the key's algorithm is HOTP or TOTP.
    #[must_use]
    pub fn is_otp(&self) -> bool {
        matches!(self.algorithm.as_deref(), Some(PSKC_HOTP | PSKC_TOTP))
    }

    /// The key as a token.
    ///
    /// The hash is the `<Suite>` (`HMAC-SHA256`, `SHA-256`, ... in any case; SHA-1
    /// when absent). The digits are the `<ResponseFormat>` length, which must be
    /// `DECIMAL` and 6 to 10. An HOTP key needs its `<Counter>`; a TOTP key takes
    /// `<TimeInterval>` as its step (30 s when absent) and `<TimeDrift>` as its drift
    /// (0 when absent); `<Time>` is not used.
    ///
    /// # Errors
    ///
    /// [`PskcError::NotAnOtpKey`] for another algorithm, [`PskcError::MissingElement`]
    /// for a missing `Secret`, `ResponseFormat` or (HOTP) `Counter`,
    /// [`PskcError::UnsupportedFormat`] for a non-decimal response, a length outside 6
    /// to 10 or an unknown suite, [`PskcError::InvalidValue`] for a zero time interval
    /// or an expiry date at or before the start date (of the key's policy and its
    /// device, narrowed together: no instant left in which the key may be used).
    pub fn token(&self) -> Result<ProvisionedToken, PskcError> {
        let owner = || {
            format!(
                "Key Id=\"{}\"",
                self.id.chars().take(40).collect::<String>()
            )
        };
        let is_hotp = match self.algorithm.as_deref() {
            Some(PSKC_HOTP) => true,
            Some(PSKC_TOTP) => false,
            _ => {
                return Err(PskcError::NotAnOtpKey {
                    key_id: self.id.clone(),
                    algorithm: self.algorithm.clone(),
                });
            }
        };
        let secret = self
            .secret
            .clone()
            .ok_or_else(|| PskcError::MissingElement {
                element: "Secret",
                parent: owner(),
            })?;
        let format = self
            .response_format
            .ok_or_else(|| PskcError::MissingElement {
                element: "ResponseFormat",
                parent: owner(),
            })?;
        if format.encoding != PskcEncoding::Decimal || format.check_digits {
            return Err(PskcError::UnsupportedFormat {
                key_id: self.id.clone(),
                what: "response encoding",
                value: if format.check_digits {
                    "DECIMAL with a check digit".to_owned()
                } else {
                    format.encoding.name().to_owned()
                },
            });
        }
        let digits = u8::try_from(format.length)
            .ok()
            .filter(|digits| (MIN_OTP_DIGITS..=MAX_OTP_DIGITS).contains(digits))
            .ok_or_else(|| PskcError::UnsupportedFormat {
                key_id: self.id.clone(),
                what: "response length",
                value: format.length.to_string(),
            })?;
        let algorithm = match &self.suite {
            Some(suite) => suite_algorithm(suite).ok_or_else(|| PskcError::UnsupportedFormat {
                key_id: self.id.clone(),
                what: "suite",
                value: suite.chars().take(40).collect(),
            })?,
            None => Algorithm::Sha1,
        };
        let (parameters, counter, time_drift) = if is_hotp {
            let counter = self.counter.ok_or_else(|| PskcError::MissingElement {
                element: "Counter",
                parent: owner(),
            })?;
            (
                OtpParameters::Hotp(HotpParameters { algorithm, digits }),
                counter,
                0,
            )
        } else {
            let time_step = self.time_interval.unwrap_or(30);
            if time_step == 0 {
                return Err(PskcError::InvalidValue {
                    element: "TimeInterval".to_owned(),
                    value: "0".to_owned(),
                    reason: "a time step of at least one second",
                });
            }
            let parameters = TotpParameters {
                algorithm,
                digits,
                time_step,
                t0: 0,
            };
            (
                OtpParameters::Totp(parameters),
                0,
                self.time_drift.unwrap_or(0),
            )
        };
        let device = &self.device;
        let start_date = later(self.policy.start_date, device.start_date);
        let expiry_date = earlier(self.policy.expiry_date, device.expiry_date);
        if let (Some(start), Some(expiry)) = (start_date, expiry_date)
            && expiry <= start
        {
            return Err(PskcError::InvalidValue {
                element: "ExpiryDate".to_owned(),
                value: expiry.as_secs().to_string(),
                reason: "an expiry date after the start date",
            });
        }
        Ok(ProvisionedToken {
            key_id: self.id.clone(),
            serial: device.serial_number.clone(),
            manufacturer: device.manufacturer.clone(),
            model: device.model.clone(),
            issuer: self.issuer.clone(),
            secret,
            parameters,
            counter,
            time_drift,
            start_date,
            expiry_date,
        })
    }
}

impl PskcContainer {
    /// Every HOTP and TOTP key of the container as a token, in document order. Keys of
    /// other algorithms (PIN keys, OCRA, ...) are left out: read them from
    /// [`PskcContainer::keys`].
    ///
    /// # Errors
    ///
    /// The first error of [`PskcKey::token`] among the HOTP and TOTP keys: a file is
    /// enrolled whole or not at all.
    pub fn tokens(&self) -> Result<Vec<ProvisionedToken>, PskcError> {
        self.keys
            .iter()
            .filter(|key| key.is_otp())
            .map(PskcKey::token)
            .collect()
    }
}

/// The hash of a suite: `HMAC-SHA256`, `HMAC-SHA-256`, `SHA256`, `sha-256`, ...
fn suite_algorithm(suite: &str) -> Option<Algorithm> {
    let trimmed = suite.trim();
    let name = match trimmed.get(..5) {
        Some(prefix) if prefix.eq_ignore_ascii_case("hmac-") => &trimmed[5..],
        _ => trimmed,
    };
    Algorithm::from_str(name).ok()
}

fn later(first: Option<UnixTime>, second: Option<UnixTime>) -> Option<UnixTime> {
    first.max(second)
}

fn earlier(first: Option<UnixTime>, second: Option<UnixTime>) -> Option<UnixTime> {
    match (first, second) {
        (Some(first), Some(second)) => Some(first.min(second)),
        (first, second) => first.or(second),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_name_their_hash() {
        assert_eq!(suite_algorithm("HMAC-SHA256"), Some(Algorithm::Sha256));
        assert_eq!(suite_algorithm("hmac-sha-512"), Some(Algorithm::Sha512));
        assert_eq!(suite_algorithm(" SHA1 "), Some(Algorithm::Sha1));
        assert_eq!(suite_algorithm("OCRA-1:HOTP-SHA1-6:QN08"), None);
        assert_eq!(suite_algorithm("é"), None);
    }

    #[test]
    fn dates_combine_to_the_narrower_period() {
        let (one, two) = (Some(UnixTime::from_secs(1)), Some(UnixTime::from_secs(2)));
        assert_eq!(later(one, two), two);
        assert_eq!(later(None, one), one);
        assert_eq!(earlier(one, two), one);
        assert_eq!(earlier(None, two), two);
        assert_eq!(earlier(None, None), None);
    }
}
