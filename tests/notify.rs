//! Issue 15, item 7: notices for a locked token, the last temporary block, a lost,
//! replaced or revoked token, and a token whose period ends soon, each delivered to
//! every notice sink after the store has the change, naming the token's customer and
//! the actor.

use std::sync::Arc;
use std::time::Duration;

use otpfob::validator::notify::{NoticeKind, NoticeLog};
use otpfob::validator::{CustomerRef, Lock, Store as _, Validity, acting_as};
use otpfob::{
    Enrolment, HotpParameters, Keyring, ManualClock, MemoryStore, Policy, SealingKey, Secret,
    TokenId, UnixTime, Validator,
};

const NOW: i64 = 1_767_225_600;

fn id(text: &str) -> TokenId {
    TokenId::new(text).unwrap()
}

fn bank<S: otpfob::validator::Store>(
    store: S,
) -> (Validator<S, ManualClock>, ManualClock, Arc<NoticeLog>) {
    let clock = ManualClock::at_secs(NOW);
    let keyring = Keyring::new(SealingKey::new(1, &[9; 32]).unwrap());
    let notices = Arc::new(NoticeLog::new());
    let validator =
        Validator::new(store, clock.clone(), keyring).with_notice_sink(Arc::clone(&notices));
    (validator, clock, notices)
}

fn kinds(notices: &NoticeLog) -> Vec<NoticeKind> {
    notices.all().iter().map(|notice| notice.kind).collect()
}

fn enrol_hotp<S: otpfob::validator::Store>(
    validator: &Validator<S, ManualClock>,
    name: &str,
    owner: &str,
) {
    let enrolment = Enrolment::new(
        id(name),
        Secret::from_bytes(b"12345678901234567890").unwrap(),
        HotpParameters::default(),
    )
    .with_owner(CustomerRef::new(owner).unwrap());
    validator.enrol(enrolment).unwrap();
}

#[test]
fn a_lock_is_noticed_once_with_the_customer() {
    let (validator, _, notices) = bank(MemoryStore::new());
    enrol_hotp(&validator, "FOB-1", "C-1");
    for _ in 0..9 {
        let _ = validator.verify(&id("FOB-1"), "000000", None);
    }
    assert!(kinds(&notices).is_empty());
    let _ = validator.verify(&id("FOB-1"), "000000", None);
    // Locked: further codes are refused, and are not noticed again.
    let _ = validator.verify(&id("FOB-1"), "000000", None);
    let all = notices.all();
    assert_eq!(kinds(&notices), [NoticeKind::Locked]);
    assert_eq!(all[0].token, id("FOB-1"));
    assert_eq!(all[0].owner.as_ref().map(CustomerRef::as_str), Some("C-1"));
    assert_eq!(all[0].at, UnixTime::from_secs(NOW));
}

#[test]
fn a_customers_wrong_codes_notice_the_lock_too() {
    let (validator, _, notices) = bank(MemoryStore::new());
    enrol_hotp(&validator, "FOB-1", "C-1");
    let owner = CustomerRef::new("C-1").unwrap();
    for _ in 0..10 {
        let _ = validator.verify_customer(&owner, "000000", None);
    }
    assert_eq!(kinds(&notices), [NoticeKind::Locked]);
}

/// PSD2: each temporary block is a lock notice; the third is also the alert before
/// the next block becomes permanent.
#[test]
fn the_psd2_alert_is_noticed_before_the_block_is_permanent() {
    let (validator, clock, notices) = bank(MemoryStore::new());
    let validator = validator.with_policy(Policy::psd2()).unwrap();
    enrol_hotp(&validator, "FOB-1", "C-1");
    for block in 1..=3 {
        for _ in 0..5 {
            let _ = validator.verify(&id("FOB-1"), "000000", None);
        }
        let record = validator.store().load(&id("FOB-1")).unwrap().unwrap();
        let Lock::Until { until } = record.state.lock else {
            panic!("block {block}: {:?}", record.state.lock)
        };
        clock.set(until);
    }
    assert_eq!(
        kinds(&notices),
        [
            NoticeKind::Locked,
            NoticeKind::Locked,
            NoticeKind::Locked,
            NoticeKind::BlockAlert
        ]
    );
    assert_eq!(
        notices.all()[3].owner.as_ref().map(CustomerRef::as_str),
        Some("C-1")
    );
}

