//! Issue 15, items 1 to 5: a token's life cycle (owners, states, validity periods,
//! lost, found, revoked and replaced fobs), a customer's verification across their
//! tokens with the same work whichever matches, the helpdesk's lookup, and
//! `Policy::psd2()` through the validator.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use otpfob::validator::{
    AuditEvent, CustomerRef, Lock, MAX_TOKENS_PER_CUSTOMER, Operation, Outcome, Status, Store,
    Swap, TokenRecord, Validity,
};
use otpfob::{
    Enrolment, Keyring, ManualClock, MemoryStore, Policy, RejectReason, SealingKey, Secret,
    StoreError, TimeSource, TokenId, Totp, TotpParameters, UnixTime, Validator, ValidatorError,
};

const NOW: i64 = 1_767_225_600;

/// The store calls made, by name.
#[derive(Default)]
struct CountingStore {
    inner: MemoryStore,
    calls: Mutex<Vec<&'static str>>,
}

impl CountingStore {
    fn note(&self, call: &'static str) {
        self.calls.lock().unwrap().push(call);
    }
    fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl Store for CountingStore {
    fn enrol(&self, record: &TokenRecord, audit: &AuditEvent) -> Result<(), StoreError> {
        self.inner.enrol(record, audit)
    }
    fn load(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        self.note("load");
        self.inner.load(id)
    }
    fn compare_and_swap(
        &self,
        record: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<Swap, StoreError> {
        self.note("write");
        self.inner.compare_and_swap(record, expected_version, audit)
    }
    fn delete(&self, id: &TokenId, audit: &AuditEvent) -> Result<bool, StoreError> {
        self.inner.delete(id, audit)
    }
    fn list(&self) -> Result<Vec<TokenId>, StoreError> {
        self.inner.list()
    }
    fn tokens_of(&self, owner: &CustomerRef) -> Result<Vec<TokenId>, StoreError> {
        self.note("tokens_of");
        self.inner.tokens_of(owner)
    }
    fn record_rejection(
        &self,
        probe: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        // The probe has the shape of a compare-and-swap (see `rejection_work.rs`).
        self.note("write");
        self.inner.record_rejection(probe, expected_version, audit)
    }
    fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.note("append_audit");
        self.inner.append_audit(event)
    }
    fn audit_trail(&self, id: &TokenId, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.audit_trail(id, limit)
    }
}

fn id(text: &str) -> TokenId {
    TokenId::new(text).unwrap()
}

fn customer(text: &str) -> CustomerRef {
    CustomerRef::new(text).unwrap()
}

fn bank<S: Store>(store: S) -> (Validator<S, ManualClock>, ManualClock) {
    let clock = ManualClock::at_secs(NOW);
    let keyring = Keyring::new(SealingKey::new(1, &[9; 32]).unwrap());
    (Validator::new(store, clock.clone(), keyring), clock)
}

fn code(secret: &Secret, clock: &ManualClock) -> String {
    Totp::new(secret, TotpParameters::default())
        .unwrap()
        .now(clock)
        .unwrap()
        .to_string()
}

/// Enrols a TOTP token `name` for `owner` and returns its secret.
fn enrol_for<S: Store, C: TimeSource>(
    validator: &Validator<S, C>,
    name: &str,
    owner: &CustomerRef,
) -> Secret {
    let secret = Secret::generate_default().unwrap();
    validator
        .enrol(
            Enrolment::new(id(name), secret.clone(), TotpParameters::default())
                .with_owner(owner.clone()),
        )
        .unwrap();
    secret
}

fn failures<S: Store, C: TimeSource>(validator: &Validator<S, C>, name: &str) -> u32 {
    validator
        .store()
        .load(&id(name))
        .unwrap()
        .unwrap()
        .state
        .failures
}

/// Item 1: the same store work whichever of a customer's tokens matches, or none, and
/// whatever the number of tokens the customer holds: one owner lookup, then a read and
/// a compare-and-swap-shaped write for each of `MAX_TOKENS_PER_CUSTOMER` slots.
/// Before padding, a customer with one token made one read and one write, with two
/// tokens two of each.
#[test]
fn a_customer_verification_does_the_same_work_whichever_token_matches() {
    let (validator, clock) = bank(CountingStore::default());
    let two = customer("CUST-TWO");
    let one = customer("CUST-ONE");
    let fob = enrol_for(&validator, "two-fob", &two);
    let phone = enrol_for(&validator, "two-phone", &two);
    let single = enrol_for(&validator, "one-fob", &one);
    let _ = validator.store().take();
    let mut shapes = Vec::new();
    for (owner, typed) in [
        (&two, code(&fob, &clock)),
        (&two, code(&phone, &clock)),
        (&two, "000000".to_owned()),
        (&one, code(&single, &clock)),
        (&one, "000000".to_owned()),
        (&customer("CUST-NONE"), "000000".to_owned()),
    ] {
        let _ = validator.verify_customer(owner, &typed, None);
        let calls = validator.store().take();
        shapes.push(calls);
        clock.advance(Duration::from_secs(30));
    }
    let expected: Vec<&str> = std::iter::once("tokens_of")
        .chain(std::iter::repeat_n("load", MAX_TOKENS_PER_CUSTOMER))
        .chain(std::iter::repeat_n("write", MAX_TOKENS_PER_CUSTOMER))
        .collect();
    for (case, shape) in shapes.iter().enumerate() {
        assert_eq!(shape, &expected, "case {case}");
    }
}

/// Item 1: the code is accepted for the token it belongs to, once; the other token is
/// left unchanged; a wrong code counts a failure on every token of the customer.
#[test]
fn a_customer_code_is_accepted_for_its_token_once() {
    let (validator, clock) = bank(MemoryStore::new());
    let owner = customer("CUST-0001");
    let fob = enrol_for(&validator, "fob", &owner);
    let phone = enrol_for(&validator, "phone", &owner);
    let typed = code(&phone, &clock);
    let accepted = validator.verify_customer(&owner, &typed, None).unwrap();
    assert_eq!(accepted.token, id("phone"));
    let replay = validator.verify_customer(&owner, &typed, None).unwrap_err();
    assert_eq!(replay.to_string(), "code rejected");
    // The replay counted on both tokens, since it matched no usable code.
    assert_eq!(
        (failures(&validator, "fob"), failures(&validator, "phone")),
        (1, 1)
    );
    let _ = validator.verify_customer(&owner, "123456", None);
    assert_eq!(
        (failures(&validator, "fob"), failures(&validator, "phone")),
        (2, 2)
    );
    // A success on one token clears its count only.
    clock.advance(Duration::from_secs(30));
    let accepted = validator
        .verify_customer(&owner, &code(&fob, &clock), None)
        .unwrap();
    assert_eq!(accepted.token, id("fob"));
    assert_eq!(
        (failures(&validator, "fob"), failures(&validator, "phone")),
        (0, 2)
    );
    // Another customer's code is not this customer's.
    let stranger = customer("CUST-0002");
    let theirs = enrol_for(&validator, "theirs", &stranger);
    assert!(
        validator
            .verify_customer(&owner, &code(&theirs, &clock), None)
            .is_err()
    );
}

/// Item 1: two tokens sharing a secret (the same code): one request takes it for one
/// token only, the first in id order; the other is written unchanged.
#[test]
fn one_request_accepts_for_one_token_only() {
    let (validator, clock) = bank(MemoryStore::new());
    let owner = customer("CUST-TWIN");
    let secret = enrol_for(&validator, "twin-a", &owner);
    validator
        .enrol(
            Enrolment::new(id("twin-b"), secret.clone(), TotpParameters::default())
                .with_owner(owner.clone()),
        )
        .unwrap();
    let typed = code(&secret, &clock);
    assert_eq!(
        validator
            .verify_customer(&owner, &typed, None)
            .unwrap()
            .token,
        id("twin-a")
    );
    let last = |name: &str| match validator
        .store()
        .load(&id(name))
        .unwrap()
        .unwrap()
        .state
        .kind
    {
        otpfob::validator::TokenKind::Time {
            last_accepted_step, ..
        } => last_accepted_step,
        other => panic!("{other:?}"),
    };
    assert!(last("twin-a").is_some());
    assert_eq!(last("twin-b"), None);
    let trail = validator.store().audit_trail(&id("twin-b"), 1).unwrap();
    assert_eq!(
        trail[0].outcome,
        Outcome::Rejected(RejectReason::OtherTokenMatched)
    );
}

/// Item 1: owners are validated, a token belongs to one customer, a customer holds at
/// most `MAX_TOKENS_PER_CUSTOMER`, and assignments are audited.
#[test]
fn owners_are_assigned_once_and_bounded() {
    let (validator, _clock) = bank(MemoryStore::new());
    let owner = customer("CUST-0001");
    let other = customer("CUST-0002");
    for index in 0..MAX_TOKENS_PER_CUSTOMER {
        let name = format!("t{index}");
        validator
            .enrol(
                Enrolment::generate(id(&name), TotpParameters::default())
                    .unwrap()
                    .0,
            )
            .unwrap();
        validator.assign_owner(&id(&name), &owner).unwrap();
    }
    let trail = validator.store().audit_trail(&id("t0"), 1).unwrap();
    assert_eq!(trail[0].operation, Operation::AssignOwner);
    validator
        .enrol(
            Enrolment::generate(id("extra"), TotpParameters::default())
                .unwrap()
                .0,
        )
        .unwrap();
    assert!(matches!(
        validator.assign_owner(&id("extra"), &owner),
        Err(ValidatorError::Lifecycle { .. })
    ));
    assert!(matches!(
        validator.assign_owner(&id("t0"), &other),
        Err(ValidatorError::Lifecycle { .. })
    ));
    // Assigning to the same owner again is harmless.
    validator.assign_owner(&id("t0"), &owner).unwrap();
    validator.unassign_owner(&id("t0")).unwrap();
    validator.assign_owner(&id("t0"), &other).unwrap();
    validator.assign_owner(&id("extra"), &owner).unwrap();
    let trail = validator.store().audit_trail(&id("t0"), 2).unwrap();
    assert_eq!(
        trail
            .iter()
            .map(|event| event.operation)
            .collect::<Vec<_>>(),
        [Operation::UnassignOwner, Operation::AssignOwner]
    );
    assert!(CustomerRef::new("two words").is_err());
}

/// Items 2 and 3: a lost fob is refused (the phone still works), found it works
/// again; `enable` does not bring back a lost or revoked token; revoked is final;
/// `replace` revokes the fob and enrols the new one for the same customer.
#[test]
fn lost_found_revoked_and_replaced() {
    let (validator, clock) = bank(MemoryStore::new());
    let owner = customer("CUST-LOST");
    let fob = enrol_for(&validator, "fob", &owner);
    let phone = enrol_for(&validator, "phone", &owner);
    validator.report_lost(&id("fob")).unwrap();
    let lost = validator
        .verify(&id("fob"), &code(&fob, &clock), None)
        .unwrap_err();
    assert_eq!(lost.reason(), RejectReason::Lost);
    // A refused state counts nothing: the customer typed nothing wrong.
    assert_eq!(failures(&validator, "fob"), 0);
    assert_eq!(
        validator
            .verify_customer(&owner, &code(&phone, &clock), None)
            .unwrap()
            .token,
        id("phone")
    );
    assert!(matches!(
        validator.enable(&id("fob")),
        Err(ValidatorError::Lifecycle { .. })
    ));
    validator.report_found(&id("fob")).unwrap();
    assert!(
        validator
            .verify(&id("fob"), &code(&fob, &clock), None)
            .is_ok()
    );
    assert!(matches!(
        validator.report_found(&id("fob")),
        Err(ValidatorError::Lifecycle { .. })
    ));

    clock.advance(Duration::from_secs(30));
    let (replacement, new_secret) =
        Enrolment::generate(id("fob-2"), TotpParameters::default()).unwrap();
    assert_eq!(
        validator.replace(&id("fob"), replacement).unwrap(),
        id("fob-2")
    );
    let old = validator.store().load(&id("fob")).unwrap().unwrap();
    assert_eq!(old.state.status, Status::Revoked);
    assert_eq!(old.owner, None);
    assert_eq!(
        validator.store().tokens_of(&owner).unwrap(),
        [id("fob-2"), id("phone")]
    );
    let revoked = validator
        .verify(&id("fob"), &code(&fob, &clock), None)
        .unwrap_err();
    assert_eq!(revoked.reason(), RejectReason::Revoked);
    assert!(
        validator
            .verify_customer(&owner, &code(&new_secret, &clock), None)
            .is_ok()
    );
    for change in [
        validator.enable(&id("fob")),
        validator.disable(&id("fob")),
        validator.report_lost(&id("fob")),
        validator.report_found(&id("fob")),
    ] {
        assert!(
            matches!(change, Err(ValidatorError::Lifecycle { .. })),
            "{change:?}"
        );
    }
}

/// Item 2: the validity period from an enrolment (a factory record's or a PSKC's) is
/// enforced: before it and from its end every code is refused, counting nothing.
#[test]
fn the_validity_period_is_enforced() {
    let (validator, clock) = bank(MemoryStore::new());
    let secret = Secret::generate_default().unwrap();
    let period = Validity::new(
        Some(UnixTime::from_secs(NOW + 60)),
        Some(UnixTime::from_secs(NOW + 3600)),
    )
    .unwrap();
    validator
        .enrol(
            Enrolment::new(id("dated"), secret.clone(), TotpParameters::default())
                .with_validity(period),
        )
        .unwrap();
    let early = validator
        .verify(&id("dated"), &code(&secret, &clock), None)
        .unwrap_err();
    assert_eq!(early.reason(), RejectReason::NotYetValid);
    clock.advance(Duration::from_secs(60));
    assert!(
        validator
            .verify(&id("dated"), &code(&secret, &clock), None)
            .is_ok()
    );
    clock.advance(Duration::from_secs(3600));
    let late = validator
        .verify(&id("dated"), &code(&secret, &clock), None)
        .unwrap_err();
    assert_eq!(late.reason(), RejectReason::Expired);
    assert_eq!(failures(&validator, "dated"), 0);
}

/// Item 4: the helpdesk finds which token a code is, a lost one's too, and a spent
/// one as spent, changing no record.
#[test]
fn the_helpdesk_lookup_finds_without_accepting() {
    let (validator, clock) = bank(MemoryStore::new());
    let owner = customer("CUST-HELP");
    let fob = enrol_for(&validator, "fob", &owner);
    let phone = enrol_for(&validator, "phone", &owner);
    validator.report_lost(&id("fob")).unwrap();
    let states =
        || ["fob", "phone"].map(|name| validator.store().load(&id(name)).unwrap().unwrap().state);
    let before = states();
    let found = validator
        .lookup_customer_code(&owner, &code(&fob, &clock))
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.token, found.spent, found.status),
        (id("fob"), false, Status::Lost)
    );
    assert_eq!(
        validator.lookup_customer_code(&owner, "000000").unwrap(),
        None
    );
    // Nothing changed but the trail: each lookup is a link of each token's chain.
    assert_eq!(states(), before);
    for name in ["fob", "phone"] {
        let report = validator.verify_audit_chain(&id(name)).unwrap();
        assert!(report.broken.is_none(), "{report:?}");
        let trail = validator.store().audit_trail(&id(name), 2).unwrap();
        assert!(
            trail
                .iter()
                .all(|event| event.operation == Operation::Lookup && event.chain.is_some()),
            "{trail:?}"
        );
    }
    let phone_code = code(&phone, &clock);
    let found = validator
        .lookup_customer_code(&owner, &phone_code)
        .unwrap()
        .unwrap();
    assert_eq!((found.token.clone(), found.spent), (id("phone"), false));
    // Not accepted: the code still logs in, once; then the lookup says it is spent.
    assert!(validator.verify(&id("phone"), &phone_code, None).is_ok());
    let found = validator
        .lookup_customer_code(&owner, &phone_code)
        .unwrap()
        .unwrap();
    assert_eq!((found.token, found.spent), (id("phone"), true));
    let trail = validator.store().audit_trail(&id("phone"), 1).unwrap();
    assert_eq!(
        (trail[0].operation, trail[0].outcome),
        (Operation::Lookup, Outcome::Done)
    );
}

