//! OATH CSV seed files (the format privacyIDEA's `parseOATHcsv` and LinOTP import) and
//! hostile variants of every migration format: each bad token is refused with its own
//! typed error, naming the bad value but never a secret, and the others still read.
#![cfg(feature = "migrate")]

use otpfob::migrate::{
    KeyEncoding, MigrateError, MigrationFile, MigrationFormat, read_migration, write_oath_csv,
};
use otpfob::validator::{CustomerRef, MAX_TOKENS_PER_CUSTOMER, Store};
use otpfob::{
    Algorithm, HotpParameters, Keyring, ManualClock, MemoryStore, OtpParameters, SealingKey,
    Secret, SecretError, TokenId, TotpParameters, Validator,
};

const KEY: &str = "3132333435363738393031323334353637383930";

fn csv(text: &str) -> MigrationFile {
    read_migration(MigrationFormat::OathCsv, text.as_bytes(), KeyEncoding::Hex).unwrap()
}

fn error_of(file: &MigrationFile, index: usize) -> MigrateError {
    file.entries[index].token.as_ref().unwrap_err().clone()
}

#[test]
fn every_variant_of_the_format_reads() {
    let file = csv(&format!(
        "# a comment\n\
         \n\
         ONLY-KEY, {KEY}\n\
         HOTP-8, {KEY}, HOTP, 8\n\
         HOTP-COUNTER, {KEY}, hotp, 6, 42\n\
         TOTP-DEFAULT, {KEY}, totp\n\
         TOTP-60, {KEY}, totp, 8, 60\n\
         \"QUOTED-SERIAL\" , \"{KEY}\", totp, 6, 30\n"
    ));
    let tokens: Vec<_> = file
        .entries
        .iter()
        .map(|entry| entry.token.as_ref().unwrap())
        .collect();
    assert_eq!(tokens.len(), 6);
    assert_eq!(tokens[0].parameters, HotpParameters::default().into());
    assert_eq!(tokens[1].parameters.digits(), 8);
    assert_eq!(tokens[2].counter, 42);
    assert_eq!(tokens[3].parameters, TotpParameters::default().into());
    assert_eq!(
        tokens[4].parameters,
        TotpParameters {
            digits: 8,
            time_step: 60,
            ..TotpParameters::default()
        }
        .into()
    );
    assert_eq!(tokens[5].serial, "QUOTED-SERIAL");
    // Lines are counted from 1, comments and blank lines included.
    assert_eq!(file.entries[0].position, 3);
}

#[test]
fn version_2_files_name_the_owner_and_base32_keys_read() {
    let secret = Secret::from_hex(KEY).unwrap();
    let file = read_migration(
        MigrationFormat::OathCsv,
        format!(
            "# version: 2\nalice, customers, bank, FOB-1, {}, totp, 6, 30\n",
            secret.to_base32().as_str()
        )
        .as_bytes(),
        KeyEncoding::Base32,
    )
    .unwrap();
    let token = file.entries[0].token.as_ref().unwrap();
    assert_eq!(
        token.owner.as_ref().map(CustomerRef::as_str),
        Some("alice@bank")
    );
    assert_eq!(token.secret.expose_bytes(), secret.expose_bytes());
}

/// A version 2 file giving `user` the tokens `serials`.
fn owned_by(user: &str, serials: &[&str]) -> MigrationFile {
    let mut text = String::from("# version: 2\n");
    for serial in serials {
        text.push_str(&format!(
            "{user}, customers, bank, {serial}, {KEY}, hotp, 6, 0\n"
        ));
    }
    csv(&text)
}

#[test]
fn an_owner_beyond_the_tokens_a_customer_may_hold_is_refused_whole() {
    let clock = ManualClock::at_secs(1_767_225_600);
    let validator = Validator::new(
        MemoryStore::new(),
        clock,
        Keyring::new(SealingKey::generate(1).unwrap()),
    );
    let five = ["B-1", "B-2", "B-3", "B-4", "B-5"];
    assert_eq!(five.len(), MAX_TOKENS_PER_CUSTOMER + 1);
    let report = validator.plan_migration(&owned_by("bob", &five));
    assert_eq!((report.would_enrol(), report.refused()), (0, 5));
    for outcome in &report.outcomes {
        assert!(
            matches!(
                &outcome.verdict,
                otpfob::migrate::MigrationVerdict::Refused(MigrateError::TooManyTokens {
                    owner,
                    count: 5,
                    maximum: 4,
                }) if owner == "bob@bank"
            ),
            "{outcome:?}"
        );
    }

    // Two enrolled for bob already: a file with three more is refused, with two
    // it imports, and the owner is the tokens' customer.
    let report = validator
        .apply_migration(&owned_by("bob", &five[..2]), |_| {})
        .unwrap();
    assert_eq!(report.would_enrol(), 2);
    let report = validator.plan_migration(&owned_by("bob", &five[2..]));
    assert_eq!(report.refused(), 3);
    let report = validator
        .apply_migration(&owned_by("bob", &five[2..4]), |_| {})
        .unwrap();
    assert_eq!(report.would_enrol(), 2);
    let bob = CustomerRef::new("bob@bank").unwrap();
    assert_eq!(validator.store().tokens_of(&bob).unwrap().len(), 4);
    // Other owners and unowned tokens are not limited together.
    let report = validator.plan_migration(&owned_by("carol", &five[4..]));
    assert_eq!(report.refused(), 0);
}

