//! Keypad fobs: what `Device::respond` shows equals RFC 6287 OCRA computed directly
//! from the factory record, with the fob's counter, its own drifting clock and its PIN.

use std::time::Duration;

use otpfob::{
    Device, DeviceError, KeyFob, ManualClock, Secret, TimeSource, TotpParameters,
    device::{Crystal, DeviceState},
    ocra::{
        DataInputPart, Ocra, OcraError, OcraInput, OcraSuite, Password, QuestionKind, Timestamp,
    },
};
use proptest::prelude::*;

const ISSUED: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn suite(text: &str) -> OcraSuite {
    text.parse().unwrap()
}

fn keypad_fob(
    world: &ManualClock,
    suite_text: &str,
    pin: Option<&str>,
) -> (KeyFob<ManualClock>, otpfob::device::FactoryRecord) {
    let mut builder = KeyFob::builder("OTPF-0000000042", TotpParameters::default())
        .ocra(suite(suite_text))
        .ocra_counter(100);
    if let Some(pin) = pin {
        builder = builder.pin(pin);
    }
    builder.build(world.clone()).unwrap()
}

fn respond(fob: &mut KeyFob<ManualClock>, pin: Option<&str>, challenge: &str) -> String {
    if let Some(pin) = pin {
        fob.enter_pin(pin).unwrap();
    }
    fob.respond(challenge).unwrap().code().to_string()
}

#[test]
fn counter_suites_use_and_advance_the_fob_counter() {
    let world = ManualClock::at_secs(ISSUED);
    let (mut fob, record) = keypad_fob(&world, "OCRA-1:HOTP-SHA256-8:C-QN08", None);
    assert_eq!(
        record.ocra_suite,
        Some(suite("OCRA-1:HOTP-SHA256-8:C-QN08"))
    );
    assert_eq!(record.ocra_counter, 100);
    assert!(record.ocra_pin_hash.is_none());
    let bank = Ocra::new(&record.secret, record.ocra_suite.unwrap());
    for counter in 100..110 {
        assert_eq!(fob.ocra_counter(), Some(counter));
        let challenge = format!("{:08}", counter * 7_919);
        let input = OcraInput {
            counter: Some(counter),
            ..OcraInput::default()
        };
        let expected = bank.one_way(&challenge, &input).unwrap().to_string();
        assert_eq!(respond(&mut fob, None, &challenge), expected);
    }
    // The button's TOTP codes are untouched by the keypad.
    let reading = fob.press().unwrap();
    assert_eq!(
        reading
            .valid_for()
            .map(|left| left <= Duration::from_secs(30)),
        Some(true)
    );
}

#[test]
fn time_suites_read_the_fob_drifting_clock() {
    let world = ManualClock::at_secs(ISSUED);
    let (mut fob, record) = KeyFob::builder("OTPF-0000000043", TotpParameters::default())
        .ocra(suite("OCRA-1:HOTP-SHA512-8:QN08-T1M"))
        .crystal(Crystal::from_ppm(12.0).unwrap())
        .build(world.clone())
        .unwrap();
    // A year on, the fob's clock is 6.3 minutes ahead: six one-minute steps.
    world.advance(Duration::from_secs(365 * 86_400));
    let fob_time = fob.local_time();
    let ahead = fob_time.as_secs() - world.now().as_secs();
    assert!((370..=380).contains(&ahead), "{ahead}");
    let shown = respond(&mut fob, None, "55555555");
    let bank = Ocra::new(&record.secret, record.ocra_suite.unwrap());
    let at = |time| OcraInput {
        timestamp: Some(Timestamp::At(time)),
        ..OcraInput::default()
    };
    assert_eq!(
        bank.one_way("55555555", &at(fob_time)).unwrap().to_string(),
        shown
    );
    assert_ne!(
        bank.one_way("55555555", &at(world.now()))
            .unwrap()
            .to_string(),
        shown,
        "the world clock is six steps behind the fob's"
    );
    assert_eq!(fob.ocra_counter(), None, "no C, no counter");
}

