//! The way back (issue 18): a validator's tokens exported as encrypted PSKC and as
//! OATH CSV, every export audited with its actor and chained, and re-imported into a
//! fresh store, where the next codes are accepted.
#![cfg(all(feature = "migrate", feature = "sqlite"))]

use otpfob::migrate::{KeyEncoding, MigrationFormat, read_migration};
use otpfob::pskc::{
    ExportError, ExportSkip, PskcCredential, PskcProtection, TokenExport, read_pskc,
};
use otpfob::validator::{Operation, Outcome, Store};
use otpfob::{
    Algorithm, Enrolment, Hotp, HotpParameters, Keyring, ManualClock, MemoryStore, SealingKey,
    Secret, SqliteStore, TokenId, Totp, TotpParameters, Validator,
};

const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn id(text: &str) -> TokenId {
    TokenId::new(text).unwrap()
}

fn seed() -> Secret {
    Secret::from_bytes(b"12345678901234567890").unwrap()
}

fn sha256() -> TotpParameters {
    TotpParameters {
        algorithm: Algorithm::Sha256,
        digits: 8,
        ..TotpParameters::default()
    }
}

fn psk() -> Secret {
    Secret::from_hex("000102030405060708090a0b0c0d0e0f").unwrap()
}

/// A bank on SQLite with an event token at counter 5, a SHA-256 time token two
/// steps ahead, a disabled token and a locked one.
fn bank(directory: &std::path::Path, clock: &ManualClock) -> Validator<SqliteStore, ManualClock> {
    let store = SqliteStore::open(directory.join("bank.db")).unwrap();
    let bank = Validator::new(
        store,
        clock.clone(),
        Keyring::new(SealingKey::generate(1).unwrap()),
    );
    bank.enrol(Enrolment::new(id("EV-5"), seed(), HotpParameters::default()).with_counter(5))
        .unwrap();
    bank.enrol(Enrolment::new(id("TM-AHEAD"), seed(), sha256()).with_drift_steps(2))
        .unwrap();
    bank.enrol(Enrolment::new(id("OFF"), seed(), HotpParameters::default()))
        .unwrap();
    bank.disable(&id("OFF")).unwrap();
    bank.enrol(Enrolment::new(
        id("LOCKED"),
        seed(),
        HotpParameters::default(),
    ))
    .unwrap();
    for _ in 0..10 {
        let _ = bank.verify(&id("LOCKED"), "000000", None);
    }
    bank
}

fn fresh(clock: &ManualClock) -> Validator<MemoryStore, ManualClock> {
    Validator::new(
        MemoryStore::new(),
        clock.clone(),
        Keyring::new(SealingKey::generate(7).unwrap()),
    )
}

/// The export's audit events: one per exported token, naming the actor, chained.
fn assert_audited(bank: &Validator<SqliteStore, ManualClock>, export: &TokenExport, actor: &str) {
    for token in &export.exported {
        let events = bank.store().audit_trail(token, usize::MAX).unwrap();
        let exports: Vec<_> = events
            .iter()
            .filter(|event| event.operation == Operation::Export)
            .collect();
        assert_eq!(exports.len(), 1, "{token}");
        assert_eq!(exports[0].actor.as_deref(), Some(actor));
        assert_eq!(exports[0].outcome, Outcome::Done);
        assert!(
            exports[0].chain.is_some(),
            "the export is a link of the chain"
        );
        assert!(bank.verify_audit_chain(token).unwrap().broken.is_none());
    }
    for skipped in &export.skipped {
        let events = bank
            .store()
            .audit_trail(&skipped.token, usize::MAX)
            .unwrap();
        assert!(
            events
                .iter()
                .all(|event| event.operation != Operation::Export),
            "{}: nothing is opened for a token left out",
            skipped.token
        );
    }
}

/// The next codes of the two exportable tokens are accepted by `other`.
fn next_codes_accepted<S: Store>(other: &Validator<S, ManualClock>, drift_carried: bool) {
    let event = Hotp::new(&seed(), HotpParameters::default()).unwrap();
    assert!(
        other
            .verify(&id("EV-5"), &event.at(4).to_string(), None)
            .is_err()
    );
    assert!(
        other
            .verify(&id("EV-5"), &event.at(5).to_string(), None)
            .is_ok()
    );
    if drift_carried {
        let time = Totp::new(&seed(), sha256()).unwrap();
        let step = u64::try_from(NOW).unwrap() / 30 + 2;
        assert!(
            other
                .verify(&id("TM-AHEAD"), &time.at_step(step).to_string(), None)
                .is_ok()
        );
    }
}