#[test]
fn lost_revoked_and_replaced_are_noticed_with_the_actor() {
    let (validator, _, notices) = bank(MemoryStore::new());
    enrol_hotp(&validator, "FOB-1", "C-1");
    enrol_hotp(&validator, "FOB-2", "C-1");
    acting_as(Arc::from("helpdesk-7"), || {
        validator.report_lost(&id("FOB-1"))
    })
    .unwrap();
    // Found is not an event a customer is told about.
    validator.report_found(&id("FOB-1")).unwrap();
    let new = Enrolment::new(
        id("FOB-3"),
        Secret::generate_default().unwrap(),
        HotpParameters::default(),
    );
    acting_as(Arc::from("admin-1"), || {
        validator.replace(&id("FOB-1"), new)
    })
    .unwrap();
    acting_as(Arc::from("admin-1"), || validator.revoke(&id("FOB-2"))).unwrap();
    let all = notices.all();
    // A replacement is one notice, not a revocation and a replacement.
    assert_eq!(
        kinds(&notices),
        [NoticeKind::Lost, NoticeKind::Replaced, NoticeKind::Revoked]
    );
    assert_eq!(all[0].actor.as_deref(), Some("helpdesk-7"));
    assert_eq!(all[1].token, id("FOB-1"));
    assert_eq!(all[1].replaced_by, Some(id("FOB-3")));
    // The customer who held the revoked token, though revocation takes it from them.
    for notice in &all {
        assert_eq!(
            notice.owner.as_ref().map(CustomerRef::as_str),
            Some("C-1"),
            "{notice:?}"
        );
    }
    assert_eq!(all[2].actor.as_deref(), Some("admin-1"));
    // A refused change notices nothing.
    assert!(validator.report_found(&id("FOB-2")).is_err());
    assert_eq!(notices.all().len(), 3);
}

#[test]
fn the_scan_notices_tokens_whose_period_ends_within_the_time_ahead() {
    let (validator, clock, notices) = bank(MemoryStore::new());
    let day = 24 * 3600;
    let ending = |name: &str, days: i64| {
        let enrolment = Enrolment::new(
            id(name),
            Secret::generate_default().unwrap(),
            HotpParameters::default(),
        )
        .with_validity(Validity::new(None, Some(UnixTime::from_secs(NOW + days * day))).unwrap());
        validator.enrol(enrolment).unwrap();
    };
    ending("ends-in-10-days", 10);
    ending("ends-in-40-days", 40);
    ending("lost-ends-in-5-days", 5);
    enrol_hotp(&validator, "never-ends", "C-1");
    validator.report_lost(&id("lost-ends-in-5-days")).unwrap();
    let before = notices.all().len();
    let found = validator
        .notify_expiring(Duration::from_secs(30 * 24 * 3600))
        .unwrap();
    assert_eq!(found, 1);
    let scanned = &notices.all()[before..];
    assert_eq!(scanned.len(), 1);
    assert_eq!(scanned[0].kind, NoticeKind::ExpiringSoon);
    assert_eq!(scanned[0].token, id("ends-in-10-days"));
    assert_eq!(
        scanned[0].expires_at,
        Some(UnixTime::from_secs(NOW + 10 * day))
    );
    // The same expiry again on the next scan: an outbox keeps it once by its key.
    clock.advance(Duration::from_secs(day as u64));
    assert_eq!(
        validator
            .notify_expiring(Duration::from_secs(30 * 24 * 3600))
            .unwrap(),
        1
    );
    let all = notices.all();
    assert_eq!(all[all.len() - 1].once_key(), scanned[0].once_key());
    // Eleven days on, it has ended: no longer "soon".
    clock.advance(Duration::from_secs(10 * day as u64));
    let ahead = Duration::from_secs(day as u64);
    assert_eq!(validator.notify_expiring(ahead).unwrap(), 0);
}
