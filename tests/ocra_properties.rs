//! Property tests of OCRA: suites round-trip and never panic, responses match an
//! independent model of the data input, verification finds what was computed, and the
//! transaction encoding is injective.

use hmac::{Hmac, KeyInit, Mac};
use otpfob::{
    Algorithm, Secret, Window,
    ocra::{
        Currency, Ocra, OcraInput, OcraQuestion, OcraSuite, OcraWindow, Password, QuestionKind,
        SigningNonce, Timestamp, Transaction,
    },
};
use proptest::prelude::*;
use sha1::Digest;

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop::sample::select(Algorithm::ALL.to_vec())
}

fn question_kind() -> impl Strategy<Value = char> {
    prop::sample::select(vec!['A', 'N', 'H'])
}

fn time_step() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u8..=59).prop_map(|count| format!("{count}S")),
        (1u8..=59).prop_map(|count| format!("{count}M")),
        (1u8..=48).prop_map(|count| format!("{count}H")),
    ]
}

/// The parts of a valid suite, and its canonical spelling.
#[derive(Debug, Clone)]
struct SuiteParts {
    algorithm: Algorithm,
    digits: u8,
    counter: bool,
    kind: char,
    length: u8,
    pin: Option<Algorithm>,
    session: Option<u16>,
    time: Option<String>,
}

impl SuiteParts {
    fn text(&self) -> String {
        let mut text = format!("OCRA-1:HOTP-{}-{}:", self.algorithm.name(), self.digits);
        if self.counter {
            text.push_str("C-");
        }
        text.push_str(&format!("Q{}{:02}", self.kind, self.length));
        if let Some(pin) = self.pin {
            text.push_str(&format!("-P{}", pin.name()));
        }
        if let Some(session) = self.session {
            text.push_str(&format!("-S{session:03}"));
        }
        if let Some(time) = &self.time {
            text.push_str(&format!("-T{time}"));
        }
        text
    }
}

prop_compose! {
    fn suite_parts()(
        algorithm in algorithm(),
        digits in prop::sample::select(vec![0u8, 4, 5, 6, 7, 8, 9, 10]),
        counter in any::<bool>(),
        kind in question_kind(),
        length in 4u8..=64,
        pin in prop::option::of(algorithm()),
        session in prop::option::of(1u16..=512),
        time in prop::option::of(time_step()),
    ) -> SuiteParts {
        SuiteParts { algorithm, digits, counter, kind, length, pin, session, time }
    }
}

/// A question of `length` characters of `kind`, from `seed`.
fn question(kind: char, length: usize, seed: &[u8]) -> String {
    let alphabet: &[u8] = match kind {
        'N' => b"0123456789",
        'H' => b"0123456789abcdefABCDEF",
        _ => b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    };
    seed.iter()
        .cycle()
        .take(length)
        .map(|byte| char::from(alphabet[usize::from(*byte) % alphabet.len()]))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&text[index..index + 2], 16).unwrap())
        .collect()
}

/// A decimal string as a hex string without leading zeros ("0" for zero), by schoolbook
/// arithmetic on a digit vector: the `BigInteger(q, 10).toString(16)` of the RFC's code.
fn decimal_to_hex(decimal: &str) -> String {
    let mut number: Vec<u32> = decimal
        .bytes()
        .map(|digit| u32::from(digit - b'0'))
        .collect();
    let mut hex_digits = Vec::new();
    while number.iter().any(|digit| *digit != 0) {
        let mut remainder = 0;
        for digit in number.iter_mut() {
            let value = remainder * 10 + *digit;
            *digit = value / 16;
            remainder = value % 16;
        }
        hex_digits.push(char::from_digit(remainder, 16).unwrap());
    }
    if hex_digits.is_empty() {
        return "0".into();
    }
    hex_digits.iter().rev().collect()
}

/// The data input as RFC 6287's reference code builds it, from hex strings.
fn reference_data_input(
    parts: &SuiteParts,
    questions: &str,
    counter: u64,
    pin: &[u8],
    session: &[u8],
    steps: u64,
) -> Vec<u8> {
    let mut message = parts.text().into_bytes();
    message.push(0);
    if parts.counter {
        message.extend(counter.to_be_bytes());
    }
    let mut question_hex = match parts.kind {
        'N' => decimal_to_hex(questions),
        'H' => questions.to_owned(),
        _ => hex(questions.as_bytes()),
    };
    while question_hex.len() < 256 {
        question_hex.push('0');
    }
    message.extend(unhex(&question_hex));
    if let Some(hash) = parts.pin {
        let digest = match hash {
            Algorithm::Sha1 => sha1::Sha1::digest(pin).to_vec(),
            Algorithm::Sha256 => sha2::Sha256::digest(pin).to_vec(),
            _ => sha2::Sha512::digest(pin).to_vec(),
        };
        message.extend(digest);
    }
    if let Some(length) = parts.session {
        let mut session_hex = hex(session);
        while session_hex.len() < usize::from(length) * 2 {
            session_hex.insert(0, '0');
        }
        message.extend(unhex(&session_hex));
    }
    if parts.time.is_some() {
        message.extend(steps.to_be_bytes());
    }
    message
}

