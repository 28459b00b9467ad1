//! A fob's quartz crystal: the physical property of one simulated fob that the bank
//! never learns from the factory record, only from the codes the fob shows.

use core::time::Duration;

use crate::clock::{Drift, UnixTime, drifted};
use crate::device::error::DeviceError;

/// The largest crystal drift a simulated fob accepts, either way, in ppm. Real fobs
/// drift by about 4 to 12 ppm; past ±1000 ppm (a day and a half a year) a crystal is
/// broken, not drifting.
pub const MAX_DRIFT_PPM: f64 = 1000.0;

/// How a simulated fob's clock differs from the world's: a drift (how fast its
/// crystal runs) and an offset (how far off it was set at the factory).
///
/// At the factory time `t₀` the fob shows `t₀ + offset`; at world time `t` it shows
/// `t + (t − t₀) × drift + offset`.
///
/// ```
/// use otpfob::{UnixTime, device::Crystal};
/// use std::time::Duration;
///
/// let crystal = Crystal::from_ppm(10.0)?.ahead(Duration::from_secs(2));
/// let issued = UnixTime::from_secs(1_700_000_000);
/// let a_year_later = UnixTime::from_secs(1_700_000_000 + 31_557_600);
/// let shown = crystal.local_time(issued, a_year_later);
/// assert_eq!(shown.as_secs() - a_year_later.as_secs(), 315 + 2);
/// assert!(Crystal::from_ppm(1500.0).is_err());
/// # Ok::<(), otpfob::DeviceError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Crystal {
    drift: Drift,
    offset_nanos: i128,
}

impl Crystal {
    /// A perfect crystal, set exactly.
    pub const PERFECT: Crystal = Crystal {
        drift: Drift::NONE,
        offset_nanos: 0,
    };

    /// A crystal drifting by `drift`, set exactly at the factory.
    ///
    /// # Errors
    ///
    /// [`DeviceError::DriftOutOfRange`] beyond ±[`MAX_DRIFT_PPM`].
    pub fn new(drift: Drift) -> Result<Self, DeviceError> {
        let limit_ppb = (MAX_DRIFT_PPM * 1000.0) as i64;
        if drift.parts_per_billion().abs() > limit_ppb {
            return Err(DeviceError::DriftOutOfRange {
                ppm: drift.ppm(),
                limit_ppm: MAX_DRIFT_PPM,
            });
        }
        Ok(Self {
            drift,
            offset_nanos: 0,
        })
    }

    /// A crystal drifting by `ppm` parts per million (positive runs fast).
    ///
    /// # Errors
    ///
    /// [`DeviceError::DriftOutOfRange`] if `ppm` is not finite or beyond
    /// ±[`MAX_DRIFT_PPM`].
    pub fn from_ppm(ppm: f64) -> Result<Self, DeviceError> {
        if !ppm.is_finite() || ppm.abs() > MAX_DRIFT_PPM {
            return Err(DeviceError::DriftOutOfRange {
                ppm,
                limit_ppm: MAX_DRIFT_PPM,
            });
        }
        let drift = Drift::from_ppm(ppm).map_err(|_| DeviceError::DriftOutOfRange {
            ppm,
            limit_ppm: MAX_DRIFT_PPM,
        })?;
        Self::new(drift)
    }

    /// This crystal, set `offset` ahead of the world at the factory.
    #[must_use]
    pub fn ahead(self, offset: Duration) -> Self {
        Self {
            offset_nanos: offset.as_nanos() as i128,
            ..self
        }
    }

    /// This crystal, set `offset` behind the world at the factory.
    #[must_use]
    pub fn behind(self, offset: Duration) -> Self {
        Self {
            offset_nanos: -(offset.as_nanos() as i128),
            ..self
        }
    }

    /// The drift.
    #[must_use]
    pub fn drift(&self) -> Drift {
        self.drift
    }

    /// The offset set at the factory, in nanoseconds (negative when behind).
    #[must_use]
    pub fn offset_nanos(&self) -> i128 {
        self.offset_nanos
    }

    /// The time a fob with this crystal, set at world time `set_at`, shows at world
    /// time `world`: a pure function, so a fleet reads the world clock once.
    #[must_use]
    pub fn local_time(&self, set_at: UnixTime, world: UnixTime) -> UnixTime {
        let local = drifted(set_at, self.drift, world);
        UnixTime::from_nanos(local.as_nanos().saturating_add(self.offset_nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_limits() {
        assert!(Crystal::from_ppm(1000.0).is_ok());
        assert!(Crystal::from_ppm(-1000.0).is_ok());
        for ppm in [1000.001, -1000.5, f64::NAN, f64::INFINITY] {
            assert!(
                matches!(
                    Crystal::from_ppm(ppm),
                    Err(DeviceError::DriftOutOfRange { limit_ppm, .. }) if limit_ppm == 1000.0
                ),
                "{ppm}"
            );
        }
        assert_eq!(
            Crystal::new(Drift::from_ppm(-2000.0).unwrap()),
            Err(DeviceError::DriftOutOfRange {
                ppm: -2000.0,
                limit_ppm: 1000.0
            })
        );
    }

    #[test]
    fn offset_applies_from_the_start() {
        let set_at = UnixTime::from_secs(1000);
        let crystal = Crystal::PERFECT.behind(Duration::from_millis(1500));
        assert_eq!(
            crystal.local_time(set_at, set_at),
            UnixTime::from_nanos(1000 * 1_000_000_000 - 1_500_000_000)
        );
    }
}
