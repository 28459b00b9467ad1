//! Each validator rule, tested through `Validator` with a `ManualClock`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use otpfob::{
    Acceptance, DriftingClock, Enrolment, Hotp, HotpParameters, Keyring, ManualClock, MemoryStore,
    OtpParameters, Policy, RejectReason, Rejected, SealingKey, Secret, StoreError, TimeSource,
    TokenId, Totp, TotpParameters, UnixTime, Validator, ValidatorError,
    clock::{Drift, OffsetClock},
    validator::{
        AuditEvent, AuditLog, AuditSink, Lockout, Operation, Outcome, PinHashing, Status, Store,
        Swap, TokenKind, TokenRecord,
    },
};

const START: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn keyring() -> Keyring {
    Keyring::new(SealingKey::new(1, &[9; 32]).unwrap())
}

fn secret() -> Secret {
    Secret::from_bytes(b"12345678901234567890").unwrap()
}

fn id() -> TokenId {
    TokenId::new("FOB-000001").unwrap()
}

struct Bank {
    clock: ManualClock,
    validator: Validator<MemoryStore, ManualClock>,
    totp: Totp,
    hotp: Hotp,
}

fn bank_with(policy: Policy, kind: fn() -> OtpParameters, pin: Option<&str>) -> Bank {
    let clock = ManualClock::at_secs(START);
    let validator = Validator::new(MemoryStore::new(), clock.clone(), keyring())
        .with_policy(policy)
        .unwrap()
        .with_pin_hashing(PinHashing::insecure_fast_for_tests())
        .unwrap();
    let enrolment = Enrolment::new(id(), secret(), kind());
    validator
        .enrol(match pin {
            Some(pin) => enrolment.with_pin(pin),
            None => enrolment,
        })
        .unwrap();
    Bank {
        clock,
        validator,
        totp: Totp::new(&secret(), TotpParameters::default()).unwrap(),
        hotp: Hotp::new(&secret(), HotpParameters::default()).unwrap(),
    }
}

/// Enrols the test fob (`id()`, `secret()`, a time token synced now) in `validator`.
fn enrol_the_fob<S: Store>(validator: &Validator<S, ManualClock>) {
    validator
        .enrol(Enrolment::new(id(), secret(), time_kind()))
        .unwrap();
}

fn time_kind() -> OtpParameters {
    TotpParameters::default().into()
}

fn event_kind() -> OtpParameters {
    HotpParameters::default().into()
}

fn time_bank() -> Bank {
    bank_with(Policy::default(), time_kind, None)
}

impl Bank {
    /// The code a perfect clock shows now, plus `steps`.
    fn code(&self, steps: i64) -> String {
        let seconds = self.clock.now().as_secs() + steps * 30;
        self.totp.at(seconds as u64).unwrap().to_string()
    }

    fn verify(&self, code: &str) -> Result<Acceptance, Rejected> {
        self.validator.verify(&id(), code, None)
    }

    fn reason(&self, code: &str) -> RejectReason {
        self.verify(code).unwrap_err().reason()
    }

    fn advance(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }
}

/// A cost Argon2 refuses is refused when the validator is built, not by every
/// verification with a PIN once it is in service.
#[test]
fn a_pin_hashing_cost_argon2_refuses_is_refused_at_once() {
    let mut hashing = PinHashing::insecure_fast_for_tests();
    hashing.memory_kib = 0;
    assert!(hashing.validate().is_err());
    let built = Validator::new(
        MemoryStore::new(),
        ManualClock::at_secs(1_767_225_600),
        Keyring::new(SealingKey::new(1, &[3; 32]).unwrap()),
    )
    .with_pin_hashing(hashing);
    assert!(matches!(built, Err(ValidatorError::Pin { .. })));
    let mut hashing = PinHashing::insecure_fast_for_tests();
    hashing.iterations = 0;
    assert!(hashing.validate().is_err());
    assert!(PinHashing::default().validate().is_ok());
}

#[test]
fn a_current_code_is_accepted_once() {
    let bank = time_bank();
    let code = bank.code(0);
    assert_eq!(bank.verify(&code).unwrap().offset, 0);
    assert_eq!(bank.reason(&code), RejectReason::Replayed);
    // Still a replay later in the same step and in the next one.
    bank.advance(20);
    assert_eq!(bank.reason(&code), RejectReason::Replayed);
}