fn reference_hmac(algorithm: Algorithm, key: &[u8], message: &[u8]) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut mac = <M as KeyInit>::new_from_slice(key).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }
    match algorithm {
        Algorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, message),
        Algorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, message),
        _ => run::<Hmac<sha2::Sha512>>(key, message),
    }
}

proptest! {
    #[test]
    fn suites_display_as_parsed(parts in suite_parts()) {
        let text = parts.text();
        let suite: OcraSuite = text.parse().unwrap();
        prop_assert_eq!(suite.to_string(), text.clone());
        prop_assert_eq!(suite.as_str().parse::<OcraSuite>().unwrap(), suite);
        prop_assert_eq!(suite.algorithm(), parts.algorithm);
        prop_assert_eq!(suite.truncation(), parts.digits);
        prop_assert_eq!(suite.uses_counter(), parts.counter);
        prop_assert_eq!(suite.question().kind().letter(), parts.kind);
        prop_assert_eq!(suite.question().max_length(), parts.length);
        prop_assert_eq!(suite.pin_hash(), parts.pin);
        prop_assert_eq!(suite.session_length(), parts.session);
        prop_assert_eq!(suite.time_step().map(|step| step.to_string()), parts.time);
    }

    #[test]
    fn parsing_any_string_never_panics(text in any::<String>()) {
        if let Ok(suite) = text.parse::<OcraSuite>() {
            prop_assert_eq!(suite.to_string(), text);
        }
    }

    #[test]
    fn parsing_near_suites_never_panics_and_accepts_only_canonical_text(
        text in "OCRA-1:HOTP-SHA(1|256|512)-[0-9]{1,2}:[CQANHPSTM0-9-]{0,24}",
    ) {
        if let Ok(suite) = text.parse::<OcraSuite>() {
            prop_assert_eq!(suite.to_string(), text);
        }
    }

    #[test]
    fn untruncated_responses_are_the_hmac_of_the_reference_data_input(
        parts in suite_parts(),
        key in prop::collection::vec(any::<u8>(), 1..80),
        seed in prop::collection::vec(any::<u8>(), 1..64),
        lengths in (1usize..=64, 1usize..=64),
        mutual in any::<bool>(),
        counter in any::<u64>(),
        pin in prop::collection::vec(any::<u8>(), 1..12),
        session in prop::collection::vec(any::<u8>(), 0..=512),
        steps in any::<u64>(),
    ) {
        let parts = SuiteParts { digits: 0, ..parts };
        let suite: OcraSuite = parts.text().parse().unwrap();
        let maximum = usize::from(parts.length);
        let first = question(parts.kind, lengths.0.min(maximum), &seed);
        let second = question(parts.kind, lengths.1.min(maximum), &seed[seed.len() / 2..]);
        let session = &session[..session.len().min(usize::from(parts.session.unwrap_or(0)))];
        let (question, hashed) = if mutual {
            (OcraQuestion::MutualClient { client: &first, server: &second }, format!("{second}{first}"))
        } else {
            (OcraQuestion::Single(&first), first.clone())
        };
        let input = OcraInput {
            counter: parts.counter.then_some(counter),
            password: parts.pin.map(|_| Password::Pin(&pin)),
            session: parts.session.map(|_| session),
            timestamp: parts.time.as_ref().map(|_| Timestamp::Steps(steps)),
        };
        let ocra = Ocra::new(&Secret::from_bytes(&key).unwrap(), suite);
        let response = ocra.respond(question, &input).unwrap();
        let message = reference_data_input(&parts, &hashed, counter, &pin, session, steps);
        prop_assert_eq!(response.to_string(), hex(&reference_hmac(parts.algorithm, &key, &message)));
    }

    #[test]
    fn verify_finds_what_was_computed(
        parts in suite_parts(),
        seed in prop::collection::vec(any::<u8>(), 1..64),
        counter in 0u64..1_000_000,
        steps in 0u64..1_000_000,
        behind in 0u64..3,
        off in 0u64..3,
    ) {
        let suite: OcraSuite = parts.text().parse().unwrap();
        let ocra = Ocra::new(&Secret::from_bytes(b"12345678901234567890").unwrap(), suite);
        let challenge = question(parts.kind, usize::from(parts.length), &seed);
        let input = |counter, steps| OcraInput {
            counter: parts.counter.then_some(counter),
            password: parts.pin.map(|_| Password::Pin(b"1234")),
            // "session" cut to the suite's length, which is at least 1.
            session: parts.session.map(|length| &b"session"[..usize::from(length).min(7)]),
            timestamp: parts.time.as_ref().map(|_| Timestamp::Steps(steps)),
        };
        let response = ocra.one_way(&challenge, &input(counter + behind, steps)).unwrap();
        let typed = ocra.suite().parse_response(&response.to_string()).unwrap();
        let window = OcraWindow { look_ahead: 2, time: Window::symmetric(2) };
        let found = ocra.verify(&typed, challenge.as_str().into(), &input(counter, steps + off), window).unwrap();
        if parts.counter {
            // An earlier counter in the window may collide with a short code; never a later one.
            prop_assert!(found.counter.unwrap() <= counter + behind);
        } else {
            prop_assert_eq!(found.counter, None);
        }
        prop_assert_eq!(found.time_step.is_some(), parts.time.is_some());
    }
}

