//! Fleets: many simulated fobs for simulations of a whole customer base, with serials
//! and crystal drifts drawn from a seeded random distribution.

use core::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::clock::{Drift, TimeSource, UnixTime, drifted};
use crate::device::error::DeviceError;
use crate::hotp::Hotp;
use crate::hotp::OtpError;
use crate::parameters::OtpParameters;
use crate::secret::Secret;
use crate::totp::TotpParameters;

use super::backend::Reading;
use super::crystal::{Crystal, MAX_DRIFT_PPM};
use super::factory::FactoryRecord;
use super::fob::DEFAULT_LIFETIME;
use super::generator::step_reading;
use super::serial::{MAX_SERIAL_LEN, SerialNumber};

/// Digits of the number part of a fleet serial.
const SERIAL_DIGITS: u32 = 10;
const SERIAL_SPACE: u64 = 10_u64.pow(SERIAL_DIGITS);
const UNLOCK_KEY_BITS: usize = 256;

/// One fob of a fleet: its keyed HMAC state (computed once, so a read costs only the
/// two compressions of its code), its crystal's drift, and its counter.
#[derive(Debug, Clone)]
struct Member {
    hotp: Hotp,
    drift: Drift,
    counter: u64,
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// The fleet's shared step and T0 (the algorithm and digits are each fob's
    /// generator's), so each fob stores no step or T0 of its own.
    Time(TotpParameters),
    Event,
}

/// Many simulated key fobs of one model, read against one world clock.
///
/// All fobs share the code parameters, issue time and expiry of their batch; each has
/// its own secret (fresh from the operating system's CSPRNG), a serial number in a
/// consecutive run like a production batch, and a crystal drift drawn from a normal
/// distribution with a few outliers. The seed fixes the serials and drifts, never the
/// secrets. Fleet fobs have no PIN gate: a fleet simulates the codes customers type,
/// not their fingers. For a fob with a PIN, build a [`KeyFob`](crate::KeyFob) from a
/// fleet member's record with [`KeyFob::from_record`](crate::KeyFob::from_record) and
/// [`Fleet::crystal`].
///
/// Reading every fob at one instant reads the world clock once and costs, per fob,
/// one code plus the drift arithmetic (see `benches/fleet.rs`).
///
/// ```
/// use otpfob::{ManualClock, Totp, TotpParameters, device::Fleet};
///
/// let world = ManualClock::at_secs(1_767_225_600);
/// let (mut fleet, records) = Fleet::builder(100, TotpParameters::default())
///     .seed(7)
///     .drift_sigma_ppm(6.0)
///     .build(world.clone())?;
/// assert_eq!(records.len(), 100);
/// let codes: Vec<_> = fleet.press_all()?.collect::<Result<_, _>>()?;
/// // The bank checks member 42's code with the secret from its record.
/// let bank = Totp::new(&records[42].secret, TotpParameters::default())?;
/// assert_eq!(codes[42].code(), bank.at(1_767_225_600)?);
/// assert_eq!(fleet.serial(42).unwrap(), records[42].serial);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Fleet<T> {
    world: T,
    parameters: OtpParameters,
    mode: Mode,
    issued_at: UnixTime,
    expires_at: UnixTime,
    serial_prefix: String,
    first_serial: u64,
    members: Vec<Member>,
}

impl Fleet<()> {
    /// Starts a fleet of `count` fobs with these code parameters (see
    /// [`FleetBuilder`] for the defaults).
    pub fn builder(count: usize, parameters: impl Into<OtpParameters>) -> FleetBuilder {
        FleetBuilder {
            count,
            parameters: parameters.into(),
            seed: 0,
            drift_sigma_ppm: 6.0,
            outlier_fraction: 0.01,
            outlier_sigma_ppm: 100.0,
            issued_at: None,
            lifetime: DEFAULT_LIFETIME,
            serial_prefix: "OTPF".to_owned(),
        }
    }
}

