//! Provisioning: getting a token's secret and parameters from one system to another.
//! Key URIs for authenticator apps, their QR codes (feature `qr`), and RFC 6030 PSKC
//! key containers for hardware fobs (feature `pskc`, public as `otpfob::pskc`).
//!
//! Main types: [`KeyUri`] (an `otpauth://` URI, parsed and written, with
//! [`KeyUriOptions`]) and, with feature `qr`, `QrCode` (its QR code as SVG, PNG or
//! terminal text).

pub(crate) mod error;
mod key_uri;
#[cfg(feature = "migrate")]
pub(crate) mod migrate;
#[cfg(feature = "pskc")]
pub(crate) mod pskc;
#[cfg(feature = "qr")]
mod qr;

pub use error::KeyUriError;
#[cfg(feature = "qr")]
pub use error::QrError;
pub use key_uri::{
    KeyUri, KeyUriOptions, MAX_KEY_URI_LEN, MAX_KEY_URI_PERIOD, MIN_IMPORTED_SECRET_BITS,
};
#[cfg(feature = "qr")]
pub use qr::{MAX_QR_MODULE_PIXELS, QrCode, TerminalBackground};