#[test]
fn an_owner_that_is_no_customer_reference_is_refused() {
    let file = csv(&format!(
        "# version: 2\nal ice, customers, bank, O-1, {KEY}, hotp\n, customers, bank, O-2, {KEY}, hotp\n"
    ));
    assert!(matches!(
        error_of(&file, 0),
        MigrateError::BadField { field: "user", value, .. } if value == "al ice@bank"
    ));
    // An empty user column is a token assigned to nobody.
    assert_eq!(file.entries[1].token.as_ref().unwrap().owner, None);
}

#[test]
fn hostile_lines_are_refused_one_by_one() {
    let file = csv(&format!(
        "GOOD, {KEY}, hotp, 6\n\
         TOO-MANY, {KEY}, hotp, 6, 0, extra\n\
         ONE-COLUMN\n\
         BAD-HEX, 31323334353637383930313233343536373839zz\n\
         ODD-HEX, 313\n\
         SHORT, 3132333435\n\
         SPASS, {KEY}, spass\n\
         DIGITS, {KEY}, hotp, 12\n\
         COUNTER, {KEY}, hotp, 6, -1\n\
         STEP, {KEY}, totp, 6, 0\n\
         \"OPEN, {KEY}\n\
         , {KEY}\n\
         HAS SPACE, {KEY}\n"
    ));
    assert!(file.entries[0].token.is_ok());
    assert!(matches!(
        error_of(&file, 1),
        MigrateError::Columns { found: 6, .. }
    ));
    assert!(matches!(
        error_of(&file, 2),
        MigrateError::Columns { found: 1, .. }
    ));
    assert_eq!(
        error_of(&file, 3),
        MigrateError::Secret(SecretError::InvalidHexCharacter { position: 38 })
    );
    assert!(matches!(error_of(&file, 4), MigrateError::Secret(_)));
    assert_eq!(
        error_of(&file, 5),
        MigrateError::SecretTooShort {
            bits: 40,
            minimum: 80
        }
    );
    assert_eq!(
        error_of(&file, 6),
        MigrateError::UnsupportedType {
            found: "spass".to_owned()
        }
    );
    assert!(matches!(error_of(&file, 7), MigrateError::Parameters(_)));
    assert!(matches!(
        error_of(&file, 8),
        MigrateError::BadField {
            field: "counter",
            ..
        }
    ));
    assert!(matches!(error_of(&file, 9), MigrateError::Parameters(_)));
    assert_eq!(error_of(&file, 10), MigrateError::Quoting { column: 1 });
    assert_eq!(
        error_of(&file, 11),
        MigrateError::MissingField { field: "serial" }
    );
    assert!(matches!(error_of(&file, 12), MigrateError::TokenId(_)));
    // No message quotes a key.
    for entry in &file.entries {
        if let Err(error) = &entry.token {
            let message = error.to_string();
            assert!(!message.contains("313233"), "{message}");
        }
    }
}

#[test]
fn a_duplicate_serial_refuses_every_copy() {
    let file = csv(&format!(
        "FOB-1, {KEY}\nFOB-2, {KEY}\nFOB-1, {KEY}, hotp, 6, 9\n"
    ));
    for index in [0, 2] {
        assert_eq!(
            error_of(&file, index),
            MigrateError::DuplicateSerial {
                serial: "FOB-1".to_owned(),
                count: 2,
                first: 1
            }
        );
    }
    assert!(file.entries[1].token.is_ok());
    // The dry run refuses them, so an apply writes nothing at all.
    let bank = Validator::new(
        MemoryStore::new(),
        ManualClock::at_secs(1_767_225_600),
        Keyring::new(SealingKey::generate(1).unwrap()),
    );
    assert_eq!(bank.plan_migration(&file).refused(), 2);
    assert!(bank.apply_migration(&file, |_| {}).is_err());
    assert!(
        bank.state(&TokenId::new("FOB-2").unwrap())
            .unwrap()
            .is_none()
    );
}

