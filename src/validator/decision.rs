//! The validator's decision as a pure function: policy, state, code and time in;
//! verdict and new state out. No I/O, no clock reads, no allocation.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::clock::UnixTime;
use crate::code::Code;
use crate::hotp::Hotp;
use crate::totp::signed_difference;
use crate::validator::error::RejectReason;
use crate::validator::policy::Policy;
use crate::validator::record::{TokenKind, TokenState};
pub(crate) use crate::validator::throttle::{
    drift_extension, fail, refuse_without_counting, reject_without_counting, succeed,
};
pub(crate) use crate::validator::verdict::{Acceptance, Decision, Verdict};

/// Decides whether `code` is accepted for a token in `state` at time `now`.
///
/// `generator` must make the token's codes (its secret, algorithm and digits);
/// `pin_ok` says whether the server-side PIN check, done by the caller, passed (true
/// for a token without a PIN). The rules, in order:
///
/// 1. The whole window is always computed, whatever the state, so the time taken
///    says nothing about locks, PINs or matches.
/// 2. A disabled token, or a locked one, is rejected without counting a failure.
/// 3. A wrong PIN, a wrong code, a replayed code or a malformed one counts a failure;
///    at the policy's limit the token locks.
/// 4. A TOTP code is accepted if it matches a step after the last accepted step,
///    within the window around the current step shifted by the learned drift and
///    widened by the drift tolerance; the step becomes the last accepted step and,
///    with drift learning, its offset the new drift (RFC 6238 §5.2, §6).
/// 5. An HOTP code is accepted if it matches a counter in the look-ahead window; the
///    counter moves past it (RFC 4226 §7.4).
/// 6. Success clears the failure count.
pub fn decide(
    policy: &Policy,
    state: &TokenState,
    generator: &Hotp,
    code: &Code,
    pin_ok: bool,
    now: UnixTime,
) -> Decision {
    let search = search_window(policy, state, now);
    let digits = generator.parameters().digits;
    let well_formed = code.digits() == digits;
    // The window is searched before any rule is applied, for a malformed code too
    // (with a stand-in of the token's length, whose result `admit` then ignores):
    // uniform work.
    let stand_in = Code::from_truncated(0, digits);
    let searched = if well_formed { code } else { &stand_in };
    let found = match search {
        Ok(window) => Some(scan(generator, searched, window)),
        Err(_) => None,
    };
    let (next, window) = match admit(policy, state, search, well_formed, pin_ok, now) {
        Ok(admitted) => admitted,
        Err(decision) => return decision,
    };
    match found {
        Some(ScanResult {
            fresh: Some(position),
            ..
        }) => accept(policy, next, window.reference, position, now),
        Some(ScanResult { spent: true, .. }) => fail(policy, next, RejectReason::Replayed, now),
        _ => fail(policy, next, RejectReason::WrongCode, now),
    }
}

/// The rules every decision applies before looking at what matched, in order: a
/// disabled or locked token, or a window that cannot be searched, is rejected without
/// counting a failure; a malformed submission, then a wrong PIN, is a failure. What
/// passes comes back as the state to build on (a run-out back-off lock cleared) and the
/// window searched.
// Both arms are as large as a token state; `decide` returns one by value whatever
// happens, and boxing it would put an allocation on the hot path.
#[allow(clippy::result_large_err)]
fn admit(
    policy: &Policy,
    state: &TokenState,
    search: Result<SearchWindow, RejectReason>,
    well_formed: bool,
    pin_ok: bool,
    now: UnixTime,
) -> Result<(TokenState, SearchWindow), Decision> {
    let mut next = state.clone();
    if let Some(rejection) = refuse_without_counting(&mut next, now) {
        return Err(reject_without_counting(next, rejection));
    }
    let window = match search {
        Ok(window) => window,
        Err(reason) => return Err(reject_without_counting(next, reason)),
    };
    if !well_formed {
        return Err(fail(policy, next, RejectReason::Malformed, now));
    }
    if !pin_ok {
        return Err(fail(policy, next, RejectReason::WrongPin, now));
    }
    Ok((next, window))
}

