//! Every bad input of the core gets its own typed error.

use otpfob::{
    ClockError, Code, CodeError, Hotp, HotpParameters, ManualClock, OtpError, Secret, SecretError,
    Totp, TotpParameters, UnixTime, VerifyError, Window, clock::Drift,
};

fn rfc_secret() -> Secret {
    Secret::from_bytes(b"12345678901234567890").unwrap()
}

#[test]
fn empty_secret() {
    assert_eq!(Secret::from_bytes(b"").unwrap_err(), SecretError::Empty);
}

#[test]
fn bad_base32_character_names_its_position() {
    assert_eq!(
        Secret::from_base32("JBSWY3DP8").unwrap_err(),
        SecretError::InvalidBase32Character { position: 8 }
    );
}

#[test]
fn base32_padding_in_the_middle() {
    assert_eq!(
        Secret::from_base32("JBSW=Y3DP").unwrap_err(),
        SecretError::MisplacedBase32Padding { position: 4 }
    );
}

#[test]
fn base32_of_impossible_length() {
    assert_eq!(
        Secret::from_base32("JBSWY3").unwrap_err(),
        SecretError::InvalidBase32Length { symbols: 6 }
    );
}

#[test]
fn bad_hex() {
    assert_eq!(
        Secret::from_hex("3g").unwrap_err(),
        SecretError::InvalidHexCharacter { position: 1 }
    );
    assert_eq!(
        Secret::from_hex("abc").unwrap_err(),
        SecretError::OddHexLength { digits: 3 }
    );
}

#[test]
fn generated_secret_too_short() {
    assert_eq!(
        Secret::generate(64).unwrap_err(),
        SecretError::TooShort {
            bits: 64,
            minimum: 128
        }
    );
}

#[test]
fn error_messages_never_show_the_secret() {
    let error = Secret::from_base32("SECRETSECRET1SECRET").unwrap_err();
    assert!(!error.to_string().contains("SECRET"), "{error}");
    let error = Secret::from_hex("deadbeefz").unwrap_err();
    assert!(!error.to_string().contains("deadbeef"), "{error}");
}

#[test]
fn wrong_digit_count_for_hotp_and_totp() {
    for digits in [5, 11] {
        let error = Hotp::new(
            &rfc_secret(),
            HotpParameters {
                digits,
                ..HotpParameters::default()
            },
        )
        .unwrap_err();
        assert_eq!(error, OtpError::DigitCount { digits });
        let error = Totp::new(
            &rfc_secret(),
            TotpParameters {
                digits,
                ..TotpParameters::default()
            },
        )
        .unwrap_err();
        assert_eq!(error, OtpError::DigitCount { digits });
    }
}

#[test]
fn zero_time_step() {
    let parameters = TotpParameters {
        time_step: 0,
        ..TotpParameters::default()
    };
    assert_eq!(
        Totp::new(&rfc_secret(), parameters).unwrap_err(),
        OtpError::ZeroTimeStep
    );
}

#[test]
fn clock_before_t0() {
    let parameters = TotpParameters {
        t0: 1_000,
        ..TotpParameters::default()
    };
    let totp = Totp::new(&rfc_secret(), parameters).unwrap();
    assert_eq!(
        totp.at(999).unwrap_err(),
        OtpError::TimeBeforeT0 {
            time: 999,
            t0: 1_000
        }
    );
    let clock = ManualClock::new(UnixTime::from_secs(-30));
    assert_eq!(
        totp.now(&clock).unwrap_err(),
        OtpError::TimeBeforeT0 {
            time: -30,
            t0: 1_000
        }
    );
}

#[test]
fn counter_overflow() {
    let hotp = Hotp::new(&rfc_secret(), HotpParameters::default()).unwrap();
    assert_eq!(
        hotp.verify(&hotp.at(0), u64::MAX - 2, 10).unwrap_err(),
        VerifyError::Otp(OtpError::CounterOverflow {
            counter: u64::MAX - 2,
            by: 10
        })
    );
}

#[test]
fn code_of_wrong_length() {
    assert_eq!(
        Code::parse("1234567", 6).unwrap_err(),
        CodeError::WrongLength {
            expected: 6,
            found: 7
        }
    );
}

#[test]
fn code_with_a_letter() {
    assert_eq!(
        Code::parse("12E456", 6).unwrap_err(),
        CodeError::InvalidCharacter { position: 2 }
    );
}

#[test]
fn code_with_two_separators() {
    assert_eq!(
        Code::parse("12 34-56", 6).unwrap_err(),
        CodeError::MisplacedSeparator { position: 5 }
    );
}

#[test]
fn code_digit_count_out_of_range() {
    assert_eq!(
        Code::new(1, 11).unwrap_err(),
        CodeError::DigitCount {
            digits: 11,
            minimum: 4,
            maximum: 10
        }
    );
    assert_eq!(
        Code::new(1_000_000, 6).unwrap_err(),
        CodeError::ValueTooLarge {
            value: 1_000_000,
            digits: 6
        }
    );
}

#[test]
fn code_of_other_length_than_the_token() {
    let totp = Totp::new(&rfc_secret(), TotpParameters::default()).unwrap();
    let code = Code::parse("12345678", 8).unwrap();
    assert_eq!(
        totp.verify(&code, 59, Window::symmetric(1)).unwrap_err(),
        VerifyError::DigitCount {
            expected: 6,
            found: 8
        }
    );
}

#[test]
fn impossible_drift() {
    assert_eq!(
        Drift::from_ppm(-1_000_000.0).unwrap_err(),
        ClockError::Drift { ppm: -1_000_000.0 }
    );
    assert!(matches!(
        Drift::from_ppm(f64::NAN).unwrap_err(),
        ClockError::Drift { .. }
    ));
}
