//! The validator's cost: the pure decision beside the HMAC work it must do, and whole
//! verifications through the memory and SQLite stores.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use otpfob::{
    Code, Enrolment, Hotp, HotpParameters, Keyring, ManualClock, MemoryStore, Policy, SealingKey,
    Secret, Store, TimeSource, TokenId, TokenKind, TokenState, Totp, TotpParameters, UnixTime,
    Validator, Window, decide,
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
    let policy = Policy {
        failure_limit: u32::MAX,
        ..Policy::default()
    };
    let validator = Validator::new(store, clock.clone(), keyring)
        .with_policy(policy)
        .expect("valid policy");
    let id = TokenId::new("bench").expect("valid id");
    validator
        .enrol(Enrolment {
            id: id.clone(),
            secret: &secret(),
            kind: TokenKind::time(TotpParameters::default(), clock.now()),
            pin: None,
        })
        .expect("enrolled");
    let totp = Totp::new(&secret(), TotpParameters::default()).expect("valid parameters");
    (validator, clock, id, totp)
}

fn verify_through<S: Store>(criterion: &mut Criterion, name: &str, store: S) {
    let (validator, clock, id, totp) = validator_over(store);
    let mut group = criterion.benchmark_group(format!("verify_{name}"));
    group.bench_function("accept", |bencher| {
        bencher.iter_batched(
            || {
                // A fresh step for every acceptance; the same code twice is a replay.
                clock.advance(Duration::from_secs(30));
                totp.now(&clock).expect("after T0").to_string()
            },
            |code| validator.verify(&id, &code, None),
            BatchSize::SmallInput,
        )
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

criterion_group!(benches, decision, memory_store, sqlite_store);
criterion_main!(benches);
