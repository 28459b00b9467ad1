//! RFC 6287 Appendix C: every test vector, one test each, for one-way
//! challenge-response (C.1), mutual challenge-response (C.2) and plain signatures
//! (C.3). Each response is computed, parsed back, and found by `verify`.

use otpfob::{
    Secret, UnixTime,
    ocra::{Ocra, OcraInput, OcraQuestion, OcraWindow, Password, Timestamp},
};

/// The appendix's keys: "1234567890" repeated to 20, 32 and 64 bytes.
const KEY20: &[u8] = b"12345678901234567890";
const KEY32: &[u8] = b"12345678901234567890123456789012";
const KEY64: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

/// The PIN of the appendix, and its SHA-1 hash as the appendix gives it.
const PIN: &[u8] = b"1234";
const PIN_SHA1: &str = "7110eda4d09e062aa5e4a390b0a572ac0d2c0220";

/// The appendix's timestamp: 0x132d0b6 minutes after the epoch ("Mar 25 2008, 12:06:30
/// GMT" is within it).
const MINUTES: u64 = 0x132d0b6;

fn pin() -> Option<Password<'static>> {
    Some(Password::Pin(PIN))
}

fn minutes() -> Option<Timestamp> {
    Some(Timestamp::Steps(MINUTES))
}

fn server(client: &'static str, server: &'static str) -> OcraQuestion<'static> {
    OcraQuestion::MutualServer { client, server }
}

fn client(client: &'static str, server: &'static str) -> OcraQuestion<'static> {
    OcraQuestion::MutualClient { client, server }
}

fn check(
    suite: &str,
    key: &[u8],
    question: OcraQuestion<'_>,
    input: OcraInput<'_>,
    expected: &str,
) {
    let ocra = Ocra::new(&Secret::from_bytes(key).unwrap(), suite.parse().unwrap());
    let response = ocra.respond(question, &input).unwrap();
    assert_eq!(response.to_string(), expected, "{suite} {question:?}");
    let typed = ocra.suite().parse_response(expected).unwrap();
    assert_eq!(typed, response);
    assert!(
        ocra.verify(&typed, question, &input, OcraWindow::default())
            .is_ok()
    );
}

macro_rules! appendix_c {
    ($($name:ident: $suite:literal, $key:expr, $question:expr,
       { $($field:ident: $value:expr),* } => $response:literal;)*) => {$(
        #[test]
        fn $name() {
            let input = OcraInput { $($field: $value,)* ..OcraInput::default() };
            check($suite, $key, $question.into(), input, $response);
        }
    )*};
}

