//! Device backends across modules: fobs against the bare TOTP/HOTP math and the
//! drifting clock, over years of simulated time, and backends swapped behind the
//! `Device` trait. Time comes from `ManualClock` only.

use std::time::Duration;

use otpfob::{
    Algorithm, Code, Device, DeviceError, DriftingClock, Hotp, HotpParameters, KeyFob, ManualClock,
    OtpParameters, Secret, SoftToken, TimeSource, Totp, TotpParameters, UnixTime,
    clock::Drift,
    device::{Crystal, DeviceKind, DeviceState},
};
use proptest::prelude::*;

const ISSUED: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const JULIAN_YEAR: u64 = 31_557_600;

fn secret() -> Secret {
    Secret::from_bytes(b"12345678901234567890").unwrap()
}

#[test]
fn drift_over_years_is_exact_to_the_nanosecond() {
    // (ppm, years, nanoseconds gained): elapsed seconds × ppb exactly.
    let cases: [(f64, u64, i128); 4] = [
        (12.0, 3, 1_136_073_600_000),    // 94,672,800 s × 12,000 ppb
        (-7.5, 5, -1_183_410_000_000),   // 157,788,000 s × -7,500 ppb
        (4.0, 1, 126_230_400_000),       // a quiet crystal: two minutes a year
        (1000.0, 1, 31_557_600_000_000), // the worst accepted: 8.8 hours a year
    ];
    for (ppm, years, gained) in cases {
        let world = ManualClock::at_secs(ISSUED);
        let (fob, _) = KeyFob::builder("OTPF-1", TotpParameters::default())
            .crystal(Crystal::from_ppm(ppm).unwrap())
            .build(world.clone())
            .unwrap();
        world.advance(Duration::from_secs(years * JULIAN_YEAR));
        assert_eq!(
            fob.local_time().nanos_since(world.now()),
            gained,
            "{ppm} ppm"
        );
        // The same arithmetic as the core's DriftingClock.
        let crystal = DriftingClock::new(
            world.clone(),
            UnixTime::from_secs(ISSUED),
            Drift::from_ppm(ppm).unwrap(),
        );
        assert_eq!(fob.local_time(), crystal.now());
    }
}

#[test]
fn a_drifting_fob_moves_whole_steps_away_from_the_bank() {
    let world = ManualClock::at_secs(ISSUED);
    let (mut fob, record) = KeyFob::builder("OTPF-2", TotpParameters::default())
        .crystal(Crystal::from_ppm(12.0).unwrap())
        .build(world.clone())
        .unwrap();
    let bank = Totp::new(&record.secret, TotpParameters::default()).unwrap();
    world.advance(Duration::from_secs(3 * JULIAN_YEAR));
    let world_seconds = world.now().as_secs() as u64;
    let fob_step = bank.step_at(fob.local_time().as_secs() as u64).unwrap();
    // 1136 seconds ahead: 37 or 38 steps, depending on where in its step the world is.
    let ahead = fob_step - bank.step_at(world_seconds).unwrap();
    assert!((37..=38).contains(&ahead), "{ahead}");
    assert_eq!(fob.press().unwrap().code(), bank.at_step(fob_step));
    assert_ne!(fob.press().unwrap().code(), bank.at(world_seconds).unwrap());
}

proptest! {
    /// Whatever the drift, offset, parameters and moment, a time fob shows
    /// `Totp::at` of its own clock's time, valid until its own clock leaves the step.
    #[test]
    fn time_fob_shows_totp_at_its_own_time(
        ppm in -1000.0f64..=1000.0,
        offset_millis in -120_000i64..=120_000,
        elapsed in 0u64..10 * JULIAN_YEAR,
        extra_nanos in 0u64..1_000_000_000,
        time_step in prop::sample::select(vec![1u64, 30, 60]),
        digits in 6u8..=10,
        algorithm in prop::sample::select(Algorithm::ALL.to_vec()),
    ) {
        let parameters = TotpParameters { algorithm, digits, time_step, t0: 0 };
        let crystal = Crystal::from_ppm(ppm).unwrap();
        let crystal = if offset_millis >= 0 {
            crystal.ahead(Duration::from_millis(offset_millis as u64))
        } else {
            crystal.behind(Duration::from_millis(offset_millis.unsigned_abs()))
        };
        let world = ManualClock::at_secs(ISSUED);
        let (mut fob, record) = KeyFob::builder("OTPF-3", parameters)
            .crystal(crystal)
            .lifetime(Duration::from_secs(20 * JULIAN_YEAR))
            .build(world.clone())
            .unwrap();
        world.advance(Duration::from_secs(elapsed) + Duration::from_nanos(extra_nanos));

        let own_time = crystal.local_time(UnixTime::from_secs(ISSUED), world.now());
        prop_assert_eq!(fob.local_time(), own_time);
        let totp = Totp::new(&record.secret, parameters).unwrap();
        let seconds = own_time.as_secs() as u64;
        let reading = fob.press().unwrap();
        prop_assert_eq!(reading.code(), totp.at(seconds).unwrap());
        let valid_for = reading.valid_for().unwrap();
        prop_assert!(valid_for > Duration::ZERO && valid_for <= Duration::from_secs(time_step));
        // Just before the fob's clock leaves the step the code is the same; just
        // after, it belongs to the next step.
        let step_end = own_time.plus(valid_for);
        prop_assert_eq!(totp.step_at(step_end.minus(Duration::from_nanos(1)).as_secs() as u64).unwrap(), totp.step_at(seconds).unwrap());
        prop_assert_eq!(totp.step_at(step_end.as_secs() as u64).unwrap(), totp.step_at(seconds).unwrap() + 1);
    }
}

