//! Tokens written with `write_pskc` read back the same with `read_pskc`: in
//! plaintext, under a pre-shared key, and under a password.
#![cfg(feature = "pskc")]

use otpfob::{
    Algorithm, HotpParameters, OtpParameters, Secret, TotpParameters, UnixTime,
    pskc::{ProvisionedToken, PskcCredential, PskcError, PskcProtection, read_pskc, write_pskc},
};
use proptest::prelude::*;

fn bank_tokens() -> Vec<ProvisionedToken> {
    let mut event = ProvisionedToken::new(
        "hotp-0001",
        Secret::from_bytes(b"12345678901234567890").unwrap(),
        HotpParameters::default(),
    );
    event.serial = Some("EV0001".to_owned());
    event.manufacturer = Some("Acme & Sons <fobs>".to_owned());
    event.model = Some("E-1 \"classic\"".to_owned());
    event.issuer = Some("Example Bank".to_owned());
    event.counter = 1234;
    event.start_date = Some(UnixTime::from_secs(1_700_000_000));
    event.expiry_date = Some(UnixTime::from_secs(1_850_000_000));

    let mut time = ProvisionedToken::new(
        "totp-0002",
        Secret::from_bytes(&[0xa5; 32]).unwrap(),
        TotpParameters {
            algorithm: Algorithm::Sha256,
            digits: 8,
            time_step: 60,
            t0: 0,
        },
    );
    time.serial = Some("TM0002".to_owned());
    time.time_drift = -2;
    vec![event, time]
}

fn assert_same(read: &[ProvisionedToken], written: &[ProvisionedToken]) {
    assert_eq!(read.len(), written.len());
    for (read, written) in read.iter().zip(written) {
        assert_eq!(read.key_id, written.key_id);
        assert_eq!(read.serial, written.serial);
        assert_eq!(read.manufacturer, written.manufacturer);
        assert_eq!(read.model, written.model);
        assert_eq!(read.issuer, written.issuer);
        assert_eq!(read.secret.expose_bytes(), written.secret.expose_bytes());
        assert_eq!(read.parameters, written.parameters);
        assert_eq!(read.counter, written.counter);
        assert_eq!(read.time_drift, written.time_drift);
        assert_eq!(read.start_date, written.start_date);
        assert_eq!(read.expiry_date, written.expiry_date);
    }
}

#[test]
fn plaintext_round_trip() {
    let tokens = bank_tokens();
    let document = write_pskc(&tokens, &PskcProtection::Plaintext).unwrap();
    assert!(document.contains("<pskc:PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</pskc:PlainValue>"));
    assert!(document.contains("<pskc:Suite>HMAC-SHA256</pskc:Suite>"));
    assert!(document.contains("Acme &amp; Sons &lt;fobs&gt;"));
    let container = read_pskc(document.as_bytes(), &PskcCredential::None).unwrap();
    assert_same(&container.tokens().unwrap(), &tokens);
}

#[test]
fn pre_shared_key_round_trip_for_each_aes_key_length() {
    let tokens = bank_tokens();
    for length in [16, 24, 32] {
        let key = Secret::from_bytes(&vec![0x42; length]).unwrap();
        let protection = PskcProtection::PreSharedKey {
            key: key.clone(),
            key_name: "bank <-> vendor".to_owned(),
        };
        let document = write_pskc(&tokens, &protection).unwrap();
        assert!(!document.contains("PlainValue>MTIz"), "secret in the clear");
        assert!(document.contains("ValueMAC"));
        let container = read_pskc(document.as_bytes(), &PskcCredential::PreSharedKey(key)).unwrap();
        assert_eq!(container.key_name.as_deref(), Some("bank <-> vendor"));
        assert_same(&container.tokens().unwrap(), &tokens);

        let wrong = Secret::from_bytes(&vec![0x43; length]).unwrap();
        assert!(matches!(
            read_pskc(document.as_bytes(), &PskcCredential::PreSharedKey(wrong)),
            Err(PskcError::Decryption { .. } | PskcError::MacMismatch { .. })
        ));
    }
}

#[test]
fn password_round_trip() {
    let tokens = bank_tokens();
    let protection = PskcProtection::Password {
        password: Secret::from_bytes("pässwörd".as_bytes()).unwrap(),
        key_name: "My Password 1".to_owned(),
        iterations: 2000,
    };
    let document = write_pskc(&tokens, &protection).unwrap();
    assert!(document.contains("<IterationCount>2000</IterationCount>"));
    let credential = PskcCredential::Password(Secret::from_bytes("pässwörd".as_bytes()).unwrap());
    let container = read_pskc(document.as_bytes(), &credential).unwrap();
    assert_eq!(container.key_name.as_deref(), Some("My Password 1"));
    assert_same(&container.tokens().unwrap(), &tokens);
    assert!(matches!(
        read_pskc(document.as_bytes(), &PskcCredential::None),
        Err(PskcError::CredentialNeeded {
            kind: "password",
            ..
        })
    ));
}