#[test]
fn a_step_before_the_last_accepted_one_is_spent() {
    let bank = time_bank();
    let previous = bank.code(-1);
    assert!(bank.verify(&bank.code(0)).is_ok());
    assert_eq!(bank.reason(&previous), RejectReason::Replayed);
}

#[test]
fn the_window_is_one_step_each_way() {
    let bank = bank_with(
        {
            let mut policy = Policy::default();
            policy.drift_tolerance_ppm = 0;
            policy
        },
        time_kind,
        None,
    );
    assert_eq!(bank.reason(&bank.code(2)), RejectReason::WrongCode);
    assert_eq!(bank.reason(&bank.code(-2)), RejectReason::WrongCode);
    assert_eq!(bank.verify(&bank.code(-1)).unwrap().offset, -1);
    // The learned drift is now -1: the window is two steps back to now.
    bank.advance(90);
    assert_eq!(bank.reason(&bank.code(1)), RejectReason::WrongCode);
    assert_eq!(bank.verify(&bank.code(0)).unwrap().offset, 0);
    bank.advance(30);
    assert_eq!(bank.verify(&bank.code(1)).unwrap().offset, 1);
}

#[test]
fn hotp_looks_ahead_and_moves_the_counter_past_the_match() {
    let bank = bank_with(Policy::default(), event_kind, None);
    let code = |counter| bank.hotp.at(counter).to_string();
    let accepted = bank.verify(&code(5)).unwrap();
    assert_eq!((accepted.position, accepted.offset), (5, 5));
    // Counters up to 5 are spent; 6 is next.
    assert_eq!(bank.reason(&code(5)), RejectReason::WrongCode);
    assert_eq!(bank.reason(&code(3)), RejectReason::WrongCode);
    assert_eq!(bank.verify(&code(6)).unwrap().offset, 0);
    // Beyond the look-ahead of 10 after the next counter (7): not found.
    assert_eq!(bank.reason(&code(18)), RejectReason::WrongCode);
    assert_eq!(bank.verify(&code(17)).unwrap().offset, 10);
}

#[test]
fn drift_is_learned_and_the_window_follows_it() {
    // A fob 2.5 steps ahead: outside ±1 at first, then found by a resync, after which
    // the window is centred on its offset.
    let bank = bank_with(
        {
            let mut policy = Policy::default();
            policy.drift_tolerance_ppm = 0;
            policy
        },
        time_kind,
        None,
    );
    let fob = OffsetClock::ahead(bank.clock.clone(), Duration::from_secs(75));
    let fob_code = |bank: &Bank| bank.totp.now(&fob).unwrap().to_string();
    assert_eq!(bank.reason(&fob_code(&bank)), RejectReason::WrongCode);
    let first = fob_code(&bank);
    bank.advance(30);
    let second = fob_code(&bank);
    let resynced = bank.validator.resync(&id(), &first, &second, None).unwrap();
    assert!((2..=3).contains(&resynced.offset), "{resynced:?}");
    for _ in 0..20 {
        bank.advance(3_600);
        assert!(bank.verify(&fob_code(&bank)).is_ok());
    }
    let Some(state) = bank.validator.state(&id()).unwrap() else {
        panic!("enrolled")
    };
    let TokenKind::Time { drift_steps, .. } = state.kind else {
        panic!("a time token")
    };
    assert!((2..=3).contains(&drift_steps), "{drift_steps}");
}

/// A fob whose crystal runs 12 ppm fast, used once a quarter for five years: learned
/// drift and the drift tolerance keep every login working, and without them the fob
/// falls out of the window within the first year.
#[test]
fn a_drifting_fob_stays_in_the_window_for_years() {
    let quarter = 91 * 86_400;
    for learning in [true, false] {
        let policy = if learning {
            Policy::default()
        } else {
            {
                let mut policy = Policy::default();
                policy.learn_drift = false;
                policy.drift_tolerance_ppm = 0;
                policy
            }
        };
        let bank = bank_with(policy, time_kind, None);
        let fob = DriftingClock::new(
            bank.clock.clone(),
            bank.clock.now(),
            Drift::from_ppm(12.0).unwrap(),
        );
        let mut accepted = 0;
        for _ in 0..20 {
            bank.advance(quarter);
            let code = bank.totp.now(&fob).unwrap().to_string();
            if bank.verify(&code).is_ok() {
                accepted += 1;
            }
        }
        if learning {
            assert_eq!(accepted, 20);
        } else {
            assert!(accepted < 10, "{accepted} accepted without learning");
        }
    }
}