/// Item 5 through the validator: the fifth wrong code blocks (RTS Art. 4(3)(b)); the
/// blocks are temporary, the third raises the `block_alert` audit event, and the
/// fourth is permanent (Art. 4(5)).
#[test]
fn psd2_blocks_alert_then_become_permanent() {
    let (validator, clock) = bank(MemoryStore::new());
    let validator = validator.with_policy(Policy::psd2()).unwrap();
    let secret = Secret::generate_default().unwrap();
    validator
        .enrol(Enrolment::new(
            id("psd2"),
            secret.clone(),
            TotpParameters::default(),
        ))
        .unwrap();
    let wrong = |validator: &Validator<MemoryStore, ManualClock>| {
        let right = code(&secret, &clock);
        let wrong = if right == "000000" {
            "111111"
        } else {
            "000000"
        };
        validator.verify(&id("psd2"), wrong, None).unwrap_err()
    };
    for _ in 0..4 {
        assert_eq!(wrong(&validator).reason(), RejectReason::WrongCode);
    }
    assert_eq!(wrong(&validator).reason(), RejectReason::WrongCode);
    let locked = validator
        .verify(&id("psd2"), &code(&secret, &clock), None)
        .unwrap_err();
    assert_eq!(locked.reason(), RejectReason::Locked);
    let alerts = || {
        validator
            .store()
            .audit_trail(&id("psd2"), 1000)
            .unwrap()
            .iter()
            .filter(|event| event.operation == Operation::BlockAlert)
            .count()
    };
    assert_eq!(alerts(), 0);
    for block in 2..=4 {
        // Past the temporary block: one more wrong code blocks again.
        let record = validator.store().load(&id("psd2")).unwrap().unwrap();
        let Lock::Until { until } = record.state.lock else {
            panic!("block {block}: {:?}", record.state.lock)
        };
        clock.set(until);
        assert_eq!(wrong(&validator).reason(), RejectReason::WrongCode);
        assert_eq!(alerts(), usize::from(block >= 3), "block {block}");
    }
    let record = validator.store().load(&id("psd2")).unwrap().unwrap();
    assert!(matches!(record.state.lock, Lock::UntilUnlocked { .. }));
    // The alert is a link of the token's chain: deleting its row would be detected.
    let trail = validator.store().audit_trail(&id("psd2"), 1000).unwrap();
    let alert = trail
        .iter()
        .find(|event| event.operation == Operation::BlockAlert)
        .unwrap();
    assert!(alert.chain.is_some(), "{alert:?}");
    assert!(
        validator
            .verify_audit_chain(&id("psd2"))
            .unwrap()
            .broken
            .is_none()
    );
    clock.advance(Duration::from_secs(365 * 24 * 3600));
    let permanent = validator
        .verify(&id("psd2"), &code(&secret, &clock), None)
        .unwrap_err();
    assert_eq!(permanent.reason(), RejectReason::Locked);
    validator.unlock(&id("psd2")).unwrap();
    assert!(
        validator
            .verify(&id("psd2"), &code(&secret, &clock), None)
            .is_ok()
    );
}

