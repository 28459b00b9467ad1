//! Tokens exported by privacyIDEA 3.11.4 (`pi-tokenjanitor find export --format yaml`,
//! `--format csv` and `--format pskc`), written by `tests/data/migrate/privacyidea/make-fixtures` from
//! a real privacyIDEA server on SQLite after the tokens were used there (logins, wrong
//! codes, a lock, a disabled token, a clock two steps ahead); `codes.txt` lists every
//! code privacyIDEA was shown, with its answer and the time.
//!
//! After the import: every code privacyIDEA accepted is refused (spent), the next
//! code is accepted, a locked or disabled token stays so, failures and the PIN are
//! carried, and a failed import leaves nothing behind.
#![cfg(feature = "migrate")]

use std::sync::{Arc, Mutex};

use otpfob::migrate::{
    KeyEncoding, MigrateError, MigrationApplyError, MigrationChange, MigrationFile,
    MigrationFormat, MigrationVerdict, read_migration,
};
use otpfob::store::MemoryStore;
use otpfob::validator::{
    AuditEvent, CustomerRef, Lock, Operation, Outcome, RejectReason, Status, Store, StoreError,
    Swap, TokenRecord, Validity,
};
use otpfob::{
    Algorithm, Hotp, HotpParameters, Keyring, ManualClock, SealingKey, Secret, TokenId, Totp,
    TotpParameters, Validator,
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/migrate/privacyidea/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// `(serial, time, counter or step, code, accepted)` of every line of codes.txt.
fn codes() -> Vec<(String, i64, u64, String, bool)> {
    String::from_utf8(fixture("codes.txt"))
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            (
                fields[0].to_owned(),
                fields[1].parse().unwrap(),
                fields[2].parse().unwrap(),
                fields[3].to_owned(),
                fields[4] == "accepted",
            )
        })
        .collect()
}

/// The time of privacyIDEA's last answer: the import happens right after.
fn export_time() -> i64 {
    codes().iter().map(|line| line.1).max().unwrap()
}

fn bank<S: Store>(store: S, clock: &ManualClock) -> Validator<S, ManualClock> {
    Validator::new(
        store,
        clock.clone(),
        Keyring::new(SealingKey::generate(1).unwrap()),
    )
}

fn id(text: &str) -> TokenId {
    TokenId::new(text).unwrap()
}

fn seed20() -> Secret {
    Secret::from_bytes(b"12345678901234567890").unwrap()
}

fn hotp_code(secret: &Secret, parameters: HotpParameters, counter: u64) -> String {
    Hotp::new(secret, parameters)
        .unwrap()
        .at(counter)
        .to_string()
}

fn yaml_file() -> MigrationFile {
    read_migration(
        MigrationFormat::PrivacyIdeaYaml,
        &fixture("tokens.yaml"),
        KeyEncoding::Hex,
    )
    .unwrap()
}

#[test]
fn the_export_reads_with_every_state_privacyidea_kept() {
    let file = yaml_file();
    assert_eq!(file.entries.len(), 10);
    let token = |serial: &str| {
        file.entries
            .iter()
            .find(|entry| entry.serial.as_deref() == Some(serial))
            .unwrap()
            .token
            .as_ref()
            .unwrap()
    };
    let used = token("PI-HOTP-USED");
    assert_eq!(used.counter, 3);
    assert_eq!(
        used.owner.as_ref().map(CustomerRef::as_str),
        Some("alice@bank")
    );
    assert_eq!(used.description.as_deref(), Some("hotp sha1 fixture"));
    assert!(used.carried.pin_hash.is_some());
    assert_eq!(token("PI-HOTP-FAILS").carried.failures, 3);
    assert!(!token("PI-HOTP-FAILS").carried.locked);
    assert!(token("PI-HOTP-LOCKED").carried.locked);
    assert!(token("PI-HOTP-DISABLED").carried.disabled);
    let dated = token("PI-HOTP-SHA256");
    assert_eq!(dated.valid_from.unwrap().as_secs(), 1_767_225_600);
    assert_eq!(dated.valid_until.unwrap().as_secs(), 1_956_527_940);
    let ahead = token("PI-TOTP-AHEAD");
    assert_eq!(ahead.drift_steps(), 2);
    let (_, _, accepted_step, _, _) = codes()
        .into_iter()
        .find(|line| line.0 == "PI-TOTP-AHEAD")
        .unwrap();
    assert_eq!(ahead.carried.last_accepted_step, Some(accepted_step));
    // A code of the step privacyIDEA was in: its shift (some seconds below 0) is no
    // drift at all.
    assert_eq!(token("PI-TOTP-SHA512").drift_steps(), 0);
    assert_eq!(token("PI-TOTP-8-60").drift_steps(), 0);
    assert_eq!(token("PI-TOTP-SHA256-60").carried.last_accepted_step, None);
}