impl<T: TimeSource> Fleet<T> {
    /// How many fobs.
    #[must_use]
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the fleet has no fob.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The code parameters every fob shares.
    #[must_use]
    pub fn parameters(&self) -> OtpParameters {
        self.parameters
    }

    /// When every fob's clock was set.
    #[must_use]
    pub fn issued_at(&self) -> UnixTime {
        self.issued_at
    }

    /// When every fob's life ends.
    #[must_use]
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    /// The world clock the fleet reads.
    pub fn world(&self) -> &T {
        &self.world
    }

    /// The serial number of fob `index`, as in its factory record.
    #[must_use]
    pub fn serial(&self, index: usize) -> Option<SerialNumber> {
        (index < self.members.len()).then(|| self.serial_of(index))
    }

    fn serial_of(&self, index: usize) -> SerialNumber {
        let number = self.first_serial + index as u64;
        let width = SERIAL_DIGITS as usize;
        // The builder checked the prefix, and the number part is digits.
        SerialNumber::checked_elsewhere(if self.serial_prefix.is_empty() {
            format!("{number:0width$}")
        } else {
            format!("{}-{number:0width$}", self.serial_prefix)
        })
    }

    /// The crystal of fob `index`: a physical property the bank does not know.
    #[must_use]
    pub fn crystal(&self, index: usize) -> Option<Crystal> {
        let member = self.members.get(index)?;
        Crystal::new(member.drift).ok()
    }

    /// The counter the next press of event fob `index` shows (`None` for time fleets
    /// or past the end).
    #[must_use]
    pub fn counter(&self, index: usize) -> Option<u64> {
        match self.mode {
            Mode::Event => self.members.get(index).map(|member| member.counter),
            Mode::Time(_) => None,
        }
    }

    /// Bytes the fleet holds in memory: the fleet itself and its fobs' state.
    #[must_use]
    pub fn state_bytes(&self) -> usize {
        size_of::<Self>()
            + self.serial_prefix.capacity()
            + self.members.capacity() * size_of::<Member>()
    }

    /// Bytes of state per fob: one keyed HMAC state (sized for the largest
    /// algorithm), a drift and a counter.
    #[must_use]
    pub const fn bytes_per_fob() -> usize {
        size_of::<Member>()
    }

    /// Presses every fob at the world clock's current time, read once.
    ///
    /// # Errors
    ///
    /// As [`Fleet::press_all_at`].
    pub fn press_all(
        &mut self,
    ) -> Result<impl Iterator<Item = Result<Reading, DeviceError>> + '_, DeviceError> {
        let now = self.world.now();
        self.press_all_at(now)
    }

    /// Presses every fob at world time `world`, in index order: each time fob shows
    /// the code of the step its own clock is in, and each event fob moves its counter
    /// as the iterator reaches it.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Expired`] once the batch's life is over; each item is
    /// [`DeviceError::Parameters`] if that fob's clock reads before T0 or its counter
    /// is exhausted.
    pub fn press_all_at(
        &mut self,
        world: UnixTime,
    ) -> Result<impl Iterator<Item = Result<Reading, DeviceError>> + '_, DeviceError> {
        self.check_alive(world)?;
        let (mode, issued_at) = (self.mode, self.issued_at);
        Ok(self
            .members
            .iter_mut()
            .map(move |member| member.press(mode, issued_at, world)))
    }

    /// Presses fob `index` at the world clock's current time; `None` past the end.
    ///
    /// # Errors
    ///
    /// As [`Fleet::press_all_at`].
    pub fn press(&mut self, index: usize) -> Option<Result<Reading, DeviceError>> {
        let now = self.world.now();
        self.press_at(index, now)
    }

    /// Presses fob `index` at world time `world`; `None` past the end.
    ///
    /// # Errors
    ///
    /// As [`Fleet::press_all_at`].
    pub fn press_at(
        &mut self,
        index: usize,
        world: UnixTime,
    ) -> Option<Result<Reading, DeviceError>> {
        let alive = self.check_alive(world);
        let (mode, issued_at) = (self.mode, self.issued_at);
        let member = self.members.get_mut(index)?;
        Some(alive.and_then(|()| member.press(mode, issued_at, world)))
    }

    fn check_alive(&self, world: UnixTime) -> Result<(), DeviceError> {
        if world >= self.expires_at {
            return Err(DeviceError::Expired {
                expired_at: self.expires_at,
            });
        }
        Ok(())
    }
}

