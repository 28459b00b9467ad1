//! The decision on an EMV-CAP code as a pure function, beside `decide`: policy, the
//! card's state at the bank, its key, its public profile, the mode the code was made
//! in, the code and the time in; verdict and new state out. No I/O, no clock reads, no
//! allocation. The lock, status and throttling rules are `decide`'s, shared.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::clock::UnixTime;
use crate::code::Code;
use crate::emv::{CapMode, CardMasterKey, CardProfile, TransactionData};
use crate::hotp::HotpParameters;
use crate::validator::decision::{
    Acceptance, Verdict, fail, refuse_without_counting, reject_without_counting, succeed,
};
use crate::validator::error::RejectReason;
use crate::validator::policy::Policy;
use crate::validator::record::{Lock, Status, TokenKind, TokenState};

/// The most consecutive failures a card whose codes keep fewer than
/// [`SHORT_CODE_BITS`] bits of the cryptogram is allowed, whatever the policy says.
pub const SHORT_CODE_FAILURE_LIMIT: u32 = 3;

/// Codes keeping fewer bits of the cryptogram than this are short: one guess in
/// 2^bits per counter in the window matches, so the failure limit is tightened.
pub const SHORT_CODE_BITS: u32 = 20;

/// One past the largest ATC: a card whose next ATC is this has made its last
/// cryptogram.
pub const ATC_END: u32 = 1 << 16;

/// What the bank stores about one CAP card besides its key and profile: the next
/// application transaction counter it expects, and the throttling state every token
/// has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// Deliberately exhaustive: a Store backend outside this crate builds it field by field from
// its rows, and a new field is a breaking change for every backend anyway (it must store
// it).
#[allow(clippy::exhaustive_structs)]
pub struct CapState {
    /// The lowest ATC the bank would accept: every ATC below it is spent. At most
    /// [`ATC_END`].
    pub next_atc: u32,
    /// Consecutive failed attempts since the last success.
    pub failures: u32,
    /// Lockouts since the last success, for a growing back-off.
    pub lockouts: u32,
    /// The throttling lock.
    pub lock: Lock,
    /// The administrator's switch.
    pub status: Status,
}

impl CapState {
    /// A card whose last cryptogram used `last_atc` (0 for a new card: its first uses
    /// ATC 1), active and unlocked.
    #[must_use]
    pub fn new(last_atc: u16) -> Self {
        Self {
            next_atc: u32::from(last_atc) + 1,
            failures: 0,
            lockouts: 0,
            lock: Lock::Unlocked,
            status: Status::Active,
        }
    }

    /// The throttling part as a token state, so that `decide`'s own rules apply.
    fn throttle(&self) -> TokenState {
        TokenState {
            failures: self.failures,
            lockouts: self.lockouts,
            lock: self.lock,
            status: self.status,
            ..TokenState::new(TokenKind::event(HotpParameters::default(), 0))
        }
    }

    fn with_throttle(self, throttle: &TokenState) -> Self {
        Self {
            failures: throttle.failures,
            lockouts: throttle.lockouts,
            lock: throttle.lock,
            status: throttle.status,
            ..self
        }
    }
}

/// A verdict on a CAP code and the card state that must be stored for it to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
#[non_exhaustive]
pub struct CapDecision {
    /// Accepted (with the ATC matched, and how far above the expected one it was) or
    /// rejected, and why.
    pub verdict: Verdict,
    /// The state after the decision.
    pub state: CapState,
}

/// One CAP code to decide on.
///
/// # Security
///
/// `Debug` does not print the code.
#[derive(Clone, Copy)]
// Deliberately exhaustive: an input the caller fills in field by field (README, benches);
// growing it needs a constructor first.
#[allow(clippy::exhaustive_structs)]
pub struct CapAttempt<'a> {
    /// The mode the bank asked for, built from what the bank showed and is about to
    /// execute (the challenge it issued, the payee and amount of the transfer), never
    /// from what the customer's browser reports.
    pub mode: &'a CapMode,
    /// The code typed, read with the card's display width
    /// ([`CardProfile::parse_code`]); `None` when it was not a code of that form.
    pub code: Option<&'a Code>,
    /// Whether the server-side PIN check, done by the caller, passed (true without one).
    pub pin_ok: bool,
}

