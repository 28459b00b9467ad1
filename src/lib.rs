#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod algorithm;
mod clock;
mod code;
mod error;
mod hotp;
mod mac;
mod parameters;
mod provision;
mod secret;
mod totp;

pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use clock::{
    Drift, DriftingClock, ManualClock, OffsetClock, SystemClock, TimeSource, UnixTime,
};
pub use code::{Code, Grouped, MAX_CODE_DIGITS, MIN_CODE_DIGITS};
#[cfg(feature = "pskc")]
pub use error::PskcError;
#[cfg(feature = "qr")]
pub use error::QrError;
pub use error::{ClockError, CodeError, KeyUriError, OtpError, SecretError, VerifyError};
pub use hotp::{Hotp, HotpParameters, MAX_OTP_DIGITS, MIN_OTP_DIGITS, dynamic_truncate};
pub use mac::{KeyedMac, MacOutput};
pub use parameters::OtpParameters;
pub use provision::{KeyUri, MAX_KEY_URI_LEN, MAX_KEY_URI_PERIOD};
#[cfg(feature = "qr")]
pub use provision::{MAX_QR_MODULE_PIXELS, QrCode, TerminalBackground};
#[cfg(feature = "pskc")]
pub use provision::{
    PSKC_HOTP, PSKC_TOTP, ProvisionedToken, PskcContainer, PskcCredential, PskcDeviceInfo,
    PskcEncoding, PskcKey, PskcLimits, PskcPinPolicy, PskcPolicy, PskcProtection,
    PskcResponseFormat, read_pskc, read_pskc_with_limits, write_pskc,
};
pub use secret::{DEFAULT_GENERATED_BITS, MIN_GENERATED_BITS, Secret};
pub use totp::{StepMatch, Totp, TotpParameters, Window};