#[test]
fn two_exports_differ_in_their_random_values() {
    let tokens = bank_tokens();
    let protection = PskcProtection::PreSharedKey {
        key: Secret::from_bytes(&[1; 16]).unwrap(),
        key_name: "k".to_owned(),
    };
    let first = write_pskc(&tokens, &protection).unwrap();
    let second = write_pskc(&tokens, &protection).unwrap();
    assert_ne!(first.as_str(), second.as_str(), "fresh IVs and MAC key");
}

#[test]
fn export_refuses_what_it_cannot_write() {
    let secret = || Secret::from_bytes(b"k").unwrap();
    let with_t0 = ProvisionedToken::new(
        "a",
        secret(),
        TotpParameters {
            t0: 5,
            ..TotpParameters::default()
        },
    );
    assert_eq!(
        write_pskc(&[with_t0], &PskcProtection::Plaintext).unwrap_err(),
        PskcError::TimeOrigin {
            key_id: "a".to_owned(),
            t0: 5
        }
    );
    let bad_digits = ProvisionedToken::new(
        "b",
        secret(),
        HotpParameters {
            digits: 12,
            ..HotpParameters::default()
        },
    );
    assert!(matches!(
        write_pskc(&[bad_digits], &PskcProtection::Plaintext),
        Err(PskcError::Parameters { .. })
    ));
    let twice = [
        ProvisionedToken::new("c", secret(), HotpParameters::default()),
        ProvisionedToken::new("c", secret(), HotpParameters::default()),
    ];
    assert!(matches!(
        write_pskc(&twice, &PskcProtection::Plaintext),
        Err(PskcError::InvalidValue { .. })
    ));
    let one = [ProvisionedToken::new(
        "d",
        secret(),
        HotpParameters::default(),
    )];
    let bad_key = PskcProtection::PreSharedKey {
        key: Secret::from_bytes(&[0; 20]).unwrap(),
        key_name: "k".to_owned(),
    };
    assert!(matches!(
        write_pskc(&one, &bad_key),
        Err(PskcError::KeyLength { found: 20, .. })
    ));
    let no_iterations = PskcProtection::Password {
        password: secret(),
        key_name: "k".to_owned(),
        iterations: 0,
    };
    assert!(matches!(
        write_pskc(&one, &no_iterations),
        Err(PskcError::Iterations { iterations: 0, .. })
    ));
}

fn token_strategy() -> impl Strategy<Value = ProvisionedToken> {
    let algorithm = prop::sample::select(Algorithm::ALL.to_vec());
    let parameters = prop_oneof![
        (algorithm.clone(), 6u8..=10).prop_map(|(algorithm, digits)| OtpParameters::Hotp(
            HotpParameters { algorithm, digits }
        )),
        (algorithm, 6u8..=10, 1u64..=3600).prop_map(|(algorithm, digits, time_step)| {
            OtpParameters::Totp(TotpParameters {
                algorithm,
                digits,
                time_step,
                t0: 0,
            })
        }),
    ];
    // Names as XML carries them: any characters XML 1.0 allows, without leading or
    // trailing white space (a reader trims element text).
    let name = "[^\\s\u{0}-\u{1f}\u{fffe}\u{ffff}]([^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{0,20}[^\\s\u{0}-\u{1f}\u{fffe}\u{ffff}])?";
    (
        // At least the 80 bits a reader accepts by default.
        prop::collection::vec(any::<u8>(), 10..80),
        parameters,
        name,
        prop::option::of(name),
        prop::option::of(name),
        any::<u64>(),
        any::<i64>(),
        prop::option::of(-62_135_596_800i64..253_402_300_799),
    )
        .prop_map(
            |(key, parameters, key_id, serial, issuer, counter, drift, expiry)| {
                let mut token =
                    ProvisionedToken::new(&key_id, Secret::from_bytes(&key).unwrap(), parameters);
                token.serial = serial;
                token.issuer = issuer;
                token.expiry_date = expiry.map(UnixTime::from_secs);
                match parameters {
                    OtpParameters::Hotp(_) => token.counter = counter,
                    OtpParameters::Totp(_) => token.time_drift = drift,
                }
                token
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_token_round_trips(token in token_strategy(), encrypt in any::<bool>()) {
        let tokens = [token];
        let (protection, credential) = if encrypt {
            let key = Secret::from_bytes(&[9; 16]).unwrap();
            (
                PskcProtection::PreSharedKey { key: key.clone(), key_name: "k".to_owned() },
                PskcCredential::PreSharedKey(key),
            )
        } else {
            (PskcProtection::Plaintext, PskcCredential::None)
        };
        let document = write_pskc(&tokens, &protection).unwrap();
        let read = read_pskc(document.as_bytes(), &credential).unwrap().tokens().unwrap();
        assert_same(&read, &tokens);
    }
}