impl Member {
    #[inline]
    fn press(
        &mut self,
        mode: Mode,
        issued_at: UnixTime,
        world: UnixTime,
    ) -> Result<Reading, DeviceError> {
        match mode {
            Mode::Time(parameters) => {
                let local = drifted(issued_at, self.drift, world);
                Ok(step_reading(&self.hotp, &parameters, local)?)
            }
            Mode::Event => {
                let shown = self.counter;
                self.counter = shown.checked_add(1).ok_or(OtpError::CounterOverflow {
                    counter: shown,
                    by: 1,
                })?;
                Ok(Reading::event_based(self.hotp.at(shown)))
            }
        }
    }
}

/// Builds a [`Fleet`] and the factory records of its fobs. Made by
/// [`Fleet::builder`].
///
/// Defaults: seed 0; drifts normal around 0 with σ = 6 ppm (real fobs drift 4 to
/// 12 ppm), of which 1 % are outliers drawn with σ = 100 ppm, every drift clamped to
/// ±[`MAX_DRIFT_PPM`]; issued at the world clock's time of the build; a life of
/// [`DEFAULT_LIFETIME`]; serials `OTPF-` and ten digits, consecutive from a start
/// drawn from the seed.
#[derive(Debug, Clone)]
#[must_use]
pub struct FleetBuilder {
    count: usize,
    parameters: OtpParameters,
    seed: u64,
    drift_sigma_ppm: f64,
    outlier_fraction: f64,
    outlier_sigma_ppm: f64,
    issued_at: Option<UnixTime>,
    lifetime: Duration,
    serial_prefix: String,
}

impl FleetBuilder {
    /// The seed of the serials and drifts: the same seed gives the same fleet shape.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The standard deviation of ordinary fobs' drift, in ppm (0 to 1000).
    pub fn drift_sigma_ppm(mut self, sigma: f64) -> Self {
        self.drift_sigma_ppm = sigma;
        self
    }

    /// The share of outlier fobs (0 to 1) and the standard deviation of their drift
    /// in ppm (0 to 1000).
    pub fn outliers(mut self, fraction: f64, sigma_ppm: f64) -> Self {
        self.outlier_fraction = fraction;
        self.outlier_sigma_ppm = sigma_ppm;
        self
    }

    /// When every fob's clock is set.
    pub fn issued_at(mut self, time: UnixTime) -> Self {
        self.issued_at = Some(time);
        self
    }