#[test]
fn a_pre_shared_key_export_re_imports_and_the_next_codes_are_accepted() {
    let directory = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_secs(NOW);
    let bank = bank(directory.path(), &clock);
    let protection = PskcProtection::PreSharedKey {
        key: psk(),
        key_name: "bank-to-bank".to_owned(),
    };
    let all = bank.store().list().unwrap();
    let export = bank.export_pskc("ops:alice", &all, &protection).unwrap();
    assert_eq!(export.exported, [id("EV-5"), id("TM-AHEAD")]);
    let mut skipped: Vec<_> = export
        .skipped
        .iter()
        .map(|skipped| (skipped.token.as_str().to_owned(), skipped.reason))
        .collect();
    skipped.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        skipped,
        [
            ("LOCKED".to_owned(), ExportSkip::Locked),
            (
                "OFF".to_owned(),
                ExportSkip::NotActive(otpfob::validator::Status::Disabled)
            ),
        ]
    );
    assert!(
        !export.document.contains("PlainValue>MTIz"),
        "no secret in the clear"
    );
    assert_audited(&bank, &export, "ops:alice");

    let container = read_pskc(
        export.document.as_bytes(),
        &PskcCredential::PreSharedKey(psk()),
    )
    .unwrap();
    let other = fresh(&clock);
    assert!(other.enrol_pskc(&container).is_complete());
    next_codes_accepted(&other, true);
    // The wrong key opens nothing.
    let wrong = Secret::from_hex("0f0e0d0c0b0a09080706050403020100").unwrap();
    assert!(
        read_pskc(
            export.document.as_bytes(),
            &PskcCredential::PreSharedKey(wrong)
        )
        .is_err()
    );
}

#[test]
fn a_password_export_re_imports() {
    let directory = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_secs(NOW);
    let bank = bank(directory.path(), &clock);
    let password = Secret::from_bytes(b"correct horse battery staple").unwrap();
    let protection = PskcProtection::Password {
        password: password.clone(),
        key_name: "otpfob".to_owned(),
        iterations: 10_000,
    };
    let export = bank
        .export_pskc(
            "ops:bob",
            &[id("TM-AHEAD"), id("EV-5"), id("TM-AHEAD")],
            &protection,
        )
        .unwrap();
    assert_eq!(export.exported, [id("TM-AHEAD"), id("EV-5")]);
    assert_audited(&bank, &export, "ops:bob");
    let container = read_pskc(
        export.document.as_bytes(),
        &PskcCredential::Password(password),
    )
    .unwrap();
    let tokens = container.tokens().unwrap();
    assert_eq!((tokens[0].time_drift, tokens[1].counter), (2, 5));
    let other = fresh(&clock);
    assert!(other.enrol_pskc(&container).is_complete());
    next_codes_accepted(&other, true);
}

#[test]
fn an_oath_csv_export_re_imports_its_sha1_tokens() {
    let directory = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_secs(NOW);
    let bank = bank(directory.path(), &clock);
    let all = bank.store().list().unwrap();
    let export = bank.export_oath_csv("ops:carol", &all).unwrap();
    assert_eq!(export.exported, [id("EV-5")]);
    assert!(
        export
            .skipped
            .iter()
            .any(|skipped| skipped.token == id("TM-AHEAD")
                && skipped.reason == ExportSkip::Hash(Algorithm::Sha256))
    );
    assert_audited(&bank, &export, "ops:carol");
    let file = read_migration(
        MigrationFormat::OathCsv,
        export.document.as_bytes(),
        KeyEncoding::Hex,
    )
    .unwrap();
    let other = fresh(&clock);
    let report = other.apply_migration(&file, |_| {}).unwrap();
    assert_eq!(report.would_enrol(), 1);
    next_codes_accepted(&other, false);
}

