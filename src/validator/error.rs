//! The validator's errors: bad token ids, broken seals, store failures, bad
//! enrolments, and the one answer a rejected code gets ([`Rejected`]) with its reason
//! for the logs.

use crate::hotp::OtpError;
use crate::ocra::error::OcraError;
use core::fmt;

use thiserror::Error;

/// What was wrong with a token identifier.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TokenIdError {
    /// The identifier was empty.
    #[error("a token id must not be empty")]
    Empty,
    /// The identifier was longer than the limit.
    #[error("a token id has at most {maximum} bytes, this one has {length}")]
    TooLong {
        /// Its length in bytes.
        length: usize,
        /// The limit.
        maximum: usize,
    },
    /// A control character or white space stood at this position.
    #[error("a token id may not contain white space or control characters (position {position})")]
    InvalidCharacter {
        /// Zero-based position, in characters.
        position: usize,
    },
    /// An invisible or direction-changing character (Unicode format characters such
    /// as U+202E RIGHT-TO-LEFT OVERRIDE or U+200B ZERO WIDTH SPACE; see
    /// [`is_invisible_character`](crate::text::is_invisible_character)) stood at this
    /// position: it would make the id display as another.
    #[error(
        "a token id may not contain the invisible or direction-changing character U+{code_point:04X} (position {position})"
    )]
    InvisibleCharacter {
        /// Zero-based position, in characters.
        position: usize,
        /// The character's code point.
        code_point: u32,
    },
}

/// Why a secret could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SealError {
    /// No key in the keyring has the key id the sealed secret names.
    #[error("no sealing key with id {key_id} is in the keyring")]
    UnknownKey {
        /// The key id the sealed secret names.
        key_id: u32,
    },
    /// The ciphertext, its nonce, its token id or the key is not the one it was sealed
    /// with: tampered data, a record moved to another token id, or the wrong key.
    #[error("the sealed secret of token {token} does not authenticate")]
    Unauthentic {
        /// The token whose secret failed to open.
        token: String,
    },
    /// A sealing key of the wrong length.
    #[error("a sealing key has 32 bytes, {length} were given")]
    KeyLength {
        /// The length given.
        length: usize,
    },
    /// Two keys in one keyring share a key id.
    #[error("key id {key_id} appears twice in the keyring")]
    DuplicateKeyId {
        /// The repeated id.
        key_id: u32,
    },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {reason}")]
    RandomSource {
        /// The error the operating system reported.
        reason: String,
    },
    /// A stored record's MAC is missing, names a key not in the keyring, or does not
    /// match the record: it was edited in the store, or not written by this keyring.
    #[error("the stored record of token {token} does not authenticate (edited in the store?)")]
    RecordTampered {
        /// The token whose record failed the check.
        token: String,
    },
    /// Strict mode: the token's HMAC key could not be imported into, or used in, the
    /// hardware security module.
    #[error("the HMAC key of token {token} in the HSM cannot be used: {error}")]
    TokenKeyUnavailable {
        /// The token.
        token: String,
        /// What the backend reported.
        error: crate::validator::keyring_backend::BackendError,
    },
    /// The key could not be used: its backend (a hardware security module) is
    /// unreachable, refused the PIN, or lost the key object.
    #[error("sealing key {key_id} cannot be used: {error}")]
    Backend {
        /// The key's id.
        key_id: u32,
        /// What the backend reported.
        error: crate::validator::keyring_backend::BackendError,
    },
}