/// Enrols a TOTP token `name` for `owner`, reports it lost, and returns its secret.
fn lost_fob(validator: &Validator<MemoryStore, ManualClock>, name: &str, owner: &CustomerRef) {
    enrol_for(validator, name, owner);
    validator.report_lost(&id(name)).unwrap();
}

fn uses(count: u32) -> NonZeroU32 {
    NonZeroU32::new(count).unwrap()
}

/// Item 3: a short list of single-use emergency codes for a lost fob's customer, shown
/// once: each is accepted once, in the list's order; the list ends at its number of
/// uses and at its lifetime; it is refused for a token not lost, without a customer,
/// or longer than the most allowed; `Debug` shows no code.
#[test]
fn emergency_codes_are_single_use_and_end_on_their_own() {
    let (validator, clock) = bank(MemoryStore::new());
    let owner = customer("CUST-EMERGENCY");
    lost_fob(&validator, "fob", &owner);
    let list = validator
        .issue_emergency_codes(
            &id("fob"),
            id("fob.emergency"),
            uses(3),
            Duration::from_secs(86_400),
        )
        .unwrap();
    assert_eq!(list.token(), &id("fob.emergency"));
    let codes: Vec<String> = list.codes().map(str::to_owned).collect();
    assert_eq!(codes.len(), 3);
    assert!(codes.iter().all(|code| code.len() == 8));
    let shown = format!("{list:?}");
    assert!(
        codes.iter().all(|code| !shown.contains(code.as_str())),
        "{shown}"
    );
    let record = validator
        .store()
        .load(&id("fob.emergency"))
        .unwrap()
        .unwrap();
    assert_eq!(record.owner.as_ref(), Some(&owner));
    assert_eq!(record.replaces, Some(id("fob")));
    assert_eq!(record.state.uses_left, Some(3));

    for (index, code) in codes.iter().enumerate() {
        let accepted = validator.verify_customer(&owner, code, None).unwrap();
        assert_eq!(accepted.token, id("fob.emergency"), "code {index}");
        // Single use: the same code again is refused.
        assert!(validator.verify_customer(&owner, code, None).is_err());
    }
    // All three used: the list is spent, whatever is typed.
    let record = validator
        .store()
        .load(&id("fob.emergency"))
        .unwrap()
        .unwrap();
    assert_eq!(record.state.uses_left, Some(0));
    let spent = validator
        .verify(&id("fob.emergency"), &codes[2], None)
        .unwrap_err();
    assert_eq!(spent.reason(), RejectReason::UsesSpent);

    // A second list, unused, ends with its lifetime.
    let second = validator
        .issue_emergency_codes(
            &id("fob"),
            id("fob.emergency-2"),
            uses(2),
            Duration::from_secs(3600),
        )
        .unwrap();
    let first = second.codes().next().unwrap().to_owned();
    clock.advance(Duration::from_secs(3600));
    let late = validator
        .verify(&id("fob.emergency-2"), &first, None)
        .unwrap_err();
    assert_eq!(late.reason(), RejectReason::Expired);

    for refused in [
        validator.issue_emergency_codes(
            &id("fob"),
            id("fob.too-many"),
            uses(otpfob::validator::MAX_EMERGENCY_CODES + 1),
            Duration::from_secs(60),
        ),
        validator.issue_emergency_codes(
            &id("fob.emergency"),
            id("not-lost"),
            uses(1),
            Duration::from_secs(60),
        ),
    ] {
        assert!(
            matches!(refused, Err(ValidatorError::Lifecycle { .. })),
            "{refused:?}"
        );
    }
    validator
        .enrol(Enrolment::new(
            id("ownerless"),
            Secret::generate_default().unwrap(),
            TotpParameters::default(),
        ))
        .unwrap();
    validator.report_lost(&id("ownerless")).unwrap();
    assert!(matches!(
        validator.issue_emergency_codes(
            &id("ownerless"),
            id("ownerless.emergency"),
            uses(1),
            Duration::from_secs(60),
        ),
        Err(ValidatorError::Lifecycle { .. })
    ));
    assert!(
        validator
            .store()
            .load(&id("ownerless.emergency"))
            .unwrap()
            .is_none()
    );
}

