//! EMV-CAP end to end: the simulated card in the simulated reader makes codes in every
//! mode, and the bank's pure decision checks them; replays, blocked cards, wrong
//! transfers, short-code throttling and resynchronisation.
#![cfg(feature = "emv-cap")]

use otpfob::device::{CapReader, Card};
use otpfob::emv::{
    Amount, CapMode, CardMasterKey, CardProfile, DataFields, Digits, IssuerMasterKey,
    IssuerProprietaryBitmap,
};
use otpfob::validator::{
    CapAttempt, CapState, SHORT_CODE_FAILURE_LIMIT, decide_cap, decide_cap_resync,
};
use otpfob::{
    Code, Device, DeviceError, Policy, RejectReason, UnixTime,
    device::{DeviceState, SerialNumber},
    validator::Verdict,
};

const PIN: &str = "2468";

fn issuer() -> IssuerMasterKey {
    IssuerMasterKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap()
}

fn profile() -> CardProfile {
    CardProfile::new("4658123456789009", 1, (2030, 12)).unwrap()
}

fn reader_with(profile: CardProfile) -> CapReader {
    let card = Card::personalise(&issuer(), profile, PIN).unwrap();
    CapReader::new(SerialNumber::new("PINSENTRY-0001").unwrap(), card)
}

/// The bank's side of one card: the key derived from the issuer master key, as at
/// enrolment.
struct Bank {
    policy: Policy,
    key: CardMasterKey,
    profile: CardProfile,
    state: CapState,
}

impl Bank {
    fn new(profile: CardProfile) -> Self {
        Self {
            policy: Policy::default(),
            key: CardMasterKey::derive(&issuer(), &profile.pan, profile.sequence),
            profile,
            state: CapState::new(0),
        }
    }

    fn check(&mut self, mode: &CapMode, code: &Code) -> Verdict {
        let attempt = CapAttempt {
            mode,
            code: Some(code),
            pin_ok: true,
        };
        let decision = decide_cap(
            &self.policy,
            &self.state,
            &self.key,
            &self.profile,
            &attempt,
            UnixTime::from_secs(1_767_225_600),
        );
        self.state = decision.state;
        decision.verdict
    }
}

fn read(reader: &mut CapReader, mode: &CapMode) -> Code {
    reader.enter_pin(PIN).unwrap();
    reader.read(mode).unwrap().code()
}

fn accepted_at(verdict: Verdict) -> u64 {
    match verdict {
        Verdict::Accepted(acceptance) => acceptance.position,
        Verdict::Rejected(reason) => panic!("rejected: {reason}"),
    }
}

fn rejected(verdict: Verdict) -> RejectReason {
    match verdict {
        Verdict::Rejected(reason) => reason,
        Verdict::Accepted(acceptance) => panic!("accepted at {}", acceptance.position),
    }
}

fn modes() -> Vec<CapMode> {
    let challenge = Digits::challenge("78901234").unwrap();
    vec![
        CapMode::Identify,
        CapMode::Respond(challenge),
        CapMode::Sign {
            challenge,
            amount: None,
        },
        CapMode::Sign {
            challenge,
            amount: Some(Amount::new(123_456).unwrap().in_currency(826).unwrap()),
        },
        CapMode::SignData(DataFields::parse(&["12345678", "123456"]).unwrap()),
    ]
}

#[test]
fn every_mode_round_trips_with_both_session_key_derivations() {
    for derivation in [
        otpfob::emv::SessionKeyDerivation::Common,
        otpfob::emv::SessionKeyDerivation::Mastercard,
    ] {
        let mut profile = profile();
        profile.derivation = derivation;
        let mut reader = reader_with(profile);
        let mut bank = Bank::new(profile);
        for (index, mode) in modes().iter().enumerate() {
            let code = read(&mut reader, mode);
            assert_eq!(code.digits(), 8);
            assert_eq!(
                accepted_at(bank.check(mode, &code)),
                index as u64 + 1,
                "{mode:?}"
            );
        }
    }
}