#[test]
fn resync_needs_two_consecutive_codes_and_spends_both() {
    let bank = bank_with(Policy::default(), event_kind, None);
    let code = |counter: u64| bank.hotp.at(counter).to_string();
    // The customer pressed the button 200 times in a pocket.
    assert_eq!(bank.reason(&code(200)), RejectReason::WrongCode);
    assert_eq!(
        bank.validator
            .resync(&id(), &code(200), &code(202), None)
            .unwrap_err()
            .reason(),
        RejectReason::ResyncFailed
    );
    let resynced = bank
        .validator
        .resync(&id(), &code(201), &code(202), None)
        .unwrap();
    assert_eq!(resynced.position, 202);
    assert_eq!(bank.reason(&code(201)), RejectReason::WrongCode);
    assert_eq!(bank.reason(&code(202)), RejectReason::WrongCode);
    assert!(bank.verify(&code(203)).is_ok());
    // Beyond the resync window of 1000: refused.
    assert_eq!(
        bank.validator
            .resync(&id(), &code(1300), &code(1301), None)
            .unwrap_err()
            .reason(),
        RejectReason::ResyncFailed
    );
}

#[test]
fn time_resync_spends_both_codes() {
    let bank = time_bank();
    let fob = OffsetClock::behind(bank.clock.clone(), Duration::from_secs(600));
    let first = bank.totp.now(&fob).unwrap().to_string();
    bank.advance(30);
    let second = bank.totp.now(&fob).unwrap().to_string();
    let resynced = bank.validator.resync(&id(), &first, &second, None).unwrap();
    assert_eq!(resynced.offset, -20);
    assert_eq!(bank.reason(&first), RejectReason::Replayed);
    assert_eq!(bank.reason(&second), RejectReason::Replayed);
    bank.advance(30);
    assert!(
        bank.verify(&bank.totp.now(&fob).unwrap().to_string())
            .is_ok()
    );
}

#[test]
fn ten_failures_lock_until_unlocked_and_locked_answers_look_the_same() {
    let bank = time_bank();
    for attempt in 1..=10 {
        let rejected = bank.verify("000000").unwrap_err();
        assert_eq!(rejected.to_string(), "code rejected", "attempt {attempt}");
    }
    let right = bank.code(0);
    let locked = bank.verify(&right).unwrap_err();
    assert_eq!(locked.reason(), RejectReason::Locked);
    assert_eq!(locked.to_string(), "code rejected");
    assert_eq!(bank.reason("000000"), RejectReason::Locked);
    // Locked attempts are not counted and change nothing.
    assert_eq!(bank.validator.state(&id()).unwrap().unwrap().failures, 10);
    bank.advance(86_400 * 30);
    assert_eq!(bank.reason(&bank.code(0)), RejectReason::Locked);
    bank.validator.unlock(&id()).unwrap();
    assert!(bank.verify(&bank.code(0)).is_ok());
    assert_eq!(bank.validator.state(&id()).unwrap().unwrap().failures, 0);
}

#[test]
fn a_success_resets_the_failure_count() {
    let bank = time_bank();
    for _ in 0..9 {
        let _ = bank.verify("000000");
    }
    assert!(bank.verify(&bank.code(0)).is_ok());
    bank.advance(30);
    for _ in 0..9 {
        let _ = bank.verify("000000");
    }
    assert!(bank.verify(&bank.code(0)).is_ok());
}

#[test]
fn a_backoff_lock_ends_by_itself_and_grows() {
    let bank = bank_with(
        {
            let mut policy = Policy::default();
            policy.failure_limit = 3;
            policy.lockout = Lockout::Backoff {
                initial: Duration::from_secs(60),
                maximum: Duration::from_secs(3_600),
            };
            policy
        },
        time_kind,
        None,
    );
    for _ in 0..3 {
        let _ = bank.verify("000000");
    }
    assert_eq!(bank.reason(&bank.code(0)), RejectReason::Locked);
    bank.advance(61);
    // The lock has run out; one more failure locks again for twice as long.
    assert_eq!(bank.reason("000000"), RejectReason::WrongCode);
    bank.advance(61);
    assert_eq!(bank.reason(&bank.code(0)), RejectReason::Locked);
    bank.advance(60);
    assert!(bank.verify(&bank.code(0)).is_ok());
}

