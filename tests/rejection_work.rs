//! Issue 11, item 2: every rejection does the same store work, so that its time does not
//! tell an attacker which ids are enrolled, locked or disabled. Before the fix an
//! unknown id wrote only an audit row, and a locked or disabled token appended one
//! outside any compare-and-swap, while a wrong code compare-and-swapped its record:
//! a store that counts its calls tells them apart, as a stopwatch does. Now each
//! rejection is exactly one compare-and-swap-shaped write: the record's own, or the
//! store's `record_rejection` probe where no record may be written. (The benchmark
//! `benches/rejection_timing.rs` measures the times themselves.)

use std::sync::{Arc, Mutex};

use otpfob::validator::{
    AuditEvent, Lockout, Operation, Outcome, PinHashing, Store, Swap, TokenRecord,
};
use otpfob::{
    Code, Enrolment, Keyring, ManualClock, MemoryStore, Policy, RejectReason, SealingKey, Secret,
    StoreError, TimeSource, TokenId, Totp, TotpParameters, Validator, Window,
};

const NOW: i64 = 1_767_225_600;

/// The store calls a verification made, by name.
#[derive(Default)]
struct CountingStore<S> {
    inner: S,
    calls: Mutex<Vec<&'static str>>,
}

impl<S: Store> CountingStore<S> {
    fn note(&self, call: &'static str) {
        self.calls.lock().unwrap().push(call);
    }
    fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl<S: Store> Store for CountingStore<S> {
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
        self.note("compare_and_swap");
        self.inner.compare_and_swap(record, expected_version, audit)
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
        self.note("record_rejection");
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

fn wrong_code(secret: &Secret) -> String {
    let totp = Totp::new(secret, TotpParameters::default()).unwrap();
    (0..1_000_000u32)
        .map(|value| Code::new(value, 6).unwrap())
        .find(|code| {
            totp.verify(code, NOW as u64, Window::symmetric(20))
                .is_err()
        })
        .unwrap()
        .to_string()
}

/// A validator over a counting store, the store, and a wrong code.
type Prepared<S> = (
    Validator<Arc<CountingStore<S>>, ManualClock>,
    Arc<CountingStore<S>>,
    String,
);

/// Enrols `ACTIVE`, `LOCKED`, `DISABLED` and `PINNED` (with a PIN), locks and disables
/// the two, and forgets the calls that took.
fn prepared<S: Store>(inner: S) -> Prepared<S> {
    let store = Arc::new(CountingStore {
        inner,
        calls: Mutex::default(),
    });
    let clock = ManualClock::at_secs(NOW);
    let validator = Validator::new(
        Arc::clone(&store),
        clock.clone(),
        Keyring::new(SealingKey::new(1, &[7; 32]).unwrap()),
    )
    .with_pin_hashing(PinHashing::insecure_fast_for_tests())
    .unwrap()
    .with_policy({
        let mut policy = Policy::default();
        policy.failure_limit = 3;
        policy.lockout = Lockout::UntilUnlocked;
        policy
    })
    .unwrap();
    let secret = Secret::generate_default().unwrap();
    for (name, pin) in [
        ("ACTIVE", None),
        ("LOCKED", None),
        ("DISABLED", None),
        ("PINNED", Some("2468")),
    ] {
        let enrolment = Enrolment::new(id(name), secret.clone(), TotpParameters::default());
        validator
            .enrol(match pin {
                Some(pin) => enrolment.with_pin(pin),
                None => enrolment,
            })
            .unwrap();
    }
    let code = wrong_code(&secret);
    for _ in 0..3 {
        let _ = validator.verify(&id("LOCKED"), &code, None);
    }
    validator.disable(&id("DISABLED")).unwrap();
    store.take();
    (validator, store, code)
}

fn every_rejection_writes_once<S: Store>(inner: S) {
    let (validator, store, code) = prepared(inner);
    let cases: [(&str, &str, Option<&str>, RejectReason); 8] = [
        ("ACTIVE", code.as_str(), None, RejectReason::WrongCode),
        ("ACTIVE", "12", None, RejectReason::Malformed),
        (
            "ACTIVE",
            code.as_str(),
            Some("1357"),
            RejectReason::WrongPin,
        ),
        (
            "PINNED",
            code.as_str(),
            Some("1357"),
            RejectReason::WrongPin,
        ),
        ("LOCKED", code.as_str(), None, RejectReason::Locked),
        ("DISABLED", code.as_str(), None, RejectReason::Disabled),
        (
            "NOT-ENROLLED",
            code.as_str(),
            None,
            RejectReason::UnknownToken,
        ),
        (
            "NOT-ENROLLED",
            code.as_str(),
            Some("2468"),
            RejectReason::UnknownToken,
        ),
    ];
    for (name, code, pin, reason) in cases {
        let before = store.audit_trail(&id(name), 1000).unwrap().len();
        let rejected = validator.verify(&id(name), code, pin).unwrap_err();
        assert_eq!(rejected.reason(), reason, "{name}");
        let calls = store.take();
        // One load and one write; the write is the record's own compare-and-swap for
        // an enrolled token, the probe for an unknown id.
        let expected_write = if reason == RejectReason::UnknownToken {
            "record_rejection"
        } else {
            "compare_and_swap"
        };
        assert_eq!(calls, ["load", expected_write], "{name} {reason:?}");
        let trail = store.audit_trail(&id(name), 1000).unwrap();
        assert_eq!(trail.len(), before + 1, "{name}: one audit row");
        assert_eq!(
            trail.last().unwrap().outcome,
            Outcome::Rejected(reason),
            "{name}"
        );
        assert_eq!(trail.last().unwrap().operation, Operation::Verify);
    }
    // Nothing was enrolled by asking for an unknown id.
    assert_eq!(store.load(&id("NOT-ENROLLED")).unwrap(), None);
}

#[test]
fn every_rejection_writes_once_on_memory() {
    every_rejection_writes_once(MemoryStore::new());
}

#[cfg(feature = "sqlite")]
#[test]
fn every_rejection_writes_once_on_sqlite() {
    let directory = tempfile::tempdir().unwrap();
    every_rejection_writes_once(otpfob::SqliteStore::open(directory.path().join("t.db")).unwrap());
}

/// A tampered record writes nothing over itself (that would authenticate the edit),
/// only the probe's audit row.
#[test]
fn a_tampered_record_is_rejected_through_the_probe() {
    let (validator, store, code) = prepared(MemoryStore::new());
    let mut edited = store.load(&id("LOCKED")).unwrap().unwrap();
    let version = edited.version;
    edited.state.failures = 0;
    edited.state.lock = otpfob::validator::Lock::Unlocked;
    edited.version += 1;
    let audit = AuditEvent {
        token: id("LOCKED"),
        at: validator.clock().now(),
        operation: Operation::Unlock,
        outcome: Outcome::Done,
        offset: None,
        actor: None,
        context: Default::default(),
        reason: None,
        chain: None,
    };
    assert_eq!(
        store
            .inner
            .compare_and_swap(&edited, version, &audit)
            .unwrap(),
        Swap::Swapped
    );
    store.take();
    let rejected = validator.verify(&id("LOCKED"), &code, None).unwrap_err();
    assert_eq!(rejected.reason(), RejectReason::RecordTampered);
    assert_eq!(store.take(), ["load", "record_rejection"]);
    assert_eq!(store.load(&id("LOCKED")).unwrap(), Some(edited));
}

/// Every answer is the same to the caller, whatever the reason.
#[test]
fn rejections_look_alike() {
    let (validator, _store, code) = prepared(MemoryStore::new());
    let answers: Vec<String> = ["ACTIVE", "LOCKED", "DISABLED", "NOT-ENROLLED"]
        .iter()
        .map(|name| {
            validator
                .verify(&id(name), &code, None)
                .unwrap_err()
                .to_string()
        })
        .collect();
    assert!(
        answers.iter().all(|answer| answer == "code rejected"),
        "{answers:?}"
    );
}

/// The WAL frames (pages) one call of `act` commits: the most common count over
/// `rounds` calls, so that an audit page splitting now and then does not decide it.
#[cfg(feature = "sqlite")]
fn frames_per_call(wal: &std::path::Path, rounds: usize, mut act: impl FnMut()) -> u64 {
    const FRAME: u64 = 4096 + 24;
    let size = || std::fs::metadata(wal).map_or(0, |metadata| metadata.len());
    let mut counts = std::collections::BTreeMap::<u64, usize>::new();
    for _ in 0..rounds {
        let before = size();
        act();
        *counts.entry((size() - before) / FRAME).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|&(_, times)| times)
        .map(|(frames, _)| frames)
        .unwrap()
}

/// A rejection for an unknown id commits as many pages as a wrong code, a locked or a
/// disabled token: before `rejection_probes` (schema version 7) its probe's UPDATE
/// matched no row and committed one page fewer (the audit table's and its index's,
/// without a token page), which made it about 20 % faster on SQLite.
#[cfg(feature = "sqlite")]
fn every_rejection_commits_as_many_pages(options: &otpfob::store::SqliteOptions) {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("t.db");
    let store = otpfob::SqliteStore::open_with(&path, options).unwrap();
    let (validator, _store, code) = prepared(store);
    let wal = directory.path().join("t.db-wal");
    let frames: Vec<(&str, u64)> = ["ACTIVE", "LOCKED", "DISABLED", "NOT-ENROLLED"]
        .into_iter()
        .map(|name| {
            let frames = frames_per_call(&wal, 9, || {
                let rejected = validator.verify(&id(name), &code, None).unwrap_err();
                assert!(!rejected.to_string().is_empty());
            });
            (name, frames)
        })
        .collect();
    assert!(frames[0].1 > 0, "a rejection commits pages: {frames:?}");
    assert!(
        frames.iter().all(|&(_, count)| count == frames[0].1),
        "pages committed per rejection differ: {frames:?}"
    );
}

#[cfg(feature = "sqlite")]
#[test]
fn every_rejection_commits_as_many_pages_on_sqlite() {
    every_rejection_commits_as_many_pages(
        &otpfob::store::SqliteOptions::default().without_group_commit(),
    );
}

#[cfg(feature = "sqlite")]
#[test]
fn every_rejection_commits_as_many_pages_on_sqlite_with_group_commit() {
    every_rejection_commits_as_many_pages(&otpfob::store::SqliteOptions::default());
}