// C.1 One-way challenge-response.
appendix_c! {
    sha1_6_qn08_0: "OCRA-1:HOTP-SHA1-6:QN08", KEY20, "00000000", {} => "237653";
    sha1_6_qn08_1: "OCRA-1:HOTP-SHA1-6:QN08", KEY20, "11111111", {} => "243178";
    sha1_6_qn08_2: "OCRA-1:HOTP-SHA1-6:QN08", KEY20, "22222222", {} => "653583";
    sha1_6_qn08_3: "OCRA-1:HOTP-SHA1-6:QN08", KEY20, "33333333", {} => "740991";
    sha1_6_qn08_4: "OCRA-1:HOTP-SHA1-6:QN08", KEY20, "44444444", {} => "608993";
    sha1_6_qn08_5: "OCRA-1:HOTP-SHA1-6:QN08", KEY20, "55555555", {} => "388898";
    sha1_6_qn08_6: "OCRA-1:HOTP-SHA1-6:QN08", KEY20, "66666666", {} => "816933";
    sha1_6_qn08_7: "OCRA-1:HOTP-SHA1-6:QN08", KEY20, "77777777", {} => "224598";
    sha1_6_qn08_8: "OCRA-1:HOTP-SHA1-6:QN08", KEY20, "88888888", {} => "750600";
    sha1_6_qn08_9: "OCRA-1:HOTP-SHA1-6:QN08", KEY20, "99999999", {} => "294470";

    sha256_c_pin_0: "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", KEY32, "12345678", { counter: Some(0), password: pin() } => "65347737";
    sha256_c_pin_1: "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", KEY32, "12345678", { counter: Some(1), password: pin() } => "86775851";
    sha256_c_pin_2: "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", KEY32, "12345678", { counter: Some(2), password: pin() } => "78192410";
    sha256_c_pin_3: "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", KEY32, "12345678", { counter: Some(3), password: pin() } => "71565254";
    sha256_c_pin_4: "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", KEY32, "12345678", { counter: Some(4), password: pin() } => "10104329";
    sha256_c_pin_5: "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", KEY32, "12345678", { counter: Some(5), password: pin() } => "65983500";
    sha256_c_pin_6: "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", KEY32, "12345678", { counter: Some(6), password: pin() } => "70069104";
    sha256_c_pin_7: "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", KEY32, "12345678", { counter: Some(7), password: pin() } => "91771096";
    sha256_c_pin_8: "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", KEY32, "12345678", { counter: Some(8), password: pin() } => "75011558";
    sha256_c_pin_9: "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", KEY32, "12345678", { counter: Some(9), password: pin() } => "08522129";

    sha256_pin_0: "OCRA-1:HOTP-SHA256-8:QN08-PSHA1", KEY32, "00000000", { password: pin() } => "83238735";
    sha256_pin_1: "OCRA-1:HOTP-SHA256-8:QN08-PSHA1", KEY32, "11111111", { password: pin() } => "01501458";
    sha256_pin_2: "OCRA-1:HOTP-SHA256-8:QN08-PSHA1", KEY32, "22222222", { password: pin() } => "17957585";
    sha256_pin_3: "OCRA-1:HOTP-SHA256-8:QN08-PSHA1", KEY32, "33333333", { password: pin() } => "86776967";
    sha256_pin_4: "OCRA-1:HOTP-SHA256-8:QN08-PSHA1", KEY32, "44444444", { password: pin() } => "86807031";

    sha512_c_0: "OCRA-1:HOTP-SHA512-8:C-QN08", KEY64, "00000000", { counter: Some(0) } => "07016083";
    sha512_c_1: "OCRA-1:HOTP-SHA512-8:C-QN08", KEY64, "11111111", { counter: Some(1) } => "63947962";
    sha512_c_2: "OCRA-1:HOTP-SHA512-8:C-QN08", KEY64, "22222222", { counter: Some(2) } => "70123924";
    sha512_c_3: "OCRA-1:HOTP-SHA512-8:C-QN08", KEY64, "33333333", { counter: Some(3) } => "25341727";
    sha512_c_4: "OCRA-1:HOTP-SHA512-8:C-QN08", KEY64, "44444444", { counter: Some(4) } => "33203315";
    sha512_c_5: "OCRA-1:HOTP-SHA512-8:C-QN08", KEY64, "55555555", { counter: Some(5) } => "34205738";
    sha512_c_6: "OCRA-1:HOTP-SHA512-8:C-QN08", KEY64, "66666666", { counter: Some(6) } => "44343969";
    sha512_c_7: "OCRA-1:HOTP-SHA512-8:C-QN08", KEY64, "77777777", { counter: Some(7) } => "51946085";
    sha512_c_8: "OCRA-1:HOTP-SHA512-8:C-QN08", KEY64, "88888888", { counter: Some(8) } => "20403879";
    sha512_c_9: "OCRA-1:HOTP-SHA512-8:C-QN08", KEY64, "99999999", { counter: Some(9) } => "31409299";

    sha512_t1m_0: "OCRA-1:HOTP-SHA512-8:QN08-T1M", KEY64, "00000000", { timestamp: minutes() } => "95209754";
    sha512_t1m_1: "OCRA-1:HOTP-SHA512-8:QN08-T1M", KEY64, "11111111", { timestamp: minutes() } => "55907591";
    sha512_t1m_2: "OCRA-1:HOTP-SHA512-8:QN08-T1M", KEY64, "22222222", { timestamp: minutes() } => "22048402";
    sha512_t1m_3: "OCRA-1:HOTP-SHA512-8:QN08-T1M", KEY64, "33333333", { timestamp: minutes() } => "24218844";
    sha512_t1m_4: "OCRA-1:HOTP-SHA512-8:QN08-T1M", KEY64, "44444444", { timestamp: minutes() } => "36209546";
}

