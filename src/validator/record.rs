//! What the bank stores per token.

use crate::clock::UnixTime;
use core::fmt;

use crate::hotp::HotpParameters;
use crate::parameters::OtpParameters;
use crate::totp::TotpParameters;
use crate::validator::challenge::OcraState;
use crate::validator::error::SealError;
use crate::validator::lifecycle::{CustomerRef, Validity};
use crate::validator::pin::PinHash;
use crate::validator::sealed::{RecordMac, SealedSecret};
pub(crate) use crate::validator::token_id::TokenId;

/// Which enrolment of a token id a record belongs to: 128 random bits drawn when the
/// token is enrolled, kept by every change, and new when the id is enrolled again.
///
/// # Security
///
/// Versions start at 1 at every enrolment, so a version alone does not tell an old
/// record from a new one under the same id: a verification that loaded the record of
/// a deleted token could otherwise swap it back over the re-enrolled token (the lost
/// fob working again, the replacement refused). Stores compare the incarnation
/// together with the version in every compare-and-swap.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Incarnation([u8; Incarnation::LEN]);

impl Incarnation {
    /// Bytes of an incarnation.
    pub const LEN: usize = 16;

    /// A fresh random incarnation from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`SealError::RandomSource`] if the operating system cannot supply randomness.
    pub fn generate() -> Result<Self, SealError> {
        let mut bytes = [0u8; Self::LEN];
        getrandom::fill(&mut bytes).map_err(|error| SealError::RandomSource {
            reason: error.to_string(),
        })?;
        Ok(Self(bytes))
    }

    /// The incarnation with these bytes (as a store reads it back).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes)
    }

    /// Its bytes.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; Self::LEN] {
        self.0
    }
}

impl fmt::Debug for Incarnation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Incarnation(")?;
        for byte in self.0 {
            write!(formatter, "{byte:02x}")?;
        }
        write!(formatter, ")")
    }
}

/// How a token makes codes, and how far it has got.
///
/// Non-exhaustive: feature `emv-cap` adds [`TokenKind::Cap`], and a match outside
/// this crate must not depend on which features are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// An event (HOTP) token.
    Event {
        /// How its codes are made.
        parameters: HotpParameters,
        /// The next counter the bank expects: every counter below it is spent.
        next_counter: u64,
    },
    /// A time (TOTP) token.
    Time {
        /// How its codes are made.
        parameters: TotpParameters,
        /// The last step accepted: it and every step before it are spent.
        last_accepted_step: Option<u64>,
        /// The learned offset, in steps, of the token's clock from the bank's
        /// (positive when the token runs ahead).
        drift_steps: i64,
        /// When the drift was last learned (or the token enrolled): the window widens
        /// with the time since, by the policy's drift tolerance.
        synced_at: UnixTime,
    },
    /// An EMV-CAP bank card read by a card reader (feature `emv-cap`): its public
    /// profile, the modes the bank accepts, its ATC look-ahead and the next ATC
    /// expected. Its secret is the card's master key (see
    /// [`Validator::enrol_cap`](crate::Validator::enrol_cap)); its codes are checked
    /// with [`Validator::verify_cap`](crate::Validator::verify_cap), never
    /// [`Validator::verify`](crate::Validator::verify).
    #[cfg(feature = "emv-cap")]
    Cap(crate::validator::cap_decision::CapCard),
}

impl TokenKind {
    /// A new event token whose next code is that of `counter`.
    #[must_use]
    pub fn event(parameters: HotpParameters, counter: u64) -> Self {
        TokenKind::Event {
            parameters,
            next_counter: counter,
        }
    }

    /// A new time token with no code accepted yet and no drift, whose clock agreed
    /// with the bank's at `synced_at` (its enrolment, or its factory synchronisation
    /// if the vendor records it).
    #[must_use]
    pub fn time(parameters: TotpParameters, synced_at: UnixTime) -> Self {
        TokenKind::Time {
            parameters,
            last_accepted_step: None,
            drift_steps: 0,
            synced_at,
        }
    }

    /// A new token of either kind, the one place that maps [`OtpParameters`] to a
    /// `TokenKind`: an event token whose next code is that of `counter`, or a time
    /// token synchronised at `synced_at` (the argument the other kind ignores).
    #[must_use]
    pub fn new(parameters: OtpParameters, counter: u64, synced_at: UnixTime) -> Self {
        match parameters {
            OtpParameters::Hotp(parameters) => Self::event(parameters, counter),
            OtpParameters::Totp(parameters) => Self::time(parameters, synced_at),
        }
    }

