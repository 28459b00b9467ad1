//! Issue 15, item 6: sign mode on a keypad fob (PSD2 RTS Art. 5, what you see is what
//! you sign). The customer types the payee's account digits and the amount into the
//! fob, which signs what was typed; the bank recomputes the question from the
//! transfer it is about to execute.

use std::time::Duration;

use otpfob::{
    Device, Enrolment, KeyFob, Keyring, ManualClock, MemoryStore, Policy, RejectReason, SealingKey,
    TokenId, TotpParameters, Validator,
    ocra::{Currency, SignedFields, Transaction},
    validator::SIGN_MODE_MAX_LIFETIME,
};

const START: i64 = 1_767_261_600;
const PIN: &str = "4821";
const SUITE: &str = "OCRA-1:HOTP-SHA256-8:C-QN20-PSHA1";

struct Bank {
    world: ManualClock,
    fob: KeyFob<ManualClock>,
    bank: Validator<MemoryStore, ManualClock>,
    id: TokenId,
}

fn bank_with(policy: Policy) -> Bank {
    let world = ManualClock::at_secs(START);
    let (fob, record) = KeyFob::builder("FOB-SIGN-1", TotpParameters::default())
        .pin(PIN)
        .ocra(SUITE.parse().unwrap())
        .build(world.clone())
        .unwrap();
    let bank = Validator::new(
        MemoryStore::new(),
        world.clone(),
        Keyring::new(SealingKey::generate(1).unwrap()),
    )
    .with_policy(policy)
    .unwrap();
    let id = bank.enrol(Enrolment::from(&record)).unwrap();
    Bank {
        world,
        fob,
        bank,
        id,
    }
}

fn bank() -> Bank {
    bank_with(Policy::default())
}

impl Bank {
    /// The customer types `fields` into the fob after its PIN; the fob's signature.
    fn sign(&mut self, fields: &SignedFields) -> (String, String) {
        self.fob.enter_pin(PIN).unwrap();
        let (shown, reading) = self.fob.sign(fields).unwrap();
        (shown, reading.code().to_string())
    }
}

fn euro(amount_minor: u64, account: &str) -> Transaction {
    Transaction::new(amount_minor, Currency::new("EUR").unwrap(), account, None).unwrap()
}

#[test]
fn the_fob_shows_what_was_typed_and_the_bank_accepts_the_same_transfer() {
    let mut bank = bank();
    let rent = euro(98_000, "DE02 1203 0000 0000 2020 51");
    let typed = SignedFields::transfer("DE02 1203 0000 0000 2020 51", 98_000).unwrap();
    let (shown, signature) = bank.sign(&typed);
    assert_eq!(shown, "PAYEE 00202051 AMOUNT 980.00");
    let _opened = bank
        .bank
        .issue_sign_mode(&bank.id, &SignedFields::of_transaction(&rent).unwrap())
        .unwrap();
    bank.bank
        .verify_response(&bank.id, &signature, None)
        .expect("the fields typed are the transfer executed");
    // Once only.
    let replay = bank
        .bank
        .verify_response(&bank.id, &signature, None)
        .unwrap_err();
    assert_eq!(replay.reason(), RejectReason::ChallengeSpent);
}

/// Malware changes the payee before the bank sees the transfer: in challenge mode the
/// customer signs the bank's opaque challenge for the malware's transfer; in sign mode
/// the customer types the payee from the invoice, and the bank refuses.
#[test]
fn a_payee_changed_before_the_bank_saw_it_is_refused() {
    let mut bank = bank();
    let invoice = "DE02 1203 0000 0000 2020 51";
    let mule = euro(98_000, "GB33 BUKB 2020 1555 5555 55");
    let (_, signature) = bank.sign(&SignedFields::transfer(invoice, 98_000).unwrap());
    let _opened = bank
        .bank
        .issue_sign_mode(&bank.id, &SignedFields::of_transaction(&mule).unwrap())
        .unwrap();
    let refused = bank
        .bank
        .verify_response(&bank.id, &signature, None)
        .unwrap_err();
    assert_eq!(refused.reason(), RejectReason::WrongCode);
}