/// Item 3: a temporary soft token that ends at a set number of uses: each acceptance
/// takes one, a wrong code none; after the last, every code is refused as spent.
#[test]
fn a_temporary_replacement_ends_at_its_number_of_uses() {
    let (validator, clock) = bank(MemoryStore::new());
    let owner = customer("CUST-USES");
    lost_fob(&validator, "fob", &owner);
    let (soft, secret) = Enrolment::generate(id("soft"), TotpParameters::default()).unwrap();
    validator
        .issue_temporary_replacement(
            &id("fob"),
            soft.with_use_limit(uses(2)),
            Duration::from_secs(7 * 86_400),
        )
        .unwrap();
    assert!(validator.verify(&id("soft"), "000000", None).is_err());
    for _ in 0..2 {
        assert!(
            validator
                .verify_customer(&owner, &code(&secret, &clock), None)
                .is_ok()
        );
        clock.advance(Duration::from_secs(30));
    }
    let spent = validator
        .verify(&id("soft"), &code(&secret, &clock), None)
        .unwrap_err();
    assert_eq!(spent.reason(), RejectReason::UsesSpent);
    // The helpdesk's lookup still finds a spent replacement's code.
    let found = validator
        .lookup_customer_code(&owner, &code(&secret, &clock))
        .unwrap()
        .unwrap();
    assert_eq!(found.token, id("soft"));
}

