//! RFC 6030 §6.3 RSA key transport (feature `pskc-rsa`): seed files whose secrets
//! OpenSSL encrypted to the bank's certificate (`tests/data/pskc/rsa/make-fixtures`),
//! with `rsa-1_5` and `rsa-oaep-mgf1p`, read with the bank's PKCS#8 key; and hostile
//! variants, each refused with its own typed error.
#![cfg(feature = "pskc-rsa")]

use otpfob::pskc::{PskcCredential, PskcError, PskcRsaKey, read_pskc};
use otpfob::{
    Algorithm, Keyring, ManualClock, MemoryStore, OtpParameters, SealingKey, Secret, Validator,
};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/pskc/rsa/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn key(name: &str) -> PskcCredential {
    PskcCredential::RsaPrivateKey(
        PskcRsaKey::from_pkcs8_pem(&fixture(&format!("{name}.key.pem"))).unwrap(),
    )
}

fn read(
    document: &str,
    credential: &PskcCredential,
) -> Result<otpfob::pskc::PskcContainer, PskcError> {
    read_pskc(document.as_bytes(), credential)
}

#[test]
fn both_rsa_schemes_read_and_their_tokens_verify() {
    for name in ["rsa-1_5.pskcxml", "rsa-oaep.pskcxml"] {
        let container = read(&fixture(name), &key("bank")).unwrap();
        let tokens = container.tokens().unwrap();
        assert_eq!(tokens.len(), 2, "{name}");
        assert_eq!(tokens[0].secret.expose_bytes(), b"12345678901234567890");
        assert_eq!(
            tokens[1].secret.expose_bytes(),
            b"12345678901234567890123456789012"
        );
        match tokens[1].parameters {
            OtpParameters::Totp(parameters) => {
                assert_eq!(
                    (parameters.algorithm, parameters.digits),
                    (Algorithm::Sha256, 8)
                );
            }
            other => panic!("{name}: {other:?}"),
        }
        let bank = Validator::new(
            MemoryStore::new(),
            ManualClock::at_secs(1_767_225_600),
            Keyring::new(SealingKey::generate(1).unwrap()),
        );
        assert!(bank.enrol_pskc(&container).is_complete());
        // RFC 4226's first code of its secret.
        assert!(
            bank.verify(&tokens[0].token_id().unwrap(), "755224", None)
                .is_ok()
        );
    }
}

#[test]
fn a_file_for_another_recipient_is_refused_before_any_decryption() {
    let refused = read(&fixture("other-recipient.pskcxml"), &key("bank")).unwrap_err();
    assert!(
        matches!(&refused, PskcError::WrongRecipient { subject } if subject.contains("CN=other")),
        "{refused:?}"
    );
    let refused = read(&fixture("rsa-oaep.pskcxml"), &key("other")).unwrap_err();
    assert!(
        matches!(&refused, PskcError::WrongRecipient { subject } if subject.contains("CN=bank"))
    );
    // RFC 6030's own Figure 8 is encrypted to its "PSKC Test" certificate.
    let figure = std::fs::read_to_string(format!(
        "{}/tests/data/pskc/figure8.xml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert!(matches!(
        read(&figure, &key("bank")).unwrap_err(),
        PskcError::WrongRecipient { subject } if subject.contains("PSKC Test")
    ));
}

