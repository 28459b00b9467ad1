//! Time, injectable: the system clock, a clock tests set by hand, and the offset and
//! drifting clocks that model a key fob's quartz crystal.

use core::fmt;
use core::time::Duration;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use thiserror::Error;

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// A point in time: signed nanoseconds since the Unix epoch (1970-01-01T00:00:00Z,
/// leap seconds not counted, as in POSIX and RFC 6238).
///
/// 128 bits hold any time a clock can report, with no overflow in the drift arithmetic
/// of [`DriftingClock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime {
    nanos: i128,
}

impl UnixTime {
    /// 1970-01-01T00:00:00Z.
    pub const EPOCH: UnixTime = UnixTime { nanos: 0 };

    /// The time `seconds` whole seconds after the epoch (before it if negative).
    #[must_use]
    pub const fn from_secs(seconds: i64) -> Self {
        Self {
            nanos: seconds as i128 * NANOS_PER_SECOND,
        }
    }

    /// The time `nanos` nanoseconds after the epoch (before it if negative).
    #[must_use]
    pub const fn from_nanos(nanos: i128) -> Self {
        Self { nanos }
    }

    /// Whole seconds since the epoch, rounded towards the past (so 0.5 s before the
    /// epoch is second -1), as a TOTP step boundary needs.
    #[must_use]
    pub const fn as_secs(&self) -> i64 {
        let seconds = self.nanos.div_euclid(NANOS_PER_SECOND);
        if seconds > i64::MAX as i128 {
            i64::MAX
        } else if seconds < i64::MIN as i128 {
            i64::MIN
        } else {
            seconds as i64
        }
    }

    /// Nanoseconds since the epoch.
    #[must_use]
    pub const fn as_nanos(&self) -> i128 {
        self.nanos
    }

    /// This time moved forward by `duration`.
    #[must_use]
    pub fn plus(self, duration: Duration) -> Self {
        Self {
            nanos: self.nanos.saturating_add(duration.as_nanos() as i128),
        }
    }

    /// This time moved back by `duration`.
    #[must_use]
    pub fn minus(self, duration: Duration) -> Self {
        Self {
            nanos: self.nanos.saturating_sub(duration.as_nanos() as i128),
        }
    }

    /// Signed nanoseconds from `earlier` to `self`.
    #[must_use]
    pub const fn nanos_since(&self, earlier: UnixTime) -> i128 {
        self.nanos.saturating_sub(earlier.nanos)
    }
}

impl From<SystemTime> for UnixTime {
    fn from(time: SystemTime) -> Self {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => UnixTime::EPOCH.plus(after),
            Err(before) => UnixTime::EPOCH.minus(before.duration()),
        }
    }
}

/// Where codes get the current time from.
///
/// The library never reads the system clock itself: every device and validator is
/// given a `TimeSource`, so a test can move time for a fob and a bank together with one
/// [`ManualClock`] and never sleep.
///
/// # Security
///
/// A validator's time source decides which codes are current. Give production
/// validators a clock kept by NTP; a clock set back lets old codes be replayed only
/// if their steps were never accepted, which the validator's one-time rule covers.
pub trait TimeSource: fmt::Debug + Send + Sync {
    /// The current time.
    fn now(&self) -> UnixTime;
}

impl<T: TimeSource + ?Sized> TimeSource for &T {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

impl<T: TimeSource + ?Sized> TimeSource for Arc<T> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

impl<T: TimeSource + ?Sized> TimeSource for Box<T> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
// Deliberately exhaustive: a unit marker: the operating system's clock has no state to add.
#[allow(clippy::exhaustive_structs)]
pub struct SystemClock;

impl TimeSource for SystemClock {
    fn now(&self) -> UnixTime {
        SystemTime::now().into()
    }
}

/// A clock that moves only when told to. Clones share the same time, so one
/// `ManualClock` handed to a fob and to a validator moves both.
///
/// ```
/// use otpfob::{ManualClock, TimeSource, UnixTime};
/// use std::time::Duration;
///
/// let world = ManualClock::at_secs(59);
/// let fobs_view = world.clone();
/// world.advance(Duration::from_secs(30));
/// assert_eq!(fobs_view.now(), UnixTime::from_secs(89));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    time: Arc<Mutex<UnixTime>>,
}

impl ManualClock {
    /// A clock stopped at `time`.
    #[must_use]
    pub fn new(time: UnixTime) -> Self {
        Self {
            time: Arc::new(Mutex::new(time)),
        }
    }