/// Item 3: "found" re-enables the fob and ends its temporary replacements (a soft
/// token and a list of emergency codes), and "replace" revokes the fob and them; the
/// customer's other tokens, and another lost token's replacement, stay as they were.
#[test]
fn found_or_replaced_fobs_end_their_temporary_replacements() {
    let (validator, clock) = bank(MemoryStore::new());
    let owner = customer("CUST-FOUND");
    let phone = enrol_for(&validator, "phone", &owner);
    lost_fob(&validator, "fob", &owner);
    let (soft, soft_secret) = Enrolment::generate(id("soft"), TotpParameters::default()).unwrap();
    validator
        .issue_temporary_replacement(&id("fob"), soft, Duration::from_secs(86_400))
        .unwrap();
    let list = validator
        .issue_emergency_codes(
            &id("fob"),
            id("codes"),
            uses(2),
            Duration::from_secs(86_400),
        )
        .unwrap();
    let listed = list.codes().next().unwrap().to_owned();
    validator.report_found(&id("fob")).unwrap();
    let status = |name: &str| {
        validator
            .store()
            .load(&id(name))
            .unwrap()
            .unwrap()
            .state
            .status
    };
    assert_eq!(status("fob"), Status::Active);
    assert_eq!(status("soft"), Status::Revoked);
    assert_eq!(status("codes"), Status::Revoked);
    assert_eq!(status("phone"), Status::Active);
    for (token, typed) in [("soft", code(&soft_secret, &clock)), ("codes", listed)] {
        let refused = validator.verify(&id(token), &typed, None).unwrap_err();
        assert_eq!(refused.reason(), RejectReason::Revoked, "{token}");
    }
    assert!(
        validator
            .verify_customer(&owner, &code(&phone, &clock), None)
            .is_ok()
    );

    // Lost again, with a new replacement, beside another lost fob's replacement
    // (the customer's four tokens, the most allowed): "replace" ends the fob's
    // replacement with it, and only that one.
    validator.report_lost(&id("fob")).unwrap();
    let (soft2, _) = Enrolment::generate(id("soft-2"), TotpParameters::default()).unwrap();
    validator
        .issue_temporary_replacement(&id("fob"), soft2, Duration::from_secs(86_400))
        .unwrap();
    lost_fob(&validator, "other-fob", &owner);
    assert!(matches!(
        validator.issue_temporary_replacement(
            &id("other-fob"),
            Enrolment::generate(id("soft-other"), TotpParameters::default())
                .unwrap()
                .0,
            Duration::from_secs(86_400),
        ),
        Err(ValidatorError::Lifecycle { .. })
    ));
    let (new_fob, _) = Enrolment::generate(id("fob-new"), TotpParameters::default()).unwrap();
    validator.replace(&id("fob"), new_fob).unwrap();
    assert_eq!(status("fob"), Status::Revoked);
    assert_eq!(status("soft-2"), Status::Revoked);
    assert_eq!(status("fob-new"), Status::Active);
    // Two places freed: the other fob's replacement now fits, and survives "found"
    // of a fob it does not replace.
    let (other_soft, _) = Enrolment::generate(id("soft-other"), TotpParameters::default()).unwrap();
    validator
        .issue_temporary_replacement(&id("other-fob"), other_soft, Duration::from_secs(86_400))
        .unwrap();
    validator.report_lost(&id("fob-new")).unwrap();
    validator.report_found(&id("fob-new")).unwrap();
    assert_eq!(status("soft-other"), Status::Active);
    assert_eq!(
        validator.store().tokens_of(&owner).unwrap(),
        [
            id("fob-new"),
            id("other-fob"),
            id("phone"),
            id("soft-other")
        ]
    );
    let audited: Vec<Operation> = validator
        .store()
        .audit_trail(&id("soft-2"), 5)
        .unwrap()
        .iter()
        .map(|event| event.operation)
        .collect();
    assert!(audited.contains(&Operation::Revoke), "{audited:?}");
}