#[test]
fn dry_run_reports_every_token_and_writes_nothing() {
    let clock = ManualClock::at_secs(export_time());
    let validator = bank(MemoryStore::new(), &clock);
    let report = validator.plan_migration(&yaml_file());
    assert_eq!((report.would_enrol(), report.refused()), (10, 0));
    let ahead = report
        .outcomes
        .iter()
        .find(|outcome| outcome.serial.as_deref() == Some("PI-TOTP-AHEAD"))
        .unwrap();
    assert_eq!(
        ahead.owner.as_ref().map(CustomerRef::as_str),
        Some("alice@bank")
    );
    let MigrationVerdict::WouldEnrol { changes, .. } = &ahead.verdict else {
        panic!("{ahead:?}")
    };
    // privacyIDEA learned some 31 to 60 s: two 30 s steps, seen r seconds into the step.
    assert!(
        changes
            .iter()
            .any(|change| matches!(change, MigrationChange::TimeShiftRounded { steps: 2, .. }))
    );
    // The owner and the validity period are enrolled; only a description is not.
    assert!(!changes.iter().any(|change| matches!(
        change,
        MigrationChange::NotCarried { part } if *part != "description"
    )));
    let locked = report
        .outcomes
        .iter()
        .find(|outcome| outcome.serial.as_deref() == Some("PI-HOTP-LOCKED"))
        .unwrap();
    assert!(matches!(
        &locked.verdict,
        MigrationVerdict::WouldEnrol { changes, .. }
            if changes.contains(&MigrationChange::FailureLimit { old: 3, policy: 10 })
    ));
    assert!(validator.state(&id("PI-HOTP-USED")).unwrap().is_none());
}

