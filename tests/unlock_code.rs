//! Issue 14, item 4: the bank answers a locked fob's unlock challenge from the unlock
//! key it sealed when it enrolled the fob's factory record; the factory record itself
//! is gone by then.

use std::sync::Arc;

use otpfob::device::{DeviceState, UnlockChallenge};
use otpfob::validator::{AuditReason, Operation, Outcome, Store, acting_as, giving_reason};
use otpfob::{
    Device, Enrolment, KeyFob, Keyring, ManualClock, MemoryStore, SealingKey, Secret, StoreError,
    TokenId, TotpParameters, Validator, ValidatorError,
};

const START: i64 = 1_767_225_600;

fn bank(clock: &ManualClock) -> Validator<MemoryStore, ManualClock> {
    Validator::new(
        MemoryStore::new(),
        clock.clone(),
        Keyring::new(SealingKey::new(1, &[9; 32]).unwrap()),
    )
}

/// A fob with PIN 2468 enrolled from its factory record, which is then dropped.
fn enrolled_fob(
    bank: &Validator<MemoryStore, ManualClock>,
    clock: &ManualClock,
) -> (KeyFob<ManualClock>, TokenId) {
    let (fob, record) = KeyFob::builder("OTPF-0000000042", TotpParameters::default())
        .pin("2468")
        .build(clock.clone())
        .unwrap();
    let id = bank.enrol(Enrolment::from(&record)).unwrap();
    (fob, id)
}

fn lock(fob: &mut KeyFob<ManualClock>) {
    for _ in 0..3 {
        let _ = fob.enter_pin("0000");
    }
    assert_eq!(fob.state(), DeviceState::Locked);
}

#[test]
fn the_code_the_bank_gives_unlocks_the_fob_and_the_request_is_audited() {
    let clock = ManualClock::at_secs(START);
    let bank = bank(&clock);
    let (mut fob, id) = enrolled_fob(&bank, &clock);
    lock(&mut fob);
    let challenge = fob.unlock_challenge().unwrap();
    let reason = AuditReason::new("customer called, identified by passport").unwrap();
    let answer = acting_as(Arc::from("helpdesk:carol"), || {
        giving_reason(reason.clone(), || bank.unlock_code(&id, &challenge))
    })
    .unwrap();
    assert_eq!(answer.digits(), 8);
    // A wrong answer moves the fob to a new challenge, so the right one is checked
    // first, on the challenge it answers.
    fob.unlock(&answer, "1357").unwrap();
    fob.enter_pin("1357").unwrap();
    assert!(fob.press().is_ok());

    let trail = bank.store().audit_trail(&id, 1).unwrap();
    let event = &trail[0];
    assert_eq!(event.operation, Operation::UnlockCode);
    assert_eq!(event.outcome, Outcome::Done);
    assert_eq!(event.actor.as_deref(), Some("helpdesk:carol"));
    assert_eq!(event.reason.as_ref(), Some(&reason));
    assert!(event.chain.is_some(), "chained like every admin event");
    let text = format!("{event:?}");
    for secret in [answer.to_string(), challenge.to_string()] {
        assert!(!text.contains(&secret), "{secret} in {text}");
    }
    assert!(bank.verify_audit_chain(&id).unwrap().is_intact());
    // The bank's own state of the token is not touched: the fob's lock is the fob's.
    let state = bank.state(&id).unwrap().unwrap();
    assert_eq!(state.failures, 0);
}

#[test]
fn an_answer_for_another_challenge_does_not_unlock() {
    let clock = ManualClock::at_secs(START);
    let bank = bank(&clock);
    let (mut fob, id) = enrolled_fob(&bank, &clock);
    lock(&mut fob);
    let shown = fob.unlock_challenge().unwrap();
    let other: UnlockChallenge = if shown.to_string() == "00000000" {
        "00000001"
    } else {
        "00000000"
    }
    .parse()
    .unwrap();
    let wrong = bank.unlock_code(&id, &other).unwrap();
    assert_ne!(wrong, bank.unlock_code(&id, &shown).unwrap());
    assert!(fob.unlock(&wrong, "1357").is_err());
    assert_eq!(fob.state(), DeviceState::Locked);
}

#[test]
fn tokens_without_an_unlock_key_unknown_lost_and_revoked_tokens_get_typed_errors() {
    let clock = ManualClock::at_secs(START);
    let bank = bank(&clock);
    let challenge: UnlockChallenge = "12345678".parse().unwrap();
    let soft = bank
        .enrol(Enrolment::new(
            TokenId::new("alice-phone").unwrap(),
            Secret::from_bytes(b"12345678901234567890").unwrap(),
            TotpParameters::default(),
        ))
        .unwrap();
    assert!(matches!(
        bank.unlock_code(&soft, &challenge),
        Err(ValidatorError::NoUnlockKey { ref token }) if token == "alice-phone"
    ));
    // Refused before anything is written: no event, the record's version unchanged.
    assert_eq!(bank.store().load(&soft).unwrap().unwrap().version, 1);
    assert!(matches!(
        bank.unlock_code(&TokenId::new("nobody").unwrap(), &challenge),
        Err(ValidatorError::Store(StoreError::NotEnrolled { .. }))
    ));
    let (_fob, fob_id) = enrolled_fob(&bank, &clock);
    // A fob reported lost may be in a thief's hands: no unlock code until it is found.
    bank.report_lost(&fob_id).unwrap();
    assert!(matches!(
        bank.unlock_code(&fob_id, &challenge),
        Err(ValidatorError::Lifecycle { reason, .. }) if reason.contains("lost")
    ));
    bank.report_found(&fob_id).unwrap();
    assert!(bank.unlock_code(&fob_id, &challenge).is_ok());
    bank.revoke(&fob_id).unwrap();
    assert!(matches!(
        bank.unlock_code(&fob_id, &challenge),
        Err(ValidatorError::Lifecycle { .. })
    ));
}

#[test]
fn an_explicit_unlock_key_is_kept_and_debug_never_shows_it() {
    let clock = ManualClock::at_secs(START);
    let bank = bank(&clock);
    let unlock_key = Secret::from_bytes(&[0x42; 32]).unwrap();
    let enrolment = Enrolment::new(
        TokenId::new("FOB-7").unwrap(),
        Secret::from_bytes(b"12345678901234567890").unwrap(),
        TotpParameters::default(),
    )
    .with_unlock_key(unlock_key.clone());
    assert!(enrolment.has_unlock_key());
    let text = format!("{enrolment:?}");
    assert!(!text.contains("4242") && !text.contains("66, 66"), "{text}");
    let id = bank.enrol(enrolment).unwrap();
    let challenge: UnlockChallenge = "12345678".parse().unwrap();
    assert_eq!(
        bank.unlock_code(&id, &challenge).unwrap(),
        otpfob::device::unlock_code(&unlock_key, &challenge)
    );
    // Sealed at rest: the key's bytes are not in the stored record.
    let stored = bank.store().load(&id).unwrap().unwrap();
    let sealed = stored.unlock_key.unwrap();
    assert!(
        !sealed
            .ciphertext
            .windows(8)
            .any(|window| window == [0x42; 8])
    );
}
