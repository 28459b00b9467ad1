//! Provisioning: getting a token's secret and parameters from one system to another.
//! Key URIs for authenticator apps, their QR codes (feature `qr`), and RFC 6030 PSKC
//! key containers for hardware fobs (feature `pskc`).

pub(crate) mod error;
mod key_uri;
#[cfg(feature = "pskc")]
mod pskc;
#[cfg(feature = "qr")]
mod qr;

pub use error::KeyUriError;
#[cfg(feature = "qr")]
pub use error::QrError;
pub use key_uri::{
    KeyUri, KeyUriOptions, MAX_KEY_URI_LEN, MAX_KEY_URI_PERIOD, MIN_IMPORTED_SECRET_BITS,
};
#[cfg(feature = "pskc")]
pub use pskc::{
    PSKC_HOTP, PSKC_TOTP, ProvisionedToken, PskcContainer, PskcCredential, PskcDeviceInfo,
    PskcEncoding, PskcEnrolError, PskcEnrolled, PskcEnrolment, PskcError, PskcKey, PskcLimits,
    PskcPinPolicy, PskcPolicy, PskcProtection, PskcRefused, PskcResponseFormat, read_pskc,
    read_pskc_with_limits, write_pskc,
};
#[cfg(feature = "qr")]
pub use qr::{MAX_QR_MODULE_PIXELS, QrCode, TerminalBackground};
