//! Issue 16, item 5: the cost of one verification by where the keys are, in one run:
//! the software keyring (the seed opened in memory at every request, and with the
//! generator cache), the sealing key in SoftHSM2 (opened per request, record MACs in
//! the token), and strict mode (every HMAC of the window computed by the token).
//!
//! Needs the token of `scripts/with-softhsm`:
//!
//! ```text
//! bash scripts/with-softhsm cargo bench --features pkcs11 --bench keyring -- --warm-up-time 1 --measurement-time 3
//! ```

use std::cell::Cell;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

use otpfob::validator::pkcs11::{PinSource, Pkcs11Config, Pkcs11Key, TokenSelector};
use otpfob::{
    Enrolment, Hotp, HotpParameters, Keyring, ManualClock, MemoryStore, SealingKey, Secret,
    TokenId, Validator,
};

fn secret() -> Secret {
    Secret::from_bytes(b"12345678901234567890").expect("non-empty key")
}

fn required(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} is not set: run the benchmark inside `bash scripts/with-softhsm`")
    })
}

fn hsm_key(key_id: u32, label: &str) -> Pkcs11Key {
    let config = Pkcs11Config::new(
        required("OTPFOB_PKCS11_MODULE"),
        TokenSelector::Label(required("OTPFOB_PKCS11_TOKEN")),
        format!("{label}-{}", std::process::id()),
        PinSource::File(required("OTPFOB_PKCS11_PIN_FILE").into()),
    );
    Pkcs11Key::generate(key_id, &config).expect("a key in the SoftHSM2 token")
}

/// Benchmarks verifying the next HOTP code of one token (look-ahead 10, the default:
/// eleven codes computed per verification), the code made outside the timing.
fn bench_verifications(criterion: &mut Criterion, name: &str, keyring: Keyring, cache: usize) {
    let validator = Validator::new(
        MemoryStore::new(),
        ManualClock::at_secs(1_700_000_000),
        keyring,
    )
    .with_generator_cache(cache);
    let id = TokenId::new("BENCH-1").expect("valid id");
    validator
        .enrol(Enrolment::new(
            id.clone(),
            secret(),
            HotpParameters::default(),
        ))
        .expect("enrolled");
    let reference = Hotp::new(&secret(), HotpParameters::default()).expect("valid");
    let counter = Cell::new(0u64);
    criterion.bench_function(name, |bencher| {
        bencher.iter_batched(
            || {
                let code = reference.at(counter.get()).to_string();
                counter.set(counter.get() + 1);
                code
            },
            |code| {
                validator
                    .verify(&id, &code, None)
                    .expect("the next code verifies")
            },
            BatchSize::SmallInput,
        );
    });
}

fn keyring(criterion: &mut Criterion) {
    bench_verifications(
        criterion,
        "verify/software_cached",
        Keyring::new(SealingKey::generate(1).expect("random key")),
        otpfob::validator::DEFAULT_GENERATOR_CACHE,
    );
    bench_verifications(
        criterion,
        "verify/software_open_per_request",
        Keyring::new(SealingKey::generate(1).expect("random key")),
        0,
    );
    bench_verifications(
        criterion,
        "verify/softhsm_open_per_request",
        Keyring::new(hsm_key(1, "bench-open")),
        0,
    );
    let strict = Arc::new(hsm_key(1, "bench-strict"));
    bench_verifications(
        criterion,
        "verify/softhsm_strict",
        Keyring::new(Arc::clone(&strict)).with_token_keys(strict),
        0,
    );
}

criterion_group!(benches, keyring);
criterion_main!(benches);
