//! RFC 6238 TOTP: HOTP whose counter is the number of time steps since T0.

use crate::algorithm::Algorithm;
use crate::clock::{TimeSource, UnixTime};
use crate::code::Code;
use crate::hotp::{Hotp, HotpParameters, check_otp_digits};
use crate::hotp::{OtpError, VerifyError};
use crate::secret::Secret;

/// How codes of one TOTP token are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// Deliberately exhaustive: RFC 6238 fixes what a TOTP token is: a hash, digits, the time
// step X and T0.
#[allow(clippy::exhaustive_structs)]
pub struct TotpParameters {
    /// The hash function under HMAC.
    pub algorithm: Algorithm,
    /// Digits per code, 6 to 10.
    pub digits: u8,
    /// Seconds per time step (X in RFC 6238 §4.1), at least 1.
    pub time_step: u64,
    /// The Unix time at which step 0 begins (T0 in RFC 6238 §4.1).
    pub t0: u64,
}

impl Default for TotpParameters {
    /// SHA-1, 6 digits, 30-second steps from the Unix epoch: RFC 6238's defaults and
    /// what authenticator apps assume.
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Sha1,
            digits: 6,
            time_step: 30,
            t0: 0,
        }
    }
}

impl TotpParameters {
    /// Checks the digit count and time step.
    ///
    /// # Errors
    ///
    /// [`OtpError::DigitCount`] outside 6 to 10, [`OtpError::ZeroTimeStep`].
    pub fn validate(&self) -> Result<(), OtpError> {
        check_otp_digits(self.digits)?;
        if self.time_step == 0 {
            return Err(OtpError::ZeroTimeStep);
        }
        Ok(())
    }

    /// The time step `(time - T0) / X` containing Unix time `unix_seconds`, or `None`
    /// before T0 (or for a zero step, which [`validate`](Self::validate) refuses).
    ///
    /// The one place this arithmetic is written: [`Totp`], the validator's TOTP and
    /// OCRA decisions and the CLI all call it, so they cannot disagree at a boundary.
    #[must_use]
    pub const fn step_at(&self, unix_seconds: u64) -> Option<u64> {
        match unix_seconds.checked_sub(self.t0) {
            Some(since_t0) => since_t0.checked_div(self.time_step),
            None => None,
        }
    }

    /// Seconds left in the step containing `unix_seconds`, from the step's length at its
    /// first second down to 1 at its last; `None` before T0 (or for a zero step). Beside
    /// [`step_at`](Self::step_at), for the same reason: a device's countdown and its
    /// code cannot disagree about where a step ends.
    pub(crate) const fn seconds_left(&self, unix_seconds: u64) -> Option<u64> {
        match unix_seconds.checked_sub(self.t0) {
            Some(since_t0) => match since_t0.checked_rem(self.time_step) {
                Some(elapsed_in_step) => Some(self.time_step - elapsed_in_step),
                None => None,
            },
            None => None,
        }
    }

    /// [`step_at`](Self::step_at) of a [`UnixTime`](crate::UnixTime); `None` before 1970.
    pub(crate) fn step_at_time(&self, now: crate::UnixTime) -> Option<u64> {
        self.step_at(u64::try_from(now.as_secs()).ok()?)
    }
}

/// A search window in time steps around a reference step (RFC 6238 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
// Deliberately exhaustive: a window is its two sides.
#[allow(clippy::exhaustive_structs)]
pub struct Window {
    /// Steps before the reference step that are searched.
    pub back: u64,
    /// Steps after the reference step that are searched.
    pub forward: u64,
}

impl Window {
    /// `steps` back and `steps` forward.
    #[must_use]
    pub const fn symmetric(steps: u64) -> Self {
        Self {
            back: steps,
            forward: steps,
        }
    }
}

/// Where a TOTP code matched: its step, and that step's offset from the step of the
/// time given (negative for a code from the past).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
// Deliberately exhaustive: a match is a step and its offset, all RFC 6238 §5.2 defines.
#[allow(clippy::exhaustive_structs)]
pub struct StepMatch {
    /// The matching time step.
    pub step: u64,
    /// `step` minus the step of the verification time.
    pub offset: i64,
}

