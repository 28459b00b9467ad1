//! Hostile migration files that `tests/migrate_csv.rs` does not already cover: bad
//! base32, privacyIDEA's CSV with wrong columns, a serial already enrolled, truncated
//! files (privacyIDEA's own export cut short), and oversized files of every format.
//! Each is a typed error, and an apply writes nothing.
#![cfg(feature = "migrate")]

use otpfob::migrate::{
    KeyEncoding, MAX_MIGRATION_FILE_LEN, MigrateError, MigrationApplyError, MigrationFile,
    MigrationFormat, MigrationVerdict, read_migration,
};
use otpfob::validator::Store;
use otpfob::{
    Enrolment, HotpParameters, Keyring, ManualClock, MemoryStore, SealingKey, Secret, SecretError,
    TokenId, Validator,
};

const KEY: &str = "3132333435363738393031323334353637383930";

fn bank() -> Validator<MemoryStore, ManualClock> {
    Validator::new(
        MemoryStore::new(),
        ManualClock::at_secs(1_767_225_600),
        Keyring::new(SealingKey::generate(1).unwrap()),
    )
}

fn read(format: MigrationFormat, text: &str, encoding: KeyEncoding) -> MigrationFile {
    read_migration(format, text.as_bytes(), encoding).unwrap()
}

fn error_of(file: &MigrationFile, index: usize) -> MigrateError {
    file.entries[index].token.as_ref().unwrap_err().clone()
}

/// An apply of `file` is refused and leaves the store as it was (`before` tokens).
fn assert_nothing_written(bank: &Validator<MemoryStore, ManualClock>, file: &MigrationFile) {
    let before = bank.store().list().unwrap();
    assert!(matches!(
        bank.apply_migration(file, |_| {}),
        Err(MigrationApplyError::Refused { .. })
    ));
    assert_eq!(bank.store().list().unwrap(), before);
}

#[test]
fn bad_base32_keys_are_refused() {
    let file = read(
        MigrationFormat::OathCsv,
        "B32-GOOD, GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\
         B32-BAD, GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1\n\
         B32-HEX, 3132333435363738393031323334353637383930\n",
        KeyEncoding::Base32,
    );
    assert!(file.entries[0].token.is_ok());
    assert!(matches!(error_of(&file, 1), MigrateError::Secret(_)));
    // A hex key read as base32: '1' and '3'... are not in base32's alphabet.
    assert!(matches!(error_of(&file, 2), MigrateError::Secret(_)));
    assert_nothing_written(&bank(), &file);
}

#[test]
fn privacyidea_csv_with_wrong_columns_or_bad_hex_is_refused() {
    let file = read(
        MigrationFormat::PrivacyIdeaCsv,
        &format!(
            "alice@bank, PI-GOOD, {KEY}, hotp, 6\n\
             alice@bank, PI-SHORT, {KEY}\n\
             n/a, PI-LONG, {KEY}, totp, 6, 30, extra\n\
             n/a, PI-HEX, 31323334353637383930313233343536373839zz, hotp, 6\n"
        ),
        KeyEncoding::Hex,
    );
    assert!(file.entries[0].token.is_ok());
    assert!(matches!(
        error_of(&file, 1),
        MigrateError::Columns { found: 3, .. }
    ));
    // Seven columns, counted with the owner's.
    assert!(matches!(
        error_of(&file, 2),
        MigrateError::Columns { found: 7, .. }
    ));
    assert_eq!(
        error_of(&file, 3),
        MigrateError::Secret(SecretError::InvalidHexCharacter { position: 38 })
    );
    assert_nothing_written(&bank(), &file);
}

#[test]
fn a_serial_already_enrolled_refuses_the_whole_apply() {
    let bank = bank();
    bank.enrol(Enrolment::new(
        TokenId::new("FOB-1").unwrap(),
        Secret::from_hex(KEY).unwrap(),
        HotpParameters::default(),
    ))
    .unwrap();
    let file = read(
        MigrationFormat::OathCsv,
        &format!("FOB-1, {KEY}\nFOB-2, {KEY}\n"),
        KeyEncoding::Hex,
    );
    // The file itself is sound: the refusal comes from the bank's tokens.
    assert!(file.entries.iter().all(|entry| entry.token.is_ok()));
    let report = bank.plan_migration(&file);
    assert!(matches!(
        &report.outcomes[0].verdict,
        MigrationVerdict::Refused(MigrateError::AlreadyEnrolled { serial }) if serial == "FOB-1"
    ));
    assert_eq!(report.refused(), 1);
    assert_nothing_written(&bank, &file);
    assert!(
        bank.state(&TokenId::new("FOB-2").unwrap())
            .unwrap()
            .is_none()
    );
}

fn privacyidea_export() -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/migrate/privacyidea/tokens.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn truncated_files_are_refused() {
    // privacyIDEA's export cut inside a quoted key: not YAML any more.
    let yaml = privacyidea_export();
    let cut = yaml.find("otpkey: '3132").unwrap() + 14;
    assert!(matches!(
        read_migration(
            MigrationFormat::PrivacyIdeaYaml,
            &yaml.as_bytes()[..cut],
            KeyEncoding::Hex
        )
        .unwrap_err(),
        MigrateError::Yaml { .. }
    ));
    // Cut at the start of a record's line: the last record lacks its key.
    let cut = yaml.match_indices("\n  otpkey:").nth(2).unwrap().0 + 1;
    let file = read(
        MigrationFormat::PrivacyIdeaYaml,
        &yaml[..cut],
        KeyEncoding::Hex,
    );
    assert_eq!(file.entries.len(), 3);
    assert!(matches!(
        error_of(&file, 2),
        MigrateError::MissingField { .. }
    ));
    assert_nothing_written(&bank(), &file);

    // An OATH CSV file cut in the middle of its last key.
    let csv = format!("FOB-1, {KEY}, hotp, 6\nFOB-2, {}", &KEY[..15]);
    let file = read(MigrationFormat::OathCsv, &csv, KeyEncoding::Hex);
    assert!(matches!(error_of(&file, 1), MigrateError::Secret(_)));
    let csv = format!("FOB-1, {KEY}, hotp, 6\nFOB-2, {}", &KEY[..16]);
    let file = read(MigrationFormat::OathCsv, &csv, KeyEncoding::Hex);
    assert_eq!(
        error_of(&file, 1),
        MigrateError::SecretTooShort {
            bits: 64,
            minimum: 80
        }
    );
    assert_nothing_written(&bank(), &file);
}

#[test]
fn oversized_files_of_every_format_are_refused_before_parsing() {
    let huge = vec![b'#'; MAX_MIGRATION_FILE_LEN + 1];
    for format in [
        MigrationFormat::OathCsv,
        MigrationFormat::LinotpCsv,
        MigrationFormat::PrivacyIdeaYaml,
        MigrationFormat::PrivacyIdeaCsv,
    ] {
        assert_eq!(
            read_migration(format, &huge, KeyEncoding::Hex).unwrap_err(),
            MigrateError::TooLarge {
                length: MAX_MIGRATION_FILE_LEN + 1,
                maximum: MAX_MIGRATION_FILE_LEN
            },
            "{format:?}"
        );
    }
}