#[test]
fn an_export_without_an_actor_or_encryption_opens_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_secs(NOW);
    let bank = bank(directory.path(), &clock);
    let all = bank.store().list().unwrap();
    let protection = PskcProtection::PreSharedKey {
        key: psk(),
        key_name: "k".to_owned(),
    };
    for actor in ["", "a\nb", &"x".repeat(257)] {
        assert!(matches!(
            bank.export_pskc(actor, &all, &protection),
            Err(ExportError::Actor)
        ));
        assert!(matches!(
            bank.export_oath_csv(actor, &all),
            Err(ExportError::Actor)
        ));
    }
    assert!(matches!(
        bank.export_pskc("ops", &all, &PskcProtection::Plaintext),
        Err(ExportError::Plaintext)
    ));
    let short = PskcProtection::PreSharedKey {
        key: Secret::from_bytes(&[1; 15]).unwrap(),
        key_name: "k".to_owned(),
    };
    assert!(matches!(
        bank.export_pskc("ops", &all, &short),
        Err(ExportError::Protection(_))
    ));
    // An unknown token stops the export with its error.
    assert!(matches!(
        bank.export_pskc("ops", &[id("NOBODY")], &protection),
        Err(ExportError::Token { token, .. }) if token == id("NOBODY")
    ));
    for token in &all {
        let events = bank.store().audit_trail(token, usize::MAX).unwrap();
        assert!(
            events
                .iter()
                .all(|event| event.operation != Operation::Export)
        );
    }
}

/// A python3 that has python-pskc: Debian's `python3-pskc` is for /usr/bin/python3,
/// which a pyenv `python3` on the PATH hides.
fn python_with_pskc() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|python| {
        std::process::Command::new(python)
            .args(["-c", "import pskc"])
            .output()
            .is_ok_and(|output| output.status.success())
    })
}

/// Runs `scripts/pskc-codes-python` on `document`; `None` when python-pskc is
/// absent outside CI (under `CI=true` it must be there: `.ci/run` installs it).
fn codes_from_python(document: &str, mode: &str, credential: &str) -> Option<Vec<String>> {
    let Some(python) = python_with_pskc() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must have python-pskc (apt-get install python3-pskc)"
        );
        eprintln!("skipped: python-pskc is not installed (apt-get install python3-pskc)");
        return None;
    };
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("export.pskcxml");
    std::fs::write(&path, document).unwrap();
    let credential = if mode == "password" {
        let file = directory.path().join("password");
        std::fs::write(&file, credential).unwrap();
        file.to_string_lossy().into_owned()
    } else {
        credential.to_owned()
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pskc-codes-python");
    let output = std::process::Command::new(python)
        .arg(script)
        .arg(&path)
        .args([mode, &credential, &NOW.to_string()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "python-pskc refused the export: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

#[test]
fn python_pskc_reads_our_encrypted_exports_and_makes_the_same_codes() {
    let directory = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_secs(NOW);
    let bank = bank(directory.path(), &clock);
    let ids = [id("EV-5"), id("TM-AHEAD")];
    let step = u64::try_from(NOW).unwrap() / 30 + 2;
    let expected = [
        format!(
            "EV-5 hotp 5 {}",
            Hotp::new(&seed(), HotpParameters::default()).unwrap().at(5)
        ),
        format!(
            "TM-AHEAD totp {step} {}",
            Totp::new(&seed(), sha256()).unwrap().at_step(step)
        ),
    ];
    let psk_export = bank
        .export_pskc(
            "ops:alice",
            &ids,
            &PskcProtection::PreSharedKey {
                key: psk(),
                key_name: "bank".to_owned(),
            },
        )
        .unwrap();
    let password = "correct horse battery staple";
    let password_export = bank
        .export_pskc(
            "ops:alice",
            &ids,
            &PskcProtection::Password {
                password: Secret::from_bytes(password.as_bytes()).unwrap(),
                key_name: "bank".to_owned(),
                iterations: 10_000,
            },
        )
        .unwrap();
    let Some(from_psk) = codes_from_python(
        &psk_export.document,
        "psk",
        "000102030405060708090a0b0c0d0e0f",
    ) else {
        return;
    };
    assert_eq!(from_psk, expected);
    let from_password = codes_from_python(&password_export.document, "password", password);
    assert_eq!(from_password.unwrap(), expected);
}
