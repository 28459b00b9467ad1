//! One suite of tests that every `Store` implementation must pass, run against each.
//!
//! Each function takes a factory for a fresh, empty store. The macro at the bottom
//! instantiates the suite for every store built with the current features.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use otpfob::{
    Algorithm, Enrolment, HotpParameters, Keyring, ManualClock, RejectReason, SealingKey, Secret,
    StoreError, TokenId, Totp, TotpParameters, UnixTime, Validator,
    ocra::{Currency, OcraSuite, SigningNonce, Transaction},
    validator::{
        AuditEvent, ChallengeSlot, CustomerRef, Incarnation, IssuedChallenge, Lock, OcraState,
        Operation, Outcome, PinHashing, Status, Store, Swap, TokenKind, TokenRecord, TokenState,
        TransactionCommitment, Validity,
    },
};

fn keyring() -> Keyring {
    Keyring::new(SealingKey::new(1, &[7; 32]).unwrap())
}

fn id(text: &str) -> TokenId {
    TokenId::new(text).unwrap()
}

fn event(token: &TokenId, operation: Operation, outcome: Outcome) -> AuditEvent {
    AuditEvent {
        token: token.clone(),
        at: UnixTime::from_nanos(1_700_000_000_123_456_789),
        operation,
        outcome,
        offset: Some(-1),
        actor: None,
        context: Default::default(),
        reason: None,
        chain: None,
    }
}

fn time_record(token: &str) -> TokenRecord {
    let token = id(token);
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    TokenRecord {
        sealed_secret: keyring().seal(&token, &secret).unwrap(),
        id: token,
        pin: Some(PinHashing::insecure_fast_for_tests().hash("2468").unwrap()),
        ocra_pin: None,
        unlock_key: None,
        state: TokenState {
            kind: TokenKind::Time {
                parameters: TotpParameters {
                    algorithm: Algorithm::Sha256,
                    digits: 8,
                    time_step: 60,
                    t0: 17,
                },
                last_accepted_step: Some(u64::MAX - 3),
                drift_steps: -42,
                synced_at: UnixTime::from_nanos(-5),
            },
            failures: 3,
            lockouts: 1,
            lock: Lock::Until {
                until: UnixTime::from_secs(20_000_000_000),
            },
            status: Status::Disabled,
            validity: Validity::ALWAYS,
            uses_left: Some(7),
            ocra: None,
        },
        enrolled_at: UnixTime::from_nanos(1_600_000_000_000_000_001),
        incarnation: Incarnation::generate().unwrap(),
        version: 1,
        owner: None,
        mac: None,
        audit_head: None,
        replaces: None,
    }
}

fn event_record(token: &str) -> TokenRecord {
    let token = id(token);
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    TokenRecord {
        sealed_secret: keyring().seal(&token, &secret).unwrap(),
        id: token,
        pin: None,
        ocra_pin: None,
        unlock_key: None,
        state: TokenState {
            kind: TokenKind::event(
                HotpParameters {
                    algorithm: Algorithm::Sha512,
                    digits: 10,
                },
                u64::MAX,
            ),
            failures: 0,
            lockouts: 0,
            lock: Lock::UntilUnlocked {
                since: UnixTime::from_secs(5),
            },
            status: Status::Active,
            validity: Validity::ALWAYS,
            uses_left: None,
            ocra: None,
        },
        enrolled_at: UnixTime::EPOCH,
        incarnation: Incarnation::generate().unwrap(),
        version: 1,
        owner: None,
        mac: None,
        audit_head: None,
        replaces: None,
    }
}

/// A keypad token in each challenge state, with every OCRA part the row codec stores:
/// counter and PIN hash at the edges of their ranges, a signature challenge, a login
/// challenge, a spent and an empty slot.
fn ocra_records(token: &str) -> Vec<TokenRecord> {
    let full: OcraSuite = "OCRA-1:HOTP-SHA512-8:C-QN08-PSHA256-T1M".parse().unwrap();
    let plain: OcraSuite = "OCRA-1:HOTP-SHA1-6:QA10".parse().unwrap();
    let transfer = Transaction::new(
        125_000,
        Currency::new("EUR").unwrap(),
        "DE89370400440532013000",
        Some("Invoice 2024-117"),
    )
    .unwrap();
    let nonce = SigningNonce::from_bytes([0xa5; 16]);
    let signature = ChallengeSlot::Open(IssuedChallenge {
        challenge: transfer.signature_challenge(&full, &nonce),
        expires_at: UnixTime::from_nanos(1_767_225_900_000_000_007),
        transaction: Some(TransactionCommitment::new(&transfer, nonce)),
    });
    let login = ChallengeSlot::Open(IssuedChallenge {
        challenge: otpfob::ocra::Challenge::generate(plain.question()).unwrap(),
        expires_at: UnixTime::from_secs(-1),
        transaction: None,
    });
    let cases = [
        (full, signature, u64::MAX - 1),
        (plain, login, 0),
        (full, ChallengeSlot::Spent, 0),
        (plain, ChallengeSlot::Empty, 7),
    ];
    cases
        .into_iter()
        .enumerate()
        .map(|(index, (suite, challenge, counter))| {
            let mut record = time_record(&format!("{token}-{index}"));
            record.ocra_pin = suite.pin_hash().map(|_| {
                keyring()
                    .seal_ocra_pin_hash(&record.id, &[0x71; 32])
                    .unwrap()
            });
            record.state.ocra = Some(Box::new(OcraState {
                challenge,
                drift_steps: i64::MIN,
                synced_at: UnixTime::from_nanos(-1_500_000_000),
                ..OcraState::new(suite, counter, UnixTime::EPOCH)
            }));
            record
        })
        .collect()
}

fn ocra_records_round_trip<S: Store>(store: S) {
    for record in ocra_records("keypad") {
        store
            .enrol(&record, &event(&record.id, Operation::Enrol, Outcome::Done))
            .unwrap();
        assert_eq!(store.load(&record.id).unwrap(), Some(record.clone()));
        // Spending the challenge and moving the counter go through the same swap.
        let mut next = record.clone();
        let keypad = next.state.ocra.as_mut().unwrap();
        keypad.challenge = ChallengeSlot::Spent;
        keypad.next_counter = keypad.next_counter.map(|counter| counter + 1);
        keypad.drift_steps = 3;
        next.version = 2;
        let audit = event(&record.id, Operation::VerifySignature, Outcome::Accepted);
        assert_eq!(
            store.compare_and_swap(&next, 1, &audit).unwrap(),
            Swap::Swapped
        );
        assert_eq!(store.load(&record.id).unwrap(), Some(next.clone()));
        // And back to a keypad-less record: every OCRA column is cleared.
        let mut plain = next.clone();
        plain.state.ocra = None;
        plain.ocra_pin = None;
        plain.version = 3;
        assert_eq!(
            store.compare_and_swap(&plain, 2, &audit).unwrap(),
            Swap::Swapped
        );
        assert_eq!(store.load(&record.id).unwrap(), Some(plain));
    }
    let trail = store.audit_trail(&id("keypad-0"), 10).unwrap();
    assert_eq!(trail[1].operation, Operation::VerifySignature);
}