#[test]
fn files_that_are_not_text_or_too_large_are_refused_whole() {
    assert_eq!(
        read_migration(MigrationFormat::OathCsv, b"FOB, \xff\xfe", KeyEncoding::Hex).unwrap_err(),
        MigrateError::NotUtf8 { position: 5 }
    );
    let huge = vec![b'#'; otpfob::migrate::MAX_MIGRATION_FILE_LEN + 1];
    assert!(matches!(
        read_migration(MigrationFormat::OathCsv, &huge, KeyEncoding::Hex).unwrap_err(),
        MigrateError::TooLarge { .. }
    ));
}

#[test]
fn hostile_yaml_is_refused() {
    let read = |text: &str| {
        read_migration(
            MigrationFormat::PrivacyIdeaYaml,
            text.as_bytes(),
            KeyEncoding::Hex,
        )
    };
    assert!(matches!(
        read("- [unclosed").unwrap_err(),
        MigrateError::Yaml { .. }
    ));
    assert_eq!(
        read("serial: X").unwrap_err(),
        MigrateError::NotAList { found: "a mapping" }
    );
    let record = |extra: &str| {
        format!(
            "- serial: PI-1\n  type: hotp\n  otpkey: '{KEY}'\n  otplen: 6\n  counter: 0\n{extra}"
        )
    };
    assert!(read(&record("")).unwrap().entries[0].token.is_ok());
    let refused = |extra: &str| {
        read(&record(extra)).unwrap().entries[0]
            .token
            .clone()
            .unwrap_err()
    };
    assert!(matches!(
        refused("  _hashed_pin: '$pbkdf2-sha512$...'\n"),
        MigrateError::BadField { field: "_hashed_pin", ref value, .. } if value == "[hash]"
    ));
    assert!(matches!(
        refused("  failcount: -3\n"),
        MigrateError::BadField {
            field: "failcount",
            ..
        }
    ));
    assert!(matches!(
        refused("  rollout_state: clientwait\n"),
        MigrateError::BadField {
            field: "rollout_state",
            ..
        }
    ));
    assert!(matches!(
        refused("  active: 'yes'\n"),
        MigrateError::BadField {
            field: "active",
            ..
        }
    ));
    assert!(matches!(
        refused("  info_list:\n    hashlib: md5\n"),
        MigrateError::BadField {
            field: "hashlib",
            ..
        }
    ));
    let totp = format!(
        "- serial: PI-2\n  type: totp\n  otpkey: '{KEY}'\n  otplen: 6\n  counter: 5\n  info_list:\n    timeShift: 'nan'\n"
    );
    assert!(matches!(
        read(&totp).unwrap().entries[0].token.clone().unwrap_err(),
        MigrateError::BadField {
            field: "timeShift",
            ..
        }
    ));
    assert!(matches!(
        read("- serial: PI-3\n  type: push\n").unwrap().entries[0]
            .token
            .clone()
            .unwrap_err(),
        MigrateError::UnsupportedType { .. }
    ));
}

#[test]
fn oath_csv_written_back_reads_the_same_tokens() {
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    let totp: OtpParameters = TotpParameters {
        digits: 8,
        time_step: 60,
        ..TotpParameters::default()
    }
    .into();
    let sha256: OtpParameters = HotpParameters {
        algorithm: Algorithm::Sha256,
        digits: 6,
    }
    .into();
    let (text, left_out) = write_oath_csv([
        ("FOB-1", &secret, HotpParameters::default().into(), 7),
        ("FOB-2", &secret, totp, 0),
        ("FOB-3", &secret, sha256, 0),
    ]);
    // OATH CSV has no column for the hash: a SHA-256 token is left out, not mangled.
    assert_eq!(left_out, 1);
    let file = csv(&text);
    assert_eq!(file.entries.len(), 2);
    let first = file.entries[0].token.as_ref().unwrap();
    assert_eq!((first.serial.as_str(), first.counter), ("FOB-1", 7));
    assert_eq!(first.secret.expose_bytes(), secret.expose_bytes());
    assert_eq!(file.entries[1].token.as_ref().unwrap().parameters, totp);
}

