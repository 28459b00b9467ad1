//! RFC 6287 OCRA: challenge-response and signatures over HOTP's HMAC and truncation.
//!
//! One file per job: the suite string (`suite`), the data input laid out against it
//! (`input`), the response (`response`), the computation and its verification
//! (`compute`), challenge questions (`challenge`), and challenges derived from
//! transfers (`transaction`).
//!
//! Main types: [`OcraSuite`] (the parsed suite string), [`Ocra`] (computes and verifies
//! responses), [`OcraInput`] with [`OcraQuestion`], [`Password`] and [`Timestamp`],
//! [`OcraResponse`], [`Challenge`], and [`Transaction`] for signing transfers.

mod challenge;
mod compute;
pub(crate) mod error;
mod input;
mod response;
mod sign_mode;
mod suite;
mod transaction;

pub use challenge::Challenge;
pub use compute::{Ocra, OcraMatch, OcraWindow};
pub use error::{DataInputPart, OcraError, OcraVerifyError, TransactionError};
pub(crate) use input::password_hash;
pub use input::{OcraInput, OcraQuestion, Password, Timestamp};
pub use response::{FullMac, OcraResponse};
pub use sign_mode::{
    SIGN_MODE_ACCOUNT_DIGITS, SIGN_MODE_MAX_AMOUNT, SIGN_MODE_MAX_PAYEES, SignedFields,
};
pub use suite::{OcraSuite, QuestionFormat, QuestionKind, SuiteError, TimeStep, TimeUnit};
pub use transaction::{Currency, MAX_TRANSACTION_FIELD_BYTES, SigningNonce, Transaction};
