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
mod ocra;
mod parameters;
mod secret;
mod totp;

pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use clock::{
    Drift, DriftingClock, ManualClock, OffsetClock, SystemClock, TimeSource, UnixTime,
};
pub use code::{Code, Grouped, MAX_CODE_DIGITS, MIN_CODE_DIGITS};
pub use error::{
    ClockError, CodeError, DataInputPart, OcraError, OcraVerifyError, OtpError, SecretError,
    SuiteError, TransactionError, VerifyError,
};
pub use hotp::{Hotp, HotpParameters, MAX_OTP_DIGITS, MIN_OTP_DIGITS, dynamic_truncate};
pub use mac::{KeyedMac, MacOutput};
pub use ocra::{
    Challenge, Currency, FullMac, MAX_TRANSACTION_FIELD_BYTES, Ocra, OcraInput, OcraMatch,
    OcraQuestion, OcraResponse, OcraSuite, OcraWindow, Password, QuestionFormat, QuestionKind,
    SigningNonce, TimeStep, TimeUnit, Timestamp, Transaction,
};
pub use parameters::OtpParameters;
pub use secret::{DEFAULT_GENERATED_BITS, MIN_GENERATED_BITS, Secret};
pub use totp::{StepMatch, Totp, TotpParameters, Window};
