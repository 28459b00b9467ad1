//! `otpfob export pskc|oath-csv`, run as the binary: a database's tokens written to a
//! new 0600 file, encrypted under a 0600 key file, and imported again elsewhere.
#![cfg(all(feature = "cli", unix))]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use otpfob::{Hotp, HotpParameters, Secret};

const SEALING_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const KEY: &str = "3132333435363738393031323334353637383930";

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

fn code(counter: u64) -> String {
    Hotp::new(
        &Secret::from_bytes(b"12345678901234567890").unwrap(),
        HotpParameters::default(),
    )
    .unwrap()
    .at(counter)
    .to_string()
}

fn write_mode(path: &Path, contents: &str, mode: u32) {
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A database with an event token at counter 5 and a disabled-in-privacyIDEA one.
fn database(directory: &Path) -> String {
    let seeds = directory.join("seeds.csv");
    std::fs::write(
        &seeds,
        format!("EV-5, {KEY}, hotp, 6, 5\nEV-9, {KEY}, hotp, 6, 9\n"),
    )
    .unwrap();
    let database = directory.join("bank.sqlite");
    let database = database.to_str().unwrap().to_owned();
    let applied = otpfob(&[
        "migrate",
        "oath-csv",
        seeds.to_str().unwrap(),
        "--apply",
        "--database",
        &database,
    ]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
    database
}

#[test]
fn pskc_export_is_private_and_imports_elsewhere() {
    let directory = tempfile::tempdir().unwrap();
    let database = database(directory.path());
    let psk = directory.path().join("psk");
    write_mode(&psk, "000102030405060708090a0b0c0d0e0f\n", 0o600);
    let out = directory.path().join("export.pskcxml");
    let out = out.to_str().unwrap();
    let exported = otpfob(&[
        "export",
        "pskc",
        "--database",
        &database,
        "--out",
        out,
        "--actor",
        "ops:alice",
        "--psk-file",
        psk.to_str().unwrap(),
        "--token",
        "EV-5",
    ]);
    assert_eq!(
        exported.status.code(),
        Some(0),
        "{}",
        text(&exported.stderr)
    );
    assert_eq!(
        text(&exported.stdout),
        format!("exported 1 tokens to {out} (0 left out)\n")
    );
    let mode = std::fs::metadata(out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!text(&exported.stdout).contains(KEY));

    // The file is never overwritten.
    let again = otpfob(&[
        "export",
        "pskc",
        "--database",
        &database,
        "--out",
        out,
        "--actor",
        "ops:alice",
        "--psk-file",
        psk.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("never overwritten"),
        "{}",
        text(&again.stderr)
    );

    let other = directory.path().join("other.sqlite");
    let other = other.to_str().unwrap();
    let imported = otpfob(&[
        "pskc",
        "import",
        out,
        "--psk-file",
        psk.to_str().unwrap(),
        "--database",
        other,
    ]);
    assert_eq!(
        imported.status.code(),
        Some(0),
        "{}",
        text(&imported.stderr)
    );
    let verify = |counter| {
        otpfob(&[
            "verify",
            "--database",
            other,
            "--token",
            "EV-5",
            &code(counter),
        ])
        .status
        .code()
    };
    assert_eq!(verify(4), Some(1));
    assert_eq!(verify(5), Some(0));
}

#[test]
fn key_files_open_to_others_and_plaintext_pskc_are_refused() {
    let directory = tempfile::tempdir().unwrap();
    let database = database(directory.path());
    let psk = directory.path().join("psk");
    write_mode(&psk, "000102030405060708090a0b0c0d0e0f\n", 0o644);
    let out = directory.path().join("export.pskcxml");
    let out = out.to_str().unwrap();
    let open = otpfob(&[
        "export",
        "pskc",
        "--database",
        &database,
        "--out",
        out,
        "--actor",
        "ops",
        "--psk-file",
        psk.to_str().unwrap(),
    ]);
    assert_eq!(open.status.code(), Some(2));
    assert!(
        text(&open.stderr).contains("chmod 600"),
        "{}",
        text(&open.stderr)
    );
    let unencrypted = otpfob(&[
        "export",
        "pskc",
        "--database",
        &database,
        "--out",
        out,
        "--actor",
        "ops",
    ]);
    assert_eq!(unencrypted.status.code(), Some(2));
    assert!(text(&unencrypted.stderr).contains("--psk-file"));
    let no_actor = otpfob(&["export", "oath-csv", "--database", &database, "--out", out]);
    assert_eq!(no_actor.status.code(), Some(2));
    assert!(
        !Path::new(out).exists(),
        "no file is left by a refused export"
    );
}

#[test]
fn oath_csv_export_imports_elsewhere() {
    let directory = tempfile::tempdir().unwrap();
    let database = database(directory.path());
    let out = directory.path().join("export.csv");
    let out = out.to_str().unwrap();
    let exported = otpfob(&[
        "export",
        "oath-csv",
        "--database",
        &database,
        "--out",
        out,
        "--actor",
        "ops:bob",
    ]);
    assert_eq!(
        exported.status.code(),
        Some(0),
        "{}",
        text(&exported.stderr)
    );
    let written = std::fs::read_to_string(out).unwrap();
    assert!(
        written.contains(&format!("EV-5, {KEY}, hotp, 6, 5\n")),
        "{written}"
    );
    assert!(
        written.contains(&format!("EV-9, {KEY}, hotp, 6, 9\n")),
        "{written}"
    );
    let other = directory.path().join("other.sqlite");
    let other = other.to_str().unwrap();
    let applied = otpfob(&["migrate", "oath-csv", out, "--apply", "--database", other]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
    let verified = otpfob(&["verify", "--database", other, "--token", "EV-9", &code(9)]);
    assert_eq!(verified.status.code(), Some(0));
}
