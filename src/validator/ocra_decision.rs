//! The decision on an OCRA response (RFC 6287) as a pure function, beside `decide`:
//! policy, token state, the keyed computation, the response and the time in; verdict
//! and new state out. No I/O, no clock reads, no allocation. The lock, status and
//! throttling rules are `decide`'s, shared.

use core::fmt;

use crate::clock::UnixTime;
use crate::error::{OcraError, OcraVerifyError};
use crate::ocra::{
    Challenge, Ocra, OcraInput, OcraMatch, OcraResponse, OcraWindow, Password, Timestamp,
    Transaction,
};
use crate::totp::{Window, signed_difference};
use crate::validator::challenge::{ChallengeSlot, IssuedChallenge, OcraState};
use crate::validator::decision::{
    Acceptance, Decision, RejectReason, drift_extension, fail, refuse_without_counting,
    reject_without_counting, succeed,
};
use crate::validator::policy::Policy;
use crate::validator::record::TokenState;

/// One OCRA response to decide on, with what the caller read, checked and opened for
/// it.
///
/// # Security
///
/// `Debug` prints neither the response nor the PIN hash.
#[derive(Clone, Copy)]
pub struct OcraAttempt<'a> {
    /// The response as the token's suite reads it
    /// ([`OcraSuite::parse_response`](crate::OcraSuite::parse_response)); `None` when
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
///    [`decide`](crate::decide).
/// 4. Counted as failures, as in [`decide`](crate::decide), and locking the token at
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
    let mut next = *state;
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
    u64::try_from(now.as_secs()).ok()?.checked_div(step_seconds)
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
