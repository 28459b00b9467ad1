//! A seed file enrols its tokens in a validator and builds the matching simulated
//! fobs: every fob's code is accepted, with the file's counters and time drifts.
#![cfg(feature = "pskc")]

use std::time::Duration;

use otpfob::{
    Algorithm, Device, Hotp, HotpParameters, KeyFob, Keyring, ManualClock, MemoryStore,
    OtpParameters, SealingKey, Secret, TimeSource, TotpParameters, UnixTime, Validator,
    pskc::{
        ProvisionedToken, PskcCredential, PskcEnrolError, PskcError, PskcProtection, read_pskc,
        write_pskc,
    },
    validator::{RejectReason, TokenKind, Validity},
};

const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn figure(number: u32) -> Vec<u8> {
    let path = format!(
        "{}/tests/data/pskc/figure{number}.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).unwrap()
}

fn bank(world: &ManualClock) -> Validator<MemoryStore, ManualClock> {
    Validator::new(
        MemoryStore::new(),
        world.clone(),
        Keyring::new(SealingKey::new(1, &[0x42; 32]).unwrap()),
    )
}

/// Builds the fob of `token` from its factory record, presses it at the world's
/// time, and asks the validator.
fn fob_code_is_accepted(
    bank: &Validator<MemoryStore, ManualClock>,
    world: &ManualClock,
    token: &ProvisionedToken,
) -> i64 {
    let record = token
        .factory_record(Secret::generate(256).unwrap(), world.now())
        .unwrap();
    let (mut fob, _) = KeyFob::from_record(&record)
        .crystal(token.crystal())
        .build(world.clone())
        .unwrap();
    let code = fob.press().unwrap().code().to_string();
    let id = token.token_id().unwrap();
    bank.verify(&id, &code, None)
        .unwrap_or_else(|rejected| panic!("{}: {rejected:?}", token.key_id))
        .offset
}

#[test]
fn figure_3_enrols_and_its_fob_is_accepted() {
    let world = ManualClock::at_secs(NOW);
    let bank = bank(&world);
    let container = read_pskc(&figure(3), &PskcCredential::None).unwrap();
    let report = bank.enrol_pskc(&container);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.enrolled.len(), 1);
    assert_eq!(report.enrolled[0].key_id, "12345678");
    assert_eq!(report.enrolled[0].token.as_str(), "987654321");
    let token = &container.tokens().unwrap()[0];
    let record = token
        .factory_record(Secret::generate(256).unwrap(), world.now())
        .unwrap();
    let (mut fob, _) = KeyFob::from_record(&record).build(world.clone()).unwrap();
    let id = &report.enrolled[0].token;
    for _ in 0..3 {
        // Each press moves the fob's counter and each acceptance the bank's.
        let code = fob.press().unwrap().code().to_string();
        assert_eq!(bank.verify(id, &code, None).unwrap().offset, 0);
    }
    // A fob built again from the record starts over at counter 0: spent codes.
    assert!(bank.verify(id, "84755224", None).is_err());
}

#[test]
fn encrypted_figures_6_and_7_enrol() {
    let world = ManualClock::at_secs(NOW);
    let bank = bank(&world);
    let psk =
        PskcCredential::PreSharedKey(Secret::from_hex("12345678901234567890123456789012").unwrap());
    let password = PskcCredential::Password(Secret::from_bytes(b"qwerty").unwrap());
    for (number, credential) in [(6, psk), (7, password)] {
        let container = read_pskc(&figure(number), &credential).unwrap();
        let report = bank.enrol_pskc(&container);
        if number == 6 {
            assert!(report.is_complete(), "{report:?}");
            let token = &container.tokens().unwrap()[0];
            assert_eq!(fob_code_is_accepted(&bank, &world, token), 0);
        } else {
            // Figure 7's HOTP key has no <Counter>: reported, not skipped.
            assert_eq!(report.enrolled, []);
            assert_eq!(report.refused.len(), 1);
            assert_eq!(report.refused[0].key_id, "123456");
            assert_eq!(
                report.refused[0].error,
                PskcEnrolError::Key(PskcError::MissingElement {
                    element: "Counter",
                    parent: "Key Id=\"123456\"".to_owned()
                })
            );
        }
    }
}