/// Decides a resynchronisation: `first` and `second` must be the codes of two
/// consecutive counters or steps, unspent, within the policy's resync window around
/// the next expected counter or the bank's current step (RFC 4226 §7.4). Both are then
/// spent and, for TOTP, the drift is set from them.
///
/// A locked or disabled token is refused: an administrator unlocks first. A failed
/// resync counts as a failure.
pub fn decide_resync(
    policy: &Policy,
    state: &TokenState,
    generator: &Hotp,
    first: &Code,
    second: &Code,
    pin_ok: bool,
    now: UnixTime,
) -> Decision {
    let digits = generator.parameters().digits;
    let well_formed = first.digits() == digits && second.digits() == digits;
    let wide = Policy {
        totp_window: crate::totp::Window::symmetric(policy.resync_window),
        hotp_look_ahead: policy.resync_window,
        drift_tolerance_ppm: 0,
        ..*policy
    };
    let search = resync_window(&wide, state, now);
    // As in `decide`: malformed codes are searched for as stand-ins of the right length.
    let stand_in = Code::from_truncated(0, digits);
    let (first, second) = if well_formed {
        (first, second)
    } else {
        (&stand_in, &stand_in)
    };
    let found = match search {
        Ok(window) => consecutive_pair(generator, first, second, window),
        Err(_) => None,
    };
    let (next, window) = match admit(policy, state, search, well_formed, pin_ok, now) {
        Ok(admitted) => admitted,
        Err(decision) => return decision,
    };
    match found {
        Some(first_position) => match first_position.checked_add(1) {
            Some(second_position) => {
                // A resync always learns the drift: that is what it is for.
                let learning = Policy {
                    learn_drift: true,
                    ..*policy
                };
                accept(&learning, next, window.reference, second_position, now)
            }
            None => fail(policy, next, RejectReason::CounterExhausted, now),
        },
        None => fail(policy, next, RejectReason::ResyncFailed, now),
    }
}

/// The positions to search, and the position the offsets are measured from.
#[derive(Debug, Clone, Copy)]
struct SearchWindow {
    first: u64,
    last: u64,
    /// The bank's current step (TOTP) or the next expected counter (HOTP).
    reference: u64,
    /// Everything at or before this is spent.
    spent_through: Option<u64>,
}

fn current_step(parameters: &crate::totp::TotpParameters, now: UnixTime) -> Option<u64> {
    parameters.step_at_time(now)
}

fn search_window(
    policy: &Policy,
    state: &TokenState,
    now: UnixTime,
) -> Result<SearchWindow, RejectReason> {
    match state.kind {
        TokenKind::Event { next_counter, .. } => {
            let last = next_counter
                .checked_add(policy.hotp_look_ahead)
                .ok_or(RejectReason::CounterExhausted)?;
            Ok(SearchWindow {
                first: next_counter,
                last,
                reference: next_counter,
                spent_through: next_counter.checked_sub(1),
            })
        }
        TokenKind::Time {
            parameters,
            last_accepted_step,
            drift_steps,
            synced_at,
        } => {
            let current = current_step(&parameters, now).ok_or(RejectReason::ClockBeforeT0)?;
            let centre =
                current.saturating_add_signed(if policy.learn_drift { drift_steps } else { 0 });
            let extension = drift_extension(policy, parameters.time_step, synced_at, now);
            let back = policy.totp_window.back.saturating_add(extension);
            let forward = policy.totp_window.forward.saturating_add(extension);
            Ok(SearchWindow {
                first: centre.saturating_sub(back),
                last: centre.saturating_add(forward),
                reference: current,
                spent_through: last_accepted_step,
            })
        }
    }
}

fn resync_window(
    wide: &Policy,
    state: &TokenState,
    now: UnixTime,
) -> Result<SearchWindow, RejectReason> {
    let mut window = search_window(wide, state, now)?;
    if let TokenKind::Time { .. } = state.kind {
        // Around the bank's own clock, not the learned drift: the drift is what a
        // resync replaces.
        window.first = window.reference.saturating_sub(wide.resync_window);
        window.last = window.reference.saturating_add(wide.resync_window);
    }
    // The second code sits one position after the first, which must therefore stop
    // one short of the end.
    window.last = window.last.saturating_sub(1).max(window.first);
    Ok(window)
}

struct ScanResult {
    /// The first unspent position whose code matched.
    fresh: Option<u64>,
    /// Whether a spent position's code matched.
    spent: bool,
}

/// Computes the code of every position in the window and compares each in constant
/// time; which positions are spent is public, whether and where the code matched is
/// not, so neither decides what is computed.
fn scan(generator: &Hotp, code: &Code, window: SearchWindow) -> ScanResult {
    let mut fresh_found = Choice::from(0);
    let mut fresh_position = 0u64;
    let mut spent_found = Choice::from(0);
    let mut position = window.first;
    loop {
        let equal = generator.at(position).ct_eq(code);
        let spent = Choice::from(u8::from(
            window.spent_through.is_some_and(|spent| position <= spent),
        ));
        let first_fresh = equal & !spent & !fresh_found;
        fresh_position.conditional_assign(&position, first_fresh);
        fresh_found |= equal & !spent;
        spent_found |= equal & spent;
        if position >= window.last {
            break;
        }
        position += 1;
    }
    ScanResult {
        fresh: bool::from(fresh_found).then_some(fresh_position),
        spent: spent_found.into(),
    }
}