#[test]
fn an_amount_changed_after_signing_is_refused() {
    let mut bank = bank();
    let account = "DE89 3704 0044 0532 0130 00";
    let (_, signature) = bank.sign(&SignedFields::transfer(account, 12_500).unwrap());
    let raised = euro(125_000, account);
    let _opened = bank
        .bank
        .issue_sign_mode(&bank.id, &SignedFields::of_transaction(&raised).unwrap())
        .unwrap();
    assert!(
        bank.bank
            .verify_response(&bank.id, &signature, None)
            .is_err()
    );
}

/// RTS Art. 5(3)(b): a batch is signed by its number of payees and its total.
#[test]
fn a_batch_is_signed_by_its_payees_and_total() {
    let mut bank = bank();
    let batch = [
        euro(50_000, "DE02 1203 0000 0000 2020 51"),
        euro(25_000, "FR76 3000 6000 0112 3456 7890 189"),
    ];
    let (shown, signature) = bank.sign(&SignedFields::batch(2, 75_000).unwrap());
    assert_eq!(shown, "PAYEES 2 TOTAL 750.00");
    let _opened = bank
        .bank
        .issue_sign_mode(&bank.id, &SignedFields::of_batch(&batch).unwrap())
        .unwrap();
    bank.bank
        .verify_response(&bank.id, &signature, None)
        .unwrap();

    // A third payee slipped into the batch, the total unchanged: refused.
    let (_, signature) = bank.sign(&SignedFields::batch(2, 75_000).unwrap());
    let padded = [
        euro(50_000, "DE02 1203 0000 0000 2020 51"),
        euro(24_999, "FR76 3000 6000 0112 3456 7890 189"),
        euro(1, "GB33 BUKB 2020 1555 5555 55"),
    ];
    let _opened = bank
        .bank
        .issue_sign_mode(&bank.id, &SignedFields::of_batch(&padded).unwrap())
        .unwrap();
    assert!(
        bank.bank
            .verify_response(&bank.id, &signature, None)
            .is_err()
    );
}

/// RTS Art. 4(3)(d): a sign-mode question is open 5 minutes at most, whatever longer
/// lifetime the policy gives challenges.
#[test]
fn a_sign_mode_question_lives_five_minutes_at_most() {
    let mut policy = Policy::default();
    policy.challenge_lifetime = Duration::from_secs(30 * 60);
    let mut bank = bank_with(policy);
    let fields = SignedFields::transfer("00202051", 98_000).unwrap();
    let issued = bank.bank.issue_sign_mode(&bank.id, &fields).unwrap();
    assert_eq!(
        issued.expires_at,
        otpfob::UnixTime::from_secs(START).plus(SIGN_MODE_MAX_LIFETIME)
    );
    bank.world.advance(SIGN_MODE_MAX_LIFETIME);
    let (_, signature) = bank.sign(&fields);
    let late = bank
        .bank
        .verify_response(&bank.id, &signature, None)
        .unwrap_err();
    assert_eq!(late.reason(), RejectReason::ChallengeExpired);
}

/// A suite whose question cannot hold the fields is refused with a typed error, on
/// the fob and at the bank.
#[test]
fn a_short_question_cannot_carry_the_fields() {
    let world = ManualClock::at_secs(START);
    let (mut fob, record) = KeyFob::builder("FOB-SHORT", TotpParameters::default())
        .ocra("OCRA-1:HOTP-SHA256-8:C-QN08".parse().unwrap())
        .build(world.clone())
        .unwrap();
    let fields = SignedFields::transfer("00202051", 98_000).unwrap();
    assert!(fob.sign(&fields).is_err());
    let bank = Validator::new(
        MemoryStore::new(),
        world,
        Keyring::new(SealingKey::generate(1).unwrap()),
    );
    let id = bank.enrol(Enrolment::from(&record)).unwrap();
    assert!(matches!(
        bank.issue_sign_mode(&id, &fields),
        Err(otpfob::ValidatorError::Ocra(_))
    ));
    let _ = fob.respond("12345678").unwrap();
}
