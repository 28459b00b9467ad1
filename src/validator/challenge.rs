//! What the bank keeps for a token's keypad (RFC 6287 OCRA): the suite, the counter,
//! the learned clock offset, and the one challenge it last issued.

use subtle::ConstantTimeEq;

use crate::clock::UnixTime;
use crate::ocra::{Challenge, OcraSuite, SigningNonce, Transaction};

/// The transfer a signature challenge was issued for, as the bank keeps it: the
/// signing nonce and the SHA-256 of the transfer's encoding
/// ([`Transaction::digest`]).
///
/// That is enough to tell, when the response comes back with the transfer the bank is
/// about to execute, whether it is the very transfer the customer signed (every field,
/// to the cent), without keeping the transfer itself in the token's record. Neither
/// part is secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// Deliberately exhaustive: a Store backend outside this crate builds it field by field from
// its rows, and a new field is a breaking change for every backend anyway (it must store
// it).
#[allow(clippy::exhaustive_structs)]
pub struct TransactionCommitment {
    /// The nonce the challenge was derived with.
    pub nonce: SigningNonce,
    /// SHA-256 of the transfer's version-1 encoding with the nonce.
    pub digest: [u8; 32],
}

impl TransactionCommitment {
    /// The commitment to `transaction` signed with `nonce`.
    #[must_use]
    pub fn new(transaction: &Transaction, nonce: SigningNonce) -> Self {
        Self {
            nonce,
            digest: transaction.digest(&nonce),
        }
    }

    /// Whether `transaction` is the transfer committed to, field for field.
    #[must_use]
    pub fn matches(&self, transaction: &Transaction) -> bool {
        transaction.digest(&self.nonce).ct_eq(&self.digest).into()
    }
}

/// A challenge the bank issued: the text shown to the customer, when it stops being
/// accepted, and for a signature challenge the transfer it stands for.
///
/// ```
/// use otpfob::{ocra::{Currency, OcraSuite, SigningNonce, Transaction}, validator::IssuedChallenge};
/// use otpfob::{UnixTime, validator::TransactionCommitment};
///
/// let suite: OcraSuite = "OCRA-1:HOTP-SHA256-8:QN08".parse()?;
/// let transfer = Transaction::new(125_000, Currency::new("EUR")?, "DE89370400440532013000", None)?;
/// let nonce = SigningNonce::from_bytes([1; 16]);
/// let issued = IssuedChallenge {
///     challenge: transfer.signature_challenge(&suite, &nonce),
///     expires_at: UnixTime::from_secs(1_767_225_900),
///     transaction: Some(TransactionCommitment::new(&transfer, nonce)),
/// };
/// let tampered = Transaction::new(125_001, Currency::new("EUR")?, "DE89370400440532013000", None)?;
/// assert!(issued.transaction.is_some_and(|commitment| commitment.matches(&transfer)));
/// assert!(!issued.transaction.is_some_and(|commitment| commitment.matches(&tampered)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
// Deliberately exhaustive: a Store backend outside this crate builds it field by field from
// its rows, and a new field is a breaking change for every backend anyway (it must store
// it).
#[allow(clippy::exhaustive_structs)]
pub struct IssuedChallenge {
    /// The challenge question, to show the customer.
    pub challenge: Challenge,
    /// From this time on the challenge is expired and every response to it rejected.
    pub expires_at: UnixTime,
    /// For a signature challenge, the transfer it was derived from; `None` for a
    /// login (one-way) challenge.
    pub transaction: Option<TransactionCommitment>,
}

/// Where a token's challenge stands: the bank keeps one challenge per token, and a new
/// one replaces the old.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChallengeSlot {
    /// No challenge has been issued since enrolment.
    Empty,
    /// A challenge was issued and no response to it has been checked yet.
    Open(IssuedChallenge),
    /// The last challenge is spent: a response to it was checked (accepted or not).
    Spent,
}

/// The OCRA state of a token with a keypad: how its responses are computed and how far
/// it has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// Deliberately exhaustive: a Store backend outside this crate builds it field by field from
// its rows, and a new field is a breaking change for every backend anyway (it must store
// it).
#[allow(clippy::exhaustive_structs)]
pub struct OcraState {
    /// The suite the device computes responses with.
    pub suite: OcraSuite,
    /// The next counter the bank expects, for suites with a counter (`C`): every
    /// counter below it is spent. `None` for suites without.
    pub next_counter: Option<u64>,
    /// The learned offset, in the suite's time steps, of the device's clock from the
    /// bank's (positive when the device runs ahead); used by suites with a time step.
    pub drift_steps: i64,
    /// When the drift was last learned (or the token enrolled): the time window widens
    /// with the time since, by the policy's drift tolerance.
    pub synced_at: UnixTime,
    /// The challenge last issued, and whether it is still open.
    pub challenge: ChallengeSlot,
}

impl OcraState {
    /// The state of a newly enrolled keypad: counter `counter` for suites with `C`, no
    /// drift as of `synced_at`, no challenge issued.
    #[must_use]
    pub fn new(suite: OcraSuite, counter: u64, synced_at: UnixTime) -> Self {
        Self {
            suite,
            next_counter: suite.uses_counter().then_some(counter),
            drift_steps: 0,
            synced_at,
            challenge: ChallengeSlot::Empty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocra::Currency;

    #[test]
    fn a_commitment_matches_only_its_transfer() {
        let euro = Currency::new("EUR").unwrap();
        let transfer = Transaction::new(100, euro, "DE89", Some("rent")).unwrap();
        let commitment = TransactionCommitment::new(&transfer, SigningNonce::from_bytes([5; 16]));
        assert!(commitment.matches(&transfer));
        for other in [
            Transaction::new(101, euro, "DE89", Some("rent")),
            Transaction::new(100, Currency::new("CHF").unwrap(), "DE89", Some("rent")),
            Transaction::new(100, euro, "DE88", Some("rent")),
            Transaction::new(100, euro, "DE89", Some("rent!")),
            Transaction::new(100, euro, "DE89", None),
        ] {
            assert!(!commitment.matches(&other.unwrap()));
        }
    }

    #[test]
    fn new_state_has_a_counter_only_for_counter_suites() {
        let with: OcraSuite = "OCRA-1:HOTP-SHA1-6:C-QN08".parse().unwrap();
        let without: OcraSuite = "OCRA-1:HOTP-SHA1-6:QN08-T1M".parse().unwrap();
        assert_eq!(
            OcraState::new(with, 7, UnixTime::EPOCH).next_counter,
            Some(7)
        );
        let state = OcraState::new(without, 7, UnixTime::EPOCH);
        assert_eq!(state.next_counter, None);
        assert_eq!(state.challenge, ChallengeSlot::Empty);
    }
}
