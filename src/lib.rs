#![doc = include_str!("../README.md")]
// `unsafe_code`, `missing_docs` and the rest are set once, in Cargo.toml's
// `[workspace.lints]`. These three stay here because Cargo's lint table cannot scope a
// lint to non-test code: unit tests may unwrap.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod algorithm;
pub mod clock;
pub mod code;
pub mod device;
#[cfg(feature = "emv-cap")]
pub mod emv;
pub mod hotp;
pub mod mac;
#[cfg(feature = "migrate")]
pub mod migrate;
pub mod ocra;
mod parameters;
pub mod provision;
#[cfg(feature = "pskc")]
pub mod pskc;
pub mod secret;
pub mod store;
pub mod text;
pub mod totp;
pub mod validator;

// The root holds the types a first user needs; everything else is in the module that
// names its concept (`ocra`, `device`, `validator`, `store`, `provision`, `pskc`, ...).
pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use clock::{ClockError, DriftingClock, ManualClock, SystemClock, TimeSource, UnixTime};
pub use code::{Code, CodeError};
pub use device::{Device, DeviceError, KeyFob, SoftToken};
pub use hotp::{Hotp, HotpParameters, OtpError, VerifyError};
pub use parameters::OtpParameters;
pub use provision::{KeyUri, KeyUriError};
pub use secret::{Secret, SecretError};
pub use store::MemoryStore;
#[cfg(feature = "postgres")]
pub use store::{PgConfig, PgConfigError, PgStore};
#[cfg(feature = "sqlite")]
pub use store::{SqliteOptions, SqliteStore};
pub use totp::{Totp, TotpParameters, Window};
pub use validator::{
    Acceptance, Enrolment, Keyring, Policy, RejectReason, Rejected, SealError, SealingKey,
    StoreError, TokenId, TokenIdError, Validator, ValidatorError,
};
