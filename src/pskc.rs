//! RFC 6030 PSKC key containers (feature `pskc`): how a fob vendor ships a batch of
//! secrets to the bank.
//!
//! [`read_pskc`] (or [`read_pskc_with_limits`] with [`PskcLimits`]) reads a container into
//! [`PskcContainer`] and its [`PskcKey`]s, decrypting pre-shared-key or password
//! protection, or with feature `pskc-rsa` RSA key transport ([`PskcCredential`]);
//! [`write_pskc`] writes one. [`ProvisionedToken`] is one
//! key made ready to enrol, and [`PskcEnrolment`] the outcome of enrolling a batch.
//! [`Validator::export_pskc`](crate::Validator::export_pskc) is the way back: a
//! validator's tokens in an encrypted container, each export audited ([`TokenExport`]).
//! The code is in `provision/pskc/`; this module is its public face.

pub use crate::provision::pskc::{
    ExportError, ExportSkip, ExportSkipped, MAX_EXPORT_ACTOR_LEN, PSKC_HOTP, PSKC_TOTP,
    ProvisionedToken, PskcContainer, PskcCredential, PskcDeviceInfo, PskcEncoding, PskcEnrolError,
    PskcEnrolled, PskcEnrolment, PskcError, PskcKey, PskcLimits, PskcPinPolicy, PskcPolicy,
    PskcProtection, PskcRefused, PskcResponseFormat, TokenExport, read_pskc, read_pskc_with_limits,
    write_pskc,
};
#[cfg(feature = "pskc-rsa")]
pub use crate::provision::pskc::{MIN_RSA_KEY_BITS, PskcRsaKey};
#[cfg(feature = "pskc-signature")]
pub use crate::provision::pskc::{PskcSigner, PskcSignerCertificate, read_signed_pskc};
