//! otpfob's exports read by privacyIDEA 3.11.4's own importer (the functions behind
//! its /token/load endpoint), written by
//! `tests/data/migrate/privacyidea-import/make-fixtures`: otpfob imported `seeds.csv`,
//! accepted codes of every token (HOTP counters 0 to 2, TOTP one step), and exported
//! them as OATH CSV (`export.csv`) and as PSKC under the pre-shared key in `psk.hex`
//! (`export.pskcxml`); privacyIDEA read each file and was shown, for every token, the
//! last code otpfob accepted and the next one (`answers.txt`).
//!
//! What this shows: both files carry each key as otpfob holds it (privacyIDEA was
//! shown exactly the codes otpfob makes); after the move privacyIDEA accepts the next
//! code and refuses a spent HOTP code; and what the formats do not carry, as the
//! README says: a TOTP token's last accepted step (a spent TOTP code is accepted once
//! more), and, for privacyIDEA, the hash of a SHA-256 or SHA-512 token in PSKC (it
//! reads `<Suite>HMAC-SHA256</Suite>` as an unknown hash name and falls back to SHA-1).
#![cfg(feature = "migrate")]

use otpfob::migrate::{KeyEncoding, MigrationFormat, read_migration, write_oath_csv};
use otpfob::pskc::{ProvisionedToken, PskcCredential, read_pskc};
use otpfob::store::MemoryStore;
use otpfob::{
    Algorithm, Hotp, Keyring, ManualClock, OtpParameters, SealingKey, Secret, TokenId, Totp,
    UnixTime, Validator,
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/migrate/privacyidea-import/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// One line of answers.txt.
struct Answer {
    file: String,
    serial: String,
    counter: u64,
    time: i64,
    code: String,
    accepted: bool,
}

fn answers() -> Vec<Answer> {
    String::from_utf8(fixture("answers.txt"))
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            Answer {
                file: fields[0].to_owned(),
                serial: fields[1].to_owned(),
                counter: fields[2].parse().unwrap(),
                time: fields[3].parse().unwrap(),
                code: fields[4].to_owned(),
                accepted: fields[5] == "accepted",
            }
        })
        .collect()
}

fn psk() -> PskcCredential {
    let hex = String::from_utf8(fixture("psk.hex")).unwrap();
    PskcCredential::PreSharedKey(Secret::from_hex(hex.trim()).unwrap())
}

fn pskc_tokens() -> Vec<ProvisionedToken> {
    read_pskc(&fixture("export.pskcxml"), &psk())
        .unwrap()
        .tokens()
        .unwrap()
}

/// `(serial, secret, parameters, counter)` of every token of the OATH CSV export.
fn csv_tokens() -> Vec<(String, Secret, OtpParameters, u64)> {
    read_migration(
        MigrationFormat::OathCsv,
        &fixture("export.csv"),
        KeyEncoding::Hex,
    )
    .unwrap()
    .entries
    .into_iter()
    .map(|entry| {
        let token = entry.token.unwrap();
        (token.serial, token.secret, token.parameters, token.counter)
    })
    .collect()
}

/// The code otpfob makes for `parameters` at `counter` (HOTP) or time step (TOTP).
fn code(secret: &Secret, parameters: OtpParameters, counter: u64) -> String {
    match parameters {
        OtpParameters::Hotp(parameters) => Hotp::new(secret, parameters)
            .unwrap()
            .at(counter)
            .to_string(),
        OtpParameters::Totp(parameters) => Totp::new(secret, parameters)
            .unwrap()
            .at_step(counter)
            .to_string(),
    }
}

fn algorithm(parameters: OtpParameters) -> Algorithm {
    match parameters {
        OtpParameters::Hotp(parameters) => parameters.algorithm,
        OtpParameters::Totp(parameters) => parameters.algorithm,
    }
}

/// The token of `serial` in the export `file`: its secret and parameters.
fn token_of(file: &str, serial: &str) -> (Secret, OtpParameters) {
    if file == "export.csv" {
        let (_, secret, parameters, _) = csv_tokens()
            .into_iter()
            .find(|token| token.0 == serial)
            .unwrap();
        (secret, parameters)
    } else {
        let token = pskc_tokens()
            .into_iter()
            .find(|token| token.serial.as_deref() == Some(serial))
            .unwrap();
        (token.secret, token.parameters)
    }
}

#[test]
fn privacyidea_was_shown_the_codes_otpfob_makes_from_each_file() {
    let answers = answers();
    // Four SHA-1 tokens in both files, and four SHA-2 tokens in the PSKC file only.
    assert_eq!(answers.len(), 2 * (4 + 8));
    for answer in &answers {
        let (secret, parameters) = token_of(&answer.file, &answer.serial);
        assert_eq!(
            code(&secret, parameters, answer.counter),
            answer.code,
            "{} {}",
            answer.file,
            answer.serial
        );
    }
}