/// The first unspent position `p` in the window whose code is `first` and whose
/// successor's code is `second`.
fn consecutive_pair(
    generator: &Hotp,
    first: &Code,
    second: &Code,
    window: SearchWindow,
) -> Option<u64> {
    let start = match window.spent_through {
        Some(spent) => spent.checked_add(1)?.max(window.first),
        None => window.first,
    };
    if start > window.last {
        return None;
    }
    let mut found = Choice::from(0);
    let mut found_at = 0u64;
    let mut previous_matched_first = Choice::from(0);
    let mut position = start;
    // Walk one past the last start so its successor is compared too.
    let end = window.last.checked_add(1)?;
    loop {
        let code = generator.at(position);
        let pair = previous_matched_first & code.ct_eq(second) & !found;
        found_at.conditional_assign(&position.wrapping_sub(1), pair);
        found |= pair;
        previous_matched_first = code.ct_eq(first);
        if position >= end {
            break;
        }
        position += 1;
    }
    bool::from(found).then_some(found_at)
}

fn accept(
    policy: &Policy,
    mut state: TokenState,
    reference: u64,
    position: u64,
    now: UnixTime,
) -> Decision {
    match &mut state.kind {
        TokenKind::Event { next_counter, .. } => match position.checked_add(1) {
            Some(after) => *next_counter = after,
            None => return fail(policy, state, RejectReason::CounterExhausted, now),
        },
        TokenKind::Time {
            last_accepted_step,
            drift_steps,
            synced_at,
            ..
        } => {
            *last_accepted_step = Some(position);
            if policy.learn_drift {
                *drift_steps = signed_difference(position, reference);
                *synced_at = now;
            }
        }
    }
    succeed(
        state,
        Acceptance {
            position,
            offset: signed_difference(position, reference),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotp::HotpParameters;
    use crate::secret::Secret;
    use crate::totp::{Totp, TotpParameters};
    use crate::validator::policy::Lockout;
    use crate::validator::record::Lock;
    use core::time::Duration;

    fn secret() -> Secret {
        Secret::from_bytes(b"12345678901234567890").unwrap()
    }

    fn time_state() -> TokenState {
        TokenState::new(TokenKind::time(TotpParameters::default(), UnixTime::EPOCH))
    }

    fn totp() -> Totp {
        Totp::new(&secret(), TotpParameters::default()).unwrap()
    }

    fn generator() -> Hotp {
        Hotp::new(&secret(), HotpParameters::default()).unwrap()
    }

    const NOW: i64 = 1_700_000_000;

    fn at(seconds: i64) -> UnixTime {
        UnixTime::from_secs(seconds)
    }

    #[test]
    fn accepts_the_current_code_once() {
        let policy = Policy {
            drift_tolerance_ppm: 0,
            ..Policy::default()
        };
        let code = totp().at(NOW as u64).unwrap();
        let first = decide(&policy, &time_state(), &generator(), &code, true, at(NOW));
        let Verdict::Accepted(acceptance) = first.verdict else {
            panic!("{first:?}")
        };
        assert_eq!(acceptance.offset, 0);
        let again = decide(
            &policy,
            &first.state,
            &generator(),
            &code,
            true,
            at(NOW + 5),
        );
        assert_eq!(again.verdict, Verdict::Rejected(RejectReason::Replayed));
        assert_eq!(again.state.failures, 1);
    }

    #[test]
    fn an_earlier_step_is_spent_too() {
        let policy = Policy {
            drift_tolerance_ppm: 0,
            ..Policy::default()
        };
        let later = totp().at(NOW as u64 + 30).unwrap();
        let earlier = totp().at(NOW as u64).unwrap();
        let accepted = decide(
            &policy,
            &time_state(),
            &generator(),
            &later,
            true,
            at(NOW + 15),
        );
        assert!(matches!(accepted.verdict, Verdict::Accepted(_)));
        let old = decide(
            &policy,
            &accepted.state,
            &generator(),
            &earlier,
            true,
            at(NOW + 15),
        );
        assert_eq!(old.verdict, Verdict::Rejected(RejectReason::Replayed));
    }

    #[test]
    fn drift_extension_grows_with_idle_time() {
        let policy = Policy::default();
        assert_eq!(drift_extension(&policy, 30, at(0), at(0)), 0);
        assert_eq!(drift_extension(&policy, 30, at(0), at(86_400)), 1);
        // 15 ppm of 200 days is 259 s: 9 steps of 30 s.
        assert_eq!(drift_extension(&policy, 30, at(0), at(200 * 86_400)), 9);
        assert_eq!(drift_extension(&policy, 30, at(0), at(2_000 * 86_400)), 10);
        assert_eq!(drift_extension(&policy, 30, at(100), at(0)), 0);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let policy = Policy {
            failure_limit: 1,
            lockout: Lockout::Backoff {
                initial: Duration::from_secs(60),
                maximum: Duration::from_secs(300),
            },
            ..Policy::default()
        };
        let mut state = time_state();
        let wrong = Code::new(0, 6).unwrap();
        let mut now = NOW;
        let mut lengths = Vec::new();
        for _ in 0..5 {
            let decision = decide(&policy, &state, &generator(), &wrong, true, at(now));
            let Lock::Until { until } = decision.state.lock else {
                panic!("not locked: {decision:?}")
            };
            lengths.push(until.as_secs() - now);
            state = decision.state;
            now = until.as_secs();
        }
        assert_eq!(lengths, [60, 120, 240, 300, 300]);
    }
}