/// EMV-CAP cards: every field of the card (both session key derivations, a bitmap and
/// flags other than the defaults, a subset of modes, the look-ahead, the ATC up to its
/// end) comes back as written, and the swap moves the ATC.
#[cfg(feature = "emv-cap")]
fn cap_records_round_trip<S: Store>(store: S) {
    use otpfob::emv::{
        CapModes, CardProfile, IssuerAuthenticationFlags, IssuerProprietaryBitmap,
        SessionKeyDerivation,
    };
    use otpfob::validator::{ATC_END, CapCard};
    let mut mastercard = CardProfile::new("5413330089020011", 3, (2031, 2)).unwrap();
    mastercard.derivation = SessionKeyDerivation::Mastercard;
    mastercard.flags = IssuerAuthenticationFlags(0x40);
    mastercard.interchange_profile = [0x19, 0x80];
    mastercard.bitmap =
        IssuerProprietaryBitmap::new(&[0, 0x80, 0, 0x01, 0, 0, 0, 0, 0, 0x3F, 0xFF, 0xFF]).unwrap();
    let cards = [
        CapCard::new(
            CardProfile::new("4658123456789009", 1, (2030, 12)).unwrap(),
            CapModes::ALL,
            0,
        ),
        CapCard::new(mastercard, CapModes::IDENTIFY.with(CapModes::SIGN_DATA), 41)
            .with_look_ahead(7),
    ];
    for (index, card) in cards.into_iter().enumerate() {
        let mut record = event_record(&format!("card-{index}"));
        record.sealed_secret = keyring()
            .seal(&record.id, &Secret::from_bytes(&[0x5A; 16]).unwrap())
            .unwrap();
        record.state = TokenState::new(TokenKind::Cap(card));
        store
            .enrol(&record, &event(&record.id, Operation::Enrol, Outcome::Done))
            .unwrap();
        assert_eq!(store.load(&record.id).unwrap(), Some(record.clone()));
        let mut next = record.clone();
        next.state.kind = TokenKind::Cap(CapCard {
            next_atc: ATC_END,
            ..card
        });
        next.state.failures = 2;
        next.version = 2;
        let audit = event(&record.id, Operation::Verify, Outcome::Accepted);
        assert_eq!(
            store.compare_and_swap(&next, 1, &audit).unwrap(),
            Swap::Swapped
        );
        assert_eq!(store.load(&record.id).unwrap(), Some(next));
    }
}

/// Issue 14, item 4: a fob's sealed unlock key (schema version 13) comes back as
/// written, is replaced and cleared by the swap like any other field, and through a
/// validator on the same store answers the unlock challenge of the fob it came from,
/// also after every key was resealed under a new one.
fn unlock_keys_round_trip<S: Store>(store: S) {
    use otpfob::device::DeviceState;
    use otpfob::{Device, KeyFob};
    let mut record = event_record("unlockable");
    record.unlock_key = Some(
        keyring()
            .seal_unlock_key(
                &record.id,
                record.incarnation,
                &Secret::from_bytes(&[0x3c; 32]).unwrap(),
            )
            .unwrap(),
    );
    store
        .enrol(&record, &event(&record.id, Operation::Enrol, Outcome::Done))
        .unwrap();
    assert_eq!(store.load(&record.id).unwrap(), Some(record.clone()));
    let audit = event(&record.id, Operation::Reseal, Outcome::Done);
    let mut resealed = record.clone();
    resealed.unlock_key = Some(
        keyring()
            .seal_unlock_key(
                &record.id,
                record.incarnation,
                &Secret::from_bytes(&[0x3c; 64]).unwrap(),
            )
            .unwrap(),
    );
    resealed.version = 2;
    assert_eq!(
        store.compare_and_swap(&resealed, 1, &audit).unwrap(),
        Swap::Swapped
    );
    assert_eq!(store.load(&record.id).unwrap(), Some(resealed.clone()));
    let mut cleared = resealed;
    cleared.unlock_key = None;
    cleared.version = 3;
    assert_eq!(
        store.compare_and_swap(&cleared, 2, &audit).unwrap(),
        Swap::Swapped
    );
    assert_eq!(store.load(&record.id).unwrap(), Some(cleared));
    // Written raw, without a MAC: the validators below would refuse it.
    assert!(store.delete(&record.id, &audit).unwrap());

    let store = Arc::new(store);
    let world = ManualClock::at_secs(1_767_225_600);
    let (mut fob, factory) = KeyFob::builder("FOB-UNLOCK-1", TotpParameters::default())
        .pin("2468")
        .build(world.clone())
        .unwrap();
    let validator = Validator::new(Arc::clone(&store), world.clone(), keyring());
    let token = validator.enrol(Enrolment::from(&factory)).unwrap();
    drop(factory);
    assert!(
        validator
            .store()
            .load(&token)
            .unwrap()
            .unwrap()
            .unlock_key
            .is_some()
    );
    let rotated = Keyring::new(SealingKey::new(2, &[8; 32]).unwrap())
        .with_previous(SealingKey::new(1, &[7; 32]).unwrap())
        .unwrap();
    let validator = Validator::new(store, world, rotated);
    assert_eq!(validator.reseal_all().unwrap(), 1);
    let stored = validator.store().load(&token).unwrap().unwrap();
    assert_eq!(
        stored.unlock_key.as_ref().map(|sealed| sealed.key_id),
        Some(2)
    );
    assert_eq!(
        validator
            .sealing_keys_in_use()
            .unwrap()
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        [2]
    );
    for _ in 0..3 {
        let _ = fob.enter_pin("0000");
    }
    assert_eq!(fob.state(), DeviceState::Locked);
    let answer = validator
        .unlock_code(&token, &fob.unlock_challenge().unwrap())
        .unwrap();
    fob.unlock(&answer, "1357").unwrap();
    fob.enter_pin("1357").unwrap();
    assert!(fob.press().is_ok());
}

fn records_round_trip<S: Store>(store: S) {
    for record in [time_record("time-1"), event_record("event-1")] {
        store
            .enrol(&record, &event(&record.id, Operation::Enrol, Outcome::Done))
            .unwrap();
        assert_eq!(store.load(&record.id).unwrap(), Some(record));
    }
    assert_eq!(store.load(&id("absent")).unwrap(), None);
}

fn enrolling_twice_is_refused<S: Store>(store: S) {
    let record = time_record("dup");
    let audit = event(&record.id, Operation::Enrol, Outcome::Done);
    store.enrol(&record, &audit).unwrap();
    let mut other = event_record("dup");
    other.version = 1;
    assert_eq!(
        store.enrol(&other, &audit),
        Err(StoreError::AlreadyEnrolled {
            token: "dup".into()
        })
    );
    assert_eq!(store.load(&record.id).unwrap(), Some(record));
}