/// An RFC 6238 TOTP generator for one secret.
///
/// ```
/// use otpfob::{Algorithm, Secret, Totp, TotpParameters};
///
/// let secret = Secret::from_bytes(b"12345678901234567890")?;
/// let parameters = TotpParameters { digits: 8, ..TotpParameters::default() };
/// let totp = Totp::new(&secret, parameters)?;
/// assert_eq!(totp.at(59)?.to_string(), "94287082"); // RFC 6238 Appendix B
/// assert_eq!(totp.step_at(59)?, 1);
/// assert_eq!(totp.remaining(59)?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Totp {
    hotp: Hotp,
    time_step: u64,
    t0: u64,
}

impl Totp {
    /// A generator for `secret` with these parameters.
    ///
    /// # Errors
    ///
    /// [`OtpError::DigitCount`] or [`OtpError::ZeroTimeStep`].
    pub fn new(secret: &Secret, parameters: TotpParameters) -> Result<Self, OtpError> {
        parameters.validate()?;
        let hotp = Hotp::new(
            secret,
            HotpParameters {
                algorithm: parameters.algorithm,
                digits: parameters.digits,
            },
        )?;
        Ok(Self {
            hotp,
            time_step: parameters.time_step,
            t0: parameters.t0,
        })
    }

    /// The parameters this generator was made with.
    #[must_use]
    pub fn parameters(&self) -> TotpParameters {
        let hotp = self.hotp.parameters();
        TotpParameters {
            algorithm: hotp.algorithm,
            digits: hotp.digits,
            time_step: self.time_step,
            t0: self.t0,
        }
    }

    /// The time step containing Unix time `unix_seconds`: `(time - T0) / X`.
    ///
    /// # Errors
    ///
    /// [`OtpError::TimeBeforeT0`].
    pub fn step_at(&self, unix_seconds: u64) -> Result<u64, OtpError> {
        self.parameters()
            .step_at(unix_seconds)
            .ok_or(OtpError::TimeBeforeT0 {
                time: i64::try_from(unix_seconds).unwrap_or(i64::MAX),
                t0: self.t0,
            })
    }

    /// The code at Unix time `unix_seconds`.
    ///
    /// # Errors
    ///
    /// [`OtpError::TimeBeforeT0`].
    pub fn at(&self, unix_seconds: u64) -> Result<Code, OtpError> {
        Ok(self.at_step(self.step_at(unix_seconds)?))
    }

    /// The HOTP generator under the steps, for devices that compute the step themselves.
    pub(crate) fn hotp(&self) -> &Hotp {
        &self.hotp
    }

    /// The code of time step `step`.
    pub fn at_step(&self, step: u64) -> Code {
        self.hotp.at(step)
    }

    /// The code at the current time of `clock`.
    ///
    /// # Errors
    ///
    /// [`OtpError::TimeBeforeT0`] if the clock reads before T0 or before 1970.
    pub fn now(&self, clock: &(impl TimeSource + ?Sized)) -> Result<Code, OtpError> {
        self.at(self.unix_seconds(clock.now())?)
    }

    /// Seconds left in the step containing `unix_seconds`, from the step's length at
    /// its first second down to 1 at its last.
    ///
    /// # Errors
    ///
    /// [`OtpError::TimeBeforeT0`].
    pub fn remaining(&self, unix_seconds: u64) -> Result<u64, OtpError> {
        self.parameters()
            .seconds_left(unix_seconds)
            .ok_or(OtpError::TimeBeforeT0 {
                time: i64::try_from(unix_seconds).unwrap_or(i64::MAX),
                t0: self.t0,
            })
    }

    /// Whole seconds of `time` as the non-negative Unix time TOTP needs.
    ///
    /// # Errors
    ///
    /// [`OtpError::TimeBeforeT0`] for a time before the epoch.
    pub fn unix_seconds(&self, time: UnixTime) -> Result<u64, OtpError> {
        let seconds = time.as_secs();
        u64::try_from(seconds).map_err(|_| OtpError::TimeBeforeT0 {
            time: seconds,
            t0: self.t0,
        })
    }