// C.2 Mutual challenge-response: the server's responses, then the client's.
appendix_c! {
    mutual_sha256_server_0: "OCRA-1:HOTP-SHA256-8:QA08", KEY32, server("CLI22220", "SRV11110"), {} => "28247970";
    mutual_sha256_server_1: "OCRA-1:HOTP-SHA256-8:QA08", KEY32, server("CLI22221", "SRV11111"), {} => "01984843";
    mutual_sha256_server_2: "OCRA-1:HOTP-SHA256-8:QA08", KEY32, server("CLI22222", "SRV11112"), {} => "65387857";
    mutual_sha256_server_3: "OCRA-1:HOTP-SHA256-8:QA08", KEY32, server("CLI22223", "SRV11113"), {} => "03351211";
    mutual_sha256_server_4: "OCRA-1:HOTP-SHA256-8:QA08", KEY32, server("CLI22224", "SRV11114"), {} => "83412541";
    mutual_sha256_client_0: "OCRA-1:HOTP-SHA256-8:QA08", KEY32, client("CLI22220", "SRV11110"), {} => "15510767";
    mutual_sha256_client_1: "OCRA-1:HOTP-SHA256-8:QA08", KEY32, client("CLI22221", "SRV11111"), {} => "90175646";
    mutual_sha256_client_2: "OCRA-1:HOTP-SHA256-8:QA08", KEY32, client("CLI22222", "SRV11112"), {} => "33777207";
    mutual_sha256_client_3: "OCRA-1:HOTP-SHA256-8:QA08", KEY32, client("CLI22223", "SRV11113"), {} => "95285278";
    mutual_sha256_client_4: "OCRA-1:HOTP-SHA256-8:QA08", KEY32, client("CLI22224", "SRV11114"), {} => "28934924";

    mutual_sha512_server_0: "OCRA-1:HOTP-SHA512-8:QA08", KEY64, server("CLI22220", "SRV11110"), {} => "79496648";
    mutual_sha512_server_1: "OCRA-1:HOTP-SHA512-8:QA08", KEY64, server("CLI22221", "SRV11111"), {} => "76831980";
    mutual_sha512_server_2: "OCRA-1:HOTP-SHA512-8:QA08", KEY64, server("CLI22222", "SRV11112"), {} => "12250499";
    mutual_sha512_server_3: "OCRA-1:HOTP-SHA512-8:QA08", KEY64, server("CLI22223", "SRV11113"), {} => "90856481";
    mutual_sha512_server_4: "OCRA-1:HOTP-SHA512-8:QA08", KEY64, server("CLI22224", "SRV11114"), {} => "12761449";
    mutual_sha512_client_0: "OCRA-1:HOTP-SHA512-8:QA08-PSHA1", KEY64, client("CLI22220", "SRV11110"), { password: pin() } => "18806276";
    mutual_sha512_client_1: "OCRA-1:HOTP-SHA512-8:QA08-PSHA1", KEY64, client("CLI22221", "SRV11111"), { password: pin() } => "70020315";
    mutual_sha512_client_2: "OCRA-1:HOTP-SHA512-8:QA08-PSHA1", KEY64, client("CLI22222", "SRV11112"), { password: pin() } => "01600026";
    mutual_sha512_client_3: "OCRA-1:HOTP-SHA512-8:QA08-PSHA1", KEY64, client("CLI22223", "SRV11113"), { password: pin() } => "18951020";
    mutual_sha512_client_4: "OCRA-1:HOTP-SHA512-8:QA08-PSHA1", KEY64, client("CLI22224", "SRV11114"), { password: pin() } => "32528969";
}

