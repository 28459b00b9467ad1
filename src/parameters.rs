//! How a token makes its codes, for either kind of token.

use crate::algorithm::Algorithm;
use crate::hotp::HotpParameters;
use crate::hotp::OtpError;
use crate::totp::TotpParameters;

/// How a token makes its codes: from a counter (HOTP, event fobs) or from the time
/// (TOTP, time fobs and authenticator apps). Devices, validator records, key URIs and
/// PSKC files all describe a token with this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// Deliberately exhaustive: the two RFC one-time-password algorithms; OCRA and EMV-CAP have
// their own types.
#[allow(clippy::exhaustive_enums)]
pub enum OtpParameters {
    /// RFC 4226: the code of a counter that moves on every button press.
    Hotp(HotpParameters),
    /// RFC 6238: the code of the current time step.
    Totp(TotpParameters),
}

impl OtpParameters {
    /// The hash function under HMAC.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        match self {
            OtpParameters::Hotp(parameters) => parameters.algorithm,
            OtpParameters::Totp(parameters) => parameters.algorithm,
        }
    }

    /// Digits per code.
    #[must_use]
    pub fn digits(&self) -> u8 {
        match self {
            OtpParameters::Hotp(parameters) => parameters.digits,
            OtpParameters::Totp(parameters) => parameters.digits,
        }
    }

    /// Checks the parameters.
    ///
    /// # Errors
    ///
    /// As [`HotpParameters::validate`] and [`TotpParameters::validate`].
    pub fn validate(&self) -> Result<(), OtpError> {
        match self {
            OtpParameters::Hotp(parameters) => parameters.validate(),
            OtpParameters::Totp(parameters) => parameters.validate(),
        }
    }
}

impl From<HotpParameters> for OtpParameters {
    fn from(parameters: HotpParameters) -> Self {
        OtpParameters::Hotp(parameters)
    }
}

impl From<TotpParameters> for OtpParameters {
    fn from(parameters: TotpParameters) -> Self {
        OtpParameters::Totp(parameters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_reach_either_kind() {
        let time = OtpParameters::from(TotpParameters {
            digits: 8,
            algorithm: Algorithm::Sha256,
            ..TotpParameters::default()
        });
        assert_eq!((time.algorithm(), time.digits()), (Algorithm::Sha256, 8));
        let event = OtpParameters::from(HotpParameters::default());
        assert_eq!((event.algorithm(), event.digits()), (Algorithm::Sha1, 6));
        let bad = OtpParameters::Totp(TotpParameters {
            time_step: 0,
            ..TotpParameters::default()
        });
        assert_eq!(bad.validate(), Err(OtpError::ZeroTimeStep));
    }
}