#[test]
fn the_device_trait_drives_identify_and_mode_3() {
    let mut reader = reader_with(profile());
    let mut bank = Bank::new(profile());
    assert!(reader.requires_pin());
    assert_eq!(reader.press().unwrap_err(), DeviceError::PinRequired);
    reader.enter_pin(PIN).unwrap();
    let login = reader.press().unwrap().code();
    assert_eq!(accepted_at(bank.check(&CapMode::Identify, &login)), 1);
    reader.enter_pin(PIN).unwrap();
    let response = reader.respond("4711").unwrap().code();
    let mode = CapMode::Respond(Digits::challenge("4711").unwrap());
    assert_eq!(accepted_at(bank.check(&mode, &response)), 2);
    reader.enter_pin(PIN).unwrap();
    assert!(matches!(
        reader.respond("123456789"),
        Err(DeviceError::Emv(_))
    ));
}

#[test]
fn a_replayed_code_is_refused_and_counts() {
    let mut reader = reader_with(profile());
    let mut bank = Bank::new(profile());
    let code = read(&mut reader, &CapMode::Identify);
    assert_eq!(accepted_at(bank.check(&CapMode::Identify, &code)), 1);
    assert_eq!(
        rejected(bank.check(&CapMode::Identify, &code)),
        RejectReason::Replayed
    );
    assert_eq!(bank.state.failures, 1);
    // An older code than the last accepted one is refused too.
    let older = read(&mut reader, &CapMode::Identify);
    let newer = read(&mut reader, &CapMode::Identify);
    assert_eq!(accepted_at(bank.check(&CapMode::Identify, &newer)), 3);
    assert_eq!(
        rejected(bank.check(&CapMode::Identify, &older)),
        RejectReason::WrongCode
    );
}

#[test]
fn unused_presses_within_the_look_ahead_are_skipped() {
    let mut reader = reader_with(profile());
    let mut bank = Bank::new(profile());
    for _ in 0..10 {
        let _ = read(&mut reader, &CapMode::Identify);
    }
    let code = read(&mut reader, &CapMode::Identify);
    // ATC 11 is ten above the expected 1: the edge of the default look-ahead.
    assert_eq!(accepted_at(bank.check(&CapMode::Identify, &code)), 11);
    for _ in 0..11 {
        let _ = read(&mut reader, &CapMode::Identify);
    }
    let beyond = read(&mut reader, &CapMode::Identify);
    assert_eq!(
        rejected(bank.check(&CapMode::Identify, &beyond)),
        RejectReason::WrongCode
    );
}

#[test]
fn a_blocked_card_refuses_everything() {
    let mut reader = reader_with(profile());
    assert_eq!(
        reader.enter_pin("1111"),
        Err(DeviceError::WrongPin { tries_left: 2 })
    );
    assert_eq!(
        reader.enter_pin("2222"),
        Err(DeviceError::WrongPin { tries_left: 1 })
    );
    // A right PIN resets the try counter.
    reader.enter_pin(PIN).unwrap();
    let _ = reader.press().unwrap();
    for tries_left in [2, 1, 0] {
        assert_eq!(
            reader.enter_pin("0000"),
            Err(DeviceError::WrongPin { tries_left })
        );
    }
    assert_eq!(reader.state(), DeviceState::Locked);
    assert!(reader.card().is_blocked());
    assert_eq!(reader.enter_pin(PIN), Err(DeviceError::Locked));
    assert_eq!(reader.press().unwrap_err(), DeviceError::Locked);
    assert_eq!(reader.respond("1234").unwrap_err(), DeviceError::Locked);
    let mut card = reader.into_card();
    assert_eq!(
        card.generate_ac(&CapMode::Identify.transaction_data())
            .unwrap_err(),
        DeviceError::Locked
    );
    assert_eq!(card.atc(), 1, "a blocked card makes no cryptogram");
}

