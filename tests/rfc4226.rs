//! RFC 4226 Appendix D: the HMAC-SHA-1 values, the truncated values and the HOTP codes
//! for counters 0 to 9 of the secret "12345678901234567890". One test per counter.

use otpfob::{Code, Hotp, HotpParameters, Secret, hotp::dynamic_truncate};

fn hotp() -> Hotp {
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    Hotp::new(&secret, HotpParameters::default()).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

macro_rules! appendix_d {
    ($($name:ident: $counter:expr, $hmac:expr, $truncated:expr, $code:expr;)*) => {$(
        #[test]
        fn $name() {
            let hotp = hotp();
            let mac = hotp.hmac($counter);
            assert_eq!(hex(mac.as_ref()), $hmac, "HMAC-SHA-1");
            assert_eq!(dynamic_truncate(mac.as_ref()), $truncated, "truncated value");
            assert_eq!(hotp.at($counter).to_string(), $code, "HOTP");
            assert_eq!(hotp.at($counter), Code::parse($code, 6).unwrap());
        }
    )*};
}

appendix_d! {
    counter_0: 0, "cc93cf18508d94934c64b65d8ba7667fb7cde4b0", 0x4c93cf18, "755224";
    counter_1: 1, "75a48a19d4cbe100644e8ac1397eea747a2d33ab", 0x41397eea, "287082";
    counter_2: 2, "0bacb7fa082fef30782211938bc1c5e70416ff44", 0x082fef30, "359152";
    counter_3: 3, "66c28227d03a2d5529262ff016a1e6ef76557ece", 0x66ef7655, "969429";
    counter_4: 4, "a904c900a64b35909874b33e61c5938a8e15ed1c", 0x61c5938a, "338314";
    counter_5: 5, "a37e783d7b7233c083d4f62926c7a25f238d0316", 0x33c083d4, "254676";
    counter_6: 6, "bc9cd28561042c83f219324d3c607256c03272ae", 0x7256c032, "287922";
    counter_7: 7, "a4fb960c0bc06e1eabb804e5b397cdc4b45596fa", 0x04e5b397, "162583";
    counter_8: 8, "1b3c89f65e6c9e883012052823443f048b4332db", 0x2823443f, "399871";
    counter_9: 9, "1637409809a679dc698207310c8c7fc07290d9e5", 0x2679dc69, "520489";
}

#[test]
fn truncated_values_in_decimal_match_the_appendix() {
    // The appendix also gives the truncated values in decimal.
    let decimal = [
        1_284_755_224u32,
        1_094_287_082,
        137_359_152,
        1_726_969_429,
        1_640_338_314,
        868_254_676,
        1_918_287_922,
        82_162_583,
        673_399_871,
        645_520_489,
    ];
    let hotp = hotp();
    for (counter, expected) in (0u64..).zip(decimal) {
        assert_eq!(dynamic_truncate(hotp.hmac(counter).as_ref()), expected);
    }
}