#[test]
fn after_the_import_spent_codes_are_refused_and_next_codes_accepted() {
    let clock = ManualClock::at_secs(export_time());
    let validator = bank(MemoryStore::new(), &clock);
    let mut seen = Vec::new();
    let report = validator
        .apply_migration(&yaml_file(), |progress| seen.push(progress.done))
        .unwrap();
    assert_eq!(report.would_enrol(), 10);
    assert_eq!(seen, (1..=10).collect::<Vec<_>>());

    // Every code privacyIDEA accepted is spent here too.
    for (serial, _, _, code, accepted) in codes() {
        if accepted {
            let pin = (serial == "PI-HOTP-USED").then_some("1234");
            assert!(
                validator.verify(&id(&serial), &code, pin).is_err(),
                "{serial}: spent code {code} accepted after the import"
            );
        }
    }

    // HOTP: the next counter, behind the PIN privacyIDEA hashed (carried as is).
    let sha1 = HotpParameters::default();
    let next = hotp_code(&seed20(), sha1, 3);
    assert!(
        validator
            .verify(&id("PI-HOTP-USED"), &next, Some("0000"))
            .is_err()
    );
    let next = hotp_code(&seed20(), sha1, 4);
    assert!(
        validator
            .verify(&id("PI-HOTP-USED"), &next, Some("1234"))
            .is_ok()
    );

    let sha256 = HotpParameters {
        algorithm: Algorithm::Sha256,
        digits: 8,
    };
    let seed32 = Secret::from_bytes(b"12345678901234567890123456789012").unwrap();
    let first = hotp_code(&seed32, sha256, 0);
    assert!(
        validator
            .verify(&id("PI-HOTP-SHA256"), &first, None)
            .is_ok()
    );

    // Failures carried: three here, so seven more lock it under the default limit of 10.
    assert_eq!(
        validator
            .state(&id("PI-HOTP-FAILS"))
            .unwrap()
            .unwrap()
            .failures,
        3
    );

    // Locked in privacyIDEA: locked here, even for the right code, until unlocked.
    let locked = id("PI-HOTP-LOCKED");
    assert!(matches!(
        validator.state(&locked).unwrap().unwrap().lock,
        Lock::UntilUnlocked { .. }
    ));
    let first = hotp_code(&seed20(), sha1, 0);
    assert!(validator.verify(&locked, &first, None).is_err());
    validator.unlock(&locked).unwrap();
    assert!(validator.verify(&locked, &first, None).is_ok());

    // Disabled in privacyIDEA: disabled here.
    let disabled = id("PI-HOTP-DISABLED");
    assert_eq!(
        validator.state(&disabled).unwrap().unwrap().status,
        Status::Disabled
    );
    assert!(
        validator
            .verify(&disabled, &hotp_code(&seed20(), sha1, 1), None)
            .is_err()
    );

    // TOTP two steps ahead: its next step is accepted at once, with the learned drift.
    let now = u64::try_from(export_time()).unwrap();
    let totp = Totp::new(&seed20(), TotpParameters::default()).unwrap();
    let ahead = totp.at_step(now / 30 + 3).to_string();
    assert!(validator.verify(&id("PI-TOTP-AHEAD"), &ahead, None).is_ok());

    // TOTP whose code of this very step privacyIDEA accepted: the next step's code.
    let seed64 =
        Secret::from_bytes(b"1234567890123456789012345678901234567890123456789012345678901234")
            .unwrap();
    let sha512 = Totp::new(
        &seed64,
        TotpParameters {
            algorithm: Algorithm::Sha512,
            ..TotpParameters::default()
        },
    )
    .unwrap();
    let (_, _, step, _, _) = codes()
        .into_iter()
        .find(|line| line.0 == "PI-TOTP-SHA512")
        .unwrap();
    clock.set(otpfob::UnixTime::from_secs(
        i64::try_from((step + 1) * 30).unwrap(),
    ));
    let next = sha512.at_step(step + 1).to_string();
    assert!(validator.verify(&id("PI-TOTP-SHA512"), &next, None).is_ok());

    // HOTP SHA-512, 8 digits, counters 0 and 1 spent: counter 2 is next.
    let sha512_8 = HotpParameters {
        algorithm: Algorithm::Sha512,
        digits: 8,
    };
    let next = hotp_code(&seed64, sha512_8, 2);
    assert!(validator.verify(&id("PI-HOTP-SHA512"), &next, None).is_ok());
    assert!(
        validator
            .verify(&id("PI-HOTP-SHA512"), &next, None)
            .is_err()
    );

    // TOTP 8 digits, 60 s steps: the step after the one privacyIDEA accepted.
    let (_, _, step, _, _) = codes()
        .into_iter()
        .find(|line| line.0 == "PI-TOTP-8-60")
        .unwrap();
    clock.set(otpfob::UnixTime::from_secs(
        i64::try_from((step + 1) * 60).unwrap(),
    ));
    let sixty = Totp::new(
        &seed20(),
        TotpParameters {
            digits: 8,
            time_step: 60,
            ..TotpParameters::default()
        },
    )
    .unwrap();
    let next = sixty.at_step(step + 1).to_string();
    assert!(validator.verify(&id("PI-TOTP-8-60"), &next, None).is_ok());
}

/// privacyIDEA 3.11.4's `pi-tokenjanitor find export --format pskc` is no PSKC: its
/// HTML parser lowercases every element (`<keycontainer version="1.0">`), and the key
/// it encrypts under is never printed. otpfob (as python-pskc) refuses it, typed;
/// privacyIDEA's YAML export carries more anyway.
#[test]
fn privacyidea_pskc_export_is_refused_as_no_key_container() {
    let document = fixture("tokens.pskcxml");
    assert!(document.starts_with(b"<keycontainer version=\"1.0\""));
    let any_key = otpfob::pskc::PskcCredential::PreSharedKey(
        Secret::from_hex("000102030405060708090a0b0c0d0e0f").unwrap(),
    );
    assert_eq!(
        otpfob::pskc::read_pskc(&document, &any_key).unwrap_err(),
        otpfob::pskc::PskcError::NotKeyContainer {
            root: "keycontainer".to_owned()
        }
    );
}

