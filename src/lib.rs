#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod algorithm;
mod clock;
mod code;
mod device;
mod error;
mod hotp;
mod mac;
mod parameters;
mod secret;
mod totp;

pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use clock::{
    Drift, DriftingClock, ManualClock, OffsetClock, SystemClock, TimeSource, UnixTime,
};
pub use code::{Code, Grouped, MAX_CODE_DIGITS, MIN_CODE_DIGITS};
pub use device::{
    ChallengeContext, ChallengeResponder, Crystal, DEFAULT_LIFETIME, DEFAULT_PIN_TRIES, Device,
    DeviceKind, DeviceState, FactoryRecord, KeyFob, KeyFobBuilder, MAX_DRIFT_PPM, MAX_PIN_DIGITS,
    MAX_SERIAL_LEN, MIN_PIN_DIGITS, OtpMode, Reading, Screen, SerialNumber, SoftToken,
    UNLOCK_CODE_DIGITS, UnlockChallenge, unlock_code,
};
#[cfg(feature = "fleet")]
pub use device::{Fleet, FleetBuilder};
pub use error::{ClockError, CodeError, DeviceError, OtpError, SecretError, VerifyError};
pub use hotp::{Hotp, HotpParameters, MAX_OTP_DIGITS, MIN_OTP_DIGITS, dynamic_truncate};
pub use mac::{KeyedMac, MacOutput};
pub use parameters::OtpParameters;
pub use secret::{DEFAULT_GENERATED_BITS, MIN_GENERATED_BITS, Secret};
pub use totp::{StepMatch, Totp, TotpParameters, Window};