    /// Looks for `code` in the steps of `window` around the step of `unix_seconds`
    /// (RFC 6238 §5.2) and returns the earliest matching step.
    ///
    /// Every step of the window is computed and compared in constant time. Steps
    /// before step 0 do not exist and are not searched. This is the bare search; the
    /// one-time rule, drift learning and throttling are the validator's.
    ///
    /// # Errors
    ///
    /// [`VerifyError::NoMatch`], [`VerifyError::DigitCount`], or
    /// [`OtpError::TimeBeforeT0`].
    ///
    /// ```
    /// use otpfob::{Secret, Totp, TotpParameters, Window};
    ///
    /// let totp = Totp::new(&Secret::from_bytes(b"12345678901234567890")?, TotpParameters::default())?;
    /// let late = totp.at(1_000_000)?; // typed, then sent 40 seconds later
    /// let found = totp.verify(&late, 1_000_040, Window::symmetric(1))?;
    /// assert_eq!(found.offset, -1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(
        &self,
        code: &Code,
        unix_seconds: u64,
        window: Window,
    ) -> Result<StepMatch, VerifyError> {
        self.hotp.check_digits(code)?;
        let current = self.step_at(unix_seconds)?;
        let first = current.saturating_sub(window.back);
        let last = current.saturating_add(window.forward);
        let found: Option<u64> = self.hotp.first_match(code, first..=last).into();
        let step = found.ok_or(VerifyError::NoMatch)?;
        Ok(StepMatch {
            step,
            offset: signed_difference(step, current),
        })
    }
}

/// `a - b` as a signed number, saturating at the ends of `i64`.
pub(crate) fn signed_difference(a: u64, b: u64) -> i64 {
    if a >= b {
        i64::try_from(a - b).unwrap_or(i64::MAX)
    } else {
        i64::try_from(b - a).map_or(i64::MIN, |difference| -difference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn totp(time_step: u64, t0: u64) -> Totp {
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        Totp::new(
            &secret,
            TotpParameters {
                time_step,
                t0,
                ..TotpParameters::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn steps_and_remaining_honour_t0() {
        let totp = totp(60, 100);
        assert_eq!(totp.step_at(100), Ok(0));
        assert_eq!(totp.step_at(159), Ok(0));
        assert_eq!(totp.step_at(160), Ok(1));
        assert_eq!(totp.remaining(100), Ok(60));
        assert_eq!(totp.remaining(159), Ok(1));
        assert_eq!(
            totp.at(99).unwrap_err(),
            OtpError::TimeBeforeT0 { time: 99, t0: 100 }
        );
    }

    #[test]
    fn now_reads_the_clock_and_refuses_times_before_1970() {
        let totp = totp(30, 0);
        let clock = ManualClock::at_secs(59);
        assert_eq!(totp.now(&clock).unwrap(), totp.at(59).unwrap());
        clock.set(UnixTime::from_secs(-1));
        assert_eq!(
            totp.now(&clock).unwrap_err(),
            OtpError::TimeBeforeT0 { time: -1, t0: 0 }
        );
    }

    #[test]
    fn verify_window_edges() {
        let totp = totp(30, 0);
        let code = totp.at_step(100);
        let at_step = |step: u64| step * 30;
        assert_eq!(
            totp.verify(&code, at_step(101), Window::symmetric(1)),
            Ok(StepMatch {
                step: 100,
                offset: -1
            })
        );
        assert_eq!(
            totp.verify(&code, at_step(99), Window::symmetric(1)),
            Ok(StepMatch {
                step: 100,
                offset: 1
            })
        );
        assert_eq!(
            totp.verify(&code, at_step(102), Window::symmetric(1)),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            totp.verify(
                &code,
                at_step(99),
                Window {
                    back: 5,
                    forward: 0
                }
            ),
            Err(VerifyError::NoMatch)
        );
        // A window reaching below step 0 is cut at 0.
        let first = totp.at_step(0);
        assert_eq!(
            totp.verify(&first, 0, Window::symmetric(3))
                .map(|found| found.step),
            Ok(0)
        );
    }

    #[test]
    fn zero_step_is_refused() {
        let secret = Secret::from_bytes(b"k").unwrap();
        let parameters = TotpParameters {
            time_step: 0,
            ..TotpParameters::default()
        };
        assert_eq!(
            Totp::new(&secret, parameters).unwrap_err(),
            OtpError::ZeroTimeStep
        );
    }

    #[test]
    fn signed_difference_saturates() {
        assert_eq!(signed_difference(5, 7), -2);
        assert_eq!(signed_difference(u64::MAX, 0), i64::MAX);
        assert_eq!(signed_difference(0, u64::MAX), i64::MIN);
    }
}