#[test]
fn owners_are_enrolled_as_customers_and_validity_periods_enforced() {
    let clock = ManualClock::at_secs(export_time());
    let validator = bank(MemoryStore::new(), &clock);
    let report = validator.apply_migration(&yaml_file(), |_| {}).unwrap();
    assert_eq!(report.would_enrol(), 10);

    // privacyIDEA's owner is the tokens' customer: her code is found among her tokens.
    let alice = CustomerRef::new("alice@bank").unwrap();
    let mut held = validator.store().tokens_of(&alice).unwrap();
    held.sort();
    assert_eq!(held, [id("PI-HOTP-USED"), id("PI-TOTP-AHEAD")]);
    let now = u64::try_from(export_time()).unwrap();
    let totp = Totp::new(&seed20(), TotpParameters::default()).unwrap();
    let ahead = totp.at_step(now / 30 + 3).to_string();
    let accepted = validator.verify_customer(&alice, &ahead, None).unwrap();
    assert_eq!(accepted.token, id("PI-TOTP-AHEAD"));
    assert!(validator.verify_customer(&alice, &ahead, None).is_err());

    // The validity period (2026-01-01T00:00 to 2031-12-31T23:59): refused from its
    // end and before its start, accepted inside, and the refusals count nothing.
    let dated = id("PI-HOTP-SHA256");
    let (start, end) = (1_767_225_600, 1_956_527_940);
    assert_eq!(
        validator.state(&dated).unwrap().unwrap().validity,
        Validity::new(
            Some(otpfob::UnixTime::from_secs(start)),
            Some(otpfob::UnixTime::from_secs(end))
        )
        .unwrap()
    );
    let seed32 = Secret::from_bytes(b"12345678901234567890123456789012").unwrap();
    let sha256 = HotpParameters {
        algorithm: Algorithm::Sha256,
        digits: 8,
    };
    let first = hotp_code(&seed32, sha256, 0);
    for (at, reason) in [
        (end, RejectReason::Expired),
        (end + 86_400, RejectReason::Expired),
        (start - 1, RejectReason::NotYetValid),
    ] {
        clock.set(otpfob::UnixTime::from_secs(at));
        let refused = validator.verify(&dated, &first, None).unwrap_err();
        assert_eq!(refused.reason(), reason, "at {at}");
    }
    assert_eq!(validator.state(&dated).unwrap().unwrap().failures, 0);
    clock.set(otpfob::UnixTime::from_secs(end - 1));
    assert!(validator.verify(&dated, &first, None).is_ok());
}

#[test]
fn a_period_that_ends_before_it_starts_is_refused() {
    let text = String::from_utf8(fixture("tokens.yaml")).unwrap().replace(
        "validity_period_end: 2031-12-31T23:59+0000",
        "validity_period_end: 2025-12-31T23:59+0000",
    );
    let file = read_migration(
        MigrationFormat::PrivacyIdeaYaml,
        text.as_bytes(),
        KeyEncoding::Hex,
    )
    .unwrap();
    let refused = file
        .entries
        .iter()
        .find(|entry| entry.serial.as_deref() == Some("PI-HOTP-SHA256"))
        .unwrap();
    assert_eq!(
        refused.token.as_ref().unwrap_err(),
        &MigrateError::EmptyValidity {
            not_before: 1_767_225_600,
            not_after: 1_767_225_540,
        }
    );
}

/// privacyIDEA's PIN hash (Argon2id, 64 MiB, 9 passes, 4 lanes) is carried as it is
/// and replaced by one at otpfob's own cost in the write that accepts the first code
/// with the right PIN; a wrong PIN leaves it as it was.
#[test]
fn the_carried_pin_hash_is_rehashed_at_the_first_accepted_code() {
    let clock = ManualClock::at_secs(export_time());
    let validator = bank(MemoryStore::new(), &clock);
    let report = validator.apply_migration(&yaml_file(), |_| {}).unwrap();
    assert_eq!(report.would_enrol(), 10);
    let used = id("PI-HOTP-USED");
    let stored_hash = || {
        validator
            .store()
            .load(&used)
            .unwrap()
            .unwrap()
            .pin
            .unwrap()
            .as_phc()
            .to_owned()
    };
    let carried = stored_hash();
    assert!(carried.starts_with("$argon2id$v=19$m=65536,t=9,p=4$"));
    let sha1 = HotpParameters::default();
    assert!(
        validator
            .verify(&used, &hotp_code(&seed20(), sha1, 4), Some("0000"))
            .is_err()
    );
    assert_eq!(stored_hash(), carried, "a wrong PIN changes nothing");
    assert!(
        validator
            .verify(&used, &hotp_code(&seed20(), sha1, 4), Some("1234"))
            .is_ok()
    );
    let rehashed = stored_hash();
    assert!(
        rehashed.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{rehashed}"
    );
    // The same PIN under the new hash; the record's MAC and chain still hold.
    assert!(
        validator
            .verify(&used, &hotp_code(&seed20(), sha1, 5), Some("1234"))
            .is_ok()
    );
    assert_eq!(stored_hash(), rehashed, "rehashed once");
    assert!(
        validator
            .verify(&used, &hotp_code(&seed20(), sha1, 6), Some("4321"))
            .is_err()
    );
    assert!(
        validator
            .verify_audit_chain(&used)
            .unwrap()
            .broken
            .is_none()
    );
}

