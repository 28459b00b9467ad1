//! OCRA responses, verification windows, suite parsing, random challenges and
//! transaction challenges make no heap allocation, even with the largest data input
//! (a 64-character question pair, a SHA-512 PIN hash and 512 bytes of session).
//!
//! `allocation-counter` counts per thread, so other tests running in parallel do not
//! disturb it.

use std::hint::black_box;

use otpfob::{
    Secret, UnixTime, Window,
    ocra::{
        Challenge, Currency, Ocra, OcraInput, OcraQuestion, OcraSuite, OcraWindow, Password,
        SigningNonce, Timestamp, Transaction,
    },
};

fn assert_no_allocation(what: &str, work: impl FnOnce()) {
    let info = allocation_counter::measure(work);
    assert_eq!(info.count_total, 0, "{what} allocated {info:?}");
}

#[test]
fn ocra_does_not_allocate() {
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    let session = [0xa5u8; 512];
    let client = "9".repeat(64);
    let server = "1".repeat(64);
    for suite in [
        "OCRA-1:HOTP-SHA1-6:QN08",
        "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1",
        "OCRA-1:HOTP-SHA512-8:QN08-T1M",
        "OCRA-1:HOTP-SHA512-0:C-QN64-PSHA512-S512-T30S",
    ] {
        let mut parsed = None;
        assert_no_allocation("parsing a suite", || {
            parsed = Some(black_box(suite).parse::<OcraSuite>().unwrap());
        });
        let suite = parsed.unwrap();
        let ocra = Ocra::new(&secret, suite);
        let input = OcraInput {
            counter: suite.uses_counter().then_some(7),
            password: suite.pin_hash().map(|_| Password::Pin(b"1234")),
            session: suite.session_length().map(|_| session.as_slice()),
            timestamp: suite
                .time_step()
                .map(|_| Timestamp::At(UnixTime::from_secs(1_206_446_760))),
        };
        let question = OcraQuestion::MutualClient {
            client: &client[..usize::from(suite.question().max_length())],
            server: &server[..usize::from(suite.question().max_length())],
        };
        let mut response = None;
        assert_no_allocation("an OCRA response", || {
            response = Some(black_box(ocra.respond(question, &input).unwrap()));
        });
        let response = response.unwrap();
        let window = OcraWindow {
            look_ahead: 3,
            time: Window::symmetric(1),
        };
        assert_no_allocation("a verification window that matches", || {
            assert!(ocra.verify(&response, question, &input, window).is_ok());
        });
        let other = OcraQuestion::Single("12345678");
        assert_no_allocation("a verification window that misses", || {
            let _ = black_box(ocra.verify(&response, other, &input, window));
        });
        assert_no_allocation("an input that does not fit the suite", || {
            let _ = black_box(ocra.one_way("not a number", &OcraInput::default()));
        });
        let text = response.to_string();
        assert_no_allocation("parsing a typed response", || {
            let _ = black_box(suite.parse_response(&text).unwrap());
        });
    }
}

#[test]
fn challenges_do_not_allocate() {
    let suite: OcraSuite = "OCRA-1:HOTP-SHA256-8:QN64".parse().unwrap();
    let transfer = Transaction::new(
        125_000,
        Currency::new("EUR").unwrap(),
        "DE89370400440532013000",
        Some("Invoice 2024-117"),
    )
    .unwrap();
    let nonce = SigningNonce::from_bytes([3; 16]);
    assert_no_allocation("a transaction's signature challenge", || {
        let _ = black_box(transfer.signature_challenge(&suite, &nonce));
    });
    assert_no_allocation("a random challenge and nonce", || {
        let _ = black_box(Challenge::generate(suite.question()).unwrap());
        let _ = black_box(SigningNonce::generate().unwrap());
    });
}

#[test]
fn the_counter_sees_allocations() {
    // The guard against a test that cannot fail.
    let info = allocation_counter::measure(|| {
        black_box("OCRA-1:HOTP-SHA1-6:QN08".to_owned());
    });
    assert!(info.count_total >= 1);
}