#[test]
fn figure_5_reports_its_pin_key_and_figure_4_its_missing_secret() {
    let world = ManualClock::at_secs(NOW);
    let bank = bank(&world);
    let container = read_pskc(&figure(5), &PskcCredential::None).unwrap();
    let report = bank.enrol_pskc(&container);
    assert_eq!(
        report.enrolled.len() + report.refused.len(),
        container.keys.len()
    );
    assert_eq!(report.enrolled.len(), 1);
    assert_eq!(report.refused.len(), 1);
    assert!(matches!(
        &report.refused[0].error,
        PskcEnrolError::Key(PskcError::NotAnOtpKey { .. })
    ));
    let token = &container.tokens().unwrap()[0];
    assert_eq!(fob_code_is_accepted(&bank, &world, token), 0);

    let container = read_pskc(&figure(4), &PskcCredential::None).unwrap();
    let report = bank.enrol_pskc(&container);
    assert!(!report.is_complete());
    assert_eq!(report.enrolled, []);
    assert!(report.refused.iter().all(|refused| matches!(
        refused.error,
        PskcEnrolError::Key(PskcError::MissingElement {
            element: "Secret",
            ..
        })
    )));
}

#[test]
fn figure_10_bulk_file_enrols_all_but_the_reissued_serial() {
    let world = ManualClock::at_secs(NOW);
    let bank = bank(&world);
    let container = read_pskc(&figure(10), &PskcCredential::None).unwrap();
    let report = bank.enrol_pskc(&container);
    let enrolled: Vec<(&str, &str)> = report
        .enrolled
        .iter()
        .map(|enrolled| (enrolled.key_id.as_str(), enrolled.token.as_str()))
        .collect();
    assert_eq!(
        enrolled,
        [("1", "654321"), ("2", "123456"), ("3", "9999999")]
    );
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].key_id, "4");
    assert_eq!(
        report.refused[0].error.to_string(),
        "token 9999999 is already enrolled"
    );
    // Each fob works within its own dates (the file's keys lived in 2006).
    for token in &container.tokens().unwrap()[..3] {
        world.set(token.start_date.unwrap().plus(Duration::from_secs(86_400)));
        assert_eq!(fob_code_is_accepted(&bank, &world, token), 0);
    }
    // Past its expiry date the fob built from the record shows nothing.
    let token = &container.tokens().unwrap()[0];
    let record = token
        .factory_record(Secret::generate(256).unwrap(), world.now())
        .unwrap();
    world.set(token.expiry_date.unwrap());
    let (mut fob, _) = KeyFob::from_record(&record).build(world.clone()).unwrap();
    assert!(fob.press().is_err());
}

/// An exported file of time fobs, two steps ahead, one behind, and an event fob at
/// counter 41: the validator starts where the file says.
#[test]
fn exported_time_drift_and_counter_are_honoured() {
    let world = ManualClock::at_secs(NOW);
    let mut tokens = Vec::new();
    for (serial, drift) in [("TM-AHEAD", 2), ("TM-BEHIND", -1), ("TM-EXACT", 0)] {
        let mut token = ProvisionedToken::new(
            serial,
            Secret::generate_default().unwrap(),
            TotpParameters {
                algorithm: Algorithm::Sha256,
                digits: 8,
                time_step: 60,
                t0: 0,
            },
        );
        token.serial = Some(serial.to_owned());
        token.time_drift = drift;
        token.start_date = Some(UnixTime::from_secs(NOW));
        tokens.push(token);
    }
    let mut event = ProvisionedToken::new(
        "EV-41",
        Secret::generate_default().unwrap(),
        HotpParameters::default(),
    );
    event.counter = 41;
    tokens.push(event);
    let key = Secret::from_bytes(&[9; 16]).unwrap();
    let document = write_pskc(
        &tokens,
        &PskcProtection::PreSharedKey {
            key: key.clone(),
            key_name: "test".to_owned(),
        },
    )
    .unwrap();
    let container = read_pskc(document.as_bytes(), &PskcCredential::PreSharedKey(key)).unwrap();
    let read = container.tokens().unwrap();

    let bank = bank(&world);
    let report = bank.enrol_pskc(&container);
    assert!(report.is_complete(), "{report:?}");
    let state = bank.state(&"TM-AHEAD".parse().unwrap()).unwrap().unwrap();
    assert!(matches!(state.kind, TokenKind::Time { drift_steps: 2, .. }));
    let state = bank.state(&"EV-41".parse().unwrap()).unwrap().unwrap();
    assert!(matches!(
        state.kind,
        TokenKind::Event {
            next_counter: 41,
            ..
        }
    ));

    world.advance(Duration::from_secs(10));
    let offsets: Vec<i64> = read
        .iter()
        .map(|token| fob_code_is_accepted(&bank, &world, token))
        .collect();
    // The fobs show the steps the file says; the default ±1 window around the
    // learned drift finds each (two steps ahead would be outside ±1 without it).
    assert_eq!(offsets, [2, -1, 0, 0]);
    assert!(matches!(read[3].parameters, OtpParameters::Hotp(_)));
}