#[test]
fn malformed_input_counts_as_a_failure() {
    let bank = time_bank();
    for bad in [
        "",
        "12345",
        "1234567",
        "12a456",
        "123 4 56",
        "١٢٣٤٥٦",
        " 12 345 ",
    ] {
        assert_eq!(bank.reason(bad), RejectReason::Malformed, "{bad:?}");
    }
    assert_eq!(bank.validator.state(&id()).unwrap().unwrap().failures, 7);
    // White space around a code, as web forms send it, is not a failure.
    assert!(bank.verify(&format!(" {}\n", bank.code(0))).is_ok());
}

#[test]
fn the_server_pin_is_checked_and_a_wrong_one_is_a_failure() {
    let bank = bank_with(Policy::default(), time_kind, Some("2468"));
    let code = bank.code(0);
    let wrong = bank
        .validator
        .verify(&id(), &code, Some("1357"))
        .unwrap_err();
    assert_eq!(wrong.reason(), RejectReason::WrongPin);
    assert_eq!(wrong.to_string(), "code rejected");
    let missing = bank.validator.verify(&id(), &code, None).unwrap_err();
    assert_eq!(missing.reason(), RejectReason::WrongPin);
    assert_eq!(bank.validator.state(&id()).unwrap().unwrap().failures, 2);
    // The wrong PIN did not spend the code.
    assert!(bank.validator.verify(&id(), &code, Some("2468")).is_ok());
    // A PIN given for a token without one is refused too.
    bank.validator.set_pin(&id(), None).unwrap();
    bank.advance(30);
    let code = bank.code(0);
    assert_eq!(
        bank.validator
            .verify(&id(), &code, Some("2468"))
            .unwrap_err()
            .reason(),
        RejectReason::WrongPin
    );
    assert!(bank.validator.verify(&id(), &code, None).is_ok());
}

#[test]
fn a_disabled_token_rejects_everything_until_enabled() {
    let bank = time_bank();
    bank.validator.disable(&id()).unwrap();
    assert_eq!(
        bank.validator.state(&id()).unwrap().unwrap().status,
        Status::Disabled
    );
    assert_eq!(bank.reason(&bank.code(0)), RejectReason::Disabled);
    bank.validator.enable(&id()).unwrap();
    assert!(bank.verify(&bank.code(0)).is_ok());
}

#[test]
fn unknown_tokens_and_clocks_before_t0_are_rejected() {
    let bank = time_bank();
    let stranger = TokenId::new("nobody").unwrap();
    assert_eq!(
        bank.validator
            .verify(&stranger, "123456", None)
            .unwrap_err()
            .reason(),
        RejectReason::UnknownToken
    );
    bank.clock.set(UnixTime::from_secs(-100));
    assert_eq!(bank.reason("123456"), RejectReason::ClockBeforeT0);
}

/// A code for an unknown token is written to the trail like any other rejection: the
/// store write it costs is what a wrong code for a known token costs, so the time of
/// the answer does not tell which ids are enrolled, and the trail shows who probed.
#[test]
fn a_code_for_an_unknown_token_is_audited_like_any_rejection() {
    let bank = time_bank();
    let stranger = TokenId::new("nobody").unwrap();
    let rejected = otpfob::validator::acting_as("prober".into(), || {
        bank.validator.verify(&stranger, "123456", None)
    });
    assert_eq!(rejected.unwrap_err().reason(), RejectReason::UnknownToken);
    let trail = bank.validator.store().audit_trail(&stranger, 10).unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(
        trail[0].outcome,
        Outcome::Rejected(RejectReason::UnknownToken)
    );
    assert_eq!(trail[0].actor.as_deref(), Some("prober"));
}

#[test]
fn enrolment_refuses_bad_input() {
    let bank = time_bank();
    let again = bank
        .validator
        .enrol(Enrolment::new(id(), secret(), time_kind()));
    assert!(matches!(
        again,
        Err(otpfob::ValidatorError::Store(
            StoreError::AlreadyEnrolled { .. }
        ))
    ));
    let bad_digits = bank.validator.enrol(Enrolment::new(
        TokenId::new("other").unwrap(),
        secret(),
        HotpParameters {
            digits: 4,
            ..HotpParameters::default()
        },
    ));
    assert!(matches!(
        bad_digits,
        Err(otpfob::ValidatorError::Parameters(_))
    ));
    let bad_pin = bank.validator.enrol(
        Enrolment::new(TokenId::new("third").unwrap(), secret(), time_kind()).with_pin("12"),
    );
    assert!(matches!(bad_pin, Err(otpfob::ValidatorError::Pin { .. })));
}