#[test]
fn a_wrong_amount_in_mode_2_is_rejected() {
    let mut reader = reader_with(profile());
    let mut bank = Bank::new(profile());
    let signed = CapMode::SignData(DataFields::parse(&["12345678", "10000"]).unwrap());
    let code = read(&mut reader, &signed);
    let tampered = CapMode::SignData(DataFields::parse(&["12345678", "90000"]).unwrap());
    assert_eq!(
        rejected(bank.check(&tampered, &code)),
        RejectReason::WrongCode
    );
    let other_payee = CapMode::SignData(DataFields::parse(&["87654321", "10000"]).unwrap());
    assert_eq!(
        rejected(bank.check(&other_payee, &code)),
        RejectReason::WrongCode
    );
    // The transfer the customer did sign still goes through.
    assert_eq!(accepted_at(bank.check(&signed, &code)), 1);
}

#[test]
fn a_wrong_amount_in_mode_1_is_rejected_but_mode_1_without_one_signs_nothing() {
    let mut reader = reader_with(profile());
    let mut bank = Bank::new(profile());
    let challenge = Digits::challenge("31415926").unwrap();
    let signed = CapMode::Sign {
        challenge,
        amount: Some(Amount::new(10_000).unwrap().in_currency(826).unwrap()),
    };
    let code = read(&mut reader, &signed);
    let tampered = CapMode::Sign {
        challenge,
        amount: Some(Amount::new(990_000).unwrap().in_currency(826).unwrap()),
    };
    assert_eq!(
        rejected(bank.check(&tampered, &code)),
        RejectReason::WrongCode
    );
    assert_eq!(accepted_at(bank.check(&signed, &code)), 1);
    // Without an amount, the code is the same for any transfer with that challenge:
    // the weakness the module docs describe.
    let bare = CapMode::Sign {
        challenge,
        amount: None,
    };
    let code = read(&mut reader, &bare);
    assert_eq!(code, {
        let mut twin = reader_with(profile());
        let mut card = twin.clone().into_card().with_atc(1);
        card.verify_pin(PIN).unwrap();
        twin = CapReader::new(SerialNumber::new("OTHER").unwrap(), card);
        read(&mut twin, &bare)
    });
}

#[test]
fn short_codes_lock_sooner() {
    let mut short = profile();
    // 8 bits of the ATC and 12 of the cryptogram: 20 bits on the display, but only 12
    // that an attacker cannot predict.
    short.bitmap =
        IssuerProprietaryBitmap::new(&[0, 0, 0xFF, 0, 0, 0, 0, 0, 0, 0x0F, 0xFF]).unwrap();
    assert_eq!(short.cryptogram_bits(), 12);
    let mut bank = Bank::new(short);
    let wrong = Code::new(0, short.bitmap.digits()).unwrap();
    for _ in 0..SHORT_CODE_FAILURE_LIMIT {
        let _ = bank.check(&CapMode::Identify, &wrong);
    }
    let mut reader = reader_with(short);
    let right = read(&mut reader, &CapMode::Identify);
    assert_eq!(
        rejected(bank.check(&CapMode::Identify, &right)),
        RejectReason::Locked
    );
    // Barclays' bitmap keeps 17 bits of the cryptogram: short too.
    assert_eq!(profile().cryptogram_bits(), 17);
    assert_eq!(
        profile().failure_limit(&Policy::default()),
        SHORT_CODE_FAILURE_LIMIT
    );
    let mut long = profile();
    long.bitmap =
        IssuerProprietaryBitmap::new(&[0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]).unwrap();
    assert_eq!(long.failure_limit(&Policy::default()), 10);
}

