#![doc = include_str!("../README.md")]
// `unsafe_code`, `missing_docs` and the rest are set once, in Cargo.toml's
// `[workspace.lints]`. These three stay here because Cargo's lint table cannot scope a
// lint to non-test code: unit tests may unwrap.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod algorithm;
mod clock;
mod code;
mod device;
mod hotp;
mod mac;
mod ocra;
mod parameters;
mod provision;
mod secret;
mod store;
mod text;
mod totp;
mod validator;

pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use clock::ClockError;
pub use clock::{
    Drift, DriftingClock, ManualClock, OffsetClock, SystemClock, TimeSource, UnixTime,
};
pub use code::CodeError;
pub use code::{Code, Grouped, MAX_CODE_DIGITS, MIN_CODE_DIGITS};
pub use device::DeviceError;
pub use device::{
    ChallengeContext, ChallengeResponder, Crystal, DEFAULT_LIFETIME, DEFAULT_PIN_TRIES, Device,
    DeviceKind, DeviceState, FactoryRecord, KeyFob, KeyFobBuilder, MAX_DRIFT_PPM, MAX_PIN_DIGITS,
    MAX_SERIAL_LEN, MIN_PIN_DIGITS, OtpMode, Reading, Screen, SerialNumber, SoftToken,
    UNLOCK_CODE_DIGITS, UnlockChallenge, unlock_code,
};
#[cfg(feature = "fleet")]
pub use device::{Fleet, FleetBuilder};
pub use hotp::{Hotp, HotpParameters, MAX_OTP_DIGITS, MIN_OTP_DIGITS, dynamic_truncate};
pub use hotp::{OtpError, VerifyError};
pub use mac::{KeyedMac, MacOutput};
pub use ocra::{
    Challenge, Currency, FullMac, MAX_TRANSACTION_FIELD_BYTES, Ocra, OcraInput, OcraMatch,
    OcraQuestion, OcraResponse, OcraSuite, OcraWindow, Password, QuestionFormat, QuestionKind,
    SigningNonce, TimeStep, TimeUnit, Timestamp, Transaction,
};
pub use ocra::{DataInputPart, OcraError, OcraVerifyError, SuiteError, TransactionError};
pub use parameters::OtpParameters;
pub use provision::KeyUriError;
#[cfg(feature = "qr")]
pub use provision::QrError;
pub use provision::{
    KeyUri, KeyUriOptions, MAX_KEY_URI_LEN, MAX_KEY_URI_PERIOD, MIN_IMPORTED_SECRET_BITS,
};
#[cfg(feature = "qr")]
pub use provision::{MAX_QR_MODULE_PIXELS, QrCode, TerminalBackground};
#[cfg(feature = "pskc")]
pub use provision::{
    PSKC_HOTP, PSKC_TOTP, ProvisionedToken, PskcContainer, PskcCredential, PskcDeviceInfo,
    PskcEncoding, PskcEnrolled, PskcEnrolment, PskcKey, PskcLimits, PskcPinPolicy, PskcPolicy,
    PskcProtection, PskcRefused, PskcResponseFormat, read_pskc, read_pskc_with_limits, write_pskc,
};
#[cfg(feature = "pskc")]
pub use provision::{PskcEnrolError, PskcError};
pub use secret::SecretError;
pub use secret::{DEFAULT_GENERATED_BITS, MIN_GENERATED_BITS, Secret};
#[cfg(feature = "postgres")]
pub use store::PgConfigError;
pub use store::{DEFAULT_AUDIT_CAPACITY, MemoryStore};
#[cfg(feature = "sqlite")]
pub use store::{
    DEFAULT_GROUP_COMMIT_MAX_BATCH, DEFAULT_GROUP_COMMIT_QUEUE, GROUP_COMMIT_BATCH_BUCKETS,
    GroupCommitStatistics, SqliteOptions,
};
#[cfg(feature = "postgres")]
pub use store::{
    DEFAULT_PG_POOL_SIZE, DEFAULT_PG_SCHEMA, DEFAULT_PG_TIMEOUT, POSTGRES_SCHEMA_VERSION, PgConfig,
    PgStore,
};
#[cfg(feature = "sqlite")]
pub use store::{SQLITE_SCHEMA_VERSION, SqliteStore};
pub use text::{escape_invisible, is_invisible_character};
pub use totp::{StepMatch, Totp, TotpParameters, Window};
pub use validator::audit::{AuditEvent, AuditLog, AuditSink, Operation, Outcome};
pub use validator::challenge::{
    ChallengeSlot, IssuedChallenge, OcraEnrolment, OcraState, TransactionCommitment,
};
pub use validator::decision::{Acceptance, Decision, Verdict, decide, decide_resync};
pub use validator::error::{
    RejectReason, Rejected, SealError, StoreError, TokenIdError, ValidatorError,
};
pub use validator::ocra_decision::{OcraAttempt, decide_ocra};
pub use validator::pin::{MAX_PIN_CHARS, MIN_PIN_CHARS, PinHash, PinHashing};
pub use validator::policy::{
    DEFAULT_CHALLENGE_LIFETIME, Lockout, MAX_CHALLENGE_LIFETIME, MAX_WINDOW, Policy,
};
pub use validator::record::{
    Lock, MAX_TOKEN_ID_LEN, Status, TokenId, TokenKind, TokenRecord, TokenState,
};
pub use validator::seal::{Keyring, SEALING_KEY_LEN, SealedSecret, SealingKey};
pub use validator::service::{DEFAULT_GENERATOR_CACHE, Enrolment, MAX_ATTEMPTS, Validator};
pub use validator::store::{Store, Swap};