#[test]
fn seeds_are_sealed_and_can_be_resealed_under_a_new_key() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::at_secs(START);
    let old = Validator::new(Arc::clone(&store), clock.clone(), keyring());
    enrol_the_fob(&old);
    let record = store.load(&id()).unwrap().unwrap();
    assert!(
        !record
            .sealed_secret
            .ciphertext
            .windows(20)
            .any(|window| window == secret().expose_bytes())
    );

    let rotated_keys = Keyring::new(SealingKey::new(2, &[3; 32]).unwrap())
        .with_previous(SealingKey::new(1, &[9; 32]).unwrap())
        .unwrap();
    let rotated = Validator::new(Arc::clone(&store), clock.clone(), rotated_keys);
    assert_eq!(rotated.reseal_all().unwrap(), 1);
    assert_eq!(rotated.reseal_all().unwrap(), 0);
    assert_eq!(store.load(&id()).unwrap().unwrap().sealed_secret.key_id, 2);

    let totp = Totp::new(&secret(), TotpParameters::default()).unwrap();
    // The old key alone no longer checks the record (MACed under key 2) nor opens the
    // seed: fail closed.
    let code = totp.now(&clock).unwrap().to_string();
    assert_eq!(
        old.verify(&id(), &code, None).unwrap_err().reason(),
        RejectReason::RecordTampered
    );
    assert!(rotated.verify(&id(), &code, None).is_ok());
}

#[test]
fn a_record_moved_to_another_token_id_does_not_open() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::at_secs(START);
    let validator = Validator::new(Arc::clone(&store), clock.clone(), keyring());
    enrol_the_fob(&validator);
    // An attacker with write access to the store copies the victim's sealed seed
    // onto their own token record.
    let mut stolen = store.load(&id()).unwrap().unwrap();
    stolen.id = TokenId::new("attacker").unwrap();
    store.enrol(&stolen, &enrol_event(&stolen.id)).unwrap();
    let code = Totp::new(&secret(), TotpParameters::default())
        .unwrap()
        .now(&clock)
        .unwrap()
        .to_string();
    // The record's MAC covers the id: refused before the seal is tried.
    assert_eq!(
        validator
            .verify(&stolen.id, &code, None)
            .unwrap_err()
            .reason(),
        RejectReason::RecordTampered
    );
    // And were the MAC forged too, the seal, bound to the victim's id, does not open.
    let forged = TokenId::new("forged").unwrap();
    let mut copied = store.load(&id()).unwrap().unwrap();
    copied.id = forged.clone();
    copied.mac = Some(keyring().authenticate_record(&copied).unwrap());
    store.enrol(&copied, &enrol_event(&forged)).unwrap();
    assert_eq!(
        validator.verify(&forged, &code, None).unwrap_err().reason(),
        RejectReason::SealBroken
    );
}

fn enrol_event(token: &TokenId) -> AuditEvent {
    AuditEvent {
        token: token.clone(),
        at: UnixTime::from_secs(START),
        operation: Operation::Enrol,
        outcome: Outcome::Done,
        offset: None,
        actor: None,
        context: Default::default(),
        reason: None,
        chain: None,
    }
}

/// A store that works until told to fail, then fails every call.
#[derive(Debug, Default)]
struct FlakyStore {
    inner: MemoryStore,
    failing: Mutex<bool>,
    always_conflict: Mutex<bool>,
}

impl FlakyStore {
    fn check(&self) -> Result<(), StoreError> {
        if *self.failing.lock().unwrap() {
            Err(StoreError::Backend {
                reason: "connection refused".into(),
            })
        } else {
            Ok(())
        }
    }
}

