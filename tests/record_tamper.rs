//! Issue 11, item 3: token state at rest is authenticated. Someone with write access to
//! the database (and not to the sealing key) edits a row, as `sqlite3` or `psql` would:
//! every edit that would lift a lock, reset the failure count, re-enable a disabled
//! token, make a spent code acceptable again or swap a seed in is refused, fails
//! closed and is audited.
#![cfg(feature = "sqlite")]

use std::path::{Path, PathBuf};

use otpfob::{
    Enrolment, Hotp, HotpParameters, Keyring, ManualClock, Policy, RejectReason, SealError,
    SealingKey, Secret, SqliteStore, TokenId, Totp, TotpParameters, Validator, ValidatorError,
    validator::{Operation, Outcome, Store},
};

const START: i64 = 1_767_225_600;

fn keyring() -> Keyring {
    Keyring::new(SealingKey::new(1, &[5; 32]).unwrap())
}

fn secret(byte: u8) -> Secret {
    Secret::from_bytes(&[byte; 20]).unwrap()
}

fn hotp(byte: u8, counter: u64) -> String {
    Hotp::new(&secret(byte), HotpParameters::default())
        .unwrap()
        .at(counter)
        .to_string()
}

struct Bank {
    _directory: tempfile::TempDir,
    path: PathBuf,
    clock: ManualClock,
    validator: Validator<SqliteStore, ManualClock>,
}

fn bank() -> Bank {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("tokens.db");
    let clock = ManualClock::at_secs(START);
    let validator = Validator::new(SqliteStore::open(&path).unwrap(), clock.clone(), keyring())
        .with_policy({
            let mut policy = Policy::default();
            policy.failure_limit = 2;
            policy
        })
        .unwrap();
    Bank {
        _directory: directory,
        path,
        clock,
        validator,
    }
}

impl Bank {
    fn enrol_event(&self, name: &str, byte: u8) -> TokenId {
        let id = TokenId::new(name).unwrap();
        self.validator
            .enrol(Enrolment::new(
                id.clone(),
                secret(byte),
                HotpParameters::default(),
            ))
            .unwrap();
        id
    }

    /// Edits the database behind the validator's back, through its own connection.
    fn edit(&self, sql: &str, id: &TokenId) {
        edit_file(&self.path, sql, id);
    }

    /// Asserts the token's record is refused by verification, administration and
    /// state reads, and that the refusal is in its audit trail.
    fn assert_tampered(&self, id: &TokenId, code: &str, what: &str) {
        assert_eq!(
            self.validator.verify(id, code, None).unwrap_err().reason(),
            RejectReason::RecordTampered,
            "{what}: the edited record decided a code"
        );
        let tampered = |result: Result<(), ValidatorError>| {
            matches!(
                result,
                Err(ValidatorError::Seal(SealError::RecordTampered { ref token })) if token == id.as_str()
            )
        };
        assert!(tampered(self.validator.unlock(id)), "{what}: unlock");
        assert!(
            tampered(self.validator.state(id).map(|_| ())),
            "{what}: state"
        );
        let trail = self.validator.store().audit_trail(id, 3).unwrap();
        assert!(
            trail.iter().all(|event| event.outcome
                == Outcome::Rejected(RejectReason::RecordTampered)
                && [Operation::Verify, Operation::Unlock].contains(&event.operation)),
            "{what}: {trail:?}"
        );
    }
}

fn edit_file(path: &Path, sql: &str, id: &TokenId) {
    let connection = rusqlite::Connection::open(path).unwrap();
    let changed = connection.execute(sql, [id.as_str()]).unwrap();
    assert_eq!(changed, 1, "{sql}");
}