/// What went wrong in a token store. Every store error makes the validator reject.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A token with this id is already enrolled.
    #[error("token {token} is already enrolled")]
    AlreadyEnrolled {
        /// The token id.
        token: String,
    },
    /// No token with this id is enrolled.
    #[error("token {token} is not enrolled")]
    NotEnrolled {
        /// The token id.
        token: String,
    },
    /// A stored record could not be read back into a valid record.
    #[error("the stored record of token {token} is corrupt: {reason}")]
    Corrupt {
        /// The token id.
        token: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The store's database or file failed (I/O, connection, timeout, lock).
    #[error("the store failed: {reason}")]
    Backend {
        /// What the database reported.
        reason: String,
    },
    /// A stored record is of a kind this build cannot use: an EMV-CAP card's record
    /// read by a build without feature `emv-cap`. Refused, never guessed at.
    #[error(
        "the stored record of token {token} is of kind {kind}, which this build does not support"
    )]
    UnsupportedKind {
        /// The token id.
        token: String,
        /// The kind's stored name.
        kind: String,
    },
    /// The database's schema is newer than this library understands.
    #[error(
        "the database schema is version {found}, newer than the {supported} this library supports"
    )]
    SchemaTooNew {
        /// The schema version found.
        found: i64,
        /// The newest version this library knows.
        supported: i64,
    },
    /// The PostgreSQL store could not connect, for a reason that waiting will not
    /// cure (the server's certificate, TLS, the credentials): the store is not opened.
    #[cfg(feature = "postgres")]
    #[error(transparent)]
    Connect(#[from] crate::store::PgConnectError),
}