impl Store for FlakyStore {
    fn enrol(&self, record: &TokenRecord, audit: &AuditEvent) -> Result<(), StoreError> {
        self.check()?;
        self.inner.enrol(record, audit)
    }
    fn load(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        self.check()?;
        self.inner.load(id)
    }
    fn compare_and_swap(
        &self,
        record: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<Swap, StoreError> {
        self.check()?;
        if *self.always_conflict.lock().unwrap() {
            return Ok(Swap::Conflict);
        }
        self.inner.compare_and_swap(record, expected_version, audit)
    }
    fn delete(&self, id: &TokenId, audit: &AuditEvent) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.delete(id, audit)
    }
    fn list(&self) -> Result<Vec<TokenId>, StoreError> {
        self.check()?;
        self.inner.list()
    }
    fn record_rejection(
        &self,
        probe: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner.record_rejection(probe, expected_version, audit)
    }
    fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.check()?;
        self.inner.append_audit(event)
    }
    fn audit_trail(&self, id: &TokenId, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.audit_trail(id, limit)
    }
}

#[test]
fn store_failures_and_endless_conflicts_reject() {
    let store = Arc::new(FlakyStore::default());
    let clock = ManualClock::at_secs(START);
    let validator = Validator::new(Arc::clone(&store), clock.clone(), keyring());
    enrol_the_fob(&validator);
    let totp = Totp::new(&secret(), TotpParameters::default()).unwrap();
    let code = totp.now(&clock).unwrap().to_string();

    *store.failing.lock().unwrap() = true;
    assert_eq!(
        validator.verify(&id(), &code, None).unwrap_err().reason(),
        RejectReason::StoreFailure
    );
    *store.failing.lock().unwrap() = false;
    *store.always_conflict.lock().unwrap() = true;
    assert_eq!(
        validator.verify(&id(), &code, None).unwrap_err().reason(),
        RejectReason::Contention
    );
    assert!(validator.unlock(&id()).is_err());
    *store.always_conflict.lock().unwrap() = false;
    // Nothing was spent by the failed attempts.
    assert!(validator.verify(&id(), &code, None).is_ok());
}

#[test]
fn every_decision_is_audited_without_codes() {
    let log = Arc::new(AuditLog::new(100));
    struct Shared(Arc<AuditLog>);
    impl AuditSink for Shared {
        fn record(&self, event: &AuditEvent) {
            self.0.record(event);
        }
    }
    let clock = ManualClock::at_secs(START);
    let validator = Validator::new(MemoryStore::new(), clock.clone(), keyring())
        .with_audit_sink(Shared(Arc::clone(&log)));
    enrol_the_fob(&validator);
    let totp = Totp::new(&secret(), TotpParameters::default()).unwrap();
    let code = totp.now(&clock).unwrap().to_string();
    validator.verify(&id(), &code, None).unwrap();
    let _ = validator.verify(&id(), &code, None);
    let _ = validator.verify(&id(), "999999", None);
    let outcomes: Vec<_> = log
        .all()
        .iter()
        .map(|event| (event.operation, event.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            (Operation::Enrol, Outcome::Done),
            (Operation::Verify, Outcome::Accepted),
            (Operation::Verify, Outcome::Rejected(RejectReason::Replayed)),
            (
                Operation::Verify,
                Outcome::Rejected(RejectReason::WrongCode)
            ),
        ]
    );
    assert_eq!(log.all()[1].offset, Some(0));
    // The store keeps the same trail.
    assert_eq!(validator.store().audit_trail(&id(), 10).unwrap(), log.all());
    let printed = format!("{:?}", log.all());
    assert!(
        !printed.contains(&code) && !printed.contains("999999"),
        "{printed}"
    );
}

#[test]
fn deleted_tokens_are_gone() {
    let bank = time_bank();
    bank.validator.delete(&id()).unwrap();
    assert_eq!(bank.reason(&bank.code(0)), RejectReason::UnknownToken);
    assert!(bank.validator.delete(&id()).is_err());
}

#[test]
fn a_re_enrolled_token_never_uses_the_old_cached_secret() {
    let bank = time_bank();
    assert!(bank.verify(&bank.code(0)).is_ok());
    bank.validator.delete(&id()).unwrap();
    let replacement = Secret::from_bytes(b"another secret, another fob").unwrap();
    bank.validator
        .enrol(Enrolment::new(id(), replacement.clone(), time_kind()))
        .unwrap();
    bank.advance(30);
    assert_eq!(bank.reason(&bank.code(0)), RejectReason::WrongCode);
    let new_totp = Totp::new(&replacement, TotpParameters::default()).unwrap();
    let code = new_totp.now(&bank.clock).unwrap().to_string();
    assert!(bank.verify(&code).is_ok());
}