#[test]
fn privacyidea_accepts_the_next_code_and_refuses_a_spent_hotp_code() {
    let answers = answers();
    // Each token's two answers: the last code otpfob accepted, then the next.
    for pair in answers.chunks(2) {
        let (spent, next) = (&pair[0], &pair[1]);
        assert_eq!((&spent.file, &spent.serial), (&next.file, &next.serial));
        assert_eq!(next.counter, spent.counter + 1);
        let (_, parameters) = token_of(&spent.file, &spent.serial);
        let what = format!("{} {}", spent.file, spent.serial);
        match (algorithm(parameters), parameters) {
            // privacyIDEA reads `<Suite>HMAC-SHA256</Suite>` as a hash named
            // "hmac-sha256", which it does not know, and computes SHA-1 codes: the
            // token cannot be used there. (OATH CSV leaves these tokens out.)
            (Algorithm::Sha256 | Algorithm::Sha512, _) => {
                assert_eq!(spent.file, "export.pskcxml");
                assert!(!spent.accepted && !next.accepted, "{what}");
            }
            (_, OtpParameters::Hotp(_)) => {
                assert!(!spent.accepted, "{what}: a spent HOTP code was accepted");
                assert!(next.accepted, "{what}: the next code was refused");
            }
            // Neither format carries the last accepted step: the spent code is
            // accepted once more, within privacyIDEA's window.
            (_, OtpParameters::Totp(_)) => {
                assert!(spent.accepted, "{what}");
                assert!(next.accepted, "{what}: the next code was refused");
            }
        }
    }
}

#[test]
fn the_committed_exports_are_what_otpfob_writes_for_its_tokens() {
    // OATH CSV is deterministic: the file is what the writer makes of its tokens
    // today (so a change of the writer fails here until the fixture is remade).
    let tokens = csv_tokens();
    let (written, left_out) =
        write_oath_csv(tokens.iter().map(|(serial, secret, parameters, counter)| {
            (serial.as_str(), secret, *parameters, *counter)
        }));
    assert_eq!(left_out, 0);
    assert_eq!(written.as_bytes(), fixture("export.csv"));
    // HOTP tokens leave at their next counter, 3, after otpfob accepted 0, 1 and 2.
    for (serial, _, parameters, counter) in &tokens {
        if matches!(parameters, OtpParameters::Hotp(_)) {
            assert_eq!(*counter, 3, "{serial}");
        }
    }
    // The PSKC file (random IVs) holds every seed of seeds.csv, with its parameters.
    let seeds = read_migration(
        MigrationFormat::LinotpCsv,
        &fixture("seeds.csv"),
        KeyEncoding::Hex,
    )
    .unwrap();
    let exported = pskc_tokens();
    assert_eq!(exported.len(), seeds.entries.len());
    for seed in &seeds.entries {
        let seed = seed.token.as_ref().unwrap();
        let token = exported
            .iter()
            .find(|token| token.serial.as_deref() == Some(seed.serial.as_str()))
            .unwrap();
        assert_eq!(token.secret.expose_bytes(), seed.secret.expose_bytes());
        assert_eq!(token.parameters, seed.parameters, "{}", seed.serial);
    }
}

#[test]
fn otpfob_reimports_the_pskc_file_next_codes_accepted_spent_hotp_codes_refused() {
    let answers = answers();
    let clock = ManualClock::at_secs(answers[0].time);
    let bank = Validator::new(
        MemoryStore::new(),
        clock.clone(),
        Keyring::new(SealingKey::generate(1).unwrap()),
    );
    let container = read_pskc(&fixture("export.pskcxml"), &psk()).unwrap();
    assert!(bank.enrol_pskc(&container).is_complete());
    for pair in answers
        .chunks(2)
        .filter(|pair| pair[0].file == "export.pskcxml")
    {
        let (spent, next) = (&pair[0], &pair[1]);
        let id = TokenId::new(&spent.serial).unwrap();
        let (_, parameters) = token_of(&spent.file, &spent.serial);
        clock.set(UnixTime::from_secs(next.time));
        if matches!(parameters, OtpParameters::Hotp(_)) {
            assert!(
                bank.verify(&id, &spent.code, None).is_err(),
                "{}: spent",
                spent.serial
            );
        }
        assert!(
            bank.verify(&id, &next.code, None).is_ok(),
            "{}: next",
            next.serial
        );
        assert!(
            bank.verify(&id, &next.code, None).is_err(),
            "{}: replayed",
            next.serial
        );
    }
}
