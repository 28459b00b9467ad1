//! The decision on an EMV-CAP code as a pure function, beside `decide`: policy, the
//! card's state at the bank, its key, its public profile, the mode the code was made
//! in, the code and the time in; verdict and new state out. No I/O, no clock reads, no
//! allocation. The lock, status and throttling rules are `decide`'s, shared.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::clock::UnixTime;
use crate::code::Code;
use crate::emv::{CapMode, CapModes, CardMasterKey, CardProfile, EmvError, TransactionData};
use crate::hotp::HotpParameters;
use crate::validator::decision::{
    Acceptance, Decision, Verdict, fail, refuse_without_counting, reject_without_counting, succeed,
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

/// The ATC look-ahead a card is enrolled with unless the bank chooses another
/// ([`CapCard::with_look_ahead`]).
///
/// Wider than HOTP's 10: the same card also pays in shops and at cash machines, and
/// every one of those cryptograms moves its ATC without the CAP verifier seeing it.
/// Each counter in the window is one more chance for a guess
/// ([`SHORT_CODE_FAILURE_LIMIT`]): 20 counters and 3 guesses against 17 bits is
/// about one in 2 200.
pub const DEFAULT_CAP_LOOK_AHEAD: u16 = 20;

/// The widest ATC look-ahead a card can be enrolled with.
pub const MAX_CAP_LOOK_AHEAD: u16 = 1_000;

/// An EMV-CAP card as the bank's validator stores it (the state of
/// [`TokenKind::Cap`]): what the card tells its reader, the modes the bank accepts
/// from it, how far above the expected ATC a code may be, and the next ATC expected.
/// Its key is the token's sealed secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// Filled in by the caller field by field, like the other inputs (`OcraAttempt`,
// `CardProfile`): exhaustive until it has a constructor.
#[allow(clippy::exhaustive_structs)]
pub struct CapCard {
    /// The card's public data: PAN, PSN, expiry, session key derivation, AIP, IPB and
    /// IAF.
    pub profile: CardProfile,
    /// The modes whose codes the bank accepts from this card.
    pub modes: CapModes,
    /// How many ATCs above the next expected one a code may come from (1 to
    /// [`MAX_CAP_LOOK_AHEAD`]).
    pub look_ahead: u16,
    /// The lowest ATC the bank would accept: every ATC below it is spent. At most
    /// [`ATC_END`].
    pub next_atc: u32,
}

impl CapCard {
    /// A card whose last cryptogram used `last_atc` (0 for a new card), accepted in
    /// `modes`, with the [`DEFAULT_CAP_LOOK_AHEAD`].
    #[must_use]
    pub fn new(profile: CardProfile, modes: CapModes, last_atc: u16) -> Self {
        Self {
            profile,
            modes,
            look_ahead: DEFAULT_CAP_LOOK_AHEAD,
            next_atc: u32::from(last_atc) + 1,
        }
    }

    /// The same card with another ATC look-ahead.
    #[must_use]
    pub fn with_look_ahead(self, look_ahead: u16) -> Self {
        Self { look_ahead, ..self }
    }

    /// Checks what enrolment and the stores check: a look-ahead of 1 to
    /// [`MAX_CAP_LOOK_AHEAD`] and a next ATC of at most [`ATC_END`].
    ///
    /// # Errors
    ///
    /// [`EmvError::LookAhead`] or [`EmvError::Atc`].
    pub fn validate(&self) -> Result<(), EmvError> {
        if !(1..=MAX_CAP_LOOK_AHEAD).contains(&self.look_ahead) {
            return Err(EmvError::LookAhead {
                look_ahead: self.look_ahead,
                maximum: MAX_CAP_LOOK_AHEAD,
            });
        }
        if self.next_atc > ATC_END {
            return Err(EmvError::Atc {
                next_atc: self.next_atc,
            });
        }
        Ok(())
    }
}

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
            // A card's period is its expiry date, checked as `CardExpired`.
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

/// Computes the code of every ATC from `first` (below [`ATC_END`]) to `last` and hands
/// each to `visit` in order: the one walk both decisions take, so that each computes
/// its whole window whatever matches.
fn walk_window(
    key: &CardMasterKey,
    profile: &CardProfile,
    data: &TransactionData,
    first: u32,
    last: u16,
    mut visit: impl FnMut(u16, &Code),
) {
    // At most ATC_END - 1, which fits.
    let mut atc = first.min(ATC_END - 1) as u16;
    loop {
        visit(atc, &code_at(key, profile, data, atc));
        if atc >= last {
            break;
        }
        atc += 1;
    }
}

/// What the window walk found, and the facts about the attempt the rules look at.
struct Findings {
    /// The next ATC the card can use is past the end (or, for a resync, leaves no
    /// room for two codes).
    exhausted: bool,
    well_formed: bool,
    pin_ok: bool,
    /// The last ATC the accepted code or pair spends, if one matched.
    found: Option<u16>,
    /// Why a well-formed code with the right PIN that matched nothing is rejected.
    miss: RejectReason,
}

/// The rules in the order both decisions apply them, after the walk: refusals that
/// count nothing (disabled, locked, counter at its end, card expired), then failures
/// that count (malformed, wrong PIN, no match), then acceptance, which spends every
/// ATC up to the match.
fn conclude(
    policy: &Policy,
    state: &CapState,
    profile: &CardProfile,
    findings: Findings,
    now: UnixTime,
) -> CapDecision {
    let mut throttle = state.throttle();
    if let Some(reason) = refuse_without_counting(&mut throttle, now) {
        return finish(state, reject_without_counting(throttle, reason));
    }
    if findings.exhausted {
        return finish(
            state,
            reject_without_counting(throttle, RejectReason::CounterExhausted),
        );
    }
    // The issuer stops honouring a card after its expiry; its key still makes codes.
    if now >= profile.expiry.ends_at() {
        return finish(
            state,
            reject_without_counting(throttle, RejectReason::CardExpired),
        );
    }
    let card_policy = Policy {
        failure_limit: profile.failure_limit(policy),
        ..*policy
    };
    let reason = if !findings.well_formed {
        RejectReason::Malformed
    } else if !findings.pin_ok {
        RejectReason::WrongPin
    } else if let Some(found_at) = findings.found {
        let decision = succeed(
            throttle,
            Acceptance {
                position: u64::from(found_at),
                // The window starts at next_atc, at most found_at.
                offset: i64::from(u32::from(found_at).saturating_sub(state.next_atc)),
            },
        );
        let mut decided = finish(state, decision);
        decided.state.next_atc = u32::from(found_at) + 1;
        return decided;
    } else {
        findings.miss
    };
    finish(state, fail(&card_policy, throttle, reason, now))
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
///    [`decide`](crate::validator::decide); so is a card whose ATC has reached its end,
///    and a card past its expiry ([`Expiry::ends_at`](crate::emv::Expiry::ends_at):
///    [`RejectReason::CardExpired`]).
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
    let mut found = Choice::from(0);
    let mut found_at = 0u16;
    let last = window_end(state.next_atc, policy.hotp_look_ahead);
    walk_window(key, profile, &data, state.next_atc, last, |atc, made| {
        let equal = made.ct_eq(&code) & !found;
        found_at.conditional_assign(&atc, equal);
        found |= equal;
    });
    let spent_atc = u16::try_from(state.next_atc.saturating_sub(1)).unwrap_or(u16::MAX);
    let replayed =
        state.next_atc > 1 && bool::from(code_at(key, profile, &data, spent_atc).ct_eq(&code));
    let findings = Findings {
        exhausted: state.next_atc >= ATC_END,
        well_formed: attempt.code.is_some_and(|code| code.digits() == digits),
        pin_ok: attempt.pin_ok,
        found: bool::from(found).then_some(found_at),
        miss: if replayed {
            RejectReason::Replayed
        } else {
            RejectReason::WrongCode
        },
    };
    conclude(policy, state, profile, findings, now)
}

/// Decides a resynchronisation: `first` and `second` are the codes of two consecutive
/// ATCs (two presses of identify, say), unspent, within the policy's resync window
/// above the next expected ATC. Both are then spent. A locked, disabled or expired
/// card is refused; a failed resync counts as a failure.
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
    // The second code's ATC is one past the first's: the window's last ATC holds it.
    let last = window_end(state.next_atc, policy.resync_window.max(1));
    let mut found = Choice::from(0);
    let mut found_at = 0u16;
    let mut previous_matched_first = Choice::from(0);
    walk_window(key, profile, &data, state.next_atc, last, |atc, made| {
        let pair = previous_matched_first & made.ct_eq(second) & !found;
        found_at.conditional_assign(&atc, pair);
        found |= pair;
        previous_matched_first = made.ct_eq(first);
    });
    let findings = Findings {
        exhausted: state.next_atc >= ATC_END.saturating_sub(1),
        well_formed: first.digits() == digits && second.digits() == digits,
        pin_ok,
        found: bool::from(found).then_some(found_at),
        miss: RejectReason::ResyncFailed,
    };
    conclude(policy, state, profile, findings, now)
}