impl core::fmt::Debug for CapAttempt<'_> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("CapAttempt")
            .field("mode", self.mode)
            .field("code", &self.code.map(|_| "[REDACTED]"))
            .field("pin_ok", &self.pin_ok)
            .finish()
    }
}

impl CardProfile {
    /// Reads a typed CAP code with this card's display width.
    #[must_use]
    pub fn parse_code(&self, text: &str) -> Option<Code> {
        Code::parse(text, self.bitmap.digits()).ok()
    }

    /// How many bits of the cryptogram itself (not of the predictable CID, ATC and
    /// issuer data) the card's codes keep.
    #[must_use]
    pub fn cryptogram_bits(&self) -> u32 {
        let offset = 3 + usize::from(self.flags.includes_sequence_number());
        self.bitmap
            .mask()
            .iter()
            .skip(offset)
            .take(8)
            .map(|byte| byte.count_ones())
            .sum()
    }

    /// The failure limit for this card under `policy`: the policy's, or
    /// [`SHORT_CODE_FAILURE_LIMIT`] when the codes keep fewer than
    /// [`SHORT_CODE_BITS`] bits of the cryptogram.
    #[must_use]
    pub fn failure_limit(&self, policy: &Policy) -> u32 {
        if self.cryptogram_bits() < SHORT_CODE_BITS {
            policy.failure_limit.min(SHORT_CODE_FAILURE_LIMIT)
        } else {
            policy.failure_limit
        }
    }
}

/// The code the card would show for `atc`.
fn code_at(key: &CardMasterKey, profile: &CardProfile, data: &TransactionData, atc: u16) -> Code {
    let response = profile.respond(key, atc, data);
    profile
        .bitmap
        .code(&response, profile.flags, profile.sequence)
}

/// The last ATC of a window of `width` counters from `first`, below [`ATC_END`].
fn window_end(first: u32, width: u64) -> u16 {
    let last = u64::from(first)
        .saturating_add(width)
        .min(u64::from(ATC_END - 1));
    // At most ATC_END - 1, which fits.
    last as u16
}

/// Decides whether the CAP code in `attempt` is accepted for a card in `state` at
/// time `now`.
///
/// `key` is the card's master key (derived from the issuer master key with
/// [`CardMasterKey::derive`], or opened from its seal), `profile` what the card
/// tells its reader. The rules, in order:
///
/// 1. The code of every ATC in the look-ahead window (the policy's HOTP look-ahead
///    above the next expected ATC), and of the last accepted ATC, is always computed
///    and compared in constant time, whatever the state, so the time taken says
///    nothing about locks, PINs or matches.
/// 2. A disabled or locked card is rejected without counting a failure, as in
///    [`decide`](crate::validator::decide); so is a card whose ATC has reached its end.
/// 3. Counted as failures, locking the card at its limit
///    ([`CardProfile::failure_limit`]: the policy's, tightened for short codes): a
///    malformed code, a wrong server-side PIN, the code of the ATC already accepted
///    ([`RejectReason::Replayed`]), and a code no ATC in the window made.
/// 4. A code that matches an unspent ATC in the window is accepted: that ATC and
///    every one below it are spent, so no ATC is ever accepted twice.
/// 5. Success clears the failure count.
pub fn decide_cap(
    policy: &Policy,
    state: &CapState,
    key: &CardMasterKey,
    profile: &CardProfile,
    attempt: &CapAttempt<'_>,
    now: UnixTime,
) -> CapDecision {
    let data = attempt.mode.transaction_data();
    let digits = profile.bitmap.digits();
    // A stand-in for a malformed code keeps the work uniform; its result is unused.
    let stand_in = Code::from_truncated(0, digits);
    let code = attempt.code.copied().unwrap_or(stand_in);
    let well_formed = attempt.code.is_some_and(|code| code.digits() == digits);
    let exhausted = state.next_atc >= ATC_END;
    let first = state.next_atc.min(ATC_END - 1);
    let last = window_end(first, policy.hotp_look_ahead);
    let mut found = Choice::from(0);
    let mut found_at = 0u16;
    // At most ATC_END - 1, which fits.
    let mut atc = first as u16;
    loop {
        let equal = code_at(key, profile, &data, atc).ct_eq(&code) & !found;
        found_at.conditional_assign(&atc, equal);
        found |= equal;
        if atc >= last {
            break;
        }
        atc += 1;
    }
    let spent_atc = u16::try_from(state.next_atc.saturating_sub(1)).unwrap_or(u16::MAX);
    let replayed =
        state.next_atc > 1 && bool::from(code_at(key, profile, &data, spent_atc).ct_eq(&code));

    let card_policy = Policy {
        failure_limit: profile.failure_limit(policy),
        ..*policy
    };
    let mut throttle = state.throttle();
    if let Some(reason) = refuse_without_counting(&mut throttle, now) {
        return finish(state, reject_without_counting(throttle, reason));
    }
    if exhausted {
        return finish(
            state,
            reject_without_counting(throttle, RejectReason::CounterExhausted),
        );
    }
    let reason = if !well_formed {
        RejectReason::Malformed
    } else if !attempt.pin_ok {
        RejectReason::WrongPin
    } else if bool::from(found) {
        let decision = succeed(
            throttle,
            Acceptance {
                position: u64::from(found_at),
                offset: i64::from(u32::from(found_at) - first),
            },
        );
        let mut decided = finish(state, decision);
        decided.state.next_atc = u32::from(found_at) + 1;
        return decided;
    } else if replayed {
        RejectReason::Replayed
    } else {
        RejectReason::WrongCode
    };
    finish(state, fail(&card_policy, throttle, reason, now))
}

