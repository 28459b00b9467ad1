//! `otpfob migrate FORMAT FILE --dry-run|--apply`, run as the binary, over
//! privacyIDEA's own export (tests/data/migrate/privacyidea) and hostile CSV.
#![cfg(feature = "cli")]

use std::process::{Command, Output};

use otpfob::{Hotp, HotpParameters, Secret};

const SEALING_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn otpfob(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otpfob"))
        .args(arguments)
        .env("OTPFOB_SEALING_KEY", SEALING_KEY)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn export() -> String {
    format!(
        "{}/tests/data/migrate/privacyidea/tokens.yaml",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn verify(database: &str, token: &str, code: &str) -> Option<i32> {
    otpfob(&["verify", "--database", database, "--token", token, code])
        .status
        .code()
}

#[test]
fn dry_run_reports_and_apply_imports() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("tokens.sqlite");
    let database = database.to_str().unwrap();
    let code = Hotp::new(
        &Secret::from_bytes(b"12345678901234567890").unwrap(),
        HotpParameters::default(),
    )
    .unwrap()
    .at(0)
    .to_string();

    let dry = otpfob(&[
        "migrate",
        "privacyidea-yaml",
        &export(),
        "--dry-run",
        "--database",
        database,
    ]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    let report = text(&dry.stdout);
    assert!(
        report.contains("1 PI-HOTP-USED (owner alice@bank): enrol; description not carried"),
        "{report}"
    );
    // The shift privacyIDEA learned (31 to 60 s, by the moment of the run) is two steps.
    let ahead = report
        .lines()
        .find(|line| line.contains("PI-TOTP-AHEAD"))
        .unwrap();
    assert!(
        ahead.starts_with("6 PI-TOTP-AHEAD (owner alice@bank): enrol; time shift ")
            && ahead.ends_with(" s kept as +2 steps; description not carried"),
        "{report}"
    );
    assert!(
        report.ends_with("10 would be enrolled, 0 refused\n"),
        "{report}"
    );
    // Nothing written: the token is unknown.
    assert_eq!(verify(database, "PI-HOTP-FAILS", &code), Some(1));

    let apply = otpfob(&[
        "migrate",
        "privacyidea-yaml",
        &export(),
        "--apply",
        "--database",
        database,
    ]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply.stderr));
    assert!(text(&apply.stdout).ends_with("imported 10 tokens\n"));
    assert!(text(&apply.stderr).contains("otpfob: enrolled 10 of 10\n"));
    assert_eq!(verify(database, "PI-HOTP-FAILS", &code), Some(0));

    // A second apply refuses every token (all enrolled) and changes nothing.
    let again = otpfob(&[
        "migrate",
        "privacyidea-yaml",
        &export(),
        "--apply",
        "--database",
        database,
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("0 could be enrolled, 10 refused: nothing imported"));
}

#[test]
fn a_file_with_one_bad_line_imports_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("tokens.sqlite");
    let database = database.to_str().unwrap();
    let file = directory.path().join("seeds.csv");
    std::fs::write(
        &file,
        "GOOD-1, 3132333435363738393031323334353637383930\nBAD-1, 31323334353637383930313233343536373839zz\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let apply = otpfob(&[
        "migrate",
        "oath-csv",
        file,
        "--apply",
        "--database",
        database,
    ]);
    assert_eq!(apply.status.code(), Some(2));
    let report = text(&apply.stdout);
    assert!(
        report.contains(
            "2 BAD-1: refused: the key cannot be decoded: invalid hex character at position 38"
        ),
        "{report}"
    );
    assert!(
        !report.contains("3132333435"),
        "a key was printed: {report}"
    );
    let code = Hotp::new(
        &Secret::from_bytes(b"12345678901234567890").unwrap(),
        HotpParameters::default(),
    )
    .unwrap()
    .at(0)
    .to_string();
    assert_eq!(verify(database, "GOOD-1", &code), Some(1));

    let neither = otpfob(&["migrate", "oath-csv", file, "--database", database]);
    assert_eq!(
        neither.status.code(),
        Some(2),
        "--dry-run or --apply is required"
    );
}