// The transaction encoding.

/// Reads a version-1 encoding back into its transfer and nonce: that this decoder
/// exists and inverts `signing_bytes` is what makes the encoding injective.
fn decode(bytes: &[u8]) -> Option<(Transaction, SigningNonce)> {
    let rest = bytes.strip_prefix(b"otpfob OCRA transaction v1\0".as_slice())?;
    let (nonce, rest) = rest.split_at_checked(16)?;
    let (amount, rest) = rest.split_at_checked(8)?;
    let (currency, rest) = rest.split_at_checked(3)?;
    let read_text = |rest: &[u8]| -> Option<(String, usize)> {
        let (length, tail) = rest.split_at_checked(4)?;
        let length = u32::from_be_bytes(length.try_into().ok()?) as usize;
        let text = String::from_utf8(tail.get(..length)?.to_vec()).ok()?;
        Some((text, 4 + length))
    };
    let (beneficiary, used) = read_text(rest)?;
    let rest = &rest[used..];
    let (reference, rest) = match rest.split_first()? {
        (0, rest) => (None, rest),
        (1, rest) => {
            let (text, used) = read_text(rest)?;
            (Some(text), &rest[used..])
        }
        _ => return None,
    };
    if !rest.is_empty() {
        return None;
    }
    let transfer = Transaction::new(
        u64::from_be_bytes(amount.try_into().ok()?),
        Currency::new(std::str::from_utf8(currency).ok()?).ok()?,
        &beneficiary,
        reference.as_deref(),
    )
    .ok()?;
    Some((transfer, SigningNonce::from_bytes(nonce.try_into().ok()?)))
}

prop_compose! {
    fn transfer()(
        amount in any::<u64>(),
        currency in "[A-Z]{3}",
        beneficiary in "[A-Z0-9 ]{0,6}[A-Z0-9]",
        reference in prop::option::of("[a-z0-9 :]{0,6}[a-z0-9]"),
    ) -> Transaction {
        Transaction::new(amount, Currency::new(&currency).unwrap(), &beneficiary, reference.as_deref()).unwrap()
    }
}

proptest! {
    #[test]
    fn the_encoding_reads_back_into_the_same_transfer(transfer in transfer(), nonce in any::<[u8; 16]>()) {
        let nonce = SigningNonce::from_bytes(nonce);
        let bytes = transfer.signing_bytes(&nonce);
        prop_assert_eq!(decode(&bytes), Some((transfer, nonce)));
    }

    #[test]
    fn different_transfers_never_encode_alike(
        first in transfer(),
        second in transfer(),
        nonces in any::<([u8; 16], [u8; 16])>(),
        same_nonce in any::<bool>(),
    ) {
        let first_nonce = SigningNonce::from_bytes(nonces.0);
        let second_nonce = SigningNonce::from_bytes(if same_nonce { nonces.0 } else { nonces.1 });
        let equal_inputs = first == second && first_nonce == second_nonce;
        prop_assert_eq!(
            first.signing_bytes(&first_nonce) == second.signing_bytes(&second_nonce),
            equal_inputs
        );
    }

    #[test]
    fn moving_text_between_fields_changes_the_encoding(text in "[A-Z0-9]{2,12}", split in any::<prop::sample::Index>()) {
        // The same characters split differently between beneficiary and reference.
        let at = 1 + split.index(text.len() - 1);
        let euro = Currency::new("EUR").unwrap();
        let nonce = SigningNonce::from_bytes([0; 16]);
        let whole = Transaction::new(1, euro, &text, None).unwrap();
        let split_transfer = Transaction::new(1, euro, &text[..at], Some(&text[at..])).unwrap();
        prop_assert_ne!(whole.signing_bytes(&nonce), split_transfer.signing_bytes(&nonce));
        let suite: OcraSuite = "OCRA-1:HOTP-SHA256-8:QH64".parse().unwrap();
        prop_assert_ne!(
            whole.signature_challenge(&suite, &nonce),
            split_transfer.signature_challenge(&suite, &nonce)
        );
    }

    #[test]
    fn derived_challenges_fit_their_suite(transfer in transfer(), parts in suite_parts(), nonce in any::<[u8; 16]>()) {
        let suite: OcraSuite = parts.text().parse().unwrap();
        let challenge = transfer.signature_challenge(&suite, &SigningNonce::from_bytes(nonce));
        prop_assert_eq!(challenge.as_str().len(), usize::from(parts.length));
        let kind = suite.question().kind();
        prop_assert!(challenge.as_str().chars().all(|character| kind.allows(character)));
        if kind != QuestionKind::Numeric {
            prop_assert!(challenge.as_str().chars().all(|character| character.is_ascii_hexdigit()));
        }
    }
}
