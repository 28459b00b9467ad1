//! The card's cryptogram, the reader's code and the bank's CAP decision make no heap
//! allocation. `allocation-counter` counts per thread in this test binary only.
#![cfg(feature = "emv-cap")]

use otpfob::device::Card;
use otpfob::emv::{
    Amount, CapMode, CardMasterKey, CardProfile, DataFields, Digits, IssuerMasterKey,
};
use otpfob::validator::{CapAttempt, CapState, decide_cap, decide_cap_resync};
use otpfob::{Policy, UnixTime};

fn assert_no_allocation(what: &str, work: impl FnOnce()) {
    let info = allocation_counter::measure(work);
    assert_eq!(info.count_total, 0, "{what} allocated {info:?}");
}

#[test]
fn cryptograms_codes_and_decisions_do_not_allocate() {
    let issuer = IssuerMasterKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
    let profile = CardProfile::new("4658123456789009", 1, (2030, 12)).unwrap();
    let mut card = Card::personalise(&issuer, profile, "2468").unwrap();
    let key = CardMasterKey::derive(&issuer, &profile.pan, profile.sequence);
    let modes = [
        CapMode::Identify,
        CapMode::Sign {
            challenge: Digits::challenge("12345678").unwrap(),
            amount: Some(Amount::new(2500).unwrap().in_currency(826).unwrap()),
        },
        CapMode::SignData(DataFields::parse(&["31926819", "25000"]).unwrap()),
    ];
    let policy = Policy::default();
    let state = CapState::new(0);
    for mode in &modes {
        card.verify_pin("2468").unwrap();
        let mut code = None;
        assert_no_allocation("a card's cryptogram and its code", || {
            let response = card.generate_ac(&mode.transaction_data()).unwrap();
            code = Some(
                profile
                    .bitmap
                    .code(&response, profile.flags, profile.sequence),
            );
        });
        let code = code.unwrap();
        let attempt = CapAttempt {
            mode,
            code: Some(&code),
            pin_ok: true,
        };
        assert_no_allocation("the bank's decision", || {
            let decision = decide_cap(&policy, &state, &key, &profile, &attempt, UnixTime::EPOCH);
            let _ = std::hint::black_box(decision);
        });
        assert_no_allocation("a resync", || {
            let decision = decide_cap_resync(
                &policy,
                &state,
                &key,
                &profile,
                mode,
                &code,
                &code,
                true,
                UnixTime::EPOCH,
            );
            let _ = std::hint::black_box(decision);
        });
    }
}
