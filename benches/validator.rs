//! The validator's cost: the pure decision beside the HMAC work it must do, and whole
//! verifications through the memory and SQLite stores.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use std::cell::Cell;

use otpfob::{
    Code, Enrolment, Hotp, HotpParameters, Keyring, ManualClock, MemoryStore, Policy, SealingKey,
    Secret, TimeSource, TokenId, Totp, TotpParameters, UnixTime, Validator, Window,
    ocra::{Currency, Ocra, OcraInput, OcraSuite, Transaction},
    validator::{
        ChallengeSlot, IssuedChallenge, OcraAttempt, OcraEnrolment, OcraState, Store, TokenKind,
        TokenState, decide, decide_ocra,
    },
};

const NOW: i64 = 1_767_225_600;

fn secret() -> Secret {
    Secret::from_bytes(b"12345678901234567890").expect("non-empty key")
}

fn wrong_code(totp: &Totp) -> Code {
    (0..1_000_000u32)
        .map(|value| Code::new(value, 6).expect("six digits"))
        .find(|code| totp.verify(code, NOW as u64, Window::symmetric(1)).is_err())
        .expect("a code outside the window")
}

fn decision(criterion: &mut Criterion) {
    let totp = Totp::new(&secret(), TotpParameters::default()).expect("valid parameters");
    let generator = Hotp::new(&secret(), HotpParameters::default()).expect("valid parameters");
    let now = UnixTime::from_secs(NOW);
    // Used every day: the window is ±1 step, three codes.
    let state = TokenState::new(TokenKind::time(TotpParameters::default(), now));
    let policy = Policy::default();
    let right = totp.at(NOW as u64).expect("after T0");
    let wrong = wrong_code(&totp);

    let mut group = criterion.benchmark_group("decision");
    group.bench_function("hmac_work_3_codes", |bencher| {
        bencher.iter(|| {
            totp.verify(
                black_box(&wrong),
                black_box(NOW as u64),
                Window::symmetric(1),
            )
        })
    });
    group.bench_function("decide_accept", |bencher| {
        bencher.iter(|| {
            decide(
                &policy,
                black_box(&state),
                &generator,
                black_box(&right),
                true,
                now,
            )
        })
    });
    group.bench_function("decide_reject", |bencher| {
        bencher.iter(|| {
            decide(
                &policy,
                black_box(&state),
                &generator,
                black_box(&wrong),
                true,
                now,
            )
        })
    });
    group.finish();
}

/// A validator with one time token enrolled, its clock, and the token's generator.
fn validator_over<S: Store>(store: S) -> (Validator<S, ManualClock>, ManualClock, TokenId, Totp) {
    let clock = ManualClock::at_secs(NOW);
    let keyring = Keyring::new(SealingKey::new(1, &[1; 32]).expect("32 bytes"));
    // Failures never lock here, so the reject path can be measured for as long as
    // criterion likes; every rejection still writes its failure count.
    let policy = {
        let mut policy = Policy::default();
        policy.failure_limit = u32::MAX;
        policy
    };
    let validator = Validator::new(store, clock.clone(), keyring)
        .with_policy(policy)
        .expect("valid policy");
    let id = TokenId::new("bench").expect("valid id");
    validator
        .enrol(Enrolment::new(
            id.clone(),
            secret(),
            TotpParameters::default(),
        ))
        .expect("enrolled");
    let totp = Totp::new(&secret(), TotpParameters::default()).expect("valid parameters");
    (validator, clock, id, totp)
}

fn verify_through<S: Store>(criterion: &mut Criterion, name: &str, store: S) {
    let (validator, clock, id, totp) = validator_over(store);
    let mut group = criterion.benchmark_group(format!("verify_{name}"));
    group.bench_function("accept", |bencher| {
        bencher.iter_custom(|iterations| {
            // A fresh step for every acceptance (the same code twice is a replay),
            // computed before the clock starts.
            // Kept inline and in order (no string per login), so reading them back
            // costs the loop nothing that a bank's request would not.
            let logins: Vec<(UnixTime, [u8; 6])> = (0..iterations)
                .map(|_| {
                    clock.advance(Duration::from_secs(30));
                    let code = totp.now(&clock).expect("after T0").to_string();
                    let mut digits = [0u8; 6];
                    digits.copy_from_slice(code.as_bytes());
                    (clock.now(), digits)
                })
                .collect();
            let started = Instant::now();
            for (time, digits) in &logins {
                clock.set(*time);
                let code = std::str::from_utf8(digits).expect("ASCII digits");
                let accepted = validator.verify(&id, code, None);
                assert!(accepted.is_ok(), "a fresh code was rejected: {accepted:?}");
            }
            started.elapsed()
        })
    });
    let wrong = wrong_code(&totp).to_string();
    clock.set(UnixTime::from_secs(NOW));
    group.bench_function("reject", |bencher| {
        bencher.iter(|| validator.verify(&id, black_box(&wrong), None))
    });
    group.finish();
}