/// What was wrong with a validator request that is not a verification: enrolment,
/// administration, PIN setting.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ValidatorError {
    /// The token id was not valid.
    #[error(transparent)]
    TokenId(#[from] TokenIdError),
    /// The token's parameters were not valid.
    #[error(transparent)]
    Parameters(#[from] OtpError),
    /// The secret could not be sealed or opened.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server-side PIN could not be hashed or was malformed.
    #[error("server-side PIN rejected: {reason}")]
    Pin {
        /// What was wrong (never the PIN).
        reason: String,
    },
    /// The policy's values contradict each other or are out of range.
    #[error("invalid policy: {reason}")]
    Policy {
        /// What was wrong.
        reason: String,
    },
    /// Other validator nodes kept changing the token; the request gave up.
    #[error("token {token} changed under {attempts} attempts; gave up")]
    Contention {
        /// The token id.
        token: String,
        /// How many compare-and-swap attempts were made.
        attempts: u32,
    },
    /// An OCRA challenge or PIN was asked for a token enrolled without an OCRA suite.
    #[error("token {token} has no OCRA suite: it answers no challenges")]
    NoOcra {
        /// The token id.
        token: String,
    },
    /// An unlock code was asked for a token enrolled without a fob's unlock key (a
    /// soft token, a PSKC import, a fob enrolled before the bank kept unlock keys).
    #[error("token {token} has no unlock key: its unlock challenges cannot be answered")]
    NoUnlockKey {
        /// The token id.
        token: String,
    },
    /// An OCRA suite the validator does not verify: one with session information
    /// (`S`), which no request carries, or a PIN change for a suite without `P`.
    #[error("the validator cannot use OCRA suite {suite}: {reason}")]
    OcraSuite {
        /// The suite string.
        suite: String,
        /// Why.
        reason: &'static str,
    },
    /// An OCRA enrolment or challenge did not fit the suite (a missing or extra PIN, a
    /// PIN hash of the wrong length), or no randomness was available for a challenge.
    #[error(transparent)]
    Ocra(#[from] OcraError),
    /// An OCRA suite the validator was given as text does not parse.
    #[error(transparent)]
    Suite(#[from] crate::ocra::SuiteError),
    /// An EMV-CAP enrolment did not make sense: a card key that is not 16 bytes, a
    /// look-ahead out of range.
    #[cfg(feature = "emv-cap")]
    #[error(transparent)]
    Emv(#[from] crate::emv::EmvError),
    /// A customer reference was empty, too long or not printable ASCII.
    #[error("invalid customer reference \"{reference}\": {reason}")]
    CustomerRef {
        /// The reference, escaped and cut at 128 characters.
        reference: String,
        /// What was wrong.
        reason: &'static str,
    },
    /// An audit reason was blank, too long, or held a control or invisible character.
    #[error("invalid audit reason: {problem}")]
    AuditReason {
        /// What was wrong (never the reason's text).
        problem: String,
    },
    /// A validity period that ends at or before it starts.
    #[error("validity period ends ({not_after}) at or before it starts ({not_before})")]
    Validity {
        /// Its start, in seconds since the epoch.
        not_before: i64,
        /// Its end, in seconds since the epoch.
        not_after: i64,
    },
    /// A life-cycle change that the token's state does not allow: out of `revoked`
    /// (final), "found" for a token not reported lost, a token already owned by
    /// another customer, a customer already holding the most tokens allowed.
    #[error("token {token}: {reason}")]
    Lifecycle {
        /// The token id.
        token: String,
        /// Why.
        reason: &'static str,
    },
}

/// Why a code was rejected.
///
/// # Security
///
/// For audit trails and server logs only. The person who typed the code is told only
/// that it was rejected: telling them "locked" or "replayed" would tell an attacker
/// which guesses are worth making.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// No unspent counter or step in the window produced the code.
    WrongCode,
    /// The code is that of a step or counter already accepted (one-time use).
    Replayed,
    /// The server-side PIN was missing or wrong.
    WrongPin,
    /// The code had another number of digits than the token's, or was not a code.
    Malformed,
    /// The token is locked after too many failures.
    Locked,
    /// An administrator disabled the token.
    Disabled,
    /// The validator's clock reads before the token's T0.
    ClockBeforeT0,
    /// The HOTP counter cannot move further without overflowing.
    CounterExhausted,
    /// A resynchronisation found no two consecutive codes in its window.
    ResyncFailed,
    /// No token with this id is enrolled.
    UnknownToken,
    /// The token's secret did not open: wrong sealing key or tampered record.
    SealBroken,
    /// The store failed or returned a record that does not make sense.
    StoreFailure,
    /// Other validator nodes kept changing the token; the request gave up.
    Contention,
    /// An OCRA response came for a token with no challenge issued (or no OCRA suite).
    NoChallenge,
    /// An OCRA response came for a challenge already spent by an earlier response,
    /// right or wrong: a replay, or a second try.
    ChallengeSpent,
    /// An OCRA response came after its challenge's lifetime.
    ChallengeExpired,
    /// An OCRA signature was checked against another transfer than the one its
    /// challenge was issued for, or a signature challenge was answered as a login
    /// challenge or the other way round.
    TransactionMismatch,
    /// The token's stored record failed its MAC check: edited in the store (a lock
    /// lifted, failures reset, a spent code made unspent), or not written under this
    /// keyring. Every code is rejected until an administrator restores or re-enrols it.
    RecordTampered,
    /// The keyring's backend could not be used (a hardware security module
    /// unreachable, its session lost, the PIN refused, the key object missing): the
    /// validator fails closed until it is back.
    KeyringUnavailable,
    /// A code was checked as another kind's: an HOTP or TOTP code for an EMV-CAP card,
    /// a CAP code for a fob, or a card's record in a build without feature `emv-cap`.
    WrongKind,
    /// An EMV-CAP code came from a card past its expiry date.
    CardExpired,
    /// An EMV-CAP code was asked in a mode the card is not enrolled for.
    ModeNotAllowed,
    /// The customer reported the token lost.
    Lost,
    /// The token was revoked (final).
    Revoked,
    /// The token is past its validity period, or was retired as expired.
    Expired,
    /// The token's validity period has not begun.
    NotYetValid,
    /// In a customer's verification, the code was accepted for another of the
    /// customer's tokens: this one was left as it was.
    OtherTokenMatched,
    /// The token's use limit is spent: a temporary replacement or a list of
    /// emergency codes accepted as many codes as it was issued for.
    UsesSpent,
}

impl RejectReason {
    /// Why a code is rejected when its record's seal or MAC could not be checked:
    /// an unreachable key is not a broken seal, and the audit says which.
    #[must_use]
    pub fn of_seal_error(error: &SealError) -> Self {
        match error {
            SealError::Backend { .. } | SealError::TokenKeyUnavailable { .. } => {
                RejectReason::KeyringUnavailable
            }
            SealError::RecordTampered { .. } => RejectReason::RecordTampered,
            _ => RejectReason::SealBroken,
        }
    }

    /// A short stable name for logs and audit tables (`wrong_code`, `replayed`, …).
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            RejectReason::WrongCode => "wrong_code",
            RejectReason::Replayed => "replayed",
            RejectReason::WrongPin => "wrong_pin",
            RejectReason::Malformed => "malformed",
            RejectReason::Locked => "locked",
            RejectReason::Disabled => "disabled",
            RejectReason::ClockBeforeT0 => "clock_before_t0",
            RejectReason::CounterExhausted => "counter_exhausted",
            RejectReason::ResyncFailed => "resync_failed",
            RejectReason::UnknownToken => "unknown_token",
            RejectReason::SealBroken => "seal_broken",
            RejectReason::StoreFailure => "store_failure",
            RejectReason::Contention => "contention",
            RejectReason::NoChallenge => "no_challenge",
            RejectReason::ChallengeSpent => "challenge_spent",
            RejectReason::ChallengeExpired => "challenge_expired",
            RejectReason::TransactionMismatch => "transaction_mismatch",
            RejectReason::RecordTampered => "record_tampered",
            RejectReason::KeyringUnavailable => "keyring_unavailable",
            RejectReason::WrongKind => "wrong_kind",
            RejectReason::CardExpired => "card_expired",
            RejectReason::ModeNotAllowed => "mode_not_allowed",
            RejectReason::Lost => "lost",
            RejectReason::Revoked => "revoked",
            RejectReason::Expired => "expired",
            RejectReason::NotYetValid => "not_yet_valid",
            RejectReason::OtherTokenMatched => "other_token_matched",
            RejectReason::UsesSpent => "uses_spent",
        }
    }

    /// The reason named by [`RejectReason::as_str`], for stores reading audit rows.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        ALL_REASONS
            .iter()
            .copied()
            .find(|reason| reason.as_str() == name)
    }
}

