//! What pressing a fob or soft token's button computes: the code of the device's time
//! step or of its counter.

use core::time::Duration;

use crate::clock::UnixTime;
use crate::hotp::Hotp;
use crate::hotp::OtpError;
use crate::parameters::OtpParameters;
use crate::secret::Secret;
use crate::totp::{Totp, TotpParameters};

use super::backend::{OtpMode, Reading};

/// A device's code generator, keyed once when the device is made.
#[derive(Debug, Clone)]
pub(crate) enum CodeGenerator {
    Time(Totp),
    Event { hotp: Hotp, counter: u64 },
}

impl CodeGenerator {
    pub(crate) fn new(
        secret: &Secret,
        parameters: OtpParameters,
        initial_counter: u64,
    ) -> Result<Self, OtpError> {
        Ok(match parameters {
            OtpParameters::Totp(parameters) => Self::Time(Totp::new(secret, parameters)?),
            OtpParameters::Hotp(parameters) => Self::Event {
                hotp: Hotp::new(secret, parameters)?,
                counter: initial_counter,
            },
        })
    }

    pub(crate) fn mode(&self) -> OtpMode {
        match self {
            Self::Time(_) => OtpMode::Time,
            Self::Event { .. } => OtpMode::Event,
        }
    }

    /// The counter the next press shows, for event devices.
    pub(crate) fn counter(&self) -> Option<u64> {
        match self {
            Self::Time(_) => None,
            Self::Event { counter, .. } => Some(*counter),
        }
    }

    /// One press at the device's own time `local_time`; an event device's counter
    /// moves on.
    pub(crate) fn press(&mut self, local_time: UnixTime) -> Result<Reading, OtpError> {
        match self {
            Self::Time(totp) => time_reading(totp, local_time),
            Self::Event { hotp, counter } => {
                let shown = *counter;
                // Refuse rather than wrap: a counter that wrapped would repeat codes.
                *counter = shown.checked_add(1).ok_or(OtpError::CounterOverflow {
                    counter: shown,
                    by: 1,
                })?;
                Ok(Reading::event_based(hotp.at(shown)))
            }
        }
    }
}

/// The reading of a time device whose clock shows `local_time`: the code of that
/// step, valid until the step ends by the same clock.
pub(crate) fn time_reading(totp: &Totp, local_time: UnixTime) -> Result<Reading, OtpError> {
    step_reading(totp.hotp(), &totp.parameters(), local_time)
}

/// [`time_reading`] over an HOTP generator and the step and T0 of `parameters` (its
/// algorithm and digits are the generator's): fleets keep one step and T0 for all
/// their fobs. The step and the seconds left come from
/// [`TotpParameters::step_at`] and [`TotpParameters::seconds_left`], the one place
/// that arithmetic is written.
pub(crate) fn step_reading(
    hotp: &Hotp,
    parameters: &TotpParameters,
    local_time: UnixTime,
) -> Result<Reading, OtpError> {
    let seconds = local_time.as_secs();
    let before_t0 = || OtpError::TimeBeforeT0 {
        time: seconds,
        t0: parameters.t0,
    };
    let unix_seconds = u64::try_from(seconds).map_err(|_| before_t0())?;
    let step = parameters.step_at(unix_seconds).ok_or_else(before_t0)?;
    let seconds_left = parameters
        .seconds_left(unix_seconds)
        .ok_or_else(before_t0)?;
    // Whole seconds left (1 in the step's last second), less the part of the current
    // second already gone.
    let into_second = local_time.as_nanos().rem_euclid(1_000_000_000) as u64;
    let valid_for =
        Duration::from_secs(seconds_left).saturating_sub(Duration::from_nanos(into_second));
    let time_step = Duration::from_secs(parameters.time_step);
    Ok(Reading::time_based(hotp.at(step), valid_for, time_step))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HotpParameters, TotpParameters};

    fn secret() -> Secret {
        Secret::from_bytes(b"12345678901234567890").unwrap()
    }

    #[test]
    fn time_reading_counts_down_to_the_nanosecond() {
        let totp = Totp::new(&secret(), TotpParameters::default()).unwrap();
        let reading = time_reading(&totp, UnixTime::from_nanos(59_300_000_000)).unwrap();
        assert_eq!(reading.code(), totp.at(59).unwrap());
        assert_eq!(reading.valid_for(), Some(Duration::from_millis(700)));
        assert_eq!(reading.time_step(), Some(Duration::from_secs(30)));
        let start = time_reading(&totp, UnixTime::from_secs(60)).unwrap();
        assert_eq!(start.valid_for(), Some(Duration::from_secs(30)));
    }

    #[test]
    fn event_counter_moves_and_stops_at_its_end() {
        let parameters = OtpParameters::Hotp(HotpParameters::default());
        let mut generator = CodeGenerator::new(&secret(), parameters, u64::MAX - 1).unwrap();
        assert!(generator.press(UnixTime::EPOCH).is_ok());
        assert_eq!(generator.counter(), Some(u64::MAX));
        assert_eq!(
            generator.press(UnixTime::EPOCH).unwrap_err(),
            OtpError::CounterOverflow {
                counter: u64::MAX,
                by: 1
            }
        );
    }
}
