//! The failure, lock and drift rules the code decision (`decision.rs`) and the OCRA
//! decision (`ocra_decision.rs`) share: what a success clears, what a failure counts and
//! when it locks, which tokens are refused before any code is computed, and how far the
//! time window widens for a drifting crystal.

use crate::clock::UnixTime;
use crate::validator::error::RejectReason;
use crate::validator::policy::{Lockout, Policy};
use crate::validator::record::{Lock, Status, TokenState};
use crate::validator::verdict::{Acceptance, Decision, Verdict};

/// A rejection that counts nothing: a locked or disabled token, a clock or counter at
/// its end.
pub(crate) fn reject_without_counting(state: TokenState, reason: RejectReason) -> Decision {
    Decision {
        verdict: Verdict::Rejected(reason),
        state,
    }
}

/// The extra steps each way a crystal off by `drift_tolerance_ppm` could have moved
/// since the drift was last learned, rounded up and capped.
pub(crate) fn drift_extension(
    policy: &Policy,
    time_step: u64,
    synced_at: UnixTime,
    now: UnixTime,
) -> u64 {
    if policy.drift_tolerance_ppm == 0 || time_step == 0 {
        return 0;
    }
    let elapsed_nanos = now.nanos_since(synced_at).max(0) as u128;
    let moved_nanos =
        elapsed_nanos.saturating_mul(u128::from(policy.drift_tolerance_ppm)) / 1_000_000;
    let step_nanos = u128::from(time_step) * 1_000_000_000;
    let steps = moved_nanos.div_ceil(step_nanos);
    u64::try_from(steps)
        .unwrap_or(u64::MAX)
        .min(policy.max_drift_extension)
}

/// Rejects a disabled or locked token; clears a back-off lock that has run out.
pub(crate) fn refuse_without_counting(
    state: &mut TokenState,
    now: UnixTime,
) -> Option<RejectReason> {
    if state.status == Status::Disabled {
        return Some(RejectReason::Disabled);
    }
    if state.lock.holds_at(now) {
        return Some(RejectReason::Locked);
    }
    state.lock = Lock::Unlocked;
    None
}

/// An acceptance: the failure count and any back-off are cleared (RFC 4226 §7.3
/// counts consecutive failures).
pub(crate) fn succeed(mut state: TokenState, acceptance: Acceptance) -> Decision {
    state.failures = 0;
    state.lockouts = 0;
    state.lock = Lock::Unlocked;
    Decision {
        verdict: Verdict::Accepted(acceptance),
        state,
    }
}

/// A rejection that counts a failure, locking the token at the policy's limit.
pub(crate) fn fail(
    policy: &Policy,
    mut state: TokenState,
    reason: RejectReason,
    now: UnixTime,
) -> Decision {
    state.failures = state.failures.saturating_add(1);
    if state.failures >= policy.failure_limit {
        state.lock = match policy.lockout {
            Lockout::UntilUnlocked => Lock::UntilUnlocked { since: now },
            Lockout::Backoff { initial, maximum } => {
                let doublings = state.lockouts.min(63);
                let length = initial
                    .checked_mul(1u32.checked_shl(doublings).unwrap_or(u32::MAX))
                    .unwrap_or(maximum)
                    .min(maximum);
                Lock::Until {
                    until: now.plus(length),
                }
            }
        };
        state.lockouts = state.lockouts.saturating_add(1);
    }
    Decision {
        verdict: Verdict::Rejected(reason),
        state,
    }
}