    /// How the token makes its codes: `None` for a kind that is not HOTP or TOTP (an
    /// EMV-CAP card).
    #[must_use]
    pub fn parameters(&self) -> Option<OtpParameters> {
        match self {
            TokenKind::Event { parameters, .. } => Some(OtpParameters::Hotp(*parameters)),
            TokenKind::Time { parameters, .. } => Some(OtpParameters::Totp(*parameters)),
            #[cfg(feature = "emv-cap")]
            TokenKind::Cap(_) => None,
        }
    }

    /// How many digits its codes have.
    #[must_use]
    pub fn digits(&self) -> u8 {
        match self {
            TokenKind::Event { parameters, .. } => parameters.digits,
            TokenKind::Time { parameters, .. } => parameters.digits,
            #[cfg(feature = "emv-cap")]
            TokenKind::Cap(card) => card.profile.bitmap.digits(),
        }
    }

    /// The kind's stable name, as the SQL stores' `kind` column holds it: `event`,
    /// `time` or `cap`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            TokenKind::Event { .. } => "event",
            TokenKind::Time { .. } => "time",
            #[cfg(feature = "emv-cap")]
            TokenKind::Cap(_) => "cap",
        }
    }
}

/// Whether a token is locked by throttling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Lock {
    /// Codes are checked.
    Unlocked,
    /// Locked until an administrator unlocks it.
    UntilUnlocked {
        /// When the lock began.
        since: UnixTime,
    },
    /// Locked until a time (a back-off).
    Until {
        /// When the lock ends.
        until: UnixTime,
    },
}

impl Lock {
    /// Whether the lock holds at `now`.
    #[must_use]
    pub fn holds_at(&self, now: UnixTime) -> bool {
        match self {
            Lock::Unlocked => false,
            Lock::UntilUnlocked { .. } => true,
            Lock::Until { until } => now < *until,
        }
    }
}

/// An administrator's switch on a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// In service.
    Active,
    /// Taken out of service: every code is rejected (a closed account, a suspicion);
    /// reversible.
    Disabled,
    /// The customer reported it lost: every code is rejected until it is found
    /// ([`Validator::report_found`](crate::Validator::report_found)) or replaced.
    Lost,
    /// Revoked: final, never usable again; the record stays for the audit trail.
    Revoked,
    /// Retired at the end of its life by an administrator (a token past its validity
    /// period is refused as expired whatever its status).
    Expired,
}

impl Status {
    /// Every status, in declaration order.
    pub const ALL: [Status; 5] = [
        Status::Active,
        Status::Disabled,
        Status::Lost,
        Status::Revoked,
        Status::Expired,
    ];

    /// A short stable name for stores, audit tables and APIs.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Disabled => "disabled",
            Status::Lost => "lost",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
        }
    }

    /// The status named by [`Status::as_str`].
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }
}

/// The part of a token's record that verification changes: small, cheap to copy, and all
/// the pure decision needs.
///
/// A keypad fob is one token with two ways to answer: the codes its button shows
/// (`kind`) and the OCRA responses its keypad computes (`ocra`), from the same secret,
/// behind the same PIN. One record carries both, so the failure count, the lock and the
/// administrator's switch are the device's: guesses against either mode count towards
/// one limit, and disabling a lost fob stops its logins and its transfer signatures
/// with one call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
// Deliberately exhaustive: a Store backend outside this crate builds it field by field from
// its rows, and a new field is a breaking change for every backend anyway (it must store
// it).
#[allow(clippy::exhaustive_structs)]
pub struct TokenState {
    /// How codes are made and how far the token has got.
    pub kind: TokenKind,
    /// The keypad's OCRA suite, counter, drift and open challenge, for tokens that
    /// answer challenges; `None` otherwise. Boxed: it is larger than the rest of the
    /// state together and most tokens have none, so copying a state stays cheap.
    pub ocra: Option<Box<OcraState>>,
    /// Consecutive failed attempts since the last success.
    pub failures: u32,
    /// Lockouts since the last success, for a growing back-off.
    pub lockouts: u32,
    /// The throttling lock.
    pub lock: Lock,
    /// The administrator's switch.
    pub status: Status,
    /// When the token may be used (schema version 8); [`Validity::ALWAYS`] for no
    /// limit.
    pub validity: Validity,
    /// How many more codes the token may have accepted (schema version 11): a
    /// temporary replacement or a list of emergency codes ends on its own at a set
    /// number of uses. Each acceptance takes one; at zero every code is refused as
    /// [`RejectReason::UsesSpent`](crate::validator::RejectReason::UsesSpent). `None`
    /// for no limit.
    pub uses_left: Option<u32>,
}