const ALL_REASONS: [RejectReason; 28] = [
    RejectReason::WrongCode,
    RejectReason::Replayed,
    RejectReason::WrongPin,
    RejectReason::Malformed,
    RejectReason::Locked,
    RejectReason::Disabled,
    RejectReason::ClockBeforeT0,
    RejectReason::CounterExhausted,
    RejectReason::ResyncFailed,
    RejectReason::UnknownToken,
    RejectReason::SealBroken,
    RejectReason::StoreFailure,
    RejectReason::Contention,
    RejectReason::NoChallenge,
    RejectReason::ChallengeSpent,
    RejectReason::ChallengeExpired,
    RejectReason::TransactionMismatch,
    RejectReason::RecordTampered,
    RejectReason::KeyringUnavailable,
    RejectReason::WrongKind,
    RejectReason::CardExpired,
    RejectReason::ModeNotAllowed,
    RejectReason::Lost,
    RejectReason::Revoked,
    RejectReason::Expired,
    RejectReason::NotYetValid,
    RejectReason::OtherTokenMatched,
    RejectReason::UsesSpent,
];

impl fmt::Display for RejectReason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A rejected code or resync.
///
/// # Security
///
/// Show the person who typed the code only this type's `Display`, "code rejected",
/// whatever the reason: the [`reason`](Rejected::reason) is for server logs and the
/// audit trail.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub struct Rejected {
    reason: RejectReason,
}

impl Rejected {
    /// The rejection for `reason`; only the validator makes them.
    pub(crate) fn new(reason: RejectReason) -> Self {
        Self { reason }
    }

    /// Why, for logs and audits.
    #[must_use]
    pub fn reason(&self) -> RejectReason {
        self.reason
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("code rejected")
    }
}

impl fmt::Debug for Rejected {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Rejected({})", self.reason)
    }
}

impl std::error::Error for Rejected {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_names_round_trip() {
        for reason in ALL_REASONS {
            assert_eq!(RejectReason::from_name(reason.as_str()), Some(reason));
        }
        assert_eq!(RejectReason::from_name("nope"), None);
    }
}
