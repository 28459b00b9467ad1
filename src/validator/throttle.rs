//! The failure, lock and drift rules the code decision (`decision.rs`) and the OCRA
//! decision (`ocra_decision.rs`) share: what a success clears, what a failure counts and
//! when it locks, which tokens are refused before any code is computed, and how far the
//! time window widens for a drifting crystal.

use crate::clock::UnixTime;
use crate::validator::error::RejectReason;
use crate::validator::lifecycle::standing;
use crate::validator::policy::{Lockout, Policy};
use crate::validator::record::{Lock, TokenState};
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

/// Rejects a token that is not active or outside its validity period (the pure
/// [`standing`] rule), whose use limit is spent, or locked; clears a back-off lock that
/// has run out.
pub(crate) fn refuse_without_counting(
    state: &mut TokenState,
    now: UnixTime,
) -> Option<RejectReason> {
    if let Some(reason) = standing(state.status, state.validity, now) {
        return Some(reason);
    }
    if state.uses_left == Some(0) {
        return Some(RejectReason::UsesSpent);
    }
    if state.lock.holds_at(now) {
        return Some(RejectReason::Locked);
    }
    state.lock = Lock::Unlocked;
    None
}

/// An acceptance: the failure count and any back-off are cleared (RFC 4226 §7.3
/// counts consecutive failures), and one use of a use-limited token is taken (only
/// a token with one left gets here: [`refuse_without_counting`] refuses at zero).
pub(crate) fn succeed(mut state: TokenState, acceptance: Acceptance) -> Decision {
    state.uses_left = state.uses_left.map(|left| left.saturating_sub(1));
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
            Lockout::Backoff { .. }
                if policy
                    .permanent_lock_after
                    .is_some_and(|temporary| state.lockouts >= temporary) =>
            {
                // Escalation (PSD2 RTS Art. 4(5)): the set number of temporary blocks
                // is spent, so this one holds until an administrator unlocks.
                Lock::UntilUnlocked { since: now }
            }
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

/// Whether the change from `before` to `after` locked the token: every lock
/// [`fail`] imposes counts one more lockout, and only an acceptance or an unlock
/// lowers the count.
pub(crate) fn imposed_lock(before: &TokenState, after: &TokenState) -> bool {
    after.lockouts > before.lockouts
}

/// Whether the change from `before` to `after` imposed the last temporary block
/// before the next one becomes permanent ([`Policy::permanent_lock_after`]): the
/// moment the validator raises its alert (PSD2 RTS Art. 4(5)), so that the bank can
/// inform the customer while the block is still temporary.
pub(crate) fn imposed_last_temporary_block(
    policy: &Policy,
    before: &TokenState,
    after: &TokenState,
) -> bool {
    matches!(policy.lockout, Lockout::Backoff { .. })
        && matches!(after.lock, Lock::Until { .. })
        && after.lockouts > before.lockouts
        && policy
            .permanent_lock_after
            .is_some_and(|temporary| after.lockouts == temporary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotp::HotpParameters;
    use crate::validator::record::TokenKind;
    use core::time::Duration;

    fn fresh() -> TokenState {
        TokenState::new(TokenKind::event(HotpParameters::default(), 0))
    }

    /// Fails `state` until it locks, returning the state and whether the alert rule fired.
    fn fail_until_locked(
        policy: &Policy,
        mut state: TokenState,
        now: UnixTime,
    ) -> (TokenState, bool) {
        let mut alerted = false;
        for _ in 0..policy.failure_limit {
            let before = state.clone();
            state = fail(policy, state, RejectReason::WrongCode, now).state;
            alerted |= imposed_last_temporary_block(policy, &before, &state);
        }
        (state, alerted)
    }

    /// RTS Art. 4(3)(b): the fifth consecutive failure blocks, not the sixth.
    #[test]
    fn psd2_blocks_at_the_fifth_failure() {
        let policy = Policy::psd2();
        let mut state = fresh();
        let now = UnixTime::from_secs(1_000_000);
        for attempt in 1..=4 {
            state = fail(&policy, state, RejectReason::WrongCode, now).state;
            assert!(!state.lock.holds_at(now), "locked after {attempt}");
        }
        state = fail(&policy, state, RejectReason::WrongCode, now).state;
        assert!(state.lock.holds_at(now));
    }

    /// RTS Art. 4(4), 4(5): three temporary blocks, the alert with the third, then a
    /// permanent block; a success in between resets the escalation.
    #[test]
    fn psd2_blocks_escalate_to_permanent_after_an_alert() {
        let policy = Policy::psd2();
        let mut now = UnixTime::from_secs(1_000_000);
        let mut state = fresh();
        let mut alerts = Vec::new();
        for block in 1..=4u32 {
            let (locked, alerted) = fail_until_locked(&policy, state, now);
            alerts.push(alerted);
            match (block, locked.lock) {
                (1..=3, Lock::Until { until }) => {
                    now = until;
                    state = locked;
                    state.failures = 0;
                    assert!(!state.lock.holds_at(now));
                }
                (4, Lock::UntilUnlocked { .. }) => {
                    assert!(locked.lock.holds_at(now.plus(Duration::from_secs(1 << 30))));
                    state = locked;
                }
                other => panic!("block {block}: {other:?}"),
            }
        }
        // Exactly one alert, raised with the third (last temporary) block, before the
        // fourth made it permanent.
        assert_eq!(alerts, [false, false, true, false]);
        assert_eq!(state.lockouts, 4);
        // A success clears the escalation.
        let cleared = succeed(
            state,
            crate::validator::verdict::Acceptance {
                position: 0,
                offset: 0,
            },
        )
        .state;
        assert_eq!(cleared.lockouts, 0);
    }

    #[test]
    fn without_escalation_blocks_stay_temporary() {
        let policy = Policy {
            permanent_lock_after: None,
            ..Policy::psd2()
        };
        let mut now = UnixTime::from_secs(1_000_000);
        let mut state = fresh();
        for _ in 0..10 {
            let (locked, alerted) = fail_until_locked(&policy, state, now);
            assert!(!alerted);
            let Lock::Until { until } = locked.lock else {
                panic!("{:?}", locked.lock)
            };
            now = until;
            state = TokenState {
                failures: 0,
                ..locked
            };
        }
    }

    fn accepted(state: TokenState) -> TokenState {
        succeed(
            state,
            crate::validator::verdict::Acceptance {
                position: 0,
                offset: 0,
            },
        )
        .state
    }

    /// Issue 15, item 3: a use-limited token (a temporary replacement, a list of
    /// emergency codes) loses one use per acceptance and is refused at zero, before
    /// any code is computed; a failure takes no use; no limit stays no limit.
    #[test]
    fn a_use_limit_ends_the_token_after_its_uses() {
        let now = UnixTime::from_secs(1_000_000);
        let mut state = TokenState {
            uses_left: Some(2),
            ..fresh()
        };
        state = fail(&Policy::default(), state, RejectReason::WrongCode, now).state;
        assert_eq!(state.uses_left, Some(2));
        assert_eq!(refuse_without_counting(&mut state, now), None);
        state = accepted(state);
        assert_eq!(state.uses_left, Some(1));
        assert_eq!(refuse_without_counting(&mut state, now), None);
        state = accepted(state);
        assert_eq!(state.uses_left, Some(0));
        assert_eq!(
            refuse_without_counting(&mut state, now),
            Some(RejectReason::UsesSpent)
        );
        let mut unlimited = accepted(fresh());
        assert_eq!(unlimited.uses_left, None);
        assert_eq!(refuse_without_counting(&mut unlimited, now), None);
    }

    /// A revoked or expired token says so, not that its uses are spent: the status
    /// comes first.
    #[test]
    fn standing_comes_before_the_use_limit() {
        let now = UnixTime::from_secs(1_000_000);
        let mut state = TokenState {
            uses_left: Some(0),
            status: crate::validator::record::Status::Revoked,
            ..fresh()
        };
        assert_eq!(
            refuse_without_counting(&mut state, now),
            Some(RejectReason::Revoked)
        );
    }
}