#[test]
fn event_fob_counts_every_press() {
    let world = ManualClock::at_secs(ISSUED);
    let parameters = HotpParameters {
        algorithm: Algorithm::Sha256,
        digits: 8,
    };
    let (mut fob, record) = KeyFob::builder("OTPF-4", parameters)
        .pin("2468")
        .initial_counter(1000)
        .build(world.clone())
        .unwrap();
    let hotp = Hotp::new(&record.secret, parameters).unwrap();
    for counter in 1000..1010 {
        fob.enter_pin("2468").unwrap();
        assert_eq!(fob.press().unwrap().code(), hotp.at(counter));
        // Time does not move an event fob.
        world.advance(Duration::from_secs(3600));
    }
    assert_eq!(fob.counter(), Some(1010));
    // A press refused at the PIN gate does not move the counter.
    assert_eq!(fob.press(), Err(DeviceError::PinRequired));
    assert_eq!(fob.counter(), Some(1010));
}

#[test]
fn backends_swap_behind_the_trait() {
    let world = ManualClock::at_secs(ISSUED);
    let (fob, _) = KeyFob::builder("OTPF-5", TotpParameters::default())
        .secret(secret())
        .build(world.clone())
        .unwrap();
    let phone =
        SoftToken::new("APP-5", &secret(), TotpParameters::default(), world.clone()).unwrap();
    let mut devices: Vec<Box<dyn Device>> = vec![Box::new(fob), Box::new(phone)];
    world.advance(Duration::from_secs(12_345));
    let codes: Vec<Code> = devices
        .iter_mut()
        .map(|device| device.press().unwrap().code())
        .collect();
    assert_eq!(codes[0], codes[1]);
    let expected = Totp::new(&secret(), TotpParameters::default())
        .unwrap()
        .now(&world)
        .unwrap();
    assert_eq!(codes[0], expected);
    for device in &devices {
        assert_eq!(device.kind(), DeviceKind::time());
        assert_eq!(device.state(), DeviceState::Ready);
    }
    assert_eq!(devices[0].serial().as_str(), "OTPF-5");
}

#[test]
fn every_bad_device_input_is_typed() {
    let world = ManualClock::at_secs(ISSUED);
    assert_eq!(
        Crystal::from_ppm(1000.5),
        Err(DeviceError::DriftOutOfRange {
            ppm: 1000.5,
            limit_ppm: 1000.0
        })
    );
    assert!(matches!(
        Crystal::from_ppm(-5000.0),
        Err(DeviceError::DriftOutOfRange { .. })
    ));
    let zero_digits = OtpParameters::Hotp(HotpParameters {
        digits: 0,
        ..HotpParameters::default()
    });
    assert_eq!(
        KeyFob::builder("OTPF-6", zero_digits)
            .build(world.clone())
            .map(|_| ())
            .unwrap_err(),
        DeviceError::Parameters(otpfob::OtpError::DigitCount { digits: 0 })
    );
    assert!(matches!(
        SoftToken::new("APP-6", &secret(), zero_digits, world.clone()),
        Err(DeviceError::Parameters(_))
    ));
    let (mut fob, _) = KeyFob::builder("OTPF-6", TotpParameters::default())
        .pin("2468")
        .build(world.clone())
        .unwrap();
    assert_eq!(
        fob.enter_pin("24 68"),
        Err(DeviceError::PinCharacter { position: 2 })
    );
    assert_eq!(
        fob.enter_pin(""),
        Err(DeviceError::PinLength {
            length: 0,
            minimum: 4,
            maximum: 8
        })
    );
    assert_eq!(fob.press(), Err(DeviceError::PinRequired));
    // The malformed PINs above cost no try.
    assert_eq!(
        fob.enter_pin("0000"),
        Err(DeviceError::WrongPin { tries_left: 2 })
    );
    // Every error reads as a sentence that names the value and never the PIN.
    let message = DeviceError::WrongPin { tries_left: 2 }.to_string();
    assert_eq!(message, "wrong PIN, 2 tries left before the device locks");
}
