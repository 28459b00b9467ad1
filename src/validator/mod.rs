//! The bank side: the policy, the per-token record, the pure decision, sealed seeds,
//! server-side PINs, the audit trail, and the `Validator` that ties them to a store.
//!
//! Main types: [`Validator`] (enrol, verify, resync, challenges, administration) over a
//! [`Store`] (the trait; its backends are in [`crate::store`]); [`Policy`] (windows,
//! lockout, challenge lifetime); [`TokenRecord`] with [`TokenKind`] and [`TokenState`]
//! ([`Status`], [`Lock`]); the pure [`decide`] / [`decide_ocra`] and their [`Decision`];
//! [`Keyring`] / [`SealingKey`] / [`SealedSecret`] for seeds at rest; [`PinHash`] for
//! server-side PINs; [`AuditEvent`] and [`AuditSink`] for the audit trail; and the
//! errors [`Rejected`] / [`RejectReason`] (a code refused) and [`ValidatorError`].

pub(crate) mod audit;
#[cfg(feature = "emv-cap")]
pub(crate) mod cap_decision;
pub mod chain;
pub(crate) mod challenge;
pub(crate) mod decision;
pub(crate) mod enrolment;
pub(crate) mod error;
pub(crate) mod generator;
pub(crate) mod keyring_backend;
pub(crate) mod lifecycle;
pub mod notify;
pub(crate) mod ocra_decision;
pub(crate) mod pin;
#[cfg(feature = "pkcs11")]
pub mod pkcs11;
pub(crate) mod policy;
pub(crate) mod record;
pub(crate) mod record_mac;
pub(crate) mod seal;
pub(crate) mod sealed;
pub(crate) mod service;
pub(crate) mod store;
pub(crate) mod throttle;
pub(crate) mod token_id;
pub(crate) mod verdict;

// The public face of the bank side. The files above stay private: a user names
// `otpfob::validator::TokenRecord`, not the file it is written in.
pub use audit::{ActorKind, AuditContext, CHAIN_HASH_LEN, ChainHash, current_context, within};
pub use audit::{AuditEvent, AuditLog, AuditSink, Operation, Outcome, acting_as, current_actor};
pub use audit::{AuditReason, MAX_AUDIT_REASON_CHARS, current_reason, giving_reason};
#[cfg(feature = "emv-cap")]
pub use cap_decision::{
    ATC_END, CapAttempt, CapCard, CapDecision, CapState, DEFAULT_CAP_LOOK_AHEAD,
    MAX_CAP_LOOK_AHEAD, SHORT_CODE_BITS, SHORT_CODE_FAILURE_LIMIT, decide_cap, decide_cap_resync,
};
pub use challenge::{ChallengeSlot, IssuedChallenge, OcraState, TransactionCommitment};
pub use decision::{decide, decide_resync};
pub use enrolment::{CarriedState, Enrolment, OcraEnrolment};
pub use error::{RejectReason, Rejected, SealError, StoreError, TokenIdError, ValidatorError};
pub use generator::{CodeGenerator, TokenKeyBackend, unmatchable_code};
pub use keyring_backend::{BackendError, KeyringBackend};
pub use lifecycle::{
    CustomerRef, MAX_CUSTOMER_REF_LEN, MAX_TOKENS_PER_CUSTOMER, Validity, may_change_status,
    standing,
};
pub use ocra_decision::{OcraAttempt, decide_ocra};
pub use pin::{MAX_PIN_CHARS, MIN_PIN_CHARS, PinHash, PinHashing};
pub use policy::{
    DEFAULT_CHALLENGE_LIFETIME, Lockout, MAX_CHALLENGE_LIFETIME, MAX_WINDOW,
    PSD2_MAX_CODE_LIFETIME, PSD2_MAX_FAILURES, Policy,
};
pub use record::{Incarnation, Lock, Status, TokenKind, TokenRecord, TokenState};
pub use seal::{Keyring, SEALING_KEY_LEN, SealingKey};
pub use sealed::{NONCE_LEN, RECORD_MAC_LEN, RecordMac, SealedSecret, TAG_LEN};
#[cfg(feature = "emv-cap")]
pub use service::CapEnrolment;
pub use service::{
    CustomerAcceptance, DEFAULT_GENERATOR_CACHE, EMERGENCY_CODE_PARAMETERS, EmergencyCodes,
    LookupMatch, MAX_ATTEMPTS, MAX_EMERGENCY_CODES, ResealProgress, SIGN_MODE_MAX_LIFETIME,
    Validator,
};
pub use store::{Store, Swap};
pub use token_id::{MAX_TOKEN_ID_LEN, TokenId};
pub use verdict::{Acceptance, Decision, Verdict};