    /// A clock stopped at `seconds` after the epoch.
    #[must_use]
    pub fn at_secs(seconds: i64) -> Self {
        Self::new(UnixTime::from_secs(seconds))
    }

    /// Sets the time, for this clock and every clone of it.
    pub fn set(&self, time: UnixTime) {
        *self.lock() = time;
    }

    /// Moves the time forward by `duration`.
    pub fn advance(&self, duration: Duration) {
        let mut time = self.lock();
        *time = time.plus(duration);
    }

    /// Moves the time back by `duration` (a clock set back by an administrator).
    pub fn rewind(&self, duration: Duration) {
        let mut time = self.lock();
        *time = time.minus(duration);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, UnixTime> {
        // The guarded value is a plain copy type that is never left half-written,
        // so a panic in another holder cannot have corrupted it.
        self.time.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TimeSource for ManualClock {
    fn now(&self) -> UnixTime {
        *self.lock()
    }
}

/// Another clock shifted by a fixed amount, ahead or behind.
///
/// ```
/// use otpfob::{ManualClock, TimeSource, UnixTime, clock::OffsetClock};
/// use std::time::Duration;
///
/// let late_phone = OffsetClock::behind(ManualClock::at_secs(1000), Duration::from_secs(40));
/// assert_eq!(late_phone.now(), UnixTime::from_secs(960));
/// ```
#[derive(Debug, Clone)]
pub struct OffsetClock<T> {
    inner: T,
    offset_nanos: i128,
}

impl<T: TimeSource> OffsetClock<T> {
    /// `inner`'s time plus `offset`.
    pub fn ahead(inner: T, offset: Duration) -> Self {
        Self {
            inner,
            offset_nanos: offset.as_nanos() as i128,
        }
    }

    /// `inner`'s time minus `offset`.
    pub fn behind(inner: T, offset: Duration) -> Self {
        Self {
            inner,
            offset_nanos: -(offset.as_nanos() as i128),
        }
    }

    /// The signed offset from `inner`, in nanoseconds (negative when behind).
    #[must_use]
    pub fn offset_nanos(&self) -> i128 {
        self.offset_nanos
    }
}

impl<T: TimeSource> TimeSource for OffsetClock<T> {
    fn now(&self) -> UnixTime {
        UnixTime::from_nanos(
            self.inner
                .now()
                .as_nanos()
                .saturating_add(self.offset_nanos),
        )
    }
}

/// A clock drift in parts per billion, checked to keep a clock running forwards.
///
/// ```
/// use otpfob::clock::Drift;
///
/// let crystal = Drift::from_ppm(20.0)?;
/// assert_eq!(crystal.parts_per_billion(), 20_000);
/// assert!(Drift::from_ppm(f64::NAN).is_err());
/// # Ok::<(), otpfob::ClockError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Drift {
    parts_per_billion: i64,
}

impl Drift {
    /// No drift: a perfect clock.
    pub const NONE: Drift = Drift {
        parts_per_billion: 0,
    };

    /// A drift of `ppm` parts per million: positive runs fast, negative slow.
    /// Real fob crystals drift by about 4 to 12 ppm.
    ///
    /// # Errors
    ///
    /// [`ClockError::Drift`] if `ppm` is not finite, is -1,000,000 or less (the clock
    /// would stop or run backwards), or more than +1,000,000.
    pub fn from_ppm(ppm: f64) -> Result<Self, ClockError> {
        if !ppm.is_finite() || ppm <= -1_000_000.0 || ppm > 1_000_000.0 {
            return Err(ClockError::Drift { ppm });
        }
        Ok(Self {
            // Within ±1e6 ppm, so within ±1e9 ppb: the cast cannot saturate.
            parts_per_billion: (ppm * 1000.0).round() as i64,
        })
    }

    /// The drift in parts per billion.
    #[must_use]
    pub const fn parts_per_billion(&self) -> i64 {
        self.parts_per_billion
    }

    /// The drift in parts per million.
    #[must_use]
    pub fn ppm(&self) -> f64 {
        self.parts_per_billion as f64 / 1000.0
    }
}

/// A clock running fast or slow by a fixed drift from an anchor time, like a fob's
/// quartz crystal: at the anchor it agrees with its inner clock, and every second of
/// inner time moves it by `1 + drift` seconds.
///
/// ```
/// use otpfob::{DriftingClock, ManualClock, TimeSource, clock::Drift};
/// use std::time::Duration;
///
/// let world = ManualClock::at_secs(1_700_000_000);
/// let crystal = DriftingClock::new(world.clone(), world.now(), Drift::from_ppm(20.0)?);
/// world.advance(Duration::from_secs(31_557_600)); // one Julian year
/// let ahead = crystal.now().as_secs() - world.now().as_secs();
/// assert_eq!(ahead, 631); // 20 ppm of a year
/// # Ok::<(), otpfob::ClockError>(())
/// ```
#[derive(Debug, Clone)]
pub struct DriftingClock<T> {
    inner: T,
    anchor: UnixTime,
    drift: Drift,
}

impl<T: TimeSource> DriftingClock<T> {
    /// A clock that agrees with `inner` at `anchor` and drifts by `drift` from there.
    pub fn new(inner: T, anchor: UnixTime, drift: Drift) -> Self {
        Self {
            inner,
            anchor,
            drift,
        }
    }

    /// The drift of this clock.
    #[must_use]
    pub fn drift(&self) -> Drift {
        self.drift
    }

    /// The time this clock shows when its inner clock shows `inner_time`: a pure
    /// function, so a fleet of fobs can share one reading of the world clock.
    #[must_use]
    pub fn local_time(&self, inner_time: UnixTime) -> UnixTime {
        drifted(self.anchor, self.drift, inner_time)
    }

    /// The inner clock.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

/// The time shown at `inner_time` by a clock that agreed with its inner clock at
/// `anchor` and drifts by `drift`.
pub(crate) fn drifted(anchor: UnixTime, drift: Drift, inner_time: UnixTime) -> UnixTime {
    let elapsed = inner_time.nanos_since(anchor);
    let gained = elapsed.saturating_mul(i128::from(drift.parts_per_billion())) / 1_000_000_000;
    UnixTime::from_nanos(inner_time.as_nanos().saturating_add(gained))
}

impl<T: TimeSource> TimeSource for DriftingClock<T> {
    fn now(&self) -> UnixTime {
        self.local_time(self.inner.now())
    }
}

/// What was wrong with a clock's configuration.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ClockError {
    /// A drift that is not finite, or so large that the clock would stop or run
    /// backwards (at or beyond -1,000,000 ppm) or run absurdly fast.
    #[error("clock drift {ppm} ppm is outside -999999 to +1000000 ppm")]
    Drift {
        /// The drift asked for, in parts per million.
        ppm: f64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_towards_the_past() {
        assert_eq!(UnixTime::from_nanos(-1).as_secs(), -1);
        assert_eq!(UnixTime::from_nanos(999_999_999).as_secs(), 0);
        assert_eq!(UnixTime::from_secs(-5).as_secs(), -5);
    }

    #[test]
    fn system_time_converts_both_sides_of_the_epoch() {
        let before = UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(UnixTime::from(before).as_secs(), -2);
        let after = UNIX_EPOCH + Duration::from_secs(20_000_000_000);
        assert_eq!(UnixTime::from(after).as_secs(), 20_000_000_000);
    }

    #[test]
    fn manual_clock_moves_both_ways() {
        let clock = ManualClock::at_secs(100);
        clock.advance(Duration::from_secs(30));
        clock.rewind(Duration::from_secs(50));
        assert_eq!(clock.now(), UnixTime::from_secs(80));
        clock.set(UnixTime::from_secs(20_000_000_000));
        assert_eq!(clock.now().as_secs(), 20_000_000_000);
    }

    #[test]
    fn slow_crystal_falls_behind() {
        let world = ManualClock::at_secs(0);
        let clock = DriftingClock::new(
            world.clone(),
            UnixTime::EPOCH,
            Drift::from_ppm(-10.0).unwrap(),
        );
        world.advance(Duration::from_secs(1_000_000));
        assert_eq!(clock.now(), UnixTime::from_secs(999_990));
        // Before the anchor the drift runs the other way, symmetrically.
        world.set(UnixTime::from_secs(-1_000_000));
        assert_eq!(clock.now(), UnixTime::from_secs(-999_990));
    }

    #[test]
    fn drift_bounds() {
        assert!(Drift::from_ppm(-1_000_000.0).is_err());
        assert!(Drift::from_ppm(1_000_000.5).is_err());
        assert!(Drift::from_ppm(f64::INFINITY).is_err());
        assert_eq!(Drift::from_ppm(4.5).unwrap().parts_per_billion(), 4500);
        assert_eq!(Drift::from_ppm(-0.0004).unwrap(), Drift::NONE);
    }
}
