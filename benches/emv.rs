//! EMV-CAP costs: one card cryptogram and its code (two Triple DES blocks for the
//! session key, a five-block retail MAC), and the bank's decision over the default
//! look-ahead (11 ATCs and the last accepted one, each a cryptogram).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use otpfob::emv::{
    CapAttempt, CapMode, CapState, Card, CardMasterKey, CardProfile, IssuerMasterKey, decide_cap,
};
use otpfob::{Policy, UnixTime};

fn cap(criterion: &mut Criterion) {
    let issuer = IssuerMasterKey::from_hex("0123456789ABCDEFFEDCBA9876543210").expect("hex key");
    let profile = CardProfile::new("4658123456789009", 1, (2030, 12)).expect("profile");
    let key = CardMasterKey::derive(&issuer, &profile.pan, profile.sequence);
    let mut card = Card::personalise(&issuer, profile, "2468").expect("card");
    let data = CapMode::Identify.transaction_data();
    let mut group = criterion.benchmark_group("emv_cap");
    group.bench_function("card_cryptogram_and_code", |bencher| {
        bencher.iter(|| {
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

criterion_group!(benches, cap);
criterion_main!(benches);