#[test]
fn resetting_failures_or_lifting_a_lock_in_the_database_is_detected() {
    let bank = bank();
    let failing = bank.enrol_event("FOB-FAILING", 1);
    assert!(bank.validator.verify(&failing, "000000", None).is_err());
    bank.edit("UPDATE tokens SET failures = 0 WHERE id = ?1", &failing);
    bank.assert_tampered(&failing, &hotp(1, 0), "failures reset");

    let locked = bank.enrol_event("FOB-LOCKED", 2);
    for _ in 0..2 {
        assert!(bank.validator.verify(&locked, "000000", None).is_err());
    }
    assert_eq!(
        bank.validator
            .verify(&locked, &hotp(2, 0), None)
            .unwrap_err()
            .reason(),
        RejectReason::Locked
    );
    bank.edit(
        "UPDATE tokens SET lock_kind = 'unlocked', lock_seconds = NULL, lock_nanos = NULL, \
         failures = 0 WHERE id = ?1",
        &locked,
    );
    bank.assert_tampered(&locked, &hotp(2, 0), "lock lifted");
}

#[test]
fn re_enabling_replaying_or_swapping_seeds_in_the_database_is_detected() {
    let bank = bank();
    let disabled = bank.enrol_event("FOB-DISABLED", 3);
    bank.validator.disable(&disabled).unwrap();
    bank.edit(
        "UPDATE tokens SET status = 'active' WHERE id = ?1",
        &disabled,
    );
    bank.assert_tampered(&disabled, &hotp(3, 0), "re-enabled");

    // A spent counter made acceptable again.
    let spent = bank.enrol_event("FOB-SPENT", 4);
    assert!(bank.validator.verify(&spent, &hotp(4, 0), None).is_ok());
    bank.edit("UPDATE tokens SET next_counter = 0 WHERE id = ?1", &spent);
    bank.assert_tampered(&spent, &hotp(4, 0), "counter moved back");

    // The version moved on (as a replayed swap would need).
    let versioned = bank.enrol_event("FOB-VERSION", 5);
    bank.edit(
        "UPDATE tokens SET version = version + 1 WHERE id = ?1",
        &versioned,
    );
    bank.assert_tampered(&versioned, &hotp(5, 0), "version changed");

    // The attacker's own seed sealed for another token, swapped into the victim's row.
    let victim = bank.enrol_event("FOB-VICTIM", 6);
    bank.enrol_event("FOB-ATTACKER", 7);
    bank.edit(
        "UPDATE tokens SET (seal_key_id, seal_nonce, seal_ciphertext) = \
         (SELECT seal_key_id, seal_nonce, seal_ciphertext FROM tokens WHERE id = 'FOB-ATTACKER') \
         WHERE id = ?1",
        &victim,
    );
    bank.assert_tampered(&victim, &hotp(7, 0), "seal swapped");

    // The MAC removed, as if the row predated authenticated records.
    let stripped = bank.enrol_event("FOB-STRIPPED", 8);
    bank.edit(
        "UPDATE tokens SET mac = NULL, mac_key_id = NULL WHERE id = ?1",
        &stripped,
    );
    bank.assert_tampered(&stripped, &hotp(8, 0), "MAC removed");

    // Untouched tokens still work.
    let untouched = bank.enrol_event("FOB-UNTOUCHED", 9);
    assert!(bank.validator.verify(&untouched, &hotp(9, 0), None).is_ok());
}

#[test]
fn a_spent_time_step_made_unspent_is_detected() {
    let bank = bank();
    let id = TokenId::new("SOFT-1").unwrap();
    bank.validator
        .enrol(Enrolment::new(
            id.clone(),
            secret(10),
            TotpParameters::default(),
        ))
        .unwrap();
    let code = Totp::new(&secret(10), TotpParameters::default())
        .unwrap()
        .now(&bank.clock)
        .unwrap()
        .to_string();
    assert!(bank.validator.verify(&id, &code, None).is_ok());
    bank.edit(
        "UPDATE tokens SET last_accepted_step = NULL WHERE id = ?1",
        &id,
    );
    bank.assert_tampered(&id, &code, "step unspent");
}