/// What the validator asks of a token's record to check a CAP code on it.
pub(crate) struct CapRequest<'a> {
    pub(crate) mode: &'a CapMode,
    /// The code as typed, not yet parsed.
    pub(crate) code: CapCodes<'a>,
    pub(crate) pin_ok: bool,
}

/// One code to verify, or two consecutive ones to resynchronise from.
pub(crate) enum CapCodes<'a> {
    One(&'a str),
    Two(&'a str, &'a str),
}

/// The pure CAP decision on a whole token state: the card is taken from
/// [`TokenKind::Cap`], the look-ahead from the card, the throttling fields from the
/// state, and the result written back into a copy of it.
///
/// # Errors
///
/// [`RejectReason::WrongKind`] for a token that is not a CAP card (nothing counted).
pub(crate) fn decide_cap_token(
    policy: &Policy,
    state: &TokenState,
    key: &CardMasterKey,
    request: &CapRequest<'_>,
    now: UnixTime,
) -> Result<Decision, RejectReason> {
    let TokenKind::Cap(card) = state.kind else {
        return Err(RejectReason::WrongKind);
    };
    if !card.modes.allows(request.mode) {
        // The bank's own request, not the customer's input: an integration mistake,
        // refused without counting against the card.
        return Ok(reject_without_counting(
            state.clone(),
            RejectReason::ModeNotAllowed,
        ));
    }
    let cap_state = CapState {
        next_atc: card.next_atc,
        failures: state.failures,
        lockouts: state.lockouts,
        lock: state.lock,
        status: state.status,
    };
    let card_policy = Policy {
        hotp_look_ahead: u64::from(card.look_ahead),
        ..*policy
    };
    let profile = &card.profile;
    let decided = match request.code {
        CapCodes::One(text) => {
            let code = profile.parse_code(text.trim());
            let attempt = CapAttempt {
                mode: request.mode,
                code: code.as_ref(),
                pin_ok: request.pin_ok,
            };
            decide_cap(&card_policy, &cap_state, key, profile, &attempt, now)
        }
        CapCodes::Two(first, second) => {
            // A code of another width never matches and is refused as malformed, the
            // window still walked.
            let digits = profile.bitmap.digits();
            let other_width = if digits < crate::code::MAX_CODE_DIGITS {
                digits + 1
            } else {
                digits - 1
            };
            let malformed = Code::from_truncated(0, other_width);
            let first = profile.parse_code(first.trim()).unwrap_or(malformed);
            let second = profile.parse_code(second.trim()).unwrap_or(malformed);
            decide_cap_resync(
                &card_policy,
                &cap_state,
                key,
                profile,
                request.mode,
                &first,
                &second,
                request.pin_ok,
                now,
            )
        }
    };
    let mut next = state.clone();
    next.kind = TokenKind::Cap(CapCard {
        next_atc: decided.state.next_atc,
        ..card
    });
    next.failures = decided.state.failures;
    next.lockouts = decided.state.lockouts;
    next.lock = decided.state.lock;
    next.status = decided.state.status;
    Ok(Decision {
        verdict: decided.verdict,
        state: next,
    })
}

fn finish(state: &CapState, decision: crate::validator::decision::Decision) -> CapDecision {
    CapDecision {
        verdict: decision.verdict,
        state: state.with_throttle(&decision.state),
    }
}
