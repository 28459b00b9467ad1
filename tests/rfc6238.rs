//! RFC 6238 Appendix B: every row of the test vector table, 8 digits, 30-second steps
//! from T0 = 0, SHA-1, SHA-256 and SHA-512 with their seeds. One test per row and hash.

use otpfob::{Algorithm, Secret, Totp, TotpParameters};

fn totp(algorithm: Algorithm) -> Totp {
    let seed: &[u8] = match algorithm {
        Algorithm::Sha1 => b"12345678901234567890",
        Algorithm::Sha256 => b"12345678901234567890123456789012",
        _ => b"1234567890123456789012345678901234567890123456789012345678901234",
    };
    let secret = Secret::from_bytes(seed).unwrap();
    let parameters = TotpParameters {
        algorithm,
        digits: 8,
        ..TotpParameters::default()
    };
    Totp::new(&secret, parameters).unwrap()
}

macro_rules! appendix_b {
    ($($name:ident: $time:expr, $step:expr, $algorithm:ident, $code:expr;)*) => {$(
        #[test]
        fn $name() {
            let totp = totp(Algorithm::$algorithm);
            assert_eq!(totp.step_at($time).unwrap(), $step, "T (hex {:016X})", $step);
            assert_eq!(totp.at($time).unwrap().to_string(), $code);
        }
    )*};
}

appendix_b! {
    t59_sha1: 59, 0x1, Sha1, "94287082";
    t59_sha256: 59, 0x1, Sha256, "46119246";
    t59_sha512: 59, 0x1, Sha512, "90693936";
    t1111111109_sha1: 1_111_111_109, 0x23523EC, Sha1, "07081804";
    t1111111109_sha256: 1_111_111_109, 0x23523EC, Sha256, "68084774";
    t1111111109_sha512: 1_111_111_109, 0x23523EC, Sha512, "25091201";
    t1111111111_sha1: 1_111_111_111, 0x23523ED, Sha1, "14050471";
    t1111111111_sha256: 1_111_111_111, 0x23523ED, Sha256, "67062674";
    t1111111111_sha512: 1_111_111_111, 0x23523ED, Sha512, "99943326";
    t1234567890_sha1: 1_234_567_890, 0x273EF07, Sha1, "89005924";
    t1234567890_sha256: 1_234_567_890, 0x273EF07, Sha256, "91819424";
    t1234567890_sha512: 1_234_567_890, 0x273EF07, Sha512, "93441116";
    t2000000000_sha1: 2_000_000_000, 0x3F940AA, Sha1, "69279037";
    t2000000000_sha256: 2_000_000_000, 0x3F940AA, Sha256, "90698825";
    t2000000000_sha512: 2_000_000_000, 0x3F940AA, Sha512, "38618901";
    t20000000000_sha1: 20_000_000_000, 0x27BC86AA, Sha1, "65353130";
    t20000000000_sha256: 20_000_000_000, 0x27BC86AA, Sha256, "77737706";
    t20000000000_sha512: 20_000_000_000, 0x27BC86AA, Sha512, "47863826";
}

#[test]
fn clock_based_generation_matches_the_table() {
    use otpfob::ManualClock;
    let clock = ManualClock::at_secs(20_000_000_000);
    assert_eq!(
        totp(Algorithm::Sha1).now(&clock).unwrap().to_string(),
        "65353130"
    );
}