fn memory_store(criterion: &mut Criterion) {
    verify_through(criterion, "memory", MemoryStore::new());
}

#[cfg(feature = "sqlite")]
fn sqlite_store(criterion: &mut Criterion) {
    let directory = std::env::temp_dir().join(format!("otpfob-bench-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temporary directory");
    let store = otpfob::SqliteStore::open(directory.join("bench.db")).expect("opened");
    verify_through(criterion, "sqlite", store);
    let _ = std::fs::remove_dir_all(&directory);
}

#[cfg(not(feature = "sqlite"))]
fn sqlite_store(_: &mut Criterion) {}

const SIGNING_SUITE: &str = "OCRA-1:HOTP-SHA256-8:C-QN08";

/// OCRA transaction signing: the pure decision over a look-ahead of 10 counters, and a
/// whole signing round (issue the challenge, sign as the fob would, verify) through the
/// memory store.
fn ocra_signing(criterion: &mut Criterion) {
    let suite: OcraSuite = SIGNING_SUITE.parse().expect("valid suite");
    let ocra = Ocra::new(&secret(), suite);
    let now = UnixTime::from_secs(NOW);
    let transfer = Transaction::new(
        125_000,
        Currency::new("EUR").expect("currency"),
        "DE89370400440532013000",
        None,
    )
    .expect("transfer");
    let challenge =
        transfer.signature_challenge(&suite, &otpfob::ocra::SigningNonce::from_bytes([1; 16]));
    let mut keypad = OcraState::new(suite, 0, now);
    keypad.challenge = ChallengeSlot::Open(IssuedChallenge {
        challenge,
        expires_at: now.plus(Duration::from_secs(300)),
        transaction: None,
    });
    let mut state = TokenState::new(TokenKind::time(TotpParameters::default(), now));
    state.ocra = Some(Box::new(keypad));
    let response = ocra
        .sign(
            challenge.as_str(),
            &OcraInput {
                counter: Some(0),
                ..OcraInput::default()
            },
        )
        .expect("signed");
    let attempt = OcraAttempt {
        response: Some(&response),
        transaction: None,
        pin_hash: None,
        pin_ok: true,
    };
    let policy = Policy::default();
    let mut group = criterion.benchmark_group("ocra_signing");
    group.bench_function("decide_ocra_accept", |bencher| {
        bencher.iter(|| decide_ocra(&policy, black_box(&state), &ocra, &attempt, now))
    });

    let clock = ManualClock::at_secs(NOW);
    let keyring = Keyring::new(SealingKey::new(1, &[1; 32]).expect("32 bytes"));
    let validator = Validator::new(MemoryStore::new(), clock.clone(), keyring);
    let id = TokenId::new("bench-keypad").expect("valid id");
    validator
        .enrol(
            Enrolment::new(id.clone(), secret(), TotpParameters::default())
                .with_ocra(OcraEnrolment::new(suite)),
        )
        .expect("enrolled");
    let counter = Cell::new(0u64);
    group.bench_function("issue_sign_verify_memory", |bencher| {
        bencher.iter(|| {
            let issued = validator
                .issue_signature_challenge(&id, &transfer)
                .expect("issued");
            let input = OcraInput {
                counter: Some(counter.replace(counter.get() + 1)),
                ..OcraInput::default()
            };
            let signature = ocra
                .sign(issued.challenge.as_str(), &input)
                .expect("signed")
                .to_string();
            validator
                .verify_signature(&id, &transfer, &signature, None)
                .expect("accepted")
        })
    });
    group.finish();
}

criterion_group!(benches, decision, memory_store, sqlite_store, ocra_signing);
criterion_main!(benches);
