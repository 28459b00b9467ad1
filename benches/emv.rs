//! EMV-CAP costs: one card cryptogram and its code (two Triple DES blocks for the
//! session key, a five-block retail MAC), the bank's pure decision over the policy's
//! look-ahead (11 ATCs and the last accepted one, each a cryptogram), and a whole
//! verification through the `Validator` over the memory store (load, MAC check,
//! unseal, decide over the card's look-ahead of 20, compare-and-swap, audit) beside an
//! HOTP verification through the same validator.

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use otpfob::device::Card;
use otpfob::emv::{
    CapMode, CapModes, CardMasterKey, CardProfile, IssuerMasterKey, IssuerProprietaryBitmap,
};
use otpfob::validator::CapEnrolment;
use otpfob::validator::{CapAttempt, CapCard, CapState, decide_cap};
use otpfob::{
    Enrolment, Hotp, HotpParameters, Keyring, ManualClock, MemoryStore, Policy, SealingKey, Secret,
    TokenId, UnixTime, Validator,
};

fn cap(criterion: &mut Criterion) {
    let issuer = IssuerMasterKey::from_hex("0123456789ABCDEFFEDCBA9876543210").expect("hex key");
    let profile = CardProfile::new("4658123456789009", 1, (2030, 12)).expect("profile");
    let key = CardMasterKey::derive(&issuer, &profile.pan, profile.sequence);
    let mut card = Card::personalise(&issuer, profile, "2468").expect("card");
    let data = CapMode::Identify.transaction_data();
    let mut group = criterion.benchmark_group("emv_cap");
    group.bench_function("card_cryptogram_and_code", |bencher| {
        bencher.iter(|| {
            // A card makes 65 535 cryptograms in its life, fewer than criterion asks
            // for: start its counter again (once per 65 535 iterations).
            if card.atc() == u16::MAX {
                card = card.clone().with_atc(0);
            }
            card.verify_pin("2468").expect("right PIN");
            let response = card.generate_ac(black_box(&data)).expect("cryptogram");
            profile
                .bitmap
                .code(&response, profile.flags, profile.sequence)
        })
    });
    let mut fresh = Card::personalise(&issuer, profile, "2468").expect("card");
    fresh.verify_pin("2468").expect("right PIN");
    let response = fresh.generate_ac(&data).expect("cryptogram");
    let code = profile
        .bitmap
        .code(&response, profile.flags, profile.sequence);
    let policy = Policy::default();
    let state = CapState::new(0);
    group.bench_function("decide_cap_look_ahead_10", |bencher| {
        bencher.iter(|| {
            let attempt = CapAttempt {
                mode: &CapMode::Identify,
                code: Some(black_box(&code)),
                pin_ok: true,
            };
            decide_cap(&policy, &state, &key, &profile, &attempt, UnixTime::EPOCH)
        })
    });
    group.finish();
}

/// One accepted code per iteration, through the validator, for a CAP card and for an
/// HOTP token, in the same run. Codes are made before the clock starts.
fn through_the_validator(criterion: &mut Criterion) {
    let issuer = IssuerMasterKey::from_hex("0123456789ABCDEFFEDCBA9876543210").expect("hex key");
    let mut profile = CardProfile::new("4658123456789009", 1, (2030, 12)).expect("profile");
    // 32 bits of the cryptogram, so the policy's failure limit holds (a short code
    // would lock at 3), and the same 20-counter look-ahead work either way.
    profile.bitmap =
        IssuerProprietaryBitmap::new(&[0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]).expect("bitmap");
    let clock = ManualClock::at_secs(1_767_225_600);
    let validator = Validator::new(
        MemoryStore::new(),
        clock,
        Keyring::new(SealingKey::new(1, &[1; 32]).expect("32 bytes")),
    );
    let mut group = criterion.benchmark_group("verify_memory");
    let cards = AtomicU32::new(0);
    group.bench_function("cap_identify_accept", |bencher| {
        bencher.iter_custom(|iterations| {
            // A fresh card per batch: its 16-bit ATC would run out over a long run.
            let id = TokenId::new(format!("card-{}", cards.fetch_add(1, Ordering::Relaxed)))
                .expect("valid id");
            validator
                .enrol_cap(CapEnrolment {
                    id: id.clone(),
                    issuer_key: &issuer,
                    card: CapCard::new(profile, CapModes::IDENTIFY, 0),
                    pin: None,
                })
                .expect("enrolled");
            let mut card = Card::personalise(&issuer, profile, "2468").expect("card");
            let count = iterations.min(60_000);
            let codes: Vec<String> = (0..count)
                .map(|_| {
                    card.verify_pin("2468").expect("right PIN");
                    let response = card
                        .generate_ac(&CapMode::Identify.transaction_data())
                        .expect("cryptogram");
                    profile
                        .bitmap
                        .code(&response, profile.flags, profile.sequence)
                        .to_string()
                })
                .collect();
            let started = Instant::now();
            for code in &codes {
                let accepted = validator.verify_cap(&id, &CapMode::Identify, code, None);
                assert!(accepted.is_ok(), "a fresh code was rejected: {accepted:?}");
            }
            // Scaled to the iterations asked for, should a batch ever exceed the ATC.
            scale(started.elapsed(), count, iterations)
        })
    });
    let secret = Secret::from_bytes(b"12345678901234567890").expect("secret");
    let hotp_id = TokenId::new("fob").expect("valid id");
    validator
        .enrol(Enrolment::new(
            hotp_id.clone(),
            secret.clone(),
            HotpParameters::default(),
        ))
        .expect("enrolled");
    let hotp = Hotp::new(&secret, HotpParameters::default()).expect("parameters");
    let mut counter = 0u64;
    group.bench_function("hotp_accept", |bencher| {
        bencher.iter_custom(|iterations| {
            let codes: Vec<String> = (0..iterations)
                .map(|_| {
                    counter += 1;
                    hotp.at(counter - 1).to_string()
                })
                .collect();
            let started = Instant::now();
            for code in &codes {
                let accepted = validator.verify(&hotp_id, code, None);
                assert!(accepted.is_ok(), "a fresh code was rejected: {accepted:?}");
            }
            started.elapsed()
        })
    });
    group.finish();
}

fn scale(elapsed: Duration, done: u64, asked: u64) -> Duration {
    if done == asked || done == 0 {
        return elapsed;
    }
    elapsed.mul_f64(asked as f64 / done as f64)
}

criterion_group!(benches, cap, through_the_validator);
criterion_main!(benches);