#[test]
fn malformed_codes_and_wrong_server_pins_count() {
    let mut bank = Bank::new(profile());
    let six_digits = Code::parse("123456", 6).unwrap();
    assert_eq!(
        rejected(bank.check(&CapMode::Identify, &six_digits)),
        RejectReason::Malformed
    );
    let mut reader = reader_with(profile());
    let code = read(&mut reader, &CapMode::Identify);
    let attempt = CapAttempt {
        mode: &CapMode::Identify,
        code: Some(&code),
        pin_ok: false,
    };
    let decision = decide_cap(
        &bank.policy,
        &bank.state,
        &bank.key,
        &bank.profile,
        &attempt,
        UnixTime::EPOCH,
    );
    assert_eq!(decision.verdict, Verdict::Rejected(RejectReason::WrongPin));
    assert_eq!(decision.state.failures, 2);
    assert_eq!(decision.state.next_atc, 1, "a rejection spends no ATC");
}

#[test]
fn a_resync_from_two_consecutive_codes() {
    let mut reader = reader_with(profile());
    let mut bank = Bank::new(profile());
    for _ in 0..500 {
        let _ = read(&mut reader, &CapMode::Identify);
    }
    let first = read(&mut reader, &CapMode::Identify);
    let second = read(&mut reader, &CapMode::Identify);
    assert_eq!(
        rejected(bank.check(&CapMode::Identify, &second)),
        RejectReason::WrongCode
    );
    let (policy, key, card_profile) = (bank.policy, bank.key.clone(), bank.profile);
    let resync = |state: &CapState, first: &Code, second: &Code| {
        decide_cap_resync(
            &policy,
            state,
            &key,
            &card_profile,
            &CapMode::Identify,
            first,
            second,
            true,
            UnixTime::EPOCH,
        )
    };
    // Out of order, or not consecutive: refused.
    assert_eq!(
        resync(&bank.state, &second, &first).verdict,
        Verdict::Rejected(RejectReason::ResyncFailed)
    );
    let decision = resync(&bank.state, &first, &second);
    assert_eq!(accepted_at(decision.verdict), 502);
    assert_eq!(decision.state.next_atc, 503);
    assert_eq!(decision.state.failures, 0);
    bank.state = decision.state;
    let next = read(&mut reader, &CapMode::Identify);
    assert_eq!(accepted_at(bank.check(&CapMode::Identify, &next)), 503);
    // The pair cannot be used again.
    assert_eq!(
        resync(&bank.state, &first, &second).verdict,
        Verdict::Rejected(RejectReason::ResyncFailed)
    );
}

#[test]
fn the_end_of_the_counter() {
    let card = Card::personalise(&issuer(), profile(), PIN)
        .unwrap()
        .with_atc(u16::MAX);
    let mut reader = CapReader::new(SerialNumber::new("R").unwrap(), card);
    reader.enter_pin(PIN).unwrap();
    assert!(matches!(
        reader.press(),
        Err(DeviceError::Emv(otpfob::emv::EmvError::CounterExhausted))
    ));
    let mut bank = Bank::new(profile());
    bank.state.next_atc = otpfob::validator::ATC_END;
    let code = Code::parse("00000000", 8).unwrap();
    assert_eq!(
        rejected(bank.check(&CapMode::Identify, &code)),
        RejectReason::CounterExhausted
    );
    assert_eq!(bank.state.failures, 0);
}

#[test]
fn secrets_stay_out_of_debug() {
    let reader = reader_with(profile());
    let text = format!("{reader:?} {:?} {:?}", issuer(), Bank::new(profile()).key);
    assert!(
        !text.contains("0123456789") && !text.contains(PIN),
        "{text}"
    );
    assert!(text.contains("REDACTED"));
    assert!(!format!("{:?}", profile()).contains("4658123456"));
}

// The card through the bank's `Validator`, on every store: enrolment from the issuer
// master key, the record (card, sealed card key, MAC) written and read back by the
// store, each verification a compare-and-swap with its audit row.

mod through_the_validator {
    use super::*;
    use otpfob::emv::CapModes;
    use otpfob::validator::CapCard;
    use otpfob::validator::{CapEnrolment, Operation, Outcome, Store, Swap, TokenKind};
    use otpfob::{
        Enrolment, HotpParameters, Keyring, ManualClock, SealingKey, Secret, TokenId, Validator,
    };