/// Issue 18, item 5, through a customer's verification: a PIN hash carried at another
/// Argon2id cost (a migration's) is rehashed at the validator's own cost in the write
/// that accepts the first code with the right PIN; a wrong PIN leaves it as it was.
/// Before, only `verify` rehashed: `verify_customer` kept the old server's cost for
/// good.
#[test]
fn a_customer_verification_rehashes_a_carried_pin() {
    use otpfob::validator::{CarriedState, PinHashing};
    let (validator, clock) = bank(MemoryStore::new());
    let owner = customer("CUST-MIGRATED");
    let secret = Secret::generate_default().unwrap();
    let mut carried = CarriedState::default();
    carried.pin_hash = Some(PinHashing::insecure_fast_for_tests().hash("2468").unwrap());
    validator
        .enrol(
            Enrolment::new(id("migrated"), secret.clone(), TotpParameters::default())
                .with_owner(owner.clone())
                .with_carried(carried),
        )
        .unwrap();
    let stored = || {
        validator
            .store()
            .load(&id("migrated"))
            .unwrap()
            .unwrap()
            .pin
            .unwrap()
            .as_phc()
            .to_owned()
    };
    let before = stored();
    assert!(before.contains("m=64,t=1"), "{before}");
    assert!(
        validator
            .verify_customer(&owner, &code(&secret, &clock), Some("1357"))
            .is_err()
    );
    assert_eq!(stored(), before, "a wrong PIN changes nothing");
    assert!(
        validator
            .verify_customer(&owner, &code(&secret, &clock), Some("2468"))
            .is_ok()
    );
    let after = stored();
    assert!(after.contains("m=19456,t=2,p=1"), "{after}");
    clock.advance(Duration::from_secs(30));
    assert!(
        validator
            .verify_customer(&owner, &code(&secret, &clock), Some("2468"))
            .is_ok()
    );
    assert!(
        validator
            .verify_audit_chain(&id("migrated"))
            .unwrap()
            .broken
            .is_none()
    );
}