/// Decides a resynchronisation: `first` and `second` are the codes of two consecutive
/// ATCs (two presses of identify, say), unspent, within the policy's resync window
/// above the next expected ATC. Both are then spent. A locked or disabled card is
/// refused; a failed resync counts as a failure.
#[allow(clippy::too_many_arguments)]
pub fn decide_cap_resync(
    policy: &Policy,
    state: &CapState,
    key: &CardMasterKey,
    profile: &CardProfile,
    mode: &CapMode,
    first: &Code,
    second: &Code,
    pin_ok: bool,
    now: UnixTime,
) -> CapDecision {
    let data = mode.transaction_data();
    let digits = profile.bitmap.digits();
    let well_formed = first.digits() == digits && second.digits() == digits;
    let exhausted = state.next_atc >= ATC_END.saturating_sub(1);
    let start = state.next_atc.min(ATC_END - 1);
    // The second code's ATC is one past the first's: the window's last ATC holds it.
    let last = window_end(start, policy.resync_window.max(1));
    let mut found = Choice::from(0);
    let mut found_at = 0u16;
    let mut previous_matched_first = Choice::from(0);
    // At most ATC_END - 1, which fits.
    let mut atc = start as u16;
    loop {
        let code = code_at(key, profile, &data, atc);
        let pair = previous_matched_first & code.ct_eq(second) & !found;
        found_at.conditional_assign(&atc, pair);
        found |= pair;
        previous_matched_first = code.ct_eq(first);
        if atc >= last {
            break;
        }
        atc += 1;
    }
    let card_policy = Policy {
        failure_limit: profile.failure_limit(policy),
        ..*policy
    };
    let mut throttle = state.throttle();
    if let Some(reason) = refuse_without_counting(&mut throttle, now) {
        return finish(state, reject_without_counting(throttle, reason));
    }
    if exhausted {
        return finish(
            state,
            reject_without_counting(throttle, RejectReason::CounterExhausted),
        );
    }
    let reason = if !well_formed {
        RejectReason::Malformed
    } else if !pin_ok {
        RejectReason::WrongPin
    } else if bool::from(found) {
        let decision = succeed(
            throttle,
            Acceptance {
                position: u64::from(found_at),
                offset: i64::from(u32::from(found_at) - start),
            },
        );
        let mut decided = finish(state, decision);
        decided.state.next_atc = u32::from(found_at) + 1;
        return decided;
    } else {
        RejectReason::ResyncFailed
    };
    finish(state, fail(&card_policy, throttle, reason, now))
}

fn finish(state: &CapState, decision: crate::validator::decision::Decision) -> CapDecision {
    CapDecision {
        verdict: decision.verdict,
        state: state.with_throttle(&decision.state),
    }
}