/// Rows migrated from before records were authenticated have no MAC: refused until
/// the operator authenticates them once, after which they verify.
#[test]
fn migrated_records_are_refused_until_authenticated() {
    let bank = bank();
    let id = bank.enrol_event("FOB-MIGRATED", 13);
    bank.edit(
        "UPDATE tokens SET mac = NULL, mac_key_id = NULL WHERE id = ?1",
        &id,
    );
    bank.enrol_event("FOB-CURRENT", 14);
    assert_eq!(
        bank.validator
            .verify(&id, &hotp(13, 0), None)
            .unwrap_err()
            .reason(),
        RejectReason::RecordTampered
    );
    assert_eq!(
        bank.validator
            .authenticate_unauthenticated_records()
            .unwrap(),
        1
    );
    assert_eq!(
        bank.validator
            .authenticate_unauthenticated_records()
            .unwrap(),
        0
    );
    assert!(bank.validator.verify(&id, &hotp(13, 0), None).is_ok());
}

/// What a per-row MAC cannot see: a whole older row put back with its then-valid MAC.
/// This test pins the documented limit (README, "Security"), so that a change to it
/// is noticed.
#[test]
fn restoring_a_whole_older_row_is_not_detected_by_the_mac() {
    let bank = bank();
    let id = bank.enrol_event("FOB-RESTORED", 11);
    let backup = tempfile::tempdir().unwrap();
    let copy = backup.path().join("backup.db");
    rusqlite::Connection::open(&bank.path)
        .unwrap()
        .execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
        .unwrap();
    assert!(bank.validator.verify(&id, &hotp(11, 0), None).is_ok());
    let connection = rusqlite::Connection::open(&bank.path).unwrap();
    connection
        .execute("ATTACH DATABASE ?1 AS backup", [copy.to_str().unwrap()])
        .unwrap();
    connection
        .execute(
            "INSERT OR REPLACE INTO tokens SELECT * FROM backup.tokens WHERE id = ?1",
            [id.as_str()],
        )
        .unwrap();
    // The spent code is acceptable again: only the operator's procedures prevent it.
    assert!(bank.validator.verify(&id, &hotp(11, 0), None).is_ok());
}

/// The database and its WAL and shared-memory files are created readable by their
/// owner only (they were 0644).
#[cfg(unix)]
#[test]
fn database_files_are_created_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let bank = bank();
    bank.enrol_event("FOB-MODE", 12);
    let mut checked = 0;
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", bank.path.display()));
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}: {mode:o}", path.display());
        checked += 1;
    }
    assert_eq!(checked, 3);
}

/// Issue 15: a use-limited token (a temporary replacement, emergency codes) whose
/// uses left are raised or whose limit is lifted in the database is refused; so is one
/// whose link to the lost token it replaces is cut (which would keep it alive when the
/// fob is found).
#[test]
fn raising_a_use_limit_or_cutting_a_replacement_link_in_the_database_is_detected() {
    let bank = bank();
    for (name, byte, sql) in [
        (
            "SOFT-RAISED",
            6,
            "UPDATE tokens SET uses_left = uses_left + 100 WHERE id = ?1",
        ),
        (
            "SOFT-UNLIMITED",
            7,
            "UPDATE tokens SET uses_left = NULL WHERE id = ?1",
        ),
        (
            "SOFT-UNLINKED",
            8,
            "UPDATE tokens SET replaces = NULL WHERE id = ?1",
        ),
    ] {
        let lost = bank.enrol_event(&format!("FOB-OF-{name}"), byte + 100);
        bank.validator
            .assign_owner(&lost, &otpfob::validator::CustomerRef::new(name).unwrap())
            .unwrap();
        bank.validator.report_lost(&lost).unwrap();
        let id = TokenId::new(name).unwrap();
        bank.validator
            .issue_temporary_replacement(
                &lost,
                Enrolment::new(id.clone(), secret(byte), HotpParameters::default())
                    .with_use_limit(core::num::NonZeroU32::new(1).unwrap()),
                std::time::Duration::from_secs(3600),
            )
            .unwrap();
        bank.edit(sql, &id);
        bank.assert_tampered(&id, &hotp(byte, 0), name);
    }
}