/// The first `<xenc:CipherValue>`'s base64, without white space.
fn first_cipher_value(document: &str) -> (usize, usize, String) {
    let start = document.find("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len();
    let end = start + document[start..].find("</xenc:CipherValue>").unwrap();
    let text: String = document[start..end].split_whitespace().collect();
    (start, end, text)
}

#[test]
fn a_truncated_ciphertext_is_refused() {
    for name in ["rsa-1_5.pskcxml", "rsa-oaep.pskcxml"] {
        let document = fixture(name);
        let (start, end, text) = first_cipher_value(&document);
        // 340 base64 characters: 255 of the modulus's 256 bytes.
        assert_eq!(text.len(), 344);
        let truncated = format!("{}{}{}", &document[..start], &text[..340], &document[end..]);
        assert_eq!(
            read(&truncated, &key("bank")).unwrap_err(),
            PskcError::Decryption {
                element: "Secret",
                owner: "Key Id=\"rsa-hotp\"".to_owned()
            },
            "{name}"
        );
    }
}

#[test]
fn a_wrong_algorithm_uri_is_refused() {
    let document = fixture("rsa-oaep.pskcxml");
    // XML Encryption 1.1's rsa-oaep (with its own digest parameters) is not read.
    let other_scheme = document.replacen(
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
        "http://www.w3.org/2009/xmlenc11#rsa-oaep",
        1,
    );
    assert_eq!(
        read(&other_scheme, &key("bank")).unwrap_err(),
        PskcError::UnsupportedEncryption {
            algorithm: "http://www.w3.org/2009/xmlenc11#rsa-oaep".to_owned()
        }
    );
    // An AES value in a file that transports no AES key.
    let aes = document.replacen(
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
        1,
    );
    assert_eq!(
        read(&aes, &key("bank")).unwrap_err(),
        PskcError::WrongKeyKind {
            algorithm: "http://www.w3.org/2001/04/xmlenc#aes128-cbc".to_owned(),
            credential: "RSA private key"
        }
    );
    // The OAEP ciphertext read as PKCS#1 v1.5 does not give the secret back.
    let as_pkcs1 = document.replace(
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
        "http://www.w3.org/2001/04/xmlenc#rsa-1_5",
    );
    if let Ok(container) = read(&as_pkcs1, &key("bank")) {
        let secret = container.keys[0].secret.as_ref().unwrap();
        assert_ne!(secret.expose_bytes(), b"12345678901234567890");
    }
}

#[test]
fn credentials_of_the_wrong_kind_are_refused() {
    let document = fixture("rsa-oaep.pskcxml");
    for credential in [
        PskcCredential::None,
        PskcCredential::PreSharedKey(Secret::from_bytes(&[1; 16]).unwrap()),
    ] {
        assert_eq!(
            read(&document, &credential).unwrap_err(),
            PskcError::CredentialNeeded {
                kind: "RSA private key",
                key_name: None
            }
        );
    }
    let figure6 = std::fs::read_to_string(format!(
        "{}/tests/data/pskc/figure6.xml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert!(matches!(
        read(&figure6, &key("bank")).unwrap_err(),
        PskcError::CredentialNeeded {
            kind: "pre-shared key",
            ..
        }
    ));
}

#[test]
fn unusable_rsa_keys_are_refused() {
    assert_eq!(
        PskcRsaKey::from_pkcs8_pem(&fixture("short.key.pem")).unwrap_err(),
        PskcError::RsaKey {
            reason: "shorter than 2048 bits"
        }
    );
    for text in [
        fixture("bank.crt.pem"),
        "not a key".to_owned(),
        String::new(),
    ] {
        assert!(matches!(
            PskcRsaKey::from_pkcs8_pem(&text),
            Err(PskcError::RsaKey { .. })
        ));
    }
    let key = PskcRsaKey::from_pkcs8_pem(&fixture("bank.key.pem")).unwrap();
    assert_eq!(key.bits(), 2048);
    assert_eq!(format!("{key:?}"), "PskcRsaKey(2048 bits)");
}

/// `otpfob pskc import FILE --rsa-key-file KEY --database DB`: the key file must be
/// the owner's alone, and the tokens are enrolled.
#[cfg(all(feature = "cli", unix))]
#[test]
fn the_cli_imports_with_a_private_rsa_key_file() {
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    let directory = tempfile::tempdir().unwrap();
    let key_file = directory.path().join("bank.key.pem");
    std::fs::write(&key_file, fixture("bank.key.pem")).unwrap();
    let file = format!(
        "{}/tests/data/pskc/rsa/rsa-oaep.pskcxml",
        env!("CARGO_MANIFEST_DIR")
    );
    let database = directory.path().join("bank.sqlite");
    let otpfob = |arguments: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_otpfob"))
            .args(arguments)
            .env(
                "OTPFOB_SEALING_KEY",
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            )
            .output()
            .unwrap()
    };
    let import = |mode: u32| {
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(mode)).unwrap();
        otpfob(&[
            "pskc",
            "import",
            &file,
            "--rsa-key-file",
            key_file.to_str().unwrap(),
            "--database",
            database.to_str().unwrap(),
        ])
    };
    let open = import(0o644);
    assert_eq!(open.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&open.stderr).contains("chmod 600"));
    let imported = import(0o600);
    assert_eq!(
        imported.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let stdout = String::from_utf8_lossy(&imported.stdout);
    assert!(
        stdout.contains("enrolled key rsa-hotp as token RSA-HOTP"),
        "{stdout}"
    );
    let verified = otpfob(&[
        "verify",
        "--database",
        database.to_str().unwrap(),
        "--token",
        "RSA-HOTP",
        "755224",
    ]);
    assert_eq!(verified.status.code(), Some(0));
}
