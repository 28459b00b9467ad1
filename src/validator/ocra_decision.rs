//! The decision on an OCRA response (RFC 6287) as a pure function, beside `decide`:
//! policy, token state, the keyed computation, the response and the time in; verdict
//! and new state out. No I/O, no clock reads, no allocation. The lock, status and
//! throttling rules are `decide`'s, shared.

use core::fmt;

use crate::clock::UnixTime;
use crate::ocra::error::{OcraError, OcraVerifyError};
use crate::ocra::{
    Challenge, Ocra, OcraInput, OcraMatch, OcraResponse, OcraWindow, Password, Timestamp,
    Transaction,
};
use crate::totp::{Window, signed_difference};
use crate::validator::challenge::{ChallengeSlot, IssuedChallenge, OcraState};
use crate::validator::error::RejectReason;
use crate::validator::policy::Policy;
use crate::validator::record::TokenState;
use crate::validator::throttle::{
    drift_extension, fail, refuse_without_counting, reject_without_counting, succeed,
};
use crate::validator::verdict::{Acceptance, Decision};

/// One OCRA response to decide on, with what the caller read, checked and opened for
/// it.
///
/// # Security
///
/// `Debug` prints neither the response nor the PIN hash.
#[derive(Clone, Copy)]
// Deliberately exhaustive: an input the caller fills in field by field; growing it needs a
// constructor first.
#[allow(clippy::exhaustive_structs)]
pub struct OcraAttempt<'a> {
    /// The response as the token's suite reads it
    /// ([`OcraSuite::parse_response`](crate::ocra::OcraSuite::parse_response)); `None` when
    /// the typed text was not a response of the suite's form.
    pub response: Option<&'a OcraResponse>,
    /// The transfer a signature is checked for, as the bank is about to execute it;
    /// `None` for a response to a login challenge.
    pub transaction: Option<&'a Transaction>,
    /// For a suite with a PIN (`P`): the device PIN's hash under the suite's hash,
    /// opened from the token's record. Ignored for other suites.
    pub pin_hash: Option<&'a [u8]>,
    /// Whether the server-side PIN check, done by the caller, passed (true for a token
    /// without a server-side PIN).
    pub pin_ok: bool,
}

impl fmt::Debug for OcraAttempt<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("OcraAttempt")
            .field("response", &self.response.map(|_| "[REDACTED]"))
            .field("transaction", &self.transaction)
            .field("pin_hash", &self.pin_hash.map(|_| "[REDACTED]"))
            .field("pin_ok", &self.pin_ok)
            .finish()
    }
}

/// What the search of the window found.
enum Search {
    Match {
        found: OcraMatch,
        /// The bank's current time step, for suites with `T`.
        current_step: Option<u64>,
    },
    NoMatch,
    /// The response is not of the suite's kind or length.
    Malformed,
}