fn compare_and_swap_checks_the_version<S: Store>(store: S) {
    let record = event_record("cas");
    store
        .enrol(&record, &event(&record.id, Operation::Enrol, Outcome::Done))
        .unwrap();
    let audit = event(&record.id, Operation::Verify, Outcome::Accepted);
    let mut next = record.clone();
    next.state.failures = 9;
    next.version = 2;
    assert_eq!(
        store.compare_and_swap(&next, 5, &audit).unwrap(),
        Swap::Conflict
    );
    assert_eq!(store.load(&record.id).unwrap(), Some(record.clone()));
    assert_eq!(
        store.compare_and_swap(&next, 1, &audit).unwrap(),
        Swap::Swapped
    );
    assert_eq!(store.load(&record.id).unwrap(), Some(next.clone()));
    // The old version is gone: swapping from it again conflicts.
    assert_eq!(
        store.compare_and_swap(&next, 1, &audit).unwrap(),
        Swap::Conflict
    );
    let mut ghost = event_record("ghost");
    ghost.version = 2;
    assert_eq!(
        store.compare_and_swap(&ghost, 1, &audit).unwrap(),
        Swap::Conflict
    );
    assert_eq!(store.load(&ghost.id).unwrap(), None);
}

fn delete_and_list<S: Store>(store: S) {
    for name in ["c", "a", "b"] {
        let record = event_record(name);
        store
            .enrol(&record, &event(&record.id, Operation::Enrol, Outcome::Done))
            .unwrap();
    }
    assert_eq!(store.list().unwrap(), vec![id("a"), id("b"), id("c")]);
    let audit = event(&id("b"), Operation::Delete, Outcome::Done);
    assert!(store.delete(&id("b"), &audit).unwrap());
    assert!(!store.delete(&id("b"), &audit).unwrap());
    assert_eq!(store.list().unwrap(), vec![id("a"), id("c")]);
    assert_eq!(store.load(&id("b")).unwrap(), None);
}

fn audit_goes_with_changes<S: Store>(store: S) {
    let record = event_record("audited");
    let token = record.id.clone();
    store
        .enrol(&record, &event(&token, Operation::Enrol, Outcome::Done))
        .unwrap();
    let mut next = record.clone();
    next.version = 2;
    let accepted = event(&token, Operation::Verify, Outcome::Accepted);
    assert_eq!(
        store.compare_and_swap(&next, 1, &accepted).unwrap(),
        Swap::Swapped
    );
    // A conflicting swap writes no audit row.
    let lost = event(&token, Operation::Unlock, Outcome::Done);
    assert_eq!(
        store.compare_and_swap(&next, 1, &lost).unwrap(),
        Swap::Conflict
    );
    let locked = event(
        &token,
        Operation::Verify,
        Outcome::Rejected(RejectReason::Locked),
    );
    store.append_audit(&locked).unwrap();
    let trail = store.audit_trail(&token, 10).unwrap();
    let operations: Vec<_> = trail
        .iter()
        .map(|event| (event.operation, event.outcome))
        .collect();
    assert_eq!(
        operations,
        [
            (Operation::Enrol, Outcome::Done),
            (Operation::Verify, Outcome::Accepted),
            (Operation::Verify, Outcome::Rejected(RejectReason::Locked)),
        ]
    );
    assert_eq!(trail[1], accepted);
    assert_eq!(store.audit_trail(&token, 1).unwrap(), vec![locked]);
    assert!(store.audit_trail(&id("nobody"), 10).unwrap().is_empty());
}

/// Keyset pages walk every id once, in order, whatever the page size; an id enrolled
/// or deleted between two pages neither shifts nor repeats the others.
fn list_pages_walk_every_id_once<S: Store>(store: S) {
    // Byte order, as Rust orders strings: "B" < "a" < "a-1" < "aa" < "é".
    let names = ["a", "B", "aa", "a-1", "z", "é", "m", "FOB-0002", "FOB-0010"];
    for name in names {
        let record = event_record(name);
        store
            .enrol(&record, &event(&record.id, Operation::Enrol, Outcome::Done))
            .unwrap();
    }
    let mut sorted: Vec<TokenId> = names.iter().map(|name| id(name)).collect();
    sorted.sort();
    assert_eq!(store.list().unwrap(), sorted);
    for size in [1, 2, 4, 9, 100] {
        let mut walked = Vec::new();
        let mut after: Option<TokenId> = None;
        loop {
            let page = store.list_page(after.as_ref(), size).unwrap();
            assert!(page.len() <= size);
            let Some(last) = page.last().cloned() else {
                break;
            };
            walked.extend(page);
            after = Some(last);
        }
        assert_eq!(walked, sorted, "pages of {size}");
    }
    assert!(store.list_page(None, 0).unwrap().is_empty());
    assert_eq!(store.list_page(Some(&id("é")), 5).unwrap(), vec![]);
    // After an id that is not enrolled: the ids that sort after it.
    assert_eq!(
        store.list_page(Some(&id("FOB-0005")), 2).unwrap(),
        vec![id("FOB-0010"), id("a")]
    );
    // Changes between pages: the cursor is an id, not a position.
    let first = store.list_page(None, 3).unwrap();
    assert_eq!(first, vec![id("B"), id("FOB-0002"), id("FOB-0010")]);
    let audit = event(&id("B"), Operation::Delete, Outcome::Done);
    assert!(store.delete(&id("B"), &audit).unwrap());
    let early = event_record("A");
    store
        .enrol(&early, &event(&early.id, Operation::Enrol, Outcome::Done))
        .unwrap();
    assert_eq!(
        store.list_page(first.last(), 3).unwrap(),
        vec![id("a"), id("a-1"), id("aa")]
    );
}

/// Who caused each event comes back from the store as it went in, through every write
/// that carries an audit row (enrol, compare-and-swap, append, delete); an event
/// without one comes back without one.
fn audit_actor_round_trips<S: Store>(store: S) {
    let record = event_record("acted-on");
    let token = record.id.clone();
    let by = |actor: Option<&str>, operation, outcome| AuditEvent {
        actor: actor.map(Arc::from),
        ..event(&token, operation, outcome)
    };
    let enrolled = by(Some("admin-console"), Operation::Enrol, Outcome::Done);
    store.enrol(&record, &enrolled).unwrap();
    let mut next = record.clone();
    next.version = 2;
    let verified = by(
        Some("login service é"),
        Operation::Verify,
        Outcome::Accepted,
    );
    assert_eq!(
        store.compare_and_swap(&next, 1, &verified).unwrap(),
        Swap::Swapped
    );
    let anonymous = by(
        None,
        Operation::Verify,
        Outcome::Rejected(RejectReason::WrongCode),
    );
    store.append_audit(&anonymous).unwrap();
    let deleted = by(Some("helpdesk-7"), Operation::Delete, Outcome::Done);
    assert!(store.delete(&token, &deleted).unwrap());
    assert_eq!(
        store.audit_trail(&token, 10).unwrap(),
        vec![enrolled, verified, anonymous, deleted]
    );
}