impl TokenState {
    /// A fresh, active, unlocked token of this kind.
    #[must_use]
    pub fn new(kind: TokenKind) -> Self {
        Self {
            kind,
            ocra: None,
            failures: 0,
            lockouts: 0,
            lock: Lock::Unlocked,
            status: Status::Active,
            validity: Validity::ALWAYS,
            uses_left: None,
        }
    }
}

/// Everything the bank stores for one token.
///
/// # Security
///
/// The secret is only ever here sealed (AES-256-GCM under the application's key, with
/// the token id as associated data), the OCRA PIN hash and a fob's unlock key sealed
/// the same way, and the
/// server-side PIN only as an Argon2id hash; a store holds nothing that yields a code.
/// `version` increases by one with every change, and stores update a record only if
/// its version and its [`Incarnation`] are unchanged (compare-and-swap), which is what
/// makes a code acceptable at most once across validator nodes, and keeps a record of
/// a deleted enrolment from being written over the id's next one.
#[derive(Debug, Clone, PartialEq, Eq)]
// Deliberately exhaustive: a Store backend outside this crate builds it field by field from
// its rows, and a new field is a breaking change for every backend anyway (it must store
// it).
#[allow(clippy::exhaustive_structs)]
pub struct TokenRecord {
    /// The token's id.
    pub id: TokenId,
    /// The token's secret, sealed.
    pub sealed_secret: SealedSecret,
    /// The optional server-side PIN, hashed.
    pub pin: Option<PinHash>,
    /// For an OCRA suite with a PIN (`P`): the device PIN's hash under the suite's
    /// hash, sealed like the secret but under its own associated data
    /// ([`Keyring::seal_ocra_pin_hash`](crate::Keyring::seal_ocra_pin_hash)).
    pub ocra_pin: Option<SealedSecret>,
    /// For a fob enrolled from its factory record (schema version 13): the key of its
    /// unlock procedure, sealed like the secret but under its own associated data,
    /// bound to the record's incarnation too
    /// ([`Keyring::seal_unlock_key`](crate::Keyring::seal_unlock_key)), from which
    /// [`Validator::unlock_code`](crate::Validator::unlock_code) answers the fob's
    /// unlock challenge; `None` for a token without one (a soft token, a PSKC import).
    pub unlock_key: Option<SealedSecret>,
    /// What verification changes.
    pub state: TokenState,
    /// When the token was enrolled.
    pub enrolled_at: UnixTime,
    /// Which enrolment of the id this record is: with `version`, the record's identity
    /// in a compare-and-swap.
    pub incarnation: Incarnation,
    /// Increases by one with every stored change; 1 when enrolled.
    pub version: u64,
    /// The customer who holds the token, if assigned (schema version 8).
    pub owner: Option<CustomerRef>,
    /// The MAC over every other field
    /// ([`Keyring::authenticate_record`](crate::Keyring::authenticate_record)), set by
    /// the validator before every write
    /// and checked after every read; `None` only for a record stored before records
    /// were authenticated, which the validator refuses as tampered.
    pub mac: Option<RecordMac>,
    /// The head of the token's audit hash chain: the link of the newest audit event
    /// written with this record (see [`crate::validator::chain`]), covered by the MAC.
    /// `None` for a record stored before the chain existed (schema version 8) and not
    /// changed since, and for a record not yet written.
    pub audit_head: Option<crate::validator::audit::ChainHash>,
    /// For a temporary replacement (schema version 11): the lost token it stands in
    /// for, whose [`report_found`](crate::Validator::report_found) or
    /// [`replace`](crate::Validator::replace) revokes it; `None` for any other token.
    pub replaces: Option<TokenId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_lock_ends() {
        let lock = Lock::Until {
            until: UnixTime::from_secs(100),
        };
        assert!(lock.holds_at(UnixTime::from_secs(99)));
        assert!(!lock.holds_at(UnixTime::from_secs(100)));
        assert!(
            Lock::UntilUnlocked {
                since: UnixTime::EPOCH
            }
            .holds_at(UnixTime::from_secs(1 << 40))
        );
    }
}