#[test]
fn privacyidea_csv_export_reads_keys_and_owners() {
    let file = read_migration(
        MigrationFormat::PrivacyIdeaCsv,
        &fixture("tokens.csv"),
        KeyEncoding::Hex,
    )
    .unwrap();
    assert_eq!(file.entries.len(), 10);
    let first = file.entries[0].token.as_ref().unwrap();
    assert_eq!(
        (
            first.serial.as_str(),
            first.owner.as_ref().map(CustomerRef::as_str)
        ),
        ("PI-HOTP-USED", Some("alice@bank"))
    );
    let sixty = file.entries[6].token.as_ref().unwrap();
    assert_eq!(
        sixty.parameters,
        TotpParameters {
            digits: 8,
            time_step: 60,
            ..TotpParameters::default()
        }
        .into()
    );
    assert_eq!(file.entries[1].token.as_ref().unwrap().owner, None);
}

/// privacyIDEA's CSV export holds keys and owners only: the dry run says, token by
/// token, what it lacks, and the import shows why it matters.
#[test]
fn privacyidea_csv_import_says_what_the_file_lacks() {
    let file = read_migration(
        MigrationFormat::PrivacyIdeaCsv,
        &fixture("tokens.csv"),
        KeyEncoding::Hex,
    )
    .unwrap();
    let clock = ManualClock::at_secs(export_time());
    let validator = bank(MemoryStore::new(), &clock);
    let report = validator.plan_migration(&file);
    assert_eq!((report.would_enrol(), report.refused()), (10, 0));
    let changes = |serial: &str| {
        let outcome = report
            .outcomes
            .iter()
            .find(|outcome| outcome.serial.as_deref() == Some(serial))
            .unwrap();
        let MigrationVerdict::WouldEnrol { changes, .. } = &outcome.verdict else {
            panic!("{outcome:?}")
        };
        changes
            .iter()
            .filter_map(|change| match change {
                MigrationChange::NotInFile { part } => Some(*part),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        changes("PI-HOTP-USED"),
        ["counter", "hash", "failures, lock or status"]
    );
    assert_eq!(
        changes("PI-TOTP-AHEAD"),
        ["last accepted step", "hash", "failures, lock or status"]
    );
    // The YAML export lacks none of them.
    let yaml = validator.plan_migration(&yaml_file());
    assert!(yaml.outcomes.iter().all(|outcome| !matches!(
        &outcome.verdict,
        MigrationVerdict::WouldEnrol { changes, .. }
            if changes.iter().any(|change| matches!(change, MigrationChange::NotInFile { .. }))
    )));

    let report = validator.apply_migration(&file, |_| {}).unwrap();
    assert_eq!(report.would_enrol(), 10);
    // As reported: the counter starts at 0, so a code privacyIDEA accepted is good
    // again; the SHA-256 token is read as SHA-1; the lock is gone.
    let sha1 = HotpParameters::default();
    assert!(
        validator
            .verify(&id("PI-HOTP-FAILS"), &hotp_code(&seed20(), sha1, 0), None)
            .is_ok()
    );
    assert!(
        validator
            .verify(&id("PI-HOTP-LOCKED"), &hotp_code(&seed20(), sha1, 0), None)
            .is_ok()
    );
    let seed32 = Secret::from_bytes(b"12345678901234567890123456789012").unwrap();
    let sha256 = HotpParameters {
        algorithm: Algorithm::Sha256,
        digits: 8,
    };
    assert!(
        validator
            .verify(&id("PI-HOTP-SHA256"), &hotp_code(&seed32, sha256, 0), None)
            .is_err()
    );
    let as_sha1 = HotpParameters {
        digits: 8,
        ..HotpParameters::default()
    };
    assert!(
        validator
            .verify(&id("PI-HOTP-SHA256"), &hotp_code(&seed32, as_sha1, 1), None)
            .is_ok()
    );
}

/// A store whose `enrol` fails from the `fail_at`-th call on, and that records
/// every audit event it is given.
struct FailingStore {
    inner: MemoryStore,
    enrolments: Mutex<usize>,
    fail_at: usize,
    events: Mutex<Vec<(String, Operation, Outcome)>>,
}

impl Store for FailingStore {
    fn enrol(&self, record: &TokenRecord, audit: &AuditEvent) -> Result<(), StoreError> {
        let mut count = self.enrolments.lock().unwrap();
        *count += 1;
        if *count >= self.fail_at {
            return Err(StoreError::Backend {
                reason: "disk full".to_owned(),
            });
        }
        self.events
            .lock()
            .unwrap()
            .push((audit.token.to_string(), audit.operation, audit.outcome));
        self.inner.enrol(record, audit)
    }
    fn load(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        self.inner.load(id)
    }
    fn compare_and_swap(
        &self,
        record: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<Swap, StoreError> {
        self.inner.compare_and_swap(record, expected_version, audit)
    }
    fn delete(&self, id: &TokenId, audit: &AuditEvent) -> Result<bool, StoreError> {
        self.events
            .lock()
            .unwrap()
            .push((audit.token.to_string(), audit.operation, audit.outcome));
        self.inner.delete(id, audit)
    }
    fn list(&self) -> Result<Vec<TokenId>, StoreError> {
        self.inner.list()
    }
    fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.inner.append_audit(event)
    }
    fn audit_trail(&self, id: &TokenId, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.audit_trail(id, limit)
    }
}

#[test]
fn a_failed_import_is_rolled_back_whole_and_audited() {
    let clock = ManualClock::at_secs(export_time());
    let store = Arc::new(FailingStore {
        inner: MemoryStore::new(),
        enrolments: Mutex::new(0),
        fail_at: 5,
        events: Mutex::new(Vec::new()),
    });
    let validator = bank(Arc::clone(&store), &clock);
    let error = validator.apply_migration(&yaml_file(), |_| {}).unwrap_err();
    assert!(
        matches!(
            &error,
            MigrationApplyError::Enrol { rolled_back: 4, serial, .. } if serial == "PI-HOTP-DISABLED"
        ),
        "{error:?}"
    );
    assert!(store.inner.list().unwrap().is_empty());
    let events = store.events.lock().unwrap();
    let enrolled: Vec<&str> = events
        .iter()
        .filter(|event| event.1 == Operation::Enrol)
        .map(|event| event.0.as_str())
        .collect();
    let deleted: Vec<&str> = events
        .iter()
        .filter(|event| event.1 == Operation::Delete)
        .map(|event| event.0.as_str())
        .collect();
    assert_eq!(enrolled.len(), 4);
    assert_eq!(enrolled, deleted);
}

#[test]
fn an_import_with_a_refused_token_writes_nothing() {
    let clock = ManualClock::at_secs(export_time());
    let validator = bank(MemoryStore::new(), &clock);
    // One token of the file is already enrolled: the dry run refuses it, and the
    // apply enrols none of the others.
    validator
        .enrol(otpfob::Enrolment::new(
            id("PI-TOTP-SHA512"),
            seed20(),
            TotpParameters::default(),
        ))
        .unwrap();
    let error = validator.apply_migration(&yaml_file(), |_| {}).unwrap_err();
    let MigrationApplyError::Refused { refused: 1, report } = error else {
        panic!("{error:?}")
    };
    assert!(report.outcomes.iter().any(|outcome| matches!(
        &outcome.verdict,
        MigrationVerdict::Refused(MigrateError::AlreadyEnrolled { serial }) if serial == "PI-TOTP-SHA512"
    )));
    assert!(validator.state(&id("PI-HOTP-USED")).unwrap().is_none());
}
