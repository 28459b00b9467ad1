//! What a decision returns: the verdict on one code and the token's new state.
//! A leaf, so that the decisions and the rules they share ([`throttle`](super::throttle))
//! both name these types without importing each other.

use crate::validator::error::RejectReason;
use crate::validator::record::TokenState;

/// Where an accepted code matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Acceptance {
    /// The step (TOTP) or counter (HOTP) accepted; it and everything before it are
    /// now spent.
    pub position: u64,
    /// How far that was from what the bank expected: for TOTP the step minus the
    /// bank's current step (the token's clock offset), for HOTP the counter minus the
    /// next expected counter (presses that were never used).
    pub offset: i64,
}

/// The outcome of one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
// Deliberately exhaustive: a code is accepted or rejected; there is no third verdict.
#[allow(clippy::exhaustive_enums)]
pub enum Verdict {
    /// The code is good and is now spent.
    Accepted(Acceptance),
    /// The code is not accepted.
    Rejected(RejectReason),
}

/// A verdict and the token state that must be stored for it to hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[must_use]
#[non_exhaustive]
pub struct Decision {
    /// Accepted or rejected, and why.
    pub verdict: Verdict,
    /// The state after the decision; equal to the state before when nothing changed.
    pub state: TokenState,
}