/// Issue 14, item 4: a fob's sealed unlock key at rest. Swapped in from another fob's
/// row (whose unlock code the attacker knows from their own fob), or removed, the row
/// no longer matches its MAC and no unlock code is given; even with a MAC made again
/// (a holder of the MAC key), an unlock key from an earlier enrolment of the same id
/// does not open, being bound to the record's incarnation.
#[test]
fn swapping_or_removing_a_sealed_unlock_key_in_the_database_is_detected() {
    use otpfob::KeyFob;
    use otpfob::device::UnlockChallenge;
    let bank = bank();
    let fob = |serial: &str| {
        let (fob, record) = KeyFob::builder(serial, TotpParameters::default())
            .pin("2468")
            .build(bank.clock.clone())
            .unwrap();
        let id = bank.validator.enrol(Enrolment::from(&record)).unwrap();
        (fob, record, id)
    };
    let challenge: UnlockChallenge = "12345678".parse().unwrap();
    let (_victim_fob, victim_record, victim) = fob("FOB-UNLOCK-VICTIM");
    let (_attacker_fob, attacker_record, _attacker) = fob("FOB-UNLOCK-ATTACKER");
    assert_eq!(
        bank.validator.unlock_code(&victim, &challenge).unwrap(),
        victim_record.unlock_code(&challenge)
    );
    bank.edit(
        "UPDATE tokens SET (unlock_seal_key_id, unlock_seal_nonce, unlock_seal_ciphertext) = \
         (SELECT unlock_seal_key_id, unlock_seal_nonce, unlock_seal_ciphertext FROM tokens \
          WHERE id = 'FOB-UNLOCK-ATTACKER') WHERE id = ?1",
        &victim,
    );
    let refused = |id: &TokenId| {
        matches!(
            bank.validator.unlock_code(id, &challenge),
            Err(ValidatorError::Seal(SealError::RecordTampered { ref token })) if token == id.as_str()
        )
    };
    assert!(refused(&victim), "unlock key swapped");
    assert_ne!(
        victim_record.unlock_code(&challenge),
        attacker_record.unlock_code(&challenge)
    );
    let trail = bank.validator.store().audit_trail(&victim, 1).unwrap();
    assert_eq!(trail[0].operation, Operation::UnlockCode);
    assert_eq!(
        trail[0].outcome,
        Outcome::Rejected(RejectReason::RecordTampered)
    );

    let (_fob, _record, removed) = fob("FOB-UNLOCK-REMOVED");
    bank.edit(
        "UPDATE tokens SET unlock_seal_key_id = NULL, unlock_seal_nonce = NULL, \
         unlock_seal_ciphertext = NULL WHERE id = ?1",
        &removed,
    );
    assert!(refused(&removed), "unlock key removed");

    // The id enrolled again for another fob; the first fob's unlock key put back into
    // the new row, MACed anew: the key does not open for the new incarnation.
    let (_old_fob, _old_record, reused) = fob("FOB-UNLOCK-REUSED");
    let old = bank.validator.store().load(&reused).unwrap().unwrap();
    bank.validator.delete(&reused).unwrap();
    let (_new_fob, _new_record, reused) = fob("FOB-UNLOCK-REUSED");
    let mut new = bank.validator.store().load(&reused).unwrap().unwrap();
    assert_ne!(new.incarnation, old.incarnation);
    new.unlock_key = old.unlock_key;
    new.mac = Some(keyring().authenticate_record(&new).unwrap());
    let connection = rusqlite::Connection::open(&bank.path).unwrap();
    let sealed = new.unlock_key.as_ref().unwrap();
    let mac = new.mac.unwrap();
    connection
        .execute(
            "UPDATE tokens SET unlock_seal_key_id = ?1, unlock_seal_nonce = ?2, \
             unlock_seal_ciphertext = ?3, mac = ?4 WHERE id = ?5",
            rusqlite::params![
                i64::from(sealed.key_id),
                sealed.nonce.to_vec(),
                sealed.ciphertext.to_vec(),
                mac.tag.to_vec(),
                reused.as_str()
            ],
        )
        .unwrap();
    assert!(matches!(
        bank.validator.unlock_code(&reused, &challenge),
        Err(ValidatorError::Seal(SealError::Unauthentic { ref token })) if token == reused.as_str()
    ));
}