/// Decides whether the OCRA response in `attempt` is accepted for a token in `state`
/// at time `now`.
///
/// `ocra` must be the token's computation: its secret under `state.ocra`'s suite. The
/// rules, in order:
///
/// 1. The whole window is always computed (with a stand-in challenge and response
///    when there is no open challenge or the response did not parse), so the time
///    taken says nothing about challenges, locks, PINs or matches.
/// 2. Every attempt spends the token's open challenge, whatever its outcome: a
///    challenge is answered at most once (fail closed).
/// 3. A disabled or locked token is rejected without counting a failure, as in
///    [`decide`](crate::validator::decide).
/// 4. Counted as failures, as in [`decide`](crate::validator::decide), and locking the token at
///    the policy's limit: no challenge issued ([`RejectReason::NoChallenge`]), a
///    challenge already spent ([`RejectReason::ChallengeSpent`]), an expired one
///    ([`RejectReason::ChallengeExpired`]), another transfer than the one the
///    signature challenge was issued for, or a transfer for a login challenge and the
///    other way round ([`RejectReason::TransactionMismatch`]), a malformed response,
///    a wrong server-side PIN, and a response that matches nothing in the window.
/// 5. Suites with a counter (`C`) search the policy's look-ahead from the next
///    expected counter and move the counter past the match (RFC 4226 §7.4); suites
///    with a time step (`T`) search the policy's window, in the suite's steps, around
///    the bank's step shifted by the learned drift and widened by the drift tolerance,
///    and learn the matched offset as the new drift (RFC 6238 §6).
/// 6. Success clears the failure count.
///
/// The [`Acceptance`] gives the matched counter and its distance from the expected
/// one for suites with `C`, otherwise the matched time step and its offset from the
/// bank's for suites with `T`, otherwise zeros.
pub fn decide_ocra(
    policy: &Policy,
    state: &TokenState,
    ocra: &Ocra,
    attempt: &OcraAttempt<'_>,
    now: UnixTime,
) -> Decision {
    let mut next = state.clone();
    let (issued, unavailable) = match next.ocra.as_mut() {
        None => (None, Some(RejectReason::NoChallenge)),
        Some(keypad) => match keypad.challenge {
            ChallengeSlot::Open(issued) => {
                keypad.challenge = ChallengeSlot::Spent;
                (Some(issued), None)
            }
            ChallengeSlot::Spent => (None, Some(RejectReason::ChallengeSpent)),
            ChallengeSlot::Empty => (None, Some(RejectReason::NoChallenge)),
        },
    };
    let search = state
        .ocra
        .as_ref()
        .map(|keypad| search(policy, keypad, ocra, issued.as_ref(), attempt, now));
    if let Some(rejection) = refuse_without_counting(&mut next, now) {
        return reject_without_counting(next, rejection);
    }
    let (Some(issued), Some(search)) = (issued, search) else {
        return fail(
            policy,
            next,
            unavailable.unwrap_or(RejectReason::NoChallenge),
            now,
        );
    };
    if now >= issued.expires_at {
        return fail(policy, next, RejectReason::ChallengeExpired, now);
    }
    let same_transaction = match (issued.transaction, attempt.transaction) {
        (None, None) => true,
        (Some(commitment), Some(transaction)) => commitment.matches(transaction),
        _ => false,
    };
    if !same_transaction {
        return fail(policy, next, RejectReason::TransactionMismatch, now);
    }
    let search = match search {
        Ok(search) => search,
        Err(reason) => return reject_without_counting(next, reason),
    };
    if attempt.response.is_none() {
        return fail(policy, next, RejectReason::Malformed, now);
    }
    match search {
        Search::Malformed => fail(policy, next, RejectReason::Malformed, now),
        _ if !attempt.pin_ok => fail(policy, next, RejectReason::WrongPin, now),
        Search::NoMatch => fail(policy, next, RejectReason::WrongCode, now),
        Search::Match {
            found,
            current_step,
        } => accept(policy, next, found, current_step, now),
    }
}

/// The bank's current step of `step_seconds`-second steps since the epoch.
fn current_step(step_seconds: u64, now: UnixTime) -> Option<u64> {
    // OCRA counts steps from the epoch (RFC 6287 section 5.1): T0 = 0.
    crate::totp::TotpParameters {
        time_step: step_seconds,
        t0: 0,
        ..crate::totp::TotpParameters::default()
    }
    .step_at_time(now)
}

/// Computes and compares every counter and time step of the window. An error is a
/// rejection that counts nothing: a clock or counter at its end, or a record that does
/// not fit its own suite.
fn search(
    policy: &Policy,
    keypad: &OcraState,
    ocra: &Ocra,
    issued: Option<&IssuedChallenge>,
    attempt: &OcraAttempt<'_>,
    now: UnixTime,
) -> Result<Search, RejectReason> {
    let suite = keypad.suite;
    if *ocra.suite() != suite {
        return Err(RejectReason::StoreFailure);
    }
    let stand_in_challenge = Challenge::from_ascii(core::iter::repeat_n(
        b'0',
        usize::from(suite.question().max_length()),
    ));
    let challenge = issued.map_or(stand_in_challenge, |issued| issued.challenge);
    let stand_in_response = OcraResponse::placeholder(&suite);
    let response = attempt.response.unwrap_or(&stand_in_response);
    let (timestamp, time_window, current) = match suite.time_step() {
        Some(step) => {
            let current = current_step(step.seconds(), now).ok_or(RejectReason::ClockBeforeT0)?;
            let drift = if policy.learn_drift {
                keypad.drift_steps
            } else {
                0
            };
            let extension = drift_extension(policy, step.seconds(), keypad.synced_at, now);
            let window = Window {
                back: policy.totp_window.back.saturating_add(extension),
                forward: policy.totp_window.forward.saturating_add(extension),
            };
            let centre = current.saturating_add_signed(drift);
            (Some(Timestamp::Steps(centre)), window, Some(current))
        }
        None => (None, Window::default(), None),
    };
    let input = OcraInput {
        counter: keypad.next_counter,
        password: suite
            .pin_hash()
            .and_then(|_| attempt.pin_hash.map(Password::Hash)),
        session: None,
        timestamp,
    };
    let window = OcraWindow {
        look_ahead: policy.hotp_look_ahead,
        time: time_window,
    };
    match ocra.verify(response, challenge.as_str().into(), &input, window) {
        Ok(found) => Ok(Search::Match {
            found,
            current_step: current,
        }),
        Err(OcraVerifyError::NoMatch) => Ok(Search::NoMatch),
        Err(OcraVerifyError::Input(OcraError::CounterOverflow { .. })) => {
            Err(RejectReason::CounterExhausted)
        }
        Err(OcraVerifyError::Input(
            OcraError::ResponseDigits { .. }
            | OcraError::ResponseCode(_)
            | OcraError::ResponseHexCharacter { .. }
            | OcraError::ResponseHexLength { .. },
        )) => Ok(Search::Malformed),
        // A missing PIN hash, a stored challenge that does not fit the suite: the
        // record does not make sense.
        Err(_) => Err(RejectReason::StoreFailure),
    }
}

