//! Fleets of simulated fobs: reproducible shapes, the same codes as single fobs
//! built from the same records, the drift distribution, and the fleet's memory.
#![cfg(feature = "fleet")]

use std::time::Duration;

use otpfob::{
    Device, DeviceError, Hotp, HotpParameters, KeyFob, ManualClock, TotpParameters, UnixTime,
    device::Fleet,
};

const ISSUED: i64 = 1_767_225_600;

fn time_fleet(count: usize, seed: u64) -> (Fleet<ManualClock>, Vec<otpfob::device::FactoryRecord>) {
    Fleet::builder(count, TotpParameters::default())
        .seed(seed)
        .build(ManualClock::at_secs(ISSUED))
        .unwrap()
}

#[test]
fn the_seed_fixes_serials_and_drifts_but_not_secrets() {
    let (first, first_records) = time_fleet(50, 11);
    let (second, second_records) = time_fleet(50, 11);
    let (other, _) = time_fleet(50, 12);
    for index in 0..50 {
        assert_eq!(first.serial(index), second.serial(index));
        assert_eq!(first.crystal(index), second.crystal(index));
        assert_eq!(first_records[index].serial, first.serial(index).unwrap());
        assert_ne!(
            first_records[index].secret.expose_bytes(),
            second_records[index].secret.expose_bytes()
        );
    }
    assert_ne!(first.serial(0), other.serial(0));
    assert_ne!(first.crystal(0), other.crystal(0));
    // Serials run consecutively, like a production batch.
    let number = |serial: otpfob::device::SerialNumber| -> u64 {
        serial.as_str().trim_start_matches("OTPF-").parse().unwrap()
    };
    assert_eq!(
        number(first.serial(49).unwrap()),
        number(first.serial(0).unwrap()) + 49
    );
    assert_eq!(first.serial(50), None);
    assert_eq!(first.crystal(50), None);
}

#[test]
fn fleet_members_show_what_a_single_fob_from_their_record_shows() {
    let world = ManualClock::at_secs(ISSUED);
    let (mut fleet, records) = Fleet::builder(20, TotpParameters::default())
        .seed(3)
        .outliers(0.5, 300.0)
        .build(world.clone())
        .unwrap();
    let mut fobs: Vec<_> = records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            KeyFob::from_record(record)
                .crystal(fleet.crystal(index).unwrap())
                .build(world.clone())
                .unwrap()
                .0
        })
        .collect();
    for elapsed in [0, 29, 86_400, 90 * 86_400, 3 * 31_557_600] {
        world.set(UnixTime::from_secs(ISSUED + elapsed));
        let readings: Vec<_> = fleet.press_all().unwrap().map(Result::unwrap).collect();
        for (index, fob) in fobs.iter_mut().enumerate() {
            assert_eq!(
                readings[index],
                fob.press().unwrap(),
                "fob {index} at +{elapsed} s"
            );
        }
        assert_eq!(fleet.press(7).unwrap().unwrap(), readings[7]);
    }
    assert!(fleet.press(20).is_none());
}

#[test]
fn event_fleets_count_presses_per_fob() {
    let world = ManualClock::at_secs(ISSUED);
    let (mut fleet, records) = Fleet::builder(5, HotpParameters::default())
        .build(world.clone())
        .unwrap();
    let _ = fleet.press_all().unwrap().count();
    let _ = fleet.press(2).unwrap().unwrap();
    assert_eq!(fleet.counter(1), Some(1));
    assert_eq!(fleet.counter(2), Some(2));
    let hotp = Hotp::new(&records[2].secret, HotpParameters::default()).unwrap();
    assert_eq!(fleet.press(2).unwrap().unwrap().code(), hotp.at(2));
    let (time, _) = time_fleet(1, 0);
    assert_eq!(time.counter(0), None);
}