/// Why an operator did it (schema version 12) comes back as it went in, through
/// every write that carries an audit row; an event without one comes back without.
fn audit_reason_round_trips<S: Store>(store: S) {
    use otpfob::validator::AuditReason;
    let record = event_record("reasoned");
    let token = record.id.clone();
    let because = |reason: Option<&str>, operation, outcome| AuditEvent {
        reason: reason.map(|text| AuditReason::new(text).unwrap()),
        actor: Some(Arc::from("console:hank")),
        ..event(&token, operation, outcome)
    };
    let enrolled = because(
        Some("new customer, branch 12"),
        Operation::Enrol,
        Outcome::Done,
    );
    store.enrol(&record, &enrolled).unwrap();
    let mut next = record.clone();
    next.version = 2;
    let unlocked = because(
        Some("customer called, identity checked (é, ünïcode)"),
        Operation::Unlock,
        Outcome::Done,
    );
    assert_eq!(
        store.compare_and_swap(&next, 1, &unlocked).unwrap(),
        Swap::Swapped
    );
    let none = because(None, Operation::Verify, Outcome::Accepted);
    store.append_audit(&none).unwrap();
    let deleted = because(
        Some("fob returned broken"),
        Operation::Delete,
        Outcome::Done,
    );
    assert!(store.delete(&token, &deleted).unwrap());
    assert_eq!(
        store.audit_trail(&token, 10).unwrap(),
        vec![enrolled, unlocked, none, deleted]
    );
}