#[test]
fn linotp_reads_the_hash_column_and_guesses_it_from_the_key() {
    let key32 = "3132333435363738393031323334353637383930313233343536373839303132";
    let file = read_migration(
        MigrationFormat::LinotpCsv,
        format!(
            "L-1, {KEY}, hmac, 8, 30\n\
             L-2, {key32}, totp, 6, 60\n\
             L-3, {key32}, totp, 6, 30, sha1\n\
             L-4, {KEY}, totp, 6, 30, md5\n\
             L-5, {KEY}, hotp, 6, 30, sha512, extra\n"
        )
        .as_bytes(),
        KeyEncoding::Hex,
    )
    .unwrap();
    let token = |index: usize| file.entries[index].token.as_ref().unwrap();
    // The fifth column of an HOTP line is no counter to LinOTP.
    assert_eq!(token(0).counter, 0);
    assert_eq!(
        token(0).parameters,
        HotpParameters {
            algorithm: Algorithm::Sha1,
            digits: 8
        }
        .into()
    );
    assert_eq!(
        token(1).parameters,
        TotpParameters {
            algorithm: Algorithm::Sha256,
            time_step: 60,
            ..TotpParameters::default()
        }
        .into()
    );
    assert_eq!(token(2).parameters, TotpParameters::default().into());
    assert!(matches!(
        error_of(&file, 3),
        MigrateError::BadField {
            field: "hashlib",
            ..
        }
    ));
    assert!(matches!(
        error_of(&file, 4),
        MigrateError::Columns { found: 7, .. }
    ));
    // privacyIDEA reads the same 32-byte key as SHA-1 (it has no hash column).
    let privacyidea = csv(&format!("P-1, {key32}, totp, 6, 60\n"));
    assert_eq!(
        privacyidea.entries[0].token.as_ref().unwrap().parameters,
        TotpParameters {
            time_step: 60,
            ..TotpParameters::default()
        }
        .into()
    );
}

/// Codes checked after the import of each seed-file format: the next code is
/// accepted once, a code before the file's counter is not.
#[test]
fn after_a_seed_file_import_the_next_codes_are_accepted_and_spent_ones_not() {
    let now = 1_767_225_600;
    let bank = Validator::new(
        MemoryStore::new(),
        ManualClock::at_secs(now),
        Keyring::new(SealingKey::generate(1).unwrap()),
    );
    let key32 = "3132333435363738393031323334353637383930313233343536373839303132";
    let oath = csv(&format!(
        "OATH-HOTP, {KEY}, hotp, 8, 5\nOATH-TOTP, {KEY}, totp, 6, 60\n"
    ));
    let linotp = read_migration(
        MigrationFormat::LinotpCsv,
        format!("LIN-TOTP, {key32}, totp, 6, 30\n").as_bytes(),
        KeyEncoding::Hex,
    )
    .unwrap();
    for file in [&oath, &linotp] {
        let report = bank.apply_migration(file, |_| {}).unwrap();
        assert_eq!(report.refused(), 0);
    }
    let secret = Secret::from_hex(KEY).unwrap();
    let hotp = otpfob::Hotp::new(
        &secret,
        HotpParameters {
            digits: 8,
            ..HotpParameters::default()
        },
    )
    .unwrap();
    let id = |text: &str| TokenId::new(text).unwrap();
    // Counter 5 is the next: 4 was used before the file was written.
    assert!(
        bank.verify(&id("OATH-HOTP"), &hotp.at(4).to_string(), None)
            .is_err()
    );
    let next = hotp.at(5).to_string();
    assert!(bank.verify(&id("OATH-HOTP"), &next, None).is_ok());
    assert!(bank.verify(&id("OATH-HOTP"), &next, None).is_err());

    let step = u64::try_from(now).unwrap();
    let sixty = otpfob::Totp::new(
        &secret,
        TotpParameters {
            time_step: 60,
            ..TotpParameters::default()
        },
    )
    .unwrap();
    let code = sixty.at_step(step / 60).to_string();
    assert!(bank.verify(&id("OATH-TOTP"), &code, None).is_ok());
    assert!(bank.verify(&id("OATH-TOTP"), &code, None).is_err());

    // LinOTP's guess from the 32-byte key: SHA-256.
    let sha256 = otpfob::Totp::new(
        &Secret::from_hex(key32).unwrap(),
        TotpParameters {
            algorithm: Algorithm::Sha256,
            ..TotpParameters::default()
        },
    )
    .unwrap();
    let code = sha256.at_step(step / 30).to_string();
    assert!(bank.verify(&id("LIN-TOTP"), &code, None).is_ok());
    assert!(bank.verify(&id("LIN-TOTP"), &code, None).is_err());
}