/// An accepted response: the counter moves past the match and the time offset
/// becomes the drift; the failure count is cleared.
fn accept(
    policy: &Policy,
    mut state: TokenState,
    found: OcraMatch,
    current_step: Option<u64>,
    now: UnixTime,
) -> Decision {
    // Refuse rather than wrap: a counter that wrapped would make old responses new.
    if found.counter == Some(u64::MAX) {
        return fail(policy, state, RejectReason::CounterExhausted, now);
    }
    let Some(keypad) = state.ocra.as_mut() else {
        return fail(policy, state, RejectReason::NoChallenge, now);
    };
    let mut acceptance = Acceptance {
        position: 0,
        offset: 0,
    };
    if let (Some(step), Some(current)) = (found.time_step, current_step) {
        let offset = signed_difference(step.step, current);
        if policy.learn_drift {
            keypad.drift_steps = offset;
            keypad.synced_at = now;
        }
        acceptance = Acceptance {
            position: step.step,
            offset,
        };
    }
    if let (Some(counter), Some(expected)) = (found.counter, keypad.next_counter) {
        keypad.next_counter = Some(counter.saturating_add(1));
        acceptance = Acceptance {
            position: counter,
            offset: signed_difference(counter, expected),
        };
    }
    succeed(state, acceptance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocra::{Currency, OcraSuite, SigningNonce};
    use crate::secret::Secret;
    use crate::totp::TotpParameters;
    use crate::validator::challenge::TransactionCommitment;
    use crate::validator::record::{Lock, Status, TokenKind};

    const NOW: i64 = 1_767_225_600;

    fn at(seconds: i64) -> UnixTime {
        UnixTime::from_secs(seconds)
    }

    fn secret() -> Secret {
        Secret::from_bytes(b"12345678901234567890").unwrap()
    }

    fn suite(text: &str) -> OcraSuite {
        text.parse().unwrap()
    }

    /// A token with `suite`, counter 10, and `question` open until NOW + 300.
    fn state_with(
        suite: OcraSuite,
        question: &str,
        transaction: Option<TransactionCommitment>,
    ) -> TokenState {
        let mut state = TokenState::new(TokenKind::time(TotpParameters::default(), at(NOW)));
        let mut keypad = OcraState::new(suite, 10, at(NOW));
        keypad.challenge = ChallengeSlot::Open(IssuedChallenge {
            challenge: Challenge::parse(suite.question(), question).unwrap(),
            expires_at: at(NOW + 300),
            transaction,
        });
        state.ocra = Some(Box::new(keypad));
        state
    }

    fn attempt(response: &OcraResponse) -> OcraAttempt<'_> {
        OcraAttempt {
            response: Some(response),
            transaction: None,
            pin_hash: None,
            pin_ok: true,
        }
    }

    fn counter_response(ocra: &Ocra, question: &str, counter: u64) -> OcraResponse {
        let input = OcraInput {
            counter: Some(counter),
            ..OcraInput::default()
        };
        ocra.one_way(question, &input).unwrap()
    }

    fn reason(decision: &Decision) -> Option<RejectReason> {
        match decision.verdict {
            crate::validator::decision::Verdict::Rejected(reason) => Some(reason),
            crate::validator::decision::Verdict::Accepted(_) => None,
        }
    }

    fn slot(decision: &Decision) -> ChallengeSlot {
        decision.state.ocra.as_deref().copied().unwrap().challenge
    }

    #[test]
    fn a_right_response_is_accepted_once_and_moves_the_counter() {
        let suite = suite("OCRA-1:HOTP-SHA1-6:C-QN08");
        let ocra = Ocra::new(&secret(), suite);
        let state = state_with(suite, "31415926", None);
        // The fob answered three challenges the bank never saw: counter 13.
        let response = counter_response(&ocra, "31415926", 13);
        let policy = Policy::default();
        let first = decide_ocra(&policy, &state, &ocra, &attempt(&response), at(NOW + 20));
        assert_eq!(
            first.verdict,
            crate::validator::decision::Verdict::Accepted(Acceptance {
                position: 13,
                offset: 3
            })
        );
        assert_eq!(
            first.state.ocra.as_deref().copied().unwrap().next_counter,
            Some(14)
        );
        assert_eq!(slot(&first), ChallengeSlot::Spent);
        let again = decide_ocra(
            &policy,
            &first.state,
            &ocra,
            &attempt(&response),
            at(NOW + 21),
        );
        assert_eq!(reason(&again), Some(RejectReason::ChallengeSpent));
        assert_eq!(again.state.failures, 1);
    }

    #[test]
    fn counters_outside_the_look_ahead_are_wrong() {
        let suite = suite("OCRA-1:HOTP-SHA1-6:C-QN08");
        let ocra = Ocra::new(&secret(), suite);
        let state = state_with(suite, "31415926", None);
        let policy = Policy::default();
        for counter in [9, 21] {
            let response = counter_response(&ocra, "31415926", counter);
            let decision = decide_ocra(&policy, &state, &ocra, &attempt(&response), at(NOW));
            assert_eq!(
                reason(&decision),
                Some(RejectReason::WrongCode),
                "{counter}"
            );
            assert_eq!(
                decision
                    .state
                    .ocra
                    .as_deref()
                    .copied()
                    .unwrap()
                    .next_counter,
                Some(10)
            );
            assert_eq!(slot(&decision), ChallengeSlot::Spent);
            assert_eq!(decision.state.failures, 1);
        }
        let edge = counter_response(&ocra, "31415926", 20);
        let decision = decide_ocra(&policy, &state, &ocra, &attempt(&edge), at(NOW));
        assert_eq!(reason(&decision), None);
    }

    #[test]
    fn every_unavailable_challenge_is_a_counted_failure() {
        let suite = suite("OCRA-1:HOTP-SHA1-6:C-QN08");
        let ocra = Ocra::new(&secret(), suite);
        let response = counter_response(&ocra, "31415926", 10);
        let policy = Policy::default();
        let open = state_with(suite, "31415926", None);
        let expired = decide_ocra(&policy, &open, &ocra, &attempt(&response), at(NOW + 300));
        assert_eq!(reason(&expired), Some(RejectReason::ChallengeExpired));
        assert_eq!(slot(&expired), ChallengeSlot::Spent);
        assert_eq!(expired.state.failures, 1);
        let just_in_time = decide_ocra(&policy, &open, &ocra, &attempt(&response), at(NOW + 299));
        assert_eq!(reason(&just_in_time), None);

        let mut empty = open.clone();
        empty.ocra.as_mut().unwrap().challenge = ChallengeSlot::Empty;
        let none = decide_ocra(&policy, &empty, &ocra, &attempt(&response), at(NOW));
        assert_eq!(reason(&none), Some(RejectReason::NoChallenge));
        assert_eq!(slot(&none), ChallengeSlot::Empty);
        assert_eq!(none.state.failures, 1);

        let mut keypadless = open;
        keypadless.ocra = None;
        let without = decide_ocra(&policy, &keypadless, &ocra, &attempt(&response), at(NOW));
        assert_eq!(reason(&without), Some(RejectReason::NoChallenge));
        assert_eq!(without.state.failures, 1);
    }

    #[test]
    fn locked_and_disabled_tokens_spend_the_challenge_without_counting() {
        let suite = suite("OCRA-1:HOTP-SHA1-6:C-QN08");
        let ocra = Ocra::new(&secret(), suite);
        let response = counter_response(&ocra, "31415926", 10);
        let policy = Policy::default();
        let mut locked = state_with(suite, "31415926", None);
        locked.lock = Lock::UntilUnlocked { since: at(NOW - 1) };
        locked.failures = 10;
        let decision = decide_ocra(&policy, &locked, &ocra, &attempt(&response), at(NOW));
        assert_eq!(reason(&decision), Some(RejectReason::Locked));
        assert_eq!(decision.state.failures, 10);
        assert_eq!(
            decision
                .state
                .ocra
                .as_deref()
                .copied()
                .unwrap()
                .next_counter,
            Some(10)
        );
        assert_eq!(slot(&decision), ChallengeSlot::Spent);

        let mut disabled = state_with(suite, "31415926", None);
        disabled.status = Status::Disabled;
        let decision = decide_ocra(&policy, &disabled, &ocra, &attempt(&response), at(NOW));
        assert_eq!(reason(&decision), Some(RejectReason::Disabled));
        assert_eq!(decision.state.failures, 0);
        assert_eq!(slot(&decision), ChallengeSlot::Spent);
    }

    #[test]
    fn failures_lock_the_token_at_the_shared_limit() {
        let suite = suite("OCRA-1:HOTP-SHA1-6:C-QN08");
        let ocra = Ocra::new(&secret(), suite);
        let wrong = OcraResponse::Code(crate::code::Code::new(0, 6).unwrap());
        let policy = Policy {
            failure_limit: 3,
            ..Policy::default()
        };
        let mut state = state_with(suite, "31415926", None);
        for _ in 0..3 {
            state = decide_ocra(&policy, &state, &ocra, &attempt(&wrong), at(NOW)).state;
        }
        assert_eq!(state.lock, Lock::UntilUnlocked { since: at(NOW) });
    }

    #[test]
    fn a_signature_is_checked_for_its_own_transfer_only() {
        let suite = suite("OCRA-1:HOTP-SHA256-8:QN08");
        let ocra = Ocra::new(&secret(), suite);
        let euro = Currency::new("EUR").unwrap();
        let transfer = Transaction::new(125_000, euro, "DE89370400440532013000", None).unwrap();
        let tampered = Transaction::new(125_001, euro, "DE89370400440532013000", None).unwrap();
        let nonce = SigningNonce::from_bytes([9; 16]);
        let challenge = transfer.signature_challenge(&suite, &nonce);
        let signature = ocra
            .sign(challenge.as_str(), &OcraInput::default())
            .unwrap();
        let commitment = TransactionCommitment::new(&transfer, nonce);
        let signing = state_with(suite, challenge.as_str(), Some(commitment));
        let login = state_with(suite, challenge.as_str(), None);
        let policy = Policy::default();
        let with = |transaction| OcraAttempt {
            transaction,
            ..attempt(&signature)
        };
        for (state, transaction, expected) in [
            (signing.clone(), Some(&transfer), None),
            (
                signing.clone(),
                Some(&tampered),
                Some(RejectReason::TransactionMismatch),
            ),
            (signing, None, Some(RejectReason::TransactionMismatch)),
            (
                login.clone(),
                Some(&transfer),
                Some(RejectReason::TransactionMismatch),
            ),
            (login, None, None),
        ] {
            let decision = decide_ocra(&policy, &state, &ocra, &with(transaction), at(NOW));
            assert_eq!(reason(&decision), expected, "{transaction:?}");
            assert_eq!(slot(&decision), ChallengeSlot::Spent);
        }
    }

    #[test]
    fn malformed_responses_and_wrong_pins_are_counted() {
        let suite = suite("OCRA-1:HOTP-SHA1-6:C-QN08");
        let ocra = Ocra::new(&secret(), suite);
        let response = counter_response(&ocra, "31415926", 10);
        let state = state_with(suite, "31415926", None);
        let policy = Policy::default();
        let garbled = OcraAttempt {
            response: None,
            ..attempt(&response)
        };
        let decision = decide_ocra(&policy, &state, &ocra, &garbled, at(NOW));
        assert_eq!(reason(&decision), Some(RejectReason::Malformed));
        assert_eq!(decision.state.failures, 1);
        let eight = OcraResponse::Code(crate::code::Code::new(1, 8).unwrap());
        let decision = decide_ocra(&policy, &state, &ocra, &attempt(&eight), at(NOW));
        assert_eq!(reason(&decision), Some(RejectReason::Malformed));
        let wrong_pin = OcraAttempt {
            pin_ok: false,
            ..attempt(&response)
        };
        let decision = decide_ocra(&policy, &state, &ocra, &wrong_pin, at(NOW));
        assert_eq!(reason(&decision), Some(RejectReason::WrongPin));
        assert_eq!(decision.state.failures, 1);
    }

    #[test]
    fn time_suites_learn_the_drift_of_the_device_clock() {
        let suite = suite("OCRA-1:HOTP-SHA512-8:QN08-T1M");
        let ocra = Ocra::new(&secret(), suite);
        let policy = Policy {
            drift_tolerance_ppm: 0,
            ..Policy::default()
        };
        let current = NOW as u64 / 60;
        let response_at = |step: u64| {
            let input = OcraInput {
                timestamp: Some(Timestamp::Steps(step)),
                ..OcraInput::default()
            };
            ocra.one_way("11111111", &input).unwrap()
        };
        let state = state_with(suite, "11111111", None);
        let two_ahead = response_at(current + 2);
        let decision = decide_ocra(&policy, &state, &ocra, &attempt(&two_ahead), at(NOW));
        assert_eq!(reason(&decision), Some(RejectReason::WrongCode));
        let one_ahead = response_at(current + 1);
        let decision = decide_ocra(&policy, &state, &ocra, &attempt(&one_ahead), at(NOW));
        let crate::validator::decision::Verdict::Accepted(acceptance) = decision.verdict else {
            panic!("{decision:?}")
        };
        assert_eq!((acceptance.position, acceptance.offset), (current + 1, 1));
        let keypad = decision.state.ocra.as_deref().copied().unwrap();
        assert_eq!((keypad.drift_steps, keypad.synced_at), (1, at(NOW)));
        // With the drift learned, two steps ahead is in the window.
        let mut next = decision.state;
        next.ocra.as_mut().unwrap().challenge = state.ocra.as_deref().copied().unwrap().challenge;
        let decision = decide_ocra(&policy, &next, &ocra, &attempt(&two_ahead), at(NOW));
        assert_eq!(reason(&decision), None);
    }

    #[test]
    fn records_that_do_not_fit_their_suite_reject_without_counting() {
        let with_pin = suite("OCRA-1:HOTP-SHA1-6:QN08-PSHA1");
        let ocra = Ocra::new(&secret(), with_pin);
        let hash =
            crate::ocra::password_hash(crate::algorithm::Algorithm::Sha1, Password::Pin(b"1234"))
                .unwrap();
        let input = OcraInput {
            password: Some(Password::Hash(&hash)),
            ..OcraInput::default()
        };
        let response = ocra.one_way("12345678", &input).unwrap();
        let state = state_with(with_pin, "12345678", None);
        let policy = Policy::default();
        let decision = decide_ocra(&policy, &state, &ocra, &attempt(&response), at(NOW));
        assert_eq!(reason(&decision), Some(RejectReason::StoreFailure));
        assert_eq!(decision.state.failures, 0);
        let with_hash = OcraAttempt {
            pin_hash: Some(&hash),
            ..attempt(&response)
        };
        let decision = decide_ocra(&policy, &state, &ocra, &with_hash, at(NOW));
        assert_eq!(reason(&decision), None);
        // Another suite than the record's.
        let other = Ocra::new(&secret(), suite("OCRA-1:HOTP-SHA1-6:QN08"));
        let decision = decide_ocra(&policy, &state, &other, &with_hash, at(NOW));
        assert_eq!(reason(&decision), Some(RejectReason::StoreFailure));
    }

    #[test]
    fn debug_shows_neither_response_nor_pin_hash() {
        let response = OcraResponse::Code(crate::code::Code::new(123_456, 6).unwrap());
        let attempt = OcraAttempt {
            pin_hash: Some(&[0xab; 20]),
            ..attempt(&response)
        };
        let text = format!("{attempt:?}");
        assert!(!text.contains("123456") && !text.contains("171"), "{text}");
    }
}
