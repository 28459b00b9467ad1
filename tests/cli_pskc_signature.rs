//! `otpfob pskc import --signer-cert FILE` (feature `pskc-signature`), run as the
//! binary, over the signed containers of `tests/data/pskc/signed` (made by `xmlsec1`,
//! `pskctool` and python-pskc): a file that verifies against the trusted signer is
//! listed with its signer and enrolled, and its codes check; an unsigned, altered,
//! foreign or truncated file is refused in one line on standard error, with status 2,
//! and no database is made.
#![cfg(all(feature = "cli", feature = "pskc-signature"))]

use std::path::Path;
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

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/data/pskc/signed/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn vendor() -> String {
    fixture("vendor.crt.pem")
}

/// The fixtures' one key (`12345678901234567890`, SHA-1, 6 digits) at `counter`.
fn code(counter: u64) -> String {
    Hotp::new(
        &Secret::from_bytes(b"12345678901234567890").unwrap(),
        HotpParameters::default(),
    )
    .unwrap()
    .at(counter)
    .to_string()
}

fn verify(database: &str, token: &str, code: &str) -> Option<i32> {
    otpfob(&["verify", "--database", database, "--token", token, code])
        .status
        .code()
}

const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";

#[test]
fn verified_files_name_their_signer_enrol_and_their_codes_check() {
    for (name, serial, algorithm) in [
        ("xmlsec1-signed.pskcxml", "SIG-1", RSA_SHA256),
        ("pskctool-signed.pskcxml", "SIG-1", RSA_SHA1),
        ("python-pskc-signed.pskcxml", "PY-SIG-1", RSA_SHA256),
    ] {
        let directory = tempfile::tempdir().unwrap();
        let database = directory.path().join("tokens.sqlite");
        let database = database.to_str().unwrap();
        let import = otpfob(&[
            "pskc",
            "import",
            &fixture(name),
            "--signer-cert",
            &vendor(),
            "--database",
            database,
        ]);
        assert_eq!(
            import.status.code(),
            Some(0),
            "{name}: {}",
            text(&import.stderr)
        );
        let listing = text(&import.stdout);
        assert!(
            listing.lines().next().unwrap().ends_with(&format!(
                ": 1 key, signature verified: signed by CN=vendor,O=otpfob tests ({algorithm})"
            )),
            "{name}: {listing}"
        );
        assert!(listing.contains(&format!("as token {serial}")), "{listing}");
        assert!(
            !listing.contains("MTIzNDU2"),
            "a secret was printed: {listing}"
        );
        // The next code is accepted once; a spent code is not; the one after is.
        assert_eq!(verify(database, serial, &code(0)), Some(0), "{name}");
        assert_eq!(
            verify(database, serial, &code(0)),
            Some(1),
            "{name}: replayed"
        );
        assert_eq!(verify(database, serial, &code(1)), Some(0), "{name}");
    }
}

/// Runs an import that must be refused: status 2, one line on standard error that
/// starts with `expected`, nothing on standard output, and no database made.
fn assert_refused(file: &str, signer: &str, expected: &str) {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("tokens.sqlite");
    let refused = otpfob(&[
        "pskc",
        "import",
        file,
        "--signer-cert",
        signer,
        "--database",
        database.to_str().unwrap(),
    ]);
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{file}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{file}: {stderr}");
    assert!(stderr.starts_with(expected), "{file}: {stderr}");
    assert!(stderr.ends_with('\n'));
    assert_eq!(text(&refused.stdout), "", "{file}");
    assert!(!database.exists(), "{file}: a database was made");
}

fn write(directory: &Path, name: &str, contents: &str) -> String {
    let path = directory.join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn unsigned_altered_foreign_and_truncated_files_are_refused_in_one_line() {
    let directory = tempfile::tempdir().unwrap();
    let invalid = "the container's signature does not verify against the trusted signer";
    let signed = std::fs::read_to_string(fixture("xmlsec1-signed.pskcxml")).unwrap();

    let unsigned = fixture("unsigned.pskcxml");
    assert_refused(
        &unsigned,
        &vendor(),
        &format!("otpfob: cannot import {unsigned}: the container is not signed"),
    );
    // Another secret under the vendor's signature.
    let altered = write(
        directory.path(),
        "altered.pskcxml",
        &signed.replace(
            "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=",
            "MTIzNDU2Nzg5MDEyMzQ1Njc4OTE=",
        ),
    );
    assert_refused(
        &altered,
        &vendor(),
        &format!("otpfob: cannot import {altered}: {invalid}"),
    );
    // Signed by a key the bank does not trust, whose certificate the file carries.
    let other = fixture("other-signer.pskcxml");
    assert_refused(
        &other,
        &vendor(),
        &format!("otpfob: cannot import {other}: {invalid}"),
    );
    // The vendor's file, with another signer trusted.
    let xmlsec1 = fixture("xmlsec1-signed.pskcxml");
    let bank = format!(
        "{}/tests/data/pskc/rsa/bank.crt.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    assert_refused(
        &xmlsec1,
        &bank,
        &format!("otpfob: cannot import {xmlsec1}: {invalid}"),
    );
    // The vendor's signature pasted into another container.
    let start = signed.find("<ds:Signature>").unwrap();
    let end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let pasted = std::fs::read_to_string(&unsigned)
        .unwrap()
        .replace("SIG-1", "SIG-2")
        .replace(
            "</pskc:KeyContainer>",
            &format!("{}\n</pskc:KeyContainer>", &signed[start..end]),
        )
        .replace(
            "xmlns:pskc=\"urn:ietf:params:xml:ns:keyprov:pskc\"",
            "xmlns:pskc=\"urn:ietf:params:xml:ns:keyprov:pskc\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"",
        );
    let pasted = write(directory.path(), "pasted.pskcxml", &pasted);
    assert_refused(
        &pasted,
        &vendor(),
        &format!("otpfob: cannot import {pasted}: {invalid}"),
    );
    // Cut off inside the signature.
    let truncated = write(
        directory.path(),
        "truncated.pskcxml",
        &signed[..signed.find("<ds:SignatureValue>").unwrap() + 40],
    );
    assert_refused(
        &truncated,
        &vendor(),
        &format!("otpfob: cannot import {truncated}: malformed XML"),
    );
    // A signer "certificate" that is a private key.
    let key = fixture("vendor.key.pem");
    assert_refused(
        &xmlsec1,
        &key,
        &format!(
            "otpfob: the signer certificate {key}: a certificate cannot be read: not a PEM X.509 certificate"
        ),
    );
}

#[test]
fn without_the_flag_a_signed_file_imports_and_says_its_signature_is_unchecked() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("tokens.sqlite");
    let database = database.to_str().unwrap();
    // Even the file signed by an untrusted key: nothing was asked of its signature.
    let import = otpfob(&[
        "pskc",
        "import",
        &fixture("other-signer.pskcxml"),
        "--database",
        database,
    ]);
    assert_eq!(import.status.code(), Some(0), "{}", text(&import.stderr));
    let listing = text(&import.stdout);
    assert!(
        listing
            .lines()
            .next()
            .unwrap()
            .ends_with(": 1 key (its XML signature is not checked)"),
        "{listing}"
    );
    assert_eq!(verify(database, "SIG-1", &code(0)), Some(0));
}