    /// 2026-01-01T00:00:00Z; the card expires at the end of December 2030.
    const NOW: i64 = 1_767_225_600;

    pub(super) struct Setup<S: Store> {
        pub(super) bank: Validator<S, ManualClock>,
        pub(super) clock: ManualClock,
        pub(super) id: TokenId,
        pub(super) reader: CapReader,
    }

    pub(super) fn setup<S: Store>(store: S, modes: CapModes) -> Setup<S> {
        let clock = ManualClock::at_secs(NOW);
        let keyring = Keyring::new(SealingKey::new(1, &[9; 32]).unwrap());
        let bank = Validator::new(store, clock.clone(), keyring);
        let id = TokenId::new("card:9009-01").unwrap();
        bank.enrol_cap(CapEnrolment {
            id: id.clone(),
            issuer_key: &issuer(),
            card: CapCard::new(profile(), modes, 0),
            pin: None,
        })
        .unwrap();
        Setup {
            bank,
            clock,
            id,
            reader: reader_with(profile()),
        }
    }

    impl<S: Store> Setup<S> {
        pub(super) fn type_code(&mut self, mode: &CapMode) -> String {
            read(&mut self.reader, mode).to_string()
        }

        pub(super) fn verify(&self, mode: &CapMode, code: &str) -> Result<u64, RejectReason> {
            self.bank
                .verify_cap(&self.id, mode, code, None)
                .map(|acceptance| acceptance.position)
                .map_err(|rejected| rejected.reason())
        }

        pub(super) fn next_atc(&self) -> u32 {
            match self.bank.state(&self.id).unwrap().unwrap().kind {
                TokenKind::Cap(card) => card.next_atc,
                other => panic!("not a card: {other:?}"),
            }
        }

        pub(super) fn failures(&self) -> u32 {
            self.bank.state(&self.id).unwrap().unwrap().failures
        }

        /// The reasons of the audit trail's rejections, oldest first.
        pub(super) fn audited_rejections(&self) -> Vec<RejectReason> {
            self.bank
                .store()
                .audit_trail(&self.id, 100)
                .unwrap()
                .into_iter()
                .filter_map(|event| match event.outcome {
                    Outcome::Rejected(reason) => Some(reason),
                    _ => None,
                })
                .collect()
        }
    }

    pub(super) fn every_mode_round_trips<S: Store>(store: S) {
        let mut setup = setup(store, CapModes::ALL);
        for (index, mode) in modes().iter().enumerate() {
            let code = setup.type_code(mode);
            assert_eq!(setup.verify(mode, &code), Ok(index as u64 + 1), "{mode:?}");
        }
        assert_eq!(setup.next_atc(), 6);
        let trail = setup.bank.store().audit_trail(&setup.id, 10).unwrap();
        assert_eq!(trail[0].operation, Operation::Enrol);
        assert!(
            trail[1..]
                .iter()
                .all(|event| event.outcome == Outcome::Accepted)
        );
        assert_eq!(trail.len(), 1 + modes().len());
    }

    pub(super) fn a_replayed_atc_is_refused<S: Store>(store: S) {
        let mut setup = setup(store, CapModes::IDENTIFY);
        let code = setup.type_code(&CapMode::Identify);
        assert_eq!(setup.verify(&CapMode::Identify, &code), Ok(1));
        assert_eq!(
            setup.verify(&CapMode::Identify, &code),
            Err(RejectReason::Replayed)
        );
        assert_eq!(setup.failures(), 1);
        assert_eq!(setup.next_atc(), 2, "a rejection spends nothing");
        assert_eq!(setup.audited_rejections(), [RejectReason::Replayed]);
    }