fn concurrent_swaps_have_one_winner<S: Store + 'static>(store: S) {
    let store = Arc::new(store);
    let record = event_record("race");
    store
        .enrol(&record, &event(&record.id, Operation::Enrol, Outcome::Done))
        .unwrap();
    for round in 1..=5u64 {
        let barrier = Arc::new(Barrier::new(8));
        let winners: usize = (0..8u32)
            .map(|thread_index| {
                let store = Arc::clone(&store);
                let barrier = Arc::clone(&barrier);
                let mut next = record.clone();
                next.version = round + 1;
                next.state.failures = thread_index;
                thread::spawn(move || {
                    let audit = event(&next.id, Operation::Verify, Outcome::Accepted);
                    barrier.wait();
                    usize::from(
                        store.compare_and_swap(&next, round, &audit).unwrap() == Swap::Swapped,
                    )
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .sum();
        assert_eq!(winners, 1, "round {round}");
        assert_eq!(store.load(&record.id).unwrap().unwrap().version, round + 1);
    }
}

/// Eight threads submit the same valid code to one validator: exactly one is accepted.
fn one_code_is_accepted_once_across_threads<S: Store + 'static>(store: S) {
    let clock = ManualClock::at_secs(1_700_000_000);
    let validator = Arc::new(Validator::new(store, clock.clone(), keyring()));
    let secret = Secret::generate_default().unwrap();
    for round in 0..5 {
        let token = id(&format!("shared-{round}"));
        validator
            .enrol(Enrolment::new(
                token.clone(),
                secret.clone(),
                TotpParameters::default(),
            ))
            .unwrap();
        let code = Totp::new(&secret, TotpParameters::default())
            .unwrap()
            .now(&clock)
            .unwrap()
            .to_string();
        let barrier = Arc::new(Barrier::new(8));
        let results: Vec<_> = (0..8)
            .map(|_| {
                let validator = Arc::clone(&validator);
                let barrier = Arc::clone(&barrier);
                let token = token.clone();
                let code = code.clone();
                thread::spawn(move || {
                    barrier.wait();
                    validator.verify(&token, &code, None)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect();
        let accepted = results.iter().filter(|result| result.is_ok()).count();
        assert_eq!(accepted, 1, "round {round}: {results:?}");
        for rejected in results.iter().filter_map(|result| result.err()) {
            assert_eq!(rejected.reason(), RejectReason::Replayed);
        }
    }
}

/// A store that, once armed, stops the next `load` after it has read the record and
/// before it returns, until the test lets it go; and records the outcome of every swap.
struct PausingStore<S> {
    inner: S,
    armed: AtomicBool,
    loaded: Barrier,
    resume: Barrier,
    swaps: Mutex<Vec<Swap>>,
}

impl<S: Store> PausingStore<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            armed: AtomicBool::new(false),
            loaded: Barrier::new(2),
            resume: Barrier::new(2),
            swaps: Mutex::new(Vec::new()),
        }
    }

    fn note(&self, swap: Result<Swap, StoreError>) -> Result<Swap, StoreError> {
        if let Ok(outcome) = swap {
            self.swaps.lock().unwrap().push(outcome);
        }
        swap
    }
}

impl<S: Store> Store for PausingStore<S> {
    fn enrol(&self, record: &TokenRecord, audit: &AuditEvent) -> Result<(), StoreError> {
        self.inner.enrol(record, audit)
    }
    fn load(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        let record = self.inner.load(id);
        if self.armed.swap(false, Ordering::SeqCst) {
            self.loaded.wait();
            self.resume.wait();
        }
        record
    }
    fn compare_and_swap(
        &self,
        record: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<Swap, StoreError> {
        self.note(self.inner.compare_and_swap(record, expected_version, audit))
    }
    fn compare_and_swap_owned(
        &self,
        record: TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<Swap, StoreError> {
        self.note(
            self.inner
                .compare_and_swap_owned(record, expected_version, audit),
        )
    }
    fn delete(&self, id: &TokenId, audit: &AuditEvent) -> Result<bool, StoreError> {
        self.inner.delete(id, audit)
    }
    fn list(&self) -> Result<Vec<TokenId>, StoreError> {
        self.inner.list()
    }
    fn record_rejection(
        &self,
        probe: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.inner.record_rejection(probe, expected_version, audit)
    }
    fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.inner.append_audit(event)
    }
    fn audit_trail(&self, id: &TokenId, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.audit_trail(id, limit)
    }
}

/// Issue 11, item 1: a verification that loaded a token's record before the token was
/// deleted and enrolled again must not write the old record (old secret, active) over
/// the new enrolment, although both are at version 1.
fn a_deleted_enrolment_cannot_overwrite_the_next<S: Store + 'static>(store: S) {
    let store = Arc::new(PausingStore::new(store));
    let clock = ManualClock::at_secs(1_700_000_000);
    let validator = Arc::new(Validator::new(Arc::clone(&store), clock.clone(), keyring()));
    let token = id("reissued");
    let lost = Secret::generate_default().unwrap();
    let replacement = Secret::generate_default().unwrap();
    let enrolment =
        |secret: &Secret| Enrolment::new(token.clone(), secret.clone(), HotpParameters::default());
    let code = |secret: &Secret, counter| {
        otpfob::Hotp::new(secret, HotpParameters::default())
            .unwrap()
            .at(counter)
            .to_string()
    };
    validator.enrol(enrolment(&lost)).unwrap();
    // Thread A verifies the lost fob's first code and stops between load and swap.
    store.armed.store(true, Ordering::SeqCst);
    let verifier = {
        let validator = Arc::clone(&validator);
        let token = token.clone();
        let lost_code = code(&lost, 0);
        thread::spawn(move || validator.verify(&token, &lost_code, None))
    };
    store.loaded.wait();
    // Meanwhile the fob is reported lost: deleted, and the id enrolled again.
    validator.delete(&token).unwrap();
    validator.enrol(enrolment(&replacement)).unwrap();
    store.resume.wait();
    let answer = verifier.join().unwrap();
    let swaps = store.swaps.lock().unwrap().clone();
    assert_eq!(
        swaps.first(),
        Some(&Swap::Conflict),
        "the old record's swap over the new enrolment: {swaps:?}"
    );
    assert_eq!(answer.unwrap_err().reason(), RejectReason::WrongCode);
    // The replacement works; the lost fob does not.
    assert!(
        validator
            .verify(&token, &code(&replacement, 0), None)
            .is_ok()
    );
    for counter in 1..=3 {
        assert_eq!(
            validator
                .verify(&token, &code(&lost, counter), None)
                .unwrap_err()
                .reason(),
            RejectReason::WrongCode
        );
    }
}

/// Issue 11, item 2: a rejection that writes no record (an unknown id, a tampered
/// record) writes its audit row through `record_rejection`, with the work of a
/// compare-and-swap of a probe that matches nothing; a probe that did match is refused
/// and writes nothing, neither the probe nor its audit row.
fn a_rejection_probe_writes_only_its_audit_row<S: Store>(store: S) {
    let record = event_record("probed");
    store
        .enrol(&record, &event(&record.id, Operation::Enrol, Outcome::Done))
        .unwrap();
    let unknown = id("nobody-here");
    let refused = event(
        &unknown,
        Operation::Verify,
        Outcome::Rejected(RejectReason::UnknownToken),
    );
    // The probe of an unknown id: another record's fields under the asked id, with an
    // incarnation nobody has.
    let mut probe = record.clone();
    probe.id = unknown.clone();
    probe.incarnation = Incarnation::generate().unwrap();
    probe.version = 2;
    store.record_rejection(&probe, 1, &refused).unwrap();
    assert_eq!(store.load(&unknown).unwrap(), None);
    assert_eq!(store.audit_trail(&unknown, 10).unwrap(), vec![refused]);

    // The probe of an enrolled id never matches its record either.
    let tampered = event(
        &record.id,
        Operation::Verify,
        Outcome::Rejected(RejectReason::RecordTampered),
    );
    let mut probe = record.clone();
    probe.incarnation = Incarnation::generate().unwrap();
    probe.version = 2;
    probe.state.failures = 77;
    store.record_rejection(&probe, 1, &tampered).unwrap();
    assert_eq!(store.load(&record.id).unwrap(), Some(record.clone()));

    // Should a probe match (a store must never be handed one that does), nothing is
    // written and the store says so.
    let mut matching = record.clone();
    matching.version = 2;
    matching.state.failures = 99;
    let lost = event(
        &record.id,
        Operation::Verify,
        Outcome::Rejected(RejectReason::WrongCode),
    );
    assert!(matches!(
        store.record_rejection(&matching, 1, &lost),
        Err(StoreError::Corrupt { .. } | StoreError::Backend { .. })
    ));
    assert_eq!(store.load(&record.id).unwrap(), Some(record.clone()));
    let trail = store.audit_trail(&record.id, 10).unwrap();
    assert_eq!(trail.len(), 2, "{trail:?}");
    assert_eq!(trail[1], tampered);
}

fn customer(text: &str) -> CustomerRef {
    CustomerRef::new(text).unwrap()
}

/// Schema version 8: every status, both ends of a validity period and the owner are
/// stored as written, and `tokens_of` finds a customer's tokens (from the index in
/// the SQL stores), in order, following every change of owner.
fn owners_and_states_round_trip<S: Store>(store: S) {
    let alice = customer("CUST-0001");
    let bob = customer("CUST-0002");
    let mut expected = Vec::new();
    for (index, status) in Status::ALL.into_iter().enumerate() {
        let mut record = time_record(&format!("owned-{index}"));
        record.state.status = status;
        record.state.validity = Validity::new(
            Some(UnixTime::from_nanos(1_600_000_000_000_000_007)),
            Some(UnixTime::from_secs(1_900_000_000)),
        )
        .unwrap();
        record.owner = Some(if index % 2 == 0 {
            alice.clone()
        } else {
            bob.clone()
        });
        store
            .enrol(&record, &event(&record.id, Operation::Enrol, Outcome::Done))
            .unwrap();
        assert_eq!(store.load(&record.id).unwrap().as_ref(), Some(&record));
        expected.push(record);
    }
    let mut open_ended = event_record("owned-open");
    open_ended.state.validity =
        Validity::new(None, Some(UnixTime::from_secs(1_800_000_000))).unwrap();
    store
        .enrol(
            &open_ended,
            &event(&open_ended.id, Operation::Enrol, Outcome::Done),
        )
        .unwrap();
    assert_eq!(store.load(&open_ended.id).unwrap(), Some(open_ended));
    assert_eq!(
        store.tokens_of(&alice).unwrap(),
        [id("owned-0"), id("owned-2"), id("owned-4")]
    );
    assert_eq!(
        store.tokens_of(&bob).unwrap(),
        [id("owned-1"), id("owned-3")]
    );
    assert_eq!(store.tokens_of(&customer("nobody")).unwrap(), []);
    // A swap moves a token between customers, and a swap to no owner removes it.
    let mut moved = expected[0].clone();
    moved.owner = Some(bob.clone());
    moved.version = 2;
    let audit = event(&moved.id, Operation::AssignOwner, Outcome::Done);
    assert_eq!(
        store.compare_and_swap(&moved, 1, &audit).unwrap(),
        Swap::Swapped
    );
    assert_eq!(
        store.tokens_of(&alice).unwrap(),
        [id("owned-2"), id("owned-4")]
    );
    assert_eq!(
        store.tokens_of(&bob).unwrap(),
        [id("owned-0"), id("owned-1"), id("owned-3")]
    );
    moved.owner = None;
    moved.version = 3;
    assert_eq!(
        store.compare_and_swap(&moved, 2, &audit).unwrap(),
        Swap::Swapped
    );
    assert_eq!(
        store.tokens_of(&bob).unwrap(),
        [id("owned-1"), id("owned-3")]
    );
    assert_eq!(store.load(&moved.id).unwrap(), Some(moved));
    // A deleted token leaves its customer.
    store
        .delete(
            &id("owned-1"),
            &event(&id("owned-1"), Operation::Delete, Outcome::Done),
        )
        .unwrap();
    assert_eq!(store.tokens_of(&bob).unwrap(), [id("owned-3")]);
}

/// Schema version 11: a temporary replacement's link to the lost token (an id of the
/// longest length) and its uses left are stored as written, and a swap changes both;
/// then, through the validator on the same store, a found fob ends its temporary
/// replacement (found by that link) and a replaced fob ends the next one.
fn replacement_links_round_trip<S: Store>(store: S) {
    let longest = "L".repeat(otpfob::validator::MAX_TOKEN_ID_LEN);
    let mut record = time_record("stand-in-1");
    record.replaces = Some(id(&longest));
    record.state.uses_left = Some(u32::MAX);
    store
        .enrol(&record, &event(&record.id, Operation::Enrol, Outcome::Done))
        .unwrap();
    assert_eq!(store.load(&record.id).unwrap().as_ref(), Some(&record));
    record.replaces = None;
    record.state.uses_left = Some(0);
    record.version = 2;
    let audit = event(&record.id, Operation::Revoke, Outcome::Done);
    assert_eq!(
        store.compare_and_swap(&record, 1, &audit).unwrap(),
        Swap::Swapped
    );
    assert_eq!(store.load(&record.id).unwrap(), Some(record));

    let clock = ManualClock::at_secs(1_700_000_000);
    let validator = Validator::new(store, clock, keyring());
    let owner = customer("CUST-LOST");
    validator
        .enrol(
            Enrolment::new(
                id("lost-fob"),
                Secret::generate_default().unwrap(),
                HotpParameters::default(),
            )
            .with_owner(owner),
        )
        .unwrap();
    let temporary = |name: &str| {
        let (enrolment, _secret) =
            Enrolment::generate(id(name), TotpParameters::default()).unwrap();
        validator
            .issue_temporary_replacement(
                &id("lost-fob"),
                enrolment.with_use_limit(std::num::NonZeroU32::new(3).unwrap()),
                std::time::Duration::from_secs(3600),
            )
            .unwrap()
    };
    let status = |name: &str| validator.state(&id(name)).unwrap().unwrap().status;
    validator.report_lost(&id("lost-fob")).unwrap();
    let first = temporary("stand-in-2");
    let stored = validator.store().load(&first).unwrap().unwrap();
    assert_eq!(stored.replaces, Some(id("lost-fob")));
    assert_eq!(stored.state.uses_left, Some(3));
    validator.report_found(&id("lost-fob")).unwrap();
    assert_eq!(status("stand-in-2"), Status::Revoked);
    assert_eq!(status("lost-fob"), Status::Active);
    validator.report_lost(&id("lost-fob")).unwrap();
    temporary("stand-in-3");
    let (fresh, _secret) = Enrolment::generate(id("new-fob"), TotpParameters::default()).unwrap();
    validator.replace(&id("lost-fob"), fresh).unwrap();
    assert_eq!(status("stand-in-3"), Status::Revoked);
    assert_eq!(status("lost-fob"), Status::Revoked);
    assert_eq!(status("new-fob"), Status::Active);
}

fn totp_code(secret: &Secret, clock: &ManualClock) -> String {
    Totp::new(secret, TotpParameters::default())
        .unwrap()
        .now(clock)
        .unwrap()
        .to_string()
}

/// `verify_customer` over a real store: two concurrent requests with the codes of two
/// different tokens of one customer are each accepted once, for their own token; eight
/// concurrent requests with one code are accepted once between them; a replay of
/// either code is refused. That is the meaning of "at most once across a customer's
/// tokens": per request one token, per code one acceptance.
fn customer_codes_are_accepted_at_most_once<S: Store + 'static>(store: S) {
    let clock = ManualClock::at_secs(1_700_000_000);
    let validator = Arc::new(Validator::new(store, clock.clone(), keyring()));
    let owner = customer("CUST-RACE");
    for round in 0..3 {
        let fob = Secret::generate_default().unwrap();
        let phone = Secret::generate_default().unwrap();
        for (name, secret) in [("fob", &fob), ("phone", &phone)] {
            validator
                .enrol(
                    Enrolment::new(
                        id(&format!("{name}-{round}")),
                        secret.clone(),
                        TotpParameters::default(),
                    )
                    .with_owner(owner.clone()),
                )
                .unwrap();
        }
        let codes = [totp_code(&fob, &clock), totp_code(&phone, &clock)];
        let barrier = Arc::new(Barrier::new(2));
        let results: Vec<_> = codes
            .iter()
            .map(|code| {
                let (validator, barrier, owner, code) = (
                    Arc::clone(&validator),
                    Arc::clone(&barrier),
                    owner.clone(),
                    code.clone(),
                );
                thread::spawn(move || {
                    barrier.wait();
                    validator.verify_customer(&owner, &code, None)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect();
        let tokens: Vec<_> = results
            .iter()
            .map(|result| result.as_ref().map(|accepted| accepted.token.clone()))
            .collect();
        assert_eq!(
            tokens,
            [
                Ok(id(&format!("fob-{round}"))),
                Ok(id(&format!("phone-{round}")))
            ],
            "round {round}"
        );
        for code in &codes {
            assert!(validator.verify_customer(&owner, code, None).is_err());
        }
        // The customer's tokens of earlier rounds are done with: revoked, which also
        // takes them from the customer, so that they do not fill the customer's slots.
        validator.revoke(&id(&format!("fob-{round}"))).unwrap();
        validator.revoke(&id(&format!("phone-{round}"))).unwrap();
        assert_eq!(validator.store().tokens_of(&owner).unwrap(), []);
        clock.advance(std::time::Duration::from_secs(30));
    }
    let secret = Secret::generate_default().unwrap();
    validator
        .enrol(
            Enrolment::new(
                id("shared-owner"),
                secret.clone(),
                TotpParameters::default(),
            )
            .with_owner(owner.clone()),
        )
        .unwrap();
    let code = totp_code(&secret, &clock);
    let barrier = Arc::new(Barrier::new(8));
    let results: Vec<_> = (0..8)
        .map(|_| {
            let (validator, barrier, owner, code) = (
                Arc::clone(&validator),
                Arc::clone(&barrier),
                owner.clone(),
                code.clone(),
            );
            thread::spawn(move || {
                barrier.wait();
                validator.verify_customer(&owner, &code, None)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|handle| handle.join().unwrap())
        .collect();
    assert_eq!(
        results.iter().filter(|result| result.is_ok()).count(),
        1,
        "{results:?}"
    );
}

/// Issue 15, item 9: each token's audit events form a hash chain whose head is in the
/// record. `trail` gives a token five chained events (enrolment, three wrong codes, the
/// right one) and one unchained rejection for an id that is not enrolled.
fn trail<S: Store>(validator: &Validator<S, ManualClock>, name: &str) -> TokenId {
    let token = id(name);
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    validator
        .enrol(Enrolment::new(
            token.clone(),
            secret.clone(),
            HotpParameters::default(),
        ))
        .unwrap();
    for _ in 0..3 {
        assert!(validator.verify(&token, "000000", None).is_err());
    }
    let right = otpfob::Hotp::new(&secret, HotpParameters::default())
        .unwrap()
        .at(0)
        .to_string();
    validator.verify(&token, &right, None).unwrap();
    assert!(
        validator
            .verify(&id("never-enrolled"), "000000", None)
            .is_err()
    );
    token
}

fn chain_validator<S: Store>(store: S) -> Validator<S, ManualClock> {
    Validator::new(store, ManualClock::at_secs(1_767_225_600), keyring())
}

/// Every store keeps the chain as written: links and heads read back intact, the
/// context of each event with them, and an unknown id's rejection stays unchained.
fn audit_chain_round_trips<S: Store>(store: S) {
    use otpfob::validator::{ActorKind, AuditContext, within};
    let validator = chain_validator(store);
    let context = AuditContext::new()
        .actor_kind(ActorKind::ApiClient)
        .channel("api")
        .request_id("req-1")
        .node("node-a");
    let token = within(context.clone(), || trail(&validator, "chained"));
    let report = validator.verify_audit_chain(&token).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.events, report.chained, report.unchained), (5, 5, 0));
    let events = validator.store().audit_trail(&token, 10).unwrap();
    assert!(events.iter().all(|event| event.context == context));
    let record = validator.store().load(&token).unwrap().unwrap();
    assert_eq!(record.audit_head, events[4].chain);
    let unknown = validator
        .store()
        .audit_trail(&id("never-enrolled"), 10)
        .unwrap();
    assert!(unknown.iter().all(|event| event.chain.is_none()));
    let all = validator.verify_audit_chains().unwrap();
    assert_eq!(all.len(), 1);
    assert!(all[0].is_intact());
}

/// The database's operator edits, deletes and reorders audit rows with raw SQL (as
/// `sqlite3` or `psql` would), and moves a record's head; `raw` runs a batch of SQL on
/// the store's database with `{audit}` and `{tokens}` naming its tables. Each edit is
/// found, at the first broken link.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn audit_chain_detects_raw_edits<S: Store>(store: S, raw: &dyn Fn(&str)) {
    use otpfob::validator::chain::ChainBreakKind;
    let validator = chain_validator(store);
    let row = |token: &str, index: usize| {
        format!(
            "(SELECT sequence FROM {{audit}} WHERE token = '{token}' \
             ORDER BY sequence LIMIT 1 OFFSET {index})"
        )
    };
    let broken = |token: &TokenId| validator.verify_audit_chain(token).unwrap().broken;

    let intact = trail(&validator, "intact");
    let edited = trail(&validator, "edited");
    raw(&format!(
        "UPDATE {{audit}} SET outcome = 'accepted', reason = NULL WHERE sequence = {}",
        row("edited", 2)
    ));
    let edit = broken(&edited).expect("an edited row is detected");
    assert_eq!(
        (edit.position, edit.kind),
        (2, ChainBreakKind::LinkMismatch)
    );
    assert_eq!(edit.operation, Some(Operation::Verify));

    let removed = trail(&validator, "removed");
    raw(&format!(
        "DELETE FROM {{audit}} WHERE sequence = {}",
        row("removed", 1)
    ));
    let removal = broken(&removed).expect("a removed row is detected");
    assert_eq!(
        (removal.position, removal.kind),
        (1, ChainBreakKind::LinkMismatch)
    );

    let cut = trail(&validator, "cut");
    raw(&format!(
        "DELETE FROM {{audit}} WHERE sequence = {}",
        row("cut", 4)
    ));
    let tail = broken(&cut).expect("a removed last row is detected");
    assert_eq!(
        (tail.position, tail.kind),
        (4, ChainBreakKind::HeadMismatch)
    );

    // Reordering: rows 2 and 3 trade places (their contents swap, the sequence stays,
    // as PostgreSQL's identity column cannot be updated).
    let reordered = trail(&validator, "reordered");
    let (first, second) = (row("reordered", 2), row("reordered", 3));
    let columns = "at_seconds, at_nanos, operation, outcome, reason, \"offset\", actor, \
                   actor_kind, channel, request_id, node, chain_hash";
    raw(&format!(
        "CREATE TEMP TABLE swapped AS SELECT * FROM {{audit}} WHERE sequence IN ({first}, {second});
         UPDATE {{audit}} SET ({columns}) = (SELECT {columns} FROM swapped \
             WHERE swapped.sequence <> {{audit}}.sequence) \
         WHERE sequence IN ({first}, {second});
         DROP TABLE swapped;"
    ));
    let order = broken(&reordered).expect("reordered rows are detected");
    assert_eq!(
        (order.position, order.kind),
        (2, ChainBreakKind::LinkMismatch)
    );

    // A link nulled makes the event look like an unchained rejection: still found.
    let nulled = trail(&validator, "nulled");
    raw(&format!(
        "UPDATE {{audit}} SET chain_hash = NULL WHERE sequence = {}",
        row("nulled", 4)
    ));
    assert_eq!(broken(&nulled).unwrap().kind, ChainBreakKind::HeadMismatch);

    // The head moved back to an older link, to hide the tail: the record's MAC fails.
    let rewound = trail(&validator, "rewound");
    raw(&format!(
        "UPDATE {{tokens}} SET audit_head = (SELECT chain_hash FROM {{audit}} WHERE sequence = {}) \
         WHERE id = 'rewound';
         DELETE FROM {{audit}} WHERE sequence = {};",
        row("rewound", 3),
        row("rewound", 4)
    ));
    assert_eq!(
        broken(&rewound).unwrap().kind,
        ChainBreakKind::RecordUnauthentic
    );

    // The reason a helpdesk gave, edited: the link no longer matches.
    let reasoned = otpfob::validator::giving_reason(
        otpfob::validator::AuditReason::new("customer called").unwrap(),
        || trail(&validator, "reason-edited"),
    );
    assert!(broken(&reasoned).is_none());
    raw(&format!(
        "UPDATE {{audit}} SET given_reason = 'no reason needed' WHERE sequence = {}",
        row("reason-edited", 1)
    ));
    let reason = broken(&reasoned).expect("an edited reason is detected");
    assert_eq!(
        (reason.position, reason.kind),
        (1, ChainBreakKind::LinkMismatch)
    );

    assert!(broken(&intact).is_none(), "an untouched chain stays intact");
    let reports = validator.verify_audit_chains().unwrap();
    let broken_ids: Vec<&str> = reports
        .iter()
        .filter(|report| !report.is_intact())
        .map(|report| report.token.as_str())
        .collect();
    assert_eq!(
        broken_ids,
        [
            "cut",
            "edited",
            "nulled",
            "reason-edited",
            "removed",
            "reordered",
            "rewound"
        ]
    );
    // A reason edited to hold a right-to-left override reads as corruption, never as
    // text for a page or a terminal.
    raw(&format!(
        "UPDATE {{audit}} SET given_reason = 'ok \u{202e}sdrawkcab' WHERE sequence = {}",
        row("reason-edited", 2)
    ));
    assert!(matches!(
        validator.store().audit_trail(&reasoned, 10),
        Err(otpfob::StoreError::Corrupt { .. })
    ));
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_audit_chain_detects_raw_edits() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("tokens.db");
    let store = otpfob::SqliteStore::open(&path).unwrap();
    audit_chain_detects_raw_edits(store, &|sql| {
        let sql = sql
            .replace("{audit}", "audit")
            .replace("{tokens}", "tokens");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(&sql)
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
    });
}

/// A file from before the chain (schema version 8): its audit rows have no links and
/// its records no head. They read back unchained and intact, and each record's chain
/// begins at its next change.
#[cfg(feature = "sqlite")]
#[test]
fn a_version_8_file_gains_the_chain_and_old_rows_are_unchained() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("tokens.db");
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    let token = id("old-fob");
    {
        let validator = chain_validator(otpfob::SqliteStore::open(&path).unwrap());
        validator
            .enrol(Enrolment::new(
                token.clone(),
                secret.clone(),
                HotpParameters::default(),
            ))
            .unwrap();
        // Changed once more, so that two events precede the upgrade.
        validator.disable(&token).unwrap();
    }
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute_batch(
            "ALTER TABLE audit DROP COLUMN actor_kind; ALTER TABLE audit DROP COLUMN channel;
             ALTER TABLE audit DROP COLUMN request_id; ALTER TABLE audit DROP COLUMN node;
             ALTER TABLE audit DROP COLUMN chain_hash; ALTER TABLE tokens DROP COLUMN audit_head;
             ALTER TABLE tokens DROP COLUMN uses_left; ALTER TABLE tokens DROP COLUMN replaces;
             ALTER TABLE audit DROP COLUMN given_reason;
             ALTER TABLE tokens DROP COLUMN unlock_seal_key_id;
             ALTER TABLE tokens DROP COLUMN unlock_seal_nonce;
             ALTER TABLE tokens DROP COLUMN unlock_seal_ciphertext;
             DROP TABLE rejection_standin;
             PRAGMA user_version = 8;",
        )
        .unwrap();
    drop(connection);
    let validator = chain_validator(otpfob::SqliteStore::open(&path).unwrap());
    let record = validator.store().load(&token).unwrap().unwrap();
    assert_eq!(record.audit_head, None);
    // Its MAC covered the head just dropped, so the record is refused as edited...
    let report = validator.verify_audit_chain(&token).unwrap();
    assert_eq!(
        report.broken.unwrap().kind,
        otpfob::validator::chain::ChainBreakKind::RecordUnauthentic
    );
    // ...whereas version 8 MACed it without one: as it did, so it checks.
    let mac = keyring().authenticate_record(&record).unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE tokens SET mac = ?1", [mac.tag.to_vec()])
        .unwrap();
    let report = validator.verify_audit_chain(&token).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.chained, report.unchained), (0, 2));
    validator.enable(&token).unwrap();
    let report = validator.verify_audit_chain(&token).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.chained, report.unchained), (1, 2));
    assert!(
        validator
            .store()
            .load(&token)
            .unwrap()
            .unwrap()
            .audit_head
            .is_some()
    );
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_audit_chain_detects_raw_edits() {
    let url = pg_support::url();
    let schema = pg_support::unique_schema("chain");
    let config = otpfob::PgConfig::new(&url)
        .unwrap()
        .schema(&schema)
        .unwrap();
    let store = pg_support::connect(&config);
    audit_chain_detects_raw_edits(store, &|sql| {
        let sql = sql
            .replace("{audit}", &format!("{schema}.audit"))
            .replace("{tokens}", &format!("{schema}.tokens"));
        pg_support::client_at(&url)
            .batch_execute(&sql)
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
    });
}

macro_rules! store_suite {
    ($($store:ident => $make:expr;)*) => {$(
        mod $store {
            #[test]
            fn records_round_trip() { super::records_round_trip($make); }
            #[test]
            fn ocra_records_round_trip() { super::ocra_records_round_trip($make); }
            #[test]
            fn unlock_keys_round_trip() { super::unlock_keys_round_trip($make); }
            #[cfg(feature = "emv-cap")]
            #[test]
            fn cap_records_round_trip() { super::cap_records_round_trip($make); }
            #[test]
            fn enrolling_twice_is_refused() { super::enrolling_twice_is_refused($make); }
            #[test]
            fn compare_and_swap_checks_the_version() { super::compare_and_swap_checks_the_version($make); }
            #[test]
            fn delete_and_list() { super::delete_and_list($make); }
            #[test]
            fn audit_goes_with_changes() { super::audit_goes_with_changes($make); }
            #[test]
            fn list_pages_walk_every_id_once() { super::list_pages_walk_every_id_once($make); }
            #[test]
            fn audit_actor_round_trips() { super::audit_actor_round_trips($make); }
            #[test]
            fn audit_reason_round_trips() { super::audit_reason_round_trips($make); }
            #[test]
            fn concurrent_swaps_have_one_winner() { super::concurrent_swaps_have_one_winner($make); }
            #[test]
            fn a_deleted_enrolment_cannot_overwrite_the_next() { super::a_deleted_enrolment_cannot_overwrite_the_next($make); }
            #[test]
            fn a_rejection_probe_writes_only_its_audit_row() { super::a_rejection_probe_writes_only_its_audit_row($make); }
            #[test]
            fn audit_chain_round_trips() { super::audit_chain_round_trips($make); }
            #[test]
            fn one_code_is_accepted_once_across_threads() { super::one_code_is_accepted_once_across_threads($make); }
            #[test]
            fn owners_and_states_round_trip() { super::owners_and_states_round_trip($make); }
            #[test]
            fn customer_codes_are_accepted_at_most_once() { super::customer_codes_are_accepted_at_most_once($make); }
            #[test]
            fn replacement_links_round_trip() { super::replacement_links_round_trip($make); }
        }
    )*};
}

#[cfg(feature = "postgres")]
mod pg_support;

#[cfg(feature = "sqlite")]
fn sqlite_store() -> otpfob::SqliteStore {
    // The directory must outlive the store; leaking it keeps the file for the test's
    // life, and the OS temp cleaner removes it later.
    let directory = tempfile::tempdir().unwrap().keep();
    let options = otpfob::SqliteOptions::new().without_group_commit();
    otpfob::SqliteStore::open_with(directory.join("tokens.db"), &options).unwrap()
}

/// The default: a writer thread batching every write into shared commits. A batch
/// limit of 4 makes the suite's eight racing threads span several batches.
#[cfg(feature = "sqlite")]
fn sqlite_group_commit_store() -> otpfob::SqliteStore {
    let directory = tempfile::tempdir().unwrap().keep();
    let options = otpfob::SqliteOptions::new().group_commit_max_batch(4);
    let store = otpfob::SqliteStore::open_with(directory.join("tokens.db"), &options).unwrap();
    assert!(store.group_commit_statistics().is_some());
    store
}

store_suite! {
    memory => otpfob::MemoryStore::new();
}

#[cfg(feature = "sqlite")]
store_suite! {
    sqlite => super::sqlite_store();
    sqlite_group_commit => super::sqlite_group_commit_store();
}

#[cfg(feature = "postgres")]
store_suite! {
    postgres => super::pg_support::store("suite");
}