    /// How long after issue the batch's life ends.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The text before the dash of every serial (letters, digits, dashes; at most
    /// 21 characters).
    pub fn serial_prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.serial_prefix);
        self
    }

    /// Makes the fleet, reading time from `world`, and every fob's factory record.
    ///
    /// # Errors
    ///
    /// As [`FleetBuilder::build_each`].
    pub fn build<T: TimeSource>(
        self,
        world: T,
    ) -> Result<(Fleet<T>, Vec<FactoryRecord>), DeviceError> {
        let mut records = Vec::with_capacity(self.count);
        let fleet = self.build_each(world, |record| records.push(record))?;
        Ok((fleet, records))
    }

    /// Makes the fleet and hands each factory record to `on_record` as it is made,
    /// so a large fleet's records can go to the bank's store without all being held
    /// in memory.
    ///
    /// # Errors
    ///
    /// [`DeviceError::FleetSetting`] for a sigma, fraction or count out of range,
    /// [`DeviceError::SerialLength`] or [`DeviceError::SerialCharacter`] for the
    /// prefix, [`DeviceError::Parameters`] for bad code parameters, and
    /// [`DeviceError::Secret`] if the operating system's random source fails.
    pub fn build_each<T: TimeSource>(
        self,
        world: T,
        mut on_record: impl FnMut(FactoryRecord),
    ) -> Result<Fleet<T>, DeviceError> {
        self.check()?;
        let mode = match self.parameters {
            OtpParameters::Totp(parameters) => Mode::Time(parameters),
            OtpParameters::Hotp(_) => Mode::Event,
        };
        let hotp_parameters = crate::hotp::HotpParameters {
            algorithm: self.parameters.algorithm(),
            digits: self.parameters.digits(),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let ordinary = normal(self.drift_sigma_ppm, "drift_sigma_ppm")?;
        let outlier = normal(self.outlier_sigma_ppm, "outlier_sigma_ppm")?;
        let issued_at = self.issued_at.unwrap_or_else(|| world.now());
        let mut fleet = Fleet {
            world,
            parameters: self.parameters,
            mode,
            issued_at,
            expires_at: issued_at.plus(self.lifetime),
            first_serial: rng.random_range(0..=SERIAL_SPACE - self.count as u64),
            serial_prefix: self.serial_prefix,
            members: Vec::with_capacity(self.count),
        };
        for index in 0..self.count {
            let distribution = if rng.random_bool(self.outlier_fraction) {
                &outlier
            } else {
                &ordinary
            };
            let ppm = distribution
                .sample(&mut rng)
                .clamp(-MAX_DRIFT_PPM, MAX_DRIFT_PPM);
            let drift = Crystal::from_ppm(ppm)?.drift();
            let secret = Secret::generate_default()?;
            fleet.members.push(Member {
                hotp: Hotp::new(&secret, hotp_parameters)?,
                drift,
                counter: 0,
            });
            on_record(FactoryRecord {
                serial: fleet.serial_of(index),
                secret,
                parameters: self.parameters,
                initial_counter: 0,
                unlock_key: Secret::generate(UNLOCK_KEY_BITS)?,
                issued_at,
                expires_at: fleet.expires_at,
                ocra_suite: None,
                ocra_counter: 0,
                ocra_pin_hash: None,
            });
        }
        Ok(fleet)
    }

    fn check(&self) -> Result<(), DeviceError> {
        self.parameters.validate()?;
        let prefix_limit = MAX_SERIAL_LEN - 1 - SERIAL_DIGITS as usize;
        if self.serial_prefix.len() > prefix_limit {
            return Err(DeviceError::SerialLength {
                length: self.serial_prefix.len() + 1 + SERIAL_DIGITS as usize,
                maximum: MAX_SERIAL_LEN,
            });
        }
        if !self.serial_prefix.is_empty() {
            SerialNumber::new(&self.serial_prefix)?;
        }
        if self.count as u64 > SERIAL_SPACE {
            return Err(DeviceError::FleetSetting {
                setting: "count",
                value: self.count as f64,
                expected: "0 to 10^10 fobs",
            });
        }
        if !(0.0..=1.0).contains(&self.outlier_fraction) {
            return Err(DeviceError::FleetSetting {
                setting: "outlier_fraction",
                value: self.outlier_fraction,
                expected: "0 to 1",
            });
        }
        Ok(())
    }
}

fn normal(sigma_ppm: f64, setting: &'static str) -> Result<Normal<f64>, DeviceError> {
    let error = DeviceError::FleetSetting {
        setting,
        value: sigma_ppm,
        expected: "0 to 1000 ppm",
    };
    if !(0.0..=MAX_DRIFT_PPM).contains(&sigma_ppm) {
        return Err(error);
    }
    Normal::new(0.0, sigma_ppm).map_err(|_| error)
}
