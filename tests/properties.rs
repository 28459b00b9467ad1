//! Property tests of the core invariants.

use otpfob::{Algorithm, Code, Hotp, HotpParameters, Secret, Totp, TotpParameters};
use proptest::prelude::*;

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop::sample::select(Algorithm::ALL.to_vec())
}

proptest! {
    #[test]
    fn codes_have_their_length_and_range(
        key in prop::collection::vec(any::<u8>(), 1..100),
        algorithm in algorithm(),
        digits in 6u8..=10,
        counter in any::<u64>(),
    ) {
        let secret = Secret::from_bytes(&key).unwrap();
        let code = Hotp::new(&secret, HotpParameters { algorithm, digits }).unwrap().at(counter);
        prop_assert_eq!(code.digits(), digits);
        prop_assert!(u64::from(code.value()) < 10u64.pow(u32::from(digits)));
        prop_assert_eq!(code.to_string().len(), usize::from(digits));
    }

    #[test]
    fn display_and_parse_round_trip(digits in 4u8..=10, seed in any::<u32>()) {
        let value = u64::from(seed) % 10u64.pow(u32::from(digits)).min(1 << 32);
        let code = Code::new(u32::try_from(value).unwrap(), digits).unwrap();
        let text = code.to_string();
        prop_assert_eq!(Code::parse(&text, digits).unwrap(), code);
        prop_assert_eq!(text.parse::<Code>().unwrap(), code);
        let grouped = code.grouped(' ').to_string();
        prop_assert_eq!(Code::parse(&grouped, digits).unwrap(), code);
    }

    #[test]
    fn totp_at_any_second_of_a_step_is_hotp_at_that_step(
        algorithm in algorithm(),
        time_step in 1u64..=600,
        t0 in 0u64..=1_000_000_000,
        step in 0u64..=100_000_000,
        into_step in any::<u64>(),
    ) {
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        let totp = Totp::new(&secret, TotpParameters { algorithm, digits: 6, time_step, t0 }).unwrap();
        let hotp = Hotp::new(&secret, HotpParameters { algorithm, digits: 6 }).unwrap();
        let time = t0 + step * time_step + into_step % time_step;
        prop_assert_eq!(totp.step_at(time).unwrap(), step);
        prop_assert_eq!(totp.at(time).unwrap(), hotp.at(step));
        let remaining = totp.remaining(time).unwrap();
        prop_assert!((1..=time_step).contains(&remaining));
        prop_assert_eq!(totp.step_at(time + remaining).unwrap(), step + 1);
    }

    #[test]
    fn base32_round_trips(key in prop::collection::vec(any::<u8>(), 1..100), lower in any::<bool>()) {
        let secret = Secret::from_bytes(&key).unwrap();
        let encoded = secret.to_base32();
        let text = if lower { encoded.to_lowercase() } else { encoded.to_string() };
        prop_assert_eq!(Secret::from_base32(&text).unwrap().expose_bytes().to_vec(), key.clone());
        // Grouped in fours with spaces, as printed on enrolment letters.
        let spaced: String = text
            .as_bytes()
            .chunks(4)
            .map(|chunk| std::str::from_utf8(chunk).unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        prop_assert_eq!(Secret::from_base32(&spaced).unwrap().expose_bytes().to_vec(), key);
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in ".{0,24}") {
        let _ = Code::parse(&text, 6);
        let _ = text.parse::<Code>();
        let _ = Secret::from_base32(&text);
        let _ = Secret::from_hex(&text);
    }
}