// C.3 Plain signature, without and with a timestamp.
appendix_c! {
    signature_sha256_0: "OCRA-1:HOTP-SHA256-8:QA08", KEY32, "SIG10000", {} => "53095496";
    signature_sha256_1: "OCRA-1:HOTP-SHA256-8:QA08", KEY32, "SIG11000", {} => "04110475";
    signature_sha256_2: "OCRA-1:HOTP-SHA256-8:QA08", KEY32, "SIG12000", {} => "31331128";
    signature_sha256_3: "OCRA-1:HOTP-SHA256-8:QA08", KEY32, "SIG13000", {} => "76028668";
    signature_sha256_4: "OCRA-1:HOTP-SHA256-8:QA08", KEY32, "SIG14000", {} => "46554205";

    signature_sha512_t1m_0: "OCRA-1:HOTP-SHA512-8:QA10-T1M", KEY64, "SIG1000000", { timestamp: minutes() } => "77537423";
    signature_sha512_t1m_1: "OCRA-1:HOTP-SHA512-8:QA10-T1M", KEY64, "SIG1100000", { timestamp: minutes() } => "31970405";
    signature_sha512_t1m_2: "OCRA-1:HOTP-SHA512-8:QA10-T1M", KEY64, "SIG1200000", { timestamp: minutes() } => "10235557";
    signature_sha512_t1m_3: "OCRA-1:HOTP-SHA512-8:QA10-T1M", KEY64, "SIG1300000", { timestamp: minutes() } => "95213541";
    signature_sha512_t1m_4: "OCRA-1:HOTP-SHA512-8:QA10-T1M", KEY64, "SIG1400000", { timestamp: minutes() } => "65360607";
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&text[index..index + 2], 16).unwrap())
        .collect()
}

#[test]
fn the_appendix_pin_hash_gives_the_same_responses_as_the_pin() {
    let ocra = Ocra::new(
        &Secret::from_bytes(KEY32).unwrap(),
        "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1".parse().unwrap(),
    );
    let hash = hex(PIN_SHA1);
    for (counter, expected) in [(0, "65347737"), (5, "65983500"), (9, "08522129")] {
        let input = OcraInput {
            counter: Some(counter),
            password: Some(Password::Hash(&hash)),
            ..OcraInput::default()
        };
        assert_eq!(
            ocra.one_way("12345678", &input).unwrap().to_string(),
            expected
        );
    }
}

#[test]
fn a_time_in_the_appendix_minute_gives_its_responses() {
    let ocra = Ocra::new(
        &Secret::from_bytes(KEY64).unwrap(),
        "OCRA-1:HOTP-SHA512-8:QN08-T1M".parse().unwrap(),
    );
    let first_second = MINUTES as i64 * 60;
    for seconds in [first_second, first_second + 30, first_second + 59] {
        let input = OcraInput {
            timestamp: Some(Timestamp::At(UnixTime::from_secs(seconds))),
            ..OcraInput::default()
        };
        assert_eq!(
            ocra.one_way("00000000", &input).unwrap().to_string(),
            "95209754"
        );
    }
    // The next minute is another response.
    let input = OcraInput {
        timestamp: Some(Timestamp::At(UnixTime::from_secs(first_second + 60))),
        ..OcraInput::default()
    };
    assert_ne!(
        ocra.one_way("00000000", &input).unwrap().to_string(),
        "95209754"
    );
}

#[test]
fn the_convenience_methods_are_the_modes() {
    let ocra = Ocra::new(
        &Secret::from_bytes(KEY32).unwrap(),
        "OCRA-1:HOTP-SHA256-8:QA08".parse().unwrap(),
    );
    let none = OcraInput::default();
    assert_eq!(
        ocra.server_response("CLI22220", "SRV11110", &none)
            .unwrap()
            .to_string(),
        "28247970"
    );
    assert_eq!(
        ocra.client_response("CLI22220", "SRV11110", &none)
            .unwrap()
            .to_string(),
        "15510767"
    );
    assert_eq!(
        ocra.sign("SIG10000", &none).unwrap().to_string(),
        "53095496"
    );
    assert_eq!(
        ocra.one_way("SIG10000", &none).unwrap().to_string(),
        "53095496"
    );
}
