//! otpfob's PSKC files and libpskc's `pskctool` (oath-toolkit, Debian's `pskctool`),
//! both ways: `pskctool --validate` finds otpfob's exports (plaintext, pre-shared
//! key, password) valid against RFC 6030's XML Schema; a batch otpfob wrote is signed
//! by `pskctool --sign`, verified by `pskctool --verify`, and imported by `otpfob pskc
//! import --signer-cert`, after which its fobs' codes check.
//!
//! libpskc cannot sign an encrypted file: it re-serialises the container through its
//! own parser, which drops `<EncryptedValue>` (its output of an encrypted export has
//! no secrets left). So what pskctool signs here is a plaintext batch.
//!
//! `pskctool -e` exits 0 whether or not the file is valid; it prints `OK` or `FAIL`.
#![cfg(all(feature = "cli", feature = "pskc-signature"))]

use std::path::Path;
use std::process::{Command, Output};

use otpfob::pskc::{PskcCredential, read_pskc};
use otpfob::{Hotp, HotpParameters};

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

/// Whether `pskctool` runs; under `CI=true` it must (`.ci/run` installs it).
fn have_pskctool() -> bool {
    let found = Command::new("pskctool")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must have pskctool (apt-get install pskctool)"
        );
        eprintln!("skipped: pskctool is not installed (apt-get install pskctool)");
    }
    found
}

fn pskctool(arguments: &[&str]) -> Output {
    Command::new("pskctool").args(arguments).output().unwrap()
}

fn path(directory: &Path, name: &str) -> String {
    directory.join(name).to_str().unwrap().to_owned()
}

/// A private (0600) file holding `contents`.
fn private(directory: &Path, name: &str, contents: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let file = path(directory, name);
    std::fs::write(&file, contents).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    file
}

fn succeeded(output: &Output, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{what}: {}",
        text(&output.stderr)
    );
}

#[test]
fn pskctool_finds_our_exports_valid_against_the_schema() {
    if !have_pskctool() {
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let database = path(dir, "bank.sqlite");
    let plain = path(dir, "plain.pskcxml");
    // A batch of new fobs in plaintext, enrolled in the bank's database; TOTP and HOTP.
    for (arguments, first) in [(vec![], "1"), (vec!["--hotp", "--digits", "8"], "3")] {
        let out = path(dir, &format!("batch-{first}.pskcxml"));
        let mut command = vec![
            "pskc",
            "export",
            "--count",
            "2",
            "--first",
            first,
            "--plaintext",
            "--output",
            &out,
            "--database",
            &database,
        ];
        command.extend(arguments);
        succeeded(&otpfob(&command), "pskc export");
        if first == "1" {
            std::fs::rename(&out, &plain).unwrap();
        }
    }
    // The way back from the database, under a pre-shared key and under a password.
    let psk = private(dir, "psk", "000102030405060708090a0b0c0d0e0f\n");
    let password = private(dir, "password", "correct horse battery staple\n");
    let mut files = vec![plain];
    for (flag, key, name) in [
        ("--psk-file", &psk, "psk.pskcxml"),
        ("--password-file", &password, "password.pskcxml"),
    ] {
        let out = path(dir, name);
        succeeded(
            &otpfob(&[
                "export",
                "pskc",
                "--database",
                &database,
                "--actor",
                "ops:test",
                flag,
                key,
                "--iterations",
                "1000",
                "--out",
                &out,
            ]),
            name,
        );
        files.push(out);
    }
    for file in &files {
        let validated = pskctool(&["--validate", file]);
        assert_eq!(text(&validated.stdout), "OK\n", "{file}");
    }
    // The check can fail: an element the schema does not allow is found.
    let document = std::fs::read_to_string(&files[1]).unwrap();
    let bad = path(dir, "bad.pskcxml");
    std::fs::write(
        &bad,
        document.replacen("<pskc:Counter>", "<pskc:Bogus/><pskc:Counter>", 1),
    )
    .unwrap();
    assert_eq!(text(&pskctool(&["--validate", &bad]).stdout), "FAIL\n");
}

#[test]
fn a_batch_signed_by_pskctool_imports_with_its_signer_and_its_codes_check() {
    if !have_pskctool() {
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    let dir = directory.path();
    let signed_data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pskc/signed");
    let (key, certificate) = (
        format!("{signed_data}/vendor.key.pem"),
        format!("{signed_data}/vendor.crt.pem"),
    );
    let batch = path(dir, "batch.pskcxml");
    succeeded(
        &otpfob(&[
            "pskc",
            "export",
            "--count",
            "2",
            "--hotp",
            "--plaintext",
            "--output",
            &batch,
        ]),
        "pskc export",
    );
    let signing = pskctool(&[
        "--sign",
        "--sign-key",
        &key,
        "--sign-crt",
        &certificate,
        &batch,
    ]);
    succeeded(&signing, "pskctool --sign");
    let signed = path(dir, "signed.pskcxml");
    std::fs::write(&signed, &signing.stdout).unwrap();
    succeeded(
        &pskctool(&["--verify", "--verify-crt", &certificate, &signed]),
        "pskctool --verify",
    );

    let database = path(dir, "bank.sqlite");
    let import = otpfob(&[
        "pskc",
        "import",
        &signed,
        "--signer-cert",
        &certificate,
        "--database",
        &database,
    ]);
    succeeded(&import, "pskc import");
    let listing = text(&import.stdout);
    assert!(
        listing.lines().next().unwrap().ends_with(
            ": 2 keys, signature verified: signed by CN=vendor,O=otpfob tests (http://www.w3.org/2000/09/xmldsig#rsa-sha1)"
        ),
        "{listing}"
    );
    // Each fob's first code is accepted once, the next one after it.
    let tokens = read_pskc(&std::fs::read(&batch).unwrap(), &PskcCredential::None)
        .unwrap()
        .tokens()
        .unwrap();
    assert_eq!(tokens.len(), 2);
    for token in &tokens {
        let serial = token.serial.as_deref().unwrap();
        assert!(listing.contains(&format!("as token {serial}")), "{listing}");
        let hotp = Hotp::new(&token.secret, HotpParameters::default()).unwrap();
        for (counter, expected) in [(0, "accepted\n"), (0, "code rejected\n"), (1, "accepted\n")] {
            let code = hotp.at(counter).to_string();
            let verified = otpfob(&["verify", "--database", &database, "--token", serial, &code]);
            assert_eq!(text(&verified.stdout), expected, "{serial} at {counter}");
        }
    }
}