#[test]
fn without_the_drift_a_fob_two_steps_ahead_is_rejected() {
    let world = ManualClock::at_secs(NOW);
    let bank = bank(&world);
    let mut token = ProvisionedToken::new(
        "TM-2",
        Secret::generate_default().unwrap(),
        TotpParameters::default(),
    );
    token.time_drift = 2;
    let mut ignored = token.clone();
    ignored.time_drift = 0;
    // Enrolled as if the file said nothing about drift...
    bank.enrol(ignored.enrolment("TM-2".parse().unwrap()))
        .unwrap();
    let record = token
        .factory_record(Secret::generate(256).unwrap(), world.now())
        .unwrap();
    let (mut fob, _) = KeyFob::from_record(&record)
        .crystal(token.crystal())
        .build(world.clone())
        .unwrap();
    let code = fob.press().unwrap().code().to_string();
    // ...the fob's code two steps ahead is outside the ±1 window.
    assert!(bank.verify(&"TM-2".parse().unwrap(), &code, None).is_err());
}

/// RFC 6030 §4.3.4: a key's `<StartDate>` and `<ExpiryDate>` become its validity
/// period, so the validator refuses its codes before and after, and the refusals
/// count no failure.
#[test]
fn a_key_is_refused_outside_its_policy_dates() {
    let world = ManualClock::at_secs(NOW);
    let bank = bank(&world);
    let container = read_pskc(&figure(10), &PskcCredential::None).unwrap();
    let _ = bank.enrol_pskc(&container);
    let token = &container.tokens().unwrap()[0];
    let id = token.token_id().unwrap();
    let OtpParameters::Hotp(parameters) = token.parameters else {
        panic!("figure 10's first key is HOTP")
    };
    let code = Hotp::new(&token.secret, parameters)
        .unwrap()
        .at(token.counter)
        .to_string();
    let (start, expiry) = (token.start_date.unwrap(), token.expiry_date.unwrap());
    assert_eq!(
        bank.state(&id).unwrap().unwrap().validity,
        Validity::new(Some(start), Some(expiry)).unwrap()
    );
    for (at, reason) in [
        (expiry, RejectReason::Expired),
        (UnixTime::from_secs(NOW), RejectReason::Expired),
        (
            start.minus(Duration::from_secs(1)),
            RejectReason::NotYetValid,
        ),
    ] {
        world.set(at);
        let refused = bank.verify(&id, &code, None).unwrap_err();
        assert_eq!(refused.reason(), reason, "at {at:?}");
    }
    assert_eq!(bank.state(&id).unwrap().unwrap().failures, 0);
    world.set(start);
    assert!(bank.verify(&id, &code, None).is_ok());
}

#[test]
fn a_key_that_expires_before_it_starts_is_refused() {
    let document = String::from_utf8(figure(10)).unwrap().replacen(
        "<ExpiryDate>2006-05-31T00:00:00Z</ExpiryDate>",
        "<ExpiryDate>2006-04-30T00:00:00Z</ExpiryDate>",
        1,
    );
    let container = read_pskc(document.as_bytes(), &PskcCredential::None).unwrap();
    let bank = bank(&ManualClock::at_secs(NOW));
    let report = bank.enrol_pskc(&container);
    assert_eq!(report.refused[0].key_id, "1");
    assert!(matches!(
        &report.refused[0].error,
        PskcEnrolError::Key(PskcError::InvalidValue { element, .. }) if element == "ExpiryDate"
    ));
}
