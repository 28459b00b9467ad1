//! The options that say how new tokens make their codes, shared by `enrol` and
//! `pskc export`.

use clap::Args;

use otpfob::{Algorithm, HotpParameters, OtpParameters, TotpParameters};

use super::{Context, Exit};

#[derive(Debug, Args)]
pub(crate) struct CodeOptions {
    /// Event (HOTP) tokens instead of time (TOTP) tokens.
    #[arg(long = "hotp")]
    pub(crate) hotp: bool,
    /// The HMAC hash: sha1, sha256 or sha512 (many authenticator apps know only sha1).
    #[arg(long = "algorithm", value_name = "NAME", default_value = "sha1")]
    algorithm: String,
    /// Digits per code, 6 to 10 (many authenticator apps know only 6 and 8).
    #[arg(long = "digits", value_name = "N", default_value_t = 6)]
    digits: u8,
    /// Seconds per time step (TOTP), 1 to 86400.
    #[arg(
        long = "period",
        value_name = "SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    period: u64,
}

impl CodeOptions {
    /// The code parameters these options describe (checked where they are used).
    pub(crate) fn parameters(&self) -> Result<OtpParameters, Exit> {
        let algorithm: Algorithm = self
            .algorithm
            .to_ascii_uppercase()
            .parse()
            .context("--algorithm")?;
        Ok(if self.hotp {
            OtpParameters::Hotp(HotpParameters {
                algorithm,
                digits: self.digits,
            })
        } else {
            OtpParameters::Totp(TotpParameters {
                algorithm,
                digits: self.digits,
                time_step: self.period,
                t0: 0,
            })
        })
    }
}
