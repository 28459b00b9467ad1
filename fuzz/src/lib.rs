//! The bodies of otpfob's fuzz targets. Each takes arbitrary bytes, must never panic,
//! and checks a property of what the parser accepts (it round-trips, or it is
//! canonical). The same functions run on stable Rust in `tests/fuzz_smoke.rs`, over
//! the seed corpus and a few thousand generated and mutated inputs, so a short smoke
//! run needs no nightly toolchain; `cargo +nightly fuzz run TARGET` runs them under
//! libFuzzer for as long as asked.

use otpfob::{
    Code, KeyUri, Secret,
    code::{MAX_CODE_DIGITS, MIN_CODE_DIGITS},
    ocra::OcraSuite,
    pskc::{PskcCredential, PskcLimits, read_pskc_with_limits},
};

/// The pre-shared key of `pskc_psk`: RFC 6030's (§6.1, Figure 6), so that the seed
/// corpus decrypts and mutations reach the MAC and decryption code.
pub const FUZZ_PRE_SHARED_KEY: [u8; 16] =
    *b"\x12\x34\x56\x78\x90\x12\x34\x56\x78\x90\x12\x34\x56\x78\x90\x12";

/// Limits for fuzzing: the defaults, but PBKDF2 held to 10 000 iterations so that a
/// mutated iteration count cannot make one input take seconds.
fn limits() -> PskcLimits {
    {
        let mut limits = PskcLimits::default();
        limits.max_pbkdf2_iterations = 10_000;
        limits
    }
}

/// `KeyUri::parse`: an accepted URI writes back to one that parses to the same key.
pub fn key_uri(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = KeyUri::parse(text) else {
        return;
    };
    let written = uri.to_uri();
    let again = match KeyUri::parse(&written) {
        Ok(again) => again,
        Err(error) => panic!(
            "{text:?} wrote {:?}, which does not parse: {error}",
            written.as_str()
        ),
    };
    assert_eq!(again.secret().expose_bytes(), uri.secret().expose_bytes());
    assert_eq!(again.account(), uri.account());
    assert_eq!(again.issuer(), uri.issuer());
    assert_eq!(again.parameters(), uri.parameters());
    assert_eq!(again.counter(), uri.counter());
    assert_eq!(again.extra_parameters(), uri.extra_parameters());
    assert_eq!(
        again.to_uri().as_str(),
        written.as_str(),
        "writing is stable"
    );
}

/// `read_pskc` without a credential, and the tokens of what it accepts.
pub fn pskc_plain(data: &[u8]) {
    pskc(data, &PskcCredential::None);
}

/// `read_pskc` with a fixed pre-shared key ([`FUZZ_PRE_SHARED_KEY`]).
pub fn pskc_psk(data: &[u8]) {
    let key = Secret::from_bytes(&FUZZ_PRE_SHARED_KEY).expect("a non-empty key");
    pskc(data, &PskcCredential::PreSharedKey(key));
}

fn pskc(data: &[u8], credential: &PskcCredential) {
    let Ok(container) = read_pskc_with_limits(data, credential, &limits()) else {
        return;
    };
    for key in &container.keys {
        if let Ok(token) = key.token() {
            assert!(token.parameters.validate().is_ok(), "{token:?}");
        }
    }
    // What reads as tokens writes and reads back as the same tokens.
    if let Ok(tokens) = container.tokens() {
        let unique = tokens.iter().enumerate().all(|(index, token)| {
            tokens[..index]
                .iter()
                .all(|other| other.key_id != token.key_id)
        });
        if !unique {
            return;
        }
        let Ok(document) =
            otpfob::pskc::write_pskc(&tokens, &otpfob::pskc::PskcProtection::Plaintext)
        else {
            return;
        };
        let read = otpfob::pskc::read_pskc(document.as_bytes(), &PskcCredential::None)
            .and_then(|container| container.tokens())
            .unwrap_or_else(|error| panic!("a written file does not read back: {error}"));
        assert_eq!(read.len(), tokens.len());
        for (read, token) in read.iter().zip(&tokens) {
            assert_eq!(read.secret.expose_bytes(), token.secret.expose_bytes());
            assert_eq!(read.parameters, token.parameters);
            assert_eq!(
                (read.counter, read.time_drift),
                (token.counter, token.time_drift)
            );
        }
    }
}

/// `Code::parse` at every digit count and `Code::from_str`: an accepted code prints
/// as its digits and parses back equal.
pub fn code_parse(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    for digits in 0..=MAX_CODE_DIGITS + 1 {
        if let Ok(code) = Code::parse(text, digits) {
            assert!((MIN_CODE_DIGITS..=MAX_CODE_DIGITS).contains(&digits));
            let printed = code.to_string();
            assert_eq!(printed.len(), usize::from(digits));
            let typed: String = text.chars().filter(char::is_ascii_digit).collect();
            assert_eq!(printed, typed);
            assert_eq!(Code::parse(&printed, digits).ok(), Some(code));
        }
    }
    if let Ok(code) = text.parse::<Code>() {
        assert_eq!(Code::parse(text, code.digits()).ok(), Some(code));
    }
}

/// `Secret::from_base32` and `Secret::from_hex`: an accepted secret encodes back to
/// the same bytes.
pub fn secret_base32(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(secret) = Secret::from_base32(text) {
        let encoded = secret.to_base32();
        let again = Secret::from_base32(&encoded).expect("our own base32 decodes");
        assert_eq!(again.expose_bytes(), secret.expose_bytes());
    }
    if let Ok(secret) = Secret::from_hex(text) {
        assert_eq!(secret.len() * 2, text.chars().count());
    }
}

/// `OcraSuite::from_str`: only canonical suites are accepted, so an accepted suite
/// displays as exactly its input.
pub fn ocra_suite(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(suite) = text.parse::<OcraSuite>() {
        assert_eq!(suite.to_string(), text);
        assert_eq!(suite.as_str(), text);
    }
}