#[test]
fn pin_suites_hash_the_pin_that_opened_the_gate() {
    let world = ManualClock::at_secs(ISSUED);
    // RFC 6287 Appendix C.1's key and suite: counter 0, PIN 1234, challenge 12345678.
    let (mut fob, record) = KeyFob::builder("OTPF-0000000044", TotpParameters::default())
        .secret(Secret::from_bytes(b"12345678901234567890123456789012").unwrap())
        .pin("1234")
        .ocra(suite("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1"))
        .build(world.clone())
        .unwrap();
    assert_eq!(fob.ocra_counter(), Some(0));
    assert_eq!(respond(&mut fob, Some("1234"), "12345678"), "65347737");
    assert_eq!(respond(&mut fob, Some("1234"), "12345678"), "86775851");
    // The record carries SHA-1 of the initial PIN for the bank.
    assert_eq!(
        record.ocra_pin_hash.as_ref().unwrap().expose_bytes(),
        Secret::from_hex("7110eda4d09e062aa5e4a390b0a572ac0d2c0220")
            .unwrap()
            .expose_bytes()
    );
    // After a PIN change the fob hashes the new PIN.
    fob.change_pin("1234", "97531").unwrap();
    let shown = respond(&mut fob, Some("97531"), "12345678");
    let bank = Ocra::new(&record.secret, record.ocra_suite.unwrap());
    let input = OcraInput {
        counter: Some(2),
        password: Some(Password::Pin(b"97531")),
        ..OcraInput::default()
    };
    assert_eq!(bank.one_way("12345678", &input).unwrap().to_string(), shown);
}

#[test]
fn the_keypad_is_behind_the_pin_gate_and_the_end_of_life() {
    let world = ManualClock::at_secs(ISSUED);
    let (mut fob, record) = keypad_fob(&world, "OCRA-1:HOTP-SHA1-6:C-QN08", Some("2468"));
    assert!(fob.kind().challenge_response);
    assert_eq!(fob.respond("12345678"), Err(DeviceError::PinRequired));
    assert_eq!(
        fob.ocra_counter(),
        Some(100),
        "a refused operation computes nothing"
    );
    // A challenge the suite refuses is a typed error and moves no counter.
    fob.enter_pin("2468").unwrap();
    assert_eq!(
        fob.respond("1234567x"),
        Err(DeviceError::Ocra(OcraError::QuestionCharacter {
            position: 7,
            format: QuestionKind::Numeric
        }))
    );
    fob.enter_pin("2468").unwrap();
    assert_eq!(
        fob.respond("123456789"),
        Err(DeviceError::Ocra(OcraError::QuestionTooLong {
            length: 9,
            maximum: 8
        }))
    );
    assert_eq!(fob.ocra_counter(), Some(100));
    // Locked: the right PIN does not open the keypad.
    for _ in 0..3 {
        assert!(matches!(
            fob.enter_pin("0000"),
            Err(DeviceError::WrongPin { .. })
        ));
    }
    assert_eq!(fob.state(), DeviceState::Locked);
    assert_eq!(fob.respond("12345678"), Err(DeviceError::Locked));
    let challenge = fob.unlock_challenge().unwrap();
    fob.unlock(&record.unlock_code(&challenge), "1357").unwrap();
    assert!(!respond(&mut fob, Some("1357"), "12345678").is_empty());
    // Expired: nothing.
    world.set(record.expires_at);
    assert_eq!(
        fob.respond("12345678"),
        Err(DeviceError::Expired {
            expired_at: record.expires_at
        })
    );
}