    pub(super) fn locked_after_failures<S: Store>(store: S) {
        let mut setup = setup(store, CapModes::IDENTIFY);
        // Barclays' bitmap keeps 17 bits of the cryptogram: the short-code limit holds.
        for _ in 0..SHORT_CODE_FAILURE_LIMIT {
            assert_eq!(
                setup.verify(&CapMode::Identify, "12345678"),
                Err(RejectReason::WrongCode)
            );
        }
        let right = setup.type_code(&CapMode::Identify);
        assert_eq!(
            setup.verify(&CapMode::Identify, &right),
            Err(RejectReason::Locked)
        );
        setup.bank.unlock(&setup.id).unwrap();
        assert_eq!(setup.verify(&CapMode::Identify, &right), Ok(1));
    }

    pub(super) fn a_wrong_amount_in_mode_2_is_rejected<S: Store>(store: S) {
        let mut setup = setup(store, CapModes::SIGN_DATA);
        let signed = CapMode::SignData(DataFields::parse(&["31926819", "25000"]).unwrap());
        let code = setup.type_code(&signed);
        let raised = CapMode::SignData(DataFields::parse(&["31926819", "95000"]).unwrap());
        assert_eq!(setup.verify(&raised, &code), Err(RejectReason::WrongCode));
        assert_eq!(setup.verify(&signed, &code), Ok(1));
        // A mode the card is not enrolled for is refused, and counts nothing.
        let login = setup.type_code(&CapMode::Identify);
        assert_eq!(
            setup.verify(&CapMode::Identify, &login),
            Err(RejectReason::ModeNotAllowed)
        );
        assert_eq!(setup.failures(), 0);
    }

    pub(super) fn a_resync_from_two_consecutive_codes<S: Store>(store: S) {
        let mut setup = setup(store, CapModes::IDENTIFY);
        // The card paid in shops: its ATC moved 100 past the bank's look-ahead of 20.
        for _ in 0..100 {
            let _ = setup.type_code(&CapMode::Identify);
        }
        let lost = setup.type_code(&CapMode::Identify);
        assert_eq!(
            setup.verify(&CapMode::Identify, &lost),
            Err(RejectReason::WrongCode)
        );
        let first = setup.type_code(&CapMode::Identify);
        let second = setup.type_code(&CapMode::Identify);
        let resync = |first: &str, second: &str| {
            setup
                .bank
                .resync_cap(&setup.id, &CapMode::Identify, first, second, None)
                .map(|acceptance| acceptance.position)
                .map_err(|rejected| rejected.reason())
        };
        assert_eq!(resync(&second, &first), Err(RejectReason::ResyncFailed));
        assert_eq!(resync(&first, &second), Ok(103));
        assert_eq!(resync(&first, &second), Err(RejectReason::ResyncFailed));
        assert_eq!(setup.next_atc(), 104);
        let next = setup.type_code(&CapMode::Identify);
        assert_eq!(setup.verify(&CapMode::Identify, &next), Ok(104));
    }

    /// A row edited in the store (the ATC moved back so that a spent code is unspent
    /// again) keeps its old MAC, which no longer matches: the validator refuses every
    /// code on it, the replayed one included.
    pub(super) fn a_tampered_cap_row_is_refused<S: Store>(store: S) {
        let mut setup = setup(store, CapModes::IDENTIFY);
        let code = setup.type_code(&CapMode::Identify);
        assert_eq!(setup.verify(&CapMode::Identify, &code), Ok(1));
        let store = setup.bank.store();
        let record = store.load(&setup.id).unwrap().unwrap();
        let mut edited = record.clone();
        let TokenKind::Cap(card) = &mut edited.state.kind else {
            panic!("not a card")
        };
        // Only the ATC changes, as an UPDATE of its one column would: the MAC must
        // cover the card's fields to notice.
        card.next_atc = 1;
        let audit = store.audit_trail(&setup.id, 1).unwrap().remove(0);
        assert_eq!(
            store
                .compare_and_swap(&edited, record.version, &audit)
                .unwrap(),
            Swap::Swapped
        );
        assert_eq!(
            setup.verify(&CapMode::Identify, &code),
            Err(RejectReason::RecordTampered)
        );
        let next = setup.type_code(&CapMode::Identify);
        assert_eq!(
            setup.verify(&CapMode::Identify, &next),
            Err(RejectReason::RecordTampered)
        );
    }

