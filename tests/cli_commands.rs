//! `otpfob enrol`, `verify`, `sealing-key`, `pskc import|export` and `fob`, run as
//! the binary, end to end.
#![cfg(feature = "cli")]

use std::path::Path;
use std::process::{Command, Output};

use otpfob::{
    Hotp, HotpParameters, KeyUri, OtpParameters, Secret,
    pskc::{PskcCredential, read_pskc},
};

const SEALING_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const RFC_PSK: &str = "12345678901234567890123456789012";

fn otpfob(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otpfob"))
        .args(arguments)
        .env("OTPFOB_SEALING_KEY", SEALING_KEY)
        .env("RUST_BACKTRACE", "full")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn figure(number: u32) -> String {
    format!(
        "{}/tests/data/pskc/figure{number}.xml",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn path(directory: &Path, name: &str) -> String {
    directory.join(name).display().to_string()
}

/// A failure: one line on standard error, status 2.
fn assert_bad(output: &Output, context: &str) {
    let message = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{context}: {message}");
    assert!(message.starts_with("otpfob: "), "{context}: {message}");
    assert_eq!(message.lines().count(), 1, "{context}: {message}");
}

#[cfg(unix)]
fn mode(path: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn enrol_prints_a_key_uri_and_a_terminal_qr_code() {
    let output = otpfob(&[
        "enrol",
        "--account",
        "alice@example.com",
        "--issuer",
        "Example Bank",
        "--digits",
        "8",
        "--algorithm",
        "SHA256",
        "--period",
        "60",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let uri = KeyUri::parse(text.lines().next().unwrap()).unwrap();
    assert_eq!(uri.account(), "alice@example.com");
    assert_eq!(uri.issuer(), Some("Example Bank"));
    assert_eq!(uri.secret().len_bits(), 160);
    let OtpParameters::Totp(parameters) = uri.parameters() else {
        panic!("{text}")
    };
    assert_eq!((parameters.digits, parameters.time_step), (8, 60));
    assert!(
        text.lines().skip(1).any(|line| line.contains('█')),
        "{text}"
    );
    // A new secret each time.
    let again = stdout(&otpfob(&[
        "enrol",
        "--account",
        "alice@example.com",
        "--no-qr",
    ]));
    assert_eq!(again.lines().count(), 1);
    assert_ne!(
        KeyUri::parse(again.trim()).unwrap().secret().expose_bytes(),
        uri.secret().expose_bytes()
    );
}

/// `enroll`, the spelling of earlier releases, is kept as an alias of `enrol`, so that
/// scripts written against it still work.
#[test]
fn the_old_spelling_enroll_still_enrols() {
    let output = otpfob(&["enroll", "--account", "alice@example.com", "--no-qr"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let uri = KeyUri::parse(stdout(&output).trim()).unwrap();
    assert_eq!(uri.account(), "alice@example.com");
}

#[test]
fn enrol_writes_qr_files_that_are_new_and_private() {
    let directory = tempfile::tempdir().unwrap();
    let svg = path(directory.path(), "alice.svg");
    let png = path(directory.path(), "alice.png");
    let output = otpfob(&["enrol", "--account", "alice", "--svg", &svg]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output).lines().count(), 1, "the URI only");
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    let output = otpfob(&["enrol", "--account", "alice", "--png", &png]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
    #[cfg(unix)]
    assert_eq!((mode(&svg), mode(&png)), (0o600, 0o600));
    // Never overwritten, and nothing secret shown when refused.
    let output = otpfob(&["enrol", "--account", "alice", "--svg", &svg]);
    assert_bad(&output, "existing file");
    assert!(output.stdout.is_empty());
}

#[test]
fn enrolled_tokens_verify_once() {
    let directory = tempfile::tempdir().unwrap();
    let database = path(directory.path(), "tokens.db");
    let output = otpfob(&[
        "enrol",
        "--account",
        "bob",
        "--hotp",
        "--counter",
        "5",
        "--database",
        &database,
        "--token",
        "BOB-1",
        "--no-qr",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let uri = KeyUri::parse(stdout(&output).trim()).unwrap();
    let hotp = Hotp::new(uri.secret(), HotpParameters::default()).unwrap();
    let code = hotp.at(6).to_string();

    let verify = |code: &str, extra: &[&str]| {
        let mut arguments = vec!["verify", "--database", &database, "--token", "BOB-1"];
        arguments.extend_from_slice(extra);
        arguments.push(code);
        otpfob(&arguments)
    };
    let accepted = verify(&code, &[]);
    assert_eq!(stdout(&accepted), "accepted\n");
    assert_eq!(accepted.status.code(), Some(0));
    assert!(accepted.stderr.is_empty());

    let replay = verify(&code, &[]);
    assert_eq!(
        (stdout(&replay).as_str(), replay.status.code()),
        ("code rejected\n", Some(1))
    );
    assert!(replay.stderr.is_empty(), "no reason without -v");
    let replay = verify(&code, &["-v"]);
    assert_eq!(stdout(&replay), "code rejected\n");
    // A spent counter is behind the window: to the validator, a wrong code.
    assert_eq!(stderr(&replay), "otpfob: reason: wrong_code\n");

    let next = verify(&hotp.at(7).to_string(), &["-v"]);
    assert_eq!(stdout(&next), "accepted\n");
    assert_eq!(stderr(&next), "otpfob: matched at offset 0\n");

    let garbage = verify("12x456", &["-v"]);
    assert_eq!(garbage.status.code(), Some(1));
    let unknown = otpfob(&[
        "verify",
        "--database",
        &database,
        "--token",
        "NOBODY",
        "-v",
        "123456",
    ]);
    assert_eq!(
        (stdout(&unknown).as_str(), unknown.status.code()),
        ("code rejected\n", Some(1))
    );
    assert_eq!(stderr(&unknown), "otpfob: reason: unknown_token\n");

    // Another sealing key opens nothing: rejected, never accepted.
    let other_key = Command::new(env!("CARGO_BIN_EXE_otpfob"))
        .args(["verify", "--database", &database, "--token", "BOB-1", "-v"])
        .arg(hotp.at(8).to_string())
        .env("OTPFOB_SEALING_KEY", "ff".repeat(32))
        .output()
        .unwrap();
    assert_eq!(other_key.status.code(), Some(1));
    // The record's MAC key derives from the sealing key, so another key fails the
    // record's check before it would fail to open the seed.
    assert_eq!(stderr(&other_key), "otpfob: reason: record_tampered\n");
}

#[test]
fn there_is_no_default_sealing_key() {
    let directory = tempfile::tempdir().unwrap();
    let database = path(directory.path(), "tokens.db");
    let output = Command::new(env!("CARGO_BIN_EXE_otpfob"))
        .args(["enrol", "--account", "eve", "--database", &database])
        .env_remove("OTPFOB_SEALING_KEY")
        .output()
        .unwrap();
    assert_bad(&output, "no key");
    assert!(output.stdout.is_empty(), "no secret shown");
    assert!(stderr(&output).contains("no sealing key"));

    for bad in ["abcd", "zz"] {
        let output = Command::new(env!("CARGO_BIN_EXE_otpfob"))
            .args(["enrol", "--account", "eve", "--database", &database])
            .env("OTPFOB_SEALING_KEY", bad)
            .output()
            .unwrap();
        assert_bad(&output, bad);
        assert!(!stderr(&output).contains(bad), "the key is not echoed");
    }
    let missing = otpfob(&[
        "verify",
        "--database",
        &path(directory.path(), "none.db"),
        "--token",
        "x",
        "123456",
    ]);
    assert_bad(&missing, "missing database");
    assert!(
        !directory.path().join("none.db").exists(),
        "verify creates no database"
    );
}

#[test]
#[cfg(unix)]
fn sealing_key_files_are_new_and_private() {
    let directory = tempfile::tempdir().unwrap();
    let key = path(directory.path(), "sealing.key");
    let output = otpfob(&["sealing-key", &key]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(mode(&key), 0o600);
    let text = std::fs::read_to_string(&key).unwrap();
    assert_eq!(text.trim().len(), 64);
    assert!(
        !stdout(&output).contains(text.trim()),
        "the key is not printed"
    );
    assert_bad(&otpfob(&["sealing-key", &key]), "overwrite");

    let database = path(directory.path(), "tokens.db");
    let enrol = |key_file: &str| {
        Command::new(env!("CARGO_BIN_EXE_otpfob"))
            .args([
                "enrol",
                "--account",
                "k",
                "--no-qr",
                "--database",
                &database,
            ])
            .args(["--sealing-key-file", key_file])
            .env_remove("OTPFOB_SEALING_KEY")
            .output()
            .unwrap()
    };
    assert_eq!(enrol(&key).status.code(), Some(0));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = enrol(&key);
    assert_bad(&open, "group-readable key");
    assert!(stderr(&open).contains("chmod 600"));
}

#[test]
fn pskc_import_lists_and_enrols_every_key_reporting_refusals() {
    let directory = tempfile::tempdir().unwrap();
    let database = path(directory.path(), "tokens.db");
    let listed = otpfob(&["pskc", "import", &figure(10)]);
    assert_eq!(listed.status.code(), Some(0));
    let text = stdout(&listed);
    assert!(text.contains("key 1, serial 654321, TokenVendorAcme: HOTP SHA1 8 digits, counter 0, from 2006-05-01 00:00:00 UTC, until 2006-05-31 00:00:00 UTC"), "{text}");
    assert!(
        !text.contains("MTIzNDU2Nzg5MDEyMzQ1Njc4OTA="),
        "no secret listed"
    );

    let imported = otpfob(&["pskc", "import", &figure(10), "--database", &database]);
    let text = stdout(&imported);
    assert!(text.contains("enrolled key 1 as token 654321\n"), "{text}");
    assert!(text.contains("enrolled key 3 as token 9999999\n"), "{text}");
    assert!(
        text.contains("refused key 4: token 9999999 is already enrolled\n"),
        "{text}"
    );
    assert_bad(&imported, "partial import");
    assert_eq!(stderr(&imported), "otpfob: 1 of 4 keys were not enrolled\n");
    // The RFC secret's 8-digit code of counter 0, refused: the key's <ExpiryDate>
    // (2006-05-31) is its validity period's end, and it has passed.
    let verified = otpfob(&[
        "verify",
        "--database",
        &database,
        "--token",
        "654321",
        "84755224",
    ]);
    assert_eq!(stdout(&verified), "code rejected\n");
    assert_eq!(verified.status.code(), Some(1));

    let encrypted = otpfob(&["pskc", "import", &figure(6)]);
    assert_bad(&encrypted, "no key");
    let psk_file = path(directory.path(), "psk");
    std::fs::write(&psk_file, format!("{RFC_PSK}\n")).unwrap();
    for credential in [["--psk", RFC_PSK], ["--psk-file", psk_file.as_str()]] {
        let output = otpfob(&["pskc", "import", &figure(6), credential[0], credential[1]]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(stdout(&output).contains("serial 987654321"));
    }
    let wrong = otpfob(&["pskc", "import", &figure(6), "--psk", &"00".repeat(16)]);
    assert_bad(&wrong, "wrong key");
    assert!(stderr(&wrong).contains("wrong key or altered file"));
    let password = Command::new(env!("CARGO_BIN_EXE_otpfob"))
        .args([
            "pskc",
            "import",
            &figure(7),
            "--password-env",
            "PSKC_PASSWORD",
        ])
        .env("PSKC_PASSWORD", "qwerty")
        .output()
        .unwrap();
    assert_eq!(password.status.code(), Some(0), "{}", stderr(&password));
    assert!(stdout(&password).contains("key 123456: not a usable token: <Counter> is missing"));
}

#[test]
fn pskc_export_makes_a_batch_that_imports_enrols_and_verifies() {
    let directory = tempfile::tempdir().unwrap();
    let database = path(directory.path(), "bank.db");
    let seeds = path(directory.path(), "batch.xml");
    let unlock = path(directory.path(), "unlock.tsv");
    let psk_file = path(directory.path(), "psk");
    std::fs::write(&psk_file, "000102030405060708090a0b0c0d0e0f\n").unwrap();
    let output = otpfob(&[
        "pskc",
        "export",
        "--count",
        "3",
        "--hotp",
        "--digits",
        "8",
        "--first",
        "41",
        "--serial-prefix",
        "ACME-",
        "--psk-file",
        &psk_file,
        "--output",
        &seeds,
        "--unlock-keys",
        &unlock,
        "--database",
        &database,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        format!("3 fobs, ACME-0000000041 .. ACME-0000000043 to {seeds}\n")
    );
    #[cfg(unix)]
    assert_eq!((mode(&seeds), mode(&unlock)), (0o600, 0o600));
    let unlock_lines = std::fs::read_to_string(&unlock).unwrap();
    assert_eq!(unlock_lines.lines().count(), 4);
    assert!(
        unlock_lines
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("ACME-0000000041\t")
    );

    let document = std::fs::read(&seeds).unwrap();
    let key = Secret::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
    let tokens = read_pskc(&document, &PskcCredential::PreSharedKey(key))
        .unwrap()
        .tokens()
        .unwrap();
    assert_eq!(tokens.len(), 3);
    assert_eq!(tokens[2].serial.as_deref(), Some("ACME-0000000043"));
    // The bank enrolled the batch: each fob's first code is accepted.
    for token in &tokens {
        let code = Hotp::new(
            &token.secret,
            HotpParameters {
                digits: 8,
                ..HotpParameters::default()
            },
        )
        .unwrap()
        .at(0)
        .to_string();
        let serial = token.serial.as_deref().unwrap();
        let verified = otpfob(&["verify", "--database", &database, "--token", serial, &code]);
        assert_eq!(stdout(&verified), "accepted\n", "{serial}");
    }
    // Enrolled from their factory records, the fobs' unlock keys are in the database,
    // sealed, so the bank can answer their unlock challenges without the TSV file.
    {
        use otpfob::validator::Store as _;
        let store = otpfob::SqliteStore::open(&database).unwrap();
        for token in &tokens {
            let id = otpfob::TokenId::new(token.serial.as_deref().unwrap()).unwrap();
            let record = store.load(&id).unwrap().unwrap();
            assert!(record.unlock_key.is_some(), "{id}");
        }
    }
    // The simulated fob of the same seed file shows the same codes.
    let fob = otpfob(&[
        "fob",
        "--pskc",
        &seeds,
        "--psk-file",
        &psk_file,
        "--serial",
        "ACME-0000000042",
        "--no-input",
        "--count",
        "2",
    ]);
    assert_eq!(fob.status.code(), Some(0), "{}", stderr(&fob));
    let codes: Vec<String> = stdout(&fob)
        .lines()
        .skip(1)
        .map(|line| line.split('\t').nth(3).unwrap().to_owned())
        .collect();
    let hotp = Hotp::new(
        &tokens[1].secret,
        HotpParameters {
            digits: 8,
            ..HotpParameters::default()
        },
    )
    .unwrap();
    assert_eq!(codes, [hotp.at(0).to_string(), hotp.at(1).to_string()]);

    // No protection chosen: refused, nothing written.
    let refused = otpfob(&[
        "pskc",
        "export",
        "--count",
        "1",
        "--output",
        &path(directory.path(), "x.xml"),
    ]);
    assert_bad(&refused, "no protection");
    assert!(!directory.path().join("x.xml").exists());
    // An existing output file: refused before anything is enrolled.
    let again = otpfob(&[
        "pskc",
        "export",
        "--count",
        "1",
        "--plaintext",
        "--output",
        &seeds,
        "--database",
        &database,
        "--first",
        "99",
    ]);
    assert_bad(&again, "existing output");
    let unknown = otpfob(&[
        "verify",
        "--database",
        &database,
        "--token",
        "ACME-0000000099",
        "-v",
        "12345678",
    ]);
    assert_eq!(stderr(&unknown), "otpfob: reason: unknown_token\n");
}

#[test]
fn fob_readings_follow_the_rfc_and_the_seed_file() {
    let readings = |at: &str| {
        stdout(&otpfob(&[
            "fob",
            "--no-input",
            "--base32",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            "--digits",
            "8",
            "--at",
            at,
            "--count",
            "2",
            "--interval",
            "2",
        ]))
    };
    assert_eq!(
        readings("@59"),
        "# serial\tworld_time\tfob_time\tcode\tvalid_for_seconds\n\
         OTPF-0000000001\t59\t59\t94287082\t1.000\n\
         OTPF-0000000001\t61\t61\t37359152\t29.000\n"
    );
    let rfc = readings("2005-03-18 01:58:29 UTC");
    let codes: Vec<&str> = rfc
        .lines()
        .skip(1)
        .map(|line| line.split('\t').nth(3).unwrap())
        .collect();
    assert_eq!(codes, ["07081804", "14050471"]);
    // A crystal 1000 ppm fast, issued 1000 days ago: 86.4 s ahead.
    let output = otpfob(&[
        "fob",
        "--no-input",
        "--key",
        "3132333435363738393031323334353637383930",
        "--at",
        "@1111111109",
        "--count",
        "1",
        "--drift",
        "1000",
        "--age",
        "1000",
        "--pin",
        "2468",
    ]);
    let line = stdout(&output).lines().nth(1).unwrap().to_owned();
    assert_eq!(line.split('\t').nth(2), Some("1111197509"));
    // An event fob from the RFC 6030 bulk file, within its dates.
    let output = otpfob(&[
        "fob",
        "--no-input",
        "--pskc",
        &figure(10),
        "--serial",
        "123456",
        "--at",
        "2006-05-02 00:00:00 UTC",
    ]);
    let text = stdout(&output);
    let codes: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|line| line.split('\t').nth(3).unwrap())
        .collect();
    assert_eq!(codes, ["84755224", "94287082", "37359152"]);
    // Past its expiry date it shows nothing.
    let expired = otpfob(&[
        "fob",
        "--no-input",
        "--pskc",
        &figure(10),
        "--serial",
        "123456",
    ]);
    assert_bad(&expired, "expired");
    assert!(stderr(&expired).contains("expired"));
}

#[test]
fn bad_input_to_every_command_is_one_line_and_status_2() {
    let directory = tempfile::tempdir().unwrap();
    let database = path(directory.path(), "t.db");
    let cases: &[&[&str]] = &[
        &["enrol"],
        &["enrol", "--account", ""],
        &["enrol", "--account", "a:b"],
        &["enrol", "--account", "a", "--digits", "5"],
        &["enrol", "--account", "a", "--bits", "64"],
        &["enrol", "--account", "a", "--algorithm", "md5"],
        &["enrol", "--account", "a", "--period", "0"],
        &[
            "enrol",
            "--account",
            "a",
            "--svg",
            "x.svg",
            "--png",
            "x.png",
        ],
        &["enrol", "--account", "a", "--token", "t"],
        &["enrol", "--account", "two words", "--database", &database],
        &["verify", "--database", &database, "123456"],
        &[
            "verify",
            "--database",
            &database,
            "--token",
            "bad id",
            "123456",
        ],
        &["pskc"],
        &["pskc", "import"],
        &["pskc", "import", "/nonexistent.xml"],
        &["pskc", "import", &figure(6), "--psk", "xyz"],
        &[
            "pskc",
            "import",
            &figure(6),
            "--psk",
            "00",
            "--psk-file",
            "f",
        ],
        &[
            "pskc",
            "import",
            &figure(7),
            "--password-env",
            "OTPFOB_NO_SUCH_VARIABLE",
        ],
        &["pskc", "import", env!("CARGO_MANIFEST_DIR")],
        &["pskc", "export", "--count", "0", "--plaintext"],
        &["pskc", "export", "--count", "20001", "--plaintext"],
        &[
            "pskc",
            "export",
            "--count",
            "1",
            "--plaintext",
            "--serial-prefix",
            "bad prefix ",
        ],
        &[
            "pskc",
            "export",
            "--count",
            "2",
            "--plaintext",
            "--first",
            "9999999999",
        ],
        &[
            "pskc",
            "export",
            "--count",
            "1",
            "--plaintext",
            "--psk",
            "00",
        ],
        &["fob", "--drift", "5000", "--no-input"],
        &["fob", "--key", "xyz", "--no-input"],
        &["fob", "--serial", "bad serial", "--no-input"],
        &["fob", "--pin", "12", "--no-input"],
        &["fob", "--no-input", "--at", "yesterday"],
        &["fob", "--count", "3"],
        &[
            "fob",
            "--pskc",
            &figure(10),
            "--serial",
            "nope",
            "--no-input",
        ],
        &["fob", "--pskc", &figure(4), "--no-input"],
        &["sealing-key"],
        &["sealing-key", "/nonexistent/dir/key"],
    ];
    for arguments in cases {
        let output = otpfob(arguments);
        assert_bad(&output, &format!("{arguments:?}"));
        assert!(!stderr(&output).contains("panicked"), "{arguments:?}");
    }
}

/// Runs the binary with standard input closed, a 2 GiB address-space limit and a
/// time limit, so that a regression (an open that blocks on a FIFO, a read of
/// `/dev/zero` that never ends) fails the test quickly instead of hanging it or
/// exhausting the machine's memory.
#[cfg(unix)]
fn otpfob_guarded(arguments: &[&str]) -> Output {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_otpfob"))
        .args(arguments)
        .env("OTPFOB_SEALING_KEY", SEALING_KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{arguments:?} did not end within 20 seconds");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Every command line that reads `file` as one of the kinds of file the tool reads:
/// a KEY (`@FILE`), a seed file (import and fob), a pre-shared key file, a password
/// file and a sealing key file.
#[cfg(unix)]
fn every_kind_of_file(file: &str, directory: &Path) -> Vec<Vec<String>> {
    let database = path(directory, "kinds.db");
    let at_file = format!("@{file}");
    let (figure6, figure7) = (figure(6), figure(7));
    let cases: Vec<Vec<&str>> = vec![
        vec!["hotp", &at_file],
        vec!["hotp", "3132333435363738393031323334353637383930", &at_file],
        vec!["pskc", "import", file],
        vec!["fob", "--pskc", file, "--no-input"],
        vec!["pskc", "import", &figure6, "--psk-file", file],
        vec!["pskc", "import", &figure7, "--password-file", file],
        vec![
            "enrol",
            "--account",
            "alice",
            "--no-qr",
            "--database",
            &database,
            "--sealing-key-file",
            file,
        ],
    ];
    cases
        .into_iter()
        .map(|case| case.into_iter().map(str::to_owned).collect())
        .collect()
}

#[test]
#[cfg(unix)]
fn devices_are_refused_as_every_kind_of_file() {
    let directory = tempfile::tempdir().unwrap();
    for arguments in every_kind_of_file("/dev/zero", directory.path()) {
        let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let output = otpfob_guarded(&arguments);
        assert_bad(&output, &format!("{arguments:?}"));
        assert!(
            stderr(&output).contains("/dev/zero is not a regular file"),
            "{arguments:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{arguments:?}");
    }
}

#[test]
#[cfg(unix)]
fn fifos_without_a_writer_are_refused_as_every_kind_of_file() {
    let directory = tempfile::tempdir().unwrap();
    let fifo = path(directory.path(), "fifo");
    let made = Command::new("mkfifo")
        .args(["-m", "600", &fifo])
        .status()
        .unwrap();
    assert!(made.success());
    // Mode 0600 passes the sealing key file's private-mode check: only the file
    // type refuses it.
    assert_eq!(mode(&fifo), 0o600);
    for arguments in every_kind_of_file(&fifo, directory.path()) {
        let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let output = otpfob_guarded(&arguments);
        assert_bad(&output, &format!("{arguments:?}"));
        assert!(
            stderr(&output).contains(&format!("{fifo} is not a regular file")),
            "{arguments:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
#[cfg(unix)]
fn files_are_bounded_by_the_bytes_read() {
    use std::os::unix::fs::PermissionsExt;
    let directory = tempfile::tempdir().unwrap();
    // One byte more than a key, password or sealing key file may have.
    let large = path(directory.path(), "large");
    std::fs::write(&large, vec![b'a'; 64 * 1024 + 1]).unwrap();
    std::fs::set_permissions(&large, std::fs::Permissions::from_mode(0o600)).unwrap();
    for arguments in every_kind_of_file(&large, directory.path()) {
        if arguments
            .iter()
            .any(|argument| argument == "import" || argument == "--pskc")
            && !arguments.iter().any(|argument| argument.ends_with("-file"))
        {
            continue; // a seed file may have 16 MiB: below
        }
        let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let output = otpfob_guarded(&arguments);
        assert_bad(&output, &format!("{arguments:?}"));
        assert!(
            stderr(&output).contains("has more than 65536 bytes"),
            "{arguments:?}: {}",
            stderr(&output)
        );
    }
    // One byte more than a seed file may have.
    let seed = path(directory.path(), "seed.xml");
    std::fs::write(&seed, vec![b' '; 16 * 1024 * 1024 + 1]).unwrap();
    for arguments in [
        vec!["pskc", "import", seed.as_str()],
        vec!["fob", "--pskc", seed.as_str(), "--no-input"],
    ] {
        let output = otpfob_guarded(&arguments);
        assert_bad(&output, &format!("{arguments:?}"));
        assert!(
            stderr(&output).contains("has more than 16777216 bytes"),
            "{arguments:?}: {}",
            stderr(&output)
        );
    }
    // At the bound, a file is read: 65536 hex digits are a 32 KiB key.
    std::fs::write(&large, vec![b'a'; 64 * 1024]).unwrap();
    let output = otpfob_guarded(&["hotp", &format!("@{large}")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output).len(), "123456\n".len());
}

#[test]
fn sizes_the_user_gives_are_bounded() {
    // Each was an allocation failure (exit 134), a loop of 2^64 readings, or a
    // date before 1970 wrapped to the clock's minimum.
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "enrol",
                "--account",
                "a",
                "--no-qr",
                "--bits",
                "1099511627776",
            ],
            "otpfob: invalid value '1099511627776' for '--bits <N>': 1099511627776 is not in 128..=4096 (see otpfob --help)\n",
        ),
        (
            &["enrol", "--account", "a", "--no-qr", "--bits", "8192"],
            "otpfob: invalid value '8192' for '--bits <N>': 8192 is not in 128..=4096 (see otpfob --help)\n",
        ),
        (
            &["fob", "--no-input", "--age", "18446744073709551615"],
            "otpfob: invalid value '18446744073709551615' for '--age <DAYS>': 18446744073709551615 is not in 0..=36525 (see otpfob --help)\n",
        ),
        (
            &["fob", "--no-input", "--count", "18446744073709551615"],
            "otpfob: invalid value '18446744073709551615' for '--count <N>': 18446744073709551615 is not in 0..=100000 (see otpfob --help)\n",
        ),
        (
            &["fob", "--no-input", "--interval", "18446744073709551615"],
            "otpfob: invalid value '18446744073709551615' for '--interval <SECONDS>': 18446744073709551615 is not in 0..=3155760000 (see otpfob --help)\n",
        ),
        (
            &["fob", "--no-input", "--period", "18446744073709551615"],
            "otpfob: invalid value '18446744073709551615' for '--period <SECONDS>': 18446744073709551615 is not in 1..=86400 (see otpfob --help)\n",
        ),
        (
            &[
                "pskc",
                "export",
                "--count",
                "1",
                "--plaintext",
                "--lifetime-days",
                "18446744073709551615",
            ],
            "otpfob: invalid value '18446744073709551615' for '--lifetime-days <DAYS>': 18446744073709551615 is not in 1..=36525 (see otpfob --help)\n",
        ),
        (
            &[
                "pskc",
                "export",
                "--count",
                "1",
                "--password-env",
                "HOME",
                "--iterations",
                "4294967295",
            ],
            "otpfob: invalid value '4294967295' for '--iterations <N>': 4294967295 is not in 1..=10000000 (see otpfob --help)\n",
        ),
    ];
    for (arguments, expected) in cases {
        let output = otpfob(arguments);
        assert_bad(&output, &format!("{arguments:?}"));
        assert_eq!(stderr(&output), *expected, "{arguments:?}");
    }
    // The bounds themselves are accepted.
    let output = otpfob(&["enrol", "--account", "a", "--no-qr", "--bits", "4096"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let uri = KeyUri::parse(stdout(&output).trim()).unwrap();
    assert_eq!(uri.secret().len_bits(), 4096);
}

#[test]
fn long_values_are_quoted_to_40_characters() {
    let prefix = "A".repeat(100_000);
    let output = otpfob(&[
        "pskc",
        "export",
        "--count",
        "1",
        "--plaintext",
        "--serial-prefix",
        &prefix,
    ]);
    assert_bad(&output, "a 100 000-character serial prefix");
    let forty = "A".repeat(40);
    assert_eq!(
        stderr(&output),
        format!(
            "otpfob: cannot make fob \"{forty}\"... (100010 characters) (serials have at most 32 letters, digits and dashes): a serial number has 1 to 32 characters, this one has 100010\n"
        )
    );
    let output = otpfob(&["enrol", "--account", "a", "--bits", &prefix]);
    assert_eq!(
        stderr(&output),
        format!(
            "otpfob: invalid value \"{forty}\"... (100000 characters) for '--bits <N>': invalid digit found in string (see otpfob --help)\n"
        )
    );
    let output = otpfob(&[&prefix]);
    assert_eq!(
        stderr(&output),
        format!(
            "otpfob: unrecognized subcommand \"{forty}\"... (100000 characters) (see otpfob --help)\n"
        )
    );
    let output = otpfob(&[
        "fob",
        "--pskc",
        &figure(10),
        "--serial",
        &prefix,
        "--no-input",
    ]);
    assert_bad(&output, "a long --serial");
    assert!(
        stderr(&output).contains(&format!("has no key \"{forty}\"... (100000 characters)")),
        "{}",
        stderr(&output)
    );
}

/// The interactive fob's prompts read standard input bounded: `otpfob fob <
/// /dev/zero` ends with one line instead of filling memory.
#[test]
#[cfg(unix)]
fn the_interactive_fobs_input_is_bounded() {
    let output = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" \"$@\" < /dev/zero")
        .arg(env!("CARGO_BIN_EXE_otpfob"))
        .arg("fob")
        .output()
        .unwrap();
    assert_bad(&output, "fob < /dev/zero");
    assert_eq!(
        stderr(&output),
        "otpfob: a line of input is longer than 65536 bytes\n"
    );
}

/// One HOTP key in a plaintext PSKC file, with this serial number and secret.
fn one_key_file(serial: &str, secret_base64: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <DeviceInfo><Manufacturer>Vendor&#x202e;X</Manufacturer><SerialNo>{serial}</SerialNo></DeviceInfo>
    <Key Id="k1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data>
        <Secret><PlainValue>{secret_base64}</PlainValue></Secret>
        <Counter><PlainValue>0</PlainValue></Counter>
      </Data>
    </Key>
  </KeyPackage>
</KeyContainer>"#
    )
}

/// Issue 11, item 4, through the CLI: a PSKC key with the one-byte secret `AA==` was
/// listed and enrolled. It is refused by default, naming the length, and read with
/// `--min-secret-bits 8`.
#[test]
fn pskc_import_refuses_short_secrets_unless_asked() {
    let directory = tempfile::tempdir().unwrap();
    let file = path(directory.path(), "short.xml");
    std::fs::write(&file, one_key_file("SHORT-1", "AA==")).unwrap();
    let refused = otpfob(&["pskc", "import", &file]);
    assert_bad(&refused, "one-byte secret");
    assert!(
        stderr(&refused).contains("has 8 bits, fewer than the 80 accepted"),
        "{}",
        stderr(&refused)
    );
    let database = path(directory.path(), "tokens.db");
    let legacy = otpfob(&[
        "pskc",
        "import",
        &file,
        "--min-secret-bits",
        "8",
        "--database",
        &database,
    ]);
    assert_eq!(legacy.status.code(), Some(0), "{}", stderr(&legacy));
    assert!(stdout(&legacy).contains("enrolled key k1 as token SHORT-1"));
    assert_bad(
        &otpfob(&["pskc", "import", &file, "--min-secret-bits", "0"]),
        "a minimum of 0",
    );
}

/// Issue 11, item 5, through the CLI: a serial number with U+202E (right-to-left
/// override) was enrolled as a token id, and the import report printed it raw, so
/// the line displayed reversed. The id is refused, and every line escapes it.
#[test]
fn pskc_import_escapes_and_refuses_direction_changing_characters() {
    let directory = tempfile::tempdir().unwrap();
    let file = path(directory.path(), "spoof.xml");
    std::fs::write(
        &file,
        one_key_file("FOB-&#x202e;1-EVIL", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA="),
    )
    .unwrap();
    let database = path(directory.path(), "tokens.db");
    let output = otpfob(&["pskc", "import", &file, "--database", &database]);
    let text = stdout(&output);
    assert!(!text.contains('\u{202e}'), "{text:?}");
    assert!(
        text.contains("serial FOB-\\u{202e}1-EVIL, Vendor\\u{202e}X"),
        "{text}"
    );
    assert!(
        text.contains("refused key k1: not a valid token id: a token id may not contain the invisible or direction-changing character U+202E (position 4)"),
        "{text}"
    );
    assert_bad(&output, "refused id");
    assert!(!stderr(&output).contains('\u{202e}'));
    // Errors that quote what the user typed are escaped too.
    let typed = otpfob(&[
        "verify",
        "--database",
        &database,
        "--token",
        "FOB-\u{202e}1-EVIL",
        "123456",
    ]);
    assert_bad(&typed, "typed id");
    assert!(!stderr(&typed).contains('\u{202e}'), "{}", stderr(&typed));
}

/// Issue 11, item 10, through the CLI: python-pskc's files (no `Encoding` on
/// `<ResponseFormat>`) were refused; they import and enrol.
#[test]
fn pskc_import_reads_python_pskc_files() {
    let directory = tempfile::tempdir().unwrap();
    let database = path(directory.path(), "tokens.db");
    let file = format!(
        "{}/tests/data/pskc/python-pskc/pre-shared-key.pskcxml",
        env!("CARGO_MANIFEST_DIR")
    );
    let output = otpfob(&[
        "pskc",
        "import",
        &file,
        "--psk",
        RFC_PSK,
        "--database",
        &database,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("enrolled key hotp-sha1 as token PY-0001"));
    // codes.txt: hotp-sha1 at counter 0.
    let verified = otpfob(&[
        "verify",
        "--database",
        &database,
        "--token",
        "PY-0001",
        "755224",
    ]);
    assert_eq!(stdout(&verified), "accepted\n", "{}", stderr(&verified));
}

/// Issue 15, item 9: `otpfob audit-chain` reports every token's chain intact, then, after
/// an audit row is edited behind the library's back, the first broken link (exit 1).
#[cfg(feature = "sqlite")]
#[test]
fn audit_chain_reports_the_first_broken_link() {
    let directory = tempfile::tempdir().unwrap();
    let database = path(directory.path(), "tokens.db");
    let output = otpfob(&[
        "enrol",
        "--account",
        "carol",
        "--hotp",
        "--database",
        &database,
        "--token",
        "CAROL-1",
        "--no-qr",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for _ in 0..2 {
        let wrong = otpfob(&[
            "verify",
            "--database",
            &database,
            "--token",
            "CAROL-1",
            "00000000",
        ]);
        assert_eq!(wrong.status.code(), Some(1));
    }
    let check = || otpfob(&["audit-chain", "--database", &database]);
    let intact = check();
    assert_eq!(intact.status.code(), Some(0), "{}", stderr(&intact));
    assert_eq!(
        stdout(&intact),
        "intact CAROL-1: 3 events (3 chained, 0 unchained)\n"
    );
    rusqlite::Connection::open(&database)
        .unwrap()
        .execute(
            "UPDATE audit SET outcome = 'accepted', reason = NULL WHERE sequence = \
             (SELECT sequence FROM audit ORDER BY sequence LIMIT 1 OFFSET 1)",
            [],
        )
        .unwrap();
    let broken = check();
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        stdout(&broken).starts_with("broken CAROL-1: event 1 (verify at "),
        "{}",
        stdout(&broken)
    );
}
