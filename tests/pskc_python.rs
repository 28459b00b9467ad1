//! PSKC files written by python-pskc 1.2 (Debian's `python3-pskc`, the library
//! privacyIDEA uses): plaintext, under a pre-shared key, and under a PBKDF2 password.
//! `tests/data/pskc/python-pskc/make-fixtures` wrote them and `codes.txt`, the codes
//! each key makes (computed there with RFC 4226's algorithm, itself checked against
//! the RFC's vectors).
//!
//! Issue 11, item 10: python-pskc writes `<ResponseFormat Length="6"/>` without the
//! `Encoding` attribute that RFC 6030's schema requires, and every such file was
//! refused with "attribute Encoding is missing from <ResponseFormat>".
#![cfg(feature = "pskc")]

use otpfob::{
    Hotp, OtpParameters, Secret, Totp,
    pskc::{PskcCredential, PskcEncoding, read_pskc},
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/pskc/python-pskc/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Reads `name` with `credential` and checks every code of `codes.txt`.
fn check(name: &str, credential: &PskcCredential) {
    let document = fixture(name);
    assert!(
        String::from_utf8_lossy(&document).contains("<pskc:ResponseFormat Length=\"6\"/>"),
        "the fixture must omit Encoding, as python-pskc writes it"
    );
    let container =
        read_pskc(&document, credential).unwrap_or_else(|error| panic!("{name}: {error}"));
    assert_eq!(container.keys.len(), 4);
    for key in &container.keys {
        let format = key.response_format.as_ref().unwrap();
        assert_eq!(format.encoding, PskcEncoding::Decimal, "{name} {}", key.id);
    }
    let tokens = container.tokens().unwrap();
    let codes = String::from_utf8(fixture("codes.txt")).unwrap();
    let mut checked = 0;
    for line in codes.lines().filter(|line| !line.starts_with('#')) {
        let fields: Vec<&str> = line.split(' ').collect();
        let [key_id, kind, number, expected] = fields[..] else {
            panic!("bad line {line:?}")
        };
        let number: u64 = number.parse().unwrap();
        let token = tokens.iter().find(|token| token.key_id == key_id).unwrap();
        assert_eq!(
            token.serial.as_deref().map(|serial| &serial[..3]),
            Some("PY-")
        );
        let code = match (kind, token.parameters) {
            ("hotp", OtpParameters::Hotp(parameters)) => {
                Hotp::new(&token.secret, parameters).unwrap().at(number)
            }
            ("totp", OtpParameters::Totp(parameters)) => Totp::new(&token.secret, parameters)
                .unwrap()
                .at(number)
                .unwrap(),
            _ => panic!("{name}: {key_id} is not {kind}"),
        };
        assert_eq!(code.to_string(), expected, "{name}: {line}");
        checked += 1;
    }
    assert_eq!(checked, 14);
}

#[test]
fn plain_file_imports_and_its_codes_check() {
    check("plain.pskcxml", &PskcCredential::None);
}

#[test]
fn pre_shared_key_file_imports_and_its_codes_check() {
    let key = Secret::from_hex("12345678901234567890123456789012").unwrap();
    check("pre-shared-key.pskcxml", &PskcCredential::PreSharedKey(key));
}

#[test]
fn pbkdf2_file_imports_and_its_codes_check() {
    let password = Secret::from_bytes(b"qwerty").unwrap();
    check("pbkdf2.pskcxml", &PskcCredential::Password(password));
}