    /// The card is valid through December 2030; from the first second of 2031 its
    /// codes are refused, the reason audited, no failure counted.
    pub(super) fn an_expired_card_is_refused<S: Store>(store: S) {
        let mut setup = setup(store, CapModes::IDENTIFY);
        let code = setup.type_code(&CapMode::Identify);
        // 2030-12-31T23:59:59Z, then 2031-01-01T00:00:00Z.
        setup.clock.set(UnixTime::from_secs(1_924_991_999));
        assert_eq!(setup.verify(&CapMode::Identify, &code), Ok(1));
        let later = setup.type_code(&CapMode::Identify);
        setup.clock.set(UnixTime::from_secs(1_924_992_000));
        assert_eq!(
            setup.verify(&CapMode::Identify, &later),
            Err(RejectReason::CardExpired)
        );
        assert_eq!(setup.failures(), 0);
        assert_eq!(setup.audited_rejections(), [RejectReason::CardExpired]);
    }

    /// A card's codes go through `verify_cap` only, and a fob's through `verify`.
    pub(super) fn kinds_are_not_mixed<S: Store>(store: S) {
        let mut setup = setup(store, CapModes::IDENTIFY);
        let code = setup.type_code(&CapMode::Identify);
        assert_eq!(
            setup
                .bank
                .verify(&setup.id, &code, None)
                .unwrap_err()
                .reason(),
            RejectReason::WrongKind
        );
        let fob = TokenId::new("FOB-1").unwrap();
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        setup
            .bank
            .enrol(Enrolment::new(
                fob.clone(),
                secret,
                HotpParameters::default(),
            ))
            .unwrap();
        assert_eq!(
            setup
                .bank
                .verify_cap(&fob, &CapMode::Identify, "12345678", None)
                .unwrap_err()
                .reason(),
            RejectReason::WrongKind
        );
        // A card comes in only through `enrol_cap`, which derives its card key: the
        // one `Enrolment` describes OTP tokens, so no card can be enrolled with
        // another key.
        assert_eq!(setup.verify(&CapMode::Identify, &code), Ok(1));
    }
}

macro_rules! validator_on_every_store {
    ($($store:ident => $make:expr;)*) => {$(
        mod $store {
            use super::through_the_validator as suite;
            #[test]
            fn every_mode_round_trips() { suite::every_mode_round_trips($make); }
            #[test]
            fn a_replayed_atc_is_refused() { suite::a_replayed_atc_is_refused($make); }
            #[test]
            fn locked_after_failures() { suite::locked_after_failures($make); }
            #[test]
            fn a_wrong_amount_in_mode_2_is_rejected() { suite::a_wrong_amount_in_mode_2_is_rejected($make); }
            #[test]
            fn a_resync_from_two_consecutive_codes() { suite::a_resync_from_two_consecutive_codes($make); }
            #[test]
            fn a_tampered_cap_row_is_refused() { suite::a_tampered_cap_row_is_refused($make); }
            #[test]
            fn an_expired_card_is_refused() { suite::an_expired_card_is_refused($make); }
            #[test]
            fn kinds_are_not_mixed() { suite::kinds_are_not_mixed($make); }
        }
    )*};
}

#[cfg(feature = "postgres")]
mod pg_support;

#[cfg(feature = "sqlite")]
fn sqlite_store() -> otpfob::SqliteStore {
    // The directory must outlive the store; leaking it keeps the file for the test.
    let directory = tempfile::tempdir().unwrap().keep();
    otpfob::SqliteStore::open(directory.join("tokens.db")).unwrap()
}

validator_on_every_store! {
    memory_store => otpfob::MemoryStore::new();
}

#[cfg(feature = "sqlite")]
validator_on_every_store! {
    sqlite_store => super::sqlite_store();
}

#[cfg(feature = "postgres")]
validator_on_every_store! {
    postgres_store => super::pg_support::store("emv_cap");
}