#[test]
fn drifts_follow_the_configured_distribution() {
    let count = 20_000;
    let fleet = Fleet::builder(count, TotpParameters::default())
        .seed(99)
        .drift_sigma_ppm(8.0)
        .outliers(0.02, 400.0)
        .build_each(ManualClock::at_secs(ISSUED), |_| {})
        .unwrap();
    let drifts: Vec<f64> = (0..count)
        .map(|index| fleet.crystal(index).unwrap().drift().ppm())
        .collect();
    // Outliers: beyond 6 σ of the ordinary fobs (ordinary ones get there with odds
    // of 2e-9). 2 % of 20,000 is 400 ± 20; nearly all outliers pass 6 σ = 48 ppm.
    let outliers = drifts.iter().filter(|ppm| ppm.abs() > 48.0).count();
    assert!((320..=480).contains(&outliers), "{outliers} outliers");
    let ordinary: Vec<f64> = drifts
        .iter()
        .copied()
        .filter(|ppm| ppm.abs() <= 48.0)
        .collect();
    let mean = ordinary.iter().sum::<f64>() / ordinary.len() as f64;
    let sigma = (ordinary.iter().map(|ppm| (ppm - mean).powi(2)).sum::<f64>()
        / ordinary.len() as f64)
        .sqrt();
    assert!(mean.abs() < 0.3, "mean {mean}");
    assert!((7.6..=8.4).contains(&sigma), "sigma {sigma}");
    assert!(drifts.iter().all(|ppm| ppm.abs() <= 1000.0));
    // Clamped: with σ = 1000 ppm about a third of the drifts hit the limit.
    let wild = Fleet::builder(1000, TotpParameters::default())
        .drift_sigma_ppm(1000.0)
        .build_each(ManualClock::at_secs(ISSUED), |_| {})
        .unwrap();
    let at_limit = (0..1000)
        .filter(|index| wild.crystal(*index).unwrap().drift().ppm().abs() == 1000.0)
        .count();
    assert!((200..=450).contains(&at_limit), "{at_limit}");
}

#[test]
fn bad_fleet_settings_are_typed() {
    let world = ManualClock::at_secs(ISSUED);
    let error = |builder: otpfob::device::FleetBuilder| {
        builder.build(world.clone()).map(|_| ()).unwrap_err()
    };
    let base = || Fleet::builder(3, TotpParameters::default());
    assert_eq!(
        error(base().drift_sigma_ppm(-1.0)),
        DeviceError::FleetSetting {
            setting: "drift_sigma_ppm",
            value: -1.0,
            expected: "0 to 1000 ppm"
        }
    );
    assert!(matches!(
        error(base().drift_sigma_ppm(f64::NAN)),
        DeviceError::FleetSetting {
            setting: "drift_sigma_ppm",
            ..
        }
    ));
    assert!(matches!(
        error(base().outliers(1.5, 10.0)),
        DeviceError::FleetSetting {
            setting: "outlier_fraction",
            ..
        }
    ));
    assert!(matches!(
        error(base().outliers(0.1, 2000.0)),
        DeviceError::FleetSetting {
            setting: "outlier_sigma_ppm",
            ..
        }
    ));
    assert_eq!(
        error(base().serial_prefix("BAD PREFIX")),
        DeviceError::SerialCharacter { position: 3 }
    );
    assert!(matches!(
        error(base().serial_prefix(&"A".repeat(22))),
        DeviceError::SerialLength { length: 33, .. }
    ));
    let zero_digits = TotpParameters {
        digits: 0,
        ..TotpParameters::default()
    };
    assert_eq!(
        error(Fleet::builder(3, zero_digits)),
        DeviceError::Parameters(otpfob::OtpError::DigitCount { digits: 0 })
    );
}

#[test]
fn an_expired_fleet_shows_nothing() {
    let world = ManualClock::at_secs(ISSUED);
    let (mut fleet, records) = Fleet::builder(3, TotpParameters::default())
        .lifetime(Duration::from_secs(100))
        .build(world.clone())
        .unwrap();
    assert_eq!(records[0].expires_at, UnixTime::from_secs(ISSUED + 100));
    world.advance(Duration::from_secs(100));
    let expired = DeviceError::Expired {
        expired_at: UnixTime::from_secs(ISSUED + 100),
    };
    assert_eq!(fleet.press_all().map(|_| ()).unwrap_err(), expired);
    assert_eq!(fleet.press(0), Some(Err(expired)));
}

#[test]
fn fleet_memory_is_its_fob_state_and_nothing_else() {
    let count = 10_000;
    let world = ManualClock::at_secs(ISSUED);
    let mut kept = None;
    let info = allocation_counter::measure(|| {
        let fleet = Fleet::builder(count, TotpParameters::default())
            .build_each(world, |_| {})
            .unwrap();
        kept = Some(fleet);
    });
    let fleet = kept.unwrap();
    let held = usize::try_from(info.bytes_current).unwrap();
    // What stays allocated after the build is the fob vector and the prefix.
    assert_eq!(held + size_of::<Fleet<ManualClock>>(), fleet.state_bytes());
    assert_eq!(held / count, Fleet::<ManualClock>::bytes_per_fob());
    assert!(Fleet::<ManualClock>::bytes_per_fob() <= 160);
    // A read allocates nothing.
    let mut fleet = fleet;
    let reads = allocation_counter::measure(|| {
        let codes = fleet.press_all().unwrap().filter(Result::is_ok).count();
        assert_eq!(codes, count);
    });
    assert_eq!(reads.count_total, 0);
}