#[test]
fn suites_a_fob_cannot_answer_are_refused_at_build() {
    let world = ManualClock::at_secs(ISSUED);
    for (text, pin) in [
        ("OCRA-1:HOTP-SHA1-0:QN08", Some("2468")),
        ("OCRA-1:HOTP-SHA1-6:QN08-S064", Some("2468")),
        ("OCRA-1:HOTP-SHA1-6:QN08-PSHA1", None),
    ] {
        let mut builder =
            KeyFob::builder("OTPF-0000000045", TotpParameters::default()).ocra(suite(text));
        if let Some(pin) = pin {
            builder = builder.pin(pin);
        }
        let error = builder.build(world.clone()).map(|_| ()).unwrap_err();
        assert!(
            matches!(error, DeviceError::UnsupportedSuite { ref suite, .. } if suite == text),
            "{text}: {error:?}"
        );
    }
    // A PIN suite without a PIN would need the PIN: the responder says which part.
    let missing = OcraError::Missing {
        part: DataInputPart::Password,
    };
    assert_eq!(
        DeviceError::from(missing.clone()),
        DeviceError::Ocra(missing)
    );
}

#[test]
fn from_record_makes_the_same_keypad() {
    let world = ManualClock::at_secs(ISSUED);
    let (mut original, record) =
        keypad_fob(&world, "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA256", Some("2468"));
    let (mut copy, copy_record) = KeyFob::from_record(&record)
        .pin("2468")
        .build(world.clone())
        .unwrap();
    assert_eq!(copy_record.ocra_suite, record.ocra_suite);
    assert_eq!(copy_record.ocra_counter, 100);
    assert_eq!(copy.ocra_suite(), record.ocra_suite);
    for challenge in ["1", "99999999", "31415926"] {
        assert_eq!(
            respond(&mut original, Some("2468"), challenge),
            respond(&mut copy, Some("2468"), challenge)
        );
    }
}

#[test]
fn a_boxed_keypad_fob_is_a_device() {
    let world = ManualClock::at_secs(ISSUED);
    let (fob, record) = keypad_fob(&world, "OCRA-1:HOTP-SHA1-6:QA08", None);
    let mut device: Box<dyn Device> = Box::new(fob);
    let reading = device.respond("SIG10000").unwrap();
    assert_eq!(reading.valid_for(), None, "a response lasts until used");
    let bank = Ocra::new(&record.secret, record.ocra_suite.unwrap());
    assert_eq!(
        reading.code().to_string(),
        bank.sign("SIG10000", &OcraInput::default())
            .unwrap()
            .to_string()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the counter, PIN, crystal, elapsed time and challenge, the fob shows
    /// what OCRA computes from the record with the fob's counter, clock and PIN.
    #[test]
    fn fob_responses_equal_direct_computation(
        counter in 0u64..u64::MAX - 4,
        pin in "[0-9]{4,8}",
        ppm in -100.0f64..100.0,
        days in 0u64..1500,
        challenges in proptest::collection::vec("[0-9]{1,10}", 1..4),
    ) {
        let world = ManualClock::at_secs(ISSUED);
        let suite_text = "OCRA-1:HOTP-SHA512-8:C-QN10-PSHA256-T30S";
        let (mut fob, record) = KeyFob::builder("OTPF-0000000046", TotpParameters::default())
            .pin(&pin)
            .crystal(Crystal::from_ppm(ppm).unwrap())
            .ocra(suite(suite_text))
            .ocra_counter(counter)
            .build(world.clone())
            .unwrap();
        world.advance(Duration::from_secs(days * 86_400));
        let bank = Ocra::new(&record.secret, suite(suite_text));
        let pin_hash = record.ocra_pin_hash.as_ref().unwrap();
        for (index, challenge) in challenges.iter().enumerate() {
            let input = OcraInput {
                counter: Some(counter + index as u64),
                password: Some(Password::Hash(pin_hash.expose_bytes())),
                timestamp: Some(Timestamp::At(fob.local_time())),
                ..OcraInput::default()
            };
            let expected = bank.one_way(challenge, &input).unwrap().to_string();
            prop_assert_eq!(respond(&mut fob, Some(&pin), challenge), expected);
        }
        prop_assert_eq!(fob.ocra_counter(), Some(counter + challenges.len() as u64));
    }
}
