//! Property tests of the pure decision: whatever is submitted, in whatever order and at
//! whatever times, no code is accepted twice, the spent position never goes back, and
//! a locked token accepts nothing.

use otpfob::{
    Code, Hotp, HotpParameters, Policy, Secret, TotpParameters, UnixTime,
    validator::{Lock, TokenKind, TokenState, Verdict, decide, decide_resync},
};
use proptest::prelude::*;

const START: i64 = 1_767_225_600;

fn generator() -> Hotp {
    Hotp::new(
        &Secret::from_bytes(b"12345678901234567890").unwrap(),
        HotpParameters::default(),
    )
    .unwrap()
}

/// One thing that can happen between two decisions.
#[derive(Debug, Clone)]
enum Event {
    /// Time moves on by this many seconds.
    Wait(u16),
    /// The code of the position this far from the current one is submitted.
    Submit(i8),
    /// A random code is submitted.
    Guess(u32),
    /// Two codes at these offsets are submitted as a resync.
    Resync(i8, i8),
    /// An administrator unlocks the token.
    Unlock,
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        3 => (0u16..200).prop_map(Event::Wait),
        6 => (-4i8..=4).prop_map(Event::Submit),
        2 => any::<u32>().prop_map(|value| Event::Guess(value % 1_000_000)),
        1 => ((-4i8..=4), (-4i8..=4)).prop_map(|(first, second)| Event::Resync(first, second)),
        1 => Just(Event::Unlock),
    ]
}

fn spent_position(state: &TokenState) -> Option<u64> {
    match state.kind {
        TokenKind::Time {
            last_accepted_step, ..
        } => last_accepted_step,
        TokenKind::Event { next_counter, .. } => next_counter.checked_sub(1),
        other => unreachable!("only HOTP and TOTP tokens are generated: {other:?}"),
    }
}

/// Runs `events` against a token of `kind` and checks the invariants after each.
fn run(kind: TokenKind, policy: Policy, events: &[Event]) -> Result<(), TestCaseError> {
    // A narrow resync window keeps each case fast; the rules do not depend on its size.
    let mut policy = policy;
    policy.resync_window = 20;
    let generator = generator();
    let mut state = TokenState::new(kind);
    let mut now = START;
    let mut accepted_positions = std::collections::BTreeSet::new();
    for event in events {
        let current = match state.kind {
            TokenKind::Time { .. } => (now / 30) as u64,
            TokenKind::Event { next_counter, .. } => next_counter,
            other => unreachable!("only HOTP and TOTP tokens are generated: {other:?}"),
        };
        let at = |offset: i8| current.saturating_add_signed(i64::from(offset));
        let locked_before = state.lock.holds_at(UnixTime::from_secs(now));
        let decision = match event {
            Event::Wait(seconds) => {
                now += i64::from(*seconds);
                continue;
            }
            Event::Unlock => {
                state.lock = Lock::Unlocked;
                state.failures = 0;
                continue;
            }
            Event::Submit(offset) => {
                let code = generator.at(at(*offset));
                decide(
                    &policy,
                    &state,
                    &generator,
                    &code,
                    true,
                    UnixTime::from_secs(now),
                )
            }
            Event::Guess(value) => {
                let code = Code::new(*value, 6).unwrap();
                decide(
                    &policy,
                    &state,
                    &generator,
                    &code,
                    true,
                    UnixTime::from_secs(now),
                )
            }
            Event::Resync(first, second) => decide_resync(
                &policy,
                &state,
                &generator,
                &generator.at(at(*first)),
                &generator.at(at(*second)),
                true,
                UnixTime::from_secs(now),
            ),
        };
        let before = spent_position(&state);
        let after = spent_position(&decision.state);
        prop_assert!(
            after >= before,
            "spent position went back: {before:?} -> {after:?}"
        );
        if let Verdict::Accepted(acceptance) = decision.verdict {
            prop_assert!(!locked_before, "a locked token accepted {event:?}");
            prop_assert!(
                accepted_positions.insert(acceptance.position),
                "position {} accepted twice",
                acceptance.position
            );
            prop_assert_eq!(after, Some(acceptance.position));
            prop_assert_eq!(decision.state.failures, 0);
        } else {
            prop_assert_eq!(after, before, "a rejection moved the spent position");
        }
        state = decision.state;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn time_tokens_never_accept_twice(events in prop::collection::vec(event(), 1..80)) {
        let kind = TokenKind::time(TotpParameters::default(), UnixTime::from_secs(START));
        run(kind, Policy::default(), &events)?;
    }

    #[test]
    fn time_tokens_without_learning_never_accept_twice(events in prop::collection::vec(event(), 1..80)) {
        let kind = TokenKind::time(TotpParameters::default(), UnixTime::from_secs(START));
        let policy = {
            let mut policy = Policy::default();
            policy.learn_drift = false;
            policy.failure_limit = 3;
            policy
        };
        run(kind, policy, &events)?;
    }

    #[test]
    fn event_tokens_never_accept_twice(events in prop::collection::vec(event(), 1..80)) {
        let kind = TokenKind::event(HotpParameters::default(), 0);
        run(kind, {
            let mut policy = Policy::default();
            policy.failure_limit = 4;
            policy
        }, &events)?;
    }

    #[test]
    fn a_locked_token_accepts_nothing(
        offsets in prop::collection::vec(-3i8..=3, 1..40),
        waits in prop::collection::vec(0u16..100, 1..40),
    ) {
        let generator = generator();
        let mut state = TokenState::new(TokenKind::time(TotpParameters::default(), UnixTime::from_secs(START)));
        state.lock = Lock::UntilUnlocked { since: UnixTime::from_secs(START) };
        state.failures = 10;
        let policy = {
            let mut policy = Policy::default();
            policy.resync_window = 20;
            policy
        };
        let mut now = START;
        for (offset, wait) in offsets.iter().zip(waits.iter().cycle()) {
            now += i64::from(*wait);
            let step = ((now / 30) as u64).saturating_add_signed(i64::from(*offset));
            let code = generator.at(step);
            let decision = decide(&policy, &state, &generator, &code, true, UnixTime::from_secs(now));
            prop_assert!(matches!(decision.verdict, Verdict::Rejected(_)));
            prop_assert_eq!(&decision.state, &state, "a locked token's state changed");
            let resync = decide_resync(&policy, &state, &generator, &code, &generator.at(step + 1), true, UnixTime::from_secs(now));
            prop_assert!(matches!(resync.verdict, Verdict::Rejected(_)));
        }
    }
}
